// Host build of the port's arch/<arch>/virt_io.h: the fake devices of the
// host tests run in the same thread, so C11 fences stand in for the
// architecture's barriers, buffer addresses are the pointers, and register
// accesses go to the test's fake devices.
#ifndef VIRT_HOST_TEST_VIRT_IO_H
#define VIRT_HOST_TEST_VIRT_IO_H

#include <stdint.h>

#define virt_io_mb() __atomic_thread_fence(__ATOMIC_SEQ_CST)
#define virt_io_rmb() __atomic_thread_fence(__ATOMIC_ACQUIRE)
#define virt_io_wmb() __atomic_thread_fence(__ATOMIC_RELEASE)

static inline uint64_t virt_io_dma_addr(const void *p) {
    return (uint64_t)(uintptr_t)p;
}

// Device windows are where the test's fake devices say they are.
static inline uintptr_t virt_io_map(uint64_t phys, uint64_t size) {
    return size != 0 ? (uintptr_t)phys : 0;
}

// Device registers: a test that builds a transport provides these (its fake
// register file); others never call them.
uint8_t virt_io_read8(uintptr_t addr);
uint16_t virt_io_read16(uintptr_t addr);
uint32_t virt_io_read32(uintptr_t addr);
void virt_io_write8(uintptr_t addr, uint8_t val);
void virt_io_write16(uintptr_t addr, uint16_t val);
void virt_io_write32(uintptr_t addr, uint32_t val);

#endif // VIRT_HOST_TEST_VIRT_IO_H
