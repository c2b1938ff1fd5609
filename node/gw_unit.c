/*
 * gw_unit.c — routes about one unit: the Digital Link resolution (HTML page or
 * JSON, recording a scan), the API's unit and history reads (no scan), its
 * labels, and customer reports of a suspected fake.
 *
 * A resolution is: parse the link (gs1_parse_unit) → rate-limit the client →
 * one short chain_rd: unit, lot, policy, scan stats, events (newest
 * GW_HISTORY_MAX) and the names of their actors → label signature check
 * (label_check; a signature other than the stored one, a reprint, opens a
 * second short chain_rd for the brand's key) → verdict_eval → record the
 * scan → answer. Each snapshot is closed before the answer is serialized, so
 * a reader holds LMDB pages only briefly. Every read passes the ?min_height
 * gate first (gw_wait.c) and says the height it was read at, so a client
 * that just wrote never sees an older state than its own receipt's.
 */
#include "node/gw_i18n.h"
#include "node/gw_priv.h"
#include "label/label.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct view_buf {
    chain_unit unit;
    chain_lot lot;
    chain_policy policy;
    chain_scan_stats stats;
    char brand_name[CHAIN_NAME_MAX + 1];
    gw_event *events;
    size_t nevents, cap;
    bool found, have_lot, have_stats;
    uint64_t height; /* the head of the snapshot */
    chain_rp rp;     /* the relying party in force in the snapshot (rp.set, else genesis) */
    /* a tiny cache: a unit's history names the same few participants */
    struct {
        char id[CHAIN_ID_MAX + 1];
        char name[CHAIN_NAME_MAX + 1];
    } names[8];
    size_t nnames;
    chain_rd *rd;
} view_buf;

static const char *name_of(view_buf *vb, const char *id)
{
    if (!id[0])
        return "";
    for (size_t i = 0; i < vb->nnames; i++)
        if (strcmp(vb->names[i].id, id) == 0)
            return vb->names[i].name;
    chain_participant p;
    size_t slot = vb->nnames < 8 ? vb->nnames++ : 7;
    snprintf(vb->names[slot].id, sizeof vb->names[slot].id, "%s", id);
    if (chain_participant_get(vb->rd, &p, id) == CHAIN_OK)
        snprintf(vb->names[slot].name, sizeof vb->names[slot].name, "%s", p.name);
    else
        vb->names[slot].name[0] = '\0';
    return vb->names[slot].name;
}

static int collect_event(void *ctx, const chain_event *ev)
{
    view_buf *vb = ctx;
    if (vb->nevents == vb->cap)
        return 1;
    gw_event *e = &vb->events[vb->nevents++];
    e->ev = *ev;
    snprintf(e->actor_name, sizeof e->actor_name, "%s", name_of(vb, ev->actor_id));
    snprintf(e->to_name, sizeof e->to_name, "%s", name_of(vb, ev->to));
    return 0;
}

/* Reads everything a view needs in one snapshot. CHAIN_OK with found false for
 * an unknown unit; another code for a local failure. */
