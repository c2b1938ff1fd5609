/*
 * tx_sale.c — ownership: sell, claim, transfer.
 *
 *   DELIVERED (held by this seller) --sell buyer key--> OWNED (owner = key)
 *                                   --sell claim_hash--> SOLD (claim_pending)
 *   SOLD --claim (any key, code matching the commitment)--> OWNED (owner = signer)
 *   OWNED --transfer (signed by the owner)--> OWNED (owner = to_key)
 *
 * A sale starts the warranty clock: sold_at is the block time (ms) and
 * warranty_end = sold_at + months * CHAIN_MONTH_SECONDS * 1000. Any flag
 * blocks a sale; stolen or destroyed blocks a transfer; destroyed blocks a
 * claim. The owners index (owner key || unit) follows every change of owner.
 */
#include <string.h>

#include "chain/state_int.h"

#define SALE_BLOCKING                                                                              \
    (CHAIN_FLAG_RECALLED | CHAIN_FLAG_STOLEN | CHAIN_FLAG_COUNTERFEIT | CHAIN_FLAG_DESTROYED)

static const char *flag_names(char *buf, size_t n, unsigned flags)
{
    buf[0] = '\0';
    for (unsigned bit = 1; bit <= CHAIN_FLAG_DESTROYED; bit <<= 1)
        if (flags & bit) {
            size_t l = strlen(buf);
            snprintf(buf + l, n - l, "%s%s", l ? "," : "", chain_flag_name(bit));
        }
    return buf;
}

int rule_sell(st_actx *a)
{
    const chain_tx *tx = a->tx;
    st_unit u;
    char b[40], f[48];
    int rc = st_rule_unit(a, &u, &tx->units[0]);
    if (rc)
        return rc;
    if (u.u.flags & SALE_BLOCKING)
        return st_refuse(a, CHAIN_ERR_FLAGGED, "unit %s: %s", st_unit_str(b, &u.u.id),
                         flag_names(f, sizeof f, u.u.flags));
    if (u.u.state != CHAIN_UNIT_DELIVERED)
        return st_refuse(a, CHAIN_ERR_BAD_STATE, "unit %s: %s, needs delivered",
                         st_unit_str(b, &u.u.id), chain_unit_state_name(u.u.state));
    if (strcmp(u.u.holder, a->signer_id) != 0)
        return st_refuse(a, CHAIN_ERR_NOT_HOLDER, "unit %s: held by %s", st_unit_str(b, &u.u.id),
                         u.u.holder);
    if (tx->has_key == tx->has_claim_hash)
        return st_refuse(a, CHAIN_ERR_INVALID, "sell: exactly one of buyer, claim_hash");
    const uint64_t now = a->hdr->time;
    u.u.sold_at = now;
    u.u.warranty_end = now + (uint64_t)u.u.warranty_months * CHAIN_MONTH_SECONDS * 1000u;
    memcpy(u.seller, a->signer_id, sizeof u.seller);
    u.u.holder[0] = '\0';
    chain_event ev;
    memset(&ev, 0, sizeof ev);
    memcpy(ev.region, tx->region, sizeof ev.region);
    if (tx->has_key) {
        u.u.state = CHAIN_UNIT_OWNED;
        u.u.has_owner = true;
        memcpy(u.u.owner, tx->key, CHAIN_KEY_LEN);
        ev.has_key = true;
        memcpy(ev.key, tx->key, CHAIN_KEY_LEN);
        if ((rc = st_owner_add(a->c, a->txn, tx->key, &u.u.id)))
            return rc;
    } else {
        u.u.state = CHAIN_UNIT_SOLD;
        u.u.claim_pending = true;
        memcpy(u.claim_hash, tx->claim_hash, CHAIN_HASH_LEN);
    }
    return st_rule_commit(a, &u, &ev);
}

int rule_claim(st_actx *a)
{
    const chain_tx *tx = a->tx;
    st_unit u;
    char b[40];
    int rc = st_rule_unit(a, &u, &tx->units[0]);
    if (rc)
        return rc;
    if (u.u.flags & CHAIN_FLAG_DESTROYED)
        return st_refuse(a, CHAIN_ERR_FLAGGED, "unit %s: destroyed", st_unit_str(b, &u.u.id));
    if (u.u.state != CHAIN_UNIT_SOLD || !u.u.claim_pending)
        return st_refuse(a, CHAIN_ERR_BAD_STATE, "unit %s: %s, no claim pending",
                         st_unit_str(b, &u.u.id), chain_unit_state_name(u.u.state));
    uint8_t h[CHAIN_HASH_LEN];
    chain_claim_hash(h, u.u.id.gtin, u.u.id.serial, tx->code, strlen(tx->code));
    if (memcmp(h, u.claim_hash, CHAIN_HASH_LEN) != 0)
        return st_refuse(a, CHAIN_ERR_BAD_CLAIM_CODE, "unit %s: code does not match",
                         st_unit_str(b, &u.u.id));
    u.u.state = CHAIN_UNIT_OWNED;
    u.u.claim_pending = false;
    memset(u.claim_hash, 0, sizeof u.claim_hash);
    u.u.has_owner = true;
    memcpy(u.u.owner, tx->signer, CHAIN_KEY_LEN);
    if ((rc = st_owner_add(a->c, a->txn, tx->signer, &u.u.id)))
        return rc;
    chain_event ev;
    memset(&ev, 0, sizeof ev);
    ev.has_key = true;
    memcpy(ev.key, tx->signer, CHAIN_KEY_LEN);
    return st_rule_commit(a, &u, &ev);
}

int rule_transfer(st_actx *a)
{
    const chain_tx *tx = a->tx;
    st_unit u;
    char b[40], f[48];
    int rc = st_rule_unit(a, &u, &tx->units[0]);
    if (rc)
        return rc;
    if (u.u.state != CHAIN_UNIT_OWNED)
        return st_refuse(a, CHAIN_ERR_BAD_STATE, "unit %s: %s, needs owned",
                         st_unit_str(b, &u.u.id), chain_unit_state_name(u.u.state));
    if (!u.u.has_owner || memcmp(u.u.owner, tx->signer, CHAIN_KEY_LEN) != 0)
        return st_refuse(a, CHAIN_ERR_NOT_OWNER, "unit %s: signer is not the owner",
                         st_unit_str(b, &u.u.id));
    if (u.u.flags & (CHAIN_FLAG_STOLEN | CHAIN_FLAG_DESTROYED))
        return st_refuse(a, CHAIN_ERR_FLAGGED, "unit %s: %s", st_unit_str(b, &u.u.id),
                         flag_names(f, sizeof f, u.u.flags));
    if (!tx->has_key)
        return st_refuse(a, CHAIN_ERR_INVALID, "transfer: to_key missing");
    if ((rc = st_owner_del(a->c, a->txn, u.u.owner, &u.u.id)) ||
        (rc = st_owner_add(a->c, a->txn, tx->key, &u.u.id)))
        return rc;
    memcpy(u.u.owner, tx->key, CHAIN_KEY_LEN);
    chain_event ev;
    memset(&ev, 0, sizeof ev);
    ev.has_key = true;
    memcpy(ev.key, tx->key, CHAIN_KEY_LEN);
    return st_rule_commit(a, &u, &ev);
}
