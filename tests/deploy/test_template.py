"""Structural tests of ecs/*.yaml and the plain JSON next to them: what moto's CloudFormation cannot show.

References resolve, every parameter and condition is used, the templates evaluate under every feature
combination, the IAM policies are least privilege (exact action sets, conditions, no wildcard resources on
mutating actions except where the API requires it, with the reason written beside it), and the CLI JSON
files agree with the template.
"""

import copy
import json
import os
import re

import pytest

import cfn

ENV_NAMES = [
    "SOURCE_REGION", "DEST_REGION", "RETENTION_DAYS", "DEST_RETENTION_DAYS", "MIN_KEEP", "KEEP_DAILY",
    "KEEP_WEEKLY", "KEEP_MONTHLY", "MIN_INTERVAL", "BACKUP_TAG", "KMS_KEY_ID", "WAIT_FOR_COMPLETION",
    "MAX_CONCURRENCY", "COPY_LIMIT", "DRY_RUN", "LOG_FORMAT", "LOG_LEVEL", "SNS_TOPIC_ARN", "METRIC_NAMESPACE",
    "METRICS_MODE", "DYNAMODB_TABLE", "AUDIT_TTL_DAYS", "S3_SOURCE_BUCKET", "S3_ROUTES", "S3_DEST_PREFIX",
    "S3_STORAGE_CLASS", "S3_SSE", "S3_SSE_KMS_KEY_ID", "S3_MULTIPART_THRESHOLD", "AWS_MAX_ATTEMPTS",
    "AWS_RETRY_MODE", "RESTORE_DRILL", "RESTORE_DRILL_PERIOD", "REPORT_BUCKET", "REPORT_PREFIX", "STOP_TIMEOUT",
]
# Set whatever the parameters say (the rest are left unset when their parameter is empty).
ALWAYS_SET = {"SOURCE_REGION", "DRY_RUN", "LOG_FORMAT", "LOG_LEVEL", "SNS_TOPIC_ARN", "METRIC_NAMESPACE",
              "METRICS_MODE", "DYNAMODB_TABLE", "RETENTION_DAYS", "STOP_TIMEOUT"}

REQUIRED = {"ImageUri": "123456789012.dkr.ecr.us-east-1.amazonaws.com/smartvault:1",
            "Subnets": "subnet-1,subnet-2", "SecurityGroups": "sg-1"}
KEY = "arn:aws:kms:us-west-2:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
FULL = dict(
    REQUIRED, SourceRegion="us-east-1", DestRegion="us-west-2", DestRetentionDays="30", MinKeep="2",
    KeepDaily="7", KeepWeekly="4", KeepMonthly="12", MinInterval="12h", BackupTag="Backup=true", KmsKeyArn=KEY,
    WaitForCompletion="0", MaxConcurrency="8", CopyLimit="20", AuditTtlDays="90", S3SourceBucket="src",
    S3Routes="documents/=d", S3DestinationBuckets="d,p", S3DestPrefix="backup/", S3StorageClass="STANDARD_IA",
    S3Sse="aws:kms", S3SseKmsKeyArn=KEY.replace("us-west-2", "us-east-1"), S3MultipartThreshold="104857600",
    AwsMaxAttempts="5", AwsRetryMode="adaptive", CreateBackupBuckets="true", RestoreDrill="2", CreateReportBucket="true",
)
EXISTING = dict(REQUIRED, SnsTopicArn="arn:aws:sns:us-east-1:123456789012:ops", DynamoDbTable="audit")
# ecs/member-role.yaml and ecs/batch.yaml (multi-account runs): their feature combinations.
MEMBER_REQUIRED = {"HubAccountId": "111122223333", "ExternalId": "vault-external-id",
                   "SourceRegions": "us-east-1,eu-west-1"}
BATCH_REQUIRED = dict(REQUIRED, SourceRegions="us-east-1,eu-west-1", Accounts="111111111111,222222222222",
                      ExternalId="vault-external-id")
OTHER_COMBINATIONS = {
    cfn.MEMBER_TEMPLATE: {
        "no-copies": MEMBER_REQUIRED,
        "copies": dict(MEMBER_REQUIRED, DestRegions="us-west-2,eu-central-1"),
        "copies-with-keys": dict(MEMBER_REQUIRED, DestRegions="us-west-2", DrKmsKeyArns=KEY),
    },
    cfn.BATCH_TEMPLATE: {
        "listed-accounts": BATCH_REQUIRED,
        "organization": dict(BATCH_REQUIRED, Accounts="organization", AccountsExclude="123456789012",
                             DestRegion="us-west-2", DestRegionMap="eu-west-1=eu-central-1"),
    },
}
# The single-task stack over many accounts and regions (issue 14).
MULTI = dict(REQUIRED, SourceRegions="us-east-1,eu-west-1", DestRegion="us-west-2", Accounts="111111111111,222222222222",
             AccountRoleName="SmartVaultMember", AccountRoleExternalId="vault-external-id")
