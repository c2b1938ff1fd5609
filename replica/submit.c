/*
 * submit.c — the submission registry: a bounded table of waiters keyed by tx id.
 *
 * A gateway thread calling submit_tx prechecks the tx, registers (or joins)
 * the waiter for its id, looks the id up in the ledger — registering first so
 * a receipt applied in between is never missed — and forwards the tx to
 * consensus. It then sleeps on the waiter's condition variable. The applier
 * thread (applier.c), after each group of applied blocks, calls
 * submit_on_receipts, which copies the receipt into the waiter and wakes it.
 *
 * Outcomes that Raft leaves unknown (leadership lost, a leader killed before
 * it proposed the tx, a block skipped because it was proposed on a stale head)
 * are resolved by tx id: a waiter re-reads the ledger every SUBMIT_SLICE_MS and
 * forwards again after SUBMIT_RESEND_MS. A forwarded duplicate is harmless:
 * the ledger answers a repeated tx with its first receipt.
 *
 * submit_tx_async does the same without a sleeping thread: the submitter
 * leaves a listener (callback, deadline) on the waiter and returns. The
 * thread that completes the waiter moves its listeners to the `fired` list,
 * and every entry point calls fire() after it drops the lock, so callbacks
 * never run under the registry's mutex. One sweeper thread does for waiters
 * with listeners what a sleeping submitter does for its own: forwards again
 * (RESEND, or SUBMIT_RESEND_MS without a receipt), re-reads the ledger every
 * SUBMIT_SLICE_MS, and ends listeners whose wait is over. Both kinds of wait
 * take each step through waiter_step and end the same way (waiter_hopeless,
 * waiter_unfinished), so the protocol is written once.
 *
 * Waiter states:  PENDING --submit_on_receipts / ledger lookup--> DONE
 *                 PENDING --submit_on_skipped--> RESEND --waiter forwards--> PENDING
 * A waiter is freed when its last submitter, listener and the sweeper's list
 * have all let go (refs reaches 0).
 */
#include "replica/submit.h"

#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mono/mono.h"
#include "replica/result.h"

#define SUBMIT_BUCKETS  4096 /* power of two */
#define SUBMIT_RETRY_MS 100  /* a refused forward is tried again this soon */
#define SUBMIT_RECENT   8192 /* remembered wait=0 forwards (power of two) */
_Static_assert((SUBMIT_RECENT & (SUBMIT_RECENT - 1)) == 0, "recent: power of two");

/* A tx forwarded with wait=0 (a batch is handed over whole, then waited for
 * tx by tx): the waiter that follows does not forward it a second time. A
 * lossy table: a collision only costs one duplicate forward. */
typedef struct recent {
    uint8_t id[CHAIN_HASH_LEN];
    uint64_t ms;
} recent;
_Static_assert((SUBMIT_BUCKETS & (SUBMIT_BUCKETS - 1)) == 0, "buckets: power of two");

/* Txs this node prechecked (signature verified at admission), by id and a
 * digest of their exact bytes: the chain's apply skips verifying their
 * signature again (chain_set_verified). Lossy and bounded: a collision or an
 * evicted entry only costs one more verification; a tx this node did not
 * precheck, or any other bytes under the same id, is always verified. */
#define SUBMIT_VERIFIED     16384 /* power of two */
#define SUBMIT_VERIFIED_TAG "provena/node/verified/v1"
_Static_assert((SUBMIT_VERIFIED & (SUBMIT_VERIFIED - 1)) == 0, "verified: power of two");
typedef struct verified {
    uint8_t id[CHAIN_HASH_LEN];
    uint8_t digest[CHAIN_HASH_LEN];
} verified;

enum waiter_state { W_PENDING = 1, W_RESEND, W_DONE };

/* One asynchronous submitter of a waiter's tx. */
typedef struct listener {
    struct listener *next;
    submit_done_fn done;
    void *ctx;
    uint64_t deadline_ms, t0_us;
    int res; /* once fired */
    chain_receipt rc;
} listener;

