/*
 * test_nomem.c — a failed allocation in chain/ is an error returned, never a
 * crash, a partial result or a changed ledger.
 *
 * This program is linked with ld's --wrap for malloc, calloc and realloc
 * (tests/CMakeLists.txt), and jansson's allocator is set to the same hook,
 * so the test can make exactly the k-th allocation fail. Each operation is run
 * with k = 0, 1, 2, ... until it completes without reaching its k-th
 * allocation: every earlier run must have failed with CHAIN_ERR_NOMEM (or
 * NULL where the API returns a pointer) and, for a block, left every database
 * of the ledger exactly as it was; the run that completes must give the same
 * result as an unhindered one. Under ASan (build-san) a leak on any of these
 * paths fails the program too.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chain/chain.h"
#include "helper_chain.h"

/* ---- the failing allocator -------------------------------------------------------- */

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);

static long fail_at = -1; /* the allocation (from 0) that fails; -1: none */
static long seen;         /* allocations since arm() */
static bool hit;          /* the failure was handed out */

static bool fail_now(void)
{
    if (fail_at < 0)
        return false;
    if (seen++ != fail_at)
        return false;
    hit = true;
    fail_at = -1; /* one failure per run: what follows must cope with it */
    return true;
}

void *__wrap_malloc(size_t n);
void *__wrap_malloc(size_t n)
{
    return fail_now() ? NULL : __real_malloc(n);
}

void *__wrap_calloc(size_t n, size_t size);
void *__wrap_calloc(size_t n, size_t size)
{
    return fail_now() ? NULL : __real_calloc(n, size);
}

void *__wrap_realloc(void *p, size_t n);
void *__wrap_realloc(void *p, size_t n)
{
    return fail_now() ? NULL : __real_realloc(p, n);
}

static void *json_alloc(size_t n)
{
    return fail_now() ? NULL : __real_malloc(n);
}

static void arm(long k)
{
    seen = 0;
    hit = false;
    fail_at = k;
}

/* true when the armed failure happened */
static bool disarm(void)
{
    fail_at = -1;
    return hit;
}

#define RUNS_MAX 5000 /* far more allocations than any operation here makes */

/* ---- transactions ------------------------------------------------------------------- */

static hc_env env;

static int setup(void **state)
{
    (void)state;
    json_set_alloc_funcs(json_alloc, free);
    hc_setup(&env);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    hc_teardown(&env);
    return 0;
}

/* Signed encodings of transactions whose decoding allocates each kind of
 * array: serials and label signatures, units, scans, parents. */
static size_t sample_txs(uint8_t **bufs, size_t *lens)
{
    static char s0[] = "N1", s1[] = "N2", s2[] = "N3";
    static char *serials[3] = {s0, s1, s2};
    static uint8_t sigs[3][64];
    size_t n = 0;
    chain_tx tx = hc_tx(CHAIN_TX_MINT);
    snprintf(tx.gtin, sizeof tx.gtin, "%s", HC_GTIN);
    snprintf(tx.lot, sizeof tx.lot, "L9");
    snprintf(tx.model, sizeof tx.model, "Model N");
    tx.serials = serials;
    tx.label_sigs = sigs;
    tx.nunits = 3;
    hc_encode(&env, HK_BRAND, &tx, &bufs[n], &lens[n]);
    n++;

    gs1_sgtin units[2] = {hc_unit(HC_GTIN, "N1"), hc_unit(HC_GTIN, "N2")};
    tx = hc_tx(CHAIN_TX_PICKUP);
    tx.units = units;
    tx.nunits = 2;
    snprintf(tx.region, sizeof tx.region, "DE");
    hc_encode(&env, HK_CARRIER, &tx, &bufs[n], &lens[n]);
    n++;

    chain_scan scans[2] = {
        {.kind = CHAIN_SCAN_SCAN, .id = {HC_GTIN, "N1"}, .time = 1767225700, .region = "FR"},
        {.kind = CHAIN_SCAN_REPORT, .id = {HC_GTIN, "N3"}, .time = 1767225800, .note = "odd"}};
    tx = hc_tx(CHAIN_TX_SCANS);
    tx.scans = scans;
    tx.nscans = 2;
    hc_encode(&env, HK_NODE, &tx, &bufs[n], &lens[n]);
    n++;

    char children[1][GS1_SSCC_LEN + 1] = {"009506000134350004"};
    tx = hc_tx(CHAIN_TX_PACK);
    tx.units = &units[1];
    tx.nunits = 1;
    snprintf(tx.sscc, sizeof tx.sscc, "309506000134350005");
    tx.children = children;
    tx.nchildren = 1;
    hc_encode(&env, HK_CARRIER, &tx, &bufs[n], &lens[n]);
    n++;
    return n;
}

