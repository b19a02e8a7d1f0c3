"""Least privilege, proven under moto's IAM enforcement (INITIAL_NO_AUTH_ACTION_COUNT).

A second moto starts with signature checking and IAM enforcement on. An admin user seeds a fleet, buckets, a
topic and a table; a second user's ONLY policy is the template's task-role policy (ecs/iam-policy.json with the
placeholders filled in). With that user's keys:

- test_cycle_calls_*: the API calls a cycle makes, made with boto3, all succeed; removing any one statement
  denies exactly the calls that statement is for (runs now, before the binary exists);
- test_full_cycle_*: the real binary runs a full cycle (EBS + DR copy + retention + S3 + reporting): exit 0;
  removing any one statement makes the matching step fail and the cycle reports it with exit 1 and a log line
  naming the action. SKIPPED until `build/smartvault run` exists.

What moto 5.1.1 can and cannot show (checked by test_moto_iam_semantics, so a moto upgrade that changes it is
noticed): it evaluates Action for every service but Resource only for S3 (and sts:AssumeRole) — every other
request is checked against Resource "*", so an ARN-scoped statement never matches — and it ignores Condition
entirely. The policy is therefore projected for moto: non-S3 statements get Resource "*", Conditions are
dropped, Deny statements that only apply under a Condition (the legal hold) are left out (moto would apply
them unconditionally), and cloudwatch:X is also granted as monitoring:X (moto names the action after the
signing name, "monitoring", not the IAM prefix). Resource scoping and conditions of EC2/KMS/SNS/CloudWatch/DynamoDB are checked against
the Service Authorization Reference by test_template.py instead. moto also does not check the permissions an
action implies on other services (kms:* for an encrypted CopySnapshot, ec2:CreateTags for TagSpecifications,
s3:GetObject on the source of CopyObject/UploadPartCopy): removing those statements cannot fail under moto.
And moto 5.1.1's DynamoDB replaces the request body with its parsed JSON before the signature is checked, so
every signed DynamoDB call fails with SignatureDoesNotMatch once enforcement is on: the audit table is created
before enforcement starts, and the cycle runs here without DYNAMODB_TABLE (dynamodb:BatchWriteItem is checked
structurally and, without enforcement, by the integration tests).
"""

import json
import os
import re
import subprocess
import time

import pytest
from botocore.exceptions import ClientError

import cfn
from conftest import ACCOUNT_ID, DR_REGION, REGION, Moto

BINARY = os.path.join(cfn.REPO, "build", "smartvault")
SRC_BUCKET, DOCS, PHOTOS, DB = "sv-source", "sv-documents", "sv-photos", "sv-database"
REPORTS = "sv-reports"
ADMIN_POLICY = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}

# Statements whose removal moto cannot notice (see the module docstring), with the reason.
MOTO_BLIND = {
    "TagSnapshotsOnlyWhenCreated": "moto does not check ec2:CreateTags for TagSpecifications",
    "UseDrKmsKeyThroughEc2": "moto's EC2 does not call KMS as the caller",
    "GrantDrKmsKeyToEbsOnly": "moto's EC2 does not call KMS as the caller",
    "UseS3SseKmsKeyThroughS3": "moto's S3 does not call KMS as the caller",
    "ReadSourceObjects": "moto checks CopyObject/UploadPartCopy against the destination only",
    "NeverDeleteSnapshotsOnLegalHold": "a Deny under a Condition; moto ignores conditions",
    "WriteAuditItems": "moto's DynamoDB fails every signed request under enforcement (SignatureDoesNotMatch)",
    "TagOwnSnapshotsWithTheirDevice": "moto ignores conditions: the other ec2:CreateTags statements grant it too",
    "TagDrillVolumesOnlyWhenCreated": "moto does not check ec2:CreateTags for TagSpecifications",
    "ReadRunHistory": "moto's DynamoDB fails every signed request under enforcement (SignatureDoesNotMatch)",
    "RunLeaseItemOnly": "moto's DynamoDB fails every signed request under enforcement (SignatureDoesNotMatch)",
}
# Statement -> the API operations (as the binary's log names them) that fail without it.
STATEMENT_CALLS = {
    "DiscoverInstancesAndSnapshots": ["DescribeInstances", "DescribeSnapshots"],
    "CreateSnapshotsPerInstance": ["CreateSnapshots"],
    "CopySnapshotsToDrRegion": ["CopySnapshot"],
    "DeleteOnlySmartVaultSnapshots": ["DeleteSnapshot"],
    "ListSourceBucket": ["ListObjectsV2"],
    "ListDestinationBuckets": ["ListObjectsV2"],
    "WriteDestinationObjects": ["CopyObject", "UploadPartCopy", "CreateMultipartUpload", "PutObject"],
    "PublishCycleSummary": ["Publish"],
    "PutMetricsInOwnNamespaceOnly": ["PutMetricData"],
    "DescribeVolumesAndZonesForDrills": ["DescribeVolumes", "DescribeAvailabilityZones"],
    "CreateOnlyDrillVolumes": ["CreateVolume"],
    "DeleteOnlyDrillVolumes": ["DeleteVolume"],
    "WriteCoverageReport": ["PutObject"],
}
# Statements the binary never exercises itself, with who does.
SIGNED_FOR_OTHERS = {
    "SignCoverageReportLink": "the SNS summary's presigned link: S3 authorizes whoever opens it as the task role "
                              "(test_report_link_statement_allows_the_page_only)",
}


