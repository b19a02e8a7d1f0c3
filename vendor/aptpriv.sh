# vendor/aptpriv.sh - a private apt configuration, and pinned downloads through it. Sourced, not run.
#
# Sources and test packages come from Debian's archive, signature-checked by apt, through a configuration of
# our own: its own sources file (bookworm + trixie, deb and deb-src), its own index and archive directories
# under the cache. The system's apt setup is never read for anything but the mirror's address, and never
# changed. The mirror is read at run time from the machine's apt configuration, so no host name is written in
# the repository.
#
# Used by vendor/fetch.sh (source archives) and tests/tools/moto.sh (the moto emulator .deb).
#
# Functions:
#   sv_cache_dir                 the cache root: ${SMARTVAULT_CACHE:-$HOME/.cache/smartvault}
#   aptpriv_mirror               the Debian mirror URI of this machine (first non-security URIs:/deb entry)
#   aptpriv_apt CMD ARGS...      apt-get with the private configuration
#   aptpriv_update               refresh the private indexes (at most once per ${APTPRIV_MAX_AGE_MIN:-720} min)
#   manifest_field NAME COLUMN   one column of vendor/manifest (version, kind, package, debversion, file, sha256)
#   sv_fetch NAME                download NAME's pinned archive (cached), verify its SHA-256, print its path

SV_VENDOR_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SV_MANIFEST=${SV_MANIFEST:-$SV_VENDOR_DIR/manifest}

sv_die() {
    echo "error: $*" >&2
    exit 1
}

sv_cache_dir() {
    echo "${SMARTVAULT_CACHE:-${HOME:-$(echo ~)}/.cache/smartvault}"
}

# The machine's Debian mirror. deb822 first (Debian 12+), then the one-line format (debootstrap's images).
# Security mirrors carry only security updates, so they are skipped.
aptpriv_mirror() {
    local uri=""
    if [[ -n "${APTPRIV_MIRROR:-}" ]]; then
        echo "${APTPRIV_MIRROR%/}"
        return
    fi
    if [[ -r /etc/apt/sources.list.d/debian.sources ]]; then
        uri=$(awk 'tolower($1) == "uris:" { for (i = 2; i <= NF; i++) if ($i !~ /-security\/?$/) { print $i; exit } }' \
            /etc/apt/sources.list.d/debian.sources)
    fi
    if [[ -z "$uri" && -r /etc/apt/sources.list ]]; then
        # deb [options] URI suite components...
        uri=$(sed -e 's/#.*//' -e 's/\[[^]]*\]//' /etc/apt/sources.list |
            awk '$1 == "deb" && $2 !~ /-security\/?$/ { print $2; exit }')
    fi
    [[ -n "$uri" ]] || sv_die "no Debian mirror found in /etc/apt/sources.list.d/debian.sources or /etc/apt/sources.list"
    echo "${uri%/}"
}

aptpriv_dir() {
    echo "$(sv_cache_dir)/apt"
}

# Writes the private sources file and directories once (the mirror is re-read every time).
aptpriv_setup() {
    local dir keyring mirror
    dir=$(aptpriv_dir)
    mkdir -p "$dir/lists/partial" "$dir/archives/partial" "$dir/cache" "$dir/empty.d"
    keyring=/usr/share/keyrings/debian-archive-keyring.gpg
    [[ -r "$keyring" ]] || keyring=/usr/share/keyrings/debian-archive-keyring.pgp
    [[ -r "$keyring" ]] || sv_die "Debian archive keyring missing (apt-get install debian-archive-keyring)"
    mirror=$(aptpriv_mirror)
    local suite tmp="$dir/sources.list.tmp"
    : >"$tmp"
    for suite in bookworm trixie; do
        printf 'deb [signed-by=%s] %s %s main\n' "$keyring" "$mirror" "$suite" >>"$tmp"
        printf 'deb-src [signed-by=%s] %s %s main\n' "$keyring" "$mirror" "$suite" >>"$tmp"
    done
    if ! cmp -s "$tmp" "$dir/sources.list"; then
        mv "$tmp" "$dir/sources.list"
        rm -f "$dir/updated.stamp"
    else
        rm -f "$tmp"
    fi
}

aptpriv_apt() {
    local dir
    dir=$(aptpriv_dir)
    apt-get -q \
        -o Dir::Etc::SourceList="$dir/sources.list" \
        -o Dir::Etc::SourceParts="$dir/empty.d" \
        -o Dir::State::Lists="$dir/lists" \
        -o Dir::Cache="$dir/cache" \
        -o Dir::Cache::Archives="$dir/archives" \
        -o Dir::Etc::Preferences=/dev/null \
        -o Dir::Etc::PreferencesParts="$dir/empty.d" \
        -o APT::Sandbox::User=root \
        -o Acquire::Languages=none \
        -o Acquire::IndexTargets::deb::DEP-11::DefaultEnabled=false \
        -o Acquire::IndexTargets::deb::Contents-deb::DefaultEnabled=false \
        "$@"
}

aptpriv_apt_cache() {
    local dir
    dir=$(aptpriv_dir)
    apt-cache \
        -o Dir::Etc::SourceList="$dir/sources.list" \
        -o Dir::Etc::SourceParts="$dir/empty.d" \
        -o Dir::State::Lists="$dir/lists" \
        -o Dir::Cache="$dir/cache" \
        -o Dir::Etc::Preferences=/dev/null \
        -o Dir::Etc::PreferencesParts="$dir/empty.d" \
        "$@"
}

