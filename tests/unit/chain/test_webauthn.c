/* test_webauthn.c — passkey assertions: vectors made by another implementation
 * (tests/vectors/webauthn_vectors.py, pyca/cryptography), each broken in one
 * way and refused with its own code; the parsers' bounds at and past them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "chain/chain.h"
#include "webauthn_vectors.h"

static chain_rp rp_of(bool require_uv)
{
    chain_rp rp;
    memset(&rp, 0, sizeof rp);
    snprintf(rp.id, sizeof rp.id, "%s", WV_RP);
    snprintf(rp.origins[0], sizeof rp.origins[0], "%s", "https://shop.example");
    snprintf(rp.origins[1], sizeof rp.origins[1], "%s", WV_ORIGIN);
    rp.norigins = 2;
    rp.require_uv = require_uv;
    return rp;
}

static chain_passkey_auth auth_of(const wv_case *c)
{
    chain_passkey_auth a;
    memset(&a, 0, sizeof a);
    memcpy(a.cred, wv_cred, sizeof wv_cred);
    a.cred_len = sizeof wv_cred;
    memcpy(a.pub, c->pub, 65);
    memcpy(a.adata, c->adata, c->adata_len);
    a.adata_len = c->adata_len;
    memcpy(a.cdata, c->cdata, c->cdata_len);
    a.cdata_len = c->cdata_len;
    memcpy(a.sig, c->sig, c->sig_len);
    a.sig_len = c->sig_len;
    return a;
}

static void test_vectors_each_refused_with_its_code(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof wv_cases / sizeof *wv_cases; i++) {
        const wv_case *c = &wv_cases[i];
        chain_rp rp = rp_of(c->require_uv);
        chain_passkey_auth a = auth_of(c);
        char msg[160] = "";
        uint32_t count = 0;
        int rc = chain_webauthn_verify(&rp, &a, wv_challenge, &count, msg, sizeof msg);
        if (rc != c->code)
            fail_msg("%s: got %s (%s), want %s", c->name, chain_err_code(rc), msg,
                     chain_err_code(c->code));
        if (rc == CHAIN_OK)
            assert_int_equal(count, 7);
        else
            assert_true(msg[0] != '\0'); /* every refusal says why */
    }
}

static void test_valid_assertion_refused_for_another_network(void **state)
{
    (void)state;
    const wv_case *c = &wv_cases[0];
    assert_string_equal(c->name, "valid");
    chain_passkey_auth a = auth_of(c);
    char msg[160];
    /* another rp id with the same origins: the rpIdHash tells */
    chain_rp rp = rp_of(false);
    snprintf(rp.id, sizeof rp.id, "example.com");
    assert_int_equal(chain_webauthn_verify(&rp, &a, wv_challenge, NULL, msg, sizeof msg),
                     CHAIN_ERR_WEBAUTHN_RP);
    /* a network without passkeys, and no rp at all */
    chain_rp none;
    memset(&none, 0, sizeof none);
    none.norigins = 1;
    snprintf(none.origins[0], sizeof none.origins[0], "%s", WV_ORIGIN);
    assert_int_equal(chain_webauthn_verify(&none, &a, wv_challenge, NULL, msg, sizeof msg),
                     CHAIN_ERR_WEBAUTHN_RP);
    assert_int_equal(chain_webauthn_verify(NULL, &a, wv_challenge, NULL, msg, sizeof msg),
                     CHAIN_ERR_WEBAUTHN_ORIGIN);
    /* origins compare exactly: no prefix, no trailing slash, no case folding */
    static const char *const near[] = {"http://localhost:81011", "http://localhost:8101/",
                                       "HTTP://localhost:8101", ""};
    for (size_t i = 0; i < sizeof near / sizeof *near; i++) {
        rp = rp_of(false);
        snprintf(rp.origins[1], sizeof rp.origins[1], "%s", near[i]);
        assert_int_equal(chain_webauthn_verify(&rp, &a, wv_challenge, NULL, msg, sizeof msg),
                         CHAIN_ERR_WEBAUTHN_ORIGIN);
    }
    /* the challenge is the tx id: any other id is refused (a replay onto another tx) */
    uint8_t other[32];
    memcpy(other, wv_challenge, 32);
    other[31] ^= 1;
    rp = rp_of(false);
    assert_int_equal(chain_webauthn_verify(&rp, &a, other, NULL, msg, sizeof msg),
                     CHAIN_ERR_WEBAUTHN_CHALLENGE);
}

/* The stateless half (admission, the block pre-pass) and the relying-party
 * half (apply, against the rp in force) split the checks between them: each
 * vector is refused by exactly the half that owns its defect, and an
 * assertion valid under one rp fails only the rp half under another. */
