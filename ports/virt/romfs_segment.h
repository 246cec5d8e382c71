// ROMFS segment 0 (vfs.rom_ioctl): an -initrd image in RAM or the virt
// machine's second flash bank.
#ifndef MICROPY_INCLUDED_VIRT_ROMFS_SEGMENT_H
#define MICROPY_INCLUDED_VIRT_ROMFS_SEGMENT_H

#include <stdbool.h>
#include <stdint.h>

// The RAM QEMU loaded an -initrd image into, from /chosen; false if none
// or if it is not all inside [ram_start, ram_end), the RAM after the image.
bool romfs_initrd_range(uintptr_t ram_start, uintptr_t ram_end, uintptr_t *start, uintptr_t *end);
// Segment 0 is the -initrd image at [initrd_start, initrd_end) (from
// romfs_initrd_range), or with start == end the second flash bank.
void romfs_segment_init(uintptr_t initrd_start, uintptr_t initrd_end);

#endif // MICROPY_INCLUDED_VIRT_ROMFS_SEGMENT_H
