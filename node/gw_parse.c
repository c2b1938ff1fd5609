/*
 * gw_parse.c — the gateway's parsers of client input (gw_parse.h): a
 * submission body, a report body and the EPCIS query. Each reads only the
 * bytes it is given, bounded, and answers with a result or with the error
 * the route replies; nothing here knows of a connection, so tests/fuzz runs
 * exactly this code.
 */
#include "node/gw_parse.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "node/epcis.h"
#include "node/gateway.h"
#include "node/gw_priv.h"

static void perr(gw_perr *e, unsigned status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void perr(gw_perr *e, unsigned status, const char *code, const char *fmt, ...)
{
    e->status = status;
    e->code = code;
    e->epcis_type = NULL;
    e->bad_code = false;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
}

/* ---- POST /api/v1/tx ---------------------------------------------------------------- */

void gw_txs_free(tx_batch *b)
{
    if (!b)
        return;
    for (size_t i = 0; i < b->n; i++)
        free(b->items[i].own);
    free(b->items);
    free(b);
}

/* One JSON tx object → its canonical CBOR in it->own. */
static void item_from_json(tx_item *it, const json_t *j)
{
    chain_tx tx;
    int e = chain_tx_from_json(&tx, j, it->msg, sizeof it->msg);
    if (e != CHAIN_OK) {
        it->err = e;
        return;
    }
    e = chain_tx_encode(&it->own, &it->len, &tx);
    chain_tx_free(&tx);
    if (e != CHAIN_OK) {
        it->err = e;
        snprintf(it->msg, sizeof it->msg, "%s", chain_strerror(e));
        return;
    }
    it->p = it->own;
}

static tx_batch *batch_new(size_t n)
{
    tx_batch *b = calloc(1, sizeof *b);
    if (!b)
        return NULL;
    b->items = calloc(n ? n : 1, sizeof *b->items);
    if (!b->items) {
        free(b);
        return NULL;
    }
    b->n = n;
    return b;
}

tx_batch *gw_txs_parse(const char *ct, const uint8_t *body, size_t len, gw_perr *e)
{
    tx_batch *b = NULL;
    if (len == 0) {
        perr(e, 400, "malformed", "empty body: send one transaction or an array");
        return NULL;
    }
    if (ct && strncmp(ct, "application/cbor", 16) == 0) {
        uint8_t major = body[0] >> 5;
        if (major == 5) { /* a map: one transaction, decoded by the submit precheck */
            if (len > CHAIN_TX_MAX_BYTES) {
                perr(e, 413, "too_large", "one transaction is at most %u bytes",
                     CHAIN_TX_MAX_BYTES);
                return NULL;
            }
            if (!(b = batch_new(1)))
                goto oom;
            b->items[0].p = body;
            b->items[0].len = len;
            return b;
        }
        if (major != 4) {
            perr(e, 400, "malformed_cbor",
                 "expected a transaction (map) or an array of encoded transactions");
            return NULL;
        }
        /* the bounded reader, not cbor_load: a few bytes could claim a
         * map of a billion entries and libcbor allocates what they claim */
        const uint8_t **txs = malloc(GW_BATCH_MAX * sizeof *txs);
        size_t *lens = malloc(GW_BATCH_MAX * sizeof *lens), n = 0;
        char msg[160];
        int rc = txs && lens ? chain_txs_split(txs, lens, &n, GW_BATCH_MAX, body, len, msg,
                                               sizeof msg)
                             : CHAIN_ERR_NOMEM;
        if (rc == CHAIN_OK && n == 0)
            perr(e, 400, "malformed", "a batch holds 1..%d transactions", GW_BATCH_MAX);
        else if (rc == CHAIN_ERR_TOO_LARGE)
            perr(e, 413, "too_large", "a batch holds 1..%d transactions of at most %u bytes: %s",
                 GW_BATCH_MAX, CHAIN_TX_MAX_BYTES, msg);
        else if (rc == CHAIN_ERR_NOMEM)
            perr(e, 503, "nomem", "out of memory");
        else if (rc != CHAIN_OK)
            perr(e, 400, "malformed_cbor", "not one definite CBOR array of byte strings: %s", msg);
        else if ((b = batch_new(n)) != NULL) {
            b->batch = true;
            for (size_t i = 0; i < n; i++) {
                b->items[i].p = txs[i];
                b->items[i].len = lens[i];
            }
        } else
            perr(e, 503, "nomem", "out of memory");
        free(txs);
        free(lens);
        return b;
    }
    if (ct && strncmp(ct, "application/json", 16) == 0) {
        json_error_t je;
        json_t *j = json_loadb((const char *)body, len, JSON_REJECT_DUPLICATES, &je);
        if (!j) {
            perr(e, 400, "malformed_json", "line %d: %s", je.line, je.text);
            return NULL;
        }
        if (json_is_object(j)) {
            if (!(b = batch_new(1))) {
                json_decref(j);
                goto oom;
            }
            item_from_json(&b->items[0], j);
        } else if (json_is_array(j) && json_array_size(j) > 0 &&
                   json_array_size(j) <= GW_BATCH_MAX) {
            if (!(b = batch_new(json_array_size(j)))) {
                json_decref(j);
                goto oom;
            }
            b->batch = true;
            for (size_t i = 0; i < b->n; i++)
                item_from_json(&b->items[i], json_array_get(j, i));
        } else {
            bool big = json_is_array(j) && json_array_size(j) > GW_BATCH_MAX;
            json_decref(j);
            perr(e, big ? 413 : 400, big ? "too_large" : "malformed_json",
                 "expected a transaction object or an array of 1..%d", GW_BATCH_MAX);
            return NULL;
        }
        json_decref(j);
        return b;
    }
    perr(e, 415, "unsupported_media_type", "send application/cbor or application/json");
    return NULL;
oom:
    perr(e, 503, "nomem", "out of memory");
    return NULL;
}

/* ---- POST /api/v1/reports ----------------------------------------------------------- */

/* Valid UTF-8 without control characters other than newline and tab: the note
 * becomes a CBOR text string in a scans transaction. */
static bool note_ok(const char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)s[i];
        size_t k;
        if (c < 0x80) {
            if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f)
                return false;
            i++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf)
            k = 1;
        else if (c >= 0xe0 && c <= 0xef)
            k = 2;
        else if (c >= 0xf0 && c <= 0xf4)
            k = 3;
        else
            return false;
        if (i + k >= n)
            return false;
        for (size_t j = 1; j <= k; j++)
            if (((unsigned char)s[i + j] & 0xc0) != 0x80)
                return false;
        i += k + 1;
    }
    return true;
}