typedef struct waiter {
    struct waiter *next;
    uint8_t id[CHAIN_HASH_LEN];
    int state;
    unsigned refs;
    chain_receipt rc;
    uint8_t *tx; /* copy, for forwarding again */
    size_t len;
    uint64_t last_sent_ms; /* last forward attempt */
    bool sent;             /* some forward was taken by consensus */
    int last_err;          /* the last forward's refusal, while !sent */
    pthread_cond_t cv;
    listener *listeners;  /* asynchronous submitters, not yet fired */
    struct waiter *anext; /* the sweeper's list (holds one ref while in it) */
    bool in_async;
    uint64_t last_lookup_ms; /* the sweeper's last ledger read for it */
} waiter;

struct submit_reg {
    pthread_mutex_t mu;
    pthread_cond_t idle; /* signalled when inside reaches 0 during shutdown */
    chain *chain;
    uint8_t chain_id[CHAIN_HASH_LEN];
    submit_forward_fn forward;
    void *forward_ctx;
    submit_latency_fn latency;
    void *latency_ctx;
    bool stopping;
    unsigned inside; /* threads inside submit_tx */
    size_t nwaiters;
    atomic_size_t waiting;   /* nwaiters, readable without the lock */
    void (*on_wait)(void *); /* submit_reg_on_wait: a new waiter */
    void *on_wait_ctx;
    waiter *buckets[SUBMIT_BUCKETS];
    recent recent[SUBMIT_RECENT];
    pthread_mutex_t vmu; /* guards verified[] */
    verified verified[SUBMIT_VERIFIED];
    /* asynchronous submissions */
    waiter *async;   /* waiters with listeners (the sweeper's list) */
    listener *fired; /* completed listeners, called by fire() */
    pthread_t sweeper;
    pthread_cond_t sweep_cv;
    bool sweeper_running, sweeper_stop;
};

static void *sweeper_main(void *arg);

size_t submit_waiting(submit_reg *r)
{
    return atomic_load(&r->waiting);
}

void submit_reg_on_wait(submit_reg *r, void (*fn)(void *ctx), void *ctx)
{
    pthread_mutex_lock(&r->mu);
    r->on_wait = fn;
    r->on_wait_ctx = ctx;
    pthread_mutex_unlock(&r->mu);
}

static size_t bucket_of(const uint8_t id[CHAIN_HASH_LEN])
{
    /* tx ids are hashes: any 4 bytes are uniform */
    uint32_t h;
    memcpy(&h, id, sizeof h);
    return h & (SUBMIT_BUCKETS - 1);
}

static recent *recent_slot(submit_reg *r, const uint8_t id[CHAIN_HASH_LEN])
{
    uint32_t h;
    memcpy(&h, id + 4, sizeof h);
    return &r->recent[h & (SUBMIT_RECENT - 1)];
}

static waiter *waiter_find(submit_reg *r, const uint8_t id[CHAIN_HASH_LEN])
{
    for (waiter *w = r->buckets[bucket_of(id)]; w; w = w->next)
        if (memcmp(w->id, id, CHAIN_HASH_LEN) == 0)
            return w;
    return NULL;
}

static void waiter_unlink_free(submit_reg *r, waiter *w)
{
    waiter **pp = &r->buckets[bucket_of(w->id)];
    while (*pp != w)
        pp = &(*pp)->next;
    *pp = w->next;
    r->nwaiters--;
    atomic_store(&r->waiting, r->nwaiters);
    pthread_cond_destroy(&w->cv);
    free(w->tx);
    free(w);
}

/* Looks the tx up in the ledger. true with *rc filled when it is there. */
static bool ledger_lookup(submit_reg *r, chain_receipt *rc, const uint8_t id[CHAIN_HASH_LEN])
{
    chain_rd *rd;
    if (chain_rd_begin(r->chain, &rd) != CHAIN_OK)
        return false;
    const uint8_t *raw;
    size_t raw_len;
    bool found = chain_tx_get(rd, rc, &raw, &raw_len, id) == CHAIN_OK;
    chain_rd_end(rd);
    return found;
}

