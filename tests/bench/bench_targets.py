#!/usr/bin/python3
"""bench_targets - the throttled EBS fleet of bench_ebs_throttled.py spread over 4 accounts vs kept in 1 (issue 14).

    /usr/bin/python3 tests/bench/bench_targets.py                     # 400 instances x 2 volumes in total
    /usr/bin/python3 tests/bench/bench_targets.py --instances 200 --accounts 4

EC2 throttles per account and region (ec2throttle.py keys its buckets by the SigV4 access key, i.e. the account,
the region and the API), so the same fleet spread over 4 accounts has 4 times the buckets: one run over 4 targets
should take close to a quarter of the 1-account run if the targets really overlap in the one process.

Set-up (not measured): one moto server (bench_ebs.py's tag fast path). The 1-account fleet is moto's default
account (the hub's own keys, no ACCOUNTS); the spread fleet is --accounts member accounts of --instances/--accounts
instances each, reached through AssumeRole (moto keeps separate state per account). Per volume, as in
bench_ebs_throttled.py: an expired (8 d) and a recent (2 d) SmartVault snapshot, each with its DR copy (the proxy
reports those ages). Both fleets in the same region pair.

Measured, one after the other, through faultproxy with --latency per request and ec2throttle's documented buckets:
  1 account    `smartvault run` SOURCE_REGION + DEST_REGION, default settings
  N accounts   `smartvault run` ACCOUNTS=<N ids> ACCOUNT_ROLE_NAME, same regions, default settings
Reported per run: wall, floor (the largest (account, region, API) max(0, calls - bucket) / refill: per account,
each account has its own buckets), wall / floor, API calls and throttled responses at the proxy, failures,
duplicates, expired left, uncopied, peak RSS and CPU of SmartVault, CPU seconds of the emulator (single-threaded
moto: when it is near the wall, the emulator is the limit, not SmartVault) and the load average before and after
(the machine is shared). Then the speed-up: wall(1 account) / wall(N accounts), against the floors' ratio.
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

SRC, DST = "us-east-2", "eu-west-1"
HUB = "123456789012"
ROLE = "SmartVaultMember"
CREDS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


def member_ids(n):
    return [f"{i + 1}" * 12 if i < 9 else f"{100000000000 + i}" for i in range(n)]


def ec2_of(moto_url, account, region):
    """boto3 EC2 in `account`: the default keys for the hub, AssumeRole (as the binary does) for a member."""
    import boto3
    from botocore.config import Config

    cfg = Config(retries={"max_attempts": 3, "mode": "standard"})
    kw = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
    if account != HUB:
        sts = boto3.client("sts", region_name="us-east-1", endpoint_url=moto_url, **kw)
        c = sts.assume_role(RoleArn=f"arn:aws:iam::{account}:role/{ROLE}", RoleSessionName="bench")["Credentials"]
        kw = {"aws_access_key_id": c["AccessKeyId"], "aws_secret_access_key": c["SecretAccessKey"],
              "aws_session_token": c["SessionToken"]}
    return boto3.client("ec2", region_name=region, endpoint_url=moto_url, config=cfg, **kw)


def snaps_of(ec2, account):
    import ebs_fleet as fl

    out = {}
    for s in ec2.describe_snapshots(OwnerIds=["self"], Filters=[fl.MARKER])["Snapshots"]:
        if s["OwnerId"] == account and fl.tags_of(s).get("CreatedBy") == "SmartVault":
            out[s["SnapshotId"]] = s
    return out


def seed(moto_url, accounts, per_account, volumes):
    """Each account's fleet with a week of history -> (times, expired) over all of them."""
    import ebs_fleet as fl
    from ec2throttle import seed_history

    times, expired = {}, set()
    for account in accounts:
        ec2, ec2d = ec2_of(moto_url, account, SRC), ec2_of(moto_url, account, DST)
        ids = fl.seed_fleet(ec2, per_account, volumes=volumes, batch=100)
        t, e = seed_history(ec2, ec2d, ids, SRC)
        times.update(t)
        expired |= e
    return times, expired


def check(moto_url, accounts, times, expired):
    """What the end state shows: duplicates (two new snapshots of a volume, two copies of a source), expired
    snapshots left, new snapshots without a copy; summed over the accounts."""
    import ebs_fleet as fl

    out = {"volumes_with_new": 0, "duplicates": 0, "expired_left": 0, "uncopied": 0}
    for account in accounts:
        s = snaps_of(ec2_of(moto_url, account, SRC), account)
        d = snaps_of(ec2_of(moto_url, account, DST), account)
        new, copies = {}, {}
        for k, v in s.items():
            if k not in times:
                new.setdefault((fl.tags_of(v)["InstanceId"], v["VolumeId"]), []).append(k)
        for k, v in d.items():
            copies.setdefault(fl.tags_of(v)["SourceSnapshotId"], []).append(k)
        out["volumes_with_new"] += len(new)
        out["duplicates"] += sum(len(v) - 1 for v in list(new.values()) + list(copies.values()) if len(v) > 1)
        out["expired_left"] += len((set(s) | set(d)) & expired)
        out["uncopied"] += len([k for k in s if k not in copies and k not in expired])
    return out


