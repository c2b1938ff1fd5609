/*
 * apply.c — chain_block_apply: one committed block in, new state and one
 * receipt per transaction out, in one LMDB write transaction.
 *
 * Order of work for a block:
 *   1. idempotency: a consensus index ≤ meta "applied" changes nothing
 *      (chain_block_replay, used when catching up by blocks, has no index:
 *      its block must link or nothing is written, and "applied" stays);
 *   2. header: peek (canonical, Merkle root), height = head + 1, prev = head id,
 *      time ≥ head time — else every tx gets a bad_block receipt, only the
 *      applied index moves;
 *   3. per tx, in block order: duplicate id → the first receipt again;
 *      decode, chain id, signature (stateless; such refusals are not recorded
 *      under the tx id, since an unsigned or foreign tx names no signer);
 *      then, in a NESTED LMDB transaction: a passkey assertion held to the
 *      relying party in force (state: rp.set, else genesis), signer (revoked?), role from the
 *      one table below, nonce = last + 1, the type's rule function; commit
 *      the nested txn on CHAIN_OK, abort it on a refusal (nothing changes,
 *      not even the nonce); record the receipt under the tx id;
 *   4. block stored, head and state digest updated, applied index written.
 * With chain_options.verify_threads > 1, the stateless checks (id, decode,
 * chain id, signature) of a big block run first on worker threads; the
 * in-order pass then only reads their verdicts — same results, the
 * signatures' cost spread over cores.
 * State digest: tagged_hash(STATE, prev_digest || block id || R) where
 * R = tagged_hash(STATE, concat over receipts of tx id || be32 code); the
 * digest before block 1 is tagged_hash(STATE, chain id).
 */
#include <assert.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "chain/block_priv.h"
#include "chain/state_int.h"
#include "chain/tx_schema.h"

#define R_(x)            (1u << CHAIN_ROLE_##x)
#define ROLES_ANY_KEY    (R_(NONE) | R_(BRAND) | R_(CARRIER) | R_(SELLER) | R_(SERVICE))
#define ROLES_REGISTERED (R_(BRAND) | R_(CARRIER) | R_(SELLER) | R_(SERVICE))

/* The one transaction-type table: who may sign it, what it does. Finer
 * checks (the brand of this unit, the owner, "owner only for stolen") are in
 * the rule functions. */
typedef struct tx_kind {
    unsigned roles;
    st_rule_fn fn;
    bool members; /* sets chain_apply_result.members_changed */
} tx_kind;

static const tx_kind kinds[CHAIN_TX__COUNT] = {
    [CHAIN_TX_MINT] = {R_(BRAND), rule_mint, false},
    [CHAIN_TX_PICKUP] = {R_(CARRIER), rule_pickup, false},
    [CHAIN_TX_DELIVER] = {R_(CARRIER), rule_deliver, false},
    [CHAIN_TX_SELL] = {R_(SELLER), rule_sell, false},
    [CHAIN_TX_CLAIM] = {ROLES_ANY_KEY, rule_claim, false},
    [CHAIN_TX_TRANSFER] = {ROLES_ANY_KEY, rule_transfer, false},
    [CHAIN_TX_WARRANTY_ACTIVATE] = {ROLES_ANY_KEY, rule_warranty_activate, false},
    [CHAIN_TX_WARRANTY_EXTEND] = {R_(BRAND) | R_(SERVICE), rule_warranty_extend, false},
    [CHAIN_TX_WARRANTY_CLAIM] = {ROLES_ANY_KEY, rule_warranty_claim, false},
    [CHAIN_TX_WARRANTY_RESOLVE] = {R_(BRAND) | R_(SERVICE), rule_warranty_resolve, false},
    [CHAIN_TX_FLAG] = {ROLES_ANY_KEY, rule_flag, false},
    [CHAIN_TX_UNFLAG] = {ROLES_ANY_KEY, rule_unflag, false},
    [CHAIN_TX_PARTICIPANT_ADD] = {R_(BRAND), rule_participant_add, false},
    [CHAIN_TX_PARTICIPANT_REVOKE] = {R_(BRAND), rule_participant_revoke, false},
    [CHAIN_TX_PARTICIPANT_ROTATE] = {ROLES_REGISTERED, rule_participant_rotate, false},
    [CHAIN_TX_NODE_ADD] = {R_(BRAND), rule_node_add, true},
    [CHAIN_TX_NODE_REMOVE] = {R_(BRAND), rule_node_remove, true},
    [CHAIN_TX_POLICY_SET] = {R_(BRAND), rule_policy_set, true},
    [CHAIN_TX_SCANS] = {R_(NODE), rule_scans, false},
    [CHAIN_TX_NODE_ROTATE] = {R_(BRAND), rule_node_rotate, true},
    [CHAIN_TX_TRANSFER_OFFER] = {ROLES_ANY_KEY, rule_transfer_offer, false},
    [CHAIN_TX_TRANSFER_CANCEL] = {ROLES_ANY_KEY, rule_transfer_cancel, false},
    [CHAIN_TX_RESOLVER_SET] = {R_(BRAND), rule_resolver_set, false},
    [CHAIN_TX_PACK] = {ROLES_REGISTERED, rule_pack, false},
    [CHAIN_TX_UNPACK] = {ROLES_REGISTERED, rule_unpack, false},
    [CHAIN_TX_RP_SET] = {R_(BRAND), rule_rp_set, false},
};

