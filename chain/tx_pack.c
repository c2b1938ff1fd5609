/*
 * tx_pack.c — aggregation: units and parents (SSCC, GS1 AI 00) packed into
 * a parent, unpacked from it, and moved with it.
 *
 *   loose unit --pack (custodian)--> packed (unit.parent = P)
 *   packed --unpack P (P's custodian, P at the top)--> loose
 *   top-level parent C --pack into P--> nested (C.parent = P)
 *   pickup/deliver naming P: every unit inside P, at any depth, moves as if
 *   named one by one (tx_move.c's rules), all or nothing; every parent
 *   inside P takes the new custodian.
 *
 * A packed unit or parent is frozen: no sale, claim, transfer, move of its
 * own or pack elsewhere (CHAIN_ERR_PACKED) until its parent is unpacked.
 * Only a top-level parent is packed into, unpacked or moved, so the records
 * of parents inside it never change under it and totals and depths need no
 * update up the tree. Bounds: CHAIN_PACK_UNITS_MAX units inside one parent
 * at any depth (so a move of it fits one tx), CHAIN_PACK_DEPTH_MAX levels
 * (so walking a tree recurses at most that deep).
 * State: DB_PARENTS (sscc → chain_parent), DB_PACKED (sscc||'u'||unit,
 * sscc||'p'||child sscc → empty), and unit.parent in the unit record.
 */
#include <assert.h>
#include <string.h>

#include "chain/state_int.h"

static void packed_unit_key(uint8_t k[ST_PACKED_UNIT_KEY], const char *sscc, const gs1_sgtin *id)
{
    memcpy(k, sscc, GS1_SSCC_LEN);
    k[GS1_SSCC_LEN] = 'u';
    st_key_unit(k + GS1_SSCC_LEN + 1, id->gtin, id->serial);
}

static void packed_parent_key(uint8_t k[ST_PACKED_PARENT_KEY], const char *sscc, const char *child)
{
    memcpy(k, sscc, GS1_SSCC_LEN);
    k[GS1_SSCC_LEN] = 'p';
    memcpy(k + GS1_SSCC_LEN + 1, child, GS1_SSCC_LEN);
}

int st_refuse_packed(st_actx *a, const st_unit *u)
{
    char b[40];
    return st_refuse(a, CHAIN_ERR_PACKED, "unit %s: packed in %s", st_unit_str(b, &u->u.id),
                     u->u.parent);
}

/* The parent for a rule: UNKNOWN_PARENT (with detail) when never packed. */
static int rule_parent(st_actx *a, chain_parent *p, const char *sscc)
{
    int rc = st_parent_get(a->c, a->txn, p, sscc);
    if (rc == CHAIN_ERR_NOT_FOUND)
        return st_refuse(a, CHAIN_ERR_UNKNOWN_PARENT, "parent %s: never packed", sscc);
    return rc;
}

static void parent_touch(st_actx *a, chain_parent *p)
{
    p->height = a->hdr->height;
    p->time = a->hdr->time;
    memcpy(p->tx, a->tx_id, CHAIN_HASH_LEN);
}

/* True when sscc is p or a parent p sits in (walks up at most the depth bound). */
static int is_self_or_ancestor(st_actx *a, const chain_parent *p, const char *sscc, bool *out)
{
    chain_parent cur = *p;
    *out = false;
    for (int level = 0; level <= CHAIN_PACK_DEPTH_MAX; level++) {
        if (strcmp(cur.sscc, sscc) == 0) {
            *out = true;
            return CHAIN_OK;
        }
        if (cur.parent[0] == '\0')
            return CHAIN_OK;
        int rc = st_parent_get(a->c, a->txn, &cur, cur.parent);
        if (rc)
            return rc == CHAIN_ERR_NOT_FOUND ? CHAIN_ERR_STORAGE : rc;
    }
    return CHAIN_OK;
}

