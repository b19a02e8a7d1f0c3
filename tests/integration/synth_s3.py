"""synth_s3 - a synthetic S3 for scale: buckets of millions of objects generated from a seed, never stored.

A stand-in for the emulator where it cannot go (moto holds every object in memory and answers a 1,000-key page in
tens of milliseconds): loopback only, path-style requests, no authentication check. It answers, as S3 does:

  ListObjectsV2   list-type=2 with max-keys, prefix, delimiter, start-after, continuation-token, encoding-type=url
                  (keys and prefixes in UTF-8 binary order, common prefixes counted with keys against max-keys)
  ListMultipartUploads   always empty (nothing here ever starts an upload)
  HeadObject      Content-Length, ETag, Last-Modified, x-amz-meta-mtime when the object has one
  CopyObject      x-amz-copy-source; the copy is recorded (key, size, ETag, LastModified = now) and counted
  HEAD/GET bucket 200 (tools probe buckets)

The data (`Synth`): `objects` source keys over `routes` (sorted), each route split into `folders` sub-folders,
key i of a route being "<route>d<folder:03>/obj-<i:08>.bin" so that key order is index order and a key is computed
from its index (the bucket is a virtual sorted sequence: listing from any position is a bisection). Size, ETag and
LastModified come from a hash of (seed, index). A share `changed` of the objects, chosen by hash, has a second
version in the source (later LastModified; every other one a new size). The destination bucket of each route holds
every key of its route under `dest_prefix` as a copy of the first version, made a day later (same ETag and size,
x-amz-meta-mtime = the source's time, as rclone leaves it), plus `extra` keys of its own interleaved with them.
Copies made during a run are kept in an overlay, so a second run sees them.

Checked against moto on small buckets (tests/integration/test_s3_synth.py): both answer the same listings.
"""

import base64
import bisect
import re
import datetime
import threading
import time
import urllib.parse
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

BASE_TIME = 1767225600  # 2026-01-01T00:00:00Z
DAY = 86400


def _mix(seed, g, salt=0):
    """A 64-bit hash of (seed, g, salt): Python's tuple hash of ints, which is not randomized per process (only
    str and bytes hashes are), so the data is the same in every run; fast enough for 2,000 pages a run."""
    return hash((seed, g, salt, 0x5EED)) & 0xFFFFFFFFFFFFFFFF


