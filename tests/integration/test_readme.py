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
