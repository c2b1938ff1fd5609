/*
 * cons_snapguard.c — a follower-side guard for a replication stall in libraft
 * 0.22.1's core (see docs/ARCHITECTURE.md, "Deterministic simulation").
 *
 * A follower rejects an AppendEntries whose prev_log_index it compacted away
 * (checkLogMatchingProperty: TrailTermOf() is 0 below the retained entries),
 * answers an InstallSnapshot older than its own with the *leader's* snapshot
 * index, and the leader's probe only ever decrements. So once the leader's
 * view of a follower falls more than snapshot_trailing entries behind the
 * follower's own snapshot (acks lost while the follower applied and
 * snapshotted), the pair loops forever: probe, reject, snapshot, "have more
 * recent snapshot", probe... until a new leader is elected.
 *
 * Every entry up to the follower's snapshot index is committed, and a leader
 * of the current term holds every committed entry (Leader Completeness), so
 * its entries up to that index are ours. The guard therefore rewrites such a
 * message before raft sees it: the entries the snapshot covers are dropped
 * and prev becomes (snapshot index, snapshot term), which raft can check.
 * The follower's success reply then tells the leader where it really is.
 */
#include "consensus/cons_int.h"

#include <string.h>

static bool guard_stall(const struct raft *r, struct raft_append_entries *a)
{
    raft_index snap = r->trail.snapshot.index;
    raft_term snap_term = r->trail.snapshot.term;
    raft_index prev = a->prev_log_index;
    /* only what raft would reject as "missing": below the retained entries
     * and below the snapshot; only from a leader of our term or a later one
     * (an older one is refused for its term anyway); the snapshot committed */
    if (snap == 0 || prev == 0 || prev >= snap || prev > r->trail.offset ||
        a->term < r->current_term || snap > r->commit_index)
        return false;
    raft_index last = prev + a->n_entries;
    size_t drop = last >= snap ? (size_t)(snap - prev) : a->n_entries;
    if (last >= snap && a->entries[drop - 1].term != snap_term)
        return false; /* not the log we committed: leave it to raft */
    if (drop == a->n_entries) {
        if (a->n_entries > 0) {
            raft_free(a->entries[0].batch); /* one batch per message (cons_codec) */
            raft_free(a->entries);
        }
        a->entries = NULL;
        a->n_entries = 0;
    } else if (drop > 0) {
        memmove(a->entries, a->entries + drop, (a->n_entries - drop) * sizeof *a->entries);
        a->n_entries -= (unsigned)drop;
    }
    a->prev_log_index = snap;
    a->prev_log_term = snap_term;
    return true;
}

/*
 * Commit index going backwards. On an AppendEntries libraft 0.22.1 sets
 * commit_index = min(leader_commit, prev_log_index + n_entries) whenever
 * leader_commit is above its commit index (replication.c), also when the
 * entries end below it: a heartbeat with prev 64 and no entries, sent while
 * the leader's view of this follower lagged (acks lost), took a follower
 * from commit 65 back to 64 with entry 65 already applied. Its next snapshot
 * was then labelled 64 but held the state after 65; a server that installed
 * it applied 65 a second time (the fixture's snapshots+partitions mode, seed
 * 45515235). When the message cannot raise the commit index, its
 * leader_commit is lowered to ours so raft leaves the commit index alone, as
 * the rule intends; everything else about the message is unchanged.
 */
static bool guard_commit_back(const struct raft *r, struct raft_append_entries *a)
{
    if (a->leader_commit <= r->commit_index ||
        a->prev_log_index + a->n_entries >= r->commit_index)
        return false;
    a->leader_commit = r->commit_index;
    return true;
}

bool cons_guard_append_entries(const struct raft *r, struct raft_message *m)
{
    if (m->type != RAFT_APPEND_ENTRIES)
        return false;
    bool stall = guard_stall(r, &m->append_entries);
    bool commit = guard_commit_back(r, &m->append_entries);
    return stall || commit;
}

/*
 * InstallSnapshot with the wrong term. libraft 0.22.1 builds an
 * InstallSnapshot from the snapshot it knows of (index, term), then loads the
 * data through raft_io's snapshot_get; when the store already holds a newer
 * snapshot (ours can: a group commit writes an append and a snapshot put
 * together, and the append's callback may make raft send before the put's
 * callback tells it of the new snapshot), legacyLoadSnapshotCb takes the
 * newer index but keeps the older term. The follower then records the
 * snapshot's last entry with a term it never had, and a later AppendEntries
 * "conflicts" with a committed entry: raft shuts the follower's handling
 * down (and frees the entries' batch twice on that path). The fixture's
 * snapshots+kills mode hit it (seed 5734). The snapshot we hand out carries
 * its true term; the data pointer comes back in the message, so the term is
 * put right before the message is encoded.
 */
void cons_guard_snapshot_loaded(cons_snap_seen *s, const struct raft_snapshot *snap)
{
    if (snap->n_bufs < 1)
        return;
    s->ring[s->next].data = snap->bufs[0].base;
    s->ring[s->next].index = snap->index;
    s->ring[s->next].term = snap->term;
    s->next = (s->next + 1) % CONS_SNAP_SEEN;
}

const struct raft_message *cons_guard_install_term(cons_snap_seen *s, const struct raft_message *m,
                                                   struct raft_message *tmp)
{
    if (m->type != RAFT_INSTALL_SNAPSHOT)
        return m;
    const struct raft_install_snapshot *p = &m->install_snapshot;
    for (unsigned i = 0; i < CONS_SNAP_SEEN; i++) {
        if (s->ring[i].data == NULL || s->ring[i].data != p->data.base ||
            s->ring[i].index != p->last_index)
            continue;
        if (s->ring[i].term == p->last_term)
            return m;
        *tmp = *m;
        tmp->install_snapshot.last_term = s->ring[i].term;
        return tmp;
    }
    return m;
}
