/*
 * state.c — the ledger state in one LMDB environment: keys, open/close and
 * seeding from the genesis, and every read of chain.h (chain_rd_*, lookups).
 *
 * Layout: the named databases of enum st_db (state_int.h), opened once in
 * chain_open. Keys are fixed-format bytes (st_key_*); the stored records
 * and their CBOR formats live in state_rec.c.
 *
 * Threads: MDB_NOTLS lets a read transaction live on any thread; every
 * chain_rd is one read transaction, so readers never wait for the writer
 * (chain_block_apply in apply.c) and see whole blocks only.
 */
#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "chain/cbor_util.h"
#include "chain/state_int.h"

static const char *const db_names[DB__COUNT] = {
    "meta",  "blocks", "txs",   "units",    "lots",     "lot_units",  "owners",       "parts",
    "pkeys", "nonces", "nodes", "nodekeys", "policies", "scan_stats", "scan_clients", "probes",
};

const char *st_db_name(int db)
{
    return db >= 0 && db < DB__COUNT ? db_names[db] : "?";
}

/* ---- keys and small helpers ------------------------------------------------------ */

void st_be64(uint8_t out[8], uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        out[i] = (uint8_t)v;
}

uint64_t st_rd_be64(const uint8_t in[8])
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | in[i];
    return v;
}

void st_be32(uint8_t out[4], uint32_t v)
{
    for (int i = 3; i >= 0; i--, v >>= 8)
        out[i] = (uint8_t)v;
}

void st_pad(uint8_t *dst, size_t cap, const char *s)
{
    size_t n = strnlen(s, cap);
    memcpy(dst, s, n);
    memset(dst + n, 0, cap - n);
}

void st_key_unit(uint8_t k[ST_UNIT_KEY], const char *gtin, const char *serial)
{
    st_pad(k, GS1_GTIN_LEN, gtin);
    st_pad(k + GS1_GTIN_LEN, GS1_SERIAL_MAX, serial);
}

void st_key_lot(uint8_t k[ST_LOT_KEY], const char *gtin, const char *lot)
{
    st_pad(k, GS1_GTIN_LEN, gtin);
    st_pad(k + GS1_GTIN_LEN, GS1_LOT_MAX, lot);
}

void st_key_unit_split(gs1_sgtin *id, const uint8_t k[ST_UNIT_KEY])
{
    memcpy(id->gtin, k, GS1_GTIN_LEN);
    id->gtin[GS1_GTIN_LEN] = '\0';
    memcpy(id->serial, k + GS1_GTIN_LEN, GS1_SERIAL_MAX);
    id->serial[GS1_SERIAL_MAX] = '\0';
}

int st_err_of_mrc(int mrc)
{
    if (mrc == ENOMEM)
        return CHAIN_ERR_NOMEM;
    if (mrc == ENOSPC || mrc == EDQUOT) /* MDB_MAP_FULL is not: more disk would not help */
        return CHAIN_ERR_DISK_FULL;
    return CHAIN_ERR_STORAGE;
}

int st_lmdb_err(int mrc, const char *what, char *errmsg, size_t errmsg_len)
{
    if (errmsg != NULL && errmsg_len > 0)
        snprintf(errmsg, errmsg_len, "%s: lmdb: %s", what, mdb_strerror(mrc));
    return st_err_of_mrc(mrc);
}

/* The last LMDB failure on this thread, so the caller that reports a
 * STORAGE error up the stack can say which ("MDB_MAP_FULL: ..."). */
static _Thread_local int last_mrc;

const char *st_last_lmdb_error(void)
{
    return last_mrc ? mdb_strerror(last_mrc) : "unknown";
}

static int map_mrc(int mrc)
{
    if (mrc == 0)
        return CHAIN_OK;
    if (mrc == MDB_NOTFOUND)
        return CHAIN_ERR_NOT_FOUND;
    last_mrc = mrc;
    return st_err_of_mrc(mrc);
}

