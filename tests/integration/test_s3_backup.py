"""The S3 folder-routed backup (issue 6, seed 004) end to end: the real static binary against moto's S3.

Every run goes through faultproxy (with no rule it only forwards and counts), so what the binary says it called
(cycle.done api_calls) is checked against what reached the emulator, and faults are injected where a test asks.
EBS_BACKUP=false: only the S3 job runs. Buckets and objects are made and checked with boto3.

moto keeps LastModified in whole seconds, as S3 does; tests that rewrite objects after a copy wait for the next
second first, as any real rewrite would be later than the copy made from the previous version.
"""

import concurrent.futures
import datetime
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from faultproxy import FaultProxy, Response, Rule, aws_error_body  # noqa: E402

SRC, DOCS, PICS, DB = "sv-src", "sv-docs", "sv-photos", "sv-db"
SEED_ENV = {"EBS_BACKUP": "false", "SRC_BUCKET": SRC, "DOC_DEST": DOCS, "PHOTO_DEST": PICS, "DB_DEST": DB}
LIST_OPS = {"ListObjectsV2", "ListMultipartUploads"}


# ---- helpers ---------------------------------------------------------------------------------------------------

def events(stdout):
    return [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]


def of(evs, name):
    return [e for e in evs if e.get("event") == name]


def is_upload_part_copy(req):
    return req.method == "PUT" and "partNumber=" in req.query and req.headers.get("x-amz-copy-source")


def is_copy_object(req):
    return req.method == "PUT" and "partNumber=" not in req.query and req.headers.get("x-amz-copy-source")


def first_attempt(req):
    return "attempt=1;" in (req.headers.get("amz-sdk-request") or "")


def all_keys(s3, bucket, prefix=""):
    out = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for o in page.get("Contents", []):
            out[o["Key"]] = o
    return out


def body(s3, bucket, key):
    return s3.get_object(Bucket=bucket, Key=key)["Body"].read()


def put_many(s3, bucket, items, threads=16):
    """items: {key: bytes}; put concurrently (moto answers each in a few ms)."""
    with concurrent.futures.ThreadPoolExecutor(threads) as ex:
        list(ex.map(lambda kv: s3.put_object(Bucket=bucket, Key=kv[0], Body=kv[1]), items.items()))


def wait_next_second():
    time.sleep(1.05 - (time.time() % 1.0))


def in_flight_uploads(s3, *buckets):
    return {b: s3.list_multipart_uploads(Bucket=b).get("Uploads", []) for b in buckets if
            s3.list_multipart_uploads(Bucket=b).get("Uploads")}


@pytest.fixture
def proxy(moto):
    with FaultProxy(moto.url) as p:
        yield p


@pytest.fixture
def s3(moto):
    import boto3
    from botocore.config import Config

    return boto3.client("s3", region_name="us-east-1", endpoint_url=moto.url, aws_access_key_id="testing",
                        aws_secret_access_key="testing", config=Config(max_pool_connections=32))


@pytest.fixture
def buckets(s3):
    for b in (SRC, DOCS, PICS, DB):
        s3.create_bucket(Bucket=b)
    return s3


@pytest.fixture
def backup(run_smartvault, proxy, moto):
    """backup(extra_env, expect=0, rules=(), direct=False) -> (cycle.done, events), through the counting proxy
    (direct=True: straight to moto, for the runs with thousands of calls)."""

    def run(extra=None, expect=0, rules=(), args=(), direct=False):
        proxy.clear()
        for r in rules:
            proxy.add(r)
        env = dict(SEED_ENV)
        env["AWS_ENDPOINT_URL"] = moto.url if direct else proxy.url
        env.update(extra or {})
        proc = run_smartvault(["run", *args], extra_env=env, timeout=180)
        assert proc.returncode == expect, f"exit {proc.returncode}\n{proc.stdout[-6000:]}\n{proc.stderr}"
        evs = events(proc.stdout)
        assert evs and evs[-1]["event"] == "cycle.done", proc.stdout[-3000:]
        done = evs[-1]
        if not rules and not direct:
            # With no fault, what the binary counted is what reached the emulator. (A reset may make libcurl
            # resend a request below the retry policy: then the proxy sees one more than the attempts.)
            assert done["attempts"] == proxy.count(), (done, proxy.counts())
        return done, evs

    return run


def api(done, op):
    return done["api_calls"].get(op, 0)


S3_OPS = {"ListObjectsV2", "ListMultipartUploads", "HeadObject", "GetObjectTagging", "CopyObject",
          "CreateMultipartUpload", "UploadPartCopy", "CompleteMultipartUpload", "AbortMultipartUpload"}


def s3_calls(done):
    """The S3 job's calls (the reporting of the cycle - metrics, SNS, audit - is not this file's subject)."""
    return {op: n for op, n in done["api_calls"].items() if op in S3_OPS}


# ---- incremental copy ---------------------------------------------------------------------------------------

