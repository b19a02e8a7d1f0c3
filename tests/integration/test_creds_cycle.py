"""Every credential provider signs a real backup cycle against the emulator (not only `debug creds`).

- container (ECS task role, EKS Pod Identity) and IMDS: the fake endpoints of credservers.py hand out real
  temporary credentials of the emulator (STS AssumeRole on a role with an allow-all policy), and moto runs with
  signature checking and IAM enforcement on (INITIAL_NO_AUTH_ACTION_COUNT): every call of the cycle must be
  signed correctly with exactly those credentials, session token included, or moto refuses it.
- web identity (EKS IRSA): the binary asks the emulator's own STS (AssumeRoleWithWebIdentity, unsigned). moto
  5.1.1 answers that call with a 500 while signature checking is on, so this cycle runs with checking off and
  proves the credentials another way: moto keeps separate state per account and attributes a request to the
  account of the role whose temporary key signed it, so the snapshots the cycle makes appear in the role's account
  (111111111111) and not in the default one.

Each cycle backs up one tagged instance and must exit 0 with the snapshot in place (checked with boto3).
"""

import json
import os
import subprocess

import pytest

import ebs_fleet
import secrets_registry
from credservers import FakeContainer, FakeIMDS, iso

ALLOW_ALL = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})
TRUST_ALL = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}]})
REGION = "us-east-1"
ROLE_ACCOUNT = "111111111111"


def _client(service, url, creds=None):
    import boto3

    creds = creds or {"AccessKeyId": "testing", "SecretAccessKey": "testing"}
    return boto3.client(service, region_name=REGION, endpoint_url=url, aws_access_key_id=creds["AccessKeyId"],
                        aws_secret_access_key=creds["SecretAccessKey"], aws_session_token=creds.get("Token"))


@pytest.fixture
def signed_world(start_moto):
    """moto with signature checking on, an admin user, a role with an allow-all policy, and one tagged instance.
    Returns (server, issue) where issue() gives a fresh AssumeRole credential set in the container/IMDS shape."""
    server = start_moto({"INITIAL_NO_AUTH_ACTION_COUNT": "5"})
    iam = _client("iam", server.url)
    iam.create_user(UserName="admin")
    iam.put_user_policy(UserName="admin", PolicyName="all", PolicyDocument=ALLOW_ALL)
    key = iam.create_access_key(UserName="admin")["AccessKey"]
    role_arn = iam.create_role(RoleName="smartvault-task", AssumeRolePolicyDocument=TRUST_ALL)["Role"]["Arn"]
    admin = {"AccessKeyId": key["AccessKeyId"], "SecretAccessKey": key["SecretAccessKey"]}
    secrets_registry.register(key["SecretAccessKey"])
    _client("iam", server.url, admin).put_role_policy(RoleName="smartvault-task", PolicyName="all",
                                                      PolicyDocument=ALLOW_ALL)
    ec2 = _client("ec2", server.url, admin)
    ebs_fleet.launch(ec2, count=1, tags={"Backup": "true"}, volumes=2, name="signed")
    sts = _client("sts", server.url, admin)

    def issue():
        c = sts.assume_role(RoleArn=role_arn, RoleSessionName="smartvault-task")["Credentials"]
        secrets_registry.register(c["SecretAccessKey"], c["SessionToken"])
        return {"AccessKeyId": c["AccessKeyId"], "SecretAccessKey": c["SecretAccessKey"], "Token": c["SessionToken"]}

    return server, ec2, issue


def _marked_snapshots(ec2, account):
    """The SmartVault snapshots owned by `account` (moto's OwnerIds=self also lists public sample snapshots)."""
    snaps = ec2.describe_snapshots(OwnerIds=["self"], Filters=[ebs_fleet.MARKER])["Snapshots"]
    return [s["SnapshotId"] for s in snaps if s["OwnerId"] == account]


def _run_cycle(smartvault, smartvault_output, request, env):
    full = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "AWS_REGION": REGION, "METRICS_MODE": "off", **env}
    proc = subprocess.run([smartvault, "run"], env=full, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          errors="replace", timeout=120)
    smartvault_output.append({"test": request.node.nodeid, "args": ["run"], "returncode": proc.returncode,
                              "stdout": proc.stdout, "stderr": proc.stderr})
    return proc


def _resolved_provider(stdout):
    lines = ebs_fleet.of(stdout, "creds.resolved")
    return lines[0].get("provider") if lines else None


