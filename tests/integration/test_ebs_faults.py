"""The EBS cycle where moto cannot go alone: faultproxy between the binary and moto (issue 4).

- pending snapshots (moto creates them completed): DescribeSnapshots answers rewritten for chosen ids;
- DescribeSnapshots paging (moto ignores MaxResults when filters are given): the proxy pages its answers;
- the copy limit, pending copies in the destination counting against it, ResourceLimitExceeded;
- CopySnapshot's PresignedUrl, captured on the wire and its SigV4 query signature checked independently;
- a snapshot backing an AMI (moto lets it be deleted): InvalidSnapshot.InUse answered by the proxy;
- AccessDenied for one instance (exit 1, the others still backed up);
- exit 2 (bad configuration: no request reaches the proxy) and exit 3 (no credentials, endpoint closed).
"""

import hashlib
import hmac
import re
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import ebs_fleet as fl  # noqa: E402
from conftest import TEST_SECRET_KEY, free_port  # noqa: E402
from faultproxy import FaultProxy, Response, Rule, mark_snapshots_pending  # noqa: E402

SRC, DST = "us-east-1", "us-west-2"


@pytest.fixture
def cycle(run_smartvault, proxy):
    """cycle(env additions, expect=0, rules=()) -> (cycle.done, stdout); rules are installed for this run only."""

    def run(extra=None, expect=0, rules=()):
        proxy.clear()
        for r in rules:
            proxy.add(r)
        env = {"AWS_ENDPOINT_URL": proxy.url}
        env.update(extra or {})
        proc = run_smartvault(["run"], extra_env=env)
        assert proc.returncode == expect, f"exit {proc.returncode}\nstdout:\n{proc.stdout[-4000:]}\n{proc.stderr}"
        return fl.done(proc.stdout), proc.stdout

    return run


def copies_by_source(ec2_dst):
    out = {}
    for k, s in fl.smartvault_snapshots(ec2_dst).items():
        out.setdefault(fl.tags_of(s)["SourceSnapshotId"], []).append(k)
    return out


# ---- pending snapshots -----------------------------------------------------------------------------------------


def test_pending_source_snapshot_is_deferred_never_copied_nor_deleted(ec2, ec2_dst, cycle):
    x = fl.launch(ec2, tags={"Backup": "true"}, volumes=2)[0]
    v0, v1 = fl.volumes_of(ec2, x)
    cycle()  # S1 of both volumes, no DR region yet
    snaps = fl.smartvault_snapshots(ec2)
    (p0,) = [k for k, s in snaps.items() if s["VolumeId"] == v0]
    (c1,) = [k for k, s in snaps.items() if s["VolumeId"] == v1]
    pending = Rule("rewrite", op="DescribeSnapshots", fn=mark_snapshots_pending({p0}))
    env = {"DEST_REGION": DST, "MIN_INTERVAL": "90d", "MIN_KEEP": "0", "RETENTION_DAYS": "7"}

    # Inside retention: the completed one is copied, the pending one deferred with that reason.
    d, out = cycle(env, rules=[pending])
    assert d["counts"]["snapshots_copied"] == 1
    assert set(copies_by_source(ec2_dst)) == {c1}
    (c1_copy,) = copies_by_source(ec2_dst)[c1]
    deferred = fl.of(out, "copy.deferred")
    assert [e["source_snapshot_id"] for e in deferred] == [p0]
    assert "pending" in deferred[0]["reason"]
    assert d["counts"]["failures"] == 0

    # Past retention (+10 d, MIN_KEEP=0): the completed snapshot and its copy go, the pending one stays, and an
    # expired snapshot is not copied any more.
    d, out = cycle({**env, "SMARTVAULT_NOW": fl.now_plus(days=10)}, rules=[pending])
    assert {(e["region"], e["snapshot_id"]) for e in fl.of(out, "snapshot.deleted")} == {(SRC, c1), (DST, c1_copy)}
    assert set(fl.smartvault_snapshots(ec2)) == {p0}
    assert fl.smartvault_snapshots(ec2_dst) == {}
    assert d["counts"]["snapshots_copied"] == 0 and "CopySnapshot" not in d["api_calls"]

    # Once completed, the same run deletes it.
    d, _ = cycle({**env, "SMARTVAULT_NOW": fl.now_plus(days=10)})
    assert fl.smartvault_snapshots(ec2) == {}


