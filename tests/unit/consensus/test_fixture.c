/*
 * test_fixture.c — libraft's deterministic in-memory cluster (raft/fixture.h)
 * driving the same kind of FSM consensus/ runs: a running hash per applied
 * index, index taken as raft_last_applied() + 1 (the assumption cons_fsm.c
 * relies on). Over many seeds, random elections, depositions, saturated links,
 * disconnections and kill/revive, with snapshots every 32 entries. Checks:
 *   - at most one leader per term (seen at every step);
 *   - every node has the same hash at every index it applied;
 *   - every entry whose raft_apply callback reported success is at its index
 *     on every node at the end.
 * The fixture exercises raft with its own I/O; test_store and test_cluster
 * cover ours.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <raft.h>
#include <raft/fixture.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helper_util.h"

#define N     5
#define MAXI  4096
#define SEEDS 40

typedef struct toy {
    struct raft_fixture *f;
    unsigned i;
    uint64_t applied, hash;
    uint64_t hash_at[MAXI], id_at[MAXI];
} toy;

static toy toys[N];
static uint64_t term_leader[100000];
static uint64_t acked_id[MAXI];

static int toy_apply(struct raft_fsm *fsm, const struct raft_buffer *buf, void **result)
{
    toy *t = fsm->data;
    struct raft *r = raft_fixture_get(t->f, t->i);
    uint64_t index = raft_last_applied(r) + 1;
    assert_int_equal(buf->len, 8);
    assert_true(index > t->applied);
    t->hash = helper_chain_hash(t->hash, buf->base, buf->len);
    t->applied = index;
    if (index < MAXI) {
        t->hash_at[index] = t->hash;
        memcpy(&t->id_at[index], buf->base, 8);
    }
    *result = NULL;
    return 0;
}

static int toy_snapshot(struct raft_fsm *fsm, struct raft_buffer *bufs[], unsigned *n)
{
    toy *t = fsm->data;
    *bufs = raft_malloc(sizeof **bufs);
    (*bufs)[0].base = raft_malloc(16);
    (*bufs)[0].len = 16;
    memcpy((*bufs)[0].base, &t->applied, 8);
    memcpy((char *)(*bufs)[0].base + 8, &t->hash, 8);
    *n = 1;
    return 0;
}

static int toy_restore(struct raft_fsm *fsm, struct raft_buffer *buf)
{
    toy *t = fsm->data;
    assert_int_equal(buf->len, 16);
    memcpy(&t->applied, buf->base, 8);
    memcpy(&t->hash, (char *)buf->base + 8, 8);
    if (t->applied < MAXI) {
        if (t->hash_at[t->applied])
            assert_int_equal(t->hash_at[t->applied], t->hash);
        t->hash_at[t->applied] = t->hash;
    }
    raft_free(buf->base);
    return 0;
}

static struct raft_fsm fsms[N];

typedef struct ack {
    struct raft_apply req;
    uint64_t id;
} ack;

static void apply_cb(struct raft_apply *req, int status, void *result)
{
    ack *a = req->data;
    (void)result;
    if (status == 0 && req->index < MAXI)
        acked_id[req->index] = a->id;
    free(a);
}

/* Election safety, checked after every step: one leader per term. */
static void check_one_leader_per_term(struct raft_fixture *f)
{
    for (unsigned i = 0; i < N; i++) {
        struct raft *r = raft_fixture_get(f, i);
        if (raft_state(r) != RAFT_LEADER)
            continue;
        raft_term t = raft_current_term(r);
        assert_true(t < 100000);
        if (term_leader[t] == 0)
            term_leader[t] = r->id;
        assert_int_equal(term_leader[t], r->id);
    }
}

static unsigned rnd(uint64_t *s, unsigned n)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return (unsigned)(*s % n);
}

