// MicroPython configuration for the QEMU "virt" port.
#include <stddef.h>
#include <stdint.h>
#include <alloca.h>

#include "mpconfigboard.h"

// A board with megabytes of RAM: the full feature set.
#define MICROPY_CONFIG_ROM_LEVEL            (MICROPY_CONFIG_ROM_LEVEL_EXTRA_FEATURES)

// Compiler and emitters.
#if defined(__ARM_ARCH_ISA_THUMB) && defined(__thumb__)
#define MICROPY_EMIT_THUMB                  (1)
#define MICROPY_EMIT_THUMB_ARMV7M           (1)
#define MICROPY_EMIT_INLINE_THUMB           (1)
#define MICROPY_EMIT_INLINE_THUMB_FLOAT     (1)
#define MICROPY_MAKE_POINTER_CALLABLE(p)    ((void *)((mp_uint_t)(p) | 1))
#endif
#if defined(__riscv) && __riscv_xlen == 32
#define MICROPY_EMIT_RV32                   (1)
#define MICROPY_EMIT_INLINE_RV32            (1)
#endif
#define MICROPY_PERSISTENT_CODE_LOAD        (1)

// Memory.
#define MICROPY_ENABLE_GC                   (1)
#define MICROPY_GC_SPLIT_HEAP               (1)
#define MICROPY_GC_SPLIT_HEAP_AUTO          (1) // grow from a small first area: see main.c
#define MP_PLAT_ALLOC_HEAP(size)            virt_heap_area_alloc(size)
#define MP_PLAT_FREE_HEAP(ptr)              virt_heap_area_free(ptr)
#define MICROPY_ENABLE_FINALISER            (1)
#define MICROPY_ENABLE_EMERGENCY_EXCEPTION_BUF (1)
#define MICROPY_EMERGENCY_EXCEPTION_BUF_SIZE (256)
#define MICROPY_STACK_CHECK                 (1)
#define MICROPY_MALLOC_USES_ALLOCATED_SIZE  (1)
#define MICROPY_MEM_STATS                   (1)

// Numbers: the CPU has double-precision VFP.
#define MICROPY_LONGINT_IMPL                (MICROPY_LONGINT_IMPL_MPZ)
#define MICROPY_FLOAT_IMPL                  (MICROPY_FLOAT_IMPL_DOUBLE)

// REPL and the runtime.
#define MICROPY_HELPER_REPL                 (1)
#define MICROPY_REPL_INFO                   (1)
#define MICROPY_KBD_EXCEPTION               (1)
#define MICROPY_ENABLE_SCHEDULER            (1)
#define MICROPY_SCHEDULER_DEPTH             (8)
#define MICROPY_WARNINGS                    (1)
#define MICROPY_USE_INTERNAL_PRINTF         (1)
#define MICROPY_USE_INTERNAL_ERRNO          (1)
#define MICROPY_READER_VFS                  (1)
#define MICROPY_VFS                         (1)
// Filesystems (MICROPY_VFS_LFS2/FAT come from the Makefile): FAT with long
// names and 512..4096-byte sectors, as esp32 and rp2 build it.
#define MICROPY_FATFS_ENABLE_LFN            (1)
#define MICROPY_FATFS_LFN_CODE_PAGE         437
#define MICROPY_FATFS_RPATH                 (2)
#define MICROPY_FATFS_MAX_SS                (4096)
#define MICROPY_PY_OS_SYNC                  (1)
// ROMFS (vfs.VfsRom, vfs.rom_ioctl) from the second flash bank, at /rom.
#define MICROPY_VFS_ROM                     (1)
#define MICROPY_VFS_ROM_IOCTL               (1)

