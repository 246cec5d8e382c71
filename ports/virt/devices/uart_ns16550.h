// NS16550A UART ("ns16550a"), RISC-V virt's console.
#ifndef MICROPY_INCLUDED_VIRT_UART_NS16550_H
#define MICROPY_INCLUDED_VIRT_UART_NS16550_H

#include "uart.h"

extern const uart_driver_t uart_ns16550_driver;

#endif // MICROPY_INCLUDED_VIRT_UART_NS16550_H
