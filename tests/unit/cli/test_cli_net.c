/*
 * test_cli_net.c — the read commands against a real gateway in this process:
 * a ledger with a few units and one refused transaction (the chain tests'
 * helper), gw_start on a free port, and the commands called as main() would
 * with stdout and stderr caught. Each command's exit contract is checked
 * against the node's real answers: 0 found / accepted, 1 refused or not
 * there (named), 2 usage, 3 unknown (no node answered); a node list whose
 * first node is down is served by the next.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "helper_chain.h"
#include "node/gateway.h"

static hc_env E;
static gw *G;
static char base[64], both[160], dir[64];
static char ok_id[65], bad_id[65], key[128], genfile[128], brandkey[128], session[128];
static char url_owned[256], url_recalled[256], url_forged[256], url_unknown[256];

/* The label URL of GT/serial in lot L1, signed with sk. */
static void label_url(char out[256], const char *serial, const uint8_t *sk)
{
    uint8_t msg[CHAIN_HASH_LEN], sig[CHAIN_SIG_LEN];
    chain_label_hash(msg, E.g->chain_id, HC_GTIN, serial, "L1", "");
    assert_int_equal(chain_sign(sig, sk, msg), CHAIN_OK);
    char b64[100];
    chain_b64url(b64, sig, sizeof sig);
    snprintf(out, 256, "https://id.example/01/%s/21/%s?10=L1&sig=%s", HC_GTIN, serial, b64);
}
#define DOWN "http://127.0.0.1:1"
#define GT   HC_GTIN

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &al), 0);
    close(fd);
    return ntohs(a.sin_port);
}

/* One transaction of `who` in its own block; its id in hex. */
static void apply_one(int who, chain_tx *tx, char id[65], int want)
{
    uint8_t *buf;
    size_t len;
    hc_encode(&E, who, tx, &buf, &len);
    chain_apply_result res;
    assert_int_equal(hc_block(&E, &res, &buf, &len, 1), CHAIN_OK);
    assert_int_equal(res.receipts[0].code, want);
    chain_hex(id, res.receipts[0].tx, CHAIN_HASH_LEN);
    chain_apply_result_free(&res);
}

static int setup(void **st)
{
    (void)st;
    unsetenv("PROVENA_NODE");
    hc_setup(&E);
    hc_unit_delivered(&E, "NETA1");
    hc_unit_owned(&E, "NETB2", HK_ALICE);
    gs1_sgtin u = hc_unit(GT, "NETA1");
    chain_tx tx = hc_tx(CHAIN_TX_FLAG);
    tx.units = &u;
    tx.nunits = 1;
    tx.reason = CHAIN_FLAG_RECALLED;
    snprintf(tx.note, sizeof tx.note, "batch check");
    apply_one(HK_BRAND, &tx, ok_id, CHAIN_OK);
    tx = hc_tx(CHAIN_TX_PICKUP); /* a carrier cannot pick up a sold unit */
    gs1_sgtin sold = hc_unit(GT, "NETB2");
    tx.units = &sold;
    tx.nunits = 1;
    apply_one(HK_CARRIER, &tx, bad_id, CHAIN_ERR_BAD_STATE);
    gw_deps deps = {.chain = E.c, .genesis = E.g, .node_id = 1, .resolver = "http://127.0.0.1"};
    char err[256] = "";
    for (int tries = 0; tries < 20; tries++) {
        char listen[64];
        int port = free_port();
        snprintf(listen, sizeof listen, "127.0.0.1:%d", port);
        gw_config cfg = {.listen = listen, .threads = 2};
        if (gw_start(&G, &cfg, &deps, err, sizeof err) == 0) {
            snprintf(base, sizeof base, "http://127.0.0.1:%d", port);
            snprintf(both, sizeof both, "%s,%s", DOWN, base);
            strcpy(dir, "/tmp/provena-clinet-XXXXXX");
            if (!mkdtemp(dir))
                return -1;
            snprintf(key, sizeof key, "%s/brand.key", dir);
            /* the brand's own key, as a key file */
            snprintf(brandkey, sizeof brandkey, "%s/acme.key", dir);
            char hex[65];
            chain_hex(hex, E.sk[HK_BRAND], 32);
            FILE *kf = fopen(brandkey, "w");
            if (!kf)
                return -1;
            fprintf(kf, "%s\n", hex);
            fclose(kf);
            snprintf(session, sizeof session, "%s/session", dir);
            /* the network's genesis, as its node serves it */
            snprintf(genfile, sizeof genfile, "%s/genesis.json", dir);
            char cmd[512];
            snprintf(cmd, sizeof cmd, "curl -sf -o %s %s/api/v1/genesis", genfile, base);
            if (system(cmd) != 0)
                return -1;
            label_url(url_owned, "NETB2", E.sk[HK_BRAND]);
            label_url(url_recalled, "NETA1", E.sk[HK_BRAND]);
            label_url(url_forged, "NETB2", E.sk[HK_SELLER]);
            label_url(url_unknown, "NOPE9", E.sk[HK_BRAND]);
            char *kv[] = {"new", key};
            return cli_cmd_key(2, kv) == CLI_OK ? 0 : -1;
        }
    }
    fprintf(stderr, "gw_start: %s\n", err);
    return -1;
}