static int view_load(gw *g, view_buf *vb, const gs1_sgtin *id, uint32_t from, uint32_t max,
                     bool latest)
{
    int err = chain_rd_begin(g->deps.chain, &vb->rd);
    if (err != CHAIN_OK)
        return err;
    chain_head head;
    err = chain_head_get(vb->rd, &head);
    if (err != CHAIN_OK)
        goto out;
    vb->height = head.height;
    if ((err = chain_rp_current(vb->rd, &vb->rp)) != CHAIN_OK)
        goto out;
    err = chain_unit_get(vb->rd, &vb->unit, id->gtin, id->serial);
    if (err == CHAIN_ERR_NOT_FOUND || err == CHAIN_ERR_UNKNOWN_UNIT) {
        err = CHAIN_OK;
        goto out;
    }
    if (err != CHAIN_OK)
        goto out;
    vb->found = true;
    vb->have_lot =
        vb->unit.lot[0] && chain_lot_get(vb->rd, &vb->lot, id->gtin, vb->unit.lot) == CHAIN_OK;
    vb->have_stats = chain_scan_stats_get(vb->rd, &vb->stats, id->gtin, id->serial) == CHAIN_OK;
    chain_policy_effective(vb->rd, &vb->policy, id->gtin, vb->unit.lot);
    snprintf(vb->brand_name, sizeof vb->brand_name, "%s", name_of(vb, vb->unit.brand));
    if (latest && vb->unit.nevents > max)
        from = vb->unit.nevents - max;
    size_t want = vb->unit.nevents > from ? vb->unit.nevents - from : 0;
    if (want > max)
        want = max;
    if (want) {
        vb->events = calloc(want, sizeof *vb->events);
        if (!vb->events) {
            err = CHAIN_ERR_NOMEM;
            goto out;
        }
        vb->cap = want;
        err = chain_unit_history(vb->rd, id->gtin, id->serial, from, (uint32_t)want, collect_event,
                                 vb);
    }
out:
    chain_rd_end(vb->rd);
    vb->rd = NULL;
    return err;
}

static const uint8_t *brand_key(gw *g, const char *brand, chain_participant *p, chain_rd *rd)
{
    if (rd && chain_participant_get(rd, p, brand) == CHAIN_OK && p->role == CHAIN_ROLE_BRAND)
        return p->pub;
    const chain_genesis *gen = g->deps.genesis;
    for (size_t i = 0; i < gen->nbrands; i++)
        if (strcmp(gen->brands[i].id, brand) == 0)
            return gen->brands[i].pub;
    return NULL;
}

/* The label check: the URL's lot/expiry (when given) must be the minted ones,
 * and sig must be the stored label signature or another valid brand
 * signature of the same identity (a reprinted label). */
static int label_check(gw *g, const gs1_link *link, const chain_unit *u)
{
    if (!link->sig[0])
        return VERDICT_SIG_ABSENT;
    uint8_t sig[CHAIN_SIG_LEN];
    if (chain_unb64url(sig, sizeof sig, link->sig, strlen(link->sig)) != CHAIN_SIG_LEN)
        return VERDICT_SIG_BAD;
    if ((link->lot[0] && strcmp(link->lot, u->lot) != 0) ||
        (link->expiry[0] && strcmp(link->expiry, u->expiry) != 0))
        return VERDICT_SIG_BAD;
    if (memcmp(sig, u->label_sig, CHAIN_SIG_LEN) == 0)
        return VERDICT_SIG_OK; /* verified when the mint was applied */
    chain_rd *rd = NULL;
    chain_participant p;
    if (chain_rd_begin(g->deps.chain, &rd) != CHAIN_OK)
        rd = NULL;
    const uint8_t *pub = brand_key(g, u->brand, &p, rd);
    uint8_t msg[CHAIN_HASH_LEN];
    chain_label_hash(msg, g->chain_id, u->id.gtin, u->id.serial, u->lot, u->expiry);
    bool ok = pub && chain_verify(sig, pub, msg);
    if (rd)
        chain_rd_end(rd);
    return ok ? VERDICT_SIG_OK : VERDICT_SIG_BAD;
}

static void view_from(gw_view *v, view_buf *vb, const gs1_sgtin *id, uint64_t now_ms)
{
    memset(v, 0, sizeof *v);
    v->id = *id;
    v->unit = vb->found ? &vb->unit : NULL;
    v->lot = vb->have_lot ? &vb->lot : NULL;
    v->brand_name = vb->brand_name;
    v->events = vb->events;
    v->nevents = vb->nevents;
    v->now = now_ms / 1000;
    v->report_url = "/api/v1/reports";
    v->height = vb->height;
    v->lang = GW_LANG_EN;
}

static void reply_page(gw_req *r, unsigned status, const gw_view *v)
{
    gw_buf b = {0};
    gw_page_render(&b, v);
    if (b.failed) {
        gw_buf_free(&b);
        gw_reply_error(r, 503, "nomem", "out of memory");
        return;
    }
    gw_reply(r, status, "text/html; charset=utf-8", b.p, b.len);
}

