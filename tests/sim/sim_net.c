/*
 * sim_net.c — the simulation's network: consensus/'s cons_net API (cons_net.h)
 * implemented over a deterministic in-process message queue instead of nng.
 *
 * The simulation links consensus/ unchanged; cons_io.c's send() encodes each
 * raft message with the real codec and calls cons_net_send(), which lands
 * here: the frame is dropped (loss rate, cut link, dead receiver) or queued
 * with a random latency, so frames overtake each other (reordering).
 * sim_net_deliver() hands due frames to the caller in (due time, sequence)
 * order, which decodes them with the real codec. Every choice comes from the
 * seed's generator: a seed replays exactly.
 */
#include "sim.h"

#include <stdlib.h>
#include <string.h>

struct cons_net {
    unsigned node; /* index of the sending node */
};

typedef struct frame {
    uint64_t due, seq;
    unsigned from, to;
    uint8_t *buf;
    size_t len;
} frame;

static cons_net nets[SIM_NODES_MAX];
static frame *queue;
static size_t nqueue, capqueue;
static uint64_t next_seq;
sim_net_faults sim_faults;
sim_net_counts sim_counts;

cons_net *sim_net_of(unsigned node)
{
    nets[node].node = node;
    return &nets[node];
}

int cons_net_open(cons_net **out, uint64_t self_id, const uint8_t *chain, const char *addr,
                  const char *tls_file, const cons_peer *pins, size_t npins,
                  const cons_net_cbs *cbs, char *errmsg, size_t errmsg_len)
{
    (void)chain; /* every simulated node shares one network; deliver() decodes with it */
    (void)addr;
    (void)tls_file; /* simulated links are not encrypted: the simulation is of raft */
    (void)pins;
    (void)npins;
    (void)cbs;
    (void)errmsg;
    (void)errmsg_len;
    *out = sim_net_of((unsigned)(self_id - 1));
    return 0;
}

void cons_net_close(cons_net *n)
{
    (void)n;
}

void cons_net_forget(cons_net *n, uint64_t id)
{
    (void)n;
    (void)id;
}

int cons_net_pins_set(cons_net *n, const cons_peer *peers, size_t np, char *errmsg,
                      size_t errmsg_len)
{
    (void)n;
    (void)peers;
    (void)np;
    (void)errmsg;
    (void)errmsg_len;
    return 0;
}

void cons_net_tick(cons_net *n, const cons_peer *members, size_t np)
{
    (void)n;
    (void)members;
    (void)np;
}

bool cons_net_self_pinned(cons_net *n, const cons_peer *peers, size_t np)
{
    (void)n;
    (void)peers;
    (void)np;
    return true;
}

void cons_net_stats_get(cons_net *n, cons_net_stats *out)
{
    (void)n;
    memset(out, 0, sizeof *out);
}

int cons_net_send(cons_net *n, uint64_t id, const char *addr, int kind, uint8_t *buf, size_t len)
{
    (void)addr;
    (void)kind;
    unsigned from = n->node, to = (unsigned)(id - 1);
    if (id == 0 || to >= SIM_NODES_MAX || sim_faults.cut[from][to] ||
        sim_rand(100000) < sim_faults.loss_ppm / 10) {
        sim_counts.dropped++;
        free(buf);
        return 0; /* a lost frame looks sent to the sender, as with nng */
    }
    if (nqueue == capqueue) {
        size_t cap = capqueue ? 2 * capqueue : 256;
        frame *q = realloc(queue, cap * sizeof *q);
        if (!q) {
            free(buf);
            return -1;
        }
        queue = q;
        capqueue = cap;
    }
    uint64_t lat = sim_faults.latency_min_ms +
                   sim_rand(sim_faults.latency_max_ms - sim_faults.latency_min_ms + 1);
    queue[nqueue++] = (frame){sim_now_ms() + lat, next_seq++, from, to, buf, len};
    sim_counts.sent++;
    return 0;
}

size_t sim_net_deliver(uint64_t now,
                       void (*fn)(unsigned from, unsigned to, const uint8_t *buf, size_t len))
{
    size_t delivered = 0;
    for (;;) {
        size_t best = nqueue;
        for (size_t i = 0; i < nqueue; i++)
            if (queue[i].due <= now &&
                (best == nqueue || queue[i].due < queue[best].due ||
                 (queue[i].due == queue[best].due && queue[i].seq < queue[best].seq)))
                best = i;
        if (best == nqueue)
            return delivered;
        frame f = queue[best];
        queue[best] = queue[--nqueue];
        if (sim_faults.cut[f.from][f.to]) {
            sim_counts.dropped++; /* the link went down while it was on the wire */
        } else {
            fn(f.from, f.to, f.buf, f.len);
            delivered++;
        }
        free(f.buf);
    }
}

void sim_net_reset(void)
{
    for (size_t i = 0; i < nqueue; i++)
        free(queue[i].buf);
    free(queue);
    queue = NULL;
    nqueue = capqueue = 0;
    next_seq = 0;
    memset(&sim_faults, 0, sizeof sim_faults);
    memset(&sim_counts, 0, sizeof sim_counts);
}