COMBINATIONS = {"minimal": REQUIRED, "full": FULL, "existing-topic-and-table": EXISTING,
                "created-buckets-only": dict(REQUIRED, S3SourceBucket="src", CreateBackupBuckets="true"),
                "multi-account": MULTI, "organization": dict(FULL, Accounts="organization", AccountRoleName="Member",
                                                             SourceRegions="us-east-1,eu-west-1")}

# Allow statements with Resource "*" that are not read-only: each needs the API's reason.
STAR_REQUIRED = {
    "cloudwatch:PutMetricData": "PutMetricData has no resource types (Service Authorization Reference)",
    "ecr:GetAuthorizationToken": "GetAuthorizationToken has no resource types",
}
READ_ONLY = re.compile(r"^[a-z0-9-]+:(Describe|List|Get|BatchGet|BatchCheck)[A-Za-z]*$")

TASK_ACTIONS = {
    "ec2:DescribeInstances", "ec2:DescribeSnapshots", "ec2:CreateSnapshots", "ec2:CreateTags", "ec2:CopySnapshot",
    "ec2:DeleteSnapshot", "kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*",
    "kms:DescribeKey", "kms:CreateGrant", "kms:GenerateDataKey", "s3:ListBucket", "s3:ListBucketMultipartUploads",
    "s3:GetObject", "s3:GetObjectTagging", "s3:PutObject", "s3:PutObjectTagging", "s3:AbortMultipartUpload",
    "sns:Publish",
    "cloudwatch:PutMetricData", "dynamodb:BatchWriteItem", "dynamodb:Query", "dynamodb:PutItem", "dynamodb:DeleteItem",
    "ec2:DescribeVolumes", "ec2:DescribeAvailabilityZones", "ec2:CreateVolume", "ec2:DeleteVolume",
}

GETATT = {
    "AWS::IAM::Role": {"Arn", "RoleId"},
    "AWS::ECS::Cluster": {"Arn"},
    "AWS::SQS::Queue": {"Arn", "QueueName", "QueueUrl"},
    "AWS::S3::Bucket": {"Arn", "DomainName", "RegionalDomainName"},
    "AWS::Logs::LogGroup": {"Arn"},
    "AWS::Events::Rule": {"Arn"},
    "AWS::KMS::Key": {"Arn", "KeyId"},
    "AWS::SNS::Topic": {"TopicArn", "TopicName"},
    "AWS::DynamoDB::Table": {"Arn", "StreamArn"},
}


@pytest.fixture(scope="module", params=[cfn.TEMPLATE, cfn.DR_TEMPLATE, cfn.MEMBER_TEMPLATE, cfn.BATCH_TEMPLATE],
                ids=["smartvault", "dr-kms", "member-role", "batch"])
def any_template(request):
    return request.param, cfn.load(request.param)


@pytest.fixture(scope="module")
def t():
    return cfn.load()


def as_list(v):
    return v if isinstance(v, list) else [v]


class StrictEvaluator(cfn.Evaluator):
    """Fails on a reference to a resource whose Condition is false (CloudFormation rejects such a template)."""

    def _check(self, name):
        res = self.t.get("Resources", {}).get(name)
        if res is not None and not self.resource_enabled(name):
            raise AssertionError(f"reference to {name}, which this combination does not create")

    def _ref(self, name):
        self._check(name)
        return super()._ref(name)

    def _getatt(self, name, attr):
        self._check(name)
        return super()._getatt(name, attr)


def evaluate_all(t, params):
    ev = StrictEvaluator(t, params)
    out = {}
    for name in t["Resources"]:
        if ev.resource_enabled(name):
            out[name] = ev.properties(name)
    outputs = {}
    for name, o in t.get("Outputs", {}).items():
        if "Condition" not in o or ev.condition(o["Condition"]):
            outputs[name] = ev.eval(o["Value"])
    return out, outputs


def policy_docs(resources):
    """Every IAM policy document in the evaluated resources: (where, document)."""
    for name, props in resources.items():
        for i, p in enumerate(props.get("Policies", [])):
            yield f"{name}/Policies/{i}", p["PolicyDocument"]
        for k in ("PolicyDocument", "KeyPolicy"):
            if k in props:
                yield f"{name}/{k}", props[k]


# ------------------------------------------------------------------------------------------------ both templates


def test_yaml_has_no_ambiguous_booleans(any_template):
    path, t = any_template
    assert cfn.load(path, loader=cfn.Yaml12BoolLoader) == t, "quote yes/no/on/off: YAML 1.1 reads them as booleans"


def test_template_fits_the_template_body_limit(any_template):
    path, _ = any_template
    size = os.path.getsize(path)
    assert size < 51200, f"{path} is {size} bytes: over CloudFormation's TemplateBody limit (51,200)"


