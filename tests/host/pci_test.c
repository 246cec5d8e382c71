// Host unit test of ports/virt/devices/pci.c against the device trees of
// QEMU's virt machines (arm: high ECAM, GIC; riscv64: PLIC) and a fake ECAM
// with devices whose BARs and interrupt pins the cases choose: enumeration,
// multi-function slots, BAR sizing and placement (aligned, disjoint, inside
// the windows, 64-bit BARs), decoding enabled, INTx through interrupt-map
// (QEMU's swizzle), and BARs that do not fit. Built with ASan and UBSan by
// tests/test_virtqueue_host.py.
//
// Usage: pci_test ARM.dtb RISCV64.dtb [case...]
#define _GNU_SOURCE // memmem
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "fdt.h"
#include "fdt_blobs.h"
#include "pci.h"
#include "virt_io.h"

static blob_t arm_tree, riscv_tree;
static uintptr_t ecam_base;

// A fake function: BAR size masks (0: none), I/O or 64-bit, its pin.
typedef struct {
    bool present, multi;
    uint16_t vendor, device;
    uint64_t bar_size[PCI_BARS];
    bool bar_io[PCI_BARS], bar_64[PCI_BARS];
    uint8_t pin;
    uint32_t bar_reg[PCI_BARS];
    uint16_t command;
    int command_writes_with_bars_moved; // BAR writes while decoding was on
} fake_func_t;

static fake_func_t fake[PCI_SLOTS][PCI_FUNCS];

static fake_func_t *decode(uintptr_t addr, uint32_t *off) {
    CHECK(addr >= ecam_base && addr < ecam_base + ((uintptr_t)1 << 20));
    uintptr_t rel = addr - ecam_base;
    *off = rel & 0xfff;
    return &fake[(rel >> 15) & 31][(rel >> 12) & 7];
}

static uint32_t bar_read(fake_func_t *f, int i) {
    if (i > 0 && f->bar_64[i - 1]) { // the upper half of a 64-bit BAR
        uint64_t mask = ~(f->bar_size[i - 1] - 1);
        return f->bar_reg[i] & (uint32_t)(mask >> 32);
    }
    if (f->bar_size[i] == 0) {
        return 0;
    }
    uint32_t mask = (uint32_t)~(f->bar_size[i] - 1);
    if (f->bar_io[i]) {
        return (f->bar_reg[i] & mask & ~3u) | 1;
    }
    return (f->bar_reg[i] & mask & ~15u) | (f->bar_64[i] ? 4 : 0);
}

uint32_t virt_io_read32(uintptr_t addr) {
    uint32_t off;
    fake_func_t *f = decode(addr, &off);
    if (!f->present) {
        return 0xffffffff;
    }
    if (off >= PCI_BAR0 && off < PCI_BAR0 + 4 * PCI_BARS) {
        return bar_read(f, (off - PCI_BAR0) / 4);
    }
    return 0;
}

void virt_io_write32(uintptr_t addr, uint32_t val) {
    uint32_t off;
    fake_func_t *f = decode(addr, &off);
    if (f->present && off >= PCI_BAR0 && off < PCI_BAR0 + 4 * PCI_BARS) {
        f->bar_reg[(off - PCI_BAR0) / 4] = val;
        if (f->command & (PCI_COMMAND_MEMORY | PCI_COMMAND_IO)) {
            f->command_writes_with_bars_moved++;
        }
    }
}

uint16_t virt_io_read16(uintptr_t addr) {
    uint32_t off;
    fake_func_t *f = decode(addr, &off);
    if (!f->present) {
        return 0xffff;
    }
    switch (off) {
        case PCI_VENDOR_ID:
            return f->vendor;
        case PCI_DEVICE_ID:
            return f->device;
        case PCI_COMMAND:
            return f->command;
        default:
            return 0;
    }
}

void virt_io_write16(uintptr_t addr, uint16_t val) {
    uint32_t off;
    fake_func_t *f = decode(addr, &off);
    if (f->present && off == PCI_COMMAND) {
        f->command = val;
    }
}

uint8_t virt_io_read8(uintptr_t addr) {
    uint32_t off;
    fake_func_t *f = decode(addr, &off);
    if (!f->present) {
        return 0xff;
    }
    if (off == PCI_HEADER_TYPE) {
        return f->multi ? PCI_HEADER_MULTI_FUNCTION : 0;
    }
    if (off == PCI_INTERRUPT_PIN) {
        return f->pin;
    }
    return 0;
}

void virt_io_write8(uintptr_t addr, uint8_t val) {
    (void)addr;
    (void)val;
}

static fake_func_t *add(int slot, int func, uint16_t device) {
    fake_func_t *f = &fake[slot][func];
    memset(f, 0, sizeof(*f));
    f->present = true;
    f->vendor = 0x1af4;
    f->device = device;
    return f;
}

static void start(blob_t *tree, uintptr_t ecam) {
    memset(fake, 0, sizeof(fake));
    ecam_base = ecam;
    pci_reset();
    CHECK(fdt_init(tree->data, tree->size));
}

