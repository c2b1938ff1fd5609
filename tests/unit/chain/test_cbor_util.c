/*
 * test_cbor_util.c — the canonical CBOR writer and bounded reader every
 * chain/ decoder stands on (cbor_util.h), item by item: each head width at its
 * edge written shortest and read back, each non-shortest head and indefinite
 * length refused NON_CANONICAL, each kind chain/ does not allow (tags, floats,
 * simple values, undefined, a stray break, reserved heads) refused MALFORMED,
 * counts and lengths at their bound and one past it, truncation before
 * anything is allocated, map keys out of order or repeated, nesting at the
 * depth limit and one level more, the first error message kept, the writer's
 * byte limit exact (a fixed buffer too), and the UTF-8 rule of names and notes
 * at every boundary of the encoding.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chain/cbor_util.h"

/* cbu_next over exactly these bytes: its code, and the message in msg. */
static int next_rc(const uint8_t *b, size_t n, cbu_item *it, char *msg, size_t msg_len)
{
    cbu_rd r;
    cbu_rd_init(&r, b, n, msg, msg_len);
    return cbu_next(&r, it, "f");
}

static void expect_next(const uint8_t *b, size_t n, int want, const char *want_msg)
{
    cbu_item it;
    char msg[128] = "";
    int rc = next_rc(b, n, &it, msg, sizeof msg);
    if (rc != want || (want_msg != NULL && strstr(msg, want_msg) == NULL))
        fail_msg("head %02x (%zu bytes): got %s \"%s\", want %s \"%s\"", b[0], n,
                 chain_err_code(rc), msg, chain_err_code(want), want_msg ? want_msg : "");
}

/* Unsigned integers at each head-width edge: written shortest, read back,
 * and the reader takes exactly the written bytes. */
static void test_cbu_uint_every_width_round_trips(void **state)
{
    (void)state;
    static const struct {
        uint64_t v;
        size_t len;
    } cases[] = {{0, 1},          {23, 1},         {24, 2},          {255, 2},
                 {256, 3},        {65535, 3},      {65536, 5},       {0xffffffffu, 5},
                 {1ull << 32, 9}, {UINT64_MAX, 9}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cbu_wr w;
        cbu_wr_init(&w, 64);
        cbu_put_uint(&w, cases[i].v);
        uint8_t *buf;
        size_t len;
        assert_int_equal(cbu_wr_finish(&w, &buf, &len), CHAIN_OK);
        assert_int_equal(len, cases[i].len);
        cbu_rd r;
        cbu_rd_init(&r, buf, len, NULL, 0);
        uint64_t v = 0;
        assert_int_equal(cbu_get_uint(&r, &v, "v"), CHAIN_OK);
        assert_true(v == cases[i].v);
        assert_int_equal(cbu_rd_done(&r), CHAIN_OK);
        free(buf);
    }
}

/* The same value with a wider head than it needs, for integers of both
 * signs, lengths of strings and counts of arrays and maps. */
