/*
 * test_store.c — the LMDB raft store keeps its promises (cons_store.h):
 * term/vote durable, appends in one transaction, truncation, snapshots with and
 * without trailing entries, state intact across reopen — including after a
 * process dies without closing the environment.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <lmdb.h>
#include <stdio.h>

#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "consensus/cons_store.h"
#include "helper_util.h"

static cons_store *open_store(const char *dir)
{
    cons_store *s = NULL;
    char err[256];
    assert_int_equal(cons_store_open(&s, dir, err, sizeof err), 0);
    return s;
}

typedef struct loaded {
    raft_term term;
    raft_id vote;
    struct raft_snapshot *snap;
    raft_index start;
    struct raft_entry *e;
    size_t n;
} loaded;

static void load(cons_store *s, loaded *l)
{
    assert_int_equal(cons_store_load(s, &l->term, &l->vote, &l->snap, &l->start, &l->e, &l->n), 0);
}

static void unload(loaded *l)
{
    if (l->n) {
        raft_free(l->e[0].batch);
        raft_free(l->e);
    }
    cons_store_snapshot_free(l->snap);
    memset(l, 0, sizeof *l);
}

/* entries i..i+n-1 with payload "e<i>" and the given term */
static void append_n(cons_store *s, raft_index first, unsigned n, raft_term term)
{
    struct raft_entry e[64];
    char data[64][16];
    assert_true(n <= 64);
    for (unsigned i = 0; i < n; i++) {
        int len = snprintf(data[i], sizeof data[i], "e%llu", (unsigned long long)(first + i));
        e[i] =
            (struct raft_entry){.term = term, .type = RAFT_COMMAND, .buf = {data[i], (size_t)len}};
    }
    assert_int_equal(cons_store_last_index(s) + 1, first);
    cons_store_op op = {.type = CONS_OP_APPEND, .append = {e, n}};
    assert_int_equal(cons_store_write(s, &op, 1), 0);
}

static void check_entry(const struct raft_entry *e, raft_index idx, raft_term term)
{
    char want[16];
    int len = snprintf(want, sizeof want, "e%llu", (unsigned long long)idx);
    assert_int_equal(e->term, term);
    assert_int_equal(e->type, RAFT_COMMAND);
    assert_int_equal(e->buf.len, (size_t)len);
    assert_memory_equal(e->buf.base, want, (size_t)len);
}

static void bootstrap_conf(cons_store *s)
{
    struct raft_configuration conf;
    raft_configuration_init(&conf);
    assert_int_equal(raft_configuration_add(&conf, 1, "tcp://127.0.0.1:1", RAFT_VOTER), 0);
    assert_int_equal(raft_configuration_add(&conf, 2, "tcp://127.0.0.1:2", RAFT_VOTER), 0);
    assert_int_equal(cons_store_bootstrap(s, &conf), 0);
    raft_configuration_close(&conf);
}

static void test_store_empty_load(void **state)
{
    (void)state;
    char *dir = helper_tmpdir("store");
    cons_store *s = open_store(dir);
    loaded l;
    load(s, &l);
    assert_int_equal(l.term, 0);
    assert_int_equal(l.vote, 0);
    assert_null(l.snap);
    assert_int_equal(l.start, 1);
    assert_int_equal(l.n, 0);
    unload(&l);
    cons_store_close(s);
    helper_rmtree(dir);
}

static void test_store_term_and_vote_survive_reopen(void **state)
{
    (void)state;
    char *dir = helper_tmpdir("store");
    cons_store *s = open_store(dir);
    assert_int_equal(cons_store_set_term(s, 5), 0);
    assert_int_equal(cons_store_set_vote(s, 2), 0);
    cons_store_close(s);
    s = open_store(dir);
    loaded l;
    load(s, &l);
    assert_int_equal(l.term, 5);
    assert_int_equal(l.vote, 2);
    unload(&l);
    /* a new term clears the vote */
    assert_int_equal(cons_store_set_term(s, 6), 0);
    load(s, &l);
    assert_int_equal(l.term, 6);
    assert_int_equal(l.vote, 0);
    unload(&l);
    cons_store_close(s);
    helper_rmtree(dir);
}

