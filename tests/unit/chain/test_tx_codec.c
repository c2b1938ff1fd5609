/* Contract tests for chain.h transactions: canonical CBOR encode/decode, id,
 * signing and the stateless precheck. Non-canonical and hostile inputs are
 * built with the same cbor_util writer (which never reorders) or by splicing
 * bytes of a canonical encoding. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "chain/cbor_util.h"
#include "chain/chain.h"
#include "chain/tx_schema.h"

#define GTIN "09506000134352"

static uint8_t chain_id[32];
static uint8_t sk[32];
static uint8_t pubs[4][32]; /* valid keys for body fields */
static gs1_sgtin unit1 = {GTIN, "AB12"};
static gs1_sgtin units3[3] = {{GTIN, "AB12"}, {GTIN, "CD34"}, {"00012345600012", "x-9"}};
static char *serials2[2] = {"S1", "S2"};
static uint8_t label_sigs2[2][64];
static chain_scan scans2[2];
static uint8_t cert[CHAIN_TLS_CERT_MAX]; /* a pinnable TLS certificate */
static size_t cert_len;

static void base(chain_tx *tx, int type)
{
    memset(tx, 0, sizeof *tx);
    tx->type = type;
    memcpy(tx->chain, chain_id, 32);
    tx->nonce = 7;
    tx->time = 1767225600;
}

/* A valid example of every transaction type, optional fields mostly set. */
static void sample(chain_tx *tx, int type)
{
    base(tx, type);
    switch (type) {
    case CHAIN_TX_MINT:
        strcpy(tx->gtin, GTIN);
        strcpy(tx->lot, "L2026-01");
        strcpy(tx->expiry, "281231");
        strcpy(tx->model, "Trail shoe \xc3\xa9");
        tx->warranty_months = 24;
        strcpy(tx->markets[0], "DE");
        strcpy(tx->markets[1], "FR");
        tx->nmarkets = 2;
        tx->serials = serials2;
        tx->label_sigs = label_sigs2;
        tx->nunits = 2;
        break;
    case CHAIN_TX_PICKUP:
        tx->units = units3;
        tx->nunits = 3;
        strcpy(tx->region, "DE-BY");
        break;
    case CHAIN_TX_DELIVER:
        tx->units = units3;
        tx->nunits = 3;
        strcpy(tx->to, "seller-berlin");
        break;
    case CHAIN_TX_SELL:
        tx->units = &unit1;
        tx->nunits = 1;
        memcpy(tx->claim_key, pubs[1], 32);
        strcpy(tx->region, "DE");
        break;
    case CHAIN_TX_CLAIM:
        tx->units = &unit1;
        tx->nunits = 1;
        memset(tx->claim_sig, 0x5c, 64);
        break;
    case CHAIN_TX_TRANSFER_OFFER:
        tx->units = &unit1;
        tx->nunits = 1;
        memcpy(tx->claim_key, pubs[1], 32);
        tx->expires = 1767225600000u;
        break;
    case CHAIN_TX_TRANSFER_CANCEL:
        tx->units = &unit1;
        tx->nunits = 1;
        break;
    case CHAIN_TX_TRANSFER:
        tx->units = &unit1;
        tx->nunits = 1;
        memcpy(tx->key, pubs[0], 32);
        tx->has_key = true;
        break;
    case CHAIN_TX_WARRANTY_ACTIVATE:
        tx->units = &unit1;
        tx->nunits = 1;
        break;
    case CHAIN_TX_WARRANTY_EXTEND:
        tx->units = &unit1;
        tx->nunits = 1;
        tx->warranty_months = 12;
        strcpy(tx->note, "goodwill");
        break;
    case CHAIN_TX_WARRANTY_CLAIM:
        tx->units = &unit1;
        tx->nunits = 1;
        strcpy(tx->note, "sole detached");
        break;
    case CHAIN_TX_WARRANTY_RESOLVE:
        tx->units = &unit1;
        tx->nunits = 1;
        tx->outcome = CHAIN_OUTCOME_REPLACED;
        break;
    case CHAIN_TX_FLAG:
    case CHAIN_TX_UNFLAG:
        tx->units = units3;
        tx->nunits = 3;
        tx->reason = CHAIN_FLAG_RECALLED;
        strcpy(tx->note, "glue batch 7");
        break;
    case CHAIN_TX_PARTICIPANT_ADD:
        strcpy(tx->id, "carrier-dhl");
        strcpy(tx->name, "DHL Freight");
        tx->role = CHAIN_ROLE_CARRIER;
        memcpy(tx->key, pubs[1], 32);
        tx->has_key = true;
        strcpy(tx->regions[0], "DE");
        strcpy(tx->regions[1], "AT-9");
        tx->nregions = 2;
        break;
    case CHAIN_TX_PARTICIPANT_REVOKE:
        strcpy(tx->id, "carrier-dhl");
        break;
    case CHAIN_TX_PARTICIPANT_ROTATE:
        strcpy(tx->id, "carrier-dhl");
        memcpy(tx->key, pubs[2], 32);
        tx->has_key = true;
        break;
    case CHAIN_TX_NODE_ADD:
        tx->node_id = 4;
        strcpy(tx->name, "acme");
        strcpy(tx->raft_addr, "tcp://10.0.0.4:7001");
        strcpy(tx->http_addr, "http://10.0.0.4:8001");
        memcpy(tx->key, pubs[3], 32);
        tx->has_key = true;
        break;
    case CHAIN_TX_NODE_REMOVE:
        tx->node_id = 4;
        break;
    case CHAIN_TX_NODE_ROTATE:
        tx->node_id = 4;
        memcpy(tx->tls, cert, cert_len);
        tx->tls_len = cert_len;
        break;
    case CHAIN_TX_POLICY_SET:
        strcpy(tx->gtin, GTIN);
        strcpy(tx->lot, "L2026-01");
        tx->policy.max_clients = 9;
        tx->policy.unsold_scan_suspicious = 2;
        tx->policy.flagged_markets_only = 1;
        break;
    case CHAIN_TX_RESOLVER_SET:
        strcpy(tx->resolver, "https://id.acme.example");
        break;
    case CHAIN_TX_RP_SET:
        strcpy(tx->rp.id, "shop.acme.example");
        strcpy(tx->rp.origins[0], "https://shop.acme.example");
        strcpy(tx->rp.origins[1], "http://localhost:8101");
        tx->rp.norigins = 2;
        tx->rp_uv = 1;
        break;
    case CHAIN_TX_SCANS:
        tx->scans = scans2;
        tx->nscans = 2;
        tx->dropped = 3;
        break;
    }
}

