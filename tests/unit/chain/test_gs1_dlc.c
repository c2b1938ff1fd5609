/* Contract tests for gs1_dl_decompress (chain/gs1.h): compressed GS1 Digital
 * Links read as GS1's reference implementation reads them (vectors made by
 * it, tests/vectors/gs1_dlc_vectors.js), numbers the reference cannot hold
 * read exactly, the size bound at and past its limit, and each malformed
 * input refused with its reason. Inputs beyond the vectors are built here
 * bit by bit, following the format the decoder's opening comment states. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "chain/chain.h"
#include "chain/gs1.h"
#include "gs1_dlc_vectors.h"

#define OUT_MAX (GS1_DL_MAX + 1)

/* ---- a bit writer for hand-built links ------------------------------------------------- */

typedef struct bw {
    char b[8 * GS1_DLC_MAX];
    size_t n;
} bw;

static void put(bw *w, uint64_t v, size_t nbits)
{
    for (size_t i = nbits; i-- > 0;)
        w->b[w->n++] = (char)('0' + ((v >> i) & 1));
}

/* A decimal string as one number in nbits bits (any length: long division by 2). */
static void put_number(bw *w, const char *dec, size_t nbits)
{
    char d[160];
    size_t nd = strlen(dec);
    memcpy(d, dec, nd + 1);
    char bits[600];
    size_t nb = 0;
    for (;;) {
        bool zero = true;
        unsigned rem = 0;
        for (size_t i = 0; i < nd; i++) {
            unsigned v = rem * 10 + (unsigned)(d[i] - '0');
            d[i] = (char)('0' + v / 2);
            rem = v % 2;
            zero = zero && d[i] == '0';
        }
        bits[nb++] = (char)('0' + rem);
        if (zero)
            break;
    }
    assert_true(nb <= nbits);
    for (size_t i = nbits; i-- > 0;)
        w->b[w->n++] = i < nb ? bits[i] : '0';
}

static size_t value_bits(size_t digits)
{
    return (size_t)ceil((double)digits * log(10.0) / log(2.0) + 0.01);
}

static void put_ai(bw *w, const char *ai)
{
    for (const char *p = ai; *p; p++)
        put(w, (uint64_t)(*p - '0'), 4);
}

/* An X value (AI 10/21: 5 length bits) in encoding 3 (base64url characters). */
static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
static void put_b64chars(bw *w, const char *s)
{
    for (const char *p = s; *p; p++)
        put(w, (uint64_t)(strchr(b64url, *p) - b64url), 6);
}

static void put_x(bw *w, const char *s)
{
    put(w, 3, 3);
    put(w, strlen(s), 5);
    put_b64chars(w, s);
}

static const char hexu[] = "0123456789ABCDEF";

/* A non-GS1 pair: F, 7-bit key length, key, encoding, 7-bit value length, value. */
static void put_pair(bw *w, const char *key, unsigned enc, const char *val)
{
    put(w, 0xF, 4);
    put(w, strlen(key), 7);
    put_b64chars(w, key);
    put(w, enc, 3);
    put(w, strlen(val), 7);
    for (const char *p = val; *p; p++)
        if (enc == 3)
            put_b64chars(w, (char[]){*p, 0});
        else if (enc == 4)
            put(w, (uint64_t)(unsigned char)*p, 7);
        else
            put(w, (uint64_t)(strchr(hexu, *p) - hexu), 4);
}

static const char *GTIN = "09520123456788";

static void put_gtin(bw *w)
{
    put_ai(w, "01");
    put_number(w, GTIN, value_bits(14));
}

/* "/" + the bits as base64url, zero-padded to a whole character. */
static void to_path(char *out, const bw *w)
{
    size_t k = 0;
    out[k++] = '/';
    for (size_t i = 0; i < w->n; i += 6) {
        unsigned v = 0;
        for (size_t j = 0; j < 6; j++)
            v = v * 2 + (i + j < w->n && w->b[i + j] == '1');
        out[k++] = b64url[v];
    }
    out[k] = '\0';
}

static int decompress(char *out, const char *path, char *err)
{
    return gs1_dl_decompress(out, OUT_MAX, path, strlen(path), err, 160);
}

