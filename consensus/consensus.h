/*
 * consensus.h — Provena's replicated log: libraft 0.22 runs the algorithm,
 * consensus/ supplies its I/O (nng between nodes, LMDB on disk) and one thread
 * that makes every raft call. Entries are opaque bytes; the node sees them only
 * through the cons_fsm callbacks below.
 *
 * Threads: cons_start() spawns the consensus thread. Every cons_fsm callback runs
 * on that thread, one at a time, never concurrently with another callback.
 * cons_submit(), cons_status_get() and cons_role_name() may be called from any
 * thread. cons_stop() may be called from any thread except the consensus thread
 * (i.e. never from inside a callback).
 */
#ifndef PROVENA_CONSENSUS_H
#define PROVENA_CONSENSUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CONS_PEERS_MAX    16           /* servers in one configuration */
#define CONS_ADDR_MAX     128          /* nng URL incl. NUL */
#define CONS_MSG_MAX      (256u << 20) /* largest node-to-node message (a snapshot) */
#define CONS_TX_MAX       (4u << 20)   /* largest single transaction accepted */
#define CONS_ENTRY_MAX    (64u << 20)  /* largest block build() may return */
#define CONS_CHAIN_ID_LEN 32           /* the network's id, carried by every frame */

/* Status codes of this layer. Codes of raft, LMDB and nng never leak past it. */
enum {
    CONS_OK = 0,
    CONS_ERR_INVALID,    /* bad argument or configuration */
    CONS_ERR_NOMEM,      /* allocation failed */
    CONS_ERR_IO,         /* LMDB / filesystem failure */
    CONS_ERR_NET,        /* nng could not listen or dial */
    CONS_ERR_RAFT,       /* libraft refused (detail in errmsg) */
    CONS_ERR_CORRUPT,    /* stored raft state fails its checks */
    CONS_ERR_NO_LEADER,  /* no leader known right now; retry later */
    CONS_ERR_QUEUE_FULL, /* this node's transaction queue is at queue_max */
    CONS_ERR_TOO_LARGE,  /* transaction larger than CONS_TX_MAX */
    CONS_ERR_STOPPED,    /* cons_stop() has begun, or a fatal local error halted it */
    CONS_ERR_MALFORMED,  /* a peer message failed decoding (internal; counted) */
};
/* Older spellings kept for the node's first draft; same values. */
#define CONS_ERR_BUSY     CONS_ERR_QUEUE_FULL
#define CONS_ERR_STOPPING CONS_ERR_STOPPED

/* Static, never NULL; "unknown error" for codes outside the enum. */
const char *cons_strerror(int code);

typedef struct cons cons;

#define CONS_PEER_CERT_MAX 1024 /* a pinned TLS certificate, DER */

/* One server: its raft id (> 0), the nng URL it listens on for raft traffic
 * and the TLS certificate the ledger pins for it. */
typedef struct cons_peer {
    uint64_t id;
    char addr[CONS_ADDR_MAX]; /* e.g. "tls+tcp://127.0.0.1:7001" */
    uint8_t tls[CONS_PEER_CERT_MAX];
    size_t tls_len; /* 0: none pinned (a plaintext network) */
} cons_peer;

/* Callbacks supplied by the node. All run on the consensus thread only, one at a
 * time; none may call back into cons_stop(). Buffers passed *in* are owned by
 * consensus and valid only during the call; buffers handed *out* are malloc'd by
 * the callee and consensus takes them (and free()s them). */
