/*
 * test_tls_cert.c — what the ledger accepts as a node's pinned TLS certificate
 * (chain_tls_cert_check), one test per rule, and the rules of node.add /
 * node.rotate / genesis that use it. Certificates are made here with OpenSSL
 * the way an operator (or an attacker) could make them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "chain/chain.h"

/* A self-signed certificate of a fresh key of `curve` with the given
 * basicConstraints ("" for none), signed by `signer` (NULL: its own key). */
static size_t make_cert(uint8_t *out, size_t cap, const char *curve, const char *bc,
                        EVP_PKEY **key_out, EVP_PKEY *signer)
{
    EVP_PKEY *k = EVP_EC_gen(curve);
    X509 *x = X509_new();
    assert_non_null(k);
    X509_set_version(x, X509_VERSION_3);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 7);
    X509_NAME *n = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8, (const unsigned char *)"t", -1, -1, 0);
    X509_set_issuer_name(x, n);
    ASN1_TIME_set_string_X509(X509_getm_notBefore(x), "20000101000000Z");
    ASN1_TIME_set_string_X509(X509_getm_notAfter(x), "99991231235959Z");
    X509_set_pubkey(x, k);
    if (bc[0]) {
        X509V3_CTX ctx;
        X509V3_set_ctx_nodb(&ctx);
        X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
        X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &ctx, NID_basic_constraints, bc);
        assert_non_null(e);
        X509_add_ext(x, e, -1);
        X509_EXTENSION_free(e);
    }
    assert_true(X509_sign(x, signer ? signer : k, EVP_sha256()) > 0);
    unsigned char *d = NULL;
    int dl = i2d_X509(x, &d);
    assert_true(dl > 0 && (size_t)dl <= cap);
    memcpy(out, d, (size_t)dl);
    OPENSSL_free(d);
    X509_free(x);
    if (key_out)
        *key_out = k;
    else
        EVP_PKEY_free(k);
    return (size_t)dl;
}

static void test_tls_key_new_is_pinnable(void **state)
{
    (void)state;
    char *pem;
    uint8_t der[CHAIN_TLS_CERT_MAX], der2[CHAIN_TLS_CERT_MAX], fp[32], fp2[32];
    size_t dl, dl2;
    assert_int_equal(chain_tls_key_new(&pem, der, &dl, "node 1"), CHAIN_OK);
    assert_non_null(strstr(pem, "PRIVATE KEY"));
    assert_non_null(strstr(pem, "BEGIN CERTIFICATE"));
    assert_int_equal(chain_tls_cert_check(fp, der, dl, NULL, 0), CHAIN_OK);
    /* the certificate read back from the key file's PEM is the same one */
    assert_int_equal(chain_tls_cert_from_pem(der2, &dl2, pem, strlen(pem)), CHAIN_OK);
    assert_int_equal(dl2, dl);
    assert_memory_equal(der2, der, dl);
    assert_int_equal(chain_tls_cert_check(fp2, der2, dl2, NULL, 0), CHAIN_OK);
    assert_memory_equal(fp, fp2, 32);
    free(pem);
}

static void test_tls_ca_certificate_refused(void **state)
{
    (void)state;
    uint8_t der[CHAIN_TLS_CERT_MAX];
    char why[160];
    size_t n = make_cert(der, sizeof der, "P-256", "critical,CA:TRUE", NULL, NULL);
    assert_int_equal(chain_tls_cert_check(NULL, der, n, why, sizeof why), CHAIN_ERR_INVALID);
    assert_non_null(strstr(why, "CA"));
    /* no basicConstraints at all: a v3 certificate then may act as a CA */
    n = make_cert(der, sizeof der, "P-256", "", NULL, NULL);
    assert_int_equal(chain_tls_cert_check(NULL, der, n, why, sizeof why), CHAIN_ERR_INVALID);
    assert_non_null(strstr(why, "CA"));
    /* the control: the same with CA:FALSE is pinnable */
    n = make_cert(der, sizeof der, "P-256", "critical,CA:FALSE", NULL, NULL);
    assert_int_equal(chain_tls_cert_check(NULL, der, n, why, sizeof why), CHAIN_OK);
}

