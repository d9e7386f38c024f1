"""Prints one line of each log format warroom reads, then exits 0."""

import json
import sys

lines = [
    # pino: numeric level, epoch ms, msg
    json.dumps({"level": 30, "time": 1795930362123, "pid": 7, "hostname": "web-1",
                "msg": "request completed", "req": {"method": "GET", "url": "/api"}, "responseTime": 12}),
    # bunyan: numeric level, ISO time, v
    json.dumps({"name": "billing", "hostname": "web-1", "pid": 7, "level": 50,
                "err": {"message": "card declined", "name": "PaymentError", "stack": "PaymentError: card declined\n    at x"},
                "msg": "charge failed", "time": "2026-11-24T05:32:42.123Z", "v": 0}),
    # structlog
    json.dumps({"event": "cache miss ratio high", "level": "warning", "timestamp": "2026-11-24T05:32:43Z",
                "ratio": 0.4}),
    # plain
    "2026-11-24 05:32:44,001 WARNING disk almost full",
    # docker -t prefix
    "2026-11-24T05:32:45.123456789Z ERROR upstream timed out",
]
for line in lines:
    print(line)
# wrangler tail --format json: JSON.stringify(event, null, 2), one event over many lines
print(json.dumps({
    "outcome": "exception", "scriptName": "edge-api", "diagnosticsChannelEvents": [],
    "exceptions": [{"name": "TypeError", "message": "cannot read properties of undefined", "timestamp": 1795930366000}],
    "logs": [{"message": ["fetching", {"id": 42}], "level": "log", "timestamp": 1795930366000},
             {"message": ["upstream slow"], "level": "warn", "timestamp": 1795930366000}],
    "eventTimestamp": 1795930366000,
    "event": {"request": {"url": "https://api.example.test/orders", "method": "POST", "headers": {}},
              "response": {"status": 500}},
}, indent=2))
print("DEBUG last line")
sys.stdout.flush()
