/*
 * cli_http.c — the CLI's HTTP client (libcurl easy interface).
 *
 * One cli_http is one node base URL and one reusable curl handle (keep-alive),
 * used by one thread. Response bodies are read into a buffer bounded by the
 * caller's maximum (a block is the largest thing we fetch): a node that sends
 * more is an error, never an unbounded allocation. Errors from the node arrive
 * as {"error":{"code","message"}} and are shown as "code: message".
 */
#include "cli/cli.h"
#include "httpbody/httpbody.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct cli_http {
    CURL *curl;
    char base[512]; /* the node requests go to: bases[cur] */
    char bases[CLI_NODES_MAX][512];
    size_t nbases, cur;
};

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static void global_init(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* "URL[,URL...]" into h->bases (trailing slashes dropped); -1 when a URL is
 * empty or too long, or there are more than CLI_NODES_MAX. */
static int nodes_split(cli_http *h, const char *list)
{
    const char *p = list;
    do {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        while (n && p[n - 1] == '/')
            n--;
        if (n == 0 || n >= sizeof h->bases[0] || h->nbases == CLI_NODES_MAX)
            return -1;
        memcpy(h->bases[h->nbases], p, n);
        h->bases[h->nbases++][n] = '\0';
        p = comma ? comma + 1 : NULL;
    } while (p);
    memcpy(h->base, h->bases[0], sizeof h->base);
    return 0;
}

size_t cli_http_nodes(const cli_http *h)
{
    return h->nbases;
}

void cli_http_next(cli_http *h)
{
    h->cur = (h->cur + 1) % h->nbases;
    memcpy(h->base, h->bases[h->cur], sizeof h->base);
}

cli_http *cli_http_new(const char *base)
{
    pthread_once(&global_once, global_init);
    cli_http *h = calloc(1, sizeof *h);
    if (!h)
        return NULL;
    if (nodes_split(h, base) != 0) {
        free(h);
        return NULL;
    }
    h->curl = curl_easy_init();
    if (!h->curl) {
        free(h);
        return NULL;
    }
    return h;
}

void cli_http_free(cli_http *h)
{
    if (!h)
        return;
    curl_easy_cleanup(h->curl);
    free(h);
}

const char *cli_http_base(const cli_http *h)
{
    return h->base;
}

void cli_resp_free(cli_resp *r)
{
    free(r->body);
    r->body = NULL;
    r->len = 0;
}

static int perform(cli_http *h, cli_resp *resp, const char *path, const char *ctype,
                   const void *body, size_t len, bool post, size_t max, char *errmsg,
                   size_t errmsg_len)
{
    char url[1536];
    if (snprintf(url, sizeof url, "%s%s", h->base, path) >= (int)sizeof url) {
        snprintf(errmsg, errmsg_len, "URL too long");
        return -1;
    }
    httpbody s;
    httpbody_init(&s, max ? max : CLI_RESP_MAX);
    struct curl_slist *hdrs = NULL;
    CURL *c = h->curl;
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, httpbody_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 120000L);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "provena-cli/1");
    /* an https:// node whose certificate is not in the system's store (a
     * network's own CA, or a self-signed gateway certificate) */
    const char *ca = getenv("PROVENA_CACERT");
    if (ca && ca[0])
        curl_easy_setopt(c, CURLOPT_CAINFO, ca);
    hdrs = curl_slist_append(hdrs, "Accept: application/json");
    hdrs = curl_slist_append(hdrs, "Expect:"); /* no 100-continue round trip */
    if (post) {
        char ct[128];
        snprintf(ct, sizeof ct, "Content-Type: %s", ctype);
        hdrs = curl_slist_append(hdrs, ct);
        curl_easy_setopt(c, CURLOPT_POST, 1L);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    CURLcode rc = curl_easy_perform(c);
    curl_slist_free_all(hdrs);
    if (rc != CURLE_OK) {
        if (s.overflow)
            snprintf(errmsg, errmsg_len, "%s: answer larger than %zu bytes", url, s.max);
        else
            snprintf(errmsg, errmsg_len, "%s: %s", url, curl_easy_strerror(rc));
        httpbody_free(&s);
        return -1;
    }
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    if (!s.p) {
        s.p = calloc(1, 1);
        if (!s.p) {
            snprintf(errmsg, errmsg_len, "out of memory");
            return -1;
        }
    }
    resp->status = status;
    resp->body = (char *)s.p;
    resp->len = s.len;
    return 0;
}

/* A streamed GET: the body of a 2xx answer goes to the sink, any other's into
 * a bounded buffer for the error text. */
