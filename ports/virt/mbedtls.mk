# mbedTLS for MicroPython's ssl/tls module, built from MBEDTLS_DIR (an
# mbedTLS 3.6 source tree: Debian's orig tarball, fetched by the top-level
# Makefile) with mbedtls/mbedtls_config_port.h. The sources are those
# MicroPython 1.25's extmod.mk lists for MICROPY_SSL_MBEDTLS (and TLS 1.3's);
# their objects go to $(BUILD)/mbedtls/, as lwIP's go to $(BUILD)/lwip/.
MBEDTLS_DIR ?= $(PROJECT_DIR)/deps/mbedtls
ifeq ($(wildcard $(MBEDTLS_DIR)/include/mbedtls/ssl.h),)
$(error MBEDTLS_DIR=$(MBEDTLS_DIR) is not an mbedTLS source tree: run make at the project's top, or set MBEDTLS_DIR)
endif

CFLAGS += -DMICROPY_SSL_MBEDTLS=1 -DMBEDTLS_CONFIG_FILE='"mbedtls/mbedtls_config_port.h"'
INC += -I$(MBEDTLS_DIR)/include

MBEDTLS_SRC_C = $(addprefix library/,\
	aes.c aesni.c asn1parse.c asn1write.c base64.c bignum_core.c bignum_mod.c \
	bignum_mod_raw.c bignum.c camellia.c ccm.c chacha20.c chachapoly.c cipher.c \
	cipher_wrap.c nist_kw.c aria.c cmac.c constant_time.c mps_reader.c mps_trace.c \
	ctr_drbg.c debug.c des.c dhm.c ecdh.c ecdsa.c ecjpake.c ecp.c ecp_curves.c \
	entropy.c entropy_poll.c gcm.c hmac_drbg.c md5.c md.c oid.c padlock.c pem.c \
	pk.c pkcs12.c pkcs5.c pkparse.c pk_ecc.c pk_wrap.c pkwrite.c platform.c \
	platform_util.c poly1305.c ripemd160.c rsa.c rsa_alt_helpers.c sha1.c sha256.c \
	sha512.c ssl_cache.c ssl_ciphersuites.c ssl_client.c ssl_cookie.c \
	ssl_debug_helpers_generated.c ssl_msg.c ssl_ticket.c ssl_tls.c \
	ssl_tls12_client.c ssl_tls12_server.c timing.c x509.c x509_create.c \
	x509_crl.c x509_crt.c x509_csr.c x509write_crt.c x509write_csr.c)
# make TLS13=1: TLS 1.3 and the PSA crypto it is built on (not in
# extmod.mk's list); mbedtls/mbedtls_config_port.h says why it is not the
# default. Use a BUILD of its own: the objects depend on it.
ifeq ($(TLS13),1)
CFLAGS += -DMICROPY_VIRT_TLS13=1
MBEDTLS_SRC_C += $(addprefix library/,\
	ssl_tls13_client.c ssl_tls13_server.c ssl_tls13_generic.c ssl_tls13_keys.c \
	hkdf.c psa_util.c psa_crypto.c psa_crypto_aead.c psa_crypto_cipher.c \
	psa_crypto_client.c psa_crypto_driver_wrappers_no_static.c psa_crypto_ecp.c psa_crypto_random.c \
	psa_crypto_ffdh.c psa_crypto_hash.c psa_crypto_mac.c psa_crypto_pake.c \
	psa_crypto_rsa.c psa_crypto_se.c psa_crypto_slot_management.c psa_crypto_storage.c)
endif
MBEDTLS_OBJ = $(addprefix $(BUILD)/mbedtls/, $(MBEDTLS_SRC_C:.c=.o))
# MicroPython's table of mbedTLS error strings.
MBEDTLS_OBJ += $(BUILD)/lib/mbedtls_errors/mp_mbedtls_errors.o

$(BUILD)/mbedtls/%.o: $(MBEDTLS_DIR)/%.c
	$(call compile_c)
# mbedTLS's bignum and ECP code is built for speed (-O2 after the port's
# -Os): handshakes take ~35% less guest CPU for ~29 KB more code (README).
ifneq ($(DEBUG),1)
$(MBEDTLS_OBJ): CFLAGS += -O2
endif
