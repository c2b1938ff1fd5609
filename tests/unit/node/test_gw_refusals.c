/*
 * test_gw_refusals.c — the gateway's refusals through HTTP, in one process:
 * a ledger with a few units (the chain tests' helper), gw_start on a free
 * port with no replica and no scan queue, and libcurl as the client.
 *
 * One table row per refusal: method, path, body and its type, and the status
 * and error code the gateway must answer with (the API's contract of
 * {"error":{"code","message"}} for every 4xx/5xx of /api/v1, EPCIS's
 * QueryParameterException with the same code inside). Each refused row has
 * an accepted neighbour (the same request with the one thing fixed), so a
 * check that refuses everything fails too. Then the gateway's own start-up
 * refusals (listen address, trusted proxy, half a TLS pair).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <curl/curl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "helper_chain.h"
#include "node/gateway.h"

static hc_env E;
static gw *G;
static char base[64];
static char pub_hex[65]; /* the seller's key */

typedef struct resp {
    long status;
    char *body;
    size_t len;
} resp;

static size_t on_body(char *p, size_t sz, size_t n, void *ctx)
{
    resp *r = ctx;
    char *b = realloc(r->body, r->len + sz * n + 1);
    if (!b)
        return 0;
    memcpy(b + r->len, p, sz * n);
    r->len += sz * n;
    b[r->len] = '\0';
    r->body = b;
    return sz * n;
}

/* One request; body NULL for GET, else POSTed with ctype (NULL: none). */
static resp req_h(const char *method, const char *path, const char *ctype, const void *body,
                  size_t blen, const char *hdr)
{
    resp r = {0, NULL, 0};
    char url[8192];
    snprintf(url, sizeof url, "%s%s", base, path);
    CURL *c = curl_easy_init();
    assert_non_null(c);
    struct curl_slist *hd = NULL;
    if (ctype) {
        char h[128];
        snprintf(h, sizeof h, "Content-Type: %s", ctype);
        hd = curl_slist_append(hd, h);
    } else if (body) {
        hd = curl_slist_append(hd, "Content-Type:"); /* none at all */
    }
    if (hdr)
        hd = curl_slist_append(hd, hdr);
    if (!hdr || strncmp(hdr, "Accept:", 7) != 0)
        hd = curl_slist_append(hd, "Accept: application/json");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hd);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
    curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)blen);
    }
    if (strcmp(method, "GET") != 0 && strcmp(method, "POST") != 0)
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    CURLcode cc = curl_easy_perform(c);
    if (cc != CURLE_OK)
        fail_msg("%s %s: %s", method, path, curl_easy_strerror(cc));
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
    curl_slist_free_all(hd);
    curl_easy_cleanup(c);
    if (!r.body)
        r.body = calloc(1, 1);
    return r;
}

static resp req(const char *method, const char *path, const char *ctype, const void *body,
                size_t blen)
{
    return req_h(method, path, ctype, body, blen, NULL);
}

/* The error code of an answer: {"error":{"code":...}} (also inside EPCIS's
 * exception document); "" when there is none. */
static const char *code_of(const resp *r, char *out, size_t n)
{
    json_t *j = json_loadb(r->body, r->len, 0, NULL);
    const char *c = json_string_value(json_object_get(json_object_get(j, "error"), "code"));
    snprintf(out, n, "%s", c ? c : "");
    json_decref(j);
    return out;
}

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &al), 0);
    close(fd);
    return ntohs(a.sin_port);
}

static int setup(void **st)
{
    (void)st;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    hc_setup(&E);
    hc_unit_delivered(&E, "GWA1");
    hc_unit_owned(&E, "GWB2", HK_ALICE);
    chain_hex(pub_hex, E.pub[HK_SELLER], 32);
    /* no resolver configured: links are built from the request's Host */
    gw_deps deps = {.chain = E.c, .genesis = E.g, .node_id = 1, .resolver = NULL};
    char err[256];
    for (int tries = 0; tries < 20; tries++) {
        char listen[64];
        int port = free_port();
        snprintf(listen, sizeof listen, "127.0.0.1:%d", port);
        gw_config cfg = {.listen = listen, .threads = 2};
        if (gw_start(&G, &cfg, &deps, err, sizeof err) == 0) {
            snprintf(base, sizeof base, "http://127.0.0.1:%d", port);
            return 0;
        }
    }
    fprintf(stderr, "gw_start: %s\n", err);
    return -1;
}

