/*
 * tls_cert.c — the node TLS certificates the ledger pins (rules in chain.h).
 *
 * The ledger stores a certificate as DER bytes and every node trusts exactly
 * the pinned certificates on its node-to-node links, so a pinned certificate
 * must not be able to vouch for anything but itself: CA:FALSE is required, and
 * the key must have signed the certificate (proof that whoever asked for the
 * pin holds the key). The certificate's validity runs to 9999-12-31, RFC 5280's
 * "no well-defined expiration": a pinned key is retired by a transaction
 * (node.rotate, node.remove), never by a clock. All parsing is OpenSSL's;
 * re-encoding must give back the same bytes, so two nodes never read one pin
 * two ways.
 */
#include "chain/chain.h"

#include <openssl/bio.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(char *errmsg, size_t len, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fail(char *errmsg, size_t len, int code, const char *fmt, ...)
{
    if (errmsg && len) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(errmsg, len, fmt, ap);
        va_end(ap);
    }
    return code;
}

/* true when pk is an EC key on P-256. */
static bool key_is_p256(EVP_PKEY *pk)
{
    if (EVP_PKEY_get_base_id(pk) != EVP_PKEY_EC)
        return false;
    char group[32];
    size_t gl = 0;
    if (EVP_PKEY_get_utf8_string_param(pk, "group", group, sizeof group, &gl) != 1)
        return false;
    return strcmp(group, "prime256v1") == 0 || strcmp(group, "P-256") == 0;
}

int chain_tls_cert_check(uint8_t fp[CHAIN_HASH_LEN], const uint8_t *der, size_t len, char *errmsg,
                         size_t errmsg_len)
{
    if (len == 0)
        return fail(errmsg, errmsg_len, CHAIN_ERR_INVALID, "empty certificate");
    if (len > CHAIN_TLS_CERT_MAX)
        return fail(errmsg, errmsg_len, CHAIN_ERR_TOO_LARGE, "certificate over %d bytes",
                    CHAIN_TLS_CERT_MAX);
    const unsigned char *p = der;
    X509 *x = d2i_X509(NULL, &p, (long)len);
    unsigned char *re = NULL, *spki = NULL;
    EVP_PKEY *pk = NULL;
    int rc = CHAIN_ERR_INVALID;
    if (!x || p != der + len) {
        fail(errmsg, errmsg_len, rc, "not one DER X.509 certificate");
        goto done;
    }
    int rl = i2d_X509(x, &re);
    if (rl != (int)len || memcmp(re, der, len) != 0) {
        fail(errmsg, errmsg_len, rc, "not canonical DER");
        goto done;
    }
    if (X509_get_version(x) != X509_VERSION_3) {
        fail(errmsg, errmsg_len, rc, "not an X.509 v3 certificate");
        goto done;
    }
    uint32_t fl = X509_get_extension_flags(x);
    if (fl & EXFLAG_INVALID) {
        fail(errmsg, errmsg_len, rc, "invalid extensions");
        goto done;
    }
    if (!(fl & EXFLAG_BCONS) || (fl & EXFLAG_CA) || X509_check_ca(x) != 0) {
        fail(errmsg, errmsg_len, rc,
             "a CA certificate (needs basicConstraints CA:FALSE: a pinned node "
             "certificate must not vouch for other keys)");
        goto done;
    }
    pk = X509_get_pubkey(x);
    if (!pk || !key_is_p256(pk)) {
        fail(errmsg, errmsg_len, rc, "key is not EC P-256");
        goto done;
    }
    if (X509_verify(x, pk) != 1) {
        fail(errmsg, errmsg_len, rc, "not self-signed by its key");
        goto done;
    }
    if (fp) {
        int sl = i2d_PUBKEY(pk, &spki);
        if (sl <= 0) {
            fail(errmsg, errmsg_len, rc, "key cannot be encoded");
            goto done;
        }
        SHA256(spki, (size_t)sl, fp);
    }
    rc = CHAIN_OK;
done:
    OPENSSL_free(re);
    OPENSSL_free(spki);
    EVP_PKEY_free(pk);
    X509_free(x);
    return rc;
}

