"""Restore (issue 13): `smartvault list`, `smartvault restore`, device tags, and the restore drill of the cycle.

The real static binary against moto, checked with boto3. moto creates snapshots `completed` and volumes from
snapshots `available` at once, so what moto cannot show is made with the fault proxy: a snapshot still `pending`
(DescribeSnapshots rewritten), volumes that stay `creating` (DescribeVolumes rewritten), CreateVolume and
DeleteVolume errors. Every run goes through the proxy, which also counts the calls that reached the emulator.
"""

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import ebs_fleet as fl  # noqa: E402
from faultproxy import Rule, mark_snapshots_pending  # noqa: E402

SRC, DST = "us-east-1", "us-west-2"
DRILL = [{"Name": "tag:SmartVault:Drill", "Values": ["true"]}]


@pytest.fixture
def sv(run_smartvault, proxy):
    """sv(args, env additions, expect=0, rules=()) -> CompletedProcess, through the proxy."""

    def run(args, extra=None, expect=0, rules=(), timeout=60):
        proxy.clear()
        for r in rules:
            proxy.add(r)
        env = {"AWS_ENDPOINT_URL": proxy.url}
        env.update(extra or {})
        proc = run_smartvault(args, extra_env=env, timeout=timeout)
        assert proc.returncode == expect, f"exit {proc.returncode}\nstdout:\n{proc.stdout[-4000:]}\n{proc.stderr}"
        return proc

    return run


def backed_up(ec2, sv, volumes=3, extra=None, name="web"):
    """One instance with `volumes` volumes, and one cycle that snapshots it (and copies to DST)."""
    iid = fl.launch(ec2, tags={"Backup": "true"}, volumes=volumes, name=name)[0]
    sv(["run"], {"DEST_REGION": DST, **(extra or {})})
    return iid


def volumes_by_tag(client, key, value):
    return client.describe_volumes(Filters=[{"Name": f"tag:{key}", "Values": [value]}])["Volumes"]


def devices_of(ec2, iid):
    inst = fl.describe(ec2, [iid])[iid]
    return {m["Ebs"]["VolumeId"]: m["DeviceName"] for m in inst["BlockDeviceMappings"] if "Ebs" in m}


# ---- device tags ----------------------------------------------------------------------------------------------


def test_cycle_tags_each_snapshot_with_its_device_in_one_call_per_device_name(ec2, ec2_dst, sv, proxy):
    a = fl.launch(ec2, tags={"Backup": "true"}, volumes=3)[0]
    b = fl.launch(ec2, tags={"Backup": "true"}, volumes=2)[0]
    devs = {**devices_of(ec2, a), **devices_of(ec2, b)}
    proc = sv(["run"], {"DEST_REGION": DST})
    d = fl.done(proc.stdout)
    assert d["api_calls"]["CreateTags"] == 3  # /dev/sda1, /dev/sdf, /dev/sdg for 5 snapshots
    snaps = fl.smartvault_snapshots(ec2)
    assert len(snaps) == 5
    for s in snaps.values():
        assert fl.tags_of(s)["SmartVault:Device"] == devs[s["VolumeId"]]
    # The DR copies carry the device and the source's run (the crash-consistent set) too.
    copies = fl.smartvault_snapshots(ec2_dst)
    assert len(copies) == 5
    for c in copies.values():
        t = fl.tags_of(c)
        src = snaps[t["SourceSnapshotId"]]
        assert t["SmartVault:Device"] == fl.tags_of(src)["SmartVault:Device"]
        assert t["SmartVault:SourceRunId"] == fl.tags_of(src)["SmartVault:RunId"]


def test_device_tag_failure_is_recorded_and_the_backup_stands(ec2, sv):
    fl.launch(ec2, tags={"Backup": "true"}, volumes=2)
    denied = Rule("error", op="CreateTags", status=403, shape="ec2", code="UnauthorizedOperation", count=1)
    proc = sv(["run"], expect=1, rules=[denied])
    d = fl.done(proc.stdout)
    assert d["counts"]["snapshots_created"] == 2 and d["counts"]["failures"] == 1
    assert len(fl.of(proc.stdout, "snapshot.device_tag_failed")) == 1


# ---- list -----------------------------------------------------------------------------------------------------


