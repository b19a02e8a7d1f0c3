#!/usr/bin/python3
"""bench_ebs - one EBS backup cycle over a 1,000-instance fleet: SmartVault vs the seeds' boto3 loop (issue 4).

    /usr/bin/python3 tests/bench/bench_ebs.py                 # 1,000 instances x 2 volumes, 20 ms per request
    /usr/bin/python3 tests/bench/bench_ebs.py --instances 200 --latency 0.02 --budget 600
    /usr/bin/python3 tests/bench/bench_ebs.py --skip-boto3 --sv-env EC2_PAGE_SIZE=200   # SmartVault only

A benchmark, not a test: it prints a table and the targets of issue 4 (exit 0; --strict exits 1 when a target is
missed). Needs build/smartvault (SMARTVAULT_BIN overrides), Debian's python3 with boto3, and moto (fetched by
tests/tools/moto.sh, as for the integration tests).

Set-up (not measured): one moto server; the same fleet seeded twice with boto3, in two fresh regions (us-east-2 for
SmartVault, us-west-1 for the boto3 loop), with RunInstances calls of --batch instances, each instance with
--volumes EBS volumes and tag Backup=true. Seeding time is printed on its own line.

Measured, one after the other, each through faultproxy adding --latency seconds to every request in front of moto:
  SmartVault   `smartvault run` (no DEST_REGION: discover, one CreateSnapshots per instance, re-list, retention)
  boto3 loop   the seeds' way (seed 001): describe_instances, then for every volume create_snapshot + create_tags,
               sequentially; then describe_snapshots for retention. It runs in its own python3 process.
Each measured process runs under /usr/bin/time -v, which gives ITS peak RSS; user+sys CPU is the
getrusage(RUSAGE_CHILDREN) delta around it (microseconds; it includes /usr/bin/time's own ~1 ms). (The kernel
carries a forking parent's peak RSS across exec into ru_maxrss, so measuring a child of this 60+ MB python
directly would report python's size; /usr/bin/time forks from a ~2 MB process.) API calls are counted at the
proxy, by operation. The boto3 figures include interpreter start and `import boto3`, as a Lambda cold start
would; the loop's own CPU (without them) is printed too.

moto 5.1.1 finds one resource's tags by scanning every tag of the region with regular expressions (TagBackend.
describe_tags), so each listed or created resource costs O(all tags): with 1,000 instances and 2,000 snapshots one
filtered DescribeSnapshots takes over a minute, and the run measures the emulator, not the clients. By default the
benchmark starts moto with an exact-id fast path for that look-up (same answers: a literal resource-id filter
matches only that id; ids with wildcards take moto's own path). --raw-moto turns it off.

Runtime is bounded by --budget seconds (default 1200) overall; moto and the proxy are always stopped.
"""

import argparse
import datetime
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests/integration"))

SV_REGION, LOOP_REGION = "us-east-2", "us-west-1"
CREDS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


class Budget:
    def __init__(self, seconds):
        self.deadline = time.monotonic() + seconds

    def left(self, what):
        left = self.deadline - time.monotonic()
        if left <= 5:
            raise TimeoutError(f"benchmark budget exhausted before {what}")
        return left


# ---- the boto3 reference loop (runs in its own process: --boto3-loop) -------------------------------------------


def boto3_loop(endpoint, region):
    cpu0, wall0 = time.process_time(), time.monotonic()
    import boto3

    ec2 = boto3.client("ec2", region_name=region, endpoint_url=endpoint, **{k.lower(): v for k, v in CREDS.items()})
    cpu_ready = time.process_time()
    today = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")
    run_id = str(uuid.uuid4())
    created = 0
    pages = ec2.get_paginator("describe_instances").paginate(Filters=[
        {"Name": "tag:Backup", "Values": ["true"]},
        {"Name": "instance-state-name", "Values": ["running", "stopping", "stopped"]}])
    for page in pages:
        for reservation in page["Reservations"]:
            for inst in reservation["Instances"]:
                iid = inst["InstanceId"]
                name = {t["Key"]: t["Value"] for t in inst.get("Tags", [])}.get("Name")
                for m in inst.get("BlockDeviceMappings", []):
                    if "Ebs" not in m:
                        continue
                    snap = ec2.create_snapshot(VolumeId=m["Ebs"]["VolumeId"],
                                               Description=f"SmartVault snapshot of {iid}")
                    tags = [{"Key": "CreatedBy", "Value": "SmartVault"}, {"Key": "InstanceId", "Value": iid},
                            {"Key": "CreatedOn", "Value": today}, {"Key": "SmartVault:RunId", "Value": run_id}]
                    if name:
                        tags.append({"Key": "Name", "Value": name})
                    ec2.create_tags(Resources=[snap["SnapshotId"]], Tags=tags)
                    created += 1
    # Retention, as the seed does it: list our snapshots, delete the ones older than the cut-off.
    cutoff = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=7)
    deleted = 0
    for s in ec2.describe_snapshots(OwnerIds=["self"], Filters=[
            {"Name": "tag:CreatedBy", "Values": ["SmartVault"]}])["Snapshots"]:
        if s["StartTime"] < cutoff:
            ec2.delete_snapshot(SnapshotId=s["SnapshotId"])
            deleted += 1
    print(json.dumps({"created": created, "deleted": deleted, "import_cpu_s": cpu_ready - cpu0,
                      "loop_cpu_s": time.process_time() - cpu_ready, "wall_s": time.monotonic() - wall0}))