static bool add_ext(X509 *x, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
    X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    bool ok = e && X509_add_ext(x, e, -1) == 1;
    X509_EXTENSION_free(e);
    return ok;
}

int chain_tls_key_new(char **pem, uint8_t der[CHAIN_TLS_CERT_MAX], size_t *der_len, const char *cn)
{
    EVP_PKEY *pk = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    BIO *b = BIO_new(BIO_s_mem());
    unsigned char *d = NULL;
    int rc = CHAIN_ERR_INVALID;
    uint8_t serial[16];
    BIGNUM *sn = NULL;
    if (!pk || !x || !b || RAND_bytes(serial, sizeof serial) != 1)
        goto done;
    serial[0] &= 0x7f; /* positive */
    sn = BN_bin2bn(serial, sizeof serial, NULL);
    X509_NAME *name = X509_get_subject_name(x);
    if (!sn || !BN_to_ASN1_INTEGER(sn, X509_get_serialNumber(x)) ||
        X509_set_version(x, X509_VERSION_3) != 1 ||
        !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1,
                                    0) ||
        X509_set_issuer_name(x, name) != 1 ||
        !ASN1_TIME_set_string_X509(X509_getm_notBefore(x), "20000101000000Z") ||
        !ASN1_TIME_set_string_X509(X509_getm_notAfter(x), "99991231235959Z") ||
        X509_set_pubkey(x, pk) != 1 || !add_ext(x, NID_basic_constraints, "critical,CA:FALSE") ||
        !add_ext(x, NID_key_usage, "critical,digitalSignature") ||
        !add_ext(x, NID_ext_key_usage, "serverAuth,clientAuth") ||
        X509_sign(x, pk, EVP_sha256()) <= 0)
        goto done;
    int dl = i2d_X509(x, &d);
    if (dl <= 0 || dl > CHAIN_TLS_CERT_MAX)
        goto done;
    if (PEM_write_bio_PrivateKey(b, pk, NULL, NULL, 0, NULL, NULL) != 1 ||
        PEM_write_bio_X509(b, x) != 1)
        goto done;
    char *mem;
    long ml = BIO_get_mem_data(b, &mem);
    char *out = malloc((size_t)ml + 1);
    if (!out)
        goto done;
    memcpy(out, mem, (size_t)ml);
    out[ml] = '\0';
    memcpy(der, d, (size_t)dl);
    *der_len = (size_t)dl;
    *pem = out;
    rc = CHAIN_OK;
done:
    if (b) {
        char *mem;
        long ml = BIO_get_mem_data(b, &mem);
        if (ml > 0)
            OPENSSL_cleanse(mem, (size_t)ml);
    }
    BIO_free(b);
    BN_free(sn);
    OPENSSL_free(d);
    X509_free(x);
    EVP_PKEY_free(pk);
    return rc;
}

int chain_tls_cert_from_pem(uint8_t der[CHAIN_TLS_CERT_MAX], size_t *der_len, const char *pem,
                            size_t pem_len)
{
    if (pem_len > INT32_MAX)
        return CHAIN_ERR_TOO_LARGE;
    BIO *b = BIO_new_mem_buf(pem, (int)pem_len);
    X509 *x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
    unsigned char *d = NULL;
    int dl = x ? i2d_X509(x, &d) : -1;
    int rc = CHAIN_ERR_INVALID;
    if (dl > CHAIN_TLS_CERT_MAX)
        rc = CHAIN_ERR_TOO_LARGE;
    else if (dl > 0) {
        memcpy(der, d, (size_t)dl);
        *der_len = (size_t)dl;
        rc = CHAIN_OK;
    }
    OPENSSL_free(d);
    X509_free(x);
    BIO_free(b);
    return rc;
}
