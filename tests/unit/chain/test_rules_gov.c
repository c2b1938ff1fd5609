/* Governance and scans rules: participant.add/revoke/rotate, node.add/remove,
 * policy.set with the lot → gtin → brand → genesis merge, revoked signers,
 * and scans batches folded into per-unit aggregates. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>

#include "chain/geo.h"
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

static int add_participant(hc_env *e, int who, const char *id, int role, const uint8_t key[32])
{
    chain_tx tx = hc_tx(CHAIN_TX_PARTICIPANT_ADD);
    snprintf(tx.id, sizeof tx.id, "%s", id);
    snprintf(tx.name, sizeof tx.name, "Name of %s", id);
    tx.role = role;
    tx.has_key = true;
    memcpy(tx.key, key, 32);
    memcpy(tx.regions[0], "DE", 3);
    tx.nregions = 1;
    return hc_apply1(e, who, &tx, NULL);
}

static int by_id(hc_env *e, int type, int who, const char *id, const uint8_t *key)
{
    chain_tx tx = hc_tx(type);
    snprintf(tx.id, sizeof tx.id, "%s", id);
    if (key != NULL) {
        tx.has_key = true;
        memcpy(tx.key, key, 32);
    }
    return hc_apply1(e, who, &tx, NULL);
}

static int pickup(hc_env *e, int who, const char *serial)
{
    gs1_sgtin u = hc_unit(HC_GTIN, serial);
    chain_tx tx = hc_tx(CHAIN_TX_PICKUP);
    tx.units = &u;
    tx.nunits = 1;
    return hc_apply1(e, who, &tx, NULL);
}

static void test_participant_add_registers_role(void **state)
{
    hc_env *e = *state;
    uint8_t sk[32], pub[32];
    assert_int_equal(chain_key_generate(sk, pub), CHAIN_OK);
    assert_int_equal(add_participant(e, HK_BRAND, "carrier-new", CHAIN_ROLE_CARRIER, pub),
                     CHAIN_OK);
    chain_rd *rd;
    chain_participant p;
    assert_int_equal(chain_rd_begin(e->c, &rd), CHAIN_OK);
    assert_int_equal(chain_participant_get(rd, &p, "carrier-new"), CHAIN_OK);
    assert_int_equal(p.role, CHAIN_ROLE_CARRIER);
    assert_int_equal(p.nregions, 1);
    assert_false(p.revoked);
    assert_int_equal(chain_participant_by_key(rd, &p, pub), CHAIN_OK);
    assert_string_equal(p.id, "carrier-new");
    chain_rd_end(rd);
}

static void test_participant_add_by_carrier_refused_wrong_role(void **state)
{
    hc_env *e = *state;
    uint8_t sk[32], pub[32];
    assert_int_equal(chain_key_generate(sk, pub), CHAIN_OK);
    assert_int_equal(add_participant(e, HK_CARRIER, "x", CHAIN_ROLE_CARRIER, pub),
                     CHAIN_ERR_WRONG_ROLE);
    assert_int_equal(add_participant(e, HK_ALICE, "x", CHAIN_ROLE_CARRIER, pub),
                     CHAIN_ERR_UNKNOWN_SIGNER);
}

static void test_participant_add_duplicate_id_or_key_refused(void **state)
{
    hc_env *e = *state;
    uint8_t sk[32], pub[32];
    assert_int_equal(chain_key_generate(sk, pub), CHAIN_OK);
    assert_int_equal(add_participant(e, HK_BRAND, "carrier-a", CHAIN_ROLE_CARRIER, pub),
                     CHAIN_ERR_DUPLICATE_PARTICIPANT);
    assert_int_equal(add_participant(e, HK_BRAND, "fresh", CHAIN_ROLE_CARRIER, e->pub[HK_SELLER]),
                     CHAIN_ERR_DUPLICATE_PARTICIPANT);
    assert_int_equal(add_participant(e, HK_BRAND, "fresh", CHAIN_ROLE_CARRIER, e->pub[HK_NODE]),
                     CHAIN_ERR_DUPLICATE_PARTICIPANT);
}

static void test_revoked_participant_signs_nothing_revoked_signer(void **state)
{
    hc_env *e = *state;
    assert_int_equal(hc_mint(e, HK_BRAND, HC_GTIN, "L", "A", 1), CHAIN_OK);
    assert_int_equal(by_id(e, CHAIN_TX_PARTICIPANT_REVOKE, HK_CARRIER, "carrier-a", NULL),
                     CHAIN_ERR_WRONG_ROLE);
    assert_int_equal(by_id(e, CHAIN_TX_PARTICIPANT_REVOKE, HK_BRAND, "nobody", NULL),
                     CHAIN_ERR_UNKNOWN_PARTICIPANT);
    assert_int_equal(by_id(e, CHAIN_TX_PARTICIPANT_REVOKE, HK_BRAND, "carrier-a", NULL), CHAIN_OK);
    assert_int_equal(pickup(e, HK_CARRIER, "A"), CHAIN_ERR_REVOKED_SIGNER);
    assert_int_equal(by_id(e, CHAIN_TX_PARTICIPANT_REVOKE, HK_BRAND, "carrier-a", NULL),
                     CHAIN_ERR_BAD_STATE);
    chain_rd *rd;
    chain_participant p;
    assert_int_equal(chain_rd_begin(e->c, &rd), CHAIN_OK);
    assert_int_equal(chain_participant_get(rd, &p, "carrier-a"), CHAIN_OK);
    assert_true(p.revoked);
    chain_rd_end(rd);
}

static void test_brand_cannot_revoke_other_brand_admin(void **state)
{
    hc_env *e = *state;
    assert_int_equal(by_id(e, CHAIN_TX_PARTICIPANT_REVOKE, HK_BRAND, "bolt", NULL),
                     CHAIN_ERR_WRONG_ROLE);
}

static void test_rotate_by_self_old_key_refused_new_key_works(void **state)
{
    hc_env *e = *state;
    assert_int_equal(hc_mint(e, HK_BRAND, HC_GTIN, "L", "A", 1), CHAIN_OK);
    uint8_t sk[32], pub[32];
    assert_int_equal(chain_key_generate(sk, pub), CHAIN_OK);
    assert_int_equal(by_id(e, CHAIN_TX_PARTICIPANT_ROTATE, HK_CARRIER2, "carrier-a", pub),
                     CHAIN_ERR_WRONG_ROLE);
    assert_int_equal(
        by_id(e, CHAIN_TX_PARTICIPANT_ROTATE, HK_CARRIER, "carrier-a", e->pub[HK_SELLER]),
        CHAIN_ERR_DUPLICATE_PARTICIPANT);
    assert_int_equal(by_id(e, CHAIN_TX_PARTICIPANT_ROTATE, HK_CARRIER, "carrier-a", pub), CHAIN_OK);
    assert_int_equal(pickup(e, HK_CARRIER, "A"), CHAIN_ERR_REVOKED_SIGNER);
    /* the new key is carrier-a now */
    memcpy(e->sk[HK_CARRIER], sk, 32);
    memcpy(e->pub[HK_CARRIER], pub, 32);
    e->next[HK_CARRIER] = 1;
    assert_int_equal(pickup(e, HK_CARRIER, "A"), CHAIN_OK);
    assert_string_equal(hc_get_unit(e, HC_GTIN, "A").holder, "carrier-a");
}

