#!/usr/bin/env python3
"""Writes the seed corpora in spec/fuzz/corpus/<target>/ (checked in; rerun
after changing an input format in spec/fuzz/fuzz_<target>.c).

  python3 spec/fuzz/gen_corpus.py           # all targets

reply, errors: real replies captured from the local stand-in
(spec/standin/server.py) over a raw socket -- good pages, a page with a
nextToken and the next one, every service error form it produces, the
503 HTML, the 301, bad-shape, truncated-json and the truncated body exactly
as they arrived -- plus error forms seen from AWS and proxies that the
stand-in does not make (the "code" member, "Message", no namespace, plain
text 429, ELB 502 HTML, empty bodies).
token: tokens made by botocore's own TokenEncoder (botocore.paginate), the
deprecated "token___index" form, service tokens from the stand-in, and
round-trip seeds.
stsxml: AssumeRole / AssumeRoleWithWebIdentity / ErrorResponse XML as STS
sends it, a DOCTYPE, and the JSON documents json_decode reads (IMDS,
container credentials, credential_process).
request: build_request inputs with the stand-in's ARNs and tokens.
It also writes spec/fuzz/crashes/: the reproducers of the findings so far.

Needs python3 and botocore (Debian python3-botocore).
"""
import base64
import hashlib
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
CORPUS = os.path.join(HERE, "corpus")
CRASHES = os.path.join(HERE, "crashes")
TARGETS = ("reply", "errors", "token", "stsxml", "request")
KEY, SECRET = "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
ACCOUNT = "123456789012"


def arn(name, machine="flow"):
    return "arn:aws:states:us-east-1:%s:execution:%s:%s" % (ACCOUNT, machine, name)


def write(target, name, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# --------------------------------------------------------------------------
# the stand-in

class Standin:
    def __init__(self):
        self.dir = tempfile.mkdtemp()
        port_file = os.path.join(self.dir, "port")
        self.proc = subprocess.Popen([sys.executable, os.path.join(ROOT, "spec/standin/server.py"),
                                      "--port-file", port_file])
        for _ in range(200):
            if os.path.exists(port_file) and open(port_file).read().strip():
                break
            time.sleep(0.05)
        self.port = int(open(port_file).read())

    def close(self):
        self.proc.terminate()
        self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)

    def call(self, params, secret=SECRET, sign=True, raw_body=None):
        """Sends one ListMapRuns; returns (status, reason, headers, body) as
        received, the body cut wherever the server stopped."""
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.credentials import Credentials
        body = raw_body if raw_body is not None else json.dumps(params).encode()
        url = "http://127.0.0.1:%d/" % self.port
        req = AWSRequest(method="POST", url=url, data=body, headers={
            "Content-Type": "application/x-amz-json-1.0",
            "X-Amz-Target": "AWSStepFunctions.ListMapRuns"})
        if sign:
            SigV4Auth(Credentials(KEY, secret), "states", "us-east-1").add_auth(req)
        head = "POST / HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\n" % self.port
        for k, v in req.headers.items():
            if k.lower() != "host":
                head += "%s: %s\r\n" % (k, v)
        head += "Content-Length: %d\r\n\r\n" % len(body)
        s = socket.create_connection(("127.0.0.1", self.port))
        s.sendall(head.encode() + body)
        data = b""
        s.settimeout(10)
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        except (socket.timeout, ConnectionResetError):
            pass
        s.close()
        head, _, payload = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        _, status, reason = (lines[0].split(" ", 2) + [""])[:3]
        headers = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            headers[k.strip().lower()] = v.strip()
        n = headers.get("content-length")
        if n is not None:
            payload = payload[:int(n)]
        return int(status), reason, headers, payload


# --------------------------------------------------------------------------
# reply and errors inputs

def reply_input(status, headers, body, mode=0):
    """fuzz_reply: status, header choices, mode, body."""
    hdr = 0
    if "x-amzn-requestid" in headers:
        hdr |= 2
    et = headers.get("x-amzn-errortype", "")
    if et:
        hdr |= {"ThrottlingException": 1, "InvalidToken": 3, "InternalServerError": 7}.get(
            et.split(":")[0], 2) << 2
    ct = headers.get("content-type", "")
    if ct:
        hdr |= (1 if "json" in ct else 2) << 5
    v = status - 100
    return struct.pack(">HBB", v, hdr, mode) + body


