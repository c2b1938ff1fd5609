/*
 * gw_dash_page.c — the brand dashboard's HTML: the overview, a lot's
 * drill-down and a unit's drill-down. gw_dash.c checks access and collects the
 * figures (scan/dash.c); this file only draws them.
 *
 * Plain HTML and inline SVG, no script: it reads on a phone (viewport meta,
 * charts scale to the width, wide tables scroll inside their own box) and
 * passes axe-core (one main landmark, every chart an image with a text
 * equivalent, dated axes). Reasons are shown in words (verdict_reason_text),
 * states and flags by their names. Links carry no credential: the dashboard
 * session travels as a cookie (gw_session.c).
 */
#include <string.h>

#include "node/gw_priv.h"
#include "scan/scan.h"

static const char *const css =
    "body{margin:0;font:15px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;"
    "color:#1a1a1a;background:#f5f5f2}"
    "main{max-width:960px;margin:auto;padding:12px 16px 32px}"
    "h1{font-size:24px;margin:8px 0}h2{font-size:18px;margin:24px 0 8px}"
    "section{background:#fff;padding:8px 12px 12px;margin:12px 0;border-radius:6px}"
    ".kpi{display:flex;flex-wrap:wrap;gap:8px 20px;margin:0;padding:0;list-style:none}"
    ".kpi b{font-size:20px;display:block}"
    ".scroll{overflow-x:auto}table{border-collapse:collapse;width:100%}"
    "td,th{padding:4px 8px;text-align:left;border-bottom:1px solid #ddd;vertical-align:top}"
    "th{color:#444}td.n{text-align:right;white-space:nowrap}"
    ".bar{display:inline-block;height:12px;background:#2f6f4f;vertical-align:middle;"
    "margin-right:6px}"
    "svg{width:100%;height:auto;display:block}a{color:#1a4f8a}th.n{text-align:right}"
    ".charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(280px,1fr));gap:0 24px}"
    "nav a{margin-right:12px}.muted{color:#555}"
    "ul.units{list-style:none;padding:0;margin:0}ul.units li{padding:8px 0;"
    "border-bottom:1px solid #ddd;overflow-wrap:anywhere}"
    "dl{display:grid;grid-template-columns:auto 1fr;gap:4px 12px;margin:0}dt{color:#555}"
    "dd{margin:0;overflow-wrap:anywhere}";

typedef struct dash_ctx {
    gw_buf *b;
} dash_ctx;

static void head(gw_buf *b, const char *title)
{
    gw_buf_puts(b, "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
                   "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
                   "<meta name=\"robots\" content=\"noindex\"><title>");
    gw_buf_html(b, title);
    gw_buf_puts(b, "</title><style>");
    gw_buf_puts(b, css);
    gw_buf_puts(b, "</style></head><body><main>");
}

static void tail(gw_buf *b)
{
    gw_buf_puts(b, "</main></body></html>\n");
}

/* href="/dashboard[?k=v]" with v HTML-escaped; v may hold '/'. */
static void link_open(dash_ctx *x, const char *k, const char *v)
{
    gw_buf_puts(x->b, "<a href=\"/dashboard");
    if (k) {
        gw_buf_printf(x->b, "?%s=", k);
        gw_buf_html(x->b, v);
    }
    gw_buf_puts(x->b, "\">");
}

static void unit_link(dash_ctx *x, const char *gtin, const char *serial)
{
    char u[GS1_GTIN_LEN + GS1_SERIAL_MAX + 2];
    snprintf(u, sizeof u, "%s/%s", gtin, serial);
    link_open(x, "unit", u);
    gw_buf_html(x->b, u);
    gw_buf_puts(x->b, "</a>");
}

static void date_of_day(char out[11], uint64_t day)
{
    char t[32];
    gw_time_fmt(t, day * 86400000ull);
    snprintf(out, 11, "%.10s", t);
}

/* Bars of n days ending today (v[0] today), with a dated x axis (every 7th
 * day and the last), a y axis (0 and the largest value) and the chart said
 * in words for screen readers. */
