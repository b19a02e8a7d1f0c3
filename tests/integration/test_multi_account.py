"""Many accounts and regions in one run, and shards (issue 14): the real binary against moto, checked with boto3.

moto 5.1.1 keeps separate state per account and derives the account of a request from its access key: STS
AssumeRole on arn:aws:iam::<id>:role/<name> hands out a key that moto files under <id> (iam/models.py
get_account_id_from), so the binary's AssumeRole credentials work in the member account's own EC2, and boto3 sees
that account the same way. The hub credentials ("testing") belong to moto's default account 123456789012. moto
does not check trust policies or external ids, so the account whose role cannot be assumed is made by the fault
proxy answering AssumeRole for it with AccessDenied, exactly as STS does.
"""

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import ebs_fleet as fl  # noqa: E402
from faultproxy import FaultProxy, Rule  # noqa: E402

HUB = "123456789012"
MEMBERS = ["111111111111", "222222222222"]
DENIED = "444444444444"
REGIONS = ["us-east-1", "eu-west-1"]
DR = {"us-east-1": "us-west-2", "eu-west-1": "eu-central-1"}
ROLE = "SmartVaultMember"


@pytest.fixture
def proxy(moto):
    with FaultProxy(moto.url) as p:
        yield p


def session_for(moto_url, account):
    """boto3 session in `account` (AssumeRole, as the binary does; the hub's own keys for the hub)."""
    import boto3

    base = dict(aws_access_key_id="testing", aws_secret_access_key="testing")
    if account == HUB:
        return boto3.Session(region_name="us-east-1", **base)
    sts = boto3.client("sts", region_name="us-east-1", endpoint_url=moto_url, **base)
    c = sts.assume_role(RoleArn=f"arn:aws:iam::{account}:role/{ROLE}", RoleSessionName="test")["Credentials"]
    return boto3.Session(aws_access_key_id=c["AccessKeyId"], aws_secret_access_key=c["SecretAccessKey"],
                         aws_session_token=c["SessionToken"], region_name="us-east-1")


def ec2_in(moto_url, account, region):
    return session_for(moto_url, account).client("ec2", region_name=region, endpoint_url=moto_url)


def smartvault_snaps(ec2, account):
    snaps = ec2.describe_snapshots(OwnerIds=["self"], Filters=[fl.MARKER])["Snapshots"]
    return [s for s in snaps if s["OwnerId"] == account]


def multi_env(proxy_url, accounts, **extra):
    env = {
        "AWS_ENDPOINT_URL": proxy_url,
        "SOURCE_REGIONS": ",".join(REGIONS),
        "DEST_REGION_MAP": ",".join(f"{k}={v}" for k, v in DR.items()),
        "ACCOUNTS": accounts,
        "ACCOUNT_ROLE_NAME": ROLE,
        "ACCOUNT_ROLE_EXTERNAL_ID": "vault-external-id",
    }
    env.update(extra)
    return env


