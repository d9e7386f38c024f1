"""Sharing the record: exchange copies and their merge, the canonical dump, git plumbing, the sync flow."""
