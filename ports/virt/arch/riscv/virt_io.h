// What drivers need from the architecture to talk to devices: barriers that
// order our ring accesses against the device's (VirtIO 1.2, 2.7.7 and
// 2.7.13), the address a device is given for a buffer, register accesses.
#ifndef MICROPY_INCLUDED_VIRT_ARCH_RISCV_VIRT_IO_H
#define MICROPY_INCLUDED_VIRT_ARCH_RISCV_VIRT_IO_H

#include <stdint.h>

// Linux's mb / rmb / wmb on RISC-V: they order memory and device (I/O)
// accesses, so a notify register write follows the ring writes before it.
#define virt_io_mb() __asm volatile ("fence iorw, iorw" : : : "memory")
#define virt_io_rmb() __asm volatile ("fence ir, ir" : : : "memory")
#define virt_io_wmb() __asm volatile ("fence ow, ow" : : : "memory")

// Physical address of a buffer as the device sees it: no MMU (satp is 0, or
// M-mode), so it is the pointer itself.
static inline uint64_t virt_io_dma_addr(const void *p) {
    return (uint64_t)(uintptr_t)p;
}

// RAM may be used up to the top of the address space.
#define VIRT_RAM_TOP (UINTPTR_MAX)

// The address through which the device window [phys, phys + size) is
// accessed, or 0 if it cannot be reached: there is no MMU, so it is phys
// itself when that fits in a pointer.
static inline uintptr_t virt_io_map(uint64_t phys, uint64_t size) {
    uint64_t last = phys + size - 1;
    return size != 0 && last >= phys && last <= UINTPTR_MAX ? (uintptr_t)phys : 0;
}

// Device registers: plain volatile accesses.
#include "virt_io_regs.h"

#endif // MICROPY_INCLUDED_VIRT_ARCH_RISCV_VIRT_IO_H
