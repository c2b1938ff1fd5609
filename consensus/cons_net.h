/*
 * cons_net.h — nng transport between consensus nodes (consensus-private).
 *
 * One pull0 socket listens on this node's address; one push0 socket per peer
 * dials that peer's address (nng redials on its own). Frames are encoded by
 * cons_codec. A receiver thread decodes incoming frames and hands them over
 * through the two callbacks (which must be cheap and thread-safe: they run on
 * the receiver thread). Sending never blocks: a full or unconnected peer queue
 * drops the frame (raft retries on its own).
 */
#ifndef CONS_NET_H
#define CONS_NET_H

#include "consensus/cons_codec.h"

#include <stdint.h>

typedef struct cons_net cons_net;

typedef struct cons_net_cbs {
    void *ctx;
    /* A decoded raft frame; ownership of w (malloc'd) moves to the callee. */
    void (*raft)(void *ctx, cons_wire *w);
    /* One forwarded transaction (bytes valid only during the call). */
    void (*tx)(void *ctx, const uint8_t *tx, size_t len);
} cons_net_cbs;

typedef struct cons_net_stats {
    uint64_t rx, rx_malformed, rx_other_chain, tx, tx_dropped;
    uint64_t other_chain_head; /* first 8 bytes (big-endian) of the last foreign chain id */
} cons_net_stats;

/* Listen on addr and start receiving. Frames must carry `chain`
 * (CONS_CHAIN_ID_LEN bytes, copied); others are counted and dropped. */
int cons_net_open(cons_net **out, uint64_t self_id, const uint8_t *chain, const char *addr,
                  const cons_net_cbs *cbs, char *errmsg, size_t errmsg_len)
    __attribute__((warn_unused_result));
/* Stop the receiver, close every socket, free. */
void cons_net_close(cons_net *n);

/* Send one encoded frame to peer (id, addr); takes ownership of buf (malloc'd).
 * Consensus thread only. Returns 0 when queued, nonzero when dropped. */
int cons_net_send(cons_net *n, uint64_t id, const char *addr, uint8_t *buf, size_t len);

/* Close the dialer to id (after it left the configuration). Consensus thread. */
void cons_net_forget(cons_net *n, uint64_t id);

void cons_net_stats_get(cons_net *n, cons_net_stats *out);

#endif
