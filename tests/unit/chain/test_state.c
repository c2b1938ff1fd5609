/* Reads of chain.h: head, units, exact history, lots and their units in
 * serial order, owners, participants, nodes, nonces, blocks. */
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

static void test_new_ledger_head_is_genesis(void **state)
{
    hc_env *e = *state;
    chain_head h = hc_get_head(e);
    assert_int_equal(h.height, 0);
    assert_memory_equal(h.id, e->g->chain_id, 32);
    assert_int_equal(h.time, e->g->time * 1000);
    assert_int_equal(h.applied_index, 0);
    assert_int_equal(h.units, 0);
    uint8_t d0[32];
    chain_tagged_hash(d0, CHAIN_TAG_STATE, e->g->chain_id, 32);
    assert_memory_equal(h.state_digest, d0, 32);
    assert_int_equal(chain_applied_index(e->c), 0);
    assert_memory_equal(chain_genesis_of(e->c)->chain_id, e->g->chain_id, 32);
}

static void test_genesis_participants_brands_and_nodes_registered(void **state)
{
    hc_env *e = *state;
    chain_rd *rd;
    chain_participant p;
    assert_int_equal(chain_rd_begin(e->c, &rd), CHAIN_OK);
    assert_int_equal(chain_participant_get(rd, &p, "acme"), CHAIN_OK);
    assert_int_equal(p.role, CHAIN_ROLE_BRAND);
    assert_string_equal(p.brand, "acme");
    assert_int_equal(chain_participant_by_key(rd, &p, e->pub[HK_SELLER]), CHAIN_OK);
    assert_string_equal(p.id, "seller-a");
    assert_int_equal(chain_participant_by_key(rd, &p, e->pub[HK_ALICE]), CHAIN_ERR_NOT_FOUND);
    assert_int_equal(chain_participant_get(rd, &p, "nobody"), CHAIN_ERR_NOT_FOUND);
    chain_node_info n[4];
    assert_int_equal(chain_nodes(rd, n, 4), 2);
    assert_int_equal(n[0].id, 1);
    assert_memory_equal(n[0].pub, e->pub[HK_NODE], 32);
    assert_int_equal(chain_nodes(rd, n, 1), 1);
    chain_rd_end(rd);
}

typedef struct names {
    char ids[16][40];
    int n;
    int stop_after;
} names;

static int collect_participant(void *ctx, const chain_participant *p)
{
    names *x = ctx;
    snprintf(x->ids[x->n++], 40, "%s", p->id);
    return x->n == x->stop_after;
}

static void test_participants_iterates_in_id_order(void **state)
{
    hc_env *e = *state;
    chain_rd *rd;
    names x = {.n = 0};
    assert_int_equal(chain_rd_begin(e->c, &rd), CHAIN_OK);
    assert_int_equal(chain_participants(rd, collect_participant, &x), CHAIN_OK);
    assert_int_equal(x.n, 7);
    assert_string_equal(x.ids[0], "acme");
    assert_string_equal(x.ids[1], "bolt");
    assert_string_equal(x.ids[6], "service-a");
    names y = {.n = 0, .stop_after = 2};
    assert_int_equal(chain_participants(rd, collect_participant, &y), CHAIN_OK);
    assert_int_equal(y.n, 2);
    chain_rd_end(rd);
}

typedef struct evs {
    chain_event ev[16];
    int n;
} evs;

static int collect_event(void *ctx, const chain_event *ev)
{
    evs *x = ctx;
    x->ev[x->n++] = *ev;
    return 0;
}

