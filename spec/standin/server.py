#!/usr/bin/env python3
"""A local AWS Step Functions stand-in that serves ListMapRuns, DescribeMapRun
and ListExecutions.

Python 3 standard library only. It speaks the awsJson1_0 wire protocol,
checks every SigV4 signature with its own code, serves deterministic Map
Runs with tamper-proof pagination tokens and injects faults on request.
See README.md next to this file for the flags, fault names and control
endpoints.
"""

import argparse
import base64
import calendar
import email.utils
import hashlib
import hmac
import json
import os
import re
import select
import signal
import socket
import socketserver
import ssl
import struct
import sys
import threading
import time
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mapruns  # noqa: E402

TARGET = "AWSStepFunctions.ListMapRuns"
TARGET_PREFIX = "AWSStepFunctions."
OPERATIONS = ("ListMapRuns", "DescribeMapRun", "ListExecutions")
JSON_TYPE = "application/x-amz-json-1.0"
SERVICE = "states"
MAX_SKEW = 300  # seconds, SigV4 request time window
DEFAULT_CREDENTIALS = "AKIDEXAMPLE:wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
MAX_REQUEST_BODY = 1 << 20
HUGE_TARGET_BYTES = 64 << 20

CORAL = "com.amazon.coral.service"
SWF = "com.amazonaws.swf.service.v2.model"
NAMESPACES = {
    "ExecutionDoesNotExist": SWF,
    "InvalidArn": SWF,
    "InvalidToken": SWF,
    "ResourceNotFound": SWF,
    "StateMachineDoesNotExist": SWF,
    "InternalServerError": SWF,
    "ThrottlingException": "com.amazon.coral.availability",
    "ValidationException": "com.amazon.coral.validate",
}

ARN_RE = re.compile(
    r"^arn:(aws[a-z-]*):states:([a-z]{2}(?:-[a-z]+)+-\d+):(\d{12}):([A-Za-z]+):([^:\s]{1,80}):([^:\s]{1,80})$"
)
MAP_RUN_ARN_RE = re.compile(
    r"^arn:(aws[a-z-]*):states:([a-z]{2}(?:-[a-z]+)+-\d+):(\d{12}):mapRun:([^:/\s]{1,80})/([^:/\s]{1,80}):([0-9a-f-]{36})$"
)
STATE_MACHINE_ARN_RE = re.compile(
    r"^arn:(aws[a-z-]*):states:([a-z]{2}(?:-[a-z]+)+-\d+):(\d{12}):stateMachine:([^:/\s]{1,80})$"
)
EXECUTION_STATUSES = ("RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED", "PENDING_REDRIVE")
REDRIVE_FILTERS = ("REDRIVEN", "NOT_REDRIVEN")
AMZ_DATE_RE = re.compile(r"^\d{8}T\d{6}Z$")


# --------------------------------------------------------------------------
# Shared state

class State:
    """Counters and run-time configuration, shared by all handler threads."""

    def __init__(self, args):
        self.lock = threading.Lock()
        self.secret = os.urandom(32)  # per process: tokens die with the server
        self.region = args.region
        self.credentials = {}
        for spec in args.credentials or [DEFAULT_CREDENTIALS]:
            parts = spec.split(":", 2)
            if len(parts) < 2 or not parts[0] or not parts[1]:
                raise SystemExit("--credentials wants AKID:SECRET[:TOKEN], got %r" % spec)
            self.credentials[parts[0]] = (parts[1], parts[2] if len(parts) == 3 and parts[2] else None)
        self.delay_ms = args.delay_ms
        self.clock_skew = args.clock_skew
        self.fault = args.fault or None
        self.verbose = args.verbose
        self.tls = bool(args.tls_cert)
        self.port = None
        self.signing_keys = {}
        self.started = time.time()
        self.reset()

    def reset(self):
        with self.lock:
            self.generation = getattr(self, "generation", 0) + 1
            self.connections = 0
            self.accepted = 0
            self.requests = 0
            self.control_requests = 0
            self.arn_requests = {}
            self.fault_counts = {}
            self.last_request = None
            self.live_anchors = {}
            self.map_run_index = {}

    def live_anchor(self, arn):
        """When the live execution arn started: the first time it was asked about."""
        with self.lock:
            return self.live_anchors.setdefault(arn, self.now())

    def now(self):
        return time.time() + self.clock_skew

    def count_fault(self, arn):
        """Number of requests for arn that reached the fault stage, this one included."""
        with self.lock:
            n = self.fault_counts.get(arn, 0) + 1
            self.fault_counts[arn] = n
            self.arn_requests[arn] = self.arn_requests.get(arn, 0) + 1
            return n

    def config_dict(self):
        return {"delay_ms": self.delay_ms, "clock_skew": self.clock_skew, "fault": self.fault,
                "region": self.region}

    def stats(self):
        with self.lock:
            return {
                "connections": self.connections,
                "accepted": self.accepted,
                "open_connections": OPEN.value,
                "requests": self.requests,
                "control_requests": self.control_requests,
                "arns": dict(self.arn_requests),
                "last_request": self.last_request,
                "config": self.config_dict(),
                "port": self.port,
                "tls": self.tls,
            }


class Counter:
    def __init__(self):
        self.value = 0
        self.lock = threading.Lock()

    def add(self, n):
        with self.lock:
            self.value += n


OPEN = Counter()  # open connections that have carried an API request
STATE = None


def log(msg):
    if STATE is None or STATE.verbose:
        sys.stderr.write("standin: %s\n" % msg)
        sys.stderr.flush()


# --------------------------------------------------------------------------
# Errors

class ApiError(Exception):
    def __init__(self, code, message=None, status=400, namespace=None):
        super().__init__(code)
        self.code = code
        self.message = message
        self.status = status
        self.namespace = namespace or NAMESPACES.get(code, CORAL)


