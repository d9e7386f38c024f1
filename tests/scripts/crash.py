"""Prints a line, then dies with a traceback on stderr."""

print("starting", flush=True)
raise RuntimeError("kaboom")
