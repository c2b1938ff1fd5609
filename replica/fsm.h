/*
 * fsm.h — the ledger as consensus's state machine (private to replica/).
 * fsm_cons fills the cons_fsm consensus calls; every function here runs on
 * the consensus thread only (no locking inside), except fsm_new/fsm_free.
 */
#ifndef PROVENA_REPLICA_FSM_H
#define PROVENA_REPLICA_FSM_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chain/chain.h"
#include "consensus/consensus.h"
#include "replica/submit.h"

#define FSM_INFLIGHT_MAX 4096 /* blocks proposed by this leader, not yet applied */
/* room kept in a block for its header and array framing */
#define FSM_BLOCK_SLACK 1024

typedef struct replica_fsm replica_fsm;

/* c, reg and stop are borrowed and must outlive the fsm; *stop true makes a
 * catch-up in fsm_restore give up (the node is stopping). */
struct disk_watch;
/* Leaders build no block while d reports the disk full (d borrowed, NULL: not
 * watched). Call before consensus starts. */
void fsm_set_disk(replica_fsm *f, struct disk_watch *d);

int fsm_new(replica_fsm **out, chain *c, uint64_t node_id, submit_reg *reg,
            const atomic_bool *stop) CHAIN_WUR;
void fsm_free(replica_fsm *f);
/* The CA file (copied; NULL: the system's store) against which catch-up
 * verifies other nodes' https:// gateways. 0, or -1 on OOM. */
int fsm_set_peer_ca(replica_fsm *f, const char *path) CHAIN_WUR;

/* Applies the committed block at log index; wakes the submitters of its txs.
 * 0, or -1 on a local failure (storage, memory) with nothing applied. */
int fsm_apply(replica_fsm *f, uint64_t index, const uint8_t *data, size_t len);
uint64_t fsm_applied_index(replica_fsm *f);

/* Snapshot: the ledger's marker (*buf malloc'd, caller frees). Restore: a
 * marker this node is behind is reached by fetching and replaying the missing
 * blocks from the other nodes (blocks until done or stopping); 0, or -1 when
 * the marker is unreadable, the node is stopping, or the replayed head is not
 * the marker's. */
int fsm_snapshot(replica_fsm *f, uint8_t **buf, size_t *len);
int fsm_restore(replica_fsm *f, const uint8_t *buf, size_t len);

/*
 * Leader only: packs a prefix of the waiting txs (at most CHAIN_BLOCK_TXS_MAX,
 * CHAIN_BLOCK_MAX_BYTES) into a block extending this node's proposal head —
 * the applied head plus the blocks it proposed that are not applied yet.
 * *used says how many txs went in; *out is malloc'd. 0 or -1.
 */
int fsm_build(replica_fsm *f, uint8_t **out, size_t *out_len, size_t *used,
              const uint8_t *const *txs, const size_t *lens, size_t n);

/* applier_on_members (applier.h) of f's applier: fn(ctx, height) on the
 * applier thread after a block that changed membership. Before fsm_cons. */
void fsm_on_members(replica_fsm *f, void (*fn)(void *ctx, uint64_t height), void *ctx);

/* Nodes in the network per the ledger (removed ones excluded). */
size_t fsm_members(replica_fsm *f, chain_node_info *out, size_t max);

/* Leadership changed: the proposal head restarts from the applied head. */
void fsm_leader_changed(replica_fsm *f, bool is_leader);

/* Fills *out with callbacks that run the functions above on f, as
 * consensus/consensus.h's cons_fsm contract asks (f borrowed: it must outlive
 * the consensus member given *out). */
void fsm_cons(replica_fsm *f, cons_fsm *out);

#endif