static void test_rotate_by_brand_allowed(void **state)
{
    hc_env *e = *state;
    uint8_t sk[32], pub[32];
    assert_int_equal(chain_key_generate(sk, pub), CHAIN_OK);
    assert_int_equal(by_id(e, CHAIN_TX_PARTICIPANT_ROTATE, HK_BRAND, "seller-a", pub), CHAIN_OK);
    assert_int_equal(by_id(e, CHAIN_TX_PARTICIPANT_ROTATE, HK_BRAND, "nobody", e->pub[HK_EVE]),
                     CHAIN_ERR_UNKNOWN_PARTICIPANT);
}

static int node_add(hc_env *e, int who, uint64_t id, const uint8_t *key, const char *op)
{
    chain_tx tx = hc_tx(CHAIN_TX_NODE_ADD);
    tx.node_id = id;
    tx.has_key = true;
    memcpy(tx.key, key, 32);
    snprintf(tx.name, sizeof tx.name, "%s", op);
    snprintf(tx.raft_addr, sizeof tx.raft_addr, "tcp://127.0.0.1:%llu",
             (unsigned long long)(7100 + id));
    snprintf(tx.http_addr, sizeof tx.http_addr, "http://127.0.0.1:%llu",
             (unsigned long long)(8100 + id));
    return hc_apply1(e, who, &tx, NULL);
}

static int node_remove(hc_env *e, int who, uint64_t id)
{
    chain_tx tx = hc_tx(CHAIN_TX_NODE_REMOVE);
    tx.node_id = id;
    return hc_apply1(e, who, &tx, NULL);
}

static void test_node_add_remove_sets_members_changed(void **state)
{
    hc_env *e = *state;
    uint8_t sk[32], pub[32];
    assert_int_equal(chain_key_generate(sk, pub), CHAIN_OK);
    chain_tx tx = hc_tx(CHAIN_TX_NODE_ADD);
    tx.node_id = 3;
    tx.has_key = true;
    memcpy(tx.key, pub, 32);
    snprintf(tx.name, sizeof tx.name, "seller-a");
    snprintf(tx.raft_addr, sizeof tx.raft_addr, "tcp://127.0.0.1:7103");
    snprintf(tx.http_addr, sizeof tx.http_addr, "http://127.0.0.1:8103");
    uint8_t *buf;
    size_t len;
    hc_encode(e, HK_BRAND, &tx, &buf, &len);
    chain_apply_result res;
    assert_int_equal(hc_block(e, &res, &buf, &len, 1), CHAIN_OK);
    assert_int_equal(res.receipts[0].code, CHAIN_OK);
    assert_true(res.members_changed);
    chain_apply_result_free(&res);
    chain_rd *rd;
    chain_node_info nodes[8];
    assert_int_equal(chain_rd_begin(e->c, &rd), CHAIN_OK);
    assert_int_equal(chain_nodes(rd, nodes, 8), 3);
    assert_int_equal(nodes[2].id, 3);
    assert_string_equal(nodes[2].operator_id, "seller-a");
    chain_rd_end(rd);
    assert_int_equal(node_add(e, HK_BRAND, 3, e->pub[HK_EVE], "acme"), CHAIN_ERR_DUPLICATE_NODE);
    assert_int_equal(node_add(e, HK_BRAND, 4, pub, "acme"), CHAIN_ERR_DUPLICATE_NODE);
    assert_int_equal(node_add(e, HK_BRAND, 4, e->pub[HK_EVE], "nobody"),
                     CHAIN_ERR_UNKNOWN_PARTICIPANT);
    assert_int_equal(node_add(e, HK_CARRIER, 4, e->pub[HK_EVE], "acme"), CHAIN_ERR_WRONG_ROLE);
    assert_int_equal(node_remove(e, HK_BRAND, 9), CHAIN_ERR_UNKNOWN_NODE);
    assert_int_equal(node_remove(e, HK_BRAND, 2), CHAIN_OK);
    assert_int_equal(node_remove(e, HK_BRAND, 2), CHAIN_ERR_UNKNOWN_NODE);
    assert_int_equal(node_remove(e, HK_BRAND, 3), CHAIN_OK);
    assert_int_equal(node_remove(e, HK_BRAND, 1), CHAIN_ERR_BAD_STATE); /* the last one */
    assert_int_equal(chain_rd_begin(e->c, &rd), CHAIN_OK);
    assert_int_equal(chain_nodes(rd, nodes, 8), 1);
    chain_rd_end(rd);
}

/* CHAIN_NODES_MAX nodes not removed: adding up to it works, one more is
 * refused bad_state, and a removed node frees its place. */
static void test_node_add_at_limit_then_refused(void **state)
{
    hc_env *e = *state;
    uint8_t sk[32], pub[CHAIN_NODES_MAX + 3][32];
    for (uint64_t id = 3; id <= CHAIN_NODES_MAX + 2; id++)
        assert_int_equal(chain_key_generate(sk, pub[id]), CHAIN_OK);
    for (uint64_t id = 3; id <= CHAIN_NODES_MAX; id++) /* nodes 1 and 2 are the genesis's */
        assert_int_equal(node_add(e, HK_BRAND, id, pub[id], "acme"), CHAIN_OK);
    chain_rd *rd;
    chain_node_info nodes[CHAIN_NODES_MAX + 1];
    assert_int_equal(chain_rd_begin(e->c, &rd), CHAIN_OK);
    assert_int_equal(chain_nodes(rd, nodes, CHAIN_NODES_MAX + 1), CHAIN_NODES_MAX);
    chain_rd_end(rd);
    char detail[256] = "";
    chain_tx tx = hc_tx(CHAIN_TX_NODE_ADD);
    tx.node_id = CHAIN_NODES_MAX + 1;
    tx.has_key = true;
    memcpy(tx.key, pub[CHAIN_NODES_MAX + 1], 32);
    snprintf(tx.name, sizeof tx.name, "acme");
    snprintf(tx.raft_addr, sizeof tx.raft_addr, "tcp://127.0.0.1:7999");
    snprintf(tx.http_addr, sizeof tx.http_addr, "http://127.0.0.1:8999");
    assert_int_equal(hc_apply1(e, HK_BRAND, &tx, detail), CHAIN_ERR_BAD_STATE);
    assert_non_null(strstr(detail, "16 nodes"));
    assert_int_equal(node_remove(e, HK_BRAND, 5), CHAIN_OK);
    assert_int_equal(node_add(e, HK_BRAND, CHAIN_NODES_MAX + 1, pub[CHAIN_NODES_MAX + 1], "acme"),
                     CHAIN_OK);
    assert_int_equal(node_add(e, HK_BRAND, CHAIN_NODES_MAX + 2, pub[CHAIN_NODES_MAX + 2], "acme"),
                     CHAIN_ERR_BAD_STATE);
    assert_int_equal(chain_rd_begin(e->c, &rd), CHAIN_OK);
    assert_int_equal(chain_nodes(rd, nodes, CHAIN_NODES_MAX + 1), CHAIN_NODES_MAX);
    chain_rd_end(rd);
}

static int node_rotate(hc_env *e, int who, uint64_t id, const uint8_t *der, size_t len)
{
    chain_tx tx = hc_tx(CHAIN_TX_NODE_ROTATE);
    tx.node_id = id;
    memcpy(tx.tls, der, len);
    tx.tls_len = len;
    return hc_apply1(e, who, &tx, NULL);
}

