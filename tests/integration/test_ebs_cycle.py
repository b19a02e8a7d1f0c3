"""The EBS backup cycle end to end (issue 4): the real static binary against moto, results checked with boto3.

Every run goes through faultproxy (no faults: it only counts), so "what the binary says it called" (cycle.done
api_calls) is checked against "what reached the emulator".

moto creates snapshots `completed` with StartTime = its own clock (whole seconds), and SMARTVAULT_NOW moves only
SmartVault's clock. A history is therefore made of cycles run at the real time and at SMARTVAULT_NOW = now+1h
(due again, MIN_INTERVAL 30m), a second apart so StartTimes differ; retention is then looked at with
SMARTVAULT_NOW days ahead (and MIN_INTERVAL=90d when a run must not create anything new).

Fault cases (pending snapshots, InvalidSnapshot.InUse, quota errors, AccessDenied, bad config, exit 3) are in
test_ebs_faults.py.
"""

import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import ebs_fleet as fl  # noqa: E402
from faultproxy import Rule  # noqa: E402

SRC, DST = "us-east-1", "us-west-2"
MUTATING = ("CreateSnapshots", "CreateSnapshot", "CreateTags", "CopySnapshot", "DeleteSnapshot", "DeleteTags")


@pytest.fixture
def cycle(run_smartvault, proxy):
    """cycle(env additions, *args, expect=0, rules=()) -> (cycle.done, stdout), through the counting proxy."""

    def run(extra=None, *args, expect=0, rules=()):
        proxy.clear()
        for r in rules:
            proxy.add(r)
        env = {"AWS_ENDPOINT_URL": proxy.url}
        env.update(extra or {})
        proc = run_smartvault(["run", *args], extra_env=env)
        assert proc.returncode == expect, f"exit {proc.returncode}\nstdout:\n{proc.stdout[-4000:]}\n{proc.stderr}"
        d = fl.done(proc.stdout)
        # What the binary counted is what reached the emulator (every attempt; per operation when none retried).
        assert d["attempts"] == proxy.count(), (d, proxy.counts())
        if d["retries"] == 0:
            assert d["api_calls"] == proxy.counts(), (d["api_calls"], proxy.counts())
            assert d["api_calls_total"] == proxy.count()
        return d, proc.stdout

    return run


def ids(snaps):
    return set(snaps)


# --------------------------------------------------------------------------------------------------------------


