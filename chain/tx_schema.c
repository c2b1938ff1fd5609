/*
 * tx_schema.c — what each transaction's body may contain, and the format
 * rules of every field.
 *
 * The tables below are the single source of the body key names (kept in
 * canonical CBOR key order: shorter keys first, then bytewise). The CBOR codec
 * and the JSON edge both walk them. Checks here are stateless: formats,
 * lengths and cross-field consistency. Whether a signer may do something, or a
 * unit exists, is for the rules in apply*.c.
 */
#include "chain/tx_schema.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chain/cbor_util.h"

#define OFF(m) ((uint16_t)offsetof(chain_tx, m))
#define CAP(m) ((uint16_t)sizeof(((chain_tx *)0)->m))
#define REQ    TXF_REQUIRED
#define TEXT(k, kind, m, fl)                                                                       \
    {                                                                                              \
        k, kind, fl, OFF(m), CAP(m)                                                                \
    }
#define BYTES(k, m, fl) TEXT(k, TXF_BYTES, m, fl)
#define FIELD(k, kind, fl)                                                                         \
    {                                                                                              \
        k, kind, fl, 0, 0                                                                          \
    }
#define NUM(k, kind, m, fl)                                                                        \
    {                                                                                              \
        k, kind, fl, OFF(m), 0                                                                     \
    }

static const txf f_mint[] = {
    TEXT("lot", TXF_LOT, lot, 0),
    TEXT("gtin", TXF_GTIN, gtin, REQ),
    TEXT("model", TXF_NAME, model, 0),
    TEXT("expiry", TXF_EXPIRY, expiry, 0),
    FIELD("markets", TXF_MARKETS, 0),
    FIELD("serials", TXF_SERIALS, REQ),
    FIELD("label_sigs", TXF_LABEL_SIGS, REQ),
    NUM("warranty_months", TXF_U32, warranty_months, 0),
};
static const txf f_pickup[] = {
    FIELD("units", TXF_UNITS, REQ),
    TEXT("region", TXF_REGION, region, 0),
};
static const txf f_deliver[] = {
    TEXT("to", TXF_ID, to, REQ),
    FIELD("units", TXF_UNITS, REQ),
    TEXT("region", TXF_REGION, region, 0),
};
static const txf f_sell[] = {
    FIELD("unit", TXF_UNIT, REQ),
    FIELD("buyer", TXF_KEY, 0),
    TEXT("region", TXF_REGION, region, 0),
    BYTES("claim_key", claim_key, 0),
};
static const txf f_claim[] = {
    FIELD("unit", TXF_UNIT, REQ),
    BYTES("claim_sig", claim_sig, REQ),
};
static const txf f_transfer_offer[] = {
    FIELD("unit", TXF_UNIT, REQ),
    NUM("expires", TXF_U64, expires, REQ),
    BYTES("offer_key", claim_key, REQ),
};
static const txf f_transfer[] = {
    FIELD("unit", TXF_UNIT, REQ),
    FIELD("to_key", TXF_KEY, REQ),
};
static const txf f_unit_only[] = {
    FIELD("unit", TXF_UNIT, REQ),
};
static const txf f_warranty_extend[] = {
    TEXT("note", TXF_NOTE, note, 0),
    FIELD("unit", TXF_UNIT, REQ),
    NUM("months", TXF_U32, warranty_months, REQ),
};
static const txf f_warranty_claim[] = {
    TEXT("note", TXF_NOTE, note, 0),
    FIELD("unit", TXF_UNIT, REQ),
};
static const txf f_warranty_resolve[] = {
    TEXT("note", TXF_NOTE, note, 0),
    FIELD("unit", TXF_UNIT, REQ),
    FIELD("outcome", TXF_OUTCOME, REQ),
};
static const txf f_flag[] = {
    TEXT("note", TXF_NOTE, note, 0),
    FIELD("units", TXF_UNITS, REQ),
    FIELD("reason", TXF_REASON, REQ),
};
static const txf f_participant_add[] = {
    TEXT("id", TXF_ID, id, REQ),       FIELD("pub", TXF_KEY, REQ),
    TEXT("name", TXF_NAME, name, REQ), FIELD("role", TXF_ROLE, REQ),
    FIELD("regions", TXF_REGIONS, 0),
};
static const txf f_participant_revoke[] = {
    TEXT("id", TXF_ID, id, REQ),
};
static const txf f_participant_rotate[] = {
    TEXT("id", TXF_ID, id, REQ),
    FIELD("pub", TXF_KEY, REQ),
};
static const txf f_node_add[] = {
    FIELD("pub", TXF_KEY, REQ),
    FIELD("tls", TXF_CERT, 0),
    TEXT("http", TXF_ADDR, http_addr, REQ),
    TEXT("raft", TXF_ADDR, raft_addr, REQ),
    NUM("node_id", TXF_U64, node_id, REQ),
    TEXT("operator", TXF_ID, name, REQ),
};
static const txf f_node_remove[] = {
    NUM("node_id", TXF_U64, node_id, REQ),
};
static const txf f_node_rotate[] = {
    FIELD("tls", TXF_CERT, REQ),
    NUM("node_id", TXF_U64, node_id, REQ),
};
static const txf f_policy_set[] = {
    TEXT("lot", TXF_LOT, lot, 0),
    TEXT("gtin", TXF_GTIN, gtin, 0),
    NUM("travel_kmh", TXF_U32, policy.travel_kmh, 0),
    NUM("max_clients", TXF_U32, policy.max_clients, 0),
    NUM("outside_markets", TXF_BOOL12, policy.flagged_markets_only, 0),
    NUM("probe_threshold", TXF_U32, policy.probe_threshold, 0),
    NUM("warranty_months", TXF_U32, policy.warranty_months, 0),
    NUM("unsold_scan_suspicious", TXF_BOOL12, policy.unsold_scan_suspicious, 0),
};
static const txf f_resolver_set[] = {
    TEXT("url", TXF_RESOLVER, resolver, REQ),
};
static const txf f_rp_set[] = {
    TEXT("rp_id", TXF_RP_ID, rp.id, REQ),
    FIELD("origins", TXF_ORIGINS, REQ),
    NUM("uv_required", TXF_BOOL12, rp_uv, 0),
};
static const txf f_scans[] = {
    NUM("dropped", TXF_U64, dropped, 0),
    FIELD("records", TXF_SCANS, REQ),
};

