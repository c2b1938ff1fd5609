/*
 * applier.h — node-private: applies committed blocks to the ledger on a
 * thread of its own, several at a time in one LMDB transaction.
 *
 * The consensus thread hands each committed block over (applier_push) and
 * goes back to Raft at once, so ledger writes and signature checks never hold
 * up the replication of the next blocks. Blocks are applied strictly in the
 * order pushed; whatever is waiting when the applier thread wakes (up to
 * APPLIER_GROUP_MAX blocks) goes into one chain_blocks_apply call, so under
 * load one commit — one fsync — serves many blocks. Receipts then wake their
 * submitters (submit_on_receipts / submit_on_skipped). When nobody on this
 * node waits for a receipt, the thread lets blocks gather first (up to
 * APPLIER_DEFER_US or APPLIER_DEFER_BLOCKS): a follower serving no writers
 * commits its ledger a few times less often.
 *
 * States:  RUNNING --applier_push/applier_drain--> RUNNING
 *          RUNNING --no space on the disk--> WAITING: the group is kept and
 *                    tried again every APPLIER_DISK_RETRY_MS (drain waits)
 *          WAITING --space again--> RUNNING
 *          RUNNING --another local failure (I/O, memory)--> FAILED: every later
 *                    push and drain returns -1 (consensus halts the node; the
 *                    blocks are still in the Raft log for the next start)
 *          any --applier_stop--> gone (after applying what was queued)
 */
#ifndef PROVENA_REPLICA_APPLIER_H
#define PROVENA_REPLICA_APPLIER_H

#include <stddef.h>
#include <stdint.h>

#include "chain/chain.h"
#include "replica/submit.h"

#define APPLIER_QUEUE_MAX     64           /* blocks handed over and not yet applied */
#define APPLIER_QUEUE_BYTES   (256u << 20) /* their bytes (one bigger block still goes alone) */
#define APPLIER_GROUP_MAX     64           /* blocks applied in one LMDB transaction */
#define APPLIER_DEFER_US      20000        /* with no local waiter: gather blocks this long */
#define APPLIER_DEFER_BLOCKS  32           /* or until this many are queued */
#define APPLIER_DISK_RETRY_MS 200          /* a group that found the disk full: next try */

typedef struct applier applier;

/* Starts the applier thread over c and reg (borrowed; they must outlive it).
 * defer_us: how long blocks may gather while nobody here waits for a receipt
 * (the node passes APPLIER_DEFER_US; 0 never defers). 0, or -1 when the
 * thread or memory cannot be had. */
struct disk_watch;
/* A storage failure while d reports the disk below its reserve is taken for a
 * full disk (LMDB reports a short write on a full filesystem as EIO): the
 * group is kept and retried, as for CHAIN_ERR_DISK_FULL. d borrowed; set
 * before the first push; NULL: only CHAIN_ERR_DISK_FULL retries. */
void applier_set_disk(applier *a, struct disk_watch *d);

int applier_start(applier **out, chain *c, submit_reg *reg, unsigned defer_us)
    __attribute__((warn_unused_result));

/* fn(ctx, height) runs on the applier thread after each block that changed
 * membership or policy is in the ledger (readers see it). Set it before the
 * first push; NULL clears. */
void applier_on_members(applier *a, void (*fn)(void *ctx, uint64_t height), void *ctx);

/* Queues a copy of the block committed at consensus index `index` (indexes
 * strictly increasing). Waits while the queue is full. 0, or -1 when the
 * applier has failed (nothing queued). One thread pushes (consensus's). */
int applier_push(applier *a, uint64_t index, const uint8_t *blk, size_t len)
    __attribute__((warn_unused_result));

/* applier_push with the consensus thread's chain_block_peek_ids of the same
 * bytes (NULL: none), which apply then uses instead of hashing the block
 * again. *ids is moved in (and emptied) whatever the result. */
int applier_push_peeked(applier *a, uint64_t index, const uint8_t *blk, size_t len,
                        chain_block_ids *ids) __attribute__((warn_unused_result));

/* Waits until every pushed block has been applied: afterwards the ledger is
 * exactly at the last pushed index. 0, or -1 when the applier has failed. */
int applier_drain(applier *a) __attribute__((warn_unused_result));

/* Applies what is queued, stops the thread and frees a (NULL-safe). */
void applier_stop(applier *a);

#endif
