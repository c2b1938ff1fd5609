/*
 * replica.c — the engine's face: opens the submission registry, the fsm (with
 * its applier) and a consensus member over them, and translates consensus's
 * codes into the engine's own results.
 *
 * Order matters at both ends. Open: registry, fsm (reads the ledger's head
 * and starts the applier), consensus last, since its thread calls the fsm at
 * once; the forwarder sees consensus only after cons_start returned. Close:
 * submitters first (shutdown), then consensus (no more fsm calls), then the
 * fsm (the applier applies what it holds and wakes nobody, since the
 * registry is shut), then the registry.
 */
#include "replica/replica.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "consensus/consensus.h"
#include "log/log.h"
#include "replica/disk.h"
#include "replica/fsm.h"
#include "replica/submit.h"

struct replica {
    uint64_t id;
    chain *chain;
    submit_reg *reg;
    replica_fsm *fsm;
    cons *cons;
    _Atomic(cons *) cons_ready;      /* set once consensus started; read by forwarders */
    atomic_bool stop;                /* shutdown began: a catch-up in progress gives up */
    _Atomic uint64_t removed_height; /* the block that removed this node (0: a member) */
    bool shut;
    disk_watch *disk; /* free space of the data disk against its reserve */
};

const char *replica_result_name(int res)
{
    static const char *const names[] = {
        [REPLICA_COMMITTED] = "committed", [REPLICA_QUEUED] = "queued",
        [REPLICA_REJECTED] = "rejected",   [REPLICA_NO_LEADER] = "no_leader",
        [REPLICA_BUSY] = "busy",           [REPLICA_TIMEOUT] = "timeout",
        [REPLICA_STOPPING] = "stopping",   [REPLICA_REMOVED] = "removed",
        [REPLICA_DISK_FULL] = "disk_full",
    };
    if (res < 0 || (size_t)res >= sizeof names / sizeof names[0])
        return "unknown";
    return names[res];
}

static int result_of_cons(int err)
{
    switch (err) {
    case CONS_OK:
        return REPLICA_QUEUED;
    case CONS_ERR_NO_LEADER:
        return REPLICA_NO_LEADER;
    case CONS_ERR_QUEUE_FULL:
        return REPLICA_BUSY;
    case CONS_ERR_STOPPED:
        return REPLICA_STOPPING;
    default: /* too large / invalid: the precheck lets neither through */
        return REPLICA_BUSY;
    }
}

int replica_forward(replica *r, const uint8_t *tx, size_t len)
{
    if (atomic_load(&r->removed_height))
        return REPLICA_REMOVED;
    cons *c = atomic_load(&r->cons_ready);
    if (!c)
        return REPLICA_NO_LEADER;
    if (disk_full(r->disk))
        return REPLICA_DISK_FULL;
    return result_of_cons(cons_submit(c, tx, len));
}

/* Applier thread, after a block that changed membership: was this node the
 * one removed? Then it says so once, takes no more transactions and leaves
 * consensus (cons_retire: no more elections; a leader hands over first). */
static void members_changed(void *ctx, uint64_t height)
{
    replica *r = ctx;
    if (atomic_load(&r->removed_height))
        return;
    chain_rd *rd;
    chain_node_info self;
    if (chain_rd_begin(r->chain, &rd) != CHAIN_OK)
        return;
    int e = chain_node_get(rd, r->id, &self);
    chain_rd_end(rd);
    if (e != CHAIN_OK || !self.removed)
        return;
    atomic_store(&r->removed_height, height);
    log_msg(LOG_LEVEL_WARN,
            "this node (%llu) was removed from the network at height %llu (node.remove): it "
            "takes no more transactions and leaves consensus; its ledger stays readable",
            (unsigned long long)r->id, (unsigned long long)height);
    cons *c = atomic_load(&r->cons_ready);
    if (c)
        cons_retire(c);
}

static int forward_cb(void *ctx, const uint8_t *tx, size_t len)
{
    return replica_forward(ctx, tx, len);
}

/* The voters consensus starts with: the ledger's nodes, this one at the
 * address it was given, and this one added when it is not listed (joining).
 * Another node listed at this node's own address is a former member whose
 * machine this one took over (its removal is in blocks this node has not
 * fetched yet): it is left out, since the address is this node's now. */
