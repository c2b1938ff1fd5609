/*
 * fsm.c — the ledger as consensus's state machine.
 *
 * Committed Raft entries are blocks. fsm_apply, on the consensus thread,
 * peeks each block once (chain_block_peek_ids), follows the committed head
 * (chain_block_extends: the very rule apply uses to decide whether a block
 * links) and hands the block with its tx ids to the applier (applier.c),
 * which applies blocks in groups on its own thread and wakes their
 * submitters. Raft thus never waits for the ledger's disk; snapshot and
 * restore drain the applier first, so they see the ledger exactly at Raft's
 * applied index.
 *
 * The leader builds blocks ahead of commit: a block proposed now must extend
 * the block proposed just before it, which may not be committed yet. So the
 * leader keeps its proposal head — the committed head plus an ordered list of
 * the blocks it proposed that are still in flight (inflight[]). Building
 * pushes to the back; the commit of the front block pops it.
 *
 * A new leader may hold entries of an earlier term it has not applied yet;
 * blocks it builds then may not link, and chain/ skips them (no state change,
 * receipts of code bad_block). When a block that does not link is one of ours,
 * every later in-flight block extends it and is doomed too: the list is
 * cleared, later builds start from the committed head, and the skipped
 * transactions' submitters forward them again (submit_on_skipped).
 *
 * Proposal head states:  COMMITTED (inflight empty) --fsm_build--> AHEAD
 *   AHEAD --commit of inflight front--> AHEAD/COMMITTED
 *   AHEAD --a block of ours that does not link | fsm_leader_changed | fsm_restore--> COMMITTED
 *
 * Snapshots are markers (chain_marker_take): the ledger is durable by itself,
 * so Raft's snapshot only says where it is. fsm_restore on a node behind the
 * marker catches up by fetching and replaying the missing blocks (catchup.c)
 * on the consensus thread, which waits meanwhile: the entries after the
 * snapshot need that state.
 */
#include "replica/fsm.h"

#include "replica/disk.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "replica/applier.h"
#include "replica/catchup.h"
#include "log/log.h"

typedef struct proposal {
    uint8_t id[CHAIN_HASH_LEN];
    uint64_t height;
    uint64_t time;
} proposal;

struct replica_fsm {
    chain *chain;
    submit_reg *reg;
    uint64_t node_id;
    char *peer_ca;           /* catch-up's CA file for https:// gateways, or NULL */
    const atomic_bool *stop; /* the node is stopping: a catch-up gives up */
    applier *ap;
    disk_watch *disk; /* borrowed; NULL: not watched */
    /* consensus thread only */
    proposal committed; /* the head after every block committed so far */
    bool leader;
    proposal inflight[FSM_INFLIGHT_MAX]; /* ring */
    size_t head, count;
};

__attribute__((unused)) static bool fsm_check(const replica_fsm *f)
{
    return f->count <= FSM_INFLIGHT_MAX && f->head < FSM_INFLIGHT_MAX &&
           (f->leader || f->count == 0);
}

static proposal *inflight_at(replica_fsm *f, size_t i)
{
    return &f->inflight[(f->head + i) % FSM_INFLIGHT_MAX];
}

static void inflight_clear(replica_fsm *f)
{
    f->head = 0;
    f->count = 0;
}

static uint64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* committed := the ledger's head (after start-up and after a catch-up). */
static int committed_from_ledger(replica_fsm *f)
{
    chain_rd *rd;
    chain_head h;
    if (chain_rd_begin(f->chain, &rd) != CHAIN_OK)
        return -1;
    int err = chain_head_get(rd, &h);
    chain_rd_end(rd);
    if (err != CHAIN_OK)
        return -1;
    memcpy(f->committed.id, h.id, CHAIN_HASH_LEN);
    f->committed.height = h.height;
    f->committed.time = h.time;
    return 0;
}

