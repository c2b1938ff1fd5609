/*
 * cli_txstatus.c — `provena tx status ID`: what became of a transaction.
 *
 * The answer a submitter gets after "outcome unknown": every node of the
 * --node list is asked GET /api/v1/tx/ID (the ledger is the same on each, a
 * lagging one may not have it yet), and with --wait S the question is asked
 * again until a receipt appears. Exit codes follow the submission's: 0 the tx
 * is in the ledger and accepted, 1 it is in the ledger and was refused, 3 no
 * node has it (yet) or none answered — still unknown.
 */
#include "cli/cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TXS_POLL_MS 250

/* One pass over the nodes: CLI_SUBMIT_ACCEPTED / REFUSED with *receipt, or
 * CLI_SUBMIT_UNKNOWN with what the last node said in e. */
static int ask_all(cli_http *h, const char *path, json_t **receipt, char *e, size_t elen)
{
    for (size_t i = 0; i < cli_http_nodes(h); i++, cli_http_next(h)) {
        cli_resp r = {0};
        if (cli_http_get(h, &r, path, 0, e, elen) != 0)
            continue;
        int c = r.status == 200 ? cli_submit_classify(r.status, r.body, r.len, receipt)
                                : CLI_SUBMIT_RETRY;
        if (c == CLI_SUBMIT_ACCEPTED || (c == CLI_SUBMIT_REFUSED && *receipt)) {
            cli_resp_free(&r);
            return c;
        }
        if (r.status == 404)
            snprintf(e, elen, "%s: not in the ledger", cli_http_base(h));
        else
            cli_http_error_text(e, elen, &r);
        json_decref(*receipt);
        *receipt = NULL;
        cli_resp_free(&r);
    }
    return CLI_SUBMIT_UNKNOWN;
}

static int tx_status(int argc, char **argv)
{
    static const char cmd[] = "provena tx status";
    const char *node = cli_env_node(), *wait_s = NULL;
    bool json = false;
    const cli_opt opts[] = {
        {"node", "URL[,URL]", "nodes to ask (default $PROVENA_NODE)", &node, NULL},
        {"wait", "S", "ask again until a receipt appears, at most S seconds", &wait_s, NULL},
        {"json", NULL, "print the receipt as JSON", NULL, &json},
    };
    const cli_spec spec = {cmd,
                           "ID [--node URL[,URL]] [--wait S] [--json]",
                           "Tells a transaction's outcome. Exit 0: accepted; 1: refused; 3: not "
                           "in the ledger (yet) or no node answered.",
                           opts,
                           sizeof opts / sizeof *opts,
                           1,
                           1};
    const char *pos[1];
    size_t np;
    int rc = cli_parse(&spec, argc, argv, pos, &np, 1);
    if (rc != CLI_OK)
        return rc;
    uint8_t id[CHAIN_HASH_LEN];
    if (!cli_parse_key_hex(id, pos[0]))
        return cli_usage_err(cmd, "ID: not a tx id (64 hex characters)");
    uint64_t wait_ms = 0;
    if (wait_s && !cli_parse_timeout(&wait_ms, wait_s))
        return cli_usage_err(cmd, "--wait: seconds, 1..%d", CLI_SUBMIT_MAX_S);
    cli_http *h = cli_http_new(node);
    if (!h)
        return cli_usage_err(cmd, "--node: not a URL or a list URL,URL of at most %d",
                             CLI_NODES_MAX);
    char path[128], hex[2 * CHAIN_HASH_LEN + 1], e[512] = "no node answered";
    chain_hex(hex, id, CHAIN_HASH_LEN);
    snprintf(path, sizeof path, "/api/v1/tx/%s", hex);
    uint64_t deadline = cli_now_ms() + wait_ms;
    json_t *receipt = NULL;
    int c;
    while ((c = ask_all(h, path, &receipt, e, sizeof e)) == CLI_SUBMIT_UNKNOWN &&
           cli_now_ms() < deadline)
        usleep(TXS_POLL_MS * 1000);
    cli_http_free(h);
    if (c == CLI_SUBMIT_UNKNOWN) {
        if (json)
            printf("{\"tx\":\"%s\",\"status\":\"unknown\"}\n", hex);
        else
            printf("tx %s: unknown (%s)\n", hex, e);
        return CLI_UNKNOWN;
    }
    const char *code = json_string_value(json_object_get(receipt, "code"));
    const char *detail = json_string_value(json_object_get(receipt, "detail"));
    json_int_t height = json_integer_value(json_object_get(receipt, "height"));
    if (json) {
        char *s = json_dumps(receipt, JSON_COMPACT);
        if (s)
            printf("%s\n", s);
        free(s);
    } else if (c == CLI_SUBMIT_ACCEPTED) {
        printf("tx %s: accepted at height %lld\n", hex, (long long)height);
    } else {
        printf("tx %s: refused at height %lld: %s%s%s\n", hex, (long long)height, code ? code : "?",
               detail && detail[0] ? ": " : "", detail ? detail : "");
    }
    json_decref(receipt);
    return c == CLI_SUBMIT_ACCEPTED ? CLI_OK : CLI_FAIL;
}

int cli_cmd_tx(int argc, char **argv)
{
    if (argc >= 1 && strcmp(argv[0], "status") == 0)
        return tx_status(argc - 1, argv + 1);
    if (argc >= 1 && (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0)) {
        printf("usage: provena tx status ID [--node URL[,URL]] [--wait S] [--json]\n");
        return CLI_HELP;
    }
    return cli_usage_err("provena tx", "unknown subcommand (tx status ID)");
}