int st_get(MDB_txn *t, MDB_dbi dbi, const void *k, size_t kl, MDB_val *v)
{
    MDB_val key = {kl, (void *)k};
    return map_mrc(mdb_get(t, dbi, &key, v));
}

int st_put(MDB_txn *t, MDB_dbi dbi, const void *k, size_t kl, const void *v, size_t vl,
           unsigned flags)
{
    MDB_val key = {kl, (void *)k}, val = {vl, (void *)v};
    return map_mrc(mdb_put(t, dbi, &key, &val, flags));
}

int st_del(MDB_txn *t, MDB_dbi dbi, const void *k, size_t kl)
{
    MDB_val key = {kl, (void *)k};
    int rc = map_mrc(mdb_del(t, dbi, &key, NULL));
    return rc == CHAIN_ERR_NOT_FOUND ? CHAIN_OK : rc;
}

/* ---- genesis lookups ------------------------------------------------------------------- */

const chain_brand *st_brand_of_gtin(const chain *c, const char *gtin)
{
    for (size_t i = 0; i < c->g->nbrands; i++) {
        const chain_brand *b = &c->g->brands[i];
        for (size_t j = 0; j < b->nprefixes; j++) {
            size_t n = strlen(b->prefixes[j]);
            if (strlen(gtin) >= 1 + n && memcmp(gtin + 1, b->prefixes[j], n) == 0)
                return b;
        }
    }
    return NULL;
}

const chain_brand *st_brand_by_id(const chain *c, const char *id)
{
    for (size_t i = 0; i < c->g->nbrands; i++)
        if (strcmp(c->g->brands[i].id, id) == 0)
            return &c->g->brands[i];
    return NULL;
}

/* ---- open / close ------------------------------------------------------------------- */

static chain_genesis *genesis_copy(const chain_genesis *g)
{
    chain_genesis *d = malloc(sizeof *d);
    if (d == NULL)
        return NULL;
    *d = *g;
    d->participants = NULL;
    if (g->nparticipants > 0) {
        d->participants = malloc(g->nparticipants * sizeof *d->participants);
        if (d->participants == NULL) {
            free(d);
            return NULL;
        }
        memcpy(d->participants, g->participants, g->nparticipants * sizeof *d->participants);
    }
    return d;
}

/* Seeds a new ledger from the genesis: brands as participants of role brand,
 * participants, nodes, key indexes and the height-0 head. */
static int init_from_genesis(chain *c, MDB_txn *t)
{
    const chain_genesis *g = c->g;
    int rc = CHAIN_OK;
    for (size_t i = 0; rc == CHAIN_OK && i < g->nbrands; i++) {
        chain_participant p;
        memset(&p, 0, sizeof p);
        snprintf(p.id, sizeof p.id, "%s", g->brands[i].id);
        snprintf(p.name, sizeof p.name, "%s", g->brands[i].name);
        snprintf(p.brand, sizeof p.brand, "%s", g->brands[i].id);
        p.role = CHAIN_ROLE_BRAND;
        memcpy(p.pub, g->brands[i].pub, CHAIN_KEY_LEN);
        rc = st_part_put(c, t, &p);
        if (rc == CHAIN_OK)
            rc = st_pkey_put(c, t, p.pub, p.id, true);
    }
    for (size_t i = 0; rc == CHAIN_OK && i < g->nparticipants; i++) {
        chain_participant p = g->participants[i];
        p.revoked = false;
        rc = st_part_put(c, t, &p);
        if (rc == CHAIN_OK)
            rc = st_pkey_put(c, t, p.pub, p.id, true);
    }
    for (size_t i = 0; rc == CHAIN_OK && i < g->nnodes; i++) {
        st_node n = g->nodes[i];
        n.removed = false;
        rc = st_node_put(c, t, &n);
        if (rc == CHAIN_OK)
            rc = st_uint_put(t, c->dbi[DB_NKEYS], n.pub, CHAIN_KEY_LEN, n.id);
    }
    if (rc)
        return rc;
    st_head h;
    memset(&h, 0, sizeof h);
    memcpy(h.id, g->chain_id, CHAIN_HASH_LEN);
    h.time = g->time * 1000;
    memcpy(h.digest, c->digest0, CHAIN_HASH_LEN);
    if ((rc = st_head_put(c, t, &h)))
        return rc;
    if ((rc = st_uint_put(t, c->dbi[DB_META], "applied", 7, 0)))
        return rc;
    return st_put(t, c->dbi[DB_META], "chain_id", 8, g->chain_id, CHAIN_HASH_LEN, 0);
}

