#!/usr/bin/env bash
# build.sh - SmartVault's one build entry point.
#
#   ./build.sh              release: the static musl binary build/smartvault (prints its size)
#   ./build.sh deps [FLAVOR]  build BearSSL + libcurl for FLAVOR (musl, asan; default both), cached by hash
#   ./build.sh unit [FILTER]  C unit tests, static musl build (build/unit_tests); FILTER selects tests by name
#   ./build.sh asan [FILTER]  C unit tests under ASan+UBSan: clang-14 against glibc (build/unit_tests_asan)
#   ./build.sh lint         format (clang-format), banned functions, curl boundary, layering
#   ./build.sh repro        two clean release builds, in two different directories, must be byte-identical
#   ./build.sh integration  pytest tests/integration against the moto emulator
#   ./build.sh image        the container image: built with buildah from the Dockerfile and inspected
#   ./build.sh test         everything CI runs, in order (installs what it needs first); exit 1 if any step failed
#   ./build.sh fuzz         replay every fuzz corpus (tests/fuzz/corpus) through its target, ASan+UBSan
#   ./build.sh deploy       the deployment tests: CloudFormation in moto, least privilege, Kubernetes schemas
#   ./build.sh demo         a demo: the emulator, a seeded fleet, two real cycles, what boto3 sees
#   ./build.sh bench        the benchmarks (EBS fleet, S3 copy) against the emulator behind a 20 ms proxy
#   ./build.sh clean        remove build/ (the dependency cache stays)
#
# Dependencies are built from the pinned sources of vendor/manifest (fetched by vendor/fetch.sh) into
# ${SMARTVAULT_CACHE:-~/.cache/smartvault}/deps-FLAVOR-HASH, where HASH covers the manifest's source lines, the
# recipe below and the compiler's version: a second run finds them and builds nothing.
#
# Builds are reproducible: fixed SOURCE_DATE_EPOCH, LC_ALL/TZ, -ffile-prefix-map, deterministic archives, sorted
# inputs, and the CA bundle generated from the Mozilla certificates of the ca-certificates package.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")"
ROOT=$PWD
SELF="$ROOT/build.sh"
OUT=build # relative on purpose: paths in the binary must not depend on where the tree is checked out
CACHE=${SMARTVAULT_CACHE:-${HOME:-$(echo ~)}/.cache/smartvault} # ~ when HOME is unset: the passwd entry
JOBS=$(nproc 2>/dev/null || echo 2)
export SMARTVAULT_CACHE=$CACHE
export SOURCE_DATE_EPOCH=1748736000 # 2025-06-01T00:00:00Z; fixed, never the clock
export LC_ALL=C TZ=UTC
umask 022

WARNINGS=(-Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wformat=2 -Wvla -Werror)
DEFINES=(-D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE)
BANNED_FUNCTIONS=(sprintf strcpy strcat gets atoi gmtime localtime rand system alloca strtok vsprintf)

# Debian packages by purpose; installed only when missing.
PKGS_BUILD=(musl-tools binutils make gcc xz-utils ca-certificates)
PKGS_ASAN=(clang-14 libclang-rt-14-dev)
PKGS_TEST=(file clang-format openssl python3-pytest python3-boto3 python3-botocore python3-flask python3-flask-cors
    python3-werkzeug python3-jinja2 python3-requests python3-responses python3-xmltodict python3-dateutil
    python3-cryptography python3-yaml)
PKGS_IMAGE=(buildah podman umoci debootstrap)
# The coverage page's render tests (tests/integration/test_report_page.py): Debian's headless Chromium.
PKGS_BROWSER=(chromium-headless-shell)

# The steps of `./build.sh test`, in order. A step is a function test_step_NAME; add new ones here.
TEST_STEPS=(lint unit asan fuzz repro integration deploy image)

say() { printf '==> %s\n' "$*"; }
die() {
    printf 'build.sh: error: %s\n' "$*" >&2
    exit 1
}
now_s() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now_s)" 'BEGIN { printf "%.1f", b - a }'; }

