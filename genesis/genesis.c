/*
 * genesis.c — the genesis document: the JSON an operator writes to create a
 * network, its validation, and the chain id that names the network forever.
 *
 * Parsing is strict: every object's keys are known, every string is bounded,
 * every id/key/address is unique, and each error names the field path
 * ("participants[1].pub: not 64 hex characters"). The parsed struct mirrors
 * the document: brands stay in brands[] (the state seeds each brand as a
 * participant of role brand with brand = its id), participants[] holds only
 * the document's participants. Missing policy fields get the network
 * defaults below, so the normalized document is complete.
 *
 * The chain id is tagged_hash(GENESIS, canonical CBOR of the normalized
 * document) — see encode_genesis for the exact map. Whitespace, key order
 * and omitted policy defaults in the JSON therefore do not change it, and
 * genesis_to_json() round-trips to the same id.
 */
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "genesis/genesis.h"

#include "chain/chain.h"

/* Network defaults for policy fields the document leaves out. */
#define DEFAULT_WARRANTY_MONTHS 24
#define DEFAULT_MAX_CLIENTS     5
#define DEFAULT_TRAVEL_KMH      900
#define DEFAULT_PROBE_THRESHOLD 20

typedef struct gctx {
    char *errmsg;
    size_t errmsg_len;
} gctx;

static int gfail(gctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int gfail(gctx *c, const char *fmt, ...)
{
    if (c->errmsg != NULL && c->errmsg_len > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(c->errmsg, c->errmsg_len, fmt, ap);
        va_end(ap);
    }
    return CHAIN_ERR_BAD_GENESIS;
}

/* Refuses keys of obj not in the NULL-terminated list. */
static int only_keys(gctx *c, const json_t *obj, const char *path, const char *const *keys)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)obj, k, v)
    {
        bool known = false;
        for (size_t i = 0; keys[i] != NULL; i++)
            known |= strcmp(k, keys[i]) == 0;
        if (!known)
            return gfail(c, "%s%s%.40s: unknown field", path, *path ? "." : "", k);
    }
    return CHAIN_OK;
}

/* Required string at obj[key] of 1..max bytes; s and n point into obj. */
static int get_str(gctx *c, const json_t *obj, const char *path, const char *key, size_t max,
                   const char **s, size_t *n)
{
    json_t *v = json_object_get(obj, key);
    if (v == NULL)
        return gfail(c, "%s.%s: missing", path, key);
    if (!json_is_string(v))
        return gfail(c, "%s.%s: not a string", path, key);
    *s = json_string_value(v);
    *n = json_string_length(v);
    if (*n == 0 || *n > max)
        return gfail(c, "%s.%s: must be 1 to %zu characters", path, key, max);
    return CHAIN_OK;
}

static int get_id(gctx *c, const json_t *obj, const char *path, const char *key,
                  char out[CHAIN_ID_MAX + 1])
{
    const char *s;
    size_t n;
    int rc = get_str(c, obj, path, key, CHAIN_ID_MAX, &s, &n);
    if (rc)
        return rc;
    if (!chain_id_valid(s, n))
        return gfail(c, "%s.%s: not an id (a-z, 0-9, '.', '_', '-', at most 32)", path, key);
    memcpy(out, s, n + 1);
    return CHAIN_OK;
}

static int get_name(gctx *c, const json_t *obj, const char *path, const char *key,
                    char out[CHAIN_NAME_MAX + 1])
{
    const char *s;
    size_t n;
    int rc = get_str(c, obj, path, key, CHAIN_NAME_MAX, &s, &n);
    if (rc)
        return rc;
    if (!chain_text_valid(s, n))
        return gfail(c, "%s.%s: contains control characters", path, key);
    memcpy(out, s, n + 1);
    return CHAIN_OK;
}

