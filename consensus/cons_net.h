/*
 * cons_net.h — nng transport between consensus nodes (consensus-private).
 *
 * One pull0 socket listens on this node's address; one push0 socket per peer
 * dials that peer's address (nng redials on its own). Frames are encoded by
 * cons_codec. With a TLS key file every link is mutual TLS trusting only the
 * certificates the ledger pins, and an inbound connection carries frames only
 * after its HELLO proved which member it is (cons_tls.h); without one, links
 * are plain tcp:// (tests only: the node refuses it unless told otherwise). A receiver thread
 * decodes incoming frames and hands them over through the two callbacks (which must be cheap and
 * thread-safe: they run on the receiver thread). Sending never blocks: a full or unconnected peer
 * queue drops the frame (raft retries on its own).
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
    bool tls;
    uint64_t rx_unauth;       /* frames on a connection whose HELLO has not verified */
    uint64_t rx_wrong_sender; /* frames naming another sender than the HELLO proved */
    uint64_t hellos_ok, hellos_refused;
    uint64_t pipes_closed; /* connections closed: refused HELLO, lie, key unpinned */
    uint64_t pin_changes, key_reloads;
    uint64_t links_rebuilt; /* dialers rebuilt: a peer gave no reply (peers_watch) */
} cons_net_stats;

/* Listen on addr and start receiving. Frames must carry `chain`
 * (CONS_CHAIN_ID_LEN bytes, copied); others are counted and dropped.
 * tls_file: this node's key file (cons_tls_id_load), then addr must be
 * tls+tcp:// and pins (the members, with their pinned certificates; copied)
 * are whom it trusts; NULL: plaintext, addr tcp://. */
int cons_net_open(cons_net **out, uint64_t self_id, const uint8_t *chain, const char *addr,
                  const char *tls_file, const cons_peer *pins, size_t npins,
                  const cons_net_cbs *cbs, char *errmsg, size_t errmsg_len)
    __attribute__((warn_unused_result));
/* Stop the receiver, close every socket, free. */
void cons_net_close(cons_net *n);

/* Send one encoded frame of `kind` (a raft message type or CONS_KIND_*) to
 * peer (id, addr); takes ownership of buf (malloc'd). Consensus thread only.
 * Returns 0 when queued, nonzero when dropped. A request (append, vote,
 * snapshot) starts the wait for the peer's reply that cons_net_tick watches. */
int cons_net_send(cons_net *n, uint64_t id, const char *addr, int kind, uint8_t *buf, size_t len);

/* Consensus thread, every loop iteration: rebuilds the dialer of a peer that
 * has left a request without any reply for a few seconds (a dead link nng
 * does not redial by itself). TLS: also keeps a connection open to every
 * member (so a first vote or append does not wait for a handshake) and sends
 * the HELLO a new connection owes at once, not with the next frame. */
void cons_net_tick(cons_net *n, const cons_peer *members, size_t np);

/* Close the dialer to id (after it left the configuration). Consensus thread. */
void cons_net_forget(cons_net *n, uint64_t id);

/* Follow the ledger (consensus thread, called about once a second): peers are
 * the current members with their pinned certificates (np == 0: no opinion,
 * nothing changes). Reloads the key file when it changed on disk. When the
 * pinned keys or this node's key changed: closes connections of keys no
 * longer pinned and drops dialers that trusted another key; restarts the
 * listener when it must trust a key it did not (or show this node's new
 * one). Returns a mask of CONS_NET_* (0: nothing happened); errmsg says what
 * failed for _KEY_BAD and _LISTEN_FAILED. No-op for a plaintext net. */
enum {
    CONS_NET_PINS_CHANGED = 1,
    CONS_NET_KEY_RELOADED = 2,
    CONS_NET_KEY_BAD = 4,             /* the key file changed but does not load: old key kept */
    CONS_NET_LISTEN_FAILED = 8,       /* retried on the next call */
    CONS_NET_LISTENER_RESTARTED = 16, /* to trust a new key or show this node's new one */
};
int cons_net_pins_set(cons_net *n, const cons_peer *peers, size_t np, char *errmsg,
                      size_t errmsg_len);
/* false when peers pins another certificate for this node than its key file's
 * (TLS only; true when this node is not among peers). Consensus thread. */
bool cons_net_self_pinned(cons_net *n, const cons_peer *peers, size_t np);

void cons_net_stats_get(cons_net *n, cons_net_stats *out);

#endif
