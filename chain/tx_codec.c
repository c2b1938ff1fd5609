/*
 * tx_codec.c — a transaction's one canonical CBOR encoding, its id and
 * signature, and the stateless admission check.
 *
 * Encoding walks the body schema (tx_schema.c) and writes present fields in
 * canonical key order; absent optional fields are omitted, so every chain_tx
 * has exactly one encoding. Decoding reads through the bounded cbor_util
 * cursor: the outer map first (the body is skipped and remembered, because
 * "body" sorts before "type"), then the body by the type's schema. Every
 * count is bounded before anything is allocated for it. Finally the decoded
 * transaction is re-encoded and compared with the input byte for byte, which
 * catches whatever the structural checks let through (an optional field sent
 * with its empty value, for instance): one meaning, one byte string.
 */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chain/cbor_util.h"
#include "chain/chain.h"
#include "chain/tx_schema.h"

#define MAP_ENTRIES_MAX 32

/* ---- encoding ------------------------------------------------------------------- */

static void put_unit(cbu_wr *w, const gs1_sgtin *u)
{
    cbu_put_array(w, 2);
    cbu_put_cstr(w, u->gtin);
    cbu_put_cstr(w, u->serial);
}

static void put_scan(cbu_wr *w, const chain_scan *s)
{
    bool note = s->note[0] != '\0', region = s->region[0] != '\0', verdict = s->verdict != 0;
    cbu_put_map(w, 4 + (size_t)note + (size_t)region + (size_t)verdict);
    cbu_put_key(w, TXS_KIND);
    cbu_put_cstr(w, tx_scan_kind_name(s->kind));
    if (note) {
        cbu_put_key(w, TXS_NOTE);
        cbu_put_cstr(w, s->note);
    }
    cbu_put_key(w, TXS_TIME);
    cbu_put_uint(w, s->time);
    cbu_put_key(w, TXS_UNIT);
    put_unit(w, &s->id);
    cbu_put_key(w, TXS_CLIENT);
    cbu_put_bytes(w, s->client, sizeof s->client);
    if (region) {
        cbu_put_key(w, TXS_REGION);
        cbu_put_cstr(w, s->region);
    }
    if (verdict) {
        cbu_put_key(w, TXS_VERDICT);
        cbu_put_uint(w, s->verdict);
    }
}

/* One value of field f (entry i of an array). */
static void put_value(cbu_wr *w, const chain_tx *tx, const txf *f, const txf_shape *sh, size_t i)
{
    switch ((enum txv)sh->value) {
    case TXV_UINT:
        cbu_put_uint(w, txf_get_uint(tx, f));
        break;
    case TXV_BOOL:
        cbu_put_bool(w, txf_get_bool(tx, f));
        break;
    case TXV_TEXT:
        cbu_put_cstr(w, txf_get_text(tx, f, i));
        break;
    case TXV_NAME:
        cbu_put_cstr(w, txf_get_name(tx, f));
        break;
    case TXV_BYTES:
        cbu_put_bytes(w, txf_bytes(tx, f, i), sh->size);
        break;
    case TXV_VBYTES:
        cbu_put_bytes(w, txf_bytes(tx, f, i), *txf_vlen(tx, f));
        break;
    case TXV_UNIT:
        put_unit(w, txf_unit(tx, f, i));
        break;
    case TXV_SCAN:
        put_scan(w, txf_scan(tx, f, i));
        break;
    }
}

static void put_field(cbu_wr *w, const chain_tx *tx, const txf *f)
{
    const txf_shape *sh = txf_shape_of(f);
    cbu_put_key(w, f->key);
    if (!sh->array) {
        put_value(w, tx, f, sh, 0);
        return;
    }
    size_t n = txf_count(tx, f);
    cbu_put_array(w, n);
    for (size_t i = 0; i < n; i++)
        put_value(w, tx, f, sh, i);
}

