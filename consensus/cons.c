/*
 * cons.c — the public face of consensus/: start, submit, status, stop.
 *
 * cons_start() validates and copies the configuration, opens the LMDB store and
 * the nng listener, then starts the consensus thread, which does every raft
 * call from raft_init on (so even start-up restore runs on that thread) and
 * reports back whether raft came up. cons_submit() and the nng receiver thread
 * only touch the shared, mutex-guarded queues (bounded: queue_max txs,
 * CONS_INBOX_MAX frames); what does not fit is refused or dropped and counted.
 * cons_stop() asks the thread to finish (leader transfer, raft_close), joins it
 * and then frees everything in reverse order of creation.
 */
#include "consensus/cons_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "mono/mono.h"

const char *cons_strerror(int code)
{
    switch (code) {
    case CONS_OK:
        return "ok";
    case CONS_ERR_INVALID:
        return "invalid argument";
    case CONS_ERR_NOMEM:
        return "out of memory";
    case CONS_ERR_IO:
        return "raft storage failure";
    case CONS_ERR_NET:
        return "network failure";
    case CONS_ERR_RAFT:
        return "raft refused";
    case CONS_ERR_CORRUPT:
        return "raft storage corrupt";
    case CONS_ERR_NO_LEADER:
        return "no leader";
    case CONS_ERR_QUEUE_FULL:
        return "transaction queue full";
    case CONS_ERR_TOO_LARGE:
        return "transaction too large";
    case CONS_ERR_STOPPED:
        return "consensus stopped";
    case CONS_ERR_MALFORMED:
        return "malformed message";
    default:
        return "unknown error";
    }
}

const char *cons_role_name(int role)
{
    switch (role) {
    case 0:
        return "follower";
    case 1:
        return "candidate";
    case 2:
        return "leader";
    default:
        return "unknown";
    }
}

/* ---- inputs from other threads ------------------------------------------------ */

/* Caller holds mu. Wake the loop when a tx matters before the next deadline:
 * on a follower (to forward it), when it is the first one waiting (nothing is
 * staged, so no linger deadline is armed), or when a block's worth waits.
 * Behind staged txs it can wait for their deadline: under load that spares
 * the consensus thread a wake-up per tx. */
static void txq_push_locked(cons *c, uint8_t *p, size_t len)
{
    size_t at = (c->txq_head + c->txq_n) % c->cfg.queue_max;
    c->txq[at] = (cons_tx){p, len, cons_now_us()};
    c->txq_n++;
    if ((c->txq_n == 1 && c->staged == 0) || c->txq_n + c->staged >= c->cfg.block_max_txs ||
        c->status.role != 2) {
        c->kick = true;
        pthread_cond_signal(&c->cv);
    }
}

static void net_raft_frame(void *ctx, cons_wire *w)
{
    cons *c = ctx;
    pthread_mutex_lock(&c->mu);
    /* frames still flow while a stopping leader hands over (it must hear its
     * followers catch up); only once raft closes are they dropped */
    if (c->inbox_n == CONS_INBOX_MAX || c->frames_off) {
        c->inbox_dropped++;
        pthread_mutex_unlock(&c->mu);
        cons_wire_release(w);
        free(w);
        return;
    }
    c->inbox[(c->inbox_head + c->inbox_n) % CONS_INBOX_MAX] = w;
    c->inbox_n++;
    pthread_cond_signal(&c->cv);
    pthread_mutex_unlock(&c->mu);
}

static void net_tx(void *ctx, const uint8_t *tx, size_t len)
{
    cons *c = ctx;
    uint8_t *p = malloc(len);
    if (!p)
        return;
    memcpy(p, tx, len);
    pthread_mutex_lock(&c->mu);
    if (c->txq_n + c->staged >= c->cfg.queue_max || c->stop_req || c->halted) {
        c->inbox_dropped++;
        pthread_mutex_unlock(&c->mu);
        free(p);
        return;
    }
    txq_push_locked(c, p, len);
    pthread_mutex_unlock(&c->mu);
}

