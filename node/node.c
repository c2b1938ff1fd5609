/*
 * node.c — provena-node's wiring: genesis → ledger → engine → scans → gateway.
 *
 * node_start opens DIR/chain, resolves this node's addresses (command line,
 * then the ledger's node registry, then genesis), opens the replicated-ledger
 * engine (replica/replica.h: consensus on DIR/raft with the ledger as its
 * state machine), then the scan queue (scan/scanq.h) and the gateway. A
 * monitor thread polls the engine's status and logs role, leader and term
 * changes, one line each. node_stop goes in reverse: submitters are released
 * first (so the gateway's workers can finish), then the gateway, the scan
 * queue's last flush, the engine (a leader transfers leadership), ledger.
 *
 * Node states:  STARTING --node_start--> RUNNING --node_stop--> STOPPED
 */
#include "node/node.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "chain/chain.h"
#include "genesis/genesis.h"
#include "log/log.h"
#include "mono/mono.h"
#include "node/gateway.h"
#include "replica/replica.h"
#include "scan/scan.h"

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

/* Debian's geoip-database: the gateway's country lookup when none is named. */
#define NODE_GEOIP4_DEFAULT "/usr/share/GeoIP/GeoIP.dat"
#define NODE_GEOIP6_DEFAULT "/usr/share/GeoIP/GeoIPv6.dat"

/* ---- node --------------------------------------------------------------------- */

struct node {
    uint64_t id;
    chain_genesis *genesis;
    chain *chain;
    replica *replica;
    scanq *scanq;
    gw *gw;
    char raft_addr[CHAIN_ADDR_MAX + 1];
    char http_addr[CHAIN_ADDR_MAX + 1];
    char admin_token[256];
    char region_header[128];

    pthread_t monitor;
    bool monitor_running;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stopping;
};

