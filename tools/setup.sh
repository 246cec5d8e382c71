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

# Build and run: cross toolchain, QEMU (ipxe-qemu has the ROM QEMU's virt
# machine loads for its default NIC), source-package tools.
# Boards: VIRT_ARM (arm-none-eabi, newlib), VIRT_AARCH64 (aarch64-linux-gnu
# with picolibc, built freestanding), VIRT_RV64 and VIRT_RV32
# (riscv64-unknown-elf with picolibc); qemu-system-arm has the ARM QEMUs,
# qemu-system-misc the RISC-V ones (with OpenSBI for riscv64).
PKGS="gcc-arm-none-eabi libnewlib-arm-none-eabi gcc-aarch64-linux-gnu picolibc-aarch64-linux-gnu
gcc-riscv64-unknown-elf picolibc-riscv64-unknown-elf
qemu-system-arm qemu-system-misc ipxe-qemu python3 make xz-utils bzip2 dpkg-dev"
# Tests: the venv, host-side C tests, the Linux tools that talk to the
# guest over a tap device in a network namespace, and the FAT tools that
# virtmp's disk images use (mkfs.fat; mcopy, mmd, mdir).
if [ "$WHAT" = test ]; then
    PKGS="$PKGS python3-venv gcc libc6-dev iproute2 iputils-ping curl util-linux dosfstools mtools openssl"
fi

missing=""
for pkg in $PKGS; do
    status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
    [ "$status" = installed ] || missing="$missing $pkg"
done

if [ -n "$missing" ]; then
    command -v apt-get >/dev/null 2>&1 || die "missing:$missing; install them with your package manager"
    echo "setup: installing$missing"
    # A failing index (one mirror out of sync) need not stop the install.
    as_root apt-get update -qq || echo "setup: apt-get update reported errors; trying the install anyway" >&2
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing \
        || die "apt-get install$missing failed"
fi

if [ "$WHAT" = test ]; then
    top=$(cd "$(dirname "$0")/.." && pwd)
    req=$top/tests/requirements.txt
    if [ ! -x "$VENV/bin/python" ]; then
        python3 -m venv "$VENV" || die "cannot create a venv in $VENV (is python3-venv installed?)"
    fi
    # The pinned test packages, then virtmp itself from this checkout
    # (editable: the suite runs the package's current source).
    stamp="$VENV/.requirements"
    if ! cat "$req" "$top/pyproject.toml" | cmp -s - "$stamp"; then
        "$VENV/bin/python" -m pip install -q --disable-pip-version-check -r "$req" \
            || die "pip install -r tests/requirements.txt failed: check access to PyPI"
        "$VENV/bin/python" -m pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e "$top" \
            || die "pip install -e $top (the virtmp package) failed"
        cat "$req" "$top/pyproject.toml" > "$stamp"
    fi
fi