/* The "auth" entry of a passkey-signed tx; keys in canonical order. */
static void put_auth(cbu_wr *w, const chain_passkey_auth *a)
{
    cbu_put_key(w, "auth");
    cbu_put_map(w, 5);
    cbu_put_key(w, "pub");
    cbu_put_bytes(w, a->pub, CHAIN_P256_PUB_LEN);
    cbu_put_key(w, "sig");
    cbu_put_bytes(w, a->sig, a->sig_len);
    cbu_put_key(w, "cred");
    cbu_put_bytes(w, a->cred, a->cred_len);
    cbu_put_key(w, "adata");
    cbu_put_bytes(w, a->adata, a->adata_len);
    cbu_put_key(w, "cdata");
    cbu_put_bytes(w, a->cdata, a->cdata_len);
}

/* Bounds of an auth, checked before it is encoded or after it is decoded. */
static int auth_check(const chain_tx *tx, char *errmsg, size_t elen)
{
    const chain_passkey_auth *a = tx->auth;
    static const uint8_t zero[CHAIN_SIG_LEN];
    if (a == NULL)
        return CHAIN_OK;
    const char *bad = a->cred_len < 1 || a->cred_len > CHAIN_CRED_ID_MAX ? "auth.cred"
                      : a->adata_len < CHAIN_ADATA_MIN || a->adata_len > CHAIN_ADATA_MAX
                          ? "auth.adata"
                      : a->cdata_len < 1 || a->cdata_len > CHAIN_CDATA_MAX ? "auth.cdata"
                      : a->sig_len < 8 || a->sig_len > CHAIN_DER_SIG_MAX   ? "auth.sig"
                      : memcmp(tx->sig, zero, CHAIN_SIG_LEN) != 0          ? "sig"
                                                                           : NULL;
    if (bad == NULL)
        return CHAIN_OK;
    if (errmsg != NULL && elen > 0)
        snprintf(errmsg, elen, "%s: %s", bad,
                 bad[0] == 's' ? "not 64 zero bytes in a passkey-signed tx"
                               : "length out of bounds");
    return CHAIN_ERR_MALFORMED;
}

/* Canonical encoding of tx, with or without "sig" (and "auth"). Validates
 * every field first, so nothing out of bounds is ever written. */
static int encode(uint8_t **out, size_t *out_len, const chain_tx *tx, bool with_sig)
{
    char msg[128];
    int rc = tx_body_check(tx, msg, sizeof msg);
    if (rc == CHAIN_OK && with_sig)
        rc = auth_check(tx, msg, sizeof msg);
    if (rc)
        return rc;
    const tx_schema *sc = tx_schema_of(tx->type);
    size_t nbody = 0;
    for (size_t i = 0; i < sc->n; i++)
        nbody += txf_present(tx, &sc->fields[i]);

    cbu_wr w;
    cbu_wr_init(&w, CHAIN_TX_MAX_BYTES);
    /* Canonical order: sig, auth, body, time, type, chain, nonce, signer. */
    const bool auth = with_sig && tx->auth != NULL;
    cbu_put_map(&w, with_sig ? 7 + (size_t)auth : 6);
    if (with_sig) {
        cbu_put_key(&w, "sig");
        cbu_put_bytes(&w, tx->sig, CHAIN_SIG_LEN);
    }
    if (auth)
        put_auth(&w, tx->auth);
    cbu_put_key(&w, "body");
    cbu_put_map(&w, nbody);
    for (size_t i = 0; i < sc->n; i++)
        if (txf_present(tx, &sc->fields[i]))
            put_field(&w, tx, &sc->fields[i]);
    cbu_put_key(&w, "time");
    cbu_put_uint(&w, tx->time);
    cbu_put_key(&w, "type");
    cbu_put_cstr(&w, chain_tx_type_name(tx->type));
    cbu_put_key(&w, "chain");
    cbu_put_bytes(&w, tx->chain, CHAIN_HASH_LEN);
    cbu_put_key(&w, "nonce");
    cbu_put_uint(&w, tx->nonce);
    cbu_put_key(&w, "signer");
    cbu_put_bytes(&w, tx->signer, CHAIN_KEY_LEN);
    return cbu_wr_finish(&w, out, out_len);
}

int chain_tx_encode(uint8_t **out, size_t *out_len, const chain_tx *tx)
{
    return encode(out, out_len, tx, true);
}

int chain_tx_id(uint8_t out[CHAIN_HASH_LEN], const chain_tx *tx)
{
    uint8_t *buf;
    size_t len;
    int rc = encode(&buf, &len, tx, false);
    if (rc)
        return rc;
    chain_tagged_hash(out, CHAIN_TAG_TX, buf, len);
    free(buf);
    return CHAIN_OK;
}

