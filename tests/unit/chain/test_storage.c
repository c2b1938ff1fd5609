/*
 * test_storage.c — the ledger's LMDB failures other than a full map: a data
 * directory or ledger file that cannot be one, a garbage or truncated file, a
 * path over PATH_MAX, a write that cannot reach the disk (RLIMIT_FSIZE, which
 * binds root too, unlike a read-only directory), every reader slot taken, and
 * records damaged on disk. Each is refused CHAIN_ERR_STORAGE (or INVALID for
 * the path) with a message, never a crash, and a failed write changes nothing:
 * the same block applies once the disk takes writes again.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <lmdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "chain/state_int.h"
#include "helper_chain.h"

static hc_env E;

static int setup(void **st)
{
    (void)st;
    hc_setup(&E);
    hc_unit_owned(&E, "S1", HK_ALICE);
    return 0;
}

static int teardown(void **st)
{
    (void)st;
    hc_teardown(&E); /* E.c may be NULL: a test left the ledger closed */
    return 0;
}

static int open_at(const char *dir, char *err, size_t errlen)
{
    chain *c = NULL;
    chain_options opt = {.map_size = (size_t)64 << 20, .no_sync = true};
    int rc = chain_open(&c, dir, E.g, &opt, err, errlen);
    if (rc == CHAIN_OK)
        chain_close(c);
    return rc;
}

static void expect_open(const char *dir, int want_rc, const char *want)
{
    char err[512] = "";
    int rc = open_at(dir, err, sizeof err);
    if (rc != want_rc || !strstr(err, want))
        fail_msg("open %.60s...: %d \"%s\", want %d \"%s\"", dir, rc, err, want_rc, want);
}

static void test_open_refusals_named(void **st)
{
    (void)st;
    char base[64] = "/tmp/provena-stor-XXXXXX", p[4200];
    assert_non_null(mkdtemp(base));
    /* the data directory is a file */
    snprintf(p, sizeof p, "%s/file", base);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fclose(f);
    expect_open(p, CHAIN_ERR_STORAGE, "open chain: lmdb: Not a directory");
    /* chain.mdb is a directory */
    snprintf(p, sizeof p, "%s/d1", base);
    assert_int_equal(mkdir(p, 0700), 0);
    snprintf(p, sizeof p, "%s/d1/chain.mdb", base);
    assert_int_equal(mkdir(p, 0700), 0);
    snprintf(p, sizeof p, "%s/d1", base);
    expect_open(p, CHAIN_ERR_STORAGE, "open chain: lmdb: Is a directory");
    /* chain.mdb is not an LMDB file */
    snprintf(p, sizeof p, "%s/d2", base);
    assert_int_equal(mkdir(p, 0700), 0);
    snprintf(p, sizeof p, "%s/d2/chain.mdb", base);
    f = fopen(p, "w");
    assert_non_null(f);
    for (int i = 0; i < 4 * 4096; i++)
        fputc('x', f);
    fclose(f);
    snprintf(p, sizeof p, "%s/d2", base);
    expect_open(p, CHAIN_ERR_STORAGE, "open chain: lmdb: MDB_INVALID");
    /* a copy of the ledger cut short after its meta pages */
    hc_close(&E);
    char cmd[512];
    snprintf(cmd, sizeof cmd,
             "mkdir %s/d3 && cp %s/chain.mdb %s/d3/ && truncate -s 8192 %s/d3/chain.mdb", base,
             E.dir, base, base);
    assert_int_equal(system(cmd), 0);
    hc_reopen(&E);
    snprintf(p, sizeof p, "%s/d3", base);
    expect_open(p, CHAIN_ERR_STORAGE, "is truncated (8192 bytes, its last page ends at");
    /* the ledger path "DIR/chain.mdb" at 4095 bytes passes the check (LMDB's
     * lock file name is then too long), at 4096 it is refused before LMDB */
    size_t n = (size_t)snprintf(p, sizeof p, "%s", base);
    while (n + 11 <= 4070) {
        n += (size_t)snprintf(p + n, sizeof p - n, "/dddddddddd");
        assert_int_equal(mkdir(p, 0700), 0);
    }
    char q[4200];
    memcpy(q, p, n);
    q[n] = '/';
    memset(q + n + 1, 'e', 4085 - n - 1);
    q[4085] = '\0'; /* 4085 + "/chain.mdb" = 4095 */
    assert_int_equal(mkdir(q, 0700), 0);
    expect_open(q, CHAIN_ERR_STORAGE, "open chain: lmdb: File name too long");
    q[4085] = 'e';
    q[4086] = '\0';
    assert_int_equal(mkdir(q, 0700), 0);
    expect_open(q, CHAIN_ERR_INVALID, "open chain: path too long");
    snprintf(cmd, sizeof cmd, "rm -rf %s", base);
    assert_int_equal(system(cmd), 0);
}