#define SCHEMA(a)                                                                                  \
    {                                                                                              \
        a, sizeof a / sizeof a[0]                                                                  \
    }
static const tx_schema schemas[CHAIN_TX__COUNT] = {
    [CHAIN_TX_MINT] = SCHEMA(f_mint),
    [CHAIN_TX_PICKUP] = SCHEMA(f_pickup),
    [CHAIN_TX_DELIVER] = SCHEMA(f_deliver),
    [CHAIN_TX_SELL] = SCHEMA(f_sell),
    [CHAIN_TX_CLAIM] = SCHEMA(f_claim),
    [CHAIN_TX_TRANSFER] = SCHEMA(f_transfer),
    [CHAIN_TX_WARRANTY_ACTIVATE] = SCHEMA(f_unit_only),
    [CHAIN_TX_WARRANTY_EXTEND] = SCHEMA(f_warranty_extend),
    [CHAIN_TX_WARRANTY_CLAIM] = SCHEMA(f_warranty_claim),
    [CHAIN_TX_WARRANTY_RESOLVE] = SCHEMA(f_warranty_resolve),
    [CHAIN_TX_FLAG] = SCHEMA(f_flag),
    [CHAIN_TX_UNFLAG] = SCHEMA(f_flag),
    [CHAIN_TX_PARTICIPANT_ADD] = SCHEMA(f_participant_add),
    [CHAIN_TX_PARTICIPANT_REVOKE] = SCHEMA(f_participant_revoke),
    [CHAIN_TX_PARTICIPANT_ROTATE] = SCHEMA(f_participant_rotate),
    [CHAIN_TX_NODE_ADD] = SCHEMA(f_node_add),
    [CHAIN_TX_NODE_REMOVE] = SCHEMA(f_node_remove),
    [CHAIN_TX_POLICY_SET] = SCHEMA(f_policy_set),
    [CHAIN_TX_SCANS] = SCHEMA(f_scans),
    [CHAIN_TX_NODE_ROTATE] = SCHEMA(f_node_rotate),
    [CHAIN_TX_TRANSFER_OFFER] = SCHEMA(f_transfer_offer),
    [CHAIN_TX_TRANSFER_CANCEL] = SCHEMA(f_unit_only),
    [CHAIN_TX_RESOLVER_SET] = SCHEMA(f_resolver_set),
    [CHAIN_TX_RP_SET] = SCHEMA(f_rp_set),
};

const tx_schema *tx_schema_of(int type)
{
    if (type <= 0 || type >= CHAIN_TX__COUNT)
        return NULL;
    return &schemas[type];
}

/* ---- where each kind keeps its value ---------------------------------------------- */

/* The value shape of every kind. The bounds here are what the decoders read
 * (an array over max is refused before anything is allocated for it);
 * txf_check() then holds a built transaction to the same bounds. */
