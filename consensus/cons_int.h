/*
 * cons_int.h — the consensus object shared by the files of consensus/
 * (consensus-private). Fields under "shared" are guarded by mu; everything
 * else belongs to the consensus thread alone.
 *
 * Life of a cons (state field):
 *   RUNNING  --cons_stop()-->  TRANSFER (leader: raft_transfer, bounded wait)
 *   RUNNING/TRANSFER --loop--> CLOSING (raft_close issued; io fires pending
 *                                       callbacks as RAFT_CANCELED) --> CLOSED
 *   any --fatal disk/apply error (cons_halt)--> HALTED: raft is no longer
 *   driven, submits fail with CONS_ERR_STOPPED; cons_stop still closes it.
 *   RUNNING --cons_retire(), once not leader (cons_members_retire)--> HALTED
 */
#ifndef CONS_INT_H
#define CONS_INT_H

#include "consensus/consensus.h"
#include "consensus/cons_codec.h"
#include "consensus/cons_net.h"
#include "consensus/cons_store.h"

#include <pthread.h>
#include <raft.h>
#include <stdbool.h>
#include <stdint.h>

#define CONS_INBOX_MAX     4096       /* raft frames waiting for the consensus thread */
#define CONS_INFLIGHT_MAX  16         /* blocks proposed and not yet applied/failed */
#define CONS_FWD_BYTES     (1u << 20) /* bytes of txs per forward frame */
#define CONS_TERM_JUMP_MAX 1024       /* farthest term ahead taken while a leader is known */
#define CONS_LAG_HISTORY   1024       /* leader's last-index samples kept for lag_ms */
#define CONS_LAG_SAMPLE_MS 10         /* at most one sample this often (so >= 10 s kept) */

enum { CONS_RUNNING, CONS_TRANSFER, CONS_CLOSING, CONS_CLOSED, CONS_HALTED };

typedef struct cons_tx {
    uint8_t *p;
    size_t len;
    uint64_t t_us; /* when queued, monotonic */
} cons_tx;

/* A queued raft_io disk request (cons_io.c). */
typedef struct cons_disk_req {
    cons_store_op op;
    struct raft_io_append *append; /* APPEND: request + cb, or NULL */
    raft_io_append_cb append_cb;
    struct raft_io_snapshot_put *put; /* SNAPSHOT */
    raft_io_snapshot_put_cb put_cb;
} cons_disk_req;

/* A callback to fire on the next flush (send done, snapshot loaded). */
typedef struct cons_compl {
    struct raft_io_send *send;
    raft_io_send_cb send_cb;
    struct raft_io_snapshot_get *get;
    raft_io_snapshot_get_cb get_cb;
    struct raft_snapshot *snap;
    int status;
} cons_compl;

/* The snapshots handed to raft by snapshot_get, most recent CONS_SNAP_SEEN:
 * data pointer, index, term. */
#define CONS_SNAP_SEEN 8
typedef struct cons_snap_seen {
    struct {
        const void *data;
        raft_index index;
        raft_term term;
    } ring[CONS_SNAP_SEEN];
    unsigned next;
} cons_snap_seen;

struct cons {
    cons_config cfg;
    char addr[CONS_ADDR_MAX];
    char data_dir[4096];
    char tls_file[4096];

    /* ---- consensus thread ---- */
    struct raft raft;
    struct raft_io io;
    struct raft_fsm rfsm;
    cons_store *store;
    cons_net *net;
    pthread_t thread;
    int state;
    bool raft_started;
    /* raft_io */
    raft_io_tick_cb tick_cb;
    raft_io_recv_cb recv_cb;
    raft_io_close_cb close_cb;
    unsigned tick_ms;
    uint64_t next_tick_ms;
    uint64_t next_capacity_ms;
    unsigned rand_state;
    cons_disk_req *disk;
    size_t ndisk, capdisk;
    cons_compl * compl ;
    size_t ncompl, capcompl;
    /* fsm adapter */
    uint64_t fsm_applied;   /* highest index the FSM holds */
    uint64_t restore_index; /* index of the snapshot raft may restore next */
    /* snapshot_put requests not completed yet. libraft 0.22 answers an
     * InstallSnapshot that arrives while a snapshot is being taken or persisted
     * with RAFT_BUSY and never frees its conf and data, or, while one is being
     * taken, parks it and then persists a NULL request when the take completes
     * (takeSnapshotCb, a segfault; fixture seed 379603272), so the loop drops
     * such a message itself (the leader retries); see deliver_inbox. */
    unsigned snapshot_puts;
    uint64_t installs_dropped_busy;
    cons_snap_seen snap_seen; /* snapshots handed out by snapshot_get (cons_guard.c) */
    /* leadership */
    bool was_leader; /* raft_state == LEADER at the last check */
    uint64_t leader_term;
    uint64_t last_leader; /* the last non-zero leader id raft reported (leader_moved) */
    bool barrier_pending, ready; /* ready: barrier applied, leader_changed(true) sent */
    unsigned inflight;
    uint64_t build_retry_us; /* after a failed build(), not before this */
    cons_tx *stage;          /* txs taken off the shared queue, in order */
    size_t nstage;
    bool change_pending;
    uint64_t next_members_ms;
    bool transfer_done;
    uint64_t transfer_from_ms; /* when cons_stop's transfer began (0: none) */
    uint64_t stop_deadline_ms;
    uint64_t blocks_proposed, txs_forwarded, txs_dropped;
    /* guard (cons_guard.c) */
    cons_peer wanted[CONS_PEERS_MAX]; /* the ledger's membership, last read at wanted_ms */
    size_t nwanted;
    uint64_t wanted_ms;
    uint64_t msgs_refused, confs_withheld;
    /* the last leader's message (AppendEntries, InstallSnapshot) taken: from
     * whom and when; a later term's leader is taken once it has been quiet an
     * election timeout (cons_guard_frame) */
    uint64_t leader_heard_id, leader_heard_ms;
    uint64_t guard_log_ms, guard_log_suppressed;
    uint64_t other_chain_logged, other_chain_log_ms; /* frames of another network, logged */
    uint64_t malformed_logged, malformed_log_ms;     /* malformed frames, logged */
    uint64_t pins_ms;                                /* last cons_net_pins_set */
    cons_peer pinned[CONS_PEERS_MAX]; /* what that was given: wanted + leaving servers */
    size_t npinned;
    cons_peer pins_next[CONS_PEERS_MAX]; /* scratch for the next list */
    uint64_t tls_logged[3], tls_log_ms;              /* refusals of the TLS layer, logged */
    bool self_unpinned_logged;
    /* member health (cons_members.c), kept on every node, reported by the leader */
    struct {
        uint64_t id;
        uint64_t heard_ms; /* last valid frame from it, monotonic ms; 0 never */
        bool silent;       /* logged as silent and not yet as back */
        uint64_t silent_since_ms;
    } health[CONS_PEERS_MAX];
    uint64_t lead_since_ms; /* when this node last became leader (0: not leader) */
    /* a removal waiting until the member holds the entry that removed it (so
     * its own ledger tells it; cons_members.c rule 4) */
    uint64_t leaving_id, leaving_since_ms, leaving_index, leaving_ready_ms;
    struct {
        uint64_t index, ms;
    } lag_hist[CONS_LAG_HISTORY]; /* (leader's last index, when first seen), oldest first */
    unsigned lag_head, lag_n;

