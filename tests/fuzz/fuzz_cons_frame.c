/*
 * fuzz_cons_frame.c — libFuzzer target for the node-to-node frame decoder
 * (consensus/cons_codec.c), the first code every byte from the Raft port
 * reaches, and for its configuration checker (the bytes libraft's own decoder
 * would read without bounds).
 *
 * Beyond "does not crash" (ASan, UBSan): a frame is either refused with
 * RAFT_MALFORMED / CONS_CODEC_OTHER_CHAIN, or decodes to a message that
 * re-encodes to exactly the input (a raft message, a FORWARD or a HELLO
 * frame, each through its own encoder) and keeps the promises cons_codec.h makes
 * (terms in bounds and non-decreasing along the entries, one shared batch,
 * every configuration entry decodable); the decoded frame is then released
 * once, as the node does with a frame it refuses. Seeds: tests/fuzz/corpus/
 * cons_frame (made by tests/cluster/frametool write, chain id 5a..5a).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "consensus/cons_codec.h"

#define CHECK(x)                                                                                   \
    do {                                                                                           \
        if (!(x))                                                                                  \
            abort();                                                                               \
    } while (0)

static const uint8_t CHAIN[CONS_CHAIN_ID_LEN] = {
    0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a,
    0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a};

static void check_append(const struct raft_append_entries *a)
{
    uint64_t last = a->prev_log_term;
    CHECK(a->term >= 1 && a->term <= CONS_TERM_MAX);
    CHECK((a->prev_log_index == 0) == (a->prev_log_term == 0));
    for (unsigned i = 0; i < a->n_entries; i++) {
        const struct raft_entry *e = &a->entries[i];
        CHECK(e->batch == a->entries[0].batch);
        CHECK(e->term >= last && e->term <= a->term && e->term > 0);
        last = e->term;
        if (e->type == RAFT_CHANGE) {
            struct raft_configuration conf;
            CHECK(cons_codec_conf_decode(&conf, e->buf.base, e->buf.len) == 0);
            CHECK(conf.n >= 1 && conf.n <= CONS_PEERS_MAX);
            raft_configuration_close(&conf);
        }
    }
}

static void check_frame(const uint8_t *data, size_t size)
{
    cons_wire w;
    int rv = cons_codec_decode(&w, CHAIN, data, size);
    if (rv != 0) {
        CHECK(rv == RAFT_MALFORMED || rv == CONS_CODEC_OTHER_CHAIN || rv == RAFT_NOMEM);
        return;
    }
    uint8_t *out = NULL;
    size_t out_len = 0;
    if (w.kind == CONS_KIND_FORWARD) {
        static const uint8_t *txs[CONS_FORWARD_MAX_TXS];
        static size_t lens[CONS_FORWARD_MAX_TXS];
        size_t pos = 0, n = 0;
        while (n < CONS_FORWARD_MAX_TXS && cons_codec_forward_next(&w, &pos, &txs[n], &lens[n]))
            n++;
        CHECK(n == w.fwd_count);
        CHECK(cons_codec_encode_forward(&out, &out_len, CHAIN, w.from_id, w.from_addr, txs, lens,
                                        n) == 0);
    } else if (w.kind == CONS_KIND_HELLO) {
        CHECK(w.hello_sig_len <= CONS_HELLO_SIG_MAX);
        CHECK(cons_codec_encode_hello(&out, &out_len, CHAIN, w.from_id, w.from_addr, w.hello_to,
                                      w.hello_ts_ms, w.hello_sig, w.hello_sig_len) == 0);
    } else {
        if (w.kind == RAFT_APPEND_ENTRIES)
            check_append(&w.msg.append_entries);
        CHECK(cons_codec_encode_raft(&out, &out_len, CHAIN, w.from_id, w.from_addr, &w.msg) == 0);
    }
    CHECK(out_len == size && memcmp(out, data, size) == 0);
    free(out);
    cons_wire_release(&w);
}

/* The configuration checker alone: what it accepts, raft encodes back to the
 * same bytes. */
static void check_conf(const uint8_t *data, size_t size)
{
    struct raft_configuration conf;
    int rv = cons_codec_conf_decode(&conf, data, size);
    if (rv != 0) {
        CHECK(rv == RAFT_MALFORMED || rv == RAFT_NOMEM);
        CHECK(conf.n == 0);
        return;
    }
    struct raft_buffer b;
    CHECK(raft_configuration_encode(&conf, &b) == 0);
    CHECK(b.len == size && memcmp(b.base, data, size) == 0);
    raft_free(b.base);
    raft_configuration_close(&conf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_frame(data, size);
    check_conf(data, size);
    return 0;
}