static void test_store_bootstrap_once(void **state)
{
    (void)state;
    char *dir = helper_tmpdir("store");
    cons_store *s = open_store(dir);
    bootstrap_conf(s);
    struct raft_configuration conf;
    raft_configuration_init(&conf);
    assert_int_equal(raft_configuration_add(&conf, 1, "x", RAFT_VOTER), 0);
    assert_int_equal(cons_store_bootstrap(s, &conf), RAFT_CANTBOOTSTRAP);
    raft_configuration_close(&conf);
    loaded l;
    load(s, &l);
    assert_int_equal(l.term, 1);
    assert_int_equal(l.n, 1);
    assert_int_equal(l.e[0].type, RAFT_CHANGE);
    struct raft_configuration got;
    raft_configuration_init(&got);
    assert_int_equal(raft_configuration_decode(&l.e[0].buf, &got), 0);
    assert_int_equal(got.n, 2);
    assert_string_equal(got.servers[1].address, "tcp://127.0.0.1:2");
    raft_configuration_close(&got);
    unload(&l);
    cons_store_close(s);
    helper_rmtree(dir);
}

static void test_store_append_group_and_reload(void **state)
{
    (void)state;
    char *dir = helper_tmpdir("store");
    cons_store *s = open_store(dir);
    bootstrap_conf(s);
    append_n(s, 2, 10, 1);
    append_n(s, 12, 5, 2);
    cons_store_close(s);
    s = open_store(dir);
    assert_int_equal(cons_store_last_index(s), 16);
    loaded l;
    load(s, &l);
    assert_int_equal(l.start, 1);
    assert_int_equal(l.n, 16);
    for (raft_index i = 2; i <= 16; i++) {
        check_entry(&l.e[i - 1], i, i < 12 ? 1 : 2);
        assert_ptr_equal(l.e[i - 1].batch, l.e[0].batch); /* one batch */
    }
    unload(&l);
    cons_store_close(s);
    helper_rmtree(dir);
}

static void test_store_truncate_then_append_in_one_txn(void **state)
{
    (void)state;
    char *dir = helper_tmpdir("store");
    cons_store *s = open_store(dir);
    append_n(s, 1, 10, 1);
    struct raft_entry e = {.term = 3, .type = RAFT_COMMAND, .buf = {"e6", 2}};
    cons_store_op ops[2] = {{.type = CONS_OP_TRUNCATE, .truncate = {6}},
                            {.type = CONS_OP_APPEND, .append = {&e, 1}}};
    assert_int_equal(cons_store_write(s, ops, 2), 0);
    assert_int_equal(cons_store_last_index(s), 6);
    cons_store_close(s);
    s = open_store(dir);
    loaded l;
    load(s, &l);
    assert_int_equal(l.n, 6);
    check_entry(&l.e[4], 5, 1);
    check_entry(&l.e[5], 6, 3);
    unload(&l);
    cons_store_close(s);
    helper_rmtree(dir);
}

static struct raft_snapshot *make_snap(raft_index index, raft_term term, const char *data)
{
    static struct raft_snapshot snap;
    static struct raft_buffer buf;
    memset(&snap, 0, sizeof snap);
    raft_configuration_init(&snap.configuration);
    assert_int_equal(raft_configuration_add(&snap.configuration, 1, "a", RAFT_VOTER), 0);
    snap.index = index;
    snap.term = term;
    snap.configuration_index = 1;
    buf.base = (void *)data;
    buf.len = strlen(data);
    snap.bufs = &buf;
    snap.n_bufs = 1;
    return &snap;
}

static void test_store_snapshot_keeps_trailing(void **state)
{
    (void)state;
    char *dir = helper_tmpdir("store");
    cons_store *s = open_store(dir);
    append_n(s, 1, 20, 1);
    struct raft_snapshot *snap = make_snap(15, 1, "state@15");
    cons_store_op op = {.type = CONS_OP_SNAPSHOT, .snapshot = {snap, 5}};
    assert_int_equal(cons_store_write(s, &op, 1), 0);
    raft_configuration_close(&snap->configuration);
    cons_store_close(s);
    s = open_store(dir);
    loaded l;
    load(s, &l);
    assert_non_null(l.snap);
    assert_int_equal(l.snap->index, 15);
    assert_int_equal(l.snap->term, 1);
    assert_int_equal(l.snap->n_bufs, 1);
    assert_int_equal(l.snap->bufs[0].len, 8);
    assert_memory_equal(l.snap->bufs[0].base, "state@15", 8);
    assert_int_equal(l.snap->configuration.n, 1);
    assert_int_equal(l.start, 11);
    assert_int_equal(l.n, 10);
    check_entry(&l.e[0], 11, 1);
    unload(&l);
    struct raft_snapshot *got;
    assert_int_equal(cons_store_snapshot_get(s, &got), 0);
    assert_int_equal(got->index, 15);
    cons_store_snapshot_free(got);
    cons_store_close(s);
    helper_rmtree(dir);
}

