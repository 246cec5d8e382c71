// Start-up and exception vectors for AArch64 on QEMU "virt".
//
// QEMU enters _start at EL1 (EL2 with virtualization=on: we drop to EL1)
// with the MMU and caches off. We set the vector base, enable FP/SIMD, zero
// .bss, map memory one to one with the MMU (mmu.S) so that normal memory is
// cacheable and unaligned accesses work, and call virt_main(). Exceptions
// are taken on the one stack (SP_EL1); IRQ handlers may use FP/SIMD
// registers, so the caller-saved ones are preserved around them.

    .equ CURRENTEL_EL2, (2 << 2)
    .equ HCR_EL2_RW, (1 << 31)          // EL1 is AArch64
    .equ SPSR_EL1H_MASKED, 0x3c5        // EL1h, D, A, I, F masked
    .equ CPACR_FPEN, (3 << 20)

    .section .vectors, "ax"
    .balign 2048
    .global virt_vectors
virt_vectors:
    // From EL1 with SP_EL0: not used.
    .balign 0x80
    b unexpected_entry
    .balign 0x80
    b unexpected_entry
    .balign 0x80
    b unexpected_entry
    .balign 0x80
    b unexpected_entry
    // From EL1 with SP_EL1: ours.
    .balign 0x80
    b sync_entry
    .balign 0x80
    b irq_entry
    .balign 0x80
    b unexpected_entry
    .balign 0x80
    b unexpected_entry
    // From EL0 (AArch64, AArch32): not used.
    .rept 8
    .balign 0x80
    b unexpected_entry
    .endr

    .text
    .global _start
    .type _start, %function
_start:
    msr daifset, #0xf
    mrs x0, CurrentEL
    cmp x0, #CURRENTEL_EL2
    b.ne 1f
    // At EL2: EL1 in AArch64, the timers and counters open to it, then drop.
    mov x0, #HCR_EL2_RW
    msr hcr_el2, x0
    mrs x0, cnthctl_el2
    orr x0, x0, #3
    msr cnthctl_el2, x0
    msr cntvoff_el2, xzr
    mov x0, #SPSR_EL1H_MASKED
    msr spsr_el2, x0
    adr x0, 1f
    msr elr_el2, x0
    eret
1:
    ldr x0, =virt_vectors
    msr vbar_el1, x0
    mov x0, #CPACR_FPEN
    msr cpacr_el1, x0
    isb
    ldr x0, =_estack
    mov sp, x0

    // Zero .bss (16-byte aligned by the linker script): aligned stores only,
    // the MMU is still off and memory is Device memory until it is on.
    ldr x0, =_sbss
    ldr x1, =_ebss
2:  cmp x0, x1
    b.hs 3f
    stp xzr, xzr, [x0], #16
    b 2b
3:
    bl virt_mmu_enable
    // picolibc's thread-local block (errno): initial values, then TPIDR_EL0.
    ldr x0, =__tls_base
    bl _init_tls
    ldr x0, =__tls_base
    bl _set_tls

    ldr x0, =_ram_base
    bl virt_main
4:  wfi
    b 4b
    .size _start, . - _start

