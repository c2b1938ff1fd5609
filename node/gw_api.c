/*
 * gw_api.c — the route table and the ledger-wide routes of /api/v1: head,
 * transactions (read and submit), blocks, lots, participants, nonces, node
 * status, genesis, and /metrics.
 *
 * Reads open one chain_rd each and close it before serializing. Submission
 * runs on the gateway's worker pool (gw_defer) because replica_submit blocks
 * until the commit; a batch is handed over whole first (wait 0 each) and then
 * waited for, so its transactions share blocks instead of one block each.
 */
#include "node/version.h"
#include "node/gw_priv.h"

#include <cbor.h>
#include <microhttpd.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "genesis/genesis.h"
#include "node/gw_parse.h"
#include "node/node.h"

/* What this build is and speaks, for an operator planning an upgrade. */
static void gw_status_versions(json_t *o)
{
    json_object_set_new(o, "version", json_string(node_version()));
    json_object_set_new(o, "ledger_format", json_integer(NODE_LEDGER_FORMAT));
    json_object_set_new(o, "wire_format", json_integer(NODE_WIRE_FORMAT));
}

static void hex_set(json_t *o, const char *k, const uint8_t *b, size_t n)
{
    char h[2 * CHAIN_HASH_LEN + 1];
    chain_hex(h, b, n);
    json_object_set_new(o, k, json_string(h));
}

static bool begin(gw_req *r, chain_rd **rd)
{
    int e = chain_rd_begin(r->g->deps.chain, rd);
    if (e != CHAIN_OK) {
        gw_reply_chain_err(r, e, "opening a read snapshot");
        return false;
    }
    return true;
}

static void route_head(gw_req *r)
{
    chain_rd *rd;
    chain_head h;
    if (!begin(r, &rd))
        return;
    int e = chain_head_get(rd, &h);
    chain_rd_end(rd);
    if (e != CHAIN_OK) {
        gw_reply_chain_err(r, e, "head");
        return;
    }
    json_t *o = json_object();
    json_object_set_new(o, "height", json_integer((json_int_t)h.height));
    hex_set(o, "id", h.id, CHAIN_HASH_LEN);
    json_object_set_new(o, "time", json_integer((json_int_t)h.time));
    hex_set(o, "state_digest", h.state_digest, CHAIN_HASH_LEN);
    json_object_set_new(o, "applied_index", json_integer((json_int_t)h.applied_index));
    json_object_set_new(o, "units", json_integer((json_int_t)h.units));
    json_object_set_new(o, "txs", json_integer((json_int_t)h.txs));
    hex_set(o, "chain_id", r->g->chain_id, CHAIN_HASH_LEN);
    json_object_set_new(o, "chain", json_string(r->g->deps.genesis->chain_name));
    gw_reply_json(r, 200, o);
}

static bool hex_param(gw_req *r, size_t i, uint8_t out[32], const char *what)
{
    char h[GW_PARAM_MAX];
    if (!gw_param(r, i, h, sizeof h) || strlen(h) != 64 || chain_unhex(out, 32, h, 64) != 32) {
        gw_reply_error(r, 400, "bad_request", "%s: expected 64 hex characters", what);
        return false;
    }
    return true;
}

static const char *receipt_status(const chain_receipt *rc)
{
    return rc->code == CHAIN_OK ? "accepted" : "rejected";
}

static void route_tx_get(gw_req *r)
{
    uint8_t id[32];
    if (!hex_param(r, 0, id, "tx id"))
        return;
    chain_rd *rd;
    if (!begin(r, &rd))
        return;
    chain_receipt rc;
    const uint8_t *raw;
    size_t raw_len;
    int e = chain_tx_get(rd, &rc, &raw, &raw_len, id);
    if (e != CHAIN_OK) {
        chain_rd_end(rd);
        if (e == CHAIN_ERR_NOT_FOUND)
            gw_reply_error(r, 404, "not_found", "no transaction with this id in the ledger");
        else
            gw_reply_chain_err(r, e, "tx");
        return;
    }
    chain_tx tx;
    char msg[128];
    json_t *txj = NULL;
    if (raw && chain_tx_decode(&tx, raw, raw_len, msg, sizeof msg) == CHAIN_OK) {
        txj = chain_tx_to_json(&tx);
        chain_tx_free(&tx);
    }
    chain_rd_end(rd);
    json_t *o = json_object();
    json_object_set_new(o, "receipt", gw_json_receipt(&rc, receipt_status(&rc)));
    json_object_set_new(o, "tx", txj ? txj : json_null());
    gw_reply_json(r, 200, o);
}

