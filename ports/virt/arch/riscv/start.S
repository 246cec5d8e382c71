// Start-up and the trap vector for RISC-V (RV32, RV64) on QEMU "virt".
//
// S-mode: OpenSBI (QEMU's default -bios) enters _start with a0 = hart ID,
// a1 = the device tree, interrupts off, no MMU (satp is 0: addresses are
// physical). M-mode (-bios none, RISCV_MMODE): QEMU's reset code enters it
// the same way on every hart; harts other than 0 are parked. We set the
// trap vector, zero .bss, set up picolibc's thread-local block (errno, via
// tp) and call virt_main(dtb). Code is built without floating point, so a
// trap saves the integer registers only.

#include "cpu.h"

#if __riscv_xlen == 64
#define REG_S sd
#define REG_L ld
#define REGBYTES 8
#else
#define REG_S sw
#define REG_L lw
#define REGBYTES 4
#endif

#if RISCV_MMODE
#define XRET mret
#else
#define XRET sret
#endif

    .section .vectors, "ax"
    .global _start
    .type _start, %function
_start:
    csrw CSR_XIE, zero
    li t0, XSTATUS_XIE
    csrc CSR_XSTATUS, t0
#if RISCV_MMODE
    bnez a0, park
#endif
    la t0, trap_entry
    csrw CSR_XTVEC, t0
    la sp, _estack
    mv s0, a0
    mv s1, a1

    // Zero .bss (aligned to REGBYTES by the linker script).
    la t0, _sbss
    la t1, _ebss
1:  bgeu t0, t1, 2f
    REG_S zero, 0(t0)
    addi t0, t0, REGBYTES
    j 1b
2:
    la t0, virt_cpu_hartid
    REG_S s0, 0(t0)
    // picolibc's thread-local block (errno): initial values, then tp.
    la a0, __tls_base
    call _init_tls
    la a0, __tls_base
    call _set_tls

    mv a0, s1
    call virt_main
park:
    wfi
    j park
    .size _start, . - _start

// Every trap: x1 and x3-x31 saved at their number's slot of the frame, the
// interrupted sp at slot 2, the return address (xepc) at slot 0; then
// virt_trap_handler(frame), which may move the return address (a trapped
// semihosting call is stepped over). Interrupts stay off inside.
    .equ FRAME, 32 * REGBYTES
    .text
    .balign 4
trap_entry:
    addi sp, sp, -FRAME
    REG_S x1, 1 * REGBYTES(sp)
    .irp n, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31
    REG_S x\n, \n * REGBYTES(sp)
    .endr
    addi t0, sp, FRAME
    REG_S t0, 2 * REGBYTES(sp)
    csrr t0, CSR_XEPC
    REG_S t0, 0(sp)
    mv a0, sp
    call virt_trap_handler
    REG_L t0, 0(sp)
    csrw CSR_XEPC, t0
    REG_L x1, 1 * REGBYTES(sp)
    .irp n, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31
    REG_L x\n, \n * REGBYTES(sp)
    .endr
    addi sp, sp, FRAME
    XRET

// uint32_t virt_semihosting_call(uint32_t op, void *arg)
// The RISC-V semihosting sequence: three uncompressed instructions on one
// page. Without semihosting in QEMU the EBREAK traps and the handler steps
// over it: the call returns op unchanged.
    .balign 16
    .global virt_semihosting_call
    .type virt_semihosting_call, %function
    .option push
    .option norvc
virt_semihosting_call:
    slli zero, zero, 0x1f
    .global virt_semihosting_ebreak
virt_semihosting_ebreak:
    ebreak
    srai zero, zero, 7
    ret
    .option pop
    .size virt_semihosting_call, . - virt_semihosting_call
