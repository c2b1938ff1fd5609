/*
 * test_names.c — the chain layer's stable names (err.c): every error code,
 * role, unit state, flag, warranty outcome and transaction type has one
 * snake_case name, distinct from the others, that parses back to its value;
 * the names receipts and clients already depend on stay what they are; a
 * value out of range prints as "unknown" and a name nobody defined parses to
 * -1 (never a neighbour's value, never a crash on NULL).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "chain/chain.h"

/* n names, all non-empty, none "unknown", pairwise distinct. */
static void assert_distinct(const char *const *names, int n, const char *what)
{
    for (int i = 0; i < n; i++) {
        if (names[i] == NULL || names[i][0] == '\0' || strcmp(names[i], "unknown") == 0)
            fail_msg("%s %d: no name of its own", what, i);
        for (int j = 0; j < i; j++)
            if (strcmp(names[i], names[j]) == 0)
                fail_msg("%s %d and %d share the name \"%s\"", what, j, i, names[i]);
    }
}

static void test_names_error_codes_distinct_and_bounded(void **state)
{
    (void)state;
    const char *codes[CHAIN_ERR__COUNT], *texts[CHAIN_ERR__COUNT];
    for (int e = 0; e < CHAIN_ERR__COUNT; e++) {
        codes[e] = chain_err_code(e);
        texts[e] = chain_strerror(e);
    }
    assert_distinct(codes, CHAIN_ERR__COUNT, "error code");
    assert_distinct(texts, CHAIN_ERR__COUNT, "error text");
    /* names clients match on */
    assert_string_equal(chain_err_code(CHAIN_OK), "ok");
    assert_string_equal(chain_err_code(CHAIN_ERR_BAD_SIGNATURE), "bad_signature");
    assert_string_equal(chain_err_code(CHAIN_ERR_STALE_NONCE), "stale_nonce");
    assert_string_equal(chain_err_code(CHAIN_ERR_DISK_FULL), "disk_full");
    assert_string_equal(chain_err_code(CHAIN_ERR_PACK_FULL), "pack_full");
    assert_string_equal(chain_strerror(CHAIN_ERR_NOMEM), "out of memory");
    /* out of range: one past the last, and negative */
    assert_string_equal(chain_err_code(CHAIN_ERR__COUNT), "unknown");
    assert_string_equal(chain_err_code(-1), "unknown");
    assert_string_equal(chain_strerror(CHAIN_ERR__COUNT), "unknown error");
    assert_string_equal(chain_strerror(-1), "unknown error");
}

static void test_names_roles_round_trip(void **state)
{
    (void)state;
    const char *names[CHAIN_ROLE__COUNT];
    for (int r = 0; r < CHAIN_ROLE__COUNT; r++) {
        names[r] = chain_role_name(r);
        assert_int_equal(chain_role_parse(names[r]), r);
    }
    assert_distinct(names, CHAIN_ROLE__COUNT, "role");
    assert_string_equal(chain_role_name(CHAIN_ROLE_CARRIER), "carrier");
    assert_string_equal(chain_role_name(CHAIN_ROLE__COUNT), "unknown");
    assert_string_equal(chain_role_name(-1), "unknown");
    assert_int_equal(chain_role_parse("admin"), -1);
    assert_int_equal(chain_role_parse("Brand"), -1); /* exact, case and all */
    assert_int_equal(chain_role_parse("brand "), -1);
    assert_int_equal(chain_role_parse(""), -1);
    assert_int_equal(chain_role_parse(NULL), -1);
}

static void test_names_unit_states(void **state)
{
    (void)state;
    const char *names[CHAIN_UNIT__COUNT - CHAIN_UNIT_MINTED];
    for (int s = CHAIN_UNIT_MINTED; s < CHAIN_UNIT__COUNT; s++)
        names[s - CHAIN_UNIT_MINTED] = chain_unit_state_name(s);
    assert_distinct(names, CHAIN_UNIT__COUNT - CHAIN_UNIT_MINTED, "unit state");
    assert_string_equal(chain_unit_state_name(CHAIN_UNIT_IN_TRANSIT), "in_transit");
    assert_string_equal(chain_unit_state_name(CHAIN_UNIT_OWNED), "owned");
    /* 0 is no state: the table has a hole there */
    assert_string_equal(chain_unit_state_name(0), "unknown");
    assert_string_equal(chain_unit_state_name(CHAIN_UNIT__COUNT), "unknown");
    assert_string_equal(chain_unit_state_name(-3), "unknown");
}

