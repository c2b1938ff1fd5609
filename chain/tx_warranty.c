/*
 * tx_warranty.c — warranty.activate, extend, claim, resolve.
 *
 * A sale fixes warranty_end (tx_sale.c); activation switches the warranty
 * on, once, before that end. Extensions (brand of the unit, or a service
 * centre) add months to the unit's warranty and, once sold, to its end.
 * A claim by the owner needs an active, unexpired warranty and opens a case;
 * a resolution by a service centre or the unit's brand closes one. The time
 * compared with warranty_end is always the block's (ms). A destroyed unit
 * takes no warranty step.
 */
#include <string.h>

#include "chain/state_int.h"

static bool is_owner(const st_actx *a, const st_unit *u)
{
    return u->u.has_owner && memcmp(u->u.owner, a->tx->signer, CHAIN_KEY_LEN) == 0;
}

/* Loads the unit and refuses destroyed ones. */
static int load(st_actx *a, st_unit *u)
{
    int rc = st_rule_unit(a, u, &a->tx->units[0]);
    if (rc)
        return rc;
    if (u->u.flags & CHAIN_FLAG_DESTROYED) {
        char b[40];
        return st_refuse(a, CHAIN_ERR_FLAGGED, "unit %s: destroyed", st_unit_str(b, &u->u.id));
    }
    return CHAIN_OK;
}

/* Brand admins act only on their own brand's units; service centres on any. */
static int brand_or_service(st_actx *a, const st_unit *u)
{
    if (a->role == CHAIN_ROLE_BRAND && !st_is_unit_brand(a, u))
        return st_refuse(a, CHAIN_ERR_WRONG_ROLE, "unit of brand %s, signer of brand %s",
                         u->u.brand, a->signer_brand);
    return CHAIN_OK;
}

int rule_warranty_activate(st_actx *a)
{
    st_unit u;
    char b[40];
    int rc = load(a, &u);
    if (rc)
        return rc;
    bool seller =
        a->role == CHAIN_ROLE_SELLER && u.seller[0] != '\0' && strcmp(u.seller, a->signer_id) == 0;
    if (u.u.state != CHAIN_UNIT_SOLD && u.u.state != CHAIN_UNIT_OWNED)
        return st_refuse(a, CHAIN_ERR_BAD_STATE, "unit %s: %s, not sold", st_unit_str(b, &u.u.id),
                         chain_unit_state_name(u.u.state));
    if (!is_owner(a, &u) && !seller)
        return st_refuse(a, CHAIN_ERR_NOT_OWNER, "unit %s: neither owner nor its seller",
                         st_unit_str(b, &u.u.id));
    if (u.u.warranty_active)
        return st_refuse(a, CHAIN_ERR_BAD_STATE, "unit %s: warranty already active",
                         st_unit_str(b, &u.u.id));
    if (a->hdr->time > u.u.warranty_end)
        return st_refuse(a, CHAIN_ERR_WARRANTY_EXPIRED, "unit %s: warranty ended",
                         st_unit_str(b, &u.u.id));
    u.u.warranty_active = true;
    chain_event ev;
    memset(&ev, 0, sizeof ev);
    return st_rule_commit(a, &u, &ev);
}

int rule_warranty_extend(st_actx *a)
{
    st_unit u;
    int rc = load(a, &u);
    if (rc || (rc = brand_or_service(a, &u)))
        return rc;
    uint32_t m = a->tx->warranty_months;
    if (m == 0)
        return st_refuse(a, CHAIN_ERR_INVALID, "months: must be at least 1");
    if (u.u.warranty_months > UINT32_MAX - m)
        return st_refuse(a, CHAIN_ERR_INVALID, "months: warranty too long");
    u.u.warranty_months += m;
    if (u.u.sold_at != 0)
        u.u.warranty_end += (uint64_t)m * CHAIN_MONTH_SECONDS * 1000u;
    chain_event ev;
    memset(&ev, 0, sizeof ev);
    ev.months = m;
    memcpy(ev.note, a->tx->note, sizeof ev.note);
    return st_rule_commit(a, &u, &ev);
}

int rule_warranty_claim(st_actx *a)
{
    st_unit u;
    char b[40];
    int rc = load(a, &u);
    if (rc)
        return rc;
    if (!is_owner(a, &u))
        return st_refuse(a, CHAIN_ERR_NOT_OWNER, "unit %s: signer is not the owner",
                         st_unit_str(b, &u.u.id));
    if (!u.u.warranty_active)
        return st_refuse(a, CHAIN_ERR_WARRANTY_INACTIVE, "unit %s: warranty not activated",
                         st_unit_str(b, &u.u.id));
    if (a->hdr->time > u.u.warranty_end)
        return st_refuse(a, CHAIN_ERR_WARRANTY_EXPIRED, "unit %s: warranty ended",
                         st_unit_str(b, &u.u.id));
    u.u.open_claims++;
    chain_event ev;
    memset(&ev, 0, sizeof ev);
    memcpy(ev.note, a->tx->note, sizeof ev.note);
    return st_rule_commit(a, &u, &ev);
}

int rule_warranty_resolve(st_actx *a)
{
    st_unit u;
    char b[40];
    int rc = load(a, &u);
    if (rc || (rc = brand_or_service(a, &u)))
        return rc;
    if (u.u.open_claims == 0)
        return st_refuse(a, CHAIN_ERR_WARRANTY_INACTIVE, "unit %s: no open warranty claim",
                         st_unit_str(b, &u.u.id));
    u.u.open_claims--;
    chain_event ev;
    memset(&ev, 0, sizeof ev);
    ev.outcome = a->tx->outcome;
    memcpy(ev.note, a->tx->note, sizeof ev.note);
    return st_rule_commit(a, &u, &ev);
}
