# AArch64: start-up, vectors, the MMU's identity map, fault reports, sqrt;
# picolibc's C library (Debian's picolibc-aarch64-linux-gnu) for the string
# functions. Debian's aarch64-linux-gnu-gcc makes position-independent
# executables by default: this image is linked at its address.
ARCH_SRC_S = start.S mmu.S
ARCH_SRC_C = fault.c
# Double-precision maths from picolibc's libm (MicroPython's lib/libm_dbl
# does not compile against picolibc's headers); it has log2.
ARCH_LIB_SRC_C =
LIBM_DBL =
CFLAGS += -DMP_NEED_LOG2=0
PICOLIBC_DIR ?= /usr/lib/picolibc/aarch64-linux-gnu
CFLAGS += -fno-pie
# The Linux compiler says it targets Linux: this image runs on no OS (mbedTLS
# would call getpid() for it).
CFLAGS += -U__linux__ -U__linux -Ulinux -U__gnu_linux__ -U__unix__ -U__unix -Uunix
LDFLAGS += -no-pie
LIBS = $(PICOLIBC_DIR)/lib/libm.a $(PICOLIBC_DIR)/lib/libc.a $(shell $(CC) $(CPU_FLAGS) -print-libgcc-file-name)
