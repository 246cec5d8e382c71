"""Host unit tests of the port's C that has no hardware dependency.

tests/host/virtqueue_test.c drives ports/virt/virtio/virtqueue.c against a fake
device; tests/host/fdt_test.c reads device trees QEMU dumps for its virt
machine with ports/virt/devices/fdt.c, and truncated or damaged copies of them;
tests/host/heap_areas_test.c checks ports/virt/heap_areas.c, which hands out
the GC heap's further areas; tests/host/ack_coalesce_test.c checks which TCP
ACKs ports/virt/net/ack_coalesce.c holds, merges and sends;
tests/host/rx_merge_test.c checks which received segments (and pure ACKs) ports/virt/net/rx_merge.c
merges, the merged frames' lengths and checksums, and ports/virt/net/inet_csum.c
against a byte-by-byte sum; tests/host/virtio_blk_test.c plays a virtio-blk
device (well-behaved, and lying about lengths, ids, status, capacity, block
size or completion) for ports/virt/virtio/virtio_blk.c; tests/host/virtio_net_test.c
plays a virtio-net device (an MTU too large, no MAC, a reset that never
completes, causes that keep coming, a receive flood, a used index that jumps)
for ports/virt/virtio/virtio_net.c; tests/host/virtio_mmio_test.c plays the MMIO
registers (a reset that never completes, queue maxima that are no power of
two, causes raised again after their ACK) for ports/virt/virtio/virtio_mmio.c and
virtio_dev.c; tests/host/virtio_rng_test.c plays an entropy device (full,
partial, empty, silent, lying answers) for ports/virt/virtio/virtio_rng.c, the
three on one fake transport (tests/host/fake_transport.c);
tests/host/ip_csum_test.c checks the IPv4/IPv6 TCP/UDP checksums
of ports/virt/net/ip_csum.c; tests/host/blk_cache_test.c
checks the disks' read cache and write gathering (ports/virt/blk_cache.c)
against a fake disk and a model of it; tests/host/mbedtls_alloc_test.c checks
mbedTLS's allocator (ports/virt/mbedtls_alloc.c) against a model;
tests/host/pci_test.c checks the PCI host bridge code (ports/virt/devices/pci.c:
enumeration, BARs placed in the windows of QEMU's arm and riscv64 trees,
INTx through their interrupt-map) against a fake ECAM;
tests/host/virtio_pci_test.c plays a virtio-pci function's configuration
space and BARs (good and looping or stray capability lists, structures
outside their BAR, legacy I/O BARs) for ports/virt/virtio/virtio_pci.c. All are built here with the host's `cc` under
AddressSanitizer and UBSan, into build/host-tests/, and each test case runs as
its own process.
"""

import os
import shutil
import subprocess

import pytest

from support import ROOT

# Under pytest-xdist all of this file runs on one worker: its module fixtures compile into build/host-tests/.
pytestmark = pytest.mark.xdist_group('host-c')

BUILD = os.path.join(ROOT, "build", "host-tests")
PORT = os.path.join(ROOT, "ports", "virt")
# The port's folders whose headers the files under test include by plain name.
PORT_INC = [PORT] + [os.path.join(PORT, d) for d in ("devices", "virtio", "net")]
HOST = os.path.join(ROOT, "tests", "host")
CFLAGS = ["-std=c11", "-g", "-O1", "-Wall", "-Wextra", "-fno-omit-frame-pointer",
          "-fsanitize=address,undefined", "-fno-sanitize-recover=all"]
SAN_ENV = {
    "ASAN_OPTIONS": "detect_leaks=1:halt_on_error=1:abort_on_error=0",
    "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1",
}
BOOTARGS = "ip=192.168.77.2/24,192.168.77.1 mac=52:54:00:12:34:56 x=\"quoted words\""

VIRTQUEUE_CASES = [
    "layout",
    "single_buffer",
    "chain_of_two",
    "out_of_order",
    "wraparound",
    "full_ring",
    "unknown_used_id",
    "drain_loop_ends_after_unknown_id",
    "notify_and_irq_flags",
    "size_pick_and_init_checks",
    "used_index_jump_breaks_queue",
]

