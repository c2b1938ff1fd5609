/*
 * cons_fsm.c — the raft_fsm that libraft calls, adapted to the node's cons_fsm.
 *
 * Index: libraft's raft_fsm.apply gets no index, but applies strictly in order
 * and sets last_applied only after apply returns, so the entry's index is
 * raft_last_applied() + 1 at the time of the call.
 * Replays: after a restart raft re-applies every entry after its snapshot; the
 * FSM already holds everything up to its applied_index() (read at start), so
 * those entries are skipped here, and a snapshot the FSM is already at or past
 * is not restored.
 * Buffers: raft_fsm version 2 with snapshot_finalize, so the node's malloc'd
 * snapshot is handed to raft without a copy and freed here with free().
 * Fatal errors: raft asserts if apply fails, so a failing node apply halts this
 * consensus instance (cons_halt) and reports success to raft, which is frozen
 * from then on; on restart the FSM replays from its own applied index.
 */
#include "consensus/cons_int.h"
#include "log/log.h"

#include <stdlib.h>

static cons *fsm_cons(struct raft_fsm *f)
{
    return f->data;
}

static int rfsm_apply(struct raft_fsm *f, const struct raft_buffer *buf, void **result)
{
    cons *c = fsm_cons(f);
    uint64_t index = raft_last_applied(&c->raft) + 1;
    *result = NULL;
    if (c->state == CONS_HALTED || index <= c->fsm_applied)
        return 0;
    int rv = c->cfg.fsm.apply(c->cfg.fsm.ctx, index, buf->base, buf->len);
    if (rv != 0) {
        cons_halt(c, "fsm apply", rv);
        return 0;
    }
    c->fsm_applied = index;
    return 0;
}

static int rfsm_snapshot(struct raft_fsm *f, struct raft_buffer *bufs[], unsigned *n_bufs)
{
    cons *c = fsm_cons(f);
    void *data = NULL;
    size_t len = 0;
    /* The FSM may be ahead of raft right after a restart (skipped replays):
     * its state would not match the snapshot's index. Wait until caught up. */
    if (c->state == CONS_HALTED || raft_last_applied(&c->raft) < c->fsm_applied)
        return RAFT_BUSY;
    if (c->cfg.fsm.snapshot(c->cfg.fsm.ctx, &data, &len) != 0)
        return RAFT_IOERR;
    if (len > CONS_MSG_MAX - 4096) {
        cons_log_at(c, LOG_LEVEL_WARN, "snapshot of %zu bytes exceeds CONS_MSG_MAX; not taken", len);
        free(data);
        return RAFT_TOOBIG;
    }
    *bufs = raft_malloc(sizeof **bufs);
    if (!*bufs) {
        free(data);
        return RAFT_NOMEM;
    }
    (*bufs)[0].base = data;
    (*bufs)[0].len = len;
    *n_bufs = 1;
    return 0;
}

static int rfsm_snapshot_finalize(struct raft_fsm *f, struct raft_buffer *bufs[], unsigned *n_bufs)
{
    (void)f;
    for (unsigned i = 0; i < *n_bufs; i++)
        free((*bufs)[i].base);
    raft_free(*bufs);
    *bufs = NULL;
    *n_bufs = 0;
    return 0;
}

static int rfsm_restore(struct raft_fsm *f, struct raft_buffer *buf)
{
    cons *c = fsm_cons(f);
    if (c->state != CONS_HALTED) {
        uint64_t have = c->cfg.fsm.applied_index(c->cfg.fsm.ctx);
        if (c->restore_index == 0 || have < c->restore_index) {
            if (c->cfg.fsm.restore(c->cfg.fsm.ctx, buf->base, buf->len) != 0) {
                cons_halt(c, "fsm restore", RAFT_IOERR);
            } else {
                c->fsm_applied = c->restore_index;
            }
        } else if (have > c->fsm_applied) {
            c->fsm_applied = have;
        }
    }
    /* On success raft hands the buffer to the FSM (raft_fsm contract). */
    raft_free(buf->base);
    return 0;
}

void cons_fsm_setup(cons *c)
{
    c->rfsm.version = 2;
    c->rfsm.data = c;
    c->rfsm.apply = rfsm_apply;
    c->rfsm.snapshot = rfsm_snapshot;
    c->rfsm.restore = rfsm_restore;
    c->rfsm.snapshot_finalize = rfsm_snapshot_finalize;
    c->fsm_applied = c->cfg.fsm.applied_index(c->cfg.fsm.ctx);
}
