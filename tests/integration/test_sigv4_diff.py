"""Differential test: `smartvault debug sign --batch` against botocore's signers, byte for byte.

A seeded generator makes random requests - every method, paths with reserved and unicode characters, dot
segments and double slashes (raw or percent-encoded), repeated and empty query keys, header values with odd
whitespace, folded lines and repeated names, with and without session tokens, S3 and other services, header-signed
and presigned - and signs each one twice: with Debian's botocore (SigV4Auth, S3SigV4Auth, SigV4QueryAuth,
S3SigV4QueryAuth, its clock pinned with a mock) and with our binary, all cases in one process. The canonical
request, the string to sign, and the Authorization header (or the presigned URL) must be equal.

What the generator avoids, and why (each is a botocore input convention, not a signing rule):
  - presigned cases have unique, non-empty query keys and no raw '+': botocore rebuilds a presigned URL's query
    with parse_qs, which keeps only the first value of a repeated key and reads '+' as a space;
  - no Date, X-Amz-Date, X-Amz-Security-Token, X-Amz-Content-SHA256, Content-MD5 or Authorization headers from
    the caller: botocore gives each of them special meaning;
  - header whitespace is spaces, tabs and line folds only: Python's str.split() also splits on U+001C-U+001F and
    U+0085/U+00A0, which no HTTP header carries.

Reproduce a failure with SV_SIGV4_DIFF_SEED=<seed>; SV_SIGV4_DIFF_CASES sets the number of cases (default 1500).
"""

import datetime
import hashlib
import json
import os
import random
import subprocess
import urllib.parse
from unittest import mock

import pytest

botocore_auth = pytest.importorskip("botocore.auth")
from botocore.awsrequest import AWSRequest  # noqa: E402
from botocore.credentials import Credentials  # noqa: E402

SEED = int(os.environ.get("SV_SIGV4_DIFF_SEED", "20150830"))
CASES = int(os.environ.get("SV_SIGV4_DIFF_CASES", "1500"))

METHODS = ["GET", "GET", "POST", "PUT", "DELETE", "HEAD", "PATCH"]
REGIONS = ["us-east-1", "us-west-2", "eu-central-1", "ap-southeast-2", "cn-north-1", "us-gov-west-1"]
SERVICES = ["ec2", "monitoring", "sns", "sts", "dynamodb", "kms", "service", "execute-api", "rds-db"]
HOSTS = ["ec2.us-east-1.amazonaws.com", "example.amazonaws.com", "127.0.0.1:5000", "localhost:4566",
         "bucket.s3.eu-central-1.amazonaws.com", "prod-instance.us-east-1.rds.amazonaws.com:3306",
         "[::1]:8443"]  # fmt: skip
HEADER_NAMES = ["My-Header1", "my-header2", "X-Custom", "Content-Type", "x-amz-meta-owner", "X-Amz-Target",
                "amz-sdk-invocation-id", "amz-sdk-request", "Accept", "X-Amz-Meta-Empty", "Zeta", "a",
                "If-None-Match", "Range"]  # fmt: skip
UNSIGNED = ["User-Agent", "Expect", "X-Amzn-Trace-Id"]
UNICODE = ["\u1234", "\u00e9", "\u00fc\u00df", "\u65e5\u672c", "\U0001f600", "\u00a9", "\u0394"]
PATH_RESERVED = "!$&'()*+,;=:@"  # sub-delims and ':' '@' may appear raw in a path on the wire
QUERY_SPECIAL = " !\"#$%&'()*+,/:;<=>?@[\\]^`{|}~-._"


def rand_text(rng, alphabet_weight=0.6, max_len=10):
    """A short string mixing plain characters, specials and unicode."""
    out = []
    for _ in range(rng.randint(0, max_len)):
        r = rng.random()
        if r < alphabet_weight:
            out.append(rng.choice("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"))
        elif r < 0.9:
            out.append(rng.choice(QUERY_SPECIAL))
        else:
            out.append(rng.choice(UNICODE))
    return "".join(out)