/* a7 63 's' 'i' 'g' 58 40 <64 bytes> (a8 and an "auth" entry next when
 * passkey-signed) */
#define SIG_ENTRY_LEN (1 + 4 + 2 + CHAIN_SIG_LEN)

int tx_id_raw(uint8_t out[CHAIN_HASH_LEN], const uint8_t *buf, size_t len)
{
    static const uint8_t prefix[] = {0x63, 's', 'i', 'g', 0x58, CHAIN_SIG_LEN};
    static const uint8_t auth_key[] = {0x64, 'a', 'u', 't', 'h'};
    if (len < SIG_ENTRY_LEN || len > CHAIN_TX_MAX_BYTES || (buf[0] != 0xa7 && buf[0] != 0xa8) ||
        memcmp(buf + 1, prefix, sizeof prefix) != 0)
        return CHAIN_ERR_MALFORMED;
    size_t skip = SIG_ENTRY_LEN;
    if (buf[0] == 0xa8) {
        if (len < skip + sizeof auth_key || memcmp(buf + skip, auth_key, sizeof auth_key) != 0)
            return CHAIN_ERR_MALFORMED;
        cbu_rd r;
        cbu_rd_init(&r, buf + skip + sizeof auth_key, len - skip - sizeof auth_key, NULL, 0);
        if (cbu_skip(&r, "auth") != CHAIN_OK)
            return CHAIN_ERR_MALFORMED;
        skip = (size_t)(r.p - buf);
    }
    uint8_t *tmp = malloc(len - skip + 1);
    if (tmp == NULL)
        return CHAIN_ERR_NOMEM;
    tmp[0] = 0xa6;
    memcpy(tmp + 1, buf + skip, len - skip);
    chain_tagged_hash(out, CHAIN_TAG_TX, tmp, len - skip + 1);
    free(tmp);
    return CHAIN_OK;
}

int chain_tx_sign(chain_tx *tx, const uint8_t seckey[CHAIN_SECKEY_LEN])
{
    uint8_t pub[CHAIN_KEY_LEN], saved[CHAIN_KEY_LEN], id[CHAIN_HASH_LEN], sig[CHAIN_SIG_LEN];
    int rc = chain_key_pub(pub, seckey);
    if (rc)
        return rc;
    memcpy(saved, tx->signer, sizeof saved);
    memcpy(tx->signer, pub, sizeof pub); /* the signer is part of what is signed */
    rc = chain_tx_id(id, tx);
    if (rc == CHAIN_OK)
        rc = chain_sign(sig, seckey, id);
    if (rc) {
        memcpy(tx->signer, saved, sizeof saved);
        return rc;
    }
    memcpy(tx->sig, sig, sizeof sig);
    return CHAIN_OK;
}

/* ---- decoding ------------------------------------------------------------------- */

void chain_tx_free(chain_tx *tx)
{
    if (tx == NULL)
        return;
    if (tx->serials != NULL) {
        for (size_t i = 0; i < tx->nunits; i++)
            free(tx->serials[i]);
        free(tx->serials);
    }
    free(tx->label_sigs);
    free(tx->units);
    free(tx->scans);
    free(tx->auth);
    memset(tx, 0, sizeof *tx);
}

/* Text of at most max bytes into a NUL-terminated scratch buffer (for names
 * parsed by a table). */
static int get_word(cbu_rd *r, char *out, size_t cap, const char *field)
{
    const char *s = NULL;
    size_t n = 0;
    int rc = cbu_get_text_ref(r, &s, &n, cap - 1, field);
    if (rc)
        return rc;
    memcpy(out, s, n);
    out[n] = '\0';
    return CHAIN_OK;
}

static int get_unit(cbu_rd *r, gs1_sgtin *u, const char *field)
{
    size_t n;
    int rc = cbu_get_array(r, &n, 2, field);
    if (rc)
        return rc;
    if (n != 2)
        return cbu_fail(r, CHAIN_ERR_MALFORMED, "%s: expected [gtin, serial]", field);
    if ((rc = get_word(r, u->gtin, sizeof u->gtin, field)))
        return rc;
    return get_word(r, u->serial, sizeof u->serial, field);
}

