"""The multi-account deployment (issue 14): ecs/member-role.yaml (the StackSet-deployable member role) and
ecs/batch.yaml (AWS Batch array job on Fargate, submitted by EventBridge Scheduler).

The generic checks (references, parameters, Resource "*" with reasons, YAML 1.2 booleans, size) run on both
templates through test_template.py's any_template fixture. Here: what each must grant and nothing more, that the
two agree (role names, external id, shard count = array size), and the member role deployed in moto's
CloudFormation.
"""

import json

import cfn
from test_template import BATCH_REQUIRED, KEY, MEMBER_REQUIRED, as_list, evaluate_all
from test_cfn_moto import deploy

EBS_ACTIONS = {"ec2:DescribeInstances", "ec2:DescribeSnapshots", "ec2:CreateSnapshots", "ec2:CreateTags",
               "ec2:CopySnapshot", "ec2:DeleteSnapshot"}
KMS_ACTIONS = {"kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey",
               "kms:CreateGrant"}


def statements(resources, role):
    (policy,) = resources[role]["Policies"]
    return {st["Sid"]: st for st in policy["PolicyDocument"]["Statement"]}


def allowed(sts):
    return {a for st in sts.values() if st["Effect"] == "Allow" for a in as_list(st["Action"])}


def test_member_role_trusts_only_the_hub_role_with_the_external_id():
    t = cfn.load(cfn.MEMBER_TEMPLATE)
    res, outputs = evaluate_all(t, MEMBER_REQUIRED)
    role = res["MemberRole"]
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"AWS": "arn:aws:iam::111122223333:role/smartvault-task"}
    assert trust["Action"] == "sts:AssumeRole"
    assert trust["Condition"] == {"StringEquals": {"sts:ExternalId": "vault-external-id"}}
    assert role["RoleName"] == "SmartVaultMember" and role["MaxSessionDuration"] == 3600


def test_member_role_grants_only_the_ebs_part():
    t = cfn.load(cfn.MEMBER_TEMPLATE)
    res, _ = evaluate_all(t, MEMBER_REQUIRED)
    sts = statements(res, "MemberRole")
    # No copies configured: no CopySnapshot; nothing of S3, SNS, CloudWatch, DynamoDB (they stay in the hub).
    assert allowed(sts) == EBS_ACTIONS - {"ec2:CopySnapshot"}
    create = sts["CreateSnapshotsPerInstance"]
    assert create["Condition"] == {"StringEquals": {"aws:RequestedRegion": ["us-east-1", "eu-west-1"]}}
    assert sts["DeleteOnlySmartVaultSnapshots"]["Condition"] == {
        "StringEquals": {"aws:ResourceTag/CreatedBy": "SmartVault"}}
    assert sts["NeverDeleteSnapshotsOnLegalHold"]["Effect"] == "Deny"
    assert sts["DiscoverInstancesAndSnapshots"]["Condition"]["StringEquals"]["aws:RequestedRegion"] == [
        "us-east-1", "eu-west-1"]

    res, _ = evaluate_all(t, dict(MEMBER_REQUIRED, DestRegions="us-west-2,eu-central-1", DrKmsKeyArns=KEY))
    sts = statements(res, "MemberRole")
    assert allowed(sts) == EBS_ACTIONS | KMS_ACTIONS
    assert sts["CopySnapshotsToDrRegions"]["Condition"] == {
        "StringEquals": {"aws:RequestedRegion": ["us-west-2", "eu-central-1"]}}
    assert sts["DiscoverInstancesAndSnapshots"]["Condition"]["StringEquals"]["aws:RequestedRegion"] == [
        "us-east-1", "eu-west-1", "us-west-2", "eu-central-1"]
    assert sts["UseDrKmsKeysThroughEc2"]["Resource"] == [KEY]


def test_batch_hub_role_assumes_only_the_member_role_and_lists_accounts_only_for_organization():
    t = cfn.load(cfn.BATCH_TEMPLATE)
    res, _ = evaluate_all(t, BATCH_REQUIRED)
    sts = statements(res, "JobRole")
    assert allowed(sts) == {"sts:AssumeRole", "cloudwatch:PutMetricData"}
    assert sts["AssumeOnlyTheMemberRole"]["Resource"] == "arn:aws:iam::*:role/SmartVaultMember"
    res, _ = evaluate_all(t, dict(BATCH_REQUIRED, Accounts="organization"))
    assert allowed(statements(res, "JobRole")) == {"sts:AssumeRole", "cloudwatch:PutMetricData",
                                                   "organizations:ListAccounts"}
    # The member template's default HubRoleName is this role's default name.
    member = cfn.load(cfn.MEMBER_TEMPLATE)
    assert res["JobRole"]["RoleName"] == member["Parameters"]["HubRoleName"]["Default"]
    assert t["Parameters"]["AccountRoleName"]["Default"] == member["Parameters"]["RoleName"]["Default"]


