/*
 * cons_members.c — the leader steers the Raft configuration toward the voting
 * membership that the replicated chain state asks for (cons_fsm.members).
 *
 * One change at a time (raft allows a single uncommitted configuration), chosen
 * in this order, re-evaluated every CONS_MEMBERS_PERIOD_MS:
 *   1. a wanted server missing from the configuration  -> raft_add (spare)
 *   2. a wanted spare                                   -> raft_assign standby
 *   3. a wanted standby                                 -> raft_assign voter;
 *      libraft first runs catch-up rounds (raft_catch_up) and only then commits
 *      the promotion, so a lagging node never joins the quorum
 *   4. a server nobody wants (not this leader)          -> raft_remove
 *   5. this leader itself is unwanted                   -> raft_transfer, and
 *      the next leader removes it by rule 4
 * An empty wanted list means "no opinion" and changes nothing, so a node whose
 * chain state is not loaded yet cannot empty the cluster.
 */
#include "consensus/cons_int.h"
#include "log/log.h"

#include <stdlib.h>
#include <string.h>

#define CONS_MEMBERS_PERIOD_MS 200

static void change_cb(struct raft_change *req, int status)
{
    cons *c = req->data;
    if (status != 0)
        cons_log_at(c, LOG_LEVEL_WARN, "membership change: %s", raft_strerror(status));
    c->change_pending = false;
    free(req);
}

static void transfer_cb(struct raft_transfer *req)
{
    free(req);
}

static const cons_peer *wanted_find(const cons_peer *w, size_t n, uint64_t id)
{
    for (size_t i = 0; i < n; i++)
        if (w[i].id == id)
            return &w[i];
    return NULL;
}

static int start_change(cons *c, int kind, const cons_peer *p, uint64_t id, int role)
{
    struct raft_change *req = calloc(1, sizeof *req);
    if (!req)
        return RAFT_NOMEM;
    req->data = c;
    int rv;
    switch (kind) {
    case 0:
        rv = raft_add(&c->raft, req, p->id, p->addr, change_cb);
        break;
    case 1:
        rv = raft_assign(&c->raft, req, id, role, change_cb);
        break;
    default:
        rv = raft_remove(&c->raft, req, id, change_cb);
        break;
    }
    if (rv != 0) {
        free(req);
        return rv;
    }
    c->change_pending = true;
    return 0;
}

void cons_members_reconcile(cons *c, uint64_t now_ms)
{
    if (!c->cfg.fsm.members || c->change_pending || now_ms < c->next_members_ms)
        return;
    c->next_members_ms = now_ms + CONS_MEMBERS_PERIOD_MS;
    cons_peer want[CONS_PEERS_MAX];
    size_t nw = c->cfg.fsm.members(c->cfg.fsm.ctx, want, CONS_PEERS_MAX);
    if (nw == 0 || nw > CONS_PEERS_MAX)
        return;
    for (size_t i = 0; i < nw; i++)
        want[i].addr[CONS_ADDR_MAX - 1] = 0;
    const struct raft_configuration *conf = &c->raft.configuration;
    int rv = 0;

    for (size_t i = 0; i < nw; i++) {
        const struct raft_server *s = NULL;
        if (want[i].id == 0 || want[i].addr[0] == 0)
            continue;
        for (unsigned j = 0; j < conf->n; j++)
            if (conf->servers[j].id == want[i].id)
                s = &conf->servers[j];
        if (!s) {
            if (conf->n >= CONS_PEERS_MAX)
                return;
            cons_log(c, "adding server %llu (%s) as spare", (unsigned long long)want[i].id,
                     want[i].addr);
            rv = start_change(c, 0, &want[i], 0, 0);
            goto out;
        }
        if (s->role == RAFT_SPARE) {
            rv = start_change(c, 1, NULL, s->id, RAFT_STANDBY);
            goto out;
        }
        if (s->role == RAFT_STANDBY) {
            cons_log(c, "promoting server %llu to voter (after catch-up)",
                     (unsigned long long)s->id);
            rv = start_change(c, 1, NULL, s->id, RAFT_VOTER);
            goto out;
        }
    }
    for (unsigned j = 0; j < conf->n; j++) {
        raft_id id = conf->servers[j].id;
        if (wanted_find(want, nw, id))
            continue;
        if (id == c->raft.id) {
            struct raft_transfer *t = calloc(1, sizeof *t);
            if (t && raft_transfer(&c->raft, t, 0, transfer_cb) != 0)
                free(t);
            return;
        }
        cons_log(c, "removing server %llu", (unsigned long long)id);
        rv = start_change(c, 2, NULL, id, 0);
        if (rv == 0)
            cons_net_forget(c->net, id);
        goto out;
    }
out:
    if (rv != 0 && rv != RAFT_CANTCHANGE)
        cons_log_at(c, LOG_LEVEL_WARN, "membership change refused: %s", raft_strerror(rv));
}
