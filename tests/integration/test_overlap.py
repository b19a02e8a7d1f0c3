"""No overlap (issue 11, part 4): with DYNAMODB_TABLE set, a run takes a lease item by conditional write; a second
run started while the first is live exits 0 with `cycle.skipped` and does nothing; the lease is released at exit
(the next run acts) and a SIGKILLed run's lease expires (LEASE_TTL_S)."""

import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import ebs_fleet as fl  # noqa: E402
from faultproxy import FaultProxy, Rule  # noqa: E402
from test_stop import TABLE, channels, finish, sns_messages  # noqa: E402,F401

SRC = "us-east-1"


def spawn(smartvault, aws_env, proxy, channels, extra=None):
    env = dict(aws_env)
    env.update({"AWS_ENDPOINT_URL": proxy.url, "SOURCE_REGION": SRC, "DYNAMODB_TABLE": TABLE,
                "SNS_TOPIC_ARN": channels.topic})
    env.update(extra or {})
    return subprocess.Popen([smartvault, "run"], env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, errors="replace")


@pytest.mark.parametrize("gap_s", [0.1, 1.0])
def test_two_overlapping_runs_exactly_one_acts(smartvault, aws_env, proxy, ec2, channels, gap_s):
    n = 20
    fl.seed_fleet(ec2, n, volumes=1, tags={"Backup": "true"})
    proxy.add(Rule("forward", op="CreateSnapshots", delay=0.5))
    a = spawn(smartvault, aws_env, proxy, channels)
    time.sleep(gap_s)
    b = spawn(smartvault, aws_env, proxy, channels)
    out_a, err_a = finish(a, 120)
    out_b, err_b = finish(b, 120)
    dones = [fl.done(out_a), fl.done(out_b)]
    assert a.returncode == 0 and b.returncode == 0, (out_a[-2000:], err_a, out_b[-2000:], err_b)
    outcomes = sorted(d["outcome"] for d in dones)
    assert outcomes == ["ok", "skipped"], outcomes
    skipped_out = out_a if dones[0]["outcome"] == "skipped" else out_b
    (line,) = fl.of(skipped_out, "cycle.skipped")
    assert "holds the lease" in line["reason"] and line["table"] == TABLE
    assert not fl.of(skipped_out, "snapshot.created")
    # Exactly one snapshot per instance: the skipped run created nothing.
    snaps = fl.smartvault_snapshots(ec2)
    assert len(snaps) == n and len({fl.tags_of(s)["InstanceId"] for s in snaps.values()}) == n
    # The lease was given back: nothing is left in the table under lease#.
    items = channels.ddb.scan(TableName=TABLE)["Items"]
    assert not [i for i in items if i["pk"]["S"].startswith("lease#")]
    assert len(sns_messages(channels)) == 1  # the skipped run reports nothing


def test_lease_released_at_exit_and_a_killed_runs_lease_blocks_until_it_expires(
        smartvault, aws_env, proxy, ec2, channels):
    fl.seed_fleet(ec2, 2, volumes=1, tags={"Backup": "true"})
    first = spawn(smartvault, aws_env, proxy, channels)
    out, _ = finish(first, 60)
    assert fl.done(out)["outcome"] == "ok" and fl.of(out, "lease.acquired") and fl.of(out, "lease.released")
    # A lease left by a killed run (owner gone, not expired) makes the next run skip...
    now = int(time.time())
    channels.ddb.put_item(TableName=TABLE, Item={"pk": {"S": f"lease#{SRC}"}, "sk": {"S": "lease"},
                                                 "owner": {"S": "killed-run"}, "expires_at": {"N": str(now + 600)}})
    second = spawn(smartvault, aws_env, proxy, channels)
    out, _ = finish(second, 60)
    assert second.returncode == 0 and fl.done(out)["outcome"] == "skipped"
    # ...and once expired, the next run takes it over.
    channels.ddb.put_item(TableName=TABLE, Item={"pk": {"S": f"lease#{SRC}"}, "sk": {"S": "lease"},
                                                 "owner": {"S": "killed-run"}, "expires_at": {"N": str(now - 1)}})
    time.sleep(2.1)  # MIN_INTERVAL=1s: the first run's snapshots (whole seconds) must be more than 1 s old
    third = spawn(smartvault, aws_env, proxy, channels, {"MIN_INTERVAL": "1s"})
    out, _ = finish(third, 60)
    assert third.returncode == 0 and fl.done(out)["outcome"] == "ok", out[-3000:]
    assert fl.done(out)["counts"]["snapshots_created"] == 2
