#!/bin/sh
# tests/fuzz/fuzz.sh - build and run the libFuzzer targets in tests/fuzz/.
#
#   tests/fuzz/fuzz.sh replay [TARGET...]        replay every seed corpus (ASan+UBSan, no libFuzzer): the test-run mode
#   tests/fuzz/fuzz.sh run SECONDS [TARGET...]   fuzz each target for SECONDS with clang-14 -fsanitize=fuzzer
#   tests/fuzz/fuzz.sh merge [TARGET...]         minimise the run corpus into tests/fuzz/corpus/TARGET (to commit)
#
# Targets are discovered, not listed: every tests/fuzz/fuzz_NAME.c is target NAME. Each names the sources it needs
# on one line, paths relative to the repository root, globs allowed (a // comment, since "/*" in a glob would
# open a comment inside a block comment):
#
#   // fuzz-sources: src/codec/xml.c src/base/*.c
#
# Seeds live in tests/fuzz/corpus/NAME/ (small files, committed); tests/fuzz/NAME.dict is passed to libFuzzer as
# a dictionary when it exists. Builds and the growing run corpus go to $SV_FUZZ_OUT (default build/fuzz/, which
# git ignores). Crashes are written to $SV_FUZZ_OUT/artifacts/NAME/; copy the input into the seed corpus once fixed.
#
# Environment: CC (replay compiler, default gcc), FUZZ_CC (default clang-14), FUZZ_FLAGS (extra libFuzzer flags).
set -eu

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
FUZZ_DIR="$ROOT/tests/fuzz"
OUT=${SV_FUZZ_OUT:-"$ROOT/build/fuzz"}
WARN="-std=c11 -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wformat=2 -Wvla -Werror"
DEFS="-D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -I$ROOT/src"

