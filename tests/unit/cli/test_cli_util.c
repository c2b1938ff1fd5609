/*
 * test_cli_util.c — the promises of cli/cli_util.c and cli_verify.c: argument
 * parsing and its exit codes, unit naming in its three forms, key files,
 * unit files, random serials and claim codes, and the offline label check.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "genesis/genesis.h"

int cli_label_check(const chain_genesis *g, const gs1_link *l, const chain_brand **brand_out,
                    char *why, size_t why_len);

#define GTIN "09506000123455"

/* ---- argument parser ---------------------------------------------------------------- */

static const char *o_count, *o_lot;
static bool o_json;
static const cli_opt opts[] = {
    {"count", "N", "units", &o_count, NULL},
    {"lot", "L", "lot", &o_lot, NULL},
    {"json", NULL, "json", NULL, &o_json},
};
static const cli_spec spec = {"provena test", "[--count N]", "test", opts, 3, 0, 2};

static int parse(int argc, char **argv, size_t *np)
{
    const char *pos[4];
    o_count = o_lot = NULL;
    o_json = false;
    return cli_parse(&spec, argc, argv, pos, np, 4);
}

static void test_parse_options_both_forms(void **st)
{
    (void)st;
    char *argv[] = {"--count", "5", "--lot=L1", "--json", "A"};
    size_t np = 0;
    assert_int_equal(parse(5, argv, &np), CLI_OK);
    assert_string_equal(o_count, "5");
    assert_string_equal(o_lot, "L1");
    assert_true(o_json);
    assert_int_equal(np, 1);
}

static void test_parse_unknown_option_is_usage_error(void **st)
{
    (void)st;
    char *argv[] = {"--bogus", "1"};
    size_t np;
    assert_int_equal(parse(2, argv, &np), CLI_USAGE);
}

static void test_parse_missing_value_is_usage_error(void **st)
{
    (void)st;
    char *argv[] = {"--count"};
    size_t np;
    assert_int_equal(parse(1, argv, &np), CLI_USAGE);
}

static void test_parse_flag_with_value_is_usage_error(void **st)
{
    (void)st;
    char *argv[] = {"--json=1"};
    size_t np;
    assert_int_equal(parse(1, argv, &np), CLI_USAGE);
}

static void test_parse_too_many_positionals(void **st)
{
    (void)st;
    char *argv[] = {"a", "b", "c"};
    size_t np;
    assert_int_equal(parse(3, argv, &np), CLI_USAGE);
}

static void test_parse_help(void **st)
{
    (void)st;
    char *argv[] = {"--count", "1", "--help"};
    size_t np;
    assert_int_equal(parse(3, argv, &np), CLI_HELP);
}

static void test_parse_double_dash_ends_options(void **st)
{
    (void)st;
    char *argv[] = {"--", "--json"};
    size_t np;
    assert_int_equal(parse(2, argv, &np), CLI_OK);
    assert_false(o_json);
    assert_int_equal(np, 1);
}

static void test_u64_bounds(void **st)
{
    (void)st;
    uint64_t v = 7;
    assert_true(cli_parse_u64(&v, "10000", 1, 10000));
    assert_int_equal(v, 10000);
    assert_false(cli_parse_u64(&v, "10001", 1, 10000));
    assert_false(cli_parse_u64(&v, "0", 1, 10));
    assert_false(cli_parse_u64(&v, "-1", 0, 10));
    assert_false(cli_parse_u64(&v, "1x", 0, 10));
    assert_false(cli_parse_u64(&v, "", 0, 10));
    assert_false(cli_parse_u64(&v, "99999999999999999999999", 0, UINT64_MAX));
    assert_int_equal(v, 10000); /* untouched on failure */
}

static void test_split_list(void **st)
{
    (void)st;
    char out[4][CHAIN_REGION_MAX + 1];
    assert_int_equal(cli_split_list(out, 4, "de,fr,DE-BY"), 3);
    assert_string_equal(out[0], "DE");
    assert_string_equal(out[2], "DE-BY");
    assert_int_equal(cli_split_list(out, 4, "DE,,FR"), -1);
    assert_int_equal(cli_split_list(out, 2, "DE,FR,IT"), -1);
    assert_int_equal(cli_split_list(out, 4, "TOOLONGX"), -1);
    assert_int_equal(cli_split_list(out, 4, "de-by!"), -1); /* six characters, not a code */
    assert_int_equal(cli_split_list(out, 4, "DE,F1"), -1);
}

/* ---- units -------------------------------------------------------------------------- */

