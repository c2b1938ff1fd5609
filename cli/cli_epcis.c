/*
 * cli_epcis.c — `provena epcis export`: a lot's EPCIS 2.0 events, optionally
 * within a time range, streamed from the node into one EPCISDocument file.
 *
 * The node streams the lot's document (GET /api/v1/lots/{gtin}/{lot}/epcis,
 * node/gw_epcis_export.c), building it a page at a time while it is read; the
 * command writes the bytes as they arrive, so neither side's memory grows
 * with the lot and nothing is parsed twice. The document is written to
 * FILE.tmp and renamed when complete — the node ends a whole document with
 * "]}}" and its last newline, and cuts the connection on a failure — so a
 * reader never sees half of one, and a failed export leaves no file behind.
 * The document has one event per line; the count printed is its lines
 * between the first and the last.
 *
 * Exit: 0 written; 1 the node refused or failed; 2 a usage error (also a time
 * the node's RFC 3339 parser refuses — the node is the one parser of times).
 */
#include "cli/cli.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct sink {
    FILE *f;
    uint64_t bytes, lines;
    char tail[5]; /* the last bytes written: a whole document ends "]}}\n" */
} sink;

static bool sink_write(void *ctx, const char *data, size_t n)
{
    sink *s = ctx;
    if (n && fwrite(data, 1, n, s->f) != n)
        return false;
    s->bytes += n;
    for (const char *p = data, *end = data + n; (p = memchr(p, '\n', (size_t)(end - p))); p++)
        s->lines++;
    size_t keep = n < 4 ? n : 4, old = 4 - keep;
    memmove(s->tail, s->tail + keep, old);
    memcpy(s->tail + old, data + n - keep, keep);
    s->tail[4] = '\0';
    return true;
}

static void append_param(char **q, size_t *len, const char *key, const char *val)
{
    char *e = curl_easy_escape(NULL, val, 0);
    if (!e)
        return;
    size_t need = *len + strlen(key) + strlen(e) + 3;
    char *p = realloc(*q, need);
    if (p) {
        *len += (size_t)snprintf(p + *len, need - *len, "%s%s=%s", *len ? "&" : "", key, e);
        *q = p;
    }
    curl_free(e);
}

int cli_cmd_epcis(int argc, char **argv)
{
    const char *node = cli_env_node(), *gtin = NULL, *lot = NULL, *from = NULL, *to = NULL,
               *out = NULL;
    const cli_opt opts[] = {
        {"node", "URL", "node base URL (default $PROVENA_NODE)", &node, NULL},
        {"gtin", "GTIN", "the lot's GTIN", &gtin, NULL},
        {"lot", "LOT", "the lot (AI 10)", &lot, NULL},
        {"from", "TIME", "only events at or after this RFC 3339 time", &from, NULL},
        {"to", "TIME", "only events before this RFC 3339 time", &to, NULL},
        {"out", "FILE", "where the EPCISDocument goes", &out, NULL},
    };
    const cli_spec spec = {"provena epcis",
                           "export --gtin G --lot L [--from T] [--to T] --out FILE",
                           "Exports every ledger event of a lot's units as one EPCIS 2.0 "
                           "JSON-LD document (EPCISDocument), streamed from the node.",
                           opts,
                           sizeof opts / sizeof opts[0],
                           1,
                           1};
    const char *pos[1];
    size_t np;
    int rc = cli_parse(&spec, argc, argv, pos, &np, 1);
    if (rc != CLI_OK)
        return rc;
    if (strcmp(pos[0], "export") != 0)
        return cli_usage_err(spec.cmd, "unknown subcommand '%s' (export)", pos[0]);
    char g14[GS1_GTIN_LEN + 1];
    if (!gtin || gs1_gtin_normalize(g14, gtin, strlen(gtin)) != 0)
        return cli_usage_err(spec.cmd, "--gtin: expected a GTIN with a valid check digit");
    if (!lot || !gs1_serial_valid(lot, strlen(lot)))
        return cli_usage_err(spec.cmd, "--lot: expected a GS1 lot (AI 10), 1..20 characters");
    if (!out)
        return cli_usage_err(spec.cmd, "--out: required");

    /* the lot's document: /api/v1/lots/{gtin}/{lot}/epcis, the lot a path segment */
    char *lot_e = curl_easy_escape(NULL, lot, 0);
    char *query = NULL;
    size_t qlen = 0;
    if (from)
        append_param(&query, &qlen, "GE_eventTime", from);
    if (to)
        append_param(&query, &qlen, "LT_eventTime", to);
    if (!lot_e || ((from || to) && !query)) {
        curl_free(lot_e);
        free(query);
        return cli_fail(spec.cmd, "out of memory");
    }
    char path[512];
    snprintf(path, sizeof path, "/api/v1/lots/%s/%s/epcis%s%s", g14, lot_e, query ? "?" : "",
             query ? query : "");
    curl_free(lot_e);
    free(query);

    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", out) >= (int)sizeof tmp)
        return cli_usage_err(spec.cmd, "--out: path too long");
    cli_http *h = cli_http_new(node);
    sink sk = {.f = fopen(tmp, "w")};
    rc = CLI_FAIL;
    if (!h || !sk.f) {
        cli_fail(spec.cmd, "%s: %s", sk.f ? "out of memory" : tmp, sk.f ? "" : "cannot create");
        goto done;
    }
    cli_resp resp = {0};
    char e[512];
    /* a node that cannot be reached gives its turn to the next one of the list;
     * one that began to answer is not retried (the file holds its bytes) */
    int hr = -1;
    for (size_t i = 0; hr != 0 && i < cli_http_nodes(h); i++) {
        if (i)
            cli_http_next(h);
        hr = cli_http_get_stream(h, &resp, path, sink_write, &sk, e, sizeof e);
        if (hr != 0 && sk.bytes)
            break;
    }
    if (hr != 0) {
        cli_fail(spec.cmd, "%s", e);
        goto done;
    }
    if (resp.status != 200) {
        cli_http_error_text(e, sizeof e, &resp);
        bool usage = resp.status == 400 && strstr(e, "bad_time") != NULL;
        cli_resp_free(&resp);
        if (usage)
            rc = cli_usage_err(spec.cmd, "--from/--to: %s", e);
        else
            cli_fail(spec.cmd, "%s", e);
        goto done;
    }
    cli_resp_free(&resp);
    if (sk.lines < 2 || strcmp(sk.tail, "]}}\n") != 0) {
        cli_fail(spec.cmd, "the node's answer is not a whole EPCIS document");
        goto done;
    }
    if (fflush(sk.f) != 0 || fsync(fileno(sk.f)) != 0) {
        cli_fail(spec.cmd, "%s: write failed", tmp);
        goto done;
    }
    FILE *f = sk.f;
    sk.f = NULL;
    if (fclose(f) != 0) {
        cli_fail(spec.cmd, "%s: write failed", tmp);
        goto done;
    }
    if (rename(tmp, out) != 0) {
        cli_fail(spec.cmd, "%s: cannot rename into place", out);
        goto done;
    }
    fprintf(stderr, "%llu events, %llu bytes → %s\n", (unsigned long long)(sk.lines - 2),
            (unsigned long long)sk.bytes, out);
    rc = CLI_OK;
done:
    if (sk.f)
        fclose(sk.f);
    if (rc != CLI_OK)
        unlink(tmp);
    cli_http_free(h);
    return rc;
}
