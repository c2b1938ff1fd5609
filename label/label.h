/*
 * label.h — QR labels for a unit's Digital Link URL (libqrencode), as SVG text
 * or PNG bytes (libpng), and a printable A4 sheet of many labels as one SVG.
 *
 * Labels use error correction level M, byte mode, a 4-module quiet zone (the
 * QR standard's minimum) and square modules; the PNG is 1-bit greyscale.
 * Everything is in memory; nothing here touches the ledger. Thread-safe.
 */
#ifndef PROVENA_LABEL_LABEL_H
#define PROVENA_LABEL_LABEL_H

#include <stddef.h>
#include <stdint.h>

#define LABEL_URL_MAX   1024 /* longest URL encoded (GS1_DL_MAX) */
#define LABEL_QUIET     4    /* quiet zone, modules */
#define LABEL_PNG_SCALE 8    /* default pixels per module */
#define LABEL_SCALE_MAX 32
#define LABEL_SHEET_MAX 10000 /* labels on one sheet document (pages follow one another) */

enum label_err {
    LABEL_OK = 0,
    LABEL_ERR_INVALID, /* empty or too long URL, bad scale */
    LABEL_ERR_NOMEM,
    LABEL_ERR_ENCODE, /* libqrencode or libpng failed */
};

/* SVG document (NUL-terminated, *out malloc'd, caller frees) of the QR code of
 * url, sized in modules by its viewBox and `size_mm` millimetres wide when
 * size_mm > 0 (else 100% of its container). 0 or a label_err; *out written on
 * success only. */
int label_svg(char **out, size_t *out_len, const char *url, unsigned size_mm)
    __attribute__((warn_unused_result));

/* PNG image of the QR code of url, `scale` pixels per module (0: LABEL_PNG_SCALE). */
int label_png(uint8_t **out, size_t *out_len, const char *url, unsigned scale)
    __attribute__((warn_unused_result));

/* Printable SVG sheet: n labels in a grid on A4 pages (stacked vertically in
 * one document), each a 30 mm QR code with captions[i] (may be NULL) printed
 * under it, text escaped. */
int label_sheet_svg(char **out, size_t *out_len, const char *const *urls,
                    const char *const *captions, size_t n) __attribute__((warn_unused_result));

const char *label_strerror(int err);

#endif
