// What mbedTLS needs of the port: entropy (MBEDTLS_ENTROPY_HARDWARE_ALT)
// and the time (certificate validity, TLS session timing).
#include "py/mpconfig.h"

#if MICROPY_SSL_MBEDTLS

#include "py/mphal.h"
#include "py/mpprint.h"
#include "mbedtls/platform_time.h"

#include "rtc.h"
#include "virt_entropy.h"

int mbedtls_hardware_poll(void *data, unsigned char *output, size_t len, size_t *olen) {
    (void)data;
    static bool warned;
    if (!virt_entropy_from_device() && !warned) {
        // Said once, when TLS first needs entropy.
        warned = true;
        mp_printf(&mp_plat_print, "TLS: no virtio-rng device (QEMU: -device virtio-rng-device), "
            "entropy from timer jitter, which is weaker\n");
    }
    virt_entropy_read(output, len);
    *olen = len;
    return 0;
}

time_t virt_mbedtls_time(time_t *timer) {
    time_t t = (time_t)rtc_seconds();
    if (timer != NULL) {
        *timer = t;
    }
    return t;
}

mbedtls_ms_time_t mbedtls_ms_time(void) {
    return (mbedtls_ms_time_t)mp_hal_ticks_ms();
}

#endif // MICROPY_SSL_MBEDTLS
