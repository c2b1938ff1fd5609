/* The pages' languages: the choice by ?lang= and Accept-Language, the English
 * fallback, every message present in English, and a page rendered in each
 * language with its lang attribute, its words and no enum names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "node/gw_i18n.h"
#include "node/gw_priv.h"

static void test_lang_query_wins_over_header(void **st)
{
    (void)st;
    assert_int_equal(gw_lang_pick("de", "fr,en;q=0.5"), GW_LANG_DE);
    assert_int_equal(gw_lang_pick("JA", NULL), GW_LANG_JA);
    assert_int_equal(gw_lang_pick("zh-Hant-TW", NULL), GW_LANG_ZH);
    /* unsupported or malformed ?lang= falls to the header */
    assert_int_equal(gw_lang_pick("xx", "es"), GW_LANG_ES);
    assert_int_equal(gw_lang_pick("", "fr-CA"), GW_LANG_FR);
    assert_int_equal(gw_lang_pick("deu", NULL), GW_LANG_EN);
}

static void test_lang_accept_language_q(void **st)
{
    (void)st;
    assert_int_equal(gw_lang_pick(NULL, NULL), GW_LANG_EN);
    assert_int_equal(gw_lang_pick(NULL, ""), GW_LANG_EN);
    assert_int_equal(gw_lang_pick(NULL, "de-DE,de;q=0.9,en;q=0.8"), GW_LANG_DE);
    assert_int_equal(gw_lang_pick(NULL, "en;q=0.4, ja;q=0.9"), GW_LANG_JA);
    assert_int_equal(gw_lang_pick(NULL, "pt-BR, es;q=0.3"), GW_LANG_ES);  /* first supported */
    assert_int_equal(gw_lang_pick(NULL, "fr;q=0, zh;q=0.1"), GW_LANG_ZH); /* q=0 excludes */
    assert_int_equal(gw_lang_pick(NULL, "fr;q=0"), GW_LANG_EN);
    assert_int_equal(gw_lang_pick(NULL, "fr;q=2, de"), GW_LANG_DE); /* malformed q ignored */
    assert_int_equal(gw_lang_pick(NULL, "*"), GW_LANG_EN);
    assert_int_equal(gw_lang_pick(NULL, ",,,;;;q=,"), GW_LANG_EN);
}

static void test_lang_header_read_to_its_bound(void **st)
{
    (void)st;
    static char h[GW_LANG_HEADER_MAX + 16];
    memset(h, ' ', sizeof h - 1);
    h[sizeof h - 1] = '\0';
    /* "de" ends exactly at the bound: read; one byte later: not read */
    memcpy(h + GW_LANG_HEADER_MAX - 2, "de", 2);
    h[GW_LANG_HEADER_MAX] = '\0';
    assert_int_equal(gw_lang_pick(NULL, h), GW_LANG_DE);
    memset(h, ' ', sizeof h - 1);
    memcpy(h + GW_LANG_HEADER_MAX - 1, "de", 2);
    h[GW_LANG_HEADER_MAX + 1] = '\0';
    assert_int_equal(gw_lang_pick(NULL, h), GW_LANG_EN);
}

static void test_every_message_has_english_and_fallback(void **st)
{
    (void)st;
    for (int m = 0; m < GW_M__COUNT; m++)
        for (int l = 0; l < GW_LANG__COUNT; l++) {
            const char *s = gw_msg(l, m);
            assert_non_null(s);
            if (m != GW_M_MADE_BY_PRE) /* empty in Japanese by grammar */
                assert_true(s[0] != '\0');
        }
    assert_string_equal(gw_msg(GW_LANG_DE, GW_M_GTIN), "GTIN"); /* NULL cell → English */
    assert_string_equal(gw_msg(99, GW_M_ST_GENUINE), "Genuine");
    assert_string_equal(gw_msg(GW_LANG_EN, GW_M__COUNT), "");
    assert_string_equal(gw_lang_code(GW_LANG_ZH), "zh");
    assert_string_equal(gw_lang_code(-1), "en");
}

