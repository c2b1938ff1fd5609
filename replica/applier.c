/*
 * applier.c — committed blocks into the ledger, in groups, off the consensus
 * thread (see applier.h for the contract and the states).
 *
 * The queue is a ring of APPLIER_QUEUE_MAX copies guarded by mu. The pusher
 * appends at the back and waits on `space` while the ring (or its byte
 * budget) is full; the applier thread takes a prefix of at most
 * APPLIER_GROUP_MAX blocks, applies it with chain_blocks_apply outside the
 * lock, and only then removes it from the ring (so `queued` counts blocks
 * being applied too, and drain waits for them). A group that found the disk
 * full (CHAIN_ERR_DISK_FULL: its LMDB transaction was aborted, nothing
 * written) stays at the front and is tried again every
 * APPLIER_DISK_RETRY_MS until space returns: the node goes on by itself.
 * Any other failed group marks the applier FAILED; its blocks and all later
 * ones stay unapplied, which is safe: consensus halts the node and Raft still
 * holds them.
 *
 * Deferring: while nobody on this node waits for a receipt (submit_waiting is
 * 0; typically a follower whose clients write elsewhere), the thread lets
 * blocks gather for up to defer_us after the oldest arrived, or until
 * APPLIER_DEFER_BLOCKS are queued, so one commit and one fsync serve many
 * blocks. A new waiter (submit_reg_on_wait), a drain or a stop ends the wait
 * at once. The Raft log holds every deferred block, so nothing is at risk;
 * readers of this node see the ledger that much later.
 */
#include "replica/applier.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log/log.h"
#include "replica/disk.h"
#include "mono/mono.h"

typedef struct item {
    uint64_t index;
    uint8_t *blk;
    size_t len;
    chain_block_ids ids; /* the consensus thread's peek of blk (has_ids) */
    bool has_ids;
    uint64_t t_us; /* when pushed (CLOCK_MONOTONIC) */
} item;

struct applier {
    chain *chain;
    submit_reg *reg;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t work, space, idle;
    item ring[APPLIER_QUEUE_MAX];
    size_t head, queued; /* queued includes the group being applied */
    size_t bytes;
    bool quit, failed;
    unsigned defer_us;                              /* applier_start's; 0: never defer */
    void (*on_members)(void *ctx, uint64_t height); /* set before the first push */
    void *on_members_ctx;
    bool disk_waiting; /* applier thread only: the last group found the disk full */
    _Atomic(struct disk_watch *) disk;
    bool deferring;          /* the thread waits for more blocks (push need not wake it) */
    unsigned draining;       /* applier_drain callers: no deferring */
    bool waiter_seen;        /* set by the on_wait hook: no deferring */
    uint64_t blocks, groups; /* applied, for the log line at stop */
};

/* Registry hook: somebody on this node now waits for a receipt. */
static void on_wait(void *ctx)
{
    applier *a = ctx;
    pthread_mutex_lock(&a->mu);
    a->waiter_seen = true;
    if (a->deferring)
        pthread_cond_signal(&a->work);
    pthread_mutex_unlock(&a->mu);
}

/* With the lock held and blocks queued: waits while deferring is allowed. */
static void defer(applier *a)
{
    a->waiter_seen = false;
    for (;;) {
        uint64_t until = a->ring[a->head].t_us + a->defer_us, now = mono_us();
        if (a->defer_us == 0 || a->quit || a->failed || a->draining || a->waiter_seen ||
            a->queued >= APPLIER_DEFER_BLOCKS || now >= until || submit_waiting(a->reg) > 0)
            break;
        struct timespec ts;
        mono_deadline(&ts, until);
        a->deferring = true;
        pthread_cond_timedwait(&a->work, &a->mu, &ts);
        a->deferring = false;
    }
}

/* After a group committed: what each block means for its waiters. */
static void report(applier *a, const item *it, const chain_apply_result *res)
{
    if (res->height == 0 && res->block_code == CHAIN_OK)
        return; /* index applied before (a replay after restart): nothing happened */
    if (res->block_code == CHAIN_OK) {
        submit_on_receipts(a->reg, res->receipts, res->nreceipts);
        if (res->members_changed) {
            log_msg(LOG_LEVEL_INFO, "block %llu changed membership or policy",
                    (unsigned long long)res->height);
            if (a->on_members)
                a->on_members(a->on_members_ctx, res->height);
        }
        log_msg(LOG_LEVEL_DEBUG, "applied index %llu block %llu (%zu txs)",
                (unsigned long long)it->index, (unsigned long long)res->height, res->nreceipts);
    } else {
        submit_on_skipped(a->reg, res->receipts, res->nreceipts);
        log_msg(LOG_LEVEL_DEBUG, "skipped index %llu (%s)", (unsigned long long)it->index,
                chain_err_code(res->block_code));
    }
}