// x0-x17 at sp + 0 .. 143, the start of both exception frames.
    .macro save_x0_x17
    stp x0, x1, [sp, #0]
    stp x2, x3, [sp, #16]
    stp x4, x5, [sp, #32]
    stp x6, x7, [sp, #48]
    stp x8, x9, [sp, #64]
    stp x10, x11, [sp, #80]
    stp x12, x13, [sp, #96]
    stp x14, x15, [sp, #112]
    stp x16, x17, [sp, #128]
    .endm
    .macro restore_x0_x17
    ldp x0, x1, [sp, #0]
    ldp x2, x3, [sp, #16]
    ldp x4, x5, [sp, #32]
    ldp x6, x7, [sp, #48]
    ldp x8, x9, [sp, #64]
    ldp x10, x11, [sp, #80]
    ldp x12, x13, [sp, #96]
    ldp x14, x15, [sp, #112]
    ldp x16, x17, [sp, #128]
    .endm

// The registers an IRQ handler (C, AAPCS64) may change: x0-x18, x29, x30,
// q0-q7, q16-q31, FPCR, FPSR; and ELR/SPSR for the return. The frame:
// x0-x18, x29 at 0; x30, ELR at 160; SPSR, FPCR at 176; FPSR at 192; the
// q registers from 208.
    .equ IRQ_FRAME, 592
irq_entry:
    sub sp, sp, #IRQ_FRAME
    save_x0_x17
    stp x18, x29, [sp, #144]
    mrs x0, elr_el1
    stp x30, x0, [sp, #160]
    mrs x0, spsr_el1
    mrs x1, fpcr
    stp x0, x1, [sp, #176]
    mrs x0, fpsr
    str x0, [sp, #192]
    add x0, sp, #208
    stp q0, q1, [x0, #0]
    stp q2, q3, [x0, #32]
    stp q4, q5, [x0, #64]
    stp q6, q7, [x0, #96]
    stp q16, q17, [x0, #128]
    stp q18, q19, [x0, #160]
    stp q20, q21, [x0, #192]
    stp q22, q23, [x0, #224]
    stp q24, q25, [x0, #256]
    stp q26, q27, [x0, #288]
    stp q28, q29, [x0, #320]
    stp q30, q31, [x0, #352]
    bl virt_irq_dispatch
    add x0, sp, #208
    ldp q0, q1, [x0, #0]
    ldp q2, q3, [x0, #32]
    ldp q4, q5, [x0, #64]
    ldp q6, q7, [x0, #96]
    ldp q16, q17, [x0, #128]
    ldp q18, q19, [x0, #160]
    ldp q20, q21, [x0, #192]
    ldp q22, q23, [x0, #224]
    ldp q24, q25, [x0, #256]
    ldp q26, q27, [x0, #288]
    ldp q28, q29, [x0, #320]
    ldp q30, q31, [x0, #352]
    ldr x0, [sp, #192]
    msr fpsr, x0
    ldp x0, x1, [sp, #176]
    msr spsr_el1, x0
    msr fpcr, x1
    ldp x30, x0, [sp, #160]
    msr elr_el1, x0
    restore_x0_x17
    ldp x18, x29, [sp, #144]
    add sp, sp, #IRQ_FRAME
    eret

// Synchronous exceptions: x0-x30 and ELR saved (x0-x30 at 0, ELR at 248),
// then virt_sync_handler(frame). It returns only for a trapped semihosting
// call (semihosting off in QEMU), having stepped ELR past the HLT; a fault
// is reported and ends QEMU.
    .equ SYNC_FRAME, 256
sync_entry:
    sub sp, sp, #SYNC_FRAME
    save_x0_x17
    stp x18, x19, [sp, #144]
    stp x20, x21, [sp, #160]
    stp x22, x23, [sp, #176]
    stp x24, x25, [sp, #192]
    stp x26, x27, [sp, #208]
    stp x28, x29, [sp, #224]
    mrs x0, elr_el1
    stp x30, x0, [sp, #240]
    mov x0, sp
    bl virt_sync_handler
    ldp x30, x0, [sp, #240]
    msr elr_el1, x0
    restore_x0_x17
    ldp x18, x19, [sp, #144]
    ldp x20, x21, [sp, #160]
    ldp x22, x23, [sp, #176]
    ldp x24, x25, [sp, #192]
    ldp x26, x27, [sp, #208]
    ldp x28, x29, [sp, #224]
    add sp, sp, #SYNC_FRAME
    eret

// FIQ, SError, and anything from SP_EL0 or EL0: fatal.
unexpected_entry:
    sub sp, sp, #SYNC_FRAME
    stp x0, x1, [sp, #0]
    mrs x0, elr_el1
    str x0, [sp, #248]
    mov x0, sp
    bl virt_unexpected_handler   // does not return
    b .

// uint32_t virt_semihosting_call(uint32_t op, void *arg)
// Returns op unchanged when semihosting is not enabled in QEMU: the HLT then
// traps and virt_sync_handler steps over it.
    .global virt_semihosting_call
    .type virt_semihosting_call, %function
virt_semihosting_call:
    hlt #0xf000
    ret
    .size virt_semihosting_call, . - virt_semihosting_call