/* A block whose commit cannot be written: CHAIN_ERR_STORAGE naming LMDB's
 * reason, head and every database exactly as before; with the disk back the
 * same block at the same index applies. */
static void test_failed_write_changes_nothing(void **st)
{
    (void)st;
    gs1_sgtin u = hc_unit(HC_GTIN, "S1");
    chain_tx tx = hc_tx(CHAIN_TX_FLAG);
    tx.units = &u;
    tx.nunits = 1;
    tx.reason = CHAIN_FLAG_STOLEN;
    uint8_t *t;
    size_t tl;
    hc_encode(&E, HK_ALICE, &tx, &t, &tl);
    uint8_t *blk;
    size_t bl;
    hc_build(&E, &blk, &bl, &t, &tl, 1);
    free(t);
    uint8_t *before, *after;
    size_t before_len, after_len;
    hc_dump(&E, &before, &before_len);
    chain_head h0 = hc_get_head(&E);

    struct rlimit saved, r;
    signal(SIGXFSZ, SIG_IGN);
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &saved), 0);
    r = saved;
    r.rlim_cur = 2 * 4096; /* LMDB's two meta pages, no data page */
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &r), 0);
    chain_apply_result res;
    char err[256] = "";
    int rc = chain_block_apply(E.c, &res, E.index + 1, blk, bl, err, sizeof err);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &saved), 0);
    if (rc != CHAIN_ERR_STORAGE || !strstr(err, "File too large"))
        fail_msg("apply under a write failure: %d \"%s\"", rc, err);

    chain_head h1 = hc_get_head(&E);
    assert_int_equal(h1.height, h0.height);
    assert_memory_equal(h1.id, h0.id, CHAIN_HASH_LEN);
    assert_int_equal(chain_applied_index(E.c), E.index);
    hc_dump(&E, &after, &after_len);
    assert_int_equal(after_len, before_len);
    assert_memory_equal(after, before, before_len);
    free(after);
    free(before);

    rc = chain_block_apply(E.c, &res, ++E.index, blk, bl, err, sizeof err);
    if (rc != CHAIN_OK)
        fail_msg("the same block once writes pass: %d \"%s\"", rc, err);
    assert_int_equal(res.receipts[0].code, CHAIN_OK);
    chain_apply_result_free(&res);
    free(blk);
    assert_int_equal(hc_get_head(&E).height, h0.height + 1);
    assert_true(hc_get_unit(&E, HC_GTIN, "S1").flags & CHAIN_FLAG_STOLEN);
}

/* The consensus index contract: 0 is never an index, a group's indexes
 * increase; a refused call writes nothing and zeroes the results. */
static void test_apply_index_contract(void **st)
{
    (void)st;
    gs1_sgtin u = hc_unit(HC_GTIN, "S1");
    chain_tx tx = hc_tx(CHAIN_TX_FLAG);
    tx.units = &u;
    tx.nunits = 1;
    tx.reason = CHAIN_FLAG_STOLEN;
    uint8_t *t, *blk;
    size_t tl, bl;
    hc_encode(&E, HK_ALICE, &tx, &t, &tl);
    hc_build(&E, &blk, &bl, &t, &tl, 1);
    free(t);
    chain_head h0 = hc_get_head(&E);
    chain_apply_result res[2];
    memset(res, 0xa5, sizeof res);
    char err[256] = "";
    assert_int_equal(chain_block_apply(E.c, &res[0], 0, blk, bl, err, sizeof err),
                     CHAIN_ERR_INVALID);
    assert_non_null(strstr(err, "consensus index 0"));
    assert_null(res[0].receipts);
    const uint8_t *blks[2] = {blk, blk};
    size_t lens[2] = {bl, bl};
    const uint64_t same[2] = {E.index + 1, E.index + 1}, zero[2] = {0, E.index + 1},
                   down[2] = {E.index + 2, E.index + 1};
    const uint64_t *bad[] = {same, zero, down};
    for (size_t i = 0; i < 3; i++) {
        memset(res, 0xa5, sizeof res);
        err[0] = '\0';
        assert_int_equal(chain_blocks_apply(E.c, res, bad[i], blks, lens, 2, err, sizeof err),
                         CHAIN_ERR_INVALID);
        assert_non_null(strstr(err, "indexes must be > 0 and increase"));
        assert_null(res[0].receipts);
        assert_null(res[1].receipts);
    }
    assert_int_equal(hc_get_head(&E).height, h0.height);
    assert_int_equal(chain_applied_index(E.c), E.index);
    free(blk);
}

