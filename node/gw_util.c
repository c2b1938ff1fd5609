/*
 * gw_util.c — the gateway's pure helpers: a bounded output buffer with HTML
 * escaping, the route matcher, region codes, fingerprints,
 * times, and the one table mapping chain error codes to HTTP statuses.
 *
 * Nothing here touches libmicrohttpd or the ledger, so the unit tests in
 * tests/unit/node/ exercise it directly.
 */
#include "node/gw_priv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void gw_buf_put(gw_buf *b, const void *s, size_t n)
{
    if (b->failed)
        return;
    if (b->max && b->len + n > b->max) {
        b->failed = true;
        return;
    }
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->failed = true;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

void gw_buf_puts(gw_buf *b, const char *s)
{
    gw_buf_put(b, s, strlen(s));
}

void gw_buf_printf(gw_buf *b, const char *fmt, ...)
{
    char tmp[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof tmp) {
        b->failed = true;
        return;
    }
    gw_buf_put(b, tmp, (size_t)n);
}

void gw_buf_html(gw_buf *b, const char *s)
{
    const char *run = s;
    for (; *s; s++) {
        const char *rep = NULL;
        switch (*s) {
        case '&':
            rep = "&amp;";
            break;
        case '<':
            rep = "&lt;";
            break;
        case '>':
            rep = "&gt;";
            break;
        case '"':
            rep = "&quot;";
            break;
        case '\'':
            rep = "&#39;";
            break;
        default:
            continue;
        }
        gw_buf_put(b, run, (size_t)(s - run));
        gw_buf_puts(b, rep);
        run = s + 1;
    }
    gw_buf_put(b, run, (size_t)(s - run));
}

void gw_buf_free(gw_buf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

int gw_route_match(const gw_route *table, size_t ntable, unsigned method, const char *path,
                   size_t n, size_t *idx, const char *params[GW_PARAMS_MAX],
                   size_t plen[GW_PARAMS_MAX], unsigned *allowed)
{
    unsigned methods = 0;
    for (size_t i = 0; i < ntable; i++) {
        const char *pt = table[i].pattern;
        size_t pos = 0, np = 0;
        const char *cp[GW_PARAMS_MAX];
        size_t cl[GW_PARAMS_MAX];
        bool ok = true;
        while (*pt && ok) {
            if (*pt == '*') {
                /* one non-empty segment, up to the next '/' or the pattern's next literal */
                size_t start = pos;
                char stop = pt[1]; /* '/' or '\0' or a literal suffix start ('.') */
                while (pos < n && path[pos] != '/' && !(stop == '.' && path[pos] == '.'))
                    pos++;
                if (pos == start || np == GW_PARAMS_MAX) {
                    ok = false;
                    break;
                }
                cp[np] = path + start;
                cl[np++] = pos - start;
                pt++;
            } else {
                if (pos >= n || path[pos] != *pt)
                    ok = false;
                pos++;
                pt++;
            }
        }
        if (!ok || pos != n)
            continue;
        if (!(table[i].method & method)) {
            methods |= table[i].method;
            continue;
        }
        *idx = i;
        for (size_t k = 0; k < np; k++) {
            params[k] = cp[k];
            plen[k] = cl[k];
        }
        for (size_t k = np; k < GW_PARAMS_MAX; k++) {
            params[k] = NULL;
            plen[k] = 0;
        }
        return GW_MATCH_OK;
    }
    if (methods) {
        *allowed = methods;
        return GW_MATCH_METHOD;
    }
    return GW_MATCH_NOT_FOUND;
}

static bool is_upper(char c)
{
    return c >= 'A' && c <= 'Z';
}

bool gw_region_norm(char out[CHAIN_REGION_MAX + 1], const char *s, size_t n)
{
    char t[CHAIN_REGION_MAX + 1];
    if (n != 2 && (n < 4 || n > CHAIN_REGION_MAX))
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c >= 'a' && c <= 'z')
            c = (char)(c - 'a' + 'A');
        t[i] = c;
    }
    t[n] = '\0';
    if (!is_upper(t[0]) || !is_upper(t[1]))
        return false;
    if (n > 2) {
        /* ISO 3166-2: "CC-" then 1..3 letters or digits */
        if (t[2] != '-')
            return false;
        for (size_t i = 3; i < n; i++)
            if (!is_upper(t[i]) && !(t[i] >= '0' && t[i] <= '9'))
                return false;
    }
    memcpy(out, t, n + 1);
    return true;
}