int cons_submit(cons *c, const void *tx, size_t len)
{
    if (!c || !tx || len == 0)
        return CONS_ERR_INVALID;
    if (len > CONS_TX_MAX)
        return CONS_ERR_TOO_LARGE;
    uint8_t *p = malloc(len);
    if (!p)
        return CONS_ERR_NOMEM;
    memcpy(p, tx, len);
    int rv = CONS_OK;
    pthread_mutex_lock(&c->mu);
    if (c->stop_req || c->halted)
        rv = CONS_ERR_STOPPED;
    else if (c->status.leader_id == 0)
        rv = CONS_ERR_NO_LEADER;
    else if (c->txq_n + c->staged >= c->cfg.queue_max)
        rv = CONS_ERR_QUEUE_FULL;
    else
        txq_push_locked(c, p, len);
    pthread_mutex_unlock(&c->mu);
    if (rv != CONS_OK)
        free(p);
    return rv;
}

void cons_status_get(cons *c, cons_status *out)
{
    pthread_mutex_lock(&c->mu);
    *out = c->status;
    pthread_mutex_unlock(&c->mu);
}

/* ---- start / stop ---------------------------------------------------------------- */

static int check_config(cons *c, const cons_config *cfg, char *errmsg, size_t errmsg_len)
{
    const cons_fsm *f = &cfg->fsm;
    if (cfg->id == 0 || !cfg->data_dir || cfg->npeers == 0 || cfg->npeers > CONS_PEERS_MAX) {
        snprintf(errmsg, errmsg_len, "config: need id > 0, data_dir and 1..%d peers",
                 CONS_PEERS_MAX);
        return CONS_ERR_INVALID;
    }
    if (!f->apply || !f->applied_index || !f->snapshot || !f->restore || !f->build) {
        snprintf(errmsg, errmsg_len,
                 "config: fsm apply/applied_index/snapshot/restore/build "
                 "are required");
        return CONS_ERR_INVALID;
    }
    for (size_t i = 0; i < cfg->npeers; i++) {
        const cons_peer *p = &cfg->peers[i];
        if (p->id == 0 || strnlen(p->addr, CONS_ADDR_MAX) == 0 ||
            strnlen(p->addr, CONS_ADDR_MAX) == CONS_ADDR_MAX) {
            snprintf(errmsg, errmsg_len, "config: peer %zu: bad id or address", i);
            return CONS_ERR_INVALID;
        }
        for (size_t j = 0; j < i; j++)
            if (cfg->peers[j].id == p->id || strcmp(cfg->peers[j].addr, p->addr) == 0) {
                snprintf(errmsg, errmsg_len, "config: peer %llu listed twice",
                         (unsigned long long)p->id);
                return CONS_ERR_INVALID;
            }
        if (p->id == cfg->id)
            snprintf(c->addr, sizeof c->addr, "%s", p->addr);
    }
    if (!c->addr[0]) {
        snprintf(errmsg, errmsg_len, "config: own id %llu not among peers (its address)",
                 (unsigned long long)cfg->id);
        return CONS_ERR_INVALID;
    }
    if (strlen(cfg->data_dir) + 6 >= sizeof c->data_dir) {
        snprintf(errmsg, errmsg_len, "config: data_dir too long");
        return CONS_ERR_INVALID;
    }
    return CONS_OK;
}

static void apply_defaults(cons_config *k)
{
    if (!k->heartbeat_ms)
        k->heartbeat_ms = 50;
    if (!k->election_ms)
        k->election_ms = 500;
    if (k->heartbeat_ms >= k->election_ms)
        k->heartbeat_ms = k->election_ms / 5 + 1;
    if (!k->snapshot_threshold)
        k->snapshot_threshold = 1024;
    if (!k->snapshot_trailing)
        k->snapshot_trailing = 256;
    if (!k->block_max_txs)
        k->block_max_txs = 1000;
    if (!k->block_max_bytes)
        k->block_max_bytes = 1u << 20;
    if (!k->block_linger_us)
        k->block_linger_us = 2000;
    if (!k->queue_max)
        k->queue_max = 10000;
}

/* Start-up handshake between cons_start and the consensus thread. */
typedef struct start_sync {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool done;
    int rv;
    char errmsg[256];
} start_sync;

