"""net/batch + net/retry + net/http from outside, through the path every call of a cycle takes.

`smartvault debug batch [--count N] [--concurrency C] ... SERVICE OPERATION [args]` opens the AWS stack a cycle
opens (aws/stack: credentials chain, pacing with one retry policy per service and region, one HTTP pool) and runs
N signed copies of one `debug call` request through aws/call -> net/batch -> net/retry -> net/http, with the retry
policy of AWS_RETRY_MODE / AWS_MAX_ATTEMPTS, against faultproxy in front of moto (AWS_ENDPOINT_URL). It prints a
JSON summary: per request the final error, last HTTP status, transport result, retry class, stop reason, AWS code,
attempts; for the run the attempts, retries, throttles, the policy's timeouts and retry quota left, connections and
TLS handshakes.

Each request carries the header `x-smartvault-debug-request: <index>`, so a rule can pick one request
(`where=nth(3)`).

Note on resets: libcurl itself resends a request once when a kept-alive connection turns out to be closed
before any byte of the answer (it cannot tell that from an idle timeout). That resend is not one of our
attempts, so the proxy may count one request more than the binary's `attempts` for reset faults.
"""

import json
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from faultproxy import FaultProxy, Rule, aws_error_body, mark_snapshots_pending, operation_of  # noqa: E402

EC2_AUTH = ("Authorization: AWS4-HMAC-SHA256 Credential=testing/20250101/us-east-1/ec2/aws4_request, "
            "SignedHeaders=host, Signature=00")
DDB_AUTH = EC2_AUTH.replace("/ec2/", "/dynamodb/")
FORM = "Content-Type: application/x-www-form-urlencoded; charset=utf-8"

# warm_moto's unsigned requests: (method, body, headers).
WARM = {
    "ec2": ("POST", "Action=DescribeRegions&Version=2016-11-15", [EC2_AUTH, FORM]),
    "json": ("POST", "{}", [DDB_AUTH, "X-Amz-Target: DynamoDB_20120810.ListTables",
                            "Content-Type: application/x-amz-json-1.0"]),
}

# How each protocol shape is exercised: shape -> (debug call arguments, the operation the proxy sees).
CALLS = {
    "query": (["ec2", "DescribeRegions"], "DescribeRegions"),
    "ec2": (["ec2", "DescribeRegions"], "DescribeRegions"),
    "s3": (["s3", "GET", "/"], "GET /"),
    "json": (["dynamodb", "ListTables", "{}"], "ListTables"),
}


def nth(i):
    """A rule condition: only the batch's request number i."""
    return lambda req: req.headers.get("x-smartvault-debug-request") == str(i)


@pytest.fixture(scope="module", autouse=True)
def warm_moto(moto_server):
    """One call per service before the timed tests: moto builds a service's backend on its first request (seconds
    on a loaded machine), which would otherwise be charged to whichever test happens to run first."""
    import urllib.request

    for shape in ("ec2", "json"):
        method, body, headers = WARM[shape]
        req = urllib.request.Request(moto_server.url + "/", data=body.encode(), method=method,
                                     headers=dict(h.split(": ", 1) for h in headers))
        try:
            urllib.request.urlopen(req, timeout=60).read()
        except urllib.error.HTTPError:
            pass  # an error document is an answer too: the backend exists now


@pytest.fixture
def proxy(moto_server):
    with FaultProxy(moto_server.url) as p:
        yield p


def run_batch(run_smartvault, proxy, *, count, concurrency=1, shape="ec2", max_attempts=3, mode="standard",
              extra=(), timeout=60):
    args, _ = CALLS[shape]
    cmd = ["debug", "batch", "--count", str(count), "--concurrency", str(concurrency), *extra, *args]
    env = {"AWS_ENDPOINT_URL": proxy.url, "AWS_MAX_ATTEMPTS": str(max_attempts), "AWS_RETRY_MODE": mode}
    t0 = time.monotonic()
    proc = run_smartvault(cmd, extra_env=env, timeout=timeout)
    elapsed = time.monotonic() - t0
    assert proc.returncode in (0, 1), proc.stderr
    # stdout: the JSON log lines of the stack (credentials resolved ...), then the summary on the last line.
    summary = json.loads(proc.stdout.splitlines()[-1])
    summary["elapsed_s"] = elapsed
    summary["rc"] = proc.returncode
    return summary


# ---- throttling ----