def validation_error(problems):
    n = len(problems)
    head = "%d validation error%s detected: " % (n, "" if n == 1 else "s")
    return ApiError("ValidationException", head + "; ".join(problems))


# --------------------------------------------------------------------------
# SigV4, our own implementation

def sha256_hex(data):
    return hashlib.sha256(data).hexdigest()


def uri_encode(s, safe="-_.~"):
    return urllib.parse.quote(s, safe=safe)


def remove_dot_segments(path):
    if not path:
        return "/"
    out = []
    for seg in path.split("/"):
        if seg in ("", "."):
            continue
        if seg == "..":
            if out:
                out.pop()
        else:
            out.append(seg)
    first = "/" if path.startswith("/") else ""
    last = "/" if path.endswith("/") and out else ""
    return first + "/".join(out) + last


def canonical_query(query):
    if not query:
        return ""
    pairs = []
    for part in query.split("&"):
        if not part:
            continue
        k, _, v = part.partition("=")
        pairs.append((uri_encode(urllib.parse.unquote(k)), uri_encode(urllib.parse.unquote(v))))
    pairs.sort()
    return "&".join("%s=%s" % kv for kv in pairs)


def header_dicts(headers):
    """{lowercased name: value} as received (repeats joined by ","), and the
    same with SigV4's canonical trimming (sequential spaces collapsed)."""
    raw = {}
    for k, v in headers.items():
        k = k.lower()
        v = v.strip()
        raw[k] = raw[k] + "," + v if k in raw else v
    return raw, {k: " ".join(v.split()) if "  " in v or "\t" in v else v for k, v in raw.items()}


def parse_authorization(value):
    """Returns dict with algorithm, akid, date, region, service, terminator, signed, signature."""
    algorithm, _, rest = value.strip().partition(" ")
    fields = {}
    for item in rest.split(","):
        k, sep, v = item.strip().partition("=")
        if sep:
            fields[k.strip()] = v.strip()
    missing = []
    for name in ("Credential", "Signature", "SignedHeaders"):
        if name not in fields:
            missing.append("Authorization header requires '%s' parameter." % name)
    if missing:
        raise ApiError("IncompleteSignatureException", " ".join(missing) + " Authorization=" + value)
    if algorithm != "AWS4-HMAC-SHA256":
        raise ApiError("IncompleteSignatureException",
                       "Unsupported AWS 'algorithm': '%s'." % algorithm)
    scope = fields["Credential"].split("/")
    if len(scope) != 5:
        raise ApiError("IncompleteSignatureException",
                       "Credential should be scoped to a valid region, not '%s'. "
                       % (scope[2] if len(scope) > 2 else ""))
    return {
        "akid": scope[0], "date": scope[1], "region": scope[2], "service": scope[3],
        "terminator": scope[4], "scope": "/".join(scope[1:]),
        "signed": fields["SignedHeaders"].split(";"), "signature": fields["Signature"],
    }


def signing_key(secret, date, region, service):
    key = (secret, date, region, service)
    k = STATE.signing_keys.get(key)
    if k is None:
        k = hmac.new(("AWS4" + secret).encode(), date.encode(), hashlib.sha256).digest()
        for part in (region, service, "aws4_request"):
            k = hmac.new(k, part.encode(), hashlib.sha256).digest()
        if len(STATE.signing_keys) > 256:
            STATE.signing_keys.clear()
        STATE.signing_keys[key] = k
    return k


def fmt_amz(t):
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(t))


def check_signature(method, raw_path, query, headers, body):
    """headers: {lowercased name: canonical value}"""
    auth = headers.get("authorization")
    if not auth:
        raise ApiError("MissingAuthenticationTokenException", "Missing Authentication Token")
    a = parse_authorization(auth)
    amz_date = headers.get("x-amz-date")
    if not amz_date:
        raise ApiError("IncompleteSignatureException",
                       "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. "
                       "Authorization=" + auth)
    amz_date = amz_date.strip()
    if not AMZ_DATE_RE.match(amz_date):
        raise ApiError("IncompleteSignatureException",
                       "Date must be in ISO-8601 'basic format'. Got '%s'. See http://en.wikipedia.org/wiki/ISO_8601"
                       % amz_date)
    signed = a["signed"]
    if signed != sorted(signed) or any(h != h.lower() or not h for h in signed):
        raise ApiError("InvalidSignatureException",
                       "SignedHeaders must be lowercase and sorted: '%s'." % ";".join(signed))
    required = [("host", "'Host' or ':authority'"), ("x-amz-date", "'X-Amz-Date'"),
                ("x-amz-target", "'X-Amz-Target'"), ("content-type", "'Content-Type'")]
    for name, label in required:
        if name not in signed:
            raise ApiError("IncompleteSignatureException",
                           "%s must be a 'SignedHeader' in the AWS Authorization." % label)
    # credential scope
    if a["terminator"] != "aws4_request":
        raise ApiError("InvalidSignatureException",
                       "Credential should be scoped with a valid terminator: 'aws4_request', not '%s'. "
                       % a["terminator"])
    if a["service"] != SERVICE:
        raise ApiError("InvalidSignatureException",
                       "Credential should be scoped to correct service: '%s'. " % SERVICE)
    if a["region"] != STATE.region:
        raise ApiError("InvalidSignatureException",
                       "Credential should be scoped to a valid region, not '%s'. " % a["region"])
    if a["date"] != amz_date[:8]:
        raise ApiError("InvalidSignatureException",
                       "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: "
                       "'%s' != '%s', from '%s'." % (a["date"], amz_date[:8], amz_date))
    # request time window
    now = STATE.now()
    t = calendar.timegm(time.strptime(amz_date, "%Y%m%dT%H%M%SZ"))
    if t < now - MAX_SKEW:
        raise ApiError("InvalidSignatureException",
                       "Signature expired: %s is now earlier than %s (%s - 5 min.)"
                       % (amz_date, fmt_amz(now - MAX_SKEW), fmt_amz(now)))
    if t > now + MAX_SKEW:
        raise ApiError("InvalidSignatureException",
                       "Signature not yet current: %s is still later than %s (%s + 5 min.)"
                       % (amz_date, fmt_amz(now + MAX_SKEW), fmt_amz(now)))
    # key and session token
    known = STATE.credentials.get(a["akid"])
    if known is None:
        raise ApiError("UnrecognizedClientException", "The security token included in the request is invalid.")
    secret, token = known
    sent_token = headers.get("x-amz-security-token")
    if (sent_token or None) != token:
        raise ApiError("UnrecognizedClientException", "The security token included in the request is invalid.")
    if token and "x-amz-security-token" not in signed:
        raise ApiError("IncompleteSignatureException",
                       "'X-Amz-Security-Token' must be a 'SignedHeader' in the AWS Authorization.")
    # canonical request from what actually arrived
    canonical = "\n".join([
        method,
        uri_encode(remove_dot_segments(raw_path), safe="/~"),
        canonical_query(query),
        "".join("%s:%s\n" % (h, headers.get(h, "")) for h in signed),
        ";".join(signed),
        sha256_hex(body),
    ])
    string_to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, a["scope"], sha256_hex(canonical.encode())])
    key = signing_key(secret, a["date"], a["region"], a["service"])
    expected = hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, a["signature"]):
        raise ApiError("InvalidSignatureException",
                       "The request signature we calculated does not match the signature you provided. "
                       "Check your AWS Secret Access Key and signing method. Consult the service documentation "
                       "for details.\n\nThe Canonical String for this request should have been\n'%s'\n\n"
                       "The String-to-Sign should have been\n'%s'\n" % (canonical, string_to_sign))


