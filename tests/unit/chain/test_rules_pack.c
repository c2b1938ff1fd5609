/* Rules of aggregation (tx_pack.c): pack and unpack into SSCC parents,
 * nesting, moves of a parent, and the freeze of what is packed — each
 * accepted in order and refused with its own code, changing nothing when
 * refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "helper_chain.h"

/* SSCCs with valid check digits. */
#define PALLET "309506000134350005"
#define CASE1  "009506000134350004"
#define CASE2  "009506000134350011"
#define CASE3  "009506000134350028"
#define OTHER  "109506000134350001"

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

/* Units "<prefix><from>".."<prefix><from+n-1>" of HC_GTIN (hc_mint's names). */
static gs1_sgtin *units_of(const char *prefix, size_t from, size_t n)
{
    gs1_sgtin *u = calloc(n, sizeof *u);
    assert_non_null(u);
    for (size_t i = 0; i < n; i++) {
        char s[24];
        snprintf(s, sizeof s, "%s%zu", prefix, from + i);
        u[i] = hc_unit(HC_GTIN, s);
    }
    return u;
}

static int pack(hc_env *e, int who, const char *sscc, gs1_sgtin *units, size_t n,
                const char *const *parents, size_t np, char *detail)
{
    chain_tx tx = hc_tx(CHAIN_TX_PACK);
    snprintf(tx.sscc, sizeof tx.sscc, "%s", sscc);
    tx.units = units;
    tx.nunits = n;
    char(*kids)[GS1_SSCC_LEN + 1] = np ? calloc(np, sizeof *kids) : NULL;
    for (size_t i = 0; i < np; i++)
        snprintf(kids[i], sizeof kids[i], "%s", parents[i]);
    tx.children = kids;
    tx.nchildren = np;
    int rc = hc_apply1(e, who, &tx, detail);
    free(kids);
    return rc;
}

static int pack_units(hc_env *e, int who, const char *sscc, const char *prefix, size_t from,
                      size_t n)
{
    gs1_sgtin *u = units_of(prefix, from, n);
    int rc = pack(e, who, sscc, u, n, NULL, 0, NULL);
    free(u);
    return rc;
}

static int pack_parent(hc_env *e, int who, const char *into, const char *child)
{
    const char *kids[1] = {child};
    return pack(e, who, into, NULL, 0, kids, 1, NULL);
}

static int by_sscc(hc_env *e, int type, int who, const char *sscc, const char *to)
{
    chain_tx tx = hc_tx(type);
    snprintf(tx.sscc, sizeof tx.sscc, "%s", sscc);
    if (to != NULL)
        snprintf(tx.to, sizeof tx.to, "%s", to);
    return hc_apply1(e, who, &tx, NULL);
}

static int one(hc_env *e, int type, int who, const char *serial, const char *to)
{
    gs1_sgtin u = hc_unit(HC_GTIN, serial);
    chain_tx tx = hc_tx(type);
    tx.units = &u;
    tx.nunits = 1;
    if (to != NULL)
        snprintf(tx.to, sizeof tx.to, "%s", to);
    if (type == CHAIN_TX_SELL) {
        tx.has_key = true;
        memcpy(tx.key, e->pub[HK_ALICE], 32);
    }
    return hc_apply1(e, who, &tx, NULL);
}

static chain_parent parent_of(hc_env *e, const char *sscc)
{
    chain_rd *rd;
    chain_parent p;
    assert_int_equal(chain_rd_begin(e->c, &rd), CHAIN_OK);
    assert_int_equal(chain_parent_get(rd, &p, sscc), CHAIN_OK);
    chain_rd_end(rd);
    return p;
}

typedef struct last_ev {
    chain_event ev;
    uint32_t n;
} last_ev;

static int keep_last(void *ctx, const chain_event *ev)
{
    last_ev *l = ctx;
    l->ev = *ev;
    l->n++;
    return 0;
}

