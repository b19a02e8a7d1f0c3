#!/usr/bin/python3
"""bench_ebs_scale - memory and CPU of one EBS cycle as the fleet grows (issue 10, part 5).

    /usr/bin/python3 tests/bench/bench_ebs_scale.py                       # 1,250 / 2,500 / 5,000 instances
    /usr/bin/python3 tests/bench/bench_ebs_scale.py --sizes 1250 --workload daily

Two workloads (--workload): `steady` (default) - the fleet's history as a run 10 minutes after the last one finds
it: nothing due, nothing expired, so the run lists both regions and plans everything (the memory and CPU of the
listings and planners, in seconds); `daily` - the run of a daily schedule: every instance due (2 N snapshots
created), one snapshot per volume expired in each region (2 N deletions per region), the DR copies of the new
ones. The daily run is paced at EC2's documented rates (CreateSnapshots and DeleteSnapshot 5/s, CopySnapshot 5/s
after 50): its wall time is about the copies' floor, (2 N - 50) / 5 s, so `./build.sh bench` runs it at N = 300
only.

For each size N: a fresh synthetic EC2 (tests/integration/synth_ec2.py; moto cannot list 70,000 tagged snapshots,
see there) holding N instances x 2 volumes, each volume with 7 daily SmartVault snapshots (1..7 days + 1 h old)
and a completed copy of each in the DR region: 14 N snapshots per region (70,000 at N = 5,000). Then one
`smartvault run` with DEST_REGION and default settings (--copy-window sets COPY_WINDOW). Per N: API calls
(the server's count), wall, CPU (user+sys of the smartvault process, getrusage of the reaped child), peak RSS
(/usr/bin/time -v), CPU per listed snapshot (CPU / snapshots listed: both regions, before and after creating),
the machine's load average next to each wall time. Targets: peak RSS <= 40 MiB at N = 5,000; CPU per listed
snapshot within +-20 % of the smallest N's.
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
CREDS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
MIB = 1024 * 1024


def one(n, days, copy_window, timeout, workload, sv=None):
    import bench_ebs
    from synth_ec2 import SynthEc2

    with SynthEc2() as ec2:
        t0 = time.monotonic()
        # daily: the newest snapshot is 1 day + 1 h old (every instance due) and the oldest 7 days + 1 h (expired);
        # steady: the same history 25 h later - newest 10 min old (none due: MIN_INTERVAL is 30 min), oldest
        # 6 days 23 h 50 min (none expired: RETENTION_DAYS is 7)
        shift = 0 if workload == "daily" else 86400 + 3000
        ec2.seed(SRC, DST, n, volumes=2, days=days, now=time.time() + shift)
        seeded = time.monotonic() - t0
        env = dict(os.environ, **CREDS, AWS_ENDPOINT_URL=ec2.url, AWS_REGION=SRC, DEST_REGION=DST,
                   **({"COPY_WINDOW": copy_window} if copy_window else {}))
        for k in ("SMARTVAULT_MOTO_PYTHONPATH", "SMARTVAULT_BIN"):  # the binary refuses unknown SMARTVAULT_*
            env.pop(k, None)
        sv = sv or os.environ.get("SMARTVAULT_BIN", str(ROOT / "build/smartvault"))
        load0 = os.getloadavg()[0]
        out, st = bench_ebs.measured([sv, "run"], env, timeout=timeout)
        load1 = os.getloadavg()[0]
        done = [json.loads(x) for x in out.splitlines() if '"cycle.done"' in x]
        d = done[-1] if done else {}
        calls = sum(ec2.calls.values())
        listed = _listed(out)
        cpu = st.get("user_s", 0) + st.get("sys_s", 0)
        return dict(n=n, snapshots_per_region=n * 2 * days, seed_s=seeded, rc=st["rc"], wall_s=st["wall_s"],
                    cpu_s=cpu, maxrss_kb=st.get("maxrss_kb", 0), api_calls=calls, listed=listed,
                    cpu_us_per_listed=1e6 * cpu / max(listed, 1), load=(load0, load1),
                    counts=d.get("counts", {}), sv_rss_kb=d.get("peak_rss_kb"))


def _listed(out):
    """Snapshots listed and planned in the run: the sum of the retention.plan lines' `snapshots` (one line per
    listing that was planned: both regions before creating, the source again after)."""
    n = 0
    for line in out.splitlines():
        if '"retention.plan"' in line:
            n += json.loads(line).get("snapshots", 0)
    return n


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="1250,2500,5000")
    ap.add_argument("--days", type=int, default=7)
    ap.add_argument("--copy-window", default=None, help="COPY_WINDOW for the run (default: the product's)")
    ap.add_argument("--timeout", type=float, default=3600)
    ap.add_argument("--baseline", metavar="BIN", help="also run this binary (e.g. a build of main) on the same fleets")
    ap.add_argument("--workload", choices=("steady", "daily"), default="steady",
                    help="steady: list and plan everything, nothing due or expired (seconds); daily: every instance "
                         "due and one snapshot per volume expired in each region (paced at EC2's documented rates: "
                         "about 0.4 N s)")
    a = ap.parse_args()
    rows = []
    for n in [int(x) for x in a.sizes.split(",")]:
        r = one(n, a.days, a.copy_window, a.timeout, a.workload)
        if a.baseline:
            b = one(n, a.days, a.copy_window, a.timeout, a.workload, sv=a.baseline)
            r["base_rss_kb"], r["base_cpu_s"], r["base_wall_s"] = b["maxrss_kb"], b["cpu_s"], b["wall_s"]
        rows.append(r)
        print(json.dumps(r), flush=True)
    print()
    print(f"{'instances':>9}{'snaps/region':>13}{'API calls':>10}{'wall s':>8}{'CPU s':>7}{'peak RSS MiB':>13}"
          f"{'listed':>8}{'CPU us/listed':>14}{'vs first':>9}{'load 1m':>12}{'rc':>4}")
    base = rows[0]["cpu_us_per_listed"] if rows else 1
    for r in rows:
        print(f"{r['n']:>9}{r['snapshots_per_region']:>13}{r['api_calls']:>10}{r['wall_s']:>8.1f}{r['cpu_s']:>7.2f}"
              f"{r['maxrss_kb'] / 1024:>13.1f}{r['listed']:>8}{r['cpu_us_per_listed']:>14.1f}"
              f"{r['cpu_us_per_listed'] / base:>9.2f}{r['load'][0]:>6.1f}-{r['load'][1]:<5.1f}{r['rc']:>4}")
    if a.baseline:
        print(f"baseline {a.baseline}:")
        for r in rows:
            print(f"{r['n']:>9}  peak RSS {r['base_rss_kb'] / 1024:.1f} MiB -> {r['maxrss_kb'] / 1024:.1f} MiB "
                  f"({r['maxrss_kb'] / max(r['base_rss_kb'], 1):.2f}x), CPU {r['base_cpu_s']:.2f} s -> {r['cpu_s']:.2f} s")
    if len(rows) > 1:
        first, last = rows[0], rows[-1]
        marginal = 1e6 * (last["cpu_s"] - first["cpu_s"]) / max(last["listed"] - first["listed"], 1)
        print(f"marginal CPU per listed snapshot {first['n']}->{last['n']}: {marginal:.1f} us "
              f"(the per-listed figures include a fixed start-up cost)")
    big = max(rows, key=lambda r: r["n"])
    flat = all(abs(r["cpu_us_per_listed"] / base - 1) <= 0.2 for r in rows)
    print(f"targets: peak RSS <= 40 MiB at {big['n']}: {'met' if big['maxrss_kb'] <= 40 * 1024 else 'NOT met'} "
          f"({big['maxrss_kb'] / 1024:.1f} MiB); CPU per listed snapshot flat +-20%: {'met' if flat else 'NOT met'}")


if __name__ == "__main__":
    main()