/* A brand adds another admin key of its own brand; another brand may not
 * revoke or rotate it; a revoked participant's key cannot be rotated; a
 * removed node can be neither removed again, rotated nor re-added under
 * its id; a node's operator must be a participant that is not revoked. */
static void test_governance_edges(void **state)
{
    hc_env *e = *state;
    uint8_t sk[32], admin[32], other[32], node[32];
    assert_int_equal(chain_key_generate(sk, admin), CHAIN_OK);
    assert_int_equal(chain_key_generate(sk, other), CHAIN_OK);
    assert_int_equal(chain_key_generate(sk, node), CHAIN_OK);
    assert_int_equal(add_participant(e, HK_BRAND, "acme-ops", CHAIN_ROLE_BRAND, admin), CHAIN_OK);
    chain_rd *rd;
    chain_participant p;
    assert_int_equal(chain_rd_begin(e->c, &rd), CHAIN_OK);
    assert_int_equal(chain_participant_get(rd, &p, "acme-ops"), CHAIN_OK);
    assert_string_equal(p.brand, "acme"); /* an admin of the signer's brand */
    chain_rd_end(rd);
    assert_int_equal(by_id(e, CHAIN_TX_PARTICIPANT_REVOKE, HK_BRAND2, "acme-ops", NULL),
                     CHAIN_ERR_WRONG_ROLE);
    assert_int_equal(by_id(e, CHAIN_TX_PARTICIPANT_ROTATE, HK_BRAND2, "acme-ops", other),
                     CHAIN_ERR_WRONG_ROLE);
    /* revoked: revoking again and rotating its key are refused */
    assert_int_equal(by_id(e, CHAIN_TX_PARTICIPANT_REVOKE, HK_BRAND, "seller-b", NULL), CHAIN_OK);
    assert_int_equal(by_id(e, CHAIN_TX_PARTICIPANT_REVOKE, HK_BRAND, "seller-b", NULL),
                     CHAIN_ERR_BAD_STATE);
    assert_int_equal(by_id(e, CHAIN_TX_PARTICIPANT_ROTATE, HK_BRAND, "seller-b", other),
                     CHAIN_ERR_BAD_STATE);
    /* a node operated by a revoked participant, or by nobody, is refused */
    assert_int_equal(node_add(e, HK_BRAND, 5, node, "seller-b"), CHAIN_ERR_UNKNOWN_PARTICIPANT);
    assert_int_equal(node_add(e, HK_BRAND, 5, node, "nobody"), CHAIN_ERR_UNKNOWN_PARTICIPANT);
    /* removed node 2: gone for remove, rotate and add under its id */
    assert_int_equal(node_remove(e, HK_BRAND, 2), CHAIN_OK);
    assert_int_equal(node_remove(e, HK_BRAND, 2), CHAIN_ERR_UNKNOWN_NODE);
    uint8_t der[CHAIN_TLS_CERT_MAX];
    size_t der_len;
    char *pem;
    assert_int_equal(chain_tls_key_new(&pem, der, &der_len, "node 2"), CHAIN_OK);
    free(pem);
    assert_int_equal(node_rotate(e, HK_BRAND, 2, der, der_len), CHAIN_ERR_UNKNOWN_NODE);
    assert_int_equal(node_add(e, HK_BRAND, 2, node, "acme"), CHAIN_ERR_DUPLICATE_NODE);
    /* and the last live node cannot be removed */
    assert_int_equal(node_remove(e, HK_BRAND, 1), CHAIN_ERR_BAD_STATE);
}

/* node.rotate: brand only, a live node, a key pinned for no node (node.add's
 * and its own included); the new certificate replaces the pin. */
static void test_node_rotate_pins_a_fresh_key(void **state)
{
    hc_env *e = *state;
    uint8_t a[CHAIN_TLS_CERT_MAX], b[CHAIN_TLS_CERT_MAX];
    size_t al, bl;
    char *pem;
    assert_int_equal(chain_tls_key_new(&pem, a, &al, "a"), CHAIN_OK);
    free(pem);
    assert_int_equal(chain_tls_key_new(&pem, b, &bl, "b"), CHAIN_OK);
    free(pem);
    assert_int_equal(node_rotate(e, HK_CARRIER, 1, a, al), CHAIN_ERR_WRONG_ROLE);
    assert_int_equal(node_rotate(e, HK_BRAND, 9, a, al), CHAIN_ERR_UNKNOWN_NODE);
    assert_int_equal(node_rotate(e, HK_BRAND, 1, a, al), CHAIN_OK);
    chain_rd *rd;
    chain_node_info n;
    assert_int_equal(chain_rd_begin(e->c, &rd), CHAIN_OK);
    assert_int_equal(chain_node_get(rd, 1, &n), CHAIN_OK);
    chain_rd_end(rd);
    assert_int_equal(n.tls_len, al);
    assert_memory_equal(n.tls, a, al);
    /* the same key again, for itself or another node: refused */
    assert_int_equal(node_rotate(e, HK_BRAND, 1, a, al), CHAIN_ERR_DUPLICATE_NODE);
    assert_int_equal(node_rotate(e, HK_BRAND, 2, a, al), CHAIN_ERR_DUPLICATE_NODE);
    /* node.add with a pinned key: refused; with a fresh one: pinned */
    uint8_t sk[32], pub[32];
    assert_int_equal(chain_key_generate(sk, pub), CHAIN_OK);
    chain_tx tx = hc_tx(CHAIN_TX_NODE_ADD);
    tx.node_id = 5;
    tx.has_key = true;
    memcpy(tx.key, pub, 32);
    snprintf(tx.name, sizeof tx.name, "acme");
    snprintf(tx.raft_addr, sizeof tx.raft_addr, "tls+tcp://127.0.0.1:7105");
    snprintf(tx.http_addr, sizeof tx.http_addr, "http://127.0.0.1:8105");
    memcpy(tx.tls, a, al);
    tx.tls_len = al;
    assert_int_equal(hc_apply1(e, HK_BRAND, &tx, NULL), CHAIN_ERR_DUPLICATE_NODE);
    memcpy(tx.tls, b, bl);
    tx.tls_len = bl;
    assert_int_equal(hc_apply1(e, HK_BRAND, &tx, NULL), CHAIN_OK);
    assert_int_equal(chain_rd_begin(e->c, &rd), CHAIN_OK);
    assert_int_equal(chain_node_get(rd, 5, &n), CHAIN_OK);
    chain_rd_end(rd);
    assert_int_equal(n.tls_len, bl);
    assert_memory_equal(n.tls, b, bl);
    /* a removed node cannot be rotated */
    assert_int_equal(node_remove(e, HK_BRAND, 5), CHAIN_OK);
    assert_int_equal(chain_tls_key_new(&pem, b, &bl, "c"), CHAIN_OK);
    free(pem);
    assert_int_equal(node_rotate(e, HK_BRAND, 5, b, bl), CHAIN_ERR_UNKNOWN_NODE);
}

