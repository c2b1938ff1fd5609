/*
 * genesis.h — the genesis document: the JSON an operator writes to create a
 * network, read into chain.h's chain_genesis with every field checked and
 * its chain id computed (chain_genesis_id).
 *
 * A library over chain/'s public API (chain/chain.h) and jansson, used by
 * provena-node, the provena CLI, tests and benches. genesis/README.md
 * documents the format; genesis/example.json is a complete network.
 */
#ifndef PROVENA_GENESIS_GENESIS_H
#define PROVENA_GENESIS_GENESIS_H

#include <stddef.h>

#include "chain/chain.h"

/*
 * Parses and validates a genesis JSON document of len bytes (at most
 * CHAIN_GENESIS_MAX_BYTES) and computes its chain id. CHAIN_OK with *out
 * malloc'd (release with chain_genesis_free); else CHAIN_ERR_BAD_GENESIS with
 * errmsg naming the field ("participants[2].pub: not 64 hex characters"), or
 * CHAIN_ERR_NOMEM, and *out untouched. json is borrowed. Thread-safe.
 */
int genesis_parse(chain_genesis **out, const char *json, size_t len, char *errmsg,
                  size_t errmsg_len) CHAIN_WUR;

/* genesis_parse of the file at path; an unreadable or oversized file is
 * CHAIN_ERR_BAD_GENESIS with errmsg "open PATH: ..." / "PATH: larger than ...". */
int genesis_load(chain_genesis **out, const char *path, char *errmsg, size_t errmsg_len) CHAIN_WUR;

/* The normalized JSON form of g (a new jansson reference, NULL when out of
 * memory); genesis_parse of its text yields the same chain id. */
struct json_t *genesis_to_json(const chain_genesis *g);

#endif
