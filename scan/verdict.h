/*
 * verdict.h — what the public page says about a unit: GENUINE, SUSPICIOUS (with
 * reasons), NOT_GENUINE, RECALLED, STOLEN, EXPIRED.
 *
 * The verdict is a pure function of replicated state (the unit, its scan
 * aggregates, the effective policy), the label signature check done by the
 * caller, and the gateway's clock — so every node answers the same for the
 * same state. The rules are one table in verdict.c; adding a rule is adding a
 * row (and a reason to enum verdict_reason).
 */
#ifndef PROVENA_SCAN_VERDICT_H
#define PROVENA_SCAN_VERDICT_H

#include <stdbool.h>
#include <stdint.h>

#include "chain/chain.h"

/* Distinct client networks (IPv4 /24, IPv6 /48) whose scans must agree before
 * a scan signal (impossible travel, outside markets, scanned before sale,
 * reported fake) turns a unit suspicious: one network — one person, one
 * office, one botnet host — is never enough. */
#define VERDICT_CORROBORATION 2

/* Ordered by severity: when several rules fire, the highest status wins.
 * Values are stable: they are recorded as chain_scan.verdict. */
enum verdict_status {
    VERDICT_GENUINE = 1,
    VERDICT_SUSPICIOUS,
    VERDICT_EXPIRED,
    VERDICT_RECALLED,
    VERDICT_STOLEN,
    VERDICT_NOT_GENUINE,
    VERDICT__COUNT
};

enum verdict_reason {
    VERDICT_R_UNKNOWN_SERIAL = 0, /* no such unit: a copied or invented code */
    VERDICT_R_BAD_LABEL_SIGNATURE,
    VERDICT_R_COUNTERFEIT, /* brand flagged counterfeit copies of this code */
    VERDICT_R_DESTROYED,   /* flagged destroyed: any scan is of a copy */
    VERDICT_R_STOLEN,
    VERDICT_R_RECALLED,
    VERDICT_R_EXPIRED,
    VERDICT_R_TOO_MANY_CLIENTS, /* more distinct client networks than policy max_clients */
    VERDICT_R_IMPOSSIBLE_TRAVEL,
    VERDICT_R_OUTSIDE_MARKETS,
    VERDICT_R_SCANNED_BEFORE_SALE,
    VERDICT_R_REPORTED_FAKE,
    VERDICT_R__COUNT
};
_Static_assert(VERDICT_R__COUNT <= 32, "reasons are a 32-bit mask");

/* Result of the caller's label signature check. */
enum verdict_sig { VERDICT_SIG_ABSENT = 0, VERDICT_SIG_OK, VERDICT_SIG_BAD };

typedef struct verdict_input {
    const chain_unit *unit;        /* NULL: unknown serial */
    const chain_scan_stats *stats; /* NULL: no scans recorded yet */
    const chain_policy *policy;    /* effective policy; NULL: no policy rules */
    int sig;                       /* enum verdict_sig */
    uint64_t now;                  /* unix seconds (the gateway's clock) */
} verdict_input;

typedef struct verdict {
    int status;       /* enum verdict_status */
    uint32_t reasons; /* bit (1u << enum verdict_reason) per fired rule */
} verdict;

/* Evaluates every rule of the table. Pure, thread-safe, never fails. */
void verdict_eval(verdict *out, const verdict_input *in);

/* Stable snake_case names ("not_genuine", "impossible_travel"); "unknown" when
 * out of range. */
const char *verdict_status_name(int status);
const char *verdict_reason_name(int reason);
/* Words for people: "Genuine", "Not genuine"; "Scanned in two places too far apart". */
const char *verdict_status_title(int status);
const char *verdict_reason_text(int reason);

/* True when the GS1 expiry date YYMMDD (DD 00: end of month) is before the UTC
 * day of `now`. false for "" or a malformed date. */
bool verdict_expired(const char *yymmdd, uint64_t now);

#endif
