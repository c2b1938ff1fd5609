/*
 * tx_scans.c — a node-signed batch of public scan records, folded into
 * per-unit aggregates (chain_scan_stats) that every node computes alike.
 *
 * Only a current node key may sign a scans tx. Scans of a known unit count
 * up (scans); first/last time are min/max of the gateway times, the last
 * region follows the latest time, and the regions list keeps the 8 most
 * recent distinct regions, newest first. Probes, and any record of a code
 * that names no unit, count per GTIN per day (DB_PROBES).
 *
 * Every signal a verdict rule reads counts NETWORKS, not records or clients:
 * a record's client hash begins with 8 bytes naming the client's network
 * (IPv4 /24, IPv6 /48; node/gw_client.c), and each counter below goes up
 * only the first time a network gives it evidence about the unit
 * (DB_SCANCLIENTS holds unit || tag || network || 0-padding, one tag per
 * counter). So one machine, or one subnet, scanning a thousand times or
 * through every gateway counts once:
 *   distinct_clients   'c' networks that scanned or reported the unit
 *   reports            'r' networks that reported it as a suspected fake
 *   outside_markets    'm' networks that scanned it from a region outside
 *                          the lot's markets
 *   unsold_public      'u' networks that scanned it before its sale
 *   impossible_travel  't' networks whose scan's region (country centroid,
 *                          chain/geo.c) is farther from the unit's latest
 *                          scan region than the policy's travel_kmh allows in
 *                          the time between (integer km and seconds)
 * The verdict (scan/verdict.c) asks for VERDICT_CORROBORATION networks.
 *
 * Every public scan of a known unit (kind scan) also counts per (region, UTC day)
 * where it happened ("" when unknown), in DB_PROBES under a key of its own
 * size (REGION_KEY), so the dashboard can say where scans happen rather than
 * where each unit was scanned last (records, not networks: a statistic, not a
 * verdict signal).
 * Cost: O(records), a few LMDB operations each.
 */
#include <string.h>

#include "chain/geo.h"
#include "chain/state_int.h"
#include "chain/tx_schema.h"

/* Region-day counter key: 'R', the region NUL-padded, the day big-endian. */
#define REGION_KEY (1 + CHAIN_REGION_MAX + 4)
_Static_assert(REGION_KEY != GS1_GTIN_LEN + 4, "region keys must not look like probe keys");

static int count_region(st_actx *a, const chain_scan *s)
{
    uint8_t k[REGION_KEY] = {'R'};
    memcpy(k + 1, s->region, strnlen(s->region, CHAIN_REGION_MAX));
    st_be32(k + 1 + CHAIN_REGION_MAX, (uint32_t)(s->time / 86400u));
    uint64_t n = 0;
    int rc = st_uint_get(a->txn, a->c->dbi[DB_PROBES], k, sizeof k, &n);
    if (rc && rc != CHAIN_ERR_NOT_FOUND)
        return rc;
    return st_uint_put(a->txn, a->c->dbi[DB_PROBES], k, sizeof k, n + 1);
}

static int count_probe(st_actx *a, const chain_scan *s)
{
    uint8_t k[GS1_GTIN_LEN + 4];
    memcpy(k, s->id.gtin, GS1_GTIN_LEN);
    st_be32(k + GS1_GTIN_LEN, (uint32_t)(s->time / 86400u));
    uint64_t n = 0;
    int rc = st_uint_get(a->txn, a->c->dbi[DB_PROBES], k, sizeof k, &n);
    if (rc && rc != CHAIN_ERR_NOT_FOUND)
        return rc;
    return st_uint_put(a->txn, a->c->dbi[DB_PROBES], k, sizeof k, n + 1);
}

static bool in_markets(const chain_lot *l, const char *region)
{
    for (size_t i = 0; i < l->nmarkets; i++)
        if (strncmp(l->markets[i], region, 2) == 0)
            return true;
    return false;
}

static void remember_region(chain_scan_stats *st, const char *region)
{
    uint32_t n = st->nregions, i;
    for (i = 0; i < n; i++)
        if (strcmp(st->regions[i], region) == 0)
            break;
    if (i == n)
        i = n < 8 ? n++ : 7; /* new: drop the oldest when full */
    memmove(st->regions[1], st->regions[0], (size_t)i * sizeof st->regions[0]);
    snprintf(st->regions[0], sizeof st->regions[0], "%s", region);
    st->nregions = n;
}

/* True when going from the unit's latest scan (region, time) to this one would
 * need a speed above kmh. Unknown regions or kmh 0 never fire. */
