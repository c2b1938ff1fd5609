/*
 * gw_parent.c — routes about one parent (an SSCC, GS1 AI 00): its Digital
 * Link resolution /00/{sscc} (JSON or a small page in the reader's language,
 * gw_i18n.c), the API's read of it,
 * and its SSCC label (SVG, PNG).
 *
 * A read is one short chain_rd: the parent record, its direct children
 * (units, then parents inside it; at most CHAIN_PACK_UNITS_MAX) and its
 * custodian's name. The snapshot is closed before the answer is serialized.
 * A parent is known from its first pack; an unpacked one answers with no
 * children. Unknown or malformed SSCCs get their own error codes.
 */
#include "label/label.h"
#include "node/gw_i18n.h"
#include "node/gw_priv.h"

#include <stdlib.h>
#include <string.h>

typedef struct parent_view {
    chain_parent p;
    char holder_name[CHAIN_NAME_MAX + 1];
    char resolver[CHAIN_RESOLVER_MAX + 1];
    uint64_t height;
    json_t *units, *parents; /* direct children */
} parent_view;

static int collect_child(void *ctx, const gs1_sgtin *unit, const char *sscc)
{
    parent_view *pv = ctx;
    if (unit != NULL) {
        char s[GS1_GTIN_LEN + GS1_SERIAL_MAX + 2];
        snprintf(s, sizeof s, "%s/%s", unit->gtin, unit->serial);
        return json_array_append_new(pv->units, json_string(s)) != 0;
    }
    return json_array_append_new(pv->parents, json_string(sscc)) != 0;
}

/* The SSCC path parameter: 400 bad_sscc unless 18 digits with a valid check digit. */
static bool sscc_param(gw_req *r, char out[GS1_SSCC_LEN + 1])
{
    char s[GW_PARAM_MAX];
    if (!gw_param(r, 0, s, sizeof s) || !gs1_sscc_valid(s, strlen(s))) {
        gw_reply_error(r, 400, "bad_sscc",
                       "expected an SSCC: 18 digits with a valid GS1 check digit");
        return false;
    }
    memcpy(out, s, GS1_SSCC_LEN + 1);
    return true;
}

/* Loads the parent (children too when with_children). Answers r and returns
 * false on an unknown parent or a local failure. */
static bool parent_load(gw_req *r, parent_view *pv, const char *sscc, bool with_children)
{
    memset(pv, 0, sizeof *pv);
    chain_rd *rd;
    int e = chain_rd_begin(r->g->deps.chain, &rd);
    if (e != CHAIN_OK) {
        gw_reply_chain_err(r, e, "reading the ledger");
        return false;
    }
    chain_head h;
    if ((e = chain_head_get(rd, &h)) == CHAIN_OK)
        pv->height = h.height;
    if (e == CHAIN_OK)
        e = chain_parent_get(rd, &pv->p, sscc);
    if (e == CHAIN_OK && chain_resolver_current(rd, pv->resolver) != CHAIN_OK)
        pv->resolver[0] = '\0';
    if (e == CHAIN_OK && with_children) {
        pv->units = json_array();
        pv->parents = json_array();
        if (pv->units == NULL || pv->parents == NULL)
            e = CHAIN_ERR_NOMEM;
        else
            e = chain_parent_children(rd, sscc, collect_child, pv);
    }
    chain_participant part;
    if (e == CHAIN_OK && chain_participant_get(rd, &part, pv->p.holder) == CHAIN_OK)
        snprintf(pv->holder_name, sizeof pv->holder_name, "%s", part.name);
    chain_rd_end(rd);
    if (pv->resolver[0] == '\0' && r->g->deps.resolver != NULL)
        snprintf(pv->resolver, sizeof pv->resolver, "%s", r->g->deps.resolver);
    if (e == CHAIN_OK)
        return true;
    json_decref(pv->units);
    json_decref(pv->parents);
    if (e == CHAIN_ERR_NOT_FOUND)
        gw_reply_error(r, 404, "unknown_parent", "no parent with SSCC %s was ever packed", sscc);
    else
        gw_reply_chain_err(r, e, "reading the ledger");
    return false;
}

