/*
 * sim_cons.c — deterministic simulation of what a node ships: libraft driven
 * through consensus/'s own raft_io (cons_io.c), fsm adapter (cons_fsm.c), LMDB
 * log store (cons_store.c) and wire codec (cons_codec.c), with the ledger
 * (chain_block_apply on LMDB) as the state machine, under message loss,
 * reordering, partitions, crashes, crashes between fsync and reply, and torn
 * writes of the Raft log store. One process, one thread, a simulated clock:
 * a seed replays exactly.
 *
 * What is the project's code and what is the harness's:
 *   project: every raft_io method and its group-commit flush, the store, the
 *            codec (every frame is encoded and decoded), the guard every
 *            frame passes before raft (cons_guard.c, cons_snapguard.c), the raft_fsm adapter
 *            (index = last_applied + 1, replay skipping, restore gating), and
 *            chain/ (block build, apply, markers, replay);
 *   harness: the loop that cons_loop.c runs on a thread (deliver, tick,
 *            flush, barrier on a new term, propose), rewritten here in a
 *            single-threaded form on simulated time, including its rule of
 *            dropping an InstallSnapshot while a snapshot is being persisted;
 *            the network (sim_net.c, cons_net's API); the node FSM (node/fsm.c
 *            hands blocks to an applier thread and catches up over HTTP; here
 *            apply is synchronous and a restore replays the missing blocks
 *            from a live peer's ledger through chain_blocks_encode/split,
 *            the same calls catchup.c makes on both ends of its HTTP fetch).
 *
 * Faults per seed: links cut and healed (one-way), a loss rate, latency
 * spread (frames overtake each other), and crashes of one node at a time in
 * three forms: PLAIN (writes queued for the next group commit are lost),
 * AFTER_FSYNC (the group commit reaches disk, no callback fires: no reply is
 * sent), TORN (the commit's data pages reach disk partly, its meta page not:
 * what LMDB sees after power loss mid-commit). The crashed node restarts
 * from its files later.
 *
 * After each seed (faults healed, cluster converged): every node has the same
 * block id and state digest at every height, every transaction acknowledged
 * to a client (apply callback with status 0 on the leader, receipt accepted)
 * is accepted at the same height on every node, and no term ever had two
 * leaders (checked at every step).
 *
 * Environment: PROVENA_SIM_SEEDS (default 20; ctest sets 10), PROVENA_SIM_BASE (default from
 * the clock, printed), PROVENA_SIM_SEED (replay one), PROVENA_SIM_VERBOSE,
 * PROVENA_SIM_NO_GUARD (frames reach raft without the snapshot guards of cons_snapguard.c).
 */
#include "sim.h"

#include "chain/chain.h"
#include "consensus/cons_int.h"
#include "genesis/genesis.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define N           3
#define CLIENTS     4
#define HMAX        2048 /* heights recorded per node */
#define TERMS_MAX   4096
#define ACKED_MAX   65536
#define PENDING_MAX 16
#define RING        128 /* receipts kept per node, by log index */
#define EPOCH_MS    1767225600000ull
#define FAULT_MS    12000 /* faults are injected during this much simulated time */
#define SETTLE_MS   40000 /* then healed; converged by this time or failed */
#define PAGE        4096

#define SIM_CHECK(cond)                                                                            \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "seed %llu t=%llu ms: %s:%d: check failed: %s\n",                      \
                    (unsigned long long)seed_now, (unsigned long long)now_ms, __FILE__, __LINE__,  \
                    #cond);                                                                        \
            _exit(1);                                                                              \
        }                                                                                          \
    } while (0)

enum { CRASH_PLAIN, CRASH_AFTER_FSYNC, CRASH_TORN };

typedef struct receipts {
    uint64_t index;
    size_t n;
    uint8_t ids[PENDING_MAX][CHAIN_HASH_LEN];
    int codes[PENDING_MAX];
} receipts;

typedef struct node {
    unsigned i;
    cons *c; /* NULL while down */
    chain *ch;
    char dir[200];
    uint64_t next_tick, restart_at;
    int crash_mode;    /* -1: none armed */
    uint64_t crash_by; /* armed crash happens at the next write, or at this time */
    /* the loop's leadership state (cons_loop.c check_leadership) */
    bool ready, barrier_pending;
    uint64_t leader_term;
    unsigned inflight;
    uint8_t *pending[PENDING_MAX]; /* txs handed to this leader */
    size_t pending_len[PENDING_MAX], npending;
    receipts ring[RING];
    bool have[HMAX];
    uint8_t id_at[HMAX][CHAIN_HASH_LEN], digest_at[HMAX][CHAIN_HASH_LEN];
    unsigned crashes[3], restores;
} node;

typedef struct client {
    uint8_t sk[32], pub[32];
    char gtin[15];
    uint64_t nonce;
    uint8_t *tx, id[CHAIN_HASH_LEN];
    size_t len;
    bool has;
    uint64_t sent_at;
} client;

