"""AWS's SigV4 test suite and the presign examples, replayed through `smartvault debug sign`.

Every case of ../shared/testdata/sigv4/aws4_testsuite is signed with the suite's fixed inputs (SOURCE.md:
AKIDEXAMPLE, wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY, us-east-1, service "service", 20150830T123600Z) and the
binary's canonical request, string to sign and Authorization value must equal the .creq, .sts and .authz files
byte for byte. Then every example of PRESIGN_EXAMPLES.md (S3 documentation, botocore's unit-test vectors, EC2
CopySnapshot's PresignedUrl) is presigned and compared the same way.

The test data is read in place (never copied into the repository); without it the tests are skipped.
"""

import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TESTDATA = ROOT.parent / "shared" / "testdata" / "sigv4"
SUITE = TESTDATA / "aws4_testsuite"

SUITE_ARGS = [
    "--access-key", "AKIDEXAMPLE",
    "--secret", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
    "--region", "us-east-1",
    "--service", "service",
    "--time", "20150830T123600Z",
]  # fmt: skip
SESSION_TOKEN = "6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267"  # SOURCE.md

pytestmark = pytest.mark.skipif(not SUITE.is_dir(), reason=f"{SUITE} is not present")


def suite_cases():
    if not SUITE.is_dir():
        return []
    return sorted(p.with_suffix("") for p in SUITE.rglob("*.req"))


def sts_token():
    """post-sts-token/readme.txt ends with the example token, on a line of its own."""
    lines = [l.strip() for l in (SUITE / "post-sts-token/readme.txt").read_text().splitlines() if l.strip()]
    return lines[-1]


def token_args(name):
    if name == "get-vanilla-with-session-token":
        return ["--token", SESSION_TOKEN]
    if name == "post-sts-header-before":
        # The token is part of the canonical request. (post-sts-header-after adds it after signing, so that
        # case is signed without one: the signer never sees the token.)
        return ["--token", sts_token()]
    return []


def sign(smartvault, args, stdin=None):
    return subprocess.run(
        [smartvault, "debug", "sign", *args],
        input=stdin,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={"PATH": "/usr/bin:/bin"},
        timeout=30,
    )


@pytest.mark.parametrize("case", suite_cases(), ids=lambda p: p.name)
@pytest.mark.parametrize("stage", ["creq", "sts", "authz"])
def test_suite_case(smartvault, case, stage):
    args = [*SUITE_ARGS, *token_args(case.name), "--print", stage, str(case.with_suffix(".req"))]
    proc = sign(smartvault, args)
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")
    want = case.with_suffix("." + stage).read_bytes()
    assert proc.stdout == want


def test_suite_is_complete():
    """SOURCE.md promises 34 cases; a missing one must not pass silently."""
    assert len(suite_cases()) == 34


def test_request_from_stdin_equals_file(smartvault):
    case = SUITE / "get-vanilla-query-order-key-case/get-vanilla-query-order-key-case"
    proc = sign(smartvault, [*SUITE_ARGS, "--print", "authz", "-"], stdin=case.with_suffix(".req").read_bytes())
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == case.with_suffix(".authz").read_bytes()


# --- PRESIGN_EXAMPLES.md ------------------------------------------------------------------------------------
#
# Inputs as the document states them; every expected value below must also appear verbatim in the document, so
# a typo here cannot make a test pass (test_presign_expectations_come_from_the_document).

S3_DOC_CREQ = (
    "GET\n/test.txt\n"
    "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2F"
    "aws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host\n"
    "host:examplebucket.s3.amazonaws.com\n\nhost\nUNSIGNED-PAYLOAD"
)
S3_DOC_STS = (
    "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n"
    "3bfa292879f6447bbcda7001decf97f4a54dc650c8942174ae0a9121cf58ad04"
)
S3_DOC_URL = (
    "https://examplebucket.s3.amazonaws.com/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential="
    "AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400"
    "&X-Amz-SignedHeaders=host&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"
)
EC2_PARAMS = (
    "Action=CopySnapshot&DestinationRegion=us-east-1&SourceRegion=us-west-2"
    "&SourceSnapshotId=snap-1234567890abcdef0&Version=2016-11-15"
)
B_ARGS = ["--access-key", "access_key", "--secret", "secret_key", "--region", "myregion", "--service", "myservice",
          "--time", "20140101T000000Z", "--presign", "60"]  # fmt: skip
