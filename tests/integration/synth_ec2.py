"""synth_ec2 - a synthetic EC2 for fleet scale: 70,000+ snapshots per region answered in milliseconds (stdlib only).

moto 5.1.1 cannot hold a scale run: it ignores MaxResults/NextToken on DescribeSnapshots (one page of everything),
filters every snapshot in Python on every call and finds each resource's tags by scanning every tag of the region,
so listing 5,000+ tagged snapshots times out. This server answers the EBS calls SmartVault makes, in EC2's shapes
(the same elements moto renders), loopback only, no signature check (the region is read from the SigV4 scope):

  DescribeInstances   Filter tag-key (any of the values) and instance-state-name; MaxResults/NextToken
  DescribeSnapshots   Owner self; Filter tag:<key>=<value>; SnapshotId.N; MaxResults/NextToken (pages in creation
                      order, as a continuation index: snapshots created or deleted meanwhile do not shift a page)
  CreateSnapshots     one snapshot per EBS volume of the instance, TagSpecification tags, state `completed`
  CopySnapshot        from SourceRegion's snapshot, TagSpecification tags; `completed` at once (as moto)
  DeleteSnapshot      InvalidSnapshot.NotFound when absent
  CreateTags          on snapshots (SmartVault:Device)

The fleet (`seed`): `instances` instances of `volumes` volumes tagged Backup=true, and per volume one SmartVault
snapshot per day for `days` days (ages 1..days days + 1 h) with a completed copy of each in the DR region - the
history of a daily schedule. Calls are counted per (region, action). Checked against moto on a small fleet
(tests/integration/test_ec2_synth.py): both answer the same listings, page by page.
"""

import re
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ACCOUNT_ID = "123456789012"
DEVICES = ["/dev/xvda", "/dev/sdf", "/dev/sdg", "/dev/sdh", "/dev/sdi", "/dev/sdj"]
_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/([a-z0-9-]+)/ec2/aws4_request")
NS = "http://ec2.amazonaws.com/doc/2016-11-15/"


def iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(t))


def esc(s):
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class Region:
    def __init__(self):
        self.instances = {}  # id -> (tags dict, [(device, volume)], state)
        self.snaps = {}  # id -> dict(id, volume, state, start, tags, seq); insertion order = creation order
        self.order = []  # snapshot ids in creation order (deleted ones stay, skipped when listing)
        self.by_tag = {}  # (key, value) -> set of snapshot ids


