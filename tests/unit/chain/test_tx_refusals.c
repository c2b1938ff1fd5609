/*
 * test_tx_refusals.c — the transaction decoder refuses each value of the
 * wrong shape with the specific code and the field named: one row per check
 * of tx_codec.c's readers (units, scan records, integers, booleans, texts,
 * names, certificates, counts that must agree, the passkey "auth" map) and
 * of the schema's checks after decoding; and the block decoder's shape
 * checks (chain_block_peek).
 *
 * Rows are written as JSON and turned into CBOR in the order written (so
 * the keys of each row are given in canonical order): a string "h:<hex>" is
 * a byte string, "z:<n>" n zero bytes, "r:<n>" n bytes 0x11; other strings
 * are text, integers unsigned, true/false booleans.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chain/cbor_util.h"
#include "chain/chain.h"

static void put_json(cbu_wr *w, const json_t *j)
{
    switch (json_typeof(j)) {
    case JSON_OBJECT: {
        cbu_put_map(w, json_object_size(j));
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)j, k, v)
        {
            cbu_put_key(w, k);
            put_json(w, v);
        }
        break;
    }
    case JSON_ARRAY: {
        cbu_put_array(w, json_array_size(j));
        size_t i;
        json_t *v;
        json_array_foreach(j, i, v) put_json(w, v);
        break;
    }
    case JSON_STRING: {
        const char *s = json_string_value(j);
        if (strncmp(s, "h:", 2) == 0) {
            uint8_t b[2048];
            size_t n = strlen(s + 2) / 2;
            assert_true(n <= sizeof b);
            assert_int_equal(chain_unhex(b, n, s + 2, 2 * n), (int)n);
            cbu_put_bytes(w, b, n);
        } else if (strncmp(s, "z:", 2) == 0 || strncmp(s, "r:", 2) == 0) {
            uint8_t b[2048];
            size_t n = (size_t)atoi(s + 2);
            assert_true(n <= sizeof b);
            memset(b, s[0] == 'z' ? 0 : 0x11, n);
            cbu_put_bytes(w, b, n);
        } else {
            cbu_put_cstr(w, s);
        }
        break;
    }
    case JSON_INTEGER:
        cbu_put_uint(w, (uint64_t)json_integer_value(j));
        break;
    case JSON_TRUE:
    case JSON_FALSE:
        cbu_put_bool(w, json_is_true(j));
        break;
    default:
        fail_msg("no CBOR for this JSON value");
    }
}

static uint8_t *cbor_of(const char *json, size_t *len)
{
    json_error_t e;
    json_t *j = json_loads(json, 0, &e);
    if (j == NULL)
        fail_msg("row JSON: %s: %s", e.text, json);
    cbu_wr w;
    cbu_wr_init(&w, CHAIN_TX_MAX_BYTES);
    put_json(&w, j);
    json_decref(j);
    uint8_t *out;
    assert_int_equal(cbu_wr_finish(&w, &out, len), CHAIN_OK);
    return out;
}

/* A whole transaction of `type` around `body` (and before it, `auth` when
 * not NULL), every other field well formed. */
static uint8_t *tx_of(const char *type, const char *body, const char *auth, size_t *len)
{
    char json[8192];
    int n = snprintf(json, sizeof json,
                     "{\"sig\": \"z:64\", %s%s%s\"body\": %s, \"time\": 1, \"type\": \"%s\", "
                     "\"chain\": \"r:32\", \"nonce\": 1, \"signer\": \"r:32\"}",
                     auth ? "\"auth\": " : "", auth ? auth : "", auth ? ", " : "", body, type);
    assert_true(n > 0 && (size_t)n < sizeof json);
    return cbor_of(json, len);
}

typedef struct row {
    const char *type, *body;
    int code;
    const char *msg; /* a part of the message */
} row;

#define G "\"09506000134352\""
/* secp256k1's generator: a valid x-only key */
#define GX "h:79be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798"
#define U "[" G ", \"A1\"]"
#define SCAN_OK "\"kind\": \"scan\", \"time\": 5, \"unit\": " U ", \"client\": \"r:16\""

