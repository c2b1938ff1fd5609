/*
 * test_members.c — cons_members_heard (cons_members.c): the leader's record
 * of when it last heard each member. Id 0 and this node's own id are not
 * recorded; each member keeps one slot; once all CONS_PEERS_MAX slots hold
 * members, a new one takes the slot of a server no longer in the
 * configuration, and while every slot's server is still in it, the new one
 * is not recorded (nothing else is overwritten).
 *
 * The node is a zeroed struct cons with id 1 and raft's configuration set.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "consensus/cons_int.h"

static cons *node(void)
{
    cons *c = calloc(1, sizeof *c);
    assert_non_null(c);
    c->cfg.id = 1;
    raft_configuration_init(&c->raft.configuration);
    return c;
}

static void node_free(cons *c)
{
    raft_configuration_close(&c->raft.configuration);
    free(c);
}

static int slot_of(const cons *c, uint64_t id)
{
    int found = -1;
    for (int i = 0; i < CONS_PEERS_MAX; i++)
        if (c->health[i].id == id) {
            assert_int_equal(found, -1); /* one slot per member */
            found = i;
        }
    return found;
}

static void conf_add(cons *c, uint64_t id)
{
    char addr[64];
    snprintf(addr, sizeof addr, "tcp://127.0.0.1:%llu", (unsigned long long)(7000 + id));
    assert_int_equal(raft_configuration_add(&c->raft.configuration, id, addr, RAFT_VOTER), 0);
}

static void test_members_heard_recorded_once_each(void **state)
{
    (void)state;
    cons *c = node();
    cons_members_heard(c, 0, 100);
    cons_members_heard(c, 1, 100); /* itself */
    for (int i = 0; i < CONS_PEERS_MAX; i++)
        assert_int_equal(c->health[i].id, 0);
    cons_members_heard(c, 2, 100);
    int k = slot_of(c, 2);
    assert_true(k >= 0);
    assert_int_equal(c->health[k].heard_ms, 100);
    c->health[k].silent = true;
    cons_members_heard(c, 2, 250); /* the same slot, its state kept */
    assert_int_equal(slot_of(c, 2), k);
    assert_int_equal(c->health[k].heard_ms, 250);
    assert_true(c->health[k].silent);
    node_free(c);
}

static void test_members_heard_full_slots(void **state)
{
    (void)state;
    cons *c = node();
    /* members 2..17 fill every slot; all of them in the configuration */
    for (uint64_t id = 2; id < 2 + CONS_PEERS_MAX; id++) {
        conf_add(c, id);
        cons_members_heard(c, id, 1000 + id);
    }
    for (uint64_t id = 2; id < 2 + CONS_PEERS_MAX; id++)
        assert_true(slot_of(c, id) >= 0);
    /* a newcomer while every slot's server is a member: not recorded */
    cons_members_heard(c, 99, 5000);
    assert_int_equal(slot_of(c, 99), -1);
    for (uint64_t id = 2; id < 2 + CONS_PEERS_MAX; id++)
        assert_int_equal(c->health[slot_of(c, id)].heard_ms, 1000 + id);
    /* server 5 left the configuration: the newcomer takes its slot, cleared */
    int k5 = slot_of(c, 5);
    c->health[k5].silent = true;
    raft_configuration_close(&c->raft.configuration);
    raft_configuration_init(&c->raft.configuration);
    for (uint64_t id = 2; id < 2 + CONS_PEERS_MAX; id++)
        if (id != 5)
            conf_add(c, id);
    cons_members_heard(c, 99, 5000);
    assert_int_equal(slot_of(c, 99), k5);
    assert_int_equal(slot_of(c, 5), -1);
    assert_int_equal(c->health[k5].heard_ms, 5000);
    assert_false(c->health[k5].silent);
    for (uint64_t id = 2; id < 2 + CONS_PEERS_MAX; id++)
        if (id != 5)
            assert_int_equal(c->health[slot_of(c, id)].heard_ms, 1000 + id);
    node_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_members_heard_recorded_once_each),
        cmocka_unit_test(test_members_heard_full_slots),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
