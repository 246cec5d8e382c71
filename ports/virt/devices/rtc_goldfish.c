// Goldfish RTC: nanoseconds since 1970 in two registers; reading the low
// half latches the high one (Android emulator's GOLDFISH-VIRTUAL-HARDWARE.TXT).
#include "rtc_goldfish.h"
#include "virt_io.h"

#define TIME_LOW (0x00)
#define TIME_HIGH (0x04)

uint32_t rtc_goldfish_seconds(uintptr_t base) {
    uint32_t lo = virt_io_read32(base + TIME_LOW);
    uint32_t hi = virt_io_read32(base + TIME_HIGH);
    return (uint32_t)((((uint64_t)hi << 32) | lo) / 1000000000u);
}
