/*
 * test_nomem.c — a failed allocation in the wire codec or the raft store is
 * RAFT_NOMEM returned, never a crash, a leak, a half-decoded frame or a store
 * reported corrupt; in cons_start, an error with a message and nothing left
 * behind; in a running leader, a refused submit, a halt or the tx applied.
 *
 * Our own malloc/calloc/realloc calls go through the wrappers below (ld
 * --wrap, tests/CMakeLists.txt) and libraft's through raft_heap_set, so the
 * test can make exactly the k-th allocation fail. Each operation runs with
 * k = 0, 1, 2, ... until it completes without reaching its k-th allocation;
 * every earlier run must have returned RAFT_NOMEM, and the run that completes
 * the same result as an unhindered one. Under ASan a leak fails it too.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "consensus/cons_codec.h"
#include "consensus/cons_store.h"
#include "consensus/consensus.h"
#include "consensus/cons_tls.h"
#include "chain/chain.h"
#include "helper_util.h"

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);

static long fail_at = -1, seen;
static bool hit;

/* Atomic: a node's own threads (consensus, nng callbacks) allocate too. */
static bool fail_now(void)
{
    long at = __atomic_load_n(&fail_at, __ATOMIC_SEQ_CST);
    if (at < 0 || __atomic_fetch_add(&seen, 1, __ATOMIC_SEQ_CST) != at)
        return false;
    __atomic_store_n(&hit, true, __ATOMIC_SEQ_CST);
    __atomic_store_n(&fail_at, -1, __ATOMIC_SEQ_CST);
    return true;
}

void *__wrap_malloc(size_t n);
void *__wrap_malloc(size_t n)
{
    return fail_now() ? NULL : __real_malloc(n);
}
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_calloc(size_t n, size_t size)
{
    return fail_now() ? NULL : __real_calloc(n, size);
}
void *__wrap_realloc(void *p, size_t n);
void *__wrap_realloc(void *p, size_t n)
{
    return fail_now() ? NULL : __real_realloc(p, n);
}

static void *h_malloc(void *d, size_t n)
{
    (void)d;
    return fail_now() ? NULL : __real_malloc(n);
}
static void h_free(void *d, void *p)
{
    (void)d;
    free(p);
}
static void *h_calloc(void *d, size_t n, size_t size)
{
    (void)d;
    return fail_now() ? NULL : __real_calloc(n, size);
}
static void *h_realloc(void *d, void *p, size_t n)
{
    (void)d;
    return fail_now() ? NULL : __real_realloc(p, n);
}
static void *h_aligned(void *d, size_t align, size_t n)
{
    (void)d;
    return fail_now() ? NULL : aligned_alloc(align, n);
}
static void h_aligned_free(void *d, size_t align, void *p)
{
    (void)d;
    (void)align;
    free(p);
}
static struct raft_heap heap = {NULL,      h_malloc, h_free, h_calloc, h_realloc, h_aligned,
                                h_aligned_free};

static void arm(long k)
{
    __atomic_store_n(&seen, 0, __ATOMIC_SEQ_CST);
    __atomic_store_n(&hit, false, __ATOMIC_SEQ_CST);
    __atomic_store_n(&fail_at, k, __ATOMIC_SEQ_CST);
}
static bool disarm(void)
{
    __atomic_store_n(&fail_at, -1, __ATOMIC_SEQ_CST);
    return __atomic_load_n(&hit, __ATOMIC_SEQ_CST);
}

#define RUNS_MAX 1000

static const uint8_t CHAIN[CONS_CHAIN_ID_LEN] = {0xc4, 0x1a, 0x1d, 7, 1, 2, 3, 4, 5, 6, 7, 8, 9};
static const char *ADDR = "tcp://127.0.0.1:7001";

static int setup(void **state)
{
    (void)state;
    raft_heap_set(&heap);
    return 0;
}
static int teardown(void **state)
{
    (void)state;
    raft_heap_set_default();
    return 0;
}

static void conf2(struct raft_configuration *c)
{
    raft_configuration_init(c);
    assert_int_equal(raft_configuration_add(c, 1, "tcp://a:1", RAFT_VOTER), 0);
    assert_int_equal(raft_configuration_add(c, 2, "tcp://b:2", RAFT_SPARE), 0);
}

/* An AppendEntries with a configuration entry among commands, and an
 * InstallSnapshot: each encoded, then decoded, with each allocation failing. */
