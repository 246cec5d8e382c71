// Power control: QEMU exit with a status (semihosting), PSCI off and reset.
#include "cpu.h"
#include "virt.h"

// PSCI 0.2 function IDs (ARM DEN 0022).
#define PSCI_SYSTEM_OFF (0x84000008)
#define PSCI_SYSTEM_RESET (0x84000009)

// Semihosting (ARM IHI 0036): SYS_EXIT_EXTENDED carries an exit status.
#define SYS_EXIT_EXTENDED (0x20)
#define ADP_STOPPED_APPLICATION_EXIT (0x20026)

static NORETURN void halt(void) {
    for (;;) {
        cpu_irq_save();
        cpu_wfi();
    }
}

void virt_exit(int status) {
    // The block holds two words of the pointer size (two 64-bit fields on AArch64).
    uintptr_t block[2] = { ADP_STOPPED_APPLICATION_EXIT, (uintptr_t)status };
    virt_semihosting_call(SYS_EXIT_EXTENDED, block); // returns if semihosting is off
    cpu_psci_call(PSCI_SYSTEM_OFF, 0, 0, 0);
    halt();
}

void virt_reset(void) {
    cpu_psci_call(PSCI_SYSTEM_RESET, 0, 0, 0);
    halt();
}