static void test_tls_other_curve_refused(void **state)
{
    (void)state;
    uint8_t der[CHAIN_TLS_CERT_MAX];
    char why[160];
    size_t n = make_cert(der, sizeof der, "P-384", "critical,CA:FALSE", NULL, NULL);
    assert_int_equal(chain_tls_cert_check(NULL, der, n, why, sizeof why), CHAIN_ERR_INVALID);
    assert_non_null(strstr(why, "P-256"));
}

static void test_tls_not_self_signed_refused(void **state)
{
    (void)state;
    uint8_t der[CHAIN_TLS_CERT_MAX];
    char why[160];
    EVP_PKEY *other = EVP_EC_gen("P-256");
    size_t n = make_cert(der, sizeof der, "P-256", "critical,CA:FALSE", NULL, other);
    assert_int_equal(chain_tls_cert_check(NULL, der, n, why, sizeof why), CHAIN_ERR_INVALID);
    assert_non_null(strstr(why, "self-signed"));
    EVP_PKEY_free(other);
}

static void test_tls_garbage_truncated_trailing_refused(void **state)
{
    (void)state;
    uint8_t der[CHAIN_TLS_CERT_MAX + 2];
    char why[160];
    size_t n = make_cert(der, sizeof der, "P-256", "critical,CA:FALSE", NULL, NULL);
    assert_int_equal(chain_tls_cert_check(NULL, der, 0, why, sizeof why), CHAIN_ERR_INVALID);
    for (size_t cut = 1; cut < n; cut += 37)
        assert_int_equal(chain_tls_cert_check(NULL, der, cut, NULL, 0), CHAIN_ERR_INVALID);
    der[n] = 0; /* one trailing byte */
    assert_int_equal(chain_tls_cert_check(NULL, der, n + 1, why, sizeof why), CHAIN_ERR_INVALID);
    memset(der, 0x30, sizeof der);
    assert_int_equal(chain_tls_cert_check(NULL, der, 200, NULL, 0), CHAIN_ERR_INVALID);
}

/* CHAIN_TLS_CERT_MAX: a certificate of exactly that many bytes is judged by
 * its content (these bytes are no certificate: invalid), one more is too
 * large before anything is parsed. */
static void test_tls_size_limit(void **state)
{
    (void)state;
    static uint8_t buf[CHAIN_TLS_CERT_MAX + 1];
    memset(buf, 0x41, sizeof buf);
    assert_int_equal(chain_tls_cert_check(NULL, buf, CHAIN_TLS_CERT_MAX, NULL, 0),
                     CHAIN_ERR_INVALID);
    assert_int_equal(chain_tls_cert_check(NULL, buf, CHAIN_TLS_CERT_MAX + 1, NULL, 0),
                     CHAIN_ERR_TOO_LARGE);
}

/* The transaction codec carries a certificate of 1..CHAIN_TLS_CERT_MAX bytes
 * and refuses one byte more (and an empty one) before any signature check. */
static void test_tls_tx_field_bounds(void **state)
{
    (void)state;
    uint8_t sk[32], pub[32];
    assert_int_equal(chain_key_generate(sk, pub), CHAIN_OK);
    char *pem;
    chain_tx tx;
    memset(&tx, 0, sizeof tx);
    tx.type = CHAIN_TX_NODE_ROTATE;
    tx.nonce = 1;
    tx.node_id = 2;
    assert_int_equal(chain_tls_key_new(&pem, tx.tls, &tx.tls_len, "n"), CHAIN_OK);
    free(pem);
    assert_int_equal(chain_tx_sign(&tx, sk), CHAIN_OK);
    uint8_t *buf;
    size_t len;
    assert_int_equal(chain_tx_encode(&buf, &len, &tx), CHAIN_OK);
    chain_tx back;
    char msg[200];
    int rc = chain_tx_decode(&back, buf, len, msg, sizeof msg);
    if (rc != CHAIN_OK)
        fail_msg("decode: %s (%s)", chain_err_code(rc), msg);
    assert_int_equal(back.tls_len, tx.tls_len);
    assert_memory_equal(back.tls, tx.tls, tx.tls_len);
    chain_tx_free(&back);
    free(buf);
    /* a CA certificate in the field: refused before it is even signed */
    tx.tls_len = make_cert(tx.tls, sizeof tx.tls, "P-256", "critical,CA:TRUE", NULL, NULL);
    assert_int_equal(chain_tx_sign(&tx, sk), CHAIN_ERR_INVALID);
    assert_int_equal(chain_tx_encode(&buf, &len, &tx), CHAIN_ERR_INVALID);
    explicit_bzero(sk, sizeof sk);
}

