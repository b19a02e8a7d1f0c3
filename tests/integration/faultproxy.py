"""faultproxy - a small fault-injecting HTTP/1.1 reverse proxy for the integration tests (stdlib only).

It listens on 127.0.0.1:<free port> and forwards every request to an upstream base URL (the moto server),
keeping connections alive on both sides (one upstream connection per client connection). Rules, checked in
order, can replace or alter the answer to chosen requests:

    with FaultProxy(moto.url) as proxy:
        proxy.add(Rule("throttle", shape="ec2", op="DescribeSnapshots", count=2))
        proxy.add(Rule("reset", op="CreateSnapshots", count=1))
        proxy.add(Rule("error", status=400, shape="ec2", code="InvalidSnapshot.InUse",
                       op="DeleteSnapshot", body="SnapshotId=snap-0123"))
        proxy.add(Rule("rewrite", op="DescribeSnapshots", fn=mark_snapshots_pending({"snap-0123"})))
        ... run the binary with AWS_ENDPOINT_URL=proxy.url ...
        assert proxy.count("DescribeSnapshots") == 3

Matching (all given conditions must hold): method, path (substring of the path), query (substring of the query
string), body (substring of the request body), target (substring of X-Amz-Target), op (the operation name, see
below), or where=callable(ProxyRequest) -> bool. Then `after` matching requests are let through untouched, and of
the rest the rule fires `count` times (None = always) or with `probability` (a random.Random(seed) per rule).

Actions:
    forward          pass through (with `delay` this makes a slow response)
    throttle         a throttling error in the protocol's shape: shape="query" (400 <ErrorResponse> Throttling),
                     "ec2" (503 <Response><Errors> RequestLimitExceeded), "s3" (503 <Error> SlowDown),
                     "json" (400 {"__type": "...#ProvisionedThroughputExceededException"}); code= overrides
    error            status= (default 500), and either content= (bytes/str, the response body as is), or shape= and
                     code= (and message=) for an AWS error document; headers= adds headers
    reset            close the connection with a TCP RST before any byte of the response
    reset_after_headers   send the status line and headers (with the upstream's Content-Length), then RST
    truncate         forward, but send only `keep` bytes (default half) of the body under the full
                     Content-Length, then close
    stall            forward, but send the headers, then wait `seconds` before the body
    skew_date        forward with the Date header moved by `offset` seconds (negative = server behind)
    rewrite          forward, then fn(ProxyRequest, status, headers(list of pairs), body bytes) may return a
                     new (status, headers, body) tuple, or None to keep the answer
    callable         any function(ProxyRequest) -> Response or None (None = forward)
Every rule may also have delay=seconds, applied before its action.

FaultProxy(upstream, latency=seconds) adds a fixed latency to every request (benchmarks); date_offset=seconds moves
the Date header of every answer (a server clock that far from the client's: negative = the server is behind). upstream=None makes
the proxy an origin that answers 200 with an empty body to whatever no rule answers (used by the TLS tests).
ssl_context= serves HTTPS (the handshake runs in the connection's thread); `connections` and
`tls_handshakes` count what the clients opened.

Operations: Query protocols -> the Action= parameter (from the body or the query string); JSON protocols -> the
X-Amz-Target header's operation ("DynamoDB_20120810.PutItem" -> "PutItem"); anything else (S3) -> "METHOD /path".
proxy.count(op), proxy.counts() and proxy.log (one dict per request: method, path, query, op, target, action,
status, rule, t) show what arrived.
"""

import email.utils
import http.client
import http.server
import random
import re
import socket
import socketserver
import struct
import threading
import time
import urllib.parse

__all__ = [
    "FaultProxy",
    "ProxyRequest",
    "Response",
    "Rule",
    "aws_error_body",
    "mark_snapshots_pending",
    "operation_of",
]

_HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
}

