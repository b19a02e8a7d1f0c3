"""Deploys ecs/smartvault.yaml and ecs/dr-kms.yaml into moto's CloudFormation and checks with boto3 what was
created.

moto 5.1.1's CloudFormation creates the IAM roles (with their inline policies), the ECS cluster, the log group,
the SQS queue, the SNS topic, the DynamoDB table, the EventBridge rule (with its target), the S3 buckets and the
KMS key. It has no support for AWS::Scheduler::Schedule, AWS::CloudWatch::Alarm, AWS::SNS::TopicPolicy and
AWS::KMS::Alias (it skips them with a warning), and it reads only some properties of others (a task
definition's Family/ContainerDefinitions/Memory, a bucket's BucketEncryption, a table's keys and billing mode).

For those, the test *replays* the template: it evaluates the resource's properties with the stack's real
physical ids (tests/deploy/cfn.py) and sends them through the service API (RegisterTaskDefinition,
PutMetricAlarm, CreateSchedule, SetTopicAttributes, CreateAlias, PutBucketVersioning, UpdateTimeToLive, ...).
botocore validates every field name and type against the service model before moto stores it, so a property
the API would not accept fails here. The Evaluator's output is itself checked against what moto's own
CloudFormation produced for the resources it does support (the policy documents below).
"""

import ast
import json
import re
import urllib.parse
import urllib.request

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

import cfn
from conftest import ACCOUNT_ID, DR_REGION, REGION

STACK = "sv"
MOTO_UNSUPPORTED = {"Schedule", "TopicPolicy", "CoverageAlarm", "NoSnapshotsCreatedAlarm", "ErrorsAlarm",
                    "RestoreDrillFailedAlarm", "CoverageReportBucketPolicy"}
KEY_ARN = f"arn:aws:kms:{DR_REGION}:{ACCOUNT_ID}:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def strip_none(doc):
    """moto's CloudFormation leaves a null where Fn::If gives AWS::NoValue inside a list (CloudFormation drops
    the element); compare without them."""
    if isinstance(doc, list):
        return [strip_none(v) for v in doc if v is not None]
    if isinstance(doc, dict):
        return {k: strip_none(v) for k, v in doc.items()}
    return doc


