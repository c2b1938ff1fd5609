/*
 * test_gw_parse.c — the gateway's parsers of client input (node/gw_parse.h),
 * apart from any connection: the submission body, the report body and the
 * EPCIS query, each with what it accepts and the error it answers. The
 * inputs that tests/fuzz found are replayed here as well as from its corpus.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "node/gateway.h"
#include "node/gw_parse.h"

/* Found by tests/fuzz/fuzz_tx_json (corpus tx_json/oom-*): an application/cbor
 * batch of a few bytes whose element claims a map of 2^30 entries made libcbor
 * allocate gigabytes before anything was checked. The batch is now read by the
 * bounded reader: the claim is refused as malformed, with no allocation. */
static void test_txs_cbor_claimed_size_refused(void **st)
{
    (void)st;
    static const uint8_t bodies[][12] = {
        {0x81, 0xba, 0x40, 0x00, 0x00, 0x00},             /* [map(2^30)] */
        {0x9a, 0x40, 0x00, 0x00, 0x00},                   /* array(2^30) */
        {0x81, 0x5a, 0x40, 0x00, 0x00, 0x00, 0x01},       /* [bstr(2^30)] */
        {0x81, 0x9b, 0, 0, 0, 1, 0, 0, 0, 0},             /* [array(2^32)] */
    };
    static const size_t lens[] = {6, 5, 7, 10};
    for (size_t i = 0; i < 4; i++) {
        gw_perr e;
        assert_null(gw_txs_parse("application/cbor", bodies[i], lens[i], &e));
        assert_true(e.status == 400 || e.status == 413);
    }
}

static void test_txs_cbor_batch_bounds(void **st)
{
    (void)st;
    /* GW_BATCH_MAX empty byte strings: read (each fails later, in submit);
     * one more: 413 */
    uint8_t body[3 + GW_BATCH_MAX + 1];
    for (size_t n = GW_BATCH_MAX; n <= GW_BATCH_MAX + 1; n++) {
        body[0] = 0x99;
        body[1] = (uint8_t)(n >> 8);
        body[2] = (uint8_t)n;
        memset(body + 3, 0x40, n);
        gw_perr e;
        tx_batch *b = gw_txs_parse("application/cbor", body, 3 + n, &e);
        if (n == GW_BATCH_MAX) {
            assert_non_null(b);
            assert_int_equal(b->n, GW_BATCH_MAX);
            assert_true(b->batch);
            assert_ptr_equal(b->items[5].p, body + 3 + 5 + 1); /* after its head */
            assert_int_equal(b->items[5].len, 0);
            gw_txs_free(b);
        } else {
            assert_null(b);
            assert_int_equal(e.status, 413);
            assert_string_equal(e.code, "too_large");
        }
    }
    /* an empty array, an element that is no byte string, bytes after the array */
    static const uint8_t empty[] = {0x80}, notb[] = {0x81, 0x01}, trail[] = {0x81, 0x40, 0x00};
    gw_perr e;
    assert_null(gw_txs_parse("application/cbor", empty, 1, &e));
    assert_int_equal(e.status, 400);
    assert_string_equal(e.code, "malformed");
    assert_null(gw_txs_parse("application/cbor", notb, 2, &e));
    assert_string_equal(e.code, "malformed_cbor");
    assert_null(gw_txs_parse("application/cbor", trail, 3, &e));
    assert_string_equal(e.code, "malformed_cbor");
}

static void test_txs_json_and_media(void **st)
{
    (void)st;
    gw_perr e;
    const char *one = "{\"type\":\"mint\"}";
    tx_batch *b = gw_txs_parse("application/json", (const uint8_t *)one, strlen(one), &e);
    assert_non_null(b);
    assert_int_equal(b->n, 1);
    assert_false(b->batch);
    assert_int_not_equal(b->items[0].err, CHAIN_OK); /* the item carries its own error */
    assert_true(b->items[0].msg[0] != '\0');
    gw_txs_free(b);
    assert_null(gw_txs_parse("application/json", (const uint8_t *)"[]", 2, &e));
    assert_int_equal(e.status, 400);
    assert_null(gw_txs_parse("application/json", (const uint8_t *)"{", 1, &e));
    assert_string_equal(e.code, "malformed_json");
    assert_null(gw_txs_parse("text/plain", (const uint8_t *)"{}", 2, &e));
    assert_int_equal(e.status, 415);
    assert_null(gw_txs_parse("application/json", (const uint8_t *)"", 0, &e));
    assert_string_equal(e.code, "malformed");
}

static void test_report_parse(void **st)
{
    (void)st;
    gw_report r;
    gw_perr e;
    const char *form = "note=seal+broken&unit=09506000123455%2FS1";
    assert_true(gw_report_parse(&r, "application/x-www-form-urlencoded", (const uint8_t *)form,
                                strlen(form), &e));
    assert_true(r.form);
    assert_string_equal(r.link.id.serial, "S1");
    assert_string_equal(r.note, "seal broken");
    const char *bad = "{\"unit\":\"09506000123456/S1\"}"; /* check digit */
    assert_false(gw_report_parse(&r, "application/json", (const uint8_t *)bad, strlen(bad), &e));
    assert_int_equal(e.status, 400);
    assert_true(e.bad_code);
    const char *ctl = "{\"unit\":\"09506000123455/S1\",\"note\":\"a\\u0001b\"}";
    assert_false(gw_report_parse(&r, "application/json", (const uint8_t *)ctl, strlen(ctl), &e));
    assert_int_equal(e.status, 422);
    assert_false(e.bad_code);
    assert_false(gw_report_parse(&r, "text/plain", (const uint8_t *)"x", 1, &e));
    assert_int_equal(e.status, 415);
}

