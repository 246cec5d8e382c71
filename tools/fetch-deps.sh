#!/bin/sh
# Fetch MicroPython, lwIP and mbedTLS from Debian's trixie source packages,
# verify the orig tarballs and unpack them into deps/ (git-ignored).
#
# Usage: tools/fetch-deps.sh DEPS_DIR
# The deb-src entry is derived from this machine's own apt sources, so no
# archive host name is written into this repository.
set -eu

DEPS=${1:-deps}
SUITE=trixie
DL="$DEPS/download"

# package  orig-tarball  sha256  unpack-dir
PKGS="micropython micropython_1.25.0+ds.orig.tar.xz 7b25be99a502f070b2de81dafc08da7051d992325d6e67daa9045a918fffdbea micropython
lwip lwip_2.2.1+dfsg1.orig.tar.xz 83729c274c499d3348e9fbbe043a3113f3fa8953e7efddc7c21c7fcbb1f2b7b1 lwip
mbedtls mbedtls_3.6.6.orig.tar.bz2 8fb65fae8dcae5840f793c0a334860a411f884cc537ea290ce1c52bb64ca007a mbedtls"

die() { echo "fetch-deps: $*" >&2; exit 1; }

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"
    elif command -v sudo >/dev/null 2>&1; then sudo "$@"
    else die "need root (or sudo) to run: $*"; fi
}

sha_ok() { [ -f "$1" ] && [ "$(sha256sum "$1" | cut -d' ' -f1)" = "$2" ]; }

# Print the URI of the first Debian archive (not -security) in apt's sources.
archive_uri() {
    for f in /etc/apt/sources.list.d/*.sources; do
        [ -f "$f" ] || continue
        awk 'BEGIN{RS=""; FS="\n"}
             { uri=""; suites=""
               for (i = 1; i <= NF; i++) {
                 if ($i ~ /^URIs:/) { sub(/^URIs:[ \t]*/, "", $i); split($i, u, /[ \t]+/); uri=u[1] }
                 if ($i ~ /^Suites:/) suites=$i
               }
               if (uri != "" && suites !~ /security/) { print uri; exit } }' "$f"
    done
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [ -f "$f" ] || continue
        awk '$1 == "deb" && $0 !~ /security/ {
               for (i = 2; i <= NF; i++) if ($i !~ /^\[/ && $i !~ /\]$/) { print $i; exit } }' "$f"
    done
}

ensure_deb_src() {
    list=/etc/apt/sources.list.d/virt-micropython-$SUITE-src.sources
    if [ ! -f "$list" ]; then
        uri=$(archive_uri | head -n 1)
        [ -n "$uri" ] || die "no Debian archive found in /etc/apt/sources*: add one, or set MICROPY_TOP=/path and LWIP_DIR=/path"
        echo "fetch-deps: adding deb-src for $SUITE from this machine's apt sources ($list)"
        printf 'Types: deb-src\nURIs: %s\nSuites: %s\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
            "$uri" "$SUITE" | as_root tee "$list" >/dev/null
        as_root apt-get update -qq || die "apt-get update failed: check network access to your Debian mirror"
    fi
}

mkdir -p "$DL"
echo "$PKGS" | while read -r pkg orig sum dir; do
    stamp="$DEPS/$dir/.fetched"
    [ -f "$stamp" ] && continue
    if ! sha_ok "$DL/$orig" "$sum"; then
        command -v apt-get >/dev/null 2>&1 || die "apt-get not found: set MICROPY_TOP and LWIP_DIR to your own checkouts"
        ensure_deb_src
        echo "fetch-deps: downloading source package $pkg/$SUITE"
        (cd "$DL" && apt-get source -qq --download-only "$pkg/$SUITE" >/dev/null 2>&1) \
            || die "apt-get source $pkg/$SUITE failed: check your network and apt sources, then run make again"
        [ -f "$DL/$orig" ] || die "$orig was not downloaded: the $SUITE version of $pkg has changed; set MICROPY_TOP/LWIP_DIR instead"
        sha_ok "$DL/$orig" "$sum" || die "$orig: sha256 mismatch (expected $sum); delete $DL and retry"
    fi
    rm -rf "$DEPS/$dir.tmp" "$DEPS/$dir"
    mkdir -p "$DEPS/$dir.tmp"
    case "$orig" in
        *.bz2) tar -xjf "$DL/$orig" -C "$DEPS/$dir.tmp" --strip-components=1 || die "cannot unpack $orig (is bzip2 installed?)" ;;
        *) tar -xJf "$DL/$orig" -C "$DEPS/$dir.tmp" --strip-components=1 || die "cannot unpack $orig (is xz-utils installed?)" ;;
    esac
    mv "$DEPS/$dir.tmp" "$DEPS/$dir"
    touch "$stamp"
    echo "fetch-deps: $pkg unpacked in $DEPS/$dir"
done
