# QEMU "virt" machine, RV32 in M-mode: Debian 12's QEMU has no 32-bit
# OpenSBI (QEMU's default -bios for riscv32), so it boots with -bios none.
ARCH = riscv
CROSS_COMPILE ?= riscv64-unknown-elf-
RISCV_MMODE = 1

# Integer code (no FPU use); headers and the C library from picolibc.
CPU_FLAGS = -march=rv32imac_zicsr -mabi=ilp32 -mcmodel=medany --specs=picolibc.specs
RISCV_LINK_FLAGS = -march=rv32imac -mabi=ilp32

# Native emitter and frozen native code: RV32IMC.
MPY_CROSS_FLAGS += -march=rv32imc

# How to boot it: the plain command needs nothing beyond these.
QEMU_SYSTEM = qemu-system-riscv32
QEMU_MACHINE_ARGS = -M virt -bios none
QEMU_MEM ?= 128M
