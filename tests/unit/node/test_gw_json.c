/* JSON shapes of a resolution and the HTML page rendered from the same view:
 * keys present, owner as fingerprint, escaping, the 30 KB bound. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "node/gw_priv.h"

#define NOW 1790000000u

static chain_unit sample_unit(void)
{
    chain_unit u;
    memset(&u, 0, sizeof u);
    strcpy(u.id.gtin, "09506000123455");
    strcpy(u.id.serial, "X7<b>");
    strcpy(u.brand, "acme");
    strcpy(u.lot, "L1");
    strcpy(u.expiry, "301231");
    strcpy(u.model, "Trail <Runner> & \"Co\"");
    u.state = CHAIN_UNIT_OWNED;
    u.has_owner = true;
    memset(u.owner, 0xab, sizeof u.owner);
    u.minted_at = 1789000000000ull;
    u.sold_at = 1789500000000ull;
    u.warranty_months = 24;
    u.warranty_active = true;
    u.warranty_end = 1789500000000ull + 24ull * CHAIN_MONTH_SECONDS * 1000;
    u.nevents = 3;
    return u;
}

static void sample_events(gw_event ev[3])
{
    memset(ev, 0, 3 * sizeof *ev);
    int types[3] = {CHAIN_TX_MINT, CHAIN_TX_DELIVER, CHAIN_TX_SELL};
    for (int i = 0; i < 3; i++) {
        ev[i].ev.seq = (uint32_t)i;
        ev[i].ev.type = types[i];
        ev[i].ev.time = 1789000000000ull + (uint64_t)i * 3600000;
        ev[i].ev.height = (uint64_t)i + 1;
        memset(ev[i].ev.tx, i + 1, 32);
        memset(ev[i].ev.actor, 0x11 * (i + 1), 32);
        ev[i].ev.actor_role = CHAIN_ROLE_BRAND;
        strcpy(ev[i].ev.actor_id, "acme");
        strcpy(ev[i].actor_name, "Acme <Test>");
    }
    strcpy(ev[1].ev.to, "shop-1");
    strcpy(ev[1].to_name, "Shop One");
    strcpy(ev[1].ev.region, "DE-BY");
    ev[2].ev.actor_id[0] = '\0'; /* a customer key */
    ev[2].actor_name[0] = '\0';
    ev[2].ev.actor_role = CHAIN_ROLE_NONE;
    strcpy(ev[2].ev.note, "<script>alert(1)</script>");
}

static gw_view sample_view(const chain_unit *u, const gw_event *ev)
{
    gw_view v;
    memset(&v, 0, sizeof v);
    v.id = u->id;
    v.unit = u;
    v.brand_name = "Acme Test";
    v.v.status = VERDICT_GENUINE;
    v.events = ev;
    v.nevents = 3;
    v.now = NOW;
    v.report_url = "/api/v1/reports";
    return v;
}

static void test_json_view_shape(void **st)
{
    (void)st;
    chain_unit u = sample_unit();
    gw_event ev[3];
    sample_events(ev);
    gw_view v = sample_view(&u, ev);
    v.v.status = VERDICT_SUSPICIOUS;
    v.v.reasons = 1u << VERDICT_R_IMPOSSIBLE_TRAVEL | 1u << VERDICT_R_REPORTED_FAKE;
    json_t *j = gw_json_view(&v);
    assert_non_null(j);
    json_t *unit = json_object_get(j, "unit"), *vd = json_object_get(j, "verdict"),
           *h = json_object_get(j, "history");
    assert_string_equal(json_string_value(json_object_get(unit, "gtin")), "09506000123455");
    assert_string_equal(json_string_value(json_object_get(unit, "state")), "owned");
    assert_string_equal(json_string_value(json_object_get(unit, "owner_fingerprint")),
                        "abababababababab");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(unit, "warranty"), "status")), "active");
    assert_int_equal(strlen(json_string_value(json_object_get(unit, "label_sig"))), 86);
    assert_string_equal(json_string_value(json_object_get(vd, "status")), "suspicious");
    json_t *rs = json_object_get(vd, "reasons");
    assert_int_equal(json_array_size(rs), 2);
    assert_string_equal(json_string_value(json_array_get(rs, 0)), "impossible_travel");
    assert_string_equal(json_string_value(json_array_get(rs, 1)), "reported_fake");
    assert_int_equal(json_array_size(h), 3);
    json_t *e1 = json_array_get(h, 1);
    assert_string_equal(json_string_value(json_object_get(e1, "type")), "deliver");
    assert_int_equal(json_integer_value(json_object_get(e1, "time")), 1789003600000ll);
    assert_int_equal(json_integer_value(json_object_get(e1, "height")), 2);
    assert_int_equal(strlen(json_string_value(json_object_get(e1, "tx"))), 64);
    assert_int_equal(strlen(json_string_value(json_object_get(e1, "actor"))), 64);
    assert_string_equal(json_string_value(json_object_get(e1, "region")), "DE-BY");
    assert_string_equal(json_string_value(json_object_get(e1, "to")), "shop-1");
    assert_null(json_object_get(json_array_get(h, 0), "region")); /* empty: left out */
    json_decref(j);
}

