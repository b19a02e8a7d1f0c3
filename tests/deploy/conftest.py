"""Fixtures for the deployment tests: a private moto server (tests/tools/moto.sh), boto3 clients for it.

Each moto runs on its own free 127.0.0.1 port, so these tests never share state with the integration suite.
"""

import os
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from cfn import REPO  # noqa: E402

ACCOUNT_ID = "123456789012"  # moto's default account
REGION = "us-east-1"
DR_REGION = "us-west-2"


def moto_pythonpath():
    """The PYTHONPATH for moto from tests/tools/moto.sh (downloads and unpacks moto the first time)."""
    script = os.path.join(REPO, "tests", "tools", "moto.sh")
    if not os.path.exists(script):
        pytest.skip("tests/tools/moto.sh is missing: the moto emulator is not available")
    out = subprocess.run(["bash", script], check=True, capture_output=True, text=True, timeout=600)
    return out.stdout.strip().splitlines()[-1]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Moto:
    """A moto server process on loopback."""

    def __init__(self, extra_env=None, log_name="moto"):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = dict(os.environ)
        env.update(
            PYTHONPATH=moto_pythonpath(),
            AWS_ACCESS_KEY_ID="testing",
            AWS_SECRET_ACCESS_KEY="testing",
            AWS_DEFAULT_REGION=REGION,
            PYTHONWARNINGS="ignore",
        )
        env.pop("AWS_ENDPOINT_URL", None)
        env.update(extra_env or {})
        self.log_path = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"smartvault-deploy-{log_name}-{self.port}.log")
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            ["/usr/bin/python3", "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"moto exited with {self.proc.returncode}; see {self.log_path}")
            try:
                urllib.request.urlopen(self.url + "/moto-api/", timeout=2).read()
                break
            except OSError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"moto did not start in 60 s; see {self.log_path}")
                time.sleep(0.2)

    def client(self, service, region=REGION, key="testing", secret="testing", token=None):
        import boto3
        from botocore.config import Config

        return boto3.client(
            service,
            region_name=region,
            endpoint_url=self.url,
            aws_access_key_id=key,
            aws_secret_access_key=secret,
            aws_session_token=token,
            config=Config(retries={"max_attempts": 1, "mode": "standard"}),
        )

    def reset(self):
        req = urllib.request.Request(self.url + "/moto-api/reset", method="POST", data=b"")
        urllib.request.urlopen(req, timeout=10).read()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


@pytest.fixture(scope="session")
def moto():
    server = Moto(log_name="cfn")
    yield server
    server.stop()
