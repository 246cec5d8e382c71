// lwIP's memory at run time, a region taken from RAM at boot. Its memp
// pools (PCBs, segments, receive pbufs, timeouts; MEMP_MEM_MALLOC) take two
// thirds: memp.c calls virt_lwip_pool_alloc/free, with the pool's
// descriptor, for mem_malloc/mem_free (memp_glue.h). lwIP's own heap (mem.c,
// for PBUF_RAM) takes the rest, its size and place given at run time
// (lwipopts.h). The TCP PCB pool has a limit, the connection limit. Past it
// lwIP drops a SYN to a listening socket and the peer waits through its SYN
// retries; here it gets an RST at once, like a closed port.
#include "lwip/ip.h"
#include "lwip/mem.h"
#include "lwip/memp.h"
#include "lwip/priv/memp_priv.h"
#include "lwip/priv/tcp_priv.h"
#include "lwip/prot/tcp.h"

#include "lwip_memory.h"
#include "size_pools.h"

// The pools get 1/32 of RAM (4 MiB of 128 MiB) up to 16 MiB, the heap half
// that (the send buffers of as many connections); lwIP's static pools and
// heap were about 2 MB in all. One TCP connection per 2 KiB of the pools (an
// idle one takes about 200 bytes, the rest is for data in flight): 2048 at
// -m 128M, 1024 at -m 64M, 8192 from -m 512M.
#define LWIP_MEMORY_RAM_SHARE (32)
#define LWIP_MEMORY_POOLS_MIN (512 * 1024)
#define LWIP_MEMORY_POOLS_MAX (16 * 1024 * 1024)
#define LWIP_MEMORY_PER_TCP (2 * 1024)
// mem.c wants room for two struct mem and its alignment past MEM_SIZE.
#define LWIP_MEMORY_HEAP_SLACK (64)

size_t virt_lwip_heap_size;
void *virt_lwip_heap;

static size_pools_t lwip_pools;
static size_pool_t *lwip_tcp_pool;
static size_t lwip_tcp_request; // bytes memp.c asks for a struct tcp_pcb
static size_t lwip_syn_refused;

size_t virt_lwip_memory_size_for(size_t ram_size) {
    size_t pools = ram_size / LWIP_MEMORY_RAM_SHARE;
    pools = pools < LWIP_MEMORY_POOLS_MIN ? LWIP_MEMORY_POOLS_MIN
        : pools > LWIP_MEMORY_POOLS_MAX ? LWIP_MEMORY_POOLS_MAX : pools;
    return (pools + pools / 2) & ~(size_t)(SIZE_POOLS_ALIGN - 1);
}

void virt_lwip_memory_init(void *base, size_t size) {
    size_t heap = (size / 3) & ~(size_t)(SIZE_POOLS_ALIGN - 1);
    virt_lwip_heap = base;
    virt_lwip_heap_size = heap - LWIP_MEMORY_HEAP_SLACK;
    size_t pools = size - heap;
    size_pools_init(&lwip_pools, (uint8_t *)base + heap, pools);
    lwip_tcp_request = MEMP_SIZE + MEMP_ALIGN_SIZE(memp_pools[MEMP_TCP_PCB]->size);
    lwip_tcp_pool = size_pools_find(&lwip_pools, (uintptr_t)memp_pools[MEMP_TCP_PCB], lwip_tcp_request, true);
    lwip_tcp_pool->limit = pools / LWIP_MEMORY_PER_TCP;
}

// memp.c's mem_malloc and mem_free (memp_glue.h), with the pool's descriptor.
// A listening pcb gets a block the size of a struct tcp_pcb. modlwip 1.25
// wrote fields of a full pcb into listeners (modlwip_glue.h now stops the
// writes found), 120 and 144 bytes past the end of the 96-byte struct
// tcp_pcb_listen (64-bit): with carved blocks, into a tcp_seg of another
// connection, and the guest crashed when its ACK came. A write of that kind
// not yet found stays within the listener's own block.
void *virt_lwip_pool_alloc(const struct memp_desc *desc, size_t size) {
    if (desc == memp_pools[MEMP_TCP_PCB_LISTEN] && size < lwip_tcp_request) {
        size = lwip_tcp_request;
    }
    return size_pools_alloc(&lwip_pools, (uintptr_t)desc, size);
}

void virt_lwip_pool_free(const struct memp_desc *desc, void *ptr) {
    (void)desc; // the block's header says whose it is
    if (!size_pools_free(&lwip_pools, ptr)) {
        LWIP_ASSERT("memp_free of a block not from the pools", 0);
    }
}

// LWIP_HOOK_TCP_INPACKET_PCB for a listening pcb (lwipopts.h). A SYN that
// would find no PCB is refused, unless a TIME_WAIT PCB is there for tcp_alloc
// to take.
err_t virt_lwip_tcp_listen_hook(struct tcp_pcb *lpcb, const struct tcp_hdr *hdr, const struct pbuf *p) {
    if ((TCPH_FLAGS(hdr) & (TCP_SYN | TCP_ACK | TCP_RST)) != TCP_SYN
        || size_pools_can_alloc(&lwip_pools, lwip_tcp_pool->key, lwip_tcp_request)
        || tcp_tw_pcbs != NULL) {
        return ERR_OK;
    }
    lwip_syn_refused++;
    // As tcp_listen_input answers an ACK to a listening pcb; the SYN counts one.
    tcp_rst(lpcb, 0, hdr->seqno + p->tot_len + 1, ip_current_dest_addr(), ip_current_src_addr(),
        hdr->dest, hdr->src);
    return ERR_ABRT;
}

void virt_lwip_memory_stats(virt_lwip_memory_stats_t *stats) {
    stats->size = lwip_pools.end - lwip_pools.start;
    stats->in_use = lwip_pools.in_use;
    stats->peak = lwip_pools.peak;
    stats->failed = lwip_pools.failed;
    stats->tcp = lwip_tcp_pool ? lwip_tcp_pool->live : 0;
    stats->tcp_max = lwip_tcp_pool ? lwip_tcp_pool->limit : 0;
    stats->tcp_refused = lwip_tcp_pool ? lwip_tcp_pool->refused : 0;
    stats->syn_refused = lwip_syn_refused;
    stats->bad_frees = lwip_pools.bad_frees;
    stats->tcp_block = lwip_tcp_pool ? lwip_tcp_pool->size : 0;
    const size_pool_t *listen = size_pools_get(&lwip_pools, (uintptr_t)memp_pools[MEMP_TCP_PCB_LISTEN]);
    stats->listen_block = listen ? listen->size : 0;
}

