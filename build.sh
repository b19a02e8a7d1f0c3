#!/usr/bin/env bash
# build.sh - SmartVault's one build entry point.
#
#   ./build.sh              release: the static musl binary build/smartvault (prints its size)
#   ./build.sh arm64        the same binary for arm64 (Graviton, Fargate ARM64), cross-compiled: build/arm64/smartvault
#   ./build.sh deps [FLAVOR]  build musl + BearSSL + libcurl for FLAVOR (musl, musl-arm64, asan), cached by hash
#   ./build.sh unit-arm64 [FILTER]  the unit tests built for arm64, run under qemu-aarch64-static
#   ./build.sh test-arm64   the arm64 binary under qemu: unit tests and the EBS/S3/TLS integration tests
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
#   ./build.sh bench        the benchmarks (EBS fleet, S3 copy, kill series) against the emulator behind a 20 ms proxy
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
PKGS_BUILD=(binutils make gcc xz-utils ca-certificates)
PKGS_ARM64=(gcc-aarch64-linux-gnu binutils-aarch64-linux-gnu)
PKGS_QEMU=(qemu-user-static)
PKGS_ASAN=(clang-14 libclang-rt-14-dev)
PKGS_TEST=(file clang-format openssl python3-pytest python3-boto3 python3-botocore python3-flask python3-flask-cors
    python3-werkzeug python3-jinja2 python3-requests python3-responses python3-xmltodict python3-dateutil
    python3-cryptography python3-yaml python3-jsonschema python3-license-expression python3-sortedcontainers
    python3-defusedxml)
PKGS_IMAGE=(buildah podman umoci debootstrap)
# The coverage page's render tests (tests/integration/test_report_page.py): Debian's headless Chromium.
PKGS_BROWSER=(chromium-headless-shell)

# The steps of `./build.sh test`, in order. A step is a function test_step_NAME; add new ones here.
TEST_STEPS=(lint unit asan fuzz repro integration arm64 deploy image)

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
    # On a fresh cloud VM unattended-upgrades often holds the dpkg lock for minutes: wait for it (bounded) instead
    # of dying with apt's exit 100, and say in our own words what failed.
    local lock=(-o DPkg::Lock::Timeout="${SMARTVAULT_APT_LOCK_TIMEOUT:-600}")
    if [[ -z "${SV_APT_UPDATED:-}" ]]; then
        apt-get "${lock[@]}" update -q || die "apt-get update failed (exit $?): see apt's message above"
        export SV_APT_UPDATED=1
    fi
    local rc=0 still=()
    apt-get "${lock[@]}" install -y -q --no-install-recommends "${missing[@]}" || rc=$?
    # apt 2.6 can give up on the lock with exit 0: what counts is whether the packages are installed now.
    for p in "${missing[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || still+=("$p")
    done
    [[ $rc -eq 0 && ${#still[@]} -eq 0 ]] ||
        die "could not install ${still[*]:-${missing[*]}} (apt-get exit $rc; if apt said it could not get the dpkg lock, another apt or unattended-upgrades held it longer than ${SMARTVAULT_APT_LOCK_TIMEOUT:-600} s: wait for it, or raise SMARTVAULT_APT_LOCK_TIMEOUT)"
}

# ---------------------------------------------------------------------------------------------------------------
# musl, built from its pinned source archive for each target architecture (never the build machine's musl-tools:
# every build, on any machine and in the image's builder stage, links the same libc).
#   amd64: the machine's gcc            arm64: the aarch64 cross gcc (gcc-aarch64-linux-gnu)
# It lands in $CACHE/musl-ARCH-HASH with musl's own gcc wrapper, bin/musl-gcc, which compiles and links against
# it; MUSL_CC is set to that wrapper.

arch_env() {
    case "$1" in
        amd64)
            ARCH_GCC=gcc ARCH_CROSS="" ARCH_HOST=""
            ;;
        arm64)
            ARCH_GCC=aarch64-linux-gnu-gcc ARCH_CROSS=aarch64-linux-gnu- ARCH_HOST=aarch64-linux-gnu
            ;;
        *) die "unknown architecture '$1' (amd64, arm64)" ;;
    esac
}