def test_list_shows_every_volume_with_newest_snapshot_and_dr_copy(ec2, ec2_dst, sv):
    iid = backed_up(ec2, sv)
    gone = backed_up(ec2, sv, volumes=1, name="old")
    ec2.terminate_instances(InstanceIds=[gone])
    proc = sv(["list"], {"DEST_REGION": DST})
    rows = fl.of(proc.stdout, "inventory.volume")
    assert len(rows) == 4
    devs = devices_of(ec2, iid)
    snaps = fl.smartvault_snapshots(ec2)
    copies = {fl.tags_of(c)["SourceSnapshotId"]: cid for cid, c in fl.smartvault_snapshots(ec2_dst).items()}
    for r in rows:
        assert r["region"] == SRC and r["snapshots_kept"] == 1 and 0 <= r["snapshot_age_s"] < 120
        assert snaps[r["snapshot_id"]]["VolumeId"] == r["volume_id"]
        assert r["dr_snapshot_id"] == copies[r["snapshot_id"]] and r["dr_state"] == "completed"
        if r["instance_id"] == iid:
            assert r["device"] == devs[r["volume_id"]]
        else:
            assert r["instance_id"] == gone and r["device"] == "/dev/sda1"  # from the tag: the instance is gone
    # --instance filters; the text table has a header and one row per volume.
    proc = sv(["list", "--instance", iid, "--log-format", "text"], {"DEST_REGION": DST})
    table = proc.stdout.splitlines()  # only the table: log lines go to stderr
    assert table[0].split()[:4] == ["INSTANCE", "VOLUME", "DEVICE", "SNAPSHOT"]
    assert "inventory.done" in proc.stderr
    assert len(table) == 4 and all(ln.startswith(iid) for ln in table[1:])


# ---- restore --------------------------------------------------------------------------------------------------


def check_restored(client, lines, iid, snaps_by_id, region):
    assert len(lines) == 3
    for ln in lines:
        assert ln["instance_id"] == iid and ln["region"] == region and ln["state"] == "available"
        assert ln["error"] is None
        v = client.describe_volumes(VolumeIds=[ln["volume_id"]])["Volumes"][0]
        t = fl.tags_of(v)
        assert v["SnapshotId"] == ln["snapshot_id"] and v["AvailabilityZone"] == ln["availability_zone"]
        assert t["SmartVault:RestoreOf"] == ln["source_volume_id"]
        assert t["SmartVault:RestoredFrom"] == ln["snapshot_id"]
        assert t["InstanceId"] == iid and t["SmartVault:Device"] == ln["device"] and t["Name"]
        assert ln["snapshot_id"] in snaps_by_id


def test_restore_three_volumes_from_source_keeps_type_size_and_devices(ec2, sv):
    iid = fl.launch(ec2, tags={"Backup": "true"}, volumes=2, name="web")[0]
    # A third volume, gp3 with its own IOPS/throughput/size, which the restore must keep exactly.
    az = fl.describe(ec2, [iid])[iid]["Placement"]["AvailabilityZone"]
    data = ec2.create_volume(AvailabilityZone=az, VolumeType="gp3", Iops=4000, Throughput=250, Size=20)["VolumeId"]
    ec2.attach_volume(VolumeId=data, InstanceId=iid, Device="/dev/sdh")
    sv(["run"])
    devs = devices_of(ec2, iid)
    proc = sv(["restore", "--instance", iid])
    lines = fl.of(proc.stdout, "restore.volume")
    check_restored(ec2, lines, iid, fl.smartvault_snapshots(ec2), SRC)
    by_src = {ln["source_volume_id"]: ln for ln in lines}
    assert {v: ln["device"] for v, ln in by_src.items()} == devs
    src_az = fl.describe(ec2, [iid])[iid]["Placement"]["AvailabilityZone"]
    for v, ln in by_src.items():
        orig = ec2.describe_volumes(VolumeIds=[v])["Volumes"][0]
        new = ec2.describe_volumes(VolumeIds=[ln["volume_id"]])["Volumes"][0]
        assert new["AvailabilityZone"] == src_az
        assert (new["VolumeType"], new["Size"]) == (orig["VolumeType"], orig["Size"])
        if v == data:
            assert (new["VolumeType"], new["Size"], new.get("Iops"), new.get("Throughput")) == ("gp3", 20, 4000, 250)
    done = fl.of(proc.stdout, "restore.done")[0]
    assert done["volumes"] == 3 and done["failed"] == 0 and done["zone_from"] == "source instance"