static void test_nomem_codec(void **state)
{
    (void)state;
    struct raft_configuration c;
    conf2(&c);
    struct raft_buffer cbuf;
    assert_int_equal(raft_configuration_encode(&c, &cbuf), 0);
    struct raft_entry ents[3] = {
        {.term = 2, .type = RAFT_COMMAND, .buf = {"one", 3}},
        {.term = 2, .type = RAFT_CHANGE, .buf = cbuf},
        {.term = 3, .type = RAFT_COMMAND, .buf = {"three", 5}},
    };
    struct raft_message msgs[2] = {{.type = RAFT_APPEND_ENTRIES}, {.type = RAFT_INSTALL_SNAPSHOT}};
    msgs[0].append_entries = (struct raft_append_entries){
        .term = 3, .prev_log_index = 4, .prev_log_term = 2, .leader_commit = 4,
        .entries = ents, .n_entries = 3};
    msgs[1].install_snapshot = (struct raft_install_snapshot){
        .term = 6, .last_index = 500, .last_term = 5, .conf_index = 400, .conf = c,
        .data = {"state-bytes", 11}};
    for (int m = 0; m < 2; m++) {
        uint8_t *want;
        size_t want_len;
        assert_int_equal(cons_codec_encode_raft(&want, &want_len, CHAIN, 9, ADDR, &msgs[m]), 0);
        long k;
        for (k = 0; k < RUNS_MAX; k++) {
            uint8_t *buf = NULL;
            size_t len = 0;
            arm(k);
            int rc = cons_codec_encode_raft(&buf, &len, CHAIN, 9, ADDR, &msgs[m]);
            if (!disarm()) {
                assert_int_equal(rc, 0);
                assert_int_equal(len, want_len);
                assert_memory_equal(buf, want, len);
                free(buf);
                break;
            }
            assert_int_equal(rc, RAFT_NOMEM);
        }
        assert_true(k > 0);
        for (k = 0; k < RUNS_MAX; k++) {
            cons_wire w;
            arm(k);
            int rc = cons_codec_decode(&w, CHAIN, want, want_len);
            if (!disarm()) {
                assert_int_equal(rc, 0);
                if (m == 0) {
                    assert_int_equal(w.msg.append_entries.n_entries, 3);
                    assert_memory_equal(w.msg.append_entries.entries[2].buf.base, "three", 5);
                } else {
                    assert_int_equal(w.msg.install_snapshot.conf.n, 2);
                    assert_memory_equal(w.msg.install_snapshot.data.base, "state-bytes", 11);
                }
                cons_wire_release(&w);
                break;
            }
            if (rc != RAFT_NOMEM)
                fail_msg("message %d: decode with allocation %ld failing: %d", m, k, rc);
        }
        assert_true(k > 0);
        free(want);
    }
    raft_free(cbuf.base);
    raft_configuration_close(&c);

    /* forward and hello frames: one allocation each, refused whole */
    const uint8_t *txs[2] = {(const uint8_t *)"tx-a", (const uint8_t *)"tx-bb"};
    size_t lens[2] = {4, 5};
    uint8_t *buf = (uint8_t *)"untouched";
    size_t len = 0;
    arm(0);
    assert_int_equal(cons_codec_encode_forward(&buf, &len, CHAIN, 9, ADDR, txs, lens, 2),
                     RAFT_NOMEM);
    assert_true(disarm());
    assert_string_equal((char *)buf, "untouched");
    arm(0);
    assert_int_equal(cons_codec_encode_hello(&buf, &len, CHAIN, 9, ADDR, 2, 1000,
                                             (const uint8_t *)"sig", 3),
                     RAFT_NOMEM);
    assert_true(disarm());
    assert_string_equal((char *)buf, "untouched");
    /* a configuration: raft's decoder allocating */
    conf2(&c);
    assert_int_equal(raft_configuration_encode(&c, &cbuf), 0);
    raft_configuration_close(&c);
    long k;
    for (k = 0; k < RUNS_MAX; k++) {
        arm(k);
        int rc = cons_codec_conf_decode(&c, cbuf.base, cbuf.len);
        if (!disarm()) {
            assert_int_equal(rc, 0);
            assert_int_equal(c.n, 2);
            raft_configuration_close(&c);
            break;
        }
        assert_int_equal(rc, RAFT_NOMEM);
        assert_int_equal(c.n, 0);
    }
    assert_true(k > 0);
    raft_free(cbuf.base);
}

static struct raft_snapshot *make_snap(raft_index index, raft_term term, const char *data)
{
    struct raft_snapshot *s = calloc(1, sizeof *s);
    assert_non_null(s);
    s->index = index;
    s->term = term;
    s->configuration_index = 1;
    conf2(&s->configuration);
    s->bufs = calloc(1, sizeof *s->bufs);
    assert_non_null(s->bufs);
    s->bufs[0] = (struct raft_buffer){(void *)data, strlen(data)};
    s->n_bufs = 1;
    return s;
}