int st_refuse(st_actx *a, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(a->detail, a->detail_len, fmt, ap);
    va_end(ap);
    return code;
}

const char *st_unit_str(char buf[40], const gs1_sgtin *id)
{
    snprintf(buf, 40, "%s/%s", id->gtin, id->serial);
    return buf;
}

int st_rule_unit(st_actx *a, st_unit *u, const gs1_sgtin *id)
{
    int rc = st_unit_get(a->c, a->txn, u, id->gtin, id->serial);
    if (rc == CHAIN_ERR_NOT_FOUND) {
        char b[40];
        return st_refuse(a, CHAIN_ERR_UNKNOWN_UNIT, "unit %s: not minted", st_unit_str(b, id));
    }
    return rc;
}

/* What holds for every stored unit, whatever the path that led to it. (Used
 * only by assert: unused under NDEBUG, which clang reports for static inline.) */
__attribute__((unused)) static inline bool unit_check(const st_unit *s)
{
    const chain_unit *u = &s->u;
    bool sold = u->state == CHAIN_UNIT_SOLD || u->state == CHAIN_UNIT_OWNED;
    return u->state >= CHAIN_UNIT_MINTED && u->state < CHAIN_UNIT__COUNT &&
           u->has_owner == (u->state == CHAIN_UNIT_OWNED) &&
           /* a claim is pending when sold; when owned, a transfer offer may be
              open, and only an offer has an expiry */
           (u->state == CHAIN_UNIT_SOLD ? u->claim_pending
                                        : !u->claim_pending || u->state == CHAIN_UNIT_OWNED) &&
           (u->offer_expires != 0) == (u->claim_pending && u->state == CHAIN_UNIT_OWNED) &&
           (u->holder[0] == '\0') == sold &&
           (u->sold_at != 0) == sold && (u->warranty_active ? sold : true) &&
           (u->open_claims == 0 || u->warranty_active);
}

int st_rule_commit(st_actx *a, st_unit *u, chain_event *ev)
{
    assert(unit_check(u));
    ev->seq = u->u.nevents++;
    ev->type = a->tx->type;
    ev->time = a->hdr->time;
    ev->height = a->hdr->height;
    ev->index = a->index;
    memcpy(ev->tx, a->tx_id, CHAIN_HASH_LEN);
    memcpy(ev->actor, a->tx->signer, CHAIN_KEY_LEN);
    ev->actor_role = a->role;
    memcpy(ev->actor_id, a->signer_id, sizeof ev->actor_id);
    int rc = st_unit_put(a->c, a->txn, u, 0);
    if (rc == CHAIN_OK)
        rc = st_event_put(a->c, a->txn, &u->u.id, ev);
    return rc;
}

bool st_is_unit_brand(const st_actx *a, const st_unit *u)
{
    return a->role == CHAIN_ROLE_BRAND && strcmp(a->signer_brand, u->u.brand) == 0;
}

/* Who signed: fills role, signer id/brand/node. REVOKED_SIGNER for a revoked
 * participant, a key rotated away from, or a removed node's key. */
