/* Rules of the unit lifecycle (chain.h "Unit lifecycle"): mint, pickup,
 * deliver, sell, claim, transfer, warranty, flags — each accepted in order
 * and refused with its precise code, changing nothing when refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helper_chain.h"

static int setup(void **state)
{
    hc_env *e = malloc(sizeof *e);
    hc_setup(e);
    *state = e;
    return 0;
}

static int teardown(void **state)
{
    hc_env *e = *state;
    hc_teardown(e);
    free(e);
    return 0;
}

static int move(hc_env *e, int type, int who, const char *serial, const char *to)
{
    gs1_sgtin u = hc_unit(HC_GTIN, serial);
    chain_tx tx = hc_tx(type);
    tx.units = &u;
    tx.nunits = 1;
    if (to != NULL)
        snprintf(tx.to, sizeof tx.to, "%s", to);
    return hc_apply1(e, who, &tx, NULL);
}

static int one(hc_env *e, int type, int who, const char *serial)
{
    return move(e, type, who, serial, NULL);
}

static int sell_to(hc_env *e, int who, const char *serial, int buyer)
{
    gs1_sgtin u = hc_unit(HC_GTIN, serial);
    chain_tx tx = hc_tx(CHAIN_TX_SELL);
    tx.units = &u;
    tx.nunits = 1;
    tx.has_key = true;
    memcpy(tx.key, e->pub[buyer], 32);
    return hc_apply1(e, who, &tx, NULL);
}

static int sell_code(hc_env *e, const char *serial, const char *code)
{
    gs1_sgtin u = hc_unit(HC_GTIN, serial);
    chain_tx tx = hc_tx(CHAIN_TX_SELL);
    tx.units = &u;
    tx.nunits = 1;
    uint8_t sk[32];
    assert_int_equal(chain_claim_key(sk, tx.claim_key, HC_GTIN, serial, code, strlen(code)),
                     CHAIN_OK);
    return hc_apply1(e, HK_SELLER, &tx, NULL);
}

/* A claim as `who`, signed with the key `code` derives (for `for_owner`'s
 * identity: a claim signature made for someone else). CHAIN_ERR_INVALID
 * when the code does not even derive a key (nothing is submitted). */
static int claim_for(hc_env *e, int who, int for_owner, const char *serial, const char *code)
{
    gs1_sgtin u = hc_unit(HC_GTIN, serial);
    chain_tx tx = hc_tx(CHAIN_TX_CLAIM);
    tx.units = &u;
    tx.nunits = 1;
    uint8_t sk[32], pub[32], m[32];
    int rc = chain_claim_key(sk, pub, HC_GTIN, serial, code, strlen(code));
    if (rc)
        return rc;
    chain_claim_msg(m, e->g->chain_id, HC_GTIN, serial, e->pub[for_owner]);
    assert_int_equal(chain_sign(tx.claim_sig, sk, m), CHAIN_OK);
    return hc_apply1(e, who, &tx, NULL);
}

static int claim(hc_env *e, int who, const char *serial, const char *code)
{
    return claim_for(e, who, who, serial, code);
}

static int offer(hc_env *e, int who, const char *serial, const char *code, uint64_t ttl_ms)
{
    gs1_sgtin u = hc_unit(HC_GTIN, serial);
    chain_tx tx = hc_tx(CHAIN_TX_TRANSFER_OFFER);
    tx.units = &u;
    tx.nunits = 1;
    uint8_t sk[32];
    assert_int_equal(chain_claim_key(sk, tx.claim_key, HC_GTIN, serial, code, strlen(code)),
                     CHAIN_OK);
    tx.expires = e->time + 1000 + ttl_ms; /* the next block is 1 s after the head */
    return hc_apply1(e, who, &tx, NULL);
}

static int cancel(hc_env *e, int who, const char *serial)
{
    gs1_sgtin u = hc_unit(HC_GTIN, serial);
    chain_tx tx = hc_tx(CHAIN_TX_TRANSFER_CANCEL);
    tx.units = &u;
    tx.nunits = 1;
    return hc_apply1(e, who, &tx, NULL);
}

static int transfer(hc_env *e, int who, const char *serial, int to)
{
    gs1_sgtin u = hc_unit(HC_GTIN, serial);
    chain_tx tx = hc_tx(CHAIN_TX_TRANSFER);
    tx.units = &u;
    tx.nunits = 1;
    tx.has_key = true;
    memcpy(tx.key, e->pub[to], 32);
    return hc_apply1(e, who, &tx, NULL);
}

static int flag(hc_env *e, int type, int who, const char *serial, unsigned reason)
{
    gs1_sgtin u = hc_unit(HC_GTIN, serial);
    chain_tx tx = hc_tx(type);
    tx.units = &u;
    tx.nunits = 1;
    tx.reason = reason;
    return hc_apply1(e, who, &tx, NULL);
}

static int warranty(hc_env *e, int type, int who, const char *serial, uint32_t months)
{
    gs1_sgtin u = hc_unit(HC_GTIN, serial);
    chain_tx tx = hc_tx(type);
    tx.units = &u;
    tx.nunits = 1;
    tx.warranty_months = months;
    if (type == CHAIN_TX_WARRANTY_RESOLVE)
        tx.outcome = CHAIN_OUTCOME_REPAIRED;
    return hc_apply1(e, who, &tx, NULL);
}