static void test_unit_gtin_slash_serial(void **st)
{
    (void)st;
    gs1_link l;
    char e[128];
    assert_int_equal(cli_unit_parse(&l, GTIN "/AB12", e, sizeof e), 0);
    assert_string_equal(l.id.gtin, GTIN);
    assert_string_equal(l.id.serial, "AB12");
}

static void test_unit_gtin13_padded(void **st)
{
    (void)st;
    gs1_link l;
    char e[128];
    assert_int_equal(cli_unit_parse(&l, "9506000123455/X1", e, sizeof e), 0);
    assert_string_equal(l.id.gtin, GTIN);
}

static void test_unit_digital_link(void **st)
{
    (void)st;
    gs1_link l;
    char e[128];
    assert_int_equal(
        cli_unit_parse(&l, "https://id.example.com/01/" GTIN "/21/S9?10=L1&17=271231&sig=AAAA", e,
                       sizeof e),
        0);
    assert_string_equal(l.id.serial, "S9");
    assert_string_equal(l.lot, "L1");
    assert_string_equal(l.expiry, "271231");
    assert_string_equal(l.sig, "AAAA");
}

static void test_unit_element_string(void **st)
{
    (void)st;
    gs1_link l;
    char e[128];
    assert_int_equal(cli_unit_parse(&l, "(01)" GTIN "(21)AB12", e, sizeof e), 0);
    assert_string_equal(l.id.gtin, GTIN);
    assert_string_equal(l.id.serial, "AB12");
}

static void test_unit_bad_check_digit_refused(void **st)
{
    (void)st;
    gs1_link l;
    char e[128] = "";
    assert_int_equal(cli_unit_parse(&l, "09506000123456/AB12", e, sizeof e), -1);
    assert_true(e[0] != '\0');
    assert_int_equal(cli_unit_parse(&l, "9506000123456/AB12", e, sizeof e), -1);
}

static void test_sscc_parse_forms(void **st)
{
    (void)st;
    char out[GS1_SSCC_LEN + 1], e[160] = "";
    assert_int_equal(cli_sscc_parse(out, "309506000134350005", e, sizeof e), 0);
    assert_string_equal(out, "309506000134350005");
    assert_int_equal(cli_sscc_parse(out, "(00)009506000134350004", e, sizeof e), 0);
    assert_string_equal(out, "009506000134350004");
    assert_int_equal(cli_sscc_parse(out,
                                    "https://id.example.com/00/309506000134350005?linkType=all", e,
                                    sizeof e),
                     0);
    assert_string_equal(out, "309506000134350005");
    assert_int_equal(
        cli_sscc_parse(out, "https://id.example.com/00/309506000134350005", e, sizeof e), 0);
    static const char *const bad[] = {
        "309506000134350006",  /* check digit */
        "30950600013435000",   /* one short */
        "3095060001343500050", /* one long */
        "(00)30950600013435000", "https://id.example.com/01/309506000134350005", "",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        e[0] = '\0';
        memcpy(out, "untouched", 10);
        assert_int_equal(cli_sscc_parse(out, bad[i], e, sizeof e), -1);
        assert_non_null(strstr(e, "not an SSCC"));
        assert_string_equal(out, "untouched");
    }
}

static void test_units_file(void **st)
{
    (void)st;
    char path[] = "/tmp/provena-units-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fprintf(f, "# units\n" GTIN "/A1\n\n  (01)" GTIN "(21)A2\n" GTIN "/BAD SERIAL\n");
    fclose(f);
    gs1_sgtin *u = NULL;
    size_t n = 0;
    char e[256];
    assert_int_equal(cli_units_read_file(&u, &n, path, e, sizeof e), -1);
    assert_non_null(strstr(e, ":5:")); /* names the line */
    assert_int_equal(n, 2);
    assert_string_equal(u[1].serial, "A2");
    free(u);
    unlink(path);
}

/* ---- named limits at their bound and one past it -------------------------------------- */

/* CLI_UNITS_FILE_MAX: a file of exactly that many units is read whole (comments
 * and blank lines do not count); one unit more is refused naming the file. */
