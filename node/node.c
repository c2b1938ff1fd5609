/*
 * node.c — provena-node's wiring: genesis → ledger → consensus → gateway.
 *
 * node_start resolves this node's addresses (command line, then the ledger's
 * node registry, then genesis), opens DIR/chain, creates the submission
 * registry (submit.c) and the state machine (fsm.c), starts consensus on
 * DIR/raft with the fsm's callbacks, then the scan queue (scanq.c) and the
 * gateway. A monitor thread polls consensus status and logs role, leader and
 * term changes, one line each. node_stop goes in reverse: submitters are
 * released first (so the gateway's workers can finish), then the gateway, the
 * scan queue's last flush, consensus (a leader transfers leadership), ledger.
 *
 * Node states:  STARTING --node_start--> RUNNING --node_stop--> STOPPED
 */
#include "node/node.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "chain/chain.h"
#include "consensus/consensus.h"
#include "node/fsm.h"
#include "node/gateway.h"
#include "node/scanq.h"
#include "node/submit.h"

#define NODE_PATH_MAX     4096
#define NODE_MONITOR_MS   200
#define NODE_LEDGER_AHEAD ((uint64_t)64 << 20) /* chain_storage_prepare's window */
/* How long the leader lets the oldest waiting tx linger for a fuller block
 * while other blocks are in flight (with none in flight a block goes out at
 * once, so a lone submitter never waits for it). bench_cluster, 64 submitters
 * at the leader: 300 us gave ~9.5 txs a block and 4,800-4,960 tx/s; 1 ms
 * gives ~11 and 5,060-5,370 (nodes' CPU per tx 330 -> 300-320 us); 2 ms
 * gains nothing more. */
#define NODE_BLOCK_LINGER_US 1000

/* ---- logging ------------------------------------------------------------------ */

static atomic_int log_level = NODE_LOG_INFO;
static const char *const level_names[] = {"error", "warn", "info", "debug"};

void node_log_set_level(int level)
{
    atomic_store(&log_level, level);
}

int node_log_parse_level(const char *s)
{
    for (int i = 0; i <= NODE_LOG_DEBUG; i++)
        if (strcmp(s, level_names[i]) == 0)
            return i;
    return -1;
}

void node_log(int level, const char *fmt, ...)
{
    if (level > atomic_load(&log_level) || level < 0)
        return;
    char line[1024];
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    int n = snprintf(line, sizeof line, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %-5s ",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                     ts.tv_nsec / 1000000L, level_names[level]);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
    va_end(ap);
    size_t len = strlen(line);
    line[len++] = '\n';
    /* one write per line, so lines of concurrent threads never interleave */
    ssize_t w = write(STDERR_FILENO, line, len);
    (void)w;
}

/* ---- node --------------------------------------------------------------------- */

struct node {
    uint64_t id;
    chain_genesis *genesis;
    chain *chain;
    submit_reg *reg;
    node_fsm *fsm;
    cons *cons;
    scanq *scanq;
    gw *gw;
    _Atomic(cons *) cons_ready; /* set once consensus started; read by forwarders */
    char raft_addr[CHAIN_ADDR_MAX + 1];
    char http_addr[CHAIN_ADDR_MAX + 1];
    char admin_token[256];
    char region_header[128];

    pthread_t monitor;
    bool monitor_running;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stopping;
    atomic_bool stop_flag; /* node_stop began: a catch-up in progress gives up */
};

int node_key_load(uint8_t seckey[32], const char *path, char *errmsg, size_t errmsg_len)
{
    uint8_t buf[160];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(errmsg, errmsg_len, "--key %s: %s", path, strerror(errno));
        return -1;
    }
    ssize_t n = read(fd, buf, sizeof buf);
    close(fd);
    int rc = -1;
    if (n == CHAIN_SECKEY_LEN) {
        memcpy(seckey, buf, CHAIN_SECKEY_LEN);
        rc = 0;
    } else if (n >= 64) {
        size_t len = (size_t)n;
        while (len > 64 && (buf[len - 1] == '\n' || buf[len - 1] == '\r' || buf[len - 1] == ' ' ||
                            buf[len - 1] == '\t'))
            len--;
        if (len == 64 &&
            chain_unhex(seckey, CHAIN_SECKEY_LEN, (const char *)buf, 64) == CHAIN_SECKEY_LEN)
            rc = 0;
    }
    uint8_t pub[CHAIN_KEY_LEN];
    if (rc == 0 && chain_key_pub(pub, seckey) != CHAIN_OK)
        rc = -1;
    explicit_bzero(buf, sizeof buf);
    if (rc != 0) {
        explicit_bzero(seckey, CHAIN_SECKEY_LEN);
        snprintf(errmsg, errmsg_len,
                 "--key %s: not a secret key (64 hex characters, as `provena key new` writes)",
                 path);
    }
    return rc;
}

