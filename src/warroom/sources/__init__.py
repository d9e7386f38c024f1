"""Live sources that feed the console: health checks and log tails. Plain callbacks, no Textual."""
