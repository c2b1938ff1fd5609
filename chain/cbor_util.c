/*
 * cbor_util.c — the one place chain/ turns values into canonical CBOR bytes
 * and untrusted bytes back into values.
 *
 * The writer asks libcbor for each head (cbor_encode_* already picks the
 * shortest form) and appends payloads itself, growing a buffer up to a hard
 * limit. The reader is a pull parser: it hands libcbor's streaming decoder
 * (cbor_stream_decode) exactly one item at a time, so nothing is allocated
 * per item, and it checks what libcbor does not: the head was the shortest
 * one, the length was definite, the item is of a kind we allow. Counts are
 * compared with the bytes left before any caller allocates for them; long
 * string lengths are checked before libcbor sees them, so no size
 * arithmetic can wrap.
 */
#include "chain/cbor_util.h"

#include <assert.h>
#include <cbor.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- writer ----------------------------------------------------------------- */

void cbu_wr_init(cbu_wr *w, size_t max)
{
    memset(w, 0, sizeof *w);
    w->max = max;
}

void cbu_wr_init_fixed(cbu_wr *w, uint8_t *buf, size_t cap)
{
    memset(w, 0, sizeof *w);
    w->buf = buf;
    w->cap = cap;
    w->max = cap;
    w->fixed = true;
}

/* Makes room for n more bytes; false (and a sticky error) when it cannot. */
static bool wr_reserve(cbu_wr *w, size_t n)
{
    if (w->err)
        return false;
    if (n > w->max - w->len) {
        w->err = CHAIN_ERR_TOO_LARGE;
        return false;
    }
    if (w->len + n <= w->cap)
        return true;
    assert(!w->fixed); /* a fixed writer's cap equals its max */
    size_t cap = w->cap ? w->cap : 256;
    while (cap < w->len + n)
        cap = cap > w->max / 2 ? w->max : cap * 2;
    uint8_t *nb = realloc(w->buf, cap);
    if (nb == NULL) {
        w->err = CHAIN_ERR_NOMEM;
        return false;
    }
    w->buf = nb;
    w->cap = cap;
    return true;
}

void cbu_put_raw(cbu_wr *w, const uint8_t *p, size_t n)
{
    if (n == 0 || !wr_reserve(w, n))
        return;
    memcpy(w->buf + w->len, p, n);
    w->len += n;
}

/* Appends a head produced by one of libcbor's cbor_encode_* functions. */
#define PUT_HEAD(w, fn, v)                                                                         \
    do {                                                                                           \
        unsigned char h_[9];                                                                       \
        size_t n_ = fn((v), h_, sizeof h_);                                                        \
        assert(n_ > 0);                                                                            \
        cbu_put_raw((w), h_, n_);                                                                  \
    } while (0)

void cbu_put_uint(cbu_wr *w, uint64_t v)
{
    PUT_HEAD(w, cbor_encode_uint, v);
}

void cbu_put_bool(cbu_wr *w, bool v)
{
    PUT_HEAD(w, cbor_encode_bool, v);
}

void cbu_put_bytes(cbu_wr *w, const uint8_t *p, size_t n)
{
    PUT_HEAD(w, cbor_encode_bytestring_start, n);
    cbu_put_raw(w, p, n);
}

void cbu_put_text(cbu_wr *w, const char *s, size_t n)
{
    PUT_HEAD(w, cbor_encode_string_start, n);
    cbu_put_raw(w, (const uint8_t *)s, n);
}

void cbu_put_cstr(cbu_wr *w, const char *s)
{
    cbu_put_text(w, s, strlen(s));
}

void cbu_put_key(cbu_wr *w, const char *key)
{
    cbu_put_text(w, key, strlen(key));
}

void cbu_put_array(cbu_wr *w, size_t n)
{
    PUT_HEAD(w, cbor_encode_array_start, n);
}

void cbu_put_map(cbu_wr *w, size_t n)
{
    PUT_HEAD(w, cbor_encode_map_start, n);
}