def test_first_cycle_backs_up_exactly_the_tagged_fleet_with_one_call_per_instance(ec2, ec2_dst, cycle):
    fleet = {
        "web": fl.launch(ec2, tags={"Backup": "true"}, volumes=3, name="web")[0],
        "lower": fl.launch(ec2, tags={"backup": "true"}, volumes=1)[0],
        "upper": fl.launch(ec2, tags={"Backup": "TRUE"}, volumes=2, name="db")[0],
        "title": fl.launch(ec2, tags={"backup": "True"}, volumes=1)[0],
        "stopped": fl.launch(ec2, tags={"Backup": "true"}, volumes=2, name="batch")[0],
        # not backed up:
        "terminated": fl.launch(ec2, tags={"Backup": "true"}, volumes=1, name="gone")[0],
        "untagged": fl.launch(ec2, volumes=1)[0],
        "named": fl.launch(ec2, volumes=1, name="no-backup-tag")[0],
        "false": fl.launch(ec2, tags={"Backup": "false"}, volumes=1)[0],
        "yes": fl.launch(ec2, tags={"Backup": "yes"}, volumes=1)[0],
        "other_key": fl.launch(ec2, tags={"Backups": "true"}, volumes=1)[0],
    }
    ec2.stop_instances(InstanceIds=[fleet["stopped"]])
    ec2.terminate_instances(InstanceIds=[fleet["terminated"]])
    backed = {k: fleet[k] for k in ("web", "lower", "upper", "title", "stopped")}
    vols = {k: fl.volumes_of(ec2, i) for k, i in backed.items()}
    names = {"web": "web", "upper": "db", "stopped": "batch"}

    d, out = cycle({"DEST_REGION": DST, "KMS_KEY_ID": "alias/smartvault-dr"})
    c = d["counts"]
    assert c["instances_seen"] == 5
    assert c["snapshots_created"] == 9
    assert c["snapshots_copied"] == 9
    assert c["snapshots_deleted"] == 0 and c["failures"] == 0 and c["skipped"] == 0
    assert d["outcome"] == "ok"
    # One CreateSnapshots per instance (all its volumes, tags in the same call): no per-volume call. CreateTags
    # only adds SmartVault:Device, one call per distinct device name (/dev/sda1, /dev/sdf, /dev/sdg), not per snapshot.
    assert d["api_calls"]["CreateSnapshots"] == 5
    assert d["api_calls"]["DescribeInstances"] == 1
    assert "CreateSnapshot" not in d["api_calls"] and d["api_calls"]["CreateTags"] == 3
    assert d["api_calls"]["CopySnapshot"] == 9
    assert d["retries"] == 0

    start = fl.of(out, "cycle.start")[0]
    run_id, today = d["run_id"], start["ts"][:10]
    src = fl.smartvault_snapshots(ec2)
    assert len(src) == 9
    by_instance = {}
    for s in src.values():
        by_instance.setdefault(fl.tags_of(s)["InstanceId"], []).append(s)
    assert set(by_instance) == set(backed.values())
    for key, iid in backed.items():
        snaps = by_instance[iid]
        assert sorted(s["VolumeId"] for s in snaps) == sorted(vols[key]), key
        want = {"CreatedBy": "SmartVault", "InstanceId": iid, "CreatedOn": today, "SmartVault:RunId": run_id}
        if key in names:
            want["Name"] = names[key]
        devices = fl.describe(ec2, [iid])[iid]["BlockDeviceMappings"]
        device_of = {m["Ebs"]["VolumeId"]: m["DeviceName"] for m in devices if "Ebs" in m}
        for s in snaps:
            # SmartVault:Device is added after CreateSnapshots (one CreateTags per device name, for restores).
            assert fl.tags_of(s) == {**want, "SmartVault:Device": device_of[s["VolumeId"]]}, (key, s)
            assert s["State"] == "completed"

    created = fl.of(out, "snapshot.created")
    assert {e["snapshot_id"] for e in created} == ids(src)
    assert {e["device"] for e in created if e["instance_id"] == backed["web"]} == {"/dev/sda1", "/dev/sdf",
                                                                                   "/dev/sdg"}

    # Copies: one per source snapshot, encrypted with the key given, tags = source tags + the copy's own.
    dst = fl.smartvault_snapshots(ec2_dst)
    assert len(dst) == 9
    by_source = {fl.tags_of(s)["SourceSnapshotId"]: s for s in dst.values()}
    assert set(by_source) == ids(src)
    for sid, copy in by_source.items():
        s = src[sid]
        want = dict(fl.tags_of(s))
        want.update({"SourceSnapshotId": sid, "SourceRegion": SRC, "VolumeId": s["VolumeId"],
                     "SmartVault:RunId": run_id, "SmartVault:SourceRunId": fl.tags_of(s)["SmartVault:RunId"]})
        assert fl.tags_of(copy) == want
        assert copy["Encrypted"] is True
        assert copy["KmsKeyId"] == "alias/smartvault-dr"
    copied = fl.of(out, "snapshot.copied")
    assert {(e["source_snapshot_id"], e["snapshot_id"]) for e in copied} == \
        {(sid, c["SnapshotId"]) for sid, c in by_source.items()}
    assert all(e["encrypted"] is True for e in copied)


def test_backup_tag_override_selects_by_that_tag_only(ec2, cycle):
    prod = fl.launch(ec2, tags={"Env": "Prod"}, volumes=2)[0]
    prod_lower = fl.launch(ec2, tags={"Env": "prod"}, volumes=1)[0]
    fl.launch(ec2, tags={"Env": "dev"}, volumes=1)
    fl.launch(ec2, tags={"Backup": "true"}, volumes=1)

    d, _ = cycle({"BACKUP_TAG": "Env=prod"})
    assert d["counts"]["instances_seen"] == 2
    assert d["counts"]["snapshots_created"] == 3
    assert {fl.tags_of(s)["InstanceId"] for s in fl.smartvault_snapshots(ec2).values()} == {prod, prod_lower}