static int get_pub(gctx *c, const json_t *obj, const char *path, uint8_t pub[CHAIN_KEY_LEN])
{
    json_t *v = json_object_get(obj, "pub");
    if (v == NULL)
        return gfail(c, "%s.pub: missing", path);
    if (!json_is_string(v) || json_string_length(v) != 2 * CHAIN_KEY_LEN ||
        chain_unhex(pub, CHAIN_KEY_LEN, json_string_value(v), 2 * CHAIN_KEY_LEN) != CHAIN_KEY_LEN)
        return gfail(c, "%s.pub: not 64 hex characters", path);
    if (!chain_pub_valid(pub))
        return gfail(c, "%s.pub: not a valid BIP-340 public key", path);
    return CHAIN_OK;
}

/* Optional "tls": the node's TLS certificate, DER in hex, pinnable
 * (chain_tls_cert_check). */
static int get_tls(gctx *c, const json_t *obj, const char *path, chain_node_info *out)
{
    json_t *v = json_object_get(obj, "tls");
    out->tls_len = 0;
    if (v == NULL)
        return CHAIN_OK;
    size_t n = json_string_length(v);
    if (!json_is_string(v) || n == 0 || n % 2)
        return gfail(c, "%s.tls: not hex (a DER certificate)", path);
    if (n > 2 * CHAIN_TLS_CERT_MAX)
        return gfail(c, "%s.tls: over %d bytes", path, CHAIN_TLS_CERT_MAX);
    if (chain_unhex(out->tls, sizeof out->tls, json_string_value(v), n) != (int)(n / 2))
        return gfail(c, "%s.tls: not hex (a DER certificate)", path);
    out->tls_len = n / 2;
    char why[160];
    if (chain_tls_cert_check(NULL, out->tls, out->tls_len, why, sizeof why) != CHAIN_OK)
        return gfail(c, "%s.tls: %s", path, why);
    return CHAIN_OK;
}

static int get_addr(gctx *c, const json_t *obj, const char *path, const char *key,
                    const char *const *schemes, char out[CHAIN_ADDR_MAX + 1])
{
    const char *s;
    size_t n;
    int rc = get_str(c, obj, path, key, CHAIN_ADDR_MAX, &s, &n);
    if (rc)
        return rc;
    if (!chain_addr_valid(s, n))
        return gfail(c, "%s.%s: not an address (printable, no spaces)", path, key);
    bool ok = false;
    for (size_t i = 0; schemes[i] != NULL; i++) {
        size_t sl = strlen(schemes[i]);
        ok |= n > sl && memcmp(s, schemes[i], sl) == 0;
    }
    if (!ok)
        return gfail(c, "%s.%s: must start with %s%s%s", path, key, schemes[0],
                     schemes[1] ? " or " : "", schemes[1] ? schemes[1] : "");
    memcpy(out, s, n + 1);
    return CHAIN_OK;
}

/* Array at obj[key] with min..max entries (absent counts as empty). */
static int get_array(gctx *c, const json_t *obj, const char *path, const char *key, size_t min,
                     size_t max, json_t **arr)
{
    json_t *v = json_object_get(obj, key);
    if (v == NULL) {
        if (min > 0)
            return gfail(c, "%s%s%s: missing", path, *path ? "." : "", key);
        *arr = NULL;
        return CHAIN_OK;
    }
    if (!json_is_array(v))
        return gfail(c, "%s%s%s: not an array", path, *path ? "." : "", key);
    size_t n = json_array_size(v);
    if (n < min || n > max)
        return gfail(c, "%s%s%s: needs %zu to %zu entries", path, *path ? "." : "", key, min, max);
    *arr = v;
    return CHAIN_OK;
}

