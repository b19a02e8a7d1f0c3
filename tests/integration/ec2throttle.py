"""ec2throttle - EC2's request throttling, as AWS documents it, for the loopback fault proxy (stdlib only).

Amazon EC2 throttles "for each AWS account on a per-Region basis", per API, with token buckets (EC2 Developer
Guide, "Request throttling for the Amazon EC2 API"): each request takes one token from its API's bucket; buckets
refill at a set rate up to their size; a request that finds the bucket empty is answered HTTP 503
`RequestLimitExceeded` and NOT executed. The emulator never throttles, so this rule sits in front of it:

    from ec2throttle import Ec2Throttle
    buckets = Ec2Throttle()                          # documented sizes and refill rates
    with FaultProxy(moto.url, latency=0.02) as proxy:
        proxy.add(buckets.rule())
        ... run a client with AWS_ENDPOINT_URL=proxy.url ...
    buckets.throttled()   -> {("eu-west-1", "CreateSnapshots"): 12, ...}
    buckets.accepted()    -> {("eu-west-1", "CreateSnapshots"): 150, ...}
    buckets.floor_s(calls) -> max over (region, API) of max(0, calls - bucket) / refill

The account is the access key id of the request's SigV4 credential scope, the region its region: every
(account, region, API) has its own bucket, all full at the start. `scale` multiplies every refill rate (tests that
want a storm with a small fleet use scale < 1).
"""

import datetime
import re
import threading
import time

import ebs_fleet

from faultproxy import Rule

# (bucket size, refill per second). Same table as the product's src/aws/pacing.c, from the same AWS page.
DOCUMENTED = {
    "CreateSnapshot": (100, 5),
    "CreateSnapshots": (100, 5),
    "DeleteSnapshot": (100, 5),
    "CopySnapshot": (50, 5),
    "DescribeInstances": (100, 20),
    "DescribeSnapshots": (100, 20),
    "DescribeVolumes": (100, 20),
}
NON_MUTATING = (100, 20)
MUTATING = (50, 5)

_SCOPE = re.compile(r"Credential=([^/,\s]+)/\d{8}/([a-z0-9-]+)/ec2/aws4_request")


def documented(api):
    if api in DOCUMENTED:
        return DOCUMENTED[api]
    return NON_MUTATING if api.startswith("Describe") else MUTATING


class Ec2Throttle:
    def __init__(self, scale=1.0, sizes=None, start_fill=1.0, clock=time.monotonic):
        self.scale = scale
        self.start_fill = start_fill  # fraction of each bucket left at the start (a neighbour used the rest)
        self.sizes = dict(sizes or {})  # api -> (size, refill) overrides
        self.clock = clock
        self._lock = threading.Lock()
        self._buckets = {}  # (account, region, api) -> [tokens, last]
        self._accepted = {}
        self._throttled = {}

    def bucket_of(self, api):
        size, refill = self.sizes.get(api, documented(api))
        return size, refill * self.scale

    def _take(self, key, api):
        size, refill = self.bucket_of(api)
        now = self.clock()
        b = self._buckets.setdefault(key, [float(size) * self.start_fill, now])
        b[0] = min(float(size), b[0] + (now - b[1]) * refill)
        b[1] = now
        if b[0] >= 1.0:
            b[0] -= 1.0
            return True
        return False

    def _empty(self, req):
        """Rule condition (called under the proxy's lock): take a token, or say the bucket is empty."""
        m = _SCOPE.search(req.headers.get("Authorization", "") or "")
        if m is None:
            return False  # not an EC2 request
        account, region = m.group(1), m.group(2)
        api = req.op
        with self._lock:
            ok = self._take((account, region, api), api)
            book = self._accepted if ok else self._throttled
            book[(region, api)] = book.get((region, api), 0) + 1
        return not ok

    def rule(self):
        """The first rule of a proxy: 503 RequestLimitExceeded when the bucket is empty; else the next rules."""
        return Rule("throttle", shape="ec2", where=self._empty)

    def throttled(self):
        with self._lock:
            return dict(self._throttled)

    def accepted(self):
        with self._lock:
            return dict(self._accepted)

    def floor_s(self, calls=None):
        """The physical floor: for each (region, API), max(0, calls - bucket) / refill; the largest of them."""
        calls = self.accepted() if calls is None else calls
        worst = 0.0
        for (_region, api), n in calls.items():
            size, refill = self.bucket_of(api)
            worst = max(worst, max(0.0, n - size) / refill)
        return worst


# ---- history for tests and the benchmark: moto stamps its own clock, the proxy reports the seeded ages ----


def backdate(times):
    """A DescribeSnapshots rewrite: the <startTime> of the given snapshot ids becomes the given Unix time."""
    part_re = re.compile(rb"<snapshotId>(snap-[0-9a-zA-Z]+)</snapshotId>(.*?)(?=<snapshotId>|\Z)", re.S)

    def rewrite(req, status, headers, body):
        if status != 200:
            return None

        def fix(m):
            t = times.get(m.group(1).decode())
            if t is None:
                return m.group(0)
            iso = datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")
            rest = re.sub(rb"<startTime>[^<]*</startTime>", b"<startTime>" + iso.encode() + b"</startTime>",
                          m.group(2), count=1)
            return b"<snapshotId>" + m.group(1) + b"</snapshotId>" + rest

        return status, headers, part_re.sub(fix, body)

    return rewrite


def seed_history(ec2, ec2_dst, instances, src_region):
    """Per volume: an expired (8 d) and a recent (2 d) SmartVault snapshot, each with its DR copy."""
    now = int(time.time())
    times, expired = {}, set()
    for iid in instances:
        for vol in ebs_fleet.volumes_of(ec2, iid):
            for age in (8, 2):
                tags = {"CreatedBy": "SmartVault", "InstanceId": iid}
                s = ec2.create_snapshot(VolumeId=vol, TagSpecifications=[
                    {"ResourceType": "snapshot", "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}])
                sid = s["SnapshotId"]
                ctags = dict(tags, SourceSnapshotId=sid, SourceRegion=src_region, VolumeId=vol)
                c = ec2_dst.copy_snapshot(SourceRegion=src_region, SourceSnapshotId=sid, TagSpecifications=[
                    {"ResourceType": "snapshot", "Tags": [{"Key": k, "Value": v} for k, v in ctags.items()]}])
                times[sid] = times[c["SnapshotId"]] = now - age * 86400
                if age == 8:
                    expired |= {sid, c["SnapshotId"]}
    return times, expired