static void day_chart(gw_buf *b, const char *what, const uint64_t *v, size_t n, uint64_t now,
                      const char *color)
{
    enum {
        W = 360,
        H = 180,
        LEFT = 34,
        BOTTOM = 26,
        TOP = 12
    }; /* phone-sized: text stays legible */
    uint64_t max = 0, sum = 0, today = now / 86400;
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
        sum += v[i];
        if (v[i] > max) {
            max = v[i];
            at = i;
        }
    }
    char first[11], last[11], peak[11];
    date_of_day(first, today - (n - 1));
    date_of_day(last, today);
    date_of_day(peak, today - at);
    gw_buf_printf(b,
                  "<svg viewBox=\"0 0 %d %d\" role=\"img\" aria-label=\"%s per day from %s to %s: "
                  "%llu in all",
                  W, H, what, first, last, (unsigned long long)sum);
    if (max)
        gw_buf_printf(b, ", most %llu on %s", (unsigned long long)max, peak);
    gw_buf_puts(b, "\">");
    double slot = (double)(W - LEFT) / (double)n;
    int base = H - BOTTOM;
    gw_buf_printf(
        b,
        "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#555\"/>"
        "<text x=\"%d\" y=\"%d\" font-size=\"12\" text-anchor=\"end\" fill=\"#444\">0</text>"
        "<text x=\"%d\" y=\"%d\" font-size=\"12\" text-anchor=\"end\" "
        "fill=\"#444\">%llu</text>",
        LEFT, base, W, base, LEFT - 4, base, LEFT - 4, TOP + 10,
        (unsigned long long)(max ? max : 1));
    for (size_t i = 0; i < n; i++) {
        size_t age = n - 1 - i; /* oldest first, left to right */
        uint64_t val = v[age];
        int h = max ? (int)((double)val * (base - TOP) / (double)max) : 0;
        double x = LEFT + (double)i * slot;
        char d[11];
        date_of_day(d, today - age);
        gw_buf_printf(b,
                      "<rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%d\" fill=\"%s\">"
                      "<title>%s: %llu</title></rect>",
                      x + 1, base - h, slot - 2, h, color, d, (unsigned long long)val);
        if (age % 7 == 0) /* today is the last label: anchored at its end to stay inside */
            gw_buf_printf(b,
                          "<text x=\"%.1f\" y=\"%d\" font-size=\"12\" text-anchor=\"%s\" "
                          "fill=\"#444\">%.5s</text>",
                          age == 0 ? (double)W : x + slot / 2, H - 6, age == 0 ? "end" : "middle",
                          d + 5);
    }
    gw_buf_puts(b, "</svg>");
}

/* A table of key → count with a bar; keys link to a lot when `lot_links`. */
static void kv_table(dash_ctx *x, const char *head_key, const scan_kv *t, size_t n, bool lot_links)
{
    gw_buf *b = x->b;
    if (n == 0) {
        gw_buf_puts(b, "<p class=\"muted\">No scans yet.</p>");
        return;
    }
    uint64_t max = 1;
    for (size_t i = 0; i < n; i++)
        if (t[i].n > max)
            max = t[i].n;
    gw_buf_printf(b,
                  "<div class=\"scroll\"><table><tr><th scope=\"col\">%s</th>"
                  "<th scope=\"col\" class=\"n\">Scans</th></tr>",
                  head_key);
    for (size_t i = 0; i < n; i++) {
        gw_buf_puts(b, "<tr><td>");
        if (lot_links)
            link_open(x, "lot", t[i].key);
        gw_buf_html(b, t[i].key);
        if (lot_links)
            gw_buf_puts(b, "</a>");
        gw_buf_printf(b,
                      "</td><td class=\"n\"><span class=\"bar\" style=\"width:%upx\"></span>"
                      "%llu</td></tr>",
                      (unsigned)(t[i].n * 120 / max), (unsigned long long)t[i].n);
    }
    gw_buf_puts(b, "</table></div>");
}

static void reasons_words(gw_buf *b, uint32_t reasons)
{
    bool any = false;
    for (int k = 0; k < VERDICT_R__COUNT; k++)
        if (reasons & (1u << k)) {
            gw_buf_printf(b, "%s<span data-reason=\"%s\">", any ? "; " : "",
                          verdict_reason_name(k));
            gw_buf_html(b, verdict_reason_text(k));
            gw_buf_puts(b, "</span>");
            any = true;
        }
    if (!any)
        gw_buf_puts(b, "—");
}