def errors_input(status, reason, headers, body, mode=0):
    """fuzz_errors: status, mode, Errortype \\0 reason \\0 request id \\0 body."""
    assert 400 <= status <= 599
    return (bytes([status - 400, mode]) + headers.get("x-amzn-errortype", "").encode() + b"\0" +
            reason.encode() + b"\0" + headers.get("x-amzn-requestid", "").encode() + b"\0" + body)


def gen_replies():
    s = Standin()
    try:
        seen = []

        def capture(name, params, **kw):
            status, reason, headers, body = s.call(params, **kw)
            seen.append((name, status, reason, headers, body))
            return status, headers, body

        capture("page-3", {"executionArn": arn("runs-3")})
        capture("page-none", {"executionArn": arn("none")})
        _, _, body = capture("page-25-first", {"executionArn": arn("runs-25"), "maxResults": 10})
        token = json.loads(body)["nextToken"]
        capture("page-25-second", {"executionArn": arn("runs-25"), "maxResults": 10, "nextToken": token})
        capture("page-12-last", {"executionArn": arn("runs-12"), "maxResults": 10,
                                 "nextToken": json.loads(s.call({"executionArn": arn("runs-12"),
                                                                 "maxResults": 10})[3])["nextToken"]})
        capture("error-missing", {"executionArn": arn("missing")})
        capture("error-invalid-token", {"executionArn": arn("runs-25"), "nextToken": token[:-4] + "AAA="})
        capture("error-token-other-arn", {"executionArn": arn("runs-3"), "nextToken": token})
        capture("error-invalid-arn", {"executionArn": "arn:aws:states:us-east-1:1:nope"})
        capture("error-validation-maxresults", {"executionArn": arn("runs-3"), "maxResults": 1001})
        capture("error-serialization", None, raw_body=b"[1,2]")
        capture("error-unsigned", {"executionArn": arn("runs-3")}, sign=False)
        capture("error-unknown-key", {"executionArn": arn("runs-3")}, secret="not-the-secret")
        for fault in ("throttle-forever", "expired-token-forever", "access-denied", "validation",
                      "error-500", "error-503-html", "redirect", "bad-shape", "truncated-json",
                      "truncated"):
            capture("fault-" + fault, {"executionArn": arn(fault)})
        # a wrong signature (known key): the stand-in's long InvalidSignatureException
        capture("error-bad-signature", {"executionArn": arn("runs-3")}, secret=SECRET[:-1] + "Z")
    finally:
        s.close()

    for name, status, reason, headers, body in seen:
        write("reply", name, reply_input(status, headers, body))
        if status >= 400:
            write("errors", name, errors_input(status, reason, headers, body))
    # the same good page with memory failures planned at a few depths
    page = [x for x in seen if x[0] == "page-25-first"][0]
    for k in (0, 5, 20, 40):
        write("reply", "page-25-first-oom-%d" % k, reply_input(200, page[3], page[4], 0xC0 | k))
    err = [x for x in seen if x[0] == "error-missing"][0]
    write("errors", "error-missing-oom", errors_input(400, err[2], err[3], err[4], 0xC3))
    return seen


