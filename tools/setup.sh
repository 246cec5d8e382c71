#!/bin/sh
# Install what the build, `make run` and `make test` need, if missing:
# Debian packages (with --no-install-recommends) and a Python venv for tests.
#
# Usage: tools/setup.sh [build|test] VENV_DIR
set -eu

WHAT=${1:-build}
VENV=${2:-.venv}

die() { echo "setup: $*" >&2; exit 1; }

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"
    elif command -v sudo >/dev/null 2>&1; then sudo "$@"
    else die "need root (or sudo) to install: $*"; fi
}

# command-to-check:debian-package
NEED="arm-none-eabi-gcc:gcc-arm-none-eabi
/usr/lib/arm-none-eabi/lib/libc.a:libnewlib-arm-none-eabi
qemu-system-arm:qemu-system-arm
/usr/share/qemu/efi-virtio.rom:ipxe-qemu
python3:python3
xz:xz-utils
apt-get:apt
dpkg-source:dpkg-dev"
if [ "$WHAT" = test ]; then
    NEED="$NEED
/usr/lib/python3/dist-packages/../../python3*/venv/__init__.py:python3-venv"
fi

missing=""
for item in $NEED; do
    what=${item%%:*}
    pkg=${item#*:}
    case "$what" in
        /*) ls $what >/dev/null 2>&1 || missing="$missing $pkg" ;;
        *) command -v "$what" >/dev/null 2>&1 || missing="$missing $pkg" ;;
    esac
done

# python3 -m venv needs ensurepip, which Debian ships in python3-venv.
if [ "$WHAT" = test ] && command -v python3 >/dev/null 2>&1; then
    python3 -c 'import ensurepip, venv' 2>/dev/null && missing=$(echo "$missing" | sed 's/python3-venv//')
fi

if [ -n "$(echo "$missing" | tr -d ' ')" ]; then
    command -v apt-get >/dev/null 2>&1 || die "missing:$missing; install them with your package manager"
    echo "setup: installing$missing"
    as_root apt-get update -qq || die "apt-get update failed: check network access to your Debian mirror"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing \
        || die "apt-get install$missing failed"
fi

if [ "$WHAT" = test ]; then
    req=$(dirname "$0")/../tests/requirements.txt
    if [ ! -x "$VENV/bin/python" ]; then
        python3 -m venv "$VENV" || die "cannot create a venv in $VENV (is python3-venv installed?)"
    fi
    stamp="$VENV/.requirements"
    if ! cmp -s "$req" "$stamp"; then
        "$VENV/bin/python" -m pip install -q --disable-pip-version-check -r "$req" \
            || die "pip install -r tests/requirements.txt failed: check access to PyPI"
        cp "$req" "$stamp"
    fi
fi
