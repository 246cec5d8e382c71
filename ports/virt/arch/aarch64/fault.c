// AArch64 synchronous exceptions: a trapped semihosting call is stepped
// over; a fault is reported with its syndrome and ends QEMU.
#include <stdint.h>

#include "py/mphal.h"
#include "virt.h"

#define ESR_EC(esr) (((esr) >> 26) & 0x3f)
#define ESR_EC_UNKNOWN (0x00)
#define HLT_SEMIHOSTING (0xd45e0000u) // hlt #0xf000

// frame: x0-x30, then ELR (start.S).
void virt_sync_handler(uint64_t *frame) {
    uint64_t esr, far;
    __asm volatile ("mrs %0, esr_el1\n mrs %1, far_el1" : "=r" (esr), "=r" (far));
    uint64_t elr = frame[31];
    // Semihosting is off in QEMU: the HLT is an undefined instruction. The
    // call returns its operation number unchanged (x0 left as it was).
    if (ESR_EC(esr) == ESR_EC_UNKNOWN && *(const uint32_t *)(uintptr_t)elr == HLT_SEMIHOSTING) {
        frame[31] = elr + 4;
        return;
    }
    mp_printf(&mp_plat_print, "\nFATAL: exception class 0x%02x (ESR %08x) at pc=%08x%08x far=%08x%08x\n",
        (unsigned)ESR_EC(esr), (unsigned)esr, (unsigned)(elr >> 32), (unsigned)elr,
        (unsigned)(far >> 32), (unsigned)far);
    for (int i = 0; i < 31; ++i) {
        mp_printf(&mp_plat_print, "x%d=%08x%08x%s", i, (unsigned)(frame[i] >> 32), (unsigned)frame[i],
            (i % 4 == 3) ? "\n" : " ");
    }
    mp_printf(&mp_plat_print, "\n");
    virt_exit(1);
}

// FIQ, SError, or an exception from a mode the firmware never uses.
void virt_unexpected_handler(uint64_t *frame) {
    mp_printf(&mp_plat_print, "\nFATAL: unexpected exception at pc=%08x%08x\n",
        (unsigned)(frame[31] >> 32), (unsigned)frame[31]);
    virt_exit(1);
}
