/* Contract tests for chain.h JSON at the edge: every type round-trips
 * JSON → tx → canonical CBOR → tx → JSON unchanged, and from_json names the
 * offending field. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chain/chain.h"

static char chain_hex_s[65], key_hex[65], sig_hex[129], hash_hex[65];
static char cert_hex[2 * CHAIN_TLS_CERT_MAX + 1];
static uint8_t sk[32];

static int setup(void **state)
{
    (void)state;
    uint8_t cid[32], pub[32], other_sk[32], sig[64];
    memset(cid, 0xc1, 32);
    chain_hex(chain_hex_s, cid, 32);
    assert_int_equal(chain_key_generate(sk, pub), CHAIN_OK);
    assert_int_equal(chain_key_generate(other_sk, pub), CHAIN_OK);
    chain_hex(key_hex, pub, 32);
    memset(sig, 0x5a, 64);
    chain_hex(sig_hex, sig, 64);
    chain_hex(hash_hex, cid, 32);
    char *pem;
    uint8_t der[CHAIN_TLS_CERT_MAX];
    size_t dl;
    assert_int_equal(chain_tls_key_new(&pem, der, &dl, "node 4"), CHAIN_OK);
    free(pem);
    chain_hex(cert_hex, der, dl);
    return 0;
}

/* Body JSON per type; %K is a valid key, %H a hash, %S a signature, %T a TLS
 * certificate. */
static const struct {
    const char *type;
    const char *body;
} bodies[] = {
    {"mint", "{\"gtin\":\"09506000134352\",\"lot\":\"L1\",\"expiry\":\"281200\",\"model\":\"Pack "
             "30\",\"warranty_months\":36,\"markets\":[\"DE\",\"FR\"],\"serials\":[\"A/1\",\"B2\"],"
             "\"label_sigs\":[\"%S\",\"%S\"]}"},
    {"pickup", "{\"units\":[\"09506000134352/A/1\",\"09506000134352/B2\"],\"region\":\"DE-BY\"}"},
    {"deliver", "{\"units\":[\"09506000134352/A/1\"],\"to\":\"seller-berlin\"}"},
    {"sell", "{\"unit\":\"09506000134352/A/1\",\"claim_key\":\"%K\",\"region\":\"DE\"}"},
    {"sell", "{\"unit\":\"09506000134352/A/1\",\"buyer\":\"%K\"}"},
    {"claim", "{\"unit\":\"09506000134352/A/1\",\"claim_sig\":\"%S\"}"},
    {"transfer.offer",
     "{\"unit\":\"09506000134352/A/1\",\"offer_key\":\"%K\",\"expires\":1767225600000}"},
    {"transfer.cancel", "{\"unit\":\"09506000134352/A/1\"}"},
    {"transfer", "{\"unit\":\"09506000134352/A/1\",\"to_key\":\"%K\"}"},
    {"warranty.activate", "{\"unit\":\"09506000134352/A/1\"}"},
    {"warranty.extend", "{\"unit\":\"09506000134352/A/1\",\"months\":12,\"note\":\"goodwill\"}"},
    {"warranty.claim", "{\"unit\":\"09506000134352/A/1\",\"note\":\"zip broken\"}"},
    {"warranty.resolve", "{\"unit\":\"09506000134352/A/1\",\"outcome\":\"repaired\"}"},
    {"flag", "{\"units\":[\"09506000134352/A/1\"],\"reason\":\"counterfeit\",\"note\":\"x\"}"},
    {"unflag", "{\"units\":[\"09506000134352/A/1\"],\"reason\":\"stolen\"}"},
    {"participant.add", "{\"id\":\"carrier-dhl\",\"name\":\"DHL\",\"role\":\"carrier\",\"pub\":"
                        "\"%K\",\"regions\":[\"DE\",\"AT\"]}"},
    {"participant.revoke", "{\"id\":\"carrier-dhl\"}"},
    {"participant.rotate", "{\"id\":\"carrier-dhl\",\"pub\":\"%K\"}"},
    {"node.add", "{\"node_id\":4,\"operator\":\"acme\",\"raft\":\"tcp://10.0.0.4:7001\","
                 "\"http\":\"http://10.0.0.4:8001\",\"pub\":\"%K\"}"},
    {"node.add", "{\"node_id\":4,\"operator\":\"acme\",\"raft\":\"tls+tcp://10.0.0.4:7001\","
                 "\"http\":\"http://10.0.0.4:8001\",\"pub\":\"%K\",\"tls\":\"%T\"}"},
    {"node.rotate", "{\"node_id\":4,\"tls\":\"%T\"}"},
    {"node.remove", "{\"node_id\":4}"},
    {"resolver.set", "{\"url\":\"https://id.acme.example\"}"},
    {"pack", "{\"sscc\":\"309506000134350005\",\"units\":[\"09506000134352/A/1\"],"
             "\"parents\":[\"009506000134350004\",\"009506000134350011\"],\"region\":\"DE\"}"},
    {"pack", "{\"sscc\":\"309506000134350005\",\"parents\":[\"009506000134350004\"]}"},
    {"unpack", "{\"sscc\":\"309506000134350005\"}"},
    {"pickup", "{\"sscc\":\"309506000134350005\",\"region\":\"DE\"}"},
    {"deliver", "{\"sscc\":\"309506000134350005\",\"to\":\"seller-berlin\"}"},
    {"rp.set", "{\"rp_id\":\"shop.acme.example\",\"origins\":[\"https://shop.acme.example\","
               "\"http://localhost:8101\"],\"uv_required\":true}"},
    {"rp.set", "{\"rp_id\":\"localhost\",\"origins\":[\"http://localhost:8101\"]}"},
    {"policy.set", "{\"gtin\":\"09506000134352\",\"max_clients\":8,\"travel_kmh\":1000,"
                   "\"unsold_scan_suspicious\":true,\"outside_markets\":false}"},
    {"scans", "{\"records\":[{\"kind\":\"scan\",\"unit\":\"09506000134352/A/1\",\"time\":5,"
              "\"client\":\"00112233445566778899aabbccddeeff\",\"region\":\"FR\",\"verdict\":1},"
              "{\"kind\":\"probe\",\"unit\":\"09506000134352/ZZ\",\"time\":6,\"client\":"
              "\"00112233445566778899aabbccddeeff\"}],\"dropped\":2}"},
};

/* Expands %K/%H/%S and wraps the body into a full transaction object. */
static json_t *tx_json(const char *type, const char *body)
{
    char buf[8192];
    size_t o = 0;
    o += (size_t)snprintf(buf, sizeof buf,
                          "{\"type\":\"%s\",\"chain\":\"%s\",\"nonce\":3,\"time\":1767225600,"
                          "\"body\":",
                          type, chain_hex_s);
    for (const char *p = body; *p; p++) {
        const char *rep = NULL;
        if (p[0] == '%' && p[1] == 'K')
            rep = key_hex;
        else if (p[0] == '%' && p[1] == 'H')
            rep = hash_hex;
        else if (p[0] == '%' && p[1] == 'S')
            rep = sig_hex;
        else if (p[0] == '%' && p[1] == 'T')
            rep = cert_hex;
        if (rep) {
            o += (size_t)snprintf(buf + o, sizeof buf - o, "%s", rep);
            p++;
        } else {
            buf[o++] = *p;
        }
    }
    snprintf(buf + o, sizeof buf - o, "}");
    json_error_t err;
    json_t *j = json_loads(buf, 0, &err);
    if (j == NULL)
        fail_msg("bad test JSON for %s: %s", type, err.text);
    return j;
}