enum group_result { GROUP_OK, GROUP_RETRY, GROUP_FAILED };

/* Applies ring[head .. head+n) (the lock is not held). GROUP_RETRY when the
 * disk had no space (nothing was written: the same group applies later),
 * GROUP_FAILED on another local failure. */
static int apply_group(applier *a, size_t n)
{
    uint64_t index[APPLIER_GROUP_MAX];
    const uint8_t *blks[APPLIER_GROUP_MAX];
    size_t lens[APPLIER_GROUP_MAX];
    const chain_block_ids *peeked[APPLIER_GROUP_MAX];
    chain_apply_result res[APPLIER_GROUP_MAX];
    if (n == 0 || n > APPLIER_GROUP_MAX)
        return n == 0 ? GROUP_OK : GROUP_FAILED;
    for (size_t i = 0; i < n; i++) {
        const item *it = &a->ring[(a->head + i) % APPLIER_QUEUE_MAX];
        index[i] = it->index;
        blks[i] = it->blk;
        lens[i] = it->len;
        peeked[i] = it->has_ids ? &it->ids : NULL;
    }
    char msg[256];
    int err =
        chain_blocks_apply_peeked(a->chain, res, index, blks, lens, peeked, n, msg, sizeof msg);
    if (err == CHAIN_ERR_DISK_FULL ||
        (err == CHAIN_ERR_STORAGE && disk_full(atomic_load(&a->disk)))) {
        if (!a->disk_waiting)
            log_msg(LOG_LEVEL_ERROR,
                    "apply index %llu..%llu: %s: %s; retrying every %u ms until space returns",
                    (unsigned long long)index[0], (unsigned long long)index[n - 1],
                    chain_err_code(err), msg, APPLIER_DISK_RETRY_MS);
        a->disk_waiting = true;
        return GROUP_RETRY;
    }
    if (err != CHAIN_OK) {
        log_msg(LOG_LEVEL_ERROR, "apply index %llu..%llu: %s: %s", (unsigned long long)index[0],
                (unsigned long long)index[n - 1], chain_err_code(err), msg);
        return GROUP_FAILED;
    }
    if (a->disk_waiting)
        log_msg(LOG_LEVEL_INFO, "apply index %llu..%llu: space is back, applied",
                (unsigned long long)index[0], (unsigned long long)index[n - 1]);
    a->disk_waiting = false;
    for (size_t i = 0; i < n; i++) {
        report(a, &a->ring[(a->head + i) % APPLIER_QUEUE_MAX], &res[i]);
        chain_apply_result_free(&res[i]);
    }
    return GROUP_OK;
}

static void *applier_main(void *arg)
{
    applier *a = arg;
    pthread_setname_np(pthread_self(), "applier");
    pthread_mutex_lock(&a->mu);
    for (;;) {
        while (a->queued == 0 && !a->quit)
            pthread_cond_wait(&a->work, &a->mu);
        if (a->queued == 0 || a->failed)
            break; /* quit with nothing left, or failed: nothing more is applied */
        defer(a);
        size_t n = a->queued < APPLIER_GROUP_MAX ? a->queued : APPLIER_GROUP_MAX;
        pthread_mutex_unlock(&a->mu);
        int gr = apply_group(a, n);
        pthread_mutex_lock(&a->mu);
        if (gr == GROUP_RETRY) {
            /* nothing written: keep the group, wait, try it again (a stop
             * leaves it to Raft, which still holds it) */
            struct timespec ts;
            mono_deadline(&ts, mono_us() + APPLIER_DISK_RETRY_MS * 1000ull);
            if (!a->quit)
                pthread_cond_timedwait(&a->work, &a->mu, &ts);
            if (a->quit)
                break;
            continue;
        }
        bool ok = gr == GROUP_OK;
        for (size_t i = 0; i < n; i++) {
            item *it = &a->ring[a->head];
            a->bytes -= it->len;
            free(it->blk);
            it->blk = NULL;
            chain_block_ids_free(&it->ids);
            it->has_ids = false;
            a->head = (a->head + 1) % APPLIER_QUEUE_MAX;
        }
        a->queued -= n;
        a->blocks += n;
        a->groups++;
        if (!ok)
            a->failed = true;
        pthread_cond_broadcast(&a->space);
        if (a->queued == 0 || a->failed)
            pthread_cond_broadcast(&a->idle);
    }
    pthread_cond_broadcast(&a->idle);
    pthread_cond_broadcast(&a->space);
    pthread_mutex_unlock(&a->mu);
    return NULL;
}