static void test_store_installed_snapshot_replaces_log(void **state)
{
    (void)state;
    char *dir = helper_tmpdir("store");
    cons_store *s = open_store(dir);
    append_n(s, 1, 5, 1);
    struct raft_snapshot *snap = make_snap(100, 4, "state@100");
    cons_store_op op = {.type = CONS_OP_SNAPSHOT, .snapshot = {snap, 0}};
    assert_int_equal(cons_store_write(s, &op, 1), 0);
    raft_configuration_close(&snap->configuration);
    assert_int_equal(cons_store_last_index(s), 100);
    append_n(s, 101, 2, 4);
    cons_store_close(s);
    s = open_store(dir);
    loaded l;
    load(s, &l);
    assert_int_equal(l.snap->index, 100);
    assert_int_equal(l.start, 101);
    assert_int_equal(l.n, 2);
    check_entry(&l.e[1], 102, 4);
    unload(&l);
    cons_store_close(s);
    helper_rmtree(dir);
}

/* A child process writes and dies with _exit() (no mdb_env_close, no atexit):
 * everything a call returned 0 for must be there when the parent reopens. */
static void test_store_survives_crash_without_close(void **state)
{
    (void)state;
    char *dir = helper_tmpdir("store");
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        cons_store *s = NULL;
        char err[256];
        if (cons_store_open(&s, dir, err, sizeof err) != 0)
            _exit(2);
        struct raft_entry e[3];
        for (int i = 0; i < 3; i++)
            e[i] = (struct raft_entry){.term = 7, .type = RAFT_COMMAND, .buf = {"xyz", 3}};
        cons_store_op op = {.type = CONS_OP_APPEND, .append = {e, 3}};
        if (cons_store_set_term(s, 7) || cons_store_set_vote(s, 3) || cons_store_write(s, &op, 1))
            _exit(3);
        _exit(0);
    }
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    cons_store *s = open_store(dir);
    loaded l;
    load(s, &l);
    assert_int_equal(l.term, 7);
    assert_int_equal(l.vote, 3);
    assert_int_equal(l.n, 3);
    assert_int_equal(l.e[2].term, 7);
    unload(&l);
    cons_store_close(s);
    helper_rmtree(dir);
}

/* ---- what is on disk is checked, not trusted ---------------------------------------- */

/* Opens the store's LMDB environment directly (the store closed) and writes or
 * deletes one raw record: a corruption a crash, a disk or a hand could leave. */
static void raw_edit(const char *dir, const char *db, const void *key, size_t klen, const void *val,
                     size_t vlen)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    assert_int_equal(mdb_env_create(&env), 0);
    assert_int_equal(mdb_env_set_maxdbs(env, 4), 0);
    assert_int_equal(mdb_env_set_mapsize(env, (size_t)16 << 30), 0);
    assert_int_equal(mdb_env_open(env, dir, MDB_NOTLS, 0600), 0);
    assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
    assert_int_equal(mdb_dbi_open(txn, db, 0, &dbi), 0);
    MDB_val k = {klen, (void *)key}, v = {vlen, (void *)val};
    if (val)
        assert_int_equal(mdb_put(txn, dbi, &k, &v, 0), 0);
    else
        assert_int_equal(mdb_del(txn, dbi, &k, NULL), 0);
    assert_int_equal(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
}

static void le64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void be64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * (7 - i)));
}

/* A store with term 2, vote 1 and entries 1..3, closed. */
static char *store_with_entries(void)
{
    char *dir = helper_tmpdir("corrupt");
    cons_store *s = open_store(dir);
    assert_int_equal(cons_store_set_term(s, 2), 0);
    assert_int_equal(cons_store_set_vote(s, 1), 0);
    append_n(s, 1, 3, 2);
    cons_store_close(s);
    return dir;
}

