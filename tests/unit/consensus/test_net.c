/*
 * test_net.c — the transport's link watch (cons_net.c, peers_watch) on two
 * real cons_net endpoints over 127.0.0.1 (nng, plaintext): a peer that takes
 * a request and answers it keeps its connection; one that takes requests and
 * never answers has the sender's dialer rebuilt once CONS_NET_REPLY_MS has
 * passed (not before), the next request then arrives over the new
 * connection, and the second rebuild waits twice as long; a frame that asks
 * nothing (a forward) starts no wait.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "consensus/cons_codec.h"
#include "consensus/cons_net.h"
#include "helper_util.h"
#include "mono/mono.h"

#define REPLY_MS 3000 /* CONS_NET_REPLY_MS */

static const uint8_t chain[CONS_CHAIN_ID_LEN] = {0x5e, 0x77};

typedef struct end {
    cons_net *net;
    char addr[64];
    uint64_t id;
    atomic_int appends, results, forwards;
} end;

static void on_raft(void *ctx, cons_wire *w)
{
    end *e = ctx;
    if (w->kind == RAFT_APPEND_ENTRIES)
        atomic_fetch_add(&e->appends, 1);
    else if (w->kind == RAFT_APPEND_ENTRIES_RESULT)
        atomic_fetch_add(&e->results, 1);
    cons_wire_release(w);
    free(w);
}

static void on_tx(void *ctx, const uint8_t *tx, size_t len)
{
    (void)tx;
    (void)len;
    end *e = ctx;
    atomic_fetch_add(&e->forwards, 1);
}

static void open_end(end *e, uint64_t id)
{
    memset(e, 0, sizeof *e);
    e->id = id;
    snprintf(e->addr, sizeof e->addr, "tcp://127.0.0.1:%d", helper_free_port());
    cons_net_cbs cbs = {.ctx = e, .raft = on_raft, .tx = on_tx};
    char err[256] = "";
    int rv = cons_net_open(&e->net, id, chain, e->addr, NULL, NULL, 0, &cbs, err, sizeof err);
    if (rv != 0)
        fail_msg("cons_net_open %s: %s", e->addr, err);
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* An empty AppendEntries (a heartbeat) or its result from `from` to `to`. */
static void send_kind(end *from, end *to, int type)
{
    struct raft_message m = {
        .type = (unsigned short)type, .server_id = to->id, .server_address = to->addr};
    if (type == RAFT_APPEND_ENTRIES)
        m.append_entries.term = 1;
    else
        m.append_entries_result.term = 1;
    uint8_t *buf;
    size_t len;
    assert_int_equal(cons_codec_encode_raft(&buf, &len, chain, from->id, from->addr, &m), 0);
    assert_int_equal(cons_net_send(from->net, to->id, to->addr, type, buf, len), 0);
}

static uint64_t rebuilt(end *e)
{
    cons_net_stats st;
    cons_net_stats_get(e->net, &st);
    return st.links_rebuilt;
}

/* The consensus loop's part: tick every 10 ms for ms. */
static void tick_for(end *e, int ms)
{
    uint64_t until = mono_ms() + (uint64_t)ms;
    while (mono_ms() < until) {
        cons_net_tick(e->net, NULL, 0);
        sleep_ms(10);
    }
}

static void wait_count(atomic_int *c, int want, end *ticking)
{
    for (int i = 0; i < 500 && atomic_load(c) < want; i++)
        tick_for(ticking, 10);
    assert_true(atomic_load(c) >= want);
}

static void test_answered_requests_keep_the_link(void **st)
{
    (void)st;
    end a, b;
    open_end(&a, 1);
    open_end(&b, 2);
    for (int i = 0; i < 8; i++) { /* a request every 500 ms, each answered */
        send_kind(&a, &b, RAFT_APPEND_ENTRIES);
        wait_count(&b.appends, i + 1, &a);
        send_kind(&b, &a, RAFT_APPEND_ENTRIES_RESULT);
        wait_count(&a.results, i + 1, &a);
        tick_for(&a, 500);
    }
    assert_int_equal(rebuilt(&a), 0);
    cons_net_close(a.net);
    cons_net_close(b.net);
}

static void test_a_silent_peer_gets_a_new_link_then_a_longer_wait(void **st)
{
    (void)st;
    end a, b;
    open_end(&a, 1);
    open_end(&b, 2);
    uint64_t t0 = mono_ms();
    send_kind(&a, &b, RAFT_APPEND_ENTRIES);
    wait_count(&b.appends, 1, &a);
    /* requests keep going out, none is answered */
    while (mono_ms() - t0 < REPLY_MS - 300) {
        send_kind(&a, &b, RAFT_APPEND_ENTRIES);
        tick_for(&a, 100);
    }
    assert_int_equal(rebuilt(&a), 0); /* not before CONS_NET_REPLY_MS */
    while (rebuilt(&a) == 0 && mono_ms() - t0 < REPLY_MS + 2000)
        tick_for(&a, 20);
    uint64_t first = mono_ms();
    assert_int_equal(rebuilt(&a), 1);
    assert_true(first - t0 >= REPLY_MS);
    /* the next request reaches the peer over the new connection */
    int before = atomic_load(&b.appends);
    send_kind(&a, &b, RAFT_APPEND_ENTRIES);
    wait_count(&b.appends, before + 1, &a);
    /* still unanswered: the second rebuild waits 2 * CONS_NET_REPLY_MS */
    while (mono_ms() - first < 2 * REPLY_MS - 300) {
        send_kind(&a, &b, RAFT_APPEND_ENTRIES);
        tick_for(&a, 100);
    }
    assert_int_equal(rebuilt(&a), 1);
    while (rebuilt(&a) == 1 && mono_ms() - first < 2 * REPLY_MS + 2000)
        tick_for(&a, 20);
    assert_int_equal(rebuilt(&a), 2);
    cons_net_close(a.net);
    cons_net_close(b.net);
}

static void test_a_frame_that_asks_nothing_starts_no_wait(void **st)
{
    (void)st;
    end a, b;
    open_end(&a, 1);
    open_end(&b, 2);
    const uint8_t tx[] = {0xa0};
    const uint8_t *txs[] = {tx};
    const size_t lens[] = {sizeof tx};
    uint64_t t0 = mono_ms();
    while (mono_ms() - t0 < REPLY_MS + 800) {
        uint8_t *buf;
        size_t len;
        assert_int_equal(cons_codec_encode_forward(&buf, &len, chain, a.id, a.addr, txs, lens, 1),
                         0);
        assert_int_equal(cons_net_send(a.net, b.id, b.addr, CONS_KIND_FORWARD, buf, len), 0);
        tick_for(&a, 100);
    }
    wait_count(&b.forwards, 1, &a);
    assert_int_equal(rebuilt(&a), 0);
    cons_net_close(a.net);
    cons_net_close(b.net);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_answered_requests_keep_the_link),
        cmocka_unit_test(test_a_silent_peer_gets_a_new_link_then_a_longer_wait),
        cmocka_unit_test(test_a_frame_that_asks_nothing_starts_no_wait),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
