"""browser - Debian's Chromium, headless, driven over the DevTools protocol on a pipe, with no network at all.

Chromium is started with --remote-debugging-pipe (the protocol on file descriptors 3 and 4: no port is opened),
a fresh --user-data-dir, every background service off, and --host-resolver-rules mapping every host name to
nothing. Two independent witnesses fail a test when any request is attempted anyway:

  - the DevTools Network domain of the page (Network.requestWillBeSent / loadingFailed): every request the page
    makes, including ones the resolver rules would then refuse;
  - Chromium's own NetLog (--log-net-log, the whole browser process, its background services included): every
    URL request, socket, proxy or DNS job it started.

The page itself is loaded from a file:// URL; that one navigation is the only "request" either witness may show.

    with Chromium() as c:
        page = c.open(path)                     # navigates, waits for load and two animation frames
        page.eval("document.title")            # Runtime.evaluate, by value
        png = page.screenshot()                # bytes
        c.network_attempts()                    # [] or the URLs/hosts attempted (checked at close too)

png_stats(png) decodes a PNG (8-bit RGB/RGBA, the format Chromium writes) with zlib only and returns the number
of distinct colours and the share of non-white pixels, so "not blank" is a measured fact.
"""

import base64
import fcntl
import json
import os
import shutil
import struct
import subprocess
import tempfile
import time
import zlib
from pathlib import Path

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-default-apps",
    "--disable-extensions",
    "--no-default-browser-check",
    "--disable-domain-reliability",
    "--disable-client-side-phishing-detection",
    "--disable-breakpad",
    "--metrics-recording-only",
    "--no-pings",
    "--disable-field-trial-config",
    "--disable-features=NetworkTimeServiceQuerying,OptimizationHints,OptimizationGuideModelDownloading,Translate,"
    "MediaRouter,AutofillServerCommunication,CertificateTransparencyComponentUpdater,PrivacySandboxSettings4,"
    "InterestFeedContentSuggestions,SafeBrowsing",
    "--safebrowsing-disable-auto-update",
    "--password-store=basic",
    "--use-mock-keychain",
    "--disable-search-engine-choice-screen",
    "--host-resolver-rules=MAP * ~NOTFOUND",
    "--remote-debugging-pipe",
    "--hide-scrollbars",
    "--window-size=1280,900",
]


def chromium_path():
    """Debian's headless Chromium (package chromium-headless-shell), or SMARTVAULT_CHROMIUM.

    Why the headless shell and not /usr/lib/chromium/chromium --headless: with every flag the issue names (and
    network time, field trials, sign-in and component-update preferences off as well), the full browser's NetLog
    still shows it starting Gaia's accounts.google.com/ListAccounts and the component updater's
    update.googleapis.com requests (stopped only by the resolver rules). The headless shell is the same Blink and
    V8 from the same Debian source package, without the browser's profile services: its NetLog shows nothing.
    Debian's /usr/bin/chromium wrapper is never used: it adds --enable-remote-extensions and --load-extension.
    """
    path = os.environ.get("SMARTVAULT_CHROMIUM", "/usr/lib/chromium/chromium-headless-shell")
    return path if os.path.isfile(path) and os.access(path, os.X_OK) else None


class BrowserError(RuntimeError):
    pass


class Page:
    def __init__(self, browser, session, target):
        self.b = browser
        self.session = session
        self.target = target
        self.load_ms = None  # wall time from navigate to the second animation frame after load
        self.cpu_ms = None  # CPU time Chromium's processes spent in that interval (what the page costs)

    def close(self):
        self.b.call("Target.closeTarget", targetId=self.target)

    def call(self, method, **params):
        return self.b.call(method, session=self.session, **params)

    def eval(self, expression, await_promise=False):
        r = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=await_promise)
        if "exceptionDetails" in r:
            raise BrowserError(f"{expression[:80]}: {r['exceptionDetails']}")
        return r["result"].get("value")

    def screenshot(self):
        return base64.b64decode(self.call("Page.captureScreenshot", format="png", captureBeyondViewport=False)["data"])

    def pdf(self):
        return base64.b64decode(self.call("Page.printToPDF", printBackground=True)["data"])

    def viewport(self, width, height, mobile=False):
        self.call("Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1,
                  mobile=mobile)