DSQL_ARGS = ["--access-key", "ACCESS_KEY", "--secret", "SECRET_KEY", "--token", "SESSION_TOKEN",
             "--region", "us-east-1", "--service", "dsql", "--time", "20241107T173933Z", "--presign", "900"]  # fmt: skip
C_ARGS = [*SUITE_ARGS[:4], "--region", "us-west-2", "--service", "ec2", "--time", "20150830T123600Z",
          "--presign", "3600"]  # fmt: skip

# id, arguments, request, {what: expected}; "cq" is the canonical query string (third line of the .creq),
# "sts_hash" the last line of the string to sign.
PRESIGN_EXAMPLES = [
    (
        "A-s3-doc",
        ["--access-key", "AKIAIOSFODNN7EXAMPLE", "--secret", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
         "--region", "us-east-1", "--service", "s3", "--s3", "--time", "20130524T000000Z", "--presign", "86400"],
        "GET /test.txt HTTP/1.1\nHost:examplebucket.s3.amazonaws.com\n",
        {"creq": S3_DOC_CREQ, "sts": S3_DOC_STS, "url": S3_DOC_URL,
         "signature": "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"},
    ),
    (
        "B1-presign-no-params",
        B_ARGS,
        "GET / HTTP/1.1\nHost:ec2.us-east-1.amazonaws.com\n",
        {"signature": "c70e0bcdb4cd3ee324f71c78195445b8788315af0800bbbdbbb6d05a616fb84c"},
    ),
    (
        "B2-s3-presign",
        [*B_ARGS, "--s3"],
        "GET /mybucket/keyname/.bar HTTP/1.1\nHost:s3.us-west-2.amazonaws.com\n",
        {"signature": "ac1b8b9e47e8685c5c963d75e35e8741d55251cd955239cc1efad4dc7201db66"},
    ),
    (
        "B3-param-before-x-amz",
        B_ARGS,
        "GET /?Param=value HTTP/1.1\nHost:myservice.us-east-1.amazonaws.com\n",
        {"signature": "8e1d372d168d532313ce6df8f64a7dc51de6f312a9cfba6e5b345d8a771e839c"},
    ),
    (
        "B4-rds-db-auth-token",
        ["--access-key", "akid", "--secret", "skid", "--region", "us-east-1", "--service", "rds-db",
         "--time", "20161107T173933Z", "--presign", "900"],
        "GET /?Action=connect&DBUser=someusername HTTP/1.1\nHost:prod-instance.us-east-1.rds.amazonaws.com:3306\n",
        {"signature": "d1138cdbc0ca63eec012ec0fc6c2267e03642168f5884a7795320d4c18374c61",
         "cq": "Action=connect&DBUser=someusername&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=akid%2F20161107"
               "%2Fus-east-1%2Frds-db%2Faws4_request&X-Amz-Date=20161107T173933Z&X-Amz-Expires=900"
               "&X-Amz-SignedHeaders=host"},
    ),
    (
        "B5-dsql-token",
        DSQL_ARGS,
        "GET /?Action=DbConnect HTTP/1.1\nHost:test.dsql.us-east-1.on.aws\n",
        {"signature": "57fe03e060348aaa21405c239bf02572bbc911076e94dcd65c12ae569dd8fcf4",
         "cq": "Action=DbConnect&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=ACCESS_KEY%2F20241107%2Fus-east-1"
               "%2Fdsql%2Faws4_request&X-Amz-Date=20241107T173933Z&X-Amz-Expires=900"
               "&X-Amz-Security-Token=SESSION_TOKEN&X-Amz-SignedHeaders=host"},
    ),
    (
        "B6-dsql-admin-token",
        DSQL_ARGS,
        "GET /?Action=DbConnectAdmin HTTP/1.1\nHost:test.dsql.us-east-1.on.aws\n",
        {"signature": "5ac084bc7cabccc19a52a5d1b5c24b50d3ce143f43b659bd484c91aaf555e190"},
    ),
    (
        "C1-ec2-copysnapshot",
        C_ARGS,
        f"GET /?{EC2_PARAMS} HTTP/1.1\nHost:ec2.us-west-2.amazonaws.com\n",
        {"signature": "e351c06309630fbda47dd2669fc7d7593e77a4fd550edbf2404b9f312f84f3ad",
         "sts_hash": "f18227ab4a37e6ebfa51a25a1ea1097b5ca4aa5a7452f3b3e1682b4f0dba739e",
         "cq": EC2_PARAMS + "&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-west-2"
               "%2Fec2%2Faws4_request&X-Amz-Date=20150830T123600Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host"},
    ),
    (
        "C2-ec2-copysnapshot-token",
        [*C_ARGS, "--token", SESSION_TOKEN],
        f"GET /?{EC2_PARAMS} HTTP/1.1\nHost:ec2.us-west-2.amazonaws.com\n",
        {"signature": "3c2da795cc0b4cac4bdf3cfb908d8f4b64040e77f071742c8ff4a2c15004362a",
         "sts_hash": "c6bf0d56d2c9207255807c924608df9bc4f381ca89b307395fd13ea01966a6d6"},
    ),
]  # fmt: skip


