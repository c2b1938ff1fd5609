/*
 * gw_epcis.c — the EPCIS 2.0 routes: a unit's EPCISDocument
 * (GET /api/v1/units/{gtin}/{serial}/epcis) and a subset of the EPCIS 2.0 REST
 * query interface (GET /epcis/events).
 *
 * A query names what it reads: MATCH_epc lists units (Digital Link URIs of any
 * resolver host), lots (a Digital Link URI with AI 10 and no serial: every
 * unit of the lot) or parents (an SSCC's URI, /00/{sscc}: every unit it holds
 * now, at any depth); a query without one is refused as too complex, because
 * the ledger keeps events by unit, not in one global index. Events come per
 * value in the order given, a lot's units in serial order, a parent's in
 * (gtin, serial) order, each unit's events in ledger order; EQ_bizStep,
 * GE_eventTime and LT_eventTime filter them. A page holds at most perPage
 * events and visits at most EPCIS_VISIT_MAX, so every request's work is
 * bounded; nextPageToken (in the body as provena:nextPageToken and in a Link
 * rel="next" header) resumes exactly where the page stopped: (value index,
 * unit, event seq).
 *
 * One chain_rd per page: the unit records, their events, the block ids (a small
 * cache, since a lot's units share the blocks of their mint and moves) and the
 * actors' regions come from one snapshot, so a page is consistent.
 */
#include "node/epcis.h"
#include "node/gw_parse.h"
#include "node/gw_priv.h"

#include <microhttpd.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define EPCIS_VISIT_MAX    50000 /* events read (filtered or not) per page */
#define EPCIS_CHUNK        64 /* events / units read per ledger call */

typedef epcis_qsrc q_src;
typedef epcis_query query;

typedef struct ev_chunk {
    chain_event ev[EPCIS_CHUNK];
    size_t n;
} ev_chunk;

/* What a page reads besides events: block ids and actors' regions, cached;
 * and one buffer for the events it reads a chunk at a time (one allocation
 * per page, not per unit: ~32 KiB, a request that makes malloc tidy up). */
typedef struct mapper {
    chain_rd *rd;
    ev_chunk *chunk;
    struct {
        uint64_t height;
        uint8_t id[CHAIN_HASH_LEN];
    } blocks[16];
    size_t nblocks, next_block;
    struct {
        char id[CHAIN_ID_MAX + 1];
        char region[CHAIN_REGION_MAX + 1];
    } parts[16];
    size_t nparts, next_part;
} mapper;

/* Where a page's events go, one at a time (a JSON array, or a stream that
 * serializes each and lets it go). */
typedef struct sink {
    size_t n; /* events taken this page */
    gw_epcis_emit_fn emit;
    void *ctx;
} sink;

enum {
    PAGE_DONE = GW_EPCIS_PAGE_DONE,
    PAGE_FULL = GW_EPCIS_PAGE_FULL,
    PAGE_BUDGET = GW_EPCIS_PAGE_BUDGET,
    PAGE_ERR = GW_EPCIS_PAGE_ERR
};

/* Block ids by height, shared by every request: a committed block never
 * changes, and naming one means hashing its header after checking its Merkle
 * root over every tx (a 10,000-unit mint is ~1 MB), which a lot's export would
 * otherwise repeat on every page. */
#define BLOCK_CACHE 256
static struct {
    uint64_t height; /* 0: empty */
    uint8_t id[CHAIN_HASH_LEN];
} block_cache[BLOCK_CACHE];
static pthread_mutex_t block_cache_mu = PTHREAD_MUTEX_INITIALIZER;

static bool block_cache_get(uint8_t out[CHAIN_HASH_LEN], uint64_t height)
{
    pthread_mutex_lock(&block_cache_mu);
    bool hit = block_cache[height % BLOCK_CACHE].height == height;
    if (hit)
        memcpy(out, block_cache[height % BLOCK_CACHE].id, CHAIN_HASH_LEN);
    pthread_mutex_unlock(&block_cache_mu);
    return hit;
}