static int policy_set(hc_env *e, int who, const char *gtin, const char *lot, chain_policy p)
{
    chain_tx tx = hc_tx(CHAIN_TX_POLICY_SET);
    snprintf(tx.gtin, sizeof tx.gtin, "%s", gtin);
    snprintf(tx.lot, sizeof tx.lot, "%s", lot);
    tx.policy = p;
    return hc_apply1(e, who, &tx, NULL);
}

static void test_policy_set_merges_lot_gtin_brand_genesis(void **state)
{
    hc_env *e = *state;
    chain_policy p = {0};
    p.max_clients = 9;
    assert_int_equal(policy_set(e, HK_BRAND, "", "", p), CHAIN_OK);
    memset(&p, 0, sizeof p);
    p.travel_kmh = 500;
    assert_int_equal(policy_set(e, HK_BRAND, HC_GTIN, "", p), CHAIN_OK);
    memset(&p, 0, sizeof p);
    p.warranty_months = 36;
    p.unsold_scan_suspicious = 1;
    assert_int_equal(policy_set(e, HK_BRAND, HC_GTIN, "L7", p), CHAIN_OK);
    /* a second override at the same scope merges field by field */
    memset(&p, 0, sizeof p);
    p.probe_threshold = 3;
    assert_int_equal(policy_set(e, HK_BRAND, HC_GTIN, "L7", p), CHAIN_OK);
    chain_rd *rd;
    chain_policy eff;
    assert_int_equal(chain_rd_begin(e->c, &rd), CHAIN_OK);
    chain_policy_effective(rd, &eff, HC_GTIN, "L7");
    assert_int_equal(eff.warranty_months, 36);
    assert_int_equal(eff.probe_threshold, 3);
    assert_int_equal(eff.unsold_scan_suspicious, 1);
    assert_int_equal(eff.travel_kmh, 500);
    assert_int_equal(eff.max_clients, 9);
    chain_policy_effective(rd, &eff, HC_GTIN, "OTHER");
    assert_int_equal(eff.warranty_months, 24);
    assert_int_equal(eff.travel_kmh, 500);
    chain_policy_effective(rd, &eff, HC_GTIN2, "");
    assert_int_equal(eff.travel_kmh, e->g->policy.travel_kmh);
    assert_int_equal(eff.max_clients, 9);
    chain_policy_effective(rd, &eff, HC_GTIN_BOLT, "");
    assert_int_equal(eff.max_clients, e->g->policy.max_clients); /* another brand */
    chain_rd_end(rd);
    /* mint with warranty 0 takes the effective policy of its lot */
    assert_int_equal(hc_mint(e, HK_BRAND, HC_GTIN, "L7", "W", 1), CHAIN_OK);
    assert_int_equal(hc_get_unit(e, HC_GTIN, "W").warranty_months, 36);
}

static void test_policy_set_for_other_brands_gtin_refused_bad_gtin(void **state)
{
    hc_env *e = *state;
    chain_policy p = {0};
    p.max_clients = 2;
    assert_int_equal(policy_set(e, HK_BRAND, HC_GTIN_BOLT, "", p), CHAIN_ERR_BAD_GTIN);
    assert_int_equal(policy_set(e, HK_SELLER, "", "", p), CHAIN_ERR_WRONG_ROLE);
}

static chain_scan scan_of(const char *serial, int kind, uint64_t t, const char *region, int client)
{
    chain_scan s;
    memset(&s, 0, sizeof s);
    s.kind = (uint8_t)kind;
    s.id = hc_unit(HC_GTIN, serial);
    s.time = t;
    snprintf(s.region, sizeof s.region, "%s", region);
    memset(s.client, client, 16);
    if (kind == CHAIN_SCAN_REPORT)
        snprintf(s.note, sizeof s.note, "looks fake");
    return s;
}

static void test_scans_by_node_fold_into_stats(void **state)
{
    hc_env *e = *state;
    assert_int_equal(hc_mint(e, HK_BRAND, HC_GTIN, "L1", "S", 1), CHAIN_OK);
    chain_scan sc[5] = {
        scan_of("S", CHAIN_SCAN_SCAN, 1000, "DE", 1),
        scan_of("S", CHAIN_SCAN_SCAN, 1100, "US", 2), /* outside DE/FR markets */
        scan_of("S", CHAIN_SCAN_SCAN, 900, "FR", 1),  /* earlier, same client */
        scan_of("S", CHAIN_SCAN_REPORT, 1200, "", 3),
        scan_of("UNKNOWN", CHAIN_SCAN_SCAN, 1300, "DE", 4),
    };
    chain_tx tx = hc_tx(CHAIN_TX_SCANS);
    tx.scans = sc;
    tx.nscans = 5;
    tx.dropped = 2;
    assert_int_equal(hc_apply1(e, HK_CARRIER, &tx, NULL), CHAIN_ERR_WRONG_ROLE);
    tx.time = 0;
    tx.nonce = 0;
    assert_int_equal(hc_apply1(e, HK_NODE, &tx, NULL), CHAIN_OK);
    chain_rd *rd;
    chain_scan_stats st;
    assert_int_equal(chain_rd_begin(e->c, &rd), CHAIN_OK);
    assert_int_equal(chain_scan_stats_get(rd, &st, HC_GTIN, "S"), CHAIN_OK);
    assert_int_equal(st.scans, 3);
    assert_int_equal(st.reports, 1);
    assert_int_equal(st.distinct_clients, 3);
    assert_int_equal(st.first_time, 900);
    assert_int_equal(st.last_time, 1200);
    assert_string_equal(st.last_region, "US");
    assert_int_equal(st.outside_markets, 1);
    assert_int_equal(st.unsold_public, 2); /* networks, not scans: client 1 scanned twice */
    assert_int_equal(st.nregions, 3);
    assert_string_equal(st.regions[0], "FR");
    assert_string_equal(st.regions[1], "US");
    assert_string_equal(st.regions[2], "DE");
    assert_int_equal(chain_scan_stats_get(rd, &st, HC_GTIN, "UNKNOWN"), CHAIN_ERR_NOT_FOUND);
    chain_rd_end(rd);
    /* scans never add unit history */
    assert_int_equal(hc_get_unit(e, HC_GTIN, "S").nevents, 1);
}

typedef struct region_seen {
    char region[8][CHAIN_REGION_MAX + 1];
    uint32_t day[8];
    uint64_t n[8];
    size_t count;
} region_seen;

static int on_region(void *ctx, const char *region, uint32_t day, uint64_t n)
{
    region_seen *r = ctx;
    assert_true(r->count < 8);
    snprintf(r->region[r->count], sizeof r->region[0], "%s", region);
    r->day[r->count] = day;
    r->n[r->count++] = n;
    return 0;
}

static int count_probe_rows(void *ctx, const char *gtin, uint32_t day, uint64_t n)
{
    (void)gtin;
    (void)day;
    *(uint64_t *)ctx += n;
    return 0;
}

/* Each public scan of a known unit counts in the region and UTC day where it
 * happened; reports, probes and scans of unknown codes do not; the counters
 * never show up among the probe counters that share their database. */
