// The public `virt` module: virt.Disk, a virtio-blk disk as a MicroPython
// block device (readblocks/writeblocks with offsets, ioctl 1-6), usable with
// vfs.VfsLfs2 and vfs.VfsFat as rp2.Flash or esp32.Partition are.
#include <string.h>

#include "py/mperrno.h"
#include "py/runtime.h"
#include "extmod/vfs.h"

#include "blk_cache.h"
#include "ram_disk.h"
#include "virtio_blk.h"
#include "virt_disks.h"

_Static_assert(VIRTIO_BLK_EIO == MP_EIO && VIRTIO_BLK_ENODEV == MP_ENODEV && VIRTIO_BLK_EINVAL == MP_EINVAL
    && VIRTIO_BLK_EROFS == MP_EROFS && VIRTIO_BLK_ETIMEDOUT == MP_ETIMEDOUT, "virtio_blk errno numbers");

#define DISK_BLOCK_SIZE_DEFAULT (4096)

typedef struct _virt_disk_obj_t {
    mp_obj_base_t base;
    virtio_blk_t *blk;
    uint32_t block_size;
    uint8_t index;
} virt_disk_obj_t;

static void check(int err) {
    if (err < 0) {
        mp_raise_OSError(-err);
    }
}

static void disk_print(const mp_print_t *print, mp_obj_t self_in, mp_print_kind_t kind) {
    virt_disk_obj_t *self = MP_OBJ_TO_PTR(self_in);
    mp_printf(print, "Disk(%u, block_size=%u)", self->index, (unsigned)self->block_size);
}

// Disk(index=0, block_size=4096)
static mp_obj_t disk_make_new(const mp_obj_type_t *type, size_t n_args, size_t n_kw, const mp_obj_t *all_args) {
    enum { ARG_index, ARG_block_size };
    static const mp_arg_t allowed[] = {
        { MP_QSTR_index, MP_ARG_INT, {.u_int = 0} },
        { MP_QSTR_block_size, MP_ARG_KW_ONLY | MP_ARG_INT, {.u_int = DISK_BLOCK_SIZE_DEFAULT} },
    };
    mp_arg_val_t args[MP_ARRAY_SIZE(allowed)];
    mp_arg_parse_all_kw_array(n_args, n_kw, all_args, MP_ARRAY_SIZE(allowed), allowed, args);
    mp_int_t index = args[ARG_index].u_int;
    mp_int_t bs = args[ARG_block_size].u_int;
    virtio_blk_t *blk = virt_disk_get(index);
    if (blk == NULL) {
        mp_raise_OSError(MP_ENODEV);
    }
    if (!blk->ready) {
        mp_raise_msg_varg(&mp_type_OSError, MP_ERROR_TEXT("disk %d unusable: %s"), (int)index,
            blk->error ? blk->error : "device error");
    }
    if (bs < (mp_int_t)blk->blk_size || bs > 65536 || (bs & (bs - 1)) != 0) {
        mp_raise_ValueError(MP_ERROR_TEXT("block_size must be a power of two, at least the disk's, at most 65536"));
    }
    virt_disk_obj_t *self = mp_obj_malloc(virt_disk_obj_t, type);
    self->blk = blk;
    self->block_size = (uint32_t)bs;
    self->index = (uint8_t)index;
    return MP_OBJ_FROM_PTR(self);
}

static int disk_io(void *dev, uint64_t addr, void *buf, size_t len, bool write) {
    return write ? virtio_blk_write(dev, addr, buf, len) : virtio_blk_read(dev, addr, buf, len);
}

static int disk_sectors(virtio_blk_t *blk, uint64_t addr, uint8_t *buf, size_t len, bool write) {
    // What the device would refuse is refused now, not when the gathered
    // writes go out.
    if (!blk->ready) {
        return -VIRTIO_BLK_ENODEV;
    }
    if (write && blk->read_only) {
        return -VIRTIO_BLK_EROFS;
    }
    uint64_t capacity = blk->capacity * VIRTIO_BLK_SECTOR_SIZE;
    return write ? blk_cache_write(blk, capacity, disk_io, addr, buf, len)
        : blk_cache_read(blk, capacity, disk_io, addr, buf, len);
}

