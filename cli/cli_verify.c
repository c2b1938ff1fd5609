/*
 * cli_verify.c — `provena verify URL --genesis FILE [--offline]`: is this label
 * signed by the brand?
 *
 * The check needs no network: the chain id comes from the genesis file, the
 * message is chain_label_hash(chain id, gtin, serial, lot, expiry) as read from
 * the URL, and the signature (the `sig` query parameter, base64url) must verify
 * under the key of a brand whose GS1 prefix the GTIN carries. Online, the node
 * is asked too and its verdict shown; a unit the ledger does not know fails.
 */
#include "cli/cli.h"
#include "genesis/genesis.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* 0 and *brand_out set when link's signature verifies under a brand of g;
 * -1 with the reason in why. Pure. */
int cli_label_check(const chain_genesis *g, const gs1_link *l, const chain_brand **brand_out,
                    char *why, size_t why_len);

static bool prefix_match(const chain_brand *b, const char *gtin)
{
    if (b->nprefixes == 0)
        return true;
    for (size_t i = 0; i < b->nprefixes; i++) {
        size_t n = strlen(b->prefixes[i]);
        /* GTIN-14: an indicator digit, then the company prefix. */
        if (strncmp(gtin + 1, b->prefixes[i], n) == 0)
            return true;
    }
    return false;
}

int cli_label_check(const chain_genesis *g, const gs1_link *l, const chain_brand **brand_out,
                    char *why, size_t why_len)
{
    uint8_t sig[CHAIN_SIG_LEN], msg[CHAIN_HASH_LEN];
    if (!l->sig[0]) {
        snprintf(why, why_len, "the label carries no signature (no sig= parameter)");
        return -1;
    }
    if (chain_unb64url(sig, sizeof sig, l->sig, strlen(l->sig)) != CHAIN_SIG_LEN) {
        snprintf(why, why_len, "sig= is not a base64url 64-byte signature");
        return -1;
    }
    chain_label_hash(msg, g->chain_id, l->id.gtin, l->id.serial, l->lot, l->expiry);
    bool any = false;
    for (size_t i = 0; i < g->nbrands; i++) {
        if (!prefix_match(&g->brands[i], l->id.gtin))
            continue;
        any = true;
        if (chain_verify(sig, g->brands[i].pub, msg)) {
            if (brand_out)
                *brand_out = &g->brands[i];
            return 0;
        }
    }
    if (!any)
        snprintf(why, why_len, "GTIN %s belongs to no brand of chain %s", l->id.gtin,
                 g->chain_name);
    else
        snprintf(why, why_len,
                 "bad label signature: not signed by the brand for this gtin/serial/lot/expiry");
    return -1;
}

int cli_cmd_verify(int argc, char **argv)
{
    const char *genesis = NULL, *node = cli_env_node();
    bool offline = false, json = false;
    const cli_opt opts[] = {
        {"genesis", "FILE", "the network's genesis (brand keys and chain id)", &genesis, NULL},
        {"offline", NULL, "check the signature only; no network", NULL, &offline},
        {"node", "URL", "node to resolve the unit on (default $PROVENA_NODE)", &node, NULL},
        {"json", NULL, "print {\"signature\",\"reason\",\"verdict\"}", NULL, &json},
    };
    const cli_spec spec = {"provena verify",
                           "URL --genesis FILE [--offline]",
                           "Checks a label's brand signature against the genesis, offline; "
                           "online also shows the node's verdict. Exit 0 only when genuine.",
                           opts,
                           sizeof opts / sizeof *opts,
                           1,
                           1};
    const char *pos[1];
    size_t np;
    int rc = cli_parse(&spec, argc, argv, pos, &np, 1);
    if (rc != CLI_OK)
        return rc;
    if (!genesis)
        return cli_usage_err(spec.cmd, "--genesis: required");
    gs1_link l;
    char e[512];
    if (cli_unit_parse(&l, pos[0], e, sizeof e) != 0)
        return cli_usage_err(spec.cmd, "URL '%s': %s", pos[0], e);
    chain_genesis *g = NULL;
    if (genesis_load(&g, genesis, e, sizeof e) != CHAIN_OK)
        return cli_fail(spec.cmd, "--genesis %s: %s", genesis, e);
    const chain_brand *b = NULL;
    char why[256] = "";
    bool good = cli_label_check(g, &l, &b, why, sizeof why) == 0;
    char brand[CHAIN_NAME_MAX + CHAIN_ID_MAX + 8] = "";
    if (good)
        snprintf(brand, sizeof brand, "%s (%s)", b->name, b->id);
    chain_genesis_free(g);
    json_t *verdict = NULL;
    rc = good ? CLI_OK : CLI_FAIL;
    if (!offline) {
        cli_http *h = cli_http_new(node);
        char path[160];
        snprintf(path, sizeof path, "/api/v1/units/%s/%s", l.id.gtin, l.id.serial);
        json_t *j = h ? cli_http_get_json(h, path, e, sizeof e) : NULL;
        cli_http_free(h);
        if (!j) {
            fprintf(stderr, "provena verify: node %s: %s\n", node, e);
            rc = CLI_FAIL;
        } else {
            verdict = json_incref(json_object_get(j, "verdict"));
            const char *st = json_string_value(json_object_get(verdict, "status"));
            if (!st || strcmp(st, "not_genuine") == 0)
                rc = CLI_FAIL;
            json_decref(j);
        }
    }
    if (json) {
        char uname[GS1_GTIN_LEN + GS1_SERIAL_MAX + 2];
        snprintf(uname, sizeof uname, "%s/%s", l.id.gtin, l.id.serial);
        json_t *o = json_pack("{s:s,s:s,s:s}", "unit", uname, "gtin", l.id.gtin, "signature",
                              good ? "genuine" : "bad");
        if (!good)
            json_object_set_new(o, "reason", json_string(why));
        if (good)
            json_object_set_new(o, "brand", json_string(brand));
        if (verdict)
            json_object_set(o, "verdict", verdict);
        char *s = json_dumps(o, JSON_COMPACT);
        if (s)
            printf("%s\n", s);
        free(s);
        json_decref(o);
    } else {
        if (good)
            printf("%s/%s: label signature GENUINE, signed by %s\n", l.id.gtin, l.id.serial, brand);
        else
            printf("%s/%s: label signature NOT GENUINE: %s\n", l.id.gtin, l.id.serial, why);
        if (verdict) {
            printf("node verdict: %s", json_string_value(json_object_get(verdict, "status")));
            json_t *rs = json_object_get(verdict, "reasons"), *r;
            size_t i;
            json_array_foreach(rs, i, r) printf("%s%s", i ? ", " : " (", json_string_value(r));
            printf("%s\n", json_array_size(rs) ? ")" : "");
        }
    }
    json_decref(verdict);
    return rc;
}