static void render(gw_buf *b, int lang, int status, uint32_t reasons, int state)
{
    chain_unit u;
    memset(&u, 0, sizeof u);
    strcpy(u.id.gtin, "09506000123455");
    strcpy(u.id.serial, "S1");
    strcpy(u.brand, "acme");
    strcpy(u.model, "Pack");
    u.state = state;
    u.flags = CHAIN_FLAG_RECALLED;
    u.nevents = 1;
    gw_event ev;
    memset(&ev, 0, sizeof ev);
    ev.ev.type = CHAIN_TX_FLAG;
    ev.ev.reason = CHAIN_FLAG_RECALLED;
    ev.ev.height = 9;
    strcpy(ev.actor_name, "Acme");
    gw_view v;
    memset(&v, 0, sizeof v);
    v.id = u.id;
    v.unit = &u;
    v.brand_name = "Acme";
    v.v.status = status;
    v.v.reasons = reasons;
    v.events = &ev;
    v.nevents = 1;
    v.now = 1790000000u;
    v.lang = lang;
    v.height = 1234;
    v.self_url = "/01/09506000123455/21/S1?sig=abc";
    gw_page_render(b, &v);
}

static void test_page_speaks_the_language(void **st)
{
    (void)st;
    static const struct {
        int lang;
        const char *attr, *title, *reason, *state;
    } cases[] = {
        {GW_LANG_EN, "lang=\"en\"", "Recalled", "The brand has recalled this unit",
         "sold and owned by a customer"},
        {GW_LANG_DE, "lang=\"de\"", "Zurückgerufen", "Die Marke hat dieses Exemplar zurückgerufen",
         "verkauft, im Besitz eines Kunden"},
        {GW_LANG_FR, "lang=\"fr\"", "Rappelé", "La marque a rappelé cet exemplaire", NULL},
        {GW_LANG_ES, "lang=\"es\"", "Retirado del mercado", "La marca ha retirado esta unidad",
         NULL},
        {GW_LANG_JA, "lang=\"ja\"", "リコール対象", "ブランドがこの製品をリコールしました", NULL},
        {GW_LANG_ZH, "lang=\"zh\"", "已召回", "品牌已召回此商品", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        gw_buf b = {0};
        render(&b, cases[i].lang, VERDICT_RECALLED, 1u << VERDICT_R_RECALLED, CHAIN_UNIT_OWNED);
        assert_false(b.failed);
        assert_non_null(strstr(b.p, cases[i].attr));
        assert_non_null(strstr(b.p, cases[i].title));
        assert_non_null(strstr(b.p, cases[i].reason));
        if (cases[i].state)
            assert_non_null(strstr(b.p, cases[i].state));
        /* no enum names where people read */
        assert_null(strstr(b.p, ">owned<"));
        assert_null(strstr(b.p, ">sold<"));
        assert_non_null(strstr(b.p, "1234"));
        gw_buf_free(&b);
    }
}

static void test_page_as_of_block_and_language_links(void **st)
{
    (void)st;
    gw_buf b = {0};
    render(&b, GW_LANG_EN, VERDICT_GENUINE, 0, CHAIN_UNIT_SOLD);
    assert_non_null(strstr(b.p, "<p id=\"as-of\">as of block 1234</p>"));
    assert_non_null(strstr(b.p, "href=\"/01/09506000123455/21/S1?sig=abc&amp;lang=de\""));
    assert_non_null(strstr(b.p, "aria-current=\"page\">English</a>"));
    gw_buf_free(&b);
}

/* The banner's reasons are not history cards: the card style is scoped to
 * the history list, so it cannot paint the reasons white on white. */
static void test_reason_lines_keep_banner_colours(void **st)
{
    (void)st;
    gw_buf b = {0};
    render(&b, GW_LANG_EN, VERDICT_RECALLED, 1u << VERDICT_R_RECALLED, CHAIN_UNIT_OWNED);
    assert_null(strstr(b.p, "}li{"));
    assert_non_null(strstr(b.p, "ol.h>li{background:#fff"));
    assert_non_null(strstr(b.p, ".b li{color:#fff;background:none"));
    assert_non_null(strstr(b.p, "<ol class=\"h\">"));
    gw_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lang_query_wins_over_header),
        cmocka_unit_test(test_lang_accept_language_q),
        cmocka_unit_test(test_lang_header_read_to_its_bound),
        cmocka_unit_test(test_every_message_has_english_and_fallback),
        cmocka_unit_test(test_page_speaks_the_language),
        cmocka_unit_test(test_page_as_of_block_and_language_links),
        cmocka_unit_test(test_reason_lines_keep_banner_colours),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