def test_container_credentials_sign_a_cycle(signed_world, smartvault, smartvault_output, request):
    server, ec2, issue = signed_world
    with FakeContainer(auth="Bearer pod-identity", issue=issue, expiration=iso(2_000_000_000)) as agent:
        proc = _run_cycle(smartvault, smartvault_output, request, {
            "AWS_ENDPOINT_URL": server.url,
            "AWS_CONTAINER_CREDENTIALS_FULL_URI": agent.url + agent.path,
            "AWS_CONTAINER_AUTHORIZATION_TOKEN": "Bearer pod-identity",
        })
        assert agent.answered >= 1
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr
    assert _resolved_provider(proc.stdout) == "container"
    assert ebs_fleet.done(proc.stdout)["counts"]["snapshots_created"] == 2
    assert len(ebs_fleet.smartvault_snapshots(ec2)) == 2


def test_imds_credentials_sign_a_cycle(signed_world, smartvault, smartvault_output, request):
    server, ec2, issue = signed_world
    with FakeIMDS(mode="v2", issue=issue, expiration=iso(2_000_000_000), region=REGION) as imds:
        proc = _run_cycle(smartvault, smartvault_output, request, {
            "AWS_ENDPOINT_URL": server.url,
            "AWS_EC2_METADATA_SERVICE_ENDPOINT": imds.url,
        })
        assert imds.credential_gets >= 1 and imds.token_puts >= 1
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr
    assert _resolved_provider(proc.stdout) == "imds"
    assert ebs_fleet.done(proc.stdout)["counts"]["snapshots_created"] == 2
    assert len(ebs_fleet.smartvault_snapshots(ec2)) == 2


def test_wrong_container_credentials_are_refused_by_the_emulator(signed_world, smartvault, smartvault_output,
                                                                   request):
    """The control: the same cycle with a secret the emulator does not know fails on its first signed call, so the
    two tests above prove the signatures, not merely that the emulator accepts anything."""
    server, ec2, issue = signed_world

    def wrong():
        c = issue()
        return {**c, "SecretAccessKey": "x" + c["SecretAccessKey"][1:]}

    with FakeContainer(issue=wrong, expiration=iso(2_000_000_000)) as agent:
        proc = _run_cycle(smartvault, smartvault_output, request, {
            "AWS_ENDPOINT_URL": server.url,
            "AWS_CONTAINER_CREDENTIALS_FULL_URI": agent.url + agent.path,
        })
    assert proc.returncode != 0
    assert len(ebs_fleet.smartvault_snapshots(ec2)) == 0


def test_web_identity_through_the_emulators_sts_signs_a_cycle(moto, smartvault, smartvault_output, request, tmp_path):
    role_arn = f"arn:aws:iam::{ROLE_ACCOUNT}:role/smartvault-irsa"
    # The fleet lives in the role's account: seed it with that account's own web-identity credentials.
    from botocore import UNSIGNED
    from botocore.config import Config
    import boto3

    sts = boto3.client("sts", region_name=REGION, endpoint_url=moto.url, config=Config(signature_version=UNSIGNED))
    seed = sts.assume_role_with_web_identity(RoleArn=role_arn, RoleSessionName="seed", WebIdentityToken="seed-jwt-token")
    c = seed["Credentials"]
    role_ec2 = _client("ec2", moto.url, {"AccessKeyId": c["AccessKeyId"], "SecretAccessKey": c["SecretAccessKey"],
                                         "Token": c["SessionToken"]})
    secrets_registry.register(c["SecretAccessKey"], c["SessionToken"])
    ebs_fleet.launch(role_ec2, count=1, tags={"Backup": "true"}, volumes=2, name="irsa")
    token_file = tmp_path / "token"
    token_file.write_text("eyJhbGciOiJSUzI1NiJ9.irsa-service-account-token.sig")
    secrets_registry.register(token_file.read_text())
    proc = _run_cycle(smartvault, smartvault_output, request, {
        "AWS_ENDPOINT_URL": moto.url,
        "AWS_ROLE_ARN": role_arn,
        "AWS_WEB_IDENTITY_TOKEN_FILE": str(token_file),
        "AWS_EC2_METADATA_DISABLED": "true",
    })
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr
    assert _resolved_provider(proc.stdout) == "web_identity"
    assert ebs_fleet.done(proc.stdout)["counts"]["snapshots_created"] == 2
    # In the role's account, and only there: the cycle's calls carried the role's temporary key.
    assert len(_marked_snapshots(role_ec2, ROLE_ACCOUNT)) == 2
    default_ec2 = _client("ec2", moto.url)
    assert _marked_snapshots(default_ec2, ebs_fleet.ACCOUNT_ID) == []