static verified *verified_slot(submit_reg *r, const uint8_t id[CHAIN_HASH_LEN])
{
    uint32_t h = (uint32_t)id[0] | (uint32_t)id[1] << 8 | (uint32_t)id[2] << 16;
    return &r->verified[h & (SUBMIT_VERIFIED - 1)];
}

/* Remembers a tx that passed chain_tx_precheck here. */
static void verified_add(submit_reg *r, const uint8_t id[CHAIN_HASH_LEN], const uint8_t *tx,
                         size_t len)
{
    uint8_t d[CHAIN_HASH_LEN];
    chain_tagged_hash(d, SUBMIT_VERIFIED_TAG, tx, len);
    pthread_mutex_lock(&r->vmu);
    verified *v = verified_slot(r, id);
    memcpy(v->id, id, CHAIN_HASH_LEN);
    memcpy(v->digest, d, CHAIN_HASH_LEN);
    pthread_mutex_unlock(&r->vmu);
}

/* chain_verified_fn: were exactly these bytes prechecked here? */
static bool verified_known(void *ctx, const uint8_t id[CHAIN_HASH_LEN], const uint8_t *raw,
                           size_t len)
{
    submit_reg *r = ctx;
    uint8_t d[CHAIN_HASH_LEN];
    chain_tagged_hash(d, SUBMIT_VERIFIED_TAG, raw, len);
    pthread_mutex_lock(&r->vmu);
    const verified *v = verified_slot(r, id);
    bool known =
        memcmp(v->id, id, CHAIN_HASH_LEN) == 0 && memcmp(v->digest, d, CHAIN_HASH_LEN) == 0;
    pthread_mutex_unlock(&r->vmu);
    return known;
}

int submit_reg_new(submit_reg **out, chain *c, const uint8_t chain_id[CHAIN_HASH_LEN],
                   submit_forward_fn forward, void *forward_ctx)
{
    submit_reg *r = calloc(1, sizeof *r);
    if (!r)
        return CHAIN_ERR_NOMEM;
    pthread_mutex_init(&r->mu, NULL);
    r->chain = c;
    memcpy(r->chain_id, chain_id, CHAIN_HASH_LEN);
    r->forward = forward;
    r->forward_ctx = forward_ctx;
    pthread_mutex_init(&r->vmu, NULL);
    int made = 0; /* condition variables initialized */
    if (mono_cond_init(&r->idle) != 0 || (made++, mono_cond_init(&r->sweep_cv) != 0) ||
        (made++, pthread_create(&r->sweeper, NULL, sweeper_main, r) != 0)) {
        if (made > 1)
            pthread_cond_destroy(&r->sweep_cv);
        if (made > 0)
            pthread_cond_destroy(&r->idle);
        pthread_mutex_destroy(&r->mu);
        pthread_mutex_destroy(&r->vmu);
        free(r);
        return CHAIN_ERR_NOMEM;
    }
    r->sweeper_running = true;
    chain_set_verified(c, verified_known, r);
    *out = r;
    return CHAIN_OK;
}

void submit_reg_set_latency(submit_reg *r, submit_latency_fn fn, void *ctx)
{
    pthread_mutex_lock(&r->mu);
    r->latency = fn;
    r->latency_ctx = ctx;
    pthread_mutex_unlock(&r->mu);
}

static void sweeper_stop(submit_reg *r)
{
    pthread_mutex_lock(&r->mu);
    bool running = r->sweeper_running;
    r->sweeper_running = false;
    r->sweeper_stop = true;
    pthread_cond_signal(&r->sweep_cv);
    pthread_mutex_unlock(&r->mu);
    if (running)
        pthread_join(r->sweeper, NULL);
}

