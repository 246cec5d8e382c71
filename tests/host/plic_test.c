// Host unit test of ports/virt/devices/plic.c against the device trees of
// QEMU's riscv64 virt machine (qemu-system-riscv64 -M virt,dumpdtb=FILE with
// -smp 2) and a fake PLIC register file: the context wired to each hart's
// external interrupt in each mode, the binding's checks, enable, claim and
// complete. Built with ASan and UBSan by tests/test_virtqueue_host.py.
//
// Usage: plic_test SMP2.dtb [case...]
#define _GNU_SOURCE // memmem
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "cpu.h"
#include "fdt.h"
#include "fdt_blobs.h"
#include "plic.h"
#include "virt_io.h"

uint32_t test_plic_cause = 9;
uintptr_t virt_cpu_hartid;
int test_external_irq_enables;

// The fake register file: QEMU virt's PLIC at 0x0c000000, 0x600000 long.
#define PLIC_BASE (0x0c000000u)
#define PLIC_SIZE (0x600000u)
static uint32_t *regs;
static uint32_t claim_next; // what a claim read returns
static uint32_t completed;

static uint32_t *reg(uintptr_t addr) {
    CHECK(addr >= PLIC_BASE && addr + 4 <= PLIC_BASE + PLIC_SIZE && addr % 4 == 0);
    if (addr < PLIC_BASE || addr + 4 > PLIC_BASE + PLIC_SIZE) {
        exit(1);
    }
    return &regs[(addr - PLIC_BASE) / 4];
}

static int claim_context(uintptr_t addr) {
    uintptr_t off = addr - PLIC_BASE;
    return off >= 0x200000 && off % 0x1000 == 4 ? (int)((off - 0x200000) / 0x1000) : -1;
}

uint32_t virt_io_read32(uintptr_t addr) {
    if (claim_context(addr) >= 0) {
        return claim_next;
    }
    return *reg(addr);
}

void virt_io_write32(uintptr_t addr, uint32_t val) {
    if (claim_context(addr) >= 0) {
        completed = val;
        return;
    }
    *reg(addr) = val;
}

uint8_t virt_io_read8(uintptr_t addr) {
    (void)addr;
    CHECK(0);
    return 0;
}

uint16_t virt_io_read16(uintptr_t addr) {
    (void)addr;
    CHECK(0);
    return 0;
}

void virt_io_write8(uintptr_t addr, uint8_t val) {
    (void)addr;
    (void)val;
    CHECK(0);
}

void virt_io_write16(uintptr_t addr, uint16_t val) {
    (void)addr;
    (void)val;
    CHECK(0);
}

static const char *smp2_path;
static blob_t tree;

// A fresh register file (every enable bit set, as garbage) and the probe
// for one hart in one mode.
static const virt_irq_controller_t *probe(uintptr_t hart, uint32_t cause) {
    memset(regs, 0xff, PLIC_SIZE);
    virt_cpu_hartid = hart;
    test_plic_cause = cause;
    CHECK(fdt_init(tree.data, tree.size));
    return plic_probe();
}

static uint32_t enable_word(int ctx, uint32_t src) {
    return regs[(0x2000 + 0x80 * ctx + 4 * (src / 32)) / 4];
}

// Hart h's contexts on QEMU virt: 2h in M-mode, 2h + 1 in S-mode.
static void test_contexts(void) {
    static const struct {
        uintptr_t hart;
        uint32_t cause;
        int ctx;
    } want[] = { { 0, 9, 1 }, { 1, 9, 3 }, { 0, 11, 0 }, { 1, 11, 2 } };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); ++i) {
        const virt_irq_controller_t *c = probe(want[i].hart, want[i].cause);
        CHECK(c != NULL);
        if (c == NULL) {
            continue;
        }
        CHECK(!strcmp(c->name, "PLIC"));
        // Its context's enables cleared, threshold 0; the other contexts untouched.
        CHECK_EQ_U(enable_word(want[i].ctx, 0), 0);
        CHECK_EQ_U(enable_word(want[i].ctx, 32), 0);
        CHECK_EQ_U(regs[(0x200000 + 0x1000 * want[i].ctx) / 4], 0);
        CHECK_EQ_U(enable_word(want[i].ctx ^ 1, 0), 0xffffffff);
        c->enable(8);
        CHECK_EQ_U(enable_word(want[i].ctx, 0), 1u << 8);
        CHECK_EQ_U(regs[8], 1); // priority
        c->enable(33);
        CHECK_EQ_U(enable_word(want[i].ctx, 32), 1u << 1);
        c->disable(8);
        CHECK_EQ_U(enable_word(want[i].ctx, 0), 0);
    }
    // No hart 2, and no context for a cause no hart has.
    CHECK(probe(2, 9) == NULL);
    CHECK(probe(0, 5) == NULL);
}