/* Every reader slot taken (254, as chain_open sets): the next read is
 * refused CHAIN_ERR_STORAGE at once; one slot freed, it is served. */
static void test_reader_slots_exhausted(void **st)
{
    (void)st;
    enum { N = 300 };
    chain_rd **rd = calloc(N, sizeof *rd);
    assert_non_null(rd);
    size_t n = 0;
    int rc = CHAIN_OK;
    while (n < N && (rc = chain_rd_begin(E.c, &rd[n])) == CHAIN_OK)
        n++;
    assert_int_equal(rc, CHAIN_ERR_STORAGE);
    assert_true(n >= 250 && n <= 254); /* what the helper's own reads left */
    chain_rd_end(rd[--n]);
    chain_rd *one;
    assert_int_equal(chain_rd_begin(E.c, &one), CHAIN_OK);
    chain_head h;
    assert_int_equal(chain_head_get(one, &h), CHAIN_OK);
    chain_rd_end(one);
    while (n > 0)
        chain_rd_end(rd[--n]);
    free(rd);
}

static int count_part(void *ctx, const chain_participant *p)
{
    (void)p;
    ++*(int *)ctx;
    return 0;
}

/* One record written straight into the closed ledger's file. */
static void raw_put_only(int db, const void *key, size_t klen, const void *val, size_t vlen)
{
    hc_close(&E);
    char path[512];
    snprintf(path, sizeof path, "%s/chain.mdb", E.dir);
    MDB_env *env;
    MDB_txn *t;
    MDB_dbi dbi;
    assert_int_equal(mdb_env_create(&env), 0);
    assert_int_equal(mdb_env_set_maxdbs(env, DB__COUNT + 2), 0);
    assert_int_equal(mdb_env_set_mapsize(env, (size_t)4 << 30), 0);
    assert_int_equal(mdb_env_open(env, path, MDB_NOSUBDIR, 0600), 0);
    assert_int_equal(mdb_txn_begin(env, NULL, 0, &t), 0);
    assert_int_equal(mdb_dbi_open(t, st_db_name(db), 0, &dbi), 0);
    MDB_val k = {klen, (void *)key}, v = {vlen, (void *)val};
    if (val)
        assert_int_equal(mdb_put(t, dbi, &k, &v, 0), 0);
    else
        assert_int_equal(mdb_del(t, dbi, &k, NULL), 0);
    assert_int_equal(mdb_txn_commit(t), 0);
    mdb_env_close(env);
}

static void raw_put(int db, const void *key, size_t klen, const void *val, size_t vlen)
{
    raw_put_only(db, key, klen, val, vlen);
    hc_reopen(&E);
}

