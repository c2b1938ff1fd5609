/* node/epcis.c: ledger events → EPCIS 2.0 ObjectEvents, and the CBV 2.0 event
 * hash. The reference vector was computed with GS1's epcis2.js
 * (eventToHashedId) on the event text below; the cluster test
 * (tests/cluster/test_epcis.py) checks every event a node serves the same way. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "node/epcis.h"

static const char vector_event[] =
    "{\"type\":\"ObjectEvent\",\"eventTime\":\"2026-12-02T19:11:50.123Z\","
    "\"eventTimeZoneOffset\":\"+00:00\","
    "\"epcList\":[\"https://id.gs1.org/01/09506000134352/21/AB12\"],\"action\":\"ADD\","
    "\"bizStep\":\"commissioning\",\"disposition\":\"active\","
    "\"readPoint\":{\"id\":\"urn:provena:region:DE-BY\"},"
    "\"bizLocation\":{\"id\":\"urn:provena:participant:acme\"},"
    "\"ilmd\":{\"cbvmda:lotNumber\":\"0012\",\"cbvmda:itemExpirationDate\":\"2028-12-31\"},"
    "\"provena:ledger\":{\"provena:tx\":"
    "\"9c1f000000000000000000000000000000000000000000000000000000000001\","
    "\"provena:block\":\"5b1c000000000000000000000000000000000000000000000000000000000002\","
    "\"provena:height\":12,\"provena:index\":0},"
    "\"provena:step\":\"mint\",\"provena:actor\":\"acme\",\"rdfs:comment\":\"first batch\"}";
static const char vector_id[] =
    "ni:///sha-256;07fc9dca81742786fe22a639b08f0b9593836204a09b5053a88c4fb79b48c108?ver=CBV2.0";

static json_t *load(const char *s)
{
    json_t *j = json_loads(s, 0, NULL);
    assert_non_null(j);
    return j;
}

static void test_epcis_hash_matches_reference_vector(void **state)
{
    (void)state;
    json_t *e = load(vector_event);
    char id[EPCIS_ID_MAX];
    assert_int_equal(epcis_event_hash(id, e), 0);
    assert_string_equal(id, vector_id);
    /* the eventID itself and @context are not hashed */
    json_object_set_new(e, "eventID", json_string("ni:///sha-256;00?ver=CBV2.0"));
    assert_int_equal(epcis_event_hash(id, e), 0);
    assert_string_equal(id, vector_id);
    json_decref(e);
}

static void test_epcis_hash_rules_normalize(void **state)
{
    (void)state;
    json_t *e = load(vector_event);
    char *pre = epcis_prehash(e);
    assert_non_null(pre);
    /* CBV words expand to their URIs, a digits-only value loses leading zeros,
     * extension names expand to their namespace, comments are left out */
    assert_non_null(strstr(pre, "bizStep=https://ref.gs1.org/cbv/BizStep-commissioning"));
    assert_non_null(strstr(pre, "{urn:epcglobal:cbv:mda:}lotNumber=12"));
    assert_non_null(strstr(pre, "{urn:provena:epcis:}height=12"));
    assert_null(strstr(pre, "first batch"));
    assert_non_null(strstr(pre, "eventType=ObjectEvent"));
    free(pre);
    char a[EPCIS_ID_MAX], b[EPCIS_ID_MAX];
    assert_int_equal(epcis_event_hash(a, e), 0);
    json_object_set_new(e, "bizStep", json_string("https://ref.gs1.org/cbv/BizStep-commissioning"));
    json_object_set_new(e, "rdfs:comment", json_string("another comment"));
    assert_int_equal(epcis_event_hash(b, e), 0);
    assert_string_equal(a, b); /* same event, same id */
    json_object_set_new(e, "bizStep", json_string("shipping"));
    assert_int_equal(epcis_event_hash(b, e), 0);
    assert_string_not_equal(a, b); /* another step, another id */
    json_decref(e);
}