HEAP_AREAS_CASES = [
    "init_aligns",
    "first_fit_and_reuse",
    "max_alloc_is_grantable",
    "free_merges_and_ignores_strangers",
    "table_full",
    "random",
]

ACK_COALESCE_CASES = [
    "newer_ack_replaces",
    "duplicate_acks_all_leave",
    "other_segments_keep_order",
    "slots_full_sends_oldest",
    "not_tcp_or_malformed_passes",
    "padded_ack_held_by_ip_length",
]

RX_MERGE_CASES = [
    "merges_in_order_segments",
    "what_does_not_merge",
    "capacity",
    "pure_acks",
    "inet_csum_matches_reference",
]

VIRTIO_BLK_CASES = [
    "read_write_round_trip",
    "requests_split_at_size_max",
    "read_only_and_no_flush",
    "device_status_errors",
    "lying_device_is_taken_out",
    "bad_config_refused",
    "no_device_and_legacy",
    "config_change_resizes",
]

VIRTIO_NET_CASES = [
    "features_and_mac",
    "mtu",
    "reset_never_completes",
    "irq_order_and_causes",
    "rx_budget",
    "used_index_jump",
    "tx_ring_full",
]

VIRTIO_PCI_CASES = [
    "modern_probe",
    "legacy_probe",
    "bad_capability_lists",
    "modern_queue_setup",
    "legacy_queue_setup",
]

VIRTIO_MMIO_CASES = [
    "probe",
    "modern_init_and_queue",
    "legacy_queue",
    "reset_bounded",
    "isr_until_zero",
    "config_widths",
]

VIRTIO_RNG_CASES = [
    "reads",
    "misbehaving",
]

IP_CSUM_CASES = [
    "fill_verifies",
    "udp_zero_is_ffff",
    "left_alone",
    "finish_partial",
]

BLK_CACHE_CASES = [
    "reads_fill_lines",
    "end_of_disk",
    "writes_are_gathered_until_flush",
    "writes_keep_their_order",
    "reads_see_gathered_writes",
    "errors",
    "random",
]

SIZE_POOLS_CASES = [
    "init_aligns",
    "carve_and_reuse",
    "limit",
    "carved_blocks_stay_with_their_pool",
    "bad_frees",
    "random",
]

MBEDTLS_ALLOC_CASES = [
    "sizes_zeroed_aligned",
    "chunks_and_trim",
    "large_failure_overflow",
    "random",
]

FDT_CASES = [
    "plain",
    "bootargs",
    "bad_headers",
    "truncated",
    "truncated_consistent",
    "corrupt_random",
    "prop_len_past_end",
    "cells_and_index_overflow",
    "property_placement",
    "interrupt_parent_and_cells",
]


def _cc():
    cc = shutil.which("cc")
    if cc is None:
        pytest.fail("no host C compiler `cc`: install the Debian package gcc")
    return cc


def _compile(name, sources):
    os.makedirs(BUILD, exist_ok=True)
    out = os.path.join(BUILD, name)
    cmd = [_cc()] + CFLAGS + ["-I" + d for d in PORT_INC] + ["-I" + HOST] + sources + ["-o", out]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        pytest.fail("building %s failed:\n%s\n%s%s" % (name, " ".join(cmd), r.stdout, r.stderr))
    return out


def _run_case(cmd, case, timeout=300):
    env = dict(os.environ, **SAN_ENV)
    r = subprocess.run(cmd + [case], capture_output=True, text=True, timeout=timeout, env=env)
    output = r.stdout + r.stderr
    if r.returncode != 0 or ("ok %s" % case) not in r.stdout.splitlines():
        pytest.fail("%s %s exited %d:\n%s" % (os.path.basename(cmd[0]), case, r.returncode, output[-12000:]),
                    pytrace=False)
    return output


def _listed(program):
    r = subprocess.run([program, "--list"], capture_output=True, text=True, timeout=30)
    return r.stdout.split()