static chain_event last_event(hc_env *e, const char *serial)
{
    chain_rd *rd;
    last_ev l = {0};
    assert_int_equal(chain_rd_begin(e->c, &rd), CHAIN_OK);
    assert_int_equal(chain_unit_history(rd, HC_GTIN, serial, 0, 0, keep_last, &l), CHAIN_OK);
    chain_rd_end(rd);
    assert_true(l.n > 0);
    return l.ev;
}

/* Applies a refused tx through f and checks that nothing but the tx index changed. */
#define EXPECT_REFUSED_UNCHANGED(e, call, code)                                                    \
    do {                                                                                           \
        uint8_t *before_, *after_;                                                                 \
        size_t lb_, la_;                                                                           \
        hc_dump_rules(e, &before_, &lb_);                                                          \
        assert_int_equal((call), (code));                                                          \
        hc_dump_rules(e, &after_, &la_);                                                           \
        assert_int_equal(lb_, la_);                                                                \
        assert_memory_equal(before_, after_, lb_);                                                 \
        free(before_);                                                                             \
        free(after_);                                                                              \
    } while (0)

static void test_pack_by_custodian_accepted(void **state)
{
    hc_env *e = *state;
    assert_int_equal(hc_mint(e, HK_BRAND, HC_GTIN, "L1", "P", 5), CHAIN_OK);
    assert_int_equal(pack_units(e, HK_BRAND, PALLET, "P", 0, 5), CHAIN_OK);
    chain_unit u = hc_get_unit(e, HC_GTIN, "P3");
    assert_string_equal(u.parent, PALLET);
    chain_event ev = last_event(e, "P3");
    assert_int_equal(ev.type, CHAIN_TX_PACK);
    assert_string_equal(ev.sscc, PALLET);
    chain_parent p = parent_of(e, PALLET);
    assert_string_equal(p.holder, "acme");
    assert_int_equal(p.total, 5);
    assert_int_equal(p.nunits, 5);
    assert_int_equal(p.depth, 1);
    assert_string_equal(p.parent, "");
}

static void test_pack_not_custodian_refused(void **state)
{
    hc_env *e = *state;
    assert_int_equal(hc_mint(e, HK_BRAND, HC_GTIN, "L1", "P", 2), CHAIN_OK);
    EXPECT_REFUSED_UNCHANGED(e, pack_units(e, HK_CARRIER, PALLET, "P", 0, 2), CHAIN_ERR_NOT_HOLDER);
    /* a customer (no role) may not pack at all */
    EXPECT_REFUSED_UNCHANGED(e, pack_units(e, HK_ALICE, PALLET, "P", 0, 2),
                             CHAIN_ERR_UNKNOWN_SIGNER);
    /* into a parent someone else holds */
    assert_int_equal(pack_units(e, HK_BRAND, PALLET, "P", 0, 1), CHAIN_OK);
    assert_int_equal(one(e, CHAIN_TX_PICKUP, HK_CARRIER, "P1", NULL), CHAIN_OK);
    EXPECT_REFUSED_UNCHANGED(e, pack_units(e, HK_CARRIER, PALLET, "P", 1, 1), CHAIN_ERR_NOT_HOLDER);
}

static void test_pack_unknown_unit_refused(void **state)
{
    hc_env *e = *state;
    assert_int_equal(hc_mint(e, HK_BRAND, HC_GTIN, "L1", "P", 2), CHAIN_OK);
    /* P0, P1 exist, P2 does not: nothing of the tx stays */
    EXPECT_REFUSED_UNCHANGED(e, pack_units(e, HK_BRAND, PALLET, "P", 0, 3), CHAIN_ERR_UNKNOWN_UNIT);
    chain_rd *rd;
    chain_parent p;
    assert_int_equal(chain_rd_begin(e->c, &rd), CHAIN_OK);
    assert_int_equal(chain_parent_get(rd, &p, PALLET), CHAIN_ERR_NOT_FOUND);
    chain_rd_end(rd);
}

