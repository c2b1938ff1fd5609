/*
 * gateway.c — libmicrohttpd glue: the daemon, one access handler that routes
 * every request through the route table (gw_api.c), the body limit, the
 * response builder, who the client is (gw_client.c), and a small worker pool.
 *
 * Request life: the first call of the access handler allocates a gw_req,
 * matches the route (404 / 405), refuses a Content-Length over GW_BODY_MAX
 * (413 at once); a GET is handled on the second call (a response queued in
 * the first would close a keep-alive connection); POST bodies are
 * accumulated up to GW_BODY_MAX (a chunked body that passes it closes the
 * connection — libmicrohttpd cannot answer mid-upload) and the handler runs
 * on the last call. Handlers that block (POST /api/v1/tx waits for a commit)
 * call gw_defer: the connection is suspended, a pool worker runs the work and
 * resumes it, and the next call of the access handler queues the response.
 * Handlers whose work completes by callback (one POST /api/v1/tx waiting for
 * its receipt) call gw_suspend instead: no worker waits; the callback, on
 * whatever thread it runs, calls gw_resume, and the next call of the access
 * handler builds the answer and queues it.
 * So the polling threads never block, and reads keep flowing during commits.
 * A request's state (reading, answered, suspended, resumed) is one field with
 * its diagram in gw_req_state.h; on_access is a switch over it.
 */
#include "node/gw_priv.h"

#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log/log.h"

#define GW_CONN_MEMORY                                                                             \
    (16u << 10) /* per-connection buffer (headers, response head); libmicrohttpd zeroes it for     \
                   every request */
#define GW_LISTEN_BACKLOG 1024

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- request accessors ---------------------------------------------------------- */

const char *gw_arg(gw_req *r, const char *key)
{
    return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, key);
}

typedef struct qctx {
    gw_buf *b;
    bool first;
} qctx;

static enum MHD_Result add_arg(void *cls, enum MHD_ValueKind kind, const char *k, const char *v)
{
    (void)kind;
    qctx *q = cls;
    gw_buf_puts(q->b, q->first ? "?" : "&");
    q->first = false;
    gw_buf_puts(q->b, k);
    if (v) {
        gw_buf_puts(q->b, "=");
        gw_buf_puts(q->b, v);
    }
    return MHD_YES;
}

void gw_query_raw(gw_req *r, gw_buf *b)
{
    qctx q = {b, true};
    MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, add_arg, &q);
}

