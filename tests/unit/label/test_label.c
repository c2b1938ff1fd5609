/* Label promises: SVG and PNG of a URL decode back to the exact URL (zbarimg),
 * a quiet zone surrounds the code, bad input is refused, sheets escape text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "label/label.h"

static const char *URL =
    "https://scan.example.com/01/09506000123455/21/Ab7-x_Q9?10=L%2F1&17=261231&"
    "sig=Vd1k2l3m4n5o6p7q8r9s0tUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefgh";

static int have_zbarimg(void)
{
    return system("command -v zbarimg >/dev/null 2>&1") == 0;
}

/* A round trip that cannot run (a decoder missing) is a skip, and main() then
 * exits 77, which ctest reports as "Skipped" (SKIP_RETURN_CODE), never "Passed".
 * scripts/install-deps.sh installs both tools. */
static int skipped;

#define SKIP_BECAUSE(why)                                                                     \
    do {                                                                                      \
        fprintf(stderr, "SKIPPED: %s\n", why);                                                \
        skipped++;                                                                            \
        skip();                                                                               \
    } while (0)

static void test_label_png_round_trip(void **state)
{
    (void)state;
    uint8_t *png = NULL;
    size_t len = 0;
    assert_int_equal(label_png(&png, &len, URL, 0), LABEL_OK);
    assert_true(len > 100);
    assert_memory_equal(png, "\x89PNG\r\n\x1a\n", 8);
    if (!have_zbarimg()) {
        free(png);
        SKIP_BECAUSE("zbarimg not installed (apt-get install zbar-tools)");
    }
    char path[] = "/tmp/provena-label-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, png, len), (ssize_t)len);
    close(fd);
    free(png);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "zbarimg --quiet --raw %s", path);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    char got[2048] = {0};
    size_t n = fread(got, 1, sizeof got - 1, p);
    pclose(p);
    unlink(path);
    while (n > 0 && (got[n - 1] == '\n' || got[n - 1] == '\r'))
        got[--n] = '\0';
    assert_string_equal(got, URL);
}

static void test_label_png_has_quiet_zone(void **state)
{
    (void)state;
    /* Width in the IHDR: (modules + 2 * quiet) * scale. Version 1 is 21 modules;
     * a short URL at level M needs version 2 (25) at most. */
    uint8_t *png = NULL;
    size_t len = 0;
    assert_int_equal(label_png(&png, &len, "http://a/01/1/21/2", 2), LABEL_OK);
    uint32_t w =
        (uint32_t)png[16] << 24 | (uint32_t)png[17] << 16 | (uint32_t)png[18] << 8 | png[19];
    assert_true(w == (21 + 2 * LABEL_QUIET) * 2 || w == (25 + 2 * LABEL_QUIET) * 2);
    free(png);
}

static void test_label_svg_shape(void **state)
{
    (void)state;
    char *svg = NULL;
    size_t len = 0;
    assert_int_equal(label_svg(&svg, &len, URL, 30), LABEL_OK);
    assert_int_equal(strlen(svg), len);
    assert_non_null(strstr(svg, "<svg xmlns=\"http://www.w3.org/2000/svg\""));
    assert_non_null(strstr(svg, "width=\"30mm\""));
    assert_non_null(strstr(svg, "<path d=\"M"));
    assert_non_null(strstr(svg, "</svg>"));
    assert_true(len < 16384);
    free(svg);
}

static void test_label_svg_round_trip(void **state)
{
    (void)state;
    if (!have_zbarimg())
        SKIP_BECAUSE("zbarimg not installed (apt-get install zbar-tools)");
    /* zbarimg reads SVG only through an external rasterizer */
    if (system("command -v rsvg-convert >/dev/null 2>&1") != 0)
        SKIP_BECAUSE("rsvg-convert not installed (apt-get install librsvg2-bin)");
    char *svg = NULL;
    size_t len = 0;
    assert_int_equal(label_svg(&svg, &len, URL, 0), LABEL_OK);
    char path[] = "/tmp/provena-label-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, svg, len), (ssize_t)len);
    close(fd);
    free(svg);
    char cmd[512];
    snprintf(cmd, sizeof cmd,
             "rsvg-convert -w 400 -b white %s -o %s.png && zbarimg --quiet --raw %s.png", path,
             path, path);
    FILE *p = popen(cmd, "r");
    char got[2048] = {0};
    size_t n = fread(got, 1, sizeof got - 1, p);
    pclose(p);
    snprintf(cmd, sizeof cmd, "%s.png", path);
    unlink(cmd);
    unlink(path);
    while (n > 0 && got[n - 1] == '\n')
        got[--n] = '\0';
    assert_string_equal(got, URL);
}

static void test_label_refuses_bad_input(void **state)
{
    (void)state;
    char *svg = (char *)0x1;
    uint8_t *png = (uint8_t *)0x1;
    size_t len = 7;
    assert_int_equal(label_svg(&svg, &len, "", 0), LABEL_ERR_INVALID);
    assert_int_equal(label_svg(&svg, &len, NULL, 0), LABEL_ERR_INVALID);
    char big[LABEL_URL_MAX + 2];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    assert_int_equal(label_png(&png, &len, big, 0), LABEL_ERR_INVALID);
    assert_int_equal(label_png(&png, &len, URL, LABEL_SCALE_MAX + 1), LABEL_ERR_INVALID);
    /* outputs untouched on failure */
    assert_ptr_equal(svg, (char *)0x1);
    assert_ptr_equal(png, (uint8_t *)0x1);
    assert_int_equal(len, 7);
}

static void test_label_sheet_escapes_and_pages(void **state)
{
    (void)state;
    const char *urls[40], *caps[40];
    for (int i = 0; i < 40; i++) {
        urls[i] = URL;
        caps[i] = i == 3 ? "<b>&\"x\"" : "09506000123455/ABC";
    }
    char *svg = NULL;
    size_t len = 0;
    assert_int_equal(label_sheet_svg(&svg, &len, urls, caps, 40), LABEL_OK);
    assert_null(strstr(svg, "<b>"));
    assert_non_null(strstr(svg, "&lt;b&gt;&amp;&quot;x&quot;"));
    assert_non_null(strstr(svg, "height=\"594mm\"")); /* 40 labels: two A4 pages */
    free(svg);
    assert_int_equal(label_sheet_svg(&svg, &len, urls, caps, 0), LABEL_ERR_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_label_png_round_trip),
        cmocka_unit_test(test_label_png_has_quiet_zone),
        cmocka_unit_test(test_label_svg_shape),
        cmocka_unit_test(test_label_svg_round_trip),
        cmocka_unit_test(test_label_refuses_bad_input),
        cmocka_unit_test(test_label_sheet_escapes_and_pages),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    return failed ? failed : skipped ? 77 : 0;
}
