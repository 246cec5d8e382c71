"""virtio-pci: the PCI bus the firmware enumerates (_virt.pci()), QEMU's
shortest commands (`-nic user`, `-drive if=virtio`, `-device virtio-rng-pci`),
and virtio-mmio and virtio-pci devices in one guest. The network, vnet,
storage and TLS suites run on both PCI transports too (support.TRANSPORTS);
malformed PCI functions are played in tests/host/virtio_pci_test.c.
Every QEMU is killed when its test ends."""

import socket
import threading

import pytest
import virtmp

from support import BOARD, HOST_FROM_GUEST

VIRTIO_VENDOR = 0x1AF4
# Transitional IDs of QEMU's virtio-*-pci (modern and legacy interfaces both).
NET, BLK, RNG = 0x1000, 0x1001, 0x1005


def pci(g):
    return g.eval("__import__('_virt').pci()")


@pytest.mark.parametrize("transport", ["pci", "pci-legacy"])
def test_bus_lists_functions_with_bars_and_intx(virt_guest_factory, tmp_path, transport):
    img = virtmp.make_image(tmp_path / "d.img", "2M", fs="blank")
    g = virt_guest_factory(transport=transport, disk=img)
    error, funcs = pci(g)
    assert error is None
    ours = [f for f in funcs if f["vendor"] == VIRTIO_VENDOR]
    assert sorted(f["device"] for f in ours) == [NET, BLK, RNG]
    spans = []
    for f in ours:
        assert f["error"] is None and f["irq"] is not None, f
        kinds = {kind for _, kind, _, _ in f["bars"]}
        assert "io" in kinds and "mem" in kinds, f  # the legacy I/O BAR; MSI-X's and the modern one
        for _, kind, addr, size in f["bars"]:
            assert size & (size - 1) == 0 and (kind == "io" or addr % size == 0), f
            spans.append((addr, addr + size))
    spans.sort()
    assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:])), "BARs overlap: %s" % spans
    info = g.net_info()
    assert info["transport"] == "pci" and info["version"] == (2 if transport == "pci" else 1)
    assert g.eval("__import__('vnet').Net(0).transport['bus']") == "pci"
    assert g.eval("__import__('virt').Disk(0).info()['version']") == (2 if transport == "pci" else 1)
    assert g.eval("__import__('_virt').rng_info()['device']")


def test_shortest_commands(virt_guest_factory, tmp_path):
    """QEMU's defaults on virt: `-nic user` is virtio-net-pci on ARM and
    AArch64 (QEMU 7.2's riscv virt makes no device of -nic at all: there it
    is `-netdev user,id=n0 -device virtio-net-pci,netdev=n0`), `-drive
    if=virtio` a virtio disk; with `-device virtio-rng-pci` nothing else is
    needed."""
    img = tmp_path / "d.img"
    img.write_bytes(bytes(2 * 1024 * 1024))
    port = _echo_server()
    g = virt_guest_factory(net=None, rng=False, qemu_args=[
        *(["-netdev", "user,id=n0", "-device", "virtio-net-pci,netdev=n0"] if BOARD.startswith("VIRT_RV")
          else ["-nic", "user"]), "-drive", "file=%s,if=virtio,format=raw" % img, "-device", "virtio-rng-pci"])
    assert g.wait_dhcp() == "10.0.2.15"
    g.repl("")
    out = g.exec(
        "import socket\ns = socket.socket()\ns.connect(('%s', %d))\ns.send(b'ping over pci')\n"
        "print(s.recv(64))\ns.close()" % (HOST_FROM_GUEST, port[1]), timeout=20)
    assert out.strip() == "b'ping over pci'"
    port[0].close()
    g.exec("import os\nwith open('/f.txt', 'w') as f:\n    f.write('kept')\nos.sync()")
    assert g.eval("open('/f.txt').read()") == "kept"
    assert g.eval("__import__('_virt').rng_info()['device']")
    g.stop()
    assert ("/f.txt", 4) in virtmp.list_image(str(img))


def _echo_server():
    """A one-connection echo server on 127.0.0.1: (socket, port)."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    srv.settimeout(30)

    def serve():
        try:
            c, _ = srv.accept()
            c.settimeout(10)
            c.sendall(c.recv(64))
            c.close()
        except OSError:
            pass

    threading.Thread(target=serve, daemon=True).start()
    return srv, srv.getsockname()[1]


def test_mmio_and_pci_in_one_guest(virt_guest_factory, tmp_path):
    """virtio-mmio devices come first, then virtio-pci ones: the MMIO disk is
    Disk(0), the PCI disk Disk(1); the MMIO NIC is LAN(0)."""
    mmio_img = virtmp.make_image(tmp_path / "m.img", "2M", fs="blank")
    pci_img = virtmp.make_image(tmp_path / "p.img", "4M", fs="blank")
    g = virt_guest_factory(disk=mmio_img, transport="modern", qemu_args=[
        "-drive", "file=%s,if=none,id=pd,format=raw" % pci_img, "-device", "virtio-blk-pci,drive=pd"])
    assert g.wait_dhcp() == "10.0.2.15"
    g.repl("")
    assert g.net_info()["transport"] == "mmio"
    assert g.eval("__import__('virt').disk_count()") == 2
    assert g.eval("__import__('virt').Disk(0).info()['capacity']") == 2 * 1024 * 1024
    assert g.eval("__import__('virt').Disk(1).info()['capacity']") == 4 * 1024 * 1024
    g.exec("import virt\nd = virt.Disk(1)\nd.writeblocks(1, b'P' * 4096)\nd.ioctl(3, 0)")
    g.stop()
    with open(pci_img, "rb") as f:
        f.seek(4096)
        assert f.read(4096) == b"P" * 4096


@pytest.mark.skipif(BOARD != "VIRT_ARM", reason="the 32-bit ARM board reaches the high ECAM through its MMU")
@pytest.mark.parametrize("highmem", ["on", "off"])
def test_ecam_high_and_low(virt_guest_factory, highmem):
    """qemu-system-arm -M virt puts the ECAM at 256 GiB (highmem=on, the
    default), above what 32-bit addresses reach: the firmware maps it into
    its high window; with highmem=off it sits below 4 GiB, one to one."""
    g = virt_guest_factory(net=None, transport="pci", qemu_args=["-M", "virt,highmem=" + highmem])
    error, funcs = pci(g)
    assert error is None
    assert [f["device"] for f in funcs if f["vendor"] == 0x1af4] == [0x1005] # transitional virtio-rng
    assert len(g.eval("__import__('os').urandom(16)")) == 16