def task_policy_for(values):
    return cfn.fill_placeholders(cfn.task_policy(), values)


def project_for_moto(policy):
    """The policy as moto can evaluate it (see the module docstring)."""
    out = []
    for st in policy["Statement"]:
        st = dict(st)
        if st["Effect"] == "Deny" and "Condition" in st:
            continue
        st.pop("Condition", None)
        actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
        if any(a.startswith("cloudwatch:") for a in actions):
            st["Action"] = actions + [a.replace("cloudwatch:", "monitoring:") for a in actions]
        resources = st["Resource"] if isinstance(st["Resource"], list) else [st["Resource"]]
        if not all(r.startswith("arn:aws:s3:::") for r in resources):
            st["Resource"] = "*"
        out.append(st)
    return {"Version": policy["Version"], "Statement": out}


class Env:
    """moto with IAM enforcement; an admin and a restricted user."""

    def __init__(self):
        # The first 4 requests are not checked: the audit table (see the module docstring), the admin, its key.
        self.moto = Moto(extra_env={"INITIAL_NO_AUTH_ACTION_COUNT": "4"}, log_name="iam")
        self.moto.client("dynamodb").create_table(
            TableName="smartvault-audit", BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                  {"AttributeName": "sk", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}])
        iam = self.moto.client("iam")
        iam.create_user(UserName="admin")
        iam.put_user_policy(UserName="admin", PolicyName="admin", PolicyDocument=json.dumps(ADMIN_POLICY))
        key = iam.create_access_key(UserName="admin")["AccessKey"]
        self.admin = (key["AccessKeyId"], key["SecretAccessKey"])
        self.iam = self.client("iam")
        self.iam.create_user(UserName="smartvault")
        key = self.iam.create_access_key(UserName="smartvault")["AccessKey"]
        self.user = (key["AccessKeyId"], key["SecretAccessKey"])

    def client(self, service, region=REGION, who=None):
        key, secret = who or self.admin
        return self.moto.client(service, region, key=key, secret=secret)

    def as_user(self, service, region=REGION):
        return self.client(service, region, self.user)

    def set_user_policy(self, policy):
        self.iam.put_user_policy(UserName="smartvault", PolicyName="task-role", PolicyDocument=json.dumps(policy))

    def seed(self):
        ec2 = self.client("ec2")
        image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
        self.instances = []
        for i in range(2):
            r = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, TagSpecifications=[{
                "ResourceType": "instance", "Tags": [{"Key": "Backup", "Value": "true"}, {"Key": "Name", "Value": f"app-{i}"}]}])
            self.instances.append(r["Instances"][0]["InstanceId"])
        s3 = self.client("s3")
        for b in (SRC_BUCKET, DOCS, PHOTOS, DB, REPORTS):
            s3.create_bucket(Bucket=b)
        s3.put_object(Bucket=SRC_BUCKET, Key="documents/a.txt", Body=b"a" * 100)
        # Copied in one part: the last part of an upload has no minimum size.
        s3.put_object(Bucket=SRC_BUCKET, Key="photos/big.jpg", Body=b"p" * 1024)
        s3.put_object(Bucket=SRC_BUCKET, Key="database/dump.sql", Body=b"d" * 10)
        self.topic = self.client("sns").create_topic(Name="smartvault")["TopicArn"]
        self.key_arn = self.client("kms", DR_REGION).create_key(Description="dr")["KeyMetadata"]["Arn"]
        self.values = {"SOURCE_REGION": REGION, "DR_REGION": DR_REGION, "ACCOUNT_ID": ACCOUNT_ID,
                       "DR_KMS_KEY_ARN": self.key_arn, "SNS_TOPIC_ARN": self.topic, "AUDIT_TABLE": "smartvault-audit",
                       "SOURCE_BUCKET": SRC_BUCKET, "DOCUMENTS_BUCKET": DOCS, "PHOTOS_BUCKET": PHOTOS,
                       "DATABASE_BUCKET": DB, "S3_SSE_KMS_KEY_ARN": self.key_arn, "REPORT_BUCKET": REPORTS}
        self.policy = project_for_moto(task_policy_for(self.values))

    def stop(self):
        self.moto.stop()


