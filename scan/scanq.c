/*
 * scanq.c — public scans, batched into node-signed `scans` transactions.
 *
 * Gateway threads call scanq_record for every resolution; it copies the record
 * into a fixed buffer of SCANQ_MAX under a mutex and returns. A full buffer
 * only counts (dropped), so memory stays bounded whatever the scan rate. One
 * flusher thread wakes every SCANQ_FLUSH_MS (or as soon as a batch is full),
 * swaps the buffer for an empty one, and turns it into scans transactions of
 * at most SCANQ_BATCH_MAX records, signed with the node key and handed to
 * consensus without waiting. The dropped count rides in the next batch's
 * `dropped` field, so the ledger knows how much it did not see.
 *
 * Nonces must be contiguous per signer. chain_nonce_next reads the applied
 * state, which lags behind batches still in flight, so the flusher continues
 * from the last nonce it used while the applied nonce keeps catching up. A
 * batch lost on the way (a leader change) would leave a hole that refuses every
 * later batch, so when the applied nonce has not moved for SCANQ_LOST_MS while
 * batches are outstanding, the flusher restarts from the applied nonce.
 */
#include "scan/scanq.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log/log.h"
#include "mono/mono.h"

struct scanq {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t thread;
    bool stopping;
    chain *chain;
    uint8_t chain_id[CHAIN_HASH_LEN];
    uint8_t seckey[CHAIN_SECKEY_LEN];
    uint8_t pub[CHAIN_KEY_LEN];
    bool has_key;
    scanq_submit_fn submit;
    void *submit_ctx;
    chain_scan *buf, *spare; /* SCANQ_MAX each; buf fills, spare is flushed */
    size_t n;
    uint64_t pending_dropped; /* not yet reported in a batch */
    uint64_t last_nonce;      /* last nonce signed */
    uint64_t seen_next;       /* chain_nonce_next at the last flush */
    uint64_t stalled_since;   /* ms: when seen_next last moved */
    scanq_stats stats;
};

/* An empty hint is no hint; anything else must be an ISO region code. */
static bool region_ok(const char *s)
{
    size_t n = strnlen(s, CHAIN_REGION_MAX + 1);
    return n == 0 || chain_region_valid(s, n);
}

void scanq_record(scanq *q, const chain_scan *scan)
{
    pthread_mutex_lock(&q->mu);
    q->stats.recorded++;
    bool valid =
        scan->kind >= CHAIN_SCAN_SCAN && scan->kind <= CHAIN_SCAN_REPORT &&
        gs1_gtin_valid(scan->id.gtin, strnlen(scan->id.gtin, sizeof scan->id.gtin)) &&
        gs1_serial_valid(scan->id.serial, strnlen(scan->id.serial, sizeof scan->id.serial));
    if (!q->stopping && valid && q->n < SCANQ_MAX) {
        chain_scan *s = &q->buf[q->n++];
        *s = *scan;
        s->region[CHAIN_REGION_MAX] = '\0';
        s->note[CHAIN_NOTE_MAX] = '\0';
        if (!region_ok(s->region))
            s->region[0] = '\0'; /* an unusable hint is no hint */
        if (q->n == SCANQ_BATCH_MAX)
            pthread_cond_signal(&q->cv);
    } else {
        q->pending_dropped++;
        q->stats.dropped++;
    }
    pthread_mutex_unlock(&q->mu);
}

void scanq_stats_get(scanq *q, scanq_stats *out)
{
    pthread_mutex_lock(&q->mu);
    *out = q->stats;
    pthread_mutex_unlock(&q->mu);
}

/* Signs and submits records[0..n) with `dropped` folded in. false when the
 * batch could not be sent (its records then count as dropped). */
static bool flush_batch(scanq *q, chain_scan *records, size_t n, uint64_t dropped)
{
    chain_tx tx;
    memset(&tx, 0, sizeof tx);
    tx.type = CHAIN_TX_SCANS;
    memcpy(tx.chain, q->chain_id, CHAIN_HASH_LEN);
    tx.time = (uint64_t)time(NULL);
    tx.scans = records; /* borrowed: never chain_tx_free this tx */
    tx.nscans = n;
    tx.dropped = dropped;

    uint64_t applied_next = 1;
    chain_rd *rd;
    if (chain_rd_begin(q->chain, &rd) == CHAIN_OK) {
        applied_next = chain_nonce_next(rd, q->pub);
        chain_rd_end(rd);
    }
    uint64_t now = mono_ms();
    if (applied_next != q->seen_next) {
        q->seen_next = applied_next;
        q->stalled_since = now;
    }
    if (applied_next > q->last_nonce) {
        q->last_nonce = applied_next - 1; /* everything sent has applied */
    } else if (now - q->stalled_since > SCANQ_LOST_MS) {
        log_msg(LOG_LEVEL_INFO, "scans: %llu batches outstanding for %u ms; resuming at nonce %llu",
                (unsigned long long)(q->last_nonce + 1 - applied_next), SCANQ_LOST_MS,
                (unsigned long long)applied_next);
        q->last_nonce = applied_next - 1;
        q->stalled_since = now;
    }
    uint64_t nonce = q->last_nonce + 1;
    tx.nonce = nonce;

    uint8_t *enc = NULL;
    size_t len = 0;
    if (chain_tx_sign(&tx, q->seckey) != CHAIN_OK || chain_tx_encode(&enc, &len, &tx) != CHAIN_OK) {
        log_msg(LOG_LEVEL_WARN, "scans: could not encode a batch of %zu records", n);
        free(enc);
        return false;
    }
    int res = q->submit(q->submit_ctx, enc, len);
    free(enc);
    if (res != 0) {
        log_msg(LOG_LEVEL_DEBUG, "scans: batch of %zu records not submitted (%d)", n, res);
        return false;
    }
    q->last_nonce = nonce;
    log_msg(LOG_LEVEL_DEBUG, "scans: batch nonce %llu, %zu records, %llu dropped",
            (unsigned long long)nonce, n, (unsigned long long)dropped);
    return true;
}