static void test_pack_sold_or_destroyed_refused(void **state)
{
    hc_env *e = *state;
    hc_unit_owned(e, "S1", HK_ALICE);
    EXPECT_REFUSED_UNCHANGED(
        e, pack(e, HK_SELLER, PALLET, (gs1_sgtin[]){hc_unit(HC_GTIN, "S1")}, 1, NULL, 0, NULL),
        CHAIN_ERR_BAD_STATE);
    assert_int_equal(hc_mint(e, HK_BRAND, HC_GTIN, "L1", "D", 1), CHAIN_OK);
    chain_tx fl = hc_tx(CHAIN_TX_FLAG);
    gs1_sgtin d = hc_unit(HC_GTIN, "D");
    fl.units = &d;
    fl.nunits = 1;
    fl.reason = CHAIN_FLAG_DESTROYED;
    assert_int_equal(hc_apply1(e, HK_BRAND, &fl, NULL), CHAIN_OK);
    EXPECT_REFUSED_UNCHANGED(e, pack(e, HK_BRAND, PALLET, &d, 1, NULL, 0, NULL), CHAIN_ERR_FLAGGED);
}

static void test_packed_unit_frozen(void **state)
{
    hc_env *e = *state;
    assert_int_equal(hc_mint(e, HK_BRAND, HC_GTIN, "L1", "P", 2), CHAIN_OK);
    assert_int_equal(pack_units(e, HK_BRAND, PALLET, "P", 0, 2), CHAIN_OK);
    /* packed elsewhere, even twice in one tx */
    EXPECT_REFUSED_UNCHANGED(e, pack_units(e, HK_BRAND, CASE1, "P", 0, 1), CHAIN_ERR_PACKED);
    EXPECT_REFUSED_UNCHANGED(e, pack_units(e, HK_BRAND, PALLET, "P", 1, 1), CHAIN_ERR_PACKED);
    /* moved alone */
    EXPECT_REFUSED_UNCHANGED(e, one(e, CHAIN_TX_PICKUP, HK_CARRIER, "P0", NULL), CHAIN_ERR_PACKED);
    assert_int_equal(by_sscc(e, CHAIN_TX_PICKUP, HK_CARRIER, PALLET, NULL), CHAIN_OK);
    EXPECT_REFUSED_UNCHANGED(e, one(e, CHAIN_TX_DELIVER, HK_CARRIER, "P0", "seller-a"),
                             CHAIN_ERR_PACKED);
    assert_int_equal(by_sscc(e, CHAIN_TX_DELIVER, HK_CARRIER, PALLET, "seller-a"), CHAIN_OK);
    /* sold while packed */
    EXPECT_REFUSED_UNCHANGED(e, one(e, CHAIN_TX_SELL, HK_SELLER, "P0", NULL), CHAIN_ERR_PACKED);
    /* a flag still lands on a packed unit (a recall reaches what is on a pallet) */
    chain_tx fl = hc_tx(CHAIN_TX_FLAG);
    gs1_sgtin u = hc_unit(HC_GTIN, "P1");
    fl.units = &u;
    fl.nunits = 1;
    fl.reason = CHAIN_FLAG_RECALLED;
    assert_int_equal(hc_apply1(e, HK_BRAND, &fl, NULL), CHAIN_OK);
    /* unpacked: sold */
    assert_int_equal(by_sscc(e, CHAIN_TX_UNPACK, HK_SELLER, PALLET, NULL), CHAIN_OK);
    assert_string_equal(hc_get_unit(e, HC_GTIN, "P0").parent, "");
    chain_event ev = last_event(e, "P0");
    assert_int_equal(ev.type, CHAIN_TX_UNPACK);
    assert_string_equal(ev.sscc, PALLET);
    assert_int_equal(one(e, CHAIN_TX_SELL, HK_SELLER, "P0", NULL), CHAIN_OK);
}