def _upper(prefix):
    """The smallest string above every string that starts with `prefix`."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


def iso(t):
    if BASE_TIME <= t < BASE_TIME + 28 * DAY:  # the generated times: formatted without datetime (fast)
        d, r = divmod(t - BASE_TIME, DAY)
        return f"2026-01-{d + 1:02d}T{r // 3600:02d}:{r // 60 % 60:02d}:{r % 60:02d}.000Z"
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")


class Keys:
    """A sorted virtual sequence of keys: (key(i), attrs(i)) computed from the index."""

    def __init__(self, n, key, attrs):
        self.n, self.key, self.attrs = n, key, attrs

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        if i < 0 or i >= self.n:
            raise IndexError(i)
        return self.key(i)


class Bucket:
    def __init__(self, name, base=None):
        self.name = name
        self.base = base or Keys(0, None, None)
        self.overlay = {}  # key -> attrs, for copies over base keys and new keys
        self.new_keys = []  # sorted keys not in base
        self.lock = threading.Lock()

    def _in_base(self, key):
        i = bisect.bisect_left(self.base, key)
        return i < len(self.base) and self.base[i] == key, i

    def get(self, key):
        with self.lock:
            if key in self.overlay:
                return self.overlay[key]
        found, i = self._in_base(key)
        return self.base.attrs(i) if found else None

    def put(self, key, attrs):
        with self.lock:
            if key not in self.overlay and not self._in_base(key)[0]:
                bisect.insort(self.new_keys, key)
            self.overlay[key] = attrs

    def cursor(self, start):
        return _Cursor(self, start)


class _Cursor:
    """Entries (key, attrs) of a bucket in key order from the first key >= start; skip_to() jumps forward."""

    def __init__(self, bucket, start):
        self.b = bucket
        with bucket.lock:
            self.new = list(bucket.new_keys)
        self.i = bisect.bisect_left(bucket.base, start)
        self.j = bisect.bisect_left(self.new, start)

    def next(self):
        base, new = self.b.base, self.new
        bk = base[self.i] if self.i < len(base) else None
        nk = new[self.j] if self.j < len(new) else None
        if bk is None and nk is None:
            return None
        if nk is None or (bk is not None and bk < nk):
            self.i += 1
            return bk, self.b.overlay.get(bk) or base.attrs(self.i - 1)
        self.j += 1
        return nk, self.b.overlay[nk]

    def skip_to(self, s):
        self.i = max(self.i, bisect.bisect_left(self.b.base, s))
        self.j = max(self.j, bisect.bisect_left(self.new, s))


class Synth:
    def __init__(self, objects, routes=("database/", "documents/", "photos/"), folders=100, seed=1, changed=0.001,
                 source="synth-src", dests=None, dest_prefix="", extra=0):
        self.seed, self.changed, self.routes = seed, changed, sorted(routes)
        self.dest_prefix = dest_prefix
        per = [objects // len(self.routes) + (1 if r < objects % len(self.routes) else 0)
               for r in range(len(self.routes))]
        self.starts = [sum(per[:r]) for r in range(len(per))]
        self.per, self.folders = per, folders
        self.per_folder = [max(1, -(-p // folders)) for p in per]
        self.buckets = {source: Bucket(source, Keys(objects, self.src_key, self.src_attrs))}
        self.dest_of = {}
        for r, route in enumerate(self.routes):
            name = (dests or {}).get(route) or f"synth-dst-{route.strip('/')}"
            self.dest_of[route] = name
            n = per[r] * (1 + extra)
            self.buckets[name] = Bucket(name, Keys(n, lambda i, r=r, x=extra: self.dst_key(r, i, x),
                                                   lambda i, r=r, x=extra: self.dst_attrs(r, i, x)))
        self.counts = {}
        self.copies = []
        self.lock = threading.Lock()

    # -- the generated data --
    def _route_key(self, r, i):
        return f"{self.routes[r]}d{i // self.per_folder[r]:03d}/obj-{i:08d}.bin"

    def src_key(self, g):
        r = bisect.bisect_right(self.starts, g) - 1
        return self._route_key(r, g - self.starts[r])

    def is_changed(self, g):
        return _mix(self.seed, g, 1) % 1_000_000 < self.changed * 1_000_000

    def v1(self, g):
        h = _mix(self.seed, g)
        return {"size": 100 + h % 100_000, "etag": f"{h:016x}{_mix(self.seed, g, 2):016x}", "lm": BASE_TIME + h % DAY,
                "mtime": None}

    def src_attrs(self, g):
        a = self.v1(g)
        if self.is_changed(g):
            a = {"size": a["size"] + (g % 2), "etag": f"{_mix(self.seed, g, 3):016x}{_mix(self.seed, g, 4):016x}",
                 "lm": BASE_TIME + 2 * DAY + g % DAY, "mtime": None}
        return a

    def dst_key(self, r, i, extra):
        """Destination i of route r: every (extra+1)-th is a copy of source key i // (extra+1); the others extras,
        named to sort right after it."""
        k = self._route_key(r, i // (extra + 1))
        return self.dest_prefix + (k if i % (extra + 1) == 0 else f"{k}.extra{i % (extra + 1)}")

    def dst_attrs(self, r, i, extra):
        g = self.starts[r] + i // (extra + 1)
        a = dict(self.v1(g))
        a["mtime"] = f"{a['lm']}.000000000"  # rclone's record of the source's time
        a["lm"] = a["lm"] + DAY
        return a

    def expected_copies(self):
        return sum(1 for g in range(len(self.buckets_source().base)) if self.is_changed(g))

    def buckets_source(self):
        return next(iter(self.buckets.values()))

    def count(self, op):
        with self.lock:
            self.counts[op] = self.counts.get(op, 0) + 1

    # -- ListObjectsV2 --
    def list_v2(self, bucket, q):
        prefix = q.get("prefix", "")
        delim = q.get("delimiter", "")
        max_keys = min(int(q.get("max-keys", "1000")), 1000)
        enc = q.get("encoding-type") == "url"
        start = prefix
        if q.get("continuation-token"):  # it holds the position: StartAfter is then ignored (and not echoed)
            q = {k: v for k, v in q.items() if k != "start-after"}
            start = max(start, base64.urlsafe_b64decode(q["continuation-token"].encode()).decode())
        elif q.get("start-after"):
            start = max(start, q["start-after"] + "\0")
        contents, cps = [], []
        cur = bucket.cursor(start)
        resume = None
        truncated = False
        while (e := cur.next()) is not None:
            k, a = e
            if not k.startswith(prefix):
                break
            if len(contents) + len(cps) == max_keys:
                truncated = True
                break
            rest = k[len(prefix):]
            if delim and delim in rest:
                cp = prefix + rest[:rest.index(delim) + len(delim)]
                cps.append(cp)
                resume = _upper(cp)
                cur.skip_to(resume)
                continue
            contents.append((k, a))
            resume = k + "\0"
        e = (lambda s: s if _PLAIN.fullmatch(s) else urllib.parse.quote(s, safe="/~")) if enc else (lambda s: s)
        x = ['<?xml version="1.0" encoding="UTF-8"?>',
             '<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">',
             f"<Name>{bucket.name}</Name><Prefix>{_x(e(prefix))}</Prefix>"]
        if q.get("start-after"):
            x.append(f"<StartAfter>{_x(e(q['start-after']))}</StartAfter>")
        if q.get("continuation-token"):
            x.append(f"<ContinuationToken>{_x(q['continuation-token'])}</ContinuationToken>")
        x.append(f"<KeyCount>{len(contents) + len(cps)}</KeyCount><MaxKeys>{max_keys}</MaxKeys>")
        if delim:
            x.append(f"<Delimiter>{_x(e(delim))}</Delimiter>")
        if enc:
            x.append("<EncodingType>url</EncodingType>")
        x.append(f"<IsTruncated>{'true' if truncated else 'false'}</IsTruncated>")
        for k, a in contents:
            x.append(f"<Contents><Key>{_x(e(k))}</Key><LastModified>{iso(a['lm'])}</LastModified>"
                     f"<ETag>&quot;{a['etag']}&quot;</ETag><Size>{a['size']}</Size>"
                     f"<StorageClass>STANDARD</StorageClass></Contents>")
        for cp in cps:
            x.append(f"<CommonPrefixes><Prefix>{_x(e(cp))}</Prefix></CommonPrefixes>")
        if truncated:
            token = base64.urlsafe_b64encode(resume.encode()).decode()
            x.append(f"<NextContinuationToken>{token}</NextContinuationToken>")
        x.append("</ListBucketResult>")
        return "".join(x).encode()


_PLAIN = re.compile(r"[A-Za-z0-9/._-]*")


def _x(s):
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    synth = None
    latency = 0.0

    def log_message(self, *args):
        pass

    def _reply(self, status, body=b"", headers=(), ctype="application/xml"):
        if self.latency:
            time.sleep(self.latency)
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("x-amz-request-id", "synth")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _error(self, status, code, msg="synthetic"):
        body = f"<Error><Code>{code}</Code><Message>{msg}</Message></Error>".encode()
        self._reply(status, body)

    def _parse(self):
        u = urllib.parse.urlsplit(self.path)
        q = dict(urllib.parse.parse_qsl(u.query, keep_blank_values=True))
        parts = urllib.parse.unquote(u.path).lstrip("/").split("/", 1)
        return parts[0], (parts[1] if len(parts) > 1 else ""), q

    def _body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def do_GET(self):
        self._body()
        name, key, q = self._parse()
        s = self.synth
        b = s.buckets.get(name)
        if b is None:
            s.count("NoSuchBucket")
            return self._error(404, "NoSuchBucket")
        if key == "" and q.get("list-type") == "2":
            s.count("ListObjectsV2")
            return self._reply(200, s.list_v2(b, q))
        if key == "" and "uploads" in q:
            s.count("ListMultipartUploads")
            body = (f'<ListMultipartUploadsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Bucket>{name}'
                    f"</Bucket><IsTruncated>false</IsTruncated></ListMultipartUploadsResult>").encode()
            return self._reply(200, body)
        if key == "":
            s.count("GetBucket:" + ",".join(sorted(q)))
            if "location" in q:
                return self._reply(200, b'<LocationConstraint xmlns="http://s3.amazonaws.com/doc/2006-03-01/"/>')
            return self._reply(200, s.list_v2(b, {**q, "max-keys": q.get("max-keys", "1000")}))
        s.count("GetObject")
        return self._error(501, "NotImplemented", "GetObject is not synthesized")

    def do_HEAD(self):
        name, key, _ = self._parse()
        s = self.synth
        b = s.buckets.get(name)
        if b is None:
            return self._error(404, "NoSuchBucket")
        if key == "":
            s.count("HeadBucket")
            return self._reply(200)
        s.count("HeadObject")
        a = b.get(key)
        if a is None:
            return self._error(404, "NoSuchKey")
        h = [("ETag", f'"{a["etag"]}"'), ("Last-Modified", formatdate(a["lm"], usegmt=True))]
        if a.get("mtime"):
            h.append(("x-amz-meta-mtime", a["mtime"]))
        self.send_response(200)
        if self.latency:
            time.sleep(self.latency)
        for k, v in h:
            self.send_header(k, v)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(a["size"]))
        self.end_headers()

    def do_PUT(self):
        self._body()
        name, key, q = self._parse()
        s = self.synth
        b = s.buckets.get(name)
        src = self.headers.get("x-amz-copy-source")
        if b is None or not src or "partNumber" in q:
            s.count("PUT other")
            return self._error(501, "NotImplemented", "only CopyObject is synthesized")
        s.count("CopyObject")
        sb, _, sk = urllib.parse.unquote(src.split("?")[0]).lstrip("/").partition("/")
        a = s.buckets[sb].get(sk) if sb in s.buckets else None
        if a is None:
            return self._error(404, "NoSuchKey")
        new = dict(a)
        new["lm"] = int(time.time())
        if (self.headers.get("x-amz-metadata-directive") or "").upper() == "REPLACE":
            new["mtime"] = self.headers.get("x-amz-meta-mtime")
        b.put(key, new)
        with s.lock:
            s.copies.append((name, key))
        body = (f'<CopyObjectResult><LastModified>{iso(new["lm"])}</LastModified>'
                f'<ETag>&quot;{new["etag"]}&quot;</ETag></CopyObjectResult>').encode()
        return self._reply(200, body)

    def do_POST(self):
        self._body()
        self.synth.count("POST")
        return self._error(501, "NotImplemented")

    def do_DELETE(self):
        self.synth.count("DELETE")
        return self._error(501, "NotImplemented")


class SynthServer:
    """with SynthServer(Synth(...), latency=0.02) as srv: srv.url ..."""

    def __init__(self, synth, latency=0.0):
        handler = type("H", (_Handler,), {"synth": synth, "latency": latency})
        self.synth = synth
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
