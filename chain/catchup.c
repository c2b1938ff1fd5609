/*
 * catchup.c — how a lagging node catches up: a consensus snapshot of the
 * ledger is a marker, not the state, and the state follows by blocks.
 *
 * The ledger's state is already durable in its own LMDB environment, so Raft
 * needs a snapshot only to compact its log and to tell a lagging node where
 * the cluster is. The marker says exactly that: the consensus index the state
 * is at, the head (height, block id, state digest) and the gateways of the
 * nodes that can serve the blocks. A node behind the marker fetches the
 * missing blocks and re-applies them (chain_block_replay: every signature and
 * rule checked again), then chain_marker_reach checks that its head is the
 * marker's — block ids chain by hash, so an equal head id means an equal
 * history — and moves the applied index to the marker's. The marker is a few
 * hundred bytes whatever the size of the ledger.
 *
 * Blocks travel in ranges: chain_blocks_encode writes consecutive stored
 * blocks as one CBOR array of byte strings (bounded in count and bytes, what
 * a gateway answers), chain_blocks_split reads such an array back through the
 * bounded reader without copying, and chain_blocks_verify_back checks such a
 * range against the block id it must end in, so a catching-up node pins every
 * block it will replay to the marker's head id before it replays the first.
 *
 * Format (canonical CBOR):
 *   {"chain": bstr32, "digest": bstr32, "height": uint, "id": bstr32,
 *    "index": uint, "nodes": [[node id, http url], ...], "version": 2}
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chain/cbor_util.h"
#include "chain/state_int.h"

#define MARKER_VERSION 2
/* bounds the decoder: fixed fields plus every node's id and URL */
#define MARKER_BYTES_MAX (256 + CHAIN_NODES_MAX * (CHAIN_ADDR_MAX + 16))

int chain_marker_take(chain *c, uint8_t **out, size_t *out_len)
{
    int mrc = mdb_env_sync(c->env, 1);
    if (mrc)
        return st_lmdb_err(mrc, "marker: sync", NULL, 0);
    chain_rd *rd;
    int rc = chain_rd_begin(c, &rd);
    if (rc)
        return rc;
    chain_head h;
    chain_node_info *nodes = malloc(CHAIN_NODES_MAX * sizeof *nodes);
    if (nodes == NULL) {
        chain_rd_end(rd);
        return CHAIN_ERR_NOMEM;
    }
    rc = chain_head_get(rd, &h);
    size_t n = rc == CHAIN_OK ? chain_nodes(rd, nodes, CHAIN_NODES_MAX) : 0;
    chain_rd_end(rd);
    if (rc) {
        free(nodes);
        return rc;
    }
    cbu_wr w;
    cbu_wr_init(&w, MARKER_BYTES_MAX);
    cbu_put_map(&w, 7);
    cbu_put_key(&w, "id");
    cbu_put_bytes(&w, h.id, CHAIN_HASH_LEN);
    cbu_put_key(&w, "chain");
    cbu_put_bytes(&w, c->g->chain_id, CHAIN_HASH_LEN);
    cbu_put_key(&w, "index");
    cbu_put_uint(&w, h.applied_index);
    cbu_put_key(&w, "nodes");
    cbu_put_array(&w, n);
    for (size_t i = 0; i < n; i++) {
        cbu_put_array(&w, 2);
        cbu_put_uint(&w, nodes[i].id);
        cbu_put_cstr(&w, nodes[i].http_addr);
    }
    cbu_put_key(&w, "digest");
    cbu_put_bytes(&w, h.state_digest, CHAIN_HASH_LEN);
    cbu_put_key(&w, "height");
    cbu_put_uint(&w, h.height);
    cbu_put_key(&w, "version");
    cbu_put_uint(&w, MARKER_VERSION);
    free(nodes);
    return cbu_wr_finish(&w, out, out_len);
}

static int marker_nodes(cbu_rd *r, chain_marker *m)
{
    size_t n;
    int rc = cbu_get_array(r, &n, CHAIN_NODES_MAX, "nodes");
    for (size_t i = 0; rc == CHAIN_OK && i < n; i++) {
        size_t two;
        chain_marker_node *mn = &m->nodes[i];
        if ((rc = cbu_get_array(r, &two, 2, "node")))
            break;
        if (two != 2)
            return cbu_fail(r, CHAIN_ERR_MALFORMED, "node: [id, http] expected");
        if ((rc = cbu_get_uint(r, &mn->id, "node id")) ||
            (rc = cbu_get_text(r, mn->http_addr, sizeof mn->http_addr, "node http")))
            break;
        m->nnodes = i + 1;
    }
    return rc;
}