def gen_synthetic_replies():
    j = {"content-type": "application/x-amz-json-1.0", "x-amzn-requestid": "x"}
    item = {"executionArn": arn("e"), "mapRunArn": arn("e").replace("execution", "mapRun"),
            "stateMachineArn": "arn:aws:states:us-east-1:%s:stateMachine:flow" % ACCOUNT,
            "startDate": 1.7e9, "stopDate": None}
    cases = {
        "syn-page-null-stop": (200, json.dumps({"mapRuns": [item], "nextToken": None})),
        "syn-page-empty-token": (200, json.dumps({"mapRuns": [], "nextToken": ""})),
        "syn-page-unicode": (200, json.dumps({"mapRuns": [dict(item, executionArn="arn:\u00e9\U0001F600")]},
                                             ensure_ascii=False)),
        "syn-page-escapes": (200, '{"mapRuns":[],"nextToken":"a\\u0000b\\ud83d\\ude00\\"\\\\"}'),
        "syn-page-extra-keys": (200, json.dumps({"mapRuns": [dict(item, extra={"deep": [1, 2]})], "x": 1})),
        "syn-page-dup-keys": (200, '{"mapRuns":[],"mapRuns":"x","nextToken":1}'),
        "syn-page-bad-date": (200, json.dumps({"mapRuns": [dict(item, startDate="2024-01-01")]})),
        "syn-page-huge-date": (200, '{"mapRuns":[{"executionArn":"a","mapRunArn":"b",'
                                    '"stateMachineArn":"c","startDate":1e999}]}'),
        "syn-trailing": (200, '{"mapRuns":[]} x'),
        # numbers and strings at the fast path's edges (src/fastpage.c)
        "syn-fast-numbers": (200, '{"mapRuns":[' + ",".join(
            '{"executionArn":"a","mapRunArn":"b","stateMachineArn":"c","startDate":%s,"stopDate":%s}' % (x, y)
            for x, y in (("1700000000.125", "1.7e9"), ("-0", "0.1"), ("1e22", "1e23"),
                         ("123456789012345678901234", "9007199254740993"), ("5e-324", "1.7976931348623157e308"),
                         ("0.30000000000000004", "2.2250738585072011e-308"))) + ']}'),
        "syn-fast-bad-numbers": (200, '{"mapRuns":[{"executionArn":"a","mapRunArn":"b",'
                                      '"stateMachineArn":"c","startDate":01,"stopDate":-.5}]}'),
        "syn-fast-raw-bytes": (200, '{"mapRuns":[{"executionArn":"\u00e9\u4e2d","mapRunArn":"b",'
                                    '"stateMachineArn":"c","startDate":1}]}'),
        "syn-fast-bom": (200, '\ufeff{"mapRuns":[]}'),
        "syn-fast-dup-item-key": (200, '{"mapRuns":[{"executionArn":"a","executionArn":"z","mapRunArn":"b",'
                                       '"stateMachineArn":"c","startDate":1,"startDate":"x"}]}'),
        "syn-fast-unknown-deep": (200, '{"x":' + "[" * 40 + "]" * 40 + ',"mapRuns":[],"nextToken":"t"}'),
        "syn-fast-ws": (200, '\t{ "mapRuns" :\r\n[ ] ,"nextToken":null }\n'),
        "syn-fast-ctl-ws": (200, '{"mapRuns":[]\x0b}'),
        "syn-deep": (200, "[" * 1100 + "]" * 1100),
        "syn-deep-cut": (200, '{"mapRuns":' + "[" * 1200),
        "syn-empty": (200, ""),
        "syn-space": (200, " \r\n\t"),
        "syn-type-200": (200, '{"__type":"com.amazonaws#ThrottlingException","message":"x"}'),
        "syn-code-member": (400, '{"code":"ThrottlingException","Message":"Rate exceeded"}'),
        "syn-no-namespace": (400, '{"__type":"InvalidToken","message":"Invalid Token"}'),
        "syn-colon-type": (400, '{"__type":"ns#ExecutionDoesNotExist:http://internal.amazon.com/x/",'
                                '"message":"' + "m" * 1500 + '"}'),
        "syn-long-utf8-message": (400, json.dumps({"__type": "x#Y", "message": "\u00e9" * 700},
                                                  ensure_ascii=False)),
        "syn-429-text": (429, "Too Many Requests"),
        "syn-502-elb": (502, "<html><head><title>502 Bad Gateway</title></head><body>"
                             "<center><h1>502 Bad Gateway</h1></center></body></html>"),
        "syn-500-empty": (500, ""),
        "syn-504-null": (504, "null"),
        "syn-400-array": (400, '[{"__type":"x"}]'),
        "syn-400-type-number": (400, '{"__type":42,"message":false}'),
        "syn-100": (100, ""),
        "syn-204": (204, ""),
        "syn-599": (599, "{}"),
    }
    for name, (status, body) in cases.items():
        b = body.encode("utf-8", "surrogatepass")
        write("reply", name, reply_input(status, j, b))
        if status >= 400:
            write("errors", name, errors_input(status, "", j, b))
    # headers the stand-in never sends
    for name, et, reason, body in (
            ("syn-header-only", "ThrottlingException:http://internal.amazon.com/coral/x/", "", b""),
            ("syn-header-hash", "com.amazonaws.states#InvalidArn", "Bad Request", b"not json"),
            ("syn-header-spaces", "  #  :  ", "", b"{}"),
            ("syn-header-nul-body", "X", "R", b'{"__type":"a\x00b"}'),
    ):
        write("errors", name, bytes([0, 0]) + et.encode() + b"\0" + reason.encode() + b"\0rid\0" + body)
    write("errors", "syn-no-fields", bytes([103, 0]))


