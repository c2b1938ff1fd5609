/*
 * cons_loop.c — the consensus thread: the only caller of raft.
 *
 * One iteration (cons_loop_main):
 *   wait on cv until a frame or tx arrives, the tick is due, the oldest staged
 *   tx has lingered long enough, or stop is asked for;
 *   deliver every queued frame to raft (recv) and fire the tick if due;
 *   leader: propose blocks (propose_blocks); follower: forward txs (forward_txs);
 *   cons_io_flush: one LMDB commit for all disk writes raft asked for, then
 *   their callbacks (which may complete commits and so applies);
 *   check_leadership: barrier on a new term, leader_changed notices;
 *   publish cons_status for other threads.
 * Batching: txs move from the shared ring (filled by cons_submit and by
 * forwarded frames) to a private stage; a block is built at once when no block
 * is in flight, else when the stage holds block_max_txs, or block_max_bytes, or
 * its oldest tx is block_linger_us old.
 * Up to CONS_INFLIGHT_MAX blocks are in flight (pipelined) at once.
 */
#include "consensus/cons_int.h"
#include "consensus/cons_tls.h"
#include "log/log.h"

#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Every line goes through log/ (time, level, the operator's --log-format);
 * "consensus[N]: " names the member, so lines of several nodes in one test
 * log stay apart. */
static void cons_vlog(cons *c, int level, const char *fmt, va_list ap)
{
    char line[512];
    vsnprintf(line, sizeof line, fmt, ap);
    if (getenv("PROVENA_CONS_QUIET"))
        return;
    log_msg(level, "consensus[%llu]: %s", (unsigned long long)c->cfg.id, line);
}

void cons_log(cons *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    cons_vlog(c, LOG_LEVEL_INFO, fmt, ap);
    va_end(ap);
}

void cons_log_at(cons *c, int level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    cons_vlog(c, level, fmt, ap);
    va_end(ap);
}

void cons_halt(cons *c, const char *why, int code)
{
    if (c->state == CONS_HALTED)
        return;
    cons_log_at(c, LOG_LEVEL_ERROR, "halted: %s: %s", why, raft_strerror(code));
    c->state = CONS_HALTED;
    pthread_mutex_lock(&c->mu);
    c->halted = true;
    pthread_mutex_unlock(&c->mu);
}

/* ---- leader: blocks ----------------------------------------------------------- */

static void apply_cb(struct raft_apply *req, int status, void *result)
{
    cons *c = req->data;
    (void)result;
    (void)status; /* LEADERSHIPLOST = outcome unknown: the node dedups by tx hash */
    assert(c->inflight > 0);
    c->inflight--;
    free(req);
}

/* Move txs from the shared ring to the stage, up to block_max_txs. */
static void stage_fill(cons *c)
{
    pthread_mutex_lock(&c->mu);
    while (c->nstage < c->cfg.block_max_txs && c->txq_n > 0) {
        c->stage[c->nstage++] = c->txq[c->txq_head];
        c->txq_head = (c->txq_head + 1) % c->cfg.queue_max;
        c->txq_n--;
    }
    c->staged = c->nstage;
    pthread_mutex_unlock(&c->mu);
}

static void stage_drop(cons *c, size_t k)
{
    assert(k <= c->nstage);
    for (size_t i = 0; i < k; i++)
        free(c->stage[i].p);
    memmove(c->stage, c->stage + k, (c->nstage - k) * sizeof *c->stage);
    c->nstage -= k;
    pthread_mutex_lock(&c->mu);
    c->staged = c->nstage;
    pthread_mutex_unlock(&c->mu);
}

/* How many staged txs fit block_max_bytes (at least one). */
static size_t stage_prefix(const cons *c, size_t *bytes)
{
    size_t n = 0, b = 0;
    while (n < c->nstage && (n == 0 || b + c->stage[n].len <= c->cfg.block_max_bytes))
        b += c->stage[n++].len;
    *bytes = b;
    return n;
}

/* Adaptive batching: with nothing in flight a block goes out at once (no
 * latency added at low load); while blocks are in flight, txs gather until a
 * size limit or the linger deadline, so load turns into bigger blocks. */