static void expect_refused(const char *path, const char *why)
{
    char out[OUT_MAX], err[160] = "";
    strcpy(out, "unchanged");
    assert_int_equal(decompress(out, path, err), -1);
    if (!strstr(err, why))
        fail_msg("%s: error '%s' does not say '%s'", path, err, why);
}

/* ---- the reference's vectors ------------------------------------------------------------ */

static void test_reference_vectors(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof dlc_vectors / sizeof dlc_vectors[0]; i++) {
        const dlc_vector *v = &dlc_vectors[i];
        char out[OUT_MAX], err[160] = "";
        int n = decompress(out, v->compressed, err);
        if (n < 0 || strcmp(out, v->expect) != 0)
            fail_msg("%s: %s → '%s' (%s), the reference reads '%s'", v->name, v->compressed,
                     n < 0 ? "" : out, err, v->expect);
        assert_int_equal((size_t)n, strlen(out));
    }
}

/* What the decoder writes, the resolver's own parser reads as the same unit. */
static void test_decompressed_label_parses(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof dlc_vectors / sizeof dlc_vectors[0]; i++) {
        const dlc_vector *v = &dlc_vectors[i];
        if (strncmp(v->expect, "/01/", 4) != 0 || !strstr(v->expect, "/21/"))
            continue;
        char out[OUT_MAX], err[160];
        assert_true(decompress(out, v->compressed, err) > 0);
        gs1_link l;
        if (gs1_parse_unit(&l, out, strlen(out), err, sizeof err) != 0)
            fail_msg("%s: '%s' does not parse: %s", v->name, out, err);
    }
}

/* ---- exact numbers ------------------------------------------------------------------------ */

static void test_sscc_above_2_53_exact(void **state)
{
    (void)state;
    bw w = {.n = 0};
    put_ai(&w, "00");
    put_number(&w, "309506000134350005", value_bits(18)); /* > 2^53: doubles lose it */
    char path[GS1_DLC_MAX + 2], out[OUT_MAX], err[160];
    to_path(path, &w);
    assert_int_equal(decompress(out, path, err), 22);
    assert_string_equal(out, "/00/309506000134350005");
}

static void test_numeric_serial_20_digits_exact(void **state)
{
    (void)state;
    bw w = {.n = 0};
    put(&w, 0x0C, 8); /* (01)(21) */
    put_number(&w, GTIN, value_bits(14));
    put(&w, 0, 3); /* encoding 0: digits */
    put(&w, 20, 5);
    put_number(&w, "98765432109876543210", value_bits(20)); /* 67 bits */
    char path[GS1_DLC_MAX + 2], out[OUT_MAX], err[160];
    to_path(path, &w);
    assert_true(decompress(out, path, err) > 0);
    assert_string_equal(out, "/01/09520123456788/21/98765432109876543210");
}

/* ---- the size bound -------------------------------------------------------------------------- */

/* A link of exactly `chars` base64url characters: GTIN + serial, then pairs
 * whose last one is sized so the records end in the last character. */
static void build_of_size(char *path, size_t chars)
{
    const size_t lo = 6 * (chars - 1) + 1, hi = 6 * chars;
    for (size_t vlen = 1; vlen <= 127; vlen++)
        for (unsigned enc = 1; enc <= 4; enc++) {
            if (enc == 2)
                continue;
            bw w = {.n = 0};
            put(&w, 0x0C, 8);
            put_number(&w, GTIN, value_bits(14));
            put_x(&w, "S1");
            char big[128];
            memset(big, 'a', 127);
            big[127] = '\0';
            for (int k = 0; k < 5 && w.n + 1000 < lo; k++)
                put_pair(&w, (char[]){'p', (char)('0' + k), 0}, 4, big);
            char v[128];
            memset(v, enc == 1 ? 'A' : 'b', vlen);
            v[vlen] = '\0';
            put_pair(&w, "z", enc, v);
            if (w.n >= lo && w.n <= hi && hi - w.n <= 8) {
                to_path(path, &w);
                assert_int_equal(strlen(path), chars + 1);
                return;
            }
        }
    fail_msg("no link of %zu characters found", chars);
}