static void test_history_of_unit_is_exact(void **state)
{
    hc_env *e = *state;
    hc_unit_owned(e, "H", HK_ALICE); /* mint, pickup, deliver, sell */
    uint64_t sold_h = e->height;
    gs1_sgtin u = hc_unit(HC_GTIN, "H");
    chain_tx tx = hc_tx(CHAIN_TX_FLAG);
    tx.units = &u;
    tx.nunits = 1;
    tx.reason = CHAIN_FLAG_STOLEN;
    snprintf(tx.note, sizeof tx.note, "lost on a train");
    assert_int_equal(hc_apply1(e, HK_ALICE, &tx, NULL), CHAIN_OK);
    /* a refused step adds nothing */
    tx = hc_tx(CHAIN_TX_PICKUP);
    tx.units = &u;
    tx.nunits = 1;
    assert_int_equal(hc_apply1(e, HK_CARRIER, &tx, NULL), CHAIN_ERR_BAD_STATE);

    chain_rd *rd;
    evs x = {.n = 0};
    assert_int_equal(chain_rd_begin(e->c, &rd), CHAIN_OK);
    assert_int_equal(chain_unit_history(rd, HC_GTIN, "H", 0, 0, collect_event, &x), CHAIN_OK);
    assert_int_equal(x.n, 5);
    const int types[5] = {CHAIN_TX_MINT, CHAIN_TX_PICKUP, CHAIN_TX_DELIVER, CHAIN_TX_SELL,
                          CHAIN_TX_FLAG};
    for (int i = 0; i < 5; i++) {
        assert_int_equal(x.ev[i].seq, i);
        assert_int_equal(x.ev[i].type, types[i]);
        assert_int_equal(x.ev[i].index, 0);
        if (i > 0)
            assert_true(x.ev[i].height > x.ev[i - 1].height);
    }
    assert_string_equal(x.ev[0].actor_id, "acme");
    assert_int_equal(x.ev[0].actor_role, CHAIN_ROLE_BRAND);
    assert_memory_equal(x.ev[1].actor, e->pub[HK_CARRIER], 32);
    assert_string_equal(x.ev[1].actor_id, "carrier-a");
    assert_string_equal(x.ev[2].to, "seller-a");
    assert_int_equal(x.ev[3].height, sold_h);
    assert_true(x.ev[3].has_key);
    assert_memory_equal(x.ev[3].key, e->pub[HK_ALICE], 32);
    assert_string_equal(x.ev[4].actor_id, "");
    assert_int_equal(x.ev[4].actor_role, CHAIN_ROLE_NONE);
    assert_int_equal(x.ev[4].reason, CHAIN_FLAG_STOLEN);
    assert_string_equal(x.ev[4].note, "lost on a train");
    assert_int_equal(x.ev[4].time, e->time - 1000); /* the block before the refused one */
    /* the event's tx id resolves to its receipt */
    chain_receipt rc;
    assert_int_equal(chain_tx_get(rd, &rc, NULL, NULL, x.ev[3].tx), CHAIN_OK);
    assert_int_equal(rc.height, sold_h);
    /* paging: from 2, at most 2 */
    evs y = {.n = 0};
    assert_int_equal(chain_unit_history(rd, HC_GTIN, "H", 2, 2, collect_event, &y), CHAIN_OK);
    assert_int_equal(y.n, 2);
    assert_int_equal(y.ev[0].seq, 2);
    assert_int_equal(y.ev[1].seq, 3);
    evs z = {.n = 0};
    assert_int_equal(chain_unit_history(rd, HC_GTIN, "H", 9, 0, collect_event, &z), CHAIN_OK);
    assert_int_equal(z.n, 0);
    assert_int_equal(chain_unit_history(rd, HC_GTIN, "NOPE", 0, 0, collect_event, &z),
                     CHAIN_ERR_NOT_FOUND);
    chain_rd_end(rd);
}

typedef struct ids {
    gs1_sgtin u[64];
    int n;
} ids;

static int collect_unit(void *ctx, const gs1_sgtin *id)
{
    ids *x = ctx;
    x->u[x->n++] = *id;
    return 0;
}