// QEMU's virtio-net-pci: an I/O BAR of 32 bytes (legacy), MSI-X BAR1 of
// 4 KiB, and a 64-bit prefetchable BAR4 of 16 KiB (modern capabilities).
static fake_func_t *add_virtio(int slot, uint16_t device) {
    fake_func_t *f = add(slot, 0, device);
    f->bar_size[0] = 32;
    f->bar_io[0] = true;
    f->bar_size[1] = 4096;
    f->bar_size[4] = 16384;
    f->bar_64[4] = true;
    f->pin = 1;
    return f;
}

static void check_bars_sane(uint64_t mem_lo, uint64_t mem_hi, uint64_t io_lo, uint64_t io_hi) {
    uint64_t lo[PCI_FUNCTIONS_MAX * PCI_BARS], hi[PCI_FUNCTIONS_MAX * PCI_BARS];
    size_t n = 0;
    for (size_t i = 0; pci_func(i) != NULL; ++i) {
        const pci_func_t *f = pci_func(i);
        for (int b = 0; b < PCI_BARS; ++b) {
            const pci_bar_t *bar = &f->bar[b];
            if (bar->kind == PCI_BAR_NONE) {
                continue;
            }
            CHECK(bar->size != 0 && (bar->size & (bar->size - 1)) == 0);
            if (bar->kind == PCI_BAR_MEM) {
                CHECK(bar->cpu_addr >= mem_lo && bar->cpu_addr + bar->size <= mem_hi);
                CHECK(bar->cpu_addr % bar->size == 0);
            } else {
                CHECK(bar->cpu_addr >= io_lo && bar->cpu_addr + bar->size <= io_hi);
            }
            for (size_t j = 0; j < n; ++j) {
                CHECK(bar->cpu_addr + bar->size <= lo[j] || bar->cpu_addr >= hi[j]);
            }
            lo[n] = bar->cpu_addr;
            hi[n++] = bar->cpu_addr + bar->size;
        }
    }
}