// Bytes at any byte address, through the read cache: whole sectors go
// straight to (or from) the caller's buffer, a partial first or last sector
// through a bounce sector (a write reads it first).
static int disk_rw(virtio_blk_t *blk, uint64_t addr, uint8_t *buf, size_t len, bool write) {
    static uint8_t bounce[VIRTIO_BLK_SECTOR_SIZE] __attribute__((aligned(8)));
    while (len > 0) {
        uint32_t in_sector = addr % VIRTIO_BLK_SECTOR_SIZE;
        if (in_sector == 0 && len >= VIRTIO_BLK_SECTOR_SIZE) {
            size_t n = len & ~(size_t)(VIRTIO_BLK_SECTOR_SIZE - 1);
            int err = disk_sectors(blk, addr, buf, n, write);
            if (err) {
                return err;
            }
            addr += n, buf += n, len -= n;
            continue;
        }
        uint64_t base = addr - in_sector;
        size_t n = VIRTIO_BLK_SECTOR_SIZE - in_sector < len ? VIRTIO_BLK_SECTOR_SIZE - in_sector : len;
        int err = disk_sectors(blk, base, bounce, VIRTIO_BLK_SECTOR_SIZE, false);
        if (err == 0 && write) {
            memcpy(bounce + in_sector, buf, n);
            err = disk_sectors(blk, base, bounce, VIRTIO_BLK_SECTOR_SIZE, true);
        } else if (err == 0) {
            memcpy(buf, bounce + in_sector, n);
        }
        if (err) {
            return err;
        }
        addr += n, buf += n, len -= n;
    }
    return 0;
}

static mp_obj_t disk_blocks(size_t n_args, const mp_obj_t *args, bool write) {
    virt_disk_obj_t *self = MP_OBJ_TO_PTR(args[0]);
    mp_int_t block = mp_obj_get_int(args[1]);
    mp_buffer_info_t bufinfo;
    mp_get_buffer_raise(args[2], &bufinfo, write ? MP_BUFFER_READ : MP_BUFFER_WRITE);
    mp_int_t offset = n_args > 3 ? mp_obj_get_int(args[3]) : 0;
    if (block < 0 || offset < 0) {
        mp_raise_OSError(MP_EINVAL);
    }
    uint64_t addr = (uint64_t)block * self->block_size + (uint64_t)offset;
    check(disk_rw(self->blk, addr, bufinfo.buf, bufinfo.len, write));
    return mp_const_none;
}

