/* Contract tests for chain.h blocks: Merkle root, build, peek, and the
 * private slice reader chain_block_apply uses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "chain/block_priv.h"
#include "chain/cbor_util.h"
#include "chain/chain.h"

static uint8_t sk[32];
static uint8_t *txs[4];
static size_t lens[4];
static uint8_t ids[4][32];

static int setup(void **state)
{
    (void)state;
    uint8_t pub[32];
    assert_int_equal(chain_key_generate(sk, pub), CHAIN_OK);
    gs1_sgtin unit = {"09506000134352", "AB12"};
    for (int i = 0; i < 4; i++) {
        chain_tx tx;
        memset(&tx, 0, sizeof tx);
        tx.type = CHAIN_TX_PICKUP;
        memset(tx.chain, 9, 32);
        tx.nonce = (uint64_t)i + 1;
        tx.units = &unit;
        tx.nunits = 1;
        assert_int_equal(chain_tx_sign(&tx, sk), CHAIN_OK);
        assert_int_equal(chain_tx_encode(&txs[i], &lens[i], &tx), CHAIN_OK);
        assert_int_equal(chain_tx_id(ids[i], &tx), CHAIN_OK);
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    for (int i = 0; i < 4; i++)
        free(txs[i]);
    return 0;
}

static void pair(uint8_t out[32], const uint8_t *l, const uint8_t *r)
{
    uint8_t buf[64];
    memcpy(buf, l, 32);
    memcpy(buf + 32, r, 32);
    chain_tagged_hash(out, CHAIN_TAG_MERKLE, buf, 64);
}

static void test_merkle_empty_is_zero_and_one_leaf_is_itself(void **state)
{
    (void)state;
    uint8_t root[32], zero[32] = {0};
    chain_merkle_root(root, NULL, 0);
    assert_memory_equal(root, zero, 32);
    chain_merkle_root(root, (const uint8_t(*)[32])ids, 1);
    assert_memory_equal(root, ids[0], 32);
}

static void test_merkle_pairs_and_odd_node_paired_with_itself(void **state)
{
    (void)state;
    uint8_t root[32], ab[32], cc[32], cd[32], want[32];
    pair(ab, ids[0], ids[1]);
    chain_merkle_root(root, (const uint8_t(*)[32])ids, 2);
    assert_memory_equal(root, ab, 32);
    pair(cc, ids[2], ids[2]);
    pair(want, ab, cc);
    chain_merkle_root(root, (const uint8_t(*)[32])ids, 3);
    assert_memory_equal(root, want, 32);
    pair(cd, ids[2], ids[3]);
    pair(want, ab, cd);
    chain_merkle_root(root, (const uint8_t(*)[32])ids, 4);
    assert_memory_equal(root, want, 32);
}

static void test_merkle_five_leaves(void **state)
{
    (void)state;
    uint8_t l[5][32], ab[32], cd[32], ee[32], abcd[32], eeee[32], want[32], root[32];
    memcpy(l, ids, 4 * 32);
    memset(l[4], 0x42, 32);
    pair(ab, l[0], l[1]);
    pair(cd, l[2], l[3]);
    pair(ee, l[4], l[4]);
    pair(abcd, ab, cd);
    pair(eeee, ee, ee);
    pair(want, abcd, eeee);
    chain_merkle_root(root, (const uint8_t(*)[32])l, 5);
    assert_memory_equal(root, want, 32);
}

static void test_merkle_duplicated_tail_flagged(void **state)
{
    (void)state;
    uint8_t l[4][32], r3[32], r4[32];
    bool mutated;
    memcpy(l, ids, 3 * 32);
    memcpy(l[3], ids[2], 32); /* a, b, c, c */
    block_merkle(r3, (const uint8_t(*)[32])l, 3, &mutated);
    assert_false(mutated);
    block_merkle(r4, (const uint8_t(*)[32])l, 4, &mutated);
    assert_true(mutated);
    assert_memory_equal(r3, r4, 32); /* the reason it must be flagged */
}