static void block_cache_put(const uint8_t id[CHAIN_HASH_LEN], uint64_t height)
{
    pthread_mutex_lock(&block_cache_mu);
    block_cache[height % BLOCK_CACHE].height = height;
    memcpy(block_cache[height % BLOCK_CACHE].id, id, CHAIN_HASH_LEN);
    pthread_mutex_unlock(&block_cache_mu);
}

static int block_id(mapper *m, uint8_t out[CHAIN_HASH_LEN], uint64_t height)
{
    for (size_t i = 0; i < m->nblocks; i++)
        if (m->blocks[i].height == height) {
            memcpy(out, m->blocks[i].id, CHAIN_HASH_LEN);
            return CHAIN_OK;
        }
    if (!block_cache_get(out, height)) {
        const uint8_t *raw;
        size_t len, ntxs;
        chain_block_header hdr;
        int e = chain_block_get(m->rd, &raw, &len, height);
        if (e == CHAIN_OK)
            e = chain_block_peek(&hdr, out, &ntxs, raw, len);
        if (e != CHAIN_OK)
            return e;
        block_cache_put(out, height);
    }
    size_t slot = m->nblocks < 16 ? m->nblocks++ : (m->next_block++ % 16);
    m->blocks[slot].height = height;
    memcpy(m->blocks[slot].id, out, CHAIN_HASH_LEN);
    return CHAIN_OK;
}

static const char *region_of_part(mapper *m, const char *id)
{
    if (!id[0])
        return "";
    for (size_t i = 0; i < m->nparts; i++)
        if (strcmp(m->parts[i].id, id) == 0)
            return m->parts[i].region;
    size_t slot = m->nparts < 16 ? m->nparts++ : (m->next_part++ % 16);
    snprintf(m->parts[slot].id, sizeof m->parts[slot].id, "%s", id);
    chain_participant p;
    m->parts[slot].region[0] = '\0';
    if (chain_participant_get(m->rd, &p, id) == CHAIN_OK && p.nregions)
        snprintf(m->parts[slot].region, sizeof m->parts[slot].region, "%s", p.regions[0]);
    return m->parts[slot].region;
}

/* The EPCIS event of one ledger event; NULL on a local failure. */
static json_t *map_event(mapper *m, const chain_unit *u, const chain_event *ev)
{
    uint8_t bid[CHAIN_HASH_LEN];
    if (block_id(m, bid, ev->height) != CHAIN_OK)
        return NULL;
    /* bizLocation: who holds the unit after the step (the receiver of a
     * delivery, else the participant who signed); readPoint: the region the
     * step named, else that participant's first region. */
    const char *loc = ev->to[0] ? ev->to : ev->actor_id;
    epcis_src s = {
        .id = &u->id,
        .lot = u->lot,
        .expiry = u->expiry,
        .block_id = bid,
        .region = ev->region[0] ? ev->region : region_of_part(m, loc),
        .location = loc,
    };
    return epcis_event(ev, &s);
}

static bool event_wanted(const query *q, const chain_event *ev)
{
    if (q->has_ge && ev->time < q->ge)
        return false;
    if (q->has_lt && ev->time >= q->lt)
        return false;
    if (q->nbiz == 0)
        return true;
    const char *b = epcis_bizstep(ev->type, ev->reason);
    for (size_t i = 0; i < q->nbiz; i++)
        if (strcmp(q->biz[i], b) == 0)
            return true;
    return false;
}

static int collect(void *ctx, const chain_event *ev)
{
    ev_chunk *c = ctx;
    c->ev[c->n++] = *ev;
    return c->n == EPCIS_CHUNK;
}

