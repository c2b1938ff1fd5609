/*
 * tx_flag.c — flag and unflag: recalled, stolen, counterfeit, destroyed.
 *
 * The unit's brand may raise or clear any flag; the current owner may raise
 * or clear only `stolen`. Raising a flag already set, or clearing one not
 * set, is bad_state. Many units per tx, all or nothing. What each flag
 * blocks is decided by the other rules (destroyed: every lifecycle step;
 * the others: sale, and stolen also transfer).
 */
#include <string.h>

#include "chain/state_int.h"

static int flag_units(st_actx *a, bool set)
{
    const chain_tx *tx = a->tx;
    unsigned bit = tx->reason;
    if (bit == 0 || (bit & (bit - 1)) != 0 || bit > CHAIN_FLAG_DESTROYED)
        return st_refuse(a, CHAIN_ERR_INVALID, "reason: one flag");
    for (size_t i = 0; i < tx->nunits; i++) {
        st_unit u;
        char b[40];
        int rc = st_rule_unit(a, &u, &tx->units[i]);
        if (rc)
            return rc;
        if (a->role == CHAIN_ROLE_BRAND && st_is_unit_brand(a, &u)) {
            /* the unit's brand: any reason */
        } else if (bit != CHAIN_FLAG_STOLEN) {
            return st_refuse(a, CHAIN_ERR_WRONG_ROLE, "unit %s: only its brand may %s %s",
                             st_unit_str(b, &u.u.id), set ? "raise" : "clear",
                             chain_flag_name(bit));
        } else if (!u.u.has_owner || memcmp(u.u.owner, tx->signer, CHAIN_KEY_LEN) != 0) {
            return st_refuse(a, CHAIN_ERR_NOT_OWNER, "unit %s: signer is not the owner",
                             st_unit_str(b, &u.u.id));
        }
        if (set && (u.u.flags & bit))
            return st_refuse(a, CHAIN_ERR_BAD_STATE, "unit %s: already %s", st_unit_str(b, &u.u.id),
                             chain_flag_name(bit));
        if (!set && !(u.u.flags & bit))
            return st_refuse(a, CHAIN_ERR_BAD_STATE, "unit %s: not %s", st_unit_str(b, &u.u.id),
                             chain_flag_name(bit));
        if (set)
            u.u.flags |= bit;
        else
            u.u.flags &= ~bit;
        chain_event ev;
        memset(&ev, 0, sizeof ev);
        ev.reason = bit;
        memcpy(ev.note, tx->note, sizeof ev.note);
        if ((rc = st_rule_commit(a, &u, &ev)))
            return rc;
    }
    return CHAIN_OK;
}

int rule_flag(st_actx *a)
{
    return flag_units(a, true);
}

int rule_unflag(st_actx *a)
{
    return flag_units(a, false);
}
