// ARM PrimeCell PL031 real-time clock: QEMU sets it from the host's clock.
#ifndef MICROPY_INCLUDED_VIRT_RTC_PL031_H
#define MICROPY_INCLUDED_VIRT_RTC_PL031_H

#include <stdint.h>

void rtc_init(uintptr_t base);
// Seconds since 1970-01-01 UTC, or 0 if there is no RTC.
uint32_t rtc_seconds(void);

#endif // MICROPY_INCLUDED_VIRT_RTC_PL031_H
