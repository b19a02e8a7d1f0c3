"""The synthetic S3 of the scale benchmark (synth_s3.py), checked against moto, and the S3 job's merge at a size
moto cannot hold.

1. On a small bucket, the synthetic server and moto are given the same keys and sizes and must answer every
   ListObjectsV2 the same way (keys, sizes, common prefixes, KeyCount, IsTruncated, page by page), for the
   parameters SmartVault and the other tools send: MaxKeys, ContinuationToken, StartAfter, Prefix, Delimiter.
2. At 60,000 objects with extra destination keys interleaved and S3_DEST_PREFIX, SmartVault copies exactly the
   changed objects, and nothing on the next run.
"""

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from synth_s3 import Synth, SynthServer  # noqa: E402


def client(url):
    import boto3

    return boto3.client("s3", region_name="us-east-1", endpoint_url=url, aws_access_key_id="testing",
                        aws_secret_access_key="testing")


def pages(s3, bucket, **kw):
    out = []
    for p in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, **kw):
        out.append({
            "keys": [(o["Key"], o["Size"]) for o in p.get("Contents", [])],
            "prefixes": [c["Prefix"] for c in p.get("CommonPrefixes", [])],
            "KeyCount": p["KeyCount"], "IsTruncated": p["IsTruncated"], "MaxKeys": p["MaxKeys"],
            "Prefix": p.get("Prefix", ""), "Delimiter": p.get("Delimiter"), "StartAfter": p.get("StartAfter"),
        })
    return out


QUERIES = [
    {},
    {"Delimiter": "/"},
    {"Delimiter": "/", "PaginationConfig": {"PageSize": 2}},
    {"Prefix": "documents/", "Delimiter": "/", "PaginationConfig": {"PageSize": 3}},
    {"Prefix": "documents/d001/", "PaginationConfig": {"PageSize": 7}},
    {"Prefix": "photos/", "StartAfter": "photos/d002/obj-00000025.bin", "PaginationConfig": {"PageSize": 4}},
    {"StartAfter": "database/d003/obj-00000038.bin", "PaginationConfig": {"PageSize": 50}},
    {"Prefix": "bk/documents/", "Delimiter": "/"},
    {"Prefix": "bk/", "PaginationConfig": {"PageSize": 9}},
    {"Prefix": "nothing-here/"},
    {"Prefix": "documents/d0", "Delimiter": "/"},
]


def test_synthetic_listings_answer_as_moto_does(moto):
    synth = Synth(120, folders=4, seed=7, changed=0.1, extra=1, dest_prefix="bk/")
    s3 = client(moto.url)
    for name, bucket in synth.buckets.items():
        s3.create_bucket(Bucket=name)
        for i in range(len(bucket.base)):
            key, attrs = bucket.base[i], bucket.base.attrs(i)
            s3.put_object(Bucket=name, Key=key, Body=b"x" * attrs["size"])
    with SynthServer(synth) as srv:
        fake = client(srv.url)
        for name in synth.buckets:
            for q in QUERIES:
                want, got = pages(s3, name, **q), pages(fake, name, **q)
                assert got == want, (name, q)
        # Non-empty answers were compared, not only empty ones.
        assert len(pages(fake, "synth-src")[0]["keys"]) == 120
        assert pages(fake, "synth-src", Delimiter="/")[0]["prefixes"] == ["database/", "documents/", "photos/"]


@pytest.fixture
def synth_run(run_smartvault):
    def run(srv, extra_env):
        env = {"AWS_ENDPOINT_URL": srv.url, "EBS_BACKUP": "false", "SRC_BUCKET": "synth-src", "METRICS_MODE": "off",
               "DOC_DEST": "synth-dst-documents", "PHOTO_DEST": "synth-dst-photos", "DB_DEST": "synth-dst-database",
               **extra_env}
        proc = run_smartvault(["run"], extra_env=env, timeout=300)
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr
        evs = [json.loads(x) for x in proc.stdout.splitlines() if x.startswith("{")]
        return evs[-1], evs

    return run


