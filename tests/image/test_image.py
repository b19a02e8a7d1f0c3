"""The container image for linux/amd64 and linux/arm64, built from the real Dockerfile without a Docker engine.

1. The builder base `debian:bookworm-slim` (Debian 12, the release of the machine that builds and tests
   build/smartvault) is made once by debootstrap (minbase, from this machine's Debian mirror) and `podman
   import`, and kept in podman's vfs storage (no image registry is reachable).
2. buildah builds the Dockerfile for both platforms (vfs storage, chroot isolation, host network, never pulling)
   into the manifest list localhost/smartvault:test; the builder stage runs natively and cross-compiles, so
   nothing is emulated. An unchanged build context is not built again (build/image-build.json).
3. The list is written as an OCI image layout to build/oci/ (an index naming linux/amd64 and linux/arm64), and
   each platform's SBOM (what its binary's `smartvault sbom` prints) is attached to that platform's manifest as
   an OCI referrer (artifactType application/vnd.cyclonedx+json, `subject` = the manifest).
4. The tests unpack each platform's layers and inspect its configuration and root filesystem; the binary must be
   byte-identical to the one the other tests ran (build/smartvault, build/arm64/smartvault). amd64 runs with
   chroot as user 65532; arm64 runs under qemu-aarch64-static as user 65532.

Run: ./build.sh image (as root). Sizes are printed in the "image" section of the summary.
"""

import fcntl
import gzip
import hashlib
import http.server
import io
import json
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
import threading
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BASE = "localhost/debian:bookworm-slim"
IMAGE = "localhost/smartvault:test"
OCI = ROOT / "build/oci"
PLATFORMS = ["linux/amd64", "linux/arm64"]
# The binary each platform's image must hold, byte for byte (built and tested outside the image).
TESTED = {"linux/amd64": ROOT / "build/smartvault", "linux/arm64": ROOT / "build/arm64/smartvault"}
# How each platform's binary is run here: natively, or under qemu user-mode emulation.
RUNNER = {"linux/amd64": [], "linux/arm64": ["qemu-aarch64-static"]}
SBOM_TYPE = "application/vnd.cyclonedx+json"
BUILD_ARCH = {"x86_64": "amd64", "aarch64": "arm64"}[os.uname().machine]  # the builder stage's platform
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

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="buildah/chroot need root")


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


def manifest_exists(name):
    return subprocess.run(["buildah", *VFS, "manifest", "inspect", name], stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL).returncode == 0


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
        run(["debootstrap", "--variant=minbase", "bookworm", str(root), mirror()], log=ROOT / "build/debootstrap.log")
        tar = subprocess.Popen(["tar", "-C", str(root), "-c", "."], stdout=subprocess.PIPE)
        run(["podman", *VFS, "import", "-", BASE], stdin=tar.stdout)
        assert tar.wait() == 0
    finally:
        shutil.rmtree(root, ignore_errors=True)