static void test_tx_json_roundtrip_every_type(void **state)
{
    (void)state;
    bool covered[CHAIN_TX__COUNT] = {false};
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
        json_t *j = tx_json(bodies[i].type, bodies[i].body);
        chain_tx tx, back;
        char msg[160];
        int rc = chain_tx_from_json(&tx, j, msg, sizeof msg);
        if (rc)
            fail_msg("%s: %s (%s)", bodies[i].type, chain_err_code(rc), msg);
        covered[tx.type] = true;
        assert_int_equal(chain_tx_sign(&tx, sk), CHAIN_OK);
        uint8_t *buf;
        size_t len;
        assert_int_equal(chain_tx_encode(&buf, &len, &tx), CHAIN_OK);
        assert_int_equal(chain_tx_decode(&back, buf, len, msg, sizeof msg), CHAIN_OK);
        json_t *out = chain_tx_to_json(&back);
        assert_non_null(out);
        /* the input plus what signing added */
        json_object_set_new(j, "signer", json_copy(json_object_get(out, "signer")));
        json_object_set_new(j, "sig", json_copy(json_object_get(out, "sig")));
        if (!json_equal(j, out)) {
            char *a = json_dumps(j, JSON_SORT_KEYS), *b = json_dumps(out, JSON_SORT_KEYS);
            fail_msg("%s:\n in  %s\n out %s", bodies[i].type, a, b);
        }
        json_decref(out);
        json_decref(j);
        free(buf);
        chain_tx_free(&tx);
        chain_tx_free(&back);
    }
    for (int t = 1; t < CHAIN_TX__COUNT; t++)
        if (!covered[t])
            fail_msg("type %s not covered", chain_tx_type_name(t));
}

static void test_tx_json_units_are_gtin_slash_serial(void **state)
{
    (void)state;
    json_t *j = tx_json("pickup", "{\"units\":[\"09506000134352/A/1\"]}");
    chain_tx tx;
    assert_int_equal(chain_tx_from_json(&tx, j, NULL, 0), CHAIN_OK);
    assert_string_equal(tx.units[0].gtin, "09506000134352");
    assert_string_equal(tx.units[0].serial, "A/1"); /* everything after the first '/' */
    json_t *out = chain_tx_to_json(&tx);
    assert_string_equal(json_string_value(json_array_get(
                            json_object_get(json_object_get(out, "body"), "units"), 0)),
                        "09506000134352/A/1");
    json_decref(out);
    json_decref(j);
    chain_tx_free(&tx);
}

/* from_json of (type, body) must fail with code and a message starting with want. */
static void expect_refused(const char *type, const char *body, int code, const char *want)
{
    json_t *j = tx_json(type, body);
    chain_tx tx;
    memset(&tx, 0x7e, sizeof tx);
    char msg[160] = "";
    int rc = chain_tx_from_json(&tx, j, msg, sizeof msg);
    if (rc != code || strncmp(msg, want, strlen(want)) != 0)
        fail_msg("%s %s: got %s \"%s\", want %s \"%s\"", type, body, chain_err_code(rc), msg,
                 chain_err_code(code), want);
    assert_int_equal(tx.nonce, 0x7e7e7e7e7e7e7e7eull); /* untouched on failure */
    json_decref(j);
}

static void test_tx_json_errors_name_the_field(void **state)
{
    (void)state;
    expect_refused("pickup", "{\"units\":[\"09506000134352\"]}", CHAIN_ERR_MALFORMED,
                   "body.units[0]: not \"GTIN/SERIAL\"");
    expect_refused("pickup", "{\"units\":[\"09506000134353/AB\"]}", CHAIN_ERR_BAD_GTIN,
                   "body.units[0]: not a GTIN-14");
    expect_refused("pickup", "{\"units\":[\"09506000134352/A B\"]}", CHAIN_ERR_BAD_SERIAL,
                   "body.units[0]: serial");
    expect_refused("pickup", "{\"units\":[\"09506000134352/AB\"],\"colour\":1}",
                   CHAIN_ERR_MALFORMED, "body.colour: unknown field for pickup");
    expect_refused("pickup", "{}", CHAIN_ERR_MALFORMED, "body.units: missing");
    expect_refused("pickup", "{\"sscc\":\"309506000134350006\"}", CHAIN_ERR_BAD_SSCC,
                   "body.sscc: not an SSCC");
    expect_refused("pickup", "{\"sscc\":\"30950600013435000\"}", CHAIN_ERR_BAD_SSCC,
                   "body.sscc: not an SSCC");
    expect_refused("pickup", "{\"sscc\":\"3095060001343500050\"}", CHAIN_ERR_TOO_LARGE,
                   "body.sscc");
    expect_refused("pickup", "{\"sscc\":\"30950600013435000A\"}", CHAIN_ERR_BAD_SSCC,
                   "body.sscc: not an SSCC");
    expect_refused("pack", "{\"sscc\":\"309506000134350005\"}", CHAIN_ERR_MALFORMED,
                   "body.units: missing (or body.parents)");
    expect_refused("pack", "{\"units\":[\"09506000134352/AB\"]}", CHAIN_ERR_MALFORMED,
                   "body.sscc: missing");
    expect_refused("pack", "{\"sscc\":\"309506000134350005\",\"parents\":[\"009506000134350005\"]}",
                   CHAIN_ERR_BAD_SSCC, "body.parents[0]: not an SSCC");
    expect_refused("pack", "{\"sscc\":\"309506000134350005\",\"parents\":[]}", CHAIN_ERR_MALFORMED,
                   "body.parents");
    expect_refused("unpack", "{}", CHAIN_ERR_MALFORMED, "body.sscc: missing");
    expect_refused("pickup", "{\"units\":[\"09506000134352/AB\"],\"region\":\"Bavaria\"}",
                   CHAIN_ERR_TOO_LARGE, "body.region: longer than 6");
    expect_refused("pickup", "{\"units\":[\"09506000134352/AB\"],\"region\":\"de\"}",
                   CHAIN_ERR_INVALID, "body.region: not a region code");
    expect_refused("transfer", "{\"unit\":\"09506000134352/AB\",\"to_key\":\"abcd\"}",
                   CHAIN_ERR_MALFORMED, "body.to_key: not 64 hex characters");
    expect_refused("flag", "{\"units\":[\"09506000134352/AB\"],\"reason\":\"lost\"}",
                   CHAIN_ERR_INVALID, "body.reason: unknown value");
    expect_refused("warranty.extend", "{\"unit\":\"09506000134352/AB\",\"months\":-1}",
                   CHAIN_ERR_MALFORMED, "body.months: not a non-negative integer");
    expect_refused("warranty.extend", "{\"unit\":\"09506000134352/AB\",\"months\":4294967296}",
                   CHAIN_ERR_INVALID, "body.months: over");
    expect_refused("policy.set", "{\"lot\":\"L1\",\"max_clients\":3}", CHAIN_ERR_MALFORMED,
                   "body.lot: needs body.gtin");
    expect_refused("scans",
                   "{\"records\":[{\"kind\":\"scan\",\"unit\":\"09506000134352/AB\","
                   "\"time\":1,\"client\":\"00\"}]}",
                   CHAIN_ERR_MALFORMED, "body.records[0].client: not 32 hex");
    expect_refused("mint.all", "{}", CHAIN_ERR_INVALID, "type: unknown type");
    /* resolver.set: the genesis "resolver" rule (chain_resolver_valid) */
    static const char *const bad_urls[] = {
        "https://id.acme.example/",
        "ftp://id.acme.example",
        "id.acme.example",
        "https://",
        "http://",
        "https://id.acme.example?x=1",
        "https://id.acme.example#top",
        "https://id acme.example",
        "HTTPS://id.acme.example",
        "https://id.acme.example/\\t",
    };
    for (size_t i = 0; i < sizeof bad_urls / sizeof *bad_urls; i++) {
        char body[160];
        snprintf(body, sizeof body, "{\"url\":\"%s\"}", bad_urls[i]);
        expect_refused("resolver.set", body, CHAIN_ERR_INVALID,
                       "body.url: not an http(s):// base URL");
    }
    expect_refused("resolver.set", "{\"url\":\"\"}", CHAIN_ERR_MALFORMED, "body.url:");
    expect_refused("resolver.set", "{}", CHAIN_ERR_MALFORMED, "body.url: missing");
    expect_refused("resolver.set", "{\"url\":7}", CHAIN_ERR_MALFORMED, "body.url:");
}