int cbu_wr_finish(cbu_wr *w, uint8_t **out, size_t *out_len)
{
    int err = w->err;
    if (err) {
        cbu_wr_free(w);
        return err;
    }
    if (!w->fixed && w->buf == NULL && out != NULL) {
        w->buf = malloc(1); /* callers may rely on a non-NULL buffer */
        if (w->buf == NULL)
            return CHAIN_ERR_NOMEM;
    }
    if (out != NULL) {
        *out = w->buf;
        w->buf = NULL;
    } else if (!w->fixed) {
        free(w->buf);
        w->buf = NULL;
    }
    if (out_len != NULL)
        *out_len = w->len;
    return CHAIN_OK;
}

void cbu_wr_free(cbu_wr *w)
{
    if (!w->fixed)
        free(w->buf);
    w->buf = NULL;
    w->len = w->cap = 0;
}

bool cbu_key_less(const char *a, size_t alen, const char *b, size_t blen)
{
    /* Encoded text heads grow with the length, so encoded order is length
     * first, then the bytes. */
    if (alen != blen)
        return alen < blen;
    return memcmp(a, b, alen) < 0;
}

/* ---- reader ----------------------------------------------------------------- */

void cbu_rd_init(cbu_rd *r, const uint8_t *buf, size_t len, char *errmsg, size_t errmsg_len)
{
    r->p = buf;
    r->left = len;
    r->errmsg = errmsg;
    r->errmsg_len = errmsg_len;
    r->failed = false;
    if (errmsg != NULL && errmsg_len > 0)
        errmsg[0] = '\0';
}

int cbu_fail(cbu_rd *r, int code, const char *fmt, ...)
{
    if (!r->failed && r->errmsg != NULL && r->errmsg_len > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(r->errmsg, r->errmsg_len, fmt, ap);
        va_end(ap);
    }
    r->failed = true;
    return code;
}

/* What the streaming callbacks saw for one item. */
typedef struct decoded {
    int kind;            /* enum cbu_kind, or 0 for something we refuse */
    const char *refused; /* what it was, when refused */
    uint64_t u;
    const uint8_t *ptr;
    size_t len;
    bool b;
} decoded;

#define D(ctx) ((decoded *)(ctx))
static void cb_u8(void *c, uint8_t v)
{
    D(c)->kind = CBU_UINT;
    D(c)->u = v;
}
static void cb_u16(void *c, uint16_t v)
{
    D(c)->kind = CBU_UINT;
    D(c)->u = v;
}
static void cb_u32(void *c, uint32_t v)
{
    D(c)->kind = CBU_UINT;
    D(c)->u = v;
}
static void cb_u64(void *c, uint64_t v)
{
    D(c)->kind = CBU_UINT;
    D(c)->u = v;
}
static void cb_n8(void *c, uint8_t v)
{
    D(c)->kind = CBU_NEGINT;
    D(c)->u = v;
}
static void cb_n16(void *c, uint16_t v)
{
    D(c)->kind = CBU_NEGINT;
    D(c)->u = v;
}
static void cb_n32(void *c, uint32_t v)
{
    D(c)->kind = CBU_NEGINT;
    D(c)->u = v;
}
static void cb_n64(void *c, uint64_t v)
{
    D(c)->kind = CBU_NEGINT;
    D(c)->u = v;
}
static void cb_bytes(void *c, cbor_data p, size_t n)
{
    D(c)->kind = CBU_BYTES;
    D(c)->ptr = p;
    D(c)->len = n;
}
static void cb_text(void *c, cbor_data p, size_t n)
{
    D(c)->kind = CBU_TEXT;
    D(c)->ptr = p;
    D(c)->len = n;
}
static void cb_array(void *c, size_t n)
{
    D(c)->kind = CBU_ARRAY;
    D(c)->u = n;
}
static void cb_map(void *c, size_t n)
{
    D(c)->kind = CBU_MAP;
    D(c)->u = n;
}
static void cb_bool(void *c, bool b)
{
    D(c)->kind = CBU_BOOL;
    D(c)->b = b;
}
static void cb_null(void *c)
{
    D(c)->kind = CBU_NULL;
}
static void cb_indef(void *c)
{
    D(c)->refused = "indefinite length";
}
static void cb_break(void *c)
{
    D(c)->refused = "stray break";
}
static void cb_tag(void *c, uint64_t v)
{
    (void)v;
    D(c)->refused = "tag";
}
static void cb_f(void *c, float v)
{
    (void)v;
    D(c)->refused = "float";
}
static void cb_d(void *c, double v)
{
    (void)v;
    D(c)->refused = "float";
}
static void cb_undef(void *c)
{
    D(c)->refused = "undefined";
}
#undef D