# --------------------------------------------------------------------------
# Request body

class Reject(Exception):
    pass


def _no_constants(name):
    raise ValueError(name)


def parse_body(body):
    if not body.strip():
        doc = {}
    else:
        try:
            doc = json.loads(body.decode("utf-8"), parse_constant=_no_constants)
        except (ValueError, UnicodeDecodeError):
            raise ApiError("SerializationException", "Unable to parse the request body as JSON")
    if not isinstance(doc, dict):
        raise ApiError("SerializationException", "Start of structure or map found where not expected.")

    def string_member(name):
        v = doc.get(name)
        if v is None or isinstance(v, str):
            return v
        kind = "NUMBER_VALUE" if isinstance(v, (int, float)) and not isinstance(v, bool) else \
            "TRUE_VALUE" if v is True else "FALSE_VALUE" if v is False else "START_OBJECT"
        raise ApiError("SerializationException", "%s can not be converted to a String" % kind)

    arn = string_member("executionArn")
    token = string_member("nextToken")
    max_results = doc.get("maxResults")
    if max_results is not None:
        if isinstance(max_results, bool) or not isinstance(max_results, (int, float)):
            kind = "STRING_VALUE" if isinstance(max_results, str) else "START_OBJECT"
            raise ApiError("SerializationException", "%s can not be converted to an Integer" % kind)
        if isinstance(max_results, float):
            if max_results != int(max_results):
                raise ApiError("SerializationException", "NUMBER_VALUE %r can not be converted to an Integer"
                               % max_results)
            max_results = int(max_results)
    problems = []
    if arn is None:
        problems.append("Value null at 'executionArn' failed to satisfy constraint: Member must not be null")
    elif len(arn) < 1:
        problems.append("Value '%s' at 'executionArn' failed to satisfy constraint: "
                        "Member must have length greater than or equal to 1" % arn)
    elif len(arn) > 256:
        problems.append("Value '%s' at 'executionArn' failed to satisfy constraint: "
                        "Member must have length less than or equal to 256" % arn)
    if max_results is not None:
        if max_results < 0:
            problems.append("Value '%d' at 'maxResults' failed to satisfy constraint: "
                            "Member must have value greater than or equal to 0" % max_results)
        elif max_results > 1000:
            problems.append("Value '%d' at 'maxResults' failed to satisfy constraint: "
                            "Member must have value less than or equal to 1000" % max_results)
    if token is not None:
        if len(token) < 1:
            problems.append("Value '%s' at 'nextToken' failed to satisfy constraint: "
                            "Member must have length greater than or equal to 1" % token)
        elif len(token) > 1024:
            problems.append("Value '%s' at 'nextToken' failed to satisfy constraint: "
                            "Member must have length less than or equal to 1024" % token)
    if problems:
        raise validation_error(problems)
    return arn, (max_results or 100), token


def load_body(body):
    """The request body as a dict (SerializationException otherwise)."""
    if not body.strip():
        return {}
    try:
        doc = json.loads(body.decode("utf-8"), parse_constant=_no_constants)
    except (ValueError, UnicodeDecodeError):
        raise ApiError("SerializationException", "Unable to parse the request body as JSON")
    if not isinstance(doc, dict):
        raise ApiError("SerializationException", "Start of structure or map found where not expected.")
    return doc


def member_string(doc, name):
    v = doc.get(name)
    if v is None or isinstance(v, str):
        return v
    kind = "NUMBER_VALUE" if isinstance(v, (int, float)) and not isinstance(v, bool) else \
        "TRUE_VALUE" if v is True else "FALSE_VALUE" if v is False else "START_OBJECT"
    raise ApiError("SerializationException", "%s can not be converted to a String" % kind)