static void initial_peers(replica *r, const replica_config *cfg, cons_config *cc)
{
    chain_node_info members[CHAIN_NODES_MAX];
    size_t nm = fsm_members(r->fsm, members, CHAIN_NODES_MAX);
    bool listed = false;
    for (size_t i = 0; i < nm && cc->npeers < CONS_PEERS_MAX; i++) {
        if (members[i].id != cfg->id && strcmp(members[i].raft_addr, cfg->raft_addr) == 0) {
            log_msg(LOG_LEVEL_WARN,
                    "node %llu is listed at this node's address %s in the ledger as known here; "
                    "taking the address over (its removal comes with the blocks to fetch)",
                    (unsigned long long)members[i].id, cfg->raft_addr);
            continue;
        }
        cons_peer *p = &cc->peers[cc->npeers++];
        p->id = members[i].id;
        listed |= members[i].id == cfg->id;
        snprintf(p->addr, sizeof p->addr, "%s",
                 members[i].id == cfg->id ? cfg->raft_addr : members[i].raft_addr);
        _Static_assert(sizeof p->tls == sizeof members[i].tls, "one pinned certificate size");
        memcpy(p->tls, members[i].tls, members[i].tls_len);
        p->tls_len = members[i].tls_len;
    }
    if (!listed && cc->npeers < CONS_PEERS_MAX) {
        cons_peer *p = &cc->peers[cc->npeers++];
        p->id = cfg->id;
        snprintf(p->addr, sizeof p->addr, "%s", cfg->raft_addr);
    }
}

int replica_open(replica **out, chain *c, const replica_config *cfg, char *errmsg,
                 size_t errmsg_len)
{
    char msg[384];
    replica *r = calloc(1, sizeof *r);
    if (!r) {
        snprintf(errmsg, errmsg_len, "out of memory");
        return -1;
    }
    r->id = cfg->id;
    r->chain = c;
    if (!(r->disk = disk_watch_new(cfg->data_dir, cfg->disk_reserve))) {
        snprintf(errmsg, errmsg_len, "out of memory");
        goto fail;
    }
    if (submit_reg_new(&r->reg, c, chain_genesis_of(c)->chain_id, forward_cb, r) != CHAIN_OK ||
        fsm_new(&r->fsm, c, cfg->id, r->reg, &r->stop) != CHAIN_OK ||
        fsm_set_peer_ca(r->fsm, cfg->peer_ca) != 0) {
        snprintf(errmsg, errmsg_len, "out of memory");
        goto fail;
    }
    cons_config cc;
    memset(&cc, 0, sizeof cc);
    cc.id = cfg->id;
    _Static_assert(sizeof cc.chain_id == sizeof cfg->chain_id, "one chain id length");
    memcpy(cc.chain_id, cfg->chain_id, sizeof cc.chain_id);
    cc.data_dir = cfg->data_dir;
    cc.tls_file = cfg->tls_file;
    initial_peers(r, cfg, &cc);
    cc.join = cfg->join;
    cc.block_linger_us = cfg->block_linger_us;
    cc.snapshot_threshold = cfg->snapshot_threshold;
    if (cc.snapshot_threshold > 0 && cc.snapshot_threshold < 256)
        cc.snapshot_trailing = cc.snapshot_threshold / 2; /* small thresholds: tests */
    fsm_set_disk(r->fsm, r->disk);
    fsm_on_members(r->fsm, members_changed, r);
    fsm_cons(r->fsm, &cc.fsm);
    if (cons_start(&r->cons, &cc, msg, sizeof msg) != 0) {
        snprintf(errmsg, errmsg_len, "start consensus on %s (%s/raft): %s", cfg->raft_addr,
                 cfg->data_dir, msg);
        goto fail;
    }
    atomic_store(&r->cons_ready, r->cons);
    if (atomic_load(&r->removed_height)) /* removed while consensus was starting */
        cons_retire(r->cons);
    log_msg(LOG_LEVEL_INFO, "raft listening on %s (%zu members known%s)", cfg->raft_addr, cc.npeers,
            cfg->join ? ", joining" : "");
    *out = r;
    return 0;
fail:
    replica_close(r);
    return -1;
}