/* Tx ids of an encoded block: {"header":…, "txs":[bstr…]} read with libcbor. */
static json_t *block_tx_ids(const uint8_t *raw, size_t len)
{
    struct cbor_load_result res;
    cbor_item_t *root = cbor_load(raw, len, &res);
    json_t *ids = json_array();
    if (!root || !cbor_isa_map(root)) {
        if (root)
            cbor_decref(&root);
        return ids;
    }
    struct cbor_pair *pairs = cbor_map_handle(root);
    for (size_t i = 0; i < cbor_map_size(root); i++) {
        cbor_item_t *k = pairs[i].key, *v = pairs[i].value;
        if (!cbor_isa_string(k) || cbor_string_length(k) != 3 ||
            memcmp(cbor_string_handle(k), "txs", 3) != 0 || !cbor_isa_array(v))
            continue;
        for (size_t t = 0; t < cbor_array_size(v); t++) {
            cbor_item_t *b = cbor_array_handle(v)[t];
            chain_tx tx;
            uint8_t id[32];
            char msg[64];
            if (!cbor_isa_bytestring(b) || !cbor_bytestring_is_definite(b) ||
                chain_tx_decode(&tx, cbor_bytestring_handle(b), cbor_bytestring_length(b), msg,
                                sizeof msg) != CHAIN_OK) {
                json_array_append_new(ids, json_null());
                continue;
            }
            if (chain_tx_id(id, &tx) == CHAIN_OK) {
                char h[65];
                chain_hex(h, id, 32);
                json_array_append_new(ids, json_string(h));
            } else {
                json_array_append_new(ids, json_null());
            }
            chain_tx_free(&tx);
        }
    }
    cbor_decref(&root);
    return ids;
}

/* {"id", "header", "ntxs", "txs": [ids], "size"} of a stored block, or NULL
 * with *err set when it does not peek. */
static json_t *block_json(const uint8_t *raw, size_t len, int *err)
{
    chain_block_header hdr;
    uint8_t id[32];
    size_t ntxs;
    *err = chain_block_peek(&hdr, id, &ntxs, raw, len);
    if (*err != CHAIN_OK)
        return NULL;
    json_t *h = json_object();
    json_object_set_new(h, "height", json_integer((json_int_t)hdr.height));
    hex_set(h, "prev", hdr.prev, 32);
    json_object_set_new(h, "time", json_integer((json_int_t)hdr.time));
    hex_set(h, "txs_root", hdr.txs_root, 32);
    json_object_set_new(h, "proposer", json_integer((json_int_t)hdr.proposer));
    json_t *o = json_object();
    hex_set(o, "id", id, 32);
    json_object_set_new(o, "header", h);
    json_object_set_new(o, "ntxs", json_integer((json_int_t)ntxs));
    json_object_set_new(o, "txs", block_tx_ids(raw, len));
    json_object_set_new(o, "size", json_integer((json_int_t)len));
    return o;
}

/* A block read that failed: 404 for a height past the head, else the chain error. */
static void reply_block_err(gw_req *r, int e, uint64_t height)
{
    if (e == CHAIN_ERR_NOT_FOUND)
        gw_reply_error(r, 404, "not_found", "no block at height %llu", (unsigned long long)height);
    else
        gw_reply_chain_err(r, e, "block");
}

/* format=json (default) or cbor; false after answering 400. */
static bool want_cbor(gw_req *r, bool *cbor)
{
    const char *fmt = gw_arg(r, "format");
    *cbor = fmt && strcmp(fmt, "cbor") == 0;
    if (fmt && !*cbor && strcmp(fmt, "json") != 0) {
        gw_reply_error(r, 400, "bad_query", "format: json or cbor");
        return false;
    }
    return true;
}

static void route_block(gw_req *r)
{
    char hs[GW_PARAM_MAX];
    uint64_t height;
    bool cbor;
    if (!gw_param(r, 0, hs, sizeof hs) || !gw_parse_u64(&height, hs, strlen(hs)) || height == 0) {
        gw_reply_error(r, 400, "bad_request", "height: expected an integer ≥ 1");
        return;
    }
    if (!want_cbor(r, &cbor))
        return;
    chain_rd *rd;
    if (!begin(r, &rd))
        return;
    const uint8_t *raw;
    size_t len;
    int e = chain_block_get(rd, &raw, &len, height);
    if (e != CHAIN_OK) {
        chain_rd_end(rd);
        reply_block_err(r, e, height);
        return;
    }
    if (cbor) {
        char *copy = malloc(len ? len : 1);
        if (copy)
            memcpy(copy, raw, len);
        chain_rd_end(rd);
        if (!copy)
            gw_reply_error(r, 503, "nomem", "out of memory");
        else
            gw_reply(r, 200, "application/cbor", copy, len);
        return;
    }
    json_t *o = block_json(raw, len, &e);
    chain_rd_end(rd);
    if (!o)
        gw_reply_chain_err(r, e, "stored block");
    else
        gw_reply_json(r, 200, o);
}

/* GET /api/v1/blocks?from=H&limit=N[&format=cbor]: consecutive blocks from H,
 * at most N (≤ GW_BLOCKS_MAX) and GW_BLOCKS_BYTES of them but at least one.
 * CBOR: one array of the encoded blocks (what a node catching up reads);
 * JSON: {"from", "count", "blocks": [block…]}. 404 when there is no block H. */
