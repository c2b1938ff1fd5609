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
 *   4. a server nobody wants (not this leader)          -> raft_remove, once
 *      it has stored the commit index at the time of the decision and a few
 *      heartbeats have carried that commit to it (at most
 *      CONS_LEAVE_WAIT_MS for one that does not answer): its own ledger then
 *      holds the node.remove, and the node stops taking part by itself
 *      (cons_retire) instead of campaigning against the rest
 *   5. this leader itself is unwanted                   -> raft_transfer, and
 *      the next leader removes it by rule 4
 * An empty wanted list means "no opinion" and changes nothing, so a node whose
 * chain state is not loaded yet cannot empty the cluster.
 *
 * Health: every node notes when a valid frame last came from each member
 * (cons_members_heard); the leader, which hears from all of them, turns that
 * and libraft's match index into each member's up / last contact / lag, logs a
 * member going silent (warn) and coming back (info), and publishes it in
 * cons_status. lag_ms comes from a history of the leader's last index (a
 * sample at most every CONS_LAG_SAMPLE_MS): the age of the oldest sample past
 * the member's match index.
 */
#include "consensus/cons_int.h"
#include "log/log.h"

#include <stdlib.h>
#include <string.h>

#include "log/log.h"

#define CONS_MEMBERS_PERIOD_MS 200
#define CONS_LEAVE_WAIT_MS     5000 /* longest wait for a leaving member to catch up */
#define CONS_LEAVE_BEATS       4    /* heartbeats after it stored the removal */

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
        if (c->leaving_id != id) {
            c->leaving_id = id;
            c->leaving_since_ms = now_ms;
            c->leaving_index = raft_commit_index(&c->raft);
            c->leaving_ready_ms = 0;
        }
        raft_index match = 0;
        if (raft_match_index(&c->raft, id, &match) == 0 && match >= c->leaving_index &&
            c->leaving_ready_ms == 0)
            c->leaving_ready_ms = now_ms;
        bool told = c->leaving_ready_ms != 0 &&
                    now_ms >= c->leaving_ready_ms + CONS_LEAVE_BEATS * c->cfg.heartbeat_ms;
        if (!told && now_ms < c->leaving_since_ms + CONS_LEAVE_WAIT_MS) {
            c->next_members_ms = now_ms + c->cfg.heartbeat_ms; /* look again soon */
            return;
        }
        cons_log(c, "removing server %llu%s", (unsigned long long)id,
                 told ? "" : " (it did not catch up: it learns of it only from another node)");
        c->leaving_id = 0;
        rv = start_change(c, 2, NULL, id, 0);
        if (rv == 0)
            cons_net_forget(c->net, id);
        goto out;
    }
out:
    if (rv != 0 && rv != RAFT_CANTCHANGE)
        cons_log_at(c, LOG_LEVEL_WARN, "membership change refused: %s", raft_strerror(rv));
}

/* ---- health ------------------------------------------------------------------- */

/* id's slot, else a free one (cleared), else -1. */
static int health_slot(cons *c, uint64_t id)
{
    int free_slot = -1;
    for (int i = 0; i < CONS_PEERS_MAX; i++) {
        if (c->health[i].id == id)
            return i;
        if (free_slot < 0 && c->health[i].id == 0)
            free_slot = i;
    }
    if (free_slot < 0) { /* full of former members: reuse one not in the configuration */
        const struct raft_configuration *conf = &c->raft.configuration;
        for (int i = 0; i < CONS_PEERS_MAX && free_slot < 0; i++) {
            bool in_conf = false;
            for (unsigned j = 0; j < conf->n; j++)
                in_conf |= conf->servers[j].id == c->health[i].id;
            if (!in_conf)
                free_slot = i;
        }
    }
    if (free_slot >= 0)
        memset(&c->health[free_slot], 0, sizeof c->health[free_slot]);
    return free_slot;
}

void cons_members_heard(cons *c, uint64_t id, uint64_t now_ms)
{
    if (id == 0 || id == c->cfg.id)
        return;
    int k = health_slot(c, id);
    if (k < 0)
        return;
    c->health[k].id = id;
    c->health[k].heard_ms = now_ms;
}

