/*
 * tx_sale.c — ownership: sell, claim, transfer.
 *
 *   DELIVERED (held by this seller) --sell buyer key--> OWNED (owner = key)
 *                                   --sell claim_key--> SOLD (claim_pending)
 *   SOLD --claim (claim_sig by the claim key)--> OWNED (owner = signer)
 *   OWNED --transfer (signed by the owner)--> OWNED (owner = to_key)
 *   OWNED --transfer.offer (owner)--> OWNED, offer open (claim_pending, offer_expires)
 *         --claim (claim_sig by the offer key, before expiry)--> OWNED (owner = signer)
 *         --transfer.cancel (owner) | transfer | a later offer--> offer replaced/closed
 *
 * A claim or offer code never reaches the ledger: sell and transfer.offer carry
 * the public key chain_claim_key derives from it, and claim carries that key's
 * signature over chain_claim_msg (chain id, unit, the claiming signer). A wrong
 * code yields a signature under another key: refused as bad_claim_code, and the
 * refused transaction shows nothing but a signature that only ever names its
 * own signer as owner.
 *
 * A sale starts the warranty clock: sold_at is the block time (ms) and
 * warranty_end = sold_at + months * CHAIN_MONTH_SECONDS * 1000. Any flag
 * blocks a sale; stolen or destroyed blocks a transfer; destroyed blocks a
 * claim. The owners index (owner key || unit) follows every change of owner.
 */
#include <string.h>

#include "chain/state_int.h"

static bool st_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return false;
    return true;
}

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
    if (u.u.parent[0] != '\0')
        return st_refuse_packed(a, &u);
    if (u.u.flags & SALE_BLOCKING)
        return st_refuse(a, CHAIN_ERR_FLAGGED, "unit %s: %s", st_unit_str(b, &u.u.id),
                         flag_names(f, sizeof f, u.u.flags));
    if (u.u.state != CHAIN_UNIT_DELIVERED)
        return st_refuse(a, CHAIN_ERR_BAD_STATE, "unit %s: %s, needs delivered",
                         st_unit_str(b, &u.u.id), chain_unit_state_name(u.u.state));
    if (strcmp(u.u.holder, a->signer_id) != 0)
        return st_refuse(a, CHAIN_ERR_NOT_HOLDER, "unit %s: held by %s", st_unit_str(b, &u.u.id),
                         u.u.holder);
    bool has_claim = !st_zero(tx->claim_key, CHAIN_KEY_LEN);
    if (tx->has_key == has_claim)
        return st_refuse(a, CHAIN_ERR_INVALID, "sell: exactly one of buyer, claim_key");
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
        memcpy(u.claim_key, tx->claim_key, CHAIN_KEY_LEN);
    }
    return st_rule_commit(a, &u, &ev);
}

/* Closes an open transfer offer (claim, cancel, transfer, or a replacement). */
static void offer_close(st_unit *u)
{
    u->u.claim_pending = false;
    u->u.offer_expires = 0;
    memset(u->claim_key, 0, sizeof u->claim_key);
}