const char *gw_header(gw_req *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

bool gw_param(gw_req *r, size_t i, char *out, size_t cap)
{
    if (i >= r->nparams)
        return false;
    return chain_pct_decode(out, cap, r->param[i], r->param_len[i]) >= 0;
}

/* ---- responses ---------------------------------------------------------------- */

/* True once gw_reply recorded an answer (its status is never 0). */
static bool answered(const gw_req *r)
{
    return r->status != 0;
}

void gw_reply(gw_req *r, unsigned status, const char *type, char *buf, size_t len)
{
    assert(status != 0);
    if (answered(r)) { /* a handler bug; keep the first answer */
        free(buf);
        return;
    }
    int next = gw_req_next(r->state, GW_EV_REPLY);
    assert(next >= 0);
    r->state = next;
    r->status = status;
    r->out = buf;
    r->out_len = len;
    r->out_type = type;
}

void gw_reply_stream(gw_req *r, unsigned status, const char *type, gw_stream_fn fn, void *cls,
                     void (*free_cls)(void *cls))
{
    assert(status != 0 && fn != NULL);
    if (answered(r)) {
        free_cls(cls);
        return;
    }
    gw_reply(r, status, type, NULL, 0);
    r->stream_fn = fn;
    r->stream_cls = cls;
    r->stream_free = free_cls;
}

_Static_assert(GW_STREAM_END == MHD_CONTENT_READER_END_OF_STREAM, "stream end");
_Static_assert(GW_STREAM_ERROR == MHD_CONTENT_READER_END_WITH_ERROR, "stream error");

void gw_reply_json(gw_req *r, unsigned status, json_t *j)
{
    char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (!s) {
        static const char oom[] = "{\"error\":{\"code\":\"nomem\",\"message\":\"out of memory\"}}";
        char *c = strdup(oom);
        gw_reply(r, 503, "application/json", c, c ? strlen(c) : 0);
        return;
    }
    gw_reply(r, status, "application/json", s, strlen(s));
}

void gw_reply_error(gw_req *r, unsigned status, const char *code, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    json_t *e = json_pack("{s:{s:s,s:s}}", "error", "code", code, "message", msg);
    gw_reply_json(r, status, e);
}

void gw_reply_chain_err(gw_req *r, int err, const char *detail)
{
    gw_reply_error(r, gw_status_of_chain_err(err), chain_err_code(err), "%s%s%s",
                   chain_strerror(err), detail && detail[0] ? ": " : "", detail ? detail : "");
}

/* ---- client identity: a keyed, daily-rotated hash, never the address -------------- */

/* The client's address: the peer's, or — when the peer is the trusted proxy —
 * the last address of its X-Forwarded-For (the one the proxy itself saw;
 * earlier entries are the client's own claims). Then its hash, and the region
 * the gateway knows: the trusted proxy's region header, else GeoIP. */
static void client_identify(gw_req *r)
{
    gw *g = r->g;
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    gw_addr a, *ap = NULL;
    if (ci && gw_addr_of_sockaddr(&a, ci->client_addr))
        ap = &a;
    bool via_proxy = ap && g->has_proxy && gw_addr_equal(ap, &g->proxy);
    if (via_proxy) {
        const char *xff = gw_header(r, "X-Forwarded-For");
        if (xff) {
            const char *last = strrchr(xff, ',');
            last = last ? last + 1 : xff;
            gw_addr fwd;
            if (gw_addr_parse(&fwd, last, strlen(last)))
                a = fwd;
        }
    }
    gw_client_hash(r->client, g->client_key, r->now_ms / 86400000, ap);
    r->region[0] = '\0';
    if (via_proxy && g->region_header) {
        const char *h = gw_header(r, g->region_header);
        if (h && gw_region_norm(r->region, h, strlen(h)))
            return;
        r->region[0] = '\0';
    }
    if (ap && !gw_geo_country(g->geo, ap, r->region))
        r->region[0] = '\0';
}

void gw_record_scan(gw_req *r, const chain_scan *s)
{
    if (r->g->deps.scanq)
        scanq_record(r->g->deps.scanq, s);
    metrics_scan(r->g->metrics, s->kind);
}

/* ---- worker pool ------------------------------------------------------------------ */

static void *pool_main(void *arg)
{
    gw *g = arg;
    pthread_setname_np(pthread_self(), "gw-submit");
    pthread_mutex_lock(&g->pool_mu);
    for (;;) {
        while (!g->pool_head && !g->pool_stop)
            pthread_cond_wait(&g->pool_cv, &g->pool_mu);
        gw_req *r = g->pool_head;
        if (!r)
            break; /* stopping and drained */
        g->pool_head = r->pool_next;
        if (!g->pool_head)
            g->pool_tail = NULL;
        g->pool_len--;
        pthread_mutex_unlock(&g->pool_mu);
        r->defer_fn(r);
        if (!answered(r))
            gw_reply_error(r, 500, "internal", "handler gave no answer");
        r->state = gw_req_next(r->state, GW_EV_RESUME);
        MHD_resume_connection(r->conn);
        pthread_mutex_lock(&g->pool_mu);
    }
    pthread_mutex_unlock(&g->pool_mu);
    return NULL;
}

void gw_suspend(gw_req *r, gw_handler finish)
{
    assert(r->state == GW_REQ_READING);
    r->finish = finish;
    r->state = gw_req_next(r->state, GW_EV_SUSPEND);
    MHD_suspend_connection(r->conn);
}

void gw_resume(gw_req *r)
{
    assert(r->state == GW_REQ_SUSPENDED);
    r->state = gw_req_next(r->state, GW_EV_RESUME);
    MHD_resume_connection(r->conn);
}

bool gw_defer(gw_req *r, gw_handler fn)
{
    gw *g = r->g;
    pthread_mutex_lock(&g->pool_mu);
    if (g->pool_stop || g->pool_len >= GW_POOL_QUEUE || g->pool_nthreads == 0) {
        pthread_mutex_unlock(&g->pool_mu);
        return false;
    }
    assert(r->state == GW_REQ_READING);
    r->defer_fn = fn;
    r->state = gw_req_next(r->state, GW_EV_SUSPEND);
    MHD_suspend_connection(r->conn);
    r->pool_next = NULL;
    if (g->pool_tail)
        g->pool_tail->pool_next = r;
    else
        g->pool_head = r;
    g->pool_tail = r;
    g->pool_len++;
    pthread_cond_signal(&g->pool_cv);
    pthread_mutex_unlock(&g->pool_mu);
    return true;
}

/* ---- the access handler ------------------------------------------------------------ */

static const char *allow_header(unsigned m)
{
    if ((m & GW_GET) && (m & GW_POST))
        return "GET, HEAD, POST";
    if (m & GW_POST)
        return "POST";
    return "GET, HEAD";
}

static enum MHD_Result queue(gw_req *r)
{
    if (!answered(r))
        gw_reply_error(r, 500, "internal", "no answer");
    struct MHD_Response *resp;
    if (r->stream_fn) {
        resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, GW_STREAM_BLOCK, r->stream_fn,
                                                 r->stream_cls, r->stream_free);
        if (!resp)
            return MHD_NO;   /* on_completed frees the stream's state */
        r->stream_fn = NULL; /* owned by the response now */
    } else {
        resp = MHD_create_response_from_buffer(r->out_len, r->out, MHD_RESPMEM_MUST_FREE);
        if (!resp)
            return MHD_NO;
        r->out = NULL; /* owned by the response now */
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, r->out_type);
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    if (r->out_type && strncmp(r->out_type, "text/html", 9) == 0)
        MHD_add_response_header(resp, "Content-Security-Policy",
                                "default-src 'none'; style-src 'unsafe-inline'; "
                                "img-src 'self'; form-action 'self'; "
                                "script-src 'self'; connect-src 'self'");
    if (r->allow)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, r->allow);
    if (r->link)
        MHD_add_response_header(resp, "Link", r->link);
    if (r->location)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_LOCATION, r->location);
    if (r->content_language)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_LANGUAGE, r->content_language);
    if (r->vary_lang)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_VARY, "Accept, Accept-Language");
    if (r->cookie) {
        MHD_add_response_header(resp, MHD_HTTP_HEADER_SET_COOKIE, r->cookie);
        explicit_bzero(r->cookie, strlen(r->cookie));
    }
    if (r->status == 429 || r->status == 503 || r->status == 507) {
        char ra[24];
        snprintf(ra, sizeof ra, "%u", r->retry_after_s ? r->retry_after_s : 1);
        MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, ra);
    }
    enum MHD_Result ok = MHD_queue_response(r->conn, r->status, resp);
    MHD_destroy_response(resp);
    metrics_request(r->g->metrics, r->route, r->status);
    return ok;
}