/* Finds key in an application/x-www-form-urlencoded body and decodes it
 * ('+' is a space) into out. false when absent or undecodable. */
static bool form_value(const uint8_t *body, size_t n, const char *key, char *out, size_t cap)
{
    size_t kl = strlen(key);
    for (size_t i = 0; i < n;) {
        size_t end = i;
        while (end < n && body[end] != '&')
            end++;
        if (end - i > kl && memcmp(body + i, key, kl) == 0 && body[i + kl] == '=') {
            char tmp[4 * CHAIN_NOTE_MAX];
            size_t vl = end - i - kl - 1;
            if (vl >= sizeof tmp)
                return false;
            for (size_t j = 0; j < vl; j++) {
                char c = (char)body[i + kl + 1 + j];
                tmp[j] = c == '+' ? ' ' : c;
            }
            return chain_pct_decode(out, cap, tmp, vl) >= 0;
        }
        i = end + 1;
    }
    return false;
}

bool gw_report_parse(gw_report *out, const char *ct, const uint8_t *body, size_t len, gw_perr *e)
{
    bool form = ct && strncmp(ct, "application/x-www-form-urlencoded", 33) == 0;
    char unit[GS1_DL_MAX + 1] = "", note[CHAIN_NOTE_MAX * 2] = "";
    if (form) {
        if (!form_value(body, len, "unit", unit, sizeof unit)) {
            perr(e, 400, "bad_unit", "form field unit is missing");
            return false;
        }
        if (!form_value(body, len, "note", note, sizeof note))
            note[0] = '\0';
    } else if (ct && strncmp(ct, "application/json", 16) == 0) {
        json_error_t je;
        json_t *j = json_loadb((const char *)body, len, 0, &je);
        if (!j || !json_is_object(j)) {
            json_decref(j);
            perr(e, 400, "malformed_json", "expected an object {\"unit\",\"note\"}");
            return false;
        }
        json_t *ju = json_object_get(j, "unit"), *jn = json_object_get(j, "note");
        if (!json_is_string(ju) || json_string_length(ju) > GS1_DL_MAX ||
            (jn && !json_is_string(jn)) || (jn && json_string_length(jn) >= sizeof note)) {
            json_decref(j);
            perr(e, 422, "invalid", "unit: a string; note: a string of at most %d bytes",
                 CHAIN_NOTE_MAX);
            return false;
        }
        snprintf(unit, sizeof unit, "%s", json_string_value(ju));
        if (jn)
            snprintf(note, sizeof note, "%s", json_string_value(jn));
        json_decref(j);
    } else {
        perr(e, 415, "unsupported_media_type",
             "send application/json or application/x-www-form-urlencoded");
        return false;
    }
    size_t nl = strlen(note);
    if (nl > CHAIN_NOTE_MAX || !note_ok(note, nl)) {
        perr(e, 422, "invalid", "note: at most %d bytes of text", CHAIN_NOTE_MAX);
        return false;
    }
    char err[160];
    if (gs1_parse_unit(&out->link, unit, strlen(unit), err, sizeof err) != 0) {
        perr(e, 400, "bad_unit", "%s", err);
        e->bad_code = true;
        return false;
    }
    out->form = form;
    memcpy(out->note, note, nl + 1);
    return true;
}