def test_every_reference_resolves(any_template):
    _, t = any_template
    params, resources, conditions = set(t.get("Parameters", {})), set(t["Resources"]), set(t.get("Conditions", {}))
    for path, kind, name in cfn.references(t):
        if kind == "Condition":
            assert name in conditions, f"{path}: unknown condition {name}"
        elif kind == "GetAtt":
            assert name in resources, f"{path}: GetAtt on unknown resource {name}"
        else:
            assert name in params | resources | cfn.PSEUDO_PARAMETERS, f"{path}: {kind} to unknown name {name}"
    for where, body in list(t["Resources"].items()) + list(t.get("Outputs", {}).items()):
        if "Condition" in body:
            assert body["Condition"] in conditions, f"{where}: unknown condition {body['Condition']}"


def test_getatt_attributes_exist(any_template):
    _, t = any_template
    for path, n in cfn.walk(t):
        if isinstance(n, dict) and "Fn::GetAtt" in n:
            res, attr = n["Fn::GetAtt"]
            rtype = t["Resources"][res]["Type"]
            assert attr in GETATT[rtype], f"{path}: {rtype} has no attribute {attr}"
        if isinstance(n, dict) and "Fn::Sub" in n:
            text = n["Fn::Sub"] if isinstance(n["Fn::Sub"], str) else n["Fn::Sub"][0]
            for var in cfn.sub_variables(text):
                if "." in var and not var.startswith("AWS::"):
                    res, attr = var.split(".", 1)
                    assert attr in GETATT[t["Resources"][res]["Type"]], f"{path}: {var}"


def test_every_parameter_and_condition_is_used(any_template):
    _, t = any_template
    refs = list(cfn.references(t))
    used = {name for _, kind, name in refs if kind != "Condition"}
    for p in t.get("Parameters", {}):
        assert p in used, f"parameter {p} is never used"
    used_conditions = {name for _, kind, name in refs if kind == "Condition"}
    used_conditions |= {b["Condition"] for b in list(t["Resources"].values()) + list(t.get("Outputs", {}).values())
                        if "Condition" in b}
    for c in t.get("Conditions", {}):
        assert c in used_conditions, f"condition {c} is never used"


def test_resource_star_only_where_required_with_reason(any_template):
    path, t = any_template
    for line_no, line in enumerate(open(path, encoding="utf-8"), 1):
        if re.search(r'Resource:\s*"\*"', line) or re.search(r'^\s*-\s*"\*"\s*(#|$)', line):
            assert "#" in line and len(line.split("#", 1)[1].strip()) > 10, \
                f"{path}:{line_no}: Resource \"*\" needs its reason in a comment beside it"
    combos = COMBINATIONS if path == cfn.TEMPLATE else OTHER_COMBINATIONS.get(
      path, {"no-role": {}, "role": {"TaskRoleArn": "arn:aws:iam::1:role/x"}})
    for combo, params in combos.items():
        resources, _ = evaluate_all(t, params)
        for where, doc in policy_docs(resources):
            key_policy = where.endswith("/KeyPolicy")
            for st in doc["Statement"]:
                actions = as_list(st["Action"])
                if st["Effect"] == "Allow" and not key_policy:
                    assert all(a != "*" and not a.endswith(":*") for a in actions), f"{combo} {where}: {actions}"
                if key_policy and "kms:*" in actions:
                    assert st["Principal"] == {"AWS": "arn:aws:iam::123456789012:root"}, "kms:* only for the account"
                if "*" not in as_list(st.get("Resource", [])) or st["Effect"] == "Deny" or key_policy:
                    continue
                for a in actions:
                    assert READ_ONLY.match(a) or a in STAR_REQUIRED, \
                        f"{combo} {where} {st.get('Sid')}: mutating {a} on Resource \"*\""


def test_template_evaluates_in_every_combination(t):
    for combo, params in COMBINATIONS.items():
        resources, outputs = evaluate_all(t, params)
        assert "TaskDefinition" in resources and outputs["TopicArn"], combo


# ------------------------------------------------------------------------------------------------ the task role


def task_statements(t, params):
    resources, _ = evaluate_all(t, params)
    (policy,) = resources["TaskRole"]["Policies"]
    return {st["Sid"]: st for st in policy["PolicyDocument"]["Statement"]}


def test_task_role_grants_exactly_the_cycle_actions(t):
    sts = task_statements(t, FULL)
    actions = {a for st in sts.values() if st["Effect"] == "Allow" for a in as_list(st["Action"])}
    assert actions == TASK_ACTIONS