static node nodes[N];
static client clients[CLIENTS];
static chain_genesis *genesis;
static uint64_t rng, now_ms, seed_now;
static uint64_t term_leader[TERMS_MAX];
static uint8_t acked[ACKED_MAX][CHAIN_HASH_LEN];
static size_t nacked;
static bool verbose, no_guard, quiesce; /* quiesce: clients finish, start nothing new */

uint64_t sim_rand(uint64_t n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng % n;
}

uint64_t sim_now_ms(void)
{
    return now_ms;
}

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
    if (!verbose)
        return;
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "[%6llu] ", (unsigned long long)now_ms);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static raft_time sim_io_time(struct raft_io *io)
{
    (void)io;
    return now_ms;
}

/* ---- the ledger as the state machine ------------------------------------------ */

static void record_height(node *n, const chain_apply_result *res)
{
    if (res->height == 0 || res->block_code != CHAIN_OK)
        return;
    SIM_CHECK(res->height < HMAX);
    if (n->have[res->height]) { /* applied again after a restart: must be the same block */
        SIM_CHECK(memcmp(n->id_at[res->height], res->block_id, CHAIN_HASH_LEN) == 0);
        SIM_CHECK(memcmp(n->digest_at[res->height], res->state_digest, CHAIN_HASH_LEN) == 0);
    }
    n->have[res->height] = true;
    memcpy(n->id_at[res->height], res->block_id, CHAIN_HASH_LEN);
    memcpy(n->digest_at[res->height], res->state_digest, CHAIN_HASH_LEN);
}

static int fsm_apply(void *ctx, uint64_t index, const void *data, size_t len)
{
    node *n = ctx;
    chain_apply_result res;
    char err[256];
    int rc = chain_block_apply(n->ch, &res, index, data, len, err, sizeof err);
    if (rc != CHAIN_OK) {
        say("node %u: apply %llu: %s", n->i + 1, (unsigned long long)index, err);
        return -1;
    }
    record_height(n, &res);
    receipts *r = &n->ring[index % RING];
    r->index = index;
    r->n = res.nreceipts < PENDING_MAX ? res.nreceipts : PENDING_MAX;
    for (size_t k = 0; k < r->n; k++) {
        memcpy(r->ids[k], res.receipts[k].tx, CHAIN_HASH_LEN);
        r->codes[k] = res.block_code == CHAIN_OK ? res.receipts[k].code : CHAIN_ERR_BAD_BLOCK;
    }
    chain_apply_result_free(&res);
    return 0;
}

static uint64_t fsm_applied_index(void *ctx)
{
    node *n = ctx;
    return chain_applied_index(n->ch);
}

static int fsm_snapshot(void *ctx, void **buf, size_t *len)
{
    node *n = ctx;
    uint8_t *out = NULL;
    if (chain_marker_take(n->ch, &out, len) != CHAIN_OK)
        return -1;
    *buf = out;
    return 0;
}

static uint64_t head_height(chain *ch)
{
    chain_rd *rd;
    chain_head h = {0};
    if (chain_rd_begin(ch, &rd) != CHAIN_OK)
        return 0;
    if (chain_head_get(rd, &h) != CHAIN_OK)
        h.height = 0;
    chain_rd_end(rd);
    return h.height;
}

/* A marker this node is behind: replay the missing blocks from a live peer's
 * ledger (what catchup.c fetches over HTTP), then reach the marker. */
static int fsm_restore(void *ctx, const void *buf, size_t len)
{
    node *n = ctx;
    char err[320];
    chain_marker m;
    if (chain_marker_decode(&m, buf, len, genesis->chain_id, err, sizeof err) != CHAIN_OK)
        return -1;
    if (m.index <= chain_applied_index(n->ch))
        return 0;
    n->restores++;
    for (unsigned k = 0; k < N; k++) {
        node *src = &nodes[k];
        if (src == n || !src->c || head_height(src->ch) < m.height)
            continue;
        uint64_t h = head_height(n->ch);
        while (h < m.height) {
            chain_rd *rd;
            uint8_t *arr = NULL;
            size_t arr_len = 0, count = 0;
            if (chain_rd_begin(src->ch, &rd) != CHAIN_OK)
                return -1;
            int rc = chain_blocks_encode(rd, h + 1, 8, 1u << 20, &arr, &arr_len, &count);
            chain_rd_end(rd);
            if (rc != CHAIN_OK)
                return -1;
            const uint8_t *blks[8];
            size_t lens[8], nb = 0;
            rc = chain_blocks_split(blks, lens, &nb, 8, arr, arr_len, err, sizeof err);
            for (size_t b = 0; rc == CHAIN_OK && b < nb && h < m.height; b++) {
                chain_apply_result res;
                rc = chain_block_replay(n->ch, &res, blks[b], lens[b], err, sizeof err);
                if (rc == CHAIN_OK) {
                    SIM_CHECK(res.block_code == CHAIN_OK);
                    record_height(n, &res);
                    h = res.height;
                }
                chain_apply_result_free(&res);
            }
            free(arr);
            if (rc != CHAIN_OK)
                return -1;
        }
        if (chain_marker_reach(n->ch, &m, err, sizeof err) != CHAIN_OK) {
            say("node %u: marker: %s", n->i + 1, err);
            return -1;
        }
        say("node %u: restored to height %llu index %llu from node %u", n->i + 1,
            (unsigned long long)m.height, (unsigned long long)m.index, k + 1);
        return 0;
    }
    say("node %u: no live peer holds height %llu", n->i + 1, (unsigned long long)m.height);
    return -1; /* consensus halts this node; the harness restarts it */
}

