// PL011 registers for uart.c: FIFOs on, 8 data bits, RX and receive-timeout
// interrupts.
#include "uart_pl011.h"

// Registers (PL011 Technical Reference Manual, 3.2).
#define UARTDR (0x000)
#define UARTFR (0x018)
#define UARTLCR_H (0x02c)
#define UARTCR (0x030)
#define UARTIMSC (0x038)
#define UARTICR (0x044)

#define UARTFR_RXFE (1 << 4)
#define UARTFR_TXFF (1 << 5)
#define UARTLCR_H_FEN (1 << 4)
#define UARTLCR_H_WLEN_8 (3 << 5)
#define UARTCR_UARTEN (1 << 0)
#define UARTCR_TXE (1 << 8)
#define UARTCR_RXE (1 << 9)
#define UART_INT_RX (1 << 4)
#define UART_INT_RT (1 << 6)

static volatile uint32_t *uart_regs;

#define REG(off) (uart_regs[(off) / 4])

static bool pl011_rx_ready(void) {
    return !(REG(UARTFR) & UARTFR_RXFE);
}

static uint8_t pl011_rx_byte(void) {
    return REG(UARTDR) & 0xff;
}

static void pl011_init(uintptr_t base, int node, void (*put)(uint8_t c)) {
    (void)node;
    uart_regs = (volatile uint32_t *)base;
    REG(UARTCR) = 0;
    REG(UARTIMSC) = 0;
    REG(UARTICR) = 0x7ff;
    // Turning the FIFO on flushes it: keep any byte that arrived before boot.
    while (pl011_rx_ready()) {
        put(pl011_rx_byte());
    }
    REG(UARTLCR_H) = UARTLCR_H_WLEN_8 | UARTLCR_H_FEN;
    REG(UARTCR) = UARTCR_UARTEN | UARTCR_TXE | UARTCR_RXE;
}

static bool pl011_tx_full(void) {
    return REG(UARTFR) & UARTFR_TXFF;
}

static void pl011_tx_byte(uint8_t c) {
    REG(UARTDR) = c;
}

static void pl011_rx_irq(bool on) {
    REG(UARTIMSC) = on ? UART_INT_RX | UART_INT_RT : 0;
}

// The RX interrupt clears itself as the FIFO drains; clearing it by ICR after
// the drain could drop the interrupt of a byte that arrived meanwhile.
static void pl011_irq_ack(void) {
    REG(UARTICR) = UART_INT_RT;
}

const uart_driver_t uart_pl011_driver = {
    .compatible = "arm,pl011",
    .init = pl011_init,
    .rx_ready = pl011_rx_ready,
    .rx_byte = pl011_rx_byte,
    .tx_full = pl011_tx_full,
    .tx_byte = pl011_tx_byte,
    .rx_irq = pl011_rx_irq,
    .irq_ack = pl011_irq_ack,
};