/* What opening and loading the store answers: RAFT_CORRUPT (or another
 * error) with a message, never a crash or entries raft would trip on. */
static int open_and_load(const char *dir, char *msg, size_t msg_len)
{
    cons_store *s = NULL;
    int rc = cons_store_open(&s, dir, msg, msg_len);
    if (rc)
        return rc;
    loaded l = {0};
    rc = cons_store_load(s, &l.term, &l.vote, &l.snap, &l.start, &l.e, &l.n);
    if (rc == 0)
        unload(&l);
    else
        snprintf(msg, msg_len, "%s", cons_store_errmsg(s));
    cons_store_close(s);
    return rc;
}

static void expect_corrupt(char *dir, const char *want)
{
    char msg[512] = "";
    int rc = open_and_load(dir, msg, sizeof msg);
    if (rc != RAFT_CORRUPT || !strstr(msg, want))
        fail_msg("got %d \"%s\", want RAFT_CORRUPT \"%s\"", rc, msg, want);
    helper_rmtree(dir);
}

static void test_store_corrupt_meta_refused(void **state)
{
    (void)state;
    char *dir = store_with_entries();
    raw_edit(dir, "meta", "term", 4, "abc", 3);
    expect_corrupt(dir, "meta term: 3 bytes");
    dir = store_with_entries();
    raw_edit(dir, "meta", "vote", 4, "123456789", 9);
    expect_corrupt(dir, "meta vote: 9 bytes");
}

static void test_store_corrupt_log_refused(void **state)
{
    (void)state;
    uint8_t key[8], val[16];
    /* a key that is not an index: the last key is read at open */
    char *dir = store_with_entries();
    raw_edit(dir, "log", "zzzz", 4, "x", 1);
    expect_corrupt(dir, "log key of 4 bytes");
    /* a hole in the log */
    dir = store_with_entries();
    be64(key, 2);
    raw_edit(dir, "log", key, 8, NULL, 0);
    expect_corrupt(dir, "log gap: 3 after 1");
    /* a record shorter than its header */
    dir = store_with_entries();
    raw_edit(dir, "log", key, 8, "abc", 3);
    expect_corrupt(dir, "log record of 8/3 bytes");
    /* term 0, and an unknown entry type */
    for (int k = 0; k < 2; k++) {
        dir = store_with_entries();
        le64(val, k ? 2 : 0);
        val[8] = k ? 9 : RAFT_COMMAND;
        raw_edit(dir, "log", key, 8, val, 10);
        expect_corrupt(dir, "entry 2: bad term/type");
    }
}

static void test_store_corrupt_snapshot_refused(void **state)
{
    (void)state;
    uint8_t snap[28 + 64] = {0};
    /* shorter than a snapshot header; with no log, open reads it */
    char *dir = helper_tmpdir("corrupt");
    cons_store *s = open_store(dir);
    cons_store_close(s);
    raw_edit(dir, "meta", "snap", 4, snap, 5);
    expect_corrupt(dir, "snapshot: 5 bytes");
    /* a header whose configuration length is 0 */
    dir = helper_tmpdir("corrupt");
    s = open_store(dir);
    cons_store_close(s);
    le64(snap, 10);
    raw_edit(dir, "meta", "snap", 4, snap, 28);
    expect_corrupt(dir, "snapshot: bad header");
    /* a good snapshot at 10 while the log is 1..3: raft would see a hole */
    struct raft_configuration conf;
    raft_configuration_init(&conf);
    assert_int_equal(raft_configuration_add(&conf, 1, "tcp://127.0.0.1:1", RAFT_VOTER), 0);
    struct raft_buffer enc;
    assert_int_equal(raft_configuration_encode(&conf, &enc), 0);
    raft_configuration_close(&conf);
    assert_true(enc.len <= 64);
    le64(snap, 10);
    le64(snap + 8, 2);
    le64(snap + 16, 1);
    snap[24] = (uint8_t)enc.len;
    memcpy(snap + 28, enc.base, enc.len);
    dir = store_with_entries();
    raw_edit(dir, "meta", "snap", 4, snap, 28 + enc.len);
    expect_corrupt(dir, "does not meet snapshot 10");
    /* its configuration damaged: a role byte no server has, then a count of
     * two servers over the bytes of one (libraft's own decoder would read
     * past the value) */
    for (int k = 0; k < 2; k++) {
        uint8_t bad[28 + 64];
        memcpy(bad, snap, 28 + enc.len);
        uint8_t *conf = bad + 28;
        if (k == 0) {
            /* format | count | id | "tcp://127.0.0.1:1\0" | role */
            conf[1 + 8 + 8 + strlen("tcp://127.0.0.1:1") + 1] = 9;
        } else {
            conf[1] = 2;
        }
        dir = helper_tmpdir("corrupt");
        s = open_store(dir);
        cons_store_close(s);
        raw_edit(dir, "meta", "snap", 4, bad, 28 + enc.len);
        expect_corrupt(dir, "snapshot configuration");
    }
    raft_free(enc.base);
}