/* ---- nodes: start, crash ------------------------------------------------------ */

static void path_of(char *out, size_t len, const node *n, const char *sub)
{
    snprintf(out, len, "%s/%s", n->dir, sub);
}

static void node_start(node *n)
{
    char path[256], err[256];
    path_of(path, sizeof path, n, "chain");
    chain_options opt = {.map_size = (size_t)256 << 20, .no_sync = true};
    SIM_CHECK(chain_open(&n->ch, path, genesis, &opt, err, sizeof err) == CHAIN_OK);

    cons *c = calloc(1, sizeof *c);
    SIM_CHECK(c != NULL);
    c->cfg.id = n->i + 1;
    c->cfg.npeers = N;
    for (unsigned k = 0; k < N; k++) {
        c->cfg.peers[k].id = k + 1;
        snprintf(c->cfg.peers[k].addr, CONS_ADDR_MAX, "sim://%u", k + 1);
    }
    c->cfg.heartbeat_ms = 50;
    c->cfg.election_ms = 500;
    c->cfg.snapshot_threshold = 24;
    c->cfg.snapshot_trailing = 6;
    c->cfg.fsm = (cons_fsm){.ctx = n,
                            .apply = fsm_apply,
                            .applied_index = fsm_applied_index,
                            .snapshot = fsm_snapshot,
                            .restore = fsm_restore};
    snprintf(c->addr, sizeof c->addr, "sim://%u", n->i + 1);
    path_of(c->data_dir, sizeof c->data_dir, n, "raft");
    c->cfg.data_dir = c->data_dir;
    mkdir(c->data_dir, 0700);
    pthread_mutex_init(&c->mu, NULL);
    c->net = sim_net_of(n->i);
    SIM_CHECK(cons_store_open(&c->store, c->data_dir, err, sizeof err) == 0);
    cons_io_setup(c);
    c->io.time = sim_io_time; /* simulated clock and seeded randomness */
    c->rand_state = (unsigned)sim_rand(0xfffffffeu) + 1;
    c->io.capacity = 65535;
    cons_fsm_setup(c);

    /* as cons.c raft_up */
    SIM_CHECK(raft_init(&c->raft, &c->io, &c->rfsm, c->cfg.id, c->addr) == 0);
    raft_set_election_timeout(&c->raft, c->cfg.election_ms);
    raft_set_heartbeat_timeout(&c->raft, c->cfg.heartbeat_ms);
    raft_set_install_snapshot_timeout(&c->raft, c->cfg.election_ms * 10);
    raft_set_pre_vote(&c->raft, true);
    raft_set_snapshot_threshold(&c->raft, c->cfg.snapshot_threshold);
    raft_set_snapshot_trailing(&c->raft, c->cfg.snapshot_trailing);
    raft_set_max_catch_up_round_duration(&c->raft, c->cfg.election_ms * 4);
    if (cons_store_last_index(c->store) == 0) {
        struct raft_configuration conf;
        raft_configuration_init(&conf);
        for (unsigned k = 0; k < N; k++)
            SIM_CHECK(raft_configuration_add(&conf, k + 1, c->cfg.peers[k].addr, RAFT_VOTER) == 0);
        int rv = raft_bootstrap(&c->raft, &conf);
        raft_configuration_close(&conf);
        SIM_CHECK(rv == 0 || rv == RAFT_CANTBOOTSTRAP);
    }
    int rv = raft_start(&c->raft);
    if (rv != 0)
        fprintf(stderr, "node %u: raft start: %s\n", n->i + 1, raft_errmsg(&c->raft));
    SIM_CHECK(rv == 0);
    c->raft_started = true;
    n->c = c;
    n->next_tick = now_ms + c->tick_ms;
    n->crash_mode = -1;
    say("node %u: started (store last index %llu, ledger index %llu)", n->i + 1,
        (unsigned long long)cons_store_last_index(c->store),
        (unsigned long long)chain_applied_index(n->ch));
}

static void raft_closed(struct raft *r)
{
    (void)r;
}

