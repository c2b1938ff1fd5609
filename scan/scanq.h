/*
 * scanq.h — the scan queue (node-private): public scans recorded by the
 * gateway, replicated as node-signed `scans` transactions about once a second.
 */
#ifndef PROVENA_SCAN_SCANQ_H
#define PROVENA_SCAN_SCANQ_H

#include <stddef.h>
#include <stdint.h>

#include "chain/chain.h"

#define SCANQ_MAX 4096 /* records buffered between flushes; more are counted, dropped */
#define SCANQ_BATCH_MAX                                                                            \
    1024 /* records per scans transaction (keeps it far below                                      \
            CHAIN_TX_MAX_BYTES even with full notes) */
#define SCANQ_FLUSH_MS 1000
#define SCANQ_LOST_MS  10000 /* outstanding batches with no progress this long are lost */
_Static_assert(SCANQ_BATCH_MAX <= CHAIN_SCANS_MAX, "a batch must be one valid scans tx");

typedef struct scanq scanq;

/* Hands one encoded, signed tx to consensus without waiting. Returns 0 when
 * taken, nonzero when refused (the batch's records then count as dropped).
 * Called on the flusher thread; must not block long. */
typedef int (*scanq_submit_fn)(void *ctx, const uint8_t *tx, size_t len);

typedef struct scanq_stats {
    uint64_t recorded; /* scans handed to scanq_record */
    uint64_t dropped;  /* counted but not listed (queue full or submit refused) */
    uint64_t batches;  /* scans transactions submitted */
} scanq_stats;

/* Starts the flusher thread. seckey (copied, wiped on stop) signs batches; with
 * seckey NULL scans are only counted. c is borrowed. 0 or a chain_err. */
int scanq_start(scanq **out, chain *c, const uint8_t chain_id[CHAIN_HASH_LEN],
                const uint8_t *seckey, scanq_submit_fn submit, void *submit_ctx) CHAIN_WUR;
/* Records one scan for the next batch. Never blocks beyond a short mutex;
 * thread-safe. */
void scanq_record(scanq *q, const chain_scan *scan);
void scanq_stats_get(scanq *q, scanq_stats *out);
/* Flushes what is queued once more, stops the thread, wipes the key. NULL-safe. */
void scanq_stop(scanq *q);

#endif
