/*
 * gs1_priv.h — what gs1.c and gs1_dlc.c share: a bounded writer of links.
 *
 * A gs1_outbuf writes into a caller's buffer of cap bytes, always
 * NUL-terminated; a write that does not fit sets overflow and writes nothing
 * more. gs1_ob_pct percent-encodes every byte but RFC 3986's unreserved
 * characters.
 */
#ifndef PROVENA_CHAIN_GS1_PRIV_H
#define PROVENA_CHAIN_GS1_PRIV_H

#include <stdbool.h>
#include <stddef.h>

typedef struct gs1_outbuf {
    char *p;
    size_t cap, len;
    bool overflow;
} gs1_outbuf;

void gs1_ob_putc(gs1_outbuf *o, char c);
void gs1_ob_puts(gs1_outbuf *o, const char *s);
void gs1_ob_pct(gs1_outbuf *o, const char *s);

#endif