usage() {
    sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

# All target names, or the ones given (checked to exist).
targets() {
    if [ $# -gt 0 ]; then
        for t in "$@"; do
            [ -f "$FUZZ_DIR/fuzz_$t.c" ] || { echo "fuzz.sh: no target $t (tests/fuzz/fuzz_$t.c)" >&2; exit 2; }
            echo "$t"
        done
        return
    fi
    for f in "$FUZZ_DIR"/fuzz_*.c; do
        [ -e "$f" ] || continue
        t=${f##*/fuzz_}
        echo "${t%.c}"
    done
}

# The target's source list, globs expanded from the repository root.
sources() {
    line=$(grep -m1 'fuzz-sources:' "$FUZZ_DIR/fuzz_$1.c" || true)
    [ -n "$line" ] || { echo "fuzz.sh: fuzz_$1.c has no 'fuzz-sources:' line" >&2; exit 2; }
    list=$(printf '%s\n' "${line#*fuzz-sources:}" | sed 's#\*/##')
    (
        cd "$ROOT"
        for pattern in $list; do
            for path in $pattern; do
                [ -f "$path" ] || { echo "fuzz.sh: fuzz_$1.c names $path, which does not exist" >&2; exit 2; }
                printf '%s ' "$ROOT/$path"
            done
        done
    )
}

corpus_count() {
    if [ -d "$1" ]; then find "$1" -type f ! -name '.*' | wc -l | tr -d ' '; else echo 0; fi
}

cmd_replay() {
    cc=${CC:-gcc}
    mkdir -p "$OUT"
    total=0
    for t in $(targets "$@"); do
        srcs=$(sources "$t")
        bin="$OUT/replay_$t"
        # shellcheck disable=SC2086
        $cc $WARN $DEFS -g -O1 -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer \
            "$FUZZ_DIR/replay.c" "$FUZZ_DIR/fuzz_$t.c" $srcs -o "$bin" -lm
        corpus="$FUZZ_DIR/corpus/$t"
        if [ ! -d "$corpus" ]; then
            echo "fuzz.sh: target $t has no seed corpus ($corpus)" >&2
            exit 1
        fi
        result=$(ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 "$bin" "$corpus" | tail -n 1)
        n=$(printf '%s\n' "$result" | sed -n 's/^replayed \([0-9]*\) files$/\1/p')
        [ -n "$n" ] || { echo "fuzz.sh: replay of $t gave no count" >&2; exit 1; }
        printf 'replay %-12s %6s files\n' "$t" "$n"
        total=$((total + n))
    done
    printf 'replay total        %6s files\n' "$total"
}

# Prints one summary row from a libFuzzer log (the -print_final_stats lines and the last "corp:" status line).
summarise() {
    t=$1 log=$2 secs=$3 corpus=$4 status=$5
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
    added=$(sed -n 's/^stat::new_units_added: *//p' "$log" | tail -n 1)
    corp=$(grep -o 'corp: [0-9]*/[0-9]*[a-zA-Z]*' "$log" | tail -n 1 | sed 's/corp: //')
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1 | sed 's/cov: //')
    printf '%-12s %6s %12s %9s %7s %14s %7s %7s  %s\n' "$t" "$secs" "${execs:-?}" "${rate:-?}" "${cov:-?}" \
        "${corp:-?}" "$(corpus_count "$corpus")" "${added:-?}" "$status"
}

cmd_run() {
    [ $# -ge 1 ] || usage
    secs=$1
    shift
    case $secs in '' | *[!0-9]*) usage ;; esac
    fcc=${FUZZ_CC:-clang-14}
    command -v "$fcc" >/dev/null || { echo "fuzz.sh: $fcc not found (apt-get install clang-14 libclang-rt-14-dev)" >&2; exit 1; }
    mkdir -p "$OUT"
    failed=0
    rows=""
    for t in $(targets "$@"); do
        srcs=$(sources "$t")
        bin="$OUT/fuzz_$t"
        # Warnings are not fatal here: this build is for finding bugs, and clang warns about things gcc does not
        # (replay, the test-run gate, keeps -Werror).
        # shellcheck disable=SC2086
        "$fcc" ${WARN% -Werror} $DEFS -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
            "$FUZZ_DIR/fuzz_$t.c" $srcs -o "$bin" -lm
        work="$OUT/corpus/$t"
        art="$OUT/artifacts/$t"
        mkdir -p "$work" "$art"
        dict=""
        [ -f "$FUZZ_DIR/$t.dict" ] && dict="-dict=$FUZZ_DIR/$t.dict"
        log="$OUT/$t.log"
        echo "fuzz $t for ${secs}s (log: $log)" >&2
        status=ok
        # shellcheck disable=SC2086
        "$bin" -max_total_time="$secs" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048 -max_len=16384 \
            -artifact_prefix="$art/" $dict ${FUZZ_FLAGS:-} "$work" "$FUZZ_DIR/corpus/$t" >"$log" 2>&1 || status=CRASH
        if [ "$status" != ok ]; then
            failed=1
            grep -m1 -E 'ERROR|SUMMARY|Test unit written' "$log" >&2 || true
            ls "$art" >&2 || true
        fi
        rows="$rows$(summarise "$t" "$log" "$secs" "$work" "$status")
"
    done
    printf '%-12s %6s %12s %9s %7s %14s %7s %7s  %s\n' target secs executions exec/s cov corp:units/size \
        run-dir new status
    printf '%s' "$rows"
    return $failed
}

cmd_merge() {
    for t in $(targets "$@"); do
        bin="$OUT/fuzz_$t"
        [ -x "$bin" ] || { echo "fuzz.sh: run $t first (no $bin)" >&2; exit 1; }
        seeds="$FUZZ_DIR/corpus/$t"
        before=$(corpus_count "$seeds")
        # Edge coverage only (-use_counters=0): hit-count features would add hundreds of near-duplicates, and
        # the committed corpus is for replay in every test run, not for the next fuzzing session.
        "$bin" -merge=1 -use_counters=0 "$seeds" "$OUT/corpus/$t" >"$OUT/$t.merge.log" 2>&1
        echo "merge $t: $before -> $(corpus_count "$seeds") seed files"
    done
}

[ $# -ge 1 ] || usage
mode=$1
shift
case $mode in
    replay) cmd_replay "$@" ;;
    run) cmd_run "$@" ;;
    merge) cmd_merge "$@" ;;
    *) usage ;;
esac
