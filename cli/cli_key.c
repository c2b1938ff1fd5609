/*
 * cli_key.c — `provena key new FILE` and `provena key pub FILE`.
 *
 * A key file holds the secret key as 64 lowercase hex characters and a newline,
 * mode 0600, created exclusively so an existing key is never overwritten. Both
 * commands print the x-only public key (hex) that genesis and txs name.
 */
#include "cli/cli.h"

#include <stdio.h>
#include <string.h>

static int key_new(int argc, char **argv)
{
    bool json = false;
    const cli_opt opts[] = {{"json", NULL, "print {\"file\",\"pub\"}", NULL, &json}};
    const cli_spec spec = {"provena key new",
                           "FILE",
                           "Creates a secret key file (mode 0600; refuses to overwrite) and "
                           "prints its public key.",
                           opts,
                           1,
                           1,
                           1};
    const char *pos[1];
    size_t np;
    int rc = cli_parse(&spec, argc, argv, pos, &np, 1);
    if (rc != CLI_OK)
        return rc;
    uint8_t sk[CHAIN_SECKEY_LEN], pub[CHAIN_KEY_LEN];
    char e[256], hex[2 * CHAIN_KEY_LEN + 1];
    if (chain_key_generate(sk, pub) != CHAIN_OK)
        return cli_fail(spec.cmd, "cannot generate a key");
    rc = cli_key_write(pos[0], sk, e, sizeof e);
    explicit_bzero(sk, sizeof sk);
    if (rc != 0)
        return cli_fail(spec.cmd, "%s", e);
    chain_hex(hex, pub, CHAIN_KEY_LEN);
    if (json)
        printf("{\"file\":\"%s\",\"pub\":\"%s\"}\n", pos[0], hex);
    else
        printf("%s\n", hex);
    return CLI_OK;
}

static int key_pub(int argc, char **argv)
{
    const cli_spec spec = {"provena key pub",
                           "FILE",
                           "Prints the public key (64 hex characters) of a key file.",
                           NULL,
                           0,
                           1,
                           1};
    const char *pos[1];
    size_t np;
    int rc = cli_parse(&spec, argc, argv, pos, &np, 1);
    if (rc != CLI_OK)
        return rc;
    uint8_t sk[CHAIN_SECKEY_LEN], pub[CHAIN_KEY_LEN];
    char e[256], hex[2 * CHAIN_KEY_LEN + 1];
    if (cli_key_read(sk, pos[0], e, sizeof e) != 0)
        return cli_fail(spec.cmd, "%s", e);
    rc = chain_key_pub(pub, sk);
    explicit_bzero(sk, sizeof sk);
    if (rc != CHAIN_OK)
        return cli_fail(spec.cmd, "%s: invalid key", pos[0]);
    chain_hex(hex, pub, CHAIN_KEY_LEN);
    printf("%s\n", hex);
    return CLI_OK;
}

int cli_cmd_key(int argc, char **argv)
{
    if (argc < 1 || strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0) {
        printf("usage: provena key new FILE | provena key pub FILE\n");
        return argc < 1 ? CLI_USAGE : CLI_OK;
    }
    if (strcmp(argv[0], "new") == 0)
        return key_new(argc - 1, argv + 1);
    if (strcmp(argv[0], "pub") == 0)
        return key_pub(argc - 1, argv + 1);
    return cli_usage_err("provena key", "unknown subcommand '%s' (new, pub)", argv[0]);
}