static int count_unit(void *ctx, const gs1_sgtin *id)
{
    (void)id;
    (*(int *)ctx)++;
    return 0;
}

/* ---- mint ---- */

static void test_mint_by_brand_creates_units_and_lot(void **state)
{
    hc_env *e = *state;
    assert_int_equal(hc_mint(e, HK_BRAND, HC_GTIN, "L1", "M", 3), CHAIN_OK);
    chain_unit u = hc_get_unit(e, HC_GTIN, "M1");
    assert_int_equal(u.state, CHAIN_UNIT_MINTED);
    assert_string_equal(u.brand, "acme");
    assert_string_equal(u.lot, "L1");
    assert_string_equal(u.holder, "acme");
    assert_int_equal(u.warranty_months, 24); /* 0 in the tx: genesis policy */
    assert_int_equal(u.nevents, 1);
    assert_int_equal(u.minted_at, e->time);
    chain_rd *rd;
    chain_lot lot;
    assert_int_equal(chain_rd_begin(e->c, &rd), CHAIN_OK);
    assert_int_equal(chain_lot_get(rd, &lot, HC_GTIN, "L1"), CHAIN_OK);
    assert_int_equal(lot.units, 3);
    assert_int_equal(lot.nmarkets, 2);
    chain_rd_end(rd);
    assert_int_equal(hc_mint(e, HK_BRAND, HC_GTIN, "L1", "N", 2), CHAIN_OK);
    assert_int_equal(chain_rd_begin(e->c, &rd), CHAIN_OK);
    assert_int_equal(chain_lot_get(rd, &lot, HC_GTIN, "L1"), CHAIN_OK);
    assert_int_equal(lot.units, 5);
    chain_head h;
    assert_int_equal(chain_head_get(rd, &h), CHAIN_OK);
    assert_int_equal(h.units, 5);
    chain_rd_end(rd);
}

static void test_mint_by_carrier_refused_wrong_role(void **state)
{
    hc_env *e = *state;
    assert_int_equal(hc_mint(e, HK_CARRIER, HC_GTIN, "L1", "M", 1), CHAIN_ERR_WRONG_ROLE);
}

static void test_mint_by_customer_refused_unknown_signer(void **state)
{
    hc_env *e = *state;
    assert_int_equal(hc_mint(e, HK_ALICE, HC_GTIN, "L1", "M", 1), CHAIN_ERR_UNKNOWN_SIGNER);
}

static void test_mint_other_brands_gtin_refused_bad_gtin(void **state)
{
    hc_env *e = *state;
    assert_int_equal(hc_mint(e, HK_BRAND, HC_GTIN_BOLT, "L1", "M", 1), CHAIN_ERR_BAD_GTIN);
    assert_int_equal(hc_mint(e, HK_BRAND2, HC_GTIN, "L1", "M", 1), CHAIN_ERR_BAD_GTIN);
    assert_int_equal(hc_mint(e, HK_BRAND2, HC_GTIN_BOLT, "L1", "M", 1), CHAIN_OK);
}

static void test_mint_existing_serial_refused_duplicate_unit_whole_batch(void **state)
{
    hc_env *e = *state;
    assert_int_equal(hc_mint(e, HK_BRAND, HC_GTIN, "L1", "M5", 1), CHAIN_OK);
    uint8_t *before, *after;
    size_t lb, la;
    hc_dump_rules(e, &before, &lb);
    /* M0..M9 includes M5: nothing of the batch is minted (M0..M4 were written first) */
    assert_int_equal(hc_mint(e, HK_BRAND, HC_GTIN, "L1", "M", 10), CHAIN_ERR_DUPLICATE_UNIT);
    hc_dump_rules(e, &after, &la);
    assert_int_equal(la, lb);
    assert_memory_equal(after, before, la);
    free(before);
    free(after);
    chain_rd *rd;
    chain_unit u;
    assert_int_equal(chain_rd_begin(e->c, &rd), CHAIN_OK);
    assert_int_equal(chain_unit_get(rd, &u, HC_GTIN, "M0"), CHAIN_ERR_NOT_FOUND);
    chain_rd_end(rd);
    assert_int_equal(hc_get_head(e).units, 1);
}

static void test_mint_repeated_serial_in_batch_refused_duplicate_unit(void **state)
{
    hc_env *e = *state;
    chain_tx tx = hc_tx(CHAIN_TX_MINT);
    snprintf(tx.gtin, sizeof tx.gtin, "%s", HC_GTIN);
    char *serials[2] = {"R1", "R1"};
    uint8_t sigs[2][64] = {{0}};
    tx.serials = serials;
    tx.label_sigs = sigs;
    tx.nunits = 2;
    assert_int_equal(hc_apply1(e, HK_BRAND, &tx, NULL), CHAIN_ERR_DUPLICATE_UNIT);
}

/* ---- custody ---- */

