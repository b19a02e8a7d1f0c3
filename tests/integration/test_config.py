"""Configuration from outside: the real binary, its environment and flags, no emulator needed.

Contract (DESIGN.md §5, src/cfg/cfg.h):
- every bad value: exit 2, exactly one line on stderr naming the variable (or flag), nothing on stdout, and no
  network connection at all (AWS_ENDPOINT_URL points at a local listener that counts connections);
- `smartvault config` prints one `NAME=value  (source: ...)` line per setting and never a credential;
- `smartvault --help` lists every variable the configuration knows (`smartvault debug cfg-vars`).
"""

import re
import socket
import threading
import time

import pytest

import secrets_registry


class Listener:
    """A TCP listener on 127.0.0.1 that accepts and counts connections (and closes them at once)."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self):
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:  # shut down by close()
                return
            self.connections += 1
            conn.close()

    def close(self):
        self._stop.set()
        try:
            self.sock.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept() on Linux
        except OSError:
            pass
        self._thread.join(timeout=5)
        self.sock.close()


@pytest.fixture
def listener():
    lst = Listener()
    yield lst
    lst.close()


@pytest.fixture
def aws_env(listener):
    """Overrides conftest's: no emulator; every AWS endpoint is the counting listener."""
    env = {
        "AWS_ENDPOINT_URL": listener.url,
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE",
        "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    }
    secrets_registry.register(env["AWS_SECRET_ACCESS_KEY"])
    return env


# (environment additions, the name the error line must start with). One row per rule at least.
BAD_ENV = [
    ({"SOURCE_REGION": "US-EAST-1"}, "SOURCE_REGION"),
    ({"SOURCE_REGION": "us-east"}, "SOURCE_REGION"),
    ({"SOURCE_REGION": "useast1"}, "SOURCE_REGION"),
    ({"AWS_REGION": "EU-WEST-1"}, "AWS_REGION"),
    ({"AWS_DEFAULT_REGION": "eu west 1"}, "AWS_DEFAULT_REGION"),
    ({"DEST_REGION": "mars-1"}, "DEST_REGION"),
    ({"SOURCE_REGION": "us-east-1", "DEST_REGION": "us-east-1"}, "DEST_REGION"),
    ({"SOURCE_REGION": "us-east-1", "DEST_REGION": "cn-north-1"}, "DEST_REGION"),
    ({"EBS_BACKUP": "maybe"}, "EBS_BACKUP"),
    ({"EBS_BACKUP": "false"}, "EBS_BACKUP"),
    ({"BACKUP_TAG": "Backup"}, "BACKUP_TAG"),
    ({"BACKUP_TAG": "aws:backup=true"}, "BACKUP_TAG"),
    ({"RETENTION_DAYS": "7d"}, "RETENTION_DAYS"),
    ({"RETENTION_DAYS": "0"}, "RETENTION_DAYS"),
    ({"RETENTION_DAYS": "-1"}, "RETENTION_DAYS"),
    ({"RETENTION_DAYS": "36501"}, "RETENTION_DAYS"),
    ({"DEST_RETENTION_DAYS": "x"}, "DEST_RETENTION_DAYS"),
    ({"MIN_KEEP": "-1"}, "MIN_KEEP"),
    ({"KEEP_DAILY": "1001"}, "KEEP_DAILY"),
    ({"KEEP_WEEKLY": "x"}, "KEEP_WEEKLY"),
    ({"KEEP_MONTHLY": "-3"}, "KEEP_MONTHLY"),
    ({"MIN_INTERVAL": "1.5h"}, "MIN_INTERVAL"),
    ({"KMS_KEY_ID": "not-a-key"}, "KMS_KEY_ID"),
    ({"DEST_REGION": "us-west-2", "KMS_KEY_ID": "arn:aws:kms:eu-west-1:123456789012:alias/dr"}, "KMS_KEY_ID"),
    ({"WAIT_FOR_COMPLETION": "3h"}, "WAIT_FOR_COMPLETION"),
    ({"MAX_CONCURRENCY": "0"}, "MAX_CONCURRENCY"),
    ({"COPY_LIMIT": "101"}, "COPY_LIMIT"),
    ({"EC2_PAGE_SIZE": "4"}, "EC2_PAGE_SIZE"),
    ({"DRY_RUN": "maybe"}, "DRY_RUN"),
    ({"SMARTVAULT_NOW": "yesterday"}, "SMARTVAULT_NOW"),
    ({"LOG_FORMAT": "xml"}, "LOG_FORMAT"),
    ({"LOG_LEVEL": "verbose"}, "LOG_LEVEL"),
    ({"SNS_TOPIC_ARN": "arn:aws:sns:us-east-1:123:topic"}, "SNS_TOPIC_ARN"),
    ({"METRIC_NAMESPACE": "AWS/EC2"}, "METRIC_NAMESPACE"),
    ({"METRICS_MODE": "prometheus"}, "METRICS_MODE"),
    ({"DYNAMODB_TABLE": "ab"}, "DYNAMODB_TABLE"),
    ({"AUDIT_TTL_DAYS": "0"}, "AUDIT_TTL_DAYS"),
    ({"S3_SOURCE_BUCKET": "My_Bucket", "S3_ROUTES": "a/=bkt-a"}, "S3_SOURCE_BUCKET"),
    ({"S3_SOURCE_BUCKET": "src-bkt"}, "S3_SOURCE_BUCKET"),
    ({"SRC_BUCKET": "src-bkt"}, "SRC_BUCKET"),
    ({"S3_ROUTES": "a/=bkt-a"}, "S3_ROUTES"),
    ({"S3_SOURCE_BUCKET": "src-bkt", "S3_ROUTES": "a/=bkt-one,a/=bkt-two"}, "S3_ROUTES"),
    ({"S3_SOURCE_BUCKET": "src-bkt", "S3_ROUTES": "documents/=Bad_Bucket"}, "S3_ROUTES"),
    ({"SRC_BUCKET": "src-bkt", "S3_ROUTES": "documents/=bkt-a", "DOC_DEST": "bkt-b"}, "DOC_DEST"),
    ({"SRC_BUCKET": "src-bkt", "PHOTO_DEST": "x"}, "PHOTO_DEST"),
    ({"SRC_BUCKET": "src-bkt", "DB_DEST": "192.168.1.1"}, "DB_DEST"),
    ({"S3_DEST_PREFIX": "/backup/"}, "S3_DEST_PREFIX"),
    ({"S3_STORAGE_CLASS": "REDUCED_REDUNDANCY"}, "S3_STORAGE_CLASS"),
    ({"S3_SSE": "SSE-C"}, "S3_SSE"),
    ({"S3_SSE": "aws:kms"}, "S3_SSE_KMS_KEY_ID"),
    ({"S3_SSE_KMS_KEY_ID": "alias/s3"}, "S3_SSE_KMS_KEY_ID"),
    ({"S3_MULTIPART_THRESHOLD": "6GiB"}, "S3_MULTIPART_THRESHOLD"),
    ({"S3_PART_SIZE": "4MiB"}, "S3_PART_SIZE"),
    ({"AWS_MAX_ATTEMPTS": "21"}, "AWS_MAX_ATTEMPTS"),
    ({"AWS_RETRY_MODE": "fast"}, "AWS_RETRY_MODE"),
    ({"AWS_ENDPOINT_URL_EC2": "ec2.local"}, "AWS_ENDPOINT_URL_EC2"),
    ({"AWS_ENDPOINT_URL_S3": "ftp://s3"}, "AWS_ENDPOINT_URL_S3"),
    ({"AWS_ENDPOINT_URL_SNS": "http://sns:0"}, "AWS_ENDPOINT_URL_SNS"),
    ({"AWS_ENDPOINT_URL_CLOUDWATCH": "https://"}, "AWS_ENDPOINT_URL_CLOUDWATCH"),
    ({"AWS_ENDPOINT_URL_DYNAMODB": "http://ddb/?x=1"}, "AWS_ENDPOINT_URL_DYNAMODB"),
    ({"AWS_ENDPOINT_URL_STS": "sts"}, "AWS_ENDPOINT_URL_STS"),
    ({"AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "sometimes"}, "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"),
    ({"AWS_CA_BUNDLE": "/nonexistent/ca.pem"}, "AWS_CA_BUNDLE"),
    ({"SSL_CERT_FILE": "/"}, "SSL_CERT_FILE"),
    ({"AWS_EC2_METADATA_DISABLED": "disabled"}, "AWS_EC2_METADATA_DISABLED"),
]

# (flags, the start of the error line)
BAD_FLAGS = [
    (["--retention-days", "7d"], "RETENTION_DAYS: "),
    (["--source-region", "US-EAST-1"], "SOURCE_REGION: "),
    (["--dest-region", "nowhere"], "DEST_REGION: "),
    (["--min-keep", "x"], "MIN_KEEP: "),
    (["--backup-tag", "novalue"], "BACKUP_TAG: "),
    (["--now", "soon"], "SMARTVAULT_NOW: "),
    (["--log-format", "xml"], "LOG_FORMAT: "),
    (["--log-level", "loud"], "LOG_LEVEL: "),
    (["--dry-run=perhaps"], "DRY_RUN: "),
    (["--set", "MAX_CONCURRENCY=0"], "MAX_CONCURRENCY: "),
    (["--set", "FOO=1"], "--set: "),
    (["--set", "AWS_SECRET_ACCESS_KEY=x"], "--set: "),
    (["--frobnicate"], "--frobnicate: "),
    (["--retention-days"], "--retention-days: "),
    (["positional"], "positional: "),
]


def _assert_one_line_error(proc, start, listener):
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    assert proc.stdout == "", proc.stdout
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert proc.stderr.endswith("\n")
    assert lines[0].startswith("smartvault: " + start), lines[0]
    assert listener.connections == 0, "a configuration error must stop before any network call"


@pytest.mark.parametrize("command", [[], ["run"], ["config"]], ids=["default", "run", "config"])
@pytest.mark.parametrize("extra,var", BAD_ENV, ids=[f"{v}={list(e.values())[-1]}" for e, v in BAD_ENV])
def test_bad_value_exits_2_with_one_line_and_no_connection(run_smartvault, aws_env, listener, command, extra, var):
    proc = run_smartvault(command, extra_env=extra, timeout=30)
    _assert_one_line_error(proc, var + ": ", listener)


@pytest.mark.parametrize("flags,start", BAD_FLAGS, ids=[" ".join(f) for f, _ in BAD_FLAGS])
def test_bad_flag_exits_2_with_one_line_and_no_connection(run_smartvault, listener, flags, start):
    for command in (["run"], ["config"]):
        proc = run_smartvault([*command, *flags], timeout=30)
        _assert_one_line_error(proc, start, listener)


def test_flag_error_names_the_flag(run_smartvault, listener):
    proc = run_smartvault(["run", "--retention-days", "7d"])
    _assert_one_line_error(proc, "RETENTION_DAYS: ", listener)
    assert '"7d"' in proc.stderr and "--retention-days" in proc.stderr


def _config_lines(stdout):
    lines = {}
    for line in stdout.splitlines():
        m = re.fullmatch(r"([A-Z0-9_]+)=(.*)  \(source: (.+)\)", line)
        assert m, f"not a NAME=value  (source: ...) line: {line!r}"
        lines[m.group(1)] = (m.group(2), m.group(3))
    return lines


def test_config_prints_every_setting_with_its_source(run_smartvault, listener):
    proc = run_smartvault(
        ["config", "--retention-days", "14"],
        extra_env={"RETENTION_DAYS": "7", "AWS_REGION": "eu-west-1", "SRC_BUCKET": "src-bkt", "DOC_DEST": "doc-bkt"},
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    lines = _config_lines(proc.stdout)
    assert lines["RETENTION_DAYS"] == ("14", "flag --retention-days")
    assert lines["DEST_RETENTION_DAYS"] == ("14", "default = RETENTION_DAYS")
    assert lines["SOURCE_REGION"] == ("eu-west-1", "alias AWS_REGION")
    assert lines["S3_SOURCE_BUCKET"] == ("src-bkt", "alias SRC_BUCKET")
    assert lines["S3_ROUTES"] == ("documents/=doc-bkt", "alias DOC_DEST")
    assert lines["AWS_ENDPOINT_URL"] == (listener.url, "env")
    assert lines["MIN_KEEP"] == ("1", "default")
    assert listener.connections == 0


def test_config_lists_every_non_alias_variable(run_smartvault, smartvault):
    names = run_smartvault(["debug", "cfg-vars"]).stdout.split()
    assert "RETENTION_DAYS" in names and "SRC_BUCKET" in names and "AWS_SECRET_ACCESS_KEY" in names
    lines = _config_lines(run_smartvault(["config"]).stdout)
    aliases = {"AWS_REGION", "AWS_DEFAULT_REGION", "SRC_BUCKET", "DOC_DEST", "PHOTO_DEST", "DB_DEST", "SSL_CERT_FILE",
               "JOB_COMPLETION_INDEX", "AWS_BATCH_JOB_ARRAY_INDEX", "AWS_BATCH_JOB_ARRAY_SIZE"}
    # TARGETS and TARGET describe this shard's targets (same line format, not variables).
    assert set(lines) - {"TARGETS", "TARGET"} == set(names) - aliases


def test_help_lists_every_variable(run_smartvault):
    names = run_smartvault(["debug", "cfg-vars"]).stdout.split()
    assert len(names) > 50
    proc = run_smartvault(["--help"])
    assert proc.returncode == 0
    missing = [n for n in names if not re.search(rf"(?<![A-Z0-9_]){n}(?![A-Z0-9_])", proc.stdout)]
    assert not missing, f"variables missing from --help: {missing}"
    for flag in ["--source-region", "--dest-region", "--retention-days", "--dry-run", "--backup-tag", "--min-keep",
                 "--now", "--log-format", "--log-level", "--set"]:
        assert flag in proc.stdout, flag
    # `config --help` and `run --help` print the same usage rather than "unknown flag".
    assert run_smartvault(["config", "--help"]).stdout == proc.stdout
    assert run_smartvault(["run", "--help"]).stdout == proc.stdout


def test_config_redacts_credentials(run_smartvault, listener):
    secret = secrets_registry.register("supersecretsupersecretsupersecret0123456789")
    token = secrets_registry.register("IQoJb3JpZ2luX2VjEXAMPLEsessiontoken")
    bearer = secrets_registry.register("containerbearertoken-0123456789")
    proxy_password = secrets_registry.register("proxypassword-0123456789")
    env = {
        "AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE",
        "AWS_SECRET_ACCESS_KEY": secret,
        "AWS_SESSION_TOKEN": token,
        "AWS_CONTAINER_AUTHORIZATION_TOKEN": bearer,
        "HTTPS_PROXY": f"http://user:{proxy_password}@proxy.internal:3128",
        "AWS_ROLE_ARN": "arn:aws:iam::123456789012:role/smartvault",
        "AWS_ENDPOINT_URL": listener.url,
    }
    proc = run_smartvault(["config"], env=env)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout + proc.stderr
    for value in (secret, token, bearer, proxy_password, "AKIAIOSFODNN7EXAMPLE"):
        assert value not in out
    lines = _config_lines(proc.stdout)
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                 "AWS_CONTAINER_AUTHORIZATION_TOKEN", "HTTPS_PROXY"):
        assert lines[name] == ("(set)", "env"), name
    assert lines["AWS_ROLE_ARN"] == ("arn:aws:iam::123456789012:role/smartvault", "env")
    assert lines["AWS_CONTAINER_CREDENTIALS_FULL_URI"] == ("", "unset")
    # A bad value next to secrets: the one error line does not carry them either.
    proc = run_smartvault(["run"], env={**env, "RETENTION_DAYS": "x"})
    assert proc.returncode == 2
    assert secret not in proc.stderr and token not in proc.stderr
    assert listener.connections == 0


def test_endpoint_password_is_not_echoed(run_smartvault, listener):
    password = secrets_registry.register("endpointpassword-0123456789")
    proc = run_smartvault(["config"], extra_env={"AWS_ENDPOINT_URL": f"http://admin:{password}@127.0.0.1:1/"})
    _assert_one_line_error(proc, "AWS_ENDPOINT_URL: ", listener)
    assert password not in proc.stderr


@pytest.mark.parametrize(
    "seed_env",
    [
        # seed 000/001/003: the Lambda environment of the EBS scripts
        {"SOURCE_REGION": "ap-southeast-2", "DEST_REGION": "ap-southeast-1", "RETENTION_DAYS": "7",
         "SNS_TOPIC_ARN": "arn:aws:sns:ap-southeast-2:123456789012:smartvault-alerts"},
        # seed 004: the S3 folder backup
        {"SNS_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:backup-status-notifications",
         "SRC_BUCKET": "your-source-files-bucket", "DOC_DEST": "your-documents-backup-bucket",
         "PHOTO_DEST": "your-photos-backup-bucket", "DB_DEST": "your-database-backup-bucket"},
    ],
    ids=["seed-000", "seed-004"],
)
def test_seed_environments_are_accepted(run_smartvault, listener, seed_env):
    proc = run_smartvault(["config"], extra_env=seed_env)
    assert proc.returncode == 0, proc.stderr
    lines = _config_lines(proc.stdout)
    if "SRC_BUCKET" in seed_env:
        assert lines["S3_ROUTES"][0] == (
            "documents/=your-documents-backup-bucket,photos/=your-photos-backup-bucket,"
            "database/=your-database-backup-bucket"
        )
    else:
        assert lines["DEST_REGION"] == ("ap-southeast-1", "env")
    assert listener.connections == 0


def test_flags_without_a_command_mean_run(run_smartvault, listener):
    proc = run_smartvault(["--retention-days", "0"])
    _assert_one_line_error(proc, "RETENTION_DAYS: ", listener)


def test_listener_sees_the_binary_connect(run_smartvault, listener):
    """Control for the zero-connection checks above: the same listener does count a real connection."""
    run_smartvault(["debug", "http", listener.url + "/"], timeout=30)
    deadline = time.monotonic() + 5
    while listener.connections == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert listener.connections >= 1


def test_only_the_configuration_reads_the_environment(tmp_path):
    """Nothing outside src/cfg/ and the credential providers calls getenv (tests/tools/getenv_check.sh), and the
    check does fail on a new one."""
    import subprocess
    from pathlib import Path
    root = Path(__file__).resolve().parents[2]
    check = root / "tests/tools/getenv_check.sh"
    ok = subprocess.run([check, root / "src"], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stdout
    (tmp_path / "aws").mkdir()
    (tmp_path / "cfg").mkdir()
    (tmp_path / "cfg/cfg.c").write_text('const char *a(void) { return getenv("X"); }\n')
    (tmp_path / "aws/creds_env.c").write_text('const char *b(void) { return getenv("AWS_ACCESS_KEY_ID"); }\n')
    assert subprocess.run([check, tmp_path], capture_output=True).returncode == 0
    (tmp_path / "aws/stack.c").write_text('const char *c(void) { return getenv("AWS_REGION"); }\n')
    bad = subprocess.run([check, tmp_path], capture_output=True, text=True)
    assert bad.returncode == 1 and "aws/stack.c:1:" in bad.stdout
