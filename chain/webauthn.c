/*
 * webauthn.c — passkey assertions, verified the same way on every node.
 *
 * A passkey-signed transaction carries the browser's assertion: the
 * authenticator's data (rpIdHash, flags, counter), the clientDataJSON the
 * browser wrote (type, challenge, origin) and a DER ECDSA P-256 signature over
 * authenticatorData || SHA-256(clientDataJSON). Two halves, each refusal with
 * its own error code. chain_webauthn_verify_sig needs no ledger state: that
 * both parse, the type, that the challenge is the tx id, user presence, and
 * last the signature, because it is the expensive step; it runs at admission
 * and in the block pre-pass on worker threads. chain_webauthn_check_rp holds
 * the assertion to a relying party (origin, rpIdHash, user verification when
 * asked): the rules run it at apply against the rp in force then, which
 * governance (rp.set) may have changed since genesis. Curve arithmetic and DER are OpenSSL's (EVP,
 * which also refuses a non-canonical DER encoding); JSON is jansson's. Nothing here keeps state:
 * the signature counter is returned for the rules to compare.
 */
#include <jansson.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "chain/cbor_util.h"
#include "chain/chain.h"

#define FLAG_UP 0x01u
#define FLAG_UV 0x04u

static int wfail(char *errmsg, size_t len, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int wfail(char *errmsg, size_t len, int code, const char *fmt, ...)
{
    if (errmsg != NULL && len > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(errmsg, len, fmt, ap);
        va_end(ap);
    }
    return code;
}

void chain_passkey_id(uint8_t out[CHAIN_HASH_LEN], const uint8_t *cred, size_t cred_len,
                      const uint8_t pub[CHAIN_P256_PUB_LEN])
{
    uint8_t buf[CHAIN_CRED_ID_MAX + CHAIN_P256_PUB_LEN + 16];
    memset(out, 0, CHAIN_HASH_LEN);
    if (cred_len > CHAIN_CRED_ID_MAX)
        return;
    cbu_wr w;
    cbu_wr_init_fixed(&w, buf, sizeof buf);
    cbu_put_array(&w, 2);
    cbu_put_bytes(&w, cred, cred_len);
    cbu_put_bytes(&w, pub, CHAIN_P256_PUB_LEN);
    uint8_t *p;
    size_t n;
    if (cbu_wr_finish(&w, &p, &n) == CHAIN_OK)
        chain_tagged_hash(out, CHAIN_TAG_PASSKEY, p, n);
}

/* Copies a JSON string member into out[cap]; false when absent, not a string,
 * holding a NUL or too long. */
static bool get_str(const json_t *o, const char *key, char *out, size_t cap)
{
    const json_t *v = json_object_get(o, key);
    if (!json_is_string(v))
        return false;
    size_t n = json_string_length(v);
    const char *s = json_string_value(v);
    if (n >= cap || memchr(s, '\0', n) != NULL)
        return false;
    memcpy(out, s, n);
    out[n] = '\0';
    return true;
}

int chain_webauthn_cdata(chain_cdata *out, const uint8_t *json, size_t len, char *errmsg,
                         size_t elen)
{
    if (len == 0 || len > CHAIN_CDATA_MAX)
        return wfail(errmsg, elen, CHAIN_ERR_WEBAUTHN_MALFORMED, "clientDataJSON: %zu bytes, 1..%d",
                     len, CHAIN_CDATA_MAX);
    json_error_t jerr;
    json_t *o = json_loadb((const char *)json, len, JSON_REJECT_DUPLICATES, &jerr);
    chain_cdata c;
    memset(&c, 0, sizeof c);
    int rc = CHAIN_OK;
    if (o == NULL) {
        rc = wfail(errmsg, elen, CHAIN_ERR_WEBAUTHN_MALFORMED, "clientDataJSON: not JSON");
    } else if (!json_is_object(o)) {
        rc = wfail(errmsg, elen, CHAIN_ERR_WEBAUTHN_MALFORMED, "clientDataJSON: not an object");
    } else if (!get_str(o, "type", c.type, sizeof c.type)) {
        rc = wfail(errmsg, elen, CHAIN_ERR_WEBAUTHN_MALFORMED, "clientDataJSON.type: missing");
    } else if (!get_str(o, "challenge", c.challenge, sizeof c.challenge)) {
        rc = wfail(errmsg, elen, CHAIN_ERR_WEBAUTHN_MALFORMED,
                   "clientDataJSON.challenge: missing or too long");
    } else if (!get_str(o, "origin", c.origin, sizeof c.origin)) {
        rc = wfail(errmsg, elen, CHAIN_ERR_WEBAUTHN_MALFORMED,
                   "clientDataJSON.origin: missing or too long");
    } else {
        const json_t *co = json_object_get(o, "crossOrigin");
        if (co != NULL && !json_is_boolean(co))
            rc = wfail(errmsg, elen, CHAIN_ERR_WEBAUTHN_MALFORMED,
                       "clientDataJSON.crossOrigin: not a boolean");
        c.cross_origin = json_is_true(co);
    }
    json_decref(o);
    if (rc == CHAIN_OK)
        *out = c;
    return rc;
}

int chain_webauthn_adata(uint8_t rp_hash[CHAIN_HASH_LEN], uint8_t *flags, uint32_t *count,
                         const uint8_t *adata, size_t len)
{
    if (len < CHAIN_ADATA_MIN || len > CHAIN_ADATA_MAX)
        return CHAIN_ERR_WEBAUTHN_MALFORMED;
    memcpy(rp_hash, adata, CHAIN_HASH_LEN);
    *flags = adata[32];
    *count = (uint32_t)adata[33] << 24 | (uint32_t)adata[34] << 16 | (uint32_t)adata[35] << 8 |
             (uint32_t)adata[36];
    return CHAIN_OK;
}

static void sha256(uint8_t out[32], const void *p, size_t n)
{
    unsigned int ol = 32;
    if (EVP_Digest(p, n, out, &ol, EVP_sha256(), NULL) != 1)
        memset(out, 0, 32); /* never matches a real hash */
}

/* The P-256 public key of a SEC1 point, checked to lie on the curve; NULL if not. */
static EVP_PKEY *p256_key(const uint8_t pub[CHAIN_P256_PUB_LEN])
{
    EVP_PKEY *pk = NULL;
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    if (pub[0] != 0x04 || bld == NULL || ctx == NULL ||
        !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) ||
        !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pub, CHAIN_P256_PUB_LEN) ||
        (params = OSSL_PARAM_BLD_to_param(bld)) == NULL || EVP_PKEY_fromdata_init(ctx) != 1 ||
        EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_PUBLIC_KEY, params) != 1)
        goto done;
    EVP_PKEY_CTX *chk = EVP_PKEY_CTX_new_from_pkey(NULL, pk, NULL);
    bool ok = chk != NULL && EVP_PKEY_public_check(chk) == 1;
    EVP_PKEY_CTX_free(chk);
    if (!ok) {
        EVP_PKEY_free(pk);
        pk = NULL;
    }
