"""What the console does beyond showing: the record's thread, the key gate, the terminal guard,
the runbook step runner, the live sources."""
