/*
 * disk.h — the data disk's free space, watched so that a full disk is a
 * state the node shows and leaves by itself, not a write that fails halfway
 * (replica-private).
 */
#ifndef PROVENA_REPLICA_DISK_H
#define PROVENA_REPLICA_DISK_H

#include <stdbool.h>
#include <stdint.h>

#define DISK_RESERVE_DEFAULT (64ull << 20) /* bytes kept free unless configured */

typedef struct disk_watch disk_watch;

/* Watches the filesystem of dir (copied), keeping `reserve` bytes free
 * (0: DISK_RESERVE_DEFAULT). NULL when out of memory. */
disk_watch *disk_watch_new(const char *dir, uint64_t reserve);
void disk_watch_free(disk_watch *d); /* NULL-safe */

/* True while the free space is below the reserve: writes must be refused.
 * Reads the filesystem each call (one statvfs, about a microsecond: a reading
 * reused even for 100 ms let a write through onto a disk filled meanwhile);
 * logs each change of state. d NULL: false. Thread-safe. */
bool disk_full(disk_watch *d);

/* The last reading: free bytes (UINT64_MAX when unknown) and the reserve. */
void disk_state(disk_watch *d, bool *full, uint64_t *free_bytes, uint64_t *reserve);

#endif