static void route_blocks(gw_req *r)
{
    const char *f = gw_arg(r, "from"), *l = gw_arg(r, "limit");
    uint64_t from = 0, limit = GW_BLOCKS_MAX;
    bool cbor;
    if (!f || !gw_parse_u64(&from, f, strlen(f)) || from == 0) {
        gw_reply_error(r, 400, "bad_query", "from: expected a height ≥ 1");
        return;
    }
    if (l && (!gw_parse_u64(&limit, l, strlen(l)) || limit == 0 || limit > GW_BLOCKS_MAX)) {
        gw_reply_error(r, 400, "bad_query", "limit: expected 1..%d", GW_BLOCKS_MAX);
        return;
    }
    if (!want_cbor(r, &cbor))
        return;
    chain_rd *rd;
    if (!begin(r, &rd))
        return;
    uint8_t *buf = NULL;
    size_t len = 0, n = 0;
    int e = chain_blocks_encode(rd, from, (size_t)limit, GW_BLOCKS_BYTES, &buf, &len, &n);
    if (e != CHAIN_OK) {
        chain_rd_end(rd);
        reply_block_err(r, e, from);
        return;
    }
    if (cbor) {
        chain_rd_end(rd);
        gw_reply(r, 200, "application/cbor", (char *)buf, len);
        return;
    }
    free(buf);
    json_t *arr = json_array();
    for (size_t i = 0; i < n && e == CHAIN_OK; i++) {
        const uint8_t *raw;
        size_t blen;
        if ((e = chain_block_get(rd, &raw, &blen, from + i)) == CHAIN_OK) {
            json_t *b = block_json(raw, blen, &e);
            if (b)
                json_array_append_new(arr, b);
        }
    }
    chain_rd_end(rd);
    if (e != CHAIN_OK) {
        json_decref(arr);
        gw_reply_chain_err(r, e, "stored block");
        return;
    }
    json_t *o = json_object();
    json_object_set_new(o, "from", json_integer((json_int_t)from));
    json_object_set_new(o, "count", json_integer((json_int_t)n));
    json_object_set_new(o, "blocks", arr);
    gw_reply_json(r, 200, o);
}

typedef struct lot_page {
    json_t *serials;
    char last[GS1_SERIAL_MAX + 1];
} lot_page;

static int collect_unit(void *ctx, const gs1_sgtin *id)
{
    lot_page *p = ctx;
    json_array_append_new(p->serials, json_string(id->serial));
    snprintf(p->last, sizeof p->last, "%s", id->serial);
    return 0;
}

static void route_lot(gw_req *r)
{
    char gtin[GW_PARAM_MAX], lot[GW_PARAM_MAX], after[GW_PARAM_MAX] = "";
    if (!gw_param(r, 0, gtin, sizeof gtin) || !gs1_gtin_valid(gtin, strlen(gtin)) ||
        !gw_param(r, 1, lot, sizeof lot) || !gs1_serial_valid(lot, strlen(lot))) {
        gw_reply_error(r, 400, "bad_unit", "expected a GTIN-14 and a GS1 lot");
        return;
    }
    const char *a = gw_arg(r, "after"), *l = gw_arg(r, "limit");
    uint64_t limit = 100;
    if ((a && chain_pct_decode(after, sizeof after, a, strlen(a)) < 0) ||
        (l && (!gw_parse_u64(&limit, l, strlen(l)) || limit > GW_LOT_PAGE_MAX))) {
        gw_reply_error(r, 400, "bad_query", "after: a serial; limit: 1..%d", GW_LOT_PAGE_MAX);
        return;
    }
    if (limit == 0)
        limit = 100;
    chain_rd *rd;
    if (!begin(r, &rd))
        return;
    chain_lot L;
    int e = chain_lot_get(rd, &L, gtin, lot);
    if (e != CHAIN_OK) {
        chain_rd_end(rd);
        if (e == CHAIN_ERR_NOT_FOUND)
            gw_reply_error(r, 404, "not_found", "no lot %s of %s", lot, gtin);
        else
            gw_reply_chain_err(r, e, "lot");
        return;
    }
    lot_page p = {json_array(), ""};
    e = chain_lot_units(rd, gtin, lot, after, (uint32_t)limit, collect_unit, &p);
    chain_rd_end(rd);
    if (e != CHAIN_OK) {
        json_decref(p.serials);
        gw_reply_chain_err(r, e, "lot units");
        return;
    }
    json_t *lo = json_object();
    json_object_set_new(lo, "gtin", json_string(L.gtin));
    json_object_set_new(lo, "lot", json_string(L.lot));
    if (L.expiry[0])
        json_object_set_new(lo, "expiry", json_string(L.expiry));
    json_object_set_new(lo, "model", json_string(L.model));
    json_t *m = json_array();
    for (size_t i = 0; i < L.nmarkets; i++)
        json_array_append_new(m, json_string(L.markets[i]));
    json_object_set_new(lo, "markets", m);
    json_object_set_new(lo, "warranty_months", json_integer(L.warranty_months));
    json_object_set_new(lo, "units", json_integer((json_int_t)L.units));
    json_object_set_new(lo, "minted_at", json_integer((json_int_t)L.minted_at));
    json_t *o = json_object();
    json_object_set_new(o, "lot", lo);
    size_t got = json_array_size(p.serials);
    json_object_set_new(o, "units", p.serials);
    json_object_set_new(o, "next", got == limit ? json_string(p.last) : json_null());
    gw_reply_json(r, 200, o);
}

