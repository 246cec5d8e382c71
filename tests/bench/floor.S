@ The boot benchmark's floor: the least a firmware can do before its prompt.
@ Writes ">>> " to the PL011 UART of QEMU's virt machine, then idles in WFI.
@ Loaded where the real firmware is (0x40200000, see boards/VIRT_ARM/memmap.ld),
@ so both images go through the same QEMU loading path.

    .syntax unified
    .arm
    .section .text.floor, "ax"
    .global _start
    .type _start, %function
_start:
    ldr     r0, =0x09000000         @ PL011 base on QEMU virt
    ldr     r1, =0x301              @ UARTCR: UARTEN | TXE | RXE
    str     r1, [r0, #0x30]
    adr     r1, prompt
1:  ldrb    r2, [r1], #1
    cmp     r2, #0
    beq     2f
3:  ldr     r3, [r0, #0x18]         @ UARTFR: wait while TXFF (bit 5) is set
    tst     r3, #0x20
    bne     3b
    str     r2, [r0]                @ UARTDR
    b       1b
2:  cpsid   if
    wfi
    b       2b

prompt:
    .asciz  ">>> "
    .balign 4
    .ltorg
