/*
 * crypto.c — hashing, keys and signatures (libsecp256k1), hex/base64url, and
 * the small hashes of canonical CBOR arrays (label message, the claim-code
 * key derivation and the claim message).
 *
 * One secp256k1 context serves the whole process. It is created and
 * randomized (blinding seed from getrandom) once, under pthread_once, and is
 * never mutated afterwards, so signing and verifying may run on any thread.
 * Secret material (the expanded keypair, aux randomness) lives on the stack
 * only for the duration of a call and is wiped with explicit_bzero before
 * return. Nothing here logs.
 */
#include "chain/cbor_util.h"
#include "chain/chain.h"
#include "chain/tx_schema.h"

#include <errno.h>
#include <pthread.h>
#include <secp256k1.h>
#include <secp256k1_extrakeys.h>
#include <secp256k1_schnorrsig.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

static secp256k1_context *ctx;
static pthread_once_t ctx_once = PTHREAD_ONCE_INIT;

/* Fills buf with n bytes from the kernel CSPRNG; -1 if it cannot. */
static int fill_random(uint8_t *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = getrandom(buf + got, n - got, 0);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        got += (size_t)r;
    }
    return 0;
}

static void ctx_init(void)
{
    secp256k1_context *c = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
    if (c == NULL)
        abort(); /* libsecp256k1 only fails here on allocation failure at start-up */
    uint8_t seed[32];
    /* Randomization is side-channel hardening; a context without it is still
     * correct, so a failed getrandom only skips it. */
    if (fill_random(seed, sizeof seed) == 0 && !secp256k1_context_randomize(c, seed)) {
        /* cannot happen with a fresh context; keep the unblinded one */
    }
    explicit_bzero(seed, sizeof seed);
    ctx = c;
}

static const secp256k1_context *get_ctx(void)
{
    pthread_once(&ctx_once, ctx_init);
    return ctx;
}

void chain_tagged_hash(uint8_t out[CHAIN_HASH_LEN], const char *tag, const uint8_t *msg, size_t len)
{
    static const uint8_t empty[1];
    int ok = secp256k1_tagged_sha256(get_ctx(), out, (const unsigned char *)tag, strlen(tag),
                                     msg != NULL ? msg : empty, len);
    (void)ok; /* always 1 */
}

int chain_key_pub(uint8_t pub[CHAIN_KEY_LEN], const uint8_t seckey[CHAIN_SECKEY_LEN])
{
    secp256k1_keypair kp;
    secp256k1_xonly_pubkey xpk;
    int rc = CHAIN_ERR_INVALID;
    if (!secp256k1_keypair_create(get_ctx(), &kp, seckey))
        goto out;
    if (!secp256k1_keypair_xonly_pub(get_ctx(), &xpk, NULL, &kp))
        goto out;
    if (!secp256k1_xonly_pubkey_serialize(get_ctx(), pub, &xpk))
        goto out;
    rc = CHAIN_OK;
out:
    explicit_bzero(&kp, sizeof kp);
    return rc;
}

int chain_key_generate(uint8_t seckey[CHAIN_SECKEY_LEN], uint8_t pub[CHAIN_KEY_LEN])
{
    uint8_t sk[CHAIN_SECKEY_LEN];
    uint8_t pk[CHAIN_KEY_LEN];
    /* A random 32-byte string is an invalid key with probability ~2^-128;
     * retry a few times rather than loop forever on a broken RNG. */
    for (int i = 0; i < 8; i++) {
        if (fill_random(sk, sizeof sk) != 0)
            break;
        if (chain_key_pub(pk, sk) == CHAIN_OK) {
            memcpy(seckey, sk, sizeof sk);
            memcpy(pub, pk, sizeof pk);
            explicit_bzero(sk, sizeof sk);
            return CHAIN_OK;
        }
    }
    explicit_bzero(sk, sizeof sk);
    return CHAIN_ERR_INVALID;
}