static bool block_due(const cons *c, uint64_t now_us)
{
    if (c->nstage == 0 || now_us < c->build_retry_us)
        return false;
    if (c->inflight == 0)
        return true;
    size_t bytes, n = stage_prefix(c, &bytes);
    return n < c->nstage || n >= c->cfg.block_max_txs || bytes >= c->cfg.block_max_bytes ||
           now_us >= c->stage[0].t_us + c->cfg.block_linger_us;
}

static void propose_blocks(cons *c)
{
    const void *txs[1024];
    size_t lens[1024];
    for (;;) {
        stage_fill(c);
        if (c->inflight >= CONS_INFLIGHT_MAX || !block_due(c, cons_now_us()))
            return;
        size_t bytes, n = stage_prefix(c, &bytes);
        const void **tp = n <= 1024 ? txs : malloc(n * sizeof *tp);
        size_t *lp = n <= 1024 ? lens : malloc(n * sizeof *lp);
        if (!tp || !lp) {
            if (tp != txs)
                free(tp);
            if (lp != lens)
                free(lp);
            return;
        }
        for (size_t i = 0; i < n; i++) {
            tp[i] = c->stage[i].p;
            lp[i] = c->stage[i].len;
        }
        void *out = NULL;
        size_t out_len = 0, used = 0;
        int rv = c->cfg.fsm.build(c->cfg.fsm.ctx, tp, lp, n, &out, &out_len, &used);
        if (tp != txs)
            free(tp);
        if (lp != lens)
            free(lp);
        if (rv != 0) {
            free(out);
            c->build_retry_us = cons_now_us() + c->cfg.block_linger_us + 1000;
            return; /* retried after a pause */
        }
        if (used == 0) {
            cons_log_at(c, LOG_LEVEL_WARN, "dropping a transaction of %zu bytes: fits no block",
                        c->stage[0].len);
            free(out);
            c->txs_dropped++;
            stage_drop(c, 1);
            continue;
        }
        if (used > n || out_len == 0 || out_len > CONS_ENTRY_MAX) {
            cons_log_at(c, LOG_LEVEL_WARN, "build returned %zu/%zu txs in %zu bytes: refused", used,
                        n, out_len);
            free(out);
            c->build_retry_us = cons_now_us() + c->cfg.block_linger_us + 1000;
            return;
        }
        /* raft_apply needs raft_malloc'd memory; the node's block is malloc'd.
         * libraft 0.22's raft_apply, failing after it put the entry in its
         * log (io->append failing), frees the buffer itself, while failing
         * before (not leader, no capacity) it leaves it to us: with room for
         * the append reserved first, its failures are only the second kind. */
        struct raft_buffer buf = {raft_malloc(out_len), out_len};
        struct raft_apply *req = calloc(1, sizeof *req);
        if (!buf.base || !req || cons_io_reserve(c, 2) != 0) {
            raft_free(buf.base);
            free(req);
            free(out);
            return;
        }
        memcpy(buf.base, out, out_len);
        free(out);
        req->data = c;
        rv = raft_apply(&c->raft, req, &buf, 1, apply_cb);
        if (rv != 0) {
            cons_log_at(c, LOG_LEVEL_WARN, "propose: %s", raft_strerror(rv));
            raft_free(buf.base);
            free(req);
            c->build_retry_us = cons_now_us() + 100000; /* e.g. RAFT_NOSPACE: back off */
            return; /* txs stay staged: forwarded to the next leader */
        }
        c->inflight++;
        c->blocks_proposed++;
        stage_drop(c, used);
    }
}

/* ---- follower: forwarding ------------------------------------------------------ */

static void forward_txs(cons *c, uint64_t leader_id, const char *leader_addr)
{
    for (;;) {
        stage_fill(c);
        if (c->nstage == 0)
            return;
        const uint8_t *txs[CONS_FORWARD_MAX_TXS];
        size_t lens[CONS_FORWARD_MAX_TXS], n = 0, bytes = 0;
        while (n < c->nstage && n < CONS_FORWARD_MAX_TXS &&
               (n == 0 || bytes + c->stage[n].len <= CONS_FWD_BYTES)) {
            txs[n] = c->stage[n].p;
            lens[n] = c->stage[n].len;
            bytes += lens[n++];
        }
        uint8_t *buf;
        size_t len;
        if (cons_codec_encode_forward(&buf, &len, c->cfg.chain_id, c->cfg.id, c->addr, txs, lens,
                                      n) != 0)
            return;
        cons_net_send(c->net, leader_id, leader_addr, CONS_KIND_FORWARD, buf, len);
        c->txs_forwarded += n;
        stage_drop(c, n);
    }
}

