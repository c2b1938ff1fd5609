/*
 * test_cli_commands.c — commands called as main() would, without a network:
 * exit codes (0 success, 1 failure, 2 usage), key files, genesis editing that
 * validates before writing (a refused edit leaves the file byte-identical),
 * mint usage errors naming the argument, and offline verify of a dry-run label.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "genesis/genesis.h"

static char dir[64];
static char brand_key[128], node_key[128], gen[128];

#define RUN(fn, ...)                                                                               \
    ({                                                                                             \
        char *argv_[] = {__VA_ARGS__};                                                             \
        fn((int)(sizeof argv_ / sizeof *argv_), argv_);                                            \
    })

static int rm_entry(const char *p, const struct stat *sb, int f, struct FTW *w)
{
    (void)sb;
    (void)f;
    (void)w;
    return remove(p);
}

static char *slurp(const char *path)
{
    char *buf = NULL, e[128];
    size_t len;
    if (cli_file_read(&buf, &len, path, 1u << 20, e, sizeof e) != 0)
        return NULL;
    return buf;
}

static int setup(void **st)
{
    (void)st;
    strcpy(dir, "/tmp/provena-cmd-XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    snprintf(brand_key, sizeof brand_key, "%s/brand.key", dir);
    snprintf(node_key, sizeof node_key, "%s/node.key", dir);
    snprintf(gen, sizeof gen, "%s/genesis.json", dir);
    return 0;
}

static int teardown(void **st)
{
    (void)st;
    return nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

static void pub_of(char out[65], const char *key)
{
    uint8_t sk[32], pub[32];
    char e[128];
    assert_int_equal(cli_key_read(sk, key, e, sizeof e), 0);
    assert_int_equal(chain_key_pub(pub, sk), CHAIN_OK);
    chain_hex(out, pub, 32);
}

static void test_key_new_then_refuses_overwrite(void **st)
{
    (void)st;
    assert_int_equal(RUN(cli_cmd_key, "new", brand_key), CLI_OK);
    assert_int_equal(RUN(cli_cmd_key, "new", brand_key), CLI_FAIL);
    assert_int_equal(RUN(cli_cmd_key, "new", node_key), CLI_OK);
    assert_int_equal(RUN(cli_cmd_key, "pub", brand_key), CLI_OK);
    assert_int_equal(RUN(cli_cmd_key, "bogus"), CLI_USAGE);
    assert_int_equal(RUN(cli_cmd_key, "new"), CLI_USAGE);
}

static void test_genesis_build_validate_show(void **st)
{
    (void)st;
    char npub[65];
    pub_of(npub, node_key);
    assert_int_equal(RUN(cli_cmd_genesis, "init", "--chain", "t-net", "--brand-key", brand_key,
                         "--brand-id", "acme", "--prefix", "9506000", "--out", gen),
                     CLI_OK);
    /* a draft without nodes is valid but not final */
    assert_int_equal(RUN(cli_cmd_genesis, "show", gen), CLI_FAIL);
    assert_int_equal(RUN(cli_cmd_genesis, "add-node", gen, "--id", "1", "--raft",
                         "tcp://127.0.0.1:7101", "--http", "http://127.0.0.1:8101", "--pub", npub),
                     CLI_OK);
    assert_int_equal(RUN(cli_cmd_genesis, "show", gen), CLI_OK);
    chain_genesis *g = NULL;
    char e[256];
    assert_int_equal(genesis_load(&g, gen, e, sizeof e), CHAIN_OK);
    assert_int_equal(g->nnodes, 1);
    assert_string_equal(g->nodes[0].operator_id, "acme");
    chain_genesis_free(g);
}

static void test_genesis_refused_edit_leaves_file_unchanged(void **st)
{
    (void)st;
    char npub[65];
    pub_of(npub, node_key);
    char *before = slurp(gen);
    assert_non_null(before);
    /* the node key is already used by node 1: the genesis would be invalid */
    assert_int_equal(RUN(cli_cmd_genesis, "add-participant", gen, "--role", "carrier", "--id",
                         "dhl", "--name", "DHL", "--pub", npub),
                     CLI_FAIL);
    /* a node id used twice */
    assert_int_equal(RUN(cli_cmd_genesis, "add-node", gen, "--id", "1", "--raft",
                         "tcp://127.0.0.1:7102", "--http", "http://127.0.0.1:8102", "--pub",
                         "79be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798"),
                     CLI_FAIL);
    char *after = slurp(gen);
    assert_non_null(after);
    assert_string_equal(before, after);
    free(before);
    free(after);
    /* usage errors */
    assert_int_equal(RUN(cli_cmd_genesis, "add-participant", gen, "--role", "pilot", "--id", "x",
                         "--name", "X", "--pub", npub),
                     CLI_USAGE);
    assert_int_equal(RUN(cli_cmd_genesis, "add-participant", gen, "--role", "seller", "--id", "x",
                         "--name", "X", "--pub", "abc"),
                     CLI_USAGE);
    assert_int_equal(RUN(cli_cmd_genesis, "init", "--chain", "x"), CLI_USAGE);
}