def test_wait_for_completion_is_bounded_by_its_setting(ec2, cycle):
    fl.launch(ec2, tags={"Backup": "true"}, volumes=1)
    # Every snapshot of this account stays pending: the wait must give up after WAIT_FOR_COMPLETION.
    always_pending = Rule("rewrite", op="DescribeSnapshots",
                          fn=lambda req, status, headers, body: (status, headers, body.replace(
                              b"<status>completed</status>", b"<status>pending</status>")))
    t0 = time.monotonic()
    d, out = cycle({"WAIT_FOR_COMPLETION": "2s"}, rules=[always_pending])
    took = time.monotonic() - t0
    assert d["counts"]["snapshots_created"] == 1
    assert fl.of(out, "ebs.wait_done")[0]["pending"] == 1
    assert took < 8, f"WAIT_FOR_COMPLETION=2s took {took:.1f} s"


# ---- snapshot listings longer than a page -------------------------------------------------------------------


def _split_items(xml):
    """(before the first item, [top-level <item>...</item> of snapshotSet], after the last item)."""
    start = xml.index(b"<snapshotSet>") + len(b"<snapshotSet>")
    end = xml.rindex(b"</snapshotSet>")
    items, depth, begin = [], 0, None
    for m in re.finditer(rb"<item>|</item>", xml[start:end]):
        if m.group() == b"<item>":
            if depth == 0:
                begin = m.start()
            depth += 1
        else:
            depth -= 1
            if depth == 0:
                items.append(xml[start + begin:start + m.end()])
    return xml[:start], items, xml[end:]


def paged_snapshots(moto_url, pages):
    """A proxy action answering DescribeSnapshots the way EC2 does with MaxResults: pages of MaxResults items and
    a nextToken (moto ignores MaxResults when filters are given). Each page served is appended to `pages`."""

    def answer(req):
        form = urllib.parse.parse_qsl(req.text(), keep_blank_values=True)
        params = dict(form)
        size, first = int(params.get("MaxResults", "1000")), int(params.get("NextToken", "0"))
        body = urllib.parse.urlencode([(k, v) for k, v in form if k not in ("MaxResults", "NextToken")]).encode()
        fwd = urllib.request.Request(moto_url + "/", data=body, headers={
            "Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
            "Authorization": req.headers.get("Authorization", "")})  # moto takes the region from it
        with urllib.request.urlopen(fwd, timeout=30) as r:
            head, items, tail = _split_items(r.read())
        page = items[first:first + size]
        more = first + size < len(items)
        token = f"<nextToken>{first + size}</nextToken>".encode() if more else b""
        pages.append((first, len(page), more))
        return Response(200, head + b"".join(page) + tail.replace(b"</snapshotSet>", b"</snapshotSet>" + token, 1),
                        content_type="text/xml;charset=UTF-8")

    return answer


