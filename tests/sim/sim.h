/*
 * sim.h — shared parts of the deterministic simulation of consensus/ with the
 * ledger as its state machine (sim_cons.c drives, sim_net.c carries frames).
 * Single-threaded; all randomness comes from sim_rand(), seeded per run.
 */
#ifndef PROVENA_SIM_H
#define PROVENA_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "consensus/cons_net.h"

#define SIM_NODES_MAX 5

typedef struct sim_net_faults {
    bool cut[SIM_NODES_MAX][SIM_NODES_MAX]; /* from -> to dropped */
    unsigned loss_ppm;                      /* frames lost, per million */
    unsigned latency_min_ms, latency_max_ms;
} sim_net_faults;

typedef struct sim_net_counts {
    uint64_t sent, dropped;
} sim_net_counts;

extern sim_net_faults sim_faults;
extern sim_net_counts sim_counts;

/* The seed's generator and clock (sim_cons.c). */
uint64_t sim_rand(uint64_t n); /* uniform in [0, n), n > 0 */
uint64_t sim_now_ms(void);

/* The cons_net a node's cons_io sends through. */
cons_net *sim_net_of(unsigned node);
/* Calls fn for every frame due at or before now, oldest first; the buffer is
 * freed after fn returns. Returns how many were delivered. */
size_t sim_net_deliver(uint64_t now,
                       void (*fn)(unsigned from, unsigned to, const uint8_t *buf, size_t len));
/* Drops every queued frame and clears faults and counts. */
void sim_net_reset(void);

#endif
