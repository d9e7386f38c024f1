"""The demo, outside the core: a fake shop on loopback (shop.py), fake log streams
(streams.py), a war room with an incident in progress (story.py), and running it (run.py).

`warroom demo` (and `make demo`) calls `run_demo()`: it copies the bundled demo war room
(data/demo) into a temporary folder, writes a realistic incident into its record, starts
`DemoService` on 127.0.0.1 and opens the console on it. Everything is stdlib and offline.

The demo config's log sources and runbooks call back into this package:

    python3 -m warroom.demo logs checkout     JSON lines (pino style), forever
    python3 -m warroom.demo logs worker       docker-style timestamped text lines, forever
    python3 -m warroom.demo restart-worker    a fake worker restart
    python3 -m warroom.demo serve             the fake shop alone, until Ctrl-C
    python3 -m warroom.demo [--keep]          the whole demo

`python -m warroom.demo logs NAME` imports only the standard library: its stream starts at once.
"""