static bool too_fast(const chain_scan_stats *st, const chain_scan *s, uint32_t kmh)
{
    if (kmh == 0 || st->last_region[0] == '\0' || s->region[0] == '\0')
        return false;
    uint32_t km;
    if (geo_region_km(st->last_region, s->region, &km) != 0 || km == 0)
        return false;
    uint64_t dt = s->time >= st->last_time ? s->time - st->last_time : st->last_time - s->time;
    return (uint64_t)km * 3600u > (uint64_t)kmh * dt;
}

/* True the first time the network of s gives evidence `tag` about unit key k
 * (ST_UNIT_KEY bytes), and remembers it. */
static int first_from_network(st_actx *a, const uint8_t *unit_key, char tag, const chain_scan *s,
                              bool *first)
{
    uint8_t k[ST_CLIENT_KEY];
    _Static_assert(ST_CLIENT_KEY == ST_UNIT_KEY + 16, "tag, 8 network bytes, 7 zero");
    memcpy(k, unit_key, ST_UNIT_KEY);
    memset(k + ST_UNIT_KEY, 0, 16);
    k[ST_UNIT_KEY] = (uint8_t)tag;
    memcpy(k + ST_UNIT_KEY + 1, s->client, 8);
    MDB_val v;
    int rc = st_get(a->txn, a->c->dbi[DB_SCANCLIENTS], k, sizeof k, &v);
    *first = rc == CHAIN_ERR_NOT_FOUND;
    if (*first)
        rc = st_put(a->txn, a->c->dbi[DB_SCANCLIENTS], k, sizeof k, "", 0, 0);
    return rc;
}

/* Counts *counter up when s's network gives evidence `tag` for the first time. */
static int count_network(st_actx *a, const uint8_t *unit_key, char tag, const chain_scan *s,
                         uint32_t *counter)
{
    bool first;
    int rc = first_from_network(a, unit_key, tag, s, &first);
    if (rc == CHAIN_OK && first)
        (*counter)++;
    return rc;
}

static int fold(st_actx *a, const chain_scan *s)
{
    st_unit u;
    int rc = st_unit_get(a->c, a->txn, &u, s->id.gtin, s->id.serial);
    if (rc == CHAIN_ERR_NOT_FOUND)
        return count_probe(a, s);
    if (rc)
        return rc;
    if (s->kind == CHAIN_SCAN_SCAN && (rc = count_region(a, s)))
        return rc;
    uint8_t k[ST_UNIT_KEY];
    st_key_unit(k, s->id.gtin, s->id.serial);
    chain_scan_stats st;
    rc = st_stats_get(a->c, a->txn, &st, k);
    if (rc == CHAIN_ERR_NOT_FOUND)
        memset(&st, 0, sizeof st);
    else if (rc)
        return rc;
    rc = CHAIN_OK;
    bool first = st.scans == 0 && st.reports == 0 && st.distinct_clients == 0;
    if (s->kind == CHAIN_SCAN_REPORT)
        rc = count_network(a, k, 'r', s, &st.reports);
    else
        st.scans++;
    if (rc || (rc = count_network(a, k, 'c', s, &st.distinct_clients)))
        return rc;
    if (!first && s->region[0] != '\0') {
        chain_policy pol;
        if ((rc = st_policy_effective(a->c, a->txn, &pol, u.u.id.gtin, u.u.lot)))
            return rc;
        if (too_fast(&st, s, pol.travel_kmh) &&
            (rc = count_network(a, k, 't', s, &st.impossible_travel)))
            return rc;
    }
    if (first || s->time < st.first_time)
        st.first_time = s->time;
    if (first || s->time >= st.last_time) {
        st.last_time = s->time;
        if (s->region[0] != '\0')
            memcpy(st.last_region, s->region, sizeof st.last_region);
    }
    if (s->region[0] != '\0') {
        remember_region(&st, s->region);
        chain_lot lot;
        rc = st_lot_get(a->c, a->txn, &lot, u.u.id.gtin, u.u.lot);
        if (rc == CHAIN_OK && lot.nmarkets > 0 && !in_markets(&lot, s->region)) {
            if ((rc = count_network(a, k, 'm', s, &st.outside_markets)))
                return rc;
        } else if (rc && rc != CHAIN_ERR_NOT_FOUND) {
            return rc;
        }
    }
    if (s->kind == CHAIN_SCAN_SCAN && u.u.state != CHAIN_UNIT_SOLD &&
        u.u.state != CHAIN_UNIT_OWNED && (rc = count_network(a, k, 'u', s, &st.unsold_public)))
        return rc;
    return st_stats_put(a->c, a->txn, &st, k);
}