@pytest.fixture(scope="module")
def env():
    e = Env()
    e.seed()
    yield e
    e.stop()


def denied(fn):
    try:
        fn()
    except ClientError as err:
        code = err.response["Error"]["Code"]
        assert code in ("AccessDenied", "AccessDeniedException", "UnauthorizedOperation"), err
        return True
    return False


def test_moto_iam_semantics(env):
    """What moto 5.1.1 enforces, so the projection above stays right."""
    env.set_user_policy({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "ec2:DescribeInstances", "Resource": f"arn:aws:ec2:{REGION}:{ACCOUNT_ID}:instance/*"},
        {"Effect": "Allow", "Action": "monitoring:PutMetricData", "Resource": "*",
         "Condition": {"StringEquals": {"cloudwatch:namespace": "SmartVault"}}},
        {"Effect": "Allow", "Action": "s3:PutObject", "Resource": f"arn:aws:s3:::{DOCS}/*"}]})
    # Non-S3 Resource ARNs never match (moto checks against "*").
    assert denied(lambda: env.as_user("ec2").describe_instances())
    # Conditions are ignored: another namespace is allowed. (moto calls the action monitoring:PutMetricData.)
    assert not denied(lambda: env.as_user("cloudwatch").put_metric_data(
        Namespace="Other", MetricData=[{"MetricName": "X", "Value": 1}]))
    # S3 resources are honoured.
    assert not denied(lambda: env.as_user("s3").put_object(Bucket=DOCS, Key="k", Body=b"x"))
    assert denied(lambda: env.as_user("s3").put_object(Bucket=PHOTOS, Key="k", Body=b"x"))
    # No policy at all: denied, and signatures are checked.
    env.iam.delete_user_policy(UserName="smartvault", PolicyName="task-role")
    assert denied(lambda: env.as_user("sns").publish(TopicArn=env.topic, Message="x"))
    bad = env.moto.client("sns", key=env.user[0], secret="wrong")
    with pytest.raises(ClientError) as err:
        bad.publish(TopicArn=env.topic, Message="x")
    assert err.value.response["Error"]["Code"] in ("SignatureDoesNotMatch", "InvalidClientTokenId")
    # moto 5.1.1's DynamoDB signature check is broken (see the module docstring). When this fails, moto has
    # been fixed: put WriteAuditItems back into STATEMENT_CALLS and DYNAMODB_TABLE into run_cycle.
    with pytest.raises(ClientError) as err:
        env.client("dynamodb").describe_table(TableName="smartvault-audit")
    assert "SignatureDoesNotMatch" in str(err.value)


