/*
 * gw_passkey.c — POST /api/v1/tx/prepare: the node builds the unsigned
 * transaction whose id a passkey signs.
 *
 * A browser cannot compute a tx id (canonical CBOR, tagged hash), and a
 * WebAuthn assertion signs exactly one challenge, so the flow is: the client
 * sends the transaction as JSON without "sig"/"auth" — "chain", "nonce" and
 * "time" may be left out (this network's id, the signer's next nonce, the
 * node's clock) and "signer" may be replaced by "passkey": {"cred", "pub"}
 * (hex; the signer becomes chain_passkey_id of them) — and gets back the
 * completed transaction, its id and the challenge (base64url of the id). It
 * then calls navigator.credentials.get with that challenge and posts the
 * transaction with "auth" to POST /api/v1/tx. Nothing is stored here: the
 * answer depends on the request and the ledger's nonce only.
 */
#include <microhttpd.h>
#include <stdlib.h>
#include <string.h>

#include "label/label.h"
#include "node/gw_priv.h"
#include "node/passkey_js.h" /* generated from node/static/passkey.js */

/* GET /static/passkey.js: the page's one script (immutable per build). */
void gw_route_passkey_js(gw_req *r)
{
    char *p = malloc(sizeof passkey_js);
    if (p == NULL) {
        gw_reply_error(r, 503, "nomem", "out of memory");
        return;
    }
    memcpy(p, passkey_js, sizeof passkey_js);
    gw_reply(r, 200, "text/javascript; charset=utf-8", p, sizeof passkey_js);
}

/*
 * POST /api/v1/qr.svg {"url": "..."}: the QR of a transfer offer. The
 * recipient scans it and lands on the unit's page with the code in the URL
 * fragment (#code=...), which a browser never sends to a server, and the
 * page's script fills the claim form from it. The QR is drawn here with
 * libqrencode (label/) rather than in the page: a QR encoder in the page
 * would be either hand-written or a vendored library served beside
 * passkey.js, and the code reaches this node anyway, in the same way, when
 * the offer is prepared (POST /api/v1/tx/prepare "code"). So the URL with
 * its fragment travels in a POST body (never a request line, so never in an
 * access log), lives only in this request's memory and is answered once,
 * not stored and not cached (Cache-Control: no-store).
 */
#define QR_BODY_MAX (4u << 10)

void gw_route_qr_svg(gw_req *r)
{
    const char *ct = gw_header(r, MHD_HTTP_HEADER_CONTENT_TYPE);
    if (!ct || strncmp(ct, "application/json", 16) != 0) {
        gw_reply_error(r, 415, "unsupported_media_type", "send application/json");
        return;
    }
    if (r->body_len > QR_BODY_MAX) {
        gw_reply_error(r, 413, "too_large", "a QR request is at most %u bytes", QR_BODY_MAX);
        return;
    }
    if (!gw_rate_take(r->g->rate, r->client, 1, r->now_ms)) {
        gw_reply_error(r, 429, "rate_limited", "too many requests from this client; retry soon");
        return;
    }
    json_error_t je;
    json_t *j = json_loadb((const char *)r->body, r->body_len, JSON_REJECT_DUPLICATES, &je);
    if (j == NULL) {
        gw_reply_error(r, 400, "malformed_json", "expected {\"url\": \"...\"}");
        return;
    }
    const json_t *u = json_object_get(j, "url");
    const char *url = json_string_value(u);
    size_t n = json_is_string(u) ? json_string_length(u) : 0;
    if (!json_is_object(j) || url == NULL || n < 1 || n > LABEL_URL_MAX || strlen(url) != n ||
        (strncmp(url, "https://", 8) != 0 && strncmp(url, "http://", 7) != 0)) {
        json_decref(j);
        gw_reply_error(r, 400, "bad_url", "url: an http(s) URL of 1..%d bytes", LABEL_URL_MAX);
        return;
    }
    char *svg;
    size_t len;
    int e = label_svg(&svg, &len, url, 0);
    json_decref(j);
    if (e != LABEL_OK) {
        gw_reply_error(r, 500, "label", "%s", label_strerror(e));
        return;
    }
    gw_reply(r, 200, "image/svg+xml", svg, len);
}

#define PREPARE_BODY_MAX (64u << 10)

