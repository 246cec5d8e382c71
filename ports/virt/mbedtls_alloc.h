// mbedTLS's calloc/free: small blocks from size classes, kept in chunks of
// the GC heap, so that a handshake's thousands of short-lived bignums do
// not each search the GC's allocation table (a third of a handshake's
// instructions before, README). Larger blocks go to the GC heap directly.
#ifndef MICROPY_INCLUDED_VIRT_MBEDTLS_ALLOC_H
#define MICROPY_INCLUDED_VIRT_MBEDTLS_ALLOC_H

#include <stddef.h>

// Largest block served from a size class.
#define MBEDTLS_ALLOC_SMALL_MAX (1024)

void *virt_mbedtls_calloc(size_t nmemb, size_t size);
void virt_mbedtls_free(void *ptr);

// Give the chunks that hold no block back to the GC heap (called after
// every collection, whose finalisers free TLS objects, so gc.mem_free()
// after gc.collect() counts all of it once they are gone).
void virt_mbedtls_alloc_trim(void);

// Forget every chunk: a soft reset's gc_sweep_all() has freed them all.
void virt_mbedtls_alloc_reset(void);

// Bytes held in chunks, and blocks handed out from them (the host test).
size_t virt_mbedtls_alloc_chunk_bytes(void);
size_t virt_mbedtls_alloc_live_blocks(void);

// Where chunks and large blocks come from: MicroPython's tracked
// allocations (py/malloc.c), which the GC keeps alive.
void *m_tracked_calloc(size_t nmemb, size_t size);
void m_tracked_free(void *ptr);

#endif // MICROPY_INCLUDED_VIRT_MBEDTLS_ALLOC_H