void gw_dash_render(gw_buf *b, const scan_dash *d)
{
    dash_ctx x = {b};
    head(b, "Provena dashboard");
    gw_buf_printf(b,
                  "<h1>Provena dashboard</h1><section id=\"totals\" aria-label=\"Totals\">"
                  "<ul class=\"kpi\"><li><b>%llu</b>scans</li><li><b>%llu</b>probes of unknown "
                  "serials</li><li><b>%llu</b>reports</li><li><b>%llu</b>units scanned</li>"
                  "<li><b>%llu</b>suspicious</li></ul></section>",
                  (unsigned long long)d->scans, (unsigned long long)d->probes,
                  (unsigned long long)d->reports, (unsigned long long)d->units,
                  (unsigned long long)d->suspicious);
    gw_buf_printf(b,
                  "<section id=\"per-day\" class=\"charts\"><div><h2>Scans per day (last %d "
                  "days, UTC)</h2>",
                  SCAN_DASH_DAYS);
    day_chart(b, "Scans", d->days, SCAN_DASH_DAYS, d->now, "#2f5f8f");
    gw_buf_puts(b, "</div><div><h2>Probes of unknown serials per day</h2>");
    day_chart(b, "Probes", d->probe_days, SCAN_DASH_DAYS, d->now, "#a33");
    gw_buf_printf(
        b,
        "</div></section><section id=\"regions\"><h2>Scans by region (where they happened, "
        "last %d days)</h2>",
        SCAN_DASH_DAYS);
    kv_table(&x, "Region", d->regions, d->nregions, false);
    gw_buf_puts(b, "</section><section id=\"lots\"><h2>Scans per lot</h2>");
    kv_table(&x, "Lot", d->lots, d->nlots, true);
    gw_buf_puts(b, "</section><section id=\"suspicious\"><h2>Top suspicious units</h2>");
    if (d->ntop == 0) {
        gw_buf_puts(b, "<p class=\"muted\">None.</p>");
    } else {
        gw_buf_puts(b, "<ul class=\"units\">");
        for (size_t i = 0; i < d->ntop; i++) {
            gw_buf_puts(b, "<li>");
            unit_link(&x, d->top[i].gtin, d->top[i].serial);
            gw_buf_printf(b, " · %llu scans<br><span class=\"muted\">",
                          (unsigned long long)d->top[i].scans);
            reasons_words(b, d->top[i].reasons);
            gw_buf_puts(b, "</span></li>");
        }
        gw_buf_puts(b, "</ul>");
    }
    gw_buf_puts(b, "</section><section id=\"alerts\"><h2>Recent alerts</h2>");
    if (d->nalerts == 0)
        gw_buf_puts(b, "<p class=\"muted\">None.</p>");
    else
        gw_buf_puts(b, "<ul>");
    for (size_t i = 0; i < d->nalerts && i < 20; i++) {
        char t[32];
        gw_time_fmt(t, d->alerts[i].time * 1000);
        gw_buf_printf(b, "<li>%s: ", t);
        if (d->alerts[i].kind == 1) {
            gw_buf_puts(b, "unknown serials of GTIN ");
            gw_buf_html(b, d->alerts[i].gtin);
            gw_buf_printf(b, " probed: %llu", (unsigned long long)d->alerts[i].count);
        } else {
            gw_buf_puts(b, "unit ");
            unit_link(&x, d->alerts[i].gtin, d->alerts[i].serial);
            gw_buf_puts(b, " turned suspicious");
        }
        gw_buf_puts(b, "</li>");
    }
    if (d->nalerts)
        gw_buf_puts(b, "</ul>");
    gw_buf_puts(b, "</section>");
    tail(b);
}

static void back_link(dash_ctx *x)
{
    gw_buf_puts(x->b, "<nav aria-label=\"Dashboard\">");
    link_open(x, NULL, NULL);
    gw_buf_puts(x->b, "← Dashboard</a></nav>");
}

static void unit_item(dash_ctx *x, const scan_unit_view *u)
{
    gw_buf *b = x->b;
    gw_buf_puts(b, "<li>");
    unit_link(x, u->unit.id.gtin, u->unit.id.serial);
    gw_buf_printf(b, " · <b>%s</b> · %s · %llu scans · %u reports",
                  verdict_status_title(u->v.status), chain_unit_state_name(u->unit.state),
                  (unsigned long long)u->stats.scans, u->stats.reports);
    if (u->v.reasons) {
        gw_buf_puts(b, "<br><span class=\"muted\">");
        reasons_words(b, u->v.reasons);
        gw_buf_puts(b, "</span>");
    }
    gw_buf_puts(b, "</li>");
}

