/* helper_util.h — shared bits for the consensus unit tests. */
#ifndef CONS_TEST_HELPER_UTIL_H
#define CONS_TEST_HELPER_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* mkdtemp under $TMPDIR (or /tmp); returns a malloc'd path. */
char *helper_tmpdir(const char *tag);
/* rm -rf path, then free it. */
void helper_rmtree(char *path);
/* A TCP port on 127.0.0.1 that was free a moment ago (bind port 0, read, close). */
int helper_free_port(void);
/* FNV-1a 64 over (prev, data): the toy FSMs' running hash. */
uint64_t helper_chain_hash(uint64_t prev, const void *data, size_t len);

#endif
