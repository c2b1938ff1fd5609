/*
 * standing.c — chain_tx_standing: may this signer put this tx on the log?
 *
 * Rules run at apply time on every node, and a tx they refuse still costs a
 * log entry, a block slot and a receipt on every node forever. Anyone can
 * make a key, so a key nobody knows must not be able to buy that cost for
 * free. Before a tx is handed to consensus the submitting node asks, against
 * its applied state, whether the signer has standing for it:
 *   - a registered participant or a current node key: yes (its refusals are
 *     its own, and it answers for them; the gateway rate-limits it);
 *   - a revoked or rotated-away key: no — nothing it signs can succeed;
 *   - any other key: only for the customer steps, and only with the thing
 *     that makes the step possible: claim — the unit has a claim or an offer
 *     open and the claim is signed by the key its code derives; transfer,
 *     transfer.offer/cancel, warranty.activate/claim, flag, unflag — the
 *     signer owns every unit named.
 * A passkey-signed tx must also fit the relying party in force (rp.set, else
 * the genesis's): the assertion's origin, rpIdHash and user verification.
 * It reads the applied state, which may lag the log by a few entries: a
 * customer claiming a unit sold a moment ago can be refused once and retry,
 * or send the receipt height of the step before as min_height (the gateway
 * then waits for this node to apply it before admission).
 * A refusal is exactly the receipt the rules would give, so a client sees the
 * same code either way, minus the ledger entry.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "chain/state_int.h"

__attribute__((format(printf, 4, 5))) static int refuse(char *errmsg, size_t errmsg_len, int code,
                                                        const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(errmsg, errmsg_len, fmt, ap);
    va_end(ap);
    return code;
}

/* Customer steps: what a key with no role must hold for tx to be able to succeed. */
static int customer_standing(chain *c, MDB_txn *txn, const chain_tx *tx, char *errmsg,
                             size_t errmsg_len)
{
    const char *type = chain_tx_type_name(tx->type);
    switch (tx->type) {
    case CHAIN_TX_CLAIM:
    case CHAIN_TX_TRANSFER:
    case CHAIN_TX_TRANSFER_OFFER:
    case CHAIN_TX_TRANSFER_CANCEL:
    case CHAIN_TX_WARRANTY_ACTIVATE:
    case CHAIN_TX_WARRANTY_CLAIM:
    case CHAIN_TX_FLAG:
    case CHAIN_TX_UNFLAG:
        break;
    default:
        return refuse(errmsg, errmsg_len, CHAIN_ERR_UNKNOWN_SIGNER, "%s needs a registered signer",
                      type);
    }
    if (tx->nunits == 0)
        return refuse(errmsg, errmsg_len, CHAIN_ERR_MALFORMED, "%s names no unit", type);
    for (size_t i = 0; i < tx->nunits; i++) {
        const gs1_sgtin *id = &tx->units[i];
        char u[GS1_GTIN_LEN + GS1_SERIAL_MAX + 2];
        snprintf(u, sizeof u, "%s/%s", id->gtin, id->serial);
        st_unit su;
        int rc = st_unit_get(c, txn, &su, id->gtin, id->serial);
        if (rc == CHAIN_ERR_NOT_FOUND)
            return refuse(errmsg, errmsg_len, CHAIN_ERR_UNKNOWN_UNIT, "unit %s: not minted", u);
        if (rc)
            return rc;
        if (tx->type == CHAIN_TX_CLAIM) {
            /* As rule_claim: a sale's claim or an owner's open offer, and the
             * claim signed by the key the code derives (the code itself never
             * travels). An offer's expiry is the rules' to judge at block time. */
            if ((su.u.state != CHAIN_UNIT_SOLD && su.u.state != CHAIN_UNIT_OWNED) ||
                !su.u.claim_pending)
                return refuse(errmsg, errmsg_len, CHAIN_ERR_NO_OFFER,
                              "unit %s: %s, no claim or offer open", u,
                              chain_unit_state_name(su.u.state));
            uint8_t m[CHAIN_HASH_LEN];
            chain_claim_msg(m, tx->chain, su.u.id.gtin, su.u.id.serial, tx->signer);
            if (!chain_verify(tx->claim_sig, su.claim_key, m))
                return refuse(errmsg, errmsg_len, CHAIN_ERR_BAD_CLAIM_CODE,
                              "unit %s: not signed by the code's key", u);
        } else if (!su.u.has_owner || memcmp(su.u.owner, tx->signer, CHAIN_KEY_LEN) != 0) {
            return refuse(errmsg, errmsg_len, CHAIN_ERR_NOT_OWNER,
                          "unit %s: signer is not the owner", u);
        }
    }
    return CHAIN_OK;
}

int chain_tx_standing(chain *c, const chain_tx *tx, char *errmsg, size_t errmsg_len)
{
    chain_rd *rd;
    int rc = chain_rd_begin(c, &rd);
    if (rc)
        return rc;
    char id[CHAIN_ID_MAX + 1];
    bool current;
    if (tx->auth != NULL) {
        /* a passkey assertion's relying-party half, as apply_tx judges it */
        chain_rp rp;
        if ((rc = st_rp_current(c, rd->txn, &rp)) ||
            (rc = chain_tx_check_rp(&rp, tx, errmsg, errmsg_len)))
            goto done;
    }
    rc = st_pkey_get(c, rd->txn, tx->signer, id, &current);
    if (rc == CHAIN_OK) {
        chain_participant p;
        if (!current)
            rc = refuse(errmsg, errmsg_len, CHAIN_ERR_REVOKED_SIGNER, "key of %s was rotated away",
                        id);
        else if ((rc = st_part_get(c, rd->txn, &p, id)) == CHAIN_OK && p.revoked)
            rc = refuse(errmsg, errmsg_len, CHAIN_ERR_REVOKED_SIGNER, "participant %s is revoked",
                        p.id);
        goto done;
    }
    if (rc != CHAIN_ERR_NOT_FOUND)
        goto done;
    uint64_t node_id;
    rc = st_uint_get(rd->txn, c->dbi[DB_NKEYS], tx->signer, CHAIN_KEY_LEN, &node_id);
    if (rc == CHAIN_OK) {
        st_node n;
        if ((rc = st_node_get(c, rd->txn, &n, node_id)) == CHAIN_OK && n.removed)
            rc = refuse(errmsg, errmsg_len, CHAIN_ERR_REVOKED_SIGNER, "node %llu was removed",
                        (unsigned long long)node_id);
        goto done;
    }
    if (rc != CHAIN_ERR_NOT_FOUND)
        goto done;
    rc = customer_standing(c, rd->txn, tx, errmsg, errmsg_len);
done:
    chain_rd_end(rd);
    return rc;
}