static int get_regions(gctx *c, const json_t *obj, const char *path,
                       char regions[CHAIN_REGIONS_MAX][CHAIN_REGION_MAX + 1], size_t *nregions)
{
    json_t *arr;
    int rc = get_array(c, obj, path, "regions", 0, CHAIN_REGIONS_MAX, &arr);
    if (rc)
        return rc;
    size_t n = arr ? json_array_size(arr) : 0;
    for (size_t i = 0; i < n; i++) {
        json_t *v = json_array_get(arr, i);
        const char *s = json_string_value(v);
        size_t sl = json_is_string(v) ? json_string_length(v) : 0;
        if (s == NULL || !chain_region_valid(s, sl))
            return gfail(c, "%s.regions[%zu]: not a region code (DE or DE-BY)", path, i);
        for (size_t j = 0; j < i; j++)
            if (strcmp(regions[j], s) == 0)
                return gfail(c, "%s.regions[%zu]: duplicate", path, i);
        memcpy(regions[i], s, sl + 1);
    }
    *nregions = n;
    return CHAIN_OK;
}

static int parse_brand(gctx *c, const json_t *b, const char *path, chain_brand *out)
{
    static const char *const keys[] = {"id", "name", "pub", "prefixes", NULL};
    if (!json_is_object(b))
        return gfail(c, "%s: not an object", path);
    int rc;
    if ((rc = only_keys(c, b, path, keys)) || (rc = get_id(c, b, path, "id", out->id)) ||
        (rc = get_name(c, b, path, "name", out->name)) || (rc = get_pub(c, b, path, out->pub)))
        return rc;
    json_t *arr;
    if ((rc = get_array(c, b, path, "prefixes", 1, CHAIN_PREFIXES_MAX, &arr)))
        return rc;
    for (size_t i = 0; i < json_array_size(arr); i++) {
        json_t *v = json_array_get(arr, i);
        const char *s = json_string_value(v);
        size_t n = json_is_string(v) ? json_string_length(v) : 0;
        bool ok = s != NULL && n >= 4 && n <= CHAIN_PREFIX_MAX;
        for (size_t j = 0; ok && j < n; j++)
            ok = s[j] >= '0' && s[j] <= '9';
        if (!ok)
            return gfail(c, "%s.prefixes[%zu]: not a GS1 company prefix (4-12 digits)", path, i);
        memcpy(out->prefixes[i], s, n + 1);
    }
    out->nprefixes = json_array_size(arr);
    return CHAIN_OK;
}

static int parse_participant(gctx *c, const json_t *p, const char *path, chain_participant *out)
{
    static const char *const keys[] = {"id", "name", "role", "pub", "regions", NULL};
    if (!json_is_object(p))
        return gfail(c, "%s: not an object", path);
    int rc;
    if ((rc = only_keys(c, p, path, keys)) || (rc = get_id(c, p, path, "id", out->id)) ||
        (rc = get_name(c, p, path, "name", out->name)) || (rc = get_pub(c, p, path, out->pub)))
        return rc;
    const char *role;
    size_t rl;
    if ((rc = get_str(c, p, path, "role", 16, &role, &rl)))
        return rc;
    out->role = chain_role_parse(role);
    if (out->role != CHAIN_ROLE_CARRIER && out->role != CHAIN_ROLE_SELLER &&
        out->role != CHAIN_ROLE_SERVICE)
        return gfail(c, "%s.role: unknown role \"%s\" (carrier, seller or service)", path, role);
    return get_regions(c, p, path, out->regions, &out->nregions);
}

static int parse_node(gctx *c, const json_t *nd, const char *path, chain_node_info *out)
{
    static const char *const keys[] = {"id", "operator", "raft", "http", "pub", "tls", NULL};
    static const char *const raft[] = {"tcp://", "tls+tcp://", NULL};
    static const char *const http[] = {"http://", "https://", NULL};
    if (!json_is_object(nd))
        return gfail(c, "%s: not an object", path);
    int rc;
    if ((rc = only_keys(c, nd, path, keys)))
        return rc;
    json_t *id = json_object_get(nd, "id");
    if (id == NULL)
        return gfail(c, "%s.id: missing", path);
    if (!json_is_integer(id) || json_integer_value(id) < 1)
        return gfail(c, "%s.id: not an integer >= 1", path);
    out->id = (uint64_t)json_integer_value(id);
    if ((rc = get_id(c, nd, path, "operator", out->operator_id)) ||
        (rc = get_addr(c, nd, path, "raft", raft, out->raft_addr)) ||
        (rc = get_addr(c, nd, path, "http", http, out->http_addr)) ||
        (rc = get_pub(c, nd, path, out->pub)))
        return rc;
    return get_tls(c, nd, path, out);
}

