/*
 * test_guard.c — cons_guard_append_entries (cons_int.h): an AppendEntries
 * whose prev_log_index this follower compacted below its snapshot starts at
 * the snapshot instead (libraft 0.22.1 would reject it forever, see
 * cons_guard.c); everything else reaches raft untouched. The follower here is
 * a zeroed struct raft with the public trail fields set: snapshot at 108
 * (term 5), entries kept from 101 (offset 100), commit 108, term 5.
 * Fixture seed 315990473 (snapshots+kills) is the same stall end to end.
 * Also: an AppendEntries that would move the commit index back gets a
 * leader_commit no higher than ours (fixture seed 45515235).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "consensus/cons_int.h"

static struct raft follower(void)
{
    struct raft r;
    memset(&r, 0, sizeof r);
    r.trail.snapshot.index = 108;
    r.trail.snapshot.term = 5;
    r.trail.offset = 100;
    r.commit_index = 108;
    r.current_term = 5;
    return r;
}

/* AppendEntries (term, prev, prev_term) with entries prev+1..prev+n of term
 * entry_term, in one raft_malloc batch as cons_codec decodes them. */
static struct raft_message append(raft_term term, raft_index prev, unsigned n, raft_term entry_term)
{
    struct raft_message m;
    memset(&m, 0, sizeof m);
    m.type = RAFT_APPEND_ENTRIES;
    m.append_entries.term = term;
    m.append_entries.prev_log_index = prev;
    m.append_entries.prev_log_term = 5;
    if (n > 0) {
        uint8_t *batch = raft_malloc(8 * n);
        struct raft_entry *e = raft_malloc(n * sizeof *e);
        assert_non_null(batch);
        assert_non_null(e);
        for (unsigned i = 0; i < n; i++) {
            uint64_t idx = prev + 1 + i;
            memcpy(batch + 8 * i, &idx, 8);
            e[i] = (struct raft_entry){.term = entry_term,
                                       .type = RAFT_COMMAND,
                                       .buf = {batch + 8 * i, 8},
                                       .batch = batch};
        }
        m.append_entries.entries = e;
        m.append_entries.n_entries = n;
    }
    return m;
}

static void release(struct raft_message *m)
{
    if (m->append_entries.n_entries > 0) {
        raft_free(m->append_entries.entries[0].batch);
        raft_free(m->append_entries.entries);
    }
}

static uint64_t index_of(const struct raft_entry *e)
{
    uint64_t idx;
    memcpy(&idx, e->buf.base, 8);
    return idx;
}

/* prev 95, entries 96..115: 96..108 dropped, prev = (108, 5), 109..115 kept. */
static void test_guard_trims_entries_the_snapshot_covers(void **state)
{
    (void)state;
    struct raft r = follower();
    struct raft_message m = append(5, 95, 20, 5);
    assert_true(cons_guard_append_entries(&r, &m));
    assert_int_equal(m.append_entries.prev_log_index, 108);
    assert_int_equal(m.append_entries.prev_log_term, 5);
    assert_int_equal(m.append_entries.n_entries, 7);
    assert_int_equal(index_of(&m.append_entries.entries[0]), 109);
    assert_int_equal(index_of(&m.append_entries.entries[6]), 115);
    release(&m);
}

/* The probe heartbeat that looped: prev 99, no entries -> prev 108. */
static void test_guard_moves_heartbeat_to_snapshot(void **state)
{
    (void)state;
    struct raft r = follower();
    struct raft_message m = append(5, 99, 0, 5);
    assert_true(cons_guard_append_entries(&r, &m));
    assert_int_equal(m.append_entries.prev_log_index, 108);
    assert_int_equal(m.append_entries.n_entries, 0);
    assert_null(m.append_entries.entries);
}

/* Entries 91..100 all under the snapshot: all freed (ASan sees a leak or a
 * double free otherwise), a heartbeat at 108 remains. */
static void test_guard_frees_entries_all_covered(void **state)
{
    (void)state;
    struct raft r = follower();
    struct raft_message m = append(5, 90, 10, 5);
    assert_true(cons_guard_append_entries(&r, &m));
    assert_int_equal(m.append_entries.n_entries, 0);
    assert_null(m.append_entries.entries);
    assert_int_equal(m.append_entries.prev_log_index, 108);
}

static void untouched(struct raft *r, struct raft_message m)
{
    struct raft_message before = m;
    assert_false(cons_guard_append_entries(r, &m));
    assert_memory_equal(&m, &before, sizeof m);
    release(&m);
}

/* Whatever raft can check itself, or must refuse, is left alone. */
static void test_guard_leaves_other_messages(void **state)
{
    (void)state;
    struct raft r = follower();
    r.trail.offset = 99;
    untouched(&r, append(5, 100, 3, 5)); /* prev 100 is kept: raft checks it */
    r.trail.offset = 100;
    untouched(&r, append(5, 108, 3, 5)); /* prev = snapshot index */
    untouched(&r, append(5, 112, 3, 5)); /* past the snapshot */
    untouched(&r, append(4, 95, 20, 4)); /* an older leader: refused by term */
    untouched(&r, append(5, 95, 20, 3)); /* its entry 108 has another term */
    r.commit_index = 107;
    untouched(&r, append(5, 95, 20, 5)); /* a snapshot not known committed */
    r = follower();
    r.trail.snapshot.index = 0;
    untouched(&r, append(5, 95, 20, 5)); /* no snapshot */
    struct raft_message v;
    memset(&v, 0, sizeof v);
    v.type = RAFT_REQUEST_VOTE;
    untouched(&r, v);
}