static int teardown(void **st)
{
    (void)st;
    gw_stop(G);
    hc_teardown(&E);
    curl_global_cleanup();
    return 0;
}

#define GT  HC_GTIN
#define H64 "00000000000000000000000000000000000000000000000000000000000000aa"
#define H255                                                                                       \
    "hhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhh"  \
    "hhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhh"  \
    "hhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhh"
#define EV "/epcis/events?MATCH_epc=https://id.gs1.org/01/" GT "/21/GWA1"

typedef struct gw_case {
    const char *method, *path, *ctype, *body; /* body NULL: GET without one */
    long status;
    const char *code; /* error code, or "" for an answer without one */
    const char *hdr;  /* one more request header, or NULL */
    const char *has;  /* in the answer's body, or NULL */
} gw_case;

/* "SELLER" in a path stands for the seller's key in hex. */
static const gw_case cases[] = {
    /* routes and methods */
    {"GET", "/api/v1/nothing", NULL, NULL, 404, "not_found", NULL, NULL},
    {"POST", "/api/v1/head", "application/json", "{}", 405, "method_not_allowed", NULL, NULL},
    {"DELETE", "/api/v1/head", NULL, NULL, 405, "method_not_allowed", NULL, NULL},
    {"GET", "/api/v1/head", NULL, NULL, 200, "", NULL, NULL},
    {"GET", "/api/v1/genesis", NULL, NULL, 200, "", NULL, NULL},
    {"GET", "/api/v1/status", NULL, NULL, 200, "", NULL, NULL},
    {"GET", "/metrics", NULL, NULL, 200, "", NULL, NULL},
    /* transactions by id */
    {"GET", "/api/v1/tx/zz", NULL, NULL, 400, "bad_request", NULL, NULL},
    {"GET", "/api/v1/tx/" H64 "a", NULL, NULL, 400, "bad_request", NULL, NULL},
    {"GET", "/api/v1/tx/" H64, NULL, NULL, 404, "not_found", NULL, NULL},
    /* blocks */
    {"GET", "/api/v1/blocks/0", NULL, NULL, 400, "bad_request", NULL, NULL},
    {"GET", "/api/v1/blocks/x1", NULL, NULL, 400, "bad_request", NULL, NULL},
    {"GET", "/api/v1/blocks/18446744073709551616", NULL, NULL, 400, "bad_request", NULL, NULL},
    {"GET", "/api/v1/blocks/999", NULL, NULL, 404, "not_found", NULL, NULL},
    {"GET", "/api/v1/blocks/1?format=xml", NULL, NULL, 400, "bad_query", NULL, NULL},
    {"GET", "/api/v1/blocks/1?format=json", NULL, NULL, 200, "", NULL, NULL},
    {"GET", "/api/v1/blocks/1?format=cbor", NULL, NULL, 200, "", NULL, NULL},
    {"GET", "/api/v1/blocks?from=0", NULL, NULL, 400, "bad_query", NULL, NULL},
    {"GET", "/api/v1/blocks?from=1&limit=0", NULL, NULL, 400, "bad_query", NULL, NULL},
    {"GET", "/api/v1/blocks?from=1&limit=x", NULL, NULL, 400, "bad_query", NULL, NULL},
    {"GET", "/api/v1/blocks?from=1&limit=2", NULL, NULL, 200, "", NULL, NULL},
    {"GET", "/api/v1/blocks?from=999", NULL, NULL, 404, "not_found", NULL, NULL},
    /* lots */
    {"GET", "/api/v1/lots/123/L1", NULL, NULL, 400, "bad_unit", NULL, NULL},
    {"GET", "/api/v1/lots/" GT "/L%201", NULL, NULL, 400, "bad_unit", NULL, NULL},
    {"GET", "/api/v1/lots/" GT "/NOPE", NULL, NULL, 404, "not_found", NULL, NULL},
    {"GET", "/api/v1/lots/" GT "/L1?limit=1001", NULL, NULL, 400, "bad_query", NULL, NULL},
    {"GET", "/api/v1/lots/" GT "/L1?limit=-1", NULL, NULL, 400, "bad_query", NULL, NULL},
    {"GET", "/api/v1/lots/" GT "/L1?after=%ZZ", NULL, NULL, 400, "bad_query", NULL, NULL},
    {"GET", "/api/v1/lots/" GT "/L1?limit=1000&after=GWA1", NULL, NULL, 200, "", NULL, NULL},
    {"GET", "/api/v1/lots/" GT "/L1?limit=0", NULL, NULL, 200, "", NULL, NULL},
    /* participants and nonces */
    {"GET", "/api/v1/participants/nobody", NULL, NULL, 404, "not_found", NULL, NULL},
    {"GET",
     "/api/v1/participants/"
     "iiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiii",
     NULL, NULL, 400, "bad_request", NULL, NULL},
    {"GET", "/api/v1/participants/seller-a", NULL, NULL, 200, "", NULL, NULL},
    {"GET", "/api/v1/participants", NULL, NULL, 200, "", NULL, NULL},
    {"GET", "/api/v1/nonce/zz", NULL, NULL, 400, "bad_request", NULL, NULL},
    {"GET", "/api/v1/nonce/SELLER", NULL, NULL, 200, "", NULL, NULL},
    /* units */
    {"GET", "/api/v1/units/123/GWA1", NULL, NULL, 400, "bad_unit", NULL, NULL},
    {"GET", "/api/v1/units/" GT "/GW%20A1", NULL, NULL, 400, "bad_unit", NULL, NULL},
    {"GET", "/api/v1/units/" GT "/NOPE", NULL, NULL, 404, "unknown_unit", NULL, NULL},
    {"GET", "/api/v1/units/" GT "/GWA1", NULL, NULL, 200, "", NULL, NULL},
    {"GET", "/api/v1/units/" GT "/NOPE/history", NULL, NULL, 404, "unknown_unit", NULL, NULL},
    {"GET", "/api/v1/units/" GT "/GWA1/history?from=x", NULL, NULL, 400, "bad_query", NULL, NULL},
    {"GET", "/api/v1/units/" GT "/GWA1/history?limit=201", NULL, NULL, 400, "bad_query", NULL,
     NULL},
    {"GET", "/api/v1/units/" GT "/GWA1/history?from=4294967296", NULL, NULL, 400, "bad_query", NULL,
     NULL},
    {"GET", "/api/v1/units/" GT "/GWA1/history?from=1&limit=1", NULL, NULL, 200, "", NULL, NULL},
    {"GET", "/api/v1/units/" GT "/GWA1/history?limit=0", NULL, NULL, 200, "", NULL, NULL},
    {"GET", "/api/v1/units/" GT "/NOPE/label.svg", NULL, NULL, 404, "unknown_unit", NULL, NULL},
    {"GET", "/api/v1/units/123/GWA1/label.png", NULL, NULL, 400, "bad_unit", NULL, NULL},
    {"GET", "/api/v1/units/" GT "/NOPE/epcis", NULL, NULL, 404, "unknown_unit", NULL, NULL},
    {"GET", "/api/v1/units/123/GWA1/epcis", NULL, NULL, 400, "bad_unit", NULL, NULL},
    {"GET", "/api/v1/units/" GT "/GWB2/epcis", NULL, NULL, 200, "", NULL, NULL},
    {"GET", "/01/123/21/GWA1", NULL, NULL, 400, "bad_unit", NULL, NULL},
    /* submissions: the query is read first; a gateway with no replica takes none */
    {"POST", "/api/v1/tx?wait=60001", "application/json", "{}", 400, "bad_query", NULL, NULL},
    {"POST", "/api/v1/tx?wait=x", "application/json", "{}", 400, "bad_query", NULL, NULL},
    {"POST", "/api/v1/tx?wait=60000", "application/json", "{}", 503, "no_leader", NULL, NULL},
    /* Digital Link resolver: link types and linksets (RFC 9264) */
    {"GET", "/01/" GT "/21/GWA1?linkType=linkset", NULL, NULL, 200, "", NULL, "\"linkset\""},
    {"GET", "/01/" GT "/21/GWA1?linkType=all", NULL, NULL, 200, "", NULL, "not recalled"},
    {"GET", "/01/" GT "/21/GWA1", NULL, NULL, 200, "", "Accept: application/linkset+json",
     "registerProduct"},
    {"GET", "/01/" GT "/21/GWA1?linkType=gs1:traceability", NULL, NULL, 307, "", NULL,
     "/api/v1/units/" GT "/GWA1/epcis"},
    {"GET", "/01/" GT "/21/GWA1?linkType=https://gs1.org/voc/pip", NULL, NULL, 307, "", NULL,
     "\"location\":\"http://"},
    {"GET", "/01/" GT "/21/GWA1?linkType=gs1:recallStatus", NULL, NULL, 307, "", NULL, NULL},
    {"GET", "/01/" GT "/21/GWA1?linkType=gs1:smpc", NULL, NULL, 404, "link_type_unavailable", NULL,
     NULL},
    {"GET", "/01/" GT "/21/GWA1?linkType=gs1:", NULL, NULL, 400, "bad_link_type", NULL, NULL},
    {"GET", "/01/" GT "/21/GWA1?linkType=gs1:a-b", NULL, NULL, 400, "bad_link_type", NULL, NULL},
    {"GET", "/01/" GT "/21/GWA1?linkType=pip", NULL, NULL, 400, "bad_link_type", NULL, NULL},
    {"GET", "/01/" GT "/21/GWA1?linkType=%ZZ", NULL, NULL, 400, "bad_link_type", NULL, NULL},
    {"GET", "/01/" GT "/21/NOPE?linkType=linkset", NULL, NULL, 404, "unknown_unit", NULL, NULL},
    {"GET", "/01/123/21/GWA1?linkType=linkset", NULL, NULL, 400, "bad_unit", NULL, NULL},
    /* links are built on the request's Host when no resolver is configured:
     * a printable host of at most 255 bytes, else localhost */
    {"GET", "/.well-known/gs1resolver", NULL, NULL, 200, "", "Host: id.example:8080",
     "\"resolverRoot\":\"http://id.example:8080\""},
    {"GET", "/.well-known/gs1resolver", NULL, NULL, 200, "", "Host: a\"b",
     "\"resolverRoot\":\"http://localhost\""},
    {"GET", "/.well-known/gs1resolver", NULL, NULL, 200, "", "HOST255",
     "\"resolverRoot\":\"http://" H255 "\""},
    {"GET", "/.well-known/gs1resolver", NULL, NULL, 200, "", "HOST256",
     "\"resolverRoot\":\"http://localhost\""},
    /* EPCIS queries */
    {"GET", "/epcis/events", NULL, NULL, 413, "query_too_complex", NULL, NULL},
    {"GET", EV "&colour=red", NULL, NULL, 400, "unknown_parameter", NULL, NULL},
    {"GET", "/epcis/events?MATCH_epc=%ZZ", NULL, NULL, 400, "bad_epc", NULL, NULL},
    {"GET", "/epcis/events?MATCH_epc=urn:x", NULL, NULL, 400, "bad_epc", NULL, NULL},
    {"GET", "/epcis/events?MATCH_epc=,", NULL, NULL, 400, "bad_epc", NULL, NULL},
    {"GET", "/epcis/events?MATCH_epc=https://id.gs1.org/01/" GT "/10/L1/x", NULL, NULL, 400,
     "bad_epc", NULL, NULL},
    {"GET", "/epcis/events?MATCH_epc=https://id.gs1.org/01/" GT "/10/L%201", NULL, NULL, 400,
     "bad_epc", NULL, NULL},
    {"GET", "/epcis/events?MATCH_epc=https://id.gs1.org/01/09506000134353/10/L1", NULL, NULL, 400,
     "bad_epc", NULL, NULL},
    {"GET", "/epcis/events?MATCH_epc=https://id.gs1.org/01/" GT "/10/", NULL, NULL, 400, "bad_epc",
     NULL, NULL},
    {"GET", "/epcis/events?MATCH_epc=https://id.gs1.org/01/" GT "/10/L1", NULL, NULL, 200, "", NULL,
     NULL},
    {"GET", EV "&EQ_bizStep=Shipping", NULL, NULL, 400, "bad_biz_step", NULL, NULL},
    {"GET", EV "&EQ_bizStep=juggling", NULL, NULL, 200, "", NULL,
     NULL}, /* a CBV-shaped word: no match */
    {"GET", EV "&EQ_bizStep=", NULL, NULL, 400, "bad_biz_step", NULL, NULL},
    {"GET", EV "&EQ_bizStep=shipping,receiving", NULL, NULL, 200, "", NULL, NULL},
    {"GET", EV "&GE_eventTime=yesterday", NULL, NULL, 400, "bad_time", NULL, NULL},
    {"GET", EV "&GE_eventTime=2026-13-01T00:00:00Z", NULL, NULL, 400, "bad_time", NULL, NULL},
    {"GET", EV "&GE_eventTime=2026-01-32T00:00:00Z", NULL, NULL, 400, "bad_time", NULL, NULL},
    {"GET", EV "&GE_eventTime=2026-01-01T24:00:00Z", NULL, NULL, 400, "bad_time", NULL, NULL},
    {"GET", EV "&GE_eventTime=1969-12-31T23:59:59Z", NULL, NULL, 400, "bad_time", NULL, NULL},
    {"GET", EV "&GE_eventTime=2026-01-01T00:00:00", NULL, NULL, 400, "bad_time", NULL, NULL},
    {"GET", EV "&GE_eventTime=2026-01-01T00:00:00%2B15:00", NULL, NULL, 400, "bad_time", NULL,
     NULL},
    {"GET", EV "&GE_eventTime=2026-01-01T00:00:00%2B01:60", NULL, NULL, 400, "bad_time", NULL,
     NULL},
    {"GET", EV "&GE_eventTime=2026-01-01T00:00:00.1234567890Z", NULL, NULL, 400, "bad_time", NULL,
     NULL},
    {"GET", EV "&GE_eventTime=2026-01-01T00:00:00.Z", NULL, NULL, 400, "bad_time", NULL, NULL},
    {"GET", EV "&GE_eventTime=2026-01-01x00:00:00Z", NULL, NULL, 400, "bad_time", NULL, NULL},
    {"GET", EV "&LT_eventTime=2026-1-01T00:00:00Z", NULL, NULL, 400, "bad_time", NULL, NULL},
    {"GET", EV "&GE_eventTime=2000-01-01T00:00:00.5%2B14:00&LT_eventTime=2999-01-01t00:00:00-01:30",
     NULL, NULL, 200, "", NULL, NULL},
    {"GET", EV "&GE_eventTime=2000-01-01T00:00:00z", NULL, NULL, 200, "", NULL, NULL},
    {"GET", EV "&perPage=0", NULL, NULL, 400, "bad_per_page", NULL, NULL},
    {"GET", EV "&perPage=1001", NULL, NULL, 400, "bad_per_page", NULL, NULL},
    {"GET", EV "&perPage=1000", NULL, NULL, 200, "", NULL, NULL},
    {"GET", EV "&nextPageToken=!!!", NULL, NULL, 400, "bad_page_token", NULL, NULL},
    {"GET", EV "&nextPageToken=MTox", NULL, NULL, 400, "bad_page_token", NULL, NULL}, /* "1:1" */
    {"GET", EV "&nextPageToken=MToxOg", NULL, NULL, 400, "bad_page_token", NULL,
     NULL}, /* "1:1:" past nsrc */
    {"GET", EV "&nextPageToken=MDoxOlg", NULL, NULL, 400, "bad_page_token", NULL,
     NULL},                                                               /* a unit's cursor
                                                                  naming a serial */
    {"GET", EV "&nextPageToken=MDoxOg", NULL, NULL, 200, "", NULL, NULL}, /* "0:1:" */
};

