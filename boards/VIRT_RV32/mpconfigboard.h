// QEMU "virt" machine, RV32 (M-mode).
#define MICROPY_HW_BOARD_NAME "QEMU virt"
#define MICROPY_HW_MCU_NAME "RV32"

// Where QEMU's virt machine puts RAM.
#define VIRT_RAM_BASE (0x80000000)

// The console without a device tree (QEMU's fixed virt layout).
#define VIRT_UART_DEFAULT "ns16550a"
#define VIRT_UART_DEFAULT_BASE (0x10000000)
#define VIRT_UART_DEFAULT_IRQ (10)