/* clang-format off: one row per kind reads as a table */
static const txf_shape shapes[] = {
    [TXF_GTIN]       = {.value = TXV_TEXT},
    [TXF_LOT]        = {.value = TXV_TEXT},
    [TXF_EXPIRY]     = {.value = TXV_TEXT},
    [TXF_NAME]       = {.value = TXV_TEXT},
    [TXF_ID]         = {.value = TXV_TEXT},
    [TXF_NOTE]       = {.value = TXV_TEXT},
    [TXF_REGION]     = {.value = TXV_TEXT},
    [TXF_ADDR]       = {.value = TXV_TEXT},
    [TXF_U32]        = {.value = TXV_UINT, .max = UINT32_MAX},
    [TXF_U64]        = {.value = TXV_UINT, .max = UINT64_MAX},
    [TXF_BOOL12]     = {.value = TXV_BOOL},
    [TXF_MARKETS]    = {.value = TXV_TEXT, .array = true, .max = CHAIN_MARKETS_MAX, .size = 3},
    [TXF_SERIALS]    = {.value = TXV_TEXT, .array = true, .nonempty = true, .max = CHAIN_MINT_MAX, .size = GS1_SERIAL_MAX + 1},
    [TXF_LABEL_SIGS] = {.value = TXV_BYTES, .array = true, .nonempty = true, .max = CHAIN_MINT_MAX, .size = CHAIN_SIG_LEN},
    [TXF_UNITS]      = {.value = TXV_UNIT, .array = true, .nonempty = true, .max = CHAIN_UNITS_MAX},
    [TXF_UNIT]       = {.value = TXV_UNIT},
    [TXF_KEY]        = {.value = TXV_BYTES, .size = CHAIN_KEY_LEN},
    [TXF_BYTES]      = {.value = TXV_BYTES}, /* .size: the field's cap (txf_shape_of) */
    [TXF_REASON]     = {.value = TXV_NAME},
    [TXF_OUTCOME]    = {.value = TXV_NAME},
    [TXF_ROLE]       = {.value = TXV_NAME},
    [TXF_REGIONS]    = {.value = TXV_TEXT, .array = true, .max = CHAIN_REGIONS_MAX, .size = CHAIN_REGION_MAX + 1},
    [TXF_SCANS]      = {.value = TXV_SCAN, .array = true, .nonempty = true, .max = CHAIN_SCANS_MAX},
    [TXF_CERT]       = {.value = TXV_VBYTES, .size = CHAIN_TLS_CERT_MAX},
    [TXF_RESOLVER]   = {.value = TXV_TEXT},
    [TXF_RP_ID]      = {.value = TXV_TEXT},
    [TXF_ORIGINS]    = {.value = TXV_TEXT, .array = true, .nonempty = true, .max = CHAIN_ORIGINS_MAX, .size = CHAIN_ORIGIN_MAX + 1},
};
/* clang-format on */
_Static_assert(sizeof(((chain_tx *)0)->markets[0]) == 3, "markets entries are alpha-2 + NUL");
_Static_assert(sizeof(((chain_tx *)0)->regions[0]) == CHAIN_REGION_MAX + 1, "regions entries");
_Static_assert(sizeof(((chain_tx *)0)->rp.origins[0]) == CHAIN_ORIGIN_MAX + 1, "origins entries");

const txf_shape *txf_shape_of(const txf *f)
{
    /* TXF_BYTES fields differ in length only: one shape per length in use. */
    static const txf_shape b32 = {.value = TXV_BYTES, .size = CHAIN_KEY_LEN},
                           b64 = {.value = TXV_BYTES, .size = CHAIN_SIG_LEN};
    if (f->kind == TXF_BYTES) {
        assert(f->cap == CHAIN_KEY_LEN || f->cap == CHAIN_SIG_LEN);
        return f->cap == CHAIN_SIG_LEN ? &b64 : &b32;
    }
    assert(f->kind >= TXF_GTIN && f->kind <= TXF_ORIGINS);
    return &shapes[f->kind];
}

size_t txf_count(const chain_tx *tx, const txf *f)
{
    switch (f->kind) {
    case TXF_MARKETS:
        return tx->nmarkets;
    case TXF_REGIONS:
        return tx->nregions;
    case TXF_ORIGINS:
        return tx->rp.norigins;
    case TXF_SERIALS:
    case TXF_LABEL_SIGS:
    case TXF_UNITS:
        return tx->nunits;
    case TXF_SCANS:
        return tx->nscans;
    default:
        return 1;
    }
}

int txf_make(chain_tx *tx, const txf *f, size_t n)
{
    switch (f->kind) {
    case TXF_MARKETS:
        assert(n <= CHAIN_MARKETS_MAX);
        tx->nmarkets = n;
        return CHAIN_OK;
    case TXF_REGIONS:
        assert(n <= CHAIN_REGIONS_MAX);
        tx->nregions = n;
        return CHAIN_OK;
    case TXF_ORIGINS:
        assert(n <= CHAIN_ORIGINS_MAX);
        tx->rp.norigins = n;
        return CHAIN_OK;
    case TXF_SERIALS:
        if ((tx->serials = calloc(n, sizeof *tx->serials)) == NULL)
            return CHAIN_ERR_NOMEM;
        tx->nunits = n;
        return CHAIN_OK;
    case TXF_LABEL_SIGS:
        if ((tx->label_sigs = malloc(n * sizeof *tx->label_sigs)) == NULL)
            return CHAIN_ERR_NOMEM;
        tx->nunits = n;
        return CHAIN_OK;
    case TXF_UNITS:
    case TXF_UNIT:
        if ((tx->units = calloc(n, sizeof *tx->units)) == NULL)
            return CHAIN_ERR_NOMEM;
        tx->nunits = n;
        return CHAIN_OK;
    case TXF_SCANS:
        if ((tx->scans = calloc(n, sizeof *tx->scans)) == NULL)
            return CHAIN_ERR_NOMEM;
        tx->nscans = n;
        return CHAIN_OK;
    case TXF_KEY:
        tx->has_key = true;
        return CHAIN_OK;
    default:
        return CHAIN_OK;
    }
}

uint64_t txf_get_uint(const chain_tx *tx, const txf *f)
{
    const uint8_t *base = (const uint8_t *)tx;
    if (f->kind == TXF_U32) {
        uint32_t v;
        memcpy(&v, base + f->off, sizeof v);
        return v;
    }
    assert(f->kind == TXF_U64);
    uint64_t v;
    memcpy(&v, base + f->off, sizeof v);
    return v;
}

void txf_set_uint(chain_tx *tx, const txf *f, uint64_t v)
{
    uint8_t *base = (uint8_t *)tx;
    assert(v <= shapes[f->kind].max);
    if (f->kind == TXF_U32) {
        uint32_t v32 = (uint32_t)v;
        memcpy(base + f->off, &v32, sizeof v32);
        return;
    }
    assert(f->kind == TXF_U64);
    memcpy(base + f->off, &v, sizeof v);
}