static int collect_participant(void *ctx, const chain_participant *p)
{
    json_array_append_new(ctx, gw_json_participant(p));
    return 0;
}

static void route_participants(gw_req *r)
{
    chain_rd *rd;
    if (!begin(r, &rd))
        return;
    json_t *a = json_array();
    int e = chain_participants(rd, collect_participant, a);
    chain_rd_end(rd);
    if (e != CHAIN_OK) {
        json_decref(a);
        gw_reply_chain_err(r, e, "participants");
        return;
    }
    gw_reply_json(r, 200, json_pack("{s:o}", "participants", a));
}

static void route_participant(gw_req *r)
{
    char id[GW_PARAM_MAX];
    if (!gw_param(r, 0, id, sizeof id) || strlen(id) > CHAIN_ID_MAX) {
        gw_reply_error(r, 400, "bad_request", "participant id: 1..%d characters", CHAIN_ID_MAX);
        return;
    }
    chain_rd *rd;
    if (!begin(r, &rd))
        return;
    chain_participant p;
    int e = chain_participant_get(rd, &p, id);
    chain_rd_end(rd);
    if (e == CHAIN_ERR_NOT_FOUND || e == CHAIN_ERR_UNKNOWN_PARTICIPANT)
        gw_reply_error(r, 404, "not_found", "no participant '%s'", id);
    else if (e != CHAIN_OK)
        gw_reply_chain_err(r, e, "participant");
    else
        gw_reply_json(r, 200, gw_json_participant(&p));
}

static void route_nonce(gw_req *r)
{
    uint8_t key[32];
    if (!hex_param(r, 0, key, "key"))
        return;
    chain_rd *rd;
    if (!begin(r, &rd))
        return;
    uint64_t next = chain_nonce_next(rd, key);
    chain_rd_end(rd);
    json_t *o = json_object();
    hex_set(o, "key", key, 32);
    json_object_set_new(o, "next", json_integer((json_int_t)next));
    gw_reply_json(r, 200, o);
}

/* The operator of node id and whether the ledger has it revoked; false when
 * the node or its operator is unknown here. */
static bool operator_of(chain_rd *rd, uint64_t id, char op[CHAIN_ID_MAX + 1], bool *revoked)
{
    chain_node_info n;
    chain_participant p;
    *revoked = false;
    op[0] = '\0';
    if (chain_node_get(rd, id, &n) != CHAIN_OK)
        return false;
    memcpy(op, n.operator_id, CHAIN_ID_MAX + 1);
    if (n.operator_id[0] && chain_participant_get(rd, &p, n.operator_id) == CHAIN_OK)
        *revoked = p.revoked;
    return true;
}

static void status_of(gw *g, gw_status *st)
{
    memset(st, 0, sizeof *st);
    replica_status_get(g->deps.replica, &st->replica);
    st->replica.id = g->deps.node_id;
    chain_rd *rd;
    if (chain_rd_begin(g->deps.chain, &rd) == CHAIN_OK) {
        operator_of(rd, g->deps.node_id, st->operator_id, &st->operator_revoked);
        for (size_t i = 0; i < st->replica.npeers && i < CHAIN_NODES_MAX; i++)
            operator_of(rd, st->replica.peers[i].id, st->peer_ops[i].operator_id,
                        &st->peer_ops[i].revoked);
        chain_rd_end(rd);
    }
    if (g->deps.scanq) {
        scanq_stats qs;
        scanq_stats_get(g->deps.scanq, &qs);
        st->scans_dropped = qs.dropped;
        st->scan_batches = qs.batches;
    }
}

/* A counter for JSON: a number while it is one every JSON reader holds exactly
 * (up to 2^53), else its exact decimal as a string; never a negative number
 * (a Raft term read from an older data directory can be near 2^64). */
static json_t *json_u64(uint64_t v)
{
    if (v <= (UINT64_C(1) << 53))
        return json_integer((json_int_t)v);
    char d[24];
    snprintf(d, sizeof d, "%llu", (unsigned long long)v);
    return json_string(d);
}

