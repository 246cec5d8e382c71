// A device-configuration field at its own width (1, 2, 4; 8 as two 32-bit
// accesses, low word first: VirtIO 1.2, sections 4.1.3 and 4.2.2), as both
// transports (virtio_mmio.c, virtio_pci.c) access it.
#ifndef MICROPY_INCLUDED_VIRT_VIRTIO_CFG_FIELD_H
#define MICROPY_INCLUDED_VIRT_VIRTIO_CFG_FIELD_H

#include <stdint.h>

#include "virt_io.h"

static inline uint64_t virtio_cfg_field_read(uintptr_t addr, unsigned width) {
    switch (width) {
        case 1:
            return virt_io_read8(addr);
        case 2:
            return virt_io_read16(addr);
        case 4:
            return virt_io_read32(addr);
        default:
            return virt_io_read32(addr) | (uint64_t)virt_io_read32(addr + 4) << 32;
    }
}

static inline void virtio_cfg_field_write(uintptr_t addr, unsigned width, uint64_t value) {
    switch (width) {
        case 1:
            virt_io_write8(addr, (uint8_t)value);
            break;
        case 2:
            virt_io_write16(addr, (uint16_t)value);
            break;
        case 4:
            virt_io_write32(addr, (uint32_t)value);
            break;
        default:
            virt_io_write32(addr, (uint32_t)value);
            virt_io_write32(addr + 4, (uint32_t)(value >> 32));
            break;
    }
}

#endif // MICROPY_INCLUDED_VIRT_VIRTIO_CFG_FIELD_H