static int get_scan(cbu_rd *r, chain_scan *s, size_t idx)
{
    char field[48];
    snprintf(field, sizeof field, "body.records[%zu]", idx);
    size_t n;
    int rc = cbu_get_map(r, &n, MAP_ENTRIES_MAX, field);
    if (rc)
        return rc;
    cbu_keys k = CBU_KEYS_INIT;
    bool kind = false, time = false, unit = false, client = false;
    for (size_t i = 0; i < n; i++) {
        const char *key;
        size_t kl;
        if ((rc = cbu_get_key(r, &k, &key, &kl)))
            return rc;
        if (cbu_key_is(key, kl, TXS_KIND)) {
            char word[16];
            if ((rc = get_word(r, word, sizeof word, field)))
                return rc;
            int v = tx_scan_kind_parse(word, strlen(word));
            if (v < 0)
                return cbu_fail(r, CHAIN_ERR_INVALID, "%s.kind: not scan|probe|report", field);
            s->kind = (uint8_t)v;
            kind = true;
        } else if (cbu_key_is(key, kl, TXS_NOTE)) {
            rc = cbu_get_text(r, s->note, sizeof s->note, field);
        } else if (cbu_key_is(key, kl, TXS_TIME)) {
            rc = cbu_get_uint(r, &s->time, field);
            time = true;
        } else if (cbu_key_is(key, kl, TXS_UNIT)) {
            rc = get_unit(r, &s->id, field);
            unit = true;
        } else if (cbu_key_is(key, kl, TXS_CLIENT)) {
            rc = cbu_get_bytes_n(r, s->client, sizeof s->client, field);
            client = true;
        } else if (cbu_key_is(key, kl, TXS_REGION)) {
            rc = cbu_get_text(r, s->region, sizeof s->region, field);
        } else if (cbu_key_is(key, kl, TXS_VERDICT)) {
            uint64_t v;
            rc = cbu_get_uint_max(r, &v, UINT8_MAX, field);
            s->verdict = (uint8_t)v;
        } else {
            return cbu_fail(r, CHAIN_ERR_MALFORMED, "%s.%.*s: unknown field", field, (int)kl, key);
        }
        if (rc)
            return rc;
    }
    if (!kind || !time || !unit || !client)
        return cbu_fail(r, CHAIN_ERR_MALFORMED, "%s: needs kind, time, unit and client", field);
    return CHAIN_OK;
}

/* One value of field f (entry i of an array). Array entries of text are
 * read as words and checked by the schema afterwards (tx_body_check). */
static int get_value(cbu_rd *r, chain_tx *tx, const txf *f, const txf_shape *sh, size_t i,
                     const char *field)
{
    int rc;
    switch ((enum txv)sh->value) {
    case TXV_UINT: {
        uint64_t v;
        if ((rc = cbu_get_uint_max(r, &v, sh->max, field)))
            return rc;
        txf_set_uint(tx, f, v);
        return CHAIN_OK;
    }
    case TXV_BOOL: {
        bool b;
        if ((rc = cbu_get_bool(r, &b, field)))
            return rc;
        txf_set_bool(tx, f, b);
        return CHAIN_OK;
    }
    case TXV_TEXT: {
        char text[CHAIN_NOTE_MAX + 1]; /* the longest scalar text */
        const char *s = text;
        size_t n = 0;
        assert(txf_text_cap(f) <= sizeof text);
        if (sh->array)
            rc = cbu_get_text_ref(r, &s, &n, txf_text_cap(f) - 1, field);
        else if ((rc = cbu_get_text(r, text, txf_text_cap(f), field)) == CHAIN_OK)
            n = strlen(text);
        if (rc)
            return rc;
        if (txf_set_text(tx, f, i, s, n))
            return cbu_fail(r, CHAIN_ERR_NOMEM, "%s: out of memory", field);
        return CHAIN_OK;
    }
    case TXV_NAME: {
        char word[24];
        if ((rc = get_word(r, word, sizeof word, field)))
            return rc;
        if (!txf_set_name(tx, f, word))
            return cbu_fail(r, CHAIN_ERR_INVALID, "%s: unknown value \"%s\"", field, word);
        return CHAIN_OK;
    }
    case TXV_BYTES:
        return cbu_get_bytes_n(r, txf_bytes(tx, f, i), sh->size, field);
    case TXV_VBYTES: {
        const uint8_t *p;
        size_t n;
        int rc = cbu_get_bytes(r, &p, &n, sh->size, field);
        if (rc)
            return rc;
        if (n == 0)
            return cbu_fail(r, CHAIN_ERR_MALFORMED, "%s: empty", field);
        memcpy(txf_bytes(tx, f, i), p, n);
        *txf_vlen(tx, f) = n;
        return CHAIN_OK;
    }
    case TXV_UNIT:
        return get_unit(r, txf_unit(tx, f, i), field);
    case TXV_SCAN:
        return get_scan(r, txf_scan(tx, f, i), i);
    }
    return cbu_fail(r, CHAIN_ERR_INVALID, "%s: unknown value shape", field);
}

