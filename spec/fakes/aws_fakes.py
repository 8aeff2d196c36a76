#!/usr/bin/env python3
"""Loopback stand-ins for the credential sources the specs exercise.

    python3 spec/fakes/aws_fakes.py KIND PORT_FILE LOG_FILE [--option value ...]

KIND is one of:
  imds       EC2 instance metadata: IMDSv2 token flow (PUT /latest/api/token),
             role name, role credentials; --v1-only answers the token PUT
             with 404 (v1 fallback), --token-delay S stalls the token PUT.
  container  ECS/EKS container credentials; --auth VALUE requires that
             Authorization header; --fail N answers 500 to the first N.
  sts        STS Query API (AssumeRole, AssumeRoleWithWebIdentity); checks
             SigV4 of signed calls with its own implementation against
             --key ID --secret SECRET; --xml answers XML even when JSON is
             asked for; --error CODE answers an ErrorResponse.
  echo       a hostile ListMapRuns endpoint: plants the secret it was sent
             (the X-Amz-Security-Token header, or --secret S) in the reply
             part the executionArn's last word names: requestid,
             errortype, type, message, reason, longmessage (the secret
             straddles the 1,024-byte cut), html500, garbage200; nothttp
             answers with another protocol's banner; retryafter throttles
             with x-amz-retry-after: 3000.
  sso        IAM Identity Center portal GetRoleCredentials (GET
             /federation/credentials); --access-token T is the bearer token it
             takes (else 401 UnauthorizedException); --status N answers N
             (403: ForbiddenException); --garbage answers 200 "not json".
  oidc       SSO OIDC CreateToken (POST /token, refresh_token grant);
             --refresh-token R and --client-secret S are required;
             --new-token T, --new-refresh R2 (else none), --expires-in N;
             --error CODE answers 400 with that error.
  signin     AWS Sign-In CreateOAuth2Token (POST /v1/token): verifies the
             DPoP proof (ES256 over the JWK in its header, with the
             `cryptography` package) and logs "dpop" = {ok, header, claims};
             --refresh-token R is required; --error TOKEN_EXPIRED etc.
             answers 400 AccessDeniedException with that error.
Common: --expiration ISO8601 for the credentials handed out, --akid/--sak/
--token for their values; --delay S stalls every answer S seconds (the
server is threaded: concurrent requests stall together); --short-first S
hands out credentials expiring S seconds from now on the first credentials
answer (later ones get --expiration). Binds 127.0.0.1 on an ephemeral port, writes the
port to PORT_FILE, and appends one JSON line per request to LOG_FILE.
Stop it by PID (SIGTERM).
"""
import calendar
import hashlib
import hmac
import json
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

KIND = sys.argv[1]
PORT_FILE = sys.argv[2]
LOG_FILE = sys.argv[3]
OPTS = {}
_args = sys.argv[4:]
_i = 0
while _i < len(_args):
    name = _args[_i].lstrip("-")
    if _i + 1 < len(_args) and not _args[_i + 1].startswith("--"):
        OPTS[name] = _args[_i + 1]
        _i += 2
    else:
        OPTS[name] = True
        _i += 1

EXPIRATION = OPTS.get("expiration", "2099-01-01T00:00:00Z")
AKID = OPTS.get("akid", "ASIAFAKEROLEKEY")
SAK = OPTS.get("sak", "fake-role-secret-SHOULD-NOT-LEAK")
TOKEN = OPTS.get("token", "fake-role-session-token")
IMDS_TOKEN = "imds-token-123"
ROLE = "test-role"
STATE = {"count": 0}
LOCK = threading.Lock()
LOG_LOCK = threading.Lock()


def log(entry):
    with LOG_LOCK, open(LOG_FILE, "a") as f:
        f.write(json.dumps(entry) + "\n")


