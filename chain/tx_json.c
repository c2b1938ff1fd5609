/*
 * tx_json.c — transactions at the HTTP edge: the JSON twin of the canonical
 * CBOR form, driven by the same body schema (tx_schema.c).
 *
 * Binary values are lowercase hex (keys, hashes, signatures, scan client
 * hashes); units are "GTIN/SERIAL" strings ("09506000134352/AB12" — the
 * serial is everything after the first '/', since a GTIN has none); enums
 * are their names. Optional fields are omitted when empty, as on the wire.
 * from_json is strict like the CBOR decoder: unknown keys and wrong types are
 * refused with the field named, and the result passes the same
 * tx_body_check, so a transaction built from JSON encodes without surprise.
 * "signer" and "sig" may be absent (zero) so a client can build, then sign.
 */
#include <assert.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chain/chain.h"
#include "chain/tx_schema.h"

/* ---- to JSON ------------------------------------------------------------------- */

static json_t *hex_json(const uint8_t *p, size_t n)
{
    char small[2 * CHAIN_SIG_LEN + 1];
    char *hex = n <= CHAIN_SIG_LEN ? small : malloc(2 * n + 1); /* auth fields are longer */
    if (hex == NULL)
        return NULL;
    chain_hex(hex, p, n);
    json_t *j = json_string(hex);
    if (hex != small)
        free(hex);
    return j;
}

static json_t *unit_json(const gs1_sgtin *u)
{
    char s[GS1_GTIN_LEN + 1 + GS1_SERIAL_MAX + 1];
    snprintf(s, sizeof s, "%s/%s", u->gtin, u->serial);
    return json_string(s);
}

/* uint64 as a JSON integer when it fits json_int_t, else a decimal string. */
static json_t *u64_json(uint64_t v)
{
    if (v <= (uint64_t)INT64_MAX)
        return json_integer((json_int_t)v);
    char s[24];
    snprintf(s, sizeof s, "%llu", (unsigned long long)v);
    return json_string(s);
}

static void put(json_t *obj, const char *key, json_t *v, bool *ok)
{
    if (v == NULL || json_object_set_new(obj, key, v) != 0)
        *ok = false;
}

static void append(json_t *arr, json_t *v, bool *ok)
{
    if (v == NULL || json_array_append_new(arr, v) != 0)
        *ok = false;
}

