"""The release binary is what DESIGN.md §1 promises: one static file, small, built on the pinned libraries."""

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MAX_SIZE = 1_500_000  # bytes; the scratch image is this file and nothing else


def manifest_version(name):
    for line in (ROOT / "vendor/manifest").read_text().splitlines():
        fields = line.split()
        if fields and not fields[0].startswith("#") and fields[0] == name:
            return fields[1]
    raise AssertionError(f"{name} is not in vendor/manifest")


def test_statically_linked(smartvault):
    out = subprocess.run(["file", "-b", smartvault], check=True, stdout=subprocess.PIPE, text=True).stdout
    assert "statically linked" in out, out
    assert "dynamically linked" not in out, out


def test_ldd_finds_no_dynamic_dependencies(smartvault):
    proc = subprocess.run(["ldd", smartvault], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert "not a dynamic executable" in proc.stdout, proc.stdout
    assert "=>" not in proc.stdout


def test_size_within_budget(smartvault):
    size = Path(smartvault).stat().st_size
    print(f"build/smartvault: {size} bytes")
    assert size <= MAX_SIZE, f"{size} bytes > {MAX_SIZE}"


def test_version_names_pinned_libraries(run_smartvault):
    proc = run_smartvault(["--version"])
    assert proc.returncode == 0, proc.stderr
    assert f"libcurl/{manifest_version('curl')}" in proc.stdout, proc.stdout
    assert f"BearSSL {manifest_version('bearssl')}" in proc.stdout, proc.stdout
    assert proc.stdout.startswith("smartvault "), proc.stdout


def test_help_exits_zero(run_smartvault):
    proc = run_smartvault(["--help"])
    assert proc.returncode == 0, proc.stderr
    assert "usage:" in proc.stdout