/* A data directory that cannot hold an environment (a file in its place) is
 * refused at open with the path and LMDB's reason. */
static void test_store_open_on_a_file_refused(void **state)
{
    (void)state;
    char *dir = helper_tmpdir("notadir");
    char path[512];
    snprintf(path, sizeof path, "%s/file", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fclose(f);
    cons_store *s = NULL;
    char msg[512] = "";
    assert_int_equal(cons_store_open(&s, path, msg, sizeof msg), RAFT_IOERR);
    assert_non_null(strstr(msg, path));
    assert_null(s);
    helper_rmtree(dir);
}

/* Writes past a file-size limit fail (EFBIG, as a full or failing disk would
 * fail them; RLIMIT_FSIZE binds root too, unlike a read-only directory). */
static struct rlimit fsize_saved;
static void fsize_limit(rlim_t bytes)
{
    signal(SIGXFSZ, SIG_IGN);
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &fsize_saved), 0);
    struct rlimit r = fsize_saved;
    r.rlim_cur = bytes;
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &r), 0);
}
static void fsize_restore(void)
{
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &fsize_saved), 0);
}

/* A write that cannot reach the disk fails RAFT_IOERR naming the step, and
 * changes nothing: not the cached last index, not the term, vote, log or
 * snapshot a reload sees; once the disk takes writes again the same store
 * goes on from where it was. */
static void test_store_failed_write_changes_nothing(void **state)
{
    (void)state;
    char *dir = store_with_entries(); /* term 2, vote 1, entries 1..3 */
    cons_store *s = open_store(dir);
    fsize_limit(2 * 4096); /* the two meta pages, no data page */
    struct raft_entry e = {.term = 3, .type = RAFT_COMMAND, .buf = {"x", 1}};
    cons_store_op ap = {.type = CONS_OP_APPEND, .append = {&e, 1}};
    int rc = cons_store_write(s, &ap, 1);
    const char *msg = cons_store_errmsg(s);
    if (rc != RAFT_IOERR || !strstr(msg, "lmdb commit"))
        fail_msg("append: %d \"%s\", want RAFT_IOERR \"lmdb commit\"", rc, msg);
    assert_int_equal(cons_store_last_index(s), 3);
    assert_int_equal(cons_store_set_term(s, 3), RAFT_IOERR);
    assert_int_equal(cons_store_set_vote(s, 2), RAFT_IOERR);
    cons_store_op tr = {.type = CONS_OP_TRUNCATE, .truncate = {2}};
    assert_int_equal(cons_store_write(s, &tr, 1), RAFT_IOERR);
    assert_int_equal(cons_store_last_index(s), 3);
    struct raft_snapshot *snap = make_snap(3, 2, "state");
    cons_store_op sn = {.type = CONS_OP_SNAPSHOT, .snapshot = {snap, 0}};
    assert_int_equal(cons_store_write(s, &sn, 1), RAFT_IOERR);
    assert_int_equal(cons_store_last_index(s), 3);
    /* a store opened while nothing can be written fails at open, naming the directory */
    char *fresh = helper_tmpdir("efbig");
    cons_store *s2 = NULL;
    char err[512] = "";
    assert_int_equal(cons_store_open(&s2, fresh, err, sizeof err), RAFT_IOERR);
    assert_null(s2);
    assert_non_null(strstr(err, fresh));
    fsize_restore();
    loaded l = {0};
    load(s, &l);
    assert_int_equal(l.term, 2);
    assert_int_equal(l.vote, 1);
    assert_null(l.snap);
    assert_int_equal(l.n, 3);
    unload(&l);
    /* the disk is back: the same store appends 4 */
    assert_int_equal(cons_store_write(s, &ap, 1), 0);
    assert_int_equal(cons_store_last_index(s), 4);
    assert_int_equal(cons_store_write(s, &sn, 1), 0);
    raft_configuration_close(&snap->configuration);
    cons_store_close(s);
    s = open_store(dir);
    load(s, &l);
    assert_int_equal(l.n, 0); /* the installed snapshot replaced the log */
    assert_non_null(l.snap);
    assert_int_equal(l.snap->index, 3);
    assert_int_equal(l.start, 4);
    unload(&l);
    cons_store_close(s);
    helper_rmtree(fresh);
    helper_rmtree(dir);
}

