/*
 * snapshot.c — the whole ledger state as one buffer, for consensus snapshots.
 *
 * Format (canonical CBOR):
 *   {"dbs": [[name, [k0, v0, k1, v1, ...]], ... one per database, in
 *            enum st_db order],
 *    "chain": bstr32 chain id, "version": 1}
 * Keys and values are byte strings, in each database's key order. take reads
 * every database in one read transaction, so the buffer is one consistent
 * state (blocks, head, applied index and all). install checks the chain id
 * and database names, then in one write transaction empties each database
 * and loads it with MDB_APPEND (the order was checked by LMDB as it goes);
 * readers see either the old state or the new one.
 */
#include <stdlib.h>
#include <string.h>

#include "chain/cbor_util.h"
#include "chain/state_int.h"

#define SNAP_VERSION 1

int chain_snapshot_take(chain *c, uint8_t **out, size_t *out_len)
{
    MDB_txn *t;
    int mrc = mdb_txn_begin(c->env, NULL, MDB_RDONLY, &t);
    if (mrc)
        return st_lmdb_err(mrc, "snapshot", NULL, 0);
    cbu_wr w;
    cbu_wr_init(&w, SIZE_MAX / 2);
    cbu_put_map(&w, 3);
    cbu_put_key(&w, "dbs");
    cbu_put_array(&w, DB__COUNT);
    int rc = CHAIN_OK;
    for (int i = 0; i < DB__COUNT && rc == CHAIN_OK; i++) {
        MDB_stat st;
        MDB_cursor *cur;
        if ((mrc = mdb_stat(t, c->dbi[i], &st)) || (mrc = mdb_cursor_open(t, c->dbi[i], &cur))) {
            rc = CHAIN_ERR_STORAGE;
            break;
        }
        cbu_put_array(&w, 2);
        cbu_put_cstr(&w, st_db_name(i));
        cbu_put_array(&w, 2 * st.ms_entries);
        MDB_val k, v;
        size_t n = 0;
        for (mrc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); mrc == 0;
             mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT), n++) {
            cbu_put_bytes(&w, k.mv_data, k.mv_size);
            cbu_put_bytes(&w, v.mv_data, v.mv_size);
        }
        mdb_cursor_close(cur);
        if (mrc != MDB_NOTFOUND || n != st.ms_entries)
            rc = CHAIN_ERR_STORAGE;
    }
    cbu_put_key(&w, "chain");
    cbu_put_bytes(&w, c->g->chain_id, CHAIN_HASH_LEN);
    cbu_put_key(&w, "version");
    cbu_put_uint(&w, SNAP_VERSION);
    mdb_txn_abort(t);
    if (rc) {
        cbu_wr_free(&w);
        return rc;
    }
    return cbu_wr_finish(&w, out, out_len);
}

