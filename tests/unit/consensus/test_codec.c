/*
 * test_codec.c — the node-to-node wire format (cons_codec.h): every raft
 * message type and the forward frame round-trip; truncated, bit-flipped,
 * oversized and random frames are refused with RAFT_MALFORMED and leave
 * nothing allocated (ASan run checks the last part).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "consensus/cons_codec.h"

static const char *ADDR = "tcp://127.0.0.1:7001";

static void encode(const struct raft_message *m, uint8_t **buf, size_t *len)
{
    assert_int_equal(cons_codec_encode_raft(buf, len, 9, ADDR, m), 0);
}

static void decode_ok(const uint8_t *buf, size_t len, cons_wire *w)
{
    assert_int_equal(cons_codec_decode(w, buf, len), 0);
    assert_int_equal(w->from_id, 9);
    assert_string_equal(w->from_addr, ADDR);
    assert_int_equal(w->msg.server_id, 9);
}

/* Every proper prefix of a valid frame is refused. */
static void all_prefixes_refused(const uint8_t *buf, size_t len)
{
    for (size_t n = 0; n < len; n++) {
        cons_wire w;
        assert_int_equal(cons_codec_decode(&w, buf, n), RAFT_MALFORMED);
    }
}

static void test_codec_request_vote_round_trip(void **state)
{
    (void)state;
    struct raft_message m = {.type = RAFT_REQUEST_VOTE};
    m.request_vote = (struct raft_request_vote){
        .term = 7, .candidate_id = 3, .last_log_index = 99, .last_log_term = 6, .pre_vote = true};
    uint8_t *buf;
    size_t len;
    encode(&m, &buf, &len);
    cons_wire w;
    decode_ok(buf, len, &w);
    assert_int_equal(w.msg.type, RAFT_REQUEST_VOTE);
    assert_int_equal(w.msg.request_vote.term, 7);
    assert_int_equal(w.msg.request_vote.candidate_id, 3);
    assert_int_equal(w.msg.request_vote.last_log_index, 99);
    assert_int_equal(w.msg.request_vote.last_log_term, 6);
    assert_true(w.msg.request_vote.pre_vote);
    assert_false(w.msg.request_vote.disrupt_leader);
    all_prefixes_refused(buf, len);
    free(buf);

    m.type = RAFT_REQUEST_VOTE_RESULT;
    m.request_vote_result = (struct raft_request_vote_result){
        .term = 8, .vote_granted = true, .features = 1, .capacity = 500};
    encode(&m, &buf, &len);
    decode_ok(buf, len, &w);
    assert_true(w.msg.request_vote_result.vote_granted);
    assert_int_equal(w.msg.request_vote_result.capacity, 500);
    assert_int_equal(w.msg.request_vote_result.features, 1);
    all_prefixes_refused(buf, len);
    free(buf);
}

static void test_codec_append_entries_round_trip(void **state)
{
    (void)state;
    struct raft_entry e[3] = {{.term = 2, .type = RAFT_COMMAND, .buf = {"block-1", 7}},
                              {.term = 2, .type = RAFT_BARRIER, .buf = {"", 0}},
                              {.term = 3, .type = RAFT_COMMAND, .buf = {"b2", 2}}};
    struct raft_message m = {.type = RAFT_APPEND_ENTRIES};
    m.append_entries = (struct raft_append_entries){.term = 3,
                                                    .prev_log_index = 10,
                                                    .prev_log_term = 2,
                                                    .leader_commit = 9,
                                                    .entries = e,
                                                    .n_entries = 3};
    uint8_t *buf;
    size_t len;
    encode(&m, &buf, &len);
    cons_wire w;
    decode_ok(buf, len, &w);
    const struct raft_append_entries *a = &w.msg.append_entries;
    assert_int_equal(a->n_entries, 3);
    assert_int_equal(a->prev_log_index, 10);
    assert_int_equal(a->leader_commit, 9);
    assert_int_equal(a->entries[0].buf.len, 7);
    assert_memory_equal(a->entries[0].buf.base, "block-1", 7);
    assert_int_equal(a->entries[1].type, RAFT_BARRIER);
    assert_int_equal(a->entries[2].term, 3);
    assert_ptr_equal(a->entries[2].batch, a->entries[0].batch); /* one batch */
    cons_wire_release(&w);
    all_prefixes_refused(buf, len);
    /* a trailing byte is refused too */
    uint8_t *longer = malloc(len + 1);
    memcpy(longer, buf, len);
    longer[len] = 0;
    assert_int_equal(cons_codec_decode(&w, longer, len + 1), RAFT_MALFORMED);
    free(longer);
    free(buf);

    /* heartbeat: no entries */
    m.append_entries.n_entries = 0;
    m.append_entries.entries = NULL;
    encode(&m, &buf, &len);
    decode_ok(buf, len, &w);
    assert_int_equal(w.msg.append_entries.n_entries, 0);
    free(buf);
}

