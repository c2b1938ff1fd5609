/*
 * state_int.h — PRIVATE to chain/: the LMDB state behind chain.h.
 *
 * One LMDB environment (dir/chain.mdb) holds every named database listed in
 * enum st_db. Keys are fixed-format bytes (see the st_key_* builders); values
 * are canonical CBOR records (st_*_put / st_*_get), except the presence-only
 * index databases whose values are empty. state.c opens the environment and
 * serves reads; apply.c runs blocks through the one transaction-type table;
 * the tx_*.c files hold the rules, each a validate-and-apply function that
 * works inside the nested LMDB transaction apply.c opened for it.
 */
#ifndef PROVENA_CHAIN_STATE_INT_H
#define PROVENA_CHAIN_STATE_INT_H

#include <lmdb.h>
#include <stdatomic.h>
#include <stdio.h>

#include "chain/chain.h"

/* The named databases, in snapshot order. */
enum st_db {
    DB_META,        /* text key ("chain_id", "head", "applied", "dropped") → CBOR;
                       "resolver" → the URL's bytes (resolver.set);
                       "rp" → CBOR [rp id, [origins], uv required] (rp.set) */
    DB_BLOCKS,      /* be64 height → encoded block */
    DB_TXS,         /* tx id → tx record (receipt + where its bytes sit in its block) */
    DB_UNITS,       /* unit key → unit record, and unit key || be32 seq → its event
                       record: a unit's record and its events sit side by side, so a
                       transition mostly rewrites one page, not two */
    DB_LOTS,        /* lot key → lot record */
    DB_LOT_UNITS,   /* lot key || padded serial → empty */
    DB_OWNERS,      /* owner key || unit key → empty */
    DB_PARTS,       /* participant id (text) → participant record */
    DB_PKEYS,       /* public key → CBOR [id, current?] (retired keys stay, current = false) */
    DB_NONCES,      /* public key → CBOR uint: last nonce used */
    DB_NODES,       /* be64 node id → node record */
    DB_NKEYS,       /* public key → CBOR uint: node id */
    DB_POLICIES,    /* 'b' brand id | 'g' gtin | 'l' gtin padded-lot → policy record */
    DB_SCANSTATS,   /* unit key → chain_scan_stats record */
    DB_SCANCLIENTS, /* unit key || client hash (16) → empty */
    DB_PROBES,      /* gtin || be32 day → CBOR uint: probes of unknown serials */
    DB__COUNT
};

/* Fixed key sizes: a unit is gtin (14) + serial NUL-padded to 20, so keys of
 * one gtin sort by serial and prefixes never collide. */
#define ST_UNIT_KEY   (GS1_GTIN_LEN + GS1_SERIAL_MAX) /* 34 */
#define ST_LOT_KEY    (GS1_GTIN_LEN + GS1_LOT_MAX)    /* 34 */
#define ST_EVENT_KEY  (ST_UNIT_KEY + 4)               /* 38 */
#define ST_LOTU_KEY   (ST_LOT_KEY + GS1_SERIAL_MAX)   /* 54 */
#define ST_OWNER_KEY  (CHAIN_KEY_LEN + ST_UNIT_KEY)   /* 66 */
#define ST_CLIENT_KEY (ST_UNIT_KEY + 16)              /* 50 */
_Static_assert(ST_UNIT_KEY == 34 && ST_EVENT_KEY == 38 && ST_OWNER_KEY == 66, "on-disk key layout");

struct chain {
    MDB_env *env;
    MDB_dbi dbi[DB__COUNT];
    chain_genesis *g;           /* deep copy */
    _Atomic uint64_t applied;   /* mirror of meta "applied", for chain_applied_index */
    unsigned verify_threads;    /* chain_options.verify_threads, clamped to 1..16 */
    chain_verified_fn verified; /* chain_set_verified: admission-verified txs */
    void *verified_ctx;
    uint8_t digest0[CHAIN_HASH_LEN];
    int pc_fd;         /* the ledger file again, for chain_storage_prepare (-1: off) */
    uint64_t pc_ready; /* file offset up to which pages are prepared */
};

struct chain_rd {
    chain *c;
    MDB_txn *txn;
};

/* Head record (meta "head"). */
typedef struct st_head {
    uint64_t height, time, units, txs;
    uint8_t id[CHAIN_HASH_LEN];
    uint8_t digest[CHAIN_HASH_LEN];
} st_head;

/* Unit record: chain_unit plus what the rules need and readers do not. */
typedef struct st_unit {
    chain_unit u;
    char seller[CHAIN_ID_MAX + 1];    /* participant who sold it */
    uint8_t claim_key[CHAIN_KEY_LEN]; /* valid while u.claim_pending */
} st_unit;

/* Node record. */
typedef chain_node_info st_node;

const char *st_db_name(int db);