typedef struct kv {
    const char *k[4], *v[4];
} kv;

static const char *get(void *ctx, const char *key)
{
    kv *a = ctx;
    for (int i = 0; i < 4 && a->k[i]; i++)
        if (strcmp(a->k[i], key) == 0)
            return a->v[i];
    return NULL;
}

static void test_epcis_query_parse_and_token(void **st)
{
    (void)st;
    epcis_query q;
    gw_perr e;
    kv a = {{"MATCH_epc", "perPage"},
            {"https://x/01/09506000123455/10/L1,https://x/01/09506000123455/21/S2", "1000"}};
    assert_true(gw_epcis_query_parse(&q, get, &a, &e));
    assert_int_equal(q.nsrc, 2);
    assert_true(q.src[0].lot);
    assert_int_equal(q.per_page, 1000);
    q.i = 0;
    q.seq = 7;
    strcpy(q.serial, "S9");
    char tok[EPCIS_TOKEN_MAX];
    gw_epcis_token_make(tok, &q);
    kv b = {{"MATCH_epc", "nextPageToken"}, {a.v[0], tok}};
    epcis_query back;
    assert_true(gw_epcis_query_parse(&back, get, &b, &e));
    assert_int_equal(back.seq, 7);
    assert_string_equal(back.serial, "S9");
    kv over = {{"MATCH_epc", "perPage"}, {a.v[0], "1001"}};
    assert_false(gw_epcis_query_parse(&q, get, &over, &e));
    assert_string_equal(e.code, "bad_per_page");
    kv none = {{"perPage"}, {"5"}};
    assert_false(gw_epcis_query_parse(&q, get, &none, &e));
    assert_int_equal(e.status, 413);
    assert_string_equal(e.epcis_type, "epcisException:QueryTooComplexException");
}

/* An SSCC's URI names a parent; its cursor names a unit by gtin and serial. */
static void test_epcis_query_parent_and_token(void **st)
{
    (void)st;
    epcis_query q;
    gw_perr e;
    kv a = {{"MATCH_epc"},
            {"https://id.gs1.org/00/309506000134350005,https://x/01/09506000123455/21/S2"}};
    assert_true(gw_epcis_query_parse(&q, get, &a, &e));
    assert_int_equal(q.nsrc, 2);
    assert_true(q.src[0].parent);
    assert_false(q.src[0].lot);
    assert_string_equal(q.src[0].sscc, "309506000134350005");
    assert_false(q.src[1].parent);
    q.i = 0;
    q.seq = 3;
    strcpy(q.gtin, "09506000123455");
    strcpy(q.serial, "A:B/C");
    char tok[EPCIS_TOKEN_MAX];
    gw_epcis_token_make(tok, &q);
    kv b = {{"MATCH_epc", "nextPageToken"}, {a.v[0], tok}};
    epcis_query back;
    assert_true(gw_epcis_query_parse(&back, get, &b, &e));
    assert_int_equal(back.seq, 3);
    assert_string_equal(back.gtin, "09506000123455");
    assert_string_equal(back.serial, "A:B/C");
    /* the longest cursor: a 20-character serial, the 16th value */
    memset(q.serial, 'Z', GS1_SERIAL_MAX);
    q.serial[GS1_SERIAL_MAX] = '\0';
    q.seq = UINT32_MAX;
    gw_epcis_token_make(tok, &q);
    assert_true(strlen(tok) < EPCIS_TOKEN_MAX);
    kv c = {{"MATCH_epc", "nextPageToken"}, {a.v[0], tok}};
    assert_true(gw_epcis_query_parse(&back, get, &c, &e));
    assert_string_equal(back.serial, q.serial);
    /* a unit's cursor naming a unit, a parent's with a bad GTIN: refused */
    q.i = 1;
    gw_epcis_token_make(tok, &q);
    kv d = {{"MATCH_epc", "nextPageToken"}, {a.v[0], tok}};
    assert_false(gw_epcis_query_parse(&back, get, &d, &e));
    assert_string_equal(e.code, "bad_page_token");
    q.i = 0;
    strcpy(q.gtin, "09506000123456");
    gw_epcis_token_make(tok, &q);
    kv f = {{"MATCH_epc", "nextPageToken"}, {a.v[0], tok}};
    assert_false(gw_epcis_query_parse(&back, get, &f, &e));
    /* an SSCC with a wrong check digit, one with more after it, AI 01 and 00 mixed */
    const char *bad[] = {"https://id.gs1.org/00/309506000134350006",
                         "https://id.gs1.org/00/309506000134350005/21/x",
                         "https://id.gs1.org/01/09506000123455/10/00/309506000134350005"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        kv g = {{"MATCH_epc"}, {bad[i]}};
        assert_false(gw_epcis_query_parse(&back, get, &g, &e));
        assert_string_equal(e.code, "bad_epc");
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_txs_cbor_claimed_size_refused),
        cmocka_unit_test(test_txs_cbor_batch_bounds),
        cmocka_unit_test(test_txs_json_and_media),
        cmocka_unit_test(test_report_parse),
        cmocka_unit_test(test_epcis_query_parse_and_token),
        cmocka_unit_test(test_epcis_query_parent_and_token),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