/* Records damaged on disk read as CHAIN_ERR_STORAGE, never as a value. */
static void test_damaged_records_are_storage_errors(void **st)
{
    (void)st;
    chain_rd *rd;
    chain_unit u;
    /* a block a transaction record points into is gone */
    gs1_sgtin un = hc_unit(HC_GTIN, "S1");
    chain_tx tx = hc_tx(CHAIN_TX_FLAG);
    tx.units = &un;
    tx.nunits = 1;
    tx.reason = CHAIN_FLAG_STOLEN;
    uint8_t *t;
    size_t tl;
    hc_encode(&E, HK_ALICE, &tx, &t, &tl);
    chain_apply_result res;
    assert_int_equal(hc_block(&E, &res, &t, &tl, 1), CHAIN_OK);
    uint8_t id[CHAIN_HASH_LEN];
    memcpy(id, res.receipts[0].tx, CHAIN_HASH_LEN);
    uint64_t height = res.height;
    chain_apply_result_free(&res);
    const uint8_t *raw;
    size_t raw_len;
    uint8_t hk[8];
    st_be64(hk, height);
    raw_put(DB_BLOCKS, hk, sizeof hk, NULL, 0);
    assert_int_equal(chain_rd_begin(E.c, &rd), CHAIN_OK);
    chain_receipt r;
    assert_int_equal(chain_tx_get(rd, &r, NULL, NULL, id), CHAIN_OK); /* the receipt alone */
    assert_int_equal(chain_tx_get(rd, &r, &raw, &raw_len, id), CHAIN_ERR_STORAGE);
    chain_rd_end(rd);
    /* a unit record that is not CBOR */
    uint8_t k[ST_UNIT_KEY];
    st_key_unit(k, HC_GTIN, "S1");
    raw_put(DB_UNITS, k, sizeof k, "garbage", 7);
    assert_int_equal(chain_rd_begin(E.c, &rd), CHAIN_OK);
    assert_int_equal(chain_unit_get(rd, &u, HC_GTIN, "S1"), CHAIN_ERR_STORAGE);
    assert_int_equal(chain_unit_history(rd, HC_GTIN, "S1", 0, 0, NULL, NULL), CHAIN_ERR_STORAGE);
    chain_rd_end(rd);
    /* a participant id longer than any id can be */
    char longid[CHAIN_ID_MAX + 2];
    memset(longid, 'z', sizeof longid - 1);
    longid[sizeof longid - 1] = '\0';
    raw_put(DB_PARTS, longid, strlen(longid), "x", 1);
    assert_int_equal(chain_rd_begin(E.c, &rd), CHAIN_OK);
    int seen = 0;
    assert_int_equal(chain_participants(rd, count_part, &seen), CHAIN_ERR_STORAGE);
    assert_true(seen > 0); /* the good ones before it were read */
    chain_rd_end(rd);
    /* the head record unreadable (the ledger still opens: a reader says so) */
    raw_put_only(DB_META, "head", 4, "\xff", 1);
    chain *c = NULL;
    chain_options opt = {.map_size = (size_t)4 << 30, .no_sync = true};
    char err[256];
    assert_int_equal(chain_open(&c, E.dir, E.g, &opt, err, sizeof err), CHAIN_OK);
    assert_int_equal(chain_rd_begin(c, &rd), CHAIN_OK);
    chain_head h;
    assert_int_equal(chain_head_get(rd, &h), CHAIN_ERR_STORAGE);
    chain_rd_end(rd);
    chain_close(c);
}

static int count_event(void *ctx, const chain_event *ev)
{
    (void)ev;
    ++*(int *)ctx;
    return 0;
}

/* The stored value of one record, with one byte appended (repl NULL) or
 * replaced by repl[0..rlen), written back into the closed ledger. */
static void raw_damage(int db, const void *key, size_t klen, const uint8_t *repl, size_t rlen)
{
    hc_close(&E);
    char path[512];
    snprintf(path, sizeof path, "%s/chain.mdb", E.dir);
    MDB_env *env;
    MDB_txn *t;
    MDB_dbi dbi;
    assert_int_equal(mdb_env_create(&env), 0);
    assert_int_equal(mdb_env_set_maxdbs(env, DB__COUNT + 2), 0);
    assert_int_equal(mdb_env_set_mapsize(env, (size_t)4 << 30), 0);
    assert_int_equal(mdb_env_open(env, path, MDB_NOSUBDIR, 0600), 0);
    assert_int_equal(mdb_txn_begin(env, NULL, 0, &t), 0);
    assert_int_equal(mdb_dbi_open(t, st_db_name(db), 0, &dbi), 0);
    MDB_val k = {klen, (void *)key}, v;
    assert_int_equal(mdb_get(t, dbi, &k, &v), 0);
    uint8_t buf[8192];
    size_t n;
    if (repl == NULL) { /* one byte more: the record no longer ends where it should */
        assert_true(v.mv_size < sizeof buf);
        memcpy(buf, v.mv_data, v.mv_size);
        buf[v.mv_size] = 0x00;
        n = v.mv_size + 1;
    } else {
        memcpy(buf, repl, rlen);
        n = rlen;
    }
    MDB_val nv = {n, buf};
    assert_int_equal(mdb_put(t, dbi, &k, &nv, 0), 0);
    assert_int_equal(mdb_txn_commit(t), 0);
    mdb_env_close(env);
    hc_reopen(&E);
}

