/*
 * cons_store.h — durable raft state in one LMDB environment (consensus-private).
 * Used by cons_io.c on the consensus thread only; not thread-safe. All functions
 * return 0 or a RAFT_* code (RAFT_IOERR, RAFT_NOMEM, RAFT_CORRUPT,
 * RAFT_CANTBOOTSTRAP, RAFT_TOOBIG) with detail in the store's errmsg.
 *
 * Every write commits with fsync (the env is opened without MDB_NOSYNC /
 * MDB_NOMETASYNC): when a function returns 0 the change survives a crash.
 */
#ifndef CONS_STORE_H
#define CONS_STORE_H

#include <raft.h>
#include <stddef.h>

typedef struct cons_store cons_store;

/* One queued disk operation; a batch of them is one LMDB write transaction. */
typedef struct cons_store_op {
    enum { CONS_OP_APPEND = 1, CONS_OP_TRUNCATE, CONS_OP_SNAPSHOT } type;
    union {
        struct {
            const struct raft_entry *entries;
            unsigned n;
        } append; /* at last+1 */
        struct {
            raft_index index;
        } truncate; /* drop >= index */
        struct {
            const struct raft_snapshot *snap;
            unsigned trailing;
        } snapshot;
    };
} cons_store_op;

/* Create/open dir (must exist) as an LMDB env. */
int cons_store_open(cons_store **out, const char *dir, char *errmsg, size_t errmsg_len)
    __attribute__((warn_unused_result));
void cons_store_close(cons_store *s);
const char *cons_store_errmsg(const cons_store *s);

/* The raft_io load contract: *snap (or NULL) and *entries are raft_malloc'd and
 * owned by the caller afterwards; all entries share one batch (entries[0].batch). */
int cons_store_load(cons_store *s, raft_term *term, raft_id *vote, struct raft_snapshot **snap,
                    raft_index *start_index, struct raft_entry **entries, size_t *n)
    __attribute__((warn_unused_result));

/* set_term also clears the vote (a vote belongs to one term). */
int cons_store_set_term(cons_store *s, raft_term term) __attribute__((warn_unused_result));
int cons_store_set_vote(cons_store *s, raft_id id) __attribute__((warn_unused_result));

/* Entry 1 = the configuration, term 1. RAFT_CANTBOOTSTRAP if anything is stored. */
int cons_store_bootstrap(cons_store *s, const struct raft_configuration *conf)
    __attribute__((warn_unused_result));

/* Run ops in order inside ONE write transaction (group commit). All-or-nothing. */
int cons_store_write(cons_store *s, const cons_store_op *ops, size_t n)
    __attribute__((warn_unused_result));

/* Most recent snapshot, raft_malloc'd with exactly one buffer (raft_io's
 * snapshot_get contract); *snap = NULL when there is none. */
int cons_store_snapshot_get(cons_store *s, struct raft_snapshot **snap)
    __attribute__((warn_unused_result));

/* Index of the last entry (or of the snapshot when the log is empty past it). */
raft_index cons_store_last_index(const cons_store *s);

/* Free a snapshot as returned by load/snapshot_get. */
void cons_store_snapshot_free(struct raft_snapshot *snap);

#endif