def ensure_image():
    """Builds the Dockerfile for both platforms unless this context was built last; returns the context hash.

    One build at a time: `./build.sh test` starts this early in the background (`--prebuild`) and the test
    itself then waits here for it instead of building a second time.
    """
    (ROOT / "build").mkdir(exist_ok=True)
    with open(Path(_ISOLATED or "/var/tmp") / "smartvault-image.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        ctx = context_hash()
        built = json.loads(BUILT_FILE.read_text()) if BUILT_FILE.exists() else {}
        if built.get("context") == ctx and manifest_exists(IMAGE) and (OCI / "index.json").exists():
            return ctx
        t0 = time.monotonic()
        ensure_base_image()
        if manifest_exists(IMAGE):
            run(["buildah", *VFS, "manifest", "rm", IMAGE])
        elif image_exists(IMAGE):  # a single-platform image of an older build under the list's name
            run(["podman", *VFS, "untag", IMAGE, IMAGE])
        # Images of earlier builds (untagged members of the old list) go now, never after this build.
        subprocess.run(["buildah", *VFS, "rmi", "--prune"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        run(["buildah", *VFS, "bud", "--layers", "--isolation", "chroot", "--network", "host", "--pull-never",
             "--platform", ",".join(PLATFORMS), "--manifest", IMAGE, "-f", "Dockerfile",
             # BuildKit and newer buildah predefine BUILDPLATFORM; buildah 1.28 (Debian 12) does not, and without it
             # `FROM --platform=$BUILDPLATFORM` would look for an arm64 builder image.
             "--build-arg", f"BUILDPLATFORM=linux/{BUILD_ARCH}", "."],
            cwd=ROOT, log=ROOT / "build/image-build.log")
        shutil.rmtree(OCI, ignore_errors=True)
        run(["buildah", *VFS, "manifest", "push", "--all", IMAGE, f"oci:{OCI}:latest"])
        attach_sboms(OCI)
        BUILT_FILE.write_text(json.dumps({"context": ctx, "seconds": round(time.monotonic() - t0, 1)}))
        return ctx


def s_blob(layout, digest):
    algo, hexd = digest.split(":", 1)
    return layout / "blobs" / algo / hexd


def s_put_blob(layout, data):
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    path = s_blob(layout, digest)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return digest


def platform_manifests(layout):
    """{"linux/amd64": descriptor, ...} from the layout's manifest list."""
    index = json.loads((layout / "index.json").read_text())
    lists = [d for d in index["manifests"] if d["mediaType"] == "application/vnd.oci.image.index.v1+json"]
    assert len(lists) == 1, f"expected one manifest list in {layout}/index.json: {index}"
    nested = json.loads(s_blob(layout, lists[0]["digest"]).read_text())
    return {f"{d['platform']['os']}/{d['platform']['architecture']}": d for d in nested["manifests"]}


def unpack(layout, descriptor, dest):
    """The platform's root filesystem (its layers in order) and its config."""
    manifest = json.loads(s_blob(layout, descriptor["digest"]).read_text())
    dest.mkdir(parents=True)
    for layer in manifest["layers"]:
        data = s_blob(layout, layer["digest"]).read_bytes()
        if layer["mediaType"].endswith("+gzip"):
            data = gzip.decompress(data)
        with tarfile.open(fileobj=io.BytesIO(data)) as tf:
            tf.extractall(dest, numeric_owner=True)
    config = json.loads(s_blob(layout, manifest["config"]["digest"]).read_text())
    return manifest, config


def run_binary(platform, binary, args, **kw):
    """Runs the image's binary as 65532:65532: chroot into its rootfs (amd64) or qemu (arm64, a static binary)."""
    if RUNNER[platform]:
        cmd = ["setpriv", "--reuid=65532", "--regid=65532", "--clear-groups", *RUNNER[platform], str(binary), *args]
    else:
        cmd = ["chroot", "--userspec=65532:65532", str(binary.parent), "/" + binary.name, *args]
    return run(cmd, **kw)


def attach_sboms(layout):
    """Each platform's SBOM, as printed by that platform's binary, becomes an OCI referrer of its manifest."""
    tmp = Path(tempfile.mkdtemp(prefix="smartvault-sbom-"))
    tmp.chmod(0o755)  # user 65532 runs the arm64 binary from here through qemu
    try:
        index_path = layout / "index.json"
        index = json.loads(index_path.read_text())
        empty = s_put_blob(layout, b"{}")
        for platform, desc in sorted(platform_manifests(layout).items()):
            unpack(layout, desc, tmp / platform.replace("/", "-"))
            sbom = run_binary(platform, tmp / platform.replace("/", "-") / "smartvault", ["sbom"]).encode()
            artifact = {
                "schemaVersion": 2,
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "artifactType": SBOM_TYPE,
                "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": empty, "size": 2},
                "layers": [{"mediaType": SBOM_TYPE, "digest": s_put_blob(layout, sbom), "size": len(sbom),
                            "annotations": {"org.opencontainers.image.title": "smartvault.cdx.json"}}],
                "subject": {"mediaType": desc["mediaType"], "digest": desc["digest"], "size": desc["size"]},
                "annotations": {"org.opencontainers.image.created": "2025-06-01T00:00:00Z"},
            }
            data = json.dumps(artifact, indent=2, sort_keys=True).encode()
            index["manifests"].append({"mediaType": artifact["mediaType"], "digest": s_put_blob(layout, data),
                                       "size": len(data), "artifactType": SBOM_TYPE})
        index_path.write_text(json.dumps(index, indent=2))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture(scope="module")
def images(pytestconfig):
    """Per platform: {'rootfs', 'config', 'manifest', 'descriptor'}; the layout is build/oci."""
    ctx = ensure_image()
    built = json.loads(BUILT_FILE.read_text()) if BUILT_FILE.exists() else {}
    tmp = Path(tempfile.mkdtemp(prefix="smartvault-image-"))
    tmp.chmod(0o755)  # user 65532 runs the arm64 binary from here through qemu
    try:
        out = {}
        REPORT = pytestconfig.smartvault_image_report = {}
        REPORT["image"] = f"{IMAGE} (manifest list, context {ctx}, built in {built.get('seconds')} s)"
        REPORT["OCI layout"] = str(OCI.relative_to(ROOT))
        for platform, desc in sorted(platform_manifests(OCI).items()):
            rootfs = tmp / platform.replace("/", "-")
            manifest, config = unpack(OCI, desc, rootfs)
            out[platform] = {"rootfs": rootfs, "config": config, "manifest": manifest, "descriptor": desc}
            layers = sum(layer["size"] for layer in manifest["layers"])
            REPORT[f"{platform} layers (compressed)"] = f"{len(manifest['layers'])} layer(s), {layers} bytes"
            REPORT[f"{platform} binary"] = f"{(rootfs / 'smartvault').stat().st_size} bytes"
        yield out
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture(params=PLATFORMS)
def image(request, images):
    assert request.param in images, f"{request.param} missing from the manifest list: {sorted(images)}"
    return dict(images[request.param], platform=request.param)


def test_manifest_list_names_both_platforms():
    ensure_image()
    assert sorted(platform_manifests(OCI)) == PLATFORMS
    inspect = json.loads(run(["buildah", *VFS, "manifest", "inspect", IMAGE]))
    plats = sorted(f"{m['platform']['os']}/{m['platform']['architecture']}" for m in inspect["manifests"])
    assert plats == PLATFORMS, inspect


def test_image_binary_is_the_tested_binary(image):
    got = hashlib.sha256((image["rootfs"] / "smartvault").read_bytes()).hexdigest()
    tested = TESTED[image["platform"]]
    assert tested.exists(), f"{tested} missing: ./build.sh image builds it first"
    want = hashlib.sha256(tested.read_bytes()).hexdigest()
    assert got == want, f"{image['platform']}: the image's binary {got} is not the tested {tested} {want}"


def test_config_names_its_platform(image):
    os_, arch = image["platform"].split("/")
    assert image["config"]["os"] == os_ and image["config"]["architecture"] == arch


def test_sbom_is_attached_as_a_referrer(image):
    index = json.loads((OCI / "index.json").read_text())
    found = []
    for d in index["manifests"]:
        if d.get("artifactType") != SBOM_TYPE:
            continue
        art = json.loads(s_blob(OCI, d["digest"]).read_text())
        if art["subject"]["digest"] == image["descriptor"]["digest"]:
            found.append(art)
    assert len(found) == 1, f"{image['platform']}: {len(found)} SBOM referrers"
    sbom = json.loads(s_blob(OCI, found[0]["layers"][0]["digest"]).read_text())
    printed = json.loads(run_binary(image["platform"], image["rootfs"] / "smartvault", ["sbom"]))
    assert sbom == printed
    assert sbom["bomFormat"] == "CycloneDX" and sbom["specVersion"] == "1.5"


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
    out = run_binary(image["platform"], image["rootfs"] / "smartvault", ["--version"])
    assert "libcurl/8.14.1" in out and "BearSSL" in out, out


def test_binary_runs_on_a_read_only_root(image):
    probe = subprocess.run(["unshare", "--mount", "true"], stderr=subprocess.DEVNULL)
    if probe.returncode != 0:
        pytest.skip("mount namespaces are not available here")
    rootfs = str(image["rootfs"])
    if RUNNER[image["platform"]]:
        start = f'setpriv --reuid=65532 --regid=65532 --clear-groups {" ".join(RUNNER[image["platform"]])} "$1/smartvault"'
    else:
        start = 'chroot --userspec=65532:65532 "$1" /smartvault'
    script = ('set -e; mount --bind "$1" "$1"; mount -o remount,bind,ro "$1"; '
              f'{start} --help >/dev/null; '
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
        out = run_binary(image["platform"], image["rootfs"] / "smartvault", ["debug", "http", url],
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
