/* chain_block_apply's promises: header checks, idempotency per consensus
 * index, duplicates and replays, nonce and signature checks, big mints,
 * concurrent readers, restart, and catching up by blocks (markers, ranges,
 * replay). */
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
#include <sys/stat.h>

#include "chain/cbor_util.h"
#include "chain/state_int.h"
#include "chain/tx_schema.h"
#include "helper_chain.h"

static int setup(void **state)
{
    hc_env *e = malloc(sizeof *e);
    hc_setup(e);
    *state = e;
    return 0;
}

static int teardown(void **state)
{
    hc_env *e = *state;
    hc_teardown(e);
    free(e);
    return 0;
}

static void pickup_tx(hc_env *e, int who, gs1_sgtin *u, uint8_t **buf, size_t *len)
{
    chain_tx tx = hc_tx(CHAIN_TX_PICKUP);
    tx.units = u;
    tx.nunits = 1;
    hc_encode(e, who, &tx, buf, len);
}

static void test_same_tx_twice_in_one_block_one_effect_first_receipt(void **state)
{
    hc_env *e = *state;
    assert_int_equal(hc_mint(e, HK_BRAND, HC_GTIN, "L", "A", 1), CHAIN_OK);
    gs1_sgtin u = hc_unit(HC_GTIN, "A");
    uint8_t *txs[2];
    size_t lens[2];
    pickup_tx(e, HK_CARRIER, &u, &txs[0], &lens[0]);
    txs[1] = malloc(lens[0]);
    memcpy(txs[1], txs[0], lens[0]);
    lens[1] = lens[0];
    /* Merkle "mutation" refuses equal trailing siblings, so put a third tx between. */
    uint8_t *t3[3] = {txs[0], NULL, txs[1]};
    size_t l3[3] = {lens[0], 0, lens[1]};
    chain_tx other = hc_tx(CHAIN_TX_PICKUP);
    gs1_sgtin none = hc_unit(HC_GTIN, "NONE");
    other.units = &none;
    other.nunits = 1;
    hc_encode(e, HK_CARRIER2, &other, &t3[1], &l3[1]);
    chain_apply_result res;
    assert_int_equal(hc_block(e, &res, t3, l3, 3), CHAIN_OK);
    assert_int_equal(res.nreceipts, 3);
    assert_int_equal(res.receipts[0].code, CHAIN_OK);
    assert_int_equal(res.receipts[1].code, CHAIN_ERR_UNKNOWN_UNIT);
    assert_int_equal(res.receipts[2].code, CHAIN_OK);
    assert_int_equal(res.receipts[2].index, 0); /* the first inclusion's receipt */
    assert_memory_equal(res.receipts[2].tx, res.receipts[0].tx, 32);
    chain_apply_result_free(&res);
    assert_int_equal(hc_get_unit(e, HC_GTIN, "A").nevents, 2);
}

static void test_replayed_tx_in_later_block_returns_first_receipt_changes_nothing(void **state)
{
    hc_env *e = *state;
    assert_int_equal(hc_mint(e, HK_BRAND, HC_GTIN, "L", "A", 1), CHAIN_OK);
    gs1_sgtin u = hc_unit(HC_GTIN, "A");
    uint8_t *buf, *copy;
    size_t len;
    pickup_tx(e, HK_CARRIER, &u, &buf, &len);
    copy = malloc(len);
    memcpy(copy, buf, len);
    chain_apply_result res;
    assert_int_equal(hc_block(e, &res, &buf, &len, 1), CHAIN_OK);
    assert_int_equal(res.receipts[0].code, CHAIN_OK);
    uint64_t h1 = res.height;
    chain_apply_result_free(&res);
    uint64_t nonce = e->next[HK_CARRIER];
    assert_int_equal(hc_block(e, &res, &copy, &len, 1), CHAIN_OK);
    assert_int_equal(res.receipts[0].code, CHAIN_OK);
    assert_int_equal(res.receipts[0].height, h1);
    chain_apply_result_free(&res);
    assert_int_equal(e->next[HK_CARRIER], nonce);
    assert_int_equal(hc_get_unit(e, HC_GTIN, "A").nevents, 2);
}

static void test_refused_tx_replayed_returns_its_refusal(void **state)
{
    hc_env *e = *state;
    gs1_sgtin u = hc_unit(HC_GTIN, "NOPE");
    uint8_t *buf, *copy;
    size_t len;
    pickup_tx(e, HK_CARRIER, &u, &buf, &len);
    copy = malloc(len);
    memcpy(copy, buf, len);
    chain_apply_result res;
    assert_int_equal(hc_block(e, &res, &buf, &len, 1), CHAIN_OK);
    assert_int_equal(res.receipts[0].code, CHAIN_ERR_UNKNOWN_UNIT);
    chain_apply_result_free(&res);
    assert_int_equal(hc_mint(e, HK_BRAND, HC_GTIN, "L", "NOPE", 1), CHAIN_OK);
    assert_int_equal(hc_block(e, &res, &copy, &len, 1), CHAIN_OK);
    assert_int_equal(res.receipts[0].code, CHAIN_ERR_UNKNOWN_UNIT);
    chain_apply_result_free(&res);
    assert_int_equal(hc_get_unit(e, HC_GTIN, "NOPE").state, CHAIN_UNIT_MINTED);
}

static void test_tx_get_returns_receipt_and_exact_bytes(void **state)
{
    hc_env *e = *state;
    assert_int_equal(hc_mint(e, HK_BRAND, HC_GTIN, "L", "A", 1), CHAIN_OK);
    gs1_sgtin u = hc_unit(HC_GTIN, "A");
    chain_tx tx = hc_tx(CHAIN_TX_PICKUP);
    tx.units = &u;
    tx.nunits = 1;
    uint8_t *buf, id[32];
    size_t len;
    hc_encode(e, HK_CARRIER, &tx, &buf, &len);
    assert_int_equal(chain_tx_id(id, &tx), CHAIN_OK);
    uint8_t *copy = malloc(len);
    memcpy(copy, buf, len);
    chain_apply_result res;
    assert_int_equal(hc_block(e, &res, &buf, &len, 1), CHAIN_OK);
    chain_apply_result_free(&res);
    chain_rd *rd;
    chain_receipt rc;
    const uint8_t *raw;
    size_t raw_len;
    assert_int_equal(chain_rd_begin(e->c, &rd), CHAIN_OK);
    assert_int_equal(chain_tx_get(rd, &rc, &raw, &raw_len, id), CHAIN_OK);
    assert_int_equal(rc.code, CHAIN_OK);
    assert_int_equal(rc.height, e->height);
    assert_int_equal(rc.index, 0);
    assert_int_equal(raw_len, len);
    assert_memory_equal(raw, copy, len);
    id[0] ^= 1;
    assert_int_equal(chain_tx_get(rd, &rc, &raw, &raw_len, id), CHAIN_ERR_NOT_FOUND);
    chain_rd_end(rd);
    free(copy);
}

