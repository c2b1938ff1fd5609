/*
 * replica.h — the replicated-ledger engine: turns "here is a signed
 * transaction" into "here is its receipt, the same on every node".
 *
 * A replica owns one Raft member (consensus/, on DIR/raft) whose state
 * machine is the ledger it is given (chain/): the submission registry
 * (submit.c) admits and waits, consensus orders, the fsm (fsm.c) builds and
 * follows blocks, the applier (applier.c) writes them to the ledger on its
 * own thread, and catch-up (catchup.c) replays what a snapshot skipped. The
 * files behind this header are private to replica/; tests/unit/replica
 * reads them through their own headers.
 *
 * It may call chain/, consensus/ and log/; nothing here knows HTTP, pages or
 * scans. Its callers: the gateway (submit, status) and start-up (open/close).
 *
 * Threads: open/shutdown/close run on the caller's thread (the one that
 * starts and stops the node). replica_submit, replica_submit_async,
 * replica_forward and replica_status_get are thread-safe. The consensus
 * thread runs the fsm; the applier thread applies blocks and wakes
 * submitters; a sweeper thread serves asynchronous submissions.
 *
 * States:  OPEN --replica_shutdown--> SHUT (submissions refused with
 *          REPLICA_STOPPING, waiters released, a catch-up gives up)
 *          --replica_close--> gone (consensus stopped, leadership handed over)
 */
#ifndef PROVENA_REPLICA_REPLICA_H
#define PROVENA_REPLICA_REPLICA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chain/chain.h"
#include "replica/result.h"

/* How a submission ended: enum replica_result (result.h). */
/* "committed", "queued", ... "stopping"; "unknown" outside the enum. Static. */
const char *replica_result_name(int res);

typedef struct replica replica;

typedef struct replica_config {
    uint64_t id;                      /* this node's Raft id, ≥ 1 */
    const char *data_dir;             /* consensus keeps DIR/raft (created) */
    const char *raft_addr;            /* where this node listens for Raft traffic */
    const char *tls_file;             /* this node's TLS key file (cons_config.tls_file);
                                         NULL: plaintext links (tests only) */
    bool join;                        /* not a member yet: never bootstrap, wait for node.add */
    unsigned snapshot_threshold;      /* Raft entries between snapshots; 0: consensus default */
    unsigned block_linger_us;         /* leader: longest wait for a fuller block */
    uint8_t chain_id[CHAIN_HASH_LEN]; /* the network: every Raft frame carries it */
    uint64_t disk_reserve;            /* bytes kept free on data_dir's disk; 0: 64 MiB (disk.h) */
    const char *peer_ca;              /* PEM CA file for other nodes' https:// gateways during
                                         catch-up; NULL: the system's store */
} replica_config;

/*
 * Opens the engine over c (borrowed: it must stay open until replica_close
 * returns): the submission registry, the fsm with its applier thread, and a
 * consensus member whose voters are the ledger's nodes (this node at
 * cfg->raft_addr, and added to the list when joining). cfg is copied.
 * Returns 0, or -1 with errmsg ("start consensus (DIR/raft): ...") and
 * nothing left running. Blocks only to open files and bind the socket.
 */
int replica_open(replica **out, chain *c, const replica_config *cfg, char *errmsg,
                 size_t errmsg_len) CHAIN_WUR;

/*
 * Refuses at once with REPLICA_DISK_FULL while the data disk is below its
 * reserve (nothing is written; retry once space returns). Prechecks tx
 * (format, chain id, signature, the signer's standing); answers a tx already in the
 * ledger with its stored receipt at once; joins the waiter of the same tx id
 * or hands the tx to consensus; then, when wait_ms > 0, blocks until its
 * receipt is applied here or wait_ms passes. Returns an enum replica_result;
 * receipt->tx is filled whenever tx decoded. tx is borrowed for the call.
 * Thread-safe; blocks up to wait_ms.
 */
