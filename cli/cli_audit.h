/*
 * cli_audit.h — PRIVATE to cli/: the checks an audit makes of each block and
 * the scaffolding around them, shared by the online audit (cli_audit.c,
 * blocks downloaded from a node) and the offline one (cli_audit_file.c,
 * blocks read from a ledger backup).
 */
#ifndef PROVENA_CLI_AUDIT_H
#define PROVENA_CLI_AUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chain/chain.h"

enum cli_audit_verdict {
    CLI_AUDIT_OK = 0,   /* the block holds */
    CLI_AUDIT_MISMATCH, /* the block is not what the chain must hold: *what says why */
    CLI_AUDIT_APPLY,    /* the scratch ledger could not apply it (local): e says why */
};

/* Checks block ht (raw[0..len)) and re-applies it into scratch: header and
 * Merkle root (chain_block_peek), height ht, prev link, a re-apply that does
 * not skip it and refuses none of its txs for their bytes (malformed,
 * non-canonical, another chain, a bad signature: no gateway lets those in).
 * On CLI_AUDIT_OK prev becomes the block's id and *txs grows by its tx count;
 * otherwise both are unchanged and *what (static or e) says what is wrong. */
int cli_audit_block(chain *scratch, uint64_t ht, const uint8_t *raw, size_t len,
                    uint8_t prev[CHAIN_HASH_LEN], uint64_t *txs, const char **what, char *e,
                    size_t elen);

/* Options for the scratch ledger: no fsync, signatures checked on up to 16
 * cores. */
chain_options cli_audit_scratch_options(void);

/* The head of c; a chain_err. */
int cli_audit_head(chain *c, chain_head *h);

/* Removes the scratch directory dir and everything in it. */
void cli_audit_rmdir(const char *dir);

/* Prints the success line(s): JSON {"ok":true,...} or the text report;
 * against names what the result was compared with (a node or a file). */
void cli_audit_print_ok(bool json, uint64_t height, uint64_t txs, const chain_head *head,
                        const char *against);

#endif
