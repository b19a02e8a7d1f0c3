"""Least privilege of a multi-account run, under moto's IAM enforcement (see test_least_privilege.py for what
moto 5.1.1 enforces and how policies are projected for it).

The hub is a user whose ONLY policy is the hub job role's policy of ecs/batch.yaml; the member account
111111111111 holds the role of ecs/member-role.yaml with its EBS-only policy. The real binary assumes that role
and backs up the member's instances: exit 0 with both policies as they are; without the hub's AssumeRole
statement the target cannot start; without each of the member's EBS statements the matching call is denied in
the member account. The hub user has no EC2 permission at all, so every EC2 call that succeeds was made with the
member role.

Before enforcement starts (INITIAL_NO_AUTH_ACTION_COUNT) the setup makes exactly these unchecked calls: the hub
admin user, its policy and key (3), then in the member account (through an AssumeRole that moto files there) an
admin role, its policy, the SmartVault member role and its policy (1 + 4).
"""

import json
import os
import subprocess

import pytest

import cfn
from conftest import ACCOUNT_ID, DR_REGION, REGION, Moto
from test_least_privilege import ADMIN_POLICY, project_for_moto
from test_template import BATCH_REQUIRED, MEMBER_REQUIRED, evaluate_all

BINARY = os.path.join(cfn.REPO, "build", "smartvault")
MEMBER = "111111111111"
ROLE = "SmartVaultMember"
UNCHECKED = 8


def hub_policy():
    res, _ = evaluate_all(cfn.load(cfn.BATCH_TEMPLATE), BATCH_REQUIRED)
    return res["JobRole"]["Policies"][0]["PolicyDocument"]


def member_policy():
    params = dict(MEMBER_REQUIRED, SourceRegions=REGION, DestRegions=DR_REGION)
    res, _ = evaluate_all(cfn.load(cfn.MEMBER_TEMPLATE), params)
    return res["MemberRole"]["Policies"][0]["PolicyDocument"]


def without(policy, sid):
    return dict(policy, Statement=[st for st in policy["Statement"] if st["Sid"] != sid])


class Env:
    def __init__(self):
        self.moto = Moto(extra_env={"INITIAL_NO_AUTH_ACTION_COUNT": str(UNCHECKED)}, log_name="iam-member")
        iam = self.moto.client("iam")
        iam.create_user(UserName="admin")
        iam.put_user_policy(UserName="admin", PolicyName="admin", PolicyDocument=json.dumps(ADMIN_POLICY))
        key = iam.create_access_key(UserName="admin")["AccessKey"]
        self.admin = (key["AccessKeyId"], key["SecretAccessKey"])
        boot = self.moto.client("sts").assume_role(RoleArn=f"arn:aws:iam::{MEMBER}:role/bootstrap",
                                                    RoleSessionName="setup")["Credentials"]
        m_iam = self.moto.client("iam", key=boot["AccessKeyId"], secret=boot["SecretAccessKey"],
                                 token=boot["SessionToken"])
        trust = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                                    "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT_ID}:root"}}]})
        m_iam.create_role(RoleName="admin", AssumeRolePolicyDocument=trust)
        m_iam.put_role_policy(RoleName="admin", PolicyName="admin", PolicyDocument=json.dumps(ADMIN_POLICY))
        m_iam.create_role(RoleName=ROLE, AssumeRolePolicyDocument=trust)
        self.member_iam = None
        self.member_policy = project_for_moto(member_policy())
        m_iam.put_role_policy(RoleName=ROLE, PolicyName="smartvault-ebs", PolicyDocument=json.dumps(self.member_policy))
        # Enforcement is on from here.
        self.iam = self.client("iam")
        self.iam.create_user(UserName="hub")
        key = self.iam.create_access_key(UserName="hub")["AccessKey"]
        self.hub = (key["AccessKeyId"], key["SecretAccessKey"])
        self.hub_policy = project_for_moto(hub_policy())
        self.set_hub_policy(self.hub_policy)
        self.member_iam = self.in_member("iam")
        ec2 = self.in_member("ec2")
        image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
        ec2.run_instances(ImageId=image, MinCount=2, MaxCount=2, TagSpecifications=[{
            "ResourceType": "instance", "Tags": [{"Key": "Backup", "Value": "true"}]}])

    def client(self, service, region=REGION):
        return self.moto.client(service, region, key=self.admin[0], secret=self.admin[1])

    def in_member(self, service, region=REGION):
        c = self.client("sts").assume_role(RoleArn=f"arn:aws:iam::{MEMBER}:role/admin",
                                           RoleSessionName="admin")["Credentials"]
        return self.moto.client(service, region, key=c["AccessKeyId"], secret=c["SecretAccessKey"],
                                token=c["SessionToken"])

    def set_hub_policy(self, policy):
        self.iam.put_user_policy(UserName="hub", PolicyName="hub", PolicyDocument=json.dumps(policy))

    def set_member_policy(self, policy):
        self.member_iam.put_role_policy(RoleName=ROLE, PolicyName="smartvault-ebs", PolicyDocument=json.dumps(policy))

    def run(self, extra=None):
        e = {"PATH": "/usr/bin:/bin", "AWS_ACCESS_KEY_ID": self.hub[0], "AWS_SECRET_ACCESS_KEY": self.hub[1],
             "AWS_ENDPOINT_URL": self.moto.url, "AWS_EC2_METADATA_DISABLED": "true", "SOURCE_REGIONS": REGION,
             "DEST_REGION": DR_REGION, "ACCOUNTS": MEMBER, "ACCOUNT_ROLE_NAME": ROLE,
             "ACCOUNT_ROLE_EXTERNAL_ID": "vault-external-id", "METRICS_MODE": "api", "AWS_MAX_ATTEMPTS": "1",
             "MIN_INTERVAL": "90s"}
        e.update(extra or {})
        out = subprocess.run([BINARY, "run"], env=e, capture_output=True, text=True, timeout=120)
        lines = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
        return out.returncode, lines, out.stdout + out.stderr