static void test_halves_split_the_checks(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof wv_cases / sizeof *wv_cases; i++) {
        const wv_case *c = &wv_cases[i];
        chain_rp rp = rp_of(c->require_uv);
        chain_passkey_auth a = auth_of(c);
        char msg[160] = "";
        int s = chain_webauthn_verify_sig(&a, wv_challenge, NULL, msg, sizeof msg);
        int r = chain_webauthn_check_rp(&rp, &a, msg, sizeof msg);
        bool rp_defect = c->code == CHAIN_ERR_WEBAUTHN_ORIGIN || c->code == CHAIN_ERR_WEBAUTHN_RP ||
                         strcmp(c->name, "not_verified_uv_required") == 0;
        if (c->code == CHAIN_OK || rp_defect) {
            if (s != CHAIN_OK)
                fail_msg("%s: signature half says %s", c->name, chain_err_code(s));
            if (r != c->code)
                fail_msg("%s: rp half says %s, want %s", c->name, chain_err_code(r),
                         chain_err_code(c->code));
        } else if (s != c->code) {
            fail_msg("%s: signature half says %s, want %s", c->name, chain_err_code(s),
                     chain_err_code(c->code));
        }
    }
    /* the valid assertion after the network moved to another rp: signature
       still fine, relying party refused (rpIdHash, then origin) */
    chain_passkey_auth a = auth_of(&wv_cases[0]);
    char msg[160];
    chain_rp moved = rp_of(false);
    snprintf(moved.id, sizeof moved.id, "shop.example");
    assert_int_equal(chain_webauthn_verify_sig(&a, wv_challenge, NULL, msg, sizeof msg), CHAIN_OK);
    assert_int_equal(chain_webauthn_check_rp(&moved, &a, msg, sizeof msg), CHAIN_ERR_WEBAUTHN_RP);
    moved.norigins = 1; /* only https://shop.example */
    assert_int_equal(chain_webauthn_check_rp(&moved, &a, msg, sizeof msg),
                     CHAIN_ERR_WEBAUTHN_ORIGIN);
    /* and one that now asks for user verification, which this one lacks */
    chain_rp uv = rp_of(true);
    const wv_case *pnv = NULL;
    for (size_t i = 0; i < sizeof wv_cases / sizeof *wv_cases; i++)
        if (strcmp(wv_cases[i].name, "present_not_verified") == 0)
            pnv = &wv_cases[i];
    assert_non_null(pnv);
    a = auth_of(pnv);
    assert_int_equal(chain_webauthn_check_rp(&uv, &a, msg, sizeof msg),
                     CHAIN_ERR_WEBAUTHN_PRESENCE);
    uv.require_uv = false;
    assert_int_equal(chain_webauthn_check_rp(&uv, &a, msg, sizeof msg), CHAIN_OK);
}

static void test_passkey_id_known_answer(void **state)
{
    (void)state;
    uint8_t id[32];
    chain_passkey_id(id, wv_cred, sizeof wv_cred, wv_pub);
    assert_memory_equal(id, wv_passkey_id, 32);
}