static void reply_html_error(gw_req *r, int lang, unsigned status, const char *title,
                             const char *detail)
{
    gw_buf b = {0};
    gw_page_error(&b, lang, status, title, detail);
    if (b.failed) {
        gw_buf_free(&b);
        gw_reply_error(r, 503, "nomem", "out of memory");
        return;
    }
    gw_reply(r, status, "text/html; charset=utf-8", b.p, b.len);
}

/* The region a scan is recorded with: what the gateway knows (the trusted
 * proxy's header, else GeoIP; r->region). The client's ?region= hint is only
 * ever a refinement of it — a subdivision of the country the gateway found
 * ("DE" + hint "DE-BY" → "DE-BY"); alone, or naming another country, it is
 * ignored, so no client can place its own scan. */
static void region_of(gw_req *r, char out[CHAIN_REGION_MAX + 1], const char *hint)
{
    snprintf(out, CHAIN_REGION_MAX + 1, "%s", r->region);
    char h[CHAIN_REGION_MAX + 1];
    if (out[0] && strlen(out) == 2 && hint && hint[0] && gw_region_norm(h, hint, strlen(hint)) &&
        strlen(h) > 2 && memcmp(h, out, 2) == 0)
        memcpy(out, h, sizeof h);
}

/* The identity a scan record carries: the unit's own for a unit in the
 * ledger; for a code that names none, only its GTIN (whose check digit held)
 * and the serial GW_PROBE_SERIAL, with kind probe: a probe counts per GTIN and
 * day whatever its serial (so a real unit with that serial is never touched),
 * and a string a prober chose is never written into the ledger. */
static void record_id(gs1_sgtin *out, const gs1_sgtin *id, bool found)
{
    *out = *id;
    if (!found)
        snprintf(out->serial, sizeof out->serial, "%s", GW_PROBE_SERIAL);
}

/* The page's own path and query without lang= (for the language links), or
 * NULL when it does not fit. */
static char *self_url(gw_req *r)
{
    gw_buf q = {.max = GS1_DL_MAX + 1}, out = {.max = GS1_DL_MAX + 1};
    gw_query_raw(r, &q);
    gw_buf_puts(&out, r->path);
    char sep = '?';
    for (size_t i = q.len ? 1 : 0; !q.failed && i < q.len;) {
        size_t end = i;
        while (end < q.len && q.p[end] != '&')
            end++;
        if (!(end - i >= 5 && memcmp(q.p + i, "lang=", 5) == 0) && end > i) {
            gw_buf_put(&out, &sep, 1);
            gw_buf_put(&out, q.p + i, end - i);
            sep = '&';
        }
        i = end + 1;
    }
    gw_buf_put(&out, "", 1);
    bool ok = !q.failed && !out.failed;
    gw_buf_free(&q);
    if (!ok) {
        gw_buf_free(&out);
        return NULL;
    }
    return out.p;
}