# ---------------------------------------------------------------------------------------------------------------
# Packages

# install_pkgs PKG...: apt-get install whatever is not installed yet (apt-get update at most once per run).
install_pkgs() {
    local missing=() p
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    [[ ${#missing[@]} -eq 0 ]] && return 0
    [[ $(id -u) -eq 0 ]] || die "missing packages (run as root, or install them): ${missing[*]}"
    say "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    if [[ -z "${SV_APT_UPDATED:-}" ]]; then
        apt-get update -q
        export SV_APT_UPDATED=1
    fi
    apt-get install -y -q --no-install-recommends "${missing[@]}"
}

# ---------------------------------------------------------------------------------------------------------------
# Dependencies: BearSSL and libcurl, per flavor.
#   musl: musl-gcc, static, size-optimised: linked into build/smartvault and build/unit_tests
#   asan: clang-14 against glibc, -g: linked into the sanitizer unit tests (sanitizers need glibc)

deps_flavor_env() {
    local flavor=$1 work=$2
    case "$flavor" in
        musl)
            DEPS_CC=musl-gcc
            DEPS_CFLAGS="-Os -ffunction-sections -fdata-sections -ffile-prefix-map=$work=/deps"
            DEPS_LDFLAGS="-static"
            ;;
        asan)
            DEPS_CC=clang-14
            DEPS_CFLAGS="-O1 -g -fPIC -fno-omit-frame-pointer -ffile-prefix-map=$work=/deps"
            DEPS_LDFLAGS=""
            ;;
        *) die "unknown dependency flavor '$flavor' (musl, asan)" ;;
    esac
}