/* ---- leadership ---------------------------------------------------------------- */

static void barrier_cb(struct raft_barrier *req, int status)
{
    cons *c = req->data;
    free(req);
    c->barrier_pending = false;
    if (status != 0 || raft_state(&c->raft) != RAFT_LEADER ||
        raft_current_term(&c->raft) != c->leader_term || c->ready)
        return;
    c->ready = true;
    c->next_members_ms = 0;
    if (c->cfg.fsm.leader_changed)
        c->cfg.fsm.leader_changed(c->cfg.fsm.ctx, true);
}

static void check_leadership(cons *c)
{
    bool leader = raft_state(&c->raft) == RAFT_LEADER;
    uint64_t term = raft_current_term(&c->raft);
    if (c->ready && (!leader || term != c->leader_term)) {
        c->ready = false;
        if (c->cfg.fsm.leader_changed)
            c->cfg.fsm.leader_changed(c->cfg.fsm.ctx, false);
    }
    if (leader && (!c->was_leader || term != c->leader_term)) {
        c->leader_term = term;
        cons_log(c, "leader for term %llu", (unsigned long long)term);
    }
    c->was_leader = leader;
    raft_id lid;
    const char *laddr;
    raft_leader(&c->raft, &lid, &laddr);
    if (lid && lid != c->last_leader) {
        bool moved = c->last_leader != 0;
        c->last_leader = lid;
        if (moved && c->cfg.fsm.leader_moved)
            c->cfg.fsm.leader_moved(c->cfg.fsm.ctx);
    }
    if (leader && !c->ready && !c->barrier_pending && c->state == CONS_RUNNING) {
        struct raft_barrier *req = calloc(1, sizeof *req);
        if (!req)
            return;
        req->data = c;
        int rv = raft_barrier(&c->raft, req, barrier_cb);
        if (rv == 0) {
            c->barrier_pending = true;
        } else {
            cons_log_at(c, LOG_LEVEL_WARN, "barrier: %s", raft_errmsg(&c->raft));
            free(req);
        }
    }
}

/* ---- status --------------------------------------------------------------------- */

/* Frames of another network, and malformed ones, are dropped on the
 * receiving nng thread; the lines saying so are written here, at most one of
 * each a second. */
static void log_net_refusals(cons *c, const cons_net_stats *ns)
{
    uint64_t now = cons_now_ms();
    if (ns->rx_other_chain != c->other_chain_logged && now >= c->other_chain_log_ms + 1000) {
        cons_log_at(c, LOG_LEVEL_WARN,
                    "refused %llu frame(s) from another network (chain id %016llx..., this "
                    "network's %02x%02x%02x%02x...)",
                    (unsigned long long)(ns->rx_other_chain - c->other_chain_logged),
                    (unsigned long long)ns->other_chain_head, c->cfg.chain_id[0],
                    c->cfg.chain_id[1], c->cfg.chain_id[2], c->cfg.chain_id[3]);
        c->other_chain_logged = ns->rx_other_chain;
        c->other_chain_log_ms = now;
    }
    if (ns->rx_malformed != c->malformed_logged && now >= c->malformed_log_ms + 1000) {
        cons_log_at(c, LOG_LEVEL_WARN, "dropped %llu malformed frame(s) (cons_codec refused them)",
                    (unsigned long long)(ns->rx_malformed - c->malformed_logged));
        c->malformed_logged = ns->rx_malformed;
        c->malformed_log_ms = now;
    }
    /* frames before a HELLO are normal right after a peer (re)connects (those
     * queued while it was away): counted, and said only beside a refusal */
    const uint64_t tls[3] = {ns->hellos_refused, ns->rx_unauth, ns->rx_wrong_sender};
    if ((tls[0] != c->tls_logged[0] || tls[2] != c->tls_logged[2]) && now >= c->tls_log_ms + 1000) {
        cons_log(c,
                 "TLS: refused %llu HELLO(s) (key not pinned for the id claimed, bad signature, "
                 "wrong receiver, clock off by more than %d s), dropped %llu frame(s) before a "
                 "HELLO and %llu naming another sender than their connection's",
                 (unsigned long long)(tls[0] - c->tls_logged[0]), CONS_HELLO_SKEW_MS / 1000,
                 (unsigned long long)(tls[1] - c->tls_logged[1]),
                 (unsigned long long)(tls[2] - c->tls_logged[2]));
        memcpy(c->tls_logged, tls, sizeof tls);
        c->tls_log_ms = now;
    }
}

