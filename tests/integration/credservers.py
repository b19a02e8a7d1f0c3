"""Fake credential sources on 127.0.0.1 for the credentials-chain tests (AWS_CLIENT_SPEC_NOTES.md §2-4).

Each server is a context manager on a free port, counts what it was asked, and hands out fresh random
credentials that are registered in secrets_registry (so test_zz_no_secrets.py also proves they never leak):

    with FakeIMDS(expiration=iso(NOW + 3600)) as imds:      # IMDSv2, token required
        env["AWS_EC2_METADATA_SERVICE_ENDPOINT"] = imds.url
    with FakeContainer(auth="Bearer x") as ecs:              # ECS / EKS Pod Identity agent
        env["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = ecs.url + ecs.path
    with FakeSTS(role_arn=ROLE, token="jwt") as sts:        # STS AssumeRoleWithWebIdentity (Query XML)
        env["AWS_ENDPOINT_URL_STS"] = sts.url

Every server records the requests it got (method, path, headers, form) in .requests and refuses a wrong one
with the status a real service would use, so a test sees the failure in the binary's output.
"""

import datetime
import json
import secrets
import string
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import secrets_registry

IMDS_TOKEN_TTL_HEADER = "x-aws-ec2-metadata-token-ttl-seconds"
IMDS_TOKEN_HEADER = "x-aws-ec2-metadata-token"
IMDS_ROLE_PATH = "/latest/meta-data/iam/security-credentials/"