static int resolve_signer(st_actx *a)
{
    const uint8_t *key = a->tx->signer;
    char id[CHAIN_ID_MAX + 1];
    bool current;
    int rc = st_pkey_get(a->c, a->txn, key, id, &current);
    if (rc == CHAIN_OK) {
        if (!current)
            return st_refuse(a, CHAIN_ERR_REVOKED_SIGNER, "key of %s was rotated away", id);
        chain_participant p;
        if ((rc = st_part_get(a->c, a->txn, &p, id)))
            return rc == CHAIN_ERR_NOT_FOUND ? CHAIN_ERR_STORAGE : rc;
        if (p.revoked)
            return st_refuse(a, CHAIN_ERR_REVOKED_SIGNER, "participant %s is revoked", p.id);
        a->role = p.role;
        memcpy(a->signer_id, p.id, sizeof a->signer_id);
        memcpy(a->signer_brand, p.brand, sizeof a->signer_brand);
        return CHAIN_OK;
    }
    if (rc != CHAIN_ERR_NOT_FOUND)
        return rc;
    uint64_t node_id;
    rc = st_uint_get(a->txn, a->c->dbi[DB_NKEYS], key, CHAIN_KEY_LEN, &node_id);
    if (rc == CHAIN_OK) {
        st_node n;
        if ((rc = st_node_get(a->c, a->txn, &n, node_id)))
            return rc == CHAIN_ERR_NOT_FOUND ? CHAIN_ERR_STORAGE : rc;
        if (n.removed)
            return st_refuse(a, CHAIN_ERR_REVOKED_SIGNER, "node %llu was removed",
                             (unsigned long long)node_id);
        a->role = CHAIN_ROLE_NODE;
        a->signer_node = node_id;
        return CHAIN_OK;
    }
    if (rc != CHAIN_ERR_NOT_FOUND)
        return rc;
    a->role = CHAIN_ROLE_NONE;
    return CHAIN_OK;
}

/* Stateful part of one tx, inside its nested transaction. */
static int apply_tx(st_actx *a)
{
    const chain_tx *tx = a->tx;
    const tx_kind *k = &kinds[tx->type];
    assert(k->fn != NULL);
    int rc;
    if (tx->auth != NULL) {
        /* the assertion's relying-party half, against the rp in force at this
           tx (an rp.set earlier in this block counts): every node alike */
        chain_rp rp;
        if ((rc = st_rp_current(a->c, a->txn, &rp)))
            return rc;
        if ((rc = chain_tx_check_rp(&rp, tx, a->detail, a->detail_len)))
            return rc;
    }
    if ((rc = resolve_signer(a)))
        return rc;
    if (!(k->roles & (1u << a->role))) {
        if (a->role == CHAIN_ROLE_NONE)
            return st_refuse(a, CHAIN_ERR_UNKNOWN_SIGNER, "%s needs a registered signer",
                             chain_tx_type_name(tx->type));
        return st_refuse(a, CHAIN_ERR_WRONG_ROLE, "%s may not be signed by a %s",
                         chain_tx_type_name(tx->type), chain_role_name(a->role));
    }
    uint64_t last = 0;
    rc = st_uint_get(a->txn, a->c->dbi[DB_NONCES], tx->signer, CHAIN_KEY_LEN, &last);
    if (rc && rc != CHAIN_ERR_NOT_FOUND)
        return rc;
    if (tx->nonce != last + 1)
        return st_refuse(a, CHAIN_ERR_STALE_NONCE, "nonce %llu, expected %llu",
                         (unsigned long long)tx->nonce, (unsigned long long)(last + 1));
    if ((rc = k->fn(a)))
        return rc;
    assert(tx->nonce > last);
    return st_uint_put(a->txn, a->c->dbi[DB_NONCES], tx->signer, CHAIN_KEY_LEN, tx->nonce);
}

void chain_apply_result_free(chain_apply_result *r)
{
    if (r == NULL)
        return;
    free(r->receipts);
    r->receipts = NULL;
    r->nreceipts = 0;
}

/* The stateless signature check (chain_tx_verify without an rp: a passkey
 * assertion's relying-party half needs state and is apply_tx's), unless this
 * process already verified these exact bytes at admission. */
static int verify_tx(const chain *c, const chain_tx *tx, const uint8_t id[CHAIN_HASH_LEN],
                     const uint8_t *raw, size_t rlen, char *detail, size_t dlen)
{
    if (c->verified != NULL && c->verified(c->verified_ctx, id, raw, rlen))
        return CHAIN_OK;
    return chain_tx_verify(NULL, tx, id, detail, dlen);
}