static void test_mint_usage_errors(void **st)
{
    (void)st;
    assert_int_equal(RUN(cli_cmd_mint, "--gtin", "09506000123456", "--lot", "L", "--count", "1"),
                     CLI_USAGE); /* check digit */
    assert_int_equal(RUN(cli_cmd_mint, "--gtin", "09506000123455", "--count", "1"), CLI_USAGE);
    assert_int_equal(RUN(cli_cmd_mint, "--gtin", "09506000123455", "--lot", "L", "--count", "0"),
                     CLI_USAGE);
    assert_int_equal(RUN(cli_cmd_mint, "--gtin", "09506000123455", "--lot", "L", "--count", "1",
                         "--expiry", "281331"),
                     CLI_USAGE);
    assert_int_equal(RUN(cli_cmd_mint, "--gtin", "09506000123455", "--lot", "L", "--count", "1",
                         "--markets", "DEU"),
                     CLI_USAGE);
    assert_int_equal(RUN(cli_cmd_mint, "--gtin", "09506000123455", "--lot", "L", "--count", "1",
                         "--batch", "10001"),
                     CLI_USAGE);
    assert_int_equal(RUN(cli_cmd_mint, "--gtin", "09506000123455", "--lot", "L", "--count", "1",
                         "--key", brand_key, "--dry-run"),
                     CLI_USAGE); /* dry run needs --genesis */
}

static void test_mint_dry_run_csv_and_offline_verify(void **st)
{
    (void)st;
    char csv[160];
    snprintf(csv, sizeof csv, "%s/units.csv", dir);
    fflush(stdout);
    assert_int_equal(RUN(cli_cmd_mint, "--gtin", "9506000123455", "--lot", "L1", "--expiry",
                         "281231", "--count", "3", "--key", brand_key, "--genesis", gen,
                         "--dry-run", "--csv", csv, "--resolver", "https://id.example"),
                     CLI_OK);
    FILE *f = fopen(csv, "r");
    assert_non_null(f);
    char line[1024], url[1024] = "";
    int n = 0;
    assert_non_null(fgets(line, sizeof line, f));
    assert_string_equal(line, "gtin,serial,lot,expiry,url\n");
    while (fgets(line, sizeof line, f)) {
        n++;
        assert_int_equal(strncmp(line, "09506000123455,", 15), 0);
        char *u = strrchr(line, ',');
        assert_non_null(u);
        snprintf(url, sizeof url, "%s", u + 1);
        url[strcspn(url, "\n")] = '\0';
    }
    fclose(f);
    assert_int_equal(n, 3);
    assert_non_null(strstr(url, "https://id.example/01/09506000123455/21/"));
    assert_int_equal(RUN(cli_cmd_verify, url, "--genesis", gen, "--offline"), CLI_OK);
    char *s = strstr(url, "/21/") + 4;
    *s = *s == 'A' ? 'B' : 'A'; /* one character of the serial changed */
    assert_int_equal(RUN(cli_cmd_verify, url, "--genesis", gen, "--offline"), CLI_FAIL);
    assert_int_equal(RUN(cli_cmd_verify, url, "--offline"), CLI_USAGE);
}

/* A receipt or a refusal of the bytes is definite; anything else is "retry". */
static int sell(int argc, char **argv)
{
    return cli_cmd_lifecycle("sell", argc, argv);
}

static void test_submit_classify_definite_or_retry(void **st)
{
    (void)st;
    static const char acc[] = "{\"tx\":\"ab\",\"status\":\"accepted\",\"height\":3}";
    static const char rej[] = "{\"tx\":\"ab\",\"status\":\"rejected\",\"code\":\"bad_state\"}";
    static const char get[] = "{\"receipt\":{\"status\":\"accepted\"},\"tx\":{}}";
    static const char err[] = "{\"error\":{\"code\":\"no_leader\",\"message\":\"\"}}";
    json_t *r = NULL;
    assert_int_equal(cli_submit_classify(200, acc, strlen(acc), &r), CLI_SUBMIT_ACCEPTED);
    assert_string_equal(json_string_value(json_object_get(r, "status")), "accepted");
    json_decref(r);
    r = NULL;
    assert_int_equal(cli_submit_classify(409, rej, strlen(rej), &r), CLI_SUBMIT_REFUSED);
    assert_non_null(r);
    json_decref(r);
    assert_int_equal(cli_submit_classify(200, get, strlen(get), NULL), CLI_SUBMIT_ACCEPTED);
    assert_int_equal(cli_submit_classify(400, err, strlen(err), NULL), CLI_SUBMIT_REFUSED);
    assert_int_equal(cli_submit_classify(413, "", 0, NULL), CLI_SUBMIT_REFUSED);
    /* no outcome: no leader, stopping, timeout, rate limit, a local failure, garbage */
    r = NULL;
    assert_int_equal(cli_submit_classify(503, err, strlen(err), &r), CLI_SUBMIT_RETRY);
    assert_null(r);
    assert_int_equal(cli_submit_classify(504, err, strlen(err), NULL), CLI_SUBMIT_RETRY);
    assert_int_equal(cli_submit_classify(429, "", 0, NULL), CLI_SUBMIT_RETRY);
    assert_int_equal(cli_submit_classify(500, "", 0, NULL), CLI_SUBMIT_RETRY);
    assert_int_equal(cli_submit_classify(200, "{\"status\":", 11, NULL), CLI_SUBMIT_RETRY);
    assert_int_equal(cli_submit_classify(202, "{\"status\":\"queued\"}", 19, NULL),
                     CLI_SUBMIT_RETRY);
}

/* With no node reachable the sale's outcome is unknown (exit 3, never 1), and
 * the claim code was written (0600) before anything was sent; an existing
 * --code-out file is never overwritten and nothing is submitted then. */