static void route_status(gw_req *r)
{
    gw_status *st = malloc(sizeof *st);
    if (!st) {
        gw_reply_error(r, 503, "nomem", "out of memory");
        return;
    }
    status_of(r->g, st);
    chain_head h = {0};
    char resolver[CHAIN_RESOLVER_MAX + 1] = "";
    chain_rp rp;
    memset(&rp, 0, sizeof rp);
    chain_rd *rd;
    if (chain_rd_begin(r->g->deps.chain, &rd) == CHAIN_OK) {
        if (chain_head_get(rd, &h) != CHAIN_OK)
            memset(&h, 0, sizeof h);
        if (chain_resolver_current(rd, resolver) != CHAIN_OK)
            resolver[0] = '\0';
        if (chain_rp_current(rd, &rp) != CHAIN_OK)
            memset(&rp, 0, sizeof rp);
        chain_rd_end(rd);
    }
    json_t *o = json_object(), *peers = json_array();
    json_object_set_new(o, "id", json_integer((json_int_t)r->g->deps.node_id));
    json_object_set_new(o, "role", json_string(st->replica.role_name));
    json_object_set_new(o, "leader", json_integer((json_int_t)st->replica.leader_id));
    json_object_set_new(o, "term", json_u64(st->replica.term));
    json_object_set_new(o, "commit_index", json_u64(st->replica.commit_index));
    json_object_set_new(o, "last_applied", json_u64(st->replica.last_applied));
    json_object_set_new(o, "height", json_integer((json_int_t)h.height));
    json_object_set_new(o, "removed", json_boolean(st->replica.removed_height != 0));
    json_object_set_new(o, "operator", json_string(st->operator_id));
    json_object_set_new(o, "operator_revoked", json_boolean(st->operator_revoked));
    if (st->replica.removed_height)
        json_object_set_new(o, "removed_at_height", json_u64(st->replica.removed_height));
    for (size_t i = 0; i < st->replica.npeers && i < CHAIN_NODES_MAX; i++) {
        const __typeof__(st->replica.peers[0]) *p = &st->replica.peers[i];
        json_t *po =
            json_pack("{s:I,s:s,s:b,s:s,s:b}", "id", (json_int_t)p->id, "raft", p->raft_addr,
                      "voter", p->voter, "operator", st->peer_ops[i].operator_id,
                      "operator_revoked", st->peer_ops[i].revoked);
        if (po && p->health_known) { /* the leader's view of each member */
            json_object_set_new(po, "up", json_boolean(p->up));
            json_object_set_new(po, "last_contact_ms", json_u64(p->last_contact_ms));
            json_object_set_new(po, "match_index", json_u64(p->match_index));
            json_object_set_new(po, "lag_entries", json_u64(p->lag_entries));
            json_object_set_new(po, "lag_ms", json_u64(p->lag_ms));
        }
        json_array_append_new(peers, po);
    }
    json_object_set_new(o, "peers", peers);
    const __typeof__(st->replica.links) *l = &st->replica.links;
    json_object_set_new(
        o, "raft_links",
        json_pack("{s:b,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o}", "tls", l->tls, "frames_malformed",
                  json_u64(l->malformed), "frames_other_network", json_u64(l->other_chain),
                  "frames_refused", json_u64(l->refused), "frames_unauthenticated",
                  json_u64(l->unauthenticated), "frames_wrong_sender", json_u64(l->wrong_sender),
                  "hellos_refused", json_u64(l->hellos_refused), "pin_changes",
                  json_u64(l->pin_changes), "links_rebuilt", json_u64(l->rebuilt)));
    json_object_set_new(o, "disk",
                        json_pack("{s:b,s:o,s:o}", "full", st->replica.disk_full, "free_bytes",
                                  json_u64(st->replica.disk_free), "reserve_bytes",
                                  json_u64(st->replica.disk_reserve)));
    hex_set(o, "chain_id", r->g->chain_id, CHAIN_HASH_LEN);
    /* the network's resolver (resolver.set, else genesis); null when none */
    json_object_set_new(o, "resolver", resolver[0] ? json_string(resolver) : json_null());
    /* the WebAuthn relying party in force (rp.set, else genesis); null: no passkeys */
    json_t *wa = json_null();
    if (rp.id[0]) {
        json_t *origins = json_array();
        for (size_t i = 0; i < rp.norigins; i++)
            json_array_append_new(origins, json_string(rp.origins[i]));
        wa = json_pack("{s:s,s:o,s:s}", "rp_id", rp.id, "origins", origins, "user_verification",
                       rp.require_uv ? "required" : "preferred");
    }
    json_object_set_new(o, "webauthn", wa);
    gw_status_versions(o);
    free(st);
    gw_reply_json(r, 200, o);
}

static void route_genesis(gw_req *r)
{
    json_t *j = genesis_to_json(r->g->deps.genesis);
    if (!j) {
        gw_reply_error(r, 503, "nomem", "out of memory");
        return;
    }
    gw_reply_json(r, 200, j);
}

static void route_metrics(gw_req *r)
{
    gw_status *st = malloc(sizeof *st);
    chain_head h, *hp = NULL;
    chain_rd *rd;
    if (st)
        status_of(r->g, st);
    if (chain_rd_begin(r->g->deps.chain, &rd) == CHAIN_OK) {
        if (chain_head_get(rd, &h) == CHAIN_OK)
            hp = &h;
        chain_rd_end(rd);
    }
    char *out;
    size_t len;
    int e =
        metrics_render(r->g->metrics, &out, &len, st, hp, chain_storage_bytes(r->g->deps.chain));
    free(st);
    if (e != 0) {
        gw_reply_error(r, 503, "nomem", "out of memory");
        return;
    }
    gw_reply(r, 200, "text/plain; version=0.0.4; charset=utf-8", out, len);
}

/* ---- POST /api/v1/tx -------------------------------------------------------------- */

/* One submission (gw_parse.h: tx_item, tx_batch). */
static void batch_free(tx_batch *b)
{
    gw_txs_free(b);
}

