// The serial console: whichever UART the device tree has (PL011 on ARM,
// NS16550A on RISC-V), polled TX, interrupt-driven RX into a ring buffer.
#ifndef MICROPY_INCLUDED_VIRT_UART_H
#define MICROPY_INCLUDED_VIRT_UART_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

// What a UART's driver does for uart.c.
typedef struct _uart_driver_t {
    const char *compatible;
    // Start the UART at base (node: its device-tree node, or FDT_NODE_NONE).
    // Bytes that arrived before are handed to put.
    void (*init)(uintptr_t base, int node, void (*put)(uint8_t c));
    bool (*rx_ready)(void);
    uint8_t (*rx_byte)(void);
    bool (*tx_full)(void);
    void (*tx_byte)(uint8_t c);
    // RX interrupts on or off; and the acknowledgement at an interrupt's start.
    void (*rx_irq)(bool on);
    void (*irq_ack)(void);
} uart_driver_t;

// Find and start the console UART (before interrupts are set up).
void uart_init(void);
// Start receiving by interrupt into the RX ring buffer.
void uart_enable_rx_irq(void);
void uart_tx_strn(const char *str, size_t len);
// Next received byte, or -1 if none is waiting.
int uart_rx_char(void);
size_t uart_rx_available(void);
const char *uart_name(void);

#endif // MICROPY_INCLUDED_VIRT_UART_H