/* Every kind of stored record, damaged (a byte too many, a map of the wrong
 * size, a key out of place, a field of the wrong length), is read back as
 * CHAIN_ERR_STORAGE by the public reader of that record. */
static void test_damaged_record_of_each_kind(void **st)
{
    (void)st;
    chain_rd *rd;
    uint8_t k[ST_EVENT_KEY];
    /* a receipt, a participant, its key index, a node, a lot, an event */
    gs1_sgtin un = hc_unit(HC_GTIN, "S1");
    chain_tx tx = hc_tx(CHAIN_TX_FLAG);
    tx.units = &un;
    tx.nunits = 1;
    tx.reason = CHAIN_FLAG_STOLEN;
    uint8_t *t;
    size_t tl;
    hc_encode(&E, HK_ALICE, &tx, &t, &tl);
    chain_apply_result res;
    assert_int_equal(hc_block(&E, &res, &t, &tl, 1), CHAIN_OK);
    uint8_t id[CHAIN_HASH_LEN];
    memcpy(id, res.receipts[0].tx, CHAIN_HASH_LEN);
    chain_apply_result_free(&res);
    chain_receipt r;
    const uint8_t *raw = NULL;
    assert_int_equal(chain_rd_begin(E.c, &rd), CHAIN_OK);
    assert_int_equal(chain_tx_get(rd, NULL, &raw, NULL, id), CHAIN_OK); /* outputs optional */
    assert_non_null(raw);
    chain_rd_end(rd);
    raw_damage(DB_TXS, id, CHAIN_HASH_LEN, NULL, 0);
    assert_int_equal(chain_rd_begin(E.c, &rd), CHAIN_OK);
    assert_int_equal(chain_tx_get(rd, &r, NULL, NULL, id), CHAIN_ERR_STORAGE);
    chain_rd_end(rd);

    chain_participant p;
    raw_damage(DB_PARTS, "seller-a", 8, NULL, 0);
    assert_int_equal(chain_rd_begin(E.c, &rd), CHAIN_OK);
    assert_int_equal(chain_participant_get(rd, &p, "seller-a"), CHAIN_ERR_STORAGE);
    chain_rd_end(rd);

    static const uint8_t not_pair[] = {0x81, 0x61, 'x'}, wrong_kind[] = {0x82, 0x01, 0xf5};
    raw_damage(DB_PKEYS, E.pub[HK_CARRIER], 32, not_pair, sizeof not_pair);
    assert_int_equal(chain_rd_begin(E.c, &rd), CHAIN_OK);
    assert_int_equal(chain_participant_by_key(rd, &p, E.pub[HK_CARRIER]), CHAIN_ERR_STORAGE);
    chain_rd_end(rd);
    raw_damage(DB_PKEYS, E.pub[HK_CARRIER], 32, wrong_kind, sizeof wrong_kind);
    assert_int_equal(chain_rd_begin(E.c, &rd), CHAIN_OK);
    assert_int_equal(chain_participant_by_key(rd, &p, E.pub[HK_CARRIER]), CHAIN_ERR_STORAGE);
    chain_rd_end(rd);

    chain_node_info ni;
    uint8_t nk[8];
    st_be64(nk, 2);
    raw_damage(DB_NODES, nk, 8, NULL, 0);
    assert_int_equal(chain_rd_begin(E.c, &rd), CHAIN_OK);
    assert_int_equal(chain_node_get(rd, 2, &ni), CHAIN_ERR_STORAGE);
    chain_node_info all[4];
    assert_int_equal(chain_nodes(rd, all, 4), 1); /* the damaged one left out */
    assert_int_equal(all[0].id, 1);
    chain_rd_end(rd);

    chain_lot lot;
    st_key_lot(k, HC_GTIN, "L1");
    raw_damage(DB_LOTS, k, ST_LOT_KEY, NULL, 0);
    assert_int_equal(chain_rd_begin(E.c, &rd), CHAIN_OK);
    assert_int_equal(chain_lot_get(rd, &lot, HC_GTIN, "L1"), CHAIN_ERR_STORAGE);
    chain_rd_end(rd);

    st_key_unit(k, HC_GTIN, "S1");
    st_be32(k + ST_UNIT_KEY, 1);
    raw_damage(DB_UNITS, k, ST_EVENT_KEY, NULL, 0);
    assert_int_equal(chain_rd_begin(E.c, &rd), CHAIN_OK);
    int events = 0;
    assert_int_equal(chain_unit_history(rd, HC_GTIN, "S1", 0, 0, count_event, &events),
                     CHAIN_ERR_STORAGE);
    assert_int_equal(events, 1); /* event 0 was read, event 1 is the damaged one */
    chain_rd_end(rd);

    /* the unit record itself: too few entries, too many, a byte too many */
    static const uint8_t empty_map[] = {0xa0};
    chain_unit u;
    raw_damage(DB_UNITS, k, ST_UNIT_KEY, empty_map, sizeof empty_map);
    assert_int_equal(chain_rd_begin(E.c, &rd), CHAIN_OK);
    assert_int_equal(chain_unit_get(rd, &u, HC_GTIN, "S1"), CHAIN_ERR_STORAGE);
    chain_rd_end(rd);
    /* a unit of 19 entries whose first key is not "lot" */
    uint8_t wrong_key[64];
    size_t wl = 0;
    wrong_key[wl++] = 0xb3; /* map(19) */
    wrong_key[wl++] = 0x63;
    memcpy(wrong_key + wl, "lox", 3);
    wl += 3;
    wrong_key[wl++] = 0x60;
    raw_damage(DB_UNITS, k, ST_UNIT_KEY, wrong_key, wl);
    assert_int_equal(chain_rd_begin(E.c, &rd), CHAIN_OK);
    assert_int_equal(chain_unit_get(rd, &u, HC_GTIN, "S1"), CHAIN_ERR_STORAGE);
    chain_rd_end(rd);
    /* a resolver URL longer than any resolver.set can store */
    char url[CHAIN_RESOLVER_MAX + 2];
    memset(url, 'u', sizeof url);
    raw_put(DB_META, "resolver", 8, url, sizeof url);
    char cur[CHAIN_RESOLVER_MAX + 1];
    assert_int_equal(chain_rd_begin(E.c, &rd), CHAIN_OK);
    assert_int_equal(chain_resolver_current(rd, cur), CHAIN_ERR_STORAGE);
    assert_string_equal(cur, "");
    chain_rd_end(rd);
}