/* rp.set: the genesis "webauthn" rules (chain_rp_id_valid, chain_origin_valid),
 * 1..CHAIN_ORIGINS_MAX distinct origins of at most CHAIN_ORIGIN_MAX bytes. */
static void test_tx_json_rp_set_refused_and_bounds(void **state)
{
    (void)state;
    static const char *const bad_ids[] = {"Shop.example",  "192.168.1.10",           "1.2",
                                          ".shop.example", "shop.example.",          "shop_example",
                                          "shop example",  "xn--b\u00fccher.example"};
    for (size_t i = 0; i < sizeof bad_ids / sizeof *bad_ids; i++) {
        char body[200];
        snprintf(body, sizeof body, "{\"rp_id\":\"%s\",\"origins\":[\"https://a.example\"]}",
                 bad_ids[i]);
        expect_refused("rp.set", body, CHAIN_ERR_INVALID, "body.rp_id: not a lower-case host");
    }
    static const char *const bad_origins[] = {
        "https://a.example/", "https://a.example/x", "ftp://a.example",     "a.example",
        "https://",           "https://a.example?x", "https://a.example#x", "https://a example",
        "HTTPS://a.example",
    };
    for (size_t i = 0; i < sizeof bad_origins / sizeof *bad_origins; i++) {
        char body[200];
        snprintf(body, sizeof body, "{\"rp_id\":\"a.example\",\"origins\":[\"%s\"]}",
                 bad_origins[i]);
        expect_refused("rp.set", body, CHAIN_ERR_INVALID, "body.origins[0]: not an http(s) origin");
    }
    expect_refused(
        "rp.set",
        "{\"rp_id\":\"a.example\",\"origins\":[\"https://a.example\",\"https://a.example\"]}",
        CHAIN_ERR_INVALID, "body.origins[1]: duplicate");
    expect_refused("rp.set", "{\"rp_id\":\"a.example\",\"origins\":[]}", CHAIN_ERR_MALFORMED,
                   "body.origins");
    expect_refused("rp.set", "{\"rp_id\":\"a.example\"}", CHAIN_ERR_MALFORMED,
                   "body.origins: missing");
    expect_refused("rp.set", "{\"origins\":[\"https://a.example\"]}", CHAIN_ERR_MALFORMED,
                   "body.rp_id: missing");
    expect_refused(
        "rp.set", "{\"rp_id\":\"a.example\",\"origins\":[\"https://a.example\"],\"uv_required\":1}",
        CHAIN_ERR_MALFORMED, "body.uv_required");
    /* CHAIN_ORIGINS_MAX origins are taken, one more is not; an origin of
       CHAIN_ORIGIN_MAX bytes is taken, one byte more is not */
    for (int extra = 0; extra <= 1; extra++) {
        json_t *j = tx_json("rp.set", "{\"rp_id\":\"a.example\",\"origins\":[]}");
        json_t *arr = json_object_get(json_object_get(j, "body"), "origins");
        for (int i = 0; i < CHAIN_ORIGINS_MAX + extra; i++) {
            char o[64];
            snprintf(o, sizeof o, "https://a.example:%d", 8000 + i);
            json_array_append_new(arr, json_string(o));
        }
        chain_tx tx;
        char msg[160] = "";
        int rc = chain_tx_from_json(&tx, j, msg, sizeof msg);
        if (!extra) {
            assert_int_equal(rc, CHAIN_OK);
            assert_int_equal(tx.rp.norigins, CHAIN_ORIGINS_MAX);
            chain_tx_free(&tx);
        } else {
            assert_int_not_equal(rc, CHAIN_OK);
            assert_non_null(strstr(msg, "body.origins"));
        }
        json_decref(j);

        char o[CHAIN_ORIGIN_MAX + 8];
        size_t n = (size_t)CHAIN_ORIGIN_MAX + (size_t)extra;
        memcpy(o, "https://", 8);
        memset(o + 8, 'o', n - 8);
        o[n] = '\0';
        assert_true(chain_origin_valid(o, n) == !extra);
        j = tx_json("rp.set", "{\"rp_id\":\"a.example\",\"origins\":[]}");
        json_array_append_new(json_object_get(json_object_get(j, "body"), "origins"),
                              json_string(o));
        rc = chain_tx_from_json(&tx, j, msg, sizeof msg);
        if (!extra) {
            if (rc != CHAIN_OK)
                fail_msg("origin of %zu bytes: %s %s", n, chain_err_code(rc), msg);
            assert_int_equal(strlen(tx.rp.origins[0]), CHAIN_ORIGIN_MAX);
            assert_true(tx.rp_uv == 0);
            uint8_t *enc;
            size_t len;
            chain_tx back;
            assert_int_equal(chain_tx_sign(&tx, sk), CHAIN_OK);
            assert_int_equal(chain_tx_encode(&enc, &len, &tx), CHAIN_OK);
            assert_int_equal(chain_tx_decode(&back, enc, len, msg, sizeof msg), CHAIN_OK);
            assert_string_equal(back.rp.origins[0], o);
            free(enc);
            chain_tx_free(&back);
            chain_tx_free(&tx);
        } else {
            assert_int_not_equal(rc, CHAIN_OK);
            assert_non_null(strstr(msg, "body.origins[0]"));
        }
        json_decref(j);
    }
    /* the rp id: CHAIN_RP_ID_MAX is the text bound (test_tx_json_text_fields_...) */
    assert_false(chain_rp_id_valid("", 0));
}

/* Every field format the schema checks, refused through the JSON path with the
 * field named: ids, regions, markets, addresses, expiry dates, keys, texts,
 * enumerations, and the per-type rules (sell, policy.set, scans records). */