static int setup(void **state)
{
    (void)state;
    uint8_t pub[32];
    assert_int_equal(chain_key_generate(sk, pub), CHAIN_OK);
    for (int i = 0; i < 4; i++) {
        uint8_t other[32];
        assert_int_equal(chain_key_generate(other, pubs[i]), CHAIN_OK);
    }
    for (int i = 0; i < 32; i++)
        chain_id[i] = (uint8_t)(0xa0 + i);
    memset(label_sigs2, 0x5a, sizeof label_sigs2);
    char *pem;
    assert_int_equal(chain_tls_key_new(&pem, cert, &cert_len, "node 4"), CHAIN_OK);
    free(pem);
    scans2[0] = (chain_scan){.kind = CHAIN_SCAN_SCAN,
                             .id = {GTIN, "AB12"},
                             .time = 1767225700,
                             .region = "FR",
                             .verdict = 1};
    memset(scans2[0].client, 7, 16);
    scans2[1] = (chain_scan){
        .kind = CHAIN_SCAN_REPORT, .id = {GTIN, "ZZ99"}, .time = 1767225800, .note = "looks fake"};
    return 0;
}

/* Signed canonical encoding of a sample. */
static uint8_t *signed_sample(int type, size_t *len)
{
    chain_tx tx;
    sample(&tx, type);
    assert_int_equal(chain_tx_sign(&tx, sk), CHAIN_OK);
    uint8_t *buf;
    assert_int_equal(chain_tx_encode(&buf, len, &tx), CHAIN_OK);
    return buf;
}

static int decode_rc(const uint8_t *buf, size_t len, char *msg, size_t msg_len)
{
    chain_tx tx;
    int rc = chain_tx_decode(&tx, buf, len, msg, msg_len);
    if (rc == CHAIN_OK)
        chain_tx_free(&tx);
    return rc;
}

/* Replaces del bytes at off with ins[0..nins); returns a new buffer. */
static uint8_t *splice(const uint8_t *buf, size_t len, size_t off, size_t del, const uint8_t *ins,
                       size_t nins, size_t *out_len)
{
    uint8_t *out = malloc(len - del + nins + 1);
    assert_non_null(out);
    memcpy(out, buf, off);
    memcpy(out + off, ins, nins);
    memcpy(out + off + nins, buf + off + del, len - off - del);
    *out_len = len - del + nins;
    return out;
}

static size_t find(const uint8_t *buf, size_t len, const char *pat, size_t plen)
{
    for (size_t i = 0; i + plen <= len; i++)
        if (memcmp(buf + i, pat, plen) == 0)
            return i;
    fail_msg("pattern not found");
    return 0;
}

/* Writes the outer transaction map around a raw body, canonical key order. */
static uint8_t *wrap_body(const char *type, const uint8_t *body, size_t body_len, size_t *len)
{
    cbu_wr w;
    uint8_t sig[64] = {0}, signer[32] = {0};
    cbu_wr_init(&w, CHAIN_TX_MAX_BYTES + 1024);
    cbu_put_map(&w, 7);
    cbu_put_key(&w, "sig");
    cbu_put_bytes(&w, sig, 64);
    cbu_put_key(&w, "body");
    cbu_put_raw(&w, body, body_len);
    cbu_put_key(&w, "time");
    cbu_put_uint(&w, 1);
    cbu_put_key(&w, "type");
    cbu_put_cstr(&w, type);
    cbu_put_key(&w, "chain");
    cbu_put_bytes(&w, chain_id, 32);
    cbu_put_key(&w, "nonce");
    cbu_put_uint(&w, 1);
    cbu_put_key(&w, "signer");
    cbu_put_bytes(&w, signer, 32);
    uint8_t *out;
    assert_int_equal(cbu_wr_finish(&w, &out, len), CHAIN_OK);
    return out;
}

static void test_tx_roundtrip_every_type(void **state)
{
    (void)state;
    for (int type = 1; type < CHAIN_TX__COUNT; type++) {
        chain_tx tx, back;
        sample(&tx, type);
        assert_int_equal(chain_tx_sign(&tx, sk), CHAIN_OK);
        uint8_t *buf, *again;
        size_t len, again_len;
        assert_int_equal(chain_tx_encode(&buf, &len, &tx), CHAIN_OK);
        char msg[160];
        int rc = chain_tx_decode(&back, buf, len, msg, sizeof msg);
        if (rc != CHAIN_OK)
            fail_msg("%s: %s (%s)", chain_tx_type_name(type), chain_err_code(rc), msg);
        assert_int_equal(back.type, type);
        assert_int_equal(back.nonce, 7);
        assert_memory_equal(back.signer, tx.signer, 32);
        assert_memory_equal(back.sig, tx.sig, 64);
        assert_int_equal(back.nunits, tx.nunits);
        assert_int_equal(chain_tx_encode(&again, &again_len, &back), CHAIN_OK);
        assert_int_equal(again_len, len);
        assert_memory_equal(again, buf, len);
        uint8_t id1[32], id2[32];
        assert_int_equal(chain_tx_id(id1, &tx), CHAIN_OK);
        assert_int_equal(chain_tx_id(id2, &back), CHAIN_OK);
        assert_memory_equal(id1, id2, 32);
        free(buf);
        free(again);
        chain_tx_free(&back);
    }
}

