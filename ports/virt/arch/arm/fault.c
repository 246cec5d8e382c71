// 32-bit ARM aborts and undefined instructions: reported, then QEMU ends.
#include <stdint.h>

#include "py/mphal.h"
#include "virt.h"

// Called from the abort/undefined vectors with the saved r0-r12, lr.
void virt_fault_handler(uint32_t kind, const uint32_t *regs) {
    static const char *const names[] = { "undefined instruction", "prefetch abort", "data abort", "FIQ" };
    mp_printf(&mp_plat_print, "\nFATAL: %s at pc=%08x\n", names[kind & 3], (unsigned)regs[13]);
    for (int i = 0; i < 13; ++i) {
        mp_printf(&mp_plat_print, "r%d=%08x%s", i, (unsigned)regs[i], (i % 4 == 3) ? "\n" : " ");
    }
    mp_printf(&mp_plat_print, "\n");
    virt_exit(1);
}