class SynthEc2:
    def __init__(self):
        self.regions = {}
        self.calls = {}
        self.lock = threading.Lock()
        self.seq = 0
        self.server = None

    # ---- data ----

    def region(self, name):
        return self.regions.setdefault(name, Region())

    def _new_id(self, prefix):
        self.seq += 1
        return f"{prefix}-{self.seq:017x}"

    def add_snapshot(self, region, volume, start, tags, sid=None):
        r = self.region(region)
        sid = sid or self._new_id("snap")
        r.snaps[sid] = {"id": sid, "volume": volume, "state": "completed", "start": start, "tags": dict(tags)}
        r.order.append(sid)
        for kv in tags.items():
            r.by_tag.setdefault(kv, set()).add(sid)
        return sid

    def seed(self, src, dst, instances, volumes=2, days=7, now=None, named=True, devices=DEVICES):
        """The fleet and its history (see the module doc); returns the instance ids."""
        now = int(now or time.time())
        s, ids = self.region(src), []
        for i in range(instances):
            iid = self._new_id("i")
            vols = [(devices[k], self._new_id("vol")) for k in range(volumes)]
            s.instances[iid] = ({"Backup": "true", **({"Name": f"app-{i:05d}"} if named else {})}, vols, "running")
            ids.append(iid)
            for dev, vol in vols:
                for d in range(days, 0, -1):
                    start = now - d * 86400 - 3600
                    tags = {"CreatedBy": "SmartVault", "InstanceId": iid, "Name": f"app-{i:05d}",
                            "CreatedOn": iso(start)[:10], "SmartVault:RunId": f"run-{d}", "SmartVault:Device": dev}
                    sid = self.add_snapshot(src, vol, start, tags)
                    if dst:
                        ctags = dict(tags, SourceSnapshotId=sid, SourceRegion=src, VolumeId=vol)
                        self.add_snapshot(dst, "vol-ffffffff", start, ctags)
        return ids

    # ---- answers ----

    def _count(self, region, action):
        with self.lock:
            self.calls[(region, action)] = self.calls.get((region, action), 0) + 1

    def handle(self, region, params):
        action = params.get("Action", "")
        self._count(region, action)
        fn = getattr(self, "_" + action, None)
        if fn is None:
            return 400, _error("InvalidAction", f"{action} is not supported by the synthetic EC2")
        with self.lock:
            return fn(self.region(region), params, region)

    @staticmethod
    def _multi(params, prefix):
        out, k = [], 1
        while f"{prefix}.{k}" in params:
            out.append(params[f"{prefix}.{k}"])
            k += 1
        return out

    def _filters(self, params):
        out, f = {}, 1
        while f"Filter.{f}.Name" in params:
            out[params[f"Filter.{f}.Name"]] = self._multi(params, f"Filter.{f}.Value")
            f += 1
        return out

    def _DescribeInstances(self, r, params, region):
        flt = self._filters(params)
        keys, states = flt.get("tag-key"), flt.get("instance-state-name")
        items = [(iid, v) for iid, v in r.instances.items()
                 if (keys is None or any(k in v[0] for k in keys)) and (states is None or v[2] in states)]
        size, first = int(params.get("MaxResults") or 1000), int(params.get("NextToken") or 0)
        page = items[first:first + size]
        token = f"<nextToken>{first + size}</nextToken>" if first + size < len(items) else ""
        body = "".join(_instance(iid, *v) for iid, v in page)
        return 200, _doc("DescribeInstances", f"<reservationSet>{body}</reservationSet>{token}")

    def _DescribeSnapshots(self, r, params, region):
        ids = self._multi(params, "SnapshotId")
        if ids:
            missing = [i for i in ids if i not in r.snaps]
            if missing:
                return 400, _error("InvalidSnapshot.NotFound", f"The snapshot '{missing[0]}' does not exist.")
            body = "".join(_snap(r.snaps[i]) for i in ids)
            return 200, _doc("DescribeSnapshots", f"<snapshotSet>{body}</snapshotSet>")
        flt = self._filters(params)
        want = None
        for name, values in flt.items():
            if name.startswith("tag:"):
                s = set()
                for v in values:
                    s |= r.by_tag.get((name[4:], v), set())
                want = s if want is None else want & s
        size, pos = int(params.get("MaxResults") or 1000), int(params.get("NextToken") or 0)
        page = []
        while pos < len(r.order) and len(page) < size:
            sid = r.order[pos]
            pos += 1
            if sid in r.snaps and (want is None or sid in want):
                page.append(r.snaps[sid])
        while pos < len(r.order) and not (r.order[pos] in r.snaps and (want is None or r.order[pos] in want)):
            pos += 1  # look ahead to the next match: no token after the last page (as EC2)
        token = f"<nextToken>{pos}</nextToken>" if pos < len(r.order) else ""
        return 200, _doc("DescribeSnapshots", f"<snapshotSet>{''.join(_snap(s) for s in page)}</snapshotSet>{token}")

    @staticmethod
    def _tag_spec(params):
        tags, k = {}, 1
        while f"TagSpecification.1.Tag.{k}.Key" in params:
            tags[params[f"TagSpecification.1.Tag.{k}.Key"]] = params.get(f"TagSpecification.1.Tag.{k}.Value", "")
            k += 1
        return tags

    def _CreateSnapshots(self, r, params, region):
        iid = params.get("InstanceSpecification.InstanceId", "")
        if iid not in r.instances:
            return 400, _error("InvalidInstanceID.NotFound", f"The instance ID '{iid}' does not exist")
        tags, now = self._tag_spec(params), int(time.time())
        items = []
        for _dev, vol in r.instances[iid][1]:
            sid = self.add_snapshot(region, vol, now, tags)
            s = r.snaps[sid]
            items.append(f"<item><snapshotId>{sid}</snapshotId><volumeId>{vol}</volumeId><state>completed</state>"
                         f"<startTime>{iso(now)}</startTime><progress>100%</progress><ownerId>{ACCOUNT_ID}</ownerId>"
                         f"<volumeSize>8</volumeSize>{_tags(s['tags'])}</item>")
        return 200, _doc("CreateSnapshots", f"<snapshotSet>{''.join(items)}</snapshotSet>")

    def _CopySnapshot(self, r, params, region):
        src_region, src_id = params.get("SourceRegion", ""), params.get("SourceSnapshotId", "")
        src = self.region(src_region).snaps.get(src_id)
        if src is None:
            return 400, _error("InvalidSnapshot.NotFound", f"The snapshot '{src_id}' does not exist.")
        sid = self.add_snapshot(region, "vol-ffffffff", int(time.time()), self._tag_spec(params))
        return 200, _doc("CopySnapshot", f"<snapshotId>{sid}</snapshotId>")

    def _DeleteSnapshot(self, r, params, region):
        sid = params.get("SnapshotId", "")
        s = r.snaps.pop(sid, None)
        if s is None:
            return 400, _error("InvalidSnapshot.NotFound", f"The snapshot '{sid}' does not exist.")
        for kv in s["tags"].items():
            r.by_tag.get(kv, set()).discard(sid)
        return 200, _doc("DeleteSnapshot", "<return>true</return>")

    def _PutMetricData(self, r, params, region):
        """CloudWatch (same endpoint in the benchmarks): accepted and counted, nothing kept."""
        return 200, ('<PutMetricDataResponse xmlns="http://monitoring.amazonaws.com/doc/2010-08-01/">'
                     "<ResponseMetadata><RequestId>0</RequestId></ResponseMetadata></PutMetricDataResponse>")

    def _CreateTags(self, r, params, region):
        tags, k = {}, 1
        while f"Tag.{k}.Key" in params:
            tags[params[f"Tag.{k}.Key"]] = params.get(f"Tag.{k}.Value", "")
            k += 1
        for rid in self._multi(params, "ResourceId"):
            s = r.snaps.get(rid)
            if s is not None:
                for kv in s["tags"].items():
                    r.by_tag.get(kv, set()).discard(rid)
                s["tags"].update(tags)
                for kv in s["tags"].items():
                    r.by_tag.setdefault(kv, set()).add(rid)
        return 200, _doc("CreateTags", "<return>true</return>")

    # ---- server ----

    def start(self):
        synth = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                params = dict(urllib.parse.parse_qsl(self.rfile.read(n).decode(), keep_blank_values=True))
                m = _SCOPE.search(self.headers.get("Authorization", "") or "")
                status, body = synth.handle(m.group(1) if m else "us-east-1", params)
                data = body.encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/xml;charset=UTF-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        return self

    def stop(self):
        if self.server:
            self.server.shutdown()
            self.server.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def _tags(tags):
    return "<tagSet>" + "".join(f"<item><key>{esc(k)}</key><value>{esc(v)}</value></item>"
                                for k, v in tags.items()) + "</tagSet>"


