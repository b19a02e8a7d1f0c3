"""The HTTP layer from outside, through `smartvault debug http URL` (libcurl + BearSSL, static).

Contract of the debug command: `status=<code>` on the first line of stdout, then the body; exit 0 on any HTTP
response; exit 3 on a transport or TLS failure, with an error line on stderr (naming "tls" or "certificate" when
verification failed).

HTTPS tests use https://localhost:PORT: BearSSL checks host names against DNS names only (libcurl refuses
host verification of a bare IP address with BearSSL), and the server listens on 127.0.0.1 only.
"""

import http.server
import socket
import ssl
import subprocess
import threading

import pytest

BODY = b"hello over tls\n"


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        status = 200 if self.path == "/" else 404
        body = BODY if status == 200 else b"no such thing\n"
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def _openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _make_ca(d, name):
    _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
             "-keyout", f"{name}.key", "-out", f"{name}.pem", "-days", "2", "-subj", f"/CN=SmartVault {name}",
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=d)
    return d / f"{name}.pem"


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    """A test CA, a server certificate it signed for localhost, and an unrelated second CA."""
    d = tmp_path_factory.mktemp("pki")
    ca = _make_ca(d, "test-ca")
    other = _make_ca(d, "other-ca")
    (d / "server.ext").write_text(
        "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n")
    _openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
             "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost", cwd=d)
    _openssl("x509", "-req", "-in", "server.csr", "-CA", "test-ca.pem", "-CAkey", "test-ca.key",
             "-CAcreateserial", "-out", "server.pem", "-days", "2", "-extfile", "server.ext", cwd=d)
    return {"ca": ca, "other_ca": other, "cert": d / "server.pem", "key": d / "server.key"}


@pytest.fixture(scope="module")
def https_url(pki):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(str(pki["cert"]), str(pki["key"]))
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"https://localhost:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


def _status(proc):
    first = proc.stdout.split("\n", 1)[0]
    assert first.startswith("status="), proc.stdout
    return int(first[len("status="):])


def test_plain_http_get_to_moto(moto, run_smartvault):
    proc = run_smartvault(["debug", "http", moto.url + "/moto-api/data.json"])
    assert proc.returncode == 0, proc.stderr
    assert _status(proc) == 200
    assert proc.stdout.split("\n", 1)[1].lstrip().startswith("{")


def test_http_error_status_is_still_a_response(moto, run_smartvault):
    proc = run_smartvault(["debug", "http", moto.url + "/moto-api/no-such-page"])
    assert proc.returncode == 0, proc.stderr
    assert _status(proc) == 404


def test_connection_refused_is_a_transport_failure(run_smartvault):
    with socket.socket() as s:  # a port that was free a moment ago, and nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = run_smartvault(["debug", "http", f"http://127.0.0.1:{port}/"])
    assert proc.returncode == 3, proc.stdout
    assert proc.stderr.strip(), "a transport failure must say what happened on stderr"


def test_https_with_aws_ca_bundle(https_url, pki, run_smartvault):
    proc = run_smartvault(["debug", "http", https_url + "/"], extra_env={"AWS_CA_BUNDLE": str(pki["ca"])})
    assert proc.returncode == 0, proc.stderr
    assert _status(proc) == 200
    assert proc.stdout.split("\n", 1)[1] == BODY.decode()


def test_https_with_ssl_cert_file(https_url, pki, run_smartvault):
    proc = run_smartvault(["debug", "http", https_url + "/"], extra_env={"SSL_CERT_FILE": str(pki["ca"])})
    assert proc.returncode == 0, proc.stderr
    assert _status(proc) == 200


def test_https_embedded_bundle_rejects_unknown_ca(https_url, run_smartvault):
    proc = run_smartvault(["debug", "http", https_url + "/"])
    assert proc.returncode == 3, proc.stdout
    assert proc.stdout == ""
    err = proc.stderr.lower()
    assert "tls" in err or "certificate" in err, proc.stderr


def test_https_wrong_ca_bundle_is_rejected(https_url, pki, run_smartvault):
    proc = run_smartvault(["debug", "http", https_url + "/"], extra_env={"AWS_CA_BUNDLE": str(pki["other_ca"])})
    assert proc.returncode == 3, proc.stdout
    err = proc.stderr.lower()
    assert "tls" in err or "certificate" in err, proc.stderr


# ---- TLS policy: TLS 1.2+, ECDHE + AEAD only (issue 11) ----------------------------------------------------------


@pytest.fixture(scope="module")
def rsa_cert(pki):
    """An RSA server certificate from the same test CA (static RSA key exchange needs an RSA key)."""
    d = pki["cert"].parent
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "rsa.key", "-out", "rsa.csr", "-subj", "/CN=localhost",
             cwd=d)
    _openssl("x509", "-req", "-in", "rsa.csr", "-CA", "test-ca.pem", "-CAkey", "test-ca.key", "-CAcreateserial",
             "-out", "rsa.pem", "-days", "2", "-extfile", "server.ext", cwd=d)
    return {"cert": d / "rsa.pem", "key": d / "rsa.key"}


def _s_server(cert, key, *flags):
    """`openssl s_server -www` on 127.0.0.1 with the given protocol/cipher flags; yields its port."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(["openssl", "s_server", "-accept", f"127.0.0.1:{port}", "-cert", str(cert), "-key",
                             str(key), "-www", "-quiet", *flags],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
            return proc, port
        except OSError:
            if proc.poll() is not None:
                raise AssertionError(f"openssl s_server {flags} did not start")
            threading.Event().wait(0.02)
    proc.kill()
    raise AssertionError("openssl s_server did not listen")


SERVERS = {
    # name: (s_server flags, accepted?)
    "tls1.0-only": (["-tls1", "-cipher", "DEFAULT@SECLEVEL=0"], False),
    "tls1.1-only": (["-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0"], False),
    "tls1.2-static-rsa-aead": (["-tls1_2", "-cipher", "AES128-GCM-SHA256"], False),
    "tls1.2-ecdhe-cbc": (["-tls1_2", "-cipher", "ECDHE-RSA-AES128-SHA256"], False),
    "tls1.2-ecdhe-aead": (["-tls1_2", "-cipher", "ECDHE-RSA-AES128-GCM-SHA256"], True),
}


@pytest.mark.parametrize("name", list(SERVERS))
def test_tls_policy_refuses_old_versions_and_static_rsa(name, pki, rsa_cert, run_smartvault):
    flags, accepted = SERVERS[name]
    proc, port = _s_server(rsa_cert["cert"], rsa_cert["key"], *flags)
    try:
        out = run_smartvault(["debug", "http", f"https://localhost:{port}/"],
                             extra_env={"AWS_CA_BUNDLE": str(pki["ca"])}, timeout=20)
    finally:
        proc.kill()
        proc.wait()
    if accepted:
        assert out.returncode == 0 and _status(out) == 200, out.stderr
        return
    assert out.returncode == 3, (out.returncode, out.stdout)
    # One clear line: a TLS error that says what SmartVault accepts.
    assert "tls error" in out.stderr and "TLS handshake refused" in out.stderr, out.stderr
    assert "TLS 1.2+ with ECDHE and AES-GCM or ChaCha20-Poly1305" in out.stderr, out.stderr