void chain_close(chain *c)
{
    if (c == NULL)
        return;
    if (c->env != NULL)
        mdb_env_close(c->env);
    if (c->pc_fd >= 0)
        close(c->pc_fd);
    chain_genesis_free(c->g);
    free(c);
}

const chain_genesis *chain_genesis_of(const chain *c)
{
    return c->g;
}

/* A chain.mdb shorter than its last page (a truncated copy) would fault on
 * the first read past its end: refuse it while it is still only opened. */
static int st_file_complete(MDB_env *env, const char *path, char *errmsg, size_t errmsg_len)
{
    MDB_envinfo info;
    MDB_stat st;
    struct stat sb;
    if (mdb_env_info(env, &info) != 0 || mdb_env_stat(env, &st) != 0 || stat(path, &sb) != 0)
        return CHAIN_OK; /* nothing to compare with: the reads report their own errors */
    uint64_t need = ((uint64_t)info.me_last_pgno + 1) * st.ms_psize;
    if ((uint64_t)sb.st_size >= need)
        return CHAIN_OK;
    if (errmsg != NULL && errmsg_len > 0)
        snprintf(errmsg, errmsg_len,
                 "open chain: %s is truncated (%lld bytes, its last page ends at %llu)", path,
                 (long long)sb.st_size, (unsigned long long)need);
    return CHAIN_ERR_STORAGE;
}