static void test_scans_count_by_region_and_day(void **state)
{
    hc_env *e = *state;
    assert_int_equal(hc_mint(e, HK_BRAND, HC_GTIN, "L1", "S", 1), CHAIN_OK);
    chain_scan sc[7] = {
        scan_of("S", CHAIN_SCAN_SCAN, 1000, "DE", 1),
        scan_of("S", CHAIN_SCAN_SCAN, 2000, "DE", 2),
        scan_of("S", CHAIN_SCAN_SCAN, 86400 + 5, "DE-BY", 1), /* the next UTC day */
        scan_of("S", CHAIN_SCAN_SCAN, 3000, "", 3),           /* region unknown */
        scan_of("S", CHAIN_SCAN_REPORT, 3100, "FR", 3),       /* a report: not a scan */
        scan_of("NOPE", CHAIN_SCAN_PROBE, 3200, "JP", 4),     /* a probe: counted as one */
        scan_of("UNKNOWN", CHAIN_SCAN_SCAN, 3300, "US", 5),   /* no such unit: a probe */
    };
    chain_tx tx = hc_tx(CHAIN_TX_SCANS);
    tx.scans = sc;
    tx.nscans = 7;
    assert_int_equal(hc_apply1(e, HK_NODE, &tx, NULL), CHAIN_OK);
    chain_rd *rd;
    region_seen r = {0};
    uint64_t probes = 0;
    assert_int_equal(chain_rd_begin(e->c, &rd), CHAIN_OK);
    assert_int_equal(chain_scan_regions(rd, on_region, &r), CHAIN_OK);
    assert_int_equal(chain_probes(rd, count_probe_rows, &probes), CHAIN_OK);
    chain_rd_end(rd);
    assert_int_equal(r.count, 3); /* in key order: "", "DE", "DE-BY" */
    assert_string_equal(r.region[0], "");
    assert_int_equal(r.day[0], 0);
    assert_int_equal(r.n[0], 1);
    assert_string_equal(r.region[1], "DE");
    assert_int_equal(r.day[1], 0);
    assert_int_equal(r.n[1], 2);
    assert_string_equal(r.region[2], "DE-BY");
    assert_int_equal(r.day[2], 1);
    assert_int_equal(r.n[2], 1);
    assert_int_equal(probes, 2);
}

/* A client hash's first 8 bytes name its network: scans from one network —
 * one address many times, or many addresses of one /24, or one client seen
 * through several gateways (the same keyed hash) — count once in every
 * signal; a second network counts again. */
static void test_scans_count_networks_not_scans(void **state)
{
    hc_env *e = *state;
    assert_int_equal(hc_mint(e, HK_BRAND, HC_GTIN, "L1", "N", 1), CHAIN_OK);
    chain_scan sc[6];
    for (int i = 0; i < 5; i++) { /* net 0x11, addresses 1..5, regions outside DE/FR */
        sc[i] = scan_of("N", i % 2 ? CHAIN_SCAN_REPORT : CHAIN_SCAN_SCAN, 1000 + (uint64_t)i,
                        i % 2 ? "JP" : "US", 0x11);
        sc[i].client[15] = (uint8_t)i;
    }
    sc[5] = sc[0]; /* the same client again, as another gateway would record it */
    chain_tx tx = hc_tx(CHAIN_TX_SCANS);
    tx.scans = sc;
    tx.nscans = 6;
    assert_int_equal(hc_apply1(e, HK_NODE, &tx, NULL), CHAIN_OK);
    chain_rd *rd;
    chain_scan_stats st;
    assert_int_equal(chain_rd_begin(e->c, &rd), CHAIN_OK);
    assert_int_equal(chain_scan_stats_get(rd, &st, HC_GTIN, "N"), CHAIN_OK);
    chain_rd_end(rd);
    assert_int_equal(st.scans, 4);
    assert_int_equal(st.distinct_clients, 1);
    assert_int_equal(st.reports, 1);
    assert_int_equal(st.outside_markets, 1);
    assert_int_equal(st.unsold_public, 1);
    assert_int_equal(st.impossible_travel, 1); /* US → JP in a second, from one network */

    chain_scan two = scan_of("N", CHAIN_SCAN_REPORT, 1010, "JP", 0x22);
    tx = hc_tx(CHAIN_TX_SCANS);
    tx.scans = &two;
    tx.nscans = 1;
    assert_int_equal(hc_apply1(e, HK_NODE, &tx, NULL), CHAIN_OK);
    assert_int_equal(chain_rd_begin(e->c, &rd), CHAIN_OK);
    assert_int_equal(chain_scan_stats_get(rd, &st, HC_GTIN, "N"), CHAIN_OK);
    chain_rd_end(rd);
    assert_int_equal(st.distinct_clients, 2);
    assert_int_equal(st.reports, 2);
    assert_int_equal(st.outside_markets, 2);
    assert_int_equal(st.impossible_travel, 2); /* US → JP in 6 s, a second network */
}

static int stop_at_first_unit(void *ctx, const gs1_sgtin *id, const chain_scan_stats *st)
{
    (void)st;
    gs1_sgtin *seen = ctx;
    *seen = *id;
    return 1;
}

static int stop_at_first_probe(void *ctx, const char *gtin, uint32_t day, uint64_t n)
{
    (void)gtin;
    (void)day;
    ++*(uint64_t *)ctx;
    return n > 0; /* stop */
}

static int stop_at_first_region(void *ctx, const char *region, uint32_t day, uint64_t n)
{
    (void)region;
    (void)day;
    (void)n;
    ++*(int *)ctx;
    return 1;
}

/* A unit remembers its 8 most recent distinct regions, the latest first; a
 * region seen again moves to the front. The readers stop when their callback
 * asks them to. */
static void test_scans_recent_regions_capped_and_readers_stop(void **state)
{
    hc_env *e = *state;
    assert_int_equal(hc_mint(e, HK_BRAND, HC_GTIN, "L1", "R", 1), CHAIN_OK);
    assert_int_equal(hc_mint(e, HK_BRAND, HC_GTIN, "L1", "Q", 1), CHAIN_OK);
    static const char *const regions[10] = {"DE", "FR", "IT", "ES", "AT", "CH",
                                            "NL", "BE", "PL", "FR"};
    chain_scan sc[12];
    for (int i = 0; i < 10; i++) /* a day apart: never too fast */
        sc[i] = scan_of("R", CHAIN_SCAN_SCAN, 86400 * (uint64_t)(i + 1), regions[i], 1);
    sc[10] = scan_of("Q", CHAIN_SCAN_SCAN, 50, "DE", 2);
    sc[11] = scan_of("NOPE", CHAIN_SCAN_PROBE, 60, "DE", 3);
    chain_tx tx = hc_tx(CHAIN_TX_SCANS);
    tx.scans = sc;
    tx.nscans = 12;
    tx.dropped = 4;
    assert_int_equal(hc_apply1(e, HK_NODE, &tx, NULL), CHAIN_OK);
    chain_rd *rd;
    chain_scan_stats st;
    assert_int_equal(chain_rd_begin(e->c, &rd), CHAIN_OK);
    assert_int_equal(chain_scan_stats_get(rd, &st, HC_GTIN, "R"), CHAIN_OK);
    assert_int_equal(st.nregions, 8);
    static const char *const want[8] = {"FR", "PL", "BE", "NL", "CH", "AT", "ES", "IT"};
    for (int i = 0; i < 8; i++)
        assert_string_equal(st.regions[i], want[i]); /* DE, the oldest, dropped */
    assert_int_equal(st.impossible_travel, 0);
    gs1_sgtin first;
    memset(&first, 0, sizeof first);
    assert_int_equal(chain_scan_units(rd, stop_at_first_unit, &first), CHAIN_OK);
    assert_string_equal(first.serial, "Q"); /* key order: Q before R; stopped there */
    uint64_t probes = 0;
    assert_int_equal(chain_probes(rd, stop_at_first_probe, &probes), CHAIN_OK);
    assert_int_equal(probes, 1);
    int regions_seen = 0;
    assert_int_equal(chain_scan_regions(rd, stop_at_first_region, &regions_seen), CHAIN_OK);
    assert_int_equal(regions_seen, 1);
    chain_rd_end(rd);
}