def test_merge_at_60k_objects_copies_exactly_the_changed_ones(synth_run):
    synth = Synth(60000, folders=40, seed=3, changed=0.005, extra=1, dest_prefix="bk/")
    changed = {synth.src_key(g) for g in range(60000) if synth.is_changed(g)}
    assert 200 < len(changed) < 400
    with SynthServer(synth) as srv:
        done, evs = synth_run(srv, {"S3_DEST_PREFIX": "bk/"})
        c = done["counts"]
        assert c["s3_objects_seen"] == 60000 and c["s3_objects_copied"] == len(changed)
        assert c["s3_unchanged"] == 60000 - len(changed) and c["s3_failed"] == 0
        assert {k for _, k in synth.copies} == {"bk/" + k for k in changed} and len(synth.copies) == len(changed)
        reasons = {e["reason"] for e in evs if e["event"] == "s3.copied"}
        assert reasons == {"size differs", "source newer"}
        plan = [e for e in evs if e["event"] == "s3.plan"][0]
        # One extra key after every copy, passed over; the one after each route's last key is never reached.
        assert plan["extra_in_destination"] == 60000 - 3
        assert plan["peak_pages_in_memory"] <= 48 + 4
        # Listed in ranges: 3 routes x 40 folders on each side, plus the roots and route levels.
        listed = {(e["bucket"], e["source"]): e for e in evs if e["event"] == "s3.listed"}
        assert listed[("synth-src", True)]["ranges"] == 1 + 3 + 3 * 40
        assert done["peak_rss_kb"] < 16 * 1024, done["peak_rss_kb"]

        done, _ = synth_run(srv, {"S3_DEST_PREFIX": "bk/"})
        assert done["counts"]["s3_objects_copied"] == 0 and done["counts"]["s3_unchanged"] == 60000
        assert len(synth.copies) == len(changed)


def test_unrouted_keys_are_counted_and_only_the_first_thousand_recorded(synth_run):
    # database/ has no route here: its 20,000 keys are unrouted. All are counted; 1,000 are items of the report.
    synth = Synth(60000, folders=40, seed=5, changed=0.0)
    with SynthServer(synth) as srv:
        done, evs = synth_run(srv, {"DB_DEST": "", "LOG_LEVEL": "info"})
        c = done["counts"]
        assert c["s3_objects_seen"] == 60000 and c["s3_skipped"] == 20000 and c["s3_unchanged"] == 40000
        plan = [e for e in evs if e["event"] == "s3.plan"][0]
        assert plan["unrouted"] == 20000 and plan["routed"] == 40000
        assert done["peak_rss_kb"] < 16 * 1024, done["peak_rss_kb"]
        assert synth.copies == []



FLAT = 100_000


def test_flat_folder_is_listed_in_startafter_ranges_concurrently(run_smartvault):
    # photos/d000/ holds 100,000 keys without '/' below it (and so does its destination): as one chain that is
    # 100 pages one after another on each side, 100+ rounds. Cut into StartAfter sub-ranges listed concurrently:
    # every key is merged exactly once (the changed ones copied, no extra key seen, all unchanged found), with at
    # most 15% more pages than the chain and fewer than half its rounds.
    import time

    synth = Synth(FLAT, routes=("photos/",), folders=1, seed=11, changed=0.002)
    changed = {synth.src_key(g) for g in range(FLAT) if synth.is_changed(g)}
    env = {"EBS_BACKUP": "false", "SRC_BUCKET": "synth-src", "METRICS_MODE": "off", "PHOTO_DEST": "synth-dst-photos",
           "LOG_LEVEL": "info"}
    with SynthServer(synth, latency=0.05) as srv:
        t0 = time.monotonic()
        proc = run_smartvault(["run"], extra_env={**env, "AWS_ENDPOINT_URL": srv.url}, timeout=300)
        wall = time.monotonic() - t0
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr
    evs = [json.loads(x) for x in proc.stdout.splitlines() if x.startswith("{")]
    c = evs[-1]["counts"]
    assert c["s3_objects_seen"] == FLAT and c["s3_unchanged"] == FLAT - len(changed) and c["s3_failed"] == 0
    assert {k for _, k in synth.copies} == changed and len(synth.copies) == len(changed)
    plan = [e for e in evs if e["event"] == "s3.plan"][0]
    assert plan["extra_in_destination"] == 0 and plan["objects"] == FLAT
    listed = {e["source"]: e for e in evs if e["event"] == "s3.listed"}
    assert listed[True]["objects"] == FLAT and listed[False]["objects"] == FLAT
    assert listed[True]["split_ranges"] >= 8 and listed[False]["split_ranges"] >= 8
    chain = 2 * (FLAT // 1000 + 1)  # each side: the root page, then 100 pages in one chain
    pages = synth.counts["ListObjectsV2"]
    assert pages == listed[True]["pages"] + listed[False]["pages"]
    assert chain <= pages <= chain * 1.15, pages
    assert plan["rounds"] < chain / 2 / 2, plan["rounds"]
    assert plan["peak_pages_in_memory"] <= 48 + 2
    print(f"flat {FLAT}: {pages} list calls (chain {chain}), {plan['rounds']} rounds, wall {wall:.1f} s")