@pytest.fixture(scope="module")
def env():
    if not os.access(BINARY, os.X_OK):
        pytest.skip(f"{BINARY} is not built")
    e = Env()
    yield e
    e.moto.stop()


def target_of(lines):
    (done,) = [line for line in lines if line.get("event") == "cycle.done"]
    (t,) = done["targets"]
    return t


def test_member_backup_succeeds_with_only_the_two_policies(env):
    rc, lines, text = env.run()
    assert rc == 0, text
    t = target_of(lines)
    assert t["account_id"] == MEMBER and t["outcome"] == "ok" and t["snapshots_created"] == 2, t
    snaps = env.in_member("ec2").describe_snapshots(OwnerIds=["self"])["Snapshots"]
    assert sum(1 for s in snaps if s["OwnerId"] == MEMBER) >= 2
    # The hub user itself cannot touch EC2: the snapshots were made with the member role.
    hub_ec2 = env.moto.client("ec2", REGION, key=env.hub[0], secret=env.hub[1])
    with pytest.raises(Exception):
        hub_ec2.describe_instances()


def test_without_the_hub_assume_role_statement_the_target_cannot_start(env):
    env.set_hub_policy(without(env.hub_policy, "AssumeOnlyTheMemberRole"))
    try:
        rc, lines, text = env.run()
    finally:
        env.set_hub_policy(env.hub_policy)
    assert rc == 1, text
    t = target_of(lines)
    assert t["outcome"] == "failed" and "AccessDenied" in t["reason"], t


@pytest.mark.parametrize("sid,op", [("DiscoverInstancesAndSnapshots", "DescribeInstances"),
                                    ("CreateSnapshotsPerInstance", "CreateSnapshots")])
def test_without_each_member_statement_its_call_is_denied_in_the_member_account(env, sid, op):
    env.set_member_policy(without(env.member_policy, sid))
    try:
        rc, lines, text = env.run({"MIN_INTERVAL": "0s"})
    finally:
        env.set_member_policy(env.member_policy)
    assert rc == 1, text
    failed = [line for line in lines if line.get("event") == "ebs.failed" and line.get("step") == op]
    assert failed and all(line["account_id"] == MEMBER for line in failed), text[-3000:]
    assert any(line["aws_code"] in ("UnauthorizedOperation", "AccessDenied") for line in failed)


# ---- the single-task stack (ecs/smartvault.yaml) with Accounts set: its task role as the hub ----

def task_role_policy():
    from test_template import REQUIRED

    params = dict(REQUIRED, SourceRegion=REGION, SourceRegions=REGION, DestRegion=DR_REGION, Accounts=MEMBER,
                  AccountRoleName=ROLE, AccountRoleExternalId="vault-external-id")
    res, _ = evaluate_all(cfn.load(cfn.TEMPLATE), params)
    return res["TaskRole"]["Policies"][0]["PolicyDocument"]


def keep_assume_role_resource(policy):
    """project_for_moto with the AssumeRole statement's own Resource kept: moto 5.1.1 checks sts:AssumeRole
    against it (test_least_privilege.test_moto_iam_semantics), so the role-name scoping is enforced for real."""
    projected = project_for_moto(policy)
    own = {st["Sid"]: st for st in policy["Statement"]}
    for st in projected["Statement"]:
        if st["Sid"] == "AssumeOnlyTheMemberRole":
            st["Resource"] = own[st["Sid"]]["Resource"]
    return projected


def test_single_task_stack_task_role_backs_up_a_member_account_and_assumes_no_other_role(env):
    policy = keep_assume_role_resource(task_role_policy())
    assert "arn:aws:iam::*:role/SmartVaultMember" in json.dumps(policy)
    env.set_hub_policy(policy)
    try:
        rc, lines, text = env.run({"MIN_INTERVAL": "0s"})  # earlier tests of the module snapshotted already
        assert rc == 0, text
        t = target_of(lines)
        assert t["account_id"] == MEMBER and t["outcome"] == "ok" and t["snapshots_created"] == 2, t
        # Another role of the member account that trusts the hub (its admin role): the task role may not assume it.
        rc, lines, text = env.run({"ACCOUNT_ROLE_NAME": "admin"})
        assert rc == 1, text
        t = target_of(lines)
        assert t["outcome"] == "failed" and "AccessDenied" in t["reason"], t
        # And without the statement, not even the member role.
        env.set_hub_policy(without(policy, "AssumeOnlyTheMemberRole"))
        rc, lines, text = env.run()
        assert rc == 1, text
        t = target_of(lines)
        assert t["outcome"] == "failed" and "AccessDenied" in t["reason"], t
    finally:
        env.set_hub_policy(env.hub_policy)
