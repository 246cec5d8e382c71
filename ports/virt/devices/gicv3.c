// GICv3 (ARM IHI 0069): group 1 interrupts, affinity routing, to the boot CPU.
#include <stddef.h>

#include "cpu.h"
#include "gic.h"
#include "gicv3.h"

#if CPU_HAS_GICV3_SYSREGS

// Distributor (12.9).
#define GICD_CTLR (0x0000)
#define GICD_TYPER (0x0004)
#define GICD_IGROUPR (0x0080)
#define GICD_ISENABLER (0x0100)
#define GICD_ICENABLER (0x0180)
#define GICD_IPRIORITYR (0x0400)
#define GICD_IROUTER (0x6000)
#define GICD_CTLR_ENABLE_G1 (1u << 0)
#define GICD_CTLR_ENABLE_G1A (1u << 1)
#define GICD_CTLR_ARE_NS (1u << 4)
#define GICD_CTLR_RWP (1u << 31)
// Redistributor (12.10): RD_base frame, then SGI_base 64 KiB above it.
#define GICR_TYPER (0x0008)
#define GICR_WAKER (0x0014)
#define GICR_TYPER_LAST (1u << 4)
#define GICR_WAKER_PROCESSOR_SLEEP (1u << 1)
#define GICR_WAKER_CHILDREN_ASLEEP (1u << 2)
#define GICR_SGI_BASE (0x10000)
#define GICR_FRAME_STRIDE (0x20000)
#define GICR_IGROUPR0 (GICR_SGI_BASE + 0x0080)
#define GICR_ISENABLER0 (GICR_SGI_BASE + 0x0100)
#define GICR_ICENABLER0 (GICR_SGI_BASE + 0x0180)
#define GICR_IPRIORITYR (GICR_SGI_BASE + 0x0400)

#define GIC_SPURIOUS_FIRST (1020)
#define GIC_SPURIOUS_LAST (1023)
#define GIC_PRIORITY_DEFAULT (0xa0)
#define GIC_FIRST_SPI (32)
// Polls of a register the GIC clears when its update is done.
#define GICV3_POLL_MAX (100000)

static uintptr_t gicd, gicr;
static uint32_t gicv3_last_iar;

static inline uint32_t rd32(uintptr_t base, uint32_t off) {
    return *(volatile uint32_t *)(base + off);
}

static inline void wr32(uintptr_t base, uint32_t off, uint32_t val) {
    *(volatile uint32_t *)(base + off) = val;
}

static inline uint64_t rd64(uintptr_t base, uint32_t off) {
    return *(volatile uint64_t *)(base + off);
}

static inline void wr64(uintptr_t base, uint32_t off, uint64_t val) {
    *(volatile uint64_t *)(base + off) = val;
}

static void gicd_wait_rwp(void) {
    for (int i = 0; i < GICV3_POLL_MAX && (rd32(gicd, GICD_CTLR) & GICD_CTLR_RWP); ++i) {
    }
}

static void gicv3_enable(uint32_t irq) {
    if (irq < GIC_FIRST_SPI) {
        *(volatile uint8_t *)(gicr + GICR_IPRIORITYR + irq) = GIC_PRIORITY_DEFAULT;
        wr32(gicr, GICR_ISENABLER0, 1u << irq);
        return;
    }
    *(volatile uint8_t *)(gicd + GICD_IPRIORITYR + irq) = GIC_PRIORITY_DEFAULT;
    // To this CPU: affinity levels 2, 1, 0 from MPIDR (level 3 is 0 on virt).
    wr64(gicd, GICD_IROUTER + irq * 8, cpu_mpidr() & 0xffffff);
    wr32(gicd, GICD_ISENABLER + (irq / 32) * 4, 1u << (irq % 32));
}

static void gicv3_disable(uint32_t irq) {
    if (irq < GIC_FIRST_SPI) {
        wr32(gicr, GICR_ICENABLER0, 1u << irq);
    } else {
        wr32(gicd, GICD_ICENABLER + (irq / 32) * 4, 1u << (irq % 32));
        gicd_wait_rwp();
    }
}

