/*
 * cli_label.c — provena label --sscc S: the Digital Link label of a parent
 * (pallet, case): a QR code of {resolver}/00/{sscc}, as SVG or PNG.
 *
 * The label is drawn here by label/ (no node needed when --resolver is
 * given); without --resolver it carries the network's resolver (the node's
 * /api/v1/status "resolver"), else the first --node URL — the rule mint's
 * labels follow. Exit: 0 written, 1 a failure (node, file),
 * 2 a usage error naming the argument.
 */
#include "cli/cli.h"
#include "label/label.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The network's resolver from the node, else the node's own base URL (the
 * first of a list); -1 with errmsg when the node cannot be asked. */
static int node_resolver(char out[CHAIN_RESOLVER_MAX + 1], const char *node, char *e, size_t el)
{
    cli_http *h = cli_http_new(node);
    if (!h) {
        snprintf(e, el, "--node: not a URL");
        return -1;
    }
    json_t *j = cli_http_get_json(h, "/api/v1/status", e, el);
    cli_http_free(h);
    const char *r = json_string_value(json_object_get(j, "resolver"));
    int rc = -1;
    if (r && chain_resolver_valid(r, strlen(r))) {
        snprintf(out, CHAIN_RESOLVER_MAX + 1, "%s", r);
        rc = 0;
    } else if (j) {
        size_t n = strcspn(node, ",");
        while (n > 0 && node[n - 1] == '/')
            n--;
        if (n > 0 && n <= CHAIN_RESOLVER_MAX && chain_resolver_valid(node, n)) {
            memcpy(out, node, n);
            out[n] = '\0';
            fprintf(stderr, "provena label: the network names no resolver; using %s\n", out);
            rc = 0;
        } else {
            snprintf(e, el, "the network names no resolver: give --resolver URL");
        }
    }
    json_decref(j);
    return rc;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

int cli_cmd_label(int argc, char **argv)
{
    const char *cmd = "provena label";
    const char *node = cli_env_node(), *sscc_s = NULL, *resolver = NULL, *out = NULL,
               *scale_s = NULL;
    const cli_opt opts[] = {
        {"sscc", "S", "the parent: 18 digits, (00)…, or its /00/ Digital Link", &sscc_s, NULL},
        {"resolver", "URL", "resolver base URL (default: the node's)", &resolver, NULL},
        {"node", "URL", "node base URL (default $PROVENA_NODE)", &node, NULL},
        {"out", "FILE", "write here (.png: PNG, else SVG); default SVG on stdout", &out, NULL},
        {"scale", "N", "PNG pixels per module (1..32, default 8)", &scale_s, NULL},
    };
    const cli_spec spec = {cmd,
                           "--sscc S [--resolver URL] [--out FILE.svg|FILE.png]",
                           "Draws the GS1 Digital Link label of a parent (SSCC, AI 00): "
                           "{resolver}/00/{sscc}, which any node answers with its contents "
                           "and custodian.",
                           opts,
                           sizeof opts / sizeof opts[0],
                           0,
                           0};
    const char *pos[1];
    size_t np;
    int rc = cli_parse(&spec, argc, argv, pos, &np, 0);
    if (rc != CLI_OK)
        return rc;
    char sscc[GS1_SSCC_LEN + 1], e[256];
    if (!sscc_s)
        return cli_usage_err(cmd, "--sscc: required");
    if (cli_sscc_parse(sscc, sscc_s, e, sizeof e) != 0)
        return cli_usage_err(cmd, "--sscc '%s': %s", sscc_s, e);
    uint64_t scale = LABEL_PNG_SCALE;
    if (scale_s && !cli_parse_u64(&scale, scale_s, 1, LABEL_SCALE_MAX))
        return cli_usage_err(cmd, "--scale: a number 1..%d", LABEL_SCALE_MAX);
    char res[CHAIN_RESOLVER_MAX + 1];
    if (resolver) {
        if (!chain_resolver_valid(resolver, strlen(resolver)))
            return cli_usage_err(cmd,
                                 "--resolver '%s': not an http(s):// base URL of at most %d "
                                 "bytes without a trailing '/', query or fragment",
                                 resolver, CHAIN_RESOLVER_MAX);
        snprintf(res, sizeof res, "%s", resolver);
    } else if (node_resolver(res, node, e, sizeof e) != 0) {
        return cli_fail(cmd, "%s", e);
    }
    char url[CHAIN_RESOLVER_MAX + 8 + GS1_SSCC_LEN];
    snprintf(url, sizeof url, "%s/00/%s", res, sscc);
    bool png = out && ends_with(out, ".png");
    char *data = NULL;
    size_t len = 0;
    int le = png ? label_png((uint8_t **)&data, &len, url, (unsigned)scale)
                 : label_svg(&data, &len, url, 0);
    if (le != LABEL_OK)
        return cli_fail(cmd, "label: %s", label_strerror(le));
    if (out) {
        rc = cli_file_write_atomic(out, data, len, e, sizeof e) == 0 ? CLI_OK
                                                                     : cli_fail(cmd, "--out %s", e);
    } else {
        rc = fwrite(data, 1, len, stdout) == len && fflush(stdout) == 0
                 ? CLI_OK
                 : cli_fail(cmd, "stdout: cannot write");
    }
    if (rc == CLI_OK && out)
        fprintf(stderr, "%s: %s → %s\n", cmd, url, out);
    free(data);
    return rc;
}