/* Serving and reaching blocks: a range from 0 or of 0 blocks is refused, a
 * range past the head is not found, a byte budget stops after the first
 * block that does not fit (never before the first); reaching a marker that
 * is not this head is refused and writes nothing, reaching this head's
 * marker moves the applied index up only. */
static void test_blocks_encode_and_marker_reach_edges(void **st)
{
    (void)st;
    chain_rd *rd;
    uint8_t *out = NULL;
    size_t len = 0, count = 0;
    assert_int_equal(chain_rd_begin(E.c, &rd), CHAIN_OK);
    chain_head h;
    assert_int_equal(chain_head_get(rd, &h), CHAIN_OK);
    assert_true(h.height >= 3);
    assert_int_equal(chain_blocks_encode(rd, 0, 4, 1 << 20, &out, &len, &count),
                     CHAIN_ERR_INVALID);
    assert_int_equal(chain_blocks_encode(rd, 1, 0, 1 << 20, &out, &len, &count),
                     CHAIN_ERR_INVALID);
    assert_int_equal(chain_blocks_encode(rd, h.height + 1, 4, 1 << 20, &out, &len, &count),
                     CHAIN_ERR_NOT_FOUND);
    assert_null(out);
    /* a budget of 1 byte: the first block is sent anyway, alone */
    assert_int_equal(chain_blocks_encode(rd, 1, 4, 1, &out, &len, &count), CHAIN_OK);
    assert_int_equal(count, 1);
    free(out);
    /* more blocks asked for than exist: those there */
    assert_int_equal(chain_blocks_encode(rd, h.height - 1, 10, 1 << 20, &out, &len, &count),
                     CHAIN_OK);
    assert_int_equal(count, 2);
    free(out);
    chain_rd_end(rd);

    uint8_t *mb;
    size_t ml;
    assert_int_equal(chain_marker_take(E.c, &mb, &ml), CHAIN_OK);
    chain_marker m;
    char msg[256];
    assert_int_equal(chain_marker_decode(&m, mb, ml, E.g->chain_id, msg, sizeof msg), CHAIN_OK);
    free(mb);
    uint64_t applied = chain_applied_index(E.c);
    chain_marker other = m;
    other.digest[0] ^= 1;
    assert_int_equal(chain_marker_reach(E.c, &other, msg, sizeof msg), CHAIN_ERR_BAD_BLOCK);
    assert_non_null(strstr(msg, "is not the marker's"));
    other = m;
    other.height++;
    assert_int_equal(chain_marker_reach(E.c, &other, NULL, 0), CHAIN_ERR_BAD_BLOCK);
    assert_int_equal(chain_applied_index(E.c), applied);
    other = m;
    other.index = applied > 0 ? applied - 1 : 0; /* behind: nothing moves back */
    assert_int_equal(chain_marker_reach(E.c, &other, msg, sizeof msg), CHAIN_OK);
    assert_int_equal(chain_applied_index(E.c), applied);
    other.index = applied + 5;
    assert_int_equal(chain_marker_reach(E.c, &other, msg, sizeof msg), CHAIN_OK);
    assert_int_equal(chain_applied_index(E.c), applied + 5);
}