# --------------------------------------------------------------------------
# tokens

def gen_tokens(service_tokens):
    from botocore.paginate import TokenEncoder
    enc = TokenEncoder()
    samples = []
    for t in service_tokens:
        samples.append(enc.encode({"nextToken": t}))
        samples.append(enc.encode({"nextToken": t, "boto_truncate_amount": 7}))
    for t, n in (("abc", 0), ("\u00e9\u4e2d\U0001F600", 3), ('q"\\/\b\f\n\r\t\x01\x7f', 2**53),
                 ("None", 1), (None, 5)):
        d = {"nextToken": t}
        if n:
            d["boto_truncate_amount"] = n
        samples.append(enc.encode(d))
    samples += ["abc___3", "None___2", "tok___ 1_0 ", "a___b___c", "x___-0", "x___-1", "___",
                "eyJuZXh0VG9rZW4iOiBudWxsfQ", "eyJuZXh0VG9rZW4iOiBudWxsfQ==trailing",
                "e y J u Z X h 0 V G 9 r Z W 4 i O i B u d W x s f Q = =",
                base64.b64encode(b'{"nextToken": "a", "boto_truncate_amount": 1.5}').decode(),
                base64.b64encode(b'{"nextToken": "a", "other": 1}').decode(),
                base64.b64encode(b'{"nextToken": "\\u0000"}').decode(),
                base64.b64encode(b'{"nextToken": "a", "boto_truncate_amount": 1e400}').decode(),
                base64.b64encode(b'[' * 1200 + b']' * 1200).decode()[:4000]]
    for i, t in enumerate(samples):
        write("token", "decode-%02d" % i, b"\0" + t.encode("utf-8", "surrogatepass"))
    # round trips: mode 1 (mode 3: null), amount, token
    rts = [(t, 0) for t in service_tokens] + [
        ("abc", 7), ("\u00e9" * 40, 2**53), ("\U0001F600\u4e2d", 1), ('"\\\x1f', -1),
        ("x" * 1024, 123456789), ("None", 0), ("a___1", 5)]
    for i, (t, n) in enumerate(rts):
        amount = (1 << 63) if n < 0 else n
        write("token", "roundtrip-%02d" % i, b"\1" + struct.pack(">Q", amount) + t.encode("utf-8"))
    write("token", "roundtrip-null", b"\3" + struct.pack(">Q", 9))
    write("token", "decode-oom", b"\xc8" + samples[0].encode())


# --------------------------------------------------------------------------
# STS XML and JSON

ASSUME_ROLE = """<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleResult>
    <SourceIdentity>DevUser123</SourceIdentity>
    <AssumedRoleUser>
      <Arn>arn:aws:sts::123456789012:assumed-role/demo/John</Arn>
      <AssumedRoleId>ARO123EXAMPLE123:John</AssumedRoleId>
    </AssumedRoleUser>
    <Credentials>
      <AccessKeyId>ASIAIOSFODNN7EXAMPLE</AccessKeyId>
      <SecretAccessKey>wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY</SecretAccessKey>
      <SessionToken>AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA==</SessionToken>
      <Expiration>2019-11-09T13:34:41Z</Expiration>
    </Credentials>
    <PackedPolicySize>6</PackedPolicySize>
  </AssumeRoleResult>
  <ResponseMetadata>
    <RequestId>c6104cbe-af31-11e0-8154-cbc7ccf896c7</RequestId>
  </ResponseMetadata>
</AssumeRoleResponse>
"""