/* ---- GET /epcis/events -------------------------------------------------------------- */

static void param_err(gw_perr *e, const char *code, const char *fmt, const char *what)
{
    /* EPCIS 2.0 REST: QueryParameterException, with our stable code */
    e->status = 400;
    e->code = code;
    e->epcis_type = "epcisException:QueryParameterException";
    e->bad_code = false;
    snprintf(e->msg, sizeof e->msg, fmt, what);
}

/* Decoded query value into out (EPCIS_ARG_MAX); 0 absent, 1 present, -1 bad. */
static int arg_decoded(gw_arg_fn get, void *ctx, const char *key, char *out)
{
    const char *s = get(ctx, key);
    if (!s)
        return 0;
    return chain_pct_decode(out, EPCIS_ARG_MAX, s, strlen(s)) < 0 ? -1 : 1;
}

/* Bounded, no libc parser on untrusted text. */
bool gw_epcis_time_parse(uint64_t *out, const char *s)
{
    size_t n = strlen(s);
    if (n < 20 || n > EPCIS_TIME_MAX) /* 19 + '.' + 9 digits + "+hh:mm" */
        return false;
    int v[6];
    static const size_t pos[6] = {0, 5, 8, 11, 14, 17}, len[6] = {4, 2, 2, 2, 2, 2};
    static const char sep[6] = {'-', '-', 'T', ':', ':', 0};
    for (int k = 0; k < 6; k++) {
        v[k] = 0;
        for (size_t i = 0; i < len[k]; i++) {
            char c = s[pos[k] + i];
            if (c < '0' || c > '9')
                return false;
            v[k] = v[k] * 10 + (c - '0');
        }
        if (sep[k] && s[pos[k] + len[k]] != sep[k] && !(k == 2 && s[10] == 't'))
            return false;
    }
    if (v[0] < 1970 || v[1] < 1 || v[1] > 12 || v[2] < 1 || v[2] > 31 || v[3] > 23 || v[4] > 59 ||
        v[5] > 60)
        return false;
    size_t i = 19;
    unsigned ms = 0, digits = 0;
    if (s[i] == '.') {
        i++;
        while (i < n && s[i] >= '0' && s[i] <= '9') {
            if (digits < 3)
                ms = ms * 10 + (unsigned)(s[i] - '0');
            digits++;
            i++;
        }
        if (digits == 0 || digits > 9)
            return false;
        while (digits < 3) {
            ms *= 10;
            digits++;
        }
    }
    long off = 0;
    if (i < n && (s[i] == 'Z' || s[i] == 'z') && i + 1 == n) {
        off = 0;
    } else if (i + 6 == n && (s[i] == '+' || s[i] == '-') && s[i + 3] == ':') {
        const char *o = s + i + 1;
        for (int k = 0; k < 5; k++)
            if (k != 2 && (o[k] < '0' || o[k] > '9'))
                return false;
        int hh = (o[0] - '0') * 10 + (o[1] - '0'), mm = (o[3] - '0') * 10 + (o[4] - '0');
        if (hh > 14 || mm > 59)
            return false;
        off = (hh * 60L + mm) * 60L * (s[i] == '-' ? -1 : 1);
    } else {
        return false;
    }
    struct tm tm = {0};
    tm.tm_year = v[0] - 1900;
    tm.tm_mon = v[1] - 1;
    tm.tm_mday = v[2];
    tm.tm_hour = v[3];
    tm.tm_min = v[4];
    tm.tm_sec = v[5];
    time_t t = timegm(&tm);
    if (t == (time_t)-1 || (long long)t - off < 0)
        return false;
    *out = (uint64_t)((long long)t - off) * 1000u + ms;
    return true;
}