static bool wants_json(gw_req *r)
{
    const char *acc = gw_header(r, MHD_HTTP_HEADER_ACCEPT);
    return acc && strstr(acc, "application/json") != NULL;
}

static void dispatch(gw_req *r)
{
    r->want_json = wants_json(r);
    client_identify(r);
    gw_routes[r->route].fn(r);
    if (r->state == GW_REQ_READING) /* neither answered nor suspended */
        gw_reply_error(r, 500, "internal", "handler gave no answer");
}

static enum MHD_Result on_access(void *cls, struct MHD_Connection *conn, const char *url,
                                 const char *method, const char *version, const char *upload,
                                 size_t *upload_size, void **con_cls)
{
    (void)version;
    gw *g = cls;
    gw_req *r = *con_cls;
    if (!r) {
        r = calloc(1, sizeof *r);
        if (!r)
            return MHD_NO;
        *con_cls = r;
        r->g = g;
        r->conn = conn;
        r->path = url;
        r->now_ms = now_ms();
        r->route = gw_nroutes; /* "unmatched" in metrics until matched */
        r->method = strcmp(method, "GET") == 0    ? GW_GET
                    : strcmp(method, "POST") == 0 ? GW_POST
                    : strcmp(method, "HEAD") == 0 ? GW_GET
                                                  : 0;
        unsigned allowed = 0;
        size_t idx = 0;
        int m = r->method ? gw_route_match(gw_routes, gw_nroutes, r->method, url, strlen(url), &idx,
                                           r->param, r->param_len, &allowed)
                          : GW_MATCH_METHOD;
        if (m == GW_MATCH_METHOD && !r->method) {
            /* an unknown method: say what the path allows, if it exists */
            unsigned probe;
            size_t i2;
            const char *pp[GW_PARAMS_MAX];
            size_t pl[GW_PARAMS_MAX];
            if (gw_route_match(gw_routes, gw_nroutes, GW_GET, url, strlen(url), &i2, pp, pl,
                               &probe) == GW_MATCH_OK)
                allowed = gw_routes[i2].method;
            else if (gw_route_match(gw_routes, gw_nroutes, GW_POST, url, strlen(url), &i2, pp, pl,
                                    &probe) == GW_MATCH_OK)
                allowed = gw_routes[i2].method;
            else
                m = GW_MATCH_NOT_FOUND;
        }
        /* A response queued in this first call makes libmicrohttpd 0.9.75
         * close the connection after it (it refuses to read further), so a
         * GET is answered on the next call: keep-alive clients keep their
         * connection. A POST's error is queued at once, so its body is not
         * read. */
        bool early = r->method == GW_POST || !r->method;
        if (m == GW_MATCH_NOT_FOUND) {
            gw_reply_error(r, 404, "not_found", "no route for %s", method);
            return early ? queue(r) : MHD_YES;
        }
        if (m == GW_MATCH_METHOD) {
            r->allow = allow_header(allowed);
            gw_reply_error(r, 405, "method_not_allowed", "%s is not allowed here (allowed: %s)",
                           method, r->allow);
            return early ? queue(r) : MHD_YES;
        }
        r->route = idx;
        for (size_t i = 0; i < GW_PARAMS_MAX; i++)
            if (r->param[i])
                r->nparams = i + 1;
        if (r->method == GW_POST) {
            const char *cl = gw_header(r, MHD_HTTP_HEADER_CONTENT_LENGTH);
            uint64_t len;
            if (cl && gw_parse_u64(&len, cl, strlen(cl)) && len > GW_BODY_MAX) {
                gw_reply_error(r, 413, "too_large", "body of %llu bytes is over the %u limit",
                               (unsigned long long)len, GW_BODY_MAX);
                return queue(r);
            }
            return MHD_YES;
        }
        return MHD_YES; /* a GET: dispatched on the next call */
    }
    switch (gw_req_action(r->state)) {
    case GW_ACT_WAIT:
        return MHD_YES;
    case GW_ACT_FINISH:
        if (r->finish && !answered(r))
            r->finish(r); /* builds the answer here, on the polling thread */
        if (!answered(r))
            gw_reply_error(r, 500, "internal", "handler gave no answer");
        return queue(r);
    case GW_ACT_QUEUE:
        return queue(r); /* a GET's 404 / 405 from the first call */
    default:             /* GW_ACT_READ */
        break;
    }
    if (*upload_size > 0) {
        size_t n = *upload_size;
        *upload_size = 0;
        if (r->body_len + n > GW_BODY_MAX)
            return MHD_NO; /* chunked body over the limit: cannot answer mid-upload */
        if (r->body_len + n > r->body_cap) {
            size_t cap = r->body_cap ? r->body_cap : 4096;
            while (cap < r->body_len + n)
                cap *= 2;
            if (cap > GW_BODY_MAX)
                cap = GW_BODY_MAX;
            uint8_t *p = realloc(r->body, cap);
            if (!p)
                return MHD_NO;
            r->body = p;
            r->body_cap = cap;
        }
        memcpy(r->body + r->body_len, upload, n);
        r->body_len += n;
        return MHD_YES;
    }
    dispatch(r);
    return r->state == GW_REQ_ANSWERED ? queue(r) : MHD_YES; /* else suspended */
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    (void)toe;
    gw_req *r = *con_cls;
    if (!r)
        return;
    if (r->work && r->work_free) /* ended before its answer was built (client gone) */
        r->work_free(r->work);
    if (r->stream_fn && r->stream_free) /* a stream never handed to a response */
        r->stream_free(r->stream_cls);
    free(r->body);
    free(r->out);
    free(r->link);
    free(r->location);
    free(r->cookie);
    free(r);
    *con_cls = NULL;
}