def cycle_calls(env):
    """The cycle's API calls, made with boto3 as the restricted user: [(operation, callable)].
    Each callable raises ClientError when denied."""
    ec2, dr = env.as_user("ec2"), env.as_user("ec2", DR_REGION)
    s3, admin_ec2 = env.as_user("s3"), env.client("ec2")
    state = {}

    def create():
        r = ec2.create_snapshots(InstanceSpecification={"InstanceId": env.instances[0]}, TagSpecifications=[{
            "ResourceType": "snapshot", "Tags": [{"Key": "CreatedBy", "Value": "SmartVault"}]}])
        state["snap"] = r["Snapshots"][0]["SnapshotId"]

    def copy():
        snap = state.get("snap") or admin_ec2.create_snapshots(
            InstanceSpecification={"InstanceId": env.instances[1]})["Snapshots"][0]["SnapshotId"]
        dr.copy_snapshot(SourceRegion=REGION, SourceSnapshotId=snap, Encrypted=True, KmsKeyId=env.key_arn,
                         TagSpecifications=[{"ResourceType": "snapshot", "Tags": [
                             {"Key": "CreatedBy", "Value": "SmartVault"}, {"Key": "SourceSnapshotId", "Value": snap}]}])

    def delete():
        old = admin_ec2.create_snapshots(InstanceSpecification={"InstanceId": env.instances[1]}, TagSpecifications=[{
            "ResourceType": "snapshot", "Tags": [{"Key": "CreatedBy", "Value": "SmartVault"}]}])["Snapshots"][0]
        ec2.delete_snapshot(SnapshotId=old["SnapshotId"])

    def drill_volume():
        snap = state.get("snap") or admin_ec2.create_snapshots(
            InstanceSpecification={"InstanceId": env.instances[1]})["Snapshots"][0]["SnapshotId"]
        ec2.create_volume(SnapshotId=snap, AvailabilityZone=f"{REGION}a", VolumeType="gp3", TagSpecifications=[{
            "ResourceType": "volume", "Tags": [{"Key": "SmartVault:Drill", "Value": "true"}]}])

    def delete_drill_volume():
        snap = admin_ec2.create_snapshots(
            InstanceSpecification={"InstanceId": env.instances[1]})["Snapshots"][0]["SnapshotId"]
        vol = admin_ec2.create_volume(SnapshotId=snap, AvailabilityZone=f"{REGION}a", TagSpecifications=[{
            "ResourceType": "volume", "Tags": [{"Key": "SmartVault:Drill", "Value": "true"}]}])["VolumeId"]
        ec2.delete_volume(VolumeId=vol)

    def multipart():
        up = s3.create_multipart_upload(Bucket=PHOTOS, Key="photos/big.jpg")
        part = s3.upload_part_copy(Bucket=PHOTOS, Key="photos/big.jpg", UploadId=up["UploadId"], PartNumber=1,
                                   CopySource={"Bucket": SRC_BUCKET, "Key": "photos/big.jpg"})
        s3.complete_multipart_upload(Bucket=PHOTOS, Key="photos/big.jpg", UploadId=up["UploadId"], MultipartUpload={
            "Parts": [{"PartNumber": 1, "ETag": part["CopyPartResult"]["ETag"]}]})

    return [
        ("DescribeInstances", lambda: ec2.describe_instances(Filters=[{"Name": "tag:Backup", "Values": ["true"]}])),
        ("DescribeSnapshots", lambda: ec2.describe_snapshots(OwnerIds=["self"])),
        ("CreateSnapshots", create),
        ("CopySnapshot", copy),
        ("DescribeSnapshots", lambda: dr.describe_snapshots(OwnerIds=["self"])),
        ("DeleteSnapshot", delete),
        ("DescribeVolumes", lambda: ec2.describe_volumes(Filters=[{"Name": "tag:SmartVault:Drill", "Values": ["true"]}])),
        ("DescribeAvailabilityZones", lambda: dr.describe_availability_zones()),
        ("CreateVolume", drill_volume),
        ("DeleteVolume", delete_drill_volume),
        ("ListObjectsV2", lambda: s3.list_objects_v2(Bucket=SRC_BUCKET)),
        ("ListObjectsV2", lambda: s3.list_objects_v2(Bucket=DOCS)),
        ("CopyObject", lambda: s3.copy_object(Bucket=DOCS, Key="documents/a.txt",
                                              CopySource={"Bucket": SRC_BUCKET, "Key": "documents/a.txt"})),
        ("UploadPartCopy", multipart),
        ("Publish", lambda: env.as_user("sns").publish(TopicArn=env.topic, Subject="SmartVault OK", Message="ok")),
        ("PutObject", lambda: s3.put_object(Bucket=REPORTS, Key="smartvault/index.html", Body=b"<p>page</p>",
                                            ContentType="text/html; charset=utf-8", ServerSideEncryption="AES256")),
        ("PutMetricData", lambda: env.as_user("cloudwatch").put_metric_data(Namespace="SmartVault", MetricData=[
            {"MetricName": "SnapshotsCreated", "Dimensions": [{"Name": "Service", "Value": "Backup"}], "Value": 1}])),
    ]