/* One MATCH_epc value: a unit's Digital Link URI, a lot's (AI 01 + AI 10,
 * no serial), or a parent's (AI 00, the SSCC, and nothing after it). */
static bool parse_epc(epcis_qsrc *out, const char *s, size_t n)
{
    char err[128];
    gs1_link l;
    memset(out, 0, sizeof *out);
    if (gs1_parse_unit(&l, s, n, err, sizeof err) == 0) {
        out->id = l.id;
        return true;
    }
    bool has_gtin = false; /* a value with AI 01 is a unit's or a lot's, never an SSCC's */
    for (size_t i = 0; i + 4 <= n && !has_gtin; i++)
        has_gtin = memcmp(s + i, "/01/", 4) == 0;
    for (size_t i = 0; !has_gtin && i + 4 + GS1_SSCC_LEN <= n; i++)
        if (memcmp(s + i, "/00/", 4) == 0) {
            if (i + 4 + GS1_SSCC_LEN != n || !gs1_sscc_valid(s + i + 4, GS1_SSCC_LEN))
                return false;
            out->parent = true;
            memcpy(out->sscc, s + i + 4, GS1_SSCC_LEN);
            out->sscc[GS1_SSCC_LEN] = '\0';
            return true;
        }
    /* a lot: ".../01/{gtin}/10/{lot}" with nothing after the lot */
    const char *p = NULL;
    for (size_t i = 0; i + 4 <= n; i++)
        if (memcmp(s + i, "/01/", 4) == 0) {
            p = s + i + 4;
            break;
        }
    if (!p)
        return false;
    size_t rest = n - (size_t)(p - s);
    if (rest < GS1_GTIN_LEN + 5 || memcmp(p + GS1_GTIN_LEN, "/10/", 4) != 0 ||
        !gs1_gtin_valid(p, GS1_GTIN_LEN))
        return false;
    const char *lot = p + GS1_GTIN_LEN + 4;
    size_t lotn = rest - GS1_GTIN_LEN - 4;
    char dec[GS1_LOT_MAX + 1];
    if (memchr(lot, '/', lotn) || memchr(lot, '?', lotn) || memchr(lot, '#', lotn))
        return false;
    int dl = chain_pct_decode(dec, sizeof dec, lot, lotn);
    if (dl <= 0 || !gs1_serial_valid(dec, (size_t)dl))
        return false;
    out->lot = true;
    memcpy(out->id.gtin, p, GS1_GTIN_LEN);
    out->id.gtin[GS1_GTIN_LEN] = '\0';
    memcpy(out->lot_name, dec, (size_t)dl + 1);
    return true;
}