static void test_pickup_deliver_move_custody(void **state)
{
    hc_env *e = *state;
    assert_int_equal(hc_mint(e, HK_BRAND, HC_GTIN, "L1", "P", 1), CHAIN_OK);
    assert_int_equal(one(e, CHAIN_TX_PICKUP, HK_CARRIER, "P"), CHAIN_OK);
    chain_unit u = hc_get_unit(e, HC_GTIN, "P");
    assert_int_equal(u.state, CHAIN_UNIT_IN_TRANSIT);
    assert_string_equal(u.holder, "carrier-a");
    assert_int_equal(move(e, CHAIN_TX_DELIVER, HK_CARRIER, "P", "seller-a"), CHAIN_OK);
    u = hc_get_unit(e, HC_GTIN, "P");
    assert_int_equal(u.state, CHAIN_UNIT_DELIVERED);
    assert_string_equal(u.holder, "seller-a");
    /* delivered units can be picked up again */
    assert_int_equal(one(e, CHAIN_TX_PICKUP, HK_CARRIER2, "P"), CHAIN_OK);
    assert_string_equal(hc_get_unit(e, HC_GTIN, "P").holder, "carrier-b");
}

static void test_pickup_by_seller_refused_wrong_role(void **state)
{
    hc_env *e = *state;
    assert_int_equal(hc_mint(e, HK_BRAND, HC_GTIN, "L1", "P", 1), CHAIN_OK);
    assert_int_equal(one(e, CHAIN_TX_PICKUP, HK_SELLER, "P"), CHAIN_ERR_WRONG_ROLE);
    assert_int_equal(one(e, CHAIN_TX_PICKUP, HK_ALICE, "P"), CHAIN_ERR_UNKNOWN_SIGNER);
    assert_int_equal(hc_get_unit(e, HC_GTIN, "P").state, CHAIN_UNIT_MINTED);
}

static void test_pickup_unknown_unit_refused_unknown_unit(void **state)
{
    hc_env *e = *state;
    assert_int_equal(one(e, CHAIN_TX_PICKUP, HK_CARRIER, "NOPE"), CHAIN_ERR_UNKNOWN_UNIT);
}

static void test_pickup_in_transit_refused_bad_state(void **state)
{
    hc_env *e = *state;
    assert_int_equal(hc_mint(e, HK_BRAND, HC_GTIN, "L1", "P", 1), CHAIN_OK);
    assert_int_equal(one(e, CHAIN_TX_PICKUP, HK_CARRIER, "P"), CHAIN_OK);
    assert_int_equal(one(e, CHAIN_TX_PICKUP, HK_CARRIER2, "P"), CHAIN_ERR_BAD_STATE);
}

static void test_deliver_by_other_carrier_refused_not_holder(void **state)
{
    hc_env *e = *state;
    assert_int_equal(hc_mint(e, HK_BRAND, HC_GTIN, "L1", "P", 1), CHAIN_OK);
    assert_int_equal(one(e, CHAIN_TX_PICKUP, HK_CARRIER, "P"), CHAIN_OK);
    assert_int_equal(move(e, CHAIN_TX_DELIVER, HK_CARRIER2, "P", "seller-a"), CHAIN_ERR_NOT_HOLDER);
}

static void test_deliver_to_unknown_or_revoked_participant_refused(void **state)
{
    hc_env *e = *state;
    assert_int_equal(hc_mint(e, HK_BRAND, HC_GTIN, "L1", "P", 1), CHAIN_OK);
    assert_int_equal(one(e, CHAIN_TX_PICKUP, HK_CARRIER, "P"), CHAIN_OK);
    assert_int_equal(move(e, CHAIN_TX_DELIVER, HK_CARRIER, "P", "nobody"),
                     CHAIN_ERR_UNKNOWN_PARTICIPANT);
    chain_tx tx = hc_tx(CHAIN_TX_PARTICIPANT_REVOKE);
    snprintf(tx.id, sizeof tx.id, "seller-b");
    assert_int_equal(hc_apply1(e, HK_BRAND, &tx, NULL), CHAIN_OK);
    assert_int_equal(move(e, CHAIN_TX_DELIVER, HK_CARRIER, "P", "seller-b"),
                     CHAIN_ERR_UNKNOWN_PARTICIPANT);
}

static void test_deliver_minted_unit_refused_bad_state(void **state)
{
    hc_env *e = *state;
    assert_int_equal(hc_mint(e, HK_BRAND, HC_GTIN, "L1", "P", 1), CHAIN_OK);
    assert_int_equal(move(e, CHAIN_TX_DELIVER, HK_CARRIER, "P", "seller-a"), CHAIN_ERR_BAD_STATE);
}

