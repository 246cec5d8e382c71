# QEMU "virt" machine, 32-bit ARM (Cortex-A15, ARMv7VE with VFPv4/NEON).
ARCH = arm
CROSS_COMPILE ?= arm-none-eabi-

# C code is Thumb-2, hard-float; the vectors and start-up are ARM state.
CPU_FLAGS = -mcpu=cortex-a15 -mfpu=neon-vfpv4 -mfloat-abi=hard -mthumb

# Native emitter and frozen native code target Thumb-2 with double-precision VFP.
MPY_CROSS_FLAGS += -march=armv7emdp

# How to boot it: the plain command needs nothing beyond these.
QEMU_SYSTEM = qemu-system-arm
QEMU_MACHINE_ARGS = -M virt -cpu cortex-a15
QEMU_MEM ?= 128M