static void test_lot_units_paged_in_serial_order(void **state)
{
    hc_env *e = *state;
    assert_int_equal(hc_mint(e, HK_BRAND, HC_GTIN, "LOTA", "K", 12), CHAIN_OK); /* K0..K11 */
    assert_int_equal(hc_mint(e, HK_BRAND, HC_GTIN, "LOTB", "J", 3), CHAIN_OK);
    assert_int_equal(hc_mint(e, HK_BRAND, HC_GTIN, "LOT", "Z", 2),
                     CHAIN_OK); /* lot prefix of LOTA */
    chain_rd *rd;
    assert_int_equal(chain_rd_begin(e->c, &rd), CHAIN_OK);
    ids x = {.n = 0};
    assert_int_equal(chain_lot_units(rd, HC_GTIN, "LOTA", "", 5, collect_unit, &x), CHAIN_OK);
    assert_int_equal(x.n, 5);
    assert_string_equal(x.u[0].serial, "K0");
    assert_string_equal(x.u[1].serial, "K1");
    assert_string_equal(x.u[2].serial, "K10");
    assert_string_equal(x.u[3].serial, "K11");
    assert_string_equal(x.u[4].serial, "K2");
    assert_string_equal(x.u[4].gtin, HC_GTIN);
    ids y = {.n = 0};
    assert_int_equal(chain_lot_units(rd, HC_GTIN, "LOTA", "K2", 0, collect_unit, &y), CHAIN_OK);
    assert_int_equal(y.n, 7);
    assert_string_equal(y.u[0].serial, "K3");
    ids z = {.n = 0};
    assert_int_equal(chain_lot_units(rd, HC_GTIN, "LOT", "", 0, collect_unit, &z), CHAIN_OK);
    assert_int_equal(z.n, 2);
    chain_lot lot;
    assert_int_equal(chain_lot_get(rd, &lot, HC_GTIN, "NOLOT"), CHAIN_ERR_NOT_FOUND);
    chain_rd_end(rd);
}

static void test_owner_units_paged_and_follow_transfers(void **state)
{
    hc_env *e = *state;
    hc_unit_owned(e, "O1", HK_ALICE);
    hc_unit_owned(e, "O2", HK_ALICE);
    hc_unit_owned(e, "O3", HK_BOB);
    chain_rd *rd;
    assert_int_equal(chain_rd_begin(e->c, &rd), CHAIN_OK);
    ids x = {.n = 0};
    assert_int_equal(chain_owner_units(rd, e->pub[HK_ALICE], NULL, 0, collect_unit, &x), CHAIN_OK);
    assert_int_equal(x.n, 2);
    assert_string_equal(x.u[0].serial, "O1");
    ids y = {.n = 0};
    assert_int_equal(chain_owner_units(rd, e->pub[HK_ALICE], &x.u[0], 0, collect_unit, &y),
                     CHAIN_OK);
    assert_int_equal(y.n, 1);
    assert_string_equal(y.u[0].serial, "O2");
    chain_rd_end(rd);
    gs1_sgtin u = hc_unit(HC_GTIN, "O2");
    chain_tx tx = hc_tx(CHAIN_TX_TRANSFER);
    tx.units = &u;
    tx.nunits = 1;
    tx.has_key = true;
    memcpy(tx.key, e->pub[HK_BOB], 32);
    assert_int_equal(hc_apply1(e, HK_ALICE, &tx, NULL), CHAIN_OK);
    assert_int_equal(chain_rd_begin(e->c, &rd), CHAIN_OK);
    ids a = {.n = 0}, b = {.n = 0};
    assert_int_equal(chain_owner_units(rd, e->pub[HK_ALICE], NULL, 0, collect_unit, &a), CHAIN_OK);
    assert_int_equal(chain_owner_units(rd, e->pub[HK_BOB], NULL, 0, collect_unit, &b), CHAIN_OK);
    assert_int_equal(a.n, 1);
    assert_int_equal(b.n, 2);
    chain_rd_end(rd);
}

