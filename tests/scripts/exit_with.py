"""exit_with.py CODE [LINE ...]: prints the lines on stdout, 'giving up: CODE' on stderr, exits CODE."""

import sys

code = int(sys.argv[1])
for line in sys.argv[2:]:
    print(line, flush=True)
print(f"giving up: {code}", file=sys.stderr, flush=True)
sys.exit(code)
