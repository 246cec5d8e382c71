// NS16550A registers for uart.c: FIFOs on, 8N1, the received-data interrupt.
// Registers are reg-shift apart (device tree; 0 on QEMU), accessed as bytes.
#include "fdt.h"
#include "uart_ns16550.h"
#include "virt_io.h"

// Registers (National Semiconductor PC16550D data sheet, table II).
#define UART_RBR_THR (0)
#define UART_IER (1)
#define UART_FCR (2)
#define UART_LCR (3)
#define UART_MCR (4)
#define UART_LSR (5)

#define UART_IER_ERBFI (1 << 0)
#define UART_FCR_ENABLE (1 << 0)
#define UART_FCR_CLEAR_TX (1 << 2)
#define UART_FCR_TRIGGER_14 (3 << 6)
#define UART_DLL (0)
#define UART_DLM (1)
#define UART_LCR_8N1 (3)
#define UART_LCR_DLAB (1 << 7)
#define UART_MCR_DTR_RTS_OUT2 ((1 << 0) | (1 << 1) | (1 << 3))
#define UART_LSR_DR (1 << 0)
#define UART_LSR_THRE (1 << 5)

#define REG_SHIFT_MAX (4)

static uintptr_t uart_base;
static uint32_t uart_reg_shift;

static inline uint8_t reg_read(uint32_t reg) {
    return virt_io_read8(uart_base + (reg << uart_reg_shift));
}

static inline void reg_write(uint32_t reg, uint8_t val) {
    virt_io_write8(uart_base + (reg << uart_reg_shift), val);
}

static bool ns16550_rx_ready(void) {
    return reg_read(UART_LSR) & UART_LSR_DR;
}

static uint8_t ns16550_rx_byte(void) {
    return reg_read(UART_RBR_THR);
}

static void ns16550_init(uintptr_t base, int node, void (*put)(uint8_t c)) {
    uint32_t shift;
    uart_base = base;
    uart_reg_shift = node != FDT_NODE_NONE && fdt_get_u32(node, "reg-shift", &shift) && shift <= REG_SHIFT_MAX ? shift : 0;
    reg_write(UART_IER, 0);
    // Keep any byte that arrived before boot; the RX FIFO is not cleared.
    while (ns16550_rx_ready()) {
        put(ns16550_rx_byte());
    }
    // Divisor 1, the fastest rate of the UART's clock: QEMU times the RX
    // FIFO's character timeout by it. The interrupt comes at 14 bytes or at
    // that timeout: at a trigger level of 1 QEMU passes one byte per round of
    // its main loop (~90 us each).
    reg_write(UART_LCR, UART_LCR_DLAB);
    reg_write(UART_DLL, 1);
    reg_write(UART_DLM, 0);
    reg_write(UART_LCR, UART_LCR_8N1);
    reg_write(UART_FCR, UART_FCR_ENABLE | UART_FCR_CLEAR_TX | UART_FCR_TRIGGER_14);
    reg_write(UART_MCR, UART_MCR_DTR_RTS_OUT2);
}

static bool ns16550_tx_full(void) {
    return !(reg_read(UART_LSR) & UART_LSR_THRE);
}

static void ns16550_tx_byte(uint8_t c) {
    reg_write(UART_RBR_THR, c);
}

// The received-data interrupt is level: it stays up while data waits.
static void ns16550_rx_irq(bool on) {
    reg_write(UART_IER, on ? UART_IER_ERBFI : 0);
}

static void ns16550_irq_ack(void) {
}

const uart_driver_t uart_ns16550_driver = {
    .compatible = "ns16550a",
    .init = ns16550_init,
    .rx_ready = ns16550_rx_ready,
    .rx_byte = ns16550_rx_byte,
    .tx_full = ns16550_tx_full,
    .tx_byte = ns16550_tx_byte,
    .rx_irq = ns16550_rx_irq,
    .irq_ack = ns16550_irq_ack,
};
