/*
 * test_formats.c — the field formats of chain.h ("Formats") at their edges:
 * each bounded length exactly at its maximum and one past it, each allowed
 * character class at its first and last member and the characters just
 * outside it, and the structural rules (a region's subdivision, a resolver's
 * scheme and trailing '/', an rp id that is only digits, an origin's path).
 * Also the raw id of a stored transaction (tx_id_raw) on the shapes it
 * refuses, and scan kinds by name.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chain/chain.h"
#include "chain/tx_schema.h"

typedef bool (*valid_fn)(const char *, size_t);

static void check(valid_fn fn, const char *name, const char *s, bool want)
{
    if (fn(s, strlen(s)) != want)
        fail_msg("%s(\"%s\"): want %s", name, s, want ? "valid" : "invalid");
}
#define OK(fn, s)  check(fn, #fn, s, true)
#define BAD(fn, s) check(fn, #fn, s, false)

/* n copies of c after prefix, in a static buffer */
static const char *fill(const char *prefix, char c, size_t n)
{
    static char buf[512];
    size_t p = strlen(prefix);
    assert_true(p + n < sizeof buf);
    memcpy(buf, prefix, p);
    memset(buf + p, c, n);
    buf[p + n] = '\0';
    return buf;
}

static void test_formats_id(void **state)
{
    (void)state;
    OK(chain_id_valid, "a");
    OK(chain_id_valid, "carrier-dhl_2.eu");
    OK(chain_id_valid, "z09");
    OK(chain_id_valid, fill("", 'x', CHAIN_ID_MAX));
    BAD(chain_id_valid, fill("", 'x', CHAIN_ID_MAX + 1));
    BAD(chain_id_valid, "");
    BAD(chain_id_valid, "Acme"); /* upper case */
    BAD(chain_id_valid, "a b");
    BAD(chain_id_valid, "a/b");
    BAD(chain_id_valid, "a`"); /* just below 'a' */
    BAD(chain_id_valid, "a{"); /* just above 'z' */
    BAD(chain_id_valid, "a:"); /* just above '9' */
}

static void test_formats_region_and_market(void **state)
{
    (void)state;
    OK(chain_region_valid, "DE");
    OK(chain_region_valid, "DE-B");
    OK(chain_region_valid, "DE-BY");
    OK(chain_region_valid, "FR-75");
    OK(chain_region_valid, "US-CA9"); /* CHAIN_REGION_MAX */
    BAD(chain_region_valid, "US-CA9X");
    BAD(chain_region_valid, "D");
    BAD(chain_region_valid, "");
    BAD(chain_region_valid, "de");
    BAD(chain_region_valid, "DE-");  /* a dash and nothing */
    BAD(chain_region_valid, "DEX");  /* no dash */
    BAD(chain_region_valid, "DE_BY");
    BAD(chain_region_valid, "DE-by");
    BAD(chain_region_valid, "D1-BY");
    assert_true(tx_market_valid("FR", 2));
    assert_false(tx_market_valid("FRA", 3));
    assert_false(tx_market_valid("F", 1));
    assert_false(tx_market_valid("F@", 2)); /* '@' is just below 'A' */
    assert_false(tx_market_valid("[A", 2)); /* '[' is just above 'Z' */
}

static void test_formats_addr(void **state)
{
    (void)state;
    OK(chain_addr_valid, "tcp://10.0.0.4:7001");
    OK(chain_addr_valid, "!~");
    OK(chain_addr_valid, fill("http://", 'h', CHAIN_ADDR_MAX - 7));
    BAD(chain_addr_valid, fill("http://", 'h', CHAIN_ADDR_MAX - 6));
    BAD(chain_addr_valid, "");
    BAD(chain_addr_valid, "tcp://a b");
    BAD(chain_addr_valid, "tcp://a\x7f");
    BAD(chain_addr_valid, "tcp://\xc3\xa9");
}

static void test_formats_text(void **state)
{
    (void)state;
    OK(chain_text_valid, "");
    OK(chain_text_valid, "Trail shoe \xc3\xa9 \xe2\x82\xac");
    BAD(chain_text_valid, "tab\there");
    BAD(chain_text_valid, "\xff");
}