/* An AppendEntries ending below our commit index (108) whose leader_commit
 * is above it: raft would set commit = min(leader_commit, last new entry),
 * moving it back (fixture seed 45515235); leader_commit is lowered to ours.
 * One ending at or past our commit index, or not claiming more, is left. */
static struct raft_message committing(raft_index prev, unsigned n, raft_index leader_commit)
{
    struct raft_message m = append(5, prev, n, 5);
    m.append_entries.leader_commit = leader_commit;
    return m;
}

static void test_guard_keeps_commit_index_from_going_back(void **state)
{
    (void)state;
    struct raft r = follower();
    struct raft_message m = committing(104, 0, 110); /* the heartbeat of the seed */
    assert_true(cons_guard_append_entries(&r, &m));
    assert_int_equal(m.append_entries.leader_commit, 108);
    assert_int_equal(m.append_entries.prev_log_index, 104);
    assert_int_equal(m.append_entries.n_entries, 0);
    m = committing(104, 3, 110); /* entries 105..107: one below the commit index */
    assert_true(cons_guard_append_entries(&r, &m));
    assert_int_equal(m.append_entries.leader_commit, 108);
    assert_int_equal(m.append_entries.n_entries, 3);
    release(&m);
    untouched(&r, committing(104, 4, 110)); /* ends at 108: min is 108 */
    untouched(&r, committing(104, 6, 110)); /* ends past it: raises to 110 */
    untouched(&r, committing(104, 0, 108)); /* claims no more than we have */
    untouched(&r, committing(104, 0, 100)); /* claims less: raft ignores it */
    /* the stall rewrite first (prev 95 -> 108), then nothing is below 108 */
    m = committing(95, 5, 110);
    assert_true(cons_guard_append_entries(&r, &m));
    assert_int_equal(m.append_entries.prev_log_index, 108);
    assert_int_equal(m.append_entries.leader_commit, 110);
}

/* The snapshot handed out was (70, term 6); raft's InstallSnapshot for it
 * says term 4 (the older snapshot's, fixture seed 5734): the copy sent says 6. */
static void test_guard_install_takes_loaded_snapshot_term(void **state)
{
    (void)state;
    cons_snap_seen seen;
    memset(&seen, 0, sizeof seen);
    static char data[] = "marker";
    struct raft_buffer buf = {data, sizeof data};
    struct raft_snapshot snap = {.index = 70, .term = 6, .bufs = &buf, .n_bufs = 1};
    cons_guard_snapshot_loaded(&seen, &snap);
    struct raft_message m, tmp;
    memset(&m, 0, sizeof m);
    m.type = RAFT_INSTALL_SNAPSHOT;
    m.install_snapshot.last_index = 70;
    m.install_snapshot.last_term = 4;
    m.install_snapshot.data = buf;
    const struct raft_message *out = cons_guard_install_term(&seen, &m, &tmp);
    assert_ptr_equal(out, &tmp);
    assert_int_equal(out->install_snapshot.last_term, 6);
    assert_int_equal(out->install_snapshot.last_index, 70);
    assert_int_equal(m.install_snapshot.last_term, 4); /* raft's message untouched */
    m.install_snapshot.last_term = 6;                  /* already right */
    assert_ptr_equal(cons_guard_install_term(&seen, &m, &tmp), &m);
    m.install_snapshot.last_term = 4;
    m.install_snapshot.last_index = 71; /* not the snapshot we handed out */
    assert_ptr_equal(cons_guard_install_term(&seen, &m, &tmp), &m);
    m.install_snapshot.last_index = 70;
    m.install_snapshot.data.base = data + 1; /* other data */
    assert_ptr_equal(cons_guard_install_term(&seen, &m, &tmp), &m);
    m.type = RAFT_APPEND_ENTRIES;
    assert_ptr_equal(cons_guard_install_term(&seen, &m, &tmp), &m);
    /* a snapshot without data is not recorded */
    cons_snap_seen before = seen;
    struct raft_snapshot empty = {.index = 80, .term = 7, .bufs = NULL, .n_bufs = 0};
    cons_guard_snapshot_loaded(&seen, &empty);
    assert_memory_equal(&seen, &before, sizeof seen);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_guard_trims_entries_the_snapshot_covers),
        cmocka_unit_test(test_guard_moves_heartbeat_to_snapshot),
        cmocka_unit_test(test_guard_frees_entries_all_covered),
        cmocka_unit_test(test_guard_leaves_other_messages),
        cmocka_unit_test(test_guard_install_takes_loaded_snapshot_term),
        cmocka_unit_test(test_guard_keeps_commit_index_from_going_back),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
