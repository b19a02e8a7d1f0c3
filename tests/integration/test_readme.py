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


def _cfg_table(smartvault):
    """The configuration table as the binary writes it: {name: (default, meaning)}, in table order."""
    md = subprocess.run([smartvault, "debug", "cfg-vars", "--markdown"], capture_output=True, text=True,
                        check=True).stdout
    rows = {}
    for line in md.splitlines()[2:]:
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]]
        rows[cells[0].strip("`")] = (cells[1], cells[2])
    return md, rows


def test_readme_variable_reference_table_is_the_configuration_table(smartvault):
    """The README's reference table is the binary's table, byte for byte: every name, default and meaning."""
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"<!-- cfg-vars:begin -->\n(.*?)<!-- cfg-vars:end -->", readme, re.S)
    assert block, "the README lost its variable table"
    md, rows = _cfg_table(smartvault)
    assert block.group(1) == md, "README.md's variable table differs: paste `smartvault debug cfg-vars --markdown`"
    names = subprocess.run([smartvault, "debug", "cfg-vars"], capture_output=True, text=True, check=True).stdout.split()
    assert list(rows) == names


def _norm(cell):
    return re.sub(r"\s+", " ", cell.replace("`", "")).strip().lower()


def test_readme_section_tables_agree_with_the_configuration_table(smartvault):
    """Every other README table with a `variable` and a `default` column: each variable it names exists, and its
    default is the table's; its meaning starts with the table's one-line help."""
    readme = (ROOT / "README.md").read_text()
    readme = re.sub(r"<!-- cfg-vars:begin -->.*?<!-- cfg-vars:end -->", "", readme, flags=re.S)
    _, rows = _cfg_table(smartvault)
    checked = 0
    for table in re.findall(r"(?:^\|.*\|\n)+", readme, re.M):
        lines = table.splitlines()
        header = [_norm(c) for c in lines[0].strip("|").split("|")]
        if "variable" not in header or "default" not in header:
            continue
        col_default, col_meaning = header.index("default"), header.index("meaning")
        for line in lines[2:]:
            cells = [c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]]
            names = re.findall(r"`([A-Z][A-Z0-9_]+)`", cells[0])
            assert names, f"a README variable row names no variable: {line}"
            for name in names:
                assert name in rows, f"README names {name}, which the configuration does not know"
                default, meaning = rows[name]
                if not default or name != names[0]:
                    continue  # an alias named in its setting's row ("`S3_SOURCE_BUCKET` (alias `SRC_BUCKET`)")
                assert _norm(cells[col_default]) == _norm(default), \
                    f"{name}: README default {cells[col_default]!r}, table {default!r}"
                assert _norm(cells[col_meaning]).startswith(_norm(meaning.split("; ")[0].rstrip("."))), \
                    f"{name}: README meaning does not start with the table's help {meaning!r}"
                checked += 1
    assert checked >= 15