static int mkdir_p(const char *path, char *errmsg, size_t errmsg_len)
{
    if (mkdir(path, 0700) == 0 || errno == EEXIST) {
        struct stat st;
        if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
            return 0;
        errno = ENOTDIR;
    }
    snprintf(errmsg, errmsg_len, "data directory %s: %s", path, strerror(errno));
    return -1;
}

/* ---- hooks for submit.c, scanq.c and the gateway -------------------------------- */

static int map_cons_err(int err)
{
    switch (err) {
    case CONS_OK:
        return GW_SUBMIT_QUEUED;
    case CONS_ERR_NO_LEADER:
        return GW_SUBMIT_NO_LEADER;
    case CONS_ERR_QUEUE_FULL:
        return GW_SUBMIT_BUSY;
    case CONS_ERR_STOPPED:
        return GW_SUBMIT_STOPPING;
    default: /* too large / invalid: precheck lets neither through */
        return GW_SUBMIT_BUSY;
    }
}

static int node_forward(void *ctx, const uint8_t *tx, size_t len)
{
    node *n = ctx;
    cons *c = atomic_load(&n->cons_ready);
    if (!c)
        return GW_SUBMIT_NO_LEADER;
    return map_cons_err(cons_submit(c, tx, len));
}

static int gw_submit_hook(void *ctx, chain_receipt *receipt, const uint8_t *tx, size_t len,
                          unsigned wait_ms)
{
    node *n = ctx;
    return submit_tx(n->reg, receipt, tx, len, wait_ms);
}

static void gw_submit_async_hook(void *ctx, const uint8_t *tx, size_t len, unsigned wait_ms,
                                 void (*done)(void *, int, const chain_receipt *), void *done_ctx)
{
    node *n = ctx;
    submit_tx_async(n->reg, tx, len, wait_ms, done, done_ctx);
}

static void gw_record_scan_hook(void *ctx, const chain_scan *scan)
{
    node *n = ctx;
    if (n->scanq)
        scanq_record(n->scanq, scan);
}

static void gw_status_hook(void *ctx, gw_status *out)
{
    node *n = ctx;
    memset(out, 0, sizeof *out);
    out->id = n->id;
    out->role = "stopped";
    if (n->scanq) {
        scanq_stats qs;
        scanq_stats_get(n->scanq, &qs);
        out->scans_dropped = qs.dropped;
        out->scan_batches = qs.batches;
    }
    cons *c = atomic_load(&n->cons_ready);
    if (!c)
        return;
    cons_status st;
    cons_status_get(c, &st);
    out->leader_id = st.leader_id;
    out->term = st.term;
    out->commit_index = st.commit_index;
    out->last_applied = st.last_applied;
    out->role = st.stopped ? "stopped" : cons_role_name(st.role);
    size_t np = st.npeers < CHAIN_NODES_MAX ? st.npeers : CHAIN_NODES_MAX;
    out->npeers = np;
    for (size_t i = 0; i < np; i++) {
        out->peers[i].id = st.peers[i].id;
        snprintf(out->peers[i].raft_addr, sizeof out->peers[i].raft_addr, "%s", st.peers[i].addr);
        out->peers[i].voter = st.peers[i].voter;
    }
}

static void latency_hook(void *ctx, uint64_t usec)
{
    node *n = ctx;
    if (n->gw)
        gw_metrics_commit_latency(n->gw, usec);
}

/* ---- cons_fsm adapters (consensus thread) -------------------------------------- */

static int fsm_apply_cb(void *ctx, uint64_t index, const void *data, size_t len)
{
    return fsm_apply(ctx, index, data, len);
}

static uint64_t fsm_applied_index_cb(void *ctx)
{
    return fsm_applied_index(ctx);
}

static int fsm_snapshot_cb(void *ctx, void **buf, size_t *len)
{
    uint8_t *b;
    if (fsm_snapshot(ctx, &b, len) != 0)
        return -1;
    *buf = b;
    return 0;
}

static int fsm_restore_cb(void *ctx, const void *buf, size_t len)
{
    return fsm_restore(ctx, buf, len);
}

