/* gw_json_text (node/gw_json_text.c): the text of a value is what
 * json_dumps(v, JSON_COMPACT) writes, byte for byte — for EPCIS events of
 * every step, for strings with every escape, for nesting at its bound — and a
 * value it does not write (a real, too deep) is refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "node/epcis.h"
#include "node/gw_priv.h"

static void same_as_jansson(gw_json_text *t, const json_t *v)
{
    char *want = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    assert_non_null(want);
    gw_buf b = {.max = 1u << 20};
    assert_true(gw_json_text_write(t, &b, v));
    gw_buf_put(&b, "", 1);
    if (strcmp(b.p, want) != 0)
        fail_msg("yajl: %s\njansson: %s", b.p, want);
    gw_buf_free(&b);
    free(want);
}

static void test_events_of_every_step(void **state)
{
    (void)state;
    gw_json_text *t = gw_json_text_new();
    assert_non_null(t);
    gs1_sgtin id = {"09506000134352", "A\"B/1"};
    uint8_t block[CHAIN_HASH_LEN];
    memset(block, 0xab, sizeof block);
    int compared = 0;
    for (int type = CHAIN_TX_MINT; type <= CHAIN_TX_UNPACK; type++) {
        chain_event ev;
        memset(&ev, 0, sizeof ev);
        ev.type = type;
        ev.time = 1790000000123ull;
        ev.height = 70000;
        ev.index = 9;
        ev.months = 12;
        ev.reason = 1;
        memset(ev.tx, 0x11, sizeof ev.tx);
        memset(ev.actor, 0x22, sizeof ev.actor);
        strcpy(ev.actor_id, type % 2 ? "carrier-dhl" : "");
        strcpy(ev.note, "Glas \"zerbrochen\"\n\tüber 日本 \\ /");
        strcpy(ev.sscc, "309506000134350005");
        ev.has_key = type % 3 == 0;
        epcis_src src = {&id, "L\"1", "281200", block, "DE-BY", "seller-berlin"};
        json_t *e = epcis_event(&ev, &src);
        if (!e)
            continue; /* not a unit event */
        same_as_jansson(t, e);
        same_as_jansson(t, e); /* the writer is reused */
        json_decref(e);
        compared++;
    }
    assert_true(compared >= 14); /* every unit event type */
    gw_json_text_free(t);
}

static void test_every_escape_and_shape(void **state)
{
    (void)state;
    gw_json_text *t = gw_json_text_new();
    char s[40];
    for (int c = 1; c < 32; c++)
        s[c - 1] = (char)c;
    strcpy(s + 31, "\"\\/\x7f");
    json_t *v = json_pack("{s:s,s:[i,I,I,b,b,n],s:{},s:[],s:s,s:s}", "ctl", s, "ints", -1,
                          (json_int_t)0, (json_int_t)9007199254740993LL, 1, 0, "empty", "none",
                          "utf8", "ü€𝄞", "", "");
    assert_non_null(v);
    same_as_jansson(t, v);
    json_decref(v);
    gw_json_text_free(t);
}

static void test_refused_values(void **state)
{
    (void)state;
    gw_json_text *t = gw_json_text_new();
    gw_buf b = {.max = 1u << 20};
    json_t *real = json_pack("{s:f}", "x", 1.5);
    assert_false(gw_json_text_write(t, &b, real));
    json_decref(real);
    /* 32 levels below the top are written; 33 are refused */
    for (int depth = 32; depth <= 33; depth++) {
        json_t *v = json_array();
        for (int i = 0; i < depth; i++) {
            json_t *outer = json_array();
            json_array_append_new(outer, v);
            v = outer;
        }
        b.len = 0;
        b.failed = false;
        if (depth == 32)
            same_as_jansson(t, v);
        else
            assert_false(gw_json_text_write(t, &b, v));
        json_decref(v);
    }
    /* a full buffer fails the write */
    gw_buf small = {.max = 8};
    json_t *long_s = json_string("more than eight bytes");
    assert_false(gw_json_text_write(t, &small, long_s));
    json_decref(long_s);
    gw_buf_free(&small);
    gw_buf_free(&b);
    gw_json_text_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_events_of_every_step),
        cmocka_unit_test(test_every_escape_and_shape),
        cmocka_unit_test(test_refused_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