/* Appends the wanted events of one unit from q->seq on. Moves q->seq. */
static int unit_page(mapper *m, query *q, const gs1_sgtin *id, sink *out, size_t *visited)
{
    chain_unit u;
    int e = chain_unit_get(m->rd, &u, id->gtin, id->serial);
    if (e == CHAIN_ERR_NOT_FOUND || e == CHAIN_ERR_UNKNOWN_UNIT)
        return PAGE_DONE; /* an unknown EPC has no events */
    if (e != CHAIN_OK)
        return PAGE_ERR;
    ev_chunk *c = m->chunk;
    int rc = PAGE_DONE;
    while (q->seq < u.nevents) {
        c->n = 0;
        e = chain_unit_history(m->rd, id->gtin, id->serial, q->seq, EPCIS_CHUNK, collect, c);
        if (e != CHAIN_OK || c->n == 0) {
            rc = e == CHAIN_OK ? PAGE_DONE : PAGE_ERR;
            break;
        }
        for (size_t k = 0; k < c->n; k++) {
            if (out->n >= q->per_page) {
                rc = PAGE_FULL;
                goto out;
            }
            if (*visited >= EPCIS_VISIT_MAX) {
                rc = PAGE_BUDGET;
                goto out;
            }
            const chain_event *ev = &c->ev[k];
            q->seq = ev->seq + 1;
            ++*visited;
            if (!event_wanted(q, ev))
                continue;
            json_t *j = map_event(m, &u, ev);
            out->n += j != NULL;
            if (!j || out->emit(out->ctx, j) != 0) {
                rc = PAGE_ERR;
                goto out;
            }
        }
    }
out:
    return rc;
}

typedef struct serials {
    char s[EPCIS_CHUNK][GS1_SERIAL_MAX + 1];
    size_t n;
} serials;

static int collect_serial(void *ctx, const gs1_sgtin *id)
{
    serials *s = ctx;
    snprintf(s->s[s->n++], GS1_SERIAL_MAX + 1, "%s", id->serial);
    return s->n == EPCIS_CHUNK;
}

static int lot_page(mapper *m, query *q, const q_src *src, sink *out, size_t *visited)
{
    gs1_sgtin id;
    memcpy(id.gtin, src->id.gtin, sizeof id.gtin);
    if (q->serial[0]) { /* the unit the last page stopped in */
        snprintf(id.serial, sizeof id.serial, "%s", q->serial);
        int rc = unit_page(m, q, &id, out, visited);
        if (rc != PAGE_DONE)
            return rc;
    }
    serials sl;
    for (;;) {
        sl.n = 0;
        if (chain_lot_units(m->rd, src->id.gtin, src->lot_name, q->serial, EPCIS_CHUNK,
                            collect_serial, &sl) != CHAIN_OK)
            return PAGE_ERR;
        if (sl.n == 0)
            return PAGE_DONE;
        for (size_t k = 0; k < sl.n; k++) {
            if (out->n >= q->per_page)
                return PAGE_FULL; /* cursor: after q->serial, nothing of the next read */
            snprintf(q->serial, sizeof q->serial, "%s", sl.s[k]);
            q->seq = 0;
            snprintf(id.serial, sizeof id.serial, "%s", sl.s[k]);
            int rc = unit_page(m, q, &id, out, visited);
            if (rc != PAGE_DONE)
                return rc;
        }
    }
}

/* What a parent holds now, at any depth: its units, sorted by (gtin, serial)
 * so a page can resume after the unit its token names. */
typedef struct contents {
    gs1_sgtin *units;
    size_t n, cap;
    char (*todo)[GS1_SSCC_LEN + 1]; /* parents still to open */
    size_t ntodo, cap_todo;
    bool overflow; /* more than the parent's total: the snapshot disagrees with itself */
} contents;

static int collect_content(void *ctx, const gs1_sgtin *unit, const char *sscc)
{
    contents *c = ctx;
    if (unit != NULL) {
        if (c->n == c->cap) {
            c->overflow = true;
            return 1;
        }
        c->units[c->n++] = *unit;
    } else {
        if (c->ntodo == c->cap_todo) {
            c->overflow = true;
            return 1;
        }
        memcpy(c->todo[c->ntodo++], sscc, GS1_SSCC_LEN + 1);
    }
    return 0;
}

static int cmp_sgtin(const void *a, const void *b)
{
    const gs1_sgtin *x = a, *y = b;
    int c = strcmp(x->gtin, y->gtin);
    return c ? c : strcmp(x->serial, y->serial);
}

/* Every unit inside sscc (breadth first over nested parents, then sorted).
 * CHAIN_OK with an empty list for an unknown parent. At most
 * CHAIN_PACK_UNITS_MAX units and as many parents: a parent nested in another
 * holds at least one unit. */
