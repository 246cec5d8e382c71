#!/usr/bin/env python3
"""A Linux guest for the networking and storage benchmarks: Debian's kernel
and busybox-static of the board's architecture (armhf for VIRT_ARM, arm64
for VIRT_AARCH64), booted on the same QEMU machine as the firmware.

fetch() downloads the Debian packages with `apt-get download` (a foreign
architecture, so dpkg must know it: it is added when running as root) and
unpacks them with dpkg-deb into build/linux-guest[-ARCH]/root; a later call finds
them there and downloads nothing. build_initramfs() writes a gzipped cpio
(newc) archive with busybox, the modules (virtio-net's, or virtio-blk's
and vfat's) and an /init script.

    tests/bench/linux_guest.py [--cache build/linux-guest]

prints the kernel and initramfs paths (fetching and building as needed).
"""

import gzip
import hashlib
import os
import re
import shutil
import stat
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CACHE = os.path.join(ROOT, "build", "linux-guest")
BUSYBOX = "busybox-static"
# Per board: the Debian architecture and the kernel's meta package. Debian 12
# has no riscv64 kernel package (riscv64 was not a release architecture).
LINUX_FOR_BOARD = {
    "VIRT_ARM": ("armhf", "linux-image-armmp-lpae"),  # LPAE: the kernel for Cortex-A15 on virt
    "VIRT_AARCH64": ("arm64", "linux-image-arm64"),
}
ARCH = "armhf"  # the TLS benchmark's openssl files are armhf's

# The modules virtio-net needs in this kernel (CONFIG_VIRTIO and the ring are
# built in; virtio_mmio, virtio_net and its failover helpers are modules, or
# built in too: modules.builtin says), in load order: each one's
# dependencies first.
MODULES = (
    "kernel/net/core/failover.ko",
    "kernel/drivers/net/net_failover.ko",
    "kernel/drivers/virtio/virtio_mmio.ko",
    "kernel/drivers/net/virtio_net.ko",
)
# The storage benchmark's: virtio-blk and vfat (with the code pages FAT's
# defaults name), also modules in this kernel.
BLOCK_MODULES = (
    "kernel/drivers/virtio/virtio_mmio.ko",
    "kernel/drivers/block/virtio_blk.ko",
    "kernel/fs/fat/fat.ko",
    "kernel/fs/fat/vfat.ko",
    "kernel/fs/nls/nls_cp437.ko",
    "kernel/fs/nls/nls_ascii.ko",
)


# The start of every benchmark's /init: busybox's applets on PATH, /proc,
# /sys and /dev mounted.
INIT_PREAMBLE = r'''#!/bin/busybox sh
/bin/busybox mount -t proc proc /proc
/bin/busybox --install -s /bin
export PATH=/bin
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
'''


class FetchError(Exception):
    pass


def _run(cmd, cwd=None, timeout=600):
    try:
        r = subprocess.run(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=timeout)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise FetchError("%s: %s" % (" ".join(cmd), e))
    return r.returncode, r.stdout.decode(errors="replace")


def _last_error(out):
    lines = [l for l in out.splitlines() if l.startswith(("E:", "dpkg:", "error"))]
    return (lines or out.strip().splitlines() or ["no output"])[-1]


