/*
 * fuzz_query.c — libFuzzer target for the gateway's query-argument parsers:
 * the EPCIS query of GET /epcis/events (node/gw_parse.c gw_epcis_query_parse:
 * MATCH_epc, EQ_bizStep, GE_/LT_eventTime, perPage, nextPageToken), and
 * gw_parse_u64, the integer parser of min_height, from, limit, after-limit,
 * wait and perPage; plus the region and client-address parsers the gateway
 * applies to a header a proxy forwards (gw_region_norm, gw_addr_parse).
 *
 * Input: "key=value" pairs separated by '&' (raw, as the query string
 * arrives). Beyond "does not crash": an accepted query has 1..16 sources,
 * at most 16 bizSteps, perPage within 1..1000 and a cursor inside its
 * sources; the token it would hand out (gw_epcis_token_make) parses back to
 * the same cursor; a refused one has a 400/413 and a code. Every value is
 * also given to gw_parse_u64, checked against strtoull: digits only, at most
 * 20, no overflow, no out-of-range value accepted. Seeds: tests/fuzz/corpus/query.
 */
#include <errno.h>
#include <sys/socket.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "node/gw_parse.h"
#include "node/gw_priv.h"

#define CHECK(x)                                                                                   \
    do {                                                                                           \
        if (!(x))                                                                                  \
            abort();                                                                               \
    } while (0)

#define ARGS_MAX 16

typedef struct args {
    char *key[ARGS_MAX], *val[ARGS_MAX];
    size_t n;
    const char *token; /* when set, replaces nextPageToken */
} args;

static const char *get(void *ctx, const char *key)
{
    args *a = ctx;
    if (a->token && strcmp(key, "nextPageToken") == 0)
        return a->token;
    for (size_t i = 0; i < a->n; i++) /* the first, as MHD answers */
        if (strcmp(a->key[i], key) == 0)
            return a->val[i];
    return NULL;
}

static void check_u64(const char *s)
{
    size_t n = strlen(s);
    uint64_t v = 0;
    bool ok = gw_parse_u64(&v, s, n);
    bool digits = n >= 1 && n <= 20;
    for (size_t i = 0; digits && i < n; i++)
        digits = s[i] >= '0' && s[i] <= '9';
    if (!digits) {
        CHECK(!ok);
        return;
    }
    errno = 0;
    unsigned long long ref = strtoull(s, NULL, 10);
    if (errno == ERANGE) {
        CHECK(!ok);
        return;
    }
    CHECK(ok && v == ref);
}

static void check_addr(const char *s)
{
    gw_addr a;
    if (gw_addr_parse(&a, s, strlen(s)))
        CHECK(a.family == AF_INET || a.family == AF_INET6);
    char r[CHAIN_REGION_MAX + 1];
    if (gw_region_norm(r, s, strlen(s)))
        CHECK(chain_region_valid(r, strlen(r)));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size + 1);
    if (!buf)
        return 0;
    memcpy(buf, data, size);
    buf[size] = '\0';
    args a = {.n = 0};
    for (char *p = buf; *p && a.n < ARGS_MAX;) {
        char *end = strchr(p, '&');
        if (end)
            *end = '\0';
        char *eq = strchr(p, '=');
        a.key[a.n] = p;
        a.val[a.n] = eq ? eq + 1 : p + strlen(p);
        if (eq)
            *eq = '\0';
        a.n++;
        if (!end)
            break;
        p = end + 1;
    }
    for (size_t i = 0; i < a.n; i++) {
        check_u64(a.val[i]);
        check_addr(a.val[i]);
    }

    static epcis_query q, back;
    gw_perr e;
    if (gw_epcis_query_parse(&q, get, &a, &e)) {
        CHECK(q.nsrc >= 1 && q.nsrc <= EPCIS_MATCH_MAX && q.nbiz <= EPCIS_BIZSTEP_MAX);
        CHECK(q.per_page >= 1 && q.per_page <= EPCIS_PAGE_MAX);
        CHECK(q.i < q.nsrc && (q.serial[0] == '\0' || q.src[q.i].lot));
        for (size_t i = 0; i < q.nsrc; i++)
            CHECK(gs1_gtin_valid(q.src[i].id.gtin, GS1_GTIN_LEN));
        char tok[EPCIS_TOKEN_MAX];
        gw_epcis_token_make(tok, &q);
        a.token = tok;
        CHECK(gw_epcis_query_parse(&back, get, &a, &e));
        CHECK(back.i == q.i && back.seq == q.seq && strcmp(back.serial, q.serial) == 0);
        CHECK(back.nsrc == q.nsrc && back.per_page == q.per_page);
    } else {
        CHECK(e.status == 400 || e.status == 413 || e.status == 503);
        CHECK(e.code != NULL && e.msg[0] != '\0' && e.epcis_type != NULL);
    }
    free(buf);
    return 0;
}
