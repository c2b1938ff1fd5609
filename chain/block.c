/*
 * block.c — the block as bytes: building, peeking at the header, and the
 * Merkle root that binds the header to its transactions.
 *
 * A block is {"header": {...}, "txs": [bstr, ...]} in canonical CBOR, so
 * "txs" (shorter key) comes first. The block id hashes only the header's
 * encoding; the header commits to the transactions through txs_root, the
 * Merkle root of their ids. Ids are taken from the encoded bytes
 * (tx_id_raw) so peeking never decodes a transaction.
 *
 * The Merkle tree is computed streaming, with a stack of at most 64 subtree
 * roots, so neither build nor peek allocates per transaction for it. A lone
 * node at the end of a level is paired with itself (H(x || x)); one leaf is
 * its own root; no leaves give 32 zero bytes. Blocks in which two siblings
 * are equal are refused, so that duplicated trailing ids cannot produce
 * the same root for two different lists.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "chain/block_priv.h"
#include "chain/cbor_util.h"
#include "chain/chain.h"
#include "chain/tx_schema.h"

/* ---- Merkle ---------------------------------------------------------------------- */

typedef struct merkle {
    uint8_t h[64][CHAIN_HASH_LEN];
    unsigned level[64];
    size_t depth;
    size_t leaves;
    bool mutated;
} merkle;

static void node_hash(uint8_t out[CHAIN_HASH_LEN], const uint8_t *l, const uint8_t *r)
{
    uint8_t pair[2 * CHAIN_HASH_LEN];
    memcpy(pair, l, CHAIN_HASH_LEN);
    memcpy(pair + CHAIN_HASH_LEN, r, CHAIN_HASH_LEN);
    chain_tagged_hash(out, CHAIN_TAG_MERKLE, pair, sizeof pair);
}

/* Merges the two top entries while they are at the same level. */
static void merkle_fold(merkle *m)
{
    while (m->depth >= 2 && m->level[m->depth - 1] == m->level[m->depth - 2]) {
        uint8_t *l = m->h[m->depth - 2], *r = m->h[m->depth - 1];
        if (memcmp(l, r, CHAIN_HASH_LEN) == 0)
            m->mutated = true;
        node_hash(l, l, r);
        m->level[m->depth - 2]++;
        m->depth--;
    }
}

static void merkle_init(merkle *m)
{
    m->depth = 0;
    m->leaves = 0;
    m->mutated = false;
}

static void merkle_add(merkle *m, const uint8_t id[CHAIN_HASH_LEN])
{
    /* Levels strictly decrease up the stack, so depth ≤ log2(leaves) + 1. */
    assert(m->depth < 64);
    memcpy(m->h[m->depth], id, CHAIN_HASH_LEN);
    m->level[m->depth] = 0;
    m->depth++;
    m->leaves++;
    merkle_fold(m);
}

static void merkle_done(merkle *m, uint8_t out[CHAIN_HASH_LEN])
{
    if (m->depth == 0) {
        memset(out, 0, CHAIN_HASH_LEN);
        return;
    }
    /* A lone top node is the last of an odd level: pair it with itself. */
    while (m->depth > 1) {
        uint8_t *t = m->h[m->depth - 1];
        node_hash(t, t, t);
        m->level[m->depth - 1]++;
        merkle_fold(m);
    }
    memcpy(out, m->h[0], CHAIN_HASH_LEN);
}

void block_merkle(uint8_t out[CHAIN_HASH_LEN], const uint8_t (*ids)[CHAIN_HASH_LEN], size_t n,
                  bool *mutated)
{
    merkle m;
    merkle_init(&m);
    for (size_t i = 0; i < n; i++)
        merkle_add(&m, ids[i]);
    merkle_done(&m, out);
    if (mutated != NULL)
        *mutated = m.mutated;
}

void chain_merkle_root(uint8_t out[CHAIN_HASH_LEN], const uint8_t (*ids)[CHAIN_HASH_LEN], size_t n)
{
    block_merkle(out, ids, n, NULL);
}

/* ---- header ---------------------------------------------------------------------- */

/* Canonical order: prev, time, height, proposer, txs_root. */
static void put_header(cbu_wr *w, const chain_block_header *h)
{
    cbu_put_map(w, 5);
    cbu_put_key(w, "prev");
    cbu_put_bytes(w, h->prev, CHAIN_HASH_LEN);
    cbu_put_key(w, "time");
    cbu_put_uint(w, h->time);
    cbu_put_key(w, "height");
    cbu_put_uint(w, h->height);
    cbu_put_key(w, "proposer");
    cbu_put_uint(w, h->proposer);
    cbu_put_key(w, "txs_root");
    cbu_put_bytes(w, h->txs_root, CHAIN_HASH_LEN);
}