class LinuxGuest:
    """The unpacked packages under cache/root."""

    def __init__(self, cache=CACHE, board="VIRT_ARM"):
        if board not in LINUX_FOR_BOARD:
            raise FetchError("no Debian Linux guest for %s (Debian 12 has kernels for %s only)"
                             % (board, ", ".join(sorted(LINUX_FOR_BOARD))))
        self.arch, self.kernel_meta = LINUX_FOR_BOARD[board]
        # armhf keeps the folder it always had.
        self.cache = os.path.abspath(cache if self.arch == "armhf" else "%s-%s" % (cache, self.arch))
        self.root = os.path.join(self.cache, "root")
        self.stamp = os.path.join(self.root, ".unpacked")

    # Fetching and unpacking.

    def ready(self):
        if not os.path.exists(self.stamp):
            return False
        try:
            self.modules(MODULES + BLOCK_MODULES)  # a cache from before BLOCK_MODULES lacks them
        except FetchError:
            return False
        return True

    def fetch(self, log=print):
        """Download and unpack the packages unless already done."""
        if self.ready():
            return self
        for tool in ("apt-get", "apt-cache", "dpkg", "dpkg-deb"):
            if shutil.which(tool) is None:
                raise FetchError("%s not found: the Linux guest needs Debian's package tools" % tool)
        self._ensure_arch(log)
        kernel_pkg = self._kernel_package(log)
        debs = os.path.join(self.cache, "debs")
        shutil.rmtree(debs, ignore_errors=True)
        os.makedirs(debs)
        pkgs = ["%s:%s" % (kernel_pkg, self.arch), "%s:%s" % (BUSYBOX, self.arch)]
        log("linux-guest: apt-get download %s" % " ".join(pkgs))
        # The _apt user may not be able to write here: download as the caller.
        rc, out = _run(["apt-get", "download", "-q", "-o", "APT::Sandbox::User=root"] + pkgs
                       if os.geteuid() == 0 else ["apt-get", "download", "-q"] + pkgs, cwd=debs)
        files = [os.path.join(debs, f) for f in sorted(os.listdir(debs)) if f.endswith(".deb")]
        if rc != 0 or len(files) != 2:
            raise FetchError("apt-get download %s failed: %s" % (" ".join(pkgs), _last_error(out)))
        # Unpack everything, keep what the guest uses (the kernel package
        # holds some 200 MB of modules).
        unpack = os.path.join(self.cache, "unpack")
        shutil.rmtree(unpack, ignore_errors=True)
        for deb in files:
            rc, out = _run(["dpkg-deb", "-x", deb, unpack])
            if rc != 0:
                raise FetchError("dpkg-deb -x %s failed: %s" % (os.path.basename(deb), _last_error(out)))
        full = LinuxGuest.__new__(LinuxGuest)
        full.root = unpack
        keep = [full.kernel(), full.busybox()] + full.modules(MODULES + BLOCK_MODULES)  # each raises if missing
        keep += [os.path.join(unpack, "boot", "config-" + full.version()),
                 os.path.join(unpack, "lib", "modules", full.version(), "modules.builtin")]
        shutil.rmtree(self.root, ignore_errors=True)
        for path in keep:
            if os.path.exists(path):
                dest = os.path.join(self.root, os.path.relpath(path, unpack))
                os.makedirs(os.path.dirname(dest), exist_ok=True)
                shutil.copy2(path, dest)
        with open(self.stamp, "w") as f:
            f.write("\n".join(os.path.basename(d) for d in files) + "\n")
        shutil.rmtree(unpack, ignore_errors=True)
        shutil.rmtree(debs, ignore_errors=True)
        return self

    # Debian's openssl command for the TLS benchmark: the armhf binary, its
    # libraries and the dynamic loader, as files for build_initramfs.
    OPENSSL_PACKAGES = ("openssl", "libssl3", "libc6")
    # Paths in the guest, found in the unpacked packages there or under usr/
    # (bookworm's libc6 ships /lib, later ones /usr/lib).
    OPENSSL_FILES = ("usr/bin/openssl", "lib/ld-linux-armhf.so.3", "lib/arm-linux-gnueabihf/libc.so.6",
                     "lib/arm-linux-gnueabihf/libssl.so.3", "lib/arm-linux-gnueabihf/libcrypto.so.3")

    def openssl_files(self, log=print):
        """{guest path: bytes} of Debian's armhf openssl, downloaded once."""
        root = os.path.join(self.cache, "openssl")
        if not all(os.path.exists(os.path.join(root, p)) for p in self.OPENSSL_FILES):
            self._ensure_arch(log)
            debs = os.path.join(self.cache, "openssl-debs")
            shutil.rmtree(debs, ignore_errors=True)
            os.makedirs(debs)
            pkgs = ["%s:%s" % (p, ARCH) for p in self.OPENSSL_PACKAGES]
            log("linux-guest: apt-get download %s" % " ".join(pkgs))
            rc, out = _run(["apt-get", "download", "-q", "-o", "APT::Sandbox::User=root"] + pkgs
                           if os.geteuid() == 0 else ["apt-get", "download", "-q"] + pkgs, cwd=debs)
            if rc != 0:
                raise FetchError("apt-get download %s failed: %s" % (" ".join(pkgs), _last_error(out)))
            unpack = os.path.join(self.cache, "openssl-unpack")
            shutil.rmtree(unpack, ignore_errors=True)
            for deb in sorted(os.listdir(debs)):
                rc, out = _run(["dpkg-deb", "-x", os.path.join(debs, deb), unpack])
                if rc != 0:
                    raise FetchError("dpkg-deb -x %s failed: %s" % (deb, _last_error(out)))
            shutil.rmtree(root, ignore_errors=True)
            for guest_path in self.OPENSSL_FILES:
                found = [p for p in (os.path.join(unpack, guest_path), os.path.join(unpack, "usr", guest_path))
                         if os.path.isfile(os.path.realpath(p))]
                if not found:
                    raise FetchError("no %s in %s" % (guest_path, " ".join(pkgs)))
                src = os.path.realpath(found[0])
                dest = os.path.join(root, guest_path)
                os.makedirs(os.path.dirname(dest), exist_ok=True)
                shutil.copy2(src, dest)
            shutil.rmtree(unpack, ignore_errors=True)
            shutil.rmtree(debs, ignore_errors=True)
        return {p: _read(os.path.join(root, p)) for p in self.OPENSSL_FILES}

    def _ensure_arch(self, log):
        _, native = _run(["dpkg", "--print-architecture"])
        _, foreign = _run(["dpkg", "--print-foreign-architectures"])
        if self.arch in (native.split() + foreign.split()):
            return
        if os.geteuid() != 0:
            raise FetchError("dpkg does not know %s: run `sudo dpkg --add-architecture %s && "
                             "sudo apt-get update` once" % (self.arch, self.arch))
        log("linux-guest: dpkg --add-architecture %s; apt-get update" % self.arch)
        rc, out = _run(["dpkg", "--add-architecture", self.arch])
        if rc != 0:
            raise FetchError("dpkg --add-architecture %s failed: %s" % (self.arch, _last_error(out)))
        self._apt_update()

    def _apt_update(self):
        if os.geteuid() != 0:
            raise FetchError("apt has no %s package lists: run `sudo apt-get update` once" % self.arch)
        # Partial failures (one index out of sync) still leave usable lists.
        _run(["apt-get", "update", "-qq"])

    def _kernel_package(self, log):
        """The versioned image package the meta package depends on."""
        for attempt in range(2):
            rc, out = _run(["apt-cache", "depends", "%s:%s" % (self.kernel_meta, self.arch)])
            m = re.search(r"Depends:\s*(linux-image-[\w.+-]+)", out)
            if rc == 0 and m:
                return m.group(1).split(":")[0]
            if attempt == 0:
                log("linux-guest: no %s:%s in the package lists; apt-get update" % (self.kernel_meta, self.arch))
                self._apt_update()
        raise FetchError("%s:%s not found by apt-cache: %s" % (self.kernel_meta, self.arch, _last_error(out)))

    # What was unpacked.

    def kernel(self):
        boot = os.path.join(self.root, "boot")
        found = sorted(f for f in os.listdir(boot) if f.startswith("vmlinuz-")) if os.path.isdir(boot) else []
        if not found:
            raise FetchError("no vmlinuz in %s" % boot)
        return os.path.join(boot, found[-1])

    def version(self):
        return os.path.basename(self.kernel())[len("vmlinuz-"):]

    def busybox(self):
        path = os.path.join(self.root, "bin", "busybox")
        if not os.path.exists(path):
            raise FetchError("no busybox in %s" % self.root)
        return path

    def modules(self, rels=MODULES):
        """The files of the modules rels; one built into the kernel has none."""
        base = os.path.join(self.root, "lib", "modules", self.version())
        try:
            with open(os.path.join(base, "modules.builtin")) as f:
                builtin = set(f.read().split())
        except OSError:
            builtin = set()
        paths = []
        for rel in rels:
            for ext in ("", ".xz"):
                if os.path.exists(os.path.join(base, rel + ext)):
                    paths.append(os.path.join(base, rel + ext))
                    break
            else:
                if rel not in builtin:
                    raise FetchError("module %s missing under %s" % (rel, base))
        return paths

    # The initramfs.

    def build_initramfs(self, init_script, files=None, out_dir=None, modules=MODULES):
        """A gzipped newc cpio with /init, busybox, the modules (in /lib/net,
        named as in modules, decompressed) and files {path: text or bytes};
        cached by content."""
        entries = {
            "dev": None, "proc": None, "sys": None, "tmp": None, "etc": None, "bin": None,
            "lib": None, "lib/net": None, "svc": None, "root": None,
            "bin/busybox": (0o755, _read(self.busybox())),
            "init": (0o755, init_script.encode()),
        }
        for path in self.modules(modules):
            data = _read(path)
            name = os.path.basename(path)
            if name.endswith(".xz"):
                import lzma
                data, name = lzma.decompress(data), name[:-3]
            entries["lib/net/" + name] = (0o644, data)
        for path, text in (files or {}).items():
            # The kernel's unpacker makes no missing folders: name each one.
            parts = path.lstrip("/").split("/")[:-1]
            for i in range(1, len(parts) + 1):
                entries.setdefault("/".join(parts[:i]), None)
            data = text if isinstance(text, bytes) else text.encode()
            # Scripts and ELF files (programs, and the loader the kernel runs them with).
            executable = data.startswith(b"#!") or data.startswith(b"\x7fELF")
            entries[path.lstrip("/")] = (0o755 if executable else 0o644, data)
        digest = hashlib.sha256()
        for name in sorted(entries):
            digest.update(name.encode() + b"\0")
            if entries[name]:
                digest.update(b"%o\0" % entries[name][0] + entries[name][1])
        out_dir = out_dir or self.cache
        out = os.path.join(out_dir, "initramfs-%s.cpio.gz" % digest.hexdigest()[:12])
        if os.path.exists(out):
            return out
        archive = _cpio_newc(entries)
        tmp = out + ".tmp"
        with gzip.open(tmp, "wb", compresslevel=6) as f:
            f.write(archive)
        os.replace(tmp, out)
        return out