    /* ---- shared (mu) ---- */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop_req;
    bool retire_req; /* cons_retire: removed by the network */
    bool frames_off; /* raft is closing: incoming frames are dropped */
    bool halted;
    bool kick; /* new txs worth a look before the next deadline */
    cons_wire **inbox;
    size_t inbox_head, inbox_n;
    cons_tx *txq; /* ring of cfg.queue_max */
    size_t txq_head, txq_n;
    size_t staged; /* == nstage, readable by submitters: queue_max covers both */
    uint64_t inbox_dropped;
    cons_status status;
};

/* cons_io.c */
void cons_io_setup(cons *c);
/* Run queued disk writes (one LMDB txn) and fire completed callbacks, until
 * nothing is pending. */
void cons_io_flush(cons *c);
uint64_t cons_now_ms(void);
void cons_io_refresh_capacity(cons *c);
/* cons_io.c: room for n more disk requests, so that raft's io->append cannot
 * fail for want of memory inside a call that already took the entry's
 * buffer (libraft 0.22's raft_apply frees it then; see propose_blocks).
 * 0, or RAFT_NOMEM. */
int cons_io_reserve(cons *c, size_t n);
/* Fire callbacks of finished raft_apply/barrier/change/transfer requests. */
void cons_raft_fire_completed(struct raft *r); /* statvfs of data_dir -> io.capacity */
uint64_t cons_now_us(void);

/* cons_fsm.c */
void cons_fsm_setup(cons *c);

/* cons_guard.c: true when raft may see frame w (possibly cut: see the file's
 * comment); false when it is refused (logged, counted; the caller releases it). */
bool cons_guard_frame(cons *c, cons_wire *w);
/* cons_guard.c: the transport's TLS pins follow the ledger (about once a second). */
void cons_guard_pins(cons *c, uint64_t now_ms);
const char *cons_msg_name(int type);

/* cons_members.c: leader only, after the barrier. */
void cons_members_reconcile(cons *c, uint64_t now_ms);
/* cons_members.c: cons_retire() was asked: halts this server once it does not
 * lead (a leader is moved out by the reconcile rule first). Consensus thread. */
void cons_members_retire(cons *c);
/* cons_members.c: a frame from member id passed the guard at now_ms. */
void cons_members_heard(cons *c, uint64_t id, uint64_t now_ms);
/* cons_members.c: fills the health fields of peers[0..n) (which name the
 * servers of the configuration) when this node leads, else clears them; logs a
 * member going silent and coming back. Consensus thread, raft started. */
void cons_members_health(cons *c, cons_peer_status *peers, size_t n, uint64_t now_ms);

/* cons_guard.c: called on every frame before raft sees it. Rewrites an
 * AppendEntries whose prev_log_index this follower compacted below its snapshot
 * (libraft 0.22.1 would reject it forever) to start at the snapshot; true when
 * it did. Frees the entries it drops. */
bool cons_guard_append_entries(const struct raft *r, struct raft_message *m);
/* Record a snapshot handed to raft's snapshot_get callback. */
void cons_guard_snapshot_loaded(cons_snap_seen *s, const struct raft_snapshot *snap);
/* An InstallSnapshot whose data is a recorded snapshot but whose last_term is
 * not that snapshot's (libraft 0.22.1 keeps the older term when the loaded
 * snapshot is newer): returns tmp, a copy with the term put right; otherwise
 * m itself. */
const struct raft_message *cons_guard_install_term(cons_snap_seen *s, const struct raft_message *m,
                                                   struct raft_message *tmp);

/* cons_loop.c */
void cons_halt(cons *c, const char *why, int code);
void *cons_loop_main(void *arg);
/* One line through log/ as "consensus[ID]: ..."; cons_log at info, cons_log_at
 * at a LOG_LEVEL_* of log/log.h. Any thread. PROVENA_CONS_QUIET silences both. */
void cons_log(cons *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void cons_log_at(cons *c, int level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