def test_empty_fleet_is_a_clean_no_op(ec2, cycle):
    fl.launch(ec2, volumes=1)
    d, _ = cycle({"DEST_REGION": DST})
    assert d["outcome"] == "ok"
    assert d["counts"]["instances_seen"] == 0
    assert not any(op in d["api_calls"] for op in MUTATING)
    assert fl.smartvault_snapshots(ec2) == {}


def test_more_instances_than_one_page_are_all_backed_up(ec2, cycle):
    # moto pages DescribeInstances by reservation: 12 RunInstances calls are 12 results, 3 pages of 5.
    tagged = [fl.launch(ec2, tags={("Backup" if i % 2 else "backup"): "true"}, volumes=1)[0] for i in range(12)]
    for _ in range(3):
        fl.launch(ec2, volumes=1)  # untagged reservations in between change nothing
    bodies = []
    capture = Rule(lambda req: bodies.append(req.text()), op="DescribeInstances")
    d, out = cycle({"EC2_PAGE_SIZE": "5"}, rules=[capture])
    assert d["counts"]["instances_seen"] == 12
    assert d["counts"]["snapshots_created"] == 12
    assert d["api_calls"]["DescribeInstances"] == 3
    assert fl.of(out, "ebs.discovered")[0]["pages"] == 3
    assert len(bodies) == 3
    assert all("MaxResults=5" in b for b in bodies)
    assert "NextToken=" not in bodies[0] and all("NextToken=" in b for b in bodies[1:])
    assert {fl.tags_of(s)["InstanceId"] for s in fl.smartvault_snapshots(ec2).values()} == set(tagged)


def test_second_cycle_creates_nothing_and_copies_nothing_twice(ec2, ec2_dst, cycle):
    a = fl.launch(ec2, tags={"Backup": "true"}, volumes=2, name="a")[0]
    b = fl.launch(ec2, tags={"backup": "true"}, volumes=1)[0]
    env = {"DEST_REGION": DST}

    d1, _ = cycle(env)
    assert (d1["counts"]["snapshots_created"], d1["counts"]["snapshots_copied"]) == (3, 3)
    src1, dst1 = fl.smartvault_snapshots(ec2), fl.smartvault_snapshots(ec2_dst)

    # Right after: not due (MIN_INTERVAL 30m), every snapshot already has its copy.
    d2, out2 = cycle(env)
    assert d2["outcome"] == "ok"
    assert d2["counts"]["snapshots_created"] == 0 and d2["counts"]["snapshots_copied"] == 0
    assert d2["counts"]["snapshots_deleted"] == 0
    assert d2["counts"]["skipped"] == 2
    skipped = fl.of(out2, "snapshot.skipped")
    assert {e["instance_id"] for e in skipped} == {a, b}
    assert all(e["reason"].startswith("not due") for e in skipped), skipped
    assert not any(op in d2["api_calls"] for op in MUTATING), d2["api_calls"]
    assert ids(fl.smartvault_snapshots(ec2)) == ids(src1)
    assert ids(fl.smartvault_snapshots(ec2_dst)) == ids(dst1)

    # An hour later (what-if clock): due again; only the new snapshots are copied, each exactly once.
    time.sleep(1.1)
    later = {**env, "SMARTVAULT_NOW": fl.now_plus(hours=1)}
    d3, _ = cycle(later)
    assert (d3["counts"]["snapshots_created"], d3["counts"]["snapshots_copied"]) == (3, 3)
    src3, dst3 = fl.smartvault_snapshots(ec2), fl.smartvault_snapshots(ec2_dst)
    new = ids(src3) - ids(src1)
    assert len(new) == 3
    assert {fl.tags_of(s)["SourceSnapshotId"] for k, s in dst3.items() if k not in dst1} == new
    sources = [fl.tags_of(s)["SourceSnapshotId"] for s in dst3.values()]
    assert sorted(sources) == sorted(src3)  # every source snapshot has exactly one copy

    # (Not at `later` again: moto's StartTime is its own real clock, so at now+1h every snapshot looks an hour old.)
    d4, _ = cycle(env)
    assert d4["counts"]["snapshots_created"] == 0 and d4["counts"]["snapshots_copied"] == 0
    assert not any(op in d4["api_calls"] for op in MUTATING)


