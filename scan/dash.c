/*
 * dash.c — the figures behind the brand's scan-intelligence views: one pass
 * over the replicated scan aggregates (chain_scan_units) and probe counters
 * (chain_probes) in one read transaction, each suspicious unit judged by the
 * verdict rules (verdict.c). Everything kept is bounded: SCAN_DASH_DAYS
 * days, SCAN_DASH_KEYS regions and lots, the top SCAN_DASH_TOP units,
 * SCAN_DASH_ALERTS alerts. Scans per day and by region come from the chain's
 * (region, day) counters (chain_scan_regions), so each scan counts where and
 * when it happened. scan_dash_lot and scan_dash_unit are the drill-downs: a
 * lot's units (at most SCAN_DASH_LOT_UNITS) and one unit, each with its scan
 * aggregates and verdict. The gateway (node/gw_dash.c) renders them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scan/scan.h"

/* One collection in progress: the figures and the read transaction. */
typedef struct walk {
    scan_dash *d;
    chain_rd *rd;
} walk;

static void bump(scan_kv *t, size_t *n, const char *key, uint64_t by)
{
    for (size_t i = 0; i < *n; i++)
        if (strcmp(t[i].key, key) == 0) {
            t[i].n += by;
            return;
        }
    if (*n < SCAN_DASH_KEYS) {
        snprintf(t[*n].key, sizeof t[*n].key, "%s", key);
        t[(*n)++].n = by;
    }
}

static unsigned popcount(uint32_t x)
{
    unsigned n = 0;
    for (; x; x &= x - 1)
        n++;
    return n;
}

static void add_alert(scan_dash *d, const scan_alert *a)
{
    if (a->time < d->since)
        return;
    if (d->nalerts < SCAN_DASH_ALERTS) {
        d->alerts[d->nalerts++] = *a;
        return;
    }
    size_t oldest = 0; /* full: replace the oldest */
    for (size_t i = 1; i < SCAN_DASH_ALERTS; i++)
        if (d->alerts[i].time < d->alerts[oldest].time)
            oldest = i;
    if (a->time > d->alerts[oldest].time)
        d->alerts[oldest] = *a;
}

static int on_unit(void *ctx, const gs1_sgtin *id, const chain_scan_stats *st)
{
    walk *w = ctx;
    scan_dash *d = w->d;
    chain_rd *rd = w->rd;
    d->units++;
    d->scans += st->scans;
    d->reports += st->reports;
    chain_unit u;
    if (chain_unit_get(rd, &u, id->gtin, id->serial) != CHAIN_OK)
        return 0;
    char lot[sizeof d->lots[0].key];
    snprintf(lot, sizeof lot, "%s/%s", u.id.gtin, u.lot);
    bump(d->lots, &d->nlots, lot, st->scans + st->reports);
    chain_policy pol;
    chain_policy_effective(rd, &pol, u.id.gtin, u.lot);
    verdict v;
    verdict_input in = {.unit = &u, .stats = st, .policy = &pol, .now = d->now};
    verdict_eval(&v, &in);
    if (v.status != VERDICT_SUSPICIOUS)
        return 0;
    d->suspicious++;
    scan_alert a = {.time = st->last_time, .scans = st->scans, .reasons = v.reasons};
    snprintf(a.gtin, sizeof a.gtin, "%s", id->gtin);
    snprintf(a.serial, sizeof a.serial, "%s", id->serial);
    add_alert(d, &a);
    size_t slot = d->ntop;
    if (slot == SCAN_DASH_TOP) { /* replace the weakest when stronger */
        slot = 0;
        for (size_t i = 1; i < SCAN_DASH_TOP; i++)
            if (popcount(d->top[i].reasons) < popcount(d->top[slot].reasons))
                slot = i;
        if (popcount(d->top[slot].reasons) >= popcount(v.reasons))
            return 0;
    } else {
        d->ntop++;
    }
    d->top[slot] = a;
    return 0;
}

static int on_probe(void *ctx, const char *gtin, uint32_t day, uint64_t count)
{
    scan_dash *d = ((walk *)ctx)->d;
    d->probes += count;
    uint64_t today = d->now / 86400;
    if (day <= today && today - day < SCAN_DASH_DAYS)
        d->probe_days[today - day] += count;
    scan_alert a = {.time = (uint64_t)day * 86400, .kind = 1, .count = count};
    snprintf(a.gtin, sizeof a.gtin, "%s", gtin);
    add_alert(d, &a);
    return 0;
}

static int on_region(void *ctx, const char *region, uint32_t day, uint64_t count)
{
    scan_dash *d = ((walk *)ctx)->d;
    uint64_t today = d->now / 86400;
    if (day > today || today - day >= SCAN_DASH_DAYS)
        return 0;
    d->days[today - day] += count;
    bump(d->regions, &d->nregions, region[0] ? region : "unknown", count);
    return 0;
}