def test_task_role_optional_statements_follow_the_features(t):
    minimal = task_statements(t, REQUIRED)
    assert set(minimal) == {"DiscoverInstancesAndSnapshots", "CreateSnapshotsPerInstance",
                            "TagSnapshotsOnlyWhenCreated", "TagOwnSnapshotsWithTheirDevice",
                            "DeleteOnlySmartVaultSnapshots",
                            "NeverDeleteSnapshotsOnLegalHold", "PublishCycleSummary", "PutMetricsInOwnNamespaceOnly",
                            "WriteAuditItems", "RunLeaseItemOnly"}
    # Without a DR region, no ARN names another region.
    assert "us-west-2" not in json.dumps(minimal)
    # A KMS key without a DR region is not used for anything.
    assert "UseDrKmsKeyThroughEc2" not in task_statements(t, dict(REQUIRED, KmsKeyArn=KEY))


def test_task_role_conditions_and_scopes(t):
    sts = task_statements(t, FULL)
    src, dr = "arn:aws:ec2:us-east-1::snapshot/*", "arn:aws:ec2:us-west-2::snapshot/*"
    assert sts["CreateSnapshotsPerInstance"]["Resource"] == [
        "arn:aws:ec2:us-east-1:123456789012:instance/*", "arn:aws:ec2:us-east-1:123456789012:volume/*", src]
    tags = sts["TagSnapshotsOnlyWhenCreated"]
    assert tags["Resource"] == [src, dr]
    assert tags["Condition"] == {"StringEquals": {"ec2:CreateAction": ["CreateSnapshots", "CopySnapshot"]}}
    assert sts["CopySnapshotsToDrRegion"]["Resource"] == [src, dr]
    delete = sts["DeleteOnlySmartVaultSnapshots"]
    assert delete["Resource"] == [src, dr]
    assert delete["Condition"] == {"StringEquals": {"aws:ResourceTag/CreatedBy": "SmartVault"}}
    hold = sts["NeverDeleteSnapshotsOnLegalHold"]
    assert hold["Effect"] == "Deny" and hold["Action"] == "ec2:DeleteSnapshot"
    kms = sts["UseDrKmsKeyThroughEc2"]
    assert kms["Resource"] == KEY and kms["Condition"]["StringEquals"]["kms:ViaService"] == "ec2.us-west-2.amazonaws.com"
    grant = sts["GrantDrKmsKeyToEbsOnly"]
    assert grant["Resource"] == KEY and grant["Condition"] == {"Bool": {"kms:GrantIsForAWSResource": "true"}}
    assert sts["ListSourceBucket"]["Resource"] == "arn:aws:s3:::src"
    assert sts["ReadSourceObjects"]["Resource"] == "arn:aws:s3:::src/*"
    assert sts["ListDestinationBuckets"]["Resource"] == ["arn:aws:s3:::d", "arn:aws:s3:::p"]
    assert sts["WriteDestinationObjects"]["Resource"] == ["arn:aws:s3:::d/*", "arn:aws:s3:::p/*"]
    assert sts["WriteCreatedBackupBuckets"]["Resource"] == [
        "<DocumentsBackupBucket.Arn>/*", "<PhotosBackupBucket.Arn>/*", "<DatabaseBackupBucket.Arn>/*"]
    assert sts["PutMetricsInOwnNamespaceOnly"]["Condition"] == {
        "StringEquals": {"cloudwatch:namespace": "SmartVault"}}
    assert sts["PublishCycleSummary"]["Resource"] == "<Topic>"
    assert sts["WriteAuditItems"]["Resource"] == "arn:aws:dynamodb:us-east-1:123456789012:table/<AuditTable>"
    device = sts["TagOwnSnapshotsWithTheirDevice"]
    assert device["Action"] == "ec2:CreateTags" and device["Resource"] == src
    assert device["Condition"] == {"StringEquals": {"aws:ResourceTag/CreatedBy": "SmartVault"},
                                   "ForAllValues:StringEquals": {"aws:TagKeys": ["SmartVault:Device"]}}
    # The restore drill (RESTORE_DRILL): volumes only with the drill tag, deleted only with it, both regions.
    vols = ["arn:aws:ec2:us-east-1:123456789012:volume/*", "arn:aws:ec2:us-west-2:123456789012:volume/*"]
    create = sts["CreateOnlyDrillVolumes"]
    assert create["Action"] == "ec2:CreateVolume" and create["Resource"] == [vols[0], src, vols[1], dr]
    assert create["Condition"] == {"StringEquals": {"aws:RequestTag/SmartVault:Drill": "true"}}
    assert sts["TagDrillVolumesOnlyWhenCreated"]["Resource"] == vols
    assert sts["TagDrillVolumesOnlyWhenCreated"]["Condition"] == {"StringEquals": {"ec2:CreateAction": "CreateVolume"}}
    assert sts["DeleteOnlyDrillVolumes"]["Resource"] == vols
    assert sts["DeleteOnlyDrillVolumes"]["Condition"] == {"StringEquals": {"aws:ResourceTag/SmartVault:Drill": "true"}}
    assert sts["DescribeVolumesAndZonesForDrills"]["Action"] == ["ec2:DescribeVolumes", "ec2:DescribeAvailabilityZones"]
    existing = task_statements(t, EXISTING)
    assert existing["PublishCycleSummary"]["Resource"] == EXISTING["SnsTopicArn"]
    assert existing["WriteAuditItems"]["Resource"] == "arn:aws:dynamodb:us-east-1:123456789012:table/audit"


