/*
 * tx_move.c — custody: pickup and deliver by carriers.
 *
 *   MINTED | DELIVERED --pickup (carrier)--> IN_TRANSIT, holder = carrier
 *   IN_TRANSIT (held by this carrier) --deliver--> DELIVERED, holder = `to`
 *
 * Many units per transaction, all or nothing: the first unit that fails
 * refuses the whole tx and apply.c rolls back the units already changed.
 * A destroyed unit moves no more (flagged); other flags do not stop custody
 * (a recalled unit still travels back).
 */
#include <string.h>

#include "chain/state_int.h"

int rule_pickup(st_actx *a)
{
    const chain_tx *tx = a->tx;
    for (size_t i = 0; i < tx->nunits; i++) {
        st_unit u;
        char b[40];
        int rc = st_rule_unit(a, &u, &tx->units[i]);
        if (rc)
            return rc;
        if (u.u.flags & CHAIN_FLAG_DESTROYED)
            return st_refuse(a, CHAIN_ERR_FLAGGED, "unit %s: destroyed", st_unit_str(b, &u.u.id));
        if (u.u.state != CHAIN_UNIT_MINTED && u.u.state != CHAIN_UNIT_DELIVERED)
            return st_refuse(a, CHAIN_ERR_BAD_STATE, "unit %s: %s, needs minted or delivered",
                             st_unit_str(b, &u.u.id), chain_unit_state_name(u.u.state));
        u.u.state = CHAIN_UNIT_IN_TRANSIT;
        memcpy(u.u.holder, a->signer_id, sizeof u.u.holder);
        chain_event ev;
        memset(&ev, 0, sizeof ev);
        memcpy(ev.region, tx->region, sizeof ev.region);
        if ((rc = st_rule_commit(a, &u, &ev)))
            return rc;
    }
    return CHAIN_OK;
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
    for (size_t i = 0; i < tx->nunits; i++) {
        st_unit u;
        char b[40];
        if ((rc = st_rule_unit(a, &u, &tx->units[i])))
            return rc;
        if (u.u.flags & CHAIN_FLAG_DESTROYED)
            return st_refuse(a, CHAIN_ERR_FLAGGED, "unit %s: destroyed", st_unit_str(b, &u.u.id));
        if (u.u.state != CHAIN_UNIT_IN_TRANSIT)
            return st_refuse(a, CHAIN_ERR_BAD_STATE, "unit %s: %s, needs in_transit",
                             st_unit_str(b, &u.u.id), chain_unit_state_name(u.u.state));
        if (strcmp(u.u.holder, a->signer_id) != 0)
            return st_refuse(a, CHAIN_ERR_NOT_HOLDER, "unit %s: held by %s",
                             st_unit_str(b, &u.u.id), u.u.holder);
        u.u.state = CHAIN_UNIT_DELIVERED;
        memcpy(u.u.holder, to.id, sizeof u.u.holder);
        chain_event ev;
        memset(&ev, 0, sizeof ev);
        memcpy(ev.to, to.id, sizeof ev.to);
        memcpy(ev.region, tx->region, sizeof ev.region);
        if ((rc = st_rule_commit(a, &u, &ev)))
            return rc;
    }
    return CHAIN_OK;
}