static int raft_up(cons *c, char *errmsg, size_t errmsg_len)
{
    int rv = raft_init(&c->raft, &c->io, &c->rfsm, c->cfg.id, c->addr);
    if (rv) {
        snprintf(errmsg, errmsg_len, "raft init: %s", raft_strerror(rv));
        return CONS_ERR_RAFT;
    }
    /* No libraft tracer: with one set, libraft formats every trace point into
     * one static buffer of the library (before asking whether the tracer
     * wants it), which two rafts of one process (the unit tests) write at
     * once; its output went nowhere unless LIBRAFT_TRACE was set. libraft
     * checks for NULL before tracing. */
    c->raft.tracer = NULL;
    raft_set_election_timeout(&c->raft, c->cfg.election_ms);
    raft_set_heartbeat_timeout(&c->raft, c->cfg.heartbeat_ms);
    raft_set_install_snapshot_timeout(&c->raft, c->cfg.election_ms * 10);
    raft_set_pre_vote(&c->raft, true);
    raft_set_snapshot_threshold(&c->raft, c->cfg.snapshot_threshold);
    raft_set_snapshot_trailing(&c->raft, c->cfg.snapshot_trailing);
    raft_set_max_catch_up_round_duration(&c->raft, c->cfg.election_ms * 4);
    if (!c->cfg.join && cons_store_last_index(c->store) == 0) {
        struct raft_configuration conf;
        raft_configuration_init(&conf);
        for (size_t i = 0; i < c->cfg.npeers && rv == 0; i++)
            rv =
                raft_configuration_add(&conf, c->cfg.peers[i].id, c->cfg.peers[i].addr, RAFT_VOTER);
        if (rv == 0)
            rv = raft_bootstrap(&c->raft, &conf);
        raft_configuration_close(&conf);
        if (rv && rv != RAFT_CANTBOOTSTRAP) {
            snprintf(errmsg, errmsg_len, "raft bootstrap: %s", raft_errmsg(&c->raft));
            goto fail;
        }
    }
    rv = raft_start(&c->raft);
    if (rv) {
        snprintf(errmsg, errmsg_len, "raft start: %s", raft_errmsg(&c->raft));
        goto fail;
    }
    c->raft_started = true;
    return CONS_OK;
fail:
    c->state = CONS_CLOSING;
    raft_close(&c->raft, NULL);
    cons_io_flush(c);
    return rv == RAFT_CORRUPT ? CONS_ERR_CORRUPT : rv == RAFT_IOERR ? CONS_ERR_IO : CONS_ERR_RAFT;
}

typedef struct thread_arg {
    cons *c;
    start_sync *sync;
} thread_arg;

static void *thread_main(void *arg)
{
    thread_arg *ta = arg;
    cons *c = ta->c;
    start_sync *s = ta->sync;
    pthread_setname_np(pthread_self(), "consensus");
    char err[256] = "";
    int rv = raft_up(c, err, sizeof err);
    pthread_mutex_lock(&s->mu);
    s->rv = rv;
    snprintf(s->errmsg, sizeof s->errmsg, "%s", err);
    s->done = true;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
    if (rv != CONS_OK)
        return NULL;
    return cons_loop_main(c);
}

static void cons_free(cons *c)
{
    if (c->net)
        cons_net_close(c->net); /* receiver thread gone: no more pushes */
    for (size_t i = 0; i < c->inbox_n; i++) {
        cons_wire *w = c->inbox[(c->inbox_head + i) % CONS_INBOX_MAX];
        cons_wire_release(w);
        free(w);
    }
    for (size_t i = 0; c->txq && i < c->txq_n; i++)
        free(c->txq[(c->txq_head + i) % c->cfg.queue_max].p);
    for (size_t i = 0; i < c->nstage; i++)
        free(c->stage[i].p);
    cons_store_close(c->store);
    free(c->inbox);
    free(c->txq);
    free(c->stage);
    free(c->disk);
    free(c->compl );
    pthread_mutex_destroy(&c->mu);
    pthread_cond_destroy(&c->cv);
    free(c);
}