void gw_route_resolve(gw_req *r)
{
    gw *g = r->g;
    if (gw_linkset_try(r)) /* links, not the page (gw_linkset.c) */
        return;
    int lang = gw_req_lang(r);
    gw_buf raw = {.max = GS1_DL_MAX + 1};
    gw_buf_puts(&raw, r->path);
    gw_query_raw(r, &raw);
    gs1_link link;
    char err[160];
    if (raw.failed || gs1_parse_unit(&link, raw.p, raw.len, err, sizeof err) != 0) {
        if (raw.failed)
            snprintf(err, sizeof err, "link longer than %d bytes", GS1_DL_MAX);
        gw_buf_free(&raw);
        metrics_scan_bad_code(g->metrics);
        if (r->want_json)
            gw_reply_error(r, 400, "bad_unit", "%s", err);
        else
            reply_html_error(r, lang, 400, gw_msg(lang, GW_M_E_BAD_CODE), err);
        return;
    }
    gw_buf_free(&raw);
    if (!gw_min_height_gate(r))
        return;
    uint64_t retry = 0;
    if (!gw_rate_take_retry(g->rate, r->client, 1, r->now_ms, &retry)) {
        metrics_rate_limited(g->metrics);
        r->retry_after_s = (unsigned)(retry / 1000 + 1);
        if (r->want_json)
            gw_reply_error(r, 429, "rate_limited", "too many scans from this client; retry soon");
        else
            reply_html_error(r, lang, 429, gw_msg(lang, GW_M_E_TOO_MANY),
                             gw_msg(lang, GW_M_E_TOO_MANY_DETAIL));
        return;
    }
    view_buf vb = {0};
    int e = view_load(g, &vb, &link.id, 0, GW_HISTORY_MAX, true);
    if (e != CHAIN_OK) {
        free(vb.events);
        gw_reply_chain_err(r, e, "reading the ledger");
        return;
    }
    verdict_input in = {
        .unit = vb.found ? &vb.unit : NULL,
        .stats = vb.have_stats ? &vb.stats : NULL,
        .policy = vb.found ? &vb.policy : NULL,
        .sig = vb.found ? label_check(g, &link, &vb.unit) : VERDICT_SIG_ABSENT,
        .now = r->now_ms / 1000,
    };
    gw_view v;
    view_from(&v, &vb, &link.id, r->now_ms);
    v.rp_id = vb.rp.id;
    v.rp_uv = vb.rp.require_uv;
    v.lang = lang;
    verdict_eval(&v.v, &in);

    chain_scan s;
    memset(&s, 0, sizeof s);
    s.kind = vb.found ? CHAIN_SCAN_SCAN : CHAIN_SCAN_PROBE;
    record_id(&s.id, &link.id, vb.found);
    s.time = r->now_ms / 1000;
    region_of(r, s.region, link.region);
    memcpy(s.client, r->client, sizeof s.client);
    s.verdict = (uint8_t)v.v.status;
    gw_record_scan(r, &s);

    unsigned status = vb.found ? 200 : 404;
    if (vb.found)
        gw_link_header(r, &link.id);
    if (r->want_json) {
        json_t *j = gw_json_view(&v);
        if (j && !vb.found)
            json_object_set_new(j, "error",
                                json_pack("{s:s,s:s}", "code", "unknown_unit", "message",
                                          "no unit with this GTIN and serial"));
        gw_reply_json(r, status, j);
    } else {
        char *self = self_url(r);
        v.self_url = self;
        reply_page(r, status, &v);
        free(self);
    }
    free(vb.events);
}

static bool unit_params(gw_req *r, gs1_sgtin *id)
{
    char gtin[GW_PARAM_MAX], serial[GW_PARAM_MAX];
    if (!gw_param(r, 0, gtin, sizeof gtin) || !gw_param(r, 1, serial, sizeof serial) ||
        !gs1_gtin_valid(gtin, strlen(gtin)) || !gs1_serial_valid(serial, strlen(serial))) {
        gw_reply_error(r, 400, "bad_unit",
                       "expected a GTIN-14 with a valid check digit and a GS1 serial");
        return false;
    }
    memcpy(id->gtin, gtin, GS1_GTIN_LEN + 1);
    /* gs1_serial_valid bounded the length to GS1_SERIAL_MAX above. */
    memcpy(id->serial, serial, strlen(serial) + 1);
    return true;
}