/* Token: base64url of "i:seq:serial", a parent's "i:seq:gtin/serial". */
void gw_epcis_token_make(char out[EPCIS_TOKEN_MAX], const epcis_query *q)
{
    char raw[64];
    bool unit = q->i < q->nsrc && q->src[q->i].parent && q->serial[0];
    int n = snprintf(raw, sizeof raw, "%zu:%u:%s%s%s", q->i, q->seq, unit ? q->gtin : "",
                     unit ? "/" : "", q->serial);
    /* "15:4294967295:" + gtin + "/" + serial, and its base64url */
    _Static_assert(EPCIS_MATCH_MAX <= 100, "i is at most two digits");
    _Static_assert(2 + 1 + 10 + 1 + GS1_GTIN_LEN + 1 + GS1_SERIAL_MAX < 63, "token fits");
    _Static_assert((63 + 2) / 3 * 4 < EPCIS_TOKEN_MAX, "token's base64url fits");
    chain_b64url(out, (const uint8_t *)raw, (size_t)n);
}

static bool token_parse(epcis_query *q, const char *s)
{
    uint8_t raw[64];
    int n = chain_unb64url(raw, sizeof raw - 1, s, strlen(s));
    if (n <= 0)
        return false;
    raw[n] = '\0';
    const char *p = (const char *)raw;
    const char *c1 = strchr(p, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
    uint64_t i, seq;
    if (!c1 || !c2 || !gw_parse_u64(&i, p, (size_t)(c1 - p)) ||
        !gw_parse_u64(&seq, c1 + 1, (size_t)(c2 - c1 - 1)) || i >= q->nsrc || seq > UINT32_MAX)
        return false;
    const char *ser = c2 + 1;
    size_t sl = strlen(ser);
    if (sl && q->src[i].parent) { /* "gtin/serial" */
        if (sl < GS1_GTIN_LEN + 2 || ser[GS1_GTIN_LEN] != '/' || !gs1_gtin_valid(ser, GS1_GTIN_LEN))
            return false;
        memcpy(q->gtin, ser, GS1_GTIN_LEN);
        q->gtin[GS1_GTIN_LEN] = '\0';
        ser += GS1_GTIN_LEN + 1;
        sl -= GS1_GTIN_LEN + 1;
    }
    if (sl > GS1_SERIAL_MAX || (sl && !gs1_serial_valid(ser, sl)))
        return false;
    if (sl && !q->src[i].lot && !q->src[i].parent) /* a unit's cursor names no unit */
        return false;
    q->i = (size_t)i;
    q->seq = (uint32_t)seq;
    memcpy(q->serial, ser, sl + 1);
    return true;
}

/* EQ_bizStep, GE_eventTime and LT_eventTime into q; false with *e. v: a
 * scratch of EPCIS_ARG_MAX bytes. */
static bool parse_filters(epcis_query *q, gw_arg_fn get, void *ctx, gw_perr *e, char *v)
{
    int a;
    a = arg_decoded(get, ctx, "EQ_bizStep", v);
    if (a != 0) {
        for (const char *p = v; a > 0 && *p;) {
            const char *end = strchr(p, ',');
            size_t n = end ? (size_t)(end - p) : strlen(p);
            if (q->nbiz == EPCIS_BIZSTEP_MAX) {
                param_err(e, "too_many_values", "EQ_bizStep: at most %s values", "16");
                return false;
            }
            if (!epcis_bizstep_norm(q->biz[q->nbiz], p, n)) {
                a = -1;
                break;
            }
            q->nbiz++;
            p += n;
            if (*p == ',')
                p++;
        }
        if (a < 0 || q->nbiz == 0) {
            param_err(e, "bad_biz_step", "%s: expected CBV bizStep words or URIs, comma-separated",
                      "EQ_bizStep");
            return false;
        }
    }
    static const char *const tkeys[2] = {"GE_eventTime", "LT_eventTime"};
    for (int k = 0; k < 2; k++) {
        a = arg_decoded(get, ctx, tkeys[k], v);
        uint64_t t;
        if (a != 0 && (a < 0 || !gw_epcis_time_parse(&t, v))) {
            param_err(e, "bad_time", "%s: expected an RFC 3339 date-time", tkeys[k]);
            return false;
        }
        if (a > 0 && k == 0) {
            q->has_ge = true;
            q->ge = t;
        } else if (a > 0) {
            q->has_lt = true;
            q->lt = t;
        }
    }
    return true;
}

bool gw_epcis_query_parse(epcis_query *q, gw_arg_fn get, void *ctx, gw_perr *e)
{
    char *v = malloc(EPCIS_ARG_MAX);
    if (!v) {
        perr(e, 503, "nomem", "out of memory");
        return false;
    }
    bool ok = false;
    memset(q, 0, sizeof *q);
    q->per_page = EPCIS_PAGE_DEFAULT;
    int a = arg_decoded(get, ctx, "MATCH_epc", v);
    if (a < 0) {
        param_err(e, "bad_epc", "%s: not a valid percent-encoded value", "MATCH_epc");
        goto out;
    }
    if (a == 0) {
        perr(e, 413, "query_too_complex",
             "MATCH_epc is required (unit, lot or SSCC Digital Link URIs)");
        e->epcis_type = "epcisException:QueryTooComplexException";
        goto out;
    }
    for (const char *p = v; *p;) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (q->nsrc == EPCIS_MATCH_MAX) {
            param_err(e, "too_many_values", "MATCH_epc: at most %s values", "16");
            goto out;
        }
        if (!parse_epc(&q->src[q->nsrc], p, n)) {
            param_err(e, "bad_epc",
                      "MATCH_epc: %s is not the Digital Link URI of a unit, a lot or an SSCC",
                      "a value");
            goto out;
        }
        q->nsrc++;
        p += n;
        if (*p == ',')
            p++;
    }
    if (q->nsrc == 0) {
        param_err(e, "bad_epc", "%s: empty", "MATCH_epc");
        goto out;
    }
    if (!parse_filters(q, get, ctx, e, v))
        goto out;
    a = arg_decoded(get, ctx, "perPage", v);
    if (a != 0) {
        uint64_t pp;
        if (a < 0 || !gw_parse_u64(&pp, v, strlen(v)) || pp < 1 || pp > EPCIS_PAGE_MAX) {
            param_err(e, "bad_per_page", "%s: expected an integer 1..1000", "perPage");
            goto out;
        }
        q->per_page = (uint32_t)pp;
    }
    a = arg_decoded(get, ctx, "nextPageToken", v);
    if (a != 0 && (a < 0 || strlen(v) >= EPCIS_TOKEN_MAX || !token_parse(q, v))) {
        param_err(e, "bad_page_token", "%s: not a token this query gave", "nextPageToken");
        goto out;
    }
    ok = true;
out:
    free(v);
    return ok;
}

bool gw_epcis_export_parse(epcis_query *q, const char *gtin, const char *lot, gw_arg_fn get,
                           void *ctx, gw_perr *e)
{
    memset(q, 0, sizeof *q);
    if (!gs1_gtin_valid(gtin, strlen(gtin)) || !gs1_serial_valid(lot, strlen(lot))) {
        perr(e, 400, "bad_unit", "expected a GTIN-14 and a GS1 lot");
        return false;
    }
    char *v = malloc(EPCIS_ARG_MAX);
    if (!v) {
        perr(e, 503, "nomem", "out of memory");
        return false;
    }
    q->nsrc = 1;
    q->src[0].lot = true;
    memcpy(q->src[0].id.gtin, gtin, GS1_GTIN_LEN + 1);
    snprintf(q->src[0].lot_name, sizeof q->src[0].lot_name, "%s", lot);
    q->per_page = EPCIS_PAGE_MAX;
    bool ok = parse_filters(q, get, ctx, e, v);
    free(v);
    return ok;
}