static void test_block_build_then_peek_roundtrip(void **state)
{
    (void)state;
    chain_block_header h = {.height = 5, .time = 1767225600123ull, .proposer = 2};
    memset(h.prev, 0x11, 32);
    uint8_t *blk;
    size_t len;
    assert_int_equal(chain_block_build(&blk, &len, &h, (const uint8_t *const *)txs, lens, 3),
                     CHAIN_OK);
    uint8_t want_root[32];
    chain_merkle_root(want_root, (const uint8_t(*)[32])ids, 3);
    assert_memory_equal(h.txs_root, want_root, 32);

    chain_block_header p;
    uint8_t id[32], id2[32];
    size_t n;
    assert_int_equal(chain_block_peek(&p, id, &n, blk, len), CHAIN_OK);
    assert_int_equal(n, 3);
    assert_int_equal(p.height, 5);
    assert_int_equal(p.time, 1767225600123ull);
    assert_int_equal(p.proposer, 2);
    assert_memory_equal(p.prev, h.prev, 32);
    assert_memory_equal(p.txs_root, want_root, 32);
    /* id is deterministic and covers the header */
    assert_int_equal(chain_block_peek(&p, id2, &n, blk, len), CHAIN_OK);
    assert_memory_equal(id, id2, 32);

    const uint8_t *sl[3];
    size_t sll[3];
    assert_int_equal(block_tx_slices(sl, sll, 3, blk, len), CHAIN_OK);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(sll[i], lens[i]);
        assert_memory_equal(sl[i], txs[i], lens[i]);
    }
    assert_int_equal(block_tx_slices(sl, sll, 2, blk, len), CHAIN_ERR_TOO_LARGE);

    /* the id from the header alone, and the peek that keeps the tx ids */
    uint8_t hid[32];
    chain_block_header_id(hid, &h);
    assert_memory_equal(hid, id, 32);
    chain_block_ids pk;
    assert_int_equal(chain_block_peek_ids(&pk, blk, len), CHAIN_OK);
    assert_int_equal(pk.ntxs, 3);
    assert_memory_equal(pk.id, id, 32);
    assert_int_equal(pk.hdr.height, 5);
    assert_memory_equal(pk.tx_ids, ids, 3 * 32);
    chain_block_ids_free(&pk);
    assert_null(pk.tx_ids);
    blk[len - 1] ^= 1; /* txs_root's last byte: the root no longer matches */
    assert_int_equal(chain_block_peek_ids(&pk, blk, len), CHAIN_ERR_BAD_BLOCK);
    assert_null(pk.tx_ids);
    assert_int_equal(pk.ntxs, 0);
    free(blk);
}

static void test_block_id_is_hash_of_header_encoding(void **state)
{
    (void)state;
    chain_block_header h = {.height = 1, .time = 7, .proposer = 1};
    uint8_t *blk;
    size_t len;
    assert_int_equal(chain_block_build(&blk, &len, &h, NULL, NULL, 0), CHAIN_OK);
    /* {"txs": [], "header": {...}}: header map starts after a2 63 txs 80 66 header */
    const size_t off = 1 + 4 + 1 + 7;
    uint8_t want[32], id[32];
    chain_tagged_hash(want, CHAIN_TAG_BLOCK, blk + off, len - off);
    chain_block_header p;
    size_t n;
    assert_int_equal(chain_block_peek(&p, id, &n, blk, len), CHAIN_OK);
    assert_int_equal(n, 0);
    assert_memory_equal(id, want, 32);
    free(blk);
}

static void test_block_peek_refuses_tampered_tx(void **state)
{
    (void)state;
    chain_block_header h = {.height = 2, .time = 1, .proposer = 1};
    uint8_t *blk;
    size_t len;
    assert_int_equal(chain_block_build(&blk, &len, &h, (const uint8_t *const *)txs, lens, 2),
                     CHAIN_OK);
    /* flip a byte of the second tx's signature: its id is unchanged (ids
     * exclude sig) so flip a body byte instead: the last unit serial char */
    uint8_t *p = memmem(blk, len, "AB12", 4);
    assert_non_null(p);
    p[3] = '3';
    chain_block_header out;
    uint8_t id[32];
    size_t n;
    assert_int_equal(chain_block_peek(&out, id, &n, blk, len), CHAIN_ERR_BAD_BLOCK);
    free(blk);
}