static int get_u32(gctx *c, const json_t *pol, const char *key, uint32_t def, uint32_t *out)
{
    json_t *v = json_object_get(pol, key);
    if (v == NULL) {
        *out = def;
        return CHAIN_OK;
    }
    if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > UINT32_MAX)
        return gfail(c, "policy.%s: not an integer from 1 to %u", key, UINT32_MAX);
    *out = (uint32_t)json_integer_value(v);
    return CHAIN_OK;
}

static int get_flag(gctx *c, const json_t *pol, const char *key, bool def, uint8_t *out)
{
    json_t *v = json_object_get(pol, key);
    if (v != NULL && !json_is_boolean(v))
        return gfail(c, "policy.%s: not true or false", key);
    bool b = v ? json_is_true(v) : def;
    *out = b ? 1 : 2; /* chain_policy: 1 suspicious, 2 not */
    return CHAIN_OK;
}

static int parse_policy(gctx *c, const json_t *root, chain_policy *p)
{
    static const char *const keys[] = {"warranty_months",
                                       "max_clients",
                                       "travel_kmh",
                                       "probe_threshold",
                                       "unsold_scan_suspicious",
                                       "outside_markets_suspicious",
                                       NULL};
    json_t *pol = json_object_get(root, "policy");
    json_t *empty = NULL;
    if (pol == NULL)
        pol = empty = json_object();
    if (pol == NULL)
        return CHAIN_ERR_NOMEM;
    int rc;
    if (!json_is_object(pol))
        rc = gfail(c, "policy: not an object");
    else if (!(rc = only_keys(c, pol, "policy", keys)) &&
             !(rc = get_u32(c, pol, "warranty_months", DEFAULT_WARRANTY_MONTHS,
                            &p->warranty_months)) &&
             !(rc = get_u32(c, pol, "max_clients", DEFAULT_MAX_CLIENTS, &p->max_clients)) &&
             !(rc = get_u32(c, pol, "travel_kmh", DEFAULT_TRAVEL_KMH, &p->travel_kmh)) &&
             !(rc = get_u32(c, pol, "probe_threshold", DEFAULT_PROBE_THRESHOLD,
                            &p->probe_threshold)) &&
             !(rc = get_flag(c, pol, "unsold_scan_suspicious", false, &p->unsold_scan_suspicious)))
        rc = get_flag(c, pol, "outside_markets_suspicious", true, &p->flagged_markets_only);
    json_decref(empty);
    return rc;
}