int chain_marker_decode(chain_marker *out, const uint8_t *buf, size_t len,
                        const uint8_t chain_id[CHAIN_HASH_LEN], char *errmsg, size_t errmsg_len)
{
    if (errmsg != NULL && errmsg_len > 0)
        errmsg[0] = '\0';
    cbu_rd r;
    cbu_rd_init(&r, buf, len, errmsg, errmsg_len);
    if (len > MARKER_BYTES_MAX)
        return cbu_fail(&r, CHAIN_ERR_TOO_LARGE, "marker: %zu bytes", len);
    chain_marker m;
    memset(&m, 0, sizeof m);
    uint8_t chain[CHAIN_HASH_LEN];
    uint64_t version = 0;
    size_t n;
    cbu_keys keys = CBU_KEYS_INIT;
    int rc = cbu_get_map(&r, &n, 7, "marker");
    if (rc == CHAIN_OK && n != 7)
        return cbu_fail(&r, CHAIN_ERR_MALFORMED, "marker: 7 fields expected, %zu found", n);
    /* keys in canonical order: id, chain, index, nodes, digest, height, version */
    static const char *const names[7] = {"id",     "chain",  "index",  "nodes",
                                         "digest", "height", "version"};
    for (size_t i = 0; rc == CHAIN_OK && i < 7; i++) {
        const char *key;
        size_t kl;
        if ((rc = cbu_get_key(&r, &keys, &key, &kl)))
            break;
        if (!cbu_key_is(key, kl, names[i]))
            return cbu_fail(&r, CHAIN_ERR_MALFORMED, "marker: %s expected", names[i]);
        switch (i) {
        case 0:
            rc = cbu_get_bytes_n(&r, m.id, CHAIN_HASH_LEN, "id");
            break;
        case 1:
            rc = cbu_get_bytes_n(&r, chain, CHAIN_HASH_LEN, "chain");
            break;
        case 2:
            rc = cbu_get_uint(&r, &m.index, "index");
            break;
        case 3:
            rc = marker_nodes(&r, &m);
            break;
        case 4:
            rc = cbu_get_bytes_n(&r, m.digest, CHAIN_HASH_LEN, "digest");
            break;
        case 5:
            rc = cbu_get_uint(&r, &m.height, "height");
            break;
        default:
            rc = cbu_get_uint(&r, &version, "version");
        }
    }
    if (rc == CHAIN_OK)
        rc = cbu_rd_done(&r);
    if (rc)
        return rc;
    if (version != MARKER_VERSION)
        return cbu_fail(&r, CHAIN_ERR_INVALID, "marker: version %llu, this node reads %d",
                        (unsigned long long)version, MARKER_VERSION);
    if (memcmp(chain, chain_id, CHAIN_HASH_LEN) != 0)
        return cbu_fail(&r, CHAIN_ERR_BAD_GENESIS, "marker: of another chain");
    *out = m;
    return CHAIN_OK;
}

int chain_marker_reach(chain *c, const chain_marker *m, char *errmsg, size_t errmsg_len)
{
    if (errmsg != NULL && errmsg_len > 0)
        errmsg[0] = '\0';
    MDB_txn *t;
    int mrc = mdb_txn_begin(c->env, NULL, 0, &t);
    if (mrc)
        return st_lmdb_err(mrc, "reach marker", errmsg, errmsg_len);
    st_head h;
    uint64_t applied = 0;
    int rc = st_head_get(c, t, &h);
    if (rc == CHAIN_OK)
        rc = st_uint_get(t, c->dbi[DB_META], "applied", 7, &applied);
    if (rc == CHAIN_OK && (h.height != m->height || memcmp(h.id, m->id, CHAIN_HASH_LEN) != 0 ||
                           memcmp(h.digest, m->digest, CHAIN_HASH_LEN) != 0)) {
        if (errmsg != NULL && errmsg_len > 0)
            snprintf(errmsg, errmsg_len,
                     "head at height %llu is not the marker's (height %llu): block id or "
                     "state digest differ",
                     (unsigned long long)h.height, (unsigned long long)m->height);
        rc = CHAIN_ERR_BAD_BLOCK;
    }
    if (rc == CHAIN_OK && m->index > applied)
        rc = st_uint_put(t, c->dbi[DB_META], "applied", 7, m->index);
    if (rc) {
        mdb_txn_abort(t);
        return rc;
    }
    if ((mrc = mdb_txn_commit(t)))
        return st_lmdb_err(mrc, "reach marker: commit", errmsg, errmsg_len);
    if (m->index > applied)
        atomic_store(&c->applied, m->index);
    return CHAIN_OK;
}

