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

// Only the interrupts QEMU's virt machine wires up (it has 288: 32 + 256).
#define GIC_NUM_HANDLED (288)

static volatile uint32_t *gicd;
static volatile uint32_t *gicc;
static struct {
    gic_handler_t handler;
    void *arg;
} gic_table[GIC_NUM_HANDLED];

static inline void reg_write(volatile uint32_t *base, uint32_t off, uint32_t val) {
    base[off / 4] = val;
}

static inline uint32_t reg_read(volatile uint32_t *base, uint32_t off) {
    return base[off / 4];
}

void gic_init(uintptr_t dist_base, uintptr_t cpu_base) {
    gicd = (volatile uint32_t *)dist_base;
    gicc = (volatile uint32_t *)cpu_base;
    reg_write(gicd, GICD_CTLR, 0);
    uint32_t lines = 32 * ((reg_read(gicd, GICD_TYPER) & 0x1f) + 1);
    for (uint32_t i = 0; i < lines; i += 32) {
        reg_write(gicd, GICD_ICENABLER + i / 8, 0xffffffff);
    }
    reg_write(gicd, GICD_CTLR, 1);
    reg_write(gicc, GICC_PMR, 0xff); // let every priority through
    reg_write(gicc, GICC_CTLR, 1);
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

void gic_enable_irq(uint32_t irq, gic_handler_t handler, void *arg) {
    if (irq >= GIC_NUM_HANDLED || gicd == NULL) {
        return;
    }
    gic_table[irq].handler = handler;
    gic_table[irq].arg = arg;
    volatile uint8_t *prio = (volatile uint8_t *)gicd + GICD_IPRIORITYR;
    prio[irq] = GIC_PRIORITY_DEFAULT;
    if (irq >= GIC_FIRST_SPI) {
        volatile uint8_t *target = (volatile uint8_t *)gicd + GICD_ITARGETSR;
        target[irq] = 1; // CPU 0
    }
    reg_write(gicd, GICD_ISENABLER + (irq / 32) * 4, 1u << (irq % 32));
}

void gic_disable_irq(uint32_t irq) {
    if (irq >= GIC_NUM_HANDLED || gicd == NULL) {
        return;
    }
    reg_write(gicd, GICD_ICENABLER + (irq / 32) * 4, 1u << (irq % 32));
}

// One interrupt per exception: another pending one is taken as soon as the
// vector returns. Looping back to IAR would cost a register read (a trip
// out of the emulated CPU under QEMU) on every interrupt to learn that
// usually none is left.
void gic_dispatch(void) {
    uint32_t iar = reg_read(gicc, GICC_IAR);
    uint32_t irq = iar & 0x3ff;
    if (irq >= GIC_SPURIOUS) {
        return;
    }
    if (irq < GIC_NUM_HANDLED && gic_table[irq].handler != NULL) {
        gic_table[irq].handler(gic_table[irq].arg);
    }
    reg_write(gicc, GICC_EOIR, iar);
}