static json_t *scan_json(const chain_scan *s)
{
    bool ok = true;
    json_t *o = json_object();
    if (o == NULL)
        return NULL;
    put(o, TXS_KIND, json_string(tx_scan_kind_name(s->kind)), &ok);
    put(o, TXS_UNIT, unit_json(&s->id), &ok);
    put(o, TXS_TIME, u64_json(s->time), &ok);
    put(o, TXS_CLIENT, hex_json(s->client, sizeof s->client), &ok);
    if (s->region[0])
        put(o, TXS_REGION, json_string(s->region), &ok);
    if (s->verdict)
        put(o, TXS_VERDICT, json_integer(s->verdict), &ok);
    if (s->note[0])
        put(o, TXS_NOTE, json_string(s->note), &ok);
    if (!ok) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* One value of field f (entry i of an array). */
static json_t *value_json(const chain_tx *tx, const txf *f, const txf_shape *sh, size_t i)
{
    switch ((enum txv)sh->value) {
    case TXV_UINT:
        return u64_json(txf_get_uint(tx, f));
    case TXV_BOOL:
        return json_boolean(txf_get_bool(tx, f));
    case TXV_TEXT:
        return json_string(txf_get_text(tx, f, i));
    case TXV_NAME:
        return json_string(txf_get_name(tx, f));
    case TXV_BYTES:
        return hex_json(txf_bytes(tx, f, i), sh->size);
    case TXV_VBYTES:
        return hex_json(txf_bytes(tx, f, i), *txf_vlen(tx, f));
    case TXV_UNIT:
        return unit_json(txf_unit(tx, f, i));
    case TXV_SCAN:
        return scan_json(txf_scan(tx, f, i));
    }
    return NULL;
}

static json_t *field_json(const chain_tx *tx, const txf *f)
{
    const txf_shape *sh = txf_shape_of(f);
    if (!sh->array)
        return value_json(tx, f, sh, 0);
    json_t *arr = json_array();
    if (arr == NULL)
        return NULL;
    bool ok = true;
    size_t n = txf_count(tx, f);
    for (size_t i = 0; ok && i < n; i++)
        append(arr, value_json(tx, f, sh, i), &ok);
    if (!ok) {
        json_decref(arr);
        return NULL;
    }
    return arr;
}

json_t *chain_tx_to_json(const chain_tx *tx)
{
    const tx_schema *sc = tx_schema_of(tx->type);
    if (sc == NULL)
        return NULL;
    bool ok = true;
    json_t *o = json_object(), *body = json_object();
    if (o == NULL || body == NULL) {
        json_decref(o);
        json_decref(body);
        return NULL;
    }
    put(o, "type", json_string(chain_tx_type_name(tx->type)), &ok);
    put(o, "chain", hex_json(tx->chain, CHAIN_HASH_LEN), &ok);
    put(o, "signer", hex_json(tx->signer, CHAIN_KEY_LEN), &ok);
    put(o, "nonce", u64_json(tx->nonce), &ok);
    put(o, "time", u64_json(tx->time), &ok);
    put(o, "sig", hex_json(tx->sig, CHAIN_SIG_LEN), &ok);
    if (tx->auth != NULL) {
        const chain_passkey_auth *a = tx->auth;
        json_t *au = json_object();
        put(o, "auth", au, &ok);
        if (ok) {
            put(au, "pub", hex_json(a->pub, CHAIN_P256_PUB_LEN), &ok);
            put(au, "sig", hex_json(a->sig, a->sig_len), &ok);
            put(au, "cred", hex_json(a->cred, a->cred_len), &ok);
            put(au, "adata", hex_json(a->adata, a->adata_len), &ok);
            put(au, "cdata", hex_json(a->cdata, a->cdata_len), &ok);
        }
    }
    put(o, "body", body, &ok);

    for (size_t i = 0; ok && i < sc->n; i++)
        if (txf_present(tx, &sc->fields[i]))
            put(body, sc->fields[i].key, field_json(tx, &sc->fields[i]), &ok);
    if (!ok) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* ---- from JSON ------------------------------------------------------------------ */

typedef struct jctx {
    char *errmsg;
    size_t errmsg_len;
} jctx;

static int jfail(jctx *c, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int jfail(jctx *c, int code, const char *fmt, ...)
{
    if (c->errmsg != NULL && c->errmsg_len > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(c->errmsg, c->errmsg_len, fmt, ap);
        va_end(ap);
    }
    return code;
}

static int get_u64(jctx *c, const json_t *v, const char *field, uint64_t *out)
{
    if (json_is_integer(v) && json_integer_value(v) >= 0) {
        *out = (uint64_t)json_integer_value(v);
        return CHAIN_OK;
    }
    const char *s = json_string_value(v);
    size_t n = json_is_string(v) ? json_string_length(v) : 0;
    if (s != NULL && n >= 1 && n <= 20) {
        uint64_t x = 0;
        bool ok = true;
        for (size_t i = 0; ok && i < n; i++) {
            unsigned d = (unsigned)(s[i] - '0');
            ok = d <= 9 && x <= (UINT64_MAX - d) / 10;
            x = x * 10 + d;
        }
        if (ok) {
            *out = x;
            return CHAIN_OK;
        }
    }
    return jfail(c, CHAIN_ERR_MALFORMED, "%s: not a non-negative integer", field);
}

static int get_hex(jctx *c, const json_t *v, const char *field, uint8_t *out, size_t n)
{
    const char *s = json_string_value(v);
    if (s == NULL || json_string_length(v) != 2 * n || chain_unhex(out, n, s, 2 * n) != (int)n)
        return jfail(c, CHAIN_ERR_MALFORMED, "%s: not %zu hex characters", field, 2 * n);
    return CHAIN_OK;
}

/* Hex of min..max bytes into out; *n the decoded length. */
static int get_hexv(jctx *c, const json_t *v, const char *field, uint8_t *out, size_t *n,
                    size_t min, size_t max)
{
    const char *s = json_string_value(v);
    size_t l = json_is_string(v) ? json_string_length(v) : 0;
    int got;
    if (s == NULL || l % 2 != 0 || l / 2 < min || l / 2 > max ||
        (got = chain_unhex(out, max, s, l)) != (int)(l / 2))
        return jfail(c, CHAIN_ERR_MALFORMED, "%s: not %zu..%zu bytes of hex", field, min, max);
    *n = (size_t)got;
    return CHAIN_OK;
}

static int get_auth(jctx *c, chain_tx *t, const json_t *v)
{
    if (!json_is_object(v) || json_object_size(v) != 5)
        return jfail(c, CHAIN_ERR_MALFORMED, "auth: needs pub, sig, cred, adata and cdata");
    chain_passkey_auth *a = t->auth = calloc(1, sizeof *a);
    if (a == NULL)
        return CHAIN_ERR_NOMEM;
    size_t pl;
    int rc;
    if ((rc = get_hexv(c, json_object_get(v, "pub"), "auth.pub", a->pub, &pl, CHAIN_P256_PUB_LEN,
                       CHAIN_P256_PUB_LEN)) ||
        (rc = get_hexv(c, json_object_get(v, "sig"), "auth.sig", a->sig, &a->sig_len, 8,
                       CHAIN_DER_SIG_MAX)) ||
        (rc = get_hexv(c, json_object_get(v, "cred"), "auth.cred", a->cred, &a->cred_len, 1,
                       CHAIN_CRED_ID_MAX)) ||
        (rc = get_hexv(c, json_object_get(v, "adata"), "auth.adata", a->adata, &a->adata_len,
                       CHAIN_ADATA_MIN, CHAIN_ADATA_MAX)) ||
        (rc = get_hexv(c, json_object_get(v, "cdata"), "auth.cdata", a->cdata, &a->cdata_len, 1,
                       CHAIN_CDATA_MAX)))
        return rc;
    return CHAIN_OK;
}

/* String of at most cap-1 bytes, no NUL, into out. */
static int get_text(jctx *c, const json_t *v, const char *field, char *out, size_t cap)
{
    const char *s = json_string_value(v);
    if (s == NULL)
        return jfail(c, CHAIN_ERR_MALFORMED, "%s: not a string", field);
    size_t n = json_string_length(v);
    if (n >= cap)
        return jfail(c, CHAIN_ERR_TOO_LARGE, "%s: longer than %zu bytes", field, cap - 1);
    if (memchr(s, '\0', n) != NULL)
        return jfail(c, CHAIN_ERR_MALFORMED, "%s: contains NUL", field);
    memcpy(out, s, n + 1);
    return CHAIN_OK;
}

static int get_unit(jctx *c, const json_t *v, const char *field, gs1_sgtin *u)
{
    const char *s = json_string_value(v);
    size_t n = json_is_string(v) ? json_string_length(v) : 0;
    const char *slash = s ? memchr(s, '/', n) : NULL;
    if (slash == NULL || slash - s != GS1_GTIN_LEN || n - GS1_GTIN_LEN - 1 < 1 ||
        n - GS1_GTIN_LEN - 1 > GS1_SERIAL_MAX)
        return jfail(c, CHAIN_ERR_MALFORMED, "%s: not \"GTIN/SERIAL\"", field);
    memcpy(u->gtin, s, GS1_GTIN_LEN);
    u->gtin[GS1_GTIN_LEN] = '\0';
    memcpy(u->serial, slash + 1, n - GS1_GTIN_LEN - 1);
    u->serial[n - GS1_GTIN_LEN - 1] = '\0';
    return CHAIN_OK;
}

static int get_arr(jctx *c, const json_t *v, const char *field, size_t max, size_t *n)
{
    if (!json_is_array(v))
        return jfail(c, CHAIN_ERR_MALFORMED, "%s: not an array", field);
    *n = json_array_size(v);
    if (*n > max)
        return jfail(c, CHAIN_ERR_TOO_LARGE, "%s: more than %zu entries", field, max);
    return CHAIN_OK;
}

static int get_scan(jctx *c, const json_t *o, size_t idx, chain_scan *s)
{
    char f[64];
    snprintf(f, sizeof f, "body.records[%zu]", idx);
    if (!json_is_object(o))
        return jfail(c, CHAIN_ERR_MALFORMED, "%s: not an object", f);
    const char *k;
    json_t *v;
    int rc = CHAIN_OK;
    char sub[96];
    json_object_foreach((json_t *)o, k, v)
    {
        snprintf(sub, sizeof sub, "%s.%.24s", f, k);
        if (strcmp(k, TXS_KIND) == 0) {
            const char *name = json_string_value(v);
            int kind = name ? tx_scan_kind_parse(name, json_string_length(v)) : -1;
            if (kind < 0)
                return jfail(c, CHAIN_ERR_INVALID, "%s: not scan|probe|report", sub);
            s->kind = (uint8_t)kind;
        } else if (strcmp(k, TXS_UNIT) == 0) {
            rc = get_unit(c, v, sub, &s->id);
        } else if (strcmp(k, TXS_TIME) == 0) {
            rc = get_u64(c, v, sub, &s->time);
        } else if (strcmp(k, TXS_CLIENT) == 0) {
            rc = get_hex(c, v, sub, s->client, sizeof s->client);
        } else if (strcmp(k, TXS_REGION) == 0) {
            rc = get_text(c, v, sub, s->region, sizeof s->region);
        } else if (strcmp(k, TXS_NOTE) == 0) {
            rc = get_text(c, v, sub, s->note, sizeof s->note);
        } else if (strcmp(k, TXS_VERDICT) == 0) {
            uint64_t x;
            if ((rc = get_u64(c, v, sub, &x)) == CHAIN_OK && x > UINT8_MAX)
                return jfail(c, CHAIN_ERR_INVALID, "%s: over 255", sub);
            s->verdict = (uint8_t)x;
        } else {
            return jfail(c, CHAIN_ERR_MALFORMED, "%s: unknown field", sub);
        }
        if (rc)
            return rc;
    }
    if (s->kind == 0 || s->id.gtin[0] == '\0')
        return jfail(c, CHAIN_ERR_MALFORMED, "%s: needs kind, unit, time and client", f);
    return CHAIN_OK;
}

/* One value of field f (entry i of an array), named field in messages. */
static int get_value(jctx *c, chain_tx *tx, const txf *f, const txf_shape *sh, size_t i,
                     const json_t *v, const char *field)
{
    int rc;
    switch ((enum txv)sh->value) {
    case TXV_UINT: {
        uint64_t x;
        if ((rc = get_u64(c, v, field, &x)))
            return rc;
        if (x > sh->max)
            return jfail(c, CHAIN_ERR_INVALID, "%s: over %llu", field, (unsigned long long)sh->max);
        txf_set_uint(tx, f, x);
        return CHAIN_OK;
    }
    case TXV_BOOL:
        if (!json_is_boolean(v))
            return jfail(c, CHAIN_ERR_MALFORMED, "%s: not true or false", field);
        txf_set_bool(tx, f, json_is_true(v));
        return CHAIN_OK;
    case TXV_TEXT: {
        char text[CHAIN_NOTE_MAX + 1]; /* the longest text */
        assert(txf_text_cap(f) <= sizeof text);
        if ((rc = get_text(c, v, field, text, txf_text_cap(f))))
            return rc;
        return txf_set_text(tx, f, i, text, strlen(text));
    }
    case TXV_NAME: {
        const char *s = json_string_value(v);
        if (s == NULL)
            return jfail(c, CHAIN_ERR_MALFORMED, "%s: not a string", field);
        if (!txf_set_name(tx, f, s))
            return jfail(c, CHAIN_ERR_INVALID, "%s: unknown value \"%.24s\"", field, s);
        return CHAIN_OK;
    }
    case TXV_BYTES:
        return get_hex(c, v, field, txf_bytes(tx, f, i), sh->size);
    case TXV_VBYTES: {
        const char *s = json_string_value(v);
        size_t n = s ? json_string_length(v) : 0;
        if (s == NULL || n == 0 || n % 2)
            return jfail(c, CHAIN_ERR_MALFORMED, "%s: not hex bytes", field);
        if (n > 2 * sh->size)
            return jfail(c, CHAIN_ERR_TOO_LARGE, "%s: over %zu bytes", field, sh->size);
        int got = chain_unhex(txf_bytes(tx, f, i), sh->size, s, n);
        if (got != (int)(n / 2))
            return jfail(c, CHAIN_ERR_MALFORMED, "%s: not hex bytes", field);
        *txf_vlen(tx, f) = (size_t)got;
        return CHAIN_OK;
    }
    case TXV_UNIT:
        return get_unit(c, v, field, txf_unit(tx, f, i));
    case TXV_SCAN:
        return get_scan(c, v, i, txf_scan(tx, f, i));
    }
    return jfail(c, CHAIN_ERR_INVALID, "%s: unknown value shape", field);
}

static int get_field(jctx *c, chain_tx *tx, const txf *f, const json_t *v)
{
    char field[48], item[80];
    snprintf(field, sizeof field, "body.%s", f->key);
    const txf_shape *sh = txf_shape_of(f);
    int rc;
    if (!sh->array) {
        if (txf_make(tx, f, 1))
            return CHAIN_ERR_NOMEM;
        return get_value(c, tx, f, sh, 0, v, field);
    }
    size_t n = 0;
    if ((rc = get_arr(c, v, field, sh->max, &n)))
        return rc;
    if ((rc = txf_count_check(tx, f, n, false, c->errmsg, c->errmsg_len)))
        return rc;
    if (n == 0 && sh->nonempty)
        return jfail(c, CHAIN_ERR_MALFORMED, "%s: empty", field);
    if (txf_make(tx, f, n))
        return CHAIN_ERR_NOMEM;
    for (size_t i = 0; i < n; i++) {
        snprintf(item, sizeof item, "%s[%zu]", field, i);
        if ((rc = get_value(c, tx, f, sh, i, json_array_get(v, i), item)))
            return rc;
    }
    return CHAIN_OK;
}

static int from_json(jctx *c, chain_tx *t, const json_t *j)
{
    if (!json_is_object(j))
        return jfail(c, CHAIN_ERR_MALFORMED, "transaction: not a JSON object");
    const char *type = json_string_value(json_object_get(j, "type"));
    if (type == NULL)
        return jfail(c, CHAIN_ERR_MALFORMED, "type: missing");
    if ((t->type = chain_tx_type_parse(type)) <= 0)
        return jfail(c, CHAIN_ERR_INVALID, "type: unknown type \"%.32s\"", type);
    const tx_schema *sc = tx_schema_of(t->type);
    const char *k;
    json_t *v;
    int rc = CHAIN_OK;
    bool have_chain = false, have_nonce = false, have_body = false;
    json_object_foreach((json_t *)j, k, v)
    {
        if (strcmp(k, "type") == 0) {
            continue;
        } else if (strcmp(k, "chain") == 0) {
            rc = get_hex(c, v, "chain", t->chain, CHAIN_HASH_LEN);
            have_chain = true;
        } else if (strcmp(k, "signer") == 0) {
            rc = get_hex(c, v, "signer", t->signer, CHAIN_KEY_LEN);
        } else if (strcmp(k, "sig") == 0) {
            rc = get_hex(c, v, "sig", t->sig, CHAIN_SIG_LEN);
        } else if (strcmp(k, "auth") == 0) {
            rc = get_auth(c, t, v);
        } else if (strcmp(k, "nonce") == 0) {
            rc = get_u64(c, v, "nonce", &t->nonce);
            have_nonce = true;
        } else if (strcmp(k, "time") == 0) {
            rc = get_u64(c, v, "time", &t->time);
        } else if (strcmp(k, "body") == 0) {
            have_body = true;
            if (!json_is_object(v))
                return jfail(c, CHAIN_ERR_MALFORMED, "body: not an object");
            const char *bk;
            json_t *bv;
            json_object_foreach(v, bk, bv)
            {
                const txf *f = NULL;
                for (size_t i = 0; i < sc->n && f == NULL; i++)
                    if (strcmp(sc->fields[i].key, bk) == 0)
                        f = &sc->fields[i];
                if (f == NULL)
                    return jfail(c, CHAIN_ERR_MALFORMED, "body.%.32s: unknown field for %s", bk,
                                 type);
                if ((rc = get_field(c, t, f, bv)))
                    return rc;
            }
        } else {
            return jfail(c, CHAIN_ERR_MALFORMED, "%.32s: unknown field", k);
        }
        if (rc)
            return rc;
    }
    if (!have_chain)
        return jfail(c, CHAIN_ERR_MALFORMED, "chain: missing");
    if (!have_nonce)
        return jfail(c, CHAIN_ERR_MALFORMED, "nonce: missing");
    if (!have_body)
        return jfail(c, CHAIN_ERR_MALFORMED, "body: missing");
    return tx_body_check(t, c->errmsg, c->errmsg_len);
}

int chain_tx_from_json(chain_tx *tx, const json_t *j, char *errmsg, size_t errmsg_len)
{
    jctx c = {errmsg, errmsg_len};
    if (errmsg != NULL && errmsg_len > 0)
        errmsg[0] = '\0';
    chain_tx t;
    memset(&t, 0, sizeof t);
    int rc = from_json(&c, &t, j);
    if (rc) {
        if (rc == CHAIN_ERR_NOMEM)
            jfail(&c, rc, "out of memory");
        chain_tx_free(&t);
        return rc;
    }
    *tx = t;
    return CHAIN_OK;
}
