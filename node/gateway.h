/*
 * gateway.h — the HTTP gateway of provena-node (libmicrohttpd).
 *
 * The gateway answers Digital Link scans, the JSON API, labels and metrics.
 * It reads the ledger through chain_rd snapshots on its own threads and never
 * waits for the consensus thread; writes go through the submit hook the node
 * supplies. It knows nothing of Raft beyond the status the node reports.
 */
#ifndef PROVENA_NODE_GATEWAY_H
#define PROVENA_NODE_GATEWAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chain/chain.h"

#define GW_BODY_MAX        (8u << 20)  /* largest POST body (a batch of txs) */
#define GW_BATCH_MAX       1024        /* transactions in one POST /api/v1/tx batch */
#define GW_CONN_MAX        1024        /* concurrent connections */
#define GW_CONN_TIMEOUT_S  10          /* idle/slow client timeout */
#define GW_WAIT_MS_DEFAULT 10000       /* how long POST /api/v1/tx waits for commit */
#define GW_BLOCKS_MAX      1000        /* blocks in one GET /api/v1/blocks range */
#define GW_BLOCKS_BYTES    (16u << 20) /* their bytes (one bigger block still goes alone) */

typedef struct gw gw;

/* Raft and scan-queue status the node reports to the gateway (copied out, no Raft types). */
typedef struct gw_status {
    uint64_t id, leader_id, term, commit_index, last_applied;
    /* the node's scan queue: scans dropped (queue full, batch refused) and
     * scans batches submitted */
    uint64_t scans_dropped, scan_batches;
    const char *role; /* "leader", "follower", "candidate", "stopped" (static string) */
    size_t npeers;
    struct {
        uint64_t id;
        char raft_addr[CHAIN_ADDR_MAX + 1];
        bool voter;
    } peers[CHAIN_NODES_MAX];
} gw_status;

/* Outcome of a submission. */
enum gw_submit_result {
    GW_SUBMIT_COMMITTED = 0, /* receipt filled (accepted or refused by a rule) */
    GW_SUBMIT_QUEUED,        /* wait=false: accepted for ordering, receipt unknown yet */
    GW_SUBMIT_REJECTED,      /* refused before ordering (precheck): receipt.code says why */
    GW_SUBMIT_NO_LEADER,     /* no leader known: retry later */
    GW_SUBMIT_BUSY,          /* queue full: retry later */
    GW_SUBMIT_TIMEOUT,       /* not committed within the wait; outcome unknown (look up by id) */
    GW_SUBMIT_STOPPING,
};

/* What the node lends the gateway. All hooks are thread-safe and may block
 * (submit blocks up to wait_ms). Pointers stay valid until gw_stop returns. */
typedef struct gw_deps {
    chain *chain;
    const chain_genesis *genesis;
    uint64_t node_id;
    const char *resolver; /* base URL printed in labels, e.g. http://127.0.0.1:8101 */
    void *ctx;
    /* Prechecks, submits one encoded tx and, when wait_ms > 0, waits for its
     * receipt. receipt->tx is always filled when the tx decoded. */
    int (*submit)(void *ctx, chain_receipt *receipt, const uint8_t *tx, size_t len,
                  unsigned wait_ms);
    /* The same without blocking (may be NULL: submit is used): done(done_ctx,
     * result, receipt) is called exactly once, on any thread, possibly before
     * submit_async returns. wait_ms > 0. */
    void (*submit_async)(void *ctx, const uint8_t *tx, size_t len, unsigned wait_ms,
                         void (*done)(void *done_ctx, int result, const chain_receipt *receipt),
                         void *done_ctx);
    void (*status)(void *ctx, gw_status *out);
    /* Records one public scan/probe/report for the next scans batch; never blocks. */
    void (*record_scan)(void *ctx, const chain_scan *scan);
} gw_deps;

typedef struct gw_config {
    const char *listen;        /* "http://127.0.0.1:8101" or "127.0.0.1:8101" */
    const char *region_header; /* header a fronting proxy sets with the ISO region, or NULL */
    const char *admin_token;   /* dashboard admin token, or NULL */
    unsigned threads;          /* worker threads; 0: number of cores */
} gw_config;

/* Starts listening. deps is copied. Returns 0, or -1 with errmsg filled
 * ("listen 127.0.0.1:8101: Address already in use"). */
int gw_start(gw **out, const gw_config *cfg, const gw_deps *deps, char *errmsg, size_t errmsg_len)
    __attribute__((warn_unused_result));

/* Stops accepting, finishes in-flight requests, frees. NULL-safe. */
void gw_stop(gw *g);

/* Metrics the node feeds (thread-safe): commit latency of one submission in
 * microseconds, observed when its receipt arrives. */
void gw_metrics_commit_latency(gw *g, uint64_t usec);

#endif