def test_2500_objects_first_run_copies_routed_second_none_third_exactly_the_15_changed(buckets, backup):
    s3 = buckets
    seed = {}
    for i in range(1000):
        seed[f"documents/dept-{i % 7}/report-{i:04d}.txt"] = f"document {i}".encode()
    for i in range(800):
        seed[f"photos/{2020 + i % 5}/img_{i:04d}.jpg"] = b"\xff\xd8" + os.urandom(40)
    for i in range(600):
        seed[f"database/dump-{i:04d}.sql"] = f"insert {i};".encode() * (i % 3 + 1)
    unrouted = {}
    for i in range(97):
        unrouted[f"other/file-{i:03d}"] = b"not backed up"
    unrouted["Documents/capital-D.txt"] = b"case matters"
    unrouted["documents"] = b"no slash: not under documents/"
    unrouted["photos.txt"] = b"not a folder"
    put_many(s3, SRC, {**seed, **unrouted})
    s3.put_object(Bucket=DOCS, Key="documents/only-in-backup.txt", Body=b"kept forever")
    routed = {DOCS: "documents/", PICS: "photos/", DB: "database/"}

    # Run 1: every routed object is copied, every unrouted key is skipped, nothing else is written.
    done, evs = backup(direct=True)
    c = done["counts"]
    assert c["s3_objects_seen"] == 2500
    assert c["s3_objects_copied"] == 2400 and api(done, "CopyObject") == 2400
    assert c["s3_skipped"] == 100 and c["s3_failed"] == 0 and c["s3_unchanged"] == 0
    assert c["s3_bytes_copied"] == sum(len(v) for v in seed.values())
    assert len(of(evs, "s3.copied")) == 2400
    src_listing = [e for e in of(evs, "s3.listed") if e["source"]]
    # Listed as key ranges: the root ("/"-delimited), its 5 folders (documents/ and photos/ delimited again), and
    # documents/'s 7 and photos/'s 5 sub-folders: 18 ranges of one page each, listed concurrently.
    assert src_listing[0]["objects"] == 2500 and src_listing[0]["ranges"] == 18 and src_listing[0]["pages"] == 18
    for bucket, prefix in routed.items():
        got = set(all_keys(s3, bucket))
        want = {k for k in seed if k.startswith(prefix)}
        extra = {"documents/only-in-backup.txt"} if bucket == DOCS else set()
        assert got == want | extra, bucket  # so no unrouted key went anywhere
    # Memory stays small: keys in the cycle arena, responses parsed and rewound.
    assert done["arena_peak_bytes"] < 8 * 1024 * 1024, done["arena_peak_bytes"]
    assert done["peak_rss_kb"] < 24 * 1024, done["peak_rss_kb"]

    # Run 2: nothing changed, nothing copied, and only listings were called (no HeadObject per object).
    done, evs = backup(direct=True)
    c = done["counts"]
    assert c["s3_objects_copied"] == 0 and c["s3_unchanged"] == 2400 and c["s3_skipped"] == 100
    assert set(s3_calls(done)) <= LIST_OPS, done["api_calls"]
    assert of(evs, "s3.copied") == []

    # Change 10 objects (5 same size, new bytes; 5 new size) and add 5: exactly those 15 are copied.
    wait_next_second()
    docs = sorted(k for k in seed if k.startswith("documents/"))
    changed = {k: seed[k].upper().replace(b"DOCUMENT", b"DOCUMENX") for k in docs[:5]}  # same length
    changed.update({k: seed[k] + b" v2" for k in sorted(k for k in seed if k.startswith("database/"))[:5]})
    added = {f"photos/new/img_{i}.jpg": os.urandom(100) for i in range(5)}
    assert all(len(changed[k]) == len(seed[k]) for k in docs[:5])
    put_many(s3, SRC, {**changed, **added})
    done, evs = backup(direct=True)
    c = done["counts"]
    assert c["s3_objects_copied"] == 15 and api(done, "CopyObject") == 15
    assert c["s3_unchanged"] == 2390 and c["s3_objects_seen"] == 2505 and c["s3_skipped"] == 100
    copied = {e["key"]: e for e in of(evs, "s3.copied")}
    assert set(copied) == set(changed) | set(added)
    assert {copied[k]["reason"] for k in added} == {"missing"}
    assert {copied[k]["reason"] for k in docs[:5]} == {"source newer"}  # same size: decided by LastModified
    assert {copied[k]["reason"] for k in changed if k.startswith("database/")} == {"size differs"}
    for key, data in {**changed, **added}.items():
        bucket = next(b for b, p in routed.items() if key.startswith(p))
        assert body(s3, bucket, key) == data, key
    # Nothing is ever deleted in a destination.
    assert body(s3, DOCS, "documents/only-in-backup.txt") == b"kept forever"


SPECIAL_KEYS = [
    "documents/with space.txt",
    "documents/plus+sign.txt",
    "documents/pct%41 and %2F.txt",
    "documents/q?mark=1&x=y.txt",
    "documents/hash#frag",
    "documents/ünïcödé/ファイル 😀.txt",
    "documents/  leading and trailing  ",
    "documents/a//double/slash",
    "documents/dir/",
    "documents/tilde~-._!*'()",
    "photos/brackets[1]{2}<3>.jpg",
    "database/semi;colon,comma:colon@at$dollar",
]