int chain_sign(uint8_t sig[CHAIN_SIG_LEN], const uint8_t seckey[CHAIN_SECKEY_LEN],
               const uint8_t msg32[CHAIN_HASH_LEN])
{
    secp256k1_keypair kp;
    uint8_t aux[32];
    uint8_t s[CHAIN_SIG_LEN];
    int rc = CHAIN_ERR_INVALID;
    if (!secp256k1_keypair_create(get_ctx(), &kp, seckey))
        goto out;
    if (fill_random(aux, sizeof aux) != 0)
        goto out;
    if (!secp256k1_schnorrsig_sign32(get_ctx(), s, msg32, &kp, aux))
        goto out;
    memcpy(sig, s, sizeof s);
    rc = CHAIN_OK;
out:
    explicit_bzero(&kp, sizeof kp);
    explicit_bzero(aux, sizeof aux);
    return rc;
}

struct chain_signer {
    secp256k1_keypair kp;
    uint8_t seed[32]; /* aux randomness i is H(seed || i) */
    uint64_t counter;
};

int chain_signer_new(chain_signer **out, const uint8_t seckey[CHAIN_SECKEY_LEN])
{
    chain_signer *s = calloc(1, sizeof *s);
    if (s == NULL)
        return CHAIN_ERR_NOMEM;
    if (fill_random(s->seed, sizeof s->seed) != 0 ||
        !secp256k1_keypair_create(get_ctx(), &s->kp, seckey)) {
        chain_signer_free(s);
        return CHAIN_ERR_INVALID;
    }
    *out = s;
    return CHAIN_OK;
}

int chain_signer_sign(chain_signer *s, uint8_t sig[CHAIN_SIG_LEN],
                      const uint8_t msg32[CHAIN_HASH_LEN])
{
    uint8_t in[40], aux[32], out[CHAIN_SIG_LEN];
    memcpy(in, s->seed, 32);
    memcpy(in + 32, &s->counter, 8);
    s->counter++;
    chain_tagged_hash(aux, "provena/signer/aux/v1", in, sizeof in);
    int ok = secp256k1_schnorrsig_sign32(get_ctx(), out, msg32, &s->kp, aux);
    explicit_bzero(in, sizeof in);
    explicit_bzero(aux, sizeof aux);
    if (!ok)
        return CHAIN_ERR_INVALID;
    memcpy(sig, out, sizeof out);
    return CHAIN_OK;
}

void chain_signer_free(chain_signer *s)
{
    if (s == NULL)
        return;
    explicit_bzero(s, sizeof *s);
    free(s);
}

/*
 * Parsed signer keys, cached per thread. Lifting an x-only key to a point
 * costs a square root, ~5 us or a sixth of a verification, and a ledger sees
 * the same signers again and again (every node re-verifies every tx: at
 * admission, in apply, in a block's pre-pass). Direct-mapped; a slot holds
 * the whole key, so a collision only costs a parse. Verification needs no
 * secret-dependent context, so the library's static context serves.
 */
#define PK_CACHE 128
typedef struct pk_slot {
    uint8_t pub[CHAIN_KEY_LEN];
    secp256k1_xonly_pubkey xpk;
    int8_t state; /* 0 empty, 1 a key, -1 not a key */
} pk_slot;
static __thread pk_slot pk_cache[PK_CACHE];

static const secp256k1_xonly_pubkey *pub_parsed(const uint8_t pub[CHAIN_KEY_LEN])
{
    pk_slot *s = &pk_cache[((unsigned)pub[0] << 8 | pub[1]) % PK_CACHE];
    if (s->state == 0 || memcmp(s->pub, pub, CHAIN_KEY_LEN) != 0) {
        memcpy(s->pub, pub, CHAIN_KEY_LEN);
        s->state = secp256k1_xonly_pubkey_parse(secp256k1_context_static, &s->xpk, pub) ? 1 : -1;
    }
    return s->state == 1 ? &s->xpk : NULL;
}

bool chain_verify(const uint8_t sig[CHAIN_SIG_LEN], const uint8_t pub[CHAIN_KEY_LEN],
                  const uint8_t msg32[CHAIN_HASH_LEN])
{
    const secp256k1_xonly_pubkey *xpk = pub_parsed(pub);
    return xpk != NULL && secp256k1_schnorrsig_verify(secp256k1_context_static, sig, msg32,
                                                      CHAIN_HASH_LEN, xpk) == 1;
}