static int count_scan_unit(void *ctx, const gs1_sgtin *id, const chain_scan_stats *st)
{
    (void)id;
    (void)st;
    ++*(int *)ctx;
    return 0;
}

static int count_probe(void *ctx, const char *gtin, uint32_t day, uint64_t n)
{
    (void)gtin;
    (void)day;
    (void)n;
    ++*(int *)ctx;
    return 0;
}

/* The scan aggregates' readers skip keys that are not theirs and report a
 * damaged counter as a storage error. */
static void test_scan_readers_skip_foreign_keys_refuse_damage(void **st)
{
    (void)st;
    chain_rd *rd;
    int n = 0;
    raw_put(DB_SCANSTATS, "junk", 4, "x", 1);
    assert_int_equal(chain_rd_begin(E.c, &rd), CHAIN_OK);
    assert_int_equal(chain_scan_units(rd, count_scan_unit, &n), CHAIN_OK);
    assert_int_equal(n, 0);
    chain_rd_end(rd);
    /* 'R' and a length no region key has: not a region count */
    raw_put(DB_PROBES, "Rx", 2, "\x01", 1);
    assert_int_equal(chain_rd_begin(E.c, &rd), CHAIN_OK);
    assert_int_equal(chain_scan_regions(rd, count_probe, &n), CHAIN_OK);
    assert_int_equal(n, 0);
    chain_rd_end(rd);
    /* a region counter and a probe counter that are not CBOR integers */
    uint8_t rk[1 + CHAIN_REGION_MAX + 4] = {'R', 'D', 'E'};
    raw_put(DB_PROBES, rk, sizeof rk, "zz", 2);
    assert_int_equal(chain_rd_begin(E.c, &rd), CHAIN_OK);
    assert_int_equal(chain_scan_regions(rd, count_probe, &n), CHAIN_ERR_STORAGE);
    chain_rd_end(rd);
    uint8_t pk[GS1_GTIN_LEN + 4];
    memcpy(pk, HC_GTIN, GS1_GTIN_LEN);
    memset(pk + GS1_GTIN_LEN, 0, 4);
    raw_put(DB_PROBES, pk, sizeof pk, "zz", 2);
    assert_int_equal(chain_rd_begin(E.c, &rd), CHAIN_OK);
    assert_int_equal(chain_probes(rd, count_probe, &n), CHAIN_ERR_STORAGE);
    chain_rd_end(rd);
    /* a unit's aggregate damaged */
    uint8_t uk[ST_UNIT_KEY];
    st_key_unit(uk, HC_GTIN, "S1");
    raw_put(DB_SCANSTATS, uk, sizeof uk, "zz", 2);
    assert_int_equal(chain_rd_begin(E.c, &rd), CHAIN_OK);
    assert_int_equal(chain_scan_units(rd, count_scan_unit, &n), CHAIN_ERR_STORAGE);
    chain_scan_stats ss;
    assert_int_equal(chain_scan_stats_get(rd, &ss, HC_GTIN, "S1"), CHAIN_ERR_STORAGE);
    chain_rd_end(rd);
    assert_int_equal(n, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_open_refusals_named, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_write_changes_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reader_slots_exhausted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_apply_index_contract, setup, teardown),
        cmocka_unit_test_setup_teardown(test_damaged_records_are_storage_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_damaged_record_of_each_kind, setup, teardown),
        cmocka_unit_test_setup_teardown(test_blocks_encode_and_marker_reach_edges, setup, teardown),
        cmocka_unit_test_setup_teardown(test_scan_readers_skip_foreign_keys_refuse_damage, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