static uint8_t *file_read(const char *path, size_t *len)
{
    int fd = open(path, O_RDONLY);
    SIM_CHECK(fd >= 0);
    struct stat st;
    SIM_CHECK(fstat(fd, &st) == 0);
    uint8_t *p = malloc((size_t)st.st_size + 1);
    SIM_CHECK(p != NULL);
    SIM_CHECK(read(fd, p, (size_t)st.st_size) == st.st_size);
    close(fd);
    *len = (size_t)st.st_size;
    return p;
}

static void node_crash(node *n, int mode)
{
    cons *c = n->c;
    char path[sizeof c->data_dir + 16];
    uint8_t *old = NULL;
    size_t old_len = 0;
    snprintf(path, sizeof path, "%s/data.mdb", c->data_dir);
    bool commit = mode != CRASH_PLAIN && c->ndisk > 0 && c->state != CONS_HALTED;
    if (commit && mode == CRASH_TORN)
        old = file_read(path, &old_len); /* no write txn is open: a consistent copy */
    if (commit) {
        /* the group commit cons_io_flush would make, without its callbacks */
        cons_store_op ops[256];
        for (size_t k = 0; k < c->ndisk; k += 256) {
            size_t m = c->ndisk - k < 256 ? c->ndisk - k : 256;
            for (size_t j = 0; j < m; j++)
                ops[j] = c->disk[k + j].op;
            SIM_CHECK(cons_store_write(c->store, ops, m) == 0);
        }
    }
    /* the process dies: queued writes and every callback are dropped */
    raft_close(&c->raft, raft_closed);
    cons_io_flush(c);
    SIM_CHECK(c->state == CONS_CLOSED);
    cons_store_close(c->store);
    pthread_mutex_destroy(&c->mu);
    free(c->disk);
    free(c->compl );
    free(c);
    n->c = NULL;
    chain_close(n->ch);
    n->ch = NULL;
    if (old) {
        /* power lost mid-commit: each new data page reached the disk or not,
         * the meta pages (0 and 1) did not */
        size_t new_len;
        uint8_t *cur = file_read(path, &new_len);
        for (size_t off = 0; off < new_len; off += PAGE) {
            size_t len = new_len - off < PAGE ? new_len - off : PAGE;
            bool meta = off < 2 * PAGE, keep_new = !meta && sim_rand(2) == 0;
            if (keep_new)
                continue;
            if (off + len <= old_len)
                memcpy(cur + off, old + off, len);
            else
                memset(cur + off, 0, len);
        }
        int fd = open(path, O_WRONLY | O_TRUNC);
        SIM_CHECK(fd >= 0);
        SIM_CHECK(write(fd, cur, new_len) == (ssize_t)new_len);
        close(fd);
        free(cur);
        free(old);
    }
    n->crashes[mode]++;
    n->ready = n->barrier_pending = false;
    n->inflight = 0;
    n->leader_term = 0;
    for (size_t k = 0; k < n->npending; k++)
        free(n->pending[k]);
    n->npending = 0;
    n->crash_mode = -1;
    say("node %u: crashed (%s)", n->i + 1,
        mode == CRASH_PLAIN  ? "plain"
        : mode == CRASH_TORN ? "torn write"
                             : "after fsync");
}

/* cons_io_flush, unless a crash is armed for this node's next write. */
static void node_flush(node *n)
{
    if (!n->c)
        return;
    if (n->crash_mode >= 0 && (n->c->ndisk > 0 || now_ms >= n->crash_by)) {
        node_crash(n, n->crash_mode);
        n->restart_at = now_ms + 200 + sim_rand(2000);
        return;
    }
    cons_io_flush(n->c);
}

/* ---- the loop (cons_loop.c, single-threaded on simulated time) ------------------ */

static void deliver(unsigned from, unsigned to, const uint8_t *buf, size_t len)
{
    (void)from;
    node *n = &nodes[to];
    if (!n->c)
        return;
    cons *c = n->c;
    cons_wire w;
    memset(&w, 0, sizeof w);
    SIM_CHECK(cons_codec_decode(&w, c->cfg.chain_id, buf, len) == 0); /* our own frames decode */
    bool install_busy =
        w.kind == RAFT_INSTALL_SNAPSHOT && (c->snapshot_puts > 0 || c->raft.legacy.snapshot_taking);
    if (w.kind != CONS_KIND_FORWARD && c->recv_cb && c->state != CONS_HALTED && !install_busy) {
        if (!no_guard) /* as cons_loop.c deliver_inbox */
            cons_guard_append_entries(&c->raft, &w.msg);
        c->recv_cb(&c->io, &w.msg);
    } else
        cons_wire_release(&w);
    node_flush(n);
}

static void apply_done(struct raft_apply *req, int status, void *result)
{
    node *n = req->data;
    (void)result;
    if (n->inflight > 0)
        n->inflight--;
    if (status == 0) {
        const receipts *r = &n->ring[req->index % RING];
        SIM_CHECK(r->index == req->index);
        for (size_t k = 0; k < r->n; k++) {
            if (r->codes[k] != CHAIN_OK)
                continue;
            for (unsigned j = 0; j < CLIENTS; j++) {
                client *cl = &clients[j];
                if (cl->has && memcmp(cl->id, r->ids[k], CHAIN_HASH_LEN) == 0) {
                    SIM_CHECK(nacked < ACKED_MAX);
                    memcpy(acked[nacked++], cl->id, CHAIN_HASH_LEN);
                    free(cl->tx);
                    cl->tx = NULL;
                    cl->has = false;
                    cl->nonce++;
                }
            }
        }
    }
    free(req);
}

