/* A seeded, randomized lifecycle run: 1,000 blocks of valid and invalid
 * transactions of every type, applied to two independent ledgers. Both must
 * end with the same head and state digest, and each ledger's indexes must
 * agree with its unit records. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helper_chain.h"

#define BLOCKS 1000
#define POOL   400

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}
static unsigned pick(unsigned n)
{
    return (unsigned)(next_rand() % n);
}

static char pool[POOL][16];
static size_t npool;

static const char *rand_serial(void)
{
    if (npool == 0 || pick(20) == 0)
        return "GHOST";
    return pool[pick((unsigned)npool)];
}

static const char *const ids[] = {"carrier-a", "carrier-b", "seller-a", "seller-b",
                                  "service-a", "acme",      "nobody"};

/* Fills tx (which may point at *u) with a random transaction; returns the signer. */
static int random_tx(hc_env *e, chain_tx *tx, gs1_sgtin *u, char **serials, uint8_t (*sigs)[64],
                     chain_scan *scans, int blockno)
{
    static const int types[] = {
        CHAIN_TX_MINT,
        CHAIN_TX_PICKUP,
        CHAIN_TX_PICKUP,
        CHAIN_TX_DELIVER,
        CHAIN_TX_DELIVER,
        CHAIN_TX_SELL,
        CHAIN_TX_CLAIM,
        CHAIN_TX_TRANSFER,
        CHAIN_TX_TRANSFER_OFFER,
        CHAIN_TX_TRANSFER_CANCEL,
        CHAIN_TX_WARRANTY_ACTIVATE,
        CHAIN_TX_WARRANTY_EXTEND,
        CHAIN_TX_WARRANTY_CLAIM,
        CHAIN_TX_WARRANTY_RESOLVE,
        CHAIN_TX_FLAG,
        CHAIN_TX_UNFLAG,
        CHAIN_TX_SCANS,
        CHAIN_TX_POLICY_SET,
        CHAIN_TX_RESOLVER_SET,
        CHAIN_TX_RP_SET,
    };
    int type = types[pick(sizeof types / sizeof types[0])];
    *tx = hc_tx(type);
    int who = (int)pick(HK__COUNT);
    *u = hc_unit(HC_GTIN, rand_serial());
    tx->units = u;
    tx->nunits = 1;
    switch (type) {
    case CHAIN_TX_MINT: {
        tx->units = NULL;
        tx->nunits = 1 + pick(4);
        snprintf(tx->gtin, sizeof tx->gtin, "%s", pick(10) ? HC_GTIN : HC_GTIN_BOLT);
        snprintf(tx->lot, sizeof tx->lot, "L%u", pick(3));
        for (size_t i = 0; i < tx->nunits; i++) {
            if (pick(10) == 0 && npool > 0)
                snprintf(serials[i], 16, "%s", pool[pick((unsigned)npool)]); /* duplicate */
            else
                snprintf(serials[i], 16, "B%dN%u", blockno & 0xffff, (unsigned)(i & 7));
            memset(sigs[i], 1, 64);
            if (npool < POOL && strcmp(tx->gtin, HC_GTIN) == 0)
                snprintf(pool[npool++], 16, "%s", serials[i]); /* maybe refused: fine */
        }
        tx->serials = serials;
        tx->label_sigs = sigs;
        who = pick(6) ? HK_BRAND : (int)pick(HK__COUNT);
        break;
    }
    case CHAIN_TX_PICKUP:
        who = pick(5) ? (pick(2) ? HK_CARRIER : HK_CARRIER2) : who;
        break;
    case CHAIN_TX_DELIVER:
        who = pick(5) ? (pick(2) ? HK_CARRIER : HK_CARRIER2) : who;
        snprintf(tx->to, sizeof tx->to, "%s", ids[pick(7)]);
        break;
    case CHAIN_TX_SELL:
        who = pick(5) ? (pick(2) ? HK_SELLER : HK_SELLER2) : who;
        if (pick(2)) {
            tx->has_key = true;
            memcpy(tx->key, e->pub[HK_ALICE + pick(3)], 32);
        } else {
            uint8_t sk[32];
            assert_int_equal(chain_claim_key(sk, tx->claim_key, u->gtin, u->serial, "C0DE", 4),
                             CHAIN_OK);
        }
        break;
    case CHAIN_TX_TRANSFER_OFFER: {
        who = HK_ALICE + (int)pick(3);
        uint8_t sk[32];
        assert_int_equal(chain_claim_key(sk, tx->claim_key, u->gtin, u->serial, "C0DE", 4),
                         CHAIN_OK);
        tx->expires = e->time + 1000 * (1 + pick(3));
        break;
    }
    case CHAIN_TX_TRANSFER_CANCEL:
        who = HK_ALICE + (int)pick(3);
        break;
    case CHAIN_TX_CLAIM: {
        who = HK_ALICE + (int)pick(3);
        uint8_t sk[32], pub[32], m[32];
        assert_int_equal(chain_claim_key(sk, pub, u->gtin, u->serial, pick(4) ? "C0DE" : "N0PE", 4),
                         CHAIN_OK);
        chain_claim_msg(m, e->g->chain_id, u->gtin, u->serial, e->pub[who]);
        assert_int_equal(chain_sign(tx->claim_sig, sk, m), CHAIN_OK);
        break;
    }
    case CHAIN_TX_TRANSFER:
        who = HK_ALICE + (int)pick(3);
        tx->has_key = true;
        memcpy(tx->key, e->pub[HK_ALICE + pick(3)], 32);
        break;
    case CHAIN_TX_WARRANTY_ACTIVATE:
    case CHAIN_TX_WARRANTY_CLAIM:
        who = pick(4) ? HK_ALICE + (int)pick(3) : HK_SELLER;
        break;
    case CHAIN_TX_WARRANTY_EXTEND:
        who = pick(2) ? HK_SERVICE : HK_BRAND;
        tx->warranty_months = 1 + pick(12);
        break;
    case CHAIN_TX_WARRANTY_RESOLVE:
        who = pick(2) ? HK_SERVICE : HK_BRAND;
        tx->outcome = CHAIN_OUTCOME_REPAIRED + (int)pick(3);
        break;
    case CHAIN_TX_FLAG:
    case CHAIN_TX_UNFLAG:
        who = pick(2) ? HK_BRAND : HK_ALICE + (int)pick(3);
        tx->reason = 1u << pick(4);
        break;
    case CHAIN_TX_SCANS: {
        who = pick(8) ? HK_NODE : HK_CARRIER;
        tx->units = NULL;
        tx->nunits = 0;
        tx->nscans = 1 + pick(4);
        static const char *const regions[] = {"DE", "FR", "US", "", "DE-BY"};
        for (size_t i = 0; i < tx->nscans; i++) {
            memset(&scans[i], 0, sizeof scans[i]);
            scans[i].kind = (uint8_t)(CHAIN_SCAN_SCAN + pick(3));
            scans[i].id = hc_unit(HC_GTIN, rand_serial());
            scans[i].time = 1767225600 + (uint64_t)blockno * 10 + pick(100);
            snprintf(scans[i].region, sizeof scans[i].region, "%s", regions[pick(5)]);
            memset(scans[i].client, (int)pick(6), 16);
            if (scans[i].kind == CHAIN_SCAN_REPORT)
                snprintf(scans[i].note, sizeof scans[i].note, "fake?");
        }
        tx->scans = scans;
        break;
    }
    case CHAIN_TX_POLICY_SET:
        tx->units = NULL;
        tx->nunits = 0;
        who = pick(4) ? HK_BRAND : HK_SELLER;
        tx->policy.max_clients = 1 + pick(9);
        if (pick(2))
            snprintf(tx->gtin, sizeof tx->gtin, "%s", HC_GTIN);
        break;
    case CHAIN_TX_RESOLVER_SET:
        tx->units = NULL;
        tx->nunits = 0;
        who = pick(4) ? HK_BRAND : HK_CARRIER;
        snprintf(tx->resolver, sizeof tx->resolver, "https://r%u.example", (unsigned)pick(9));
        break;
    case CHAIN_TX_RP_SET:
        tx->units = NULL;
        tx->nunits = 0;
        who = pick(4) ? HK_BRAND : HK_SERVICE;
        snprintf(tx->rp.id, sizeof tx->rp.id, "shop%u.example", (unsigned)pick(9));
        snprintf(tx->rp.origins[0], sizeof tx->rp.origins[0], "https://shop%u.example",
                 (unsigned)pick(9));
        tx->rp.norigins = 1;
        tx->rp_uv = (uint8_t)pick(3);
        break;
    }
    return who;
}