static json_t *parent_json(const parent_view *pv)
{
    const chain_parent *p = &pv->p;
    char uri[CHAIN_RESOLVER_MAX + 8 + GS1_SSCC_LEN];
    snprintf(uri, sizeof uri, "%s/00/%s", pv->resolver, p->sscc);
    char tx[2 * CHAIN_HASH_LEN + 1];
    chain_hex(tx, p->tx, CHAIN_HASH_LEN);
    json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:I,s:I,s:I,s:I,s:I,s:s,s:I,s:I}", "sscc", p->sscc,
                          "uri", uri, "holder", p->holder, "holder_name", pv->holder_name,
                          "units_total", (json_int_t)p->total, "direct_units",
                          (json_int_t)p->nunits, "direct_parents", (json_int_t)p->nparents, "depth",
                          (json_int_t)p->depth, "height", (json_int_t)p->height, "tx", tx, "time",
                          (json_int_t)p->time, "as_of_height", (json_int_t)pv->height);
    if (o == NULL)
        return NULL;
    if (p->parent[0])
        json_object_set_new(o, "parent", json_string(p->parent));
    if (pv->units)
        json_object_set(o, "units", pv->units);
    if (pv->parents)
        json_object_set(o, "parents", pv->parents);
    return o;
}

/* A plain page in the reader's language: what is inside, who holds it.
 * Bounded by GW_PAGE_MAX: the first units are listed while the budget lasts,
 * the rest counted. */
static void parent_page(gw_req *r, const parent_view *pv)
{
    const chain_parent *p = &pv->p;
    int lang = gw_req_lang(r);
    gw_buf b = {.max = GW_PAGE_MAX + 4096};
    gw_buf_printf(&b,
                  "<!doctype html><html lang=\"%s\"><head><meta charset=\"utf-8\">"
                  "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
                  "<meta name=\"robots\" content=\"noindex\"><title>SSCC %s</title></head>"
                  "<body><p>%s</p><h1>SSCC %s</h1><dl><dt>%s</dt><dd>",
                  gw_lang_code(lang), p->sscc, gw_msg(lang, GW_M_P_LOGISTIC_UNIT), p->sscc,
                  gw_msg(lang, GW_M_P_CUSTODIAN));
    gw_buf_html(&b, pv->holder_name[0] ? pv->holder_name : p->holder);
    gw_buf_puts(&b, "</dd>");
    if (p->parent[0])
        gw_buf_printf(&b, "<dt>%s</dt><dd><a href=\"/00/%s\">%s</a></dd>",
                      gw_msg(lang, GW_M_P_PACKED_IN), p->parent, p->parent);
    gw_buf_printf(&b, "<dt>%s</dt><dd>%u</dd><dt>%s</dt><dd>%u</dd></dl>",
                  gw_msg(lang, GW_M_P_UNITS_INSIDE), p->total, gw_msg(lang, GW_M_P_LEVELS),
                  p->depth);
    if (p->total == 0)
        gw_buf_printf(&b, "<p>%s</p>", gw_msg(lang, GW_M_P_EMPTY));
    size_t i;
    json_t *v;
    if (json_array_size(pv->parents) > 0) {
        gw_buf_printf(&b, "<h2>%s</h2><ul>", gw_msg(lang, GW_M_P_PARENTS_INSIDE));
        json_array_foreach(pv->parents, i, v)
        {
            if (b.len > GW_PAGE_MAX)
                break;
            const char *s = json_string_value(v);
            gw_buf_printf(&b, "<li><a href=\"/00/%s\">%s</a></li>", s, s);
        }
        gw_buf_puts(&b, "</ul>");
    }
    size_t shown = 0, n = json_array_size(pv->units);
    if (n > 0) {
        gw_buf_printf(&b, "<h2>%s</h2><ul>", gw_msg(lang, GW_M_P_UNITS_INSIDE));
        json_array_foreach(pv->units, i, v)
        {
            if (b.len > GW_PAGE_MAX)
                break;
            const char *s = json_string_value(v); /* GTIN/serial: AI 82 characters */
            const char *slash = strchr(s, '/');
            gw_buf_printf(&b, "<li><a href=\"/01/%.*s/21/", (int)(slash - s), s);
            gw_buf_html(&b, slash + 1);
            gw_buf_puts(&b, "\">");
            gw_buf_html(&b, s);
            gw_buf_puts(&b, "</a></li>");
            shown++;
        }
        gw_buf_puts(&b, "</ul>");
        if (shown < n)
            gw_buf_printf(&b, "<p>%s %zu</p>", gw_msg(lang, GW_M_P_NOT_LISTED), n - shown);
    }
    gw_buf_printf(&b, "<footer><p>%s %llu</p>", gw_msg(lang, GW_M_AS_OF_BLOCK),
                  (unsigned long long)pv->height);
    char self[8 + GS1_SSCC_LEN];
    snprintf(self, sizeof self, "/00/%s", p->sscc);
    gw_page_lang_nav(&b, lang, self);
    gw_buf_puts(&b, "</footer></body></html>");
    if (b.failed) {
        gw_buf_free(&b);
        gw_reply_error(r, 500, "internal", "page too large");
        return;
    }
    gw_reply(r, 200, "text/html; charset=utf-8", b.p, b.len);
}

