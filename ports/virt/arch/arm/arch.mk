# 32-bit ARM: start-up and vectors, fault reports; newlib's C library.
ARCH_SRC_S = start.S
ARCH_SRC_C = fault.c mmu.c
# MicroPython's double-precision libm, sqrt in VFP.
LIBM_DBL = $(SRC_LIB_LIBM_DBL_C)
ARCH_LIB_SRC_C = $(SRC_LIB_LIBM_DBL_SQRT_HW_C)
# newlib's string functions (memcpy, memset, ...) are hand-tuned for ARMv7;
# MicroPython's shared/libc provides printf and the rest.
LIBS = $(shell $(CC) $(CPU_FLAGS) -print-file-name=libc.a) $(shell $(CC) $(CPU_FLAGS) -print-libgcc-file-name)
