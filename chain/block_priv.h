/*
 * block_priv.h — PRIVATE to chain/: reading the transactions out of an
 * encoded block (what chain_block_apply needs beyond chain_block_peek).
 */
#ifndef PROVENA_CHAIN_BLOCK_PRIV_H
#define PROVENA_CHAIN_BLOCK_PRIV_H

#include <stddef.h>
#include <stdint.h>

#include "chain/chain.h"

/* Points txs[i]/lens[i] at each encoded transaction inside blk (no copies;
 * valid while blk is). Call chain_block_peek on the same bytes first (it
 * verifies the Merkle root; this only parses, so the ids are not hashed
 * twice) and pass its ntxs as max, the capacity of both arrays. Fails with
 * MALFORMED/NON_CANONICAL on a malformed block, CHAIN_ERR_TOO_LARGE when the
 * block carries more than max. */
int block_tx_slices(const uint8_t **txs, size_t *lens, size_t max, const uint8_t *blk,
                    size_t len) CHAIN_WUR;

/* Merkle root as chain_merkle_root, also reporting whether two sibling nodes
 * were equal anywhere in the tree — the CVE-2012-2459 shape, where a list
 * ending in repeated ids has the same root as the shorter list. Build and
 * peek refuse such blocks, so a root names exactly one list of ids. */
void block_merkle(uint8_t out[CHAIN_HASH_LEN], const uint8_t (*ids)[CHAIN_HASH_LEN], size_t n,
                  bool *mutated);

#endif
