/*
 * fuzz_gs1.c — libFuzzer target for the GS1 parsers (chain/gs1.c) behind
 * every scan: a Digital Link URL, its path, "GTIN/SERIAL" or an element
 * string, as the gateway takes them from a URL or a report; and the
 * percent-decoder (chain_pct_decode) every URL path and query value goes
 * through.
 *
 * Beyond "does not crash": an accepted unit has a valid GTIN-14 (check
 * digit), a serial and a lot of the AI 82 set within their bounds and an
 * expiry of six digits; its canonical Digital Link (gs1_link_format) parses
 * back to the same unit, lot, expiry and sig. The decoder never writes past
 * its capacity, never lets a NUL through, and decodes an input without '%'
 * to itself. A compressed Digital Link (gs1_dl_decompress) that decodes
 * gives a path of printable ASCII within its capacity that names one primary
 * key. Seeds: tests/fuzz/corpus/gs1.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "chain/chain.h"
#include "chain/gs1.h"

#define CHECK(x)                                                                                   \
    do {                                                                                           \
        if (!(x))                                                                                  \
            abort();                                                                               \
    } while (0)

static void check_unit(const char *s, size_t n)
{
    gs1_link l;
    char err[160];
    if (gs1_parse_unit(&l, s, n, err, sizeof err) != 0) {
        CHECK(memchr(err, '\0', sizeof err) != NULL && err[0] != '\0');
        return;
    }
    CHECK(n <= GS1_DL_MAX);
    CHECK(gs1_gtin_valid(l.id.gtin, strlen(l.id.gtin)));
    CHECK(gs1_serial_valid(l.id.serial, strlen(l.id.serial)));
    size_t lot = strlen(l.lot), exp = strlen(l.expiry);
    CHECK(lot == 0 || gs1_serial_valid(l.lot, lot));
    CHECK(exp == 0 || exp == 6);
    for (size_t i = 0; i < exp; i++)
        CHECK(l.expiry[i] >= '0' && l.expiry[i] <= '9');
    CHECK(strlen(l.sig) <= GS1_SIG_B64_MAX && strlen(l.region) < sizeof l.region);

    char url[GS1_DL_MAX + 1];
    int len = gs1_link_format(url, sizeof url, "https://id.example.com", &l);
    CHECK(len > 0 && (size_t)len == strlen(url));
    gs1_link back;
    CHECK(gs1_parse_unit(&back, url, (size_t)len, err, sizeof err) == 0);
    CHECK(strcmp(back.id.gtin, l.id.gtin) == 0 && strcmp(back.id.serial, l.id.serial) == 0);
    CHECK(strcmp(back.lot, l.lot) == 0 && strcmp(back.expiry, l.expiry) == 0);
    CHECK(strcmp(back.sig, l.sig) == 0);
}

static void check_pct(const char *s, size_t n)
{
    char out[64 + 1];
    size_t cap = 1 + (n % 64); /* every capacity, also one too small */
    memset(out, 0x7e, sizeof out);
    int len = chain_pct_decode(out, cap, s, n);
    CHECK(out[cap] == 0x7e || cap == sizeof out);
    if (len < 0)
        return;
    CHECK((size_t)len < cap && out[len] == '\0' && strlen(out) == (size_t)len);
    CHECK((size_t)len <= n);
    if (!memchr(s, '%', n))
        CHECK((size_t)len == n && memcmp(out, s, n) == 0);
}

static void check_compressed(const char *s, size_t n)
{
    char out[GS1_DL_MAX + 1], err[160];
    size_t cap = 64 + n % (sizeof out - 64); /* small capacities too */
    memset(out, 0x7e, sizeof out);
    int len = gs1_dl_decompress(out, cap, s, n, err, sizeof err);
    if (len < 0) {
        CHECK(memchr(err, '\0', sizeof err) != NULL && err[0] != '\0');
        return;
    }
    CHECK((size_t)len < cap && out[len] == '\0' && strlen(out) == (size_t)len);
    for (int i = 0; i < len; i++)
        CHECK(out[i] > ' ' && out[i] <= '~');
    CHECK(strncmp(out, "/00/", 4) == 0 || strncmp(out, "/01/", 4) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_unit((const char *)data, size);
    check_compressed((const char *)data, size);
    check_pct((const char *)data, size);
    char norm[GS1_GTIN_LEN + 1];
    if (gs1_gtin_normalize(norm, (const char *)data, size) == 0)
        CHECK(gs1_gtin_valid(norm, GS1_GTIN_LEN));
    return 0;
}
