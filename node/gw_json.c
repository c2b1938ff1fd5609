/*
 * gw_json.c — the JSON shapes of the gateway: unit, verdict, history event,
 * the resolution view {"unit","verdict","history"}, receipts, participants.
 *
 * Binary values are lowercase hex (keys, tx ids) except the label signature,
 * which is base64url as on the label. Times are unix milliseconds as in the
 * ledger. Optional fields are left out when empty, so clients test presence.
 * docs/API.md shows each shape; tests/unit/node/test_gw_json.c pins them.
 */
#include "node/gw_priv.h"

#include <string.h>

static void set_str(json_t *o, const char *k, const char *v)
{
    json_object_set_new(o, k, json_string(v));
}

static void set_opt_str(json_t *o, const char *k, const char *v)
{
    if (v && v[0])
        json_object_set_new(o, k, json_string(v));
}

static void set_hex(json_t *o, const char *k, const uint8_t *b, size_t n)
{
    char h[2 * 64 + 1];
    chain_hex(h, b, n);
    json_object_set_new(o, k, json_string(h));
}

static void set_u64(json_t *o, const char *k, uint64_t v)
{
    json_object_set_new(o, k, json_integer((json_int_t)v));
}

const char *gw_warranty_status(const chain_unit *u, uint64_t now)
{
    uint64_t now_ms = now * 1000;
    if (u->state != CHAIN_UNIT_SOLD && u->state != CHAIN_UNIT_OWNED && u->warranty_end == 0)
        return "not_started";
    if (u->warranty_end && now_ms >= u->warranty_end)
        return "expired";
    if (u->open_claims > 0)
        return "claim_open";
    if (u->warranty_active)
        return "active";
    return "inactive";
}

json_t *gw_json_unit(const chain_unit *u, const chain_lot *lot, uint64_t now)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    set_str(o, "gtin", u->id.gtin);
    set_str(o, "serial", u->id.serial);
    set_str(o, "brand", u->brand);
    set_opt_str(o, "model", u->model);
    set_opt_str(o, "lot", u->lot);
    set_opt_str(o, "expiry", u->expiry);
    set_str(o, "state", chain_unit_state_name(u->state));
    json_t *flags = json_array();
    for (unsigned bit = 1; bit <= CHAIN_FLAG_DESTROYED; bit <<= 1)
        if (u->flags & bit)
            json_array_append_new(flags, json_string(chain_flag_name(bit)));
    json_object_set_new(o, "flags", flags);
    set_opt_str(o, "holder", u->holder);
    set_opt_str(o, "parent", u->parent); /* the SSCC it is packed in */
    if (u->has_owner) {
        char fp[17];
        gw_fingerprint(fp, u->owner);
        set_hex(o, "owner", u->owner, CHAIN_KEY_LEN);
        set_str(o, "owner_fingerprint", fp);
    }
    if (u->claim_pending)
        json_object_set_new(o, "claim_pending", json_true());
    set_u64(o, "minted_at", u->minted_at);
    if (u->sold_at)
        set_u64(o, "sold_at", u->sold_at);
    json_t *w = json_object();
    set_str(w, "status", gw_warranty_status(u, now));
    set_u64(w, "months", u->warranty_months);
    if (u->warranty_end)
        set_u64(w, "end", u->warranty_end);
    set_u64(w, "open_claims", u->open_claims);
    json_object_set_new(o, "warranty", w);
    char sig[90];
    chain_b64url(sig, u->label_sig, CHAIN_SIG_LEN);
    set_str(o, "label_sig", sig);
    set_u64(o, "events", u->nevents);
    if (lot && lot->nmarkets) {
        json_t *m = json_array();
        for (size_t i = 0; i < lot->nmarkets; i++)
            json_array_append_new(m, json_string(lot->markets[i]));
        json_object_set_new(o, "markets", m);
    }
    return o;
}

json_t *gw_json_verdict(const verdict *v)
{
    json_t *o = json_object(), *rs = json_array();
    if (!o || !rs) {
        json_decref(o);
        json_decref(rs);
        return NULL;
    }
    set_str(o, "status", verdict_status_name(v->status));
    for (int r = 0; r < VERDICT_R__COUNT; r++)
        if (v->reasons & (1u << r))
            json_array_append_new(rs, json_string(verdict_reason_name(r)));
    json_object_set_new(o, "reasons", rs);
    return o;
}

json_t *gw_json_event(const gw_event *e)
{
    const chain_event *ev = &e->ev;
    json_t *o = json_object();
    if (!o)
        return NULL;
    set_u64(o, "seq", ev->seq);
    set_str(o, "type", chain_tx_type_name(ev->type));
    set_u64(o, "time", ev->time);
    set_hex(o, "actor", ev->actor, CHAIN_KEY_LEN);
    set_opt_str(o, "actor_id", ev->actor_id);
    set_opt_str(o, "actor_name", e->actor_name);
    set_str(o, "actor_role", chain_role_name(ev->actor_role));
    set_u64(o, "height", ev->height);
    set_u64(o, "index", ev->index);
    set_hex(o, "tx", ev->tx, CHAIN_HASH_LEN);
    set_opt_str(o, "region", ev->region);
    set_opt_str(o, "to", ev->to);
    if (ev->has_key)
        set_hex(o, "key", ev->key, CHAIN_KEY_LEN);
    if (ev->reason)
        set_str(o, "reason", chain_flag_name(ev->reason));
    if (ev->outcome)
        set_str(o, "outcome", chain_outcome_name(ev->outcome));
    if (ev->months)
        set_u64(o, "months", ev->months);
    set_opt_str(o, "note", ev->note);
    set_opt_str(o, "sscc", ev->sscc); /* pack/unpack: the parent; a move: inside it */
    return o;
}

json_t *gw_json_view(const gw_view *v)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    if (v->unit) {
        json_object_set_new(o, "unit", gw_json_unit(v->unit, v->lot, v->now));
    } else {
        json_t *u = json_object();
        set_str(u, "gtin", v->id.gtin);
        set_str(u, "serial", v->id.serial);
        json_object_set_new(o, "unit", u);
    }
    json_object_set_new(o, "verdict", gw_json_verdict(&v->v));
    set_u64(o, "as_of_height", v->height);
    json_t *h = json_array();
    for (size_t i = 0; i < v->nevents; i++)
        json_array_append_new(h, gw_json_event(&v->events[i]));
    json_object_set_new(o, "history", h);
    return o;
}

json_t *gw_json_receipt(const chain_receipt *rc, const char *status)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    set_hex(o, "tx", rc->tx, CHAIN_HASH_LEN);
    set_str(o, "status", status);
    if (strcmp(status, "accepted") == 0 || strcmp(status, "rejected") == 0) {
        set_str(o, "code", chain_err_code(rc->code));
        set_opt_str(o, "detail", rc->detail);
        if (rc->height) {
            set_u64(o, "height", rc->height);
            set_u64(o, "index", rc->index);
        }
    }
    return o;
}

json_t *gw_json_participant(const chain_participant *p)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    set_str(o, "id", p->id);
    set_str(o, "name", p->name);
    set_str(o, "role", chain_role_name(p->role));
    set_hex(o, "pub", p->pub, CHAIN_KEY_LEN);
    json_t *rg = json_array();
    for (size_t i = 0; i < p->nregions; i++)
        json_array_append_new(rg, json_string(p->regions[i]));
    json_object_set_new(o, "regions", rg);
    json_object_set_new(o, "revoked", json_boolean(p->revoked));
    set_opt_str(o, "brand", p->brand);
    return o;
}
