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
declare -A rank=([base]=0 [codec]=1 [net]=2 [aws]=3 [svc]=4 [backup]=5 [debug]=6 [cmd]=7 [main]=8 [cfg]=cfg)

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
        [[ "$from" == backup || "$from" == debug || "$from" == cmd || "$from" == main ]]
        return
    fi
    if [[ "$from" == cfg ]]; then
        [[ "$to" == base || "$to" == codec || "$to" == aws ]]
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

# Inside a folder, modules (x.c with its x.h) must not depend on each other in a cycle either: a cycle means neither
# can be read, tested or changed without the other. Module A depends on B when a file of A includes B's header, or
# when A calls a function that B's .c defines (which catches a header that declares another file's functions).
# The edges "A B" go to tsort, which names the members of the loops it finds. LAYERS_CYCLES_ENFORCE=0 reports
# cycles without failing.
include_edges() {
    find "$src" -type f \( -name '*.c' -o -name '*.h' \) -print0 | sort -z | xargs -0 awk '
        FNR == 1 { n = split(FILENAME, parts, "/"); dir = parts[n - 1]; mod = parts[n]; sub(/\.[ch]$/, "", mod) }
        match($0, /^[[:space:]]*#[[:space:]]*include[[:space:]]*"[^"]*"/) {
            inc = substr($0, RSTART, RLENGTH); sub(/^[^"]*"/, "", inc); sub(/"$/, "", inc)
            m = split(inc, ip, "/"); idir = (m > 1 ? ip[m - 1] : dir); imod = ip[m]; sub(/\.h$/, "", imod)
            # "x.h" without a folder is a header of the same folder only when it exists there (else src/x.h).
            if (m == 1) { here = FILENAME; sub(/[^\/]*$/, "", here); if ((getline junk < (here inc)) <= 0) next; close(here inc) }
            if (idir == dir && imod != mod) print dir "/" mod, idir "/" imod
        }'
}
# Pass 1 collects the functions each .c defines (not static; the name at the start of a definition line, or on
# its own line after the return type), pass 2 the calls of them from another module of the same folder.
call_edges() {
    local files
    mapfile -t files < <(find "$src" -name '*.c' | sort)
    [[ ${#files[@]} -gt 0 ]] || return 0
    awk '
# pass 1 (FILENAME in list twice): collect non-static function definitions; pass 2: references
function modname(f,   n, parts, m) { n = split(f, parts, "/"); m = parts[n]; sub(/\.[ch]$/, "", m); return parts[n-1] "/" m }
FNR == 1 { pass = (seen[FILENAME]++ ? 2 : 1); prev = "" }
pass == 1 {
    line = $0
    if (line ~ /^[a-z_][a-z0-9_ *]*[ *]([a-z_][a-z0-9_]*)\(/ && line !~ /^static/ && line !~ /;[[:space:]]*$/ && line !~ /^(return|else|if|for|while)/) {
        s = line; sub(/\(.*/, "", s); n = split(s, w, /[ *]+/); name = w[n]
        if (name != "") def[name] = modname(FILENAME)
    } else if (line ~ /^[a-z_][a-z0-9_]*\(/ && prev !~ /^static/ && prev ~ /^[a-z]/ && prev !~ /;[[:space:]]*$/) {
        s = line; sub(/\(.*/, "", s); def[s] = modname(FILENAME)
    }
    prev = line
    next
}
pass == 2 {
    me = modname(FILENAME)
    line = $0
    gsub(/"([^"\\]|\\.)*"/, "", line)
    while (match(line, /[a-z_][a-z0-9_]*[[:space:]]*\(/)) {
        tok = substr(line, RSTART, RLENGTH); sub(/[[:space:]]*\($/, "", tok)
        line = substr(line, RSTART + RLENGTH)
        if ((tok in def) && def[tok] != me) {
            split(def[tok], a, "/"); split(me, b, "/")
            if (a[1] == b[1]) { e = me " " def[tok]; if (!(e in edge)) { edge[e] = 1; print e } }
        }
    }
}
    ' "${files[@]}" "${files[@]}"
}
edges=$({
    include_edges
    call_edges
} | sort -u)
s_loops() { (tsort <<<"$1" >/dev/null) 2>&1 | grep -v 'input contains a loop' | sed 's/^tsort: //' | paste -sd' ' || true; }
loops=$(s_loops "$edges")
if [[ -n "$loops" ]]; then
    echo "layers: dependency cycles between files of one folder (the modules of each loop tsort found, in order): $loops"
    if [[ "${LAYERS_CYCLES_ENFORCE:-1}" != 0 ]]; then
        violations=$((violations + 1))
    fi
fi

if [[ $violations -gt 0 ]]; then
    echo "layers: $violations violation(s) in $files files"
    exit 1
fi
if [[ -n "$loops" ]]; then
    echo "layers: $files files, dependencies point one way (cycles between files reported above, not enforced)"
else
    echo "layers: $files files, dependencies point one way, no cycles between files"
fi
