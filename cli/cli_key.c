/*
 * cli_key.c — `provena key new [--tls] FILE`, `provena key pub FILE` and
 * `provena key cert FILE`.
 *
 * A key file holds the secret key as 64 lowercase hex characters and a newline,
 * mode 0600, created exclusively so an existing key is never overwritten. Both
 * commands print the x-only public key (hex) that genesis and txs name.
 * A TLS key file (--tls) holds a node's P-256 private key and its self-signed
 * certificate, PEM, also 0600 and never overwritten: provena-node reads it
 * with --raft-tls, and the certificate in it is what genesis add-node --tls,
 * node add --tls and node rotate --tls pin in the ledger (`key cert` prints
 * it alone, to hand to the brand).
 */
#include "cli/cli.h"

#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cli_tls_cert_read(uint8_t der[CHAIN_TLS_CERT_MAX], size_t *der_len, const char *path,
                      char *errmsg, size_t errmsg_len)
{
    char *text;
    size_t len;
    if (cli_file_read(&text, &len, path, 64 * 1024, errmsg, errmsg_len) != 0)
        return -1;
    int rc = chain_tls_cert_from_pem(der, der_len, text, len);
    explicit_bzero(text, len); /* it may be a key file */
    free(text);
    if (rc != CHAIN_OK) {
        snprintf(errmsg, errmsg_len, "%s: no PEM certificate of at most %d bytes", path,
                 CHAIN_TLS_CERT_MAX);
        return -1;
    }
    char why[160];
    if (chain_tls_cert_check(NULL, der, *der_len, why, sizeof why) != CHAIN_OK) {
        snprintf(errmsg, errmsg_len, "%s: certificate cannot be pinned: %s", path, why);
        return -1;
    }
    return 0;
}

/* SHA-256 of the certificate's key, hex: how operators compare keys. */
static void tls_fp_hex(char out[2 * CHAIN_HASH_LEN + 1], const uint8_t *der, size_t len)
{
    uint8_t fp[CHAIN_HASH_LEN] = {0};
    if (chain_tls_cert_check(fp, der, len, NULL, 0) != CHAIN_OK)
        memset(fp, 0, sizeof fp);
    chain_hex(out, fp, sizeof fp);
}

static int key_new_tls(const char *cmd, const char *path, bool json)
{
    char *pem = NULL, e[256], fp[2 * CHAIN_HASH_LEN + 1];
    uint8_t der[CHAIN_TLS_CERT_MAX];
    size_t dl;
    if (chain_tls_key_new(&pem, der, &dl, "provena node") != CHAIN_OK)
        return cli_fail(cmd, "cannot generate a TLS key");
    size_t pl = strlen(pem);
    if (pl && pem[pl - 1] == '\n')
        pem[pl - 1] = 0; /* cli_secret_write adds the last newline */
    int rc = cli_secret_write(path, pem, e, sizeof e);
    explicit_bzero(pem, pl);
    free(pem);
    if (rc != 0)
        return cli_fail(cmd, "%s", e);
    tls_fp_hex(fp, der, dl);
    if (json)
        printf("{\"file\":\"%s\",\"tls_key\":\"%s\"}\n", path, fp);
    else
        printf("%s\n", fp);
    return CLI_OK;
}

static int key_new(int argc, char **argv)
{
    bool json = false, tls = false;
    const cli_opt opts[] = {
        {"json", NULL, "print {\"file\",\"pub\"} ({\"file\",\"tls_key\"} with --tls)", NULL, &json},
        {"tls", NULL,
         "a node's TLS key instead: P-256 key and self-signed certificate (CA:FALSE, no "
         "expiry), PEM; prints the key's SHA-256 fingerprint",
         NULL, &tls},
    };
    const cli_spec spec = {"provena key new",
                           "FILE",
                           "Creates a secret key file (mode 0600; refuses to overwrite) and "
                           "prints its public key.",
                           opts,
                           2,
                           1,
                           1};
    const char *pos[1];
    size_t np;
    int rc = cli_parse(&spec, argc, argv, pos, &np, 1);
    if (rc != CLI_OK)
        return rc;
    if (tls)
        return key_new_tls(spec.cmd, pos[0], json);
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

static int key_cert(int argc, char **argv)
{
    bool json = false;
    const cli_opt opts[] = {{"json", NULL, "print {\"cert\",\"tls_key\"} (DER hex)", NULL, &json}};
    const cli_spec spec = {"provena key cert",
                           "FILE",
                           "Prints the TLS certificate of a TLS key file (PEM), the part a brand "
                           "pins; never the private key.",
                           opts,
                           1,
                           1,
                           1};
    const char *pos[1];
    size_t np;
    int rc = cli_parse(&spec, argc, argv, pos, &np, 1);
    if (rc != CLI_OK)
        return rc;
    uint8_t der[CHAIN_TLS_CERT_MAX];
    size_t dl;
    char e[320], fp[2 * CHAIN_HASH_LEN + 1];
    if (cli_tls_cert_read(der, &dl, pos[0], e, sizeof e) != 0)
        return cli_fail(spec.cmd, "%s", e);
    tls_fp_hex(fp, der, dl);
    if (json) {
        char hex[2 * CHAIN_TLS_CERT_MAX + 1];
        chain_hex(hex, der, dl);
        printf("{\"cert\":\"%s\",\"tls_key\":\"%s\"}\n", hex, fp);
        return CLI_OK;
    }
    const unsigned char *p = der;
    X509 *x = d2i_X509(NULL, &p, (long)dl);
    rc = x && PEM_write_X509(stdout, x) == 1 ? CLI_OK : cli_fail(spec.cmd, "cannot print");
    X509_free(x);
    return rc;
}

int cli_cmd_key(int argc, char **argv)
{
    if (argc < 1 || strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0) {
        printf("usage: provena key new [--tls] FILE | provena key pub FILE | provena key cert "
               "FILE\n");
        return argc < 1 ? CLI_USAGE : CLI_OK;
    }
    if (strcmp(argv[0], "cert") == 0)
        return key_cert(argc - 1, argv + 1);
    if (strcmp(argv[0], "new") == 0)
        return key_new(argc - 1, argv + 1);
    if (strcmp(argv[0], "pub") == 0)
        return key_pub(argc - 1, argv + 1);
    return cli_usage_err("provena key", "unknown subcommand '%s' (new, pub, cert)", argv[0]);
}