static void test_formats_resolver(void **state)
{
    (void)state;
    OK(chain_resolver_valid, "https://id.acme.example");
    OK(chain_resolver_valid, "http://localhost:8101");
    OK(chain_resolver_valid, "https://id.acme.example/gs1");
    OK(chain_resolver_valid, fill("https://", 'r', CHAIN_RESOLVER_MAX - 8));
    BAD(chain_resolver_valid, fill("https://", 'r', CHAIN_RESOLVER_MAX - 7));
    BAD(chain_resolver_valid, "https://");        /* no host */
    BAD(chain_resolver_valid, "http://");
    BAD(chain_resolver_valid, "https:/");          /* shorter than a scheme */
    BAD(chain_resolver_valid, "ftp://id.example"); /* another scheme */
    BAD(chain_resolver_valid, "https://id.example/");
    BAD(chain_resolver_valid, "https://id.example?x=1");
    BAD(chain_resolver_valid, "https://id.example#top");
    BAD(chain_resolver_valid, "https://id example");
    BAD(chain_resolver_valid, "https://id.example\x7f");
    BAD(chain_resolver_valid, "");
}

static void test_formats_rp_id(void **state)
{
    (void)state;
    OK(chain_rp_id_valid, "shop.acme.example");
    OK(chain_rp_id_valid, "localhost");
    OK(chain_rp_id_valid, "a");
    OK(chain_rp_id_valid, "x-1.example");
    OK(chain_rp_id_valid, "1.2.3.4a");
    OK(chain_rp_id_valid, fill("", 'a', CHAIN_RP_ID_MAX));
    BAD(chain_rp_id_valid, fill("", 'a', CHAIN_RP_ID_MAX + 1));
    BAD(chain_rp_id_valid, "");
    BAD(chain_rp_id_valid, ".acme.example");
    BAD(chain_rp_id_valid, "acme.example.");
    BAD(chain_rp_id_valid, "127.0.0.1"); /* an IP address */
    BAD(chain_rp_id_valid, "8");
    BAD(chain_rp_id_valid, "Shop.example");
    BAD(chain_rp_id_valid, "shop_example");
    BAD(chain_rp_id_valid, "shop.example:443");
}

static void test_formats_origin(void **state)
{
    (void)state;
    OK(chain_origin_valid, "https://shop.acme.example");
    OK(chain_origin_valid, "http://localhost:8101");
    OK(chain_origin_valid, fill("https://", 'o', CHAIN_ORIGIN_MAX - 8));
    BAD(chain_origin_valid, fill("https://", 'o', CHAIN_ORIGIN_MAX - 7));
    BAD(chain_origin_valid, "https://");
    BAD(chain_origin_valid, "http:/x");
    BAD(chain_origin_valid, "wss://shop.example");
    BAD(chain_origin_valid, "https://shop.example/");
    BAD(chain_origin_valid, "https://shop.example?a");
    BAD(chain_origin_valid, "https://shop.example#a");
    BAD(chain_origin_valid, "https://shop example");
    BAD(chain_origin_valid, "https://shop.example\x7f");
    BAD(chain_origin_valid, "");
}

static void test_formats_expiry(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        bool ok;
    } cases[] = {{"281231", true},  {"280100", true},  {"280131", true},  {"281200", true},
                 {"280001", false}, {"281301", false}, {"280132", false}, {"2812311", false},
                 {"28123", false},  {"28a231", false}, {"", false},       {"28-231", false}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        if (tx_expiry_valid(cases[i].s, strlen(cases[i].s)) != cases[i].ok)
            fail_msg("expiry \"%s\": want %s", cases[i].s, cases[i].ok ? "valid" : "invalid");
}

