// The RAM filesystem's block device: a region of RAM cut from the top of the
// heap at power-on when QEMU gave no disk, so open() works on every boot.
// Its contents survive a soft reset and are lost at power-off.
#ifndef MICROPY_INCLUDED_VIRT_RAM_DISK_H
#define MICROPY_INCLUDED_VIRT_RAM_DISK_H

#include <stddef.h>
#include <stdint.h>

#include "py/obj.h"

// How much of RAM the RAM filesystem takes: an eighth, within these bounds.
#define RAM_DISK_MIN_SIZE (256 * 1024)
#define RAM_DISK_MAX_SIZE (64 * 1024 * 1024)

// The region's size for a guest with ram_size bytes of RAM (a whole number
// of blocks), 0 if the RAM is too small to spare it.
size_t ram_disk_size_for(size_t ram_size);
void ram_disk_init(uint8_t *base, size_t size);
bool ram_disk_present(void);
// Mount the RAM filesystem at /: littlefs2 on the region, made at its first
// use (formatted at the first use after power-on, or when what a program
// left there no longer mounts).
void ram_disk_mount_root(void);

extern const mp_obj_type_t virt_ram_disk_type;

#endif // MICROPY_INCLUDED_VIRT_RAM_DISK_H
