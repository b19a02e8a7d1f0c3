#!/usr/bin/python3
"""bench_ebs_throttled - the EBS cycle of a fleet under EC2's real request throttling: SmartVault vs a boto3 loop
of the same work (issue 10).

    /usr/bin/python3 tests/bench/bench_ebs_throttled.py                      # 1,000 instances x 2 volumes
    /usr/bin/python3 tests/bench/bench_ebs_throttled.py --instances 200 --budget 1500

Set-up (not measured): one moto server (with the exact-id tag look-up fast path of bench_ebs.py); per client its
own pair of regions, seeded with boto3: --instances instances of --volumes volumes, and per volume a SmartVault
snapshot 8 days old (expired) and one 2 days old, each with its copy in the DR region (the proxy reports those
ages; moto stamps its own clock). Per volume a cycle then has: 1 CreateSnapshots per instance, 1 CopySnapshot,
1 DeleteSnapshot in each region - the same mutating calls as a week of daily history, with shorter listings.

Measured, one after the other, each through faultproxy with --latency per request and ec2throttle's documented
buckets per (account, region, API) (RequestLimitExceeded 503, not executed, when empty):
  SmartVault   `smartvault run` with DEST_REGION, default settings
  boto3 loop   the same work the plain way: describe, create_snapshots per instance, re-list, copy every new
               snapshot, delete the expired ones in both regions, sequentially; botocore standard retries with
               max_attempts 10 (so it does not give up on the storm). Its own python3 process.
Reported: wall, the floor (for each (region, API): max(0, calls - bucket) / refill; the run's is the largest),
wall / floor, throttled responses, failures, duplicates (more than one new snapshot for an instance, more than
one copy of a source), peak RSS. Targets: 0 failures, 0 duplicates, SmartVault wall <= 1.15 x floor.
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests/integration"))
sys.path.insert(0, str(ROOT / "tests/bench"))

PAIRS = {"smartvault": ("us-east-2", "eu-west-1"), "boto3": ("us-west-1", "eu-central-1")}
CREDS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


def boto3_loop(endpoint, src, dst):
    """The same work, the plain way (run as its own process: --boto3-loop)."""
    import datetime

    import boto3
    from botocore.config import Config

    cfg = Config(retries={"max_attempts": 10, "mode": "standard"})
    kw = {k.lower(): v for k, v in CREDS.items()}
    ec2 = boto3.client("ec2", region_name=src, endpoint_url=endpoint, config=cfg, **kw)
    ec2d = boto3.client("ec2", region_name=dst, endpoint_url=endpoint, config=cfg, **kw)
    failures = 0
    mine = [{"Name": "tag:CreatedBy", "Values": ["SmartVault"]}]
    before = {s["SnapshotId"] for p in ec2.get_paginator("describe_snapshots").paginate(OwnerIds=["self"], Filters=mine)
              for s in p["Snapshots"]}
    for page in ec2.get_paginator("describe_instances").paginate(Filters=[{"Name": "tag:Backup", "Values": ["true"]}]):
        for r in page["Reservations"]:
            for inst in r["Instances"]:
                try:
                    ec2.create_snapshots(InstanceSpecification={"InstanceId": inst["InstanceId"]}, TagSpecifications=[
                        {"ResourceType": "snapshot", "Tags": [{"Key": "CreatedBy", "Value": "SmartVault"},
                                                              {"Key": "InstanceId", "Value": inst["InstanceId"]}]}])
                except Exception:  # noqa: BLE001 - counted, as the seeds' loop would log and go on
                    failures += 1
    cutoff = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=7)
    for s in [s for p in ec2.get_paginator("describe_snapshots").paginate(OwnerIds=["self"], Filters=mine)
              for s in p["Snapshots"]]:
        try:
            if s["SnapshotId"] not in before:
                tags = [{"Key": "CreatedBy", "Value": "SmartVault"}, {"Key": "SourceSnapshotId", "Value": s["SnapshotId"]},
                        {"Key": "VolumeId", "Value": s["VolumeId"]}]
                ec2d.copy_snapshot(SourceRegion=src, SourceSnapshotId=s["SnapshotId"],
                                   TagSpecifications=[{"ResourceType": "snapshot", "Tags": tags}])
            elif s["StartTime"] < cutoff:
                ec2.delete_snapshot(SnapshotId=s["SnapshotId"])
        except Exception:  # noqa: BLE001
            failures += 1
    for s in [s for p in ec2d.get_paginator("describe_snapshots").paginate(OwnerIds=["self"], Filters=mine)
              for s in p["Snapshots"]]:
        try:
            if s["StartTime"] < cutoff:
                ec2d.delete_snapshot(SnapshotId=s["SnapshotId"])
        except Exception:  # noqa: BLE001
            failures += 1
    print(json.dumps({"failures": failures}))


def _all_snapshots(ec2):
    """Every SmartVault snapshot of a region, all pages (the synthetic EC2 pages; moto answers one page)."""
    import ebs_fleet as fl

    out = {}
    for p in ec2.get_paginator("describe_snapshots").paginate(OwnerIds=["self"], Filters=[fl.MARKER]):
        out.update({x["SnapshotId"]: x for x in p["Snapshots"] if fl.tags_of(x).get("CreatedBy") == "SmartVault"})
    return out


def check(moto_url, src, dst, times, expired):
    """Failures visible in the end state: new snapshots per instance and copies per source."""
    import ebs_fleet as fl

    ec2, ec2d = fl.ec2_client(moto_url, src), fl.ec2_client(moto_url, dst)
    s, d = _all_snapshots(ec2), _all_snapshots(ec2d)
    new = {}  # per (instance, volume): CreateSnapshots makes one snapshot per volume
    for k, v in s.items():
        if k not in times:
            new.setdefault((fl.tags_of(v)["InstanceId"], v["VolumeId"]), []).append(k)
    copies = {}
    for k, v in d.items():
        copies.setdefault(fl.tags_of(v)["SourceSnapshotId"], []).append(k)
    dup = sum(len(v) - 1 for v in new.values() if len(v) > 1) + sum(len(v) - 1 for v in copies.values() if len(v) > 1)
    left_expired = len((set(s) | set(d)) & expired)
    uncopied = len([k for k in s if k not in copies and k not in expired])
    return {"volumes_with_new": len(new), "duplicates": dup, "expired_left": left_expired, "uncopied": uncopied}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--instances", type=int, default=1000)
    ap.add_argument("--volumes", type=int, default=2)
    ap.add_argument("--latency", type=float, default=0.020)
    ap.add_argument("--budget", type=float, default=3600)
    ap.add_argument("--skip-boto3", action="store_true", help="measure SmartVault only")
    ap.add_argument("--synthetic", action="store_true",
                    help="the synthetic EC2 (tests/integration/synth_ec2.py) instead of moto, with --days of daily "
                         "history per volume and a copy of each: seeded in seconds, so a week of history fits")
    ap.add_argument("--days", type=int, default=7, help="with --synthetic: daily snapshots per volume")
    ap.add_argument("--boto3-loop", nargs=3, metavar=("ENDPOINT", "SRC", "DST"), help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.boto3_loop:
        return boto3_loop(*a.boto3_loop)
    import bench_ebs
    import ebs_fleet as fl
    from ec2throttle import Ec2Throttle, backdate, seed_history
    from faultproxy import FaultProxy, Rule

    deadline = time.monotonic() + a.budget
    if a.synthetic:
        from synth_ec2 import SynthEc2

        moto, tmp = SynthEc2().start(), None
    else:
        moto, tmp = bench_ebs.start_moto(True)
    rows = {}
    pairs = {k: v for k, v in PAIRS.items() if not (a.skip_boto3 and k == "boto3")}
    try:
        seeded = {}
        t0 = time.monotonic()
        for who, (src, dst) in pairs.items():
            if a.synthetic:  # ages 1..days days + 1 h: the oldest is expired (RETENTION_DAYS 7), every instance due
                moto.seed(src, dst, a.instances, volumes=a.volumes, days=a.days)
                cut = time.time() - 7 * 86400
                expired = {sid for r in (src, dst) for sid, x in moto.region(r).snaps.items() if x["start"] < cut}
                seeded[who] = ({sid: 0 for r in (src, dst) for sid in moto.region(r).snaps}, expired)
                continue
            ec2 = fl.ec2_client(moto.url, src)
            ids = fl.seed_fleet(ec2, a.instances, volumes=a.volumes, batch=100)
            seeded[who] = seed_history(ec2, fl.ec2_client(moto.url, dst), ids, src)
        print(f"seeded 2 x {a.instances} instances x {a.volumes} volumes with history in {time.monotonic() - t0:.0f} s",
              flush=True)
        sv = os.environ.get("SMARTVAULT_BIN", str(ROOT / "build/smartvault"))
        for who, (src, dst) in pairs.items():
            times, expired = seeded[who]
            buckets = Ec2Throttle()
            with FaultProxy(moto.url, latency=a.latency) as proxy:
                proxy.add(buckets.rule())
                if not a.synthetic:  # moto stamps its own clock; the synthetic EC2 keeps the seeded times
                    proxy.add(Rule("rewrite", op="DescribeSnapshots", fn=backdate(times)))
                env = dict(os.environ, **CREDS, AWS_ENDPOINT_URL=proxy.url, AWS_REGION=src, DEST_REGION=dst,
                           MIN_INTERVAL="1d")
                for k in ("SMARTVAULT_MOTO_PYTHONPATH", "SMARTVAULT_BIN"):  # exported by build.sh; the binary refuses them
                    env.pop(k, None)
                if who == "smartvault":
                    argv = [sv, "run"]
                else:
                    argv = [sys.executable, __file__, "--boto3-loop", proxy.url, src, dst]
                out, st = bench_ebs.measured(argv, env, timeout=max(60, deadline - time.monotonic()))
            failures = 0
            if who == "smartvault":
                done = [json.loads(x) for x in out.splitlines() if '"cycle.done"' in x]
                failures = done[-1]["counts"]["failures"] if done else -1
            else:
                failures = json.loads(out.strip().splitlines()[-1])["failures"] if out.strip() else -1
            end = check(moto.url, src, dst, times, expired)
            rows[who] = dict(st, floor_s=buckets.floor_s(), throttled=sum(buckets.throttled().values()), load=os.getloadavg(),
                             failures=failures, **end)
            print(json.dumps({who: rows[who]}), flush=True)
    finally:
        moto.stop()
    print()
    print(f"{'client':<12}{'wall s':>9}{'floor s':>9}{'ratio':>7}{'throttled':>10}{'failures':>9}{'dups':>6}"
          f"{'expired left':>13}{'uncopied':>9}{'peak RSS KB':>12}")
    for who, r in rows.items():
        print(f"{who:<12}{r['wall_s']:>9.1f}{r['floor_s']:>9.1f}{r['wall_s'] / max(r['floor_s'], 1e-9):>7.2f}"
              f"{r['throttled']:>10}{r['failures']:>9}{r['duplicates']:>6}{r['expired_left']:>13}{r['uncopied']:>9}"
              f"{int(r.get('maxrss_kb', 0)):>12}")
    sv = rows.get("smartvault")
    if sv:
        ok = sv["failures"] == 0 and sv["duplicates"] == 0 and sv["wall_s"] <= 1.15 * sv["floor_s"]
        print(f"targets (0 failures, 0 duplicates, wall <= 1.15 x floor): {'met' if ok else 'NOT met'}")


if __name__ == "__main__":
    main()
