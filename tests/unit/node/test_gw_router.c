/* Pure gateway helpers: the route matcher (404 / 405 / captures), region
 * hints, percent-decoding, the chain error → HTTP status table, rate limits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "node/gw_priv.h"

static void h(gw_req *r)
{
    (void)r;
}

/* The same shapes as the real table in gw_api.c. */
static const gw_route table[] = {
    {GW_GET, "/01/*/21/*", h, "resolve"},
    {GW_GET, "/01/*/10/*/21/*", h, "resolve_lot"},
    {GW_GET, "/api/v1/units/*/*", h, "unit"},
    {GW_GET, "/api/v1/units/*/*/label.svg", h, "label_svg"},
    {GW_GET, "/api/v1/tx/*", h, "tx_get"},
    {GW_POST, "/api/v1/tx", h, "tx_post"},
    {GW_GET, "/api/v1/head", h, "head"},
};
#define N (sizeof table / sizeof table[0])

static int match(const char *path, unsigned method, size_t *idx, const char *p[4], size_t pl[4],
                 unsigned *allowed)
{
    return gw_route_match(table, N, method, path, strlen(path), idx, p, pl, allowed);
}

static void test_route_captures_segments(void **st)
{
    (void)st;
    size_t idx;
    const char *p[4];
    size_t pl[4];
    unsigned allowed = 0;
    assert_int_equal(match("/01/09506000123455/21/AB%2FC", GW_GET, &idx, p, pl, &allowed),
                     GW_MATCH_OK);
    assert_string_equal(table[idx].name, "resolve");
    assert_int_equal(pl[0], 14);
    assert_memory_equal(p[0], "09506000123455", 14);
    assert_int_equal(pl[1], 6);
    assert_memory_equal(p[1], "AB%2FC", 6);
    assert_null(p[2]);
    assert_int_equal(match("/01/1/10/L1/21/S", GW_GET, &idx, p, pl, &allowed), GW_MATCH_OK);
    assert_string_equal(table[idx].name, "resolve_lot");
    assert_int_equal(match("/api/v1/units/1/2/label.svg", GW_GET, &idx, p, pl, &allowed),
                     GW_MATCH_OK);
    assert_string_equal(table[idx].name, "label_svg");
}