static int pack_unit(st_actx *a, chain_parent *p, const gs1_sgtin *id)
{
    st_unit u;
    char b[40];
    int rc = st_rule_unit(a, &u, id);
    if (rc)
        return rc;
    if (u.u.parent[0] != '\0')
        return st_refuse_packed(a, &u);
    if (u.u.flags & CHAIN_FLAG_DESTROYED)
        return st_refuse(a, CHAIN_ERR_FLAGGED, "unit %s: destroyed", st_unit_str(b, id));
    if (u.u.holder[0] == '\0')
        return st_refuse(a, CHAIN_ERR_BAD_STATE, "unit %s: %s, only units in custody are packed",
                         st_unit_str(b, id), chain_unit_state_name(u.u.state));
    if (strcmp(u.u.holder, a->signer_id) != 0)
        return st_refuse(a, CHAIN_ERR_NOT_HOLDER, "unit %s: held by %s", st_unit_str(b, id),
                         u.u.holder);
    if (p->total + 1 > CHAIN_PACK_UNITS_MAX)
        return st_refuse(a, CHAIN_ERR_PACK_FULL, "parent %s: more than %d units", p->sscc,
                         CHAIN_PACK_UNITS_MAX);
    memcpy(u.u.parent, p->sscc, sizeof u.u.parent);
    chain_event ev;
    memset(&ev, 0, sizeof ev);
    memcpy(ev.sscc, p->sscc, sizeof ev.sscc);
    memcpy(ev.region, a->tx->region, sizeof ev.region);
    if ((rc = st_rule_commit(a, &u, &ev)))
        return rc;
    uint8_t k[ST_PACKED_UNIT_KEY];
    packed_unit_key(k, p->sscc, id);
    if ((rc = st_put(a->txn, a->c->dbi[DB_PACKED], k, sizeof k, "", 0, 0)))
        return rc;
    p->nunits++;
    p->total++;
    if (p->depth < 1)
        p->depth = 1;
    return CHAIN_OK;
}

static int pack_parent(st_actx *a, chain_parent *p, const char *sscc)
{
    chain_parent c;
    int rc = rule_parent(a, &c, sscc);
    if (rc)
        return rc;
    if (c.parent[0] != '\0')
        return st_refuse(a, CHAIN_ERR_PACKED, "parent %s: packed in %s", sscc, c.parent);
    if (c.total == 0)
        return st_refuse(a, CHAIN_ERR_EMPTY_PARENT, "parent %s: holds nothing", sscc);
    if (strcmp(c.holder, a->signer_id) != 0)
        return st_refuse(a, CHAIN_ERR_NOT_HOLDER, "parent %s: held by %s", sscc, c.holder);
    if (c.depth + 1 > CHAIN_PACK_DEPTH_MAX)
        return st_refuse(a, CHAIN_ERR_PACK_DEPTH, "parent %s: more than %d levels", p->sscc,
                         CHAIN_PACK_DEPTH_MAX);
    if (p->total + c.total > CHAIN_PACK_UNITS_MAX)
        return st_refuse(a, CHAIN_ERR_PACK_FULL, "parent %s: more than %d units", p->sscc,
                         CHAIN_PACK_UNITS_MAX);
    memcpy(c.parent, p->sscc, sizeof c.parent);
    parent_touch(a, &c);
    if ((rc = st_parent_put(a->c, a->txn, &c)))
        return rc;
    uint8_t k[ST_PACKED_PARENT_KEY];
    packed_parent_key(k, p->sscc, sscc);
    if ((rc = st_put(a->txn, a->c->dbi[DB_PACKED], k, sizeof k, "", 0, 0)))
        return rc;
    p->nparents++;
    p->total += c.total;
    if (p->depth < c.depth + 1)
        p->depth = c.depth + 1;
    return CHAIN_OK;
}