static void free_made_snap(struct raft_snapshot *s)
{
    raft_configuration_close(&s->configuration);
    free(s->bufs);
    free(s);
}

/* The store: opened, written (a snapshot encodes its configuration),
 * bootstrapped and loaded with each allocation failing; a load that cannot
 * allocate is RAFT_NOMEM, not a store reported corrupt. */
static void test_nomem_store(void **state)
{
    (void)state;
    long k;
    for (k = 0; k < RUNS_MAX; k++) {
        char *dir = helper_tmpdir("nomem");
        cons_store *s = NULL;
        char err[256] = "";
        arm(k);
        int rc = cons_store_open(&s, dir, err, sizeof err);
        bool failed = disarm();
        if (rc == 0)
            cons_store_close(s);
        helper_rmtree(dir);
        if (!failed) {
            assert_int_equal(rc, 0);
            break;
        }
        assert_int_equal(rc, RAFT_NOMEM);
        assert_non_null(strstr(err, "out of memory"));
    }
    assert_true(k > 0);

    char *dir = helper_tmpdir("nomem");
    cons_store *s = NULL;
    char err[256];
    assert_int_equal(cons_store_open(&s, dir, err, sizeof err), 0);
    struct raft_configuration c;
    conf2(&c);
    for (k = 0; k < RUNS_MAX; k++) {
        arm(k);
        int rc = cons_store_bootstrap(s, &c);
        if (!disarm()) {
            assert_int_equal(rc, 0);
            break;
        }
        assert_int_equal(rc, RAFT_NOMEM);
        assert_int_equal(cons_store_last_index(s), 0);
    }
    assert_true(k > 0);
    raft_configuration_close(&c);
    struct raft_entry e[2] = {{.term = 1, .type = RAFT_COMMAND, .buf = {"cmd2", 4}},
                              {.term = 1, .type = RAFT_COMMAND, .buf = {"cmd3", 4}}};
    cons_store_op ap = {.type = CONS_OP_APPEND, .append = {e, 2}};
    assert_int_equal(cons_store_write(s, &ap, 1), 0);
    struct raft_snapshot *snap = make_snap(2, 1, "state@2");
    cons_store_op sn = {.type = CONS_OP_SNAPSHOT, .snapshot = {snap, 1}};
    for (k = 0; k < RUNS_MAX; k++) {
        arm(k);
        int rc = cons_store_write(s, &sn, 1);
        if (!disarm()) {
            assert_int_equal(rc, 0);
            break;
        }
        assert_int_equal(rc, RAFT_NOMEM);
    }
    assert_true(k > 0);
    free_made_snap(snap);
    /* entries 2..3 and the snapshot at 2 */
    for (k = 0; k < RUNS_MAX; k++) {
        raft_term term;
        raft_id vote;
        struct raft_snapshot *got = NULL;
        raft_index start;
        struct raft_entry *ents = NULL;
        size_t n = 0;
        arm(k);
        int rc = cons_store_load(s, &term, &vote, &got, &start, &ents, &n);
        if (!disarm()) {
            assert_int_equal(rc, 0);
            assert_non_null(got);
            assert_int_equal(got->index, 2);
            assert_int_equal(got->configuration.n, 2);
            assert_int_equal(n, 2);
            assert_int_equal(start, 2);
            raft_free(ents[0].batch);
            raft_free(ents);
            cons_store_snapshot_free(got);
            break;
        }
        if (rc != RAFT_NOMEM)
            fail_msg("load with allocation %ld failing: %d \"%s\"", k, rc, cons_store_errmsg(s));
        assert_null(got);
        assert_int_equal(n, 0);
    }
    assert_true(k > 0);
    for (k = 0; k < RUNS_MAX; k++) {
        struct raft_snapshot *got = NULL;
        arm(k);
        int rc = cons_store_snapshot_get(s, &got);
        if (!disarm()) {
            assert_int_equal(rc, 0);
            assert_non_null(got);
            assert_int_equal(got->bufs[0].len, 7);
            assert_memory_equal(got->bufs[0].base, "state@2", 7);
            cons_store_snapshot_free(got);
            break;
        }
        if (rc != RAFT_NOMEM)
            fail_msg("snapshot get with allocation %ld failing: %d \"%s\"", k, rc,
                     cons_store_errmsg(s));
        assert_null(got);
    }
    assert_true(k > 0);
    cons_store_close(s);
    helper_rmtree(dir);
}

