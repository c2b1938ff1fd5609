/*
 * tx_schema.h — PRIVATE to chain/: the one table of transaction body fields.
 *
 * Each transaction type's body is a map whose keys, in canonical order, are
 * listed in its schema. The CBOR codec (tx_codec.c) and the JSON edge
 * (tx_json.c) both walk this table, so a field is named, bounded and validated
 * once. The exact key table is documented in docs/ARCHITECTURE.md ("Chain:
 * data model, encoding and rules").
 *
 * The codecs never touch a chain_tx member by name. A field's kind (enum
 * txf_kind) says where its value lives and which value shape it has (enum
 * txv: an integer, a boolean, text, a name, bytes, a unit, a scan record, or
 * an array of one of these); each codec has one reader and one writer per
 * shape and reaches the storage through the txf_* accessors below.
 *
 * TO ADD A BODY FIELD:
 *   1. add the member to chain_tx (chain.h);
 *   2. add one row to the type's f_<type>[] table in tx_schema.c, in
 *      canonical key order (shorter keys first, then bytewise), with an
 *      existing kind: TEXT(key, kind, member, flags) for text, NUM(...) for
 *      integers and booleans, FIELD(...) for the rest;
 *   3. document the key in docs/ARCHITECTURE.md and docs/API.md.
 * Nothing changes in tx_codec.c or tx_json.c. Only a field stored in a new
 * way needs a new kind: one row in shapes[] and its cases in the accessors,
 * txf_present and txf_check (all in tx_schema.c). Only a new value shape
 * (a new enum txv) needs a reader and a writer in each codec.
 */
#ifndef PROVENA_CHAIN_TX_SCHEMA_H
#define PROVENA_CHAIN_TX_SCHEMA_H

#include <stddef.h>
#include <stdint.h>

#include "chain/chain.h"

/* What a field holds and where in chain_tx it lives. */
enum txf_kind {
    TXF_GTIN = 1,   /* char[15] at off: GTIN-14 with check digit */
    TXF_LOT,        /* char[] at off: AI 10 charset, 1..20 */
    TXF_EXPIRY,     /* char[7] at off: YYMMDD */
    TXF_NAME,       /* char[] at off: UTF-8 text, 1..cap-1, no controls */
    TXF_ID,         /* char[] at off: participant id [a-z0-9._-]{1,32} */
    TXF_NOTE,       /* char[] at off: UTF-8 text, 1..256, no controls */
    TXF_REGION,     /* char[7] at off: [A-Z]{2}(-[A-Z0-9]{1,3})? */
    TXF_ADDR,       /* char[128] at off: URL, printable ASCII without spaces */
    TXF_U32,        /* uint32_t at off */
    TXF_U64,        /* uint64_t at off */
    TXF_BOOL12,     /* uint8_t at off: 1 = true, 2 = false, 0 = absent */
    TXF_MARKETS,    /* markets/nmarkets: array of alpha-2 */
    TXF_SERIALS,    /* serials/nunits: array of serial text */
    TXF_LABEL_SIGS, /* label_sigs/nunits: array of bstr64 */
    TXF_UNITS,      /* units/nunits: array of [gtin, serial] */
    TXF_UNIT,       /* units[0], nunits == 1: [gtin, serial] */
    TXF_KEY,        /* key + has_key: bstr32 */
    TXF_BYTES,      /* uint8_t[cap] at off: bstr of exactly cap bytes; all zero = absent */
    TXF_REASON,     /* reason: flag name text */
    TXF_OUTCOME,    /* outcome: outcome name text */
    TXF_ROLE,       /* role: role name text (carrier, seller, service, brand) */
    TXF_REGIONS,    /* regions/nregions: array of region text */
    TXF_SCANS,      /* scans/nscans: array of scan record maps */
    TXF_CERT,       /* tls/tls_len: bstr, a pinnable TLS certificate (chain_tls_cert_check) */
    TXF_RESOLVER,   /* char[CHAIN_RESOLVER_MAX + 1] at off: chain_resolver_valid */
    TXF_RP_ID,      /* char[CHAIN_RP_ID_MAX + 1] at off: chain_rp_id_valid */
    TXF_ORIGINS,    /* rp.origins/rp.norigins: array of 1..CHAIN_ORIGINS_MAX distinct origins
                       (chain_origin_valid) (last kind: txf_shape_of asserts the range) */
};

#define TXF_REQUIRED 1u

/* Scan-record map keys, in canonical order (shared by CBOR and JSON). */
#define TXS_KIND    "kind"
#define TXS_NOTE    "note"
#define TXS_TIME    "time"
#define TXS_UNIT    "unit"
#define TXS_CLIENT  "client"
#define TXS_REGION  "region"
#define TXS_VERDICT "verdict"

typedef struct txf {
    const char *key;
    uint8_t kind;  /* enum txf_kind */
    uint8_t flags; /* TXF_REQUIRED */
    uint16_t off;  /* offsetof(chain_tx, member) for scalar kinds */
    uint16_t cap;  /* sizeof the member for text kinds */
} txf;

typedef struct tx_schema {
    const txf *fields; /* in canonical key order */
    size_t n;
} tx_schema;

/* The shape of a field's value, as the codecs read and write it. */
enum txv {
    TXV_UINT = 1, /* unsigned integer, at most shape.max */
    TXV_BOOL,     /* true or false */
    TXV_TEXT,     /* text of at most shape.size - 1 bytes (scalar: txf.cap - 1) */
    TXV_NAME,     /* an enum by its name (chain_flag_name, ...) */
    TXV_BYTES,    /* exactly shape.size bytes: CBOR bstr, JSON lowercase hex */
    TXV_UNIT,     /* gs1_sgtin: CBOR [gtin, serial], JSON "GTIN/SERIAL" */
    TXV_SCAN,     /* chain_scan: a map with the TXS_* keys */
    TXV_VBYTES,   /* 1..shape.size bytes (length in *txf_vlen): CBOR bstr, JSON hex */
};