# Each protocol shape's throttling reply (RequestLimitExceeded, Throttling, SlowDown, the DynamoDB exception) ends in
# success within max attempts; the EC2 case is a burst (6 requests, 3 in flight, each throttled twice) so every
# request's own attempts are counted. On the cycle's path the client-side limiters of aws/pacing are on (EC2's
# documented buckets; the adaptive limiter of other services armed by the first throttle, never slower than 0.5
# tokens/s): a burst of 6 x 2 throttles on S3 or DynamoDB would spend ~30 s waiting for tokens, which is the
# limiter's behaviour, not the retry policy's, so those shapes send one request.
@pytest.mark.parametrize("shape,n,concurrency", [("query", 1, 1), ("ec2", 6, 3), ("s3", 1, 1), ("json", 1, 1)])
def test_throttling_bursts_end_in_success_within_max_attempts(run_smartvault, proxy, shape, n, concurrency):
    for i in range(n):
        proxy.add(Rule("throttle", shape=shape, where=nth(i), count=2))
    s = run_batch(run_smartvault, proxy, count=n, concurrency=concurrency, shape=shape)
    assert s["rc"] == 0 and s["succeeded"] == n
    for r in s["requests"]:
        assert r["final"] == "ok" and r["status"] == 200
        assert r["attempts"] == 3 and r["retries"] == 2
    assert s["throttles"] == 2 * n
    assert proxy.count(CALLS[shape][1]) == 3 * n
    assert proxy.injected() == {"throttle": 2 * n}
    # Throttling backs off from a 500 ms base: two waits are at most 0.5 + 1 s (exact timing: unit test
    # batch_throttled_then_success_within_max_attempts); each attempt the limiter held back waits at most one token
    # at its 0.5 tokens/s floor.
    assert s["wall_ms"] < 5000 + 2000 * s["limiter_waits"]


def test_throttling_beyond_max_attempts_reports_the_code(run_smartvault, proxy):
    proxy.add(Rule("throttle", shape="ec2"))
    s = run_batch(run_smartvault, proxy, count=2, concurrency=2, max_attempts=2)
    assert s["rc"] == 1 and s["succeeded"] == 0
    for r in s["requests"]:
        assert (r["final"], r["status"], r["code"]) == ("aws", 503, "RequestLimitExceeded")
        assert (r["class"], r["stop"], r["attempts"]) == ("throttling", "max_attempts", 2)
    assert proxy.count("DescribeRegions") == 4


def test_adaptive_mode_throttling_then_success(run_smartvault, proxy):
    proxy.add(Rule("throttle", shape="query", count=3))
    s = run_batch(run_smartvault, proxy, count=10, concurrency=4, mode="adaptive")
    assert s["mode"] == "adaptive"
    assert s["succeeded"] == 10
    assert s["throttles"] == 3
    assert s["attempts"] == 13


# ---- server errors ----


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_5xx_is_retried(run_smartvault, proxy, status):
    proxy.add(Rule("error", status=status, content="oops", count=2))
    s = run_batch(run_smartvault, proxy, count=1)
    r = s["requests"][0]
    assert r["final"] == "ok" and r["attempts"] == 3
    assert proxy.count("DescribeRegions") == 3


def test_5xx_with_ec2_error_document(run_smartvault, proxy):
    proxy.add(Rule("error", status=500, shape="ec2", code="InternalError"))
    s = run_batch(run_smartvault, proxy, count=1, max_attempts=3)
    r = s["requests"][0]
    assert (r["final"], r["status"], r["code"], r["class"], r["attempts"]) == ("aws", 500, "InternalError",
                                                                               "transient", 3)


def test_501_is_not_retried(run_smartvault, proxy):
    proxy.add(Rule("error", status=501, content="not implemented"))
    s = run_batch(run_smartvault, proxy, count=1)
    r = s["requests"][0]
    assert (r["final"], r["status"], r["class"], r["attempts"]) == ("http", 501, "not_retryable", 1)
    assert proxy.count("DescribeRegions") == 1


# ---- not retryable ----