def test_retention_what_if_in_both_regions(ec2, ec2_dst, cycle):
    """RETENTION_DAYS=7, DEST_RETENTION_DAYS=20, MIN_KEEP=1; instance retention tags 60 (longer), 3 (shorter),
    'abc' (invalid: warning, default); a held snapshot in each region; foreign snapshots in both regions."""
    a = fl.launch(ec2, tags={"Backup": "true"}, volumes=2, name="a")[0]
    b = fl.launch(ec2, tags={"Backup": "true", "retention": "60"}, volumes=1)[0]
    c = fl.launch(ec2, tags={"Backup": "true", "retention": "3"}, volumes=1)[0]
    d = fl.launch(ec2, tags={"Backup": "true", "retention": "abc"}, volumes=1)[0]
    va = fl.volumes_of(ec2, a)
    vb, vc, vd = (fl.volumes_of(ec2, i)[0] for i in (b, c, d))
    today = fl.date_of(time.time())
    foreign_src = {
        fl.foreign_snapshot(ec2, va[0], {"CreatedOn": today}),  # seed 001's own snapshots
        fl.foreign_snapshot(ec2, va[1], {"CreatedBy": "smartvault", "InstanceId": a}),  # look-alike marker
        fl.foreign_snapshot(ec2, vb, {"InstanceId": b, "Name": "manual"}),
        fl.foreign_snapshot(ec2, vc),  # no tags at all
    }
    dst_vol = ec2_dst.create_volume(AvailabilityZone=f"{DST}a", Size=1)["VolumeId"]
    foreign_dst = {fl.foreign_snapshot(ec2_dst, dst_vol, {"CreatedOn": today}),
                   fl.foreign_snapshot(ec2_dst, dst_vol)}
    base = {"DEST_REGION": DST, "RETENTION_DAYS": "7", "DEST_RETENTION_DAYS": "20", "MIN_KEEP": "1"}

    d1, out1 = cycle(base)
    assert d1["counts"]["snapshots_created"] == 5  # a foreign snapshot of an instance does not make it "not due"
    warn = fl.of(out1, "ebs.retention_tag_invalid")
    assert [(w["instance_id"], w["value"], w["level"]) for w in warn] == [(d, "abc", "warn")]
    s1 = fl.smartvault_snapshots(ec2)
    c1 = fl.smartvault_snapshots(ec2_dst)
    time.sleep(1.1)  # distinct StartTimes (whole seconds in moto)
    d2, _ = cycle({**base, "SMARTVAULT_NOW": fl.now_plus(hours=1)})
    assert (d2["counts"]["snapshots_created"], d2["counts"]["snapshots_copied"]) == (5, 5)
    s_all, c_all = fl.smartvault_snapshots(ec2), fl.smartvault_snapshots(ec2_dst)

    def first(snaps, vol, copies=False):
        """The snapshot (or copy) of the FIRST cycle for a volume."""
        key = (lambda s: fl.tags_of(s)["VolumeId"]) if copies else (lambda s: s["VolumeId"])
        (x,) = [k for k, s in snaps.items() if key(s) == vol]
        return x

    old = {v: first(s1, v) for v in (*va, vb, vc, vd)}
    old_copy = {v: first(c1, v, copies=True) for v in (*va, vb, vc, vd)}
    # Legal hold: a's first snapshot of volume 0 at the source, and a's first copy of volume 1 in the DR region.
    ec2.create_tags(Resources=[old[va[0]]], Tags=[{"Key": "SmartVault:Hold", "Value": "true"}])
    ec2_dst.create_tags(Resources=[old_copy[va[1]]], Tags=[{"Key": "SmartVault:Hold", "Value": "true"}])
    no_create = {**base, "MIN_INTERVAL": "90d"}

    def deleted_by(run_env):
        before_s, before_c = fl.smartvault_snapshots(ec2), fl.smartvault_snapshots(ec2_dst)
        dd, out = cycle(run_env)
        after_s, after_c = fl.smartvault_snapshots(ec2), fl.smartvault_snapshots(ec2_dst)
        gone_s, gone_c = ids(before_s) - ids(after_s), ids(before_c) - ids(after_c)
        lines = fl.of(out, "snapshot.deleted")
        assert {e["snapshot_id"] for e in lines if e["region"] == SRC} == gone_s
        assert {e["snapshot_id"] for e in lines if e["region"] == DST} == gone_c
        assert dd["counts"]["snapshots_deleted"] == len(gone_s) + len(gone_c)
        assert dd["counts"]["failures"] == 0
        return gone_s, gone_c, out

    # +5 days: only c (retention=3) is past its retention; its newest snapshot and copy stay (MIN_KEEP=1).
    gone_s, gone_c, out = deleted_by({**no_create, "SMARTVAULT_NOW": fl.now_plus(days=5)})
    assert gone_s == {old[vc]}
    assert gone_c == {old_copy[vc]}
    assert all("expired" in e["reason"] for e in fl.of(out, "snapshot.deleted")), out

    # +30 days: default 7 d at the source (a and d - the invalid tag fell back to it), 20 d in the DR region; b's
    # 60 days keep everything of b; the held ones stay; MIN_KEEP keeps the newest of every volume.
    gone_s, gone_c, _ = deleted_by({**no_create, "SMARTVAULT_NOW": fl.now_plus(days=30)})
    assert gone_s == {old[va[1]], old[vd]}
    assert gone_c == {old_copy[va[0]], old_copy[vd]}
    left_s, left_c = fl.smartvault_snapshots(ec2), fl.smartvault_snapshots(ec2_dst)
    newest = set(ids(s_all) - ids(s1))
    assert ids(left_s) == newest | {old[va[0]], old[vb]}
    assert ids(left_c) == (ids(c_all) - ids(c1)) | {old_copy[va[1]], old_copy[vb]}

    # +1000 days, MIN_KEEP=0, 1-day retention everywhere: every SmartVault snapshot goes except the held ones
    # (this what-if run also creates new ones - due after "1000 days" - and they expire at once). Snapshots
    # SmartVault did not make survive, in both regions.
    end = {"DEST_REGION": DST, "RETENTION_DAYS": "1", "DEST_RETENTION_DAYS": "1", "MIN_KEEP": "0",
           "SMARTVAULT_NOW": fl.now_plus(days=1000)}
    dd, _ = cycle(end)
    assert dd["counts"]["failures"] == 0
    assert ids(fl.smartvault_snapshots(ec2)) == {old[va[0]]}
    assert ids(fl.smartvault_snapshots(ec2_dst)) == {old_copy[va[1]]}
    assert foreign_src <= ids(fl.own_snapshots(ec2))
    assert foreign_dst <= ids(fl.own_snapshots(ec2_dst))