typedef struct cons_fsm {
    void *ctx;
    /* Apply the committed entry at Raft log `index` (indexes arrive strictly
     * increasing within one process run; after a restart, indexes the FSM already
     * reported through applied_index() are skipped by consensus). Returns 0, or
     * nonzero only for a fatal local error (disk): consensus then halts this node
     * (CONS_ERR_STOPPED from then on) rather than run a diverged state machine. */
    int (*apply)(void *ctx, uint64_t index, const void *data, size_t len);
    /* Last index durably applied (read once at start, and before a snapshot is
     * restored: a snapshot the FSM is already at or past is not restored). */
    uint64_t (*applied_index)(void *ctx);
    /* Serialise the whole FSM state as of the last applied index into *buf
     * (malloc'd by the callee; consensus owns it afterwards). The bytes must carry
     * the applied index so restore() can set it. At most CONS_MSG_MAX - 4 KiB.
     * Nonzero return: no snapshot this time (retried later). */
    int (*snapshot)(void *ctx, void **buf, size_t *len);
    /* Replace the FSM state by a snapshot produced by snapshot() on some node.
     * buf is owned by consensus. Nonzero return is fatal (the node halts). */
    int (*restore)(void *ctx, const void *buf, size_t len);
    /* Leader only, and only after leader_changed(ctx, true): pack up to n queued
     * transactions, in order, into one entry. *out malloc'd by the callee (at most
     * CONS_ENTRY_MAX bytes), ownership moves to consensus; *used = how many of
     * txs[0..used) went in (1..n). used == 0 means txs[0] can never fit a block:
     * consensus drops it. Nonzero return: nothing is consumed, retried later. */
    int (*build)(void *ctx, const void *const *txs, const size_t *lens, size_t n, void **out,
                 size_t *out_len, size_t *used);
    /* Desired voting membership (from replicated chain state). Fills at most max
     * peers and returns the count. The leader reconciles the Raft configuration
     * toward it (add as spare → standby → voter after catch-up; remove the rest).
     * Returning 0 means "no opinion": nothing is changed. May be NULL. */
    size_t (*members)(void *ctx, cons_peer *out, size_t max);
    /* Leadership notice. true: this node is leader AND every entry of earlier
     * terms has been applied (a barrier committed), so the node may reset its
     * proposal head from applied state; build() calls follow. false: leadership
     * was lost (only sent after a true). May be NULL. */
    void (*leader_changed)(void *ctx, bool is_leader);
    /* Another server (or this one) is now the leader this node knows, after a
     * different one: txs this node forwarded to the previous leader may never
     * be proposed (it stopped, or lost leadership with them staged), so the
     * caller may forward its pending txs again at once. May be NULL. */
    void (*leader_moved)(void *ctx);
} cons_fsm;

typedef struct cons_config {
    uint64_t id;                         /* this server's raft id, > 0 */
    uint8_t chain_id[CONS_CHAIN_ID_LEN]; /* the network: every frame carries it, and a
                                            frame with another one is refused and logged */
    const char *data_dir;                /* raft state: data_dir/raft (own LMDB env), created */
    const char *tls_file; /* this node's TLS key file (private key + certificate, PEM;
                             re-read when it changes on disk): every link is mutual TLS
                             trusting the certificates members() pins. NULL: plaintext
                             tcp:// (tests only) */
    cons_peer peers[CONS_PEERS_MAX];     /* initial voters, must include this id (its
                                            addr is where this node listens) */
    size_t npeers;
    bool join;                          /* true: never bootstrap; wait to be added */
    unsigned heartbeat_ms, election_ms; /* defaults 50 / 500 if 0 */
    unsigned snapshot_threshold;        /* entries between snapshots, default 1024 */
    unsigned snapshot_trailing;         /* entries kept after one, default 256 */
    unsigned block_max_txs;             /* default 1000 */
    size_t block_max_bytes;             /* sum of tx sizes per block, default 1 MiB */
    unsigned block_linger_us;           /* max wait for a fuller block, default 2000 */
    size_t queue_max;                   /* queued txs on this node, default 10000 */
    cons_fsm fsm;
} cons_config;

/* Open data_dir/raft, bootstrap it with cfg->peers if it is empty and !cfg->join,
 * listen on this id's address and start the consensus thread. cfg is copied (the
 * caller may free it on return). On success *out is set and CONS_OK returned; on
 * failure *out is untouched, errmsg holds "what: why" and nothing is left running.
 * Blocks only for disk opening; returns before any election. */
