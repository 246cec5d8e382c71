// The boot benchmark's floor for VIRT_RV64 and VIRT_RV32: writes ">>> " to
// the NS16550A UART of QEMU's virt machine, then idles in WFI. Loaded where
// the real firmware is (boards/<BOARD>/memmap.ld): entered by OpenSBI in
// S-mode on RV64, by QEMU's reset code in M-mode (-bios none) on RV32.
    .section .text.floor, "ax"
    .global _start
    .type _start, %function
_start:
    li      t0, 0x10000000          // NS16550A base on QEMU virt
    la      t1, prompt
1:  lbu     t2, 0(t1)
    beqz    t2, 2f
3:  lbu     t3, 5(t0)               // LSR: wait for THRE (bit 5)
    andi    t3, t3, 0x20
    beqz    t3, 3b
    sb      t2, 0(t0)               // THR
    addi    t1, t1, 1
    j       1b
2:  wfi
    j       2b

prompt:
    .asciz  ">>> "