static void test_pickup_many_units_all_or_nothing(void **state)
{
    hc_env *e = *state;
    assert_int_equal(hc_mint(e, HK_BRAND, HC_GTIN, "L1", "Q", 3), CHAIN_OK);
    gs1_sgtin us[3] = {hc_unit(HC_GTIN, "Q0"), hc_unit(HC_GTIN, "Q1"), hc_unit(HC_GTIN, "NOPE")};
    chain_tx tx = hc_tx(CHAIN_TX_PICKUP);
    tx.units = us;
    tx.nunits = 3;
    uint8_t *before, *after;
    size_t lb, la;
    hc_dump_rules(e, &before, &lb);
    /* Q0 and Q1 were written before NOPE was found: every record is back */
    assert_int_equal(hc_apply1(e, HK_CARRIER, &tx, NULL), CHAIN_ERR_UNKNOWN_UNIT);
    hc_dump_rules(e, &after, &la);
    assert_int_equal(la, lb);
    assert_memory_equal(after, before, la);
    free(before);
    free(after);
    assert_int_equal(hc_get_unit(e, HC_GTIN, "Q0").state, CHAIN_UNIT_MINTED);
    assert_int_equal(hc_get_unit(e, HC_GTIN, "Q0").nevents, 1);
    us[2] = hc_unit(HC_GTIN, "Q2");
    tx = hc_tx(CHAIN_TX_PICKUP);
    tx.units = us;
    tx.nunits = 3;
    assert_int_equal(hc_apply1(e, HK_CARRIER, &tx, NULL), CHAIN_OK);
    assert_int_equal(hc_get_unit(e, HC_GTIN, "Q2").state, CHAIN_UNIT_IN_TRANSIT);
}

/* ---- sale, claim, transfer ---- */

static void test_sell_with_buyer_key_makes_owner_and_warranty_end(void **state)
{
    hc_env *e = *state;
    hc_unit_delivered(e, "S");
    assert_int_equal(sell_to(e, HK_SELLER, "S", HK_ALICE), CHAIN_OK);
    chain_unit u = hc_get_unit(e, HC_GTIN, "S");
    assert_int_equal(u.state, CHAIN_UNIT_OWNED);
    assert_true(u.has_owner);
    assert_memory_equal(u.owner, e->pub[HK_ALICE], 32);
    assert_string_equal(u.holder, "");
    assert_int_equal(u.sold_at, e->time);
    assert_int_equal(u.warranty_end, e->time + 24ull * CHAIN_MONTH_SECONDS * 1000);
    /* the owner index lists it */
    chain_rd *rd;
    assert_int_equal(chain_rd_begin(e->c, &rd), CHAIN_OK);
    int count = 0;
    assert_int_equal(chain_owner_units(rd, e->pub[HK_ALICE], NULL, 0, count_unit, &count),
                     CHAIN_OK);
    assert_int_equal(count, 1);
    chain_rd_end(rd);
}

static void test_sell_not_held_refused_not_holder(void **state)
{
    hc_env *e = *state;
    hc_unit_delivered(e, "S");
    assert_int_equal(sell_to(e, HK_SELLER2, "S", HK_ALICE), CHAIN_ERR_NOT_HOLDER);
    assert_int_equal(sell_to(e, HK_CARRIER, "S", HK_ALICE), CHAIN_ERR_WRONG_ROLE);
}

static void test_sell_in_transit_refused_bad_state(void **state)
{
    hc_env *e = *state;
    assert_int_equal(hc_mint(e, HK_BRAND, HC_GTIN, "L1", "S", 1), CHAIN_OK);
    assert_int_equal(sell_to(e, HK_SELLER, "S", HK_ALICE), CHAIN_ERR_BAD_STATE);
}

static void test_sell_recalled_refused_flagged(void **state)
{
    hc_env *e = *state;
    hc_unit_delivered(e, "S");
    assert_int_equal(flag(e, CHAIN_TX_FLAG, HK_BRAND, "S", CHAIN_FLAG_RECALLED), CHAIN_OK);
    assert_int_equal(sell_to(e, HK_SELLER, "S", HK_ALICE), CHAIN_ERR_FLAGGED);
    assert_int_equal(flag(e, CHAIN_TX_UNFLAG, HK_BRAND, "S", CHAIN_FLAG_RECALLED), CHAIN_OK);
    assert_int_equal(sell_to(e, HK_SELLER, "S", HK_ALICE), CHAIN_OK);
}