static void set_err(char *errmsg, size_t errmsg_len, const char *what, int rc)
{
    if (errmsg == NULL || errmsg_len == 0 || errmsg[0] != '\0')
        return;
    if (rc == CHAIN_ERR_STORAGE || rc == CHAIN_ERR_DISK_FULL)
        snprintf(errmsg, errmsg_len, "apply block: %s: lmdb: %s", what, st_last_lmdb_error());
    else
        snprintf(errmsg, errmsg_len, "apply block: %s: %s", what, chain_err_code(rc));
}

static void receipts_digest(uint8_t out[CHAIN_HASH_LEN], uint8_t *scratch, const chain_receipt *r,
                            size_t n)
{
    for (size_t i = 0; i < n; i++) {
        memcpy(scratch + i * 36, r[i].tx, CHAIN_HASH_LEN);
        st_be32(scratch + i * 36 + 32, (uint32_t)r[i].code);
    }
    chain_tagged_hash(out, CHAIN_TAG_STATE, scratch, n * 36);
}

/* ---- stateless pre-pass on worker threads ---- */

/* Verdict of the stateless checks of one tx. */
typedef struct pre_check {
    uint8_t id[CHAIN_HASH_LEN];
    bool has_id;
    int code; /* CHAIN_OK: decodes, our chain, signature verifies */
    char detail[sizeof(((chain_receipt *)0)->detail)];
} pre_check;

typedef struct pre_job {
    const uint8_t *const *txs;
    const size_t *lens;
    const uint8_t (*ids)[CHAIN_HASH_LEN]; /* the peek's, or NULL: hash here */
    size_t n, first, step;
    const chain *c;
    pre_check *out;
} pre_job;

/* The stateless checks, exactly as apply_one does them inline. */
static void pre_check_one(pre_check *p, const chain *c, const uint8_t *raw, size_t rlen,
                          const uint8_t *id)
{
    p->detail[0] = '\0';
    if (id != NULL)
        memcpy(p->id, id, CHAIN_HASH_LEN);
    int id_rc = id != NULL ? CHAIN_OK : tx_id_raw(p->id, raw, rlen);
    p->has_id = id_rc == CHAIN_OK;
    p->code = st_fatal(id_rc) ? id_rc : CHAIN_OK; /* a local failure: apply_one stops */
    if (!p->has_id)
        return;
    chain_tx tx;
    p->code = chain_tx_decode(&tx, raw, rlen, p->detail, sizeof p->detail);
    if (p->code != CHAIN_OK)
        return;
    if (memcmp(tx.chain, c->g->chain_id, CHAIN_HASH_LEN) != 0) {
        p->code = CHAIN_ERR_WRONG_CHAIN;
        snprintf(p->detail, sizeof p->detail, "signed for another chain");
    } else {
        p->code = verify_tx(c, &tx, p->id, raw, rlen, p->detail, sizeof p->detail);
    }
    chain_tx_free(&tx);
}

static void *pre_worker(void *arg)
{
    pre_job *j = arg;
    for (size_t i = j->first; i < j->n; i += j->step)
        pre_check_one(&j->out[i], j->c, j->txs[i], j->lens[i], j->ids != NULL ? j->ids[i] : NULL);
    return NULL;
}

/* Below this many txs a block is checked inline: threads would cost more. */
#define PRE_MIN_TXS 64

/* Fills pre[0..n) using up to `threads` threads (the caller's among them).
 * Returns false (pre unusable) only when no thread could be started. */
static bool pre_pass(pre_check *pre, unsigned threads, const chain *c, const uint8_t *const *txs,
                     const size_t *lens, const uint8_t (*ids)[CHAIN_HASH_LEN], size_t n)
{
    pthread_t tid[16];
    pre_job *jobs = calloc(threads, sizeof *jobs);
    if (jobs == NULL)
        return false;
    unsigned started = 0;
    for (unsigned w = 0; w < threads; w++) {
        jobs[w].txs = txs;
        jobs[w].lens = lens;
        jobs[w].ids = ids;
        jobs[w].n = n;
        jobs[w].first = w;
        jobs[w].step = threads;
        jobs[w].c = c;
        jobs[w].out = pre;
    }
    for (unsigned w = 1; w < threads; w++, started++)
        if (pthread_create(&tid[w], NULL, pre_worker, &jobs[w]) != 0)
            break;
    /* Stripes whose thread did not start run here, after our own. */
    for (unsigned w = 0; w < threads; w++)
        if (w == 0 || w > started)
            pre_worker(&jobs[w]);
    for (unsigned w = 1; w <= started; w++)
        pthread_join(tid[w], NULL);
    free(jobs);
    return true;
}