static int get_field(cbu_rd *r, chain_tx *tx, const txf *f)
{
    char field[48];
    snprintf(field, sizeof field, "body.%s", f->key);
    const txf_shape *sh = txf_shape_of(f);
    size_t n = 1;
    int rc;
    if (sh->array) {
        if ((rc = cbu_get_array(r, &n, sh->max, field)))
            return rc;
        char msg[96];
        if ((rc = txf_count_check(tx, f, n, true, msg, sizeof msg)))
            return cbu_fail(r, rc, "%s", msg);
        if (n == 0 && sh->nonempty)
            return cbu_fail(r, CHAIN_ERR_MALFORMED, "%s: empty", field);
    }
    if (txf_make(tx, f, n))
        return cbu_fail(r, CHAIN_ERR_NOMEM, "%s: out of memory", field);
    for (size_t i = 0; i < n; i++)
        if ((rc = get_value(r, tx, f, sh, i, field)))
            return rc;
    return CHAIN_OK;
}

static int decode_body(cbu_rd *r, chain_tx *tx)
{
    const tx_schema *sc = tx_schema_of(tx->type);
    size_t n;
    /* A generous bound: an extra entry is reported as the unknown or duplicate
     * key it is, not as a size problem. */
    int rc = cbu_get_map(r, &n, MAP_ENTRIES_MAX, "body");
    if (rc)
        return rc;
    cbu_keys k = CBU_KEYS_INIT;
    size_t next = 0; /* schema and input are both in canonical order */
    for (size_t i = 0; i < n; i++) {
        const char *key;
        size_t kl;
        if ((rc = cbu_get_key(r, &k, &key, &kl)))
            return rc;
        while (next < sc->n && !cbu_key_is(key, kl, sc->fields[next].key))
            next++;
        if (next == sc->n)
            return cbu_fail(r, CHAIN_ERR_MALFORMED, "body.%.*s: unknown field for %s", (int)kl, key,
                            chain_tx_type_name(tx->type));
        if ((rc = get_field(r, tx, &sc->fields[next])))
            return rc;
        next++;
    }
    return cbu_rd_done(r);
}

/* One bounded byte string into out[max]. */
static int get_blob(cbu_rd *r, uint8_t *out, size_t *n, size_t min, size_t max, const char *field)
{
    const uint8_t *p;
    size_t len;
    int rc = cbu_get_bytes(r, &p, &len, max, field);
    if (rc)
        return rc;
    if (len < min)
        return cbu_fail(r, CHAIN_ERR_MALFORMED, "%s: %zu bytes, at least %zu", field, len, min);
    memcpy(out, p, len);
    *n = len;
    return CHAIN_OK;
}

