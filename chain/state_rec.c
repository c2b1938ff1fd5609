/*
 * state_rec.c — the stored records: one canonical CBOR map per record kind
 * (head, unit, participant, key index, node, event, lot, policy, scan stats,
 * tx index), and the small uint values (nonces, counters).
 *
 * Each kind has a fixed key set, written in canonical key order (shorter
 * keys first, then bytewise; the ww_key assert keeps us honest) and read back
 * in that same order, so a record has one encoding and decoding is a straight
 * walk. Every field is always written (no omission), so the reader checks the
 * exact entry count. A record that does not read back is storage corruption
 * (CHAIN_ERR_STORAGE). Writers use a fixed stack buffer: every field is
 * bounded, so a record never outgrows REC_MAX.
 */
#include <assert.h>
#include <string.h>

#include "chain/cbor_util.h"
#include "chain/state_int.h"

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
    rr_init(&x, &v, 19);
    rr_text(&x, "lot", u->lot, sizeof u->lot);
    rr_bytes(&x, "lsig", u->label_sig, CHAIN_SIG_LEN);
    rr_uint(&x, "oexp", &u->offer_expires);
    rr_uint(&x, "sold", &u->sold_at);
    rr_uint(&x, "wend", &u->warranty_end);
    rr_text(&x, "brand", u->brand, sizeof u->brand);
    rr_bytes_opt(&x, "claim", s.claim_key, CHAIN_KEY_LEN, &has_claim);
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
    ww_init(&x, 19);
    ww_text(&x, "lot", u->lot);
    ww_bytes(&x, "lsig", u->label_sig, CHAIN_SIG_LEN);
    ww_uint(&x, "oexp", u->offer_expires);
    ww_uint(&x, "sold", u->sold_at);
    ww_uint(&x, "wend", u->warranty_end);
    ww_text(&x, "brand", u->brand);
    ww_bytes(&x, "claim", s->claim_key, u->claim_pending ? CHAIN_KEY_LEN : 0);
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
    /* 7 keys; 6 in records written before nodes had a TLS certificate */
    rr x;
    rr_init(&x, &v, 7);
    bool has_tls = x.rc == CHAIN_OK;
    if (!has_tls)
        rr_init(&x, &v, 6);
    rr_uint(&x, "id", &n.id);
    rr_bytes(&x, "pub", n.pub, CHAIN_KEY_LEN);
    if (has_tls && rr_key(&x, "tls")) {
        const uint8_t *p = NULL;
        x.rc = cbu_get_bytes(&x.r, &p, &n.tls_len, CHAIN_TLS_CERT_MAX, "tls");
        if (x.rc == CHAIN_OK && n.tls_len)
            memcpy(n.tls, p, n.tls_len);
    }
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
    ww_init(&x, 7);
    ww_uint(&x, "id", n->id);
    ww_bytes(&x, "pub", n->pub, CHAIN_KEY_LEN);
    ww_bytes(&x, "tls", n->tls, n->tls_len);
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
    int rc = st_get(t, c->dbi[DB_UNITS], k, sizeof k, &v);
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
    /* Right after the unit's record, in the same database (keys 4 bytes longer). Events
     * only ever append (MDB_NOOVERWRITE would cost a lookup we know the answer to). */
    return ww_put(&x, t, c->dbi[DB_UNITS], k, sizeof k, 0);
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

/* Folds the override at key k (if any) into acc; a storage error is kept in *err. */
static void policy_fold(chain *c, MDB_txn *t, chain_policy *acc, const uint8_t *k, size_t kl,
                        int *err)
{
    chain_policy p;
    int rc = st_policy_get(c, t, &p, k, kl);
    if (rc == CHAIN_OK)
        st_policy_inherit(acc, &p);
    else if (rc != CHAIN_ERR_NOT_FOUND && *err == CHAIN_OK)
        *err = rc;
}

int st_policy_effective(chain *c, MDB_txn *t, chain_policy *out, const char *gtin, const char *lot)
{
    chain_policy acc;
    memset(&acc, 0, sizeof acc);
    uint8_t k[1 + CHAIN_ID_MAX + ST_LOT_KEY];
    int err = CHAIN_OK;
    if (gtin != NULL && gtin[0] != '\0') {
        if (lot != NULL && lot[0] != '\0') {
            k[0] = 'l';
            st_key_lot(k + 1, gtin, lot);
            policy_fold(c, t, &acc, k, 1 + ST_LOT_KEY, &err);
        }
        k[0] = 'g';
        st_pad(k + 1, GS1_GTIN_LEN, gtin);
        policy_fold(c, t, &acc, k, 1 + GS1_GTIN_LEN, &err);
        const chain_brand *b = st_brand_of_gtin(c, gtin);
        if (b != NULL) {
            size_t n = strlen(b->id);
            k[0] = 'b';
            memcpy(k + 1, b->id, n);
            policy_fold(c, t, &acc, k, 1 + n, &err);
        }
    }
    st_policy_inherit(&acc, &c->g->policy);
    *out = acc;
    return err;
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

/* The relying party rp.set put in force: {"id", "uv", "origins": [...]}
 * under meta "rp". NOT_FOUND when no rp.set was ever accepted. */
int st_rp_get(chain *c, MDB_txn *t, chain_rp *out)
{
    MDB_val v;
    int rc = st_get(t, c->dbi[DB_META], "rp", 2, &v);
    if (rc)
        return rc;
    chain_rp rp;
    memset(&rp, 0, sizeof rp);
    rr x;
    rr_init(&x, &v, 3);
    rr_text(&x, "id", rp.id, sizeof rp.id);
    rr_bool(&x, "uv", &rp.require_uv);
    if (rr_key(&x, "origins"))
        x.rc = cbu_get_array(&x.r, &rp.norigins, CHAIN_ORIGINS_MAX, "origins");
    for (size_t i = 0; x.rc == CHAIN_OK && i < rp.norigins; i++)
        x.rc = cbu_get_text(&x.r, rp.origins[i], sizeof rp.origins[i], "origins");
    if ((rc = rr_done(&x)))
        return rc;
    *out = rp;
    return CHAIN_OK;
}

int st_rp_put(chain *c, MDB_txn *t, const chain_rp *rp)
{
    ww x;
    ww_init(&x, 3);
    ww_text(&x, "id", rp->id);
    ww_bool(&x, "uv", rp->require_uv);
    ww_key(&x, "origins");
    assert(rp->norigins <= CHAIN_ORIGINS_MAX);
    cbu_put_array(&x.w, rp->norigins);
    for (size_t i = 0; i < rp->norigins; i++)
        cbu_put_cstr(&x.w, rp->origins[i]);
    return ww_put(&x, t, c->dbi[DB_META], "rp", 2, 0);
}

int st_rp_current(chain *c, MDB_txn *t, chain_rp *out)
{
    int rc = st_rp_get(c, t, out);
    if (rc == CHAIN_ERR_NOT_FOUND) {
        *out = c->g->rp;
        return CHAIN_OK;
    }
    if (rc)
        memset(out, 0, sizeof *out);
    return rc;
}
