/*
 * cons_tls.c — TLS identities, pinned certificates and HELLO signatures of
 * consensus links (model in cons_tls.h).
 *
 * OpenSSL reads the key file and signs and verifies HELLOs; nng's mbedTLS
 * runs the handshakes with configurations built here from PEM text. The HELLO
 * signature is ECDSA P-256 over SHA-256 of
 *   "provena/raft-hello/v1" | chain id [32] | from u64le | to u64le | ts_ms u64le
 * so a HELLO names one network, one sender, one receiver and one moment: it
 * cannot be replayed to another node or on another network, and not for long.
 */
#include "consensus/cons_tls.h"

#include <errno.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define HELLO_TAG "provena/raft-hello/v1"

static void stat_of(const struct stat *st, long long *mtime_ns, long long *size, long long *ino)
{
    *mtime_ns = (long long)st->st_mtim.tv_sec * 1000000000LL + st->st_mtim.tv_nsec;
    *size = (long long)st->st_size;
    *ino = (long long)st->st_ino;
}

/* The key file's bytes (NUL-terminated), or NULL with errmsg. */
static char *read_key_file(const char *path, struct stat *st, char *errmsg, size_t elen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(errmsg, elen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    char *buf = NULL;
    if (fstat(fileno(f), st) != 0) {
        snprintf(errmsg, elen, "%s: %s", path, strerror(errno));
    } else if (st->st_mode & 077) {
        snprintf(errmsg, elen,
                 "%s: readable by group or others (chmod 600: it holds a private key)", path);
    } else if (st->st_size <= 0 || st->st_size > CONS_TLS_FILE_MAX) {
        snprintf(errmsg, elen, "%s: not 1..%d bytes", path, CONS_TLS_FILE_MAX);
    } else if ((buf = malloc((size_t)st->st_size + 1)) == NULL) {
        snprintf(errmsg, elen, "out of memory");
    } else if (fread(buf, 1, (size_t)st->st_size, f) != (size_t)st->st_size) {
        snprintf(errmsg, elen, "%s: short read", path);
        explicit_bzero(buf, (size_t)st->st_size);
        free(buf);
        buf = NULL;
    } else {
        buf[st->st_size] = 0;
    }
    fclose(f);
    return buf;
}

static char *bio_string(BIO *b)
{
    char *mem;
    long n = BIO_get_mem_data(b, &mem);
    char *s = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (s) {
        if (n > 0) /* an empty BIO (no pins to trust) has no data pointer */
            memcpy(s, mem, (size_t)n);
        s[n] = 0;
    }
    if (n > 0)
        OPENSSL_cleanse(mem, (size_t)n);
    return s;
}

static bool spki_fp(uint8_t fp[32], EVP_PKEY *k)
{
    unsigned char *spki = NULL;
    int n = i2d_PUBKEY(k, &spki);
    if (n <= 0)
        return false;
    SHA256(spki, (size_t)n, fp);
    OPENSSL_free(spki);
    return true;
}

int cons_tls_id_load(cons_tls_id *id, const char *path, char *errmsg, size_t elen)
{
    struct stat st;
    char *text = read_key_file(path, &st, errmsg, elen);
    if (!text)
        return -1;
    size_t tlen = strlen(text);
    BIO *in = BIO_new_mem_buf(text, (int)tlen);
    EVP_PKEY *key = in ? PEM_read_bio_PrivateKey(in, NULL, NULL, NULL) : NULL;
    BIO_free(in);
    in = BIO_new_mem_buf(text, (int)tlen);
    X509 *x = in ? PEM_read_bio_X509(in, NULL, NULL, NULL) : NULL;
    BIO_free(in);
    explicit_bzero(text, tlen);
    free(text);
    BIO *kb = BIO_new(BIO_s_mem()), *cb = BIO_new(BIO_s_mem());
    unsigned char *der = NULL;
    int dl = -1, rc = -1;
    cons_tls_id n = {0};
    EVP_PKEY *ck = x ? X509_get0_pubkey(x) : NULL;
    if (!key || !x) {
        snprintf(errmsg, elen,
                 "%s: needs a PEM private key and certificate (provena key new --tls)", path);
    } else if (!ck || EVP_PKEY_eq(key, ck) != 1) {
        snprintf(errmsg, elen, "%s: the certificate is not of the private key", path);
    } else if ((dl = i2d_X509(x, &der)) <= 0 || dl > CONS_TLS_CERT_MAX) {
        snprintf(errmsg, elen, "%s: certificate over %d bytes", path, CONS_TLS_CERT_MAX);
    } else if (!kb || !cb || PEM_write_bio_PrivateKey(kb, key, NULL, NULL, 0, NULL, NULL) != 1 ||
               PEM_write_bio_X509(cb, x) != 1 || !(n.key_pem = bio_string(kb)) ||
               !(n.cert_pem = bio_string(cb)) || !spki_fp(n.fp, key)) {
        snprintf(errmsg, elen, "%s: out of memory", path);
    } else {
        memcpy(n.der, der, (size_t)dl);
        n.der_len = (size_t)dl;
        n.key = key;
        key = NULL;
        stat_of(&st, &n.mtime_ns, &n.size, &n.ino);
        *id = n;
        rc = 0;
    }
    if (rc) {
        if (n.key_pem)
            explicit_bzero(n.key_pem, strlen(n.key_pem));
        free(n.key_pem);
        free(n.cert_pem);
    }
    OPENSSL_free(der);
    BIO_free(kb);
    BIO_free(cb);
    X509_free(x);
    EVP_PKEY_free(key);
    return rc;
}

bool cons_tls_id_changed(const cons_tls_id *id, const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return false; /* gone for a moment (being replaced): keep the one we have */
    long long m, s, i;
    stat_of(&st, &m, &s, &i);
    return m != id->mtime_ns || s != id->size || i != id->ino;
}

void cons_tls_id_free(cons_tls_id *id)
{
    if (id->key_pem)
        explicit_bzero(id->key_pem, strlen(id->key_pem));
    free(id->key_pem);
    free(id->cert_pem);
    EVP_PKEY_free(id->key);
    memset(id, 0, sizeof *id);
}

bool cons_tls_pin_make(cons_tls_pin *pin, uint64_t id, const uint8_t *der, size_t len)
{
    memset(pin, 0, sizeof *pin);
    if (len == 0 || len > CONS_TLS_CERT_MAX)
        return false;
    const unsigned char *p = der;
    X509 *x = d2i_X509(NULL, &p, (long)len);
    EVP_PKEY *k = x && p == der + len ? X509_get_pubkey(x) : NULL;
    X509_free(x);
    if (!k || !spki_fp(pin->fp, k)) {
        EVP_PKEY_free(k);
        return false;
    }
    pin->id = id;
    memcpy(pin->der, der, len);
    pin->der_len = len;
    pin->key = k;
    return true;
}

void cons_tls_pin_free(cons_tls_pin *pin)
{
    EVP_PKEY_free(pin->key);
    memset(pin, 0, sizeof *pin);
}

/* PEM text of the given certificates, concatenated; NULL on failure. */
static char *pem_of(const cons_tls_pin *const *pins, size_t n)
{
    BIO *b = BIO_new(BIO_s_mem());
    bool ok = b != NULL;
    for (size_t i = 0; ok && i < n; i++) {
        const unsigned char *p = pins[i]->der;
        X509 *x = d2i_X509(NULL, &p, (long)pins[i]->der_len);
        ok = x && PEM_write_bio_X509(b, x) == 1;
        X509_free(x);
    }
    char *s = ok ? bio_string(b) : NULL;
    BIO_free(b);
    return s;
}

int cons_tls_config(nng_tls_config **out, nng_tls_mode mode, const cons_tls_id *self,
                    const cons_tls_pin *const *trust, size_t n)
{
    nng_tls_config *cfg = NULL;
    char *ca = pem_of(trust, n);
    int rv = ca ? nng_tls_config_alloc(&cfg, mode) : NNG_ENOMEM;
    if (rv == 0 && self)
        rv = nng_tls_config_own_cert(cfg, self->cert_pem, self->key_pem, NULL);
    if (rv == 0 && n > 0)
        rv = nng_tls_config_ca_chain(cfg, ca, NULL);
    if (rv == 0)
        rv = nng_tls_config_auth_mode(cfg, NNG_TLS_AUTH_MODE_REQUIRED);
    free(ca);
    if (rv != 0) {
        if (cfg)
            nng_tls_config_free(cfg);
        return rv;
    }
    *out = cfg;
    return 0;
}

static void hello_digest(uint8_t out[32], const uint8_t *chain, uint64_t from, uint64_t to,
                         uint64_t ts)
{
    uint8_t m[sizeof HELLO_TAG - 1 + CONS_CHAIN_ID_LEN + 24];
    size_t o = 0;
    memcpy(m, HELLO_TAG, sizeof HELLO_TAG - 1);
    o += sizeof HELLO_TAG - 1;
    memcpy(m + o, chain, CONS_CHAIN_ID_LEN);
    o += CONS_CHAIN_ID_LEN;
    const uint64_t v[3] = {from, to, ts};
    for (int k = 0; k < 3; k++)
        for (int i = 0; i < 8; i++)
            m[o++] = (uint8_t)(v[k] >> (8 * i));
    _Static_assert(sizeof m == sizeof HELLO_TAG - 1 + CONS_CHAIN_ID_LEN + 24, "hello layout");
    SHA256(m, o, out);
}

size_t cons_tls_hello_sign(const cons_tls_id *self, uint8_t sig[CONS_HELLO_SIG_MAX],
                           const uint8_t *chain, uint64_t from, uint64_t to, uint64_t ts_ms)
{
    uint8_t d[32];
    hello_digest(d, chain, from, to, ts_ms);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(self->key, NULL);
    size_t len = CONS_HELLO_SIG_MAX;
    bool ok = ctx && EVP_PKEY_sign_init(ctx) == 1 &&
              EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()) == 1 &&
              EVP_PKEY_sign(ctx, sig, &len, d, sizeof d) == 1;
    EVP_PKEY_CTX_free(ctx);
    return ok ? len : 0;
}

bool cons_tls_hello_verify(const cons_tls_pin *pin, const uint8_t *sig, size_t sig_len,
                           const uint8_t *chain, uint64_t from, uint64_t to, uint64_t ts_ms)
{
    if (!pin->key || sig_len == 0 || sig_len > CONS_HELLO_SIG_MAX)
        return false;
    uint8_t d[32];
    hello_digest(d, chain, from, to, ts_ms);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(pin->key, NULL);
    bool ok = ctx && EVP_PKEY_verify_init(ctx) == 1 &&
              EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()) == 1 &&
              EVP_PKEY_verify(ctx, sig, sig_len, d, sizeof d) == 1;
    EVP_PKEY_CTX_free(ctx);
    return ok;
}