static int get_auth(cbu_rd *r, chain_tx *t)
{
    size_t n;
    int rc = cbu_get_map(r, &n, 5, "auth");
    if (rc)
        return rc;
    if (n != 5)
        return cbu_fail(r, CHAIN_ERR_MALFORMED, "auth: needs pub, sig, cred, adata and cdata");
    chain_passkey_auth *a = t->auth = calloc(1, sizeof *a);
    if (a == NULL)
        return cbu_fail(r, CHAIN_ERR_NOMEM, "auth: out of memory");
    static const char *const keys[] = {"pub", "sig", "cred", "adata", "cdata"};
    cbu_keys k = CBU_KEYS_INIT;
    for (size_t i = 0; i < 5; i++) {
        const char *key;
        size_t kl;
        if ((rc = cbu_get_key(r, &k, &key, &kl)))
            return rc;
        if (!cbu_key_is(key, kl, keys[i]))
            return cbu_fail(r, CHAIN_ERR_MALFORMED, "auth.%.*s: unknown or out of order", (int)kl,
                            key);
        switch (i) {
        case 0:
            rc = cbu_get_bytes_n(r, a->pub, CHAIN_P256_PUB_LEN, "auth.pub");
            break;
        case 1:
            rc = get_blob(r, a->sig, &a->sig_len, 8, CHAIN_DER_SIG_MAX, "auth.sig");
            break;
        case 2:
            rc = get_blob(r, a->cred, &a->cred_len, 1, CHAIN_CRED_ID_MAX, "auth.cred");
            break;
        case 3:
            rc = get_blob(r, a->adata, &a->adata_len, CHAIN_ADATA_MIN, CHAIN_ADATA_MAX,
                          "auth.adata");
            break;
        default:
            rc = get_blob(r, a->cdata, &a->cdata_len, 1, CHAIN_CDATA_MAX, "auth.cdata");
            break;
        }
        if (rc)
            return rc;
    }
    return CHAIN_OK;
}

/* Decodes into *t (zeroed by the caller); on failure t may hold allocations. */
static int decode(chain_tx *t, const uint8_t *buf, size_t len, char *errmsg, size_t elen)
{
    cbu_rd r;
    cbu_rd_init(&r, buf, len, errmsg, elen);
    if (len > CHAIN_TX_MAX_BYTES)
        return cbu_fail(&r, CHAIN_ERR_TOO_LARGE, "transaction: %zu bytes, at most %u", len,
                        CHAIN_TX_MAX_BYTES);
    size_t n;
    int rc = cbu_get_map(&r, &n, MAP_ENTRIES_MAX, "transaction");
    if (rc)
        return rc;
    cbu_keys k = CBU_KEYS_INIT;
    const uint8_t *body = NULL;
    size_t body_len = 0;
    unsigned seen = 0;
    for (size_t i = 0; i < n; i++) {
        const char *key;
        size_t kl;
        if ((rc = cbu_get_key(&r, &k, &key, &kl)))
            return rc;
        if (cbu_key_is(key, kl, "sig")) {
            rc = cbu_get_bytes_n(&r, t->sig, CHAIN_SIG_LEN, "sig");
            seen |= 1;
        } else if (cbu_key_is(key, kl, "auth")) {
            rc = get_auth(&r, t);
        } else if (cbu_key_is(key, kl, "body")) {
            body = r.p;
            rc = cbu_skip(&r, "body");
            body_len = (size_t)(r.p - body);
            seen |= 2;
        } else if (cbu_key_is(key, kl, "time")) {
            rc = cbu_get_uint(&r, &t->time, "time");
            seen |= 4;
        } else if (cbu_key_is(key, kl, "type")) {
            char word[24];
            rc = get_word(&r, word, sizeof word, "type");
            if (rc == CHAIN_OK && (t->type = chain_tx_type_parse(word)) <= 0)
                return cbu_fail(&r, CHAIN_ERR_INVALID, "type: unknown type \"%s\"", word);
            seen |= 8;
        } else if (cbu_key_is(key, kl, "chain")) {
            rc = cbu_get_bytes_n(&r, t->chain, CHAIN_HASH_LEN, "chain");
            seen |= 16;
        } else if (cbu_key_is(key, kl, "nonce")) {
            rc = cbu_get_uint(&r, &t->nonce, "nonce");
            seen |= 32;
        } else if (cbu_key_is(key, kl, "signer")) {
            rc = cbu_get_bytes_n(&r, t->signer, CHAIN_KEY_LEN, "signer");
            seen |= 64;
        } else {
            return cbu_fail(&r, CHAIN_ERR_MALFORMED, "%.*s: unknown field", (int)kl, key);
        }
        if (rc)
            return rc;
    }
    static const char *const names[] = {"sig", "body", "time", "type", "chain", "nonce", "signer"};
    for (int i = 0; i < 7; i++)
        if (!(seen & (1u << i)))
            return cbu_fail(&r, CHAIN_ERR_MALFORMED, "%s: missing", names[i]);
    if ((rc = cbu_rd_done(&r)))
        return rc;

    cbu_rd br;
    cbu_rd_init(&br, body, body_len, errmsg, elen);
    if ((rc = decode_body(&br, t)))
        return rc;
    if ((rc = tx_body_check(t, errmsg, elen)) || (rc = auth_check(t, errmsg, elen)))
        return rc;

    uint8_t *again;
    size_t again_len;
    if ((rc = encode(&again, &again_len, t, true)))
        return cbu_fail(&r, rc, "transaction: cannot re-encode");
    bool same = again_len == len && memcmp(again, buf, len) == 0;
    free(again);
    if (!same)
        return cbu_fail(&r, CHAIN_ERR_NON_CANONICAL,
                        "transaction: not the canonical encoding (empty optional field?)");
    return CHAIN_OK;
}

