/*
 * metrics.c — Prometheus counters of the gateway.
 *
 * Requests are counted in a [route][status class] table where the status is
 * one of a fixed list of codes the gateway answers (others fall in "other"),
 * so the table is fixed-size and recording is one relaxed atomic add. The
 * commit latency histogram uses cumulative-at-render buckets in microseconds.
 */
#include "node/version.h"
#include "node/metrics.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const unsigned statuses[] = {200, 202, 400, 403, 404, 405, 409, 410, 413,
                                    415, 422, 429, 500, 503, 504, 507, 0 /* other */};
#define NSTATUS (sizeof statuses / sizeof statuses[0])

static const uint64_t lat_bounds_us[] = {1000,   2500,   5000,   10000,   25000,   50000,
                                         100000, 250000, 500000, 1000000, 2500000, 10000000};
#define NLAT (sizeof lat_bounds_us / sizeof lat_bounds_us[0])

struct gw_metrics {
    const char *const *names;
    size_t nroutes;
    _Atomic uint64_t req[METRICS_ROUTES_MAX][NSTATUS];
    _Atomic uint64_t scans[4];
    _Atomic uint64_t rate_limited;
    _Atomic uint64_t bad_codes;
    _Atomic uint64_t lat[NLAT + 1];
    _Atomic uint64_t lat_sum, lat_count;
};

gw_metrics *metrics_new(const char *const *route_names, size_t nroutes)
{
    if (nroutes > METRICS_ROUTES_MAX)
        return NULL;
    gw_metrics *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->names = route_names;
    m->nroutes = nroutes;
    return m;
}

void metrics_free(gw_metrics *m)
{
    free(m);
}

void metrics_request(gw_metrics *m, size_t route, unsigned status)
{
    if (!m || route >= m->nroutes)
        return;
    size_t i = 0;
    while (i + 1 < NSTATUS && statuses[i] != status)
        i++;
    atomic_fetch_add_explicit(&m->req[route][i], 1, memory_order_relaxed);
}

void metrics_scan(gw_metrics *m, int kind)
{
    if (m && kind >= 1 && kind <= 3)
        atomic_fetch_add_explicit(&m->scans[kind], 1, memory_order_relaxed);
}

void metrics_scan_bad_code(gw_metrics *m)
{
    if (m)
        atomic_fetch_add_explicit(&m->bad_codes, 1, memory_order_relaxed);
}

void metrics_rate_limited(gw_metrics *m)
{
    if (m)
        atomic_fetch_add_explicit(&m->rate_limited, 1, memory_order_relaxed);
}

void metrics_commit_latency(gw_metrics *m, uint64_t usec)
{
    if (!m)
        return;
    size_t i = 0;
    while (i < NLAT && usec > lat_bounds_us[i])
        i++;
    atomic_fetch_add_explicit(&m->lat[i], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&m->lat_sum, usec, memory_order_relaxed);
    atomic_fetch_add_explicit(&m->lat_count, 1, memory_order_relaxed);
}

typedef struct mbuf {
    char *p;
    size_t len, cap;
    int failed;
} mbuf;

__attribute__((format(printf, 2, 3))) static void mb_printf(mbuf *b, const char *fmt, ...)
{
    if (b->failed)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->failed = 1;
            return;
        }
        if ((size_t)n < b->cap - b->len) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = b->cap * 2 + (size_t)n;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->failed = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
}

/* Each member's health as the leader sees it; nothing on other nodes (only
 * the leader hears from every member). */
