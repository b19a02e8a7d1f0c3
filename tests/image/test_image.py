"""The container image, built from the real Dockerfile without a Docker engine (DESIGN.md §8).

1. The builder base `debian:trixie-slim` is made once by debootstrap (minbase, trixie, from this machine's
   Debian mirror) and `podman import`, and kept in podman's vfs storage (no image registry is reachable).
2. buildah builds the Dockerfile (vfs storage, chroot isolation, host network, never pulling). The result is
   tagged with a hash of the build context, so an unchanged tree is not built again.
3. The image is pushed to an OCI layout and unpacked with umoci; the tests inspect its configuration and root
   filesystem and run the binary in it with chroot as user 65532, proving the scratch image needs nothing else.

Run: ./build.sh image (as root). Sizes are printed in the "image" section of the summary.
"""

import fcntl
import hashlib
import http.server
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BASE = "localhost/debian:trixie-slim"
IMAGE = "localhost/smartvault:test"
VFS = ["--storage-driver", "vfs"]
# SMARTVAULT_CONTAINERS_ROOT=DIR keeps images, containers and buildah's cache mounts under DIR instead of the
# machine-wide places (an isolated run, as on a fresh machine).
_ISOLATED = os.environ.get("SMARTVAULT_CONTAINERS_ROOT")
if _ISOLATED:
    VFS += ["--root", f"{_ISOLATED}/storage", "--runroot", f"{_ISOLATED}/run"]
    os.makedirs(f"{_ISOLATED}/tmp", exist_ok=True)
    os.environ["TMPDIR"] = f"{_ISOLATED}/tmp"  # buildah keeps RUN --mount=type=cache directories in $TMPDIR
# What the Dockerfile can see (.dockerignore is an allow-list of these).
CONTEXT = ["Dockerfile", ".dockerignore", "build.sh", "src", "vendor"]
# The only entry in the image's root filesystem.
ALLOWED_ROOTFS = {"smartvault"}
OCI_LABELS = ["title", "description", "source", "licenses", "version"]
BUILT_FILE = ROOT / "build/image-build.json"  # which context was last built here, and how long it took

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="buildah/umoci/chroot need root")


def run(cmd, log=None, **kw):
    """Runs cmd; on failure shows its output (or the tail of its log file) in the assertion."""
    kw.setdefault("stdin", subprocess.DEVNULL)
    if log is not None:
        with open(log, "wb") as f:
            proc = subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT, **kw)
        out = Path(log).read_text(errors="replace")
    else:
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace", **kw)
        out = proc.stdout
    assert proc.returncode == 0, f"{' '.join(map(str, cmd))} failed ({proc.returncode}):\n{out[-6000:]}"
    return out


def image_exists(name):
    return subprocess.run(["podman", *VFS, "image", "exists", name]).returncode == 0


def mirror():
    return run(["bash", "-c", f"source {ROOT}/vendor/aptpriv.sh && aptpriv_mirror"]).strip()


def source_version():
    m = re.search(r'#define\s+SMARTVAULT_VERSION\s+"([^"]+)"', (ROOT / "src/version.h").read_text())
    assert m, "SMARTVAULT_VERSION not found in src/version.h"
    return m.group(1)


def context_hash():
    h = hashlib.sha256()
    for top in CONTEXT:
        p = ROOT / top
        files = sorted(f for f in p.rglob("*") if f.is_file()) if p.is_dir() else [p]
        for f in files:
            h.update(str(f.relative_to(ROOT)).encode() + b"\0")
            h.update(f"{f.stat().st_mode & 0o111}".encode() + b"\0")
            h.update(hashlib.sha256(f.read_bytes()).digest())
    return h.hexdigest()[:16]


def ensure_base_image():
    if image_exists(BASE):
        return
    root = Path(tempfile.mkdtemp(prefix="smartvault-debootstrap-", dir="/var/tmp"))
    try:
        run(["debootstrap", "--variant=minbase", "trixie", str(root), mirror()], log=ROOT / "build/debootstrap.log")
        tar = subprocess.Popen(["tar", "-C", str(root), "-c", "."], stdout=subprocess.PIPE)
        run(["podman", *VFS, "import", "-", BASE], stdin=tar.stdout)
        assert tar.wait() == 0
    finally:
        shutil.rmtree(root, ignore_errors=True)