static bool hex_member(const json_t *o, const char *k, uint8_t *out, size_t min, size_t max,
                       size_t *n)
{
    const json_t *v = json_object_get(o, k);
    const char *s = json_string_value(v);
    size_t l = json_is_string(v) ? json_string_length(v) : 0;
    if (s == NULL || l % 2 || l / 2 < min || l / 2 > max)
        return false;
    int got = chain_unhex(out, max, s, l);
    if (got < 0)
        return false;
    *n = (size_t)got;
    return true;
}

/*
 * "code": a claim or transfer code the customer typed. A browser has no
 * secp256k1, so the node does what the CLI does with a code: for a claim it
 * signs the claim message for the signer with the key the code derives
 * (body.claim_sig); for a sale or a transfer offer it puts that key's public
 * half in body.claim_key / body.offer_key. The code lives only in this
 * request's memory (wiped) and is never logged nor answered.
 */
static int apply_code(gw_req *r, json_t *j, const json_t *code, const uint8_t signer[CHAIN_KEY_LEN],
                      char *msg, size_t mlen)
{
    const char *type = json_string_value(json_object_get(j, "type"));
    json_t *body = json_object_get(j, "body");
    const char *unit = json_string_value(json_object_get(body, "unit"));
    const char *c = json_string_value(code);
    int t = type ? chain_tx_type_parse(type) : -1;
    const char *field = t == CHAIN_TX_CLAIM            ? "claim_sig"
                        : t == CHAIN_TX_SELL           ? "claim_key"
                        : t == CHAIN_TX_TRANSFER_OFFER ? "offer_key"
                                                       : NULL;
    if (field == NULL || !json_is_object(body) || unit == NULL) {
        snprintf(msg, mlen, "code: only for claim, sell and transfer.offer with a body.unit");
        return CHAIN_ERR_MALFORMED;
    }
    const char *slash = strchr(unit, '/');
    char gtin[GS1_GTIN_LEN + 1], serial[GS1_SERIAL_MAX + 1];
    size_t sl = slash ? strlen(slash + 1) : 0;
    if (slash == NULL || slash - unit != GS1_GTIN_LEN || sl < 1 || sl > GS1_SERIAL_MAX) {
        snprintf(msg, mlen, "body.unit: not GTIN/SERIAL");
        return CHAIN_ERR_MALFORMED;
    }
    memcpy(gtin, unit, GS1_GTIN_LEN);
    gtin[GS1_GTIN_LEN] = '\0';
    memcpy(serial, slash + 1, sl + 1);
    uint8_t sk[CHAIN_SECKEY_LEN], pub[CHAIN_KEY_LEN], out[CHAIN_SIG_LEN];
    size_t outlen = CHAIN_KEY_LEN;
    int e =
        c ? chain_claim_key(sk, pub, gtin, serial, c, json_string_length(code)) : CHAIN_ERR_INVALID;
    if (e != CHAIN_OK) {
        snprintf(msg, mlen, "code: not a code (Crockford base32, dashes and spaces allowed)");
        goto done;
    }
    if (t == CHAIN_TX_CLAIM) {
        uint8_t m[CHAIN_HASH_LEN];
        chain_claim_msg(m, r->g->chain_id, gtin, serial, signer);
        if ((e = chain_sign(out, sk, m)) != CHAIN_OK) {
            snprintf(msg, mlen, "code: cannot sign the claim");
            goto done;
        }
        outlen = CHAIN_SIG_LEN;
    } else {
        memcpy(out, pub, CHAIN_KEY_LEN);
    }
    char hex[2 * CHAIN_SIG_LEN + 1];
    chain_hex(hex, out, outlen);
    json_object_set_new(body, field, json_string(hex));
done:
    explicit_bzero(sk, sizeof sk);
    return e;
}

