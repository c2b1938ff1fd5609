/* Contract tests for chain_blocks_verify_back: a range of untrusted blocks is
 * pinned to the block id it must end in, backwards through the prev links,
 * before anything is applied. Every refusal leaves prev_id unchanged. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "chain/chain.h"

#define N 5

static uint8_t sk[32];
static uint8_t *tx;
static size_t tx_len;
static uint8_t base_id[32]; /* the id block 10 has: the range is 11..15 */
static uint8_t *blk[N];
static size_t len[N];
static uint8_t id[N][32];

/* Block at height h on prev, with the one transaction (a real signed one). */
static uint8_t *build(size_t *out_len, uint64_t h, const uint8_t prev[32], uint64_t time)
{
    chain_block_header hdr = {.height = h, .time = time, .proposer = 1};
    memcpy(hdr.prev, prev, 32);
    uint8_t *b;
    const uint8_t *txs[1] = {tx};
    assert_int_equal(chain_block_build(&b, out_len, &hdr, txs, &tx_len, 1), CHAIN_OK);
    return b;
}

static int setup(void **state)
{
    (void)state;
    uint8_t pub[32];
    assert_int_equal(chain_key_generate(sk, pub), CHAIN_OK);
    gs1_sgtin unit = {"09506000134352", "AB12"};
    chain_tx t;
    memset(&t, 0, sizeof t);
    t.type = CHAIN_TX_PICKUP;
    memset(t.chain, 9, 32);
    t.nonce = 1;
    t.units = &unit;
    t.nunits = 1;
    assert_int_equal(chain_tx_sign(&t, sk), CHAIN_OK);
    assert_int_equal(chain_tx_encode(&tx, &tx_len, &t), CHAIN_OK);
    memset(base_id, 0x42, 32);
    const uint8_t *prev = base_id;
    for (int i = 0; i < N; i++) {
        blk[i] = build(&len[i], 11 + (uint64_t)i, prev, 1767225600000ull + (uint64_t)i);
        chain_block_header h;
        size_t n;
        assert_int_equal(chain_block_peek(&h, id[i], &n, blk[i], len[i]), CHAIN_OK);
        prev = id[i];
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    for (int i = 0; i < N; i++)
        free(blk[i]);
    free(tx);
    return 0;
}

static const uint8_t *const *blks(void)
{
    return (const uint8_t *const *)blk;
}

static void test_verify_back_whole_range_pinned_to_top(void **state)
{
    (void)state;
    uint8_t prev[32];
    char e[256];
    assert_int_equal(chain_blocks_verify_back(prev, blks(), len, N, 11, id[N - 1], e, sizeof e),
                     CHAIN_OK);
    assert_memory_equal(prev, base_id, 32);
    /* the top part of the range alone: prev is the id of the block below it */
    assert_int_equal(
        chain_blocks_verify_back(prev, blks() + 2, len + 2, 3, 13, id[N - 1], e, sizeof e),
        CHAIN_OK);
    assert_memory_equal(prev, id[1], 32);
    /* one block */
    assert_int_equal(chain_blocks_verify_back(prev, blks(), len, 1, 11, id[0], e, sizeof e),
                     CHAIN_OK);
    assert_memory_equal(prev, base_id, 32);
}

static void test_verify_back_fork_refused_at_top(void **state)
{
    (void)state;
    /* a valid chain of blocks, but not the history the top id commits to */
    uint8_t other[32], prev[32];
    memset(other, 0x77, 32);
    memset(prev, 0xEE, 32);
    char e[256];
    assert_int_equal(chain_blocks_verify_back(prev, blks(), len, N, 11, other, e, sizeof e),
                     CHAIN_ERR_BAD_BLOCK);
    assert_non_null(strstr(e, "height 15"));
    assert_non_null(strstr(e, "a fork"));
    uint8_t untouched[32];
    memset(untouched, 0xEE, 32);
    assert_memory_equal(prev, untouched, 32);
}

static void test_verify_back_broken_link_refused(void **state)
{
    (void)state;
    /* block 13 replaced by one on another parent: its successor's prev no
     * longer matches it, so the walk from the top stops at 13 */
    uint8_t wrong[32], prev[32];
    memset(wrong, 0x55, 32);
    size_t l;
    uint8_t *forged = build(&l, 13, wrong, 1767225600002ull);
    const uint8_t *b[N];
    size_t ls[N];
    for (int i = 0; i < N; i++) {
        b[i] = blk[i];
        ls[i] = len[i];
    }
    b[2] = forged;
    ls[2] = l;
    char e[256];
    assert_int_equal(chain_blocks_verify_back(prev, b, ls, N, 11, id[N - 1], e, sizeof e),
                     CHAIN_ERR_BAD_BLOCK);
    assert_non_null(strstr(e, "height 13"));
    free(forged);
}

static void test_verify_back_wrong_heights_refused(void **state)
{
    (void)state;
    uint8_t prev[32];
    char e[256];
    /* the peer's blocks are 11..15, the range asked was 12..16 */
    assert_int_equal(chain_blocks_verify_back(prev, blks(), len, N, 12, id[N - 1], e, sizeof e),
                     CHAIN_ERR_BAD_BLOCK);
    assert_non_null(strstr(e, "claims height 15"));
}

static void test_verify_back_corrupt_truncated_and_empty_refused(void **state)
{
    (void)state;
    uint8_t prev[32];
    char e[256];
    uint8_t *c = malloc(len[N - 1]);
    memcpy(c, blk[N - 1], len[N - 1]);
    c[len[N - 1] / 2] ^= 0x01; /* a byte of the transaction: the Merkle root fails */
    const uint8_t *b[N];
    for (int i = 0; i < N; i++)
        b[i] = blk[i];
    b[N - 1] = c;
    assert_int_not_equal(chain_blocks_verify_back(prev, b, len, N, 11, id[N - 1], e, sizeof e),
                         CHAIN_OK);
    assert_non_null(strstr(e, "height 15"));
    size_t ls[N];
    memcpy(ls, len, sizeof ls);
    ls[0] = len[0] - 1; /* truncated */
    assert_int_not_equal(chain_blocks_verify_back(prev, blks(), ls, N, 11, id[N - 1], e, sizeof e),
                         CHAIN_OK);
    assert_non_null(strstr(e, "height 11 does not decode"));
    assert_int_equal(chain_blocks_verify_back(prev, blks(), len, 0, 11, id[N - 1], e, sizeof e),
                     CHAIN_ERR_INVALID);
    assert_int_equal(chain_blocks_verify_back(prev, blks(), len, N, 0, id[N - 1], e, sizeof e),
                     CHAIN_ERR_INVALID);
    free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_verify_back_whole_range_pinned_to_top),
        cmocka_unit_test(test_verify_back_fork_refused_at_top),
        cmocka_unit_test(test_verify_back_broken_link_refused),
        cmocka_unit_test(test_verify_back_wrong_heights_refused),
        cmocka_unit_test(test_verify_back_corrupt_truncated_and_empty_refused),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