int chain_open(chain **out, const char *dir, const chain_genesis *g, const chain_options *opt,
               char *errmsg, size_t errmsg_len)
{
    char path[4096];
    MDB_txn *t = NULL;
    int rc, mrc;
    if (errmsg != NULL && errmsg_len > 0)
        errmsg[0] = '\0';
    chain *c = calloc(1, sizeof *c);
    if (c == NULL)
        return CHAIN_ERR_NOMEM;
    c->pc_fd = -1;
    if ((c->g = genesis_copy(g)) == NULL) {
        rc = CHAIN_ERR_NOMEM;
        goto fail;
    }
    chain_tagged_hash(c->digest0, CHAIN_TAG_STATE, g->chain_id, CHAIN_HASH_LEN);
    c->verify_threads = opt != NULL && opt->verify_threads > 1 ? opt->verify_threads : 1;
    if (c->verify_threads > 16)
        c->verify_threads = 16;
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        if (errmsg != NULL && errmsg_len > 0)
            snprintf(errmsg, errmsg_len, "open chain: mkdir %s: %s", dir, strerror(errno));
        rc = CHAIN_ERR_STORAGE;
        goto fail;
    }
    if ((size_t)snprintf(path, sizeof path, "%s/chain.mdb", dir) >= sizeof path) {
        if (errmsg != NULL && errmsg_len > 0)
            snprintf(errmsg, errmsg_len, "open chain: path too long");
        rc = CHAIN_ERR_INVALID;
        goto fail;
    }
    size_t map = opt != NULL && opt->map_size ? opt->map_size : ((size_t)64 << 30);
    unsigned flags = MDB_NOSUBDIR | MDB_NOTLS | MDB_NORDAHEAD;
    if (opt != NULL && opt->no_sync)
        flags |= MDB_NOSYNC;
    else if (opt != NULL && opt->defer_meta_sync)
        flags |= MDB_NOMETASYNC;
    if ((mrc = mdb_env_create(&c->env)) || (mrc = mdb_env_set_maxdbs(c->env, DB__COUNT + 2)) ||
        (mrc = mdb_env_set_mapsize(c->env, map)) || (mrc = mdb_env_set_maxreaders(c->env, 254)) ||
        (mrc = mdb_env_open(c->env, path, flags, 0600)) ||
        (mrc = mdb_reader_check(c->env, NULL)) || /* slots of crashed readers pin old pages */
        (mrc = mdb_txn_begin(c->env, NULL, 0, &t))) {
        rc = st_lmdb_err(mrc, "open chain", errmsg, errmsg_len);
        goto fail;
    }
    if ((rc = st_file_complete(c->env, path, errmsg, errmsg_len)) != CHAIN_OK)
        goto fail;
    c->pc_fd = st_pagecache_open(path);
    for (int i = 0; i < DB__COUNT; i++)
        if ((mrc = mdb_dbi_open(t, db_names[i], MDB_CREATE, &c->dbi[i]))) {
            rc = st_lmdb_err(mrc, "open chain: database", errmsg, errmsg_len);
            goto fail;
        }
    MDB_dbi old_events; /* older ledgers kept events apart from their units */
    if (mdb_dbi_open(t, "events", 0, &old_events) == 0) {
        if (errmsg != NULL && errmsg_len > 0)
            snprintf(errmsg, errmsg_len,
                     "open chain: %s is in an older format (a separate events database); "
                     "start this node on an empty data directory and it catches up from the "
                     "others",
                     path);
        rc = CHAIN_ERR_STORAGE;
        goto fail;
    }
    MDB_val v;
    rc = st_get(t, c->dbi[DB_META], "chain_id", 8, &v);
    if (rc == CHAIN_ERR_NOT_FOUND) {
        if ((rc = init_from_genesis(c, t))) {
            if (errmsg != NULL && errmsg_len > 0)
                snprintf(errmsg, errmsg_len, "open chain: cannot write genesis state");
            goto fail;
        }
    } else if (rc) {
        goto fail;
    } else if (v.mv_size != CHAIN_HASH_LEN || memcmp(v.mv_data, g->chain_id, CHAIN_HASH_LEN)) {
        if (errmsg != NULL && errmsg_len > 0)
            snprintf(errmsg, errmsg_len, "open chain: %s holds another chain (genesis differs)",
                     dir);
        rc = CHAIN_ERR_BAD_GENESIS;
        goto fail;
    }
    uint64_t applied = 0;
    if ((rc = st_uint_get(t, c->dbi[DB_META], "applied", 7, &applied)))
        goto fail;
    atomic_store(&c->applied, applied);
    if ((mrc = mdb_txn_commit(t))) {
        t = NULL;
        rc = st_lmdb_err(mrc, "open chain: commit", errmsg, errmsg_len);
        goto fail;
    }
    *out = c;
    return CHAIN_OK;
fail:
    if (t != NULL)
        mdb_txn_abort(t);
    chain_close(c);
    return rc;
}

uint64_t chain_storage_bytes(chain *c)
{
    MDB_envinfo info;
    MDB_stat st;
    if (mdb_env_info(c->env, &info) != 0 || mdb_env_stat(c->env, &st) != 0)
        return 0;
    return ((uint64_t)info.me_last_pgno + 1) * st.ms_psize;
}

uint64_t chain_applied_index(chain *c)
{
    return atomic_load(&c->applied);
}

/* ---- reads --------------------------------------------------------------------------- */

int chain_rd_begin(chain *c, chain_rd **out)
{
    chain_rd *rd = malloc(sizeof *rd);
    if (rd == NULL)
        return CHAIN_ERR_NOMEM;
    rd->c = c;
    int mrc = mdb_txn_begin(c->env, NULL, MDB_RDONLY, &rd->txn);
    if (mrc) {
        free(rd);
        return st_lmdb_err(mrc, "read", NULL, 0);
    }
    *out = rd;
    return CHAIN_OK;
}

void chain_rd_end(chain_rd *rd)
{
    if (rd == NULL)
        return;
    mdb_txn_abort(rd->txn);
    free(rd);
}