static void test_sell_with_claim_code_then_claim_by_any_key(void **state)
{
    hc_env *e = *state;
    hc_unit_delivered(e, "C");
    assert_int_equal(sell_code(e, "C", "open-sesame"), CHAIN_OK);
    chain_unit u = hc_get_unit(e, HC_GTIN, "C");
    assert_int_equal(u.state, CHAIN_UNIT_SOLD);
    assert_true(u.claim_pending);
    assert_false(u.has_owner);
    assert_int_equal(claim(e, HK_BOB, "C", "wrong"), CHAIN_ERR_BAD_CLAIM_CODE);
    /* near misses of the secret: a prefix, more after it, one character off */
    assert_int_equal(claim(e, HK_BOB, "C", "open-sesam"), CHAIN_ERR_BAD_CLAIM_CODE);
    assert_int_equal(claim(e, HK_BOB, "C", "open-sesamee"), CHAIN_ERR_BAD_CLAIM_CODE);
    assert_int_equal(claim(e, HK_BOB, "C", "open-sesamf"), CHAIN_ERR_BAD_CLAIM_CODE);
    /* not a code at all, or empty: no key, no transaction */
    assert_int_equal(claim(e, HK_BOB, "C", "open-sesame!"), CHAIN_ERR_INVALID);
    assert_int_equal(claim(e, HK_BOB, "C", ""), CHAIN_ERR_INVALID);
    /* the right code's signature made for Bob does not let Eve claim */
    assert_int_equal(claim_for(e, HK_EVE, HK_BOB, "C", "open-sesame"), CHAIN_ERR_BAD_CLAIM_CODE);
    /* and no claim_sig: not even a transaction (a required field) */
    gs1_sgtin cu = hc_unit(HC_GTIN, "C");
    chain_tx empty = hc_tx(CHAIN_TX_CLAIM);
    empty.units = &cu;
    empty.nunits = 1;
    memcpy(empty.chain, e->g->chain_id, 32);
    empty.nonce = 1;
    empty.time = 1767225600;
    assert_int_equal(chain_tx_sign(&empty, e->sk[HK_BOB]), CHAIN_ERR_MALFORMED);
    assert_true(hc_get_unit(e, HC_GTIN, "C").claim_pending);
    /* typed as Crockford allows: case, spaces, O for 0 (the code reads 0PEN-SESAME) */
    assert_int_equal(claim(e, HK_BOB, "C", " OPEN sesame"), CHAIN_OK);
    u = hc_get_unit(e, HC_GTIN, "C");
    assert_int_equal(u.state, CHAIN_UNIT_OWNED);
    assert_false(u.claim_pending);
    assert_memory_equal(u.owner, e->pub[HK_BOB], 32);
    /* a second claim finds no claim pending */
    assert_int_equal(claim(e, HK_EVE, "C", "open-sesame"), CHAIN_ERR_NO_OFFER);
}

static void test_transfer_offer_claimed_by_code_once(void **state)
{
    hc_env *e = *state;
    hc_unit_owned(e, "O", HK_ALICE);
    assert_int_equal(offer(e, HK_BOB, "O", "GIFT-1234", 60000), CHAIN_ERR_NOT_OWNER);
    assert_int_equal(claim(e, HK_BOB, "O", "GIFT-1234"), CHAIN_ERR_NO_OFFER);
    assert_int_equal(offer(e, HK_ALICE, "O", "GIFT-1234", 60000), CHAIN_OK);
    chain_unit u = hc_get_unit(e, HC_GTIN, "O");
    assert_true(u.claim_pending);
    assert_int_equal(u.state, CHAIN_UNIT_OWNED);
    assert_memory_equal(u.owner, e->pub[HK_ALICE], 32); /* still Alice's until claimed */
    assert_int_equal(claim(e, HK_BOB, "O", "GIFT-1235"), CHAIN_ERR_BAD_CLAIM_CODE);
    assert_int_equal(claim(e, HK_BOB, "O", "gift 1234"), CHAIN_OK);
    u = hc_get_unit(e, HC_GTIN, "O");
    assert_memory_equal(u.owner, e->pub[HK_BOB], 32);
    assert_false(u.claim_pending);
    /* one-time: the same code again finds nothing, and Alice can no longer act */
    assert_int_equal(claim(e, HK_EVE, "O", "GIFT-1234"), CHAIN_ERR_NO_OFFER);
    assert_int_equal(offer(e, HK_ALICE, "O", "AGAIN", 60000), CHAIN_ERR_NOT_OWNER);
    assert_int_equal(cancel(e, HK_ALICE, "O"), CHAIN_ERR_NOT_OWNER);
}

static void test_transfer_offer_cancel_replace_and_expiry(void **state)
{
    hc_env *e = *state;
    hc_unit_owned(e, "X", HK_ALICE);
    assert_int_equal(cancel(e, HK_ALICE, "X"), CHAIN_ERR_NO_OFFER);
    assert_int_equal(offer(e, HK_ALICE, "X", "FIRST", 60000), CHAIN_OK);
    assert_int_equal(cancel(e, HK_ALICE, "X"), CHAIN_OK);
    assert_int_equal(claim(e, HK_BOB, "X", "FIRST"), CHAIN_ERR_NO_OFFER);
    /* a later offer replaces the earlier one */
    assert_int_equal(offer(e, HK_ALICE, "X", "FIRST", 60000), CHAIN_OK);
    assert_int_equal(offer(e, HK_ALICE, "X", "SECOND", 60000), CHAIN_OK);
    assert_int_equal(claim(e, HK_BOB, "X", "FIRST"), CHAIN_ERR_BAD_CLAIM_CODE);
    /* lapses: valid for 1.5 s of block time; each block is 1 s later */
    assert_int_equal(offer(e, HK_ALICE, "X", "THIRD", 500), CHAIN_OK);
    assert_int_equal(claim(e, HK_BOB, "X", "THIRD"), CHAIN_ERR_OFFER_EXPIRED);
    assert_memory_equal(hc_get_unit(e, HC_GTIN, "X").owner, e->pub[HK_ALICE], 32);
    /* bounds: not already lapsed, at most CHAIN_OFFER_MAX_DAYS (exactly, and 1 ms past) */
    gs1_sgtin u = hc_unit(HC_GTIN, "X");
    chain_tx tx = hc_tx(CHAIN_TX_TRANSFER_OFFER);
    tx.units = &u;
    tx.nunits = 1;
    uint8_t sk[32];
    assert_int_equal(chain_claim_key(sk, tx.claim_key, HC_GTIN, "X", "LATE", 4), CHAIN_OK);
    tx.expires = e->time + 1000;
    assert_int_equal(hc_apply1(e, HK_ALICE, &tx, NULL), CHAIN_ERR_INVALID);
    tx.expires = e->time + 1000 + CHAIN_OFFER_MAX_MS + 1;
    tx.time = tx.nonce = 0;
    assert_int_equal(hc_apply1(e, HK_ALICE, &tx, NULL), CHAIN_ERR_INVALID);
    tx.expires = e->time + 1000 + CHAIN_OFFER_MAX_MS;
    tx.time = tx.nonce = 0;
    assert_int_equal(hc_apply1(e, HK_ALICE, &tx, NULL), CHAIN_OK);
    /* a direct transfer closes the open offer */
    assert_int_equal(transfer(e, HK_ALICE, "X", HK_EVE), CHAIN_OK);
    assert_false(hc_get_unit(e, HC_GTIN, "X").claim_pending);
    assert_int_equal(claim(e, HK_BOB, "X", "LATE"), CHAIN_ERR_NO_OFFER);
}