/* Identity: paths are kept percent-encoded so gs1_parse_unit and gw_param
 * decode each segment exactly once. Query values stay raw too. */
static size_t no_unescape(void *cls, struct MHD_Connection *c, char *s)
{
    (void)cls;
    (void)c;
    return strlen(s);
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char msg[256];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = strlen(msg);
    while (n > 0 && msg[n - 1] == '\n')
        msg[--n] = '\0';
    log_msg(LOG_LEVEL_WARN, "gateway: %s", msg); /* libmicrohttpd's own lines, one per event */
}

/* ---- start / stop ------------------------------------------------------------------ */

static int listen_socket(const char *listen_s, char *errmsg, size_t elen)
{
    const char *hp = listen_s;
    if (strncmp(hp, "http://", 7) == 0)
        hp += 7;
    else if (strncmp(hp, "https://", 8) == 0)
        hp += 8;
    char host[256];
    size_t hl = strcspn(hp, "/");
    if (hl >= sizeof host) {
        snprintf(errmsg, elen, "listen %s: address too long", listen_s);
        return -1;
    }
    memcpy(host, hp, hl);
    host[hl] = '\0';
    char *colon = strrchr(host, ':');
    if (!colon) {
        snprintf(errmsg, elen, "listen %s: no port", listen_s);
        return -1;
    }
    *colon = '\0';
    const char *port = colon + 1, *h = host;
    if (h[0] == '[') { /* [::1]:8101 */
        h++;
        char *rb = strchr(host, ']');
        if (rb)
            *rb = '\0';
    }
    struct addrinfo hints = {0}, *ai = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    int e = getaddrinfo(h[0] ? h : NULL, port, &hints, &ai);
    if (e != 0) {
        snprintf(errmsg, elen, "listen %s: %s", listen_s, gai_strerror(e));
        return -1;
    }
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, GW_LISTEN_BACKLOG) != 0) {
        snprintf(errmsg, elen, "listen %s: %s", listen_s, strerror(errno));
        if (fd >= 0)
            close(fd);
        freeaddrinfo(ai);
        return -1;
    }
    freeaddrinfo(ai);
    return fd;
}