/* Flushes what the buffer holds. Called by the flusher with the lock held. */
static void flush_locked(scanq *q)
{
    if (q->n == 0)
        return; /* a dropped count alone waits for the next records */
    chain_scan *records = q->buf;
    size_t n = q->n;
    uint64_t dropped = q->pending_dropped;
    q->buf = q->spare;
    q->spare = records;
    q->n = 0;
    q->pending_dropped = 0;
    pthread_mutex_unlock(&q->mu);

    uint64_t lost = 0, batches = 0;
    for (size_t off = 0; off < n; off += SCANQ_BATCH_MAX) {
        size_t k = n - off < SCANQ_BATCH_MAX ? n - off : SCANQ_BATCH_MAX;
        if (!q->has_key) {
            lost += k;
            continue;
        }
        if (flush_batch(q, records + off, k, dropped + lost)) {
            dropped = lost = 0;
            batches++;
        } else {
            lost += k;
        }
    }

    pthread_mutex_lock(&q->mu);
    q->pending_dropped += dropped + lost;
    q->stats.batches += batches;
    if (q->has_key)
        q->stats.dropped += lost;
}

static void *flusher_main(void *arg)
{
    scanq *q = arg;
    pthread_setname_np(pthread_self(), "scan-flusher");
    pthread_mutex_lock(&q->mu);
    while (!q->stopping) {
        struct timespec ts;
        mono_deadline(&ts, mono_us() + SCANQ_FLUSH_MS * 1000u);
        while (!q->stopping && q->n < SCANQ_BATCH_MAX)
            if (pthread_cond_timedwait(&q->cv, &q->mu, &ts) != 0)
                break;
        flush_locked(q);
    }
    flush_locked(q);
    pthread_mutex_unlock(&q->mu);
    return NULL;
}

int scanq_start(scanq **out, chain *c, const uint8_t chain_id[CHAIN_HASH_LEN],
                const uint8_t *seckey, scanq_submit_fn submit, void *submit_ctx)
{
    scanq *q = calloc(1, sizeof *q);
    if (!q)
        return CHAIN_ERR_NOMEM;
    q->buf = calloc(SCANQ_MAX, sizeof *q->buf);
    q->spare = calloc(SCANQ_MAX, sizeof *q->spare);
    if (!q->buf || !q->spare)
        goto fail;
    q->chain = c;
    memcpy(q->chain_id, chain_id, CHAIN_HASH_LEN);
    q->submit = submit;
    q->submit_ctx = submit_ctx;
    if (seckey) {
        if (chain_key_pub(q->pub, seckey) != CHAIN_OK)
            goto fail;
        memcpy(q->seckey, seckey, CHAIN_SECKEY_LEN);
        q->has_key = true;
    }
    if (mono_cond_init(&q->cv) != 0)
        goto fail;
    pthread_mutex_init(&q->mu, NULL);
    if (pthread_create(&q->thread, NULL, flusher_main, q) != 0) {
        pthread_cond_destroy(&q->cv);
        pthread_mutex_destroy(&q->mu);
        goto fail;
    }
    *out = q;
    return CHAIN_OK;
fail:
    explicit_bzero(q->seckey, sizeof q->seckey);
    free(q->buf);
    free(q->spare);
    free(q);
    return CHAIN_ERR_NOMEM;
}

void scanq_stop(scanq *q)
{
    if (!q)
        return;
    pthread_mutex_lock(&q->mu);
    q->stopping = true;
    pthread_cond_signal(&q->cv);
    pthread_mutex_unlock(&q->mu);
    pthread_join(q->thread, NULL);
    explicit_bzero(q->seckey, sizeof q->seckey);
    pthread_cond_destroy(&q->cv);
    pthread_mutex_destroy(&q->mu);
    free(q->buf);
    free(q->spare);
    free(q);
}