static void test_stale_nonce_refused_and_future_nonce_refused(void **state)
{
    hc_env *e = *state;
    assert_int_equal(hc_mint(e, HK_BRAND, HC_GTIN, "L", "A", 2), CHAIN_OK);
    chain_tx tx = hc_tx(CHAIN_TX_MINT);
    char *serials[1] = {"Z"};
    uint8_t sigs[1][64] = {{0}};
    snprintf(tx.gtin, sizeof tx.gtin, "%s", HC_GTIN);
    tx.serials = serials;
    tx.label_sigs = sigs;
    tx.nunits = 1;
    tx.nonce = 1; /* already used by the first mint */
    char detail[96];
    assert_int_equal(hc_apply1(e, HK_BRAND, &tx, detail), CHAIN_ERR_STALE_NONCE);
    assert_string_equal(detail, "nonce 1, expected 2");
    tx = hc_tx(CHAIN_TX_MINT);
    snprintf(tx.gtin, sizeof tx.gtin, "%s", HC_GTIN);
    tx.serials = serials;
    tx.label_sigs = sigs;
    tx.nunits = 1;
    tx.nonce = 5; /* a gap: we require exactly last + 1 */
    assert_int_equal(hc_apply1(e, HK_BRAND, &tx, NULL), CHAIN_ERR_STALE_NONCE);
    tx.nonce = 0;
    tx.time = 0;
    assert_int_equal(hc_apply1(e, HK_BRAND, &tx, NULL), CHAIN_OK);
}

static void test_tx_signed_for_other_chain_refused_wrong_chain(void **state)
{
    hc_env *e = *state;
    chain_tx tx = hc_tx(CHAIN_TX_PICKUP);
    gs1_sgtin u = hc_unit(HC_GTIN, "A");
    tx.units = &u;
    tx.nunits = 1;
    memset(tx.chain, 7, 32);
    assert_int_equal(hc_apply1(e, HK_CARRIER, &tx, NULL), CHAIN_ERR_WRONG_CHAIN);
    assert_int_equal(e->next[HK_CARRIER], 1);
}

/* chain_set_verified: the hook vouches for exact bytes only. */
typedef struct known_bytes {
    const uint8_t *raw;
    size_t len;
    unsigned asked, vouched;
} known_bytes;

static bool known_cb(void *ctx, const uint8_t id[CHAIN_HASH_LEN], const uint8_t *raw, size_t len)
{
    known_bytes *k = ctx;
    (void)id;
    k->asked++;
    bool yes = len == k->len && memcmp(raw, k->raw, len) == 0;
    k->vouched += yes;
    return yes;
}

/* A node that prechecked the genuine tx still verifies a forged one under the
 * same id, and skips verifying only the bytes it vouches for. */
static void test_verified_hook_skips_only_vouched_bytes(void **state)
{
    hc_env *e = *state;
    assert_int_equal(hc_mint(e, HK_BRAND, HC_GTIN, "L", "A", 1), CHAIN_OK);
    chain_tx tx = hc_tx(CHAIN_TX_PICKUP);
    gs1_sgtin u = hc_unit(HC_GTIN, "A");
    tx.units = &u;
    tx.nunits = 1;
    uint8_t *good, *bad;
    size_t glen, blen;
    hc_encode(e, HK_CARRIER, &tx, &good, &glen);
    chain_tx forged = tx;
    assert_int_equal(chain_tx_sign(&forged, e->sk[HK_EVE]), CHAIN_OK);
    memcpy(forged.signer, e->pub[HK_CARRIER], 32);
    assert_int_equal(chain_tx_encode(&bad, &blen, &forged), CHAIN_OK);
    uint8_t *copy = malloc(glen); /* hc_block frees the txs it is given */
    assert_non_null(copy);
    memcpy(copy, good, glen);
    known_bytes k = {copy, glen, 0, 0};
    chain_set_verified(e->c, known_cb, &k);
    chain_apply_result res;
    assert_int_equal(hc_block(e, &res, &bad, &blen, 1), CHAIN_OK);
    assert_int_equal(res.receipts[0].code, CHAIN_ERR_BAD_SIGNATURE);
    chain_apply_result_free(&res);
    assert_int_equal(k.asked, 1);
    assert_int_equal(k.vouched, 0);
    assert_int_equal(hc_block(e, &res, &good, &glen, 1), CHAIN_OK);
    assert_int_equal(res.receipts[0].code, CHAIN_OK);
    chain_apply_result_free(&res);
    assert_int_equal(k.vouched, 1);
    chain_set_verified(e->c, NULL, NULL);
    free(copy);
    assert_int_equal(hc_get_unit(e, HC_GTIN, "A").state, CHAIN_UNIT_IN_TRANSIT);
}

static void test_bad_signature_refused_and_not_recorded(void **state)
{
    hc_env *e = *state;
    assert_int_equal(hc_mint(e, HK_BRAND, HC_GTIN, "L", "A", 1), CHAIN_OK);
    chain_tx tx = hc_tx(CHAIN_TX_PICKUP);
    gs1_sgtin u = hc_unit(HC_GTIN, "A");
    tx.units = &u;
    tx.nunits = 1;
    uint8_t *good, *bad;
    size_t len;
    hc_encode(e, HK_CARRIER, &tx, &good, &len);
    /* same content, signed by someone else's key but claiming the carrier */
    chain_tx forged = tx;
    assert_int_equal(chain_tx_sign(&forged, e->sk[HK_EVE]), CHAIN_OK);
    memcpy(forged.signer, e->pub[HK_CARRIER], 32);
    assert_int_equal(chain_tx_encode(&bad, &len, &forged), CHAIN_OK);
    chain_apply_result res;
    assert_int_equal(hc_block(e, &res, &bad, &len, 1), CHAIN_OK);
    assert_int_equal(res.receipts[0].code, CHAIN_ERR_BAD_SIGNATURE);
    chain_apply_result_free(&res);
    /* the genuine tx with the same id is still applied */
    assert_int_equal(hc_block(e, &res, &good, &len, 1), CHAIN_OK);
    assert_int_equal(res.receipts[0].code, CHAIN_OK);
    chain_apply_result_free(&res);
    assert_int_equal(hc_get_unit(e, HC_GTIN, "A").state, CHAIN_UNIT_IN_TRANSIT);
}

/* A block whose tx has a valid raw id but a body that does not decode
 * (a GTIN with a wrong check digit), assembled by hand since build refuses it. */