void submit_reg_free(submit_reg *r)
{
    if (!r)
        return;
    sweeper_stop(r);
    pthread_mutex_lock(&r->mu);
    while (r->async) { /* shutdown ended every listener; drop the list's refs */
        waiter *w = r->async;
        r->async = w->anext;
        w->in_async = false;
        if (--w->refs == 0)
            waiter_unlink_free(r, w);
    }
    pthread_mutex_unlock(&r->mu);
    for (size_t b = 0; b < SUBMIT_BUCKETS; b++)
        while (r->buckets[b])
            waiter_unlink_free(r, r->buckets[b]);
    chain_set_verified(r->chain, NULL, NULL);
    pthread_cond_destroy(&r->sweep_cv);
    pthread_cond_destroy(&r->idle);
    pthread_mutex_destroy(&r->mu);
    pthread_mutex_destroy(&r->vmu);
    free(r);
}

/* Fills receipt->tx for a tx that failed precheck, when it decodes at all. */
static void rejected_id(chain_receipt *rc, const uint8_t *tx, size_t len)
{
    chain_tx t;
    char msg[8];
    if (chain_tx_decode(&t, tx, len, msg, sizeof msg) != CHAIN_OK)
        return;
    if (chain_tx_id(rc->tx, &t) != CHAIN_OK)
        memset(rc->tx, 0, sizeof rc->tx);
    chain_tx_free(&t);
}

/* Registers (or joins) the waiter for id. Called with the lock held. */
static int waiter_join(submit_reg *r, waiter **out, bool *created, const uint8_t id[CHAIN_HASH_LEN],
                       const uint8_t *tx, size_t len)
{
    waiter *w = waiter_find(r, id);
    *created = false;
    if (!w) {
        if (r->nwaiters >= SUBMIT_WAITERS_MAX)
            return REPLICA_BUSY;
        w = calloc(1, sizeof *w);
        uint8_t *copy = malloc(len);
        if (!w || !copy) {
            free(w);
            free(copy);
            return REPLICA_BUSY;
        }
        memcpy(copy, tx, len);
        memcpy(w->id, id, CHAIN_HASH_LEN);
        w->tx = copy;
        w->len = len;
        w->state = W_PENDING;
        if (mono_cond_init(&w->cv) != 0) {
            free(copy);
            free(w);
            return REPLICA_BUSY;
        }
        size_t b = bucket_of(id);
        w->next = r->buckets[b];
        r->buckets[b] = w;
        r->nwaiters++;
        atomic_store(&r->waiting, r->nwaiters);
        *created = true;
        if (r->on_wait)
            r->on_wait(r->on_wait_ctx);
    }
    w->refs++;
    *out = w;
    return REPLICA_QUEUED;
}

/* Moves listener l (already unlinked from w) to the fired list with res and
 * its receipt, and drops its ref on w. Lock held. */
static void listener_fire(submit_reg *r, waiter *w, listener *l, int res)
{
    l->res = res;
    l->rc = w->rc;
    if (res != REPLICA_COMMITTED)
        memcpy(l->rc.tx, w->id, CHAIN_HASH_LEN);
    l->next = r->fired;
    r->fired = l;
    if (--w->refs == 0)
        waiter_unlink_free(r, w);
}

static void waiter_done(submit_reg *r, waiter *w, const chain_receipt *rc)
{
    if (w->state == W_DONE)
        return;
    w->rc = *rc;
    w->state = W_DONE;
    pthread_cond_broadcast(&w->cv);
    /* a waiter with listeners is on the sweeper's list, whose ref keeps w alive */
    assert(!w->listeners || w->in_async);
    while (w->listeners) {
        listener *l = w->listeners;
        w->listeners = l->next;
        listener_fire(r, w, l, REPLICA_COMMITTED);
    }
}

