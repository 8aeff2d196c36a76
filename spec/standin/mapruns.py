"""The stand-in's Map Runs beyond their listing: DescribeMapRun counts and
ListExecutions child executions, consistent with what ListMapRuns serves.

Pure functions of (execution ARN, index, now) plus the live anchors the
server keeps: see README.md ("Map Runs in depth") for the rules.
"""

import hashlib
import re
import uuid

LIVE_RE = re.compile(r"^live-(\d+)(?:-(\d+(?:\.\d+)?))?$")
LIVE_SECONDS = 6.0
RUNNING_HALF_LIFE = 30.0  # seconds: a still-running Map Run is half done after this
LIVE_CONCURRENCY = 10


def digest(*parts):
    return hashlib.sha256("#".join(str(p) for p in parts).encode()).digest()


def live_spec(name):
    """(N, seconds) for a live-N[-S] execution name, else None."""
    m = LIVE_RE.match(name)
    if not m:
        return None
    return int(m.group(1)), float(m.group(2)) if m.group(2) else LIVE_SECONDS


def run_uuid(execution_arn, i):
    return str(uuid.UUID(bytes=digest(execution_arn, i)[:16], version=4))


def arn_base(p):
    return "arn:%s:states:%s:%s:" % (p["partition"], p["region"], p["account"])


class Model:
    """Map Run i of execution E at a given time. `anchor(E)` gives the start
    time of a live execution (set the first time the server sees it)."""

    def __init__(self, execution_arn, p, i, anchor, started):
        self.arn, self.p, self.i = execution_arn, p, i
        d = digest(execution_arn, i)
        self.live = live_spec(p["name"])
        if self.live:
            n, seconds = self.live
            self.total = 40 + 20 * i
            self.start = anchor(execution_arn)
            self.duration = seconds * (i + 1) / max(n, 1)
            self.fails = i % 3 == 2
            self.max_concurrency = LIVE_CONCURRENCY
        else:
            self.total = 20 + d[16] % 200
            self.start = 1700000000 + i * 60 + 0.125
            self.duration = None if i % 10 == 9 else 30.5
            self.fails = i % 10 == 4
            self.max_concurrency = [0, 10, 40, 1000][d[17] % 4]
        self.aborts = not self.live and i % 10 == 7
        self.started = started  # the server's start: still-running Map Runs advance from it
        self.tolerated_percentage = [0.0, 5.0][d[18] % 2]

    # ---- listing
    def stop_date(self, now):
        if self.live:
            end = self.start + self.duration
            return end if now >= end else None
        return None if self.duration is None else self.start + self.duration

    def map_run_arn(self):
        return self.base() + "mapRun:%s/%s:%s" % (self.p["machine"], self.p["name"], run_uuid(self.arn, self.i))

    def state_machine_arn(self):
        return self.base() + "stateMachine:%s/%s" % (self.p["machine"], self.p["name"])

    def base(self):
        return arn_base(self.p)

    def list_item(self, now):
        item = {"executionArn": self.arn, "mapRunArn": self.map_run_arn(),
                "stateMachineArn": self.state_machine_arn(), "startDate": self.start}
        stop = self.stop_date(now)
        if stop is not None:
            item["stopDate"] = stop
        return item

    # ---- counts
    def counts(self, now):
        """(status, counts dict) at time now; the counts add up to total."""
        t = self.total
        c = dict(pending=0, running=0, succeeded=0, failed=0, timedOut=0, aborted=0)
        stop = self.stop_date(now)
        if stop is None:
            if self.live:
                f = max(0.0, min(1.0, (now - self.start) / self.duration))
            else:
                elapsed = max(0.0, now - self.started)
                f = 1.0 - 1.0 / (1.0 + elapsed / RUNNING_HALF_LIFE)
            done = min(t - 1, int(t * f))
            c["failed"] = done // 10 if self.fails else 0
            c["succeeded"] = done - c["failed"]
            c["running"] = min(self.max_concurrency or LIVE_CONCURRENCY, t - done)
            c["pending"] = t - done - c["running"]
            status = "RUNNING"
        elif self.fails:
            c["failed"] = max(1, t // 10)
            c["timedOut"] = 0 if self.live else 1
            c["succeeded"] = t - c["failed"] - c["timedOut"]
            status = "FAILED"
        elif self.aborts:
            c["succeeded"] = t // 2
            c["aborted"] = t - t // 2
            status = "ABORTED"
        else:
            c["succeeded"] = t
            status = "SUCCEEDED"
        c["total"] = t
        c["resultsWritten"] = c["succeeded"] + c["failed"]
        c["failuresNotRedrivable"] = 0
        c["pendingRedrive"] = 0
        return status, c

    def describe(self, now):
        status, c = self.counts(now)
        doc = {
            "mapRunArn": self.map_run_arn(),
            "executionArn": self.arn,
            "status": status,
            "startDate": self.start,
            "maxConcurrency": self.max_concurrency,
            "toleratedFailurePercentage": self.tolerated_percentage,
            "toleratedFailureCount": 0,
            "itemCounts": c,
            "executionCounts": dict(c),  # one item per child execution
            "redriveCount": 0,
        }
        stop = self.stop_date(now)
        if stop is not None:
            doc["stopDate"] = stop
        return doc

    # ---- child executions
    def children(self, now):
        """The child executions that exist (every item but the pending ones),
        most recent first, as ListExecutions sorts them."""
        _, c = self.counts(now)
        statuses = (["SUCCEEDED"] * c["succeeded"] + ["FAILED"] * c["failed"] +
                    ["TIMED_OUT"] * c["timedOut"] + ["ABORTED"] * c["aborted"] +
                    ["RUNNING"] * c["running"])
        out = []
        for k in range(len(statuses) - 1, -1, -1):
            out.append((k, statuses[k]))
        return out

    def child(self, k, status):
        name = str(uuid.UUID(bytes=digest(self.map_run_arn(), k)[:16], version=4))
        start = self.start + k * 0.01
        item = {
            "executionArn": self.base() + "execution:%s/%s:%s" % (self.p["machine"], self.p["name"], name),
            "stateMachineArn": self.state_machine_arn(),
            "name": name,
            "status": status,
            "startDate": start,
            "mapRunArn": self.map_run_arn(),
            "itemCount": 1,
            "redriveCount": 0,
        }
        if status != "RUNNING":
            item["stopDate"] = start + 1.5
        return item
