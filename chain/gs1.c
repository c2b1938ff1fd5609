/*
 * gs1.c — GS1 identity rules that every layer shares.
 *
 * A unit is an SGTIN: a GTIN-14 whose last digit is the GS1 mod-10 check digit,
 * plus a serial from the AI 82 character set (the set AI 21 and AI 10 use).
 * gs1_parse_unit() accepts the three ways people name a unit — "GTIN/SERIAL",
 * a Digital Link URL and a bracketed element string — and reads them through
 * a bounded cursor: lengths are checked before bytes are copied, and nothing
 * here depends on the input being NUL-terminated.
 */
#include "chain/gs1.h"
#include "chain/gs1_priv.h"

#include "chain/chain.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

char gs1_check_digit(const char *digits, size_t n)
{
    if (n < 2)
        return 0;
    unsigned sum = 0;
    /* Weights alternate 3,1,3… starting from the digit left of the check digit. */
    for (size_t i = 0; i + 1 < n; i++) {
        char c = digits[n - 2 - i];
        if (c < '0' || c > '9')
            return 0;
        sum += (unsigned)(c - '0') * ((i % 2 == 0) ? 3u : 1u);
    }
    return (char)('0' + (10 - sum % 10) % 10);
}

bool gs1_gtin_valid(const char *s, size_t n)
{
    if (n != GS1_GTIN_LEN)
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return gs1_check_digit(s, n) == s[n - 1];
}

bool gs1_sscc_valid(const char *s, size_t n)
{
    if (n != GS1_SSCC_LEN)
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return gs1_check_digit(s, n) == s[n - 1];
}

int gs1_gtin_normalize(char out[GS1_GTIN_LEN + 1], const char *s, size_t n)
{
    if (n != 8 && n != 12 && n != 13 && n != 14)
        return -1;
    char buf[GS1_GTIN_LEN + 1];
    memset(buf, '0', GS1_GTIN_LEN);
    memcpy(buf + GS1_GTIN_LEN - n, s, n);
    buf[GS1_GTIN_LEN] = '\0';
    if (!gs1_gtin_valid(buf, GS1_GTIN_LEN))
        return -1;
    memcpy(out, buf, sizeof buf);
    return 0;
}

