/*
 * tx_mint.c — the mint rule: a brand creates a batch of units of one GTIN
 * and lot.
 *
 * The GTIN must carry one of the signing brand's GS1 company prefixes right
 * after its indicator digit. Every serial must be new, in the ledger and in
 * this batch (duplicate_unit refuses the whole batch: apply.c aborts the
 * nested transaction). Label signatures are stored, not verified here: the
 * tx signature covers them and the gateway verifies the label when scanned.
 * warranty_months 0 takes the effective policy for the gtin/lot at mint time.
 * The lot record keeps the parameters of its first mint and counts units.
 */
#include <string.h>

#include "chain/state_int.h"

static bool has_prefix(const chain_brand *b, const char *gtin)
{
    for (size_t j = 0; j < b->nprefixes; j++) {
        size_t n = strlen(b->prefixes[j]);
        if (n > 0 && strlen(gtin) >= 1 + n && memcmp(gtin + 1, b->prefixes[j], n) == 0)
            return true;
    }
    return false;
}

int rule_mint(st_actx *a)
{
    const chain_tx *tx = a->tx;
    const chain_brand *b = st_brand_by_id(a->c, a->signer_brand);
    if (b == NULL)
        return st_refuse(a, CHAIN_ERR_WRONG_ROLE, "signer is not a genesis brand's admin");
    if (!has_prefix(b, tx->gtin))
        return st_refuse(a, CHAIN_ERR_BAD_GTIN, "gtin %s: not a company prefix of brand %s",
                         tx->gtin, b->id);
    if (tx->nunits == 0 || tx->nunits > CHAIN_MINT_MAX || tx->serials == NULL ||
        tx->label_sigs == NULL)
        return st_refuse(a, CHAIN_ERR_INVALID, "serials: 1..%u with one label signature each",
                         CHAIN_MINT_MAX);
    uint32_t months = tx->warranty_months;
    if (months == 0) {
        chain_policy p;
        int prc = st_policy_effective(a->c, a->txn, &p, tx->gtin, tx->lot);
        if (prc)
            return prc;
        months = p.warranty_months;
    }
    const uint64_t now = a->hdr->time;

    chain_lot lot;
    int rc = st_lot_get(a->c, a->txn, &lot, tx->gtin, tx->lot);
    if (rc == CHAIN_ERR_NOT_FOUND) {
        memset(&lot, 0, sizeof lot);
        memcpy(lot.gtin, tx->gtin, sizeof lot.gtin);
        memcpy(lot.lot, tx->lot, sizeof lot.lot);
        memcpy(lot.expiry, tx->expiry, sizeof lot.expiry);
        memcpy(lot.model, tx->model, sizeof lot.model);
        memcpy(lot.markets, tx->markets, sizeof lot.markets);
        lot.nmarkets = tx->nmarkets;
        lot.warranty_months = months;
        lot.minted_at = now;
    } else if (rc) {
        return rc;
    }

    st_unit u;
    memset(&u, 0, sizeof u);
    memcpy(u.u.brand, b->id, sizeof u.u.brand);
    memcpy(u.u.lot, tx->lot, sizeof u.u.lot);
    memcpy(u.u.expiry, tx->expiry, sizeof u.u.expiry);
    memcpy(u.u.model, tx->model, sizeof u.u.model);
    memcpy(u.u.holder, b->id, sizeof u.u.holder);
    u.u.state = CHAIN_UNIT_MINTED;
    u.u.minted_at = now;
    u.u.warranty_months = months;
    memcpy(u.u.id.gtin, tx->gtin, sizeof u.u.id.gtin);

    uint8_t lk[ST_LOTU_KEY];
    st_key_lot(lk, tx->gtin, tx->lot);
    for (size_t i = 0; i < tx->nunits; i++) {
        const char *serial = tx->serials[i];
        uint8_t k[ST_UNIT_KEY];
        st_key_unit(k, tx->gtin, serial);
        MDB_val v;
        rc = st_get(a->txn, a->c->dbi[DB_UNITS], k, sizeof k, &v);
        if (rc == CHAIN_OK)
            return st_refuse(a, CHAIN_ERR_DUPLICATE_UNIT, "unit %s/%s already exists", tx->gtin,
                             serial);
        if (rc != CHAIN_ERR_NOT_FOUND)
            return rc;
        snprintf(u.u.id.serial, sizeof u.u.id.serial, "%s", serial);
        memcpy(u.u.label_sig, tx->label_sigs[i], CHAIN_SIG_LEN);
        u.u.nevents = 0;
        chain_event ev;
        memset(&ev, 0, sizeof ev);
        if ((rc = st_rule_commit(a, &u, &ev)))
            return rc;
        memcpy(lk + ST_LOT_KEY, k + GS1_GTIN_LEN, GS1_SERIAL_MAX);
        if ((rc = st_put(a->txn, a->c->dbi[DB_LOT_UNITS], lk, sizeof lk, "", 0, 0)))
            return rc;
    }
    lot.units += tx->nunits;
    if ((rc = st_lot_put(a->c, a->txn, &lot)))
        return rc;
    a->units_delta = (int64_t)tx->nunits;
    return CHAIN_OK;
}
