// Host tests of the ephemeral TCP ports, on lwIP's own tcp.c (built from
// LWIP_DIR with tests/host/lwip_opts): tcp_init seeds the next port from
// LWIP_RAND and tcp_bind(pcb, any, 0) takes one, as connect() does.
#include "check.h"
#include "lwip/init.h"
#include "lwip/priv/tcp_priv.h" // tcp_init
#include "lwip/tcp.h"
#include <stdbool.h>

unsigned int test_lwip_rand;
u32_t sys_now(void) {
    return 0;
}

// The port a pcb bound to port 0 gets right after tcp_init with rand; 0 and
// *err set if the bind failed.
static u16_t first_port(unsigned int rand, err_t *err) {
    test_lwip_rand = rand;
    tcp_init();
    struct tcp_pcb *pcb = tcp_new();
    CHECK(pcb != NULL);
    *err = tcp_bind(pcb, IP_ADDR_ANY, 0);
    u16_t port = *err == ERR_OK ? pcb->local_port : 0;
    tcp_abort(pcb);
    return port;
}

static bool ephemeral(u16_t port) {
    return port >= 0xc000 && port <= 0xfffe;
}

#ifndef STOCK_PORT_RANGE
// Every seed (its low 16 bits, and some with high bits) gives a port of
// the range: the one that ends in 0x3fff wrapped to 0 with lwIP's macro.
static void test_first_port_in_range(void) {
    for (unsigned int r = 0; r <= 0x1ffff; ++r) {
        unsigned int rand = r <= 0xffff ? r : (r << 15) ^ 0xdeadbeef;
        err_t err;
        u16_t port = first_port(rand, &err);
        if (err != ERR_OK || !ephemeral(port)) {
            fprintf(stderr, "rand 0x%x: err %d port %u\n", rand, err, port);
            CHECK(0);
        }
    }
}

// Ports handed out one after another stay in the range across its end.
static void test_ports_wrap_in_range(void) {
    test_lwip_rand = 0x3ffd; // the range's last port but one comes first
    tcp_init();
    struct tcp_pcb *pcbs[6];
    u16_t want[6] = { 0xfffe, 0xc000, 0xc001, 0xc002, 0xc003, 0xc004 };
    for (int i = 0; i < 6; ++i) {
        pcbs[i] = tcp_new();
        CHECK(pcbs[i] != NULL);
        CHECK_EQ_U(tcp_bind(pcbs[i], IP_ADDR_ANY, 0), ERR_OK);
        CHECK_EQ_U(pcbs[i]->local_port, want[i]);
    }
    for (int i = 0; i < 6; ++i) {
        tcp_abort(pcbs[i]);
    }
}

#else
// lwIP 2.2.1's own macro: the seed 0x3fff gives ERR_BUF (ENOBUFS from
// connect()). When this fails, lwIP has fixed it and tcp_port_range.h can go.
static void test_stock_range_fails(void) {
    err_t err;
    u16_t port = first_port(0x3fff, &err);
    CHECK_EQ_U(err, ERR_BUF);
    CHECK_EQ_U(port, 0);
    port = first_port(0x1234, &err);
    CHECK_EQ_U(err, ERR_OK);
    CHECK(ephemeral(port));
}
#endif

static const test_case_t cases[] = {
    #ifdef STOCK_PORT_RANGE
    { "stock_range_fails", test_stock_range_fails },
    #else
    { "first_port_in_range", test_first_port_in_range },
    { "ports_wrap_in_range", test_ports_wrap_in_range },
    #endif
};

int main(int argc, char **argv) {
    lwip_init();
    return run_cases(cases, sizeof(cases) / sizeof(cases[0]), argc, argv);
}