static void test_tx_roundtrip_keeps_body_fields(void **state)
{
    (void)state;
    size_t len;
    uint8_t *buf = signed_sample(CHAIN_TX_MINT, &len);
    chain_tx t;
    assert_int_equal(chain_tx_decode(&t, buf, len, NULL, 0), CHAIN_OK);
    assert_string_equal(t.gtin, GTIN);
    assert_string_equal(t.lot, "L2026-01");
    assert_string_equal(t.expiry, "281231");
    assert_string_equal(t.model, "Trail shoe \xc3\xa9");
    assert_int_equal(t.warranty_months, 24);
    assert_int_equal(t.nmarkets, 2);
    assert_string_equal(t.markets[1], "FR");
    assert_string_equal(t.serials[1], "S2");
    assert_memory_equal(t.label_sigs[1], label_sigs2[1], 64);
    chain_tx_free(&t);
    free(buf);

    buf = signed_sample(CHAIN_TX_SCANS, &len);
    assert_int_equal(chain_tx_decode(&t, buf, len, NULL, 0), CHAIN_OK);
    assert_int_equal(t.nscans, 2);
    assert_int_equal(t.dropped, 3);
    assert_int_equal(t.scans[0].kind, CHAIN_SCAN_SCAN);
    assert_string_equal(t.scans[0].region, "FR");
    assert_memory_equal(t.scans[0].client, scans2[0].client, 16);
    assert_string_equal(t.scans[1].note, "looks fake");
    assert_string_equal(t.scans[1].id.serial, "ZZ99");
    chain_tx_free(&t);
    free(buf);

    buf = signed_sample(CHAIN_TX_POLICY_SET, &len);
    assert_int_equal(chain_tx_decode(&t, buf, len, NULL, 0), CHAIN_OK);
    assert_int_equal(t.policy.max_clients, 9);
    assert_int_equal(t.policy.unsold_scan_suspicious, 2);
    assert_int_equal(t.policy.flagged_markets_only, 1);
    assert_int_equal(t.policy.travel_kmh, 0);
    assert_string_equal(t.lot, "L2026-01");
    chain_tx_free(&t);
    free(buf);
}

static void test_tx_id_excludes_sig(void **state)
{
    (void)state;
    chain_tx tx;
    sample(&tx, CHAIN_TX_CLAIM);
    uint8_t a[32], b[32];
    assert_int_equal(chain_tx_id(a, &tx), CHAIN_OK);
    memset(tx.sig, 0x77, 64);
    assert_int_equal(chain_tx_id(b, &tx), CHAIN_OK);
    assert_memory_equal(a, b, 32);
    tx.nonce++;
    assert_int_equal(chain_tx_id(b, &tx), CHAIN_OK);
    assert_memory_not_equal(a, b, 32);
}

static void test_tx_precheck_accepts_signed_tx(void **state)
{
    (void)state;
    size_t len;
    uint8_t *buf = signed_sample(CHAIN_TX_PICKUP, &len);
    uint8_t id[32], want[32];
    char msg[128];
    assert_int_equal(chain_tx_precheck(id, chain_id, NULL, buf, len, msg, sizeof msg), CHAIN_OK);
    chain_tx t;
    assert_int_equal(chain_tx_decode(&t, buf, len, NULL, 0), CHAIN_OK);
    assert_int_equal(chain_tx_id(want, &t), CHAIN_OK);
    assert_memory_equal(id, want, 32);
    chain_tx_free(&t);
    free(buf);
}

static void test_tx_other_chain_refused_by_precheck(void **state)
{
    (void)state;
    size_t len;
    uint8_t *buf = signed_sample(CHAIN_TX_PICKUP, &len);
    uint8_t other[32], id[32];
    memcpy(other, chain_id, 32);
    other[0] ^= 1;
    char msg[128];
    assert_int_equal(chain_tx_precheck(id, other, NULL, buf, len, msg, sizeof msg),
                     CHAIN_ERR_WRONG_CHAIN);
    free(buf);
}

static void test_tx_bad_signature_refused_by_precheck(void **state)
{
    (void)state;
    size_t len;
    uint8_t *buf = signed_sample(CHAIN_TX_PICKUP, &len);
    uint8_t id[32];
    /* "sig" is the first key: map head, key (4 bytes), bstr head (2 bytes). */
    assert_int_equal(buf[5], 0x58);
    buf[7 + 10] ^= 0x01;
    assert_int_equal(chain_tx_precheck(id, chain_id, NULL, buf, len, NULL, 0),
                     CHAIN_ERR_BAD_SIGNATURE);
    buf[7 + 10] ^= 0x01;
    /* A changed body invalidates the signature too. */
    size_t off = find(buf, len, "DE-BY", 5);
    buf[off + 3] = 'N';
    assert_int_equal(chain_tx_precheck(id, chain_id, NULL, buf, len, NULL, 0),
                     CHAIN_ERR_BAD_SIGNATURE);
    free(buf);
}

static void test_tx_non_shortest_int_refused(void **state)
{
    (void)state;
    size_t len, bad_len;
    uint8_t *buf = signed_sample(CHAIN_TX_PICKUP, &len);
    size_t off = find(buf, len, "\x65nonce", 6) + 6;
    assert_int_equal(buf[off], 7);
    const uint8_t wide[] = {0x18, 7};
    uint8_t *bad = splice(buf, len, off, 1, wide, 2, &bad_len);
    char msg[128];
    assert_int_equal(decode_rc(bad, bad_len, msg, sizeof msg), CHAIN_ERR_NON_CANONICAL);
    assert_non_null(strstr(msg, "nonce"));
    free(bad);
    free(buf);
}