static int contents_load(chain_rd *rd, contents *c, const char *sscc)
{
    memset(c, 0, sizeof *c);
    chain_parent p;
    int e = chain_parent_get(rd, &p, sscc);
    if (e == CHAIN_ERR_NOT_FOUND || (e == CHAIN_OK && p.total == 0))
        return CHAIN_OK;
    if (e != CHAIN_OK)
        return e;
    if (p.total > CHAIN_PACK_UNITS_MAX)
        return CHAIN_ERR_STORAGE;
    c->cap = c->cap_todo = p.total + 1;
    c->units = malloc(c->cap * sizeof *c->units);
    c->todo = malloc(c->cap_todo * sizeof *c->todo);
    if (c->units == NULL || c->todo == NULL)
        return CHAIN_ERR_NOMEM;
    memcpy(c->todo[c->ntodo++], sscc, GS1_SSCC_LEN + 1);
    for (size_t i = 0; i < c->ntodo; i++) {
        e = chain_parent_children(rd, c->todo[i], collect_content, c);
        if (e != CHAIN_OK)
            return e;
        if (c->overflow)
            return CHAIN_ERR_STORAGE;
    }
    qsort(c->units, c->n, sizeof *c->units, cmp_sgtin);
    return CHAIN_OK;
}

static void contents_free(contents *c)
{
    free(c->units);
    free(c->todo);
    memset(c, 0, sizeof *c);
}

/* Like lot_page over a parent's contents; the cursor names the unit in
 * progress by gtin and serial. A unit unpacked between two pages is skipped
 * from then on, one packed in their place is read if it sorts after the
 * cursor: each page is its own snapshot, and no event is read twice. */
static int parent_page(mapper *m, query *q, const q_src *src, sink *out, size_t *visited)
{
    contents c;
    int rc = PAGE_DONE;
    if (contents_load(m->rd, &c, src->sscc) != CHAIN_OK) {
        rc = PAGE_ERR;
        goto out;
    }
    size_t k = 0;
    if (q->serial[0]) { /* the unit the last page stopped in */
        gs1_sgtin cur;
        memcpy(cur.gtin, q->gtin, sizeof cur.gtin);
        memcpy(cur.serial, q->serial, sizeof cur.serial);
        while (k < c.n && cmp_sgtin(&c.units[k], &cur) < 0)
            k++;
        if (k < c.n && cmp_sgtin(&c.units[k], &cur) == 0) {
            rc = unit_page(m, q, &c.units[k], out, visited);
            if (rc != PAGE_DONE)
                goto out;
            k++;
        }
    }
    for (; k < c.n; k++) {
        if (out->n >= q->per_page) {
            rc = PAGE_FULL; /* cursor: after the unit in q, nothing of this one read */
            goto out;
        }
        memcpy(q->gtin, c.units[k].gtin, sizeof q->gtin);
        memcpy(q->serial, c.units[k].serial, sizeof q->serial);
        q->seq = 0;
        rc = unit_page(m, q, &c.units[k], out, visited);
        if (rc != PAGE_DONE)
            goto out;
    }
    rc = PAGE_DONE;
out:
    contents_free(&c);
    return rc;
}

static int append_to(void *ctx, json_t *ev)
{
    return json_array_append_new(ctx, ev);
}

int gw_epcis_run_page(gw *g, epcis_query *q, json_t *out)
{
    return gw_epcis_run_page_emit(g, q, append_to, out);
}

int gw_epcis_run_page_emit(gw *g, epcis_query *q, gw_epcis_emit_fn emit, void *ctx)
{
    sink snk = {0, emit, ctx};
    sink *out = &snk;
    mapper m;
    memset(&m, 0, sizeof m);
    m.chunk = malloc(sizeof *m.chunk);
    if (!m.chunk)
        return PAGE_ERR;
    if (chain_rd_begin(g->deps.chain, &m.rd) != CHAIN_OK) {
        free(m.chunk);
        return PAGE_ERR;
    }
    size_t visited = 0;
    int rc = PAGE_DONE;
    for (; q->i < q->nsrc; q->i++, q->serial[0] = q->gtin[0] = '\0', q->seq = 0) {
        const q_src *src = &q->src[q->i];
        rc = src->lot      ? lot_page(&m, q, src, out, &visited)
             : src->parent ? parent_page(&m, q, src, out, &visited)
                           : unit_page(&m, q, &src->id, out, &visited);
        if (rc != PAGE_DONE)
            break;
    }
    chain_rd_end(m.rd);
    free(m.chunk);
    return rc;
}

