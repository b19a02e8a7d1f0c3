"""Graceful stop (issue 11): SIGTERM/SIGINT mid-cycle, as a plain process and as PID 1 of a PID namespace.

A latency proxy (faultproxy, CreateSnapshots delayed) makes the EBS snapshot phase long enough to be stopped in
the middle. After SIGTERM the binary must start no new request, let the ones in flight finish (or cancel them
after 40% of STOP_TIMEOUT), publish the audit items, metrics and SNS summary marked interrupted, print
`cycle.done` with outcome `interrupted`, and exit 4 — all within STOP_TIMEOUT. A second signal exits at once
with 128 + the signal number.

PID 1: `unshare --pid --fork --map-root-user` makes the binary the init process of a new PID namespace, where the
kernel drops a signal from outside that has no handler (a `FROM scratch` container's situation).
"""

import json
import os
import signal
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import ebs_fleet as fl  # noqa: E402
from faultproxy import Rule  # noqa: E402

SRC = "us-east-1"
TABLE = "smartvault-audit"
STOP_TIMEOUT_S = 10
INSTANCES = 24
CREATE_DELAY_S = 1.5  # each CreateSnapshots; with 3 in flight the phase takes ~12 s


@pytest.fixture
def channels(moto, boto3_client):
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

    class Channels:
        pass

    ch = Channels()
    ch.topic, ch.queue, ch.sqs, ch.ddb = topic, queue, sqs, ddb
    ch.cw = boto3_client("cloudwatch", SRC)
    return ch


def sns_messages(ch):
    out = []
    while True:
        got = ch.sqs.receive_message(QueueUrl=ch.queue, MaxNumberOfMessages=10, WaitTimeSeconds=0)
        if not got.get("Messages"):
            return out
        for m in got["Messages"]:
            env = json.loads(m["Body"])
            out.append((env.get("Subject"), env["Message"]))
            ch.sqs.delete_message(QueueUrl=ch.queue, ReceiptHandle=m["ReceiptHandle"])


