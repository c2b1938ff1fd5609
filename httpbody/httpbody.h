/*
 * httpbody.h — the body of an HTTP answer, collected by libcurl into one
 * bounded buffer: the CLI's requests (cli/cli_http.c) and a node's catch-up
 * (replica/catchup.c) both read their answers through it.
 *
 * Use: httpbody_init(&b, max); CURLOPT_WRITEFUNCTION = httpbody_write,
 * CURLOPT_WRITEDATA = &b; after curl_easy_perform, b.p holds b.len bytes
 * followed by a NUL (b.p is NULL while nothing arrived). An answer longer
 * than max makes httpbody_write return 0, which aborts the transfer, and
 * sets b.overflow; a failed allocation aborts it the same way with overflow
 * unset. httpbody_reset empties b for the next answer and keeps its memory;
 * httpbody_free releases it.
 *
 * A leaf module (no Provena includes, no libcurl header: the write callback
 * has plain C types). One httpbody belongs to one transfer at a time.
 */
#ifndef PROVENA_HTTPBODY_HTTPBODY_H
#define PROVENA_HTTPBODY_HTTPBODY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct httpbody {
    uint8_t *p;    /* len bytes and a NUL; NULL until the first byte */
    size_t len;    /* bytes received */
    size_t cap;    /* bytes allocated at p */
    size_t max;    /* most bytes an answer may have */
    bool overflow; /* the answer was longer than max */
} httpbody;

/* An empty body that takes at most max bytes. */
void httpbody_init(httpbody *b, size_t max);

/* libcurl's write callback (ud is the httpbody): appends size * nmemb bytes
 * and returns that count, or 0 to abort (over max, or out of memory). */
size_t httpbody_write(char *data, size_t size, size_t nmemb, void *ud);

/* Empties b for the next answer (keeps its buffer and max). */
void httpbody_reset(httpbody *b);

/* Releases the buffer; b is empty afterwards. NULL-safe. */
void httpbody_free(httpbody *b);

#endif