def test_restore_from_dr_region_uses_the_copies_of_one_set(ec2, ec2_dst, sv):
    iid = backed_up(ec2, sv)
    proc = sv(["restore", "--instance", iid, "--region", DST])
    lines = fl.of(proc.stdout, "restore.volume")
    copies = fl.smartvault_snapshots(ec2_dst)
    check_restored(ec2_dst, lines, iid, copies, DST)
    assert {ln["availability_zone"] for ln in lines} == {"us-west-2a"}  # the first available zone
    assert {fl.tags_of(copies[ln["snapshot_id"]])["SmartVault:SourceRunId"] for ln in lines} == {
        fl.of(proc.stdout, "restore.done")[0]["run_id"]}
    # --az chooses the zone explicitly.
    proc = sv(["restore", "--instance", iid, "--region", DST, "--az", "us-west-2b"])
    assert {ln["availability_zone"] for ln in fl.of(proc.stdout, "restore.volume")} == {"us-west-2b"}


def two_sets(ec2, sv, iid_volumes=3):
    iid = fl.launch(ec2, tags={"Backup": "true"}, volumes=iid_volumes)[0]
    sv(["run"])
    first = fl.smartvault_snapshots(ec2)
    time.sleep(1.1)  # moto's StartTime has whole seconds
    sv(["run"], {"SMARTVAULT_NOW": fl.now_plus(hours=1)})
    second = {k: v for k, v in fl.smartvault_snapshots(ec2).items() if k not in first}
    assert len(first) == len(second) == iid_volumes
    return iid, first, second


def test_restore_at_picks_the_older_set(ec2, sv):
    iid, first, second = two_sets(ec2, sv)
    at = fl.rfc3339(max(fl.start_s(s) for s in first.values()))
    proc = sv(["restore", "--instance", iid, "--at", at, "--dry-run"])
    assert {ln["snapshot_id"] for ln in fl.of(proc.stdout, "restore.plan")} == set(first)
    proc = sv(["restore", "--instance", iid, "--dry-run"])
    assert {ln["snapshot_id"] for ln in fl.of(proc.stdout, "restore.plan")} == set(second)
    # Before any set: nothing to restore, exit 1 with the reason.
    proc = sv(["restore", "--instance", iid, "--at", "2020-01-01T00:00:00Z"], expect=1)
    assert fl.of(proc.stdout, "restore.no_set")


def test_set_with_one_pending_snapshot_is_skipped_for_the_previous_complete_set(ec2, sv, proxy):
    iid, first, second = two_sets(ec2, sv)
    pending = Rule("rewrite", op="DescribeSnapshots", fn=mark_snapshots_pending({sorted(second)[1]}))
    proc = sv(["restore", "--instance", iid], rules=[pending])
    lines = fl.of(proc.stdout, "restore.volume")
    assert {ln["snapshot_id"] for ln in lines} == set(first)
    assert fl.of(proc.stdout, "restore.set")[0]["skipped_incomplete_sets"] == 1


def test_terminated_instance_restores_with_its_devices_from_kept_snapshots(ec2, sv):
    iid = backed_up(ec2, sv)
    devs = devices_of(ec2, iid)
    vols = list(devs)
    ec2.terminate_instances(InstanceIds=[iid])
    for v in vols:
        ec2.delete_volume(VolumeId=v)  # gone with the instance: gp3 and the snapshot's size
    proc = sv(["restore", "--instance", iid, "--az", "us-east-1c"])
    lines = fl.of(proc.stdout, "restore.volume")
    assert {ln["source_volume_id"]: ln["device"] for ln in lines} == devs
    for ln in lines:
        v = ec2.describe_volumes(VolumeIds=[ln["volume_id"]])["Volumes"][0]
        assert (v["VolumeType"], v["Size"], v["AvailabilityZone"]) == ("gp3", 8, "us-east-1c")


def test_dry_run_creates_nothing(ec2, sv, proxy):
    iid = backed_up(ec2, sv)
    before = len(ec2.describe_volumes()["Volumes"])
    proc = sv(["restore", "--instance", iid, "--dry-run"])
    assert len(fl.of(proc.stdout, "restore.plan")) == 3 and not fl.of(proc.stdout, "restore.volume")
    assert fl.of(proc.stdout, "restore.done")[0]["dry_run"] is True
    assert len(ec2.describe_volumes()["Volumes"]) == before
    assert not {"CreateVolume", "AttachVolume", "CreateTags"} & set(proxy.counts())


