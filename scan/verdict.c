/*
 * verdict.c — the verdict rules, as one table.
 *
 * Each row names a reason, the status it implies and a predicate over the
 * verdict input. verdict_eval runs every row; the verdict is the most severe
 * status among fired rows (GENUINE when none fires) and the reasons are all
 * fired rows, so a page can say "recalled" and still show "reported as fake".
 * Scan-intelligence rules read chain_scan_stats, which only replicated scans
 * batches fill — so the verdict is the same on every node for the same state.
 * Those counters count client networks, not scans (chain/tx_scans.c), and no
 * scan signal alone turns a unit suspicious: each needs evidence from
 * VERDICT_CORROBORATION distinct networks.
 * To add a rule: add a reason to verdict.h, its names below, and a row.
 */
#include "scan/verdict.h"

#include <stddef.h>
#include <string.h>

typedef bool (*rule_fn)(const verdict_input *in);

static bool r_unknown(const verdict_input *in)
{
    return in->unit == NULL;
}

static bool r_bad_sig(const verdict_input *in)
{
    return in->sig == VERDICT_SIG_BAD;
}

static bool r_counterfeit(const verdict_input *in)
{
    return in->unit && (in->unit->flags & CHAIN_FLAG_COUNTERFEIT);
}

static bool r_destroyed(const verdict_input *in)
{
    return in->unit && (in->unit->flags & CHAIN_FLAG_DESTROYED);
}

static bool r_stolen(const verdict_input *in)
{
    return in->unit && (in->unit->flags & CHAIN_FLAG_STOLEN);
}

static bool r_recalled(const verdict_input *in)
{
    return in->unit && (in->unit->flags & CHAIN_FLAG_RECALLED);
}

static bool r_expired(const verdict_input *in)
{
    return in->unit && verdict_expired(in->unit->expiry, in->now);
}

static bool r_too_many(const verdict_input *in)
{
    return in->unit && in->stats && in->policy && in->policy->max_clients > 0 &&
           in->stats->distinct_clients > in->policy->max_clients;
}

static bool r_travel(const verdict_input *in)
{
    return in->unit && in->stats && in->stats->impossible_travel >= VERDICT_CORROBORATION;
}

static bool r_markets(const verdict_input *in)
{
    return in->unit && in->stats && in->policy && in->policy->flagged_markets_only == 1 &&
           in->stats->outside_markets >= VERDICT_CORROBORATION;
}

static bool r_unsold(const verdict_input *in)
{
    return in->unit && in->stats && in->policy && in->policy->unsold_scan_suspicious == 1 &&
           in->stats->unsold_public >= VERDICT_CORROBORATION;
}

static bool r_reported(const verdict_input *in)
{
    return in->unit && in->stats && in->stats->reports >= VERDICT_CORROBORATION;
}

static const struct rule {
    int reason;
    int status;
    rule_fn fires;
} rules[] = {
    {VERDICT_R_UNKNOWN_SERIAL, VERDICT_NOT_GENUINE, r_unknown},
    {VERDICT_R_BAD_LABEL_SIGNATURE, VERDICT_NOT_GENUINE, r_bad_sig},
    {VERDICT_R_COUNTERFEIT, VERDICT_NOT_GENUINE, r_counterfeit},
    {VERDICT_R_DESTROYED, VERDICT_NOT_GENUINE, r_destroyed},
    {VERDICT_R_STOLEN, VERDICT_STOLEN, r_stolen},
    {VERDICT_R_RECALLED, VERDICT_RECALLED, r_recalled},
    {VERDICT_R_EXPIRED, VERDICT_EXPIRED, r_expired},
    {VERDICT_R_TOO_MANY_CLIENTS, VERDICT_SUSPICIOUS, r_too_many},
    {VERDICT_R_IMPOSSIBLE_TRAVEL, VERDICT_SUSPICIOUS, r_travel},
    {VERDICT_R_OUTSIDE_MARKETS, VERDICT_SUSPICIOUS, r_markets},
    {VERDICT_R_SCANNED_BEFORE_SALE, VERDICT_SUSPICIOUS, r_unsold},
    {VERDICT_R_REPORTED_FAKE, VERDICT_SUSPICIOUS, r_reported},
};
_Static_assert(sizeof rules / sizeof rules[0] == VERDICT_R__COUNT, "one row per reason");