/* TXF_BOOL12: 1 = true, 2 = false, 0 = absent. */
bool txf_get_bool(const chain_tx *tx, const txf *f)
{
    assert(f->kind == TXF_BOOL12);
    return ((const uint8_t *)tx)[f->off] == 1;
}

void txf_set_bool(chain_tx *tx, const txf *f, bool v)
{
    assert(f->kind == TXF_BOOL12);
    ((uint8_t *)tx)[f->off] = v ? 1 : 2;
}

size_t txf_text_cap(const txf *f)
{
    return shapes[f->kind].array ? shapes[f->kind].size : f->cap;
}

const char *txf_get_text(const chain_tx *tx, const txf *f, size_t i)
{
    switch (f->kind) {
    case TXF_MARKETS:
        return tx->markets[i];
    case TXF_REGIONS:
        return tx->regions[i];
    case TXF_ORIGINS:
        return tx->rp.origins[i];
    case TXF_SERIALS:
        return tx->serials[i];
    default:
        assert(shapes[f->kind].value == TXV_TEXT && !shapes[f->kind].array);
        return (const char *)tx + f->off;
    }
}

int txf_set_text(chain_tx *tx, const txf *f, size_t i, const char *s, size_t n)
{
    char *out;
    assert(n < txf_text_cap(f));
    switch (f->kind) {
    case TXF_MARKETS:
        out = tx->markets[i];
        break;
    case TXF_REGIONS:
        out = tx->regions[i];
        break;
    case TXF_ORIGINS:
        out = tx->rp.origins[i];
        break;
    case TXF_SERIALS:
        if ((out = tx->serials[i] = malloc(n + 1)) == NULL)
            return CHAIN_ERR_NOMEM;
        break;
    default:
        assert(shapes[f->kind].value == TXV_TEXT && !shapes[f->kind].array);
        out = (char *)tx + f->off;
        break;
    }
    memcpy(out, s, n);
    out[n] = '\0';
    return CHAIN_OK;
}

const char *txf_get_name(const chain_tx *tx, const txf *f)
{
    switch (f->kind) {
    case TXF_REASON:
        return chain_flag_name(tx->reason);
    case TXF_OUTCOME:
        return chain_outcome_name(tx->outcome);
    default:
        assert(f->kind == TXF_ROLE);
        return chain_role_name(tx->role);
    }
}

bool txf_set_name(chain_tx *tx, const txf *f, const char *name)
{
    int v = f->kind == TXF_REASON    ? chain_flag_parse(name)
            : f->kind == TXF_OUTCOME ? chain_outcome_parse(name)
                                     : chain_role_parse(name);
    assert(f->kind == TXF_REASON || f->kind == TXF_OUTCOME || f->kind == TXF_ROLE);
    if (v <= 0)
        return false;
    if (f->kind == TXF_REASON)
        tx->reason = (unsigned)v;
    else if (f->kind == TXF_OUTCOME)
        tx->outcome = v;
    else
        tx->role = v;
    return true;
}

/* The const in, non-const out of strchr: one accessor serves both codecs. */
uint8_t *txf_bytes(const chain_tx *tx, const txf *f, size_t i)
{
    chain_tx *t = (chain_tx *)tx;
    switch (f->kind) {
    case TXF_LABEL_SIGS:
        return t->label_sigs[i];
    case TXF_KEY:
        return t->key;
    case TXF_CERT:
        return t->tls;
    default:
        assert(f->kind == TXF_BYTES);
        return (uint8_t *)t + f->off;
    }
}

size_t *txf_vlen(const chain_tx *tx, const txf *f)
{
    assert(f->kind == TXF_CERT);
    (void)f;
    return &((chain_tx *)tx)->tls_len;
}

gs1_sgtin *txf_unit(const chain_tx *tx, const txf *f, size_t i)
{
    assert(f->kind == TXF_UNITS || (f->kind == TXF_UNIT && i == 0));
    (void)f;
    return &tx->units[i];
}

chain_scan *txf_scan(const chain_tx *tx, const txf *f, size_t i)
{
    assert(f->kind == TXF_SCANS);
    (void)f;
    return &tx->scans[i];
}

/* ---- formats ------------------------------------------------------------------ */

static bool upper(char c)
{
    return c >= 'A' && c <= 'Z';
}

static bool digit(char c)
{
    return c >= '0' && c <= '9';
}

bool tx_id_valid(const char *s, size_t n)
{
    if (n < 1 || n > CHAIN_ID_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || digit(c) || c == '.' || c == '_' || c == '-'))
            return false;
    }
    return true;
}

bool tx_market_valid(const char *s, size_t n)
{
    return n == 2 && upper(s[0]) && upper(s[1]);
}

bool tx_region_valid(const char *s, size_t n)
{
    if (n < 2 || n > CHAIN_REGION_MAX || !tx_market_valid(s, 2))
        return false;
    if (n == 2)
        return true;
    if (n < 4 || s[2] != '-')
        return false;
    for (size_t i = 3; i < n; i++)
        if (!upper(s[i]) && !digit(s[i]))
            return false;
    return true;
}

