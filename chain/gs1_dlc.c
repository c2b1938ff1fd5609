/*
 * gs1_dlc.c — decompression of GS1 Digital Link URIs (GS1 Digital Link
 * compression, as implemented by GS1's GS1DigitalLinkToolkit.js reference).
 *
 * A compressed link carries its element strings as one base64url path
 * segment: a bit string of records, each a 4+4-bit header and a value.
 * Header h1h2 in 00..99 is the first two digits of an AI (all the AIs read
 * here are two digits long); 0A..9F name a fixed sequence of AIs (the
 * "optimisation" table); F? starts a non-GS1 key=value pair (7-bit key
 * length, key in base64url characters, then a value). Values follow the AI's
 * format: N fixed (a number in ceil(L·log2 10 + 0.01) bits), X variable (3-bit
 * encoding, length in ceil(log2 M + 0.01) bits, then the characters:
 * 0 digits as one number, 1/2 hex lower/upper, 3 base64url, 4 7-bit ASCII).
 * Reading stops when 8 or fewer bits remain (the padding of the last
 * base64url character).
 *
 * Only the AIs a Provena resolver serves are decoded (00, 01, 10, 17, 21, and
 * the sequences made of them); any other AI is refused by name, since the
 * bit string cannot be read past a value whose format is unknown. Numbers are
 * read exactly (the reference's doubles lose digits past 2^53, e.g. in an
 * SSCC). Every value is checked as the uncompressed link would be (check
 * digits, the AI 82 set), so the path written is one the resolver's own
 * parser accepts or refuses for the same reason.
 */
#include "chain/gs1.h"
#include "chain/gs1_priv.h"

#include <assert.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* A bounded bit reader over the segment's 6-bit characters. */
typedef struct bits {
    uint8_t v[GS1_DLC_MAX];
    size_t nbits, pos;
} bits;

static bool bits_take(bits *b, size_t n, uint64_t *out)
{
    assert(n <= 64 && b->pos <= b->nbits);
    if (b->nbits - b->pos < n)
        return false;
    uint64_t x = 0;
    for (size_t i = 0; i < n; i++, b->pos++)
        x = (x << 1) | ((b->v[b->pos / 6] >> (5 - b->pos % 6)) & 1u);
    *out = x;
    return true;
}

/* The reference's bit counts, computed as it computes them. */
static size_t value_bits(size_t digits)
{
    return (size_t)ceil((double)digits * log(10.0) / log(2.0) + 0.01);
}

static size_t length_bits(size_t max)
{
    return (size_t)ceil(log((double)max) / log(2.0) + 0.01);
}

/* Reads `nbits` bits as one unsigned number into its decimal digits (no
 * leading zeros; "0" for zero). false when the bits run out or the number
 * has more than cap-1 digits. */
static bool take_number(bits *b, size_t nbits, char *out, size_t cap)
{
    uint8_t d[GS1_DLC_VALUE_MAX + 2]; /* little-endian decimal digits */
    size_t nd = 0;
    if (b->nbits - b->pos < nbits)
        return false;
    for (size_t i = 0; i < nbits; i++) {
        uint64_t bit;
        if (!bits_take(b, 1, &bit))
            return false;
        unsigned carry = (unsigned)bit;
        for (size_t k = 0; k < nd; k++) {
            unsigned v = d[k] * 2u + carry;
            d[k] = (uint8_t)(v % 10);
            carry = v / 10;
        }
        if (carry) {
            if (nd == sizeof d)
                return false;
            d[nd++] = (uint8_t)carry;
        }
    }
    if (nd == 0)
        d[nd++] = 0;
    if (nd + 1 > cap)
        return false;
    for (size_t k = 0; k < nd; k++)
        out[k] = (char)('0' + d[nd - 1 - k]);
    out[nd] = '\0';
    return true;
}