static const struct cbor_callbacks callbacks = {
    .uint8 = cb_u8,
    .uint16 = cb_u16,
    .uint32 = cb_u32,
    .uint64 = cb_u64,
    .negint8 = cb_n8,
    .negint16 = cb_n16,
    .negint32 = cb_n32,
    .negint64 = cb_n64,
    .byte_string_start = cb_indef,
    .byte_string = cb_bytes,
    .string = cb_text,
    .string_start = cb_indef,
    .indef_array_start = cb_indef,
    .array_start = cb_array,
    .indef_map_start = cb_indef,
    .map_start = cb_map,
    .tag = cb_tag,
    .float2 = cb_f,
    .float4 = cb_f,
    .float8 = cb_d,
    .undefined = cb_undef,
    .null = cb_null,
    .boolean = cb_bool,
    .indef_break = cb_break,
};

/* Size of the shortest head carrying argument v. */
static size_t head_len(uint64_t v)
{
    if (v < 24)
        return 1;
    if (v <= 0xff)
        return 2;
    if (v <= 0xffff)
        return 3;
    if (v <= 0xffffffffu)
        return 5;
    return 9;
}

int cbu_next(cbu_rd *r, cbu_item *it, const char *field)
{
    if (r->left == 0)
        return cbu_fail(r, CHAIN_ERR_MALFORMED, "%s: truncated", field);
    uint8_t ib = r->p[0];
    uint8_t major = ib >> 5, ai = ib & 31;
    /* A string claiming an 8-byte length is longer than any input we accept;
     * refusing it here keeps libcbor's length arithmetic from wrapping. */
    if ((major == 2 || major == 3) && ai == 27)
        return cbu_fail(r, CHAIN_ERR_TOO_LARGE, "%s: string length too large", field);
    if (major == 7 && ai == 24)
        return cbu_fail(r, CHAIN_ERR_MALFORMED, "%s: simple value not allowed", field);
    decoded d = {0};
    struct cbor_decoder_result res = cbor_stream_decode(r->p, r->left, &callbacks, &d);
    if (res.status == CBOR_DECODER_NEDATA)
        return cbu_fail(r, CHAIN_ERR_MALFORMED, "%s: truncated", field);
    if (res.status != CBOR_DECODER_FINISHED || res.read == 0 || res.read > r->left)
        return cbu_fail(r, CHAIN_ERR_MALFORMED, "%s: not CBOR", field);
    if (d.refused != NULL) {
        int code = strcmp(d.refused, "indefinite length") == 0 ? CHAIN_ERR_NON_CANONICAL
                                                               : CHAIN_ERR_MALFORMED;
        return cbu_fail(r, code, "%s: %s not allowed", field, d.refused);
    }
    if (d.kind == 0)
        return cbu_fail(r, CHAIN_ERR_MALFORMED, "%s: unsupported item", field);
    size_t head = res.read;
    if (d.kind == CBU_BYTES || d.kind == CBU_TEXT) {
        assert(res.read >= d.len);
        head = res.read - d.len;
        if (head != head_len(d.len))
            return cbu_fail(r, CHAIN_ERR_NON_CANONICAL, "%s: length not in shortest form", field);
    } else if (d.kind != CBU_BOOL && d.kind != CBU_NULL && head != head_len(d.u)) {
        return cbu_fail(r, CHAIN_ERR_NON_CANONICAL, "%s: integer not in shortest form", field);
    }
    it->kind = d.kind;
    it->u = d.u;
    it->ptr = d.ptr;
    it->len = d.len;
    it->b = d.b;
    r->p += res.read;
    r->left -= res.read;
    return CHAIN_OK;
}