def test_source_region_parameter_moves_the_ec2_scope(t):
    sts = task_statements(t, dict(REQUIRED, SourceRegion="eu-west-1"))
    assert all(":eu-west-1:" in r for r in sts["CreateSnapshotsPerInstance"]["Resource"])


def test_no_literal_account_or_region_in_policies(t):
    text = json.dumps(cfn.task_policy(t))
    assert not re.search(r"\d{12}", text) and not re.search(r"[a-z]{2}-[a-z]+-\d", text), text


def test_iam_policy_json_is_the_template_policy():
    with open(os.path.join(cfn.REPO, "ecs", "iam-policy.json"), encoding="utf-8") as f:
        standalone = json.load(f)
    assert standalone == cfn.task_policy(), \
        "ecs/iam-policy.json differs from the template: python3 tests/deploy/cfn.py iam-policy > ecs/iam-policy.json"


# ------------------------------------------------------------------------------------------------ other resources


def test_task_definition(t):
    resources, _ = evaluate_all(t, FULL)
    td = resources["TaskDefinition"]
    assert (td["Cpu"], td["Memory"], td["NetworkMode"], td["RequiresCompatibilities"]) == ("256", "512", "awsvpc", ["FARGATE"])
    assert td["TaskRoleArn"] == "<TaskRole.Arn>" and td["ExecutionRoleArn"] == "<ExecutionRole.Arn>"
    (c,) = td["ContainerDefinitions"]
    assert c["Image"] == FULL["ImageUri"] and c["User"] == "65532:65532" and c["ReadonlyRootFilesystem"] is True
    assert c["LinuxParameters"] == {"Capabilities": {"Drop": ["ALL"]}}
    assert c["LogConfiguration"]["LogDriver"] == "awslogs"
    assert c["LogConfiguration"]["Options"]["awslogs-stream-prefix"] == "smartvault"
    names = [e["Name"] for e in c["Environment"]]
    assert sorted(names) == sorted(ENV_NAMES), "every variable of DESIGN.md section 5 is a parameter"
    for combo, params in COMBINATIONS.items():
        res, _ = evaluate_all(t, params)
        env = {e["Name"]: e["Value"] for e in res["TaskDefinition"]["ContainerDefinitions"][0]["Environment"]}
        assert ALWAYS_SET <= set(env), combo
        assert all(v != "" for v in env.values()), f"{combo}: an empty variable would be a bad value, not a default"
    minimal, _ = evaluate_all(t, REQUIRED)
    env = {e["Name"]: e["Value"] for e in minimal["TaskDefinition"]["ContainerDefinitions"][0]["Environment"]}
    assert set(env) == ALWAYS_SET
    assert env["SOURCE_REGION"] == "us-east-1" and env["METRIC_NAMESPACE"] == "SmartVault"
    buckets, _ = evaluate_all(t, COMBINATIONS["created-buckets-only"])
    env = {e["Name"]: e["Value"] for e in buckets["TaskDefinition"]["ContainerDefinitions"][0]["Environment"]}
    assert env["S3_ROUTES"] == ("documents/=<DocumentsBackupBucket>,photos/=<PhotosBackupBucket>,"
                                "database/=<DatabaseBackupBucket>")