# Test programs with no input but their own cases: name -> (sources, cases).
PROGRAMS = {
    "virtqueue_test": (["tests/host/virtqueue_test.c", "ports/virt/virtio/virtqueue.c"], VIRTQUEUE_CASES),
    "heap_areas_test": (["tests/host/heap_areas_test.c", "ports/virt/heap_areas.c"], HEAP_AREAS_CASES),
    "ack_coalesce_test": (["tests/host/ack_coalesce_test.c", "ports/virt/net/ack_coalesce.c"], ACK_COALESCE_CASES),
    "rx_merge_test": (["tests/host/rx_merge_test.c", "ports/virt/net/rx_merge.c", "ports/virt/net/inet_csum.c"],
                      RX_MERGE_CASES),
    # The driver against a fake device on the fake transport.
    "virtio_blk_test": (["tests/host/virtio_blk_test.c", "tests/host/fake_transport.c", "ports/virt/virtio/virtio_blk.c",
                         "ports/virt/virtio/virtio_dev.c", "ports/virt/virtio/virtqueue.c"], VIRTIO_BLK_CASES),
    # The NIC driver through the transport interface, the test file its fake device.
    "virtio_net_test": (["tests/host/virtio_net_test.c", "tests/host/fake_transport.c", "ports/virt/virtio/virtio_net.c",
                         "ports/virt/virtio/virtio_dev.c", "ports/virt/virtio/virtqueue.c"], VIRTIO_NET_CASES),
    # The MMIO transport and the generic init sequence against fake registers.
    "virtio_mmio_test": (["tests/host/virtio_mmio_test.c", "ports/virt/virtio/virtio_mmio.c", "ports/virt/virtio/virtio_dev.c",
                          "ports/virt/virtio/virtqueue.c"], VIRTIO_MMIO_CASES),
    # The entropy driver through the transport interface against a fake device.
    "virtio_rng_test": (["tests/host/virtio_rng_test.c", "tests/host/fake_transport.c", "ports/virt/virtio/virtio_rng.c",
                         "ports/virt/virtio/virtio_dev.c", "ports/virt/virtio/virtqueue.c"], VIRTIO_RNG_CASES),
    # TCP/UDP checksums over IPv4 and IPv6 (offload and loopback).
    "ip_csum_test": (["tests/host/ip_csum_test.c", "ports/virt/net/ip_csum.c", "ports/virt/net/inet_csum.c"], IP_CSUM_CASES),
    # The disks' read cache and write gathering against a fake disk.
    "blk_cache_test": (["tests/host/blk_cache_test.c", "ports/virt/blk_cache.c"], BLK_CACHE_CASES),
    # mbedTLS's size-classed allocator, the GC heap played by calloc.
    "mbedtls_alloc_test": (["tests/host/mbedtls_alloc_test.c", "ports/virt/mbedtls_alloc.c"], MBEDTLS_ALLOC_CASES),
    # lwIP's memp pools: fixed-size blocks from a region sized at boot.
    "size_pools_test": (["tests/host/size_pools_test.c", "ports/virt/net/size_pools.c"], SIZE_POOLS_CASES),
    "virtio_pci_test": (["tests/host/virtio_pci_test.c", "ports/virt/virtio/virtio_pci.c", "ports/virt/devices/pci.c",
                         "ports/virt/devices/fdt.c", "ports/virt/virtio/virtqueue.c"], VIRTIO_PCI_CASES),
}


@pytest.fixture(scope="module")
def program():
    """The named program from PROGRAMS, built once per module."""
    built = {}

    def get(name):
        if name not in built:
            built[name] = _compile(name, [os.path.join(ROOT, src) for src in PROGRAMS[name][0]])
        return built[name]
    return get


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_case_list(program, name):
    assert _listed(program(name)) == list(PROGRAMS[name][1])


@pytest.mark.parametrize("name,case", [(n, c) for n in sorted(PROGRAMS) for c in PROGRAMS[n][1]])
def test_program_case(program, name, case):
    print(_run_case([program(name)], case))


