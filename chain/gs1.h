/*
 * gs1.h — GS1 identifiers: GTIN-14 check digits, AI 21/10 character sets,
 * and GS1 Digital Link / element-string parsing of a unit's identity.
 *
 * Every parser here reads untrusted text through a bounded length and never
 * relies on NUL termination of its input.
 */
#ifndef PROVENA_CHAIN_GS1_H
#define PROVENA_CHAIN_GS1_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GS1_GTIN_LEN    14   /* GTIN-14, digits only */
#define GS1_SERIAL_MAX  20   /* AI 21: up to 20 characters */
#define GS1_LOT_MAX     20   /* AI 10: up to 20 characters */
#define GS1_SSCC_LEN    18   /* AI 00: SSCC, digits only */
#define GS1_DL_MAX      1024 /* longest Digital Link URL we accept */
#define GS1_SIG_B64_MAX 128  /* base64url of a 64-byte signature is 86 chars */
#define GS1_DLC_MAX       256  /* base64url characters of a compressed Digital Link */
#define GS1_DLC_VALUE_MAX 127  /* a compressed non-GS1 key or value (7-bit length) */
#define GS1_DLC_PAIRS_MAX 8    /* non-GS1 key=value pairs in one compressed link */

/* A serialized unit: GTIN-14 plus serial, both NUL-terminated. */
typedef struct gs1_sgtin {
    char gtin[GS1_GTIN_LEN + 1];
    char serial[GS1_SERIAL_MAX + 1];
} gs1_sgtin;

/* What a Digital Link URL carries. Fields absent from the URL are empty strings. */
typedef struct gs1_link {
    gs1_sgtin id;
    char lot[GS1_LOT_MAX + 1];     /* AI 10, path or query */
    char expiry[7];                /* AI 17, YYMMDD */
    char sig[GS1_SIG_B64_MAX + 1]; /* `sig` query parameter, base64url */
    char region[16];               /* `region` query hint, if any */
} gs1_link;

/* Returns the GS1 mod-10 check digit ('0'..'9') of the first n-1 digits of
 * `digits` (n ≥ 2), or 0 when a character is not a digit. */
char gs1_check_digit(const char *digits, size_t n);

/* True when `s` (length n) is a GTIN-14: fourteen digits, valid check digit.
 * GTIN-8/12/13 are accepted by gs1_gtin_normalize, not here. */
bool gs1_gtin_valid(const char *s, size_t n);

/* Left-pads a GTIN-8, -12, -13 or -14 of length n with zeros into out (15 bytes,
 * NUL-terminated) and checks its check digit. Returns 0 or -1; out is written
 * only on success. */
int gs1_gtin_normalize(char out[GS1_GTIN_LEN + 1], const char *s, size_t n)
    __attribute__((warn_unused_result));

/* True when `s` (length n) is an SSCC (AI 00): eighteen digits whose last is
 * the GS1 mod-10 check digit of the first seventeen. */
bool gs1_sscc_valid(const char *s, size_t n);

/* True when `s` (length n, 1..20) uses only the GS1 AI 82 character set that
 * AI 21 (serial) and AI 10 (lot) allow. */
bool gs1_serial_valid(const char *s, size_t n);

/* Parses a unit named as "GTIN/SERIAL", a Digital Link URL (absolute or just its
 * path, with /01/{gtin}[/10/{lot}]/21/{serial} and query ?10=&17=&sig=&region=),
 * or an element string "(01)…(21)…[(10)…][(17)…]". Percent-escapes in the serial
 * and lot are decoded. Returns 0 and fills *out, or -1 with a reason in errmsg
 * (errmsg_len bytes). Input longer than GS1_DL_MAX is refused. */
int gs1_parse_unit(gs1_link *out, const char *s, size_t n, char *errmsg, size_t errmsg_len)
    __attribute__((warn_unused_result));

/* Writes the canonical Digital Link URL of a unit into out (out_len bytes):
 * {resolver}/01/{gtin}/21/{serial}?10={lot}&17={expiry}&sig={sig}, percent-encoding
 * characters of the serial/lot that are not URI-safe and omitting empty fields.
 * `resolver` has no trailing slash. Returns the length written, or -1 when it
 * does not fit. */
int gs1_link_format(char *out, size_t out_len, const char *resolver, const gs1_link *link)
    __attribute__((warn_unused_result));

/* Decompresses a compressed GS1 Digital Link path (GS1 Digital Link
 * compression, as GS1's GS1DigitalLinkToolkit.js does): "/{base64url}", or
 * "/00/{sscc}/{base64url}" and "/01/{gtin}/{base64url}" with the primary key
 * left uncompressed. Reads AIs 00, 01, 10, 17, 21, the sequence codes made of
 * them and non-GS1 key=value pairs (such as `sig`); any other AI, a value that
 * fails its check digit or character set, a truncated record, two primary keys
 * or none, or a segment over GS1_DLC_MAX characters is refused. Writes the
 * uncompressed path and query ("/01/{gtin}[/10/{lot}][/21/{serial}][?17=…][&k=v…]"
 * or "/00/{sscc}[?k=v…]", values percent-encoded) into out (out_len bytes,
 * NUL-terminated) and returns its length; -1 with a reason in errmsg. Pure,
 * reentrant; reads only path[0..n). */
int gs1_dl_decompress(char *out, size_t out_len, const char *path, size_t n, char *errmsg,
                      size_t errmsg_len) __attribute__((warn_unused_result));

#endif