def iso(unix_s):
    """Unix seconds -> '2026-01-01T01:00:00Z', the form IMDS, ECS and STS use."""
    return datetime.datetime.fromtimestamp(unix_s, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def make_creds(prefix="ASIA"):
    """A fresh set: key id (20 upper-case chars), secret (40), session token (300); secrets registered."""
    upper = string.ascii_uppercase + string.digits
    key = prefix + "".join(secrets.choice(upper) for _ in range(16))
    secret = secrets.token_urlsafe(30)[:40]
    token = "IQoJb3JpZ2lu" + secrets.token_urlsafe(220)
    secrets_registry.register(secret, token)
    return {"AccessKeyId": key, "SecretAccessKey": secret, "Token": token}


class Request:
    def __init__(self, method, path, headers, body):
        self.method = method
        self.path = path
        self.headers = {k.lower(): v for k, v in headers.items()}
        self.body = body
        self.form = {}
        if body and "x-www-form-urlencoded" in self.headers.get("content-type", ""):
            self.form = {k: v[0] for k, v in urllib.parse.parse_qs(body.decode(), keep_blank_values=True).items()}


class _Server:
    """A ThreadingHTTPServer on 127.0.0.1:0 whose handler calls self.handle(request) -> (status, headers, body)."""

    def __init__(self):
        self.requests = []
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else b""
                req = Request(self.command, self.path, dict(self.headers), body)
                with outer.lock:
                    outer.requests.append(req)
                    status, headers, payload = outer.handle(req)
                if isinstance(payload, str):
                    payload = payload.encode()
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_PUT = do_POST = _serve

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()
        self._thread.join(timeout=5)

    def count(self, method=None, path=None):
        return sum(1 for r in self.requests if (method in (None, r.method)) and (path in (None, r.path)))

    def handle(self, req):  # pragma: no cover - overridden
        raise NotImplementedError


class FakeIMDS(_Server):
    """EC2 instance metadata, notes §3.

    mode: "v2"       a token is required (GET without one -> 401), as on an instance with IMDSv1 disabled
          "optional" GETs with or without a token are answered, as on a default instance
          "v1"       the token PUT is answered 403 (an old IMDS, or a proxy that blocks PUT) -> the client must
                     fall back to plain GETs
    expiration: the Expiration of the credentials (ISO string), or a callable(n) giving it for the n-th document
                (0-based); every credentials GET hands out a new set.
    expire_tokens_after: after this many credential documents, every token issued so far is invalid (401).
    issue: a callable giving the credential set of each document (default: fresh random ones; a cycle test hands
           out real credentials of the emulator instead).
    role: the role name, or None for an instance without a role (404 on the listing).
    region: what /latest/meta-data/placement/region answers.
    fail_credentials_after: after this many credential documents answer 500.
    """

    def __init__(self, mode="v2", expiration="2026-01-01T01:00:00Z", role="smartvault-role", region="eu-west-1",
                 expire_tokens_after=None, fail_credentials_after=None, issue=make_creds):
        super().__init__()
        self.issue = issue
        self.mode = mode
        self.expiration = expiration
        self.role = role
        self.region = region
        self.expire_tokens_after = expire_tokens_after
        self.fail_credentials_after = fail_credentials_after
        self.valid_tokens = set()
        self.issued = []  # every credential set handed out
        self.token_puts = 0

    @property
    def credential_gets(self):
        return len(self.issued)

    def handle(self, req):
        if req.method == "PUT" and req.path == "/latest/api/token":
            self.token_puts += 1
            if self.mode == "v1":
                return 403, {}, ""
            if not req.headers.get(IMDS_TOKEN_TTL_HEADER, "").isdigit():
                return 400, {}, "missing ttl"
            token = "imds-token-" + secrets.token_hex(16)
            secrets_registry.register(token)
            self.valid_tokens.add(token)
            return 200, {IMDS_TOKEN_TTL_HEADER: req.headers[IMDS_TOKEN_TTL_HEADER]}, token
        if req.method != "GET":
            return 405, {}, ""
        token = req.headers.get(IMDS_TOKEN_HEADER)
        if token is not None and token not in self.valid_tokens:
            return 401, {}, ""
        if token is None and self.mode == "v2":
            return 401, {}, ""
        if req.path == "/latest/meta-data/placement/region":
            return 200, {}, self.region
        if req.path == IMDS_ROLE_PATH:
            return (200, {}, self.role + "\n") if self.role else (404, {}, "")
        if self.role and req.path == IMDS_ROLE_PATH + self.role:
            if self.fail_credentials_after is not None and len(self.issued) >= self.fail_credentials_after:
                return 500, {}, ""
            creds = self.issue()
            self.issued.append(creds)
            if self.expire_tokens_after is not None and len(self.issued) >= self.expire_tokens_after:
                self.valid_tokens.clear()
            exp = self.expiration(len(self.issued) - 1) if callable(self.expiration) else self.expiration
            doc = {"Code": "Success", "LastUpdated": "2025-12-31T23:00:00Z", "Type": "AWS-HMAC", **creds,
                   "Expiration": exp}
            return 200, {"Content-Type": "text/plain"}, json.dumps(doc)
        return 404, {}, ""


class FakeContainer(_Server):
    """The ECS agent / EKS Pod Identity agent, notes §2.

    auth: the Authorization value required (None: none required), or a callable returning it (to follow a
          token file that the test rotates).
    on_served: called with the request after each credentials answer (e.g. to rotate the token file).
    fail_status: if set, every answer from the (fail_after+1)-th on is this status with an error document.
    issue: a callable giving the credential set of each answer (default: fresh random ones).
    """

    path = "/v1/credentials"

    def __init__(self, auth=None, expiration="2026-01-01T01:00:00Z", fail_status=None, fail_after=0,
                 on_served=None, issue=make_creds):
        super().__init__()
        self.issue = issue
        self.auth = auth
        self.expiration = expiration
        self.fail_status = fail_status
        self.fail_after = fail_after
        self.on_served = on_served
        self.issued = []
        self.seen_auth = []

    def handle(self, req):
        if req.method != "GET" or req.path != self.path:
            return 404, {}, ""
        want = self.auth() if callable(self.auth) else self.auth
        got = req.headers.get("authorization")
        self.seen_auth.append(got)
        if want is not None and got != want:
            return 401, {"Content-Type": "application/json"}, json.dumps({"code": "InvalidToken", "message": "no"})
        if self.fail_status is not None and len(self.issued) >= self.fail_after:
            self.issued.append(None)
            return self.fail_status, {"Content-Type": "application/json"}, json.dumps(
                {"code": "Unavailable", "message": "agent is down"})
        creds = self.issue()
        self.issued.append(creds)
        doc = {**creds, "Expiration": self.expiration, "AccountId": "123456789012",
               "RoleArn": "arn:aws:iam::123456789012:role/smartvault"}
        if self.on_served:
            self.on_served(req)
        return 200, {"Content-Type": "application/json"}, json.dumps(doc)

    @property
    def answered(self):
        return sum(1 for c in self.issued if c is not None)


STS_NS = "https://sts.amazonaws.com/doc/2011-06-15/"


class FakeSTS(_Server):
    """STS AssumeRoleWithWebIdentity over the Query protocol, notes §4.

    role_arn: the RoleArn required. token: the WebIdentityToken required, or a callable returning it.
    session_name: the RoleSessionName required (None: any valid one).
    errors: a list of (status, code) answered to the first requests in turn, e.g.
            [(400, "IDPCommunicationError")] -> the first call fails, the next succeeds.
    fail_always: (status, code) answered to every request after the first success (refresh failures).
    on_served: called after each success (e.g. to rotate the token file).
    """

    def __init__(self, role_arn, token, session_name=None, expiration="2026-01-01T01:00:00Z", errors=None,
                 fail_always=None, on_served=None):
        super().__init__()
        self.role_arn = role_arn
        self.token = token
        self.session_name = session_name
        self.expiration = expiration
        self.errors = list(errors or [])
        self.fail_always = fail_always
        self.on_served = on_served
        self.issued = []

    @staticmethod
    def _error(status, code, message="fake"):
        body = (f'<ErrorResponse xmlns="{STS_NS}"><Error><Type>Sender</Type><Code>{code}</Code>'
                f"<Message>{message}</Message></Error><RequestId>req-1</RequestId></ErrorResponse>")
        return status, {"Content-Type": "text/xml"}, body

    def handle(self, req):
        if req.method != "POST" or req.path != "/":
            return 404, {}, ""
        if "authorization" in req.headers:
            return self._error(400, "InvalidRequest", "AssumeRoleWithWebIdentity is unsigned")
        f = req.form
        if f.get("Action") != "AssumeRoleWithWebIdentity" or f.get("Version") != "2011-06-15":
            return self._error(400, "InvalidAction")
        if f.get("RoleArn") != self.role_arn:
            return self._error(403, "AccessDenied", "wrong role")
        name = f.get("RoleSessionName", "")
        if not (2 <= len(name) <= 64) or (self.session_name is not None and name != self.session_name):
            return self._error(400, "ValidationError", "bad session name")
        want = self.token() if callable(self.token) else self.token
        if f.get("WebIdentityToken") != want:
            return self._error(400, "InvalidIdentityToken", "token mismatch")
        if self.errors:
            return self._error(*self.errors.pop(0))
        if self.fail_always is not None and self.issued:
            return self._error(*self.fail_always)
        creds = make_creds()
        self.issued.append(creds)
        body = (f'<AssumeRoleWithWebIdentityResponse xmlns="{STS_NS}"><AssumeRoleWithWebIdentityResult>'
                f"<SubjectFromWebIdentityToken>system:serviceaccount:backup:smartvault</SubjectFromWebIdentityToken>"
                f"<AssumedRoleUser><Arn>arn:aws:sts::123456789012:assumed-role/smartvault/{name}</Arn>"
                f"<AssumedRoleId>AROAEXAMPLE:{name}</AssumedRoleId></AssumedRoleUser>"
                f"<Credentials><AccessKeyId>{creds['AccessKeyId']}</AccessKeyId>"
                f"<SecretAccessKey>{creds['SecretAccessKey']}</SecretAccessKey>"
                f"<SessionToken>{creds['Token']}</SessionToken><Expiration>{self.expiration}</Expiration>"
                f"</Credentials><Provider>oidc.eks.us-east-1.amazonaws.com</Provider>"
                f"<Audience>sts.amazonaws.com</Audience></AssumeRoleWithWebIdentityResult>"
                f"<ResponseMetadata><RequestId>req-2</RequestId></ResponseMetadata>"
                f"</AssumeRoleWithWebIdentityResponse>")
        if self.on_served:
            self.on_served(req)
        return 200, {"Content-Type": "text/xml"}, body
