// FAT timestamps from the RTC (PL031, UTC).
#include <stdbool.h>

#include "lib/oofatfs/ff.h"
#include "shared/timeutils/timeutils.h"

#include "rtc.h"

DWORD get_fattime(void) {
    timeutils_struct_time_t tm;
    timeutils_seconds_since_epoch_to_struct_time(rtc_seconds(), &tm);
    return ((DWORD)(tm.tm_year - 1980) << 25) | ((DWORD)tm.tm_mon << 21) | ((DWORD)tm.tm_mday << 16)
           | ((DWORD)tm.tm_hour << 11) | ((DWORD)tm.tm_min << 5) | (tm.tm_sec / 2);
}