/* Updates c->status in place, once per loop iteration: the peer list (the
 * bulk of it) is rewritten only when the configuration's servers change. */
static void publish_status(cons *c)
{
    struct { /* the scalar part, gathered before taking the lock */
        uint64_t leader_id, term, commit_index, last_applied, last_index;
        int role;
    } st = {0};
    const struct raft_configuration *conf = NULL;
    if (c->raft_started && c->state != CONS_CLOSED) {
        raft_id lid;
        const char *laddr;
        raft_leader(&c->raft, &lid, &laddr);
        st.leader_id = lid;
        st.term = raft_current_term(&c->raft);
        st.commit_index = raft_commit_index(&c->raft);
        st.last_applied = raft_last_applied(&c->raft);
        st.last_index = raft_last_index(&c->raft);
        switch (raft_state(&c->raft)) {
        case RAFT_CANDIDATE:
            st.role = 1;
            break;
        case RAFT_LEADER:
            st.role = 2;
            break;
        default:
            st.role = 0;
        }
        conf = &c->raft.configuration;
    }
    cons_net_stats ns;
    cons_net_stats_get(c->net, &ns);
    log_net_refusals(c, &ns);
    pthread_mutex_lock(&c->mu);
    cons_status *out = &c->status;
    size_t np = conf == NULL ? 0 : conf->n < CONS_PEERS_MAX ? conf->n : CONS_PEERS_MAX;
    bool same = out->npeers == np;
    for (size_t i = 0; same && i < np; i++)
        same =
            out->peers[i].id == conf->servers[i].id &&
            out->peers[i].raft_role == conf->servers[i].role &&
            strncmp(out->peers[i].addr, conf->servers[i].address, sizeof out->peers[i].addr) == 0;
    if (!same) {
        for (size_t i = 0; i < np; i++) {
            cons_peer_status *p = &out->peers[i];
            p->id = conf->servers[i].id;
            snprintf(p->addr, sizeof p->addr, "%s", conf->servers[i].address);
            p->raft_role = conf->servers[i].role;
            p->voter = conf->servers[i].role == RAFT_VOTER;
        }
        out->npeers = np;
    }
    if (conf != NULL)
        cons_members_health(c, out->peers, np, cons_now_ms());
    out->id = c->cfg.id;
    out->leader_id = st.leader_id;
    out->term = st.term;
    out->commit_index = st.commit_index;
    out->last_applied = st.last_applied;
    out->last_index = st.last_index;
    out->role = st.role;
    out->blocks_proposed = c->blocks_proposed;
    out->txs_forwarded = c->txs_forwarded;
    out->msgs_malformed = ns.rx_malformed;
    out->msgs_other_chain = ns.rx_other_chain;
    out->msgs_refused = c->msgs_refused;
    out->tls = ns.tls;
    out->msgs_unauthenticated = ns.rx_unauth;
    out->msgs_wrong_sender = ns.rx_wrong_sender;
    out->hellos_refused = ns.hellos_refused;
    out->tls_pin_changes = ns.pin_changes;
    out->links_rebuilt = ns.links_rebuilt;
    out->msgs_dropped = ns.tx_dropped + c->inbox_dropped;
    out->queued = c->txq_n + c->nstage;
    out->stopped = c->halted || c->stop_req;
    pthread_mutex_unlock(&c->mu);
}

/* ---- the loop ------------------------------------------------------------------- */

/* Invariants the loop relies on between iterations. */
__attribute__((unused)) static bool cons_check(const cons *c)
{
    return c->state >= CONS_RUNNING && c->state <= CONS_HALTED &&
           c->inflight <= CONS_INFLIGHT_MAX && c->nstage <= c->cfg.block_max_txs &&
           (!c->ready || c->was_leader) && c->txq_n <= c->cfg.queue_max;
}