static void test_nomem_tx_decode_encode_json(void **state)
{
    (void)state;
    uint8_t *bufs[4];
    size_t lens[4];
    size_t n = sample_txs(bufs, lens);
    for (size_t i = 0; i < n; i++) {
        /* decode */
        chain_tx tx;
        long k;
        for (k = 0; k < RUNS_MAX; k++) {
            char msg[128] = "";
            arm(k);
            int rc = chain_tx_decode(&tx, bufs[i], lens[i], msg, sizeof msg);
            if (!disarm()) {
                assert_int_equal(rc, CHAIN_OK);
                break;
            }
            if (rc != CHAIN_ERR_NOMEM)
                fail_msg("tx %zu: decode with allocation %ld failing: %s \"%s\"", i, k,
                         chain_err_code(rc), msg);
        }
        assert_true(k > 0 && k < RUNS_MAX); /* it did allocate */

        /* encode, the id and the stateless precheck of the decoded tx */
        for (k = 0; k < RUNS_MAX; k++) {
            uint8_t *out = NULL, id[32], id2[32];
            size_t len = 0;
            arm(k);
            int rc = chain_tx_encode(&out, &len, &tx);
            int rc_id = rc ? rc : chain_tx_id(id, &tx);
            int rc_pre = rc_id ? rc_id
                               : chain_tx_precheck(id2, env.g->chain_id, NULL, bufs[i], lens[i],
                                                   NULL, 0);
            if (!disarm()) {
                assert_int_equal(rc_pre, CHAIN_OK);
                assert_int_equal(len, lens[i]);
                assert_memory_equal(out, bufs[i], len);
                assert_memory_equal(id, id2, 32);
                free(out);
                break;
            }
            if (rc == CHAIN_OK)
                free(out);
            if (rc_pre != CHAIN_ERR_NOMEM)
                fail_msg("tx %zu: encode/id/precheck with allocation %ld failing: %s", i, k,
                         chain_err_code(rc_pre));
        }

        /* to JSON and back */
        json_t *want = chain_tx_to_json(&tx);
        assert_non_null(want);
        for (k = 0; k < RUNS_MAX; k++) {
            arm(k);
            json_t *j = chain_tx_to_json(&tx);
            if (!disarm()) {
                assert_true(json_equal(j, want));
                json_decref(j);
                break;
            }
            if (j != NULL)
                fail_msg("tx %zu: to_json with allocation %ld failing returned an object", i, k);
        }
        for (k = 0; k < RUNS_MAX; k++) {
            chain_tx back;
            char msg[128] = "";
            arm(k);
            int rc = chain_tx_from_json(&back, want, msg, sizeof msg);
            if (!disarm()) {
                assert_int_equal(rc, CHAIN_OK);
                uint8_t *out;
                size_t len;
                assert_int_equal(chain_tx_encode(&out, &len, &back), CHAIN_OK);
                assert_int_equal(len, lens[i]);
                assert_memory_equal(out, bufs[i], len);
                free(out);
                chain_tx_free(&back);
                break;
            }
            if (rc != CHAIN_ERR_NOMEM)
                fail_msg("tx %zu: from_json with allocation %ld failing: %s \"%s\"", i, k,
                         chain_err_code(rc), msg);
        }
        json_decref(want);
        chain_tx_free(&tx);
    }

    /* a block of them: built, peeked with its ids */
    uint8_t *want_blk;
    size_t want_len;
    hc_build(&env, &want_blk, &want_len, bufs, lens, n);
    long k;
    for (k = 0; k < RUNS_MAX; k++) {
        chain_block_header hdr;
        memset(&hdr, 0, sizeof hdr);
        hdr.height = env.height + 1;
        memcpy(hdr.prev, env.head, 32);
        hdr.time = env.time + 1000;
        hdr.proposer = 1;
        uint8_t *blk = NULL;
        size_t len = 0;
        chain_block_ids ids = {0};
        arm(k);
        int rc = chain_block_build(&blk, &len, &hdr, (const uint8_t *const *)bufs, lens, n);
        if (rc == CHAIN_OK)
            rc = chain_block_peek_ids(&ids, blk, len);
        if (!disarm()) {
            assert_int_equal(rc, CHAIN_OK);
            assert_int_equal(ids.ntxs, n);
            assert_int_equal(len, want_len);
            assert_memory_equal(blk, want_blk, len);
            chain_block_ids_free(&ids);
            free(blk);
            break;
        }
        free(blk);
        if (rc != CHAIN_ERR_NOMEM)
            fail_msg("block build/peek with allocation %ld failing: %s", k, chain_err_code(rc));
    }
    free(want_blk);
    for (size_t i = 0; i < n; i++)
        free(bufs[i]);
}

/* ---- the ledger --------------------------------------------------------------------- */

/* One block applied with each allocation in turn failing: the ledger is
 * unchanged until the run that completes, which gives the receipts and the
 * state an unhindered twin gives. */