static void test_nonce_next_starts_at_one_and_follows_accepted_txs(void **state)
{
    hc_env *e = *state;
    chain_rd *rd;
    assert_int_equal(chain_rd_begin(e->c, &rd), CHAIN_OK);
    assert_int_equal(chain_nonce_next(rd, e->pub[HK_BRAND]), 1);
    chain_rd_end(rd);
    assert_int_equal(hc_mint(e, HK_BRAND, HC_GTIN, "L", "A", 1), CHAIN_OK);
    assert_int_equal(hc_mint(e, HK_BRAND, HC_GTIN, "L", "A", 1), CHAIN_ERR_DUPLICATE_UNIT);
    assert_int_equal(chain_rd_begin(e->c, &rd), CHAIN_OK);
    assert_int_equal(chain_nonce_next(rd, e->pub[HK_BRAND]), 2);
    chain_rd_end(rd);
}

static void test_block_get_returns_applied_blocks(void **state)
{
    hc_env *e = *state;
    assert_int_equal(hc_mint(e, HK_BRAND, HC_GTIN, "L", "A", 1), CHAIN_OK);
    chain_rd *rd;
    const uint8_t *raw;
    size_t len;
    assert_int_equal(chain_rd_begin(e->c, &rd), CHAIN_OK);
    assert_int_equal(chain_block_get(rd, &raw, &len, 1), CHAIN_OK);
    chain_block_header hdr;
    uint8_t id[32];
    size_t ntx;
    assert_int_equal(chain_block_peek(&hdr, id, &ntx, raw, len), CHAIN_OK);
    assert_int_equal(hdr.height, 1);
    assert_memory_equal(id, e->head, 32);
    assert_int_equal(ntx, 1);
    assert_int_equal(chain_block_get(rd, &raw, &len, 2), CHAIN_ERR_NOT_FOUND);
    chain_rd_end(rd);
}

static void test_scan_stats_of_unscanned_unit_are_zero(void **state)
{
    hc_env *e = *state;
    assert_int_equal(hc_mint(e, HK_BRAND, HC_GTIN, "L", "A", 1), CHAIN_OK);
    chain_rd *rd;
    chain_scan_stats st;
    memset(&st, 0xff, sizeof st);
    assert_int_equal(chain_rd_begin(e->c, &rd), CHAIN_OK);
    assert_int_equal(chain_scan_stats_get(rd, &st, HC_GTIN, "A"), CHAIN_OK);
    assert_int_equal(st.scans, 0);
    assert_int_equal(st.nregions, 0);
    chain_rd_end(rd);
}

static void test_reader_snapshot_does_not_see_later_blocks(void **state)
{
    hc_env *e = *state;
    chain_rd *rd;
    assert_int_equal(chain_rd_begin(e->c, &rd), CHAIN_OK);
    assert_int_equal(hc_mint(e, HK_BRAND, HC_GTIN, "L", "A", 1), CHAIN_OK);
    chain_head h;
    chain_unit u;
    assert_int_equal(chain_head_get(rd, &h), CHAIN_OK);
    assert_int_equal(h.height, 0);
    assert_int_equal(chain_unit_get(rd, &u, HC_GTIN, "A"), CHAIN_ERR_NOT_FOUND);
    chain_rd_end(rd);
    assert_int_equal(hc_get_head(e).height, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
        T(test_new_ledger_head_is_genesis),
        T(test_genesis_participants_brands_and_nodes_registered),
        T(test_participants_iterates_in_id_order),
        T(test_history_of_unit_is_exact),
        T(test_lot_units_paged_in_serial_order),
        T(test_owner_units_paged_and_follow_transfers),
        T(test_nonce_next_starts_at_one_and_follows_accepted_txs),
        T(test_block_get_returns_applied_blocks),
        T(test_scan_stats_of_unscanned_unit_are_zero),
        T(test_reader_snapshot_does_not_see_later_blocks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