/* A v1 certificate, a key that is not EC (Ed25519), and PEM that holds no
 * certificate, a certificate too large to pin, or an absurd length. */
static void test_tls_version_key_type_and_pem_refused(void **state)
{
    (void)state;
    char why[160];
    uint8_t der[4 * CHAIN_TLS_CERT_MAX];
    for (int v1 = 1; v1 >= 0; v1--) {
        EVP_PKEY *k = v1 ? EVP_EC_gen("P-256") : EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
        assert_non_null(k);
        X509 *x = X509_new();
        X509_set_version(x, v1 ? X509_VERSION_1 : X509_VERSION_3);
        ASN1_INTEGER_set(X509_get_serialNumber(x), 9);
        X509_NAME *n = X509_get_subject_name(x);
        X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8, (const unsigned char *)"t", -1, -1, 0);
        X509_set_issuer_name(x, n);
        ASN1_TIME_set_string_X509(X509_getm_notBefore(x), "20000101000000Z");
        ASN1_TIME_set_string_X509(X509_getm_notAfter(x), "99991231235959Z");
        X509_set_pubkey(x, k);
        if (!v1) {
            X509V3_CTX ctx;
            X509V3_set_ctx_nodb(&ctx);
            X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
            X509_EXTENSION *e =
                X509V3_EXT_conf_nid(NULL, &ctx, NID_basic_constraints, "critical,CA:FALSE");
            assert_non_null(e);
            X509_add_ext(x, e, -1);
            X509_EXTENSION_free(e);
        }
        assert_true(X509_sign(x, k, v1 ? EVP_sha256() : NULL) > 0);
        unsigned char *d = NULL;
        int dl = i2d_X509(x, &d);
        assert_true(dl > 0 && (size_t)dl <= sizeof der);
        memcpy(der, d, (size_t)dl);
        OPENSSL_free(d);
        assert_int_equal(chain_tls_cert_check(NULL, der, (size_t)dl, why, sizeof why),
                         CHAIN_ERR_INVALID);
        assert_non_null(strstr(why, v1 ? "not an X.509 v3 certificate" : "key is not EC P-256"));
        X509_free(x);
        EVP_PKEY_free(k);
    }
    size_t len = 0;
    const char *not_pem = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
    assert_int_equal(chain_tls_cert_from_pem(der, &len, not_pem, strlen(not_pem)),
                     CHAIN_ERR_INVALID);
    assert_int_equal(chain_tls_cert_from_pem(der, &len, "", 0), CHAIN_ERR_INVALID);
    assert_int_equal(chain_tls_cert_from_pem(der, &len, not_pem, (size_t)INT32_MAX + 1),
                     CHAIN_ERR_TOO_LARGE);
    assert_int_equal(len, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tls_key_new_is_pinnable),
        cmocka_unit_test(test_tls_ca_certificate_refused),
        cmocka_unit_test(test_tls_other_curve_refused),
        cmocka_unit_test(test_tls_not_self_signed_refused),
        cmocka_unit_test(test_tls_garbage_truncated_trailing_refused),
        cmocka_unit_test(test_tls_size_limit),
        cmocka_unit_test(test_tls_tx_field_bounds),
        cmocka_unit_test(test_tls_version_key_type_and_pem_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