/* Calls the callbacks of every fired listener. Lock NOT held. */
static void fire(submit_reg *r)
{
    pthread_mutex_lock(&r->mu);
    listener *l = r->fired;
    r->fired = NULL;
    submit_latency_fn lat = r->latency;
    void *lat_ctx = r->latency_ctx;
    pthread_mutex_unlock(&r->mu);
    while (l) {
        listener *next = l->next;
        if (l->res == REPLICA_COMMITTED && lat)
            lat(lat_ctx, mono_us() - l->t0_us);
        l->done(l->ctx, l->res, &l->rc);
        free(l);
        l = next;
    }
}

/*
 * Makes sure the tx is on its way: unless the ledger already has it, forwards
 * it. Called with the lock held; drops it around the lookup and the forward.
 * A refused forward (no leader yet, queue full) is retried after SUBMIT_RETRY_MS.
 */
static void waiter_send(submit_reg *r, waiter *w)
{
    chain_receipt rc;
    w->last_sent_ms = mono_ms();
    pthread_mutex_unlock(&r->mu);
    bool found = ledger_lookup(r, &rc, w->id);
    int res = found ? REPLICA_QUEUED : r->forward(r->forward_ctx, w->tx, w->len);
    pthread_mutex_lock(&r->mu);
    if (found)
        waiter_done(r, w, &rc);
    else if (res == REPLICA_QUEUED)
        w->sent = true;
    else {
        /* no leader / busy: try again soon rather than fail the whole wait */
        w->last_err = res;
        w->last_sent_ms -= SUBMIT_RESEND_MS - SUBMIT_RETRY_MS;
    }
}

/* Looks w's tx up in the ledger (the lock dropped meanwhile) and completes w
 * when it is there: a missed wake-up (snapshot installed, apply raced) heals
 * here. Lock held on entry and on return. */
static void waiter_lookup(submit_reg *r, waiter *w)
{
    chain_receipt rc;
    pthread_mutex_unlock(&r->mu);
    bool found = ledger_lookup(r, &rc, w->id);
    pthread_mutex_lock(&r->mu);
    if (found)
        waiter_done(r, w, &rc);
}

/*
 * The resend/lookup protocol both kinds of wait follow, one step (lock held;
 * dropped around the I/O): a skipped tx (RESEND) is forwarded again at once;
 * when due, one without a receipt SUBMIT_RESEND_MS after its last forward is
 * forwarded again, else the ledger is re-read. A sleeping submitter is due
 * when its timed wait ran out; the sweeper passes its own timers. True when
 * the step was a ledger read.
 */
static bool waiter_step(submit_reg *r, waiter *w, uint64_t now, bool resend_due, bool lookup_due)
{
    if (w->state == W_RESEND) {
        w->state = W_PENDING;
        waiter_send(r, w);
    } else if (resend_due && now >= w->last_sent_ms + SUBMIT_RESEND_MS) {
        waiter_send(r, w);
    } else if (lookup_due) {
        waiter_lookup(r, w);
        return true;
    }
    return false;
}

/* True when w can no longer complete: this node was removed before it ever
 * handed the tx over. Every wait on w ends at once. */
static bool waiter_hopeless(const waiter *w)
{
    return w->last_err == REPLICA_REMOVED && !w->sent;
}

/* What a wait that ended without a receipt reports: stopping, the reason the
 * tx was never handed over, or a timeout (the outcome is not known). */
static int waiter_unfinished(const submit_reg *r, const waiter *w)
{
    if (r->stopping)
        return REPLICA_STOPPING;
    if (!w->sent && w->last_err)
        return w->last_err; /* never handed over: say why, not "unknown" */
    return REPLICA_TIMEOUT;
}

/* A skipped or possibly lost tx: its waits forward it again now. */
static void waiter_resend(waiter *w)
{
    if (w->state == W_PENDING) {
        w->state = W_RESEND;
        pthread_cond_broadcast(&w->cv);
    }
}

/* The precheck both entry points share: decode, chain id, signature, the
 * signer's standing (chain_tx_standing). CHAIN_OK
 * with *rc's tx id set and the bytes remembered as verified here, or the
 * refusal with *rc filled as a rejected receipt. */