static uint32_t travel_after(hc_env *e, const char *serial, const char *r1, const char *r2,
                             uint64_t dt)
{
    chain_scan sc[2] = {
        scan_of(serial, CHAIN_SCAN_SCAN, 100000, r1, 1),
        scan_of(serial, CHAIN_SCAN_SCAN, 100000 + dt, r2, 2),
    };
    chain_tx tx = hc_tx(CHAIN_TX_SCANS);
    tx.scans = sc;
    tx.nscans = 2;
    assert_int_equal(hc_apply1(e, HK_NODE, &tx, NULL), CHAIN_OK);
    chain_rd *rd;
    chain_scan_stats st;
    assert_int_equal(chain_rd_begin(e->c, &rd), CHAIN_OK);
    assert_int_equal(chain_scan_stats_get(rd, &st, HC_GTIN, serial), CHAIN_OK);
    chain_rd_end(rd);
    return st.impossible_travel;
}

/* Genesis travel_kmh 900: DE → JP (~9,000 km) in 10 minutes is impossible;
 * DE → AT (~450 km) in 5 hours, and DE → DE-BY at once, are not. */
static void test_scans_impossible_travel(void **state)
{
    hc_env *e = *state;
    assert_int_equal(hc_mint(e, HK_BRAND, HC_GTIN, "L1", "J", 1), CHAIN_OK);
    assert_int_equal(hc_mint(e, HK_BRAND, HC_GTIN, "L1", "A", 1), CHAIN_OK);
    assert_int_equal(hc_mint(e, HK_BRAND, HC_GTIN, "L1", "B", 1), CHAIN_OK);
    assert_true(travel_after(e, "J", "DE", "JP", 600) >= 1);
    assert_int_equal(travel_after(e, "A", "DE", "AT", 5 * 3600), 0);
    assert_int_equal(travel_after(e, "B", "DE", "DE-BY", 0), 0);
}

/* The policy's travel_kmh is the fastest plausible speed: DE → JP at exactly
 * that speed is not impossible travel, one second faster is. */
static void test_scans_travel_kmh_edge(void **state)
{
    hc_env *e = *state;
    uint32_t kmh = e->g->policy.travel_kmh, km = 0;
    assert_true(kmh > 0);
    assert_int_equal(geo_region_km("DE", "JP", &km), 0);
    assert_true(km > 1000);
    assert_int_equal(((uint64_t)km * 3600u) % kmh, 0); /* an exact number of seconds */
    uint64_t dt = (uint64_t)km * 3600u / kmh;
    assert_int_equal(hc_mint(e, HK_BRAND, HC_GTIN, "L1", "TK", 1), CHAIN_OK);
    assert_int_equal(hc_mint(e, HK_BRAND, HC_GTIN, "L1", "TL", 1), CHAIN_OK);
    assert_int_equal(travel_after(e, "TK", "DE", "JP", dt), 0);
    assert_int_equal(travel_after(e, "TL", "DE", "JP", dt - 1), 1);
}

static void test_scans_by_removed_node_refused_revoked_signer(void **state)
{
    hc_env *e = *state;
    assert_int_equal(node_remove(e, HK_BRAND, 2), CHAIN_OK);
    chain_scan sc = scan_of("S", CHAIN_SCAN_SCAN, 1000, "DE", 1);
    chain_tx tx = hc_tx(CHAIN_TX_SCANS);
    tx.scans = &sc;
    tx.nscans = 1;
    assert_int_equal(hc_apply1(e, HK_NODE2, &tx, NULL), CHAIN_ERR_REVOKED_SIGNER);
}

static void test_node_key_may_only_sign_scans(void **state)
{
    hc_env *e = *state;
    assert_int_equal(hc_mint(e, HK_NODE, HC_GTIN, "L", "A", 1), CHAIN_ERR_WRONG_ROLE);
}

static int resolver_set(hc_env *e, int who, const char *url)
{
    chain_tx tx = hc_tx(CHAIN_TX_RESOLVER_SET);
    assert_true(strlen(url) < sizeof tx.resolver);
    memcpy(tx.resolver, url, strlen(url) + 1);
    return hc_apply1(e, who, &tx, NULL);
}

static void resolver_is(hc_env *e, const char *want)
{
    chain_rd *rd;
    char got[CHAIN_RESOLVER_MAX + 1];
    memset(got, 'x', sizeof got);
    assert_int_equal(chain_rd_begin(e->c, &rd), CHAIN_OK);
    assert_int_equal(chain_resolver_current(rd, got), CHAIN_OK);
    chain_rd_end(rd);
    assert_string_equal(got, want);
}

/* A URL of exactly len bytes: https://r<pad>.example */
static void url_of(char *out, size_t len)
{
    size_t pad = len - strlen("https://r.example");
    memcpy(out, "https://r", 9);
    memset(out + 9, 'a', pad);
    memcpy(out + 9 + pad, ".example", 9);
    assert_int_equal(strlen(out), len);
}

static void test_resolver_set_by_any_brand_replaces_genesis(void **state)
{
    hc_env *e = *state;
    resolver_is(e, e->g->resolver); /* none set: the genesis's */
    assert_int_equal(resolver_set(e, HK_BRAND, "https://id.acme.example"), CHAIN_OK);
    resolver_is(e, "https://id.acme.example");
    /* network-wide, like participants and nodes: another brand's admin may change it */
    assert_int_equal(resolver_set(e, HK_BRAND2, "http://resolver.example:8080/gs1"), CHAIN_OK);
    resolver_is(e, "http://resolver.example:8080/gs1");
    /* the value survives a reopen (it is ledger state) */
    hc_close(e);
    hc_reopen(e);
    resolver_is(e, "http://resolver.example:8080/gs1");
}

static void test_resolver_set_by_non_brand_refused_wrong_role(void **state)
{
    hc_env *e = *state;
    assert_int_equal(resolver_set(e, HK_BRAND, "https://id.acme.example"), CHAIN_OK);
    static const int others[] = {HK_CARRIER, HK_SELLER, HK_SERVICE, HK_NODE};
    for (size_t i = 0; i < sizeof others / sizeof *others; i++)
        assert_int_equal(resolver_set(e, others[i], "https://evil.example"),
                         CHAIN_ERR_WRONG_ROLE);
    assert_int_equal(resolver_set(e, HK_ALICE, "https://evil.example"), CHAIN_ERR_UNKNOWN_SIGNER);
    resolver_is(e, "https://id.acme.example");
}