void verdict_eval(verdict *out, const verdict_input *in)
{
    verdict v = {VERDICT_GENUINE, 0};
    for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++) {
        if (!rules[i].fires(in))
            continue;
        v.reasons |= 1u << rules[i].reason;
        if (rules[i].status > v.status)
            v.status = rules[i].status;
    }
    *out = v;
}

static const struct {
    const char *name, *title;
} status_names[VERDICT__COUNT] = {
    [VERDICT_GENUINE] = {"genuine", "Genuine"},
    [VERDICT_SUSPICIOUS] = {"suspicious", "Suspicious"},
    [VERDICT_EXPIRED] = {"expired", "Expired"},
    [VERDICT_RECALLED] = {"recalled", "Recalled"},
    [VERDICT_STOLEN] = {"stolen", "Reported stolen"},
    [VERDICT_NOT_GENUINE] = {"not_genuine", "Not genuine"},
};

static const struct {
    const char *name, *text;
} reason_names[VERDICT_R__COUNT] = {
    [VERDICT_R_UNKNOWN_SERIAL] = {"unknown_serial",
                                  "This serial number was never made by the brand"},
    [VERDICT_R_BAD_LABEL_SIGNATURE] = {"bad_label_signature",
                                       "The label's signature does not match the brand's"},
    [VERDICT_R_COUNTERFEIT] = {"counterfeit", "The brand has flagged copies of this code"},
    [VERDICT_R_DESTROYED] = {"destroyed", "This unit was recorded as destroyed"},
    [VERDICT_R_STOLEN] = {"stolen", "This unit was reported stolen"},
    [VERDICT_R_RECALLED] = {"recalled", "The brand has recalled this unit"},
    [VERDICT_R_EXPIRED] = {"expired", "The expiry date has passed"},
    [VERDICT_R_TOO_MANY_CLIENTS] = {"too_many_clients",
                                    "Scanned by more different people than expected"},
    [VERDICT_R_IMPOSSIBLE_TRAVEL] = {"impossible_travel",
                                     "Scanned in places too far apart for the time between"},
    [VERDICT_R_OUTSIDE_MARKETS] = {"outside_markets",
                                   "Scanned outside the markets this lot was made for"},
    [VERDICT_R_SCANNED_BEFORE_SALE] = {"scanned_before_sale",
                                       "Scanned by the public before it was sold"},
    [VERDICT_R_REPORTED_FAKE] = {"reported_fake", "Customers reported it as a suspected fake"},
};

const char *verdict_status_name(int s)
{
    return (s > 0 && s < VERDICT__COUNT) ? status_names[s].name : "unknown";
}

const char *verdict_status_title(int s)
{
    return (s > 0 && s < VERDICT__COUNT) ? status_names[s].title : "Unknown";
}

const char *verdict_reason_name(int r)
{
    return (r >= 0 && r < VERDICT_R__COUNT) ? reason_names[r].name : "unknown";
}

const char *verdict_reason_text(int r)
{
    return (r >= 0 && r < VERDICT_R__COUNT) ? reason_names[r].text : "Unknown reason";
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

bool verdict_expired(const char *s, uint64_t now)
{
    if (s == NULL || strnlen(s, 7) != 6)
        return false;
    for (int i = 0; i < 6; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    unsigned yy = (unsigned)((s[0] - '0') * 10 + (s[1] - '0'));
    unsigned mm = (unsigned)((s[2] - '0') * 10 + (s[3] - '0'));
    unsigned dd = (unsigned)((s[4] - '0') * 10 + (s[5] - '0'));
    if (mm < 1 || mm > 12 || dd > 31)
        return false;
    /* GS1: DD 00 means the last day of the month, i.e. the day before the 1st of the next. */
    int64_t last;
    if (dd == 0)
        last = days_from_civil(2000 + yy + (mm == 12), mm == 12 ? 1 : mm + 1, 1) - 1;
    else
        last = days_from_civil(2000 + yy, mm, dd);
    return (int64_t)(now / 86400) > last;
}
