// RISC-V platform-level interrupt controller (PLIC).
#ifndef MICROPY_INCLUDED_VIRT_PLIC_H
#define MICROPY_INCLUDED_VIRT_PLIC_H

#include "irq.h"

const virt_irq_controller_t *plic_probe(void);

#endif // MICROPY_INCLUDED_VIRT_PLIC_H