static int admit(submit_reg *r, chain_receipt *rc, uint8_t id[CHAIN_HASH_LEN], const uint8_t *tx,
                 size_t len)
{
    char msg[sizeof rc->detail - 24]; /* room for "refused at admission: " */
    memset(rc, 0, sizeof *rc);
    /* the signature (stateless); a passkey's relying party is judged by
     * standing below, against the rp this node has applied */
    int err = chain_tx_precheck(id, r->chain_id, NULL, tx, len, msg, sizeof msg);
    if (err != CHAIN_OK) {
        rc->code = err;
        snprintf(rc->detail, sizeof rc->detail, "%s", msg);
        rejected_id(rc, tx, len);
        return err;
    }
    memcpy(rc->tx, id, CHAIN_HASH_LEN);
    /* standing: a tx its signer has no standing for is refused here, never
     * logged — unless it is already in the ledger (a retry gets its receipt) */
    chain_tx t;
    err = chain_tx_decode(&t, tx, len, msg, sizeof msg);
    if (err == CHAIN_OK) {
        err = chain_tx_standing(r->chain, &t, msg, sizeof msg);
        chain_tx_free(&t);
    }
    if (err != CHAIN_OK) {
        chain_receipt known;
        if (!ledger_lookup(r, &known, id)) {
            rc->code = err;
            snprintf(rc->detail, sizeof rc->detail, "refused at admission: %s", msg);
            return err;
        }
    }
    verified_add(r, id, tx, len);
    return CHAIN_OK;
}

int submit_tx(submit_reg *r, chain_receipt *receipt, const uint8_t *tx, size_t len,
              unsigned wait_ms)
{
    uint8_t id[CHAIN_HASH_LEN];
    uint64_t t0 = mono_us();
    if (admit(r, receipt, id, tx, len) != CHAIN_OK)
        return REPLICA_REJECTED;

    if (wait_ms == 0) {
        /* fire and forget: the client looks the id up later */
        if (ledger_lookup(r, receipt, id))
            return REPLICA_COMMITTED;
        pthread_mutex_lock(&r->mu);
        bool stopping = r->stopping;
        pthread_mutex_unlock(&r->mu);
        if (stopping)
            return REPLICA_STOPPING;
        int res = r->forward(r->forward_ctx, tx, len);
        if (res == REPLICA_QUEUED) {
            pthread_mutex_lock(&r->mu);
            recent *rs = recent_slot(r, id);
            memcpy(rs->id, id, CHAIN_HASH_LEN);
            rs->ms = mono_ms();
            pthread_mutex_unlock(&r->mu);
        }
        return res;
    }

    pthread_mutex_lock(&r->mu);
    if (r->stopping) {
        pthread_mutex_unlock(&r->mu);
        return REPLICA_STOPPING;
    }
    waiter *w;
    bool created;
    int res = waiter_join(r, &w, &created, id, tx, len);
    if (res != REPLICA_QUEUED) {
        pthread_mutex_unlock(&r->mu);
        return res;
    }
    r->inside++;
    if (created) {
        recent *rs = recent_slot(r, id);
        if (rs->ms && memcmp(rs->id, id, CHAIN_HASH_LEN) == 0 &&
            mono_ms() - rs->ms < SUBMIT_RESEND_MS) {
            w->sent = true; /* just forwarded by a wait=0 call */
            w->last_sent_ms = rs->ms;
            waiter_lookup(r, w); /* it may have been applied before we registered */
        } else {
            waiter_send(r, w);
        }
    }

    uint64_t deadline = mono_ms() + wait_ms;
    res = REPLICA_TIMEOUT;
    while (w->state != W_DONE && !r->stopping && w->last_err != REPLICA_STOPPING &&
           !waiter_hopeless(w)) {
        uint64_t now = mono_ms();
        if (now >= deadline)
            break;
        uint64_t next_send = w->last_sent_ms + SUBMIT_RESEND_MS;
        uint64_t until = now + SUBMIT_SLICE_MS;
        if (next_send < until)
            until = next_send > now ? next_send : now;
        if (deadline < until)
            until = deadline;
        struct timespec ts;
        mono_deadline(&ts, (until)*1000u);
        int rc = pthread_cond_timedwait(&w->cv, &r->mu, &ts);
        if (w->state == W_DONE || r->stopping)
            break;
        (void)waiter_step(r, w, mono_ms(), rc == ETIMEDOUT, rc == ETIMEDOUT);
    }
    if (w->state == W_DONE) {
        *receipt = w->rc;
        res = REPLICA_COMMITTED;
    } else {
        res = w->last_err == REPLICA_STOPPING ? REPLICA_STOPPING : waiter_unfinished(r, w);
    }
    submit_latency_fn lat = r->latency;
    void *lat_ctx = r->latency_ctx;
    if (--w->refs == 0)
        waiter_unlink_free(r, w);
    if (--r->inside == 0 && r->stopping)
        pthread_cond_broadcast(&r->idle);
    pthread_mutex_unlock(&r->mu);
    fire(r); /* listeners of the same tx this thread may have completed */

    if (res == REPLICA_COMMITTED && lat)
        lat(lat_ctx, mono_us() - t0);
    return res;
}

