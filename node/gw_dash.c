/*
 * gw_dash.c — the brand's scan-intelligence views: GET /dashboard (HTML with
 * inline SVG, no script, no CDN), GET /api/v1/analytics and GET
 * /api/v1/alerts (JSON). All three need a dashboard session of a current
 * brand key (gw_session.c), as "Authorization: Bearer <session>" or the
 * session cookie; never a token in the URL.
 *
 * The figures come from scan_dash_collect, scan_dash_lot and scan_dash_unit
 * (scan/dash.c); this file checks the session, reads ?lot= / ?unit= (the
 * drill-downs) and hands the figures to gw_dash_page.c, which draws them.
 */
#include <stdlib.h>
#include <string.h>

#include "node/gw_priv.h"
#include "scan/scan.h"

static bool authorized(gw_req *r)
{
    return gw_dash_authorized(r); /* gw_session.c: a ledger-backed session */
}

static scan_dash *collect(gw_req *r, uint64_t since)
{
    scan_dash *d;
    return scan_dash_collect(&d, r->g->deps.chain, r->now_ms / 1000, since) == CHAIN_OK ? d : NULL;
}

static json_t *reasons_json(uint32_t reasons)
{
    json_t *a = json_array();
    for (int i = 0; i < VERDICT_R__COUNT; i++)
        if (reasons & (1u << i))
            json_array_append_new(a, json_string(verdict_reason_name(i)));
    return a;
}

static json_t *alert_json(const scan_alert *a)
{
    if (a->kind == 1)
        return json_pack("{s:s,s:I,s:s,s:I}", "type", "probes", "time", (json_int_t)a->time, "gtin",
                         a->gtin, "count", (json_int_t)a->count);
    return json_pack("{s:s,s:I,s:s,s:s,s:o}", "type", "suspicious", "time", (json_int_t)a->time,
                     "gtin", a->gtin, "serial", a->serial, "reasons", reasons_json(a->reasons));
}

void gw_route_analytics(gw_req *r)
{
    if (!authorized(r))
        return;
    scan_dash *d = collect(r, 0);
    if (!d) {
        gw_reply_error(r, 503, "storage", "could not read scan aggregates");
        return;
    }
    json_t *o = json_object(), *days = json_array(), *regions = json_object(),
           *lots = json_object(), *top = json_array(), *al = json_array();
    json_object_set_new(o, "totals",
                        json_pack("{s:I,s:I,s:I,s:I,s:I}", "scans", (json_int_t)d->scans, "probes",
                                  (json_int_t)d->probes, "reports", (json_int_t)d->reports, "units",
                                  (json_int_t)d->units, "suspicious", (json_int_t)d->suspicious));
    uint64_t today = d->now / 86400;
    for (int i = SCAN_DASH_DAYS - 1; i >= 0; i--)
        json_array_append_new(days, json_pack("{s:I,s:I,s:I}", "day", (json_int_t)(today - i),
                                              "scans", (json_int_t)d->days[i], "probes",
                                              (json_int_t)d->probe_days[i]));
    for (size_t i = 0; i < d->nregions; i++)
        json_object_set_new(regions, d->regions[i].key, json_integer((json_int_t)d->regions[i].n));
    for (size_t i = 0; i < d->nlots; i++)
        json_object_set_new(lots, d->lots[i].key, json_integer((json_int_t)d->lots[i].n));
    for (size_t i = 0; i < d->ntop; i++) {
        json_t *u = alert_json(&d->top[i]);
        json_object_set_new(u, "scans", json_integer((json_int_t)d->top[i].scans));
        json_object_del(u, "type");
        json_array_append_new(top, u);
    }
    for (size_t i = 0; i < d->nalerts && i < 20; i++)
        json_array_append_new(al, alert_json(&d->alerts[i]));
    json_object_set_new(o, "scans_per_day", days);
    json_object_set_new(o, "scans_by_region", regions);
    json_object_set_new(o, "scans_by_lot", lots);
    json_object_set_new(o, "top_suspicious", top);
    json_object_set_new(o, "recent_alerts", al);
    free(d);
    gw_reply_json(r, 200, o);
}

