"""The core record: events, the clock, the fold, the store (all SQL), derived views and room operations."""