static void test_codec_append_entries_result_and_timeout_now(void **state)
{
    (void)state;
    struct raft_message m = {.type = RAFT_APPEND_ENTRIES_RESULT};
    m.append_entries_result = (struct raft_append_entries_result){
        .term = 4, .rejected = 12, .last_log_index = 11, .features = 1, .capacity = 65535};
    uint8_t *buf;
    size_t len;
    encode(&m, &buf, &len);
    cons_wire w;
    decode_ok(buf, len, &w);
    assert_int_equal(w.msg.append_entries_result.rejected, 12);
    assert_int_equal(w.msg.append_entries_result.capacity, 65535);
    all_prefixes_refused(buf, len);
    free(buf);

    m.type = RAFT_TIMEOUT_NOW;
    m.timeout_now = (struct raft_timeout_now){.term = 5, .last_log_index = 20, .last_log_term = 4};
    encode(&m, &buf, &len);
    decode_ok(buf, len, &w);
    assert_int_equal(w.msg.timeout_now.last_log_index, 20);
    all_prefixes_refused(buf, len);
    free(buf);
}

static void test_codec_install_snapshot_round_trip(void **state)
{
    (void)state;
    struct raft_message m = {.type = RAFT_INSTALL_SNAPSHOT};
    raft_configuration_init(&m.install_snapshot.conf);
    assert_int_equal(raft_configuration_add(&m.install_snapshot.conf, 1, "tcp://a:1", RAFT_VOTER),
                     0);
    assert_int_equal(raft_configuration_add(&m.install_snapshot.conf, 2, "tcp://b:2", RAFT_SPARE),
                     0);
    m.install_snapshot.term = 6;
    m.install_snapshot.last_index = 500;
    m.install_snapshot.last_term = 5;
    m.install_snapshot.conf_index = 400;
    m.install_snapshot.data = (struct raft_buffer){"state-bytes", 11};
    uint8_t *buf;
    size_t len;
    encode(&m, &buf, &len);
    raft_configuration_close(&m.install_snapshot.conf);
    cons_wire w;
    decode_ok(buf, len, &w);
    const struct raft_install_snapshot *a = &w.msg.install_snapshot;
    assert_int_equal(a->last_index, 500);
    assert_int_equal(a->conf_index, 400);
    assert_int_equal(a->conf.n, 2);
    assert_int_equal(a->conf.servers[1].role, RAFT_SPARE);
    assert_int_equal(a->data.len, 11);
    assert_memory_equal(a->data.base, "state-bytes", 11);
    cons_wire_release(&w);
    all_prefixes_refused(buf, len);
    free(buf);
}

static void test_codec_forward_round_trip(void **state)
{
    (void)state;
    const uint8_t *txs[3] = {(const uint8_t *)"aa", (const uint8_t *)"bbbb", (const uint8_t *)"c"};
    size_t lens[3] = {2, 4, 1};
    uint8_t *buf;
    size_t len;
    assert_int_equal(cons_codec_encode_forward(&buf, &len, 9, ADDR, txs, lens, 3), 0);
    cons_wire w;
    assert_int_equal(cons_codec_decode(&w, buf, len), 0);
    assert_int_equal(w.kind, CONS_KIND_FORWARD);
    assert_int_equal(w.fwd_count, 3);
    size_t pos = 0, l;
    const uint8_t *tx;
    for (int i = 0; i < 3; i++) {
        assert_int_equal(cons_codec_forward_next(&w, &pos, &tx, &l), 1);
        assert_int_equal(l, lens[i]);
        assert_memory_equal(tx, txs[i], l);
    }
    assert_int_equal(cons_codec_forward_next(&w, &pos, &tx, &l), 0);
    all_prefixes_refused(buf, len);
    free(buf);
    assert_int_equal(cons_codec_encode_forward(&buf, &len, 9, ADDR, txs, lens, 0), RAFT_INVALID);
}