void gw_route_unit(gw_req *r)
{
    gs1_sgtin id;
    if (!unit_params(r, &id) || !gw_min_height_gate(r))
        return;
    view_buf vb = {0};
    int e = view_load(r->g, &vb, &id, 0, GW_HISTORY_MAX, true);
    if (e != CHAIN_OK) {
        free(vb.events);
        gw_reply_chain_err(r, e, "reading the ledger");
        return;
    }
    verdict_input in = {
        .unit = vb.found ? &vb.unit : NULL,
        .stats = vb.have_stats ? &vb.stats : NULL,
        .policy = vb.found ? &vb.policy : NULL,
        .sig = VERDICT_SIG_ABSENT,
        .now = r->now_ms / 1000,
    };
    gw_view v;
    view_from(&v, &vb, &id, r->now_ms);
    verdict_eval(&v.v, &in);
    json_t *j = gw_json_view(&v);
    if (j && !vb.found)
        json_object_set_new(j, "error",
                            json_pack("{s:s,s:s}", "code", "unknown_unit", "message",
                                      "no unit with this GTIN and serial"));
    gw_reply_json(r, vb.found ? 200 : 404, j);
    free(vb.events);
}

static bool query_u64(gw_req *r, const char *key, uint64_t *out, uint64_t dflt, uint64_t max)
{
    const char *s = gw_arg(r, key);
    *out = dflt;
    if (!s)
        return true;
    if (!gw_parse_u64(out, s, strlen(s)) || *out > max) {
        gw_reply_error(r, 400, "bad_query", "%s: expected an integer 0..%llu", key,
                       (unsigned long long)max);
        return false;
    }
    return true;
}

void gw_route_history(gw_req *r)
{
    gs1_sgtin id;
    uint64_t from, limit;
    if (!unit_params(r, &id) || !query_u64(r, "from", &from, 0, UINT32_MAX) ||
        !query_u64(r, "limit", &limit, 100, GW_HISTORY_MAX) || !gw_min_height_gate(r))
        return;
    if (limit == 0)
        limit = 100;
    view_buf vb = {0};
    int e = view_load(r->g, &vb, &id, (uint32_t)from, (uint32_t)limit, false);
    if (e != CHAIN_OK || !vb.found) {
        free(vb.events);
        if (e == CHAIN_OK)
            gw_reply_error(r, 404, "unknown_unit", "no unit %s/%s", id.gtin, id.serial);
        else
            gw_reply_chain_err(r, e, "reading the ledger");
        return;
    }
    json_t *o = json_object(), *h = json_array();
    char unit[GS1_GTIN_LEN + GS1_SERIAL_MAX + 2];
    snprintf(unit, sizeof unit, "%s/%s", id.gtin, id.serial);
    json_object_set_new(o, "unit", json_string(unit));
    json_object_set_new(o, "events", json_integer(vb.unit.nevents));
    json_object_set_new(o, "as_of_height", json_integer((json_int_t)vb.height));
    for (size_t i = 0; i < vb.nevents; i++)
        json_array_append_new(h, gw_json_event(&vb.events[i]));
    json_object_set_new(o, "history", h);
    uint64_t next = from + vb.nevents;
    if (next < vb.unit.nevents)
        json_object_set_new(o, "next", json_integer((json_int_t)next));
    free(vb.events);
    gw_reply_json(r, 200, o);
}

/* The label URL of a stored unit: resolver, lot, expiry and label signature. */
static bool label_url(gw_req *r, char *url, size_t cap)
{
    gs1_sgtin id;
    if (!unit_params(r, &id))
        return false;
    chain_rd *rd;
    chain_unit u;
    int e = chain_rd_begin(r->g->deps.chain, &rd);
    if (e == CHAIN_OK) {
        e = chain_unit_get(rd, &u, id.gtin, id.serial);
        chain_rd_end(rd);
    }
    if (e == CHAIN_ERR_NOT_FOUND || e == CHAIN_ERR_UNKNOWN_UNIT) {
        gw_reply_error(r, 404, "unknown_unit", "no unit %s/%s", id.gtin, id.serial);
        return false;
    }
    if (e != CHAIN_OK) {
        gw_reply_chain_err(r, e, "reading the ledger");
        return false;
    }
    gs1_link link;
    memset(&link, 0, sizeof link);
    link.id = u.id;
    snprintf(link.lot, sizeof link.lot, "%s", u.lot);
    snprintf(link.expiry, sizeof link.expiry, "%s", u.expiry);
    chain_b64url(link.sig, u.label_sig, CHAIN_SIG_LEN);
    const char *res = r->g->deps.resolver ? r->g->deps.resolver : "";
    if (gs1_link_format(url, cap, res, &link) < 0) {
        gw_reply_error(r, 500, "internal", "label URL does not fit");
        return false;
    }
    return true;
}

