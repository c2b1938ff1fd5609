/*
 * test_gw_req_state.c — the gateway's request state machine (gw_req_state.h):
 * each path a request can take through the access handler, the action of
 * every state, and every event that cannot happen in a state refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "node/gw_req_state.h"

static void test_gw_req_answered_at_once_is_queued(void **state)
{
    (void)state;
    int s = GW_REQ_READING; /* a calloc'd request */
    assert_int_equal(gw_req_action(s), GW_ACT_READ);
    s = gw_req_next(s, GW_EV_REPLY); /* a GET's 404, or a handler's answer */
    assert_int_equal(s, GW_REQ_ANSWERED);
    assert_int_equal(gw_req_action(s), GW_ACT_QUEUE);
}

static void test_gw_req_deferred_waits_then_finishes(void **state)
{
    (void)state;
    int s = gw_req_next(GW_REQ_READING, GW_EV_SUSPEND); /* gw_defer */
    assert_int_equal(s, GW_REQ_SUSPENDED);
    assert_int_equal(gw_req_action(s), GW_ACT_WAIT);
    s = gw_req_next(s, GW_EV_REPLY); /* the worker answers: still suspended */
    assert_int_equal(s, GW_REQ_SUSPENDED);
    assert_int_equal(gw_req_action(s), GW_ACT_WAIT);
    s = gw_req_next(s, GW_EV_RESUME);
    assert_int_equal(s, GW_REQ_RESUMED);
    assert_int_equal(gw_req_action(s), GW_ACT_FINISH);
}

static void test_gw_req_suspended_answer_built_after_resume(void **state)
{
    (void)state;
    int s = gw_req_next(GW_REQ_READING, GW_EV_SUSPEND); /* gw_suspend */
    s = gw_req_next(s, GW_EV_RESUME);                   /* the callback's gw_resume */
    assert_int_equal(s, GW_REQ_RESUMED);
    s = gw_req_next(s, GW_EV_REPLY); /* finish answers on the polling thread */
    assert_int_equal(s, GW_REQ_RESUMED);
    assert_int_equal(gw_req_action(s), GW_ACT_FINISH);
}

static void test_gw_req_impossible_events_refused(void **state)
{
    (void)state;
    assert_int_equal(gw_req_next(GW_REQ_ANSWERED, GW_EV_REPLY), -1);   /* a second answer */
    assert_int_equal(gw_req_next(GW_REQ_ANSWERED, GW_EV_SUSPEND), -1); /* answered, then deferred */
    assert_int_equal(gw_req_next(GW_REQ_SUSPENDED, GW_EV_SUSPEND), -1);
    assert_int_equal(gw_req_next(GW_REQ_RESUMED, GW_EV_SUSPEND), -1);
    assert_int_equal(gw_req_next(GW_REQ_READING, GW_EV_RESUME), -1); /* resumed, never suspended */
    assert_int_equal(gw_req_next(GW_REQ_ANSWERED, GW_EV_RESUME), -1);
    assert_int_equal(gw_req_next(GW_REQ_RESUMED, GW_EV_RESUME), -1); /* resumed twice */
    assert_int_equal(gw_req_next(GW_REQ_READING, 0), -1);
    assert_int_equal(gw_req_next(GW_REQ_READING, 99), -1);
    assert_int_equal(gw_req_action(99), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gw_req_answered_at_once_is_queued),
        cmocka_unit_test(test_gw_req_deferred_waits_then_finishes),
        cmocka_unit_test(test_gw_req_suspended_answer_built_after_resume),
        cmocka_unit_test(test_gw_req_impossible_events_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
