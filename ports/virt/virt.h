// Board-level services of the port: power control and the devices found at boot.
#ifndef MICROPY_INCLUDED_VIRT_VIRT_H
#define MICROPY_INCLUDED_VIRT_VIRT_H

#include <stdint.h>

#include "py/mpconfig.h"

// End QEMU with an exit status. Needs semihosting in QEMU
// (-semihosting-config enable=on,target=native) to pass the status; without
// it the machine is powered off through PSCI and QEMU exits with 0.
NORETURN void virt_exit(int status);
// Reboot through PSCI SYSTEM_RESET.
NORETURN void virt_reset(void);

#endif // MICROPY_INCLUDED_VIRT_VIRT_H