def test_cycle_calls_succeed_with_the_task_policy(env):
    env.set_user_policy(env.policy)
    for name, call in cycle_calls(env):
        assert not denied(call), f"{name} denied under the task-role policy"


@pytest.mark.parametrize("sid", sorted(STATEMENT_CALLS))
def test_cycle_calls_fail_without_each_statement(env, sid):
    policy = dict(env.policy, Statement=[st for st in env.policy["Statement"] if st["Sid"] != sid])
    env.set_user_policy(policy)
    failed = {name for name, call in cycle_calls(env) if denied(call)}
    env.set_user_policy(env.policy)
    assert failed, f"nothing failed without {sid}"
    assert failed <= set(STATEMENT_CALLS[sid]), f"without {sid}: {failed}"


def test_every_statement_is_accounted_for():
    sids = {st["Sid"] for st in cfn.task_policy()["Statement"]}
    assert sids == set(STATEMENT_CALLS) | set(MOTO_BLIND) | set(SIGNED_FOR_OTHERS), \
        "a new statement needs its calls (or reason) here"


def test_report_statements_cover_the_prefix_only(env):
    """s3:PutObject under REPORT_PREFIX only; s3:GetObject (the presigned link) of the page only."""
    env.set_user_policy(env.policy)
    s3 = env.as_user("s3")
    assert not denied(lambda: s3.put_object(Bucket=REPORTS, Key="smartvault/report.json", Body=b"{}"))
    assert denied(lambda: s3.put_object(Bucket=REPORTS, Key="elsewhere/index.html", Body=b"x"))
    assert denied(lambda: s3.put_object(Bucket=SRC_BUCKET, Key="smartvault/index.html", Body=b"x"))
    assert not denied(lambda: s3.get_object(Bucket=REPORTS, Key="smartvault/index.html"))
    assert denied(lambda: s3.get_object(Bucket=REPORTS, Key="smartvault/report.json"))


def test_report_link_statement_allows_the_page_only(env):
    s3 = env.as_user("s3")
    env.set_user_policy(env.policy)
    s3.put_object(Bucket=REPORTS, Key="smartvault/index.html", Body=b"<p>page</p>")
    policy = dict(env.policy, Statement=[st for st in env.policy["Statement"] if st["Sid"] != "SignCoverageReportLink"])
    env.set_user_policy(policy)
    try:
        assert denied(lambda: s3.get_object(Bucket=REPORTS, Key="smartvault/index.html"))
    finally:
        env.set_user_policy(env.policy)


# ------------------------------------------------------------------------------------------------ the real binary


def binary_has_run():
    if not os.access(BINARY, os.X_OK):
        return False, f"{BINARY} is not built"
    out = subprocess.run([BINARY, "--help"], capture_output=True, text=True, timeout=30)
    text = out.stdout + out.stderr
    if not re.search(r"^\s+run\b", text, re.M):
        return False, "`smartvault --help` lists no `run` command"
    # A `run` that cannot reach anything: it must not say that the cycle is missing.
    probe = subprocess.run([BINARY, "run", "--dry-run"], capture_output=True, text=True, timeout=60, env={
        "PATH": "/usr/bin:/bin", "AWS_REGION": REGION, "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9", "AWS_MAX_ATTEMPTS": "1"})
    if "not built yet" in probe.stdout + probe.stderr:
        return False, "`smartvault run` says the backup cycle is not built yet (issues 4-6)"
    return True, ""


_HAS_RUN, _WHY = binary_has_run()
needs_run = pytest.mark.skipif(not _HAS_RUN, reason="least privilege of a full cycle needs the binary: " + _WHY)


def run_cycle(env, extra=None):
    key, secret = env.user
    e = {"PATH": "/usr/bin:/bin", "AWS_ACCESS_KEY_ID": key, "AWS_SECRET_ACCESS_KEY": secret,
         "AWS_ENDPOINT_URL": env.moto.url, "AWS_REGION": REGION, "AWS_EC2_METADATA_DISABLED": "true",
         "SOURCE_REGION": REGION, "DEST_REGION": DR_REGION, "KMS_KEY_ID": env.key_arn, "RETENTION_DAYS": "7",
         "MIN_INTERVAL": "90s", "SNS_TOPIC_ARN": env.topic,
         "METRICS_MODE": "api", "S3_SOURCE_BUCKET": SRC_BUCKET,
         "S3_ROUTES": f"documents/={DOCS},photos/={PHOTOS},database/={DB}",
         "S3_MULTIPART_THRESHOLD": "5MiB", "LOG_FORMAT": "json", "AWS_MAX_ATTEMPTS": "1", "RESTORE_DRILL": "1",
         "REPORT_BUCKET": REPORTS}
    e.update(extra or {})
    out = subprocess.run([BINARY, "run"], env=e, capture_output=True, text=True, timeout=120)
    lines = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
    return out.returncode, lines, out.stdout + out.stderr


