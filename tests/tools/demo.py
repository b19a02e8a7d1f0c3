"""The demo behind `./build.sh demo`: a real SmartVault cycle against the local AWS emulator.

Starts moto on a free loopback port, seeds a small fleet with boto3 (tagged, untagged, stopped, multi-volume
instances, a snapshot that is not SmartVault's, an SNS topic with an SQS subscriber, a DynamoDB audit table),
runs the real static binary twice (a first cycle, then a what-if cycle 30 days later that applies retention),
prints what boto3 sees afterwards, and stops the emulator.

    /usr/bin/python3 tests/tools/demo.py [path/to/smartvault]
"""

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests/integration"))

from conftest import MotoServer  # noqa: E402  (the same emulator fixture the tests use)

import boto3  # noqa: E402

REGION, DR = "us-east-1", "us-west-2"
KEYS = dict(aws_access_key_id="demo", aws_secret_access_key="demo-secret-not-real")


def client(server, service, region=REGION):
    return boto3.client(service, region_name=region, endpoint_url=server.url, **KEYS)


def seed(server):
    ec2 = client(server, "ec2")
    ami = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]

    def run(tags, extra_volumes=0):
        bdm = [{"DeviceName": f"/dev/sd{chr(ord('f') + i)}", "Ebs": {"VolumeSize": 8}} for i in range(extra_volumes)]
        spec = [{"ResourceType": "instance", "Tags": tags}] if tags else []
        out = ec2.run_instances(ImageId=ami, MinCount=1, MaxCount=1, InstanceType="t3.micro",
                                BlockDeviceMappings=bdm, TagSpecifications=spec)
        return out["Instances"][0]["InstanceId"]

    fleet = {
        "web (Backup=true, 2 volumes)": run([{"Key": "Backup", "Value": "true"}, {"Key": "Name", "Value": "web"}], 2),
        "db (backup=TRUE, retention=14)": run([{"Key": "backup", "Value": "TRUE"}, {"Key": "Name", "Value": "db"},
                                               {"Key": "retention", "Value": "14"}], 1),
        "batch (stopped, Backup=true)": run([{"Key": "Backup", "Value": "true"}, {"Key": "Name", "Value": "batch"}]),
        "scratch (no tag)": run([{"Key": "Name", "Value": "scratch"}]),
    }
    ec2.stop_instances(InstanceIds=[fleet["batch (stopped, Backup=true)"]])
    vol = ec2.create_volume(AvailabilityZone=REGION + "a", Size=1)["VolumeId"]
    manual = ec2.create_snapshot(VolumeId=vol, Description="made by a human")["SnapshotId"]
    sns, sqs = client(server, "sns"), client(server, "sqs")
    topic = sns.create_topic(Name="smartvault")["TopicArn"]
    queue = sqs.create_queue(QueueName="ops-inbox")["QueueUrl"]
    qarn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=qarn, Attributes={"RawMessageDelivery": "true"})
    client(server, "dynamodb").create_table(
        TableName="smartvault-audit", BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                              {"AttributeName": "sk", "AttributeType": "S"}])
    return fleet, manual, topic, queue


# How the demo shows a log event: the event name, then its fields as key=value, wrapped (never cut).
WIDTH = 110
QUIET = {"ts", "level", "event", "run_id"}


def show_event(e):
    fields = " ".join(f"{k}={json.dumps(v) if isinstance(v, (dict, list, bool)) or v is None else v}"
                      for k, v in e.items() if k not in QUIET)
    head = f"  {e.get('level', ''):5} {e.get('event', '')}"
    print(textwrap.fill(fields, width=WIDTH, initial_indent=head + "  ", subsequent_indent=" " * 10,
                        break_long_words=False, break_on_hyphens=False))


def summary(events):
    """A short table of the cycle from its cycle.done counts, and why nothing was copied when that happens."""
    done = next((e for e in reversed(events) if e.get("event") == "cycle.done"), None)
    if done is None:
        print("  (no cycle.done line: the cycle did not finish)")
        return
    c = done.get("counts", {})
    rows = [("instances seen", c.get("instances_seen")), ("snapshots created", c.get("snapshots_created")),
            ("snapshots copied", c.get("snapshots_copied")), ("snapshots deleted", c.get("snapshots_deleted")),
            ("skipped", c.get("skipped")), ("failures", c.get("failures"))]
    print(f"\n  {'outcome':20} {done.get('outcome')}")
    for name, value in rows:
        print(f"  {name:20} {value}")
    plans = [e for e in events if e.get("event") == "copy.plan"]
    if c.get("snapshots_copied") == 0 and plans:
        why = plans[-1].get("not_copied") or "no SmartVault snapshot in the source region"
        text = {"copy_exists": "already have their copy in the DR region",
                "copy_failed": "have only failed copies (look at them; not retried automatically)",
                "expired": "are outside retention at the cycle's date (they would be deleted, so not copied)",
                "pending": "are still pending (the next cycle copies them once completed)",
                "copy_limit": "wait for a free copy slot (COPY_LIMIT)",
                "state": "are in an error state", "not_ours": "are not SmartVault's", "is_copy": "are copies"}
        parts = []
        for item in why.split():
            reason, _, n = item.partition("=")
            parts.append(f"{n} {text.get(reason, reason)}" if n else item)
        print(f"  {'why 0 copied':20} " + "; ".join(parts))


