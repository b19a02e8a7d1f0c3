"""Signed calls to every service SmartVault uses, against moto with signature checking and IAM enforcement on.

moto started with INITIAL_NO_AUTH_ACTION_COUNT=n accepts the first n requests unauthenticated, then verifies
SigV4 signatures and IAM policies. The first requests create an IAM user with an allow-all policy and an access
key; every call after that must be signed correctly with that key, or moto rejects it.
"""

import json

import pytest

import secrets_registry

ADMIN_POLICY = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})


@pytest.fixture
def signed_moto(start_moto, boto3_client):
    server = start_moto({"INITIAL_NO_AUTH_ACTION_COUNT": "3"})
    iam = boto3_client("iam", endpoint_url=server.url)
    iam.create_user(UserName="sv")
    iam.put_user_policy(UserName="sv", PolicyName="all", PolicyDocument=ADMIN_POLICY)
    key = iam.create_access_key(UserName="sv")["AccessKey"]
    secrets_registry.register(key["SecretAccessKey"])
    return server, key["AccessKeyId"], key["SecretAccessKey"]


def _env(server, key_id, secret):
    return {
        "AWS_ACCESS_KEY_ID": key_id,
        "AWS_SECRET_ACCESS_KEY": secret,
        "AWS_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": server.url,
        "AWS_EC2_METADATA_DISABLED": "true",
    }


CALLS = [
    ("ec2", ["ec2", "DescribeInstances"], "DescribeInstancesResponse"),
    ("ec2-filter", ["ec2", "DescribeSnapshots", "Owner.1=self", "Filter.1.Name=tag:CreatedBy",
                    "Filter.1.Value.1=Smart Vault/é"], "DescribeSnapshotsResponse"),
    ("sts", ["sts", "GetCallerIdentity"], "<Arn>"),
    ("sns", ["sns", "CreateTopic", "Name=smartvault-test"], "TopicArn"),
    ("cloudwatch", ["cloudwatch", "PutMetricData", "Namespace=SmartVault", "MetricData.member.1.MetricName=X",
                    "MetricData.member.1.Value=0", "MetricData.member.1.Dimensions.member.1.Name=Service",
                    "MetricData.member.1.Dimensions.member.1.Value=Backup"], "PutMetricDataResponse"),
    ("s3", ["s3", "PUT", "/sv-signed-bucket"], "status=200"),
]

# moto 5.1.1 gaps, checked with boto3 itself (see test_moto_signature_gaps): its signature check rejects
# botocore's own signatures for every DynamoDB call and for S3 keys with non-ASCII characters or '+'. Those paths
# are tested here with signature checking off, and their signatures by the differential test against botocore
# (test_sigv4_diff.py).


@pytest.mark.parametrize("name,args,expect", CALLS, ids=[c[0] for c in CALLS])
def test_signed_call_succeeds(signed_moto, run_smartvault, name, args, expect):
    server, key_id, secret = signed_moto
    proc = run_smartvault(["debug", "call", *args], env=_env(server, key_id, secret))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "status=200" in proc.stdout
    assert expect in proc.stdout


def test_s3_put_get_with_bodies_and_odd_keys(signed_moto, run_smartvault, boto3_client, tmp_path):
    server, key_id, secret = signed_moto
    env = _env(server, key_id, secret)
    assert run_smartvault(["debug", "call", "s3", "PUT", "/sv-bucket"], env=env).returncode == 0
    payload = tmp_path / "payload.bin"
    payload.write_bytes(bytes(range(256)) * 64)
    keys = ["plain.txt", "with space/a b.txt", "percent%25.txt", "q?mark=1&x.txt", "tilde~/x"]
    for key in keys:
        put = run_smartvault(["debug", "call", "s3", "PUT", f"/sv-bucket/{key}", f"body=@{payload}",
                              "header=Content-Type:application/octet-stream"], env=env)
        assert put.returncode == 0, (key, put.stdout, put.stderr)
    import boto3

    s3 = boto3.client("s3", region_name="us-east-1", endpoint_url=server.url, aws_access_key_id=key_id,
                      aws_secret_access_key=secret)
    listed = sorted(o["Key"] for o in s3.list_objects_v2(Bucket="sv-bucket")["Contents"])
    assert listed == sorted(keys)
    for key in keys:
        assert s3.get_object(Bucket="sv-bucket", Key=key)["Body"].read() == payload.read_bytes()
    got = run_smartvault(["debug", "call", "s3", "GET", "/sv-bucket/with space/a b.txt"], env=env)
    assert got.returncode == 0
    assert "\nstatus=200\n" in got.stdout
    listing = run_smartvault(["debug", "call", "s3", "GET", "/sv-bucket", "query=list-type=2&prefix=with%20space%2F"],
                             env=env)
    assert listing.returncode == 0 and "<Key>with space/a b.txt</Key>" in listing.stdout