_THROTTLE = {
    "query": (400, "Throttling", "Rate exceeded"),
    "ec2": (503, "RequestLimitExceeded", "Request limit exceeded."),
    "s3": (503, "SlowDown", "Please reduce your request rate."),
    "json": (400, "ProvisionedThroughputExceededException", "The level of configured provisioned throughput "
                                                           "for the table was exceeded."),
}

_REASONS = http.server.BaseHTTPRequestHandler.responses


def _xml_escape(s):
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def aws_error_body(shape, code, message="injected by faultproxy", request_id="faultproxy-0000"):
    """(body bytes, content type) of an AWS error document in one of the four protocol shapes."""
    code_x, msg_x = _xml_escape(code), _xml_escape(message)
    if shape == "query":
        body = (f'<ErrorResponse xmlns="http://webservices.amazon.com/AWSFault/2005-15-09"><Error><Type>Sender</Type>'
                f"<Code>{code_x}</Code><Message>{msg_x}</Message></Error><RequestId>{request_id}</RequestId>"
                f"</ErrorResponse>")
        return body.encode(), "text/xml"
    if shape == "ec2":
        body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>{code_x}</Code>'
                f"<Message>{msg_x}</Message></Error></Errors><RequestID>{request_id}</RequestID></Response>")
        return body.encode(), "text/xml;charset=UTF-8"
    if shape == "s3":
        body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code_x}</Code><Message>{msg_x}</Message>'
                f"<RequestId>{request_id}</RequestId><HostId>faultproxy</HostId></Error>")
        return body.encode(), "application/xml"
    if shape == "json":
        import json

        body = json.dumps({"__type": f"com.amazonaws.dynamodb.v20120810#{code}", "message": message})
        return body.encode(), "application/x-amz-json-1.0"
    raise ValueError(f"unknown error shape {shape!r} (query, ec2, s3, json)")


def operation_of(method, path, query, headers, body):
    """The operation name of a request: Query Action=, the X-Amz-Target operation, or 'METHOD /path'."""
    target = headers.get("X-Amz-Target")
    if target:
        return target.rsplit(".", 1)[-1]
    for source in (query, body.decode("latin-1") if body else ""):
        if "Action=" in source:
            values = urllib.parse.parse_qs(source).get("Action")
            if values:
                return values[0]
    return f"{method} {path}"


class ProxyRequest:
    """What a rule sees: method, path, query, headers (an email.message.Message), body (bytes), op, target."""

    def __init__(self, method, path, query, headers, body):
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
        self.target = headers.get("X-Amz-Target", "") or ""
        self.op = operation_of(method, path, query, headers, body)

    def text(self):
        return self.body.decode("utf-8", "replace")


class Response:
    """A complete answer made by the proxy itself."""

    def __init__(self, status=200, body=b"", headers=None, content_type=None):
        self.status = status
        self.body = body.encode() if isinstance(body, str) else body
        self.headers = list(headers or [])
        if content_type and not any(k.lower() == "content-type" for k, _ in self.headers):
            self.headers.append(("Content-Type", content_type))


class Rule:
    ACTIONS = {"forward", "throttle", "error", "reset", "reset_after_headers", "truncate", "stall", "skew_date",
               "rewrite"}

    def __init__(self, action, *, method=None, path=None, query=None, body=None, target=None, op=None, where=None,
                 count=None, probability=None, seed=0, after=0, delay=0.0, **params):
        if not callable(action) and action not in self.ACTIONS:
            raise ValueError(f"unknown action {action!r}")
        self.action = action
        self.method, self.path, self.query, self.body = method, path, query, body
        self.target, self.op, self.where = target, op, where
        self.count, self.probability, self.after, self.delay = count, probability, after, delay
        self.params = params
        self._random = random.Random(seed)
        self.matched = 0  # requests that met the conditions
        self.fired = 0  # times the action ran

    def _matches(self, req):
        if self.method is not None and req.method != self.method:
            return False
        if self.path is not None and self.path not in req.path:
            return False
        if self.query is not None and self.query not in req.query:
            return False
        if self.body is not None:
            needle = self.body.encode() if isinstance(self.body, str) else self.body
            if needle not in req.body:
                return False
        if self.target is not None and self.target not in req.target:
            return False
        if self.op is not None and req.op != self.op:
            return False
        if self.where is not None and not self.where(req):
            return False
        return True

    def take(self, req):
        """True if the rule fires for this request (called under the proxy's lock)."""
        if not self._matches(req):
            return False
        self.matched += 1
        if self.matched <= self.after:
            return False
        if self.count is not None and self.fired >= self.count:
            return False
        if self.probability is not None and self._random.random() >= self.probability:
            return False
        self.fired += 1
        return True


