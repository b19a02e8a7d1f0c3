#!/usr/bin/env bash
# tests/tools/debs.sh - test tools from Debian packages pinned in vendor/manifest (kind 'deb'), unpacked, never
# installed: each NAME's .deb is downloaded through the private apt configuration of vendor/aptpriv.sh, its
# SHA-256 checked, and unpacked with `dpkg -x` into $CACHE/debs/NAME-VERSION (once).
#
# Prints one root directory per NAME, ':'-separated, in the order given. For Python packages the module path is
# ROOT/usr/lib/python3/dist-packages; for programs ROOT/usr/bin.
#   PYTHONPATH=$(tests/tools/debs.sh --python cyclonedx serializable packageurl) python3 ...
#   KUBECTL=$(tests/tools/debs.sh kubectl)/usr/bin/kubectl
set -euo pipefail
# shellcheck source=vendor/aptpriv.sh
source "$(dirname "$0")/../../vendor/aptpriv.sh"

suffix=""
if [[ "${1:-}" == --python ]]; then
    suffix=/usr/lib/python3/dist-packages
    shift
fi
[[ $# -gt 0 ]] || sv_die "usage: tests/tools/debs.sh [--python] NAME..."
out=()
for name in "$@"; do
    [[ "$(manifest_field "$name" kind)" == deb ]] || sv_die "vendor/manifest: $name is not a 'deb' entry"
    sha=$(manifest_field "$name" sha256)
    dest="$(sv_cache_dir)/debs/$name-$(manifest_field "$name" version)"
    mkdir -p "$(dirname "$dest")"
    exec {lockfd}>"$dest.lock"
    flock "$lockfd"
    if [[ "$(cat "$dest/.complete" 2>/dev/null)" != "$sha" ]]; then
        deb=$(sv_fetch "$name")
        rm -rf "$dest.tmp"
        dpkg -x "$deb" "$dest.tmp"
        echo "$sha" >"$dest.tmp/.complete"
        rm -rf "$dest"
        mv "$dest.tmp" "$dest"
        echo "debs.sh: $name unpacked into $dest" >&2
    fi
    exec {lockfd}>&-
    out+=("$dest$suffix")
done
(
    IFS=:
    echo "${out[*]}"
)
