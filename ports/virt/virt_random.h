// Random numbers for drivers that need one before any Python runs (a NIC
// with no MAC of its own) and for lwIP. The port implements it
// (virt_entropy.c); host tests provide their own.
#ifndef MICROPY_INCLUDED_VIRT_VIRT_RANDOM_H
#define MICROPY_INCLUDED_VIRT_VIRT_RANDOM_H

#include <stdint.h>

uint32_t virt_random_u32(void);

#endif // MICROPY_INCLUDED_VIRT_VIRT_RANDOM_H
