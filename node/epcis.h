/*
 * epcis.h — a unit's ledger events as GS1 EPCIS 2.0 JSON-LD events, and the
 * CBV 2.0 event hash that names each one (node/epcis.c).
 *
 * Pure: no I/O, no ledger reads. The caller (node/gw_epcis.c) reads the event,
 * its block id and the actor's region from one chain_rd and hands them over.
 * Every event carries its ledger proof (tx id, block height, block id, index
 * in the block) in the Provena extension namespace EPCIS_NS, whose terms are
 * documented in docs/API.md ("EPCIS 2.0").
 */
#ifndef PROVENA_NODE_EPCIS_H
#define PROVENA_NODE_EPCIS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "chain/chain.h"

#define EPCIS_NS          "urn:provena:epcis:" /* JSON-LD prefix "provena" */
#define EPCIS_CONTEXT_URL "https://ref.gs1.org/standards/epcis/epcis-context.jsonld"
#define EPCIS_EPC_BASE    "https://id.gs1.org" /* canonical GS1 Digital Link URIs */
#define EPCIS_EPC_MAX     (sizeof EPCIS_EPC_BASE + 8 + GS1_GTIN_LEN + 3 * GS1_SERIAL_MAX + 1)
#define EPCIS_ID_MAX      96         /* "ni:///sha-256;<64 hex>?ver=CBV2.0" + NUL */
#define EPCIS_PREHASH_MAX (8u << 10) /* one event's pre-hash string, far above ours */

/* What one event needs besides the chain_event. Strings are "" when absent. */
typedef struct epcis_src {
    const gs1_sgtin *id;
    const char *lot, *expiry; /* the unit's, for the commissioning event's ilmd */
    const uint8_t *block_id;  /* CHAIN_HASH_LEN bytes: the block holding the tx */
    const char *region;       /* readPoint: the event's region, else the actor's */
    const char *location;     /* bizLocation: participant id holding the unit after it */
} epcis_src;

/* The canonical GS1 Digital Link URI of a unit (https://id.gs1.org/01/…/21/…),
 * serial percent-encoded where GS1 says so. Returns its length, -1 if it does
 * not fit out_len. */
int epcis_epc(char *out, size_t out_len, const gs1_sgtin *id);

/* The canonical Digital Link URI of an SSCC (https://id.gs1.org/00/{sscc}).
 * Returns its length, -1 if it does not fit out_len. */
int epcis_sscc_uri(char *out, size_t out_len, const char *sscc);

/* "2026-12-02T19:00:00.123Z" of unix milliseconds; out: 32 bytes. */
void epcis_time(char out[32], uint64_t ms);

/* The CBV bizStep word (or Provena extension URI) of a ledger event; "" for
 * types that are never unit events. */
const char *epcis_bizstep(int type, unsigned reason);

/* Normalizes a bizStep query value ("shipping", or the CBV URI
 * https://ref.gs1.org/cbv/BizStep-shipping, or a Provena URI) to the form
 * events carry. false when it is none of them. out: 64 bytes. */
bool epcis_bizstep_norm(char out[64], const char *s, size_t n);

/* One event of a ledger event, with eventID set: an ObjectEvent, or for
 * pack/unpack an AggregationEvent (ADD/DELETE, parentID the SSCC's URI,
 * childEPCs the unit) (a new reference, NULL
 * on OOM). ev->type must be a unit event (never scans). */
json_t *epcis_event(const chain_event *ev, const epcis_src *src);

/* The CBV 2.0 event hash of an event this module built ("ni:///sha-256;…
 * ?ver=CBV2.0"), following GS1's canonical pre-hash rules for the fields such
 * events hold. 0, or -1 when the pre-hash passes EPCIS_PREHASH_MAX or a field
 * has a shape the rules here do not cover. Exposed for tests. */
int epcis_event_hash(char out[EPCIS_ID_MAX], const json_t *event);

/* The pre-hash string itself, malloc'd (caller frees); NULL on failure. */
char *epcis_prehash(const json_t *event);

/* The document's "@context": the EPCIS 2.0 context URL and the provena prefix. */
json_t *epcis_context(void);

/* An EPCISDocument around events (the reference is stolen); NULL on OOM. */
json_t *epcis_document(json_t *events, uint64_t now_ms);

/* An EPCISQueryDocument (SimpleEventQuery) around events (stolen). */
json_t *epcis_query_document(json_t *events, uint64_t now_ms);

#endif