static int teardown(void **st)
{
    (void)st;
    gw_stop(G);
    hc_teardown(&E);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd);
}

/* Runs fn(argc, argv) with stdout and stderr caught into out (both, in order). */
static int caught(char *out, size_t outlen, int (*fn)(int, char **), int argc, char **argv)
{
    char path[] = "/tmp/provena-out-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    fflush(stdout);
    fflush(stderr);
    int s1 = dup(1), s2 = dup(2);
    dup2(fd, 1);
    dup2(fd, 2);
    int rc = fn(argc, argv);
    fflush(stdout);
    fflush(stderr);
    dup2(s1, 1);
    dup2(s2, 2);
    close(s1);
    close(s2);
    ssize_t n = pread(fd, out, outlen - 1, 0);
    out[n > 0 ? n : 0] = '\0';
    close(fd);
    unlink(path);
    return rc;
}

/* `provena VERB ARGS...` with the verb as argv[0] */
static int lifecycle(int argc, char **argv)
{
    return cli_cmd_lifecycle(argv[0], argc - 1, argv + 1);
}

typedef struct net_case {
    int (*fn)(int, char **);
    int rc;
    const char *want; /* in what it printed */
    const char *argv[24];
} net_case;

/* "BASE" stands for the gateway's URL, "BOTH" for a down node then it, "OK"
 * and "BAD" for the accepted and the refused tx's ids, "OUT" for a file in
 * the test's directory. */