/* Ids, keys, node ids and addresses must each be unique network-wide. */
static int check_unique(gctx *c, const chain_genesis *g)
{
    size_t nk = g->nbrands + g->nparticipants + g->nnodes;
    const uint8_t **keys = malloc(nk * sizeof *keys);
    const char **who = malloc(nk * sizeof *who);
    int rc = CHAIN_OK;
    if (keys == NULL || who == NULL) {
        rc = CHAIN_ERR_NOMEM;
        goto out;
    }
    /* O(n^2) over at most 1048 keys at start-up: simple beats clever here. */
    size_t k = 0;
    for (size_t i = 0; i < g->nbrands; i++, k++)
        keys[k] = g->brands[i].pub, who[k] = "brands";
    for (size_t i = 0; i < g->nparticipants; i++, k++)
        keys[k] = g->participants[i].pub, who[k] = "participants";
    for (size_t i = 0; i < g->nnodes; i++, k++)
        keys[k] = g->nodes[i].pub, who[k] = "nodes";
    for (size_t i = 0; i < nk && !rc; i++)
        for (size_t j = 0; j < i && !rc; j++)
            if (memcmp(keys[i], keys[j], CHAIN_KEY_LEN) == 0)
                rc = gfail(c, "%s: public key already used in %s", who[i], who[j]);
    if (rc)
        goto out;
    size_t nid = g->nbrands + g->nparticipants;
    for (size_t i = 0; i < nid && !rc; i++) {
        const char *a = i < g->nbrands ? g->brands[i].id : g->participants[i - g->nbrands].id;
        for (size_t j = 0; j < i && !rc; j++) {
            const char *b = j < g->nbrands ? g->brands[j].id : g->participants[j - g->nbrands].id;
            if (strcmp(a, b) == 0)
                rc = i < g->nbrands
                         ? gfail(c, "brands[%zu].id: duplicate id \"%s\"", i, a)
                         : gfail(c, "participants[%zu].id: duplicate id \"%s\"", i - g->nbrands, a);
        }
    }
    for (size_t i = 0; i < g->nnodes && !rc; i++) {
        const chain_node_info *n = &g->nodes[i];
        for (size_t j = 0; j < i && !rc; j++) {
            if (n->id == g->nodes[j].id)
                rc =
                    gfail(c, "nodes[%zu].id: duplicate node id %llu", i, (unsigned long long)n->id);
            else if (strcmp(n->raft_addr, g->nodes[j].raft_addr) == 0)
                rc = gfail(c, "nodes[%zu].raft: duplicate address", i);
            else if (strcmp(n->http_addr, g->nodes[j].http_addr) == 0)
                rc = gfail(c, "nodes[%zu].http: duplicate address", i);
            else if (n->tls_len && g->nodes[j].tls_len) {
                uint8_t a[CHAIN_HASH_LEN], b[CHAIN_HASH_LEN];
                if (chain_tls_cert_check(a, n->tls, n->tls_len, NULL, 0) == CHAIN_OK &&
                    chain_tls_cert_check(b, g->nodes[j].tls, g->nodes[j].tls_len, NULL, 0) ==
                        CHAIN_OK &&
                    memcmp(a, b, sizeof a) == 0)
                    rc = gfail(c, "nodes[%zu].tls: the key of nodes[%zu]", i, j);
            }
        }
        if (rc)
            break;
        bool found = false;
        for (size_t j = 0; j < nid && !found; j++)
            found =
                strcmp(n->operator_id,
                       j < g->nbrands ? g->brands[j].id : g->participants[j - g->nbrands].id) == 0;
        if (!found)
            rc = gfail(c, "nodes[%zu].operator: no brand or participant \"%s\"", i, n->operator_id);
    }
out:
    free(keys);
    free(who);
    return rc;
}

/* Optional "resolver": an http(s) base URL of at most CHAIN_RESOLVER_MAX bytes,
 * host required, no trailing slash, query, fragment or blank (labels append
 * "/01/..." to it). */
static int parse_resolver(gctx *c, const json_t *v, chain_genesis *g)
{
    if (v == NULL)
        return 0;
    const char *s = json_string_value(v);
    size_t n = json_is_string(v) ? json_string_length(v) : 0;
    if (s == NULL || strlen(s) != n || !chain_resolver_valid(s, n))
        return gfail(c, "resolver: not an http(s):// base URL of at most 128 bytes without a "
                        "trailing '/', query or fragment");
    memcpy(g->resolver, s, n + 1);
    return 0;
}

/* Optional "webauthn": {"rp_id": domain, "origins": [exact origins], and
 * "user_verification": "required" | "preferred" (default)}. The rp id is a
 * host name (WebAuthn refuses IP addresses); each origin an http(s) origin
 * without a path. */