static mp_obj_t disk_readblocks(size_t n_args, const mp_obj_t *args) {
    return disk_blocks(n_args, args, false);
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(disk_readblocks_obj, 3, 4, disk_readblocks);

static mp_obj_t disk_writeblocks(size_t n_args, const mp_obj_t *args) {
    return disk_blocks(n_args, args, true);
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(disk_writeblocks_obj, 3, 4, disk_writeblocks);

static mp_obj_t disk_ioctl(mp_obj_t self_in, mp_obj_t op_in, mp_obj_t arg_in) {
    virt_disk_obj_t *self = MP_OBJ_TO_PTR(self_in);
    (void)arg_in;
    switch (mp_obj_get_int(op_in)) {
        case MP_BLOCKDEV_IOCTL_INIT:
            return MP_OBJ_NEW_SMALL_INT(self->blk->ready ? 0 : -MP_ENODEV);
        case MP_BLOCKDEV_IOCTL_DEINIT:
        case MP_BLOCKDEV_IOCTL_SYNC: {
            // The gathered writes, then the device's own cache (FLUSH).
            int err = blk_cache_flush(self->blk, disk_io);
            return MP_OBJ_NEW_SMALL_INT(err ? err : virtio_blk_flush(self->blk));
        }
        case MP_BLOCKDEV_IOCTL_BLOCK_COUNT:
            return mp_obj_new_int_from_ull(self->blk->capacity * VIRTIO_BLK_SECTOR_SIZE / self->block_size);
        case MP_BLOCKDEV_IOCTL_BLOCK_SIZE:
            return MP_OBJ_NEW_SMALL_INT(self->block_size);
        case MP_BLOCKDEV_IOCTL_BLOCK_ERASE:
            return MP_OBJ_NEW_SMALL_INT(0); // a disk needs no erase before a write
        default:
            return mp_const_none;
    }
}
static MP_DEFINE_CONST_FUN_OBJ_3(disk_ioctl_obj, disk_ioctl);

static void store_int(mp_obj_t d, qstr key, uint64_t v) {
    mp_obj_dict_store(d, MP_OBJ_NEW_QSTR(key), mp_obj_new_int_from_ull(v));
}

// The device's geometry, features and counters.
static mp_obj_t disk_info(mp_obj_t self_in) {
    virt_disk_obj_t *self = MP_OBJ_TO_PTR(self_in);
    virtio_blk_t *blk = self->blk;
    mp_obj_t d = mp_obj_new_dict(0);
    store_int(d, MP_QSTR_version, (blk->dev.modern ? 2 : 1));
    store_int(d, MP_QSTR_capacity, blk->capacity * VIRTIO_BLK_SECTOR_SIZE);
    store_int(d, MP_QSTR_sector_size, blk->blk_size);
    store_int(d, MP_QSTR_max_request, blk->max_request);
    mp_obj_dict_store(d, MP_OBJ_NEW_QSTR(MP_QSTR_read_only), mp_obj_new_bool(blk->read_only));
    mp_obj_dict_store(d, MP_OBJ_NEW_QSTR(MP_QSTR_flush), mp_obj_new_bool(blk->can_flush));
    store_int(d, MP_QSTR_reads, blk->stats.reads);
    store_int(d, MP_QSTR_writes, blk->stats.writes);
    store_int(d, MP_QSTR_flushes, blk->stats.flushes);
    store_int(d, MP_QSTR_io_errors, blk->stats.io_errors);
    store_int(d, MP_QSTR_irqs, blk->stats.irqs);
    // The read cache is shared by the disks: its counters are of them all.
    store_int(d, MP_QSTR_cache_hits, blk_cache_stats.hits);
    store_int(d, MP_QSTR_cache_misses, blk_cache_stats.misses);
    return d;
}
static MP_DEFINE_CONST_FUN_OBJ_1(disk_info_obj, disk_info);

static const mp_rom_map_elem_t disk_locals_table[] = {
    { MP_ROM_QSTR(MP_QSTR_readblocks), MP_ROM_PTR(&disk_readblocks_obj) },
    { MP_ROM_QSTR(MP_QSTR_writeblocks), MP_ROM_PTR(&disk_writeblocks_obj) },
    { MP_ROM_QSTR(MP_QSTR_ioctl), MP_ROM_PTR(&disk_ioctl_obj) },
    { MP_ROM_QSTR(MP_QSTR_info), MP_ROM_PTR(&disk_info_obj) },
};
static MP_DEFINE_CONST_DICT(disk_locals, disk_locals_table);

static MP_DEFINE_CONST_OBJ_TYPE(
    virt_disk_type, MP_QSTR_Disk, MP_TYPE_FLAG_NONE,
    make_new, disk_make_new,
    print, disk_print,
    locals_dict, &disk_locals
    );

// virt.disk_count(): how many virtio-blk disks QEMU gave (usable or not).
static mp_obj_t virt_disk_count_fn(void) {
    return MP_OBJ_NEW_SMALL_INT(virt_disk_count());
}
static MP_DEFINE_CONST_FUN_OBJ_0(virt_disk_count_obj, virt_disk_count_fn);

static const mp_rom_map_elem_t virt_module_globals_table[] = {
    { MP_ROM_QSTR(MP_QSTR___name__), MP_ROM_QSTR(MP_QSTR_virt) },
    { MP_ROM_QSTR(MP_QSTR_Disk), MP_ROM_PTR(&virt_disk_type) },
    { MP_ROM_QSTR(MP_QSTR_disk_count), MP_ROM_PTR(&virt_disk_count_obj) },
    { MP_ROM_QSTR(MP_QSTR_RAMDisk), MP_ROM_PTR(&virt_ram_disk_type) },
};
static MP_DEFINE_CONST_DICT(virt_module_globals, virt_module_globals_table);

const mp_obj_module_t mp_module_virt_public = {
    .base = { &mp_type_module },
    .globals = (mp_obj_dict_t *)&virt_module_globals,
};

MP_REGISTER_MODULE(MP_QSTR_virt, mp_module_virt_public);
