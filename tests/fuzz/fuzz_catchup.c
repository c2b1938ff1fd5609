/*
 * fuzz_catchup.c — libFuzzer target for what a lagging node reads from a
 * peer during catch-up (replica/catchup.c): the consensus snapshot's marker
 * (chain_marker_decode) and a peer's answer to GET /api/v1/blocks?format=cbor
 * (chain_blocks_split, then chain_blocks_verify_back pinning the range to the
 * id the marker names).
 *
 * Beyond "does not crash": a marker is accepted only for our chain id with at
 * most CHAIN_NODES_MAX nodes and NUL-terminated addresses; a split answer has
 * 1..CATCHUP_RANGE blocks, each inside the answer and at most
 * CHAIN_BLOCK_MAX_BYTES; verify_back accepts a range only when every block
 * peeks, sits at its height and links to the next, and the last one is the
 * top id asked for (here: the last block's own id, and also a wrong one,
 * which must be refused). Seeds: tests/fuzz/corpus/catchup.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "chain/chain.h"
#include "replica/catchup.h"

#define CHECK(x)                                                                                   \
    do {                                                                                           \
        if (!(x))                                                                                  \
            abort();                                                                               \
    } while (0)

static const uint8_t CHAIN[CHAIN_HASH_LEN] = {
    0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a,
    0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a};

static void check_marker(const uint8_t *data, size_t size)
{
    chain_marker m;
    char msg[160];
    memset(&m, 0xa5, sizeof m);
    if (chain_marker_decode(&m, data, size, CHAIN, msg, sizeof msg) != CHAIN_OK)
        return;
    CHECK(m.nnodes <= CHAIN_NODES_MAX);
    for (size_t i = 0; i < m.nnodes; i++)
        CHECK(memchr(m.nodes[i].http_addr, '\0', sizeof m.nodes[i].http_addr) != NULL);
}

static void check_blocks(const uint8_t *data, size_t size)
{
    static const uint8_t *blks[CATCHUP_RANGE];
    static size_t lens[CATCHUP_RANGE];
    size_t n = 0;
    char msg[256];
    if (chain_blocks_split(blks, lens, &n, CATCHUP_RANGE, data, size, msg, sizeof msg) !=
        CHAIN_OK)
        return;
    CHECK(n <= CATCHUP_RANGE);
    for (size_t i = 0; i < n; i++) {
        CHECK(blks[i] >= data && blks[i] + lens[i] <= data + size);
        CHECK(lens[i] <= CHAIN_BLOCK_MAX_BYTES);
    }
    if (n == 0)
        return;
    /* the range the first block says it starts, pinned by the last one's id */
    chain_block_header first, last;
    uint8_t top[CHAIN_HASH_LEN], id[CHAIN_HASH_LEN], prev[CHAIN_HASH_LEN];
    size_t ntxs;
    if (chain_block_peek(&first, id, &ntxs, blks[0], lens[0]) != CHAIN_OK ||
        chain_block_peek(&last, top, &ntxs, blks[n - 1], lens[n - 1]) != CHAIN_OK)
        return;
    int rc = chain_blocks_verify_back(prev, blks, lens, n, first.height, top, msg, sizeof msg);
    if (rc == CHAIN_OK) {
        CHECK(last.height == first.height + n - 1);
        CHECK(memcmp(prev, first.prev, CHAIN_HASH_LEN) == 0);
    }
    uint8_t wrong[CHAIN_HASH_LEN];
    memcpy(wrong, top, sizeof wrong);
    wrong[0] ^= 1;
    CHECK(chain_blocks_verify_back(prev, blks, lens, n, first.height, wrong, msg, sizeof msg) !=
          CHAIN_OK);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_marker(data, size);
    check_blocks(data, size);
    return 0;
}