static void test_epcis_hash_refuses_unsupported_shapes(void **state)
{
    (void)state;
    char id[EPCIS_ID_MAX];
    json_t *e = load(vector_event);
    json_object_set_new(e, "quantityList", json_array());
    assert_int_equal(epcis_event_hash(id, e), -1);
    json_decref(e);
    e = load(vector_event);
    json_object_set_new(e, "nsless", json_string("x")); /* an extension without a prefix */
    assert_int_equal(epcis_event_hash(id, e), -1);
    json_decref(e);
    e = load(vector_event);
    json_object_set_new(e, "other:field", json_string("x")); /* an undeclared prefix */
    assert_int_equal(epcis_event_hash(id, e), -1);
    json_decref(e);
}

static void test_epcis_prehash_bounded(void **state)
{
    (void)state;
    char id[EPCIS_ID_MAX];
    json_t *e = load(vector_event);
    char *pre = epcis_prehash(e);
    size_t base = strlen(pre);
    free(pre);
    /* a value that brings the pre-hash exactly to the bound (NUL included)
     * passes; one byte more is refused */
    const char *field = "{urn:provena:epcis:}pad=";
    size_t room = EPCIS_PREHASH_MAX - 1 - base - strlen(field);
    char *pad = malloc(room + 2);
    memset(pad, 'x', room + 1);
    pad[room] = '\0';
    json_object_set_new(e, "provena:pad", json_string(pad));
    assert_int_equal(epcis_event_hash(id, e), 0);
    pad[room] = 'x';
    pad[room + 1] = '\0';
    json_object_set_new(e, "provena:pad", json_string(pad));
    assert_int_equal(epcis_event_hash(id, e), -1);
    free(pad);
    json_decref(e);
}

static chain_event sample(int type)
{
    chain_event ev;
    memset(&ev, 0, sizeof ev);
    ev.type = type;
    ev.time = 1790000000123ull;
    ev.height = 7;
    ev.index = 2;
    memset(ev.tx, 0x11, sizeof ev.tx);
    memset(ev.actor, 0x22, sizeof ev.actor);
    strcpy(ev.actor_id, "carrier-dhl");
    return ev;
}

static void test_epcis_event_maps_each_type(void **state)
{
    (void)state;
    static const struct {
        int type;
        unsigned reason;
        const char *action, *bizstep, *disposition;
    } want[] = {
        {CHAIN_TX_MINT, 0, "ADD", "commissioning", "active"},
        {CHAIN_TX_PICKUP, 0, "OBSERVE", "shipping", "in_transit"},
        {CHAIN_TX_DELIVER, 0, "OBSERVE", "receiving", "in_progress"},
        {CHAIN_TX_SELL, 0, "OBSERVE", "retail_selling", "retail_sold"},
        {CHAIN_TX_CLAIM, 0, "OBSERVE", EPCIS_NS "BizStep-claim", NULL},
        {CHAIN_TX_TRANSFER, 0, "OBSERVE", EPCIS_NS "BizStep-transfer", NULL},
        {CHAIN_TX_WARRANTY_CLAIM, 0, "OBSERVE", EPCIS_NS "BizStep-warranty_claim", NULL},
        {CHAIN_TX_FLAG, CHAIN_FLAG_RECALLED, "OBSERVE", EPCIS_NS "BizStep-flag", "recalled"},
        {CHAIN_TX_FLAG, CHAIN_FLAG_STOLEN, "OBSERVE", EPCIS_NS "BizStep-flag", "stolen"},
        {CHAIN_TX_FLAG, CHAIN_FLAG_DESTROYED, "OBSERVE", "destroying", "destroyed"},
        {CHAIN_TX_FLAG, CHAIN_FLAG_COUNTERFEIT, "OBSERVE", EPCIS_NS "BizStep-flag",
         "non_sellable_other"},
        {CHAIN_TX_UNFLAG, CHAIN_FLAG_RECALLED, "OBSERVE", EPCIS_NS "BizStep-unflag", NULL},
    };
    gs1_sgtin id = {"09506000134352", "AB12"};
    uint8_t block[CHAIN_HASH_LEN];
    memset(block, 0x33, sizeof block);
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        chain_event ev = sample(want[i].type);
        ev.reason = want[i].reason;
        epcis_src src = {&id, "L1", "281231", block, "DE", "carrier-dhl"};
        json_t *e = epcis_event(&ev, &src);
        assert_non_null(e);
        assert_string_equal(json_string_value(json_object_get(e, "action")), want[i].action);
        assert_string_equal(json_string_value(json_object_get(e, "bizStep")), want[i].bizstep);
        const char *d = json_string_value(json_object_get(e, "disposition"));
        if (want[i].disposition)
            assert_string_equal(d, want[i].disposition);
        else
            assert_null(d);
        assert_string_equal(json_string_value(json_object_get(e, "eventTime")),
                            "2026-09-21T14:13:20.123Z");
        assert_string_equal(json_string_value(json_array_get(json_object_get(e, "epcList"), 0)),
                            "https://id.gs1.org/01/09506000134352/21/AB12");
        json_t *pf = json_object_get(e, "provena:ledger");
        assert_int_equal(json_integer_value(json_object_get(pf, "provena:height")), 7);
        assert_int_equal(json_integer_value(json_object_get(pf, "provena:index")), 2);
        assert_int_equal(strlen(json_string_value(json_object_get(pf, "provena:block"))), 64);
        assert_true((json_object_get(e, "ilmd") != NULL) == (want[i].type == CHAIN_TX_MINT));
        char id2[EPCIS_ID_MAX];
        json_t *copy = json_deep_copy(e);
        json_object_del(copy, "eventID");
        assert_int_equal(epcis_event_hash(id2, copy), 0);
        assert_string_equal(json_string_value(json_object_get(e, "eventID")), id2);
        json_decref(copy);
        json_decref(e);
    }
}