musl_build() {
    local src=$1 prefix=$2 stage=$3
    (
        cd "$src"
        CC="$ARCH_GCC" CFLAGS="-Os -ffile-prefix-map=$src=/musl" ./configure --prefix="$prefix" \
            ${ARCH_CROSS:+--target="${ARCH_CROSS%-}"} --disable-shared --enable-wrapper=gcc >configure.log 2>&1 &&
            make -j"$JOBS" AR="${ARCH_CROSS}ar" RANLIB="${ARCH_CROSS}ranlib" >build.log 2>&1 &&
            make install DESTDIR="$stage" >>build.log 2>&1
    ) || {
        tail -40 "$src/build.log" "$src/configure.log" 2>/dev/null >&2
        die "musl build failed ($src)"
    }
}

musl_hash() {
    {
        awk '$0 !~ /^[[:space:]]*#/ && $1 == "musl"' vendor/manifest
        declare -f arch_env musl_build
        echo "$1 $SOURCE_DATE_EPOCH"
        "$ARCH_GCC" --version 2>/dev/null | head -1
    } | sha256sum | cut -c1-16
}

# musl_ensure ARCH: sets MUSL_CC (the wrapper) for ARCH, building musl first when it is not cached.
musl_ensure() {
    local arch=$1 prefix work lockfd t0
    arch_env "$arch"
    if [[ $arch == arm64 ]]; then install_pkgs "${PKGS_BUILD[@]}" "${PKGS_ARM64[@]}"; else install_pkgs "${PKGS_BUILD[@]}"; fi
    prefix="$CACHE/musl-$arch-$(musl_hash "$arch")"
    MUSL_CC="$prefix/bin/musl-gcc"
    [[ -e "$prefix/.complete" ]] && return 0
    mkdir -p "$CACHE"
    exec {lockfd}>"$CACHE/.musl-$arch.lock"
    flock "$lockfd"
    if [[ ! -e "$prefix/.complete" ]]; then
        t0=$(now_s)
        say "musl: building $(sv_manifest musl 2) for $arch into $prefix"
        work="$CACHE/work/musl-$arch"
        rm -rf "$work" "$prefix"
        mkdir -p "$work"
        tar -C "$work" -xf "$(vendor/fetch.sh musl | awk '{ print $2 }')"
        # Installed under a staging root, then moved: the wrapper and its specs name the final prefix.
        musl_build "$work/musl-$(sv_manifest musl 2)" "$prefix" "$work/stage"
        mv "$work/stage$prefix" "$prefix"
        touch "$prefix/.complete"
        rm -rf "$work"
        say "musl: $arch built in $(elapsed "$t0") s (libc.a $(stat -c %s "$prefix/lib/libc.a") B)"
    fi
    exec {lockfd}>&-
}

# ---------------------------------------------------------------------------------------------------------------
# Dependencies: BearSSL and libcurl, per flavor.
#   musl:       our musl (amd64), static, size-optimised: linked into build/smartvault and build/unit_tests
#   musl-arm64: the same for arm64 (cross-compiled): build/arm64/smartvault and build/arm64/unit_tests
#   asan:       clang-14 against glibc, -g: linked into the sanitizer unit tests (sanitizers need glibc)

flavor_arch() {
    case "$1" in
        musl) echo amd64 ;;
        musl-arm64) echo arm64 ;;
        *) echo "" ;;
    esac
}

deps_flavor_env() {
    local flavor=$1 work=$2
    DEPS_HOST="" DEPS_AR=ar
    case "$flavor" in
        musl | musl-arm64)
            arch_env "$(flavor_arch "$flavor")"
            DEPS_CC=$MUSL_CC
            DEPS_HOST=$ARCH_HOST
            DEPS_AR="${ARCH_CROSS}ar"
            DEPS_CFLAGS="-Os -ffunction-sections -fdata-sections -ffile-prefix-map=$work=/deps"
            DEPS_LDFLAGS="-static"
            ;;
        asan)
            DEPS_CC=clang-14
            DEPS_CFLAGS="-O1 -g -fPIC -fno-omit-frame-pointer -ffile-prefix-map=$work=/deps"
            DEPS_LDFLAGS=""
            ;;
        *) die "unknown dependency flavor '$flavor' (musl, musl-arm64, asan)" ;;
    esac
}