static bool ai82_char(unsigned char c)
{
    if ((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'))
        return true;
    return strchr("!\"%&'()*+,-./:;<=>?_", c) != NULL && c != '\0';
}

bool gs1_serial_valid(const char *s, size_t n)
{
    if (n < 1 || n > GS1_SERIAL_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!ai82_char((unsigned char)s[i]))
            return false;
    return true;
}

/* A bounded read cursor over untrusted text. */
typedef struct cursor {
    const char *p;
    size_t left;
} cursor;

static void seterr(char *errmsg, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void seterr(char *errmsg, size_t len, const char *fmt, ...)
{
    if (errmsg == NULL || len == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(errmsg, len, fmt, ap);
    va_end(ap);
}

static bool cur_eat(cursor *c, const char *lit)
{
    size_t n = strlen(lit);
    if (c->left < n || memcmp(c->p, lit, n) != 0)
        return false;
    c->p += n;
    c->left -= n;
    return true;
}

/* Reads up to the next byte of `stops` (or the end) into a span. */
static void cur_span(cursor *c, const char *stops, const char **start, size_t *len)
{
    size_t i = 0;
    while (i < c->left && memchr(stops, c->p[i], strlen(stops)) == NULL)
        i++;
    *start = c->p;
    *len = i;
    c->p += i;
    c->left -= i;
}

static int set_gtin(gs1_link *out, const char *s, size_t n, char *errmsg, size_t elen)
{
    if (gs1_gtin_normalize(out->id.gtin, s, n) != 0) {
        seterr(errmsg, elen, "gtin: '%.*s' is not a GTIN with a valid check digit",
               (int)(n > 20 ? 20 : n), s);
        return -1;
    }
    return 0;
}

static int set_text(char *dst, size_t cap, const char *what, const char *s, size_t n, char *errmsg,
                    size_t elen)
{
    int len = chain_pct_decode(dst, cap, s, n);
    if (len < 0 || !gs1_serial_valid(dst, (size_t)len)) {
        seterr(errmsg, elen, "%s: '%.*s' is not 1-20 characters of the GS1 AI 82 set", what,
               (int)(n > 40 ? 40 : n), s);
        dst[0] = '\0';
        return -1;
    }
    return 0;
}

/* AI 17 is six digits (YYMMDD), in a Digital Link query and an element string
 * alike: it is copied into links and pages unescaped. */
static bool expiry_valid(const char *v, size_t n)
{
    if (n != 6)
        return false;
    for (size_t i = 0; i < n; i++)
        if (v[i] < '0' || v[i] > '9')
            return false;
    return true;
}

static int parse_query(gs1_link *out, cursor *c, char *errmsg, size_t elen)
{
    while (c->left > 0) {
        const char *k, *v;
        size_t kn, vn;
        cur_span(c, "=&#", &k, &kn);
        if (c->left > 0 && c->p[0] == '=') {
            c->p++;
            c->left--;
            cur_span(c, "&#", &v, &vn);
        } else {
            v = c->p;
            vn = 0;
        }
        if (kn == 2 && memcmp(k, "10", 2) == 0) {
            if (set_text(out->lot, sizeof out->lot, "lot (10)", v, vn, errmsg, elen) != 0)
                return -1;
        } else if (kn == 2 && memcmp(k, "17", 2) == 0) {
            if (!expiry_valid(v, vn)) {
                seterr(errmsg, elen, "expiry (17): '%.*s' is not YYMMDD", (int)(vn > 20 ? 20 : vn),
                       v);
                return -1;
            }
            memcpy(out->expiry, v, 6);
            out->expiry[6] = '\0';
        } else if (kn == 3 && memcmp(k, "sig", 3) == 0) {
            if (vn > GS1_SIG_B64_MAX) {
                seterr(errmsg, elen, "sig: longer than %d characters", GS1_SIG_B64_MAX);
                return -1;
            }
            memcpy(out->sig, v, vn);
            out->sig[vn] = '\0';
        } else if (kn == 6 && memcmp(k, "region", 6) == 0) {
            if (vn >= sizeof out->region) {
                seterr(errmsg, elen, "region: longer than %zu characters", sizeof out->region - 1);
                return -1;
            }
            memcpy(out->region, v, vn);
            out->region[vn] = '\0';
        }
        /* Other AIs and parameters are ignored, as the Digital Link standard allows. */
        if (c->left > 0 && c->p[0] == '#')
            break;
        if (c->left > 0) {
            c->p++;
            c->left--;
        }
    }
    return 0;
}

static int parse_link(gs1_link *out, cursor *c, char *errmsg, size_t elen)
{
    /* Skip scheme and host: everything up to the first "/01/". */
    const char *p = c->p;
    size_t i = 0;
    while (i + 4 <= c->left && memcmp(p + i, "/01/", 4) != 0)
        i++;
    if (i + 4 > c->left) {
        seterr(errmsg, elen, "unit: no /01/{gtin} in the Digital Link");
        return -1;
    }
    c->p += i + 4;
    c->left -= i + 4;
    const char *s;
    size_t n;
    cur_span(c, "/?#", &s, &n);
    if (set_gtin(out, s, n, errmsg, elen) != 0)
        return -1;
    bool have_serial = false;
    while (c->left > 0 && c->p[0] == '/') {
        c->p++;
        c->left--;
        const char *ai;
        size_t ain;
        cur_span(c, "/?#", &ai, &ain);
        if (c->left == 0 || c->p[0] != '/') {
            seterr(errmsg, elen, "unit: AI '%.*s' has no value", (int)(ain > 10 ? 10 : ain), ai);
            return -1;
        }
        c->p++;
        c->left--;
        cur_span(c, "/?#", &s, &n);
        if (ain == 2 && memcmp(ai, "21", 2) == 0) {
            if (set_text(out->id.serial, sizeof out->id.serial, "serial (21)", s, n, errmsg,
                         elen) != 0)
                return -1;
            have_serial = true;
        } else if (ain == 2 && memcmp(ai, "10", 2) == 0) {
            if (set_text(out->lot, sizeof out->lot, "lot (10)", s, n, errmsg, elen) != 0)
                return -1;
        } else {
            seterr(errmsg, elen, "unit: path AI '%.*s' is not supported",
                   (int)(ain > 10 ? 10 : ain), ai);
            return -1;
        }
    }
    if (!have_serial) {
        seterr(errmsg, elen, "unit: no /21/{serial} in the Digital Link");
        return -1;
    }
    if (c->left > 0 && c->p[0] == '?') {
        c->p++;
        c->left--;
        return parse_query(out, c, errmsg, elen);
    }
    return 0;
}

static int parse_element_string(gs1_link *out, cursor *c, char *errmsg, size_t elen)
{
    bool have_gtin = false, have_serial = false;
    while (c->left > 0) {
        const char *ai, *v;
        size_t ain, vn;
        if (!cur_eat(c, "(")) {
            seterr(errmsg, elen, "unit: element string must be (AI)value pairs");
            return -1;
        }
        cur_span(c, ")", &ai, &ain);
        if (!cur_eat(c, ")")) {
            seterr(errmsg, elen, "unit: unclosed '(' in element string");
            return -1;
        }
        cur_span(c, "(", &v, &vn);
        if (ain == 2 && memcmp(ai, "01", 2) == 0) {
            if (set_gtin(out, v, vn, errmsg, elen) != 0)
                return -1;
            have_gtin = true;
        } else if (ain == 2 && memcmp(ai, "21", 2) == 0) {
            if (set_text(out->id.serial, sizeof out->id.serial, "serial (21)", v, vn, errmsg,
                         elen) != 0)
                return -1;
            have_serial = true;
        } else if (ain == 2 && memcmp(ai, "10", 2) == 0) {
            if (set_text(out->lot, sizeof out->lot, "lot (10)", v, vn, errmsg, elen) != 0)
                return -1;
        } else if (ain == 2 && memcmp(ai, "17", 2) == 0) {
            if (!expiry_valid(v, vn)) {
                seterr(errmsg, elen, "expiry (17): must be YYMMDD");
                return -1;
            }
            memcpy(out->expiry, v, 6);
            out->expiry[6] = '\0';
        } else {
            seterr(errmsg, elen, "unit: AI (%.*s) is not supported", (int)(ain > 10 ? 10 : ain),
                   ai);
            return -1;
        }
    }
    if (!have_gtin || !have_serial) {
        seterr(errmsg, elen, "unit: element string needs (01) and (21)");
        return -1;
    }
    return 0;
}

int gs1_parse_unit(gs1_link *out, const char *s, size_t n, char *errmsg, size_t elen)
{
    if (n == 0 || n > GS1_DL_MAX) {
        seterr(errmsg, elen, "unit: empty or longer than %d characters", GS1_DL_MAX);
        return -1;
    }
    if (memchr(s, '\0', n) != NULL) {
        seterr(errmsg, elen, "unit: contains a NUL byte");
        return -1;
    }
    gs1_link tmp;
    memset(&tmp, 0, sizeof tmp);
    cursor c = {s, n};
    int rc;
    if (s[0] == '(') {
        rc = parse_element_string(&tmp, &c, errmsg, elen);
    } else if (memmem(s, n, "/01/", 4) != NULL) {
        rc = parse_link(&tmp, &c, errmsg, elen);
    } else {
        const char *g;
        size_t gn;
        cur_span(&c, "/", &g, &gn);
        if (!cur_eat(&c, "/")) {
            seterr(errmsg, elen, "unit: expected GTIN/SERIAL, a Digital Link or (01)…(21)…");
            return -1;
        }
        rc = set_gtin(&tmp, g, gn, errmsg, elen);
        if (rc == 0)
            rc = set_text(tmp.id.serial, sizeof tmp.id.serial, "serial", c.p, c.left, errmsg, elen);
    }
    if (rc != 0)
        return -1;
    *out = tmp;
    return 0;
}

static bool url_safe(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '-' ||
           c == '.' || c == '_' || c == '~';
}

void gs1_ob_putc(gs1_outbuf *o, char c)
{
    if (o->len + 1 >= o->cap) {
        o->overflow = true;
        return;
    }
    o->p[o->len++] = c;
    o->p[o->len] = '\0';
}

void gs1_ob_puts(gs1_outbuf *o, const char *s)
{
    while (*s)
        gs1_ob_putc(o, *s++);
}

void gs1_ob_pct(gs1_outbuf *o, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (url_safe(c)) {
            gs1_ob_putc(o, (char)c);
        } else {
            gs1_ob_putc(o, '%');
            gs1_ob_putc(o, hex[c >> 4]);
            gs1_ob_putc(o, hex[c & 15]);
        }
    }
}

int gs1_link_format(char *out, size_t out_len, const char *resolver, const gs1_link *link)
{
    if (out_len == 0)
        return -1;
    gs1_outbuf o = {out, out_len, 0, false};
    out[0] = '\0';
    gs1_ob_puts(&o, resolver);
    gs1_ob_puts(&o, "/01/");
    gs1_ob_puts(&o, link->id.gtin);
    gs1_ob_puts(&o, "/21/");
    gs1_ob_pct(&o, link->id.serial);
    char sep = '?';
    if (link->lot[0]) {
        gs1_ob_putc(&o, sep);
        gs1_ob_puts(&o, "10=");
        gs1_ob_pct(&o, link->lot);
        sep = '&';
    }
    if (link->expiry[0]) {
        gs1_ob_putc(&o, sep);
        gs1_ob_puts(&o, "17=");
        gs1_ob_puts(&o, link->expiry);
        sep = '&';
    }
    if (link->sig[0]) {
        gs1_ob_putc(&o, sep);
        gs1_ob_puts(&o, "sig=");
        gs1_ob_puts(&o, link->sig);
    }
    return o.overflow ? -1 : (int)o.len;
}
