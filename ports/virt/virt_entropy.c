// The port's entropy source; see virt_entropy.h.
#include "cpu.h"
#include "virt_entropy.h"
#include "virt_random.h"

static virtio_rng_t virt_rng;
static bool virt_rng_found;

void virt_entropy_init(void) {
    virt_rng_found = virtio_rng_init(&virt_rng, 0) || virt_rng.dev.device_id == VIRTIO_ID_ENTROPY;
}

bool virt_entropy_from_device(void) {
    return virt_rng_found && virt_rng.ready;
}

virtio_rng_t *virt_entropy_device(void) {
    return virt_rng_found ? &virt_rng : NULL;
}

// The fallback: QEMU's counter follows the host's clock, so the low bits of
// successive readings carry the host's scheduling and cache jitter. Each
// output byte folds several readings into a 64-bit state through a
// multiply-xorshift mixer (SplitMix64's finaliser).
static uint64_t jitter_state;

static uint64_t mix64(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static void jitter_read(uint8_t *out, size_t len) {
    for (size_t i = 0; i < len; ++i) {
        for (int k = 0; k < 8; ++k) {
            uint64_t t = cpu_counter();
            for (volatile uint32_t spin = t & 0x3f; spin > 0; --spin) {
            }
            jitter_state = mix64(jitter_state + 0x9e3779b97f4a7c15ull + (t ^ (cpu_counter() << 32)));
        }
        out[i] = (uint8_t)(jitter_state >> 56);
    }
}

void virt_entropy_read(uint8_t *out, size_t len) {
    if (virt_entropy_from_device() && virtio_rng_read(&virt_rng, out, len) == 0) {
        return;
    }
    jitter_read(out, len); // no device, or it just failed (virt_rng.error says why)
}

// Cheap random numbers for drivers and lwIP (a MAC, ports, ISNs; called
// often, so not a device request each): xorshift32 seeded once from the
// entropy source, stirred by the free-running counter. Not cryptographic.
uint32_t virt_random_u32(void) {
    static uint32_t x;
    while (x == 0) { // xorshift never leaves 0
        virt_entropy_read((uint8_t *)&x, sizeof(x));
    }
    x ^= (uint32_t)cpu_counter();
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return x;
}
