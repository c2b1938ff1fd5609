/*
 * cbor_util.h — PRIVATE to chain/: canonical CBOR writing and bounded reading.
 *
 * Everything chain/ stores or sends (transactions, blocks, genesis, stored
 * state records) is RFC 8949 §4.2.1 deterministic CBOR: shortest integers and
 * lengths, definite lengths, map keys sorted by their encoded bytes (for text
 * keys: shorter first, then bytewise), no floats, no tags. These helpers make
 * that the only thing you can write and the only thing you can read.
 *
 * WRITING (cbu_wr). Sticky-error writer: call the cbu_put_* functions freely,
 * then check once with cbu_wr_finish(). The writer computes shortest heads
 * (libcbor's cbor_encode_*). YOU emit map keys in canonical order (see
 * cbu_key_less; list them sorted in your code) and give the exact entry count
 * up front — the writer does not reorder, so tests can also build
 * deliberately non-canonical input with it.
 *
 *     cbu_wr w; cbu_wr_init(&w, 4096);          // heap buffer, 4096-byte limit
 *     cbu_put_map(&w, 2);
 *     cbu_put_key(&w, "lot");  cbu_put_cstr(&w, lot);     // "lot" < "units"
 *     cbu_put_key(&w, "units"); cbu_put_uint(&w, n);
 *     uint8_t *buf; size_t len;
 *     int rc = cbu_wr_finish(&w, &buf, &len);  // CHAIN_OK, _TOO_LARGE or _NOMEM
 *
 * READING (cbu_rd). A bounded cursor over untrusted bytes; each cbu_get_*
 * reads one item of the expected kind or returns a chain_err (MALFORMED for a
 * wrong kind / truncation / tag / float, NON_CANONICAL for a non-shortest head
 * or indefinite length, TOO_LARGE for a count or length over the given max)
 * and writes the first error message, prefixed with the field name, into the
 * reader's errmsg. Counts are checked against the remaining bytes before the
 * caller allocates anything. Maps are read with cbu_get_map + cbu_get_key,
 * which refuses unsorted (NON_CANONICAL) and duplicate (MALFORMED) keys:
 *
 *     cbu_rd r; cbu_rd_init(&r, buf, len, errmsg, errmsg_len);
 *     size_t n; cbu_keys k = CBU_KEYS_INIT;
 *     if ((rc = cbu_get_map(&r, &n, 8, "record"))) return rc;
 *     for (size_t i = 0; i < n; i++) {
 *         const char *key; size_t klen;
 *         if ((rc = cbu_get_key(&r, &k, &key, &klen))) return rc;
 *         if (cbu_key_is(key, klen, "lot")) rc = cbu_get_text(&r, lot, sizeof lot, "lot");
 *         else return cbu_fail(&r, CHAIN_ERR_MALFORMED, "unknown field %.*s", ...);
 *     }
 *     rc = cbu_rd_done(&r);                      // trailing bytes → MALFORMED
 *
 * Neither side recurses; cbu_skip bounds nesting by CHAIN_CBOR_DEPTH_MAX.
 */
#ifndef PROVENA_CHAIN_CBOR_UTIL_H
#define PROVENA_CHAIN_CBOR_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chain/chain.h"

/* ---- writer ---- */

typedef struct cbu_wr {
    uint8_t *buf;
    size_t len, cap, max;
    bool fixed; /* buf is caller storage: never grown nor freed */
    int err;    /* first error, sticky */
} cbu_wr;

/* Heap-backed writer refusing to grow past max bytes (CHAIN_ERR_TOO_LARGE). */
void cbu_wr_init(cbu_wr *w, size_t max);
/* Writer over caller storage buf[cap]; never allocates. */
void cbu_wr_init_fixed(cbu_wr *w, uint8_t *buf, size_t cap);
void cbu_put_uint(cbu_wr *w, uint64_t v);
void cbu_put_bool(cbu_wr *w, bool v);
void cbu_put_bytes(cbu_wr *w, const uint8_t *p, size_t n);
void cbu_put_text(cbu_wr *w, const char *s, size_t n);
void cbu_put_cstr(cbu_wr *w, const char *s);
void cbu_put_array(cbu_wr *w, size_t n);
void cbu_put_map(cbu_wr *w, size_t n);
/* A map key; same bytes as cbu_put_cstr. */
void cbu_put_key(cbu_wr *w, const char *key);
/* Appends an already-encoded item verbatim (e.g. a nested encoded tx). */
void cbu_put_raw(cbu_wr *w, const uint8_t *p, size_t n);
/* Returns w->err; on CHAIN_OK a heap writer hands its buffer to *out (caller
 * frees; never NULL, even when empty) and a fixed writer sets *out to its buf.
 * On error a heap writer frees its buffer. out may be NULL to just check. */