int rule_pack(st_actx *a)
{
    const chain_tx *tx = a->tx;
    chain_parent p;
    int rc = st_parent_get(a->c, a->txn, &p, tx->sscc);
    if (rc == CHAIN_ERR_NOT_FOUND) {
        memset(&p, 0, sizeof p);
        memcpy(p.sscc, tx->sscc, sizeof p.sscc);
    } else if (rc) {
        return rc;
    }
    /* A cycle first: it is the more precise reason when P also sits in C. */
    for (size_t i = 0; i < tx->nchildren; i++) {
        bool cyc;
        if ((rc = is_self_or_ancestor(a, &p, tx->children[i], &cyc)))
            return rc;
        if (cyc)
            return st_refuse(a, CHAIN_ERR_PACK_CYCLE, "parent %s: would be inside itself",
                             tx->children[i]);
    }
    if (p.parent[0] != '\0')
        return st_refuse(a, CHAIN_ERR_PACKED, "parent %s: packed in %s", p.sscc, p.parent);
    if (p.total > 0 && strcmp(p.holder, a->signer_id) != 0)
        return st_refuse(a, CHAIN_ERR_NOT_HOLDER, "parent %s: held by %s", p.sscc, p.holder);
    if (p.total == 0) /* new, or emptied by unpack: whoever packs it holds it */
        memcpy(p.holder, a->signer_id, sizeof p.holder);
    for (size_t i = 0; i < tx->nunits; i++)
        if ((rc = pack_unit(a, &p, &tx->units[i])))
            return rc;
    for (size_t i = 0; i < tx->nchildren; i++)
        if ((rc = pack_parent(a, &p, tx->children[i])))
            return rc;
    assert(p.total > 0 && p.depth >= 1 && p.depth <= CHAIN_PACK_DEPTH_MAX);
    parent_touch(a, &p);
    return st_parent_put(a->c, a->txn, &p);
}

/* Walk state for the callbacks below: the first failure stops the walk. */
typedef struct walk {
    st_actx *a;
    const char *sscc;   /* the parent walked */
    const char *holder; /* moves: the new custodian */
    st_unit_move_fn fn;
    void *ctx;
    int level;
    int rc;
} walk;

static int unpack_unit_cb(void *ctx, const uint8_t *key, size_t klen)
{
    walk *w = ctx;
    if (klen != ST_PACKED_UNIT_KEY)
        return (w->rc = CHAIN_ERR_STORAGE);
    gs1_sgtin id;
    st_key_unit_split(&id, key + GS1_SSCC_LEN + 1);
    st_unit u;
    int rc = st_unit_get(w->a->c, w->a->txn, &u, id.gtin, id.serial);
    if (rc)
        return (w->rc = rc == CHAIN_ERR_NOT_FOUND ? CHAIN_ERR_STORAGE : rc);
    assert(strcmp(u.u.parent, w->sscc) == 0);
    u.u.parent[0] = '\0';
    chain_event ev;
    memset(&ev, 0, sizeof ev);
    memcpy(ev.sscc, w->sscc, sizeof ev.sscc);
    memcpy(ev.region, w->a->tx->region, sizeof ev.region);
    return (w->rc = st_rule_commit(w->a, &u, &ev));
}

static int unpack_parent_cb(void *ctx, const uint8_t *key, size_t klen)
{
    walk *w = ctx;
    if (klen != ST_PACKED_PARENT_KEY)
        return (w->rc = CHAIN_ERR_STORAGE);
    char sscc[GS1_SSCC_LEN + 1];
    memcpy(sscc, key + GS1_SSCC_LEN + 1, GS1_SSCC_LEN);
    sscc[GS1_SSCC_LEN] = '\0';
    chain_parent c;
    int rc = st_parent_get(w->a->c, w->a->txn, &c, sscc);
    if (rc)
        return (w->rc = rc == CHAIN_ERR_NOT_FOUND ? CHAIN_ERR_STORAGE : rc);
    c.parent[0] = '\0';
    parent_touch(w->a, &c);
    return (w->rc = st_parent_put(w->a->c, w->a->txn, &c));
}

/* Walks one kind of child ('u' or 'p') of sscc with cb. */
static int walk_children(walk *w, const char *sscc, char kind, st_walk_fn cb)
{
    uint8_t prefix[GS1_SSCC_LEN + 1];
    memcpy(prefix, sscc, GS1_SSCC_LEN);
    prefix[GS1_SSCC_LEN] = (uint8_t)kind;
    int rc = st_walk_prefix(w->a->txn, w->a->c->dbi[DB_PACKED], prefix, sizeof prefix, NULL, 0, 0,
                            cb, w);
    return rc ? rc : w->rc;
}

/* The parent a tx names, when it can be unpacked or moved: it holds
 * something and is not itself packed in another. */