static const net_case cases[] = {
    /* provena status */
    {cli_cmd_status, CLI_OK, "head: height 9", {"--node", "BASE"}},
    {cli_cmd_status, CLI_OK, "\"status\"", {"--node", "BASE", "--json"}},
    {cli_cmd_status, CLI_FAIL, "http://127.0.0.1:1", {"--node", DOWN}},
    {cli_cmd_status, CLI_USAGE, "unknown option", {"--node", "BASE", "--colour"}},
    /* provena history */
    {cli_cmd_history, CLI_OK, "history (4 events, as of block 9)", {GT "/NETA1", "--node", "BASE"}},
    {cli_cmd_history, CLI_OK, "reason recalled \"batch check\"", {GT "/NETA1", "--node", "BASE"}},
    {cli_cmd_history, CLI_OK, "owner ", {GT "/NETB2", "--node", "BASE", "--min-height", "9"}},
    {cli_cmd_history, CLI_OK, "\"history\"", {GT "/NETB2", "--node", "BOTH", "--json"}},
    {cli_cmd_history, CLI_FAIL, "unknown_unit", {GT "/NOPE", "--node", "BASE"}},
    {cli_cmd_history, CLI_FAIL, "no_such.", {GT "/no_such.", "--node", "BASE"}},
    {cli_cmd_history, CLI_FAIL, GT "/NETA1", {GT "/NETA1", "--node", DOWN}},
    {cli_cmd_history, CLI_USAGE, "unit 'x'", {"x", "--node", "BASE"}},
    {cli_cmd_history,
     CLI_USAGE,
     "--min-height '9223372036854775808'",
     {GT "/NETA1", "--node", "BASE", "--min-height", "9223372036854775808"}},
    /* provena tx status */
    {cli_cmd_tx, CLI_OK, "accepted at height 8", {"status", "OK", "--node", "BASE"}},
    {cli_cmd_tx, CLI_OK, "accepted at height 8", {"status", "OK", "--node", "BOTH"}},
    {cli_cmd_tx, CLI_OK, "\"status\":\"accepted\"", {"status", "OK", "--node", "BASE", "--json"}},
    {cli_cmd_tx, CLI_FAIL, "refused at height 9: bad_state", {"status", "BAD", "--node", "BASE"}},
    {cli_cmd_tx,
     CLI_FAIL,
     "\"status\":\"rejected\"",
     {"status", "BAD", "--node", "BASE", "--json"}},
    {cli_cmd_tx,
     CLI_UNKNOWN,
     "not in the ledger",
     {"status", "00000000000000000000000000000000000000000000000000000000000000aa", "--node",
      "BASE", "--wait", "1"}},
    {cli_cmd_tx,
     CLI_UNKNOWN,
     "\"status\":\"unknown\"",
     {"status", "00000000000000000000000000000000000000000000000000000000000000aa", "--node",
      "BASE", "--json"}},
    {cli_cmd_tx, CLI_USAGE, "--wait", {"status", "OK", "--node", "BASE", "--wait", "x"}},
    {cli_cmd_tx, CLI_USAGE, "--node", {"status", "OK", "--node", "http://a,,http://b"}},
    {cli_cmd_tx, CLI_USAGE, "unknown subcommand", {"stats"}},
    {cli_cmd_tx, CLI_USAGE, "unknown subcommand", {NULL}},
    {cli_cmd_tx, CLI_HELP, "usage: provena tx status", {"--help"}},
    /* provena epcis export */
    {cli_cmd_epcis,
     CLI_OK,
     "",
     {"export", "--gtin", GT, "--lot", "L1", "--out", "OUT", "--node", "BASE"}},
    {cli_cmd_epcis,
     CLI_OK,
     "",
     {"export", "--gtin", GT, "--lot", "L1", "--from", "2000-01-01T00:00:00Z", "--to",
      "2999-01-01T00:00:00Z", "--out", "OUT", "--node", "BASE"}},
    {cli_cmd_epcis,
     CLI_USAGE,
     "GE_eventTime",
     {"export", "--gtin", GT, "--lot", "L1", "--from", "yesterday", "--out", "OUT", "--node",
      "BASE"}},
    {cli_cmd_epcis,
     CLI_FAIL,
     "http://127.0.0.1:1",
     {"export", "--gtin", GT, "--lot", "L1", "--out", "OUT", "--node", DOWN}},
    {cli_cmd_epcis,
     CLI_FAIL,
     "/nonexistent/dir/x.json",
     {"export", "--gtin", GT, "--lot", "L1", "--out", "/nonexistent/dir/x.json", "--node", "BASE"}},
    {cli_cmd_epcis, CLI_USAGE, "unknown subcommand 'import'", {"import", "--out", "OUT"}},
    {cli_cmd_epcis, CLI_USAGE, "--gtin", {"export", "--gtin", "123", "--lot", "L1"}},
    {cli_cmd_epcis, CLI_USAGE, "--gtin", {"export", "--lot", "L1"}},
    {cli_cmd_epcis, CLI_USAGE, "--lot", {"export", "--gtin", GT, "--lot", "a b"}},
    {cli_cmd_epcis, CLI_USAGE, "--lot", {"export", "--gtin", GT}},
    {cli_cmd_epcis, CLI_USAGE, "--out: required", {"export", "--gtin", GT, "--lot", "L1"}},
    /* provena verify: the label offline, then the node's verdict */
    {cli_cmd_verify,
     CLI_OK,
     "label signature GENUINE, signed by Acme (acme)\nnode verdict: genuine",
     {"OWNED", "--genesis", "GENFILE", "--node", "BASE"}},
    {cli_cmd_verify,
     CLI_OK,
     "\"verdict\":{",
     {"OWNED", "--genesis", "GENFILE", "--node", "BASE", "--json"}},
    {cli_cmd_verify,
     CLI_OK,
     "node verdict: recalled (",
     {"RECALLED", "--genesis", "GENFILE", "--node", "BASE"}},
    {cli_cmd_verify,
     CLI_FAIL,
     "NOT GENUINE: bad label signature",
     {"FORGED", "--genesis", "GENFILE", "--node", "BASE"}},
    {cli_cmd_verify,
     CLI_FAIL,
     "\"signature\":\"bad\",\"reason\":\"bad label signature",
     {"FORGED", "--genesis", "GENFILE", "--offline", "--json"}},
    {cli_cmd_verify,
     CLI_FAIL,
     "unknown_unit: no unit with this GTIN and serial",
     {"UNKNOWN", "--genesis", "GENFILE", "--node", "BASE"}},
    {cli_cmd_verify,
     CLI_FAIL,
     "provena verify: node http://127.0.0.1:1",
     {"OWNED", "--genesis", "GENFILE", "--node", DOWN}},
    {cli_cmd_verify,
     CLI_FAIL,
     "no sig= parameter",
     {"https://id.example/01/" GT "/21/NETB2", "--genesis", "GENFILE", "--offline"}},
    {cli_cmd_verify,
     CLI_FAIL,
     "not a base64url 64-byte signature",
     {"https://id.example/01/" GT "/21/NETB2?sig=abc", "--genesis", "GENFILE", "--offline"}},
    {cli_cmd_verify,
     CLI_FAIL,
     "--genesis /nonexistent/g.json",
     {"OWNED", "--genesis", "/nonexistent/g.json", "--offline"}},
    {cli_cmd_verify, CLI_USAGE, "URL 'x'", {"x", "--genesis", "GENFILE"}},
    /* provena chain audit: the node's whole chain replayed from the genesis */
    {cli_cmd_chain,
     CLI_OK,
     "audit OK: 9 blocks, 9 txs, 2 units re-verified from genesis",
     {"audit", "--node", "BASE", "--genesis", "GENFILE"}},
    {cli_cmd_chain,
     CLI_OK,
     "\"ok\":true",
     {"audit", "--node", "BASE", "--genesis", "GENFILE", "--json"}},
    {cli_cmd_chain,
     CLI_FAIL,
     "http://127.0.0.1:1",
     {"audit", "--node", DOWN, "--genesis", "GENFILE"}},
    {cli_cmd_chain,
     CLI_FAIL,
     "/nonexistent/g.json",
     {"audit", "--node", "BASE", "--genesis", "/nonexistent/g.json"}},
    {cli_cmd_chain, CLI_USAGE, "--genesis", {"audit", "--node", "BASE"}},
    {cli_cmd_chain, CLI_USAGE, "usage: provena chain audit", {"verify"}},
    {cli_cmd_chain, CLI_OK, "usage: provena chain audit", {"--help"}},
    /* provena dashboard login: a brand key signs the node's challenge */
    {cli_cmd_dashboard,
     CLI_OK,
     "signed in to",
     {"login", "--node", "BASE", "--key", "BRANDKEY", "--out", "SESSION"}},
    {cli_cmd_dashboard,
     CLI_FAIL,
     "--out: ",
     {"login", "--node", "BASE", "--key", "BRANDKEY", "--out", "SESSION"}}, /* never overwritten */
    {cli_cmd_dashboard, CLI_OK, "signed in to", {"login", "--node", "BASE", "--key", "BRANDKEY"}},
    {cli_cmd_dashboard, CLI_FAIL, "refused", {"login", "--node", "BASE", "--key", "KEY"}},
    {cli_cmd_dashboard,
     CLI_FAIL,
     "http://127.0.0.1:1",
     {"login", "--node", DOWN, "--key", "BRANDKEY"}},
    {cli_cmd_dashboard,
     CLI_FAIL,
     "/nonexistent/k",
     {"login", "--node", "BASE", "--key", "/nonexistent/k"}},
    {cli_cmd_dashboard,
     CLI_USAGE,
     "--node: one node",
     {"login", "--node", "BOTH", "--key", "BRANDKEY"}},
    {cli_cmd_dashboard, CLI_USAGE, "--key: required", {"login", "--node", "BASE", "--key", ""}},
    {cli_cmd_dashboard, CLI_USAGE, "unknown subcommand logout", {"logout"}},
    {cli_cmd_dashboard, CLI_USAGE, "unknown subcommand (none)", {NULL}},
    {cli_cmd_dashboard, CLI_HELP, "usage: provena dashboard login", {"-h"}},
    /* writes: the chain id, nonce and participants come from the node; this node
     * takes no submissions (503 no_leader), so after --timeout the outcome is
     * unknown (exit 3), never a failure */
    {lifecycle,
     CLI_UNKNOWN,
     "it may still commit. Ask with: provena tx status",
     {"deliver", GT "/NETA1", "--to", "Seller A", "--key", "KEY", "--node", "BOTH", "--timeout",
      "1"}},
    {lifecycle,
     CLI_UNKNOWN,
     "no_leader",
     {"node", "add", "--id", "3", "--raft", "tcp://127.0.0.1:7103", "--http",
      "http://127.0.0.1:8103", "--pub",
      "79be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798", "--key", "KEY", "--node",
      "BASE", "--timeout", "1"}},
    {lifecycle,
     CLI_FAIL,
     "http://127.0.0.1:1",
     {"pickup", GT "/NETA1", "--key", "KEY", "--node", DOWN, "--timeout", "1"}},
    {cli_cmd_mint,
     CLI_FAIL,
     "http://127.0.0.1:1",
     {"--gtin", GT, "--lot", "L9", "--count", "1", "--key", "KEY", "--node", DOWN}},
};