static void test_refusals_with_their_codes(void **st)
{
    (void)st;
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const gw_case *c = &cases[i];
        char path[1024];
        const char *s = strstr(c->path, "SELLER");
        if (s)
            snprintf(path, sizeof path, "%.*s%s%s", (int)(s - c->path), c->path, pub_hex, s + 6);
        else
            snprintf(path, sizeof path, "%s", c->path);
        char host[300];
        const char *hdr = c->hdr;
        if (hdr && strncmp(hdr, "HOST", 4) == 0) { /* "Host: " and 255 or 256 'h' */
            int n = atoi(hdr + 4);
            snprintf(host, sizeof host, "Host: %0*d", n, 0);
            memset(host + 6, 'h', (size_t)n);
            hdr = host;
        }
        resp r = req_h(c->method, path, c->ctype, c->body, c->body ? strlen(c->body) : 0, hdr);
        if (c->has && !strstr(r.body, c->has))
            fail_msg("case %zu: %s %s: no \"%s\" in %.400s", i, c->method, c->path, c->has, r.body);
        char code[64];
        code_of(&r, code, sizeof code);
        if (r.status != c->status || strcmp(code, c->code) != 0)
            fail_msg("case %zu: %s %s: %ld \"%s\", want %ld \"%s\"; body %.300s", i, c->method,
                     c->path, r.status, code, c->status, c->code, r.body);
        if (r.status >= 400 && strncmp(c->path, "/01/", 4) != 0) {
            /* every refusal says why in words too */
            json_t *j = json_loadb(r.body, r.len, 0, NULL);
            const char *m =
                json_string_value(json_object_get(json_object_get(j, "error"), "message"));
            if (!m || !m[0])
                fail_msg("case %zu: %s %s: no message in %s", i, c->method, c->path, r.body);
            json_decref(j);
        }
        free(r.body);
    }
}

