// PLIC (RISC-V PLIC specification 1.0.0): sources enabled for our hart's
// context, claimed and completed from the external interrupt.
#include <stddef.h>

#include "cpu.h"
#include "fdt.h"
#include "plic.h"
#include "virt_io.h"

#if CPU_HAS_PLIC

// Register map (PLIC spec, chapter 3).
#define PLIC_PRIORITY(src) (4 * (src))
#define PLIC_ENABLE(ctx, src) (0x2000 + 0x80 * (ctx) + 4 * ((src) / 32))
#define PLIC_THRESHOLD(ctx) (0x200000 + 0x1000 * (ctx))
#define PLIC_CLAIM(ctx) (0x200004 + 0x1000 * (ctx))
#define PLIC_SOURCES_MAX (1024)

#define PLIC_PRIORITY_DEFAULT (1)

static uintptr_t plic_base;
static uint32_t plic_context;
static uint32_t plic_sources; // valid sources are 1 .. plic_sources

static bool plic_irq_from_dt(const fdt_interrupt_t *spec, uint32_t *irq) {
    if (spec->ncells != 1 || spec->cells[0] == 0 || spec->cells[0] > plic_sources) {
        return false;
    }
    *irq = spec->cells[0];
    return true;
}

static void plic_set_enable(uint32_t irq, bool on) {
    uintptr_t reg = plic_base + PLIC_ENABLE(plic_context, irq);
    uint32_t bit = 1u << (irq % 32);
    uint32_t state = cpu_irq_save();
    uint32_t v = virt_io_read32(reg);
    virt_io_write32(reg, on ? v | bit : v & ~bit);
    cpu_irq_restore(state);
}

static void plic_enable(uint32_t irq) {
    virt_io_write32(plic_base + PLIC_PRIORITY(irq), PLIC_PRIORITY_DEFAULT);
    plic_set_enable(irq, true);
}

static void plic_disable(uint32_t irq) {
    plic_set_enable(irq, false);
}

static uint32_t plic_claim(void) {
    uint32_t irq = virt_io_read32(plic_base + PLIC_CLAIM(plic_context));
    return irq == 0 ? VIRT_IRQ_NONE : irq;
}

static void plic_complete(uint32_t irq) {
    virt_io_write32(plic_base + PLIC_CLAIM(plic_context), irq);
}

static virt_irq_controller_t plic_controller = {
    .name = "PLIC",
    .from_dt = plic_irq_from_dt,
    .enable = plic_enable,
    .disable = plic_disable,
    .claim = plic_claim,
    .complete = plic_complete,
};

// The context whose line is our hart's external interrupt in our mode: the
// index of the pair (hart interrupt controller, cause) in
// "interrupts-extended" whose controller sits in our hart's cpu node.
static bool plic_find_context(int node, uint32_t *context) {
    uint32_t len;
    const uint8_t *p = fdt_get_prop(node, "interrupts-extended", &len);
    if (p == NULL) {
        return false;
    }
    for (uint32_t i = 0; (i + 1) * 8 <= len; ++i) {
        const uint8_t *e = p + 8 * i;
        uint32_t phandle = (uint32_t)e[0] << 24 | (uint32_t)e[1] << 16 | (uint32_t)e[2] << 8 | e[3];
        uint32_t cause = (uint32_t)e[4] << 24 | (uint32_t)e[5] << 16 | (uint32_t)e[6] << 8 | e[7];
        uint32_t hart;
        int cpu = fdt_parent(fdt_find_phandle(phandle));
        if (cause == CPU_PLIC_CAUSE && cpu != FDT_NODE_NONE && fdt_get_u32(cpu, "reg", &hart)
            && hart == virt_cpu_hartid) {
            *context = i;
            return true;
        }
    }
    return false;
}

const virt_irq_controller_t *plic_probe(void) {
    int node = fdt_find_compatible(FDT_NODE_NONE, "sifive,plic-1.0.0");
    if (node == FDT_NODE_NONE) {
        node = fdt_find_compatible(FDT_NODE_NONE, "riscv,plic0");
    }
    uint64_t base, size;
    uint32_t ndev;
    if (node == FDT_NODE_NONE || !fdt_get_reg(node, 0, &base, &size)
        || !fdt_get_u32(node, "riscv,ndev", &ndev) || ndev == 0 || ndev >= PLIC_SOURCES_MAX
        || !plic_find_context(node, &plic_context) || PLIC_CLAIM(plic_context) + 4 > size) {
        return NULL;
    }
    plic_base = (uintptr_t)base;
    plic_sources = ndev < VIRT_IRQ_MAX ? ndev : VIRT_IRQ_MAX - 1;
    plic_controller.node = node;
    // Every source disabled, then all priorities above 0 let through.
    for (uint32_t src = 0; src <= plic_sources; src += 32) {
        virt_io_write32(plic_base + PLIC_ENABLE(plic_context, src), 0);
    }
    virt_io_write32(plic_base + PLIC_THRESHOLD(plic_context), 0);
    cpu_external_irq_enable();
    return &plic_controller;
}

#else

// No PLIC context on this architecture.
const virt_irq_controller_t *plic_probe(void) {
    return NULL;
}

#endif
