"""One connection pool per client: TLS handshakes per host for a 100-request batch (DESIGN.md §6).

A local HTTPS origin (faultproxy with no upstream and a server certificate from a test CA made with openssl,
trusted through AWS_CA_BUNDLE) keeps connections alive and counts, on its side, the TCP connections and TLS
handshakes it saw. `smartvault debug batch` sends 100 signed S3 GETs through the AWS stack a cycle opens (its one
HTTP pool, aws/call, net/batch; AWS_ENDPOINT_URL points at the origin) and reports, on its side, the connections
libcurl opened (CURLINFO_NUM_CONNECTS) and how many were TLS.

Expected: at concurrency 1 everything goes over one kept-alive connection: exactly 1 handshake. At concurrency
8 the pool opens at most one connection per request in flight: 1..8 handshakes (the number is printed).
"""

import json
import ssl
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from faultproxy import FaultProxy  # noqa: E402

REQUESTS = 100


def _openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    """A test CA and a server certificate it signed for localhost (BearSSL checks DNS names only)."""
    d = tmp_path_factory.mktemp("tls-reuse-pki")
    _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "ca.key",
             "-out", "ca.pem", "-days", "2", "-subj", "/CN=SmartVault tls-reuse test CA",
             "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
             cwd=d)
    (d / "server.ext").write_text(
        "subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n")
    _openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "server.key",
             "-out", "server.csr", "-subj", "/CN=localhost", cwd=d)
    _openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
             "-out", "server.pem", "-days", "2", "-extfile", "server.ext", cwd=d)
    return d


@pytest.fixture
def origin(pki):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2  # BearSSL speaks TLS 1.2
    ctx.load_cert_chain(pki / "server.pem", pki / "server.key")
    # A little latency per request so that, at concurrency 8, requests really overlap.
    with FaultProxy(None, ssl_context=ctx, latency=0.005) as server:
        yield server


def _env(origin, ca):
    return {"AWS_CA_BUNDLE": str(ca), "AWS_ENDPOINT_URL": origin.url, "AWS_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "AKIDTLSREUSE", "AWS_SECRET_ACCESS_KEY": "tls-reuse-secret",
            "AWS_EC2_METADATA_DISABLED": "true", "PATH": "/usr/bin:/bin"}


def _batch(smartvault, pki, origin, concurrency):
    proc = subprocess.run(
        [smartvault, "debug", "batch", "--count", str(REQUESTS), "--concurrency", str(concurrency),
         "s3", "GET", "/item/x"],
        env=_env(origin, pki / "ca.pem"),
        stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.splitlines()[-1])  # after the stack's log lines


@pytest.mark.parametrize("concurrency", [1, 8])
def test_tls_handshakes_per_host(smartvault, pki, origin, concurrency):
    s = _batch(smartvault, pki, origin, concurrency)
    assert s["succeeded"] == REQUESTS and s["attempts"] == REQUESTS
    assert origin.count() == REQUESTS
    print(f"\nconcurrency {concurrency}: {REQUESTS} requests, TLS handshakes per host: client {s['tls_handshakes']}, "
          f"server {origin.tls_handshakes}; connections: client {s['connections']}, server {origin.connections}; "
          f"peak in flight {s['peak_in_flight']}; {s['wall_ms']} ms")
    assert s["tls_handshakes"] == s["connections"] == origin.tls_handshakes == origin.connections
    if concurrency == 1:
        assert s["tls_handshakes"] == 1
    else:
        assert 1 <= s["tls_handshakes"] <= concurrency
        assert s["peak_in_flight"] == concurrency


def test_untrusted_server_is_refused(smartvault, pki, origin, tmp_path):
    """The pool never skips verification: a CA bundle that does not hold the test CA makes every request fail."""
    other = tmp_path / "other"
    other.mkdir()
    _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "o.key",
             "-out", "o.pem", "-days", "2", "-subj", "/CN=other", cwd=other)
    proc = subprocess.run(
        [smartvault, "debug", "batch", "--count", "2", "--concurrency", "2", "s3", "GET", "/item/x"],
        env={**_env(origin, other / "o.pem"), "AWS_MAX_ATTEMPTS": "1"},
        stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    s = json.loads(proc.stdout.splitlines()[-1])
    assert s["succeeded"] == 0
    assert {r["final"] for r in s["requests"]} == {"tls"}
    assert origin.count() == 0