/* ---- keys ---- */
/* Copies s (at most cap bytes) into dst and NUL-pads it to cap. */
void st_pad(uint8_t *dst, size_t cap, const char *s);
void st_key_unit(uint8_t k[ST_UNIT_KEY], const char *gtin, const char *serial);
void st_key_lot(uint8_t k[ST_LOT_KEY], const char *gtin, const char *lot);
void st_key_unit_split(gs1_sgtin *id, const uint8_t k[ST_UNIT_KEY]);
void st_be64(uint8_t out[8], uint64_t v);
uint64_t st_rd_be64(const uint8_t in[8]);
void st_be32(uint8_t out[4], uint32_t v);

/* ---- errors: LMDB codes become CHAIN_ERR_STORAGE / NOMEM, with a message ---- */
int st_lmdb_err(int mrc, const char *what, char *errmsg, size_t errmsg_len);
/* The chain error of an LMDB / errno code: NOMEM, DISK_FULL (ENOSPC, EDQUOT)
 * or STORAGE. */
int st_err_of_mrc(int mrc);

/* pagecache.c: a descriptor of the ledger file for chain_storage_prepare, or -1. */
int st_pagecache_open(const char *path);
/* Message of the last LMDB failure seen by st_get/st_put/st_del on this thread. */
const char *st_last_lmdb_error(void);

/* ---- raw get/put (rc: CHAIN_OK, CHAIN_ERR_NOT_FOUND, CHAIN_ERR_STORAGE) ---- */
int st_get(MDB_txn *t, MDB_dbi dbi, const void *k, size_t kl, MDB_val *v) CHAIN_WUR;
int st_put(MDB_txn *t, MDB_dbi dbi, const void *k, size_t kl, const void *v, size_t vl,
           unsigned flags) CHAIN_WUR;
int st_del(MDB_txn *t, MDB_dbi dbi, const void *k, size_t kl) CHAIN_WUR; /* NOT_FOUND ok */

/* ---- records ---- */
int st_head_get(chain *c, MDB_txn *t, st_head *h) CHAIN_WUR;
int st_head_put(chain *c, MDB_txn *t, const st_head *h) CHAIN_WUR;
int st_uint_get(MDB_txn *t, MDB_dbi dbi, const void *k, size_t kl, uint64_t *v) CHAIN_WUR;
int st_uint_put(MDB_txn *t, MDB_dbi dbi, const void *k, size_t kl, uint64_t v) CHAIN_WUR;

int st_unit_get(chain *c, MDB_txn *t, st_unit *out, const char *gtin, const char *serial) CHAIN_WUR;
int st_unit_put(chain *c, MDB_txn *t, const st_unit *u, unsigned flags) CHAIN_WUR;

int st_part_get(chain *c, MDB_txn *t, chain_participant *out, const char *id) CHAIN_WUR;
int st_part_put(chain *c, MDB_txn *t, const chain_participant *p) CHAIN_WUR;
/* Key index: *current false for a key rotated away from (or its holder revoked). */
/* The relying party in force (rp.set, else the genesis's): st_rp_current.
 * st_rp_get/put: the stored one alone (NOT_FOUND before any rp.set). */
int st_rp_get(chain *c, MDB_txn *t, chain_rp *out) CHAIN_WUR;
int st_rp_put(chain *c, MDB_txn *t, const chain_rp *rp) CHAIN_WUR;
int st_rp_current(chain *c, MDB_txn *t, chain_rp *out) CHAIN_WUR;
int st_pkey_get(chain *c, MDB_txn *t, const uint8_t key[CHAIN_KEY_LEN], char id[CHAIN_ID_MAX + 1],
                bool *current) CHAIN_WUR;
int st_pkey_put(chain *c, MDB_txn *t, const uint8_t key[CHAIN_KEY_LEN], const char *id,
                bool current) CHAIN_WUR;

int st_node_get(chain *c, MDB_txn *t, st_node *out, uint64_t id) CHAIN_WUR;
int st_node_put(chain *c, MDB_txn *t, const st_node *n) CHAIN_WUR;

int st_event_get(chain *c, MDB_txn *t, chain_event *out, const char *gtin, const char *serial,
                 uint32_t seq) CHAIN_WUR;
int st_event_put(chain *c, MDB_txn *t, const gs1_sgtin *id, const chain_event *ev) CHAIN_WUR;

int st_lot_get(chain *c, MDB_txn *t, chain_lot *out, const char *gtin, const char *lot) CHAIN_WUR;
int st_lot_put(chain *c, MDB_txn *t, const chain_lot *l) CHAIN_WUR;

/* Tx index record: the receipt plus where the tx bytes sit in its block. */
int st_txrec_get(chain *c, MDB_txn *t, chain_receipt *r, uint32_t *off, uint32_t *len,
                 const uint8_t id[CHAIN_HASH_LEN]) CHAIN_WUR;
int st_txrec_put(chain *c, MDB_txn *t, const chain_receipt *r, uint32_t off,
                 uint32_t len) CHAIN_WUR;