static void barrier_done(struct raft_barrier *req, int status)
{
    node *n = req->data;
    free(req);
    n->barrier_pending = false;
    if (status == 0 && n->c && raft_state(&n->c->raft) == RAFT_LEADER &&
        raft_current_term(&n->c->raft) == n->leader_term)
        n->ready = true;
}

static void leadership(node *n)
{
    cons *c = n->c;
    bool leader = raft_state(&c->raft) == RAFT_LEADER;
    uint64_t term = raft_current_term(&c->raft);
    if (n->ready && (!leader || term != n->leader_term)) {
        n->ready = false;
        for (size_t k = 0; k < n->npending; k++)
            free(n->pending[k]);
        n->npending = 0;
    }
    if (leader && term != n->leader_term) {
        n->leader_term = term;
        n->ready = false;
        say("node %u: leader for term %llu", n->i + 1, (unsigned long long)term);
    }
    if (leader && !n->ready && !n->barrier_pending) {
        struct raft_barrier *req = calloc(1, sizeof *req);
        SIM_CHECK(req != NULL);
        req->data = n;
        if (raft_barrier(&c->raft, req, barrier_done) == 0)
            n->barrier_pending = true;
        else
            free(req);
    }
}

/* Leader, barrier applied, no block of its own in flight: one block of the
 * txs handed to it, on the ledger's head. */
static void propose(node *n)
{
    if (!n->ready || n->inflight > 0 || n->npending == 0)
        return;
    chain_rd *rd;
    chain_head h;
    SIM_CHECK(chain_rd_begin(n->ch, &rd) == CHAIN_OK);
    SIM_CHECK(chain_head_get(rd, &h) == CHAIN_OK);
    chain_rd_end(rd);
    chain_block_header hdr;
    memset(&hdr, 0, sizeof hdr);
    hdr.height = h.height + 1;
    memcpy(hdr.prev, h.id, CHAIN_HASH_LEN);
    hdr.time = EPOCH_MS + now_ms > h.time ? EPOCH_MS + now_ms : h.time;
    hdr.proposer = n->i + 1;
    uint8_t *blk = NULL;
    size_t len = 0;
    SIM_CHECK(chain_block_build(&blk, &len, &hdr, (const uint8_t *const *)n->pending,
                                n->pending_len, n->npending) == CHAIN_OK);
    for (size_t k = 0; k < n->npending; k++)
        free(n->pending[k]);
    n->npending = 0;
    struct raft_buffer buf = {raft_malloc(len), len};
    struct raft_apply *req = calloc(1, sizeof *req);
    SIM_CHECK(buf.base && req);
    memcpy(buf.base, blk, len);
    free(blk);
    req->data = n;
    if (raft_apply(&n->c->raft, req, &buf, 1, apply_done) != 0) {
        raft_free(buf.base);
        free(req);
        return;
    }
    n->inflight++;
}

/* Election safety: one leader per term, at every step. */
static void check_leaders(void)
{
    for (unsigned k = 0; k < N; k++) {
        node *n = &nodes[k];
        if (!n->c || raft_state(&n->c->raft) != RAFT_LEADER)
            continue;
        uint64_t t = raft_current_term(&n->c->raft);
        SIM_CHECK(t < TERMS_MAX);
        if (term_leader[t] == 0)
            term_leader[t] = n->i + 1;
        SIM_CHECK(term_leader[t] == n->i + 1);
    }
}

/* ---- clients: mint txs, one outstanding per signer, resent until acked ---------- */

static void client_tx(client *cl)
{
    chain_tx tx;
    memset(&tx, 0, sizeof tx);
    tx.type = CHAIN_TX_MINT;
    memcpy(tx.chain, genesis->chain_id, CHAIN_HASH_LEN);
    tx.nonce = cl->nonce;
    tx.time = 1767225600 + cl->nonce;
    snprintf(tx.gtin, sizeof tx.gtin, "%s", cl->gtin);
    snprintf(tx.lot, sizeof tx.lot, "L1");
    snprintf(tx.model, sizeof tx.model, "M");
    memcpy(tx.markets[0], "DE", 3);
    tx.nmarkets = 1;
    char serial[24];
    char *serials[1] = {serial};
    uint8_t sigs[1][CHAIN_SIG_LEN];
    snprintf(serial, sizeof serial, "S%llu", (unsigned long long)cl->nonce);
    memset(sigs, 7, sizeof sigs);
    tx.serials = serials;
    tx.label_sigs = sigs;
    tx.nunits = 1;
    SIM_CHECK(chain_tx_sign(&tx, cl->sk) == CHAIN_OK);
    SIM_CHECK(chain_tx_id(cl->id, &tx) == CHAIN_OK);
    SIM_CHECK(chain_tx_encode(&cl->tx, &cl->len, &tx) == CHAIN_OK);
    cl->has = true;
    cl->sent_at = 0;
}