static const row rows[] = {
    /* units: [gtin, serial] pairs */
    {"pickup", "{\"units\": [\"x\"]}", CHAIN_ERR_MALFORMED, "body.units: expected array"},
    {"pickup", "{\"units\": [[" G ", \"A1\", \"B2\"]]}", CHAIN_ERR_TOO_LARGE,
     "body.units: 3 entries, at most 2"},
    {"pickup", "{\"units\": [[" G "]]}", CHAIN_ERR_MALFORMED, "expected [gtin, serial]"},
    {"pickup", "{\"units\": [[1, \"A1\"]]}", CHAIN_ERR_MALFORMED, "body.units: expected text"},
    {"pickup", "{\"units\": [[" G ", 2]]}", CHAIN_ERR_MALFORMED, "body.units: expected text"},
    {"pickup", "{\"units\": []}", CHAIN_ERR_MALFORMED, "body.units: empty"},
    {"sell", "{\"unit\": \"" "09506000134352/A1" "\"}", CHAIN_ERR_MALFORMED, "body.unit"},
    /* scan records */
    {"scans", "{\"records\": [\"x\"]}", CHAIN_ERR_MALFORMED, "body.records[0]: expected map"},
    {"scans", "{\"records\": [{\"kind\": 1}]}", CHAIN_ERR_MALFORMED, "body.records[0]"},
    {"scans", "{\"records\": [{\"kind\": \"peek\"}]}", CHAIN_ERR_INVALID,
     "body.records[0].kind: not scan|probe|report"},
    {"scans", "{\"records\": [{\"kind\": \"scan\"}]}", CHAIN_ERR_MALFORMED,
     "body.records[0]: needs kind, time, unit and client"},
    {"scans", "{\"records\": [{\"kind\": \"scan\", \"time\": 5, \"unit\": " U "}]}",
     CHAIN_ERR_MALFORMED, "needs kind, time, unit and client"},
    {"scans", "{\"records\": [{\"time\": 5, \"unit\": " U ", \"client\": \"r:16\"}]}",
     CHAIN_ERR_MALFORMED, "needs kind, time, unit and client"},
    {"scans", "{\"records\": [{\"kind\": \"scan\", \"unit\": " U ", \"client\": \"r:16\"}]}",
     CHAIN_ERR_MALFORMED, "needs kind, time, unit and client"},
    {"scans", "{\"records\": [{\"kind\": \"scan\", \"time\": 5, \"client\": \"r:16\"}]}",
     CHAIN_ERR_MALFORMED, "needs kind, time, unit and client"},
    {"scans", "{\"records\": [{\"zone\": 1}]}", CHAIN_ERR_MALFORMED,
     "body.records[0].zone: unknown field"},
    {"scans", "{\"records\": [{" SCAN_OK ", \"verdict\": 256}]}", CHAIN_ERR_INVALID,
     "body.records[0]: 256 is over 255"},
    {"scans", "{\"records\": [{" SCAN_OK ", \"verdict\": \"bad\"}]}", CHAIN_ERR_MALFORMED,
     "body.records[0]: expected unsigned integer"},
    {"scans", "{\"records\": [{" SCAN_OK ", \"region\": \"de\"}]}", CHAIN_ERR_INVALID, NULL},
    {"scans", "{\"records\": [{\"kind\": \"scan\", \"note\": 7}]}", CHAIN_ERR_MALFORMED,
     "body.records[0]: expected text"},
    {"scans", "{\"records\": [{\"kind\": \"scan\", \"time\": \"t\"}]}", CHAIN_ERR_MALFORMED,
     "body.records[0]: expected unsigned integer"},
    {"scans", "{\"records\": [{\"kind\": \"scan\", \"time\": 5, \"unit\": 3}]}",
     CHAIN_ERR_MALFORMED, "body.records[0]: expected array"},
    {"scans", "{\"records\": [{\"kind\": \"scan\", \"time\": 5, \"unit\": " U
              ", \"client\": \"r:15\"}]}",
     CHAIN_ERR_MALFORMED, "body.records[0]: 15 bytes, expected 16"},
    {"scans", "{\"records\": [{\"kind\": \"scanner-of-things\"}]}", CHAIN_ERR_TOO_LARGE,
     "body.records[0]"},
    /* integers, booleans, texts */
    {"node.remove", "{\"node_id\": \"x\"}", CHAIN_ERR_MALFORMED,
     "body.node_id: expected unsigned integer"},
    {"warranty.extend", "{\"unit\": " U ", \"months\": 4294967296}", CHAIN_ERR_INVALID,
     "body.months: 4294967296 is over 4294967295"},
    {"policy.set", "{\"outside_markets\": 1}", CHAIN_ERR_MALFORMED,
     "body.outside_markets: expected boolean"},
    {"participant.revoke", "{\"id\": 5}", CHAIN_ERR_MALFORMED, "body.id: expected text"},
    {"participant.revoke", "{\"id\": \"a\\u0001\"}", CHAIN_ERR_MALFORMED,
     "body.id: not valid text"},
    {"mint", "{\"gtin\": " G ", \"markets\": [7]}", CHAIN_ERR_MALFORMED,
     "body.markets: expected text"},
    {"mint", "{\"gtin\": " G ", \"markets\": [\"DEU\"]}", CHAIN_ERR_TOO_LARGE, "body.markets"},
    /* names parsed by a table */
    {"flag", "{\"units\": [" U "], \"reason\": 1}", CHAIN_ERR_MALFORMED,
     "body.reason: expected text"},
    {"flag", "{\"units\": [" U "], \"reason\": \"lost\"}", CHAIN_ERR_INVALID,
     "body.reason: unknown value \"lost\""},
    {"flag", "{\"units\": [" U "], \"reason\": \"unknown\"}", CHAIN_ERR_INVALID,
     "body.reason: unknown value"},
    {"warranty.resolve", "{\"unit\": " U ", \"outcome\": \"refunded\"}", CHAIN_ERR_INVALID,
     "body.outcome: unknown value"},
    {"participant.add", "{\"id\": \"x\", \"pub\": \"r:32\", \"name\": \"X\", \"role\": \"admin\"}",
     CHAIN_ERR_INVALID, "body.role: unknown value \"admin\""},
    {"participant.add", "{\"id\": \"x\", \"pub\": \"" GX "\", \"name\": \"X\", \"role\": \"node\"}",
     CHAIN_ERR_INVALID, "body.role: not brand|carrier|seller|service"},
    {"participant.add", "{\"id\": \"x\", \"pub\": \"r:32\", \"name\": \"X\", \"role\": \"none\"}",
     CHAIN_ERR_INVALID, "body.role: unknown value \"none\""},
    /* a certificate: bytes, not empty */
    {"node.rotate", "{\"tls\": \"x\", \"node_id\": 1}", CHAIN_ERR_MALFORMED,
     "body.tls: expected bytes"},
    {"node.rotate", "{\"tls\": \"h:\", \"node_id\": 1}", CHAIN_ERR_MALFORMED, "body.tls: empty"},
    /* fixed-size bytes */
    {"claim", "{\"unit\": " U ", \"claim_sig\": \"r:63\"}", CHAIN_ERR_MALFORMED,
     "body.claim_sig: 63 bytes, expected 64"},
    /* serials and their label signatures come in equal numbers */
    {"mint", "{\"gtin\": " G ", \"label_sigs\": [\"r:64\"]}", CHAIN_ERR_MALFORMED,
     "body.label_sigs: 1 signatures for 0 serials"},
    {"mint", "{\"gtin\": " G ", \"serials\": [\"A\", \"B\"], \"label_sigs\": [\"r:64\"]}",
     CHAIN_ERR_MALFORMED, "body.label_sigs: 1 signatures for 2 serials"},
    {"mint", "{\"gtin\": " G ", \"serials\": [5]}", CHAIN_ERR_MALFORMED,
     "body.serials: expected text"},
    /* the body is a map of this type's fields */
    {"pickup", "[1]", CHAIN_ERR_MALFORMED, "body: expected map"},
    {"unpack", "{\"zzz\": 1, \"sscc\": \"309506000134350005\"}", CHAIN_ERR_MALFORMED,
     "body.zzz: unknown field for unpack"},
};