def test_snapshot_listings_are_followed_to_the_last_page(moto, ec2, ec2_dst, cycle):
    for _ in range(6):
        fl.launch(ec2, tags={"Backup": "true"}, volumes=1)
    pages = []
    paging = Rule(paged_snapshots(moto.url, pages), op="DescribeSnapshots")
    env = {"DEST_REGION": DST, "EC2_PAGE_SIZE": "5"}

    d, out = cycle(env, rules=[paging])
    assert (d["counts"]["snapshots_created"], d["counts"]["snapshots_copied"]) == (6, 6)
    assert any(first > 0 for first, _, _ in pages), pages  # the re-list after creating took two pages
    assert fl.of(out, "ebs.discovered")[0]["pages"] == 2

    # Every page of both regions is read: nothing is due again, nothing is copied twice.
    pages.clear()
    d, _ = cycle(env, rules=[paging])
    assert (d["counts"]["snapshots_created"], d["counts"]["snapshots_copied"]) == (0, 0)
    assert sorted(pages) == [(0, 5, True), (0, 5, True), (5, 1, False), (5, 1, False)]

    time.sleep(1.1)
    d, _ = cycle({**env, "SMARTVAULT_NOW": fl.now_plus(hours=1)}, rules=[paging])
    assert (d["counts"]["snapshots_created"], d["counts"]["snapshots_copied"]) == (6, 6)
    newest = {k for k, s in fl.smartvault_snapshots(ec2).items()
              if k == fl.newest_first([t for t in fl.smartvault_snapshots(ec2).values()
                                       if t["VolumeId"] == s["VolumeId"]])[0]["SnapshotId"]}
    # Retention sees all 12 snapshots in each region (3 pages of 5): the 6 older ones go in both regions.
    d, _ = cycle({**env, "SMARTVAULT_NOW": fl.now_plus(days=30), "MIN_INTERVAL": "90d", "RETENTION_DAYS": "7"},
                 rules=[paging])
    assert d["counts"]["snapshots_deleted"] == 12
    assert set(fl.smartvault_snapshots(ec2)) == newest
    assert {fl.tags_of(s)["SourceSnapshotId"] for s in fl.smartvault_snapshots(ec2_dst).values()} == newest


# ---- copy limit ------------------------------------------------------------------------------------------------


def test_copy_limit_starts_exactly_that_many_and_later_cycles_backfill_once(ec2, ec2_dst, cycle):
    for _ in range(5):
        fl.launch(ec2, tags={"Backup": "true"}, volumes=1)
    env = {"DEST_REGION": DST, "COPY_LIMIT": "2", "COPY_WINDOW": "0s"}  # one round per run: no copy pump
    d, out = cycle(env)
    assert d["counts"]["snapshots_created"] == 5
    assert d["counts"]["snapshots_copied"] == 2 and d["api_calls"]["CopySnapshot"] == 2
    assert d["dr_backlog"] == 3
    plan = fl.of(out, "copy.plan")[-1]  # after creating (the first plan ran before the new snapshots existed)
    assert (plan["start"], plan["deferred"], plan["in_flight_before"]) == (2, 3, 0)
    deferred = fl.of(out, "copy.deferred")
    assert len(deferred) == 3 and all("limit" in e["reason"] for e in deferred), deferred
    src = fl.smartvault_snapshots(ec2)
    # The order of plan.h: newest first, then snapshot id (all five are the newest of their volume).
    assert set(copies_by_source(ec2_dst)) == {s["SnapshotId"] for s in fl.newest_first(src.values())[:2]}
    assert {e["source_snapshot_id"] for e in deferred} == set(src) - set(copies_by_source(ec2_dst))

    # moto's copies complete at once, so each later cycle has two free slots again: 2, then 1, then nothing.
    for want in (2, 1, 0):
        d, _ = cycle(env)
        assert d["counts"]["snapshots_created"] == 0
        assert d["counts"]["snapshots_copied"] == want
        assert d["api_calls"].get("CopySnapshot", 0) == want
    by_source = copies_by_source(ec2_dst)
    assert set(by_source) == set(src) and all(len(v) == 1 for v in by_source.values())


def test_copy_pump_keeps_the_slots_full_until_every_eligible_snapshot_is_copied(ec2, ec2_dst, cycle):
    for _ in range(5):
        fl.launch(ec2, tags={"Backup": "true"}, volumes=1)
    d, out = cycle({"DEST_REGION": DST, "COPY_LIMIT": "2"})  # default COPY_WINDOW: the pump runs
    assert d["counts"]["snapshots_created"] == 5 and d["counts"]["failures"] == 0
    assert d["counts"]["snapshots_copied"] == 5 and d["api_calls"]["CopySnapshot"] == 5
    assert all(p["start"] <= 2 for p in fl.of(out, "copy.plan"))  # never more than COPY_LIMIT at once
    assert len(fl.of(out, "copy.pump")) >= 2
    assert d["dr_backlog"] == 0 and d["dr_backlog_oldest_s"] == 0
    (backlog,) = fl.of(out, "copy.backlog")
    assert backlog["snapshots"] == 0
    by_source = copies_by_source(ec2_dst)
    assert set(by_source) == set(fl.smartvault_snapshots(ec2)) and all(len(v) == 1 for v in by_source.values())
    assert not fl.of(out, "copy.deferred")


