# RISC-V (RV32, RV64): start-up and the trap vector, traps and faults, the
# timer and SBI calls; picolibc's C library and libm (Debian's
# picolibc-riscv64-unknown-elf), no floating-point unit used.
ARCH_SRC_S = start.S
ARCH_SRC_C = trap.c cpu.c
ARCH_LIB_SRC_C =
LIBM_DBL =
CFLAGS += -DMP_NEED_LOG2=0 -DRISCV_MMODE=$(RISCV_MMODE)
PICOLIBC_DIR ?= /usr/lib/picolibc/riscv64-unknown-elf
# The library variant (multilib) is picked by the link flags: with _zicsr in
# -march, gcc 12 picks the rv64 one for an rv32 build.
RISCV_MULTILIB := $(shell $(CC) $(RISCV_LINK_FLAGS) -print-multi-directory)
LIBS = $(PICOLIBC_DIR)/lib/$(RISCV_MULTILIB)/libm.a $(PICOLIBC_DIR)/lib/$(RISCV_MULTILIB)/libc.a \
	$(shell $(CC) $(RISCV_LINK_FLAGS) -print-libgcc-file-name)
LDFLAGS += -Wl,--no-warn-rwx-segments