def wire_encode(rng, s):
    """Percent-encodes s for the wire; some strings get lowercase hex, some needlessly escaped unreserved bytes."""
    mode = rng.random()
    out = []
    for ch in s:
        if ch.isascii() and (ch.isalnum() or ch in "-_.~"):
            out.append("%%%02X" % ord(ch) if mode < 0.1 and rng.random() < 0.3 else ch)
        else:
            enc = urllib.parse.quote(ch, safe="")
            out.append(enc.lower() if 0.1 <= mode < 0.25 else enc)
    return "".join(out)


def rand_segment(rng):
    r = rng.random()
    if r < 0.08:
        return "."
    if r < 0.16:
        return ".."
    if r < 0.24:
        return ""  # makes '//'
    if r < 0.45:
        return wire_encode(rng, rand_text(rng))  # percent-encoded text (encoded twice when signed)
    if r < 0.6:
        return "".join(rng.choice("abcXYZ019-._~" + PATH_RESERVED) for _ in range(rng.randint(1, 8)))
    if r < 0.7:
        return rng.choice(UNICODE) + rng.choice(["", "x", "$delete"])  # raw unicode in the path
    if r < 0.75:
        return "example space"
    return "".join(rng.choice("abcdefghij0123456789") for _ in range(rng.randint(1, 12)))


def rand_path(rng):
    if rng.random() < 0.1:
        return "/"
    path = "/" + "/".join(rand_segment(rng) for _ in range(rng.randint(1, 6)))
    if rng.random() < 0.2:
        path += "/"
    return path.rstrip(" ")


def rand_query(rng, presign):
    """Returns (wire query string, [(decoded key, decoded value)])."""
    params = []
    keys_pool = ["Action", "Version", "Param1", "param1", "a", "b", "", "key", "Filter.1.Name", "\u1234"]
    for _ in range(rng.randint(0, 6)):
        key = rng.choice(keys_pool) if rng.random() < 0.6 else rand_text(rng)
        value = rand_text(rng) if rng.random() < 0.8 else ""
        if presign:
            if not key or any(k == key for k, _ in params):
                continue
        params.append((key, value))
    pieces = []
    for key, value in params:
        k = wire_encode(rng, key)
        if presign and "+" in k:
            k = k.replace("+", "%2B")
        if value == "" and key != "" and rng.random() < 0.5:
            pieces.append(k)  # "key" without '='
            continue
        v = wire_encode(rng, value)
        if presign:
            v = v.replace("+", "%2B")
        pieces.append(f"{k}={v}")
    return "&".join(pieces), params


def rand_header_value(rng, fold):
    words = ["".join(rng.choice("abcXYZ0189=;,/\"'():") for _ in range(rng.randint(1, 6)))
             for _ in range(rng.randint(0, 4))]  # fmt: skip
    out = rng.choice(["", " ", "  ", "\t"])
    for i, w in enumerate(words):
        if i:
            out += rng.choice([" ", "  ", "\t", " \t  ", "\n  " if fold else "   "])
        out += w
    return out + rng.choice(["", " ", "\t "])