def test_special_keys_zero_bytes_metadata_storage_class_and_sse(buckets, backup):
    s3 = buckets
    for i, key in enumerate(SPECIAL_KEYS):
        s3.put_object(Bucket=SRC, Key=key, Body=b"" if key.endswith("/") else f"object {i}".encode(),
                      ContentType="text/x-special", Metadata={"owner": "alice", "index": str(i)},
                      CacheControl="max-age=60", ContentDisposition=f'attachment; filename="f{i}"',
                      ContentLanguage="de")
    s3.put_object(Bucket=SRC, Key="documents/empty.bin", Body=b"", Tagging="k=v")
    done, evs = backup({"S3_STORAGE_CLASS": "STANDARD_IA"})
    assert done["counts"]["s3_objects_copied"] == len(SPECIAL_KEYS) + 1
    for i, key in enumerate(SPECIAL_KEYS):
        bucket = DOCS if key.startswith("documents/") else PICS if key.startswith("photos/") else DB
        h = s3.head_object(Bucket=bucket, Key=key)
        assert h["ContentType"] == "text/x-special", key
        assert h["Metadata"] == {"owner": "alice", "index": str(i)}, key
        assert h["CacheControl"] == "max-age=60" and h["ContentLanguage"] == "de", key
        assert h["ContentDisposition"] == f'attachment; filename="f{i}"', key
        assert h["StorageClass"] == "STANDARD_IA", key
        assert h["ServerSideEncryption"] == "AES256", key
        assert body(s3, bucket, key) == body(s3, SRC, key), key
    assert s3.head_object(Bucket=DOCS, Key="documents/empty.bin")["ContentLength"] == 0
    assert s3.get_object_tagging(Bucket=DOCS, Key="documents/empty.bin")["TagSet"] == [{"Key": "k", "Value": "v"}]
    # The listing round-trips every key (URL-encoded listings decoded): the second run copies nothing.
    done, _ = backup({"S3_STORAGE_CLASS": "STANDARD_IA"})
    assert done["counts"]["s3_objects_copied"] == 0
    assert done["counts"]["s3_unchanged"] == len(SPECIAL_KEYS) + 1


def test_sse_kms_with_key_id_and_glacier_ir(buckets, backup):
    s3 = buckets
    s3.put_object(Bucket=SRC, Key="documents/secret.txt", Body=b"top secret", Metadata={"a": "b"})
    key_id = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    env = {"S3_SSE": "aws:kms", "S3_SSE_KMS_KEY_ID": key_id, "S3_STORAGE_CLASS": "GLACIER_IR"}
    done, _ = backup(env)
    assert done["counts"]["s3_objects_copied"] == 1
    h = s3.head_object(Bucket=DOCS, Key="documents/secret.txt")
    assert h["ServerSideEncryption"] == "aws:kms" and h["SSEKMSKeyId"] == key_id
    assert h["StorageClass"] == "GLACIER_IR" and h["Metadata"] == {"a": "b"}
    done, _ = backup(env)
    assert done["counts"]["s3_objects_copied"] == 0


def test_routes_longest_prefix_and_dest_prefix(buckets, backup):
    s3 = buckets
    s3.create_bucket(Bucket="sv-vault")
    for key in ("documents/a.txt", "documents/private/b.txt", "documents/private/deep/c.txt", "misc/d"):
        s3.put_object(Bucket=SRC, Key=key, Body=key.encode())
    env = {"SRC_BUCKET": "", "DOC_DEST": "", "PHOTO_DEST": "", "DB_DEST": "", "S3_SOURCE_BUCKET": SRC,
           "S3_ROUTES": f"documents/={DOCS},documents/private/=sv-vault", "S3_DEST_PREFIX": "backup/2026/"}
    done, evs = backup(env)
    assert done["counts"]["s3_objects_copied"] == 3 and done["counts"]["s3_skipped"] == 1
    assert set(all_keys(s3, DOCS)) == {"backup/2026/documents/a.txt"}
    assert set(all_keys(s3, "sv-vault")) == {"backup/2026/documents/private/b.txt",
                                             "backup/2026/documents/private/deep/c.txt"}
    scopes = {(e["bucket"], e["prefix"]) for e in of(evs, "s3.listed") if not e["source"]}
    assert scopes == {(DOCS, "backup/2026/documents/"), ("sv-vault", "backup/2026/documents/private/")}
    done, _ = backup(env)
    assert done["counts"]["s3_objects_copied"] == 0 and done["counts"]["s3_unchanged"] == 3


# Keys that sort around route boundaries: '-' (0x2D) and '.' (0x2E) sort before '/' (0x2F), '0' after it; bytes
# >= 0x80 (UTF-8 of é, 日, 😀) sort after every ASCII byte and after DEL (0x7F).
BOUNDARY_KEYS = [
    "a", "a-1", "a.txt", "a/", "a/!", "a/-", "a/0", "a/a", "a/b", "a/b-", "a/b.", "a/b/", "a/b/0", "a/b/x",
    "a/b/x/", "a/b/x/1", "a/b/x0", "a/b/y", "a/b0", "a/c", "a/\x7f", "a/é", "a/éa", "a/日本", "a/😀", "a0",
    "a0/1", "a0/é/ü", "ab/1", "b", "é/1", "é/ü", "éa/1", "日/x",
]
# a/ -> DOCS, with a/b/ -> PICS inside it (a scope of its own) and a/b/x/ -> DOCS (covered by a/'s scope);
# a0/ and é/ -> DB. Everything else is unrouted.
BOUNDARY_ROUTES = f"a/={DOCS},a/b/={PICS},a/b/x/={DOCS},a0/={DB},é/={DB}"


def boundary_route(key):
    best = None
    for prefix, bucket in (r.split("=") for r in BOUNDARY_ROUTES.split(",")):
        if key.startswith(prefix) and (best is None or len(prefix) > len(best[0])):
            best = (prefix, bucket)
    return best[1] if best else None