static void test_tx_non_shortest_length_refused(void **state)
{
    (void)state;
    size_t len, bad_len;
    uint8_t *buf = signed_sample(CHAIN_TX_PICKUP, &len);
    size_t off = find(buf, len,
                      "\x65"
                      "DE-BY",
                      6);
    const uint8_t wide[] = {0x78, 5};
    uint8_t *bad = splice(buf, len, off, 1, wide, 2, &bad_len);
    assert_int_equal(decode_rc(bad, bad_len, NULL, 0), CHAIN_ERR_NON_CANONICAL);
    free(bad);
    free(buf);
}

static void test_tx_unsorted_keys_refused(void **state)
{
    (void)state;
    /* body of pickup with "region" before "units" */
    cbu_wr w;
    cbu_wr_init(&w, 1024);
    cbu_put_map(&w, 2);
    cbu_put_key(&w, "region");
    cbu_put_cstr(&w, "DE");
    cbu_put_key(&w, "units");
    cbu_put_array(&w, 1);
    cbu_put_array(&w, 2);
    cbu_put_cstr(&w, GTIN);
    cbu_put_cstr(&w, "AB12");
    uint8_t *body, *tx;
    size_t body_len, len;
    assert_int_equal(cbu_wr_finish(&w, &body, &body_len), CHAIN_OK);
    tx = wrap_body("pickup", body, body_len, &len);
    char msg[128];
    assert_int_equal(decode_rc(tx, len, msg, sizeof msg), CHAIN_ERR_NON_CANONICAL);
    assert_non_null(strstr(msg, "units"));
    free(body);
    free(tx);
}

static void test_tx_indefinite_length_refused(void **state)
{
    (void)state;
    size_t len, bad_len;
    uint8_t *buf = signed_sample(CHAIN_TX_PICKUP, &len);
    assert_int_equal(buf[0], 0xa7);
    const uint8_t indef[] = {0xbf};
    uint8_t *bad = splice(buf, len, 0, 1, indef, 1, &bad_len);
    uint8_t *bad2 = realloc(bad, bad_len + 1);
    assert_non_null(bad2);
    bad2[bad_len] = 0xff;
    assert_int_equal(decode_rc(bad2, bad_len + 1, NULL, 0), CHAIN_ERR_NON_CANONICAL);
    free(bad2);
    free(buf);
}

static void test_tx_duplicate_key_refused(void **state)
{
    (void)state;
    cbu_wr w;
    cbu_wr_init(&w, 1024);
    cbu_put_map(&w, 3);
    cbu_put_key(&w, "units");
    cbu_put_array(&w, 1);
    cbu_put_array(&w, 2);
    cbu_put_cstr(&w, GTIN);
    cbu_put_cstr(&w, "AB12");
    cbu_put_key(&w, "units");
    cbu_put_array(&w, 1);
    cbu_put_array(&w, 2);
    cbu_put_cstr(&w, GTIN);
    cbu_put_cstr(&w, "AB12");
    cbu_put_key(&w, "reason");
    cbu_put_cstr(&w, "stolen");
    uint8_t *body, *tx;
    size_t body_len, len;
    assert_int_equal(cbu_wr_finish(&w, &body, &body_len), CHAIN_OK);
    tx = wrap_body("flag", body, body_len, &len);
    char msg[128];
    assert_int_equal(decode_rc(tx, len, msg, sizeof msg), CHAIN_ERR_MALFORMED);
    assert_non_null(strstr(msg, "duplicate"));
    free(body);
    free(tx);
}

static void test_tx_extra_field_refused_with_name(void **state)
{
    (void)state;
    cbu_wr w;
    cbu_wr_init(&w, 1024);
    cbu_put_map(&w, 2);
    cbu_put_key(&w, "id");
    cbu_put_cstr(&w, "carrier-dhl");
    cbu_put_key(&w, "extra");
    cbu_put_uint(&w, 1);
    uint8_t *body, *tx;
    size_t body_len, len;
    assert_int_equal(cbu_wr_finish(&w, &body, &body_len), CHAIN_OK);
    tx = wrap_body("participant.revoke", body, body_len, &len);
    char msg[128];
    assert_int_equal(decode_rc(tx, len, msg, sizeof msg), CHAIN_ERR_MALFORMED);
    assert_non_null(strstr(msg, "body.extra"));
    free(body);
    free(tx);
}

static void test_tx_empty_optional_field_refused(void **state)
{
    (void)state;
    cbu_wr w;
    cbu_wr_init(&w, 1024);
    cbu_put_map(&w, 2);
    cbu_put_key(&w, "note");
    cbu_put_cstr(&w, "");
    cbu_put_key(&w, "unit");
    cbu_put_array(&w, 2);
    cbu_put_cstr(&w, GTIN);
    cbu_put_cstr(&w, "AB12");
    uint8_t *body, *tx;
    size_t body_len, len;
    assert_int_equal(cbu_wr_finish(&w, &body, &body_len), CHAIN_OK);
    tx = wrap_body("warranty.claim", body, body_len, &len);
    assert_int_equal(decode_rc(tx, len, NULL, 0), CHAIN_ERR_NON_CANONICAL);
    free(body);
    free(tx);
}

static void test_tx_trailing_bytes_refused(void **state)
{
    (void)state;
    size_t len;
    uint8_t *buf = signed_sample(CHAIN_TX_SELL, &len);
    uint8_t *bad = realloc(buf, len + 1);
    assert_non_null(bad);
    bad[len] = 0x00;
    char msg[128];
    assert_int_equal(decode_rc(bad, len + 1, msg, sizeof msg), CHAIN_ERR_MALFORMED);
    assert_non_null(strstr(msg, "trailing"));
    free(bad);
}