bool tx_pub_valid(const uint8_t pub[CHAIN_KEY_LEN])
{
    return pub_parsed(pub) != NULL;
}

/* ---- hex and base64url ---------------------------------------------------------- */

void chain_hex(char *out, const uint8_t *in, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = '\0';
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int chain_unhex(uint8_t *out, size_t out_len, const char *in, size_t n)
{
    if (n % 2 != 0 || n / 2 > out_len || n / 2 > (size_t)INT32_MAX)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (hexval(in[i]) < 0)
            return -1;
    for (size_t i = 0; i < n / 2; i++)
        out[i] = (uint8_t)(hexval(in[2 * i]) << 4 | hexval(in[2 * i + 1]));
    return (int)(n / 2);
}

int chain_pct_decode(char *out, size_t cap, const char *s, size_t n)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '%') {
            if (i + 2 >= n)
                return -1;
            int h = hexval(s[i + 1]), l = hexval(s[i + 2]);
            if (h < 0 || l < 0)
                return -1;
            c = (char)(h * 16 + l);
            i += 2;
        }
        if (c == '\0' || o + 1 >= cap)
            return -1;
        out[o++] = c;
    }
    if (o >= cap)
        return -1;
    out[o] = '\0';
    return (int)o;
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

void chain_b64url(char *out, const uint8_t *in, size_t n)
{
    size_t o = 0, i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        out[o++] = b64[v >> 18];
        out[o++] = b64[(v >> 12) & 63];
        out[o++] = b64[(v >> 6) & 63];
        out[o++] = b64[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)in[i] << 16;
        out[o++] = b64[v >> 18];
        out[o++] = b64[(v >> 12) & 63];
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
        out[o++] = b64[v >> 18];
        out[o++] = b64[(v >> 12) & 63];
        out[o++] = b64[(v >> 6) & 63];
    }
    out[o] = '\0';
}

static int b64val(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '-')
        return 62;
    if (c == '_')
        return 63;
    return -1;
}

int chain_unb64url(uint8_t *out, size_t out_len, const char *in, size_t n)
{
    if (n % 4 == 1 || n > (size_t)INT32_MAX)
        return -1;
    size_t dec = n / 4 * 3 + (n % 4 == 0 ? 0 : n % 4 - 1);
    if (dec > out_len)
        return -1;
    uint32_t acc = 0;
    int bits = 0;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        int v = b64val(in[i]);
        if (v < 0)
            return -1;
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (uint8_t)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    /* Leftover bits must be zero, so each byte string has one encoding. */
    if (acc != 0)
        return -1;
    return (int)o;
}

/* ---- commitments ------------------------------------------------------------------ */

/* Label and claim messages are short canonical CBOR arrays of text; each string
 * is bounded by its field's maximum. An over-long argument is a caller bug that
 * the decoders already rule out; it yields the all-zero hash, which no
 * signature or commitment ever matches by accident. */
#define COMMIT_BUF 256

void chain_label_hash(uint8_t out[CHAIN_HASH_LEN], const uint8_t chain_id[CHAIN_HASH_LEN],
                      const char *gtin, const char *serial, const char *lot, const char *expiry)
{
    uint8_t buf[COMMIT_BUF];
    size_t lg = strnlen(gtin, GS1_GTIN_LEN + 1), ls = strnlen(serial, GS1_SERIAL_MAX + 1);
    size_t ll = strnlen(lot, GS1_LOT_MAX + 1), le = strnlen(expiry, 7);
    memset(out, 0, CHAIN_HASH_LEN);
    if (lg > GS1_GTIN_LEN || ls > GS1_SERIAL_MAX || ll > GS1_LOT_MAX || le > 6)
        return;
    cbu_wr w;
    cbu_wr_init_fixed(&w, buf, sizeof buf);
    cbu_put_array(&w, 5);
    cbu_put_bytes(&w, chain_id, CHAIN_HASH_LEN);
    cbu_put_text(&w, gtin, lg);
    cbu_put_text(&w, serial, ls);
    cbu_put_text(&w, lot, ll);
    cbu_put_text(&w, expiry, le);
    uint8_t *p;
    size_t n;
    if (cbu_wr_finish(&w, &p, &n) == CHAIN_OK)
        chain_tagged_hash(out, CHAIN_TAG_LABEL, p, n);
}

