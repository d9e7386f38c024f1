"""The `warroom` command: thin subcommands over the core."""