def test_merge_interleaved_routes_boundaries_dest_prefix_high_bytes_and_extra_keys(buckets, backup):
    s3 = buckets
    put_many(s3, SRC, {k: f"v1 {k}".encode() for k in BOUNDARY_KEYS})
    # The destinations already hold keys of their own, interleaved with the copies to come (kept, never copies
    # of anything), and keys without the destination prefix (outside every scope).
    extras = {DOCS: ["bk/a/ 0", "bk/a/a0", "bk/a/b/0", "bk/a/b/x/0", "bk/a/bz", "bk/a/é0", "bk/a/😀/z", "a/a", "bk/a"],
              PICS: ["bk/a/b/!", "bk/a/b/x00", "bk/a/b/zz"],
              DB: ["bk/a0/0", "bk/é/0", "bk/é/üü", "bk/éa/1"]}
    for bucket, keys in extras.items():
        put_many(s3, bucket, {k: b"extra" for k in keys})
    env = {"SRC_BUCKET": "", "DOC_DEST": "", "PHOTO_DEST": "", "DB_DEST": "", "S3_SOURCE_BUCKET": SRC,
           "S3_ROUTES": BOUNDARY_ROUTES, "S3_DEST_PREFIX": "bk/"}
    routed = {k: boundary_route(k) for k in BOUNDARY_KEYS if boundary_route(k)}
    assert len(routed) == 26 and len(set(routed.values())) == 3

    done, evs = backup(env)
    c = done["counts"]
    assert c["s3_objects_seen"] == len(BOUNDARY_KEYS) and c["s3_objects_copied"] == len(routed)
    assert c["s3_skipped"] == len(BOUNDARY_KEYS) - len(routed) and c["s3_failed"] == 0
    for bucket in (DOCS, PICS, DB):
        want = {"bk/" + k for k, b in routed.items() if b == bucket} | set(extras[bucket])
        assert set(all_keys(s3, bucket)) == want, bucket
    for k, b in routed.items():
        assert body(s3, b, "bk/" + k) == f"v1 {k}".encode(), k
    assert all(body(s3, b, k) == b"extra" for b, keys in extras.items() for k in keys)
    plan = of(evs, "s3.plan")[0]
    assert plan["routed"] == len(routed) and plan["unrouted"] == len(BOUNDARY_KEYS) - len(routed)
    assert plan["extra_in_destination"] >= 10

    # Nothing changed: nothing copied, every routed key found in its scope despite the extras around it.
    done, _ = backup(env)
    assert done["counts"]["s3_objects_copied"] == 0 and done["counts"]["s3_unchanged"] == len(routed)
    assert set(s3_calls(done)) <= LIST_OPS

    # Change keys on both sides of each boundary and add new ones between existing keys: exactly those copied.
    wait_next_second()
    changed = {"a/b/x/1": b"v2 longer", "a/b/x": b"v2 pics", "a/\x7f": b"v2 del", "a/éa": b"v2 e-acute",
               "a/😀": b"v2 emoji", "é/ü": b"v2 db", "a/b/": b"v2 dir"}
    added = {"a/b/x/0a": b"new docs", "a/b0a": b"new docs 2", "a/é1": b"new high", "a0/é/ü0": b"new db"}
    put_many(s3, SRC, {**changed, **added})
    done, evs = backup(env)
    assert done["counts"]["s3_objects_copied"] == len(changed) + len(added)
    assert {e["key"] for e in of(evs, "s3.copied")} == {"bk/" + k for k in {**changed, **added}}
    for k, v in {**changed, **added}.items():
        assert body(s3, boundary_route(k), "bk/" + k) == v, k


def test_dry_run_lists_and_plans_but_copies_nothing(buckets, backup):
    s3 = buckets
    put_many(s3, SRC, {f"documents/{i}": b"x" for i in range(20)} | {"photos/p": b"y", "misc/z": b"z"})
    done, evs = backup({"DRY_RUN": "true"})
    assert set(s3_calls(done)) <= LIST_OPS, done["api_calls"]
    plans = of(evs, "plan.s3_copy")
    assert len(plans) == 21 and {p["reason"] for p in plans} == {"missing"}
    assert of(evs, "s3.copied") == []
    assert all_keys(s3, DOCS) == {} and all_keys(s3, PICS) == {}


# ---- multipart ------------------------------------------------------------------------------------------------

MiB = 1024 * 1024


def test_large_objects_are_copied_with_upload_part_copy_byte_identical(buckets, backup, proxy):
    s3 = buckets
    big = os.urandom(12 * MiB + 17)  # 3 parts of 5 MiB (the last 2 MiB + 17 bytes)
    exact = os.urandom(5 * MiB)  # exactly the threshold: multipart, one part
    below = os.urandom(5 * MiB - 1)  # one byte below: CopyObject
    s3.put_object(Bucket=SRC, Key="database/big dump+1.bin", Body=big, ContentType="application/x-dump",
                  Metadata={"checksum": hashlib.sha256(big).hexdigest()}, CacheControl="no-store",
                  Tagging="team=data%20eng&tier=gold")
    s3.put_object(Bucket=SRC, Key="photos/exact.raw", Body=exact)
    s3.put_object(Bucket=SRC, Key="photos/below.raw", Body=below)
    env = {"S3_MULTIPART_THRESHOLD": "5MiB", "S3_PART_SIZE": "5MiB", "S3_STORAGE_CLASS": "STANDARD_IA"}
    done, evs = backup(env)
    assert done["counts"]["s3_objects_copied"] == 3 and done["counts"]["s3_failed"] == 0
    assert api(done, "UploadPartCopy") == 4 and api(done, "CreateMultipartUpload") == 2
    assert api(done, "CompleteMultipartUpload") == 2 and api(done, "HeadObject") == 2
    assert api(done, "GetObjectTagging") == 1  # only the tagged one
    assert api(done, "CopyObject") == 1
    parts = [e for e in proxy.log if e["method"] == "PUT" and "partNumber=" in e["query"]]
    assert len(parts) == 4  # counted where they arrive, too
    assert body(s3, DB, "database/big dump+1.bin") == big
    assert body(s3, PICS, "photos/exact.raw") == exact and body(s3, PICS, "photos/below.raw") == below
    h = s3.head_object(Bucket=DB, Key="database/big dump+1.bin")
    assert h["ContentType"] == "application/x-dump" and h["CacheControl"] == "no-store"
    assert h["Metadata"] == {"checksum": hashlib.sha256(big).hexdigest()}
    assert h["StorageClass"] == "STANDARD_IA" and h["ServerSideEncryption"] == "AES256"
    tags = s3.get_object_tagging(Bucket=DB, Key="database/big dump+1.bin")["TagSet"]
    assert sorted((t["Key"], t["Value"]) for t in tags) == [("team", "data eng"), ("tier", "gold")]
    methods = {e["key"]: (e["method"], e["parts"]) for e in of(evs, "s3.copied")}
    assert methods["database/big dump+1.bin"] == ("UploadPartCopy", 3)
    assert methods["photos/exact.raw"] == ("UploadPartCopy", 1)
    assert methods["photos/below.raw"] == ("CopyObject", 0)
    assert in_flight_uploads(s3, DOCS, PICS, DB) == {}
    # Multipart copies have "-N" ETags: the second run decides by size and LastModified, and copies nothing.
    done, _ = backup(env)
    assert done["counts"]["s3_objects_copied"] == 0 and set(s3_calls(done)) <= LIST_OPS