/* What the per-tx step needs of the block being applied. */
typedef struct blk_ctx {
    chain *c;
    MDB_txn *t;
    const chain_block_header *hdr;
    const uint8_t *blk;
    st_head *head;
    bool members_changed;
    char *errmsg;
    size_t errmsg_len;
} blk_ctx;

/* Runs tx i (raw bytes) and fills its receipt r; pre, when not NULL, holds
 * its stateless verdict from the pre-pass; id, when not NULL, its id as the
 * block's peek hashed it. Returns CHAIN_OK whatever the
 * tx's fate; nonzero only for a local failure that aborts the block. */
static int apply_one(blk_ctx *b, chain_receipt *r, uint32_t i, const uint8_t *raw, size_t rlen,
                     const pre_check *pre, const uint8_t *id)
{
    r->height = b->hdr->height;
    r->index = i;
    if (pre == NULL && id != NULL)
        memcpy(r->tx, id, CHAIN_HASH_LEN); /* hashed by the peek */
    /* A local failure (memory) is this node's, not the tx's: no receipt, the
     * block is not applied here, as on a full disk. */
    if (pre != NULL && st_fatal(pre->code)) {
        set_err(b->errmsg, b->errmsg_len, "tx", pre->code);
        return pre->code;
    }
    int id_rc = pre != NULL || id != NULL ? CHAIN_OK : tx_id_raw(r->tx, raw, rlen);
    if (st_fatal(id_rc)) {
        set_err(b->errmsg, b->errmsg_len, "tx id", id_rc);
        return id_rc;
    }
    bool has_id = pre != NULL ? pre->has_id : id != NULL || id_rc == CHAIN_OK;
    if (pre != NULL && has_id)
        memcpy(r->tx, pre->id, CHAIN_HASH_LEN);
    if (!has_id) {
        r->code = CHAIN_ERR_MALFORMED;
        snprintf(r->detail, sizeof r->detail, "not a signed transaction");
        return CHAIN_OK;
    }
    uint32_t off, tlen;
    int rc = st_txrec_get(b->c, b->t, r, &off, &tlen, r->tx);
    if (rc == CHAIN_OK)
        return CHAIN_OK; /* duplicate: the first receipt, nothing changes */
    if (rc != CHAIN_ERR_NOT_FOUND) {
        set_err(b->errmsg, b->errmsg_len, "tx index", rc);
        return rc;
    }
    r->height = b->hdr->height;
    r->index = i;
    r->detail[0] = '\0';

    /* Stateless checks: a refusal here names no signer and is not recorded. */
    chain_tx tx;
    if (pre != NULL && pre->code != CHAIN_OK) {
        r->code = pre->code;
        memcpy(r->detail, pre->detail, sizeof r->detail);
        return CHAIN_OK;
    }
    r->code = chain_tx_decode(&tx, raw, rlen, r->detail, sizeof r->detail);
    if (st_fatal(r->code)) {
        set_err(b->errmsg, b->errmsg_len, "tx decode", r->code);
        return r->code;
    }
    if (r->code != CHAIN_OK)
        return CHAIN_OK;
    if (pre != NULL) {
        /* checked in the pre-pass */
    } else if (memcmp(tx.chain, b->c->g->chain_id, CHAIN_HASH_LEN) != 0) {
        r->code = CHAIN_ERR_WRONG_CHAIN;
        snprintf(r->detail, sizeof r->detail, "signed for another chain");
    } else {
        r->code = verify_tx(b->c, &tx, r->tx, raw, rlen, r->detail, sizeof r->detail);
    }
    if (r->code != CHAIN_OK) {
        chain_tx_free(&tx);
        if (st_fatal(r->code)) {
            set_err(b->errmsg, b->errmsg_len, "tx verify", r->code);
            return r->code;
        }
        return CHAIN_OK;
    }

    /* Stateful: in a nested transaction, so a refusal rolls back cleanly. */
    st_actx a;
    memset(&a, 0, sizeof a);
    a.c = b->c;
    a.hdr = b->hdr;
    a.tx_id = r->tx;
    a.index = i;
    a.tx = &tx;
    a.detail = r->detail;
    a.detail_len = sizeof r->detail;
    int mrc = mdb_txn_begin(b->c->env, b->t, 0, &a.txn);
    if (mrc) {
        chain_tx_free(&tx);
        return st_lmdb_err(mrc, "apply block: nested txn", b->errmsg, b->errmsg_len);
    }
    r->code = apply_tx(&a);
    const bool members = kinds[tx.type].members || a.members_changed;
    chain_tx_free(&tx);
    if (st_fatal(r->code)) {
        mdb_txn_abort(a.txn);
        set_err(b->errmsg, b->errmsg_len, "tx", r->code);
        return r->code;
    }
    if (r->code == CHAIN_OK) {
        if ((mrc = mdb_txn_commit(a.txn)))
            return st_lmdb_err(mrc, "apply block: nested commit", b->errmsg, b->errmsg_len);
        r->detail[0] = '\0';
        b->head->units += (uint64_t)a.units_delta;
        b->members_changed |= members;
    } else {
        mdb_txn_abort(a.txn);
    }
    if ((rc = st_txrec_put(b->c, b->t, r, (uint32_t)(raw - b->blk), (uint32_t)rlen))) {
        set_err(b->errmsg, b->errmsg_len, "tx index", rc);
        return rc;
    }
    b->head->txs++;
    return CHAIN_OK;
}

