/*
 * test_api.c — the edges of consensus.h: configuration refused with a clear
 * error, every cons_submit refusal (empty, too large, no leader, queue full at
 * queue_max + 1, stopped), a garbage frame on the raft port counted and
 * survived, a failing FSM apply halting the node, leader_changed delivered
 * after the barrier; what build() returns checked, builds of more than 1024
 * txs; snapshots the FSM cannot give skipped, a failed restore halting.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <lmdb.h>
#include <nng/nng.h>
#include <nng/protocol/pipeline0/push.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <signal.h>
#include <sys/resource.h>

#include "consensus/consensus.h"
#include "helper_util.h"

typedef struct fsm1 {
    pthread_mutex_t mu;
    uint64_t applied;
    int fail_apply;  /* apply returns this */
    bool fail_build; /* build refuses: queue never drains */
    int leader_true, leader_false;
    unsigned builds;
    /* build's answer, when set: how many txs it used (-1: all), the block
     * length it reports (0: 8); drop_tx: a tx build never fits (used 0) */
    long used_override;
    size_t len_override;
    bool empty; /* build returns a block of 0 bytes */
    const char *drop_tx;
    unsigned drop_seen;
    size_t max_n; /* most txs offered to one build */
    int snap_mode;  /* snapshot: 0 taken, 1 fails, 2 reports CONS_MSG_MAX - 4096 + 1 bytes */
    unsigned snaps_asked, snaps_given;
    bool fail_restore;
    unsigned restores;
} fsm1;

