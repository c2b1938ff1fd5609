/*
 * cons_codec.h — the node-to-node wire format (consensus-private).
 *
 * Compact little-endian binary, one nng message per frame:
 *   magic 'P' | version 1 | kind u8 | from_id u64 | addr_len u8 | addr | body
 * kind 1..6 are raft's enum raft_message_type, CONS_KIND_FORWARD carries
 * transactions from a follower to the leader:
 *   count u32 | (len u32 | bytes){count}
 * Every length is checked against the bytes remaining before it is used; any
 * failure returns RAFT_MALFORMED and leaves nothing allocated.
 */
#ifndef CONS_CODEC_H
#define CONS_CODEC_H

#include "consensus/consensus.h"

#include <raft.h>
#include <stddef.h>
#include <stdint.h>

#define CONS_KIND_FORWARD    16
#define CONS_FORWARD_MAX_TXS 4096  /* txs in one forward frame */
#define CONS_AE_MAX_ENTRIES  65536 /* entries in one AppendEntries */

typedef struct cons_wire {
    int kind;
    uint64_t from_id;
    char from_addr[CONS_ADDR_MAX];
    struct raft_message msg; /* raft kinds: server_id/address = sender; owns
                                entries+batch / conf+data until handed to raft */
    const uint8_t *fwd;      /* FORWARD: validated body (points into input) */
    size_t fwd_len;
    uint32_t fwd_count;
} cons_wire;

/* Encode a raft message from (from_id, from_addr). *out malloc'd, caller frees. */
int cons_codec_encode_raft(uint8_t **out, size_t *out_len, uint64_t from_id, const char *from_addr,
                           const struct raft_message *m) __attribute__((warn_unused_result));

/* Encode n transactions as a FORWARD frame. */
int cons_codec_encode_forward(uint8_t **out, size_t *out_len, uint64_t from_id,
                              const char *from_addr, const uint8_t *const *txs, const size_t *lens,
                              size_t n) __attribute__((warn_unused_result));

/* Decode one frame. On success w is filled (raft parts raft_malloc'd). */
int cons_codec_decode(cons_wire *w, const uint8_t *buf, size_t len)
    __attribute__((warn_unused_result));

/* Iterate the txs of a decoded FORWARD frame: *pos starts at 0; returns 1 and
 * sets tx/len while there is one, 0 at the end. */
int cons_codec_forward_next(const cons_wire *w, size_t *pos, const uint8_t **tx, size_t *len);

/* Release whatever raft-owned memory a decoded frame still holds. */
void cons_wire_release(cons_wire *w);

#endif
