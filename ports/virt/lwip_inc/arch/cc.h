// lwIP compiler/platform glue for the QEMU "virt" port.
#ifndef MICROPY_INCLUDED_VIRT_LWIP_ARCH_CC_H
#define MICROPY_INCLUDED_VIRT_LWIP_ARCH_CC_H

#include <stdint.h>

void virt_lwip_assert(const char *msg, const char *file, int line);

#define LWIP_PLATFORM_DIAG(x)
// An lwIP assertion is a bug: report it instead of running on corrupt state.
#define LWIP_PLATFORM_ASSERT(x) virt_lwip_assert((x), __FILE__, __LINE__)
#define LWIP_NO_CTYPE_H 1

#endif // MICROPY_INCLUDED_VIRT_LWIP_ARCH_CC_H