static const char *kind_name(int kind)
{
    static const char *const names[] = {
        "?",   "unsigned integer", "negative integer", "bytes", "text", "array", "map", "boolean",
        "null"};
    return kind > 0 && kind <= CBU_NULL ? names[kind] : "?";
}

static int expect(cbu_rd *r, cbu_item *it, int kind, const char *field)
{
    int rc = cbu_next(r, it, field);
    if (rc)
        return rc;
    if (it->kind != kind)
        return cbu_fail(r, CHAIN_ERR_MALFORMED, "%s: expected %s, got %s", field, kind_name(kind),
                        kind_name(it->kind));
    return CHAIN_OK;
}

int cbu_get_uint(cbu_rd *r, uint64_t *v, const char *field)
{
    cbu_item it;
    int rc = expect(r, &it, CBU_UINT, field);
    if (rc)
        return rc;
    *v = it.u;
    return CHAIN_OK;
}

int cbu_get_uint_max(cbu_rd *r, uint64_t *v, uint64_t max, const char *field)
{
    uint64_t x;
    int rc = cbu_get_uint(r, &x, field);
    if (rc)
        return rc;
    if (x > max)
        return cbu_fail(r, CHAIN_ERR_INVALID, "%s: %llu is over %llu", field, (unsigned long long)x,
                        (unsigned long long)max);
    *v = x;
    return CHAIN_OK;
}

int cbu_get_bool(cbu_rd *r, bool *v, const char *field)
{
    cbu_item it;
    int rc = expect(r, &it, CBU_BOOL, field);
    if (rc)
        return rc;
    *v = it.b;
    return CHAIN_OK;
}

int cbu_get_bytes(cbu_rd *r, const uint8_t **p, size_t *n, size_t max, const char *field)
{
    cbu_item it;
    int rc = expect(r, &it, CBU_BYTES, field);
    if (rc)
        return rc;
    if (it.len > max)
        return cbu_fail(r, CHAIN_ERR_TOO_LARGE, "%s: %zu bytes, at most %zu", field, it.len, max);
    *p = it.ptr;
    *n = it.len;
    return CHAIN_OK;
}

int cbu_get_bytes_n(cbu_rd *r, uint8_t *out, size_t n, const char *field)
{
    cbu_item it;
    int rc = expect(r, &it, CBU_BYTES, field);
    if (rc)
        return rc;
    if (it.len != n)
        return cbu_fail(r, CHAIN_ERR_MALFORMED, "%s: %zu bytes, expected %zu", field, it.len, n);
    memcpy(out, it.ptr, n);
    return CHAIN_OK;
}

int cbu_get_text_ref(cbu_rd *r, const char **s, size_t *n, size_t max, const char *field)
{
    cbu_item it;
    int rc = expect(r, &it, CBU_TEXT, field);
    if (rc)
        return rc;
    if (it.len > max)
        return cbu_fail(r, CHAIN_ERR_TOO_LARGE, "%s: %zu bytes, at most %zu", field, it.len, max);
    *s = (const char *)it.ptr;
    *n = it.len;
    return CHAIN_OK;
}

int cbu_get_text(cbu_rd *r, char *out, size_t cap, const char *field)
{
    assert(cap > 0);
    const char *s = NULL;
    size_t n = 0;
    int rc = cbu_get_text_ref(r, &s, &n, cap - 1, field);
    if (rc)
        return rc;
    if (!cbu_utf8_valid(s, n))
        return cbu_fail(r, CHAIN_ERR_MALFORMED, "%s: not valid text (UTF-8, no controls)", field);
    memcpy(out, s, n);
    out[n] = '\0';
    return CHAIN_OK;
}