int cbu_wr_finish(cbu_wr *w, uint8_t **out, size_t *out_len) CHAIN_WUR;
/* Drops a heap writer's buffer (after an early exit). */
void cbu_wr_free(cbu_wr *w);

/* True when text key a sorts strictly before b in canonical order. */
bool cbu_key_less(const char *a, size_t alen, const char *b, size_t blen);

/* ---- reader ---- */

typedef struct cbu_rd {
    const uint8_t *p;
    size_t left;
    char *errmsg; /* may be NULL */
    size_t errmsg_len;
    bool failed; /* an error message has been written */
} cbu_rd;

/* One item head (strings carry their payload). */
enum cbu_kind {
    CBU_UINT = 1,
    CBU_NEGINT,
    CBU_BYTES,
    CBU_TEXT,
    CBU_ARRAY,
    CBU_MAP,
    CBU_BOOL,
    CBU_NULL,
};
typedef struct cbu_item {
    int kind;
    uint64_t u;         /* UINT value, NEGINT -1-u, ARRAY/MAP count */
    const uint8_t *ptr; /* BYTES/TEXT payload (into the input) */
    size_t len;         /* BYTES/TEXT length */
    bool b;             /* BOOL */
} cbu_item;

/* Last key seen in one map, for order/duplicate checks. */
typedef struct cbu_keys {
    const char *last;
    size_t last_len;
} cbu_keys;
#define CBU_KEYS_INIT                                                                              \
    {                                                                                              \
        NULL, 0                                                                                    \
    }

void cbu_rd_init(cbu_rd *r, const uint8_t *buf, size_t len, char *errmsg, size_t errmsg_len);
/* Writes "field: message" into the errmsg (first error wins) and returns code. */
int cbu_fail(cbu_rd *r, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Reads the next item head; refuses tags, floats, undefined, indefinite lengths
 * and non-shortest heads. */
int cbu_next(cbu_rd *r, cbu_item *it, const char *field) CHAIN_WUR;
int cbu_get_uint(cbu_rd *r, uint64_t *v, const char *field) CHAIN_WUR;
/* uint that must fit max (CHAIN_ERR_INVALID when larger). */
int cbu_get_uint_max(cbu_rd *r, uint64_t *v, uint64_t max, const char *field) CHAIN_WUR;
int cbu_get_bool(cbu_rd *r, bool *v, const char *field) CHAIN_WUR;
/* Byte string of exactly n bytes into out. */
int cbu_get_bytes_n(cbu_rd *r, uint8_t *out, size_t n, const char *field) CHAIN_WUR;
/* Byte string of at most max bytes, pointing into the input. */
int cbu_get_bytes(cbu_rd *r, const uint8_t **p, size_t *n, size_t max, const char *field) CHAIN_WUR;
/* Text of at most max bytes, pointing into the input (not NUL-terminated). */
int cbu_get_text_ref(cbu_rd *r, const char **s, size_t *n, size_t max, const char *field) CHAIN_WUR;
/* Text copied into out[cap] with a NUL (at most cap-1 bytes, TOO_LARGE
 * beyond); refuses embedded NUL and invalid UTF-8 (MALFORMED). */
int cbu_get_text(cbu_rd *r, char *out, size_t cap, const char *field) CHAIN_WUR;
/* Array / map head with count ≤ max (TOO_LARGE) and ≤ the bytes left (MALFORMED). */
int cbu_get_array(cbu_rd *r, size_t *n, size_t max, const char *field) CHAIN_WUR;
int cbu_get_map(cbu_rd *r, size_t *n, size_t max, const char *field) CHAIN_WUR;
/* Next map key (text, ≤ 32 bytes), strictly after the previous one in k. */
int cbu_get_key(cbu_rd *r, cbu_keys *k, const char **key, size_t *klen) CHAIN_WUR;
bool cbu_key_is(const char *key, size_t klen, const char *name);
/* Skips one whole item (any nesting up to CHAIN_CBOR_DEPTH_MAX). */
int cbu_skip(cbu_rd *r, const char *field) CHAIN_WUR;
/* CHAIN_OK when every byte has been read, else MALFORMED "trailing bytes". */
int cbu_rd_done(cbu_rd *r) CHAIN_WUR;

/* True when s[0..n) is valid shortest-form UTF-8 with no control characters
 * (U+0000..U+001F, U+007F): what names and notes may contain. */
bool cbu_utf8_valid(const char *s, size_t n);

#endif