/* A policy record at one scope (fields 0 = inherit). */
int st_policy_get(chain *c, MDB_txn *t, chain_policy *out, const uint8_t *k, size_t kl) CHAIN_WUR;
int st_policy_put(chain *c, MDB_txn *t, const chain_policy *p, const uint8_t *k,
                  size_t kl) CHAIN_WUR;
/* Fills the zero fields of *p from src. */
void st_policy_inherit(chain_policy *p, const chain_policy *src);
/* Effective policy (lot → gtin → brand → genesis); *out is always filled, the
 * return is CHAIN_STORAGE when an override could not be read. */
int st_policy_effective(chain *c, MDB_txn *t, chain_policy *out, const char *gtin,
                        const char *lot) CHAIN_WUR;

int st_stats_get(chain *c, MDB_txn *t, chain_scan_stats *out,
                 const uint8_t k[ST_UNIT_KEY]) CHAIN_WUR;
int st_stats_put(chain *c, MDB_txn *t, const chain_scan_stats *s,
                 const uint8_t k[ST_UNIT_KEY]) CHAIN_WUR;

/* The genesis brand whose company prefix starts gtin (after the indicator
 * digit), or NULL. */
const chain_brand *st_brand_of_gtin(const chain *c, const char *gtin);
const chain_brand *st_brand_by_id(const chain *c, const char *id);

/* ---- apply context: what one rule function sees ---- */
typedef struct st_actx {
    chain *c;
    MDB_txn *txn; /* the nested transaction of this tx */
    const chain_block_header *hdr;
    const uint8_t *tx_id;
    uint32_t index; /* position in the block */
    const chain_tx *tx;
    int role;                            /* signer's enum chain_role */
    char signer_id[CHAIN_ID_MAX + 1];    /* participant id, "" for a customer, node: "" */
    char signer_brand[CHAIN_ID_MAX + 1]; /* role brand: which brand */
    uint64_t signer_node;                /* role node: node id */
    char *detail;                        /* receipt detail, 96 bytes */
    size_t detail_len;
    bool members_changed;
    int64_t units_delta; /* units minted by this tx */
} st_actx;

/* Writes a receipt detail and returns code (for `return st_refuse(a, CODE, ...)`). */
int st_refuse(st_actx *a, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Loads a unit for a rule: CHAIN_ERR_UNKNOWN_UNIT (with detail) when absent. */
int st_rule_unit(st_actx *a, st_unit *u, const gs1_sgtin *id) CHAIN_WUR;
/* Stores the unit and appends one event for this tx (fills the common fields
 * of ev: seq, type, time, height, index, tx, actor…). */
int st_rule_commit(st_actx *a, st_unit *u, chain_event *ev) CHAIN_WUR;
/* "GTIN/SERIAL" for details. */
const char *st_unit_str(char buf[40], const gs1_sgtin *id);
/* Signer is a brand admin of the unit's brand. */
bool st_is_unit_brand(const st_actx *a, const st_unit *u);

/* Rule functions (validate and apply; CHAIN_OK or the refusal code with
 * a->detail filled; STORAGE/NOMEM abort the block). */
typedef int (*st_rule_fn)(st_actx *a);
int rule_mint(st_actx *a);
int rule_pickup(st_actx *a);
int rule_deliver(st_actx *a);
int rule_sell(st_actx *a);
int rule_claim(st_actx *a);
int rule_transfer(st_actx *a);
int rule_transfer_offer(st_actx *a);
int rule_transfer_cancel(st_actx *a);
int rule_warranty_activate(st_actx *a);
int rule_warranty_extend(st_actx *a);
int rule_warranty_claim(st_actx *a);
int rule_warranty_resolve(st_actx *a);
int rule_flag(st_actx *a);
int rule_unflag(st_actx *a);
int rule_participant_add(st_actx *a);
int rule_participant_revoke(st_actx *a);
int rule_participant_rotate(st_actx *a);
int rule_node_add(st_actx *a);
int rule_node_rotate(st_actx *a);
int rule_node_remove(st_actx *a);
int rule_policy_set(st_actx *a);
int rule_resolver_set(st_actx *a);
int rule_rp_set(st_actx *a);
int rule_scans(st_actx *a);

/* Local failures that abort the whole block rather than refuse one tx. */
static inline bool st_fatal(int rc)
{
    return rc == CHAIN_ERR_STORAGE || rc == CHAIN_ERR_NOMEM || rc == CHAIN_ERR_DISK_FULL;
}

/* Owner index maintenance (sale, claim, transfer). */
int st_owner_add(chain *c, MDB_txn *t, const uint8_t key[CHAIN_KEY_LEN],
                 const gs1_sgtin *id) CHAIN_WUR;
int st_owner_del(chain *c, MDB_txn *t, const uint8_t key[CHAIN_KEY_LEN],
                 const gs1_sgtin *id) CHAIN_WUR;

#endif