int cons_start(cons **out, const cons_config *cfg, char *errmsg, size_t errmsg_len)
{
    cons *c = calloc(1, sizeof *c);
    if (!c) {
        snprintf(errmsg, errmsg_len, "out of memory");
        return CONS_ERR_NOMEM;
    }
    int rv = check_config(c, cfg, errmsg, errmsg_len);
    if (rv) {
        free(c);
        return rv;
    }
    c->cfg = *cfg;
    apply_defaults(&c->cfg);
    snprintf(c->data_dir, sizeof c->data_dir, "%s/raft", cfg->data_dir);
    c->cfg.data_dir = c->data_dir;
    if (mono_cond_init(&c->cv) != 0) {
        snprintf(errmsg, errmsg_len, "out of memory");
        free(c);
        return CONS_ERR_NOMEM;
    }
    pthread_mutex_init(&c->mu, NULL);
    c->inbox = calloc(CONS_INBOX_MAX, sizeof *c->inbox);
    c->txq = calloc(c->cfg.queue_max, sizeof *c->txq);
    c->stage = calloc(c->cfg.block_max_txs, sizeof *c->stage);
    if (!c->inbox || !c->txq || !c->stage) {
        snprintf(errmsg, errmsg_len, "out of memory");
        cons_free(c);
        return CONS_ERR_NOMEM;
    }
    if (cfg->tls_file) {
        if (strlen(cfg->tls_file) >= sizeof c->tls_file) {
            snprintf(errmsg, errmsg_len, "TLS key file name too long");
            cons_free(c);
            return CONS_ERR_INVALID;
        }
        snprintf(c->tls_file, sizeof c->tls_file, "%s", cfg->tls_file);
        c->cfg.tls_file = c->tls_file;
    }
    if (mkdir(c->data_dir, 0700) != 0 && errno != EEXIST) {
        snprintf(errmsg, errmsg_len, "mkdir %s: %s", c->data_dir, strerror(errno));
        cons_free(c);
        return CONS_ERR_IO;
    }
    char sub[256];
    if (cons_store_open(&c->store, c->data_dir, sub, sizeof sub) != 0) {
        snprintf(errmsg, errmsg_len, "open raft store: %s", sub);
        cons_free(c);
        return CONS_ERR_IO;
    }
    cons_io_setup(c);
    cons_fsm_setup(c);
    cons_net_cbs cbs = {c, net_raft_frame, net_tx};
    rv = cons_net_open(&c->net, c->cfg.id, c->cfg.chain_id, c->addr, c->cfg.tls_file,
                       c->cfg.peers, c->cfg.npeers, &cbs, sub, sizeof sub);
    if (rv) {
        snprintf(errmsg, errmsg_len, "%s", sub);
        cons_free(c);
        return rv;
    }
    start_sync s = {.done = false};
    pthread_mutex_init(&s.mu, NULL);
    pthread_cond_init(&s.cv, NULL);
    thread_arg ta = {c, &s};
    if (pthread_create(&c->thread, NULL, thread_main, &ta) != 0) {
        snprintf(errmsg, errmsg_len, "consensus thread: cannot create");
        cons_free(c);
        return CONS_ERR_NOMEM;
    }
    pthread_mutex_lock(&s.mu);
    while (!s.done)
        pthread_cond_wait(&s.cv, &s.mu);
    pthread_mutex_unlock(&s.mu);
    pthread_mutex_destroy(&s.mu);
    pthread_cond_destroy(&s.cv);
    if (s.rv != CONS_OK) {
        pthread_join(c->thread, NULL);
        snprintf(errmsg, errmsg_len, "%s", s.errmsg);
        cons_free(c);
        return s.rv;
    }
    *out = c;
    return CONS_OK;
}

void cons_retire(cons *c)
{
    pthread_mutex_lock(&c->mu);
    c->retire_req = true;
    c->kick = true; /* one look now; a leader then waits for its transfer */
    pthread_cond_signal(&c->cv);
    pthread_mutex_unlock(&c->mu);
}

void cons_stop(cons *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&c->mu);
    c->stop_req = true;
    c->status.stopped = true;
    pthread_cond_signal(&c->cv);
    pthread_mutex_unlock(&c->mu);
    pthread_join(c->thread, NULL);
    cons_log(c, "raft closed; closing the network");
    cons_free(c);
}