static void test_resolver_set_size_limit_and_forms(void **state)
{
    hc_env *e = *state;
    char url[CHAIN_RESOLVER_MAX + 8];
    url_of(url, CHAIN_RESOLVER_MAX); /* exactly at the limit: accepted */
    assert_int_equal(resolver_set(e, HK_BRAND, url), CHAIN_OK);
    resolver_is(e, url);
    assert_true(chain_resolver_valid(url, CHAIN_RESOLVER_MAX));
    /* one past: not a valid resolver, and not storable in a transaction */
    url_of(url, CHAIN_RESOLVER_MAX + 1);
    assert_false(chain_resolver_valid(url, CHAIN_RESOLVER_MAX + 1));
    chain_tx tx = hc_tx(CHAIN_TX_RESOLVER_SET);
    memcpy(tx.resolver, url, sizeof tx.resolver); /* fills the field with no terminator */
    assert_int_equal(chain_tx_sign(&tx, e->sk[HK_BRAND]), CHAIN_ERR_TOO_LARGE);
    uint8_t *enc = NULL;
    size_t len = 0;
    assert_int_equal(chain_tx_encode(&enc, &len, &tx), CHAIN_ERR_TOO_LARGE);
    assert_null(enc);
    /* refused forms: the genesis rule */
    static const char *const bad[] = {"https://id.acme.example/", "ftp://id.acme.example",
                                      "https://", "id.acme.example", "https://a.example?x",
                                      "https://a.example#x", "https://a b.example"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        assert_false(chain_resolver_valid(bad[i], strlen(bad[i])));
        tx = hc_tx(CHAIN_TX_RESOLVER_SET);
        snprintf(tx.resolver, sizeof tx.resolver, "%s", bad[i]);
        assert_int_equal(chain_tx_sign(&tx, e->sk[HK_BRAND]), CHAIN_ERR_INVALID);
        assert_int_equal(chain_tx_encode(&enc, &len, &tx), CHAIN_ERR_INVALID);
    }
    /* a well-formed encoding with a trailing '/' patched in is refused by the decoder */
    url_of(url, 40);
    tx = hc_tx(CHAIN_TX_RESOLVER_SET);
    memcpy(tx.resolver, url, 41);
    hc_encode(e, HK_BRAND, &tx, &enc, &len);
    uint8_t *at = memmem(enc, len, url, 40);
    assert_non_null(at);
    at[39] = '/';
    chain_tx back;
    char msg[200] = "";
    assert_int_equal(chain_tx_decode(&back, enc, len, msg, sizeof msg), CHAIN_ERR_INVALID);
    assert_non_null(strstr(msg, "body.url"));
    free(enc);
    url_of(url, CHAIN_RESOLVER_MAX);
    resolver_is(e, url); /* nothing refused changed it */
}

static int rp_set(hc_env *e, int who, const char *id, const char *origin, uint8_t uv)
{
    chain_tx tx = hc_tx(CHAIN_TX_RP_SET);
    snprintf(tx.rp.id, sizeof tx.rp.id, "%s", id);
    snprintf(tx.rp.origins[0], sizeof tx.rp.origins[0], "%s", origin);
    tx.rp.norigins = 1;
    tx.rp_uv = uv;
    return hc_apply1(e, who, &tx, NULL);
}

static chain_rp rp_now(hc_env *e)
{
    chain_rd *rd;
    chain_rp rp;
    memset(&rp, 0x5a, sizeof rp);
    assert_int_equal(chain_rd_begin(e->c, &rd), CHAIN_OK);
    assert_int_equal(chain_rp_current(rd, &rp), CHAIN_OK);
    chain_rd_end(rd);
    return rp;
}

static void test_rp_set_by_brand_replaces_genesis(void **state)
{
    hc_env *e = *state;
    chain_rp rp = rp_now(e); /* none set: the genesis's */
    assert_memory_equal(&rp, &e->g->rp, sizeof rp);
    assert_int_equal(rp_set(e, HK_BRAND, "shop.acme.example", "https://shop.acme.example", 1),
                     CHAIN_OK);
    rp = rp_now(e);
    assert_string_equal(rp.id, "shop.acme.example");
    assert_int_equal(rp.norigins, 1);
    assert_string_equal(rp.origins[0], "https://shop.acme.example");
    assert_true(rp.require_uv);
    /* absent uv_required means presence is enough */
    assert_int_equal(rp_set(e, HK_BRAND2, "localhost", "http://localhost:8101", 0), CHAIN_OK);
    rp = rp_now(e);
    assert_string_equal(rp.id, "localhost");
    assert_false(rp.require_uv);
    /* ledger state: it survives a reopen */
    hc_close(e);
    hc_reopen(e);
    rp = rp_now(e);
    assert_string_equal(rp.origins[0], "http://localhost:8101");
}

static void test_rp_set_by_non_brand_refused(void **state)
{
    hc_env *e = *state;
    static const int others[] = {HK_CARRIER, HK_SELLER, HK_SERVICE, HK_NODE};
    for (size_t i = 0; i < sizeof others / sizeof *others; i++)
        assert_int_equal(rp_set(e, others[i], "evil.example", "https://evil.example", 2),
                         CHAIN_ERR_WRONG_ROLE);
    assert_int_equal(rp_set(e, HK_ALICE, "evil.example", "https://evil.example", 2),
                     CHAIN_ERR_UNKNOWN_SIGNER);
    chain_rp rp = rp_now(e);
    assert_memory_equal(&rp, &e->g->rp, sizeof rp);
    /* an invalid body never reaches the rules: refused when signed */
    chain_tx tx = hc_tx(CHAIN_TX_RP_SET);
    snprintf(tx.rp.id, sizeof tx.rp.id, "10.0.0.1"); /* an IP address is no rp id */
    snprintf(tx.rp.origins[0], sizeof tx.rp.origins[0], "https://10.0.0.1");
    tx.rp.norigins = 1;
    assert_int_equal(chain_tx_sign(&tx, e->sk[HK_BRAND]), CHAIN_ERR_INVALID);
}

/* A P-256 passkey made with OpenSSL here (not the code under test's path),
 * and an encoded warranty.activate it signs with an assertion for rp_id and
 * origin. */
typedef struct pk_test {
    EVP_PKEY *key;
    uint8_t pub[CHAIN_P256_PUB_LEN], cred[16], id[CHAIN_HASH_LEN];
    uint64_t seq; /* makes each tx distinct (time); refused ones use no nonce: always 1 */
} pk_test;

static void pk_new(pk_test *p)
{
    memset(p, 0, sizeof p[0]);
    p->key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    assert_non_null(p->key);
    size_t n = 0;
    assert_int_equal(EVP_PKEY_get_octet_string_param(p->key, OSSL_PKEY_PARAM_PUB_KEY, p->pub,
                                                     sizeof p->pub, &n),
                     1);
    assert_int_equal(n, CHAIN_P256_PUB_LEN);
    memset(p->cred, 0xc7, sizeof p->cred);
    chain_passkey_id(p->id, p->cred, sizeof p->cred, p->pub);
}