# ---- measuring ---------------------------------------------------------------------------------------------------

_TIME_FIELDS = {
    "User time (seconds)": "user_s",
    "System time (seconds)": "sys_s",
    "Maximum resident set size (kbytes)": "maxrss_kb",
}


def measured(argv, env, timeout):
    """Runs argv under /usr/bin/time -v -> (stdout, {user_s, sys_s, maxrss_kb, wall_s, rc})."""
    with tempfile.NamedTemporaryFile("w+", prefix="bench-time-", suffix=".txt") as tf:
        ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.monotonic()
        proc = subprocess.run(["/usr/bin/time", "-v", "-o", tf.name, *argv], env=env, stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=timeout)
        wall = time.monotonic() - t0
        ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        tf.seek(0)
        stats = {"wall_s": wall, "rc": proc.returncode}
        for line in tf.read().splitlines():
            key, _, value = line.strip().rpartition(": ")
            if key in _TIME_FIELDS:
                stats[_TIME_FIELDS[key]] = float(value)
        # CPU in microseconds (time -v rounds to 10 ms): the reaped /usr/bin/time and the process it measured
        # (time's own share is about a millisecond).
        stats["user_s"] = ru1.ru_utime - ru0.ru_utime
        stats["sys_s"] = ru1.ru_stime - ru0.ru_stime
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr[-3000:])
    return proc.stdout, stats


# Loaded by the moto process through PYTHONPATH (sitecustomize), before moto serves anything.
MOTO_FASTPATH = '''
from moto.ec2.models import tags as _tags

_slow = _tags.TagBackend.describe_tags


def describe_tags(self, filters=None):
    if filters and set(filters) == {"resource-id"} and len(filters["resource-id"]) == 1:
        rid = filters["resource-id"][0]
        if not any(c in rid for c in "*?[]\\\\"):
            prefix = _tags.EC2_PREFIX_TO_RESOURCE.get(_tags.get_prefix(rid), "")
            return [{"resource_id": rid, "key": k, "value": v, "resource_type": prefix}
                    for k, v in self.tags.get(rid, {}).items()]
    return _slow(self, filters)


_tags.TagBackend.describe_tags = describe_tags
'''


def start_moto(fastpath):
    from conftest import MotoServer, moto_pythonpath

    if not fastpath:
        return MotoServer(), None
    d = tempfile.mkdtemp(prefix="bench-moto-")
    Path(d, "sitecustomize.py").write_text(MOTO_FASTPATH)
    return MotoServer(extra_env={"PYTHONPATH": d + ":" + moto_pythonpath()}), d


def seed(moto_url, region, instances, volumes, batch):
    import ebs_fleet

    ec2 = ebs_fleet.ec2_client(moto_url, region)
    t0 = time.monotonic()
    ids = ebs_fleet.seed_fleet(ec2, instances, volumes=volumes, batch=batch, tags={"Backup": "true"})
    return len(ids), time.monotonic() - t0


def count_created(moto_url, region):
    import ebs_fleet

    return len(ebs_fleet.smartvault_snapshots(ebs_fleet.ec2_client(moto_url, region)))


