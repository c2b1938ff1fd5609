/*
 * gw_priv.h — the gateway's private parts, shared by gateway.c (libmicrohttpd,
 * router, worker pool), the route files (gw_unit.c, gw_api.c), gw_json.c,
 * page.c and the pure helpers (gw_util.c, gw_rate.c).
 *
 * A request is one gw_req: the router fills the method, the captured path
 * parameters, the body and the client; a handler fills exactly one response
 * through gw_reply_*; gateway.c queues it. Nothing here is visible outside node/.
 */
#ifndef PROVENA_NODE_GW_PRIV_H
#define PROVENA_NODE_GW_PRIV_H

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include "node/gateway.h"
#include "node/gw_req_state.h"
#include "node/metrics.h"
#include "scan/scan.h"

#define GW_PARAMS_MAX   4
#define GW_PARAM_MAX    128   /* a decoded path segment */
#define GW_HISTORY_MAX  200   /* events in one resolution / history page */
#define GW_PAGE_EVENTS  60    /* events drawn on the HTML page (size bound) */
#define GW_PAGE_MAX     30000 /* page byte budget: the page stays under 30 KB */
#define GW_LOT_PAGE_MAX 1000  /* units per GET /lots page */
#define GW_NOTE_MAX     CHAIN_NOTE_MAX
#define GW_CLIENT_LEN   16
#define GW_PROBE_SERIAL "0"  /* serial of a scan record whose code names no unit */
#define GW_RATE_TABLE   4096 /* client buckets (bounded; the least recent is evicted) */
#define GW_RATE_PER_S   10   /* default: sustained requests/s per client (scans, reports) */
#define GW_RATE_BURST   40
#define GW_POOL_THREADS                                                                            \
    128 /* workers for POST /api/v1/tx (they block in submit): at least                            \
           the concurrent submitters a node should serve at once */
#define GW_POOL_QUEUE         GW_CONN_MAX
#define GW_MIN_HEIGHT_MAX     INT64_MAX /* ?min_height: a JSON integer */
#define GW_MIN_HEIGHT_WAIT_MS 2000      /* longest wait for this node to apply it */
#define GW_MIN_HEIGHT_POLL_MS 10
#define GW_MIN_HEIGHT_WAITERS 32 /* reads waiting at once (pool workers they hold) */

enum gw_method { GW_GET = 1u << 0, GW_POST = 1u << 1, GW_HEAD = 1u << 2 };

