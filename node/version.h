/*
 * version.h — what a build says about itself (version.c). A leaf header, so
 * metrics and the gateway may include it without reaching node.h.
 */
#ifndef PROVENA_NODE_VERSION_H
#define PROVENA_NODE_VERSION_H

#include <stdio.h>

/* The on-disk layout of DIR/chain this build opens (2: a unit's events live
 * beside its record). A build refuses a ledger of another format at start. */
#define NODE_LEDGER_FORMAT 2
/* The bytes nodes exchange and sign: transactions ("provena/tx/v1"), blocks and
 * Raft frames. Nodes of one network must share it; a build that changes it
 * changes this number. */
#define NODE_WIRE_FORMAT 2
/* "0.9.0+g1a2b3c4" (static string; never NULL). Thread-safe. */
const char *node_version(void);
/* "provena-node VERSION (ledger format N, wire format M)" and a newline to f. */
void node_version_print(FILE *f);

#endif