static void test_block_peek_refuses_every_truncation_and_trailing(void **state)
{
    (void)state;
    chain_block_header h = {.height = 3, .time = 1, .proposer = 1};
    uint8_t *blk;
    size_t len;
    assert_int_equal(chain_block_build(&blk, &len, &h, (const uint8_t *const *)txs, lens, 2),
                     CHAIN_OK);
    chain_block_header out;
    uint8_t id[32];
    size_t n;
    for (size_t cut = 0; cut < len; cut++) {
        uint8_t *c = malloc(cut + 1);
        memcpy(c, blk, cut);
        int rc = chain_block_peek(&out, id, &n, c, cut);
        assert_true(rc == CHAIN_ERR_MALFORMED || rc == CHAIN_ERR_TOO_LARGE);
        free(c);
    }
    uint8_t *more = realloc(blk, len + 1);
    assert_non_null(more);
    more[len] = 0;
    assert_int_equal(chain_block_peek(&out, id, &n, more, len + 1), CHAIN_ERR_MALFORMED);
    free(more);
}

static void test_block_peek_refuses_non_canonical_header(void **state)
{
    (void)state;
    /* header with time written as a 2-byte integer */
    cbu_wr w;
    uint8_t zero[32] = {0};
    cbu_wr_init(&w, 1024);
    cbu_put_map(&w, 2);
    cbu_put_key(&w, "txs");
    cbu_put_array(&w, 0);
    cbu_put_key(&w, "header");
    cbu_put_map(&w, 5);
    cbu_put_key(&w, "prev");
    cbu_put_bytes(&w, zero, 32);
    cbu_put_key(&w, "time");
    const uint8_t wide[] = {0x19, 0x00, 0x01};
    cbu_put_raw(&w, wide, sizeof wide);
    cbu_put_key(&w, "height");
    cbu_put_uint(&w, 1);
    cbu_put_key(&w, "proposer");
    cbu_put_uint(&w, 1);
    cbu_put_key(&w, "txs_root");
    cbu_put_bytes(&w, zero, 32);
    uint8_t *blk;
    size_t len;
    assert_int_equal(cbu_wr_finish(&w, &blk, &len), CHAIN_OK);
    chain_block_header out;
    uint8_t id[32];
    size_t n;
    assert_int_equal(chain_block_peek(&out, id, &n, blk, len), CHAIN_ERR_NON_CANONICAL);
    free(blk);
}

static void test_block_build_refuses_bad_input(void **state)
{
    (void)state;
    chain_block_header h = {.height = 1, .time = 1, .proposer = 1};
    uint8_t *blk = NULL;
    size_t len;
    const uint8_t junk[] = {0xa0};
    const uint8_t *jt[1] = {junk};
    size_t jl[1] = {1};
    assert_int_not_equal(chain_block_build(&blk, &len, &h, jt, jl, 1), CHAIN_OK);
    assert_int_equal(chain_block_build(&blk, &len, &h, NULL, NULL, CHAIN_BLOCK_TXS_MAX + 1),
                     CHAIN_ERR_TOO_LARGE);
    h.height = 0;
    assert_int_equal(chain_block_build(&blk, &len, &h, NULL, NULL, 0), CHAIN_ERR_BAD_BLOCK);
    h.height = 1;
    const uint8_t *dup[4] = {txs[0], txs[1], txs[2], txs[2]};
    size_t dl[4] = {lens[0], lens[1], lens[2], lens[2]};
    assert_int_equal(chain_block_build(&blk, &len, &h, dup, dl, 4), CHAIN_ERR_DUPLICATE_TX);
    assert_null(blk);
}

