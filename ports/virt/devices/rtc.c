// The RTC by the device tree's "compatible"; see rtc.h.
#include <stddef.h>

#include "fdt.h"
#include "rtc.h"
#include "rtc_goldfish.h"
#include "rtc_pl031.h"

static const struct {
    const char *compatible;
    uint32_t (*read_seconds)(uintptr_t base);
} rtc_drivers[] = {
    { "arm,pl031", rtc_pl031_seconds },
    { "google,goldfish-rtc", rtc_goldfish_seconds },
};

static uint32_t (*rtc_read)(uintptr_t base);
static uintptr_t rtc_base;

void rtc_init(void) {
    uint64_t addr, size;
    for (size_t i = 0; i < sizeof(rtc_drivers) / sizeof(rtc_drivers[0]) && rtc_read == NULL; ++i) {
        int node = fdt_find_compatible(FDT_NODE_NONE, rtc_drivers[i].compatible);
        if (node != FDT_NODE_NONE && fdt_get_reg(node, 0, &addr, &size)) {
            rtc_base = (uintptr_t)addr;
            rtc_read = rtc_drivers[i].read_seconds;
        }
    }
}

uint32_t rtc_seconds(void) {
    return rtc_read == NULL ? 0 : rtc_read(rtc_base);
}
