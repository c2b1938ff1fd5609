/*
 * cli_history.c — `provena history UNIT` (a unit's verdict and timeline) and
 * `provena status` (the node's Raft role and the chain head).
 *
 * Both read the node's JSON API and either pass it through (--json) or render
 * it for a person: one line per event, oldest first, with who did it.
 * history --min-height H (the height of one's own receipt) reads your own
 * writes: a node that has not applied H answers 503 after a short wait, and
 * the next node of the list is asked, for at most HISTORY_WAIT_MS in all.
 */
#include "cli/cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define HISTORY_WAIT_MS 15000 /* --min-height: longest the nodes are asked in turn */

static const char *jstr(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

static void print_json(json_t *j)
{
    char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (s)
        printf("%s\n", s);
    free(s);
}

static void event_line(json_t *ev)
{
    char when[32];
    cli_time_fmt(when, (uint64_t)json_integer_value(json_object_get(ev, "time")));
    const char *who = jstr(ev, "actor_id")[0] ? jstr(ev, "actor_id") : NULL;
    char whobuf[40];
    if (!who) {
        snprintf(whobuf, sizeof whobuf, "key %.16s", jstr(ev, "actor"));
        who = whobuf;
    }
    const char *role = jstr(ev, "actor_role");
    printf("  %3lld  %s  %-18s by %-16s (%s)",
           (long long)json_integer_value(json_object_get(ev, "seq")), when, jstr(ev, "type"), who,
           !role[0] || !strcmp(role, "none") ? "customer" : role);
    if (jstr(ev, "sscc")[0]) {
        const char *t = jstr(ev, "type");
        printf(" %s %s",
               !strcmp(t, "pack")     ? "into"
               : !strcmp(t, "unpack") ? "from"
                                      : "inside",
               jstr(ev, "sscc"));
    }
    if (jstr(ev, "to")[0])
        printf(" to %s", jstr(ev, "to"));
    if (jstr(ev, "region")[0])
        printf(" in %s", jstr(ev, "region"));
    if (jstr(ev, "key")[0])
        printf(" owner %.16s", jstr(ev, "key"));
    if (jstr(ev, "reason")[0])
        printf(" reason %s", jstr(ev, "reason"));
    if (jstr(ev, "outcome")[0])
        printf(" outcome %s", jstr(ev, "outcome"));
    if (json_integer_value(json_object_get(ev, "months")))
        printf(" +%lld months", (long long)json_integer_value(json_object_get(ev, "months")));
    if (jstr(ev, "note")[0])
        printf(" \"%s\"", jstr(ev, "note"));
    printf("  [block %lld]\n", (long long)json_integer_value(json_object_get(ev, "height")));
}

/* GET path on h's nodes until one answers 2xx, or (with wait) until no node
 * is behind any more or HISTORY_WAIT_MS pass: a 503 (not yet at min_height)
 * moves to the next node. The object, or NULL with errmsg. */
static json_t *get_fresh(cli_http *h, const char *path, bool wait, char *errmsg, size_t errmsg_len)
{
    uint64_t deadline = cli_wall_ms() + HISTORY_WAIT_MS;
    for (;;) {
        cli_resp r = {0};
        if (cli_http_get(h, &r, path, 0, errmsg, errmsg_len) != 0)
            return NULL;
        if (r.status >= 200 && r.status <= 299) {
            json_error_t je;
            json_t *j = json_loadb(r.body, r.len, 0, &je);
            cli_resp_free(&r);
            if (!json_is_object(j)) {
                json_decref(j);
                snprintf(errmsg, errmsg_len, "%s: not a JSON object", path);
                return NULL;
            }
            return j;
        }
        cli_http_error_text(errmsg, errmsg_len, &r);
        long st = r.status;
        cli_resp_free(&r);
        if (!wait || st != 503 || cli_wall_ms() >= deadline)
            return NULL;
        cli_http_next(h);
        if (cli_http_nodes(h) == 1)
            usleep(500 * 1000); /* the node waited already; give it a moment more */
    }
}

int cli_cmd_history(int argc, char **argv)
{
    const char *node = cli_env_node();
    const char *min_height = NULL;
    bool json = false;
    const cli_opt opts[] = {
        {"node", "URL", "node base URL (default $PROVENA_NODE)", &node, NULL},
        {"json", NULL, "print the node's {\"unit\",\"verdict\",\"history\"}", NULL, &json},
        {"min-height", "H",
         "read a state with at least block H applied (the height your write's receipt "
         "printed); nodes still behind are skipped",
         &min_height, NULL},
    };
    const cli_spec spec = {"provena history",
                           "UNIT [--min-height H] [--json]",
                           "Shows a unit's verdict, state and full history.",
                           opts,
                           3,
                           1,
                           1};
    const char *pos[1];
    size_t np;
    int rc = cli_parse(&spec, argc, argv, pos, &np, 1);
    if (rc != CLI_OK)
        return rc;
    gs1_link l;
    char e[512], path[192];
    if (cli_unit_parse(&l, pos[0], e, sizeof e) != 0)
        return cli_usage_err(spec.cmd, "unit '%s': %s", pos[0], e);
    uint64_t mh = 0;
    if (min_height && !cli_parse_u64(&mh, min_height, 0, INT64_MAX))
        return cli_usage_err(spec.cmd, "--min-height '%s': expected a block height 0..%lld",
                             min_height, (long long)INT64_MAX);
    cli_http *h = cli_http_new(node);
    if (!h)
        return cli_fail(spec.cmd, "out of memory");
    /* The serial is AI 82; percent-encode the few characters a path cannot carry. */
    char ser[3 * GS1_SERIAL_MAX + 1];
    size_t k = 0;
    for (const char *p = l.id.serial; *p; p++) {
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '_' || *p == '.')
            ser[k++] = *p;
        else
            k += (size_t)sprintf(ser + k, "%%%02X", (unsigned char)*p);
    }
    ser[k] = '\0';
    int pl = snprintf(path, sizeof path, "/api/v1/units/%s/%s", l.id.gtin, ser);
    if (min_height)
        snprintf(path + pl, sizeof path - (size_t)pl, "?min_height=%llu", (unsigned long long)mh);
    json_t *j = get_fresh(h, path, min_height != NULL, e, sizeof e);
    cli_http_free(h);
    if (!j)
        return cli_fail(spec.cmd, "%s/%s: %s", l.id.gtin, l.id.serial, e);
    if (json) {
        print_json(j);
        json_decref(j);
        return CLI_OK;
    }
    json_t *u = json_object_get(j, "unit"), *v = json_object_get(j, "verdict");
    printf("%s/%s  %s", jstr(u, "gtin"), jstr(u, "serial"), jstr(v, "status"));
    json_t *rs = json_object_get(v, "reasons"), *r;
    size_t i;
    if (json_array_size(rs)) {
        printf(" (");
        json_array_foreach(rs, i, r) printf("%s%s", i ? ", " : "", json_string_value(r));
        printf(")");
    }
    printf("\n");
    if (jstr(u, "state")[0]) {
        static const char *const keys[] = {"brand", "model", "lot", "expiry"};
        printf(" ");
        for (size_t k = 0; k < 4; k++)
            if (jstr(u, keys[k])[0])
                printf(" %s %s ", keys[k], jstr(u, keys[k]));
        printf("\n");
        printf("  state %s", jstr(u, "state"));
        if (jstr(u, "holder")[0])
            printf("  held by %s", jstr(u, "holder"));
        if (jstr(u, "owner")[0])
            printf("  owner %.16s", jstr(u, "owner"));
        json_t *fl = json_object_get(u, "flags"), *f;
        json_array_foreach(fl, i, f) printf("  FLAG %s", json_string_value(f));
        json_t *w = json_object_get(u, "warranty");
        if (w)
            printf("  warranty %s", jstr(w, "status"));
        printf("\n");
    }
    json_t *hist = json_object_get(j, "history"), *ev;
    printf("history (%zu events, as of block %lld):\n", json_array_size(hist),
           (long long)json_integer_value(json_object_get(j, "as_of_height")));
    json_array_foreach(hist, i, ev) event_line(ev);
    json_decref(j);
    return CLI_OK;
}

