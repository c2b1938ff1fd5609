/* Admission standing (chain_tx_standing): a tx whose signer has no standing
 * for it is refused with the code the rules would give, before it can cost a
 * log entry; everyone with standing passes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helper_chain.h"

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

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

/* Standing of a tx of `type` on `serial` signed by `who` (the tx signature is
 * not looked at: standing reads the signer and the body). A claim carries the
 * signature, over `who`'s identity, of the key `code` derives; a code that
 * derives no key leaves the claim signature empty. */
static int standing(hc_env *e, int who, int type, const char *serial, const char *code)
{
    gs1_sgtin u = hc_unit(HC_GTIN, serial);
    chain_tx tx = hc_tx(type);
    tx.units = &u;
    tx.nunits = 1;
    memcpy(tx.signer, e->pub[who], 32);
    memcpy(tx.chain, e->g->chain_id, 32);
    uint8_t sk[CHAIN_SECKEY_LEN], pub[CHAIN_KEY_LEN], m[CHAIN_HASH_LEN];
    if (code && chain_claim_key(sk, pub, HC_GTIN, serial, code, strlen(code)) == CHAIN_OK) {
        chain_claim_msg(m, e->g->chain_id, HC_GTIN, serial, e->pub[who]);
        assert_int_equal(chain_sign(tx.claim_sig, sk, m), CHAIN_OK);
    }
    if (type == CHAIN_TX_MINT) {
        snprintf(tx.gtin, sizeof tx.gtin, "%s", HC_GTIN);
        tx.units = NULL;
        tx.nunits = 0;
    }
    char msg[128] = "";
    return chain_tx_standing(e->c, &tx, msg, sizeof msg);
}

static void sell_code(hc_env *e, const char *serial, const char *code)
{
    hc_unit_delivered(e, serial);
    gs1_sgtin u = hc_unit(HC_GTIN, serial);
    chain_tx tx = hc_tx(CHAIN_TX_SELL);
    tx.units = &u;
    tx.nunits = 1;
    uint8_t sk[CHAIN_SECKEY_LEN];
    assert_int_equal(chain_claim_key(sk, tx.claim_key, HC_GTIN, serial, code, strlen(code)),
                     CHAIN_OK);
    assert_int_equal(hc_apply1(e, HK_SELLER, &tx, NULL), CHAIN_OK);
}

static void test_standing_unknown_key_registered_types_refused_unknown_signer(void **state)
{
    hc_env *e = *state;
    assert_int_equal(standing(e, HK_EVE, CHAIN_TX_MINT, "S", NULL), CHAIN_ERR_UNKNOWN_SIGNER);
    assert_int_equal(standing(e, HK_EVE, CHAIN_TX_PICKUP, "S", NULL), CHAIN_ERR_UNKNOWN_SIGNER);
    assert_int_equal(standing(e, HK_EVE, CHAIN_TX_POLICY_SET, "S", NULL), CHAIN_ERR_UNKNOWN_SIGNER);
}

static void test_standing_participants_and_nodes_pass(void **state)
{
    hc_env *e = *state;
    /* even a step that will fail by the rules: a participant answers for it */
    assert_int_equal(standing(e, HK_CARRIER, CHAIN_TX_PICKUP, "NOPE", NULL), CHAIN_OK);
    assert_int_equal(standing(e, HK_BRAND, CHAIN_TX_MINT, "S", NULL), CHAIN_OK);
    assert_int_equal(standing(e, HK_NODE, CHAIN_TX_SCANS, "S", NULL), CHAIN_OK);
}

static void test_standing_claim_needs_pending_claim_and_its_code(void **state)
{
    hc_env *e = *state;
    assert_int_equal(standing(e, HK_EVE, CHAIN_TX_CLAIM, "NOPE", "c0de"), CHAIN_ERR_UNKNOWN_UNIT);
    hc_unit_delivered(e, "D"); /* in the shop, not sold: no claim pending */
    assert_int_equal(standing(e, HK_EVE, CHAIN_TX_CLAIM, "D", "c0de"), CHAIN_ERR_NO_OFFER);
    sell_code(e, "C", "right-code");
    assert_int_equal(standing(e, HK_EVE, CHAIN_TX_CLAIM, "C", "wrong-code"),
                     CHAIN_ERR_BAD_CLAIM_CODE);
    assert_int_equal(standing(e, HK_EVE, CHAIN_TX_CLAIM, "C", "right-cod"),
                     CHAIN_ERR_BAD_CLAIM_CODE); /* a prefix */
    assert_int_equal(standing(e, HK_EVE, CHAIN_TX_CLAIM, "C", "right-code!"),
                     CHAIN_ERR_BAD_CLAIM_CODE); /* longer */
    assert_int_equal(standing(e, HK_EVE, CHAIN_TX_CLAIM, "C", "right-codf"),
                     CHAIN_ERR_BAD_CLAIM_CODE); /* same length, one wrong */
    assert_int_equal(standing(e, HK_EVE, CHAIN_TX_CLAIM, "C", ""), CHAIN_ERR_BAD_CLAIM_CODE);
    assert_int_equal(standing(e, HK_EVE, CHAIN_TX_CLAIM, "C", "right-code"), CHAIN_OK);
    /* the code as a person types it: case, dashes, O for 0 (Crockford) */
    assert_int_equal(standing(e, HK_EVE, CHAIN_TX_CLAIM, "C", "RIGHT-C0DE"), CHAIN_OK);
}

static void test_standing_owner_steps_need_ownership(void **state)
{
    hc_env *e = *state;
    hc_unit_owned(e, "O", HK_ALICE);
    assert_int_equal(standing(e, HK_ALICE, CHAIN_TX_TRANSFER, "O", NULL), CHAIN_OK);
    assert_int_equal(standing(e, HK_ALICE, CHAIN_TX_WARRANTY_CLAIM, "O", NULL), CHAIN_OK);
    assert_int_equal(standing(e, HK_EVE, CHAIN_TX_TRANSFER, "O", NULL), CHAIN_ERR_NOT_OWNER);
    assert_int_equal(standing(e, HK_EVE, CHAIN_TX_FLAG, "O", NULL), CHAIN_ERR_NOT_OWNER);
    assert_int_equal(standing(e, HK_EVE, CHAIN_TX_WARRANTY_ACTIVATE, "O", NULL),
                     CHAIN_ERR_NOT_OWNER);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_standing_unknown_key_registered_types_refused_unknown_signer),
        T(test_standing_participants_and_nodes_pass),
        T(test_standing_claim_needs_pending_claim_and_its_code),
        T(test_standing_owner_steps_need_ownership),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
