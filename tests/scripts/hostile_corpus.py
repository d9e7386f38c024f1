"""Hostile text for sanitize tests; run as a script it prints the corpus (one item a line)."""

import sys

HOSTILE = [
    "\x1b]52;c;ZWNobyBwd25lZA==\x07copied to your clipboard",           # OSC 52, BEL-terminated
    "\x1b]52;c;ZWNobyBwd25lZA==\x1b\\after ST",                          # OSC 52, ST-terminated
    "\x1b]8;;https://evil.example/\x1b\\innocent link\x1b]8;;\x1b\\",     # OSC 8 hyperlink
    "\x1b]0;pwned title\x07title changed",                                # window title
    "\x1b]2;unterminated title that swallows the rest",                   # unterminated OSC
    "\x1b[2J\x1b[H\x1b[3Jscreen cleared",                                 # clear screen
    "\x1b[10A\x1b[5Cup and right\x1b[s\x1b[u",                            # cursor moves
    "\x1b[31;1mred bold\x1b[0m \x1b[38;2;255;0;0mtruecolor\x1b[m",       # SGR
    "\x1b[?1049h alt screen \x1b[?25l hidden cursor",                     # private modes
    "\x1bPq#0;2;0;0;0#1;2;100;100;0\x1b\\sixel",                          # DCS
    "\x1b_APC payload\x1b\\ \x1b^PM payload\x1b\\ \x1bXSOS\x1b\\ done",   # APC, PM, SOS
    "\x1bc reset \x1b7 save \x1b8 restore \x1b(0 charset \x1b#8 align",  # other ESC sequences
    "lone escape at end \x1b",
    "bell\x07 nul\x00 backspace\x08\x08\x08 vt\x0b ff\x0c del\x7f so\x0e si\x0f",
    "c1 \x9b31m csi \x9d0;title\x9c osc \x90dcs\x9c \x85 nel \x8d ri",     # 8-bit C1 controls
    "cr\roverwrites\rthe line",
    "crlf line\r\n",
    "tab\tseparated\tvalues",
    "[@click=app.quit]x[/] [bold red]not markup[/bold red] [link=https://x]y[/link]",
    "$name ${HOME} {var} %s \\[escaped] [/]",
    "bidi \u202eevil\u202c \u2066isolate\u2069 \u200fmark",
    "separators \u2028line\u2029paragraph \x85next",
    "surrogate \ud800 lone",
    "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl",
    '{"password": "hunter2hunter2", "api_key": "abcd1234efgh"}',
    "postgres://admin:s3cr3t-pass@db.internal:5432/app",
    "AKIAIOSFODNN7EXAMPLE ghp_0123456789abcdefghijABCDEFGHIJ012345 xoxb-123456789012-abcdefghij",
    "sk_live_0123456789abcdefABCD rk_live_0123456789abcdef sk_test_0123456789abcdef",
    "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----",
    "x" * 100_000,
    "\x1b[31m" * 10_000 + "colour flood",
]


if __name__ == "__main__":
    out = sys.stdout.buffer
    for item in HOSTILE:
        out.write(item.replace("\n", " ").replace("\r\n", " ").encode("utf-8", "surrogatepass") + b"\n")
    out.write(b"invalid \xff\xfe utf-8 \xc3\n")
    out.flush()