def sigv4_check(method, path, headers, body, key, secret):
    """Returns None when the Authorization header is right, else why not."""
    auth = headers.get("authorization", "")
    if not auth.startswith("AWS4-HMAC-SHA256 "):
        return "no SigV4 Authorization header"
    fields = {}
    for part in auth[len("AWS4-HMAC-SHA256 "):].split(","):
        k, _, v = part.strip().partition("=")
        fields[k] = v
    cred = fields.get("Credential", "").split("/")
    if len(cred) != 5 or cred[4] != "aws4_request" or cred[3] != "sts":
        return "bad credential scope"
    if cred[0] != key:
        return "unknown access key"
    signed = fields.get("SignedHeaders", "").split(";")
    for required in ("host", "x-amz-date"):
        if required not in signed:
            return "%s not signed" % required
    amz_date = headers.get("x-amz-date", "")
    if amz_date[:8] != cred[1]:
        return "x-amz-date does not match the scope date"
    canon_headers = "".join(
        "%s:%s\n" % (h, " ".join(headers.get(h, "").split())) for h in signed)
    canon = "\n".join([
        method,
        urllib.parse.quote(path, safe="/-_.~"),
        "",
        canon_headers,
        ";".join(signed),
        hashlib.sha256(body).hexdigest(),
    ])
    scope = "/".join(cred[1:])
    to_sign = "\n".join([
        "AWS4-HMAC-SHA256", amz_date, scope,
        hashlib.sha256(canon.encode()).hexdigest()])
    k = ("AWS4" + secret).encode()
    for part in cred[1:]:
        k = hmac.new(k, part.encode(), hashlib.sha256).digest()
    want = hmac.new(k, to_sign.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(want, fields.get("Signature", "")):
        return "signature mismatch"
    return None


def _b64d(s):
    import base64
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def dpop_check(jwt):
    """Verifies a DPoP proof independently: {ok, why, header, claims}."""
    try:
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
        h64, p64, s64 = jwt.split(".")
        header = json.loads(_b64d(h64))
        claims = json.loads(_b64d(p64))
        jwk = header["jwk"]
        pub = ec.EllipticCurvePublicNumbers(
            int.from_bytes(_b64d(jwk["x"]), "big"), int.from_bytes(_b64d(jwk["y"]), "big"),
            ec.SECP256R1()).public_key()
        sig = _b64d(s64)
        if len(sig) != 64:
            return {"ok": False, "why": "signature is not 64 bytes"}
        der = encode_dss_signature(int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big"))
        try:
            pub.verify(der, (h64 + "." + p64).encode(), ec.ECDSA(hashes.SHA256()))
        except InvalidSignature:
            return {"ok": False, "why": "bad signature", "header": header, "claims": claims}
        return {"ok": True, "header": header, "claims": claims}
    except Exception as e:  # noqa: BLE001
        return {"ok": False, "why": repr(e)}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, body, ctype="application/json"):
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def headers_lower(self):
        return {k.lower(): v for k, v in self.headers.items()}

    def record(self, body=b""):
        with LOCK:
            STATE["count"] += 1
            n = STATE["count"]
        log({"n": n, "t": time.time(), "method": self.command, "path": self.path,
             "headers": self.headers_lower(),
             "body": body.decode("utf-8", "replace")})

    def creds(self):
        expiration = EXPIRATION
        with LOCK:
            STATE["creds"] = STATE.get("creds", 0) + 1
            first = STATE["creds"] == 1
        if first and "short-first" in OPTS:
            expiration = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(
                time.time() + float(OPTS["short-first"])))
        return {"Code": "Success", "Type": "AWS-HMAC", "AccessKeyId": AKID,
                "SecretAccessKey": SAK, "Token": TOKEN,
                "Expiration": expiration, "LastUpdated": "2020-01-01T00:00:00Z"}

    # ---- IMDS ----
    def imds(self, body):
        h = self.headers_lower()
        if self.command == "PUT" and self.path == "/latest/api/token":
            if "token-delay" in OPTS:
                time.sleep(float(OPTS["token-delay"]))
            if "v1-only" in OPTS:
                return self.reply(404, "not found", "text/plain")
            if "x-aws-ec2-metadata-token-ttl-seconds" not in h:
                return self.reply(400, "missing ttl", "text/plain")
            return self.reply(200, IMDS_TOKEN, "text/plain")
        if self.command != "GET":
            return self.reply(405, "", "text/plain")
        if "v1-only" not in OPTS and h.get("x-aws-ec2-metadata-token") != IMDS_TOKEN:
            return self.reply(401, "", "text/plain")
        base = "/latest/meta-data/iam/security-credentials/"
        if self.path == base:
            if "no-role" in OPTS:
                return self.reply(404, "", "text/plain")
            return self.reply(200, ROLE, "text/plain")
        if self.path == base + ROLE:
            return self.reply(200, json.dumps(self.creds()), "text/plain")
        return self.reply(404, "", "text/plain")

    # ---- container ----
    def echo(self, body):
        secret = OPTS.get("secret") or self.headers.get("X-Amz-Security-Token", "")
        where = json.loads(body or b"{}").get("executionArn", "").rsplit(":", 1)[-1]
        err = {"__type": "AccessDeniedException", "message": "no"}
        headers = {"x-amzn-RequestId": "req-1"}
        status, reason, ctype = 400, None, "application/x-amz-json-1.0"
        if where == "nothttp":  # not HTTP at all: another protocol's banner
            self.wfile.write(b"SSH-2.0-OpenSSH_9.2\r\n")
            self.close_connection = True
            return
        if where == "retryafter":  # throttled, with a retry-after of 3 s
            err = {"__type": "ThrottlingException", "message": "Rate exceeded"}
            headers["x-amz-retry-after"] = "3000"
        if where == "requestid":
            headers["x-amzn-RequestId"] = secret
        elif where == "errortype":
            headers["X-Amzn-Errortype"] = secret + ":http://internal.amazon.com/"
        elif where == "type":
            err["__type"] = "com.amazonaws#" + secret
        elif where == "message":
            err["message"] = "you sent " + secret + " which is wrong"
        elif where == "reason":
            status, reason = 503, "Busy " + secret[:70]
        elif where == "longmessage":
            err["message"] = "x" * 1000 + secret
        elif where == "html500":
            status, ctype = 500, "text/html"
        elif where == "garbage200":
            status = 200
        data = ("<html><body>%s</body></html>" % secret if where == "html500"
                else "not json " + secret if where == "garbage200" else json.dumps(err)).encode()
        self.send_response(status, reason)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        for k, v in headers.items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def container(self, body):
        h = self.headers_lower()
        if "fail" in OPTS and STATE["count"] <= int(OPTS["fail"]):
            return self.reply(500, '{"message":"try later"}')
        if "auth" in OPTS and h.get("authorization") != OPTS["auth"]:
            return self.reply(401, '{"message":"bad token"}')
        c = self.creds()
        del c["Code"], c["Type"], c["LastUpdated"]
        c["RoleArn"] = "arn:aws:iam::123456789012:role/test"
        return self.reply(200, json.dumps(c))

    # ---- STS ----
    def sts(self, body):
        h = self.headers_lower()
        form = dict(urllib.parse.parse_qsl(body.decode()))
        action = form.get("Action")
        if action == "AssumeRole":
            why = sigv4_check(self.command, urllib.parse.urlsplit(self.path).path,
                              h, body, OPTS.get("key", "AKIDSOURCE"),
                              OPTS.get("secret", "source-secret"))
            if why:
                return self.sts_error(403, "SignatureDoesNotMatch", why)
            if "RoleArn" not in form or "RoleSessionName" not in form:
                return self.sts_error(400, "ValidationError", "missing RoleArn")
        elif action == "AssumeRoleWithWebIdentity":
            if "authorization" in h:
                return self.sts_error(400, "InvalidAction", "web identity is unsigned")
            if not form.get("WebIdentityToken"):
                return self.sts_error(400, "InvalidIdentityToken", "no token")
            expected = OPTS.get("web-token")
            if expected and form["WebIdentityToken"] != expected:
                return self.sts_error(400, "InvalidIdentityToken", "wrong token")
        else:
            return self.sts_error(400, "InvalidAction", "unknown action")
        if "error" in OPTS:
            return self.sts_error(403, OPTS["error"], "denied by the fake")
        want_json = "json" in h.get("accept", "") and "xml" not in OPTS
        if want_json:
            ts = calendar.timegm(time.strptime(EXPIRATION, "%Y-%m-%dT%H:%M:%SZ"))
            doc = {action + "Response": {
                action + "Result": {
                    "Credentials": {"AccessKeyId": AKID, "SecretAccessKey": SAK,
                                    "SessionToken": TOKEN, "Expiration": ts},
                    "AssumedRoleUser": {"Arn": form.get("RoleArn", ""),
                                        "AssumedRoleId": "AROA:x"}},
                "ResponseMetadata": {"RequestId": "req-json-1"}}}
            return self.reply(200, json.dumps(doc))
        xml = (
            '<%sResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
            "<%sResult><AssumedRoleUser><Arn>%s</Arn><AssumedRoleId>AROA:x</AssumedRoleId>"
            "</AssumedRoleUser><Credentials><AccessKeyId>%s</AccessKeyId>"
            "<SecretAccessKey>%s</SecretAccessKey><SessionToken>%s</SessionToken>"
            "<Expiration>%s</Expiration></Credentials></%sResult>"
            "<ResponseMetadata><RequestId>req-xml-1</RequestId></ResponseMetadata>"
            "</%sResponse>" % (action, action, form.get("RoleArn", ""), AKID, SAK,
                               TOKEN, EXPIRATION, action, action))
        return self.reply(200, xml, "text/xml")

    # ---- SSO portal ----
    def sso(self, body):
        h = self.headers_lower()
        url = urllib.parse.urlsplit(self.path)
        if self.command != "GET" or url.path != "/federation/credentials":
            return self.reply(404, '{"message":"not found"}')
        if "garbage" in OPTS:
            return self.reply(200, "not json " + h.get("x-amz-sso_bearer_token", ""))
        status = int(OPTS.get("status", 0))
        if status == 403:
            return self.typed_error(403, "ForbiddenException", "No access")
        if status:
            return self.typed_error(status, "InternalServerException",
                                    "broken " + h.get("x-amz-sso_bearer_token", ""))
        if h.get("x-amz-sso_bearer_token") != OPTS.get("access-token", "sso-access-token-SHOULD-NOT-LEAK"):
            return self.typed_error(401, "UnauthorizedException",
                                    "Session token not found or invalid")
        q = dict(urllib.parse.parse_qsl(url.query))
        if not q.get("role_name") or not q.get("account_id"):
            return self.typed_error(400, "InvalidRequestException", "missing")
        ms = calendar.timegm(time.strptime(EXPIRATION, "%Y-%m-%dT%H:%M:%SZ")) * 1000 + 123
        return self.reply(200, json.dumps({"roleCredentials": {
            "accessKeyId": AKID, "secretAccessKey": SAK, "sessionToken": TOKEN,
            "expiration": ms}}))

    def typed_error(self, status, code, message, extra=None):
        doc = {"message": message}
        doc.update(extra or {})
        data = json.dumps(doc).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("x-amzn-ErrorType", code + ":http://internal.amazon.com/")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    # ---- SSO OIDC ----
    def oidc(self, body):
        if self.command != "POST" or self.path != "/token":
            return self.reply(404, '{"message":"not found"}')
        try:
            j = json.loads(body)
        except ValueError:
            return self.typed_error(400, "InvalidRequestException", "bad json")
        if "error" in OPTS:
            return self.typed_error(400, OPTS["error"], "refused",
                                    {"error": "invalid_grant", "error_description": "refused"})
        if (j.get("grantType") != "refresh_token"
                or j.get("refreshToken") != OPTS.get("refresh-token")
                or j.get("clientSecret") != OPTS.get("client-secret")):
            return self.typed_error(400, "InvalidGrantException", "bad grant",
                                    {"error": "invalid_grant"})
        out = {"accessToken": OPTS.get("new-token", "sso-new-access-token-SHOULD-NOT-LEAK"),
               "tokenType": "Bearer", "expiresIn": int(OPTS.get("expires-in", 3600))}
        if "new-refresh" in OPTS:
            out["refreshToken"] = OPTS["new-refresh"]
        return self.reply(200, json.dumps(out))

    # ---- Sign-In ----
    def signin(self, body):
        if self.command != "POST" or self.path != "/v1/token":
            return self.reply(404, '{"message":"not found"}')
        j = json.loads(body or b"{}")
        if "error" in OPTS:
            return self.typed_error(400, "AccessDeniedException", "denied",
                                    {"error": OPTS["error"]})
        if j.get("grantType") != "refresh_token" or j.get("refreshToken") != OPTS.get("refresh-token"):
            return self.typed_error(400, "ValidationException", "bad grant")
        return self.reply(200, json.dumps({
            "accessToken": {"accessKeyId": AKID, "secretAccessKey": SAK, "sessionToken": TOKEN},
            "tokenType": "aws_sigv4", "expiresIn": int(OPTS.get("expires-in", 900)),
            "refreshToken": OPTS.get("new-refresh", "login-new-refresh-SHOULD-NOT-LEAK")}))

    def sts_error(self, status, code, message):
        xml = ('<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
               "<Error><Type>Sender</Type><Code>%s</Code><Message>%s</Message></Error>"
               "<RequestId>req-err-1</RequestId></ErrorResponse>" % (code, message))
        if "json" in self.headers_lower().get("accept", "") and "xml" not in OPTS:
            return self.reply(status, json.dumps(
                {"Error": {"Type": "Sender", "Code": code, "Message": message},
                 "RequestId": "req-err-1"}))
        return self.reply(status, xml, "text/xml")

    def handle_any(self):
        body = self.read_body()
        self.record(body)
        if KIND == "signin":
            log({"dpop": dpop_check(self.headers.get("DPoP", ""))})
        if "delay" in OPTS:
            time.sleep(float(OPTS["delay"]))
        getattr(self, KIND)(body)

    do_GET = do_PUT = do_POST = handle_any


def main():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    with open(PORT_FILE + ".tmp", "w") as f:
        f.write(str(server.server_address[1]))
    import os
    os.rename(PORT_FILE + ".tmp", PORT_FILE)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
