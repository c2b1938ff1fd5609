/*
 * test_marker.c — what a catching-up node reads from a peer before it trusts
 * any block: the snapshot marker (chain_marker_decode) and the framing of
 * block and transaction batches (chain_blocks_split, chain_txs_split). A
 * marker of another shape, version or chain, and a batch that is not an
 * array of byte strings within its bounds, are each refused with their code
 * and a message; without a message buffer the code is the same.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chain/cbor_util.h"
#include "chain/chain.h"

static const uint8_t CHAIN_ID[32] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};

/* How a test marker differs from a good one. */
typedef struct shape {
    size_t fields;      /* map entries announced (7) */
    const char *key0;   /* first key ("id") */
    int node_len;       /* entries of the node pair (2) */
    bool node_id_text;  /* node id written as text */
    bool node_http_int; /* http written as an integer */
    bool nodes_not_arr; /* "nodes" not an array */
    uint64_t version;   /* 2 */
    uint8_t chain0;     /* first byte of the chain id */
    bool trailing;      /* a byte after the map */
} shape;

static uint8_t *marker(const shape *s, size_t *len)
{
    cbu_wr w;
    uint8_t h[32];
    memset(h, 0xab, sizeof h);
    uint8_t chain[32];
    memcpy(chain, CHAIN_ID, 32);
    chain[0] = s->chain0;
    cbu_wr_init(&w, 1 << 16);
    cbu_put_map(&w, s->fields);
    cbu_put_key(&w, s->key0);
    cbu_put_bytes(&w, h, 32);
    cbu_put_key(&w, "chain");
    cbu_put_bytes(&w, chain, 32);
    cbu_put_key(&w, "index");
    cbu_put_uint(&w, 9);
    cbu_put_key(&w, "nodes");
    if (s->nodes_not_arr) {
        cbu_put_uint(&w, 1);
    } else {
        cbu_put_array(&w, 1);
        cbu_put_array(&w, (size_t)s->node_len);
        if (s->node_id_text)
            cbu_put_cstr(&w, "one");
        else
            cbu_put_uint(&w, 1);
        if (s->node_len > 1) {
            if (s->node_http_int)
                cbu_put_uint(&w, 80);
            else
                cbu_put_cstr(&w, "http://127.0.0.1:8101");
        }
        if (s->node_len > 2)
            cbu_put_uint(&w, 0);
    }
    cbu_put_key(&w, "digest");
    cbu_put_bytes(&w, h, 32);
    cbu_put_key(&w, "height");
    cbu_put_uint(&w, 4);
    if (s->fields == 7) {
        cbu_put_key(&w, "version");
        cbu_put_uint(&w, s->version);
    }
    if (s->trailing)
        cbu_put_uint(&w, 0);
    uint8_t *out;
    assert_int_equal(cbu_wr_finish(&w, &out, len), CHAIN_OK);
    return out;
}

static const shape GOOD = {7, "id", 2, false, false, false, 2, 1, false};

static void test_marker_good_decodes(void **state)
{
    (void)state;
    size_t len;
    uint8_t *b = marker(&GOOD, &len);
    chain_marker m;
    char msg[128];
    assert_int_equal(chain_marker_decode(&m, b, len, CHAIN_ID, msg, sizeof msg), CHAIN_OK);
    assert_int_equal(m.index, 9);
    assert_int_equal(m.height, 4);
    assert_int_equal(m.nnodes, 1);
    assert_string_equal(m.nodes[0].http_addr, "http://127.0.0.1:8101");
    free(b);
}

