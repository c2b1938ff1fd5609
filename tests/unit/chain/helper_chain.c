/* Shared helpers for the chain state/apply tests (see helper_chain.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chain/state_int.h"
#include "genesis/genesis.h"
#include "helper_chain.h"

char HC_GTIN2[15];
char HC_GTIN_BOLT[15];

static void make_gtin(char out[15], const char *thirteen)
{
    memcpy(out, thirteen, 13);
    out[13] = '0';
    out[14] = '\0';
    out[13] = gs1_check_digit(out, 14);
}

static void hexkey(char out[65], const uint8_t k[32])
{
    chain_hex(out, k, 32);
}

static chain_genesis *make_genesis(hc_env *e)
{
    char h[HK__COUNT][65];
    for (int i = 0; i < HK__COUNT; i++)
        hexkey(h[i], e->pub[i]);
    char *json = NULL;
    int n = asprintf(
        &json,
        "{\"chain\":\"test-net\",\"time\":1767225600,"
        "\"brands\":[{\"id\":\"acme\",\"name\":\"Acme\",\"pub\":\"%s\",\"prefixes\":[\"9506000\"]},"
        "{\"id\":\"bolt\",\"name\":\"Bolt\",\"pub\":\"%s\",\"prefixes\":[\"4006381\"]}],"
        "\"participants\":["
        "{\"id\":\"carrier-a\",\"name\":\"Carrier A\",\"role\":\"carrier\",\"pub\":\"%s\"},"
        "{\"id\":\"carrier-b\",\"name\":\"Carrier B\",\"role\":\"carrier\",\"pub\":\"%s\"},"
        "{\"id\":\"seller-a\",\"name\":\"Seller A\",\"role\":\"seller\",\"pub\":\"%s\"},"
        "{\"id\":\"seller-b\",\"name\":\"Seller B\",\"role\":\"seller\",\"pub\":\"%s\"},"
        "{\"id\":\"service-a\",\"name\":\"Service A\",\"role\":\"service\",\"pub\":\"%s\"}],"
        "\"nodes\":["
        "{\"id\":1,\"operator\":\"acme\",\"raft\":\"tcp://127.0.0.1:7101\","
        "\"http\":\"http://127.0.0.1:8101\",\"pub\":\"%s\"},"
        "{\"id\":2,\"operator\":\"carrier-a\",\"raft\":\"tcp://127.0.0.1:7102\","
        "\"http\":\"http://127.0.0.1:8102\",\"pub\":\"%s\"}],"
        "\"policy\":{\"warranty_months\":24}}",
        h[HK_BRAND], h[HK_BRAND2], h[HK_CARRIER], h[HK_CARRIER2], h[HK_SELLER], h[HK_SELLER2],
        h[HK_SERVICE], h[HK_NODE], h[HK_NODE2]);
    assert_true(n > 0);
    chain_genesis *g = NULL;
    char err[256];
    int rc = genesis_parse(&g, json, strlen(json), err, sizeof err);
    if (rc)
        fail_msg("genesis: %s", err);
    free(json);
    return g;
}

static void open_dir(hc_env *e)
{
    chain_options opt = {
        .map_size = (size_t)4 << 30, .no_sync = true, .verify_threads = e->verify_threads};
    char err[256];
    int rc = chain_open(&e->c, e->dir, e->g, &opt, err, sizeof err);
    if (rc)
        fail_msg("chain_open: %s", err);
}

static void resync(hc_env *e)
{
    chain_rd *rd;
    assert_int_equal(chain_rd_begin(e->c, &rd), CHAIN_OK);
    for (int i = 0; i < HK__COUNT; i++)
        e->next[i] = chain_nonce_next(rd, e->pub[i]);
    chain_head h;
    assert_int_equal(chain_head_get(rd, &h), CHAIN_OK);
    e->height = h.height;
    e->time = h.time;
    e->index = h.applied_index;
    memcpy(e->head, h.id, 32);
    chain_rd_end(rd);
}

static void new_dir(hc_env *e)
{
    snprintf(e->dir, sizeof e->dir, "/tmp/provena-test-XXXXXX");
    assert_non_null(mkdtemp(e->dir));
}

void hc_setup(hc_env *e)
{
    memset(e, 0, sizeof *e);
    make_gtin(HC_GTIN2, "0950600099999");
    make_gtin(HC_GTIN_BOLT, "0400638100001");
    for (int i = 0; i < HK__COUNT; i++)
        assert_int_equal(chain_key_generate(e->sk[i], e->pub[i]), CHAIN_OK);
    e->g = make_genesis(e);
    new_dir(e);
    open_dir(e);
    resync(e);
}

void hc_setup_twin(hc_env *e2, const hc_env *e)
{
    memset(e2, 0, sizeof *e2);
    memcpy(e2->sk, e->sk, sizeof e->sk);
    memcpy(e2->pub, e->pub, sizeof e->pub);
    e2->g = make_genesis(e2);
    assert_memory_equal(e2->g->chain_id, e->g->chain_id, 32);
    new_dir(e2);
    open_dir(e2);
    resync(e2);
}

void hc_close(hc_env *e)
{
    chain_close(e->c);
    e->c = NULL;
}

void hc_reopen(hc_env *e)
{
    open_dir(e);
    resync(e);
}

void hc_teardown(hc_env *e)
{
    if (e->c != NULL)
        chain_close(e->c);
    e->c = NULL;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", e->dir);
    assert_int_equal(system(cmd), 0);
    chain_genesis_free(e->g);
    e->g = NULL;
}

chain_tx hc_tx(int type)
{
    chain_tx tx;
    memset(&tx, 0, sizeof tx);
    tx.type = type;
    return tx;
}

gs1_sgtin hc_unit(const char *gtin, const char *serial)
{
    gs1_sgtin u;
    memset(&u, 0, sizeof u);
    snprintf(u.gtin, sizeof u.gtin, "%s", gtin);
    snprintf(u.serial, sizeof u.serial, "%s", serial);
    return u;
}

void hc_encode(hc_env *e, int who, chain_tx *tx, uint8_t **out, size_t *len)
{
    static const uint8_t zero[32];
    if (memcmp(tx->chain, zero, 32) == 0)
        memcpy(tx->chain, e->g->chain_id, 32);
    if (tx->nonce == 0)
        tx->nonce = e->next[who]++;
    if (tx->time == 0)
        tx->time = 1767225600 + ++e->seq;
    assert_int_equal(chain_tx_sign(tx, e->sk[who]), CHAIN_OK);
    int rc = chain_tx_encode(out, len, tx);
    if (rc)
        fail_msg("encode %s: %s", chain_tx_type_name(tx->type), chain_err_code(rc));
}

void hc_build(hc_env *e, uint8_t **blk, size_t *len, uint8_t **txs, size_t *lens, size_t n)
{
    chain_block_header hdr;
    memset(&hdr, 0, sizeof hdr);
    hdr.height = e->height + 1;
    memcpy(hdr.prev, e->head, 32);
    hdr.time = e->time + 1000;
    hdr.proposer = 1;
    int rc = chain_block_build(blk, len, &hdr, (const uint8_t *const *)txs, lens, n);
    if (rc)
        fail_msg("block build: %s", chain_err_code(rc));
}

int hc_block(hc_env *e, chain_apply_result *res, uint8_t **txs, size_t *lens, size_t n)
{
    uint8_t *blk;
    size_t len;
    hc_build(e, &blk, &len, txs, lens, n);
    for (size_t i = 0; i < n; i++)
        free(txs[i]);
    char err[256];
    int rc = chain_block_apply(e->c, res, ++e->index, blk, len, err, sizeof err);
    free(blk);
    if (rc)
        return rc;
    resync(e);
    return rc;
}

int hc_apply1(hc_env *e, int who, chain_tx *tx, char *detail)
{
    uint8_t *buf;
    size_t len;
    hc_encode(e, who, tx, &buf, &len);
    chain_apply_result res;
    assert_int_equal(hc_block(e, &res, &buf, &len, 1), CHAIN_OK);
    assert_int_equal(res.nreceipts, 1);
    int code = res.receipts[0].code;
    if (detail != NULL)
        snprintf(detail, 96, "%s", res.receipts[0].detail);
    chain_apply_result_free(&res);
    return code;
}

int hc_mint(hc_env *e, int who, const char *gtin, const char *lot, const char *prefix, size_t n)
{
    chain_tx tx = hc_tx(CHAIN_TX_MINT);
    snprintf(tx.gtin, sizeof tx.gtin, "%s", gtin);
    snprintf(tx.lot, sizeof tx.lot, "%s", lot);
    snprintf(tx.model, sizeof tx.model, "Model X");
    memcpy(tx.markets[0], "DE", 3);
    memcpy(tx.markets[1], "FR", 3);
    tx.nmarkets = 2;
    tx.serials = calloc(n, sizeof *tx.serials);
    tx.label_sigs = calloc(n, sizeof *tx.label_sigs);
    assert_non_null(tx.serials);
    assert_non_null(tx.label_sigs);
    for (size_t i = 0; i < n; i++) {
        tx.serials[i] = malloc(24);
        snprintf(tx.serials[i], 24, n == 1 ? "%s" : "%s%zu", prefix, i);
        memset(tx.label_sigs[i], (int)(i & 0xff), 64);
    }
    tx.nunits = n;
    int code = hc_apply1(e, who, &tx, NULL);
    chain_tx_free(&tx);
    return code;
}

void hc_unit_delivered(hc_env *e, const char *serial)
{
    assert_int_equal(hc_mint(e, HK_BRAND, HC_GTIN, "L1", serial, 1), CHAIN_OK);
    gs1_sgtin u = hc_unit(HC_GTIN, serial);
    chain_tx tx = hc_tx(CHAIN_TX_PICKUP);
    tx.units = &u;
    tx.nunits = 1;
    assert_int_equal(hc_apply1(e, HK_CARRIER, &tx, NULL), CHAIN_OK);
    tx = hc_tx(CHAIN_TX_DELIVER);
    tx.units = &u;
    tx.nunits = 1;
    snprintf(tx.to, sizeof tx.to, "seller-a");
    assert_int_equal(hc_apply1(e, HK_CARRIER, &tx, NULL), CHAIN_OK);
}

void hc_unit_owned(hc_env *e, const char *serial, int owner)
{
    hc_unit_delivered(e, serial);
    gs1_sgtin u = hc_unit(HC_GTIN, serial);
    chain_tx tx = hc_tx(CHAIN_TX_SELL);
    tx.units = &u;
    tx.nunits = 1;
    tx.has_key = true;
    memcpy(tx.key, e->pub[owner], 32);
    assert_int_equal(hc_apply1(e, HK_SELLER, &tx, NULL), CHAIN_OK);
}

chain_unit hc_get_unit(hc_env *e, const char *gtin, const char *serial)
{
    chain_rd *rd;
    chain_unit u;
    assert_int_equal(chain_rd_begin(e->c, &rd), CHAIN_OK);
    assert_int_equal(chain_unit_get(rd, &u, gtin, serial), CHAIN_OK);
    chain_rd_end(rd);
    return u;
}

chain_head hc_get_head(hc_env *e)
{
    chain_rd *rd;
    chain_head h;
    assert_int_equal(chain_rd_begin(e->c, &rd), CHAIN_OK);
    assert_int_equal(chain_head_get(rd, &h), CHAIN_OK);
    chain_rd_end(rd);
    return h;
}

static void dump(hc_env *e, uint8_t **out, size_t *len, bool rules_only)
{
    MDB_txn *t;
    assert_int_equal(mdb_txn_begin(e->c->env, NULL, MDB_RDONLY, &t), 0);
    size_t cap = 1u << 16, n = 0;
    uint8_t *buf = malloc(cap);
    assert_non_null(buf);
    for (int db = 0; db < DB__COUNT; db++) {
        MDB_cursor *cur;
        MDB_val k, v;
        assert_int_equal(mdb_cursor_open(t, e->c->dbi[db], &cur), 0);
        for (int rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
             rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
            if (db == DB_META && k.mv_size == 7 && memcmp(k.mv_data, "applied", 7) == 0)
                continue;
            if (rules_only && (db == DB_META || db == DB_BLOCKS || db == DB_TXS))
                continue;
            size_t need = n + 1 + 16 + k.mv_size + v.mv_size;
            while (need > cap)
                buf = realloc(buf, cap *= 2);
            assert_non_null(buf);
            buf[n++] = (uint8_t)db;
            memcpy(buf + n, &k.mv_size, 8);
            memcpy(buf + n + 8, &v.mv_size, 8);
            n += 16;
            memcpy(buf + n, k.mv_data, k.mv_size);
            n += k.mv_size;
            memcpy(buf + n, v.mv_data, v.mv_size);
            n += v.mv_size;
        }
        mdb_cursor_close(cur);
    }
    mdb_txn_abort(t);
    *out = buf;
    *len = n;
}

void hc_dump(hc_env *e, uint8_t **out, size_t *len)
{
    dump(e, out, len, false);
}

void hc_dump_rules(hc_env *e, uint8_t **out, size_t *len)
{
    dump(e, out, len, true);
}

void hc_catch_up(hc_env *dst, hc_env *src, size_t range)
{
    uint8_t *mk;
    size_t mlen;
    char err[256];
    chain_marker m;
    assert_int_equal(chain_marker_take(src->c, &mk, &mlen), CHAIN_OK);
    assert_int_equal(chain_marker_decode(&m, mk, mlen, src->g->chain_id, err, sizeof err),
                     CHAIN_OK);
    free(mk);
    chain_head h = hc_get_head(dst);
    const uint8_t **blks = calloc(range, sizeof *blks);
    size_t *lens = calloc(range, sizeof *lens);
    assert_true(blks && lens);
    while (h.height < m.height) {
        chain_rd *rd;
        uint8_t *buf;
        size_t len, n, k;
        assert_int_equal(chain_rd_begin(src->c, &rd), CHAIN_OK);
        assert_int_equal(chain_blocks_encode(rd, h.height + 1, range, 1u << 20, &buf, &len, &n),
                         CHAIN_OK);
        chain_rd_end(rd);
        assert_int_equal(chain_blocks_split(blks, lens, &k, range, buf, len, err, sizeof err),
                         CHAIN_OK);
        assert_int_equal(k, n);
        for (size_t i = 0; i < k; i++) {
            chain_apply_result r;
            int rc = chain_block_replay(dst->c, &r, blks[i], lens[i], err, sizeof err);
            if (rc != CHAIN_OK)
                fail_msg("replay of block %llu: %s", (unsigned long long)(h.height + 1 + i), err);
            chain_apply_result_free(&r);
        }
        free(buf);
        h = hc_get_head(dst);
    }
    free(blks);
    free(lens);
    assert_int_equal(chain_marker_reach(dst->c, &m, err, sizeof err), CHAIN_OK);
    resync(dst);
}
