// Board-level services of the port: power control and the devices found at boot.
#ifndef MICROPY_INCLUDED_VIRT_VIRT_H
#define MICROPY_INCLUDED_VIRT_VIRT_H

#include <stdint.h>

#include "py/mpconfig.h"

// End QEMU with an exit status. Semihosting in QEMU
// (-semihosting-config enable=on,target=native) passes the status; without
// it the machine is powered off through the firmware (PSCI, SBI: QEMU exits
// with 0), or, in RISC-V M-mode, through the SiFive test device, which
// passes the status too.
NORETURN void virt_exit(int status);
// Reboot through the firmware (PSCI SYSTEM_RESET, SBI system reset) or the
// SiFive test device.
NORETURN void virt_reset(void);

#endif // MICROPY_INCLUDED_VIRT_VIRT_H
