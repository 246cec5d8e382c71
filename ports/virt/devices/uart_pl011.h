// ARM PrimeCell PL011 UART: the serial console.
#ifndef MICROPY_INCLUDED_VIRT_UART_PL011_H
#define MICROPY_INCLUDED_VIRT_UART_PL011_H

#include <stddef.h>
#include <stdint.h>

void uart_init(uintptr_t base);
// Start receiving by interrupt into the RX ring buffer.
void uart_enable_rx_irq(uint32_t irq);
void uart_tx_strn(const char *str, size_t len);
// Next received byte, or -1 if none is waiting.
int uart_rx_char(void);
size_t uart_rx_available(void);

#endif // MICROPY_INCLUDED_VIRT_UART_PL011_H