WEB_IDENTITY = """<?xml version="1.0" encoding="UTF-8"?>
<sts:AssumeRoleWithWebIdentityResponse xmlns:sts="https://sts.amazonaws.com/doc/2011-06-15/">
  <sts:AssumeRoleWithWebIdentityResult>
    <sts:SubjectFromWebIdentityToken>amzn1.account.AF6RHO7KZU5XRVQJGXK6HB56KR2A</sts:SubjectFromWebIdentityToken>
    <sts:Audience>client.5498841531868486423.1548@apps.example.com</sts:Audience>
    <sts:AssumedRoleUser><sts:Arn>arn:aws:sts::123456789012:assumed-role/FederatedWebIdentityRole/app1</sts:Arn>
      <sts:AssumedRoleId>AROACLKWSDQRAOEXAMPLE:app1</sts:AssumedRoleId></sts:AssumedRoleUser>
    <sts:Credentials>
      <sts:SessionToken>AQoDYXdzE&amp;&lt;&#x41;<![CDATA[cdata&<>]]>tail</sts:SessionToken>
      <sts:SecretAccessKey>wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY</sts:SecretAccessKey>
      <sts:Expiration>2014-10-24T23:00:23.123+02:00</sts:Expiration>
      <sts:AccessKeyId>ASgeIAIOSFODNN7EXAMPLE</sts:AccessKeyId>
    </sts:Credentials>
    <sts:SourceIdentity>SourceIdentityValue</sts:SourceIdentity>
    <sts:Provider>www.amazon.com</sts:Provider>
  </sts:AssumeRoleWithWebIdentityResult>
  <sts:ResponseMetadata><sts:RequestId>ad4156e9-bce1-11e2-82e6-6b6efEXAMPLE</sts:RequestId></sts:ResponseMetadata>
</sts:AssumeRoleWithWebIdentityResponse>
"""

ERROR_RESPONSE = """<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <Error>
    <Type>Sender</Type>
    <Code>AccessDenied</Code>
    <Message>User: arn:aws:iam::123456789012:user/x is not authorized to perform: sts:AssumeRole</Message>
  </Error>
  <RequestId>4b4c0bd7-0c3e-4a2b-9fbe-EXAMPLE</RequestId>
</ErrorResponse>
"""

DOCTYPE = """<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<AssumeRoleResponse><AssumeRoleResult><Credentials><AccessKeyId>&lol2;</AccessKeyId>
<SecretAccessKey>s</SecretAccessKey></Credentials></AssumeRoleResult></AssumeRoleResponse>
"""

JSON_DOCS = [
    # IMDSv2 security-credentials/<role>
    {"Code": "Success", "LastUpdated": "2024-01-01T00:00:00Z", "Type": "AWS-HMAC",
     "AccessKeyId": "ASIAEXAMPLE", "SecretAccessKey": "secret", "Token": "token",
     "Expiration": "2024-01-01T06:00:00Z"},
    # container credentials
    {"AccessKeyId": "ASIAEXAMPLE", "Expiration": "2024-01-01T06:00:00Z", "RoleArn": "arn:x",
     "SecretAccessKey": "secret", "Token": "token"},
    # credential_process
    {"Version": 1, "AccessKeyId": "AKIAEXAMPLE", "SecretAccessKey": "secret",
     "SessionToken": None, "Expiration": "2024-01-01T06:00:00+00:00"},
    # STS JSON (Accept: application/json)
    {"AssumeRoleResponse": {"AssumeRoleResult": {"Credentials": {
        "AccessKeyId": "A", "SecretAccessKey": "S", "SessionToken": "T", "Expiration": 1.7e9}},
        "ResponseMetadata": {"RequestId": "r"}}},
]


def gen_sts():
    for name, doc in (("assume-role", ASSUME_ROLE), ("web-identity", WEB_IDENTITY),
                      ("error", ERROR_RESPONSE), ("doctype", DOCTYPE),
                      ("deep", "<a>" * 40 + "<Credentials><AccessKeyId>x</AccessKeyId>"
                               "<SecretAccessKey>y</SecretAccessKey></Credentials>" + "</a>" * 40),
                      ("bad-expiration", ASSUME_ROLE.replace("2019-11-09T13:34:41Z", "2019-13-09T13:34:41")),
                      ("truncated", ASSUME_ROLE[:400]),
                      ("utf16-decl", '<?xml version="1.0" encoding="UTF-16"?><a/>')):
        write("stsxml", "xml-" + name, b"\0" + doc.encode())
    write("stsxml", "xml-oom", b"\xc6" + ASSUME_ROLE.encode())
    for i, doc in enumerate(JSON_DOCS):
        write("stsxml", "json-%d" % i, b"\1" + json.dumps(doc).encode())
    write("stsxml", "json-deep", b"\1" + b"[" * 70 + b"]" * 70)
    write("stsxml", "json-numbers", b"\1" + b"[0,-0,1e308,-1e308,9007199254740993,1.5,123456789012345678901234567890]")
    write("stsxml", "json-null", b"\1null")
    write("stsxml", "json-oom", b"\xc9" + json.dumps(JSON_DOCS[0]).encode())


