/*
 * label.c — QR codes as SVG and PNG.
 *
 * One encoder call (qr_make) feeds three writers. The SVG draws each row's
 * runs of dark modules as one path ("M x y h n v 1 h -n z"), so a label is a
 * few kilobytes and scales without blur; the PNG writes 1-bit rows through
 * libpng into a growing memory buffer (png_set_write_fn). A sheet places
 * 30 mm codes on A4 pages with their captions, for the CLI's print command.
 * libqrencode's own state is per call, so everything here is thread-safe.
 */
#include "label/label.h"

#include <png.h>
#include <qrencode.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A growing output buffer; `failed` sticks on the first allocation failure. */
typedef struct obuf {
    char *p;
    size_t len, cap;
    int failed;
} obuf;

static void ob_put(obuf *o, const void *s, size_t n)
{
    if (o->failed)
        return;
    if (o->len + n + 1 > o->cap) {
        size_t cap = o->cap ? o->cap : 4096;
        while (cap < o->len + n + 1)
            cap *= 2;
        char *p = realloc(o->p, cap);
        if (!p) {
            o->failed = 1;
            return;
        }
        o->p = p;
        o->cap = cap;
    }
    memcpy(o->p + o->len, s, n);
    o->len += n;
    o->p[o->len] = '\0';
}

__attribute__((format(printf, 2, 3))) static void ob_printf(obuf *o, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof tmp) {
        o->failed = 1;
        return;
    }
    ob_put(o, tmp, (size_t)n);
}

static void ob_escape(obuf *o, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '&':
            ob_put(o, "&amp;", 5);
            break;
        case '<':
            ob_put(o, "&lt;", 4);
            break;
        case '>':
            ob_put(o, "&gt;", 4);
            break;
        case '"':
            ob_put(o, "&quot;", 6);
            break;
        case '\'':
            ob_put(o, "&#39;", 5);
            break;
        default:
            /* Control characters are not valid XML 1.0 text. */
            if ((unsigned char)*s >= 0x20 || *s == '\t')
                ob_put(o, s, 1);
        }
    }
}

static int qr_make(QRcode **out, const char *url)
{
    size_t n = url ? strnlen(url, LABEL_URL_MAX + 1) : 0;
    if (n == 0 || n > LABEL_URL_MAX)
        return LABEL_ERR_INVALID;
    QRcode *q = QRcode_encodeString8bit(url, 0, QR_ECLEVEL_M);
    if (!q)
        return LABEL_ERR_ENCODE;
    *out = q;
    return LABEL_OK;
}

static inline int qr_dark(const QRcode *q, int x, int y)
{
    return q->data[y * q->width + x] & 1;
}

/* The path of dark modules, offset by (ox, oy) in module units scaled by k. */
static void svg_path(obuf *o, const QRcode *q, double ox, double oy, double k)
{
    ob_put(o, "<path d=\"", 9);
    for (int y = 0; y < q->width; y++) {
        for (int x = 0; x < q->width;) {
            if (!qr_dark(q, x, y)) {
                x++;
                continue;
            }
            int run = 1;
            while (x + run < q->width && qr_dark(q, x + run, y))
                run++;
            if (k == 1.0)
                ob_printf(o, "M%d %dh%dv1h-%dz", x + (int)ox, y + (int)oy, run, run);
            else
                ob_printf(o, "M%.2f %.2fh%.2fv%.2fh-%.2fz", ox + x * k, oy + y * k, run * k, k,
                          run * k);
            x += run;
        }
    }
    ob_put(o, "\"/>", 3);
}

int label_svg(char **out, size_t *out_len, const char *url, unsigned size_mm)
{
    QRcode *q;
    int rc = qr_make(&q, url);
    if (rc != LABEL_OK)
        return rc;
    int dim = q->width + 2 * LABEL_QUIET;
    obuf o = {0};
    if (size_mm > 0)
        ob_printf(&o,
                  "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%umm\" height=\"%umm\" "
                  "viewBox=\"0 0 %d %d\" shape-rendering=\"crispEdges\">",
                  size_mm, size_mm, dim, dim);
    else
        ob_printf(&o,
                  "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\" "
                  "shape-rendering=\"crispEdges\">",
                  dim, dim);
    ob_printf(&o, "<rect width=\"%d\" height=\"%d\" fill=\"#fff\"/>", dim, dim);
    svg_path(&o, q, LABEL_QUIET, LABEL_QUIET, 1.0);
    ob_put(&o, "</svg>\n", 7);
    QRcode_free(q);
    if (o.failed) {
        free(o.p);
        return LABEL_ERR_NOMEM;
    }
    *out = o.p;
    *out_len = o.len;
    return LABEL_OK;
}

static void png_write_cb(png_structp png, png_bytep data, png_size_t n)
{
    obuf *o = png_get_io_ptr(png);
    ob_put(o, data, n);
    if (o->failed)
        png_error(png, "out of memory");
}

static void png_flush_cb(png_structp png)
{
    (void)png;
}

/* Writes the PNG of q into o. The setjmp lives here, in a function whose
 * locals are all set before it and never changed after (no clobbering). */