static void test_codec_bad_header_refused(void **state)
{
    (void)state;
    struct raft_message m = {.type = RAFT_TIMEOUT_NOW};
    uint8_t *buf;
    size_t len;
    encode(&m, &buf, &len);
    cons_wire w;
    uint8_t save;
    save = buf[0], buf[0] = 0x51; /* magic */
    assert_int_equal(cons_codec_decode(&w, buf, len), RAFT_MALFORMED);
    buf[0] = save;
    save = buf[1], buf[1] = 2; /* version */
    assert_int_equal(cons_codec_decode(&w, buf, len), RAFT_MALFORMED);
    buf[1] = save;
    save = buf[2], buf[2] = 99; /* kind */
    assert_int_equal(cons_codec_decode(&w, buf, len), RAFT_MALFORMED);
    buf[2] = save;
    memset(buf + 3, 0, 8); /* sender id 0 */
    assert_int_equal(cons_codec_decode(&w, buf, len), RAFT_MALFORMED);
    free(buf);
}

/* An entry length far beyond the frame must not be believed. */
static void test_codec_oversized_entry_length_refused(void **state)
{
    (void)state;
    struct raft_entry e = {.term = 2, .type = RAFT_COMMAND, .buf = {"x", 1}};
    struct raft_message m = {.type = RAFT_APPEND_ENTRIES};
    m.append_entries = (struct raft_append_entries){.term = 3, .entries = &e, .n_entries = 1};
    uint8_t *buf;
    size_t len;
    encode(&m, &buf, &len);
    /* the entry's u32 length sits 1 byte (data) + 4 bytes before the end */
    uint8_t *lp = buf + len - 1 - 4;
    lp[0] = lp[1] = lp[2] = lp[3] = 0xff;
    cons_wire w;
    assert_int_equal(cons_codec_decode(&w, buf, len), RAFT_MALFORMED);
    free(buf);
    /* and an entry count larger than the frame can hold */
    encode(&m, &buf, &len);
    uint8_t *np = buf + len - 1 - 4 - 1 - 8 - 4;
    np[0] = np[1] = np[2] = 0xff;
    np[3] = 0;
    assert_int_equal(cons_codec_decode(&w, buf, len), RAFT_MALFORMED);
    free(buf);
}

/* Random bytes and random corruptions of valid frames: never a crash, and a
 * frame that does decode is released cleanly. */
static void test_codec_garbage_never_crashes(void **state)
{
    (void)state;
    unsigned s = 12345;
    uint8_t buf[512];
    for (int it = 0; it < 20000; it++) {
        size_t len = 0;
        s = s * 1103515245u + 12345u;
        len = (s >> 8) % sizeof buf;
        for (size_t i = 0; i < len; i++) {
            s = s * 1103515245u + 12345u;
            buf[i] = (uint8_t)(s >> 16);
        }
        if (len > 3 && it % 2) { /* plausible header so the body parsers get exercised */
            buf[0] = 0x50;
            buf[1] = 1;
            buf[2] = (uint8_t)(1 + it % 6);
            buf[11] = 4;
        }
        cons_wire w;
        if (cons_codec_decode(&w, buf, len) == 0)
            cons_wire_release(&w);
    }
    struct raft_entry e[2] = {{.term = 2, .type = RAFT_COMMAND, .buf = {"abcdef", 6}},
                              {.term = 2, .type = RAFT_CHANGE, .buf = {"zz", 2}}};
    struct raft_message m = {.type = RAFT_APPEND_ENTRIES};
    m.append_entries = (struct raft_append_entries){.term = 3, .entries = e, .n_entries = 2};
    uint8_t *frame;
    size_t flen;
    encode(&m, &frame, &flen);
    for (size_t i = 0; i < flen; i++)
        for (int bit = 0; bit < 8; bit++) {
            frame[i] ^= (uint8_t)(1 << bit);
            cons_wire w;
            if (cons_codec_decode(&w, frame, flen) == 0)
                cons_wire_release(&w);
            frame[i] ^= (uint8_t)(1 << bit);
        }
    free(frame);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_codec_request_vote_round_trip),
        cmocka_unit_test(test_codec_append_entries_round_trip),
        cmocka_unit_test(test_codec_append_entries_result_and_timeout_now),
        cmocka_unit_test(test_codec_install_snapshot_round_trip),
        cmocka_unit_test(test_codec_forward_round_trip),
        cmocka_unit_test(test_codec_bad_header_refused),
        cmocka_unit_test(test_codec_oversized_entry_length_refused),
        cmocka_unit_test(test_codec_garbage_never_crashes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