static const char *result_code(int res)
{
    switch (res) {
    case REPLICA_NO_LEADER:
        return "no_leader";
    case REPLICA_BUSY:
        return "busy";
    case REPLICA_TIMEOUT:
        return "timeout";
    case REPLICA_STOPPING:
        return "stopping";
    case REPLICA_DISK_FULL:
        return "disk_full";
    case REPLICA_REMOVED:
        return "removed";
    default:
        return "internal";
    }
}

static json_t *item_json(const tx_item *it)
{
    if (it->limited) {
        json_t *o = json_object();
        json_object_set_new(o, "status", json_string("rate_limited"));
        json_object_set_new(o, "code", json_string("rate_limited"));
        json_object_set_new(o, "detail", json_string(it->msg));
        return o;
    }
    if (it->err != CHAIN_OK) {
        json_t *o = json_object();
        json_object_set_new(o, "status", json_string("rejected"));
        json_object_set_new(o, "code", json_string(chain_err_code(it->err)));
        json_object_set_new(o, "detail", json_string(it->msg));
        return o;
    }
    switch (it->res) {
    case REPLICA_COMMITTED:
        return gw_json_receipt(&it->rc, receipt_status(&it->rc));
    case REPLICA_REJECTED:
        return gw_json_receipt(&it->rc, "rejected");
    case REPLICA_QUEUED:
        return gw_json_receipt(&it->rc, "queued");
    default: {
        json_t *o = gw_json_receipt(&it->rc, result_code(it->res));
        json_object_set_new(o, "code", json_string(result_code(it->res)));
        return o;
    }
    }
}

static void submit_reply(gw_req *r);

/* The error object of a 410: this node left the network and took nothing. */
static json_t *removed_error(gw_req *r)
{
    char m[200];
    snprintf(m, sizeof m,
             "node %llu was removed from the network at height %llu and takes no "
             "transactions; send them to a member",
             (unsigned long long)r->g->deps.node_id,
             (unsigned long long)replica_removed_height(r->g->deps.replica));
    return json_pack("{s:s,s:s}", "code", "removed", "message", m);
}

/* On a pool worker: hand every tx over, then wait for each (batch), or
 * submit-and-wait (one tx). */
static void submit_work(gw_req *r)
{
    tx_batch *b = r->work;
    gw *g = r->g;
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (size_t i = 0; i < b->n; i++) {
        tx_item *it = &b->items[i];
        if (it->err != CHAIN_OK || it->limited)
            continue;
        unsigned w = b->batch ? 0 : b->wait_ms;
        it->res = replica_submit(g->deps.replica, &it->rc, it->p, it->len, w);
    }
    if (b->batch && b->wait_ms > 0) {
        for (size_t i = 0; i < b->n; i++) {
            tx_item *it = &b->items[i];
            if (it->err != CHAIN_OK || it->limited || it->res != REPLICA_QUEUED)
                continue;
            struct timespec t;
            clock_gettime(CLOCK_MONOTONIC, &t);
            uint64_t spent = (uint64_t)(t.tv_sec - t0.tv_sec) * 1000 +
                             (uint64_t)((t.tv_nsec - t0.tv_nsec) / 1000000);
            unsigned left = spent >= b->wait_ms ? 1 : b->wait_ms - (unsigned)spent;
            it->res = replica_submit(g->deps.replica, &it->rc, it->p, it->len, left);
        }
    }
    submit_reply(r);
}

/* The answer to a submission whose items have their results. */
static void submit_reply(gw_req *r)
{
    tx_batch *b = r->work;
    if (b->batch) {
        json_t *a = json_array();
        size_t removed = 0;
        for (size_t i = 0; i < b->n; i++) {
            json_array_append_new(a, item_json(&b->items[i]));
            removed += b->items[i].err == CHAIN_OK && b->items[i].res == REPLICA_REMOVED;
        }
        json_t *o = json_pack("{s:o}", "receipts", a);
        unsigned status = b->wait_ms ? 200 : 202;
        if (removed > 0 && removed == b->n) { /* none handed over, ever: go elsewhere */
            status = 410;
            json_object_set_new(o, "error", removed_error(r));
        }
        gw_reply_json(r, status, o);
    } else {
        tx_item *it = &b->items[0];
        unsigned status;
        json_t *o = item_json(it);
        if (it->limited) {
            status = 429;
            json_object_set_new(o, "error",
                                json_pack("{s:s,s:s}", "code", "rate_limited", "message", it->msg));
        } else if (it->err != CHAIN_OK) {
            /* the JSON was read but a field is missing or wrong: 422, not 400 */
            status = gw_status_of_chain_err(it->err);
            if (status == 400)
                status = 422;
            json_object_set_new(
                o, "error",
                json_pack("{s:s,s:s}", "code", chain_err_code(it->err), "message", it->msg));
        } else if (it->res == REPLICA_COMMITTED || it->res == REPLICA_REJECTED) {
            status = it->rc.code == CHAIN_OK ? 200 : gw_status_of_chain_err(it->rc.code);
            if (it->rc.code != CHAIN_OK)
                json_object_set_new(
                    o, "error",
                    json_pack("{s:s,s:s}", "code", chain_err_code(it->rc.code), "message",
                              it->rc.detail[0] ? it->rc.detail : chain_strerror(it->rc.code)));
        } else if (it->res == REPLICA_QUEUED) {
            status = 202;
        } else if (it->res == REPLICA_REMOVED) {
            /* for good, and the tx was not handed over: a client goes elsewhere */
            status = 410;
            json_object_set_new(o, "error", removed_error(r));
        } else {
            status = it->res == REPLICA_TIMEOUT ? 504 : it->res == REPLICA_DISK_FULL ? 507 : 503;
            const char *m = it->res == REPLICA_TIMEOUT
                                ? "not committed in time; outcome unknown, look the tx id up later"
                            : it->res == REPLICA_DISK_FULL
                                ? "the node's data disk is full: nothing was written; retry once "
                                  "the operator has freed space"
                                : "cannot submit now; retry soon";
            if (it->res == REPLICA_DISK_FULL)
                r->retry_after_s = 30;
            json_object_set_new(o, "error",
                                json_pack("{s:s,s:s}", "code", result_code(it->res), "message", m));
        }
        gw_reply_json(r, status, o);
    }
    batch_free(b);
    r->work = NULL;
}

