// The RAM filesystem: a block device over a region of RAM (virt.RAMDisk) and
// its mount at / when QEMU gave no disk, as a board's flash filesystem is
// always there. Nothing in the region is zeroed or touched until written, so
// it costs the host no memory until a program stores files.
#include <string.h>

#include "py/mperrno.h"
#include "py/runtime.h"
#include "extmod/vfs.h"
#include "extmod/vfs_lfs.h"

#include "ram_disk.h"

#define RAM_DISK_BLOCK_SIZE (4096)

typedef struct _virt_ram_disk_obj_t {
    mp_obj_base_t base;
} virt_ram_disk_obj_t;

static uint8_t *ram_disk_base;
static size_t ram_disk_bytes;
// Set once the region holds a filesystem this firmware made (it survives a
// soft reset, the region is not GC memory).
static bool ram_disk_formatted;

static const virt_ram_disk_obj_t ram_disk_obj = { { &virt_ram_disk_type } };

size_t ram_disk_size_for(size_t ram_size) {
    size_t size = ram_size / 8;
    if (size < RAM_DISK_MIN_SIZE) {
        return 0;
    }
    if (size > RAM_DISK_MAX_SIZE) {
        size = RAM_DISK_MAX_SIZE;
    }
    return size & ~(size_t)(RAM_DISK_BLOCK_SIZE - 1);
}

void ram_disk_init(uint8_t *base, size_t size) {
    ram_disk_base = base;
    ram_disk_bytes = size;
}

bool ram_disk_present(void) {
    return ram_disk_bytes != 0;
}

// RAMDisk(): the RAM filesystem's block device (there is one).
static mp_obj_t ram_disk_make_new(const mp_obj_type_t *type, size_t n_args, size_t n_kw, const mp_obj_t *args) {
    mp_arg_check_num(n_args, n_kw, 0, 0, false);
    if (!ram_disk_present()) {
        mp_raise_OSError(MP_ENODEV); // the guest has a disk, so no RAM was set aside
    }
    return MP_OBJ_FROM_PTR(&ram_disk_obj);
}

static mp_obj_t ram_disk_blocks(size_t n_args, const mp_obj_t *args, bool write) {
    mp_int_t block = mp_obj_get_int(args[1]);
    mp_buffer_info_t bufinfo;
    mp_get_buffer_raise(args[2], &bufinfo, write ? MP_BUFFER_READ : MP_BUFFER_WRITE);
    mp_int_t offset = n_args > 3 ? mp_obj_get_int(args[3]) : 0;
    size_t blocks = ram_disk_bytes / RAM_DISK_BLOCK_SIZE;
    if (block < 0 || offset < 0 || (size_t)block >= blocks) {
        mp_raise_OSError(MP_EINVAL);
    }
    size_t addr = (size_t)block * RAM_DISK_BLOCK_SIZE;
    if ((size_t)offset > ram_disk_bytes - addr || bufinfo.len > ram_disk_bytes - addr - offset) {
        mp_raise_OSError(MP_EINVAL);
    }
    if (write) {
        memcpy(ram_disk_base + addr + offset, bufinfo.buf, bufinfo.len);
    } else {
        memcpy(bufinfo.buf, ram_disk_base + addr + offset, bufinfo.len);
    }
    return mp_const_none;
}