static void test_cbu_non_shortest_heads_refused(void **state)
{
    (void)state;
    const uint8_t u8[] = {0x18, 23}, u16[] = {0x19, 0x00, 0xff},
                  u32[] = {0x1a, 0x00, 0x00, 0xff, 0xff},
                  u64[] = {0x1b, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff}, n8[] = {0x38, 0x05},
                  n16[] = {0x39, 0x00, 0x10}, n32[] = {0x3a, 0, 0, 0, 1},
                  n64[] = {0x3b, 0, 0, 0, 0, 0, 0, 0, 1}, arr[] = {0x98, 0x01, 0x00},
                  map[] = {0xb8, 0x01, 0x00, 0x00};
    const uint8_t *ints[] = {u8, u16, u32, u64, n8, n16, n32, n64, arr, map};
    const size_t lens[] = {sizeof u8,  sizeof u16, sizeof u32, sizeof u64, sizeof n8,
                           sizeof n16, sizeof n32, sizeof n64, sizeof arr, sizeof map};
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++)
        expect_next(ints[i], lens[i], CHAIN_ERR_NON_CANONICAL, "integer not in shortest form");
    const uint8_t bytes1[] = {0x58, 0x01, 'a'}, text1[] = {0x78, 0x01, 'a'},
                  text2[] = {0x79, 0x00, 0x01, 'a'};
    expect_next(bytes1, sizeof bytes1, CHAIN_ERR_NON_CANONICAL, "length not in shortest form");
    expect_next(text1, sizeof text1, CHAIN_ERR_NON_CANONICAL, "length not in shortest form");
    expect_next(text2, sizeof text2, CHAIN_ERR_NON_CANONICAL, "length not in shortest form");
    /* the shortest forms of the same items pass */
    const uint8_t n24[] = {0x38, 0x18}, t24[] = {0x78, 24};
    cbu_item it;
    assert_int_equal(next_rc(n24, sizeof n24, &it, NULL, 0), CHAIN_OK);
    assert_int_equal(it.kind, CBU_NEGINT);
    assert_int_equal(it.u, 24); /* -25 */
    uint8_t t[2 + 24];
    memcpy(t, t24, 2);
    memset(t + 2, 'x', 24);
    assert_int_equal(next_rc(t, sizeof t, &it, NULL, 0), CHAIN_OK);
    assert_int_equal(it.kind, CBU_TEXT);
    assert_int_equal(it.len, 24);
}

/* What chain/ never stores: each refused with its own reason. */
static void test_cbu_disallowed_items_refused(void **state)
{
    (void)state;
    const uint8_t tag[] = {0xc1, 0x00}, half[] = {0xf9, 0x3c, 0x00},
                  single[] = {0xfa, 0x3f, 0x80, 0, 0}, dbl[] = {0xfb, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0},
                  undef[] = {0xf7}, brk[] = {0xff}, simple[] = {0xf8, 0x20}, ibytes[] = {0x5f},
                  itext[] = {0x7f}, iarr[] = {0x9f}, imap[] = {0xbf}, huge_bytes[] = {0x5b},
                  huge_text[] = {0x7b}, reserved[] = {0x1c}, unassigned[] = {0xe0};
    expect_next(tag, sizeof tag, CHAIN_ERR_MALFORMED, "tag not allowed");
    expect_next(half, sizeof half, CHAIN_ERR_MALFORMED, "float not allowed");
    expect_next(single, sizeof single, CHAIN_ERR_MALFORMED, "float not allowed");
    expect_next(dbl, sizeof dbl, CHAIN_ERR_MALFORMED, "float not allowed");
    expect_next(undef, sizeof undef, CHAIN_ERR_MALFORMED, "undefined not allowed");
    expect_next(brk, sizeof brk, CHAIN_ERR_MALFORMED, "stray break not allowed");
    expect_next(simple, sizeof simple, CHAIN_ERR_MALFORMED, "simple value not allowed");
    expect_next(ibytes, sizeof ibytes, CHAIN_ERR_NON_CANONICAL, "indefinite length");
    expect_next(itext, sizeof itext, CHAIN_ERR_NON_CANONICAL, "indefinite length");
    expect_next(iarr, sizeof iarr, CHAIN_ERR_NON_CANONICAL, "indefinite length");
    expect_next(imap, sizeof imap, CHAIN_ERR_NON_CANONICAL, "indefinite length");
    /* an 8-byte string length is refused before libcbor computes with it */
    expect_next(huge_bytes, sizeof huge_bytes, CHAIN_ERR_TOO_LARGE, "string length too large");
    expect_next(huge_text, sizeof huge_text, CHAIN_ERR_TOO_LARGE, "string length too large");
    expect_next(reserved, sizeof reserved, CHAIN_ERR_MALFORMED, NULL);
    expect_next(unassigned, sizeof unassigned, CHAIN_ERR_MALFORMED, NULL);
    /* null and both booleans are items of their own */
    const uint8_t nul[] = {0xf6}, f[] = {0xf4}, t[] = {0xf5};
    cbu_item it;
    assert_int_equal(next_rc(nul, 1, &it, NULL, 0), CHAIN_OK);
    assert_int_equal(it.kind, CBU_NULL);
    cbu_rd r;
    bool b = true;
    cbu_rd_init(&r, f, 1, NULL, 0);
    assert_int_equal(cbu_get_bool(&r, &b, "b"), CHAIN_OK);
    assert_false(b);
    cbu_rd_init(&r, t, 1, NULL, 0);
    assert_int_equal(cbu_get_bool(&r, &b, "b"), CHAIN_OK);
    assert_true(b);
}

