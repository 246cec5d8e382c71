// ARM PrimeCell PL031 real-time clock ("arm,pl031").
#ifndef MICROPY_INCLUDED_VIRT_RTC_PL031_H
#define MICROPY_INCLUDED_VIRT_RTC_PL031_H

#include <stdint.h>

uint32_t rtc_pl031_seconds(uintptr_t base);

#endif // MICROPY_INCLUDED_VIRT_RTC_PL031_H
