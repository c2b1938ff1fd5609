/*
 * tx_move.c — custody: pickup and deliver by carriers.
 *
 *   MINTED | DELIVERED --pickup (carrier)--> IN_TRANSIT, holder = carrier
 *   IN_TRANSIT (held by this carrier) --deliver--> DELIVERED, holder = `to`
 *
 * Many units per transaction, all or nothing: the first unit that fails
 * refuses the whole tx and apply.c rolls back the units already changed.
 * A tx may also name a parent (body.sscc): every unit inside it, at any
 * depth, takes the same step (tx_pack.c walks the tree), and its event
 * names the parent. A unit packed in a parent moves only with it.
 * A destroyed unit moves no more (flagged); other flags do not stop custody
 * (a recalled unit still travels back).
 */
#include <stdio.h>
#include <string.h>

#include "chain/state_int.h"

/* One unit's pickup; inside names the parent it moves in ("" when named alone). */
static int pickup_unit(st_actx *a, const gs1_sgtin *id, const char *inside)
{
    st_unit u;
    char b[40];
    int rc = st_rule_unit(a, &u, id);
    if (rc)
        return rc;
    if (inside[0] == '\0' && u.u.parent[0] != '\0')
        return st_refuse_packed(a, &u);
    if (u.u.flags & CHAIN_FLAG_DESTROYED)
        return st_refuse(a, CHAIN_ERR_FLAGGED, "unit %s: destroyed", st_unit_str(b, &u.u.id));
    if (u.u.state != CHAIN_UNIT_MINTED && u.u.state != CHAIN_UNIT_DELIVERED)
        return st_refuse(a, CHAIN_ERR_BAD_STATE, "unit %s: %s, needs minted or delivered",
                         st_unit_str(b, &u.u.id), chain_unit_state_name(u.u.state));
    u.u.state = CHAIN_UNIT_IN_TRANSIT;
    memcpy(u.u.holder, a->signer_id, sizeof u.u.holder);
    chain_event ev;
    memset(&ev, 0, sizeof ev);
    memcpy(ev.region, a->tx->region, sizeof ev.region);
    snprintf(ev.sscc, sizeof ev.sscc, "%s", inside);
    return st_rule_commit(a, &u, &ev);
}

static int pickup_in_parent(st_actx *a, const gs1_sgtin *id, void *ctx)
{
    (void)ctx;
    return pickup_unit(a, id, a->tx->sscc);
}

int rule_pickup(st_actx *a)
{
    const chain_tx *tx = a->tx;
    int rc;
    for (size_t i = 0; i < tx->nunits; i++)
        if ((rc = pickup_unit(a, &tx->units[i], "")))
            return rc;
    if (tx->sscc[0] != '\0')
        return st_parent_move(a, a->signer_id, pickup_in_parent, NULL);
    return CHAIN_OK;
}

static int deliver_unit(st_actx *a, const gs1_sgtin *id, const chain_participant *to,
                        const char *inside)
{
    st_unit u;
    char b[40];
    int rc = st_rule_unit(a, &u, id);
    if (rc)
        return rc;
    if (inside[0] == '\0' && u.u.parent[0] != '\0')
        return st_refuse_packed(a, &u);
    if (u.u.flags & CHAIN_FLAG_DESTROYED)
        return st_refuse(a, CHAIN_ERR_FLAGGED, "unit %s: destroyed", st_unit_str(b, &u.u.id));
    if (u.u.state != CHAIN_UNIT_IN_TRANSIT)
        return st_refuse(a, CHAIN_ERR_BAD_STATE, "unit %s: %s, needs in_transit",
                         st_unit_str(b, &u.u.id), chain_unit_state_name(u.u.state));
    if (strcmp(u.u.holder, a->signer_id) != 0)
        return st_refuse(a, CHAIN_ERR_NOT_HOLDER, "unit %s: held by %s", st_unit_str(b, &u.u.id),
                         u.u.holder);
    u.u.state = CHAIN_UNIT_DELIVERED;
    memcpy(u.u.holder, to->id, sizeof u.u.holder);
    chain_event ev;
    memset(&ev, 0, sizeof ev);
    memcpy(ev.to, to->id, sizeof ev.to);
    memcpy(ev.region, a->tx->region, sizeof ev.region);
    snprintf(ev.sscc, sizeof ev.sscc, "%s", inside);
    return st_rule_commit(a, &u, &ev);
}

static int deliver_in_parent(st_actx *a, const gs1_sgtin *id, void *ctx)
{
    return deliver_unit(a, id, ctx, a->tx->sscc);
}

int rule_deliver(st_actx *a)
{
    const chain_tx *tx = a->tx;
    chain_participant to;
    int rc = st_part_get(a->c, a->txn, &to, tx->to);
    if (rc == CHAIN_ERR_NOT_FOUND || (rc == CHAIN_OK && to.revoked))
        return st_refuse(a, CHAIN_ERR_UNKNOWN_PARTICIPANT, "to: no active participant \"%s\"",
                         tx->to);
    if (rc)
        return rc;
    for (size_t i = 0; i < tx->nunits; i++)
        if ((rc = deliver_unit(a, &tx->units[i], &to, "")))
            return rc;
    if (tx->sscc[0] != '\0')
        return st_parent_move(a, to.id, deliver_in_parent, &to);
    return CHAIN_OK;
}