def _dump_dtb(path, append=None):
    cmd = ["qemu-system-arm", "-M", "virt,dumpdtb=" + path, "-cpu", "cortex-a15", "-m", "256M",
           "-nic", "none", "-display", "none"]
    if append is not None:
        # -append needs a kernel; QEMU dumps the tree before running it.
        kernel = os.path.join(BUILD, "empty-kernel.bin")
        with open(kernel, "wb") as f:
            f.write(b"\0" * 16)
        cmd += ["-kernel", kernel, "-append", append]
    if os.path.exists(path):
        os.unlink(path)
    r = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
    if not os.path.exists(path):
        pytest.fail("QEMU did not dump a DTB: %s\n%s%s" % (" ".join(cmd), r.stdout, r.stderr))


@pytest.fixture(scope="module")
def fdt_cmd():
    prog = _compile("fdt_test", [os.path.join(HOST, "fdt_test.c"), os.path.join(HOST, "fdt_walk.c"),
                                  os.path.join(PORT, "devices", "fdt.c"), os.path.join(PORT, "devices", "gic.c")])
    plain = os.path.join(BUILD, "virt-plain.dtb")
    args = os.path.join(BUILD, "virt-bootargs.dtb")
    _dump_dtb(plain)
    _dump_dtb(args, BOOTARGS)
    return [prog, plain, args, BOOTARGS]


def test_fdt_case_list(fdt_cmd):
    assert _listed(fdt_cmd[0]) == list(FDT_CASES)


@pytest.mark.parametrize("case", FDT_CASES)
def test_fdt(fdt_cmd, case):
    print(_run_case(fdt_cmd, case))


PLIC_CASES = ["contexts", "claim_complete", "binding", "no_contexts"]


@pytest.fixture(scope="module")
def plic_cmd():
    """The PLIC driver against QEMU's riscv64 virt tree with two harts."""
    prog = _compile("plic_test", [os.path.join(HOST, "plic_test.c"), os.path.join(PORT, "devices", "plic.c"),
                                   os.path.join(PORT, "devices", "fdt.c")])
    dtb = os.path.join(BUILD, "virt-riscv64-smp2.dtb")
    if os.path.exists(dtb):
        os.unlink(dtb)
    cmd = ["qemu-system-riscv64", "-M", "virt,dumpdtb=" + dtb, "-smp", "2", "-m", "128M", "-nic", "none",
           "-display", "none"]
    r = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
    if not os.path.exists(dtb):
        pytest.fail("QEMU did not dump a DTB: %s\n%s%s" % (" ".join(cmd), r.stdout, r.stderr))
    return [prog, dtb]


def test_plic_case_list(plic_cmd):
    assert _listed(plic_cmd[0]) == PLIC_CASES


@pytest.mark.parametrize("case", PLIC_CASES)
def test_plic(plic_cmd, case):
    print(_run_case(plic_cmd, case))


PCI_CASES = ["arm_enumerate_and_assign", "arm_intx", "riscv_intx_and_windows", "bars_that_do_not_fit", "no_bridge"]


@pytest.fixture(scope="module")
def pci_cmd():
    """The PCI host bridge code against QEMU's arm and riscv64 virt trees."""
    prog = _compile("pci_test", [os.path.join(HOST, "pci_test.c"), os.path.join(PORT, "devices", "pci.c"),
                                  os.path.join(PORT, "devices", "fdt.c")])
    trees = []
    for name, cmd in (("arm", ["qemu-system-arm", "-cpu", "cortex-a15"]), ("riscv64", ["qemu-system-riscv64"])):
        dtb = os.path.join(BUILD, "virt-%s-pci.dtb" % name)
        if os.path.exists(dtb):
            os.unlink(dtb)
        cmd = [cmd[0], "-M", "virt,dumpdtb=" + dtb] + cmd[1:] + ["-m", "128M", "-nic", "none", "-display", "none"]
        r = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
        if not os.path.exists(dtb):
            pytest.fail("QEMU did not dump a DTB: %s\n%s%s" % (" ".join(cmd), r.stdout, r.stderr))
        trees.append(dtb)
    return [prog] + trees


def test_pci_case_list(pci_cmd):
    assert _listed(pci_cmd[0]) == PCI_CASES


@pytest.mark.parametrize("case", PCI_CASES)
def test_pci(pci_cmd, case):
    print(_run_case(pci_cmd, case))