done:
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    EVP_PKEY_CTX_free(ctx);
    return pk;
}

/* 1 verified, 0 not (a signature that does not parse as DER included), -1
 * the key is not a P-256 point. */
static int ecdsa_verify(const uint8_t pub[CHAIN_P256_PUB_LEN], const uint8_t *msg, size_t n,
                        const uint8_t *sig, size_t sig_len)
{
    EVP_PKEY *pk = p256_key(pub);
    if (pk == NULL)
        return -1;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    int r = 0;
    if (md != NULL && EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pk) == 1) {
        int v = EVP_DigestVerify(md, sig, sig_len, msg, n);
        r = v == 1 ? 1 : 0;
    }
    EVP_MD_CTX_free(md);
    EVP_PKEY_free(pk);
    return r;
}

/* Both parts parsed, as both halves need them; their codes on failure. */
static int parse_both(const chain_passkey_auth *a, uint8_t rp_hash[CHAIN_HASH_LEN], uint8_t *flags,
                      uint32_t *cnt, chain_cdata *cd, char *errmsg, size_t elen)
{
    if (a->cred_len < 1 || a->cred_len > CHAIN_CRED_ID_MAX || a->sig_len < 8 ||
        a->sig_len > CHAIN_DER_SIG_MAX)
        return wfail(errmsg, elen, CHAIN_ERR_WEBAUTHN_MALFORMED,
                     "auth: credential id or signature out of bounds");
    if (chain_webauthn_adata(rp_hash, flags, cnt, a->adata, a->adata_len) != CHAIN_OK)
        return wfail(errmsg, elen, CHAIN_ERR_WEBAUTHN_MALFORMED,
                     "authenticatorData: %zu bytes, %d..%d", a->adata_len, CHAIN_ADATA_MIN,
                     CHAIN_ADATA_MAX);
    return chain_webauthn_cdata(cd, a->cdata, a->cdata_len, errmsg, elen);
}