def test_scheduler_and_its_role(t):
    resources, _ = evaluate_all(t, REQUIRED)
    s = resources["Schedule"]
    assert s["ScheduleExpression"] == "cron(0 1 * * ? *)" and s["FlexibleTimeWindow"] == {"Mode": "OFF"}
    target = s["Target"]
    assert target["Arn"] == "<Cluster.Arn>" and target["RoleArn"] == "<SchedulerRole.Arn>"
    ecs = target["EcsParameters"]
    assert ecs["TaskDefinitionArn"] == "<TaskDefinition>" and ecs["LaunchType"] == "FARGATE" and ecs["TaskCount"] == 1
    assert ecs["NetworkConfiguration"]["AwsvpcConfiguration"] == {
        "Subnets": ["subnet-1", "subnet-2"], "SecurityGroups": ["sg-1"], "AssignPublicIp": "DISABLED"}
    assert target["RetryPolicy"]["MaximumRetryAttempts"] >= 1
    assert target["DeadLetterConfig"] == {"Arn": "<DeadLetterQueue.Arn>"}
    role = resources["SchedulerRole"]
    trust = role["AssumeRolePolicyDocument"]["Statement"][0]
    assert trust["Principal"] == {"Service": "scheduler.amazonaws.com"}
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": "123456789012"}}
    sts = {st["Sid"]: st for st in role["Policies"][0]["PolicyDocument"]["Statement"]}
    assert {a for st in sts.values() for a in as_list(st["Action"])} == {"ecs:RunTask", "iam:PassRole", "sqs:SendMessage"}
    run = sts["RunOnlyThisTaskDefinitionOnThisCluster"]
    assert run["Resource"] == "<TaskDefinition>" and run["Condition"] == {"ArnEquals": {"ecs:cluster": "<Cluster.Arn>"}}
    passrole = sts["PassOnlyTheTwoTaskRolesToEcs"]
    assert passrole["Resource"] == ["<TaskRole.Arn>", "<ExecutionRole.Arn>"]
    assert passrole["Condition"] == {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}
    assert sts["SendFailedInvocationsToDeadLetterQueue"]["Resource"] == "<DeadLetterQueue.Arn>"


def test_roles_trust_only_their_service_in_this_account(t):
    resources, _ = evaluate_all(t, REQUIRED)
    for name in ("TaskRole", "ExecutionRole"):
        (st,) = resources[name]["AssumeRolePolicyDocument"]["Statement"]
        assert st["Principal"] == {"Service": "ecs-tasks.amazonaws.com"}, name
        assert st["Condition"]["StringEquals"] == {"aws:SourceAccount": "123456789012"}, name
    exe = resources["ExecutionRole"]["Policies"][0]["PolicyDocument"]["Statement"]
    logs = [st for st in exe if st["Action"] == ["logs:CreateLogStream", "logs:PutLogEvents"]]
    assert logs and logs[0]["Resource"] == "arn:aws:logs:us-east-1:123456789012:log-group:<LogGroup>:*"


def test_alarms(t):
    resources, _ = evaluate_all(t, REQUIRED)
    c = resources["CoverageAlarm"]
    assert c["AlarmName"].endswith("VolumesOutsideRpo")
    assert (c["Namespace"], c["MetricName"], c["Dimensions"]) == ("SmartVault", "VolumesOutsideRpo",
                                                                  [{"Name": "Service", "Value": "Backup"}])
    assert (c["Statistic"], c["Period"], c["EvaluationPeriods"], c["Threshold"]) == ("Maximum", "86400", 1, 0)
    assert c["ComparisonOperator"] == "GreaterThanThreshold" and c["TreatMissingData"] == "breaching"
    assert c["AlarmActions"] == ["<Topic>"]
    # The count alarm of seed 000 is opt-in: it fires after a kill + re-run that had nothing left to create.
    assert "NoSnapshotsCreatedAlarm" not in resources
    resources, _ = evaluate_all(t, dict(REQUIRED, NoSnapshotsCreatedAlarmEnabled="true"))
    a = resources["NoSnapshotsCreatedAlarm"]
    assert a["AlarmName"].endswith("NoSnapshotsCreated")
    assert (a["Namespace"], a["MetricName"], a["Dimensions"]) == ("SmartVault", "SnapshotsCreated",
                                                                  [{"Name": "Service", "Value": "Backup"}])
    assert (a["Statistic"], a["Period"], a["EvaluationPeriods"], a["Threshold"]) == ("Sum", "86400", 1, 0)
    assert a["ComparisonOperator"] == "LessThanOrEqualToThreshold" and a["TreatMissingData"] == "breaching"
    assert a["AlarmActions"] == ["<Topic>"]
    e = resources["ErrorsAlarm"]
    assert (e["MetricName"], e["ComparisonOperator"], e["Threshold"], e["Statistic"]) == (
        "Errors", "GreaterThanThreshold", 0, "Sum")
    assert e["AlarmActions"] == ["<Topic>"]
    existing, _ = evaluate_all(t, EXISTING)
    assert existing["CoverageAlarm"]["AlarmActions"] == [EXISTING["SnsTopicArn"]]
    # RestoreDrillsFailed > 0, only when the drill runs.
    assert "RestoreDrillFailedAlarm" not in resources
    full, _ = evaluate_all(t, FULL)
    d = full["RestoreDrillFailedAlarm"]
    assert (d["MetricName"], d["ComparisonOperator"], d["Threshold"], d["Statistic"], d["TreatMissingData"]) == (
        "RestoreDrillsFailed", "GreaterThanThreshold", 0, "Sum", "notBreaching")
    assert d["Dimensions"] == [{"Name": "Service", "Value": "Backup"}] and d["AlarmActions"] == ["<Topic>"]
    env = {e["Name"]: e["Value"] for e in full["TaskDefinition"]["ContainerDefinitions"][0]["Environment"]}
    assert (env["RESTORE_DRILL"], env["RESTORE_DRILL_PERIOD"]) == ("2", "86400")