def member_integer(doc, name):
    v = doc.get(name)
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        kind = "STRING_VALUE" if isinstance(v, str) else "START_OBJECT"
        raise ApiError("SerializationException", "%s can not be converted to an Integer" % kind)
    if isinstance(v, float):
        if v != int(v):
            raise ApiError("SerializationException", "NUMBER_VALUE %r can not be converted to an Integer" % v)
        v = int(v)
    return v


def check_length(problems, name, v, lo, hi):
    if v is None:
        return
    if len(v) < lo:
        problems.append("Value '%s' at '%s' failed to satisfy constraint: "
                        "Member must have length greater than or equal to %d" % (v, name, lo))
    elif len(v) > hi:
        problems.append("Value '%s' at '%s' failed to satisfy constraint: "
                        "Member must have length less than or equal to %d" % (v, name, hi))


def check_range(problems, name, v, lo, hi):
    if v is None:
        return
    if v < lo:
        problems.append("Value '%d' at '%s' failed to satisfy constraint: "
                        "Member must have value greater than or equal to %d" % (v, name, lo))
    elif v > hi:
        problems.append("Value '%d' at '%s' failed to satisfy constraint: "
                        "Member must have value less than or equal to %d" % (v, name, hi))


def check_enum(problems, name, v, values):
    if v is not None and v not in values:
        problems.append("Value '%s' at '%s' failed to satisfy constraint: "
                        "Member must satisfy enum value set: [%s]" % (v, name, ", ".join(values)))


def parse_describe_body(body):
    doc = load_body(body)
    arn = member_string(doc, "mapRunArn")
    problems = []
    if arn is None:
        problems.append("Value null at 'mapRunArn' failed to satisfy constraint: Member must not be null")
    check_length(problems, "mapRunArn", arn, 1, 2000)
    if problems:
        raise validation_error(problems)
    return arn


def parse_list_executions_body(body):
    doc = load_body(body)
    q = {name: member_string(doc, name)
         for name in ("stateMachineArn", "mapRunArn", "statusFilter", "redriveFilter", "nextToken")}
    q["maxResults"] = member_integer(doc, "maxResults")
    problems = []
    check_length(problems, "stateMachineArn", q["stateMachineArn"], 1, 256)
    check_length(problems, "mapRunArn", q["mapRunArn"], 1, 2000)
    check_enum(problems, "statusFilter", q["statusFilter"], EXECUTION_STATUSES)
    check_enum(problems, "redriveFilter", q["redriveFilter"], REDRIVE_FILTERS)
    check_range(problems, "maxResults", q["maxResults"], 0, 1000)
    check_length(problems, "nextToken", q["nextToken"], 1, 3096)
    if problems:
        raise validation_error(problems)
    if (q["stateMachineArn"] is None) == (q["mapRunArn"] is None):
        raise ApiError("ValidationException", "Must provide exactly one of stateMachineArn or mapRunArn")
    if q["redriveFilter"] is not None and q["mapRunArn"] is None:
        raise ApiError("ValidationException", "redriveFilter is only supported with mapRunArn")
    q["maxResults"] = q["maxResults"] or 100
    return q


def parse_arn(arn):
    m = ARN_RE.match(arn)
    if m:
        partition, region, account, rtype, machine, name = m.groups()
        if rtype != "execution":
            raise ApiError("InvalidArn", "Invalid Arn: 'Resource type not valid in this context: %s'" % rtype)
        return {"partition": partition, "region": region, "account": account, "machine": machine, "name": name}
    if not arn.startswith("arn:"):
        raise ApiError("InvalidArn", "Invalid Arn: 'Invalid ARN prefix: %s'" % arn)
    parts = arn.split(":")
    rtype = parts[5] if len(parts) > 5 else ""
    if rtype and rtype != "execution":
        raise ApiError("InvalidArn", "Invalid Arn: 'Resource type not valid in this context: %s'" % rtype)
    raise ApiError("InvalidArn", "Invalid Arn: 'Resource type not valid in this context: %s'" % arn)


# --------------------------------------------------------------------------
# Data: deterministic Map Runs and pagination tokens

def run_count(name):
    m = re.match(r"^runs-(\d+)$", name)
    if m:
        return int(m.group(1))
    live = mapruns.live_spec(name)
    if live:
        return live[0]
    if name == "none":
        return 0
    if name == "missing":
        return None
    return 3


def model(arn, p, i):
    return mapruns.Model(arn, p, i, STATE.live_anchor, STATE.started)


def map_run(arn, p, i):
    return model(arn, p, i).list_item(STATE.now())


def find_map_run(map_run_arn):
    """(execution ARN, parsed execution ARN, index) of a Map Run ARN, or raise."""
    m = MAP_RUN_ARN_RE.match(map_run_arn)
    if not m:
        parts = map_run_arn.split(":")
        rtype = parts[5] if len(parts) > 5 and map_run_arn.startswith("arn:") else map_run_arn
        raise ApiError("InvalidArn", "Invalid Arn: 'Resource type not valid in this context: %s'" % rtype)
    partition, region, account, machine, name, run_id = m.groups()
    p = {"partition": partition, "region": region, "account": account, "machine": machine, "name": name}
    arn = "arn:%s:states:%s:%s:execution:%s:%s" % (partition, region, account, machine, name)
    with STATE.lock:
        hit = STATE.map_run_index.get(map_run_arn)
    if hit is None:
        total = run_count(name)
        for i in range(min(total or 0, 100000)):
            if mapruns.run_uuid(arn, i) == run_id:
                hit = i
                with STATE.lock:
                    STATE.map_run_index[map_run_arn] = i
                break
    if hit is None:
        raise ApiError("ResourceNotFound", "Resource not found: '%s'" % map_run_arn)
    return arn, p, hit


TOKEN_MAGIC = b"\xfb\xff\xbf"  # base64 "+/+/": tokens always carry + and /