def test_three_accounts_two_regions_and_one_denied_account(moto, proxy, run_smartvault):
    fleet = {}  # (account, region) -> volumes
    for account in [HUB, *MEMBERS]:
        for region in REGIONS:
            ec2 = ec2_in(moto.url, account, region)
            iid = fl.launch(ec2, tags={"Backup": "true"}, volumes=2, name=f"{account}-{region}")[0]
            fl.launch(ec2, tags={"Backup": "false"}, volumes=1)  # never backed up
            fleet[(account, region)] = set(fl.volumes_of(ec2, iid))
    bodies = []
    proxy.add(Rule("forward", op="AssumeRole", where=lambda req: bodies.append(req.body) and False))
    proxy.add(Rule("error", op="AssumeRole", body=DENIED, status=403, shape="query", code="AccessDenied",
                   message=f"User is not authorized to perform: sts:AssumeRole on arn:aws:iam::{DENIED}:role/{ROLE}"))

    accounts = ",".join([MEMBERS[0], HUB, MEMBERS[1], DENIED])
    proc = run_smartvault(["run"], extra_env=multi_env(proxy.url, accounts))
    assert proc.returncode == 1, proc.stdout[-4000:] + proc.stderr
    done = fl.done(proc.stdout)
    print(json.dumps(done["targets"], indent=1))

    # One entry per target, in account order then region order; the denied account's targets failed alone.
    targets = {(t["account_id"], t["region"]): t for t in done["targets"]}
    assert len(done["targets"]) == 8
    for (account, region), vols in fleet.items():
        t = targets[(account, region)]
        assert t["outcome"] == "ok", t
        assert t["dest_region"] == DR[region]
        assert t["instances_seen"] == 1 and t["snapshots_created"] == 2 and t["failures"] == 0, t
        assert t["snapshots_copied"] == 2, t
    for region in REGIONS:
        t = targets[(DENIED, region)]
        assert t["outcome"] == "failed" and "AccessDenied" in t["reason"], t
        assert t["instances_seen"] == 0 and t["failures"] == 1
    assert done["counts"]["snapshots_created"] == 12 and done["counts"]["instances_seen"] == 6

    # AWS agrees: each account's snapshots are of its own volumes, in its own region, with DR copies in the
    # mapped region of the same account, and nothing elsewhere.
    for (account, region), vols in fleet.items():
        src = smartvault_snaps(ec2_in(moto.url, account, region), account)
        assert {s["VolumeId"] for s in src if "SourceSnapshotId" not in fl.tags_of(s)} == vols, (account, region)
        copies = smartvault_snaps(ec2_in(moto.url, account, DR[region]), account)
        from_here = [c for c in copies if fl.tags_of(c).get("SourceRegion") == region]
        assert len(from_here) == 2, (account, region, copies)

    # The hub account is used directly; every other account through its role, with the external id and a
    # session name that names the run.
    assert len(bodies) == 2 * 3  # two regions each for the two members and the denied account
    assert all(HUB.encode() not in b for b in bodies)
    assert all(b"ExternalId=vault-external-id" in b for b in bodies)
    assert all(f"RoleSessionName=smartvault-{done['run_id']}".encode() in b for b in bodies)
    # cycle.done counts the targets' own stacks too: what it says is what reached AWS.
    assert done["attempts"] == proxy.count() and done["retries"] == 0
    assert done["api_calls"] == proxy.counts(), (done["api_calls"], proxy.counts())

    # Every log line of a target carries its account and region. The targets run overlapped (their requests share
    # one batch), so a line's target is the one it names: each snapshot.created line names the account and region
    # where AWS has that snapshot.
    evs = fl.events(proc.stdout)
    starts = [i for i, e in enumerate(evs) if e["event"] == "target.start"]
    ends = [i for i, e in enumerate(evs) if e["event"] == "target.done"]
    shared = {"copy.pump", "ebs.progress", "ebs.waiting", "ebs.wait_done", "targets.stopped"}  # of no one target
    for e in evs[starts[0]:ends[-1] + 1]:
        if e["event"] not in shared:
            assert e.get("account_id") in {HUB, *MEMBERS, DENIED} and "region" in e, e
    owner = {}
    for account, region in fleet:
        for snap in smartvault_snaps(ec2_in(moto.url, account, region), account):
            owner[snap["SnapshotId"]] = (account, region)
    created = [e for e in evs if e["event"] == "snapshot.created"]
    assert len(created) == 12
    for e in created:
        assert owner[e["snapshot_id"]] == (e["account_id"], e["region"]), e


def test_accounts_organization_lists_active_accounts_minus_excludes(moto, proxy, run_smartvault, boto3_client):
    org = boto3_client("organizations")
    org.create_organization(FeatureSet="ALL")
    created = []
    for name in ("prod", "dev", "sandbox"):
        status = org.create_account(Email=f"{name}@example.com", AccountName=name)["CreateAccountStatus"]
        created.append(status["AccountId"])
    listed = [a["Id"] for a in org.list_accounts()["Accounts"]]
    assert HUB in listed and set(created) <= set(listed)
    excluded = created[2]
    for account in created[:2]:
        fl.launch(ec2_in(moto.url, account, "us-east-1"), tags={"Backup": "true"}, volumes=1)

    env = multi_env(proxy.url, "organization", ACCOUNTS_EXCLUDE=excluded, SOURCE_REGIONS="us-east-1")
    del env["DEST_REGION_MAP"]
    proc = run_smartvault(["run"], extra_env=env)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr
    done = fl.done(proc.stdout)
    got = {t["account_id"]: t for t in done["targets"]}
    assert set(got) == set(listed) - {excluded}
    for account in created[:2]:
        assert got[account]["outcome"] == "ok" and got[account]["snapshots_created"] == 1
    assert got[HUB]["outcome"] == "no_instances"
    assert proxy.count("ListAccounts") >= 1
    # ListAccounts pages are followed: moto answers 20 accounts per page at most, so ask for every token.
    listed_ev = fl.of(proc.stdout, "targets.organization_listed")[0]
    assert listed_ev["active"] == len(listed)


