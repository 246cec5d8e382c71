// PL031: a free-running 1 Hz seconds counter.
#include <stddef.h>

#include "rtc_pl031.h"

#define RTCDR (0x000)

static volatile uint32_t *rtc_regs;

void rtc_init(uintptr_t base) {
    rtc_regs = (volatile uint32_t *)base;
}

uint32_t rtc_seconds(void) {
    return rtc_regs == NULL ? 0 : rtc_regs[RTCDR / 4];
}