static void test_units_file_at_limit_and_one_past(void **st)
{
    (void)st;
    char path[] = "/tmp/provena-units-XXXXXX";
    for (int extra = 0; extra < 2; extra++) {
        int fd = mkstemp(path);
        assert_true(fd >= 0);
        FILE *f = fdopen(fd, "w");
        fprintf(f, "# header\n\n");
        for (unsigned i = 0; i < CLI_UNITS_FILE_MAX + (unsigned)extra; i++)
            fprintf(f, GTIN "/S%u\n", i);
        fclose(f);
        gs1_sgtin *u = NULL;
        size_t n = 0;
        char e[256] = "";
        int rc = cli_units_read_file(&u, &n, path, e, sizeof e);
        if (extra) {
            assert_int_equal(rc, -1);
            assert_non_null(strstr(e, path));
            assert_non_null(strstr(e, "more than 1000000 units"));
        } else {
            if (rc != 0)
                fail_msg("%s", e);
            assert_int_equal(n, CLI_UNITS_FILE_MAX);
            assert_string_equal(u[CLI_UNITS_FILE_MAX - 1].serial, "S999999");
        }
        free(u);
        unlink(path);
        strcpy(path, "/tmp/provena-units-XXXXXX");
    }
}

/* CLI_NODES_MAX: a --node list of exactly that many URLs is taken, one more
 * refused; a URL of 511 bytes (after trailing slashes) is taken, 512 refused. */
static void test_node_list_at_limit_and_one_past(void **st)
{
    (void)st;
    char list[CLI_NODES_MAX * 32 + 64] = "";
    for (int i = 0; i < CLI_NODES_MAX + 1; i++) {
        char one[40];
        snprintf(one, sizeof one, "%shttp://127.0.0.1:%d/", i ? "," : "", 9000 + i);
        if (i == CLI_NODES_MAX) {
            cli_http *h = cli_http_new(list);
            assert_non_null(h);
            assert_int_equal(cli_http_nodes(h), CLI_NODES_MAX);
            assert_string_equal(cli_http_base(h), "http://127.0.0.1:9000");
            for (int k = 0; k < CLI_NODES_MAX - 1; k++)
                cli_http_next(h);
            assert_string_equal(cli_http_base(h), "http://127.0.0.1:9015");
            cli_http_next(h); /* round robin back to the first */
            assert_string_equal(cli_http_base(h), "http://127.0.0.1:9000");
            cli_http_free(h);
        }
        strcat(list, one);
    }
    assert_null(cli_http_new(list));
    assert_null(cli_http_new("http://a,,http://b")); /* an empty URL */
    char url[600];
    memset(url, 'a', sizeof url);
    memcpy(url, "http://", 7);
    url[511] = '/'; /* trailing slashes are dropped before the length check */
    url[512] = '\0';
    cli_http *h = cli_http_new(url);
    assert_non_null(h);
    assert_int_equal(strlen(cli_http_base(h)), 511);
    cli_http_free(h);
    url[511] = 'a';
    assert_null(cli_http_new(url));
}

/* CLI_POS_MAX positional arguments (units on the command line of pickup,
 * deliver, flag, unflag) are taken; one more is a usage error. */
static void test_parse_positionals_at_limit(void **st)
{
    (void)st;
    static char *argv[CLI_POS_MAX + 1];
    static const char *pos[CLI_POS_MAX];
    for (int i = 0; i < CLI_POS_MAX + 1; i++)
        argv[i] = GTIN "/A1";
    const cli_spec many = {"provena test", "UNIT...", "test", opts, 3, 1, CLI_POS_MAX};
    size_t np = 0;
    assert_int_equal(cli_parse(&many, CLI_POS_MAX, argv, pos, &np, CLI_POS_MAX), CLI_OK);
    assert_int_equal(np, CLI_POS_MAX);
    assert_int_equal(cli_parse(&many, CLI_POS_MAX + 1, argv, pos, &np, CLI_POS_MAX), CLI_USAGE);
}

/* ---- files ------------------------------------------------------------------------------ */

/* cli_file_read: a file of exactly max bytes is read, max + 1 refused "too
 * large"; a directory is a read error, a missing file names the path. */