static void test_undecodable_tx_in_block_refused_not_recorded(void **state)
{
    hc_env *e = *state;
    chain_tx tx = hc_tx(CHAIN_TX_PICKUP);
    gs1_sgtin u = hc_unit(HC_GTIN, "A");
    tx.units = &u;
    tx.nunits = 1;
    uint8_t *buf;
    size_t len;
    hc_encode(e, HK_CARRIER, &tx, &buf, &len);
    uint8_t *p = memmem(buf, len, HC_GTIN, 14);
    assert_non_null(p);
    p[13] = p[13] == '9' ? '0' : (uint8_t)(p[13] + 1);
    uint8_t id[32], root[32];
    assert_int_equal(tx_id_raw(id, buf, len), CHAIN_OK);
    chain_merkle_root(root, (const uint8_t(*)[32])id, 1);
    cbu_wr w;
    cbu_wr_init(&w, 1 << 20);
    cbu_put_map(&w, 2);
    cbu_put_key(&w, "txs");
    cbu_put_array(&w, 1);
    cbu_put_bytes(&w, buf, len);
    cbu_put_key(&w, "header");
    cbu_put_map(&w, 5);
    cbu_put_key(&w, "prev");
    cbu_put_bytes(&w, e->head, 32);
    cbu_put_key(&w, "time");
    cbu_put_uint(&w, e->time + 1);
    cbu_put_key(&w, "height");
    cbu_put_uint(&w, e->height + 1);
    cbu_put_key(&w, "proposer");
    cbu_put_uint(&w, 1);
    cbu_put_key(&w, "txs_root");
    cbu_put_bytes(&w, root, 32);
    uint8_t *blk;
    size_t blen;
    assert_int_equal(cbu_wr_finish(&w, &blk, &blen), CHAIN_OK);
    chain_apply_result res;
    char err[128];
    assert_int_equal(chain_block_apply(e->c, &res, ++e->index, blk, blen, err, sizeof err),
                     CHAIN_OK);
    assert_int_equal(res.block_code, CHAIN_OK);
    assert_int_equal(res.nreceipts, 1);
    assert_int_equal(res.receipts[0].code, CHAIN_ERR_BAD_GTIN);
    assert_memory_equal(res.receipts[0].tx, id, 32);
    chain_apply_result_free(&res);
    chain_rd *rd;
    chain_receipt rc;
    assert_int_equal(chain_rd_begin(e->c, &rd), CHAIN_OK);
    assert_int_equal(chain_tx_get(rd, &rc, NULL, NULL, id), CHAIN_ERR_NOT_FOUND);
    chain_rd_end(rd);
    free(blk);
    free(buf);
}

static void test_block_not_extending_head_skipped_bad_block(void **state)
{
    hc_env *e = *state;
    assert_int_equal(hc_mint(e, HK_BRAND, HC_GTIN, "L", "A", 1), CHAIN_OK);
    chain_head before = hc_get_head(e);
    uint8_t *txs[1], *blk;
    size_t lens[1], len;
    gs1_sgtin u = hc_unit(HC_GTIN, "A");
    pickup_tx(e, HK_CARRIER, &u, &txs[0], &lens[0]);
    /* wrong height */
    chain_block_header hdr;
    memset(&hdr, 0, sizeof hdr);
    hdr.height = e->height + 2;
    memcpy(hdr.prev, e->head, 32);
    hdr.time = e->time + 1;
    assert_int_equal(chain_block_build(&blk, &len, &hdr, (const uint8_t *const *)txs, lens, 1),
                     CHAIN_OK);
    chain_apply_result res;
    char err[128];
    assert_int_equal(chain_block_apply(e->c, &res, ++e->index, blk, len, err, sizeof err),
                     CHAIN_OK);
    assert_int_equal(res.block_code, CHAIN_ERR_BAD_BLOCK);
    assert_int_equal(res.height, 0);
    assert_int_equal(res.nreceipts, 1);
    assert_int_equal(res.receipts[0].code, CHAIN_ERR_BAD_BLOCK);
    chain_apply_result_free(&res);
    free(blk);
    /* wrong prev */
    hdr.height = e->height + 1;
    memset(hdr.prev, 1, 32);
    assert_int_equal(chain_block_build(&blk, &len, &hdr, (const uint8_t *const *)txs, lens, 1),
                     CHAIN_OK);
    assert_int_equal(chain_block_apply(e->c, &res, ++e->index, blk, len, err, sizeof err),
                     CHAIN_OK);
    assert_int_equal(res.block_code, CHAIN_ERR_BAD_BLOCK);
    chain_apply_result_free(&res);
    free(blk);
    /* time going backwards */
    memcpy(hdr.prev, e->head, 32);
    hdr.time = e->time - 1;
    assert_int_equal(chain_block_build(&blk, &len, &hdr, (const uint8_t *const *)txs, lens, 1),
                     CHAIN_OK);
    assert_int_equal(chain_block_apply(e->c, &res, ++e->index, blk, len, err, sizeof err),
                     CHAIN_OK);
    assert_int_equal(res.block_code, CHAIN_ERR_BAD_BLOCK);
    chain_apply_result_free(&res);
    free(blk);
    /* garbage bytes */
    uint8_t junk[5] = {1, 2, 3, 4, 5};
    assert_int_equal(chain_block_apply(e->c, &res, ++e->index, junk, 5, err, sizeof err), CHAIN_OK);
    assert_int_equal(res.block_code, CHAIN_ERR_BAD_BLOCK);
    assert_int_equal(res.nreceipts, 0);
    chain_apply_result_free(&res);
    chain_head after = hc_get_head(e);
    assert_int_equal(after.height, before.height);
    assert_memory_equal(after.state_digest, before.state_digest, 32);
    assert_int_equal(after.applied_index, e->index);
    assert_int_equal(hc_get_unit(e, HC_GTIN, "A").state, CHAIN_UNIT_MINTED);
    /* the skipped tx can still go in a proper block */
    assert_int_equal(hc_block(e, &res, txs, lens, 1), CHAIN_OK);
    assert_int_equal(res.receipts[0].code, CHAIN_OK);
    chain_apply_result_free(&res);
}

static void test_apply_idempotent_on_replayed_index(void **state)
{
    hc_env *e = *state;
    uint8_t *txs[1], *blk;
    size_t lens[1], len;
    chain_tx tx = hc_tx(CHAIN_TX_MINT);
    char *serials[1] = {"I"};
    uint8_t sigs[1][64] = {{0}};
    snprintf(tx.gtin, sizeof tx.gtin, "%s", HC_GTIN);
    tx.serials = serials;
    tx.label_sigs = sigs;
    tx.nunits = 1;
    hc_encode(e, HK_BRAND, &tx, &txs[0], &lens[0]);
    hc_build(e, &blk, &len, txs, lens, 1);
    free(txs[0]);
    chain_apply_result res;
    char err[128];
    assert_int_equal(chain_block_apply(e->c, &res, 7, blk, len, err, sizeof err), CHAIN_OK);
    assert_int_equal(res.height, 1);
    uint8_t digest[32];
    memcpy(digest, res.state_digest, 32);
    chain_apply_result_free(&res);
    assert_int_equal(chain_applied_index(e->c), 7);
    /* the same index again, or an older one: nothing happens */
    assert_int_equal(chain_block_apply(e->c, &res, 7, blk, len, err, sizeof err), CHAIN_OK);
    assert_int_equal(res.height, 0);
    assert_int_equal(res.nreceipts, 0);
    chain_apply_result_free(&res);
    assert_int_equal(chain_block_apply(e->c, &res, 3, blk, len, err, sizeof err), CHAIN_OK);
    assert_int_equal(res.height, 0);
    chain_apply_result_free(&res);
    chain_head h = hc_get_head(e);
    assert_int_equal(h.height, 1);
    assert_int_equal(h.applied_index, 7);
    assert_memory_equal(h.state_digest, digest, 32);
    /* also across a restart */
    hc_close(e);
    hc_reopen(e);
    assert_int_equal(chain_applied_index(e->c), 7);
    assert_int_equal(chain_block_apply(e->c, &res, 7, blk, len, err, sizeof err), CHAIN_OK);
    assert_int_equal(res.height, 0);
    chain_apply_result_free(&res);
    free(blk);
}

