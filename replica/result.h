/*
 * result.h — how a submission ends: the engine's result codes, in a leaf
 * header so the public replica.h and the private submit.h share one enum
 * without including each other. Include replica/replica.h, not this file.
 */
#ifndef PROVENA_REPLICA_RESULT_H
#define PROVENA_REPLICA_RESULT_H

enum replica_result {
    REPLICA_COMMITTED = 0, /* receipt filled (accepted, or refused by a rule) */
    REPLICA_QUEUED,        /* taken for ordering; the receipt is not known yet */
    REPLICA_REJECTED,      /* refused before ordering (precheck): receipt.code says why */
    REPLICA_NO_LEADER,     /* no leader known: retry later */
    REPLICA_BUSY,          /* a queue is full: retry later */
    REPLICA_TIMEOUT,       /* not committed within the wait; outcome unknown (look up by id) */
    REPLICA_STOPPING,      /* replica_shutdown has begun, or consensus halted */
    REPLICA_REMOVED,       /* this node was removed from the network (node.remove) and
                              did not hand the tx over: it never will; use another node */
    REPLICA_DISK_FULL,     /* the data disk is below its reserve: retry once space returns */
};

#endif
