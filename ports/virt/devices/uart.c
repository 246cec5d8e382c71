// The console UART by the device tree's "compatible"; see uart.h.
//
// When the ring buffer is full the RX interrupt is masked and bytes wait in
// the UART's FIFO; QEMU then stops taking input from the host side, so a
// large paste is throttled rather than lost.
#include <string.h>

#include "py/runtime.h"
#include "py/ringbuf.h"
#include "shared/runtime/interrupt_char.h"

#include "fdt.h"
#include "irq.h"
#include "uart.h"
#include "uart_ns16550.h"
#include "uart_pl011.h"

#define UART_RX_BUF_SIZE (4096)

static const uart_driver_t *const uart_drivers[] = { &uart_pl011_driver, &uart_ns16550_driver };

static const uart_driver_t *uart;
static int uart_node = FDT_NODE_NONE;
static volatile bool uart_rx_throttled;
static uint8_t uart_rx_buf_storage[UART_RX_BUF_SIZE];
static ringbuf_t uart_rx_buf = { uart_rx_buf_storage, sizeof(uart_rx_buf_storage), 0, 0 };

static void uart_put_early(uint8_t c) {
    ringbuf_put(&uart_rx_buf, c);
}

void uart_init(void) {
    uint64_t addr, size;
    for (size_t i = 0; i < MP_ARRAY_SIZE(uart_drivers) && uart == NULL; ++i) {
        int node = fdt_find_compatible(FDT_NODE_NONE, uart_drivers[i]->compatible);
        if (node != FDT_NODE_NONE && fdt_get_reg(node, 0, &addr, &size)) {
            uart = uart_drivers[i];
            uart_node = node;
            uart->init((uintptr_t)addr, node, uart_put_early);
        }
    }
    // Without a device tree: the board's QEMU default (mpconfigboard.h).
    for (size_t i = 0; i < MP_ARRAY_SIZE(uart_drivers) && uart == NULL; ++i) {
        if (strcmp(uart_drivers[i]->compatible, VIRT_UART_DEFAULT) == 0) {
            uart = uart_drivers[i];
            uart->init(VIRT_UART_DEFAULT_BASE, FDT_NODE_NONE, uart_put_early);
        }
    }
}

const char *uart_name(void) {
    return uart != NULL ? uart->compatible : "none";
}

// Move bytes from the FIFO to the ring buffer; Ctrl-C raises KeyboardInterrupt.
static void uart_irq_handler(void *arg) {
    (void)arg;
    uart->irq_ack();
    while (uart->rx_ready()) {
        if (ringbuf_free(&uart_rx_buf) == 0) {
            uart->rx_irq(false); // leave the rest in the FIFO until there is room
            uart_rx_throttled = true;
            return; // RX stays pending, so unmasking re-raises the interrupt
        }
        int c = uart->rx_byte();
        if (c == mp_interrupt_char) {
            mp_sched_keyboard_interrupt();
        } else {
            ringbuf_put(&uart_rx_buf, c);
        }
    }
}

void uart_enable_rx_irq(void) {
    uint32_t irq = VIRT_UART_DEFAULT_IRQ;
    if (uart == NULL || (uart_node != FDT_NODE_NONE && !virt_irq_from_fdt(uart_node, 0, &irq))) {
        return;
    }
    virt_irq_enable(irq, uart_irq_handler, NULL);
    uart->rx_irq(true);
}

int uart_rx_char(void) {
    int c = ringbuf_get(&uart_rx_buf);
    if (uart_rx_throttled) {
        uart_rx_throttled = false; // room again: resume RX
        uart->rx_irq(true);
    }
    return c;
}

size_t uart_rx_available(void) {
    return ringbuf_avail(&uart_rx_buf);
}

void uart_tx_strn(const char *str, size_t len) {
    if (uart == NULL) {
        return;
    }
    for (size_t i = 0; i < len; ++i) {
        while (uart->tx_full()) {
        }
        uart->tx_byte((uint8_t)str[i]);
    }
}
