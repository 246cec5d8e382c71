// What drivers need from the architecture to talk to devices: barriers that
// order our ring accesses against the device's (VirtIO 1.2, 2.7.7 and
// 2.7.13), the address a device is given for a buffer, register accesses.
#ifndef MICROPY_INCLUDED_VIRT_ARCH_ARM_VIRT_IO_H
#define MICROPY_INCLUDED_VIRT_ARCH_ARM_VIRT_IO_H

#include <stdint.h>

// ARMv7: QEMU's device model acts as another observer in the inner shareable
// domain, as a second CPU would: DMB ISH orders normal memory against it
// (Linux's virt_mb / virt_rmb / virt_wmb on ARM are the same). ARMv7 has no
// load-only DMB; the store-only form orders writes before writes.
#define virt_io_mb() __asm volatile ("dmb ish" : : : "memory")
#define virt_io_rmb() __asm volatile ("dmb ish" : : : "memory")
#define virt_io_wmb() __asm volatile ("dmb ishst" : : : "memory")

// Physical address of a buffer as the device sees it: the MMU maps RAM one
// to one (mmu.c), so it is the pointer itself.
static inline uint64_t virt_io_dma_addr(const void *p) {
    return (uint64_t)(uintptr_t)p;
}

// RAM is used up to here; above it, 3 .. 4 GiB, is the window through which
// one GiB of device addresses above 4 GiB is reached (mmu.c).
#define VIRT_RAM_TOP (0xc0000000u)
#define VIRT_IO_HIGH_WINDOW (0xc0000000u)

// The address through which the device window [phys, phys + size) is
// accessed, or 0 if it cannot be reached: one to one below VIRT_RAM_TOP,
// else through the high window (a second GiB above 4 GiB cannot be).
uintptr_t virt_io_map(uint64_t phys, uint64_t size);

// Device registers: plain volatile accesses.
#include "virt_io_regs.h"

#endif // MICROPY_INCLUDED_VIRT_ARCH_ARM_VIRT_IO_H
