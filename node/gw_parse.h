/*
 * gw_parse.h — node-private: the gateway's parsers of what a client sends,
 * apart from the request that carries it (no libmicrohttpd, no gw_req), so
 * the routes and the fuzz targets (tests/fuzz/) run the same code: the body
 * of POST /api/v1/tx, the body of POST /api/v1/reports and the query of
 * GET /epcis/events. A parser either fills its result or fills a gw_perr
 * with the answer the route gives (status, stable code, message); the route
 * only turns that into a reply.
 */
#ifndef PROVENA_NODE_GW_PARSE_H
#define PROVENA_NODE_GW_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chain/chain.h"
#include "chain/gs1.h"

/* Why a parser refused: the HTTP status, the stable error code and a message.
 * epcis_type, when not NULL, is the EPCIS 2.0 exception type of the answer. */
typedef struct gw_perr {
    unsigned status;
    const char *code;
    const char *epcis_type;
    bool bad_code; /* a report's unit was given but is no code we read */
    char msg[256];
} gw_perr;

/* ---- POST /api/v1/tx ---------------------------------------------------------------- */
typedef struct tx_item {
    const uint8_t *p; /* into the body, or `own` */
    size_t len;
    uint8_t *own;
    chain_receipt rc;
    int res;      /* enum gw_submit_result */
    int err;      /* a parse error before submission (CHAIN_OK: none) */
    bool limited; /* refused by the signer's rate limit, never submitted */
    char msg[96];
} tx_item;

typedef struct tx_batch {
    tx_item *items;
    size_t n;
    bool batch;
    unsigned wait_ms;
} tx_batch;

/* Parses a submission body of len bytes with Content-Type ct (NULL: none):
 * application/cbor (one encoded tx, or a definite array of 1..GW_BATCH_MAX
 * byte strings, read by chain_txs_split) or application/json (one tx
 * object, or an array of 1..
 * GW_BATCH_MAX; each becomes its canonical CBOR, or carries its own error in
 * item.err/msg). The returned batch may point into body, which must outlive
 * it; release with gw_txs_free. NULL with *e filled when refused whole
 * (400/413/415, or 503 out of memory). Pure, any thread. */
tx_batch *gw_txs_parse(const char *ct, const uint8_t *body, size_t len, gw_perr *e);
void gw_txs_free(tx_batch *b); /* NULL-safe */

/* ---- POST /api/v1/reports ----------------------------------------------------------- */
typedef struct gw_report {
    bool form;                        /* the body was a form (the page's button) */
    gs1_link link;                    /* the unit it names, parsed */
    char note[CHAIN_NOTE_MAX + 1];    /* valid UTF-8, no control characters but \n \t */
} gw_report;

/* Parses a report body (application/json {"unit","note"} or a form with fields
 * unit and note). true with *out filled; false with *e (400 bad_unit /
 * malformed_json, 415, 422 invalid); e->bad_code when the unit did not parse
 * (the route counts it as a bad code). Pure. */
bool gw_report_parse(gw_report *out, const char *ct, const uint8_t *body, size_t len, gw_perr *e);

/* ---- GET /epcis/events -------------------------------------------------------------- */
#define EPCIS_MATCH_MAX    16 /* MATCH_epc values in one query */
#define EPCIS_BIZSTEP_MAX  16 /* EQ_bizStep values */
#define EPCIS_PAGE_DEFAULT 100
#define EPCIS_PAGE_MAX     1000 /* perPage bound; also a unit document's events */
#define EPCIS_ARG_MAX      4096 /* one decoded query value */
#define EPCIS_TOKEN_MAX    96
#define EPCIS_TIME_MAX     35 /* longest RFC 3339 time accepted (ns fraction, offset) */

typedef struct epcis_qsrc {
    bool lot;    /* every unit of (id.gtin, lot) */
    bool parent; /* every unit a parent (sscc) holds now, at any depth */
    gs1_sgtin id;
    char lot_name[GS1_LOT_MAX + 1];
    char sscc[GS1_SSCC_LEN + 1];
} epcis_qsrc;

typedef struct epcis_query {
    epcis_qsrc src[EPCIS_MATCH_MAX];
    size_t nsrc;
    char biz[EPCIS_BIZSTEP_MAX][64];
    size_t nbiz;
    bool has_ge, has_lt;
    uint64_t ge, lt; /* ms */
    uint32_t per_page;
    /* the cursor: next event to visit */
    size_t i;
    char serial[GS1_SERIAL_MAX + 1]; /* lot, parent: the unit in progress ("" none yet) */
    char gtin[GS1_GTIN_LEN + 1];     /* parent: that unit's GTIN */
    uint32_t seq;
} epcis_query;

/* The raw (percent-encoded) value of query parameter key, or NULL when absent. */
typedef const char *(*gw_arg_fn)(void *ctx, const char *key);

/* Parses the query's MATCH_epc, EQ_bizStep, GE_eventTime, LT_eventTime,
 * perPage and nextPageToken through get (unknown names are the caller's to
 * refuse). true with *q filled; false with *e (400 QueryParameterException,
 * or 413 QueryTooComplexException without MATCH_epc; 503 out of memory). */
bool gw_epcis_query_parse(epcis_query *q, gw_arg_fn get, void *ctx, gw_perr *e);

/* The query of a lot's streamed document: every unit of (gtin, lot) (both
 * decoded; 400 bad_unit unless a GTIN-14 and a GS1 lot), EQ_bizStep,
 * GE_eventTime and LT_eventTime as gw_epcis_query_parse reads them, pages of
 * EPCIS_PAGE_MAX. true with *q filled; false with *e. */
bool gw_epcis_export_parse(epcis_query *q, const char *gtin, const char *lot, gw_arg_fn get,
                           void *ctx, gw_perr *e);

/* nextPageToken of q's cursor (i, seq, serial; gtin for a parent) into out; gw_epcis_query_parse
 * of a query with the same MATCH_epc reads it back to the same cursor. */
void gw_epcis_token_make(char out[EPCIS_TOKEN_MAX], const epcis_query *q);

/* "2026-12-02T19:00:00(.fff…)?(Z|±HH:MM)" (NUL-terminated, at most
 * EPCIS_TIME_MAX bytes) → unix ms. false on anything else. Pure. */
bool gw_epcis_time_parse(uint64_t *out, const char *s);

#endif