static void test_claim_complete(void) {
    const virt_irq_controller_t *c = probe(0, 9);
    CHECK(c != NULL);
    if (c == NULL) {
        return;
    }
    claim_next = 0;
    CHECK_EQ_U(c->claim(), VIRT_IRQ_NONE);
    claim_next = 10;
    CHECK_EQ_U(c->claim(), 10);
    c->complete(10);
    CHECK_EQ_U(completed, 10);
    CHECK(test_external_irq_enables > 0);
}

// One interrupt cell, a source from 1 to riscv,ndev (0x60 on QEMU virt).
static void test_binding(void) {
    const virt_irq_controller_t *c = probe(0, 9);
    CHECK(c != NULL);
    if (c == NULL) {
        return;
    }
    fdt_interrupt_t spec = { .controller = c->node, .ncells = 1, .cells = { 10 } };
    uint32_t irq = 0;
    CHECK(c->from_dt(&spec, &irq));
    CHECK_EQ_U(irq, 10);
    spec.cells[0] = 0;
    CHECK(!c->from_dt(&spec, &irq));
    spec.cells[0] = 0x60;
    CHECK(c->from_dt(&spec, &irq));
    spec.cells[0] = 0x61;
    CHECK(!c->from_dt(&spec, &irq));
    spec.cells[0] = 10;
    spec.ncells = 2;
    CHECK(!c->from_dt(&spec, &irq));
    // The UART's interrupt as the port reads it.
    int uart = fdt_find_compatible(FDT_NODE_NONE, "ns16550a");
    CHECK(fdt_get_interrupt(uart, 0, &spec));
    CHECK(spec.controller == c->node);
    CHECK(c->from_dt(&spec, &irq));
    CHECK_EQ_U(irq, 10);
}

// A tree without the PLIC's "interrupts-extended": no controller.
static void test_no_contexts(void) {
    blob_t b = copy(tree.data, tree.size);
    uint8_t *p = memmem(b.data, b.size, "interrupts-extended", sizeof("interrupts-extended"));
    CHECK(p != NULL);
    if (p != NULL) {
        p[0] = 'X'; // the property's name in the strings block
    }
    memset(regs, 0, PLIC_SIZE);
    virt_cpu_hartid = 0;
    test_plic_cause = 9;
    CHECK(fdt_init(b.data, b.size));
    CHECK(plic_probe() == NULL);
    free(b.data);
}

static const test_case_t cases[] = {
    { "contexts", test_contexts },
    { "claim_complete", test_claim_complete },
    { "binding", test_binding },
    { "no_contexts", test_no_contexts },
};

int main(int argc, char **argv) {
    if (argc == 2 && !strcmp(argv[1], "--list")) {
        return run_cases(cases, sizeof(cases) / sizeof(cases[0]), argc, argv);
    }
    if (argc < 2) {
        fprintf(stderr, "usage: %s SMP2.dtb [case...]\n", argv[0]);
        return 2;
    }
    smp2_path = argv[1];
    tree = load(smp2_path);
    regs = malloc(PLIC_SIZE);
    int rc = run_cases(cases, sizeof(cases) / sizeof(cases[0]), argc - 1, argv + 1);
    free(regs);
    free(tree.data);
    return rc;
}