/* Parses the body into a batch (gw_txs_parse), or answers and returns NULL. */
static tx_batch *parse_txs(gw_req *r)
{
    gw_perr e;
    tx_batch *b =
        gw_txs_parse(gw_header(r, MHD_HTTP_HEADER_CONTENT_TYPE), r->body, r->body_len, &e);
    if (!b)
        gw_reply_error(r, e.status, e.code, "%s", e.msg);
    return b;
}

static void batch_free_cb(void *work)
{
    batch_free(work);
}

/* submit_async's callback: any thread, exactly once. */
static void submit_done(void *ctx, int result, const chain_receipt *receipt)
{
    gw_req *r = ctx;
    tx_item *it = &((tx_batch *)r->work)->items[0];
    it->res = result;
    it->rc = *receipt;
    gw_resume(r);
}

/* Rate limits of submissions (before any work is queued): the client pays one
 * token per transaction — a batch over its budget is refused whole, 429 —
 * and each signer one per transaction it signed; a transaction whose signer
 * is over budget is not submitted (its receipt says rate_limited; a single
 * transaction gets 429). Retry-After says when enough tokens are back. false
 * when the request was answered. */
static bool tx_rate_check(gw_req *r, tx_batch *b)
{
    gw *g = r->g;
    uint64_t retry = 0, worst = 0;
    if (!gw_rate_take_retry(g->tx_client, r->client, (unsigned)b->n, r->now_ms, &retry)) {
        metrics_rate_limited(g->metrics);
        r->retry_after_s = retry == UINT64_MAX ? 60 : (unsigned)(retry / 1000 + 1);
        if (retry == UINT64_MAX)
            gw_reply_error(r, 429, "rate_limited",
                           "a batch of %zu transactions is over this client's burst", b->n);
        else
            gw_reply_error(r, 429, "rate_limited",
                           "too many transactions from this client; retry in %u s",
                           r->retry_after_s);
        return false;
    }
    size_t limited = 0;
    for (size_t i = 0; i < b->n; i++) {
        tx_item *it = &b->items[i];
        if (it->err != CHAIN_OK)
            continue;
        chain_tx t;
        char m[8];
        if (chain_tx_decode(&t, it->p, it->len, m, sizeof m) != CHAIN_OK)
            continue; /* the submit precheck refuses it with the reason */
        uint8_t key[GW_CLIENT_LEN];
        memcpy(key, t.signer + 8, GW_CLIENT_LEN); /* a key's bytes are uniform */
        chain_tx_free(&t);
        if (!gw_rate_take_retry(g->tx_signer, key, 1, r->now_ms, &retry)) {
            it->limited = true;
            snprintf(it->msg, sizeof it->msg, "too many transactions from this signer");
            if (retry > worst)
                worst = retry;
            limited++;
        }
    }
    if (limited) {
        metrics_rate_limited(g->metrics);
        r->retry_after_s = (unsigned)(worst / 1000 + 1);
    }
    return true;
}