/* The canonical encoding of a header into hb (what a block id hashes). */
#define HEADER_MAX 128
static int encode_header(uint8_t hb[HEADER_MAX], const chain_block_header *h, uint8_t **enc,
                         size_t *len)
{
    cbu_wr w;
    cbu_wr_init_fixed(&w, hb, HEADER_MAX);
    put_header(&w, h);
    return cbu_wr_finish(&w, enc, len);
}

static int get_header(cbu_rd *r, chain_block_header *h)
{
    size_t n;
    int rc = cbu_get_map(r, &n, 16, "header");
    if (rc)
        return rc;
    cbu_keys k = CBU_KEYS_INIT;
    unsigned seen = 0;
    for (size_t i = 0; i < n; i++) {
        const char *key;
        size_t kl;
        if ((rc = cbu_get_key(r, &k, &key, &kl)))
            return rc;
        if (cbu_key_is(key, kl, "prev")) {
            rc = cbu_get_bytes_n(r, h->prev, CHAIN_HASH_LEN, "header.prev");
            seen |= 1;
        } else if (cbu_key_is(key, kl, "time")) {
            rc = cbu_get_uint(r, &h->time, "header.time");
            seen |= 2;
        } else if (cbu_key_is(key, kl, "height")) {
            rc = cbu_get_uint(r, &h->height, "header.height");
            seen |= 4;
        } else if (cbu_key_is(key, kl, "proposer")) {
            rc = cbu_get_uint(r, &h->proposer, "header.proposer");
            seen |= 8;
        } else if (cbu_key_is(key, kl, "txs_root")) {
            rc = cbu_get_bytes_n(r, h->txs_root, CHAIN_HASH_LEN, "header.txs_root");
            seen |= 16;
        } else {
            return cbu_fail(r, CHAIN_ERR_MALFORMED, "header.%.*s: unknown field", (int)kl, key);
        }
        if (rc)
            return rc;
    }
    if (seen != 31)
        return cbu_fail(r, CHAIN_ERR_MALFORMED, "header: missing field");
    return CHAIN_OK;
}

/* ---- build ------------------------------------------------------------------------ */

int chain_block_build(uint8_t **out, size_t *out_len, chain_block_header *hdr,
                      const uint8_t *const *txs, const size_t *lens, size_t n)
{
    if (n > CHAIN_BLOCK_TXS_MAX)
        return CHAIN_ERR_TOO_LARGE;
    if (hdr->height == 0)
        return CHAIN_ERR_BAD_BLOCK;
    merkle m;
    merkle_init(&m);
    for (size_t i = 0; i < n; i++) {
        chain_tx tx;
        int rc = chain_tx_decode(&tx, txs[i], lens[i], NULL, 0);
        if (rc)
            return rc;
        chain_tx_free(&tx);
        uint8_t id[CHAIN_HASH_LEN];
        if ((rc = tx_id_raw(id, txs[i], lens[i])))
            return rc;
        merkle_add(&m, id);
    }
    chain_block_header h = *hdr;
    merkle_done(&m, h.txs_root);
    if (m.mutated)
        return CHAIN_ERR_DUPLICATE_TX;

    cbu_wr w;
    cbu_wr_init(&w, CHAIN_BLOCK_MAX_BYTES);
    cbu_put_map(&w, 2);
    cbu_put_key(&w, "txs");
    cbu_put_array(&w, n);
    for (size_t i = 0; i < n; i++)
        cbu_put_bytes(&w, txs[i], lens[i]);
    cbu_put_key(&w, "header");
    put_header(&w, &h);
    int rc = cbu_wr_finish(&w, out, out_len);
    if (rc == CHAIN_OK)
        memcpy(hdr->txs_root, h.txs_root, CHAIN_HASH_LEN);
    return rc;
}

/* ---- peek --------------------------------------------------------------------------- */

/* Walks an encoded block: every tx (handed to fn when non-NULL), the header,
 * and — when verify — the tx ids, the root check and the block id. Writes
 * *hdr, id (when verify) and *ntxs, and only when it returns CHAIN_OK. */
typedef int (*tx_visit)(void *ctx, size_t i, size_t count, const uint8_t *tx, size_t len,
                        const uint8_t *tid);