/* Reads n characters of encoding enc (0..4) into out (cap bytes). */
static bool take_chars(bits *b, unsigned enc, size_t n, char *out, size_t cap)
{
    if (enc == 0) /* one number of at most n digits (its leading zeros are not kept) */
        return n + 1 <= cap && take_number(b, value_bits(n), out, n + 1);
    if (enc > 4 || n + 1 > cap)
        return false;
    static const char hexu[] = "0123456789ABCDEF", hexl[] = "0123456789abcdef";
    const unsigned width = enc <= 2 ? 4 : enc == 3 ? 6 : 7;
    for (size_t i = 0; i < n; i++) {
        uint64_t x;
        if (!bits_take(b, width, &x) || (enc == 4 && x == 0)) /* a NUL would cut the value */
            return false;
        out[i] = enc == 1 ? hexl[x] : enc == 2 ? hexu[x] : enc == 3 ? b64url[x] : (char)x;
    }
    out[n] = '\0';
    return true;
}

/* ---- the AIs read here -------------------------------------------------------------- */

typedef enum ai_kind { AI_SSCC, AI_GTIN, AI_LOT, AI_EXPIRY, AI_SERIAL, AI_N } ai_kind;

static const struct {
    const char *ai;
    bool numeric; /* N fixed `len` digits, else X of at most `len` characters */
    unsigned len;
} ais[AI_N] = {
    [AI_SSCC] = {"00", true, 18},  [AI_GTIN] = {"01", true, 14},    [AI_LOT] = {"10", false, 20},
    [AI_EXPIRY] = {"17", true, 6}, [AI_SERIAL] = {"21", false, 20},
};

/* The optimisation codes whose sequences use only the AIs above, each in the
 * order the reference reads it: its table lists 1A as (01)(10)(21)(17), but it
 * sorts every sequence in place when it builds its reverse index, so it
 * writes and reads (01)(10)(17)(21); links made by it decode only that way. */
static const struct {
    uint8_t code;
    ai_kind seq[4];
    size_t n;
} opts[] = {
    {0x0B, {AI_GTIN, AI_LOT}, 2},
    {0x0C, {AI_GTIN, AI_SERIAL}, 2},
    {0x0D, {AI_GTIN, AI_EXPIRY}, 2},
    {0x1A, {AI_GTIN, AI_LOT, AI_EXPIRY, AI_SERIAL}, 4},
};

typedef struct decoded {
    char val[AI_N][GS1_DLC_VALUE_MAX + 1];
    bool has[AI_N];
    struct {
        char key[GS1_DLC_VALUE_MAX + 1], val[GS1_DLC_VALUE_MAX + 1];
    } other[GS1_DLC_PAIRS_MAX];
    size_t nother;
} decoded;

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

static int read_ai(bits *b, decoded *d, ai_kind k, char *errmsg, size_t elen)
{
    if (d->has[k]) {
        seterr(errmsg, elen, "AI (%s) appears twice", ais[k].ai);
        return -1;
    }
    char *v = d->val[k];
    bool ok;
    if (ais[k].numeric) {
        ok = take_number(b, value_bits(ais[k].len), v, ais[k].len + 1);
        if (ok) { /* fixed length: the number's leading zeros come back */
            size_t n = strlen(v);
            memmove(v + (ais[k].len - n), v, n + 1);
            memset(v, '0', ais[k].len - n);
        }
    } else {
        uint64_t enc, n;
        ok = bits_take(b, 3, &enc) && bits_take(b, length_bits(ais[k].len), &n) &&
             n <= ais[k].len && take_chars(b, (unsigned)enc, (size_t)n, v, ais[k].len + 1);
    }
    if (!ok) {
        seterr(errmsg, elen,
               "AI (%s): value truncated, too long, of an unknown encoding or with a NUL",
               ais[k].ai);
        return -1;
    }
    size_t n = strlen(v);
    bool valid = k == AI_SSCC     ? gs1_sscc_valid(v, n)
                 : k == AI_GTIN   ? gs1_gtin_valid(v, n)
                 : k == AI_EXPIRY ? n == 6
                                  : gs1_serial_valid(v, n);
    if (!valid) {
        seterr(errmsg, elen, "AI (%s): '%s' is not a valid value%s", ais[k].ai, v,
               k <= AI_GTIN ? " (check digit)" : "");
        return -1;
    }
    d->has[k] = true;
    return 0;
}