deps_build_bearssl() {
    local src=$1 prefix=$2
    make -C "$src" -j"$JOBS" CC="$DEPS_CC" LD="$DEPS_CC" LDDLL="$DEPS_CC" AR=ar ARFLAGS=rcsD \
        CFLAGS="-W -Wall $DEPS_CFLAGS" lib >"$src/build.log" 2>&1 || {
        tail -40 "$src/build.log" >&2
        die "BearSSL build failed"
    }
    mkdir -p "$prefix/include" "$prefix/lib"
    cp "$src"/inc/*.h "$prefix/include/"
    cp "$src/build/libbearssl.a" "$prefix/lib/"
}

# HTTP and HTTPS only. Proxies, IPv6 and the threaded resolver stay; no CA path is compiled in (the binary
# hands libcurl its embedded bundle or the user's file); features SmartVault never uses are left out.
CURL_CONFIGURE=(
    --disable-shared --enable-static --disable-dependency-tracking
    --without-libpsl --without-zlib --without-brotli --without-zstd --without-nghttp2 --without-libidn2
    --without-librtmp --without-libssh2 --without-ca-bundle --without-ca-path --without-ca-fallback
    --disable-ldap --disable-ldaps --disable-rtsp --disable-dict --disable-telnet --disable-tftp --disable-pop3
    --disable-imap --disable-smtp --disable-gopher --disable-mqtt --disable-smb --disable-ftp --disable-file
    --disable-ipfs --disable-websockets
    --disable-manual --disable-docs --disable-ntlm --disable-kerberos-auth --disable-negotiate-auth
    --disable-alt-svc --disable-hsts --disable-cookies --disable-netrc --disable-mime --disable-form-api
    --disable-doh --disable-aws --disable-unix-sockets --disable-libcurl-option --disable-progress-meter
    --enable-ipv6 --enable-threaded-resolver
    --enable-unity # one translation unit: half the build time on two cores
)

deps_build_curl() {
    local src=$1 prefix=$2
    (
        cd "$src"
        CC="$DEPS_CC" CFLAGS="$DEPS_CFLAGS" CPPFLAGS="-I$prefix/include" LDFLAGS="-L$prefix/lib $DEPS_LDFLAGS" \
            AR_FLAGS=crD ./configure --with-bearssl="$prefix" "${CURL_CONFIGURE[@]}" >configure.log 2>&1
    ) || {
        tail -40 "$src/config.log" >&2
        die "curl configure failed (see $src/config.log)"
    }
    # libcurl.la only: `make -C lib` would also build libcurlu, a second copy for curl's own unit tests.
    make -C "$src/lib" -j"$JOBS" libcurl.la >"$src/build.log" 2>&1 || {
        tail -40 "$src/build.log" >&2
        die "curl build failed"
    }
    mkdir -p "$prefix/include/curl"
    cp "$src"/include/curl/*.h "$prefix/include/curl/"
    cp "$src/lib/.libs/libcurl.a" "$prefix/lib/"
}

# The cache key: what goes in (pinned sources), how it is built (this recipe), and with what compiler.
deps_hash() {
    local flavor=$1
    deps_flavor_env "$flavor" /WORK
    {
        awk '$0 !~ /^[[:space:]]*#/ && $3 == "source"' vendor/manifest
        declare -f deps_flavor_env deps_build_bearssl deps_build_curl
        printf '%s\n' "${CURL_CONFIGURE[@]}" "$flavor" "$SOURCE_DATE_EPOCH"
        "$DEPS_CC" --version 2>/dev/null | head -1
    } | sha256sum | cut -c1-16
}

# deps_ensure FLAVOR: sets DEPS to the flavor's prefix, building it first when it is not cached.
deps_ensure() {
    local flavor=$1 hash prefix work t0
    if [[ $flavor == musl ]]; then install_pkgs "${PKGS_BUILD[@]}"; else install_pkgs "${PKGS_BUILD[@]}" "${PKGS_ASAN[@]}"; fi
    hash=$(deps_hash "$flavor")
    prefix="$CACHE/deps-$flavor-$hash"
    DEPS=$prefix
    if [[ -e "$prefix/.complete" ]]; then
        return 0
    fi
    # One builder per flavor at a time (parallel test steps, a developer's second shell).
    local lockfd
    mkdir -p "$CACHE"
    exec {lockfd}>"$CACHE/.deps-$flavor.lock"
    flock "$lockfd"
    if [[ -e "$prefix/.complete" ]]; then
        exec {lockfd}>&-
        return 0
    fi
    t0=$(now_s)
    say "deps: building BearSSL + curl ($flavor) into $prefix"
    local archives
    archives=$(vendor/fetch.sh bearssl curl)
    work="$CACHE/work/deps-$flavor-$hash"
    rm -rf "$work" "$prefix.tmp"
    mkdir -p "$work" "$prefix.tmp"
    tar -C "$work" -xf "$(awk '$1 == "bearssl" { print $2 }' <<<"$archives")"
    tar -C "$work" -xf "$(awk '$1 == "curl" { print $2 }' <<<"$archives")"
    deps_flavor_env "$flavor" "$work"
    deps_build_bearssl "$work/bearssl-$(sv_manifest bearssl 2)" "$prefix.tmp"
    deps_build_curl "$work/curl-$(sv_manifest curl 2)" "$prefix.tmp"
    {
        echo "flavor: $flavor"
        echo "compiler: $("$DEPS_CC" --version | head -1)"
        awk '$0 !~ /^[[:space:]]*#/ && $3 == "source"' vendor/manifest
    } >"$prefix.tmp/BUILDINFO"
    touch "$prefix.tmp/.complete"
    rm -rf "$prefix"
    mv "$prefix.tmp" "$prefix"
    rm -rf "$work"
    exec {lockfd}>&-
    say "deps: $flavor built in $(elapsed "$t0") s (libcurl.a $(stat -c %s "$prefix/lib/libcurl.a") B, libbearssl.a $(stat -c %s "$prefix/lib/libbearssl.a") B)"
}

# sv_manifest NAME COLUMN-NUMBER
sv_manifest() {
    awk -v n="$1" -v i="$2" '$0 !~ /^[[:space:]]*#/ && $1 == n { print $i; exit }' vendor/manifest
}

# ---------------------------------------------------------------------------------------------------------------
# The application

# The embedded trust store: the Mozilla certificates shipped by ca-certificates, sorted by file name. Not
# /etc/ssl/certs/ca-certificates.crt: that file also holds whatever local CAs the build machine added, which
# must never end up in a shipped binary. SMARTVAULT_CA_PEM overrides the source (one PEM file).
gen_ca_bundle() {
    local out="$OUT/gen/ca_bundle.c" tmp pem
    mkdir -p "$OUT/gen"
    tmp=$(mktemp "$OUT/gen/.ca.XXXXXX")
    pem="$tmp.pem"
    if [[ -n "${SMARTVAULT_CA_PEM:-}" ]]; then
        cat "$SMARTVAULT_CA_PEM" >"$pem"
    else
        compgen -G '/usr/share/ca-certificates/mozilla/*.crt' >/dev/null ||
            die "no Mozilla certificates in /usr/share/ca-certificates/mozilla (package ca-certificates)"
        find /usr/share/ca-certificates/mozilla -name '*.crt' -print0 | sort -z | xargs -0 cat >"$pem"
    fi
    [[ -s "$pem" ]] || die "the CA bundle is empty"
    {
        echo "/* Generated by build.sh: the Mozilla CA bundle (ca-certificates $(dpkg-query -W -f='${Version}' ca-certificates 2>/dev/null || echo unknown), $(grep -c 'BEGIN CERTIFICATE' "$pem") certificates). Do not edit. */"
        echo "extern const unsigned char smartvault_ca_bundle[];"
        echo "extern const unsigned long smartvault_ca_bundle_len;"
        echo "const unsigned char smartvault_ca_bundle[] = {"
        od -An -v -tx1 "$pem" | awk '{ s = "   "; for (i = 1; i <= NF; i++) s = s " 0x" $i ","; print s }'
        echo "};"
        echo "const unsigned long smartvault_ca_bundle_len = $(stat -c %s "$pem")UL;"
    } >"$tmp"
    rm -f "$pem"
    chmod 644 "$tmp"
    if cmp -s "$tmp" "$out"; then rm -f "$tmp"; else mv "$tmp" "$out"; fi
}

