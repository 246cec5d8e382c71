// GICv2 distributor and CPU interface: enable, route and dispatch interrupts.
#include <stddef.h>

#include "gic.h"

// Distributor registers (GICv2 architecture specification, 4.1.2).
#define GICD_CTLR (0x000)
#define GICD_TYPER (0x004)
#define GICD_ISENABLER (0x100)
#define GICD_ICENABLER (0x180)
#define GICD_IPRIORITYR (0x400)
#define GICD_ITARGETSR (0x800)
// CPU interface registers (4.1.3).
#define GICC_CTLR (0x00)
#define GICC_PMR (0x04)
#define GICC_IAR (0x0c)
#define GICC_EOIR (0x10)

#define GIC_SPURIOUS (1020)
#define GIC_PRIORITY_DEFAULT (0xa0)
#define GIC_FIRST_SPI (32)

// QEMU's fixed virt layout, used only without a device tree.
#define VIRT_GICD_BASE_DEFAULT (0x08000000)
#define VIRT_GICC_BASE_DEFAULT (0x08010000)

static volatile uint32_t *gicd;
static volatile uint32_t *gicc;
static uint32_t gic_last_iar; // interrupts do not nest

static inline void reg_write(volatile uint32_t *base, uint32_t off, uint32_t val) {
    base[off / 4] = val;
}

static inline uint32_t reg_read(volatile uint32_t *base, uint32_t off) {
    return base[off / 4];
}

bool gic_is_compatible(int node) {
    return fdt_is_compatible(node, "arm,cortex-a15-gic") || fdt_is_compatible(node, "arm,gic-400");
}

bool gic_irq_from_dt(const fdt_interrupt_t *spec, uint32_t *irq) {
    if (spec->ncells < 2) {
        return false;
    }
    uint32_t type = spec->cells[0], num = spec->cells[1];
    if (type == 0 && num < 988) {
        *irq = 32 + num;
    } else if (type == 1 && num < 16) {
        *irq = 16 + num;
    } else {
        return false;
    }
    return true;
}

static void gic_enable(uint32_t irq) {
    volatile uint8_t *prio = (volatile uint8_t *)gicd + GICD_IPRIORITYR;
    prio[irq] = GIC_PRIORITY_DEFAULT;
    if (irq >= GIC_FIRST_SPI) {
        volatile uint8_t *target = (volatile uint8_t *)gicd + GICD_ITARGETSR;
        target[irq] = 1; // CPU 0
    }
    reg_write(gicd, GICD_ISENABLER + (irq / 32) * 4, 1u << (irq % 32));
}

static void gic_disable(uint32_t irq) {
    reg_write(gicd, GICD_ICENABLER + (irq / 32) * 4, 1u << (irq % 32));
}

static uint32_t gic_claim(void) {
    uint32_t iar = reg_read(gicc, GICC_IAR);
    if ((iar & 0x3ff) >= GIC_SPURIOUS) {
        return VIRT_IRQ_NONE;
    }
    gic_last_iar = iar;
    return iar & 0x3ff;
}

static void gic_complete(uint32_t irq) {
    (void)irq;
    reg_write(gicc, GICC_EOIR, gic_last_iar);
}

static virt_irq_controller_t gic_controller = {
    .name = "GICv2",
    .from_dt = gic_irq_from_dt,
    .enable = gic_enable,
    .disable = gic_disable,
    .claim = gic_claim,
    .complete = gic_complete,
};

const virt_irq_controller_t *gic_probe(void) {
    int node = fdt_find_compatible(FDT_NODE_NONE, "arm,cortex-a15-gic");
    if (node == FDT_NODE_NONE) {
        node = fdt_find_compatible(FDT_NODE_NONE, "arm,gic-400");
    }
    uint64_t dist = VIRT_GICD_BASE_DEFAULT, cpu = VIRT_GICC_BASE_DEFAULT, size;
    if (node != FDT_NODE_NONE) {
        if (!fdt_get_reg(node, 0, &dist, &size) || !fdt_get_reg(node, 1, &cpu, &size)) {
            return NULL;
        }
    } else if (fdt_total_size() != 0) {
        return NULL; // a tree without a GICv2: another kind of controller
    }
    gic_controller.node = node;
    gicd = (volatile uint32_t *)(uintptr_t)dist;
    gicc = (volatile uint32_t *)(uintptr_t)cpu;
    reg_write(gicd, GICD_CTLR, 0);
    uint32_t lines = 32 * ((reg_read(gicd, GICD_TYPER) & 0x1f) + 1);
    for (uint32_t i = 0; i < lines; i += 32) {
        reg_write(gicd, GICD_ICENABLER + i / 8, 0xffffffff);
    }
    reg_write(gicd, GICD_CTLR, 1);
    reg_write(gicc, GICC_PMR, 0xff); // let every priority through
    reg_write(gicc, GICC_CTLR, 1);
    return &gic_controller;
}
