"""The credentials chain from outside: `smartvault debug creds` against fake IMDS, container and STS servers.

Contract (AWS_CLIENT_SPEC_NOTES.md §1-4, src/aws/creds.h):
- order env -> web identity -> container -> IMDS; the first link that answers wins and is named;
- a link that is configured but fails logs `creds.provider_failed` and the chain goes on; container and IMDS are
  exclusive; a misconfigured link stops the chain with exit 2; no credentials at all: exit 3 and one line;
- token files are re-read on every fetch; IMDSv1 fallback; 401 -> new IMDS token; refresh before expiry
  (`--twice --advance S` asks again S seconds later, on the injected clock `--now`);
- no secret (secret key, session token, bearer token, web identity token) ever appears in any output.

Needs only the binary and credservers.py: no emulator.
"""

import json
import os
import socket
import subprocess

import pytest

import secrets_registry
from credservers import FakeContainer, FakeIMDS, FakeSTS, iso

NOW = 1767225600  # 2026-01-01T00:00:00Z, passed to the binary with --now: no test depends on the wall clock
ROLE = "arn:aws:iam::123456789012:role/smartvault"


def closed_port_url():
    """http://127.0.0.1:<port> where nothing listens (connection refused at once)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


class Result:
    """A finished run: rc, stdout, stderr, the key=value blocks it printed, and its JSON log lines."""

    def __init__(self, proc):
        self.rc = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr
        self.blocks = [{}]
        self.logs = []
        for line in proc.stdout.splitlines():
            if line.startswith("{"):
                self.logs.append(json.loads(line))
            elif "=" in line:
                k, v = line.split("=", 1)
                if k == "advanced":
                    self.blocks.append({})
                self.blocks[-1][k] = v
        self.first = self.blocks[0]
        self.last = self.blocks[-1]

    def events(self, name):
        return [e for e in self.logs if e.get("event") == name]


@pytest.fixture
def creds_run(request, smartvault, smartvault_output):
    """creds_run(env, *extra_args) -> Result of `smartvault debug creds --now NOW ...` with exactly env (+PATH).

    IMDS is pointed at a closed local port unless the test configures or disables it, so no test ever reaches the
    real 169.254.169.254. Every run is recorded for test_zz_no_secrets.py.
    """

    def run(env, *args, timeout=60):
        full = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **env}
        if "AWS_EC2_METADATA_SERVICE_ENDPOINT" not in full:
            full["AWS_EC2_METADATA_SERVICE_ENDPOINT"] = closed_port_url()
        argv = ["debug", "creds", "--now", str(NOW), *args]
        proc = subprocess.run([smartvault, *argv], env=full, stdin=subprocess.DEVNULL, capture_output=True,
                              text=True, errors="replace", timeout=timeout)
        smartvault_output.append({"test": request.node.nodeid, "args": argv, "returncode": proc.returncode,
                                  "stdout": proc.stdout, "stderr": proc.stderr})
        return Result(proc)

    return run


def assert_no_secrets(result, *values):
    """None of the values (and no full key id: only ****WXYZ) appears anywhere the binary printed."""
    text = result.stdout + result.stderr
    for v in values:
        if v:
            assert v not in text, "a secret value was printed"
    for block in result.blocks:
        key = block.get("access_key_id", "")
        assert key == "" or (key.startswith("****") and len(key) == 8), key


def issued_secrets(*servers):
    out = []
    for s in servers:
        for c in s.issued:
            if c:
                out += [c["SecretAccessKey"], c["Token"], c["AccessKeyId"]]
    return out


def write_token(path, value):
    path.write_text(value)
    secrets_registry.register(value)
    return value


# ---- every link alone ------------------------------------------------------------------------------------------


def test_env_alone(creds_run):
    secret = secrets_registry.register("envSecretKey/0123456789abcdefghijklmnop")
    token = secrets_registry.register("envSessionToken0123456789abcdefghij")
    r = creds_run({"AWS_ACCESS_KEY_ID": "AKIAENVEXAMPLE12WXYZ", "AWS_SECRET_ACCESS_KEY": secret,
                   "AWS_SESSION_TOKEN": token})
    assert r.rc == 0, r.stderr
    assert r.first == {"provider": "env", "access_key_id": "****WXYZ", "session_token": "present",
                       "expiration": "none", "fetches": "1"}
    resolved = r.events("creds.resolved")
    assert len(resolved) == 1 and resolved[0]["provider"] == "env" and resolved[0]["key_id"] == "****WXYZ"
    assert_no_secrets(r, secret, token, "AKIAENVEXAMPLE12WXYZ")


def test_env_legacy_security_token_and_expiration(creds_run):
    secret = secrets_registry.register("envSecretKey/legacy0123456789abcdefgh")
    r = creds_run({"AWS_ACCESS_KEY_ID": "AKIALEGACYEXAMPLE123", "AWS_SECRET_ACCESS_KEY": secret,
                   "AWS_SECURITY_TOKEN": "legacy-token-value-0123456789",
                   "AWS_CREDENTIAL_EXPIRATION": iso(NOW + 7200)})
    assert r.rc == 0, r.stderr
    assert r.first["session_token"] == "present"
    assert r.first["expiration"] == iso(NOW + 7200)


def test_web_identity_alone(creds_run, tmp_path):
    token = write_token(tmp_path / "token", "eyJhbGciOiJSUzI1NiJ9.web-identity-1.sig")
    with FakeSTS(role_arn=ROLE, token=token, session_name=f"smartvault-{NOW}",
                 expiration=iso(NOW + 3600)) as sts:
        r = creds_run({"AWS_WEB_IDENTITY_TOKEN_FILE": str(tmp_path / "token"), "AWS_ROLE_ARN": ROLE,
                       "AWS_REGION": "eu-west-1", "AWS_ENDPOINT_URL_STS": sts.url})
    assert r.rc == 0, r.stdout + r.stderr
    assert r.first["provider"] == "web_identity"
    assert r.first["session_token"] == "present"
    assert r.first["expiration"] == iso(NOW + 3600)
    assert len(sts.requests) == 1
    req = sts.requests[0]
    assert "authorization" not in req.headers  # AssumeRoleWithWebIdentity is unsigned
    assert req.form["RoleArn"] == ROLE and req.form["WebIdentityToken"] == token
    assert_no_secrets(r, token, *issued_secrets(sts))


def test_web_identity_session_name_from_env(creds_run, tmp_path):
    token = write_token(tmp_path / "token", "eyJhbGciOiJSUzI1NiJ9.web-identity-2.sig")
    with FakeSTS(role_arn=ROLE, token=token, session_name="nightly-backup@cluster") as sts:
        r = creds_run({"AWS_WEB_IDENTITY_TOKEN_FILE": str(tmp_path / "token"), "AWS_ROLE_ARN": ROLE,
                       "AWS_ROLE_SESSION_NAME": "nightly-backup@cluster", "AWS_ENDPOINT_URL": sts.url})
    assert r.rc == 0, r.stdout + r.stderr
    assert r.first["provider"] == "web_identity"
    assert sts.requests[0].form["RoleSessionName"] == "nightly-backup@cluster"


def test_container_full_uri_with_token(creds_run):
    auth = secrets_registry.register("Bearer ecs-auth-token-0123456789")
    with FakeContainer(auth=auth, expiration=iso(NOW + 3600)) as ecs:
        r = creds_run({"AWS_CONTAINER_CREDENTIALS_FULL_URI": ecs.url + ecs.path,
                       "AWS_CONTAINER_AUTHORIZATION_TOKEN": auth})
    assert r.rc == 0, r.stdout + r.stderr
    assert r.first["provider"] == "container"
    assert ecs.requests[0].headers.get("accept") == "application/json"
    assert ecs.seen_auth == [auth]
    assert_no_secrets(r, auth, *issued_secrets(ecs))


def test_eks_pod_identity_token_file(creds_run, tmp_path):
    """EKS Pod Identity: FULL_URI + AUTHORIZATION_TOKEN_FILE (which wins over the plain variable)."""
    token = write_token(tmp_path / "eks-pod-identity-token", "eyJhbGciOiJSUzI1NiJ9.pod-identity.sig")
    with FakeContainer(auth=token) as agent:
        r = creds_run({"AWS_CONTAINER_CREDENTIALS_FULL_URI": f"http://localhost:{agent.port}{agent.path}",
                       "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": str(tmp_path / "eks-pod-identity-token"),
                       "AWS_CONTAINER_AUTHORIZATION_TOKEN": "ignored-because-the-file-wins"})
    assert r.rc == 0, r.stdout + r.stderr
    assert r.first["provider"] == "container"
    assert agent.seen_auth == [token]
    assert_no_secrets(r, token, *issued_secrets(agent))


def test_imds_v2(creds_run):
    with FakeIMDS(mode="v2", expiration=iso(NOW + 3600)) as imds:
        r = creds_run({"AWS_EC2_METADATA_SERVICE_ENDPOINT": imds.url})
    assert r.rc == 0, r.stdout + r.stderr
    assert r.first["provider"] == "imds"
    assert r.first["expiration"] == iso(NOW + 3600)
    put = [q for q in imds.requests if q.method == "PUT"]
    assert len(put) == 1 and put[0].headers["x-aws-ec2-metadata-token-ttl-seconds"] == "21600"
    gets = [q for q in imds.requests if q.method == "GET"]
    assert [q.path for q in gets] == ["/latest/meta-data/iam/security-credentials/",
                                      "/latest/meta-data/iam/security-credentials/smartvault-role"]
    assert all("x-aws-ec2-metadata-token" in q.headers for q in gets)
    assert_no_secrets(r, *issued_secrets(imds), *imds.valid_tokens)


def test_imds_v1_fallback(creds_run):
    """Token PUT answered 403 -> plain GETs without a token, as botocore does."""
    with FakeIMDS(mode="v1") as imds:
        r = creds_run({"AWS_EC2_METADATA_SERVICE_ENDPOINT": imds.url})
    assert r.rc == 0, r.stdout + r.stderr
    assert r.first["provider"] == "imds"
    assert imds.token_puts >= 1
    assert all("x-aws-ec2-metadata-token" not in q.headers for q in imds.requests if q.method == "GET")
    assert imds.credential_gets == 1


def test_imds_v1_disabled_refuses_the_fallback(creds_run):
    """AWS_EC2_METADATA_V1_DISABLED=true: a failed token PUT is an error naming the variable; no GET is sent."""
    with FakeIMDS(mode="v1") as imds:
        r = creds_run({"AWS_EC2_METADATA_SERVICE_ENDPOINT": imds.url, "AWS_EC2_METADATA_V1_DISABLED": "true"})
    assert r.rc == 3, r.stdout + r.stderr
    assert "AWS_EC2_METADATA_V1_DISABLED" in r.stderr and "HTTP 403" in r.stderr, r.stderr
    assert imds.token_puts >= 1 and [q for q in imds.requests if q.method == "GET"] == []


def test_imds_v1_disabled_still_uses_v2(creds_run):
    with FakeIMDS(mode="v2", expiration=iso(NOW + 3600)) as imds:
        r = creds_run({"AWS_EC2_METADATA_SERVICE_ENDPOINT": imds.url, "AWS_EC2_METADATA_V1_DISABLED": "true"})
    assert r.rc == 0 and r.first["provider"] == "imds", r.stdout + r.stderr


def test_imds_without_role_fails_clearly(creds_run):
    with FakeIMDS(role=None) as imds:
        r = creds_run({"AWS_EC2_METADATA_SERVICE_ENDPOINT": imds.url})
    assert r.rc == 3
    assert "no IAM role" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_imds_disabled(creds_run):
    with FakeIMDS() as imds:
        r = creds_run({"AWS_EC2_METADATA_SERVICE_ENDPOINT": imds.url, "AWS_EC2_METADATA_DISABLED": "true"})
    assert r.rc == 3
    assert imds.requests == []
    assert r.stderr.strip() == ("smartvault: no credentials: env not set; web identity not configured; "
                                "container not configured; imds disabled (AWS_EC2_METADATA_DISABLED)")


def test_no_credentials_one_line(creds_run):
    r = creds_run({})
    assert r.rc == 3
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("smartvault: no credentials: env not set; web identity not configured; "
                               "container not configured; imds: ")
    assert "Could not connect" in lines[0] or "refused" in lines[0].lower()
    assert r.stdout.count("creds.provider_failed") == 1


# ---- precedence and fall-through -------------------------------------------------------------------------------


@pytest.fixture
def all_sources(tmp_path):
    """Four working sources at once; yields (env, servers) with every link configured."""
    token = write_token(tmp_path / "wi-token", "eyJhbGciOiJSUzI1NiJ9.precedence.sig")
    with FakeSTS(role_arn=ROLE, token=token) as sts, FakeContainer() as ecs, FakeIMDS() as imds:
        env = {
            "AWS_ACCESS_KEY_ID": "AKIAPRECEDENCE12ABCD",
            "AWS_SECRET_ACCESS_KEY": secrets_registry.register("precedenceSecret0123456789abcdefghij"),
            "AWS_WEB_IDENTITY_TOKEN_FILE": str(tmp_path / "wi-token"),
            "AWS_ROLE_ARN": ROLE,
            "AWS_ENDPOINT_URL_STS": sts.url,
            "AWS_CONTAINER_CREDENTIALS_FULL_URI": ecs.url + ecs.path,
            "AWS_EC2_METADATA_SERVICE_ENDPOINT": imds.url,
        }
        yield env, {"sts": sts, "ecs": ecs, "imds": imds}


@pytest.mark.parametrize(
    "drop, want, asked",
    [
        ([], "env", []),
        (["AWS_ACCESS_KEY_ID"], "web_identity", ["sts"]),
        (["AWS_ACCESS_KEY_ID", "AWS_WEB_IDENTITY_TOKEN_FILE"], "container", ["ecs"]),
        (["AWS_ACCESS_KEY_ID", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CONTAINER_CREDENTIALS_FULL_URI"], "imds", ["imds"]),
    ],
)
def test_precedence(creds_run, all_sources, drop, want, asked):
    env, servers = all_sources
    r = creds_run({k: v for k, v in env.items() if k not in drop})
    assert r.rc == 0, r.stdout + r.stderr
    assert r.first["provider"] == want
    for name, server in servers.items():
        assert (len(server.requests) > 0) == (name in asked), name
    assert [e["provider"] for e in r.events("creds.resolved")] == [want]
    assert r.events("creds.provider_failed") == []


def test_failing_web_identity_falls_through_to_container(creds_run, tmp_path):
    token = write_token(tmp_path / "token", "eyJhbGciOiJSUzI1NiJ9.wrong-role.sig")
    with FakeSTS(role_arn="arn:aws:iam::123456789012:role/other", token=token) as sts, FakeContainer() as ecs:
        r = creds_run({"AWS_WEB_IDENTITY_TOKEN_FILE": str(tmp_path / "token"), "AWS_ROLE_ARN": ROLE,
                       "AWS_ENDPOINT_URL_STS": sts.url, "AWS_CONTAINER_CREDENTIALS_FULL_URI": ecs.url + ecs.path})
    assert r.rc == 0, r.stdout + r.stderr
    assert r.first["provider"] == "container"
    failed = r.events("creds.provider_failed")
    assert len(failed) == 1 and failed[0]["provider"] == "web_identity" and failed[0]["level"] == "warn"
    assert "AccessDenied" in failed[0]["reason"]
    assert len(sts.requests) == 1  # AccessDenied is not retried
    assert_no_secrets(r, token, *issued_secrets(ecs))


def test_web_identity_retries_idp_errors(creds_run, tmp_path):
    token = write_token(tmp_path / "token", "eyJhbGciOiJSUzI1NiJ9.idp-flaky.sig")
    with FakeSTS(role_arn=ROLE, token=token,
                 errors=[(400, "IDPCommunicationError"), (400, "InvalidIdentityToken")]) as sts:
        r = creds_run({"AWS_WEB_IDENTITY_TOKEN_FILE": str(tmp_path / "token"), "AWS_ROLE_ARN": ROLE,
                       "AWS_ENDPOINT_URL_STS": sts.url})
    assert r.rc == 0, r.stdout + r.stderr
    assert r.first["provider"] == "web_identity"
    assert len(sts.requests) == 3


def test_container_relative_uri_wins_over_full_uri(creds_run):
    """RELATIVE_URI goes to the ECS agent at 169.254.170.2 (whatever answers there); FULL_URI is not used."""
    with FakeContainer() as ecs:
        r = creds_run({"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "/v2/credentials/task-1",
                       "AWS_CONTAINER_CREDENTIALS_FULL_URI": ecs.url + ecs.path})
    assert ecs.requests == []
    assert r.rc == 0 or "container: http://169.254.170.2" in r.stderr, r.stderr


def test_container_configured_means_imds_is_not_tried(creds_run):
    with FakeContainer(fail_status=500) as ecs, FakeIMDS() as imds:
        r = creds_run({"AWS_CONTAINER_CREDENTIALS_FULL_URI": ecs.url + ecs.path,
                       "AWS_EC2_METADATA_SERVICE_ENDPOINT": imds.url})
    assert r.rc == 3
    assert len(ecs.requests) == 3  # 3 attempts (botocore ContainerMetadataFetcher)
    assert imds.requests == []
    assert "imds not tried (container credentials are configured)" in r.stderr
    assert "container: " in r.stderr and "HTTP 500" in r.stderr


@pytest.mark.parametrize("host", ["example.com", "10.0.0.5", "169.254.169.254", "[fd00:ec2::254]"])
def test_container_full_uri_disallowed_http_host_is_refused(creds_run, host):
    with FakeIMDS() as imds:
        r = creds_run({"AWS_CONTAINER_CREDENTIALS_FULL_URI": f"http://{host}/creds",
                       "AWS_EC2_METADATA_SERVICE_ENDPOINT": imds.url})
    assert r.rc == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "is not allowed over http" in lines[0], r.stderr
    assert imds.requests == []


def test_container_auth_token_with_newline_is_refused(creds_run, tmp_path):
    (tmp_path / "tok").write_text("Bearer abc\r\nX-Injected: 1")
    with FakeContainer() as ecs:
        r = creds_run({"AWS_CONTAINER_CREDENTIALS_FULL_URI": ecs.url + ecs.path,
                       "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": str(tmp_path / "tok")})
    assert r.rc == 2
    assert "CR or LF" in r.stderr
    assert ecs.requests == []


def test_web_identity_token_file_without_role_is_a_config_error(creds_run, tmp_path):
    write_token(tmp_path / "token", "eyJhbGciOiJSUzI1NiJ9.no-role.sig")
    with FakeContainer() as ecs:
        r = creds_run({"AWS_WEB_IDENTITY_TOKEN_FILE": str(tmp_path / "token"),
                       "AWS_CONTAINER_CREDENTIALS_FULL_URI": ecs.url + ecs.path})
    assert r.rc == 2
    assert r.stderr.strip() == ("smartvault: credentials configuration: web identity: "
                                "AWS_WEB_IDENTITY_TOKEN_FILE is set but AWS_ROLE_ARN is not")
    assert ecs.requests == []  # a misconfigured link stops the chain


# ---- token files re-read, refresh before expiry ----------------------------------------------------------------


def test_web_identity_token_file_reread_on_refresh(creds_run, tmp_path):
    path = tmp_path / "token"
    tokens = [write_token(path, "eyJhbGciOiJSUzI1NiJ9.rotation-1.sig"), "eyJhbGciOiJSUzI1NiJ9.rotation-2.sig"]
    secrets_registry.register(tokens[1])
    current = {"i": 0}

    def rotate(req):  # kubelet rotates the projected token after the first exchange
        current["i"] = 1
        path.write_text(tokens[1])

    with FakeSTS(role_arn=ROLE, token=lambda: tokens[current["i"]], expiration=iso(NOW + 3600),
                 on_served=rotate) as sts:
        r = creds_run({"AWS_WEB_IDENTITY_TOKEN_FILE": str(path), "AWS_ROLE_ARN": ROLE,
                       "AWS_ENDPOINT_URL_STS": sts.url}, "--twice", "--advance", "3000")
    assert r.rc == 0, r.stdout + r.stderr
    assert [q.form["WebIdentityToken"] for q in sts.requests] == tokens
    assert r.last["fetches"] == "2"
    assert_no_secrets(r, *tokens, *issued_secrets(sts))


def test_container_token_file_reread_on_refresh(creds_run, tmp_path):
    path = tmp_path / "eks-token"
    tokens = [write_token(path, "eyJhbGciOiJSUzI1NiJ9.pod-1.sig"), "eyJhbGciOiJSUzI1NiJ9.pod-2.sig"]
    secrets_registry.register(tokens[1])
    current = {"i": 0}

    def rotate(req):
        current["i"] = 1
        path.write_text(tokens[1])

    with FakeContainer(auth=lambda: tokens[current["i"]], expiration=iso(NOW + 3600), on_served=rotate) as ecs:
        r = creds_run({"AWS_CONTAINER_CREDENTIALS_FULL_URI": ecs.url + ecs.path,
                       "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": str(path)}, "--twice", "--advance", "3000")
    assert r.rc == 0, r.stdout + r.stderr
    assert ecs.seen_auth == tokens
    assert_no_secrets(r, *tokens, *issued_secrets(ecs))


@pytest.mark.parametrize(
    "advance, fetches, event",
    [
        (60, 1, None),  # 59 min left: used as is
        (2800, 2, "creds.refreshed"),  # 13 min 20 s left: advisory refresh
        (3000, 2, "creds.refreshed"),  # 10 min left: mandatory refresh
        (7200, 2, "creds.refreshed"),  # expired: mandatory refresh
    ],
)
def test_refresh_before_expiry(creds_run, advance, fetches, event):
    # The first document expires at NOW + 1 h; a later one an hour after the advanced clock.
    with FakeIMDS(expiration=lambda n: iso(NOW + 3600 + (advance if n else 0))) as imds:
        r = creds_run({"AWS_EC2_METADATA_SERVICE_ENDPOINT": imds.url}, "--twice", "--advance", str(advance))
    assert r.rc == 0, r.stdout + r.stderr
    assert r.last["fetches"] == str(fetches)
    assert imds.credential_gets == fetches
    assert imds.token_puts == 1  # the session token is cached for 6 hours of the injected clock
    if event:
        assert len(r.events(event)) == 1
    assert r.last["expiration"] == iso(NOW + 3600 + (advance if fetches == 2 else 0))
    assert_no_secrets(r, *issued_secrets(imds))


def test_imds_401_gets_a_new_token(creds_run):
    """Tokens expire on the server after the first document: the refresh gets 401, re-PUTs once, succeeds."""
    with FakeIMDS(expiration=iso(NOW + 3600), expire_tokens_after=1) as imds:
        r = creds_run({"AWS_EC2_METADATA_SERVICE_ENDPOINT": imds.url}, "--twice", "--advance", "3000")
    assert r.rc == 0, r.stdout + r.stderr
    assert imds.token_puts == 2
    assert imds.credential_gets == 2
    assert r.last["fetches"] == "2"


def test_advisory_refresh_failure_keeps_the_old_credentials(creds_run):
    with FakeContainer(expiration=iso(NOW + 3600), fail_status=403, fail_after=1) as ecs:
        r = creds_run({"AWS_CONTAINER_CREDENTIALS_FULL_URI": ecs.url + ecs.path}, "--twice", "--advance", "2800")
    assert r.rc == 0, r.stdout + r.stderr
    assert r.last["expiration"] == iso(NOW + 3600)
    assert r.last["fetches"] == "1"
    failed = r.events("creds.refresh_failed")
    assert len(failed) == 1 and failed[0]["mandatory"] is False and failed[0]["level"] == "warn"


def test_mandatory_refresh_failure_is_exit_3(creds_run):
    with FakeContainer(expiration=iso(NOW + 3600), fail_status=403, fail_after=1) as ecs:
        r = creds_run({"AWS_CONTAINER_CREDENTIALS_FULL_URI": ecs.url + ecs.path}, "--twice", "--advance", "3000")
    assert r.rc == 3
    assert "container: refresh failed: " in r.stderr and "HTTP 403" in r.stderr
    failed = r.events("creds.refresh_failed")
    assert len(failed) == 1 and failed[0]["mandatory"] is True


@pytest.mark.parametrize("advance, rc", [(3000, 0), (7200, 3)])
def test_refresh_uses_the_link_that_answered(creds_run, advance, rc):
    """A refresh asks the same provider again and never moves down the chain (the IMDS server stays unasked).

    Expiring keys in the environment re-read at a refresh are the same keys: still valid 10 min before expiry
    (botocore only fails a refresh whose result is already expired), refused once they have expired.
    """
    secret = secrets_registry.register("envSecretKey/expiring0123456789abcdef")
    with FakeIMDS() as imds:
        r = creds_run({"AWS_ACCESS_KEY_ID": "AKIAEXPIRINGENV0WXYZ", "AWS_SECRET_ACCESS_KEY": secret,
                       "AWS_SESSION_TOKEN": "env-session-token-0123456789",
                       "AWS_CREDENTIAL_EXPIRATION": iso(NOW + 3600),
                       "AWS_EC2_METADATA_SERVICE_ENDPOINT": imds.url}, "--twice", "--advance", str(advance))
    assert r.rc == rc, r.stdout + r.stderr
    assert imds.requests == []
    if rc == 0:
        assert r.last["provider"] == "env" and r.last["fetches"] == "2"
    else:
        assert r.stderr.strip() == ("smartvault: no credentials: env: refresh failed: credentials expired at "
                                    + iso(NOW + 3600))
    assert_no_secrets(r, secret)


# ---- debug endpoint (endpoint resolution from outside) ---------------------------------------------------------


def _endpoint(smartvault, env, *args):
    proc = subprocess.run([smartvault, "debug", "endpoint", *args], env=env, capture_output=True, text=True,
                          timeout=30)
    out = dict(line.split("=", 1) for line in proc.stdout.splitlines() if "=" in line)
    return proc.returncode, out, proc.stderr


def test_debug_endpoint_default_and_overrides(smartvault):
    rc, out, _ = _endpoint(smartvault, {"AWS_REGION": "cn-north-1"}, "cloudwatch")
    assert rc == 0
    assert out == {"url": "https://monitoring.cn-north-1.amazonaws.com.cn",
                   "host": "monitoring.cn-north-1.amazonaws.com.cn", "signing_name": "monitoring",
                   "signing_region": "cn-north-1", "source": "default", "path_style": "no"}
    env = {"AWS_REGION": "us-east-1", "AWS_ENDPOINT_URL": "http://127.0.0.1:5000",
           "AWS_ENDPOINT_URL_S3": "http://localhost:4566/s3"}
    rc, out, _ = _endpoint(smartvault, env, "s3", "--bucket", "docs")
    assert rc == 0
    assert out["url"] == "http://localhost:4566/s3/docs" and out["path_style"] == "yes"
    assert out["source"] == "AWS_ENDPOINT_URL_S3"
    rc, out, _ = _endpoint(smartvault, env, "sns")
    assert out["url"] == "http://127.0.0.1:5000" and out["signing_name"] == "sns"
    rc, out, _ = _endpoint(smartvault, {**env, "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true"}, "sns")
    assert out["url"] == "https://sns.us-east-1.amazonaws.com"


def test_debug_endpoint_refusals(smartvault):
    rc, _, err = _endpoint(smartvault, {"AWS_REGION": "us-east-1", "AWS_ENDPOINT_URL_KMS": "ftp://x"}, "kms")
    assert rc == 2 and "AWS_ENDPOINT_URL_KMS" in err
    rc, _, err = _endpoint(smartvault, {"AWS_REGION": "us-east-1"}, "lambda")
    assert rc == 2
    rc, _, err = _endpoint(smartvault, {"AWS_EC2_METADATA_DISABLED": "true"}, "ec2")
    assert rc == 2 and err.startswith("smartvault: no region: ") and "AWS_EC2_METADATA_DISABLED" in err
    rc, _, err = _endpoint(smartvault, {"AWS_EC2_METADATA_SERVICE_ENDPOINT": closed_port_url()}, "ec2")
    assert rc == 3 and err.startswith("smartvault: no region: ")


@pytest.mark.parametrize("mode", ["v2", "v1"])
def test_region_from_imds_when_none_is_set(smartvault, mode):
    with FakeIMDS(mode=mode, region="ap-southeast-2") as imds:
        rc, out, err = _endpoint(smartvault, {"AWS_EC2_METADATA_SERVICE_ENDPOINT": imds.url}, "ec2")
    assert rc == 0, err
    assert out["region_source"] == "imds"
    assert out["url"] == "https://ec2.ap-southeast-2.amazonaws.com" and out["signing_region"] == "ap-southeast-2"
    gets = [q for q in imds.requests if q.method == "GET"]
    assert [q.path for q in gets] == ["/latest/meta-data/placement/region"]
    assert all(("x-aws-ec2-metadata-token" in q.headers) == (mode == "v2") for q in gets)


def test_region_from_imds_is_validated(smartvault):
    with FakeIMDS(region="us-east-1.evil.example") as imds:
        rc, _, err = _endpoint(smartvault, {"AWS_EC2_METADATA_SERVICE_ENDPOINT": imds.url}, "s3")
    assert rc == 3 and "not a region name" in err