int rule_scans(st_actx *a)
{
    const chain_tx *tx = a->tx;
    for (size_t i = 0; i < tx->nscans; i++) {
        const chain_scan *s = &tx->scans[i];
        int rc = s->kind == CHAIN_SCAN_PROBE ? count_probe(a, s) : fold(a, s);
        if (rc)
            return rc;
    }
    if (tx->dropped > 0) {
        uint64_t d = 0;
        int rc = st_uint_get(a->txn, a->c->dbi[DB_META], "dropped", 7, &d);
        if (rc && rc != CHAIN_ERR_NOT_FOUND)
            return rc;
        if ((rc = st_uint_put(a->txn, a->c->dbi[DB_META], "dropped", 7, d + tx->dropped)))
            return rc;
    }
    return CHAIN_OK;
}

int chain_scan_units(chain_rd *rd, chain_scan_unit_fn fn, void *ctx)
{
    MDB_cursor *cur;
    if (mdb_cursor_open(rd->txn, rd->c->dbi[DB_SCANSTATS], &cur) != MDB_SUCCESS)
        return CHAIN_ERR_STORAGE;
    MDB_val k, v;
    int rc = CHAIN_OK, mrc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
    for (; mrc == MDB_SUCCESS; mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (k.mv_size != ST_UNIT_KEY)
            continue;
        chain_scan_stats st;
        if ((rc = st_stats_get(rd->c, rd->txn, &st, k.mv_data)))
            break;
        gs1_sgtin id;
        st_key_unit_split(&id, k.mv_data);
        if (fn(ctx, &id, &st))
            break;
    }
    if (rc == CHAIN_OK && mrc != MDB_SUCCESS && mrc != MDB_NOTFOUND)
        rc = CHAIN_ERR_STORAGE;
    mdb_cursor_close(cur);
    return rc;
}

int chain_probes(chain_rd *rd, chain_probe_fn fn, void *ctx)
{
    MDB_cursor *cur;
    if (mdb_cursor_open(rd->txn, rd->c->dbi[DB_PROBES], &cur) != MDB_SUCCESS)
        return CHAIN_ERR_STORAGE;
    MDB_val k, v;
    int rc = CHAIN_OK, mrc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
    for (; mrc == MDB_SUCCESS; mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (k.mv_size != GS1_GTIN_LEN + 4)
            continue;
        const uint8_t *kb = k.mv_data;
        char gtin[GS1_GTIN_LEN + 1];
        memcpy(gtin, kb, GS1_GTIN_LEN);
        gtin[GS1_GTIN_LEN] = '\0';
        uint32_t day = (uint32_t)kb[GS1_GTIN_LEN] << 24 | (uint32_t)kb[GS1_GTIN_LEN + 1] << 16 |
                       (uint32_t)kb[GS1_GTIN_LEN + 2] << 8 | kb[GS1_GTIN_LEN + 3];
        uint64_t n = 0;
        if ((rc = st_uint_get(rd->txn, rd->c->dbi[DB_PROBES], kb, k.mv_size, &n)))
            break;
        if (fn(ctx, gtin, day, n))
            break;
    }
    if (rc == CHAIN_OK && mrc != MDB_SUCCESS && mrc != MDB_NOTFOUND)
        rc = CHAIN_ERR_STORAGE;
    mdb_cursor_close(cur);
    return rc;
}

int chain_scan_regions(chain_rd *rd, chain_region_fn fn, void *ctx)
{
    MDB_cursor *cur;
    if (mdb_cursor_open(rd->txn, rd->c->dbi[DB_PROBES], &cur) != MDB_SUCCESS)
        return CHAIN_ERR_STORAGE;
    MDB_val k, v;
    uint8_t first = 'R';
    k.mv_size = 1;
    k.mv_data = &first;
    int rc = CHAIN_OK, mrc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    for (; mrc == MDB_SUCCESS; mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        const uint8_t *kb = k.mv_data;
        if (k.mv_size < 1 || kb[0] != 'R')
            break;
        if (k.mv_size != REGION_KEY)
            continue;
        char region[CHAIN_REGION_MAX + 1];
        memcpy(region, kb + 1, CHAIN_REGION_MAX);
        region[CHAIN_REGION_MAX] = '\0';
        const uint8_t *d = kb + 1 + CHAIN_REGION_MAX;
        uint32_t day = (uint32_t)d[0] << 24 | (uint32_t)d[1] << 16 | (uint32_t)d[2] << 8 | d[3];
        uint64_t n = 0;
        if ((rc = st_uint_get(rd->txn, rd->c->dbi[DB_PROBES], kb, k.mv_size, &n)))
            break;
        if (fn(ctx, region, day, n))
            break;
    }
    if (rc == CHAIN_OK && mrc != MDB_SUCCESS && mrc != MDB_NOTFOUND)
        rc = CHAIN_ERR_STORAGE;
    mdb_cursor_close(cur);
    return rc;
}