/* ---- query parameters ------------------------------------------------------------------ */

static void reply_param_err(gw_req *r, const char *code, const char *fmt, const char *what)
{
    /* EPCIS 2.0 REST: QueryParameterException, with our stable code */
    char msg[256];
    snprintf(msg, sizeof msg, fmt, what);
    json_t *e =
        json_pack("{s:s,s:s,s:i,s:{s:s,s:s}}", "type", "epcisException:QueryParameterException",
                  "title", msg, "status", 400, "error", "code", code, "message", msg);
    gw_reply_json(r, 400, e);
}

static void token_make(char out[EPCIS_TOKEN_MAX], const query *q)
{
    gw_epcis_token_make(out, q);
}

/* EPCIS 2.0: a parameter the query does not know is an error, not ignored (a
 * misspelt filter must not silently return everything). */
static const char *const known_params[] = {"MATCH_epc",    "EQ_bizStep", "GE_eventTime",
                                           "LT_eventTime", "perPage",    "nextPageToken"};

typedef struct unknown_arg {
    const char *const *known;
    size_t nknown;
    char name[64];
    bool found;
} unknown_arg;

static enum MHD_Result check_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                 const char *value)
{
    (void)kind;
    (void)value;
    unknown_arg *u = cls;
    for (size_t i = 0; i < u->nknown; i++)
        if (strcmp(key, u->known[i]) == 0)
            return MHD_YES;
    u->found = true;
    snprintf(u->name, sizeof u->name, "%s", key);
    return MHD_NO;
}

bool gw_epcis_refuse_unknown(gw_req *r, const char *const *known, size_t nknown)
{
    unknown_arg ua = {.known = known, .nknown = nknown, .found = false};
    MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, check_arg, &ua);
    if (!ua.found)
        return false;
    for (char *p = ua.name; *p; p++) /* echo printable ASCII only */
        if (*p < ' ' || *p > '~')
            *p = '?';
    reply_param_err(r, "unknown_parameter", "%s: not a parameter of this query", ua.name);
    return true;
}

void gw_epcis_reply_perr(gw_req *r, const gw_perr *e)
{
    if (!e->epcis_type) {
        gw_reply_error(r, e->status, e->code, "%s", e->msg);
        return;
    }
    json_t *j = json_pack("{s:s,s:s,s:i,s:{s:s,s:s}}", "type", e->epcis_type, "title", e->msg,
                          "status", (int)e->status, "error", "code", e->code, "message", e->msg);
    gw_reply_json(r, e->status, j);
}

static const char *query_arg(void *ctx, const char *key)
{
    return gw_arg(ctx, key);
}

/* Parses the query (gw_epcis_query_parse); false after replying with the error. */
static bool query_parse(gw_req *r, query *q)
{
    if (gw_epcis_refuse_unknown(r, known_params, sizeof known_params / sizeof known_params[0]))
        return false;
    gw_perr e;
    if (gw_epcis_query_parse(q, query_arg, r, &e))
        return true;
    gw_epcis_reply_perr(r, &e);
    return false;
}

/* The query string of this request without its nextPageToken, plus the new
 * token: the next page's link. */
static char *next_link(gw_req *r, const char *path, const char *token)
{
    gw_buf q = {.max = 16384};
    gw_query_raw(r, &q);
    gw_buf b = {.max = 16384};
    gw_buf_printf(&b, "<%s?", path);
    /* copy every k=v except nextPageToken */
    const char *s = q.p ? q.p + 1 : "";
    bool first = true;
    while (s && *s) {
        const char *amp = strchr(s, '&');
        size_t n = amp ? (size_t)(amp - s) : strlen(s);
        if (!(n >= 14 && memcmp(s, "nextPageToken=", 14) == 0)) {
            if (!first)
                gw_buf_puts(&b, "&");
            gw_buf_put(&b, s, n);
            first = false;
        }
        s = amp ? amp + 1 : NULL;
    }
    gw_buf_printf(&b, "%snextPageToken=%s>; rel=\"next\"", first ? "" : "&", token);
    gw_buf_free(&q);
    gw_buf_put(&b, "", 1);
    if (b.failed) {
        gw_buf_free(&b);
        return NULL;
    }
    return b.p;
}