/* Operations the store does not know, and a truncation at 0, are refused
 * RAFT_INVALID and leave the batch unwritten. */
static void test_store_invalid_ops_refused(void **state)
{
    (void)state;
    char *dir = store_with_entries();
    cons_store *s = open_store(dir);
    struct raft_entry e = {.term = 3, .type = RAFT_COMMAND, .buf = {"y", 1}};
    cons_store_op ops[2] = {{.type = CONS_OP_APPEND, .append = {&e, 1}},
                            {.type = CONS_OP_TRUNCATE, .truncate = {0}}};
    assert_int_equal(cons_store_write(s, ops, 2), RAFT_INVALID);
    assert_non_null(strstr(cons_store_errmsg(s), "truncate at 0"));
    ops[1].type = (int)99;
    assert_int_equal(cons_store_write(s, ops, 2), RAFT_INVALID);
    assert_non_null(strstr(cons_store_errmsg(s), "unknown op 99"));
    assert_int_equal(cons_store_last_index(s), 3);
    loaded l = {0};
    load(s, &l);
    assert_int_equal(l.n, 3); /* the append before the bad op was not kept */
    unload(&l);
    cons_store_close(s);
    helper_rmtree(dir);
}

/* Edges of the write batch: an entry with no data, a truncation past the
 * end, a snapshot whose trailing count reaches back past the log's start, a
 * snapshot of no data; and bootstrap refused once a log exists. */
static void test_store_write_edges(void **state)
{
    (void)state;
    char *dir = helper_tmpdir("edges");
    cons_store *s = open_store(dir);
    struct raft_entry e[2] = {{.term = 1, .type = RAFT_BARRIER, .buf = {NULL, 0}},
                              {.term = 1, .type = RAFT_COMMAND, .buf = {"x", 1}}};
    cons_store_op ap = {.type = CONS_OP_APPEND, .append = {e, 2}};
    assert_int_equal(cons_store_write(s, &ap, 1), 0);
    assert_int_equal(cons_store_last_index(s), 2);
    /* term 0, a log: bootstrap would overwrite it */
    struct raft_configuration conf;
    raft_configuration_init(&conf);
    assert_int_equal(raft_configuration_add(&conf, 1, "tcp://127.0.0.1:1", RAFT_VOTER), 0);
    assert_int_equal(cons_store_bootstrap(s, &conf), RAFT_CANTBOOTSTRAP);
    raft_configuration_close(&conf);
    /* truncating past the end deletes nothing */
    cons_store_op tr = {.type = CONS_OP_TRUNCATE, .truncate = {10}};
    assert_int_equal(cons_store_write(s, &tr, 1), 0);
    assert_int_equal(cons_store_last_index(s), 2);
    /* a snapshot at 2 keeping 5 trailing entries keeps both */
    struct raft_snapshot *snap = make_snap(2, 1, "");
    cons_store_op sn = {.type = CONS_OP_SNAPSHOT, .snapshot = {snap, 5}};
    assert_int_equal(cons_store_write(s, &sn, 1), 0);
    raft_configuration_close(&snap->configuration);
    cons_store_close(s);
    s = open_store(dir);
    loaded l = {0};
    load(s, &l);
    assert_int_equal(l.n, 2);
    assert_int_equal(l.e[0].type, RAFT_BARRIER);
    assert_int_equal(l.e[0].buf.len, 0);
    assert_non_null(l.snap);
    assert_int_equal(l.snap->index, 2);
    assert_int_equal(l.snap->bufs[0].len, 0);
    assert_int_equal(l.start, 1);
    unload(&l);
    cons_store_close(s);
    helper_rmtree(dir);
}