static void test_claim_code_of_other_unit_refused_bad_claim_code(void **state)
{
    hc_env *e = *state;
    hc_unit_delivered(e, "C");
    gs1_sgtin u = hc_unit(HC_GTIN, "C");
    chain_tx tx = hc_tx(CHAIN_TX_SELL);
    tx.units = &u;
    tx.nunits = 1;
    uint8_t sk[32]; /* bound to another serial */
    assert_int_equal(chain_claim_key(sk, tx.claim_key, HC_GTIN, "OTHER", "x", 1), CHAIN_OK);
    assert_int_equal(hc_apply1(e, HK_SELLER, &tx, NULL), CHAIN_OK);
    assert_int_equal(claim(e, HK_BOB, "C", "x"), CHAIN_ERR_BAD_CLAIM_CODE);
}

static void test_transfer_by_owner_moves_owner_index(void **state)
{
    hc_env *e = *state;
    hc_unit_owned(e, "T", HK_ALICE);
    assert_int_equal(transfer(e, HK_BOB, "T", HK_BOB), CHAIN_ERR_NOT_OWNER);
    assert_int_equal(transfer(e, HK_ALICE, "T", HK_BOB), CHAIN_OK);
    chain_unit u = hc_get_unit(e, HC_GTIN, "T");
    assert_memory_equal(u.owner, e->pub[HK_BOB], 32);
    assert_int_equal(transfer(e, HK_ALICE, "T", HK_ALICE), CHAIN_ERR_NOT_OWNER);
}

static void test_transfer_of_unsold_refused_bad_state(void **state)
{
    hc_env *e = *state;
    hc_unit_delivered(e, "T");
    assert_int_equal(transfer(e, HK_ALICE, "T", HK_BOB), CHAIN_ERR_BAD_STATE);
}

static void test_transfer_stolen_refused_flagged(void **state)
{
    hc_env *e = *state;
    hc_unit_owned(e, "T", HK_ALICE);
    assert_int_equal(flag(e, CHAIN_TX_FLAG, HK_ALICE, "T", CHAIN_FLAG_STOLEN), CHAIN_OK);
    assert_int_equal(transfer(e, HK_ALICE, "T", HK_BOB), CHAIN_ERR_FLAGGED);
    assert_int_equal(flag(e, CHAIN_TX_UNFLAG, HK_ALICE, "T", CHAIN_FLAG_STOLEN), CHAIN_OK);
    assert_int_equal(transfer(e, HK_ALICE, "T", HK_BOB), CHAIN_OK);
}

/* ---- warranty ---- */

static void test_warranty_activate_claim_resolve(void **state)
{
    hc_env *e = *state;
    hc_unit_owned(e, "W", HK_ALICE);
    assert_int_equal(warranty(e, CHAIN_TX_WARRANTY_CLAIM, HK_ALICE, "W", 0),
                     CHAIN_ERR_WARRANTY_INACTIVE);
    assert_int_equal(warranty(e, CHAIN_TX_WARRANTY_ACTIVATE, HK_BOB, "W", 0), CHAIN_ERR_NOT_OWNER);
    assert_int_equal(warranty(e, CHAIN_TX_WARRANTY_ACTIVATE, HK_ALICE, "W", 0), CHAIN_OK);
    assert_true(hc_get_unit(e, HC_GTIN, "W").warranty_active);
    assert_int_equal(warranty(e, CHAIN_TX_WARRANTY_ACTIVATE, HK_ALICE, "W", 0),
                     CHAIN_ERR_BAD_STATE);
    assert_int_equal(warranty(e, CHAIN_TX_WARRANTY_RESOLVE, HK_SERVICE, "W", 0),
                     CHAIN_ERR_WARRANTY_INACTIVE);
    assert_int_equal(warranty(e, CHAIN_TX_WARRANTY_CLAIM, HK_BOB, "W", 0), CHAIN_ERR_NOT_OWNER);
    assert_int_equal(warranty(e, CHAIN_TX_WARRANTY_CLAIM, HK_ALICE, "W", 0), CHAIN_OK);
    assert_int_equal(hc_get_unit(e, HC_GTIN, "W").open_claims, 1);
    assert_int_equal(warranty(e, CHAIN_TX_WARRANTY_RESOLVE, HK_CARRIER, "W", 0),
                     CHAIN_ERR_WRONG_ROLE);
    assert_int_equal(warranty(e, CHAIN_TX_WARRANTY_RESOLVE, HK_BRAND2, "W", 0),
                     CHAIN_ERR_WRONG_ROLE);
    assert_int_equal(warranty(e, CHAIN_TX_WARRANTY_RESOLVE, HK_SERVICE, "W", 0), CHAIN_OK);
    assert_int_equal(hc_get_unit(e, HC_GTIN, "W").open_claims, 0);
}