/* Stores the block and moves the head: new height, id, time and digest. */
static int seal_block(blk_ctx *b, const uint8_t bid[CHAIN_HASH_LEN], size_t len,
                      const chain_receipt *rcpt, size_t ntx, uint8_t *scratch)
{
    st_head *h = b->head;
    uint8_t k[8], rh[CHAIN_HASH_LEN], buf[3 * CHAIN_HASH_LEN];
    st_be64(k, b->hdr->height);
    int rc = st_put(b->t, b->c->dbi[DB_BLOCKS], k, sizeof k, b->blk, len, 0);
    if (rc) {
        set_err(b->errmsg, b->errmsg_len, "store block", rc);
        return rc;
    }
    receipts_digest(rh, scratch, rcpt, ntx);
    memcpy(buf, h->digest, CHAIN_HASH_LEN);
    memcpy(buf + CHAIN_HASH_LEN, bid, CHAIN_HASH_LEN);
    memcpy(buf + 2 * CHAIN_HASH_LEN, rh, CHAIN_HASH_LEN);
    chain_tagged_hash(h->digest, CHAIN_TAG_STATE, buf, sizeof buf);
    assert(b->hdr->height == h->height + 1);
    assert(b->hdr->time >= h->time);
    h->height = b->hdr->height;
    h->time = b->hdr->time;
    memcpy(h->id, bid, CHAIN_HASH_LEN);
    if ((rc = st_head_put(b->c, b->t, h)))
        set_err(b->errmsg, b->errmsg_len, "head", rc);
    return rc;
}

/* The linkage rule apply and the fsm share: a peeked block extends (height,
 * prev, time) the head given. */
bool chain_block_extends(const chain_block_header *hdr, uint64_t height,
                         const uint8_t head_id[CHAIN_HASH_LEN], uint64_t head_time)
{
    return hdr->height == height + 1 && memcmp(hdr->prev, head_id, CHAIN_HASH_LEN) == 0 &&
           hdr->time >= head_time;
}

/* One block inside the caller's write transaction t: the body behind
 * chain_block_apply and chain_blocks_apply (index > 0: consensus order,
 * idempotent per index, a block that does not link is skipped and the index
 * moves) and chain_block_replay (index 0: the block must link, the index
 * stays). Nothing is committed here; on an error the caller aborts t. */