static void test_tx_refusals_table(void **state)
{
    (void)state;
    int bad = 0;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        size_t len;
        uint8_t *buf = tx_of(rows[i].type, rows[i].body, NULL, &len);
        chain_tx tx;
        char msg[160] = "";
        int rc = chain_tx_decode(&tx, buf, len, msg, sizeof msg);
        if (rc == CHAIN_OK)
            chain_tx_free(&tx);
        if (rc != rows[i].code || (rows[i].msg != NULL && strstr(msg, rows[i].msg) == NULL)) {
            print_error("row %zu (%s %s): got %s \"%s\", want %s \"%s\"\n", i, rows[i].type,
                        rows[i].body, chain_err_code(rc), msg, chain_err_code(rows[i].code),
                        rows[i].msg ? rows[i].msg : "");
            bad++;
        }
        free(buf);
    }
    assert_int_equal(bad, 0);
}

#define AUTH_OK_PUB "\"pub\": \"r:65\", \"sig\": \"r:70\", \"cred\": \"r:16\", "
#define AUTH_OK_REST "\"adata\": \"r:37\", \"cdata\": \"r:40\""

/* The "auth" map of a passkey-signed transaction: five entries in order,
 * each within its bounds. */
static void test_tx_refusals_auth(void **state)
{
    (void)state;
    static const struct {
        const char *auth;
        int code;
        const char *msg;
    } cases[] = {
        {"7", CHAIN_ERR_MALFORMED, "auth: expected map"},
        {"{\"pub\": \"r:65\"}", CHAIN_ERR_MALFORMED,
         "auth: needs pub, sig, cred, adata and cdata"},
        {"{" AUTH_OK_PUB "\"adata\": \"r:37\", \"cdatb\": \"r:40\"}", CHAIN_ERR_MALFORMED,
         "auth.cdatb: unknown or out of order"},
        {"{\"pub\": \"r:65\", \"sig\": \"r:70\", \"cred\": \"r:16\", \"adata\": \"r:37\", "
         "\"zzzzzz\": 1}",
         CHAIN_ERR_MALFORMED, "auth.zzzzzz: unknown or out of order"},
        {"{\"pub\": \"r:64\", \"sig\": \"r:70\", \"cred\": \"r:16\", " AUTH_OK_REST "}",
         CHAIN_ERR_MALFORMED, "auth.pub: 64 bytes, expected 65"},
        {"{\"pub\": \"r:65\", \"sig\": \"r:7\", \"cred\": \"r:16\", " AUTH_OK_REST "}",
         CHAIN_ERR_MALFORMED, "auth.sig: 7 bytes, at least 8"},
        {"{\"pub\": \"r:65\", \"sig\": \"r:73\", \"cred\": \"r:16\", " AUTH_OK_REST "}",
         CHAIN_ERR_TOO_LARGE, "auth.sig: 73 bytes, at most 72"},
        {"{\"pub\": \"r:65\", \"sig\": \"r:70\", \"cred\": \"h:\", " AUTH_OK_REST "}",
         CHAIN_ERR_MALFORMED, "auth.cred: 0 bytes, at least 1"},
        {"{" AUTH_OK_PUB "\"adata\": \"r:36\", \"cdata\": \"r:40\"}", CHAIN_ERR_MALFORMED,
         "auth.adata: 36 bytes, at least 37"},
        {"{" AUTH_OK_PUB "\"adata\": \"r:37\", \"cdata\": \"r:1025\"}", CHAIN_ERR_TOO_LARGE,
         "auth.cdata: 1025 bytes, at most 1024"},
        {"{" AUTH_OK_PUB "\"adata\": \"r:37\", \"cdata\": 5}", CHAIN_ERR_MALFORMED,
         "auth.cdata: expected bytes"},
        {"{" AUTH_OK_PUB "\"adata\": \"r:37\", \"cdata\": \"h:\"}", CHAIN_ERR_MALFORMED,
         "auth.cdata: 0 bytes, at least 1"},
    };
    const char *body = "{\"id\": \"carrier-x\"}";
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t len;
        uint8_t *buf = tx_of("participant.revoke", body, cases[i].auth, &len);
        chain_tx tx;
        char msg[160] = "";
        int rc = chain_tx_decode(&tx, buf, len, msg, sizeof msg);
        if (rc == CHAIN_OK)
            chain_tx_free(&tx);
        if (rc != cases[i].code || strstr(msg, cases[i].msg) == NULL)
            fail_msg("auth %zu: got %s \"%s\", want %s \"%s\"", i, chain_err_code(rc), msg,
                     chain_err_code(cases[i].code), cases[i].msg);
        free(buf);
    }
    /* well formed: decodes, and the signer must be that passkey's id */
    size_t len;
    uint8_t *buf = tx_of("participant.revoke", body, "{" AUTH_OK_PUB AUTH_OK_REST "}", &len);
    chain_tx tx;
    char msg[160] = "";
    assert_int_equal(chain_tx_decode(&tx, buf, len, msg, sizeof msg), CHAIN_OK);
    assert_non_null(tx.auth);
    uint8_t id[32];
    assert_int_equal(chain_tx_id(id, &tx), CHAIN_OK);
    assert_int_equal(chain_tx_verify(NULL, &tx, id, msg, sizeof msg), CHAIN_ERR_BAD_SIGNATURE);
    assert_string_equal(msg, "signer is not the passkey in auth");
    assert_int_equal(chain_tx_verify(NULL, &tx, id, NULL, 0), CHAIN_ERR_BAD_SIGNATURE);
    /* a passkey-signed tx keeps "sig" all zero */
    chain_passkey_id(tx.signer, tx.auth->cred, tx.auth->cred_len, tx.auth->pub);
    tx.sig[0] = 1;
    uint8_t *enc;
    size_t enc_len;
    assert_int_equal(chain_tx_encode(&enc, &enc_len, &tx), CHAIN_ERR_MALFORMED);
    chain_tx_free(&tx);
    free(buf);
}