/* Nothing, a head cut short, a string cut short: "truncated", never a read
 * past the end. */
static void test_cbu_truncated_refused(void **state)
{
    (void)state;
    const uint8_t u16[] = {0x19, 0x01}, text[] = {0x62, 'a'}, u64[] = {0x1b, 1, 2, 3};
    expect_next(u16, 0, CHAIN_ERR_MALFORMED, "f: truncated");
    expect_next(u16, sizeof u16, CHAIN_ERR_MALFORMED, "truncated");
    expect_next(text, sizeof text, CHAIN_ERR_MALFORMED, "truncated");
    expect_next(u64, sizeof u64, CHAIN_ERR_MALFORMED, "truncated");
}

/* Each getter refuses another kind, naming both. */
static void test_cbu_wrong_kind_named(void **state)
{
    (void)state;
    const uint8_t text[] = {0x61, 'a'}, uint[] = {0x01}, neg[] = {0x20}, nul[] = {0xf6};
    char msg[128];
    cbu_rd r;
    uint64_t v;
    bool b;
    const uint8_t *p;
    size_t n;
    const char *s;
    uint8_t out[4];
    cbu_rd_init(&r, text, sizeof text, msg, sizeof msg);
    assert_int_equal(cbu_get_uint(&r, &v, "nonce"), CHAIN_ERR_MALFORMED);
    assert_string_equal(msg, "nonce: expected unsigned integer, got text");
    cbu_rd_init(&r, neg, sizeof neg, msg, sizeof msg);
    assert_int_equal(cbu_get_uint(&r, &v, "nonce"), CHAIN_ERR_MALFORMED);
    assert_string_equal(msg, "nonce: expected unsigned integer, got negative integer");
    cbu_rd_init(&r, uint, sizeof uint, msg, sizeof msg);
    assert_int_equal(cbu_get_bool(&r, &b, "flag"), CHAIN_ERR_MALFORMED);
    assert_string_equal(msg, "flag: expected boolean, got unsigned integer");
    cbu_rd_init(&r, nul, sizeof nul, msg, sizeof msg);
    assert_int_equal(cbu_get_bytes(&r, &p, &n, 8, "sig"), CHAIN_ERR_MALFORMED);
    assert_string_equal(msg, "sig: expected bytes, got null");
    cbu_rd_init(&r, uint, sizeof uint, msg, sizeof msg);
    assert_int_equal(cbu_get_bytes_n(&r, out, 4, "sig"), CHAIN_ERR_MALFORMED);
    cbu_rd_init(&r, uint, sizeof uint, msg, sizeof msg);
    assert_int_equal(cbu_get_text_ref(&r, &s, &n, 8, "name"), CHAIN_ERR_MALFORMED);
    assert_string_equal(msg, "name: expected text, got unsigned integer");
    cbu_rd_init(&r, text, sizeof text, msg, sizeof msg);
    assert_int_equal(cbu_get_array(&r, &n, 8, "units"), CHAIN_ERR_MALFORMED);
    assert_string_equal(msg, "units: expected array, got text");
    cbu_rd_init(&r, text, sizeof text, msg, sizeof msg);
    assert_int_equal(cbu_get_map(&r, &n, 8, "body"), CHAIN_ERR_MALFORMED);
    assert_string_equal(msg, "body: expected map, got text");
    cbu_rd_init(&r, uint, sizeof uint, msg, sizeof msg);
    assert_int_equal(cbu_get_key(&r, &(cbu_keys)CBU_KEYS_INIT, &s, &n), CHAIN_ERR_MALFORMED);
}

/* Bounds of the getters: a value, a byte string, a text and a count exactly
 * at their maximum pass, one past it is refused. */
