/*
 * cli_tx.c — the path every signing command shares: learn the chain id (from a
 * genesis file or the node), fetch the signer's next nonce, sign, POST the
 * canonical CBOR to /api/v1/tx, wait for the receipt and print it.
 *
 * The receipt is the answer: "accepted" exits 0; a refusal prints its stable
 * code and detail and exits 1. The same signed bytes are resent (cli_submit.c)
 * until a receipt or a definite refusal arrives; when none does in time, the
 * outcome is unknown: exit 3, naming the tx id so the user can look it up.
 */
#include "cli/cli.h"
#include "genesis/genesis.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cli_chain_id(uint8_t out[CHAIN_HASH_LEN], chain_genesis **g_out, cli_http *h,
                 const char *genesis_path, char *errmsg, size_t errmsg_len)
{
    chain_genesis *g = NULL;
    char e[256];
    if (genesis_path) {
        if (genesis_load(&g, genesis_path, e, sizeof e) != CHAIN_OK) {
            snprintf(errmsg, errmsg_len, "genesis %s: %s", genesis_path, e);
            return -1;
        }
    } else {
        cli_resp r = {0};
        if (cli_http_get(h, &r, "/api/v1/genesis", CHAIN_GENESIS_MAX_BYTES, e, sizeof e) != 0) {
            snprintf(errmsg, errmsg_len, "fetch genesis: %s", e);
            return -1;
        }
        if (r.status != 200) {
            cli_http_error_text(e, sizeof e, &r);
            snprintf(errmsg, errmsg_len, "fetch genesis: %s", e);
            cli_resp_free(&r);
            return -1;
        }
        int rc = genesis_parse(&g, r.body, r.len, e, sizeof e);
        cli_resp_free(&r);
        if (rc != CHAIN_OK) {
            snprintf(errmsg, errmsg_len, "node's genesis: %s", e);
            return -1;
        }
    }
    memcpy(out, g->chain_id, CHAIN_HASH_LEN);
    if (g_out)
        *g_out = g;
    else
        chain_genesis_free(g);
    return 0;
}

/* next of pub from h's current node; 0 or -1 with errmsg. */
static int nonce_ask(uint64_t *out, cli_http *h, const char *path, char *errmsg, size_t errmsg_len)
{
    char e[256];
    json_t *j = cli_http_get_json(h, path, e, sizeof e);
    if (!j) {
        snprintf(errmsg, errmsg_len, "nonce: %s", e);
        return -1;
    }
    json_t *v = json_object_get(j, "next");
    int rc = -1;
    if (json_is_integer(v) && json_integer_value(v) >= 1) {
        *out = (uint64_t)json_integer_value(v);
        rc = 0;
    } else {
        snprintf(errmsg, errmsg_len, "nonce: answer has no \"next\"");
    }
    json_decref(j);
    return rc;
}

/* Every node of the list is asked and the highest answer wins: a node that
 * lags (one just restarted) would hand out a nonce already used. */
int cli_nonce_next(uint64_t *out, cli_http *h, const uint8_t pub[CHAIN_KEY_LEN], char *errmsg,
                   size_t errmsg_len)
{
    char path[128], hex[2 * CHAIN_KEY_LEN + 1];
    chain_hex(hex, pub, CHAIN_KEY_LEN);
    snprintf(path, sizeof path, "/api/v1/nonce/%s", hex);
    uint64_t best = 0, v;
    for (size_t i = 0; i < cli_http_nodes(h); i++) {
        if (i)
            cli_http_next(h);
        if (nonce_ask(&v, h, path, errmsg, errmsg_len) == 0 && v > best)
            best = v;
    }
    if (best == 0)
        return -1;
    *out = best;
    return 0;
}

/* Prints one receipt object; CLI_OK when accepted. */
static int receipt_print(json_t *rc, bool json, const char *what)
{
    const char *status = json_string_value(json_object_get(rc, "status"));
    const char *code = json_string_value(json_object_get(rc, "code"));
    const char *detail = json_string_value(json_object_get(rc, "detail"));
    const char *tx = json_string_value(json_object_get(rc, "tx"));
    json_int_t height = json_integer_value(json_object_get(rc, "height"));
    bool ok = status && strcmp(status, "accepted") == 0;
    if (json) {
        char *s = json_dumps(rc, JSON_COMPACT);
        if (s)
            printf("%s\n", s);
        free(s);
    } else if (ok) {
        printf("%s: accepted at height %lld (tx %s)\n", what, (long long)height, tx ? tx : "?");
    }
    if (!ok)
        fprintf(stderr, "provena %s: %s: %s%s%s (tx %s)\n", what, status ? status : "no status",
                code ? code : "unknown", detail && detail[0] ? ": " : "", detail ? detail : "",
                tx ? tx : "?");
    return ok ? CLI_OK : CLI_FAIL;
}

int cli_tx_submit(cli_http *h, chain_tx *tx, const uint8_t seckey[CHAIN_SECKEY_LEN], bool json,
                  const char *what, uint64_t timeout_ms, uint64_t min_height, uint64_t *height)
{
    if (tx->time == 0)
        tx->time = cli_wall_ms();
    uint8_t *buf = NULL, id[CHAIN_HASH_LEN];
    size_t len = 0;
    int rc = chain_tx_sign(tx, seckey);
    if (rc == CHAIN_OK)
        rc = chain_tx_id(id, tx);
    if (rc == CHAIN_OK)
        rc = chain_tx_encode(&buf, &len, tx);
    if (rc != CHAIN_OK)
        return cli_fail(what, "cannot encode transaction: %s: %s", chain_err_code(rc),
                        chain_strerror(rc));
    char e[512];
    json_t *receipt = NULL;
    int res = cli_submit_bytes(h, &receipt, e, sizeof e, buf, len, timeout_ms, min_height);
    free(buf);
    int out;
    if (res == CLI_SUBMIT_UNKNOWN) {
        cli_submit_unknown(what, id, e, json);
        out = CLI_UNKNOWN;
    } else if (receipt) {
        out = receipt_print(receipt, json, what);
        json_t *hv = json_object_get(receipt, "height");
        if (out == CLI_OK && height != NULL && json_is_integer(hv) && json_integer_value(hv) > 0)
            *height = (uint64_t)json_integer_value(hv);
    } else {
        char hex[2 * CHAIN_HASH_LEN + 1];
        chain_hex(hex, id, CHAIN_HASH_LEN);
        fprintf(stderr, "provena %s: refused: %s (tx %s)\n", what, e, hex);
        out = CLI_FAIL;
    }
    json_decref(receipt);
    return out;
}