void gw_route_label_svg(gw_req *r)
{
    char url[GS1_DL_MAX + 1];
    if (!label_url(r, url, sizeof url))
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

void gw_route_label_png(gw_req *r)
{
    char url[GS1_DL_MAX + 1];
    uint64_t scale;
    if (!query_u64(r, "scale", &scale, LABEL_PNG_SCALE, LABEL_SCALE_MAX) ||
        !label_url(r, url, sizeof url))
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

/* ---- reports -------------------------------------------------------------------- */

/* Valid UTF-8 without control characters other than newline and tab: the note
 * becomes a CBOR text string in a scans transaction. */
static bool note_ok(const char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)s[i];
        size_t k;
        if (c < 0x80) {
            if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f)
                return false;
            i++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf)
            k = 1;
        else if (c >= 0xe0 && c <= 0xef)
            k = 2;
        else if (c >= 0xf0 && c <= 0xf4)
            k = 3;
        else
            return false;
        if (i + k >= n)
            return false;
        for (size_t j = 1; j <= k; j++)
            if (((unsigned char)s[i + j] & 0xc0) != 0x80)
                return false;
        i += k + 1;
    }
    return true;
}

/* Finds key in an application/x-www-form-urlencoded body and decodes it
 * ('+' is a space) into out. false when absent or undecodable. */
static bool form_value(const uint8_t *body, size_t n, const char *key, char *out, size_t cap)
{
    size_t kl = strlen(key);
    for (size_t i = 0; i < n;) {
        size_t end = i;
        while (end < n && body[end] != '&')
            end++;
        if (end - i > kl && memcmp(body + i, key, kl) == 0 && body[i + kl] == '=') {
            char tmp[4 * CHAIN_NOTE_MAX];
            size_t vl = end - i - kl - 1;
            if (vl >= sizeof tmp)
                return false;
            for (size_t j = 0; j < vl; j++) {
                char c = (char)body[i + kl + 1 + j];
                tmp[j] = c == '+' ? ' ' : c;
            }
            return chain_pct_decode(out, cap, tmp, vl) >= 0;
        }
        i = end + 1;
    }
    return false;
}

