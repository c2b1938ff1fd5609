/*
 * submit.h — the submission registry (private to replica/; callers use
 * replica_submit): turns "here is a signed transaction" into "here is its
 * receipt" across the asynchronous replication path. Gateway threads block
 * in submit_tx; the applier thread reports applied and skipped blocks through
 * submit_on_receipts / submit_on_skipped, the consensus thread a restored
 * snapshot or a new leader through submit_resend_all; waiters are keyed by
 * transaction id.
 */
#ifndef PROVENA_REPLICA_SUBMIT_H
#define PROVENA_REPLICA_SUBMIT_H

#include <stddef.h>
#include <stdint.h>

#include "chain/chain.h"
#include "replica/result.h"

#define SUBMIT_WAITERS_MAX 16384 /* distinct transactions being waited for */
#define SUBMIT_RESEND_MS   2000  /* a tx not in the ledger after this is forwarded again */
#define SUBMIT_SLICE_MS    500   /* a waiter re-checks the ledger at least this often */
#define SUBMIT_SWEEP_MS    50    /* the sweeper's pass over asynchronous waiters */

typedef struct submit_reg submit_reg;

/* Hands one prechecked tx to consensus. Returns REPLICA_QUEUED when taken,
 * else REPLICA_NO_LEADER / _BUSY / _STOPPING. Thread-safe, must not block long. */
typedef int (*submit_forward_fn)(void *ctx, const uint8_t *tx, size_t len);
/* Observes the commit latency of one waited-for submission (microseconds). */
typedef void (*submit_latency_fn)(void *ctx, uint64_t usec);

/* New registry over an open ledger (borrowed; must outlive the registry). */
int submit_reg_new(submit_reg **out, chain *c, const uint8_t chain_id[CHAIN_HASH_LEN],
                   submit_forward_fn forward, void *forward_ctx) CHAIN_WUR;
/* Sets the latency observer (call before any submission; NULL to clear). */
void submit_reg_set_latency(submit_reg *r, submit_latency_fn fn, void *ctx);
/* Frees the registry. submit_reg_shutdown must have returned and no thread may
 * be inside submit_tx. NULL-safe. */
void submit_reg_free(submit_reg *r);

/*
 * The gateway's submit hook (gw_deps.submit): prechecks the tx (signature,
 * chain id, format), answers a tx already in the ledger with its stored
 * receipt at once, joins an existing waiter for the same tx id, or forwards it
 * and, when wait_ms > 0, blocks until its receipt is applied here or wait_ms
 * passes. Returns an enum gw_submit_result. receipt->tx is filled whenever the
 * tx decoded. Thread-safe; blocks up to wait_ms.
 */
int submit_tx(submit_reg *r, chain_receipt *receipt, const uint8_t *tx, size_t len,
              unsigned wait_ms);

/* How an asynchronous submission ends: result as submit_tx returns it, the
 * receipt as submit_tx fills it. Called exactly once per submit_tx_async. */
typedef void (*submit_done_fn)(void *ctx, int result, const chain_receipt *receipt);

/*
 * submit_tx without a sleeping thread: the same precheck, ledger lookup and
 * forward, after which done(ctx, …) is called once — when the receipt is
 * applied here (from the applying thread), when wait_ms passes or the
 * registry shuts down (from its sweeper thread, within SUBMIT_SWEEP_MS), or,
 * for an outcome known at once (refused by the precheck, busy, already in the
 * ledger), from this call before it returns. wait_ms 0 counts as 1 ms; use
 * submit_tx for fire-and-forget. Thread-safe; never blocks on consensus.
 */
void submit_tx_async(submit_reg *r, const uint8_t *tx, size_t len, unsigned wait_ms,
                     submit_done_fn done, void *ctx);

/* How many distinct transactions wait for their receipt on this node now
 * (read without locking: a hint, exact once the caller holds no races). */
size_t submit_waiting(submit_reg *r);

/* fn(ctx) is called whenever a transaction starts waiting on this node, with
 * the registry's lock held: it may only signal (take no lock that is held
 * while calling into the registry). NULL unsets; after this returns the old
 * fn is no longer running. The applier uses it to stop deferring. */
void submit_reg_on_wait(submit_reg *r, void (*fn)(void *ctx), void *ctx);

/* Applier thread, after a block applied: wakes the waiters of these receipts. */
void submit_on_receipts(submit_reg *r, const chain_receipt *rcs, size_t n);
/* Applier thread, after a block was skipped (did not link): its txs changed
 * nothing, so their waiters forward them again. */
void submit_on_skipped(submit_reg *r, const chain_receipt *rcs, size_t n);
/* Consensus thread, after a snapshot's catch-up replayed blocks or when a new
 * leader is known (a forward to the previous one may be lost): every waiter
 * looks itself up and forwards its tx again when it is not in the ledger. */
void submit_resend_all(submit_reg *r);

/* Refuses new submissions, wakes every waiter and ends every asynchronous
 * submission with REPLICA_STOPPING; returns once no thread is inside
 * submit_tx and every done callback has returned. */
void submit_reg_shutdown(submit_reg *r);

#endif