def fmt_ratio(a, b):
    return f"{a / b:6.1f}x" if b else "   n/a"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--instances", type=int, default=1000)
    ap.add_argument("--volumes", type=int, default=2)
    ap.add_argument("--batch", type=int, default=100, help="instances per RunInstances call when seeding")
    ap.add_argument("--latency", type=float, default=0.020, help="seconds the proxy adds to every request")
    ap.add_argument("--budget", type=float, default=1200, help="overall time limit, seconds")
    ap.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    ap.add_argument("--sv-env", action="append", default=[], metavar="VAR=VALUE",
                    help="extra environment for the SmartVault run (repeatable)")
    ap.add_argument("--skip-boto3", action="store_true", help="measure SmartVault only (no ratios)")
    ap.add_argument("--raw-moto", action="store_true", help="no exact-id tag look-up fast path in moto")
    ap.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    ap.add_argument("--boto3-loop", nargs=2, metavar=("ENDPOINT", "REGION"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.boto3_loop:
        return boto3_loop(*args.boto3_loop)

    budget = Budget(args.budget)
    smartvault = os.environ.get("SMARTVAULT_BIN", str(ROOT / "build/smartvault"))
    if not os.access(smartvault, os.X_OK):
        sys.exit(f"bench_ebs: {smartvault} not found: run ./build.sh first")
    if not os.access("/usr/bin/time", os.X_OK):
        sys.exit("bench_ebs: /usr/bin/time is needed (Debian package `time`)")

    from faultproxy import FaultProxy

    # SIGTERM/SIGINT -> the finally below stops the servers.
    def stop(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, stop)

    moto = proxy = fastpath_dir = None
    try:
        moto, fastpath_dir = start_moto(not args.raw_moto)
        print(f"bench_ebs: {args.instances} instances x {args.volumes} volumes, {args.latency * 1000:.0f} ms per "
              f"request at the proxy, moto at {moto.url} ({'raw' if args.raw_moto else 'tag look-up fast path'})",
              flush=True)
        seeded = {}
        for region in (SV_REGION,) if args.skip_boto3 else (SV_REGION, LOOP_REGION):
            budget.left(f"seeding {region}")
            n, took = seed(moto.url, region, args.instances, args.volumes, args.batch)
            seeded[region] = (n, took)
        print("seeding (not measured): " + ", ".join(
            f"{r} {n} instances in {t:.1f} s" for r, (n, t) in seeded.items()), flush=True)

        proxy = FaultProxy(moto.url, latency=args.latency).start()
        base_env = {"PATH": "/usr/bin:/bin", "HOME": tempfile.gettempdir(), **CREDS,
                    "AWS_EC2_METADATA_DISABLED": "true", "AWS_ENDPOINT_URL": proxy.url}

        # SmartVault
        proxy.clear()
        sv_env = {**base_env, "AWS_REGION": SV_REGION}
        sv_env.update(kv.split("=", 1) for kv in args.sv_env)
        out, sv = measured([smartvault, "run"], sv_env,
                           timeout=budget.left("the SmartVault cycle"))
        sv_calls = proxy.counts()
        done = json.loads(out.strip().splitlines()[-1]) if out.strip() else {}
        sv_created = count_created(moto.url, SV_REGION)
        print(f"SmartVault done: exit {sv['rc']}, {sv_created} snapshots, wall {sv['wall_s']:.2f} s", flush=True)

        # boto3 loop
        bl, bl_calls, loop, bl_created = {"wall_s": 0.0, "user_s": 0.0, "sys_s": 0.0, "maxrss_kb": 0, "rc": None}, {}, \
            {}, 0
        if not args.skip_boto3:
            proxy.clear()
            out, bl = measured(
                [sys.executable, str(Path(__file__).resolve()), "--boto3-loop", proxy.url, LOOP_REGION],
                {**base_env, "PYTHONDONTWRITEBYTECODE": "1"}, timeout=budget.left("the boto3 loop"))
            bl_calls = proxy.counts()
            loop = json.loads(out.strip().splitlines()[-1]) if out.strip() else {}
            bl_created = count_created(moto.url, LOOP_REGION)
            print(f"boto3 loop done: exit {bl['rc']}, {bl_created} snapshots, wall {bl['wall_s']:.2f} s", flush=True)
    except subprocess.TimeoutExpired as e:
        sys.exit(f"bench_ebs: {e.cmd[3] if len(e.cmd) > 3 else e.cmd} ran past the budget ({e.timeout:.0f} s)")
    except TimeoutError as e:
        sys.exit(f"bench_ebs: {e}")
    finally:
        if proxy is not None:
            proxy.stop()
        if moto is not None:
            moto.stop()
        if fastpath_dir is not None:
            shutil.rmtree(fastpath_dir, ignore_errors=True)

    # ---- report ----
    ops = sorted(set(sv_calls) | set(bl_calls), key=lambda o: (-(sv_calls.get(o, 0) + bl_calls.get(o, 0)), o))
    sv_cpu, bl_cpu = sv["user_s"] + sv["sys_s"], bl["user_s"] + bl["sys_s"]
    sv_total, bl_total = sum(sv_calls.values()), sum(bl_calls.values())
    rows = [("API calls, total", f"{sv_total}", f"{bl_total}", fmt_ratio(bl_total, sv_total))]
    rows += [(f"  {op}", f"{sv_calls.get(op, 0)}", f"{bl_calls.get(op, 0)}", "") for op in ops]
    rows += [
        ("wall time, s", f"{sv['wall_s']:.2f}", f"{bl['wall_s']:.2f}", fmt_ratio(bl["wall_s"], sv["wall_s"])),
        ("CPU user+sys, s", f"{sv_cpu:.3f}", f"{bl_cpu:.3f}", fmt_ratio(bl_cpu, sv_cpu)),
        ("  user / sys, s", f"{sv['user_s']:.2f} / {sv['sys_s']:.2f}", f"{bl['user_s']:.2f} / {bl['sys_s']:.2f}", ""),
        ("  boto3: import+client / loop", "", f"{loop.get('import_cpu_s', 0):.2f} / {loop.get('loop_cpu_s', 0):.2f}",
         fmt_ratio(loop.get("loop_cpu_s", 0), sv_cpu)),
        ("peak RSS, MB", f"{sv['maxrss_kb'] / 1024:.1f}", f"{bl['maxrss_kb'] / 1024:.1f}",
         fmt_ratio(bl["maxrss_kb"], sv["maxrss_kb"])),
        ("snapshots created", f"{sv_created}", f"{bl_created}", ""),
        ("exit code", f"{sv['rc']}", f"{bl['rc']}", ""),
    ]
    if sv_env.keys() - base_env.keys() - {"AWS_REGION"}:
        rows.append(("SmartVault settings", " ".join(args.sv_env), "", ""))
    width = max(len(r[0]) for r in rows)
    print()
    print(f"{'':{width}}  {'SmartVault':>14}  {'boto3 loop':>14}  {'boto3/SV':>8}")
    for name, a, b, r in rows:
        if args.skip_boto3:
            b, r = "-", ""
        print(f"{name:{width}}  {a:>14}  {b:>14}  {r:>8}")
    if done:
        print(f"(SmartVault's own cycle.done: wall_ms {done.get('wall_ms')}, peak_rss_kb {done.get('peak_rss_kb')}, "
              f"attempts {done.get('attempts')}, retries {done.get('retries')}, "
              f"api_calls_total {done.get('api_calls_total')})")

    n = args.instances
    overhead = sv_total - sv_calls.get("CreateSnapshots", 0)
    targets = [
        (f"API calls <= instances + 1% ({n} + {n // 100})", sv_total <= n + n // 100,
         f"{sv_total} ({overhead} listing/other)"),
        ("peak RSS <= 16 MB", sv["maxrss_kb"] <= 16 * 1024, f"{sv['maxrss_kb'] / 1024:.1f} MB"),
        ("client CPU >= 10x lower than boto3", bl_cpu >= 10 * sv_cpu, f"{bl_cpu / sv_cpu:.1f}x" if sv_cpu else "n/a"),
        ("wall time >= 8x lower than boto3", bl["wall_s"] >= 8 * sv["wall_s"], f"{bl['wall_s'] / sv['wall_s']:.1f}x"),
        ("same work done", sv_created == bl_created == n * args.volumes and sv["rc"] == 0 and bl["rc"] == 0,
         f"{sv_created} / {bl_created} snapshots"),
    ]
    if args.skip_boto3:
        targets = targets[:2]
    print()
    for name, ok, got in targets:
        print(f"  {'MET ' if ok else 'MISS'}  {name:44} {got}")
    if args.json:
        Path(args.json).write_text(json.dumps({
            "instances": n, "volumes": args.volumes, "latency_s": args.latency, "seeding_s": {
                r: t for r, (_, t) in seeded.items()},
            "smartvault": {**sv, "api_calls": sv_calls, "cycle_done": done},
            "boto3_loop": {**bl, "api_calls": bl_calls, "loop": loop},
            "targets": {name: ok for name, ok, _ in targets}}, indent=2))
    if args.strict and not all(ok for _, ok, _ in targets):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
