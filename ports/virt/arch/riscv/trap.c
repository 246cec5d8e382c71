// RISC-V traps: the timer and external interrupts to their handlers, a
// trapped semihosting call stepped over, a fault reported (cause, address,
// registers) before QEMU is ended.
#include <stdint.h>

#include "py/mphal.h"

#include "cpu.h"
#include "irq.h"
#include "virt.h"

#define CAUSE_INTERRUPT ((uintptr_t)1 << (__riscv_xlen - 1))

static void (*timer_handler)(void *arg);
static void *timer_arg;

void cpu_timer_irq_enable(void (*handler)(void *arg), void *arg) {
    timer_handler = handler;
    timer_arg = arg;
}

static void print_reg(const char *name, uintptr_t v) {
    #if __riscv_xlen == 64
    mp_printf(&mp_plat_print, "%s=%08x%08x", name, (unsigned)(v >> 32), (unsigned)v);
    #else
    mp_printf(&mp_plat_print, "%s=%08x", name, (unsigned)v);
    #endif
}

// frame: the return address at 0, then x1-x31 by number (start.S).
void virt_trap_handler(uintptr_t *frame) {
    uintptr_t cause = cpu_csr_read(CSR_XCAUSE);
    if (cause & CAUSE_INTERRUPT) {
        cause &= ~CAUSE_INTERRUPT;
        if (cause == IRQ_TIMER) {
            if (timer_handler != NULL) {
                timer_handler(timer_arg);
            } else {
                cpu_timer_enable(false);
            }
        } else if (cause == IRQ_EXTERNAL) {
            virt_irq_dispatch();
        }
        return;
    }
    // Semihosting is off in QEMU: its EBREAK is a breakpoint. The call
    // returns its operation number unchanged (a0 left as it was).
    if (cause == CAUSE_BREAKPOINT && frame[0] == (uintptr_t)virt_semihosting_ebreak) {
        frame[0] += 4;
        return;
    }
    mp_printf(&mp_plat_print, "\nFATAL: trap cause %u at ", (unsigned)cause);
    print_reg("pc", frame[0]);
    mp_printf(&mp_plat_print, " ");
    print_reg("tval", cpu_csr_read(CSR_XTVAL));
    mp_printf(&mp_plat_print, "\n");
    for (int i = 1; i < 32; ++i) {
        char name[4] = { 'x', (char)('0' + i / 10), (char)('0' + i % 10), '\0' };
        print_reg(name, frame[i]);
        mp_printf(&mp_plat_print, (i % 4 == 3) ? "\n" : " ");
    }
    mp_printf(&mp_plat_print, "\n");
    virt_exit(1);
}