static int parse_webauthn(gctx *c, const json_t *v, chain_genesis *g)
{
    static const char *const keys[] = {"rp_id", "origins", "user_verification", NULL};
    if (v == NULL)
        return 0;
    if (!json_is_object(v))
        return gfail(c, "webauthn: not an object");
    int rc;
    if ((rc = only_keys(c, v, "webauthn.", keys)))
        return rc;
    const json_t *id = json_object_get(v, "rp_id");
    const char *s = json_string_value(id);
    size_t n = json_is_string(id) ? json_string_length(id) : 0;
    bool ok = s != NULL && strlen(s) == n && chain_rp_id_valid(s, n);
    if (!ok)
        return gfail(c, "webauthn.rp_id: not a lower-case host name (an IP address is not a "
                        "valid WebAuthn rp id)");
    memcpy(g->rp.id, s, n + 1);
    const json_t *arr = json_object_get(v, "origins");
    if (!json_is_array(arr) || json_array_size(arr) < 1 || json_array_size(arr) > CHAIN_ORIGINS_MAX)
        return gfail(c, "webauthn.origins: not an array of 1..%d origins", CHAIN_ORIGINS_MAX);
    for (size_t i = 0; i < json_array_size(arr); i++) {
        const json_t *o = json_array_get(arr, i);
        const char *os = json_string_value(o);
        size_t on = json_is_string(o) ? json_string_length(o) : 0;
        bool good = os != NULL && strlen(os) == on && chain_origin_valid(os, on);
        if (!good)
            return gfail(c,
                         "webauthn.origins[%zu]: not an http(s) origin (scheme://host[:port], "
                         "at most %d bytes)",
                         i, CHAIN_ORIGIN_MAX);
        memcpy(g->rp.origins[i], os, on + 1);
        g->rp.norigins = i + 1;
    }
    const json_t *uv = json_object_get(v, "user_verification");
    const char *us = json_string_value(uv);
    if (uv != NULL && (us == NULL || (strcmp(us, "required") != 0 && strcmp(us, "preferred") != 0)))
        return gfail(c, "webauthn.user_verification: not \"required\" or \"preferred\"");
    g->rp.require_uv = us != NULL && strcmp(us, "required") == 0;
    return 0;
}

static int parse_root(gctx *c, const json_t *root, chain_genesis *g)
{
    static const char *const keys[] = {
        "chain", "time", "brands", "participants", "nodes", "policy", "resolver", "webauthn", NULL};
    if (!json_is_object(root))
        return gfail(c, "genesis: not a JSON object");
    int rc;
    if ((rc = only_keys(c, root, "", keys)))
        return rc;
    json_t *chain = json_object_get(root, "chain");
    if (chain == NULL)
        return gfail(c, "chain: missing");
    const char *name = json_string_value(chain);
    size_t nl = json_is_string(chain) ? json_string_length(chain) : 0;
    bool ok = name != NULL && nl >= 1 && nl <= CHAIN_NAME_MAX;
    for (size_t i = 0; ok && i < nl; i++)
        ok = (name[i] >= 'a' && name[i] <= 'z') || (name[i] >= '0' && name[i] <= '9') ||
             name[i] == '.' || name[i] == '_' || name[i] == '-';
    if (!ok)
        return gfail(c, "chain: not a network name (a-z, 0-9, '.', '_', '-', at most 64)");
    memcpy(g->chain_name, name, nl + 1);
    json_t *t = json_object_get(root, "time");
    if (t == NULL)
        return gfail(c, "time: missing");
    if (!json_is_integer(t) || json_integer_value(t) < 0)
        return gfail(c, "time: not a non-negative integer (unix seconds)");
    g->time = (uint64_t)json_integer_value(t);
    if ((rc = parse_resolver(c, json_object_get(root, "resolver"), g)))
        return rc;
    if ((rc = parse_webauthn(c, json_object_get(root, "webauthn"), g)))
        return rc;

    json_t *arr;
    char path[48];
    if ((rc = get_array(c, root, "", "brands", 1, CHAIN_BRANDS_MAX, &arr)))
        return rc;
    for (size_t i = 0; i < json_array_size(arr); i++) {
        snprintf(path, sizeof path, "brands[%zu]", i);
        if ((rc = parse_brand(c, json_array_get(arr, i), path, &g->brands[i])))
            return rc;
        g->nbrands = i + 1;
    }
    if ((rc = get_array(c, root, "", "participants", 0, CHAIN_PARTICIPANTS_MAX, &arr)))
        return rc;
    size_t np = arr ? json_array_size(arr) : 0;
    if (np > 0) {
        g->participants = calloc(np, sizeof *g->participants);
        if (g->participants == NULL)
            return CHAIN_ERR_NOMEM;
    }
    for (size_t i = 0; i < np; i++) {
        snprintf(path, sizeof path, "participants[%zu]", i);
        if ((rc = parse_participant(c, json_array_get(arr, i), path, &g->participants[i])))
            return rc;
        g->nparticipants = i + 1;
    }
    if ((rc = get_array(c, root, "", "nodes", 1, CHAIN_NODES_MAX, &arr)))
        return rc;
    for (size_t i = 0; i < json_array_size(arr); i++) {
        snprintf(path, sizeof path, "nodes[%zu]", i);
        if ((rc = parse_node(c, json_array_get(arr, i), path, &g->nodes[i])))
            return rc;
        g->nnodes = i + 1;
    }
    if ((rc = parse_policy(c, root, &g->policy)) || (rc = check_unique(c, g)))
        return rc;
    if ((rc = chain_genesis_id(g->chain_id, g)))
        return rc == CHAIN_ERR_TOO_LARGE ? gfail(c, "genesis: too large") : rc;
    return CHAIN_OK;
}

