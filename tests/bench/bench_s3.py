#!/usr/bin/python3
"""bench_s3 - the incremental S3 folder backup (issues 6 and 12): SmartVault vs `aws s3 sync` vs `rclone copy`.

    /usr/bin/python3 tests/bench/bench_s3.py                  # scale: 100k/300k/1M objects, tools at 100k
    /usr/bin/python3 tests/bench/bench_s3.py --sizes 20000,60000 --compare-at 20000
    /usr/bin/python3 tests/bench/bench_s3.py --moto           # 10,000 objects in moto, 1% changed, 20 ms
    /usr/bin/python3 tests/bench/bench_s3.py --moto --objects 2000 --latency 0.02 --budget 600

Scale (the default, issue 12): the synthetic S3 of tests/integration/synth_s3.py (moto cannot hold a million
objects), generated from a seed: --sizes objects over three routed prefixes (database/, documents/, photos/, in
folders of 3,333 objects: 10 per prefix at 100k, 100 at 1M), each destination already holding a copy of every object, --scale-changed of them (0.1%) changed
in the source (half with a new size), 20 ms added to every request. SmartVault runs at each size, `aws s3 sync` and
`rclone copy` (the three folders one after the other, default flags) at --compare-at, each against a fresh server.
Measured: calls counted by the server, wall, CPU (user+sys), peak RSS (/usr/bin/time), whether exactly the changed
objects were copied; the floor is SmartVault's requests x the latency / 16 (MAX_CONCURRENCY) at the server's
speed. Targets: peak RSS <= 32 MiB at the largest size, flat within +-10% from the smallest, >= 5x faster than
the faster of the two tools.

The moto comparison (--moto, issue 6):

A benchmark, not a test: it prints a table and the targets of issue 6 (exit 0; --strict exits 1 when a target is
missed). Needs build/smartvault (SMARTVAULT_BIN overrides), Debian's python3 with boto3, moto (fetched by
tests/tools/moto.sh, as for the integration tests), /usr/bin/time, and Debian's awscli and rclone (installed with
apt-get when missing and running as root).

Set-up (not measured): one moto server; a source bucket of --objects objects, 95% under the three routed folders of
seed 004 (documents/ 40%, photos/ 30%, database/ 25%) and 5% elsewhere (not routed); three destination buckets per
tool. Each tool then makes its own first full copy (no added latency) and runs again until a run copies nothing, so
each incremental run finds the steady state its own tool leaves behind (rclone's second run rewrites every copy in
place to record the source's time in X-Amz-Meta-Mtime). Then 1% of the objects (all routed ones) are rewritten,
half with the same size, half with a new size.

Measured, one after the other, each through faultproxy adding --latency seconds to every request in front of moto:
  SmartVault   `smartvault run` with SRC_BUCKET/DOC_DEST/PHOTO_DEST/DB_DEST (EBS_BACKUP=false, METRICS_MODE=off:
               the other two publish nothing either)
  aws s3 sync  `aws s3 sync s3://src/<folder>/ s3://dst/<folder>/` for the three folders, one after the other
  rclone copy  `rclone copy src:src/<folder> src:dst/<folder>` for the three folders (default flags, server-side;
               by default rclone reads each object's modification time with a HEAD request, on both sides)
Each measured command runs under /usr/bin/time -v, which gives its peak RSS (for three commands: the largest);
user+sys CPU is the getrusage(RUSAGE_CHILDREN) delta around it. API calls are counted at the proxy and classified
by S3 operation (from method, path and query). Debian's awscli and rclone figures include interpreter/process start,
as a scheduled task would pay it.

Runtime is bounded by --budget seconds (default 1500) overall; moto and the proxy are always stopped.
"""

import argparse
import concurrent.futures
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests/integration"))