def cycle(binary, server, topic, extra=None, title=""):
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "AWS_ACCESS_KEY_ID": KEYS["aws_access_key_id"],
        "AWS_SECRET_ACCESS_KEY": KEYS["aws_secret_access_key"],
        "AWS_ENDPOINT_URL": server.url,
        "AWS_EC2_METADATA_DISABLED": "true",
        "SOURCE_REGION": REGION,
        "DEST_REGION": DR,
        "KMS_KEY_ID": "alias/smartvault-dr",
        "RETENTION_DAYS": "7",
        "SNS_TOPIC_ARN": topic,
        "DYNAMODB_TABLE": "smartvault-audit",
    }
    env.update(extra or {})
    print(f"\n=== {title}\n$ smartvault run   ({', '.join(f'{k}={v}' for k, v in (extra or {}).items()) or 'now'})")
    proc = subprocess.run([binary, "run"], env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    events = []
    for line in proc.stdout.splitlines():
        try:
            e = json.loads(line)
        except ValueError:
            print("  " + line)
            continue
        events.append(e)
        show_event(e)
    summary(events)
    print(f"  {'exit code':20} {proc.returncode}")
    return proc.returncode


def snapshots(server, region, also=()):
    """SmartVault's snapshots in region, plus the ids in `also` (moto's account also holds sample snapshots)."""
    ec2 = client(server, "ec2", region)
    out = ec2.describe_snapshots(OwnerIds=["self"], Filters=[{"Name": "tag:CreatedBy", "Values": ["SmartVault"]}])
    found = out["Snapshots"]
    if also:
        found += ec2.describe_snapshots(SnapshotIds=list(also))["Snapshots"]
    return sorted(found, key=lambda s: s["StartTime"])


def main():
    binary = sys.argv[1] if len(sys.argv) > 1 else str(ROOT / "build/smartvault")
    server = MotoServer()
    try:
        fleet, manual, topic, queue = seed(server)
        print("Seeded the emulator (moto at %s):" % server.url)
        for name, iid in fleet.items():
            print(f"  {iid}  {name}")
        print(f"  {manual}  a snapshot made by a human (SmartVault must never touch it)")
        codes = [cycle(binary, server, topic, title="cycle 1: snapshot the tagged fleet, copy to the DR region")]
        # Snapshot start times have one-second resolution: keep the two cycles' snapshots apart.
        time.sleep(1.5)
        codes.append(cycle(binary, server, topic, {"SMARTVAULT_NOW": "2030-01-01T00:00:00Z"},
                           title="cycle 2: a what-if run years later: new snapshots, retention applied"))
        print("\n=== what boto3 sees now (SmartVault's snapshots, and the one made by a human)")
        print(f"  {'region':10} {'snapshot':22} {'state':9}  {'CreatedBy':10}  {'InstanceId':19} SourceSnapshotId")
        for region in (REGION, DR):
            for s in snapshots(server, region, also=[manual] if region == REGION else []):
                tags = {t["Key"]: t["Value"] for t in s.get("Tags", [])}
                print(f"  {region:10} {s['SnapshotId']:22} {s['State']:9}  {tags.get('CreatedBy', '-'):10}  "
                      f"{tags.get('InstanceId', '-'):19} {tags.get('SourceSnapshotId', '-')}")
        msgs = client(server, "sqs").receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])
        print(f"\n=== SNS messages delivered to the subscribed queue: {len(msgs)}")
        for i, m in enumerate(msgs, 1):
            print(f"--- message {i} (in full)\n    " + m["Body"].replace("\n", "\n    "))
        items = client(server, "dynamodb").scan(TableName="smartvault-audit")["Items"]
        print(f"  DynamoDB audit items: {len(items)}")
        return 0 if all(c == 0 for c in codes) else 1
    finally:
        server.stop()


if __name__ == "__main__":
    sys.exit(main())