class _Reset(Exception):
    """The connection was closed on purpose."""


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "faultproxy"
    timeout = 120  # an idle client connection is dropped after this

    def setup(self):
        proxy = self.server.proxy
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with proxy._lock:
            proxy.connections += 1
        if proxy.ssl_context is not None:
            # The handshake runs here, in the connection's own thread; a failed one just drops the connection.
            self.request.settimeout(10)
            self.request = proxy.ssl_context.wrap_socket(self.request, server_side=True)
            with proxy._lock:
                proxy.tls_handshakes += 1
        self._raw = self.request  # the TLS socket when serving HTTPS (wrap_socket detaches the plain one)
        self._upstream = None
        with proxy._lock:
            proxy._sockets.add(self._raw)
        super().setup()

    def finish(self):
        try:
            super().finish()
        except (OSError, ValueError):
            pass
        if self._upstream is not None:
            self._upstream.close()
        with self.server.proxy._lock:
            self.server.proxy._sockets.discard(self._raw)
        try:
            self._raw.close()
        except OSError:
            pass

    def log_message(self, fmt, *args):
        pass

    # BaseHTTPRequestHandler dispatches on do_<METHOD>.
    def do_GET(self):
        self._serve()

    do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = do_OPTIONS = do_GET

    def _read_body(self):
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def _serve(self):
        proxy = self.server.proxy
        split = urllib.parse.urlsplit(self.path)
        body = self._read_body()
        req = ProxyRequest(self.command, split.path, split.query, self.headers, body)
        rule = None
        with proxy._lock:
            proxy._counts[req.op] = proxy._counts.get(req.op, 0) + 1
            for i, r in enumerate(proxy.rules):
                if r.take(req):
                    rule = (i, r)
                    break
        entry = {"method": req.method, "path": req.path, "query": req.query, "op": req.op, "target": req.target,
                 "action": "forward", "rule": None, "status": None, "t": time.monotonic()}
        with proxy._lock:
            proxy.log.append(entry)
        if proxy.latency:
            proxy._stopping.wait(proxy.latency)
        action, params = "forward", {}
        if rule is not None:
            entry["rule"] = rule[0]
            action, params = rule[1].action, rule[1].params
            entry["action"] = action if isinstance(action, str) else getattr(action, "__name__", "callable")
            if rule[1].delay:
                proxy._stopping.wait(rule[1].delay)
        try:
            self._act(req, action, params, entry)
        except _Reset:
            self.close_connection = True

    def _act(self, req, action, params, entry):
        if callable(action):
            made = action(req)
            if made is not None:
                return self._send(entry, made.status, made.headers, made.body)
            action = "forward"
        if action == "reset":
            entry["status"] = "reset"
            self._rst()
        if action == "throttle":
            shape = params.get("shape", "query")
            status, code, message = _THROTTLE[shape]
            body, ctype = aws_error_body(shape, params.get("code", code), params.get("message", message))
            return self._send(entry, params.get("status", status), [("Content-Type", ctype)], body)
        if action == "error":
            status = params.get("status", 500)
            headers = list(params.get("headers", []))
            if "shape" in params:
                body, ctype = aws_error_body(params["shape"], params.get("code", "InternalError"),
                                             params.get("message", "injected by faultproxy"))
                headers.append(("Content-Type", ctype))
            else:
                body = params.get("content", b"")
                body = body.encode() if isinstance(body, str) else body
            return self._send(entry, status, headers, body)
        status, headers, body = self._forward(req)
        if action == "rewrite":
            changed = params["fn"](req, status, headers, body)
            if changed is not None:
                status, headers, body = changed
        elif action == "skew_date":
            when = time.time() + params.get("offset", 3600)
            headers = [(k, v) for k, v in headers if k.lower() != "date"]
            headers.append(("Date", email.utils.formatdate(when, usegmt=True)))
        if action == "reset_after_headers":
            self._write_head(status, headers, len(body))
            entry["status"] = status
            self._rst()
        if action == "truncate":
            keep = params.get("keep", len(body) // 2)
            self._write_head(status, headers, len(body))
            self.wfile.write(body[:keep])
            entry["status"] = status
            self.close_connection = True
            return None
        if action == "stall":
            self._write_head(status, headers, len(body))
            self.server.proxy._stopping.wait(params.get("seconds", 30))
            self.wfile.write(body)
            entry["status"] = status
            return None
        return self._send(entry, status, headers, body)

    def _forward(self, req):
        """The upstream's answer (status, header pairs, body), or a 502 when there is no upstream answer."""
        proxy = self.server.proxy
        if proxy.upstream is None:
            return 200, [("Content-Type", "text/plain")], b""
        headers = [(k, v) for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP]
        path = proxy._base_path + req.path + (("?" + req.query) if req.query else "")
        for attempt in (1, 2):  # a kept-alive upstream connection may have been closed by the upstream
            if self._upstream is None:
                self._upstream = http.client.HTTPConnection(proxy._up_host, proxy._up_port, timeout=120)
            try:
                self._upstream.putrequest(req.method, path, skip_host=True, skip_accept_encoding=True)
                for k, v in headers:
                    self._upstream.putheader(k, v)
                if req.body or req.method in ("POST", "PUT", "PATCH"):
                    if not any(k.lower() == "content-length" for k, _ in headers):
                        self._upstream.putheader("Content-Length", str(len(req.body)))
                self._upstream.endheaders(req.body or None)
                resp = self._upstream.getresponse()
                body = resp.read()
                out = [(k, v) for k, v in resp.getheaders() if k.lower() not in _HOP_BY_HOP]
                if resp.will_close:
                    self._upstream.close()
                    self._upstream = None
                return resp.status, out, body
            except (http.client.HTTPException, OSError):
                if self._upstream is not None:
                    self._upstream.close()
                self._upstream = None
                if attempt == 2:
                    return 502, [("Content-Type", "text/plain")], b"faultproxy: upstream failed\n"
        raise AssertionError("unreachable")

    def _write_head(self, status, headers, length):
        lines = [f"HTTP/1.1 {status} {_REASONS.get(status, ('Unknown',))[0]}\r\n"]
        seen = set()
        if self.server.proxy.date_offset:
            when = time.time() + self.server.proxy.date_offset
            headers = [(k, v) for k, v in headers if k.lower() != "date"]
            headers.append(("Date", email.utils.formatdate(when, usegmt=True)))
        for k, v in headers:
            if k.lower() == "content-length":
                continue
            seen.add(k.lower())
            lines.append(f"{k}: {v}\r\n")
        if "date" not in seen:
            lines.append(f"Date: {email.utils.formatdate(usegmt=True)}\r\n")
        if "x-amzn-requestid" not in seen and "x-amz-request-id" not in seen:
            lines.append("x-amzn-RequestId: faultproxy-0000\r\n")
        lines.append(f"Content-Length: {length}\r\n")
        if self.close_connection:
            lines.append("Connection: close\r\n")
        lines.append("\r\n")
        self.wfile.write("".join(lines).encode("latin-1"))

    def _send(self, entry, status, headers, body):
        entry["status"] = status
        head_only = self.command == "HEAD"
        length = len(body)
        if head_only:
            for k, v in headers:  # HEAD: keep the upstream's length, send no body
                if k.lower() == "content-length":
                    length = int(v)
        self._write_head(status, headers, length)
        if not head_only and body:
            self.wfile.write(body)
        return None

    def _rst(self):
        """Abort the connection: SO_LINGER 0 makes close() send a TCP RST."""
        try:
            self._raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self._raw.close()
        except OSError:
            pass
        raise _Reset()

    def handle_one_request(self):
        try:
            super().handle_one_request()
        except (OSError, ValueError):  # the client went away, or we reset the connection
            self.close_connection = True


class _Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    # socketserver's default backlog of 5 drops SYNs when many clients connect at once (the kernel then
    # retransmits after 1 s, which looks like a stalled client).
    request_queue_size = 128

    def handle_error(self, request, client_address):
        pass  # a client that went away is not an error of the proxy


class FaultProxy:
    def __init__(self, upstream, *, latency=0.0, ssl_context=None, host="127.0.0.1", port=0, date_offset=0):
        self.upstream = upstream
        self.latency = latency
        self.date_offset = date_offset
        self.ssl_context = ssl_context
        self.rules = []
        self.log = []
        self.connections = 0
        self.tls_handshakes = 0
        self._counts = {}
        self._lock = threading.Lock()
        self._sockets = set()
        self._stopping = threading.Event()
        if upstream is not None:
            u = urllib.parse.urlsplit(upstream)
            if u.scheme != "http":
                raise ValueError("faultproxy forwards to http:// upstreams only")
            self._up_host, self._up_port = u.hostname, u.port or 80
            self._base_path = u.path.rstrip("/")
        self._server = _Server((host, port), _Handler)
        self._server.proxy = self
        self.port = self._server.server_address[1]
        scheme = "https" if ssl_context is not None else "http"
        # BearSSL verifies DNS names only: an HTTPS proxy is addressed as localhost.
        self.url = f"{scheme}://{'localhost' if ssl_context is not None else host}:{self.port}"
        self._thread = None

    def start(self):
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"faultproxy:{self.port}", daemon=True)
        self._thread.start()
        return self

    def stop(self):
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        with self._lock:
            sockets = list(self._sockets)
        for s in sockets:  # unblock handler threads waiting on kept-alive connections
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def add(self, rule):
        with self._lock:
            self.rules.append(rule)
        return rule

    def clear(self):
        """Forget rules, counts and the log (between phases of one test)."""
        with self._lock:
            self.rules.clear()
            self.log.clear()
            self._counts.clear()

    def count(self, op=None):
        with self._lock:
            if op is None:
                return sum(self._counts.values())
            return self._counts.get(op, 0)

    def counts(self):
        with self._lock:
            return dict(self._counts)

    def injected(self):
        """How many requests each non-forward action answered."""
        out = {}
        with self._lock:
            for e in self.log:
                if e["action"] != "forward":
                    out[e["action"]] = out.get(e["action"], 0) + 1
        return out


def mark_snapshots_pending(snapshot_ids, progress="42%"):
    """A rewrite fn for DescribeSnapshots: the given snapshots are reported `pending` (moto creates them completed).

    Each snapshot's part of the document runs from its <snapshotId> to the next one; its first <status> and
    <progress> are replaced.
    """
    wanted = set(snapshot_ids)
    part_re = re.compile(rb"<snapshotId>(snap-[0-9a-zA-Z]+)</snapshotId>(.*?)(?=<snapshotId>|\Z)", re.S)

    def rewrite(req, status, headers, body):
        if status != 200:
            return None

        def fix(m):
            if m.group(1).decode() not in wanted:
                return m.group(0)
            rest = re.sub(rb"<status>[^<]*</status>", b"<status>pending</status>", m.group(2), count=1)
            rest = re.sub(rb"<progress>[^<]*</progress>", b"<progress>" + progress.encode() + b"</progress>", rest,
                          count=1)
            return b"<snapshotId>" + m.group(1) + b"</snapshotId>" + rest

        return status, headers, part_re.sub(fix, body)

    return rewrite