def make_case(rng, index):
    presign = rng.random() < 0.35
    s3 = rng.random() < 0.35
    method = "GET" if presign and rng.random() < 0.7 else rng.choice(METHODS)
    host = rng.choice(HOSTS)
    headers = [("Host", host)]
    for _ in range(rng.randint(0, 6)):
        name = rng.choice(HEADER_NAMES)
        if rng.random() < 0.3:
            name = name.upper() if rng.random() < 0.5 else name.lower()
        headers.append((name, rand_header_value(rng, fold=rng.random() < 0.3)))
    if rng.random() < 0.15:
        headers.append((rng.choice(UNSIGNED), "x"))
    rng.shuffle(headers)
    if presign and any(
        n.lower() == "content-type" and v == "application/x-www-form-urlencoded; charset=utf-8" for n, v in headers
    ):
        headers = [h for h in headers if h[0].lower() != "content-type"]
    body = b""
    if not presign and method in ("POST", "PUT", "PATCH") and rng.random() < 0.8:
        body = bytes(rng.randrange(256) for _ in range(rng.randint(0, 64)))
    token = None
    if rng.random() < 0.35:
        token = "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=")
                        for _ in range(rng.randint(16, 400)))  # fmt: skip
    query, params = rand_query(rng, presign)
    return {
        "index": index,
        "method": method,
        "host": host,
        "path": rand_path(rng),
        "query": query,
        "params": params,
        "headers": headers,
        "body": body,
        "s3": s3,
        "service": "s3" if s3 else rng.choice(SERVICES),
        "region": rng.choice(REGIONS),
        "access_key": rng.choice(["AKIDEXAMPLE", "ASIA0123456789ABCDEF", "access_key", "testing"]),
        "secret": rand_text(rng, 0.9, 40) or "secret",
        "token": token,
        "time": datetime.datetime(2010, 1, 1) + datetime.timedelta(seconds=rng.randrange(25 * 365 * 86400)),
        "presign": rng.randint(1, 604800) if presign else 0,
        "unsigned": s3 and not presign and rng.random() < 0.3,
    }


# --- botocore -------------------------------------------------------------------------------------------------


def _capturing(cls):
    """A signer subclass that remembers its canonical request and string to sign."""

    class Capturing(cls):
        def canonical_request(self, request):
            self.last_creq = super().canonical_request(request)
            return self.last_creq

        def string_to_sign(self, request, canonical_request):
            self.last_sts = super().string_to_sign(request, canonical_request)
            return self.last_sts

    return Capturing


class _UnsignedS3(botocore_auth.S3SigV4Auth):
    def _should_sha256_sign_payload(self, request):
        return False


def botocore_sign(case, clock):
    """Signs with botocore; `clock` is the mock standing in for botocore.auth's datetime module."""
    creds = Credentials(case["access_key"], case["secret"], case["token"])
    url = f"https://{case['host']}{case['path']}"
    if case["presign"]:
        if case["query"]:
            url += "?" + case["query"]
        cls = botocore_auth.S3SigV4QueryAuth if case["s3"] else botocore_auth.SigV4QueryAuth
        signer = _capturing(cls)(creds, case["service"], case["region"], expires=case["presign"])
        request = AWSRequest(method=case["method"], url=url)
    else:
        cls = botocore_auth.SigV4Auth
        if case["s3"]:
            cls = _UnsignedS3 if case["unsigned"] else botocore_auth.S3SigV4Auth
        signer = _capturing(cls)(creds, case["service"], case["region"])
        request = AWSRequest(method=case["method"], url=url, data=case["body"], params=list(case["params"]))
    for name, value in case["headers"]:
        request.headers[name] = value  # appends: repeated names stay repeated, in order
    clock.datetime.utcnow.return_value = case["time"]
    signer.add_auth(request)
    out = {"creq": signer.last_creq, "sts": signer.last_sts}
    if case["presign"]:
        out["url"] = request.url
    else:
        out["authz"] = request.headers["Authorization"]
    return out


# --- ours -----------------------------------------------------------------------------------------------------


def raw_request(case):
    """The case in the suite's .req format; folded header values become continuation lines."""
    target = case["path"] + ("?" + case["query"] if case["query"] else "")
    lines = [f"{case['method']} {target} HTTP/1.1"]
    for name, value in case["headers"]:
        lines.append(f"{name}:{value}")
    return ("\n".join(lines) + "\n\n").encode() + case["body"]


def batch_line(case):
    args = [
        "--access-key", case["access_key"],
        "--secret", case["secret"],
        "--region", case["region"],
        "--service", case["service"],
        "--time", case["time"].strftime("%Y%m%dT%H%M%SZ"),
    ]  # fmt: skip
    if case["token"]:
        args += ["--token", case["token"]]
    if case["s3"]:
        args.append("--s3")
    if case["presign"]:
        args += ["--presign", str(case["presign"])]
    if case["unsigned"]:
        args.append("--unsigned-payload")
    tokens = [urllib.parse.quote(a, safe="") for a in args]
    tokens += [urllib.parse.quote("--request", safe=""), urllib.parse.quote(raw_request(case), safe="")]
    return " ".join(tokens)


