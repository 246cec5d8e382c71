// Goldfish real-time clock ("google,goldfish-rtc"), RISC-V virt's.
#ifndef MICROPY_INCLUDED_VIRT_RTC_GOLDFISH_H
#define MICROPY_INCLUDED_VIRT_RTC_GOLDFISH_H

#include <stdint.h>

uint32_t rtc_goldfish_seconds(uintptr_t base);

#endif // MICROPY_INCLUDED_VIRT_RTC_GOLDFISH_H
