/*
 * gw_linkset.c — the GS1-conformant side of the Digital Link resolver: the
 * links a unit's URL resolves to, as an RFC 9264 linkset, as linkType
 * redirects, and as a Link header on every resolution; and the resolver's
 * description at /.well-known/gs1resolver.
 *
 * One table, `links[]`, names every link type the resolver serves (the GS1
 * Web Vocabulary term, its title, media type, and how its target is built from
 * the unit); the linkset, the redirects and the Link header are three views of
 * that table, so they cannot disagree. What a request wants:
 *
 *   no linkType, Accept not linkset      → the page / JSON (gw_unit.c), Link header
 *   linkType=linkset | all, or
 *   Accept: application/linkset+json     → 200 application/linkset+json
 *   linkType=gs1:<term> (or its URI)     → 307 to that link's target
 *   linkType=gs1:<term> we do not serve  → 404 link_type_unavailable
 *   linkType=<anything else>             → 400 bad_link_type
 *
 * Linksets and redirects are machine lookups: they record no scan (the page a
 * redirect lands on records its own).
 */
#include "node/epcis.h"
#include "node/gw_priv.h"

#include <stdlib.h>
#include <string.h>

#define GS1_VOC       "https://gs1.org/voc/"
#define LINKSET_TYPE  "application/linkset+json"
#define LINK_TYPE_MAX 128 /* a decoded linkType value */
#define HOST_MAX      255

typedef enum link_target {
    T_PAGE,     /* the unit's HTML page */
    T_CLAIM,    /* the page's claim section */
    T_EPCIS,    /* the unit's EPCISDocument */
    T_UNIT_API, /* the unit's JSON (state, flags, verdict) */
} link_target;

typedef struct link_def {
    const char *term; /* GS1 Web Vocabulary link type */
    const char *title;
    const char *type; /* media type of the target */
    link_target target;
} link_def;

static const link_def links[] = {
    {"pip", "Product information page", "text/html", T_PAGE},
    {"defaultLink", "Product information page", "text/html", T_PAGE},
    {"registerProduct", "Claim ownership of this unit", "text/html", T_CLAIM},
    {"traceability", "EPCIS 2.0 events of this unit", "application/ld+json", T_EPCIS},
    {"recallStatus", "Recall status of this unit", "application/json", T_UNIT_API},
    {"certificationInfo", "Authenticity: label signature and ledger verdict", "application/json",
     T_UNIT_API},
};
#define NLINKS (sizeof links / sizeof links[0])

/* The resolver's base URL: the configured one, else http:// and the request's
 * Host (printable, no '/', bounded). */
static void base_url(gw_req *r, char *out, size_t cap)
{
    const char *res = r->g->deps.resolver;
    if (res && res[0]) {
        snprintf(out, cap, "%s", res);
        size_t n = strlen(out);
        while (n && out[n - 1] == '/')
            out[--n] = '\0';
        return;
    }
    const char *host = gw_header(r, "Host");
    size_t n = host ? strlen(host) : 0;
    bool ok = n > 0 && n <= HOST_MAX;
    for (size_t i = 0; ok && i < n; i++)
        ok = host[i] > ' ' && host[i] < 0x7f && host[i] != '/' && host[i] != '<' &&
             host[i] != '>' && host[i] != '"';
    snprintf(out, cap, "http://%s", ok ? host : "localhost");
}