def smartvault_sign_batch(smartvault, cases):
    stdin = "".join(batch_line(c) + "\n" for c in cases).encode()
    proc = subprocess.run(
        [smartvault, "debug", "sign", "--batch"],
        input=stdin,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={"PATH": "/usr/bin:/bin"},
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")
    lines = proc.stdout.decode().splitlines()
    assert len(lines) == len(cases), f"{len(lines)} results for {len(cases)} cases"
    return [json.loads(line) for line in lines]


def describe(case):
    shown = {k: v for k, v in case.items() if k not in ("secret", "time")}
    shown["time"] = case["time"].isoformat()
    shown["body_sha256"] = hashlib.sha256(case["body"]).hexdigest()
    del shown["body"]
    return json.dumps(shown, ensure_ascii=True, default=str)


def test_sigv4_matches_botocore(smartvault):
    rng = random.Random(SEED)
    cases = [make_case(rng, i) for i in range(CASES)]
    ours = smartvault_sign_batch(smartvault, cases)
    failures = []
    with mock.patch.object(botocore_auth, "datetime") as clock:
        for case, got in zip(cases, ours):
            want = botocore_sign(case, clock)
            if got != {**want, "signature": got.get("signature")}:
                failures.append((case, want, got))
    presigned = sum(1 for c in cases if c["presign"])
    s3 = sum(1 for c in cases if c["s3"])
    tokens = sum(1 for c in cases if c["token"])
    print(
        f"\nsigv4 differential vs botocore: {len(cases)} cases (seed {SEED}): {presigned} presigned, "
        f"{len(cases) - presigned} header-signed, {s3} S3, {tokens} with a session token; "
        f"{len(cases) - len(failures)} equal"
    )
    if failures:
        case, want, got = failures[0]
        pytest.fail(
            f"{len(failures)} of {len(cases)} cases differ; first: case {case['index']}\n{describe(case)}\n"
            f"botocore: {json.dumps(want, indent=1)}\nours: {json.dumps(got, indent=1)}"
        )
    assert len(cases) >= 1000


def test_generator_covers_what_it_promises():
    """The seeded cases really contain the awkward inputs the docstring lists."""
    rng = random.Random(SEED)
    cases = [make_case(rng, i) for i in range(CASES)]

    def some(pred):
        return any(pred(c) for c in cases)

    assert some(lambda c: "/../" in c["path"] or c["path"].endswith("/.."))
    assert some(lambda c: "/./" in c["path"])
    assert some(lambda c: "//" in c["path"])
    assert some(lambda c: "%" in c["path"])
    assert some(lambda c: any(ord(ch) > 127 for ch in c["path"]))
    assert some(lambda c: any(ch in c["path"] for ch in PATH_RESERVED))
    assert some(lambda c: len({k for k, _ in c["params"]}) < len(c["params"]))  # repeated keys
    assert some(lambda c: any(k == "" for k, _ in c["params"]))  # empty key
    assert some(lambda c: any(v == "" for _, v in c["params"]))  # empty value
    assert some(lambda c: any("\n" in v for _, v in c["headers"]))  # folded header
    assert some(lambda c: any("  " in v or "\t" in v for _, v in c["headers"]))
    assert some(lambda c: len({n.lower() for n, _ in c["headers"]}) < len(c["headers"]))  # repeated names
    for presign in (0, 1):
        for s3 in (False, True):
            for token in (False, True):
                assert some(lambda c: bool(c["presign"]) == presign and c["s3"] == s3 and bool(c["token"]) == token)
    assert some(lambda c: c["unsigned"])
    assert some(lambda c: c["body"])