int chain_webauthn_verify_sig(const chain_passkey_auth *a, const uint8_t challenge[CHAIN_HASH_LEN],
                              uint32_t *count, char *errmsg, size_t elen)
{
    uint8_t rp_hash[CHAIN_HASH_LEN], flags;
    uint32_t cnt;
    chain_cdata cd;
    int rc = parse_both(a, rp_hash, &flags, &cnt, &cd, errmsg, elen);
    if (rc)
        return rc;
    if (strcmp(cd.type, "webauthn.get") != 0)
        return wfail(errmsg, elen, CHAIN_ERR_WEBAUTHN_TYPE, "clientDataJSON.type: \"%s\"", cd.type);
    char b64[64];
    chain_b64url(b64, challenge, CHAIN_HASH_LEN);
    if (strcmp(cd.challenge, b64) != 0)
        return wfail(errmsg, elen, CHAIN_ERR_WEBAUTHN_CHALLENGE,
                     "clientDataJSON.challenge: not this transaction's id");
    if (!(flags & FLAG_UP))
        return wfail(errmsg, elen, CHAIN_ERR_WEBAUTHN_PRESENCE,
                     "authenticatorData: user not present");
    uint8_t msg[CHAIN_ADATA_MAX + CHAIN_HASH_LEN];
    memcpy(msg, a->adata, a->adata_len);
    sha256(msg + a->adata_len, a->cdata, a->cdata_len);
    int v = ecdsa_verify(a->pub, msg, a->adata_len + CHAIN_HASH_LEN, a->sig, a->sig_len);
    if (v < 0)
        return wfail(errmsg, elen, CHAIN_ERR_WEBAUTHN_MALFORMED, "auth.pub: not a P-256 point");
    if (v != 1)
        return wfail(errmsg, elen, CHAIN_ERR_WEBAUTHN_SIGNATURE,
                     "auth.sig: does not verify for this passkey");
    if (count != NULL)
        *count = cnt;
    return CHAIN_OK;
}

int chain_webauthn_check_rp(const chain_rp *rp, const chain_passkey_auth *a, char *errmsg,
                            size_t elen)
{
    uint8_t rp_hash[CHAIN_HASH_LEN], flags, want[CHAIN_HASH_LEN];
    uint32_t cnt;
    chain_cdata cd;
    int rc = parse_both(a, rp_hash, &flags, &cnt, &cd, errmsg, elen);
    if (rc)
        return rc;
    bool origin_ok = false;
    for (size_t i = 0; rp != NULL && i < rp->norigins; i++)
        origin_ok |= strcmp(cd.origin, rp->origins[i]) == 0;
    if (!origin_ok || cd.cross_origin)
        return wfail(errmsg, elen, CHAIN_ERR_WEBAUTHN_ORIGIN, "clientDataJSON.origin: %.64s%s",
                     cd.origin, cd.cross_origin ? " (cross-origin)" : " not allowed");
    if (rp == NULL || rp->id[0] == '\0')
        return wfail(errmsg, elen, CHAIN_ERR_WEBAUTHN_RP, "this network accepts no passkeys");
    sha256(want, rp->id, strlen(rp->id));
    if (memcmp(rp_hash, want, CHAIN_HASH_LEN) != 0)
        return wfail(errmsg, elen, CHAIN_ERR_WEBAUTHN_RP,
                     "authenticatorData: rpIdHash is not SHA-256(\"%.64s\")", rp->id);
    if (rp->require_uv && !(flags & FLAG_UV))
        return wfail(errmsg, elen, CHAIN_ERR_WEBAUTHN_PRESENCE,
                     "authenticatorData: user not verified, and the network asks for it");
    return CHAIN_OK;
}

int chain_webauthn_verify(const chain_rp *rp, const chain_passkey_auth *a,
                          const uint8_t challenge[CHAIN_HASH_LEN], uint32_t *count, char *errmsg,
                          size_t elen)
{
    uint32_t cnt;
    int rc = chain_webauthn_verify_sig(a, challenge, &cnt, errmsg, elen);
    if (rc == CHAIN_OK)
        rc = chain_webauthn_check_rp(rp, a, errmsg, elen);
    if (rc == CHAIN_OK && count != NULL)
        *count = cnt;
    return rc;
}