static void test_move_parent_moves_every_unit_nested(void **state)
{
    hc_env *e = *state;
    assert_int_equal(hc_mint(e, HK_BRAND, HC_GTIN, "L1", "P", 6), CHAIN_OK);
    assert_int_equal(pack_units(e, HK_BRAND, CASE1, "P", 0, 3), CHAIN_OK);
    assert_int_equal(pack_units(e, HK_BRAND, CASE2, "P", 3, 3), CHAIN_OK);
    const char *cases[2] = {CASE1, CASE2};
    assert_int_equal(pack(e, HK_BRAND, PALLET, NULL, 0, cases, 2, NULL), CHAIN_OK);
    chain_parent p = parent_of(e, PALLET);
    assert_int_equal(p.total, 6);
    assert_int_equal(p.nparents, 2);
    assert_int_equal(p.nunits, 0);
    assert_int_equal(p.depth, 2);
    assert_string_equal(parent_of(e, CASE2).parent, PALLET);

    assert_int_equal(by_sscc(e, CHAIN_TX_PICKUP, HK_CARRIER, PALLET, NULL), CHAIN_OK);
    for (int i = 0; i < 6; i++) {
        char s[8];
        snprintf(s, sizeof s, "P%d", i);
        chain_unit u = hc_get_unit(e, HC_GTIN, s);
        assert_int_equal(u.state, CHAIN_UNIT_IN_TRANSIT);
        assert_string_equal(u.holder, "carrier-a");
        chain_event ev = last_event(e, s);
        assert_int_equal(ev.type, CHAIN_TX_PICKUP);
        assert_string_equal(ev.sscc, PALLET);
    }
    assert_string_equal(parent_of(e, PALLET).holder, "carrier-a");
    assert_string_equal(parent_of(e, CASE1).holder, "carrier-a");

    assert_int_equal(by_sscc(e, CHAIN_TX_DELIVER, HK_CARRIER, PALLET, "seller-a"), CHAIN_OK);
    chain_unit u = hc_get_unit(e, HC_GTIN, "P5");
    assert_int_equal(u.state, CHAIN_UNIT_DELIVERED);
    assert_string_equal(u.holder, "seller-a");
    assert_string_equal(last_event(e, "P5").to, "seller-a");
    assert_string_equal(parent_of(e, CASE2).holder, "seller-a");

    /* inner parents are frozen until the pallet is unpacked */
    EXPECT_REFUSED_UNCHANGED(e, by_sscc(e, CHAIN_TX_UNPACK, HK_SELLER, CASE1, NULL),
                             CHAIN_ERR_PACKED);
    EXPECT_REFUSED_UNCHANGED(e, by_sscc(e, CHAIN_TX_PICKUP, HK_CARRIER, CASE1, NULL),
                             CHAIN_ERR_PACKED);
    EXPECT_REFUSED_UNCHANGED(e, pack_parent(e, HK_SELLER, CASE3, CASE1), CHAIN_ERR_PACKED);
    assert_int_equal(by_sscc(e, CHAIN_TX_UNPACK, HK_SELLER, PALLET, NULL), CHAIN_OK);
    assert_string_equal(parent_of(e, CASE1).parent, "");
    assert_int_equal(parent_of(e, PALLET).total, 0);
    /* the units stay in their cases */
    assert_string_equal(hc_get_unit(e, HC_GTIN, "P0").parent, CASE1);
    assert_int_equal(by_sscc(e, CHAIN_TX_UNPACK, HK_SELLER, CASE1, NULL), CHAIN_OK);
    assert_string_equal(hc_get_unit(e, HC_GTIN, "P0").parent, "");
    /* an emptied parent is packed again by whoever holds what goes in */
    assert_int_equal(pack_units(e, HK_SELLER, PALLET, "P", 0, 1), CHAIN_OK);
    assert_string_equal(parent_of(e, PALLET).holder, "seller-a");
}

