// Start-up and exception vectors for 32-bit ARM (ARMv7-A) on QEMU "virt".
//
// QEMU enters _start in SVC mode with the MMU and caches off. We set up the
// vector base, the exception-mode stacks and VFP/NEON, zero .bss, turn the
// MMU on (mmu.c) and call virt_main(). IRQs are handled on the exception
// stack; the C handler may use VFP registers, so the caller-saved ones are
// preserved around it.

    .syntax unified
    .arm

    .equ MODE_IRQ, 0x12
    .equ MODE_SVC, 0x13
    .equ MODE_ABT, 0x17
    .equ MODE_UND, 0x1b
    .equ FPEXC_EN, (1 << 30)

    .section .vectors, "ax"
    .align 5
    .global virt_vectors
virt_vectors:
    b _start
    b und_entry
    b svc_entry
    b pabt_entry
    b dabt_entry
    b .
    b irq_entry
    b fiq_entry

    .text
    .global _start
    .type _start, %function
_start:
    cpsid if
    // Exceptions go to our table (SCTLR.V = 0, VBAR) and are taken in ARM state.
    ldr r0, =virt_vectors
    mcr p15, 0, r0, c12, c0, 0
    mrc p15, 0, r0, c1, c0, 0
    bic r0, r0, #(1 << 13)      // SCTLR.V: low vectors via VBAR
    bic r0, r0, #(1 << 30)      // SCTLR.TE: exceptions in ARM state
    mcr p15, 0, r0, c1, c0, 0
    isb

    // One small stack is shared by IRQ, abort and undefined modes: IRQs are
    // not nested and a fault there is fatal.
    ldr r0, =_exc_stack_top
    cps #MODE_IRQ
    mov sp, r0
    cps #MODE_ABT
    mov sp, r0
    cps #MODE_UND
    mov sp, r0
    cps #MODE_SVC
    ldr sp, =_estack

    // Enable VFP/NEON: full access to cp10/cp11, then FPEXC.EN.
    mrc p15, 0, r0, c1, c0, 2
    orr r0, r0, #(0xf << 20)
    mcr p15, 0, r0, c1, c0, 2
    isb
    mov r0, #FPEXC_EN
    vmsr fpexc, r0

    // Zero .bss.
    ldr r0, =_sbss
    ldr r1, =_ebss
    mov r2, #0
    mov r3, #0
1:  cmp r0, r1
    strdlo r2, r3, [r0], #8
    blo 1b

    bl virt_mmu_enable          // normal memory cacheable, devices as devices (mmu.c)
    ldr r0, =_ram_base
    bl virt_main
2:  wfi
    b 2b
    .size _start, . - _start

irq_entry:
    sub lr, lr, #4
    srsdb sp!, #MODE_IRQ        // save return address and SPSR
    push {r0-r3, r12, lr}
    vpush {d0-d7}
    vpush {d16-d31}
    vmrs r0, fpscr
    push {r0, r1}               // keep the stack 8-byte aligned
    bl virt_irq_dispatch
    pop {r0, r1}
    vmsr fpscr, r0
    vpop {d16-d31}
    vpop {d0-d7}
    pop {r0-r3, r12, lr}
    rfeia sp!

// An SVC returns at once. virt_semihosting_call relies on this: when QEMU
// has semihosting disabled its trap arrives here and the call is a no-op.
svc_entry:
    movs pc, lr

und_entry:
    push {r0-r12, lr}
    mov r0, #0
    b fault_common
pabt_entry:
    push {r0-r12, lr}
    mov r0, #1
    b fault_common
dabt_entry:
    push {r0-r12, lr}
    mov r0, #2
    b fault_common
fiq_entry:
    push {r0-r12, lr}
    mov r0, #3
fault_common:
    mov r1, sp                  // r1: saved r0-r12, lr
    bl virt_fault_handler       // does not return
    b .

// uint32_t virt_semihosting_call(uint32_t op, void *arg)
// Returns op unchanged when semihosting is not enabled in QEMU.
    .global virt_semihosting_call
    .type virt_semihosting_call, %function
virt_semihosting_call:
    push {lr}                   // SVC from SVC mode overwrites lr_svc
    svc 0x123456
    pop {pc}
    .size virt_semihosting_call, . - virt_semihosting_call