/* A non-GS1 key=value pair, after its 4-bit F flag. */
static int read_other(bits *b, decoded *d, char *errmsg, size_t elen)
{
    uint64_t klen, enc, vlen;
    if (d->nother == GS1_DLC_PAIRS_MAX) {
        seterr(errmsg, elen, "more than %d non-GS1 key=value pairs", GS1_DLC_PAIRS_MAX);
        return -1;
    }
    char *key = d->other[d->nother].key, *val = d->other[d->nother].val;
    if (!bits_take(b, 7, &klen) || klen == 0 ||
        !take_chars(b, 3, (size_t)klen, key, GS1_DLC_VALUE_MAX + 1) || !bits_take(b, 3, &enc) ||
        !bits_take(b, 7, &vlen) ||
        !take_chars(b, (unsigned)enc, (size_t)vlen, val, GS1_DLC_VALUE_MAX + 1)) {
        seterr(errmsg, elen,
               "a non-GS1 key=value pair is truncated, of an unknown encoding or with a NUL");
        return -1;
    }
    bool digits = true; /* an all-digit key would read as an AI */
    for (const char *p = key; *p; p++)
        digits = digits && *p >= '0' && *p <= '9';
    if (digits) {
        seterr(errmsg, elen, "non-GS1 key '%s' is all digits, as only an AI is", key);
        return -1;
    }
    for (const char *p = val; *p; p++)
        if (*p < ' ' || *p > '~') {
            seterr(errmsg, elen, "non-GS1 value of '%s' holds a control character", key);
            return -1;
        }
    d->nother++;
    return 0;
}

static int read_records(bits *b, decoded *d, char *errmsg, size_t elen)
{
    while (b->nbits - b->pos > 8) {
        uint64_t h1 = 0, h2 = 0; /* more than 8 bits are left: both reads succeed */
        (void)bits_take(b, 4, &h1);
        (void)bits_take(b, 4, &h2);
        int rc = -1;
        if (h1 <= 9 && h2 <= 9) {
            char ai[3] = {(char)('0' + h1), (char)('0' + h2), '\0'};
            for (size_t k = 0; k < AI_N && rc != 0; k++)
                if (strcmp(ais[k].ai, ai) == 0)
                    rc = read_ai(b, d, (ai_kind)k, errmsg, elen) == 0 ? 0 : -2;
            if (rc == -1)
                seterr(errmsg, elen, "AI (%s…) is not one this resolver reads", ai);
        } else if (h1 == 0xF) {
            b->pos -= 4; /* the key length's first 4 bits are h2 */
            rc = read_other(b, d, errmsg, elen);
        } else {
            unsigned code = (unsigned)(h1 << 4 | h2);
            for (size_t i = 0; i < sizeof opts / sizeof opts[0] && rc == -1; i++)
                if (opts[i].code == code) {
                    rc = 0;
                    for (size_t j = 0; j < opts[i].n && rc == 0; j++)
                        rc = read_ai(b, d, opts[i].seq[j], errmsg, elen);
                    rc = rc == 0 ? 0 : -2;
                }
            if (rc == -1)
                seterr(errmsg, elen, "sequence code %X%X is not one this resolver reads",
                       (unsigned)h1, (unsigned)h2);
        }
        if (rc != 0)
            return -1;
    }
    return 0;
}

/* ---- the uncompressed link -------------------------------------------------------- */