int fsm_set_peer_ca(replica_fsm *f, const char *path)
{
    free(f->peer_ca);
    f->peer_ca = path ? strdup(path) : NULL;
    return path && !f->peer_ca ? -1 : 0;
}

int fsm_new(replica_fsm **out, chain *c, uint64_t node_id, submit_reg *reg, const atomic_bool *stop)
{
    replica_fsm *f = calloc(1, sizeof *f);
    if (!f)
        return CHAIN_ERR_NOMEM;
    f->chain = c;
    f->reg = reg;
    f->node_id = node_id;
    f->stop = stop;
    if (committed_from_ledger(f) != 0 || applier_start(&f->ap, c, reg, APPLIER_DEFER_US) != 0) {
        free(f);
        return CHAIN_ERR_NOMEM;
    }
    *out = f;
    return CHAIN_OK;
}

void fsm_free(replica_fsm *f)
{
    if (!f)
        return;
    applier_stop(f->ap);
    free(f->peer_ca);
    free(f);
}

int fsm_apply(replica_fsm *f, uint64_t index, const uint8_t *data, size_t len)
{
    assert(fsm_check(f));
    /* One peek per block on this node: the applier takes its tx ids along. */
    chain_block_ids pk;
    bool peeked = chain_block_peek_ids(&pk, data, len) == CHAIN_OK;
    if (peeked &&
        chain_block_extends(&pk.hdr, f->committed.height, f->committed.id, f->committed.time)) {
        memcpy(f->committed.id, pk.id, CHAIN_HASH_LEN);
        f->committed.height = pk.hdr.height;
        f->committed.time = pk.hdr.time;
        if (f->count > 0 && memcmp(inflight_at(f, 0)->id, pk.id, CHAIN_HASH_LEN) == 0) {
            f->head = (f->head + 1) % FSM_INFLIGHT_MAX;
            f->count--;
        }
    } else if (f->count > 0 && peeked) {
        for (size_t i = 0; i < f->count; i++)
            if (memcmp(inflight_at(f, i)->id, pk.id, CHAIN_HASH_LEN) == 0) {
                log_msg(LOG_LEVEL_INFO,
                        "proposed block at index %llu did not link; "
                        "proposing from the committed head again",
                        (unsigned long long)index);
                inflight_clear(f);
                break;
            }
    }
    if (applier_push_peeked(f->ap, index, data, len, peeked ? &pk : NULL) != 0) {
        log_msg(LOG_LEVEL_ERROR, "apply index %llu: the applier has failed",
                (unsigned long long)index);
        return -1;
    }
    return 0;
}

uint64_t fsm_applied_index(replica_fsm *f)
{
    if (applier_drain(f->ap) != 0)
        log_msg(LOG_LEVEL_WARN, "applied index: the applier has failed");
    return chain_applied_index(f->chain);
}

int fsm_snapshot(replica_fsm *f, uint8_t **buf, size_t *len)
{
    if (applier_drain(f->ap) != 0)
        return -1; /* the marker must name the state at Raft's applied index */
    int err = chain_marker_take(f->chain, buf, len);
    if (err != CHAIN_OK) {
        log_msg(LOG_LEVEL_ERROR, "snapshot: %s", chain_err_code(err));
        return -1;
    }
    log_msg(LOG_LEVEL_INFO, "snapshot taken at index %llu (%zu bytes)",
            (unsigned long long)chain_applied_index(f->chain), *len);
    return 0;
}

