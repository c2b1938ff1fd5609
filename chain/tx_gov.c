/*
 * tx_gov.c — governance: participants, nodes, policy. Signed by brand admins
 * (and participant.rotate also by the participant itself).
 *
 * Participants are network-wide (a carrier serves every brand). An id or a
 * key can be used once: a key must not belong to any participant (current,
 * revoked or rotated away) nor any node. A brand admin acts on brand-role
 * participants of its own brand only. Revoked participants keep their record
 * (history names them); their key then signs nothing (revoked_signer).
 * Nodes keep their record after node.remove, and their key is refused from
 * then on; the last node cannot be removed, and a network has at most
 * CHAIN_NODES_MAX nodes not removed. Policies are overrides per scope
 * — brand default (no gtin), gtin, gtin+lot — merged field by field with the
 * earlier override at the same scope; chain_policy_effective then reads
 * lot → gtin → brand → genesis.
 */
#include <string.h>

#include "chain/state_int.h"

/* Key already in use by a participant or a node. */
static int key_in_use(st_actx *a, const uint8_t key[CHAIN_KEY_LEN], bool *used)
{
    MDB_val v;
    int rc = st_get(a->txn, a->c->dbi[DB_PKEYS], key, CHAIN_KEY_LEN, &v);
    if (rc == CHAIN_ERR_NOT_FOUND)
        rc = st_get(a->txn, a->c->dbi[DB_NKEYS], key, CHAIN_KEY_LEN, &v);
    *used = rc == CHAIN_OK;
    return rc == CHAIN_ERR_NOT_FOUND ? CHAIN_OK : rc;
}

static int load_part(st_actx *a, chain_participant *p, const char *id)
{
    int rc = st_part_get(a->c, a->txn, p, id);
    if (rc == CHAIN_ERR_NOT_FOUND)
        return st_refuse(a, CHAIN_ERR_UNKNOWN_PARTICIPANT, "no participant \"%s\"", id);
    return rc;
}

int rule_participant_add(st_actx *a)
{
    const chain_tx *tx = a->tx;
    chain_participant p;
    int rc = st_part_get(a->c, a->txn, &p, tx->id);
    if (rc == CHAIN_OK)
        return st_refuse(a, CHAIN_ERR_DUPLICATE_PARTICIPANT, "id \"%s\" is taken", tx->id);
    if (rc != CHAIN_ERR_NOT_FOUND)
        return rc;
    bool used;
    if ((rc = key_in_use(a, tx->key, &used)))
        return rc;
    if (used)
        return st_refuse(a, CHAIN_ERR_DUPLICATE_PARTICIPANT, "pub: key already registered");
    /* tx->role is brand, carrier, seller or service: the decoder's
     * tx_body_check refuses every other role before a tx reaches a rule. */
    memset(&p, 0, sizeof p);
    memcpy(p.id, tx->id, sizeof p.id);
    memcpy(p.name, tx->name, sizeof p.name);
    p.role = tx->role;
    memcpy(p.pub, tx->key, CHAIN_KEY_LEN);
    memcpy(p.regions, tx->regions, sizeof p.regions);
    p.nregions = tx->nregions;
    if (p.role == CHAIN_ROLE_BRAND) /* another admin key of the signer's brand */
        memcpy(p.brand, a->signer_brand, sizeof p.brand);
    if ((rc = st_part_put(a->c, a->txn, &p)))
        return rc;
    return st_pkey_put(a->c, a->txn, p.pub, p.id, true);
}

/* A brand admin may manage every non-brand participant and its own brand's admins. */
static int may_manage(st_actx *a, const chain_participant *p)
{
    if (p->role == CHAIN_ROLE_BRAND && strcmp(p->brand, a->signer_brand) != 0)
        return st_refuse(a, CHAIN_ERR_WRONG_ROLE, "%s is an admin of brand %s", p->id, p->brand);
    return CHAIN_OK;
}

int rule_participant_revoke(st_actx *a)
{
    chain_participant p;
    int rc = load_part(a, &p, a->tx->id);
    if (rc || (rc = may_manage(a, &p)))
        return rc;
    if (p.revoked)
        return st_refuse(a, CHAIN_ERR_BAD_STATE, "%s is already revoked", p.id);
    p.revoked = true;
    return st_part_put(a->c, a->txn, &p);
}