static void test_cbu_bounds_at_limit_and_one_past(void **state)
{
    (void)state;
    char msg[128];
    cbu_rd r;
    uint64_t v = 0;
    const uint8_t u100[] = {0x18, 100};
    cbu_rd_init(&r, u100, sizeof u100, msg, sizeof msg);
    assert_int_equal(cbu_get_uint_max(&r, &v, 100, "months"), CHAIN_OK);
    assert_int_equal(v, 100);
    v = 7;
    cbu_rd_init(&r, u100, sizeof u100, msg, sizeof msg);
    assert_int_equal(cbu_get_uint_max(&r, &v, 99, "months"), CHAIN_ERR_INVALID);
    assert_string_equal(msg, "months: 100 is over 99");
    assert_int_equal(v, 7); /* untouched on failure */
    const uint8_t none[] = {0x41};
    cbu_rd_init(&r, none, sizeof none, msg, sizeof msg);
    assert_int_equal(cbu_get_uint_max(&r, &v, 99, "months"), CHAIN_ERR_MALFORMED);

    const uint8_t b3[] = {0x43, 1, 2, 3};
    const uint8_t *p;
    size_t n;
    cbu_rd_init(&r, b3, sizeof b3, msg, sizeof msg);
    assert_int_equal(cbu_get_bytes(&r, &p, &n, 3, "data"), CHAIN_OK);
    assert_int_equal(n, 3);
    assert_int_equal(p[2], 3);
    cbu_rd_init(&r, b3, sizeof b3, msg, sizeof msg);
    assert_int_equal(cbu_get_bytes(&r, &p, &n, 2, "data"), CHAIN_ERR_TOO_LARGE);
    assert_string_equal(msg, "data: 3 bytes, at most 2");
    uint8_t out[4] = {0};
    cbu_rd_init(&r, b3, sizeof b3, msg, sizeof msg);
    assert_int_equal(cbu_get_bytes_n(&r, out, 3, "key"), CHAIN_OK);
    assert_memory_equal(out, b3 + 1, 3);
    cbu_rd_init(&r, b3, sizeof b3, msg, sizeof msg);
    assert_int_equal(cbu_get_bytes_n(&r, out, 4, "key"), CHAIN_ERR_MALFORMED);
    assert_string_equal(msg, "key: 3 bytes, expected 4");
    cbu_rd_init(&r, b3, sizeof b3, msg, sizeof msg);
    assert_int_equal(cbu_get_bytes_n(&r, out, 2, "key"), CHAIN_ERR_MALFORMED);

    /* text into out[cap]: cap-1 bytes and the NUL fit, cap bytes do not */
    const uint8_t t3[] = {0x63, 'a', 'b', 'c'};
    char s4[4] = "zzz", s3[3] = "zz";
    cbu_rd_init(&r, t3, sizeof t3, msg, sizeof msg);
    assert_int_equal(cbu_get_text(&r, s4, sizeof s4, "lot"), CHAIN_OK);
    assert_string_equal(s4, "abc");
    cbu_rd_init(&r, t3, sizeof t3, msg, sizeof msg);
    assert_int_equal(cbu_get_text(&r, s3, sizeof s3, "lot"), CHAIN_ERR_TOO_LARGE);
    assert_string_equal(msg, "lot: 3 bytes, at most 2");
    assert_string_equal(s3, "zz");
    /* a NUL or a control inside a text is not text */
    const uint8_t tnul[] = {0x63, 'a', 0, 'c'}, tlf[] = {0x62, 'a', '\n'};
    cbu_rd_init(&r, tnul, sizeof tnul, msg, sizeof msg);
    assert_int_equal(cbu_get_text(&r, s4, sizeof s4, "lot"), CHAIN_ERR_MALFORMED);
    assert_non_null(strstr(msg, "not valid text"));
    cbu_rd_init(&r, tlf, sizeof tlf, msg, sizeof msg);
    assert_int_equal(cbu_get_text(&r, s4, sizeof s4, "lot"), CHAIN_ERR_MALFORMED);

    /* counts: at max with the bytes there, past max, and more than the bytes left */
    const uint8_t a3[] = {0x83, 1, 2, 3}, m2[] = {0xa2, 0x61, 'a', 1, 0x61, 'b', 2};
    cbu_rd_init(&r, a3, sizeof a3, msg, sizeof msg);
    assert_int_equal(cbu_get_array(&r, &n, 3, "units"), CHAIN_OK);
    assert_int_equal(n, 3);
    cbu_rd_init(&r, a3, sizeof a3, msg, sizeof msg);
    assert_int_equal(cbu_get_array(&r, &n, 2, "units"), CHAIN_ERR_TOO_LARGE);
    assert_string_equal(msg, "units: 3 entries, at most 2");
    cbu_rd_init(&r, a3, 3, msg, sizeof msg); /* 3 announced, 2 bytes follow */
    assert_int_equal(cbu_get_array(&r, &n, 3, "units"), CHAIN_ERR_MALFORMED);
    assert_string_equal(msg, "units: truncated (3 entries announced)");
    cbu_rd_init(&r, m2, sizeof m2, msg, sizeof msg);
    assert_int_equal(cbu_get_map(&r, &n, 2, "body"), CHAIN_OK);
    assert_int_equal(n, 2);
    cbu_rd_init(&r, m2, sizeof m2, msg, sizeof msg);
    assert_int_equal(cbu_get_map(&r, &n, 1, "body"), CHAIN_ERR_TOO_LARGE);
    cbu_rd_init(&r, m2, 4, msg, sizeof msg); /* two entries need at least 4 bytes */
    assert_int_equal(cbu_get_map(&r, &n, 2, "body"), CHAIN_ERR_MALFORMED);
}