static int rule_parent_outer(st_actx *a, chain_parent *p)
{
    int rc = rule_parent(a, p, a->tx->sscc);
    if (rc)
        return rc;
    if (p->total == 0)
        return st_refuse(a, CHAIN_ERR_EMPTY_PARENT, "parent %s: holds nothing", p->sscc);
    if (p->parent[0] != '\0')
        return st_refuse(a, CHAIN_ERR_PACKED, "parent %s: packed in %s", p->sscc, p->parent);
    return CHAIN_OK;
}

int rule_unpack(st_actx *a)
{
    chain_parent p;
    int rc = rule_parent_outer(a, &p);
    if (rc)
        return rc;
    if (strcmp(p.holder, a->signer_id) != 0)
        return st_refuse(a, CHAIN_ERR_NOT_HOLDER, "parent %s: held by %s", p.sscc, p.holder);
    walk w = {.a = a, .sscc = p.sscc};
    if ((rc = walk_children(&w, p.sscc, 'u', unpack_unit_cb)) ||
        (rc = walk_children(&w, p.sscc, 'p', unpack_parent_cb)))
        return rc;
    if ((rc = st_del_prefix(a->txn, a->c->dbi[DB_PACKED], (const uint8_t *)p.sscc, GS1_SSCC_LEN)))
        return rc;
    p.nunits = p.nparents = p.total = p.depth = 0;
    parent_touch(a, &p);
    return st_parent_put(a->c, a->txn, &p);
}

/* ---- moves of a parent (pickup, deliver) ---- */

static int move_tree(walk *w, const char *sscc);

static int move_unit_cb(void *ctx, const uint8_t *key, size_t klen)
{
    walk *w = ctx;
    if (klen != ST_PACKED_UNIT_KEY)
        return (w->rc = CHAIN_ERR_STORAGE);
    gs1_sgtin id;
    st_key_unit_split(&id, key + GS1_SSCC_LEN + 1);
    return (w->rc = w->fn(w->a, &id, w->ctx));
}

static int move_parent_cb(void *ctx, const uint8_t *key, size_t klen)
{
    walk *w = ctx;
    if (klen != ST_PACKED_PARENT_KEY)
        return (w->rc = CHAIN_ERR_STORAGE);
    char sscc[GS1_SSCC_LEN + 1];
    memcpy(sscc, key + GS1_SSCC_LEN + 1, GS1_SSCC_LEN);
    sscc[GS1_SSCC_LEN] = '\0';
    return (w->rc = move_tree(w, sscc));
}

/* Moves everything inside sscc and sets its custodian. Recursion depth is at
 * most CHAIN_PACK_DEPTH_MAX: pack never builds a deeper tree. */
static int move_tree(walk *w, const char *sscc)
{
    if (w->level >= CHAIN_PACK_DEPTH_MAX)
        return CHAIN_ERR_STORAGE; /* pack keeps trees within the bound: corrupt state */
    chain_parent p;
    int rc = st_parent_get(w->a->c, w->a->txn, &p, sscc);
    if (rc)
        return rc == CHAIN_ERR_NOT_FOUND ? CHAIN_ERR_STORAGE : rc;
    w->level++;
    walk sub = *w;
    sub.rc = CHAIN_OK;
    if ((rc = walk_children(&sub, sscc, 'u', move_unit_cb)) ||
        (rc = walk_children(&sub, sscc, 'p', move_parent_cb)))
        return rc;
    w->level--;
    memcpy(p.holder, w->holder, sizeof p.holder);
    parent_touch(w->a, &p);
    return st_parent_put(w->a->c, w->a->txn, &p);
}

int st_parent_move(st_actx *a, const char *holder, st_unit_move_fn fn, void *ctx)
{
    const chain_tx *tx = a->tx;
    chain_parent p;
    int rc = rule_parent_outer(a, &p);
    if (rc)
        return rc;
    if (tx->nunits + p.total > CHAIN_UNITS_MAX)
        return st_refuse(a, CHAIN_ERR_TOO_LARGE, "%zu units and %u in %s: more than %d per tx",
                         tx->nunits, p.total, p.sscc, CHAIN_UNITS_MAX);
    walk w = {.a = a, .holder = holder, .fn = fn, .ctx = ctx};
    return move_tree(&w, p.sscc);
}