static void clients_step(void)
{
    node *leader = NULL;
    for (unsigned k = 0; k < N; k++)
        if (nodes[k].c && nodes[k].ready)
            leader = &nodes[k];
    for (unsigned j = 0; j < CLIENTS; j++) {
        client *cl = &clients[j];
        if (!cl->has && quiesce)
            continue;
        if (!cl->has)
            client_tx(cl);
        if (!leader || (cl->sent_at && now_ms - cl->sent_at < 1000) ||
            leader->npending == PENDING_MAX)
            continue;
        uint8_t *copy = malloc(cl->len);
        SIM_CHECK(copy != NULL);
        memcpy(copy, cl->tx, cl->len);
        leader->pending[leader->npending] = copy;
        leader->pending_len[leader->npending++] = cl->len;
        cl->sent_at = now_ms;
    }
}

/* ---- one step of simulated time ------------------------------------------------- */

static void step(void)
{
    now_ms++;
    sim_net_deliver(now_ms, deliver);
    for (unsigned k = 0; k < N; k++) {
        node *n = &nodes[k];
        if (!n->c && n->restart_at && now_ms >= n->restart_at) {
            n->restart_at = 0;
            node_start(n);
        }
        if (!n->c)
            continue;
        if (n->c->state == CONS_HALTED) { /* fatal local error: the process restarts */
            node_crash(n, CRASH_PLAIN);
            n->restart_at = now_ms + 500;
            continue;
        }
        if (n->c->tick_cb && now_ms >= n->next_tick) {
            n->c->tick_cb(&n->c->io);
            n->next_tick = now_ms + n->c->tick_ms;
            node_flush(n);
        }
        if (!n->c)
            continue;
        leadership(n);
        propose(n);
        node_flush(n);
        if (n->c)
            leadership(n);
    }
    check_leaders();
    if (now_ms % 25 == 0)
        clients_step();
}

static void inject_faults(void)
{
    unsigned down = 0;
    for (unsigned k = 0; k < N; k++)
        down += nodes[k].c == NULL || nodes[k].crash_mode >= 0;
    unsigned what = (unsigned)sim_rand(100), a = (unsigned)sim_rand(N), b = (unsigned)sim_rand(N);
    if (what < 20 && a != b) {
        sim_faults.cut[a][b] = !sim_faults.cut[a][b];
    } else if (what < 30) {
        sim_faults.loss_ppm = (unsigned)sim_rand(4) * 50000; /* 0..15 % */
    } else if (what < 36) {
        memset(sim_faults.cut, 0, sizeof sim_faults.cut);
    } else if (what < 48 && down == 0 && nodes[a].c) {
        nodes[a].crash_mode = (int)sim_rand(3);
        nodes[a].crash_by = now_ms + 1000;
    }
}

/* ---- a seed --------------------------------------------------------------------- */

static void make_genesis(void)
{
    static const char *prefixes[CLIENTS] = {"9506000", "4006381", "7612345", "5012345"};
    char keys[CLIENTS + N][65];
    for (unsigned j = 0; j < CLIENTS + N; j++) {
        uint8_t sk[32], pub[32], in[16];
        memcpy(in, &seed_now, 8);
        memcpy(in + 8, &j, sizeof j);
        memset(in + 8 + sizeof j, 0, 8 - sizeof j);
        chain_tagged_hash(sk, "provena/sim/key", in, sizeof in);
        SIM_CHECK(chain_key_pub(pub, sk) == CHAIN_OK);
        chain_hex(keys[j], pub, 32);
        if (j < CLIENTS) {
            client *cl = &clients[j];
            memset(cl, 0, sizeof *cl);
            memcpy(cl->sk, sk, 32);
            memcpy(cl->pub, pub, 32);
            cl->nonce = 1;
            char d[14];
            snprintf(d, sizeof d, "0%s12345", prefixes[j]);
            memcpy(cl->gtin, d, 13);
            cl->gtin[13] = '0';
            cl->gtin[14] = '\0';
            cl->gtin[13] = gs1_check_digit(cl->gtin, 14);
        }
    }
    char json[4096];
    int len = snprintf(json, sizeof json,
                       "{\"chain\":\"sim-net\",\"time\":1767225600,\"brands\":["
                       "{\"id\":\"b0\",\"name\":\"B0\",\"pub\":\"%s\",\"prefixes\":[\"%s\"]},"
                       "{\"id\":\"b1\",\"name\":\"B1\",\"pub\":\"%s\",\"prefixes\":[\"%s\"]},"
                       "{\"id\":\"b2\",\"name\":\"B2\",\"pub\":\"%s\",\"prefixes\":[\"%s\"]},"
                       "{\"id\":\"b3\",\"name\":\"B3\",\"pub\":\"%s\",\"prefixes\":[\"%s\"]}],"
                       "\"participants\":[],\"nodes\":["
                       "{\"id\":1,\"operator\":\"b0\",\"raft\":\"tcp://127.0.0.1:7101\","
                       "\"http\":\"http://127.0.0.1:8101\",\"pub\":\"%s\"},"
                       "{\"id\":2,\"operator\":\"b1\",\"raft\":\"tcp://127.0.0.1:7102\","
                       "\"http\":\"http://127.0.0.1:8102\",\"pub\":\"%s\"},"
                       "{\"id\":3,\"operator\":\"b2\",\"raft\":\"tcp://127.0.0.1:7103\","
                       "\"http\":\"http://127.0.0.1:8103\",\"pub\":\"%s\"}],"
                       "\"policy\":{\"warranty_months\":24}}",
                       keys[0], prefixes[0], keys[1], prefixes[1], keys[2], prefixes[2], keys[3],
                       prefixes[3], keys[4], keys[5], keys[6]);
    SIM_CHECK(len > 0 && (size_t)len < sizeof json);
    char err[256];
    if (genesis_parse(&genesis, json, (size_t)len, err, sizeof err) != CHAIN_OK) {
        fprintf(stderr, "genesis: %s\n", err);
        SIM_CHECK(!"genesis parses");
    }
}

