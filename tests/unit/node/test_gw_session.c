/* Contract tests for the dashboard's session store (gw_session.c): secrets
 * compared whatever their length, challenges used once and bounded, sessions
 * found only by their exact token, expired, ended, and bounded. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "node/gw_priv.h"

#define T0 1767225600000ull

static void test_secret_equal_near_misses(void **st)
{
    (void)st;
    const char *s = "0123456789abcdef";
    assert_true(gw_secret_equal(s, 16, "0123456789abcdef", 16));
    assert_false(gw_secret_equal(s, 16, "0123456789abcde", 15));   /* prefix */
    assert_false(gw_secret_equal(s, 16, "0123456789abcdef0", 17)); /* longer */
    assert_false(gw_secret_equal(s, 16, "0123456789abcdeF", 16));  /* same length */
    assert_false(gw_secret_equal(s, 16, "", 0));                   /* empty */
    assert_true(gw_secret_equal("", 0, "", 0));
}

static void test_session_found_only_by_exact_token(void **st)
{
    (void)st;
    gw_sessions *s = gw_sessions_new();
    assert_non_null(s);
    uint8_t key[32], got[32];
    memset(key, 7, 32);
    char tok[GW_TOKEN_HEX + 1], id[CHAIN_ID_MAX + 1], t[GW_TOKEN_HEX + 2];
    assert_int_equal(gw_session_new(s, tok, key, "acme", T0, 60000), 0);
    assert_int_equal(strlen(tok), GW_TOKEN_HEX);
    uint64_t exp = 0;
    assert_int_equal(gw_session_find(s, got, id, &exp, tok, GW_TOKEN_HEX, T0 + 1), GW_SESSION_OK);
    assert_memory_equal(got, key, 32);
    assert_string_equal(id, "acme");
    assert_int_equal(exp, T0 + 60000);
    /* prefix, longer, same length with one character changed, empty */
    assert_int_equal(gw_session_find(s, got, id, NULL, tok, GW_TOKEN_HEX - 1, T0 + 1),
                     GW_SESSION_UNKNOWN);
    memcpy(t, tok, GW_TOKEN_HEX);
    t[GW_TOKEN_HEX] = '0';
    assert_int_equal(gw_session_find(s, got, id, NULL, t, GW_TOKEN_HEX + 1, T0 + 1),
                     GW_SESSION_UNKNOWN);
    t[GW_TOKEN_HEX - 1] = tok[GW_TOKEN_HEX - 1] == '0' ? '1' : '0';
    assert_int_equal(gw_session_find(s, got, id, NULL, t, GW_TOKEN_HEX, T0 + 1),
                     GW_SESSION_UNKNOWN);
    assert_int_equal(gw_session_find(s, got, id, NULL, "", 0, T0 + 1), GW_SESSION_UNKNOWN);
    /* a free slot (all zero) is never matched, whatever is presented */
    char zeros[GW_TOKEN_HEX];
    memset(zeros, 0, sizeof zeros);
    assert_int_equal(gw_session_find(s, got, id, NULL, zeros, sizeof zeros, T0 + 1),
                     GW_SESSION_UNKNOWN);
    gw_session_end(s, tok, GW_TOKEN_HEX);
    assert_int_equal(gw_session_find(s, got, id, NULL, tok, GW_TOKEN_HEX, T0 + 2),
                     GW_SESSION_UNKNOWN);
    gw_sessions_free(s);
}

static void test_session_expires(void **st)
{
    (void)st;
    gw_sessions *s = gw_sessions_new();
    uint8_t key[32] = {1}, got[32];
    char tok[GW_TOKEN_HEX + 1], id[CHAIN_ID_MAX + 1];
    assert_int_equal(gw_session_new(s, tok, key, "acme", T0, 1000), 0);
    assert_int_equal(gw_session_find(s, got, id, NULL, tok, GW_TOKEN_HEX, T0 + 999), GW_SESSION_OK);
    assert_int_equal(gw_session_find(s, got, id, NULL, tok, GW_TOKEN_HEX, T0 + 1000),
                     GW_SESSION_EXPIRED);
    /* dropped once seen expired */
    assert_int_equal(gw_session_find(s, got, id, NULL, tok, GW_TOKEN_HEX, T0 + 1000),
                     GW_SESSION_UNKNOWN);
    gw_sessions_free(s);
}

