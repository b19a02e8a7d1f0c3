#!/usr/bin/env bash
# tests/tools/layers.sh - checks that dependencies between the layers of src/ point one way (DESIGN.md §6).
#
#   base → codec → net → aws → svc → backup → debug → main.c
#   cfg: may include base and codec only; may be included by backup, debug and main.c only.
#
# A file in layer X may include (with #include "...") headers of its own layer and of earlier layers only.
# Headers directly under src/ (such as version.h) belong to no layer and may be included from anywhere.
# A folder under src/ that is not listed here is an error: a new layer must be placed in the order first.
# System headers (#include <...>) are not checked here; the curl boundary is a separate check in build.sh.
#
# Usage: tests/tools/layers.sh [SRC_DIR]   (default: src). Exit 0 when clean, 1 with one line per violation.
set -euo pipefail

src=${1:-src}
[[ -d "$src" ]] || {
    echo "layers: no $src directory" >&2
    exit 1
}

# Rank of each layer; main.c is the top.
declare -A rank=([base]=0 [codec]=1 [net]=2 [aws]=3 [svc]=4 [backup]=5 [debug]=6 [main]=7 [cfg]=cfg)

# s_layer PATH-RELATIVE-TO-SRC → the layer name, "top" for files directly under src/ (main.c is "main").
s_layer() {
    local rel=$1
    if [[ "$rel" == */* ]]; then
        echo "${rel%%/*}"
    elif [[ "$rel" == main.c ]]; then
        echo main
    else
        echo top
    fi
}

# s_allowed FROM TO → 0 when a file of layer FROM may include a header of layer TO.
s_allowed() {
    local from=$1 to=$2
    [[ "$to" == top || "$from" == "$to" ]] && return 0
    if [[ "$to" == cfg ]]; then
        [[ "$from" == backup || "$from" == debug || "$from" == main ]]
        return
    fi
    if [[ "$from" == cfg ]]; then
        [[ "$to" == base || "$to" == codec ]]
        return
    fi
    [[ "$from" == top ]] && return 1 # headers under src/ stay free of layer headers
    ((${rank[$to]} <= ${rank[$from]}))
}

violations=0
files=0
while IFS= read -r -d '' file; do
    rel=${file#"$src"/}
    from=$(s_layer "$rel")
    files=$((files + 1))
    if [[ "$from" != top && -z "${rank[$from]:-}" ]]; then
        echo "layers: $file: folder '$from' is not a known layer (base codec net aws svc backup debug cfg)"
        violations=$((violations + 1))
        continue
    fi
    while IFS=: read -r line inc; do
        # Quoted includes are relative to src/ (the build passes -Isrc), or to the including file's folder.
        if [[ "$inc" != */* && -e "$(dirname "$file")/$inc" && "$from" != top && "$from" != main ]]; then
            to=$from
        else
            to=$(s_layer "$inc")
        fi
        if [[ "$to" != top && -z "${rank[$to]:-}" ]]; then
            echo "layers: $file:$line: includes \"$inc\" from unknown layer '$to'"
            violations=$((violations + 1))
        elif ! s_allowed "$from" "$to"; then
            echo "layers: $file:$line: $from may not include \"$inc\" ($to)"
            violations=$((violations + 1))
        fi
    done < <(awk '{ if (match($0, /^[[:space:]]*#[[:space:]]*include[[:space:]]*"[^"]*"/)) {
                 s = substr($0, RSTART, RLENGTH); sub(/^[^"]*"/, "", s); sub(/"$/, "", s); print FNR ":" s } }' "$file")
done < <(find "$src" -type f \( -name '*.c' -o -name '*.h' \) -print0 | sort -z)

if [[ $violations -gt 0 ]]; then
    echo "layers: $violations violation(s) in $files files"
    exit 1
fi
echo "layers: $files files, dependencies point one way"
