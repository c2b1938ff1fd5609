/*
 * err.c — the chain layer's stable names: error codes and the enum ↔ text
 * tables every layer prints or parses (roles, unit states, flags, warranty
 * outcomes, transaction types).
 *
 * The snake_case strings are part of the public API (receipts, HTTP errors,
 * JSON bodies, CLI output): append new entries, never rename one. Each table
 * is indexed by its enum so a lookup is one bounds check; the parse direction
 * is a linear scan of at most twenty entries.
 *
 * All name tables of chain.h live here (and only here), so no other file
 * defines chain_*_name / chain_*_parse.
 */
#include "chain/chain.h"

#include <string.h>

static const struct {
    const char *code;
    const char *text;
} err_table[CHAIN_ERR__COUNT] = {
    [CHAIN_OK] = {"ok", "success"},
    [CHAIN_ERR_MALFORMED] = {"malformed", "malformed encoding or missing field"},
    [CHAIN_ERR_TOO_LARGE] = {"too_large", "over a size bound"},
    [CHAIN_ERR_NON_CANONICAL] = {"non_canonical", "not the canonical encoding"},
    [CHAIN_ERR_BAD_SIGNATURE] = {"bad_signature", "signature does not verify"},
    [CHAIN_ERR_WRONG_CHAIN] = {"wrong_chain", "signed for another chain"},
    [CHAIN_ERR_UNKNOWN_SIGNER] = {"unknown_signer", "signer is not a registered participant"},
    [CHAIN_ERR_REVOKED_SIGNER] = {"revoked_signer", "signer's key has been revoked"},
    [CHAIN_ERR_WRONG_ROLE] = {"wrong_role", "signer's role may not do this"},
    [CHAIN_ERR_STALE_NONCE] = {"stale_nonce", "nonce not above the signer's last one"},
    [CHAIN_ERR_UNKNOWN_UNIT] = {"unknown_unit", "no such unit"},
    [CHAIN_ERR_DUPLICATE_UNIT] = {"duplicate_unit", "unit already minted"},
    [CHAIN_ERR_NOT_OWNER] = {"not_owner", "signer does not own the unit"},
    [CHAIN_ERR_NOT_HOLDER] = {"not_holder", "signer does not hold the unit"},
    [CHAIN_ERR_BAD_STATE] = {"bad_state", "step out of lifecycle order"},
    [CHAIN_ERR_FLAGGED] = {"flagged", "unit is flagged"},
    [CHAIN_ERR_WARRANTY_EXPIRED] = {"warranty_expired", "warranty has expired"},
    [CHAIN_ERR_WARRANTY_INACTIVE] = {"warranty_inactive", "warranty not active or no open claim"},
    [CHAIN_ERR_BAD_CLAIM_CODE] = {"bad_claim_code", "claim code does not match"},
    [CHAIN_ERR_BAD_GTIN] = {"bad_gtin", "invalid GTIN or not the brand's prefix"},
    [CHAIN_ERR_BAD_SERIAL] = {"bad_serial", "invalid serial"},
    [CHAIN_ERR_UNKNOWN_PARTICIPANT] = {"unknown_participant", "no such participant"},
    [CHAIN_ERR_DUPLICATE_PARTICIPANT] = {"duplicate_participant",
                                         "participant id or key already in use"},
    [CHAIN_ERR_UNKNOWN_NODE] = {"unknown_node", "no such node"},
    [CHAIN_ERR_DUPLICATE_NODE] = {"duplicate_node", "node id or address already in use"},
    [CHAIN_ERR_DUPLICATE_TX] = {"duplicate_tx", "transaction already in the ledger"},
    [CHAIN_ERR_BAD_BLOCK] = {"bad_block", "block does not extend the chain"},
    [CHAIN_ERR_BAD_GENESIS] = {"bad_genesis", "invalid or mismatched genesis"},
    [CHAIN_ERR_NOT_FOUND] = {"not_found", "not found"},
    [CHAIN_ERR_STORAGE] = {"storage", "storage failure"},
    [CHAIN_ERR_NOMEM] = {"nomem", "out of memory"},
    [CHAIN_ERR_INVALID] = {"invalid", "field value out of its domain"},
    [CHAIN_ERR_NO_OFFER] = {"no_offer", "no claim or transfer offer is open"},
    [CHAIN_ERR_OFFER_EXPIRED] = {"offer_expired", "the transfer offer has lapsed"},
    [CHAIN_ERR_WEBAUTHN_MALFORMED] = {"webauthn_malformed", "passkey assertion does not parse"},
    [CHAIN_ERR_WEBAUTHN_TYPE] = {"webauthn_type", "passkey assertion is not of type webauthn.get"},
    [CHAIN_ERR_WEBAUTHN_CHALLENGE] = {"webauthn_challenge",
                                      "passkey assertion was made for another transaction"},
    [CHAIN_ERR_WEBAUTHN_ORIGIN] = {"webauthn_origin",
                                   "passkey assertion comes from an origin not allowed"},
    [CHAIN_ERR_WEBAUTHN_RP] = {"webauthn_rp", "passkey assertion is for another relying party"},
    [CHAIN_ERR_WEBAUTHN_PRESENCE] = {"webauthn_presence",
                                     "passkey assertion lacks user presence or verification"},
    [CHAIN_ERR_WEBAUTHN_SIGNATURE] = {"webauthn_signature", "passkey signature does not verify"},

    [CHAIN_ERR_DISK_FULL] = {"disk_full", "no space left on the data disk"},
};