static void raft_closed_cb(struct raft *r)
{
    (void)r;
}

static void wait_for_work(cons *c, uint64_t deadline_ms, bool linger_armed, uint64_t linger_us)
{
    uint64_t until_us = deadline_ms * 1000u;
    if (linger_armed && linger_us < until_us)
        until_us = linger_us;
    /* a stop already being handled (leadership transfer, close) is not news:
     * waking for it again would spin until the transfer ends */
    bool stop_news = c->state == CONS_RUNNING;
    pthread_mutex_lock(&c->mu);
    while (c->inbox_n == 0 && !(c->stop_req && stop_news) && !c->kick && cons_now_us() < until_us) {
        uint64_t left = until_us - cons_now_us();
        if (left > until_us)
            break;
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        uint64_t ns = (uint64_t)ts.tv_nsec + (left % 1000000u) * 1000u;
        ts.tv_sec += (time_t)(left / 1000000u + ns / 1000000000u);
        ts.tv_nsec = (long)(ns % 1000000000u);
        if (pthread_cond_timedwait(&c->cv, &c->mu, &ts) == ETIMEDOUT)
            break;
    }
    c->kick = false;
    pthread_mutex_unlock(&c->mu);
}

static void deliver_inbox(cons *c)
{
    cons_wire *batch[256];
    for (;;) {
        size_t n = 0;
        pthread_mutex_lock(&c->mu);
        while (n < 256 && c->inbox_n > 0) {
            batch[n++] = c->inbox[c->inbox_head];
            c->inbox_head = (c->inbox_head + 1) % CONS_INBOX_MAX;
            c->inbox_n--;
        }
        pthread_mutex_unlock(&c->mu);
        if (n == 0)
            return;
        for (size_t i = 0; i < n; i++) {
            bool install_busy = batch[i]->kind == RAFT_INSTALL_SNAPSHOT &&
                                (c->snapshot_puts > 0 || c->raft.legacy.snapshot_taking);
            if (install_busy)
                c->installs_dropped_busy++;
            if (c->recv_cb && (c->state == CONS_RUNNING || c->state == CONS_TRANSFER) &&
                !install_busy && cons_guard_frame(c, batch[i])) {
                /* raft owns entries/batch and snapshot data from here on */
                cons_members_heard(c, batch[i]->msg.server_id, cons_now_ms());
                /* libraft ignores a TimeoutNow (a leader handing over) while an
                 * append is being persisted, and the leader sends it once:
                 * finish the entries of this batch first */
                if (batch[i]->kind == RAFT_TIMEOUT_NOW)
                    cons_io_flush(c);
                cons_guard_append_entries(&c->raft, &batch[i]->msg);
                c->recv_cb(&c->io, &batch[i]->msg);
            } else {
                cons_wire_release(batch[i]);
            }
            free(batch[i]);
        }
        cons_io_flush(c);
    }
}

static void transfer_done_cb(struct raft_transfer *req)
{
    cons *c = req->data;
    c->transfer_done = true;
    free(req);
}

