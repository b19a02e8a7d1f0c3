#!/usr/bin/env bash
# vendor/fetch.sh - download the pinned source archives of vendor/manifest into the cache and verify them.
#
# Prints one line per archive: NAME PATH. Already cached and verified archives are not downloaded again.
# Usage: vendor/fetch.sh [NAME...]   (default: every 'source' entry of vendor/manifest)
set -euo pipefail
# shellcheck source=vendor/aptpriv.sh
source "$(dirname "$0")/aptpriv.sh"

names=("$@")
if [[ ${#names[@]} -eq 0 ]]; then
    mapfile -t names < <(awk '$0 !~ /^[[:space:]]*#/ && NF && $3 == "source" { print $1 }' "$SV_MANIFEST")
fi
for name in "${names[@]}"; do
    path=$(sv_fetch "$name")
    echo "$name $path"
done
