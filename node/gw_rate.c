/*
 * gw_rate.c — per-client token buckets for public scans and reports.
 *
 * A fixed table of GW_RATE_TABLE buckets keyed by the client hash, split into
 * stripes with their own mutex so two clients rarely contend. A client maps
 * to a probe window of 4 slots in its stripe; a new client takes a free or
 * the least recently used slot, so memory is bounded and a flood of fresh
 * clients evicts only idle ones. One client's empty bucket never touches
 * another's, so a flood from one address cannot slow anyone else down.
 */
#include "node/gw_priv.h"

#include <stdlib.h>
#include <string.h>

#define STRIPES    64
#define PER_STRIPE (GW_RATE_TABLE / STRIPES)
#define PROBE      4
_Static_assert(PER_STRIPE >= PROBE, "probe window fits a stripe");

typedef struct bucket {
    uint8_t key[GW_CLIENT_LEN];
    bool used;
    double tokens;
    uint64_t last_ms;
} bucket;

struct gw_rate {
    double rate_per_ms, burst;
    struct {
        pthread_mutex_t mu;
        bucket b[PER_STRIPE];
    } s[STRIPES];
};

gw_rate *gw_rate_new(double rate_per_s, unsigned burst)
{
    gw_rate *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->rate_per_ms = rate_per_s / 1000.0;
    r->burst = burst ? burst : rate_per_s < 1 ? 1 : rate_per_s;
    for (size_t i = 0; i < STRIPES; i++)
        pthread_mutex_init(&r->s[i].mu, NULL);
    return r;
}

void gw_rate_free(gw_rate *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < STRIPES; i++)
        pthread_mutex_destroy(&r->s[i].mu);
    free(r);
}

bool gw_rate_take(gw_rate *r, const uint8_t client[GW_CLIENT_LEN], unsigned cost, uint64_t now_ms)
{
    return gw_rate_take_retry(r, client, cost, now_ms, NULL);
}

bool gw_rate_take_retry(gw_rate *r, const uint8_t client[GW_CLIENT_LEN], unsigned cost,
                        uint64_t now_ms, uint64_t *retry_ms)
{
    if (!r || r->rate_per_ms <= 0)
        return true;
    /* the key is a hash, already uniform: its bytes pick stripe and slot. The
     * last 8 bytes of a client hash are its address (the first 8 its network,
     * shared by neighbours), so those pick. */
    size_t st = client[8] % STRIPES, slot = ((size_t)client[9] << 8 | client[10]) % PER_STRIPE;
    pthread_mutex_lock(&r->s[st].mu);
    bucket *b = NULL, *victim = NULL;
    for (size_t i = 0; i < PROBE; i++) {
        bucket *c = &r->s[st].b[(slot + i) % PER_STRIPE];
        if (c->used && memcmp(c->key, client, GW_CLIENT_LEN) == 0) {
            b = c;
            break;
        }
        if (!victim || !c->used || (victim->used && c->last_ms < victim->last_ms))
            if (!victim || victim->used)
                victim = c;
    }
    if (!b) {
        b = victim;
        memcpy(b->key, client, GW_CLIENT_LEN);
        b->used = true;
        b->tokens = r->burst;
        b->last_ms = now_ms;
    }
    if (now_ms > b->last_ms) {
        b->tokens += (double)(now_ms - b->last_ms) * r->rate_per_ms;
        if (b->tokens > r->burst)
            b->tokens = r->burst;
        b->last_ms = now_ms;
    }
    bool ok = b->tokens >= cost;
    if (ok)
        b->tokens -= cost;
    else if (retry_ms) /* when enough will have refilled (never: cost over the burst) */
        *retry_ms =
            cost > r->burst ? UINT64_MAX : (uint64_t)((cost - b->tokens) / r->rate_per_ms) + 1;
    pthread_mutex_unlock(&r->s[st].mu);
    return ok;
}