/* cons_stop() asked: hand leadership over (bounded), then close raft. */
static void handle_stop(cons *c, uint64_t now)
{
    if (c->state == CONS_RUNNING) {
        c->stop_deadline_ms = now + c->cfg.election_ms + 1000;
        c->state = CONS_TRANSFER;
        c->transfer_done = true;
        if (raft_state(&c->raft) == RAFT_LEADER) {
            struct raft_transfer *t = calloc(1, sizeof *t);
            if (t) {
                t->data = c;
                c->transfer_done = false;
                int rv = raft_transfer(&c->raft, t, 0, transfer_done_cb);
                if (rv != 0) {
                    free(t);
                    c->transfer_done = true;
                    cons_log_at(c, LOG_LEVEL_WARN, "stopping: leadership transfer refused: %s",
                                raft_strerror(rv));
                } else {
                    c->transfer_from_ms = now;
                    cons_log(c, "stopping: handing leadership to %llu",
                             (unsigned long long)raft_transferee(&c->raft));
                }
            }
        }
    }
    /* the transfer is over once another node leads: this one is a follower
     * (libraft's transfer callback may come only later) */
    bool handed = c->transfer_from_ms && raft_state(&c->raft) != RAFT_LEADER;
    if (c->state == CONS_TRANSFER && (c->transfer_done || handed || now >= c->stop_deadline_ms)) {
        if (c->transfer_from_ms) {
            raft_id lid;
            const char *laddr;
            raft_leader(&c->raft, &lid, &laddr);
            if (handed)
                cons_log(c, "stopping: leadership handed over in %llu ms (leader now %llu)",
                         (unsigned long long)(now - c->transfer_from_ms), (unsigned long long)lid);
            else
                cons_log_at(c, LOG_LEVEL_WARN,
                            "stopping: leadership transfer did not complete in %llu ms",
                            (unsigned long long)(now - c->transfer_from_ms));
        }
        if (c->ready && c->cfg.fsm.leader_changed)
            c->cfg.fsm.leader_changed(c->cfg.fsm.ctx, false);
        c->ready = false;
        c->state = CONS_CLOSING;
        pthread_mutex_lock(&c->mu);
        c->frames_off = true;
        pthread_mutex_unlock(&c->mu);
        raft_close(&c->raft, raft_closed_cb);
    }
    if (c->state == CONS_HALTED && !c->close_cb) {
        pthread_mutex_lock(&c->mu);
        c->frames_off = true;
        pthread_mutex_unlock(&c->mu);
        raft_close(&c->raft, raft_closed_cb);
    }
}

void *cons_loop_main(void *arg)
{
    cons *c = arg;
    while (c->state != CONS_CLOSED) {
        assert(cons_check(c));
        uint64_t now = cons_now_ms();
        bool linger = c->ready && c->nstage > 0 && c->state == CONS_RUNNING;
        uint64_t linger_at = !linger || c->inflight == 0
                                 ? 0 /* due now */
                                 : c->stage[0].t_us + c->cfg.block_linger_us;
        if (linger && linger_at < c->build_retry_us)
            linger_at = c->build_retry_us;
        uint64_t deadline = c->tick_cb && c->state != CONS_HALTED ? c->next_tick_ms : now + 50;
        if (c->state == CONS_TRANSFER && c->stop_deadline_ms < deadline)
            deadline = c->stop_deadline_ms;
        wait_for_work(c, deadline, linger, linger_at);

        deliver_inbox(c);
        now = cons_now_ms();
        if (c->tick_cb && c->state != CONS_HALTED && now >= c->next_tick_ms) {
            if (now >= c->next_capacity_ms) {
                cons_io_refresh_capacity(c);
                c->next_capacity_ms = now + 1000;
            }
            c->tick_cb(&c->io);
            c->next_tick_ms = now + c->tick_ms;
        }
        cons_io_flush(c);
        if (c->state == CONS_RUNNING || c->state == CONS_TRANSFER) {
            check_leadership(c);
            if (c->ready && c->state == CONS_RUNNING) {
                propose_blocks(c);
                cons_members_reconcile(c, now);
            } else if (!c->ready && raft_state(&c->raft) != RAFT_LEADER) {
                raft_id lid;
                const char *laddr;
                raft_leader(&c->raft, &lid, &laddr);
                if (lid && lid != c->cfg.id && laddr)
                    forward_txs(c, lid, laddr);
            }
            cons_io_flush(c);
            check_leadership(c);
        }
        pthread_mutex_lock(&c->mu);
        bool stop = c->stop_req, retire = c->retire_req;
        pthread_mutex_unlock(&c->mu);
        if (retire && !stop && c->state == CONS_RUNNING)
            cons_members_retire(c);
        if (stop)
            handle_stop(c, cons_now_ms());
        cons_io_flush(c);
        /* A halted server (removed from the network, or stopped by a fault)
         * sends nothing: no HELLOs to members that no longer pin its key
         * (they refuse and close, and nng 1.5.2 has crashed sending on a TLS
         * push socket in that churn). */
        if (c->state != CONS_HALTED) {
            /* the transport's tick: dead links rebuilt, HELLOs owed */
            cons_net_tick(c->net, c->wanted, c->nwanted);
            cons_guard_pins(c, cons_now_ms());
        }
        publish_status(c);
    }
    return NULL;
}