typedef struct check {
    hc_env *e;
    chain_rd *rd;
    uint64_t units;
} check;

typedef struct hist {
    uint32_t n;
    int first_type;
} hist;

static int count_event(void *ctx, const chain_event *ev)
{
    hist *h = ctx;
    if (h->n == 0)
        h->first_type = ev->type;
    assert_int_equal(ev->seq, h->n);
    h->n++;
    return 0;
}

typedef struct find {
    const gs1_sgtin *want;
    bool found;
} find;

static int find_unit(void *ctx, const gs1_sgtin *id)
{
    find *f = ctx;
    if (strcmp(id->gtin, f->want->gtin) == 0 && strcmp(id->serial, f->want->serial) == 0)
        f->found = true;
    return f->found;
}

/* Each unit: history length = nevents and starts with its mint; an owned
 * unit is listed under its owner; a sold one has no holder. */
static int check_unit(void *ctx, const gs1_sgtin *id)
{
    check *k = ctx;
    chain_unit u;
    assert_int_equal(chain_unit_get(k->rd, &u, id->gtin, id->serial), CHAIN_OK);
    k->units++;
    hist h = {0, 0};
    assert_int_equal(chain_unit_history(k->rd, id->gtin, id->serial, 0, 0, count_event, &h),
                     CHAIN_OK);
    assert_int_equal(h.n, u.nevents);
    assert_int_equal(h.first_type, CHAIN_TX_MINT);
    assert_true(u.state >= CHAIN_UNIT_MINTED && u.state < CHAIN_UNIT__COUNT);
    if (u.has_owner) {
        find f = {id, false};
        assert_int_equal(chain_owner_units(k->rd, u.owner, NULL, 0, find_unit, &f), CHAIN_OK);
        assert_true(f.found);
        assert_int_equal(u.state, CHAIN_UNIT_OWNED);
    }
    if (u.state == CHAIN_UNIT_SOLD || u.state == CHAIN_UNIT_OWNED)
        assert_string_equal(u.holder, "");
    return 0;
}

