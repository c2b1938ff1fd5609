/*
 * fuzz_report.c — libFuzzer target for the body of POST /api/v1/reports
 * (node/gw_parse.c gw_report_parse), which anyone may send for any unit.
 *
 * Input: the first byte picks the Content-Type (0 mod 3: a form, 1: JSON,
 * 2: something else), the rest is the body. Beyond "does not crash": a
 * refused body gets 400/415/422 with a code; an accepted one names a unit
 * whose GTIN is valid and whose serial is of the AI 82 set, and a note of at
 * most CHAIN_NOTE_MAX bytes with no control character but newline and tab
 * (what may be stored in a scans transaction). Seeds: tests/fuzz/corpus/report.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "node/gw_parse.h"

#define CHECK(x)                                                                                   \
    do {                                                                                           \
        if (!(x))                                                                                  \
            abort();                                                                               \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    static const char *const cts[3] = {"application/x-www-form-urlencoded",
                                       "application/json; charset=utf-8", "text/plain"};
    const char *ct = cts[data[0] % 3];
    gw_report rep;
    gw_perr e;
    if (!gw_report_parse(&rep, ct, data + 1, size - 1, &e)) {
        CHECK(e.status == 400 || e.status == 415 || e.status == 422);
        CHECK(e.code != NULL && e.msg[0] != '\0');
        CHECK(!e.bad_code || strcmp(e.code, "bad_unit") == 0);
        return 0;
    }
    CHECK(data[0] % 3 != 2);
    CHECK(rep.form == (data[0] % 3 == 0));
    CHECK(gs1_gtin_valid(rep.link.id.gtin, strlen(rep.link.id.gtin)));
    CHECK(gs1_serial_valid(rep.link.id.serial, strlen(rep.link.id.serial)));
    size_t nl = strlen(rep.note);
    CHECK(nl <= CHAIN_NOTE_MAX);
    for (size_t i = 0; i < nl; i++) {
        unsigned char c = (unsigned char)rep.note[i];
        CHECK(c >= 0x20 || c == '\n' || c == '\t');
        CHECK(c != 0x7f);
    }
    return 0;
}