void applier_set_disk(applier *a, struct disk_watch *d)
{
    atomic_store(&a->disk, d);
}

int applier_start(applier **out, chain *c, submit_reg *reg, unsigned defer_us)
{
    applier *a = calloc(1, sizeof *a);
    if (!a)
        return -1;
    a->chain = c;
    a->reg = reg;
    a->defer_us = defer_us;
    pthread_mutex_init(&a->mu, NULL);
    if (mono_cond_init(&a->work) != 0) { /* defer's deadline */
        pthread_mutex_destroy(&a->mu);
        free(a);
        return -1;
    }
    pthread_cond_init(&a->space, NULL);
    pthread_cond_init(&a->idle, NULL);
    if (pthread_create(&a->thread, NULL, applier_main, a) != 0) {
        pthread_cond_destroy(&a->work);
        pthread_cond_destroy(&a->space);
        pthread_cond_destroy(&a->idle);
        pthread_mutex_destroy(&a->mu);
        free(a);
        return -1;
    }
    submit_reg_on_wait(reg, on_wait, a);
    *out = a;
    return 0;
}

void applier_on_members(applier *a, void (*fn)(void *ctx, uint64_t height), void *ctx)
{
    pthread_mutex_lock(&a->mu); /* orders the store before the thread's next group */
    a->on_members = fn;
    a->on_members_ctx = ctx;
    pthread_mutex_unlock(&a->mu);
}

int applier_push(applier *a, uint64_t index, const uint8_t *blk, size_t len)
{
    return applier_push_peeked(a, index, blk, len, NULL);
}

int applier_push_peeked(applier *a, uint64_t index, const uint8_t *blk, size_t len,
                        chain_block_ids *ids)
{
    uint8_t *copy = malloc(len ? len : 1);
    if (!copy) {
        chain_block_ids_free(ids);
        return -1;
    }
    memcpy(copy, blk, len);
    pthread_mutex_lock(&a->mu);
    while (!a->failed && (a->queued == APPLIER_QUEUE_MAX ||
                          (a->queued > 0 && a->bytes + len > APPLIER_QUEUE_BYTES)))
        pthread_cond_wait(&a->space, &a->mu);
    if (a->failed) {
        pthread_mutex_unlock(&a->mu);
        free(copy);
        chain_block_ids_free(ids);
        return -1;
    }
    item *it = &a->ring[(a->head + a->queued) % APPLIER_QUEUE_MAX];
    it->index = index;
    it->blk = copy;
    it->len = len;
    it->has_ids = ids != NULL;
    if (ids != NULL) { /* moved in */
        it->ids = *ids;
        memset(ids, 0, sizeof *ids);
    }
    it->t_us = mono_us();
    a->queued++;
    a->bytes += len;
    if (!a->deferring || a->queued >= APPLIER_DEFER_BLOCKS)
        pthread_cond_signal(&a->work);
    pthread_mutex_unlock(&a->mu);
    return 0;
}

int applier_drain(applier *a)
{
    pthread_mutex_lock(&a->mu);
    a->draining++;
    pthread_cond_signal(&a->work); /* ends a deferral */
    while (a->queued > 0 && !a->failed)
        pthread_cond_wait(&a->idle, &a->mu);
    a->draining--;
    int rv = a->failed ? -1 : 0;
    pthread_mutex_unlock(&a->mu);
    return rv;
}

void applier_stop(applier *a)
{
    if (!a)
        return;
    submit_reg_on_wait(a->reg, NULL, NULL);
    pthread_mutex_lock(&a->mu);
    a->quit = true;
    pthread_cond_signal(&a->work);
    pthread_mutex_unlock(&a->mu);
    pthread_join(a->thread, NULL);
    if (a->groups)
        log_msg(LOG_LEVEL_INFO, "applier: %llu blocks in %llu ledger commits",
                (unsigned long long)a->blocks, (unsigned long long)a->groups);
    for (size_t i = 0; i < a->queued; i++) { /* left over only after a failure */
        item *it = &a->ring[(a->head + i) % APPLIER_QUEUE_MAX];
        free(it->blk);
        chain_block_ids_free(&it->ids);
    }
    pthread_cond_destroy(&a->work);
    pthread_cond_destroy(&a->space);
    pthread_cond_destroy(&a->idle);
    pthread_mutex_destroy(&a->mu);
    free(a);
}