static void render_members(mbuf *b, const replica_status *rs)
{
    static const struct {
        const char *name, *help;
    } fam[] = {
        {"provena_raft_member_up", "1 while the leader hears from the member (0: silent)."},
        {"provena_raft_member_last_contact_seconds", "Since the leader last heard the member."},
        {"provena_raft_member_match_index", "Highest log index stored on the member."},
        {"provena_raft_member_lag_entries", "Leader's last index minus the member's match."},
        {"provena_raft_member_lag_seconds",
         "How long ago the leader first held an entry the member still lacks."},
    };
    size_t np = rs->npeers < CHAIN_NODES_MAX ? rs->npeers : CHAIN_NODES_MAX;
    if (np == 0 || !rs->peers[0].health_known)
        return;
    for (size_t f = 0; f < sizeof fam / sizeof fam[0]; f++) {
        mb_printf(b, "# HELP %s %s\n# TYPE %s gauge\n", fam[f].name, fam[f].help, fam[f].name);
        for (size_t i = 0; i < np; i++) {
            const __typeof__(rs->peers[0]) *p = &rs->peers[i];
            unsigned long long id = (unsigned long long)p->id;
            switch (f) {
            case 0:
                mb_printf(b, "%s{node=\"%llu\"} %d\n", fam[f].name, id, p->up ? 1 : 0);
                break;
            case 1:
                mb_printf(b, "%s{node=\"%llu\"} %.3f\n", fam[f].name, id,
                          (double)p->last_contact_ms / 1e3);
                break;
            case 2:
                mb_printf(b, "%s{node=\"%llu\"} %llu\n", fam[f].name, id,
                          (unsigned long long)p->match_index);
                break;
            case 3:
                mb_printf(b, "%s{node=\"%llu\"} %llu\n", fam[f].name, id,
                          (unsigned long long)p->lag_entries);
                break;
            default:
                mb_printf(b, "%s{node=\"%llu\"} %.3f\n", fam[f].name, id, (double)p->lag_ms / 1e3);
            }
        }
    }
}

/* What the Raft port refused and how often links were rebuilt, since start:
 * the status's raft_links. */
static void render_links(mbuf *b, const replica_status *rs)
{
    const __typeof__(rs->links) *l = &rs->links;
    const struct {
        const char *reason;
        uint64_t n;
    } refused[] = {
        {"malformed", l->malformed},     {"other_network", l->other_chain},
        {"guard", l->refused},           {"unauthenticated", l->unauthenticated},
        {"wrong_sender", l->wrong_sender},
    };
    mb_printf(b, "# HELP provena_raft_frames_refused_total Raft frames dropped, by reason.\n"
                 "# TYPE provena_raft_frames_refused_total counter\n");
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++)
        mb_printf(b, "provena_raft_frames_refused_total{reason=\"%s\"} %llu\n", refused[i].reason,
                  (unsigned long long)refused[i].n);
    mb_printf(b,
              "# HELP provena_raft_hellos_refused_total HELLOs refused (key not pinned for the "
              "id, bad signature, wrong receiver or clock).\n"
              "# TYPE provena_raft_hellos_refused_total counter\n"
              "provena_raft_hellos_refused_total %llu\n"
              "# HELP provena_raft_pin_changes_total Times the pinned TLS keys changed.\n"
              "# TYPE provena_raft_pin_changes_total counter\nprovena_raft_pin_changes_total %llu\n"
              "# HELP provena_raft_links_rebuilt_total Connections to peers rebuilt because a "
              "request got no reply.\n"
              "# TYPE provena_raft_links_rebuilt_total counter\n"
              "provena_raft_links_rebuilt_total %llu\n",
              (unsigned long long)l->hellos_refused, (unsigned long long)l->pin_changes,
              (unsigned long long)l->rebuilt);
}