static int walk(chain_block_header *hdr, uint8_t id[CHAIN_HASH_LEN], size_t *ntxs,
                const uint8_t *buf, size_t len, bool verify, tx_visit fn, void *ctx)
{
    cbu_rd r;
    cbu_rd_init(&r, buf, len, NULL, 0);
    if (len > CHAIN_BLOCK_MAX_BYTES)
        return CHAIN_ERR_TOO_LARGE;
    size_t n;
    int rc = cbu_get_map(&r, &n, 2, "block");
    if (rc)
        return rc;
    if (n != 2)
        return CHAIN_ERR_MALFORMED;
    const char *key;
    size_t kl;
    cbu_keys k = CBU_KEYS_INIT;
    if ((rc = cbu_get_key(&r, &k, &key, &kl)))
        return rc;
    if (!cbu_key_is(key, kl, "txs"))
        return CHAIN_ERR_MALFORMED;
    size_t count;
    if ((rc = cbu_get_array(&r, &count, CHAIN_BLOCK_TXS_MAX, "txs")))
        return rc;
    merkle m;
    merkle_init(&m);
    for (size_t i = 0; i < count; i++) {
        const uint8_t *tx;
        size_t tl;
        if ((rc = cbu_get_bytes(&r, &tx, &tl, CHAIN_TX_MAX_BYTES, "txs")))
            return rc;
        uint8_t tid[CHAIN_HASH_LEN];
        if (verify) {
            if ((rc = tx_id_raw(tid, tx, tl)))
                return rc;
            merkle_add(&m, tid);
        }
        if (fn != NULL && (rc = fn(ctx, i, count, tx, tl, verify ? tid : NULL)))
            return rc;
    }
    if ((rc = cbu_get_key(&r, &k, &key, &kl)))
        return rc;
    if (!cbu_key_is(key, kl, "header"))
        return CHAIN_ERR_MALFORMED;
    const uint8_t *hstart = r.p;
    chain_block_header h;
    if ((rc = get_header(&r, &h)))
        return rc;
    size_t hlen = (size_t)(r.p - hstart);
    if ((rc = cbu_rd_done(&r)))
        return rc;

    /* The header must be the canonical one (its bytes are hashed). */
    uint8_t hb[HEADER_MAX];
    uint8_t *enc;
    size_t enc_len;
    if (encode_header(hb, &h, &enc, &enc_len) != CHAIN_OK || enc_len != hlen ||
        memcmp(enc, hstart, hlen) != 0)
        return CHAIN_ERR_NON_CANONICAL;

    if (verify) {
        uint8_t root[CHAIN_HASH_LEN];
        merkle_done(&m, root);
        if (m.mutated || memcmp(root, h.txs_root, CHAIN_HASH_LEN) != 0 || h.height == 0)
            return CHAIN_ERR_BAD_BLOCK;
        chain_tagged_hash(id, CHAIN_TAG_BLOCK, hstart, hlen);
    }
    *hdr = h;
    *ntxs = count;
    return CHAIN_OK;
}

void chain_block_header_id(uint8_t id[CHAIN_HASH_LEN], const chain_block_header *hdr)
{
    uint8_t hb[HEADER_MAX];
    uint8_t *enc;
    size_t enc_len;
    int rc = encode_header(hb, hdr, &enc, &enc_len);
    assert(rc == CHAIN_OK); /* five fixed fields always fit */
    (void)rc;
    chain_tagged_hash(id, CHAIN_TAG_BLOCK, enc, enc_len);
}

int chain_block_peek(chain_block_header *hdr, uint8_t id[CHAIN_HASH_LEN], size_t *ntxs,
                     const uint8_t *buf, size_t len)
{
    return walk(hdr, id, ntxs, buf, len, true, NULL, NULL); /* writes only on success */
}

typedef struct slices {
    const uint8_t **txs;
    size_t *lens;
    size_t max;
} slices;

static int slice_one(void *ctx, size_t i, size_t count, const uint8_t *tx, size_t len,
                     const uint8_t *tid)
{
    (void)count;
    (void)tid;
    slices *s = ctx;
    if (i >= s->max)
        return CHAIN_ERR_TOO_LARGE;
    s->txs[i] = tx;
    s->lens[i] = len;
    return CHAIN_OK;
}

int block_tx_slices(const uint8_t **txs, size_t *lens, size_t max, const uint8_t *blk, size_t len)
{
    chain_block_header h;
    uint8_t id[CHAIN_HASH_LEN];
    size_t n;
    slices s = {txs, lens, max};
    /* The caller has peeked (verified) these bytes: parse, skip the hashing. */
    return walk(&h, id, &n, blk, len, false, slice_one, &s);
}

static int id_one(void *ctx, size_t i, size_t count, const uint8_t *tx, size_t len,
                  const uint8_t *tid)
{
    (void)tx;
    (void)len;
    uint8_t(**ids)[CHAIN_HASH_LEN] = ctx;
    if (i == 0 && (*ids = malloc(count * sizeof **ids)) == NULL)
        return CHAIN_ERR_NOMEM;
    memcpy((*ids)[i], tid, CHAIN_HASH_LEN);
    return CHAIN_OK;
}

int chain_block_peek_ids(chain_block_ids *out, const uint8_t *blk, size_t len)
{
    memset(out, 0, sizeof *out);
    int rc = walk(&out->hdr, out->id, &out->ntxs, blk, len, true, id_one, &out->tx_ids);
    if (rc)
        chain_block_ids_free(out); /* walk wrote nothing else; ids it may have */
    return rc;
}

void chain_block_ids_free(chain_block_ids *b)
{
    if (b == NULL)
        return;
    free(b->tx_ids);
    memset(b, 0, sizeof *b);
}
