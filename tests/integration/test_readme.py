"""README.md stays true: its --help block is the binary's --help, and it names every configuration variable."""

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MARKER = "This is the output of `smartvault --help`"


def test_readme_help_block_is_the_binarys_help(smartvault):
    readme = (ROOT / "README.md").read_text()
    block = re.search(re.escape(MARKER) + r".*?```\n(.*?)\n```", readme, re.S)
    assert block, "the README lost its --help block"
    help_text = subprocess.run([smartvault, "--help"], capture_output=True, text=True, check=True).stdout
    assert block.group(1) == help_text.rstrip("\n"), "README.md's --help block differs: paste `smartvault --help`"


def test_readme_names_every_configuration_variable(smartvault):
    readme = (ROOT / "README.md").read_text()
    names = subprocess.run([smartvault, "debug", "cfg-vars"], capture_output=True, text=True, check=True).stdout.split()
    assert len(names) > 40
    assert [n for n in names if n not in readme] == []


def test_readme_quick_start_commands_exist():
    readme = (ROOT / "README.md").read_text()
    build = (ROOT / "build.sh").read_text()
    for cmd in ("demo", "test"):
        assert f"./build.sh {cmd}" in readme
        assert re.search(rf"^\s+{cmd}\) cmd_{cmd}", build, re.M), cmd
    assert (ROOT / ".ci/run").read_text().strip().endswith("exec ./build.sh test")


def test_readme_has_no_internal_references():
    """README.md is for outside users: nothing that only means something inside the team."""
    readme = (ROOT / "README.md").read_text()
    for pattern in (r"\.\./shared", r"\bseeds?\s+0\d\d", r"\bseed\s+\d", r"/work/", r"\bissue\s+\d+"):
        hits = re.findall(rf".{{0,40}}{pattern}.{{0,40}}", readme, re.I)
        assert not hits, f"internal reference in README.md: {hits}"


def test_readme_run_the_image_names_the_built_tag_and_the_commands():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Run the image", 1)[1].split("\n## ", 1)[0]
    test_image = (ROOT / "tests/image/test_image.py").read_text()
    tag = re.search(r'^IMAGE = "([^"]+)"', test_image, re.M).group(1)
    assert tag in section, f"the built tag {tag} is not named"
    for needle in ("docker build -t smartvault .", "--read-only", "--user 65532:65532", "build/oci", "runtimePlatform",
                   "kubernetes.io/arch: arm64", "skopeo copy --all"):
        assert needle in section, needle
