/*
 * fuzz_genesis.c — libFuzzer target for the genesis loader (genesis/genesis.c),
 * the JSON an operator (or whoever hands them a file) gives every node.
 *
 * Beyond "does not crash": a document is either refused with
 * CHAIN_ERR_BAD_GENESIS / CHAIN_ERR_NOMEM (and a NUL-terminated message), or
 * accepted with every count within its bound; then its normalized JSON
 * (genesis_to_json) parses back to the same chain id and the same normalized
 * JSON (one meaning, one id). Seeds: tests/fuzz/corpus/genesis.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "genesis/genesis.h"

#define CHECK(x)                                                                                   \
    do {                                                                                           \
        if (!(x))                                                                                  \
            abort();                                                                               \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    chain_genesis *g = NULL;
    char msg[256];
    int rc = genesis_parse(&g, (const char *)data, size, msg, sizeof msg);
    if (rc != CHAIN_OK) {
        CHECK(rc == CHAIN_ERR_BAD_GENESIS || rc == CHAIN_ERR_NOMEM);
        CHECK(g == NULL);
        CHECK(memchr(msg, '\0', sizeof msg) != NULL);
        return 0;
    }
    CHECK(size <= CHAIN_GENESIS_MAX_BYTES);
    CHECK(g->nbrands <= CHAIN_BRANDS_MAX && g->nnodes <= CHAIN_NODES_MAX);
    CHECK(g->nnodes >= 1);

    json_t *j = genesis_to_json(g);
    CHECK(j != NULL);
    char *text = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
    CHECK(text != NULL);
    chain_genesis *back = NULL;
    CHECK(genesis_parse(&back, text, strlen(text), msg, sizeof msg) == CHAIN_OK);
    CHECK(memcmp(back->chain_id, g->chain_id, CHAIN_HASH_LEN) == 0);
    uint8_t id[CHAIN_HASH_LEN];
    CHECK(chain_genesis_id(id, back) == CHAIN_OK);
    CHECK(memcmp(id, g->chain_id, CHAIN_HASH_LEN) == 0);
    json_t *j2 = genesis_to_json(back);
    CHECK(j2 != NULL && json_equal(j, j2));

    json_decref(j2);
    chain_genesis_free(back);
    free(text);
    json_decref(j);
    chain_genesis_free(g);
    return 0;
}