int chain_tx_decode(chain_tx *tx, const uint8_t *buf, size_t len, char *errmsg, size_t elen)
{
    chain_tx t;
    memset(&t, 0, sizeof t);
    if (errmsg != NULL && elen > 0)
        errmsg[0] = '\0';
    int rc = decode(&t, buf, len, errmsg, elen);
    if (rc) {
        chain_tx_free(&t);
        return rc;
    }
    *tx = t;
    return CHAIN_OK;
}

int chain_tx_verify(const chain_rp *rp, const chain_tx *tx, const uint8_t id[CHAIN_HASH_LEN],
                    char *errmsg, size_t elen)
{
    if (tx->auth == NULL) {
        if (chain_verify(tx->sig, tx->signer, id))
            return CHAIN_OK;
        if (errmsg != NULL && elen > 0)
            snprintf(errmsg, elen, "signature does not verify for signer");
        return CHAIN_ERR_BAD_SIGNATURE;
    }
    uint8_t pk[CHAIN_HASH_LEN];
    chain_passkey_id(pk, tx->auth->cred, tx->auth->cred_len, tx->auth->pub);
    if (memcmp(pk, tx->signer, CHAIN_HASH_LEN) != 0) {
        if (errmsg != NULL && elen > 0)
            snprintf(errmsg, elen, "signer is not the passkey in auth");
        return CHAIN_ERR_BAD_SIGNATURE;
    }
    int rc = chain_webauthn_verify_sig(tx->auth, id, NULL, errmsg, elen);
    if (rc == CHAIN_OK && rp != NULL)
        rc = chain_webauthn_check_rp(rp, tx->auth, errmsg, elen);
    return rc;
}

int chain_tx_check_rp(const chain_rp *rp, const chain_tx *tx, char *errmsg, size_t elen)
{
    if (tx->auth == NULL)
        return CHAIN_OK;
    return chain_webauthn_check_rp(rp, tx->auth, errmsg, elen);
}

int chain_tx_precheck(uint8_t id[CHAIN_HASH_LEN], const uint8_t chain_id[CHAIN_HASH_LEN],
                      const chain_rp *rp, const uint8_t *buf, size_t len, char *errmsg, size_t elen)
{
    chain_tx t;
    int rc = chain_tx_decode(&t, buf, len, errmsg, elen);
    if (rc)
        return rc;
    uint8_t h[CHAIN_HASH_LEN];
    char dummy[1];
    if (errmsg == NULL || elen == 0) {
        errmsg = dummy;
        elen = sizeof dummy;
    }
    if (memcmp(t.chain, chain_id, CHAIN_HASH_LEN) != 0) {
        rc = CHAIN_ERR_WRONG_CHAIN;
        snprintf(errmsg, elen, "chain: signed for another chain");
    } else if ((rc = chain_tx_id(h, &t)) != CHAIN_OK) {
        snprintf(errmsg, elen, "transaction: cannot compute id");
    } else if ((rc = chain_tx_verify(rp, &t, h, errmsg, elen)) == CHAIN_OK) {
        memcpy(id, h, sizeof h);
    }
    chain_tx_free(&t);
    return rc;
}