static void test_restart_keeps_state(void **state)
{
    hc_env *e = *state;
    hc_unit_owned(e, "R", HK_ALICE);
    chain_head before = hc_get_head(e);
    hc_close(e);
    hc_reopen(e);
    chain_head after = hc_get_head(e);
    assert_int_equal(after.height, before.height);
    assert_memory_equal(after.state_digest, before.state_digest, 32);
    assert_memory_equal(after.id, before.id, 32);
    chain_unit u = hc_get_unit(e, HC_GTIN, "R");
    assert_int_equal(u.state, CHAIN_UNIT_OWNED);
    assert_int_equal(e->next[HK_SELLER], 2);
    /* and keeps applying */
    assert_int_equal(hc_mint(e, HK_BRAND, HC_GTIN, "L", "R2", 1), CHAIN_OK);
}

static void test_open_with_other_genesis_refused_bad_genesis(void **state)
{
    hc_env *e = *state;
    hc_close(e);
    chain_genesis other = *e->g;
    other.chain_id[0] ^= 1;
    chain *c = NULL;
    char err[256];
    assert_int_equal(chain_open(&c, e->dir, &other, NULL, err, sizeof err), CHAIN_ERR_BAD_GENESIS);
    assert_null(c);
    hc_reopen(e);
}

/* A unit's events live in the units database; a ledger that still has the
 * separate events database of the older format is refused, by name. */
static void test_open_of_older_format_refused_with_a_clear_message(void **state)
{
    hc_env *e = *state;
    hc_unit_owned(e, "O", HK_ALICE);
    /* history reads back from the units database */
    chain_unit u = hc_get_unit(e, HC_GTIN, "O");
    assert_true(u.nevents >= 2);
    MDB_txn *t;
    assert_int_equal(mdb_txn_begin(e->c->env, NULL, 0, &t), 0);
    MDB_dbi old;
    assert_int_equal(mdb_dbi_open(t, "events", 0, &old), MDB_NOTFOUND);
    assert_int_equal(mdb_dbi_open(t, "events", MDB_CREATE, &old), 0);
    assert_int_equal(mdb_txn_commit(t), 0);
    hc_close(e);
    chain *c = NULL;
    char err[256];
    assert_int_equal(chain_open(&c, e->dir, e->g, NULL, err, sizeof err), CHAIN_ERR_STORAGE);
    assert_null(c);
    assert_non_null(strstr(err, "older format"));
    /* gone again: the ledger opens as it was */
    char path[sizeof e->dir + 16];
    snprintf(path, sizeof path, "%s/chain.mdb", e->dir);
    MDB_env *env;
    assert_int_equal(mdb_env_create(&env), 0);
    assert_int_equal(mdb_env_set_maxdbs(env, 32), 0);
    assert_int_equal(mdb_env_set_mapsize(env, (size_t)1 << 30), 0);
    assert_int_equal(mdb_env_open(env, path, MDB_NOSUBDIR, 0600), 0);
    assert_int_equal(mdb_txn_begin(env, NULL, 0, &t), 0);
    assert_int_equal(mdb_dbi_open(t, "events", 0, &old), 0);
    assert_int_equal(mdb_drop(t, old, 1), 0);
    assert_int_equal(mdb_txn_commit(t), 0);
    mdb_env_close(env);
    hc_reopen(e);
    assert_int_equal(hc_get_unit(e, HC_GTIN, "O").state, CHAIN_UNIT_OWNED);
}

static void test_mint_of_10000_serials_applies(void **state)
{
    hc_env *e = *state;
    uint64_t bytes0 = chain_storage_bytes(e->c);
    assert_int_equal(hc_mint(e, HK_BRAND, HC_GTIN, "BIG", "S", CHAIN_MINT_MAX), CHAIN_OK);
    assert_int_equal(hc_get_head(e).units, CHAIN_MINT_MAX);
    /* the database in use grew by the units (not the sparse map's size) */
    uint64_t bytes1 = chain_storage_bytes(e->c);
    assert_true(bytes0 > 0 && bytes1 > bytes0 + 100u * CHAIN_MINT_MAX);
    assert_true(bytes1 < (64u << 20));
    chain_unit u = hc_get_unit(e, HC_GTIN, "S9999");
    assert_int_equal(u.state, CHAIN_UNIT_MINTED);
    chain_rd *rd;
    chain_lot lot;
    assert_int_equal(chain_rd_begin(e->c, &rd), CHAIN_OK);
    assert_int_equal(chain_lot_get(rd, &lot, HC_GTIN, "BIG"), CHAIN_OK);
    assert_int_equal(lot.units, CHAIN_MINT_MAX);
    chain_rd_end(rd);
}

static uint64_t ledger_file_size(const hc_env *e)
{
    char path[300];
    struct stat st;
    snprintf(path, sizeof path, "%s/chain.mdb", e->dir);
    assert_int_equal(stat(path, &st), 0);
    return (uint64_t)st.st_size;
}

static void test_storage_prepare_grows_the_file_ahead_and_keeps_the_ledger(void **state)
{
    hc_env *e = *state;
    const uint64_t ahead = (uint64_t)4 << 20, align = (uint64_t)2 << 20;
    assert_int_equal(hc_mint(e, HK_BRAND, HC_GTIN, "L", "P", 100), CHAIN_OK);
    uint64_t used = chain_storage_bytes(e->c);
    assert_int_equal(chain_storage_prepare(e->c, ahead), CHAIN_OK);
    uint64_t size = ledger_file_size(e);
    /* at least a window past the last page, on a 2 MiB boundary; LMDB's pages untouched */
    assert_true(size >= used + ahead);
    assert_int_equal(size % align, 0);
    assert_int_equal(chain_storage_bytes(e->c), used);
    /* half a window still ready: nothing to do, the file stays as it is */
    assert_int_equal(chain_storage_prepare(e->c, ahead), CHAIN_OK);
    assert_int_equal(ledger_file_size(e), size);
    /* the ledger grows into the prepared pages and then past them; prepare follows */
    assert_int_equal(hc_mint(e, HK_BRAND, HC_GTIN, "BIG", "S", CHAIN_MINT_MAX), CHAIN_OK);
    uint64_t used2 = chain_storage_bytes(e->c);
    assert_true(used2 > used);
    assert_int_equal(chain_storage_prepare(e->c, ahead), CHAIN_OK);
    uint64_t size2 = ledger_file_size(e);
    assert_true(size2 >= size && size2 >= used2 + ahead / 2);
    /* nothing of it is lost or changed on reopening: same head, same units */
    chain_head h = hc_get_head(e);
    hc_close(e);
    hc_reopen(e);
    chain_head h2 = hc_get_head(e);
    assert_int_equal(h2.height, h.height);
    assert_memory_equal(h2.id, h.id, CHAIN_HASH_LEN);
    assert_memory_equal(h2.state_digest, h.state_digest, CHAIN_HASH_LEN);
    assert_int_equal(hc_get_unit(e, HC_GTIN, "S9999").state, CHAIN_UNIT_MINTED);
    assert_int_equal(ledger_file_size(e), size2); /* reopening never shrinks it */
    /* a window of 0 does nothing */
    assert_int_equal(chain_storage_prepare(e->c, 0), CHAIN_OK);
    assert_int_equal(ledger_file_size(e), size2);
}

