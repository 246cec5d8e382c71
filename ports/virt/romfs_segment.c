// ROMFS segment 0: where QEMU put the host's image.
// - An image given with -initrd: QEMU loads it into RAM and says where in
//   /chosen (linux,initrd-start/-end). virtmp does this on RISC-V, whose
//   virt machine boots the second flash bank instead of -kernel when it is
//   given; main.c keeps the heap out of it.
// - Else QEMU virt's second CFI flash bank (the "cfi-flash" node's second
//   reg entry; the first is where firmware would boot from): a file given
//   with -drive if=pflash,unit=1,readonly=on is mapped there as ROM.
// Either way the image is used in place, as on a board whose ROMFS
// partition sits in memory-mapped flash: its bytecode and data are not
// copied. A read-only virtio disk would have to be copied into RAM first,
// since VfsRom wants memory it can point into.
//
// mp_init mounts segment 0 at /rom (and puts /rom and /rom/lib on sys.path)
// when it holds a ROMFS; without an image the bank reads as zeros and
// nothing is mounted. Writing the segment (mpremote romfs deploy) is not
// supported: images are built on the host (mpremote romfs build) and given
// to QEMU.
#include "py/mperrno.h"
#include "py/objarray.h"
#include "py/runtime.h"
#include "extmod/vfs.h"

#include "fdt.h"
#include "romfs_segment.h"

static MP_DEFINE_MEMORYVIEW_OBJ(romfs_segment, 'B', 0, 0, NULL);

bool romfs_initrd_range(uintptr_t ram_start, uintptr_t ram_end, uintptr_t *start, uintptr_t *end) {
    uint64_t lo, hi;
    int chosen = fdt_find_root_child("chosen");
    if (!fdt_get_number(chosen, "linux,initrd-start", &lo) || !fdt_get_number(chosen, "linux,initrd-end", &hi)
        || lo >= hi || lo < ram_start || hi > ram_end) {
        return false; // none, or not in the free RAM: not used
    }
    *start = (uintptr_t)lo;
    *end = (uintptr_t)hi;
    return true;
}

void romfs_segment_init(uintptr_t initrd_start, uintptr_t initrd_end) {
    if (initrd_start < initrd_end) {
        romfs_segment.items = (void *)initrd_start;
        romfs_segment.len = initrd_end - initrd_start;
        return;
    }
    uint64_t addr, size;
    int node = fdt_find_compatible(FDT_NODE_NONE, "cfi-flash");
    if (node == FDT_NODE_NONE || !fdt_get_reg(node, 1, &addr, &size)) {
        return;
    }
    if (size == 0 || addr > UINTPTR_MAX || size > UINTPTR_MAX - addr) {
        return; // a bank this CPU cannot address
    }
    romfs_segment.items = (void *)(uintptr_t)addr;
    romfs_segment.len = (size_t)size;
}

mp_obj_t mp_vfs_rom_ioctl(size_t n_args, const mp_obj_t *args) {
    bool have_bank = romfs_segment.items != NULL;
    switch (mp_obj_get_int(args[0])) {
        case MP_VFS_ROM_IOCTL_GET_NUMBER_OF_SEGMENTS:
            return MP_OBJ_NEW_SMALL_INT(have_bank ? 1 : 0);
        case MP_VFS_ROM_IOCTL_GET_SEGMENT:
            if (n_args < 2 || mp_obj_get_int(args[1]) != 0 || !have_bank) {
                return MP_OBJ_NEW_SMALL_INT(-MP_EINVAL);
            }
            return MP_OBJ_FROM_PTR(&romfs_segment);
        case MP_VFS_ROM_IOCTL_WRITE_PREPARE:
        case MP_VFS_ROM_IOCTL_WRITE:
        case MP_VFS_ROM_IOCTL_WRITE_COMPLETE:
            return MP_OBJ_NEW_SMALL_INT(-MP_EROFS);
        default:
            return MP_OBJ_NEW_SMALL_INT(-MP_EINVAL);
    }
}