static int fsm_build_cb(void *ctx, const void *const *txs, const size_t *lens, size_t n, void **out,
                        size_t *out_len, size_t *used)
{
    uint8_t *b;
    if (fsm_build(ctx, &b, out_len, used, (const uint8_t *const *)txs, lens, n) != 0)
        return -1;
    *out = b;
    return 0;
}

static size_t fsm_members_cb(void *ctx, cons_peer *out, size_t max)
{
    chain_node_info nodes[CHAIN_NODES_MAX];
    size_t n = fsm_members(ctx, nodes, CHAIN_NODES_MAX);
    size_t k = 0;
    for (size_t i = 0; i < n && k < max; i++, k++) {
        out[k].id = nodes[i].id;
        snprintf(out[k].addr, sizeof out[k].addr, "%s", nodes[i].raft_addr);
    }
    return k;
}

static void fsm_leader_changed_cb(void *ctx, bool is_leader)
{
    fsm_leader_changed(ctx, is_leader);
}

/* ---- monitor: one log line per role / leader / term change; the ledger's next pages ---- */

static void *monitor_main(void *arg)
{
    node *n = arg;
    pthread_setname_np(pthread_self(), "monitor");
    int last_role = -1;
    uint64_t last_leader = UINT64_MAX, last_term = 0;
    bool prepare_failed = false;
    pthread_mutex_lock(&n->mu);
    while (!n->stopping) {
        pthread_mutex_unlock(&n->mu);
        int prc = chain_storage_prepare(n->chain, NODE_LEDGER_AHEAD);
        if (prc != CHAIN_OK && !prepare_failed) {
            node_log(NODE_LOG_WARN,
                     "could not prepare the ledger file's next pages (%s; last OS error: %s); "
                     "writes still work, at a higher cost per page",
                     chain_err_code(prc), strerror(errno));
            prepare_failed = true;
        }
        cons_status st;
        cons_status_get(n->cons, &st);
        if ((int)st.role != last_role || st.leader_id != last_leader) {
            if (st.leader_id)
                node_log(NODE_LOG_INFO, "role %s, term %llu, leader %llu", cons_role_name(st.role),
                         (unsigned long long)st.term, (unsigned long long)st.leader_id);
            else
                node_log(NODE_LOG_INFO, "role %s, term %llu, no leader", cons_role_name(st.role),
                         (unsigned long long)st.term);
            last_role = (int)st.role;
            last_leader = st.leader_id;
            last_term = st.term;
        } else if (st.term != last_term) {
            node_log(NODE_LOG_DEBUG, "term %llu", (unsigned long long)st.term);
            last_term = st.term;
        }
        pthread_mutex_lock(&n->mu);
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_nsec += NODE_MONITOR_MS * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        if (!n->stopping)
            pthread_cond_timedwait(&n->cv, &n->mu, &ts);
    }
    pthread_mutex_unlock(&n->mu);
    return NULL;
}

/* ---- start / stop ------------------------------------------------------------------ */

/* This node's entry in the ledger's registry, else in genesis. */
static bool node_lookup(node *n, chain_node_info *out)
{
    chain_node_info nodes[CHAIN_NODES_MAX];
    size_t k = fsm_members(n->fsm, nodes, CHAIN_NODES_MAX);
    for (size_t i = 0; i < k; i++)
        if (nodes[i].id == n->id) {
            *out = nodes[i];
            return true;
        }
    const chain_node_info *g = chain_genesis_node(n->genesis, n->id);
    if (g && !g->removed) {
        *out = *g;
        return true;
    }
    return false;
}