static void test_full_disk_returns_storage_and_writes_nothing(void **state)
{
    hc_env *e = *state;
    assert_int_equal(hc_mint(e, HK_BRAND, HC_GTIN, "L", "A", 1), CHAIN_OK);
    chain_head before = hc_get_head(e);
    hc_close(e);
    /* reopen the same ledger with a map too small for a 10,000-unit mint */
    chain_options opt = {.map_size = (size_t)2 << 20, .no_sync = true};
    char err[256];
    assert_int_equal(chain_open(&e->c, e->dir, e->g, &opt, err, sizeof err), CHAIN_OK);
    chain_tx tx = hc_tx(CHAIN_TX_MINT);
    snprintf(tx.gtin, sizeof tx.gtin, "%s", HC_GTIN);
    tx.nunits = CHAIN_MINT_MAX;
    tx.serials = calloc(tx.nunits, sizeof *tx.serials);
    tx.label_sigs = calloc(tx.nunits, sizeof *tx.label_sigs);
    for (size_t i = 0; i < tx.nunits; i++) {
        tx.serials[i] = malloc(24);
        snprintf(tx.serials[i], 24, "FULL%u", (unsigned)(i % 100000));
    }
    uint8_t *txs[1], *blk;
    size_t lens[1], len;
    hc_encode(e, HK_BRAND, &tx, &txs[0], &lens[0]);
    chain_tx_free(&tx);
    hc_build(e, &blk, &len, txs, lens, 1);
    free(txs[0]);
    chain_apply_result res;
    assert_int_equal(chain_block_apply(e->c, &res, e->index + 1, blk, len, err, sizeof err),
                     CHAIN_ERR_STORAGE);
    assert_non_null(strstr(err, "MDB_MAP_FULL"));
    assert_null(res.receipts);
    free(blk);
    chain_head after = hc_get_head(e);
    assert_int_equal(after.height, before.height);
    assert_int_equal(after.applied_index, before.applied_index);
    assert_memory_equal(after.state_digest, before.state_digest, 32);
    assert_int_equal(chain_applied_index(e->c), before.applied_index);
}

/* Three mint blocks chained by hand (each extends the one before), not applied. */
static void three_blocks(hc_env *e, uint8_t *blk[3], size_t len[3], const char *prefix)
{
    chain_block_header hdr;
    memset(&hdr, 0, sizeof hdr);
    hdr.height = e->height;
    memcpy(hdr.prev, e->head, 32);
    hdr.time = e->time;
    for (int i = 0; i < 3; i++) {
        chain_tx tx = hc_tx(CHAIN_TX_MINT);
        snprintf(tx.gtin, sizeof tx.gtin, "%s", HC_GTIN);
        char serial[24], *s = serial;
        snprintf(serial, sizeof serial, "%s%d", prefix, i);
        tx.serials = &s;
        uint8_t sig[1][CHAIN_SIG_LEN] = {{0}};
        tx.label_sigs = sig;
        tx.nunits = 1;
        uint8_t *t;
        size_t tl;
        hc_encode(e, HK_BRAND, &tx, &t, &tl); /* takes the next nonce, unapplied */
        hdr.height++;
        hdr.time += 1000;
        assert_int_equal(
            chain_block_build(&blk[i], &len[i], &hdr, (const uint8_t *const *)&t, &tl, 1),
            CHAIN_OK);
        free(t);
        uint8_t id[32];
        size_t ntx;
        assert_int_equal(chain_block_peek(&hdr, id, &ntx, blk[i], len[i]), CHAIN_OK);
        memcpy(hdr.prev, id, 32);
    }
}

/* chain_blocks_apply_peeked with the peeks of the same bytes gives what
 * chain_blocks_apply gives, for a block that links and one that does not. */
static void test_blocks_applied_with_their_peeks_as_without(void **state)
{
    hc_env *e = *state;
    hc_env e2;
    hc_setup_twin(&e2, e);
    uint8_t *blk[3];
    size_t len[3];
    three_blocks(e, blk, len, "P");
    /* index 2 carries block 3: it does not link and is skipped */
    const uint8_t *order[3] = {blk[0], blk[2], blk[1]};
    size_t olen[3] = {len[0], len[2], len[1]};
    uint64_t idx[3] = {1, 2, 3};
    chain_block_ids pk[3];
    const chain_block_ids *pp[3];
    for (int i = 0; i < 3; i++) {
        assert_int_equal(chain_block_peek_ids(&pk[i], order[i], olen[i]), CHAIN_OK);
        pp[i] = &pk[i];
    }
    char err[256];
    chain_apply_result a[3], b[3];
    assert_int_equal(chain_blocks_apply_peeked(e->c, a, idx, order, olen, pp, 3, err, sizeof err),
                     CHAIN_OK);
    assert_int_equal(chain_blocks_apply(e2.c, b, idx, order, olen, 3, err, sizeof err), CHAIN_OK);
    assert_int_equal(b[1].block_code, CHAIN_ERR_BAD_BLOCK);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(a[i].height, b[i].height);
        assert_int_equal(a[i].block_code, b[i].block_code);
        assert_memory_equal(a[i].block_id, b[i].block_id, 32);
        assert_memory_equal(a[i].state_digest, b[i].state_digest, 32);
        assert_int_equal(a[i].nreceipts, b[i].nreceipts);
        for (size_t k = 0; k < a[i].nreceipts; k++) {
            assert_memory_equal(a[i].receipts[k].tx, b[i].receipts[k].tx, 32);
            assert_int_equal(a[i].receipts[k].code, b[i].receipts[k].code);
        }
        chain_apply_result_free(&a[i]);
        chain_apply_result_free(&b[i]);
        chain_block_ids_free(&pk[i]);
    }
    chain_head ha = hc_get_head(e), hb = hc_get_head(&e2);
    assert_int_equal(ha.height, 2);
    assert_memory_equal(ha.state_digest, hb.state_digest, 32);
    for (int i = 0; i < 3; i++)
        free(blk[i]);
    hc_teardown(&e2);
}