static int apply_block(chain *c, MDB_txn *t, chain_apply_result *res, uint64_t index,
                       const uint8_t *blk, size_t len, const chain_block_ids *peeked, char *errmsg,
                       size_t errmsg_len)
{
    const uint8_t **txs = NULL;
    size_t *lens = NULL;
    uint8_t *scratch = NULL;
    chain_receipt *rcpt = NULL;
    pre_check *pre = NULL;
    int rc;
    memset(res, 0, sizeof *res);

    uint64_t applied = 0;
    st_head head;
    if ((rc = st_uint_get(t, c->dbi[DB_META], "applied", 7, &applied)) ||
        (rc = st_head_get(c, t, &head))) {
        set_err(errmsg, errmsg_len, "meta", rc);
        return rc;
    }
    bool replay = index == 0;
    if (!replay && index <= applied) {
        memcpy(res->block_id, head.id, CHAIN_HASH_LEN);
        memcpy(res->state_digest, head.digest, CHAIN_HASH_LEN);
        return CHAIN_OK;
    }

    /* The caller's peek of these bytes, else our own: hashed once either way. */
    chain_block_ids own = {0};
    int peek = peeked != NULL ? CHAIN_OK : chain_block_peek_ids(&own, blk, len);
    if (st_fatal(peek)) { /* this node's memory, not the block: skipping it would fork */
        rc = peek;
        set_err(errmsg, errmsg_len, "peek", rc);
        goto fail;
    }
    const chain_block_ids *pk = peeked != NULL ? peeked : &own;
    const chain_block_header hdr = pk->hdr;
    const uint8_t *bid = pk->id;
    const uint8_t(*tx_ids)[CHAIN_HASH_LEN] = pk->tx_ids;
    size_t ntx = pk->ntxs;
    bool linked = peek == CHAIN_OK && chain_block_extends(&hdr, head.height, head.id, head.time);
    if (peek == CHAIN_OK && ntx > 0) {
        txs = malloc(ntx * sizeof *txs);
        lens = malloc(ntx * sizeof *lens);
        rcpt = calloc(ntx, sizeof *rcpt);
        scratch = malloc(ntx * 36);
        if (txs == NULL || lens == NULL || rcpt == NULL || scratch == NULL) {
            rc = CHAIN_ERR_NOMEM;
            goto fail;
        }
        /* peek accepted the block, so its slices are well formed */
        if ((rc = block_tx_slices(txs, lens, ntx, blk, len)) != CHAIN_OK) {
            set_err(errmsg, errmsg_len, "slices of a peeked block", rc);
            goto fail;
        }
    }
    if (!linked && replay) {
        if (errmsg != NULL && errmsg_len > 0 && errmsg[0] == '\0') {
            if (peek != CHAIN_OK)
                snprintf(errmsg, errmsg_len, "replay: block does not decode: %s",
                         chain_err_code(peek));
            else
                snprintf(errmsg, errmsg_len,
                         "replay: block %llu does not extend the head at height %llu",
                         (unsigned long long)hdr.height, (unsigned long long)head.height);
        }
        rc = CHAIN_ERR_BAD_BLOCK;
        goto fail;
    }
    if (!linked) {
        /* Skipped: receipts say so, only the applied index moves. */
        for (size_t i = 0; i < ntx; i++) {
            if (tx_id_raw(rcpt[i].tx, txs[i], lens[i]) != CHAIN_OK)
                memset(rcpt[i].tx, 0, CHAIN_HASH_LEN);
            rcpt[i].index = (uint32_t)i;
            rcpt[i].code = CHAIN_ERR_BAD_BLOCK;
            snprintf(rcpt[i].detail, sizeof rcpt[i].detail, "block does not extend head %llu",
                     (unsigned long long)head.height);
        }
        res->block_code = CHAIN_ERR_BAD_BLOCK;
        if (peek == CHAIN_OK)
            memcpy(res->block_id, bid, CHAIN_HASH_LEN);
        memcpy(res->state_digest, head.digest, CHAIN_HASH_LEN);
    } else {
        blk_ctx b = {c, t, &hdr, blk, &head, false, errmsg, errmsg_len};
        if (c->verify_threads > 1 && ntx >= PRE_MIN_TXS) {
            pre = malloc(ntx * sizeof *pre);
            if (pre != NULL && !pre_pass(pre, c->verify_threads, c, txs, lens, tx_ids, ntx)) {
                free(pre);
                pre = NULL; /* fall back to inline checks */
            }
        }
        for (size_t i = 0; i < ntx; i++)
            if ((rc = apply_one(&b, &rcpt[i], (uint32_t)i, txs[i], lens[i],
                                pre != NULL ? &pre[i] : NULL, tx_ids != NULL ? tx_ids[i] : NULL)))
                goto fail;
        if ((rc = seal_block(&b, bid, len, rcpt, ntx, scratch)))
            goto fail;
        res->height = hdr.height;
        res->block_code = CHAIN_OK;
        res->members_changed = b.members_changed;
        memcpy(res->block_id, bid, CHAIN_HASH_LEN);
        memcpy(res->state_digest, head.digest, CHAIN_HASH_LEN);
    }
    if (!replay && (rc = st_uint_put(t, c->dbi[DB_META], "applied", 7, index))) {
        set_err(errmsg, errmsg_len, "applied index", rc);
        goto fail;
    }
    free(pre);
    chain_block_ids_free(&own);
    free(txs);
    free(lens);
    free(scratch);
    res->receipts = rcpt;
    res->nreceipts = ntx;
    return CHAIN_OK;
fail:
    free(pre);
    chain_block_ids_free(&own);
    free(txs);
    free(lens);
    free(scratch);
    free(rcpt);
    memset(res, 0, sizeof *res);
    return rc;
}