static void pk_tx(hc_env *e, pk_test *p, const char *rp_id, const char *origin, uint8_t **out,
                  size_t *len)
{
    gs1_sgtin u = hc_unit(HC_GTIN, "PK1");
    chain_tx tx = hc_tx(CHAIN_TX_WARRANTY_ACTIVATE);
    tx.units = &u;
    tx.nunits = 1;
    memcpy(tx.chain, e->g->chain_id, CHAIN_HASH_LEN);
    memcpy(tx.signer, p->id, CHAIN_HASH_LEN);
    tx.nonce = 1;
    tx.time = 1767225600000ull + ++p->seq;
    chain_passkey_auth *a = calloc(1, sizeof *a);
    assert_non_null(a);
    uint8_t txid[CHAIN_HASH_LEN];
    assert_int_equal(chain_tx_id(txid, &tx), CHAIN_OK);
    unsigned int hl = 32;
    assert_int_equal(EVP_Digest(rp_id, strlen(rp_id), a->adata, &hl, EVP_sha256(), NULL), 1);
    a->adata[32] = 0x05; /* UP | UV */
    a->adata[36] = (uint8_t)p->seq;
    a->adata_len = 37;
    char ch[64];
    chain_b64url(ch, txid, CHAIN_HASH_LEN);
    a->cdata_len = (size_t)snprintf((char *)a->cdata, sizeof a->cdata,
                                    "{\"type\":\"webauthn.get\",\"challenge\":\"%s\","
                                    "\"origin\":\"%s\",\"crossOrigin\":false}",
                                    ch, origin);
    uint8_t msg[37 + 32];
    memcpy(msg, a->adata, 37);
    assert_int_equal(EVP_Digest(a->cdata, a->cdata_len, msg + 37, &hl, EVP_sha256(), NULL), 1);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    a->sig_len = sizeof a->sig;
    assert_int_equal(EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, p->key), 1);
    assert_int_equal(EVP_DigestSign(md, a->sig, &a->sig_len, msg, sizeof msg), 1);
    EVP_MD_CTX_free(md);
    memcpy(a->cred, p->cred, sizeof p->cred);
    a->cred_len = sizeof p->cred;
    memcpy(a->pub, p->pub, sizeof p->pub);
    tx.auth = a;
    assert_int_equal(chain_tx_encode(out, len, &tx), CHAIN_OK);
    free(a);
}

/* The rp half of a passkey assertion is judged against the rp in force where
 * the tx is applied: the genesis's (none here), then each rp.set, one earlier
 * in the same block included; the stateless precheck passes it all along,
 * standing (admission) refuses by the applied state. */
static void test_rp_in_force_judges_passkey_txs_at_apply(void **state)
{
    hc_env *e = *state;
    hc_unit_delivered(e, "PK1");
    pk_test p;
    pk_new(&p);
    uint8_t *txs[2];
    size_t lens[2];
    chain_apply_result res;
    char msg[160];
    uint8_t id[CHAIN_HASH_LEN];
    /* the genesis names no rp: refused, the signature itself is fine */
    pk_tx(e, &p, "localhost", "http://localhost:8101", &txs[0], &lens[0]);
    assert_int_equal(chain_tx_precheck(id, e->g->chain_id, NULL, txs[0], lens[0], msg, sizeof msg),
                     CHAIN_OK);
    assert_int_equal(hc_block(e, &res, txs, lens, 1), CHAIN_OK);
    assert_int_equal(res.receipts[0].code, CHAIN_ERR_WEBAUTHN_ORIGIN);
    chain_apply_result_free(&res);
    /* rp.set localhost: the same kind of assertion reaches the rules (the unit is not sold) */
    assert_int_equal(rp_set(e, HK_BRAND, "localhost", "http://localhost:8101", 0), CHAIN_OK);
    pk_tx(e, &p, "localhost", "http://localhost:8101", &txs[0], &lens[0]);
    assert_int_equal(hc_block(e, &res, txs, lens, 1), CHAIN_OK);
    assert_int_equal(res.receipts[0].code, CHAIN_ERR_BAD_STATE); /* the rules */
    chain_apply_result_free(&res);
    /* an rp.set and, after it in the same block, an assertion for the old rp:
       refused by the new one */
    chain_tx rs = hc_tx(CHAIN_TX_RP_SET);
    snprintf(rs.rp.id, sizeof rs.rp.id, "shop.example");
    snprintf(rs.rp.origins[0], sizeof rs.rp.origins[0], "https://shop.example");
    rs.rp.norigins = 1;
    hc_encode(e, HK_BRAND, &rs, &txs[0], &lens[0]);
    pk_tx(e, &p, "localhost", "http://localhost:8101", &txs[1], &lens[1]);
    chain_tx old;
    assert_int_equal(chain_tx_decode(&old, txs[1], lens[1], msg, sizeof msg), CHAIN_OK);
    assert_int_equal(chain_tx_standing(e->c, &old, msg, sizeof msg), CHAIN_ERR_NOT_OWNER);
    assert_int_equal(hc_block(e, &res, txs, lens, 2), CHAIN_OK);
    assert_int_equal(res.receipts[0].code, CHAIN_OK);
    assert_int_equal(res.receipts[1].code, CHAIN_ERR_WEBAUTHN_ORIGIN);
    chain_apply_result_free(&res);
    /* admission now refuses it too, by the applied rp */
    assert_int_equal(chain_tx_standing(e->c, &old, msg, sizeof msg), CHAIN_ERR_WEBAUTHN_ORIGIN);
    chain_tx_free(&old);
    /* the new origin with the old rp id: webauthn_rp; the new rp: the rules again */
    pk_tx(e, &p, "localhost", "https://shop.example", &txs[0], &lens[0]);
    assert_int_equal(hc_block(e, &res, txs, lens, 1), CHAIN_OK);
    assert_int_equal(res.receipts[0].code, CHAIN_ERR_WEBAUTHN_RP);
    chain_apply_result_free(&res);
    pk_tx(e, &p, "shop.example", "https://shop.example", &txs[0], &lens[0]);
    assert_int_equal(hc_block(e, &res, txs, lens, 1), CHAIN_OK);
    assert_int_equal(res.receipts[0].code, CHAIN_ERR_BAD_STATE); /* the rules */
    chain_apply_result_free(&res);
    EVP_PKEY_free(p.key);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
        T(test_participant_add_registers_role),
        T(test_participant_add_by_carrier_refused_wrong_role),
        T(test_participant_add_duplicate_id_or_key_refused),
        T(test_revoked_participant_signs_nothing_revoked_signer),
        T(test_brand_cannot_revoke_other_brand_admin),
        T(test_rotate_by_self_old_key_refused_new_key_works),
        T(test_rotate_by_brand_allowed),
        T(test_node_add_remove_sets_members_changed),
        T(test_node_add_at_limit_then_refused),
        T(test_governance_edges),
        T(test_policy_set_merges_lot_gtin_brand_genesis),
        T(test_policy_set_for_other_brands_gtin_refused_bad_gtin),
        T(test_scans_by_node_fold_into_stats),
        T(test_scans_impossible_travel),
        T(test_scans_count_by_region_and_day),
        T(test_scans_count_networks_not_scans),
        T(test_scans_recent_regions_capped_and_readers_stop),
        T(test_scans_travel_kmh_edge),
        T(test_scans_by_removed_node_refused_revoked_signer),
        T(test_node_key_may_only_sign_scans),
        T(test_node_rotate_pins_a_fresh_key),
        T(test_rp_set_by_brand_replaces_genesis),
        T(test_rp_in_force_judges_passkey_txs_at_apply),
        T(test_rp_set_by_non_brand_refused),
        T(test_resolver_set_by_any_brand_replaces_genesis),
        T(test_resolver_set_by_non_brand_refused_wrong_role),
        T(test_resolver_set_size_limit_and_forms),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
