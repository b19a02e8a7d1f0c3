"""The synthetic EC2 of the scale benchmark (synth_ec2.py), checked against moto.

The same fleet (3 instances x 2 volumes, Backup=true, no history) in moto and in the synthetic server; two SmartVault
cycles with a DR region against each. Both must lead SmartVault to the same actions (cycle.done counts and API
calls by operation) and leave the same snapshots, as boto3 lists them page by page (PageSize 5: the synthetic
server pages, moto 5.1.1 answers one page; the pages joined must be equal), with ids replaced by their role. One
known difference is allowed: a copy's VolumeId attribute (EC2 and the synthetic server: vol-ffffffff; moto: the
source's volume).
"""

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import ebs_fleet as F  # noqa: E402
from synth_ec2 import SynthEc2  # noqa: E402

SRC, DST = "sa-east-1", "ap-northeast-3"  # regions no other test uses: the moto server is shared


def listing(url, region, instances, volumes):
    """boto3's view of the SmartVault snapshots of a region, ids replaced by what they stand for, page sizes."""
    ec2 = F.ec2_client(url, region)
    pages = list(ec2.get_paginator("describe_snapshots").paginate(
        OwnerIds=["self"], Filters=[{"Name": "tag:CreatedBy", "Values": ["SmartVault"]}],
        PaginationConfig={"PageSize": 5}))
    snaps = [s for p in pages for s in p["Snapshots"]]
    ids = {s["SnapshotId"]: f"snap#{k}" for k, s in enumerate(sorted(snaps, key=lambda s: s["SnapshotId"]))}
    names = {**{v: f"vol#{k}" for k, v in enumerate(volumes)}, **{v: f"inst#{k}" for k, v in enumerate(instances)}}
    out = []
    for s in snaps:
        tags = {t["Key"]: t["Value"] for t in s.get("Tags", [])}
        for k in ("InstanceId", "VolumeId"):
            tags[k] = names.get(tags.get(k), tags.get(k))
        tags.pop("SmartVault:RunId", None)
        tags.pop("SmartVault:SourceRunId", None)
        if "SourceSnapshotId" in tags:
            tags["SourceSnapshotId"] = "a source"
        # A copy's VolumeId attribute: EC2 answers the placeholder vol-ffffffff (so does the synthetic server), moto
        # the source's volume id; SmartVault reads a copy's volume from its VolumeId tag (DESIGN.md section 3).
        vol = "a copy" if "SourceSnapshotId" in tags else names.get(s["VolumeId"], s["VolumeId"])
        out.append((s["State"], vol, s["Encrypted"], json.dumps(tags, sort_keys=True)))
    return sorted(out), [len(p["Snapshots"]) for p in pages], ids


def cycle(run_smartvault, url):
    p = run_smartvault(["run"], extra_env={"AWS_ENDPOINT_URL": url, "AWS_REGION": SRC, "DEST_REGION": DST,
                                           "METRICS_MODE": "off"}, timeout=120)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr
    d = F.done(p.stdout)
    return d["counts"], d["api_calls"]


def test_synthetic_ec2_answers_smartvault_as_moto_does(run_smartvault, aws_env):
    moto_url = aws_env["AWS_ENDPOINT_URL"]
    ec2 = F.ec2_client(moto_url, SRC)
    inst = F.seed_fleet(ec2, 3, volumes=2, tags={"Backup": "true"})
    vols = [v for i in inst for v in F.volumes_of(ec2, i)]
    with SynthEc2() as synth:
        s_inst = synth.seed(SRC, DST, 3, volumes=2, days=0, named=False, devices=F.DEVICES)
        s_vols = [v for i in s_inst for _d, v in synth.region(SRC).instances[i][1]]
        for _ in range(2):  # the first cycle snapshots and copies everything, the second finds nothing due
            want, got = cycle(run_smartvault, moto_url), cycle(run_smartvault, synth.url)
            assert got == want
            for region in (SRC, DST):
                m, _pm, _ = listing(moto_url, region, inst, vols)
                s, ps, _ = listing(synth.url, region, s_inst, s_vols)
                assert s == m, region
                assert len(s) == 6 and ps == [5, 1], (region, ps)  # compared non-empty, paged by 5
