// RISC-V CPU services: the timer's rate and compare value, firmware power
// control and IDs. In S-mode they are SBI calls (RISC-V SBI specification
// v1.0: the TIME, SRST and base extensions); in M-mode the timer is the
// CLINT's mtimecmp and the IDs are CSRs.
#include <stddef.h>

#include "cpu.h"
#include "fdt.h"
#include "virt_io.h"

#define TIMEBASE_DEFAULT (10000000) // QEMU virt's, if the tree lacks it

uintptr_t virt_cpu_hartid;

static uint32_t timebase_freq;

uint32_t cpu_counter_freq(void) {
    if (timebase_freq == 0) {
        uint32_t f;
        int cpus = fdt_find_root_child("cpus");
        timebase_freq = cpus != FDT_NODE_NONE && fdt_get_u32(cpus, "timebase-frequency", &f) && f != 0
            ? f : TIMEBASE_DEFAULT;
    }
    return timebase_freq;
}

#if RISCV_MMODE

// CLINT (SiFive's core-local interruptor): mtimecmp of hart h at 0x4000 + 8 * h.
#define CLINT_MTIMECMP (0x4000)
#define VIRT_CLINT_BASE_DEFAULT (0x02000000)

static uintptr_t clint_base;

void cpu_timer_set_compare(uint64_t cval) {
    if (clint_base == 0) {
        uint64_t addr, size;
        int node = fdt_find_compatible(FDT_NODE_NONE, "riscv,clint0");
        if (node == FDT_NODE_NONE) {
            node = fdt_find_compatible(FDT_NODE_NONE, "sifive,clint0");
        }
        clint_base = node != FDT_NODE_NONE && fdt_get_reg(node, 0, &addr, &size) ? (uintptr_t)addr : VIRT_CLINT_BASE_DEFAULT;
    }
    uintptr_t reg = clint_base + CLINT_MTIMECMP + 8 * virt_cpu_hartid;
    #if __riscv_xlen == 32
    // Never let the compare pass through a value below both halves' targets.
    virt_io_write32(reg + 4, 0xffffffff);
    virt_io_write32(reg, (uint32_t)cval);
    virt_io_write32(reg + 4, (uint32_t)(cval >> 32));
    #else
    *(volatile uint64_t *)reg = cval;
    #endif
}

void cpu_system_off(void) {
}

void cpu_system_reset(void) {
}

void cpu_unique_id(uint32_t id[2]) {
    id[0] = (uint32_t)cpu_csr_read(marchid);
    id[1] = (uint32_t)virt_cpu_hartid;
}

#else

#define SBI_EXT_BASE (0x10)
#define SBI_BASE_GET_MARCHID (5)
#define SBI_EXT_TIME (0x54494d45)
#define SBI_TIME_SET_TIMER (0)
#define SBI_EXT_SRST (0x53525354)
#define SBI_SRST_RESET (0)
#define SBI_SRST_TYPE_SHUTDOWN (0)
#define SBI_SRST_TYPE_COLD_REBOOT (1)

typedef struct {
    intptr_t error;
    uintptr_t value;
} sbi_ret_t;

static sbi_ret_t sbi_call(uintptr_t ext, uintptr_t fid, uintptr_t arg0, uintptr_t arg1) {
    register uintptr_t a0 __asm__ ("a0") = arg0;
    register uintptr_t a1 __asm__ ("a1") = arg1;
    register uintptr_t a6 __asm__ ("a6") = fid;
    register uintptr_t a7 __asm__ ("a7") = ext;
    __asm volatile ("ecall" : "+r" (a0), "+r" (a1) : "r" (a6), "r" (a7) : "memory");
    return (sbi_ret_t) { (intptr_t)a0, a1 };
}

void cpu_timer_set_compare(uint64_t cval) {
    #if __riscv_xlen == 32
    sbi_call(SBI_EXT_TIME, SBI_TIME_SET_TIMER, (uint32_t)cval, (uint32_t)(cval >> 32));
    #else
    sbi_call(SBI_EXT_TIME, SBI_TIME_SET_TIMER, cval, 0);
    #endif
}

// Return only if the firmware lacks the SRST extension.
void cpu_system_off(void) {
    sbi_call(SBI_EXT_SRST, SBI_SRST_RESET, SBI_SRST_TYPE_SHUTDOWN, 0);
}

void cpu_system_reset(void) {
    sbi_call(SBI_EXT_SRST, SBI_SRST_RESET, SBI_SRST_TYPE_COLD_REBOOT, 0);
}

void cpu_unique_id(uint32_t id[2]) {
    sbi_ret_t r = sbi_call(SBI_EXT_BASE, SBI_BASE_GET_MARCHID, 0, 0);
    id[0] = r.error == 0 ? (uint32_t)r.value : 0;
    id[1] = (uint32_t)virt_cpu_hartid;
}

#endif
