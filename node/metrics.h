/*
 * metrics.h — the gateway's Prometheus counters: requests by route and status,
 * scans recorded by kind, a commit latency histogram; rendered with the Raft
 * status and ledger size the caller passes in.
 *
 * Counters are relaxed atomics in fixed arrays sized at creation, so recording
 * never allocates or locks and is safe from any thread.
 */
#ifndef PROVENA_NODE_METRICS_H
#define PROVENA_NODE_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "chain/chain.h"
#include "replica/replica.h"

#define METRICS_ROUTES_MAX 64

/* What GET /api/v1/status and /metrics show: the engine's status and the
 * scan queue's counters (scans dropped: queue full or batch refused;
 * scans batches submitted). */
typedef struct gw_status {
    replica_status replica;
    uint64_t scans_dropped, scan_batches;
    /* from the ledger: who operates this node and each peer (index as in
     * replica.peers), and whether that participant is revoked */
    char operator_id[CHAIN_ID_MAX + 1];
    bool operator_revoked;
    struct {
        char operator_id[CHAIN_ID_MAX + 1];
        bool revoked;
    } peer_ops[CHAIN_NODES_MAX];
} gw_status;

typedef struct gw_metrics gw_metrics;

/* route_names[nroutes] are borrowed (static strings) and must outlive m.
 * NULL on OOM or nroutes > METRICS_ROUTES_MAX. */
gw_metrics *metrics_new(const char *const *route_names, size_t nroutes);
void metrics_free(gw_metrics *m);

/* One answered request (route index < nroutes, HTTP status). */
void metrics_request(gw_metrics *m, size_t route, unsigned status);
/* One scan handed to record_scan; kind is enum chain_scan_kind. */
void metrics_scan(gw_metrics *m, int kind);
void metrics_rate_limited(gw_metrics *m);
/* One scan or report of a code that does not parse as GTIN + serial. */
void metrics_scan_bad_code(gw_metrics *m);
/* Commit latency of one submission, microseconds. */
void metrics_commit_latency(gw_metrics *m, uint64_t usec);

/* The Prometheus text exposition (format 0.0.4). st and head may be NULL.
 * *out malloc'd, caller frees; -1 on OOM. */
int metrics_render(gw_metrics *m, char **out, size_t *out_len, const gw_status *st,
                   const chain_head *head, uint64_t lmdb_bytes);

#endif