static void test_route_unknown_is_not_found(void **st)
{
    (void)st;
    size_t idx;
    const char *p[4];
    size_t pl[4];
    unsigned allowed = 0;
    const char *bad[] = {"/",
                         "/01/1/21",
                         "/01/1/21/",
                         "/01//21/x",
                         "/api/v1/head/",
                         "/api/v1/units/1/2/3",
                         "/api/v1/headx",
                         "/api/v1/tx/a/b",
                         ""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(match(bad[i], GW_GET, &idx, p, pl, &allowed), GW_MATCH_NOT_FOUND);
}

static void test_route_wrong_method_names_allowed(void **st)
{
    (void)st;
    size_t idx;
    const char *p[4];
    size_t pl[4];
    unsigned allowed = 0;
    assert_int_equal(match("/api/v1/tx", GW_GET, &idx, p, pl, &allowed), GW_MATCH_METHOD);
    assert_int_equal(allowed, GW_POST);
    assert_int_equal(match("/api/v1/head", GW_POST, &idx, p, pl, &allowed), GW_MATCH_METHOD);
    assert_int_equal(allowed, GW_GET);
}

static void test_region_hint_normalized_or_refused(void **st)
{
    (void)st;
    char out[CHAIN_REGION_MAX + 1];
    assert_true(gw_region_norm(out, "de", 2));
    assert_string_equal(out, "DE");
    assert_true(gw_region_norm(out, "DE-BY", 5));
    assert_string_equal(out, "DE-BY");
    assert_true(gw_region_norm(out, "fr-75", 5));
    assert_string_equal(out, "FR-75");
    const char *bad[] = {"", "D", "DEU", "D1", "DE_BY", "DE-", "DE-BAYE", "<s>", "12"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_false(gw_region_norm(out, bad[i], strlen(bad[i])));
}

static void test_pct_decode_bounded(void **st)
{
    (void)st;
    char out[8];
    assert_int_equal(chain_pct_decode(out, sizeof out, "a%2Fb", 5), 3);
    assert_string_equal(out, "a/b");
    assert_int_equal(chain_pct_decode(out, sizeof out, "%", 1), -1);
    assert_int_equal(chain_pct_decode(out, sizeof out, "%4", 2), -1);
    assert_int_equal(chain_pct_decode(out, sizeof out, "%zz", 3), -1);
    assert_int_equal(chain_pct_decode(out, sizeof out, "%00", 3), -1); /* no NUL smuggling */
    assert_int_equal(chain_pct_decode(out, sizeof out, "12345678", 8), -1);
    assert_int_equal(chain_pct_decode(out, sizeof out, "1234567", 7), 7);
}

/* The gateway's path: a captured route segment is decoded by gw_param with
 * the one decoder, which refuses %00 (a NUL would cut the C string short). */
static void test_param_decoded_nul_refused(void **st)
{
    (void)st;
    const char *p[4];
    size_t pl[4], idx;
    unsigned allowed = 0;
    assert_int_equal(match("/01/09506000123455/21/AB%2FC", GW_GET, &idx, p, pl, &allowed),
                     GW_MATCH_OK);
    gw_req r;
    memset(&r, 0, sizeof r);
    r.nparams = 2;
    for (size_t i = 0; i < 2; i++) {
        r.param[i] = p[i];
        r.param_len[i] = pl[i];
    }
    char out[GS1_SERIAL_MAX + 1];
    assert_true(gw_param(&r, 1, out, sizeof out));
    assert_string_equal(out, "AB/C");
    assert_false(gw_param(&r, 2, out, sizeof out)); /* no such segment */
    assert_int_equal(match("/01/09506000123455/21/AB%00C", GW_GET, &idx, p, pl, &allowed),
                     GW_MATCH_OK);
    r.param[1] = p[1];
    r.param_len[1] = pl[1];
    assert_false(gw_param(&r, 1, out, sizeof out));
    /* at the limit: 20 characters fit a serial buffer, 21 do not */
    const char *s20 = "ABCDEFGHIJKLMNOPQRST", *s21 = "ABCDEFGHIJKLMNOPQRSTU";
    r.param[1] = s20;
    r.param_len[1] = 20;
    assert_true(gw_param(&r, 1, out, sizeof out));
    r.param[1] = s21;
    r.param_len[1] = 21;
    assert_false(gw_param(&r, 1, out, sizeof out));
}

static void test_status_mapping(void **st)
{
    (void)st;
    assert_int_equal(gw_status_of_chain_err(CHAIN_ERR_NOT_FOUND), 404);
    assert_int_equal(gw_status_of_chain_err(CHAIN_ERR_MALFORMED), 400);
    assert_int_equal(gw_status_of_chain_err(CHAIN_ERR_NON_CANONICAL), 400);
    assert_int_equal(gw_status_of_chain_err(CHAIN_ERR_TOO_LARGE), 413);
    int conflict[] = {CHAIN_ERR_BAD_STATE,      CHAIN_ERR_NOT_OWNER,
                      CHAIN_ERR_STALE_NONCE,    CHAIN_ERR_DUPLICATE_UNIT,
                      CHAIN_ERR_DUPLICATE_TX,   CHAIN_ERR_FLAGGED,
                      CHAIN_ERR_NOT_HOLDER,     CHAIN_ERR_DUPLICATE_PARTICIPANT,
                      CHAIN_ERR_DUPLICATE_NODE, CHAIN_ERR_PACKED,
                      CHAIN_ERR_EMPTY_PARENT,   CHAIN_ERR_PACK_DEPTH,
                      CHAIN_ERR_PACK_FULL};
    for (size_t i = 0; i < sizeof conflict / sizeof conflict[0]; i++)
        assert_int_equal(gw_status_of_chain_err(conflict[i]), 409);
    int unproc[] = {
        CHAIN_ERR_BAD_SIGNATURE,    CHAIN_ERR_WRONG_CHAIN,       CHAIN_ERR_WRONG_ROLE,
        CHAIN_ERR_UNKNOWN_SIGNER,   CHAIN_ERR_UNKNOWN_UNIT,      CHAIN_ERR_UNKNOWN_PARTICIPANT,
        CHAIN_ERR_WARRANTY_EXPIRED, CHAIN_ERR_WARRANTY_INACTIVE, CHAIN_ERR_BAD_CLAIM_CODE,
        CHAIN_ERR_BAD_GTIN,         CHAIN_ERR_INVALID,           CHAIN_ERR_REVOKED_SIGNER,
        CHAIN_ERR_BAD_SSCC,         CHAIN_ERR_PACK_CYCLE,        CHAIN_ERR_UNKNOWN_PARENT};
    for (size_t i = 0; i < sizeof unproc / sizeof unproc[0]; i++)
        assert_int_equal(gw_status_of_chain_err(unproc[i]), 422);
    assert_int_equal(gw_status_of_chain_err(CHAIN_ERR_STORAGE), 500);
    /* every code has an answer in 2xx..5xx */
    for (int e = 0; e < CHAIN_ERR__COUNT; e++) {
        unsigned s = gw_status_of_chain_err(e);
        assert_true(s >= 200 && s < 600);
    }
}

static void test_rate_limit_per_client(void **st)
{
    (void)st;
    gw_rate *r = gw_rate_new(10, 20);
    assert_non_null(r);
    uint8_t a[GW_CLIENT_LEN] = {1, 2, 3}, b[GW_CLIENT_LEN] = {9, 8, 7};
    int ok = 0;
    for (int i = 0; i < 100; i++)
        ok += gw_rate_take(r, a, 1, 1000);
    assert_int_equal(ok, 20);                 /* the burst, then refused */
    assert_true(gw_rate_take(r, b, 1, 1000)); /* another client is untouched */
    assert_false(gw_rate_take(r, a, 1, 1050));
    assert_true(gw_rate_take(r, a, 1, 1100)); /* 10/s refills one per 100 ms */
    gw_rate_free(r);
    gw_rate *off = gw_rate_new(0, 0);
    for (int i = 0; i < 1000; i++)
        assert_true(gw_rate_take(off, a, 1, 1000));
    gw_rate_free(off);
}

static void test_rate_retry_after_says_when(void **st)
{
    (void)st;
    gw_rate *r = gw_rate_new(2, 3); /* 2/s, burst 3 */
    uint8_t a[GW_CLIENT_LEN] = {0};
    a[8] = 5;
    uint64_t retry = 0;
    for (int i = 0; i < 3; i++) /* exactly the burst */
        assert_true(gw_rate_take_retry(r, a, 1, 1000, &retry));
    assert_false(gw_rate_take_retry(r, a, 1, 1000, &retry)); /* one past it */
    assert_true(retry >= 500 && retry <= 501);               /* one token per 500 ms */
    assert_false(gw_rate_take_retry(r, a, 4, 3000, &retry)); /* over the burst: never */
    assert_int_equal(retry, UINT64_MAX);
    gw_rate_free(r);
    /* one an hour: the first passes, the second waits the hour */
    gw_rate *slow = gw_rate_new(1.0 / 3600, 1);
    assert_true(gw_rate_take_retry(slow, a, 1, 1000, &retry));
    assert_false(gw_rate_take_retry(slow, a, 1, 2000, &retry));
    assert_true(retry > 3590000 && retry <= 3600001);
    assert_true(gw_rate_take(slow, a, 1, 1000 + 3600000));
    gw_rate_free(slow);
}

static void test_rate_table_bounded_under_many_clients(void **st)
{
    (void)st;
    gw_rate *r = gw_rate_new(1, 1);
    uint8_t c[GW_CLIENT_LEN] = {0};
    /* far more clients than slots: every fresh client still gets its first token */
    for (uint32_t i = 0; i < 100000; i++) {
        memcpy(c, &i, sizeof i);
        memcpy(c + 8, &i, sizeof i);
        c[5] = (uint8_t)(i * 31);
        assert_true(gw_rate_take(r, c, 1, 5000 + i));
    }
    gw_rate_free(r);
}

static void test_buf_html_escapes(void **st)
{
    (void)st;
    gw_buf b = {0};
    gw_buf_html(&b, "<a href=\"x\">'&'</a>");
    assert_string_equal(b.p, "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
    gw_buf_free(&b);
    gw_buf c = {.max = 4};
    gw_buf_puts(&c, "12345");
    assert_true(c.failed);
    gw_buf_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_route_captures_segments),
        cmocka_unit_test(test_route_unknown_is_not_found),
        cmocka_unit_test(test_route_wrong_method_names_allowed),
        cmocka_unit_test(test_region_hint_normalized_or_refused),
        cmocka_unit_test(test_pct_decode_bounded),
        cmocka_unit_test(test_param_decoded_nul_refused),
        cmocka_unit_test(test_status_mapping),
        cmocka_unit_test(test_rate_limit_per_client),
        cmocka_unit_test(test_rate_retry_after_says_when),
        cmocka_unit_test(test_rate_table_bounded_under_many_clients),
        cmocka_unit_test(test_buf_html_escapes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