def test_min_keep_keeps_the_newest_per_volume(ec2, ec2_dst, cycle):
    a = fl.launch(ec2, tags={"Backup": "true"}, volumes=2)[0]
    env = {"DEST_REGION": DST, "RETENTION_DAYS": "7", "MIN_KEEP": "2"}
    for hours in (0, 1, 2):
        if hours:
            time.sleep(1.1)
        cycle({**env, "SMARTVAULT_NOW": fl.now_plus(hours=hours)})
    src, dst = fl.smartvault_snapshots(ec2), fl.smartvault_snapshots(ec2_dst)
    assert len(src) == 6 and len(dst) == 6
    d, _ = cycle({**env, "SMARTVAULT_NOW": fl.now_plus(days=30), "MIN_INTERVAL": "90d"})
    assert d["counts"]["snapshots_deleted"] == 4
    for vol in fl.volumes_of(ec2, a):
        mine = fl.newest_first([s for s in src.values() if s["VolumeId"] == vol])
        assert {s["SnapshotId"] for s in mine[:2]} == \
            {k for k, s in fl.smartvault_snapshots(ec2).items() if s["VolumeId"] == vol}
        copies = fl.newest_first([s for s in dst.values() if fl.tags_of(s)["VolumeId"] == vol])
        assert {s["SnapshotId"] for s in copies[:2]} == \
            {k for k, s in fl.smartvault_snapshots(ec2_dst).items() if fl.tags_of(s)["VolumeId"] == vol}


