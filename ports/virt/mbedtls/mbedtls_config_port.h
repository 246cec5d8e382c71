// mbedTLS configuration of the virt port: MicroPython's common one (TLS 1.2
// client and server, ECDHE-ECDSA/RSA, AES-GCM/CBC, X.509; TLS 1.3 with
// make TLS13=1), bare metal, with
// the wall-clock time from the RTC (certificate validity) and entropy from
// virt_entropy (mbedtls_port.c).
#ifndef MICROPY_INCLUDED_VIRT_MBEDTLS_CONFIG_PORT_H
#define MICROPY_INCLUDED_VIRT_MBEDTLS_CONFIG_PORT_H

#define MBEDTLS_ECP_NIST_OPTIM
#define MBEDTLS_HAVE_ASM
// PEM certificates and keys as well as DER: what openssl and most users have.
#define MBEDTLS_PEM_PARSE_C
#define MBEDTLS_BASE64_C
// SSLSocket.getpeercert() (the certificate is kept after the handshake).
#define MBEDTLS_SSL_KEEP_PEER_CERTIFICATE

// Time: seconds since 1970 from the PL031; milliseconds from the CPU timer.
#include <time.h>
time_t virt_mbedtls_time(time_t *timer);
#define MBEDTLS_PLATFORM_TIME_MACRO virt_mbedtls_time
#define MBEDTLS_PLATFORM_MS_TIME_ALT

// TLS 1.3 beside 1.2 with `make TLS13=1` (ephemeral ECDHE key exchange;
// RSA certificates sign with PSS there). mbedTLS builds TLS 1.3 on its PSA
// crypto API, which modtls initialises (psa_crypto_init) for every
// SSLContext. Not the default: with it, mbedTLS 3.6.6 offers RSA-PSS to
// TLS 1.2 servers too, then refuses their ServerKeyExchange signed so
// (Mbed-TLS/mbedtls#10672, fixed after 3.6.6), which breaks TLS 1.2-only
// servers with RSA keys.
#if MICROPY_VIRT_TLS13
#define MBEDTLS_SSL_PROTO_TLS1_3
#define MBEDTLS_SSL_TLS1_3_COMPATIBILITY_MODE
#define MBEDTLS_SSL_TLS1_3_KEY_EXCHANGE_MODE_EPHEMERAL_ENABLED
#define MBEDTLS_PSA_CRYPTO_C
#define MBEDTLS_HKDF_C
#define MBEDTLS_PKCS1_V21
#define MBEDTLS_X509_RSASSA_PSS_SUPPORT
#endif

#define MICROPY_MBEDTLS_CONFIG_BARE_METAL (1)

#include "extmod/mbedtls/mbedtls_config_common.h"

// Size-classed blocks instead of one GC allocation per bignum (mbedtls_alloc.h).
#undef MBEDTLS_PLATFORM_STD_CALLOC
#undef MBEDTLS_PLATFORM_STD_FREE
void *virt_mbedtls_calloc(size_t nmemb, size_t size);
void virt_mbedtls_free(void *ptr);
#define MBEDTLS_PLATFORM_STD_CALLOC virt_mbedtls_calloc
#define MBEDTLS_PLATFORM_STD_FREE virt_mbedtls_free

#endif // MICROPY_INCLUDED_VIRT_MBEDTLS_CONFIG_PORT_H
