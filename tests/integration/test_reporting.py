"""Reporting end to end (issue 5): the SNS summary, the CloudWatch metrics and the DynamoDB audit log of real cycles.

Every run goes through faultproxy (it counts requests, and injects faults where a test asks), with boto3 on moto
reading what arrived:

- SNS: an SQS queue subscribed to the topic receives the message (the JSON envelope carries Subject and Message);
- CloudWatch: ListMetrics and GetMetricData on the namespace;
- DynamoDB: a Scan of the audit table (pk = run id, sk = <timestamp>#<action>#<resource>).

moto 5.1.1 cannot verify signatures of DynamoDB requests, so these tests run moto with signature checking off (the
default `moto` fixture), as every other cycle test does.
"""

import json
import sys
import threading
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import ebs_fleet as fl  # noqa: E402
from conftest import free_port  # noqa: E402
from faultproxy import Response, Rule  # noqa: E402

SRC, DST = "us-east-1", "us-west-2"
TABLE = "smartvault-audit"
NAMESPACE = "SmartVault"
REQUIRED_METRICS = {"SnapshotsCreated", "SnapshotsCopied", "SnapshotsDeleted", "Errors", "CycleDurationSeconds"}
SNS_LIMIT = 262144


@pytest.fixture
def channels(moto, boto3_client):
    """A topic with a subscribed queue, an audit table with TTL on expires_at, and the clients to read them."""
    sns, sqs, ddb = boto3_client("sns", SRC), boto3_client("sqs", SRC), boto3_client("dynamodb", SRC)
    topic = sns.create_topic(Name="smartvault-reports")["TopicArn"]
    queue = sqs.create_queue(QueueName="smartvault-inbox")["QueueUrl"]
    qarn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=qarn)
    ddb.create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                              {"AttributeName": "sk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    ddb.update_time_to_live(TableName=TABLE,
                            TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires_at"})

    class Channels:
        pass

    ch = Channels()
    ch.topic, ch.queue, ch.sns, ch.sqs, ch.ddb = topic, queue, sns, sqs, ddb
    ch.cw = boto3_client("cloudwatch", SRC)
    ch.env = {"SNS_TOPIC_ARN": topic, "DYNAMODB_TABLE": TABLE}
    return ch


@pytest.fixture
def cycle(run_smartvault, proxy):
    """cycle(env additions, expect=0, rules=()) -> (cycle.done, stdout), through the proxy."""

    def run(extra=None, expect=0, rules=(), args=()):
        proxy.clear()
        for r in rules:
            proxy.add(r)
        env = {"AWS_ENDPOINT_URL": proxy.url, "SOURCE_REGION": SRC}
        env.update(extra or {})
        t0 = time.monotonic()
        proc = run_smartvault(["run", *args], extra_env=env, timeout=120)
        run.seconds = time.monotonic() - t0
        assert proc.returncode == expect, f"exit {proc.returncode}\nstdout:\n{proc.stdout[-6000:]}\n{proc.stderr}"
        return fl.done(proc.stdout), proc.stdout

    return run


# ---- reading the channels ----------------------------------------------------------------------------------------


def messages(ch):
    """Every SNS notification the queue received: [(subject, message)]."""
    out = []
    while True:
        got = ch.sqs.receive_message(QueueUrl=ch.queue, MaxNumberOfMessages=10, WaitTimeSeconds=0)
        if not got.get("Messages"):
            return out
        for m in got["Messages"]:
            envelope = json.loads(m["Body"])
            out.append((envelope.get("Subject"), envelope["Message"]))
            ch.sqs.delete_message(QueueUrl=ch.queue, ReceiptHandle=m["ReceiptHandle"])


def the_message(ch):
    msgs = messages(ch)
    assert len(msgs) == 1, msgs
    return msgs[0]


def metrics(ch):
    """{name: (dimensions, value)} of the namespace, from ListMetrics and GetMetricData (Sum)."""
    listed = ch.cw.list_metrics(Namespace=NAMESPACE)["Metrics"]
    if not listed:
        return {}
    now = time.time()
    queries = [{"Id": f"m{i}", "MetricStat": {"Metric": m, "Period": 60, "Stat": "Sum"}, "ReturnData": True}
               for i, m in enumerate(listed)]
    res = ch.cw.get_metric_data(MetricDataQueries=queries, StartTime=now - 3600, EndTime=now + 3600)
    values = {r["Id"]: r["Values"] for r in res["MetricDataResults"]}
    out = {}
    for i, m in enumerate(listed):
        assert m["MetricName"] not in out, f"{m['MetricName']} listed twice: {listed}"
        vals = values[f"m{i}"]
        out[m["MetricName"]] = (m["Dimensions"], sum(vals) if vals else None)
    return out


def audit_items(ch):
    items, kwargs = [], {"TableName": TABLE}
    while True:
        page = ch.ddb.scan(**kwargs)
        items += page["Items"]
        if "LastEvaluatedKey" not in page:
            break
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    return [{k: next(iter(v.values())) for k, v in it.items()} for it in items]


def actions(d):
    """Number of actions in the report, from the cycle.done counts (EBS job only in these tests)."""
    c = d["counts"]
    return c["snapshots_created"] + c["snapshots_copied"] + c["snapshots_deleted"] + c["skipped"] + c["failures"]


def report_done(stdout):
    (line,) = fl.of(stdout, "report.done")
    return line


def emf_lines(stdout):
    return [e for e in fl.events(stdout) if "_aws" in e]


def check_audit(ch, d, expected_items):
    """Exactly one item per action (and the run's coverage item), keys as documented, TTL set about AUDIT_TTL_DAYS
    ahead."""
    items = audit_items(ch)
    coverage = [it for it in items if it["action"] == "coverage"]
    if d.get("coverage") and d["coverage"]["volumes"] > 0:
        (cov,) = coverage
        assert cov["volumes_outside_rpo"] == str(d["coverage"]["volumes_outside_rpo"])
        assert cov["sk"].endswith("#coverage#run")
    else:
        assert coverage == []
    items = [it for it in items if it["action"] != "coverage"]
    assert len(items) == expected_items, (len(items), expected_items)
    assert len({it["sk"] for it in items}) == len(items)
    now = time.time()
    for it in items:
        assert it["pk"] == d["run_id"] == it["run_id"]
        ts, action, resource = it["sk"].split("#", 2)
        assert ts == it["timestamp"] and action == it["action"]
        assert resource.startswith(it.get("snapshot_id") or it.get("instance_id") or "-")
        assert action in ("created", "copied", "deleted", "skipped", "failed")
        assert abs(int(it["expires_at"]) - (now + 365 * 86400)) < 600
    return items


# ---- success, partial failure, no instances ------------------------------------------------------------------------


def test_successful_cycle_reports_the_same_counts_everywhere(ec2, ec2_dst, channels, cycle, proxy):
    fl.launch(ec2, tags={"Backup": "true"}, volumes=1, name="web")
    fl.launch(ec2, tags={"Backup": "true"}, volumes=2, name="db")
    fl.launch(ec2, tags={"backup": "true"}, volumes=1)
    d, out = cycle({**channels.env, "DEST_REGION": DST})
    c = d["counts"]
    assert (c["snapshots_created"], c["snapshots_copied"], c["failures"]) == (4, 4, 0)
    assert report_done(out) == {**report_done(out), "audit": "ok", "metrics": "ok", "sns": "ok"}
    # One call per channel.
    assert proxy.count("Publish") == 1 and proxy.count("PutMetricData") == 1 and proxy.count("BatchWriteItem") == 1

    created = set(fl.smartvault_snapshots(ec2))
    copied = set(fl.smartvault_snapshots(ec2_dst))
    subject, body = the_message(channels)
    assert subject == "SmartVault OK: 4 created, 4 copied, 0 deleted"
    assert body.startswith(subject + "\n\n")
    assert f"Run id:    {d['run_id']}\n" in body
    assert "Duration:  " in body and "Regions:   us-east-1, copies to us-west-2\n" in body
    assert "Snapshots created:  4\n" in body and "Snapshots copied:   4\n" in body
    assert "Snapshots deleted:  0\n" in body and "Errors:             0\n" in body
    assert "  us-east-1: 4 created, 0 copied, 0 deleted, 0 skipped, 0 failed\n" in body
    assert "  us-west-2: 0 created, 4 copied, 0 deleted, 0 skipped, 0 failed\n" in body
    assert "\nSnapshots created (4):\n" in body and "\nSnapshots copied (4):\n" in body
    for s in created | copied:
        assert s in body
    assert "Errors (" not in body

    m = metrics(channels)
    assert REQUIRED_METRICS <= set(m)
    for name, (dims, _) in m.items():
        assert dims == [{"Name": "Service", "Value": "Backup"}], (name, dims)
    assert m["SnapshotsCreated"][1] == c["snapshots_created"] == 4
    assert m["SnapshotsCopied"][1] == c["snapshots_copied"] == 4
    assert m["SnapshotsDeleted"][1] == c["snapshots_deleted"] == 0
    assert m["Errors"][1] == c["failures"] == 0
    assert 0 < m["CycleDurationSeconds"][1] <= d["wall_ms"] / 1000
    assert "S3ObjectsCopied" not in m  # the S3 job did not run
    (put,) = fl.of(out, "report.metrics")
    assert put["metrics"]["SnapshotsCreated"] == 4

    items = check_audit(channels, d, actions(d))
    by_action = {}
    for it in items:
        by_action.setdefault(it["action"], set()).add(it["snapshot_id"])
        assert it["job"] == "ebs"
    assert by_action == {"created": created, "copied": copied}
    for it in items:
        if it["action"] == "created":
            assert it["region"] == SRC and it["instance_id"].startswith("i-") and it["volume_id"].startswith("vol-")
        else:
            assert it["region"] == DST and it["source_snapshot_id"] in created


@pytest.mark.parametrize("status,code", [(403, "UnauthorizedOperation"), (500, "InternalError")])
def test_partial_failure_says_failed_with_the_aws_code(ec2, channels, cycle, status, code):
    ids = [fl.launch(ec2, tags={"Backup": "true"}, volumes=1)[0] for _ in range(3)]
    denied = Rule("error", op="CreateSnapshots", body=f"InstanceId={ids[1]}&", status=status, shape="ec2",
                  code=code, message="injected for instance " + ids[1])
    d, out = cycle(channels.env, expect=1, rules=[denied])
    c = d["counts"]
    assert (c["snapshots_created"], c["failures"]) == (2, 1)
    assert d["outcome"] == "partial"
    subject, body = the_message(channels)
    assert subject == "SmartVault FAILED: 1 error, 2 created, 0 copied, 0 deleted"
    assert "Errors:             1\n" in body
    assert f"\nErrors (1):\n  - us-east-1 {ids[1]}: {code} - CreateSnapshots: injected for instance {ids[1]}\n" in body
    assert "  us-east-1: 2 created, 0 copied, 0 deleted, 0 skipped, 1 failed\n" in body
    m = metrics(channels)
    assert m["Errors"][1] == 1 and m["SnapshotsCreated"][1] == 2
    items = check_audit(channels, d, actions(d))
    (failed,) = [it for it in items if it["action"] == "failed"]
    assert failed["instance_id"] == ids[1] and failed["error_code"] == code
    assert "injected" in failed["message"]
    assert report_done(out)["sns"] == "ok"


def test_no_instances_is_reported_as_seed_001_does_and_zero_is_published(channels, cycle, proxy):
    d, out = cycle(channels.env)
    assert d["counts"]["instances_seen"] == 0
    subject, body = the_message(channels)
    assert subject == "SmartVault OK: No instances found with Backup=true"
    assert "\nNo instances found with Backup=true \u2014 skipping snapshot.\n" in body
    # The zero-snapshot cycle still puts SnapshotsCreated = 0, so "no snapshots created" alarms on a value.
    m = metrics(channels)
    assert REQUIRED_METRICS <= set(m)
    assert m["SnapshotsCreated"] == ([{"Name": "Service", "Value": "Backup"}], 0)
    assert m["Errors"][1] == 0
    # No action, no audit item, no BatchWriteItem call.
    assert audit_items(channels) == []
    assert proxy.count("BatchWriteItem") == 0


def test_custom_backup_tag_in_the_no_instances_wording(channels, cycle):
    cycle({**channels.env, "BACKUP_TAG": "snapshot=daily"})
    subject, body = the_message(channels)
    assert subject == "SmartVault OK: No instances found with snapshot=daily"
    assert "No instances found with snapshot=daily \u2014 skipping snapshot." in body


def test_s3_job_counts_in_the_summary_metrics_and_audit(boto3_client, channels, cycle):
    s3 = boto3_client("s3", SRC)
    for b in ("sv-src", "sv-docs", "sv-photos"):
        s3.create_bucket(Bucket=b)
    objects = {"documents/a.pdf": b"a" * 1000, "documents/b.txt": b"b" * 24, "photos/c.jpg": b"c" * 500,
               "misc/unrouted.bin": b"x"}
    for k, v in objects.items():
        s3.put_object(Bucket="sv-src", Key=k, Body=v)
    env = {**channels.env, "EBS_BACKUP": "false", "S3_SOURCE_BUCKET": "sv-src",
           "S3_ROUTES": "documents/=sv-docs,photos/=sv-photos"}
    d, out = cycle(env)
    c = d["counts"]
    assert (c["s3_objects_copied"], c["s3_bytes_copied"], c["s3_failed"]) == (3, 1524, 0)
    subject, body = the_message(channels)
    assert subject == "SmartVault OK: S3 3 copied"
    assert "\nS3 backup:\n" in body and "  Objects copied:   3 (1524 bytes)\n" in body
    assert "Snapshots created" not in body  # the EBS job did not run
    assert "\nS3 objects copied (3):\n" in body and "documents/a.pdf -> s3://sv-docs (1000 bytes)" in body
    m = metrics(channels)
    assert REQUIRED_METRICS | {"S3ObjectsCopied", "S3BytesCopied", "S3ObjectsFailed"} <= set(m)
    assert (m["S3ObjectsCopied"][1], m["S3BytesCopied"][1], m["S3ObjectsFailed"][1]) == (3, 1524, 0)
    assert m["SnapshotsCreated"][1] == 0
    items = audit_items(channels)
    copied = {(it["bucket"], it["key"]): it for it in items if it["action"] == "copied"}
    assert set(copied) == {("sv-docs", "documents/a.pdf"), ("sv-docs", "documents/b.txt"), ("sv-photos", "photos/c.jpg")}
    assert all(it["job"] == "s3" for it in items)
    assert copied[("sv-docs", "documents/a.pdf")]["bytes"] == "1000"
    assert copied[("sv-docs", "documents/a.pdf")]["sk"].endswith("#copied#sv-docs/documents/a.pdf")
    assert len(items) == len({it["sk"] for it in items})


# ---- CloudWatch modes --------------------------------------------------------------------------------------------


def test_emf_mode_writes_one_valid_emf_line_and_makes_no_cloudwatch_call(ec2, channels, cycle, proxy):
    fl.launch(ec2, tags={"Backup": "true"}, volumes=2)
    d, out = cycle({"METRICS_MODE": "emf"})
    assert proxy.count("PutMetricData") == 0 and "PutMetricData" not in d["api_calls"]
    assert channels.cw.list_metrics(Namespace=NAMESPACE)["Metrics"] == []
    (emf,) = emf_lines(out)
    aws = emf["_aws"]
    assert isinstance(aws["Timestamp"], int) and abs(aws["Timestamp"] / 1000 - time.time()) < 300
    (directive,) = aws["CloudWatchMetrics"]
    assert directive["Namespace"] == NAMESPACE and directive["Dimensions"] == [["Service"]]
    names = [m["Name"] for m in directive["Metrics"]]
    assert REQUIRED_METRICS <= set(names)
    for m in directive["Metrics"]:
        assert m["Unit"] in ("Count", "Seconds", "Bytes")
        assert isinstance(emf[m["Name"]], (int, float))
    assert emf["Service"] == "Backup" and emf["run_id"] == d["run_id"]
    assert emf["SnapshotsCreated"] == d["counts"]["snapshots_created"] == 2
    assert emf["Errors"] == 0
    # The EMF line is a line of its own on stdout (CloudWatch Logs reads one event per line), before cycle.done.
    lines = out.splitlines()
    (at,) = [i for i, line in enumerate(lines) if '"_aws"' in line]
    assert json.loads(lines[at]) == emf and at < len(lines) - 1


def test_both_mode_puts_and_writes_off_mode_does_neither(ec2, channels, cycle, proxy):
    fl.launch(ec2, tags={"Backup": "true"}, volumes=1)
    d, out = cycle({"METRICS_MODE": "both"})
    assert proxy.count("PutMetricData") == 1 and len(emf_lines(out)) == 1
    assert metrics(channels)["SnapshotsCreated"][1] == 1
    d, out = cycle({"METRICS_MODE": "off"})
    assert proxy.count("PutMetricData") == 0 and emf_lines(out) == []
    assert report_done(out)["metrics"] == "off"


def test_metric_namespace_is_configurable(ec2, channels, cycle):
    cycle({"METRIC_NAMESPACE": "Ops/Backups"})
    assert channels.cw.list_metrics(Namespace=NAMESPACE)["Metrics"] == []
    names = {m["MetricName"] for m in channels.cw.list_metrics(Namespace="Ops/Backups")["Metrics"]}
    assert REQUIRED_METRICS <= names


# ---- DynamoDB batching, throttling, UnprocessedItems ---------------------------------------------------------------


def test_more_than_25_actions_are_written_in_batches_of_25(ec2, channels, cycle, proxy):
    fl.launch(ec2, count=30, tags={"Backup": "true"}, volumes=1)
    d, out = cycle({"DYNAMODB_TABLE": TABLE, "METRICS_MODE": "off"})
    assert actions(d) == 30
    assert proxy.count("BatchWriteItem") == 2
    check_audit(channels, d, 30)
    (line,) = fl.of(out, "report.audit")
    # 30 actions + the run's coverage item
    assert (line["items"], line["written"], line["lost"], line["batches"], line["rounds"]) == (31, 31, 0, 2, 1)


def test_throttled_batches_are_retried_and_lose_no_item(ec2, channels, cycle, proxy):
    fl.launch(ec2, count=20, tags={"Backup": "true"}, volumes=1)
    # One batch, 4 throttles: a throttled request was not executed, so the request layer retries it until the
    # run's deadline (RUN_TIMEOUT), not only AWS_MAX_ATTEMPTS times: it succeeds on its 5th attempt, in one round.
    throttle = Rule("throttle", shape="json", op="BatchWriteItem", count=4)
    d, out = cycle({"DYNAMODB_TABLE": TABLE, "METRICS_MODE": "off"}, rules=[throttle])
    assert throttle.fired == 4
    check_audit(channels, d, 20)
    (line,) = fl.of(out, "report.audit")
    assert line["lost"] == 0 and line["rounds"] == 1
    assert d["throttles"] >= 4


def unprocessed_answers(moto_url, times, keep=lambda i: i % 2 == 0):
    """A BatchWriteItem stand-in for the first `times` requests: writes only the items `keep` selects (straight to
    moto), and answers 200 with the others in UnprocessedItems, as DynamoDB does under load."""
    import boto3

    ddb = boto3.client("dynamodb", region_name=SRC, endpoint_url=moto_url, aws_access_key_id="testing",
                       aws_secret_access_key="testing")
    lock = threading.Lock()
    state = {"answered": 0, "held_back": 0}

    def answer(req):
        with lock:
            if state["answered"] >= times:
                return None  # forward to moto
            state["answered"] += 1
            body = json.loads(req.body)
            ((table, reqs),) = body["RequestItems"].items()
            written = [r for i, r in enumerate(reqs) if keep(i)]
            rest = [r for i, r in enumerate(reqs) if not keep(i)]
            if written:
                ddb.batch_write_item(RequestItems={table: written})
            state["held_back"] += len(rest)
            doc = {"UnprocessedItems": {table: rest} if rest else {}}
            return Response(200, json.dumps(doc), content_type="application/x-amz-json-1.0")

    answer.state = state
    return answer


def test_unprocessed_items_are_sent_again_until_written(moto, ec2, channels, cycle, proxy):
    fl.launch(ec2, count=40, tags={"Backup": "true"}, volumes=1)
    answer = unprocessed_answers(moto.url, times=3)
    d, out = cycle({"DYNAMODB_TABLE": TABLE, "METRICS_MODE": "off"}, rules=[Rule(answer, op="BatchWriteItem")])
    assert answer.state["held_back"] > 0
    items = check_audit(channels, d, 40)
    assert {it["snapshot_id"] for it in items} == set(fl.smartvault_snapshots(ec2))
    (line,) = fl.of(out, "report.audit")
    assert line["lost"] == 0 and line["unprocessed"] == answer.state["held_back"]
    assert line["rounds"] >= 2 and proxy.count("BatchWriteItem") > 2


def test_items_never_processed_are_reported_not_lost_silently(moto, ec2, channels, cycle, proxy):
    fl.launch(ec2, count=3, tags={"Backup": "true"}, volumes=1)
    never = unprocessed_answers(moto.url, times=10 ** 6, keep=lambda i: False)
    d, out = cycle(channels.env, expect=1, rules=[Rule(never, op="BatchWriteItem")])
    # The cycle did its work; only the audit is missing, and says so: one line per lost item, one failure.
    assert d["counts"]["snapshots_created"] == 3 and len(fl.smartvault_snapshots(ec2)) == 3
    assert d["counts"]["failures"] == 1 and d["outcome"] == "partial"
    assert audit_items(channels) == []
    (line,) = fl.of(out, "report.audit")
    assert (line["written"], line["lost"], line["rounds"]) == (0, 4, 6)  # 3 created + the coverage item
    lost = [e for e in fl.of(out, "report.audit_item_lost") if e["action"] != "coverage"]
    assert sorted(e["snapshot_id"] for e in lost) == sorted(fl.smartvault_snapshots(ec2))
    assert all(e["error_code"] == "UnprocessedItems" and e["pk"] == d["run_id"] for e in lost)
    (failed,) = fl.of(out, "report.audit_failed")
    assert failed["level"] == "error" and failed["aws_code"] == "UnprocessedItems"
    assert "4 of 4 audit items not written" in failed["message"]
    # Later channels tell about it: the Errors metric and the SNS message.
    assert metrics(channels)["Errors"][1] == 1
    subject, body = the_message(channels)
    assert subject == "SmartVault FAILED: 1 error, 3 created, 0 copied, 0 deleted"
    assert "\nErrors (1):\n  - us-east-1: UnprocessedItems - DynamoDB BatchWriteItem to smartvault-audit: 4 of 4" in body


# ---- reporting endpoints failing -----------------------------------------------------------------------------------

DENIED = {
    "sns": Rule("error", op="Publish", status=403, shape="query", code="AuthorizationError",
                message="User is not authorized to perform: SNS:Publish"),
    "cloudwatch": Rule("error", op="PutMetricData", status=403, shape="query", code="AccessDenied",
                       message="User is not authorized to perform: cloudwatch:PutMetricData"),
    "dynamodb": Rule("error", op="BatchWriteItem", status=400, shape="json", code="AccessDeniedException",
                     message="User is not authorized to perform: dynamodb:BatchWriteItem"),
}
ENDPOINT_VAR = {"sns": "AWS_ENDPOINT_URL_SNS", "cloudwatch": "AWS_ENDPOINT_URL_CLOUDWATCH",
                "dynamodb": "AWS_ENDPOINT_URL_DYNAMODB"}
EVENT = {"sns": "report.sns_failed", "cloudwatch": "report.metrics_failed", "dynamodb": "report.audit_failed"}
STATE_KEY = {"sns": "sns", "cloudwatch": "metrics", "dynamodb": "audit"}


@pytest.mark.parametrize("how", ["unreachable", "denied"])
@pytest.mark.parametrize("channel", ["sns", "cloudwatch", "dynamodb"])
def test_a_failing_reporting_endpoint_never_changes_what_the_cycle_did(ec2, ec2_dst, channels, cycle, channel,
                                                                       how):
    ids = [fl.launch(ec2, tags={"Backup": "true"}, volumes=2)[0] for _ in range(2)]
    extra, rules = {**channels.env, "DEST_REGION": DST}, []
    if how == "unreachable":
        extra[ENDPOINT_VAR[channel]] = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    else:
        rules = [Rule(DENIED[channel].action, op=DENIED[channel].op, **DENIED[channel].params)]
    d, out = cycle(extra, expect=1, rules=rules)

    # What the cycle did stands: every snapshot created and copied, and counted as such.
    c = d["counts"]
    assert (c["instances_seen"], c["snapshots_created"], c["snapshots_copied"]) == (2, 4, 4)
    assert len(fl.smartvault_snapshots(ec2)) == 4 and len(fl.smartvault_snapshots(ec2_dst)) == 4
    assert c["failures"] == 1 and d["outcome"] == "partial"
    assert not fl.of(out, "ebs.failed")
    # One clear error line naming the channel and the reason.
    (line,) = fl.of(out, EVENT[channel])
    assert line["level"] == "error"
    assert line["aws_code"] == ("net" if how == "unreachable" else DENIED[channel].params["code"])
    assert "unchanged" in line["effect"]
    done = report_done(out)
    assert done[STATE_KEY[channel]] == "failed"
    assert all(done[k] == "ok" for k in ("sns", "metrics", "audit") if k != STATE_KEY[channel])
    # The other channels still got everything.
    if channel != "dynamodb":
        check_audit(channels, d, actions(d) - 1)  # the reporting failure happened after the audit
    if channel != "cloudwatch":
        m = metrics(channels)
        assert m["SnapshotsCreated"][1] == 4
        assert m["Errors"][1] == (1 if channel == "dynamodb" else 0)  # only failures before the metrics step
    if channel != "sns":
        subject, body = the_message(channels)
        assert subject == "SmartVault FAILED: 1 error, 4 created, 4 copied, 0 deleted"
        assert "\nErrors (1):\n" in body
    else:
        assert messages(channels) == []


# ---- dry run -------------------------------------------------------------------------------------------------------


def test_dry_run_renders_everything_and_sends_nothing(ec2, channels, cycle, proxy):
    fl.launch(ec2, tags={"Backup": "true"}, volumes=2)
    d, out = cycle({**channels.env, "METRICS_MODE": "both", "LOG_LEVEL": "debug"}, args=["--dry-run"])
    for op in ("Publish", "PutMetricData", "BatchWriteItem"):
        assert proxy.count(op) == 0, proxy.counts()
    assert emf_lines(out) == []
    assert messages(channels) == [] and audit_items(channels) == []
    assert channels.cw.list_metrics(Namespace=NAMESPACE)["Metrics"] == []
    (sns,) = fl.of(out, "report.sns_dry_run")
    assert sns["subject"] == "SmartVault DRY RUN: would create 1, copy 0, delete 0"
    (body,) = fl.of(out, "report.sns_dry_run_message")
    assert body["message"].startswith(sns["subject"] + "\n\nDRY RUN: nothing was changed")
    assert len(body["message"].encode()) == sns["message_bytes"] and body["cut_for_log"] is False
    (m,) = fl.of(out, "report.metrics_dry_run")
    assert m["metrics"]["SnapshotsCreated"] == d["counts"]["snapshots_created"] == 1
    (a,) = fl.of(out, "report.audit_dry_run")
    assert (a["items"], a["batches"]) == (actions(d) + 1, 1)  # + the coverage item
    assert report_done(out) == {**report_done(out), "audit": "dry_run", "metrics": "dry_run", "sns": "dry_run"}


# ---- size ----------------------------------------------------------------------------------------------------------


def many_volume_snapshots(per_instance):
    """A CreateSnapshots rewrite: moto's answer (the real snapshot of the real volume) plus per_instance - 1 more
    items, as EC2 answers for an instance with that many volumes (moto's RunInstances gets slow far before that)."""
    counter = iter(range(10 ** 9))

    def fn(req, status, headers, body):
        if status != 200:
            return None
        text = body.decode()
        extra = "".join(
            f"<item><snapshotId>snap-{next(counter):017x}</snapshotId><volumeId>vol-{n:017x}</volumeId>"
            f"<state>pending</state><startTime>2026-01-01T00:00:00.000Z</startTime><progress></progress>"
            f"<ownerId>{fl.ACCOUNT_ID}</ownerId><volumeSize>100</volumeSize><encrypted>false</encrypted></item>"
            for n in range(1, per_instance))
        text = text.replace("</snapshotSet>", extra + "</snapshotSet>", 1)
        return status, [(k, v) for k, v in headers if k.lower() != "content-length"], text.encode()

    return fn


def test_a_large_cycle_message_stays_under_256_kb(ec2, channels, cycle):
    """A big cycle: 160 instances answered with 25 snapshots each = 4,000 created, about 320 KB of list lines. The
    summary is cut with "… and N more" and stays under SNS's limit; the counts stay exact. (The renderer's own limit
    tests, with 15,300 actions, are in tests/unit/test_notify.c.)"""
    fl.seed_fleet(ec2, 160, volumes=1, batch=80)
    (sub,) = channels.sns.list_subscriptions()["Subscriptions"]
    channels.sns.set_subscription_attributes(SubscriptionArn=sub["SubscriptionArn"],
                                             AttributeName="RawMessageDelivery", AttributeValue="true")
    wide = Rule("rewrite", op="CreateSnapshots", fn=many_volume_snapshots(25))
    d, out = cycle({"SNS_TOPIC_ARN": channels.topic, "METRICS_MODE": "off"}, rules=[wide])
    assert d["counts"]["snapshots_created"] == 4000
    got = channels.sqs.receive_message(QueueUrl=channels.queue, MaxNumberOfMessages=10)["Messages"]
    assert len(got) == 1
    body = got[0]["Body"]  # raw delivery: the message itself
    size = len(body.encode("utf-8"))
    (sent,) = fl.of(out, "report.sns")
    assert sent["message_bytes"] == size
    assert sent["subject"] == "SmartVault OK: 4000 created, 0 copied, 0 deleted"
    assert 240_000 < size <= SNS_LIMIT - 8192
    assert "\nSnapshots created (4000):\n" in body
    shown = body.count("\n  - us-east-1 i-")
    (more,) = [int(x.split(" more")[0]) for x in body.split("  \u2026 and ")[1:]]
    assert shown + more == 4000 and shown > 3000
    assert "  us-east-1: 4000 created, 0 copied, 0 deleted, 0 skipped, 0 failed\n" in body