int fsm_restore(replica_fsm *f, const uint8_t *buf, size_t len)
{
    char msg[320];
    chain_marker m;
    int err =
        chain_marker_decode(&m, buf, len, chain_genesis_of(f->chain)->chain_id, msg, sizeof msg);
    if (err != CHAIN_OK) {
        log_msg(LOG_LEVEL_ERROR, "install snapshot: %s: %s", chain_err_code(err), msg);
        return -1;
    }
    inflight_clear(f);
    if (applier_drain(f->ap) != 0)
        return -1;
    if (m.index <= chain_applied_index(f->chain)) {
        log_msg(LOG_LEVEL_INFO, "snapshot installed: index %llu already applied",
                (unsigned long long)m.index);
        return 0;
    }
    log_msg(LOG_LEVEL_INFO, "catching up to height %llu (index %llu) from the other nodes",
            (unsigned long long)m.height, (unsigned long long)m.index);
    catchup_stats st;
    err = catchup_run(f->chain, &m, f->node_id, f->peer_ca, f->stop, &st, msg, sizeof msg);
    if (st.blocks > 0)
        submit_resend_all(f->reg);
    if (committed_from_ledger(f) != 0)
        err = err ? err : CHAIN_ERR_STORAGE;
    if (err != CHAIN_OK) {
        log_msg(atomic_load(f->stop) ? LOG_LEVEL_INFO : LOG_LEVEL_ERROR,
                "install snapshot: caught up from height %llu to %llu only: %s",
                (unsigned long long)st.from_height, (unsigned long long)st.to_height, msg);
        return -1;
    }
    log_msg(LOG_LEVEL_INFO,
            "snapshot installed: height %llu, index %llu (%llu blocks replayed from height "
            "%llu, last from node %llu)",
            (unsigned long long)m.height, (unsigned long long)m.index,
            (unsigned long long)st.blocks, (unsigned long long)st.from_height,
            (unsigned long long)st.source);
    return 0;
}

/* The block the next proposal extends: the newest in flight, else the committed head. */
static void proposal_head(replica_fsm *f, proposal *out)
{
    *out = f->count > 0 ? *inflight_at(f, f->count - 1) : f->committed;
}

/* Builds a block of txs[0..k) on prev; 0 with the block and its id, or a chain_err. */
static int build_on(replica_fsm *f, uint8_t **out, size_t *out_len, proposal *p,
                    const proposal *prev, const uint8_t *const *txs, const size_t *lens, size_t k)
{
    chain_block_header hdr;
    memset(&hdr, 0, sizeof hdr);
    hdr.height = prev->height + 1;
    memcpy(hdr.prev, prev->id, CHAIN_HASH_LEN);
    uint64_t now = wall_ms();
    hdr.time = now > prev->time ? now : prev->time; /* block time never decreases */
    hdr.proposer = f->node_id;

    uint8_t *blk = NULL;
    size_t blk_len = 0;
    int err = chain_block_build(&blk, &blk_len, &hdr, txs, lens, k);
    if (err != CHAIN_OK)
        return err;
    chain_block_header_id(p->id, &hdr); /* build wrote txs_root into hdr */
    p->height = hdr.height;
    p->time = hdr.time;
    *out = blk;
    *out_len = blk_len;
    return CHAIN_OK;
}

int fsm_build(replica_fsm *f, uint8_t **out, size_t *out_len, size_t *used,
              const uint8_t *const *txs, const size_t *lens, size_t n)
{
    assert(fsm_check(f));
    proposal prev;
    if (n == 0)
        return -1;
    proposal_head(f, &prev);

    size_t k = 0, bytes = FSM_BLOCK_SLACK;
    while (k < n && k < CHAIN_BLOCK_TXS_MAX && bytes + lens[k] + 8 <= CHAIN_BLOCK_MAX_BYTES) {
        bytes += lens[k] + 8;
        k++;
    }
    proposal p;
    int err = k > 0 ? build_on(f, out, out_len, &p, &prev, txs, lens, k) : CHAIN_ERR_TOO_LARGE;
    if (err != CHAIN_OK && k > 1) {
        /* one bad tx must not stall the queue: the first alone, then drop it */
        k = 1;
        err = build_on(f, out, out_len, &p, &prev, txs, lens, 1);
    }
    if (err != CHAIN_OK) {
        log_msg(LOG_LEVEL_WARN, "dropping a queued transaction that cannot form a block: %s",
                chain_err_code(err));
        *out = NULL;
        *out_len = 0;
        *used = 0; /* consensus drops txs[0] */
        return 0;
    }
    if (f->count == FSM_INFLIGHT_MAX) {
        /* far ahead of commit: forget the oldest (its apply simply will not match) */
        f->head = (f->head + 1) % FSM_INFLIGHT_MAX;
        f->count--;
    }
    f->leader = true;
    *inflight_at(f, f->count) = p;
    f->count++;
    *used = k;
    return 0;
}