typedef struct stream_ctx {
    CURL *c;
    cli_sink_fn sink;
    void *ctx;
    int mode; /* 0 not yet known, 1 to the sink, 2 an error body */
    bool sink_failed;
    httpbody err;
} stream_ctx;

static size_t stream_write(char *data, size_t size, size_t nmemb, void *ud)
{
    stream_ctx *s = ud;
    size_t n = size * nmemb;
    if (s->mode == 0) {
        long code = 0;
        curl_easy_getinfo(s->c, CURLINFO_RESPONSE_CODE, &code);
        s->mode = code >= 200 && code <= 299 ? 1 : 2;
    }
    if (s->mode == 2)
        return httpbody_write(data, size, nmemb, &s->err);
    if (!s->sink(s->ctx, data, n)) {
        s->sink_failed = true;
        return 0;
    }
    return n;
}

int cli_http_get_stream(cli_http *h, cli_resp *resp, const char *path, cli_sink_fn sink, void *ctx,
                        char *errmsg, size_t errmsg_len)
{
    char url[1536];
    if (snprintf(url, sizeof url, "%s%s", h->base, path) >= (int)sizeof url) {
        snprintf(errmsg, errmsg_len, "URL too long");
        return -1;
    }
    stream_ctx s = {.c = h->curl, .sink = sink, .ctx = ctx};
    httpbody_init(&s.err, 1u << 20);
    CURL *c = h->curl;
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, stream_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
    /* no bound on the whole transfer (a stream is as long as it is), but one
     * that stalls under 1 byte/s for a minute is given up */
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "provena-cli/1");
    const char *ca = getenv("PROVENA_CACERT");
    if (ca && ca[0])
        curl_easy_setopt(c, CURLOPT_CAINFO, ca);
    struct curl_slist *hdrs = curl_slist_append(NULL, "Accept: application/json");
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    CURLcode rc = curl_easy_perform(c);
    curl_slist_free_all(hdrs);
    if (rc != CURLE_OK) {
        if (s.sink_failed)
            snprintf(errmsg, errmsg_len, "%s: the answer could not be stored", url);
        else
            snprintf(errmsg, errmsg_len, "%s: %s", url, curl_easy_strerror(rc));
        httpbody_free(&s.err);
        return -1;
    }
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    resp->status = status;
    resp->body = (char *)s.err.p;
    resp->len = s.err.len;
    if (!resp->body) {
        resp->body = calloc(1, 1);
        resp->len = 0;
    }
    return 0;
}

int cli_http_get(cli_http *h, cli_resp *resp, const char *path, size_t max, char *errmsg,
                 size_t errmsg_len)
{
    /* A read is safe to repeat: a node that does not answer gives its turn to
     * the next one of the list (each tried once). */
    int rc = -1;
    for (size_t i = 0; rc != 0 && i < h->nbases; i++) {
        if (i)
            cli_http_next(h);
        rc = perform(h, resp, path, NULL, NULL, 0, false, max, errmsg, errmsg_len);
    }
    return rc;
}

int cli_http_post(cli_http *h, cli_resp *resp, const char *path, const char *ctype,
                  const void *body, size_t len, char *errmsg, size_t errmsg_len)
{
    return perform(h, resp, path, ctype, body, len, true, 1u << 20, errmsg, errmsg_len);
}

void cli_http_error_text(char *out, size_t out_len, const cli_resp *r)
{
    json_t *j = r->body ? json_loadb(r->body, r->len, 0, NULL) : NULL;
    json_t *e = j ? json_object_get(j, "error") : NULL;
    const char *code = json_string_value(json_object_get(e, "code"));
    const char *msg = json_string_value(json_object_get(e, "message"));
    if (code)
        snprintf(out, out_len, "%s: %s (HTTP %ld)", code, msg ? msg : "", r->status);
    else
        snprintf(out, out_len, "HTTP %ld", r->status);
    json_decref(j);
}

json_t *cli_http_get_json(cli_http *h, const char *path, char *errmsg, size_t errmsg_len)
{
    cli_resp r = {0};
    if (cli_http_get(h, &r, path, 0, errmsg, errmsg_len) != 0)
        return NULL;
    json_t *j = NULL;
    if (r.status < 200 || r.status > 299) {
        cli_http_error_text(errmsg, errmsg_len, &r);
    } else {
        json_error_t je;
        j = json_loadb(r.body, r.len, 0, &je);
        if (!j)
            snprintf(errmsg, errmsg_len, "%s%s: not JSON: %s", h->base, path, je.text);
        else if (!json_is_object(j)) {
            snprintf(errmsg, errmsg_len, "%s%s: not a JSON object", h->base, path);
            json_decref(j);
            j = NULL;
        }
    }
    cli_resp_free(&r);
    return j;
}