#define HDR(h, root)                                                                           \
    "{\"prev\": \"z:32\", \"time\": 1, \"height\": " h ", \"proposer\": 1, \"txs_root\": " root  \
    "}"

static void test_block_shapes_refused(void **state)
{
    (void)state;
    static const struct {
        const char *json;
        int code;
    } cases[] = {
        {"{\"txs\": [], \"header\": " HDR("1", "\"z:32\"") "}", CHAIN_OK},
        {"{\"txs\": [], \"header\": " HDR("0", "\"z:32\"") "}", CHAIN_ERR_BAD_BLOCK},
        {"{\"txs\": [], \"header\": " HDR("1", "\"r:32\"") "}", CHAIN_ERR_BAD_BLOCK},
        {"{\"txs\": [], \"header\": " HDR("1", "\"z:31\"") "}", CHAIN_ERR_MALFORMED},
        {"{\"txs\": []}", CHAIN_ERR_MALFORMED},
        {"{\"txs\": [], \"header\": " HDR("1", "\"z:32\"") ", \"padding\": 1}",
         CHAIN_ERR_TOO_LARGE},
        {"{\"abc\": [], \"header\": " HDR("1", "\"z:32\"") "}", CHAIN_ERR_MALFORMED},
        {"{\"txs\": [], \"headex\": " HDR("1", "\"z:32\"") "}", CHAIN_ERR_MALFORMED},
        {"{\"txs\": [7], \"header\": " HDR("1", "\"z:32\"") "}", CHAIN_ERR_MALFORMED},
        {"{\"txs\": [\"r:80\"], \"header\": " HDR("1", "\"z:32\"") "}", CHAIN_ERR_MALFORMED},
        {"{\"txs\": [], \"header\": {\"prev\": \"z:32\", \"time\": 1, \"height\": 1, "
         "\"proposer\": 1}}",
         CHAIN_ERR_MALFORMED},
        {"{\"txs\": [], \"header\": {\"zzzz\": 1, \"prev\": \"z:32\", \"time\": 1, "
         "\"height\": 1, \"proposer\": 1}}",
         CHAIN_ERR_MALFORMED},
        {"{\"txs\": [], \"header\": {\"prev\": \"z:32\", \"time\": \"t\", \"height\": 1, "
         "\"proposer\": 1, \"txs_root\": \"z:32\"}}",
         CHAIN_ERR_MALFORMED},
        {"{\"txs\": [], \"header\": 5}", CHAIN_ERR_MALFORMED},
        {"[1, 2]", CHAIN_ERR_MALFORMED},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t len;
        uint8_t *b = cbor_of(cases[i].json, &len);
        chain_block_header h;
        uint8_t id[32];
        size_t n;
        int rc = chain_block_peek(&h, id, &n, b, len);
        if (rc != cases[i].code)
            fail_msg("block %zu %s: %s, want %s", i, cases[i].json, chain_err_code(rc),
                     chain_err_code(cases[i].code));
        if (i == 0) { /* a byte after a good block */
            uint8_t *t = malloc(len + 1);
            assert_non_null(t);
            memcpy(t, b, len);
            t[len] = 0;
            assert_int_equal(chain_block_peek(&h, id, &n, t, len + 1), CHAIN_ERR_MALFORMED);
            free(t);
        }
        free(b);
    }
}

