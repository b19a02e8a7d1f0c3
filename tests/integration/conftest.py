"""Fixtures for the integration tests: the real static binary against the moto emulator.

Run with Debian's pytest (boto3 and moto's dependencies are Debian 12 packages):

    ./build.sh integration            # builds build/smartvault, fetches moto, runs these tests
    /usr/bin/python3 -m pytest -c tests/pytest.ini tests/integration -k http

Fixtures:
    moto_server     session-wide moto (127.0.0.1, free port), with .url, .port, .reset(); stopped at the end
    moto            the same server, reset before the test (a clean AWS account)
    start_moto      factory for another moto with extra environment, e.g. INITIAL_NO_AUTH_ACTION_COUNT=4
                    (moto then verifies SigV4 signatures and IAM policies); stopped after the test
    smartvault      path of the binary (build/smartvault; SMARTVAULT_BIN overrides)
    aws_env         a minimal environment for the binary, pointed at moto (a new dict per test)
    boto3_client    boto3_client(service, region="us-east-1") -> a boto3 client on moto
    run_smartvault  run_smartvault(args, env=None, extra_env=None, timeout=60) -> CompletedProcess (text);
                    everything it printed is also kept in smartvault_output (session-wide) and appended to
                    build/integration-output.log, so a test can check that no secret was ever logged
"""

import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TEST_ACCESS_KEY = "testing"
TEST_SECRET_KEY = "testing"
TEST_REGION = "us-east-1"


def free_port():
    """A TCP port free on 127.0.0.1 right now (the usual small race is acceptable for tests)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def moto_pythonpath():
    """PYTHONPATH holding moto 5.1.1 (Debian 13's .deb, unpacked) and the openapi_spec_validator stand-in."""
    path = os.environ.get("SMARTVAULT_MOTO_PYTHONPATH")
    if not path:
        path = subprocess.run(
            [str(ROOT / "tests/tools/moto.sh")], check=True, stdout=subprocess.PIPE, text=True
        ).stdout.strip()
        os.environ["SMARTVAULT_MOTO_PYTHONPATH"] = path
    return path


class MotoServer:
    """One moto server process on 127.0.0.1; its log goes to a file (never to an unread pipe)."""

    def __init__(self, extra_env=None, startup_timeout=60):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._logdir = tempfile.mkdtemp(prefix="smartvault-moto-")
        self.log_path = Path(self._logdir) / "moto.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(
            {
                "PYTHONPATH": moto_pythonpath(),
                "AWS_ACCESS_KEY_ID": TEST_ACCESS_KEY,
                "AWS_SECRET_ACCESS_KEY": TEST_SECRET_KEY,
                "AWS_DEFAULT_REGION": TEST_REGION,
            }
        )
        env.update(extra_env or {})
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            ["/usr/bin/python3", "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
        )
        self._wait_ready(startup_timeout)

    def _wait_ready(self, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"moto exited with {self.proc.returncode}:\n{self.log()}")
            try:
                # /moto-api/ is moto's own dashboard: it does not count as an AWS call, so it does not use up
                # INITIAL_NO_AUTH_ACTION_COUNT.
                with urllib.request.urlopen(self.url + "/moto-api/", timeout=2) as r:
                    if r.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, socket.timeout):
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"moto did not answer on {self.url} within {timeout} s:\n{self.log()}")

    def reset(self):
        """Forget every resource (POST /moto-api/reset)."""
        req = urllib.request.Request(self.url + "/moto-api/reset", data=b"", method="POST")
        with urllib.request.urlopen(req, timeout=10) as r:
            assert r.status == 200

    def log(self):
        self._log.flush()
        return self.log_path.read_text(errors="replace")[-4000:]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
        shutil.rmtree(self._logdir, ignore_errors=True)


@pytest.fixture(scope="session")
def moto_server():
    server = MotoServer()
    yield server
    server.stop()


@pytest.fixture
def moto(moto_server):
    moto_server.reset()
    return moto_server


# The EBS tests' shared fixtures: a fresh emulator behind a counting/fault-injecting proxy, and boto3 EC2 clients
# of the source and DR regions those tests use (each test file keeps its own run helper).
FIXTURE_SRC, FIXTURE_DST = "us-east-1", "us-west-2"


@pytest.fixture
def proxy(moto):
    from faultproxy import FaultProxy

    with FaultProxy(moto.url) as p:
        yield p


@pytest.fixture
def ec2(moto):
    import ebs_fleet

    return ebs_fleet.ec2_client(moto.url, FIXTURE_SRC)


@pytest.fixture
def ec2_dst(moto):
    import ebs_fleet

    return ebs_fleet.ec2_client(moto.url, FIXTURE_DST)


@pytest.fixture
def start_moto():
    """start_moto(extra_env) -> MotoServer; every server started this way is stopped after the test."""
    started = []

    def start(extra_env=None):
        server = MotoServer(extra_env=extra_env)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture(scope="session")
def smartvault():
    path = Path(os.environ.get("SMARTVAULT_BIN", ROOT / "build/smartvault"))
    if not path.is_file():
        pytest.fail(f"{path} does not exist: run ./build.sh first (or set SMARTVAULT_BIN)")
    return str(path)


@pytest.fixture
def aws_env(moto_server):
    return {
        "AWS_ACCESS_KEY_ID": TEST_ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": TEST_SECRET_KEY,
        "AWS_REGION": TEST_REGION,
        "AWS_ENDPOINT_URL": moto_server.url,
        "AWS_EC2_METADATA_DISABLED": "true",
    }


@pytest.fixture
def boto3_client(moto_server):
    import boto3

    def make(service, region=TEST_REGION, endpoint_url=None):
        return boto3.client(
            service,
            region_name=region,
            endpoint_url=endpoint_url or moto_server.url,
            aws_access_key_id=TEST_ACCESS_KEY,
            aws_secret_access_key=TEST_SECRET_KEY,
        )

    return make


# Everything the binary printed during the session: one dict per run (test, args, returncode, stdout, stderr).
_OUTPUT = []


@pytest.fixture(scope="session")
def smartvault_output():
    return _OUTPUT


@pytest.fixture
def run_smartvault(request, smartvault, aws_env):
    log_path = ROOT / "build/integration-output.log"

    def run(args, env=None, extra_env=None, timeout=60):
        full_env = dict(aws_env if env is None else env)
        full_env.update(extra_env or {})
        proc = subprocess.run(
            [smartvault, *args],
            env=full_env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            errors="replace",
            timeout=timeout,
        )
        _OUTPUT.append(
            {
                "test": request.node.nodeid,
                "args": list(args),
                "returncode": proc.returncode,
                "stdout": proc.stdout,
                "stderr": proc.stderr,
            }
        )
        log_path.parent.mkdir(exist_ok=True)
        with open(log_path, "a") as f:
            f.write(f"### {request.node.nodeid}: smartvault {' '.join(args)} -> {proc.returncode}\n")
            f.write(proc.stdout)
            f.write(proc.stderr)
        return proc

    return run


def pytest_sessionstart(session):
    (ROOT / "build").mkdir(exist_ok=True)
    (ROOT / "build/integration-output.log").write_text("")
