// QEMU "virt" machine, AArch64.
#define MICROPY_HW_BOARD_NAME "QEMU virt"
#define MICROPY_HW_MCU_NAME "AArch64"

// Where QEMU's virt machine puts RAM; the DTB is placed at its start for
// bare-metal ELF images (QEMU docs/system/arm/virt.rst).
#define VIRT_RAM_BASE (0x40000000)

// The console without a device tree (QEMU's fixed virt layout).
#define VIRT_UART_DEFAULT "arm,pl011"
#define VIRT_UART_DEFAULT_BASE (0x09000000)
#define VIRT_UART_DEFAULT_IRQ (32 + 1)