def test_copy_pump_stops_at_the_window_and_reports_the_backlog(ec2, ec2_dst, cycle):
    for _ in range(3):
        fl.launch(ec2, tags={"Backup": "true"}, volumes=1)
    cycle({"DEST_REGION": DST})
    first_copies = sorted(fl.smartvault_snapshots(ec2_dst))
    stuck = Rule("rewrite", op="DescribeSnapshots", fn=mark_snapshots_pending(set(first_copies)))  # never complete
    time.sleep(1.1)
    t0 = time.monotonic()
    d, out = cycle({"DEST_REGION": DST, "COPY_LIMIT": "3", "COPY_WINDOW": "5s",
                    "SMARTVAULT_NOW": fl.now_plus(hours=1)}, rules=[stuck])
    assert 5 <= time.monotonic() - t0 < 40
    assert d["outcome"] == "ok" and d["counts"]["snapshots_copied"] == 0
    assert d["dr_backlog"] == 3 and 0 < d["dr_backlog_oldest_s"] < 7200
    assert len(fl.of(out, "copy.deferred")) == 3  # reported once, by the pump's last plan


def test_pending_copies_in_the_destination_count_against_the_limit(ec2, ec2_dst, cycle):
    for _ in range(3):
        fl.launch(ec2, tags={"Backup": "true"}, volumes=1)
    cycle({"DEST_REGION": DST})
    first_copies = sorted(fl.smartvault_snapshots(ec2_dst))
    assert len(first_copies) == 3
    in_flight = Rule("rewrite", op="DescribeSnapshots", fn=mark_snapshots_pending(set(first_copies[:2])))
    time.sleep(1.1)
    # An hour later three new snapshots are due for copying; two copies are still in flight, limit 3: one starts.
    d, out = cycle({"DEST_REGION": DST, "COPY_LIMIT": "3", "COPY_WINDOW": "0s", "SMARTVAULT_NOW": fl.now_plus(hours=1)},
                   rules=[in_flight])
    assert d["counts"]["snapshots_created"] == 3
    plan = fl.of(out, "copy.plan")[-1]
    assert (plan["in_flight_before"], plan["start"], plan["deferred"]) == (2, 1, 2)
    assert d["counts"]["snapshots_copied"] == 1 and d["api_calls"]["CopySnapshot"] == 1
    assert len(fl.of(out, "copy.deferred")) == 2
    # The pending copies are never deleted, even far past retention.
    d, _ = cycle({"DEST_REGION": DST, "MIN_KEEP": "0", "MIN_INTERVAL": "90d", "COPY_LIMIT": "3", "COPY_WINDOW": "0s",
                  "SMARTVAULT_NOW": fl.now_plus(days=100)}, rules=[in_flight])
    assert set(first_copies[:2]) <= set(fl.smartvault_snapshots(ec2_dst))


def test_resource_limit_exceeded_defers_the_copy_and_does_not_fail(ec2, ec2_dst, cycle):
    for _ in range(3):
        fl.launch(ec2, tags={"Backup": "true"}, volumes=1)
    cycle()  # snapshots, no DR region yet
    src = sorted(fl.smartvault_snapshots(ec2))
    quota = Rule("error", op="CopySnapshot", body=f"SourceSnapshotId={src[1]}&", status=400, shape="ec2",
                 code="ResourceLimitExceeded", message="You have exceeded the number of concurrent snapshot copies")
    d, out = cycle({"DEST_REGION": DST}, rules=[quota])
    assert d["outcome"] == "ok" and d["counts"]["failures"] == 0
    assert d["counts"]["snapshots_copied"] == 2
    assert set(copies_by_source(ec2_dst)) == {src[0], src[2]}
    deferred = fl.of(out, "copy.deferred")
    assert [e["source_snapshot_id"] for e in deferred] == [src[1]]
    assert "ResourceLimitExceeded" in deferred[0]["reason"]
    assert d["counts"]["skipped"] >= 1
    assert not fl.of(out, "ebs.failed")
    assert quota.matched == 1, "a quota error is not retried"

    d, _ = cycle({"DEST_REGION": DST})  # the next cycle copies it
    assert d["counts"]["snapshots_copied"] == 1
    assert set(copies_by_source(ec2_dst)) == set(src)