int cons_start(cons **out, const cons_config *cfg, char *errmsg, size_t errmsg_len)
    __attribute__((warn_unused_result));

/* Thread-safe, never blocks on the network. Copies tx. On the leader it is queued
 * for the next block; on a follower it is queued and forwarded to the leader in
 * batches. Returns CONS_OK (queued — not committed: the node learns the outcome
 * through apply, by tx hash; a tx can still be lost if leadership changes, so the
 * caller retries by hash), CONS_ERR_NO_LEADER, CONS_ERR_QUEUE_FULL,
 * CONS_ERR_TOO_LARGE, CONS_ERR_INVALID (empty) or CONS_ERR_STOPPED. */
int cons_submit(cons *c, const void *tx, size_t len);

/* Members are "silent" (up == false) after this long without a valid frame
 * from them at the leader: two default election timeouts. */
#define CONS_MEMBER_SILENT_MS 1000

typedef struct cons_peer_status {
    uint64_t id;
    char addr[CONS_ADDR_MAX];
    bool voter;
    int raft_role; /* 0 standby, 1 voter, 2 spare (libraft codes) */
    /* Health, as the leader sees it; health_known is false on every other node
     * (only the leader hears from every member) and the fields below are 0. */
    bool health_known;
    bool up;                  /* a valid frame came within CONS_MEMBER_SILENT_MS */
    uint64_t last_contact_ms; /* since the last valid frame (or since this node leads) */
    uint64_t match_index;     /* highest log index known to be stored on the member */
    uint64_t lag_entries;     /* leader's last index - match_index */
    uint64_t lag_ms;          /* how long ago the leader's log first held an entry the
                                 member still lacks (0: caught up); at least, once past
                                 the history kept (CONS_LAG_HISTORY samples) */
} cons_peer_status;

typedef struct cons_status {
    uint64_t id, leader_id, term, commit_index, last_applied, last_index;
    int role;      /* 0 follower, 1 candidate, 2 leader */
    bool stopped;  /* halted by a fatal local error or cons_stop */
    size_t queued; /* transactions waiting on this node */
    uint64_t blocks_proposed, txs_forwarded, msgs_dropped, msgs_malformed;
    uint64_t msgs_other_chain; /* frames of another network, refused */
    uint64_t msgs_refused;     /* well-formed frames refused by the guard (cons_guard.c) */
    bool tls;                  /* links are mutual TLS (cons_config.tls_file) */
    uint64_t msgs_unauthenticated; /* frames on a connection with no verified HELLO */
    uint64_t msgs_wrong_sender;    /* frames naming another node than their HELLO */
    uint64_t hellos_refused;       /* HELLOs refused (unpinned key, bad signature, ...) */
    uint64_t tls_pin_changes;      /* times the pinned keys changed (rotation, add, remove) */
    uint64_t links_rebuilt;        /* dialers rebuilt because a peer gave no reply (cons_net.c) */
    size_t npeers;
    cons_peer_status peers[CONS_PEERS_MAX];
} cons_status;

/* Thread-safe snapshot of the state as of the end of the consensus thread's last
 * loop iteration (so at most a few ms old). Never blocks for long. */
void cons_status_get(cons *c, cons_status *out);

/* "follower", "candidate", "leader", or "unknown". Static string. */
const char *cons_role_name(int role);

/* The network removed this server (its ledger says so): it stops taking part
 * for good. A follower or candidate stops at once — no more elections or
 * votes, frames ignored, cons_submit answers CONS_ERR_STOPPED, status says
 * stopped; a leader first hands leadership over (the membership rule that
 * moves an unwanted leader out) and stops as soon as it no longer leads.
 * Idempotent; any thread; never blocks. cons_stop is still needed to free c. */
void cons_retire(cons *c);

/* If leader, transfer leadership to an up-to-date voter and wait for it (at most
 * one election timeout + 1 s); then stop the thread, close sockets and LMDB and
 * free c. c == NULL is a no-op. Not from the consensus thread. */
void cons_stop(cons *c);

#ifdef __cplusplus
}
#endif
#endif