deps_build_bearssl() {
    local src=$1 prefix=$2
    make -C "$src" -j"$JOBS" CC="$DEPS_CC" LD="$DEPS_CC" LDDLL="$DEPS_CC" AR="$DEPS_AR" ARFLAGS=rcsD \
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
            AR_FLAGS=crD ./configure ${DEPS_HOST:+--host="$DEPS_HOST"} --with-bearssl="$prefix" "${CURL_CONFIGURE[@]}" \
            >configure.log 2>&1
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
    if [[ -n $(flavor_arch "$flavor") ]]; then
        musl_ensure "$(flavor_arch "$flavor")"
    else
        install_pkgs "${PKGS_BUILD[@]}" "${PKGS_ASAN[@]}"
    fi
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

# The Mozilla certificates of the ca-certificates package pinned in vendor/manifest ('cacerts', unpacked once into
# the cache), so that every machine and the image's builder embed the same trust store whatever their own
# ca-certificates is. Prints the directory holding the .crt files.
cacerts_dir() {
    local sha dest deb lockfd
    sha=$(sv_manifest cacerts 7)
    dest="$CACHE/cacerts-$(sv_manifest cacerts 2)"
    if [[ "$(cat "$dest/.complete" 2>/dev/null)" != "$sha" ]]; then
        mkdir -p "$CACHE"
        exec {lockfd}>"$dest.lock"
        flock "$lockfd"
        if [[ "$(cat "$dest/.complete" 2>/dev/null)" != "$sha" ]]; then
            deb=$(vendor/fetch.sh cacerts | awk '{ print $2 }')
            rm -rf "$dest.tmp"
            dpkg -x "$deb" "$dest.tmp" || die "cannot unpack $deb"
            echo "$sha" >"$dest.tmp/.complete"
            rm -rf "$dest"
            mv "$dest.tmp" "$dest"
        fi
        exec {lockfd}>&-
    fi
    echo "$dest/usr/share/ca-certificates/mozilla"
}

# The embedded trust store: the Mozilla certificates of the pinned ca-certificates, sorted by file name. Never
# /etc/ssl/certs/ca-certificates.crt: that file also holds whatever local CAs the build machine added, which
# must never end up in a shipped binary. SMARTVAULT_CA_PEM overrides the source (one PEM file).
gen_ca_bundle() {
    local out="$OUT/gen/ca_bundle.c" tmp pem dir
    mkdir -p "$OUT/gen"
    tmp=$(mktemp "$OUT/gen/.ca.XXXXXX")
    pem="$tmp.pem"
    if [[ -n "${SMARTVAULT_CA_PEM:-}" ]]; then
        cat "$SMARTVAULT_CA_PEM" >"$pem"
    else
        dir=$(cacerts_dir)
        compgen -G "$dir/*.crt" >/dev/null || die "no Mozilla certificates in $dir (vendor/manifest: cacerts)"
        find "$dir" -name '*.crt' -print0 | sort -z | xargs -0 cat >"$pem"
    fi
    [[ -s "$pem" ]] || die "the CA bundle is empty"
    {
        echo "/* Generated by build.sh: the Mozilla CA bundle (ca-certificates $(sv_manifest cacerts 5), $(grep -c 'BEGIN CERTIFICATE' "$pem") certificates). Do not edit. */"
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

# The SBOM of the binary (CycloneDX 1.5 JSON), from vendor/manifest alone: the pinned 'source' lines (version,
# Debian source package, archive and its SHA-256) and the 'sbom' lines (licence, project). Deterministic: the
# timestamp is SOURCE_DATE_EPOCH and the serial number is derived from the manifest and the version.
# Writes build/sbom.cdx.json and build/gen/sbom.c (the same bytes, printed by `smartvault sbom`).
sbom_json() {
    local version date serial
    version=$(sed -n 's/^#define SMARTVAULT_VERSION "\(.*\)"$/\1/p' src/version.h)
    [[ -n "$version" ]] || die "no SMARTVAULT_VERSION in src/version.h"
    date=$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%dT%H:%M:%SZ)
    serial=$({
        echo "$version"
        awk '$0 !~ /^[[:space:]]*#/ && NF' vendor/manifest
    } | sha256sum | awk '{ h = $1; printf "%s-%s-5%s-8%s-%s", substr(h, 1, 8), substr(h, 9, 4), substr(h, 14, 3), substr(h, 18, 3), substr(h, 21, 12) }')
    awk -v version="$version" -v date="$date" -v serial="$serial" '
        $0 ~ /^[[:space:]]*#/ || NF == 0 { next }
        $1 == "sbom" { lic[$2] = $3; home[$2] = $4; next }
        $3 == "source" || $3 == "data" { n++; name[n] = $1; kind[$1] = $3; ver[$1] = $2; pkg[$1] = $4; debver[$1] = $5; file[$1] = $6; sha[$1] = $7 }
        function ref(c) { return "pkg:generic/" c "@" ver[c] }
        function purl(c, v) { v = debver[c]; gsub(/\+/, "%2B", v); gsub(/~/, "%7E", v); return "pkg:deb/debian/" pkg[c] "@" v "?arch=" (kind[c] == "data" ? "all" : "source") }
        END {
            if (!("smartvault" in lic)) { print "vendor/manifest: no sbom line for smartvault" > "/dev/stderr"; exit 1 }
            printf "{\n  \"bomFormat\": \"CycloneDX\",\n  \"specVersion\": \"1.5\",\n"
            printf "  \"serialNumber\": \"urn:uuid:%s\",\n  \"version\": 1,\n", serial
            printf "  \"metadata\": {\n    \"timestamp\": \"%s\",\n", date
            printf "    \"tools\": {\"components\": [{\"type\": \"application\", \"name\": \"build.sh\", \"version\": \"%s\", \"description\": \"SmartVault build script; this document is generated from vendor/manifest\"}]},\n", version
            printf "    \"component\": {\"type\": \"application\", \"bom-ref\": \"pkg:generic/smartvault@%s\", \"name\": \"smartvault\", \"version\": \"%s\", ", version, version
            printf "\"description\": \"SmartVault: one static binary (musl, BearSSL, libcurl) that runs one AWS backup cycle per start\", "
            printf "\"licenses\": [{\"license\": {\"id\": \"%s\"}}], \"purl\": \"pkg:generic/smartvault@%s\"}\n  },\n", lic["smartvault"], version
            printf "  \"components\": [\n"
            for (i = 1; i <= n; i++) {
                c = name[i]
                if (!(c in lic)) { print "vendor/manifest: no sbom line for " c > "/dev/stderr"; exit 1 }
                printf "    {\"type\": \"%s\", \"bom-ref\": \"%s\", \"name\": \"%s\", \"version\": \"%s\", ", kind[c] == "data" ? "data" : "library", ref(c), c, ver[c]
                printf "\"scope\": \"required\", \"licenses\": [{\"license\": {\"id\": \"%s\"}}], \"purl\": \"%s\", ", lic[c], purl(c)
                printf "\"hashes\": [{\"alg\": \"SHA-256\", \"content\": \"%s\"}], ", sha[c]
                printf "\"externalReferences\": [{\"type\": \"website\", \"url\": \"%s\"}], ", home[c]
                printf "\"properties\": [{\"name\": \"smartvault:source-archive\", \"value\": \"%s\"}, {\"name\": \"smartvault:debian-source-version\", \"value\": \"%s\"}, {\"name\": \"smartvault:linkage\", \"value\": \"static\"}]}%s\n", file[c], debver[c], i < n ? "," : ""
            }
            printf "  ],\n  \"dependencies\": [\n    {\"ref\": \"pkg:generic/smartvault@%s\", \"dependsOn\": [", version
            for (i = 1; i <= n; i++) printf "\"%s\"%s", ref(name[i]), i < n ? ", " : ""
            printf "]}"
            for (i = 1; i <= n; i++) {
                c = name[i]; deps = ""
                if (c == "curl") deps = "\"" ref("bearssl") "\", \"" ref("musl") "\""
                else if (c == "bearssl") deps = "\"" ref("musl") "\""
                printf ",\n    {\"ref\": \"%s\", \"dependsOn\": [%s]}", ref(c), deps
            }
            printf "\n  ]\n}\n"
        }' vendor/manifest
}

gen_sbom() {
    local out="$OUT/gen/sbom.c" tmp json="$OUT/sbom.cdx.json"
    mkdir -p "$OUT/gen"
    tmp=$(mktemp "$OUT/gen/.sbom.XXXXXX")
    sbom_json >"$tmp.json" || die "could not generate the SBOM from vendor/manifest"
    {
        echo "/* Generated by build.sh from vendor/manifest: the CycloneDX 1.5 SBOM of this binary. Do not edit. */"
        echo "extern const unsigned char smartvault_sbom[];"
        echo "extern const unsigned long smartvault_sbom_len;"
        echo "const unsigned char smartvault_sbom[] = {"
        od -An -v -tx1 "$tmp.json" | awk '{ s = "   "; for (i = 1; i <= NF; i++) s = s " 0x" $i ","; print s }'
        echo "};"
        echo "const unsigned long smartvault_sbom_len = $(stat -c %s "$tmp.json")UL;"
    } >"$tmp"
    chmod 644 "$tmp" "$tmp.json"
    if cmp -s "$tmp" "$out"; then rm -f "$tmp"; else mv "$tmp" "$out"; fi
    mv "$tmp.json" "$json"
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

# arch_out ARCH: where ARCH's outputs go (build/ for amd64, build/arm64/ for arm64); sets ARCH_DIR and ARCH_FLAVOR.
arch_out() {
    arch_env "$1"
    ARCH_DIR=$OUT ARCH_FLAVOR=musl
    if [[ $1 == arm64 ]]; then ARCH_DIR=$OUT/arm64 ARCH_FLAVOR=musl-arm64; fi
    mkdir -p "$ARCH_DIR"
}

# cmd_release [ARCH]: the static, stripped binary: build/smartvault (amd64, default) or build/arm64/smartvault.
cmd_release() {
    local arch=${1:-amd64} t0 srcs
    t0=$(now_s)
    arch_out "$arch"
    deps_ensure "$ARCH_FLAVOR"
    gen_ca_bundle
    gen_sbom
    mapfile -t srcs < <(app_sources)
    [[ ${#srcs[@]} -gt 0 ]] || die "no sources under src/"
    musl_cflags
    rm -rf "$OUT/obj/release-$arch"
    compile_all "$MUSL_CC" "$OUT/obj/release-$arch" "${MUSL_CFLAGS[@]}" -- "${srcs[@]}" "$OUT/gen/ca_bundle.c" \
        "$OUT/gen/sbom.c"
    "$MUSL_CC" -static -Wl,--gc-sections -s -o "$ARCH_DIR/smartvault.tmp" "${OBJS[@]}" -L"$DEPS/lib" -lcurl -lbearssl
    mv "$ARCH_DIR/smartvault.tmp" "$ARCH_DIR/smartvault"
    say "$ARCH_DIR/smartvault ($arch): $(stat -c %s "$ARCH_DIR/smartvault") bytes (stripped, static), built in $(elapsed "$t0") s"
}

cmd_deps() {
    local flavors=("$@") f
    [[ ${#flavors[@]} -gt 0 ]] || flavors=(musl musl-arm64 asan)
    for f in "${flavors[@]}"; do
        deps_ensure "$f"
        say "deps ($f): $DEPS"
    done
}

# run_unit_binary BIN [RUNNER... --] [FILTER]: runs it (through RUNNER, e.g. qemu) and requires the harness's
# closing line.
run_unit_binary() {
    local bin=$1 log rc=0 runner=()
    shift
    if [[ " $* " == *" -- "* ]]; then
        while [[ $1 != -- ]]; do
            runner+=("$1")
            shift
        done
        shift
    fi
    log="$bin.log"
    "${runner[@]}" "$bin" "$@" 2>&1 | tee "$log" || rc=${PIPESTATUS[0]}
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

# cmd_unit [FILTER]: the unit tests for amd64; UNIT_ARCH=arm64 builds build/arm64/unit_tests and runs them under
# qemu-aarch64-static (user-mode emulation: no binfmt_misc registration needed).
cmd_unit() {
    have_unit_tests || return 0
    local filter=("$@") arch=${UNIT_ARCH:-amd64} runner=()
    local srcs tests
    arch_out "$arch"
    deps_ensure "$ARCH_FLAVOR"
    gen_ca_bundle
    mapfile -t srcs < <(app_sources | grep -vx 'src/main.c')
    mapfile -t tests < <(unit_sources)
    musl_cflags
    rm -rf "$OUT/obj/unit-$arch"
    compile_all "$MUSL_CC" "$OUT/obj/unit-$arch" "${MUSL_CFLAGS[@]}" -Itests/unit -- "${srcs[@]}" "${tests[@]}" "$OUT/gen/ca_bundle.c"
    "$MUSL_CC" -static -o "$ARCH_DIR/unit_tests" "${OBJS[@]}" -L"$DEPS/lib" -lcurl -lbearssl
    [[ $arch == arm64 ]] && runner=(qemu-aarch64-static)
    say "unit: $ARCH_DIR/unit_tests (musl, static, $arch${runner:+, under ${runner[*]}})"
    run_unit_binary "$ARCH_DIR/unit_tests" "${runner[@]}" -- "${filter[@]}"
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
    gen_sbom
    compile_all clang-14 "$OUT/obj/asan" "${flags[@]}" -- src/main.c "$OUT/gen/sbom.c"
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
# LINT_COMPLEXITY_ENFORCE=0 reports without failing.
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
                state = (why != "" ? "ok" : "MISSING")
                printf "%s\t%s lines, complexity %s\t%s\n", state, $5, $1, $6 (why == "" ? "" : " - " why)
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
    tests/tools/layers.sh || fail=1
    lint_complexity || fail=1
    [[ $fail -eq 0 ]] && say "lint: format, banned functions, curl boundary, layers, function size: ok"
    return "$fail"
}

test_step_unit() { cmd_unit; }
test_step_asan() { cmd_asan; }

# Two clean builds per architecture, the second from a copy of the tree in another directory: the binaries
# must be identical (amd64 and the cross-compiled arm64).
cmd_repro() {
    local other arch a b rel
    cmd_release amd64
    cmd_release arm64
    other=$(mktemp -d /tmp/smartvault-repro.XXXXXX)
    tar -c build.sh vendor src | tar -C "$other" -x
    { "$other/build.sh" amd64 && "$other/build.sh" arm64; } >"$other.log" 2>&1 || {
        cat "$other.log"
        rm -rf "$other" "$other.log"
        die "repro: the second build failed"
    }
    for arch in amd64 arm64; do
        rel=smartvault
        [[ $arch == arm64 ]] && rel=arm64/smartvault
        a=$(sha256sum "$OUT/$rel" | cut -d' ' -f1)
        b=$(sha256sum "$other/build/$rel" | cut -d' ' -f1)
        echo "repro: $arch first  $a"
        echo "repro: $arch second $b"
        [[ "$a" == "$b" ]] || {
            rm -rf "$other" "$other.log"
            die "repro: the two $arch builds differ"
        }
    done
    rm -rf "$other" "$other.log"
    say "repro: byte-identical (amd64 and arm64)"
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
    install_pkgs "${PKGS_IMAGE[@]}" "${PKGS_QEMU[@]}" python3-pytest
    # The binaries each platform's image must hold byte for byte (tests/image compares the hashes).
    cmd_release amd64
    cmd_release arm64
    /usr/bin/python3 -m pytest -c tests/pytest.ini tests/image "$@"
}

# The integration tests that run on the arm64 binary under qemu: a whole EBS cycle file, the S3 copy (routing,
# special keys, multipart), and HTTP/TLS (trust stores, refused and unknown CAs), plus the actionable errors.
ARM64_INTEGRATION=(tests/integration/test_ebs_cycle.py tests/integration/test_s3_backup.py
    tests/integration/test_http.py tests/integration/test_actionable_errors.py)
ARM64_INTEGRATION_K="not peak_rss and not 2500_objects and not throttling"

# arm64: build/arm64/smartvault, its unit tests and the integration tests above, all under qemu-aarch64-static.
cmd_test_arm64() {
    install_pkgs "${PKGS_BUILD[@]}" "${PKGS_ARM64[@]}" "${PKGS_QEMU[@]}" "${PKGS_TEST[@]}"
    cmd_release arm64
    file "$OUT/arm64/smartvault"
    qemu-aarch64-static "$OUT/arm64/smartvault" --version
    UNIT_ARCH=arm64 cmd_unit
    # SMARTVAULT_BIN must be one executable: a two-line wrapper (exec keeps the pid, so signals reach qemu).
    printf '#!/bin/sh\nexec qemu-aarch64-static "$(dirname "$0")/smartvault" "$@"\n' >"$OUT/arm64/smartvault-qemu"
    chmod 755 "$OUT/arm64/smartvault-qemu"
    SMARTVAULT_MOTO_PYTHONPATH=$(tests/tools/moto.sh)
    export SMARTVAULT_MOTO_PYTHONPATH
    SMARTVAULT_BIN="$ROOT/$OUT/arm64/smartvault-qemu" /usr/bin/python3 -m pytest -c tests/pytest.ini \
        "${ARM64_INTEGRATION[@]}" -k "$ARM64_INTEGRATION_K" "$@"
}
test_step_arm64() { cmd_test_arm64; }
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

# "N passed, M skipped" of a step's log: pytest's last summary lines and the unit harness's lines, added up.
step_counts() {
    awk '
        /^=+ .* in [0-9.]+s/ {
            for (i = 1; i <= NF; i++) if ($(i + 1) ~ /^(passed|failed|skipped|error|errors|deselected)[,]?$/) {
                k = $(i + 1); sub(/,$/, "", k); n[k] += $i
            }
        }
        /^[0-9]+ passed, [0-9]+ failed$/ { n["passed"] += $1; n["failed"] += $3 }
        END { s = ""; split("passed failed skipped deselected error errors", ks, " ")
              for (j = 1; j <= 6; j++) if (n[ks[j]]) s = s (s ? ", " : "") n[ks[j]] " " ks[j]
              print s }' "$1"
}

# Each step runs in its own process, so that `set -e` holds inside it; a failed step does not stop the others.
cmd_test() {
    install_pkgs "${PKGS_BUILD[@]}" "${PKGS_ARM64[@]}" "${PKGS_QEMU[@]}" "${PKGS_ASAN[@]}" "${PKGS_TEST[@]}" \
        "${PKGS_IMAGE[@]}" "${PKGS_BROWSER[@]}"
    local step rc t0 t_all passed=0 failed=0 summary=() skips=() counts
    mkdir -p "$OUT"
    t_all=$(now_s)
    test_prebuild
    for step in "${TEST_STEPS[@]}"; do
        say "test: $step"
        t0=$(now_s)
        rc=0
        "$SELF" __step "$step" 2>&1 | tee "$OUT/test-$step.log" || rc=${PIPESTATUS[0]}
        counts=$(step_counts "$OUT/test-$step.log")
        if [[ $rc -eq 0 ]]; then
            passed=$((passed + 1))
            summary+=("$(printf '  %-12s ok     %6s s  %s' "$step" "$(elapsed "$t0")" "$counts")")
        else
            failed=$((failed + 1))
            summary+=("$(printf '  %-12s FAILED %6s s (exit %d)  %s' "$step" "$(elapsed "$t0")" "$rc" "$counts")")
        fi
        # pytest's -ra lines ("SKIPPED [48] tests/...: reason"): every skip is said, with its reason.
        mapfile -t -O "${#skips[@]}" skips < <(grep -E '^SKIPPED \[[0-9]+\]' "$OUT/test-$step.log" | sed "s/^/  $step: /")
    done
    wait || true # the background builds have ended by now (their steps waited for them)
    echo
    say "test summary (wall time $(elapsed "$t_all") s)"
    printf '%s\n' "${summary[@]}"
    echo "steps: $passed passed, $failed failed"
    if [[ ${#skips[@]} -gt 0 ]]; then
        echo "skipped tests (and why):"
        printf '%s\n' "${skips[@]}"
    else
        echo "skipped tests: none"
    fi
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
    /usr/bin/python3 tests/bench/bench_ebs_throttled.py --synthetic # 1,000 x 2, a week of history, EC2's buckets (issue 10)
    /usr/bin/python3 tests/bench/bench_targets.py # 400 x 2 in 1 account vs spread over 4 (issue 14)
    /usr/bin/python3 tests/bench/bench_ebs_scale.py     # memory and CPU at 1,250 / 2,500 / 5,000 x 2 x 7 (issue 10)
    /usr/bin/python3 tests/bench/bench_ebs_scale.py --sizes 300 --workload daily # paced: ~2 min
    /usr/bin/python3 tests/bench/bench_s3.py "$@"
    /usr/bin/python3 tests/bench/bench_kills.py # 20 SIGKILLs at random moments, re-run at once (issue 11)
}

cmd_clean() {
    rm -rf "$OUT"
    say "removed $OUT/ (dependency cache kept in $CACHE)"
}

usage() {
    sed -n '2,22p' "$SELF" | sed 's/^# \{0,1\}//'
}

main() {
    local cmd=${1:-release}
    [[ $# -gt 0 ]] && shift
    case "$cmd" in
        release) cmd_release ;;
        amd64 | arm64) cmd_release "$cmd" ;;
        unit-arm64) UNIT_ARCH=arm64 cmd_unit "$@" ;;
        test-arm64) cmd_test_arm64 "$@" ;;
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