static void test_tx_json_field_formats_refused(void **state)
{
    (void)state;
    static const struct {
        const char *type, *body, *want;
    } cases[] = {
        {"deliver", "{\"units\":[\"09506000134352/AB\"],\"to\":\"Seller\"}", "body.to"},
        {"deliver", "{\"units\":[\"09506000134352/AB\"],\"to\":\"a b\"}", "body.to"},
        {"participant.revoke", "{\"id\":\"\"}", "body.id"},
        {"pickup", "{\"units\":[\"09506000134352/AB\"],\"region\":\"D\"}", "body.region"},
        {"pickup", "{\"units\":[\"09506000134352/AB\"],\"region\":\"DEU\"}", "body.region"},
        {"pickup", "{\"units\":[\"09506000134352/AB\"],\"region\":\"DE-\"}", "body.region"},
        {"pickup", "{\"units\":[\"09506000134352/AB\"],\"region\":\"DE_BY\"}", "body.region"},
        {"pickup", "{\"units\":[\"09506000134352/AB\"],\"region\":\"DE-b\"}", "body.region"},
        {"pickup", "{\"units\":[\"09506000134352/AB\"],\"region\":\"1E\"}", "body.region"},
        {"mint",
         "{\"gtin\":\"09506000134352\",\"lot\":\"L1\",\"model\":\"m\",\"expiry\":\"2812\","
         "\"serials\":[\"A\"],\"label_sigs\":[\"%S\"]}",
         "body.expiry"},
        {"mint",
         "{\"gtin\":\"09506000134352\",\"lot\":\"L1\",\"model\":\"m\",\"expiry\":\"28a200\","
         "\"serials\":[\"A\"],\"label_sigs\":[\"%S\"]}",
         "body.expiry"},
        {"mint",
         "{\"gtin\":\"09506000134352\",\"lot\":\"L1\",\"model\":\"m\",\"expiry\":\"281300\","
         "\"serials\":[\"A\"],\"label_sigs\":[\"%S\"]}",
         "body.expiry"},
        {"mint",
         "{\"gtin\":\"09506000134352\",\"lot\":\"L1\",\"model\":\"m\",\"expiry\":\"281232\","
         "\"serials\":[\"A\"],\"label_sigs\":[\"%S\"]}",
         "body.expiry"},
        {"mint",
         "{\"gtin\":\"09506000134352\",\"lot\":\"L1\",\"model\":\"m\",\"expiry\":\"280000\","
         "\"serials\":[\"A\"],\"label_sigs\":[\"%S\"]}",
         "body.expiry"},
        {"mint",
         "{\"gtin\":\"09506000134352\",\"lot\":\"L 1\",\"model\":\"m\","
         "\"serials\":[\"A\"],\"label_sigs\":[\"%S\"]}",
         "body.lot"},
        {"mint",
         "{\"gtin\":\"09506000134353\",\"lot\":\"L1\",\"model\":\"m\","
         "\"serials\":[\"A\"],\"label_sigs\":[\"%S\"]}",
         "body.gtin"},
        {"mint",
         "{\"gtin\":\"09506000134352\",\"lot\":\"L1\",\"model\":\"m\","
         "\"serials\":[\"A B\"],\"label_sigs\":[\"%S\"]}",
         "body.serials[0]"},
        {"mint",
         "{\"gtin\":\"09506000134352\",\"lot\":\"L1\",\"model\":\"m\",\"markets\":[\"de\"],"
         "\"serials\":[\"A\"],\"label_sigs\":[\"%S\"]}",
         "body.markets[0]"},
        {"mint",
         "{\"gtin\":\"09506000134352\",\"lot\":\"L1\",\"model\":\"m\",\"markets\":[\"D1\"],"
         "\"serials\":[\"A\"],\"label_sigs\":[\"%S\"]}",
         "body.markets[0]"},
        {"mint",
         "{\"gtin\":\"09506000134352\",\"lot\":\"L1\",\"model\":\"m\",\"markets\":[\"DE\","
         "\"FR\",\"DE\"],\"serials\":[\"A\"],\"label_sigs\":[\"%S\"]}",
         "body.markets[2]"},
        {"mint",
         "{\"gtin\":\"09506000134352\",\"lot\":\"L1\",\"model\":\"\\u0001\","
         "\"serials\":[\"A\"],\"label_sigs\":[\"%S\"]}",
         "body.model"},
        {"participant.add",
         "{\"id\":\"d\",\"name\":\"D\",\"role\":\"carrier\",\"pub\":\"%K\","
         "\"regions\":[\"DE\",\"DE\"]}",
         "body.regions[1]"},
        {"participant.add",
         "{\"id\":\"d\",\"name\":\"D\",\"role\":\"carrier\",\"pub\":\"%K\","
         "\"regions\":[\"de-by\"]}",
         "body.regions[0]"},
        {"participant.add", "{\"id\":\"d\",\"name\":\"D\",\"role\":\"pilot\",\"pub\":\"%K\"}",
         "body.role"},
        {"participant.add",
         "{\"id\":\"d\",\"name\":\"D\",\"role\":\"carrier\",\"pub\":"
         "\"0000000000000000000000000000000000000000000000000000000000000005\"}",
         "body.pub"},
        {"node.add",
         "{\"node_id\":4,\"operator\":\"acme\",\"raft\":\"tcp://a b:1\","
         "\"http\":\"http://a:2\",\"pub\":\"%K\"}",
         "body.raft"},
        {"node.add",
         "{\"node_id\":4,\"operator\":\"acme\",\"raft\":\"tcp://a:1\","
         "\"http\":\"http://a:2\\u007f\",\"pub\":\"%K\"}",
         "body.http"},
        {"node.add",
         "{\"node_id\":4,\"operator\":\"acme\",\"raft\":\"tcp://a:1\","
         "\"http\":\"http://a:2\"}",
         "body.pub"},
        {"warranty.resolve", "{\"unit\":\"09506000134352/AB\",\"outcome\":\"fixed\"}",
         "body.outcome"},
        {"warranty.resolve", "{\"unit\":\"09506000134352/AB\"}", "body.outcome"},
        {"sell", "{\"unit\":\"09506000134352/AB\"}", "body"},
        {"sell", "{\"unit\":\"09506000134352/AB\",\"buyer\":\"%K\",\"claim_hash\":\"%H\"}", "body"},
        {"sell", "{\"units\":[\"09506000134352/AB\"],\"buyer\":\"%K\"}", "body.units"},
        {"claim", "{\"unit\":\"09506000134352/AB\",\"code\":\"a\\u0003b\"}", "body.code"},
        {"policy.set", "{\"gtin\":\"09506000134352\"}", "body"},
        {"policy.set", "{\"gtin\":\"09506000134353\",\"max_clients\":1}", "body.gtin"},
        {"policy.set", "{\"unsold_scan_suspicious\":3}", "body.unsold_scan_suspicious"},
        {"scans", "{\"records\":[{\"kind\":\"look\",\"unit\":\"09506000134352/AB\",\"time\":1}]}",
         "body.records[0].kind"},
        {"scans",
         "{\"records\":[{\"kind\":\"scan\",\"unit\":\"09506000134352/"
         "AB\",\"time\":1,\"region\":\"xx\"}]}",
         "body.records[0].region"},
        {"scans", "{\"records\":[{\"kind\":\"scan\",\"unit\":\"09506000134353/AB\",\"time\":1}]}",
         "body.records[0].unit"},
        {"scans",
         "{\"records\":[{\"kind\":\"report\",\"unit\":\"09506000134352/AB\",\"time\":1,"
         "\"note\":\"a\\u0002\"}]}",
         "body.records[0].note"},
        {"scans", "{\"records\":[]}", "body.records"},
        {"scans", "{\"records\":\"all\"}", "body.records: not an array"},
        {"scans", "{\"records\":[1]}", "body.records[0]: not an object"},
        {"scans", "{\"records\":[{\"unit\":\"09506000134352/AB\",\"time\":1}]}",
         "body.records[0]: needs kind"},
        {"scans",
         "{\"records\":[{\"kind\":\"scan\",\"unit\":\"09506000134352/AB\",\"time\":1,\"x\":1}]}",
         "body.records[0].x: unknown field"},
        {"scans", "{\"records\":[{\"kind\":7,\"unit\":\"09506000134352/AB\",\"time\":1}]}",
         "body.records[0].kind"},
        {"scans",
         "{\"records\":[{\"kind\":\"scan\",\"unit\":\"09506000134352/AB\",\"time\":1,"
         "\"verdict\":256}]}",
         "body.records[0].verdict: over 255"},
        {"scans", "{\"records\":[{\"kind\":\"scan\",\"unit\":\"09506000134352/AB\",\"time\":-1}]}",
         "body.records[0].time: not a non-negative integer"},
        {"scans",
         "{\"records\":[{\"kind\":\"scan\",\"unit\":\"09506000134352/AB\",\"time\":\"1a\"}]}",
         "body.records[0].time: not a non-negative integer"},
        {"scans",
         "{\"records\":[{\"kind\":\"scan\",\"unit\":\"09506000134352/AB\",\"time\":\"\"}]}",
         "body.records[0].time: not a non-negative integer"},
        {"scans",
         "{\"records\":[{\"kind\":\"scan\",\"unit\":\"09506000134352/AB\","
         "\"time\":\"18446744073709551616\"}]}",
         "body.records[0].time: not a non-negative integer"},
        {"scans",
         "{\"records\":[{\"kind\":\"scan\",\"unit\":\"09506000134352/AB\","
         "\"time\":\"000000000000000000001\"}]}",
         "body.records[0].time: not a non-negative integer"},
        {"scans",
         "{\"records\":[{\"kind\":\"scan\",\"unit\":\"09506000134352/AB\",\"time\":1,"
         "\"client\":\"zz\"}]}",
         "body.records[0].client: not 32 hex characters"},
        {"scans",
         "{\"records\":[{\"kind\":\"scan\",\"unit\":\"09506000134352/AB\",\"time\":1,"
         "\"region\":7}]}",
         "body.records[0].region: not a string"},
        {"pickup", "{\"units\":\"09506000134352/AB\"}", "body.units: not an array"},
        {"pickup", "{\"units\":[\"09506000134352AB\"]}", "body.units[0]: not \"GTIN/SERIAL\""},
        {"pickup", "{\"units\":[\"0950600013435/AB\"]}", "body.units[0]: not \"GTIN/SERIAL\""},
        {"pickup", "{\"units\":[\"09506000134352/\"]}", "body.units[0]: not \"GTIN/SERIAL\""},
        {"pickup", "{\"units\":[\"09506000134352/ABCDEFGHIJKLMNOPQRSTU\"]}",
         "body.units[0]: not \"GTIN/SERIAL\""},
        {"pickup", "{\"units\":[7]}", "body.units[0]: not \"GTIN/SERIAL\""},
        {"pickup", "{\"units\":[]}", "body.units"},
        {"deliver", "{\"units\":[\"09506000134352/AB\"],\"to\":5}", "body.to: not a string"},
        {"deliver", "{\"units\":[\"09506000134352/AB\"],\"to\":\"s\",\"colour\":1}",
         "body.colour: unknown field for deliver"},
        {"sell", "{\"unit\":\"09506000134352/AB\",\"buyer\":\"abc\"}", "body.buyer"},
        {"sell", "{\"unit\":\"09506000134352/AB\",\"buyer\":7}", "body.buyer"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const char *body = cases[i].body;
        json_t *j = tx_json(cases[i].type, body);
        assert_non_null(j);
        chain_tx tx;
        char msg[200] = "";
        int rc = chain_tx_from_json(&tx, j, msg, sizeof msg);
        if (rc == CHAIN_OK) {
            chain_tx_free(&tx);
            fail_msg("case %zu %s %s: accepted", i, cases[i].type, body);
        }
        if (strncmp(msg, cases[i].want, strlen(cases[i].want)) != 0)
            fail_msg("case %zu %s %s: %s \"%s\", want \"%s\"", i, cases[i].type, body,
                     chain_err_code(rc), msg, cases[i].want);
        json_decref(j);
    }
}

static void test_tx_json_top_level_errors(void **state)
{
    (void)state;
    chain_tx tx;
    char msg[160];
    json_t *j = tx_json("participant.revoke", "{\"id\":\"x\"}");
    json_object_set_new(j, "extra", json_true());
    assert_int_equal(chain_tx_from_json(&tx, j, msg, sizeof msg), CHAIN_ERR_MALFORMED);
    assert_string_equal(msg, "extra: unknown field");
    json_object_del(j, "extra");
    json_object_del(j, "chain");
    assert_int_equal(chain_tx_from_json(&tx, j, msg, sizeof msg), CHAIN_ERR_MALFORMED);
    assert_string_equal(msg, "chain: missing");
    json_object_set_new(j, "chain", json_string("xyz"));
    assert_int_equal(chain_tx_from_json(&tx, j, msg, sizeof msg), CHAIN_ERR_MALFORMED);
    assert_string_equal(msg, "chain: not 64 hex characters");
    json_decref(j);
    json_t *arr = json_array();
    assert_int_equal(chain_tx_from_json(&tx, arr, msg, sizeof msg), CHAIN_ERR_MALFORMED);
    json_decref(arr);
}

/* Body values of every shape but the right one, each refused with its code
 * and the field named: one row per check of the JSON readers. */
static void test_tx_json_value_shapes_refused(void **state)
{
    (void)state;
#define UJ "\"09506000134352/AB\""
#define SJ "\"kind\":\"scan\",\"unit\":" UJ ",\"time\":1,\"client\":\"" CLIENT "\""
#define CLIENT "00112233445566778899aabbccddeeff"
    static const struct {
        const char *type, *body;
        int code;
        const char *want;
    } cases[] = {
        {"pickup", "{\"units\":\"x\"}", CHAIN_ERR_MALFORMED, "body.units: not an array"},
        {"pickup", "{\"units\":[]}", CHAIN_ERR_MALFORMED, "body.units: empty"},
        {"pickup", "{\"units\":[7]}", CHAIN_ERR_MALFORMED, "body.units[0]: not \"GTIN/SERIAL\""},
        {"pickup", "{\"units\":[\"09506000134352/\"]}", CHAIN_ERR_MALFORMED,
         "body.units[0]: not \"GTIN/SERIAL\""},
        {"pickup", "{\"units\":[\"9506000134352/AB\"]}", CHAIN_ERR_MALFORMED,
         "body.units[0]: not \"GTIN/SERIAL\""},
        {"scans", "{\"records\":[7]}", CHAIN_ERR_MALFORMED, "body.records[0]: not an object"},
        {"scans", "{\"records\":[{\"kind\":7}]}", CHAIN_ERR_INVALID,
         "body.records[0].kind: not scan|probe|report"},
        {"scans", "{\"records\":[{\"kind\":\"scan\"}]}", CHAIN_ERR_MALFORMED,
         "body.records[0]: needs kind, unit, time and client"},
        {"scans", "{\"records\":[{\"unit\":" UJ "}]}", CHAIN_ERR_MALFORMED,
         "body.records[0]: needs kind, unit, time and client"},
        {"scans", "{\"records\":[{" SJ ",\"verdict\":256}]}", CHAIN_ERR_INVALID,
         "body.records[0].verdict: over 255"},
        {"scans", "{\"records\":[{" SJ ",\"verdict\":-1}]}", CHAIN_ERR_MALFORMED,
         "body.records[0].verdict: not a non-negative integer"},
        {"scans", "{\"records\":[{" SJ ",\"zone\":1}]}", CHAIN_ERR_MALFORMED,
         "body.records[0].zone: unknown field"},
        {"scans", "{\"records\":[{" SJ ",\"note\":7}]}", CHAIN_ERR_MALFORMED,
         "body.records[0].note: not a string"},
        {"scans", "{\"records\":[{" SJ ",\"region\":\"DE-BAVARIA\"}]}", CHAIN_ERR_TOO_LARGE,
         "body.records[0].region: longer than"},
        {"scans", "{\"records\":[{\"kind\":\"scan\",\"unit\":" UJ ",\"time\":\"t\"}]}",
         CHAIN_ERR_MALFORMED,
         "body.records[0].time: not a non-negative integer"},
        {"scans", "{\"records\":[{\"kind\":\"scan\",\"unit\":" UJ ",\"time\":1,\"client\":7}]}",
         CHAIN_ERR_MALFORMED, "body.records[0].client: not 32 hex"},
        {"policy.set", "{\"outside_markets\":1}", CHAIN_ERR_MALFORMED,
         "body.outside_markets: not true or false"},
        {"participant.revoke", "{\"id\":5}", CHAIN_ERR_MALFORMED, "body.id: not a string"},
        {"flag", "{\"units\":[" UJ "],\"reason\":3}", CHAIN_ERR_MALFORMED,
         "body.reason: not a string"},
        {"node.rotate", "{\"node_id\":1,\"tls\":7}", CHAIN_ERR_MALFORMED, "body.tls: not hex bytes"},
        {"node.rotate", "{\"node_id\":1,\"tls\":\"\"}", CHAIN_ERR_MALFORMED,
         "body.tls: not hex bytes"},
        {"node.rotate", "{\"node_id\":1,\"tls\":\"abc\"}", CHAIN_ERR_MALFORMED,
         "body.tls: not hex bytes"},
        {"node.rotate", "{\"node_id\":1,\"tls\":\"zz\"}", CHAIN_ERR_MALFORMED,
         "body.tls: not hex bytes"},
        {"claim", "{\"unit\":" UJ ",\"claim_sig\":7}", CHAIN_ERR_MALFORMED,
         "body.claim_sig: not 128 hex characters"},
        {"claim", "{\"unit\":" UJ ",\"claim_sig\":\"%Hzz\"}", CHAIN_ERR_MALFORMED,
         "body.claim_sig: not 128 hex characters"},
        {"mint", "{\"gtin\":\"09506000134352\",\"serials\":[\"A\"],\"label_sigs\":[]}",
         CHAIN_ERR_MALFORMED, "body.label_sigs: 0 signatures for 1 serials"},
        {"mint", "{\"gtin\":\"09506000134352\",\"label_sigs\":[\"%S\"],\"serials\":[\"A\",\"B\"]}",
         CHAIN_ERR_MALFORMED, "body.serials: 2 serials for 1 label_sigs"},
    };
#undef SJ
#undef CLIENT
#undef UJ
    int bad = 0;
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        json_t *j = tx_json(cases[i].type, cases[i].body);
        chain_tx tx;
        char msg[200] = "";
        int rc = chain_tx_from_json(&tx, j, msg, sizeof msg);
        if (rc == CHAIN_OK)
            chain_tx_free(&tx);
        if (rc != cases[i].code || strncmp(msg, cases[i].want, strlen(cases[i].want)) != 0) {
            print_error("case %zu (%s %s): got %s \"%s\", want %s \"%s\"\n", i, cases[i].type,
                        cases[i].body, chain_err_code(rc), msg, chain_err_code(cases[i].code),
                        cases[i].want);
            bad++;
        }
        json_decref(j);
    }
    assert_int_equal(bad, 0);
    /* a text holding a NUL (JSON allows "\u0000"; a C string would be cut there) */
    json_t *j = tx_json("participant.revoke", "{\"id\":\"x\"}");
    json_object_set_new(json_object_get(j, "body"), "id", json_stringn("a\0b", 3));
    chain_tx tx;
    char msg[200] = "";
    assert_int_equal(chain_tx_from_json(&tx, j, msg, sizeof msg), CHAIN_ERR_MALFORMED);
    assert_string_equal(msg, "body.id: contains NUL");
    json_decref(j);
    /* the passkey "auth" object: each member's hex within its bounds */
    static const char *const auths[] = {
        "7",
        "{\"pub\":1,\"sig\":1,\"cred\":1,\"adata\":1}",
        "{\"pub\":\"%K\",\"sig\":\"ab\",\"cred\":\"ab\",\"adata\":\"ab\",\"cdata\":\"ab\"}",
    };
    /* each member in turn the first one out of its bounds, the ones before it good */
    static const struct {
        size_t len[5]; /* hex characters of pub, sig, cred, adata, cdata */
        const char *want;
    } lens[] = {
        {{129, 140, 32, 74, 80}, "auth.pub: not 65..65 bytes of hex"},   /* odd */
        {{130, 14, 32, 74, 80}, "auth.sig: not 8..72 bytes of hex"},     /* 7 bytes */
        {{130, 146, 32, 74, 80}, "auth.sig: not 8..72 bytes of hex"},    /* 73 bytes */
        {{130, 140, 0, 74, 80}, "auth.cred: not 1..1023 bytes of hex"},  /* empty */
        {{130, 140, 32, 72, 80}, "auth.adata: not 37..1024 bytes of hex"}, /* 36 bytes */
        {{130, 140, 32, 74, 2050}, "auth.cdata: not 1..1024 bytes of hex"}, /* 1025 bytes */
    };
    for (size_t i = 0; i < sizeof lens / sizeof *lens; i++) {
        static const char *const names[5] = {"pub", "sig", "cred", "adata", "cdata"};
        json_t *a = json_object();
        for (int m = 0; m < 5; m++) {
            char hex[2100];
            memset(hex, '1', lens[i].len[m]);
            hex[lens[i].len[m]] = '\0';
            json_object_set_new(a, names[m], json_string(hex));
        }
        json_t *j = tx_json("participant.revoke", "{\"id\":\"x\"}");
        json_object_set_new(j, "auth", a);
        chain_tx tx;
        char msg[200] = "";
        assert_int_equal(chain_tx_from_json(&tx, j, msg, sizeof msg), CHAIN_ERR_MALFORMED);
        if (strcmp(msg, lens[i].want) != 0)
            fail_msg("auth lengths %zu: \"%s\", want \"%s\"", i, msg, lens[i].want);
        json_decref(j);
    }
    /* a hex member of the right length with a character that is not hex */
    {
        json_t *a = json_object();
        char hex[200];
        memset(hex, '1', 130);
        hex[129] = 'g';
        hex[130] = '\0';
        json_object_set_new(a, "pub", json_string(hex));
        json_object_set_new(a, "sig", json_string("11"));
        json_object_set_new(a, "cred", json_string("11"));
        json_object_set_new(a, "adata", json_string("11"));
        json_object_set_new(a, "cdata", json_string("11"));
        json_t *j = tx_json("participant.revoke", "{\"id\":\"x\"}");
        json_object_set_new(j, "auth", a);
        chain_tx tx;
        char msg[200] = "";
        assert_int_equal(chain_tx_from_json(&tx, j, msg, sizeof msg), CHAIN_ERR_MALFORMED);
        assert_string_equal(msg, "auth.pub: not 65..65 bytes of hex");
        json_decref(j);
    }
    /* a certificate longer than any pinnable one, and a signer of the right length with no hex */
    json_t *jt = tx_json("node.rotate", "{\"node_id\":1,\"tls\":\"00\"}");
    char *big = malloc(2 * CHAIN_TLS_CERT_MAX + 3);
    assert_non_null(big);
    memset(big, 'a', 2 * CHAIN_TLS_CERT_MAX + 2);
    big[2 * CHAIN_TLS_CERT_MAX + 2] = '\0';
    json_object_set_new(json_object_get(jt, "body"), "tls", json_string(big));
    free(big);
    chain_tx t2;
    char m2[200] = "";
    assert_int_equal(chain_tx_from_json(&t2, jt, m2, sizeof m2), CHAIN_ERR_TOO_LARGE);
    assert_non_null(strstr(m2, "body.tls: over"));
    char zz[65];
    memset(zz, 'z', 64);
    zz[64] = '\0';
    json_object_set_new(json_object_get(jt, "body"), "tls", json_string("00"));
    json_object_set_new(jt, "signer", json_string(zz));
    assert_int_equal(chain_tx_from_json(&t2, jt, m2, sizeof m2), CHAIN_ERR_MALFORMED);
    assert_string_equal(m2, "signer: not 64 hex characters");
    json_decref(jt);
    for (size_t i = 0; i < sizeof auths / sizeof *auths; i++) {
        json_t *j = tx_json("participant.revoke", "{\"id\":\"x\"}");
        json_t *a = json_loads(auths[i], JSON_DECODE_ANY, NULL);
        assert_non_null(a);
        json_object_set_new(j, "auth", a);
        chain_tx tx;
        char msg[200] = "";
        assert_int_equal(chain_tx_from_json(&tx, j, msg, sizeof msg), CHAIN_ERR_MALFORMED);
        assert_non_null(strstr(msg, "auth"));
        json_decref(j);
    }
}