/* gw_start refuses what it cannot serve with, naming it, and leaves nothing
 * running (*out untouched). */
static void test_start_refusals_named(void **st)
{
    (void)st;
    char busy[64], longaddr[400];
    snprintf(busy, sizeof busy, "%s", base + strlen("http://")); /* our own gateway's port */
    memset(longaddr, 'h', sizeof longaddr - 1);
    longaddr[sizeof longaddr - 1] = '\0';
    static const char pem[] = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
    const struct {
        gw_config cfg;
        bool no_chain;
        const char *want;
    } cases[] = {
        {{.listen = NULL}, false, "missing listen address"},
        {{.listen = "127.0.0.1:1"}, true, "missing listen address"},
        {{.listen = "127.0.0.1"}, false, "no port"},
        {{.listen = longaddr}, false, "address too long"},
        {{.listen = "http://256.1.1.1:8101"}, false, "listen http://256.1.1.1:8101: "},
        {{.listen = busy}, false, "Address already in use"},
        {{.listen = "127.0.0.1:0", .trusted_proxy = "proxy.example"},
         false,
         "trusted proxy proxy.example: not an IP address"},
        {{.listen = "127.0.0.1:0", .tls_cert_pem = pem}, false, "needs both a certificate"},
        {{.listen = "127.0.0.1:0", .tls_key_pem = pem}, false, "needs both a certificate"},
        {{.listen = "127.0.0.1:0", .tls_cert_pem = pem, .tls_key_pem = pem},
         false,
         "is --tls-key the private key of --tls-cert?"},
        {{.listen = "127.0.0.1:0", .geoip4 = "/nonexistent/GeoIP.dat"},
         false,
         "/nonexistent/GeoIP.dat"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        gw_deps deps = {.chain = cases[i].no_chain ? NULL : E.c, .genesis = E.g, .node_id = 1};
        gw *g = (gw *)&deps; /* any non-NULL value: it must stay untouched */
        char err[512] = "";
        int rc = gw_start(&g, &cases[i].cfg, &deps, err, sizeof err);
        if (rc != -1 || !strstr(err, cases[i].want) || g != (gw *)&deps)
            fail_msg("case %zu: rc %d, \"%s\", want \"%s\"", i, rc, err, cases[i].want);
    }
    /* and the one gateway that did start still answers */
    resp r = req("GET", "/api/v1/head", NULL, NULL, 0);
    assert_int_equal(r.status, 200);
    free(r.body);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_refusals_with_their_codes),
        cmocka_unit_test(test_start_refusals_named),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