static void test_read_commands_against_a_node(void **st)
{
    (void)st;
    char outfile[128];
    snprintf(outfile, sizeof outfile, "%s/lot.json", dir);
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const net_case *c = &cases[i];
        char *argv[24];
        int argc = 0;
        for (int k = 0; c->argv[k]; k++) {
            const char *a = c->argv[k];
            argv[argc++] = (char *)(!strcmp(a, "BASE")       ? base
                                    : !strcmp(a, "BOTH")     ? both
                                    : !strcmp(a, "OK")       ? ok_id
                                    : !strcmp(a, "BAD")      ? bad_id
                                    : !strcmp(a, "OUT")      ? outfile
                                    : !strcmp(a, "KEY")      ? key
                                    : !strcmp(a, "GENFILE")  ? genfile
                                    : !strcmp(a, "BRANDKEY") ? brandkey
                                    : !strcmp(a, "SESSION")  ? session
                                    : !strcmp(a, "OWNED")    ? url_owned
                                    : !strcmp(a, "RECALLED") ? url_recalled
                                    : !strcmp(a, "FORGED")   ? url_forged
                                    : !strcmp(a, "UNKNOWN")  ? url_unknown
                                                             : a);
        }
        argv[argc] = NULL;
        char out[16384];
        unlink(outfile);
        int rc = caught(out, sizeof out, c->fn, argc, argv);
        if (rc != c->rc || !strstr(out, c->want))
            fail_msg("case %zu (%s %s): exit %d, want %d; printed \"%.600s\", want \"%s\"", i,
                     argc ? argv[0] : "", argc > 1 ? argv[1] : "", rc, c->rc, out, c->want);
        /* an export writes its file whole or not at all */
        bool wrote = access(outfile, F_OK) == 0;
        if (c->fn == cli_cmd_epcis && wrote != (rc == CLI_OK))
            fail_msg("case %zu: exit %d but the file %s", i, rc, wrote ? "exists" : "is missing");
    }
}