static void lag_sample(cons *c, uint64_t last_index, uint64_t now_ms)
{
    if (c->lag_n > 0) {
        unsigned newest = (c->lag_head + c->lag_n - 1) % CONS_LAG_HISTORY;
        if (c->lag_hist[newest].index >= last_index ||
            now_ms < c->lag_hist[newest].ms + CONS_LAG_SAMPLE_MS)
            return;
    }
    if (c->lag_n == CONS_LAG_HISTORY) {
        c->lag_head = (c->lag_head + 1) % CONS_LAG_HISTORY;
        c->lag_n--;
    }
    unsigned at = (c->lag_head + c->lag_n) % CONS_LAG_HISTORY;
    c->lag_hist[at].index = last_index;
    c->lag_hist[at].ms = now_ms;
    c->lag_n++;
}

/* ms since the leader's log first held an index past match (0: none). */
static uint64_t lag_ms_of(const cons *c, uint64_t match, uint64_t last_index, uint64_t now_ms)
{
    if (match >= last_index || c->lag_n == 0)
        return 0;
    for (unsigned i = 0; i < c->lag_n; i++) {
        unsigned at = (c->lag_head + i) % CONS_LAG_HISTORY;
        if (c->lag_hist[at].index > match)
            return now_ms - c->lag_hist[at].ms;
    }
    return 0; /* past the newest sample only by entries appended within CONS_LAG_SAMPLE_MS */
}

void cons_members_health(cons *c, cons_peer_status *peers, size_t n, uint64_t now_ms)
{
    bool leader = raft_state(&c->raft) == RAFT_LEADER;
    if (!leader) {
        c->lead_since_ms = 0;
        c->lag_n = 0;
        for (int i = 0; i < CONS_PEERS_MAX; i++)
            c->health[i].silent = false; /* the next leader reports them afresh */
        for (size_t i = 0; i < n; i++) {
            peers[i].health_known = peers[i].up = false;
            peers[i].last_contact_ms = peers[i].match_index = 0;
            peers[i].lag_entries = peers[i].lag_ms = 0;
        }
        return;
    }
    if (c->lead_since_ms == 0)
        c->lead_since_ms = now_ms;
    uint64_t last = raft_last_index(&c->raft);
    lag_sample(c, last, now_ms);
    for (size_t i = 0; i < n; i++) {
        cons_peer_status *p = &peers[i];
        p->health_known = true;
        if (p->id == c->cfg.id) {
            p->up = true;
            p->last_contact_ms = p->lag_entries = p->lag_ms = 0;
            p->match_index = last;
            continue;
        }
        raft_index match = 0;
        if (raft_match_index(&c->raft, p->id, &match) != 0)
            match = 0;
        int k = health_slot(c, p->id);
        uint64_t heard = k >= 0 ? c->health[k].heard_ms : 0;
        if (heard < c->lead_since_ms)
            heard = c->lead_since_ms; /* a new leader gives everyone one silence period */
        p->last_contact_ms = now_ms - heard;
        p->up = p->last_contact_ms < CONS_MEMBER_SILENT_MS;
        p->match_index = match;
        p->lag_entries = last > match ? last - match : 0;
        p->lag_ms = lag_ms_of(c, match, last, now_ms);
        if (k < 0)
            continue;
        c->health[k].id = p->id;
        if (!p->up && !c->health[k].silent) {
            c->health[k].silent = true;
            c->health[k].silent_since_ms = heard;
            cons_log_at(c, LOG_LEVEL_WARN,
                        "member %llu (%s) silent: no frame for %llu ms (%llu entries behind)",
                        (unsigned long long)p->id, p->addr, (unsigned long long)p->last_contact_ms,
                        (unsigned long long)p->lag_entries);
        } else if (p->up && c->health[k].silent) {
            c->health[k].silent = false;
            cons_log(c, "member %llu (%s) back after %llu ms silent (%llu entries behind)",
                     (unsigned long long)p->id, p->addr,
                     (unsigned long long)(heard - c->health[k].silent_since_ms),
                     (unsigned long long)p->lag_entries);
        }
    }
}

/* ---- leaving ------------------------------------------------------------------ */

void cons_members_retire(cons *c)
{
    if (raft_state(&c->raft) == RAFT_LEADER)
        return; /* cons_members_reconcile rule 5 transfers leadership first */
    cons_log_at(c, LOG_LEVEL_WARN,
                "removed from the network's membership: no longer voting or campaigning");
    c->state = CONS_HALTED;
    pthread_mutex_lock(&c->mu);
    c->halted = true;
    pthread_mutex_unlock(&c->mu);
}
