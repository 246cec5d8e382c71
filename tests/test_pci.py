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


def _tcp_server_once(reply):
    """A host TCP server on 127.0.0.1 that answers one connection's line with
    `reply`; (port, thread). The thread ends within 20 s either way."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    srv.settimeout(20)

    def serve():
        try:
            c, _ = srv.accept()
            with c:
                c.settimeout(10)
                c.recv(64)
                c.sendall(reply)
        except OSError:
            pass
        finally:
            srv.close()

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    return srv.getsockname()[1], t


def test_two_nics_one_of_each_on_two_networks(virt_guest_factory):
    """network.LAN(0) on a virtio-mmio NIC (slirp, DHCP) and LAN(1) on a
    virtio-pci NIC on an L2 segment with a second guest (static address):
    each network is reached through its own interface, each NIC keeps its
    own MAC, transport and counters."""
    with virtmp.Segment() as seg:
        peer = virt_guest_factory(net=seg.nic(), append="ip=10.0.3.2/24")
        second = seg.nic()
        g = virt_guest_factory(transport="modern", qemu_args=[
            "-netdev", second.netdev("s1"), "-device", "virtio-net-pci,netdev=s1" + second.device_opts])
        assert g.wait_dhcp() == "10.0.2.15"
        g.repl("")
        assert g.eval("__import__('_virt').net_info(0)['transport']") == "mmio"
        assert g.eval("__import__('_virt').net_info(1)['transport']") == "pci"
        assert g.eval("__import__('_virt').net_info(2)") is None
        g.exec("import network, socket\nl0, l1 = network.LAN(0), network.LAN(1)\n"
               "l1.active(True)\nl1.ipconfig(dhcp4=False, addr4='10.0.3.1/24')")
        assert g.eval("l1.status()") == 3 and g.eval("l1.isconnected()")
        assert g.eval("l0.ipconfig('addr4')")[0] == "10.0.2.15"
        assert g.eval("l1.ipconfig('addr4')") == ("10.0.3.1", "255.255.255.0")
        macs = g.eval("(l0.config('mac'), l1.config('mac'))")
        assert macs[0] != macs[1] and macs[1] == bytes.fromhex(second.device_opts.split("mac=")[1].replace(":", ""))
        # The peer serves on the segment; the host on slirp's side.
        peer.exec_start("import socket\ns = socket.socket()\ns.bind(('0.0.0.0', 7300))\ns.listen(1)\n"
                        "c, a = s.accept()\nc.send(c.recv(64) + b' via LAN(1)')\nc.close()\ns.close()\nprint(a[0])")
        port, t = _tcp_server_once(b"host via LAN(0)")
        rx1 = g.eval("__import__('_virt').net_info(1)['rx_packets']")
        g.exec("def ask(addr, msg):\n  s = socket.socket()\n  s.settimeout(10)\n  s.connect(addr)\n"
               "  s.send(msg)\n  r = b''\n  while True:\n    d = s.recv(64)\n    if not d: break\n"
               "    r += d\n    if r.endswith(b'LAN(0)') or r.endswith(b'LAN(1)'): break\n  s.close()\n  return r")
        assert g.eval("ask(('10.0.3.2', 7300), b'guest')") == b"guest via LAN(1)"
        assert peer.exec_finish(timeout=20).strip() == "10.0.3.1"
        assert g.eval("ask(('%s', %d), b'hello')" % (HOST_FROM_GUEST, port)) == b"host via LAN(0)"
        t.join(20)
        assert g.eval("__import__('_virt').net_info(1)['rx_packets']") > rx1
        # Interface 1 down: the segment is unreachable, slirp still is.
        g.exec("l1.active(False)")
        assert not g.eval("l1.active()") and g.eval("l0.isconnected()")


def test_lan_index_out_of_range_and_missing_second_nic(virt_guest_factory):
    g = virt_guest_factory()
    assert g.wait_dhcp() == "10.0.2.15"
    g.repl("")
    out = g.exec("import network\ntry:\n  network.LAN(2)\nexcept ValueError as e:\n  print('ValueError', e)\n"
                 "l1 = network.LAN(1)\nprint(l1.active(), l1.status(), l1.isconnected())\n"
                 "try:\n  l1.active(True)\nexcept OSError as e:\n  print('OSError', e.errno)")
    assert [line.strip() for line in out.splitlines()][:3] == ["ValueError invalid LAN interface", "False 0 False", "OSError 19"]