int gs1_dl_decompress(char *out, size_t out_len, const char *path, size_t n, char *errmsg,
                      size_t errmsg_len)
{
    /* "/{segment}", or "/{00|01}/{value}/{segment}" with the primary key uncompressed */
    decoded d;
    memset(&d, 0, sizeof d);
    const char *seg = path;
    size_t sn = n;
    if (sn > 0 && seg[0] == '/') {
        seg++;
        sn--;
    }
    const char *slash = memchr(seg, '/', sn);
    if (slash) {
        const char *key = seg, *val = slash + 1, *end = seg + sn;
        const char *tail = end;
        while (tail > val && tail[-1] != '/')
            tail--;
        /* key / val / tail: exactly three segments */
        size_t klen = (size_t)(slash - key);
        size_t vlen = tail > val ? (size_t)(tail - 1 - val) : 0;
        ai_kind k = AI_N;
        if (klen == 2 && memcmp(key, "00", 2) == 0)
            k = AI_SSCC;
        else if (klen == 2 && memcmp(key, "01", 2) == 0)
            k = AI_GTIN;
        bool ok = k != AI_N && tail > val && vlen == ais[k].len && !memchr(val, '/', vlen);
        if (ok) {
            memcpy(d.val[k], val, vlen);
            d.val[k][vlen] = '\0';
            ok = k == AI_SSCC ? gs1_sscc_valid(d.val[k], vlen) : gs1_gtin_valid(d.val[k], vlen);
        }
        if (!ok) {
            seterr(errmsg, errmsg_len,
                   "expected /{compressed} or /00|01/{key with a valid check digit}/{compressed}");
            return -1;
        }
        d.has[k] = true;
        sn = (size_t)(end - tail);
        seg = tail;
    }
    if (sn == 0 || sn > GS1_DLC_MAX) {
        seterr(errmsg, errmsg_len, "a compressed link is 1 to %d base64url characters, not %zu",
               GS1_DLC_MAX, sn);
        return -1;
    }
    bits b;
    bits *bp = &b;
    bp->nbits = 6 * sn;
    bp->pos = 0;
    for (size_t i = 0; i < sn; i++) {
        const char *c = memchr(b64url, seg[i], sizeof b64url - 1);
        if (!c || seg[i] == '\0') {
            seterr(errmsg, errmsg_len, "character %zu of the compressed link is not base64url",
                   i + 1);
            return -1;
        }
        bp->v[i] = (uint8_t)(c - b64url);
    }
    if (read_records(bp, &d, errmsg, errmsg_len) != 0)
        return -1;
    if (d.has[AI_SSCC] == d.has[AI_GTIN]) {
        seterr(errmsg, errmsg_len, "a link names exactly one primary key, (00) or (01)");
        return -1;
    }
    if (d.has[AI_SSCC] && (d.has[AI_LOT] || d.has[AI_SERIAL] || d.has[AI_EXPIRY])) {
        seterr(errmsg, errmsg_len, "an SSCC (00) takes no lot, serial or expiry");
        return -1;
    }
    if (out_len == 0)
        return -1;
    gs1_outbuf o = {out, out_len, 0, false};
    out[0] = '\0';
    if (d.has[AI_SSCC]) {
        gs1_ob_puts(&o, "/00/");
        gs1_ob_puts(&o, d.val[AI_SSCC]);
    } else {
        gs1_ob_puts(&o, "/01/");
        gs1_ob_puts(&o, d.val[AI_GTIN]);
        const ai_kind quals[] = {AI_LOT, AI_SERIAL}; /* GS1's path order: 22, 10, 21 */
        for (size_t i = 0; i < 2; i++)
            if (d.has[quals[i]]) {
                gs1_ob_putc(&o, '/');
                gs1_ob_puts(&o, ais[quals[i]].ai);
                gs1_ob_putc(&o, '/');
                gs1_ob_pct(&o, d.val[quals[i]]);
            }
    }
    char sep = '?';
    if (d.has[AI_EXPIRY]) {
        gs1_ob_puts(&o, "?17=");
        gs1_ob_puts(&o, d.val[AI_EXPIRY]);
        sep = '&';
    }
    for (size_t i = 0; i < d.nother; i++) {
        gs1_ob_putc(&o, sep);
        gs1_ob_puts(&o, d.other[i].key); /* base64url characters: nothing to escape */
        gs1_ob_putc(&o, '=');
        gs1_ob_pct(&o, d.other[i].val);
        sep = '&';
    }
    if (o.overflow) {
        seterr(errmsg, errmsg_len, "the decompressed link is longer than %zu bytes", out_len - 1);
        return -1;
    }
    return (int)o.len;
}