/* ---- growing byte buffer (failed sticks on OOM or cap) ---------------------------- */
typedef struct gw_buf {
    char *p;
    size_t len, cap, max; /* max 0: unbounded */
    bool failed;
} gw_buf;
void gw_buf_put(gw_buf *b, const void *s, size_t n);
void gw_buf_puts(gw_buf *b, const char *s);
void gw_buf_printf(gw_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void gw_buf_html(gw_buf *b, const char *s); /* HTML-escaped text */
void gw_buf_free(gw_buf *b);

/* ---- compact JSON text of many values in a row (gw_json_text.c) -------------------- */
/* A writer that appends a jansson value to a gw_buf as json_dumps(v,
 * JSON_COMPACT) would, without jansson's per-container cycle check (through
 * yajl's generator). One writer is used by one thread; it keeps its generator
 * between values. new: NULL on OOM. write: false when v holds a real number
 * (not written here), nests deeper than 32, or out failed (it is left with
 * whatever was written). */
typedef struct gw_json_text gw_json_text;
gw_json_text *gw_json_text_new(void);
void gw_json_text_free(gw_json_text *t);
bool gw_json_text_write(gw_json_text *t, gw_buf *out, const json_t *v);

/* ---- small pure helpers (gw_util.c) ----------------------------------------------- */
/* Normalizes an ISO 3166-1 alpha-2 ("de" → "DE") or subdivision ("DE-BY") code
 * into out (CHAIN_REGION_MAX + 1). false when s is not one. */
bool gw_region_norm(char out[CHAIN_REGION_MAX + 1], const char *s, size_t n);
/* Short fingerprint of a key: first 8 bytes as hex, 16 chars + NUL. */
void gw_fingerprint(char out[17], const uint8_t key[CHAIN_KEY_LEN]);
/* "2026-11-22 21:34 UTC" of unix milliseconds. */
void gw_time_fmt(char out[32], uint64_t ms);
/* HTTP status for a chain error: 400/404/409/413/422/500/503 (see docs/API.md). */
unsigned gw_status_of_chain_err(int err);
/* Parses a decimal uint64 of exactly n bytes; false on anything else. */
bool gw_parse_u64(uint64_t *out, const char *s, size_t n);

/* ---- per-client token buckets (gw_rate.c) ------------------------------------------ */
typedef struct gw_rate gw_rate;
/* rate_per_s 0: limiting off (gw_rate_take always true); below 1 is fine
 * (1/3600: one token an hour). burst 0: max(rate_per_s, 1). */
gw_rate *gw_rate_new(double rate_per_s, unsigned burst);
void gw_rate_free(gw_rate *r);
/* Takes `cost` tokens of client's bucket at now_ms; false (and nothing taken)
 * when it has too few. Thread-safe; O(1). */
bool gw_rate_take(gw_rate *r, const uint8_t client[GW_CLIENT_LEN], unsigned cost, uint64_t now_ms);
/* gw_rate_take that, when it refuses, sets *retry_ms (if not NULL) to how long
 * until cost tokens will be there (UINT64_MAX: cost is over the burst). */
bool gw_rate_take_retry(gw_rate *r, const uint8_t client[GW_CLIENT_LEN], unsigned cost,
                        uint64_t now_ms, uint64_t *retry_ms);

/* ---- client identity and country (gw_client.c) ------------------------------------- */
typedef struct gw_addr {
    int family; /* AF_INET (b[0..4)) or AF_INET6 (b[0..16)) */
    uint8_t b[16];
} gw_addr;
struct sockaddr;
/* "192.0.2.7" / "2001:db8::1" (surrounding blanks allowed) of n bytes. false
 * when not one address; *out written only on success. Pure. */
bool gw_addr_parse(gw_addr *out, const char *s, size_t n);
/* The address of a socket peer; an IPv4-mapped IPv6 address becomes IPv4. */
bool gw_addr_of_sockaddr(gw_addr *out, const struct sockaddr *sa);
bool gw_addr_equal(const gw_addr *a, const gw_addr *b);
/* The network-wide key of client hashes: tagged_hash(chain id || secret);
 * secret NULL or "" gives the public key every node also derives. */
void gw_client_key(uint8_t key[32], const uint8_t chain_id[CHAIN_HASH_LEN], const char *secret);
/* Client hash of a (NULL: unknown) on UTC day `day`: bytes 0..7 name its
 * network (/24, /48), bytes 8..15 the address. Pure; the same on every node. */
void gw_client_hash(uint8_t out[GW_CLIENT_LEN], const uint8_t key[32], uint64_t day,
                    const gw_addr *a);
typedef struct gw_geo gw_geo;
/* Opens libGeoIP country databases (either path may be NULL) into memory.
 * 0, or -1 with errmsg ("geoip FILE: not a country database"). */
int gw_geo_open(gw_geo **out, const char *v4_path, const char *v6_path, char *errmsg,
                size_t errmsg_len) __attribute__((warn_unused_result));
void gw_geo_close(gw_geo *g); /* NULL-safe */
/* The ISO country of a; false when unknown (no database, private address,
 * anonymous proxy). Thread-safe. */
bool gw_geo_country(const gw_geo *g, const gw_addr *a, char out[CHAIN_REGION_MAX + 1]);

/* ---- router (gateway.c) ---------------------------------------------------------- */
typedef struct gw_req gw_req;
typedef void (*gw_handler)(gw_req *r);

typedef struct gw_route {
    unsigned method;     /* enum gw_method */
    const char *pattern; /* e.g. "/api/v1/tx/{*}": a star matches one segment */
    gw_handler fn;
    const char *name; /* metrics label */
} gw_route;

enum gw_match { GW_MATCH_OK = 0, GW_MATCH_NOT_FOUND, GW_MATCH_METHOD };
/* Matches path (n bytes, no query) against table: on OK *idx is the route and
 * params[] the raw (still percent-encoded) captured segments as (ptr, len);
 * on METHOD *allowed is the methods the path has. Pure. */
int gw_route_match(const gw_route *table, size_t ntable, unsigned method, const char *path,
                   size_t n, size_t *idx, const char *params[GW_PARAMS_MAX],
                   size_t plen[GW_PARAMS_MAX], unsigned *allowed);

extern const gw_route gw_routes[];
/* Route handlers (gw_unit.c: units, labels, reports; gw_api.c: the rest). */
void gw_route_resolve(gw_req *r);
void gw_route_unit(gw_req *r);
void gw_route_history(gw_req *r);
void gw_route_label_svg(gw_req *r);
/* gw_parent.c: a parent (SSCC): /00/{sscc}, its API read, its labels */
void gw_route_parent_resolve(gw_req *r);
void gw_route_parent(gw_req *r);
void gw_route_parent_label_svg(gw_req *r);
void gw_route_parent_label_png(gw_req *r);
void gw_route_label_png(gw_req *r);
void gw_route_report(gw_req *r);
void gw_route_tx_prepare(gw_req *r); /* gw_passkey.c: the unsigned tx a passkey signs */
void gw_route_passkey_js(gw_req *r); /* gw_passkey.c: the page's script */
void gw_route_qr_svg(gw_req *r);     /* gw_passkey.c: a transfer offer's QR */
void gw_route_dashboard(gw_req *r);  /* gw_dash.c: admin token */
/* The dashboard's HTML (gw_dash_page.c): the overview, a lot's and a unit's
 * drill-down, into b. Links carry no credential (the session is a cookie). */
void gw_dash_render(gw_buf *b, const scan_dash *d);
void gw_dash_render_lot(gw_buf *b, const scan_lot_view *lv);
void gw_dash_render_unit(gw_buf *b, const scan_unit_view *u);
void gw_route_analytics(gw_req *r);
void gw_route_alerts(gw_req *r);
void gw_route_unit_epcis(gw_req *r); /* gw_epcis.c: EPCIS 2.0 */
void gw_route_epcis_events(gw_req *r);
/* One page of q's events appended to out (a JSON array): at most q->per_page
 * events, at most a visit budget read, all from one read snapshot; q's cursor
 * is left at the next event. GW_EPCIS_PAGE_DONE when every source is
 * exhausted, _FULL / _BUDGET when more may follow, _ERR on a ledger read
 * failure. Any thread. */
enum { GW_EPCIS_PAGE_DONE = 0, GW_EPCIS_PAGE_FULL, GW_EPCIS_PAGE_BUDGET, GW_EPCIS_PAGE_ERR };
struct epcis_query;
int gw_epcis_run_page(gw *g, struct epcis_query *q, json_t *out);
/* The same, each event handed to emit as it is built (emit takes the
 * reference; nonzero ends the page with _ERR), so a page need not be held. */
typedef int (*gw_epcis_emit_fn)(void *ctx, json_t *ev);
int gw_epcis_run_page_emit(gw *g, struct epcis_query *q, gw_epcis_emit_fn emit, void *ctx);
/* true after answering 400 unknown_parameter when r's query has a name not in
 * known (EPCIS 2.0: a misspelt filter must not silently match everything). */
bool gw_epcis_refuse_unknown(gw_req *r, const char *const *known, size_t nknown);
struct gw_perr;
/* Answers a query parser's error (an EPCIS exception body when it has one). */
void gw_epcis_reply_perr(gw_req *r, const struct gw_perr *e);
void gw_route_lot_epcis(gw_req *r);   /* gw_epcis_export.c: a lot's document, streamed */
void gw_route_gs1resolver(gw_req *r); /* gw_linkset.c: the GS1 resolver's parts */
/* gw_compressed.c: a compressed Digital Link → 307 to its uncompressed form */
void gw_route_resolve_compressed(gw_req *r);
/* A resolution that asks for links (?linkType=…, Accept: application/linkset+json)
 * is answered here (linkset, redirect or its error) and true is returned; false
 * leaves r untouched for the page / JSON. */
bool gw_linkset_try(gw_req *r);
/* Sets r's Link header to the unit's linkset and links. */
void gw_link_header(gw_req *r, const gs1_sgtin *id);
extern const size_t gw_nroutes;

/* ---- dashboard sessions (gw_session.c) ---------------------------------------------- */
#define GW_CHALLENGE_LEN   32  /* bytes of a login challenge */
#define GW_CHALLENGE_TTL_S 120 /* a challenge must be answered within this */
#define GW_CHALLENGES_MAX  256 /* outstanding challenges; a new one replaces the oldest */
#define GW_SESSIONS_MAX    256 /* live sessions; a new one replaces the first to expire */
#define GW_SESSION_TTL_S   900 /* default session lifetime (--session-ttl) */
#define GW_TOKEN_LEN       32  /* random bytes of a session token */
#define GW_TOKEN_HEX       (2 * GW_TOKEN_LEN)
#define GW_SESSION_COOKIE  "provena_session"
#define GW_TAG_DASH_LOGIN  "provena/dashboard-login/v1" /* signed: chain id ‖ challenge */
#define GW_TAG_SESSION     "provena/dashboard-session/v1"
#define GW_TAG_SECRET      "provena/secret-compare/v1"

typedef struct gw_sessions gw_sessions;
enum { GW_SESSION_OK = 0, GW_SESSION_UNKNOWN, GW_SESSION_EXPIRED };
/* An empty store (NULL on OOM); gw_sessions_free wipes and frees (NULL-safe).
 * Every function below is thread-safe and never blocks beyond a mutex. */
gw_sessions *gw_sessions_new(void);
void gw_sessions_free(gw_sessions *s);
/* A fresh random challenge, valid GW_CHALLENGE_TTL_S from now_ms. 0, or -1
 * when getrandom fails. */
int gw_challenge_new(gw_sessions *s, uint8_t out[GW_CHALLENGE_LEN], uint64_t now_ms)
    __attribute__((warn_unused_result));
/* true when c was issued and has not expired; c is used up either way. */
bool gw_challenge_take(gw_sessions *s, const uint8_t c[GW_CHALLENGE_LEN], uint64_t now_ms);
/* A new session for (key, id) until now_ms + ttl_ms: its token (64 hex + NUL)
 * into token; the store keeps only the token's hash. 0, or -1 (getrandom). */
int gw_session_new(gw_sessions *s, char token[GW_TOKEN_HEX + 1], const uint8_t key[CHAIN_KEY_LEN],
                   const char *id, uint64_t now_ms, uint64_t ttl_ms)
    __attribute__((warn_unused_result));
/* Looks the presented token (len bytes, any content) up in constant time over
 * the store: GW_SESSION_OK with key, id and *exp_ms (when not NULL) written;
 * GW_SESSION_EXPIRED (the session is dropped); GW_SESSION_UNKNOWN. */
int gw_session_find(gw_sessions *s, uint8_t key[CHAIN_KEY_LEN], char id[CHAIN_ID_MAX + 1],
                    uint64_t *exp_ms, const char *tok, size_t len, uint64_t now_ms);
/* Ends the session of this token, if any. */
void gw_session_end(gw_sessions *s, const char *tok, size_t len);
/* Compares two secrets of any lengths in time independent of their bytes
 * (CRYPTO_memcmp over equal-length tagged hashes). Pure. */
bool gw_secret_equal(const void *a, size_t alen, const void *b, size_t blen);
/* What a dashboard login signs: tagged_hash(GW_TAG_DASH_LOGIN, chain id ‖ challenge). */
void gw_dash_login_digest(uint8_t out[CHAIN_HASH_LEN], const uint8_t chain_id[CHAIN_HASH_LEN],
                          const uint8_t challenge[GW_CHALLENGE_LEN]);
/* The dashboard views' gate: true for a live session whose key the ledger
 * still names as a current brand key (or the break-glass token); otherwise
 * answers 400/401/403/503 and returns false. */
bool gw_dash_authorized(gw_req *r);
void gw_route_dash_challenge(gw_req *r);
void gw_route_dash_session(gw_req *r);
void gw_route_dash_logout(gw_req *r);
void gw_route_dash_login(gw_req *r);

/* ---- the gateway and one request --------------------------------------------------- */
struct gw {
    gw_deps deps;
    char *region_header;
    char *admin_token;
    char *tls_cert, *tls_key; /* PEM, when tls */
    bool tls;                 /* serving HTTPS: session cookies are Secure */
    unsigned session_ttl_s;
    gw_sessions *sessions; /* dashboard challenges and sessions (gw_session.c) */
    struct MHD_Daemon *mhd;
    gw_metrics *metrics;
    gw_rate *rate;        /* scans and reports per client */
    gw_rate *report_unit; /* reports per (client, unit) */
    gw_rate *tx_client;   /* POST /api/v1/tx: transactions per client */
    gw_rate *tx_signer;   /* ... and per signer key */
    uint8_t chain_id[CHAIN_HASH_LEN];
    uint8_t client_key[32]; /* network-wide key of client hashes (gw_client.c) */
    bool has_proxy;
    gw_addr proxy; /* --trusted-proxy: its X-Forwarded-For and region header count */
    gw_geo *geo;   /* NULL: no country lookup */
    /* worker pool for handlers that block (POST /api/v1/tx) */
    pthread_mutex_t pool_mu;
    pthread_cond_t pool_cv;
    gw_req *pool_head, *pool_tail;
    size_t pool_len;
    bool pool_stop;
    pthread_t pool_threads[GW_POOL_THREADS];
    size_t pool_nthreads;
    unsigned min_height_waiters; /* reads waiting in gw_wait.c (atomic) */
};

/* A streamed body, read a piece at a time (libmicrohttpd's content reader):
 * writes at most max bytes at buf and returns their count (never 0), or
 * GW_STREAM_END after the last byte, or GW_STREAM_ERROR to abort the
 * connection (the client sees a cut transfer, never a complete-looking
 * body). Called on the connection's polling thread, one call at a time. */
typedef ssize_t (*gw_stream_fn)(void *cls, uint64_t pos, char *buf, size_t max);
#define GW_STREAM_END   ((ssize_t)-1)
#define GW_STREAM_ERROR ((ssize_t)-2)
#define GW_STREAM_BLOCK (64u << 10) /* bytes asked of a stream at most per call */

struct gw_req {
    gw *g;
    struct MHD_Connection *conn;
    unsigned method;
    size_t route; /* index, or gw_nroutes for unmatched */
    const char *path;
    size_t nparams;
    const char *param[GW_PARAMS_MAX]; /* raw segments (percent-encoded) */
    size_t param_len[GW_PARAMS_MAX];
    uint8_t *body;
    size_t body_len, body_cap;
    bool body_too_large;
    bool want_json;
    uint8_t client[GW_CLIENT_LEN];
    char region[CHAIN_REGION_MAX + 1]; /* the gateway's own knowledge ("" unknown) */
    uint64_t now_ms;
    unsigned retry_after_s; /* Retry-After of a 429/503/507 (0: 1 s) */
    /* the response */
    unsigned status;
    char *out;
    size_t out_len;
    const char *out_type;
    const char *allow; /* Allow header for 405 */
    bool no_store;
    char *link;                   /* Link header (malloc'd, freed with the request) or NULL */
    char *location;               /* Location header of a redirect (malloc'd) or NULL */
    char *cookie;                 /* Set-Cookie header (malloc'd) or NULL */
    gw_stream_fn stream_fn;       /* a streamed body (gw_reply_stream), else NULL */
    void *stream_cls;             /* its state, owned until the response takes it */
    void (*stream_free)(void *cls);
    const char *content_language; /* Content-Language of a localized answer, or NULL */
    bool vary_lang;               /* the answer depends on Accept-Language (Vary) */
    /* ?min_height: the request waits (on a pool worker) for this node to apply it */
    uint64_t min_height;
    uint64_t wait_until_ms; /* 0: not waiting yet */
    /* enum gw_req_state (gw_req_state.h); written by the pool worker or a
     * gw_resume caller while the polling thread may read it */
    atomic_int state;
    gw_handler defer_fn;
    gw_handler finish;             /* gw_suspend: builds the answer once resumed */
    void *work;                    /* the deferred handler's state (owned by it) */
    void (*work_free)(void *work); /* frees work if the request ends first */
    gw_req *pool_next;
};

/* Query argument (raw, percent-encoded as sent) or NULL. */
const char *gw_arg(gw_req *r, const char *key);
/* Appends "?k=v&k2=v2" of the query as sent (still percent-encoded). */
void gw_query_raw(gw_req *r, gw_buf *b);
/* Request header or NULL. */
const char *gw_header(gw_req *r, const char *name);
/* Decoded path parameter i into out (cap); false when it does not decode. */
bool gw_param(gw_req *r, size_t i, char *out, size_t cap);
/* Runs fn(r) on a pool worker (the connection is suspended meanwhile); fn
 * answers through gw_reply_*. false when the pool queue is full or stopping
 * (then answer 503 busy). */
bool gw_defer(gw_req *r, gw_handler fn);
/* Suspends the connection until gw_resume(r), which any thread may call once
 * (even before gw_suspend's caller has returned); then finish(r) runs on the
 * polling thread and answers through gw_reply_*. */
void gw_suspend(gw_req *r, gw_handler finish);
void gw_resume(gw_req *r);
/* The ?min_height gate of a read or a submit (gw_wait.c). true: go on now.
 * false: r is answered (400 bad_query, 503 behind) or deferred to a pool
 * worker that runs r's route again once this node has applied min_height (at
 * most GW_MIN_HEIGHT_WAIT_MS later). Call it before any side effect of the
 * route; the route may then run on a pool worker (r->wait_until_ms != 0),
 * where it may neither gw_defer nor gw_suspend again. */
bool gw_min_height_gate(gw_req *r);
/* The height this node has applied (0 when unreadable). Any thread. */
uint64_t gw_applied_height(gw *g);
/* Records one public scan (never blocks) and counts it. */
void gw_record_scan(gw_req *r, const chain_scan *s);

/* Responses: exactly one per request. Ownership of buf/json moves to the request. */
void gw_reply(gw_req *r, unsigned status, const char *type, char *buf, size_t len);
/* Answers with a body fn produces (see gw_stream_fn); cls moves to the
 * response, which calls free_cls(cls) when it is done with it (also when the
 * answer is never sent). */
void gw_reply_stream(gw_req *r, unsigned status, const char *type, gw_stream_fn fn, void *cls,
                     void (*free_cls)(void *cls));
void gw_reply_json(gw_req *r, unsigned status, json_t *j);
void gw_reply_error(gw_req *r, unsigned status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* {"error": ...} with status gw_status_of_chain_err(err) and chain_err_code(err). */
void gw_reply_chain_err(gw_req *r, int err, const char *detail);

/* ---- views: what a unit resolution shows (gw_json.c, page.c) -------------------------- */
typedef struct gw_event {
    chain_event ev;
    char actor_name[CHAIN_NAME_MAX + 1]; /* participant name, "" for customers */
    char to_name[CHAIN_NAME_MAX + 1];
} gw_event;

typedef struct gw_view {
    gs1_sgtin id;           /* as asked */
    const chain_unit *unit; /* NULL: unknown serial */
    const chain_lot *lot;   /* NULL when unknown */
    const char *brand_name; /* "" when unknown */
    verdict v;
    const gw_event *events;
    size_t nevents;
    uint32_t first_seq;     /* seq of events[0] (older ones not shown) */
    uint64_t now;           /* unix seconds */
    const char *report_url; /* form action */
    const char *rp_id;      /* the WebAuthn rp id in force ("" : no passkeys) */
    bool rp_uv;             /* ... and whether it requires user verification */
    int lang;               /* enum gw_lang of the words (gw_i18n.h) */
    uint64_t height;        /* the block height the view was read at ("as of block H") */
    const char *self_url;   /* this page's path and query without lang=, or NULL */
} gw_view;

json_t *gw_json_unit(const chain_unit *u, const chain_lot *lot, uint64_t now);
json_t *gw_json_verdict(const verdict *v);
json_t *gw_json_event(const gw_event *e);
json_t *gw_json_view(const gw_view *v); /* {"unit","verdict","history"} */
json_t *gw_json_receipt(const chain_receipt *rc, const char *status);
json_t *gw_json_participant(const chain_participant *p);
const char *gw_warranty_status(const chain_unit *u, uint64_t now); /* "active", ... */

/* The language of r's page (?lang=, then Accept-Language; gw_i18n.h); also
 * sets r's Content-Language and Vary. */
int gw_req_lang(gw_req *r);
/* Links to a page in every language: self_url (path and query without lang,
 * HTML-escaped here) plus lang=xx, the current one marked. */
void gw_page_lang_nav(gw_buf *b, int lang, const char *self_url);
/* HTML page of a view into b (bounded by GW_PAGE_MAX). */
void gw_page_render(gw_buf *b, const gw_view *v);
/* Small HTML page for an error ("This code is not a valid product link") in
 * lang (enum gw_lang): title and detail are already in that language. */
void gw_page_error(gw_buf *b, int lang, unsigned status, const char *title, const char *detail);

#endif