static mp_obj_t ram_disk_readblocks(size_t n_args, const mp_obj_t *args) {
    return ram_disk_blocks(n_args, args, false);
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(ram_disk_readblocks_obj, 3, 4, ram_disk_readblocks);

static mp_obj_t ram_disk_writeblocks(size_t n_args, const mp_obj_t *args) {
    return ram_disk_blocks(n_args, args, true);
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(ram_disk_writeblocks_obj, 3, 4, ram_disk_writeblocks);

static mp_obj_t ram_disk_ioctl(mp_obj_t self_in, mp_obj_t op_in, mp_obj_t arg_in) {
    (void)self_in;
    (void)arg_in;
    switch (mp_obj_get_int(op_in)) {
        case MP_BLOCKDEV_IOCTL_INIT:
        case MP_BLOCKDEV_IOCTL_DEINIT:
        case MP_BLOCKDEV_IOCTL_SYNC:
        case MP_BLOCKDEV_IOCTL_BLOCK_ERASE: // RAM needs no erase before a write
            return MP_OBJ_NEW_SMALL_INT(0);
        case MP_BLOCKDEV_IOCTL_BLOCK_COUNT:
            return MP_OBJ_NEW_SMALL_INT(ram_disk_bytes / RAM_DISK_BLOCK_SIZE);
        case MP_BLOCKDEV_IOCTL_BLOCK_SIZE:
            return MP_OBJ_NEW_SMALL_INT(RAM_DISK_BLOCK_SIZE);
        default:
            return mp_const_none;
    }
}
static MP_DEFINE_CONST_FUN_OBJ_3(ram_disk_ioctl_obj, ram_disk_ioctl);

static const mp_rom_map_elem_t ram_disk_locals_table[] = {
    { MP_ROM_QSTR(MP_QSTR_readblocks), MP_ROM_PTR(&ram_disk_readblocks_obj) },
    { MP_ROM_QSTR(MP_QSTR_writeblocks), MP_ROM_PTR(&ram_disk_writeblocks_obj) },
    { MP_ROM_QSTR(MP_QSTR_ioctl), MP_ROM_PTR(&ram_disk_ioctl_obj) },
};
static MP_DEFINE_CONST_DICT(ram_disk_locals, ram_disk_locals_table);

MP_DEFINE_CONST_OBJ_TYPE(
    virt_ram_disk_type, MP_QSTR_RAMDisk, MP_TYPE_FLAG_NONE,
    make_new, ram_disk_make_new,
    locals_dict, &ram_disk_locals
    );

// VfsLfs2(RAMDisk(), ...) with the disk's cache sizes.
static mp_obj_t ram_disk_lfs2(void) {
    mp_obj_t args[] = {
        MP_OBJ_FROM_PTR(&ram_disk_obj),
        MP_OBJ_NEW_QSTR(MP_QSTR_readsize), MP_OBJ_NEW_SMALL_INT(RAM_DISK_BLOCK_SIZE),
        MP_OBJ_NEW_QSTR(MP_QSTR_progsize), MP_OBJ_NEW_SMALL_INT(RAM_DISK_BLOCK_SIZE),
        MP_OBJ_NEW_QSTR(MP_QSTR_lookahead), MP_OBJ_NEW_SMALL_INT(256),
    };
    return mp_call_function_n_kw(MP_OBJ_FROM_PTR(&mp_type_vfs_lfs2), 1, 3, args);
}

static void ram_disk_mkfs(void) {
    mp_obj_t dest[3];
    mp_load_method(MP_OBJ_FROM_PTR(&mp_type_vfs_lfs2), MP_QSTR_mkfs, dest);
    dest[2] = MP_OBJ_FROM_PTR(&ram_disk_obj);
    mp_call_method_n_kw(1, 0, dest);
    ram_disk_formatted = true;
}

// What is mounted at / at boot: a stand-in that makes the littlefs2
// filesystem at its first use (any VFS method), swaps it into its
// mount-table entry and hands the call on. Formatting and mounting littlefs
// cost 6 ms at the first boot (QEMU translating littlefs's code), a sixth
// of the boot to the prompt (A/B: 43.5 against 37.1 ms), which a program
// that never opens a file should not pay. The boot's look for boot.py and
// main.py (import_stat) needs no filesystem while none was made: it is empty.
typedef struct _ram_fs_lazy_obj_t {
    mp_obj_base_t base;
} ram_fs_lazy_obj_t;

static mp_obj_t ram_fs_materialise(mp_obj_t self_in) {
    mp_obj_t fs;
    if (!ram_disk_formatted) {
        ram_disk_mkfs();
    }
    nlr_buf_t nlr;
    if (nlr_push(&nlr) == 0) {
        fs = ram_disk_lfs2();
        nlr_pop();
    } else {
        // A program overwrote the region: it is RAM, start it afresh.
        mp_printf(&mp_plat_print, "virt: RAM filesystem no longer mounts: formatted anew\n");
        ram_disk_mkfs();
        fs = ram_disk_lfs2();
    }
    mp_obj_t dest[2];
    mp_load_method(fs, MP_QSTR_mount, dest);
    mp_obj_t mount_args[] = { dest[0], dest[1], mp_const_false, mp_const_false };
    mp_call_method_n_kw(2, 0, mount_args);
    for (mp_vfs_mount_t *vfs = MP_STATE_VM(vfs_mount_table); vfs != NULL; vfs = vfs->next) {
        if (vfs->obj == self_in) {
            vfs->obj = fs;
        }
    }
    return fs;
}

static void ram_fs_lazy_attr(mp_obj_t self_in, qstr attr, mp_obj_t *dest) {
    if (dest[0] != MP_OBJ_NULL) {
        return; // no stores or deletes
    }
    mp_load_method_maybe(ram_fs_materialise(self_in), attr, dest);
}

static mp_import_stat_t ram_fs_lazy_import_stat(void *self, const char *path) {
    if (!ram_disk_formatted) {
        return MP_IMPORT_STAT_NO_EXIST; // nothing was written since power-on
    }
    mp_obj_t fs = ram_fs_materialise(MP_OBJ_FROM_PTR(self));
    const mp_vfs_proto_t *proto = MP_OBJ_TYPE_GET_SLOT(mp_obj_get_type(fs), protocol);
    return proto->import_stat(MP_OBJ_TO_PTR(fs), path);
}

static const mp_vfs_proto_t ram_fs_lazy_proto = {
    .import_stat = ram_fs_lazy_import_stat,
};

static void ram_fs_lazy_print(const mp_print_t *print, mp_obj_t self_in, mp_print_kind_t kind) {
    mp_printf(print, "<RAM filesystem: VfsLfs2 on virt.RAMDisk() at first use>");
}

static MP_DEFINE_CONST_OBJ_TYPE(
    ram_fs_lazy_type, MP_QSTR_RAMFilesystem, MP_TYPE_FLAG_NONE,
    print, ram_fs_lazy_print,
    attr, ram_fs_lazy_attr,
    protocol, &ram_fs_lazy_proto
    );

// The stand-in goes straight into the mount table (after anything mounted
// elsewhere, as vfs.mount() keeps / last): vfs.mount()'s argument parsing
// and path checks are a millisecond of code to translate at boot (A/B).
void ram_disk_mount_root(void) {
    ram_fs_lazy_obj_t *lazy = mp_obj_malloc(ram_fs_lazy_obj_t, &ram_fs_lazy_type);
    mp_vfs_mount_t *root = m_new_obj(mp_vfs_mount_t);
    root->str = "/";
    root->len = 1;
    root->obj = MP_OBJ_FROM_PTR(lazy);
    root->next = NULL;
    mp_vfs_mount_t **last = &MP_STATE_VM(vfs_mount_table);
    while (*last != NULL) {
        last = &(*last)->next;
    }
    *last = root;
}