# ---- PresignedUrl ----------------------------------------------------------------------------------------------


def _q(s):
    return urllib.parse.quote(s, safe="-_.~")


def check_presigned_url(url, secret=TEST_SECRET_KEY):
    """Recomputes the SigV4 query signature of a presigned GET URL (an independent implementation) -> params."""
    u = urllib.parse.urlsplit(url)
    pairs = urllib.parse.parse_qsl(u.query, keep_blank_values=True, strict_parsing=True)
    params = dict(pairs)
    assert len(params) == len(pairs), "repeated query keys"
    signature = params.pop("X-Amz-Signature")
    canonical_query = "&".join(f"{_q(k)}={_q(v)}" for k, v in sorted(params.items()))
    canonical = "\n".join(["GET", u.path or "/", canonical_query, f"host:{u.netloc}", "", "host",
                           hashlib.sha256(b"").hexdigest()])
    key_id, date, region, service, term = params["X-Amz-Credential"].split("/")
    scope = f"{date}/{region}/{service}/{term}"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", params["X-Amz-Date"], scope,
                         hashlib.sha256(canonical.encode()).hexdigest()])
    k = ("AWS4" + secret).encode()
    for part in (date, region, service, term):
        k = hmac.new(k, part.encode(), hashlib.sha256).digest()
    assert hmac.new(k, to_sign.encode(), hashlib.sha256).hexdigest() == signature, "bad presigned signature"
    return params


def test_copy_sends_a_presigned_url_for_the_source_region_and_kms(ec2, ec2_dst, cycle, proxy):
    fl.launch(ec2, tags={"Backup": "true"}, volumes=2, name="db")
    cycle()
    src = set(fl.smartvault_snapshots(ec2))
    seen = []
    capture = Rule(lambda req: seen.append((req.text(), req.headers.get("Authorization", ""))), op="CopySnapshot")
    kms = "arn:aws:kms:us-west-2:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    d, _ = cycle({"DEST_REGION": DST, "KMS_KEY_ID": kms}, rules=[capture])
    assert d["counts"]["snapshots_copied"] == 2 and len(seen) == 2
    for body, auth in seen:
        form = dict(urllib.parse.parse_qsl(body, keep_blank_values=True))
        assert form["Action"] == "CopySnapshot"
        assert form["SourceRegion"] == SRC and form["SourceSnapshotId"] in src
        assert form["Encrypted"] == "true" and form["KmsKeyId"] == kms
        assert f"/{DST}/ec2/aws4_request" in auth  # the CopySnapshot call itself goes to the DR region
        url = form["PresignedUrl"]
        assert url.startswith(proxy.url + "/?")  # the source region's endpoint (AWS_ENDPOINT_URL here)
        p = check_presigned_url(url)
        assert p["Action"] == "CopySnapshot"
        assert p["SourceSnapshotId"] == form["SourceSnapshotId"]
        assert p["SourceRegion"] == SRC and p["DestinationRegion"] == DST
        assert p["X-Amz-Algorithm"] == "AWS4-HMAC-SHA256"
        assert p["X-Amz-Credential"].endswith(f"/{SRC}/ec2/aws4_request")
        assert p["X-Amz-SignedHeaders"] == "host"
        assert 0 < int(p["X-Amz-Expires"]) <= 7 * 86400
        assert "PresignedUrl" not in p
        assert p["Encrypted"] == "true" and p["KmsKeyId"] == kms
    for s in fl.smartvault_snapshots(ec2_dst).values():
        assert s["Encrypted"] is True and s["KmsKeyId"] == kms


# ---- InvalidSnapshot.InUse -------------------------------------------------------------------------------------


