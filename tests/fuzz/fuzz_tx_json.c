/*
 * fuzz_tx_json.c — libFuzzer target for the body of POST /api/v1/tx as the
 * gateway reads it (node/gw_parse.c gw_txs_parse: JSON or CBOR, one tx or a
 * batch) and, through it, chain's JSON codec (chain_tx_from_json).
 *
 * Input: the first byte picks the Content-Type (even: application/json, odd:
 * application/cbor), the rest is the body. Beyond "does not crash": a refused
 * body gets a 4xx (or 503) with a code and a message; an accepted one holds
 * 1..GW_BATCH_MAX items; every JSON item that converted is canonical CBOR
 * (decodes, re-encodes to the same bytes) whose JSON form converts back to
 * those bytes; a single CBOR tx is at most CHAIN_TX_MAX_BYTES and is the body
 * itself; a CBOR batch's items lie inside the body, each at most
 * CHAIN_TX_MAX_BYTES, and no input makes the parser allocate what its bytes
 * merely claim (libFuzzer's -rss_limit_mb / malloc limit). Seeds: tests/fuzz/corpus/tx_json.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "node/gateway.h"
#include "node/gw_parse.h"

#define CHECK(x)                                                                                   \
    do {                                                                                           \
        if (!(x))                                                                                  \
            abort();                                                                               \
    } while (0)

static void check_item(const tx_item *it)
{
    if (it->err != CHAIN_OK) {
        CHECK(it->p == NULL && it->own == NULL);
        CHECK(memchr(it->msg, '\0', sizeof it->msg) != NULL);
        return;
    }
    chain_tx tx;
    char msg[160];
    CHECK(chain_tx_decode(&tx, it->p, it->len, msg, sizeof msg) == CHAIN_OK);
    uint8_t *enc;
    size_t len;
    CHECK(chain_tx_encode(&enc, &len, &tx) == CHAIN_OK);
    CHECK(len == it->len && memcmp(enc, it->p, len) == 0);
    json_t *j = chain_tx_to_json(&tx);
    CHECK(j != NULL);
    chain_tx back;
    CHECK(chain_tx_from_json(&back, j, msg, sizeof msg) == CHAIN_OK);
    uint8_t *enc2;
    size_t len2;
    CHECK(chain_tx_encode(&enc2, &len2, &back) == CHAIN_OK);
    CHECK(len2 == it->len && memcmp(enc2, it->p, len2) == 0);
    free(enc2);
    chain_tx_free(&back);
    json_decref(j);
    free(enc);
    chain_tx_free(&tx);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    bool json = (data[0] & 1) == 0;
    const char *ct = json ? "application/json" : "application/cbor";
    const uint8_t *body = data + 1;
    size_t len = size - 1;
    gw_perr e;
    tx_batch *b = gw_txs_parse(ct, body, len, &e);
    if (!b) {
        CHECK(e.status == 400 || e.status == 413 || e.status == 503);
        CHECK(e.code != NULL && e.code[0] != '\0' && e.msg[0] != '\0');
        return 0;
    }
    CHECK(b->n >= 1 && b->n <= GW_BATCH_MAX);
    if (json) {
        for (size_t i = 0; i < b->n; i++)
            check_item(&b->items[i]);
    } else if (!b->batch) {
        CHECK(b->n == 1 && b->items[0].p == body && b->items[0].len == len);
        CHECK(len <= CHAIN_TX_MAX_BYTES);
    } else {
        for (size_t i = 0; i < b->n; i++) {
            CHECK(b->items[i].p >= body && b->items[i].p + b->items[i].len <= body + len);
            CHECK(b->items[i].len <= CHAIN_TX_MAX_BYTES);
        }
    }
    gw_txs_free(b);
    return 0;
}