void gw_dash_render_lot(gw_buf *b, const scan_lot_view *lv)
{
    dash_ctx x = {b};
    char title[GS1_GTIN_LEN + GS1_LOT_MAX + 32];
    snprintf(title, sizeof title, "Lot %s/%s", lv->lot.gtin, lv->lot.lot);
    head(b, title);
    back_link(&x);
    gw_buf_puts(b, "<h1>");
    gw_buf_html(b, title);
    gw_buf_puts(b, "</h1><section><dl>");
    gw_buf_puts(b, "<dt>Model</dt><dd>");
    gw_buf_html(b, lv->lot.model[0] ? lv->lot.model : "—");
    char made[32];
    gw_time_fmt(made, lv->lot.minted_at);
    gw_buf_printf(b, "</dd><dt>Made</dt><dd>%s</dd><dt>Units</dt><dd>%llu</dd><dt>Markets</dt><dd>",
                  made, (unsigned long long)lv->lot.units);
    for (size_t i = 0; i < lv->lot.nmarkets; i++) {
        gw_buf_puts(b, i ? ", " : "");
        gw_buf_html(b, lv->lot.markets[i]);
    }
    gw_buf_puts(b, lv->lot.nmarkets ? "" : "any");
    gw_buf_puts(b, "</dd></dl></section><section><h2>Units</h2><ul class=\"units\">");
    for (size_t i = 0; i < lv->nunits; i++)
        unit_item(&x, &lv->units[i]);
    gw_buf_puts(b, "</ul>");
    if (lv->lot.units > lv->nunits)
        gw_buf_printf(b, "<p class=\"muted\">The first %zu of %llu units are listed.</p>",
                      lv->nunits, (unsigned long long)lv->lot.units);
    gw_buf_puts(b, "</section>");
    tail(b);
}

void gw_dash_render_unit(gw_buf *b, const scan_unit_view *u)
{
    dash_ctx x = {b};
    const chain_scan_stats *st = &u->stats;
    char title[GS1_GTIN_LEN + GS1_SERIAL_MAX + 16];
    snprintf(title, sizeof title, "Unit %s/%s", u->unit.id.gtin, u->unit.id.serial);
    head(b, title);
    back_link(&x);
    gw_buf_puts(b, "<h1>");
    gw_buf_html(b, title);
    gw_buf_printf(b, "</h1><section><dl><dt>Verdict</dt><dd>%s</dd><dt>Reasons</dt><dd>",
                  verdict_status_title(u->v.status));
    reasons_words(b, u->v.reasons);
    gw_buf_printf(b, "</dd><dt>State</dt><dd>%s</dd><dt>Lot</dt><dd>",
                  chain_unit_state_name(u->unit.state));
    char lot[GS1_GTIN_LEN + GS1_LOT_MAX + 2];
    snprintf(lot, sizeof lot, "%s/%s", u->unit.id.gtin, u->unit.lot);
    link_open(&x, "lot", lot);
    gw_buf_html(b, lot);
    gw_buf_printf(b,
                  "</a></dd><dt>Scans</dt><dd>%llu</dd><dt>Reports</dt><dd>%u</dd>"
                  "<dt>Distinct clients</dt><dd>%u</dd>",
                  (unsigned long long)st->scans, st->reports, st->distinct_clients);
    if (st->scans || st->reports) {
        char f[32], l[32];
        gw_time_fmt(f, st->first_time * 1000);
        gw_time_fmt(l, st->last_time * 1000);
        gw_buf_printf(b, "<dt>First scan</dt><dd>%s</dd><dt>Last scan</dt><dd>%s</dd>", f, l);
    }
    gw_buf_puts(b, "<dt>Regions (newest first)</dt><dd>");
    for (uint32_t i = 0; i < st->nregions && i < 8; i++) {
        gw_buf_puts(b, i ? ", " : "");
        gw_buf_html(b, st->regions[i]);
    }
    gw_buf_puts(b, st->nregions ? "" : "—");
    gw_buf_printf(b,
                  "</dd><dt>Outside its markets</dt><dd>%u</dd><dt>Impossible travel</dt>"
                  "<dd>%u</dd><dt>Public scans before sale</dt><dd>%u</dd></dl>"
                  "<p><a href=\"/01/",
                  st->outside_markets, st->impossible_travel, st->unsold_public);
    gw_buf_html(b, u->unit.id.gtin);
    gw_buf_puts(b, "/21/");
    gw_buf_html(b, u->unit.id.serial);
    gw_buf_puts(b, "\">The public page and its full history</a></p></section>");
    tail(b);
}