int cli_cmd_status(int argc, char **argv)
{
    const char *node = cli_env_node();
    bool json = false;
    const cli_opt opts[] = {
        {"node", "URL", "node base URL (default $PROVENA_NODE)", &node, NULL},
        {"json", NULL, "print {\"status\",\"head\"} as JSON", NULL, &json},
    };
    const cli_spec spec = {"provena status",
                           "[--json]",
                           "Shows the node's consensus role and the chain head.",
                           opts,
                           2,
                           0,
                           0};
    const char *pos[1];
    size_t np;
    int rc = cli_parse(&spec, argc, argv, pos, &np, 1);
    if (rc != CLI_OK)
        return rc;
    cli_http *h = cli_http_new(node);
    char e[512];
    if (!h)
        return cli_fail(spec.cmd, "out of memory");
    json_t *st = cli_http_get_json(h, "/api/v1/status", e, sizeof e);
    if (!st) {
        cli_http_free(h);
        return cli_fail(spec.cmd, "%s: %s", node, e);
    }
    json_t *hd = cli_http_get_json(h, "/api/v1/head", e, sizeof e);
    cli_http_free(h);
    if (!hd) {
        json_decref(st);
        return cli_fail(spec.cmd, "%s: head: %s", node, e);
    }
    if (json) {
        json_t *o = json_pack("{s:O,s:O}", "status", st, "head", hd);
        print_json(o);
        json_decref(o);
    } else {
        json_t *head = json_object_get(hd, "head") ? json_object_get(hd, "head") : hd;
        json_t *ld = json_object_get(st, "leader");
        json_int_t leader = json_is_object(ld) ? json_integer_value(json_object_get(ld, "id"))
                                               : json_integer_value(ld);
        if (!leader)
            leader = json_integer_value(json_object_get(st, "leader_id"));
        printf("node %lld at %s: %s, leader %lld, term %lld\n",
               (long long)json_integer_value(json_object_get(st, "id")), node,
               jstr(st, "role")[0] ? jstr(st, "role") : "?", (long long)leader,
               (long long)json_integer_value(json_object_get(st, "term")));
        printf("head: height %lld, block %s\n  state digest %s\n  units %lld, txs %lld\n",
               (long long)json_integer_value(json_object_get(head, "height")), jstr(head, "id"),
               jstr(head, "state_digest"),
               (long long)json_integer_value(json_object_get(head, "units")),
               (long long)json_integer_value(json_object_get(head, "txs")));
    }
    json_decref(st);
    json_decref(hd);
    return CLI_OK;
}