# The request layer reports a denied action or rejected credentials as "auth" (aws/call.h), other codes as "aws".
@pytest.mark.parametrize(
    "status,shape,code,final",
    [(403, "query", "AccessDenied", "auth"), (400, "query", "ValidationError", "aws"),
     (400, "ec2", "InvalidParameterValue", "aws"), (403, "s3", "AccessDenied", "auth"),
     (400, "json", "ValidationException", "aws"), (403, "ec2", "AuthFailure", "auth")],
)
def test_non_retryable_errors_are_sent_once(run_smartvault, proxy, status, shape, code, final):
    proxy.add(Rule("error", status=status, shape=shape, code=code))
    s = run_batch(run_smartvault, proxy, count=3, concurrency=3, shape=shape)
    assert s["rc"] == 1 and s["retries"] == 0
    for r in s["requests"]:
        assert (r["final"], r["status"], r["code"]) == (final, status, code)
        assert (r["class"], r["stop"], r["attempts"]) == ("not_retryable", "not_retryable", 1)
    assert proxy.count(CALLS[shape][1]) == 3  # exactly one attempt each, counted at the proxy
    assert s["quota_left"] == 500


def test_plain_404_is_not_retried(run_smartvault, proxy):
    proxy.add(Rule("error", status=404, content=""))
    s = run_batch(run_smartvault, proxy, count=1)
    r = s["requests"][0]
    assert (r["final"], r["status"], r["code"], r["attempts"]) == ("http", 404, "", 1)


# ---- broken connections ----


@pytest.mark.parametrize("action", ["reset", "reset_after_headers", "truncate"])
def test_broken_responses_are_retried(run_smartvault, proxy, action):
    proxy.add(Rule(action, where=nth(1), count=2))
    s = run_batch(run_smartvault, proxy, count=3)
    assert s["rc"] == 0 and s["succeeded"] == 3
    broken = s["requests"][1]
    assert broken["final"] == "ok"
    assert 2 <= broken["attempts"] <= 3  # see the note on resets at the top
    assert proxy.injected() == {action: 2}


@pytest.mark.parametrize("action", ["reset", "reset_after_headers", "truncate"])
def test_broken_responses_are_classified_transient(run_smartvault, proxy, action):
    proxy.add(Rule(action))
    s = run_batch(run_smartvault, proxy, count=1, max_attempts=2)
    r = s["requests"][0]
    assert (r["final"], r["transport"], r["status"], r["class"], r["stop"]) == ("net", "net", 0, "transient",
                                                                                "max_attempts")
    assert r["attempts"] == 2
    assert s["quota_left"] == 495


# ---- deadlines ----


def test_slow_response_hits_the_attempt_deadline(run_smartvault, proxy):
    proxy.add(Rule("forward", delay=5))
    s = run_batch(run_smartvault, proxy, count=2, concurrency=2, max_attempts=2, extra=["--timeout-ms", "400"],
                  timeout=30)
    for r in s["requests"]:
        assert (r["final"], r["transport"], r["class"], r["stop"], r["attempts"]) == ("timeout", "timeout",
                                                                                      "timeout", "max_attempts", 2)
    assert s["timeouts"] == 4
    assert s["quota_left"] == 500 - 2 * 10  # a timeout retry costs 10
    assert s["elapsed_s"] < 3


def test_stalled_body_hits_the_low_speed_guard(run_smartvault, proxy):
    proxy.add(Rule("stall", seconds=20))
    s = run_batch(run_smartvault, proxy, count=1, max_attempts=1, extra=["--low-speed-ms", "1000"], timeout=30)
    r = s["requests"][0]
    assert (r["final"], r["class"]) == ("timeout", "timeout")
    assert s["elapsed_s"] < 8


def test_item_deadline_stops_retrying(run_smartvault, proxy):
    proxy.add(Rule("throttle", shape="s3"))
    s = run_batch(run_smartvault, proxy, count=1, max_attempts=20, shape="s3", extra=["--deadline-ms", "1500"],
                  timeout=30)
    r = s["requests"][0]
    assert (r["final"], r["stop"], r["class"], r["code"]) == ("timeout", "deadline", "throttling", "SlowDown")
    assert r["wall_ms"] <= 1600
    assert 1 <= r["attempts"] < 20


# ---- the proxy's own features that later tests rely on ----


def test_proxy_counts_operations_by_protocol():
    class H(dict):
        def get(self, k, d=None):
            return super().get(k, d)

    assert operation_of("POST", "/", "", H(), b"Action=DescribeSnapshots&Version=2016-11-15") == "DescribeSnapshots"
    assert operation_of("GET", "/", "Action=ListTopics&Version=2010-03-31", H(), b"") == "ListTopics"
    assert operation_of("POST", "/", "", H({"X-Amz-Target": "DynamoDB_20120810.BatchWriteItem"}), b"{}") == \
        "BatchWriteItem"
    assert operation_of("PUT", "/bucket/key", "partNumber=1", H(), b"") == "PUT /bucket/key"


