// ARM Generic Interrupt Controller v2 (QEMU virt's default "arm,cortex-a15-gic"),
// and the GIC device-tree binding that GICv3 shares.
#ifndef MICROPY_INCLUDED_VIRT_GIC_H
#define MICROPY_INCLUDED_VIRT_GIC_H

#include <stdbool.h>
#include <stdint.h>

#include "fdt.h"
#include "irq.h"

// The GICv2 in the device tree (at QEMU's default addresses if there is no
// tree), started; NULL if the tree has another kind.
const virt_irq_controller_t *gic_probe(void);
// Whether a device-tree node is a GICv2 this driver runs.
bool gic_is_compatible(int node);
// An interrupt specifier of the GIC binding (<type number flags>, type 0 =
// SPI, 1 = PPI) as an interrupt ID: SPI n -> 32 + n, PPI n -> 16 + n.
bool gic_irq_from_dt(const fdt_interrupt_t *spec, uint32_t *irq);

#endif // MICROPY_INCLUDED_VIRT_GIC_H