/* Map keys: in canonical order (shorter first, then bytes), no repeats, at
 * most 32 bytes; the first error is the one reported. */
static void test_cbu_map_keys_order_duplicates_length(void **state)
{
    (void)state;
    assert_true(cbu_key_less("b", 1, "aa", 2));
    assert_false(cbu_key_less("aa", 2, "b", 1));
    assert_true(cbu_key_less("ab", 2, "ac", 2));
    assert_false(cbu_key_less("ac", 2, "ab", 2));
    assert_false(cbu_key_less("ab", 2, "ab", 2));
    assert_true(cbu_key_is("sig", 3, "sig"));
    assert_false(cbu_key_is("si", 2, "sig"));
    assert_false(cbu_key_is("sigs", 4, "sig"));
    assert_false(cbu_key_is("sih", 3, "sig"));

    char msg[128];
    cbu_rd r;
    const char *key;
    size_t kl;
    cbu_keys k = CBU_KEYS_INIT;
    const uint8_t keys[] = {0x61, 'b', 0x61, 'c', 0x62, 'a', 'a', 0x62, 'a', 'a', 0x61, 'z'};
    cbu_rd_init(&r, keys, sizeof keys, msg, sizeof msg);
    assert_int_equal(cbu_get_key(&r, &k, &key, &kl), CHAIN_OK);
    assert_int_equal(cbu_get_key(&r, &k, &key, &kl), CHAIN_OK);
    assert_int_equal(cbu_get_key(&r, &k, &key, &kl), CHAIN_OK);
    assert_true(cbu_key_is(key, kl, "aa"));
    assert_int_equal(cbu_get_key(&r, &k, &key, &kl), CHAIN_ERR_MALFORMED);
    assert_string_equal(msg, "aa: duplicate key");
    /* the next failure does not overwrite the first message */
    assert_int_equal(cbu_get_key(&r, &k, &key, &kl), CHAIN_ERR_NON_CANONICAL);
    assert_string_equal(msg, "aa: duplicate key");
    /* out of order, reported first */
    const uint8_t back[] = {0x62, 'a', 'b', 0x62, 'a', 'a'};
    k = (cbu_keys)CBU_KEYS_INIT;
    cbu_rd_init(&r, back, sizeof back, msg, sizeof msg);
    assert_int_equal(cbu_get_key(&r, &k, &key, &kl), CHAIN_OK);
    assert_int_equal(cbu_get_key(&r, &k, &key, &kl), CHAIN_ERR_NON_CANONICAL);
    assert_string_equal(msg, "aa: map keys not in canonical order");
    /* a key of 32 bytes is a key, 33 are not */
    uint8_t long_key[2 + 33];
    long_key[0] = 0x78;
    memset(long_key + 2, 'k', 33);
    for (size_t len = 32; len <= 33; len++) {
        long_key[1] = (uint8_t)len;
        k = (cbu_keys)CBU_KEYS_INIT;
        cbu_rd_init(&r, long_key, 2 + len, msg, sizeof msg);
        assert_int_equal(cbu_get_key(&r, &k, &key, &kl), len == 32 ? CHAIN_OK : CHAIN_ERR_TOO_LARGE);
    }
}