int replica_submit(replica *r, chain_receipt *receipt, const uint8_t *tx, size_t len,
                   unsigned wait_ms);

/* How an asynchronous submission ends: result and receipt as replica_submit
 * returns and fills them. The receipt is borrowed for the call. */
typedef void (*replica_done_fn)(void *ctx, int result, const chain_receipt *receipt);

/*
 * replica_submit without a sleeping thread: done(ctx, ...) is called exactly
 * once — from the applying thread when the receipt is applied, from the
 * sweeper when wait_ms passes or on shutdown, or from this call before it
 * returns when the outcome is known at once (refused, busy, already in the
 * ledger). wait_ms 0 counts as 1 ms. Thread-safe; never blocks on consensus.
 */
void replica_submit_async(replica *r, const uint8_t *tx, size_t len, unsigned wait_ms,
                          replica_done_fn done, void *ctx);

/* Hands an encoded tx this node signed itself (a scans batch) to consensus
 * without precheck or wait. REPLICA_QUEUED when taken, else _NO_LEADER,
 * _BUSY, _STOPPING, _DISK_FULL or _REMOVED (this node was removed by
 * node.remove). Thread-safe; never blocks. */
int replica_forward(replica *r, const uint8_t *tx, size_t len);

/* Observes the commit latency, in microseconds, of each submission that
 * waited for its receipt. Called on the applying or sweeping thread. Set it
 * before the first submission; NULL clears. */
void replica_set_latency(replica *r, void (*fn)(void *ctx, uint64_t usec), void *ctx);

typedef struct replica_status {
    uint64_t id, leader_id, term, commit_index, last_applied;
    int role;                /* consensus role code, -1 when stopped */
    const char *role_name;   /* "leader", "follower", "candidate", "stopped", "removed"
                                (static) */
    uint64_t removed_height; /* the block that removed this node from the network; 0 while
                                it is a member. Submissions then end REPLICA_REMOVED */
    size_t waiting;          /* transactions waiting for their receipt here */
    bool disk_full;          /* free space below the reserve: writes refused */
    uint64_t disk_free;      /* bytes free on the data disk (UINT64_MAX: unknown) */
    uint64_t disk_reserve;   /* bytes kept free */
    /* Raft links, counted since start (consensus.h cons_status) */
    struct {
        bool tls;
        uint64_t malformed, other_chain, refused, unauthenticated, wrong_sender;
        uint64_t hellos_refused, pin_changes, rebuilt;
    } links;
    size_t npeers;
    struct {
        uint64_t id;
        char raft_addr[CHAIN_ADDR_MAX + 1];
        bool voter;
        /* the leader's view (consensus.h cons_peer_status); all 0 elsewhere */
        bool health_known, up;
        uint64_t last_contact_ms, match_index, lag_entries, lag_ms;
    } peers[CHAIN_NODES_MAX];
} replica_status;

/* True while the data disk is below its reserve (writes refused). r NULL:
 * false. Thread-safe; at most one statvfs. */
bool replica_disk_full(replica *r);

/* Copies the engine's state as of a few ms ago (consensus's last loop).
 * Thread-safe; never blocks for long. r NULL reports "stopped". */
void replica_status_get(replica *r, replica_status *out);

/* The height of the block that removed this node from the network (node.remove),
 * 0 while it is a member. Thread-safe; NULL-safe (0). */
uint64_t replica_removed_height(replica *r);

/* Refuses new submissions, ends every waiting and asynchronous one with
 * REPLICA_STOPPING and makes a catch-up in progress give up; returns once no
 * thread is inside replica_submit. Consensus still runs. NULL-safe. */
void replica_shutdown(replica *r);

/* Stops consensus (a leader hands leadership over first), applies what the
 * applier holds, frees r. Calls replica_shutdown if it was not. NULL-safe;
 * never from a replica callback. */
void replica_close(replica *r);

#endif