int genesis_parse(chain_genesis **out, const char *json, size_t len, char *errmsg,
                  size_t errmsg_len)
{
    gctx c = {errmsg, errmsg_len};
    if (errmsg != NULL && errmsg_len > 0)
        errmsg[0] = '\0';
    if (len > CHAIN_GENESIS_MAX_BYTES)
        return gfail(&c, "genesis: %zu bytes, at most %u", len, CHAIN_GENESIS_MAX_BYTES);
    json_error_t jerr;
    json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL)
        return gfail(&c, "genesis: line %d column %d: %s", jerr.line, jerr.column, jerr.text);
    chain_genesis *g = calloc(1, sizeof *g);
    int rc = g ? parse_root(&c, root, g) : CHAIN_ERR_NOMEM;
    json_decref(root);
    if (rc) {
        chain_genesis_free(g);
        return rc;
    }
    *out = g;
    return CHAIN_OK;
}

int genesis_load(chain_genesis **out, const char *path, char *errmsg, size_t errmsg_len)
{
    gctx c = {errmsg, errmsg_len};
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return gfail(&c, "open %s: %s", path, strerror(errno));
    char *buf = malloc(CHAIN_GENESIS_MAX_BYTES + 1);
    if (buf == NULL) {
        fclose(f);
        return CHAIN_ERR_NOMEM;
    }
    size_t n = fread(buf, 1, CHAIN_GENESIS_MAX_BYTES + 1, f);
    int rc;
    if (ferror(f))
        rc = gfail(&c, "read %s: %s", path, strerror(errno));
    else if (n > CHAIN_GENESIS_MAX_BYTES)
        rc = gfail(&c, "%s: larger than %u bytes", path, CHAIN_GENESIS_MAX_BYTES);
    else
        rc = genesis_parse(out, buf, n, errmsg, errmsg_len);
    fclose(f);
    free(buf);
    return rc;
}

static json_t *hex_json(const uint8_t *p, size_t n)
{
    char hex[2 * CHAIN_TLS_CERT_MAX + 1]; /* the longest: a TLS certificate */
    chain_hex(hex, p, n);
    return json_string(hex);
}

/* json_object_set_new that remembers a failure. */
static void put(json_t *obj, const char *key, json_t *v, bool *ok)
{
    if (v == NULL || json_object_set_new(obj, key, v) != 0)
        *ok = false;
}

static void append(json_t *arr, json_t *v, bool *ok)
{
    if (v == NULL || json_array_append_new(arr, v) != 0)
        *ok = false;
}