void gw_route_alerts(gw_req *r)
{
    if (!authorized(r))
        return;
    uint64_t since = 0;
    const char *s = gw_arg(r, "since");
    if (s && !gw_parse_u64(&since, s, strlen(s))) {
        gw_reply_error(r, 400, "bad_request", "since: unix seconds");
        return;
    }
    scan_dash *d = collect(r, since);
    if (!d) {
        gw_reply_error(r, 503, "storage", "could not read scan aggregates");
        return;
    }
    json_t *al = json_array();
    for (size_t i = 0; i < d->nalerts; i++)
        json_array_append_new(al, alert_json(&d->alerts[i]));
    json_t *o = json_pack("{s:o,s:I}", "alerts", al, "now", (json_int_t)d->now);
    free(d);
    gw_reply_json(r, 200, o);
}

/* ?lot=GTIN/LOT or ?unit=GTIN/SERIAL, decoded and split at the first '/'.
 * false (and a 400 answered) when present but malformed; *found false when absent. */
static bool drill_arg(gw_req *r, const char *key, char *gtin, char *rest, size_t rest_cap,
                      bool *found)
{
    const char *raw = gw_arg(r, key);
    *found = raw != NULL;
    if (!raw)
        return true;
    char dec[GS1_GTIN_LEN + GS1_SERIAL_MAX + GS1_LOT_MAX + 4];
    size_t rl = strnlen(raw, sizeof dec * 3 + 1);
    int n = rl > sizeof dec * 3 ? -1 : chain_pct_decode(dec, sizeof dec, raw, rl);
    const char *slash = n > 0 ? memchr(dec, '/', (size_t)n) : NULL;
    if (!slash || slash - dec != GS1_GTIN_LEN || !gs1_gtin_valid(dec, GS1_GTIN_LEN) ||
        strlen(slash + 1) == 0 || strlen(slash + 1) >= rest_cap) {
        gw_reply_error(r, 400, "bad_query", "%s: expected GTIN-14/%s", key,
                       strcmp(key, "lot") == 0 ? "LOT" : "SERIAL");
        return false;
    }
    memcpy(gtin, dec, GS1_GTIN_LEN);
    gtin[GS1_GTIN_LEN] = '\0';
    snprintf(rest, rest_cap, "%s", slash + 1);
    return true;
}

static void reply_html(gw_req *r, gw_buf *b)
{
    if (b->failed) {
        gw_buf_free(b);
        gw_reply_error(r, 503, "nomem", "out of memory");
        return;
    }
    gw_reply(r, 200, "text/html; charset=utf-8", b->p, b->len);
}

void gw_route_dashboard(gw_req *r)
{
    if (!authorized(r))
        return;
    char gtin[GS1_GTIN_LEN + 1], lot[GS1_LOT_MAX + 1], serial[GS1_SERIAL_MAX + 1];
    bool by_lot, by_unit;
    if (!drill_arg(r, "lot", gtin, lot, sizeof lot, &by_lot))
        return;
    if (!by_lot && !drill_arg(r, "unit", gtin, serial, sizeof serial, &by_unit))
        return;
    gw_buf b = {0};
    if (by_lot) {
        scan_lot_view *lv;
        int e = scan_dash_lot(&lv, r->g->deps.chain, gtin, lot, r->now_ms / 1000);
        if (e == CHAIN_ERR_NOT_FOUND) {
            gw_reply_error(r, 404, "unknown_lot", "no lot %s/%s", gtin, lot);
            return;
        }
        if (e != CHAIN_OK) {
            gw_reply_chain_err(r, e, "reading the lot");
            return;
        }
        gw_dash_render_lot(&b, lv);
        free(lv);
    } else if (by_unit) {
        scan_unit_view u;
        int e = scan_dash_unit(&u, r->g->deps.chain, gtin, serial, r->now_ms / 1000);
        if (e == CHAIN_ERR_NOT_FOUND) {
            gw_reply_error(r, 404, "unknown_unit", "no unit %s/%s", gtin, serial);
            return;
        }
        if (e != CHAIN_OK) {
            gw_reply_chain_err(r, e, "reading the unit");
            return;
        }
        gw_dash_render_unit(&b, &u);
    } else {
        scan_dash *d = collect(r, 0);
        if (!d) {
            gw_reply_error(r, 503, "storage", "could not read scan aggregates");
            return;
        }
        gw_dash_render(&b, d);
        free(d);
    }
    reply_html(r, &b);
}