static void test_arm_enumerate_and_assign(void) {
    start(&arm_tree, (uintptr_t)0x4010000000ull);
    add_virtio(1, 0x1000);
    add_virtio(2, 0x1001);
    fake_func_t *m0 = add(4, 0, 0x1005);
    m0->multi = true;
    m0->bar_size[0] = 0x100000; // 1 MiB
    m0->pin = 2;
    fake_func_t *m3 = add(4, 3, 0x1005);
    m3->bar_size[2] = 256;
    m3->pin = 1;
    add(6, 2, 0x1234); // function 2 of a slot whose function 0 is absent: not seen
    CHECK_EQ_U(pci_scan(), 4);
    CHECK(pci_error() == NULL);
    CHECK_EQ_U(pci_scan(), 4); // once
    const pci_func_t *f = pci_func(0);
    CHECK_EQ_U(f->slot, 1);
    CHECK_EQ_U(f->device_id, 0x1000);
    CHECK_EQ_U(f->bar[0].kind, PCI_BAR_IO);
    CHECK_EQ_U(f->bar[0].size, 32);
    CHECK_EQ_U(f->bar[1].kind, PCI_BAR_MEM);
    CHECK_EQ_U(f->bar[4].kind, PCI_BAR_MEM);
    CHECK_EQ_U(f->bar[4].size, 16384);
    CHECK_EQ_U(f->bar[5].kind, PCI_BAR_NONE); // BAR4's upper half
    CHECK_EQ_U(fake[1][0].bar_reg[5], 0);
    // The BAR registers hold the bus addresses: on arm virt the 32-bit
    // window is the same on both sides, the I/O window starts at port 0.
    CHECK_EQ_U(fake[1][0].bar_reg[4], f->bar[4].cpu_addr);
    CHECK_EQ_U(f->bar[0].cpu_addr, 0x3eff0000u + fake[1][0].bar_reg[0]);
    CHECK(fake[1][0].bar_reg[0] >= 0x1000);
    CHECK_EQ_U(pci_func(2)->slot, 4);
    CHECK_EQ_U(pci_func(3)->func, 3);
    CHECK_EQ_U(pci_func(3)->bar[2].size, 256);
    check_bars_sane(0x10000000u, 0x3eff0000u, 0x3eff0000u, 0x3f000000u);
    for (int s = 0; s < PCI_SLOTS; ++s) {
        for (int fn = 0; fn < PCI_FUNCS; ++fn) {
            if (fake[s][fn].present && !(s == 6)) {
                CHECK_EQ_U(fake[s][fn].command, PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
                CHECK_EQ_U(fake[s][fn].command_writes_with_bars_moved, 0);
            }
        }
    }
    CHECK_EQ_U(fake[6][2].command, 0);
}

// INTx: QEMU's interrupt-map swizzles slot and pin over four lines; on arm
// virt GIC SPIs 3-6 (cells: 0 = SPI, number, 4 = level high).
static void test_arm_intx(void) {
    start(&arm_tree, (uintptr_t)0x4010000000ull);
    for (int slot = 1; slot <= 5; ++slot) {
        add_virtio(slot, 0x1000)->pin = slot == 5 ? 3 : 1;
    }
    fake_func_t *nopin = add(6, 0, 0x1000);
    nopin->pin = 0;
    CHECK_EQ_U(pci_scan(), 6);
    for (int i = 0; i < 5; ++i) {
        const pci_func_t *f = pci_func(i);
        uint32_t pin = f->slot == 5 ? 3 : 1;
        CHECK(f->has_intx);
        CHECK_EQ_U(f->intx.ncells, 3);
        CHECK_EQ_U(f->intx.cells[0], 0);
        CHECK_EQ_U(f->intx.cells[1], 3 + (f->slot + pin - 1) % 4);
        CHECK_EQ_U(f->intx.cells[2], 4);
        CHECK(fdt_is_compatible(f->intx.controller, "arm,cortex-a15-gic"));
    }
    CHECK(!pci_func(5)->has_intx);
}

static void test_riscv_intx_and_windows(void) {
    start(&riscv_tree, 0x30000000u);
    add_virtio(1, 0x1041);
    add_virtio(2, 0x1042)->pin = 2;
    CHECK_EQ_U(pci_scan(), 2);
    CHECK(pci_error() == NULL);
    const pci_func_t *f = pci_func(0);
    CHECK(f->has_intx);
    CHECK_EQ_U(f->intx.ncells, 1);
    CHECK_EQ_U(f->intx.cells[0], 0x20 + (1 + 1 - 1) % 4);
    CHECK_EQ_U(pci_func(1)->intx.cells[0], 0x20 + (2 + 2 - 1) % 4);
    CHECK(fdt_is_compatible(f->intx.controller, "sifive,plic-1.0.0") || fdt_is_compatible(f->intx.controller, "riscv,plic0"));
    // riscv virt: I/O at CPU 0x3000000, 32-bit memory at 0x40000000.
    CHECK_EQ_U(f->bar[0].cpu_addr, 0x3000000u + fake[1][0].bar_reg[0]);
    check_bars_sane(0x40000000u, 0x80000000u, 0x3000000u, 0x3010000u);
}

// A BAR larger than the window, an I/O BAR with no room, a 64-bit BAR in the
// last slot: each function keeps what fits and says what did not.
static void test_bars_that_do_not_fit(void) {
    start(&arm_tree, (uintptr_t)0x4010000000ull);
    fake_func_t *huge = add(1, 0, 0x1000);
    huge->bar_size[0] = (uint64_t)1 << 31; // 2 GiB > the ~750 MiB window
    huge->bar_size[1] = 4096;
    fake_func_t *last64 = add(2, 0, 0x1000);
    last64->bar_size[5] = 4096;
    last64->bar_64[5] = true;
    fake_func_t *io = add(3, 0, 0x1000);
    io->bar_size[0] = 0x10000; // the whole I/O window, which starts used at 0x1000
    io->bar_io[0] = true;
    CHECK_EQ_U(pci_scan(), 3);
    CHECK(pci_func(0)->error != NULL);
    CHECK_EQ_U(pci_func(0)->bar[0].kind, PCI_BAR_NONE);
    CHECK_EQ_U(pci_func(0)->bar[1].kind, PCI_BAR_MEM);
    CHECK(pci_func(1)->error != NULL);
    CHECK(pci_func(2)->error != NULL);
    CHECK_EQ_U(pci_func(2)->bar[0].kind, PCI_BAR_NONE);
    check_bars_sane(0x10000000u, 0x3eff0000u, 0x3eff0000u, 0x3f000000u);
}

// A tree with no bridge, or one whose ranges are gone: a reason, no functions.
static void test_no_bridge(void) {
    blob_t b = copy(arm_tree.data, arm_tree.size);
    uint8_t *p = memmem(b.data, b.size, "pci-host-ecam-generic", 21);
    CHECK(p != NULL);
    if (p != NULL) {
        p[0] = 'X';
    }
    memset(fake, 0, sizeof(fake));
    pci_reset();
    CHECK(fdt_init(b.data, b.size));
    CHECK_EQ_U(pci_scan(), 0);
    CHECK(pci_error() != NULL);
    free(b.data);
}

static const test_case_t cases[] = {
    { "arm_enumerate_and_assign", test_arm_enumerate_and_assign },
    { "arm_intx", test_arm_intx },
    { "riscv_intx_and_windows", test_riscv_intx_and_windows },
    { "bars_that_do_not_fit", test_bars_that_do_not_fit },
    { "no_bridge", test_no_bridge },
};

int main(int argc, char **argv) {
    if (argc == 2 && !strcmp(argv[1], "--list")) {
        return run_cases(cases, sizeof(cases) / sizeof(cases[0]), argc, argv);
    }
    if (argc < 3) {
        fprintf(stderr, "usage: %s ARM.dtb RISCV64.dtb [case...]\n", argv[0]);
        return 2;
    }
    arm_tree = load(argv[1]);
    riscv_tree = load(argv[2]);
    int rc = run_cases(cases, sizeof(cases) / sizeof(cases[0]), argc - 2, argv + 2);
    free(arm_tree.data);
    free(riscv_tree.data);
    return rc;
}