static int n_apply(void *ctx, uint64_t index, const void *data, size_t len)
{
    (void)data;
    (void)len;
    *(uint64_t *)ctx = index;
    return 0;
}
static uint64_t n_applied(void *ctx)
{
    return *(uint64_t *)ctx;
}
static int n_snapshot(void *ctx, void **buf, size_t *len)
{
    (void)ctx;
    *buf = __real_malloc(1);
    *len = 1;
    return 0;
}
static int n_build(void *ctx, const void *const *txs, const size_t *lens, size_t n, void **out,
                   size_t *out_len, size_t *used)
{
    (void)ctx;
    (void)txs;
    (void)lens;
    *out = __real_calloc(1, 8);
    if (!*out)
        return -1;
    *out_len = 8;
    *used = n;
    return 0;
}
static int n_restore(void *ctx, const void *buf, size_t len)
{
    (void)ctx;
    (void)buf;
    (void)len;
    return 0;
}

/* cons_start with each allocation of consensus/ failing in turn (the node,
 * its queues, store, transport, raft's start-up on its thread). libraft's
 * own allocations are left alone here: libraft 0.22's raft_init ignores a
 * failed allocation of its own and raft_start then crashes, which no caller
 * can handle. Each run that fails says so with a code and a message and
 * leaves nothing behind (ASan: no leak, no double free), and the run that
 * reaches none of them starts a node that stops cleanly. */
/* A one-node network on a free port in dir, applying into *applied. */
static void one_node(cons_config *cfg, char *dir, uint64_t *applied)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->id = 1;
    cfg->data_dir = dir;
    cfg->npeers = 1;
    cfg->peers[0].id = 1;
    snprintf(cfg->peers[0].addr, sizeof cfg->peers[0].addr, "tcp://127.0.0.1:%d",
             helper_free_port());
    cfg->queue_max = 8;
    cfg->fsm = (cons_fsm){.ctx = applied,
                          .apply = n_apply,
                          .applied_index = n_applied,
                          .snapshot = n_snapshot,
                          .restore = n_restore,
                          .build = n_build};
}

static void test_nomem_start(void **state)
{
    (void)state;
    raft_heap_set_default();
    long k;
    unsigned failed_runs = 0;
    for (k = 0; k < RUNS_MAX; k++) {
        char *dir = helper_tmpdir("nomemstart");
        uint64_t applied = 0;
        cons_config cfg;
        one_node(&cfg, dir, &applied);
        cons *c = NULL;
        char err[256] = "";
        arm(k);
        int rc = cons_start(&c, &cfg, err, sizeof err);
        bool failed = disarm();
        if (rc != CONS_OK) {
            if (!failed)
                fail_msg("start %ld failed with nothing failing: %d \"%s\"", k, rc, err);
            if (err[0] == 0)
                fail_msg("start %ld: code %d without a message", k, rc);
            assert_null(c);
            failed_runs++;
        } else {
            cons_stop(c); /* an allocation the start survived, or none reached */
        }
        helper_rmtree(dir);
        if (!failed) {
            assert_int_equal(rc, CONS_OK);
            break;
        }
    }
    raft_heap_set(&heap);
    assert_true(k < RUNS_MAX);
    assert_true(failed_runs > 0);
}

static void nap_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static cons_status status_now(cons *c)
{
    cons_status st;
    cons_status_get(c, &st);
    return st;
}

/* A running leader with its k-th allocation from now failing, while one tx
 * is submitted and proposed (once a double free: raft_apply, failing after
 * it took the block, freed it and propose_blocks freed it again): cons_submit answers CONS_ERR_NOMEM, or the tx
 * is applied anyway, or the node halts (raft cannot go on without the
 * write or the request it could not allocate); it never wedges silently.
 * A node still running applies the next tx once allocations work again. */