app_sources() { find src -name '*.c' | sort; }
unit_sources() { find tests/unit -maxdepth 1 -name '*.c' 2>/dev/null | sort; }

# compile_all CC OBJDIR FLAG... -- SOURCE...: one object per source, $JOBS at a time, every failure reported.
compile_all() {
    local cc=$1 objdir=$2
    shift 2
    local flags=()
    while [[ $1 != -- ]]; do
        flags+=("$1")
        shift
    done
    shift
    local pids=() src obj fail=0
    OBJS=()
    for src in "$@"; do
        obj="$objdir/${src%.c}.o"
        mkdir -p "$(dirname "$obj")"
        OBJS+=("$obj")
        "$cc" "${flags[@]}" -c "$src" -o "$obj" &
        pids+=($!)
        if [[ ${#pids[@]} -ge $JOBS ]]; then
            wait "${pids[0]}" || fail=1
            pids=("${pids[@]:1}")
        fi
    done
    for p in "${pids[@]}"; do wait "$p" || fail=1; done
    [[ $fail -eq 0 ]] || die "compilation failed"
}

musl_cflags() {
    MUSL_CFLAGS=(-std=c11 -Os "${WARNINGS[@]}" "${DEFINES[@]}" -Isrc "-I$OUT/gen" "-I$DEPS/include"
        -ffunction-sections -fdata-sections "-ffile-prefix-map=$ROOT=.")
}

cmd_release() {
    local t0 srcs
    t0=$(now_s)
    deps_ensure musl
    gen_ca_bundle
    mapfile -t srcs < <(app_sources)
    [[ ${#srcs[@]} -gt 0 ]] || die "no sources under src/"
    musl_cflags
    rm -rf "$OUT/obj/release"
    compile_all musl-gcc "$OUT/obj/release" "${MUSL_CFLAGS[@]}" -- "${srcs[@]}" "$OUT/gen/ca_bundle.c"
    musl-gcc -static -Wl,--gc-sections -s -o "$OUT/smartvault.tmp" "${OBJS[@]}" -L"$DEPS/lib" -lcurl -lbearssl
    mv "$OUT/smartvault.tmp" "$OUT/smartvault"
    say "build/smartvault: $(stat -c %s "$OUT/smartvault") bytes (stripped, static), built in $(elapsed "$t0") s"
}

cmd_deps() {
    local flavors=("$@") f
    [[ ${#flavors[@]} -gt 0 ]] || flavors=(musl asan)
    for f in "${flavors[@]}"; do
        deps_ensure "$f"
        say "deps ($f): $DEPS"
    done
}

# run_unit_binary BIN [FILTER]: runs it and requires the harness's closing line.
run_unit_binary() {
    local bin=$1 log rc=0
    shift
    log="$bin.log"
    "$bin" "$@" 2>&1 | tee "$log" || rc=${PIPESTATUS[0]}
    if ! tail -1 "$log" | grep -Eq '^[0-9]+ passed, [0-9]+ failed$'; then
        die "$bin stopped (exit $rc) before its closing 'N passed, N failed' line: see the output above"
    fi
    return "$rc"
}

have_unit_tests() {
    if [[ -z "$(unit_sources)" ]]; then
        say "unit: no tests in tests/unit yet; nothing to run"
        return 1
    fi
}

cmd_unit() {
    have_unit_tests || return 0
    local filter=("$@")
    local srcs tests
    deps_ensure musl
    gen_ca_bundle
    mapfile -t srcs < <(app_sources | grep -vx 'src/main.c')
    mapfile -t tests < <(unit_sources)
    musl_cflags
    rm -rf "$OUT/obj/unit"
    compile_all musl-gcc "$OUT/obj/unit" "${MUSL_CFLAGS[@]}" -Itests/unit -- "${srcs[@]}" "${tests[@]}" "$OUT/gen/ca_bundle.c"
    musl-gcc -static -o "$OUT/unit_tests" "${OBJS[@]}" -L"$DEPS/lib" -lcurl -lbearssl
    say "unit: build/unit_tests (musl, static)"
    run_unit_binary "$OUT/unit_tests" "${filter[@]}"
}

# Also links build/smartvault_asan (main.c + the same objects) for running the integration tests under sanitizers.
cmd_asan() {
    have_unit_tests || return 0
    local srcs tests flags filter=("$@")
    deps_ensure asan
    gen_ca_bundle
    mapfile -t srcs < <(app_sources | grep -vx 'src/main.c')
    mapfile -t tests < <(unit_sources)
    flags=(-std=c11 -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
        "${WARNINGS[@]}" "${DEFINES[@]}" -Isrc "-I$OUT/gen" "-I$DEPS/include" -Itests/unit "-ffile-prefix-map=$ROOT=.")
    rm -rf "$OUT/obj/asan"
    compile_all clang-14 "$OUT/obj/asan" "${flags[@]}" -- "${srcs[@]}" "${tests[@]}" "$OUT/gen/ca_bundle.c"
    clang-14 -fsanitize=address,undefined -fno-sanitize-recover=all -o "$OUT/unit_tests_asan" "${OBJS[@]}" \
        -L"$DEPS/lib" -lcurl -lbearssl -lpthread
    local app_objs=() o
    for o in "${OBJS[@]}"; do [[ $o == "$OUT/obj/asan/tests/"* ]] || app_objs+=("$o"); done
    compile_all clang-14 "$OUT/obj/asan" "${flags[@]}" -- src/main.c
    clang-14 -fsanitize=address,undefined -fno-sanitize-recover=all -o "$OUT/smartvault_asan" "${app_objs[@]}" \
        "${OBJS[@]}" -L"$DEPS/lib" -lcurl -lbearssl -lpthread
    say "asan: build/unit_tests_asan and build/smartvault_asan (clang-14, glibc, ASan+UBSan)"
    ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0} \
        UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
        run_unit_binary "$OUT/unit_tests_asan" "${filter[@]}"
}

# ---------------------------------------------------------------------------------------------------------------
# Checks

lint_format() {
    if [[ ! -e .clang-format ]]; then
        say "lint: no .clang-format at the top of the tree; format check skipped"
        return 0
    fi
    local files
    mapfile -t files < <(find src tests/unit -name '*.[ch]' 2>/dev/null | sort)
    [[ ${#files[@]} -gt 0 ]] || return 0
    clang-format --dry-run --Werror "${files[@]}"
}

# Banned functions, outside comments and string literals (a rough but honest strip).
lint_banned() {
    local re hits
    re="\\b($(
        IFS='|'
        echo "${BANNED_FUNCTIONS[*]}"
    ))[[:space:]]*\\("
    hits=$(find src -name '*.[ch]' -print0 | sort -z | xargs -0 awk '
        { line = $0
          if (in_comment) { if (sub(/.*\*\//, "", line)) in_comment = 0; else next }
          gsub(/\/\*.*\*\//, "", line)
          if (sub(/\/\*.*/, "", line)) in_comment = 1
          sub(/\/\/.*/, "", line)
          gsub(/"([^"\\]|\\.)*"/, "\"\"", line)
          print FILENAME ":" FNR ":" line }' | grep -E "$re" || true)
    if [[ -n "$hits" ]]; then
        echo "$hits"
        echo "lint: banned functions used (${BANNED_FUNCTIONS[*]})" >&2
        return 1
    fi
}

lint_curl_boundary() {
    local hits
    hits=$(grep -rlE '^[[:space:]]*#[[:space:]]*include[[:space:]]*[<"]curl/' src | sort | grep -vx 'src/net/http.c' || true)
    if [[ -n "$hits" ]]; then
        echo "$hits"
        echo "lint: only src/net/http.c may include <curl/curl.h>" >&2
        return 1
    fi
}

# Short, plain functions: none over LINT_MAX_LINES lines or over LINT_MAX_COMPLEXITY (pmccabe's modified McCabe
# number) unless a comment in the lines just above it says why it must be so, as `/* complexity: REASON */`.
# Prints every such exception, so the list stays visible; fails on a long or complex function without one.
# LINT_COMPLEXITY_ENFORCE=0 reports without failing (while a refactoring is under way).
LINT_MAX_LINES=80
LINT_MAX_COMPLEXITY=15
lint_complexity() {
    install_pkgs pmccabe
    local out
    out=$(find src -name '*.c' -print0 | sort -z | xargs -0 pmccabe 2>/dev/null |
        awk -v ml="$LINT_MAX_LINES" -v mc="$LINT_MAX_COMPLEXITY" -F'\t' '
            $1 + 0 > mc || $5 + 0 > ml {
                split($6, a, "[(]"); file = a[1]; start = $4 + 0; why = ""
                n = 0; delete lines
                while ((getline l < file) > 0) { n++; if (n >= start - 6 && n < start) lines[n] = l; if (n >= start) break }
                close(file)
                for (i = start - 6; i < start; i++) if ((i in lines) && match(lines[i], /complexity: [^*]*/)) why = substr(lines[i], RSTART + 12, RLENGTH - 12)
                printf "%s\t%s lines, complexity %s\t%s\n", (why == "" ? "MISSING" : "ok"), $5, $1, $6 (why == "" ? "" : " - " why)
            }')
    local listed missing
    listed=$(grep -c '^ok' <<<"$out" || true)
    missing=$(grep '^MISSING' <<<"$out" || true)
    [[ -n "$out" ]] && say "lint: functions over $LINT_MAX_LINES lines or complexity $LINT_MAX_COMPLEXITY ($listed with a reason):"
    [[ -n "$out" ]] && cut -f2- <<<"$out" | sed 's/^/    /'
    if [[ -n "$missing" ]]; then
        echo "lint: $(wc -l <<<"$missing") function(s) over the limits without a '/* complexity: why */' comment" >&2
        [[ "${LINT_COMPLEXITY_ENFORCE:-1}" == 0 ]] && return 0
        return 1
    fi
}

test_step_lint() {
    install_pkgs clang-format
    local fail=0
    lint_format || {
        echo "lint: clang-format found differences (fix with: clang-format -i FILE)" >&2
        fail=1
    }
    lint_banned || fail=1
    lint_curl_boundary || fail=1
    LAYERS_CYCLES_ENFORCE=${LAYERS_CYCLES_ENFORCE:-0} tests/tools/layers.sh || fail=1
    LINT_COMPLEXITY_ENFORCE=${LINT_COMPLEXITY_ENFORCE:-0} lint_complexity || fail=1
    [[ $fail -eq 0 ]] && say "lint: format, banned functions, curl boundary, layers, function size: ok"
    return "$fail"
}

test_step_unit() { cmd_unit; }
test_step_asan() { cmd_asan; }

# Two clean builds, the second from a copy of the tree in another directory: the binaries must be identical.
cmd_repro() {
    local other a b
    cmd_release
    a=$(sha256sum "$OUT/smartvault" | cut -d' ' -f1)
    other=$(mktemp -d /tmp/smartvault-repro.XXXXXX)
    tar -c build.sh vendor src | tar -C "$other" -x
    "$other/build.sh" >"$other.log" 2>&1 || {
        cat "$other.log"
        rm -rf "$other" "$other.log"
        die "repro: the second build failed"
    }
    b=$(sha256sum "$other/build/smartvault" | cut -d' ' -f1)
    rm -rf "$other" "$other.log"
    echo "repro: first  $a"
    echo "repro: second $b"
    [[ "$a" == "$b" ]] || die "repro: the two builds differ"
    say "repro: byte-identical"
}
test_step_repro() { cmd_repro; }

cmd_integration() {
    install_pkgs "${PKGS_BUILD[@]}" "${PKGS_TEST[@]}" "${PKGS_BROWSER[@]}"
    cmd_release
    SMARTVAULT_MOTO_PYTHONPATH=$(tests/tools/moto.sh)
    export SMARTVAULT_MOTO_PYTHONPATH
    /usr/bin/python3 -m pytest -c tests/pytest.ini tests/integration "$@"
}
test_step_integration() { cmd_integration; }

cmd_image() {
    install_pkgs "${PKGS_IMAGE[@]}" python3-pytest
    /usr/bin/python3 -m pytest -c tests/pytest.ini tests/image "$@"
}
test_step_image() { cmd_image; }

# The slow builds that no early step needs (the asan dependencies, the container image) start at once in the
# background, so they overlap with the steps before theirs; their steps then find them done or wait for them
# (both hold a lock while building). A background failure is not hidden: the step builds again, in the open.
test_prebuild() {
    mkdir -p "$OUT"
    say "test: building the asan dependencies and the image in the background ($OUT/prebuild-*.log)"
    "$SELF" deps asan >"$OUT/prebuild-asan.log" 2>&1 &
    /usr/bin/python3 tests/image/test_image.py --prebuild >"$OUT/prebuild-image.log" 2>&1 &
}

# Each step runs in its own process, so that `set -e` holds inside it; a failed step does not stop the others.
cmd_test() {
    install_pkgs "${PKGS_BUILD[@]}" "${PKGS_ASAN[@]}" "${PKGS_TEST[@]}" "${PKGS_IMAGE[@]}" "${PKGS_BROWSER[@]}"
    local step rc t0 t_all passed=0 failed=0 summary=()
    t_all=$(now_s)
    test_prebuild
    for step in "${TEST_STEPS[@]}"; do
        say "test: $step"
        t0=$(now_s)
        rc=0
        "$SELF" __step "$step" || rc=$?
        if [[ $rc -eq 0 ]]; then
            passed=$((passed + 1))
            summary+=("$(printf '  %-12s ok     %6s s' "$step" "$(elapsed "$t0")")")
        else
            failed=$((failed + 1))
            summary+=("$(printf '  %-12s FAILED %6s s (exit %d)' "$step" "$(elapsed "$t0")" "$rc")")
        fi
    done
    wait || true # the background builds have ended by now (their steps waited for them)
    echo
    say "test summary (wall time $(elapsed "$t_all") s)"
    printf '%s\n' "${summary[@]}"
    echo "steps: $passed passed, $failed failed"
    [[ $failed -eq 0 ]]
}

cmd_fuzz() {
    install_pkgs "${PKGS_BUILD[@]}" "${PKGS_ASAN[@]}"
    bash tests/fuzz/fuzz.sh replay
}
test_step_fuzz() { cmd_fuzz; }

cmd_deploy() {
    install_pkgs "${PKGS_BUILD[@]}" "${PKGS_TEST[@]}"
    cmd_release
    SMARTVAULT_MOTO_PYTHONPATH=$(tests/tools/moto.sh)
    export SMARTVAULT_MOTO_PYTHONPATH
    /usr/bin/python3 -m pytest -c tests/pytest.ini tests/deploy "$@"
}
test_step_deploy() { cmd_deploy; }

cmd_demo() {
    install_pkgs "${PKGS_BUILD[@]}" "${PKGS_TEST[@]}"
    cmd_release
    SMARTVAULT_MOTO_PYTHONPATH=$(tests/tools/moto.sh)
    export SMARTVAULT_MOTO_PYTHONPATH
    /usr/bin/python3 tests/tools/demo.py "$OUT/smartvault"
}

# Benchmarks print tables; they are not tests (these machines are shared and noisy) and are not in `test`.
cmd_bench() {
    install_pkgs "${PKGS_BUILD[@]}" "${PKGS_TEST[@]}"
    cmd_release
    SMARTVAULT_MOTO_PYTHONPATH=$(tests/tools/moto.sh)
    export SMARTVAULT_MOTO_PYTHONPATH
    /usr/bin/python3 tests/bench/bench_ebs.py "$@"
    /usr/bin/python3 tests/bench/bench_ebs_throttled.py # 1,000 x 2 under EC2's documented buckets (issue 10)
    /usr/bin/python3 tests/bench/bench_s3.py "$@"
}

cmd_clean() {
    rm -rf "$OUT"
    say "removed $OUT/ (dependency cache kept in $CACHE)"
}

usage() {
    sed -n '2,18p' "$SELF" | sed 's/^# \{0,1\}//'
}

main() {
    local cmd=${1:-release}
    [[ $# -gt 0 ]] && shift
    case "$cmd" in
        release) cmd_release ;;
        deps) cmd_deps "$@" ;;
        unit) cmd_unit "$@" ;;
        asan) cmd_asan "$@" ;;
        lint) test_step_lint ;;
        repro) cmd_repro ;;
        integration) cmd_integration "$@" ;;
        image) cmd_image "$@" ;;
        test) cmd_test ;;
        fuzz) cmd_fuzz ;;
        deploy) cmd_deploy "$@" ;;
        demo) cmd_demo ;;
        bench) cmd_bench "$@" ;;
        clean) cmd_clean ;;
        __step) "test_step_$1" ;;
        -h | --help | help) usage ;;
        *)
            usage >&2
            exit 2
            ;;
    esac
}

main "$@"