# Refresh the indexes unless they were refreshed recently (or FORCE=1).
aptpriv_update() {
    local dir stamp
    aptpriv_setup
    dir=$(aptpriv_dir)
    stamp="$dir/updated.stamp"
    if [[ "${1:-}" != force && -e "$stamp" &&
        -z "$(find "$stamp" -mmin +"${APTPRIV_MAX_AGE_MIN:-720}" 2>/dev/null)" ]]; then
        return 0
    fi
    echo "aptpriv: updating the private apt indexes (mirror $(aptpriv_mirror))" >&2
    aptpriv_apt update >&2 || sv_die "private apt update failed"
    touch "$stamp"
}

# manifest_field NAME COLUMN
manifest_field() {
    local name=$1 col=$2 idx
    case "$col" in
        version) idx=2 ;;
        kind) idx=3 ;;
        package) idx=4 ;;
        debversion) idx=5 ;;
        file) idx=6 ;;
        sha256) idx=7 ;;
        *) sv_die "manifest_field: unknown column $col" ;;
    esac
    local v
    v=$(awk -v n="$name" -v i="$idx" '$0 !~ /^[[:space:]]*#/ && $1 == n { print $i; exit }' "$SV_MANIFEST")
    [[ -n "$v" ]] || sv_die "vendor/manifest has no $col for $name"
    echo "$v"
}

sv_sha256() {
    sha256sum "$1" | awk '{print $1}'
}

# Verifies FILE against EXPECTED; on mismatch the file is moved aside and the run fails.
sv_verify() {
    local file=$1 expected=$2 got
    got=$(sv_sha256 "$file")
    if [[ "$got" != "$expected" ]]; then
        mv -f "$file" "$file.bad"
        echo "error: SHA-256 mismatch for $(basename "$file")" >&2
        echo "error:   expected $expected (vendor/manifest)" >&2
        echo "error:   got      $got (kept as $file.bad)" >&2
        exit 1
    fi
}

# Source archives: any Debian revision of the same upstream version ships the same orig archive, so when the
# pinned revision has left the archive another revision with the same orig file is used; the SHA-256 pin
# decides either way.
s_fetch_source() {
    local pkg=$1 debver=$2 file=$3 work=$4
    local upstream=${debver%-*} v
    (cd "$work" && aptpriv_apt source --download-only "$pkg=$debver" >&2) && return 0
    echo "aptpriv: $pkg $debver not in the index; trying other revisions of $upstream" >&2
    for v in $(aptpriv_apt_cache showsrc "$pkg" | awk '$1 == "Version:" { print $2 }' | sort -u); do
        [[ "${v%-*}" == "$upstream" && "$v" != "$debver" ]] || continue
        (cd "$work" && aptpriv_apt source --download-only "$pkg=$v" >&2) && [[ -e "$work/$file" ]] && return 0
    done
    return 1
}

# sv_fetch NAME: prints the path of NAME's verified archive under $CACHE/downloads.
sv_fetch() {
    local name=$1 kind pkg debver file sha dest work
    kind=$(manifest_field "$name" kind)
    pkg=$(manifest_field "$name" package)
    debver=$(manifest_field "$name" debversion)
    file=$(manifest_field "$name" file)
    sha=$(manifest_field "$name" sha256)
    dest="$(sv_cache_dir)/downloads"
    mkdir -p "$dest"
    if [[ -e "$dest/$file" ]]; then
        sv_verify "$dest/$file" "$sha"
        echo "$dest/$file"
        return 0
    fi
    # One download at a time per cache (the lock is released when this shell exits or the fd is closed).
    local lockfd
    exec {lockfd}>"$dest/.lock"
    flock "$lockfd"
    if [[ -e "$dest/$file" ]]; then
        exec {lockfd}>&-
        sv_verify "$dest/$file" "$sha"
        echo "$dest/$file"
        return 0
    fi
    aptpriv_update
    rm -rf "$dest"/.fetch.* # left by an interrupted run
    work=$(mktemp -d "$dest/.fetch.XXXXXX")
    case "$kind" in
        source)
            if ! s_fetch_source "$pkg" "$debver" "$file" "$work"; then
                aptpriv_update force
                s_fetch_source "$pkg" "$debver" "$file" "$work" || sv_die "cannot download the source of $pkg $debver"
            fi
            ;;
        deb | data)
            if ! (cd "$work" && aptpriv_apt download "$pkg=$debver" >&2); then
                aptpriv_update force
                (cd "$work" && aptpriv_apt download "$pkg=$debver" >&2) || sv_die "cannot download $pkg $debver"
            fi
            ;;
        *) sv_die "vendor/manifest: unknown kind '$kind' for $name" ;;
    esac
    if [[ ! -e "$work/$file" ]]; then
        local got
        got=$(ls "$work" | tr '\n' ' ')
        rm -rf "$work"
        sv_die "apt did not produce $file (got: $got)"
    fi
    if [[ "$sha" == "-" ]]; then
        echo "aptpriv: $file has no pinned SHA-256 yet; it is $(sv_sha256 "$work/$file")" >&2
        rm -rf "$work"
        sv_die "pin it in vendor/manifest"
    fi
    sv_verify "$work/$file" "$sha"
    mv "$work/$file" "$dest/$file"
    rm -rf "$work"
    exec {lockfd}>&-
    echo "aptpriv: fetched $file (SHA-256 verified)" >&2
    echo "$dest/$file"
}