def arn_hash(arn):
    return hashlib.sha256(arn.encode()).hexdigest()[:24]


def make_token(arn, offset):
    payload = json.dumps({"v": 1, "h": arn_hash(arn), "o": offset}, separators=(",", ":")).encode()
    while (len(TOKEN_MAGIC) + len(payload) + 20) % 3 == 0:  # keep a "=" pad
        payload += b" "
    mac = hmac.new(STATE.secret, payload, hashlib.sha256).digest()[:20]
    return base64.b64encode(TOKEN_MAGIC + payload + mac).decode()


def read_token(token, arn, total):
    def bad(why):
        return ApiError("InvalidToken", "Invalid Token: '%s'" % why)
    try:
        raw = base64.b64decode(token.encode("ascii"), validate=True)
    except (ValueError, UnicodeEncodeError):
        raise bad("Token is not valid base64")
    if not raw.startswith(TOKEN_MAGIC) or len(raw) < len(TOKEN_MAGIC) + 21:
        raise bad("Token is malformed")
    payload, mac = raw[len(TOKEN_MAGIC):-20], raw[-20:]
    if not hmac.compare_digest(mac, hmac.new(STATE.secret, payload, hashlib.sha256).digest()[:20]):
        raise bad("Token signature does not match")
    try:
        doc = json.loads(payload.decode())
        h, offset = doc["h"], doc["o"]
    except (ValueError, KeyError, TypeError):
        raise bad("Token is malformed")
    if h != arn_hash(arn):
        raise bad("Token was issued for a different executionArn")
    if not isinstance(offset, int) or offset < 0 or offset > total:
        raise bad("Token offset out of range")
    return offset


def lua_literal(v):
    if v is None:
        return "nil"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, str):
        out = []
        for b in v.encode("utf-8"):
            c = chr(b)
            if c in '"\\' or b < 32 or b > 126:
                out.append("\\%03d" % b)
            else:
                out.append(c)
        return '"' + "".join(out) + '"'
    if isinstance(v, dict):
        return "{" + ",".join("[%s]=%s" % (lua_literal(k), lua_literal(x)) for k, x in v.items()
                              if x is not None) + "}"
    if isinstance(v, (list, tuple)):
        return "{" + ",".join(lua_literal(x) for x in v) + "}"
    return lua_literal(str(v))


# --------------------------------------------------------------------------
# HTTP

REASONS = {200: "OK", 301: "Moved Permanently", 400: "Bad Request", 404: "Not Found",
           405: "Method Not Allowed", 413: "Payload Too Large", 500: "Internal Server Error",
           503: "Service Unavailable"}

FAULT_RE = re.compile(
    r"^(throttle-(\d+|forever)|error-500|error-503-html|truncated|truncated-json|bad-shape|drop|"
    r"reset-mid-body|slow-(\d+)|hang|drip|drip-body|redirect|huge|access-denied|validation|"
    r"expired-token-(\d+|forever))$")


