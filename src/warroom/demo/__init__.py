"""The demo: a fake shop on loopback and an incident in progress, outside the core.

Kept light: `python -m warroom.demo logs NAME` starts its stream at once.
"""