int chain_head_get(chain_rd *rd, chain_head *out)
{
    st_head h;
    int rc = st_head_get(rd->c, rd->txn, &h);
    if (rc)
        return rc;
    uint64_t applied = 0;
    if ((rc = st_uint_get(rd->txn, rd->c->dbi[DB_META], "applied", 7, &applied)))
        return rc;
    out->height = h.height;
    memcpy(out->id, h.id, CHAIN_HASH_LEN);
    out->time = h.time;
    memcpy(out->state_digest, h.digest, CHAIN_HASH_LEN);
    out->applied_index = applied;
    out->units = h.units;
    out->txs = h.txs;
    return CHAIN_OK;
}

int chain_unit_get(chain_rd *rd, chain_unit *out, const char *gtin, const char *serial)
{
    st_unit u;
    int rc = st_unit_get(rd->c, rd->txn, &u, gtin, serial);
    if (rc == CHAIN_OK)
        *out = u.u;
    return rc;
}

int chain_unit_history(chain_rd *rd, const char *gtin, const char *serial, uint32_t from,
                       uint32_t max, chain_event_fn fn, void *ctx)
{
    st_unit u;
    int rc = st_unit_get(rd->c, rd->txn, &u, gtin, serial);
    if (rc)
        return rc;
    uint32_t end = u.u.nevents;
    if (max != 0 && from < end && end - from > max)
        end = from + max;
    for (uint32_t s = from; s < end; s++) {
        chain_event ev;
        if ((rc = st_event_get(rd->c, rd->txn, &ev, gtin, serial, s)))
            return rc;
        if (fn(ctx, &ev) != 0)
            break;
    }
    return CHAIN_OK;
}

int chain_lot_get(chain_rd *rd, chain_lot *out, const char *gtin, const char *lot)
{
    return st_lot_get(rd->c, rd->txn, out, gtin, lot);
}

/* Walks keys of dbi that start with prefix[plen], strictly after `after`
 * (a full key, or NULL), calling fn with the key suffix; stops after max (0: all). */