typedef struct txf_shape {
    uint8_t value; /* enum txv of the field, or of each entry of an array */
    bool array;    /* an array of values, at most max entries */
    bool nonempty; /* an array that decoding refuses empty */
    uint64_t max;  /* array: entries; TXV_UINT: largest value */
    size_t size;   /* TXV_BYTES: length; TXV_TEXT array entries: capacity */
} txf_shape;

/* The value shape of field f (never NULL for a field of a schema). */
const txf_shape *txf_shape_of(const txf *f);

/* Field storage, for the codecs. i is the entry of an array field (0 for a
 * scalar) and must be below txf_count(). Getters read a valid tx; setters
 * write only the field's own storage. */
size_t txf_count(const chain_tx *tx, const txf *f);
/* Readies f for n values (1 for a scalar): allocates the arrays kept on the
 * heap, sets the count and the has_* flag. The allocations belong to tx
 * (chain_tx_free). CHAIN_ERR_NOMEM when out of memory. */
int txf_make(chain_tx *tx, const txf *f, size_t n) CHAIN_WUR;
uint64_t txf_get_uint(const chain_tx *tx, const txf *f);
void txf_set_uint(chain_tx *tx, const txf *f, uint64_t v); /* v <= shape max */
bool txf_get_bool(const chain_tx *tx, const txf *f);
void txf_set_bool(chain_tx *tx, const txf *f, bool v);
const char *txf_get_text(const chain_tx *tx, const txf *f, size_t i);
/* Copies s[0..n) with a NUL; n below the capacity (txf_text_cap). NOMEM. */
int txf_set_text(chain_tx *tx, const txf *f, size_t i, const char *s, size_t n) CHAIN_WUR;
size_t txf_text_cap(const txf *f);
const char *txf_get_name(const chain_tx *tx, const txf *f);
/* Sets the enum from its name (a C string); false when the name is unknown. */
bool txf_set_name(chain_tx *tx, const txf *f, const char *name);
/* Storage of a TXV_BYTES / TXV_UNIT / TXV_SCAN value, for reading or writing. */
uint8_t *txf_bytes(const chain_tx *tx, const txf *f, size_t i);
/* The length of a TXV_VBYTES value. */
size_t *txf_vlen(const chain_tx *tx, const txf *f);
gs1_sgtin *txf_unit(const chain_tx *tx, const txf *f, size_t i);
chain_scan *txf_scan(const chain_tx *tx, const txf *f, size_t i);

/* Before n entries of array field f are decoded: refuses a count that
 * disagrees with a field sharing it (serials and label_sigs). in_order: the
 * input is canonical, so the field listed first must have been read. Writes
 * "body.<key>: ..." into errmsg and returns CHAIN_ERR_MALFORMED. */
int txf_count_check(const chain_tx *tx, const txf *f, size_t n, bool in_order, char *errmsg,
                    size_t errmsg_len) CHAIN_WUR;

/* The body schema of a type; NULL for an unknown type. */
const tx_schema *tx_schema_of(int type);

/* True when field f is present in tx (optional fields are omitted when empty). */
bool txf_present(const chain_tx *tx, const txf *f);

/* Checks one field's value in tx (format, bounds). On failure writes
 * "body.<key>...: reason" into errmsg and returns the chain_err. */
int txf_check(const chain_tx *tx, const txf *f, char *errmsg, size_t errmsg_len) CHAIN_WUR;

/* Whole-body checks across fields (required fields present, sell has exactly
 * one of buyer/claim_key, label_sigs match serials, ...). */
int tx_body_check(const chain_tx *tx, char *errmsg, size_t errmsg_len) CHAIN_WUR;

/* Checks scan record i (kind, unit, region, note). */
int tx_scan_check(const chain_scan *s, size_t i, char *errmsg, size_t errmsg_len) CHAIN_WUR;

/* Scan record kinds by name ("scan", "probe", "report"); -1 when unknown. */
const char *tx_scan_kind_name(int kind);
int tx_scan_kind_parse(const char *s, size_t n);

/* Tx id straight from a signed canonical encoding, without decoding it: "sig"
 * is the first key, so the unsigned encoding is 0xa6 followed by the bytes
 * after the sig entry. Equals chain_tx_id() of the decoded tx whenever
 * chain_tx_decode accepts buf; for bytes it refuses, it is still a stable
 * name (receipts of undecodable txs). CHAIN_ERR_MALFORMED when buf does not
 * start with a 7-entry map whose first entry is a 64-byte "sig". */
int tx_id_raw(uint8_t out[CHAIN_HASH_LEN], const uint8_t *buf, size_t len) CHAIN_WUR;

/* Format checks shared by decoders (and genesis). */
bool tx_id_valid(const char *s, size_t n);     /* [a-z0-9._-]{1,32} */
bool tx_region_valid(const char *s, size_t n); /* [A-Z]{2}(-[A-Z0-9]{1,3})? */
bool tx_market_valid(const char *s, size_t n); /* [A-Z]{2} */
bool tx_addr_valid(const char *s, size_t n);   /* 1..127 printable, no space */
bool tx_expiry_valid(const char *s, size_t n); /* YYMMDD, MM 01-12, DD 00-31 */
bool tx_unit_valid(const gs1_sgtin *u);
bool tx_pub_valid(const uint8_t pub[CHAIN_KEY_LEN]);
/* a BIP-340 x-only key (crypto.c) */ /* GTIN-14 + AI 21 serial */

#endif
