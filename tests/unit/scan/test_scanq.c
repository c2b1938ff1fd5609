/*
 * test_scanq.c — the scan queue (scan/scanq.c) against a real ledger in a
 * temporary directory, with consensus replaced by a recording submit
 * function: what it signs, how it counts what it cannot list, and its bounds.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "chain/chain.h"
#include "genesis/genesis.h"
#include "scan/scanq.h"

#define GTIN     "09506000123455"
#define SEEN_MAX 64

typedef struct fixture {
    char dir[64];
    chain_genesis *g;
    chain *c;
    uint8_t brand_sk[32], brand_pub[32], node_sk[32], node_pub[32];
    /* the fake consensus */
    pthread_mutex_t mu;
    int result;            /* what submit answers (0: taken)... */
    unsigned refuse_first; /* ...after refusing this many batches */
    unsigned calls;
    uint64_t listed, dropped; /* summed over accepted batches */
    size_t largest;
    uint64_t nonces[SEEN_MAX]; /* of accepted batches, in order */
    size_t nnonces;
    uint8_t *last_tx;
    size_t last_len;
    /* a gate that holds the flusher inside submit (gmu/gcv) */
    pthread_mutex_t gmu;
    pthread_cond_t gcv;
    bool gate, entered;
} fixture;

static int fake_submit(void *ctx, const uint8_t *tx, size_t len)
{
    fixture *f = ctx;
    pthread_mutex_lock(&f->gmu);
    f->entered = true;
    pthread_cond_broadcast(&f->gcv);
    while (f->gate)
        pthread_cond_wait(&f->gcv, &f->gmu);
    pthread_mutex_unlock(&f->gmu);
    pthread_mutex_lock(&f->mu);
    int r = f->calls++ < f->refuse_first ? 1 : f->result;
    chain_tx t;
    char msg[64];
    if (r == 0 && chain_tx_decode(&t, tx, len, msg, sizeof msg) == CHAIN_OK) {
        assert_int_equal(t.type, CHAIN_TX_SCANS);
        f->listed += t.nscans;
        f->dropped += t.dropped;
        if (t.nscans > f->largest)
            f->largest = t.nscans;
        if (f->nnonces < SEEN_MAX)
            f->nonces[f->nnonces++] = t.nonce;
        chain_tx_free(&t);
        free(f->last_tx);
        f->last_tx = malloc(len);
        memcpy(f->last_tx, tx, len);
        f->last_len = len;
    }
    pthread_mutex_unlock(&f->mu);
    return r;
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    pthread_mutex_init(&f->mu, NULL);
    pthread_mutex_init(&f->gmu, NULL);
    pthread_cond_init(&f->gcv, NULL);
    f->result = 0;
    assert_int_equal(chain_key_generate(f->brand_sk, f->brand_pub), CHAIN_OK);
    assert_int_equal(chain_key_generate(f->node_sk, f->node_pub), CHAIN_OK);
    char bp[65], np[65], json[1024], msg[256];
    chain_hex(bp, f->brand_pub, 32);
    chain_hex(np, f->node_pub, 32);
    snprintf(json, sizeof json,
             "{\"chain\":\"unit\",\"time\":1767225600,"
             "\"brands\":[{\"id\":\"acme\",\"name\":\"Acme\",\"pub\":\"%s\",\"prefixes\":["
             "\"9506000\"]}],"
             "\"nodes\":[{\"id\":1,\"operator\":\"acme\",\"raft\":\"tcp://127.0.0.1:1\","
             "\"http\":\"http://127.0.0.1:2\",\"pub\":\"%s\"}]}",
             bp, np);
    assert_int_equal(genesis_parse(&f->g, json, strlen(json), msg, sizeof msg), CHAIN_OK);
    snprintf(f->dir, sizeof f->dir, "/tmp/provena-unit-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    chain_options opt = {.no_sync = true};
    assert_int_equal(chain_open(&f->c, f->dir, f->g, &opt, msg, sizeof msg), CHAIN_OK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    chain_close(f->c);
    chain_genesis_free(f->g);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
    if (system(cmd) != 0)
        return -1;
    free(f->last_tx);
    pthread_mutex_destroy(&f->mu);
    pthread_mutex_destroy(&f->gmu);
    pthread_cond_destroy(&f->gcv);
    free(f);
    return 0;
}

static chain_scan a_scan(const char *serial, const char *region)
{
    chain_scan s;
    memset(&s, 0, sizeof s);
    s.kind = CHAIN_SCAN_SCAN;
    snprintf(s.id.gtin, sizeof s.id.gtin, GTIN);
    snprintf(s.id.serial, sizeof s.id.serial, "%s", serial);
    snprintf(s.region, sizeof s.region, "%s", region);
    return s;
}

static void test_scanq_batch_signed_by_node_with_dropped_count(void **state)
{
    fixture *f = *state;
    scanq *q;
    assert_int_equal(scanq_start(&q, f->c, f->g->chain_id, f->node_sk, fake_submit, f), CHAIN_OK);
    chain_scan s = a_scan("abc", "DE");
    for (int i = 0; i < SCANQ_MAX + 5; i++)
        scanq_record(q, &s);
    scanq_stats st;
    scanq_stats_get(q, &st);
    assert_int_equal(st.recorded, SCANQ_MAX + 5);
    scanq_stop(q); /* flushes what is left */
    /* every recorded scan was either listed in a batch or counted as dropped,
     * whatever the flusher's timing; no batch exceeds its bound */
    assert_int_equal(f->listed + f->dropped, SCANQ_MAX + 5);
    assert_true(f->largest > 0 && f->largest <= SCANQ_BATCH_MAX);
    chain_tx tx;
    char msg[128];
    assert_int_equal(chain_tx_decode(&tx, f->last_tx, f->last_len, msg, sizeof msg), CHAIN_OK);
    assert_int_equal(tx.type, CHAIN_TX_SCANS);
    assert_memory_equal(tx.signer, f->node_pub, 32);
    chain_tx_free(&tx);
    uint8_t id[32];
    assert_int_equal(
        chain_tx_precheck(id, f->g->chain_id, NULL, f->last_tx, f->last_len, msg, sizeof msg), CHAIN_OK);
}

static void test_scanq_without_key_counts_and_submits_nothing(void **state)
{
    fixture *f = *state;
    scanq *q;
    assert_int_equal(scanq_start(&q, f->c, f->g->chain_id, NULL, fake_submit, f), CHAIN_OK);
    chain_scan s = a_scan("abc", "DE");
    for (int i = 0; i < 10; i++)
        scanq_record(q, &s);
    scanq_stats st;
    scanq_stats_get(q, &st);
    assert_int_equal(st.recorded, 10);
    scanq_stop(q);
    assert_int_equal(f->calls, 0);
}

static void test_scanq_invalid_record_dropped_and_reported(void **state)
{
    fixture *f = *state;
    scanq *q;
    assert_int_equal(scanq_start(&q, f->c, f->g->chain_id, f->node_sk, fake_submit, f), CHAIN_OK);
    chain_scan bad = a_scan("abc", "DE");
    bad.id.gtin[13] = bad.id.gtin[13] == '0' ? '1' : '0'; /* check digit off */
    scanq_record(q, &bad);
    chain_scan good = a_scan("abc", "DE");
    scanq_record(q, &good);
    scanq_stats st;
    scanq_stats_get(q, &st);
    assert_int_equal(st.recorded, 2);
    assert_int_equal(st.dropped, 1);
    scanq_stop(q);
    assert_int_equal(f->listed, 1);
    assert_int_equal(f->dropped, 1); /* the ledger learns of the one it did not see */
}

static void test_scanq_unusable_region_hint_cleared(void **state)
{
    fixture *f = *state;
    scanq *q;
    assert_int_equal(scanq_start(&q, f->c, f->g->chain_id, f->node_sk, fake_submit, f), CHAIN_OK);
    chain_scan s = a_scan("abc", "de"); /* lower case: not an ISO code */
    scanq_record(q, &s);
    scanq_stop(q);
    chain_tx tx;
    char msg[128];
    assert_int_equal(chain_tx_decode(&tx, f->last_tx, f->last_len, msg, sizeof msg), CHAIN_OK);
    assert_int_equal(tx.nscans, 1);
    assert_string_equal(tx.scans[0].region, "");
    chain_tx_free(&tx);
}

static void test_scanq_refused_batch_counted_in_the_next(void **state)
{
    fixture *f = *state;
    f->refuse_first = 1;
    scanq *q;
    assert_int_equal(scanq_start(&q, f->c, f->g->chain_id, f->node_sk, fake_submit, f), CHAIN_OK);
    chain_scan s = a_scan("abc", "DE");
    /* a full batch wakes the flusher at once; it is refused; the one record
     * after it goes in a batch that reports the whole refused one */
    for (int i = 0; i < SCANQ_BATCH_MAX + 1; i++)
        scanq_record(q, &s);
    scanq_stop(q);
    assert_int_equal(f->listed, 1);
    assert_int_equal(f->dropped, SCANQ_BATCH_MAX);
}

static void test_scanq_nonces_continue_before_apply(void **state)
{
    fixture *f = *state;
    scanq *q;
    assert_int_equal(scanq_start(&q, f->c, f->g->chain_id, f->node_sk, fake_submit, f), CHAIN_OK);
    chain_scan s = a_scan("abc", "DE");
    for (int i = 0; i < 2 * SCANQ_BATCH_MAX + 1; i++)
        scanq_record(q, &s);
    scanq_stop(q);
    /* nothing applied in between: the flusher goes on from its own last nonce */
    assert_int_equal(f->nnonces, 3);
    for (size_t i = 0; i < f->nnonces; i++)
        assert_int_equal(f->nonces[i], i + 1);
    assert_int_equal(f->listed, 2 * SCANQ_BATCH_MAX + 1);
}

/* While the flusher is held inside submit, the buffer takes exactly
 * SCANQ_MAX records and counts the next one as dropped; all of them are
 * accounted for once the flusher goes on. */
static void test_scanq_buffer_holds_max_then_drops(void **state)
{
    fixture *f = *state;
    f->gate = true;
    scanq *q;
    assert_int_equal(scanq_start(&q, f->c, f->g->chain_id, f->node_sk, fake_submit, f), CHAIN_OK);
    chain_scan s = a_scan("abc", "DE");
    scanq_record(q, &s);
    /* the flush of that one record enters submit within about SCANQ_FLUSH_MS */
    pthread_mutex_lock(&f->gmu);
    for (int i = 0; i < 600 && !f->entered; i++) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += 1;
        pthread_cond_timedwait(&f->gcv, &f->gmu, &ts);
    }
    bool entered = f->entered;
    pthread_mutex_unlock(&f->gmu);
    /* no assertion while the flusher is held: a failure must not leave it there */
    scanq_stats at = {0}, past = {0};
    if (entered) {
        for (int i = 0; i < SCANQ_MAX; i++)
            scanq_record(q, &s);
        scanq_stats_get(q, &at);
        scanq_record(q, &s);
        scanq_stats_get(q, &past);
    }
    pthread_mutex_lock(&f->gmu);
    f->gate = false;
    pthread_cond_broadcast(&f->gcv);
    pthread_mutex_unlock(&f->gmu);
    scanq_stop(q);
    assert_true(entered);
    assert_int_equal(at.recorded, 1 + SCANQ_MAX);
    assert_int_equal(at.dropped, 0);
    assert_int_equal(past.dropped, 1);
    assert_int_equal(f->listed, 1 + SCANQ_MAX);
    assert_int_equal(f->dropped, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_scanq_batch_signed_by_node_with_dropped_count, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_scanq_without_key_counts_and_submits_nothing, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_scanq_invalid_record_dropped_and_reported, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_scanq_unusable_region_hint_cleared, setup, teardown),
        cmocka_unit_test_setup_teardown(test_scanq_refused_batch_counted_in_the_next, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_scanq_nonces_continue_before_apply, setup, teardown),
        cmocka_unit_test_setup_teardown(test_scanq_buffer_holds_max_then_drops, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