static void test_nomem_running_leader(void **state)
{
    (void)state;
    raft_heap_set_default();
    long k;
    unsigned nomem = 0, halted = 0, applied_anyway = 0;
    for (k = 0; k < 200; k++) {
        char *dir = helper_tmpdir("nomemrun");
        uint64_t applied = 0;
        cons_config cfg;
        one_node(&cfg, dir, &applied);
        cons *c = NULL;
        char err[256] = "";
        assert_int_equal(cons_start(&c, &cfg, err, sizeof err), CONS_OK);
        cons_status st = status_now(c);
        for (int i = 0; i < 1000 && (st.role != 2 || st.last_applied < st.last_index ||
                                     st.last_index < 2);
             i++) {
            nap_ms(5);
            st = status_now(c);
        }
        assert_int_equal(st.role, 2);
        uint64_t before = st.last_applied;
        arm(k);
        int rc = cons_submit(c, "tx", 2);
        bool done = false;
        for (int i = 0; i < 400 && !done; i++) {
            st = status_now(c);
            done = rc != CONS_OK || st.stopped || (st.last_applied > before && st.queued == 0);
            if (!done)
                nap_ms(5);
        }
        bool failed = disarm();
        if (!failed) {
            assert_int_equal(rc, CONS_OK);
            assert_true(done && !st.stopped && st.last_applied > before);
            cons_stop(c);
            helper_rmtree(dir);
            break;
        }
        if (rc != CONS_OK) {
            assert_int_equal(rc, CONS_ERR_NOMEM);
            nomem++;
        } else if (st.stopped) {
            halted++;
        } else if (st.last_applied > before) {
            applied_anyway++;
        }
        st = status_now(c);
        if (!st.stopped) {
            /* allocations work again: the node takes the next tx */
            uint64_t now_applied = st.last_applied;
            assert_int_equal(cons_submit(c, "tx", 2), CONS_OK);
            for (int i = 0; i < 1000; i++) {
                st = status_now(c);
                if (st.stopped || (st.last_applied > now_applied && st.queued == 0))
                    break;
                nap_ms(5);
            }
            if (!st.stopped && st.last_applied <= now_applied)
                fail_msg("allocation %ld failed: the node neither halted nor applied again", k);
        }
        cons_stop(c);
        helper_rmtree(dir);
    }
    raft_heap_set(&heap);
    assert_true(k < 200);
    assert_int_equal(nomem, 1); /* the first allocation is cons_submit's copy */
    assert_true(halted + applied_anyway > 0);
}

/* The TLS glue: loading the key file and building nng's TLS configuration,
 * with each of our allocations failing in turn: -1 with "out of memory" and
 * the identity untouched, NNG_ENOMEM and no configuration. And a configuration
 * from an identity whose certificate text nng cannot take is refused, not
 * half-built. */
static void test_nomem_tls(void **state)
{
    (void)state;
    char *pem = NULL;
    uint8_t der[CHAIN_TLS_CERT_MAX];
    size_t der_len = 0;
    assert_int_equal(chain_tls_key_new(&pem, der, &der_len, "provena node"), CHAIN_OK);
    char *dir = helper_tmpdir("nomemtls");
    char path[512];
    snprintf(path, sizeof path, "%s/node.tls", dir);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs(pem, f);
    fclose(f);
    assert_int_equal(chmod(path, 0600), 0);

    cons_tls_id id;
    long k;
    for (k = 0; k < RUNS_MAX; k++) {
        memset(&id, 0x5a, sizeof id);
        cons_tls_id before = id;
        char err[512] = "";
        arm(k);
        int rc = cons_tls_id_load(&id, path, err, sizeof err);
        if (!disarm()) {
            assert_int_equal(rc, 0);
            break;
        }
        assert_int_equal(rc, -1);
        assert_non_null(strstr(err, "out of memory"));
        assert_memory_equal(&id, &before, sizeof id);
    }
    assert_true(k > 1); /* the file's bytes, then the key's and certificate's text */
    assert_int_equal(id.der_len, der_len);
    assert_memory_equal(id.der, der, der_len);

    cons_tls_pin pin;
    assert_true(cons_tls_pin_make(&pin, 2, der, der_len));
    const cons_tls_pin *trust[1] = {&pin};
    for (k = 0; k < RUNS_MAX; k++) {
        nng_tls_config *cfg = (nng_tls_config *)(uintptr_t)1;
        arm(k);
        int rc = cons_tls_config(&cfg, NNG_TLS_MODE_SERVER, &id, trust, 1);
        if (!disarm()) {
            assert_int_equal(rc, 0);
            nng_tls_config_free(cfg);
            break;
        }
        assert_int_equal(rc, NNG_ENOMEM);
        assert_true(cfg == (nng_tls_config *)(uintptr_t)1);
    }
    assert_true(k > 0);

    cons_tls_id bad = id;
    char not_pem[] = "not a certificate";
    bad.cert_pem = not_pem;
    nng_tls_config *cfg = NULL;
    assert_int_not_equal(cons_tls_config(&cfg, NNG_TLS_MODE_CLIENT, &bad, trust, 1), 0);
    assert_null(cfg);

    cons_tls_pin_free(&pin);
    cons_tls_id_free(&id);
    free(pem);
    helper_rmtree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nomem_codec),
        cmocka_unit_test(test_nomem_store),
        cmocka_unit_test(test_nomem_start),
        cmocka_unit_test(test_nomem_running_leader),
        cmocka_unit_test(test_nomem_tls),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