static void test_warranty_activate_by_seller_who_sold_it(void **state)
{
    hc_env *e = *state;
    hc_unit_owned(e, "W", HK_ALICE);
    assert_int_equal(warranty(e, CHAIN_TX_WARRANTY_ACTIVATE, HK_SELLER2, "W", 0),
                     CHAIN_ERR_NOT_OWNER);
    assert_int_equal(warranty(e, CHAIN_TX_WARRANTY_ACTIVATE, HK_SELLER, "W", 0), CHAIN_OK);
}

static void test_warranty_activate_unsold_refused_bad_state(void **state)
{
    hc_env *e = *state;
    hc_unit_delivered(e, "W");
    assert_int_equal(warranty(e, CHAIN_TX_WARRANTY_ACTIVATE, HK_SELLER, "W", 0),
                     CHAIN_ERR_BAD_STATE);
}

static void test_warranty_after_end_refused_warranty_expired(void **state)
{
    hc_env *e = *state;
    hc_unit_owned(e, "W", HK_ALICE);
    /* jump the block clock 25 months ahead */
    e->time += 25ull * CHAIN_MONTH_SECONDS * 1000;
    assert_int_equal(warranty(e, CHAIN_TX_WARRANTY_ACTIVATE, HK_ALICE, "W", 0),
                     CHAIN_ERR_WARRANTY_EXPIRED);
    /* an extension of 2 months brings it back inside */
    assert_int_equal(warranty(e, CHAIN_TX_WARRANTY_EXTEND, HK_SERVICE, "W", 2), CHAIN_OK);
    assert_int_equal(hc_get_unit(e, HC_GTIN, "W").warranty_months, 26);
    assert_int_equal(warranty(e, CHAIN_TX_WARRANTY_ACTIVATE, HK_ALICE, "W", 0), CHAIN_OK);
    e->time += 2ull * CHAIN_MONTH_SECONDS * 1000;
    assert_int_equal(warranty(e, CHAIN_TX_WARRANTY_CLAIM, HK_ALICE, "W", 0),
                     CHAIN_ERR_WARRANTY_EXPIRED);
}

static void test_warranty_extend_by_customer_refused_unknown_signer(void **state)
{
    hc_env *e = *state;
    hc_unit_owned(e, "W", HK_ALICE);
    assert_int_equal(warranty(e, CHAIN_TX_WARRANTY_EXTEND, HK_ALICE, "W", 2),
                     CHAIN_ERR_UNKNOWN_SIGNER);
    assert_int_equal(warranty(e, CHAIN_TX_WARRANTY_EXTEND, HK_BRAND, "W", 2), CHAIN_OK);
}

/* ---- flags ---- */

static void test_flag_by_brand_any_reason_owner_only_stolen(void **state)
{
    hc_env *e = *state;
    hc_unit_owned(e, "F", HK_ALICE);
    assert_int_equal(flag(e, CHAIN_TX_FLAG, HK_ALICE, "F", CHAIN_FLAG_COUNTERFEIT),
                     CHAIN_ERR_WRONG_ROLE);
    assert_int_equal(flag(e, CHAIN_TX_FLAG, HK_BOB, "F", CHAIN_FLAG_STOLEN), CHAIN_ERR_NOT_OWNER);
    assert_int_equal(flag(e, CHAIN_TX_FLAG, HK_BRAND2, "F", CHAIN_FLAG_RECALLED),
                     CHAIN_ERR_WRONG_ROLE);
    assert_int_equal(flag(e, CHAIN_TX_FLAG, HK_BRAND, "F", CHAIN_FLAG_RECALLED), CHAIN_OK);
    assert_int_equal(flag(e, CHAIN_TX_FLAG, HK_BRAND, "F", CHAIN_FLAG_RECALLED),
                     CHAIN_ERR_BAD_STATE);
    assert_int_equal(flag(e, CHAIN_TX_FLAG, HK_ALICE, "F", CHAIN_FLAG_STOLEN), CHAIN_OK);
    assert_int_equal(hc_get_unit(e, HC_GTIN, "F").flags, CHAIN_FLAG_RECALLED | CHAIN_FLAG_STOLEN);
    assert_int_equal(flag(e, CHAIN_TX_UNFLAG, HK_BRAND, "F", CHAIN_FLAG_COUNTERFEIT),
                     CHAIN_ERR_BAD_STATE);
    assert_int_equal(flag(e, CHAIN_TX_UNFLAG, HK_ALICE, "F", CHAIN_FLAG_RECALLED),
                     CHAIN_ERR_WRONG_ROLE);
    assert_int_equal(flag(e, CHAIN_TX_UNFLAG, HK_BRAND, "F", CHAIN_FLAG_STOLEN), CHAIN_OK);
    assert_int_equal(hc_get_unit(e, HC_GTIN, "F").flags, CHAIN_FLAG_RECALLED);
}