static void test_move_parent_all_or_nothing(void **state)
{
    hc_env *e = *state;
    assert_int_equal(hc_mint(e, HK_BRAND, HC_GTIN, "L1", "P", 4), CHAIN_OK);
    assert_int_equal(pack_units(e, HK_BRAND, CASE1, "P", 0, 2), CHAIN_OK);
    assert_int_equal(pack_units(e, HK_BRAND, CASE2, "P", 2, 2), CHAIN_OK);
    const char *cases[2] = {CASE1, CASE2};
    assert_int_equal(pack(e, HK_BRAND, PALLET, NULL, 0, cases, 2, NULL), CHAIN_OK);
    chain_tx fl = hc_tx(CHAIN_TX_FLAG);
    gs1_sgtin u = hc_unit(HC_GTIN, "P3"); /* the last unit walked */
    fl.units = &u;
    fl.nunits = 1;
    fl.reason = CHAIN_FLAG_DESTROYED;
    assert_int_equal(hc_apply1(e, HK_BRAND, &fl, NULL), CHAIN_OK);
    EXPECT_REFUSED_UNCHANGED(e, by_sscc(e, CHAIN_TX_PICKUP, HK_CARRIER, PALLET, NULL),
                             CHAIN_ERR_FLAGGED);
    assert_int_equal(hc_get_unit(e, HC_GTIN, "P0").state, CHAIN_UNIT_MINTED);
    /* deliver before pickup: bad state, nothing moves */
    EXPECT_REFUSED_UNCHANGED(e, by_sscc(e, CHAIN_TX_DELIVER, HK_CARRIER, PALLET, "seller-a"),
                             CHAIN_ERR_BAD_STATE);
    /* deliver to nobody */
    EXPECT_REFUSED_UNCHANGED(e, by_sscc(e, CHAIN_TX_DELIVER, HK_CARRIER, PALLET, "nobody"),
                             CHAIN_ERR_UNKNOWN_PARTICIPANT);
}

static void test_move_unknown_or_empty_parent_refused(void **state)
{
    hc_env *e = *state;
    EXPECT_REFUSED_UNCHANGED(e, by_sscc(e, CHAIN_TX_PICKUP, HK_CARRIER, OTHER, NULL),
                             CHAIN_ERR_UNKNOWN_PARENT);
    assert_int_equal(hc_mint(e, HK_BRAND, HC_GTIN, "L1", "P", 2), CHAIN_OK);
    assert_int_equal(pack_units(e, HK_BRAND, PALLET, "P", 0, 1), CHAIN_OK);
    assert_int_equal(by_sscc(e, CHAIN_TX_UNPACK, HK_BRAND, PALLET, NULL), CHAIN_OK);
    EXPECT_REFUSED_UNCHANGED(e, by_sscc(e, CHAIN_TX_PICKUP, HK_CARRIER, PALLET, NULL),
                             CHAIN_ERR_EMPTY_PARENT);
}

static void test_unpack_refusals(void **state)
{
    hc_env *e = *state;
    EXPECT_REFUSED_UNCHANGED(e, by_sscc(e, CHAIN_TX_UNPACK, HK_BRAND, OTHER, NULL),
                             CHAIN_ERR_UNKNOWN_PARENT);
    assert_int_equal(hc_mint(e, HK_BRAND, HC_GTIN, "L1", "P", 2), CHAIN_OK);
    assert_int_equal(pack_units(e, HK_BRAND, PALLET, "P", 0, 2), CHAIN_OK);
    EXPECT_REFUSED_UNCHANGED(e, by_sscc(e, CHAIN_TX_UNPACK, HK_SELLER, PALLET, NULL),
                             CHAIN_ERR_NOT_HOLDER);
    assert_int_equal(by_sscc(e, CHAIN_TX_UNPACK, HK_BRAND, PALLET, NULL), CHAIN_OK);
    EXPECT_REFUSED_UNCHANGED(e, by_sscc(e, CHAIN_TX_UNPACK, HK_BRAND, PALLET, NULL),
                             CHAIN_ERR_EMPTY_PARENT);
}