bool tx_addr_valid(const char *s, size_t n)
{
    if (n < 1 || n > CHAIN_ADDR_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] <= ' ' || s[i] > '~')
            return false;
    return true;
}

bool tx_expiry_valid(const char *s, size_t n)
{
    if (n != 6)
        return false;
    for (size_t i = 0; i < 6; i++)
        if (!digit(s[i]))
            return false;
    int mm = (s[2] - '0') * 10 + (s[3] - '0');
    int dd = (s[4] - '0') * 10 + (s[5] - '0');
    /* GS1 allows day 00: "end of the month". */
    return mm >= 1 && mm <= 12 && dd <= 31;
}

bool tx_unit_valid(const gs1_sgtin *u)
{
    size_t g = strnlen(u->gtin, sizeof u->gtin), s = strnlen(u->serial, sizeof u->serial);
    return g < sizeof u->gtin && s < sizeof u->serial && gs1_gtin_valid(u->gtin, g) &&
           gs1_serial_valid(u->serial, s);
}

static const char *const scan_kinds[] = {
    [CHAIN_SCAN_SCAN] = "scan", [CHAIN_SCAN_PROBE] = "probe", [CHAIN_SCAN_REPORT] = "report"};

const char *tx_scan_kind_name(int kind)
{
    if (kind < CHAIN_SCAN_SCAN || kind > CHAIN_SCAN_REPORT)
        return "unknown";
    return scan_kinds[kind];
}

int tx_scan_kind_parse(const char *s, size_t n)
{
    for (int k = CHAIN_SCAN_SCAN; k <= CHAIN_SCAN_REPORT; k++)
        if (strlen(scan_kinds[k]) == n && memcmp(scan_kinds[k], s, n) == 0)
            return k;
    return -1;
}

/* ---- checks ------------------------------------------------------------------- */