static void test_marker_refusals(void **state)
{
    (void)state;
    static const struct {
        shape s;
        int code;
        const char *msg;
    } cases[] = {
        {{6, "id", 2, false, false, false, 2, 1, false},
         CHAIN_ERR_MALFORMED,
         "marker: 7 fields expected, 6 found"},
        {{7, "ix", 2, false, false, false, 2, 1, false}, CHAIN_ERR_MALFORMED, "marker: id expected"},
        {{7, "id", 1, false, false, false, 2, 1, false},
         CHAIN_ERR_MALFORMED,
         "node: [id, http] expected"},
        {{7, "id", 3, false, false, false, 2, 1, false}, CHAIN_ERR_TOO_LARGE, "node:"},
        {{7, "id", 2, true, false, false, 2, 1, false},
         CHAIN_ERR_MALFORMED,
         "node id: expected unsigned integer"},
        {{7, "id", 2, false, true, false, 2, 1, false},
         CHAIN_ERR_MALFORMED,
         "node http: expected text"},
        {{7, "id", 2, false, false, true, 2, 1, false},
         CHAIN_ERR_MALFORMED,
         "nodes: expected array"},
        {{7, "id", 2, false, false, false, 3, 1, false},
         CHAIN_ERR_INVALID,
         "marker: version 3, this node reads 2"},
        {{7, "id", 2, false, false, false, 1, 1, false}, CHAIN_ERR_INVALID, "marker: version 1"},
        {{7, "id", 2, false, false, false, 2, 9, false},
         CHAIN_ERR_BAD_GENESIS,
         "marker: of another chain"},
        {{7, "id", 2, false, false, false, 2, 1, true}, CHAIN_ERR_MALFORMED, "1 trailing bytes"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t len;
        uint8_t *b = marker(&cases[i].s, &len);
        chain_marker m;
        memset(&m, 0x5a, sizeof m);
        char msg[128] = "";
        int rc = chain_marker_decode(&m, b, len, CHAIN_ID, msg, sizeof msg);
        if (rc != cases[i].code || strstr(msg, cases[i].msg) == NULL)
            fail_msg("case %zu: %s \"%s\", want %s \"%s\"", i, chain_err_code(rc), msg,
                     chain_err_code(cases[i].code), cases[i].msg);
        assert_int_equal(m.index, 0x5a5a5a5a5a5a5a5aull); /* written only on success */
        assert_int_equal(chain_marker_decode(&m, b, len, CHAIN_ID, NULL, 0), cases[i].code);
        free(b);
    }
    /* not a map, and longer than any marker can be */
    const uint8_t arr[] = {0x80};
    chain_marker m;
    char msg[128];
    assert_int_equal(chain_marker_decode(&m, arr, 1, CHAIN_ID, msg, sizeof msg),
                     CHAIN_ERR_MALFORMED);
    size_t big = 1 << 20;
    uint8_t *b = calloc(1, big);
    assert_non_null(b);
    assert_int_equal(chain_marker_decode(&m, b, big, CHAIN_ID, msg, sizeof msg),
                     CHAIN_ERR_TOO_LARGE);
    assert_non_null(strstr(msg, "marker: 1048576 bytes"));
    free(b);
}

/* [bstr, bstr] splits into its elements; anything else is refused. */
static void test_batches_split_and_refused(void **state)
{
    (void)state;
    const uint8_t two[] = {0x82, 0x41, 'a', 0x42, 'b', 'c'};
    const uint8_t *p[4];
    size_t l[4], n = 0;
    char msg[128];
    assert_int_equal(chain_blocks_split(p, l, &n, 4, two, sizeof two, msg, sizeof msg), CHAIN_OK);
    assert_int_equal(n, 2);
    assert_int_equal(l[1], 2);
    assert_memory_equal(p[1], "bc", 2);
    assert_int_equal(chain_txs_split(p, l, &n, 2, two, sizeof two, msg, sizeof msg), CHAIN_OK);
    assert_int_equal(n, 2);
    /* one past the caller's maximum */
    n = 99;
    assert_int_equal(chain_blocks_split(p, l, &n, 1, two, sizeof two, msg, sizeof msg),
                     CHAIN_ERR_TOO_LARGE);
    assert_int_equal(n, 99);
    assert_int_equal(chain_txs_split(p, l, &n, 1, two, sizeof two, NULL, 0), CHAIN_ERR_TOO_LARGE);
    /* an element that is not bytes, trailing bytes, not an array */
    const uint8_t text[] = {0x81, 0x61, 'a'}, tail[] = {0x81, 0x41, 'a', 0x00}, map[] = {0xa0};
    assert_int_equal(chain_blocks_split(p, l, &n, 4, text, sizeof text, msg, sizeof msg),
                     CHAIN_ERR_MALFORMED);
    assert_non_null(strstr(msg, "block: expected bytes"));
    assert_int_equal(chain_txs_split(p, l, &n, 4, text, sizeof text, msg, sizeof msg),
                     CHAIN_ERR_MALFORMED);
    assert_non_null(strstr(msg, "batch element: expected bytes"));
    assert_int_equal(chain_blocks_split(p, l, &n, 4, tail, sizeof tail, NULL, 0),
                     CHAIN_ERR_MALFORMED);
    assert_int_equal(chain_txs_split(p, l, &n, 4, tail, sizeof tail, msg, sizeof msg),
                     CHAIN_ERR_MALFORMED);
    assert_string_equal(msg, "1 trailing bytes");
    assert_int_equal(chain_txs_split(p, l, &n, 4, map, sizeof map, msg, sizeof msg),
                     CHAIN_ERR_MALFORMED);
    assert_non_null(strstr(msg, "batch: expected array"));
    assert_int_equal(n, 99);
}

/* verify_back without a message buffer: the same codes. */
static void test_verify_back_codes_without_message(void **state)
{
    (void)state;
    uint8_t prev[32], top[32] = {0};
    const uint8_t junk[] = {0x00};
    const uint8_t *blks[1] = {junk};
    size_t lens[1] = {1};
    assert_int_equal(chain_blocks_verify_back(prev, blks, lens, 0, 1, top, NULL, 0),
                     CHAIN_ERR_INVALID);
    assert_int_equal(chain_blocks_verify_back(prev, blks, lens, 1, 0, top, NULL, 0),
                     CHAIN_ERR_INVALID);
    assert_int_equal(chain_blocks_verify_back(prev, blks, lens, 1, UINT64_MAX, top, NULL, 0),
                     CHAIN_ERR_INVALID);
    assert_int_not_equal(chain_blocks_verify_back(prev, blks, lens, 1, 1, top, NULL, 0), CHAIN_OK);
    /* a block that decodes but sits at another height, and one whose id is not the top's */
    chain_block_header hdr = {.height = 3, .time = 1, .proposer = 1};
    uint8_t *blk;
    size_t len;
    assert_int_equal(chain_block_build(&blk, &len, &hdr, NULL, NULL, 0), CHAIN_OK);
    blks[0] = blk;
    lens[0] = len;
    assert_int_equal(chain_blocks_verify_back(prev, blks, lens, 1, 2, top, NULL, 0),
                     CHAIN_ERR_BAD_BLOCK);
    assert_int_equal(chain_blocks_verify_back(prev, blks, lens, 1, 3, top, NULL, 0),
                     CHAIN_ERR_BAD_BLOCK);
    uint8_t id[32];
    chain_block_header_id(id, &hdr);
    memset(prev, 0x77, sizeof prev);
    assert_int_equal(chain_blocks_verify_back(prev, blks, lens, 1, 3, id, NULL, 0), CHAIN_OK);
    assert_memory_equal(prev, hdr.prev, 32);
    free(blk);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_marker_good_decodes),
        cmocka_unit_test(test_marker_refusals),
        cmocka_unit_test(test_batches_split_and_refused),
        cmocka_unit_test(test_verify_back_codes_without_message),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