def age_smartvault_snapshots(env):
    """Makes retention find something to delete: a SmartVault snapshot whose StartTime is old. moto sets
    StartTime to now, so the run is told that now is 30 days later."""
    return {"SMARTVAULT_NOW": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 30 * 86400))}


@needs_run
def test_full_cycle_succeeds_with_only_the_task_policy(env):
    env.set_user_policy(env.policy)
    rc, lines, text = run_cycle(env)
    assert rc == 0, text
    done = [line for line in lines if line.get("event") == "cycle.done"]
    assert done, text
    rc, _, text = run_cycle(env, age_smartvault_snapshots(env))  # copies, retention deletes, S3 unchanged
    assert rc == 0, text


@needs_run
@pytest.mark.parametrize("sid", sorted(STATEMENT_CALLS))
def test_full_cycle_reports_each_missing_statement(env, sid):
    policy = dict(env.policy, Statement=[st for st in env.policy["Statement"] if st["Sid"] != sid])
    env.set_user_policy(policy)
    # Only deletions need the what-if clock: a cycle "30 days later" finds every snapshot it could copy already
    # outside retention, so the copy statement is exercised at the real time, when fresh snapshots are copied.
    extra = None if sid == "CopySnapshotsToDrRegion" else age_smartvault_snapshots(env)
    # The env is shared by the module: earlier cycles copied every object already. A new one needs a copy.
    env.client("s3").put_object(Bucket=SRC_BUCKET, Key=f"documents/new-{sid}.txt", Body=sid.encode())
    try:
        rc, lines, text = run_cycle(env, extra)
    finally:
        env.set_user_policy(env.policy)
    assert rc == 1, f"without {sid}: exit {rc}\n{text}"
    errors = [line for line in lines if line.get("level") == "error" or line.get("aws_code")]
    named = [line for line in errors if any(op in json.dumps(line) for op in STATEMENT_CALLS[sid])]
    assert named, f"without {sid}: no error line names {STATEMENT_CALLS[sid]}\n{text}"
    assert any("AccessDenied" in json.dumps(line) or "UnauthorizedOperation" in json.dumps(line) for line in named)


# ------------------------------------------------------------------------------ the person who restores (restore)

RESTORE_POLICY = os.path.join(cfn.REPO, "ecs", "iam-restore-policy.json")
# Statements (removed together) -> the API operations of `smartvault list` / `restore --attach-to` that then fail.
# moto checks every non-S3 Resource as "*", so the two statements that split one action by resource (the volume
# and the snapshot of CreateVolume, the volume and the instance of AttachVolume) can only be shown missing together.
RESTORE_STATEMENT_CALLS = {
    "ListWhatCanBeRestored": ["DescribeSnapshots"],
    "CreateVolumesOnlyFromSmartVaultSnapshots+CreateOnlyRestoreVolumes": ["CreateVolume"],
    "AttachOnlyRestoredVolumes+AttachToInstances": ["AttachVolume"],
}
RESTORE_MOTO_BLIND = {
    "TagRestoreVolumesOnlyWhenCreated": "moto does not check ec2:CreateTags for TagSpecifications",
    "UseDrKmsKeyThroughEc2": "moto's EC2 does not call KMS as the caller",
    "GrantDrKmsKeyToEbsOnly": "moto's EC2 does not call KMS as the caller",
}


def restore_policy(env):
    with open(RESTORE_POLICY, encoding="utf-8") as f:
        return project_for_moto(cfn.fill_placeholders(json.load(f), env.values))


