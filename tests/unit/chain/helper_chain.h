/*
 * helper_chain.h — shared helpers of the chain state/apply tests: an
 * in-memory genesis with known keys, a ledger in a temporary directory,
 * signing and encoding transactions, building and applying blocks.
 *
 * Roles in the test network (index into hc_env.sk/pub):
 *   HK_BRAND  "acme"  prefix 9506000 (HC_GTIN, HC_GTIN2)
 *   HK_BRAND2 "bolt"  prefix 4006381 (HC_GTIN_BOLT)
 *   HK_CARRIER "carrier-a", HK_CARRIER2 "carrier-b", HK_SELLER "seller-a",
 *   HK_SELLER2 "seller-b", HK_SERVICE "service-a", HK_NODE node 1,
 *   HK_NODE2 node 2, and customers HK_ALICE, HK_BOB, HK_EVE (unregistered).
 */
#ifndef PROVENA_TEST_HELPER_CHAIN_H
#define PROVENA_TEST_HELPER_CHAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chain/chain.h"

enum {
    HK_BRAND,
    HK_BRAND2,
    HK_CARRIER,
    HK_CARRIER2,
    HK_SELLER,
    HK_SELLER2,
    HK_SERVICE,
    HK_NODE,
    HK_NODE2,
    HK_ALICE,
    HK_BOB,
    HK_EVE,
    HK__COUNT
};

#define HC_GTIN "09506000134352"
extern char HC_GTIN2[15];     /* another acme gtin */
extern char HC_GTIN_BOLT[15]; /* a bolt gtin */

typedef struct hc_env {
    chain_genesis *g;
    uint8_t sk[HK__COUNT][32];
    uint8_t pub[HK__COUNT][32];
    uint64_t next[HK__COUNT]; /* next nonce to use, resynced from the chain after each block */
    chain *c;
    char dir[256];
    uint64_t index;        /* last consensus index handed to apply */
    uint64_t height, time; /* head */
    uint8_t head[32];
    uint64_t seq;            /* makes each signed tx distinct (tx.time) */
    unsigned verify_threads; /* chain_options.verify_threads at the next (re)open */
} hc_env;

/* Fresh keys, genesis, and a ledger in a new temporary directory (no_sync). */
void hc_setup(hc_env *e);
/* Same genesis and keys, another directory (e2 shares e's keys and genesis). */
void hc_setup_twin(hc_env *e2, const hc_env *e);
void hc_close(hc_env *e);    /* closes the ledger, keeps the directory */
void hc_reopen(hc_env *e);   /* reopens the same directory */
void hc_teardown(hc_env *e); /* close, remove the directory, free genesis */

/* A zeroed tx of type. */
chain_tx hc_tx(int type);
gs1_sgtin hc_unit(const char *gtin, const char *serial);

/* Signs tx as `who` and encodes it (malloc'd). chain id set to ours unless
 * tx->chain is already non-zero; nonce taken from the helper's counter
 * unless tx->nonce is non-zero; tx->time, when 0, gets a fresh value so two
 * txs with equal fields are still distinct transactions. */
void hc_encode(hc_env *e, int who, chain_tx *tx, uint8_t **out, size_t *len);

/* Builds a block of n encoded txs on the head (time + 1 s), applies it with
 * the next consensus index, frees txs[i], fills *res (caller frees). Returns
 * chain_block_apply's rc. */
int hc_block(hc_env *e, chain_apply_result *res, uint8_t **txs, size_t *lens, size_t n);
/* Encoded block only (hdr->time/height/prev set from the head + 1 s). */
void hc_build(hc_env *e, uint8_t **blk, size_t *len, uint8_t **txs, size_t *lens, size_t n);

/* One tx in its own block; returns its receipt code (detail into detail if non-NULL). */
int hc_apply1(hc_env *e, int who, chain_tx *tx, char *detail);

/* Mint n serials "<prefix><i>" of gtin/lot as HK_BRAND; returns receipt code. */
int hc_mint(hc_env *e, int who, const char *gtin, const char *lot, const char *prefix, size_t n);

/* Convenience lifecycle: mint one unit and move it to DELIVERED at seller-a
 * (mint, pickup by carrier-a, deliver to seller-a). */
void hc_unit_delivered(hc_env *e, const char *serial);
/* ... then sold to HK_ALICE's key. */
void hc_unit_owned(hc_env *e, const char *serial, int owner);

/* Every database of the ledger, key by key, as one buffer (*out malloc'd),
 * leaving out only meta "applied" (the consensus index, which differs between
 * a ledger that applied blocks and one that replayed them). Two equal dumps
 * are two equal states. */
void hc_dump(hc_env *e, uint8_t **out, size_t *len);
/* The same without blocks, tx records and meta: what the rules change. A
 * refused transaction leaves this dump exactly as it was. */
void hc_dump_rules(hc_env *e, uint8_t **out, size_t *len);

/* Replays every block of src that dst lacks into dst, fetched in ranges of
 * `range` blocks through chain_blocks_encode / chain_blocks_split (what a
 * catching-up node does over HTTP), then reaches src's marker. Asserts every
 * step; resyncs dst's head view. */
void hc_catch_up(hc_env *dst, hc_env *src, size_t range);

/* Reads of the current state (assert on failure). */
chain_unit hc_get_unit(hc_env *e, const char *gtin, const char *serial);
chain_head hc_get_head(hc_env *e);

#endif