typedef int (*walk_fn)(void *ctx, const uint8_t *key, size_t klen);
static int walk_prefix(MDB_txn *t, MDB_dbi dbi, const uint8_t *prefix, size_t plen,
                       const uint8_t *after, size_t alen, uint32_t max, walk_fn fn, void *ctx)
{
    MDB_cursor *cur;
    int mrc = mdb_cursor_open(t, dbi, &cur);
    if (mrc)
        return map_mrc(mrc);
    MDB_val k = {after != NULL ? alen : plen, (void *)(after != NULL ? after : prefix)}, v;
    mrc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    if (mrc == 0 && after != NULL && k.mv_size == alen && memcmp(k.mv_data, after, alen) == 0)
        mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    uint32_t n = 0;
    int rc = CHAIN_OK;
    while (mrc == 0) {
        if (k.mv_size < plen || memcmp(k.mv_data, prefix, plen) != 0)
            break;
        if (fn(ctx, k.mv_data, k.mv_size) != 0)
            break;
        if (max != 0 && ++n >= max)
            break;
        mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    if (mrc != 0 && mrc != MDB_NOTFOUND)
        rc = map_mrc(mrc);
    mdb_cursor_close(cur);
    return rc;
}

typedef struct unit_walk {
    chain_unit_fn fn;
    void *ctx;
    size_t gtin_off, serial_off; /* where the gtin and padded serial sit in the key */
} unit_walk;

static int unit_walk_cb(void *ctx, const uint8_t *key, size_t klen)
{
    unit_walk *w = ctx;
    (void)klen;
    gs1_sgtin id;
    memcpy(id.gtin, key + w->gtin_off, GS1_GTIN_LEN);
    id.gtin[GS1_GTIN_LEN] = '\0';
    memcpy(id.serial, key + w->serial_off, GS1_SERIAL_MAX);
    id.serial[GS1_SERIAL_MAX] = '\0';
    return w->fn(w->ctx, &id);
}

int chain_lot_units(chain_rd *rd, const char *gtin, const char *lot, const char *after,
                    uint32_t max, chain_unit_fn fn, void *ctx)
{
    uint8_t prefix[ST_LOT_KEY], from[ST_LOTU_KEY];
    st_key_lot(prefix, gtin, lot);
    memcpy(from, prefix, ST_LOT_KEY);
    st_pad(from + ST_LOT_KEY, GS1_SERIAL_MAX, after != NULL ? after : "");
    unit_walk w = {fn, ctx, 0, ST_LOT_KEY};
    bool has_after = after != NULL && after[0] != '\0';
    return walk_prefix(rd->txn, rd->c->dbi[DB_LOT_UNITS], prefix, sizeof prefix,
                       has_after ? from : NULL, sizeof from, max, unit_walk_cb, &w);
}

int chain_owner_units(chain_rd *rd, const uint8_t key[CHAIN_KEY_LEN], const gs1_sgtin *after,
                      uint32_t max, chain_unit_fn fn, void *ctx)
{
    uint8_t from[ST_OWNER_KEY];
    memcpy(from, key, CHAIN_KEY_LEN);
    if (after != NULL)
        st_key_unit(from + CHAIN_KEY_LEN, after->gtin, after->serial);
    unit_walk w = {fn, ctx, CHAIN_KEY_LEN, CHAIN_KEY_LEN + GS1_GTIN_LEN};
    return walk_prefix(rd->txn, rd->c->dbi[DB_OWNERS], key, CHAIN_KEY_LEN,
                       after != NULL ? from : NULL, sizeof from, max, unit_walk_cb, &w);
}

int chain_tx_get(chain_rd *rd, chain_receipt *rc_out, const uint8_t **raw, size_t *raw_len,
                 const uint8_t id[CHAIN_HASH_LEN])
{
    chain_receipt r;
    uint32_t off = 0, len = 0;
    int rc = st_txrec_get(rd->c, rd->txn, &r, &off, &len, id);
    if (rc)
        return rc;
    if (raw != NULL) {
        uint8_t k[8];
        st_be64(k, r.height);
        MDB_val v;
        if ((rc = st_get(rd->txn, rd->c->dbi[DB_BLOCKS], k, sizeof k, &v)))
            return CHAIN_ERR_STORAGE;
        if ((size_t)off + len > v.mv_size)
            return CHAIN_ERR_STORAGE;
        *raw = (const uint8_t *)v.mv_data + off;
        if (raw_len != NULL)
            *raw_len = len;
    }
    if (rc_out != NULL)
        *rc_out = r;
    return CHAIN_OK;
}

int chain_block_get(chain_rd *rd, const uint8_t **raw, size_t *raw_len, uint64_t height)
{
    uint8_t k[8];
    st_be64(k, height);
    MDB_val v;
    int rc = st_get(rd->txn, rd->c->dbi[DB_BLOCKS], k, sizeof k, &v);
    if (rc)
        return rc;
    *raw = v.mv_data;
    *raw_len = v.mv_size;
    return CHAIN_OK;
}

int chain_participant_get(chain_rd *rd, chain_participant *out, const char *id)
{
    return st_part_get(rd->c, rd->txn, out, id);
}

int chain_participant_by_key(chain_rd *rd, chain_participant *out, const uint8_t key[CHAIN_KEY_LEN])
{
    char id[CHAIN_ID_MAX + 1];
    bool current;
    int rc = st_pkey_get(rd->c, rd->txn, key, id, &current);
    if (rc)
        return rc;
    if (!current)
        return CHAIN_ERR_NOT_FOUND; /* a key rotated away from names no one now */
    return st_part_get(rd->c, rd->txn, out, id);
}

int chain_participants(chain_rd *rd, chain_participant_fn fn, void *ctx)
{
    MDB_cursor *cur;
    int mrc = mdb_cursor_open(rd->txn, rd->c->dbi[DB_PARTS], &cur);
    if (mrc)
        return map_mrc(mrc);
    MDB_val k, v;
    int rc = CHAIN_OK;
    for (mrc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); mrc == 0;
         mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        char id[CHAIN_ID_MAX + 1];
        if (k.mv_size > CHAIN_ID_MAX) {
            rc = CHAIN_ERR_STORAGE;
            break;
        }
        memcpy(id, k.mv_data, k.mv_size);
        id[k.mv_size] = '\0';
        chain_participant p;
        if ((rc = st_part_get(rd->c, rd->txn, &p, id)))
            break;
        if (fn(ctx, &p) != 0)
            break;
    }
    if (rc == CHAIN_OK && mrc != 0 && mrc != MDB_NOTFOUND)
        rc = map_mrc(mrc);
    mdb_cursor_close(cur);
    return rc;
}