@pytest.mark.parametrize("args,names", [
    ([], "--instance"),
    (["--instance", "i-123"], "--instance"),
    (["--instance", "i-0123456789abcdef0", "--volume", "v-1"], "--volume"),
    (["--instance", "i-0123456789abcdef0", "--at", "yesterday"], "--at"),
    (["--instance", "i-0123456789abcdef0", "--az", "US-EAST-1A"], "--az"),
    (["--instance", "i-0123456789abcdef0", "--region", "mars-1"], "--region"),
    (["--instance", "i-0123456789abcdef0", "--timeout", "7h"], "--timeout"),
    (["--instance", "i-0123456789abcdef0", "--attach-to"], "--attach-to"),
    (["--instance", "i-0123456789abcdef0", "--bogus"], "--bogus"),
    (["--instance", "i-0123456789abcdef0", "--set", "RETENTION_DAYS=0"], "RETENTION_DAYS"),
])
def test_bad_arguments_exit_2_with_one_line_and_no_call(sv, proxy, args, names):
    proc = sv(["restore", *args], expect=2)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and names in lines[0], proc.stderr
    assert proxy.count() == 0


def test_attach_to_a_stopped_instance_at_the_original_devices(ec2, sv):
    iid = backed_up(ec2, sv)
    devs = devices_of(ec2, iid)
    # The replacement: an instance without those data devices, stopped, in another zone than the source.
    target = ec2.run_instances(ImageId=fl.AMI_ID, MinCount=1, MaxCount=1, InstanceType="t3.micro",
                               Placement={"AvailabilityZone": "us-east-1b"},
                               BlockDeviceMappings=[{"DeviceName": "/dev/xvda", "Ebs": {"VolumeSize": 8}}],
                               )["Instances"][0]["InstanceId"]
    ec2.stop_instances(InstanceIds=[target])
    proc = sv(["restore", "--instance", iid, "--attach-to", target, "--volume", list(devs)[1],
               "--volume", list(devs)[2]])
    lines = fl.of(proc.stdout, "restore.volume")
    assert len(lines) == 2 and all(ln["attachment"] == "attaching" for ln in lines)
    assert {ln["availability_zone"] for ln in lines} == {"us-east-1b"}
    attached = {m["DeviceName"]: m["Ebs"]["VolumeId"]
                for m in fl.describe(ec2, [target])[target]["BlockDeviceMappings"]}
    for ln in lines:
        assert attached[ln["device"]] == ln["volume_id"] and ln["device"] == devs[ln["source_volume_id"]]


def test_attach_refuses_a_running_instances_root_device_before_creating_anything(ec2, sv, proxy):
    iid = backed_up(ec2, sv)
    before = len(ec2.describe_volumes()["Volumes"])
    proc = sv(["restore", "--instance", iid, "--attach-to", iid], expect=2)  # itself, running, /dev/sda1 root
    assert "root device" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert "CreateVolume" not in proxy.counts()
    assert len(ec2.describe_volumes()["Volumes"]) == before


def test_failed_volume_exits_1_and_keeps_the_others(ec2, sv):
    iid = backed_up(ec2, sv)
    snap = sorted(fl.smartvault_snapshots(ec2))[0]
    fail = Rule("error", op="CreateVolume", body=f"SnapshotId={snap}&", status=400, shape="ec2",
                code="VolumeLimitExceeded", message="You have exceeded your maximum gp3 storage limit")
    proc = sv(["restore", "--instance", iid], expect=1, rules=[fail])
    lines = fl.of(proc.stdout, "restore.volume")
    assert len(lines) == 3
    bad = [ln for ln in lines if ln["error"]]
    assert len(bad) == 1 and bad[0]["snapshot_id"] == snap and "VolumeLimitExceeded" in bad[0]["error"]
    kept = volumes_by_tag(ec2, "InstanceId", iid)
    assert {v["VolumeId"] for v in kept} == {ln["volume_id"] for ln in lines if not ln["error"]}


def creating(req, status, headers, body):
    """DescribeVolumes: every volume still `creating`."""
    return status, headers, body.replace(b"<status>available</status>", b"<status>creating</status>")


