/*
 * cons_codec.h — the node-to-node wire format (consensus-private).
 *
 * Compact little-endian binary, one nng message per frame:
 *   magic 'P' | version 2 | chain id [32] | kind u8 | from_id u64 | addr_len u8 |
 *   addr | body
 * kind 1..6 are raft's enum raft_message_type, CONS_KIND_FORWARD carries
 * transactions from a follower to the leader:
 *   count u32 | (len u32 | bytes){count}
 * and CONS_KIND_HELLO, the first frame on every TLS connection, binds the
 * connection to the sender's node id (cons_tls.h):
 *   to_id u64 | ts_ms u64 | sig_len u8 | sig (ECDSA, DER, by the sender's
 *   pinned TLS key)
 * Every length is checked against the bytes remaining before it is used, and
 * every field against what raft may be handed without tripping an assert or a
 * free on its error paths (see cons_codec_decode); any failure returns
 * RAFT_MALFORMED (or CONS_CODEC_OTHER_CHAIN) and leaves nothing allocated.
 */
#ifndef CONS_CODEC_H
#define CONS_CODEC_H

#include "consensus/consensus.h"

#include <raft.h>
#include <stddef.h>
#include <stdint.h>

#define CONS_KIND_FORWARD    16
#define CONS_KIND_HELLO      17
#define CONS_HELLO_SIG_MAX   80 /* a DER ECDSA P-256 signature is at most 72 bytes */
#define CONS_FORWARD_MAX_TXS 4096                /* txs in one forward frame */
#define CONS_AE_MAX_ENTRIES  65536               /* entries in one AppendEntries */
#define CONS_TERM_MAX        (UINT64_C(1) << 48) /* larger terms are refused */
#define CONS_INDEX_MAX       (UINT64_C(1) << 62) /* larger log indexes are refused */
/* cons_codec_decode: a well-formed header naming another network (not a raft code) */
#define CONS_CODEC_OTHER_CHAIN 1001

typedef struct cons_wire {
    uint8_t chain_id[CONS_CHAIN_ID_LEN]; /* set on CONS_CODEC_OTHER_CHAIN: the sender's */
    int kind;
    uint64_t from_id;
    char from_addr[CONS_ADDR_MAX];
    struct raft_message msg; /* raft kinds: server_id/address = sender; owns
                                entries+batch / conf+data until handed to raft */
    const uint8_t *fwd;      /* FORWARD: validated body (points into input) */
    size_t fwd_len;
    uint32_t fwd_count;
    uint64_t hello_to, hello_ts_ms; /* HELLO: receiver's id, sender's clock (unix ms) */
    uint8_t hello_sig[CONS_HELLO_SIG_MAX];
    size_t hello_sig_len;
} cons_wire;

/* Encode a raft message of network `chain` (CONS_CHAIN_ID_LEN bytes) from
 * (from_id, from_addr). *out malloc'd, caller frees. */
int cons_codec_encode_raft(uint8_t **out, size_t *out_len, const uint8_t *chain, uint64_t from_id,
                           const char *from_addr, const struct raft_message *m)
    __attribute__((warn_unused_result));

/* Encode n transactions as a FORWARD frame. */
int cons_codec_encode_forward(uint8_t **out, size_t *out_len, const uint8_t *chain,
                              uint64_t from_id, const char *from_addr, const uint8_t *const *txs,
                              const size_t *lens, size_t n) __attribute__((warn_unused_result));

/* Encode a HELLO frame (sig made by cons_tls_hello_sign). */
int cons_codec_encode_hello(uint8_t **out, size_t *out_len, const uint8_t *chain, uint64_t from_id,
                            const char *from_addr, uint64_t to_id, uint64_t ts_ms,
                            const uint8_t *sig, size_t sig_len) __attribute__((warn_unused_result));

/* Decode one frame of network `chain`. Returns 0, RAFT_MALFORMED, RAFT_NOMEM or
 * CONS_CODEC_OTHER_CHAIN (w->chain_id then holds the sender's chain id). buf is
 * only read and may be freed as soon as this returns.
 *
 * Checked before anything is allocated: every length against the bytes left,
 * counts against CONS_AE_MAX_ENTRIES / CONS_FORWARD_MAX_TXS, txs against
 * CONS_TX_MAX, the sender address against CONS_ADDR_MAX; terms in 1..
 * CONS_TERM_MAX and indexes up to CONS_INDEX_MAX; the pairs raft asserts on
 * (prev_log_index/prev_log_term both 0 or both not, a snapshot's last index and
 * term not 0, conf_index <= last_index); entry terms non-decreasing from
 * prev_log_term up to the frame's term; a RequestVote's candidate is its sender;
 * and every configuration (a RAFT_CHANGE entry, a snapshot's) is checked byte
 * by byte before libraft's decoder, which trusts its input, sees it.
 *
 * Ownership on success, for the raft kinds: an AppendEntries with entries holds
 * ONE raft_malloc'd array `entries` and ONE raft_malloc'd `batch` that every
 * entry's buf points into (entries[i].batch == entries[0].batch); an
 * InstallSnapshot holds `conf` (raft_configuration_close) and raft_malloc'd
 * `data.base`. Handing w->msg to raft's recv callback hands all of it over
 * (libraft frees batch, entries, conf and data, on success and on error);
 * otherwise cons_wire_release() frees it, exactly once. FORWARD points into
 * buf and owns nothing. On failure nothing is allocated. */
int cons_codec_decode(cons_wire *w, const uint8_t *chain, const uint8_t *buf, size_t len)
    __attribute__((warn_unused_result));

/* Check and decode a raft configuration from untrusted bytes (the checks of
 * cons_codec_decode). *conf is initialised either way and holds the servers on
 * success (caller closes it); returns 0, RAFT_MALFORMED or RAFT_NOMEM. */
int cons_codec_conf_decode(struct raft_configuration *conf, const void *buf, size_t len)
    __attribute__((warn_unused_result));

/* Iterate the txs of a decoded FORWARD frame: *pos starts at 0; returns 1 and
 * sets tx/len while there is one, 0 at the end. */
int cons_codec_forward_next(const cons_wire *w, size_t *pos, const uint8_t **tx, size_t *len);

/* Release whatever raft-owned memory a decoded frame still holds. */
void cons_wire_release(cons_wire *w);

#endif
