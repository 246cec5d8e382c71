// Included first into lwIP's memp.c only (the Makefile): with
// MEMP_MEM_MALLOC its pools call mem_malloc/mem_free, which here become the
// port's pools (net/lwip_memory.c), told which pool asks (desc is in scope
// at both calls). lwIP's mem.h is read first, so its declarations keep their
// names; the rest of lwIP keeps mem.c's heap.
#ifndef MICROPY_INCLUDED_VIRT_MEMP_GLUE_H
#define MICROPY_INCLUDED_VIRT_MEMP_GLUE_H

#include "lwip/opt.h"
#include "lwip/mem.h"

struct memp_desc;
void *virt_lwip_pool_alloc(const struct memp_desc *desc, size_t size);
void virt_lwip_pool_free(const struct memp_desc *desc, void *ptr);

#define mem_malloc(size) virt_lwip_pool_alloc(desc, (size))
#define mem_free(ptr) virt_lwip_pool_free(desc, (ptr))

#endif // MICROPY_INCLUDED_VIRT_MEMP_GLUE_H