def test_failed_part_aborts_the_upload_and_other_objects_still_copy(buckets, backup):
    s3 = buckets
    big = os.urandom(11 * MiB)
    s3.put_object(Bucket=SRC, Key="database/big.bin", Body=big)
    put_many(s3, SRC, {f"documents/{i}.txt": b"d" for i in range(30)})
    # Part 2 always fails (a non-retryable error): that object fails, its upload is aborted, the rest is copied.
    rule = Rule("error", status=403, shape="s3", code="AccessDenied", method="PUT", query="partNumber=2")
    env = {"S3_MULTIPART_THRESHOLD": "5MiB", "S3_PART_SIZE": "5MiB"}
    done, evs = backup(env, expect=1, rules=[rule])
    c = done["counts"]
    assert c["s3_failed"] == 1 and c["s3_objects_copied"] == 30 and done["outcome"] == "partial"
    assert api(done, "AbortMultipartUpload") == 1 and api(done, "CompleteMultipartUpload") == 0
    failed = of(evs, "s3.failed")
    assert len(failed) == 1 and failed[0]["key"] == "database/big.bin" and failed[0]["aws_code"] == "AccessDenied"
    assert of(evs, "s3.upload_aborted")[0]["reason"] == "copy failed"
    assert in_flight_uploads(s3, DB) == {}
    assert "database/big.bin" not in all_keys(s3, DB)
    # The next run (fault gone) copies it.
    done, _ = backup(env)
    assert done["counts"]["s3_objects_copied"] == 1 and body(s3, DB, "database/big.bin") == big


# moto 5.1.1 lists every incomplete upload with the same fixed Initiated date (2010-11-10T20:48:33Z): the
# cycle's "now" (SMARTVAULT_NOW) is placed relative to that date.
MOTO_INITIATED = datetime.datetime(2010, 11, 10, 20, 48, 33, tzinfo=datetime.timezone.utc)


def rfc3339(t):
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_abandoned_uploads_in_scope_are_aborted_whatever_their_age(buckets, backup):
    s3 = buckets
    mine = s3.create_multipart_upload(Bucket=DOCS, Key="documents/interrupted.bin")["UploadId"]
    foreign = s3.create_multipart_upload(Bucket=DOCS, Key="elsewhere/not-ours.bin")["UploadId"]
    s3.put_object(Bucket=SRC, Key="documents/a.txt", Body=b"a")
    # Initiated after this run started (as if by another live run, or a clock behind S3's): kept.
    before = MOTO_INITIATED - datetime.timedelta(seconds=1)
    done, evs = backup({"SMARTVAULT_NOW": rfc3339(before)})
    assert api(done, "AbortMultipartUpload") == 0 and of(evs, "s3.plan")[0]["stale_uploads"] == 0
    # A dry run says what it would abort, and does not.
    done, evs = backup({"DRY_RUN": "true"})
    assert [e["upload_id"] for e in of(evs, "plan.s3_abort")] == [mine] and api(done, "AbortMultipartUpload") == 0
    # Initiated in the very second this run started (a run killed and started again at once): aborted.
    done, evs = backup({"SMARTVAULT_NOW": rfc3339(MOTO_INITIATED)})
    assert api(done, "AbortMultipartUpload") == 1
    aborted = of(evs, "s3.upload_aborted")
    assert [(e["key"], e["upload_id"], e["reason"]) for e in aborted] == [
        ("documents/interrupted.bin", mine, "abandoned by an earlier run")]
    left = s3.list_multipart_uploads(Bucket=DOCS).get("Uploads", [])
    assert [(u["Key"], u["UploadId"]) for u in left] == [("elsewhere/not-ours.bin", foreign)]


# ---- stopped and killed mid-copy (issue 11, items 1 and 2, for S3) ----------------------------------------------

def child_pid(pid):
    """The one child of `pid` (the binary under `unshare --pid --fork`), waiting for it to appear."""
    for _ in range(100):
        try:
            kids = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        except OSError:
            kids = []
        if kids:
            return int(kids[0])
        time.sleep(0.05)
    raise AssertionError("no child process")


