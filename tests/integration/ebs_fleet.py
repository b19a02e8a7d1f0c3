"""ebs_fleet - seed EC2 fleets in moto with boto3 and read back what SmartVault did (integration tests, bench).

moto 5.1.1 facts this helper is built around (BUILD_NOTES.md, checked again here):
- DescribeInstances pages by RESERVATION: one RunInstances call is one reservation, so a fleet made by N calls
  spans N "results" for MaxResults, whatever the instance count of each call.
- DescribeSnapshots ignores MaxResults when filters are given, and OwnerIds=["self"] also returns the hundreds of
  public sample-AMI snapshots: everything here filters by tag AND by the emulator's own account id.
- Snapshots are created `completed` with a StartTime of whole seconds.

Helpers:
    ec2_client(url, region)                     a boto3 EC2 client on the emulator (or the proxy)
    launch(ec2, count, tags, volumes, name)     ONE RunInstances call (one reservation) -> [instance ids]
    seed_fleet(ec2, instances, volumes, batch)  many RunInstances calls of `batch` instances (the benchmark)
    volumes_of(ec2, instance_id)                [volume ids] attached to an instance, in device order
    own_snapshots(ec2)                          every snapshot of the account (no public sample snapshots)
    smartvault_snapshots(ec2)                   those with the marker CreatedBy=SmartVault
    foreign_snapshot(ec2, volume_id, tags)      a snapshot NOT made by SmartVault (seed-style tags)
    tags_of(snapshot)                           {key: value}
    events(stdout) / done(stdout) / of(stdout, event)   the binary's JSON lines
    rfc3339(seconds) / now_plus(days=, hours=)  SMARTVAULT_NOW values
"""

import datetime
import json
import time

ACCOUNT_ID = "123456789012"  # moto's default account
AMI_ID = "ami-12c6146b"  # one of moto's sample AMIs, present in every region
DEVICES = ["/dev/sda1", "/dev/sdf", "/dev/sdg", "/dev/sdh", "/dev/sdi", "/dev/sdj"]
MARKER = {"Name": "tag:CreatedBy", "Values": ["SmartVault"]}


def ec2_client(url, region="us-east-1"):
    import boto3
    from botocore.config import Config

    return boto3.client(
        "ec2",
        region_name=region,
        endpoint_url=url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"max_attempts": 1, "mode": "standard"}),
    )


def _mappings(volumes):
    if not 1 <= volumes <= len(DEVICES):
        raise ValueError(f"1..{len(DEVICES)} volumes per instance")
    return [{"DeviceName": d, "Ebs": {"VolumeSize": 8, "DeleteOnTermination": False}} for d in DEVICES[:volumes]]


def launch(ec2, count=1, tags=None, volumes=1, name=None):
    """One RunInstances call: `count` instances in one reservation, each with `volumes` EBS volumes."""
    tags = dict(tags or {})
    if name is not None:
        tags["Name"] = name
    kwargs = {"ImageId": AMI_ID, "MinCount": count, "MaxCount": count, "InstanceType": "t3.micro",
              "BlockDeviceMappings": _mappings(volumes)}
    if tags:
        kwargs["TagSpecifications"] = [
            {"ResourceType": "instance", "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}]
    return [i["InstanceId"] for i in ec2.run_instances(**kwargs)["Instances"]]


def seed_fleet(ec2, instances, volumes=2, batch=100, tags=None):
    """`instances` instances in ceil(instances / batch) RunInstances calls -> [instance ids]."""
    ids = []
    while len(ids) < instances:
        ids += launch(ec2, count=min(batch, instances - len(ids)), tags=tags or {"Backup": "true"}, volumes=volumes)
    return ids


def describe(ec2, instance_ids):
    out = {}
    for page in ec2.get_paginator("describe_instances").paginate(InstanceIds=list(instance_ids)):
        for r in page["Reservations"]:
            for i in r["Instances"]:
                out[i["InstanceId"]] = i
    return out


def volumes_of(ec2, instance_id):
    inst = describe(ec2, [instance_id])[instance_id]
    return [m["Ebs"]["VolumeId"] for m in sorted(inst["BlockDeviceMappings"], key=lambda m: m["DeviceName"])
            if "Ebs" in m]


def own_snapshots(ec2, filters=None):
    """Every snapshot of the account, {id: snapshot} (moto's OwnerIds=self also returns public ones)."""
    kwargs = {"OwnerIds": ["self"]}
    if filters:
        kwargs["Filters"] = filters
    snaps = ec2.describe_snapshots(**kwargs)["Snapshots"]
    return {s["SnapshotId"]: s for s in snaps if s["OwnerId"] == ACCOUNT_ID}


def smartvault_snapshots(ec2):
    """{id: snapshot} of the snapshots carrying the SmartVault marker."""
    return {k: s for k, s in own_snapshots(ec2, [MARKER]).items() if tags_of(s).get("CreatedBy") == "SmartVault"}


def foreign_snapshot(ec2, volume_id, tags=None, description="made by someone else"):
    kwargs = {"VolumeId": volume_id, "Description": description}
    if tags:
        kwargs["TagSpecifications"] = [
            {"ResourceType": "snapshot", "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}]
    return ec2.create_snapshot(**kwargs)["SnapshotId"]


def tags_of(obj):
    return {t["Key"]: t["Value"] for t in obj.get("Tags") or []}


def events(stdout):
    out = []
    for line in stdout.splitlines():
        line = line.strip()
        if line.startswith("{"):
            out.append(json.loads(line))
    return out


def of(stdout, event):
    return [e for e in events(stdout) if e.get("event") == event]


def done(stdout):
    evs = events(stdout)
    assert evs and evs[-1].get("event") == "cycle.done", f"last line is not cycle.done:\n{stdout[-3000:]}"
    return evs[-1]


def rfc3339(seconds):
    return datetime.datetime.fromtimestamp(int(seconds), datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def now_plus(days=0, hours=0, seconds=0, base=None):
    base = time.time() if base is None else base
    return rfc3339(base + days * 86400 + hours * 3600 + seconds)


def date_of(seconds):
    return datetime.datetime.fromtimestamp(int(seconds), datetime.timezone.utc).strftime("%Y-%m-%d")


def start_s(snapshot):
    """StartTime as Unix seconds."""
    return int(snapshot["StartTime"].timestamp())


def newest_first(snaps):
    """SmartVault's order of "newest" (retention.h S6): StartTime descending, then the smaller id first."""
    return sorted(snaps, key=lambda s: (-start_s(s), s["SnapshotId"]))
