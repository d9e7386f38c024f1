"""The playbook: runbooks, communication templates and the post-mortem export."""