/* cbu_skip passes whole items of any kind up to CHAIN_CBOR_DEPTH_MAX levels,
 * refuses one level more and a container announcing more than is there. */
static void test_cbu_skip_bounds(void **state)
{
    (void)state;
    char msg[128];
    cbu_rd r;
    /* {"a": [1, h'00', "x", true, null, {}], "b": []} then a trailing 7 */
    const uint8_t item[] = {0xa2, 0x61, 'a',  0x86, 0x01, 0x41, 0x00, 0x61, 'x',
                            0xf5, 0xf6, 0xa0, 0x61, 'b',  0x80, 0x07};
    cbu_rd_init(&r, item, sizeof item, msg, sizeof msg);
    assert_int_equal(cbu_skip(&r, "x"), CHAIN_OK);
    assert_int_equal(r.left, 1);
    assert_int_equal(cbu_rd_done(&r), CHAIN_ERR_MALFORMED);
    assert_string_equal(msg, "1 trailing bytes");
    uint64_t v;
    assert_int_equal(cbu_get_uint(&r, &v, "tail"), CHAIN_OK);
    assert_int_equal(v, 7);
    assert_int_equal(cbu_rd_done(&r), CHAIN_OK);
    /* DEPTH_MAX nested arrays around a 0, then one more */
    for (int extra = 0; extra < 2; extra++) {
        uint8_t nest[CHAIN_CBOR_DEPTH_MAX + 2];
        size_t n = 0;
        for (int i = 0; i < CHAIN_CBOR_DEPTH_MAX + extra; i++)
            nest[n++] = 0x81;
        nest[n++] = 0x00;
        cbu_rd_init(&r, nest, n, msg, sizeof msg);
        int rc = cbu_skip(&r, "deep");
        if (extra) {
            assert_int_equal(rc, CHAIN_ERR_TOO_LARGE);
            assert_string_equal(msg, "deep: nested deeper than 8");
        } else {
            assert_int_equal(rc, CHAIN_OK);
            assert_int_equal(r.left, 0);
        }
    }
    /* announced counts beyond the input */
    const uint8_t big_arr[] = {0x85, 0x01}, big_map[] = {0xa3, 0x01, 0x02}, cut[] = {0xa2, 0x01, 0x02}; /* 2 entries, 1 there */
    cbu_rd_init(&r, big_arr, sizeof big_arr, msg, sizeof msg);
    assert_int_equal(cbu_skip(&r, "s"), CHAIN_ERR_MALFORMED);
    assert_string_equal(msg, "s: truncated");
    cbu_rd_init(&r, big_map, sizeof big_map, msg, sizeof msg);
    assert_int_equal(cbu_skip(&r, "s"), CHAIN_ERR_MALFORMED);
    cbu_rd_init(&r, cut, sizeof cut, msg, sizeof msg);
    assert_int_equal(cbu_skip(&r, "s"), CHAIN_ERR_MALFORMED);
    assert_string_equal(msg, "s: truncated");
    /* a refused item inside is refused by the skip too */
    const uint8_t inner_float[] = {0x81, 0xf9, 0x3c, 0x00};
    cbu_rd_init(&r, inner_float, sizeof inner_float, msg, sizeof msg);
    assert_int_equal(cbu_skip(&r, "s"), CHAIN_ERR_MALFORMED);
    assert_string_equal(msg, "s: float not allowed");
}

/* The writer stops at its byte limit: exactly max bytes are written, one
 * more is TOO_LARGE, sticky, and finish frees what was written. */
