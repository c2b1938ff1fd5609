/*
 * gw_i18n.h — the words of the public pages in the languages they speak.
 *
 * One message table (gw_i18n.c): a row per message, a column per language.
 * A missing translation falls back to English, so adding a message needs only
 * its English words; adding a language is a column plus a row in the language
 * list. The pages pick a language with gw_lang_pick (?lang= first, then
 * Accept-Language) and say it back in <html lang> and Content-Language.
 * Everything here is pure and thread-safe.
 */
#ifndef PROVENA_NODE_GW_I18N_H
#define PROVENA_NODE_GW_I18N_H

#include <stddef.h>

enum gw_lang {
    GW_LANG_EN = 0,
    GW_LANG_DE,
    GW_LANG_FR,
    GW_LANG_ES,
    GW_LANG_JA,
    GW_LANG_ZH,
    GW_LANG__COUNT
};

#define GW_LANG_HEADER_MAX 1024 /* Accept-Language bytes read; the rest is ignored */

enum gw_msg {
    /* verdict titles, in enum verdict_status order from GENUINE */
    GW_M_ST_GENUINE = 0,
    GW_M_ST_SUSPICIOUS,
    GW_M_ST_EXPIRED,
    GW_M_ST_RECALLED,
    GW_M_ST_STOLEN,
    GW_M_ST_NOT_GENUINE,
    /* verdict reasons, in enum verdict_reason order */
    GW_M_R_UNKNOWN_SERIAL,
    GW_M_R_BAD_LABEL_SIGNATURE,
    GW_M_R_COUNTERFEIT,
    GW_M_R_DESTROYED,
    GW_M_R_STOLEN,
    GW_M_R_RECALLED,
    GW_M_R_EXPIRED,
    GW_M_R_TOO_MANY_CLIENTS,
    GW_M_R_IMPOSSIBLE_TRAVEL,
    GW_M_R_OUTSIDE_MARKETS,
    GW_M_R_SCANNED_BEFORE_SALE,
    GW_M_R_REPORTED_FAKE,
    /* events, in enum chain_tx_type order from MINT */
    GW_M_EV_MINT,
    GW_M_EV_PICKUP,
    GW_M_EV_DELIVER,
    GW_M_EV_SELL,
    GW_M_EV_CLAIM,
    GW_M_EV_TRANSFER,
    GW_M_EV_WARRANTY_ACTIVATE,
    GW_M_EV_WARRANTY_EXTEND,
    GW_M_EV_WARRANTY_CLAIM,
    GW_M_EV_WARRANTY_RESOLVE,
    GW_M_EV_FLAG,
    GW_M_EV_UNFLAG,
    GW_M_EV_TRANSFER_OFFER,
    GW_M_EV_TRANSFER_CANCEL,
    GW_M_EV_PACK,   /* followed by the parent's SSCC */
    GW_M_EV_UNPACK, /* followed by the parent's SSCC */
    GW_M_IN_PARENT, /* a move made inside a parent: "inside <SSCC>" */
    /* flags (bit order), outcomes, unit states, warranty states */
    GW_M_FLAG_RECALLED,
    GW_M_FLAG_STOLEN,
    GW_M_FLAG_COUNTERFEIT,
    GW_M_FLAG_DESTROYED,
    GW_M_OUT_REPAIRED,
    GW_M_OUT_REPLACED,
    GW_M_OUT_REJECTED,
    GW_M_STATE_MINTED,
    GW_M_STATE_IN_TRANSIT,
    GW_M_STATE_DELIVERED,
    GW_M_STATE_SOLD,
    GW_M_STATE_OWNED,
    GW_M_W_NOT_STARTED,
    GW_M_W_EXPIRED,
    GW_M_W_CLAIM_OPEN,
    GW_M_W_ACTIVE,
    GW_M_W_INACTIVE,
    /* page words */
    GW_M_PRODUCT_CHECK,
    GW_M_MADE_BY_PRE,
    GW_M_MADE_BY_POST,
    GW_M_PRODUCT,
    GW_M_MODEL,
    GW_M_BRAND,
    GW_M_GTIN,
    GW_M_SERIAL,
    GW_M_LOT,
    GW_M_EXPIRY,
    GW_M_EXPIRED_NOTE,
    GW_M_STATUS,
    GW_M_OWNER,
    GW_M_OWNER_UNCLAIMED,
    GW_M_WARRANTY,
    GW_M_UNTIL,
    GW_M_MONTHS_FROM_SALE,
    GW_M_HISTORY,
    GW_M_EVENTS,
    GW_M_BY,
    GW_M_TO,
    GW_M_CUSTOMER,
    GW_M_BLOCK,
    GW_M_EXTENDED_BY_MONTHS,
    GW_M_EARLIER_EVENTS,
    GW_M_NO_SUCH_PRODUCT,
    GW_M_SOMETHING_WRONG,
    GW_M_WHAT_LOOKS_WRONG,
    GW_M_REPORT_BUTTON,
    GW_M_FOOTER,
    GW_M_AS_OF_BLOCK,
    GW_M_LANGUAGE,
    /* the customer's section (passkeys) */
    GW_M_OWN_CLAIM_H,
    GW_M_OWN_TAKEOVER_H,
    GW_M_OWN_CODE_SELLER,
    GW_M_OWN_CODE_OWNER,
    GW_M_OWN_CLAIM_BUTTON,
    GW_M_OWN_OWNER_H,
    GW_M_OWN_WARRANTY_BUTTON,
    GW_M_OWN_NOTE,
    GW_M_OWN_WCLAIM_BUTTON,
    GW_M_OWN_OFFER_BUTTON,
    GW_M_OWN_WITHDRAW_BUTTON,
    GW_M_OWN_STOLEN_BUTTON,
    GW_M_OWN_NOSCRIPT,
    /* passkey.js's status lines, handed to it in data-m-* attributes ({h}: a block) */
    GW_M_PK_CREATING,
    GW_M_PK_CLAIMING,
    GW_M_PK_CLAIMED,
    GW_M_PK_NOT_CLAIMED,
    GW_M_PK_SIGNING,
    GW_M_PK_OFFERED,
    GW_M_PK_DONE,
    GW_M_PK_REFUSED,
    GW_M_PK_QR,
    /* a parent's page (/00/{sscc}) */
    GW_M_P_LOGISTIC_UNIT,
    GW_M_P_CUSTODIAN,
    GW_M_P_PACKED_IN,
    GW_M_P_UNITS_INSIDE,
    GW_M_P_LEVELS,
    GW_M_P_EMPTY,
    GW_M_P_PARENTS_INSIDE,
    GW_M_P_NOT_LISTED,
    /* error and notice pages */
    GW_M_E_BAD_CODE,
    GW_M_E_TOO_MANY,
    GW_M_E_TOO_MANY_DETAIL,
    GW_M_E_BEHIND,
    GW_M_E_BEHIND_DETAIL,
    GW_M_THANKS,
    GW_M_THANKS_DETAIL,
    GW_M__COUNT
};

/* The language of a request: ?lang= (a supported tag, primary subtag
 * compared case-insensitively: "de-AT" → de) when given and supported, else
 * the supported language of highest q in Accept-Language (first listed on a
 * tie; q=0 excludes), else English. Either argument may be NULL. Reads at
 * most GW_LANG_HEADER_MAX bytes of accept. Pure. */
int gw_lang_pick(const char *query_lang, const char *accept);

/* "en", "de", ... ("en" when out of range). */
const char *gw_lang_code(int lang);
/* The language's own name: "Deutsch", "日本語". */
const char *gw_lang_name(int lang);

/* The message in lang, or its English words when lang has none. Never NULL. */
const char *gw_msg(int lang, int msg);

#endif
