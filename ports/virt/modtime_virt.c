// time module hooks, included from extmod/modtime.c: wall-clock time from the
// PL031 RTC, which QEMU sets from the host's clock.
#include "py/obj.h"
#include "shared/timeutils/timeutils.h"

#include "rtc.h"

static mp_obj_t mp_time_time_get(void) {
    return mp_obj_new_int_from_uint(rtc_seconds());
}

static mp_obj_t mp_time_localtime_get(void) {
    timeutils_struct_time_t tm;
    timeutils_seconds_since_epoch_to_struct_time(rtc_seconds(), &tm);
    mp_obj_t tuple[8] = {
        mp_obj_new_int(tm.tm_year),
        mp_obj_new_int(tm.tm_mon),
        mp_obj_new_int(tm.tm_mday),
        mp_obj_new_int(tm.tm_hour),
        mp_obj_new_int(tm.tm_min),
        mp_obj_new_int(tm.tm_sec),
        mp_obj_new_int(tm.tm_wday),
        mp_obj_new_int(tm.tm_yday),
    };
    return mp_obj_new_tuple(8, tuple);
}
