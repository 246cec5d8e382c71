// lwIP compiler/platform glue for the QEMU "virt" port.
#ifndef MICROPY_INCLUDED_VIRT_LWIP_ARCH_CC_H
#define MICROPY_INCLUDED_VIRT_LWIP_ARCH_CC_H

#include <stdint.h>

void virt_lwip_assert(const char *msg, const char *file, int line);

#define LWIP_PLATFORM_DIAG(x)
// An lwIP assertion is a bug: report it instead of running on corrupt state.
#define LWIP_PLATFORM_ASSERT(x) virt_lwip_assert((x), __FILE__, __LINE__)
#define LWIP_NO_CTYPE_H 1

// lwIP's heap and pools are set up by lwip_init() without relying on zeroed
// memory (MEMP_MEM_INIT is 0): keep their megabytes out of .bss zeroing.
#define LWIP_DECLARE_MEMORY_ALIGNED(variable_name, size) \
    u8_t variable_name[LWIP_MEM_ALIGN_BUFFER(size)] __attribute__((section(".noinit"), aligned(MEM_ALIGNMENT)))

#endif // MICROPY_INCLUDED_VIRT_LWIP_ARCH_CC_H
