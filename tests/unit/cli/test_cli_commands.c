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
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