def test_proxy_error_shapes_parse_as_xml_and_json():
    import xml.etree.ElementTree as ET

    for shape in ("query", "ec2", "s3"):
        body, _ = aws_error_body(shape, "Throttling")
        ET.fromstring(body)
        assert b"<Code>Throttling</Code>" in body
    body, ctype = aws_error_body("json", "ProvisionedThroughputExceededException")
    assert json.loads(body)["__type"].endswith("#ProvisionedThroughputExceededException")
    assert ctype == "application/x-amz-json-1.0"


def test_proxy_rewrites_snapshots_pending_and_injects_in_use(moto_server, boto3_client):
    moto_server.reset()
    ec2 = boto3_client("ec2")
    vol = ec2.create_volume(AvailabilityZone="us-east-1a", Size=1)["VolumeId"]
    snaps = [ec2.create_snapshot(VolumeId=vol)["SnapshotId"] for _ in range(3)]
    with FaultProxy(moto_server.url) as p:
        p.add(Rule("rewrite", op="DescribeSnapshots", fn=mark_snapshots_pending({snaps[1]})))
        p.add(Rule("error", op="DeleteSnapshot", body=f"SnapshotId={snaps[2]}", status=400, shape="ec2",
                   code="InvalidSnapshot.InUse", message=f"The snapshot {snaps[2]} is currently in use by ami-1"))
        via = boto3_client("ec2", endpoint_url=p.url)
        got = {s["SnapshotId"]: s["State"] for s in via.describe_snapshots(SnapshotIds=snaps)["Snapshots"]}
        assert got == {snaps[0]: "completed", snaps[1]: "pending", snaps[2]: "completed"}
        via.delete_snapshot(SnapshotId=snaps[0])
        with pytest.raises(Exception) as e:
            via.delete_snapshot(SnapshotId=snaps[2])
        assert "InvalidSnapshot.InUse" in str(e.value)
        assert p.count("DescribeSnapshots") == 1
        assert p.count("DeleteSnapshot") == 2
        assert [e["action"] for e in p.log] == ["rewrite", "forward", "error"]


def test_proxy_skews_date_and_adds_latency(moto_server):
    import email.utils
    import urllib.request

    with FaultProxy(moto_server.url, latency=0.2) as p:
        p.add(Rule("skew_date", offset=-3600))
        t0 = time.monotonic()
        with urllib.request.urlopen(p.url + "/moto-api/", timeout=10) as r:
            date = email.utils.parsedate_to_datetime(r.headers["Date"]).timestamp()
        assert time.monotonic() - t0 >= 0.2
        assert abs(date - (time.time() - 3600)) < 60


def test_proxy_probability_is_seeded(moto_server):
    import urllib.error
    import urllib.request

    def outcomes(seed):
        with FaultProxy(moto_server.url) as p:
            p.add(Rule("error", status=503, content="x", probability=0.5, seed=seed))
            out = []
            for _ in range(20):
                try:
                    with urllib.request.urlopen(p.url + "/moto-api/", timeout=10) as r:
                        out.append(r.status)
                except urllib.error.HTTPError as e:
                    out.append(e.code)
            return out

    a, b = outcomes(7), outcomes(7)
    assert a == b and 503 in a and 200 in a


# ---- `debug call`: the same request layer, one request, its exit code and error line ----


@pytest.mark.parametrize("action,rc,expected", [
    ("throttle", 1, ("aws", "RequestLimitExceeded", "503", "2")),
    ("reset", 3, ("net", "-", "0", "2")),  # the endpoint never answered: exit 3, as a cycle's first call would
])
def test_debug_call_reports_the_fault_and_its_exit_code(run_smartvault, proxy, action, rc, expected):
    proxy.add(Rule(action, shape="ec2") if action == "throttle" else Rule(action))
    proc = run_smartvault(["debug", "call", "ec2", "DescribeRegions"],
                          extra_env={"AWS_ENDPOINT_URL": proxy.url, "AWS_MAX_ATTEMPTS": "2"})
    assert proc.returncode == rc, proc.stderr
    line = next(ln for ln in proc.stdout.splitlines() if ln.startswith("error="))
    f = dict(kv.split("=", 1) for kv in line.split())
    assert (f["error"], f["code"], f["status"], f["attempts"]) == expected
    assert 2 <= proxy.count("DescribeRegions") <= 3  # see the note on resets at the top