# --------------------------------------------------------------------------
# build_request

def request_input(flags, max_byte, execution_arn, token=b"", endpoint=b""):
    return (bytes([flags, max_byte]) + struct.pack(">H", len(execution_arn)) + execution_arn +
            struct.pack(">H", len(token)) + token + endpoint)


def gen_request(service_tokens):
    a = arn("runs-25").encode()
    write("request", "arn-only", request_input(0x01, 0, a))
    write("request", "arn-max", request_input(0x05, 25, a))
    for i, t in enumerate(service_tokens[:2]):
        write("request", "arn-token-%d" % i, request_input(0x07, 2, a, t.encode()))
    write("request", "unicode", request_input(0x03, 0, "arn:\u00e9\U0001F600".encode(), '"\\\x01\x7f'.encode()))
    write("request", "nul", request_input(0x03, 0, b"arn\0x", b"t\0"))
    write("request", "long-arn", request_input(0x01, 0, b"a" * 257))
    write("request", "long-token", request_input(0x03, 0, a, "\U0001F600".encode() * 1025))
    write("request", "odd-max", request_input(0x85, 3, a))
    write("request", "endpoint-https", request_input(0x09, 0, a, b"", b"https://states.us-east-1.amazonaws.com:443/p"))
    write("request", "endpoint-bad", request_input(0x09, 0, a, b"", b"http://user@host/"))
    write("request", "opts-time-0", request_input(0x11, 0, a))


# --------------------------------------------------------------------------
# reproducers of findings (spec/fuzz/crashes/<target>-<what>): `make fuzz`
# replays them first; each must pass once its bug is fixed

def crash(name, data):
    os.makedirs(CRASHES, exist_ok=True)
    with open(os.path.join(CRASHES, name), "wb") as f:
        f.write(data)


def gen_crashes():
    # errors.c l_error_tostring: a CR/LF in code or request_id reaches tostring(err)
    crash("reply-tostring-newline-code",
          reply_input(400, {}, b'{"__type":"ns#Bad\\nCode","message":"m"}'))
    crash("errors-tostring-newline-errortype", bytes([0, 0]) + b"Foo\nBar:http://x\0\0\0")
    crash("errors-tostring-newline-request-id",
          bytes([0, 0]) + b"\0\0id\r\nX-Injected: 1\0" + b'{"__type":"A","message":"m"}')
    # request.c l_build_request: opts.time / attempt / max_attempts unchecked
    a = arn("runs-25").encode()
    for o, what in ((2, "time-1e17-uninit-tm"), (3, "time-negative-year"), (4, "time-1e300"),
                    (5, "attempt-1e300"), (6, "time-nan"), (7, "max-attempts-1e10")):
        crash("request-opts-" + what, request_input(0x01 | (o << 4), 0, a))
    # token.c: a sendable nextToken whose resume token is longer than SFN_TOKEN_MAX
    crash("token-roundtrip-520-e-acute", b"\1" + struct.pack(">Q", 5) + ("\u00e9" * 520).encode())
    crash("token-roundtrip-1024-astral", b"\1" + struct.pack(">Q", 0) + ("\U0001F600" * 1024).encode())


def main():
    for t in TARGETS:  # only the corpora written here (others may live beside them)
        shutil.rmtree(os.path.join(CORPUS, t), ignore_errors=True)
    seen = gen_replies()
    gen_synthetic_replies()
    tokens = [json.loads(x[4])["nextToken"] for x in seen
              if x[1] == 200 and x[4].startswith(b"{") and b'"nextToken"' in x[4]]
    gen_tokens(tokens)
    gen_sts()
    gen_request(tokens)
    for name in os.listdir(CRASHES) if os.path.isdir(CRASHES) else []:
        if name.split("-")[0] in TARGETS:
            os.remove(os.path.join(CRASHES, name))
    gen_crashes()
    for t in TARGETS:
        print("%-8s %3d seeds" % (t, len(os.listdir(os.path.join(CORPUS, t)))))
    print("crashes  %3d reproducers" % len(os.listdir(CRASHES)))


if __name__ == "__main__":
    main()
