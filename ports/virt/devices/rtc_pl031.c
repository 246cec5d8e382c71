// PL031: a free-running 1 Hz seconds counter.
#include "rtc_pl031.h"
#include "virt_io.h"

#define RTCDR (0x000)

uint32_t rtc_pl031_seconds(uintptr_t base) {
    return virt_io_read32(base + RTCDR);
}