def printed(smartvault, args, request, what):
    proc = sign(smartvault, [*args, "--print", what, "--request", request])
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")
    return proc.stdout.decode()


@pytest.mark.parametrize("example", PRESIGN_EXAMPLES, ids=lambda e: e[0])
def test_presign_example(smartvault, example):
    _, args, request, want = example
    for what, value in want.items():
        if what == "cq":
            got = printed(smartvault, args, request, "creq").split("\n")[2]
        elif what == "sts_hash":
            got = printed(smartvault, args, request, "sts").split("\n")[3]
        else:
            got = printed(smartvault, args, request, what)
        assert got == value, what
    # The URL ends with the signature, after every signed parameter.
    url = printed(smartvault, args, request, "url")
    assert url.endswith("&X-Amz-Signature=" + want["signature"])


def test_presign_expectations_come_from_the_document():
    doc = (TESTDATA / "PRESIGN_EXAMPLES.md").read_text()
    for name, _, _, want in PRESIGN_EXAMPLES:
        for what, value in want.items():
            for piece in value.split("\n"):
                assert piece in doc, f"{name} {what}: {piece!r} is not in PRESIGN_EXAMPLES.md"


@pytest.mark.parametrize(
    "args, flag",
    [
        (["--region"], "--region"),
        (["--bogus"], "--bogus"),
        (["--presign", "0"], "--presign"),
        (["--presign", "604801"], "--presign"),
        ([*SUITE_ARGS[:8], "--time", "2015-08-30", "-"], "--time"),
        (["--print", "everything"], "--print"),
        ([*SUITE_ARGS, "--print", "url", "-"], "--print url"),
        ([*SUITE_ARGS, "--payload-hash", "XYZ", "-"], "--payload-hash"),
        ([*SUITE_ARGS[2:], "-"], "--access-key"),
    ],
)
def test_usage_errors_exit_2_naming_the_flag(smartvault, args, flag):
    proc = sign(smartvault, args, stdin=b"GET / HTTP/1.1\nHost:h\n")
    assert proc.returncode == 2
    err = proc.stderr.decode()
    assert err.count("\n") == 1 and flag in err, err
    assert proc.stdout == b""
