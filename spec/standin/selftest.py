#!/usr/bin/env python3
"""Self-test of the stand-in against a real boto3 client and raw sockets.

    python3 spec/standin/selftest.py [-v] [-k SUBSTRING]

Exit status: 0 all checks passed, 1 a check failed, 77 skipped (boto3 or
botocore is not importable by this python3).
"""

import base64
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid

try:
    import boto3
    import botocore
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.config import Config
    from botocore.credentials import Credentials
    from botocore.exceptions import ClientError
except ImportError as e:  # pragma: no cover
    print("SKIP: boto3/botocore not importable by %s (%s)" % (sys.executable, e))
    sys.exit(77)

HERE = os.path.dirname(os.path.abspath(__file__))
SERVER = os.path.join(HERE, "server.py")
MAKE_CA = os.path.join(HERE, "make-test-ca.sh")

KEY, SECRET = "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
TKEY, TSECRET, TOKEN = "ASIATESTKEY", "tokenSecret/EXAMPLE+xyz", "FQoGZXIvYXdzEXAMPLEtoken=="
PREFIX = "arn:aws:states:us-east-1:123456789012:execution:flow:"
VERBOSE = "-v" in sys.argv
ONLY = sys.argv[sys.argv.index("-k") + 1] if "-k" in sys.argv else None

for var in ("AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
            "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_ENDPOINT_URL", "AWS_CA_BUNDLE", "HTTP_PROXY",
            "HTTPS_PROXY", "http_proxy", "https_proxy"):
    os.environ.pop(var, None)
os.environ["AWS_CONFIG_FILE"] = os.environ["AWS_SHARED_CREDENTIALS_FILE"] = "/nonexistent"
os.environ["AWS_EC2_METADATA_DISABLED"] = "true"

TMP = tempfile.mkdtemp(prefix="standin-selftest.")
RESULTS = []


# --------------------------------------------------------------------------
# plumbing

class Standin:
    def __init__(self, *args):
        self.port_file = os.path.join(TMP, "port.%s" % uuid.uuid4().hex[:8])
        cmd = [sys.executable, SERVER, "--port-file", self.port_file] + list(args)
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.time() + 5
        while not os.path.exists(self.port_file):
            if self.proc.poll() is not None or time.time() > deadline:
                raise RuntimeError("server did not start: %s" % self.proc.stderr.read().decode())
            time.sleep(0.02)
        with open(self.port_file) as f:
            self.port = int(f.read())
        self.tls = "--tls-cert" in args
        self.url = "%s://127.0.0.1:%d" % ("https" if self.tls else "http", self.port)

    def control(self, method, path, body=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        conn.request(method, path, body=json.dumps(body) if body is not None else None)
        r = conn.getresponse()
        data = r.read()
        conn.close()
        return json.loads(data) if r.getheader("Content-Type", "").startswith("application") else data.decode()

    def stats(self):
        return self.control("GET", "/_stats")

    def reset(self):
        return self.control("POST", "/_reset")

    def config(self, **kw):
        return self.control("POST", "/_config", kw)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                return self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                return None
        return self.proc.returncode


def client(server, key=KEY, secret=SECRET, token=None, region="us-east-1", retries=1, **kw):
    endpoint = kw.pop("endpoint", server.url)
    cfg = Config(retries={"total_max_attempts": retries, "mode": "standard"}, **kw)
    return boto3.session.Session().client(
        "stepfunctions", endpoint_url=endpoint, region_name=region,
        aws_access_key_id=key, aws_secret_access_key=secret, aws_session_token=token, config=cfg,
        verify=getattr(server, "ca_file", None) if server.tls else None)


def signed(server, body, key=KEY, secret=SECRET, token=None, target="AWSStepFunctions.ListMapRuns",
           content_type="application/x-amz-json-1.0", path="/", region="us-east-1", service="states",
           drop_signed=(), date=None):
    """Headers and body of a request signed by botocore's own SigV4 signer."""
    if not isinstance(body, (bytes, str)):
        body = json.dumps(body)
    if isinstance(body, str):
        body = body.encode()
    headers = {"Content-Type": content_type, "X-Amz-Target": target}
    req = AWSRequest(method="POST", url="http://127.0.0.1:%d%s" % (server.port, path), data=body,
                     headers=headers)
    signer = SigV4Auth(Credentials(key, secret, token), service, region)
    if date is not None:
        orig = signer._modify_request_before_signing

        def at_date(request):
            orig(request)
            del request.headers["X-Amz-Date"]
            request.headers["X-Amz-Date"] = date
            request.context["timestamp"] = date
        signer._modify_request_before_signing = at_date
    if drop_signed:
        orig_headers = signer.headers_to_sign

        def fewer(request):
            h = orig_headers(request)
            for name in drop_signed:
                del h[name]
            return h
        signer.headers_to_sign = fewer
    signer.add_auth(req)
    return dict(req.headers.items()), body


def raw(server, body, timeout=10, **kw):
    """One signed request over a fresh http.client connection: (response, data)."""
    headers, data = signed(server, body, **kw)
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=timeout)
    conn.request("POST", kw.get("path", "/"), body=data, headers=headers)
    r = conn.getresponse()
    payload = r.read()
    conn.close()
    return r, payload