class Chromium:
    def __init__(self, timeout=60):
        self.path = chromium_path()
        if not self.path:
            raise BrowserError("chromium is not installed (./build.sh integration installs it)")
        self.timeout = timeout
        self.dir = tempfile.mkdtemp(prefix="smartvault-chromium-")
        self.netlog = os.path.join(self.dir, "netlog.json")
        self.events = []  # every protocol event: (method, params, session)
        self._buf = b""
        self._id = 0
        self.page_url = None

    def __enter__(self):
        to_chrome_r, to_chrome_w = os.pipe()
        from_chrome_r, from_chrome_w = os.pipe()
        profile = os.path.join(self.dir, "profile")
        # A fresh profile whose preferences turn off what no flag reaches: sign-in (Gaia's ListAccounts) and the
        # component updater (the ComponentUpdatesEnabled policy's preference, in Local State).
        os.makedirs(os.path.join(profile, "Default"))
        Path(profile, "Local State").write_text(json.dumps(
            {"component_updates": {"component_updates_enabled": False}, "browser": {"check_default_browser": False}}))
        Path(profile, "Default", "Preferences").write_text(json.dumps(
            {"signin": {"allowed": False, "allowed_on_next_startup": False}, "sync": {"requested": False},
             "search": {"suggest_enabled": False}, "safebrowsing": {"enabled": False},
             "translate": {"enabled": False}, "spellcheck": {"dictionaries": []}}))

        def fds():
            # Chromium reads commands on fd 3 and writes replies on fd 4. Move both out of the way first: a pipe
            # end may already be 3 or 4, and dup2 onto itself would keep its close-on-exec flag.
            r = fcntl.fcntl(to_chrome_r, fcntl.F_DUPFD, 10)
            w = fcntl.fcntl(from_chrome_w, fcntl.F_DUPFD, 10)
            os.dup2(r, 3)
            os.dup2(w, 4)

        self.proc = subprocess.Popen(
            [self.path, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", f"--log-net-log={self.netlog}",
             "--net-log-capture-mode=Everything", "about:blank"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=open(os.path.join(self.dir, "stderr.log"), "wb"),
            preexec_fn=fds,
            close_fds=False,  # preexec_fn puts the pipe ends on 3 and 4; closing fds would run after it
            env={k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")},
        )
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self.w = to_chrome_w
        self.r = from_chrome_r
        return self

    def __exit__(self, *exc):
        try:
            if self.proc.poll() is None:
                try:
                    self.call("Browser.close")
                except Exception:
                    pass
                try:
                    self.proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
        finally:
            os.close(self.w)
            os.close(self.r)

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    # ---- protocol ----

    def _read_message(self, deadline):
        while b"\0" not in self._buf:
            if time.monotonic() > deadline:
                raise BrowserError("no answer from chromium")
            chunk = os.read(self.r, 1 << 20)
            if not chunk:
                raise BrowserError(f"chromium closed the pipe: {self.stderr()[-2000:]}")
            self._buf += chunk
        msg, self._buf = self._buf.split(b"\0", 1)
        return json.loads(msg)

    def call(self, method, session=None, **params):
        self._id += 1
        msg = {"id": self._id, "method": method, "params": params}
        if session:
            msg["sessionId"] = session
        os.write(self.w, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + self.timeout
        while True:
            m = self._read_message(deadline)
            if m.get("id") == self._id:
                if "error" in m:
                    raise BrowserError(f"{method}: {m['error']}")
                return m.get("result", {})
            if "method" in m:
                self._event(m)

    def _event(self, m):
        self.events.append((m["method"], m.get("params", {}), m.get("sessionId")))
        if m["method"] == "Page.javascriptDialogOpening":
            # A dialog would block the page; dismiss it (the test fails on the recorded event).
            os.write(self.w, json.dumps({"id": 0, "method": "Page.handleJavaScriptDialog",
                                         "sessionId": m.get("sessionId"), "params": {"accept": False}}).encode()
                     + b"\0")

    def cpu_ticks(self):
        """{pid: user + system clock ticks} of Chromium and every process it started (renderers, GPU...)."""
        children, own = {}, {}
        for d in os.listdir("/proc"):
            if d.isdigit():
                try:
                    st = Path("/proc", d, "stat").read_text()
                except OSError:
                    continue
                fields = st[st.rindex(")") + 2:].split()
                own[int(d)] = int(fields[11]) + int(fields[12])
                children.setdefault(int(fields[1]), []).append(int(d))
        out, todo = {}, [self.proc.pid]
        while todo:
            pid = todo.pop()
            out[pid] = own.get(pid, 0)
            todo.extend(children.get(pid, []))
        return out

    def cpu_ms_since(self, before):
        """CPU milliseconds spent since `before` (cpu_ticks()) by the processes alive now; a process that exited
        in between (the renderer of a closed tab) is left out rather than subtracted."""
        now = self.cpu_ticks()
        ticks = sum(t - before.get(pid, 0) for pid, t in now.items())
        return ticks * 1000 / os.sysconf("SC_CLK_TCK")

    def wait_event(self, method, session, timeout=None):
        deadline = time.monotonic() + (timeout or self.timeout)
        seen = len(self.events)
        for ev in self.events[:seen]:
            pass
        while True:
            for ev in self.events[seen:]:
                if ev[0] == method and ev[2] == session:
                    return ev[1]
            seen = len(self.events)
            m = self._read_message(deadline)
            if "method" in m:
                self._event(m)

    # ---- pages ----

    def open(self, path, width=1280, height=900, mobile=False):
        """A new tab showing the file; returns the Page once loaded and painted (load_ms: navigate -> painted)."""
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        session = self.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        page = Page(self, session, target)
        for domain in ("Page", "Network", "Runtime", "Log"):
            page.call(f"{domain}.enable")
        page.viewport(width, height, mobile)
        # Before any page script: count CSP violations (they would mean our own style or script was refused).
        page.call("Page.addScriptToEvaluateOnNewDocument", source=(
            "window.__csp=[];document.addEventListener('securitypolicyviolation',"
            "function(e){window.__csp.push(e.violatedDirective+' '+e.blockedURI)});"))
        url = Path(path).resolve().as_uri()
        self.page_url = url
        mark = len(self.events)
        cpu0 = self.cpu_ticks()
        t0 = time.monotonic()
        page.call("Page.navigate", url=url)
        while not any(e[0] == "Page.loadEventFired" and e[2] == session for e in self.events[mark:]):
            m = self._read_message(time.monotonic() + self.timeout)
            if "method" in m:
                self._event(m)
        page.eval("new Promise(function(r){requestAnimationFrame(function(){requestAnimationFrame(r)})})",
                  await_promise=True)
        page.load_ms = (time.monotonic() - t0) * 1000
        page.cpu_ms = self.cpu_ms_since(cpu0)
        return page

    def dialogs(self):
        return [p for (m, p, s) in self.events if m == "Page.javascriptDialogOpening"]

    def console_errors(self):
        out = []
        for m, p, s in self.events:
            if m == "Runtime.exceptionThrown":
                out.append(p["exceptionDetails"].get("text"))
            if m == "Log.entryAdded" and p["entry"].get("level") == "error":
                out.append(p["entry"].get("text"))
        return out

    def devtools_requests(self):
        """URLs the pages asked for (Network domain), except the page's own file:// navigation."""
        urls = [p["request"]["url"] for (m, p, s) in self.events if m == "Network.requestWillBeSent"]
        return [u for u in urls if not u.startswith("file://")]

    def netlog_attempts(self):
        """URL requests, sockets and DNS jobs in Chromium's NetLog (the whole browser), except file:// pages."""
        self._close_for_netlog()
        text = Path(self.netlog).read_text(errors="replace")
        try:
            log = json.loads(text)
        except json.JSONDecodeError:
            # A log cut at exit lacks its closing brackets; the events before are complete.
            log = json.loads(text.rstrip().rstrip(",") + "]}")
        names = {v: k for k, v in log["constants"]["logEventTypes"].items()}
        watched = ("URL_REQUEST_START_JOB", "HOST_RESOLVER_DNS_TASK", "HOST_RESOLVER_MANAGER_REQUEST",
                   "TCP_CONNECT", "SOCKET_POOL_CONNECT_JOB", "PROXY_RESOLUTION_SERVICE", "HTTP_STREAM_JOB",
                   "HOST_RESOLVER_MANAGER_JOB", "QUIC_SESSION", "SSL_CONNECT")
        out = []
        for ev in log.get("events", []):
            name = names.get(ev.get("type"), "")
            if name not in watched:
                continue
            params = ev.get("params", {})
            url = params.get("url") or params.get("host") or params.get("address") or params.get("group_name") or ""
            if name == "URL_REQUEST_START_JOB" and (url.startswith("file:") or url.startswith("data:")):
                continue
            out.append(f"{name} {url}")
        return out

    def _close_for_netlog(self):
        if self.proc.poll() is None:
            try:
                self.call("Browser.close")
            except Exception:
                pass
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def stderr(self):
        return Path(self.dir, "stderr.log").read_text(errors="replace")


def png_stats(png):
    """(width, height, distinct colours, share of non-white pixels) of an 8-bit RGB or RGBA PNG."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, width = 8, b"", None
    while pos < len(png):
        n, kind = struct.unpack(">I4s", png[pos:pos + 8])
        data = png[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            width, height, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", data)
            assert depth == 8 and ctype in (2, 6) and interlace == 0, "unexpected PNG format"
            bpp = 3 if ctype == 2 else 4
        elif kind == b"IDAT":
            idat += data
        pos += 12 + n
    raw = zlib.decompress(idat)
    stride = width * bpp
    prev = bytearray(stride)
    colours, nonwhite = set(), 0
    for y in range(height):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[i] = (line[i] + pred) & 255
        for x in range(0, stride, bpp * 4):  # every 4th pixel: plenty for a statistic
            px = bytes(line[x:x + 3])
            colours.add(px)
            nonwhite += px != b"\xff\xff\xff"
        prev = line
    sampled = height * ((width + 3) // 4)
    return width, height, len(colours), nonwhite / sampled
