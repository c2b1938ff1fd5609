/*
 * catchup.h — node-private: brings a lagging ledger up to a consensus
 * snapshot's marker by fetching the blocks it misses from the other nodes'
 * gateways (GET /api/v1/blocks?format=cbor) and replaying them with
 * chain_block_replay, so every signature and rule is checked here again.
 */
#ifndef PROVENA_REPLICA_CATCHUP_H
#define PROVENA_REPLICA_CATCHUP_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chain/chain.h"

#define CATCHUP_RANGE 1000 /* blocks asked for per request */
#define CATCHUP_RESP_MAX                                                                           \
    (56u << 20)                 /* bytes accepted per response: a range                            \
                                   (16 MiB) or one block of up to 32 MiB */
#define CATCHUP_TIMEOUT_S  120  /* one request, start to end */
#define CATCHUP_BACKOFF_MS 2000 /* longest pause between rounds over all peers */

typedef struct catchup_stats {
    uint64_t from_height, to_height; /* head before and after */
    uint64_t blocks;                 /* blocks replayed */
    uint64_t source;                 /* node id that served the last range, 0 if none */
    unsigned failures;               /* requests that failed or served bad blocks */
} catchup_stats;

/*
 * Replays the blocks from the head up to m->height, fetched from m's nodes
 * other than self_id (a failing peer — unreachable, an error, bytes that do
 * not decode, a block that does not extend the head or breaks a rule — is
 * left for the next; rounds over all peers repeat with a growing pause), then
 * calls chain_marker_reach. Blocks the calling thread until done or *stop
 * becomes true (checked between requests and during transfers). Returns
 * CHAIN_OK; CHAIN_ERR_INVALID when stopped or no peer is listed; the error of
 * chain_marker_reach (the replayed head is not the marker's) or a local
 * storage failure, each with errmsg. Blocks already replayed stay applied.
 * Must run on the thread that applies blocks.
 */
int catchup_run(chain *c, const chain_marker *m, uint64_t self_id, const atomic_bool *stop,
                catchup_stats *st, char *errmsg, size_t errmsg_len)
    __attribute__((warn_unused_result));

#endif
