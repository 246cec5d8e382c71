# QEMU "virt" machine, RV64GC in S-mode under QEMU's default OpenSBI.
ARCH = riscv
CROSS_COMPILE ?= riscv64-unknown-elf-
RISCV_MMODE = 0

# Integer code (no FPU use); headers and the C library from picolibc.
CPU_FLAGS = -march=rv64imac_zicsr -mabi=lp64 -mcmodel=medany --specs=picolibc.specs
RISCV_LINK_FLAGS = -march=rv64imac -mabi=lp64

# How to boot it: the plain command needs nothing beyond these.
QEMU_SYSTEM = qemu-system-riscv64
QEMU_MACHINE_ARGS = -M virt
QEMU_MEM ?= 128M