static unsigned env_unsigned(const char *name, unsigned dflt)
{
    const char *v = getenv(name);
    uint64_t x;
    if (!v)
        return dflt;
    if (strcmp(v, "off") == 0)
        return 0;
    return gw_parse_u64(&x, v, strlen(v)) && x < 1000000000 ? (unsigned)x : dflt;
}

static const char *route_names[METRICS_ROUTES_MAX];

int gw_start(gw **out, const gw_config *cfg, const gw_deps *deps, char *errmsg, size_t errmsg_len)
{
    if (!cfg || !cfg->listen || !deps || !deps->chain || !deps->genesis) {
        snprintf(errmsg, errmsg_len, "gateway: missing listen address or ledger");
        return -1;
    }
    if (gw_nroutes + 1 > METRICS_ROUTES_MAX) {
        snprintf(errmsg, errmsg_len, "gateway: too many routes");
        return -1;
    }
    for (size_t i = 0; i < gw_nroutes; i++)
        route_names[i] = gw_routes[i].name;
    route_names[gw_nroutes] = "unmatched";

    gw *g = calloc(1, sizeof *g);
    if (!g) {
        snprintf(errmsg, errmsg_len, "gateway: out of memory");
        return -1;
    }
    g->deps = *deps;
    memcpy(g->chain_id, deps->genesis->chain_id, CHAIN_HASH_LEN);
    pthread_mutex_init(&g->pool_mu, NULL);
    pthread_cond_init(&g->pool_cv, NULL);
    gw_client_key(g->client_key, g->chain_id, cfg->scan_secret);
    if (cfg->trusted_proxy) {
        if (!gw_addr_parse(&g->proxy, cfg->trusted_proxy, strlen(cfg->trusted_proxy))) {
            snprintf(errmsg, errmsg_len, "trusted proxy %s: not an IP address", cfg->trusted_proxy);
            goto fail;
        }
        g->has_proxy = true;
    }
    if ((cfg->geoip4 || cfg->geoip6) &&
        gw_geo_open(&g->geo, cfg->geoip4, cfg->geoip6, errmsg, errmsg_len) != 0)
        goto fail;
    /* PROVENA_GW_RATE=off|N (requests/s per client) overrides the default, for
     * benchmarks from one address and for tests. */
    unsigned rate = env_unsigned("PROVENA_GW_RATE", GW_RATE_PER_S);
    unsigned burst = env_unsigned("PROVENA_GW_BURST", rate ? GW_RATE_BURST : 0);
    g->rate = gw_rate_new(rate, burst < rate ? rate : burst);
    g->report_unit = gw_rate_new(GW_REPORT_UNIT_PER_DAY / 86400.0, GW_REPORT_UNIT_PER_DAY);
    double tx_rate = cfg->tx_rate == 0 ? GW_TX_RATE : cfg->tx_rate < 0 ? 0 : cfg->tx_rate;
    unsigned tx_burst = cfg->tx_burst ? cfg->tx_burst : GW_TX_BURST;
    g->tx_client = gw_rate_new(tx_rate, tx_burst);
    g->tx_signer = gw_rate_new(tx_rate, tx_burst);
    g->metrics = metrics_new(route_names, gw_nroutes + 1);
    g->region_header = cfg->region_header ? strdup(cfg->region_header) : NULL;
    g->admin_token = cfg->admin_token ? strdup(cfg->admin_token) : NULL;
    if (!g->rate || !g->report_unit || !g->tx_client || !g->tx_signer || !g->metrics ||
        (cfg->region_header && !g->region_header) || (cfg->admin_token && !g->admin_token)) {
        snprintf(errmsg, errmsg_len, "gateway: out of memory");
        goto fail;
    }
    if ((cfg->tls_cert_pem != NULL) != (cfg->tls_key_pem != NULL)) {
        snprintf(errmsg, errmsg_len, "gateway: HTTPS needs both a certificate and a key");
        goto fail;
    }
    if (cfg->tls_cert_pem) {
        if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
            snprintf(errmsg, errmsg_len, "--tls-cert: this libmicrohttpd is built without TLS");
            goto fail;
        }
        g->tls_cert = strdup(cfg->tls_cert_pem);
        g->tls_key = strdup(cfg->tls_key_pem);
        if (!g->tls_cert || !g->tls_key) {
            snprintf(errmsg, errmsg_len, "gateway: out of memory");
            goto fail;
        }
        g->tls = true;
    }
    g->session_ttl_s = cfg->session_ttl_s ? cfg->session_ttl_s : GW_SESSION_TTL_S;
    if ((g->sessions = gw_sessions_new()) == NULL) {
        snprintf(errmsg, errmsg_len, "gateway: out of memory");
        goto fail;
    }
    json_object_seed(0); /* before any thread builds JSON */

    for (size_t i = 0; i < GW_POOL_THREADS; i++) {
        if (pthread_create(&g->pool_threads[i], NULL, pool_main, g) != 0)
            break;
        g->pool_nthreads++;
    }
    if (g->pool_nthreads == 0) {
        snprintf(errmsg, errmsg_len, "gateway: cannot start worker threads");
        goto fail;
    }

    int fd = listen_socket(cfg->listen, errmsg, errmsg_len);
    if (fd < 0)
        goto fail;
    unsigned threads = cfg->threads;
    if (threads == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        threads = n > 0 ? (unsigned)n : 2;
    }
    /* One address may hold at most conn_per_client connections: one client
     * must not use up GW_CONN_MAX and make everyone else wait in the backlog.
     * Behind a proxy every client shares its address, so the operator raises
     * or lifts the cap there and the proxy enforces its own. */
    unsigned per_ip = cfg->conn_per_client == 0          ? GW_CONN_PER_CLIENT
                      : cfg->conn_per_client == UINT_MAX ? 0
                                                         : cfg->conn_per_client;
    /* HTTPS through libmicrohttpd's GnuTLS: the certificate and key from
     * memory (read by the node from files only its user may read), TLS 1.2 or
     * later only. Without them the options list below is empty. */
    struct MHD_OptionItem tls[] = {
        {MHD_OPTION_HTTPS_MEM_CERT, 0, g->tls_cert},
        {MHD_OPTION_HTTPS_MEM_KEY, 0, g->tls_key},
        {MHD_OPTION_HTTPS_PRIORITIES, 0,
         (void *)"NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:%SERVER_PRECEDENCE"},
        {MHD_OPTION_END, 0, NULL},
    };
    if (!g->tls)
        tls[0].option = MHD_OPTION_END;
    /* MHD_USE_EPOLL is the current name of MHD_USE_EPOLL_LINUX_ONLY (the old
     * name is deprecated and would warn under -Werror). */
    g->mhd = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME |
            MHD_USE_ERROR_LOG | (g->tls ? MHD_USE_TLS : 0),
        0, NULL, NULL, on_access, g, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
        MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_THREAD_POOL_SIZE, threads,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)GW_CONN_MAX,
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, per_ip, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned)GW_CONN_TIMEOUT_S, MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)GW_CONN_MEMORY,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, g, MHD_OPTION_UNESCAPE_CALLBACK, no_unescape,
        NULL, MHD_OPTION_ARRAY, tls, MHD_OPTION_END);
    if (!g->mhd) {
        close(fd);
        snprintf(errmsg, errmsg_len, "listen %s: libmicrohttpd failed to start%s", cfg->listen,
                 g->tls ? " (is --tls-key the private key of --tls-cert?)" : "");
        goto fail;
    }
    *out = g;
    return 0;