def test_volumes_stuck_creating_fail_after_the_timeout_and_are_kept(ec2, sv):
    iid = backed_up(ec2, sv)
    t0 = time.monotonic()
    proc = sv(["restore", "--instance", iid, "--timeout", "2s"], expect=1,
              rules=[Rule("rewrite", op="DescribeVolumes", fn=creating)])
    assert 2 <= time.monotonic() - t0 < 20
    lines = fl.of(proc.stdout, "restore.volume")
    assert len(lines) == 3 and all("not available after 2s" in ln["error"] for ln in lines)
    assert len(volumes_by_tag(ec2, "InstanceId", iid)) == 3  # a failed restore never deletes
    # --no-wait does not wait at all.
    proc = sv(["restore", "--instance", iid, "--no-wait"], rules=[Rule("rewrite", op="DescribeVolumes", fn=creating)])
    assert all(ln["error"] is None for ln in fl.of(proc.stdout, "restore.volume"))


# ---- drill ----------------------------------------------------------------------------------------------------


def drilled(stdout):
    return [e["volume_id"] for e in fl.of(stdout, "drill.passed")]


def test_drill_rotation_covers_every_volume_within_ceil_volumes_over_n_cycles(ec2, ec2_dst, sv):
    for _ in range(2):
        fl.launch(ec2, tags={"Backup": "true"}, volumes=3)
    fl.launch(ec2, tags={"Backup": "true"}, volumes=1)
    env = {"DEST_REGION": DST, "RESTORE_DRILL": "3", "MIN_INTERVAL": "90d"}
    seen, regions = [], set()
    base = time.time()
    for k in range(3):  # 7 volumes, 3 per cycle: ceil(7/3) = 3 cycles, one schedule period (1d) apart
        proc = sv(["run"], {**env, "SMARTVAULT_NOW": fl.now_plus(days=k, base=base)})
        d = fl.done(proc.stdout)
        assert d["counts"]["drills_passed"] == len(drilled(proc.stdout)) and d["counts"]["drills_failed"] == 0
        seen += drilled(proc.stdout)
        regions |= {e["region"] for e in fl.of(proc.stdout, "drill.passed")}
        assert not ec2.describe_volumes(Filters=DRILL)["Volumes"]
        assert not ec2_dst.describe_volumes(Filters=DRILL)["Volumes"]
        metrics = fl.of(proc.stdout, "report.metrics")[0]["metrics"]
        assert metrics["RestoreDrillsPassed"] == len(drilled(proc.stdout)) and metrics["RestoreDrillsFailed"] == 0
        assert metrics["RestoreDrillSecondsMax"] >= 0
    all_vols = {s["VolumeId"] for s in fl.smartvault_snapshots(ec2).values()}
    assert len(all_vols) == 7
    assert sorted(seen) == sorted(all_vols)  # each exactly once
    assert regions == {SRC, DST}  # alternating source and DR copies


def test_drill_timeout_fails_and_still_deletes_the_volume(ec2, sv):
    fl.launch(ec2, tags={"Backup": "true"}, volumes=1)
    proc = sv(["run"], {"RESTORE_DRILL": "1", "RESTORE_DRILL_TIMEOUT": "2s"}, expect=1,
              rules=[Rule("rewrite", op="DescribeVolumes", fn=creating)])
    failed = fl.of(proc.stdout, "drill.failed")
    assert len(failed) == 1 and "RESTORE_DRILL_TIMEOUT" in failed[0]["error"]
    assert fl.done(proc.stdout)["counts"]["drills_failed"] == 1
    assert fl.of(proc.stdout, "drill.volume_deleted")
    assert not ec2.describe_volumes(Filters=DRILL)["Volumes"]


def test_drill_create_error_is_a_failed_drill(ec2, sv):
    fl.launch(ec2, tags={"Backup": "true"}, volumes=1)
    proc = sv(["run"], {"RESTORE_DRILL": "1"}, expect=1,
              rules=[Rule("error", op="CreateVolume", status=400, shape="ec2", code="InsufficientVolumeCapacity")])
    assert "InsufficientVolumeCapacity" in fl.of(proc.stdout, "drill.failed")[0]["error"]
    assert fl.done(proc.stdout)["counts"]["drills_failed"] == 1
    assert not ec2.describe_volumes(Filters=DRILL)["Volumes"]