static void test_file_read_bounded_and_errors_named(void **st)
{
    (void)st;
    char dir[] = "/tmp/provena-files-XXXXXX", path[128], e[256];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/f", dir);
    FILE *f = fopen(path, "w");
    fputs("0123456789", f);
    fclose(f);
    char *buf = NULL;
    size_t len = 0;
    assert_int_equal(cli_file_read(&buf, &len, path, 10, e, sizeof e), 0);
    assert_int_equal(len, 10);
    assert_string_equal(buf, "0123456789");
    free(buf);
    buf = NULL;
    assert_int_equal(cli_file_read(&buf, &len, path, 9, e, sizeof e), -1);
    assert_non_null(strstr(e, "file too large"));
    assert_null(buf);
    assert_int_equal(cli_file_read(&buf, &len, dir, 100, e, sizeof e), -1);
    assert_non_null(strstr(e, "read error"));
    char missing[160];
    snprintf(missing, sizeof missing, "%s/none", dir);
    assert_int_equal(cli_file_read(&buf, &len, missing, 100, e, sizeof e), -1);
    assert_non_null(strstr(e, missing));
    /* writes: into a missing directory, and over a directory: refused, nothing left */
    snprintf(missing, sizeof missing, "%s/no/such", dir);
    assert_int_equal(cli_file_write_atomic(missing, "x", 1, e, sizeof e), -1);
    assert_non_null(strstr(e, "no/such.tmp."));
    char sub[160];
    snprintf(sub, sizeof sub, "%s/sub", dir);
    assert_int_equal(mkdir(sub, 0700), 0);
    assert_int_equal(cli_file_write_atomic(sub, "x", 1, e, sizeof e), -1);
    assert_non_null(strstr(e, sub));
    assert_int_equal(cli_file_write_atomic(path, "new", 3, e, sizeof e), 0);
    assert_int_equal(cli_file_read(&buf, &len, path, 10, e, sizeof e), 0);
    assert_string_equal(buf, "new");
    free(buf);
    char cmd[160];
    snprintf(cmd, sizeof cmd, "ls %s | grep -c tmp >/dev/null", dir);
    assert_int_not_equal(system(cmd), 0); /* no temporary file left behind */
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

/* PROVENA_NODE and PROVENA_KEY: unset or empty mean the default / none. */
static void test_env_defaults(void **st)
{
    (void)st;
    setenv("PROVENA_NODE", "", 1);
    assert_string_equal(cli_env_node(), CLI_NODE_DEFAULT);
    setenv("PROVENA_NODE", "http://n:1", 1);
    assert_string_equal(cli_env_node(), "http://n:1");
    unsetenv("PROVENA_NODE");
    assert_string_equal(cli_env_node(), CLI_NODE_DEFAULT);
    setenv("PROVENA_KEY", "", 1);
    assert_null(cli_env_key());
    setenv("PROVENA_KEY", "/k", 1);
    assert_string_equal(cli_env_key(), "/k");
    unsetenv("PROVENA_KEY");
    assert_null(cli_env_key());
}

/* ---- keys --------------------------------------------------------------------------- */

static void test_key_roundtrip_0600_no_overwrite(void **st)
{
    (void)st;
    char dir[] = "/tmp/provena-key-XXXXXX", path[64], e[256];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/k", dir);
    uint8_t sk[32], pub[32], back[32];
    assert_int_equal(chain_key_generate(sk, pub), CHAIN_OK);
    assert_int_equal(cli_key_write(path, sk, e, sizeof e), 0);
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    assert_int_equal(sb.st_size, 65); /* 64 hex + newline */
    assert_int_equal(cli_key_read(back, path, e, sizeof e), 0);
    assert_memory_equal(back, sk, 32);
    assert_int_equal(cli_key_write(path, sk, e, sizeof e), -1);
    assert_non_null(strstr(e, "refusing to overwrite"));
    unlink(path);
    rmdir(dir);
}

static void test_key_read_rejects_garbage(void **st)
{
    (void)st;
    char path[] = "/tmp/provena-badkey-XXXXXX", e[256];
    int fd = mkstemp(path);
    assert_true(write(fd, "abcd\n", 5) == 5);
    close(fd);
    uint8_t sk[32];
    assert_int_equal(cli_key_read(sk, path, e, sizeof e), -1);
    assert_non_null(strstr(e, "64 hex"));
    unlink(path);
}

/* ---- randomness --------------------------------------------------------------------- */

static void test_serials_random_and_gs1_valid(void **st)
{
    (void)st;
    char a[CLI_SERIAL_LEN + 1], b[CLI_SERIAL_LEN + 1];
    assert_int_equal(cli_serial_random(a), 0);
    assert_int_equal(cli_serial_random(b), 0);
    assert_int_equal(strlen(a), CLI_SERIAL_LEN);
    assert_true(gs1_serial_valid(a, strlen(a)));
    assert_string_not_equal(a, b);
    assert_true(5 * CLI_SERIAL_LEN >= 64); /* ≥ 64 bits of entropy */
}

static void test_claim_code_format(void **st)
{
    (void)st;
    char c[CLI_CODE_LEN + 1];
    assert_int_equal(cli_code_random(c), 0);
    assert_int_equal(strlen(c), 19);
    assert_int_equal(c[4], '-');
    assert_int_equal(c[9], '-');
    assert_int_equal(c[14], '-');
}

/* ---- offline label check ------------------------------------------------------------ */

static chain_genesis *test_genesis(uint8_t sk[32])
{
    uint8_t pub[32];
    char hex[65], doc[1024], e[256];
    assert_int_equal(chain_key_generate(sk, pub), CHAIN_OK);
    chain_hex(hex, pub, 32);
    snprintf(doc, sizeof doc,
             "{\"chain\":\"t\",\"time\":1,\"brands\":[{\"id\":\"acme\",\"name\":\"Acme\","
             "\"pub\":\"%s\",\"prefixes\":[\"9506000\"]}],\"participants\":[],\"nodes\":[{"
             "\"id\":1,\"operator\":\"acme\",\"raft\":\"tcp://127.0.0.1:1\",\"http\":"
             "\"http://127.0.0.1:2\",\"pub\":"
             "\"79be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798\"}]}",
             hex);
    chain_genesis *g = NULL;
    assert_int_equal(genesis_parse(&g, doc, strlen(doc), e, sizeof e), CHAIN_OK);
    return g;
}

static void test_label_genuine_then_one_char_changed(void **st)
{
    (void)st;
    uint8_t sk[32], msg[32], sig[64];
    chain_genesis *g = test_genesis(sk);
    chain_label_hash(msg, g->chain_id, GTIN, "S1", "L1", "271231");
    assert_int_equal(chain_sign(sig, sk, msg), CHAIN_OK);
    gs1_link l;
    memset(&l, 0, sizeof l);
    strcpy(l.id.gtin, GTIN);
    strcpy(l.id.serial, "S1");
    strcpy(l.lot, "L1");
    strcpy(l.expiry, "271231");
    chain_b64url(l.sig, sig, 64);
    char url[GS1_DL_MAX], why[256];
    assert_true(gs1_link_format(url, sizeof url, "https://r.example", &l) > 0);
    gs1_link back;
    assert_int_equal(cli_unit_parse(&back, url, why, sizeof why), 0);
    const chain_brand *b = NULL;
    assert_int_equal(cli_label_check(g, &back, &b, why, sizeof why), 0);
    assert_string_equal(b->id, "acme");
    /* one character of the serial changed */
    back.id.serial[1] = '2';
    assert_int_equal(cli_label_check(g, &back, &b, why, sizeof why), -1);
    assert_non_null(strstr(why, "bad label signature"));
    /* one character of the signature changed */
    assert_int_equal(cli_unit_parse(&back, url, why, sizeof why), 0);
    back.sig[10] = back.sig[10] == 'A' ? 'B' : 'A';
    assert_int_equal(cli_label_check(g, &back, &b, why, sizeof why), -1);
    /* no signature at all */
    back.sig[0] = '\0';
    assert_int_equal(cli_label_check(g, &back, &b, why, sizeof why), -1);
    assert_non_null(strstr(why, "no signature"));
    chain_genesis_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_options_both_forms),
        cmocka_unit_test(test_parse_unknown_option_is_usage_error),
        cmocka_unit_test(test_parse_missing_value_is_usage_error),
        cmocka_unit_test(test_parse_flag_with_value_is_usage_error),
        cmocka_unit_test(test_parse_too_many_positionals),
        cmocka_unit_test(test_parse_help),
        cmocka_unit_test(test_parse_double_dash_ends_options),
        cmocka_unit_test(test_u64_bounds),
        cmocka_unit_test(test_split_list),
        cmocka_unit_test(test_unit_gtin_slash_serial),
        cmocka_unit_test(test_unit_gtin13_padded),
        cmocka_unit_test(test_unit_digital_link),
        cmocka_unit_test(test_unit_element_string),
        cmocka_unit_test(test_unit_bad_check_digit_refused),
        cmocka_unit_test(test_units_file),
        cmocka_unit_test(test_units_file_at_limit_and_one_past),
        cmocka_unit_test(test_node_list_at_limit_and_one_past),
        cmocka_unit_test(test_parse_positionals_at_limit),
        cmocka_unit_test(test_file_read_bounded_and_errors_named),
        cmocka_unit_test(test_env_defaults),
        cmocka_unit_test(test_key_roundtrip_0600_no_overwrite),
        cmocka_unit_test(test_key_read_rejects_garbage),
        cmocka_unit_test(test_serials_random_and_gs1_valid),
        cmocka_unit_test(test_claim_code_format),
        cmocka_unit_test(test_label_genuine_then_one_char_changed),
        cmocka_unit_test(test_sscc_parse_forms),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