/* pack/unpack: AggregationEvents whose parentID is the SSCC and childEPCs the
 * unit, hashed in GS1's canonical order (parentID, childEPCs before action). */
static void test_epcis_pack_is_aggregation_event(void **state)
{
    (void)state;
    gs1_sgtin id = {"09506000134352", "AB12"};
    uint8_t block[CHAIN_HASH_LEN];
    memset(block, 0x33, sizeof block);
    static const struct {
        int type;
        const char *action, *bizstep;
    } want[] = {{CHAIN_TX_PACK, "ADD", "packing"}, {CHAIN_TX_UNPACK, "DELETE", "unpacking"}};
    for (size_t i = 0; i < 2; i++) {
        chain_event ev = sample(want[i].type);
        strcpy(ev.sscc, "309506000134350005");
        epcis_src src = {&id, "L1", "", block, "DE", "carrier-dhl"};
        json_t *e = epcis_event(&ev, &src);
        assert_non_null(e);
        assert_string_equal(json_string_value(json_object_get(e, "type")), "AggregationEvent");
        assert_string_equal(json_string_value(json_object_get(e, "action")), want[i].action);
        assert_string_equal(json_string_value(json_object_get(e, "bizStep")), want[i].bizstep);
        assert_string_equal(json_string_value(json_object_get(e, "parentID")),
                            "https://id.gs1.org/00/309506000134350005");
        assert_string_equal(json_string_value(json_array_get(json_object_get(e, "childEPCs"), 0)),
                            "https://id.gs1.org/01/09506000134352/21/AB12");
        assert_null(json_object_get(e, "epcList"));
        json_t *copy = json_deep_copy(e);
        json_object_del(copy, "eventID");
        char *pre = epcis_prehash(copy);
        assert_non_null(pre);
        char expect[512];
        snprintf(expect, sizeof expect,
                 "eventType=AggregationEventeventTime=2026-09-21T14:13:20.123Z"
                 "eventTimeZoneOffset=+00:00parentID=https://id.gs1.org/00/309506000134350005"
                 "childEPCsepc=https://id.gs1.org/01/09506000134352/21/AB12action=%s"
                 "bizStep=https://ref.gs1.org/cbv/BizStep-%s",
                 want[i].action, want[i].bizstep);
        assert_true(strncmp(pre, expect, strlen(expect)) == 0);
        free(pre);
        char id2[EPCIS_ID_MAX];
        assert_int_equal(epcis_event_hash(id2, copy), 0);
        assert_string_equal(json_string_value(json_object_get(e, "eventID")), id2);
        json_decref(copy);
        json_decref(e);
    }
    /* a move made inside a parent names it in the extension */
    chain_event ev = sample(CHAIN_TX_PICKUP);
    strcpy(ev.sscc, "309506000134350005");
    epcis_src src = {&id, "L1", "", block, "DE", "carrier-dhl"};
    json_t *e = epcis_event(&ev, &src);
    assert_string_equal(json_string_value(json_object_get(e, "type")), "ObjectEvent");
    assert_string_equal(json_string_value(json_object_get(e, "provena:inside")),
                        "https://id.gs1.org/00/309506000134350005");
    json_decref(e);
}