static int png_encode(obuf *o, const QRcode *q, unsigned scale, png_bytep row)
{
    const unsigned dim = (unsigned)(q->width + 2 * LABEL_QUIET) * scale;
    const size_t rowbytes = (dim + 7) / 8;
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    if (!png)
        return LABEL_ERR_NOMEM;
    png_infop info = png_create_info_struct(png);
    if (!info) {
        png_destroy_write_struct(&png, NULL);
        return LABEL_ERR_NOMEM;
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        return o->failed ? LABEL_ERR_NOMEM : LABEL_ERR_ENCODE;
    }
    png_set_write_fn(png, o, png_write_cb, png_flush_cb);
    png_set_IHDR(png, info, dim, dim, 1, PNG_COLOR_TYPE_GRAY, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    for (unsigned py = 0; py < dim; py++) {
        int my = (int)(py / scale) - LABEL_QUIET;
        memset(row, 0xff, rowbytes); /* 1 = white in 1-bit greyscale */
        if (my >= 0 && my < q->width) {
            for (unsigned px = 0; px < dim; px++) {
                int mx = (int)(px / scale) - LABEL_QUIET;
                if (mx >= 0 && mx < q->width && qr_dark(q, mx, my))
                    row[px / 8] &= (png_byte) ~(0x80u >> (px % 8));
            }
        }
        png_write_row(png, row);
    }
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    return LABEL_OK;
}

int label_png(uint8_t **out, size_t *out_len, const char *url, unsigned scale)
{
    if (scale == 0)
        scale = LABEL_PNG_SCALE;
    if (scale > LABEL_SCALE_MAX)
        return LABEL_ERR_INVALID;
    QRcode *q;
    int rc = qr_make(&q, url);
    if (rc != LABEL_OK)
        return rc;
    unsigned dim = (unsigned)(q->width + 2 * LABEL_QUIET) * scale;
    obuf o = {0};
    png_bytep row = calloc(1, (dim + 7) / 8);
    rc = row ? png_encode(&o, q, scale, row) : LABEL_ERR_NOMEM;
    if (rc == LABEL_OK && o.failed)
        rc = LABEL_ERR_NOMEM;
    free(row);
    QRcode_free(q);
    if (rc != LABEL_OK) {
        free(o.p);
        return rc;
    }
    *out = (uint8_t *)o.p;
    *out_len = o.len;
    return LABEL_OK;
}

/* A4 in mm, 30 mm codes in a 5 × 7 grid per page with room for two caption lines. */
#define SHEET_W     210.0
#define SHEET_H     297.0
#define SHEET_COLS  5
#define SHEET_ROWS  7
#define SHEET_CELLW 40.0
#define SHEET_CELLH 40.0
#define SHEET_QR    30.0
#define SHEET_MX    5.0
#define SHEET_MY    8.5

int label_sheet_svg(char **out, size_t *out_len, const char *const *urls,
                    const char *const *captions, size_t n)
{
    if (n == 0 || n > LABEL_SHEET_MAX || !urls)
        return LABEL_ERR_INVALID;
    size_t per_page = SHEET_COLS * SHEET_ROWS;
    size_t pages = (n + per_page - 1) / per_page;
    obuf o = {0};
    ob_printf(&o,
              "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0fmm\" height=\"%.0fmm\" "
              "viewBox=\"0 0 %.0f %.0f\" shape-rendering=\"crispEdges\">"
              "<rect width=\"%.0f\" height=\"%.0f\" fill=\"#fff\"/>",
              SHEET_W, SHEET_H * (double)pages, SHEET_W, SHEET_H * (double)pages, SHEET_W,
              SHEET_H * (double)pages);
    int rc = LABEL_OK;
    for (size_t i = 0; i < n && rc == LABEL_OK; i++) {
        QRcode *q;
        rc = qr_make(&q, urls[i]);
        if (rc != LABEL_OK)
            break;
        size_t page = i / per_page, cell = i % per_page;
        double x = SHEET_MX + (double)(cell % SHEET_COLS) * SHEET_CELLW;
        double y = SHEET_H * (double)page + SHEET_MY + (double)(cell / SHEET_COLS) * SHEET_CELLH;
        double k = SHEET_QR / (double)(q->width + 2 * LABEL_QUIET);
        svg_path(&o, q, x + LABEL_QUIET * k, y + LABEL_QUIET * k, k);
        QRcode_free(q);
        if (captions && captions[i]) {
            ob_printf(&o,
                      "<text x=\"%.2f\" y=\"%.2f\" font-family=\"monospace\" font-size=\"2.6\" "
                      "text-anchor=\"middle\">",
                      x + SHEET_QR / 2, y + SHEET_QR + 2.5);
            ob_escape(&o, captions[i]);
            ob_put(&o, "</text>", 7);
        }
    }
    ob_put(&o, "</svg>\n", 7);
    if (rc == LABEL_OK && o.failed)
        rc = LABEL_ERR_NOMEM;
    if (rc != LABEL_OK) {
        free(o.p);
        return rc;
    }
    *out = o.p;
    *out_len = o.len;
    return LABEL_OK;
}

const char *label_strerror(int err)
{
    switch (err) {
    case LABEL_OK:
        return "ok";
    case LABEL_ERR_INVALID:
        return "invalid label input (empty or too long URL, bad scale)";
    case LABEL_ERR_NOMEM:
        return "out of memory";
    case LABEL_ERR_ENCODE:
        return "QR/PNG encoding failed";
    default:
        return "unknown label error";
    }
}
