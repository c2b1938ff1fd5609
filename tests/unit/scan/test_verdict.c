/* The verdict table: one test per rule, severity order, and expiry dates. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "scan/verdict.h"

#define NOW    1790000000u /* 2026-09-21 */
#define BIT(r) (1u << (r))

static chain_unit unit(void)
{
    chain_unit u;
    memset(&u, 0, sizeof u);
    strcpy(u.id.gtin, "09506000123455");
    strcpy(u.id.serial, "ABC");
    u.state = CHAIN_UNIT_OWNED;
    return u;
}

static chain_policy policy(void)
{
    chain_policy p = {.max_clients = 5,
                      .travel_kmh = 900,
                      .unsold_scan_suspicious = 1,
                      .flagged_markets_only = 1};
    return p;
}

static verdict eval(const chain_unit *u, const chain_scan_stats *s, int sig)
{
    chain_policy p = policy();
    verdict_input in = {.unit = u, .stats = s, .policy = &p, .sig = sig, .now = NOW};
    verdict v;
    verdict_eval(&v, &in);
    return v;
}

static void test_verdict_clean_unit_is_genuine(void **st)
{
    (void)st;
    chain_unit u = unit();
    chain_scan_stats s = {.scans = 3, .distinct_clients = 2};
    verdict v = eval(&u, &s, VERDICT_SIG_OK);
    assert_int_equal(v.status, VERDICT_GENUINE);
    assert_int_equal(v.reasons, 0);
    assert_string_equal(verdict_status_name(v.status), "genuine");
}

static void test_verdict_unknown_serial_not_genuine(void **st)
{
    (void)st;
    verdict v = eval(NULL, NULL, VERDICT_SIG_ABSENT);
    assert_int_equal(v.status, VERDICT_NOT_GENUINE);
    assert_int_equal(v.reasons, BIT(VERDICT_R_UNKNOWN_SERIAL));
    assert_string_equal(verdict_status_name(v.status), "not_genuine");
}

static void test_verdict_bad_label_signature_not_genuine(void **st)
{
    (void)st;
    chain_unit u = unit();
    verdict v = eval(&u, NULL, VERDICT_SIG_BAD);
    assert_int_equal(v.status, VERDICT_NOT_GENUINE);
    assert_int_equal(v.reasons, BIT(VERDICT_R_BAD_LABEL_SIGNATURE));
    assert_string_equal(verdict_reason_name(VERDICT_R_BAD_LABEL_SIGNATURE), "bad_label_signature");
    /* the scan-intelligence codes the dashboard and API document */
    assert_string_equal(verdict_reason_name(VERDICT_R_IMPOSSIBLE_TRAVEL), "impossible_travel");
    assert_string_equal(verdict_reason_name(VERDICT_R_TOO_MANY_CLIENTS), "too_many_clients");
    assert_string_equal(verdict_reason_name(VERDICT_R_OUTSIDE_MARKETS), "outside_markets");
    assert_string_equal(verdict_reason_name(VERDICT_R_SCANNED_BEFORE_SALE), "scanned_before_sale");
    assert_string_equal(verdict_reason_name(VERDICT_R_REPORTED_FAKE), "reported_fake");
}

static void test_verdict_flags(void **st)
{
    (void)st;
    chain_unit u = unit();
    u.flags = CHAIN_FLAG_RECALLED;
    assert_int_equal(eval(&u, NULL, 0).status, VERDICT_RECALLED);
    u.flags = CHAIN_FLAG_STOLEN;
    assert_int_equal(eval(&u, NULL, 0).status, VERDICT_STOLEN);
    u.flags = CHAIN_FLAG_COUNTERFEIT;
    assert_int_equal(eval(&u, NULL, 0).status, VERDICT_NOT_GENUINE);
    u.flags = CHAIN_FLAG_DESTROYED;
    assert_int_equal(eval(&u, NULL, 0).reasons, BIT(VERDICT_R_DESTROYED));
    /* the most severe wins, every reason is kept */
    u.flags = CHAIN_FLAG_RECALLED | CHAIN_FLAG_STOLEN;
    verdict v = eval(&u, NULL, 0);
    assert_int_equal(v.status, VERDICT_STOLEN);
    assert_int_equal(v.reasons, BIT(VERDICT_R_STOLEN) | BIT(VERDICT_R_RECALLED));
}

static void test_verdict_expired(void **st)
{
    (void)st;
    chain_unit u = unit();
    strcpy(u.expiry, "250101");
    verdict v = eval(&u, NULL, 0);
    assert_int_equal(v.status, VERDICT_EXPIRED);
    assert_int_equal(v.reasons, BIT(VERDICT_R_EXPIRED));
    strcpy(u.expiry, "301231");
    assert_int_equal(eval(&u, NULL, 0).status, VERDICT_GENUINE);
}

static void test_verdict_expiry_dates(void **st)
{
    (void)st;
    /* 2026-09-21 00:00 UTC = 1789948800 */
    assert_false(verdict_expired("260921", 1789948800u + 86399)); /* the last day counts */
    assert_true(verdict_expired("260921", 1789948800u + 86400));
    assert_false(verdict_expired("260900", 1789948800u)); /* DD 00: end of September */
    assert_true(verdict_expired("260800", 1789948800u));
    assert_false(verdict_expired("", NOW));
    assert_false(verdict_expired("26x921", NOW));
    assert_false(verdict_expired("261321", NOW));
}