static void test_epcis_ilmd_expiry_day_zero_is_month_end(void **state)
{
    (void)state;
    gs1_sgtin id = {"09506000134352", "AB12"};
    uint8_t block[CHAIN_HASH_LEN] = {0};
    chain_event ev = sample(CHAIN_TX_MINT);
    epcis_src src = {&id, "L1", "280200", block, "", ""};
    json_t *e = epcis_event(&ev, &src);
    assert_non_null(e);
    json_t *ilmd = json_object_get(e, "ilmd");
    assert_string_equal(json_string_value(json_object_get(ilmd, "cbvmda:itemExpirationDate")),
                        "2028-02-29");
    assert_null(json_object_get(e, "readPoint")); /* no region: no readPoint */
    assert_null(json_object_get(e, "bizLocation"));
    json_decref(e);
}

static void test_epcis_bizstep_query_values(void **state)
{
    (void)state;
    char out[64];
    assert_true(epcis_bizstep_norm(out, "shipping", 8));
    assert_string_equal(out, "shipping");
    const char *uri = "https://ref.gs1.org/cbv/BizStep-receiving";
    assert_true(epcis_bizstep_norm(out, uri, strlen(uri)));
    assert_string_equal(out, "receiving");
    const char *ext = EPCIS_NS "BizStep-claim";
    assert_true(epcis_bizstep_norm(out, ext, strlen(ext)));
    assert_string_equal(out, ext);
    assert_true(epcis_bizstep_norm(out, "packing", 7)); /* CBV, never carried */
    assert_false(epcis_bizstep_norm(out, "Shipping!", 9));
    assert_false(epcis_bizstep_norm(out, "", 0));
    char long_word[80];
    memset(long_word, 'a', sizeof long_word);
    assert_false(epcis_bizstep_norm(out, long_word, 64)); /* one past the bound */
    assert_true(epcis_bizstep_norm(out, long_word, 63));  /* at the bound */
}

static void test_epcis_documents(void **state)
{
    (void)state;
    json_t *d = epcis_document(json_array(), 1790000000000ull);
    assert_string_equal(json_string_value(json_object_get(d, "type")), "EPCISDocument");
    assert_string_equal(json_string_value(json_object_get(d, "schemaVersion")), "2.0");
    json_t *ctx = json_object_get(d, "@context");
    assert_string_equal(json_string_value(json_array_get(ctx, 0)), EPCIS_CONTEXT_URL);
    assert_string_equal(json_string_value(json_object_get(json_array_get(ctx, 1), "provena")),
                        EPCIS_NS);
    json_decref(d);
    d = epcis_query_document(json_array(), 1790000000000ull);
    assert_non_null(json_object_get(
        json_object_get(json_object_get(json_object_get(d, "epcisBody"), "queryResults"),
                        "resultsBody"),
        "eventList"));
    json_decref(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_epcis_hash_matches_reference_vector),
        cmocka_unit_test(test_epcis_hash_rules_normalize),
        cmocka_unit_test(test_epcis_hash_refuses_unsupported_shapes),
        cmocka_unit_test(test_epcis_prehash_bounded),
        cmocka_unit_test(test_epcis_pack_is_aggregation_event),
        cmocka_unit_test(test_epcis_event_maps_each_type),
        cmocka_unit_test(test_epcis_ilmd_expiry_day_zero_is_month_end),
        cmocka_unit_test(test_epcis_bizstep_query_values),
        cmocka_unit_test(test_epcis_documents),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
