/* Contract tests for chain/gs1.h: GTIN check digits, AI 82 serials, unit parsing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "chain/chain.h"
#include "chain/gs1.h"

static void test_gtin_gs1_examples(void **state)
{
    (void)state;
    assert_true(gs1_gtin_valid("09506000134352", 14));
    assert_false(gs1_gtin_valid("09506000134353", 14));
    assert_true(gs1_gtin_valid("00012345600012", 14));
    assert_int_equal(gs1_check_digit("09506000134352", 14), '2');
}

static void test_gtin_rejects_wrong_length_and_letters(void **state)
{
    (void)state;
    assert_false(gs1_gtin_valid("0950600013435", 13));
    assert_false(gs1_gtin_valid("0950600013435A", 14));
    assert_false(gs1_gtin_valid("", 0));
}

static void test_sscc_check_digit(void **state)
{
    (void)state;
    assert_true(gs1_sscc_valid("309506000134350005", 18));
    assert_true(gs1_sscc_valid("009506000134350004", 18));
    assert_false(gs1_sscc_valid("309506000134350006", 18));  /* check digit */
    assert_false(gs1_sscc_valid("30950600013435000", 17));   /* one short */
    assert_false(gs1_sscc_valid("3095060001343500050", 19)); /* one long */
    assert_false(gs1_sscc_valid("30950600013435000A", 18));
    assert_false(gs1_sscc_valid("", 0));
}

static void test_gtin_normalize_pads_gtin13(void **state)
{
    (void)state;
    char out[15];
    assert_int_equal(gs1_gtin_normalize(out, "9506000134352", 13), 0);
    assert_string_equal(out, "09506000134352");
    strcpy(out, "unchanged");
    assert_int_equal(gs1_gtin_normalize(out, "9506000134353", 13), -1);
    assert_string_equal(out, "unchanged");
    assert_int_equal(gs1_gtin_normalize(out, "123", 3), -1);
}

static void test_serial_charset(void **state)
{
    (void)state;
    assert_true(gs1_serial_valid("AB12", 4));
    assert_true(gs1_serial_valid("a-b_c.d/e%f", 11));
    assert_false(gs1_serial_valid("AB 12", 5));  /* space is not in AI 82 */
    assert_false(gs1_serial_valid("AB\x80", 3)); /* no 8-bit characters */
    assert_false(gs1_serial_valid("", 0));
    assert_false(gs1_serial_valid("012345678901234567890", 21)); /* one more than 20 */
    assert_true(gs1_serial_valid("01234567890123456789", 20));
}

static void test_parse_gtin_slash_serial(void **state)
{
    (void)state;
    gs1_link l;
    char err[128];
    assert_int_equal(gs1_parse_unit(&l, "09506000134352/AB12", 19, err, sizeof err), 0);
    assert_string_equal(l.id.gtin, "09506000134352");
    assert_string_equal(l.id.serial, "AB12");
}

static void test_parse_digital_link(void **state)
{
    (void)state;
    gs1_link l;
    char err[128];
    const char *u = "https://id.example.com/01/09506000134352/10/L1/21/AB%2F12?17=271231&sig=abc_-";
    assert_int_equal(gs1_parse_unit(&l, u, strlen(u), err, sizeof err), 0);
    assert_string_equal(l.id.gtin, "09506000134352");
    assert_string_equal(l.id.serial, "AB/12");
    assert_string_equal(l.lot, "L1");
    assert_string_equal(l.expiry, "271231");
    assert_string_equal(l.sig, "abc_-");
}

static void test_parse_element_string(void **state)
{
    (void)state;
    gs1_link l;
    char err[128];
    const char *u = "(01)09506000134352(21)AB12(10)LOT7";
    assert_int_equal(gs1_parse_unit(&l, u, strlen(u), err, sizeof err), 0);
    assert_string_equal(l.id.serial, "AB12");
    assert_string_equal(l.lot, "LOT7");
}

