"""The EBS cycle under EC2's real request throttling (issue 10): ec2throttle's documented token buckets per
(account, region, API) in the loopback proxy in front of moto, RequestLimitExceeded (503, not executed) when one
is empty.

History is seeded with boto3 straight into moto: per volume, a SmartVault snapshot 8 days old (expired) and one
2 days old in the source region, and their copies in the DR region; the proxy reports those StartTimes (moto
stamps its own clock). A cycle then has, per instance, one CreateSnapshots, and per volume one CopySnapshot (the
new snapshot), one DeleteSnapshot in each region (the expired snapshot and its copy).

- storm: every bucket starts at 20 % (a neighbour used the rest) with more calls than a bucket holds: everything
  is done, 0 failures, 0 duplicates, and the proxy did throttle;
- deadline: a refill far below the documented rate and RUN_TIMEOUT=20s: the run stops mid-cycle, reports the rest
  as deferred (not failed), exits 1, leaves nothing half done; the next run finishes the work without duplicates.
"""

import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import ebs_fleet as fl  # noqa: E402
from ec2throttle import Ec2Throttle, backdate, seed_history  # noqa: E402
from faultproxy import FaultProxy, Rule  # noqa: E402

SRC, DST = "us-east-1", "us-west-2"
DAY = 86400


@pytest.fixture
def fleet(moto):
    ec2, ec2_dst = fl.ec2_client(moto.url, SRC), fl.ec2_client(moto.url, DST)
    ids = fl.seed_fleet(ec2, 120, volumes=1, batch=60)
    times, expired = seed_history(ec2, ec2_dst, ids, SRC)
    return ec2, ec2_dst, ids, times, expired


def run_through(run_smartvault, moto, buckets, times, extra, timeout=600):
    with FaultProxy(moto.url, latency=0.02) as proxy:
        proxy.add(buckets.rule())
        proxy.add(Rule("rewrite", op="DescribeSnapshots", fn=backdate(times)))
        env = {"AWS_ENDPOINT_URL": proxy.url, "DEST_REGION": DST, "MIN_INTERVAL": "1d"}
        env.update(extra)
        proc = run_smartvault(["run"], extra_env=env, timeout=timeout)
    return proc, fl.done(proc.stdout)


def check_state(ec2, ec2_dst, ids, expired):
    """Everything done once: one new snapshot per volume, one copy per source, nothing expired left."""
    src = fl.smartvault_snapshots(ec2)
    dst = fl.smartvault_snapshots(ec2_dst)
    assert not (set(src) | set(dst)) & expired
    per_instance = {}
    for s in src.values():
        per_instance.setdefault(fl.tags_of(s)["InstanceId"], []).append(s)
    assert sorted(per_instance) == sorted(ids)
    assert all(len(v) == 2 for v in per_instance.values())  # the recent one and exactly one new one
    by_source = {}
    for k, s in dst.items():
        by_source.setdefault(fl.tags_of(s)["SourceSnapshotId"], []).append(k)
    assert set(by_source) == set(src)  # every source snapshot inside retention has a copy
    assert all(len(v) == 1 for v in by_source.values())  # and only one


def test_throttling_storm_leaves_everything_done_without_failures_or_duplicates(run_smartvault, moto, fleet):
    ec2, ec2_dst, ids, times, expired = fleet
    buckets = Ec2Throttle(start_fill=0.2)
    proc, d = run_through(run_smartvault, moto, buckets, times, {})
    assert proc.returncode == 0, proc.stdout[-3000:]
    c = d["counts"]
    assert d["outcome"] == "ok" and c["failures"] == 0 and c["deferred"] == 0
    assert c["snapshots_created"] == 120 and c["snapshots_copied"] == 120
    assert c["snapshots_deleted"] == 240
    throttled = buckets.throttled()
    assert sum(throttled.values()) > 0, "the storm did not happen"
    assert d["throttles"] == sum(throttled.values())
    check_state(ec2, ec2_dst, ids, expired)
    # Overlapped: the copies of the snapshots this run created started while the deletions were still going
    # (CopySnapshot draws on its own bucket), not in a later step.
    events = fl.events(proc.stdout)
    created = {e["snapshot_id"] for e in events if e.get("event") == "snapshot.created"}
    order = [e["event"] for e in events if e.get("event") in ("snapshot.copied", "snapshot.deleted")
             and (e["event"] == "snapshot.deleted" or e["source_snapshot_id"] in created)]
    first_copy, last_delete = order.index("snapshot.copied"), len(order) - 1 - order[::-1].index("snapshot.deleted")
    assert first_copy < last_delete, "the new snapshots' copies waited for the deletions"


def test_deadline_mid_cycle_defers_the_rest_exits_1_and_the_next_run_finishes(run_smartvault, moto, fleet):
    ec2, ec2_dst, ids, times, expired = fleet
    # 20 CreateSnapshots at once, then one per 2 s: 120 would take over 3 minutes; the run has 20 s.
    slow = Ec2Throttle(scale=0.1, start_fill=0.2)
    proc, d = run_through(run_smartvault, moto, slow, times, {"RUN_TIMEOUT": "20s"}, timeout=180)
    assert proc.returncode == 1, proc.stdout[-3000:]
    c = d["counts"]
    assert c["failures"] == 0 and c["deferred"] > 0
    assert d["stop_reason"] == "deadline"
    assert 0 < c["snapshots_created"] < 120
    deferred = [e for e in fl.events(proc.stdout) if e.get("event") == "ebs.deferred"]
    assert len(deferred) == c["deferred"]
    # Nothing half done: every snapshot that exists is whole (tags come with CreateSnapshots), one per instance.
    src = fl.smartvault_snapshots(ec2)
    new = [s for k, s in src.items() if k not in times]
    assert len(new) == c["snapshots_created"]
    assert len({fl.tags_of(s)["InstanceId"] for s in new}) == len(new)
    assert all(fl.tags_of(s).get("SmartVault:RunId") for s in new)
    # The next run (no deadline pressure) reconciles: everything done once.
    proc2, d2 = run_through(run_smartvault, moto, Ec2Throttle(), times, {})
    assert proc2.returncode == 0, proc2.stdout[-3000:]
    assert d2["counts"]["failures"] == 0
    assert d2["counts"]["snapshots_created"] == 120 - c["snapshots_created"]
    check_state(ec2, ec2_dst, ids, expired)
