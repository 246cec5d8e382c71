// Device registers by plain volatile accesses, one access of the register's
// own width each: what every architecture's virt_io.h provides (mapped as
// device memory, or with the MMU off, such accesses are neither merged,
// split nor reordered among themselves).
#ifndef MICROPY_INCLUDED_VIRT_VIRT_IO_REGS_H
#define MICROPY_INCLUDED_VIRT_VIRT_IO_REGS_H

#include <stdint.h>

static inline uint8_t virt_io_read8(uintptr_t addr) {
    return *(volatile uint8_t *)addr;
}

static inline uint16_t virt_io_read16(uintptr_t addr) {
    return *(volatile uint16_t *)addr;
}

static inline uint32_t virt_io_read32(uintptr_t addr) {
    return *(volatile uint32_t *)addr;
}

static inline void virt_io_write8(uintptr_t addr, uint8_t val) {
    *(volatile uint8_t *)addr = val;
}

static inline void virt_io_write16(uintptr_t addr, uint16_t val) {
    *(volatile uint16_t *)addr = val;
}

static inline void virt_io_write32(uintptr_t addr, uint32_t val) {
    *(volatile uint32_t *)addr = val;
}

#endif // MICROPY_INCLUDED_VIRT_VIRT_IO_REGS_H
