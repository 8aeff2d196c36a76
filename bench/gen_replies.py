#!/usr/bin/env python3
"""Prebuilt ListMapRuns replies for the benchmarks.

Writes into DIR:
  r100.json       100 Map Runs and a nextToken (a middle page)
  r1000.json      1,000 Map Runs and a nextToken (the decode bench's input)
  r100-last.json  100 Map Runs, no nextToken (a last page: what the CLIs get,
                  so that their own pagination ends)

The items look like the real service's: the parent execution's ARN, a Map
Run ARN with a UUID, the Map Run's state machine ARN, and dates as epoch
seconds with milliseconds; a few runs at the end of each page are still
running (no stopDate). Compact JSON, as the service sends it.
"""

import base64
import json
import sys
import uuid

ACCOUNT = "123456789012"
REGION = "us-east-1"
FLOW = "orders-nightly-reconcile"
EXECUTION_ARN = (
    f"arn:aws:states:{REGION}:{ACCOUNT}:execution:{FLOW}:"
    "run-2024-11-24T02-00-00Z-7d3f9a1c"
)


def item(page, i, running):
    u = uuid.UUID(int=(page * 1_000_003 + i) * 0x9E3779B97F4A7C15 % (1 << 128))
    label = f"ProcessBatch{i % 7}"
    start = 1_732_413_600 + page * 3600 + i * 1.237
    run = {
        "executionArn": EXECUTION_ARN,
        "mapRunArn": f"arn:aws:states:{REGION}:{ACCOUNT}:mapRun:{FLOW}/{label}:{u}",
        "stateMachineArn": f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{FLOW}/{label}",
        "startDate": round(start, 3),
    }
    if not running:
        run["stopDate"] = round(start + 95.5 + (i % 13) * 7.125, 3)
    return run


def page(n, page_no=0, token=True):
    runs = [item(page_no, i, running=(i >= n - 2)) for i in range(n)]
    reply = {"mapRuns": runs}
    if token:
        # An opaque token of the real one's size (about 300 characters).
        raw = (f"{page_no + 1}:" + "x" * 200).encode()
        reply["nextToken"] = base64.b64encode(raw).decode()
    return json.dumps(reply, separators=(",", ":"))


def main(argv):
    if len(argv) != 2:
        sys.stderr.write("usage: gen_replies.py DIR\n")
        return 2
    out = argv[1]
    for name, n, token in (("r100", 100, True), ("r1000", 1000, True),
                           ("r100-last", 100, False)):
        with open(f"{out}/{name}.json", "w") as f:
            f.write(page(n, 0, token))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