/* Without a message buffer (NULL, or of length 0) every entry point gives
 * the same code and writes nothing. */
static void test_codes_without_message_buffer(void **state)
{
    (void)state;
    size_t len;
    uint8_t *buf = tx_of("pickup", "{\"units\": []}", NULL, &len);
    chain_tx tx;
    char one[1] = {'x'};
    assert_int_equal(chain_tx_decode(&tx, buf, len, NULL, 0), CHAIN_ERR_MALFORMED);
    assert_int_equal(chain_tx_decode(&tx, buf, len, one, 0), CHAIN_ERR_MALFORMED);
    assert_int_equal(one[0], 'x');
    uint8_t id[32], chain[32];
    memset(chain, 0x11, sizeof chain);
    assert_int_equal(chain_tx_precheck(id, chain, NULL, buf, len, NULL, 0), CHAIN_ERR_MALFORMED);
    free(buf);
    /* well formed, signed for this chain (r:32 is 0x11 bytes) but not by its signer */
    buf = tx_of("participant.revoke", "{\"id\": \"carrier-x\"}", NULL, &len);
    assert_int_equal(chain_tx_precheck(id, chain, NULL, buf, len, NULL, 0),
                     CHAIN_ERR_BAD_SIGNATURE);
    assert_int_equal(chain_tx_precheck(id, chain, NULL, buf, len, one, 0),
                     CHAIN_ERR_BAD_SIGNATURE);
    assert_int_equal(one[0], 'x');
    memset(chain, 0x22, sizeof chain);
    assert_int_equal(chain_tx_precheck(id, chain, NULL, buf, len, NULL, 0), CHAIN_ERR_WRONG_CHAIN);
    char msg[96];
    assert_int_equal(chain_tx_precheck(id, chain, NULL, buf, len, msg, sizeof msg),
                     CHAIN_ERR_WRONG_CHAIN);
    assert_string_equal(msg, "chain: signed for another chain");
    assert_int_equal(chain_tx_decode(&tx, buf, len, NULL, 0), CHAIN_OK);
    assert_int_equal(chain_tx_id(id, &tx), CHAIN_OK);
    assert_int_equal(chain_tx_verify(NULL, &tx, id, NULL, 0), CHAIN_ERR_BAD_SIGNATURE);
    assert_int_equal(chain_tx_verify(NULL, &tx, id, one, 0), CHAIN_ERR_BAD_SIGNATURE);
    assert_int_equal(one[0], 'x');
    assert_int_equal(chain_tx_check_rp(NULL, &tx, NULL, 0), CHAIN_OK); /* no passkey: no rp */
    chain_tx_free(&tx);
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tx_refusals_table),
        cmocka_unit_test(test_tx_refusals_auth),
        cmocka_unit_test(test_block_shapes_refused),
        cmocka_unit_test(test_codes_without_message_buffer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