static void test_tx_every_truncation_refused(void **state)
{
    (void)state;
    for (int type = 1; type < CHAIN_TX__COUNT; type++) {
        size_t len;
        uint8_t *buf = signed_sample(type, &len);
        for (size_t n = 0; n < len; n++) {
            uint8_t *cut = malloc(n + 1); /* exact size so ASan sees overreads */
            memcpy(cut, buf, n);
            int rc = decode_rc(cut, n, NULL, 0);
            if (rc != CHAIN_ERR_MALFORMED)
                fail_msg("%s cut at %zu/%zu: %s", chain_tx_type_name(type), n, len,
                         chain_err_code(rc));
            free(cut);
        }
        free(buf);
    }
}

static void test_tx_garbage_refused(void **state)
{
    (void)state;
    const uint8_t floaty[] = {0xf9, 0x3c, 0x00};
    const uint8_t tagged[] = {0xc1, 0x01};
    const uint8_t text[] = {0x63, 'a', 'b', 'c'};
    const uint8_t huge_str[] = {0x5b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    const uint8_t huge_map[] = {0xbb, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    const uint8_t reserved[] = {0x1c};
    assert_int_equal(decode_rc(floaty, sizeof floaty, NULL, 0), CHAIN_ERR_MALFORMED);
    assert_int_equal(decode_rc(tagged, sizeof tagged, NULL, 0), CHAIN_ERR_MALFORMED);
    assert_int_equal(decode_rc(text, sizeof text, NULL, 0), CHAIN_ERR_MALFORMED);
    assert_int_equal(decode_rc(huge_str, sizeof huge_str, NULL, 0), CHAIN_ERR_TOO_LARGE);
    assert_int_equal(decode_rc(huge_map, sizeof huge_map, NULL, 0), CHAIN_ERR_TOO_LARGE);
    assert_int_equal(decode_rc(reserved, sizeof reserved, NULL, 0), CHAIN_ERR_MALFORMED);
    /* deterministic pseudo-random bytes */
    uint32_t x = 12345;
    uint8_t junk[512];
    for (int round = 0; round < 200; round++) {
        for (size_t i = 0; i < sizeof junk; i++) {
            x = x * 1103515245u + 12345u;
            junk[i] = (uint8_t)(x >> 16);
        }
        assert_int_not_equal(decode_rc(junk, (size_t)(x % sizeof junk), NULL, 0), CHAIN_OK);
    }
}

static void test_tx_deep_nesting_refused(void **state)
{
    (void)state;
    uint8_t body[40];
    memset(body, 0x81, sizeof body); /* [[[[...]]]] */
    body[sizeof body - 1] = 0x00;
    size_t len;
    uint8_t *tx = wrap_body("pickup", body, sizeof body, &len);
    assert_int_equal(decode_rc(tx, len, NULL, 0), CHAIN_ERR_TOO_LARGE);
    free(tx);
}

/* CHAIN_CBOR_DEPTH_MAX: a body of exactly that many nested non-empty arrays
 * (or maps) gets past the bounded skip and is refused only for its shape; one
 * level more is refused as too deep. */
static void test_tx_nesting_at_depth_limit(void **state)
{
    (void)state;
    for (int map = 0; map < 2; map++) {
        for (int extra = 0; extra < 2; extra++) {
            uint8_t body[2 * (CHAIN_CBOR_DEPTH_MAX + 1) + 1];
            size_t n = 0, levels = CHAIN_CBOR_DEPTH_MAX + (size_t)extra;
            for (size_t i = 0; i < levels; i++) {
                if (map) { /* {0: {0: ... 0}} */
                    body[n++] = 0xa1;
                    body[n++] = 0x00;
                } else { /* [[ ... [0] ... ]] */
                    body[n++] = 0x81;
                }
            }
            body[n++] = 0x00;
            size_t len;
            uint8_t *tx = wrap_body("pickup", body, n, &len);
            char msg[128] = "";
            int rc = decode_rc(tx, len, msg, sizeof msg);
            if (extra) {
                assert_int_equal(rc, CHAIN_ERR_TOO_LARGE);
                assert_non_null(strstr(msg, "nested deeper than 8"));
            } else {
                assert_int_equal(rc, CHAIN_ERR_MALFORMED);
                assert_null(strstr(msg, "nested"));
            }
            free(tx);
        }
    }
}

static void test_tx_float_in_body_refused(void **state)
{
    (void)state;
    const uint8_t body[] = {0xa1, 0x62, 'i', 'd', 0xf9, 0x3c, 0x00};
    size_t len;
    uint8_t *tx = wrap_body("participant.revoke", body, sizeof body, &len);
    assert_int_equal(decode_rc(tx, len, NULL, 0), CHAIN_ERR_MALFORMED);
    free(tx);
}

static void test_tx_unknown_type_refused(void **state)
{
    (void)state;
    const uint8_t body[] = {0xa0};
    size_t len;
    uint8_t *tx = wrap_body("mint.more", body, sizeof body, &len);
    char msg[128];
    assert_int_equal(decode_rc(tx, len, msg, sizeof msg), CHAIN_ERR_INVALID);
    assert_non_null(strstr(msg, "type"));
    free(tx);
}

static void test_tx_missing_required_field_named(void **state)
{
    (void)state;
    const uint8_t body[] = {0xa1, 0x64, 'u', 'n', 'i', 't', 0x82, 0x6e, '0', '9',  '5', '0', '6',
                            '0',  '0',  '0', '1', '3', '4', '3',  '5',  '2', 0x62, 'A', 'B'};
    size_t len;
    uint8_t *tx = wrap_body("claim", body, sizeof body, &len);
    char msg[128];
    assert_int_equal(decode_rc(tx, len, msg, sizeof msg), CHAIN_ERR_MALFORMED);
    assert_string_equal(msg, "body.claim_sig: missing");
    free(tx);
}

static void test_tx_bad_gtin_serial_region_refused(void **state)
{
    (void)state;
    chain_tx tx;
    uint8_t *buf;
    size_t len;
    gs1_sgtin bad = {"09506000134353", "AB12"};
    sample(&tx, CHAIN_TX_PICKUP);
    tx.units = &bad;
    tx.nunits = 1;
    assert_int_equal(chain_tx_encode(&buf, &len, &tx), CHAIN_ERR_BAD_GTIN);
    gs1_sgtin bad_serial = {GTIN, "A B"};
    tx.units = &bad_serial;
    assert_int_equal(chain_tx_encode(&buf, &len, &tx), CHAIN_ERR_BAD_SERIAL);
    tx.units = &unit1;
    strcpy(tx.region, "de");
    assert_int_equal(chain_tx_encode(&buf, &len, &tx), CHAIN_ERR_INVALID);

    /* the decoder refuses the same by bytes */
    buf = signed_sample(CHAIN_TX_PICKUP, &len);
    size_t off = find(buf, len, GTIN, 14);
    buf[off + 13] = '3';
    char msg[128];
    assert_int_equal(decode_rc(buf, len, msg, sizeof msg), CHAIN_ERR_BAD_GTIN);
    assert_non_null(strstr(msg, "body.units[0]"));
    free(buf);
}

static void test_tx_invalid_body_key_refused(void **state)
{
    (void)state;
    chain_tx tx;
    uint8_t *buf;
    size_t len;
    sample(&tx, CHAIN_TX_TRANSFER);
    memset(tx.key, 0, 32); /* x = 0 is not on the curve */
    tx.key[31] = 5;
    assert_int_equal(chain_tx_encode(&buf, &len, &tx), CHAIN_ERR_INVALID);
}

static void test_tx_sell_needs_exactly_one_buyer_form(void **state)
{
    (void)state;
    chain_tx tx;
    uint8_t *buf;
    size_t len;
    sample(&tx, CHAIN_TX_SELL);
    memcpy(tx.key, pubs[0], 32);
    tx.has_key = true;
    assert_int_equal(chain_tx_encode(&buf, &len, &tx), CHAIN_ERR_MALFORMED);
    tx.has_key = false;
    memset(tx.claim_key, 0, sizeof tx.claim_key);
    assert_int_equal(chain_tx_encode(&buf, &len, &tx), CHAIN_ERR_MALFORMED);
}

/* Mint of n serials, each 20 characters, signed. */
static int mint_n(size_t n, uint8_t **buf, size_t *len)
{
    chain_tx tx;
    sample(&tx, CHAIN_TX_MINT);
    char **serials = calloc(n, sizeof *serials);
    uint8_t(*sigs)[64] = calloc(n, 64);
    assert_non_null(serials);
    assert_non_null(sigs);
    for (size_t i = 0; i < n; i++) {
        serials[i] = malloc(GS1_SERIAL_MAX + 1);
        snprintf(serials[i], GS1_SERIAL_MAX + 1, "SN%018u", (unsigned)(i % 100000u));
    }
    tx.serials = serials;
    tx.label_sigs = sigs;
    tx.nunits = n;
    int rc = chain_tx_sign(&tx, sk);
    if (rc == CHAIN_OK)
        rc = chain_tx_encode(buf, len, &tx);
    chain_tx_free(&tx); /* built with heap arrays, so it may be freed */
    return rc;
}

static void test_tx_mint_10000_fits_and_decodes(void **state)
{
    (void)state;
    uint8_t *buf;
    size_t len;
    assert_int_equal(mint_n(CHAIN_MINT_MAX, &buf, &len), CHAIN_OK);
    assert_true(len < CHAIN_TX_MAX_BYTES);
    chain_tx t;
    assert_int_equal(chain_tx_decode(&t, buf, len, NULL, 0), CHAIN_OK);
    assert_int_equal(t.nunits, CHAIN_MINT_MAX);
    assert_string_equal(t.serials[CHAIN_MINT_MAX - 1], "SN000000000000009999");
    uint8_t id[32];
    assert_int_equal(chain_tx_precheck(id, chain_id, NULL, buf, len, NULL, 0), CHAIN_OK);
    chain_tx_free(&t);
    free(buf);
}

static void test_tx_mint_over_max_serials_too_large(void **state)
{
    (void)state;
    uint8_t *buf = NULL;
    size_t len;
    assert_int_equal(mint_n(CHAIN_MINT_MAX + 1, &buf, &len), CHAIN_ERR_TOO_LARGE);
    /* the decoder refuses the count before allocating */
    cbu_wr w;
    cbu_wr_init(&w, CHAIN_TX_MAX_BYTES);
    cbu_put_map(&w, 3);
    cbu_put_key(&w, "gtin");
    cbu_put_cstr(&w, GTIN);
    cbu_put_key(&w, "serials");
    cbu_put_array(&w, CHAIN_MINT_MAX + 1);
    for (int i = 0; i < CHAIN_MINT_MAX + 1; i++)
        cbu_put_cstr(&w, "S");
    cbu_put_key(&w, "label_sigs");
    cbu_put_array(&w, 0);
    uint8_t *body, *tx;
    size_t body_len;
    assert_int_equal(cbu_wr_finish(&w, &body, &body_len), CHAIN_OK);
    tx = wrap_body("mint", body, body_len, &len);
    char msg[128];
    assert_int_equal(decode_rc(tx, len, msg, sizeof msg), CHAIN_ERR_TOO_LARGE);
    assert_non_null(strstr(msg, "body.serials"));
    free(body);
    free(tx);
}

/* Pickup of n units (distinct serials), signed; n = CHAIN_UNITS_MAX is the edge. */
static int pickup_n(size_t n, uint8_t **buf, size_t *len)
{
    chain_tx tx;
    sample(&tx, CHAIN_TX_PICKUP);
    gs1_sgtin *units = calloc(n, sizeof *units);
    assert_non_null(units);
    for (size_t i = 0; i < n; i++) {
        strcpy(units[i].gtin, GTIN);
        snprintf(units[i].serial, sizeof units[i].serial, "U%06u", (unsigned)i);
    }
    tx.units = units;
    tx.nunits = n;
    int rc = chain_tx_sign(&tx, sk);
    if (rc == CHAIN_OK)
        rc = chain_tx_encode(buf, len, &tx);
    free(units);
    return rc;
}

static void test_tx_pickup_units_max_fits_and_decodes(void **state)
{
    (void)state;
    uint8_t *buf;
    size_t len;
    assert_int_equal(pickup_n(CHAIN_UNITS_MAX, &buf, &len), CHAIN_OK);
    chain_tx t;
    assert_int_equal(chain_tx_decode(&t, buf, len, NULL, 0), CHAIN_OK);
    assert_int_equal(t.nunits, CHAIN_UNITS_MAX);
    assert_string_equal(t.units[CHAIN_UNITS_MAX - 1].serial, "U009999");
    uint8_t id[32];
    assert_int_equal(chain_tx_precheck(id, chain_id, NULL, buf, len, NULL, 0), CHAIN_OK);
    chain_tx_free(&t);
    free(buf);
}

/* One unit over: refused when signing/encoding (the schema) and when decoding
 * (the count, before any allocation), each on its own. */
static void test_tx_pickup_over_units_max_too_large(void **state)
{
    (void)state;
    uint8_t *buf = NULL;
    size_t len;
    assert_int_equal(pickup_n(CHAIN_UNITS_MAX + 1, &buf, &len), CHAIN_ERR_TOO_LARGE);
    assert_null(buf);
    /* the same count spliced into a canonical encoding of the edge case */
    assert_int_equal(pickup_n(CHAIN_UNITS_MAX, &buf, &len), CHAIN_OK);
    const uint8_t at_max[] = {
        'u', 'n', 'i', 't', 's', 0x99, CHAIN_UNITS_MAX >> 8, CHAIN_UNITS_MAX & 0xff};
    size_t off = find(buf, len, (const char *)at_max, sizeof at_max);
    /* every unit encodes to the same length (serials U000000..U009999) and the
     * array ends where the next key, "region", starts: append a copy of the
     * first unit as a 10,001st and raise the count */
    size_t first = off + sizeof at_max;
    size_t end = first + find(buf + first, len - first, "\x66region", 7);
    size_t unit_len = (end - first) / CHAIN_UNITS_MAX;
    assert_int_equal(unit_len * CHAIN_UNITS_MAX, end - first);
    size_t l1, l2;
    uint8_t *grown = splice(buf, len, end, 0, buf + first, unit_len, &l1);
    uint8_t over[sizeof at_max];
    memcpy(over, at_max, sizeof over);
    over[sizeof over - 2] = (CHAIN_UNITS_MAX + 1) >> 8;
    over[sizeof over - 1] = (CHAIN_UNITS_MAX + 1) & 0xff;
    uint8_t *tx = splice(grown, l1, off, sizeof at_max, over, sizeof over, &l2);
    free(grown);
    char msg[128];
    assert_int_equal(decode_rc(tx, l2, msg, sizeof msg), CHAIN_ERR_TOO_LARGE);
    /* the count itself is refused, before 10,001 units are allocated and read */
    assert_string_equal(msg, "body.units: 10001 entries, at most 10000");
    uint8_t id[32];
    assert_int_equal(chain_tx_precheck(id, chain_id, NULL, tx, l2, NULL, 0), CHAIN_ERR_TOO_LARGE);
    free(tx);
    free(buf);
}

/* CHAIN_TX_MAX_BYTES is a size the decoder reads: a buffer of exactly that many
 * bytes (a signed tx, then padding) gets past the size check to the content
 * check; one byte more is refused by its size alone. */
static void test_tx_max_bytes_edge(void **state)
{
    (void)state;
    size_t len;
    uint8_t *tx = signed_sample(CHAIN_TX_SELL, &len);
    uint8_t *buf = calloc(1, CHAIN_TX_MAX_BYTES + 1);
    assert_non_null(buf);
    memcpy(buf, tx, len);
    char msg[128];
    assert_int_equal(decode_rc(buf, CHAIN_TX_MAX_BYTES, msg, sizeof msg), CHAIN_ERR_MALFORMED);
    assert_non_null(strstr(msg, "trailing"));
    assert_int_equal(decode_rc(buf, CHAIN_TX_MAX_BYTES + 1, msg, sizeof msg), CHAIN_ERR_TOO_LARGE);
    free(buf);
    free(tx);
}

static void test_tx_over_max_bytes_too_large(void **state)
{
    (void)state;
    size_t len = CHAIN_TX_MAX_BYTES + 1;
    uint8_t *buf = calloc(1, len);
    assert_int_equal(decode_rc(buf, len, NULL, 0), CHAIN_ERR_TOO_LARGE);
    free(buf);
}

static void test_tx_decode_leaves_output_on_failure(void **state)
{
    (void)state;
    chain_tx t;
    memset(&t, 0xab, sizeof t);
    const uint8_t junk[] = {0xa1, 0x00};
    assert_int_not_equal(chain_tx_decode(&t, junk, sizeof junk, NULL, 0), CHAIN_OK);
    assert_int_equal(t.nonce, 0xababababababababull);
}

/* A passkey-signed tx: "auth" beside "sig", outside the id; one encoding; the
 * id from bytes equals the decoded one; JSON round trip; bounds of auth. */
static void test_tx_passkey_auth_roundtrip_and_bounds(void **state)
{
    (void)state;
    static chain_passkey_auth a;
    memset(&a, 0, sizeof a);
    a.pub[0] = 4;
    memset(a.pub + 1, 0x11, 64);
    a.cred_len = 16;
    memset(a.cred, 0xc7, a.cred_len);
    a.adata_len = CHAIN_ADATA_MIN;
    memset(a.adata, 0xad, a.adata_len);
    a.cdata_len = 100;
    memset(a.cdata, '{', a.cdata_len);
    a.sig_len = 70;
    memset(a.sig, 0x30, a.sig_len);
    chain_tx tx, back;
    sample(&tx, CHAIN_TX_WARRANTY_ACTIVATE);
    memset(tx.sig, 0, sizeof tx.sig);
    chain_passkey_id(tx.signer, a.cred, a.cred_len, a.pub);
    uint8_t id_plain[32], id[32], raw_id[32];
    assert_int_equal(chain_tx_id(id_plain, &tx), CHAIN_OK);
    tx.auth = &a;
    assert_int_equal(chain_tx_id(id, &tx), CHAIN_OK);
    assert_memory_equal(id, id_plain, 32); /* the assertion is not part of what it signs */
    uint8_t *buf, *again;
    size_t len, alen;
    assert_int_equal(chain_tx_encode(&buf, &len, &tx), CHAIN_OK);
    assert_int_equal(buf[0], 0xa8);
    assert_int_equal(tx_id_raw(raw_id, buf, len), CHAIN_OK);
    assert_memory_equal(raw_id, id, 32);
    char msg[160];
    assert_int_equal(chain_tx_decode(&back, buf, len, msg, sizeof msg), CHAIN_OK);
    assert_non_null(back.auth);
    assert_int_equal(back.auth->cdata_len, 100);
    assert_memory_equal(back.auth->sig, a.sig, a.sig_len);
    json_t *j = chain_tx_to_json(&back);
    assert_non_null(j);
    chain_tx_free(&back);
    assert_int_equal(chain_tx_from_json(&back, j, msg, sizeof msg), CHAIN_OK);
    json_decref(j);
    assert_int_equal(chain_tx_encode(&again, &alen, &back), CHAIN_OK);
    assert_int_equal(alen, len);
    assert_memory_equal(again, buf, len);
    free(again);
    chain_tx_free(&back);
    /* the precheck without a relying party refuses it; a bad BIP-340 path is not taken */
    assert_int_equal(chain_tx_precheck(raw_id, tx.chain, NULL, buf, len, msg, sizeof msg),
                     CHAIN_ERR_WEBAUTHN_MALFORMED); /* 0x7b... is no JSON object */
    free(buf);
    /* with auth, sig must be 64 zero bytes */
    tx.sig[0] = 1;
    assert_int_equal(chain_tx_encode(&buf, &len, &tx), CHAIN_ERR_MALFORMED);
    tx.sig[0] = 0;
    /* bounds: exactly at them, and one past */
    a.cdata_len = CHAIN_CDATA_MAX;
    a.adata_len = CHAIN_ADATA_MAX;
    a.sig_len = CHAIN_DER_SIG_MAX;
    a.cred_len = CHAIN_CRED_ID_MAX;
    assert_int_equal(chain_tx_encode(&buf, &len, &tx), CHAIN_OK);
    assert_int_equal(chain_tx_decode(&back, buf, len, msg, sizeof msg), CHAIN_OK);
    chain_tx_free(&back);
    free(buf);
    size_t *lens[] = {&a.cdata_len, &a.adata_len, &a.sig_len, &a.cred_len};
    for (size_t k = 0; k < 4; k++) {
        (*lens[k])++;
        assert_int_equal(chain_tx_encode(&buf, &len, &tx), CHAIN_ERR_MALFORMED);
        (*lens[k])--;
    }
    a.adata_len = CHAIN_ADATA_MIN - 1;
    assert_int_equal(chain_tx_encode(&buf, &len, &tx), CHAIN_ERR_MALFORMED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tx_roundtrip_every_type),
        cmocka_unit_test(test_tx_roundtrip_keeps_body_fields),
        cmocka_unit_test(test_tx_id_excludes_sig),
        cmocka_unit_test(test_tx_precheck_accepts_signed_tx),
        cmocka_unit_test(test_tx_other_chain_refused_by_precheck),
        cmocka_unit_test(test_tx_bad_signature_refused_by_precheck),
        cmocka_unit_test(test_tx_non_shortest_int_refused),
        cmocka_unit_test(test_tx_non_shortest_length_refused),
        cmocka_unit_test(test_tx_unsorted_keys_refused),
        cmocka_unit_test(test_tx_indefinite_length_refused),
        cmocka_unit_test(test_tx_duplicate_key_refused),
        cmocka_unit_test(test_tx_extra_field_refused_with_name),
        cmocka_unit_test(test_tx_empty_optional_field_refused),
        cmocka_unit_test(test_tx_trailing_bytes_refused),
        cmocka_unit_test(test_tx_every_truncation_refused),
        cmocka_unit_test(test_tx_garbage_refused),
        cmocka_unit_test(test_tx_deep_nesting_refused),
        cmocka_unit_test(test_tx_nesting_at_depth_limit),
        cmocka_unit_test(test_tx_float_in_body_refused),
        cmocka_unit_test(test_tx_unknown_type_refused),
        cmocka_unit_test(test_tx_missing_required_field_named),
        cmocka_unit_test(test_tx_bad_gtin_serial_region_refused),
        cmocka_unit_test(test_tx_invalid_body_key_refused),
        cmocka_unit_test(test_tx_sell_needs_exactly_one_buyer_form),
        cmocka_unit_test(test_tx_passkey_auth_roundtrip_and_bounds),
        cmocka_unit_test(test_tx_mint_10000_fits_and_decodes),
        cmocka_unit_test(test_tx_mint_over_max_serials_too_large),
        cmocka_unit_test(test_tx_pickup_units_max_fits_and_decodes),
        cmocka_unit_test(test_tx_pickup_over_units_max_too_large),
        cmocka_unit_test(test_tx_over_max_bytes_too_large),
        cmocka_unit_test(test_tx_max_bytes_edge),
        cmocka_unit_test(test_tx_decode_leaves_output_on_failure),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
