"""warroom: a keyboard-driven terminal war room for production incidents."""

__version__ = "0.1.0"