void gw_route_epcis_events(gw_req *r)
{
    query q;
    if (!query_parse(r, &q))
        return;
    json_t *events = json_array();
    if (!events) {
        gw_reply_error(r, 503, "nomem", "out of memory");
        return;
    }
    int rc = gw_epcis_run_page(r->g, &q, events);
    if (rc == PAGE_ERR) {
        json_decref(events);
        gw_reply_error(r, 500, "storage", "reading the ledger failed");
        return;
    }
    json_t *doc = epcis_query_document(events, r->now_ms);
    if (doc && rc != PAGE_DONE) {
        char tok[EPCIS_TOKEN_MAX];
        token_make(tok, &q);
        json_object_set_new(doc, "provena:nextPageToken", json_string(tok));
        r->link = next_link(r, "/epcis/events", tok);
    }
    gw_reply_json(r, 200, doc);
}

void gw_route_unit_epcis(gw_req *r)
{
    char gtin[GW_PARAM_MAX], serial[GW_PARAM_MAX];
    if (!gw_param(r, 0, gtin, sizeof gtin) || !gw_param(r, 1, serial, sizeof serial) ||
        !gs1_gtin_valid(gtin, strlen(gtin)) || !gs1_serial_valid(serial, strlen(serial))) {
        gw_reply_error(r, 400, "bad_unit",
                       "expected a GTIN-14 with a valid check digit and a GS1 serial");
        return;
    }
    query q;
    memset(&q, 0, sizeof q);
    q.nsrc = 1;
    memcpy(q.src[0].id.gtin, gtin, GS1_GTIN_LEN + 1);
    memcpy(q.src[0].id.serial, serial, strlen(serial) + 1);
    q.per_page = EPCIS_PAGE_MAX;
    chain_rd *rd;
    chain_unit u;
    if (chain_rd_begin(r->g->deps.chain, &rd) != CHAIN_OK) {
        gw_reply_error(r, 500, "storage", "reading the ledger failed");
        return;
    }
    int e = chain_unit_get(rd, &u, gtin, serial);
    chain_rd_end(rd);
    if (e != CHAIN_OK) {
        if (e == CHAIN_ERR_NOT_FOUND || e == CHAIN_ERR_UNKNOWN_UNIT)
            gw_reply_error(r, 404, "unknown_unit", "no unit %s/%s", gtin, serial);
        else
            gw_reply_chain_err(r, e, "reading the ledger");
        return;
    }
    json_t *events = json_array();
    int rc = events ? gw_epcis_run_page(r->g, &q, events) : PAGE_ERR;
    if (rc == PAGE_ERR) {
        json_decref(events);
        gw_reply_error(r, 500, "storage", "reading the ledger failed");
        return;
    }
    json_t *doc = epcis_document(events, r->now_ms);
    if (doc && rc != PAGE_DONE) { /* more than a page: the rest through the query */
        char tok[EPCIS_TOKEN_MAX], epc[EPCIS_EPC_MAX];
        token_make(tok, &q);
        gw_buf b = {.max = 4096};
        if (epcis_epc(epc, sizeof epc, &q.src[0].id) > 0) {
            gw_buf_puts(&b, "</epcis/events?MATCH_epc=");
            for (const char *p = epc; *p; p++)
                if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
                    (*p >= '0' && *p <= '9') || *p == '-' || *p == '.' || *p == '_')
                    gw_buf_put(&b, p, 1);
                else
                    gw_buf_printf(&b, "%%%02X", (unsigned char)*p);
            gw_buf_printf(&b, "&perPage=%u&nextPageToken=%s>; rel=\"next\"", EPCIS_PAGE_MAX, tok);
            gw_buf_put(&b, "", 1);
            if (!b.failed)
                r->link = b.p;
            else
                gw_buf_free(&b);
        }
    }
    gw_reply_json(r, 200, doc);
}