int chain_blocks_encode(chain_rd *rd, uint64_t from, size_t max_blocks, size_t max_bytes,
                        uint8_t **out, size_t *out_len, size_t *count)
{
    if (from == 0 || max_blocks == 0)
        return CHAIN_ERR_INVALID;
    /* count first, so the array head is exact */
    size_t n = 0, bytes = 0;
    const uint8_t *raw;
    size_t len;
    int rc = CHAIN_OK;
    while (n < max_blocks && (rc = chain_block_get(rd, &raw, &len, from + n)) == CHAIN_OK) {
        if (n > 0 && bytes + len > max_bytes)
            break;
        bytes += len;
        n++;
    }
    if (n == 0)
        return rc;
    if (rc != CHAIN_OK && rc != CHAIN_ERR_NOT_FOUND && n < max_blocks)
        return rc;
    cbu_wr w;
    cbu_wr_init(&w, bytes + 16 + 9 * n);
    cbu_put_array(&w, n);
    for (size_t i = 0; i < n; i++) {
        if ((rc = chain_block_get(rd, &raw, &len, from + i))) {
            cbu_wr_free(&w);
            return rc;
        }
        cbu_put_bytes(&w, raw, len);
    }
    if ((rc = cbu_wr_finish(&w, out, out_len)))
        return rc;
    *count = n;
    return CHAIN_OK;
}

/* A CBOR array of at most max byte strings of at most item_max bytes each:
 * pointers into buf, nothing copied (a range of blocks, a batch of txs). */
static int bytes_array_split(const uint8_t **items, size_t *lens, size_t *count, size_t max,
                             size_t item_max, const char *what, const char *item_what,
                             const uint8_t *buf, size_t len, char *errmsg, size_t errmsg_len)
{
    if (errmsg != NULL && errmsg_len > 0)
        errmsg[0] = '\0';
    cbu_rd r;
    cbu_rd_init(&r, buf, len, errmsg, errmsg_len);
    size_t n;
    int rc = cbu_get_array(&r, &n, max, what);
    for (size_t i = 0; rc == CHAIN_OK && i < n; i++)
        rc = cbu_get_bytes(&r, &items[i], &lens[i], item_max, item_what);
    if (rc == CHAIN_OK)
        rc = cbu_rd_done(&r);
    if (rc)
        return rc;
    *count = n;
    return CHAIN_OK;
}

int chain_blocks_split(const uint8_t **blks, size_t *lens, size_t *count, size_t max_blocks,
                       const uint8_t *buf, size_t len, char *errmsg, size_t errmsg_len)
{
    return bytes_array_split(blks, lens, count, max_blocks, CHAIN_BLOCK_MAX_BYTES, "blocks",
                             "block", buf, len, errmsg, errmsg_len);
}

int chain_txs_split(const uint8_t **txs, size_t *lens, size_t *count, size_t max_txs,
                    const uint8_t *buf, size_t len, char *errmsg, size_t errmsg_len)
{
    return bytes_array_split(txs, lens, count, max_txs, CHAIN_TX_MAX_BYTES, "batch",
                             "batch element", buf, len, errmsg, errmsg_len);
}

int chain_blocks_verify_back(uint8_t prev_id[CHAIN_HASH_LEN], const uint8_t *const *blks,
                             const size_t *lens, size_t n, uint64_t from,
                             const uint8_t top_id[CHAIN_HASH_LEN], char *errmsg, size_t errmsg_len)
{
    if (errmsg != NULL && errmsg_len > 0)
        errmsg[0] = '\0';
    if (n == 0 || from == 0 || from + n < from) {
        if (errmsg != NULL && errmsg_len > 0)
            snprintf(errmsg, errmsg_len, "an empty range");
        return CHAIN_ERR_INVALID;
    }
    uint8_t want[CHAIN_HASH_LEN];
    memcpy(want, top_id, CHAIN_HASH_LEN);
    for (size_t k = n; k-- > 0;) {
        uint64_t height = from + k;
        chain_block_header hdr;
        uint8_t id[CHAIN_HASH_LEN];
        size_t ntx;
        int rc = chain_block_peek(&hdr, id, &ntx, blks[k], lens[k]);
        if (rc != CHAIN_OK) {
            if (errmsg != NULL && errmsg_len > 0)
                snprintf(errmsg, errmsg_len, "block at height %llu does not decode: %s",
                         (unsigned long long)height, chain_err_code(rc));
            return rc;
        }
        if (hdr.height != height) {
            if (errmsg != NULL && errmsg_len > 0)
                snprintf(errmsg, errmsg_len, "block at position %llu claims height %llu",
                         (unsigned long long)height, (unsigned long long)hdr.height);
            return CHAIN_ERR_BAD_BLOCK;
        }
        if (memcmp(id, want, CHAIN_HASH_LEN) != 0) {
            if (errmsg != NULL && errmsg_len > 0) {
                char got_hex[17], want_hex[17];
                chain_hex(got_hex, id, 8);
                chain_hex(want_hex, want, 8);
                snprintf(errmsg, errmsg_len,
                         "block at height %llu has id %s…, the committed history has %s… "
                         "there: a fork, refused before replay",
                         (unsigned long long)height, got_hex, want_hex);
            }
            return CHAIN_ERR_BAD_BLOCK;
        }
        memcpy(want, hdr.prev, CHAIN_HASH_LEN);
    }
    memcpy(prev_id, want, CHAIN_HASH_LEN);
    return CHAIN_OK;
}