static void test_json_unknown_unit_view(void **st)
{
    (void)st;
    gw_view v;
    memset(&v, 0, sizeof v);
    strcpy(v.id.gtin, "09506000123455");
    strcpy(v.id.serial, "NOPE");
    v.v.status = VERDICT_NOT_GENUINE;
    v.v.reasons = 1u << VERDICT_R_UNKNOWN_SERIAL;
    json_t *j = gw_json_view(&v);
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "verdict"), "status")),
                        "not_genuine");
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "unit"), "serial")),
                        "NOPE");
    assert_int_equal(json_array_size(json_object_get(j, "history")), 0);
    json_decref(j);
}

static void test_json_receipt_shape(void **st)
{
    (void)st;
    chain_receipt rc;
    memset(&rc, 0, sizeof rc);
    memset(rc.tx, 0xcd, 32);
    rc.code = CHAIN_ERR_STALE_NONCE;
    rc.height = 7;
    strcpy(rc.detail, "expected nonce 3");
    json_t *j = gw_json_receipt(&rc, "rejected");
    assert_string_equal(json_string_value(json_object_get(j, "status")), "rejected");
    assert_string_equal(json_string_value(json_object_get(j, "code")), "stale_nonce");
    assert_string_equal(json_string_value(json_object_get(j, "detail")), "expected nonce 3");
    assert_int_equal(json_integer_value(json_object_get(j, "height")), 7);
    json_decref(j);
    j = gw_json_receipt(&rc, "queued");
    assert_null(json_object_get(j, "code"));
    json_decref(j);
}

static void test_page_has_verdict_and_escapes(void **st)
{
    (void)st;
    chain_unit u = sample_unit();
    gw_event ev[3];
    sample_events(ev);
    gw_view v = sample_view(&u, ev);
    gw_buf b = {0};
    gw_page_render(&b, &v);
    assert_false(b.failed);
    assert_non_null(strstr(b.p, "class=\"b genuine\""));
    assert_non_null(strstr(b.p, "Genuine"));
    assert_non_null(strstr(b.p, "Trail &lt;Runner&gt; &amp; &quot;Co&quot;"));
    assert_non_null(strstr(b.p, "X7&lt;b&gt;"));
    assert_non_null(strstr(b.p, "Acme &lt;Test&gt;"));
    assert_non_null(strstr(b.p, "customer 3333333333333333"));
    assert_non_null(strstr(b.p, "abababababababab"));
    assert_non_null(strstr(b.p, "DE-BY"));
    assert_non_null(strstr(b.p, "Shop One"));
    assert_non_null(strstr(b.p, "action=\"/api/v1/reports?lang=en\""));
    assert_non_null(strstr(b.p, "Report suspected fake"));
    assert_null(strstr(b.p, "<script"));
    assert_null(strstr(b.p, "<b>X7")); /* the raw serial never appears */
    assert_non_null(strstr(b.p, "&lt;script&gt;"));
    gw_buf_free(&b);
}

static void test_page_bounded_with_huge_history(void **st)
{
    (void)st;
    chain_unit u = sample_unit();
    static gw_event ev[GW_HISTORY_MAX];
    memset(ev, 0, sizeof ev);
    for (size_t i = 0; i < GW_HISTORY_MAX; i++) {
        ev[i].ev.type = CHAIN_TX_FLAG;
        ev[i].ev.reason = CHAIN_FLAG_RECALLED;
        memset(ev[i].ev.note, '&', CHAIN_NOTE_MAX); /* worst case: every byte escapes */
        strcpy(ev[i].actor_name, "<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<");
        strcpy(ev[i].ev.region, "DE-BY");
    }
    u.nevents = 5000;
    gw_view v = sample_view(&u, ev);
    v.nevents = GW_HISTORY_MAX;
    v.v.status = VERDICT_RECALLED;
    v.v.reasons = (1u << VERDICT_R__COUNT) - 1;
    gw_buf b = {0};
    gw_page_render(&b, &v);
    assert_false(b.failed);
    assert_true(b.len < 30 * 1024);
    assert_non_null(strstr(b.p, "earlier events are in the JSON history"));
    assert_non_null(strstr(b.p, "</html>"));
    gw_buf_free(&b);
}

static void test_page_unknown_unit(void **st)
{
    (void)st;
    gw_view v;
    memset(&v, 0, sizeof v);
    strcpy(v.id.gtin, "09506000123455");
    strcpy(v.id.serial, "NOPE");
    v.v.status = VERDICT_NOT_GENUINE;
    v.v.reasons = 1u << VERDICT_R_UNKNOWN_SERIAL;
    gw_buf b = {0};
    gw_page_render(&b, &v);
    assert_non_null(strstr(b.p, "class=\"b not_genuine\""));
    assert_non_null(strstr(b.p, "Not genuine"));
    assert_non_null(strstr(b.p, "never made by the brand"));
    gw_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_view_shape),
        cmocka_unit_test(test_json_unknown_unit_view),
        cmocka_unit_test(test_json_receipt_shape),
        cmocka_unit_test(test_page_has_verdict_and_escapes),
        cmocka_unit_test(test_page_bounded_with_huge_history),
        cmocka_unit_test(test_page_unknown_unit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