static void test_pack_cycle_refused(void **state)
{
    hc_env *e = *state;
    assert_int_equal(hc_mint(e, HK_BRAND, HC_GTIN, "L1", "P", 2), CHAIN_OK);
    assert_int_equal(pack_units(e, HK_BRAND, CASE1, "P", 0, 1), CHAIN_OK);
    /* directly */
    EXPECT_REFUSED_UNCHANGED(e, pack_parent(e, HK_BRAND, CASE1, CASE1), CHAIN_ERR_PACK_CYCLE);
    /* through nesting: CASE1 on PALLET, then PALLET into CASE1 */
    assert_int_equal(pack_parent(e, HK_BRAND, PALLET, CASE1), CHAIN_OK);
    EXPECT_REFUSED_UNCHANGED(e, pack_parent(e, HK_BRAND, CASE1, PALLET), CHAIN_ERR_PACK_CYCLE);
    /* two levels up */
    assert_int_equal(pack_parent(e, HK_BRAND, CASE2, PALLET), CHAIN_OK);
    EXPECT_REFUSED_UNCHANGED(e, pack_parent(e, HK_BRAND, CASE1, CASE2), CHAIN_ERR_PACK_CYCLE);
}

static void test_pack_child_parent_refusals(void **state)
{
    hc_env *e = *state;
    assert_int_equal(hc_mint(e, HK_BRAND, HC_GTIN, "L1", "P", 2), CHAIN_OK);
    EXPECT_REFUSED_UNCHANGED(e, pack_parent(e, HK_BRAND, PALLET, CASE1), CHAIN_ERR_UNKNOWN_PARENT);
    assert_int_equal(pack_units(e, HK_BRAND, CASE1, "P", 0, 1), CHAIN_OK);
    assert_int_equal(by_sscc(e, CHAIN_TX_UNPACK, HK_BRAND, CASE1, NULL), CHAIN_OK);
    EXPECT_REFUSED_UNCHANGED(e, pack_parent(e, HK_BRAND, PALLET, CASE1), CHAIN_ERR_EMPTY_PARENT);
    /* a case someone else holds */
    assert_int_equal(pack_units(e, HK_BRAND, CASE1, "P", 0, 1), CHAIN_OK);
    assert_int_equal(by_sscc(e, CHAIN_TX_PICKUP, HK_CARRIER, CASE1, NULL), CHAIN_OK);
    assert_int_equal(pack_units(e, HK_BRAND, CASE2, "P", 1, 1), CHAIN_OK);
    EXPECT_REFUSED_UNCHANGED(e, pack_parent(e, HK_BRAND, CASE2, CASE1), CHAIN_ERR_NOT_HOLDER);
}

/* CHAIN_PACK_DEPTH_MAX levels accepted, one more refused. */
static void test_pack_depth_at_and_past_limit(void **state)
{
    hc_env *e = *state;
    static const char *levels[] = {"009506000134350004", "009506000134350011", "009506000134350028",
                                   "309506000134350005", "109506000134350001"};
    _Static_assert(CHAIN_PACK_DEPTH_MAX == 4, "five SSCCs: the limit and one past it");
    assert_int_equal(hc_mint(e, HK_BRAND, HC_GTIN, "L1", "P", 2), CHAIN_OK);
    assert_int_equal(pack_units(e, HK_BRAND, levels[0], "P", 0, 1), CHAIN_OK);
    for (int i = 1; i < CHAIN_PACK_DEPTH_MAX; i++)
        assert_int_equal(pack_parent(e, HK_BRAND, levels[i], levels[i - 1]), CHAIN_OK);
    assert_int_equal(parent_of(e, levels[3]).depth, CHAIN_PACK_DEPTH_MAX);
    EXPECT_REFUSED_UNCHANGED(e, pack_parent(e, HK_BRAND, levels[4], levels[3]),
                             CHAIN_ERR_PACK_DEPTH);
    /* the deepest tree still moves, every unit with it */
    assert_int_equal(by_sscc(e, CHAIN_TX_PICKUP, HK_CARRIER, levels[3], NULL), CHAIN_OK);
    assert_int_equal(hc_get_unit(e, HC_GTIN, "P0").state, CHAIN_UNIT_IN_TRANSIT);
    assert_string_equal(parent_of(e, levels[0]).holder, "carrier-a");
}