fail:
    gw_stop(g);
    return -1;
}

void gw_stop(gw *g)
{
    if (!g)
        return;
    int lfd = -1;
    if (g->mhd)
        lfd = MHD_quiesce_daemon(g->mhd); /* no new connections */
    pthread_mutex_lock(&g->pool_mu);
    g->pool_stop = true;
    pthread_cond_broadcast(&g->pool_cv);
    pthread_mutex_unlock(&g->pool_mu);
    for (size_t i = 0; i < g->pool_nthreads; i++)
        pthread_join(g->pool_threads[i], NULL);
    if (g->mhd)
        MHD_stop_daemon(g->mhd);
    if (lfd >= 0)
        close(lfd);
    metrics_free(g->metrics);
    gw_rate_free(g->rate);
    gw_rate_free(g->report_unit);
    gw_rate_free(g->tx_client);
    gw_rate_free(g->tx_signer);
    gw_geo_close(g->geo);
    free(g->region_header);
    if (g->admin_token)
        explicit_bzero(g->admin_token, strlen(g->admin_token));
    free(g->admin_token);
    if (g->tls_key)
        explicit_bzero(g->tls_key, strlen(g->tls_key));
    free(g->tls_key);
    free(g->tls_cert);
    gw_sessions_free(g->sessions);
    pthread_mutex_destroy(&g->pool_mu);
    pthread_cond_destroy(&g->pool_cv);
    explicit_bzero(g->client_key, sizeof g->client_key);
    free(g);
}

void gw_metrics_commit_latency(gw *g, uint64_t usec)
{
    if (g)
        metrics_commit_latency(g->metrics, usec);
}

/* Size of the ledger's LMDB data file: found through the process's own
 * mappings, so the node need not tell the gateway where its data lives. */
