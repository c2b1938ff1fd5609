/*
 * state.c — the ledger state in one LMDB environment: open/close, the stored
 * record formats, and every read of chain.h (chain_rd_*, lookups).
 *
 * Layout: the named databases of enum st_db (state_int.h), opened once in
 * chain_open. Keys are fixed-format bytes; values are canonical CBOR maps
 * with a fixed key set per record kind, written in canonical key order (the
 * ww_key assert keeps us honest) and read back in that same order, so a
 * stored record has one encoding and decoding is a straight walk. A record
 * that does not read back is storage corruption (CHAIN_ERR_STORAGE).
 *
 * Threads: MDB_NOTLS lets a read transaction live on any thread; every
 * chain_rd is one read transaction, so readers never wait for the writer
 * (chain_block_apply in apply.c) and see whole blocks only.
 */
#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "chain/cbor_util.h"
#include "chain/state_int.h"

static const char *const db_names[DB__COUNT] = {
    "meta",      "blocks",   "txs",        "units",        "events", "lots",
    "lot_units", "owners",   "parts",      "pkeys",        "nonces", "nodes",
    "nodekeys",  "policies", "scan_stats", "scan_clients", "probes",
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

static void pad_copy(uint8_t *dst, size_t cap, const char *s)
{
    size_t n = strnlen(s, cap);
    memcpy(dst, s, n);
    memset(dst + n, 0, cap - n);
}

void st_key_unit(uint8_t k[ST_UNIT_KEY], const char *gtin, const char *serial)
{
    pad_copy(k, GS1_GTIN_LEN, gtin);
    pad_copy(k + GS1_GTIN_LEN, GS1_SERIAL_MAX, serial);
}

void st_key_lot(uint8_t k[ST_LOT_KEY], const char *gtin, const char *lot)
{
    pad_copy(k, GS1_GTIN_LEN, gtin);
    pad_copy(k + GS1_GTIN_LEN, GS1_LOT_MAX, lot);
}

void st_key_unit_split(gs1_sgtin *id, const uint8_t k[ST_UNIT_KEY])
{
    memcpy(id->gtin, k, GS1_GTIN_LEN);
    id->gtin[GS1_GTIN_LEN] = '\0';
    memcpy(id->serial, k + GS1_GTIN_LEN, GS1_SERIAL_MAX);
    id->serial[GS1_SERIAL_MAX] = '\0';
}

int st_lmdb_err(int mrc, const char *what, char *errmsg, size_t errmsg_len)
{
    if (errmsg != NULL && errmsg_len > 0)
        snprintf(errmsg, errmsg_len, "%s: lmdb: %s", what, mdb_strerror(mrc));
    return mrc == ENOMEM ? CHAIN_ERR_NOMEM : CHAIN_ERR_STORAGE;
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
    return mrc == ENOMEM ? CHAIN_ERR_NOMEM : CHAIN_ERR_STORAGE;
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

/* ---- record writer/reader: fixed key sets in canonical order ----------------------- */

#define REC_MAX 4096

typedef struct ww {
    cbu_wr w;
    uint8_t buf[REC_MAX];
    const char *last;
} ww;

static void ww_init(ww *x, size_t nkeys)
{
    cbu_wr_init_fixed(&x->w, x->buf, sizeof x->buf);
    x->last = NULL;
    cbu_put_map(&x->w, nkeys);
}

static void ww_key(ww *x, const char *k)
{
    assert(x->last == NULL || cbu_key_less(x->last, strlen(x->last), k, strlen(k)));
    x->last = k;
    cbu_put_key(&x->w, k);
}

static void ww_uint(ww *x, const char *k, uint64_t v)
{
    ww_key(x, k);
    cbu_put_uint(&x->w, v);
}

static void ww_text(ww *x, const char *k, const char *s)
{
    ww_key(x, k);
    cbu_put_cstr(&x->w, s);
}

static void ww_bytes(ww *x, const char *k, const uint8_t *p, size_t n)
{
    ww_key(x, k);
    cbu_put_bytes(&x->w, p, n);
}

static void ww_bool(ww *x, const char *k, bool b)
{
    ww_key(x, k);
    cbu_put_bool(&x->w, b);
}

static int ww_put(ww *x, MDB_txn *t, MDB_dbi dbi, const void *k, size_t kl, unsigned flags)
{
    uint8_t *out;
    size_t len;
    if (cbu_wr_finish(&x->w, &out, &len) != CHAIN_OK)
        return CHAIN_ERR_STORAGE; /* a record never outgrows REC_MAX: bounded fields */
    return st_put(t, dbi, k, kl, out, len, flags);
}

typedef struct rr {
    cbu_rd r;
    cbu_keys k;
    int rc;
} rr;

static void rr_init(rr *x, const MDB_val *v, size_t nkeys)
{
    cbu_rd_init(&x->r, v->mv_data, v->mv_size, NULL, 0);
    x->k = (cbu_keys)CBU_KEYS_INIT;
    size_t n = 0;
    x->rc = cbu_get_map(&x->r, &n, 64, "record");
    if (x->rc == CHAIN_OK && n != nkeys)
        x->rc = CHAIN_ERR_MALFORMED;
}

static bool rr_key(rr *x, const char *name)
{
    if (x->rc)
        return false;
    const char *k;
    size_t kl;
    x->rc = cbu_get_key(&x->r, &x->k, &k, &kl);
    if (x->rc == CHAIN_OK && !cbu_key_is(k, kl, name))
        x->rc = CHAIN_ERR_MALFORMED;
    return x->rc == CHAIN_OK;
}

static void rr_uint(rr *x, const char *k, uint64_t *v)
{
    if (rr_key(x, k))
        x->rc = cbu_get_uint(&x->r, v, k);
}

static void rr_u32(rr *x, const char *k, uint32_t *v)
{
    uint64_t u = 0;
    if (rr_key(x, k))
        x->rc = cbu_get_uint_max(&x->r, &u, UINT32_MAX, k);
    *v = (uint32_t)u;
}

static void rr_int(rr *x, const char *k, int *v)
{
    uint64_t u = 0;
    if (rr_key(x, k))
        x->rc = cbu_get_uint_max(&x->r, &u, INT32_MAX, k);
    *v = (int)u;
}

static void rr_text(rr *x, const char *k, char *out, size_t cap)
{
    if (rr_key(x, k))
        x->rc = cbu_get_text(&x->r, out, cap, k);
}

static void rr_bytes(rr *x, const char *k, uint8_t *out, size_t n)
{
    if (rr_key(x, k))
        x->rc = cbu_get_bytes_n(&x->r, out, n, k);
}

/* Optional fixed-size bytes: empty means absent. */
static void rr_bytes_opt(rr *x, const char *k, uint8_t *out, size_t n, bool *has)
{
    const uint8_t *p = NULL;
    size_t len = 0;
    if (rr_key(x, k))
        x->rc = cbu_get_bytes(&x->r, &p, &len, n, k);
    if (x->rc == CHAIN_OK && len != 0 && len != n)
        x->rc = CHAIN_ERR_MALFORMED;
    *has = x->rc == CHAIN_OK && len == n;
    if (*has)
        memcpy(out, p, n);
    else
        memset(out, 0, n);
}

static void rr_bool(rr *x, const char *k, bool *b)
{
    if (rr_key(x, k))
        x->rc = cbu_get_bool(&x->r, b, k);
}

static int rr_done(rr *x)
{
    if (x->rc == CHAIN_OK)
        x->rc = cbu_rd_done(&x->r);
    return x->rc ? CHAIN_ERR_STORAGE : CHAIN_OK;
}

/* ---- records ------------------------------------------------------------------------ */

int st_uint_get(MDB_txn *t, MDB_dbi dbi, const void *k, size_t kl, uint64_t *v)
{
    MDB_val val;
    int rc = st_get(t, dbi, k, kl, &val);
    if (rc)
        return rc;
    cbu_rd r;
    cbu_rd_init(&r, val.mv_data, val.mv_size, NULL, 0);
    if (cbu_get_uint(&r, v, "uint") || cbu_rd_done(&r))
        return CHAIN_ERR_STORAGE;
    return CHAIN_OK;
}

int st_uint_put(MDB_txn *t, MDB_dbi dbi, const void *k, size_t kl, uint64_t v)
{
    uint8_t buf[9];
    cbu_wr w;
    cbu_wr_init_fixed(&w, buf, sizeof buf);
    cbu_put_uint(&w, v);
    uint8_t *out;
    size_t len;
    if (cbu_wr_finish(&w, &out, &len))
        return CHAIN_ERR_STORAGE;
    return st_put(t, dbi, k, kl, out, len, 0);
}

int st_head_get(chain *c, MDB_txn *t, st_head *h)
{
    MDB_val v;
    int rc = st_get(t, c->dbi[DB_META], "head", 4, &v);
    if (rc)
        return rc == CHAIN_ERR_NOT_FOUND ? CHAIN_ERR_STORAGE : rc;
    rr x;
    rr_init(&x, &v, 6);
    rr_bytes(&x, "id", h->id, CHAIN_HASH_LEN);
    rr_uint(&x, "txs", &h->txs);
    rr_uint(&x, "time", &h->time);
    rr_uint(&x, "units", &h->units);
    rr_bytes(&x, "digest", h->digest, CHAIN_HASH_LEN);
    rr_uint(&x, "height", &h->height);
    return rr_done(&x);
}

int st_head_put(chain *c, MDB_txn *t, const st_head *h)
{
    ww x;
    ww_init(&x, 6);
    ww_bytes(&x, "id", h->id, CHAIN_HASH_LEN);
    ww_uint(&x, "txs", h->txs);
    ww_uint(&x, "time", h->time);
    ww_uint(&x, "units", h->units);
    ww_bytes(&x, "digest", h->digest, CHAIN_HASH_LEN);
    ww_uint(&x, "height", h->height);
    return ww_put(&x, t, c->dbi[DB_META], "head", 4, 0);
}

int st_unit_get(chain *c, MDB_txn *t, st_unit *out, const char *gtin, const char *serial)
{
    uint8_t k[ST_UNIT_KEY];
    st_key_unit(k, gtin, serial);
    MDB_val v;
    int rc = st_get(t, c->dbi[DB_UNITS], k, sizeof k, &v);
    if (rc)
        return rc;
    st_unit s;
    memset(&s, 0, sizeof s);
    chain_unit *u = &s.u;
    st_key_unit_split(&u->id, k);
    uint64_t state = 0, flags = 0;
    bool has_claim = false;
    rr x;
    rr_init(&x, &v, 18);
    rr_text(&x, "lot", u->lot, sizeof u->lot);
    rr_bytes(&x, "lsig", u->label_sig, CHAIN_SIG_LEN);
    rr_uint(&x, "sold", &u->sold_at);
    rr_uint(&x, "wend", &u->warranty_end);
    rr_text(&x, "brand", u->brand, sizeof u->brand);
    rr_bytes_opt(&x, "claim", s.claim_hash, CHAIN_HASH_LEN, &has_claim);
    rr_uint(&x, "flags", &flags);
    rr_text(&x, "model", u->model, sizeof u->model);
    rr_bytes_opt(&x, "owner", u->owner, CHAIN_KEY_LEN, &u->has_owner);
    rr_uint(&x, "state", &state);
    rr_u32(&x, "claims", &u->open_claims);
    rr_u32(&x, "events", &u->nevents);
    rr_text(&x, "expiry", u->expiry, sizeof u->expiry);
    rr_text(&x, "holder", u->holder, sizeof u->holder);
    rr_uint(&x, "minted", &u->minted_at);
    rr_u32(&x, "months", &u->warranty_months);
    rr_text(&x, "seller", s.seller, sizeof s.seller);
    rr_bool(&x, "wactive", &u->warranty_active);
    if ((rc = rr_done(&x)))
        return rc;
    u->state = (int)state;
    u->flags = (unsigned)flags;
    u->claim_pending = has_claim;
    *out = s;
    return CHAIN_OK;
}

int st_unit_put(chain *c, MDB_txn *t, const st_unit *s, unsigned flags)
{
    const chain_unit *u = &s->u;
    ww x;
    ww_init(&x, 18);
    ww_text(&x, "lot", u->lot);
    ww_bytes(&x, "lsig", u->label_sig, CHAIN_SIG_LEN);
    ww_uint(&x, "sold", u->sold_at);
    ww_uint(&x, "wend", u->warranty_end);
    ww_text(&x, "brand", u->brand);
    ww_bytes(&x, "claim", s->claim_hash, u->claim_pending ? CHAIN_HASH_LEN : 0);
    ww_uint(&x, "flags", u->flags);
    ww_text(&x, "model", u->model);
    ww_bytes(&x, "owner", u->owner, u->has_owner ? CHAIN_KEY_LEN : 0);
    ww_uint(&x, "state", (uint64_t)u->state);
    ww_uint(&x, "claims", u->open_claims);
    ww_uint(&x, "events", u->nevents);
    ww_text(&x, "expiry", u->expiry);
    ww_text(&x, "holder", u->holder);
    ww_uint(&x, "minted", u->minted_at);
    ww_uint(&x, "months", u->warranty_months);
    ww_text(&x, "seller", s->seller);
    ww_bool(&x, "wactive", u->warranty_active);
    uint8_t k[ST_UNIT_KEY];
    st_key_unit(k, u->id.gtin, u->id.serial);
    return ww_put(&x, t, c->dbi[DB_UNITS], k, sizeof k, flags);
}

int st_part_get(chain *c, MDB_txn *t, chain_participant *out, const char *id)
{
    MDB_val v;
    int rc = st_get(t, c->dbi[DB_PARTS], id, strlen(id), &v);
    if (rc)
        return rc;
    chain_participant p;
    memset(&p, 0, sizeof p);
    rr x;
    rr_init(&x, &v, 7);
    rr_text(&x, "id", p.id, sizeof p.id);
    rr_bytes(&x, "pub", p.pub, CHAIN_KEY_LEN);
    rr_text(&x, "name", p.name, sizeof p.name);
    rr_int(&x, "role", &p.role);
    rr_text(&x, "brand", p.brand, sizeof p.brand);
    if (rr_key(&x, "regions")) {
        size_t n = 0;
        x.rc = cbu_get_array(&x.r, &n, CHAIN_REGIONS_MAX, "regions");
        for (size_t i = 0; x.rc == CHAIN_OK && i < n; i++)
            x.rc = cbu_get_text(&x.r, p.regions[i], sizeof p.regions[i], "region");
        p.nregions = n;
    }
    rr_bool(&x, "revoked", &p.revoked);
    if ((rc = rr_done(&x)))
        return rc;
    *out = p;
    return CHAIN_OK;
}

int st_part_put(chain *c, MDB_txn *t, const chain_participant *p)
{
    ww x;
    ww_init(&x, 7);
    ww_text(&x, "id", p->id);
    ww_bytes(&x, "pub", p->pub, CHAIN_KEY_LEN);
    ww_text(&x, "name", p->name);
    ww_uint(&x, "role", (uint64_t)p->role);
    ww_text(&x, "brand", p->brand);
    ww_key(&x, "regions");
    cbu_put_array(&x.w, p->nregions);
    for (size_t i = 0; i < p->nregions; i++)
        cbu_put_cstr(&x.w, p->regions[i]);
    ww_bool(&x, "revoked", p->revoked);
    return ww_put(&x, t, c->dbi[DB_PARTS], p->id, strlen(p->id), 0);
}

int st_pkey_get(chain *c, MDB_txn *t, const uint8_t key[CHAIN_KEY_LEN], char id[CHAIN_ID_MAX + 1],
                bool *current)
{
    MDB_val v;
    int rc = st_get(t, c->dbi[DB_PKEYS], key, CHAIN_KEY_LEN, &v);
    if (rc)
        return rc;
    cbu_rd r;
    cbu_rd_init(&r, v.mv_data, v.mv_size, NULL, 0);
    size_t n;
    if (cbu_get_array(&r, &n, 2, "pkey") || n != 2 ||
        cbu_get_text(&r, id, CHAIN_ID_MAX + 1, "id") || cbu_get_bool(&r, current, "current") ||
        cbu_rd_done(&r))
        return CHAIN_ERR_STORAGE;
    return CHAIN_OK;
}

int st_pkey_put(chain *c, MDB_txn *t, const uint8_t key[CHAIN_KEY_LEN], const char *id,
                bool current)
{
    uint8_t buf[64];
    cbu_wr w;
    cbu_wr_init_fixed(&w, buf, sizeof buf);
    cbu_put_array(&w, 2);
    cbu_put_cstr(&w, id);
    cbu_put_bool(&w, current);
    uint8_t *out;
    size_t len;
    if (cbu_wr_finish(&w, &out, &len))
        return CHAIN_ERR_STORAGE;
    return st_put(t, c->dbi[DB_PKEYS], key, CHAIN_KEY_LEN, out, len, 0);
}

int st_node_get(chain *c, MDB_txn *t, st_node *out, uint64_t id)
{
    uint8_t k[8];
    st_be64(k, id);
    MDB_val v;
    int rc = st_get(t, c->dbi[DB_NODES], k, sizeof k, &v);
    if (rc)
        return rc;
    st_node n;
    memset(&n, 0, sizeof n);
    rr x;
    rr_init(&x, &v, 6);
    rr_uint(&x, "id", &n.id);
    rr_bytes(&x, "pub", n.pub, CHAIN_KEY_LEN);
    rr_text(&x, "http", n.http_addr, sizeof n.http_addr);
    rr_text(&x, "raft", n.raft_addr, sizeof n.raft_addr);
    rr_bool(&x, "removed", &n.removed);
    rr_text(&x, "operator", n.operator_id, sizeof n.operator_id);
    if ((rc = rr_done(&x)))
        return rc;
    *out = n;
    return CHAIN_OK;
}

int st_node_put(chain *c, MDB_txn *t, const st_node *n)
{
    ww x;
    ww_init(&x, 6);
    ww_uint(&x, "id", n->id);
    ww_bytes(&x, "pub", n->pub, CHAIN_KEY_LEN);
    ww_text(&x, "http", n->http_addr);
    ww_text(&x, "raft", n->raft_addr);
    ww_bool(&x, "removed", n->removed);
    ww_text(&x, "operator", n->operator_id);
    uint8_t k[8];
    st_be64(k, n->id);
    return ww_put(&x, t, c->dbi[DB_NODES], k, sizeof k, 0);
}

static int event_decode(chain_event *out, const MDB_val *v)
{
    chain_event e;
    memset(&e, 0, sizeof e);
    rr x;
    rr_init(&x, v, 16);
    rr_text(&x, "to", e.to, sizeof e.to);
    rr_bytes(&x, "tx", e.tx, CHAIN_HASH_LEN);
    rr_bytes_opt(&x, "key", e.key, CHAIN_KEY_LEN, &e.has_key);
    rr_u32(&x, "seq", &e.seq);
    rr_text(&x, "note", e.note, sizeof e.note);
    rr_int(&x, "role", &e.actor_role);
    rr_uint(&x, "time", &e.time);
    rr_int(&x, "type", &e.type);
    rr_bytes(&x, "actor", e.actor, CHAIN_KEY_LEN);
    rr_u32(&x, "index", &e.index);
    rr_uint(&x, "height", &e.height);
    rr_u32(&x, "months", &e.months);
    uint64_t reason = 0;
    rr_uint(&x, "reason", &reason);
    rr_text(&x, "region", e.region, sizeof e.region);
    rr_int(&x, "outcome", &e.outcome);
    rr_text(&x, "actor_id", e.actor_id, sizeof e.actor_id);
    int rc = rr_done(&x);
    if (rc)
        return rc;
    e.reason = (unsigned)reason;
    *out = e;
    return CHAIN_OK;
}

int st_event_get(chain *c, MDB_txn *t, chain_event *out, const char *gtin, const char *serial,
                 uint32_t seq)
{
    uint8_t k[ST_EVENT_KEY];
    st_key_unit(k, gtin, serial);
    st_be32(k + ST_UNIT_KEY, seq);
    MDB_val v;
    int rc = st_get(t, c->dbi[DB_EVENTS], k, sizeof k, &v);
    if (rc)
        return rc == CHAIN_ERR_NOT_FOUND ? CHAIN_ERR_STORAGE : rc;
    return event_decode(out, &v);
}

int st_event_put(chain *c, MDB_txn *t, const gs1_sgtin *id, const chain_event *e)
{
    ww x;
    ww_init(&x, 16);
    ww_text(&x, "to", e->to);
    ww_bytes(&x, "tx", e->tx, CHAIN_HASH_LEN);
    ww_bytes(&x, "key", e->key, e->has_key ? CHAIN_KEY_LEN : 0);
    ww_uint(&x, "seq", e->seq);
    ww_text(&x, "note", e->note);
    ww_uint(&x, "role", (uint64_t)e->actor_role);
    ww_uint(&x, "time", e->time);
    ww_uint(&x, "type", (uint64_t)e->type);
    ww_bytes(&x, "actor", e->actor, CHAIN_KEY_LEN);
    ww_uint(&x, "index", e->index);
    ww_uint(&x, "height", e->height);
    ww_uint(&x, "months", e->months);
    ww_uint(&x, "reason", e->reason);
    ww_text(&x, "region", e->region);
    ww_uint(&x, "outcome", (uint64_t)e->outcome);
    ww_text(&x, "actor_id", e->actor_id);
    uint8_t k[ST_EVENT_KEY];
    st_key_unit(k, id->gtin, id->serial);
    st_be32(k + ST_UNIT_KEY, e->seq);
    /* Events only ever append (MDB_NOOVERWRITE would cost a lookup we know the answer to). */
    return ww_put(&x, t, c->dbi[DB_EVENTS], k, sizeof k, 0);
}

int st_lot_get(chain *c, MDB_txn *t, chain_lot *out, const char *gtin, const char *lot)
{
    uint8_t k[ST_LOT_KEY];
    st_key_lot(k, gtin, lot);
    MDB_val v;
    int rc = st_get(t, c->dbi[DB_LOTS], k, sizeof k, &v);
    if (rc)
        return rc;
    chain_lot l;
    memset(&l, 0, sizeof l);
    rr x;
    rr_init(&x, &v, 8);
    rr_text(&x, "lot", l.lot, sizeof l.lot);
    rr_text(&x, "gtin", l.gtin, sizeof l.gtin);
    rr_text(&x, "model", l.model, sizeof l.model);
    rr_uint(&x, "units", &l.units);
    rr_text(&x, "expiry", l.expiry, sizeof l.expiry);
    rr_uint(&x, "minted", &l.minted_at);
    rr_u32(&x, "months", &l.warranty_months);
    if (rr_key(&x, "markets")) {
        size_t n = 0;
        x.rc = cbu_get_array(&x.r, &n, CHAIN_MARKETS_MAX, "markets");
        for (size_t i = 0; x.rc == CHAIN_OK && i < n; i++)
            x.rc = cbu_get_text(&x.r, l.markets[i], sizeof l.markets[i], "market");
        l.nmarkets = n;
    }
    if ((rc = rr_done(&x)))
        return rc;
    *out = l;
    return CHAIN_OK;
}

int st_lot_put(chain *c, MDB_txn *t, const chain_lot *l)
{
    ww x;
    ww_init(&x, 8);
    ww_text(&x, "lot", l->lot);
    ww_text(&x, "gtin", l->gtin);
    ww_text(&x, "model", l->model);
    ww_uint(&x, "units", l->units);
    ww_text(&x, "expiry", l->expiry);
    ww_uint(&x, "minted", l->minted_at);
    ww_uint(&x, "months", l->warranty_months);
    ww_key(&x, "markets");
    cbu_put_array(&x.w, l->nmarkets);
    for (size_t i = 0; i < l->nmarkets; i++)
        cbu_put_cstr(&x.w, l->markets[i]);
    uint8_t k[ST_LOT_KEY];
    st_key_lot(k, l->gtin, l->lot);
    return ww_put(&x, t, c->dbi[DB_LOTS], k, sizeof k, 0);
}

int st_policy_get(chain *c, MDB_txn *t, chain_policy *out, const uint8_t *k, size_t kl)
{
    MDB_val v;
    int rc = st_get(t, c->dbi[DB_POLICIES], k, kl, &v);
    if (rc)
        return rc;
    chain_policy p;
    memset(&p, 0, sizeof p);
    uint32_t unsold = 0, markets = 0;
    rr x;
    rr_init(&x, &v, 6);
    rr_u32(&x, "months", &p.warranty_months);
    rr_u32(&x, "probes", &p.probe_threshold);
    rr_u32(&x, "travel", &p.travel_kmh);
    rr_u32(&x, "unsold", &unsold);
    rr_u32(&x, "clients", &p.max_clients);
    rr_u32(&x, "markets", &markets);
    if ((rc = rr_done(&x)))
        return rc;
    p.unsold_scan_suspicious = (uint8_t)unsold;
    p.flagged_markets_only = (uint8_t)markets;
    *out = p;
    return CHAIN_OK;
}

int st_policy_put(chain *c, MDB_txn *t, const chain_policy *p, const uint8_t *k, size_t kl)
{
    ww x;
    ww_init(&x, 6);
    ww_uint(&x, "months", p->warranty_months);
    ww_uint(&x, "probes", p->probe_threshold);
    ww_uint(&x, "travel", p->travel_kmh);
    ww_uint(&x, "unsold", p->unsold_scan_suspicious);
    ww_uint(&x, "clients", p->max_clients);
    ww_uint(&x, "markets", p->flagged_markets_only);
    return ww_put(&x, t, c->dbi[DB_POLICIES], k, kl, 0);
}

void st_policy_inherit(chain_policy *p, const chain_policy *s)
{
    if (!p->max_clients)
        p->max_clients = s->max_clients;
    if (!p->travel_kmh)
        p->travel_kmh = s->travel_kmh;
    if (!p->probe_threshold)
        p->probe_threshold = s->probe_threshold;
    if (!p->warranty_months)
        p->warranty_months = s->warranty_months;
    if (!p->unsold_scan_suspicious)
        p->unsold_scan_suspicious = s->unsold_scan_suspicious;
    if (!p->flagged_markets_only)
        p->flagged_markets_only = s->flagged_markets_only;
}

void st_policy_effective(chain *c, MDB_txn *t, chain_policy *out, const char *gtin, const char *lot)
{
    chain_policy acc, p;
    memset(&acc, 0, sizeof acc);
    uint8_t k[1 + CHAIN_ID_MAX + ST_LOT_KEY];
    if (gtin != NULL && gtin[0] != '\0') {
        if (lot != NULL && lot[0] != '\0') {
            k[0] = 'l';
            st_key_lot(k + 1, gtin, lot);
            if (st_policy_get(c, t, &p, k, 1 + ST_LOT_KEY) == CHAIN_OK)
                st_policy_inherit(&acc, &p);
        }
        k[0] = 'g';
        pad_copy(k + 1, GS1_GTIN_LEN, gtin);
        if (st_policy_get(c, t, &p, k, 1 + GS1_GTIN_LEN) == CHAIN_OK)
            st_policy_inherit(&acc, &p);
        const chain_brand *b = st_brand_of_gtin(c, gtin);
        if (b != NULL) {
            size_t n = strlen(b->id);
            k[0] = 'b';
            memcpy(k + 1, b->id, n);
            if (st_policy_get(c, t, &p, k, 1 + n) == CHAIN_OK)
                st_policy_inherit(&acc, &p);
        }
    }
    st_policy_inherit(&acc, &c->g->policy);
    *out = acc;
}

int st_stats_get(chain *c, MDB_txn *t, chain_scan_stats *out, const uint8_t k[ST_UNIT_KEY])
{
    MDB_val v;
    int rc = st_get(t, c->dbi[DB_SCANSTATS], k, ST_UNIT_KEY, &v);
    if (rc)
        return rc;
    chain_scan_stats s;
    memset(&s, 0, sizeof s);
    rr x;
    rr_init(&x, &v, 10);
    rr_uint(&x, "last", &s.last_time);
    rr_uint(&x, "first", &s.first_time);
    rr_uint(&x, "scans", &s.scans);
    rr_text(&x, "region", s.last_region, sizeof s.last_region);
    rr_u32(&x, "travel", &s.impossible_travel);
    rr_u32(&x, "unsold", &s.unsold_public);
    rr_u32(&x, "clients", &s.distinct_clients);
    rr_u32(&x, "outside", &s.outside_markets);
    if (rr_key(&x, "regions")) {
        size_t n = 0;
        x.rc = cbu_get_array(&x.r, &n, 8, "regions");
        for (size_t i = 0; x.rc == CHAIN_OK && i < n; i++)
            x.rc = cbu_get_text(&x.r, s.regions[i], sizeof s.regions[i], "region");
        s.nregions = (uint32_t)n;
    }
    rr_u32(&x, "reports", &s.reports);
    if ((rc = rr_done(&x)))
        return rc;
    *out = s;
    return CHAIN_OK;
}

int st_stats_put(chain *c, MDB_txn *t, const chain_scan_stats *s, const uint8_t k[ST_UNIT_KEY])
{
    ww x;
    ww_init(&x, 10);
    ww_uint(&x, "last", s->last_time);
    ww_uint(&x, "first", s->first_time);
    ww_uint(&x, "scans", s->scans);
    ww_text(&x, "region", s->last_region);
    ww_uint(&x, "travel", s->impossible_travel);
    ww_uint(&x, "unsold", s->unsold_public);
    ww_uint(&x, "clients", s->distinct_clients);
    ww_uint(&x, "outside", s->outside_markets);
    ww_key(&x, "regions");
    cbu_put_array(&x.w, s->nregions);
    for (uint32_t i = 0; i < s->nregions; i++)
        cbu_put_cstr(&x.w, s->regions[i]);
    ww_uint(&x, "reports", s->reports);
    return ww_put(&x, t, c->dbi[DB_SCANSTATS], k, ST_UNIT_KEY, 0);
}

int st_txrec_get(chain *c, MDB_txn *t, chain_receipt *rc_out, uint32_t *off, uint32_t *len,
                 const uint8_t id[CHAIN_HASH_LEN])
{
    MDB_val v;
    int rc = st_get(t, c->dbi[DB_TXS], id, CHAIN_HASH_LEN, &v);
    if (rc)
        return rc;
    chain_receipt r;
    memset(&r, 0, sizeof r);
    memcpy(r.tx, id, CHAIN_HASH_LEN);
    rr x;
    rr_init(&x, &v, 6);
    rr_u32(&x, "len", len);
    rr_u32(&x, "off", off);
    rr_int(&x, "code", &r.code);
    rr_u32(&x, "index", &r.index);
    rr_text(&x, "detail", r.detail, sizeof r.detail);
    rr_uint(&x, "height", &r.height);
    if ((rc = rr_done(&x)))
        return rc;
    *rc_out = r;
    return CHAIN_OK;
}

int st_txrec_put(chain *c, MDB_txn *t, const chain_receipt *r, uint32_t off, uint32_t len)
{
    ww x;
    ww_init(&x, 6);
    ww_uint(&x, "len", len);
    ww_uint(&x, "off", off);
    ww_uint(&x, "code", (uint64_t)r->code);
    ww_uint(&x, "index", r->index);
    ww_text(&x, "detail", r->detail);
    ww_uint(&x, "height", r->height);
    return ww_put(&x, t, c->dbi[DB_TXS], r->tx, CHAIN_HASH_LEN, 0);
}

int st_owner_add(chain *c, MDB_txn *t, const uint8_t key[CHAIN_KEY_LEN], const gs1_sgtin *id)
{
    uint8_t k[ST_OWNER_KEY];
    memcpy(k, key, CHAIN_KEY_LEN);
    st_key_unit(k + CHAIN_KEY_LEN, id->gtin, id->serial);
    return st_put(t, c->dbi[DB_OWNERS], k, sizeof k, "", 0, 0);
}

int st_owner_del(chain *c, MDB_txn *t, const uint8_t key[CHAIN_KEY_LEN], const gs1_sgtin *id)
{
    uint8_t k[ST_OWNER_KEY];
    memcpy(k, key, CHAIN_KEY_LEN);
    st_key_unit(k + CHAIN_KEY_LEN, id->gtin, id->serial);
    return st_del(t, c->dbi[DB_OWNERS], k, sizeof k);
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
    chain_genesis_free(c->g);
    free(c);
}

const chain_genesis *chain_genesis_of(const chain *c)
{
    return c->g;
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
    if ((c->g = genesis_copy(g)) == NULL) {
        rc = CHAIN_ERR_NOMEM;
        goto fail;
    }
    chain_tagged_hash(c->digest0, CHAIN_TAG_STATE, g->chain_id, CHAIN_HASH_LEN);
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
    if ((mrc = mdb_env_create(&c->env)) || (mrc = mdb_env_set_maxdbs(c->env, DB__COUNT + 2)) ||
        (mrc = mdb_env_set_mapsize(c->env, map)) || (mrc = mdb_env_set_maxreaders(c->env, 254)) ||
        (mrc = mdb_env_open(c->env, path, flags, 0600)) ||
        (mrc = mdb_txn_begin(c->env, NULL, 0, &t))) {
        rc = st_lmdb_err(mrc, "open chain", errmsg, errmsg_len);
        goto fail;
    }
    for (int i = 0; i < DB__COUNT; i++)
        if ((mrc = mdb_dbi_open(t, db_names[i], MDB_CREATE, &c->dbi[i]))) {
            rc = st_lmdb_err(mrc, "open chain: database", errmsg, errmsg_len);
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
    pad_copy(from + ST_LOT_KEY, GS1_SERIAL_MAX, after != NULL ? after : "");
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

uint64_t chain_nonce_next(chain_rd *rd, const uint8_t key[CHAIN_KEY_LEN])
{
    uint64_t last = 0;
    if (st_uint_get(rd->txn, rd->c->dbi[DB_NONCES], key, CHAIN_KEY_LEN, &last) != CHAIN_OK)
        last = 0;
    return last + 1;
}

void chain_policy_effective(chain_rd *rd, chain_policy *out, const char *gtin, const char *lot)
{
    st_policy_effective(rd->c, rd->txn, out, gtin, lot);
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