/* CHAIN_PACK_UNITS_MAX units in one parent accepted, one more refused (as a
 * unit, and through a nested case); the full parent moves in one tx. */
static void test_pack_units_at_and_past_limit(void **state)
{
    hc_env *e = *state;
    const size_t max = CHAIN_PACK_UNITS_MAX;
    assert_int_equal(hc_mint(e, HK_BRAND, HC_GTIN, "L1", "P", max), CHAIN_OK);
    assert_int_equal(hc_mint(e, HK_BRAND, HC_GTIN, "L1", "Q", 2), CHAIN_OK);
    assert_int_equal(hc_mint(e, HK_BRAND, HC_GTIN, "L1", "R", 2), CHAIN_OK);
    assert_int_equal(pack_units(e, HK_BRAND, PALLET, "P", 0, max - 1), CHAIN_OK);
    assert_int_equal(pack_units(e, HK_BRAND, CASE1, "Q", 0, 2), CHAIN_OK);
    EXPECT_REFUSED_UNCHANGED(e, pack_parent(e, HK_BRAND, PALLET, CASE1), CHAIN_ERR_PACK_FULL);
    assert_int_equal(pack_units(e, HK_BRAND, PALLET, "P", max - 1, 1), CHAIN_OK);
    assert_int_equal(parent_of(e, PALLET).total, max);
    EXPECT_REFUSED_UNCHANGED(e, pack_units(e, HK_BRAND, PALLET, "R", 0, 1), CHAIN_ERR_PACK_FULL);
    /* a tx naming a unit as well as the full parent: over the per-tx bound */
    chain_tx both = hc_tx(CHAIN_TX_PICKUP);
    gs1_sgtin r0 = hc_unit(HC_GTIN, "R0");
    both.units = &r0;
    both.nunits = 1;
    snprintf(both.sscc, sizeof both.sscc, "%s", PALLET);
    EXPECT_REFUSED_UNCHANGED(e, hc_apply1(e, HK_CARRIER, &both, NULL), CHAIN_ERR_TOO_LARGE);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(by_sscc(e, CHAIN_TX_PICKUP, HK_CARRIER, PALLET, NULL), CHAIN_OK);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    printf("pickup of a parent of %zu units: %.0f ms (one block, one tx)\n", max,
           (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
    assert_int_equal(hc_get_unit(e, HC_GTIN, "P9999").state, CHAIN_UNIT_IN_TRANSIT);
}

/* Ledgers are equal whether blocks are applied or replayed, with parents in them. */
static void test_pack_state_replays_equal(void **state)
{
    hc_env *e = *state;
    assert_int_equal(hc_mint(e, HK_BRAND, HC_GTIN, "L1", "P", 4), CHAIN_OK);
    assert_int_equal(pack_units(e, HK_BRAND, CASE1, "P", 0, 2), CHAIN_OK);
    assert_int_equal(pack_units(e, HK_BRAND, PALLET, "P", 2, 2), CHAIN_OK);
    assert_int_equal(pack_parent(e, HK_BRAND, PALLET, CASE1), CHAIN_OK);
    assert_int_equal(by_sscc(e, CHAIN_TX_PICKUP, HK_CARRIER, PALLET, NULL), CHAIN_OK);
    hc_env twin;
    hc_setup_twin(&twin, e);
    hc_catch_up(&twin, e, 3);
    uint8_t *a, *b;
    size_t la, lb;
    hc_dump(e, &a, &la);
    hc_dump(&twin, &b, &lb);
    assert_int_equal(la, lb);
    assert_memory_equal(a, b, la);
    assert_memory_equal(hc_get_head(e).state_digest, hc_get_head(&twin).state_digest, 32);
    free(a);
    free(b);
    hc_teardown(&twin);
}

typedef struct kids {
    int units, parents, stop_after; /* stop_after 0: never */
    char last_unit[GS1_SERIAL_MAX + 1], last_parent[GS1_SSCC_LEN + 1];
} kids;

static int on_child(void *ctx, const gs1_sgtin *unit, const char *sscc)
{
    kids *k = ctx;
    if (unit != NULL) {
        assert_null(sscc);
        k->units++;
        snprintf(k->last_unit, sizeof k->last_unit, "%s", unit->serial);
    } else {
        assert_non_null(sscc);
        k->parents++;
        snprintf(k->last_parent, sizeof k->last_parent, "%s", sscc);
    }
    return k->stop_after && k->units + k->parents >= k->stop_after;
}

/* chain_parent_children lists a parent's units, then its parents; it stops
 * when the callback asks; an unknown or invalid SSCC is not found. */
static void test_parent_children_listed(void **state)
{
    hc_env *e = *state;
    assert_int_equal(hc_mint(e, HK_BRAND, HC_GTIN, "L1", "K", 3), CHAIN_OK);
    assert_int_equal(pack_units(e, HK_BRAND, CASE1, "K", 0, 2), CHAIN_OK);
    assert_int_equal(pack_units(e, HK_BRAND, CASE2, "K", 2, 1), CHAIN_OK);
    const char *both[2] = {CASE1, CASE2};
    assert_int_equal(pack(e, HK_BRAND, PALLET, NULL, 0, both, 2, NULL), CHAIN_OK);
    chain_rd *rd;
    assert_int_equal(chain_rd_begin(e->c, &rd), CHAIN_OK);
    kids k = {0};
    assert_int_equal(chain_parent_children(rd, CASE1, on_child, &k), CHAIN_OK);
    assert_int_equal(k.units, 2);
    assert_int_equal(k.parents, 0);
    assert_string_equal(k.last_unit, "K1");
    memset(&k, 0, sizeof k);
    assert_int_equal(chain_parent_children(rd, PALLET, on_child, &k), CHAIN_OK);
    assert_int_equal(k.units, 0);
    assert_int_equal(k.parents, 2);
    assert_string_equal(k.last_parent, CASE2);
    memset(&k, 0, sizeof k);
    k.stop_after = 1;
    assert_int_equal(chain_parent_children(rd, CASE1, on_child, &k), CHAIN_OK);
    assert_int_equal(k.units, 1);
    memset(&k, 0, sizeof k);
    assert_int_equal(chain_parent_children(rd, CASE3, on_child, &k), CHAIN_ERR_NOT_FOUND);
    assert_int_equal(chain_parent_children(rd, "309506000134350006", on_child, &k),
                     CHAIN_ERR_NOT_FOUND); /* a wrong check digit */
    assert_int_equal(chain_parent_children(rd, "3095", on_child, &k), CHAIN_ERR_NOT_FOUND);
    assert_int_equal(k.units + k.parents, 0);
    chain_rd_end(rd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_pack_by_custodian_accepted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pack_not_custodian_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pack_unknown_unit_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pack_sold_or_destroyed_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_packed_unit_frozen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_move_parent_moves_every_unit_nested, setup, teardown),
        cmocka_unit_test_setup_teardown(test_move_parent_all_or_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_move_unknown_or_empty_parent_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unpack_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pack_cycle_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pack_child_parent_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pack_depth_at_and_past_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pack_units_at_and_past_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pack_state_replays_equal, setup, teardown),
        cmocka_unit_test_setup_teardown(test_parent_children_listed, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
