"""Decisions that delete use AWS's clock when this host's is off (issue 11, part 5).

faultproxy moves the Date header of every answer by -3 days: AWS's clock is 3 days behind this host's (a host
3 days fast). moto never refuses a skewed signature, so the only sign of the skew is the Date header, which is
what the binary learns from (aws/call.c, as the JS SDK v3 does). DescribeSnapshots answers are rewritten so one
snapshot started 5 days ago by this host's clock: 2 days ago by AWS's. With RETENTION_DAYS=4, the local clock
would delete it; AWS's clock keeps it. The control run without the shifted Date deletes it, so the test can fail.
"""

import datetime
import re
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import ebs_fleet as fl  # noqa: E402
from faultproxy import FaultProxy, Rule  # noqa: E402

SRC = "us-east-1"
DAY = 86400


def start_time_rewrite(snapshot_id, start_s):
    """DescribeSnapshots: this snapshot's <startTime> becomes start_s (moto dates every snapshot at its creation)."""
    part_re = re.compile(rb"<snapshotId>(snap-[0-9a-zA-Z]+)</snapshotId>(.*?)(?=<snapshotId>|\Z)", re.S)
    stamp = datetime.datetime.fromtimestamp(start_s, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")

    def rewrite(req, status, headers, body):
        if status != 200:
            return None

        def fix(m):
            if m.group(1).decode() != snapshot_id:
                return m.group(0)
            rest = re.sub(rb"<startTime>[^<]*</startTime>", b"<startTime>" + stamp.encode() + b"</startTime>",
                          m.group(2), count=1)
            return b"<snapshotId>" + m.group(1) + b"</snapshotId>" + rest

        return status, headers, part_re.sub(fix, body)

    return rewrite


@pytest.fixture
def ec2(moto):
    return fl.ec2_client(moto.url, SRC)


def run(run_smartvault, proxy, extra=None):
    env = {"AWS_ENDPOINT_URL": proxy.url, "SOURCE_REGION": SRC, "RETENTION_DAYS": "4", "METRICS_MODE": "off"}
    env.update(extra or {})
    proc = run_smartvault(["run"], extra_env=env)
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stdout[-4000:]}\n{proc.stderr}"
    return fl.done(proc.stdout), proc.stdout


def test_date_three_days_behind_keeps_what_server_time_keeps(moto, ec2, run_smartvault):
    fl.launch(ec2, tags={"Backup": "true"}, volumes=1)
    with FaultProxy(moto.url) as plain:
        run(run_smartvault, plain)  # S1, dated now by moto
    (s1,) = fl.smartvault_snapshots(ec2)
    old = time.time() - 5 * DAY  # 5 days old by this host's clock, 2 by AWS's (3 days behind)

    with FaultProxy(moto.url, date_offset=-3 * DAY) as skewed:
        skewed.add(Rule("rewrite", op="DescribeSnapshots", fn=start_time_rewrite(s1, old)))
        done, out = run(run_smartvault, skewed)
    (skew,) = fl.of(out, "cycle.clock_skew")
    assert abs(skew["skew_s"] + 3 * DAY) < 120, skew
    assert fl.of(out, "aws.clock_skew_learned")
    assert done["counts"]["snapshots_deleted"] == 0, done["counts"]
    assert s1 in fl.smartvault_snapshots(ec2), "deleted by the local clock although AWS's clock keeps it"
    # Due-ness used AWS's clock too: S1 is 2 days old there, older than MIN_INTERVAL, so S2 was made; CreatedOn
    # carries AWS's date.
    assert done["counts"]["snapshots_created"] == 1
    new = [s for k, s in fl.smartvault_snapshots(ec2).items() if k != s1]
    assert fl.tags_of(new[0])["CreatedOn"] == fl.date_of(time.time() - 3 * DAY)

    # Control: the same listing with an honest Date: 5 days > RETENTION_DAYS=4, so S1 goes.
    with FaultProxy(moto.url) as honest:
        honest.add(Rule("rewrite", op="DescribeSnapshots", fn=start_time_rewrite(s1, old)))
        done, out = run(run_smartvault, honest, {"MIN_INTERVAL": "90d"})
    assert not fl.of(out, "cycle.clock_skew")
    assert done["counts"]["snapshots_deleted"] == 1, done["counts"]
    assert s1 not in fl.smartvault_snapshots(ec2)


def test_small_skew_is_not_acted_on(moto, ec2, run_smartvault):
    """Under 5 minutes (the SDKs' threshold) the local clock is used and nothing is logged."""
    fl.launch(ec2, tags={"Backup": "true"}, volumes=1)
    with FaultProxy(moto.url, date_offset=-120) as p:
        done, out = run(run_smartvault, p)
    assert not fl.of(out, "cycle.clock_skew") and not fl.of(out, "aws.clock_skew_learned")
    assert done["counts"]["snapshots_created"] == 1
