/*
 * test_api.c — the edges of consensus.h: configuration refused with a clear
 * error, every cons_submit refusal (empty, too large, no leader, queue full at
 * queue_max + 1, stopped), a garbage frame on the raft port counted and
 * survived, a failing FSM apply halting the node, leader_changed delivered
 * after the barrier.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <nng/nng.h>
#include <nng/protocol/pipeline0/push.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "consensus/consensus.h"
#include "helper_util.h"

typedef struct fsm1 {
    pthread_mutex_t mu;
    uint64_t applied;
    int fail_apply;  /* apply returns this */
    bool fail_build; /* build refuses: queue never drains */
    int leader_true, leader_false;
    unsigned builds;
} fsm1;

static int f_apply(void *ctx, uint64_t index, const void *data, size_t len)
{
    fsm1 *f = ctx;
    (void)data;
    (void)len;
    pthread_mutex_lock(&f->mu);
    f->applied = index;
    int rv = f->fail_apply;
    pthread_mutex_unlock(&f->mu);
    return rv;
}
static uint64_t f_applied(void *ctx)
{
    fsm1 *f = ctx;
    pthread_mutex_lock(&f->mu);
    uint64_t a = f->applied;
    pthread_mutex_unlock(&f->mu);
    return a;
}
static int f_snapshot(void *ctx, void **buf, size_t *len)
{
    (void)ctx;
    *buf = malloc(1);
    *len = 1;
    return 0;
}
static int f_restore(void *ctx, const void *buf, size_t len)
{
    (void)ctx;
    (void)buf;
    (void)len;
    return 0;
}
static int f_build(void *ctx, const void *const *txs, const size_t *lens, size_t n, void **out,
                   size_t *out_len, size_t *used)
{
    fsm1 *f = ctx;
    pthread_mutex_lock(&f->mu);
    bool fail = f->fail_build;
    f->builds++;
    pthread_mutex_unlock(&f->mu);
    if (fail)
        return -1;
    (void)txs;
    (void)lens;
    *out = malloc(8);
    memset(*out, 0, 8);
    *out_len = 8;
    *used = n;
    return 0;
}
static void f_leader(void *ctx, bool is_leader)
{
    fsm1 *f = ctx;
    pthread_mutex_lock(&f->mu);
    if (is_leader)
        f->leader_true++;
    else
        f->leader_false++;
    pthread_mutex_unlock(&f->mu);
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static cons_config base_config(const char *dir, fsm1 *f, int port)
{
    cons_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.id = 1;
    cfg.data_dir = dir;
    cfg.npeers = 1;
    cfg.peers[0].id = 1;
    snprintf(cfg.peers[0].addr, sizeof cfg.peers[0].addr, "tcp://127.0.0.1:%d", port);
    cfg.queue_max = 8;
    cfg.fsm = (cons_fsm){.ctx = f,
                         .apply = f_apply,
                         .applied_index = f_applied,
                         .snapshot = f_snapshot,
                         .restore = f_restore,
                         .build = f_build,
                         .leader_changed = f_leader};
    return cfg;
}

static void wait_role(cons *c, int role)
{
    for (int i = 0; i < 500; i++) {
        cons_status st;
        cons_status_get(c, &st);
        if (st.role == role && st.leader_id)
            return;
        sleep_ms(10);
    }
    fail_msg("role %d not reached", role);
}

static void test_api_bad_config_refused_with_message(void **state)
{
    (void)state;
    char *dir = helper_tmpdir("api");
    fsm1 f = {.mu = PTHREAD_MUTEX_INITIALIZER};
    cons *c = NULL;
    char err[256];
    cons_config cfg = base_config(dir, &f, helper_free_port());
    cfg.id = 2; /* not among peers */
    assert_int_equal(cons_start(&c, &cfg, err, sizeof err), CONS_ERR_INVALID);
    assert_non_null(strstr(err, "own id"));
    assert_null(c);
    cfg = base_config(dir, &f, helper_free_port());
    cfg.fsm.build = NULL;
    assert_int_equal(cons_start(&c, &cfg, err, sizeof err), CONS_ERR_INVALID);
    cfg = base_config(dir, &f, helper_free_port());
    cfg.peers[1] = cfg.peers[0];
    cfg.npeers = 2;
    assert_int_equal(cons_start(&c, &cfg, err, sizeof err), CONS_ERR_INVALID);
    cfg = base_config("/nonexistent/dir", &f, helper_free_port());
    assert_int_equal(cons_start(&c, &cfg, err, sizeof err), CONS_ERR_IO);
    cfg = base_config(dir, &f, helper_free_port());
    snprintf(cfg.peers[0].addr, sizeof cfg.peers[0].addr, "bogus://x");
    assert_int_equal(cons_start(&c, &cfg, err, sizeof err), CONS_ERR_NET);
    assert_null(c);
    assert_string_equal(cons_strerror(CONS_ERR_QUEUE_FULL), "transaction queue full");
    assert_string_equal(cons_strerror(12345), "unknown error");
    assert_string_equal(cons_role_name(2), "leader");
    helper_rmtree(dir);
}

static void test_api_submit_refusals(void **state)
{
    (void)state;
    char *dir = helper_tmpdir("api");
    fsm1 f = {.mu = PTHREAD_MUTEX_INITIALIZER, .fail_build = true};
    cons *c = NULL;
    char err[256];
    /* two voters, only one running: no leader can be elected */
    cons_config cfg = base_config(dir, &f, helper_free_port());
    cfg.npeers = 2;
    cfg.peers[1].id = 2;
    snprintf(cfg.peers[1].addr, sizeof cfg.peers[1].addr, "tcp://127.0.0.1:%d", helper_free_port());
    assert_int_equal(cons_start(&c, &cfg, err, sizeof err), CONS_OK);
    assert_int_equal(cons_submit(c, "x", 0), CONS_ERR_INVALID);
    uint8_t *big = calloc(1, CONS_TX_MAX + 1);
    assert_int_equal(cons_submit(c, big, CONS_TX_MAX + 1), CONS_ERR_TOO_LARGE);
    free(big);
    sleep_ms(300);
    assert_int_equal(cons_submit(c, "x", 1), CONS_ERR_NO_LEADER);
    cons_stop(c);
    helper_rmtree(dir);

    /* single voter: leader at once; build refuses, so the queue fills */
    dir = helper_tmpdir("api");
    cfg = base_config(dir, &f, helper_free_port());
    assert_int_equal(cons_start(&c, &cfg, err, sizeof err), CONS_OK);
    wait_role(c, 2);
    for (size_t i = 0; i < cfg.queue_max; i++)
        assert_int_equal(cons_submit(c, "tx", 2), CONS_OK);
    sleep_ms(50); /* txs moved to the block stage still count */
    assert_int_equal(cons_submit(c, "tx", 2), CONS_ERR_QUEUE_FULL);
    pthread_mutex_lock(&f.mu);
    f.fail_build = false; /* now the queue drains */
    pthread_mutex_unlock(&f.mu);
    for (int i = 0; i < 200; i++) {
        cons_status st;
        cons_status_get(c, &st);
        if (st.queued == 0 && st.blocks_proposed > 0)
            break;
        sleep_ms(10);
    }
    assert_int_equal(cons_submit(c, "tx", 2), CONS_OK);
    cons_stop(c);
    helper_rmtree(dir);
}

static void test_api_leader_changed_after_barrier_and_garbage_survived(void **state)
{
    (void)state;
    char *dir = helper_tmpdir("api");
    fsm1 f = {.mu = PTHREAD_MUTEX_INITIALIZER};
    cons *c = NULL;
    char err[256];
    int port = helper_free_port();
    cons_config cfg = base_config(dir, &f, port);
    assert_int_equal(cons_start(&c, &cfg, err, sizeof err), CONS_OK);
    wait_role(c, 2);
    for (int i = 0; i < 200; i++) {
        pthread_mutex_lock(&f.mu);
        int lt = f.leader_true;
        pthread_mutex_unlock(&f.mu);
        if (lt)
            break;
        sleep_ms(10);
    }
    pthread_mutex_lock(&f.mu);
    assert_int_equal(f.leader_true, 1);
    assert_true(f.applied >= 1 || f.builds == 0); /* no build before the barrier */
    pthread_mutex_unlock(&f.mu);

    nng_socket s;
    assert_int_equal(nng_push0_open(&s), 0);
    assert_int_equal(nng_dial(s, cfg.peers[0].addr, NULL, 0), 0);
    const char junk[] = "\x50\x01\x01garbage-that-is-not-a-frame";
    for (int i = 0; i < 10; i++)
        assert_int_equal(nng_send(s, (void *)junk, sizeof junk, 0), 0);
    cons_status st;
    for (int i = 0; i < 200; i++) {
        cons_status_get(c, &st);
        if (st.msgs_malformed >= 10)
            break;
        sleep_ms(10);
    }
    assert_int_equal(st.msgs_malformed, 10);
    nng_close(s);
    assert_int_equal(cons_submit(c, "tx", 2), CONS_OK);
    wait_role(c, 2);
    cons_stop(c);
    pthread_mutex_lock(&f.mu);
    assert_int_equal(f.leader_false, 1); /* told on stop */
    pthread_mutex_unlock(&f.mu);
    helper_rmtree(dir);
}

static void test_api_failing_apply_halts_node(void **state)
{
    (void)state;
    char *dir = helper_tmpdir("api");
    fsm1 f = {.mu = PTHREAD_MUTEX_INITIALIZER, .fail_apply = 5};
    cons *c = NULL;
    char err[256];
    cons_config cfg = base_config(dir, &f, helper_free_port());
    assert_int_equal(cons_start(&c, &cfg, err, sizeof err), CONS_OK);
    wait_role(c, 2);
    cons_status st;
    int rv = CONS_OK;
    for (int i = 0; i < 300; i++) {
        if (rv == CONS_OK)
            rv = cons_submit(c, "tx", 2);
        cons_status_get(c, &st);
        if (st.stopped)
            break;
        sleep_ms(10);
    }
    assert_true(st.stopped);
    assert_int_equal(cons_submit(c, "tx", 2), CONS_ERR_STOPPED);
    cons_stop(c); /* still closes cleanly (ASan: no leak) */
    helper_rmtree(dir);
}

int main(void)
{
    if (!getenv("CONS_VERBOSE"))
        setenv("PROVENA_CONS_QUIET", "1", 0);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_api_bad_config_refused_with_message),
        cmocka_unit_test(test_api_submit_refusals),
        cmocka_unit_test(test_api_leader_changed_after_barrier_and_garbage_survived),
        cmocka_unit_test(test_api_failing_apply_halts_node),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