def raw_socket(server, body, timeout=10, **kw):
    """A connected socket that has just sent one signed request."""
    headers, data = signed(server, body, **kw)
    lines = ["POST / HTTP/1.1", "Host: 127.0.0.1:%d" % server.port] + ["%s: %s" % kv for kv in headers.items()] + \
        ["Content-Length: %d" % len(data), "", ""]
    s = socket.create_connection(("127.0.0.1", server.port), timeout=timeout)
    s.sendall("\r\n".join(lines).encode() + data)
    return s


def error_of(fn):
    try:
        fn()
    except ClientError as e:
        return e.response["Error"]["Code"], e.response["Error"].get("Message", ""), e.response
    raise AssertionError("expected a ClientError")


def body_error(payload):
    doc = json.loads(payload)
    return doc["__type"].rsplit("#", 1)[-1], doc.get("message")


class Check:
    def __init__(self, name):
        self.name = name

    def __call__(self, fn):
        if ONLY and ONLY not in self.name:
            return fn
        t0 = time.time()
        try:
            note = fn()
            RESULTS.append((self.name, True, note))
            print("PASS %-58s %6.2fs%s" % (self.name, time.time() - t0, "  " + note if note else ""))
        except Exception as e:  # noqa: BLE001
            RESULTS.append((self.name, False, repr(e)))
            print("FAIL %-58s %s: %s" % (self.name, type(e).__name__, e))
            if VERBOSE:
                import traceback
                traceback.print_exc()
        return fn


def eq(a, b, what=""):
    if a != b:
        raise AssertionError("%s: expected %r, got %r" % (what, b, a))


def ok(cond, what):
    if not cond:
        raise AssertionError(what)


# --------------------------------------------------------------------------
# the checks