CREDS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
REGION = "us-east-1"
SRC = "bench-src"
FOLDERS = (("documents/", 0.40), ("photos/", 0.30), ("database/", 0.25))
TOOLS = ("sv", "cli", "rc")
DEST = {tool: {f: f"bench-{tool}-{f.rstrip('/')}" for f, _ in FOLDERS} for tool in TOOLS}
NAMES = {"sv": "SmartVault", "cli": "aws s3 sync", "rc": "rclone copy"}


class Budget:
    def __init__(self, seconds):
        self.deadline = time.monotonic() + seconds

    def left(self, what):
        left = self.deadline - time.monotonic()
        if left <= 5:
            raise TimeoutError(f"benchmark budget exhausted before {what}")
        return left


# ---- tools ---------------------------------------------------------------------------------------------------

def ensure_tools():
    missing = [p for p, b in (("awscli", "/usr/bin/aws"), ("rclone", "/usr/bin/rclone"), ("time", "/usr/bin/time"))
               if not os.access(b, os.X_OK)]
    if not missing:
        return
    if os.geteuid() != 0:
        sys.exit(f"bench_s3: missing Debian packages {' '.join(missing)} (run as root, or install them)")
    print(f"bench_s3: installing {' '.join(missing)} with apt-get", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-q"], check=True, env=env, stdout=subprocess.DEVNULL)
    subprocess.run(["apt-get", "install", "-y", "-q", "--no-install-recommends", *missing], check=True, env=env,
                   stdout=subprocess.DEVNULL)


def tool_env(endpoint, home):
    """One environment for the three tools: credentials, region, no user configuration, rclone remote `src`."""
    return {
        "PATH": "/usr/bin:/bin", "HOME": home, "LC_ALL": "C.UTF-8", **CREDS,
        "AWS_REGION": REGION, "AWS_DEFAULT_REGION": REGION, "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_CONFIG_FILE": os.path.join(home, "none"), "AWS_SHARED_CREDENTIALS_FILE": os.path.join(home, "none"),
        "AWS_PAGER": "",
        "RCLONE_CONFIG": os.path.join(home, "rclone.conf"),
        "RCLONE_CONFIG_SRC_TYPE": "s3", "RCLONE_CONFIG_SRC_PROVIDER": "Other",
        "RCLONE_CONFIG_SRC_ENDPOINT": endpoint, "RCLONE_CONFIG_SRC_REGION": REGION,
        "RCLONE_CONFIG_SRC_ACCESS_KEY_ID": CREDS["AWS_ACCESS_KEY_ID"],
        "RCLONE_CONFIG_SRC_SECRET_ACCESS_KEY": CREDS["AWS_SECRET_ACCESS_KEY"],
        "RCLONE_CONFIG_SRC_FORCE_PATH_STYLE": "true",
    }


def commands(tool, endpoint, smartvault):
    """The argv lists one backup is made of, for each tool."""
    if tool == "sv":
        return [[smartvault, "run"]]
    out = []
    for folder, _ in FOLDERS:
        dst = DEST[tool][folder]
        if tool == "cli":
            out.append(["/usr/bin/aws", "s3", "sync", "--only-show-errors", "--endpoint-url", endpoint,
                        f"s3://{SRC}/{folder}", f"s3://{dst}/{folder}"])
        else:
            out.append(["/usr/bin/rclone", "copy", "-q", f"src:{SRC}/{folder.rstrip('/')}",
                        f"src:{dst}/{folder.rstrip('/')}"])
    return out


def sv_env(base, endpoint):
    return {**base, "AWS_ENDPOINT_URL": endpoint, "EBS_BACKUP": "false", "SRC_BUCKET": SRC,
            "DOC_DEST": DEST["sv"]["documents/"], "PHOTO_DEST": DEST["sv"]["photos/"],
            "DB_DEST": DEST["sv"]["database/"], "METRICS_MODE": "off"}


# ---- measuring -------------------------------------------------------------------------------------------------

_TIME_FIELDS = {"Maximum resident set size (kbytes)": "maxrss_kb"}


def measured(argvs, env, timeout):
    """Runs the commands one after the other, each under /usr/bin/time -v -> (stdouts, stats)."""
    stats = {"wall_s": 0.0, "user_s": 0.0, "sys_s": 0.0, "maxrss_kb": 0, "rc": 0}
    outs = []
    for argv in argvs:
        with tempfile.NamedTemporaryFile("w+", prefix="bench-time-", suffix=".txt") as tf:
            ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
            t0 = time.monotonic()
            proc = subprocess.run(["/usr/bin/time", "-v", "-o", tf.name, *argv], env=env, stdin=subprocess.DEVNULL,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=timeout)
            stats["wall_s"] += time.monotonic() - t0
            ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
            tf.seek(0)
            for line in tf.read().splitlines():
                key, _, value = line.strip().rpartition(": ")
                if key in _TIME_FIELDS:
                    stats["maxrss_kb"] = max(stats["maxrss_kb"], int(float(value)))
            stats["user_s"] += ru1.ru_utime - ru0.ru_utime
            stats["sys_s"] += ru1.ru_stime - ru0.ru_stime
        if proc.returncode != 0:
            stats["rc"] = stats["rc"] or proc.returncode
            sys.stderr.write(f"bench_s3: {' '.join(argv[:3])} exited {proc.returncode}\n{proc.stderr[-3000:]}\n")
        outs.append(proc.stdout)
    return outs, stats


def s3_op(e):
    """The S3 operation of a proxy log entry (method, path, query)."""
    m, q = e["method"], e["query"]
    if m == "GET":
        return "ListObjectsV2" if "list-type=2" in q else "ListMultipartUploads" if "uploads" in q else \
            "ListObjects" if e["path"].count("/") == 1 else "GetObject"
    if m == "HEAD":
        return "HeadObject" if e["path"].count("/") > 1 else "HeadBucket"
    if m == "PUT":
        return "UploadPartCopy" if "partNumber=" in q else "CopyObject/PutObject"
    if m == "POST":
        return "CreateMultipartUpload" if "uploads" in q else "CompleteMultipartUpload" if "uploadId" in q else "POST"
    if m == "DELETE":
        return "AbortMultipartUpload" if "uploadId" in q else "DeleteObject"
    return m


def op_counts(log):
    out = {}
    for e in log:
        op = s3_op(e)
        out[op] = out.get(op, 0) + 1
    return out


# ---- data -------------------------------------------------------------------------------------------------------

def s3_client(url):
    import boto3
    from botocore.config import Config

    return boto3.client("s3", region_name=REGION, endpoint_url=url, config=Config(max_pool_connections=32),
                        **{k.lower(): v for k, v in CREDS.items()})


def objects(n):
    """{key: body}: the source bucket's content."""
    out = {}
    start = 0
    for folder, share in FOLDERS:
        count = int(n * share)
        for i in range(count):
            out[f"{folder}{i % 20:02d}/object-{start + i:06d}.bin"] = f"{folder} object {start + i} ".encode() * 3
        start += count
    for i in range(n - len(out)):
        out[f"unrouted/{i:06d}.txt"] = b"not backed up"
    return out


def put_all(s3, items, threads=16):
    with concurrent.futures.ThreadPoolExecutor(threads) as ex:
        list(ex.map(lambda kv: s3.put_object(Bucket=SRC, Key=kv[0], Body=kv[1]), items.items()))


def count_keys(s3, bucket):
    n = 0
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        n += len(page.get("Contents", []))
    return n


# ---- scale: the synthetic S3 (issue 12) ---------------------------------------------------------------------------

SCALE_ROUTES = ("database/", "documents/", "photos/")
SCALE_FOLDER_OBJECTS = 3333


def synth_commands(tool, synth, smartvault):
    if tool == "sv":
        return [[smartvault, "run"]]
    out = []
    for route in SCALE_ROUTES:
        dst = synth.dest_of[route]
        if tool == "cli":
            out.append(["/usr/bin/aws", "s3", "sync", "--only-show-errors", "--endpoint-url", "{url}",
                        f"s3://synth-src/{route}", f"s3://{dst}/{route}"])
        else:
            out.append(["/usr/bin/rclone", "copy", "-q", f"src:synth-src/{route.rstrip('/')}",
                        f"src:{dst}/{route.rstrip('/')}"])
    return out


def scale_run(tool, n, args, smartvault, home, budget):
    """One measured run of `tool` against a fresh synthetic bucket of n objects -> (stats, calls, synth, done)."""
    from synth_s3 import Synth, SynthServer

    # Folders of about SCALE_FOLDER_OBJECTS objects each, as a bucket grows by adding folders: listing pages are
    # full at every size, so memory is compared like for like.
    folders = max(1, n // len(SCALE_ROUTES) // SCALE_FOLDER_OBJECTS)
    synth = Synth(n, routes=SCALE_ROUTES, folders=folders, seed=12, changed=args.scale_changed)
    with SynthServer(synth, latency=args.latency) as srv:
        env = tool_env(srv.url, home)
        env["RCLONE_CONFIG_SRC_LIST_VERSION"] = "2"  # the synthetic server answers ListObjectsV2 only
        if tool == "sv":
            env = {**env, "AWS_ENDPOINT_URL": srv.url, "EBS_BACKUP": "false", "SRC_BUCKET": "synth-src",
                   "METRICS_MODE": "off", "DOC_DEST": synth.dest_of["documents/"],
                   "PHOTO_DEST": synth.dest_of["photos/"], "DB_DEST": synth.dest_of["database/"]}
        argvs = [[a.replace("{url}", srv.url) for a in argv] for argv in synth_commands(tool, synth, smartvault)]
        outs, st = measured(argvs, env, timeout=budget.left(f"{NAMES[tool]} at {n}"))
        calls = dict(synth.counts)
    done = {}
    if tool == "sv":
        lines = [json.loads(x) for x in outs[0].splitlines() if x.startswith("{")]
        done = lines[-1] if lines else {}
    want = {synth.src_key(g) for g in range(n) if synth.is_changed(g)}
    got = [k for _, k in synth.copies]
    st["copies_exact"] = sorted(got) == sorted(want)
    st["changed"] = len(want)
    print(f"  {NAMES[tool]:12} {n:>9} objects: exit {st['rc']}, {len(got)} copies of {len(want)} changed "
          f"({'exact' if st['copies_exact'] else 'NOT exact'}), wall {st['wall_s']:.2f} s, "
          f"peak RSS {st['maxrss_kb'] / 1024:.1f} MiB", flush=True)
    return st, calls, done


def scale_main(args):
    budget = Budget(args.budget)
    smartvault = os.environ.get("SMARTVAULT_BIN", str(ROOT / "build/smartvault"))
    if not os.access(smartvault, os.X_OK):
        sys.exit(f"bench_s3: {smartvault} not found: run ./build.sh first")
    ensure_tools()
    sizes = [int(x) for x in args.sizes.split(",")]
    compare_at = args.compare_at
    print(f"bench_s3 (scale): synthetic S3 (tests/integration/synth_s3.py), {args.latency * 1000:.0f} ms per request, "
          f"{args.scale_changed:.1%} changed, routes {', '.join(SCALE_ROUTES)}, folders of {SCALE_FOLDER_OBJECTS} "
          f"objects", flush=True)
    home = tempfile.mkdtemp(prefix="bench-s3-home-")
    res = {}
    try:
        for n in sizes:
            res[("sv", n)] = scale_run("sv", n, args, smartvault, home, budget)
        if compare_at:
            for tool in ("cli", "rc"):
                res[(tool, compare_at)] = scale_run(tool, compare_at, args, smartvault, home, budget)
    except subprocess.TimeoutExpired as e:
        sys.exit(f"bench_s3: a command ran past the budget ({e.timeout:.0f} s): {' '.join(map(str, e.cmd[3:6]))}")
    except TimeoutError as e:
        sys.exit(f"bench_s3: {e}")
    finally:
        shutil.rmtree(home, ignore_errors=True)

    def row(key):
        st, calls, done = res[key]
        tool, n = key
        lists = calls.get("ListObjectsV2", 0) + calls.get("ListMultipartUploads", 0)
        # The floor: every request takes the added latency; SmartVault sends up to MAX_CONCURRENCY (16) at once.
        floor = (lists + calls.get("CopyObject", 0)) * args.latency / 16 if tool == "sv" else None
        return [f"{NAMES[tool]} {n // 1000}k", f"{sum(calls.values())}", f"{lists}", f"{calls.get('CopyObject', 0)}",
                f"{calls.get('HeadObject', 0)}", f"{st['wall_s']:.2f}", f"{floor:.2f}" if floor else "-",
                f"{st['user_s'] + st['sys_s']:.2f}", f"{st['maxrss_kb'] / 1024:.1f}",
                "yes" if st["copies_exact"] and st["rc"] == 0 else "NO"]

    head = ["run", "calls", "list pages", "copies", "HEADs", "wall s", "floor s", "CPU s", "peak RSS MiB", "exact"]
    rows = [head] + [row(k) for k in res]
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    print()
    for r in rows:
        print("  ".join(v.rjust(w) if i else v.ljust(w) for i, (v, w) in enumerate(zip(r, widths))))
    sv = {n: res[("sv", n)][0] for n in sizes}
    targets = []
    big = max(sizes)
    targets.append((f"peak RSS <= 32 MiB at {big // 1000}k", sv[big]["maxrss_kb"] <= 32 * 1024,
                    f"{sv[big]['maxrss_kb'] / 1024:.1f} MiB"))
    small = min(sizes)
    growth = sv[big]["maxrss_kb"] / sv[small]["maxrss_kb"] - 1 if sv[small]["maxrss_kb"] else 0
    targets.append((f"RSS flat within +-10% from {small // 1000}k to {big // 1000}k", abs(growth) <= 0.10,
                    f"{growth:+.1%}"))
    if compare_at and ("sv", compare_at) in res:
        faster = min(("cli", "rc"), key=lambda t: res[(t, compare_at)][0]["wall_s"])
        ratio = res[(faster, compare_at)][0]["wall_s"] / sv[compare_at]["wall_s"]
        targets.append((f">= 5x faster than the faster of the two at {compare_at // 1000}k ({NAMES[faster]})",
                        ratio >= 5, f"{ratio:.1f}x"))
    targets.append(("every run copied exactly the changed objects, exit 0",
                    all(r[0]["copies_exact"] and r[0]["rc"] == 0 for r in res.values()), ""))
    print()
    for name, ok, got in targets:
        print(f"  {'MET ' if ok else 'MISS'}  {name:62} {got}")
    if args.json:
        Path(args.json).write_text(json.dumps({
            "latency_s": args.latency, "changed": args.scale_changed,
            "runs": {f"{t}-{n}": {**st, "api_calls": calls, "cycle_done": done} for (t, n), (st, calls, done) in
                     res.items()},
            "targets": {name: ok for name, ok, _ in targets}}, indent=2))
    if args.strict and not all(ok for _, ok, _ in targets):
        return 1
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--moto", action="store_true", help="the comparison against moto (issue 6) instead of the scale "
                    "benchmark on the synthetic S3")
    ap.add_argument("--sizes", default="100000,300000,1000000", help="scale: source objects per SmartVault run")
    ap.add_argument("--compare-at", type=int, default=100000, help="scale: objects for aws s3 sync and rclone copy "
                    "(0: not run)")
    ap.add_argument("--scale-changed", type=float, default=0.001, help="scale: share of the objects changed")
    ap.add_argument("--objects", type=int, default=10000)
    ap.add_argument("--changed", type=float, default=0.01, help="share of the objects rewritten between runs "
                    "(all of them routed ones)")
    ap.add_argument("--latency", type=float, default=0.020, help="seconds the proxy adds to every request")
    ap.add_argument("--budget", type=float, default=2400, help="overall time limit, seconds")
    ap.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    ap.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    args = ap.parse_args()
    if not args.moto:
        return scale_main(args)

    budget = Budget(args.budget)
    smartvault = os.environ.get("SMARTVAULT_BIN", str(ROOT / "build/smartvault"))
    if not os.access(smartvault, os.X_OK):
        sys.exit(f"bench_s3: {smartvault} not found: run ./build.sh first")
    ensure_tools()

    from conftest import MotoServer
    from faultproxy import FaultProxy

    def stop(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, stop)

    moto = proxy = None
    home = tempfile.mkdtemp(prefix="bench-s3-home-")
    results, calls, copied = {}, {}, {}
    try:
        moto = MotoServer()
        s3 = s3_client(moto.url)
        print(f"bench_s3: {args.objects} objects, {args.changed:.0%} changed, "
              f"{args.latency * 1000:.0f} ms per request at the proxy, moto at {moto.url}", flush=True)
        t0 = time.monotonic()
        for b in [SRC] + [b for tool in TOOLS for b in DEST[tool].values()]:
            s3.create_bucket(Bucket=b)
        data = objects(args.objects)
        put_all(s3, data)
        routed = sorted(k for k in data if not k.startswith("unrouted/"))
        print(f"seeding (not measured): {len(data)} objects ({len(routed)} routed) in {time.monotonic() - t0:.1f} s",
              flush=True)

        # Each tool's own first full copy, then again until a run copies nothing: the steady state each tool
        # leaves behind (rclone's first server-side copy keeps the source's metadata, so its second run rewrites
        # every copy in place to record X-Amz-Meta-Mtime). Through a proxy without latency, to count the copies.
        counter = FaultProxy(moto.url).start()
        direct = tool_env(counter.url, home)
        try:
            for tool in TOOLS:
                t0 = time.monotonic()
                env = sv_env(direct, counter.url) if tool == "sv" else direct
                passes = []
                while len(passes) < 4 and (not passes or passes[-1] > 0):
                    counter.clear()
                    _, st = measured(commands(tool, counter.url, smartvault), env,
                                     timeout=budget.left(f"{tool} first copy"))
                    if st["rc"] != 0:
                        sys.exit(f"bench_s3: {NAMES[tool]} failed its first copy (exit {st['rc']})")
                    passes.append(op_counts(list(counter.log)).get("CopyObject/PutObject", 0))
                have = sum(count_keys(s3, b) for b in DEST[tool].values())
                print(f"first full copy (not measured): {NAMES[tool]}: {have} objects in {time.monotonic() - t0:.1f} s,"
                      f" copies per pass {passes}", flush=True)
                if have != len(routed) or passes[-1] != 0:
                    sys.exit(f"bench_s3: {NAMES[tool]} did not settle: {have} objects of {len(routed)}, {passes}")
        finally:
            counter.stop()

        # 1% of the objects change, all of them routed ones: every other one keeps its size.
        time.sleep(1.05 - time.time() % 1.0)  # LastModified has whole seconds: the rewrite is a second later
        n_changed = max(1, int(len(data) * args.changed))
        step = max(1, len(routed) // n_changed)
        changed = {k: (data[k].upper() if i % 2 == 0 else data[k] + b"v2")
                   for i, k in enumerate(routed[::step][:n_changed])}
        put_all(s3, changed)
        print(f"changed (not measured): {len(changed)} objects", flush=True)

        proxy = FaultProxy(moto.url, latency=args.latency).start()
        env = tool_env(proxy.url, home)
        for tool in TOOLS:
            proxy.clear()
            outs, st = measured(commands(tool, proxy.url, smartvault),
                                sv_env(env, proxy.url) if tool == "sv" else env,
                                timeout=budget.left(f"the {NAMES[tool]} run"))
            results[tool] = st
            calls[tool] = op_counts(list(proxy.log))
            copied[tool] = calls[tool].get("CopyObject/PutObject", 0)
            if tool == "sv":
                lines = [json.loads(x) for x in outs[0].splitlines() if x.startswith("{")]
                results["sv_done"] = lines[-1] if lines else {}
            print(f"{NAMES[tool]} done: exit {st['rc']}, {copied[tool]} copies, wall {st['wall_s']:.2f} s", flush=True)
    except subprocess.TimeoutExpired as e:
        sys.exit(f"bench_s3: a command ran past the budget ({e.timeout:.0f} s): {' '.join(map(str, e.cmd[3:6]))}")
    except TimeoutError as e:
        sys.exit(f"bench_s3: {e}")
    finally:
        if proxy is not None:
            proxy.stop()
        if moto is not None:
            moto.stop()
        shutil.rmtree(home, ignore_errors=True)

    # ---- report ----
    ops = sorted({op for t in TOOLS for op in calls[t]}, key=lambda o: (-sum(calls[t].get(o, 0) for t in TOOLS), o))
    tot = {t: sum(calls[t].values()) for t in TOOLS}
    cpu = {t: results[t]["user_s"] + results[t]["sys_s"] for t in TOOLS}
    rows = [("API calls, total", *(f"{tot[t]}" for t in TOOLS))]
    rows += [(f"  {op}", *(f"{calls[t].get(op, 0)}" for t in TOOLS)) for op in ops]
    rows += [
        ("wall time, s", *(f"{results[t]['wall_s']:.2f}" for t in TOOLS)),
        ("CPU user+sys, s", *(f"{cpu[t]:.3f}" for t in TOOLS)),
        ("peak RSS, MB", *(f"{results[t]['maxrss_kb'] / 1024:.1f}" for t in TOOLS)),
        ("objects copied", *(f"{copied[t]}" for t in TOOLS)),
        ("exit code", *(f"{results[t]['rc']}" for t in TOOLS)),
    ]
    width = max(len(r[0]) for r in rows)
    print()
    print(f"{'':{width}}  " + "  ".join(f"{NAMES[t]:>12}" for t in TOOLS))
    for name, *vals in rows:
        print(f"{name:{width}}  " + "  ".join(f"{v:>12}" for v in vals))
    done = results.get("sv_done", {})
    if done:
        print(f"(SmartVault's own cycle.done: wall_ms {done.get('wall_ms')}, api_calls {done.get('api_calls')}, "
              f"arena_peak_bytes {done.get('arena_peak_bytes')}, retries {done.get('retries')})")

    sv_calls = calls["sv"]
    list_pages = sv_calls.get("ListObjectsV2", 0) + sv_calls.get("ListMultipartUploads", 0)
    faster = min(("cli", "rc"), key=lambda t: results[t]["wall_s"])
    speedup = results[faster]["wall_s"] / results["sv"]["wall_s"] if results["sv"]["wall_s"] else 0
    targets = [
        (f"API calls <= list pages + changed ({list_pages} + {len(changed)})", tot["sv"] <= list_pages + len(changed),
         f"{tot['sv']}"),
        (f">= 3x faster than the faster of the two ({NAMES[faster]})", speedup >= 3, f"{speedup:.1f}x"),
        ("same work done (changed objects copied, exit 0)",
         all(copied[t] == len(changed) and results[t]["rc"] == 0 for t in TOOLS),
         " / ".join(f"{copied[t]}" for t in TOOLS)),
    ]
    print()
    for name, ok, got in targets:
        print(f"  {'MET ' if ok else 'MISS'}  {name:58} {got}")
    if args.json:
        Path(args.json).write_text(json.dumps({
            "objects": args.objects, "changed": len(changed), "latency_s": args.latency,
            "results": {t: {**results[t], "api_calls": calls[t]} for t in TOOLS}, "smartvault_cycle_done": done,
            "targets": {name: ok for name, ok, _ in targets}}, indent=2))
    if args.strict and not all(ok for _, ok, _ in targets):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