class AccountBuckets:
    """ec2throttle's buckets, also counted per (account, region, API), for the per-account floor."""

    def __init__(self):
        from ec2throttle import _SCOPE, Ec2Throttle

        self.t = Ec2Throttle()
        self.scope = _SCOPE
        self.per_key = {}
        inner = self.t._empty

        def empty(req):
            throttled = inner(req)
            m = self.scope.search(req.headers.get("Authorization", "") or "")
            if m is not None and not throttled:
                k = (m.group(1), m.group(2), req.op)
                self.per_key[k] = self.per_key.get(k, 0) + 1
            return throttled

        self.t._empty = empty

    def floor_s(self):
        worst = 0.0
        for (_key, _region, api), n in self.per_key.items():
            size, refill = self.t.bucket_of(api)
            worst = max(worst, max(0.0, n - size) / refill)
        return worst


def cpu_s(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_one(moto, label, accounts, env_extra, times, expired, latency, timeout):
    import bench_ebs
    from ec2throttle import backdate
    from faultproxy import FaultProxy, Rule

    buckets = AccountBuckets()
    load0 = os.getloadavg()[0]
    moto_cpu0 = cpu_s(moto.proc.pid)
    with FaultProxy(moto.url, latency=latency) as proxy:
        proxy.add(buckets.t.rule())
        proxy.add(Rule("rewrite", op="DescribeSnapshots", fn=backdate(times)))
        env = {k: v for k, v in os.environ.items() if not k.startswith("SMARTVAULT_")}  # the binary refuses them
        env = dict(env, **CREDS, AWS_ENDPOINT_URL=proxy.url, AWS_REGION=SRC, SOURCE_REGION=SRC,
                   DEST_REGION=DST, MIN_INTERVAL="1d", **env_extra)
        sv = os.environ.get("SMARTVAULT_BIN", str(ROOT / "build/smartvault"))
        out, st = bench_ebs.measured([sv, "run"], env, timeout=timeout)
        calls = proxy.count()
    done = [json.loads(x) for x in out.splitlines() if '"cycle.done"' in x]
    row = dict(st, label=label, floor_s=buckets.floor_s(), calls=calls,
               throttled=sum(buckets.t.throttled().values()),
               failures=done[-1]["counts"]["failures"] if done else -1,
               moto_cpu_s=cpu_s(moto.proc.pid) - moto_cpu0, load_before=load0, load_after=os.getloadavg()[0],
               **check(moto.url, accounts, times, expired))
    if done and done[-1].get("targets"):
        row["targets"] = [(t["account_id"], t["outcome"], t["wall_ms"]) for t in done[-1]["targets"]]
    print(json.dumps(row), flush=True)
    return row


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--instances", type=int, default=400, help="instances in total (each fleet)")
    ap.add_argument("--volumes", type=int, default=2)
    ap.add_argument("--accounts", type=int, default=4)
    ap.add_argument("--latency", type=float, default=0.020)
    ap.add_argument("--budget", type=float, default=3600)
    a = ap.parse_args()
    import bench_ebs

    deadline = time.monotonic() + a.budget
    members = member_ids(a.accounts)
    moto, _tmp = bench_ebs.start_moto(True)
    rows = []
    try:
        t0 = time.monotonic()
        one = seed(moto.url, [HUB], a.instances, a.volumes)
        spread = seed(moto.url, members, a.instances // a.accounts, a.volumes)
        print(f"seeded 2 fleets of {a.instances} instances x {a.volumes} volumes with history "
              f"(1 account; {a.accounts} accounts) in {time.monotonic() - t0:.0f} s", flush=True)
        rows.append(run_one(moto, "1 account", [HUB], {}, *one, a.latency, max(60, deadline - time.monotonic())))
        multi = {"ACCOUNTS": ",".join(members), "ACCOUNT_ROLE_NAME": ROLE}
        rows.append(run_one(moto, f"{a.accounts} accounts", members, multi, *spread, a.latency,
                            max(60, deadline - time.monotonic())))
    finally:
        moto.stop()
    print()
    print(f"{'fleet':<12}{'wall s':>8}{'floor s':>8}{'w/f':>6}{'calls':>7}{'throttled':>10}{'fail':>5}{'dups':>5}"
          f"{'exp.left':>9}{'uncopied':>9}{'RSS KB':>8}{'CPU s':>7}{'moto CPU s':>11}{'load':>11}")
    for r in rows:
        ratio = f"{r['wall_s'] / r['floor_s']:>6.2f}" if r["floor_s"] > 0 else f"{'n/a':>6}"
        print(f"{r['label']:<12}{r['wall_s']:>8.1f}{r['floor_s']:>8.1f}{ratio}"
              f"{r['calls']:>7}{r['throttled']:>10}{r['failures']:>5}{r['duplicates']:>5}{r['expired_left']:>9}"
              f"{r['uncopied']:>9}{int(r.get('maxrss_kb', 0)):>8}{r['user_s'] + r['sys_s']:>7.1f}"
              f"{r['moto_cpu_s']:>11.1f}{r['load_before']:>5.1f}->{r['load_after']:<5.1f}")
    if len(rows) == 2:
        speed = rows[0]["wall_s"] / max(rows[1]["wall_s"], 1e-9)
        floors = rows[0]["floor_s"] / max(rows[1]["floor_s"], 1e-9)
        print(f"speed-up 1 -> {a.accounts} accounts: wall {speed:.2f}x (floors {floors:.2f}x; target close to "
              f"{a.accounts}x)")


if __name__ == "__main__":
    main()