static void pct_path(gw_buf *b, const char *s)
{
    for (; *s; s++)
        if ((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
            *s == '-' || *s == '.' || *s == '_')
            gw_buf_put(b, s, 1);
        else
            gw_buf_printf(b, "%%%02X", (unsigned char)*s);
}

/* The target of link type d for unit id, into b. */
static void target_of(gw_buf *b, const char *base, const gs1_sgtin *id, link_target t)
{
    gw_buf_puts(b, base);
    switch (t) {
    case T_PAGE:
    case T_CLAIM:
        gw_buf_printf(b, "/01/%s/21/", id->gtin);
        pct_path(b, id->serial);
        if (t == T_CLAIM)
            gw_buf_puts(b, "#claim");
        break;
    case T_EPCIS:
    case T_UNIT_API:
        gw_buf_printf(b, "/api/v1/units/%s/", id->gtin);
        pct_path(b, id->serial);
        if (t == T_EPCIS)
            gw_buf_puts(b, "/epcis");
        break;
    }
}

static char *target_str(const char *base, const gs1_sgtin *id, link_target t)
{
    gw_buf b = {.max = 2048};
    target_of(&b, base, id, t);
    gw_buf_put(&b, "", 1);
    if (b.failed) {
        gw_buf_free(&b);
        return NULL;
    }
    return b.p;
}

/* The linkset of a unit (RFC 9264 JSON, the GS1 profile). */
static json_t *linkset_of(const char *base, const gs1_sgtin *id, const chain_unit *u,
                          const char *brand_name)
{
    char *anchor = target_str(base, id, T_PAGE);
    char desc[CHAIN_NAME_MAX * 2 + 32];
    if (u->model[0] && brand_name[0])
        snprintf(desc, sizeof desc, "%s by %s", u->model, brand_name);
    else
        snprintf(desc, sizeof desc, "%s",
                 u->model[0]     ? u->model
                 : brand_name[0] ? brand_name
                                 : "Product unit");
    json_t *set = json_pack("{s:s,s:s}", "anchor", anchor ? anchor : "", "itemDescription", desc);
    free(anchor);
    for (size_t i = 0; set && i < NLINKS; i++) {
        char rel[64], title[160];
        snprintf(rel, sizeof rel, GS1_VOC "%s", links[i].term);
        snprintf(title, sizeof title, "%s", links[i].title);
        if (links[i].target == T_UNIT_API && strcmp(links[i].term, "recallStatus") == 0)
            snprintf(title, sizeof title, "Recall status: %s",
                     (u->flags & CHAIN_FLAG_RECALLED) ? "recalled" : "not recalled");
        char *href = target_str(base, id, links[i].target);
        json_t *l = json_pack("[{s:s,s:s,s:s}]", "href", href ? href : "", "title", title, "type",
                              links[i].type);
        free(href);
        json_object_set_new(set, rel, l);
    }
    return json_pack("{s:[o]}", "linkset", set);
}

/* The Link header of a resolution: the linkset itself and each link. */
static char *link_header(const char *base, const gs1_sgtin *id)
{
    gw_buf b = {.max = 8192};
    char *page = target_str(base, id, T_PAGE);
    gw_buf_printf(&b, "<%s?linkType=linkset>; rel=\"linkset\"; type=\"%s\"", page ? page : "",
                  LINKSET_TYPE);
    free(page);
    for (size_t i = 0; i < NLINKS; i++) {
        gw_buf_puts(&b, ", <");
        target_of(&b, base, id, links[i].target);
        gw_buf_printf(&b, ">; rel=\"" GS1_VOC "%s\"; type=\"%s\"; title=\"%s\"", links[i].term,
                      links[i].type, links[i].title);
    }
    gw_buf_put(&b, "", 1);
    if (b.failed) {
        gw_buf_free(&b);
        return NULL;
    }
    return b.p;
}

void gw_link_header(gw_req *r, const gs1_sgtin *id)
{
    char base[HOST_MAX + 16];
    base_url(r, base, sizeof base);
    free(r->link);
    r->link = link_header(base, id);
}

/* linkType value → one of links[] (index), -1 linkset/all, -2 a gs1 term we
 * do not serve, -3 malformed. */
static int link_type_of(const char *v)
{
    if (strcmp(v, "linkset") == 0 || strcmp(v, "all") == 0)
        return -1;
    const char *term = NULL;
    if (strncmp(v, "gs1:", 4) == 0)
        term = v + 4;
    else if (strncmp(v, GS1_VOC, strlen(GS1_VOC)) == 0)
        term = v + strlen(GS1_VOC);
    if (!term || !term[0])
        return -3;
    for (const char *p = term; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')))
            return -3;
    for (size_t i = 0; i < NLINKS; i++)
        if (strcmp(links[i].term, term) == 0)
            return (int)i;
    return -2;
}

static bool wants_linkset_header(gw_req *r)
{
    const char *acc = gw_header(r, "Accept");
    return acc && strstr(acc, LINKSET_TYPE) != NULL;
}

bool gw_linkset_try(gw_req *r)
{
    const char *raw = gw_arg(r, "linkType");
    bool accept = wants_linkset_header(r);
    if (!raw && !accept)
        return false;
    char lt[LINK_TYPE_MAX + 1];
    int which = -1;
    if (raw) {
        size_t n = strlen(raw);
        if (n > 3 * LINK_TYPE_MAX || chain_pct_decode(lt, sizeof lt, raw, n) < 0 ||
            (which = link_type_of(lt)) == -3) {
            gw_reply_error(r, 400, "bad_link_type",
                           "linkType: expected linkset, all, or gs1:<link type> (≤ %d bytes)",
                           LINK_TYPE_MAX);
            return true;
        }
        if (which == -2) {
            gw_reply_error(r, 404, "link_type_unavailable",
                           "this resolver has no %s link for the item; see ?linkType=linkset", lt);
            return true;
        }
    }
    gw_buf path = {.max = GS1_DL_MAX + 1};
    gw_buf_puts(&path, r->path);
    gs1_link link;
    char err[160];
    if (path.failed || gs1_parse_unit(&link, path.p, path.len, err, sizeof err) != 0) {
        gw_buf_free(&path);
        gw_reply_error(r, 400, "bad_unit", "%s", path.failed ? "link too long" : err);
        return true;
    }
    gw_buf_free(&path);
    chain_rd *rd;
    chain_unit u;
    chain_participant p;
    char brand[CHAIN_NAME_MAX + 1] = "";
    int e = chain_rd_begin(r->g->deps.chain, &rd);
    if (e == CHAIN_OK) {
        e = chain_unit_get(rd, &u, link.id.gtin, link.id.serial);
        if (e == CHAIN_OK && chain_participant_get(rd, &p, u.brand) == CHAIN_OK)
            snprintf(brand, sizeof brand, "%s", p.name);
        chain_rd_end(rd);
    }
    if (e == CHAIN_ERR_NOT_FOUND || e == CHAIN_ERR_UNKNOWN_UNIT) {
        gw_reply_error(r, 404, "unknown_unit", "no unit with this GTIN and serial");
        return true;
    }
    if (e != CHAIN_OK) {
        gw_reply_chain_err(r, e, "reading the ledger");
        return true;
    }
    char base[HOST_MAX + 16];
    base_url(r, base, sizeof base);
    gw_link_header(r, &link.id);
    if (which >= 0) {
        r->location = target_str(base, &link.id, links[which].target);
        json_t *j = json_pack("{s:s}", "location", r->location ? r->location : "");
        gw_reply_json(r, 307, j);
        return true;
    }
    json_t *ls = linkset_of(base, &link.id, &u, brand);
    char *s = ls ? json_dumps(ls, JSON_COMPACT) : NULL;
    json_decref(ls);
    if (!s) {
        gw_reply_error(r, 503, "nomem", "out of memory");
        return true;
    }
    gw_reply(r, 200, LINKSET_TYPE, s, strlen(s));
    return true;
}

void gw_route_gs1resolver(gw_req *r)
{
    char base[HOST_MAX + 16];
    base_url(r, base, sizeof base);
    json_t *types = json_array();
    for (size_t i = 0; i < NLINKS; i++)
        json_array_append_new(
            types, json_pack("{s:s,s:s}", "linkType", links[i].term, "title", links[i].title));
    json_t *j = json_pack("{s:s,s:s,s:[s],s:b,s:[{s:s,s:s,s:s}],s:o}", "name",
                          "Provena Digital Link resolver", "resolverRoot", base,
                          "supportedPrimaryKeys", "01", "linkTypeDefaultCanBeLinkset", 0,
                          "supportedLinkType", "namespace", GS1_VOC, "prefix", "gs1:", "profile",
                          "https://gs1.org/voc/?show=linktypes", "linkTypes", types);
    gw_reply_json(r, 200, j);
}