static void test_cbu_writer_limit_exact(void **state)
{
    (void)state;
    uint8_t data[600];
    memset(data, 0xab, sizeof data);
    /* 599 bytes take a 3-byte head (59 02 57): 602 bytes in all */
    for (size_t max = 602; max >= 601; max--) {
        cbu_wr w;
        cbu_wr_init(&w, max);
        cbu_put_bytes(&w, data, 599);
        uint8_t *buf = NULL;
        size_t len = 0;
        int rc = cbu_wr_finish(&w, &buf, &len);
        if (max == 602) {
            assert_int_equal(rc, CHAIN_OK);
            assert_int_equal(len, 602);
            assert_int_equal(buf[0], 0x59);
            assert_int_equal(buf[601], 0xab);
            free(buf);
        } else {
            assert_int_equal(rc, CHAIN_ERR_TOO_LARGE);
            assert_null(buf);
        }
    }
    cbu_wr w;
    cbu_wr_init(&w, 10);
    cbu_put_bytes(&w, data, 9); /* 1 + 9 = 10: fits */
    cbu_put_uint(&w, 0);        /* the 11th byte */
    cbu_put_uint(&w, 1);        /* sticky: nothing more is written */
    assert_int_equal(w.len, 10);
    uint8_t *buf = (uint8_t *)"unchanged";
    size_t len = 99;
    assert_int_equal(cbu_wr_finish(&w, &buf, &len), CHAIN_ERR_TOO_LARGE);
    assert_string_equal((char *)buf, "unchanged");
    assert_int_equal(len, 99);
    assert_null(w.buf);

    /* an empty heap writer still hands out a buffer; finish without out frees */
    cbu_wr_init(&w, 10);
    assert_int_equal(cbu_wr_finish(&w, &buf, &len), CHAIN_OK);
    assert_non_null(buf);
    assert_int_equal(len, 0);
    free(buf);
    cbu_wr_init(&w, 10);
    cbu_put_cstr(&w, "abc");
    len = 0;
    assert_int_equal(cbu_wr_finish(&w, NULL, &len), CHAIN_OK);
    assert_int_equal(len, 4);
    assert_null(w.buf);
    cbu_wr_init(&w, 10);
    cbu_put_raw(&w, data, 0); /* nothing: no allocation either */
    assert_null(w.buf);
    cbu_wr_free(&w);
}

/* A fixed writer writes into the caller's buffer and never past it. */
static void test_cbu_fixed_writer(void **state)
{
    (void)state;
    uint8_t store[8];
    memset(store, 0xee, sizeof store);
    cbu_wr w;
    cbu_wr_init_fixed(&w, store, 5);
    cbu_put_map(&w, 1);
    cbu_put_key(&w, "ab");
    cbu_put_bool(&w, true);
    cbu_put_bool(&w, false); /* 6th byte: over */
    uint8_t *out = NULL;
    size_t len = 0;
    assert_int_equal(cbu_wr_finish(&w, &out, &len), CHAIN_ERR_TOO_LARGE);
    assert_int_equal(store[5], 0xee); /* nothing past cap */
    cbu_wr_init_fixed(&w, store, 5);
    cbu_put_map(&w, 1);
    cbu_put_key(&w, "ab");
    cbu_put_bool(&w, true);
    assert_int_equal(cbu_wr_finish(&w, &out, &len), CHAIN_OK);
    assert_ptr_equal(out, store);
    const uint8_t want[] = {0xa1, 0x62, 'a', 'b', 0xf5};
    assert_int_equal(len, sizeof want);
    assert_memory_equal(store, want, sizeof want);
    cbu_wr_init_fixed(&w, store, 6);
    cbu_put_uint(&w, 1);
    assert_int_equal(cbu_wr_finish(&w, NULL, &len), CHAIN_OK); /* storage stays the caller's */
    assert_int_equal(len, 1);
    assert_int_equal(store[0], 0x01);
}

/* Names and notes: shortest-form UTF-8, no surrogates, nothing past
 * U+10FFFF, no C0 or C1 controls, no DEL. */