def _snap(s):
    return (f"<item><snapshotId>{s['id']}</snapshotId><volumeId>{s['volume']}</volumeId><status>{s['state']}</status>"
            f"<startTime>{iso(s['start'])}</startTime><progress>100%</progress><ownerId>{ACCOUNT_ID}</ownerId>"
            f"<volumeSize>8</volumeSize><description>SmartVault</description><encrypted>false</encrypted>"
            f"{_tags(s['tags'])}</item>")


def _instance(iid, tags, vols, state):
    bdm = "".join(f"<item><deviceName>{d}</deviceName><ebs><volumeId>{v}</volumeId><status>attached</status></ebs>"
                  f"</item>" for d, v in vols)
    return (f"<item><reservationId>r-{iid[2:]}</reservationId><ownerId>{ACCOUNT_ID}</ownerId><instancesSet><item>"
            f"<instanceId>{iid}</instanceId><instanceState><code>16</code><name>{state}</name></instanceState>"
            f"<placement><availabilityZone>us-east-2a</availabilityZone></placement>"
            f"<rootDeviceName>{vols[0][0] if vols else ''}</rootDeviceName>"
            f"<blockDeviceMapping>{bdm}</blockDeviceMapping>{_tags(tags)}</item></instancesSet></item>")


def _doc(action, inner):
    return (f'<?xml version="1.0" encoding="UTF-8"?><{action}Response xmlns="{NS}">'
            f"<requestId>00000000-0000-0000-0000-000000000000</requestId>{inner}</{action}Response>")


def _error(code, message):
    return (f'<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>{code}</Code>'
            f"<Message>{esc(message)}</Message></Error></Errors><RequestID>0</RequestID></Response>")