static void test_sessions_bounded(void **st)
{
    (void)st;
    gw_sessions *s = gw_sessions_new();
    static char tok[GW_SESSIONS_MAX + 1][GW_TOKEN_HEX + 1];
    uint8_t key[32] = {2}, got[32];
    char id[CHAIN_ID_MAX + 1];
    /* exactly at the bound: every session is kept (the first expires first) */
    for (size_t i = 0; i < GW_SESSIONS_MAX; i++)
        assert_int_equal(gw_session_new(s, tok[i], key, "acme", T0, 60000 + i), 0);
    for (size_t i = 0; i < GW_SESSIONS_MAX; i++)
        assert_int_equal(gw_session_find(s, got, id, NULL, tok[i], GW_TOKEN_HEX, T0 + 1),
                         GW_SESSION_OK);
    /* one past it: the one that expires first makes room */
    assert_int_equal(
        gw_session_new(s, tok[GW_SESSIONS_MAX], key, "acme", T0 + 1, 60000 + GW_SESSIONS_MAX), 0);
    assert_int_equal(gw_session_find(s, got, id, NULL, tok[0], GW_TOKEN_HEX, T0 + 2),
                     GW_SESSION_UNKNOWN);
    for (size_t i = 1; i <= GW_SESSIONS_MAX; i++)
        assert_int_equal(gw_session_find(s, got, id, NULL, tok[i], GW_TOKEN_HEX, T0 + 2),
                         GW_SESSION_OK);
    gw_sessions_free(s);
}

static void test_challenge_used_once_and_expires(void **st)
{
    (void)st;
    gw_sessions *s = gw_sessions_new();
    uint8_t c[GW_CHALLENGE_LEN], d[GW_CHALLENGE_LEN], never[GW_CHALLENGE_LEN];
    assert_int_equal(gw_challenge_new(s, c, T0), 0);
    assert_true(gw_challenge_take(s, c, T0 + 1));
    assert_false(gw_challenge_take(s, c, T0 + 2)); /* used */
    assert_int_equal(gw_challenge_new(s, d, T0), 0);
    assert_false(gw_challenge_take(s, d, T0 + GW_CHALLENGE_TTL_S * 1000ull)); /* expired */
    assert_false(gw_challenge_take(s, d, T0 + 1));                            /* and gone */
    memset(never, 0, sizeof never);
    assert_false(gw_challenge_take(s, never, T0)); /* a free slot is not a challenge */
    gw_sessions_free(s);
}

static void test_challenges_bounded(void **st)
{
    (void)st;
    gw_sessions *s = gw_sessions_new();
    static uint8_t c[GW_CHALLENGES_MAX + 1][GW_CHALLENGE_LEN];
    /* at the bound every challenge stays answerable */
    for (size_t i = 0; i < GW_CHALLENGES_MAX; i++)
        assert_int_equal(gw_challenge_new(s, c[i], T0 + i), 0);
    /* one past it replaces the oldest */
    assert_int_equal(gw_challenge_new(s, c[GW_CHALLENGES_MAX], T0 + GW_CHALLENGES_MAX), 0);
    assert_false(gw_challenge_take(s, c[0], T0 + GW_CHALLENGES_MAX));
    for (size_t i = 1; i <= GW_CHALLENGES_MAX; i++)
        assert_true(gw_challenge_take(s, c[i], T0 + GW_CHALLENGES_MAX));
    gw_sessions_free(s);
}

static void test_login_digest_binds_chain_and_challenge(void **st)
{
    (void)st;
    uint8_t chain[32] = {1}, other[32] = {2}, ch[GW_CHALLENGE_LEN] = {3}, a[32], b[32], c2[32];
    gw_dash_login_digest(a, chain, ch);
    gw_dash_login_digest(b, other, ch);
    ch[31] ^= 1;
    gw_dash_login_digest(c2, chain, ch);
    assert_memory_not_equal(a, b, 32);
    assert_memory_not_equal(a, c2, 32);
    /* what the CLI signs: tagged_hash(tag, chain ‖ challenge) */
    uint8_t msg[64], want[32];
    memcpy(msg, chain, 32);
    memcpy(msg + 32, ch, 32);
    chain_tagged_hash(want, "provena/dashboard-login/v1", msg, sizeof msg);
    assert_memory_equal(c2, want, 32);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_secret_equal_near_misses),
        cmocka_unit_test(test_session_found_only_by_exact_token),
        cmocka_unit_test(test_session_expires),
        cmocka_unit_test(test_sessions_bounded),
        cmocka_unit_test(test_challenge_used_once_and_expires),
        cmocka_unit_test(test_challenges_bounded),
        cmocka_unit_test(test_login_digest_binds_chain_and_challenge),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