json_t *genesis_to_json(const chain_genesis *g)
{
    bool ok = true;
    json_t *root = json_object();
    if (root == NULL)
        return NULL;
    put(root, "chain", json_string(g->chain_name), &ok);
    put(root, "time", json_integer((json_int_t)g->time), &ok);
    if (g->resolver[0])
        put(root, "resolver", json_string(g->resolver), &ok);
    if (g->rp.id[0]) {
        json_t *w = json_object(), *origins = json_array();
        put(root, "webauthn", w, &ok);
        if (ok) {
            put(w, "rp_id", json_string(g->rp.id), &ok);
            put(w, "origins", origins, &ok);
            for (size_t i = 0; ok && i < g->rp.norigins; i++)
                append(origins, json_string(g->rp.origins[i]), &ok);
            put(w, "user_verification", json_string(g->rp.require_uv ? "required" : "preferred"),
                &ok);
        } else {
            json_decref(origins);
        }
    }
    json_t *brands = json_array();
    put(root, "brands", brands, &ok);
    for (size_t i = 0; ok && i < g->nbrands; i++) {
        const chain_brand *b = &g->brands[i];
        json_t *o = json_object(), *pre = json_array();
        append(brands, o, &ok);
        if (!ok) {
            json_decref(pre);
            break;
        }
        put(o, "id", json_string(b->id), &ok);
        put(o, "name", json_string(b->name), &ok);
        put(o, "pub", hex_json(b->pub, CHAIN_KEY_LEN), &ok);
        put(o, "prefixes", pre, &ok);
        for (size_t j = 0; ok && j < b->nprefixes; j++)
            append(pre, json_string(b->prefixes[j]), &ok);
    }
    json_t *parts = json_array();
    put(root, "participants", parts, &ok);
    for (size_t i = 0; ok && i < g->nparticipants; i++) {
        const chain_participant *p = &g->participants[i];
        json_t *o = json_object(), *regs = json_array();
        append(parts, o, &ok);
        if (!ok) {
            json_decref(regs);
            break;
        }
        put(o, "id", json_string(p->id), &ok);
        put(o, "name", json_string(p->name), &ok);
        put(o, "role", json_string(chain_role_name(p->role)), &ok);
        put(o, "pub", hex_json(p->pub, CHAIN_KEY_LEN), &ok);
        put(o, "regions", regs, &ok);
        for (size_t j = 0; ok && j < p->nregions; j++)
            append(regs, json_string(p->regions[j]), &ok);
    }
    json_t *nodes = json_array();
    put(root, "nodes", nodes, &ok);
    for (size_t i = 0; ok && i < g->nnodes; i++) {
        const chain_node_info *n = &g->nodes[i];
        json_t *o = json_object();
        append(nodes, o, &ok);
        if (!ok)
            break;
        put(o, "id", json_integer((json_int_t)n->id), &ok);
        put(o, "operator", json_string(n->operator_id), &ok);
        put(o, "raft", json_string(n->raft_addr), &ok);
        put(o, "http", json_string(n->http_addr), &ok);
        put(o, "pub", hex_json(n->pub, CHAIN_KEY_LEN), &ok);
        if (n->tls_len)
            put(o, "tls", hex_json(n->tls, n->tls_len), &ok);
    }
    const chain_policy *p = &g->policy;
    json_t *pol = json_object();
    put(root, "policy", pol, &ok);
    if (ok) {
        put(pol, "warranty_months", json_integer(p->warranty_months), &ok);
        put(pol, "max_clients", json_integer(p->max_clients), &ok);
        put(pol, "travel_kmh", json_integer(p->travel_kmh), &ok);
        put(pol, "probe_threshold", json_integer(p->probe_threshold), &ok);
        put(pol, "unsold_scan_suspicious", json_boolean(p->unsold_scan_suspicious == 1), &ok);
        put(pol, "outside_markets_suspicious", json_boolean(p->flagged_markets_only == 1), &ok);
    }
    if (!ok) {
        json_decref(root);
        return NULL;
    }
    return root;
}