static void route_tx_post(gw_req *r)
{
    const char *w = gw_arg(r, "wait");
    uint64_t wait_ms = GW_WAIT_MS_DEFAULT;
    if (w && (!gw_parse_u64(&wait_ms, w, strlen(w)) || wait_ms > 60000)) {
        gw_reply_error(r, 400, "bad_query", "wait: milliseconds 0..60000");
        return;
    }
    if (!r->g->deps.replica) {
        gw_reply_error(r, 503, "no_leader", "this node takes no submissions");
        return;
    }
    if (replica_disk_full(r->g->deps.replica)) {
        r->retry_after_s = 30;
        gw_reply_error(r, 507, "disk_full",
                       "the node's data disk is full: nothing was written; retry once the "
                       "operator has freed space");
        return;
    }
    /* ?min_height=H: admission (standing) judges by this node's applied
     * state, so a step sent right after the one before it, through another
     * node, names that step's receipt height and waits here until this node
     * has applied it (or 503 behind). Before any side effect: the rate limit
     * below takes its tokens once, when the route runs again. */
    if (!gw_min_height_gate(r))
        return;
    tx_batch *b = parse_txs(r);
    if (!b)
        return;
    b->wait_ms = (unsigned)wait_ms;
    if (!tx_rate_check(r, b)) {
        batch_free(b);
        return;
    }
    r->work = b;
    r->work_free = batch_free_cb;
    if (r->wait_until_ms) {
        /* back from the min_height wait, already on a pool worker */
        submit_work(r);
        return;
    }
    if (!b->batch && b->wait_ms > 0 && b->items[0].err == CHAIN_OK && !b->items[0].limited) {
        /* one tx waiting for its receipt: no worker waits, the receipt resumes it */
        gw_suspend(r, submit_reply);
        replica_submit_async(r->g->deps.replica, b->items[0].p, b->items[0].len, b->wait_ms,
                             submit_done, r);
        return;
    }
    if (!gw_defer(r, submit_work)) {
        r->work = NULL;
        batch_free(b);
        gw_reply_error(r, 503, "busy", "too many submissions in flight; retry soon");
    }
}

/* The route table: one row per (method, path). '*' matches one path segment. */
const gw_route gw_routes[] = {
    {GW_GET, "/01/*/21/*", gw_route_resolve, "resolve"},
    {GW_GET, "/01/*/10/*/21/*", gw_route_resolve, "resolve_lot"},
    {GW_GET, "/00/*", gw_route_parent_resolve, "resolve_sscc"},
    {GW_GET, "/api/v1/parents/*", gw_route_parent, "parent"},
    {GW_GET, "/api/v1/parents/*/label.svg", gw_route_parent_label_svg, "parent_label_svg"},
    {GW_GET, "/api/v1/parents/*/label.png", gw_route_parent_label_png, "parent_label_png"},
    {GW_GET, "/api/v1/units/*/*", gw_route_unit, "unit"},
    {GW_GET, "/api/v1/units/*/*/history", gw_route_history, "unit_history"},
    {GW_GET, "/api/v1/units/*/*/label.svg", gw_route_label_svg, "label_svg"},
    {GW_GET, "/api/v1/units/*/*/label.png", gw_route_label_png, "label_png"},
    {GW_GET, "/api/v1/lots/*/*", route_lot, "lot"},
    {GW_GET, "/api/v1/lots/*/*/epcis", gw_route_lot_epcis, "lot_epcis"},
    {GW_GET, "/api/v1/tx/*", route_tx_get, "tx_get"},
    {GW_POST, "/api/v1/tx", route_tx_post, "tx_post"},
    {GW_POST, "/api/v1/tx/prepare", gw_route_tx_prepare, "tx_prepare"},
    {GW_GET, "/static/passkey.js", gw_route_passkey_js, "passkey_js"},
    {GW_POST, "/api/v1/qr.svg", gw_route_qr_svg, "qr_svg"},
    {GW_GET, "/api/v1/blocks", route_blocks, "blocks"},
    {GW_GET, "/api/v1/blocks/*", route_block, "block"},
    {GW_GET, "/api/v1/head", route_head, "head"},
    {GW_GET, "/api/v1/participants", route_participants, "participants"},
    {GW_GET, "/api/v1/participants/*", route_participant, "participant"},
    {GW_GET, "/api/v1/nonce/*", route_nonce, "nonce"},
    {GW_GET, "/api/v1/status", route_status, "status"},
    {GW_GET, "/api/v1/genesis", route_genesis, "genesis"},
    {GW_POST, "/api/v1/reports", gw_route_report, "report"},
    {GW_GET, "/metrics", route_metrics, "metrics"},
    {GW_GET, "/dashboard", gw_route_dashboard, "dashboard"},
    {GW_GET | GW_POST, "/dashboard/login", gw_route_dash_login, "dashboard_login"},
    {GW_POST, "/api/v1/dashboard/challenge", gw_route_dash_challenge, "dashboard_challenge"},
    {GW_POST, "/api/v1/dashboard/session", gw_route_dash_session, "dashboard_session"},
    {GW_POST, "/api/v1/dashboard/logout", gw_route_dash_logout, "dashboard_logout"},
    {GW_GET, "/api/v1/analytics", gw_route_analytics, "analytics"},
    {GW_GET, "/api/v1/alerts", gw_route_alerts, "alerts"},
    {GW_GET, "/api/v1/units/*/*/epcis", gw_route_unit_epcis, "unit_epcis"},
    {GW_GET, "/epcis/events", gw_route_epcis_events, "epcis_events"},
    {GW_GET, "/.well-known/gs1resolver", gw_route_gs1resolver, "gs1resolver"},
    /* compressed Digital Links: last, so every literal route above wins */
    {GW_GET, "/01/*/*", gw_route_resolve_compressed, "resolve_compressed_gtin"},
    {GW_GET, "/00/*/*", gw_route_resolve_compressed, "resolve_compressed_sscc"},
    {GW_GET, "/*", gw_route_resolve_compressed, "resolve_compressed"},
};
const size_t gw_nroutes = sizeof gw_routes / sizeof gw_routes[0];