static void test_bounds_at_and_past(void **state)
{
    (void)state;
    chain_rp rp = rp_of(false);
    chain_passkey_auth a = auth_of(&wv_cases[0]);
    char msg[160];
    uint8_t h[32], f;
    uint32_t n;
    uint8_t big[CHAIN_ADATA_MAX + 1];
    memset(big, 0, sizeof big);
    assert_int_equal(chain_webauthn_adata(h, &f, &n, big, CHAIN_ADATA_MIN), CHAIN_OK);
    assert_int_equal(chain_webauthn_adata(h, &f, &n, big, CHAIN_ADATA_MIN - 1),
                     CHAIN_ERR_WEBAUTHN_MALFORMED);
    assert_int_equal(chain_webauthn_adata(h, &f, &n, big, CHAIN_ADATA_MAX), CHAIN_OK);
    assert_int_equal(chain_webauthn_adata(h, &f, &n, big, CHAIN_ADATA_MAX + 1),
                     CHAIN_ERR_WEBAUTHN_MALFORMED);
    /* clientDataJSON of exactly CHAIN_CDATA_MAX bytes parses; one more does not */
    char cd[CHAIN_CDATA_MAX + 2];
    int head = snprintf(cd, sizeof cd,
                        "{\"type\":\"webauthn.get\",\"challenge\":\"c\","
                        "\"origin\":\"o\",\"pad\":\"");
    size_t pad = CHAIN_CDATA_MAX - (size_t)head - 2;
    memset(cd + head, 'x', pad);
    memcpy(cd + head + pad, "\"}", 2);
    chain_cdata out;
    assert_int_equal(chain_webauthn_cdata(&out, (uint8_t *)cd, CHAIN_CDATA_MAX, msg, sizeof msg),
                     CHAIN_OK);
    assert_string_equal(out.type, "webauthn.get");
    memmove(cd + head + 1, cd + head, pad + 2);
    assert_int_equal(
        chain_webauthn_cdata(&out, (uint8_t *)cd, CHAIN_CDATA_MAX + 1, msg, sizeof msg),
        CHAIN_ERR_WEBAUTHN_MALFORMED);
    assert_int_equal(chain_webauthn_cdata(&out, (uint8_t *)cd, 0, msg, sizeof msg),
                     CHAIN_ERR_WEBAUTHN_MALFORMED);
    /* an origin of CHAIN_ORIGIN_MAX characters fits, one more is malformed */
    char o[CHAIN_ORIGIN_MAX + 2];
    for (int extra = 0; extra <= 1; extra++) {
        memset(o, 'o', sizeof o);
        o[CHAIN_ORIGIN_MAX + extra] = '\0';
        int k = snprintf(cd, sizeof cd,
                         "{\"type\":\"webauthn.get\",\"challenge\":\"c\",\"origin\":\"%s\"}", o);
        assert_int_equal(chain_webauthn_cdata(&out, (uint8_t *)cd, (size_t)k, msg, sizeof msg),
                         extra ? CHAIN_ERR_WEBAUTHN_MALFORMED : CHAIN_OK);
    }
    /* credential id 1..CHAIN_CRED_ID_MAX; signature 8..CHAIN_DER_SIG_MAX */
    a.cred_len = 0;
    assert_int_equal(chain_webauthn_verify(&rp, &a, wv_challenge, NULL, msg, sizeof msg),
                     CHAIN_ERR_WEBAUTHN_MALFORMED);
    a.cred_len = CHAIN_CRED_ID_MAX + 1;
    assert_int_equal(chain_webauthn_verify(&rp, &a, wv_challenge, NULL, msg, sizeof msg),
                     CHAIN_ERR_WEBAUTHN_MALFORMED);
    a.cred_len = CHAIN_CRED_ID_MAX; /* the id is not signed: the assertion still verifies */
    assert_int_equal(chain_webauthn_verify(&rp, &a, wv_challenge, NULL, msg, sizeof msg), CHAIN_OK);
    a.sig_len = CHAIN_DER_SIG_MAX + 1;
    assert_int_equal(chain_webauthn_verify(&rp, &a, wv_challenge, NULL, msg, sizeof msg),
                     CHAIN_ERR_WEBAUTHN_MALFORMED);
    a.sig_len = 7;
    assert_int_equal(chain_webauthn_verify(&rp, &a, wv_challenge, NULL, msg, sizeof msg),
                     CHAIN_ERR_WEBAUTHN_MALFORMED);
}

/* clientDataJSON of each wrong shape, refused webauthn_malformed with the
 * member named; crossOrigin optional but a boolean when present. */
static void test_cdata_shapes_refused(void **state)
{
    (void)state;
    static const struct {
        const char *json, *want;
    } cases[] = {
        {"{\"type\":", "not JSON"},
        {"[1]", "not an object"},
        {"{\"challenge\":\"x\",\"origin\":\"https://a\"}", "type: missing"},
        {"{\"type\":7,\"challenge\":\"x\",\"origin\":\"https://a\"}", "type: missing"},
        {"{\"type\":\"webauthn.get\",\"origin\":\"https://a\"}", "challenge: missing"},
        {"{\"type\":\"webauthn.get\",\"challenge\":\"x\"}", "origin: missing"},
        {"{\"type\":\"webauthn.get\",\"challenge\":\"x\",\"origin\":\"https://a\","
         "\"crossOrigin\":\"no\"}",
         "crossOrigin: not a boolean"},
        {"{\"type\":\"webauthn.get\",\"type\":\"webauthn.get\",\"challenge\":\"x\","
         "\"origin\":\"https://a\"}",
         "not JSON"}, /* a duplicate member */
        {"{\"type\":\"web\\u0000authn.get\",\"challenge\":\"x\",\"origin\":\"https://a\"}",
         "not JSON"}, /* an escaped NUL: the parser refuses it */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        chain_cdata out;
        char msg[160] = "";
        int rc = chain_webauthn_cdata(&out, (const uint8_t *)cases[i].json,
                                      strlen(cases[i].json), msg, sizeof msg);
        if (rc != CHAIN_ERR_WEBAUTHN_MALFORMED || strstr(msg, cases[i].want) == NULL)
            fail_msg("case %zu: %s \"%s\", want webauthn_malformed \"%s\"", i, chain_err_code(rc),
                     msg, cases[i].want);
    }
    chain_cdata out;
    const char *ok = "{\"type\":\"webauthn.get\",\"challenge\":\"x\",\"origin\":\"https://a\","
                     "\"crossOrigin\":true}";
    assert_int_equal(chain_webauthn_cdata(&out, (const uint8_t *)ok, strlen(ok), NULL, 0),
                     CHAIN_OK);
    assert_true(out.cross_origin);
    assert_string_equal(out.origin, "https://a");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vectors_each_refused_with_its_code),
        cmocka_unit_test(test_valid_assertion_refused_for_another_network),
        cmocka_unit_test(test_halves_split_the_checks),
        cmocka_unit_test(test_passkey_id_known_answer),
        cmocka_unit_test(test_bounds_at_and_past),
        cmocka_unit_test(test_cdata_shapes_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
