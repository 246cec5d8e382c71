// ARM Generic Interrupt Controller v3 ("arm,gic-v3": QEMU's
// -M virt,gic-version=3): distributor, the boot CPU's redistributor, and the
// system-register CPU interface where the architecture has one.
#ifndef MICROPY_INCLUDED_VIRT_GICV3_H
#define MICROPY_INCLUDED_VIRT_GICV3_H

#include "irq.h"

// The GICv3 in the device tree, started; NULL if there is none, or the CPU
// has no GICv3 interface, or its redistributor is not found.
const virt_irq_controller_t *gicv3_probe(void);

#endif // MICROPY_INCLUDED_VIRT_GICV3_H