def test_task_failure_rule_and_topic_policy(t):
    resources, _ = evaluate_all(t, REQUIRED)
    rule = resources["TaskFailedRule"]
    p = rule["EventPattern"]
    assert p["source"] == ["aws.ecs"] and p["detail-type"] == ["ECS Task State Change"]
    assert p["detail"]["clusterArn"] == ["<Cluster.Arn>"] and p["detail"]["lastStatus"] == ["STOPPED"]
    assert {"containers": {"exitCode": [{"anything-but": 0}]}} in p["detail"]["$or"]
    assert rule["Targets"][0]["Arn"] == "<Topic>"
    sts = resources["TopicPolicy"]["PolicyDocument"]["Statement"]
    events = [st for st in sts if st["Principal"] == {"Service": "events.amazonaws.com"}]
    assert events and events[0]["Condition"] == {"ArnEquals": {"aws:SourceArn": "<TaskFailedRule.Arn>"}}


def test_audit_table_and_log_group(t):
    resources, _ = evaluate_all(t, REQUIRED)
    table = resources["AuditTable"]
    assert table["BillingMode"] == "PAY_PER_REQUEST"
    assert table["KeySchema"] == [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}]
    assert {(a["AttributeName"], a["AttributeType"]) for a in table["AttributeDefinitions"]} == {("pk", "S"), ("sk", "S")}
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    assert table["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert t["Resources"]["AuditTable"]["DeletionPolicy"] == "Retain"
    assert resources["LogGroup"]["RetentionInDays"] == "30"


def test_backup_buckets_follow_seed_004(t):
    resources, _ = evaluate_all(t, dict(REQUIRED, CreateBackupBuckets="true"))
    for name in ("DocumentsBackupBucket", "PhotosBackupBucket", "DatabaseBackupBucket"):
        b = resources[name]
        assert b["VersioningConfiguration"] == {"Status": "Enabled"}
        assert b["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"] == {
            "SSEAlgorithm": "AES256"}
        assert all(b["PublicAccessBlockConfiguration"][k] is True for k in (
            "BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"))
        (tier,) = [r for r in b["LifecycleConfiguration"]["Rules"] if "Transitions" in r]
        assert tier["Transitions"] == [{"StorageClass": "STANDARD_IA", "TransitionInDays": 30},
                                       {"StorageClass": "GLACIER", "TransitionInDays": 180}]
        assert t["Resources"][name]["DeletionPolicy"] == "Retain"
    none, _ = evaluate_all(t, REQUIRED)
    assert "DocumentsBackupBucket" not in none


def test_dr_key_template():
    t = cfn.load(cfn.DR_TEMPLATE)
    role = "arn:aws:iam::123456789012:role/sv-TaskRole-X"
    resources, outputs = evaluate_all(t, {"TaskRoleArn": role})
    key = resources["Key"]
    assert key["EnableKeyRotation"] is True and t["Resources"]["Key"]["DeletionPolicy"] == "Retain"
    sts = {st["Sid"]: st for st in key["KeyPolicy"]["Statement"]}
    use = sts["SmartVaultEncryptsCopiesThroughEc2"]
    assert use["Principal"] == {"AWS": role}
    assert use["Condition"] == {"StringEquals": {"kms:ViaService": "ec2.us-east-1.amazonaws.com"}}
    assert sts["SmartVaultGrantsToEbsOnly"]["Condition"] == {"Bool": {"kms:GrantIsForAWSResource": "true"}}
    without, _ = evaluate_all(t, {})
    assert [st["Sid"] for st in without["Key"]["KeyPolicy"]["Statement"]] == ["AccountAdministersKeyAndDelegatesToIam"]
    assert outputs["KeyArn"] == "<Key.Arn>"


# ------------------------------------------------------------------------------------------------ CLI JSON files


def load_json(name):
    with open(os.path.join(cfn.REPO, "ecs", name), encoding="utf-8") as f:
        return json.load(f)


def test_task_definition_json_agrees_with_template(t):
    j = load_json("task-definition.json")
    resources, _ = evaluate_all(t, dict(FULL, ImageUri="<IMAGE_URI>"))
    td = resources["TaskDefinition"]
    assert (j["cpu"], j["memory"], j["networkMode"], j["requiresCompatibilities"]) == (
        td["Cpu"], td["Memory"], td["NetworkMode"], td["RequiresCompatibilities"])
    assert j["runtimePlatform"] == {"operatingSystemFamily": "LINUX", "cpuArchitecture": "X86_64"}
    (jc,) = j["containerDefinitions"]
    (tc,) = td["ContainerDefinitions"]
    assert jc["image"] == tc["Image"] == "<IMAGE_URI>"
    assert jc["user"] == tc["User"] and jc["readonlyRootFilesystem"] is tc["ReadonlyRootFilesystem"] is True
    assert jc["linuxParameters"] == {"capabilities": {"drop": ["ALL"]}}
    assert jc["logConfiguration"]["logDriver"] == tc["LogConfiguration"]["LogDriver"]
    assert jc["logConfiguration"]["options"]["awslogs-stream-prefix"] == \
        tc["LogConfiguration"]["Options"]["awslogs-stream-prefix"]
    # SIGKILL comes StopTimeout after SIGTERM: STOP_TIMEOUT (20s) must end the run with margin to spare.
    assert jc["stopTimeout"] == tc["StopTimeout"] == 30
    names = [e["name"] for e in jc["environment"]]
    assert len(names) == len(set(names)) and set(names) <= set(ENV_NAMES) and ALWAYS_SET <= set(names)
    defaults, _ = evaluate_all(t, REQUIRED)
    tenv = {e["Name"]: e["Value"] for e in defaults["TaskDefinition"]["ContainerDefinitions"][0]["Environment"]}
    jenv = {e["name"]: e["value"] for e in jc["environment"]}
    for k in ("RETENTION_DAYS", "DRY_RUN", "LOG_FORMAT", "LOG_LEVEL", "METRIC_NAMESPACE", "METRICS_MODE", "STOP_TIMEOUT"):
        assert jenv[k] == tenv[k], k


def test_schedule_json_agrees_with_template(t):
    j = load_json("schedule.json")
    resources, _ = evaluate_all(t, REQUIRED)
    s = resources["Schedule"]
    for k in ("ScheduleExpression", "ScheduleExpressionTimezone", "State", "FlexibleTimeWindow"):
        assert j[k] == s[k], k
    assert j["Target"]["RetryPolicy"] == s["Target"]["RetryPolicy"]
    je, te = j["Target"]["EcsParameters"], copy.deepcopy(s["Target"]["EcsParameters"])
    for k in ("TaskCount", "LaunchType", "PlatformVersion"):
        assert je[k] == te[k], k
    # The Scheduler API spells it awsvpcConfiguration; CloudFormation's property is AwsvpcConfiguration.
    assert je["NetworkConfiguration"]["awsvpcConfiguration"]["AssignPublicIp"] == \
        te["NetworkConfiguration"]["AwsvpcConfiguration"]["AssignPublicIp"]
    assert "DeadLetterConfig" in j["Target"]


def eventbridge_match(pattern, event):
    """The subset of EventBridge pattern matching the SmartVault rule uses: exact values, anything-but, $or, and
    arrays in the event (a field matches when any element does). moto 5.1.1 ignores anything-but and $or."""
    missing = object()

    def value_matches(filters, value):
        values = value if isinstance(value, list) else [value]
        for f in filters:
            for v in values:
                if v is missing:
                    continue
                if isinstance(f, dict) and "anything-but" in f:
                    if v not in as_list(f["anything-but"]):
                        return True
                elif not isinstance(f, dict) and v == f:
                    return True
        return False

    for key, want in pattern.items():
        if key == "$or":
            if not any(eventbridge_match(p, event) for p in want):
                return False
            continue
        got = event.get(key, missing) if isinstance(event, dict) else missing
        if isinstance(want, dict):
            items = got if isinstance(got, list) else [got]
            if not any(isinstance(i, dict) and eventbridge_match(want, i) for i in items):
                return False
        elif not value_matches(want, got):
            return False
    return True


def test_task_failure_pattern_matches_failed_cycles_only(t):
    resources, _ = evaluate_all(t, REQUIRED)
    pattern = resources["TaskFailedRule"]["EventPattern"]

    def event(**detail):
        base = {"clusterArn": "<Cluster.Arn>", "lastStatus": "STOPPED", "taskArn": "arn:task/1"}
        return {"source": "aws.ecs", "detail-type": "ECS Task State Change", "detail": dict(base, **detail)}

    for code in (1, 2, 3, 137):
        assert eventbridge_match(pattern, event(containers=[{"name": "smartvault", "exitCode": code}])), code
    assert eventbridge_match(pattern, event(stopCode="TaskFailedToStart", containers=[{"name": "smartvault"}]))
    assert not eventbridge_match(pattern, event(stopCode="EssentialContainerExited",
                                                containers=[{"name": "smartvault", "exitCode": 0}]))
    running = event(containers=[{"name": "smartvault", "exitCode": 1}])
    running["detail"]["lastStatus"] = "RUNNING"
    assert not eventbridge_match(pattern, running)
    other = event(containers=[{"name": "smartvault", "exitCode": 1}])
    other["detail"]["clusterArn"] = "arn:aws:ecs:us-east-1:123456789012:cluster/other"
    assert not eventbridge_match(pattern, other)