void gw_fingerprint(char out[17], const uint8_t key[CHAIN_KEY_LEN])
{
    chain_hex(out, key, 8);
}

void gw_time_fmt(char out[32], uint64_t ms)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    if (!gmtime_r(&t, &tm) || strftime(out, 32, "%Y-%m-%d %H:%M UTC", &tm) == 0)
        snprintf(out, 32, "%llu", (unsigned long long)(ms / 1000));
}

bool gw_parse_u64(uint64_t *out, const char *s, size_t n)
{
    if (n == 0 || n > 20)
        return false;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        uint64_t d = (uint64_t)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

/* The status-code mapping (docs/API.md "Errors"): reads that find nothing are
 * 404; an encoding the server cannot read is 400; a bound is 413; a
 * transaction well-formed but refused because of the ledger's current state
 * (order, ownership, nonce, duplicates, flags) is 409 — retrying later may
 * succeed; one refused for what it is (signature, chain, role, unknown
 * references, field values, warranty rules) is 422; local trouble is 5xx. */
unsigned gw_status_of_chain_err(int err)
{
    switch (err) {
    case CHAIN_OK:
        return 200;
    case CHAIN_ERR_MALFORMED:
    case CHAIN_ERR_NON_CANONICAL:
        return 400;
    case CHAIN_ERR_TOO_LARGE:
        return 413;
    case CHAIN_ERR_NOT_FOUND:
        return 404;
    case CHAIN_ERR_BAD_STATE:
    case CHAIN_ERR_NOT_OWNER:
    case CHAIN_ERR_NOT_HOLDER:
    case CHAIN_ERR_STALE_NONCE:
    case CHAIN_ERR_DUPLICATE_UNIT:
    case CHAIN_ERR_DUPLICATE_PARTICIPANT:
    case CHAIN_ERR_DUPLICATE_NODE:
    case CHAIN_ERR_DUPLICATE_TX:
    case CHAIN_ERR_FLAGGED:
    case CHAIN_ERR_NO_OFFER:
    case CHAIN_ERR_OFFER_EXPIRED:
    case CHAIN_ERR_PACKED:
    case CHAIN_ERR_EMPTY_PARENT:
    case CHAIN_ERR_PACK_DEPTH:
    case CHAIN_ERR_PACK_FULL:
        return 409;
    case CHAIN_ERR_BAD_SIGNATURE:
    case CHAIN_ERR_WRONG_CHAIN:
    case CHAIN_ERR_UNKNOWN_SIGNER:
    case CHAIN_ERR_REVOKED_SIGNER:
    case CHAIN_ERR_WRONG_ROLE:
    case CHAIN_ERR_UNKNOWN_UNIT:
    case CHAIN_ERR_UNKNOWN_PARTICIPANT:
    case CHAIN_ERR_UNKNOWN_NODE:
    case CHAIN_ERR_WARRANTY_EXPIRED:
    case CHAIN_ERR_WARRANTY_INACTIVE:
    case CHAIN_ERR_BAD_CLAIM_CODE:
    case CHAIN_ERR_BAD_GTIN:
    case CHAIN_ERR_BAD_SERIAL:
    case CHAIN_ERR_INVALID:
    case CHAIN_ERR_BAD_GENESIS:
    case CHAIN_ERR_WEBAUTHN_MALFORMED:
    case CHAIN_ERR_WEBAUTHN_TYPE:
    case CHAIN_ERR_WEBAUTHN_CHALLENGE:
    case CHAIN_ERR_WEBAUTHN_ORIGIN:
    case CHAIN_ERR_WEBAUTHN_RP:
    case CHAIN_ERR_WEBAUTHN_PRESENCE:
    case CHAIN_ERR_WEBAUTHN_SIGNATURE:
    case CHAIN_ERR_BAD_SSCC:
    case CHAIN_ERR_PACK_CYCLE:
    case CHAIN_ERR_UNKNOWN_PARENT:
        return 422;
    case CHAIN_ERR_BAD_BLOCK:
        return 503; /* landed in a skipped block: retry */
    case CHAIN_ERR_DISK_FULL:
        return 507;
    case CHAIN_ERR_NOMEM:
        return 503;
    default:
        return 500;
    }
}
