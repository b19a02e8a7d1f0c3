"""Errors a person can act on: a transport failure names the host and libcurl's reason; an unknown variable that
looks like one of ours is refused (exit 2, "did you mean ...?") in `run` and `config`, while what ECS, Kubernetes
and shells set is accepted.

Run: ./build.sh && SMARTVAULT_MOTO_PYTHONPATH=$(tests/tools/moto.sh) python3 -m pytest -c tests/pytest.ini \
     tests/integration/test_actionable_errors.py
"""

import socket
import sys
import threading
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import ebs_fleet as fl  # noqa: E402
from conftest import free_port  # noqa: E402

SRC, DST = "us-east-1", "us-west-2"

# Base environment without an emulator: every AWS endpoint is a closed loopback port.
BASE = {
    "AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE",
    "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "AWS_REGION": SRC,
    "DEST_REGION": DST,
    "AWS_EC2_METADATA_DISABLED": "true",
    "AWS_MAX_ATTEMPTS": "1",
}


def test_refused_endpoint_names_the_host_and_the_reason(run_smartvault):
    port = free_port()
    env = dict(BASE, AWS_ENDPOINT_URL=f"http://127.0.0.1:{port}")
    proc = run_smartvault(["run"], env=env, timeout=30)
    assert proc.returncode == 3, proc.stdout + proc.stderr
    (failed,) = fl.of(proc.stdout, "ebs.failed")
    assert failed["step"] == "DescribeInstances" and failed["aws_code"] == "net", failed
    msg = failed["message"]
    assert msg.startswith(f"127.0.0.1:{port}: "), msg
    assert "connect" in msg.lower() and str(port) in msg, msg
    print("ebs.failed line:", [ln for ln in proc.stdout.splitlines() if '"ebs.failed"' in ln][0])


def test_tls_failure_names_the_host_and_the_reason(run_smartvault):
    """A plain-TCP server that closes at once where HTTPS is expected: the TLS handshake fails."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))  # "localhost" may try ::1 first: refused there, then curl tries 127.0.0.1
    srv.listen(16)
    port = srv.getsockname()[1]
    def serve():
        while True:
            try:
                conn, _ = srv.accept()
            except OSError:
                return
            conn.sendall(b"HTTP/1.1 400 not TLS\r\n\r\n")
            conn.close()

    threading.Thread(target=serve, daemon=True).start()
    try:
        env = dict(BASE, AWS_ENDPOINT_URL=f"https://localhost:{port}")  # a name: BearSSL verifies names only
        proc = run_smartvault(["run"], env=env, timeout=30)
    finally:
        srv.close()
    assert proc.returncode == 3, proc.stdout + proc.stderr
    (failed,) = fl.of(proc.stdout, "ebs.failed")
    assert failed["aws_code"] == "tls", failed
    assert failed["message"].startswith(f"localhost:{port}: ") and len(failed["message"]) > 20, failed
    print("ebs.failed line:", [ln for ln in proc.stdout.splitlines() if '"ebs.failed"' in ln][0])


def _closed_env():
    return dict(BASE, AWS_ENDPOINT_URL=f"http://127.0.0.1:{free_port()}")


@pytest.mark.parametrize("command", [["run"], ["config"], []], ids=["run", "config", "default"])
@pytest.mark.parametrize("name,suggest", [
    ("RETENTON_DAYS", "RETENTION_DAYS"), ("retention_days", "RETENTION_DAYS"), ("MIN_KEPE", "MIN_KEEP"),
    ("DEST_REGOIN", "DEST_REGION"), ("SMARTVAULT_NWO", "SMARTVAULT_NOW"), ("S3_ROUTE", "S3_ROUTES"),
])
def test_typo_is_refused_with_a_suggestion(run_smartvault, command, name, suggest):
    env = dict(_closed_env(), **{name: "30"})
    proc = run_smartvault(command, env=env, timeout=30)
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    assert proc.stdout == ""
    assert proc.stderr == f"smartvault: {name}: not a SmartVault variable; did you mean {suggest}?\n", proc.stderr


def test_unknown_smartvault_prefix_is_refused(run_smartvault):
    proc = run_smartvault(["config"], env=dict(_closed_env(), SMARTVAULT_RETENTION="3"), timeout=30)
    assert proc.returncode == 2
    assert proc.stderr == "smartvault: SMARTVAULT_RETENTION: not a SmartVault variable (smartvault --help lists " \
                          "them)\n", proc.stderr


# What schedulers set next to our variables, including the service links Kubernetes injects when a Service in
# the namespace is called "smartvault" (or "min-keep", "dry-run": names that look like our variables).
PLATFORM_ENV = {
    # Kubernetes
    "KUBERNETES_SERVICE_HOST": "10.96.0.1", "KUBERNETES_SERVICE_PORT": "443", "KUBERNETES_SERVICE_PORT_HTTPS": "443",
    "KUBERNETES_PORT": "tcp://10.96.0.1:443", "KUBERNETES_PORT_443_TCP": "tcp://10.96.0.1:443",
    "KUBERNETES_PORT_443_TCP_PROTO": "tcp", "KUBERNETES_PORT_443_TCP_PORT": "443",
    "KUBERNETES_PORT_443_TCP_ADDR": "10.96.0.1",
    "SMARTVAULT_SERVICE_HOST": "10.96.7.7", "SMARTVAULT_SERVICE_PORT": "443", "SMARTVAULT_SERVICE_PORT_HTTPS": "443",
    "SMARTVAULT_PORT": "tcp://10.96.7.7:443", "SMARTVAULT_PORT_443_TCP": "tcp://10.96.7.7:443",
    "SMARTVAULT_PORT_443_TCP_PROTO": "tcp", "SMARTVAULT_PORT_443_TCP_PORT": "443",
    "SMARTVAULT_PORT_443_TCP_ADDR": "10.96.7.7", "MIN_KEEP_SERVICE_HOST": "10.96.7.8", "DRY_RUN_PORT": "tcp://x:80",
    "HOSTNAME": "smartvault-29000000-abcde", "POD_NAMESPACE": "backup",
    # EKS (IRSA, Pod Identity)
    "AWS_ROLE_ARN": "arn:aws:iam::123456789012:role/smartvault", "AWS_STS_REGIONAL_ENDPOINTS": "regional",
    "AWS_DEFAULT_REGION": SRC,
    # ECS / Fargate
    "ECS_CONTAINER_METADATA_URI": "http://169.254.170.2/v3/x", "ECS_CONTAINER_METADATA_URI_V4": "http://169.254.170.2/v4/x",
    "ECS_AGENT_URI": "http://169.254.170.2/api/x", "AWS_EXECUTION_ENV": "AWS_ECS_FARGATE",
    # shells and the AWS CLI
    "PATH": "/usr/bin:/bin", "HOME": "/nonexistent", "PWD": "/", "SHLVL": "1", "TERM": "xterm", "LANG": "C.UTF-8",
    "TZ": "UTC", "_": "/smartvault", "container": "podman", "AWS_PROFILE": "backup", "AWS_PAGER": "",
    "AWS_ENDPOINT_URL_SQS": "http://127.0.0.1:1", "http_proxy": "", "https_proxy": "", "no_proxy": "localhost",
}


def test_platform_variables_are_not_refused(run_smartvault):
    env = dict(_closed_env(), **PLATFORM_ENV)
    proc = run_smartvault(["config"], env=env, timeout=30)
    assert proc.returncode == 0, proc.stderr
    assert "RETENTION_DAYS=7" in proc.stdout