static int fail(char *errmsg, size_t len, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fail(char *errmsg, size_t len, int code, const char *fmt, ...)
{
    if (errmsg != NULL && len > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(errmsg, len, fmt, ap);
        va_end(ap);
    }
    return code;
}

int txf_count_check(const chain_tx *tx, const txf *f, size_t n, bool in_order, char *errmsg,
                    size_t elen)
{
    /* serials and label_sigs share nunits; serials sorts first. */
    if (f->kind == TXF_LABEL_SIGS &&
        ((in_order && tx->serials == NULL) || (tx->serials != NULL && n != tx->nunits)))
        return fail(errmsg, elen, CHAIN_ERR_MALFORMED, "body.%s: %zu signatures for %zu serials",
                    f->key, n, tx->serials ? tx->nunits : 0);
    if (f->kind == TXF_SERIALS && tx->label_sigs != NULL && n != tx->nunits)
        return fail(errmsg, elen, CHAIN_ERR_MALFORMED, "body.%s: %zu serials for %zu label_sigs",
                    f->key, n, tx->nunits);
    return CHAIN_OK;
}

static const char *text_at(const chain_tx *tx, const txf *f)
{
    return (const char *)tx + f->off;
}

static const uint8_t *base_at(const chain_tx *tx, const txf *f)
{
    return (const uint8_t *)tx + f->off;
}

static bool chain_key_nonzero(const uint8_t k[CHAIN_KEY_LEN])
{
    for (size_t i = 0; i < CHAIN_KEY_LEN; i++)
        if (k[i])
            return true;
    return false;
}

bool txf_present(const chain_tx *tx, const txf *f)
{
    const uint8_t *base = (const uint8_t *)tx;
    switch (f->kind) {
    case TXF_GTIN:
    case TXF_LOT:
    case TXF_EXPIRY:
    case TXF_NAME:
    case TXF_ID:
    case TXF_NOTE:
    case TXF_REGION:
    case TXF_ADDR:
    case TXF_RESOLVER:
    case TXF_RP_ID:
        return text_at(tx, f)[0] != '\0';
    case TXF_BYTES:
        for (size_t i = 0; i < f->cap; i++)
            if (base[f->off + i] != 0)
                return true;
        return false;
    case TXF_U32: {
        uint32_t v;
        memcpy(&v, base + f->off, sizeof v);
        return v != 0;
    }
    case TXF_U64: {
        uint64_t v;
        memcpy(&v, base + f->off, sizeof v);
        return v != 0;
    }
    case TXF_BOOL12:
        return base[f->off] != 0;
    case TXF_MARKETS:
        return tx->nmarkets > 0;
    case TXF_REGIONS:
        return tx->nregions > 0;
    case TXF_ORIGINS:
        return tx->rp.norigins > 0;
    case TXF_SERIALS:
    case TXF_LABEL_SIGS:
    case TXF_UNITS:
    case TXF_UNIT:
        return tx->nunits > 0;
    case TXF_KEY:
        return tx->has_key;
    case TXF_CERT:
        return tx->tls_len > 0;
    case TXF_REASON:
        return tx->reason != 0;
    case TXF_OUTCOME:
        return tx->outcome != 0;
    case TXF_ROLE:
        return tx->role != 0;
    case TXF_SCANS:
        return tx->nscans > 0;
    }
    return false;
}

static int check_text(const chain_tx *tx, const txf *f, char *errmsg, size_t elen)
{
    const char *s = text_at(tx, f);
    size_t n = strnlen(s, f->cap);
    if (n >= f->cap)
        return fail(errmsg, elen, CHAIN_ERR_TOO_LARGE, "body.%s: not terminated", f->key);
    switch (f->kind) {
    case TXF_GTIN:
        if (!gs1_gtin_valid(s, n))
            return fail(errmsg, elen, CHAIN_ERR_BAD_GTIN, "body.%s: not a GTIN-14", f->key);
        break;
    case TXF_LOT:
        if (!gs1_serial_valid(s, n))
            return fail(errmsg, elen, CHAIN_ERR_INVALID, "body.%s: not 1-20 GS1 AI 82 characters",
                        f->key);
        break;
    case TXF_EXPIRY:
        if (!tx_expiry_valid(s, n))
            return fail(errmsg, elen, CHAIN_ERR_INVALID, "body.%s: not a YYMMDD date", f->key);
        break;
    case TXF_ID:
        if (!tx_id_valid(s, n))
            return fail(errmsg, elen, CHAIN_ERR_INVALID, "body.%s: not an id [a-z0-9._-]{1,32}",
                        f->key);
        break;
    case TXF_REGION:
        if (!tx_region_valid(s, n))
            return fail(errmsg, elen, CHAIN_ERR_INVALID, "body.%s: not a region code (DE or DE-BY)",
                        f->key);
        break;
    case TXF_ADDR:
        if (!tx_addr_valid(s, n))
            return fail(errmsg, elen, CHAIN_ERR_INVALID, "body.%s: not an address", f->key);
        break;
    case TXF_RESOLVER:
        if (!chain_resolver_valid(s, n))
            return fail(errmsg, elen, CHAIN_ERR_INVALID,
                        "body.%s: not an http(s):// base URL of at most %d bytes without a "
                        "trailing '/', query or fragment",
                        f->key, CHAIN_RESOLVER_MAX);
        break;
    case TXF_RP_ID:
        if (!chain_rp_id_valid(s, n))
            return fail(errmsg, elen, CHAIN_ERR_INVALID,
                        "body.%s: not a lower-case host name of at most %d bytes (an IP address "
                        "is not a valid WebAuthn rp id)",
                        f->key, CHAIN_RP_ID_MAX);
        break;
    default: /* NAME, NOTE: any text without controls */
        if (!cbu_utf8_valid(s, n))
            return fail(errmsg, elen, CHAIN_ERR_INVALID,
                        "body.%s: not valid text (UTF-8, no controls)", f->key);
        break;
    }
    return CHAIN_OK;
}

int tx_scan_check(const chain_scan *s, size_t i, char *errmsg, size_t elen)
{
    if (s->kind < CHAIN_SCAN_SCAN || s->kind > CHAIN_SCAN_REPORT)
        return fail(errmsg, elen, CHAIN_ERR_INVALID, "body.records[%zu].kind: unknown", i);
    if (!tx_unit_valid(&s->id))
        return fail(errmsg, elen, CHAIN_ERR_INVALID, "body.records[%zu].unit: not GTIN/serial", i);
    size_t rn = strnlen(s->region, sizeof s->region);
    if (rn >= sizeof s->region || (rn > 0 && !tx_region_valid(s->region, rn)))
        return fail(errmsg, elen, CHAIN_ERR_INVALID, "body.records[%zu].region: not a region", i);
    size_t nn = strnlen(s->note, sizeof s->note);
    if (nn >= sizeof s->note || !cbu_utf8_valid(s->note, nn))
        return fail(errmsg, elen, CHAIN_ERR_INVALID, "body.records[%zu].note: not valid text", i);
    return CHAIN_OK;
}

int txf_check(const chain_tx *tx, const txf *f, char *errmsg, size_t elen)
{
    switch (f->kind) {
    case TXF_GTIN:
    case TXF_LOT:
    case TXF_EXPIRY:
    case TXF_NAME:
    case TXF_ID:
    case TXF_NOTE:
    case TXF_REGION:
    case TXF_ADDR:
    case TXF_RESOLVER:
    case TXF_RP_ID:
        return check_text(tx, f, errmsg, elen);
    case TXF_ORIGINS:
        if (tx->rp.norigins < 1 || tx->rp.norigins > CHAIN_ORIGINS_MAX)
            return fail(errmsg, elen, tx->rp.norigins ? CHAIN_ERR_TOO_LARGE : CHAIN_ERR_INVALID,
                        "body.%s: 1..%d origins", f->key, CHAIN_ORIGINS_MAX);
        for (size_t i = 0; i < tx->rp.norigins; i++) {
            const char *o = tx->rp.origins[i];
            if (!chain_origin_valid(o, strnlen(o, CHAIN_ORIGIN_MAX + 1)))
                return fail(errmsg, elen, CHAIN_ERR_INVALID,
                            "body.%s[%zu]: not an http(s) origin (scheme://host[:port], at most "
                            "%d bytes)",
                            f->key, i, CHAIN_ORIGIN_MAX);
            for (size_t j = 0; j < i; j++)
                if (strcmp(o, tx->rp.origins[j]) == 0)
                    return fail(errmsg, elen, CHAIN_ERR_INVALID, "body.%s[%zu]: duplicate", f->key,
                                i);
        }
        return CHAIN_OK;
    case TXF_KEY:
        if (!tx_pub_valid(tx->key))
            return fail(errmsg, elen, CHAIN_ERR_INVALID, "body.%s: not a valid public key", f->key);
        return CHAIN_OK;
    case TXF_CERT: {
        char why[160];
        int rc = chain_tls_cert_check(NULL, tx->tls, tx->tls_len, why, sizeof why);
        if (rc)
            return fail(errmsg, elen, rc, "body.%s: %s", f->key, why);
        return CHAIN_OK;
    }
    case TXF_U32:
    case TXF_U64:
        return CHAIN_OK;
    case TXF_BYTES:
        /* A one-time claim or offer key is a public key like any other. */
        if (f->cap == CHAIN_KEY_LEN && !tx_pub_valid(base_at(tx, f)))
            return fail(errmsg, elen, CHAIN_ERR_INVALID, "body.%s: not a valid public key", f->key);
        return CHAIN_OK;
    case TXF_BOOL12: {
        uint8_t v = ((const uint8_t *)tx)[f->off];
        if (v > 2)
            return fail(errmsg, elen, CHAIN_ERR_INVALID, "body.%s: not 0, 1 or 2", f->key);
        return CHAIN_OK;
    }
    case TXF_MARKETS:
        if (tx->nmarkets > CHAIN_MARKETS_MAX)
            return fail(errmsg, elen, CHAIN_ERR_TOO_LARGE, "body.markets: more than %d",
                        CHAIN_MARKETS_MAX);
        for (size_t i = 0; i < tx->nmarkets; i++) {
            if (!tx_market_valid(tx->markets[i], strnlen(tx->markets[i], 3)))
                return fail(errmsg, elen, CHAIN_ERR_INVALID,
                            "body.markets[%zu]: not an ISO 3166-1 alpha-2 code", i);
            for (size_t j = 0; j < i; j++)
                if (memcmp(tx->markets[i], tx->markets[j], 2) == 0)
                    return fail(errmsg, elen, CHAIN_ERR_INVALID, "body.markets[%zu]: duplicate", i);
        }
        return CHAIN_OK;
    case TXF_REGIONS:
        if (tx->nregions > CHAIN_REGIONS_MAX)
            return fail(errmsg, elen, CHAIN_ERR_TOO_LARGE, "body.regions: more than %d",
                        CHAIN_REGIONS_MAX);
        for (size_t i = 0; i < tx->nregions; i++) {
            const char *r = tx->regions[i];
            if (!tx_region_valid(r, strnlen(r, CHAIN_REGION_MAX + 1)))
                return fail(errmsg, elen, CHAIN_ERR_INVALID, "body.regions[%zu]: not a region code",
                            i);
            for (size_t j = 0; j < i; j++)
                if (strcmp(r, tx->regions[j]) == 0)
                    return fail(errmsg, elen, CHAIN_ERR_INVALID, "body.regions[%zu]: duplicate", i);
        }
        return CHAIN_OK;
    case TXF_SERIALS:
        if (tx->nunits > CHAIN_MINT_MAX)
            return fail(errmsg, elen, CHAIN_ERR_TOO_LARGE, "body.serials: more than %d",
                        CHAIN_MINT_MAX);
        if (tx->serials == NULL)
            return fail(errmsg, elen, CHAIN_ERR_MALFORMED, "body.serials: missing");
        for (size_t i = 0; i < tx->nunits; i++) {
            const char *s = tx->serials[i];
            if (s == NULL || !gs1_serial_valid(s, strnlen(s, GS1_SERIAL_MAX + 1)))
                return fail(errmsg, elen, CHAIN_ERR_BAD_SERIAL,
                            "body.serials[%zu]: not 1-20 GS1 AI 82 characters", i);
        }
        return CHAIN_OK;
    case TXF_LABEL_SIGS:
        if (tx->label_sigs == NULL)
            return fail(errmsg, elen, CHAIN_ERR_MALFORMED, "body.label_sigs: missing");
        return CHAIN_OK;
    case TXF_UNITS:
    case TXF_UNIT: {
        size_t max = f->kind == TXF_UNIT ? 1 : CHAIN_UNITS_MAX;
        if (tx->nunits > max)
            return fail(errmsg, elen, CHAIN_ERR_TOO_LARGE, "body.%s: more than %zu", f->key, max);
        if (tx->units == NULL)
            return fail(errmsg, elen, CHAIN_ERR_MALFORMED, "body.%s: missing", f->key);
        for (size_t i = 0; i < tx->nunits; i++) {
            const gs1_sgtin *u = &tx->units[i];
            size_t g = strnlen(u->gtin, sizeof u->gtin);
            if (g >= sizeof u->gtin || !gs1_gtin_valid(u->gtin, g))
                return fail(errmsg, elen, CHAIN_ERR_BAD_GTIN, "body.%s[%zu]: not a GTIN-14", f->key,
                            i);
            size_t s = strnlen(u->serial, sizeof u->serial);
            if (s >= sizeof u->serial || !gs1_serial_valid(u->serial, s))
                return fail(errmsg, elen, CHAIN_ERR_BAD_SERIAL,
                            "body.%s[%zu]: serial not 1-20 GS1 AI 82 characters", f->key, i);
        }
        return CHAIN_OK;
    }
    case TXF_REASON:
        if (strcmp(chain_flag_name(tx->reason), "unknown") == 0)
            return fail(errmsg, elen, CHAIN_ERR_INVALID,
                        "body.reason: not recalled|stolen|counterfeit|destroyed");
        return CHAIN_OK;
    case TXF_OUTCOME:
        if (strcmp(chain_outcome_name(tx->outcome), "unknown") == 0)
            return fail(errmsg, elen, CHAIN_ERR_INVALID,
                        "body.outcome: not repaired|replaced|rejected");
        return CHAIN_OK;
    case TXF_ROLE:
        if (tx->role != CHAIN_ROLE_BRAND && tx->role != CHAIN_ROLE_CARRIER &&
            tx->role != CHAIN_ROLE_SELLER && tx->role != CHAIN_ROLE_SERVICE)
            return fail(errmsg, elen, CHAIN_ERR_INVALID,
                        "body.role: not brand|carrier|seller|service");
        return CHAIN_OK;
    case TXF_SCANS:
        if (tx->nscans > CHAIN_SCANS_MAX)
            return fail(errmsg, elen, CHAIN_ERR_TOO_LARGE, "body.records: more than %d",
                        CHAIN_SCANS_MAX);
        if (tx->scans == NULL)
            return fail(errmsg, elen, CHAIN_ERR_MALFORMED, "body.records: missing");
        for (size_t i = 0; i < tx->nscans; i++) {
            int rc = tx_scan_check(&tx->scans[i], i, errmsg, elen);
            if (rc)
                return rc;
        }
        return CHAIN_OK;
    }
    return fail(errmsg, elen, CHAIN_ERR_INVALID, "body.%s: unknown kind", f->key);
}

int tx_body_check(const chain_tx *tx, char *errmsg, size_t elen)
{
    const tx_schema *sc = tx_schema_of(tx->type);
    if (sc == NULL)
        return fail(errmsg, elen, CHAIN_ERR_INVALID, "type: unknown transaction type");
    for (size_t i = 0; i < sc->n; i++) {
        const txf *f = &sc->fields[i];
        if (!txf_present(tx, f)) {
            if (f->flags & TXF_REQUIRED)
                return fail(errmsg, elen, CHAIN_ERR_MALFORMED, "body.%s: missing", f->key);
            continue;
        }
        int rc = txf_check(tx, f, errmsg, elen);
        if (rc)
            return rc;
    }
    switch (tx->type) {
    case CHAIN_TX_SELL:
        if (tx->has_key == chain_key_nonzero(tx->claim_key))
            return fail(errmsg, elen, CHAIN_ERR_MALFORMED,
                        "body: sell needs exactly one of buyer, claim_key");
        break;
    case CHAIN_TX_POLICY_SET: {
        const chain_policy *p = &tx->policy;
        if (tx->lot[0] != '\0' && tx->gtin[0] == '\0')
            return fail(errmsg, elen, CHAIN_ERR_MALFORMED, "body.lot: needs body.gtin");
        if (!p->max_clients && !p->travel_kmh && !p->probe_threshold && !p->warranty_months &&
            !p->unsold_scan_suspicious && !p->flagged_markets_only)
            return fail(errmsg, elen, CHAIN_ERR_MALFORMED, "body: policy.set sets nothing");
        break;
    }
    default:
        break;
    }
    return CHAIN_OK;
}

/* ---- the field rules, public (chain.h) for genesis/ and scan/ ---- */

bool chain_text_valid(const char *s, size_t n)
{
    return cbu_utf8_valid(s, n);
}

bool chain_id_valid(const char *s, size_t n)
{
    return tx_id_valid(s, n);
}

bool chain_region_valid(const char *s, size_t n)
{
    return tx_region_valid(s, n);
}

bool chain_resolver_valid(const char *s, size_t n)
{
    size_t scheme = n >= 8 && strncmp(s, "https://", 8) == 0  ? 8
                    : n >= 7 && strncmp(s, "http://", 7) == 0 ? 7
                                                              : 0;
    bool ok = scheme && n > scheme && n <= CHAIN_RESOLVER_MAX && s[n - 1] != '/';
    for (size_t i = 0; ok && i < n; i++)
        ok = s[i] > ' ' && s[i] < 0x7f && s[i] != '?' && s[i] != '#';
    return ok;
}

bool chain_rp_id_valid(const char *s, size_t n)
{
    bool ok = n >= 1 && n <= CHAIN_RP_ID_MAX && s[0] != '.' && s[n - 1] != '.';
    bool digits_only = true;
    for (size_t i = 0; ok && i < n; i++) {
        ok = (s[i] >= 'a' && s[i] <= 'z') || digit(s[i]) || s[i] == '.' || s[i] == '-';
        digits_only &= digit(s[i]) || s[i] == '.';
    }
    return ok && !digits_only;
}

bool chain_origin_valid(const char *s, size_t n)
{
    size_t scheme = n >= 8 && strncmp(s, "https://", 8) == 0  ? 8
                    : n >= 7 && strncmp(s, "http://", 7) == 0 ? 7
                                                              : 0;
    bool ok = scheme && n > scheme && n <= CHAIN_ORIGIN_MAX;
    for (size_t i = scheme; ok && i < n; i++)
        ok = s[i] > ' ' && s[i] < 0x7f && s[i] != '/' && s[i] != '?' && s[i] != '#';
    return ok;
}

bool chain_addr_valid(const char *s, size_t n)
{
    return tx_addr_valid(s, n);
}

bool chain_pub_valid(const uint8_t pub[CHAIN_KEY_LEN])
{
    return tx_pub_valid(pub);
}