void gw_route_report(gw_req *r)
{
    const char *ct = gw_header(r, "Content-Type");
    bool form = ct && strncmp(ct, "application/x-www-form-urlencoded", 33) == 0;
    char unit[GS1_DL_MAX + 1] = "", note[CHAIN_NOTE_MAX * 2] = "";
    if (form) {
        if (!form_value(r->body, r->body_len, "unit", unit, sizeof unit)) {
            gw_reply_error(r, 400, "bad_unit", "form field unit is missing");
            return;
        }
        if (!form_value(r->body, r->body_len, "note", note, sizeof note))
            note[0] = '\0';
    } else if (ct && strncmp(ct, "application/json", 16) == 0) {
        json_error_t je;
        json_t *j = json_loadb((const char *)r->body, r->body_len, 0, &je);
        if (!j || !json_is_object(j)) {
            json_decref(j);
            gw_reply_error(r, 400, "malformed_json", "expected an object {\"unit\",\"note\"}");
            return;
        }
        json_t *ju = json_object_get(j, "unit"), *jn = json_object_get(j, "note");
        if (!json_is_string(ju) || json_string_length(ju) > GS1_DL_MAX ||
            (jn && !json_is_string(jn)) || (jn && json_string_length(jn) >= sizeof note)) {
            json_decref(j);
            gw_reply_error(r, 422, "invalid", "unit: a string; note: a string of at most %d bytes",
                           CHAIN_NOTE_MAX);
            return;
        }
        snprintf(unit, sizeof unit, "%s", json_string_value(ju));
        if (jn)
            snprintf(note, sizeof note, "%s", json_string_value(jn));
        json_decref(j);
    } else {
        gw_reply_error(r, 415, "unsupported_media_type",
                       "send application/json or application/x-www-form-urlencoded");
        return;
    }
    size_t nl = strlen(note);
    if (nl > CHAIN_NOTE_MAX || !note_ok(note, nl)) {
        gw_reply_error(r, 422, "invalid", "note: at most %d bytes of text", CHAIN_NOTE_MAX);
        return;
    }
    gs1_link link;
    char err[160];
    if (gs1_parse_unit(&link, unit, strlen(unit), err, sizeof err) != 0) {
        metrics_scan_bad_code(r->g->metrics);
        gw_reply_error(r, 400, "bad_unit", "%s", err);
        return;
    }
    /* per client and unit: one report a day (a key of client hash and unit,
     * so the table holds no unit in the clear), then per client overall */
    uint8_t cu[CHAIN_HASH_LEN], km[GW_CLIENT_LEN + GS1_GTIN_LEN + GS1_SERIAL_MAX];
    size_t sl = strlen(link.id.serial);
    memcpy(km, r->client, GW_CLIENT_LEN);
    memcpy(km + GW_CLIENT_LEN, link.id.gtin, GS1_GTIN_LEN);
    memcpy(km + GW_CLIENT_LEN + GS1_GTIN_LEN, link.id.serial, sl);
    chain_tagged_hash(cu, "provena/report-limit/v1", km, GW_CLIENT_LEN + GS1_GTIN_LEN + sl);
    uint64_t retry = 0;
    if (!gw_rate_take_retry(r->g->report_unit, cu, 1, r->now_ms, &retry)) {
        metrics_rate_limited(r->g->metrics);
        r->retry_after_s = retry / 1000 + 1 > 86400 ? 86400 : (unsigned)(retry / 1000 + 1);
        gw_reply_error(r, 429, "rate_limited",
                       "this unit was already reported from here today; thank you");
        return;
    }
    if (!gw_rate_take_retry(r->g->rate, r->client, 5, r->now_ms, &retry)) {
        metrics_rate_limited(r->g->metrics);
        r->retry_after_s = retry / 1000 + 1 > 3600 ? 3600 : (unsigned)(retry / 1000 + 1);
        gw_reply_error(r, 429, "rate_limited", "too many reports from this client; retry later");
        return;
    }
    bool found = false;
    chain_rd *rd;
    if (chain_rd_begin(r->g->deps.chain, &rd) == CHAIN_OK) {
        chain_unit u;
        found = chain_unit_get(rd, &u, link.id.gtin, link.id.serial) == CHAIN_OK;
        chain_rd_end(rd);
    }
    chain_scan s;
    memset(&s, 0, sizeof s);
    s.kind = found ? CHAIN_SCAN_REPORT : CHAIN_SCAN_PROBE; /* no unit: counted as a probe */
    record_id(&s.id, &link.id, found);
    s.time = r->now_ms / 1000;
    region_of(r, s.region, link.region);
    memcpy(s.client, r->client, sizeof s.client);
    memcpy(s.note, note, nl + 1);
    gw_record_scan(r, &s);
    if (form && !r->want_json) {
        int lang = gw_req_lang(r);
        gw_buf b = {0};
        gw_page_error(&b, lang, 202, gw_msg(lang, GW_M_THANKS), gw_msg(lang, GW_M_THANKS_DETAIL));
        if (!b.failed) {
            gw_reply(r, 202, "text/html; charset=utf-8", b.p, b.len);
            return;
        }
        gw_buf_free(&b);
    }
    char u[GS1_GTIN_LEN + GS1_SERIAL_MAX + 2];
    snprintf(u, sizeof u, "%s/%s", link.id.gtin, link.id.serial);
    gw_reply_json(r, 202, json_pack("{s:s,s:s}", "status", "recorded", "unit", u));
}