static void submit(struct raft_fixture *f, uint64_t *next_id)
{
    unsigned l = raft_fixture_leader_index(f);
    if (l >= N)
        return;
    struct raft *r = raft_fixture_get(f, l);
    ack *a = calloc(1, sizeof *a);
    a->id = ++*next_id;
    a->req.data = a;
    struct raft_buffer buf = {raft_malloc(8), 8};
    memcpy(buf.base, &a->id, 8);
    if (raft_apply(r, &a->req, &buf, 1, apply_cb) != 0) {
        raft_free(buf.base);
        free(a);
    }
}

static void run_seed(uint64_t seed, bool snapshots, bool kills)
{
    struct raft_fixture f;
    struct raft_configuration conf;
    memset(toys, 0, sizeof toys);
    memset(term_leader, 0, sizeof term_leader);
    memset(acked_id, 0, sizeof acked_id);
    assert_int_equal(raft_fixture_init(&f), 0);
    for (unsigned i = 0; i < N; i++) {
        toys[i].f = &f;
        toys[i].i = i;
        fsms[i] = (struct raft_fsm){.version = 1,
                                    .data = &toys[i],
                                    .apply = toy_apply,
                                    .snapshot = toy_snapshot,
                                    .restore = toy_restore};
        assert_int_equal(raft_fixture_grow(&f, &fsms[i]), 0);
        struct raft *r = raft_fixture_get(&f, i);
        raft_set_pre_vote(r, true);
        raft_set_snapshot_threshold(r, snapshots ? 32 : 1000000);
        raft_set_snapshot_trailing(r, 8);
        raft_fixture_set_randomized_election_timeout(
            &f, i, 1000 + (unsigned)((seed * 37 + i * 101) % 700));
        raft_fixture_set_network_latency(&f, i, 5 + (unsigned)((seed + i) % 20));
    }
    assert_int_equal(raft_fixture_configuration(&f, N, &conf), 0);
    assert_int_equal(raft_fixture_bootstrap(&f, &conf), 0);
    raft_configuration_close(&conf);
    assert_int_equal(raft_fixture_start(&f), 0);

    uint64_t s = seed * 0x9e3779b97f4a7c15ULL + 1, next_id = seed << 32;
    /* The fixture's own preconditions (asserts compiled out in the packaged
     * library): links touching a dead server are left alone, only connected
     * links are (de)saturated, and depose needs every server alive. */
    bool dead[N] = {false}, conn[N][N], sat[N][N];
    memset(conn, 1, sizeof conn);
    memset(sat, 0, sizeof sat);
    for (int round = 0; round < 300; round++) {
        unsigned what = rnd(&s, 100), i = rnd(&s, N), j = rnd(&s, N), ndead = 0;
        for (unsigned k = 0; k < N; k++)
            ndead += dead[k];
        bool link = i != j && !dead[i] && !dead[j];
        if (what < 55) {
            submit(&f, &next_id);
        } else if (what < 60) {
            if (ndead == 0 && raft_fixture_leader_index(&f) < N)
                raft_fixture_depose(&f);
        } else if (what < 70 && link && conn[i][j] && conn[j][i] && !sat[i][j]) {
            raft_fixture_saturate(&f, i, j);
            sat[i][j] = true;
        } else if (what < 80 && link && conn[i][j] && conn[j][i] && sat[i][j]) {
            raft_fixture_desaturate(&f, i, j);
            sat[i][j] = false;
        } else if (what < 85 && link && conn[i][j] && !sat[i][j] && !sat[j][i]) {
            raft_fixture_disconnect(&f, i, j); /* a link is one-way in the fixture */
            raft_fixture_disconnect(&f, j, i);
            conn[i][j] = conn[j][i] = false;
        } else if (what < 90 && link && !conn[i][j]) {
            raft_fixture_reconnect(&f, i, j);
            raft_fixture_reconnect(&f, j, i);
            conn[i][j] = conn[j][i] = true;
        } else if (what < 95 && kills) {
            bool clean = true; /* kill saturates every link of i: start from a clean slate */
            for (unsigned k = 0; k < N; k++)
                clean = clean && conn[i][k] && conn[k][i] && !sat[i][k] && !sat[k][i];
            if (!dead[i] && clean && ndead < (N - 1) / 2) {
                raft_fixture_kill(&f, i);
                dead[i] = true;
            }
        } else if (dead[i]) {
            raft_fixture_revive(&f, i);
            dead[i] = false;
        }
        unsigned steps = 1 + rnd(&s, 40);
        for (unsigned k = 0; k < steps; k++) {
            raft_fixture_step(&f);
            check_one_leader_per_term(&f);
        }
    }
    /* heal, then make sure everything converges */
    for (unsigned i = 0; i < N; i++)
        if (dead[i]) {
            raft_fixture_revive(&f, i);
            dead[i] = false;
        }
    for (unsigned i = 0; i < N; i++)
        for (unsigned j = 0; j < N; j++) {
            if (i == j)
                continue;
            if (!conn[i][j]) {
                raft_fixture_reconnect(&f, i, j);
                conn[i][j] = true;
            }
        }
    for (unsigned i = 0; i < N; i++)
        for (unsigned j = 0; j < N; j++)
            if (i != j && raft_fixture_saturated(&f, i, j))
                raft_fixture_desaturate(&f, i, j);
    if (!raft_fixture_step_until_has_leader(&f, 30000)) {
        for (unsigned i = 0; i < N; i++) {
            struct raft *r = raft_fixture_get(&f, i);
            fprintf(stderr, "seed %llu server %u: %s term %llu last %llu commit %llu\n",
                    (unsigned long long)seed, i, raft_state_name(raft_state(r)),
                    raft_current_term(r), raft_last_index(r), raft_commit_index(r));
        }
        fail();
    }
    submit(&f, &next_id);
    struct raft *l = raft_fixture_get(&f, raft_fixture_leader_index(&f));
    raft_index last = raft_last_index(l);
    assert_true(raft_fixture_step_until_applied(&f, N, last, 60000));

    unsigned acked = 0;
    for (uint64_t x = 1; x < MAXI && x <= last; x++) {
        uint64_t h = 0;
        for (unsigned i = 0; i < N; i++) {
            uint64_t v = toys[i].hash_at[x];
            if (!v)
                continue;
            if (h)
                assert_int_equal(v, h);
            h = v;
        }
        if (acked_id[x]) {
            acked++;
            for (unsigned i = 0; i < N; i++)
                if (toys[i].id_at[x]) /* below a restored snapshot the id is unknown */
                    assert_int_equal(toys[i].id_at[x], acked_id[x]);
            bool somewhere = false;
            for (unsigned i = 0; i < N; i++)
                somewhere = somewhere || toys[i].id_at[x] == acked_id[x];
            assert_true(somewhere);
        }
    }
    for (unsigned i = 1; i < N; i++)
        assert_int_equal(toys[i].hash, toys[0].hash);
    assert_true(acked > 0);
    raft_fixture_close(&f);
}

/* Elections, depositions, one-way saturation, disconnection and kill/revive. */
static void test_fixture_partitions_and_kills_agree(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= SEEDS; seed++)
        run_seed(seed, false, true);
}

/* The same faults except kill/revive, with a snapshot every 32 entries, so
 * lagging servers are brought back by InstallSnapshot + restore. (Snapshots
 * combined with raft_fixture_kill overflow a buffer inside libraft 0.22.1's
 * fixture itself — seen under ASan in its log copy for the append-only check —
 * so the two are exercised in separate runs; test_cluster covers snapshot
 * install over our own I/O.) */
static void test_fixture_snapshots_under_partitions_agree(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= SEEDS; seed++)
        run_seed(seed + 1000, true, false);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixture_partitions_and_kills_agree),
        cmocka_unit_test(test_fixture_snapshots_under_partitions_agree),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
