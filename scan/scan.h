/*
 * scan.h — scan intelligence: what the network learns from public scans of
 * its labels, and the one header other folders include for it.
 *
 *   scanq.h    the scan queue: the gateway records every public scan, probe
 *              and report; a flusher thread replicates them as node-signed
 *              `scans` transactions about once a second (bounded, never blocks)
 *   verdict.h  the verdict rules: GENUINE / SUSPICIOUS (with reasons) / NOT
 *              GENUINE / RECALLED / STOLEN / EXPIRED from a unit's replicated
 *              state, its scan aggregates and policy; pure, no I/O
 *   below      the brand's dashboard figures, read from the replicated
 *              aggregates
 *
 * It may call chain/ and log/ only; it knows nothing of HTTP or Raft (the
 * scan queue hands its batches to a submit function its owner supplies).
 */
#ifndef PROVENA_SCAN_SCAN_H
#define PROVENA_SCAN_SCAN_H

#include <stddef.h>
#include <stdint.h>

#include "chain/chain.h"
#include "scan/scanq.h"
#include "scan/verdict.h"

#define SCAN_DASH_DAYS      30  /* days of scans and probes, index 0 today */
#define SCAN_DASH_KEYS      32  /* regions, lots counted (more are not listed) */
#define SCAN_DASH_TOP       10  /* most suspicious units kept */
#define SCAN_DASH_ALERTS    100 /* newest alerts kept */
#define SCAN_DASH_LOT_UNITS 200 /* units listed by a lot's drill-down (more are counted) */

typedef struct scan_kv {
    char key[GS1_GTIN_LEN + GS1_LOT_MAX + 2]; /* region, or "gtin/lot" */
    uint64_t n;
} scan_kv;

typedef struct scan_alert {
    char gtin[GS1_GTIN_LEN + 1], serial[GS1_SERIAL_MAX + 1];
    uint64_t time, scans;
    uint32_t reasons; /* verdict reason bits (kind 0) */
    int kind;         /* 0: unit suspicious, 1: probes of a gtin on one day */
    uint64_t count;   /* probes (kind 1) */
} scan_alert;

typedef struct scan_dash {
    uint64_t now, since; /* unix seconds */
    uint64_t scans, reports, probes, units, suspicious;
    uint64_t days[SCAN_DASH_DAYS]; /* scans per day where they happened, index 0: today */
    uint64_t probe_days[SCAN_DASH_DAYS];
    /* regions: scans of the last SCAN_DASH_DAYS days by the region each
     * happened in ("unknown" when the gateway had none); lots: all scans and
     * reports of each lot's units. Most first. */
    scan_kv regions[SCAN_DASH_KEYS], lots[SCAN_DASH_KEYS];
    size_t nregions, nlots;
    scan_alert top[SCAN_DASH_TOP]; /* most reasons kept */
    size_t ntop;
    scan_alert alerts[SCAN_DASH_ALERTS]; /* newest first; none before since */
    size_t nalerts;
} scan_dash;

/*
 * Collects the dashboard's figures as of `now` (unix seconds; the caller's
 * clock, so tests choose it) from one read transaction on c (borrowed).
 * Alerts older than `since` are left out. CHAIN_OK with *out malloc'd (the
 * caller frees it), else the chain error of the read and *out untouched.
 * Thread-safe (a reader; never waits for the writer).
 */
int scan_dash_collect(scan_dash **out, chain *c, uint64_t now, uint64_t since) CHAIN_WUR;

/* One unit as the drill-downs show it: its state, scan aggregates and verdict. */
typedef struct scan_unit_view {
    chain_unit unit;
    chain_scan_stats stats; /* zero when never scanned */
    verdict v;              /* label signature not judged (no label here) */
} scan_unit_view;

/* A lot's drill-down: the lot and up to SCAN_DASH_LOT_UNITS of its units in
 * id order (lot.units says how many it has). */
typedef struct scan_lot_view {
    chain_lot lot;
    scan_unit_view units[SCAN_DASH_LOT_UNITS];
    size_t nunits;
} scan_lot_view;

/* Collects a lot's drill-down as of now from one read transaction on c.
 * CHAIN_OK with *out malloc'd (the caller frees it); CHAIN_ERR_NOT_FOUND for
 * an unknown lot; else the read's error. *out untouched on failure. */
int scan_dash_lot(scan_lot_view **out, chain *c, const char *gtin, const char *lot,
                  uint64_t now) CHAIN_WUR;

/* One unit's drill-down into *out (caller's). CHAIN_ERR_NOT_FOUND for an
 * unknown unit. */
int scan_dash_unit(scan_unit_view *out, chain *c, const char *gtin, const char *serial,
                   uint64_t now) CHAIN_WUR;

#endif
