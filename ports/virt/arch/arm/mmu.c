// The MMU for 32-bit ARM: LPAE long descriptors (ARM DDI 0406C, B3.6), so
// that a device above 4 GiB can be reached through a window.
//
//   0 .. 128 MiB      normal, cacheable: the flash banks (firmware, ROMFS)
//   128 MiB .. 1 GiB  device: GIC, UART, RTC, virtio-mmio, PCIe windows
//   1 .. 3 GiB        normal, cacheable: RAM (QEMU's virt starts it at 1 GiB)
//   3 .. 4 GiB        device: one 1 GiB block of physical addresses above
//                     4 GiB, given out by virt_io_map
//
// QEMU's virt puts the PCIe ECAM at 256 GiB or more when the CPU has LPAE
// ("highmem", the default for cortex-a15), out of reach of 32-bit addresses
// without this. Normal memory also lets unaligned accesses and exclusive
// loads/stores work as architected, which they need not on the
// Strongly-ordered memory every access is with the MMU off.
//
// Everything is mapped in 2 MiB blocks (level 2). With RAM in
// 1 GiB blocks QEMU's TCG ran Python code 20-25 % slower than with the MMU
// off (perf_bench, pystone bytecode 0.76x); with 2 MiB blocks it runs as
// fast (1.00x). QEMU tracks pages larger than its own as one "large page"
// range and flushes its whole TLB when a page in that range is flushed.
#include <stdint.h>

#include "virt_io.h"

#define DESC_BLOCK (0x1)
#define DESC_TABLE (0x3)
#define DESC_ATTR_DEVICE (0 << 2)       // MAIR attr 0
#define DESC_ATTR_NORMAL (1 << 2)       // MAIR attr 1
#define DESC_SH_INNER (3 << 8)
#define DESC_AF (1 << 10)
#define DESC_XN ((uint64_t)3 << 53)     // PXN, XN: never execute from devices
#define BLOCK_NORMAL (DESC_BLOCK | DESC_ATTR_NORMAL | DESC_SH_INNER | DESC_AF)
#define BLOCK_DEVICE (DESC_BLOCK | DESC_ATTR_DEVICE | DESC_AF | DESC_XN)

#define MAIR0_VALUE (0xff04)            // attr 0: Device-nGnRE, attr 1: Normal WB RA/WA
// TTBCR: long descriptors (EAE), T0SZ 0 (TTBR0 translates all 4 GiB), walks
// inner/outer write-back and inner shareable, no TTBR1 walks (EPD1).
#define TTBCR_VALUE ((1u << 31) | (1u << 23) | (3u << 12) | (1u << 10) | (1u << 8))
#define SCTLR_M (1u << 0)
#define SCTLR_A (1u << 1)
#define SCTLR_C (1u << 2)
#define SCTLR_I (1u << 12)

#define GIB ((uint64_t)1 << 30)
#define FLASH_END (128u << 20)

// With T0SZ 0 the first level has four entries and needs 32-byte alignment.
static uint64_t mmu_l1[4] __attribute__((aligned(32)));
static uint64_t mmu_l2[4][512] __attribute__((aligned(4096))); // a table per GiB
static uint64_t high_window_block; // the physical GiB mapped at VIRT_IO_HIGH_WINDOW, or 0

static void tlb_flush(void) {
    __asm volatile (
        "dsb ish\n"
        "mcr p15, 0, %0, c8, c3, 0\n"   // TLBIALLIS
        "mcr p15, 0, %0, c7, c5, 6\n"   // BPIALL
        "dsb ish\n"
        "isb\n" : : "r" (0) : "memory");
}

void virt_mmu_enable(void) {
    for (uint32_t g = 0; g < 3; ++g) {
        for (uint32_t i = 0; i < 512; ++i) {
            uint32_t addr = g * GIB + (i << 21);
            mmu_l2[g][i] = addr | (addr < FLASH_END || addr >= GIB ? BLOCK_NORMAL : BLOCK_DEVICE);
        }
        mmu_l1[g] = (uint32_t)mmu_l2[g] | DESC_TABLE;
    }
    mmu_l1[3] = (uint32_t)mmu_l2[3] | DESC_TABLE; // zero: faults until virt_io_map fills it
    __asm volatile (
        "mcr p15, 0, %0, c10, c2, 0\n"  // MAIR0
        "mcr p15, 0, %1, c10, c2, 1\n"  // MAIR1
        "mcr p15, 0, %2, c2, c0, 2\n"   // TTBCR
        "mcrr p15, 0, %3, %1, c2\n"     // TTBR0 (the table is below 4 GiB)
        "isb\n" : : "r" (MAIR0_VALUE), "r" (0), "r" (TTBCR_VALUE), "r" (mmu_l1) : "memory");
    __asm volatile ("mcr p15, 0, %0, c8, c7, 0" : : "r" (0) : "memory"); // TLBIALL
    uint32_t sctlr;
    __asm volatile ("mrc p15, 0, %0, c1, c0, 0" : "=r" (sctlr));
    sctlr = (sctlr | SCTLR_M | SCTLR_C | SCTLR_I) & ~SCTLR_A; // unaligned accesses allowed
    __asm volatile ("dsb ish\n mcr p15, 0, %0, c1, c0, 0\n isb" : : "r" (sctlr) : "memory");
}

uintptr_t virt_io_map(uint64_t phys, uint64_t size) {
    if (size == 0) {
        return 0;
    }
    uint64_t last = phys + size - 1;
    if (last < phys) {
        return 0;
    }
    if (last < VIRT_RAM_TOP) {
        return (uintptr_t)phys; // mapped one to one
    }
    uint64_t block = phys & ~(GIB - 1);
    if (phys < ((uint64_t)1 << 32) || (last & ~(GIB - 1)) != block
        || (high_window_block != 0 && high_window_block != block)) {
        return 0; // not in one GiB above 4 GiB, or the window is taken
    }
    if (high_window_block == 0) {
        high_window_block = block;
        for (uint32_t i = 0; i < 512; ++i) {
            mmu_l2[3][i] = (block + ((uint64_t)i << 21)) | BLOCK_DEVICE;
        }
        tlb_flush();
    }
    return VIRT_IO_HIGH_WINDOW + (uintptr_t)(phys - block);
}