def test_organization_paging_is_followed(moto, proxy, run_smartvault, boto3_client):
    org = boto3_client("organizations")
    org.create_organization(FeatureSet="ALL")
    for i in range(25):
        org.create_account(Email=f"a{i}@example.com", AccountName=f"a{i}")
    env = multi_env(proxy.url, "organization", SOURCE_REGIONS="us-east-1", DRY_RUN="true")
    del env["DEST_REGION_MAP"]
    proc = run_smartvault(["run"], extra_env=env, timeout=120)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr
    done = fl.done(proc.stdout)
    assert len(done["targets"]) == 26
    assert proxy.count("ListAccounts") == 2


def test_three_shards_cover_every_target_exactly_once(moto, proxy, run_smartvault, boto3_client):
    s3 = boto3_client("s3")
    for bucket in ("src", "dst"):
        s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket="src", Key="a.txt", Body=b"hello")
    accounts = ["111111111111", "222222222222", "333333333333", HUB, "555555555555"]
    for account in accounts:
        for region in REGIONS:
            fl.launch(ec2_in(moto.url, account, region), tags={"Backup": "true"}, volumes=1)
    env = multi_env(proxy.url, ",".join(accounts), SHARD_COUNT="3", S3_SOURCE_BUCKET="src", S3_ROUTES="=dst")
    seen = []
    for index in range(3):
        e = dict(env, JOB_COMPLETION_INDEX=str(index))
        cfg = run_smartvault(["config"], extra_env=e)
        assert cfg.returncode == 0, cfg.stderr
        printed = [ln.split("=", 1)[1].split(" ")[0] for ln in cfg.stdout.splitlines() if ln.startswith("TARGET=")]
        proxy.clear()
        proc = run_smartvault(["run"], extra_env=e)
        assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr
        done = fl.done(proc.stdout)
        mine = [f"{t['account_id']}:{t['region']}" for t in done["targets"]]
        assert sorted(mine) == sorted(printed)  # `config` shows exactly what the run does
        assert all(t["outcome"] == "ok" for t in done["targets"]), done["targets"]
        # The S3 job belongs to shard 0 only.
        s3_requests = sum(n for op, n in proxy.counts().items() if " /" in op)
        assert (s3_requests > 0) == (index == 0), proxy.counts()
        assert (done["counts"]["s3_objects_copied"] == 1) == (index == 0)
        assert bool(fl.of(proc.stdout, "s3.other_shard")) == (index != 0)
        seen += mine
    want = [f"{a}:{r}" for a in accounts for r in REGIONS]
    assert sorted(seen) == sorted(want)  # every target, exactly once
    for account in accounts:
        for region in REGIONS:
            assert len(smartvault_snaps(ec2_in(moto.url, account, region), account)) == 1


@pytest.mark.parametrize(
    "env,var",
    [
        ({"SOURCE_REGIONS": "us-east-1,,eu-west-1"}, "SOURCE_REGIONS"),
        ({"SOURCE_REGIONS": "us-east-1,us-east-1"}, "SOURCE_REGIONS"),
        ({"SOURCE_REGIONS": "useast1"}, "SOURCE_REGIONS"),
        ({"DEST_REGION_MAP": "us-east-1=us-east-1"}, "DEST_REGION_MAP"),
        ({"DEST_REGION_MAP": "us-east-1:us-west-2"}, "DEST_REGION_MAP"),
        ({"DEST_REGION_MAP": "eu-west-1=eu-central-1"}, "DEST_REGION_MAP"),
        ({"ACCOUNTS": "12345", "ACCOUNT_ROLE_NAME": "R"}, "ACCOUNTS"),
        ({"ACCOUNTS": "orgs", "ACCOUNT_ROLE_NAME": "R"}, "ACCOUNTS"),
        ({"ACCOUNTS": "111111111111"}, "ACCOUNT_ROLE_NAME"),
        ({"ACCOUNTS": "111111111111", "ACCOUNT_ROLE_NAME": "arn:aws:iam::1:role/R"}, "ACCOUNT_ROLE_NAME"),
        ({"ACCOUNTS_EXCLUDE": "111111111111"}, "ACCOUNTS_EXCLUDE"),
        ({"ACCOUNTS": "organization", "ACCOUNT_ROLE_NAME": "R", "ACCOUNTS_EXCLUDE": "x"}, "ACCOUNTS_EXCLUDE"),
        ({"ACCOUNTS": "111111111111", "ACCOUNT_ROLE_NAME": "R", "ACCOUNT_ROLE_EXTERNAL_ID": "x"},
         "ACCOUNT_ROLE_EXTERNAL_ID"),
        ({"SHARD_COUNT": "0"}, "SHARD_COUNT"),
        ({"SHARD_COUNT": "3"}, "SHARD_INDEX"),
        ({"SHARD_COUNT": "3", "SHARD_INDEX": "3"}, "SHARD_INDEX"),
        ({"JOB_COMPLETION_INDEX": "1"}, "SHARD_COUNT"),
        ({"SHARD_COUNT": "2", "JOB_COMPLETION_INDEX": "-1"}, "JOB_COMPLETION_INDEX"),
        ({"AWS_BATCH_JOB_ARRAY_INDEX": "0"}, "SHARD_COUNT"),
        ({"AWS_BATCH_JOB_ARRAY_INDEX": "5", "AWS_BATCH_JOB_ARRAY_SIZE": "5"}, "AWS_BATCH_JOB_ARRAY_INDEX"),
        ({"AWS_BATCH_JOB_ARRAY_SIZE": "10001", "AWS_BATCH_JOB_ARRAY_INDEX": "0"}, "AWS_BATCH_JOB_ARRAY_SIZE"),
    ],
)
def test_bad_values_exit_2_naming_the_variable_before_any_call(moto, proxy, run_smartvault, env, var):
    proc = run_smartvault(["run"], extra_env={"AWS_ENDPOINT_URL": proxy.url, **env})
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert proc.stderr.startswith(f"smartvault: {var}: "), proc.stderr
    assert proc.stderr.count("\n") == 1
    assert proxy.count() == 0  # nothing was called