def start_mid_multipart(smartvault, aws_env, proxy, s3, pid1):
    """Starts a backup of three 11 MiB objects (3 parts each) with every part copy slowed to 1.5 s, and returns
    (process, pid to signal) once the first part copy is on its way."""
    for i in range(3):
        s3.put_object(Bucket=SRC, Key=f"database/big-{i}.bin", Body=os.urandom(11 * MiB))
    s3.put_object(Bucket=SRC, Key="documents/small.txt", Body=b"s")
    proxy.add(Rule("forward", method="PUT", query="partNumber=", delay=1.5))
    env = {**aws_env, **SEED_ENV, "AWS_ENDPOINT_URL": proxy.url, "S3_MULTIPART_THRESHOLD": "5MiB",
           "S3_PART_SIZE": "5MiB"}
    argv = (["unshare", "--pid", "--fork"] if pid1 else []) + [smartvault, "run"]
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not any("partNumber=" in e["query"] for e in list(proxy.log)):
        assert time.monotonic() < deadline and proc.poll() is None, "no part copy started"
        time.sleep(0.05)
    return proc, child_pid(proc.pid) if pid1 else proc.pid


@pytest.mark.parametrize("pid1", [False, True], ids=["plain", "pid1"])
def test_sigterm_mid_multipart_copy_aborts_this_runs_uploads(buckets, smartvault, aws_env, proxy, pid1):
    s3 = buckets
    proc, pid = start_mid_multipart(smartvault, aws_env, proxy, s3, pid1)
    assert s3.list_multipart_uploads(Bucket=DB).get("Uploads")  # open now
    t0 = time.monotonic()
    os.kill(pid, signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    took = time.monotonic() - t0
    evs = events(out)
    assert evs and evs[-1]["event"] == "cycle.done", out[-3000:] + err
    stopping = of(evs, "s3.stopping")
    assert len(stopping) == 1 and stopping[0]["reason"] == "signal", out[-3000:]
    # Every upload this run opened is aborted; none is left open; none was completed after the signal.
    assert in_flight_uploads(s3, DOCS, PICS, DB) == {}
    aborted = of(evs, "s3.upload_aborted")
    assert aborted and {e["reason"] for e in aborted} == {"copy interrupted by a stop request"}
    assert not [k for k in all_keys(s3, DB) if k.startswith("database/big-")]
    # The parts in flight finish (1.5 s each here), then only aborts go out.
    assert took < 15, took
    # The one rule for work a stop cancelled: each aborted copy is deferred once, not failed; exit 4 (a signal).
    c = evs[-1]["counts"]
    assert proc.returncode == 4 and c["s3_failed"] == 0 and c["failures"] == 0, (proc.returncode, c)
    assert c["deferred"] == len(of(evs, "s3.deferred")) >= len(aborted), c
    print(f"SIGTERM mid-multipart ({'PID 1' if pid1 else 'plain'}): exit {proc.returncode} after {took:.1f} s, "
          f"{len(aborted)} uploads aborted, outcome {evs[-1].get('outcome')}")


def test_sigkill_mid_multipart_then_immediate_rerun_leaves_no_upload(buckets, smartvault, aws_env, proxy, backup):
    s3 = buckets
    proc, pid = start_mid_multipart(smartvault, aws_env, proxy, s3, False)
    os.kill(pid, signal.SIGKILL)
    proc.communicate(timeout=30)
    left = s3.list_multipart_uploads(Bucket=DB).get("Uploads", [])
    assert left, "the kill left no open upload: the test proves nothing"
    # At once: the re-run aborts the killed run's uploads (initiated before it started) and copies everything.
    done, evs = backup()
    assert {e["upload_id"] for e in of(evs, "s3.upload_aborted")} >= {u["UploadId"] for u in left}
    assert in_flight_uploads(s3, DOCS, PICS, DB) == {}
    assert done["counts"]["s3_failed"] == 0
    assert {k for k in all_keys(s3, DB)} == {f"database/big-{i}.bin" for i in range(3)}


# ---- faults ---------------------------------------------------------------------------------------------------

def test_throttling_resets_and_200_errors_lose_nothing_and_leave_no_upload(buckets, backup):
    s3 = buckets
    small = {f"documents/t/{i:03d}.txt": f"t{i}".encode() for i in range(120)}
    put_many(s3, SRC, small)
    bigs = {f"photos/big-{i}.bin": os.urandom(11 * MiB + i) for i in range(2)}
    put_many(s3, SRC, bigs, threads=2)
    error_200 = (b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>InternalError</Code>'
                 b"<Message>We encountered an internal error. Please try again.</Message></Error>")
    rules = [
        # Faults on first attempts only, so the default 3 attempts always suffice.
        Rule("throttle", shape="s3", method="GET", query="list-type=2", where=first_attempt, count=2),
        Rule("throttle", shape="s3", where=lambda r: first_attempt(r) and is_copy_object(r), probability=0.2,
             seed=1),
        Rule("reset", where=lambda r: first_attempt(r) and is_copy_object(r), probability=0.1, seed=2),
        Rule("reset_after_headers", where=lambda r: first_attempt(r) and is_copy_object(r), probability=0.05,
             seed=3),
        Rule("error", status=200, content=error_200, where=lambda r: first_attempt(r) and is_copy_object(r),
             probability=0.1, seed=4),
        Rule("throttle", shape="s3", where=lambda r: first_attempt(r) and is_upload_part_copy(r), count=1),
        Rule("reset", where=lambda r: first_attempt(r) and is_upload_part_copy(r), count=1),
        Rule("reset_after_headers", where=lambda r: first_attempt(r) and is_upload_part_copy(r), count=1),
        Rule("error", status=200, content=error_200, where=lambda r: first_attempt(r) and is_upload_part_copy(r),
             count=1),
        Rule("error", status=200, content=error_200, method="POST", query="uploadId=", where=first_attempt, count=1),
        Rule("throttle", shape="s3", method="POST", query="uploads", where=first_attempt, count=1),
    ]
    env = {"S3_MULTIPART_THRESHOLD": "5MiB", "S3_PART_SIZE": "5MiB"}
    done, evs = backup(env, rules=rules)
    c = done["counts"]
    assert c["s3_failed"] == 0 and c["s3_objects_copied"] == 122
    assert done["retries"] >= 10 and done["throttles"] >= 4, done
    assert sum(r.fired for r in rules) >= 10
    assert all(r.fired >= 1 for r in rules[5:]), [(r.action, r.fired) for r in rules]
    assert {k: body(s3, DOCS, k) for k in small} == small
    for k, v in bigs.items():
        assert body(s3, PICS, k) == v
    assert in_flight_uploads(s3, DOCS, PICS, DB) == {}


def test_slowdown_on_one_prefix_paces_that_prefix_only(buckets, backup, proxy):
    s3 = buckets
    put_many(s3, SRC, {f"documents/d{i:02d}.txt": b"d" for i in range(40)})
    put_many(s3, SRC, {f"photos/p{i:02d}.jpg": b"p" for i in range(12)})
    # The photos prefix answers SlowDown to its first 4 copies (as S3 does for one hot partition).
    rule = Rule("throttle", shape="s3", method="PUT", path=f"/{PICS}/", count=4)
    done, evs = backup(rules=[rule])
    c = done["counts"]
    assert c["s3_objects_copied"] == 52 and c["s3_failed"] == 0
    paced = of(evs, "s3.prefix_paced")
    assert [e["prefix"] for e in paced] == ["photos/"] and paced[0]["throttled_attempts"] >= 1
    print(f"SlowDown on photos/: cycle {done['wall_ms']} ms")
    # Only the photos copies were throttled and retried; every documents copy went out once.
    docs = [e["path"] for e in proxy.log if e["method"] == "PUT" and e["path"].startswith(f"/{DOCS}/")]
    pics = [e["path"] for e in proxy.log if e["method"] == "PUT" and e["path"].startswith(f"/{PICS}/")]
    assert len(docs) == len(set(docs)) == 40 and len(pics) == 12 + 4


def test_persistent_errors_fail_only_their_objects(buckets, backup):
    s3 = buckets
    put_many(s3, SRC, {f"documents/{i}.txt": b"x" for i in range(10)} | {"photos/denied.jpg": b"p"})
    rules = [Rule("error", status=403, shape="s3", code="AccessDenied", method="PUT", path="/photos/denied.jpg")]
    done, evs = backup(expect=1, rules=rules)
    c = done["counts"]
    assert c["s3_failed"] == 1 and c["s3_objects_copied"] == 10
    f = of(evs, "s3.failed")[0]
    assert (f["bucket"], f["key"], f["aws_code"], f["step"]) == (PICS, "photos/denied.jpg", "AccessDenied",
                                                                   "CopyObject")


def test_source_deleted_between_listing_and_copy_is_skipped_not_failed(buckets, backup):
    s3 = buckets
    put_many(s3, SRC, {"documents/stays.txt": b"s", "documents/goes.txt": b"g"})
    body_404, ctype = aws_error_body("s3", "NoSuchKey", "The specified key does not exist.")
    rules = [Rule(lambda req: Response(404, body_404, content_type=ctype) if "goes.txt" in req.path and
                  is_copy_object(req) else None)]
    done, evs = backup(rules=rules)
    c = done["counts"]
    assert c["s3_objects_copied"] == 1 and c["s3_failed"] == 0 and c["s3_skipped"] == 1
    assert [e["key"] for e in of(evs, "s3.source_gone")] == ["documents/goes.txt"]


def test_missing_destination_bucket_fails_its_route_only(s3, backup):
    for b in (SRC, DOCS, DB):  # no photos bucket
        s3.create_bucket(Bucket=b)
    put_many(s3, SRC, {"documents/a": b"a", "photos/b": b"b", "database/c": b"c"})
    done, evs = backup(expect=1)
    c = done["counts"]
    assert c["s3_failed"] == 1 and c["s3_objects_copied"] == 2
    f = of(evs, "s3.failed")[0]
    assert (f["bucket"], f["step"], f["aws_code"]) == (PICS, "ListObjectsV2", "NoSuchBucket")
    assert of(evs, "s3.plan")[0]["waiting"] == 1


def test_bucket_in_another_region_is_followed_once(buckets, backup, proxy):
    s3 = buckets
    s3.put_object(Bucket=SRC, Key="photos/x.jpg", Body=b"x")
    redirect, ctype = aws_error_body("s3", "PermanentRedirect", "The bucket you are attempting to access must be "
                                                                 "addressed using the specified endpoint.")

    def moved(req):
        auth = req.headers.get("Authorization") or ""
        if req.path.startswith(f"/{PICS}") and "/us-east-1/s3/" in auth:
            return Response(301, redirect, headers=[("x-amz-bucket-region", "eu-west-1")], content_type=ctype)
        return None

    done, evs = backup(rules=[Rule(moved)])
    assert done["counts"]["s3_objects_copied"] == 1
    assert of(evs, "s3.bucket_region") == [of(evs, "s3.bucket_region")[0]]
    assert of(evs, "s3.bucket_region")[0]["region"] == "eu-west-1"
    # Every request to the photos bucket after the redirect is signed for eu-west-1.
    # (The upload listing comes first and learns the region; the object listing is signed for it at once.)
    statuses = [e["status"] for e in proxy.log if e["path"].startswith(f"/{PICS}")]
    assert statuses[0] == 301 and all(s < 300 for s in statuses[1:]), statuses


def test_unreadable_source_fails_the_job(buckets, backup):
    rules = [Rule("error", status=403, shape="s3", code="AccessDenied", method="GET", path=f"/{SRC}")]
    done, evs = backup(expect=1, rules=rules)
    assert done["outcome"] == "partial" and done["counts"]["s3_failed"] == 1
    assert of(evs, "s3.failed")[0]["aws_code"] == "AccessDenied"


def test_unreachable_endpoint_with_s3_only_could_not_start(run_smartvault):
    env = dict(SEED_ENV)
    env.update({"AWS_ENDPOINT_URL": "http://127.0.0.1:9", "AWS_MAX_ATTEMPTS": "1"})
    proc = run_smartvault(["run"], extra_env=env)
    assert proc.returncode == 3, proc.stdout + proc.stderr


def test_unlisted_uploads_only_skip_the_cleanup(buckets, backup):
    s3 = buckets
    s3.put_object(Bucket=SRC, Key="documents/a.txt", Body=b"a")
    rules = [Rule("error", status=403, shape="s3", code="AccessDenied", method="GET", query="uploads")]
    done, evs = backup(rules=rules)
    assert done["counts"]["s3_objects_copied"] == 1 and done["counts"]["s3_failed"] == 0
    assert len(of(evs, "s3.uploads_unlisted")) == 3


def test_s3_job_runs_when_the_ebs_job_fails_and_vice_versa(buckets, backup):
    s3 = buckets
    s3.put_object(Bucket=SRC, Key="photos/p.jpg", Body=b"p")
    # EBS discovery denied: the S3 job still copies; the cycle is partial (exit 1).
    rules = [Rule("error", status=403, shape="ec2", code="UnauthorizedOperation", body="Action=DescribeInstances")]
    done, evs = backup({"EBS_BACKUP": "true"}, expect=1, rules=rules)
    assert done["counts"]["s3_objects_copied"] == 1 and done["counts"]["failures"] >= 1
    assert of(evs, "cycle.start")[0]["ebs"] is True and of(evs, "cycle.start")[0]["s3"] is True
    # The S3 source denied: the EBS job has run all the same.
    s3.put_object(Bucket=SRC, Key="photos/q.jpg", Body=b"q")
    rules = [Rule("error", status=403, shape="s3", code="AccessDenied", method="GET", path=f"/{SRC}")]
    done, evs = backup({"EBS_BACKUP": "true"}, expect=1, rules=rules)
    assert "DescribeInstances" in done["api_calls"] and done["counts"]["s3_failed"] == 1


# Keys of one flat folder (no '/' below photos/) around the StartAfter boundaries its listing is cut at: pages of
# 1,000 end at photos/0999 and photos/1998, so the ranges are cut at photos/1 and photos/2 (each range ends at its
# boundary, inclusive, and the next starts after it). Keys equal to a boundary, just after one, and with bytes
# >= 0x80 (after every ASCII key) must each be merged exactly once.
FLAT_SPECIAL = ["photos/1", "photos/1 ", "photos/1!", "photos/2", "photos/2 ", "photos/2é", "photos/2\x7f",
                "photos/8é", "photos/9日", "photos/\x7f", "photos/é", "photos/éa", "photos/😀", "photos/😀😀"]


def test_flat_folder_split_in_startafter_ranges_merges_every_key_once(buckets, backup):
    s3 = buckets
    keys = [f"photos/{i:04d}" for i in range(2200)] + FLAT_SPECIAL
    put_many(s3, SRC, {k: f"v1 {k}".encode() for k in keys}, threads=32)

    done, evs = backup(direct=True)
    c = done["counts"]
    assert c["s3_objects_seen"] == len(keys) and c["s3_objects_copied"] == len(keys) and c["s3_failed"] == 0
    assert sorted(e["key"] for e in of(evs, "s3.copied")) == sorted(keys)  # each once
    assert set(all_keys(s3, PICS)) == set(keys)
    src = [e for e in of(evs, "s3.listed") if e["source"]][0]
    assert src["split_ranges"] >= 2 and src["objects"] == len(keys)

    # Nothing changed: every key found in the destination, itself listed in StartAfter ranges.
    done, evs = backup(direct=True)
    assert done["counts"]["s3_objects_copied"] == 0 and done["counts"]["s3_unchanged"] == len(keys)
    dst = [e for e in of(evs, "s3.listed") if e["bucket"] == PICS][0]
    assert dst["split_ranges"] >= 2 and dst["objects"] == len(keys)
    assert of(evs, "s3.plan")[0]["extra_in_destination"] == 0

    # Keys at and around the boundaries changed: exactly those copied.
    wait_next_second()
    changed = {k: b"v2 " + k.encode() for k in ("photos/0999", "photos/1", "photos/1 ", "photos/1998", "photos/2",
                                                 "photos/2\x7f", "photos/é", "photos/😀😀")}
    put_many(s3, SRC, changed)
    done, evs = backup(direct=True)
    assert done["counts"]["s3_objects_copied"] == len(changed)
    assert {e["key"] for e in of(evs, "s3.copied")} == set(changed)
    for k, v in changed.items():
        assert body(s3, PICS, k) == v, k