def inline_role_policy(moto, role, policy):
    """An inline role policy created by moto's CloudFormation. moto stores it as a Python dict and GetRolePolicy
    then answers with the dict form-encoded inside the XML (not well-formed: botocore cannot parse it), so read
    the raw answer and decode it here."""
    body = urllib.parse.urlencode({"Action": "GetRolePolicy", "Version": "2010-05-08", "RoleName": role,
                                   "PolicyName": policy})
    req = AWSRequest(method="POST", url=moto.url + "/", data=body,
                     headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
    SigV4Auth(Credentials("testing", "testing"), "iam", "us-east-1").add_auth(req)
    raw = urllib.request.urlopen(urllib.request.Request(moto.url + "/", data=body.encode(), headers=dict(req.headers)),
                                 timeout=10).read().decode()
    encoded = re.search(r"<PolicyDocument>(.*)</PolicyDocument>", raw, re.S).group(1)
    if encoded.lstrip().startswith("{"):
        return json.loads(encoded)
    fields = dict(urllib.parse.parse_qsl(encoded))
    return {"Version": fields["Version"], "Statement": ast.literal_eval(fields["Statement"])}


def network(moto):
    ec2 = moto.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{i}.0/24")["Subnet"]["SubnetId"] for i in (1, 2)]
    sg = ec2.create_security_group(GroupName="smartvault", Description="egress 443", VpcId=vpc)["GroupId"]
    return subnets, sg


def deploy(moto, name, template, params, region=REGION):
    cf = moto.client("cloudformation", region)
    with open(template, encoding="utf-8") as f:
        body = f.read()
    cf.create_stack(StackName=name, TemplateBody=body, Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"],
                    Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in params.items()])
    stack = cf.describe_stacks(StackName=name)["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE", stack.get("StackStatusReason")
    physical = {r["LogicalResourceId"]: r["PhysicalResourceId"]
                for r in cf.describe_stack_resources(StackName=name)["StackResources"] if r["LogicalResourceId"]}
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    return physical, outputs


def resource_values(moto, template, physical, region=REGION):
    """{logical id: {"Ref": ..., "Attrs": {...}}} from moto, for the Evaluator."""
    iam, ecs, sqs, logs, events = (moto.client(s, region) for s in ("iam", "ecs", "sqs", "logs", "events"))
    out = {}
    for name, pid in physical.items():
        rtype = template["Resources"][name]["Type"]
        attrs = {}
        if rtype == "AWS::IAM::Role":
            attrs["Arn"] = iam.get_role(RoleName=pid)["Role"]["Arn"]
        elif rtype == "AWS::ECS::Cluster":
            attrs["Arn"] = ecs.describe_clusters(clusters=[pid])["clusters"][0]["clusterArn"]
        elif rtype == "AWS::SQS::Queue":
            attrs["Arn"] = sqs.get_queue_attributes(QueueUrl=pid, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        elif rtype == "AWS::S3::Bucket":
            attrs["Arn"] = f"arn:aws:s3:::{pid}"
        elif rtype == "AWS::Logs::LogGroup":
            attrs["Arn"] = logs.describe_log_groups(logGroupNamePrefix=pid)["logGroups"][0]["arn"]
        elif rtype == "AWS::Events::Rule":
            attrs["Arn"] = events.describe_rule(Name=pid)["Arn"]
        elif rtype == "AWS::KMS::Key":
            attrs["Arn"] = f"arn:aws:kms:{region}:{ACCOUNT_ID}:key/{pid}"
        out[name] = {"Ref": pid, "Attrs": attrs}
    return out


class Deployed:
    def __init__(self, moto, params, name=STACK):
        self.moto = moto
        self.t = cfn.load()
        self.params = params
        self.physical, self.outputs = deploy(moto, name, cfn.TEMPLATE, params)
        self.ev = cfn.Evaluator(self.t, params, pseudo={"AWS::StackName": name, "AWS::Region": REGION,
                                                        "AWS::AccountId": ACCOUNT_ID},
                                resources=resource_values(moto, self.t, self.physical))

    def props(self, name):
        return self.ev.properties(name)


@pytest.fixture(scope="module")
def full(moto):
    subnets, sg = network(moto)
    params = dict(ImageUri=f"{ACCOUNT_ID}.dkr.ecr.{REGION}.amazonaws.com/smartvault:1.0.0",
                  Subnets=",".join(subnets), SecurityGroups=sg, DestRegion=DR_REGION, KmsKeyArn=KEY_ARN,
                  S3SourceBucket="seed-source", S3DestinationBuckets="ext-documents,ext-photos",
                  S3SseKmsKeyArn=KEY_ARN.replace(DR_REGION, REGION), CreateBackupBuckets="true", MinKeep="2",
                  RestoreDrill="2", CreateReportBucket="true")
    return Deployed(moto, params)


def test_stack_creates_every_resource_moto_supports(full):
    created = set(full.physical)
    assert created == set(full.t["Resources"]) - MOTO_UNSUPPORTED
    assert full.outputs["TopicArn"].startswith(f"arn:aws:sns:{REGION}:{ACCOUNT_ID}:")
    assert full.outputs["TaskRoleArn"] == full.ev.eval({"Fn::GetAtt": ["TaskRole", "Arn"]})


@pytest.mark.parametrize("role", ["TaskRole", "ExecutionRole", "SchedulerRole"])
def test_roles_and_policy_documents(full, role):
    iam = full.moto.client("iam")
    name = full.physical[role]
    want = full.props(role)
    got = iam.get_role(RoleName=name)["Role"]
    assert got["AssumeRolePolicyDocument"] == want["AssumeRolePolicyDocument"]
    (policy,) = want["Policies"]
    assert iam.list_role_policies(RoleName=name)["PolicyNames"] == [policy["PolicyName"]]
    doc = inline_role_policy(full.moto, name, policy["PolicyName"])
    assert strip_none(doc) == policy["PolicyDocument"]
    assert iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"] == []


def test_task_role_policy_names_the_stack_resources(full):
    doc = full.props("TaskRole")["Policies"][0]["PolicyDocument"]
    sts = {st["Sid"]: st for st in doc["Statement"]}
    assert sts["PublishCycleSummary"]["Resource"] == full.outputs["TopicArn"]
    assert sts["WriteAuditItems"]["Resource"] == \
        f"arn:aws:dynamodb:{REGION}:{ACCOUNT_ID}:table/{full.outputs['AuditTableName']}"
    created = [f"arn:aws:s3:::{full.physical[b]}/*" for b in
               ("DocumentsBackupBucket", "PhotosBackupBucket", "DatabaseBackupBucket")]
    assert sts["WriteCreatedBackupBuckets"]["Resource"] == created
    assert sts["WriteDestinationObjects"]["Resource"] == ["arn:aws:s3:::ext-documents/*", "arn:aws:s3:::ext-photos/*"]
    report = full.physical["CoverageReportBucket"]
    assert sts["WriteCoverageReport"]["Resource"] == f"arn:aws:s3:::{report}/smartvault/*"
    assert sts["SignCoverageReportLink"]["Resource"] == f"arn:aws:s3:::{report}/smartvault/index.html"
    # The same document as ecs/iam-policy.json once its placeholders are filled in.
    standalone = cfn.fill_placeholders(cfn.task_policy(), {
        "SOURCE_REGION": REGION, "DR_REGION": DR_REGION, "ACCOUNT_ID": ACCOUNT_ID, "DR_KMS_KEY_ARN": KEY_ARN,
        "SNS_TOPIC_ARN": full.outputs["TopicArn"], "AUDIT_TABLE": full.outputs["AuditTableName"],
        "SOURCE_BUCKET": "seed-source", "DOCUMENTS_BUCKET": "ext-documents", "PHOTOS_BUCKET": "ext-photos",
        "DATABASE_BUCKET": "unused", "S3_SSE_KMS_KEY_ARN": KEY_ARN.replace(DR_REGION, REGION),
        "REPORT_BUCKET": full.physical["CoverageReportBucket"]})
    ours = {st["Sid"]: st for st in standalone["Statement"]}
    for sid, st in ours.items():
        if sid not in ("ListDestinationBuckets", "WriteDestinationObjects"):
            assert sts[sid] == st, sid


def test_task_definition_container(full):
    ecs = full.moto.client("ecs")
    td = ecs.describe_task_definition(taskDefinition=full.physical["TaskDefinition"])["taskDefinition"]
    assert td["family"] == f"{STACK}-smartvault" and td["memory"] == "512"
    (c,) = td["containerDefinitions"]
    assert c["image"] == full.params["ImageUri"]
    assert c["user"] == "65532:65532" and c["readonlyRootFilesystem"] is True
    assert c["linuxParameters"]["capabilities"]["drop"] == ["ALL"]
    assert c["logConfiguration"] == {"logDriver": "awslogs", "options": {
        "awslogs-group": f"/ecs/{STACK}", "awslogs-region": REGION, "awslogs-stream-prefix": "smartvault"}}
    env = {e["name"]: e["value"] for e in c["environment"] if e}
    assert env["SNS_TOPIC_ARN"] == full.outputs["TopicArn"]
    assert env["DYNAMODB_TABLE"] == full.outputs["AuditTableName"]
    assert env["KMS_KEY_ID"] == KEY_ARN and env["DEST_REGION"] == DR_REGION and env["SOURCE_REGION"] == REGION
    assert env["MIN_KEEP"] == "2" and env["S3_SOURCE_BUCKET"] == "seed-source"
    want = {e["Name"]: e["Value"] for e in full.props("TaskDefinition")["ContainerDefinitions"][0]["Environment"]}
    assert {k: v for k, v in env.items() if k != "S3_ROUTES"} == {k: v for k, v in want.items() if k != "S3_ROUTES"}


def camel(node, keep=False):
    """CloudFormation's PascalCase property names -> ECS API camelCase (log driver options kept as they are)."""
    if isinstance(node, list):
        return [camel(v, keep) for v in node]
    if isinstance(node, dict):
        return {(k if keep else k[0].lower() + k[1:]): camel(v, keep or k == "Options") for k, v in node.items()}
    return node


def test_task_definition_registered_through_the_api(full):
    """moto's CloudFormation drops cpu, network mode, compatibilities and both roles: register the template's
    properties through RegisterTaskDefinition (botocore checks every field) and read them back."""
    ecs = full.moto.client("ecs")
    props = camel(full.props("TaskDefinition"))
    props["family"] = "replayed"
    td = ecs.register_task_definition(**props)["taskDefinition"]
    assert (td["cpu"], td["memory"], td["networkMode"], td["requiresCompatibilities"]) == (
        "256", "512", "awsvpc", ["FARGATE"])
    assert td["taskRoleArn"] == full.outputs["TaskRoleArn"]
    assert td["executionRoleArn"] == full.outputs["ExecutionRoleArn"]
    assert td["runtimePlatform"] == {"operatingSystemFamily": "LINUX", "cpuArchitecture": "X86_64"}
    # The plain JSON for the CLI goes through the same API.
    with open(f"{cfn.REPO}/ecs/task-definition.json", encoding="utf-8") as f:
        cli = json.loads(f.read().replace("<IMAGE_URI>", full.params["ImageUri"]))
    ecs.register_task_definition(**cli)


def test_log_group_retention(full):
    (group,) = full.moto.client("logs").describe_log_groups(logGroupNamePrefix=f"/ecs/{STACK}")["logGroups"]
    assert group["retentionInDays"] == 30


def test_audit_table(full):
    ddb = full.moto.client("dynamodb")
    name = full.outputs["AuditTableName"]
    table = ddb.describe_table(TableName=name)["Table"]
    assert table["KeySchema"] == [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}]
    assert sorted((a["AttributeName"], a["AttributeType"]) for a in table["AttributeDefinitions"]) == [("pk", "S"), ("sk", "S")]
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    # Replayed: moto's CloudFormation ignores these two properties.
    props = full.props("AuditTable")
    ddb.update_time_to_live(TableName=name, TimeToLiveSpecification=props["TimeToLiveSpecification"])
    ddb.update_continuous_backups(TableName=name,
                                  PointInTimeRecoverySpecification=props["PointInTimeRecoverySpecification"])
    ttl = ddb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
    assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expires_at"}
    pitr = ddb.describe_continuous_backups(TableName=name)["ContinuousBackupsDescription"]
    assert pitr["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED"
    # An audit item as issue 5 writes it fits the schema.
    ddb.batch_write_item(RequestItems={name: [{"PutRequest": {"Item": {
        "pk": {"S": "run-1"}, "sk": {"S": "2026-01-01T01:00:00Z#created#snap-1"}, "expires_at": {"N": "1800000000"}}}}]})


def test_topic_and_its_policy(full):
    sns = full.moto.client("sns")
    arn = full.outputs["TopicArn"]
    # Replayed: moto's CloudFormation ignores DisplayName and has no AWS::SNS::TopicPolicy.
    sns.set_topic_attributes(TopicArn=arn, AttributeName="DisplayName",
                             AttributeValue=full.props("Topic")["DisplayName"])
    assert sns.get_topic_attributes(TopicArn=arn)["Attributes"]["DisplayName"] == "SmartVault"
    props = full.props("TopicPolicy")
    assert props["Topics"] == [arn]
    sns.set_topic_attributes(TopicArn=arn, AttributeName="Policy", AttributeValue=json.dumps(props["PolicyDocument"]))
    policy = json.loads(sns.get_topic_attributes(TopicArn=arn)["Attributes"]["Policy"])
    events = [st for st in policy["Statement"] if st["Principal"] == {"Service": "events.amazonaws.com"}]
    assert events[0]["Condition"]["ArnEquals"]["aws:SourceArn"] == \
        full.ev.eval({"Fn::GetAtt": ["TaskFailedRule", "Arn"]})


def test_task_failure_rule(full):
    events = full.moto.client("events")
    name = full.physical["TaskFailedRule"]
    rule = events.describe_rule(Name=name)
    pattern = json.loads(rule["EventPattern"])
    assert pattern == full.props("TaskFailedRule")["EventPattern"]
    assert pattern["detail"]["clusterArn"] == [full.outputs["ClusterArn"]]
    (target,) = events.list_targets_by_rule(Rule=name)["Targets"]
    assert target["Arn"] == full.outputs["TopicArn"]
    assert "exitCode" in target["InputTransformer"]["InputPathsMap"]["exit"]
    # moto 5.1.1 ignores "anything-but" and "$or" when matching (and has no TestEventPattern): the
    # pattern's meaning is checked in test_template.py.


def test_dead_letter_queue(full):
    sqs = full.moto.client("sqs")
    attrs = sqs.get_queue_attributes(QueueUrl=full.physical["DeadLetterQueue"], AttributeNames=["All"])["Attributes"]
    assert attrs["MessageRetentionPeriod"] == "1209600"
    assert attrs["QueueArn"] == full.outputs["DeadLetterQueueArn"]


def test_alarms_through_the_api(full):
    cw = full.moto.client("cloudwatch")
    for name in ("CoverageAlarm", "ErrorsAlarm"):
        props = full.props(name)
        props["Period"] = int(props["Period"])  # CloudFormation converts the Number parameter
        cw.put_metric_alarm(**props)
    alarms = {a["AlarmName"]: a for a in cw.describe_alarms(AlarmNamePrefix=STACK)["MetricAlarms"]}
    cov = alarms[f"{STACK}-VolumesOutsideRpo"]
    assert (cov["Namespace"], cov["MetricName"], cov["Statistic"], cov["Period"], cov["EvaluationPeriods"]) == (
        "SmartVault", "VolumesOutsideRpo", "Maximum", 86400, 1)
    assert cov["Dimensions"] == [{"Name": "Service", "Value": "Backup"}]
    assert (cov["Threshold"], cov["ComparisonOperator"], cov["TreatMissingData"]) == (
        0.0, "GreaterThanThreshold", "breaching")
    assert cov["AlarmActions"] == [full.outputs["TopicArn"]]
    errors = alarms[f"{STACK}-Errors"]
    assert (errors["MetricName"], errors["ComparisonOperator"], errors["Threshold"]) == (
        "Errors", "GreaterThanThreshold", 0.0)


def test_schedule_through_the_api(full):
    scheduler = full.moto.client("scheduler")
    props = full.props("Schedule")
    # CloudFormation's AwsvpcConfiguration is the API's awsvpcConfiguration (the one key whose case differs).
    net = props["Target"]["EcsParameters"]["NetworkConfiguration"]
    net["awsvpcConfiguration"] = net.pop("AwsvpcConfiguration")
    scheduler.create_schedule(Name=f"{STACK}-cycle", **props)
    got = scheduler.get_schedule(Name=f"{STACK}-cycle")
    assert got["ScheduleExpression"] == "cron(0 1 * * ? *)" and got["State"] == "ENABLED"
    target = got["Target"]
    assert target["Arn"] == full.outputs["ClusterArn"] and target["RoleArn"] == full.outputs["SchedulerRoleArn"]
    assert target["EcsParameters"]["TaskDefinitionArn"] == full.outputs["TaskDefinitionArn"]
    assert target["EcsParameters"]["LaunchType"] == "FARGATE"
    assert target["EcsParameters"]["NetworkConfiguration"]["awsvpcConfiguration"]["Subnets"] == \
        full.params["Subnets"].split(",")
    assert target["DeadLetterConfig"]["Arn"] == full.outputs["DeadLetterQueueArn"]
    with open(f"{cfn.REPO}/ecs/schedule.json", encoding="utf-8") as f:
        cli = json.loads(f.read().replace("<SUBNET_ID>", "subnet-1").replace("<SECURITY_GROUP_ID>", "sg-1")
                         .replace("<SOURCE_REGION>", REGION).replace("<ACCOUNT_ID>", ACCOUNT_ID))
    scheduler.create_schedule(**cli)


def test_backup_buckets(full):
    s3 = full.moto.client("s3")
    for name in ("DocumentsBackupBucket", "PhotosBackupBucket", "DatabaseBackupBucket"):
        bucket = full.physical[name]
        enc = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"][0]
        assert enc["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
        # Replayed (moto's CloudFormation reads only BucketEncryption); same shapes as the API.
        props = full.props(name)
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration=props["VersioningConfiguration"])
        s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration=props["PublicAccessBlockConfiguration"])
        s3.put_bucket_ownership_controls(Bucket=bucket, OwnershipControls=props["OwnershipControls"])
        rules = []
        for r in props["LifecycleConfiguration"]["Rules"]:
            rule = {"ID": r["Id"], "Status": r["Status"], "Filter": {"Prefix": ""}}
            if "Transitions" in r:
                rule["Transitions"] = [{"Days": x["TransitionInDays"], "StorageClass": x["StorageClass"]}
                                       for x in r["Transitions"]]
                rule["NoncurrentVersionTransitions"] = [
                    {"NoncurrentDays": x["TransitionInDays"], "StorageClass": x["StorageClass"]}
                    for x in r["NoncurrentVersionTransitions"]]
            if "AbortIncompleteMultipartUpload" in r:
                rule["AbortIncompleteMultipartUpload"] = r["AbortIncompleteMultipartUpload"]
            rules.append(rule)
        s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": rules})
        assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
        pab = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
        assert all(pab.values()) and len(pab) == 4
        got = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
        tier = [r for r in got if r["ID"] == "tier-down"][0]
        assert [(x["Days"], x["StorageClass"]) for x in tier["Transitions"]] == [(30, "STANDARD_IA"), (180, "GLACIER")]
    assert full.outputs["BackupBuckets"].startswith(f"documents/={full.physical['DocumentsBackupBucket']},")


def test_dr_key_stack_in_the_dr_region(full):
    """moto's CloudFormation creates the key but stores its KeyPolicy as a dict, after which every KMS call on
    that key fails inside moto (500): check the stack and its output, then replay the key, its rotation and the
    alias (AWS::KMS::Alias is not in moto's CloudFormation) through the KMS API."""
    role = full.outputs["TaskRoleArn"]
    physical, outputs = deploy(full.moto, "sv-dr", cfn.DR_TEMPLATE, {"TaskRoleArn": role}, region=DR_REGION)
    assert outputs["KeyArn"] == f"arn:aws:kms:{DR_REGION}:{ACCOUNT_ID}:key/{physical['Key']}"
    t = cfn.load(cfn.DR_TEMPLATE)
    ev = cfn.Evaluator(t, {"TaskRoleArn": role}, pseudo={"AWS::Region": DR_REGION, "AWS::AccountId": ACCOUNT_ID})
    props = ev.properties("Key")
    kms = full.moto.client("kms", DR_REGION)
    meta = kms.create_key(Policy=json.dumps(props["KeyPolicy"]), Description=props["Description"])["KeyMetadata"]
    kms.enable_key_rotation(KeyId=meta["KeyId"])
    assert kms.get_key_rotation_status(KeyId=meta["KeyId"])["KeyRotationEnabled"] is props["EnableKeyRotation"]
    policy = json.loads(kms.get_key_policy(KeyId=meta["KeyId"], PolicyName="default")["Policy"])
    sts = {st["Sid"]: st for st in policy["Statement"]}
    assert sts["AccountAdministersKeyAndDelegatesToIam"]["Principal"] == {"AWS": f"arn:aws:iam::{ACCOUNT_ID}:root"}
    assert sts["SmartVaultEncryptsCopiesThroughEc2"]["Principal"] == {"AWS": role}
    assert sts["SmartVaultEncryptsCopiesThroughEc2"]["Condition"] == {
        "StringEquals": {"kms:ViaService": f"ec2.{DR_REGION}.amazonaws.com"}}
    alias = cfn.Evaluator(t, {"TaskRoleArn": role}, resources={"Key": {"Ref": meta["KeyId"], "Attrs": {}}}).properties("Alias")
    kms.create_alias(**alias)
    assert kms.describe_key(KeyId="alias/smartvault-dr")["KeyMetadata"]["Arn"] == meta["Arn"]


def test_stack_with_existing_topic_and_table(moto):
    subnets, sg = network(moto)
    topic = moto.client("sns").create_topic(Name="ops-alerts")["TopicArn"]
    params = dict(ImageUri="smartvault:1", Subnets=subnets[0], SecurityGroups=sg, SnsTopicArn=topic,
                  DynamoDbTable="existing-audit")
    d = Deployed(moto, params, name="sv-existing")
    assert "Topic" not in d.physical and "AuditTable" not in d.physical and "DocumentsBackupBucket" not in d.physical
    assert d.outputs["TopicArn"] == topic and d.outputs["AuditTableName"] == "existing-audit"
    doc = inline_role_policy(moto, d.physical["TaskRole"], "smartvault-cycle")
    sts = {st["Sid"]: st for st in strip_none(doc["Statement"])}
    assert set(sts) == {"DiscoverInstancesAndSnapshots", "CreateSnapshotsPerInstance", "TagSnapshotsOnlyWhenCreated",
                        "TagOwnSnapshotsWithTheirDevice", "DeleteOnlySmartVaultSnapshots", "NeverDeleteSnapshotsOnLegalHold", "PublishCycleSummary",
                        "PutMetricsInOwnNamespaceOnly", "WriteAuditItems", "RunLeaseItemOnly"}
    assert sts["PublishCycleSummary"]["Resource"] == topic
    assert sts["WriteAuditItems"]["Resource"] == f"arn:aws:dynamodb:{REGION}:{ACCOUNT_ID}:table/existing-audit"
    assert sts["RunLeaseItemOnly"]["Resource"] == f"arn:aws:dynamodb:{REGION}:{ACCOUNT_ID}:table/existing-audit"
    assert sts["RunLeaseItemOnly"]["Condition"] == {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["lease#*"]}}
