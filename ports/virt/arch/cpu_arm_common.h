// What the port's core asks of every architecture (riscv's cpu.h has the
// same), for ARM and AArch64 alike: the timer on or off, power through the
// firmware (PSCI 0.2, ARM DEN 0022; these return only if it refuses), IDs
// for machine.unique_id(). Included by arm/cpu.h and aarch64/cpu.h after
// their cpu_timer_set_ctl, cpu_psci_call, cpu_midr and cpu_mpidr.
#ifndef MICROPY_INCLUDED_VIRT_ARCH_CPU_ARM_COMMON_H
#define MICROPY_INCLUDED_VIRT_ARCH_CPU_ARM_COMMON_H

#define PSCI_SYSTEM_OFF (0x84000008)
#define PSCI_SYSTEM_RESET (0x84000009)

static inline void cpu_timer_enable(bool on) {
    cpu_timer_set_ctl(on ? CNTV_CTL_ENABLE : 0);
}

static inline void cpu_system_off(void) {
    cpu_psci_call(PSCI_SYSTEM_OFF, 0, 0, 0);
}

static inline void cpu_system_reset(void) {
    cpu_psci_call(PSCI_SYSTEM_RESET, 0, 0, 0);
}

// The MIDR and MPIDR registers identify the emulated core and its position.
static inline void cpu_unique_id(uint32_t id[2]) {
    id[0] = cpu_midr();
    id[1] = cpu_mpidr();
}

#endif // MICROPY_INCLUDED_VIRT_ARCH_CPU_ARM_COMMON_H