def audit_items(ch):
    items, kw = [], {"TableName": TABLE}
    while True:
        page = ch.ddb.scan(**kw)
        items += page["Items"]
        if "LastEvaluatedKey" not in page:
            return items
        kw["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def child_of(pid, timeout=5.0):
    """The process unshare --fork started (PID 1 inside the namespace), seen from outside."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            kids = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        except FileNotFoundError:
            kids = []
        if kids:
            return int(kids[0])
        time.sleep(0.02)
    raise AssertionError("unshare started no child")


def start(smartvault, aws_env, proxy, channels, pid1, extra=None):
    env = dict(aws_env)
    env.update({
        "AWS_ENDPOINT_URL": proxy.url,
        "SOURCE_REGION": SRC,
        "MAX_CONCURRENCY": "3",
        "STOP_TIMEOUT": f"{STOP_TIMEOUT_S}s",
        "SNS_TOPIC_ARN": channels.topic,
        "DYNAMODB_TABLE": TABLE,
    })
    env.update(extra or {})
    cmd = [smartvault, "run"]
    if pid1:
        cmd = ["unshare", "--pid", "--fork", "--map-root-user", *cmd]
    proc = subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, errors="replace")
    target = child_of(proc.pid) if pid1 else proc.pid
    return proc, target


def wait_for_creates(proxy, n, timeout=30.0):
    """Until n CreateSnapshots calls have been answered (so the stop comes mid-phase, after some creates)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        answered = [e for e in proxy.log if e["op"] == "CreateSnapshots" and e["status"] is not None]
        if len(answered) >= n:
            return
        time.sleep(0.05)
    raise AssertionError(f"fewer than {n} CreateSnapshots answered: {proxy.counts()}")


def finish(proc, timeout):
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        raise AssertionError(f"did not exit within {timeout} s\n{out[-4000:]}\n{err}")
    return out, err


@pytest.mark.parametrize("pid1", [False, True], ids=["plain", "pid1"])
def test_sigterm_mid_ebs_phase_reports_and_exits_interrupted(smartvault, aws_env, proxy, ec2, channels, pid1):
    fl.seed_fleet(ec2, INSTANCES, volumes=1, tags={"Backup": "true"})
    proxy.add(Rule("forward", op="CreateSnapshots", delay=CREATE_DELAY_S))
    proc, target = start(smartvault, aws_env, proxy, channels, pid1)
    wait_for_creates(proxy, 3)
    t0, t0_wall = time.monotonic(), time.time()
    os.kill(target, signal.SIGTERM)
    out, err = finish(proc, STOP_TIMEOUT_S + 5)
    took = time.monotonic() - t0
    assert proc.returncode == 4, f"exit {proc.returncode}\n{out[-4000:]}\n{err}"
    assert took < STOP_TIMEOUT_S, took
    done = fl.done(out)
    assert done["outcome"] == "interrupted" and done["stop_reason"] == "signal"
    assert fl.of(out, "cycle.stopping"), "no cycle.stopping line"

    # No new request after the stop: the creates answered are all there were (in flight ones finished).
    made = fl.smartvault_snapshots(ec2)
    assert 3 <= len(made) < INSTANCES, len(made)
    assert done["counts"]["snapshots_created"] == len(made)
    # The one rule for work a stop cancelled: every create not made is deferred once - not failed, not skipped.
    c = done["counts"]
    deferred = fl.of(out, "ebs.deferred")
    assert (c["deferred"], c["failures"], c["skipped"]) == (len(deferred), 0, 0), c
    assert len([e for e in deferred if e["step"] == "CreateSnapshots"]) == INSTANCES - len(made), deferred
    # api_calls lists only operations that were called (a cancelled-only operation is not there with 0).
    assert all(n > 0 for n in done["api_calls"].values()), done["api_calls"]
    sent_after = [e for e in proxy.log if e["op"] == "CreateSnapshots" and e["t"] > t0 + 0.2]
    assert not sent_after, sent_after

    # Every snapshot made has its audit item. Items streamed during the run were written before the stop and do
    # not say interrupted; what the ending wrote (every item recorded after the stop, and the coverage item) does.
    items = audit_items(channels)
    created = {i["snapshot_id"]["S"] for i in items if i["action"]["S"] == "created"}
    assert created == set(made), (created, set(made))
    marked = [i for i in items if i.get("interrupted", {}).get("BOOL")]
    assert marked, items
    for i in items:
        if i not in marked:
            ts = datetime.strptime(i["timestamp"]["S"], "%Y-%m-%dT%H:%M:%S.%f%z").timestamp()
            assert ts < t0_wall + 0.2, i  # streamed before the stop
    assert [i for i in items if i["action"]["S"] == "coverage"] == [i for i in marked if i["action"]["S"] == "coverage"]
    streamed = fl.of(out, "report.audit")[-1].get("streamed", 0)

    # The SNS summary says so.
    (subject, message), = sns_messages(channels)
    assert subject.startswith("SmartVault INTERRUPTED: ") and f"{len(made)} created" in subject, subject
    assert "INTERRUPTED (signal)" in message

    # And the metrics carry RunsInterrupted.
    names = {m["MetricName"] for m in channels.cw.list_metrics(Namespace="SmartVault")["Metrics"]}
    assert {"RunsInterrupted", "SnapshotsCreated"} <= names, names
    print(f"\nSIGTERM {'PID 1' if pid1 else 'plain'}: exit {proc.returncode} after {took:.2f} s, "
          f"{len(made)}/{INSTANCES} created, {len(items)} audit items ({streamed} streamed before the stop), "
          f"done outcome {done['outcome']}")


def test_second_signal_exits_at_once(smartvault, aws_env, proxy, ec2, channels):
    fl.seed_fleet(ec2, INSTANCES, volumes=1, tags={"Backup": "true"})
    proxy.add(Rule("forward", op="CreateSnapshots", delay=CREATE_DELAY_S * 4))
    proc, target = start(smartvault, aws_env, proxy, channels, False)
    end = time.monotonic() + 30
    while proxy.count("CreateSnapshots") < 1 and time.monotonic() < end:
        time.sleep(0.05)
    os.kill(target, signal.SIGTERM)
    time.sleep(0.3)
    t0 = time.monotonic()
    os.kill(target, signal.SIGINT)
    out, err = finish(proc, 5)
    assert proc.returncode == 128 + signal.SIGINT, (proc.returncode, out[-3000:], err)
    assert time.monotonic() - t0 < 1.0


def test_in_flight_requests_are_cancelled_after_the_drain_bound(smartvault, aws_env, proxy, ec2, channels):
    """A request that does not answer is cancelled after 40% of STOP_TIMEOUT; the run still reports and exits 4."""
    fl.seed_fleet(ec2, 4, volumes=1, tags={"Backup": "true"})
    proxy.add(Rule("forward", op="CreateSnapshots", delay=60))
    proc, target = start(smartvault, aws_env, proxy, channels, False)
    end = time.monotonic() + 30
    while proxy.count("CreateSnapshots") < 1 and time.monotonic() < end:
        time.sleep(0.05)
    t0 = time.monotonic()
    os.kill(target, signal.SIGTERM)
    out, err = finish(proc, STOP_TIMEOUT_S + 5)
    took = time.monotonic() - t0
    assert proc.returncode == 4, (proc.returncode, out[-3000:], err)
    assert STOP_TIMEOUT_S * 0.4 - 0.5 <= took < STOP_TIMEOUT_S, took
    done = fl.done(out)
    assert done["outcome"] == "interrupted"
    # Interrupted, not failed: the 3 creates cancelled on the wire (MAX_CONCURRENCY) are deferred "not confirmed"
    # (AWS may have acted; the next run's listing says), the one never sent "not done".
    assert done["counts"]["failures"] == 0 and done["counts"]["deferred"] == 4, done["counts"]
    reasons = sorted(e["reason"] for e in fl.of(out, "ebs.deferred"))
    assert reasons == ["deferred: CreateSnapshots not confirmed, run stopped (signal)"] * 3 + [
        "deferred: CreateSnapshots not done, run stopped (signal)"], reasons
    (subject, _), = sns_messages(channels)
    assert subject.startswith("SmartVault INTERRUPTED: ")


# ---- coverage, not counts (issue 11, part 3) ---------------------------------------------------------------------


def metric_max(ch, name):
    now = time.time()
    res = ch.cw.get_metric_statistics(Namespace="SmartVault", MetricName=name,
                                      Dimensions=[{"Name": "Service", "Value": "Backup"}],
                                      StartTime=now - 3600, EndTime=now + 3600, Period=60, Statistics=["Maximum"])
    points = res["Datapoints"]
    return max(p["Maximum"] for p in points) if points else None


def test_kill_after_creates_then_rerun_raises_no_coverage_alarm(smartvault, aws_env, proxy, ec2, channels):
    """SIGKILL once every CreateSnapshots was answered (no report at all), then a re-run: it has nothing to create
    (SnapshotsCreated=0, the old count alarm's condition) but every volume is covered (VolumesOutsideRpo=0)."""
    n = 6
    fl.seed_fleet(ec2, n, volumes=2, tags={"Backup": "true"})
    proxy.add(Rule("forward", op="DescribeSnapshots", after=1, delay=30))  # the re-list after creating hangs
    proc, target = start(smartvault, aws_env, proxy, channels, False)
    wait_for_creates(proxy, n)
    os.kill(target, signal.SIGKILL)
    finish(proc, 10)
    assert len(fl.smartvault_snapshots(ec2)) == 2 * n
    assert not sns_messages(channels) and metric_max(channels, "VolumesOutsideRpo") is None  # killed: no report

    proxy.clear()
    # The killed run's lease (DYNAMODB_TABLE is set) is still there: a re-run within its 10 minutes is skipped...
    proc, _ = start(smartvault, aws_env, proxy, channels, False)
    out, err = finish(proc, 60)
    assert proc.returncode == 0 and fl.done(out)["outcome"] == "skipped", (out[-3000:], err)
    # ...and the one after it expired acts (the lease's expiry is moved back instead of waiting 10 minutes).
    (lease,) = [i for i in channels.ddb.scan(TableName=TABLE)["Items"] if i["pk"]["S"].startswith("lease#")]
    lease["expires_at"] = {"N": str(int(time.time()) - 1)}
    channels.ddb.put_item(TableName=TABLE, Item=lease)
    proc, _ = start(smartvault, aws_env, proxy, channels, False)
    out, err = finish(proc, 60)
    assert proc.returncode == 0, (out[-3000:], err)
    done = fl.done(out)
    assert done["counts"]["snapshots_created"] == 0  # nothing was due
    cov = done["coverage"]
    assert (cov["volumes"], cov["volumes_outside_rpo"], cov["never_backed_up"]) == (2 * n, 0, 0), cov
    assert cov["rpo_s"] == 3600  # default: 2 x MIN_INTERVAL (30m), at least 1h
    assert metric_max(channels, "VolumesOutsideRpo") == 0
    assert metric_max(channels, "OldestBackupAgeSeconds") < 600
    (subject, message), = sns_messages(channels)
    assert subject.startswith("SmartVault OK: ") and "Coverage:           0 of 12 volumes outside" in message
    cov_items = [i for i in audit_items(channels) if i["action"]["S"] == "coverage"]
    assert len(cov_items) == 1 and cov_items[0]["volumes_outside_rpo"]["N"] == "0"


def test_unprotected_fleet_is_outside_rpo(smartvault, aws_env, proxy, ec2, channels):
    """CreateSnapshots denied: every volume is outside the RPO (never backed up) and the metric says so."""
    n = 3
    fl.seed_fleet(ec2, n, volumes=1, tags={"Backup": "true"})
    proxy.add(Rule("error", op="CreateSnapshots", status=403, shape="ec2", code="UnauthorizedOperation"))
    proc, _ = start(smartvault, aws_env, proxy, channels, False)
    out, err = finish(proc, 60)
    assert proc.returncode == 1, (out[-3000:], err)
    cov = fl.done(out)["coverage"]
    assert (cov["volumes"], cov["volumes_outside_rpo"], cov["never_backed_up"]) == (n, n, n), cov
    assert metric_max(channels, "VolumesOutsideRpo") == n


# ---- audit items stream out during the run (issue 11, part 2) ----------------------------------------------------


def test_sigkill_mid_ebs_loses_at_most_the_unflushed_audit_batch(smartvault, aws_env, proxy, ec2, channels):
    """SIGKILL while the creates go on, right after a streamed BatchWriteItem was answered: every audit item of the
    batches already flushed is in the table, and at most one batch of items (25) is missing."""
    n = 80
    fl.seed_fleet(ec2, n, volumes=1, tags={"Backup": "true"})
    proxy.add(Rule("forward", op="CreateSnapshots", delay=0.15))  # ~20 creates a second with 3 in flight
    proc, target = start(smartvault, aws_env, proxy, channels, False)
    end = time.monotonic() + 30
    answered = []
    while not answered:
        assert time.monotonic() < end and proc.poll() is None, proxy.counts()
        answered = [e for e in list(proxy.log) if e["op"] == "BatchWriteItem" and e["status"] == 200]
        time.sleep(0.01)
    os.kill(target, signal.SIGKILL)
    finish(proc, 10)
    made = set(fl.smartvault_snapshots(ec2))
    assert len(made) < n, "the run finished before the kill: the test proves nothing"
    items = [i for i in audit_items(channels) if "action" in i]  # not the killed run's lease
    audited = {i["snapshot_id"]["S"] for i in items if i["action"]["S"] == "created"}
    assert audited <= made
    flushed = sum(1 for e in list(proxy.log) if e["op"] == "BatchWriteItem" and e["status"] == 200)
    assert len(items) >= 25 * flushed, (len(items), flushed)  # every flushed batch is in the table
    assert len(made - audited) <= 25, (len(made), len(audited))  # at most the batch not yet sent
    assert not any(i.get("interrupted") for i in items)  # written by a run that was not stopping
    print(f"\nSIGKILL mid-EBS: {len(made)} snapshots made, {len(audited)} with their audit item "
          f"({flushed} batch(es) streamed), {len(made - audited)} missing")