static bool converged(void)
{
    chain_head h0 = {0};
    for (unsigned k = 0; k < N; k++) {
        node *n = &nodes[k];
        if (!n->c || n->crash_mode >= 0)
            return false;
        chain_rd *rd;
        chain_head h;
        SIM_CHECK(chain_rd_begin(n->ch, &rd) == CHAIN_OK);
        SIM_CHECK(chain_head_get(rd, &h) == CHAIN_OK);
        chain_rd_end(rd);
        if (k == 0)
            h0 = h;
        else if (h.height != h0.height || memcmp(h.id, h0.id, CHAIN_HASH_LEN) != 0)
            return false;
    }
    for (unsigned j = 0; j < CLIENTS; j++)
        if (clients[j].has)
            return false; /* a tx still in flight: let it settle */
    return h0.height > 0;
}

static void final_checks(void)
{
    uint64_t top = head_height(nodes[0].ch);
    /* identical block id and state digest on every node at every height */
    for (uint64_t h = 1; h <= top; h++)
        for (unsigned k = 0; k < N; k++) {
            SIM_CHECK(nodes[k].have[h]);
            SIM_CHECK(memcmp(nodes[k].id_at[h], nodes[0].id_at[h], CHAIN_HASH_LEN) == 0);
            SIM_CHECK(memcmp(nodes[k].digest_at[h], nodes[0].digest_at[h], CHAIN_HASH_LEN) == 0);
        }
    chain_head heads[N];
    for (unsigned k = 0; k < N; k++) {
        chain_rd *rd;
        SIM_CHECK(chain_rd_begin(nodes[k].ch, &rd) == CHAIN_OK);
        SIM_CHECK(chain_head_get(rd, &heads[k]) == CHAIN_OK);
        /* every acknowledged tx accepted, at the same height everywhere */
        for (size_t a = 0; a < nacked; a++) {
            chain_receipt rc;
            const uint8_t *raw;
            size_t raw_len;
            SIM_CHECK(chain_tx_get(rd, &rc, &raw, &raw_len, acked[a]) == CHAIN_OK);
            SIM_CHECK(rc.code == CHAIN_OK);
            SIM_CHECK(rc.height >= 1 && rc.height <= top);
        }
        chain_rd_end(rd);
        SIM_CHECK(memcmp(heads[k].state_digest, heads[0].state_digest, CHAIN_HASH_LEN) == 0);
        SIM_CHECK(memcmp(heads[k].state_digest, nodes[k].digest_at[top], CHAIN_HASH_LEN) == 0);
    }
    SIM_CHECK(nacked > 0);
}