def test_every_restore_statement_is_accounted_for():
    with open(RESTORE_POLICY, encoding="utf-8") as f:
        doc = json.load(f)
    sids = {st["Sid"] for st in doc["Statement"]}
    grouped = {sid for group in RESTORE_STATEMENT_CALLS for sid in group.split("+")}
    assert sids == grouped | set(RESTORE_MOTO_BLIND)
    # A restore never deletes and never touches a volume it did not create, or a snapshot SmartVault did not make.
    actions = {a for st in doc["Statement"] for a in ([st["Action"]] if isinstance(st["Action"], str) else st["Action"])}
    assert not any("Delete" in a or "Detach" in a for a in actions), actions
    by_sid = {st["Sid"]: st for st in doc["Statement"]}
    assert by_sid["CreateVolumesOnlyFromSmartVaultSnapshots"]["Condition"] == {
        "StringEquals": {"aws:ResourceTag/CreatedBy": "SmartVault"}}
    assert by_sid["AttachOnlyRestoredVolumes"]["Condition"] == {"Null": {"aws:ResourceTag/SmartVault:RestoreOf": "false"}}


def restorable(env):
    """An instance backed up the way the cycle does it (made by the admin), and a stopped instance to attach to."""
    ec2 = env.client("ec2")
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    inst = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, BlockDeviceMappings=[
        {"DeviceName": "/dev/sda1", "Ebs": {"VolumeSize": 8}}, {"DeviceName": "/dev/sdf", "Ebs": {"VolumeSize": 8}}],
    )["Instances"][0]
    iid = inst["InstanceId"]
    snaps = ec2.create_snapshots(InstanceSpecification={"InstanceId": iid}, TagSpecifications=[{
        "ResourceType": "snapshot", "Tags": [{"Key": "CreatedBy", "Value": "SmartVault"},
                                             {"Key": "InstanceId", "Value": iid},
                                             {"Key": "SmartVault:RunId", "Value": f"run-{iid}"}]}])["Snapshots"]
    mapping = {m["Ebs"]["VolumeId"]: m["DeviceName"]
               for m in ec2.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0]["BlockDeviceMappings"]}
    for s in snaps:
        ec2.create_tags(Resources=[s["SnapshotId"]], Tags=[{"Key": "SmartVault:Device", "Value": mapping[s["VolumeId"]]}])
    data = [v for v, d in mapping.items() if d == "/dev/sdf"][0]
    target = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    ec2.stop_instances(InstanceIds=[target])
    return iid, data, target


def run_restore(env, args):
    key, secret = env.user
    e = {"PATH": "/usr/bin:/bin", "AWS_ACCESS_KEY_ID": key, "AWS_SECRET_ACCESS_KEY": secret,
         "AWS_ENDPOINT_URL": env.moto.url, "AWS_REGION": REGION, "AWS_EC2_METADATA_DISABLED": "true",
         "DEST_REGION": DR_REGION, "AWS_MAX_ATTEMPTS": "1"}
    out = subprocess.run([BINARY, *args], env=e, capture_output=True, text=True, timeout=120)
    lines = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
    return out.returncode, lines, out.stdout + out.stderr


@needs_run
def test_restore_policy_lets_a_person_list_restore_and_attach(env):
    iid, data, target = restorable(env)
    env.set_user_policy(restore_policy(env))
    try:
        rc, lines, text = run_restore(env, ["list", "--instance", iid])
        assert rc == 0 and len([x for x in lines if x.get("event") == "inventory.volume"]) == 2, text
        rc, lines, text = run_restore(env, ["restore", "--instance", iid, "--volume", data, "--attach-to", target])
        assert rc == 0, text
        (vol,) = [x for x in lines if x.get("event") == "restore.volume"]
        assert vol["device"] == "/dev/sdf" and vol["attachment"] == "attaching", text
    finally:
        env.set_user_policy(env.policy)


@needs_run
@pytest.mark.parametrize("sid", sorted(RESTORE_STATEMENT_CALLS))
def test_restore_reports_each_missing_statement(env, sid):
    iid, data, target = restorable(env)
    policy = restore_policy(env)
    env.set_user_policy(dict(policy, Statement=[st for st in policy["Statement"] if st["Sid"] not in sid.split("+")]))
    try:
        rc, lines, text = run_restore(env, ["restore", "--instance", iid, "--volume", data, "--attach-to", target])
    finally:
        env.set_user_policy(env.policy)
    assert rc == 1, f"without {sid}: exit {rc}\n{text}"
    named = [x for x in lines if x.get("level") == "error" and any(op in json.dumps(x) for op in RESTORE_STATEMENT_CALLS[sid])]
    assert named, f"without {sid}: no error line names {RESTORE_STATEMENT_CALLS[sid]}\n{text}"