// Modules.
#define MICROPY_PY_SYS_PLATFORM             "virt"
#define MICROPY_PY_SYS_STDFILES             (1)
#define MICROPY_PY_SYS_STDIO_BUFFER         (1)
#define MICROPY_PY_SYS_EXIT                 (1)
#define MICROPY_PY_OS_UNAME                 (1)
#define MICROPY_EPOCH_IS_1970               (1)
#define MICROPY_PY_TIME_GMTIME_LOCALTIME_MKTIME (1)
#define MICROPY_PY_TIME_TIME_TIME_NS        (1)
#define MICROPY_PY_TIME_INCLUDEFILE         "modtime_virt.c"
#define MICROPY_PY_RANDOM_SEED_INIT_FUNC    (mp_hal_random_seed())
// Entropy (virt_entropy.c: virtio-rng, else timer jitter) for os.urandom.
#define MICROPY_PY_OS_URANDOM               (1)
#define MICROPY_PY_OS_INCLUDEFILE           "modos_virt.c"
// TLS: MicroPython's ssl/tls on mbedTLS (MICROPY_SSL_MBEDTLS from the
// Makefile, mbedtls/mbedtls_config_port.h), its hashes and ciphers too.
#define MICROPY_PY_SSL                      (1)
#define MICROPY_TRACKED_ALLOC               (1)
#define MICROPY_PY_HASHLIB_MD5              (1)
#define MICROPY_PY_HASHLIB_SHA1             (1)
#define MICROPY_PY_CRYPTOLIB                (1)
#define MICROPY_PY_MACHINE                  (1)
#define MICROPY_PY_MACHINE_INCLUDEFILE      "modmachine_virt.c"
#define MICROPY_PY_MACHINE_RESET            (1)
#define MICROPY_PY_MACHINE_BARE_METAL_FUNCS (1)
#define MICROPY_PY_MACHINE_DISABLE_IRQ_ENABLE_IRQ (1)
#define MICROPY_PY_MACHINE_TIMER            (1)
#define MICROPY_PY_MACHINE_EXTRA_GLOBALS \
    { MP_ROM_QSTR(MP_QSTR_Timer), MP_ROM_PTR(&machine_timer_type) },
#define MICROPY_PY_MACHINE_PIN_BASE         (1)
#define MICROPY_PY_SELECT                   (1)
#define MICROPY_PY_ASYNCIO                  (1)

// Networking: lwIP on the virtio-net device (network_lan.c).
#define MICROPY_PY_NETWORK                  (1)
#define MICROPY_PY_NETWORK_HOSTNAME_DEFAULT "mpy-virt"
#define MICROPY_PY_SOCKET                   (1)
#define MICROPY_PY_LWIP_SOCK_RAW            (1)
#define MICROPY_PY_WEBSOCKET                (1)
#define MICROPY_PORT_NETWORK_INTERFACES \
    { MP_ROM_QSTR(MP_QSTR_LAN), MP_ROM_PTR(&network_lan_type) },
// lwIP runs at thread level (network_lan.c): scheduled from the NIC and tick
// interrupts, and in every wait; calls into it mask interrupts.
#define MICROPY_PY_LWIP_ENTER               virt_lwip_lock();
#define MICROPY_PY_LWIP_REENTER             virt_lwip_lock();
#define MICROPY_PY_LWIP_EXIT                virt_lwip_unlock();
#define MICROPY_SCHEDULER_STATIC_NODES      (1)
#define MICROPY_INTERNAL_EVENT_HOOK         network_lan_poll()
extern const struct _mp_obj_type_t network_lan_type;
void virt_lwip_lock(void);
void virt_lwip_unlock(void);
void network_lan_poll(void);

// Wait for an interrupt when idle, for at most timeout_ms (-1: no limit).
#define MICROPY_INTERNAL_WFE(TIMEOUT_MS)    mp_hal_wait_for_event(TIMEOUT_MS)

// Atomic sections: mask IRQs.
#define MICROPY_BEGIN_ATOMIC_SECTION()      mp_hal_irq_save()
#define MICROPY_END_ATOMIC_SECTION(state)   mp_hal_irq_restore(state)

// The soft-timer queue is also touched from the timer interrupt.
#define MICROPY_PY_PENDSV_ENTER             uint32_t atomic_state = mp_hal_irq_save()
#define MICROPY_PY_PENDSV_EXIT              mp_hal_irq_restore(atomic_state)

// Keep the exit code of a SystemExit raised by a frozen script (see main.c).
#define MICROPY_BOARD_AFTER_PYTHON_EXEC(input_kind, exec_flags, ret_val, ret) \
    virt_after_python_exec((ret_val), (ret))

// Type definitions for the specific machine.
#define MP_SSIZE_MAX                        (INTPTR_MAX)
typedef intptr_t mp_int_t;   // must be pointer size
typedef uintptr_t mp_uint_t; // must be pointer size
typedef long mp_off_t;

#define MP_STATE_PORT MP_STATE_VM

// MicroPython's libm_dbl has no log2 function (arch.mk says which libm).
#ifndef MP_NEED_LOG2
#define MP_NEED_LOG2 (1)
#endif

void virt_after_python_exec(void *ret_val, int *ret);
void *virt_heap_area_alloc(size_t size);
void virt_heap_area_free(void *ptr);
uint32_t mp_hal_random_seed(void);