int metrics_render(gw_metrics *m, char **out, size_t *out_len, const gw_status *st,
                   const chain_head *head, uint64_t lmdb_bytes)
{
    mbuf b = {malloc(8192), 0, 8192, 0};
    if (!b.p)
        return -1;
    b.p[0] = '\0';
    mb_printf(&b, "# HELP provena_http_requests_total HTTP requests answered, by route and "
                  "status.\n# TYPE provena_http_requests_total counter\n");
    for (size_t r = 0; r < m->nroutes; r++)
        for (size_t s = 0; s < NSTATUS; s++) {
            uint64_t v = atomic_load_explicit(&m->req[r][s], memory_order_relaxed);
            if (v == 0)
                continue;
            if (statuses[s])
                mb_printf(&b, "provena_http_requests_total{route=\"%s\",status=\"%u\"} %llu\n",
                          m->names[r], statuses[s], (unsigned long long)v);
            else
                mb_printf(&b, "provena_http_requests_total{route=\"%s\",status=\"other\"} %llu\n",
                          m->names[r], (unsigned long long)v);
        }
    static const char *kinds[4] = {NULL, "scan", "probe", "report"};
    mb_printf(&b, "# HELP provena_scans_recorded_total Public scans handed to the scan queue.\n"
                  "# TYPE provena_scans_recorded_total counter\n");
    for (int k = 1; k <= 3; k++)
        mb_printf(&b, "provena_scans_recorded_total{kind=\"%s\"} %llu\n", kinds[k],
                  (unsigned long long)atomic_load(&m->scans[k]));
    if (st) {
        mb_printf(&b,
                  "# HELP provena_scans_dropped_total Scans counted but not listed in a batch "
                  "(queue full, batch refused).\n"
                  "# TYPE provena_scans_dropped_total counter\nprovena_scans_dropped_total %llu\n"
                  "# HELP provena_scan_batches_total Node-signed scans transactions submitted.\n"
                  "# TYPE provena_scan_batches_total counter\nprovena_scan_batches_total %llu\n",
                  (unsigned long long)st->scans_dropped, (unsigned long long)st->scan_batches);
        mb_printf(&b,
                  "# HELP provena_disk_full 1 while the data disk is below its reserve and "
                  "writes are refused.\n"
                  "# TYPE provena_disk_full gauge\nprovena_disk_full %d\n"
                  "# HELP provena_disk_free_bytes Free bytes on the data disk.\n"
                  "# TYPE provena_disk_free_bytes gauge\nprovena_disk_free_bytes %llu\n"
                  "# HELP provena_disk_reserve_bytes Free bytes below which writes stop.\n"
                  "# TYPE provena_disk_reserve_bytes gauge\nprovena_disk_reserve_bytes %llu\n",
                  st->replica.disk_full ? 1 : 0, (unsigned long long)st->replica.disk_free,
                  (unsigned long long)st->replica.disk_reserve);
    }
    mb_printf(&b,
              "# HELP provena_scan_bad_codes_total Scans and reports of codes that are no "
              "GTIN/serial: counted here, never recorded.\n"
              "# TYPE provena_scan_bad_codes_total counter\nprovena_scan_bad_codes_total %llu\n",
              (unsigned long long)atomic_load(&m->bad_codes));
    mb_printf(&b,
              "# HELP provena_build_info This build's version and formats (always 1).\n"
              "# TYPE provena_build_info gauge\n"
              "provena_build_info{version=\"%s\",ledger_format=\"%d\",wire_format=\"%d\"} 1\n",
              node_version(), NODE_LEDGER_FORMAT, NODE_WIRE_FORMAT);
    mb_printf(&b,
              "# HELP provena_rate_limited_total Requests refused by the per-client limit.\n"
              "# TYPE provena_rate_limited_total counter\nprovena_rate_limited_total %llu\n",
              (unsigned long long)atomic_load(&m->rate_limited));
    mb_printf(&b, "# HELP provena_commit_latency_seconds Submit to receipt, waited submissions.\n"
                  "# TYPE provena_commit_latency_seconds histogram\n");
    uint64_t cum = 0;
    for (size_t i = 0; i < NLAT; i++) {
        cum += atomic_load(&m->lat[i]);
        mb_printf(&b, "provena_commit_latency_seconds_bucket{le=\"%g\"} %llu\n",
                  (double)lat_bounds_us[i] / 1e6, (unsigned long long)cum);
    }
    cum += atomic_load(&m->lat[NLAT]);
    mb_printf(&b, "provena_commit_latency_seconds_bucket{le=\"+Inf\"} %llu\n",
              (unsigned long long)cum);
    mb_printf(&b, "provena_commit_latency_seconds_sum %.6f\n",
              (double)atomic_load(&m->lat_sum) / 1e6);
    mb_printf(&b, "provena_commit_latency_seconds_count %llu\n",
              (unsigned long long)atomic_load(&m->lat_count));
    if (st) {
        static const char *roles[] = {"leader", "follower", "candidate", "stopped", "removed"};
        mb_printf(&b,
                  "# HELP provena_raft_term Current Raft term.\n# TYPE provena_raft_term "
                  "gauge\nprovena_raft_term %llu\n",
                  (unsigned long long)st->replica.term);
        mb_printf(&b,
                  "# HELP provena_raft_commit_index Raft commit index.\n"
                  "# TYPE provena_raft_commit_index gauge\nprovena_raft_commit_index %llu\n",
                  (unsigned long long)st->replica.commit_index);
        mb_printf(&b,
                  "# HELP provena_raft_last_applied Last applied Raft index.\n"
                  "# TYPE provena_raft_last_applied gauge\nprovena_raft_last_applied %llu\n",
                  (unsigned long long)st->replica.last_applied);
        mb_printf(&b,
                  "# HELP provena_raft_leader_id Leader's node id (0: none known).\n"
                  "# TYPE provena_raft_leader_id gauge\nprovena_raft_leader_id %llu\n",
                  (unsigned long long)st->replica.leader_id);
        mb_printf(&b, "# HELP provena_raft_role 1 for this node's current role.\n"
                      "# TYPE provena_raft_role gauge\n");
        for (size_t i = 0; i < sizeof roles / sizeof roles[0]; i++)
            mb_printf(&b, "provena_raft_role{role=\"%s\"} %d\n", roles[i],
                      st->replica.role_name && strcmp(st->replica.role_name, roles[i]) == 0);
        mb_printf(&b,
                  "# HELP provena_raft_peers Members known to this node.\n"
                  "# TYPE provena_raft_peers gauge\nprovena_raft_peers %zu\n",
                  st->replica.npeers);
        render_members(&b, &st->replica);
        render_links(&b, &st->replica);
        size_t revoked = 0;
        for (size_t i = 0; i < st->replica.npeers && i < CHAIN_NODES_MAX; i++)
            revoked += st->peer_ops[i].revoked;
        mb_printf(&b,
                  "# HELP provena_node_operator_revoked 1 when the participant operating this "
                  "node is revoked in the ledger.\n"
                  "# TYPE provena_node_operator_revoked gauge\nprovena_node_operator_revoked %d\n"
                  "# HELP provena_raft_members_operator_revoked Members whose operator is "
                  "revoked.\n# TYPE provena_raft_members_operator_revoked gauge\n"
                  "provena_raft_members_operator_revoked %zu\n",
                  st->operator_revoked ? 1 : 0, revoked);
    }
    if (head) {
        mb_printf(&b,
                  "# HELP provena_chain_height Height of the applied head block.\n"
                  "# TYPE provena_chain_height gauge\nprovena_chain_height %llu\n",
                  (unsigned long long)head->height);
        mb_printf(&b,
                  "# HELP provena_chain_units Units in the ledger.\n"
                  "# TYPE provena_chain_units gauge\nprovena_chain_units %llu\n",
                  (unsigned long long)head->units);
        mb_printf(&b,
                  "# HELP provena_chain_txs Transactions in the ledger.\n"
                  "# TYPE provena_chain_txs gauge\nprovena_chain_txs %llu\n",
                  (unsigned long long)head->txs);
    }
    mb_printf(&b,
              "# HELP provena_lmdb_bytes Bytes of the ledger's LMDB database in use.\n"
              "# TYPE provena_lmdb_bytes gauge\nprovena_lmdb_bytes %llu\n",
              (unsigned long long)lmdb_bytes);
    if (b.failed) {
        free(b.p);
        return -1;
    }
    *out = b.p;
    *out_len = b.len;
    return 0;
}