def test_dry_run_prints_the_plan_and_changes_nothing(ec2, ec2_dst, cycle):
    x = fl.launch(ec2, tags={"Backup": "true", "retention": "60"}, volumes=1, name="x")[0]
    y = fl.launch(ec2, tags={"Backup": "true", "retention": "3"}, volumes=1, name="y")[0]
    cycle({"DEST_REGION": DST})  # S1 of x and y, copied
    s1 = fl.smartvault_snapshots(ec2)
    time.sleep(1.1)
    cycle({"SMARTVAULT_NOW": fl.now_plus(hours=1)})  # S2 of x and y, not copied (no DEST_REGION)
    src, dst = fl.smartvault_snapshots(ec2), fl.smartvault_snapshots(ec2_dst)
    newest = {fl.tags_of(s)["InstanceId"]: k for k, s in src.items() if k not in s1}
    before = (fl.own_snapshots(ec2), fl.own_snapshots(ec2_dst))

    env = {"DEST_REGION": DST, "MIN_KEEP": "0", "SMARTVAULT_NOW": fl.now_plus(days=5)}
    d, out = cycle(env, "--dry-run")
    assert d["dry_run"] is True and d["outcome"] == "ok"
    assert set(d["api_calls"]) <= {"DescribeInstances", "DescribeSnapshots"}, d["api_calls"]
    assert (fl.own_snapshots(ec2), fl.own_snapshots(ec2_dst)) == before

    creates = fl.of(out, "plan.create")
    assert {e["instance_id"] for e in creates} == {x, y}
    assert all(e["reason"].startswith("due") and e["volumes"] == 1 for e in creates), creates
    copies = fl.of(out, "plan.copy")
    # y's snapshots are past its 3 days; x's newest is not copied yet (x's first one is).
    assert [e["source_snapshot_id"] for e in copies] == [newest[x]]
    assert copies[0]["region"] == DST and copies[0]["reason"]
    deletes = fl.of(out, "plan.delete")
    want = {(SRC, k) for k, s in src.items() if fl.tags_of(s)["InstanceId"] == y}
    want |= {(DST, k) for k, s in dst.items() if fl.tags_of(s)["InstanceId"] == y}
    assert {(e["region"], e["snapshot_id"]) for e in deletes} == want
    assert all("expired" in e["reason"] for e in deletes), deletes
    assert not fl.of(out, "snapshot.created") and not fl.of(out, "snapshot.deleted")

    # The same plan, for real (MIN_INTERVAL=90d so nothing is created, which the dry run cannot foresee): it
    # deletes exactly what the dry run listed.
    d2, out2 = cycle({**env, "MIN_INTERVAL": "90d"})
    assert {(e["region"], e["snapshot_id"]) for e in fl.of(out2, "snapshot.deleted")} == want
    assert [e["source_snapshot_id"] for e in fl.of(out2, "snapshot.copied")] == [newest[x]]


def test_cycle_done_peak_rss_is_the_binarys_own(ec2, cycle, smartvault, aws_env, proxy):
    import resource
    import subprocess

    fl.launch(ec2, tags={"Backup": "true"}, volumes=2)
    parent_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # The same dry run started from a small parent (/usr/bin/time, ~2 MB) reports the binary's own size.
    small = subprocess.run(["/usr/bin/time", "-f", "%M", smartvault, "run", "--dry-run"],
                           env={**aws_env, "AWS_ENDPOINT_URL": proxy.url}, capture_output=True, text=True, timeout=60)
    own_kb = fl.done(small.stdout)["peak_rss_kb"]
    d, _ = cycle({}, "--dry-run")
    assert parent_kb > 4 * own_kb, "this check needs a parent much larger than the binary"
    assert d["peak_rss_kb"] < 2 * own_kb + 2048, (d["peak_rss_kb"], own_kb, parent_kb)