int node_key_load(uint8_t seckey[32], const char *path, char *errmsg, size_t errmsg_len)
{
    uint8_t buf[160];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(errmsg, errmsg_len, "--key %s: %s", path, strerror(errno));
        return -1;
    }
    if (node_secret_fd_check(fd, "--key", path, errmsg, errmsg_len) != 0) {
        close(fd);
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

/* ---- hooks: the scan queue's batches go to the engine, its latencies to the metrics ---- */

static int scan_forward(void *ctx, const uint8_t *tx, size_t len)
{
    node *n = ctx;
    return n->replica && replica_forward(n->replica, tx, len) == REPLICA_QUEUED ? 0 : -1;
}

static void latency_hook(void *ctx, uint64_t usec)
{
    node *n = ctx;
    if (n->gw)
        gw_metrics_commit_latency(n->gw, usec);
}

/* ---- monitor: one log line per role / leader / term change; the ledger's next pages ---- */

#define NODE_OPERATOR_ROUNDS 25 /* the operator's standing is read every 25 rounds (5 s) */

/* The ledger says the participant operating this node is revoked. */
static bool operator_revoked(node *n)
{
    chain_rd *rd;
    chain_node_info self;
    chain_participant p;
    if (chain_rd_begin(n->chain, &rd) != CHAIN_OK)
        return false;
    bool revoked = chain_node_get(rd, n->id, &self) == CHAIN_OK && self.operator_id[0] &&
                   chain_participant_get(rd, &p, self.operator_id) == CHAIN_OK && p.revoked;
    chain_rd_end(rd);
    return revoked;
}

static void *monitor_main(void *arg)
{
    node *n = arg;
    pthread_setname_np(pthread_self(), "monitor");
    int last_role = -2; /* no role yet (-1 is "stopped") */
    uint64_t last_leader = UINT64_MAX, last_term = 0;
    bool prepare_failed = false, op_revoked = false;
    unsigned round = 0;
    pthread_mutex_lock(&n->mu);
    while (!n->stopping) {
        pthread_mutex_unlock(&n->mu);
        if (round++ % NODE_OPERATOR_ROUNDS == 0 && operator_revoked(n) != op_revoked) {
            op_revoked = !op_revoked;
            if (op_revoked)
                log_msg(LOG_LEVEL_WARN,
                        "the participant operating this node is revoked in the ledger: the "
                        "node still votes; remove it (provena node remove --id %llu) or hand "
                        "it to another operator (docs/OPERATIONS.md)",
                        (unsigned long long)n->id);
            else
                log_msg(LOG_LEVEL_INFO, "this node's operator is no longer revoked");
        }
        int prc = chain_storage_prepare(n->chain, NODE_LEDGER_AHEAD);
        if (prc != CHAIN_OK && !prepare_failed) {
            log_msg(LOG_LEVEL_WARN,
                    "could not prepare the ledger file's next pages (%s; last OS error: %s); "
                    "writes still work, at a higher cost per page",
                    chain_err_code(prc), strerror(errno));
            prepare_failed = true;
        }
        replica_status st;
        replica_status_get(n->replica, &st);
        if (st.role != last_role || st.leader_id != last_leader) {
            if (st.leader_id)
                log_msg(LOG_LEVEL_INFO, "role %s, term %llu, leader %llu", st.role_name,
                        (unsigned long long)st.term, (unsigned long long)st.leader_id);
            else
                log_msg(LOG_LEVEL_INFO, "role %s, term %llu, no leader", st.role_name,
                        (unsigned long long)st.term);
            last_role = st.role;
            last_leader = st.leader_id;
            last_term = st.term;
        } else if (st.term != last_term) {
            log_msg(LOG_LEVEL_DEBUG, "term %llu", (unsigned long long)st.term);
            last_term = st.term;
        }
        pthread_mutex_lock(&n->mu);
        struct timespec ts;
        mono_deadline(&ts, mono_us() + NODE_MONITOR_MS * 1000u);
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
    size_t k = 0;
    chain_rd *rd;
    if (chain_rd_begin(n->chain, &rd) == CHAIN_OK) {
        k = chain_nodes(rd, nodes, CHAIN_NODES_MAX);
        chain_rd_end(rd);
    }
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

/* The ledger lists this node as removed. */
static bool node_removed(node *n)
{
    chain_rd *rd;
    chain_node_info self;
    if (chain_rd_begin(n->chain, &rd) != CHAIN_OK)
        return false;
    bool removed = chain_node_get(rd, n->id, &self) == CHAIN_OK && self.removed;
    chain_rd_end(rd);
    return removed;
}

/* Loads the genesis document of cfg. */
static int load_genesis(node *n, const node_config *cfg, char *errmsg, size_t errmsg_len)
{
    char msg[384];
    int err = genesis_load(&n->genesis, cfg->genesis_path, msg, sizeof msg);
    if (err != CHAIN_OK) {
        snprintf(errmsg, errmsg_len, "--genesis %s: %s", cfg->genesis_path, msg);
        return -1;
    }
    char cid[2 * CHAIN_HASH_LEN + 1];
    chain_hex(cid, n->genesis->chain_id, CHAIN_HASH_LEN);
    log_msg(LOG_LEVEL_INFO, "network \"%s\", chain id %s", n->genesis->chain_name, cid);
    return 0;
}

/* Opens the ledger under cfg->data_dir/chain (creating the directories). */
static int open_ledger(node *n, const node_config *cfg, char *errmsg, size_t errmsg_len)
{
    char path[NODE_PATH_MAX], msg[384];
    int err;
    if (mkdir_p(cfg->data_dir, errmsg, errmsg_len) != 0)
        return -1;
    snprintf(path, sizeof path, "%s/chain", cfg->data_dir);
    if (mkdir_p(path, errmsg, errmsg_len) != 0)
        return -1;
    /* One fsync per ledger commit: the Raft log keeps every entry after the last
     * marker, and a marker is taken only after the ledger is synced. */
    chain_options copt = {.map_size = 0, .no_sync = cfg->no_sync, .defer_meta_sync = true};
    err = chain_open(&n->chain, path, n->genesis, &copt, msg, sizeof msg);
    if (err != CHAIN_OK) {
        snprintf(errmsg, errmsg_len, "open chain %s: %s: %s", path, chain_err_code(err), msg);
        return -1;
    }
    return 0;
}

/* Who this node is: refuses a removed or unknown id, settles its addresses
 * (the command line wins, then the ledger, then genesis), checks that TLS
 * matches the http address and that the key is the one registered. */
static int settle_identity(node *n, const node_config *cfg, const uint8_t *seckey, char *errmsg,
                           size_t errmsg_len)
{
    chain_node_info self;
    bool known = node_lookup(n, &self);
    if (node_removed(n)) { /* genesis may still list it: the ledger has the last word */
        snprintf(errmsg, errmsg_len,
                 "--id %llu: this node was removed from the network (node.remove); it takes no "
                 "part under this id again (to serve again, add a node with a new id and key)",
                 (unsigned long long)n->id);
        return -1;
    }
    if (!known && !cfg->join) {
        snprintf(errmsg, errmsg_len,
                 "--id %llu: not a node of this network (start a node added by node.add "
                 "with --join --raft ADDR --http ADDR)",
                 (unsigned long long)n->id);
        return -1;
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
        return -1;
    }
    /* Node-to-node links: mutual TLS unless a test says otherwise. */
    bool tls_addr = strncmp(n->raft_addr, "tls+tcp://", 10) == 0;
    if (!tls_addr && !cfg->insecure_plaintext) {
        snprintf(errmsg, errmsg_len,
                 "raft address %s: plaintext node-to-node links are refused; use "
                 "tls+tcp:// with --raft-tls FILE (--insecure-plaintext only for tests)",
                 n->raft_addr);
        return -1;
    }
    if (tls_addr && !cfg->raft_tls_path) {
        snprintf(errmsg, errmsg_len,
                 "raft address %s: --raft-tls FILE required (provena key new --tls FILE)",
                 n->raft_addr);
        return -1;
    }
    if (!tls_addr && cfg->raft_tls_path) {
        snprintf(errmsg, errmsg_len, "--raft-tls: the raft address %s is not tls+tcp://",
                 n->raft_addr);
        return -1;
    }
    bool https = strncmp(n->http_addr, "https://", 8) == 0;
    if (https != (cfg->tls_cert_pem != NULL)) {
        snprintf(errmsg, errmsg_len,
                 https ? "http address %.200s is https://: give --tls-cert and --tls-key"
                       : "--tls-cert: the http address %.200s says plain http:// (name it "
                         "https:// in genesis, node.add or --http)",
                 n->http_addr);
        return -1;
    }
    if (seckey && known) {
        uint8_t pub[CHAIN_KEY_LEN];
        if (chain_key_pub(pub, seckey) != CHAIN_OK || memcmp(pub, self.pub, CHAIN_KEY_LEN) != 0) {
            snprintf(errmsg, errmsg_len, "--key %s: not the key registered for node %llu",
                     cfg->key_path, (unsigned long long)n->id);
            return -1;
        }
    }
    return 0;
}

/* The engine (replica) and the scan queue, which signs scans with seckey
 * (NULL: scans are counted here but not replicated). */
static int start_engine(node *n, const node_config *cfg, const uint8_t *seckey, char *errmsg,
                        size_t errmsg_len)
{
    replica_config rc = {
        .id = n->id,
        .data_dir = cfg->data_dir,
        .raft_addr = n->raft_addr,
        .tls_file = strncmp(n->raft_addr, "tls+tcp://", 10) == 0 ? cfg->raft_tls_path : NULL,
        .join = cfg->join,
        .snapshot_threshold = (unsigned)cfg->snapshot_threshold,
        .block_linger_us = NODE_BLOCK_LINGER_US,
        .disk_reserve = cfg->disk_reserve,
        .peer_ca = cfg->peer_ca,
    };
    _Static_assert(sizeof rc.chain_id == CHAIN_HASH_LEN, "the chain id is what frames carry");
    memcpy(rc.chain_id, n->genesis->chain_id, sizeof rc.chain_id);
    if (replica_open(&n->replica, n->chain, &rc, errmsg, errmsg_len) != 0)
        return -1;
    replica_set_latency(n->replica, latency_hook, n);
    int err = scanq_start(&n->scanq, n->chain, n->genesis->chain_id, seckey, scan_forward, n);
    if (err != CHAIN_OK) {
        snprintf(errmsg, errmsg_len, "scan queue: %s", chain_err_code(err));
        return -1;
    }
    if (!cfg->key_path)
        log_msg(LOG_LEVEL_WARN, "no --key: scans are counted here but not replicated");
    return 0;
}

/* The HTTP gateway on n->http_addr, calling the engine directly. */
static int start_gateway(node *n, const node_config *cfg, char *errmsg, size_t errmsg_len)
{
    char msg[384];
    snprintf(n->admin_token, sizeof n->admin_token, "%s", cfg->admin_token ? cfg->admin_token : "");
    snprintf(n->region_header, sizeof n->region_header, "%s",
             cfg->region_header ? cfg->region_header : "");
    const char *g4 = cfg->geoip4, *g6 = cfg->geoip6;
    if (!g4 && access(NODE_GEOIP4_DEFAULT, R_OK) == 0)
        g4 = NODE_GEOIP4_DEFAULT;
    if (!g6 && access(NODE_GEOIP6_DEFAULT, R_OK) == 0)
        g6 = NODE_GEOIP6_DEFAULT;
    if (g4 && strcmp(g4, "off") == 0)
        g4 = NULL;
    if (g6 && strcmp(g6, "off") == 0)
        g6 = NULL;
    if (!g4 && !g6)
        log_msg(LOG_LEVEL_WARN,
                "no GeoIP database: scans carry a region only from --trusted-proxy");
    if (!cfg->scan_secret)
        log_msg(LOG_LEVEL_INFO, "no --scan-secret-file: client hashes are keyed by the chain id "
                                "alone (anyone with the genesis can test a guessed address)");
    gw_config gc = {
        .listen = n->http_addr,
        .trusted_proxy = cfg->trusted_proxy,
        .geoip4 = g4,
        .geoip6 = g6,
        .scan_secret = cfg->scan_secret,
        .conn_per_client = cfg->conn_per_client,
        .tx_rate = cfg->tx_rate,
        .tx_burst = cfg->tx_burst,
        .region_header = cfg->region_header ? n->region_header : NULL,
        .admin_token = cfg->admin_token ? n->admin_token : NULL,
        .tls_cert_pem = cfg->tls_cert_pem,
        .tls_key_pem = cfg->tls_key_pem,
        .session_ttl_s = cfg->session_ttl_s,
        .threads = cfg->http_threads,
    };
    gw_deps deps = {
        .chain = n->chain,
        .genesis = n->genesis,
        .node_id = n->id,
        .resolver = n->http_addr,
        .replica = n->replica,
        .scanq = n->scanq,
    };
    if (gw_start(&n->gw, &gc, &deps, msg, sizeof msg) != 0) {
        snprintf(errmsg, errmsg_len, "start gateway: %s", msg);
        return -1;
    }
    log_msg(LOG_LEVEL_INFO, "http listening on %s", n->http_addr);
    return 0;
}

int node_start(node **out, const node_config *cfg, char *errmsg, size_t errmsg_len)
{
    uint8_t seckey[CHAIN_SECKEY_LEN];
    bool has_key = false;

    node *n = calloc(1, sizeof *n);
    if (!n) {
        snprintf(errmsg, errmsg_len, "out of memory");
        return -1;
    }
    n->id = cfg->id;
    pthread_mutex_init(&n->mu, NULL);
    if (mono_cond_init(&n->cv) != 0) {
        pthread_mutex_destroy(&n->mu);
        free(n);
        snprintf(errmsg, errmsg_len, "out of memory");
        return -1;
    }
    log_msg(LOG_LEVEL_INFO, "provena-node %llu starting: genesis %s, data %s",
            (unsigned long long)cfg->id, cfg->genesis_path, cfg->data_dir);
    if (load_genesis(n, cfg, errmsg, errmsg_len) != 0)
        goto fail;
    if (cfg->key_path) { /* read before anything is created on disk */
        if (node_key_load(seckey, cfg->key_path, errmsg, errmsg_len) != 0)
            goto fail;
        has_key = true;
    }
    if (open_ledger(n, cfg, errmsg, errmsg_len) != 0)
        goto fail;
    if (settle_identity(n, cfg, has_key ? seckey : NULL, errmsg, errmsg_len) != 0)
        goto fail;
    int rc = start_engine(n, cfg, has_key ? seckey : NULL, errmsg, errmsg_len);
    explicit_bzero(seckey, sizeof seckey); /* the scan queue keeps its own copy */
    has_key = false;
    if (rc != 0 || start_gateway(n, cfg, errmsg, errmsg_len) != 0)
        goto fail;
    if (pthread_create(&n->monitor, NULL, monitor_main, n) == 0)
        n->monitor_running = true;
    log_msg(LOG_LEVEL_INFO, "node %llu started", (unsigned long long)n->id);
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
    if (n->monitor_running) {
        pthread_mutex_lock(&n->mu);
        n->stopping = true;
        pthread_cond_broadcast(&n->cv);
        pthread_mutex_unlock(&n->mu);
        pthread_join(n->monitor, NULL);
    }
    /* Release blocked submitters first (and end a catch-up): the gateway
     * finishes in-flight requests. */
    replica_shutdown(n->replica);
    if (n->gw) {
        gw_stop(n->gw);
        n->gw = NULL;
        log_msg(LOG_LEVEL_INFO, "http stopped");
    }
    scanq_stop(n->scanq);
    n->scanq = NULL;
    if (n->replica) {
        replica_close(n->replica);
        n->replica = NULL;
        log_msg(LOG_LEVEL_INFO, "consensus stopped");
    }
    if (n->chain)
        chain_close(n->chain);
    chain_genesis_free(n->genesis);
    explicit_bzero(n->admin_token, sizeof n->admin_token);
    pthread_cond_destroy(&n->cv);
    pthread_mutex_destroy(&n->mu);
    free(n);
}
