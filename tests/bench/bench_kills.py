#!/usr/bin/python3
"""bench_kills - the kill series of issue 11: SIGKILL a cycle at random moments, re-run at once, and count the damage.

    /usr/bin/python3 tests/bench/bench_kills.py                     # 20 kills, 30 instances x 2 volumes, S3 multipart
    /usr/bin/python3 tests/bench/bench_kills.py --kills 5 --seed 7  # a shorter series

A measurement, not a test: it prints a table (exit 0; --strict exits 1 when any damage count is not 0 or a killed
run lost more than one batch of audit items). Needs build/smartvault (SMARTVAULT_BIN overrides), Debian's python3
with boto3, and moto (tests/tools/moto.sh, as for the integration tests).

Set-up: one moto server behind faultproxy (--latency per request; each UploadPartCopy and CreateSnapshots slowed
further so kills land mid-phase); a fleet of --instances instances (Backup=true, 2 volumes each) in us-east-1 with
DR copies to us-west-2; an S3 source bucket routed to three backup buckets, with 11 MiB objects copied as 3-part
multipart copies (S3_MULTIPART_THRESHOLD=5MiB); the audit table with the run lease; MIN_INTERVAL=24h, so the whole
series is one due window (a second snapshot of a volume is a duplicate) and nothing is past retention (any
snapshot that disappears was wrongly deleted).

Each of --kills rounds adds fresh work (--grow new instances and one new 11 MiB object), starts `smartvault run`,
SIGKILLs it after a random time in [0.2, --max-kill-s] seconds, and at once starts the next round. A SIGKILLed run
keeps its lease for 10 minutes, during which the next run is skipped by design (README "Overlapping runs"): each
round deletes the killed run's lease first, which is what its expiry would do, so the re-run acts at once. After the
last kill, one run goes to completion. Then, counted from AWS (boto3), not from SmartVault's output:

  open uploads          multipart uploads still open in the backup buckets
  without audit item    SmartVault snapshots (source region) without a `created` audit item; the baseline is the
                        snapshots made by killed runs, which an audit written only at the end would all have lost
  duplicates            volumes with two SmartVault snapshots in the source region; sources with two DR copies
  wrongly deleted       snapshots seen after some round and gone at the end
  lost per kill         the most `created` items a single killed run lost (streaming promises at most one batch, 25)
"""

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests/integration"))

SRC_REGION, DST_REGION = "us-east-1", "us-west-2"
TABLE = "smartvault-audit"
SRC, DOCS, PICS, DB = "kill-src", "kill-docs", "kill-pics", "kill-db"
MiB = 1024 * 1024
CREDS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


def client(url, service, region=SRC_REGION):
    import boto3
    from botocore.config import Config

    return boto3.client(service, region_name=region, endpoint_url=url, config=Config(retries={"max_attempts": 3}),
                        **{k.lower(): v for k, v in CREDS.items()})