int rule_participant_rotate(st_actx *a)
{
    const chain_tx *tx = a->tx;
    chain_participant p;
    int rc = load_part(a, &p, tx->id);
    if (rc)
        return rc;
    bool self = strcmp(a->signer_id, p.id) == 0;
    if (!self) {
        if (a->role != CHAIN_ROLE_BRAND)
            return st_refuse(a, CHAIN_ERR_WRONG_ROLE, "only %s or a brand may rotate its key",
                             p.id);
        if ((rc = may_manage(a, &p)))
            return rc;
    }
    if (p.revoked)
        return st_refuse(a, CHAIN_ERR_BAD_STATE, "%s is revoked", p.id);
    bool used;
    if ((rc = key_in_use(a, tx->key, &used)))
        return rc;
    if (used)
        return st_refuse(a, CHAIN_ERR_DUPLICATE_PARTICIPANT, "pub: key already registered");
    if ((rc = st_pkey_put(a->c, a->txn, p.pub, p.id, false)))
        return rc;
    memcpy(p.pub, tx->key, CHAIN_KEY_LEN);
    if ((rc = st_part_put(a->c, a->txn, &p)))
        return rc;
    return st_pkey_put(a->c, a->txn, p.pub, p.id, true);
}

/* How many nodes are not removed (bounded: node records are few). */
static int live_nodes(st_actx *a, size_t *live)
{
    MDB_cursor *cur;
    if (mdb_cursor_open(a->txn, a->c->dbi[DB_NODES], &cur))
        return CHAIN_ERR_STORAGE;
    MDB_val k, v;
    size_t n = 0;
    for (int mrc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); mrc == 0;
         mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        st_node o;
        if (k.mv_size == 8 && st_node_get(a->c, a->txn, &o, st_rd_be64(k.mv_data)) == CHAIN_OK &&
            !o.removed)
            n++;
    }
    mdb_cursor_close(cur);
    *live = n;
    return CHAIN_OK;
}

/* Whether a TLS key (fp: chain_tls_cert_check) is pinned for any node,
 * removed ones included: one key names one node id, so a peer's key tells
 * which node it is. Bounded: node records are few. */
static int tls_in_use(st_actx *a, const uint8_t fp[CHAIN_HASH_LEN], bool *used)
{
    MDB_cursor *cur;
    if (mdb_cursor_open(a->txn, a->c->dbi[DB_NODES], &cur))
        return CHAIN_ERR_STORAGE;
    MDB_val k, v;
    *used = false;
    int rc = CHAIN_OK;
    for (int mrc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); mrc == 0 && !*used;
         mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        st_node o;
        uint8_t ofp[CHAIN_HASH_LEN];
        if (k.mv_size != 8)
            continue;
        if ((rc = st_node_get(a->c, a->txn, &o, st_rd_be64(k.mv_data))))
            break;
        if (o.tls_len && chain_tls_cert_check(ofp, o.tls, o.tls_len, NULL, 0) == CHAIN_OK &&
            memcmp(ofp, fp, CHAIN_HASH_LEN) == 0)
            *used = true;
    }
    mdb_cursor_close(cur);
    return rc;
}

/* The key fingerprint of tx's certificate, refused when it is pinned already. */
static int tls_fresh(st_actx *a, uint8_t fp[CHAIN_HASH_LEN])
{
    char why[160];
    int rc = chain_tls_cert_check(fp, a->tx->tls, a->tx->tls_len, why, sizeof why);
    if (rc)
        return st_refuse(a, rc, "tls: %s", why);
    bool used;
    if ((rc = tls_in_use(a, fp, &used)))
        return rc;
    if (used)
        return st_refuse(a, CHAIN_ERR_DUPLICATE_NODE, "tls: key already pinned (now or before)");
    return CHAIN_OK;
}

int rule_node_rotate(st_actx *a)
{
    st_node n;
    int rc = st_node_get(a->c, a->txn, &n, a->tx->node_id);
    if (rc == CHAIN_ERR_NOT_FOUND || (rc == CHAIN_OK && n.removed))
        return st_refuse(a, CHAIN_ERR_UNKNOWN_NODE, "no node %llu",
                         (unsigned long long)a->tx->node_id);
    if (rc)
        return rc;
    uint8_t fp[CHAIN_HASH_LEN];
    if ((rc = tls_fresh(a, fp)))
        return rc;
    memcpy(n.tls, a->tx->tls, a->tx->tls_len);
    n.tls_len = a->tx->tls_len;
    a->members_changed = true;
    return st_node_put(a->c, a->txn, &n);
}

