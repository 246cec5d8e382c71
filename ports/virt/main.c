// Entry point of the QEMU "virt" port: find the devices in the device tree,
// bring up the console, timer and interrupts, size the heap from the RAM QEMU
// was given, then run frozen boot.py/main.py and the REPL.
#include <stdio.h>

#include "py/compile.h"
#include "py/frozenmod.h"
#include "py/gc.h"
#include "py/mperrno.h"
#include "py/runtime.h"
#include "py/stackctrl.h"
#include "shared/readline/readline.h"
#include "shared/runtime/gchelper.h"
#include "shared/runtime/pyexec.h"
#include "shared/runtime/softtimer.h"

#include "extmod/modnetwork.h"

#include "cpu.h"
#include "fdt.h"
#include "irq.h"
#include "mbedtls_alloc.h"
#include "virt_entropy.h"
#include "heap_areas.h"
#include "lwip_memory.h"
#include "net_raw.h"
#include "network_lan.h"
#include "ram_disk.h"
#include "romfs_segment.h"
#include "rtc.h"
#include "timer.h"
#include "uart.h"
#include "virt.h"
#include "virt_disks.h"
#include "virt_io.h"

// QEMU's RAM size, used only if the device tree lacks a memory node.
#define VIRT_RAM_SIZE_DEFAULT (128 * 1024 * 1024)
#define VIRT_DTB_MAX_SIZE (2 * 1024 * 1024)
// The heap starts as one small GC area; the rest of RAM becomes further areas
// when a collection cannot make room (MICROPY_GC_SPLIT_HEAP_AUTO). Clearing an
// area's allocation tables writes 1/43 of its size: for all of a 256 MiB
// guest's RAM that is 6 MB at boot, and the host pays a page fault and a
// zeroed huge page for each 2 MiB of RAM the guest first touches. So a
// program touches only the RAM its live data needs; gc.mem_free() counts the
// largest area that could still be added.
#define VIRT_GC_FIRST_AREA (2 * 1024 * 1024)
// gc.c sizes an area's tables as bytes * 8 in a size_t: each under 512 MiB.
#define VIRT_GC_AREA_MAX (511 * 1024 * 1024)

// Keep this much of the stack unused by Python for C code and interrupts.
#define VIRT_STACK_MARGIN (8 * 1024)

extern uint8_t _sstack[], _estack[], _heap_start[];

static int virt_exit_code;
static heap_areas_t virt_heap_areas;

// The end of the RAM bank that holds the firmware.
static uintptr_t dt_ram_end(uintptr_t ram_base) {
    uint64_t addr, size;
    for (int node = fdt_find_device_type(FDT_NODE_NONE, "memory"); node != FDT_NODE_NONE;
         node = fdt_find_device_type(node, "memory")) {
        for (int i = 0; fdt_get_reg(node, i, &addr, &size); ++i) {
            if (addr <= (uintptr_t)_heap_start && (uintptr_t)_heap_start < addr + size) {
                uint64_t end = addr + size;
                return end > VIRT_RAM_TOP ? (VIRT_RAM_TOP & ~(uintptr_t)0xfff) : (uintptr_t)end;
            }
        }
    }
    return ram_base + VIRT_RAM_SIZE_DEFAULT;
}

static void virt_devices_init(const void *dtb) {
    bool have_dt = fdt_init(dtb, VIRT_DTB_MAX_SIZE);
    uart_init();
    if (!have_dt) {
        mp_printf(&mp_plat_print, "virt: no device tree at %p, using QEMU defaults\n", dtb);
    }
    if (!virt_irq_init()) {
        mp_printf(&mp_plat_print, "virt: no interrupt controller this firmware runs in the device tree: no interrupts\n");
    }
    timer_init();
    uart_enable_rx_irq();
    rtc_init();
}

// Of [*start, *end), the larger part that is not in [hole_start, hole_end).
static void heap_avoid(uintptr_t *start, uintptr_t *end, uintptr_t hole_start, uintptr_t hole_end) {
    if (hole_end <= hole_start || hole_end <= *start || hole_start >= *end) {
        return;
    }
    uintptr_t below = hole_start > *start ? hole_start - *start : 0;
    uintptr_t above = hole_end < *end ? *end - hole_end : 0;
    if (below >= above) {
        *end = *start + below;
    } else {
        *start = hole_end;
    }
}