static uint32_t gicv3_claim(void) {
    uint32_t iar = cpu_gicv3_ack();
    uint32_t irq = iar & 0xffffff;
    if (irq >= GIC_SPURIOUS_FIRST && irq <= GIC_SPURIOUS_LAST) {
        return VIRT_IRQ_NONE;
    }
    gicv3_last_iar = iar;
    return irq;
}

static void gicv3_complete(uint32_t irq) {
    (void)irq;
    cpu_gicv3_eoi(gicv3_last_iar);
}

static virt_irq_controller_t gicv3_controller = {
    .name = "GICv3",
    .from_dt = gic_irq_from_dt, // the same binding as GICv2
    .enable = gicv3_enable,
    .disable = gicv3_disable,
    .claim = gicv3_claim,
    .complete = gicv3_complete,
};

// This CPU's redistributor: the frame whose GICR_TYPER affinity is ours,
// within the region the tree gives, stopping at the frame marked last.
static uintptr_t gicv3_find_redistributor(uint64_t base, uint64_t size) {
    uint32_t aff = cpu_mpidr() & 0xffffff;
    for (uint64_t off = 0; off + GICR_FRAME_STRIDE <= size; off += GICR_FRAME_STRIDE) {
        uint64_t typer = rd64((uintptr_t)(base + off), GICR_TYPER);
        if ((uint32_t)(typer >> 32) == aff) {
            return (uintptr_t)(base + off);
        }
        if (typer & GICR_TYPER_LAST) {
            break;
        }
    }
    return 0;
}

const virt_irq_controller_t *gicv3_probe(void) {
    int node = fdt_find_compatible(FDT_NODE_NONE, "arm,gic-v3");
    uint64_t dist, dist_size, redist, redist_size;
    if (node == FDT_NODE_NONE || !fdt_get_reg(node, 0, &dist, &dist_size)
        || !fdt_get_reg(node, 1, &redist, &redist_size)) {
        return NULL;
    }
    gicd = (uintptr_t)dist;
    gicr = gicv3_find_redistributor(redist, redist_size);
    if (gicr == 0) {
        return NULL;
    }
    gicv3_controller.node = node;

    // Distributor: off while set up; every SPI disabled and in group 1.
    wr32(gicd, GICD_CTLR, 0);
    gicd_wait_rwp();
    uint32_t lines = 32 * ((rd32(gicd, GICD_TYPER) & 0x1f) + 1);
    for (uint32_t i = GIC_FIRST_SPI; i < lines; i += 32) {
        wr32(gicd, GICD_ICENABLER + i / 8, 0xffffffff);
        wr32(gicd, GICD_IGROUPR + i / 8, 0xffffffff);
    }
    gicd_wait_rwp();
    // With one security state (QEMU's virt without secure=on) bit 0 enables
    // group 0 and bit 1 group 1; with two, the non-secure view's group 1
    // bits are these too: Linux writes the same.
    wr32(gicd, GICD_CTLR, GICD_CTLR_ARE_NS | GICD_CTLR_ENABLE_G1A | GICD_CTLR_ENABLE_G1);
    gicd_wait_rwp();

    // Redistributor: awake; SGIs and PPIs disabled, in group 1.
    wr32(gicr, GICR_WAKER, rd32(gicr, GICR_WAKER) & ~GICR_WAKER_PROCESSOR_SLEEP);
    for (int i = 0; i < GICV3_POLL_MAX && (rd32(gicr, GICR_WAKER) & GICR_WAKER_CHILDREN_ASLEEP); ++i) {
    }
    wr32(gicr, GICR_ICENABLER0, 0xffffffff);
    wr32(gicr, GICR_IGROUPR0, 0xffffffff);

    cpu_gicv3_init();
    return &gicv3_controller;
}

#else

// No GICv3 CPU interface on this architecture (32-bit ARM uses GICv2 here).
const virt_irq_controller_t *gicv3_probe(void) {
    return NULL;
}

#endif