static void test_size_at_limit_accepted(void **state)
{
    (void)state;
    char path[GS1_DLC_MAX + 8], out[4096], err[160] = "";
    build_of_size(path, GS1_DLC_MAX);
    int n = gs1_dl_decompress(out, sizeof out, path, strlen(path), err, sizeof err);
    if (n < 0)
        fail_msg("%s", err);
    assert_non_null(strstr(out, "/01/09520123456788/21/S1?p0="));
}

static void test_size_past_limit_refused(void **state)
{
    (void)state;
    char path[GS1_DLC_MAX + 8], out[4096], err[160] = "";
    build_of_size(path, GS1_DLC_MAX + 1);
    assert_int_equal(gs1_dl_decompress(out, sizeof out, path, strlen(path), err, sizeof err), -1);
    assert_non_null(strstr(err, "base64url characters"));
}

static void test_output_too_small_refused(void **state)
{
    (void)state;
    char out[20], err[160] = "";
    const char *p = dlc_vectors[0].compressed;
    assert_int_equal(gs1_dl_decompress(out, sizeof out, p, strlen(p), err, sizeof err), -1);
    assert_non_null(strstr(err, "longer than"));
}

/* ---- refusals ------------------------------------------------------------------------------ */

static void test_not_base64url_refused(void **state)
{
    (void)state;
    expect_refused("/DBFRJydaKAow.Q", "not base64url");
    expect_refused("/DBFRJydaKAow%51", "not base64url");
    expect_refused("/", "1 to 256");
    expect_refused("", "1 to 256");
}

static void test_truncated_refused(void **state)
{
    (void)state;
    /* "/DBFRJydaKAowOQ" is (01)(21)12345; cut inside the serial's value */
    expect_refused("/DBFRJydaKAo", "truncated");
    expect_refused("/DBFRJyda", "truncated"); /* inside the GTIN */
}

static void test_unsupported_ai_refused(void **state)
{
    (void)state;
    bw w = {.n = 0};
    put_gtin(&w);
    put_ai(&w, "22"); /* consumer product variant: not read here */
    put_x(&w, "V1");
    char path[GS1_DLC_MAX + 2];
    to_path(path, &w);
    expect_refused(path, "AI (22…) is not one");
    w.n = 0;
    put(&w, 0x1F, 8); /* (01)(10)(15): 15 is not read here */
    put_number(&w, GTIN, value_bits(14));
    to_path(path, &w);
    expect_refused(path, "sequence code 1F");
    w.n = 0;
    put(&w, 0xAB, 8); /* no such code */
    put(&w, 0, 16);
    to_path(path, &w);
    expect_refused(path, "sequence code AB");
}

static void test_check_digits_refused(void **state)
{
    (void)state;
    bw w = {.n = 0};
    put(&w, 0x0C, 8);
    put_number(&w, "09520123456789", value_bits(14)); /* wrong check digit */
    put_x(&w, "S1");
    char path[GS1_DLC_MAX + 2];
    to_path(path, &w);
    expect_refused(path, "(check digit)");
    w.n = 0;
    put_ai(&w, "00");
    put_number(&w, "309506000134350006", value_bits(18));
    to_path(path, &w);
    expect_refused(path, "AI (00)");
    /* partially compressed, the uncompressed key wrong */
    expect_refused("/01/09520123456789/Fz_AohQ6vA", "valid check digit");
    expect_refused("/02/09520123456788/Fz_AohQ6vA", "valid check digit");
    expect_refused("/01/09520123456788/x/Fz_AohQ6vA", "valid check digit");
}

