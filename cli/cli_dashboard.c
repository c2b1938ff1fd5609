/*
 * cli_dashboard.c — `provena dashboard login`: a brand key signs in to a
 * node's dashboard.
 *
 * The node issues a challenge (POST /api/v1/dashboard/challenge); the key
 * signs tagged_hash("provena/dashboard-login/v1", chain id ‖ challenge) with
 * BIP-340; the node checks the signature and that the ledger names the key as
 * a current brand key, and answers a session (POST /api/v1/dashboard/session).
 * The session goes to stdout, or with --out to a new 0600 file, never into a
 * URL; the browser takes it through the form at /dashboard/login, which turns
 * it into an HttpOnly cookie. Exit: 0 signed in, 1 refused or no answer,
 * 2 usage.
 */
#include "cli/cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DASH_TAG_LOGIN "provena/dashboard-login/v1"

/* POSTs body (may be NULL) to path; the JSON object of a 2xx answer, or NULL
 * with errmsg ("code: message" of the node's error). */
static json_t *post_json(cli_http *h, const char *path, const char *body, long *status, char *e,
                         size_t elen)
{
    cli_resp r = {0};
    if (cli_http_post(h, &r, path, "application/json", body ? body : "", body ? strlen(body) : 0, e,
                      elen) != 0)
        return NULL;
    *status = r.status;
    json_t *j = NULL;
    if (r.status >= 200 && r.status < 300)
        j = json_loadb(r.body, r.len, 0, NULL);
    if (!json_is_object(j)) {
        json_decref(j);
        j = NULL;
        cli_http_error_text(e, elen, &r);
    }
    cli_resp_free(&r);
    return j;
}

static int login(int argc, char **argv)
{
    static const char cmd[] = "provena dashboard login";
    const char *node = cli_env_node(), *key_path = cli_env_key(), *out = NULL;
    const cli_opt opts[] = {
        {"node", "URL", "the node whose dashboard to open (default $PROVENA_NODE)", &node, NULL},
        {"key", "FILE", "a brand key file (default $PROVENA_KEY)", &key_path, NULL},
        {"out", "FILE", "write the session to FILE (new, mode 0600) instead of stdout", &out, NULL},
    };
    const cli_spec spec = {cmd,
                           "--node URL --key FILE [--out FILE]",
                           "Signs a node's login challenge with a brand key the ledger names as "
                           "current and prints the session: send it as \"Authorization: Bearer "
                           "SESSION\", or paste it into URL/dashboard/login for a browser "
                           "cookie. Revoking or rotating the key ends its sessions at once.",
                           opts,
                           sizeof opts / sizeof *opts,
                           0,
                           0};
    size_t np;
    int rc = cli_parse(&spec, argc, argv, NULL, &np, 0);
    if (rc != CLI_OK)
        return rc;
    if (!key_path || !key_path[0])
        return cli_usage_err(cmd, "--key: required (a brand key file)");
    if (strchr(node, ','))
        return cli_usage_err(cmd,
                             "--node: one node (a session is valid on the node that issued it)");
    char e[512] = "not a valid secret key";
    uint8_t sk[CHAIN_SECKEY_LEN], pub[CHAIN_KEY_LEN];
    /* a key file that cannot be used is a failure (exit 1), as for every command;
     * cli_key_read has already refused a key without a public key */
    if (cli_key_read(sk, key_path, e, sizeof e) != 0 || chain_key_pub(pub, sk) != CHAIN_OK) {
        explicit_bzero(sk, sizeof sk);
        return cli_fail(cmd, "--key: %s", e);
    }
    cli_http *h = cli_http_new(node);
    if (!h) {
        explicit_bzero(sk, sizeof sk);
        return cli_usage_err(cmd, "--node: not a URL");
    }
    long status = 0;
    json_t *ch = post_json(h, "/api/v1/dashboard/challenge", NULL, &status, e, sizeof e);
    json_t *ses = NULL;
    rc = CLI_FAIL;
    uint8_t c[32], chain[CHAIN_HASH_LEN], msg[64], digest[CHAIN_HASH_LEN], sig[CHAIN_SIG_LEN];
    const char *cs = ch ? json_string_value(json_object_get(ch, "challenge")) : NULL;
    const char *chs = ch ? json_string_value(json_object_get(ch, "chain")) : NULL;
    if (!ch) {
        cli_fail(cmd, "%s: challenge: %s", node, e);
        goto done;
    }
    if (!cs || !chs || strlen(cs) != 64 || strlen(chs) != 64 || chain_unhex(c, 32, cs, 64) != 32 ||
        chain_unhex(chain, 32, chs, 64) != 32) {
        cli_fail(cmd, "%s: challenge: not a challenge answer", node);
        goto done;
    }
    memcpy(msg, chain, 32);
    memcpy(msg + 32, c, 32);
    chain_tagged_hash(digest, DASH_TAG_LOGIN, msg, sizeof msg);
    if (chain_sign(sig, sk, digest) != CHAIN_OK) {
        cli_fail(cmd, "signing failed");
        goto done;
    }
    char body[512], key_hex[65], sig_hex[129];
    chain_hex(key_hex, pub, sizeof pub);
    chain_hex(sig_hex, sig, sizeof sig);
    snprintf(body, sizeof body, "{\"challenge\":\"%s\",\"key\":\"%s\",\"sig\":\"%s\"}", cs, key_hex,
             sig_hex);
    ses = post_json(h, "/api/v1/dashboard/session", body, &status, e, sizeof e);
    const char *token = ses ? json_string_value(json_object_get(ses, "session")) : NULL;
    if (!token) {
        cli_fail(cmd, "%s: refused: %s", node, ses ? "no session in the answer" : e);
        goto done;
    }
    const char *who = json_string_value(json_object_get(ses, "participant"));
    char when[32];
    cli_time_fmt(when, (uint64_t)json_integer_value(json_object_get(ses, "expires")) * 1000);
    if (out) {
        if (cli_secret_write(out, token, e, sizeof e) != 0) {
            cli_fail(cmd, "--out: %s", e);
            goto done;
        }
    } else {
        printf("%s\n", token);
    }
    fprintf(stderr,
            "signed in to %s as %s until %s UTC\n"
            "  browser: open %s/dashboard/login and paste the session\n"
            "  API:     Authorization: Bearer <session>%s%s\n",
            cli_http_base(h), who ? who : "?", when, cli_http_base(h), out ? " (in " : "",
            out ? out : "");
    if (out)
        fprintf(stderr, ")\n");
    rc = CLI_OK;
done:
    explicit_bzero(sk, sizeof sk);
    json_decref(ch);
    json_decref(ses);
    cli_http_free(h);
    return rc;
}

int cli_cmd_dashboard(int argc, char **argv)
{
    if (argc >= 1 && strcmp(argv[0], "login") == 0)
        return login(argc - 1, argv + 1);
    if (argc >= 1 && (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0)) {
        printf("usage: provena dashboard login --node URL --key FILE [--out FILE]\n");
        return CLI_HELP;
    }
    fprintf(stderr, "provena dashboard: unknown subcommand %s (try: login)\n",
            argc >= 1 ? argv[0] : "(none)");
    return CLI_USAGE;
}