void virt_main(const void *dtb) {
    virt_devices_init(dtb);
    // QEMU puts the DTB at RAM's start on ARM (below the image), near its
    // top on RISC-V, and an -initrd ROMFS image halfway up (at most 128 MiB
    // up): the heap is the largest free part of the RAM after the image.
    uintptr_t ram_start = (uintptr_t)_heap_start, ram_end = dt_ram_end(VIRT_RAM_BASE);
    uintptr_t heap_lo = ram_start, heap_hi = ram_end, initrd_start = 0, initrd_end = 0;
    heap_avoid(&heap_lo, &heap_hi, (uintptr_t)dtb, (uintptr_t)dtb + fdt_total_size());
    if (romfs_initrd_range(ram_start, ram_end, &initrd_start, &initrd_end)) {
        heap_avoid(&heap_lo, &heap_hi, initrd_start, initrd_end);
    }
    romfs_segment_init(initrd_start, initrd_end);
    uint8_t *heap_start = (uint8_t *)((heap_lo + 15) & ~(uintptr_t)15);
    uint8_t *heap_end = (uint8_t *)(heap_hi & ~(uintptr_t)15);
    cpu_irq_enable();
    virt_disks_init();
    if (virt_disk_count() == 0) {
        // No disk: the RAM filesystem's region comes off the top of the heap.
        size_t ram_disk_size = ram_disk_size_for(heap_end - heap_start);
        heap_end -= ram_disk_size;
        ram_disk_init(heap_end, ram_disk_size);
    }
    // lwIP's pools and heap: a share of RAM off the top of the heap, before lwip_init.
    size_t lwip_size = virt_lwip_memory_size_for(ram_end - VIRT_RAM_BASE);
    heap_end -= lwip_size;
    virt_lwip_memory_init(heap_end, lwip_size);
    virt_entropy_init(); // before the NIC: a MAC of our own may need it
    network_lan_boot();

    for (;;) {
        mp_stack_set_top(_estack);
        mp_stack_set_limit(_estack - _sstack - VIRT_STACK_MARGIN);
        uint8_t *first_end = heap_end - heap_start > VIRT_GC_FIRST_AREA ? heap_start + VIRT_GC_FIRST_AREA : heap_end;
        gc_init(heap_start, first_end);
        heap_areas_init(&virt_heap_areas, (uintptr_t)first_end, (uintptr_t)heap_end, VIRT_GC_AREA_MAX);
        mp_init();
        // Modules in /lib of the filesystem, as on rp2 and esp32.
        mp_obj_list_append(mp_sys_path, MP_OBJ_NEW_QSTR(MP_QSTR__slash_lib));
        readline_init0();
        mod_network_init();
        if (ram_disk_present()) {
            ram_disk_mount_root();
        }

        // The port's own set-up (the first disk at /, network from the boot
        // arguments), then the user's. Without a NIC or a disk _boot.py has
        // nothing to do, and its imports and first bytecodes are 40 % of the
        // code QEMU translates before the first prompt (~3 ms).
        if ((network_lan_nic(0) != NULL || virt_disk_count() > 0)
            && mp_find_frozen_module("_boot.py", NULL, NULL) == MP_IMPORT_STAT_FILE) {
            pyexec_frozen_module("_boot.py", false);
        }
        // The user's boot.py and main.py: a frozen one (make APP=dir) comes
        // first, else the filesystem's (MicroPython's pyexec_file_if_exists).
        // A SystemExit out of either ends QEMU with its status.
        int ret = pyexec_file_if_exists("boot.py");
        if (ret & PYEXEC_FORCED_EXIT) {
            virt_exit(virt_exit_code);
        }
        if (pyexec_mode_kind == PYEXEC_MODE_FRIENDLY_REPL) {
            ret = pyexec_file_if_exists("main.py");
            if (ret & PYEXEC_FORCED_EXIT) {
                virt_exit(virt_exit_code);
            }
        }

        for (;;) {
            if (pyexec_mode_kind == PYEXEC_MODE_RAW_REPL) {
                if (pyexec_raw_repl() != 0) {
                    break;
                }
            } else {
                if (pyexec_friendly_repl() != 0) {
                    break;
                }
            }
        }

        mp_printf(&mp_plat_print, "MPY: soft reboot\n");
        net_raw_reset();
        network_lan_set_icmp_echo(true);
        mod_network_deinit();
        soft_timer_deinit();
        gc_sweep_all();
        // All GC memory is free now: forget what pointed into it. MicroPython
        // keeps m_tracked_calloc's list across mp_init, and our TLS chunks
        // stay on it when freed by the sweep, not by m_tracked_free: left as
        // is, the next TLS allocation links itself into a freed block.
        virt_mbedtls_alloc_reset();
        MP_STATE_VM(m_tracked_head) = NULL;
        mp_deinit();
    }
}

// Remember the status of a SystemExit so a frozen script can end QEMU with it.
void virt_after_python_exec(void *ret_val, int *ret) {
    if (!(*ret & PYEXEC_FORCED_EXIT) || ret_val == NULL) {
        return;
    }
    mp_obj_t code = mp_obj_exception_get_value(MP_OBJ_FROM_PTR(ret_val));
    if (code == mp_const_none) {
        virt_exit_code = 0;
    } else if (mp_obj_is_int(code)) {
        virt_exit_code = mp_obj_get_int(code);
    } else {
        virt_exit_code = 1;
    }
}

// MICROPY_GC_SPLIT_HEAP_AUTO: further GC areas come from the RAM above the first.
size_t gc_get_max_new_split(void) {
    return heap_areas_max_alloc(&virt_heap_areas);
}

void *virt_heap_area_alloc(size_t size) {
    return heap_areas_alloc(&virt_heap_areas, size);
}

void virt_heap_area_free(void *ptr) {
    heap_areas_free(&virt_heap_areas, ptr);
}

void gc_collect(void) {
    gc_collect_start();
    gc_helper_collect_regs_and_stack();
    soft_timer_gc_mark_all();
    gc_collect_end();
    // TLS chunks left empty, also by the finalisers this collection ran.
    virt_mbedtls_alloc_trim();
}

void nlr_jump_fail(void *val) {
    mp_printf(&mp_plat_print, "FATAL: uncaught NLR %p\n", val);
    virt_exit(1);
}

#ifndef NDEBUG
void __assert_func(const char *file, int line, const char *func, const char *expr) {
    (void)func;
    mp_printf(&mp_plat_print, "Assertion '%s' failed, at file %s:%d\n", expr, file, line);
    virt_exit(1);
}
#endif