static void answer(gw_req *r, bool page)
{
    char sscc[GS1_SSCC_LEN + 1];
    if (!sscc_param(r, sscc) || !gw_min_height_gate(r))
        return;
    parent_view pv;
    if (!parent_load(r, &pv, sscc, true))
        return;
    if (page)
        parent_page(r, &pv);
    else
        gw_reply_json(r, 200, parent_json(&pv));
    json_decref(pv.units);
    json_decref(pv.parents);
}

void gw_route_parent_resolve(gw_req *r)
{
    answer(r, !r->want_json);
}

void gw_route_parent(gw_req *r)
{
    answer(r, false);
}

/* The SSCC's Digital Link: {resolver}/00/{sscc}. */
static bool parent_label_url(gw_req *r, char *url, size_t cap)
{
    char sscc[GS1_SSCC_LEN + 1];
    if (!sscc_param(r, sscc))
        return false;
    parent_view pv;
    if (!parent_load(r, &pv, sscc, false))
        return false;
    snprintf(url, cap, "%s/00/%s", pv.resolver, sscc);
    return true;
}

void gw_route_parent_label_svg(gw_req *r)
{
    char url[CHAIN_RESOLVER_MAX + 8 + GS1_SSCC_LEN];
    if (!parent_label_url(r, url, sizeof url))
        return;
    char *svg;
    size_t len;
    int e = label_svg(&svg, &len, url, 0);
    if (e != LABEL_OK) {
        gw_reply_error(r, 500, "label", "%s", label_strerror(e));
        return;
    }
    gw_reply(r, 200, "image/svg+xml", svg, len);
}

void gw_route_parent_label_png(gw_req *r)
{
    char url[CHAIN_RESOLVER_MAX + 8 + GS1_SSCC_LEN];
    const char *sc = gw_arg(r, "scale");
    uint64_t scale = LABEL_PNG_SCALE;
    if (sc != NULL && (!gw_parse_u64(&scale, sc, strlen(sc)) || scale > LABEL_SCALE_MAX)) {
        gw_reply_error(r, 400, "bad_query", "scale: expected an integer 0..%d", LABEL_SCALE_MAX);
        return;
    }
    if (!parent_label_url(r, url, sizeof url))
        return;
    uint8_t *png;
    size_t len;
    int e = label_png(&png, &len, url, (unsigned)scale);
    if (e != LABEL_OK) {
        gw_reply_error(r, 500, "label", "%s", label_strerror(e));
        return;
    }
    gw_reply(r, 200, "image/png", (char *)png, len);
}
