/*
 * catchup.h — node-private: brings a lagging ledger up to a consensus
 * snapshot's marker by fetching the blocks it misses from the other nodes'
 * gateways (GET /api/v1/blocks?format=cbor), pinning every one of them by
 * the hash chain to the block id the Raft log committed to before replaying
 * any, then replaying them with chain_block_replay, so every signature and
 * rule is checked here again.
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
 * other than self_id, then calls chain_marker_reach. First every block is
 * verified backwards from m->id (chain_blocks_verify_back) down to the head,
 * so nothing is replayed unless the whole range is the committed history; a
 * failing peer — unreachable, an error, bytes that do not decode, a block
 * that is not the committed history (logged at error level with the peer's
 * node id and address) — is left for the next; rounds over all peers repeat
 * with a growing pause. CHAIN_ERR_BAD_BLOCK when the local head itself is
 * not on the committed history. https:// gateways are verified against the
 * CA file peer_ca (NULL: the system's store). Blocks the calling thread until done or *stop
 * becomes true (checked between requests and during transfers). Returns
 * CHAIN_OK; CHAIN_ERR_INVALID when stopped or no peer is listed; the error of
 * chain_marker_reach (the replayed head is not the marker's) or a local
 * storage failure, each with errmsg. Blocks already replayed stay applied.
 * Must run on the thread that applies blocks.
 */
int catchup_run(chain *c, const chain_marker *m, uint64_t self_id, const char *peer_ca,
                const atomic_bool *stop, catchup_stats *st, char *errmsg, size_t errmsg_len)
    __attribute__((warn_unused_result));

#endif