static void test_blocks_applied_in_one_group_as_one_by_one(void **state)
{
    hc_env *e = *state;
    hc_env e2;
    hc_setup_twin(&e2, e);
    uint8_t *blk[3];
    size_t len[3];
    three_blocks(e, blk, len, "G");
    char err[256];
    /* one by one on e2 */
    for (int i = 0; i < 3; i++) {
        chain_apply_result r;
        assert_int_equal(
            chain_block_apply(e2.c, &r, (uint64_t)i + 1, blk[i], len[i], err, sizeof err),
            CHAIN_OK);
        assert_int_equal(r.receipts[0].code, CHAIN_OK);
        chain_apply_result_free(&r);
    }
    /* indexes that do not increase: refused, nothing written */
    chain_apply_result res[3];
    uint64_t bad[3] = {1, 3, 3};
    assert_int_equal(
        chain_blocks_apply(e->c, res, bad, (const uint8_t *const *)blk, len, 3, err, sizeof err),
        CHAIN_ERR_INVALID);
    assert_int_equal(hc_get_head(e).height, 0);
    /* as one group on e: same receipts, same head and digest */
    uint64_t idx[3] = {1, 2, 3};
    assert_int_equal(
        chain_blocks_apply(e->c, res, idx, (const uint8_t *const *)blk, len, 3, err, sizeof err),
        CHAIN_OK);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(res[i].height, (uint64_t)i + 1);
        assert_int_equal(res[i].receipts[0].code, CHAIN_OK);
        chain_apply_result_free(&res[i]);
    }
    chain_head a = hc_get_head(e), b = hc_get_head(&e2);
    assert_int_equal(a.height, 3);
    assert_int_equal(a.applied_index, 3);
    assert_int_equal(chain_applied_index(e->c), 3);
    assert_memory_equal(a.state_digest, b.state_digest, 32);
    /* the group again: every index already applied, nothing happens */
    assert_int_equal(
        chain_blocks_apply(e->c, res, idx, (const uint8_t *const *)blk, len, 3, err, sizeof err),
        CHAIN_OK);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(res[i].height, 0);
        chain_apply_result_free(&res[i]);
    }
    assert_memory_equal(hc_get_head(e).state_digest, a.state_digest, 32);
    for (int i = 0; i < 3; i++)
        free(blk[i]);
    hc_teardown(&e2);
}

static void test_group_is_all_or_nothing(void **state)
{
    hc_env *e = *state;
    hc_close(e);
    chain_options opt = {.map_size = (size_t)2 << 20, .no_sync = true};
    char err[256];
    assert_int_equal(chain_open(&e->c, e->dir, e->g, &opt, err, sizeof err), CHAIN_OK);
    /* block 1 small, block 2 a 10,000-unit mint that cannot fit the map */
    uint8_t *blk[2], *t[1];
    size_t len[2], tl[1];
    chain_tx tx = hc_tx(CHAIN_TX_MINT);
    snprintf(tx.gtin, sizeof tx.gtin, "%s", HC_GTIN);
    char serial[] = "SMALL", *sp = serial;
    uint8_t sig[1][CHAIN_SIG_LEN] = {{0}};
    tx.serials = &sp;
    tx.label_sigs = sig;
    tx.nunits = 1;
    hc_encode(e, HK_BRAND, &tx, &t[0], &tl[0]);
    hc_build(e, &blk[0], &len[0], t, tl, 1);
    free(t[0]);
    chain_block_header hdr;
    uint8_t id[32];
    size_t ntx;
    assert_int_equal(chain_block_peek(&hdr, id, &ntx, blk[0], len[0]), CHAIN_OK);
    chain_tx big = hc_tx(CHAIN_TX_MINT);
    snprintf(big.gtin, sizeof big.gtin, "%s", HC_GTIN);
    big.nunits = CHAIN_MINT_MAX;
    big.serials = calloc(big.nunits, sizeof *big.serials);
    big.label_sigs = calloc(big.nunits, sizeof *big.label_sigs);
    for (size_t i = 0; i < big.nunits; i++) {
        big.serials[i] = malloc(24);
        snprintf(big.serials[i], 24, "BIG%u", (unsigned)i);
    }
    hc_encode(e, HK_BRAND, &big, &t[0], &tl[0]);
    chain_tx_free(&big);
    hdr.height++;
    hdr.time += 1000;
    memcpy(hdr.prev, id, 32);
    assert_int_equal(chain_block_build(&blk[1], &len[1], &hdr, (const uint8_t *const *)t, tl, 1),
                     CHAIN_OK);
    free(t[0]);
    chain_head before = hc_get_head(e);
    chain_apply_result res[2];
    uint64_t idx[2] = {before.applied_index + 1, before.applied_index + 2};
    assert_int_equal(
        chain_blocks_apply(e->c, res, idx, (const uint8_t *const *)blk, len, 2, err, sizeof err),
        CHAIN_ERR_STORAGE);
    assert_null(res[0].receipts);
    chain_head after = hc_get_head(e);
    assert_int_equal(after.height, before.height); /* not even block 1 */
    assert_int_equal(after.applied_index, before.applied_index);
    assert_int_equal(chain_applied_index(e->c), before.applied_index);
    free(blk[0]);
    free(blk[1]);
}

/* A big block with valid, forged, foreign and duplicate txs: a ledger that
 * checks signatures on 4 threads gives the same receipts and digest as one
 * that checks them inline. */
static void test_verify_threads_pre_pass_same_receipts_and_digest(void **state)
{
    hc_env *e = *state;
    hc_env e2;
    hc_setup_twin(&e2, e);
    hc_close(&e2);
    e2.verify_threads = 4;
    hc_reopen(&e2);
    enum { N = 300 };
    uint8_t *txs[N];
    size_t lens[N];
    chain_tx tx = hc_tx(CHAIN_TX_MINT);
    snprintf(tx.gtin, sizeof tx.gtin, "%s", HC_GTIN);
    tx.nunits = N;
    tx.serials = calloc(N, sizeof *tx.serials);
    tx.label_sigs = calloc(N, sizeof *tx.label_sigs);
    for (size_t i = 0; i < N; i++) {
        tx.serials[i] = malloc(8);
        snprintf(tx.serials[i], 8, "V%u", (unsigned)i);
    }
    hc_encode(e, HK_BRAND, &tx, &txs[0], &lens[0]);
    for (size_t i = 1; i < N; i++) {
        chain_tx p = hc_tx(CHAIN_TX_PICKUP);
        gs1_sgtin u = hc_unit(HC_GTIN, tx.serials[i % 7 == 0 ? i - 1 : i]);
        p.units = &u;
        p.nunits = 1;
        int who = i % 2 ? HK_CARRIER : HK_CARRIER2;
        if (i % 11 == 0)
            memset(p.chain, 5, 32); /* another chain */
        hc_encode(e, who, &p, &txs[i], &lens[i]);
        if (i % 13 == 0)
            txs[i][10] ^= 1; /* forged: a signature byte flipped (sig is the first field) */
    }
    chain_tx_free(&tx);
    uint8_t *blk;
    size_t len;
    hc_build(e, &blk, &len, txs, lens, N);
    for (size_t i = 0; i < N; i++)
        free(txs[i]);
    chain_apply_result r1, r2;
    char err[128];
    assert_int_equal(chain_block_apply(e->c, &r1, 1, blk, len, err, sizeof err), CHAIN_OK);
    assert_int_equal(chain_block_apply(e2.c, &r2, 1, blk, len, err, sizeof err), CHAIN_OK);
    free(blk);
    assert_int_equal(r1.nreceipts, N);
    assert_int_equal(r2.nreceipts, N);
    int codes[CHAIN_ERR__COUNT] = {0};
    for (size_t i = 0; i < N; i++) {
        assert_int_equal(r1.receipts[i].code, r2.receipts[i].code);
        assert_string_equal(r1.receipts[i].detail, r2.receipts[i].detail);
        assert_memory_equal(r1.receipts[i].tx, r2.receipts[i].tx, 32);
        codes[r1.receipts[i].code]++;
    }
    assert_true(codes[CHAIN_OK] >= 2);
    assert_true(codes[CHAIN_ERR_WRONG_CHAIN] > 0);
    assert_true(codes[CHAIN_ERR_BAD_SIGNATURE] > 0);
    assert_true(codes[CHAIN_ERR_STALE_NONCE] > 0 && codes[CHAIN_ERR_BAD_STATE] > 0);
    assert_memory_equal(r1.state_digest, r2.state_digest, 32);
    chain_apply_result_free(&r1);
    chain_apply_result_free(&r2);
    hc_teardown(&e2);
}

