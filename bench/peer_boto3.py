#!/usr/bin/env python3
"""The boto3 peer: the same ListMapRuns call (100-item pages) against the
same server. Prints one JSON line: start-up (import boto3 + client), and
ns per call over N calls after a warm-up, net of that start-up.

    peer_boto3.py URL N
"""
import json
import sys
import time

t0 = time.perf_counter_ns()
import boto3  # noqa: E402
import botocore  # noqa: E402
from botocore.config import Config  # noqa: E402

ARN = ("arn:aws:states:us-east-1:123456789012:execution:orders-nightly-reconcile:"
       "run-2024-11-24T02-00-00Z-7d3f9a1c")


def main():
    url, n = sys.argv[1], int(sys.argv[2])
    client = boto3.client(
        "stepfunctions", region_name="us-east-1", endpoint_url=url,
        aws_access_key_id="AKIDEXAMPLE",
        aws_secret_access_key="wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        config=Config(retries={"max_attempts": 3, "mode": "standard"}))
    t1 = time.perf_counter_ns()
    for _ in range(max(n // 10, 5)):
        page = client.list_map_runs(executionArn=ARN, maxResults=100)
    t2 = time.perf_counter_ns()
    for _ in range(n):
        page = client.list_map_runs(executionArn=ARN, maxResults=100)
    t3 = time.perf_counter_ns()
    assert len(page["mapRuns"]) == 100
    print(json.dumps({
        "bench": "boto3", "n": n, "startup_ns": t1 - t0,
        "ns_per_call": (t3 - t2) / n, "boto3": boto3.__version__,
        "botocore": botocore.__version__,
        "python": sys.version.split()[0]}), flush=True)


main()
