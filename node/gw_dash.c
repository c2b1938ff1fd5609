/*
 * gw_dash.c — the brand's scan-intelligence views: GET /dashboard (HTML with
 * inline SVG, no script, no CDN), GET /api/v1/analytics and GET
 * /api/v1/alerts (JSON). All three need a dashboard session of a current
 * brand key (gw_session.c), as "Authorization: Bearer <session>" or the
 * session cookie; never a token in the URL.
 *
 * The figures come from scan_dash_collect (scan/dash.c); this file renders
 * them.
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

static void bars(gw_buf *b, const uint64_t *v, size_t n, const char *color)
{
    uint64_t max = 1;
    for (size_t i = 0; i < n; i++)
        if (v[i] > max)
            max = v[i];
    gw_buf_printf(b, "<svg width=\"%zu\" height=\"120\" role=\"img\">", n * 20 + 10);
    for (size_t i = 0; i < n; i++) {
        unsigned h = (unsigned)(v[n - 1 - i] * 100 / max);
        gw_buf_printf(b,
                      "<rect x=\"%zu\" y=\"%u\" width=\"16\" height=\"%u\" fill=\"%s\">"
                      "<title>%llu</title></rect>",
                      i * 20 + 5, 105 - h, h, color, (unsigned long long)v[n - 1 - i]);
    }
    gw_buf_puts(b, "</svg>");
}

static void hbars(gw_buf *b, const scan_kv *t, size_t n)
{
    uint64_t max = 1;
    for (size_t i = 0; i < n; i++)
        if (t[i].n > max)
            max = t[i].n;
    gw_buf_printf(b, "<svg width=\"520\" height=\"%zu\" role=\"img\">", n * 22 + 4);
    for (size_t i = 0; i < n; i++) {
        unsigned w = (unsigned)(t[i].n * 300 / max);
        gw_buf_printf(b, "<text x=\"0\" y=\"%zu\" font-size=\"12\">", i * 22 + 16);
        gw_buf_html(b, t[i].key);
        gw_buf_printf(b,
                      "</text><rect x=\"180\" y=\"%zu\" width=\"%u\" height=\"16\" "
                      "fill=\"#4a7\"/><text x=\"%u\" y=\"%zu\" font-size=\"12\">%llu</text>",
                      i * 22 + 4, w, 186 + w, i * 22 + 16, (unsigned long long)t[i].n);
    }
    gw_buf_puts(b, "</svg>");
}

void gw_route_dashboard(gw_req *r)
{
    if (!authorized(r))
        return;
    scan_dash *d = collect(r, 0);
    if (!d) {
        gw_reply_error(r, 503, "storage", "could not read scan aggregates");
        return;
    }
    gw_buf b = {0};
    gw_buf_puts(&b, "<!doctype html><html><head><meta charset=\"utf-8\">"
                    "<title>Provena dashboard</title><style>body{font-family:sans-serif;"
                    "margin:2em}section{margin-bottom:2em}td,th{padding:2px 8px;text-align:left}"
                    "</style></head><body><h1>Provena dashboard</h1>");
    gw_buf_printf(&b,
                  "<section id=\"totals\"><p>Scans: <b>%llu</b> · Probes of unknown serials: "
                  "<b>%llu</b> · Reports: <b>%llu</b> · Units scanned: <b>%llu</b> · "
                  "Suspicious: <b>%llu</b></p></section>",
                  (unsigned long long)d->scans, (unsigned long long)d->probes,
                  (unsigned long long)d->reports, (unsigned long long)d->units,
                  (unsigned long long)d->suspicious);
    gw_buf_puts(&b, "<section id=\"per-day\"><h2>Scans per day (last 30 days, by latest "
                    "scan)</h2>");
    bars(&b, d->days, SCAN_DASH_DAYS, "#47a");
    gw_buf_puts(&b, "<h2>Probes of unknown serials per day</h2>");
    bars(&b, d->probe_days, SCAN_DASH_DAYS, "#a44");
    gw_buf_puts(&b, "</section><section id=\"regions\"><h2>Scans by region</h2>");
    hbars(&b, d->regions, d->nregions);
    gw_buf_puts(&b, "</section><section id=\"lots\"><h2>Scans per lot</h2>");
    hbars(&b, d->lots, d->nlots);
    gw_buf_puts(&b, "</section><section id=\"suspicious\"><h2>Top suspicious units</h2><table>"
                    "<tr><th>GTIN</th><th>Serial</th><th>Scans</th><th>Reasons</th></tr>");
    for (size_t i = 0; i < d->ntop; i++) {
        gw_buf_puts(&b, "<tr><td>");
        gw_buf_html(&b, d->top[i].gtin);
        gw_buf_puts(&b, "</td><td>");
        gw_buf_html(&b, d->top[i].serial);
        gw_buf_printf(&b, "</td><td>%llu</td><td>", (unsigned long long)d->top[i].scans);
        for (int k = 0; k < VERDICT_R__COUNT; k++)
            if (d->top[i].reasons & (1u << k))
                gw_buf_printf(&b, "<span data-reason=\"%s\">%s</span> ", verdict_reason_name(k),
                              verdict_reason_name(k));
        gw_buf_puts(&b, "</td></tr>");
    }
    gw_buf_puts(&b, "</table></section><section id=\"alerts\"><h2>Recent alerts</h2><ul>");
    for (size_t i = 0; i < d->nalerts && i < 20; i++) {
        char t[32];
        gw_time_fmt(t, d->alerts[i].time * 1000);
        gw_buf_printf(&b, "<li>%s: ", t);
        if (d->alerts[i].kind == 1) {
            gw_buf_printf(&b, "%llu probes of unknown serials of GTIN ",
                          (unsigned long long)d->alerts[i].count);
            gw_buf_html(&b, d->alerts[i].gtin);
        } else {
            gw_buf_puts(&b, "unit ");
            gw_buf_html(&b, d->alerts[i].gtin);
            gw_buf_puts(&b, "/");
            gw_buf_html(&b, d->alerts[i].serial);
            gw_buf_puts(&b, " turned suspicious");
        }
        gw_buf_puts(&b, "</li>");
    }
    gw_buf_puts(&b, "</ul></section></body></html>");
    free(d);
    if (b.failed) {
        gw_buf_free(&b);
        gw_reply_error(r, 503, "nomem", "out of memory");
        return;
    }
    gw_reply(r, 200, "text/html; charset=utf-8", b.p, b.len);
}