int node_start(node **out, const node_config *cfg, char *errmsg, size_t errmsg_len)
{
    char path[NODE_PATH_MAX], msg[384];
    uint8_t seckey[CHAIN_SECKEY_LEN];
    bool has_key = false;
    int err;

    node *n = calloc(1, sizeof *n);
    if (!n) {
        snprintf(errmsg, errmsg_len, "out of memory");
        return -1;
    }
    n->id = cfg->id;
    pthread_mutex_init(&n->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&n->cv, &ca);
    pthread_condattr_destroy(&ca);

    node_log(NODE_LOG_INFO, "provena-node %llu starting: genesis %s, data %s",
             (unsigned long long)cfg->id, cfg->genesis_path, cfg->data_dir);

    err = chain_genesis_load(&n->genesis, cfg->genesis_path, msg, sizeof msg);
    if (err != CHAIN_OK) {
        snprintf(errmsg, errmsg_len, "--genesis %s: %s", cfg->genesis_path, msg);
        goto fail;
    }
    char cid[2 * CHAIN_HASH_LEN + 1];
    chain_hex(cid, n->genesis->chain_id, CHAIN_HASH_LEN);
    node_log(NODE_LOG_INFO, "network \"%s\", chain id %s", n->genesis->chain_name, cid);

    if (cfg->key_path) {
        if (node_key_load(seckey, cfg->key_path, errmsg, errmsg_len) != 0)
            goto fail;
        has_key = true;
    }

    if (mkdir_p(cfg->data_dir, errmsg, errmsg_len) != 0)
        goto fail;
    snprintf(path, sizeof path, "%s/chain", cfg->data_dir);
    if (mkdir_p(path, errmsg, errmsg_len) != 0)
        goto fail;
    /* One fsync per ledger commit: the Raft log keeps every entry after the last
     * marker, and a marker is taken only after the ledger is synced. */
    chain_options copt = {.map_size = 0, .no_sync = cfg->no_sync, .defer_meta_sync = true};
    err = chain_open(&n->chain, path, n->genesis, &copt, msg, sizeof msg);
    if (err != CHAIN_OK) {
        snprintf(errmsg, errmsg_len, "open chain %s: %s: %s", path, chain_err_code(err), msg);
        goto fail;
    }

    if (submit_reg_new(&n->reg, n->chain, n->genesis->chain_id, node_forward, n) != CHAIN_OK ||
        fsm_new(&n->fsm, n->chain, n->id, n->reg, &n->stop_flag) != CHAIN_OK) {
        snprintf(errmsg, errmsg_len, "out of memory");
        goto fail;
    }
    submit_reg_set_latency(n->reg, latency_hook, n);

    /* Addresses: the command line wins, then the ledger, then genesis. */
    chain_node_info self;
    bool known = node_lookup(n, &self);
    if (!known && !cfg->join) {
        snprintf(errmsg, errmsg_len,
                 "--id %llu: not a node of this network (start a node added by node.add "
                 "with --join --raft ADDR --http ADDR)",
                 (unsigned long long)n->id);
        goto fail;
    }
    snprintf(n->raft_addr, sizeof n->raft_addr, "%s",
             cfg->raft_addr ? cfg->raft_addr
             : known        ? self.raft_addr
                            : "");
    snprintf(n->http_addr, sizeof n->http_addr, "%s",
             cfg->http_addr ? cfg->http_addr
             : known        ? self.http_addr
                            : "");
    if (!n->raft_addr[0] || !n->http_addr[0]) {
        snprintf(errmsg, errmsg_len,
                 "--id %llu: no raft/http address known; give --raft and --http",
                 (unsigned long long)n->id);
        goto fail;
    }
    if (has_key && known) {
        uint8_t pub[CHAIN_KEY_LEN];
        if (chain_key_pub(pub, seckey) != CHAIN_OK || memcmp(pub, self.pub, CHAIN_KEY_LEN) != 0) {
            snprintf(errmsg, errmsg_len, "--key %s: not the key registered for node %llu",
                     cfg->key_path, (unsigned long long)n->id);
            goto fail;
        }
    }

    /* consensus */
    cons_config cc;
    memset(&cc, 0, sizeof cc);
    cc.id = n->id;
    _Static_assert(sizeof cc.chain_id == CHAIN_HASH_LEN, "the chain id is what frames carry");
    memcpy(cc.chain_id, n->genesis->chain_id, sizeof cc.chain_id);
    cc.data_dir = cfg->data_dir; /* consensus keeps DIR/raft */
    chain_node_info members[CHAIN_NODES_MAX];
    size_t nm = fsm_members(n->fsm, members, CHAIN_NODES_MAX);
    for (size_t i = 0; i < nm && cc.npeers < CONS_PEERS_MAX; i++) {
        cons_peer *p = &cc.peers[cc.npeers++];
        p->id = members[i].id;
        snprintf(p->addr, sizeof p->addr, "%s",
                 members[i].id == n->id ? n->raft_addr : members[i].raft_addr);
    }
    if (!known && cc.npeers < CONS_PEERS_MAX) {
        cons_peer *p = &cc.peers[cc.npeers++];
        p->id = n->id;
        snprintf(p->addr, sizeof p->addr, "%s", n->raft_addr);
    }
    cc.join = cfg->join;
    cc.block_linger_us = NODE_BLOCK_LINGER_US;
    cc.snapshot_threshold = (unsigned)cfg->snapshot_threshold;
    if (cc.snapshot_threshold > 0 && cc.snapshot_threshold < 256)
        cc.snapshot_trailing = cc.snapshot_threshold / 2; /* small thresholds: tests */
    cc.fsm = (cons_fsm){
        .ctx = n->fsm,
        .apply = fsm_apply_cb,
        .applied_index = fsm_applied_index_cb,
        .snapshot = fsm_snapshot_cb,
        .restore = fsm_restore_cb,
        .build = fsm_build_cb,
        .members = fsm_members_cb,
        .leader_changed = fsm_leader_changed_cb,
    };
    if (cons_start(&n->cons, &cc, msg, sizeof msg) != 0) {
        snprintf(errmsg, errmsg_len, "start consensus on %s (%s/raft): %s", n->raft_addr,
                 cfg->data_dir, msg);
        goto fail;
    }
    atomic_store(&n->cons_ready, n->cons);
    node_log(NODE_LOG_INFO, "raft listening on %s (%zu members known%s)", n->raft_addr, cc.npeers,
             cfg->join ? ", joining" : "");

    err = scanq_start(&n->scanq, n->chain, n->genesis->chain_id, has_key ? seckey : NULL,
                      node_forward, n);
    explicit_bzero(seckey, sizeof seckey);
    has_key = false;
    if (err != CHAIN_OK) {
        snprintf(errmsg, errmsg_len, "scan queue: %s", chain_err_code(err));
        goto fail;
    }
    if (!cfg->key_path)
        node_log(NODE_LOG_WARN, "no --key: scans are counted here but not replicated");

    /* gateway */
    snprintf(n->admin_token, sizeof n->admin_token, "%s", cfg->admin_token ? cfg->admin_token : "");
    snprintf(n->region_header, sizeof n->region_header, "%s",
             cfg->region_header ? cfg->region_header : "");
    gw_config gc = {
        .listen = n->http_addr,
        .region_header = cfg->region_header ? n->region_header : NULL,
        .admin_token = cfg->admin_token ? n->admin_token : NULL,
        .threads = cfg->http_threads,
    };
    gw_deps deps = {
        .chain = n->chain,
        .genesis = n->genesis,
        .node_id = n->id,
        .resolver = n->http_addr,
        .ctx = n,
        .submit = gw_submit_hook,
        .submit_async = gw_submit_async_hook,
        .status = gw_status_hook,
        .record_scan = gw_record_scan_hook,
    };
    if (gw_start(&n->gw, &gc, &deps, msg, sizeof msg) != 0) {
        snprintf(errmsg, errmsg_len, "start gateway: %s", msg);
        goto fail;
    }
    node_log(NODE_LOG_INFO, "http listening on %s", n->http_addr);

    if (pthread_create(&n->monitor, NULL, monitor_main, n) == 0)
        n->monitor_running = true;
    node_log(NODE_LOG_INFO, "node %llu started", (unsigned long long)n->id);
    *out = n;
    return 0;

fail:
    if (has_key)
        explicit_bzero(seckey, sizeof seckey);
    node_stop(n);
    return -1;
}