/* ---- concurrent readers ---- */

typedef struct reader {
    chain *c;
    atomic_bool stop;
    long reads;
    int bad;
} reader;

static void *read_loop(void *arg)
{
    reader *r = arg;
    while (!atomic_load(&r->stop)) {
        chain_rd *rd;
        if (chain_rd_begin(r->c, &rd) != CHAIN_OK) {
            r->bad++;
            continue;
        }
        chain_head h;
        if (chain_head_get(rd, &h) != CHAIN_OK)
            r->bad++;
        /* within one snapshot, every minted unit of the head is readable */
        if (h.units > 0) {
            chain_unit u;
            char serial[24];
            snprintf(serial, sizeof serial, "C%llu", (unsigned long long)(h.units - 1));
            if (chain_unit_get(rd, &u, HC_GTIN, serial) != CHAIN_OK)
                r->bad++;
        }
        chain_rd_end(rd);
        r->reads++;
    }
    return NULL;
}

static void test_concurrent_reader_sees_whole_blocks_while_applying(void **state)
{
    hc_env *e = *state;
    reader r = {.c = e->c};
    atomic_init(&r.stop, false);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, read_loop, &r), 0);
    for (int i = 0; i < 100; i++) {
        char serial[24];
        snprintf(serial, sizeof serial, "C%d", i);
        assert_int_equal(hc_mint(e, HK_BRAND, HC_GTIN, "L", serial, 1), CHAIN_OK);
    }
    atomic_store(&r.stop, true);
    pthread_join(th, NULL);
    assert_int_equal(r.bad, 0);
    assert_true(r.reads > 0);
}

/* ---- catching up by blocks ---- */

/* A transfer X: alice → bob in its own block, built on e's head. */
static void transfer_block(hc_env *e, uint8_t **blk, size_t *blen)
{
    chain_tx tx = hc_tx(CHAIN_TX_TRANSFER);
    gs1_sgtin u = hc_unit(HC_GTIN, "X");
    tx.units = &u;
    tx.nunits = 1;
    tx.has_key = true;
    memcpy(tx.key, e->pub[HK_BOB], 32);
    uint8_t *t[1];
    size_t l[1];
    hc_encode(e, HK_ALICE, &tx, &t[0], &l[0]);
    hc_build(e, blk, blen, t, l, 1);
    free(t[0]);
}

static void test_marker_says_where_the_state_is(void **state)
{
    hc_env *e = *state;
    hc_unit_owned(e, "X", HK_ALICE);
    uint8_t *mk;
    size_t len;
    char err[256];
    assert_int_equal(chain_marker_take(e->c, &mk, &len), CHAIN_OK);
    assert_true(len < 1024); /* a marker, not the state */
    chain_marker m;
    assert_int_equal(chain_marker_decode(&m, mk, len, e->g->chain_id, err, sizeof err), CHAIN_OK);
    chain_head h = hc_get_head(e);
    assert_int_equal(m.index, h.applied_index);
    assert_int_equal(m.height, h.height);
    assert_memory_equal(m.id, h.id, 32);
    assert_memory_equal(m.digest, h.state_digest, 32);
    /* the genesis's two nodes, with the gateways that serve the blocks */
    assert_int_equal(m.nnodes, 2);
    assert_int_equal(m.nodes[0].id, 1);
    assert_string_equal(m.nodes[0].http_addr, "http://127.0.0.1:8101");
    assert_string_equal(m.nodes[1].http_addr, "http://127.0.0.1:8102");
    /* every truncation refused, and *out left alone */
    chain_marker untouched;
    memset(&untouched, 0x5a, sizeof untouched);
    for (size_t cut = 0; cut < len; cut++) {
        chain_marker o = untouched;
        assert_int_not_equal(chain_marker_decode(&o, mk, cut, e->g->chain_id, err, sizeof err),
                             CHAIN_OK);
        assert_memory_equal(&o, &untouched, sizeof o);
    }
    /* a trailing byte */
    uint8_t *longer = malloc(len + 1);
    memcpy(longer, mk, len);
    longer[len] = 0;
    assert_int_equal(chain_marker_decode(&m, longer, len + 1, e->g->chain_id, err, sizeof err),
                     CHAIN_ERR_MALFORMED);
    free(longer);
    /* of another chain */
    uint8_t other[32];
    memcpy(other, e->g->chain_id, 32);
    other[0] ^= 1;
    assert_int_equal(chain_marker_decode(&m, mk, len, other, err, sizeof err),
                     CHAIN_ERR_BAD_GENESIS);
    assert_non_null(strstr(err, "another chain"));
    free(mk);
}

static void test_replay_catches_up_to_the_same_state(void **state)
{
    hc_env *e = *state;
    hc_unit_owned(e, "X", HK_ALICE);
    assert_int_equal(hc_mint(e, HK_BRAND, HC_GTIN2, "L2", "Y", 50), CHAIN_OK);
    char detail[96];
    chain_tx bad = hc_tx(CHAIN_TX_PICKUP); /* a refused tx is part of history too */
    gs1_sgtin u = hc_unit(HC_GTIN, "NOPE");
    bad.units = &u;
    bad.nunits = 1;
    assert_int_equal(hc_apply1(e, HK_CARRIER, &bad, detail), CHAIN_ERR_UNKNOWN_UNIT);
    hc_env e2;
    hc_setup_twin(&e2, e);
    hc_catch_up(&e2, e, 2); /* ranges of two blocks */
    chain_head a = hc_get_head(e), b = hc_get_head(&e2);
    assert_int_equal(a.height, b.height);
    assert_memory_equal(a.id, b.id, 32);
    assert_memory_equal(a.state_digest, b.state_digest, 32);
    assert_int_equal(chain_applied_index(e2.c), a.applied_index);
    uint8_t *da, *db;
    size_t la, lb;
    hc_dump(e, &da, &la);
    hc_dump(&e2, &db, &lb);
    assert_int_equal(la, lb);
    assert_memory_equal(da, db, la); /* every record, receipts and history included */
    free(da);
    free(db);
    assert_int_equal(hc_get_unit(&e2, HC_GTIN, "X").state, CHAIN_UNIT_OWNED);
    /* both keep applying the same next block to the same digest */
    uint8_t *blk;
    size_t blen;
    char err[256];
    transfer_block(e, &blk, &blen);
    chain_apply_result r1, r2;
    assert_int_equal(chain_block_apply(e->c, &r1, a.applied_index + 1, blk, blen, err, sizeof err),
                     CHAIN_OK);
    assert_int_equal(chain_block_apply(e2.c, &r2, a.applied_index + 1, blk, blen, err, sizeof err),
                     CHAIN_OK);
    assert_int_equal(r1.receipts[0].code, CHAIN_OK);
    assert_int_equal(r2.receipts[0].code, CHAIN_OK);
    assert_memory_equal(r1.state_digest, r2.state_digest, 32);
    chain_apply_result_free(&r1);
    chain_apply_result_free(&r2);
    free(blk);
    hc_teardown(&e2);
}