static void test_parse_refuses_garbage_with_reason(void **state)
{
    (void)state;
    gs1_link l;
    char err[128];
    const char *bad[] = {
        "09506000134353/AB12",             /* check digit */
        "09506000134352/",                 /* empty serial */
        "09506000134352/AB 12",            /* charset */
        "/01/09506000134352",              /* no serial */
        "/01/09506000134352/21/AB%2",      /* truncated escape */
        "/01/09506000134352/21/X?17=2712", /* short expiry */
        "(01)09506000134352",              /* element string without 21 */
        "(01",                             /* unclosed */
        "nonsense",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        assert_int_equal(gs1_parse_unit(&l, bad[i], strlen(bad[i]), err, sizeof err), -1);
        assert_true(strlen(err) > 0);
    }
    assert_non_null(strstr(err, "GTIN/SERIAL"));
    char big[GS1_DL_MAX + 2];
    memset(big, 'A', sizeof big);
    assert_int_equal(gs1_parse_unit(&l, big, sizeof big, err, sizeof err), -1);
    assert_non_null(strstr(err, "longer"));
}

/* Each refusal of the Digital Link and element-string parsers names what is
 * wrong; what is ignored (other query parameters) stays ignored. */
static void test_parse_refusals_named(void **state)
{
    (void)state;
    static const struct {
        const char *in, *want;
    } cases[] = {
        {"https://id.example/02/09506000134352/21/A", "gtin: 'https:'"},
        {"/01/09506000134352/21", "AI '21' has no value"},
        {"/01/09506000134352/22/X", "path AI '22' is not supported"},
        {"/01/09506000134352/10/L1", "no /21/{serial}"},
        {"/01/09506000134352/21/A/10/" "LOT-LONGER-THAN-TWENTY-CHARACTERS", "lot (10)"},
        {"/01/09506000134352/21/A?17=27123x", "expiry (17): '27123x' is not YYMMDD"},
        {"/01/09506000134352/21/A?17", "expiry (17): '' is not YYMMDD"},
        {"/01/09506000134352/21/A?10=" "LOT-LONGER-THAN-TWENTY-CHARACTERS", "lot (10)"},
        {"/01/09506000134352/21/A?region=ABCDEFGHIJKLMNOP", "region: longer than 15"},
        {"(01)09506000134352(21)A(17)2712", "expiry (17): must be YYMMDD"},
        {"(01)09506000134352(21)A(99)X", "AI (99) is not supported"},
        {"(01)09506000134352(21)A(10)" "LOT-LONGER-THAN-TWENTY-CHARACTERS", "lot (10)"},
        {"(01)09506000134353(21)A", "gtin:"},
        {"(01)09506000134352(21)A B", "serial (21)"},
        {"(21)A", "element string needs (01) and (21)"},
        {"(01)09506000134352x(21)A", "gtin:"},
        {"(01)09506000134352(21", "unclosed '('"},
        {"(01)09506000134352 (21)A", "gtin:"},
        /* long values are quoted cut (20 characters, a serial 40), long AIs at 10 */
        {"/01/09506000134352/21/A?17=123456789012345678901234",
         "expiry (17): '12345678901234567890' is not YYMMDD"},
        {"(01)123456789012345678901234(21)A", "'12345678901234567890' is not a GTIN"},
        {"/01/09506000134352/21/ABCDEFGHIJKLMNOPQRSTUVWXYZABCDEFGHIJKLMNOPQRSTUVWXYZ",
         "'ABCDEFGHIJKLMNOPQRSTUVWXYZABCDEFGHIJKLMN' is not 1-20 characters"}, /* 40 */
        {"/01/09506000134352/21/A/123456789012345", "AI '1234567890' has no value"},
        {"/01/09506000134352/21/A/123456789012345/x", "path AI '1234567890' is not supported"},
        {"(01)09506000134352(21)A(123456789012345)x", "AI (1234567890) is not supported"},
    };
    gs1_link l;
    char err[160];
    int bad = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        err[0] = '\0';
        int rc = gs1_parse_unit(&l, cases[i].in, strlen(cases[i].in), err, sizeof err);
        if (rc != -1 || strstr(err, cases[i].want) == NULL) {
            print_error("\"%s\": %d \"%s\", want -1 \"%s\"\n", cases[i].in, rc, err,
                        cases[i].want);
            bad++;
        }
    }
    assert_int_equal(bad, 0);
    /* a sig of GS1_SIG_B64_MAX characters is taken, one more is not */
    char u[64 + GS1_SIG_B64_MAX + 2];
    for (int extra = 0; extra < 2; extra++) {
        int n = snprintf(u, sizeof u, "/01/09506000134352/21/A?sig=");
        memset(u + n, 'Q', (size_t)(GS1_SIG_B64_MAX + extra));
        u[n + GS1_SIG_B64_MAX + extra] = '\0';
        int rc = gs1_parse_unit(&l, u, strlen(u), err, sizeof err);
        assert_int_equal(rc, extra ? -1 : 0);
        if (extra)
            assert_non_null(strstr(err, "sig: longer than"));
        else
            assert_int_equal(strlen(l.sig), GS1_SIG_B64_MAX);
    }
    /* unknown parameters are ignored, a fragment ends the query, a bare key is empty */
    const char *ok = "/01/09506000134352/21/A?x=1&region=DE-BY&foo&17=271231#10=ignored";
    assert_int_equal(gs1_parse_unit(&l, ok, strlen(ok), err, sizeof err), 0);
    assert_string_equal(l.region, "DE-BY");
    assert_string_equal(l.expiry, "271231");
    assert_string_equal(l.lot, "");
    /* digits only, just past '9' too; a NUL is no serial character */
    assert_false(gs1_gtin_valid("0950600013435:", 14));
    assert_false(gs1_sscc_valid("30950600013435000:", 18));
    assert_int_equal(gs1_check_digit("09506000134:52", 14), 0);
    assert_false(gs1_serial_valid("A\0B", 3));
    char g[GS1_GTIN_LEN + 1];
    assert_int_equal(gs1_gtin_normalize(g, "95060002", 8), 0);
    assert_string_equal(g, "00000095060002");
    assert_int_equal(gs1_gtin_normalize(g, "950600013", 9), -1);
    /* no message buffer: still refused */
    assert_int_equal(gs1_parse_unit(&l, "(21)A", 5, NULL, 0), -1);
}