size_t chain_nodes(chain_rd *rd, chain_node_info *out, size_t max)
{
    MDB_cursor *cur;
    if (mdb_cursor_open(rd->txn, rd->c->dbi[DB_NODES], &cur))
        return 0;
    MDB_val k, v;
    size_t n = 0;
    for (int mrc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); mrc == 0 && n < max;
         mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        st_node node;
        if (k.mv_size != 8 || st_node_get(rd->c, rd->txn, &node, st_rd_be64(k.mv_data)))
            continue;
        if (!node.removed)
            out[n++] = node;
    }
    mdb_cursor_close(cur);
    return n;
}

int chain_node_get(chain_rd *rd, uint64_t id, chain_node_info *out)
{
    return st_node_get(rd->c, rd->txn, out, id);
}

uint64_t chain_nonce_next(chain_rd *rd, const uint8_t key[CHAIN_KEY_LEN])
{
    uint64_t last = 0;
    if (st_uint_get(rd->txn, rd->c->dbi[DB_NONCES], key, CHAIN_KEY_LEN, &last) != CHAIN_OK)
        last = 0;
    return last + 1;
}

int chain_resolver_current(chain_rd *rd, char out[CHAIN_RESOLVER_MAX + 1])
{
    MDB_val v;
    int rc = st_get(rd->txn, rd->c->dbi[DB_META], "resolver", 8, &v);
    if (rc == CHAIN_ERR_NOT_FOUND) {
        snprintf(out, CHAIN_RESOLVER_MAX + 1, "%s", rd->c->g->resolver);
        return CHAIN_OK;
    }
    out[0] = '\0';
    if (rc)
        return rc;
    if (v.mv_size > CHAIN_RESOLVER_MAX)
        return CHAIN_ERR_STORAGE;
    memcpy(out, v.mv_data, v.mv_size);
    out[v.mv_size] = '\0';
    return CHAIN_OK;
}

int chain_rp_current(chain_rd *rd, chain_rp *out)
{
    return st_rp_current(rd->c, rd->txn, out);
}

void chain_policy_effective(chain_rd *rd, chain_policy *out, const char *gtin, const char *lot)
{
    (void)!st_policy_effective(rd->c, rd->txn, out, gtin, lot); /* void in the contract */
}

int chain_scan_stats_get(chain_rd *rd, chain_scan_stats *out, const char *gtin, const char *serial)
{
    uint8_t k[ST_UNIT_KEY];
    st_key_unit(k, gtin, serial);
    int rc = st_stats_get(rd->c, rd->txn, out, k);
    if (rc == CHAIN_ERR_NOT_FOUND) {
        /* A known unit that was never scanned has zero stats, not "not found". */
        MDB_val v;
        if (st_get(rd->txn, rd->c->dbi[DB_UNITS], k, sizeof k, &v) == CHAIN_OK) {
            memset(out, 0, sizeof *out);
            return CHAIN_OK;
        }
    }
    return rc;
}

void chain_set_verified(chain *c, chain_verified_fn known, void *ctx)
{
    c->verified = known;
    c->verified_ctx = ctx;
}
