/*
 * cli_epcis.c — `provena epcis export`: a lot's EPCIS 2.0 events, optionally
 * within a time range, streamed from the node into one EPCISDocument file.
 *
 * The node answers /epcis/events a page at a time (at most 1000 events); the
 * command asks for the lot's Digital Link URI (…/01/{gtin}/10/{lot}) and follows
 * provena:nextPageToken until the last page, writing each page's events as it
 * arrives, so memory stays flat whatever the lot's size. The document is
 * written to FILE.tmp and renamed when complete: a reader never sees half of
 * one, and a failed export leaves no file behind.
 *
 * Exit: 0 written; 1 the node refused or failed; 2 a usage error (also a time
 * the node's RFC 3339 parser refuses — the node is the one parser of times).
 */
#include "cli/cli.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define EXPORT_PAGE 1000

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

static int write_head(FILE *f, json_t *context)
{
    char now[32];
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(now, sizeof now, "%Y-%m-%dT%H:%M:%S.000Z", &tm);
    char *ctx = json_dumps(context, JSON_COMPACT);
    if (!ctx)
        return -1;
    int n = fprintf(f,
                    "{\"@context\":%s,\"type\":\"EPCISDocument\",\"schemaVersion\":\"2.0\","
                    "\"creationDate\":\"%s\",\"epcisBody\":{\"eventList\":[\n",
                    ctx, now);
    free(ctx);
    return n < 0 ? -1 : 0;
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
                           "JSON-LD document (EPCISDocument), streamed page by page.",
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

    /* the lot's Digital Link URI, its lot percent-encoded as a path segment */
    char *lot_e = curl_easy_escape(NULL, lot, 0);
    char uri[256];
    snprintf(uri, sizeof uri, "https://id.gs1.org/01/%s/10/%s", g14, lot_e ? lot_e : "");
    curl_free(lot_e);
    char *base = NULL;
    size_t blen = 0;
    append_param(&base, &blen, "MATCH_epc", uri);
    char pp[16];
    snprintf(pp, sizeof pp, "%d", EXPORT_PAGE);
    append_param(&base, &blen, "perPage", pp);
    if (from)
        append_param(&base, &blen, "GE_eventTime", from);
    if (to)
        append_param(&base, &blen, "LT_eventTime", to);
    if (!base)
        return cli_fail(spec.cmd, "out of memory");

    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", out) >= (int)sizeof tmp) {
        free(base);
        return cli_usage_err(spec.cmd, "--out: path too long");
    }
    cli_http *h = cli_http_new(node);
    FILE *f = fopen(tmp, "w");
    char *token = NULL;
    json_t *page = NULL;
    uint64_t events = 0, pages = 0;
    rc = CLI_FAIL;
    if (!h || !f) {
        cli_fail(spec.cmd, "%s: %s", f ? "out of memory" : tmp, f ? "" : "cannot create");
        goto done;
    }
    for (;;) {
        char *path = NULL;
        size_t plen = 0;
        append_param(&path, &plen, "nextPageToken", token ? token : "");
        char *full = malloc(blen + plen + 32);
        if (!full || !path) {
            free(full);
            free(path);
            cli_fail(spec.cmd, "out of memory");
            goto done;
        }
        sprintf(full, "/epcis/events?%s%s%s", base, token ? "&" : "", token ? path : "");
        free(path);
        cli_resp resp = {0};
        char e[512];
        int hr = cli_http_get(h, &resp, full, 0, e, sizeof e);
        free(full);
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
        json_decref(page);
        page = json_loadb(resp.body, resp.len, 0, NULL);
        cli_resp_free(&resp);
        json_t *body = json_object_get(page, "epcisBody");
        json_t *res = json_object_get(json_object_get(body, "queryResults"), "resultsBody");
        json_t *list = json_object_get(res, "eventList");
        if (!json_is_array(list)) {
            cli_fail(spec.cmd, "the node's answer is not an EPCIS query document");
            goto done;
        }
        if (pages++ == 0 && write_head(f, json_object_get(page, "@context")) != 0) {
            cli_fail(spec.cmd, "%s: write failed", tmp);
            goto done;
        }
        size_t i;
        json_t *ev;
        json_array_foreach(list, i, ev)
        {
            if (events++)
                fputs(",\n", f);
            if (json_dumpf(ev, f, JSON_COMPACT) != 0) {
                cli_fail(spec.cmd, "%s: write failed", tmp);
                goto done;
            }
        }
        free(token);
        const char *t = json_string_value(json_object_get(page, "provena:nextPageToken"));
        token = t ? strdup(t) : NULL;
        if (!t)
            break;
        if (!token) {
            cli_fail(spec.cmd, "out of memory");
            goto done;
        }
    }
    if (fputs("\n]}}\n", f) == EOF || fflush(f) != 0 || fsync(fileno(f)) != 0) {
        cli_fail(spec.cmd, "%s: write failed", tmp);
        goto done;
    }
    if (fclose(f) != 0) {
        f = NULL;
        cli_fail(spec.cmd, "%s: write failed", tmp);
        goto done;
    }
    f = NULL;
    if (rename(tmp, out) != 0) {
        cli_fail(spec.cmd, "%s: cannot rename into place", out);
        goto done;
    }
    fprintf(stderr, "%llu events, %llu pages → %s\n", (unsigned long long)events,
            (unsigned long long)pages, out);
    rc = CLI_OK;
done:
    if (f) {
        fclose(f);
    }
    if (rc != CLI_OK)
        unlink(tmp);
    json_decref(page);
    free(token);
    free(base);
    cli_http_free(h);
    return rc;
}