static void run_seed(uint64_t seed, const char *root)
{
    seed_now = seed;
    rng = seed * 0x9e3779b97f4a7c15ull + 0x1234567;
    now_ms = 0;
    nacked = 0;
    quiesce = false;
    memset(term_leader, 0, sizeof term_leader);
    memset(nodes, 0, sizeof nodes);
    sim_net_reset();
    sim_faults.latency_min_ms = 1;
    sim_faults.latency_max_ms = 1 + (unsigned)sim_rand(40);
    make_genesis();
    for (unsigned k = 0; k < N; k++) {
        nodes[k].i = k;
        snprintf(nodes[k].dir, sizeof nodes[k].dir, "%s/n%u", root, k + 1);
        SIM_CHECK(mkdir(nodes[k].dir, 0700) == 0);
        node_start(&nodes[k]);
    }
    while (now_ms < FAULT_MS) {
        if (now_ms % 100 == 0)
            inject_faults();
        step();
    }
    /* heal: links up, no loss, crashed nodes back; armed crashes still happen */
    memset(&sim_faults.cut, 0, sizeof sim_faults.cut);
    sim_faults.loss_ppm = 0;
    for (unsigned k = 0; k < N; k++)
        if (!nodes[k].c && nodes[k].restart_at == 0)
            nodes[k].restart_at = now_ms + 1;
    quiesce = true;
    uint64_t since = 0;
    while (now_ms < SETTLE_MS) {
        step();
        since = converged() ? since + 1 : 0;
        if (since >= 1500)
            break;
    }
    if (since < 1500) {
        for (unsigned k = 0; k < N; k++) {
            node *n = &nodes[k];
            fprintf(stderr, "seed %llu node %u: %s", (unsigned long long)seed, k + 1,
                    n->c ? raft_state_name(raft_state(&n->c->raft)) : "down");
            if (n->c)
                fprintf(stderr, " term %llu commit %llu applied %llu height %llu",
                        (unsigned long long)raft_current_term(&n->c->raft),
                        (unsigned long long)raft_commit_index(&n->c->raft),
                        (unsigned long long)raft_last_applied(&n->c->raft),
                        (unsigned long long)head_height(n->ch));
            fputc('\n', stderr);
        }
        SIM_CHECK(!"converged after healing");
    }
    final_checks();
    unsigned crashes[3] = {0}, restores = 0;
    for (unsigned k = 0; k < N; k++) {
        for (int m = 0; m < 3; m++)
            crashes[m] += nodes[k].crashes[m];
        restores += nodes[k].restores;
    }
    if (verbose || getenv("PROVENA_SIM_SEED"))
        printf("seed %llu: height %llu, acked %zu, crashes plain/after-fsync/torn %u/%u/%u, "
               "restores %u, frames %llu sent %llu dropped\n",
               (unsigned long long)seed, (unsigned long long)head_height(nodes[0].ch), nacked,
               crashes[0], crashes[1], crashes[2], restores, (unsigned long long)sim_counts.sent,
               (unsigned long long)sim_counts.dropped);
    for (unsigned k = 0; k < N; k++)
        if (nodes[k].c) {
            nodes[k].crash_mode = CRASH_PLAIN;
            node_crash(&nodes[k], CRASH_PLAIN);
        }
    sim_net_reset();
    chain_genesis_free(genesis);
    genesis = NULL;
}

static uint64_t env_u64(const char *name, uint64_t dflt)
{
    const char *v = getenv(name);
    return v && *v ? strtoull(v, NULL, 0) : dflt;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(void)
{
    setenv("PROVENA_CONS_QUIET", "1", 1);
    verbose = getenv("PROVENA_SIM_VERBOSE") != NULL;
    no_guard = getenv("PROVENA_SIM_NO_GUARD") != NULL; /* to see what cons_snapguard.c prevents */
    uint64_t base, count;
    if (getenv("PROVENA_SIM_SEED")) {
        base = env_u64("PROVENA_SIM_SEED", 1);
        count = 1;
    } else {
        count = env_u64("PROVENA_SIM_SEEDS", 20);
        base = env_u64("PROVENA_SIM_BASE",
                       ((uint64_t)time(NULL) ^ ((uint64_t)getpid() << 16)) % 1000000000u + 1);
    }
    /* tmpfs when there is one: the store fsyncs every group commit */
    const char *tmp = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    printf("sim consensus+ledger: seeds %llu..%llu (replay one with PROVENA_SIM_SEED=<seed>)\n",
           (unsigned long long)base, (unsigned long long)(base + count - 1));
    fflush(stdout);
    unsigned failures = 0;
    double t0 = now_s();
    for (uint64_t seed = base; seed < base + count; seed++) {
        char root[128];
        snprintf(root, sizeof root, "%s/provena-sim-%d-%llu", tmp, (int)getpid(),
                 (unsigned long long)seed);
        if (mkdir(root, 0700) != 0) {
            perror(root);
            return 1;
        }
        fflush(stdout);
        fflush(stderr);
        pid_t pid = fork();
        if (pid == 0) {
            run_seed(seed, root);
            fflush(stdout);
            _exit(0);
        }
        int st = 0;
        bool ok = pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0;
        if (!ok) {
            failures++;
            printf("sim consensus+ledger: FAILED seed %llu (%s %d); files kept in %s\n",
                   (unsigned long long)seed, WIFSIGNALED(st) ? "signal" : "exit",
                   WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st), root);
        } else {
            char cmd[200];
            snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
            if (system(cmd) != 0)
                fprintf(stderr, "could not remove %s\n", root);
        }
    }
    printf("sim consensus+ledger: seeds run %llu, failures %u, time %.1f s\n",
           (unsigned long long)count, failures, now_s() - t0);
    return failures == 0 ? 0 : 1;
}