def main():
    A = Standin("--credentials", "%s:%s" % (KEY, SECRET), "--credentials", "%s:%s:%s" % (TKEY, TSECRET, TOKEN))

    @Check("boto3 list_map_runs: one page, shape, last page has no nextToken")
    def _():
        c = client(A)
        r = c.list_map_runs(executionArn=PREFIX + "runs-12", maxResults=10)
        eq(len(r["mapRuns"]), 10, "page size")
        ok(isinstance(r.get("nextToken"), str) and 1 <= len(r["nextToken"]) <= 1024, "nextToken")
        ok(re.match(r"^[A-Za-z0-9+/]+=*$", r["nextToken"]) and "+" in r["nextToken"] and "/" in r["nextToken"],
           "token is standard base64 with + and /")
        run = r["mapRuns"][0]
        eq(run["executionArn"], PREFIX + "runs-12", "executionArn")
        ok(re.match(r"^arn:aws:states:us-east-1:123456789012:mapRun:flow/runs-12:[0-9a-f-]{36}$", run["mapRunArn"]),
           "mapRunArn " + run["mapRunArn"])
        eq(run["stateMachineArn"], "arn:aws:states:us-east-1:123456789012:stateMachine:flow/runs-12", "smArn")
        eq(run["startDate"].timestamp(), 1700000000.125, "startDate")
        eq(run["stopDate"].timestamp(), 1700000030.625, "stopDate")
        ok("stopDate" not in r["mapRuns"][9], "item 9 is running")
        r2 = c.list_map_runs(executionArn=PREFIX + "runs-12", maxResults=10, nextToken=r["nextToken"])
        eq(len(r2["mapRuns"]), 2, "last page")
        ok("nextToken" not in r2, "no nextToken on the last page")
        eq(r2["mapRuns"][0]["startDate"].timestamp(), 1700000000.125 + 600, "offset")
        r3 = client(A).list_map_runs(executionArn=PREFIX + "runs-12", maxResults=10)
        eq([m["mapRunArn"] for m in r3["mapRuns"]], [m["mapRunArn"] for m in r["mapRuns"]], "deterministic")
        # raw: wire shape of the reply
        resp, payload = raw(A, {"executionArn": PREFIX + "runs-12", "maxResults": 10, "nextToken": r["nextToken"]})
        doc = json.loads(payload)
        eq(sorted(doc), ["mapRuns"], "last page keys")
        ok(b'"startDate":1700000600.125' in payload, "fractional epoch seconds on the wire")

    @Check("boto3 paginator: runs-250, PageSize 7 -> 36 pages, order, running items")
    def _():
        pages = list(client(A).get_paginator("list_map_runs").paginate(
            executionArn=PREFIX + "runs-250", PaginationConfig={"PageSize": 7}))
        eq(len(pages), 36, "pages")
        runs = [m for p in pages for m in p["mapRuns"]]
        eq(len(runs), 250, "items")
        eq(len({m["mapRunArn"] for m in runs}), 250, "unique mapRunArns")
        starts = [m["startDate"].timestamp() for m in runs]
        eq(starts, [1700000000 + i * 60 + 0.125 for i in range(250)], "ordered startDates")
        running = [i for i, m in enumerate(runs) if "stopDate" not in m]
        eq(running, list(range(9, 250, 10)), "running items")
        for m in runs:
            if "stopDate" in m:
                eq(m["stopDate"].timestamp() - m["startDate"].timestamp(), 30.5, "duration")
        # maxResults 0 / absent = 100
        eq(len(client(A).list_map_runs(executionArn=PREFIX + "runs-250", maxResults=0)["mapRuns"]), 100, "0")
        eq(len(client(A).list_map_runs(executionArn=PREFIX + "runs-250")["mapRuns"]), 100, "default")
        eq(len(client(A).list_map_runs(executionArn=PREFIX + "runs-2500", maxResults=1000)["mapRuns"]), 1000,
           "1000")
        return "36 pages / 250 items"

    @Check("execution names: none, missing, anything else")
    def _():
        c = client(A)
        r = c.list_map_runs(executionArn=PREFIX + "none")
        eq(r["mapRuns"], [], "none")
        ok("nextToken" not in r, "none: no token")
        eq(len(c.list_map_runs(executionArn=PREFIX + "whatever")["mapRuns"]), 3, "default 3")
        code, msg, resp = error_of(lambda: c.list_map_runs(executionArn=PREFIX + "missing"))
        eq(code, "ExecutionDoesNotExist", "code")
        eq(msg, "Execution Does Not Exist: '%smissing'" % PREFIX, "message")
        r, payload = raw(A, {"executionArn": PREFIX + "missing"})
        eq(r.status, 400, "status")
        eq(json.loads(payload)["__type"], "com.amazonaws.swf.service.v2.model#ExecutionDoesNotExist", "__type")
        eq(r.getheader("X-Amzn-Errortype"),
           "ExecutionDoesNotExist:http://internal.amazon.com/coral/com.amazonaws.swf.service.v2.model/", "errortype")
        eq(r.getheader("Content-Type"), "application/x-amz-json-1.0", "content-type")
        uuid.UUID(r.getheader("x-amzn-RequestId"))

    @Check("InvalidArn")
    def _():
        c = client(A)
        code, msg, _ = error_of(lambda: c.list_map_runs(
            executionArn="arn:aws:states:us-east-1:123456789012:stateMachine:flow"))
        eq((code, msg), ("InvalidArn", "Invalid Arn: 'Resource type not valid in this context: stateMachine'"), "sm")
        for bad in ("arn:aws:states:us-east-1:123456789012:nope", "nonsense",
                    "arn:aws:states:us-east-1:1234:execution:flow:x"):
            code, msg, _ = error_of(lambda: c.list_map_runs(executionArn=bad))
            eq(code, "InvalidArn", bad)
            ok(msg.startswith("Invalid Arn: '"), msg)

    @Check("nextToken: tampered, foreign, garbage, stale -> InvalidToken")
    def _():
        c = client(A)
        tok = c.list_map_runs(executionArn=PREFIX + "runs-30", maxResults=5)["nextToken"]
        eq(len(c.list_map_runs(executionArn=PREFIX + "runs-30", maxResults=5, nextToken=tok)["mapRuns"]), 5, "ok")
        raw_tok = bytearray(base64.b64decode(tok))
        raw_tok[10] ^= 1
        tampered = base64.b64encode(bytes(raw_tok)).decode()
        flipped = tok[:10] + ("B" if tok[10] == "A" else "A") + tok[11:]
        foreign = c.list_map_runs(executionArn=PREFIX + "runs-31", maxResults=5)["nextToken"]
        for t in (tampered, flipped, foreign, "garbage", "AAAA", "!!!", tok + "x"):
            code, msg, _ = error_of(lambda: c.list_map_runs(executionArn=PREFIX + "runs-30", nextToken=t))
            eq(code, "InvalidToken", t)
            ok(msg.startswith("Invalid Token: "), msg)
        # a token from another server process (other secret) is refused too
        B = Standin()
        try:
            code, _, _ = error_of(lambda: client(B).list_map_runs(executionArn=PREFIX + "runs-30", nextToken=tok))
            eq(code, "InvalidToken", "token of another process")
        finally:
            B.stop()

    @Check("validation errors worded like the service")
    def _():
        def v(body):
            r, payload = raw(A, body)
            eq(r.status, 400, "status")
            return body_error(payload)
        eq(v({"executionArn": PREFIX + "x", "maxResults": 1001}),
           ("ValidationException", "1 validation error detected: Value '1001' at 'maxResults' failed to satisfy "
            "constraint: Member must have value less than or equal to 1000"), "1001")
        eq(v({"executionArn": PREFIX + "x", "maxResults": -1})[1],
           "1 validation error detected: Value '-1' at 'maxResults' failed to satisfy constraint: "
           "Member must have value greater than or equal to 0", "-1")
        eq(v({})[1], "1 validation error detected: Value null at 'executionArn' failed to satisfy constraint: "
                     "Member must not be null", "null")
        ok(v({"executionArn": "a" * 257})[1].endswith("Member must have length less than or equal to 256"), "257")
        ok(v({"executionArn": ""})[1].endswith("Member must have length greater than or equal to 1"), "empty")
        code, msg = v({"executionArn": PREFIX + "x", "nextToken": "t" * 1025, "maxResults": 5000})
        ok(msg.startswith("2 validation errors detected: ") and "'nextToken'" in msg and "; " in msg, msg)
        eq(v({"executionArn": PREFIX + "x", "nextToken": ""})[0], "ValidationException", "empty token")
        eq(v({"executionArn": 5})[0], "SerializationException", "number arn")
        eq(v({"executionArn": PREFIX + "x", "maxResults": "10"})[0], "SerializationException", "string max")
        eq(v({"executionArn": PREFIX + "x", "maxResults": 1.5})[0], "SerializationException", "1.5")
        eq(v(b"{not json")[0], "SerializationException", "bad json")
        eq(v(b"[]")[0], "SerializationException", "array")
        r, payload = raw(A, {"executionArn": PREFIX + "runs-5", "maxResults": 2.0, "unknownKey": 1})
        eq((r.status, len(json.loads(payload)["mapRuns"])), (200, 2), "2.0 and unknown keys accepted")
        # botocore with its own validation off sees the same
        c = client(A, parameter_validation=False)
        code, msg, _ = error_of(lambda: c.list_map_runs(executionArn=PREFIX + "x", maxResults=1001))
        eq(code, "ValidationException", "boto3")

    @Check("wire protocol: target, content type, path, method, reply headers")
    def _():
        r, payload = raw(A, {"executionArn": PREFIX + "x"}, target="AWSStepFunctions.StartExecution")
        eq((r.status, body_error(payload)[0]), (400, "UnknownOperationException"), "target")
        r, payload = raw(A, {"executionArn": PREFIX + "x"}, content_type="application/json")
        eq((r.status, body_error(payload)[0]), (400, "UnknownOperationException"), "content type")
        r, payload = raw(A, {"executionArn": PREFIX + "x"}, content_type="application/x-amz-json-1.0; charset=utf-8")
        eq(r.status, 200, "content type with parameters")
        r, payload = raw(A, {"executionArn": PREFIX + "x"}, path="/elsewhere")
        eq((r.status, body_error(payload)[0]), (404, "UnknownOperationException"), "path")
        conn = http.client.HTTPConnection("127.0.0.1", A.port, timeout=5)
        conn.request("GET", "/")
        r = conn.getresponse()
        eq((r.status, body_error(r.read())[0]), (404, "UnknownOperationException"), "GET /")
        r, payload = raw(A, {"executionArn": PREFIX + "runs-3"})
        eq(r.status, 200, "status")
        eq(r.getheader("Content-Type"), "application/x-amz-json-1.0", "content type")
        eq(int(r.getheader("Content-Length")), len(payload), "content length")
        uuid.UUID(r.getheader("x-amzn-RequestId"))
        ok(abs(time.mktime(time.strptime(r.getheader("Date"), "%a, %d %b %Y %H:%M:%S GMT")) - time.timezone
               - time.time()) < 5, "Date header")
        # unsigned
        conn = http.client.HTTPConnection("127.0.0.1", A.port, timeout=5)
        conn.request("POST", "/", body=b"{}", headers={"X-Amz-Target": "AWSStepFunctions.ListMapRuns",
                                                       "Content-Type": "application/x-amz-json-1.0"})
        r = conn.getresponse()
        eq((r.status, body_error(r.read())[0]), (400, "MissingAuthenticationTokenException"), "unsigned")
        # Expect: 100-continue and a chunked request body
        headers, data = signed(A, {"executionArn": PREFIX + "runs-3"})
        s = socket.create_connection(("127.0.0.1", A.port), timeout=5)
        head = "POST / HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n" % A.port + "".join("%s: %s\r\n" % kv for kv in headers.items())
        s.sendall((head + "Transfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n").encode())
        ok(s.recv(100).startswith(b"HTTP/1.1 100 Continue"), "100 Continue")
        s.sendall(b"%x\r\n%s\r\n0\r\n\r\n" % (len(data), data))
        f = s.makefile("rb")
        r = http.client.HTTPResponse(s)
        r.fp = f
        r.begin()
        eq((r.status, len(json.loads(r.read())["mapRuns"])), (200, 3), "chunked body")
        s.close()

    @Check("SigV4: session token required, unknown key, wrong secret, tampering")
    def _():
        r = client(A, key=TKEY, secret=TSECRET, token=TOKEN).list_map_runs(executionArn=PREFIX + "runs-3")
        eq(len(r["mapRuns"]), 3, "with token")
        last = A.stats()["last_request"]["headers"]
        eq(last["x-amz-security-token"], TOKEN, "token header")
        ok("x-amz-security-token" in last["authorization"], "token signed")
        for kw, code in ((dict(key=TKEY, secret=TSECRET), "UnrecognizedClientException"),
                         (dict(key=TKEY, secret=TSECRET, token="wrong"), "UnrecognizedClientException"),
                         (dict(key=KEY, secret=SECRET, token=TOKEN), "UnrecognizedClientException"),
                         (dict(key="AKIDUNKNOWN", secret=SECRET), "UnrecognizedClientException")):
            c, msg, _ = error_of(lambda: client(A, **kw).list_map_runs(executionArn=PREFIX + "runs-3"))
            eq((c, msg), (code, "The security token included in the request is invalid."), str(kw))
        c, msg, _ = error_of(lambda: client(A, secret="not-the-secret").list_map_runs(executionArn=PREFIX + "x"))
        eq(c, "InvalidSignatureException", "wrong secret")
        ok(msg.startswith("The request signature we calculated does not match the signature you provided. "), msg)
        ok("not-the-secret" not in msg, "secret not echoed")
        # body changed after signing
        headers, data = signed(A, {"executionArn": PREFIX + "runs-3"})
        conn = http.client.HTTPConnection("127.0.0.1", A.port, timeout=5)
        conn.request("POST", "/", body=data.replace(b"runs-3", b"runs-4"), headers=headers)
        r = conn.getresponse()
        eq(body_error(r.read())[0], "InvalidSignatureException", "tampered body")
        # a header that must be signed, left out of SignedHeaders
        for name, label in (("X-Amz-Target", "'X-Amz-Target'"), ("Content-Type", "'Content-Type'"),
                            ("host", "'Host'")):
            r, payload = raw(A, {"executionArn": PREFIX + "runs-3"}, drop_signed=(name,))
            code, msg = body_error(payload)
            eq(code, "IncompleteSignatureException", name)
            ok(msg.startswith(label), msg)
        r, payload = raw(A, {"executionArn": PREFIX + "runs-3"}, key=TKEY, secret=TSECRET, token=TOKEN,
                         drop_signed=("X-Amz-Security-Token",))
        eq(body_error(payload)[0], "IncompleteSignatureException", "unsigned token")
        # scope
        c, msg, _ = error_of(lambda: client(A, region="us-west-2").list_map_runs(executionArn=PREFIX + "x"))
        eq((c, msg), ("InvalidSignatureException", "Credential should be scoped to a valid region, not 'us-west-2'. "),
           "region")
        r, payload = raw(A, {"executionArn": PREFIX + "x"}, service="lambda")
        eq(body_error(payload), ("InvalidSignatureException", "Credential should be scoped to correct service: "
                                 "'states'. "), "service")

    @Check("clock skew: 'Signature expired' / 'not yet current' (5 min window)")
    def _():
        C = Standin("--clock-skew", "600")
        try:
            code, msg, resp = error_of(lambda: client(C).list_map_runs(executionArn=PREFIX + "x"))
            eq(code, "InvalidSignatureException", "code")
            ok(re.match(r"^Signature expired: \d{8}T\d{6}Z is now earlier than \d{8}T\d{6}Z "
                        r"\(\d{8}T\d{6}Z - 5 min\.\)$", msg), msg)
            srv_date = resp["ResponseMetadata"]["HTTPHeaders"]["date"]
            skew = time.mktime(time.strptime(srv_date, "%a, %d %b %Y %H:%M:%S GMT")) - time.timezone - time.time()
            ok(590 < skew < 610, "Date header shifted by the skew: %r" % skew)
        finally:
            C.stop()
        try:
            A.config(clock_skew=-400)
            code, msg, _ = error_of(lambda: client(A).list_map_runs(executionArn=PREFIX + "x"))
            ok(code == "InvalidSignatureException" and msg.startswith("Signature not yet current: "), msg)
            A.config(clock_skew=280)
            eq(len(client(A).list_map_runs(executionArn=PREFIX + "x")["mapRuns"]), 3, "within 5 min")
        finally:
            A.config(clock_skew=0)
        r, payload = raw(A, {"executionArn": PREFIX + "x"}, date=time.strftime("%Y%m%dT%H%M%SZ",
                                                                                 time.gmtime(time.time() - 301)))
        ok(body_error(payload)[1].startswith("Signature expired: "), "301 s old")

    @Check("keep-alive: 50 sequential boto3 calls -> 1 connection")
    def _():
        c = client(A)
        A.reset()
        for _ in range(50):
            c.list_map_runs(executionArn=PREFIX + "runs-3")
        st = A.stats()
        eq((st["requests"], st["connections"]), (50, 1), "requests, connections")
        ok(st["accepted"] >= 1, "accepted")
        A.reset()
        c.list_map_runs(executionArn=PREFIX + "runs-3")
        eq(A.stats()["connections"], 1, "a kept connection counts again after reset")

    @Check("stats / reset / config and the Lua form")
    def _():
        A.reset()
        st = A.stats()
        eq((st["requests"], st["connections"], st["last_request"], st["arns"]), (0, 0, None, {}), "after reset")
        client(A).list_map_runs(executionArn=PREFIX + "runs-3", maxResults=2)
        st = A.stats()
        eq(st["arns"], {PREFIX + "runs-3": 1}, "arns")
        eq(json.loads(st["last_request"]["body"]), {"executionArn": PREFIX + "runs-3", "maxResults": 2}, "body")
        eq(st["last_request"]["headers"]["x-amz-target"], "AWSStepFunctions.ListMapRuns", "headers")
        lua = A.control("GET", "/_stats?format=lua")
        ok(lua.startswith("return {") and '["requests"]=1' in lua, lua[:80])
        eq(A.config(delay_ms=150)["delay_ms"], 150, "config")
        t0 = time.time()
        client(A).list_map_runs(executionArn=PREFIX + "runs-3")
        ok(time.time() - t0 >= 0.15, "delay_ms")
        A.config(delay_ms=0)
        conn = http.client.HTTPConnection("127.0.0.1", A.port, timeout=5)
        conn.request("POST", "/_config", body='{"fault": "no-such-fault"}')
        eq(conn.getresponse().status, 400, "unknown fault refused")

    # ---- faults ----

    def assert_code(name, code, status=400, message=None):
        r, payload = raw(A, {"executionArn": PREFIX + name})
        eq(r.status, status, name + " status")
        c, m = body_error(payload)
        eq(c, code, name)
        if message is not None:
            eq(m, message, name + " message")
        return r

    @Check("fault throttle-K: K throttles per ARN, then 3 runs; boto3 retries through it")
    def _():
        A.reset()
        assert_code("throttle-2", "ThrottlingException", message="Rate exceeded")
        assert_code("throttle-2", "ThrottlingException")
        r, payload = raw(A, {"executionArn": PREFIX + "throttle-2"})
        eq((r.status, len(json.loads(payload)["mapRuns"])), (200, 3), "third request")
        A.reset()
        r = client(A, retries=3).list_map_runs(executionArn=PREFIX + "throttle-2")
        eq((len(r["mapRuns"]), r["ResponseMetadata"]["RetryAttempts"]), (3, 2), "boto3 retried")
        for _ in range(3):
            assert_code("throttle-forever", "ThrottlingException")

    @Check("fault throttle-K is counted exactly under concurrency")
    def _():
        A.reset()
        results = []
        lock = threading.Lock()

        def worker():
            c = client(A)
            for _ in range(25):
                try:
                    c.list_map_runs(executionArn=PREFIX + "throttle-100")
                    out = "ok"
                except ClientError as e:
                    out = e.response["Error"]["Code"]
                with lock:
                    results.append(out)
        threads = [threading.Thread(target=worker) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        eq((results.count("ThrottlingException"), results.count("ok")), (100, 100), "split")
        st = A.stats()
        eq((st["requests"], st["connections"]), (200, 8), "8 clients, 8 connections")

    @Check("fault expired-token-K, access-denied, validation, error-500")
    def _():
        A.reset()
        assert_code("expired-token-1", "ExpiredTokenException",
                    message="The security token included in the request is expired")
        r, payload = raw(A, {"executionArn": PREFIX + "expired-token-1"})
        eq(r.status, 200, "after K")
        assert_code("access-denied", "AccessDeniedException")
        assert_code("validation", "ValidationException")
        r = assert_code("error-500", "InternalServerError", status=500)
        uuid.UUID(r.getheader("x-amzn-RequestId"))
        code, _, resp = error_of(lambda: client(A).list_map_runs(executionArn=PREFIX + "access-denied"))
        eq(code, "AccessDeniedException", "boto3")

    @Check("fault error-503-html, redirect, bad-shape, truncated-json")
    def _():
        r, payload = raw(A, {"executionArn": PREFIX + "error-503-html"})
        eq((r.status, r.reason, r.getheader("Content-Type")), (503, "Service Unavailable", "text/html"), "503")
        ok(b"<html>" in payload, "html body")
        r, payload = raw(A, {"executionArn": PREFIX + "redirect"})
        eq((r.status, r.getheader("Location"), payload), (301, "http://127.0.0.1:1/", b""), "redirect")
        r, payload = raw(A, {"executionArn": PREFIX + "bad-shape"})
        eq((r.status, json.loads(payload)), (200, {"mapRuns": "oops"}), "bad-shape")
        r, payload = raw(A, {"executionArn": PREFIX + "truncated-json"})
        eq((r.status, int(r.getheader("Content-Length"))), (200, len(payload)), "complete Content-Length")
        try:
            json.loads(payload)
            raise AssertionError("truncated-json parsed")
        except ValueError:
            pass

    @Check("fault truncated: short body, then close")
    def _():
        headers, data = signed(A, {"executionArn": PREFIX + "truncated"})
        conn = http.client.HTTPConnection("127.0.0.1", A.port, timeout=5)
        conn.request("POST", "/", body=data, headers=headers)
        r = conn.getresponse()
        eq(r.status, 200, "status")
        try:
            r.read()
            raise AssertionError("read a truncated body without error")
        except http.client.IncompleteRead as e:
            total = len(e.partial) + e.expected
            eq(len(e.partial), total // 2, "half the body of %d" % total)

    @Check("fault drop: connection closed, no reply")
    def _():
        s = raw_socket(A, {"executionArn": PREFIX + "drop"})
        eq(s.recv(100), b"", "EOF without bytes")
        s.close()

    @Check("fault reset-mid-body: headers, part of the body, then RST")
    def _():
        s = raw_socket(A, {"executionArn": PREFIX + "reset-mid-body"})
        got = b""
        try:
            while True:
                time.sleep(0.05)
                chunk = s.recv(65536)
                if not chunk:
                    raise AssertionError("clean EOF instead of RST after %r" % got[:40])
                got += chunk
        except ConnectionResetError:
            pass
        ok(got.startswith(b"HTTP/1.1 200 OK") and b"\r\n\r\n" in got, "headers before the reset")
        ok(len(got.split(b"\r\n\r\n", 1)[1]) > 0, "part of the body")
        s.close()

    @Check("fault slow-MS and hang (other requests still served)")
    def _():
        t0 = time.time()
        r, payload = raw(A, {"executionArn": PREFIX + "slow-300"})
        ok(time.time() - t0 >= 0.3, "slow")
        eq(len(json.loads(payload)["mapRuns"]), 3, "slow answers normally")
        s = raw_socket(A, {"executionArn": PREFIX + "hang"}, timeout=1)
        t0 = time.time()
        r, _ = raw(A, {"executionArn": PREFIX + "runs-3"})  # served while one thread hangs
        eq(r.status, 200, "other request")
        ok(time.time() - t0 < 0.5, "not blocked")
        try:
            s.recv(10)
            raise AssertionError("hang answered")
        except socket.timeout:
            pass
        s.close()

    @Check("fault drip / drip-body: 1 byte per second")
    def _():
        s = raw_socket(A, {"executionArn": PREFIX + "drip"}, timeout=5)
        t0, got = time.time(), b""
        while len(got) < 3:
            got += s.recv(10)
        el = time.time() - t0
        ok(got == b"HTT" and 1.8 < el < 3.5, "3 bytes in %.2fs: %r" % (el, got))
        s.close()
        s = raw_socket(A, {"executionArn": PREFIX + "drip-body"}, timeout=5)
        got = b""
        while b"\r\n\r\n" not in got:
            got += s.recv(4096)
        ok(len(got.split(b"\r\n\r\n", 1)[1]) <= 1, "headers first, body dripping")
        s.close()

    @Check("fault huge: ~64 MiB valid JSON, streamed")
    def _():
        t0 = time.time()
        r, payload = raw(A, {"executionArn": PREFIX + "huge"}, timeout=60)
        eq(r.status, 200, "status")
        n = int(r.getheader("Content-Length"))
        eq(len(payload), n, "length")
        ok(60 << 20 <= n <= 68 << 20, "about 64 MiB: %d" % n)
        runs = json.loads(payload)["mapRuns"]
        ok(all("stopDate" not in m for m in runs[9::10]), "running items")
        return "%d bytes, %d runs in %.1fs" % (n, len(runs), time.time() - t0)

    @Check("faults chosen through /_config apply to any ARN")
    def _():
        try:
            A.config(fault="throttle-1")
            assert_code("runs-5", "ThrottlingException")
            r, payload = raw(A, {"executionArn": PREFIX + "runs-5"})
            eq(len(json.loads(payload)["mapRuns"]), 5, "then the ARN's own runs")
            A.config(fault="error-503-html")
            r, _ = raw(A, {"executionArn": PREFIX + "runs-5"})
            eq(r.status, 503, "503")
            A.config(fault="drop")
            s = raw_socket(A, {"executionArn": PREFIX + "runs-5"})
            eq(s.recv(10), b"", "drop")
            s.close()
        finally:
            A.config(fault=None)
        r, payload = raw(A, {"executionArn": PREFIX + "runs-5"})
        eq(r.status, 200, "cleared")

    @Check("--path-prefix with boto3")
    def _():
        P = Standin("--path-prefix", "/sfn")
        try:
            r = client(P, endpoint="http://127.0.0.1:%d/sfn" % P.port).list_map_runs(executionArn=PREFIX + "runs-4")
            eq(len(r["mapRuns"]), 4, "prefixed")
            ok(P.stats()["last_request"]["path"] in ("/sfn", "/sfn/"), "path")
        finally:
            P.stop()

    @Check("--tls-cert: boto3 verifies against the test CA")
    def _():
        d = os.path.join(TMP, "tls")
        subprocess.run(["sh", MAKE_CA, d], check=True)
        T = Standin("--tls-cert", os.path.join(d, "server.pem"), "--tls-key", os.path.join(d, "server.key"))
        T.ca_file = os.path.join(d, "ca.pem")
        try:
            eq(len(client(T).list_map_runs(executionArn=PREFIX + "runs-3")["mapRuns"]), 3, "https")
            T.ca_file = os.path.join(d, "other-ca.pem")
            try:
                client(T).list_map_runs(executionArn=PREFIX + "runs-3")
                raise AssertionError("a foreign CA was accepted")
            except botocore.exceptions.SSLError:
                pass
            # a plain-HTTP client against the TLS port does not stall the server
            s = socket.create_connection(("127.0.0.1", T.port), timeout=5)
            s.sendall(b"GET / HTTP/1.1\r\n\r\n")
            T.ca_file = os.path.join(d, "ca.pem")
            eq(len(client(T).list_map_runs(executionArn=PREFIX + "runs-3")["mapRuns"]), 3, "still serving")
            s.close()
        finally:
            T.stop()

    @Check("throughput: sequential keep-alive requests")
    def _():
        n = 2000
        reqs = [signed(A, {"executionArn": PREFIX + "runs-3"}) for _ in range(n)]
        conn = http.client.HTTPConnection("127.0.0.1", A.port, timeout=5)
        A.reset()
        t0 = time.time()
        for headers, data in reqs:
            conn.request("POST", "/", body=data, headers=headers)
            r = conn.getresponse()
            r.read()
            if r.status != 200:
                raise AssertionError(r.status)
        el = time.time() - t0
        eq(A.stats()["connections"], 1, "one connection")
        return "%d req/s" % (n / el)

    @Check("quiet stderr, SIGTERM exits 0 and removes the port file")
    def _():
        rc = A.stop()
        eq(rc, 0, "exit status")
        ok(not os.path.exists(A.port_file), "port file removed")
        err = A.proc.stderr.read()
        eq(err, b"", "nothing on stderr")

    A.stop()
    failed = [r for r in RESULTS if not r[1]]
    print("\n%d checks, %d passed, %d failed" % (len(RESULTS), len(RESULTS) - len(failed), len(failed)))
    return 1 if failed else 0


if __name__ == "__main__":
    try:
        code = main()
    finally:
        shutil.rmtree(TMP, ignore_errors=True)
    sys.exit(code)