def test_batch_array_job_shards_on_fargate():
    t = cfn.load(cfn.BATCH_TEMPLATE)
    params = dict(BATCH_REQUIRED, Shards="6", DestRegionMap="us-east-1=us-west-2")
    res, _ = evaluate_all(t, params)
    assert res["ComputeEnvironment"]["ComputeResources"]["Type"] == "FARGATE"
    jd = res["JobDefinition"]
    assert jd["PlatformCapabilities"] == ["FARGATE"]
    c = jd["ContainerProperties"]
    env = {e["Name"]: e["Value"] for e in c["Environment"]}
    assert env["SHARD_COUNT"] == "6"
    assert env["DEST_REGION_MAP"] == "us-east-1=us-west-2" and "DEST_REGION" not in env
    assert env["ACCOUNTS"] == "111111111111,222222222222" and env["ACCOUNT_ROLE_NAME"] == "SmartVaultMember"
    # Batch sets AWS_BATCH_JOB_ARRAY_INDEX itself; nothing may override it.
    assert "SHARD_INDEX" not in env and "AWS_BATCH_JOB_ARRAY_INDEX" not in env
    assert c["User"] == "65532" and c["ReadonlyRootFilesystem"] is True
    assert {"OnExitCode": "2", "Action": "EXIT"} in jd["RetryStrategy"]["EvaluateOnExit"]
    target = res["Schedule"]["Target"]
    assert target["Arn"] == "arn:aws:scheduler:::aws-sdk:batch:submitJob"
    submit = json.loads(target["Input"])
    assert submit["ArrayProperties"] == {"Size": 6}  # array size = SHARD_COUNT
    (st,) = res["SchedulerRole"]["Policies"][0]["PolicyDocument"]["Statement"]
    assert st["Action"] == "batch:SubmitJob"
    assert t["Parameters"]["Shards"]["MinValue"] == 2  # Batch arrays have at least 2 children


def test_member_role_deploys_in_moto(moto):
    physical, outputs = deploy(moto, "sv-member", cfn.MEMBER_TEMPLATE,
                               dict(MEMBER_REQUIRED, DestRegions="us-west-2"))
    iam = moto.client("iam")
    role = iam.get_role(RoleName="SmartVaultMember")["Role"]
    assert outputs["RoleArn"] == role["Arn"]
    trust = role["AssumeRolePolicyDocument"]
    trust = json.loads(trust) if isinstance(trust, str) else trust
    assert trust["Statement"][0]["Condition"] == {"StringEquals": {"sts:ExternalId": "vault-external-id"}}
    assert iam.list_role_policies(RoleName="SmartVaultMember")["PolicyNames"] == ["smartvault-ebs"]


# ---- ecs/smartvault.yaml, the single-task stack, over many accounts and regions ----

def task_env(res):
    c = res["TaskDefinition"]["ContainerDefinitions"][0]
    return {e["Name"]: e["Value"] for e in c["Environment"]}


def test_single_task_stack_gains_the_multi_account_variables_and_only_then_their_permissions():
    from test_template import FULL, MULTI, REQUIRED, TASK_ACTIONS

    t = cfn.load(cfn.TEMPLATE)
    # Unset: as before - no role to assume, no organization, EC2 in this stack's region only.
    res, _ = evaluate_all(t, REQUIRED)
    sts = statements(res, "TaskRole")
    assert not {"sts:AssumeRole", "organizations:ListAccounts"} & allowed(sts)
    assert "Ec2OnlyInSourceAndDrRegions" not in sts
    env = task_env(res)
    assert not {"SOURCE_REGIONS", "ACCOUNTS", "ACCOUNT_ROLE_NAME", "ACCOUNT_ROLE_EXTERNAL_ID"} & set(env)
    assert all(":ec2:us-east-1:" in r or ":ec2:us-east-1::" in r
               for r in as_list(sts["CreateSnapshotsPerInstance"]["Resource"]))

    # Listed accounts: AssumeRole on the member role's name only (in any account), no ListAccounts.
    res, _ = evaluate_all(t, MULTI)
    sts = statements(res, "TaskRole")
    assert sts["AssumeOnlyTheMemberRole"]["Resource"] == "arn:aws:iam::*:role/SmartVaultMember"
    assert sts["AssumeOnlyTheMemberRole"]["Action"] == "sts:AssumeRole"
    assert "ListOrganizationAccounts" not in sts
    assert allowed(sts) - TASK_ACTIONS == {"sts:AssumeRole"}
    env = task_env(res)
    assert env["SOURCE_REGIONS"] == "us-east-1,eu-west-1" and env["ACCOUNTS"] == "111111111111,222222222222"
    assert env["ACCOUNT_ROLE_NAME"] == "SmartVaultMember" and env["ACCOUNT_ROLE_EXTERNAL_ID"] == "vault-external-id"
    # The hub's own EC2 work in every source region, and nowhere else but the DR region.
    assert any(":ec2:*:" in r for r in as_list(sts["CreateSnapshotsPerInstance"]["Resource"]))
    deny = sts["Ec2OnlyInSourceAndDrRegions"]
    assert deny["Effect"] == "Deny" and deny["Action"] == "ec2:*" and deny["Resource"] == "*"
    assert deny["Condition"] == {"StringNotEquals": {"aws:RequestedRegion": ["us-east-1", "eu-west-1", "us-west-2"]}}

    # organization: ListAccounts too (it has no resource type), still only the member role.
    res, _ = evaluate_all(t, dict(FULL, Accounts="organization", AccountRoleName="Member"))
    sts = statements(res, "TaskRole")
    assert sts["ListOrganizationAccounts"]["Action"] == "organizations:ListAccounts"
    assert sts["AssumeOnlyTheMemberRole"]["Resource"] == "arn:aws:iam::*:role/Member"
    assert allowed(sts) - TASK_ACTIONS == {"sts:AssumeRole", "organizations:ListAccounts"}
    assert task_env(res)["ACCOUNTS"] == "organization" and "ACCOUNT_ROLE_EXTERNAL_ID" not in task_env(res)
    # The defaults of the two templates agree: the member role's default name is what to set here.
    member = cfn.load(cfn.MEMBER_TEMPLATE)
    assert member["Parameters"]["RoleName"]["Default"] == "SmartVaultMember"
