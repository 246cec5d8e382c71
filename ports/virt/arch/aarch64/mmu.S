// The MMU for AArch64: one identity map of the first TiB of physical
// addresses, 4 KiB granule, 48-bit virtual addresses (ARM DDI 0487, D8).
//
//   0 .. 128 MiB      normal, cacheable: the flash banks (firmware, ROMFS)
//   128 MiB .. 1 GiB  device (nGnRE): GIC, UART, RTC, virtio-mmio, PCIe windows
//   1 .. 256 GiB      normal, cacheable: RAM (QEMU's virt starts it at 1 GiB)
//   256 GiB .. 1 TiB  device: PCIe ECAM and high MMIO of virt's "highmem"
//
// With the MMU off every data access is Device memory, where unaligned
// accesses fault and nothing is cached; C code from MicroPython, lwIP and
// mbedTLS needs normal memory. Blocks are 1 GiB (level 1) except the first
// GiB, in 2 MiB blocks (level 2).

    .equ MAIR_VALUE, 0xff04             // attr 0: Device-nGnRE, attr 1: Normal WB RA/WA
    .equ DESC_TABLE, 0x3
    .equ DESC_BLOCK, 0x1
    .equ DESC_AF, (1 << 10)
    .equ DESC_SH_INNER, (3 << 8)
    .equ DESC_ATTR_NORMAL, (1 << 2)
    .equ BLOCK_NORMAL, (DESC_BLOCK | DESC_ATTR_NORMAL | DESC_SH_INNER | DESC_AF)
    .equ BLOCK_DEVICE_LO, (DESC_BLOCK | DESC_AF)
    .equ BLOCK_DEVICE_XN, (3 << 53)     // PXN, UXN: never execute from devices
    // TCR_EL1: T0SZ 16 (48-bit), inner/outer WB WA walks, inner shareable,
    // 4 KiB granule, no TTBR1 walks (EPD1); IPS is set from the CPU's PARange.
    .equ TCR_VALUE, (16 | (1 << 8) | (1 << 10) | (3 << 12) | (1 << 23))
    .equ SCTLR_M, (1 << 0)
    .equ SCTLR_A, (1 << 1)
    .equ SCTLR_C, (1 << 2)
    .equ SCTLR_I, (1 << 12)

    .section .bss.pagetables, "aw", %nobits
    .balign 4096
mmu_l0:
    .space 4096
mmu_l1_low:                             // 0 .. 512 GiB
    .space 4096
mmu_l1_high:                            // 512 GiB .. 1 TiB
    .space 4096
mmu_l2_first:                           // 0 .. 1 GiB
    .space 4096

    .text
    .global virt_mmu_enable
    .type virt_mmu_enable, %function
virt_mmu_enable:
    // Level 0: two tables.
    ldr x0, =mmu_l0
    ldr x1, =mmu_l1_low
    orr x1, x1, #DESC_TABLE
    str x1, [x0]
    ldr x1, =mmu_l1_high
    orr x1, x1, #DESC_TABLE
    str x1, [x0, #8]

    // Level 2 for the first GiB: 64 normal 2 MiB blocks, then devices.
    ldr x0, =mmu_l2_first
    mov x2, #0                          // block index
    ldr x4, =BLOCK_NORMAL
    ldr x5, =(BLOCK_DEVICE_LO | BLOCK_DEVICE_XN)
1:  lsl x3, x2, #21
    cmp x2, #64
    csel x6, x4, x5, lo
    orr x3, x3, x6
    str x3, [x0, x2, lsl #3]
    add x2, x2, #1
    cmp x2, #512
    b.lo 1b

    // Level 1, low: the first GiB through level 2, RAM up to 256 GiB, then devices.
    ldr x0, =mmu_l1_low
    ldr x1, =mmu_l2_first
    orr x1, x1, #DESC_TABLE
    str x1, [x0]
    mov x2, #1
2:  lsl x3, x2, #30
    cmp x2, #256
    csel x6, x4, x5, lo
    orr x3, x3, x6
    str x3, [x0, x2, lsl #3]
    add x2, x2, #1
    cmp x2, #512
    b.lo 2b

    // Level 1, high: devices.
    ldr x0, =mmu_l1_high
    mov x2, #0
3:  add x3, x2, #512
    lsl x3, x3, #30
    orr x3, x3, x5
    str x3, [x0, x2, lsl #3]
    add x2, x2, #1
    cmp x2, #512
    b.lo 3b

    ldr x0, =MAIR_VALUE
    msr mair_el1, x0
    // IPS = min(PARange, 48 bits).
    mrs x1, id_aa64mmfr0_el1
    and x1, x1, #0xf
    cmp x1, #5
    mov x2, #5
    csel x1, x1, x2, lo
    ldr x0, =TCR_VALUE
    orr x0, x0, x1, lsl #32
    msr tcr_el1, x0
    ldr x0, =mmu_l0
    msr ttbr0_el1, x0
    dsb ish
    isb
    tlbi vmalle1
    dsb ish
    isb
    mrs x0, sctlr_el1
    ldr x1, =(SCTLR_M | SCTLR_C | SCTLR_I)
    orr x0, x0, x1
    bic x0, x0, #SCTLR_A                // unaligned accesses allowed
    msr sctlr_el1, x0
    isb
    ret
    .size virt_mmu_enable, . - virt_mmu_enable
