// The real-time clock the device tree has (PL031 on ARM, goldfish on
// RISC-V): QEMU sets it from the host's clock.
#ifndef MICROPY_INCLUDED_VIRT_RTC_H
#define MICROPY_INCLUDED_VIRT_RTC_H

#include <stdint.h>

void rtc_init(void);
// Seconds since 1970-01-01 UTC, or 0 if there is no RTC.
uint32_t rtc_seconds(void);

#endif // MICROPY_INCLUDED_VIRT_RTC_H