static int load(chain *c, MDB_txn *t, cbu_rd *r)
{
    size_t n;
    cbu_keys keys = CBU_KEYS_INIT;
    const char *key;
    size_t kl;
    int rc = cbu_get_map(r, &n, 3, "snapshot");
    if (rc == CHAIN_OK && n != 3)
        rc = cbu_fail(r, CHAIN_ERR_MALFORMED, "snapshot: 3 fields expected");
    if (rc || (rc = cbu_get_key(r, &keys, &key, &kl)))
        return rc;
    if (!cbu_key_is(key, kl, "dbs"))
        return cbu_fail(r, CHAIN_ERR_MALFORMED, "snapshot: dbs expected");
    /* Read ahead for the chain id: it sits after dbs, so check it first by skipping. */
    cbu_rd ahead = *r;
    cbu_keys kahead = keys;
    if ((rc = cbu_skip(&ahead, "dbs")) || (rc = cbu_get_key(&ahead, &kahead, &key, &kl)))
        return rc;
    uint8_t id[CHAIN_HASH_LEN];
    uint64_t version;
    if (!cbu_key_is(key, kl, "chain") || (rc = cbu_get_bytes_n(&ahead, id, sizeof id, "chain")) ||
        (rc = cbu_get_key(&ahead, &kahead, &key, &kl)) || !cbu_key_is(key, kl, "version") ||
        (rc = cbu_get_uint(&ahead, &version, "version")) || (rc = cbu_rd_done(&ahead)))
        return rc ? rc : cbu_fail(r, CHAIN_ERR_MALFORMED, "snapshot: chain, version expected");
    if (version != SNAP_VERSION)
        return cbu_fail(r, CHAIN_ERR_INVALID, "snapshot: version %llu",
                        (unsigned long long)version);
    if (memcmp(id, c->g->chain_id, CHAIN_HASH_LEN) != 0)
        return cbu_fail(r, CHAIN_ERR_BAD_GENESIS, "snapshot: of another chain");

    if ((rc = cbu_get_array(r, &n, DB__COUNT, "dbs")))
        return rc;
    if (n != DB__COUNT)
        return cbu_fail(r, CHAIN_ERR_MALFORMED, "dbs: %d databases expected", DB__COUNT);
    for (int i = 0; i < DB__COUNT; i++) {
        size_t two, m;
        const char *name;
        size_t nl;
        if ((rc = cbu_get_array(r, &two, 2, "db")) ||
            (rc = cbu_get_text_ref(r, &name, &nl, 32, "db name")))
            return rc;
        if (two != 2 || !cbu_key_is(name, nl, st_db_name(i)))
            return cbu_fail(r, CHAIN_ERR_MALFORMED, "dbs[%d]: expected %s", i, st_db_name(i));
        if ((rc = cbu_get_array(r, &m, SIZE_MAX, st_db_name(i))))
            return rc;
        if (m % 2 != 0)
            return cbu_fail(r, CHAIN_ERR_MALFORMED, "%s: odd entry count", st_db_name(i));
        int mrc = mdb_drop(t, c->dbi[i], 0);
        if (mrc)
            return CHAIN_ERR_STORAGE;
        for (size_t j = 0; j < m / 2; j++) {
            MDB_val k, v;
            const uint8_t *p;
            if ((rc = cbu_get_bytes(r, &p, &k.mv_size, 511, "key")))
                return rc;
            k.mv_data = (void *)p;
            if ((rc = cbu_get_bytes(r, &p, &v.mv_size, CHAIN_BLOCK_MAX_BYTES, "value")))
                return rc;
            v.mv_data = (void *)p;
            if (k.mv_size == 0)
                return cbu_fail(r, CHAIN_ERR_MALFORMED, "%s: empty key", st_db_name(i));
            mrc = mdb_put(t, c->dbi[i], &k, &v, MDB_APPEND);
            if (mrc == MDB_KEYEXIST)
                return cbu_fail(r, CHAIN_ERR_MALFORMED, "%s: keys out of order", st_db_name(i));
            if (mrc)
                return cbu_fail(r, CHAIN_ERR_STORAGE, "%s: lmdb: %s", st_db_name(i),
                                mdb_strerror(mrc));
        }
    }
    /* skip the chain and version fields already checked */
    if ((rc = cbu_get_key(r, &keys, &key, &kl)) || (rc = cbu_skip(r, "chain")) ||
        (rc = cbu_get_key(r, &keys, &key, &kl)) || (rc = cbu_skip(r, "version")))
        return rc;
    return cbu_rd_done(r);
}

int chain_snapshot_install(chain *c, const uint8_t *buf, size_t len, char *errmsg,
                           size_t errmsg_len)
{
    if (errmsg != NULL && errmsg_len > 0)
        errmsg[0] = '\0';
    MDB_txn *t;
    int mrc = mdb_txn_begin(c->env, NULL, 0, &t);
    if (mrc)
        return st_lmdb_err(mrc, "install snapshot", errmsg, errmsg_len);
    cbu_rd r;
    cbu_rd_init(&r, buf, len, errmsg, errmsg_len);
    int rc = load(c, t, &r);
    uint64_t applied = 0;
    st_head h;
    if (rc == CHAIN_OK && ((rc = st_uint_get(t, c->dbi[DB_META], "applied", 7, &applied)) ||
                           (rc = st_head_get(c, t, &h))))
        rc = cbu_fail(&r, CHAIN_ERR_MALFORMED, "snapshot: no head or applied index");
    if (rc) {
        if (errmsg != NULL && errmsg_len > 0 && errmsg[0] == '\0')
            snprintf(errmsg, errmsg_len, "install snapshot: %s", chain_err_code(rc));
        mdb_txn_abort(t);
        return rc;
    }
    if ((mrc = mdb_txn_commit(t)))
        return st_lmdb_err(mrc, "install snapshot: commit", errmsg, errmsg_len);
    atomic_store(&c->applied, applied);
    return CHAIN_OK;
}
