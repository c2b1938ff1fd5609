/*
 * version.c — what a build says about itself: its version (CMake's project
 * version plus `git describe` when built from a checkout) and the two format
 * numbers that decide who may run together in one network and which data
 * directory it can open. docs/OPERATIONS.md ("Upgrading") states the rule.
 */
#include "node/version.h"

const char *node_version(void)
{
#ifdef PROVENA_VERSION
    return PROVENA_VERSION;
#else
    return "unknown";
#endif
}

void node_version_print(FILE *f)
{
    fprintf(f, "provena-node %s (ledger format %d, wire format %d)\n", node_version(),
            NODE_LEDGER_FORMAT, NODE_WIRE_FORMAT);
}