const char *chain_err_code(int err)
{
    if (err < 0 || err >= CHAIN_ERR__COUNT || err_table[err].code == NULL)
        return "unknown";
    return err_table[err].code;
}

const char *chain_strerror(int err)
{
    if (err < 0 || err >= CHAIN_ERR__COUNT || err_table[err].text == NULL)
        return "unknown error";
    return err_table[err].text;
}

/* Looks s up in a table indexed by enum value; -1 when absent. */
static int table_parse(const char *const *names, int count, const char *s)
{
    if (s == NULL)
        return -1;
    for (int i = 0; i < count; i++)
        if (names[i] != NULL && strcmp(names[i], s) == 0)
            return i;
    return -1;
}

static const char *table_name(const char *const *names, int count, int v)
{
    if (v < 0 || v >= count || names[v] == NULL)
        return "unknown";
    return names[v];
}

static const char *const role_names[CHAIN_ROLE__COUNT] = {
    [CHAIN_ROLE_NONE] = "none",       [CHAIN_ROLE_BRAND] = "brand",
    [CHAIN_ROLE_CARRIER] = "carrier", [CHAIN_ROLE_SELLER] = "seller",
    [CHAIN_ROLE_SERVICE] = "service", [CHAIN_ROLE_NODE] = "node",
};

const char *chain_role_name(int role)
{
    return table_name(role_names, CHAIN_ROLE__COUNT, role);
}

int chain_role_parse(const char *s)
{
    return table_parse(role_names, CHAIN_ROLE__COUNT, s);
}

static const char *const state_names[CHAIN_UNIT__COUNT] = {
    [CHAIN_UNIT_MINTED] = "minted",       [CHAIN_UNIT_IN_TRANSIT] = "in_transit",
    [CHAIN_UNIT_DELIVERED] = "delivered", [CHAIN_UNIT_SOLD] = "sold",
    [CHAIN_UNIT_OWNED] = "owned",
};

const char *chain_unit_state_name(int state)
{
    return table_name(state_names, CHAIN_UNIT__COUNT, state);
}

/* Flags are bits; the table is indexed by bit position. */
static const char *const flag_names[] = {"recalled", "stolen", "counterfeit", "destroyed"};
#define FLAG_COUNT ((int)(sizeof flag_names / sizeof flag_names[0]))

const char *chain_flag_name(unsigned flag)
{
    for (int i = 0; i < FLAG_COUNT; i++)
        if (flag == (1u << i))
            return flag_names[i];
    return "unknown";
}

int chain_flag_parse(const char *s)
{
    int i = table_parse(flag_names, FLAG_COUNT, s);
    return i < 0 ? -1 : (int)(1u << i);
}

#define OUTCOME_COUNT (CHAIN_OUTCOME_REJECTED + 1)
static const char *const outcome_names[OUTCOME_COUNT] = {
    [CHAIN_OUTCOME_REPAIRED] = "repaired",
    [CHAIN_OUTCOME_REPLACED] = "replaced",
    [CHAIN_OUTCOME_REJECTED] = "rejected",
};

const char *chain_outcome_name(int outcome)
{
    return table_name(outcome_names, OUTCOME_COUNT, outcome);
}

int chain_outcome_parse(const char *s)
{
    return table_parse(outcome_names, OUTCOME_COUNT, s);
}

static const char *const tx_type_names[CHAIN_TX__COUNT] = {
    [CHAIN_TX_MINT] = "mint",
    [CHAIN_TX_PICKUP] = "pickup",
    [CHAIN_TX_DELIVER] = "deliver",
    [CHAIN_TX_SELL] = "sell",
    [CHAIN_TX_CLAIM] = "claim",
    [CHAIN_TX_TRANSFER] = "transfer",
    [CHAIN_TX_WARRANTY_ACTIVATE] = "warranty.activate",
    [CHAIN_TX_WARRANTY_EXTEND] = "warranty.extend",
    [CHAIN_TX_WARRANTY_CLAIM] = "warranty.claim",
    [CHAIN_TX_WARRANTY_RESOLVE] = "warranty.resolve",
    [CHAIN_TX_FLAG] = "flag",
    [CHAIN_TX_UNFLAG] = "unflag",
    [CHAIN_TX_PARTICIPANT_ADD] = "participant.add",
    [CHAIN_TX_PARTICIPANT_REVOKE] = "participant.revoke",
    [CHAIN_TX_PARTICIPANT_ROTATE] = "participant.rotate",
    [CHAIN_TX_NODE_ADD] = "node.add",
    [CHAIN_TX_NODE_REMOVE] = "node.remove",
    [CHAIN_TX_POLICY_SET] = "policy.set",
    [CHAIN_TX_SCANS] = "scans",
    [CHAIN_TX_NODE_ROTATE] = "node.rotate",
    [CHAIN_TX_TRANSFER_OFFER] = "transfer.offer",
    [CHAIN_TX_TRANSFER_CANCEL] = "transfer.cancel",
    [CHAIN_TX_RESOLVER_SET] = "resolver.set",
    [CHAIN_TX_RP_SET] = "rp.set",
};

const char *chain_tx_type_name(int type)
{
    return table_name(tx_type_names, CHAIN_TX__COUNT, type);
}

int chain_tx_type_parse(const char *s)
{
    return table_parse(tx_type_names, CHAIN_TX__COUNT, s);
}
