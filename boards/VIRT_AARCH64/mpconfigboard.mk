# QEMU "virt" machine, AArch64 (Cortex-A53 and later, EL1).
ARCH = aarch64
CROSS_COMPILE ?= aarch64-linux-gnu-

# Cortex-A53 code runs on every AArch64 CPU QEMU has (a72, max); headers
# and the C library from picolibc (arch/aarch64/arch.mk).
CPU_FLAGS = -mcpu=cortex-a53 --specs=picolibc.specs

# How to boot it: the plain command needs nothing beyond these.
QEMU_SYSTEM = qemu-system-aarch64
QEMU_MACHINE_ARGS = -M virt -cpu cortex-a53
QEMU_MEM ?= 128M
