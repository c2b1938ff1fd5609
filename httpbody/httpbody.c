/*
 * httpbody.c — a growing, bounded buffer filled by libcurl's write callback.
 * The buffer doubles from 4 KiB and always keeps one byte for a trailing NUL,
 * so a JSON answer can be parsed as a C string.
 */
#include "httpbody/httpbody.h"

#include <stdlib.h>
#include <string.h>

void httpbody_init(httpbody *b, size_t max)
{
    memset(b, 0, sizeof *b);
    b->max = max;
}

size_t httpbody_write(char *data, size_t size, size_t nmemb, void *ud)
{
    httpbody *b = ud;
    size_t n = size * nmemb;
    if (n > b->max - b->len) {
        b->overflow = true;
        return 0; /* aborts the transfer */
    }
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n + 1)
            cap *= 2;
        uint8_t *np = realloc(b->p, cap);
        if (np == NULL)
            return 0;
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->len, data, n);
    b->len += n;
    b->p[b->len] = '\0';
    return n;
}

void httpbody_reset(httpbody *b)
{
    b->len = 0;
    b->overflow = false;
    if (b->p != NULL)
        b->p[0] = '\0';
}

void httpbody_free(httpbody *b)
{
    if (b == NULL)
        return;
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
    b->overflow = false;
}