void node_stop(node *n)
{
    if (!n)
        return;
    atomic_store(&n->stop_flag, true);
    if (n->monitor_running) {
        pthread_mutex_lock(&n->mu);
        n->stopping = true;
        pthread_cond_broadcast(&n->cv);
        pthread_mutex_unlock(&n->mu);
        pthread_join(n->monitor, NULL);
    }
    /* Release blocked submitters first: the gateway finishes in-flight requests. */
    if (n->reg)
        submit_reg_shutdown(n->reg);
    if (n->gw) {
        gw_stop(n->gw);
        n->gw = NULL;
        node_log(NODE_LOG_INFO, "http stopped");
    }
    scanq_stop(n->scanq);
    n->scanq = NULL;
    if (n->cons) {
        atomic_store(&n->cons_ready, NULL);
        cons_stop(n->cons);
        n->cons = NULL;
        node_log(NODE_LOG_INFO, "consensus stopped");
    }
    fsm_free(n->fsm);
    submit_reg_free(n->reg);
    if (n->chain)
        chain_close(n->chain);
    chain_genesis_free(n->genesis);
    explicit_bzero(n->admin_token, sizeof n->admin_token);
    pthread_cond_destroy(&n->cv);
    pthread_mutex_destroy(&n->mu);
    free(n);
}