/* The export is one EPCISDocument with every event of the lot's units. */
static void test_epcis_export_holds_the_lot(void **st)
{
    (void)st;
    char outfile[128], out[4096];
    snprintf(outfile, sizeof outfile, "%s/lot2.json", dir);
    char *argv[] = {"export", "--gtin", GT, "--lot", "L1", "--out", outfile, "--node", base};
    assert_int_equal(caught(out, sizeof out, cli_cmd_epcis, 9, argv), CLI_OK);
    json_error_t je;
    json_t *doc = json_load_file(outfile, 0, &je);
    if (!doc)
        fail_msg("%s: line %d: %s", outfile, je.line, je.text);
    assert_string_equal(json_string_value(json_object_get(doc, "type")), "EPCISDocument");
    json_t *list = json_object_get(json_object_get(json_object_get(doc, "epcisBody"), "eventList")
                                       ? json_object_get(doc, "epcisBody")
                                       : NULL,
                                   "eventList");
    /* NETA1: mint, pickup, deliver, flag; NETB2: mint, pickup, deliver, sell */
    assert_int_equal(json_array_size(list), 8);
    json_decref(doc);
    unlink(outfile);
}

/* The session the table's login wrote: a new file of mode 0600 holding one
 * token, which the node takes as a Bearer session. */
static void test_dashboard_session_file(void **st)
{
    (void)st;
    struct stat sb;
    assert_int_equal(stat(session, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    char tok[256] = "", cmd[600];
    FILE *f = fopen(session, "r");
    assert_non_null(f);
    assert_non_null(fgets(tok, sizeof tok, f));
    fclose(f);
    tok[strcspn(tok, "\n")] = '\0';
    assert_true(strlen(tok) >= 32);
    snprintf(cmd, sizeof cmd,
             "curl -s -o /dev/null -w %%{http_code} -H 'Authorization: Bearer %s' "
             "%s/api/v1/analytics | grep -qx 200",
             tok, base);
    assert_int_equal(system(cmd), 0);
    snprintf(cmd, sizeof cmd,
             "curl -s -o /dev/null -w %%{http_code} -H 'Authorization: Bearer %.*sx' "
             "%s/api/v1/analytics | grep -qx 401",
             (int)strlen(tok) - 1, tok, base);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_read_commands_against_a_node),
        cmocka_unit_test(test_epcis_export_holds_the_lot),
        cmocka_unit_test(test_dashboard_session_file),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