static int get_count(cbu_rd *r, int kind, size_t *n, size_t max, const char *field)
{
    cbu_item it;
    int rc = expect(r, &it, kind, field);
    if (rc)
        return rc;
    if (it.u > max)
        return cbu_fail(r, CHAIN_ERR_TOO_LARGE, "%s: %llu entries, at most %zu", field,
                        (unsigned long long)it.u, max);
    /* Every entry takes at least one byte (two for a map entry). */
    if (it.u > r->left / (kind == CBU_MAP ? 2 : 1))
        return cbu_fail(r, CHAIN_ERR_MALFORMED, "%s: truncated (%llu entries announced)", field,
                        (unsigned long long)it.u);
    *n = (size_t)it.u;
    return CHAIN_OK;
}

int cbu_get_array(cbu_rd *r, size_t *n, size_t max, const char *field)
{
    return get_count(r, CBU_ARRAY, n, max, field);
}

int cbu_get_map(cbu_rd *r, size_t *n, size_t max, const char *field)
{
    return get_count(r, CBU_MAP, n, max, field);
}

#define KEY_MAX 32

int cbu_get_key(cbu_rd *r, cbu_keys *k, const char **key, size_t *klen)
{
    const char *s;
    size_t n;
    int rc = cbu_get_text_ref(r, &s, &n, KEY_MAX, "map key");
    if (rc)
        return rc;
    if (k->last != NULL) {
        if (n == k->last_len && memcmp(s, k->last, n) == 0)
            return cbu_fail(r, CHAIN_ERR_MALFORMED, "%.*s: duplicate key", (int)n, s);
        if (!cbu_key_less(k->last, k->last_len, s, n))
            return cbu_fail(r, CHAIN_ERR_NON_CANONICAL, "%.*s: map keys not in canonical order",
                            (int)n, s);
    }
    k->last = s;
    k->last_len = n;
    *key = s;
    *klen = n;
    return CHAIN_OK;
}

bool cbu_key_is(const char *key, size_t klen, const char *name)
{
    size_t n = strlen(name);
    return n == klen && memcmp(key, name, n) == 0;
}

int cbu_skip(cbu_rd *r, const char *field)
{
    /* Items still to read at each open level; no recursion. */
    uint64_t pending[CHAIN_CBOR_DEPTH_MAX + 1];
    int depth = 0;
    pending[0] = 1;
    while (depth >= 0) {
        if (pending[depth] == 0) {
            depth--;
            continue;
        }
        pending[depth]--;
        cbu_item it;
        int rc = cbu_next(r, &it, field);
        if (rc)
            return rc;
        if ((it.kind == CBU_ARRAY || it.kind == CBU_MAP) && it.u > 0) {
            if (depth == CHAIN_CBOR_DEPTH_MAX)
                return cbu_fail(r, CHAIN_ERR_TOO_LARGE, "%s: nested deeper than %d", field,
                                CHAIN_CBOR_DEPTH_MAX);
            uint64_t n = it.kind == CBU_MAP ? it.u * 2 : it.u;
            if (it.u > r->left)
                return cbu_fail(r, CHAIN_ERR_MALFORMED, "%s: truncated", field);
            pending[++depth] = n;
        }
    }
    return CHAIN_OK;
}

int cbu_rd_done(cbu_rd *r)
{
    if (r->left != 0)
        return cbu_fail(r, CHAIN_ERR_MALFORMED, "%zu trailing bytes", r->left);
    return CHAIN_OK;
}

bool cbu_utf8_valid(const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        if (c < 0x80) {
            if (c < 0x20 || c == 0x7f)
                return false;
            i++;
            continue;
        }
        size_t len;
        unsigned cp, min;
        if ((c & 0xe0) == 0xc0) {
            len = 2, cp = c & 0x1f, min = 0x80;
        } else if ((c & 0xf0) == 0xe0) {
            len = 3, cp = c & 0x0f, min = 0x800;
        } else if ((c & 0xf8) == 0xf0) {
            len = 4, cp = c & 0x07, min = 0x10000;
        } else {
            return false;
        }
        if (len > n - i)
            return false;
        for (size_t j = 1; j < len; j++) {
            if ((s[i + j] & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (s[i + j] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) ||
            (cp >= 0x80 && cp < 0xa0))
            return false;
        i += len;
    }
    return true;
}