static void test_block_peek_refuses_garbage(void **state)
{
    (void)state;
    chain_block_header out;
    uint8_t id[32];
    size_t n;
    const uint8_t g1[] = {0xff, 0x00};
    const uint8_t g2[] = {0xa2, 0x63, 't', 'x', 's', 0x9a, 0xff, 0xff, 0xff, 0xff};
    assert_int_equal(chain_block_peek(&out, id, &n, g1, sizeof g1), CHAIN_ERR_MALFORMED);
    assert_int_equal(chain_block_peek(&out, id, &n, g2, sizeof g2), CHAIN_ERR_TOO_LARGE);
    uint8_t *big = calloc(1, CHAIN_BLOCK_MAX_BYTES + 1);
    assert_int_equal(chain_block_peek(&out, id, &n, big, CHAIN_BLOCK_MAX_BYTES + 1),
                     CHAIN_ERR_TOO_LARGE);
    free(big);
}

/* A block holding one tx byte string of n bytes (a tx's sig prefix, then zeros). */
static uint8_t *block_with_tx_of(size_t n, size_t *len)
{
    static const uint8_t prefix[] = {0xa7, 0x63, 's', 'i', 'g', 0x58, 0x40};
    uint8_t *tx = calloc(1, n);
    assert_non_null(tx);
    memcpy(tx, prefix, sizeof prefix);
    uint8_t zero[32] = {0};
    cbu_wr w;
    cbu_wr_init(&w, CHAIN_BLOCK_MAX_BYTES);
    cbu_put_map(&w, 2);
    cbu_put_key(&w, "txs");
    cbu_put_array(&w, 1);
    cbu_put_bytes(&w, tx, n);
    cbu_put_key(&w, "header");
    cbu_put_map(&w, 5);
    cbu_put_key(&w, "prev");
    cbu_put_bytes(&w, zero, 32);
    cbu_put_key(&w, "time");
    cbu_put_uint(&w, 1);
    cbu_put_key(&w, "height");
    cbu_put_uint(&w, 1);
    cbu_put_key(&w, "proposer");
    cbu_put_uint(&w, 1);
    cbu_put_key(&w, "txs_root");
    cbu_put_bytes(&w, zero, 32);
    uint8_t *blk;
    assert_int_equal(cbu_wr_finish(&w, &blk, len), CHAIN_OK);
    free(tx);
    return blk;
}

/* A tx inside a block is bounded by CHAIN_TX_MAX_BYTES: one of exactly that size
 * is read (and this one then fails its Merkle root), one byte more is refused as
 * too large before it is hashed. */
static void test_block_tx_max_bytes_edge(void **state)
{
    (void)state;
    chain_block_header out;
    uint8_t id[32];
    size_t n, len;
    uint8_t *blk = block_with_tx_of(CHAIN_TX_MAX_BYTES, &len);
    assert_int_equal(chain_block_peek(&out, id, &n, blk, len), CHAIN_ERR_BAD_BLOCK);
    free(blk);
    blk = block_with_tx_of(CHAIN_TX_MAX_BYTES + 1, &len);
    assert_int_equal(chain_block_peek(&out, id, &n, blk, len), CHAIN_ERR_TOO_LARGE);
    free(blk);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_merkle_empty_is_zero_and_one_leaf_is_itself),
        cmocka_unit_test(test_merkle_pairs_and_odd_node_paired_with_itself),
        cmocka_unit_test(test_merkle_five_leaves),
        cmocka_unit_test(test_merkle_duplicated_tail_flagged),
        cmocka_unit_test(test_block_build_then_peek_roundtrip),
        cmocka_unit_test(test_block_id_is_hash_of_header_encoding),
        cmocka_unit_test(test_block_peek_refuses_tampered_tx),
        cmocka_unit_test(test_block_peek_refuses_every_truncation_and_trailing),
        cmocka_unit_test(test_block_peek_refuses_non_canonical_header),
        cmocka_unit_test(test_block_build_refuses_bad_input),
        cmocka_unit_test(test_block_peek_refuses_garbage),
        cmocka_unit_test(test_block_tx_max_bytes_edge),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
