/*
 * test_store_install.c — the log store after a snapshot installed from the
 * leader (cons_store.h, snapshot put with trailing 0): the sequence that broke
 * libraft 0.22.1's in-memory fixture stub (its truncate counted entries from
 * index 1, not from the installed snapshot; see docs/ARCHITECTURE.md,
 * "Deterministic simulation"). Our store keys entries by their index, so a
 * truncation after an install must drop exactly the suffix, whatever the
 * snapshot's index; these tests fail if it ever counts from index 1.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "consensus/cons_store.h"
#include "helper_util.h"

static cons_store *open_store(const char *dir)
{
    cons_store *s = NULL;
    char err[256];
    assert_int_equal(cons_store_open(&s, dir, err, sizeof err), 0);
    return s;
}

/* entries first..first+n-1 with payload "e<i>/<term>" */
static void append_n(cons_store *s, raft_index first, unsigned n, raft_term term)
{
    struct raft_entry e[16];
    char data[16][24];
    assert_true(n <= 16);
    for (unsigned i = 0; i < n; i++) {
        int len = snprintf(data[i], sizeof data[i], "e%llu/%llu", (unsigned long long)(first + i),
                           (unsigned long long)term);
        e[i] =
            (struct raft_entry){.term = term, .type = RAFT_COMMAND, .buf = {data[i], (size_t)len}};
    }
    assert_int_equal(cons_store_last_index(s) + 1, first);
    cons_store_op op = {.type = CONS_OP_APPEND, .append = {e, n}};
    assert_int_equal(cons_store_write(s, &op, 1), 0);
}

static void install(cons_store *s, raft_index index, raft_term term)
{
    struct raft_snapshot snap;
    struct raft_buffer buf = {(void *)"marker", 6};
    memset(&snap, 0, sizeof snap);
    raft_configuration_init(&snap.configuration);
    assert_int_equal(raft_configuration_add(&snap.configuration, 1, "a", RAFT_VOTER), 0);
    snap.index = index;
    snap.term = term;
    snap.configuration_index = 1;
    snap.bufs = &buf;
    snap.n_bufs = 1;
    cons_store_op op = {.type = CONS_OP_SNAPSHOT, .snapshot = {&snap, 0}};
    assert_int_equal(cons_store_write(s, &op, 1), 0);
    raft_configuration_close(&snap.configuration);
}

static void truncate_at(cons_store *s, raft_index index)
{
    cons_store_op op = {.type = CONS_OP_TRUNCATE, .truncate = {index}};
    assert_int_equal(cons_store_write(s, &op, 1), 0);
}

/* Reopens and checks: snapshot at snap_index, then entries snap_index+1..last
 * whose terms are term_of(i). */
static void check_log(const char *dir, raft_index snap_index, raft_index last,
                      raft_term (*term_of)(raft_index))
{
    cons_store *s = open_store(dir);
    raft_term term;
    raft_id vote;
    struct raft_snapshot *snap = NULL;
    raft_index start;
    struct raft_entry *e = NULL;
    size_t n = 0;
    assert_int_equal(cons_store_load(s, &term, &vote, &snap, &start, &e, &n), 0);
    assert_non_null(snap);
    assert_int_equal(snap->index, snap_index);
    assert_int_equal(start, snap_index + 1);
    assert_int_equal(n, (size_t)(last - snap_index));
    for (size_t k = 0; k < n; k++) {
        raft_index i = start + k;
        char want[24];
        int len = snprintf(want, sizeof want, "e%llu/%llu", (unsigned long long)i,
                           (unsigned long long)term_of(i));
        assert_int_equal(e[k].term, term_of(i));
        assert_int_equal(e[k].buf.len, (size_t)len);
        assert_memory_equal(e[k].buf.base, want, (size_t)len);
    }
    if (n) {
        raft_free(e[0].batch);
        raft_free(e);
    }
    cons_store_snapshot_free(snap);
    assert_int_equal(cons_store_last_index(s), last);
    cons_store_close(s);
}

static raft_term terms_conflict(raft_index i)
{
    return i < 105 ? 4 : 5;
}

/* Install at 100, append 101..110 (term 4), a new leader overwrites from 105
 * (term 5): 101..104 of term 4 stay, 105..107 are the new ones. The fixture
 * stub kept 104 entries here and read past its array. */
static void test_store_install_truncate_drops_only_suffix(void **state)
{
    (void)state;
    char *dir = helper_tmpdir("store-install");
    cons_store *s = open_store(dir);
    append_n(s, 1, 8, 1);
    install(s, 100, 4);
    append_n(s, 101, 10, 4);
    truncate_at(s, 105);
    assert_int_equal(cons_store_last_index(s), 104);
    append_n(s, 105, 3, 5);
    assert_int_equal(cons_store_last_index(s), 107);
    cons_store_close(s);
    check_log(dir, 100, 107, terms_conflict);
    helper_rmtree(dir);
}

static raft_term term4(raft_index i)
{
    (void)i;
    return 4;
}

/* Truncating at the first index after the snapshot empties the log past it;
 * truncating past the last index changes nothing. */
static void test_store_install_truncate_edges(void **state)
{
    (void)state;
    char *dir = helper_tmpdir("store-install");
    cons_store *s = open_store(dir);
    install(s, 100, 4);
    append_n(s, 101, 6, 4);
    truncate_at(s, 107); /* one past the last: nothing to drop */
    assert_int_equal(cons_store_last_index(s), 106);
    cons_store_close(s);
    check_log(dir, 100, 106, term4);
    s = open_store(dir);
    truncate_at(s, 101);
    assert_int_equal(cons_store_last_index(s), 100);
    append_n(s, 101, 2, 4);
    cons_store_close(s);
    check_log(dir, 100, 102, term4);
    helper_rmtree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_store_install_truncate_drops_only_suffix),
        cmocka_unit_test(test_store_install_truncate_edges),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