def test_unsigned_moto_paths_dynamodb_and_unicode_keys(moto, aws_env, run_smartvault, boto3_client):
    """What moto cannot check signatures for still works end to end (signature checking off)."""
    proc = run_smartvault(["debug", "call", "dynamodb", "ListTables", "{}"])
    assert proc.returncode == 0 and "TableNames" in proc.stdout
    create = ('{"TableName":"audit","KeySchema":[{"AttributeName":"pk","KeyType":"HASH"}],'
              '"AttributeDefinitions":[{"AttributeName":"pk","AttributeType":"S"}],"BillingMode":"PAY_PER_REQUEST"}')
    assert run_smartvault(["debug", "call", "dynamodb", "CreateTable", create]).returncode == 0
    put = '{"TableName":"audit","Item":{"pk":{"S":"run-é 1"}}}'
    assert run_smartvault(["debug", "call", "dynamodb", "PutItem", put]).returncode == 0
    items = boto3_client("dynamodb").scan(TableName="audit")["Items"]
    assert items == [{"pk": {"S": "run-é 1"}}]
    assert run_smartvault(["debug", "call", "s3", "PUT", "/uni-bucket"]).returncode == 0
    for key in ["unicodé/日本語.txt", "plus+and%percent.txt"]:
        assert run_smartvault(["debug", "call", "s3", "PUT", f"/uni-bucket/{key}", f"body={key}"]).returncode == 0
        body = boto3_client("s3").get_object(Bucket="uni-bucket", Key=key)["Body"].read().decode()
        assert body == key


def test_moto_signature_gaps(signed_moto, boto3_client):
    """Canary: if moto starts verifying these, move them back into the signed tests above."""
    import boto3
    from botocore.exceptions import ClientError

    server, key_id, secret = signed_moto
    kw = dict(region_name="us-east-1", endpoint_url=server.url, aws_access_key_id=key_id, aws_secret_access_key=secret)
    with pytest.raises(ClientError, match="SignatureDoesNotMatch|403"):
        boto3.client("dynamodb", **kw).list_tables()
    s3 = boto3.client("s3", **kw)
    s3.create_bucket(Bucket="gap-bucket")
    with pytest.raises(ClientError, match="SignatureDoesNotMatch"):
        s3.put_object(Bucket="gap-bucket", Key="é.txt", Body=b"x")


@pytest.mark.parametrize("name,args,expect", CALLS, ids=[c[0] for c in CALLS])
def test_wrong_secret_is_rejected_as_auth_error(signed_moto, run_smartvault, name, args, expect):
    server, key_id, _ = signed_moto
    wrong = secrets_registry.register("wrongSecretKeyDefinitelyNotValid00000000")
    proc = run_smartvault(["debug", "call", *args], env=_env(server, key_id, wrong))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "error=auth" in proc.stdout
    assert "attempts=1" in proc.stdout  # an auth failure is not retried


def test_s3_wrong_secret_is_auth_error(signed_moto, run_smartvault):
    server, key_id, _ = signed_moto
    wrong = secrets_registry.register("wrongSecretKeyDefinitelyNotValid11111111")
    proc = run_smartvault(["debug", "call", "s3", "PUT", "/another-bucket"], env=_env(server, key_id, wrong))
    assert proc.returncode == 1
    assert "error=auth" in proc.stdout
    assert "code=SignatureDoesNotMatch" in proc.stdout