/* ---- asynchronous submissions -------------------------------------------------- */

/* Ends listeners of w whose wait is over (lock held). */
static void expire_listeners(submit_reg *r, waiter *w, uint64_t now, bool all)
{
    listener **pp = &w->listeners;
    while (*pp) {
        listener *l = *pp;
        if (!all && l->deadline_ms > now) {
            pp = &l->next;
            continue;
        }
        *pp = l->next;
        listener_fire(r, w, l, waiter_unfinished(r, w));
    }
}

/* One pass of the sweeper over its list (lock held; dropped around sends). */
static void sweep(submit_reg *r)
{
    uint64_t now = mono_ms();
    waiter **pp = &r->async;
    while (*pp) {
        waiter *w = *pp;
        if (w->state != W_DONE && w->listeners) {
            if (waiter_step(r, w, now, true, now >= w->last_lookup_ms + SUBMIT_SLICE_MS))
                w->last_lookup_ms = now;
            /* the sweeper stops before the registry does: only deadlines end here,
             * and a removed node's refusal of a tx it never handed over */
            expire_listeners(r, w, mono_ms(), waiter_hopeless(w));
            /* the lock was dropped: new waiters may have been pushed in front of w
             * (only this thread removes, so w is still on the list, further on) */
            while (*pp != w)
                pp = &(*pp)->anext;
        }
        if (!w->listeners) { /* nothing left to watch: off the list */
            *pp = w->anext;
            w->in_async = false;
            if (--w->refs == 0)
                waiter_unlink_free(r, w);
            continue;
        }
        pp = &w->anext;
    }
}

static void *sweeper_main(void *arg)
{
    submit_reg *r = arg;
    pthread_setname_np(pthread_self(), "submit-sweep");
    pthread_mutex_lock(&r->mu);
    while (!r->sweeper_stop) {
        struct timespec ts;
        mono_deadline(&ts, (mono_ms() + SUBMIT_SWEEP_MS) * 1000u);
        pthread_cond_timedwait(&r->sweep_cv, &r->mu, &ts);
        sweep(r);
        pthread_mutex_unlock(&r->mu);
        fire(r);
        pthread_mutex_lock(&r->mu);
    }
    pthread_mutex_unlock(&r->mu);
    return NULL;
}