int rule_claim(st_actx *a)
{
    const chain_tx *tx = a->tx;
    st_unit u;
    char b[40], f[48];
    int rc = st_rule_unit(a, &u, &tx->units[0]);
    if (rc)
        return rc;
    if (u.u.parent[0] != '\0')
        return st_refuse_packed(a, &u);
    if (u.u.flags & CHAIN_FLAG_DESTROYED)
        return st_refuse(a, CHAIN_ERR_FLAGGED, "unit %s: destroyed", st_unit_str(b, &u.u.id));
    const bool offer = u.u.state == CHAIN_UNIT_OWNED;
    if ((u.u.state != CHAIN_UNIT_SOLD && !offer) || !u.u.claim_pending)
        return st_refuse(a, CHAIN_ERR_NO_OFFER, "unit %s: %s, no claim or offer open",
                         st_unit_str(b, &u.u.id), chain_unit_state_name(u.u.state));
    if (offer && a->hdr->time >= u.u.offer_expires)
        return st_refuse(a, CHAIN_ERR_OFFER_EXPIRED, "unit %s: offer lapsed",
                         st_unit_str(b, &u.u.id));
    if (offer && (u.u.flags & CHAIN_FLAG_STOLEN))
        return st_refuse(a, CHAIN_ERR_FLAGGED, "unit %s: %s", st_unit_str(b, &u.u.id),
                         flag_names(f, sizeof f, u.u.flags));
    uint8_t m[CHAIN_HASH_LEN];
    chain_claim_msg(m, tx->chain, u.u.id.gtin, u.u.id.serial, tx->signer);
    if (!chain_verify(tx->claim_sig, u.claim_key, m))
        return st_refuse(a, CHAIN_ERR_BAD_CLAIM_CODE, "unit %s: not signed by the code's key",
                         st_unit_str(b, &u.u.id));
    if (offer && memcmp(u.u.owner, tx->signer, CHAIN_KEY_LEN) != 0 &&
        (rc = st_owner_del(a->c, a->txn, u.u.owner, &u.u.id)))
        return rc;
    u.u.state = CHAIN_UNIT_OWNED;
    offer_close(&u);
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

/* Loads a unit that the signer owns, for the owner's own steps. */
static int owned_by_signer(st_actx *a, st_unit *u)
{
    char b[40];
    int rc = st_rule_unit(a, u, &a->tx->units[0]);
    if (rc)
        return rc;
    if (u->u.parent[0] != '\0')
        return st_refuse_packed(a, u);
    if (u->u.state != CHAIN_UNIT_OWNED)
        return st_refuse(a, CHAIN_ERR_BAD_STATE, "unit %s: %s, needs owned",
                         st_unit_str(b, &u->u.id), chain_unit_state_name(u->u.state));
    if (!u->u.has_owner || memcmp(u->u.owner, a->tx->signer, CHAIN_KEY_LEN) != 0)
        return st_refuse(a, CHAIN_ERR_NOT_OWNER, "unit %s: signer is not the owner",
                         st_unit_str(b, &u->u.id));
    return CHAIN_OK;
}

int rule_transfer_offer(st_actx *a)
{
    const chain_tx *tx = a->tx;
    st_unit u;
    char b[40], f[48];
    int rc = owned_by_signer(a, &u);
    if (rc)
        return rc;
    if (u.u.flags & (CHAIN_FLAG_STOLEN | CHAIN_FLAG_DESTROYED))
        return st_refuse(a, CHAIN_ERR_FLAGGED, "unit %s: %s", st_unit_str(b, &u.u.id),
                         flag_names(f, sizeof f, u.u.flags));
    if (tx->expires <= a->hdr->time)
        return st_refuse(a, CHAIN_ERR_INVALID, "unit %s: offer expires before this block",
                         st_unit_str(b, &u.u.id));
    if (tx->expires - a->hdr->time > CHAIN_OFFER_MAX_MS)
        return st_refuse(a, CHAIN_ERR_INVALID, "unit %s: offer longer than %u days",
                         st_unit_str(b, &u.u.id), CHAIN_OFFER_MAX_DAYS);
    /* A new offer replaces an open one: only the latest code works. */
    u.u.claim_pending = true;
    u.u.offer_expires = tx->expires;
    memcpy(u.claim_key, tx->claim_key, CHAIN_KEY_LEN);
    chain_event ev;
    memset(&ev, 0, sizeof ev);
    return st_rule_commit(a, &u, &ev);
}

int rule_transfer_cancel(st_actx *a)
{
    st_unit u;
    char b[40];
    int rc = owned_by_signer(a, &u);
    if (rc)
        return rc;
    if (!u.u.claim_pending)
        return st_refuse(a, CHAIN_ERR_NO_OFFER, "unit %s: no transfer offer open",
                         st_unit_str(b, &u.u.id));
    offer_close(&u);
    chain_event ev;
    memset(&ev, 0, sizeof ev);
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
    if (u.u.parent[0] != '\0')
        return st_refuse_packed(a, &u);
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
    offer_close(&u); /* an open offer does not survive a change of owner */
    chain_event ev;
    memset(&ev, 0, sizeof ev);
    ev.has_key = true;
    memcpy(ev.key, tx->key, CHAIN_KEY_LEN);
    return st_rule_commit(a, &u, &ev);
}
