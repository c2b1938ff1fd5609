/*
 * disk.c — free space on the data disk, against a reserve.
 *
 * LMDB and the Raft log both write to the data directory; when the
 * filesystem fills up their writes fail in the middle of a commit, and
 * consensus cannot make progress (a Raft append that fails is not an error
 * libraft recovers from by itself). So writes stop earlier: below `reserve`
 * bytes free, the node admits no new transaction (REPLICA_DISK_FULL, HTTP
 * 507) and a leader proposes no block, which leaves the reserve to what is
 * already in flight, elections and the ledger's own bookkeeping. Nothing
 * needs restarting: the next reading above the reserve opens writes again.
 *
 * States: OK --reading < reserve--> FULL --reading >= reserve--> OK, both in
 * disk_full(), each change logged once.
 */
#include "replica/disk.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

#include "log/log.h"

struct disk_watch {
    char *dir;
    uint64_t reserve;
    _Atomic uint64_t free_bytes;
    atomic_bool full;
};

disk_watch *disk_watch_new(const char *dir, uint64_t reserve)
{
    disk_watch *d = calloc(1, sizeof *d);
    if (!d || !(d->dir = strdup(dir))) {
        free(d);
        return NULL;
    }
    d->reserve = reserve ? reserve : DISK_RESERVE_DEFAULT;
    atomic_store(&d->free_bytes, UINT64_MAX);
    return d;
}

void disk_watch_free(disk_watch *d)
{
    if (!d)
        return;
    free(d->dir);
    free(d);
}

bool disk_full(disk_watch *d)
{
    if (!d)
        return false;
    struct statvfs vfs;
    if (statvfs(d->dir, &vfs) != 0) /* cannot tell: keep the last state */
        return atomic_load(&d->full);
    uint64_t avail = (uint64_t)vfs.f_bavail * (uint64_t)vfs.f_frsize;
    atomic_store(&d->free_bytes, avail);
    bool full = avail < d->reserve, was = atomic_exchange(&d->full, full);
    if (full && !was)
        log_msg(LOG_LEVEL_ERROR,
                "disk full: %llu KiB free on %s, below the reserve of %llu KiB; refusing writes "
                "until space returns",
                (unsigned long long)(avail >> 10), d->dir, (unsigned long long)(d->reserve >> 10));
    else if (!full && was)
        log_msg(LOG_LEVEL_INFO, "disk: %llu KiB free on %s again; accepting writes",
                (unsigned long long)(avail >> 10), d->dir);
    return full;
}

void disk_state(disk_watch *d, bool *full, uint64_t *free_bytes, uint64_t *reserve)
{
    *full = disk_full(d);
    *free_bytes = d ? atomic_load(&d->free_bytes) : UINT64_MAX;
    *reserve = d ? d->reserve : 0;
}
