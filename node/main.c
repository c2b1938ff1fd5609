/*
 * main.c — provena-node: parses the command line, starts the node, waits for
 * SIGINT/SIGTERM and stops it cleanly. Everything else lives in node.c.
 *
 * Signals are blocked in every thread (the mask is set before any thread
 * starts) and taken synchronously with sigwait here, so no handler ever runs
 * inside library code. Exit status: 0 after a clean stop, 1 when the node
 * could not start, 2 for bad arguments.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log/log.h"
#include "node/version.h"
#include "node/node.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: provena-node --genesis FILE --id N --data DIR [options]\n"
               "\n"
               "  --genesis FILE            genesis document (JSON) of the network\n"
               "  --id N                    this node's id (as in genesis or node.add)\n"
               "  --data DIR                data directory (DIR/chain, DIR/raft)\n"
               "  --key FILE                node key (64 hex chars, `provena key new`): signs\n"
               "                            scans batches; without it scans are not replicated\n"
               "  --admin-token-file FILE   break-glass token for the dashboard (mode 0600);\n"
               "                            brand keys sign in with `provena dashboard login`\n"
               "  --session-ttl SECONDS     dashboard session lifetime (default 900)\n"
               "  --tls-cert FILE           serve HTTPS with this PEM certificate chain\n"
               "  --tls-key FILE            and this PEM private key (mode 0600)\n"
               "  --peer-ca FILE            CA file for other nodes' https:// gateways when\n"
               "                            catching up (default: the system's store)\n"
               "  --join                    not in genesis: wait to be added by node.add\n"
               "  --raft-tls FILE           this node's TLS key and certificate (`provena key\n"
               "                            new --tls`, mode 0600): node-to-node links are\n"
               "                            mutual TLS with the keys the ledger pins\n"
               "  --raft tls+tcp://HOST:PORT  Raft address (required with --join)\n"
               "  --insecure-plaintext      allow tcp:// Raft links without TLS (tests only)\n"
               "  --http URL                http:// or https://HOST:PORT (required with --join)\n"
               "  --trusted-proxy ADDR      IP address of a fronting proxy: its X-Forwarded-For\n"
               "                            and --region-header are believed, nobody else's\n"
               "  --region-header NAME      header that proxy sets with the scan's region\n"
               "                            (needs --trusted-proxy)\n"
               "  --geoip FILE|off          IPv4 country database (default: Debian's\n"
               "                            /usr/share/GeoIP/GeoIP.dat when installed)\n"
               "  --geoip6 FILE|off         IPv6 country database (GeoIPv6.dat)\n"
               "  --scan-secret-file FILE   network secret keying client hashes: the same\n"
               "                            file on every node (mode 0600)\n"
               "  --conn-per-client N|off   connections one address may hold (default 64)\n"
               "  --tx-rate N|off           transactions/s per client and per signer\n"
               "                            (default 2000)\n"
               "  --tx-burst N              their burst (default 8192)\n"
               "  --disk-reserve-mb N       free space kept on the data disk: below it\n"
               "                            writes are refused (disk_full), default 64\n"
               "  --log-level LEVEL         error, warn, info (default) or debug\n"
               "  --log-format FORMAT       text (default) or json: one object a line\n"
               "  --snapshot-threshold N    Raft entries between snapshots\n"
               "  --http-threads N          gateway worker threads (default: cores)\n"
               "  --version                 version, ledger and wire formats\n"
               "  --help                    this text\n");
}

static bool node_addr_valid(const char *s)
{
    unsigned char b[16];
    return inet_pton(AF_INET, s, b) == 1 || inet_pton(AF_INET6, s, b) == 1;
}

static int bad_arg(const char *arg, const char *why)
{
    fprintf(stderr, "provena-node: %s: %s\n", arg, why);
    usage(stderr);
    return 2;
}

static int parse_u64(uint64_t *out, const char *s, uint64_t min, uint64_t max)
{
    if (!s || !*s || *s == '-' || *s == '+')
        return -1;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

int main(int argc, char **argv)
{
    node_config cfg;
    memset(&cfg, 0, sizeof cfg);
    int level = LOG_LEVEL_INFO;
    static char token[NODE_TOKEN_MAX + 1], secret[NODE_TOKEN_MAX + 1];
    static char *tls_cert, *tls_key; /* static: reachable until exit */
    char err[512];

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 0;
        }
        if (strcmp(a, "--version") == 0) {
            node_version_print(stdout);
            return 0;
        }
        if (strcmp(a, "--join") == 0) {
            cfg.join = true;
            continue;
        }
        if (strcmp(a, "--insecure-plaintext") == 0) {
            cfg.insecure_plaintext = true;
            continue;
        }
        /* every other option takes one value */
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strncmp(a, "--", 2) != 0)
            return bad_arg(a, "unexpected argument");
        if (!v)
            return bad_arg(a, "missing value");
        i++;
        uint64_t n;
        if (strcmp(a, "--genesis") == 0)
            cfg.genesis_path = v;
        else if (strcmp(a, "--id") == 0) {
            if (parse_u64(&cfg.id, v, 1, UINT64_MAX) != 0)
                return bad_arg(a, "not a node id (an integer >= 1)");
        } else if (strcmp(a, "--data") == 0)
            cfg.data_dir = v;
        else if (strcmp(a, "--key") == 0)
            cfg.key_path = v;
        else if (strcmp(a, "--admin-token") == 0) {
            /* a token on the command line is in every local user's ps */
            return bad_arg(a, "removed: a secret on the command line is visible in ps; use "
                              "--admin-token-file FILE (mode 0600) or `provena dashboard login`");
        } else if (strcmp(a, "--tls-cert") == 0 || strcmp(a, "--tls-key") == 0) {
            bool key = a[6] == 'k';
            char **dst = key ? &tls_key : &tls_cert;
            if (*dst) {
                if (key)
                    explicit_bzero(*dst, strlen(*dst));
                free(*dst);
                *dst = NULL;
            }
            if (node_pem_file_read(dst, a, v, key, err, sizeof err) != 0) {
                fprintf(stderr, "provena-node: %s\n", err);
                return 2;
            }
        } else if (strcmp(a, "--peer-ca") == 0) {
            if (access(v, R_OK) != 0)
                return bad_arg(a, "not a readable file (PEM CA certificates)");
            cfg.peer_ca = v;
        } else if (strcmp(a, "--session-ttl") == 0) {
            if (parse_u64(&n, v, 1, 86400) != 0)
                return bad_arg(a, "not an integer in 1..86400 (seconds)");
            cfg.session_ttl_s = (unsigned)n;
        } else if (strcmp(a, "--admin-token-file") == 0) {
            if (node_token_file_read(token, sizeof token, v, err, sizeof err) != 0) {
                fprintf(stderr, "provena-node: %s\n", err);
                return 2;
            }
            cfg.admin_token = token;
        } else if (strcmp(a, "--log-format") == 0) {
            if (log_set_format(v) != 0)
                return bad_arg(a, "not one of text, json");
        } else if (strcmp(a, "--raft") == 0) {
            if (strncmp(v, "tls+tcp://", 10) != 0 && strncmp(v, "tcp://", 6) != 0)
                return bad_arg(a, "not a tls+tcp://HOST:PORT address");
            cfg.raft_addr = v;
        } else if (strcmp(a, "--raft-tls") == 0) {
            if (!*v)
                return bad_arg(a, "empty file name");
            cfg.raft_tls_path = v;
        } else if (strcmp(a, "--http") == 0) {
            if (strncmp(v, "http://", 7) != 0 && strncmp(v, "https://", 8) != 0)
                return bad_arg(a, "not an http:// or https://HOST:PORT address");
            cfg.http_addr = v;
        } else if (strcmp(a, "--trusted-proxy") == 0) {
            if (!node_addr_valid(v))
                return bad_arg(a, "not an IPv4 or IPv6 address");
            cfg.trusted_proxy = v;
        } else if (strcmp(a, "--geoip") == 0) {
            cfg.geoip4 = v;
        } else if (strcmp(a, "--geoip6") == 0) {
            cfg.geoip6 = v;
        } else if (strcmp(a, "--scan-secret-file") == 0) {
            if (node_token_file_read(secret, sizeof secret, v, err, sizeof err) != 0) {
                fprintf(stderr, "provena-node: --scan-secret-file: %s\n", err);
                return 2;
            }
            cfg.scan_secret = secret;
        } else if (strcmp(a, "--conn-per-client") == 0) {
            if (strcmp(v, "off") == 0)
                cfg.conn_per_client = UINT_MAX;
            else if (parse_u64(&n, v, 1, 65535) != 0)
                return bad_arg(a, "not off or an integer in 1..65535");
            else
                cfg.conn_per_client = (unsigned)n;
        } else if (strcmp(a, "--tx-rate") == 0) {
            if (strcmp(v, "off") == 0)
                cfg.tx_rate = -1;
            else if (parse_u64(&n, v, 1, 1000000) != 0)
                return bad_arg(a, "not off or an integer in 1..1000000");
            else
                cfg.tx_rate = (double)n;
        } else if (strcmp(a, "--tx-burst") == 0) {
            if (parse_u64(&n, v, 1, 1000000) != 0)
                return bad_arg(a, "not an integer in 1..1000000");
            cfg.tx_burst = (unsigned)n;
        } else if (strcmp(a, "--disk-reserve-mb") == 0) {
            if (parse_u64(&n, v, 1, 1u << 20) != 0)
                return bad_arg(a, "not an integer in 1..1048576");
            cfg.disk_reserve = n << 20;
        } else if (strcmp(a, "--region-header") == 0) {
            if (!*v || strpbrk(v, " :\r\n\t"))
                return bad_arg(a, "not a header name");
            cfg.region_header = v;
        } else if (strcmp(a, "--log-level") == 0) {
            level = log_parse_level(v);
            if (level < 0)
                return bad_arg(a, "not one of error, warn, info, debug");
        } else if (strcmp(a, "--snapshot-threshold") == 0) {
            if (parse_u64(&cfg.snapshot_threshold, v, 1, UINT32_MAX) != 0)
                return bad_arg(a, "not a positive integer");
        } else if (strcmp(a, "--http-threads") == 0) {
            if (parse_u64(&n, v, 1, 256) != 0)
                return bad_arg(a, "not an integer in 1..256");
            cfg.http_threads = (unsigned)n;
        } else
            return bad_arg(a, "unknown option");
    }
    if (!cfg.genesis_path)
        return bad_arg("--genesis", "required");
    if (cfg.id == 0)
        return bad_arg("--id", "required");
    if (!cfg.data_dir)
        return bad_arg("--data", "required");
    if (cfg.region_header && !cfg.trusted_proxy)
        return bad_arg("--region-header", "needs --trusted-proxy (whose header it is)");
    if ((tls_cert == NULL) != (tls_key == NULL))
        return bad_arg(tls_cert ? "--tls-cert" : "--tls-key", "needs --tls-cert and --tls-key");
    cfg.tls_cert_pem = tls_cert;
    cfg.tls_key_pem = tls_key;
    if (cfg.join && (!cfg.raft_addr || !cfg.http_addr))
        return bad_arg("--join", "needs --raft and --http (the addresses given to node.add)");
    log_set_level(level);

    /* Block the stop signals before any thread exists, so every thread inherits
     * the mask and only sigwait below receives them. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);

    node *n;
    int started = node_start(&n, &cfg, err, sizeof err);
    if (tls_key) /* the gateway keeps its own copy */
        explicit_bzero(tls_key, strlen(tls_key));
    if (started != 0) {
        log_msg(LOG_LEVEL_ERROR, "start failed: %s", err);
        return 1;
    }
    int sig = 0;
    while (sigwait(&stop, &sig) != 0)
        ;
    log_msg(LOG_LEVEL_INFO, "received %s, stopping", sig == SIGINT ? "SIGINT" : "SIGTERM");
    node_stop(n);
    log_msg(LOG_LEVEL_INFO, "stopped");
    return 0;
}