static void test_formats_pub(void **state)
{
    (void)state;
    uint8_t sk[32], pub[32];
    assert_int_equal(chain_key_generate(sk, pub), CHAIN_OK);
    assert_true(chain_pub_valid(pub));
    uint8_t zero[32] = {0};
    assert_false(chain_pub_valid(zero));
    uint8_t ff[32];
    memset(ff, 0xff, sizeof ff); /* above the field prime: no such point */
    assert_false(chain_pub_valid(ff));
}

static void test_formats_scan_kinds(void **state)
{
    (void)state;
    for (int k = CHAIN_SCAN_SCAN; k <= CHAIN_SCAN_REPORT; k++) {
        const char *name = tx_scan_kind_name(k);
        assert_int_equal(tx_scan_kind_parse(name, strlen(name)), k);
    }
    assert_string_equal(tx_scan_kind_name(CHAIN_SCAN_PROBE), "probe");
    assert_string_equal(tx_scan_kind_name(CHAIN_SCAN_SCAN - 1), "unknown");
    assert_string_equal(tx_scan_kind_name(CHAIN_SCAN_REPORT + 1), "unknown");
    assert_int_equal(tx_scan_kind_parse("scans", 5), -1);
    assert_int_equal(tx_scan_kind_parse("sca", 3), -1);
    assert_int_equal(tx_scan_kind_parse("", 0), -1);
}

/* tx_id_raw hashes a stored transaction without decoding it; whatever does
 * not start like a signed transaction is refused. */
static void test_formats_tx_id_raw_refusals(void **state)
{
    (void)state;
    uint8_t sk[32], pub[32], id[32], raw_id[32];
    assert_int_equal(chain_key_generate(sk, pub), CHAIN_OK);
    chain_tx tx;
    memset(&tx, 0, sizeof tx);
    tx.type = CHAIN_TX_PARTICIPANT_REVOKE;
    strcpy(tx.id, "carrier-x");
    tx.nonce = 1;
    tx.time = 1767225600;
    assert_int_equal(chain_tx_sign(&tx, sk), CHAIN_OK);
    uint8_t *buf;
    size_t len;
    assert_int_equal(chain_tx_encode(&buf, &len, &tx), CHAIN_OK);
    assert_int_equal(chain_tx_id(id, &tx), CHAIN_OK);
    assert_int_equal(tx_id_raw(raw_id, buf, len), CHAIN_OK);
    assert_memory_equal(id, raw_id, 32);
    /* too short to hold the signature entry */
    assert_int_equal(tx_id_raw(raw_id, buf, 1 + 4 + 2 + 64 - 1), CHAIN_ERR_MALFORMED);
    /* another map size, another first key, a signature of another length */
    uint8_t *b = malloc(len);
    assert_non_null(b);
    const size_t offs[] = {0, 2, 5};
    for (size_t i = 0; i < 3; i++) {
        memcpy(b, buf, len);
        b[offs[i]] ^= 0x01;
        assert_int_equal(tx_id_raw(raw_id, b, len), CHAIN_ERR_MALFORMED);
    }
    /* a8: said to carry an "auth" entry, which is not there */
    memcpy(b, buf, len);
    b[0] = 0xa8;
    assert_int_equal(tx_id_raw(raw_id, b, len), CHAIN_ERR_MALFORMED);
    assert_int_equal(tx_id_raw(raw_id, b, 1 + 4 + 2 + 64 + 2), CHAIN_ERR_MALFORMED);
    /* over the size bound */
    assert_int_equal(tx_id_raw(raw_id, buf, (size_t)CHAIN_TX_MAX_BYTES + 1), CHAIN_ERR_MALFORMED);
    free(b);
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_formats_id),
        cmocka_unit_test(test_formats_region_and_market),
        cmocka_unit_test(test_formats_addr),
        cmocka_unit_test(test_formats_text),
        cmocka_unit_test(test_formats_resolver),
        cmocka_unit_test(test_formats_rp_id),
        cmocka_unit_test(test_formats_origin),
        cmocka_unit_test(test_formats_expiry),
        cmocka_unit_test(test_formats_pub),
        cmocka_unit_test(test_formats_scan_kinds),
        cmocka_unit_test(test_formats_tx_id_raw_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