/* More damage read back as RAFT_CORRUPT: a key shorter than an index ahead
 * of the log, an entry type below the first, a snapshot header of index 0 or
 * claiming more configuration than it holds, and a log that starts after
 * the entry following the snapshot. */
static void test_store_more_corruption_refused(void **state)
{
    (void)state;
    uint8_t val[16];
    char *dir = store_with_entries();
    raw_edit(dir, "log", "\x00", 1, "x", 1);
    expect_corrupt(dir, "log record of 1/1 bytes");
    dir = store_with_entries();
    uint8_t key[8];
    be64(key, 2);
    le64(val, 2);
    val[8] = 0; /* no entry type is 0 */
    raw_edit(dir, "log", key, 8, val, 10);
    expect_corrupt(dir, "entry 2: bad term/type");
    /* snapshot headers: index 0; a configuration longer than the value */
    uint8_t snap[28 + 8] = {0};
    for (int k = 0; k < 2; k++) {
        dir = helper_tmpdir("corrupt");
        cons_store *s = open_store(dir);
        cons_store_close(s);
        memset(snap, 0, sizeof snap);
        le64(snap, k ? 5 : 0);
        snap[24] = k ? 9 : 8; /* conf_len: 9 > the 8 bytes there */
        raw_edit(dir, "meta", "snap", 4, snap, sizeof snap);
        expect_corrupt(dir, "snapshot: bad header");
    }
    /* log 4..5 kept behind a snapshot at 5, the snapshot then relabelled 2 */
    dir = helper_tmpdir("corrupt");
    cons_store *s = open_store(dir);
    append_n(s, 1, 5, 1);
    struct raft_snapshot *sn = make_snap(5, 1, "state@5");
    cons_store_op op = {.type = CONS_OP_SNAPSHOT, .snapshot = {sn, 2}};
    assert_int_equal(cons_store_write(s, &op, 1), 0);
    raft_configuration_close(&sn->configuration);
    struct raft_snapshot *got = NULL;
    assert_int_equal(cons_store_snapshot_get(s, &got), 0);
    cons_store_close(s);
    struct raft_buffer conf;
    assert_int_equal(raft_configuration_encode(&got->configuration, &conf), 0);
    uint8_t raw[28 + 64 + 16];
    assert_true(conf.len <= 64);
    le64(raw, 2);
    le64(raw + 8, 1);
    le64(raw + 16, 1);
    memset(raw + 24, 0, 4);
    raw[24] = (uint8_t)conf.len;
    memcpy(raw + 28, conf.base, conf.len);
    raft_free(conf.base);
    cons_store_snapshot_free(got);
    raw_edit(dir, "meta", "snap", 4, raw, 28 + conf.len);
    expect_corrupt(dir, "log [4..] does not meet snapshot 2");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_store_empty_load),
        cmocka_unit_test(test_store_term_and_vote_survive_reopen),
        cmocka_unit_test(test_store_bootstrap_once),
        cmocka_unit_test(test_store_append_group_and_reload),
        cmocka_unit_test(test_store_truncate_then_append_in_one_txn),
        cmocka_unit_test(test_store_snapshot_keeps_trailing),
        cmocka_unit_test(test_store_installed_snapshot_replaces_log),
        cmocka_unit_test(test_store_survives_crash_without_close),
        cmocka_unit_test(test_store_corrupt_meta_refused),
        cmocka_unit_test(test_store_corrupt_log_refused),
        cmocka_unit_test(test_store_corrupt_snapshot_refused),
        cmocka_unit_test(test_store_open_on_a_file_refused),
        cmocka_unit_test(test_store_failed_write_changes_nothing),
        cmocka_unit_test(test_store_invalid_ops_refused),
        cmocka_unit_test(test_store_write_edges),
        cmocka_unit_test(test_store_more_corruption_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