static void apply_each_failure(hc_env *e, hc_env *twin, uint8_t **txs, size_t *lens, size_t n)
{
    uint8_t *blk;
    size_t len;
    hc_build(e, &blk, &len, txs, lens, n);
    chain_apply_result want;
    char err[256];
    assert_int_equal(chain_block_apply(twin->c, &want, twin->index + 1, blk, len, err, sizeof err),
                     CHAIN_OK);
    twin->index++;
    uint8_t *before, *after;
    size_t before_len, after_len;
    hc_dump(e, &before, &before_len);
    long k;
    for (k = 0; k < RUNS_MAX; k++) {
        chain_apply_result res;
        err[0] = '\0';
        arm(k);
        int rc = chain_block_apply(e->c, &res, e->index + 1, blk, len, err, sizeof err);
        if (!disarm()) {
            assert_int_equal(rc, CHAIN_OK);
            assert_int_equal(res.nreceipts, want.nreceipts);
            for (size_t i = 0; i < res.nreceipts; i++) {
                assert_int_equal(res.receipts[i].code, want.receipts[i].code);
                assert_memory_equal(res.receipts[i].tx, want.receipts[i].tx, 32);
            }
            assert_memory_equal(res.state_digest, want.state_digest, 32);
            chain_apply_result_free(&res);
            break;
        }
        if (rc != CHAIN_ERR_NOMEM)
            fail_msg("apply with allocation %ld failing: %s \"%s\"", k, chain_err_code(rc), err);
        assert_int_equal(res.nreceipts, 0);
        hc_dump(e, &after, &after_len);
        if (after_len != before_len || memcmp(after, before, before_len) != 0)
            fail_msg("apply with allocation %ld failing changed the ledger", k);
        free(after);
    }
    assert_true(k > 0);
    chain_apply_result_free(&want);
    free(before);
    free(blk);
    e->index++;
    hc_dump(e, &before, &before_len);
    hc_dump(twin, &after, &after_len);
    assert_int_equal(before_len, after_len);
    assert_memory_equal(before, after, before_len);
    free(before);
    free(after);
    for (size_t i = 0; i < n; i++)
        free(txs[i]);
}

static void test_nomem_block_apply_changes_nothing(void **state)
{
    (void)state;
    hc_env twin;
    hc_setup_twin(&twin, &env);
    hc_close(&env); /* nonces as the ledger has them (the txs above were never applied) */
    hc_reopen(&env);
    uint8_t *bufs[4];
    size_t lens[4];
    size_t n = sample_txs(bufs, lens);
    /* mint, pickup, scans, pack: whatever each receipt says, the twin says it too */
    apply_each_failure(&env, &twin, bufs, lens, n);
    /* a second block on top: deliver, sell, and a tx already in the ledger */
    gs1_sgtin u = hc_unit(HC_GTIN, "N1");
    chain_tx tx = hc_tx(CHAIN_TX_DELIVER);
    tx.units = &u;
    tx.nunits = 1;
    snprintf(tx.to, sizeof tx.to, "seller-a");
    hc_close(&env); /* reopening reads the head and nonces back */
    hc_reopen(&env);
    hc_encode(&env, HK_CARRIER, &tx, &bufs[0], &lens[0]);
    tx = hc_tx(CHAIN_TX_SELL);
    tx.units = &u;
    tx.nunits = 1;
    memcpy(tx.claim_key, env.pub[HK_ALICE], 32);
    hc_encode(&env, HK_SELLER, &tx, &bufs[1], &lens[1]);
    apply_each_failure(&env, &twin, bufs, lens, 2);
    hc_teardown(&twin);
}

/* Opening a new ledger (seeding it from the genesis) and opening it again. */
static void test_nomem_open(void **state)
{
    (void)state;
    chain_options opt = {.map_size = (size_t)64 << 20, .no_sync = true};
    long k;
    for (k = 0; k < RUNS_MAX; k++) {
        char dir[] = "/tmp/provena-nomem-XXXXXX", err[256] = "", cmd[64];
        assert_non_null(mkdtemp(dir));
        chain *c = NULL;
        arm(k);
        int rc = chain_open(&c, dir, env.g, &opt, err, sizeof err);
        bool failed = disarm();
        if (rc == CHAIN_OK) {
            chain_rd *rd;
            chain_head h;
            assert_int_equal(chain_rd_begin(c, &rd), CHAIN_OK);
            assert_int_equal(chain_head_get(rd, &h), CHAIN_OK);
            assert_int_equal(h.height, 0);
            chain_rd_end(rd);
            chain_close(c);
        }
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        assert_int_equal(system(cmd), 0);
        if (!failed) {
            assert_int_equal(rc, CHAIN_OK);
            break;
        }
        if (rc != CHAIN_ERR_NOMEM)
            fail_msg("open with allocation %ld failing: %s \"%s\"", k, chain_err_code(rc), err);
        assert_null(c);
    }
    assert_true(k > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nomem_tx_decode_encode_json),
        cmocka_unit_test(test_nomem_block_apply_changes_nothing),
        cmocka_unit_test(test_nomem_open),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