def run_to_done(linux, append, boot_timeout, read_timeout, marker=b"bench: done", qemu_args=(), **guest_options):
    """Boot the Linux guest ({"kernel", "initrd"}) with virtmp and return its
    console up to marker; RuntimeError with the console's tail if it does
    not get there. QEMU is stopped either way."""
    import virtmp

    g = virtmp.Guest(firmware=linux["kernel"], semihosting=False, append=append,
                     qemu_args=["-initrd", linux["initrd"]] + list(qemu_args), boot_timeout=boot_timeout,
                     **guest_options)
    try:
        g.start(wait_prompt=False)
        return g.read_until(marker, timeout=read_timeout).decode(errors="replace")
    except virtmp.GuestError as e:
        raise RuntimeError("Linux guest: %s; its console:\n%s" % (str(e)[:200], g.log[-4000:])) from None
    finally:
        g.stop()


def _read(path):
    with open(path, "rb") as f:
        return f.read()


def _cpio_newc(entries):
    """entries: {path: None (a directory) or (mode, data) (a file)}; plus /dev/console."""
    buf = bytearray()
    ino = [1]

    def add(name, mode, data=b"", rdev=(0, 0)):
        fields = (ino[0], mode, 0, 0, 2 if stat.S_ISDIR(mode) else 1, 0, len(data),
                  0, 0, rdev[0], rdev[1], len(name) + 1, 0)
        ino[0] += 1
        buf.extend(b"070701" + b"".join(b"%08X" % v for v in fields) + name + b"\0")
        buf.extend(b"\0" * (-len(buf) % 4))
        buf.extend(data)
        buf.extend(b"\0" * (-len(buf) % 4))

    for name in sorted(entries):
        e = entries[name]
        if e is None:
            add(name.encode(), stat.S_IFDIR | 0o755)
        else:
            add(name.encode(), stat.S_IFREG | e[0], e[1])
    add(b"dev/console", stat.S_IFCHR | 0o600, rdev=(5, 1))
    add(b"TRAILER!!!", 0)
    return bytes(buf)


def main():
    import argparse
    ap = argparse.ArgumentParser(description="Fetch the Linux guest for bench_net.py")
    ap.add_argument("--cache", default=CACHE)
    args = ap.parse_args()
    try:
        g = LinuxGuest(args.cache).fetch()
        print(g.kernel())
        print(g.build_initramfs("#!/bin/busybox sh\n/bin/busybox sh\n"))
    except FetchError as e:
        print("linux-guest: %s" % e, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