static void test_primary_keys_refused(void **state)
{
    (void)state;
    bw w = {.n = 0};
    put_ai(&w, "21");
    put_x(&w, "S1");
    char path[GS1_DLC_MAX + 2];
    to_path(path, &w);
    expect_refused(path, "exactly one primary key");
    w.n = 0;
    put_gtin(&w);
    put_ai(&w, "00");
    put_number(&w, "309506000134350005", value_bits(18));
    to_path(path, &w);
    expect_refused(path, "exactly one primary key");
    w.n = 0;
    put_gtin(&w);
    put_gtin(&w);
    to_path(path, &w);
    expect_refused(path, "appears twice");
    w.n = 0;
    put_ai(&w, "00");
    put_number(&w, "309506000134350005", value_bits(18));
    put_ai(&w, "21");
    put_x(&w, "S1");
    to_path(path, &w);
    expect_refused(path, "takes no lot");
}

static void test_bad_values_refused(void **state)
{
    (void)state;
    char path[GS1_DLC_MAX + 2];
    bw w = {.n = 0};
    put(&w, 0x0C, 8);
    put_number(&w, GTIN, value_bits(14));
    put(&w, 5, 3); /* encoding 5 does not exist */
    put(&w, 2, 5);
    put(&w, 0, 16);
    to_path(path, &w);
    expect_refused(path, "unknown encoding");
    w.n = 0;
    put(&w, 0x0C, 8);
    put_number(&w, GTIN, value_bits(14));
    put(&w, 3, 3);
    put(&w, 21, 5); /* a serial of 21 characters: one past AI 21's 20 */
    for (int i = 0; i < 21; i++)
        put(&w, 1, 6);
    to_path(path, &w);
    expect_refused(path, "too long");
    w.n = 0;
    put(&w, 0x0C, 8);
    put_number(&w, GTIN, value_bits(14));
    put(&w, 4, 3);
    put(&w, 2, 5);
    put(&w, 'a', 7);
    put(&w, ' ', 7); /* a space is not in AI 82 */
    to_path(path, &w);
    expect_refused(path, "not a valid value");
    w.n = 0;
    put(&w, 0x0C, 8);
    put_number(&w, GTIN, value_bits(14));
    put_x(&w, "S1");
    put_pair(&w, "k", 4, "a\nb");
    to_path(path, &w);
    expect_refused(path, "control character");
    w.n = 0;
    put(&w, 0x0C, 8);
    put_number(&w, GTIN, value_bits(14));
    put_x(&w, "S1");
    put_pair(&w, "17", 3, "v"); /* a key of digits would be an AI */
    to_path(path, &w);
    expect_refused(path, "all digits");
    w.n = 0;
    put(&w, 0x0C, 8);
    put_number(&w, GTIN, value_bits(14));
    put(&w, 0, 3);
    put(&w, 2, 5);
    put_number(&w, "127", value_bits(2)); /* 3 digits where 2 were declared */
    to_path(path, &w);
    expect_refused(path, "AI (21)");
}

static void test_pairs_bound(void **state)
{
    (void)state;
    char path[GS1_DLC_MAX + 2], out[OUT_MAX], err[160];
    bw w = {.n = 0};
    put(&w, 0x0C, 8);
    put_number(&w, GTIN, value_bits(14));
    put_x(&w, "S1");
    for (int k = 0; k < GS1_DLC_PAIRS_MAX; k++)
        put_pair(&w, (char[]){'k', (char)('0' + k), 0}, 3, "v");
    to_path(path, &w);
    assert_true(decompress(out, path, err) > 0);
    assert_non_null(strstr(out, "&k7=v"));
    put_pair(&w, "k8", 3, "v"); /* one more */
    to_path(path, &w);
    expect_refused(path, "more than 8");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reference_vectors),
        cmocka_unit_test(test_decompressed_label_parses),
        cmocka_unit_test(test_sscc_above_2_53_exact),
        cmocka_unit_test(test_numeric_serial_20_digits_exact),
        cmocka_unit_test(test_size_at_limit_accepted),
        cmocka_unit_test(test_size_past_limit_refused),
        cmocka_unit_test(test_output_too_small_refused),
        cmocka_unit_test(test_not_base64url_refused),
        cmocka_unit_test(test_truncated_refused),
        cmocka_unit_test(test_unsupported_ai_refused),
        cmocka_unit_test(test_check_digits_refused),
        cmocka_unit_test(test_primary_keys_refused),
        cmocka_unit_test(test_bad_values_refused),
        cmocka_unit_test(test_pairs_bound),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