def test_snapshot_backing_an_ami_is_a_warning(ec2, cycle):
    a = fl.launch(ec2, tags={"Backup": "true"}, volumes=1)[0]
    b = fl.launch(ec2, tags={"Backup": "true"}, volumes=1)[0]
    cycle()
    first = fl.smartvault_snapshots(ec2)
    time.sleep(1.1)
    cycle({"SMARTVAULT_NOW": fl.now_plus(hours=1)})
    (ami_snap,) = [k for k, s in first.items() if fl.tags_of(s)["InstanceId"] == a]
    (b_old,) = [k for k, s in first.items() if fl.tags_of(s)["InstanceId"] == b]
    image = ec2.register_image(Name="from-backup", RootDeviceName="/dev/sda1",
                               BlockDeviceMappings=[{"DeviceName": "/dev/sda1", "Ebs": {"SnapshotId": ami_snap}}])
    in_use = Rule("error", op="DeleteSnapshot", body=f"SnapshotId={ami_snap}", status=400, shape="ec2",
                  code="InvalidSnapshot.InUse",
                  message=f"The snapshot {ami_snap} is currently in use by {image['ImageId']}")

    d, out = cycle({"SMARTVAULT_NOW": fl.now_plus(days=30), "MIN_INTERVAL": "90d"}, rules=[in_use])
    assert d["outcome"] == "ok" and d["counts"]["failures"] == 0
    warn = fl.of(out, "snapshot.in_use")
    assert [(w["snapshot_id"], w["aws_code"], w["level"]) for w in warn] == [
        (ami_snap, "InvalidSnapshot.InUse", "warn")]
    assert not fl.of(out, "ebs.failed")
    assert [e["snapshot_id"] for e in fl.of(out, "snapshot.deleted")] == [b_old]  # the other one still goes
    assert d["counts"]["snapshots_deleted"] == 1
    assert d["counts"]["skipped"] == 3  # two instances not due + the snapshot in use
    assert ami_snap in fl.smartvault_snapshots(ec2)
    assert in_use.matched == 1, "InvalidSnapshot.InUse is not retried"


# ---- throttling --------------------------------------------------------------------------------------------------


def test_throttled_calls_are_retried_without_duplicates(ec2, ec2_dst, cycle, proxy):
    for _ in range(4):
        fl.launch(ec2, tags={"Backup": "true"}, volumes=2)
    rules = [Rule("throttle", shape="ec2", op=op, count=2) for op in
             ("DescribeInstances", "CreateSnapshots", "DescribeSnapshots", "CopySnapshot")]
    d, out = cycle({"DEST_REGION": DST}, rules=rules)
    assert d["outcome"] == "ok" and d["counts"]["failures"] == 0
    assert d["counts"]["snapshots_created"] == 8 and d["counts"]["snapshots_copied"] == 8
    assert d["retries"] >= 8 and d["throttles"] >= 8, d
    assert proxy.count() == d["attempts"]
    assert len(fl.smartvault_snapshots(ec2)) == 8
    by_source = copies_by_source(ec2_dst)
    assert len(by_source) == 8 and all(len(v) == 1 for v in by_source.values())


# ---- exit codes ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("status,code", [(403, "UnauthorizedOperation"), (403, "AccessDenied")])
def test_access_denied_for_one_instance_fails_only_that_one(ec2, cycle, status, code):
    ids = [fl.launch(ec2, tags={"Backup": "true"}, volumes=2)[0] for _ in range(3)]
    denied = Rule("error", op="CreateSnapshots", body=f"InstanceId={ids[1]}&", status=status, shape="ec2",
                  code=code, message="You are not authorized to perform this operation.")
    d, out = cycle({}, expect=1, rules=[denied])
    assert d["outcome"] != "ok"
    assert d["counts"]["failures"] == 1
    assert d["counts"]["snapshots_created"] == 4
    assert {fl.tags_of(s)["InstanceId"] for s in fl.smartvault_snapshots(ec2).values()} == {ids[0], ids[2]}
    (failed,) = fl.of(out, "ebs.failed")
    assert failed["instance_id"] == ids[1] and failed["aws_code"] == code and failed["level"] == "error"
    assert failed["step"] == "CreateSnapshots"
    assert denied.matched == 1, "an authorization error is not retried"


