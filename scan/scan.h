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

#define SCAN_DASH_DAYS   30  /* days of scans and probes, index 0 today */
#define SCAN_DASH_KEYS   32  /* regions, lots counted (more are not listed) */
#define SCAN_DASH_TOP    10  /* most suspicious units kept */
#define SCAN_DASH_ALERTS 100 /* newest alerts kept */

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
    uint64_t days[SCAN_DASH_DAYS]; /* scans per day, index 0: today */
    uint64_t probe_days[SCAN_DASH_DAYS];
    scan_kv regions[SCAN_DASH_KEYS], lots[SCAN_DASH_KEYS]; /* most first */
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

#endif
