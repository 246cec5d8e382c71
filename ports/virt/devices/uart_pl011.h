// ARM PrimeCell PL011 UART ("arm,pl011").
#ifndef MICROPY_INCLUDED_VIRT_UART_PL011_H
#define MICROPY_INCLUDED_VIRT_UART_PL011_H

#include "uart.h"

extern const uart_driver_t uart_pl011_driver;

#endif // MICROPY_INCLUDED_VIRT_UART_PL011_H
