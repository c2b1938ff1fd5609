/*
 * fuzz_tx_decode.c — libFuzzer target for the transaction decoder, the
 * first parser every byte from a peer or an HTTP client reaches.
 *
 * Beyond "does not crash", it checks the codec's promises on every input the
 * decoder accepts: re-encoding gives back exactly the input (one meaning, one
 * byte string), the id computed from bytes equals the id of the decoded
 * value, and the JSON form parses back to the same encoding. The same bytes
 * are also offered to chain_block_peek, the other parser of peer data: the
 * id of an accepted block is the id of its header (chain_block_header_id).
 */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "chain/chain.h"
#include "chain/tx_schema.h"

#define CHECK(x)                                                                                   \
    do {                                                                                           \
        if (!(x))                                                                                  \
            abort();                                                                               \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    chain_block_header hdr;
    uint8_t bid[CHAIN_HASH_LEN];
    size_t ntxs;
    if (chain_block_peek(&hdr, bid, &ntxs, data, size) == CHAIN_OK) {
        uint8_t hid[CHAIN_HASH_LEN];
        chain_block_header_id(hid, &hdr);
        CHECK(memcmp(hid, bid, CHAIN_HASH_LEN) == 0);
    }

    chain_tx tx;
    char msg[160];
    if (chain_tx_decode(&tx, data, size, msg, sizeof msg) != CHAIN_OK)
        return 0;

    uint8_t *enc;
    size_t len;
    CHECK(chain_tx_encode(&enc, &len, &tx) == CHAIN_OK);
    CHECK(len == size && memcmp(enc, data, size) == 0);

    uint8_t id[CHAIN_HASH_LEN], raw_id[CHAIN_HASH_LEN];
    CHECK(chain_tx_id(id, &tx) == CHAIN_OK);
    CHECK(tx_id_raw(raw_id, data, size) == CHAIN_OK);
    CHECK(memcmp(id, raw_id, CHAIN_HASH_LEN) == 0);

    json_t *j = chain_tx_to_json(&tx);
    CHECK(j != NULL);
    chain_tx back;
    CHECK(chain_tx_from_json(&back, j, msg, sizeof msg) == CHAIN_OK);
    uint8_t *enc2;
    size_t len2;
    CHECK(chain_tx_encode(&enc2, &len2, &back) == CHAIN_OK);
    CHECK(len2 == size && memcmp(enc2, data, size) == 0);

    free(enc2);
    chain_tx_free(&back);
    json_decref(j);
    free(enc);
    chain_tx_free(&tx);
    return 0;
}