def test_drill_delete_failure_is_cleaned_up_by_the_next_run(ec2, sv):
    fl.launch(ec2, tags={"Backup": "true"}, volumes=1)
    env = {"RESTORE_DRILL": "1", "MIN_INTERVAL": "90d"}
    proc = sv(["run"], env, expect=1,
              rules=[Rule("error", op="DeleteVolume", status=500, shape="ec2", code="InternalError")])
    d = fl.done(proc.stdout)
    assert d["counts"]["drills_passed"] == 1 and d["counts"]["failures"] == 1
    left = ec2.describe_volumes(Filters=DRILL)["Volumes"]
    assert len(left) == 1
    proc = sv(["run"], env)
    assert [e["volume_id"] for e in fl.of(proc.stdout, "drill.leftover_deleted")] == [left[0]["VolumeId"]]
    assert not ec2.describe_volumes(Filters=DRILL)["Volumes"]


def test_drill_volume_of_a_killed_run_is_deleted_by_the_next_run(ec2, smartvault, aws_env, proxy, sv):
    fl.launch(ec2, tags={"Backup": "true"}, volumes=1)
    proxy.add(Rule("rewrite", op="DescribeVolumes", fn=creating))
    env = {**aws_env, "AWS_ENDPOINT_URL": proxy.url, "RESTORE_DRILL": "1", "RESTORE_DRILL_TIMEOUT": "60s",
           "MIN_INTERVAL": "90d"}
    proc = subprocess.Popen([smartvault, "run"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not ec2.describe_volumes(Filters=DRILL)["Volumes"]:
            time.sleep(0.2)
        assert ec2.describe_volumes(Filters=DRILL)["Volumes"], "the drill volume never appeared"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert len(ec2.describe_volumes(Filters=DRILL)["Volumes"]) == 1  # the kill left it behind
    out = sv(["run"], {"RESTORE_DRILL": "1", "MIN_INTERVAL": "90d"})
    assert len(fl.of(out.stdout, "drill.leftover_deleted")) == 1
    assert not ec2.describe_volumes(Filters=DRILL)["Volumes"]


def test_drill_dry_run_plans_and_creates_nothing(ec2, sv, proxy):
    fl.launch(ec2, tags={"Backup": "true"}, volumes=2)
    sv(["run"])
    proc = sv(["run", "--dry-run"], {"RESTORE_DRILL": "2"})
    assert len(fl.of(proc.stdout, "plan.drill")) == 2
    assert not {"CreateVolume", "DeleteVolume"} & set(proxy.counts())


def test_bad_drill_variables_exit_2(sv, proxy):
    for var, value in [("RESTORE_DRILL", "101"), ("RESTORE_DRILL_AZ", "us-east-1a,EU"), ("RESTORE_DRILL_TIMEOUT", "0s"),
                       ("RESTORE_DRILL_PERIOD", "10s")]:
        proc = sv(["run"], {var: value}, expect=2)
        assert var in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert proxy.count() == 0


def test_dr_restore_works_with_the_source_region_down_and_keeps_encryption(ec2, ec2_dst, sv):
    iid = backed_up(ec2, sv, extra={"KMS_KEY_ID": "alias/smartvault-dr"})
    # Every request signed for the source region fails: the disaster the DR copies are for.
    down = Rule("error", status=503, shape="ec2", code="Unavailable",
                where=lambda req: "/us-east-1/" in req.headers.get("Authorization", ""))
    proc = sv(["restore", "--instance", iid, "--region", DST], rules=[down])
    lines = fl.of(proc.stdout, "restore.volume")
    assert len(lines) == 3 and all(ln["error"] is None for ln in lines)
    assert fl.of(proc.stdout, "restore.source_unknown")  # logged, not fatal
    devs = {fl.tags_of(c)["VolumeId"]: fl.tags_of(c)["SmartVault:Device"]
            for c in fl.smartvault_snapshots(ec2_dst).values()}
    for ln in lines:
        v = ec2_dst.describe_volumes(VolumeIds=[ln["volume_id"]])["Volumes"][0]
        assert v["Encrypted"] is True and ln["encrypted"] is True  # the copies are encrypted with the DR key
        assert (v["VolumeType"], v["Size"]) == ("gp3", 8)  # the source volume could not be asked
        assert ln["device"] == devs[ln["source_volume_id"]]
