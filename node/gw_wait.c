/*
 * gw_wait.c — read your own writes: the ?min_height=H gate of the unit reads
 * and of POST /api/v1/tx.
 *
 * A client that wrote through one node holds the height of its receipt; a
 * read that names it must not answer from an older state, wherever it lands,
 * and a write that names it (the next step of a chain: claim after sell) must
 * not be judged at admission by an older state (standing: "no_offer").
 * The gate parses H (GW_MIN_HEIGHT_MAX at most, else 400 bad_query). When
 * this node has applied H already, the read runs at once. Otherwise the
 * request moves to a pool worker (gw_defer) that polls the applied height
 * every GW_MIN_HEIGHT_POLL_MS for at most GW_MIN_HEIGHT_WAIT_MS, then runs
 * the route again (the gate lets it through) or answers 503 "behind" with
 * Retry-After. At most GW_MIN_HEIGHT_WAITERS requests wait at once, so slow
 * reads never take the workers that transaction submits need; one more is
 * answered 503 at once. The wait is a bounded poll of an LMDB read
 * snapshot, never a lock held across the consensus thread.
 */
#include "node/gw_i18n.h"
#include "node/gw_priv.h"

#include <string.h>
#include <time.h>

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static uint64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

uint64_t gw_applied_height(gw *g)
{
    chain_rd *rd;
    chain_head h = {0};
    if (chain_rd_begin(g->deps.chain, &rd) != CHAIN_OK)
        return 0;
    if (chain_head_get(rd, &h) != CHAIN_OK)
        h.height = 0;
    chain_rd_end(rd);
    return h.height;
}

static void reply_behind(gw_req *r, uint64_t have, bool busy)
{
    if (r->route < gw_nroutes && gw_routes[r->route].fn == gw_route_resolve && !r->want_json) {
        int lang = gw_req_lang(r);
        gw_buf b = {0};
        gw_page_error(&b, lang, 503, gw_msg(lang, GW_M_E_BEHIND),
                      gw_msg(lang, GW_M_E_BEHIND_DETAIL));
        if (!b.failed) {
            gw_reply(r, 503, "text/html; charset=utf-8", b.p, b.len);
            return;
        }
        gw_buf_free(&b);
    }
    if (busy)
        gw_reply_error(r, 503, "busy",
                       "this node has applied block %llu, not yet min_height %llu, and %d reads "
                       "are already waiting; retry (here or on another node)",
                       (unsigned long long)have, (unsigned long long)r->min_height,
                       GW_MIN_HEIGHT_WAITERS);
    else
        gw_reply_error(r, 503, "behind",
                       "this node has applied block %llu, not yet min_height %llu; retry (here or "
                       "on another node)",
                       (unsigned long long)have, (unsigned long long)r->min_height);
}

/* On a pool worker: poll until the height is applied or the deadline. */
static void wait_work(gw_req *r)
{
    gw *g = r->g;
    uint64_t have = gw_applied_height(g);
    while (have < r->min_height && mono_ms() < r->wait_until_ms) {
        struct timespec ts = {0, GW_MIN_HEIGHT_POLL_MS * 1000000L};
        nanosleep(&ts, NULL);
        have = gw_applied_height(g);
    }
    __atomic_sub_fetch(&g->min_height_waiters, 1, __ATOMIC_RELAXED);
    if (have < r->min_height) {
        reply_behind(r, have, false);
        return;
    }
    r->now_ms = wall_ms();
    gw_routes[r->route].fn(r); /* the gate lets it through now */
}

bool gw_min_height_gate(gw_req *r)
{
    if (r->wait_until_ms) /* back from wait_work: H is applied */
        return true;
    const char *s = gw_arg(r, "min_height");
    if (!s)
        return true;
    uint64_t h;
    if (!gw_parse_u64(&h, s, strlen(s)) || h > GW_MIN_HEIGHT_MAX) {
        gw_reply_error(r, 400, "bad_query", "min_height: expected a block height 0..%llu",
                       (unsigned long long)GW_MIN_HEIGHT_MAX);
        return false;
    }
    r->min_height = h;
    uint64_t have = gw_applied_height(r->g);
    if (have >= h)
        return true;
    gw *g = r->g;
    if (__atomic_add_fetch(&g->min_height_waiters, 1, __ATOMIC_RELAXED) > GW_MIN_HEIGHT_WAITERS) {
        __atomic_sub_fetch(&g->min_height_waiters, 1, __ATOMIC_RELAXED);
        reply_behind(r, have, true);
        return false;
    }
    r->wait_until_ms = mono_ms() + GW_MIN_HEIGHT_WAIT_MS;
    if (!gw_defer(r, wait_work)) {
        __atomic_sub_fetch(&g->min_height_waiters, 1, __ATOMIC_RELAXED);
        r->wait_until_ms = 0;
        reply_behind(r, have, true);
    }
    return false;
}