static void test_sell_code_out_written_first_and_unknown_exit(void **st)
{
    (void)st;
    char out[160];
    snprintf(out, sizeof out, "%s/code.txt", dir);
    int rc = RUN(sell, "09506000123455/ABC123", "--claim-code", "--code-out", out, "--key",
                 brand_key, "--genesis", gen, "--nonce", "7", "--node",
                 "http://127.0.0.1:1,http://127.0.0.1:2", "--timeout", "1");
    assert_int_equal(rc, CLI_UNKNOWN);
    struct stat sb;
    assert_int_equal(stat(out, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    char *code = slurp(out);
    assert_non_null(code);
    assert_int_equal(strlen(code), CLI_CODE_LEN + 1); /* XXXX-XXXX-XXXX-XXXX\n */
    /* a second sale refuses to overwrite the secret: a plain failure, nothing sent */
    rc = RUN(sell, "09506000123455/ABC123", "--claim-code", "--code-out", out, "--key", brand_key,
             "--genesis", gen, "--nonce", "7", "--node", "http://127.0.0.1:1", "--timeout", "1");
    assert_int_equal(rc, CLI_FAIL);
    char *again = slurp(out);
    assert_string_equal(again, code);
    free(code);
    free(again);
    assert_int_equal(RUN(sell, "09506000123455/ABC123", "--buyer",
                         "0000000000000000000000000000000000000000000000000000000000000001",
                         "--code-out", out, "--key", brand_key),
                     CLI_USAGE);
    assert_int_equal(RUN(sell, "09506000123455/ABC123", "--claim-code", "--key", brand_key,
                         "--genesis", gen, "--nonce", "7", "--timeout", "0"),
                     CLI_USAGE);
    assert_int_equal(RUN(cli_cmd_tx, "status", "zz"), CLI_USAGE);
    assert_int_equal(RUN(cli_cmd_tx, "status",
                         "00000000000000000000000000000000000000000000000000000000000000aa",
                         "--node", "http://127.0.0.1:1"),
                     CLI_UNKNOWN);
}

/* ---- lifecycle and governance commands: every argument checked before signing ---------- */

/* Runs `provena VERB ARGS...` with stderr and stdout (help goes there)
 * caught; returns the exit code and leaves what it printed in err. */
static int run_caught(char *err, size_t errlen, const char *verb, int argc, char **argv)
{
    char path[] = "/tmp/provena-err-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    fflush(stdout);
    fflush(stderr);
    int saved = dup(2), saved1 = dup(1);
    dup2(fd, 2);
    dup2(fd, 1);
    int rc = cli_cmd_lifecycle(verb, argc, argv);
    fflush(stdout);
    fflush(stderr);
    dup2(saved, 2);
    dup2(saved1, 1);
    close(saved);
    close(saved1);
    ssize_t n = pread(fd, err, errlen - 1, 0);
    err[n > 0 ? n : 0] = '\0';
    close(fd);
    unlink(path);
    return rc;
}

#define U   "09506000123455/A1"
#define PUB "79be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798"

typedef struct arg_case {
    int rc;
    const char *want; /* in what it printed to stderr */
    const char *argv[16];
} arg_case;

/* argv[0] is the verb; "KEY" and "GEN" stand for the test's key and genesis. */
static const arg_case arg_cases[] = {
    {CLI_USAGE, "no units given", {"pickup", "--key", "KEY"}},
    {CLI_USAGE, "unit 'x'", {"pickup", "x"}},
    {CLI_USAGE, "--region", {"pickup", "--region", "de-by!", U}},
    {CLI_USAGE, "--file", {"pickup", "--file", "/nonexistent/units.txt"}},
    {CLI_USAGE, "--key: required", {"pickup", U}},
    {CLI_USAGE, "--timeout", {"pickup", U, "--key", "KEY", "--timeout", "0"}},
    {CLI_FAIL, "--key", {"pickup", U, "--key", "/nonexistent/k"}},
    {CLI_USAGE, "--node", {"pickup", U, "--key", "KEY", "--node", "http://a,,http://b"}},
    {CLI_FAIL,
     "/nonexistent/g.json",
     {"pickup", U, "--key", "KEY", "--genesis", "/nonexistent/g.json"}},
    {CLI_USAGE, "--nonce", {"pickup", U, "--key", "KEY", "--genesis", "GEN", "--nonce", "0"}},
    {CLI_USAGE, "unknown option --bogus", {"pickup", U, "--bogus"}},
    {CLI_USAGE, "--to: required", {"deliver", U}},
    {CLI_USAGE, "--reason", {"flag", U}},
    {CLI_USAGE, "--reason", {"unflag", U, "--reason", "lost"}},
    {CLI_USAGE, "--note: longer than 256", {"flag", U, "--reason", "stolen", "--note", "LONGNOTE"}},
    {CLI_USAGE, "exactly one of --buyer", {"sell", U}},
    {CLI_USAGE, "exactly one of --buyer", {"sell", U, "--claim-code", "--buyer", PUB}},
    {CLI_USAGE,
     "--code-out: only with --claim-code",
     {"sell", U, "--buyer", PUB, "--code-out", "/tmp/x"}},
    {CLI_USAGE, "--buyer: not 64 hex", {"sell", U, "--buyer", "abc"}},
    {CLI_USAGE, "--region", {"sell", U, "--buyer", PUB, "--region", "x"}},
    {CLI_USAGE, "missing argument", {"sell", "--buyer", PUB}},
    {CLI_USAGE, "--code: required", {"claim", U}},
    {CLI_USAGE, "--code: required", {"claim", U, "--code", ""}},
    {CLI_USAGE, "--code: required", {"claim", U, "--code", "LONGCODE"}},
    {CLI_USAGE, "--to: not 64 hex", {"transfer", U, "--to", "abc"}},
    {CLI_USAGE, "--to: not 64 hex", {"transfer", U}},
    {CLI_USAGE, "usage: provena warranty", {"warranty"}},
    {CLI_USAGE, "usage: provena warranty", {"warranty", "renew", U}},
    {CLI_USAGE, "--months: a number 1..1200", {"warranty", "extend", U}},
    {CLI_USAGE, "--months: a number 1..1200", {"warranty", "extend", U, "--months", "1201"}},
    {CLI_USAGE, "--months: only for extend", {"warranty", "activate", U, "--months", "1"}},
    {CLI_USAGE, "--outcome: one of", {"warranty", "resolve", U}},
    {CLI_USAGE, "--outcome: one of", {"warranty", "resolve", U, "--outcome", "fixed"}},
    {CLI_USAGE, "--outcome: only for resolve", {"warranty", "claim", U, "--outcome", "repaired"}},
    {CLI_USAGE, "--note: longer than 256", {"warranty", "claim", U, "--note", "LONGNOTE"}},
    {CLI_USAGE, "unit 'x'", {"warranty", "activate", "x"}},
    {CLI_USAGE, "usage: provena participant", {"participant"}},
    {CLI_USAGE, "participant id: required", {"participant", "add", "--pub", PUB}},
    {CLI_USAGE, "participant id: required", {"participant", "revoke", "LONGID"}},
    {CLI_USAGE, "--pub: not 64 hex", {"participant", "add", "--id", "x", "--pub", "ab"}},
    {CLI_USAGE, "--pub: not 64 hex", {"participant", "rotate", "x"}},
    {CLI_USAGE, "--name: required", {"participant", "add", "--id", "x", "--pub", PUB}},
    {CLI_USAGE, "--role: one of", {"participant", "add", "--id", "x", "--pub", PUB, "--name", "X"}},
    {CLI_USAGE,
     "--role: one of",
     {"participant", "add", "--id", "x", "--pub", PUB, "--name", "X", "--role", "brand"}},
    {CLI_USAGE,
     "--regions",
     {"participant", "add", "--id", "x", "--pub", PUB, "--name", "X", "--role", "seller",
      "--regions", "DE,F!"}},
    {CLI_USAGE, "usage: provena node", {"node", "join"}},
    {CLI_USAGE, "--id: a node number", {"node", "remove"}},
    {CLI_USAGE, "--id: a node number", {"node", "remove", "--id", "0"}},
    {CLI_USAGE, "--raft: required", {"node", "add", "--id", "3"}},
    {CLI_USAGE, "--http: required", {"node", "add", "--id", "3", "--raft", "tcp://h:1"}},
    {CLI_USAGE,
     "--pub: not 64 hex",
     {"node", "add", "--id", "3", "--raft", "tcp://h:1", "--http", "http://h:2"}},
    {CLI_USAGE, "usage: provena policy set", {"policy"}},
    {CLI_USAGE, "--scope: '123' is not a GTIN", {"policy", "set", "--scope", "123"}},
    {CLI_USAGE, "--scope: lot", {"policy", "set", "--scope", "09506000123455/a b"}},
    {CLI_USAGE, "--max-clients: a number", {"policy", "set", "--max-clients", "0"}},
    {CLI_USAGE, "--travel-kmh: a number", {"policy", "set", "--travel-kmh", "4294967296"}},
    {CLI_USAGE,
     "--unsold-scan-suspicious: yes or no",
     {"policy", "set", "--unsold-scan-suspicious", "maybe"}},
    {CLI_USAGE, "--outside-markets: yes or no", {"policy", "set", "--outside-markets", "2"}},
    {CLI_USAGE, "unknown command 'fly'", {"fly"}},
    /* help is asked for: usage on stdout, exit 0 */
    {CLI_OK, "usage: provena warranty", {"warranty", "--help"}},
    {CLI_OK, "usage: provena participant", {"participant", "-h"}},
    {CLI_OK, "usage: provena node", {"node", "--help"}},
    {CLI_OK, "usage: provena policy set", {"policy", "--help"}},
    {CLI_USAGE, "usage: provena policy set", {"policy", "get"}},
    /* transfer offers */
    {CLI_USAGE, "--days, --code-out: only for an offer", {"transfer", "cancel", U, "--days", "3"}},
    {CLI_USAGE, "--days: a number 1..", {"transfer", "offer", U, "--days", "0"}},
    {CLI_USAGE, "--days: a number 1..", {"transfer", "offer", U, "--days", "31"}},
    {CLI_USAGE, "unit 'x'", {"transfer", "offer", "x"}},
    {CLI_USAGE, "missing argument", {"transfer", "cancel"}},
    /* node governance: TLS pins go with tls+tcp:// addresses only */
    {CLI_USAGE, "--tls: required (the node's new certificate)", {"node", "rotate", "--id", "2"}},
    {CLI_USAGE,
     "--tls: required with a tls+tcp:// address",
     {"node", "add", "--id", "3", "--raft", "tls+tcp://h:1"}},
    {CLI_USAGE,
     "--tls: the --raft address is not tls+tcp://",
     {"node", "add", "--id", "3", "--raft", "tcp://h:1", "--tls", "/nonexistent/c.pem"}},
    {CLI_USAGE, "--tls: only for add and rotate", {"node", "remove", "--id", "2", "--tls", "x"}},
    {CLI_USAGE, "--tls: ", {"node", "rotate", "--id", "2", "--tls", "/nonexistent/c.pem"}},
    {CLI_USAGE, "--raft: required", {"node", "add", "--id", "3", "--raft", "LONGADDR"}},
    {CLI_USAGE,
     "--http: required",
     {"node", "add", "--id", "3", "--raft", "tcp://h:1", "--http", "LONGADDR"}},
    {CLI_USAGE, "--id: a node number", {"node", "add", "--id", "2147483648"}},
    /* participants */
    {CLI_USAGE,
     "--name: required",
     {"participant", "add", "--id", "x", "--pub", PUB, "--name", "LONGNAME"}},
    {CLI_USAGE, "participant id: required", {"participant", "rotate", "", "--pub", PUB}},
    /* policy values */
    {CLI_USAGE,
     "--unsold-scan-suspicious: yes or no",
     {"policy", "set", "--unsold-scan-suspicious", "YES"}},
    {CLI_USAGE, "--travel-kmh: a number", {"policy", "set", "--travel-kmh", "x"}},
};

/* Each refused argument gives its exit code (2 usage, 1 failure) and a
 * message naming the argument, before anything is signed or sent. */
static void test_lifecycle_arguments_refused_naming_them(void **st)
{
    (void)st;
    unsetenv("PROVENA_KEY");
    unsetenv("PROVENA_NODE");
    char longnote[CHAIN_NOTE_MAX + 2], longcode[CHAIN_CODE_MAX + 2], longid[CHAIN_ID_MAX + 2];
    char longaddr[CHAIN_ADDR_MAX + 2], longname[CHAIN_NAME_MAX + 2];
    memset(longaddr, 'a', sizeof longaddr - 1);
    longaddr[sizeof longaddr - 1] = '\0';
    memset(longname, 'm', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    memset(longnote, 'n', sizeof longnote - 1);
    longnote[sizeof longnote - 1] = '\0';
    memset(longcode, 'c', sizeof longcode - 1);
    longcode[sizeof longcode - 1] = '\0';
    memset(longid, 'i', sizeof longid - 1);
    longid[sizeof longid - 1] = '\0';
    for (size_t i = 0; i < sizeof arg_cases / sizeof *arg_cases; i++) {
        const arg_case *c = &arg_cases[i];
        char *argv[16];
        int argc = 0;
        for (int k = 1; c->argv[k]; k++) {
            const char *a = c->argv[k];
            argv[argc++] = (char *)(!strcmp(a, "KEY")        ? brand_key
                                    : !strcmp(a, "GEN")      ? gen
                                    : !strcmp(a, "LONGNOTE") ? longnote
                                    : !strcmp(a, "LONGCODE") ? longcode
                                    : !strcmp(a, "LONGID")   ? longid
                                    : !strcmp(a, "LONGADDR") ? longaddr
                                    : !strcmp(a, "LONGNAME") ? longname
                                                             : a);
        }
        char err[2048];
        int rc = run_caught(err, sizeof err, c->argv[0], argc, argv);
        if (rc != c->rc || !strstr(err, c->want))
            fail_msg("case %zu (%s %s): exit %d, want %d; printed \"%s\", want \"%s\"", i,
                     c->argv[0], c->argv[1] ? c->argv[1] : "", rc, c->rc, err, c->want);
    }
}

/* The limits through the commands: one more --node URL than CLI_NODES_MAX is a
 * usage error naming --node; CHAIN_NOTE_MAX and CHAIN_CODE_MAX themselves get
 * past the argument checks (the failure is then the unreachable node). */
static void test_lifecycle_limits_through_the_command(void **st)
{
    (void)st;
    unsetenv("PROVENA_KEY");
    char nodes[CLI_NODES_MAX * 24 + 32] = "";
    for (int i = 0; i <= CLI_NODES_MAX; i++)
        snprintf(nodes + strlen(nodes), sizeof nodes - strlen(nodes), "%shttp://127.0.0.1:%d",
                 i ? "," : "", 1 + i);
    char err[2048];
    char *past[] = {U, "--key", brand_key, "--node", nodes};
    assert_int_equal(run_caught(err, sizeof err, "pickup", 5, past), CLI_USAGE);
    assert_non_null(strstr(err, "--node: not a URL or a list URL,URL of at most 16"));
    char note[CHAIN_NOTE_MAX + 1], code[CHAIN_CODE_MAX + 1];
    memset(note, 'n', CHAIN_NOTE_MAX);
    note[CHAIN_NOTE_MAX] = '\0';
    memset(code, 'c', CHAIN_CODE_MAX);
    code[CHAIN_CODE_MAX] = '\0';
    *strrchr(nodes, ',') = '\0'; /* exactly CLI_NODES_MAX */
    char *flag[] = {U,   "--reason", "stolen", "--note", note,  "--key",     brand_key, "--genesis",
                    gen, "--nonce",  "1",      "--node", nodes, "--timeout", "1"};
    int rc = run_caught(err, sizeof err, "flag", (int)(sizeof flag / sizeof *flag), flag);
    assert_true(rc == CLI_FAIL || rc == CLI_UNKNOWN);
    assert_null(strstr(err, "--note"));
    assert_null(strstr(err, "--node:"));
    char *claim[] = {U,
                     "--code",
                     code,
                     "--key",
                     brand_key,
                     "--genesis",
                     gen,
                     "--nonce",
                     "1",
                     "--node",
                     "http://127.0.0.1:1",
                     "--timeout",
                     "1"};
    rc = run_caught(err, sizeof err, "claim", (int)(sizeof claim / sizeof *claim), claim);
    if (rc != CLI_FAIL && rc != CLI_UNKNOWN)
        fail_msg("claim with a %d-character code: exit %d: %s", CHAIN_CODE_MAX, rc, err);
    assert_null(strstr(err, "--code"));
}

/* `provena genesis SUB ARGS...` with stderr caught, as run_caught. */
static int genesis_caught(char *err, size_t errlen, int argc, char **argv)
{
    char path[] = "/tmp/provena-err-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    fflush(stderr);
    int saved = dup(2);
    dup2(fd, 2);
    int rc = cli_cmd_genesis(argc, argv);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    ssize_t n = pread(fd, err, errlen - 1, 0);
    err[n > 0 ? n : 0] = '\0';
    close(fd);
    unlink(path);
    return rc;
}

/* Genesis editing: each refused argument named, exit 2 for usage and 1 for a
 * file that cannot be used; the file is never left half-written. */
static void test_genesis_arguments_refused_naming_them(void **st)
{
    (void)st;
    char npub[65], bad_json[160], other[160];
    pub_of(npub, node_key);
    snprintf(bad_json, sizeof bad_json, "%s/bad.json", dir);
    FILE *f = fopen(bad_json, "w");
    assert_non_null(f);
    fputs("{\"chain\": \n", f);
    fclose(f);
    snprintf(other, sizeof other, "%s/other.json", dir);
    static const struct {
        int rc;
        const char *want;
        const char *argv[16];
    } cases[] = {
        {CLI_USAGE, "unknown subcommand 'grow'", {"grow"}},
        {CLI_USAGE,
         "--chain: required",
         {"init", "--brand-key", "KEY", "--prefix", "9506000", "--out", "OTHER"}},
        {CLI_USAGE,
         "--brand-key: required",
         {"init", "--chain", "c", "--prefix", "9506000", "--out", "OTHER"}},
        {CLI_USAGE,
         "--prefix: required",
         {"init", "--chain", "c", "--brand-key", "KEY", "--out", "OTHER"}},
        {CLI_USAGE,
         "--out: required",
         {"init", "--chain", "c", "--brand-key", "KEY", "--prefix", "9506000"}},
        {CLI_USAGE,
         "--time: not unix seconds",
         {"init", "--chain", "c", "--brand-key", "KEY", "--prefix", "9506000", "--out", "OTHER",
          "--time", "yesterday"}},
        {CLI_FAIL,
         "--brand-key",
         {"init", "--chain", "c", "--brand-key", "/nonexistent/k", "--prefix", "9506000", "--out",
          "OTHER"}},
        {CLI_FAIL,
         "would not be a valid genesis",
         {"init", "--chain", "Bad Name", "--brand-key", "KEY", "--prefix", "9506000", "--out",
          "OTHER"}},
        {CLI_USAGE,
         "--role: one of",
         {"add-participant", "GEN", "--id", "x", "--name", "X", "--pub", "NPUB"}},
        {CLI_USAGE,
         "--name: required",
         {"add-participant", "GEN", "--role", "seller", "--id", "x", "--pub", "NPUB"}},
        {CLI_USAGE,
         "--id: required",
         {"add-participant", "GEN", "--role", "seller", "--name", "X", "--pub", "NPUB"}},
        {CLI_USAGE,
         "--regions",
         {"add-participant", "GEN", "--role", "seller", "--id", "x", "--name", "X", "--pub", "NPUB",
          "--regions", "DE,Bavaria"}},
        {CLI_FAIL,
         "/nonexistent/g.json",
         {"add-participant", "/nonexistent/g.json", "--role", "seller", "--id", "x", "--name", "X",
          "--pub", "NPUB"}},
        {CLI_FAIL,
         "line 2",
         {"add-participant", "BAD", "--role", "seller", "--id", "x", "--name", "X", "--pub",
          "NPUB"}},
        {CLI_USAGE, "--id: a node number", {"add-node", "GEN", "--id", "0"}},
        {CLI_USAGE, "--raft: required", {"add-node", "GEN", "--id", "5"}},
        {CLI_USAGE, "--http: required", {"add-node", "GEN", "--id", "5", "--raft", "tcp://h:1"}},
        {CLI_USAGE,
         "--pub: not 64 hex",
         {"add-node", "GEN", "--id", "5", "--raft", "tcp://h:1", "--http", "http://h:2", "--pub",
          "xyz"}},
        {CLI_FAIL,
         "would not be a valid genesis",
         {"add-node", "GEN", "--id", "5", "--raft", "tcp://h:1", "--http", "http://h:2", "--pub",
          "NPUB", "--operator", "nobody"}},
        {CLI_FAIL, "/nonexistent/g.json", {"show", "/nonexistent/g.json"}},
        {CLI_FAIL, "line 2", {"show", "BAD"}},
        {CLI_USAGE, "missing argument", {"show"}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *argv[16];
        int argc = 0;
        for (int k = 0; cases[i].argv[k]; k++) {
            const char *a = cases[i].argv[k];
            argv[argc++] = (char *)(!strcmp(a, "KEY")     ? brand_key
                                    : !strcmp(a, "GEN")   ? gen
                                    : !strcmp(a, "NPUB")  ? npub
                                    : !strcmp(a, "BAD")   ? bad_json
                                    : !strcmp(a, "OTHER") ? other
                                                          : a);
        }
        char *before = slurp(gen);
        char err[2048];
        int rc = genesis_caught(err, sizeof err, argc, argv);
        if (rc != cases[i].rc || !strstr(err, cases[i].want))
            fail_msg("case %zu (genesis %s): exit %d, want %d; printed \"%s\", want \"%s\"", i,
                     cases[i].argv[0], rc, cases[i].rc, err, cases[i].want);
        char *after = slurp(gen);
        assert_string_equal(before, after); /* nothing written */
        free(before);
        free(after);
        assert_int_equal(access(other, F_OK), -1);
    }
}

/* Labels must point where phones can reach: local hosts are named, public ones not. */
static void test_resolver_local_addresses_named(void **st)
{
    (void)st;
    assert_string_equal(cli_resolver_local("http://127.0.0.1:8211"), "a loopback address");
    assert_string_equal(cli_resolver_local("http://localhost/"), "a loopback name");
    assert_string_equal(cli_resolver_local("https://10.1.2.3"), "a private address");
    assert_string_equal(cli_resolver_local("https://172.31.0.1:443/x"), "a private address");
    assert_string_equal(cli_resolver_local("https://192.168.1.10"), "a private address");
    assert_string_equal(cli_resolver_local("http://[::1]:8101"), "a loopback address");
    assert_string_equal(cli_resolver_local("http://[fd00::5]/"), "a private address");
    assert_string_equal(cli_resolver_local("http://169.254.1.1"), "a link-local address");
    assert_string_equal(cli_resolver_local("http://node1.local:80"), "a local-network name");
    assert_null(cli_resolver_local("https://id.acme.example"));
    assert_null(cli_resolver_local("https://172.32.0.1"));
    assert_null(cli_resolver_local("https://8.8.8.8/"));
    assert_null(cli_resolver_local("http://[2001:db8::1]/"));
    char buf[64];
    assert_string_equal(
        cli_resolver_pick(buf, sizeof buf, NULL, "", "https://a.example,http://b", "t"),
        "https://a.example");
    assert_string_equal(cli_resolver_pick(buf, sizeof buf, NULL, "https://id.acme.example",
                                          "http://127.0.0.1:1", "t"),
                        "https://id.acme.example");
    assert_string_equal(cli_resolver_pick(buf, sizeof buf, "https://x.example",
                                          "https://id.acme.example", "http://n", "t"),
                        "https://x.example");
}

/* fn(argc, argv) with stdout and stderr caught into out. */
static int fn_caught(char *out, size_t outlen, int (*fn)(int, char **), int argc, char **argv)
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

#define KEY_RUN(out, ...)                                                                          \
    ({                                                                                             \
        char *argv_[] = {__VA_ARGS__};                                                             \
        fn_caught(out, sizeof out, cli_cmd_key, (int)(sizeof argv_ / sizeof *argv_), argv_);       \
    })

/* A node's TLS key: created once (0600), its certificate printed as PEM and
 * as DER hex with the key's fingerprint, never the private key; a brand key
 * is not a TLS key and the reverse; the certificate file pins in node
 * governance (the failure is then the unreachable node, not the file). */
static void test_key_tls_cert_and_pins(void **st)
{
    (void)st;
    char tls[160], out[8192];
    snprintf(tls, sizeof tls, "%s/node-tls.pem", dir);
    assert_int_equal(KEY_RUN(out, "new", "--tls", tls), CLI_OK);
    struct stat sb;
    assert_int_equal(stat(tls, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    assert_int_equal(KEY_RUN(out, "new", "--tls", tls), CLI_FAIL); /* never overwritten */
    assert_int_equal(KEY_RUN(out, "cert", tls), CLI_OK);
    assert_non_null(strstr(out, "-----BEGIN CERTIFICATE-----"));
    assert_null(strstr(out, "PRIVATE KEY"));
    assert_int_equal(KEY_RUN(out, "cert", tls, "--json"), CLI_OK);
    json_t *j = json_loads(out, 0, NULL);
    assert_non_null(j);
    assert_int_equal(strlen(json_string_value(json_object_get(j, "tls_key"))), 64);
    assert_true(strlen(json_string_value(json_object_get(j, "cert"))) > 64);
    json_decref(j);
    assert_int_equal(KEY_RUN(out, "cert", brand_key), CLI_FAIL);
    assert_non_null(strstr(out, "no PEM certificate"));
    assert_int_equal(KEY_RUN(out, "cert", "/nonexistent/t.pem"), CLI_FAIL);
    assert_non_null(strstr(out, "/nonexistent/t.pem"));
    assert_int_equal(KEY_RUN(out, "pub", tls), CLI_FAIL);
    assert_non_null(strstr(out, tls));
    assert_int_equal(KEY_RUN(out, "pub", "/nonexistent/k"), CLI_FAIL);
    assert_int_equal(KEY_RUN(out, "cert"), CLI_USAGE);
    assert_int_equal(KEY_RUN(out, "--help"), CLI_OK);
    assert_non_null(strstr(out, "usage: provena key new"));
    assert_int_equal(KEY_RUN(out, "-h"), CLI_OK);
    char nk[160];
    snprintf(nk, sizeof nk, "%s/json.key", dir);
    assert_int_equal(KEY_RUN(out, "new", nk, "--json"), CLI_OK);
    j = json_loads(out, 0, NULL);
    assert_non_null(j);
    json_decref(j);
    char *add[] = {"add",
                   "--id",
                   "3",
                   "--raft",
                   "tls+tcp://127.0.0.1:7103",
                   "--tls",
                   tls,
                   "--http",
                   "http://127.0.0.1:8103",
                   "--pub",
                   PUB,
                   "--key",
                   brand_key,
                   "--node",
                   "http://127.0.0.1:1",
                   "--timeout",
                   "1"};
    int rc = run_caught(out, sizeof out, "node", (int)(sizeof add / sizeof *add), add);
    assert_true(rc == CLI_FAIL || rc == CLI_UNKNOWN);
    assert_null(strstr(out, "--tls"));
    char *rot[] = {"rotate", "--id", "2", "--tls", brand_key};
    assert_int_equal(run_caught(out, sizeof out, "node", 5, rot), CLI_USAGE);
    assert_non_null(strstr(out, "--tls: "));
    assert_non_null(strstr(out, "no PEM certificate"));
}

#define G1 "09506000123455"

/* Every mint argument refused before a key is read or a node asked, named;
 * then what a dry run writes: labels (SVG, PNG, a sheet) and the CSV. */
static void test_mint_arguments_refused_naming_them(void **st)
{
    (void)st;
    char longmodel[CHAIN_NAME_MAX + 2];
    memset(longmodel, 'm', sizeof longmodel - 1);
    longmodel[sizeof longmodel - 1] = '\0';
    const struct {
        int rc;
        const char *want;
        const char *argv[20];
    } cases[] = {
        {CLI_USAGE, "--gtin", {"--lot", "L", "--count", "1"}},
        {CLI_USAGE, "--lot: required", {"--gtin", G1, "--lot", "a b", "--count", "1"}},
        {CLI_USAGE,
         "--expiry: YYMMDD",
         {"--gtin", G1, "--lot", "L", "--count", "1", "--expiry", "2812"}},
        {CLI_USAGE,
         "--expiry: YYMMDD",
         {"--gtin", G1, "--lot", "L", "--count", "1", "--expiry", "28a231"}},
        {CLI_USAGE,
         "--expiry: YYMMDD",
         {"--gtin", G1, "--lot", "L", "--count", "1", "--expiry", "281301"}},
        {CLI_USAGE,
         "--expiry: YYMMDD",
         {"--gtin", G1, "--lot", "L", "--count", "1", "--expiry", "280001"}},
        {CLI_USAGE,
         "--expiry: YYMMDD",
         {"--gtin", G1, "--lot", "L", "--count", "1", "--expiry", "281232"}},
        {CLI_USAGE,
         "--model: longer than",
         {"--gtin", G1, "--lot", "L", "--count", "1", "--model", "LONGMODEL"}},
        {CLI_USAGE,
         "--count: a number 1..100000000",
         {"--gtin", G1, "--lot", "L", "--count", "100000001"}},
        {CLI_USAGE, "--count", {"--gtin", G1, "--lot", "L"}},
        {CLI_USAGE,
         "--warranty-months: a number 0..1200",
         {"--gtin", G1, "--lot", "L", "--count", "1", "--warranty-months", "1201"}},
        {CLI_USAGE,
         "--markets",
         {"--gtin", G1, "--lot", "L", "--count", "1", "--markets", "DE,,FR"}},
        {CLI_USAGE,
         "--batch: a number 1..10000",
         {"--gtin", G1, "--lot", "L", "--count", "1", "--batch", "0"}},
        {CLI_USAGE, "--key: required", {"--gtin", G1, "--lot", "L", "--count", "1"}},
        {CLI_FAIL,
         "--key: ",
         {"--gtin", G1, "--lot", "L", "--count", "1", "--key", "/nonexistent/k"}},
        {CLI_FAIL,
         "--labels /nonexistent/a/b",
         {"--gtin", G1, "--lot", "L", "--count", "1", "--key", "KEY", "--labels",
          "/nonexistent/a/b"}},
        {CLI_FAIL,
         "--csv /nonexistent/u.csv",
         {"--gtin", G1, "--lot", "L", "--count", "1", "--key", "KEY", "--genesis", "GEN",
          "--dry-run", "--csv", "/nonexistent/u.csv"}},
        {CLI_FAIL,
         "/nonexistent/g.json",
         {"--gtin", G1, "--lot", "L", "--count", "1", "--key", "KEY", "--genesis",
          "/nonexistent/g.json", "--dry-run"}},
    };
    unsetenv("PROVENA_KEY");
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *argv[20];
        int argc = 0;
        for (int k = 0; cases[i].argv[k]; k++) {
            const char *a = cases[i].argv[k];
            argv[argc++] = (char *)(!strcmp(a, "KEY")         ? brand_key
                                    : !strcmp(a, "GEN")       ? gen
                                    : !strcmp(a, "LONGMODEL") ? longmodel
                                                              : a);
        }
        char out[4096];
        int rc = fn_caught(out, sizeof out, cli_cmd_mint, argc, argv);
        if (rc != cases[i].rc || !strstr(out, cases[i].want))
            fail_msg("case %zu: exit %d, want %d; printed \"%s\", want \"%s\"", i, rc, cases[i].rc,
                     out, cases[i].want);
    }
    /* at the bounds: 1,200 warranty months, a 10,000 batch, a model of CHAIN_NAME_MAX */
    longmodel[CHAIN_NAME_MAX] = '\0';
    char labels[160], csv[160], out[4096];
    snprintf(labels, sizeof labels, "%s/labels", dir);
    snprintf(csv, sizeof csv, "%s/m.csv", dir);
    char *ok[] = {"--gtin",    G1,           "--lot",
                  "L7",        "--count",    "3",
                  "--key",     brand_key,    "--genesis",
                  gen,         "--dry-run",  "--labels",
                  labels,      "--csv",      csv,
                  "--markets", "DE,FR",      "--warranty-months",
                  "1200",      "--batch",    "10000",
                  "--model",   longmodel,    "--expiry",
                  "281231",    "--resolver", "https://id.example"};
    int rc = fn_caught(out, sizeof out, cli_cmd_mint, (int)(sizeof ok / sizeof *ok), ok);
    if (rc != CLI_OK)
        fail_msg("dry run: exit %d: %s", rc, out);
    FILE *f = fopen(csv, "r");
    assert_non_null(f);
    char line[1024];
    int n = 0, svg = 0, png = 0;
    while (fgets(line, sizeof line, f))
        n++;
    fclose(f);
    assert_int_equal(n, 4); /* header + 3 */
    DIR *d = opendir(labels);
    assert_non_null(d);
    for (struct dirent *de; (de = readdir(d)) != NULL;) {
        svg += strstr(de->d_name, ".svg") != NULL;
        png += strstr(de->d_name, ".png") != NULL;
    }
    closedir(d);
    assert_true(svg >= 3); /* one per unit, and the sheet */
    assert_int_equal(png, 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_key_new_then_refuses_overwrite),
        cmocka_unit_test(test_genesis_build_validate_show),
        cmocka_unit_test(test_genesis_refused_edit_leaves_file_unchanged),
        cmocka_unit_test(test_mint_usage_errors),
        cmocka_unit_test(test_mint_dry_run_csv_and_offline_verify),
        cmocka_unit_test(test_submit_classify_definite_or_retry),
        cmocka_unit_test(test_sell_code_out_written_first_and_unknown_exit),
        cmocka_unit_test(test_resolver_local_addresses_named),
        cmocka_unit_test(test_lifecycle_arguments_refused_naming_them),
        cmocka_unit_test(test_lifecycle_limits_through_the_command),
        cmocka_unit_test(test_genesis_arguments_refused_naming_them),
        cmocka_unit_test(test_key_tls_cert_and_pins),
        cmocka_unit_test(test_mint_arguments_refused_naming_them),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