static void test_verdict_scan_rules_suspicious(void **st)
{
    (void)st;
    chain_unit u = unit();
    chain_scan_stats s = {.distinct_clients = 6};
    verdict v = eval(&u, &s, 0);
    assert_int_equal(v.status, VERDICT_SUSPICIOUS);
    assert_int_equal(v.reasons, BIT(VERDICT_R_TOO_MANY_CLIENTS));

    memset(&s, 0, sizeof s);
    s.impossible_travel = VERDICT_CORROBORATION;
    assert_int_equal(eval(&u, &s, 0).reasons, BIT(VERDICT_R_IMPOSSIBLE_TRAVEL));
    memset(&s, 0, sizeof s);
    s.outside_markets = VERDICT_CORROBORATION;
    assert_int_equal(eval(&u, &s, 0).reasons, BIT(VERDICT_R_OUTSIDE_MARKETS));
    memset(&s, 0, sizeof s);
    s.unsold_public = VERDICT_CORROBORATION;
    assert_int_equal(eval(&u, &s, 0).reasons, BIT(VERDICT_R_SCANNED_BEFORE_SALE));
    memset(&s, 0, sizeof s);
    s.reports = VERDICT_CORROBORATION;
    assert_int_equal(eval(&u, &s, 0).reasons, BIT(VERDICT_R_REPORTED_FAKE));
}

/* One network's evidence is never enough: every scan signal at
 * VERDICT_CORROBORATION - 1 networks leaves the unit genuine, at the bound it
 * is suspicious (the at-limit / one-short pair of each signal). */
static void test_verdict_scan_signals_need_corroboration(void **st)
{
    (void)st;
    chain_unit u = unit();
    chain_scan_stats s = {.scans = 1000,
                          .impossible_travel = VERDICT_CORROBORATION - 1,
                          .outside_markets = VERDICT_CORROBORATION - 1,
                          .unsold_public = VERDICT_CORROBORATION - 1,
                          .reports = VERDICT_CORROBORATION - 1,
                          .distinct_clients = 1};
    verdict v = eval(&u, &s, VERDICT_SIG_OK);
    assert_int_equal(v.status, VERDICT_GENUINE);
    assert_int_equal(v.reasons, 0);
    s.impossible_travel++;
    v = eval(&u, &s, VERDICT_SIG_OK);
    assert_int_equal(v.status, VERDICT_SUSPICIOUS);
    assert_int_equal(v.reasons, BIT(VERDICT_R_IMPOSSIBLE_TRAVEL));
}

/* max_clients is the most distinct clients a genuine unit may have: exactly the
 * limit stays genuine, one more is suspicious. */
static void test_verdict_max_clients_edge(void **st)
{
    (void)st;
    chain_unit u = unit();
    chain_policy p = policy();
    chain_scan_stats s = {.scans = 50, .distinct_clients = p.max_clients};
    verdict v = eval(&u, &s, VERDICT_SIG_OK);
    assert_int_equal(v.status, VERDICT_GENUINE);
    assert_int_equal(v.reasons, 0);
    s.distinct_clients = p.max_clients + 1;
    v = eval(&u, &s, VERDICT_SIG_OK);
    assert_int_equal(v.status, VERDICT_SUSPICIOUS);
    assert_int_equal(v.reasons, BIT(VERDICT_R_TOO_MANY_CLIENTS));
}

static void test_verdict_policy_switches_rules_off(void **st)
{
    (void)st;
    chain_unit u = unit();
    chain_scan_stats s = {.outside_markets = 1, .unsold_public = 1, .distinct_clients = 99};
    chain_policy p = {.max_clients = 0, .unsold_scan_suspicious = 2, .flagged_markets_only = 2};
    verdict_input in = {.unit = &u, .stats = &s, .policy = &p, .now = NOW};
    verdict v;
    verdict_eval(&v, &in);
    assert_int_equal(v.status, VERDICT_GENUINE);
}

static void test_verdict_names_cover_every_value(void **st)
{
    (void)st;
    for (int s = 1; s < VERDICT__COUNT; s++) {
        assert_string_not_equal(verdict_status_name(s), "unknown");
        assert_string_not_equal(verdict_status_title(s), "Unknown");
    }
    for (int r = 0; r < VERDICT_R__COUNT; r++) {
        assert_string_not_equal(verdict_reason_name(r), "unknown");
        assert_string_not_equal(verdict_reason_text(r), "Unknown reason");
    }
    assert_string_equal(verdict_status_name(0), "unknown");
    assert_string_equal(verdict_reason_name(VERDICT_R__COUNT), "unknown");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_verdict_clean_unit_is_genuine),
        cmocka_unit_test(test_verdict_unknown_serial_not_genuine),
        cmocka_unit_test(test_verdict_bad_label_signature_not_genuine),
        cmocka_unit_test(test_verdict_flags),
        cmocka_unit_test(test_verdict_expired),
        cmocka_unit_test(test_verdict_expiry_dates),
        cmocka_unit_test(test_verdict_scan_rules_suspicious),
        cmocka_unit_test(test_verdict_scan_signals_need_corroboration),
        cmocka_unit_test(test_verdict_max_clients_edge),
        cmocka_unit_test(test_verdict_policy_switches_rules_off),
        cmocka_unit_test(test_verdict_names_cover_every_value),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