/* Applies blks[0..n) in one write transaction (index[i] each, 0 = replay) and
 * commits once; all or nothing. */
static int apply_group(chain *c, chain_apply_result *res, const uint64_t *index,
                       const uint8_t *const *blks, const size_t *lens,
                       const chain_block_ids *const *peeked, size_t n, char *errmsg,
                       size_t errmsg_len)
{
    if (errmsg != NULL && errmsg_len > 0)
        errmsg[0] = '\0';
    memset(res, 0, n * sizeof *res);
    MDB_txn *t;
    int mrc = mdb_txn_begin(c->env, NULL, 0, &t), rc = CHAIN_OK;
    if (mrc)
        return st_lmdb_err(mrc, "apply block: begin", errmsg, errmsg_len);
    uint64_t top = 0;
    size_t done = 0;
    for (; done < n && rc == CHAIN_OK; done++) {
        rc = apply_block(c, t, &res[done], index[done], blks[done], lens[done],
                         peeked != NULL ? peeked[done] : NULL, errmsg, errmsg_len);
        if (index[done] > top)
            top = index[done];
    }
    if (rc == CHAIN_OK && (mrc = mdb_txn_commit(t)))
        rc = st_lmdb_err(mrc, "apply block: commit", errmsg, errmsg_len);
    else if (rc != CHAIN_OK)
        mdb_txn_abort(t);
    if (rc != CHAIN_OK) {
        for (size_t i = 0; i < done; i++)
            chain_apply_result_free(&res[i]);
        memset(res, 0, n * sizeof *res);
        return rc;
    }
    if (top > atomic_load(&c->applied))
        atomic_store(&c->applied, top);
    return CHAIN_OK;
}

int chain_block_apply(chain *c, chain_apply_result *res, uint64_t index, const uint8_t *blk,
                      size_t len, char *errmsg, size_t errmsg_len)
{
    if (index == 0) {
        memset(res, 0, sizeof *res);
        if (errmsg != NULL && errmsg_len > 0)
            snprintf(errmsg, errmsg_len, "apply block: consensus index 0");
        return CHAIN_ERR_INVALID;
    }
    return apply_group(c, res, &index, &blk, &len, NULL, 1, errmsg, errmsg_len);
}

int chain_blocks_apply(chain *c, chain_apply_result *res, const uint64_t *index,
                       const uint8_t *const *blks, const size_t *lens, size_t n, char *errmsg,
                       size_t errmsg_len)
{
    return chain_blocks_apply_peeked(c, res, index, blks, lens, NULL, n, errmsg, errmsg_len);
}

int chain_blocks_apply_peeked(chain *c, chain_apply_result *res, const uint64_t *index,
                              const uint8_t *const *blks, const size_t *lens,
                              const chain_block_ids *const *peeked, size_t n, char *errmsg,
                              size_t errmsg_len)
{
    for (size_t i = 0; i < n; i++)
        if (index[i] == 0 || (i > 0 && index[i] <= index[i - 1])) {
            memset(res, 0, n * sizeof *res);
            if (errmsg != NULL && errmsg_len > 0)
                snprintf(errmsg, errmsg_len, "apply blocks: indexes must be > 0 and increase");
            return CHAIN_ERR_INVALID;
        }
    return apply_group(c, res, index, blks, lens, peeked, n, errmsg, errmsg_len);
}

int chain_block_replay(chain *c, chain_apply_result *res, const uint8_t *blk, size_t len,
                       char *errmsg, size_t errmsg_len)
{
    const uint64_t zero = 0;
    return apply_group(c, res, &zero, &blk, &len, NULL, 1, errmsg, errmsg_len);
}