static void test_destroyed_blocks_every_later_step(void **state)
{
    hc_env *e = *state;
    hc_unit_delivered(e, "D");
    assert_int_equal(flag(e, CHAIN_TX_FLAG, HK_BRAND, "D", CHAIN_FLAG_DESTROYED), CHAIN_OK);
    assert_int_equal(one(e, CHAIN_TX_PICKUP, HK_CARRIER, "D"), CHAIN_ERR_FLAGGED);
    assert_int_equal(sell_to(e, HK_SELLER, "D", HK_ALICE), CHAIN_ERR_FLAGGED);
    assert_int_equal(warranty(e, CHAIN_TX_WARRANTY_EXTEND, HK_BRAND, "D", 1), CHAIN_ERR_FLAGGED);
    hc_unit_owned(e, "D2", HK_ALICE);
    assert_int_equal(flag(e, CHAIN_TX_FLAG, HK_BRAND, "D2", CHAIN_FLAG_DESTROYED), CHAIN_OK);
    assert_int_equal(transfer(e, HK_ALICE, "D2", HK_BOB), CHAIN_ERR_FLAGGED);
    assert_int_equal(warranty(e, CHAIN_TX_WARRANTY_ACTIVATE, HK_ALICE, "D2", 0), CHAIN_ERR_FLAGGED);
    hc_unit_delivered(e, "D3");
    assert_int_equal(sell_code(e, "D3", "abc"), CHAIN_OK);
    assert_int_equal(flag(e, CHAIN_TX_FLAG, HK_BRAND, "D3", CHAIN_FLAG_DESTROYED), CHAIN_OK);
    assert_int_equal(claim(e, HK_BOB, "D3", "abc"), CHAIN_ERR_FLAGGED);
}

static void test_refused_tx_changes_nothing_not_even_nonce(void **state)
{
    hc_env *e = *state;
    hc_unit_delivered(e, "N");
    chain_head before = hc_get_head(e);
    uint64_t nonce = e->next[HK_SELLER2];
    assert_int_equal(sell_to(e, HK_SELLER2, "N", HK_ALICE), CHAIN_ERR_NOT_HOLDER);
    assert_int_equal(e->next[HK_SELLER2], nonce); /* resynced from the chain */
    chain_unit u = hc_get_unit(e, HC_GTIN, "N");
    assert_int_equal(u.state, CHAIN_UNIT_DELIVERED);
    assert_int_equal(u.nevents, 3);
    assert_int_equal(hc_get_head(e).units, before.units);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
        T(test_mint_by_brand_creates_units_and_lot),
        T(test_mint_by_carrier_refused_wrong_role),
        T(test_mint_by_customer_refused_unknown_signer),
        T(test_mint_other_brands_gtin_refused_bad_gtin),
        T(test_mint_existing_serial_refused_duplicate_unit_whole_batch),
        T(test_mint_repeated_serial_in_batch_refused_duplicate_unit),
        T(test_pickup_deliver_move_custody),
        T(test_pickup_by_seller_refused_wrong_role),
        T(test_pickup_unknown_unit_refused_unknown_unit),
        T(test_pickup_in_transit_refused_bad_state),
        T(test_deliver_by_other_carrier_refused_not_holder),
        T(test_deliver_to_unknown_or_revoked_participant_refused),
        T(test_deliver_minted_unit_refused_bad_state),
        T(test_pickup_many_units_all_or_nothing),
        T(test_sell_with_buyer_key_makes_owner_and_warranty_end),
        T(test_sell_not_held_refused_not_holder),
        T(test_sell_in_transit_refused_bad_state),
        T(test_sell_recalled_refused_flagged),
        T(test_sell_with_claim_code_then_claim_by_any_key),
        T(test_claim_code_of_other_unit_refused_bad_claim_code),
        T(test_transfer_offer_claimed_by_code_once),
        T(test_transfer_offer_cancel_replace_and_expiry),
        T(test_transfer_by_owner_moves_owner_index),
        T(test_transfer_of_unsold_refused_bad_state),
        T(test_transfer_stolen_refused_flagged),
        T(test_warranty_activate_claim_resolve),
        T(test_warranty_activate_by_seller_who_sold_it),
        T(test_warranty_activate_unsold_refused_bad_state),
        T(test_warranty_after_end_refused_warranty_expired),
        T(test_warranty_extend_by_customer_refused_unknown_signer),
        T(test_flag_by_brand_any_reason_owner_only_stolen),
        T(test_destroyed_blocks_every_later_step),
        T(test_refused_tx_changes_nothing_not_even_nonce),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
