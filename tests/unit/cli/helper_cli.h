/* helper_cli.h — shared bits for the CLI unit tests. */
#ifndef CLI_TEST_HELPER_CLI_H
#define CLI_TEST_HELPER_CLI_H

#include <stddef.h>

/* Runs fn(argc, argv) with stdout and stderr caught into out (both, in order,
 * NUL-terminated, at most outlen - 1 bytes); returns fn's result. */
int helper_caught(char *out, size_t outlen, int (*fn)(int, char **), int argc, char **argv);

#endif
