// Power control: QEMU exit with a status (semihosting), then the firmware's
// off and reset (PSCI on ARM, SBI on RISC-V: cpu.h), then the SiFive test
// device ("sifive,test0", RISC-V virt's syscon), which also carries a status.
#include "cpu.h"
#include "fdt.h"
#include "virt.h"
#include "virt_io.h"

// Semihosting (ARM IHI 0036; the RISC-V semihosting spec uses the same
// calls): SYS_EXIT_EXTENDED carries an exit status.
#define SYS_EXIT_EXTENDED (0x20)
#define ADP_STOPPED_APPLICATION_EXIT (0x20026)

// The test device's finisher register (QEMU hw/misc/sifive_test.c).
#define FINISHER_FAIL (0x3333) // exit status in bits 16 and up
#define FINISHER_PASS (0x5555)
#define FINISHER_RESET (0x7777)

static NORETURN void halt(void) {
    for (;;) {
        cpu_irq_save();
        cpu_wfi();
    }
}

static void finisher_write(uint32_t val) {
    uint64_t addr, size;
    int node = fdt_find_compatible(FDT_NODE_NONE, "sifive,test0");
    if (node != FDT_NODE_NONE && fdt_get_reg(node, 0, &addr, &size) && size >= 4) {
        virt_io_write32((uintptr_t)addr, val);
    }
}

void virt_exit(int status) {
    // The block holds two words of the pointer size.
    uintptr_t block[2] = { ADP_STOPPED_APPLICATION_EXIT, (uintptr_t)status };
    virt_semihosting_call(SYS_EXIT_EXTENDED, block); // returns if semihosting is off
    if (status == 0) {
        cpu_system_off();
    }
    finisher_write(status == 0 ? FINISHER_PASS : FINISHER_FAIL | ((uint32_t)status << 16));
    cpu_system_off();
    halt();
}

void virt_reset(void) {
    cpu_system_reset();
    finisher_write(FINISHER_RESET);
    halt();
}