/* Top-level members of every shape but the right one, each named. */
static void test_tx_json_top_level_shapes_refused(void **state)
{
    (void)state;
    static const struct {
        const char *key, *value, *want; /* value NULL: the member removed */
    } cases[] = {
        {"nonce", "-1", "nonce: not a non-negative integer"},
        {"nonce", "\"\"", "nonce: not a non-negative integer"},
        {"nonce", "\"1x\"", "nonce: not a non-negative integer"},
        {"nonce", "\"18446744073709551616\"", "nonce: not a non-negative integer"},
        {"nonce", "1.5", "nonce: not a non-negative integer"},
        {"nonce", NULL, "nonce: missing"},
        {"time", "\"soon\"", "time: not a non-negative integer"},
        {"body", "[]", "body: not an object"},
        {"body", NULL, "body: missing"},
        {"type", "7", "type: missing"},
        {"type", "\"mint.burn\"", "type: unknown type \"mint.burn\""},
        {"signer", "\"ab\"", "signer: not 64 hex characters"},
        {"sig", "\"ab\"", "sig: not 128 hex characters"},
        {"auth", "{}", "auth: needs pub, sig, cred, adata and cdata"},
        {"auth",
         "{\"pub\":\"ab\",\"sig\":\"ab\",\"cred\":\"ab\",\"adata\":\"ab\",\"cdata\":\"ab\"}",
         "auth.pub: not 65..65 bytes of hex"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        json_t *j = tx_json("participant.revoke", "{\"id\":\"x\"}");
        if (cases[i].value) {
            json_t *v = json_loads(cases[i].value, JSON_DECODE_ANY, NULL);
            assert_non_null(v);
            json_object_set_new(j, cases[i].key, v);
        } else {
            json_object_del(j, cases[i].key);
        }
        chain_tx tx;
        char msg[200] = "";
        int rc = chain_tx_from_json(&tx, j, msg, sizeof msg);
        if (rc == CHAIN_OK) {
            chain_tx_free(&tx);
            fail_msg("case %zu (%s): accepted", i, cases[i].key);
        }
        if (strncmp(msg, cases[i].want, strlen(cases[i].want)) != 0)
            fail_msg("case %zu (%s): \"%s\", want \"%s\"", i, cases[i].key, msg, cases[i].want);
        json_decref(j);
    }
    /* the largest nonce as a string, and as a 20-digit string with leading zeros */
    json_t *j = tx_json("participant.revoke", "{\"id\":\"x\"}");
    json_object_set_new(j, "nonce", json_string("00000000000000000007"));
    chain_tx tx;
    assert_int_equal(chain_tx_from_json(&tx, j, NULL, 0), CHAIN_OK);
    assert_true(tx.nonce == 7);
    chain_tx_free(&tx);
    json_decref(j);
}

static void test_tx_json_big_nonce_as_string(void **state)
{
    (void)state;
    json_t *j = tx_json("participant.revoke", "{\"id\":\"x\"}");
    json_object_set_new(j, "nonce", json_string("18446744073709551615"));
    chain_tx tx;
    assert_int_equal(chain_tx_from_json(&tx, j, NULL, 0), CHAIN_OK);
    assert_true(tx.nonce == UINT64_MAX);
    json_t *out = chain_tx_to_json(&tx);
    assert_string_equal(json_string_value(json_object_get(out, "nonce")), "18446744073709551615");
    json_object_set_new(j, "nonce", json_string("18446744073709551616"));
    assert_int_equal(chain_tx_from_json(&tx, j, NULL, 0), CHAIN_ERR_MALFORMED);
    json_decref(out);
    json_decref(j);
}

static void test_tx_json_too_many_units_too_large(void **state)
{
    (void)state;
    json_t *j = tx_json("pickup", "{\"units\":[]}");
    json_t *units = json_object_get(json_object_get(j, "body"), "units");
    for (int i = 0; i < CHAIN_UNITS_MAX + 1; i++)
        json_array_append_new(units, json_string("09506000134352/AB"));
    chain_tx tx;
    char msg[160];
    assert_int_equal(chain_tx_from_json(&tx, j, msg, sizeof msg), CHAIN_ERR_TOO_LARGE);
    assert_non_null(strstr(msg, "body.units"));
    json_decref(j);
}

/* Every bounded text field of a body, exactly at its bound and one past it: at
 * the bound it parses and survives the CBOR round trip, one more is refused with
 * the field named. "@" in the body is where the padding goes; `fixed` counts the
 * characters of the field's value that are not padding. */
static const struct {
    const char *type, *field, *body;
    size_t fixed, max;
    char pad;
} text_bounds[] = {
    {"participant.add", "id", "{\"id\":\"@\",\"name\":\"D\",\"role\":\"carrier\",\"pub\":\"%K\"}",
     0, CHAIN_ID_MAX, 'a'},
    {"participant.add", "name", "{\"id\":\"d\",\"name\":\"@\",\"role\":\"carrier\",\"pub\":\"%K\"}",
     0, CHAIN_NAME_MAX, 'N'},
    {"flag", "note", "{\"units\":[\"09506000134352/AB\"],\"reason\":\"recalled\",\"note\":\"@\"}",
     0, CHAIN_NOTE_MAX, 'n'},
    {"deliver", "to", "{\"units\":[\"09506000134352/AB\"],\"to\":\"@\"}", 0, CHAIN_ID_MAX, 's'},
    {"node.add", "raft",
     "{\"node_id\":4,\"operator\":\"acme\",\"raft\":\"tcp://@:7001\",\"http\":\"http://h:8001\","
     "\"pub\":\"%K\"}",
     11, CHAIN_ADDR_MAX, 'h'},
    {"node.add", "http",
     "{\"node_id\":4,\"operator\":\"acme\",\"raft\":\"tcp://h:7001\",\"http\":\"http://@:8001\","
     "\"pub\":\"%K\"}",
     12, CHAIN_ADDR_MAX, 'h'},
    {"mint", "lot",
     "{\"gtin\":\"09506000134352\",\"lot\":\"@\",\"serials\":[\"B2\"],\"label_sigs\":[\"%S\"]}", 0,
     GS1_LOT_MAX, 'L'},
    {"mint", "model",
     "{\"gtin\":\"09506000134352\",\"lot\":\"L\",\"model\":\"@\",\"serials\":[\"B2\"],"
     "\"label_sigs\":[\"%S\"]}",
     0, CHAIN_NAME_MAX, 'm'},
    {"resolver.set", "url", "{\"url\":\"https://id.@.example\"}", 19, CHAIN_RESOLVER_MAX, 'r'},
    {"rp.set", "rp_id", "{\"rp_id\":\"@\",\"origins\":[\"https://a.example\"]}", 0, CHAIN_RP_ID_MAX,
     'a'},
};

static json_t *padded(size_t i, size_t len)
{
    char body[2048], pad[512];
    size_t n = len - text_bounds[i].fixed;
    assert_true(n < sizeof pad);
    memset(pad, text_bounds[i].pad, n);
    pad[n] = '\0';
    const char *at = strchr(text_bounds[i].body, '@');
    snprintf(body, sizeof body, "%.*s%s%s", (int)(at - text_bounds[i].body), text_bounds[i].body,
             pad, at + 1);
    return tx_json(text_bounds[i].type, body);
}

static void test_tx_json_text_fields_at_and_over_their_bound(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof text_bounds / sizeof *text_bounds; i++) {
        size_t max = text_bounds[i].max;
        char msg[160] = "", want[64];
        json_t *j = padded(i, max);
        chain_tx tx, back;
        int rc = chain_tx_from_json(&tx, j, msg, sizeof msg);
        if (rc != CHAIN_OK)
            fail_msg("%s body.%s of %zu: %s %s", text_bounds[i].type, text_bounds[i].field, max,
                     chain_err_code(rc), msg);
        assert_int_equal(chain_tx_sign(&tx, sk), CHAIN_OK);
        uint8_t *enc;
        size_t len;
        assert_int_equal(chain_tx_encode(&enc, &len, &tx), CHAIN_OK);
        assert_int_equal(chain_tx_decode(&back, enc, len, NULL, 0), CHAIN_OK);
        json_t *a = chain_tx_to_json(&tx), *b = chain_tx_to_json(&back);
        const char *v =
            json_string_value(json_object_get(json_object_get(b, "body"), text_bounds[i].field));
        assert_non_null(v);
        assert_int_equal(strlen(v), max);
        assert_true(json_equal(a, b));
        json_decref(a);
        json_decref(b);
        chain_tx_free(&back);
        chain_tx_free(&tx);
        free(enc);
        json_decref(j);

        j = padded(i, max + 1);
        memset(&tx, 0x7e, sizeof tx);
        rc = chain_tx_from_json(&tx, j, msg, sizeof msg);
        snprintf(want, sizeof want, "body.%s", text_bounds[i].field);
        if (rc == CHAIN_OK || strncmp(msg, want, strlen(want)) != 0)
            fail_msg("%s body.%s of %zu: got %s \"%s\", want a refusal naming %s",
                     text_bounds[i].type, text_bounds[i].field, max + 1, chain_err_code(rc), msg,
                     want);
        assert_int_equal(tx.nonce, 0x7e7e7e7e7e7e7e7eull);
        json_decref(j);
    }
}