class Handler(BaseHTTPRequestHandler):
    operation = "ListMapRuns"
    protocol_version = "HTTP/1.1"
    server_version = "standin"
    sys_version = ""
    disable_nagle_algorithm = True
    timeout = None

    # ---- connection bookkeeping
    def setup(self):
        with STATE.lock:
            STATE.accepted += 1
        sock = self.request
        if isinstance(sock, ssl.SSLSocket):
            sock.settimeout(10)
            try:
                sock.do_handshake()
            except (OSError, ssl.SSLError) as e:
                log("TLS handshake failed: %s" % e)
                raise
            sock.settimeout(None)
        self.counted_generation = None
        self.api_seen = False
        super().setup()

    def finish(self):
        try:
            super().finish()
        except OSError:
            pass
        if self.api_seen:
            OPEN.add(-1)

    def log_message(self, fmt, *args):
        if STATE.verbose:
            sys.stderr.write("standin: %s %s\n" % (self.address_string(), fmt % args))

    # ---- low-level writing
    def write_raw(self, data):
        self.wfile.write(data)

    def head_bytes(self, status, headers, reason=None):
        lines = ["HTTP/1.1 %d %s" % (status, reason or REASONS.get(status, "Unknown"))]
        for k, v in headers:
            lines.append("%s: %s" % (k, v))
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    def common_headers(self, content_type, length, request_id=True):
        h = []
        if request_id:
            h.append(("x-amzn-RequestId", str(uuid.uuid4())))
        h.append(("Date", email.utils.formatdate(STATE.now(), usegmt=True)))
        if content_type:
            h.append(("Content-Type", content_type))
        h.append(("Content-Length", str(length)))
        if self.close_connection:
            h.append(("Connection", "close"))
        elif self.request_version == "HTTP/1.0":
            h.append(("Connection", "keep-alive"))
        return h

    def reply(self, status, body, content_type=JSON_TYPE, extra=(), reason=None, request_id=True):
        if isinstance(body, str):
            body = body.encode("utf-8")
        headers = self.common_headers(content_type, len(body), request_id) + list(extra)
        self.write_raw(self.head_bytes(status, headers, reason) + body)
        if STATE.verbose:
            self.log_message('"%s" %d %d', self.requestline, status, len(body))

    def reply_json(self, status, doc, extra=()):
        self.reply(status, json.dumps(doc, separators=(",", ":")), extra=extra)

    def reply_error(self, e):
        doc = {"__type": "%s#%s" % (e.namespace, e.code)}
        if e.message is not None:
            doc["message"] = e.message
        errtype = "%s:http://internal.amazon.com/coral/%s/" % (e.code, e.namespace)
        self.reply_json(e.status, doc, extra=[("X-Amzn-Errortype", errtype)])

    # ---- request reading
    def read_body(self):
        te = (self.headers.get("Transfer-Encoding") or "").lower()
        if "chunked" in te:
            chunks, total = [], 0
            while True:
                line = self.rfile.readline(1024)
                if not line:
                    raise Reject("eof in chunked body")
                size = int(line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                total += size
                if total > MAX_REQUEST_BODY:
                    raise Reject("body too large")
                chunks.append(self.rfile.read(size))
                self.rfile.readline(1024)
        length = self.headers.get("Content-Length")
        if length is None:
            return b""
        try:
            n = int(length)
        except ValueError:
            raise Reject("bad Content-Length")
        if n < 0 or n > MAX_REQUEST_BODY:
            raise Reject("bad Content-Length")
        data = self.rfile.read(n)
        if len(data) != n:
            raise Reject("short body")
        return data

    def do_GET(self):
        self.dispatch()

    def do_POST(self):
        self.dispatch()

    do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = do_POST

    def dispatch(self):
        try:
            body = self.read_body()
        except (Reject, ValueError) as e:
            self.close_connection = True
            self.reply(400, "bad request: %s\n" % e, content_type="text/plain", request_id=False)
            return
        split = urllib.parse.urlsplit(self.path)
        raw_path, query = split.path or "/", split.query
        control = self.server.control_path(raw_path)
        if control:
            with STATE.lock:
                STATE.control_requests += 1
            self.control(control, query, body)
        else:
            self.api(raw_path, query, body)

    # ---- control endpoints (not signed)
    def control(self, name, query, body):
        params = urllib.parse.parse_qs(query)
        as_lua = params.get("format", [""])[0] == "lua"

        def send(doc):
            if as_lua:
                self.reply(200, "return " + lua_literal(doc), content_type="text/plain; charset=utf-8")
            else:
                self.reply_json(200, doc)

        if name == "stats" and self.command == "GET":
            send(STATE.stats())
        elif name == "reset" and self.command == "POST":
            STATE.reset()
            send({"ok": True})
        elif name == "config" and self.command in ("POST", "GET"):
            if self.command == "POST":
                try:
                    doc = json.loads(body.decode("utf-8") or "{}")
                    if not isinstance(doc, dict):
                        raise ValueError("not an object")
                    with STATE.lock:
                        if "delay_ms" in doc:
                            STATE.delay_ms = float(doc["delay_ms"] or 0)
                        if "clock_skew" in doc:
                            STATE.clock_skew = float(doc["clock_skew"] or 0)
                        if "fault" in doc:
                            fault = doc["fault"] or None
                            if fault is not None and not FAULT_RE.match(str(fault)):
                                raise ValueError("unknown fault %r" % fault)
                            STATE.fault = fault
                            STATE.fault_counts = {}
                except (ValueError, TypeError) as e:
                    self.reply(400, "bad config: %s\n" % e, content_type="text/plain", request_id=False)
                    return
            send(STATE.config_dict())
        else:
            self.reply(404, "no such control endpoint\n", content_type="text/plain", request_id=False)

    # ---- the API
    def api(self, raw_path, query, body):
        if not self.api_seen:
            self.api_seen = True
            OPEN.add(1)
        raw_headers, self.canon_headers = header_dicts(self.headers)
        with STATE.lock:
            STATE.requests += 1
            if self.counted_generation != STATE.generation:
                self.counted_generation = STATE.generation
                STATE.connections += 1
            STATE.last_request = {
                "method": self.command,
                "path": self.path,
                "headers": raw_headers,
                "body": body.decode("utf-8", "replace"),
            }
            delay = STATE.delay_ms
        if delay:
            time.sleep(delay / 1000.0)
        try:
            self.api_checked(raw_path, query, body)
        except ApiError as e:
            self.reply_error(e)

    def api_checked(self, raw_path, query, body):
        if self.command != "POST" or not self.server.api_path(raw_path):
            raise ApiError("UnknownOperationException", status=404)
        target = self.canon_headers.get("x-amz-target") or ""
        ctype = self.canon_headers.get("content-type", "").split(";")[0].strip().lower()
        operation = target[len(TARGET_PREFIX):] if target.startswith(TARGET_PREFIX) else None
        if operation not in OPERATIONS or ctype != JSON_TYPE:
            raise ApiError("UnknownOperationException")
        self.operation = operation
        check_signature(self.command, raw_path, query, self.canon_headers, body)
        if operation == "DescribeMapRun":
            return self.describe_map_run(body)
        if operation == "ListExecutions":
            return self.list_executions(body)
        arn, page_size, token = parse_body(body)
        p = parse_arn(arn)
        total = run_count(p["name"])
        fault = STATE.fault or (p["name"] if FAULT_RE.match(p["name"]) else None)
        if fault:
            n = STATE.count_fault(arn)
            if self.fault(fault, n, arn, p):
                return
        else:
            STATE.count_fault(arn)
        if total is None:
            raise ApiError("ExecutionDoesNotExist", "Execution Does Not Exist: '%s'" % arn)
        offset = read_token(token, arn, total) if token is not None else 0
        end = min(total, offset + page_size)
        doc = {"mapRuns": [map_run(arn, p, i) for i in range(offset, end)]}
        if end < total:
            doc["nextToken"] = make_token(arn, end)
        self.reply_json(200, doc)

    def faulted(self, arn, name):
        """Applies the fault of execution name (or the configured one); True
        when the request has been answered."""
        fault = STATE.fault or (name if FAULT_RE.match(name) else None)
        n = STATE.count_fault(arn)
        return bool(fault) and self.fault(fault, n, arn, self.fault_p)

    def describe_map_run(self, body):
        map_run_arn = parse_describe_body(body)
        arn, p, i = find_map_run(map_run_arn)
        self.fault_p = p
        if self.faulted(map_run_arn, p["name"]):
            return
        self.reply_json(200, model(arn, p, i).describe(STATE.now()))

    def list_executions(self, body):
        q = parse_list_executions_body(body)
        now = STATE.now()
        if q["mapRunArn"] is not None:
            arn, p, i = find_map_run(q["mapRunArn"])
            self.fault_p = p
            if self.faulted(q["mapRunArn"], p["name"]):
                return
            m = model(arn, p, i)
            rows = [(k, st) for k, st in m.children(now)
                    if q["statusFilter"] in (None, st) and q["redriveFilter"] != "REDRIVEN"]
            make = m.child
            key = "|".join(str(q[k]) for k in ("mapRunArn", "statusFilter", "redriveFilter"))
        else:
            sm = STATE_MACHINE_ARN_RE.match(q["stateMachineArn"])
            if not sm:
                raise ApiError("InvalidArn", "Invalid Arn: 'Resource type not valid in this context: %s'"
                               % q["stateMachineArn"])
            partition, region, account, machine = sm.groups()
            p = {"partition": partition, "region": region, "account": account, "machine": machine, "name": machine}
            self.fault_p = p
            if self.faulted(q["stateMachineArn"], machine):
                return
            if machine == "missing":
                raise ApiError("StateMachineDoesNotExist",
                               "State Machine Does Not Exist: '%s'" % q["stateMachineArn"])
            base = mapruns.arn_base(p)

            def make(k, status):
                item = {"executionArn": base + "execution:%s:exec-%d" % (machine, k),
                        "stateMachineArn": q["stateMachineArn"], "name": "exec-%d" % k,
                        "status": status, "startDate": 1700000000 + 3600 * k + 0.5, "redriveCount": 0}
                if status != "RUNNING":
                    item["stopDate"] = item["startDate"] + 42.25
                return item
            rows = [(k, "RUNNING" if k == 4 else "SUCCEEDED") for k in range(4, -1, -1)]
            rows = [r for r in rows if q["statusFilter"] in (None, r[1])]
            key = "|".join(str(q[k]) for k in ("stateMachineArn", "statusFilter"))
        offset = read_token(q["nextToken"], key, len(rows)) if q["nextToken"] is not None else 0
        end = min(len(rows), offset + q["maxResults"])
        doc = {"executions": [make(k, st) for k, st in rows[offset:end]]}
        if end < len(rows):
            doc["nextToken"] = make_token(key, end)
        self.reply_json(200, doc)

    # ---- faults; returns True when the request has been answered
    def fault(self, fault, n, arn, p):
        m = re.match(r"^(throttle|expired-token)-(\d+|forever)$", fault)
        if m:
            limit = m.group(2)
            if limit == "forever" or n <= int(limit):
                if m.group(1) == "throttle":
                    raise ApiError("ThrottlingException", "Rate exceeded")
                raise ApiError("ExpiredTokenException", "The security token included in the request is expired")
            return False
        m = re.match(r"^slow-(\d+)$", fault)
        if m:
            time.sleep(int(m.group(1)) / 1000.0)
            return False
        if fault == "access-denied":
            raise ApiError("AccessDeniedException",
                           "User: arn:aws:iam::%s:user/standin is not authorized to perform: states:%s "
                           "on resource: %s because no identity-based policy allows the states:%s action"
                           % (p["account"], self.operation, arn, self.operation))
        if fault == "validation":
            raise validation_error(["Value '%s' at '%s' failed to satisfy constraint: "
                                    "Member must satisfy the stand-in's validation fault"
                                    % (arn, "executionArn" if self.operation == "ListMapRuns" else
                                       "mapRunArn" if ":mapRun:" in arn else "stateMachineArn")])
        if fault == "error-500":
            raise ApiError("InternalServerError", "Internal error (injected by the stand-in)", status=500)
        if fault == "error-503-html":
            body = ("<html>\r\n<head><title>503 Service Unavailable</title></head>\r\n<body>\r\n"
                    "<center><h1>503 Service Unavailable</h1></center>\r\n</body>\r\n</html>\r\n")
            self.reply(503, body, content_type="text/html", request_id=False)
            return True
        if fault == "redirect":
            self.reply(301, b"", content_type=None, request_id=False,
                       extra=[("Location", "http://127.0.0.1:1/")])
            return True
        if fault == "bad-shape":
            self.reply(200, '{"mapRuns":"oops"}')
            return True
        full = json.dumps({"mapRuns": [map_run(arn, p, i) for i in range(3)]},
                          separators=(",", ":")).encode()
        if fault == "truncated":
            self.close_connection = True
            head = self.head_bytes(200, self.common_headers(JSON_TYPE, len(full)))
            self.write_raw(head + full[:len(full) // 2])
            return True
        if fault == "truncated-json":
            self.reply(200, full[:len(full) // 2])
            return True
        if fault == "drop":
            self.close_connection = True
            return True
        if fault == "reset-mid-body":
            self.close_connection = True
            head = self.head_bytes(200, self.common_headers(JSON_TYPE, len(full)))
            self.write_raw(head + full[:len(full) // 2])
            self.abort_with_rst()
            return True
        if fault == "hang":
            self.close_connection = True
            self.wait_for_client_close()
            return True
        if fault in ("drip", "drip-body"):
            self.close_connection = True
            head = self.head_bytes(200, self.common_headers(JSON_TYPE, len(full)))
            if fault == "drip-body":
                self.write_raw(head)
                data = full
            else:
                data = head + full
            try:
                for i in range(len(data)):
                    self.write_raw(data[i:i + 1])
                    time.sleep(1.0)
            except OSError:
                pass
            return True
        if fault == "huge":
            self.send_huge(arn, p)
            return True
        raise AssertionError("unhandled fault " + fault)

    def abort_with_rst(self):
        # SO_LINGER 0 and a close without shutdown(): the kernel answers with
        # RST, not FIN. detach() first, so that the handler's own cleanup later
        # finds a closed socket instead of a reused descriptor number.
        sock = self.request
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            os.close(sock.detach())
        except OSError:
            pass

    def wait_for_client_close(self):
        sock = self.request
        while not self.server.stopping:
            try:
                r, _, _ = select.select([sock], [], [], 0.5)
                if r and not sock.recv(65536):
                    return
            except (OSError, ValueError):
                return

    def send_huge(self, arn, p):
        sep = (",", ":")
        block = 1000  # items per chunk; a multiple of 10, so every full chunk has the same length
        prefix, suffix = b'{"mapRuns":[', b"]}"

        def chunk(start, stop):
            return ",".join(json.dumps(map_run(arn, p, i), separators=sep) for i in range(start, stop)).encode()

        first = chunk(0, block)
        per_chunk = len(first)
        nchunks = max(1, HUGE_TARGET_BYTES // (per_chunk + 1))
        length = len(prefix) + nchunks * per_chunk + (nchunks - 1) + len(suffix)
        self.close_connection = True
        self.write_raw(self.head_bytes(200, self.common_headers(JSON_TYPE, length)) + prefix + first)
        sent = len(prefix) + len(first)
        try:
            for c in range(1, nchunks):
                data = b"," + chunk(c * block, (c + 1) * block)
                if len(data) != per_chunk + 1:
                    raise AssertionError("huge: chunk length drifted")
                self.write_raw(data)
                sent += len(data)
            self.write_raw(suffix)
            sent += len(suffix)
        except OSError:
            return
        if sent != length:
            log("huge: sent %d bytes, announced %d" % (sent, length))


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256

    def __init__(self, address, handler, path_prefix=None, tls_context=None):
        self.stopping = False
        self.tls_context = tls_context
        prefix = (path_prefix or "").strip("/")
        self.prefixes = ["", "/" + prefix] if prefix else [""]
        super().__init__(address, handler)

    def server_bind(self):
        # HTTPServer.server_bind would do a reverse DNS lookup; skip it.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    def get_request(self):
        sock, addr = self.socket.accept()
        if self.tls_context is not None:
            # The handshake happens in the handler thread, so a silent client
            # cannot stall the accept loop.
            sock = self.tls_context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return sock, addr

    def api_path(self, path):
        return any(path in (p + "/", p or "/") for p in self.prefixes)

    def control_path(self, path):
        for p in self.prefixes:
            for name in ("stats", "reset", "config"):
                if path in (p + "/_" + name, p + "/_" + name + "/"):
                    return name
        return None

    def handle_error(self, request, client_address):
        if STATE.verbose:
            super().handle_error(request, client_address)


# --------------------------------------------------------------------------
# Main

def write_port_file(path, port):
    d = os.path.dirname(os.path.abspath(path))
    tmp = os.path.join(d, ".%s.%d.tmp" % (os.path.basename(path), os.getpid()))
    with open(tmp, "w") as f:
        f.write("%d\n" % port)
    os.rename(tmp, path)


def watch_pid(pid):
    while True:
        time.sleep(0.5)
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            log("watched process %d is gone; exiting" % pid)
            os.kill(os.getpid(), signal.SIGTERM)
            return
        except PermissionError:
            pass


def main(argv=None):
    global STATE
    ap = argparse.ArgumentParser(description="Local AWS Step Functions ListMapRuns stand-in")
    ap.add_argument("--port", type=int, default=0, help="TCP port on 127.0.0.1 (0 = ephemeral)")
    ap.add_argument("--port-file", help="write the bound port here once listening (atomic rename)")
    ap.add_argument("--credentials", action="append", metavar="AKID:SECRET[:TOKEN]",
                    help="known credentials (repeatable); default " + DEFAULT_CREDENTIALS)
    ap.add_argument("--region", default="us-east-1")
    ap.add_argument("--clock-skew", type=float, default=0.0, metavar="SECONDS",
                    help="shift the server's clock (signature window and Date header)")
    ap.add_argument("--delay-ms", type=float, default=0.0, help="delay every API reply")
    ap.add_argument("--fault", help="apply this fault to every API request (see README)")
    ap.add_argument("--path-prefix", help="also serve the API under this path prefix")
    ap.add_argument("--tls-cert", help="serve HTTPS with this certificate (PEM)")
    ap.add_argument("--tls-key", help="private key (PEM) for --tls-cert")
    ap.add_argument("--watch-pid", type=int, help="exit when this process is gone")
    ap.add_argument("--verbose", action="store_true", help="log every request on stderr")
    args = ap.parse_args(argv)
    if bool(args.tls_cert) != bool(args.tls_key):
        ap.error("--tls-cert and --tls-key go together")
    if args.fault and not FAULT_RE.match(args.fault):
        ap.error("unknown fault %r" % args.fault)

    STATE = State(args)
    ctx = None
    if args.tls_cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.tls_cert, args.tls_key)
    server = Server(("127.0.0.1", args.port), Handler, args.path_prefix, ctx)
    STATE.port = server.server_address[1]

    def on_signal(signum, frame):
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    if args.watch_pid:
        threading.Thread(target=watch_pid, args=(args.watch_pid,), daemon=True).start()
    if args.port_file:
        write_port_file(args.port_file, STATE.port)
    log("listening on %s://127.0.0.1:%d" % ("https" if ctx else "http", STATE.port))
    code = 0
    try:
        server.serve_forever(poll_interval=0.5)
    except SystemExit as e:
        code = e.code or 0
    finally:
        server.stopping = True
        try:
            server.socket.close()
        except OSError:
            pass
        if args.port_file:
            try:
                os.unlink(args.port_file)
            except OSError:
                pass
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    main()