int replica_submit(replica *r, chain_receipt *receipt, const uint8_t *tx, size_t len,
                   unsigned wait_ms)
{
    if (disk_full(r->disk)) {
        memset(receipt, 0, sizeof *receipt);
        return REPLICA_DISK_FULL;
    }
    return submit_tx(r->reg, receipt, tx, len, wait_ms);
}

void replica_submit_async(replica *r, const uint8_t *tx, size_t len, unsigned wait_ms,
                          replica_done_fn done, void *ctx)
{
    if (disk_full(r->disk)) {
        chain_receipt rc;
        memset(&rc, 0, sizeof rc);
        done(ctx, REPLICA_DISK_FULL, &rc);
        return;
    }
    submit_tx_async(r->reg, tx, len, wait_ms, done, ctx);
}

void replica_set_latency(replica *r, void (*fn)(void *ctx, uint64_t usec), void *ctx)
{
    submit_reg_set_latency(r->reg, fn, ctx);
}

bool replica_disk_full(replica *r)
{
    return r && disk_full(r->disk);
}

void replica_status_get(replica *r, replica_status *out)
{
    memset(out, 0, sizeof *out);
    out->role = -1;
    out->role_name = "stopped";
    if (!r)
        return;
    out->id = r->id;
    out->waiting = submit_waiting(r->reg);
    disk_state(r->disk, &out->disk_full, &out->disk_free, &out->disk_reserve);
    out->removed_height = atomic_load(&r->removed_height);
    cons *c = atomic_load(&r->cons_ready);
    if (!c)
        return;
    cons_status st;
    cons_status_get(c, &st);
    out->leader_id = st.leader_id;
    out->term = st.term;
    out->commit_index = st.commit_index;
    out->last_applied = st.last_applied;
    out->role = st.stopped ? -1 : st.role;
    out->role_name = out->removed_height && st.stopped ? "removed"
                     : st.stopped                      ? "stopped"
                                                       : cons_role_name(st.role);
    out->links.tls = st.tls;
    out->links.malformed = st.msgs_malformed;
    out->links.other_chain = st.msgs_other_chain;
    out->links.refused = st.msgs_refused;
    out->links.unauthenticated = st.msgs_unauthenticated;
    out->links.wrong_sender = st.msgs_wrong_sender;
    out->links.hellos_refused = st.hellos_refused;
    out->links.pin_changes = st.tls_pin_changes;
    out->links.rebuilt = st.links_rebuilt;
    size_t np = st.npeers < CHAIN_NODES_MAX ? st.npeers : CHAIN_NODES_MAX;
    out->npeers = np;
    for (size_t i = 0; i < np; i++) {
        out->peers[i].id = st.peers[i].id;
        snprintf(out->peers[i].raft_addr, sizeof out->peers[i].raft_addr, "%s", st.peers[i].addr);
        out->peers[i].voter = st.peers[i].voter;
        out->peers[i].health_known = st.peers[i].health_known;
        out->peers[i].up = st.peers[i].up;
        out->peers[i].last_contact_ms = st.peers[i].last_contact_ms;
        out->peers[i].match_index = st.peers[i].match_index;
        out->peers[i].lag_entries = st.peers[i].lag_entries;
        out->peers[i].lag_ms = st.peers[i].lag_ms;
    }
}

uint64_t replica_removed_height(replica *r)
{
    return r ? atomic_load(&r->removed_height) : 0;
}

void replica_shutdown(replica *r)
{
    if (!r || r->shut)
        return;
    r->shut = true;
    atomic_store(&r->stop, true);
    if (r->reg)
        submit_reg_shutdown(r->reg);
}

void replica_close(replica *r)
{
    if (!r)
        return;
    replica_shutdown(r);
    if (r->cons) {
        atomic_store(&r->cons_ready, NULL);
        cons_stop(r->cons);
    }
    fsm_free(r->fsm);
    submit_reg_free(r->reg);
    disk_watch_free(r->disk);
    free(r);
}