/* CHAIN_SCANS_MAX records in one scans tx parse and encode; one more is refused. */
static void test_tx_json_scans_max_edge(void **state)
{
    (void)state;
    for (int n = CHAIN_SCANS_MAX; n <= CHAIN_SCANS_MAX + 1; n++) {
        json_t *j = tx_json("scans", "{\"records\":[]}");
        json_t *recs = json_object_get(json_object_get(j, "body"), "records");
        for (int i = 0; i < n; i++)
            json_array_append_new(recs, json_pack("{s:s,s:s,s:i,s:s}", "kind", "scan", "unit",
                                                  "09506000134352/AB", "time", 1, "client",
                                                  "000102030405060708090a0b0c0d0e0f"));
        chain_tx tx;
        char msg[160] = "";
        int rc = chain_tx_from_json(&tx, j, msg, sizeof msg);
        if (n == CHAIN_SCANS_MAX) {
            assert_int_equal(rc, CHAIN_OK);
            assert_int_equal(tx.nscans, CHAIN_SCANS_MAX);
            assert_int_equal(chain_tx_sign(&tx, sk), CHAIN_OK);
            uint8_t *enc;
            size_t len;
            chain_tx back;
            assert_int_equal(chain_tx_encode(&enc, &len, &tx), CHAIN_OK);
            assert_int_equal(chain_tx_decode(&back, enc, len, NULL, 0), CHAIN_OK);
            assert_int_equal(back.nscans, CHAIN_SCANS_MAX);
            chain_tx_free(&back);
            chain_tx_free(&tx);
            free(enc);
        } else {
            assert_int_equal(rc, CHAIN_ERR_TOO_LARGE);
            assert_non_null(strstr(msg, "body.records"));
        }
        json_decref(j);
    }
}

