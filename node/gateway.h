/*
 * gateway.h — the HTTP gateway of provena-node (libmicrohttpd).
 *
 * The gateway answers Digital Link scans, the JSON API, labels and metrics.
 * It reads the ledger through chain_rd snapshots on its own threads and never
 * waits for the consensus thread; writes go to the replicated-ledger engine
 * (replica/replica.h), public scans to the scan queue (scan/scanq.h). It
 * knows nothing of Raft beyond the status the engine reports.
 */
#ifndef PROVENA_NODE_GATEWAY_H
#define PROVENA_NODE_GATEWAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chain/chain.h"
#include "replica/replica.h"
#include "scan/scan.h"

#define GW_BODY_MAX        (8u << 20)  /* largest POST body (a batch of txs) */
#define GW_BATCH_MAX       1024        /* transactions in one POST /api/v1/tx batch */
#define GW_CONN_MAX        1024        /* concurrent connections */
#define GW_CONN_TIMEOUT_S  10          /* idle/slow client timeout */
#define GW_WAIT_MS_DEFAULT 10000       /* how long POST /api/v1/tx waits for commit */
#define GW_BLOCKS_MAX      1000        /* blocks in one GET /api/v1/blocks range */
#define GW_BLOCKS_BYTES    (16u << 20) /* their bytes (one bigger block still goes alone) */

typedef struct gw gw;

/* What the node lends the gateway; every pointer stays valid until gw_stop
 * returns. */
typedef struct gw_deps {
    chain *chain;
    const chain_genesis *genesis;
    uint64_t node_id;
    const char *resolver; /* base URL printed in labels, e.g. http://127.0.0.1:8101 */
    replica *replica;     /* submissions and status; NULL: this gateway takes none */
    scanq *scanq;         /* public scans/probes/reports; NULL: only counted in metrics */
} gw_deps;

#define GW_CONN_PER_CLIENT     64   /* default: concurrent connections from one address */
#define GW_TX_RATE             2000 /* default: transactions/s per client and per signer */
#define GW_TX_BURST            8192 /* default burst of each (a few full batches) */
#define GW_REPORT_UNIT_PER_DAY 1    /* reports one client may file about one unit a day */

typedef struct gw_config {
    const char *listen;          /* "http://127.0.0.1:8101" or "127.0.0.1:8101" */
    const char *trusted_proxy;   /* address of the fronting proxy whose X-Forwarded-For and
                                    region header are believed, or NULL */
    const char *region_header;   /* header that proxy sets with the ISO region, or NULL */
    const char *geoip4, *geoip6; /* libGeoIP country databases, or NULL */
    const char *scan_secret;     /* network secret of client hashes, or NULL (public key) */
    unsigned conn_per_client;    /* 0: GW_CONN_PER_CLIENT; UINT_MAX: no cap */
    double tx_rate;              /* 0: GW_TX_RATE; < 0: off */
    unsigned tx_burst;           /* 0: GW_TX_BURST */
    const char *admin_token;     /* dashboard break-glass token, or NULL */
    const char *tls_cert_pem;    /* HTTPS: certificate chain, PEM text; NULL: plain HTTP */
    const char *tls_key_pem;     /* HTTPS: its private key, PEM text (copied, wiped at stop) */
    unsigned session_ttl_s;      /* dashboard session lifetime; 0: GW_SESSION_TTL_S */
    unsigned threads;            /* worker threads; 0: number of cores */
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