def test_no_credentials_exits_3_before_any_request(run_smartvault, proxy, tmp_path):
    env = {"AWS_REGION": SRC, "AWS_ENDPOINT_URL": proxy.url, "AWS_EC2_METADATA_DISABLED": "true",
           "HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}
    proc = run_smartvault(["run"], env=env)
    assert proc.returncode == 3, proc.stdout + proc.stderr
    d = fl.done(proc.stdout)
    assert d["outcome"] == "could_not_start"
    assert [e["aws_code"] for e in fl.of(proc.stdout, "ebs.failed")] == ["creds"]
    assert proxy.count() == 0


def test_unreachable_endpoint_exits_3(run_smartvault, ec2):
    fl.launch(ec2, tags={"Backup": "true"})
    t0 = time.monotonic()
    proc = run_smartvault(["run"], extra_env={"AWS_ENDPOINT_URL": f"http://127.0.0.1:{free_port()}",
                                              "DEST_REGION": DST})
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert time.monotonic() - t0 < 30
    assert not fl.of(proc.stdout, "snapshot.created")


# ---- exit 2: bad configuration, nothing sent -------------------------------------------------------------------

BAD = [
    ("RETENTION_DAYS", "0"), ("RETENTION_DAYS", "-1"), ("RETENTION_DAYS", "7d"), ("RETENTION_DAYS", "36501"),
    ("DEST_RETENTION_DAYS", "0"), ("DEST_RETENTION_DAYS", "x"),
    ("MIN_KEEP", "-1"), ("MIN_KEEP", "1001"), ("MIN_KEEP", "one"),
    ("KEEP_DAILY", "-1"), ("KEEP_WEEKLY", "1.5"), ("KEEP_MONTHLY", "1001"),
    ("MIN_INTERVAL", "91d"), ("MIN_INTERVAL", "5x"), ("MIN_INTERVAL", "-30m"),
    ("BACKUP_TAG", "Backup"), ("BACKUP_TAG", "=true"), ("BACKUP_TAG", "Backup="),
    ("KMS_KEY_ID", "not a key"), ("KMS_KEY_ID", "alias/"), ("KMS_KEY_ID", "arn:aws:kms:us-west-2:123:key/abc"),
    ("WAIT_FOR_COMPLETION", "3h"), ("WAIT_FOR_COMPLETION", "soon"),
    ("MAX_CONCURRENCY", "0"), ("MAX_CONCURRENCY", "257"),
    ("COPY_LIMIT", "0"), ("COPY_LIMIT", "101"),
    ("EC2_PAGE_SIZE", "4"), ("EC2_PAGE_SIZE", "1001"),
    ("DEST_REGION", SRC), ("DEST_REGION", "US-WEST-2"), ("SOURCE_REGION", "useast1"),
    ("EBS_BACKUP", "maybe"), ("DRY_RUN", "perhaps"),
    ("SMARTVAULT_NOW", "2026-01-01"), ("SMARTVAULT_NOW", "tomorrow"),
    ("LOG_FORMAT", "xml"), ("LOG_LEVEL", "loud"),
    ("AWS_MAX_ATTEMPTS", "0"), ("AWS_RETRY_MODE", "eager"),
]


@pytest.fixture(scope="module")
def counting_proxy(moto_server):
    with FaultProxy(moto_server.url) as p:
        yield p


@pytest.mark.parametrize("var,value", BAD, ids=[f"{k}={v}" for k, v in BAD])
def test_bad_ebs_setting_exits_2_and_sends_nothing(run_smartvault, counting_proxy, var, value):
    before = counting_proxy.count()
    proc = run_smartvault(["run"], extra_env={"AWS_ENDPOINT_URL": counting_proxy.url, var: value})
    assert proc.returncode == 2, proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and var in lines[0], proc.stderr
    assert counting_proxy.count() == before, "a request reached the emulator"