/* The Digital Link path: the one percent decoder refuses %00 here as in the
 * gateway (before, this parser decoded it and only the charset check
 * stopped it); an escaped '/' decodes. */
static void test_parse_percent_escapes(void **state)
{
    (void)state;
    gs1_link l;
    char err[128];
    const char *nul = "/01/09506000134352/21/AB%00C";
    assert_int_equal(gs1_parse_unit(&l, nul, strlen(nul), err, sizeof err), -1);
    assert_non_null(strstr(err, "serial"));
    const char *nul_lot = "/01/09506000134352/21/ABC?10=L%001";
    assert_int_equal(gs1_parse_unit(&l, nul_lot, strlen(nul_lot), err, sizeof err), -1);
    assert_non_null(strstr(err, "lot"));
    const char *ok = "/01/09506000134352/21/A%2fB";
    assert_int_equal(gs1_parse_unit(&l, ok, strlen(ok), err, sizeof err), 0);
    assert_string_equal(l.id.serial, "A/B");
}

static void test_pct_decode_limits(void **state)
{
    (void)state;
    char out[4];
    assert_int_equal(chain_pct_decode(out, sizeof out, "a%41c", 5), 3); /* fills cap exactly */
    assert_string_equal(out, "aAc");
    assert_int_equal(chain_pct_decode(out, sizeof out, "abcd", 4), -1); /* one past */
    assert_int_equal(chain_pct_decode(out, sizeof out, "a\0b", 3), -1); /* raw NUL */
    assert_int_equal(chain_pct_decode(out, sizeof out, "%0", 2), -1);
    assert_int_equal(chain_pct_decode(out, sizeof out, "%g0", 3), -1);
    assert_int_equal(chain_pct_decode(out, 0, "", 0), -1);
    assert_int_equal(chain_pct_decode(out, sizeof out, "", 0), 0);
    assert_string_equal(out, "");
}