static int f_apply(void *ctx, uint64_t index, const void *data, size_t len)
{
    fsm1 *f = ctx;
    (void)data;
    (void)len;
    pthread_mutex_lock(&f->mu);
    f->applied = index;
    int rv = f->fail_apply;
    pthread_mutex_unlock(&f->mu);
    return rv;
}
static uint64_t f_applied(void *ctx)
{
    fsm1 *f = ctx;
    pthread_mutex_lock(&f->mu);
    uint64_t a = f->applied;
    pthread_mutex_unlock(&f->mu);
    return a;
}
static int f_snapshot(void *ctx, void **buf, size_t *len)
{
    fsm1 *f = ctx;
    pthread_mutex_lock(&f->mu);
    int mode = f->snap_mode;
    f->snaps_asked++;
    f->snaps_given += mode == 0;
    uint64_t applied = f->applied;
    pthread_mutex_unlock(&f->mu);
    if (mode == 1)
        return -1;
    *buf = malloc(8);
    memcpy(*buf, &applied, 8);
    *len = mode == 2 ? CONS_MSG_MAX - 4096 + 1 : 8; /* too big: never read */
    return 0;
}
static int f_restore(void *ctx, const void *buf, size_t len)
{
    fsm1 *f = ctx;
    pthread_mutex_lock(&f->mu);
    int rv = f->fail_restore ? -1 : 0;
    if (!rv) {
        assert_int_equal(len, 8);
        memcpy(&f->applied, buf, 8);
        f->restores++;
    }
    pthread_mutex_unlock(&f->mu);
    return rv;
}
static int f_build(void *ctx, const void *const *txs, const size_t *lens, size_t n, void **out,
                   size_t *out_len, size_t *used)
{
    fsm1 *f = ctx;
    pthread_mutex_lock(&f->mu);
    bool fail = f->fail_build;
    f->builds++;
    if (n > f->max_n)
        f->max_n = n;
    long used_override = f->used_override;
    size_t len_override = f->empty ? 0 : f->len_override ? f->len_override : 8;
    bool drop = f->drop_tx && lens[0] == strlen(f->drop_tx) &&
                memcmp(txs[0], f->drop_tx, lens[0]) == 0;
    f->drop_seen += drop;
    pthread_mutex_unlock(&f->mu);
    if (fail)
        return -1;
    *out = malloc(8);
    memset(*out, 0, 8);
    *out_len = len_override;
    *used = drop ? 0 : used_override >= 0 ? (size_t)used_override : n;
    return 0;
}
static void f_leader(void *ctx, bool is_leader)
{
    fsm1 *f = ctx;
    pthread_mutex_lock(&f->mu);
    if (is_leader)
        f->leader_true++;
    else
        f->leader_false++;
    pthread_mutex_unlock(&f->mu);
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static cons_config base_config(const char *dir, fsm1 *f, int port)
{
    f->used_override = -1;
    cons_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.id = 1;
    cfg.data_dir = dir;
    cfg.npeers = 1;
    cfg.peers[0].id = 1;
    snprintf(cfg.peers[0].addr, sizeof cfg.peers[0].addr, "tcp://127.0.0.1:%d", port);
    cfg.queue_max = 8;
    cfg.fsm = (cons_fsm){.ctx = f,
                         .apply = f_apply,
                         .applied_index = f_applied,
                         .snapshot = f_snapshot,
                         .restore = f_restore,
                         .build = f_build,
                         .leader_changed = f_leader};
    return cfg;
}

static void wait_role(cons *c, int role)
{
    for (int i = 0; i < 500; i++) {
        cons_status st;
        cons_status_get(c, &st);
        if (st.role == role && st.leader_id)
            return;
        sleep_ms(10);
    }
    fail_msg("role %d not reached", role);
}

static void test_api_bad_config_refused_with_message(void **state)
{
    (void)state;
    char *dir = helper_tmpdir("api");
    fsm1 f = {.mu = PTHREAD_MUTEX_INITIALIZER};
    cons *c = NULL;
    char err[256];
    cons_config cfg = base_config(dir, &f, helper_free_port());
    cfg.id = 2; /* not among peers */
    assert_int_equal(cons_start(&c, &cfg, err, sizeof err), CONS_ERR_INVALID);
    assert_non_null(strstr(err, "own id"));
    assert_null(c);
    cfg = base_config(dir, &f, helper_free_port());
    cfg.fsm.build = NULL;
    assert_int_equal(cons_start(&c, &cfg, err, sizeof err), CONS_ERR_INVALID);
    cfg = base_config(dir, &f, helper_free_port());
    cfg.peers[1] = cfg.peers[0];
    cfg.npeers = 2;
    assert_int_equal(cons_start(&c, &cfg, err, sizeof err), CONS_ERR_INVALID);
    cfg = base_config("/nonexistent/dir", &f, helper_free_port());
    assert_int_equal(cons_start(&c, &cfg, err, sizeof err), CONS_ERR_IO);
    cfg = base_config(dir, &f, helper_free_port());
    snprintf(cfg.peers[0].addr, sizeof cfg.peers[0].addr, "bogus://x");
    assert_int_equal(cons_start(&c, &cfg, err, sizeof err), CONS_ERR_NET);
    assert_null(c);
    assert_string_equal(cons_strerror(CONS_ERR_QUEUE_FULL), "transaction queue full");
    assert_string_equal(cons_strerror(12345), "unknown error");
    assert_string_equal(cons_role_name(2), "leader");
    helper_rmtree(dir);
}

/* Each configuration error, one at a time on a good configuration: refused
 * with its code and a message naming it, nothing started; the length bounds
 * (a peer address of CONS_ADDR_MAX - 1 characters, a data directory whose
 * raft path just fits) get past their check and fail only later. */
static void test_api_config_table(void **state)
{
    (void)state;
    char *dir = helper_tmpdir("apicfg");
    fsm1 f = {.mu = PTHREAD_MUTEX_INITIALIZER};
    static char longdir[4200], longtls[4200];
    enum {
        C_ID0,
        C_NODIR,
        C_NOPEERS,
        C_MANYPEERS,
        C_APPLY,
        C_APPLIED,
        C_SNAP,
        C_RESTORE,
        C_PEER0,
        C_EMPTYADDR,
        C_ADDRFULL,
        C_ADDRMAX,
        C_DUPADDR,
        C_DIRLONG,
        C_DIRMAX,
        C_TLSLONG,
        C_TLSMISSING,
        C_TLSFILE
    };
    static const struct {
        int what, rc;
        const char *want;
    } cases[] = {
        {C_ID0, CONS_ERR_INVALID, "need id > 0"},
        {C_NODIR, CONS_ERR_INVALID, "need id > 0, data_dir"},
        {C_NOPEERS, CONS_ERR_INVALID, "1..16 peers"},
        {C_MANYPEERS, CONS_ERR_INVALID, "1..16 peers"},
        {C_APPLY, CONS_ERR_INVALID, "fsm apply/applied_index"},
        {C_APPLIED, CONS_ERR_INVALID, "fsm apply/applied_index"},
        {C_SNAP, CONS_ERR_INVALID, "fsm apply/applied_index"},
        {C_RESTORE, CONS_ERR_INVALID, "fsm apply/applied_index"},
        {C_PEER0, CONS_ERR_INVALID, "peer 1: bad id or address"},
        {C_EMPTYADDR, CONS_ERR_INVALID, "peer 0: bad id or address"},
        {C_ADDRFULL, CONS_ERR_INVALID, "peer 0: bad id or address"},
        {C_ADDRMAX, CONS_ERR_NET, ""},
        {C_DUPADDR, CONS_ERR_INVALID, "listed twice"},
        {C_DIRLONG, CONS_ERR_INVALID, "data_dir too long"},
        {C_DIRMAX, CONS_ERR_IO, "mkdir"},
        {C_TLSLONG, CONS_ERR_INVALID, "TLS key file name too long"},
        {C_TLSMISSING, CONS_ERR_INVALID, "a TLS key is given, so the address must be tls+tcp://"},
        {C_TLSFILE, CONS_ERR_INVALID, "/nonexistent/node.tls: No such file"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        cons_config cfg = base_config(dir, &f, helper_free_port());
        switch (cases[i].what) {
        case C_ID0:
            cfg.id = 0;
            break;
        case C_NODIR:
            cfg.data_dir = NULL;
            break;
        case C_NOPEERS:
            cfg.npeers = 0;
            break;
        case C_MANYPEERS:
            cfg.npeers = CONS_PEERS_MAX + 1;
            break;
        case C_APPLY:
            cfg.fsm.apply = NULL;
            break;
        case C_APPLIED:
            cfg.fsm.applied_index = NULL;
            break;
        case C_SNAP:
            cfg.fsm.snapshot = NULL;
            break;
        case C_RESTORE:
            cfg.fsm.restore = NULL;
            break;
        case C_PEER0:
            cfg.npeers = 2;
            snprintf(cfg.peers[1].addr, sizeof cfg.peers[1].addr, "tcp://127.0.0.1:1");
            break;
        case C_EMPTYADDR:
            cfg.peers[0].addr[0] = '\0';
            break;
        case C_ADDRFULL: /* no NUL in the whole field */
            memset(cfg.peers[0].addr, 'a', CONS_ADDR_MAX);
            break;
        case C_ADDRMAX: /* CONS_ADDR_MAX - 1 characters and the NUL: taken, nng refuses it */
            memset(cfg.peers[0].addr, 'a', CONS_ADDR_MAX - 1);
            cfg.peers[0].addr[CONS_ADDR_MAX - 1] = '\0';
            memcpy(cfg.peers[0].addr, "tcp://", 6);
            break;
        case C_DUPADDR:
            cfg.npeers = 2;
            cfg.peers[1] = cfg.peers[0];
            cfg.peers[1].id = 2;
            break;
        case C_DIRLONG: /* 4090 characters: its raft path would not fit in 4096 */
        case C_DIRMAX:  /* 4089: the longest taken; then mkdir refuses the name */
            memset(longdir, 'd', sizeof longdir);
            longdir[0] = '/';
            longdir[4089 + (cases[i].what == C_DIRLONG)] = '\0';
            cfg.data_dir = longdir;
            break;
        case C_TLSLONG:
            memset(longtls, 't', sizeof longtls - 1);
            longtls[4096] = '\0';
            cfg.tls_file = longtls;
            break;
        case C_TLSMISSING:
            cfg.tls_file = "/nonexistent/node.tls";
            break;
        case C_TLSFILE:
            cfg.tls_file = "/nonexistent/node.tls";
            memmove(cfg.peers[0].addr + 4, cfg.peers[0].addr, strlen(cfg.peers[0].addr) + 1);
            memcpy(cfg.peers[0].addr, "tls+", 4);
            break;
        }
        cons *c = NULL;
        char err[512] = "";
        int rc = cons_start(&c, &cfg, err, sizeof err);
        if (rc != cases[i].rc || !strstr(err, cases[i].want))
            fail_msg("case %zu: %d \"%s\", want %d \"%s\"", i, rc, err, cases[i].rc, cases[i].want);
        assert_null(c);
    }
    /* every code has its own words */
    for (int a = CONS_OK; a <= CONS_ERR_MALFORMED; a++) {
        assert_string_not_equal(cons_strerror(a), "unknown error");
        for (int b = CONS_OK; b < a; b++)
            assert_string_not_equal(cons_strerror(a), cons_strerror(b));
    }
    assert_string_equal(cons_role_name(0), "follower");
    assert_string_equal(cons_role_name(1), "candidate");
    assert_string_equal(cons_role_name(-1), "unknown");
    helper_rmtree(dir);
}

static void test_api_submit_refusals(void **state)
{
    (void)state;
    char *dir = helper_tmpdir("api");
    fsm1 f = {.mu = PTHREAD_MUTEX_INITIALIZER, .fail_build = true};
    cons *c = NULL;
    char err[256];
    /* two voters, only one running: no leader can be elected */
    cons_config cfg = base_config(dir, &f, helper_free_port());
    cfg.npeers = 2;
    cfg.peers[1].id = 2;
    snprintf(cfg.peers[1].addr, sizeof cfg.peers[1].addr, "tcp://127.0.0.1:%d", helper_free_port());
    assert_int_equal(cons_start(&c, &cfg, err, sizeof err), CONS_OK);
    assert_int_equal(cons_submit(c, "x", 0), CONS_ERR_INVALID);
    assert_int_equal(cons_submit(c, NULL, 1), CONS_ERR_INVALID);
    assert_int_equal(cons_submit(NULL, "x", 1), CONS_ERR_INVALID);
    uint8_t *big = calloc(1, CONS_TX_MAX + 1);
    assert_int_equal(cons_submit(c, big, CONS_TX_MAX + 1), CONS_ERR_TOO_LARGE);
    free(big);
    sleep_ms(300);
    assert_int_equal(cons_submit(c, "x", 1), CONS_ERR_NO_LEADER);
    cons_stop(c);
    helper_rmtree(dir);

    /* single voter: leader at once; build refuses, so the queue fills */
    dir = helper_tmpdir("api");
    cfg = base_config(dir, &f, helper_free_port());
    assert_int_equal(cons_start(&c, &cfg, err, sizeof err), CONS_OK);
    wait_role(c, 2);
    for (size_t i = 0; i < cfg.queue_max; i++)
        assert_int_equal(cons_submit(c, "tx", 2), CONS_OK);
    sleep_ms(50); /* txs moved to the block stage still count */
    assert_int_equal(cons_submit(c, "tx", 2), CONS_ERR_QUEUE_FULL);
    pthread_mutex_lock(&f.mu);
    f.fail_build = false; /* now the queue drains */
    pthread_mutex_unlock(&f.mu);
    for (int i = 0; i < 200; i++) {
        cons_status st;
        cons_status_get(c, &st);
        if (st.queued == 0 && st.blocks_proposed > 0)
            break;
        sleep_ms(10);
    }
    assert_int_equal(cons_submit(c, "tx", 2), CONS_OK);
    cons_stop(c);
    helper_rmtree(dir);
}


static cons_status status_of(cons *c)
{
    cons_status st;
    cons_status_get(c, &st);
    return st;
}

/* Waits until cond(c, f) holds (up to ~10 s on a loaded machine). */
static bool wait_for(cons *c, fsm1 *f, bool (*cond)(cons *, fsm1 *))
{
    for (int i = 0; i < 1000; i++) {
        if (cond(c, f))
            return true;
        sleep_ms(10);
    }
    return false;
}
static bool drained(cons *c, fsm1 *f)
{
    (void)f;
    cons_status st = status_of(c);
    return st.queued == 0 && st.blocks_proposed > 0;
}
static bool retried(cons *c, fsm1 *f)
{
    (void)c;
    pthread_mutex_lock(&f->mu);
    bool r = f->builds >= 3;
    pthread_mutex_unlock(&f->mu);
    return r;
}

/* What build() returns is checked: a block claiming more txs than offered,
 * an empty block or one over CONS_ENTRY_MAX is refused (nothing proposed,
 * the txs kept and offered again), and a tx that fits no block (used 0) is
 * dropped alone, the next one still proposed. */
static void test_api_build_results_checked(void **state)
{
    (void)state;
    for (int k = 0; k < 3; k++) {
        char *dir = helper_tmpdir("apibuild");
        fsm1 f = {.mu = PTHREAD_MUTEX_INITIALIZER};
        cons_config cfg = base_config(dir, &f, helper_free_port());
        /* explicit timings (heartbeat not below election: corrected) and
         * block size: still a leader and blocks */
        cfg.heartbeat_ms = 100;
        cfg.election_ms = 100;
        cfg.block_max_bytes = 4096;
        cfg.block_linger_us = 1000;
        if (k == 0)
            f.used_override = 5; /* of 1 offered */
        else if (k == 1)
            f.empty = true;
        else
            f.len_override = (size_t)CONS_ENTRY_MAX + 1;
        cons *c = NULL;
        char err[256];
        assert_int_equal(cons_start(&c, &cfg, err, sizeof err), CONS_OK);
        wait_role(c, 2);
        assert_int_equal(cons_submit(c, "tx", 2), CONS_OK);
        assert_true(wait_for(c, &f, retried));
        cons_status st = status_of(c);
        assert_int_equal(st.blocks_proposed, 0);
        assert_int_equal(st.queued, 1);
        pthread_mutex_lock(&f.mu);
        f.used_override = -1;
        f.empty = false;
        f.len_override = 0;
        pthread_mutex_unlock(&f.mu);
        assert_true(wait_for(c, &f, drained));
        cons_stop(c);
        helper_rmtree(dir);
    }

    /* a tx that fits no block: dropped, once, and the queue moves on */
    char *dir = helper_tmpdir("apibuild");
    fsm1 f = {.mu = PTHREAD_MUTEX_INITIALIZER};
    cons_config cfg = base_config(dir, &f, helper_free_port());
    f.drop_tx = "huge";
    cons *c = NULL;
    char err[256];
    assert_int_equal(cons_start(&c, &cfg, err, sizeof err), CONS_OK);
    wait_role(c, 2);
    assert_int_equal(cons_submit(c, "huge", 4), CONS_OK);
    assert_int_equal(cons_submit(c, "tx", 2), CONS_OK);
    assert_true(wait_for(c, &f, drained));
    pthread_mutex_lock(&f.mu);
    assert_int_equal(f.drop_seen, 1);
    pthread_mutex_unlock(&f.mu);
    cons_stop(c);
    helper_rmtree(dir);
}

static unsigned snaps_asked(fsm1 *f)
{
    pthread_mutex_lock(&f->mu);
    unsigned n = f->snaps_asked;
    pthread_mutex_unlock(&f->mu);
    return n;
}

/* Submits txs one block at a time until the FSM has been asked for a
 * snapshot `more` more times (at most 400 blocks). */
static void blocks_until_snapshots(cons *c, fsm1 *f, unsigned more)
{
    unsigned want = snaps_asked(f) + more;
    for (int i = 0; i < 400 && snaps_asked(f) < want; i++) {
        cons_status before = status_of(c);
        assert_false(before.stopped);
        assert_int_equal(cons_submit(c, "tx", 2), CONS_OK);
        for (int k = 0; k < 500; k++) {
            cons_status st = status_of(c);
            if (st.last_applied > before.last_applied && st.queued == 0)
                break;
            sleep_ms(2);
        }
    }
    assert_true(snaps_asked(f) >= want);
}

static bool stopped(cons *c, fsm1 *f)
{
    (void)f;
    return status_of(c).stopped;
}

/* A snapshot the FSM cannot give (an error, or over CONS_MSG_MAX - 4096
 * bytes) is not taken and the node goes on; a taken one comes back at the
 * next start when the FSM lost its state, and a restore that fails then
 * halts the node instead of running it on a state it does not have. */
static void test_api_snapshot_failures(void **state)
{
    (void)state;
    char *dir = helper_tmpdir("apisnap");
    fsm1 f = {.mu = PTHREAD_MUTEX_INITIALIZER, .snap_mode = 1};
    cons_config cfg = base_config(dir, &f, helper_free_port());
    cfg.snapshot_threshold = 8;
    cfg.snapshot_trailing = 2;
    cons *c = NULL;
    char err[256];
    assert_int_equal(cons_start(&c, &cfg, err, sizeof err), CONS_OK);
    wait_role(c, 2);
    blocks_until_snapshots(c, &f, 2);
    pthread_mutex_lock(&f.mu);
    f.snap_mode = 2;
    pthread_mutex_unlock(&f.mu);
    blocks_until_snapshots(c, &f, 2);
    pthread_mutex_lock(&f.mu);
    assert_int_equal(f.snaps_given, 0);
    f.snap_mode = 0;
    pthread_mutex_unlock(&f.mu);
    blocks_until_snapshots(c, &f, 1);
    cons_status st = status_of(c);
    assert_false(st.stopped);
    uint64_t applied = st.last_applied;
    cons_stop(c);
    pthread_mutex_lock(&f.mu);
    assert_true(f.snaps_given >= 1);
    assert_int_equal(f.restores, 0);
    pthread_mutex_unlock(&f.mu);

    /* the FSM lost its state and cannot restore: halted */
    f.applied = 0;
    f.fail_restore = true;
    c = NULL;
    int rc = cons_start(&c, &cfg, err, sizeof err);
    if (rc == CONS_OK) {
        assert_true(wait_for(c, &f, stopped));
        assert_int_equal(cons_submit(c, "tx", 2), CONS_ERR_STOPPED);
        cons_stop(c);
    }
    assert_int_equal(f.restores, 0);

    /* restored: from the snapshot, then the log after it */
    f.applied = 0;
    f.fail_restore = false;
    assert_int_equal(cons_start(&c, &cfg, err, sizeof err), CONS_OK);
    wait_role(c, 2);
    for (int i = 0; i < 1000 && status_of(c).last_applied < applied; i++)
        sleep_ms(10);
    st = status_of(c);
    assert_false(st.stopped);
    assert_true(st.last_applied >= applied);
    pthread_mutex_lock(&f.mu);
    assert_int_equal(f.restores, 1);
    assert_true(f.applied >= applied);
    pthread_mutex_unlock(&f.mu);
    cons_stop(c);
    helper_rmtree(dir);
}

/* Writes past a file-size limit fail (EFBIG), as a full or failing disk
 * would fail them; RLIMIT_FSIZE binds root too. */
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

/* A running node whose disk stops taking writes halts (a block it cannot
 * persist is never applied); restarted while the disk still refuses, it
 * halts again at its first write; once the disk is back it
 * starts from what it had, with every block applied before the failure. */
static void test_api_disk_failure_halts(void **state)
{
    (void)state;
    char *dir = helper_tmpdir("apidisk");
    fsm1 f = {.mu = PTHREAD_MUTEX_INITIALIZER};
    cons_config cfg = base_config(dir, &f, helper_free_port());
    cons *c = NULL;
    char err[256];
    assert_int_equal(cons_start(&c, &cfg, err, sizeof err), CONS_OK);
    wait_role(c, 2);
    assert_int_equal(cons_submit(c, "tx", 2), CONS_OK);
    assert_true(wait_for(c, &f, drained));
    for (int i = 0; i < 500 && status_of(c).last_applied < status_of(c).last_index; i++)
        sleep_ms(10);
    cons_status before = status_of(c);
    assert_int_equal(before.last_applied, before.last_index);

    fsize_limit(2 * 4096); /* the two meta pages, no data page */
    assert_int_equal(cons_submit(c, "tx", 2), CONS_OK);
    bool halted = wait_for(c, &f, stopped);
    cons_status after = status_of(c);
    assert_true(halted);
    assert_int_equal(after.last_applied, before.last_applied);
    assert_int_equal(f_applied(&f), before.last_applied);
    assert_int_equal(cons_submit(c, "tx", 2), CONS_ERR_STOPPED);
    cons_stop(c);

    /* restarted on the same data, the disk still refusing */
    c = NULL;
    int rc = cons_start(&c, &cfg, err, sizeof err);
    if (rc == CONS_OK) {
        halted = wait_for(c, &f, stopped);
        after = status_of(c);
        cons_stop(c);
        fsize_restore();
        assert_true(halted);
        assert_int_equal(f_applied(&f), before.last_applied);
    } else {
        fsize_restore();
        assert_int_equal(rc, CONS_ERR_IO);
        assert_null(c);
    }

    /* the disk is back */
    c = NULL;
    assert_int_equal(cons_start(&c, &cfg, err, sizeof err), CONS_OK);
    wait_role(c, 2);
    assert_int_equal(cons_submit(c, "tx", 2), CONS_OK);
    for (int i = 0; i < 500 && f_applied(&f) <= before.last_applied; i++)
        sleep_ms(10);
    assert_true(f_applied(&f) > before.last_applied);
    assert_false(status_of(c).stopped);
    cons_stop(c);
    helper_rmtree(dir);
}

/* More than 1024 txs offered to one build (the stack arrays' size): the
 * arrays come from the heap, and every tx still goes into blocks. */
static void test_api_build_of_many_txs(void **state)
{
    (void)state;
    char *dir = helper_tmpdir("apibuild");
    fsm1 f = {.mu = PTHREAD_MUTEX_INITIALIZER, .fail_build = true};
    cons_config cfg = base_config(dir, &f, helper_free_port());
    cfg.queue_max = 1500;
    cfg.block_max_txs = 2000;
    cons *c = NULL;
    char err[256];
    assert_int_equal(cons_start(&c, &cfg, err, sizeof err), CONS_OK);
    wait_role(c, 2);
    for (int i = 0; i < 1500; i++)
        assert_int_equal(cons_submit(c, "tx", 2), CONS_OK);
    pthread_mutex_lock(&f.mu);
    f.fail_build = false;
    pthread_mutex_unlock(&f.mu);
    assert_true(wait_for(c, &f, drained));
    pthread_mutex_lock(&f.mu);
    assert_true(f.max_n > 1024);
    pthread_mutex_unlock(&f.mu);
    cons_stop(c);
    helper_rmtree(dir);
}
static void test_api_leader_changed_after_barrier_and_garbage_survived(void **state)
{
    (void)state;
    char *dir = helper_tmpdir("api");
    fsm1 f = {.mu = PTHREAD_MUTEX_INITIALIZER};
    cons *c = NULL;
    char err[256];
    int port = helper_free_port();
    cons_config cfg = base_config(dir, &f, port);
    assert_int_equal(cons_start(&c, &cfg, err, sizeof err), CONS_OK);
    wait_role(c, 2);
    for (int i = 0; i < 200; i++) {
        pthread_mutex_lock(&f.mu);
        int lt = f.leader_true;
        pthread_mutex_unlock(&f.mu);
        if (lt)
            break;
        sleep_ms(10);
    }
    pthread_mutex_lock(&f.mu);
    assert_int_equal(f.leader_true, 1);
    assert_true(f.applied >= 1 || f.builds == 0); /* no build before the barrier */
    pthread_mutex_unlock(&f.mu);

    nng_socket s;
    assert_int_equal(nng_push0_open(&s), 0);
    assert_int_equal(nng_dial(s, cfg.peers[0].addr, NULL, 0), 0);
    const char junk[] = "\x50\x01\x01garbage-that-is-not-a-frame";
    for (int i = 0; i < 10; i++)
        assert_int_equal(nng_send(s, (void *)junk, sizeof junk, 0), 0);
    cons_status st;
    for (int i = 0; i < 200; i++) {
        cons_status_get(c, &st);
        if (st.msgs_malformed >= 10)
            break;
        sleep_ms(10);
    }
    assert_int_equal(st.msgs_malformed, 10);
    /* one more within the second: counted at once, its log line held back */
    assert_int_equal(nng_send(s, (void *)junk, sizeof junk, 0), 0);
    for (int i = 0; i < 200; i++) {
        cons_status_get(c, &st);
        if (st.msgs_malformed >= 11)
            break;
        sleep_ms(10);
    }
    assert_int_equal(st.msgs_malformed, 11);
    nng_close(s);
    assert_int_equal(cons_submit(c, "tx", 2), CONS_OK);
    wait_role(c, 2);
    cons_stop(c);
    pthread_mutex_lock(&f.mu);
    assert_int_equal(f.leader_false, 1); /* told on stop */
    pthread_mutex_unlock(&f.mu);
    helper_rmtree(dir);
}

static void test_api_failing_apply_halts_node(void **state)
{
    (void)state;
    char *dir = helper_tmpdir("api");
    fsm1 f = {.mu = PTHREAD_MUTEX_INITIALIZER, .fail_apply = 5};
    cons *c = NULL;
    char err[256];
    cons_config cfg = base_config(dir, &f, helper_free_port());
    assert_int_equal(cons_start(&c, &cfg, err, sizeof err), CONS_OK);
    wait_role(c, 2);
    cons_status st;
    int rv = CONS_OK;
    for (int i = 0; i < 300; i++) {
        if (rv == CONS_OK)
            rv = cons_submit(c, "tx", 2);
        cons_status_get(c, &st);
        if (st.stopped)
            break;
        sleep_ms(10);
    }
    assert_true(st.stopped);
    assert_int_equal(cons_submit(c, "tx", 2), CONS_ERR_STOPPED);
    cons_stop(c); /* still closes cleanly (ASan: no leak) */
    helper_rmtree(dir);
}

/* One raft log record damaged on disk while the node is down: the node does
 * not start (CONS_ERR_CORRUPT, a message), rather than hand raft a log with
 * a hole; nothing is started. */
static void test_api_corrupt_log_refused_at_start(void **state)
{
    (void)state;
    char *dir = helper_tmpdir("apicorrupt");
    fsm1 f = {.mu = PTHREAD_MUTEX_INITIALIZER};
    cons *c = NULL;
    char err[512] = "";
    cons_config cfg = base_config(dir, &f, helper_free_port());
    assert_int_equal(cons_start(&c, &cfg, err, sizeof err), CONS_OK);
    wait_role(c, 2);
    cons_stop(c);
    c = NULL;
    /* the store under data_dir/raft: entry 1 cut short of its header */
    char path[512];
    snprintf(path, sizeof path, "%s/raft", dir);
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    assert_int_equal(mdb_env_create(&env), 0);
    assert_int_equal(mdb_env_set_maxdbs(env, 4), 0);
    assert_int_equal(mdb_env_set_mapsize(env, (size_t)16 << 30), 0);
    assert_int_equal(mdb_env_open(env, path, MDB_NOTLS, 0600), 0);
    assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
    assert_int_equal(mdb_dbi_open(txn, "log", 0, &dbi), 0);
    uint8_t key[8] = {0, 0, 0, 0, 0, 0, 0, 1};
    MDB_val k = {8, key}, v = {3, "abc"};
    assert_int_equal(mdb_put(txn, dbi, &k, &v, 0), 0);
    assert_int_equal(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
    cfg = base_config(dir, &f, helper_free_port());
    assert_int_equal(cons_start(&c, &cfg, err, sizeof err), CONS_ERR_CORRUPT);
    assert_null(c);
    if (strstr(err, "log record of 8/3 bytes") == NULL)
        fail_msg("message: \"%s\"", err);
    helper_rmtree(dir);
}

int main(void)
{
    if (!getenv("CONS_VERBOSE"))
        setenv("PROVENA_CONS_QUIET", "1", 0);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_api_bad_config_refused_with_message),
        cmocka_unit_test(test_api_config_table),
        cmocka_unit_test(test_api_submit_refusals),
        cmocka_unit_test(test_api_build_results_checked),
        cmocka_unit_test(test_api_build_of_many_txs),
        cmocka_unit_test(test_api_snapshot_failures),
        cmocka_unit_test(test_api_disk_failure_halts),
        cmocka_unit_test(test_api_leader_changed_after_barrier_and_garbage_survived),
        cmocka_unit_test(test_api_failing_apply_halts_node),
        cmocka_unit_test(test_api_corrupt_log_refused_at_start),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