static void test_replay_refuses_block_that_does_not_extend_head(void **state)
{
    hc_env *e = *state;
    hc_unit_owned(e, "X", HK_ALICE); /* blocks 1..4 */
    hc_env e2;
    hc_setup_twin(&e2, e);
    chain_rd *rd;
    const uint8_t *raw;
    size_t len;
    char err[256];
    assert_int_equal(chain_rd_begin(e->c, &rd), CHAIN_OK);
    assert_int_equal(chain_block_get(rd, &raw, &len, 2), CHAIN_OK);
    chain_apply_result r;
    assert_int_equal(chain_block_replay(e2.c, &r, raw, len, err, sizeof err), CHAIN_ERR_BAD_BLOCK);
    assert_non_null(strstr(err, "does not extend the head at height 0"));
    /* garbage is refused the same way */
    uint8_t junk[8] = {0xa1, 0x61, 'x', 0x01};
    assert_int_equal(chain_block_replay(e2.c, &r, junk, sizeof junk, err, sizeof err),
                     CHAIN_ERR_BAD_BLOCK);
    chain_rd_end(rd);
    chain_head h = hc_get_head(&e2);
    assert_int_equal(h.height, 0);
    assert_int_equal(h.applied_index, 0);
    hc_teardown(&e2);
}

static void test_marker_reach_refuses_another_head(void **state)
{
    hc_env *e = *state;
    hc_unit_owned(e, "X", HK_ALICE);
    uint8_t *mk;
    size_t len;
    char err[256];
    chain_marker m;
    assert_int_equal(chain_marker_take(e->c, &mk, &len), CHAIN_OK);
    assert_int_equal(chain_marker_decode(&m, mk, len, e->g->chain_id, err, sizeof err), CHAIN_OK);
    free(mk);
    hc_env e2;
    hc_setup_twin(&e2, e);
    /* e2 at height 0 cannot reach a marker at height 4 */
    assert_int_equal(chain_marker_reach(e2.c, &m, err, sizeof err), CHAIN_ERR_BAD_BLOCK);
    assert_int_equal(chain_applied_index(e2.c), 0);
    /* same height, another digest: refused, index unchanged */
    hc_catch_up(&e2, e, 16);
    m.digest[5] ^= 1;
    m.index += 10;
    assert_int_equal(chain_marker_reach(e2.c, &m, err, sizeof err), CHAIN_ERR_BAD_BLOCK);
    assert_non_null(strstr(err, "state digest"));
    assert_int_equal(chain_applied_index(e2.c), chain_applied_index(e->c));
    hc_teardown(&e2);
}

static void test_block_ranges_are_bounded(void **state)
{
    hc_env *e = *state;
    hc_unit_owned(e, "X", HK_ALICE); /* 4 blocks */
    chain_rd *rd;
    uint8_t *buf;
    size_t len, n, k;
    const uint8_t *blks[8];
    size_t lens[8];
    char err[256];
    assert_int_equal(chain_rd_begin(e->c, &rd), CHAIN_OK);
    /* a count limit */
    assert_int_equal(chain_blocks_encode(rd, 1, 3, 1u << 20, &buf, &len, &n), CHAIN_OK);
    assert_int_equal(n, 3);
    assert_int_equal(chain_blocks_split(blks, lens, &k, 8, buf, len, err, sizeof err), CHAIN_OK);
    assert_int_equal(k, 3);
    const uint8_t *raw;
    size_t rlen;
    assert_int_equal(chain_block_get(rd, &raw, &rlen, 2), CHAIN_OK);
    assert_int_equal(lens[1], rlen);
    assert_memory_equal(blks[1], raw, rlen); /* the stored bytes, unchanged */
    /* the reader refuses more blocks than it may take, and any truncation */
    assert_int_equal(chain_blocks_split(blks, lens, &k, 2, buf, len, err, sizeof err),
                     CHAIN_ERR_TOO_LARGE);
    for (size_t cut = 0; cut < len; cut++)
        assert_int_not_equal(chain_blocks_split(blks, lens, &k, 8, buf, cut, err, sizeof err),
                             CHAIN_OK);
    free(buf);
    /* a byte limit smaller than one block still gives that one block */
    assert_int_equal(chain_blocks_encode(rd, 2, 8, 1, &buf, &len, &n), CHAIN_OK);
    assert_int_equal(n, 1);
    free(buf);
    /* the range stops at the head; nothing beyond it */
    assert_int_equal(chain_blocks_encode(rd, 3, 8, 1u << 20, &buf, &len, &n), CHAIN_OK);
    assert_int_equal(n, 2);
    free(buf);
    assert_int_equal(chain_blocks_encode(rd, 5, 8, 1u << 20, &buf, &len, &n), CHAIN_ERR_NOT_FOUND);
    chain_rd_end(rd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
        T(test_same_tx_twice_in_one_block_one_effect_first_receipt),
        T(test_replayed_tx_in_later_block_returns_first_receipt_changes_nothing),
        T(test_refused_tx_replayed_returns_its_refusal),
        T(test_tx_get_returns_receipt_and_exact_bytes),
        T(test_stale_nonce_refused_and_future_nonce_refused),
        T(test_tx_signed_for_other_chain_refused_wrong_chain),
        T(test_bad_signature_refused_and_not_recorded),
        T(test_verified_hook_skips_only_vouched_bytes),
        T(test_undecodable_tx_in_block_refused_not_recorded),
        T(test_block_not_extending_head_skipped_bad_block),
        T(test_apply_idempotent_on_replayed_index),
        T(test_restart_keeps_state),
        T(test_open_with_other_genesis_refused_bad_genesis),
        T(test_open_of_older_format_refused_with_a_clear_message),
        T(test_mint_of_10000_serials_applies),
        T(test_storage_prepare_grows_the_file_ahead_and_keeps_the_ledger),
        T(test_full_disk_returns_storage_and_writes_nothing),
        T(test_blocks_applied_in_one_group_as_one_by_one),
        T(test_blocks_applied_with_their_peeks_as_without),
        T(test_group_is_all_or_nothing),
        T(test_verify_threads_pre_pass_same_receipts_and_digest),
        T(test_concurrent_reader_sees_whole_blocks_while_applying),
        T(test_marker_says_where_the_state_is),
        T(test_replay_catches_up_to_the_same_state),
        T(test_replay_refuses_block_that_does_not_extend_head),
        T(test_marker_reach_refuses_another_head),
        T(test_block_ranges_are_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