/* Each way a unit reference can be wrong, refused with the part named, and the
 * output untouched; and the parts a Digital Link may carry besides the unit. */
static void test_parse_refusals_name_the_part(void **state)
{
    (void)state;
    static const struct {
        const char *in, *want;
    } bad[] = {
        {"", "empty or longer"},
        {"https://id.example/01/09506000134352", "no /21/{serial}"},
        {"https://id.example/01/09506000134352/21", "AI '21' has no value"},
        {"https://id.example/01/09506000134352/22/X/21/A", "path AI '22' is not supported"},
        {"https://id.example/01/09506000134353/21/A", "09506000134353"},
        {"https://id.example/01/09506000134352/21/A?17=2812", "expiry (17)"},
        {"https://id.example/01/09506000134352/21/A?17=28120x", "expiry (17)"},
        {"https://id.example/01/09506000134352/21/A/10/L%20", "lot (10)"},
        {"https://id.example/01/09506000134352/21/A?10=a%20b", "lot (10)"},
        {"https://id.example/01/09506000134352/21/A?region=DE-BAYERN-OBERLAND",
         "region: longer than 15"},
        {"https://id.example/01/09506000134352/21/A B", "serial (21)"},
        {"(01)09506000134352", "needs (01) and (21)"},
        {"(21)A", "needs (01) and (21)"},
        {"(01)09506000134352(21", "unclosed '('"},
        {"(01)09506000134352(22)A", "AI (22) is not supported"},
        {"(01)09506000134352(21)A(17)2812", "expiry (17): must be YYMMDD"},
        {"(01)09506000134352(21)A(10)L 1", "lot (10)"},
        {"(01)09506000134352x(21)A", "09506000134352x"},
        {"09506000134352", "expected GTIN/SERIAL"},
        {"0950600013435/A", "GTIN"},
        {"09506000134352/", "serial"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        gs1_link l;
        memset(&l, 0x5a, sizeof l);
        char err[200] = "";
        if (gs1_parse_unit(&l, bad[i].in, strlen(bad[i].in), err, sizeof err) != -1)
            fail_msg("%s: accepted", bad[i].in);
        if (!strstr(err, bad[i].want))
            fail_msg("%s: \"%s\", want \"%s\"", bad[i].in, err, bad[i].want);
        assert_int_equal(((unsigned char *)&l)[0], 0x5a); /* untouched */
    }
    char sig[GS1_SIG_B64_MAX + 80];
    int n = snprintf(sig, sizeof sig, "https://id.example/01/09506000134352/21/A?sig=");
    memset(sig + n, 'Q', GS1_SIG_B64_MAX + 1);
    sig[n + GS1_SIG_B64_MAX + 1] = '\0';
    gs1_link l;
    char err[200] = "";
    assert_int_equal(gs1_parse_unit(&l, sig, strlen(sig), err, sizeof err), -1);
    assert_non_null(strstr(err, "sig: longer than 128"));
    sig[n + GS1_SIG_B64_MAX] = '\0'; /* exactly GS1_SIG_B64_MAX: taken */
    assert_int_equal(gs1_parse_unit(&l, sig, strlen(sig), err, sizeof err), 0);
    assert_int_equal(strlen(l.sig), GS1_SIG_B64_MAX);
    char nul[] = "09506000134352/A\0B";
    assert_int_equal(gs1_parse_unit(&l, nul, sizeof nul - 1, err, sizeof err), -1);
    assert_non_null(strstr(err, "NUL"));
    /* what a link may carry: lot and expiry in the query, other keys ignored, a fragment ends it */
    const char *ok = "https://id.example/01/09506000134352/21/A?10=L7&17=281231&x=1&region=FR#top";
    assert_int_equal(gs1_parse_unit(&l, ok, strlen(ok), err, sizeof err), 0);
    assert_string_equal(l.lot, "L7");
    assert_string_equal(l.expiry, "281231");
    assert_string_equal(l.region, "FR");
    const char *es = "(01)09506000134352(10)L8(17)290101(21)B";
    assert_int_equal(gs1_parse_unit(&l, es, strlen(es), err, sizeof err), 0);
    assert_string_equal(l.lot, "L8");
    assert_string_equal(l.expiry, "290101");
    assert_string_equal(l.id.serial, "B");
    assert_int_equal(gs1_check_digit("7", 1), 0);
    assert_int_equal(gs1_check_digit("0950600013435x2", 15), 0);
    char out[GS1_GTIN_LEN + 1];
    assert_int_equal(gs1_gtin_normalize(out, "123456789", 9), -1);
    assert_int_equal(gs1_gtin_normalize(out, "95060001", 8),
                     gs1_gtin_valid("00000095060001", 14) ? 0 : -1);
}

/* Found by tests/fuzz/fuzz_gs1 (corpus gs1/crash-expiry-*): an element
 * string's (17) took any six bytes, so a control character or '&' reached the
 * link it formats unescaped. It is six digits, as in a Digital Link query. */
static void test_element_string_expiry_digits_only(void **state)
{
    (void)state;
    gs1_link l;
    char err[160];
    static const char bad[][48] = {"(01)09506000123455(21)S1(10)LOT1(17)2\xcc" "1231",
                                   "(01)09506000123455(21)S1(10)LOT1(17)27123\x0b",
                                   "(01)09506000123455(21)S1(17)27&231", "(01)09506000123455(21)S1(17)2712 1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(gs1_parse_unit(&l, bad[i], strlen(bad[i]), err, sizeof err), -1);
        assert_string_equal(err, "expiry (17): must be YYMMDD");
    }
    const char *ok = "(01)09506000123455(21)S1(17)271231";
    assert_int_equal(gs1_parse_unit(&l, ok, strlen(ok), err, sizeof err), 0);
    assert_string_equal(l.expiry, "271231");
}

static void test_link_format_roundtrip(void **state)
{
    (void)state;
    gs1_link l, back;
    memset(&l, 0, sizeof l);
    strcpy(l.id.gtin, "09506000134352");
    strcpy(l.id.serial, "A/b%1");
    strcpy(l.lot, "L-1");
    strcpy(l.expiry, "271231");
    strcpy(l.sig, "c2lnbmF0dXJl");
    char url[GS1_DL_MAX];
    char err[128];
    int n = gs1_link_format(url, sizeof url, "http://127.0.0.1:8080", &l);
    assert_true(n > 0);
    assert_string_equal(
        url,
        "http://127.0.0.1:8080/01/09506000134352/21/A%2Fb%251?10=L-1&17=271231&sig=c2lnbmF0dXJl");
    assert_int_equal(gs1_parse_unit(&back, url, (size_t)n, err, sizeof err), 0);
    assert_string_equal(back.id.serial, "A/b%1");
    assert_string_equal(back.sig, l.sig);
    char tiny[20];
    assert_int_equal(gs1_link_format(tiny, sizeof tiny, "http://x", &l), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gtin_gs1_examples),
        cmocka_unit_test(test_gtin_rejects_wrong_length_and_letters),
        cmocka_unit_test(test_gtin_normalize_pads_gtin13),
        cmocka_unit_test(test_serial_charset),
        cmocka_unit_test(test_parse_gtin_slash_serial),
        cmocka_unit_test(test_parse_digital_link),
        cmocka_unit_test(test_parse_element_string),
        cmocka_unit_test(test_parse_refuses_garbage_with_reason),
        cmocka_unit_test(test_parse_refusals_named),
        cmocka_unit_test(test_parse_percent_escapes),
        cmocka_unit_test(test_pct_decode_limits),
        cmocka_unit_test(test_parse_refusals_name_the_part),
        cmocka_unit_test(test_link_format_roundtrip),
        cmocka_unit_test(test_sscc_check_digit),
        cmocka_unit_test(test_element_string_expiry_digits_only),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