static void test_cbu_utf8_boundaries(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        bool ok;
    } cases[] = {
        {"", true},
        {"plain ascii ~", true},
        {"\x1f", false},             /* C0 control */
        {"\x7f", false},             /* DEL */
        {"\xc2\x80", false},         /* U+0080, C1 control */
        {"\xc2\x9f", false},         /* U+009F, C1 control */
        {"\xc2\xa0", true},          /* U+00A0 */
        {"\xc3\xa9", true},          /* é */
        {"\xc0\x80", false},         /* overlong NUL */
        {"\xc1\xbf", false},         /* overlong U+007F */
        {"\xe0\x9f\xbf", false},     /* overlong U+07FF */
        {"\xe0\xa0\x80", true},      /* U+0800 */
        {"\xed\x9f\xbf", true},      /* U+D7FF */
        {"\xed\xa0\x80", false},     /* U+D800, surrogate */
        {"\xed\xbf\xbf", false},     /* U+DFFF, surrogate */
        {"\xee\x80\x80", true},      /* U+E000 */
        {"\xf0\x8f\xbf\xbf", false}, /* overlong U+FFFF */
        {"\xf0\x90\x80\x80", true},  /* U+10000 */
        {"\xf4\x8f\xbf\xbf", true},  /* U+10FFFF */
        {"\xf4\x90\x80\x80", false}, /* U+110000 */
        {"\xf8\x88\x80\x80\x80", false}, /* a five-byte form */
        {"\x80", false},             /* a lone continuation byte */
        {"\xc3", false},             /* cut after the lead byte */
        {"\xe2\x82", false},         /* cut inside */
        {"\xc3\x28", false},         /* not a continuation */
        {"ok \xe2\x82\xac then \x01", false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        if (cbu_utf8_valid(cases[i].s, strlen(cases[i].s)) != cases[i].ok)
            fail_msg("case %zu: want %s", i, cases[i].ok ? "valid" : "invalid");
    /* an embedded NUL counts (length-delimited input, not C strings) */
    assert_false(cbu_utf8_valid("a\0b", 3));
    assert_true(cbu_utf8_valid("a\0b", 1));
}

/* The first error message is kept; a reader without a message buffer still
 * returns the codes. */
static void test_cbu_first_error_kept(void **state)
{
    (void)state;
    char msg[64];
    cbu_rd r;
    cbu_rd_init(&r, NULL, 0, msg, sizeof msg);
    assert_int_equal(cbu_fail(&r, CHAIN_ERR_INVALID, "first %d", 1), CHAIN_ERR_INVALID);
    assert_int_equal(cbu_fail(&r, CHAIN_ERR_MALFORMED, "second"), CHAIN_ERR_MALFORMED);
    assert_string_equal(msg, "first 1");
    assert_true(r.failed);
    /* re-initialising clears both */
    cbu_rd_init(&r, NULL, 0, msg, sizeof msg);
    assert_string_equal(msg, "");
    assert_false(r.failed);
    cbu_rd_init(&r, NULL, 0, NULL, 0);
    uint64_t v;
    assert_int_equal(cbu_get_uint(&r, &v, "v"), CHAIN_ERR_MALFORMED);
    assert_true(r.failed);
    /* a message longer than the buffer is cut, still terminated */
    char small[8];
    cbu_rd_init(&r, NULL, 0, small, sizeof small);
    assert_int_equal(cbu_get_uint(&r, &v, "a-long-field-name"), CHAIN_ERR_MALFORMED);
    assert_string_equal(small, "a-long-");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cbu_uint_every_width_round_trips),
        cmocka_unit_test(test_cbu_non_shortest_heads_refused),
        cmocka_unit_test(test_cbu_disallowed_items_refused),
        cmocka_unit_test(test_cbu_truncated_refused),
        cmocka_unit_test(test_cbu_wrong_kind_named),
        cmocka_unit_test(test_cbu_bounds_at_limit_and_one_past),
        cmocka_unit_test(test_cbu_map_keys_order_duplicates_length),
        cmocka_unit_test(test_cbu_skip_bounds),
        cmocka_unit_test(test_cbu_writer_limit_exact),
        cmocka_unit_test(test_cbu_fixed_writer),
        cmocka_unit_test(test_cbu_utf8_boundaries),
        cmocka_unit_test(test_cbu_first_error_kept),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