def scan(ddb):
    items, kw = [], {"TableName": TABLE}
    while True:
        page = ddb.scan(**kw)
        items += page["Items"]
        if "LastEvaluatedKey" not in page:
            return items
        kw["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def drop_lease(ddb):
    for it in scan(ddb):
        if it["pk"]["S"].startswith("lease#"):
            ddb.delete_item(TableName=TABLE, Key={"pk": it["pk"], "sk": it["sk"]})


def open_uploads(s3):
    return sum(len(s3.list_multipart_uploads(Bucket=b).get("Uploads", [])) for b in (DOCS, PICS, DB))


def run_env(proxy_url):
    return {**CREDS, "AWS_REGION": SRC_REGION, "AWS_ENDPOINT_URL": proxy_url, "AWS_EC2_METADATA_DISABLED": "true",
            "PATH": "/usr/bin:/bin", "SOURCE_REGION": SRC_REGION, "DEST_REGION": DST_REGION,
            "DYNAMODB_TABLE": TABLE, "MIN_INTERVAL": "24h", "SRC_BUCKET": SRC, "DOC_DEST": DOCS,
            "PHOTO_DEST": PICS, "DB_DEST": DB, "S3_MULTIPART_THRESHOLD": "5MiB", "S3_PART_SIZE": "5MiB"}


def log_events(path, event):
    out = []
    for line in Path(path).read_text(errors="replace").splitlines():
        if line.startswith("{") and f'"event":"{event}"' in line:
            try:
                out.append(json.loads(line))
            except ValueError:
                pass  # the line the kill cut
    return out


def run_id_of(path):
    starts = log_events(path, "cycle.start")
    return starts[0].get("run_id") if starts else None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--kills", type=int, default=20)
    ap.add_argument("--instances", type=int, default=30)
    ap.add_argument("--grow", type=int, default=4, help="new instances per round")
    ap.add_argument("--latency", type=float, default=0.02)
    ap.add_argument("--max-kill-s", type=float, default=4.0)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--strict", action="store_true")
    args = ap.parse_args()
    smartvault = os.environ.get("SMARTVAULT_BIN", str(ROOT / "build/smartvault"))
    if not os.access(smartvault, os.X_OK):
        sys.exit(f"bench_kills: {smartvault} not found: run ./build.sh first")

    import ebs_fleet as fl
    from conftest import MotoServer
    from faultproxy import FaultProxy, Rule

    rng = random.Random(args.seed)
    moto = MotoServer()
    proxy = FaultProxy(moto.url, latency=args.latency).start()
    proxy.add(Rule("forward", method="PUT", query="partNumber=", delay=0.4))
    proxy.add(Rule("forward", op="CreateSnapshots", delay=0.1))
    logs = tempfile.mkdtemp(prefix="bench-kills-")
    try:
        ec2, ec2_dst = fl.ec2_client(moto.url, SRC_REGION), fl.ec2_client(moto.url, DST_REGION)
        s3, ddb = client(moto.url, "s3"), client(moto.url, "dynamodb")
        for b in (SRC, DOCS, PICS, DB):
            s3.create_bucket(Bucket=b)
        ddb.create_table(TableName=TABLE, BillingMode="PAY_PER_REQUEST",
                         KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"},
                                    {"AttributeName": "sk", "KeyType": "RANGE"}],
                         AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                               {"AttributeName": "sk", "AttributeType": "S"}])
        fl.seed_fleet(ec2, args.instances, volumes=2, tags={"Backup": "true"})
        s3.put_object(Bucket=SRC, Key="documents/readme.txt", Body=b"r")
        env = run_env(proxy.url)
        seen, killed_runs, kill_at, known = set(), [], [], {}
        t_series = time.monotonic()
        for k in range(args.kills):
            fl.seed_fleet(ec2, args.grow, volumes=2, tags={"Backup": "true"})
            s3.put_object(Bucket=SRC, Key=f"database/dump-{k:02d}.bin", Body=os.urandom(11 * MiB))
            drop_lease(ddb)  # the killed run's lease, as its expiry would
            out = Path(logs) / f"run-{k:02d}.log"
            n_log = len(proxy.log)
            with open(out, "wb") as f:
                proc = subprocess.Popen([smartvault, "run"], env=env, stdout=f, stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL)
                wait = rng.uniform(0.2, args.max_kill_s)
                try:
                    proc.wait(timeout=wait)
                except subprocess.TimeoutExpired:
                    proc.send_signal(signal.SIGKILL)
                    proc.wait()
                    killed_runs.append(run_id_of(out))
                    kill_at.append(wait)
                    known[killed_runs[-1]] = {e["snapshot_id"] for e in log_events(out, "snapshot.created")}
            writes = sum(1 for e in list(proxy.log)[n_log:] if e["op"] == "BatchWriteItem" and e["status"] == 200)
            made = Path(out).read_text(errors="replace").count('"event":"snapshot.created"')
            print(f"round {k + 1:2d}: exit {proc.returncode:4d} after {min(wait, time.monotonic() - t_series):5.2f} s, "
                  f"{made:3d} snapshots made, {writes} audit batches written", flush=True)
            seen |= set(fl.smartvault_snapshots(ec2)) | set(fl.smartvault_snapshots(ec2_dst))
        series_s = time.monotonic() - t_series
        drop_lease(ddb)
        proxy.clear()
        final = subprocess.run([smartvault, "run"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, timeout=600)
        done = fl.done(final.stdout)

        src, dst = fl.smartvault_snapshots(ec2), fl.smartvault_snapshots(ec2_dst)
        items = [i for i in scan(ddb) if "action" in i]
        created_items = {i["snapshot_id"]["S"]: i["pk"]["S"] for i in items if i["action"]["S"] == "created"}
        run_of = {sid: fl.tags_of(s).get("SmartVault:RunId") for sid, s in src.items()}
        missing = [sid for sid in src if sid not in created_items]
        killed = set(filter(None, killed_runs))
        baseline = [sid for sid in src if run_of[sid] in killed]
        # Of the snapshots a killed run knew it made (it logged snapshot.created: the answer arrived), how many have
        # no item - the streaming's own loss; the others' CreateSnapshots answers never arrived before the kill.
        lost_per_run = {rid: len(ids - set(created_items)) for rid, ids in known.items()}
        unanswered = [sid for sid in missing if run_of[sid] in killed and sid not in known.get(run_of[sid], set())]
        by_volume = Counter(s["VolumeId"] for s in src.values())
        by_source = Counter(fl.tags_of(s).get("SourceSnapshotId") for s in dst.values())
        dup_src = sum(1 for n in by_volume.values() if n > 1)
        dup_dst = sum(1 for n in by_source.values() if n > 1)
        gone = seen - set(src) - set(dst)
        uploads = open_uploads(s3)
        per_run = defaultdict(int)
        for sid, rid in run_of.items():
            per_run[rid] += 1

        print(f"\nbench_kills: {args.kills} rounds ({len(killed)} killed mid-run, kill after "
              f"{min(kill_at, default=0):.2f}..{max(kill_at, default=0):.2f} s), "
              f"{args.instances}+{args.grow}/round instances x 2 volumes, {args.latency * 1000:.0f} ms per request; "
              f"series {series_s:.0f} s; final run exit {final.returncode} ({done.get('outcome')})")
        print(f"{'measure':<48} {'count':>8}")
        rows = [
            ("source snapshots (SmartVault)", len(src)),
            ("DR copies (SmartVault)", len(dst)),
            ("open multipart uploads at the end", uploads),
            ("snapshots without a `created` audit item", len(missing)),
            ("  of them: the kill cut the create's answer", len(unanswered)),
            ("  of them: answered, item not yet streamed", sum(lost_per_run.values())),
            ("  most answered items lost by one killed run", max(lost_per_run.values(), default=0)),
            ("  baseline: made by killed runs (end-only audit)", len(baseline)),
            ("duplicate snapshots (volumes with 2+)", dup_src),
            ("duplicate DR copies (sources with 2+)", dup_dst),
            ("wrongly deleted snapshots", len(gone)),
        ]
        for name, n in rows:
            print(f"{name:<48} {n:>8}")
        ratio = len(missing) / len(baseline) if baseline else 0.0
        share = len(missing) / len(src) if src else 0.0
        print(f"missing audit items: {share:.1%} of snapshots ({ratio:.1%} of the end-only baseline's "
              f"{len(baseline)}); floor 0")
        bad = uploads or dup_src or dup_dst or gone or max(lost_per_run.values(), default=0) > 25 or final.returncode
        if args.strict and bad:
            sys.exit(1)
    finally:
        proxy.stop()
        moto.stop()


if __name__ == "__main__":
    main()