void gw_route_tx_prepare(gw_req *r)
{
    const char *ct = gw_header(r, MHD_HTTP_HEADER_CONTENT_TYPE);
    if (!ct || strncmp(ct, "application/json", 16) != 0) {
        gw_reply_error(r, 415, "unsupported_media_type", "send application/json");
        return;
    }
    if (r->body_len > PREPARE_BODY_MAX) {
        gw_reply_error(r, 413, "too_large", "a transaction to prepare is at most %u bytes",
                       PREPARE_BODY_MAX);
        return;
    }
    /* ?min_height=H: the nonce and the claim checks come from this node's
     * applied state, so a step prepared right after the one before it, through
     * another node, waits here until this node has applied that step */
    if (!gw_min_height_gate(r))
        return;
    json_error_t je;
    json_t *j = json_loadb((const char *)r->body, r->body_len, JSON_REJECT_DUPLICATES, &je);
    if (!json_is_object(j)) {
        json_decref(j);
        gw_reply_error(r, 400, "malformed_json", "expected one transaction object");
        return;
    }
    char hex[2 * CHAIN_HASH_LEN + 1], msg[160];
    uint8_t signer[CHAIN_KEY_LEN];
    size_t n;
    json_t *pk = json_object_get(j, "passkey");
    if (pk != NULL) {
        uint8_t *c = malloc(CHAIN_CRED_ID_MAX), pub[CHAIN_P256_PUB_LEN];
        size_t cl = 0, pl = 0;
        bool ok = c != NULL && json_is_object(pk) &&
                  hex_member(pk, "cred", c, 1, CHAIN_CRED_ID_MAX, &cl) &&
                  hex_member(pk, "pub", pub, CHAIN_P256_PUB_LEN, CHAIN_P256_PUB_LEN, &pl);
        if (ok)
            chain_passkey_id(signer, c, cl, pub);
        free(c);
        if (!ok || json_object_get(j, "signer") != NULL) {
            json_decref(j);
            gw_reply_error(r, 400, "malformed",
                           "passkey: {\"cred\": hex of 1..%d bytes, \"pub\": hex of a 65-byte "
                           "P-256 point}, and no \"signer\" beside it",
                           CHAIN_CRED_ID_MAX);
            return;
        }
        chain_hex(hex, signer, CHAIN_KEY_LEN);
        json_object_set_new(j, "signer", json_string(hex));
        json_object_del(j, "passkey");
    } else if (!hex_member(j, "signer", signer, CHAIN_KEY_LEN, CHAIN_KEY_LEN, &n)) {
        json_decref(j);
        gw_reply_error(r, 400, "malformed", "signer: 64 hex characters (or give \"passkey\")");
        return;
    }
    if (json_object_get(j, "sig") != NULL || json_object_get(j, "auth") != NULL) {
        json_decref(j);
        gw_reply_error(r, 400, "malformed", "sig, auth: a transaction to prepare is unsigned");
        return;
    }
    if (json_object_get(j, "chain") == NULL) {
        chain_hex(hex, r->g->chain_id, CHAIN_HASH_LEN);
        json_object_set_new(j, "chain", json_string(hex));
    }
    if (json_object_get(j, "nonce") == NULL) {
        chain_rd *rd;
        int e = chain_rd_begin(r->g->deps.chain, &rd);
        if (e != CHAIN_OK) {
            json_decref(j);
            gw_reply_chain_err(r, e, "opening a read snapshot");
            return;
        }
        uint64_t next = chain_nonce_next(rd, signer);
        chain_rd_end(rd);
        json_object_set_new(j, "nonce", json_integer((json_int_t)next));
    }
    if (json_object_get(j, "time") == NULL)
        json_object_set_new(j, "time", json_integer((json_int_t)r->now_ms));
    json_t *code = json_object_get(j, "code");
    if (code != NULL) {
        int e = apply_code(r, j, code, signer, msg, sizeof msg);
        json_object_del(j, "code");
        if (e != CHAIN_OK) {
            json_decref(j);
            gw_reply_chain_err(r, e, msg);
            return;
        }
    }
    chain_tx tx;
    uint8_t id[CHAIN_HASH_LEN];
    int e = chain_tx_from_json(&tx, j, msg, sizeof msg);
    json_decref(j);
    if (e != CHAIN_OK) { /* tx untouched */
        gw_reply_chain_err(r, e, msg);
        return;
    }
    if ((e = chain_tx_id(id, &tx)) != CHAIN_OK) {
        chain_tx_free(&tx);
        gw_reply_chain_err(r, e, "transaction: cannot compute its id");
        return;
    }
    json_t *o = json_object();
    json_object_set_new(o, "tx", chain_tx_to_json(&tx));
    chain_tx_free(&tx);
    chain_hex(hex, id, CHAIN_HASH_LEN);
    json_object_set_new(o, "id", json_string(hex));
    char b64[64];
    chain_b64url(b64, id, CHAIN_HASH_LEN);
    json_object_set_new(o, "challenge", json_string(b64));
    gw_reply_json(r, 200, o);
}
