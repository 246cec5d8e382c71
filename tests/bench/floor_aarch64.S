// The boot benchmark's floor for VIRT_AARCH64 (floor.S is VIRT_ARM's):
// writes ">>> " to the PL011 UART of QEMU's virt machine, then idles in WFI.
// Loaded where the real firmware is (0x40200000, boards/VIRT_AARCH64/memmap.ld).
    .section .text.floor, "ax"
    .global _start
    .type _start, %function
_start:
    ldr     x0, =0x09000000         // PL011 base on QEMU virt
    mov     w1, #0x301              // UARTCR: UARTEN | TXE | RXE
    str     w1, [x0, #0x30]
    adr     x1, prompt
1:  ldrb    w2, [x1], #1
    cbz     w2, 2f
3:  ldr     w3, [x0, #0x18]         // UARTFR: wait while TXFF (bit 5) is set
    tbnz    w3, #5, 3b
    str     w2, [x0]                // UARTDR
    b       1b
2:  msr     daifset, #0xf
    wfi
    b       2b

prompt:
    .asciz  ">>> "
    .balign 8
    .ltorg