int chain_code_normalize(char *out, size_t cap, const char *s, size_t n)
{
    size_t j = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '-' || c == ' ')
            continue;
        if (c >= 'a' && c <= 'z')
            c = (char)(c - 'a' + 'A');
        if (c == 'I' || c == 'L')
            c = '1';
        else if (c == 'O')
            c = '0';
        if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z')) || c == 'U')
            return -1;
        if (j + 1 >= cap || j >= CHAIN_CODE_MAX)
            return -1;
        out[j++] = c;
    }
    if (j == 0)
        return -1;
    out[j] = '\0';
    return (int)j;
}

int chain_claim_key(uint8_t seckey[CHAIN_SECKEY_LEN], uint8_t pub[CHAIN_KEY_LEN], const char *gtin,
                    const char *serial, const char *code, size_t code_len)
{
    char norm[CHAIN_CODE_MAX + 1];
    uint8_t buf[COMMIT_BUF], sk[CHAIN_SECKEY_LEN];
    size_t lg = strnlen(gtin, GS1_GTIN_LEN + 1), ls = strnlen(serial, GS1_SERIAL_MAX + 1);
    int nn = chain_code_normalize(norm, sizeof norm, code, code_len);
    int rc = CHAIN_ERR_INVALID;
    if (nn < 0 || lg > GS1_GTIN_LEN || ls > GS1_SERIAL_MAX)
        goto done;
    /* A counter makes the derivation total: a hash that is not a valid
     * secret key (probability ~2^-128) moves on to the next. */
    for (unsigned ctr = 0; ctr < 256; ctr++) {
        cbu_wr w;
        cbu_wr_init_fixed(&w, buf, sizeof buf);
        cbu_put_array(&w, 4);
        cbu_put_text(&w, gtin, lg);
        cbu_put_text(&w, serial, ls);
        cbu_put_text(&w, norm, (size_t)nn);
        cbu_put_uint(&w, ctr);
        uint8_t *p;
        size_t n;
        if (cbu_wr_finish(&w, &p, &n) != CHAIN_OK)
            goto done;
        chain_tagged_hash(sk, CHAIN_TAG_CLAIMKEY, p, n);
        if (chain_key_pub(pub, sk) == CHAIN_OK) {
            memcpy(seckey, sk, sizeof sk);
            rc = CHAIN_OK;
            goto done;
        }
    }
done:
    explicit_bzero(norm, sizeof norm); /* the code is a bearer secret */
    explicit_bzero(buf, sizeof buf);
    explicit_bzero(sk, sizeof sk);
    return rc;
}

void chain_claim_msg(uint8_t out[CHAIN_HASH_LEN], const uint8_t chain_id[CHAIN_HASH_LEN],
                     const char *gtin, const char *serial, const uint8_t owner[CHAIN_KEY_LEN])
{
    uint8_t buf[COMMIT_BUF];
    size_t lg = strnlen(gtin, GS1_GTIN_LEN + 1), ls = strnlen(serial, GS1_SERIAL_MAX + 1);
    memset(out, 0, CHAIN_HASH_LEN);
    if (lg > GS1_GTIN_LEN || ls > GS1_SERIAL_MAX)
        return;
    cbu_wr w;
    cbu_wr_init_fixed(&w, buf, sizeof buf);
    cbu_put_array(&w, 4);
    cbu_put_bytes(&w, chain_id, CHAIN_HASH_LEN);
    cbu_put_text(&w, gtin, lg);
    cbu_put_text(&w, serial, ls);
    cbu_put_bytes(&w, owner, CHAIN_KEY_LEN);
    uint8_t *p;
    size_t n;
    if (cbu_wr_finish(&w, &p, &n) == CHAIN_OK)
        chain_tagged_hash(out, CHAIN_TAG_CLAIM, p, n);
}