def test_one_report_totals_then_targets_in_sns_metrics_and_audit(moto, proxy, run_smartvault, boto3_client):
    sns, sqs, ddb = boto3_client("sns"), boto3_client("sqs"), boto3_client("dynamodb")
    cw = boto3_client("cloudwatch")
    topic = sns.create_topic(Name="reports")["TopicArn"]
    queue = sqs.create_queue(QueueName="inbox")["QueueUrl"]
    qarn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=qarn)
    ddb.create_table(
        TableName="audit",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                              {"AttributeName": "sk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    for account in (HUB, MEMBERS[0]):
        fl.launch(ec2_in(moto.url, account, "us-east-1"), tags={"Backup": "true"}, volumes=1)
    proxy.add(Rule("error", op="AssumeRole", body=DENIED, status=403, shape="query", code="AccessDenied",
                   message="not authorized"))
    env = multi_env(proxy.url, f"{HUB},{MEMBERS[0]},{DENIED}", SOURCE_REGIONS="us-east-1", SNS_TOPIC_ARN=topic,
                    DYNAMODB_TABLE="audit")
    del env["DEST_REGION_MAP"]
    proc = run_smartvault(["run"], extra_env=env)
    assert proc.returncode == 1, proc.stdout[-4000:] + proc.stderr
    done = fl.done(proc.stdout)
    assert [t["outcome"] for t in done["targets"]] == ["ok", "ok", "failed"]

    # SNS: the totals first, then one line per target, then the lists naming the account of every action.
    got = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
    assert len(got) == 1
    body = json.loads(got[0]["Body"])["Message"]
    totals, per_target = body.index("Snapshots created:  2"), body.index("Per target (account, region):")
    assert totals < per_target
    assert f"  {DENIED} us-east-1: failed, 0 instances" in body and "AccessDenied" in body
    assert f"  {MEMBERS[0]} us-east-1: ok, 1 instances, 1 created" in body
    assert f"  - {MEMBERS[0]} us-east-1 i-" in body[per_target:]

    # Metrics: the Service=Backup totals as before, plus per-target metrics with AccountId and Region.
    listed = cw.list_metrics(Namespace="SmartVault", MetricName="SnapshotsCreated")["Metrics"]
    dims = sorted(tuple(sorted((d["Name"], d["Value"]) for d in m["Dimensions"])) for m in listed)
    assert (("Service", "Backup"),) in dims
    for account in (HUB, MEMBERS[0], DENIED):
        assert (("AccountId", account), ("Region", "us-east-1"), ("Service", "Backup")) in dims, dims

    # Audit: every item carries the account id it belongs to.
    items = ddb.scan(TableName="audit")["Items"]
    ebs = [i for i in items if i["job"]["S"] == "ebs"]
    assert {i["account_id"]["S"] for i in ebs if i["action"]["S"] == "created"} == {HUB, MEMBERS[0]}
    assert [i["account_id"]["S"] for i in ebs if i["action"]["S"] == "failed"] == [DENIED]


def test_a_region_that_is_not_enabled_fails_its_target_only(moto, proxy, run_smartvault):
    for region in REGIONS:
        fl.launch(ec2_in(moto.url, MEMBERS[0], region), tags={"Backup": "true"}, volumes=1)
    # EC2 in a region the account has not opted into answers every call with AuthFailure.
    proxy.add(Rule("error", op="DescribeInstances", status=401, shape="ec2", code="AuthFailure",
                   message="AWS was not able to validate the provided access credentials",
                   where=lambda req: "/eu-west-1/ec2/" in req.headers.get("Authorization", "")))
    env = multi_env(proxy.url, MEMBERS[0])
    proc = run_smartvault(["run"], extra_env=env)
    assert proc.returncode == 1, proc.stdout[-4000:] + proc.stderr
    targets = {t["region"]: t for t in fl.done(proc.stdout)["targets"]}
    assert targets["us-east-1"]["outcome"] == "ok" and targets["us-east-1"]["snapshots_created"] == 1
    assert targets["eu-west-1"]["outcome"] == "failed" and "AuthFailure" in targets["eu-west-1"]["reason"]


def test_targets_overlap_in_one_batch(moto, run_smartvault):
    """Two accounts' EBS work runs at the same time, not one account after the other: the proxy holds every
    CreateSnapshots and DeleteSnapshot for a while and records which accounts (access keys) it holds at once."""
    import re
    import threading
    import time

    scope = re.compile(r"Credential=([^/,\s]+)/")
    lock, holding, most = threading.Lock(), {}, [0]

    def hold(req):
        m = scope.search(req.headers.get("Authorization", "") or "")
        key = m.group(1) if m else "?"
        with lock:
            holding[key] = holding.get(key, 0) + 1
            most[0] = max(most[0], len([k for k, n in holding.items() if n > 0]))
        time.sleep(0.25)
        with lock:
            holding[key] -= 1
        return None  # then forward

    region = REGIONS[0]
    for account in (HUB, MEMBERS[0]):
        ec2 = ec2_in(moto.url, account, region)
        fl.launch(ec2, count=3, tags={"Backup": "true"}, volumes=1)
    with FaultProxy(moto.url) as proxy:
        proxy.add(Rule(hold, op="CreateSnapshots"))
        env = multi_env(proxy.url, f"{HUB},{MEMBERS[0]}", SOURCE_REGIONS=region)
        env.pop("DEST_REGION_MAP")
        proc = run_smartvault(["run"], extra_env=env)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr
    done = fl.done(proc.stdout)
    assert [t["snapshots_created"] for t in done["targets"]] == [3, 3], done["targets"]
    # Coverage (the alarm's metric) is the run's, every target's volumes: not the last target's alone.
    cov = done["coverage"]
    assert (cov["volumes"], cov["volumes_outside_rpo"], cov["never_backed_up"]) == (6, 0, 0), cov
    # Both accounts had a CreateSnapshots on the wire at the same moment: one batch, not a loop of targets.
    assert most[0] == 2, most


def test_a_stop_during_overlapped_targets_interrupts_them_all_without_failures(moto, smartvault, aws_env):
    """SIGTERM while both accounts' CreateSnapshots are on the wire: exit 4, each target `interrupted` (not a
    failure), what was not sent is deferred and names its account, the report still goes out."""
    import signal
    import subprocess
    import time

    region = REGIONS[0]
    for account in (HUB, MEMBERS[0]):
        fl.launch(ec2_in(moto.url, account, region), count=4, tags={"Backup": "true"}, volumes=1)
    with FaultProxy(moto.url) as proxy:
        proxy.add(Rule("forward", op="CreateSnapshots", delay=1.0))
        env = dict(aws_env, **multi_env(proxy.url, f"{HUB},{MEMBERS[0]}", SOURCE_REGIONS=region, MAX_CONCURRENCY="2"))
        env.pop("DEST_REGION_MAP")
        p = subprocess.Popen([smartvault, "run"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 30
        while proxy.count("CreateSnapshots") < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        p.send_signal(signal.SIGTERM)
        out, err = p.communicate(timeout=60)
    assert p.returncode == 4, (p.returncode, out[-3000:], err)
    done = fl.done(out)
    assert done["outcome"] == "interrupted" and done["counts"]["failures"] == 0, done
    assert [t["outcome"] for t in done["targets"]] == ["interrupted", "interrupted"], done["targets"]
    assert done["counts"]["deferred"] > 0
    deferred = fl.of(out, "ebs.deferred")
    assert deferred and {e["account_id"] for e in deferred} <= {HUB, MEMBERS[0]}