void submit_tx_async(submit_reg *r, const uint8_t *tx, size_t len, unsigned wait_ms,
                     submit_done_fn done, void *ctx)
{
    uint8_t id[CHAIN_HASH_LEN];
    chain_receipt rc;
    uint64_t t0 = mono_us();
    if (admit(r, &rc, id, tx, len) != CHAIN_OK) {
        done(ctx, REPLICA_REJECTED, &rc);
        return;
    }
    listener *l = calloc(1, sizeof *l);
    pthread_mutex_lock(&r->mu);
    int res = r->stopping ? REPLICA_STOPPING : l ? REPLICA_QUEUED : REPLICA_BUSY;
    waiter *w = NULL;
    bool created = false;
    if (res == REPLICA_QUEUED)
        res = waiter_join(r, &w, &created, id, tx, len);
    if (res != REPLICA_QUEUED) {
        pthread_mutex_unlock(&r->mu);
        free(l);
        done(ctx, res, &rc);
        return;
    }
    l->done = done;
    l->ctx = ctx;
    l->t0_us = t0;
    l->deadline_ms = mono_ms() + (wait_ms ? wait_ms : 1);
    l->next = w->listeners;
    w->listeners = l; /* waiter_join's ref is now the listener's */
    if (!w->in_async) {
        w->in_async = true;
        w->refs++;
        w->anext = r->async;
        r->async = w;
    }
    if (w->state == W_DONE) {
        /* joined a waiter whose receipt is already in: fire at once */
        w->listeners = l->next;
        listener_fire(r, w, l, REPLICA_COMMITTED);
    } else if (created) {
        w->last_lookup_ms = mono_ms();
        waiter_send(r, w); /* looks the ledger up first, then forwards */
        if (w->state != W_DONE && waiter_hopeless(w))
            expire_listeners(r, w, mono_ms(), true); /* it never will: say so now */
    }
    pthread_mutex_unlock(&r->mu);
    fire(r);
}

void submit_on_receipts(submit_reg *r, const chain_receipt *rcs, size_t n)
{
    pthread_mutex_lock(&r->mu);
    if (r->nwaiters > 0)
        for (size_t i = 0; i < n; i++) {
            waiter *w = waiter_find(r, rcs[i].tx);
            if (w)
                waiter_done(r, w, &rcs[i]);
        }
    pthread_mutex_unlock(&r->mu);
    fire(r);
}

void submit_on_skipped(submit_reg *r, const chain_receipt *rcs, size_t n)
{
    pthread_mutex_lock(&r->mu);
    if (r->nwaiters > 0)
        for (size_t i = 0; i < n; i++) {
            waiter *w = waiter_find(r, rcs[i].tx);
            if (w)
                waiter_resend(w);
        }
    pthread_cond_signal(&r->sweep_cv);
    pthread_mutex_unlock(&r->mu);
}

void submit_on_restore(submit_reg *r)
{
    /* Waiters re-read the ledger on their own within SUBMIT_SLICE_MS; waking them
     * now only makes that immediate. Treating it as a skip does exactly that:
     * waiter_send finds the tx in the ledger, or forwards it once more. */
    pthread_mutex_lock(&r->mu);
    for (size_t b = 0; b < SUBMIT_BUCKETS; b++)
        for (waiter *w = r->buckets[b]; w; w = w->next)
            waiter_resend(w);
    pthread_cond_signal(&r->sweep_cv);
    pthread_mutex_unlock(&r->mu);
}

void submit_reg_shutdown(submit_reg *r)
{
    sweeper_stop(r);
    pthread_mutex_lock(&r->mu);
    r->stopping = true;
    for (size_t b = 0; b < SUBMIT_BUCKETS; b++)
        for (waiter *w = r->buckets[b]; w; w = w->next)
            pthread_cond_broadcast(&w->cv);
    for (waiter *w = r->async; w; w = w->anext)
        expire_listeners(r, w, 0, true); /* every listener: stopping */
    pthread_mutex_unlock(&r->mu);
    fire(r);
    pthread_mutex_lock(&r->mu);
    while (r->inside > 0)
        pthread_cond_wait(&r->idle, &r->mu);
    pthread_mutex_unlock(&r->mu);
}