static int by_time_desc(const void *x, const void *y)
{
    const scan_alert *a = x, *b = y;
    return a->time < b->time ? 1 : a->time > b->time ? -1 : 0;
}

static int by_n_desc(const void *x, const void *y)
{
    const scan_kv *a = x, *b = y;
    return a->n < b->n ? 1 : a->n > b->n ? -1 : strcmp(a->key, b->key);
}

int scan_dash_collect(scan_dash **out, chain *c, uint64_t now, uint64_t since)
{
    scan_dash *d = calloc(1, sizeof *d);
    if (!d)
        return CHAIN_ERR_NOMEM;
    d->now = now;
    d->since = since;
    walk w = {.d = d};
    int rc = chain_rd_begin(c, &w.rd);
    if (rc != CHAIN_OK) {
        free(d);
        return rc;
    }
    rc = chain_scan_units(w.rd, on_unit, &w);
    if (rc == CHAIN_OK)
        rc = chain_probes(w.rd, on_probe, &w);
    if (rc == CHAIN_OK)
        rc = chain_scan_regions(w.rd, on_region, &w);
    chain_rd_end(w.rd);
    if (rc != CHAIN_OK) {
        free(d);
        return rc;
    }
    qsort(d->alerts, d->nalerts, sizeof d->alerts[0], by_time_desc);
    qsort(d->regions, d->nregions, sizeof d->regions[0], by_n_desc);
    qsort(d->lots, d->nlots, sizeof d->lots[0], by_n_desc);
    *out = d;
    return CHAIN_OK;
}

/* ---- drill-downs ----------------------------------------------------------------- */

static int unit_view(scan_unit_view *out, chain_rd *rd, const char *gtin, const char *serial,
                     uint64_t now)
{
    int rc = chain_unit_get(rd, &out->unit, gtin, serial);
    if (rc == CHAIN_ERR_UNKNOWN_UNIT)
        rc = CHAIN_ERR_NOT_FOUND;
    if (rc != CHAIN_OK)
        return rc;
    bool scanned = chain_scan_stats_get(rd, &out->stats, gtin, serial) == CHAIN_OK;
    if (!scanned)
        memset(&out->stats, 0, sizeof out->stats);
    chain_policy pol;
    chain_policy_effective(rd, &pol, gtin, out->unit.lot);
    verdict_input in = {
        .unit = &out->unit, .stats = scanned ? &out->stats : NULL, .policy = &pol, .now = now};
    verdict_eval(&out->v, &in);
    return CHAIN_OK;
}

int scan_dash_unit(scan_unit_view *out, chain *c, const char *gtin, const char *serial,
                   uint64_t now)
{
    chain_rd *rd;
    scan_unit_view v;
    int rc = chain_rd_begin(c, &rd);
    if (rc != CHAIN_OK)
        return rc;
    rc = unit_view(&v, rd, gtin, serial, now);
    chain_rd_end(rd);
    if (rc == CHAIN_OK)
        *out = v;
    return rc;
}

typedef struct lot_walk {
    scan_lot_view *lv;
    chain_rd *rd;
    uint64_t now;
    int rc;
} lot_walk;

static int on_lot_unit(void *ctx, const gs1_sgtin *id)
{
    lot_walk *w = ctx;
    if (w->lv->nunits == SCAN_DASH_LOT_UNITS)
        return 1;
    w->rc = unit_view(&w->lv->units[w->lv->nunits], w->rd, id->gtin, id->serial, w->now);
    if (w->rc != CHAIN_OK)
        return 1;
    w->lv->nunits++;
    return 0;
}

int scan_dash_lot(scan_lot_view **out, chain *c, const char *gtin, const char *lot, uint64_t now)
{
    scan_lot_view *lv = calloc(1, sizeof *lv);
    if (!lv)
        return CHAIN_ERR_NOMEM;
    lot_walk w = {.lv = lv, .now = now, .rc = CHAIN_OK};
    int rc = chain_rd_begin(c, &w.rd);
    if (rc != CHAIN_OK) {
        free(lv);
        return rc;
    }
    rc = chain_lot_get(w.rd, &lv->lot, gtin, lot);
    if (rc == CHAIN_OK)
        rc = chain_lot_units(w.rd, gtin, lot, NULL, SCAN_DASH_LOT_UNITS, on_lot_unit, &w);
    if (rc == CHAIN_OK)
        rc = w.rc;
    chain_rd_end(w.rd);
    if (rc != CHAIN_OK) {
        free(lv);
        return rc;
    }
    *out = lv;
    return CHAIN_OK;
}