static void test_names_flags_are_single_bits(void **state)
{
    (void)state;
    const unsigned bits[] = {CHAIN_FLAG_RECALLED, CHAIN_FLAG_STOLEN, CHAIN_FLAG_COUNTERFEIT,
                             CHAIN_FLAG_DESTROYED};
    const char *names[4];
    for (int i = 0; i < 4; i++) {
        names[i] = chain_flag_name(bits[i]);
        assert_int_equal(chain_flag_parse(names[i]), (int)bits[i]);
    }
    assert_distinct(names, 4, "flag");
    assert_string_equal(chain_flag_name(CHAIN_FLAG_STOLEN), "stolen");
    /* two bits at once, no bit, the bit after the last: not one flag */
    assert_string_equal(chain_flag_name(CHAIN_FLAG_RECALLED | CHAIN_FLAG_STOLEN), "unknown");
    assert_string_equal(chain_flag_name(0), "unknown");
    assert_string_equal(chain_flag_name(CHAIN_FLAG_DESTROYED << 1), "unknown");
    assert_int_equal(chain_flag_parse("lost"), -1);
    assert_int_equal(chain_flag_parse(NULL), -1);
}

static void test_names_outcomes(void **state)
{
    (void)state;
    const char *names[3];
    for (int o = CHAIN_OUTCOME_REPAIRED; o <= CHAIN_OUTCOME_REJECTED; o++) {
        names[o - CHAIN_OUTCOME_REPAIRED] = chain_outcome_name(o);
        assert_int_equal(chain_outcome_parse(names[o - CHAIN_OUTCOME_REPAIRED]), o);
    }
    assert_distinct(names, 3, "outcome");
    assert_string_equal(chain_outcome_name(CHAIN_OUTCOME_REPLACED), "replaced");
    assert_string_equal(chain_outcome_name(0), "unknown");
    assert_string_equal(chain_outcome_name(CHAIN_OUTCOME_REJECTED + 1), "unknown");
    assert_int_equal(chain_outcome_parse("refunded"), -1);
    assert_int_equal(chain_outcome_parse("unknown"), -1);
}

static void test_names_tx_types_round_trip(void **state)
{
    (void)state;
    const char *names[CHAIN_TX__COUNT - CHAIN_TX_MINT];
    for (int t = CHAIN_TX_MINT; t < CHAIN_TX__COUNT; t++) {
        names[t - CHAIN_TX_MINT] = chain_tx_type_name(t);
        assert_int_equal(chain_tx_type_parse(names[t - CHAIN_TX_MINT]), t);
    }
    assert_distinct(names, CHAIN_TX__COUNT - CHAIN_TX_MINT, "tx type");
    assert_string_equal(chain_tx_type_name(CHAIN_TX_WARRANTY_ACTIVATE), "warranty.activate");
    assert_string_equal(chain_tx_type_name(CHAIN_TX_RP_SET), "rp.set");
    assert_string_equal(chain_tx_type_name(0), "unknown");
    assert_string_equal(chain_tx_type_name(CHAIN_TX__COUNT), "unknown");
    assert_int_equal(chain_tx_type_parse("warranty"), -1); /* a prefix */
    assert_int_equal(chain_tx_type_parse("mint2"), -1);    /* longer */
    assert_int_equal(chain_tx_type_parse("mant"), -1);     /* same length */
    assert_int_equal(chain_tx_type_parse(""), -1);
    assert_int_equal(chain_tx_type_parse(NULL), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names_error_codes_distinct_and_bounded),
        cmocka_unit_test(test_names_roles_round_trip),
        cmocka_unit_test(test_names_unit_states),
        cmocka_unit_test(test_names_flags_are_single_bits),
        cmocka_unit_test(test_names_outcomes),
        cmocka_unit_test(test_names_tx_types_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