static void test_random_lifecycle_two_ledgers_same_digest(void **state)
{
    (void)state;
    hc_env *a = malloc(sizeof *a), *b = malloc(sizeof *b);
    hc_setup(a);
    hc_setup_twin(b, a);
    char *serials[4];
    char sbuf[4][16];
    for (int i = 0; i < 4; i++)
        serials[i] = sbuf[i];
    uint8_t sigs[4][64];
    chain_scan scans[4];
    uint8_t *prev_tx = NULL;
    size_t prev_len = 0;
    size_t accepted = 0, refused = 0;
    for (int blk = 0; blk < BLOCKS; blk++) {
        size_t n = 1 + pick(6);
        uint8_t *txs[8];
        size_t lens[8];
        size_t k = 0;
        for (size_t i = 0; i < n; i++) {
            chain_tx tx;
            gs1_sgtin u;
            int who = random_tx(a, &tx, &u, serials, sigs, scans, blk);
            if (pick(40) == 0)
                memset(tx.chain, 3, 32); /* another chain */
            if (pick(40) == 0)
                tx.nonce = 1; /* stale (or, for a fresh key, valid) */
            hc_encode(a, who, &tx, &txs[k], &lens[k]);
            if (pick(60) == 0)
                txs[k][lens[k] - 1] ^= 1; /* bad signature or malformed */
            k++;
        }
        if (prev_tx != NULL && pick(10) == 0) { /* replay a tx of an earlier block */
            txs[k] = prev_tx;
            lens[k] = prev_len;
            k++;
            prev_tx = NULL;
        }
        free(prev_tx);
        prev_tx = malloc(lens[0]);
        memcpy(prev_tx, txs[0], lens[0]);
        prev_len = lens[0];
        if (blk % 97 == 0)
            a->time += 13ull * CHAIN_MONTH_SECONDS * 1000; /* let warranties expire */
        uint8_t *block;
        size_t blen;
        hc_build(a, &block, &blen, txs, lens, k);
        for (size_t i = 0; i < k; i++)
            free(txs[i]);
        chain_apply_result ra, rb;
        char err[128];
        uint64_t index = a->index + 1 + pick(2); /* consensus indexes may skip (config entries) */
        assert_int_equal(chain_block_apply(a->c, &ra, index, block, blen, err, sizeof err),
                         CHAIN_OK);
        assert_int_equal(chain_block_apply(b->c, &rb, index, block, blen, err, sizeof err),
                         CHAIN_OK);
        free(block);
        assert_int_equal(ra.block_code, CHAIN_OK);
        assert_int_equal(ra.nreceipts, rb.nreceipts);
        for (size_t i = 0; i < ra.nreceipts; i++) {
            assert_int_equal(ra.receipts[i].code, rb.receipts[i].code);
            if (ra.receipts[i].code == CHAIN_OK)
                accepted++;
            else
                refused++;
        }
        assert_memory_equal(ra.state_digest, rb.state_digest, 32);
        chain_apply_result_free(&ra);
        chain_apply_result_free(&rb);
        /* resync the helper's view of the head (it drives block building) */
        chain_head h = hc_get_head(a);
        a->height = h.height;
        a->time = h.time;
        a->index = h.applied_index;
        memcpy(a->head, h.id, 32);
        chain_rd *rd;
        assert_int_equal(chain_rd_begin(a->c, &rd), CHAIN_OK);
        for (int i = 0; i < HK__COUNT; i++)
            a->next[i] = chain_nonce_next(rd, a->pub[i]);
        chain_rd_end(rd);
    }
    free(prev_tx);
    chain_head ha = hc_get_head(a), hb = hc_get_head(b);
    assert_int_equal(ha.height, BLOCKS);
    assert_int_equal(ha.height, hb.height);
    assert_memory_equal(ha.id, hb.id, 32);
    assert_memory_equal(ha.state_digest, hb.state_digest, 32);
    assert_int_equal(ha.units, hb.units);
    assert_int_equal(ha.txs, hb.txs);
    /* a meaningful mix */
    assert_true(accepted > 500);
    assert_true(refused > 500);
    /* the lots' unit lists add up to the head's unit count */
    chain_rd *rd;
    assert_int_equal(chain_rd_begin(a->c, &rd), CHAIN_OK);
    check k = {a, rd, 0};
    for (int lot = 0; lot < 3; lot++) {
        char name[8];
        snprintf(name, sizeof name, "L%d", lot);
        assert_int_equal(chain_lot_units(rd, HC_GTIN, name, "", 0, check_unit, &k), CHAIN_OK);
        assert_int_equal(chain_lot_units(rd, HC_GTIN_BOLT, name, "", 0, check_unit, &k), CHAIN_OK);
    }
    assert_int_equal(k.units, ha.units);
    chain_rd_end(rd);
    /* both hold byte-identical state, record for record */
    uint8_t *sa, *sb;
    size_t la, lb;
    hc_dump(a, &sa, &la);
    hc_dump(b, &sb, &lb);
    assert_int_equal(la, lb);
    assert_memory_equal(sa, sb, la);
    free(sb);
    /* and a third ledger that replays a's blocks in ranges reaches the same */
    hc_env *c3 = malloc(sizeof *c3);
    hc_setup_twin(c3, a);
    hc_catch_up(c3, a, 64);
    hc_dump(c3, &sb, &lb);
    assert_int_equal(la, lb);
    assert_memory_equal(sa, sb, la);
    assert_int_equal(chain_applied_index(c3->c), ha.applied_index);
    free(sa);
    free(sb);
    hc_teardown(c3);
    free(c3);
    print_message("random run: %zu accepted, %zu refused, %llu units\n", accepted, refused,
                  (unsigned long long)ha.units);
    hc_teardown(a);
    hc_teardown(b);
    free(a);
    free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_lifecycle_two_ledgers_same_digest),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