/* Count bounds of region lists: CHAIN_MARKETS_MAX markets on a mint and
 * CHAIN_REGIONS_MAX regions on a participant parse and round-trip; one more is
 * refused naming the field. */
static void test_tx_json_region_lists_at_and_over_their_bound(void **state)
{
    (void)state;
    static const char *codes[] = {"DE", "FR", "AT", "IT", "ES", "PT", "NL", "BE", "LU",
                                  "DK", "SE", "NO", "FI", "PL", "CZ", "SK", "HU", "SI",
                                  "HR", "RO", "BG", "GR", "IE", "GB", "US", "CA", "MX",
                                  "BR", "AR", "JP", "CN", "KR", "IN", "AU"};
    static const struct {
        const char *type, *body, *field;
        size_t max;
    } lists[] = {
        {"mint",
         "{\"gtin\":\"09506000134352\",\"lot\":\"L\",\"markets\":[],\"serials\":[\"B2\"],"
         "\"label_sigs\":[\"%S\"]}",
         "markets", CHAIN_MARKETS_MAX},
        {"participant.add",
         "{\"id\":\"d\",\"name\":\"D\",\"role\":\"carrier\",\"pub\":\"%K\",\"regions\":[]}",
         "regions", CHAIN_REGIONS_MAX},
    };
    assert_true(sizeof codes / sizeof *codes > CHAIN_MARKETS_MAX);
    for (size_t i = 0; i < sizeof lists / sizeof *lists; i++) {
        for (size_t n = lists[i].max; n <= lists[i].max + 1; n++) {
            json_t *j = tx_json(lists[i].type, lists[i].body);
            json_t *a = json_object_get(json_object_get(j, "body"), lists[i].field);
            for (size_t k = 0; k < n; k++)
                json_array_append_new(a, json_string(codes[k]));
            chain_tx tx;
            char msg[160] = "", want[64];
            int rc = chain_tx_from_json(&tx, j, msg, sizeof msg);
            if (n == lists[i].max) {
                if (rc != CHAIN_OK)
                    fail_msg("%s %zu %s: %s %s", lists[i].type, n, lists[i].field,
                             chain_err_code(rc), msg);
                assert_int_equal(chain_tx_sign(&tx, sk), CHAIN_OK);
                uint8_t *enc;
                size_t len;
                chain_tx back;
                assert_int_equal(chain_tx_encode(&enc, &len, &tx), CHAIN_OK);
                assert_int_equal(chain_tx_decode(&back, enc, len, NULL, 0), CHAIN_OK);
                json_t *b = chain_tx_to_json(&back);
                assert_int_equal(
                    json_array_size(json_object_get(json_object_get(b, "body"), lists[i].field)),
                    n);
                json_decref(b);
                chain_tx_free(&back);
                chain_tx_free(&tx);
                free(enc);
            } else {
                snprintf(want, sizeof want, "body.%s", lists[i].field);
                if (rc != CHAIN_ERR_TOO_LARGE || strncmp(msg, want, strlen(want)) != 0)
                    fail_msg("%s %zu %s: got %s \"%s\"", lists[i].type, n, lists[i].field,
                             chain_err_code(rc), msg);
            }
            json_decref(j);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tx_json_roundtrip_every_type),
        cmocka_unit_test(test_tx_json_units_are_gtin_slash_serial),
        cmocka_unit_test(test_tx_json_rp_set_refused_and_bounds),
        cmocka_unit_test(test_tx_json_errors_name_the_field),
        cmocka_unit_test(test_tx_json_field_formats_refused),
        cmocka_unit_test(test_tx_json_top_level_errors),
        cmocka_unit_test(test_tx_json_value_shapes_refused),
        cmocka_unit_test(test_tx_json_big_nonce_as_string),
        cmocka_unit_test(test_tx_json_top_level_shapes_refused),
        cmocka_unit_test(test_tx_json_too_many_units_too_large),
        cmocka_unit_test(test_tx_json_text_fields_at_and_over_their_bound),
        cmocka_unit_test(test_tx_json_scans_max_edge),
        cmocka_unit_test(test_tx_json_region_lists_at_and_over_their_bound),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