int rule_node_add(st_actx *a)
{
    const chain_tx *tx = a->tx;
    st_node n;
    int rc = st_node_get(a->c, a->txn, &n, tx->node_id);
    if (rc == CHAIN_OK)
        return st_refuse(a, CHAIN_ERR_DUPLICATE_NODE, "node %llu exists%s",
                         (unsigned long long)tx->node_id, n.removed ? " (removed)" : "");
    if (rc != CHAIN_ERR_NOT_FOUND)
        return rc;
    if (tx->node_id == 0)
        return st_refuse(a, CHAIN_ERR_INVALID, "node_id: at least 1");
    /* Consensus holds at most CONS_PEERS_MAX == CHAIN_NODES_MAX servers and
     * every reader of the membership takes CHAIN_NODES_MAX: a node past it
     * would be in the ledger but never in the configuration. */
    size_t live;
    if ((rc = live_nodes(a, &live)))
        return rc;
    if (live >= CHAIN_NODES_MAX)
        return st_refuse(a, CHAIN_ERR_BAD_STATE, "already %d nodes, the most a network has",
                         CHAIN_NODES_MAX);
    bool used;
    if ((rc = key_in_use(a, tx->key, &used)))
        return rc;
    if (used)
        return st_refuse(a, CHAIN_ERR_DUPLICATE_NODE, "pub: key already registered");
    uint8_t fp[CHAIN_HASH_LEN];
    if (tx->tls_len && (rc = tls_fresh(a, fp)))
        return rc;
    chain_participant op;
    if ((rc = load_part(a, &op, tx->name)))
        return rc;
    if (op.revoked)
        return st_refuse(a, CHAIN_ERR_UNKNOWN_PARTICIPANT, "operator %s is revoked", op.id);
    memset(&n, 0, sizeof n);
    n.id = tx->node_id;
    memcpy(n.operator_id, op.id, sizeof n.operator_id);
    memcpy(n.raft_addr, tx->raft_addr, sizeof n.raft_addr);
    memcpy(n.http_addr, tx->http_addr, sizeof n.http_addr);
    memcpy(n.pub, tx->key, CHAIN_KEY_LEN);
    memcpy(n.tls, tx->tls, tx->tls_len);
    n.tls_len = tx->tls_len;
    if ((rc = st_node_put(a->c, a->txn, &n)))
        return rc;
    a->members_changed = true;
    return st_uint_put(a->txn, a->c->dbi[DB_NKEYS], n.pub, CHAIN_KEY_LEN, n.id);
}

int rule_node_remove(st_actx *a)
{
    st_node n;
    int rc = st_node_get(a->c, a->txn, &n, a->tx->node_id);
    if (rc == CHAIN_ERR_NOT_FOUND || (rc == CHAIN_OK && n.removed))
        return st_refuse(a, CHAIN_ERR_UNKNOWN_NODE, "no node %llu",
                         (unsigned long long)a->tx->node_id);
    if (rc)
        return rc;
    size_t live;
    if ((rc = live_nodes(a, &live)))
        return rc;
    if (live <= 1)
        return st_refuse(a, CHAIN_ERR_BAD_STATE, "node %llu is the last node",
                         (unsigned long long)n.id);
    n.removed = true;
    a->members_changed = true;
    return st_node_put(a->c, a->txn, &n);
}

/* Any brand admin, as for the other network-wide acts (participants, nodes):
 * the last accepted value is the network's resolver from then on. The format
 * was checked with the body (chain_resolver_valid). */
int rule_resolver_set(st_actx *a)
{
    const char *url = a->tx->resolver;
    return st_put(a->txn, a->c->dbi[DB_META], "resolver", 8, url, strlen(url), 0);
}

/* Any brand admin, as for resolver.set: from the next transaction on (the
 * rest of this block included), passkey assertions are held to this relying
 * party (apply.c). The formats were checked with the body. */
int rule_rp_set(st_actx *a)
{
    chain_rp rp = a->tx->rp;
    rp.require_uv = a->tx->rp_uv == 1;
    return st_rp_put(a->c, a->txn, &rp);
}

int rule_policy_set(st_actx *a)
{
    const chain_tx *tx = a->tx;
    uint8_t k[1 + CHAIN_ID_MAX + ST_LOT_KEY];
    size_t kl;
    if (tx->gtin[0] == '\0') {
        kl = strlen(a->signer_brand);
        if (kl == 0)
            return st_refuse(a, CHAIN_ERR_WRONG_ROLE, "signer is not a brand admin");
        k[0] = 'b';
        memcpy(k + 1, a->signer_brand, kl);
        kl += 1;
    } else {
        const chain_brand *b = st_brand_of_gtin(a->c, tx->gtin);
        if (b == NULL || strcmp(b->id, a->signer_brand) != 0)
            return st_refuse(a, CHAIN_ERR_BAD_GTIN, "gtin %s: not a gtin of brand %s", tx->gtin,
                             a->signer_brand);
        if (tx->lot[0] != '\0') {
            k[0] = 'l';
            st_key_lot(k + 1, tx->gtin, tx->lot);
            kl = 1 + ST_LOT_KEY;
        } else {
            k[0] = 'g';
            memcpy(k + 1, tx->gtin, GS1_GTIN_LEN);
            kl = 1 + GS1_GTIN_LEN;
        }
    }
    chain_policy p = tx->policy, old;
    int rc = st_policy_get(a->c, a->txn, &old, k, kl);
    if (rc == CHAIN_OK)
        st_policy_inherit(&p, &old);
    else if (rc != CHAIN_ERR_NOT_FOUND)
        return rc;
    a->members_changed = true; /* the node re-reads policy */
    return st_policy_put(a->c, a->txn, &p, k, kl);
}