size_t fsm_members(replica_fsm *f, chain_node_info *out, size_t max)
{
    chain_rd *rd;
    if (chain_rd_begin(f->chain, &rd) != CHAIN_OK)
        return 0;
    size_t n = chain_nodes(rd, out, max);
    chain_rd_end(rd);
    return n;
}

void fsm_on_members(replica_fsm *f, void (*fn)(void *ctx, uint64_t height), void *ctx)
{
    applier_on_members(f->ap, fn, ctx);
}

void fsm_leader_changed(replica_fsm *f, bool is_leader)
{
    f->leader = is_leader;
    inflight_clear(f);
    log_msg(LOG_LEVEL_INFO, "%s",
            is_leader ? "this node is now the leader" : "this node is no longer the leader");
}

/* ---- the cons_fsm face of the functions above (consensus thread) ---- */

static int cons_apply(void *ctx, uint64_t index, const void *data, size_t len)
{
    return fsm_apply(ctx, index, data, len);
}

static uint64_t cons_applied_index(void *ctx)
{
    return fsm_applied_index(ctx);
}

static int cons_snapshot(void *ctx, void **buf, size_t *len)
{
    uint8_t *b;
    if (fsm_snapshot(ctx, &b, len) != 0)
        return -1;
    *buf = b;
    return 0;
}

static int cons_restore(void *ctx, const void *buf, size_t len)
{
    return fsm_restore(ctx, buf, len);
}

static int cons_build(void *ctx, const void *const *txs, const size_t *lens, size_t n, void **out,
                      size_t *out_len, size_t *used)
{
    replica_fsm *f = ctx;
    if (disk_full(f->disk))
        return -1; /* no block while the disk is below its reserve: consensus retries */
    uint8_t *b;
    if (fsm_build(ctx, &b, out_len, used, (const uint8_t *const *)txs, lens, n) != 0)
        return -1;
    *out = b;
    return 0;
}

static size_t cons_members(void *ctx, cons_peer *out, size_t max)
{
    chain_node_info nodes[CHAIN_NODES_MAX];
    size_t n = fsm_members(ctx, nodes, CHAIN_NODES_MAX);
    size_t k = 0;
    for (size_t i = 0; i < n && k < max; i++, k++) {
        out[k].id = nodes[i].id;
        snprintf(out[k].addr, sizeof out[k].addr, "%s", nodes[i].raft_addr);
        _Static_assert(sizeof out[k].tls == sizeof nodes[i].tls, "one pinned certificate size");
        memcpy(out[k].tls, nodes[i].tls, nodes[i].tls_len);
        out[k].tls_len = nodes[i].tls_len;
    }
    return k;
}

static void cons_leader_changed(void *ctx, bool is_leader)
{
    fsm_leader_changed(ctx, is_leader);
}

static void cons_leader_moved(void *ctx)
{
    replica_fsm *f = ctx;
    submit_resend_all(f->reg);
}

void fsm_cons(replica_fsm *f, cons_fsm *out)
{
    *out = (cons_fsm){
        .ctx = f,
        .apply = cons_apply,
        .applied_index = cons_applied_index,
        .snapshot = cons_snapshot,
        .restore = cons_restore,
        .build = cons_build,
        .members = cons_members,
        .leader_changed = cons_leader_changed,
        .leader_moved = cons_leader_moved,
    };
}

void fsm_set_disk(replica_fsm *f, disk_watch *d)
{
    f->disk = d;
    applier_set_disk(f->ap, d);
}