def ensure_image():
    """Builds the Dockerfile unless an image of the same context exists; returns the context tag.

    One build at a time: `./build.sh test` starts this early in the background (`--prebuild`) and the test
    itself then waits here for it instead of building a second time.
    """
    (ROOT / "build").mkdir(exist_ok=True)
    with open(Path(_ISOLATED or "/var/tmp") / "smartvault-image.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        tag = f"localhost/smartvault:ctx-{context_hash()}"
        if image_exists(tag):
            run(["buildah", *VFS, "tag", tag, IMAGE])
            return tag
        t0 = time.monotonic()
        ensure_base_image()
        old = run(["podman", *VFS, "images", "--format", "{{.Repository}}:{{.Tag}}", "localhost/smartvault"]).split()
        run(["buildah", *VFS, "bud", "--isolation", "chroot", "--network", "host", "--pull-never",
             "-t", IMAGE, "-t", tag, "-f", "Dockerfile", "."], cwd=ROOT, log=ROOT / "build/image-build.log")
        for name in old:
            if name.startswith("localhost/smartvault:ctx-") and name != tag:
                subprocess.run(["buildah", *VFS, "rmi", name], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        subprocess.run(["buildah", *VFS, "rmi", "--prune"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        BUILT_FILE.write_text(json.dumps({"tag": tag, "seconds": round(time.monotonic() - t0, 1)}))
        return tag


@pytest.fixture(scope="module")
def image(pytestconfig):
    """The unpacked image: {'oci': layout dir, 'rootfs': root filesystem, 'config': image config (dict)}."""
    tag = ensure_image()
    built = json.loads(BUILT_FILE.read_text()) if BUILT_FILE.exists() else {}
    tmp = Path(tempfile.mkdtemp(prefix="smartvault-image-"))
    try:
        run(["buildah", *VFS, "push", IMAGE, f"oci:{tmp}/oci:latest"])
        run(["umoci", "unpack", "--image", f"{tmp}/oci:latest", str(tmp / "bundle")])
        index = json.loads((tmp / "oci/index.json").read_text())
        manifest = json.loads(s_blob(tmp / "oci", index["manifests"][0]["digest"]).read_text())
        config = json.loads(s_blob(tmp / "oci", manifest["config"]["digest"]).read_text())
        rootfs = tmp / "bundle/rootfs"
        REPORT = pytestconfig.smartvault_image_report = {}
        layers = sum(layer["size"] for layer in manifest["layers"])
        how = f"built in {built['seconds']} s" if built.get("tag") == tag else "found in the store"
        REPORT["image tag"] = f"{IMAGE} = {tag} ({how})"
        REPORT["image layers (compressed blobs)"] = f"{len(manifest['layers'])} layer(s), {layers} bytes"
        REPORT["image total (layers + config + manifest)"] = (
            f"{layers + manifest['config']['size'] + index['manifests'][0]['size']} bytes")
        REPORT["image root filesystem"] = f"{sum(f.stat().st_size for f in rootfs.rglob('*') if f.is_file())} bytes"
        yield {"oci": tmp / "oci", "rootfs": rootfs, "config": config}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def s_blob(layout, digest):
    algo, hexd = digest.split(":", 1)
    return layout / "blobs" / algo / hexd


def test_rootfs_holds_only_the_binary(image):
    rootfs = image["rootfs"]
    entries = {str(p.relative_to(rootfs)) for p in rootfs.rglob("*")}
    assert entries == ALLOWED_ROOTFS, f"unexpected entries: {sorted(entries - ALLOWED_ROOTFS)}"
    binary = rootfs / "smartvault"
    assert binary.is_file() and os.access(binary, os.X_OK)
    assert binary.stat().st_mode & 0o022 == 0, "the binary must not be writable by group or others"


def test_config_runs_unprivileged_binary(image):
    cfg = image["config"]["config"]
    assert cfg.get("User") == "65532:65532"
    assert cfg.get("Entrypoint") == ["/smartvault"]
    assert not cfg.get("Cmd"), "no default arguments: the default command is one backup cycle"


def test_oci_labels(image):
    labels = image["config"]["config"].get("Labels") or {}
    for name in OCI_LABELS:
        assert f"org.opencontainers.image.{name}" in labels, f"label {name} missing: {labels}"
    assert labels["org.opencontainers.image.licenses"] == "MIT"
    assert labels["org.opencontainers.image.version"] == source_version(), "Dockerfile VERSION != src/version.h"


def test_binary_runs_in_the_image_as_65532(image):
    out = run(["chroot", "--userspec=65532:65532", str(image["rootfs"]), "/smartvault", "--version"])
    assert "libcurl/8.14.1" in out and "BearSSL" in out, out


def test_binary_runs_on_a_read_only_root(image):
    probe = subprocess.run(["unshare", "--mount", "true"], stderr=subprocess.DEVNULL)
    if probe.returncode != 0:
        pytest.skip("mount namespaces are not available here")
    rootfs = str(image["rootfs"])
    script = ('set -e; mount --bind "$1" "$1"; mount -o remount,bind,ro "$1"; '
              'chroot --userspec=65532:65532 "$1" /smartvault --help >/dev/null; '
              'if touch "$1/x" 2>/dev/null; then echo "root is writable"; exit 1; fi')
    run(["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh", rootfs])


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = b"from the host\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_binary_speaks_http_from_the_image(image):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/"
        out = run(["chroot", "--userspec=65532:65532", str(image["rootfs"]), "/smartvault", "debug", "http", url],
                  env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"})
        assert out.startswith("status=200\n") and "from the host" in out, out
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


if __name__ == "__main__":
    # `python3 tests/image/test_image.py --prebuild`: build the image only (./build.sh test runs this early).
    import sys

    if sys.argv[1:] != ["--prebuild"]:
        sys.exit("usage: test_image.py --prebuild")
    print(ensure_image())
