// PL011 console: polled TX, interrupt-driven RX into a ring buffer.
//
// When the ring buffer is full the RX interrupt is masked and bytes wait in
// the UART's FIFO; QEMU then stops taking input from the host side, so a
// large paste is throttled rather than lost.
#include "py/runtime.h"
#include "py/ringbuf.h"
#include "shared/runtime/interrupt_char.h"

#include "irq.h"
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

#define UART_RX_BUF_SIZE (4096)

static volatile uint32_t *uart_regs;
static volatile bool uart_rx_throttled;
static uint8_t uart_rx_buf_storage[UART_RX_BUF_SIZE];
static ringbuf_t uart_rx_buf = { uart_rx_buf_storage, sizeof(uart_rx_buf_storage), 0, 0 };

#define REG(off) (uart_regs[(off) / 4])

void uart_init(uintptr_t base) {
    uart_regs = (volatile uint32_t *)base;
    REG(UARTCR) = 0;
    REG(UARTIMSC) = 0;
    REG(UARTICR) = 0x7ff;
    // Turning the FIFO on flushes it: keep any byte that arrived before boot.
    while (!(REG(UARTFR) & UARTFR_RXFE)) {
        ringbuf_put(&uart_rx_buf, REG(UARTDR) & 0xff);
    }
    REG(UARTLCR_H) = UARTLCR_H_WLEN_8 | UARTLCR_H_FEN;
    REG(UARTCR) = UARTCR_UARTEN | UARTCR_TXE | UARTCR_RXE;
}

// Move bytes from the FIFO to the ring buffer; Ctrl-C raises KeyboardInterrupt.
// The RX interrupt clears itself as the FIFO drains; clearing it by ICR after
// the drain could drop the interrupt of a byte that arrived meanwhile.
static void uart_irq_handler(void *arg) {
    (void)arg;
    REG(UARTICR) = UART_INT_RT;
    while (!(REG(UARTFR) & UARTFR_RXFE)) {
        if (ringbuf_free(&uart_rx_buf) == 0) {
            REG(UARTIMSC) = 0; // leave the rest in the FIFO until there is room
            uart_rx_throttled = true;
            return; // RX stays pending, so unmasking re-raises the interrupt
        }
        int c = REG(UARTDR) & 0xff;
        if (c == mp_interrupt_char) {
            mp_sched_keyboard_interrupt();
        } else {
            ringbuf_put(&uart_rx_buf, c);
        }
    }
}

void uart_enable_rx_irq(uint32_t irq) {
    virt_irq_enable(irq, uart_irq_handler, NULL);
    REG(UARTIMSC) = UART_INT_RX | UART_INT_RT;
}

int uart_rx_char(void) {
    int c = ringbuf_get(&uart_rx_buf);
    if (uart_rx_throttled) {
        uart_rx_throttled = false; // room again: resume RX
        REG(UARTIMSC) = UART_INT_RX | UART_INT_RT;
    }
    return c;
}

size_t uart_rx_available(void) {
    return ringbuf_avail(&uart_rx_buf);
}

void uart_tx_strn(const char *str, size_t len) {
    if (uart_regs == NULL) {
        return;
    }
    for (size_t i = 0; i < len; ++i) {
        while (REG(UARTFR) & UARTFR_TXFF) {
        }
        REG(UARTDR) = (uint8_t)str[i];
    }
}
