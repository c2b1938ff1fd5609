/*
 * test_secrets.c — the node's secret files: a key or token file that its
 * group or others may read is refused with the chmod that fixes it; the admin
 * token file is one line of printable characters, bounded by NODE_TOKEN_MAX.
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

#include "node/node.h"

static char dir[64];

static void put(const char *path, const char *text, mode_t mode)
{
    unlink(path);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    assert_int_equal(chmod(path, mode), 0);
}

static void test_key_group_readable_refused(void **st)
{
    (void)st;
    char path[128], e[512];
    uint8_t sk[32];
    snprintf(path, sizeof path, "%s/node.key", dir);
    put(path, "0000000000000000000000000000000000000000000000000000000000000001\n", 0640);
    assert_int_equal(node_key_load(sk, path, e, sizeof e), -1);
    assert_non_null(strstr(e, "readable or writable by group or others (mode 640)"));
    assert_non_null(strstr(e, "chmod 600"));
    assert_int_equal(chmod(path, 0604), 0);
    assert_int_equal(node_key_load(sk, path, e, sizeof e), -1);
    assert_int_equal(chmod(path, 0600), 0);
    assert_int_equal(node_key_load(sk, path, e, sizeof e), 0);
    assert_int_equal(sk[31], 1);
}

static void test_token_file(void **st)
{
    (void)st;
    char path[128], e[512], tok[NODE_TOKEN_MAX + 1] = "unchanged";
    snprintf(path, sizeof path, "%s/token", dir);
    put(path, "s3cret-token\n", 0600);
    assert_int_equal(node_token_file_read(tok, sizeof tok, path, e, sizeof e), 0);
    assert_string_equal(tok, "s3cret-token");
    put(path, "s3cret-token\n", 0644);
    strcpy(tok, "unchanged");
    assert_int_equal(node_token_file_read(tok, sizeof tok, path, e, sizeof e), -1);
    assert_non_null(strstr(e, "chmod 600"));
    assert_string_equal(tok, "unchanged");
    put(path, "two words\n", 0600);
    assert_int_equal(node_token_file_read(tok, sizeof tok, path, e, sizeof e), -1);
    put(path, "\n", 0600);
    assert_int_equal(node_token_file_read(tok, sizeof tok, path, e, sizeof e), -1);
    /* the limit, and one past it */
    char big[NODE_TOKEN_MAX + 3];
    memset(big, 'a', sizeof big);
    big[NODE_TOKEN_MAX] = '\0';
    put(path, big, 0600);
    assert_int_equal(node_token_file_read(tok, sizeof tok, path, e, sizeof e), 0);
    assert_int_equal(strlen(tok), NODE_TOKEN_MAX);
    big[NODE_TOKEN_MAX] = 'a';
    big[NODE_TOKEN_MAX + 1] = '\0';
    put(path, big, 0600);
    assert_int_equal(node_token_file_read(tok, sizeof tok, path, e, sizeof e), -1);
    snprintf(path, sizeof path, "%s/missing", dir);
    assert_int_equal(node_token_file_read(tok, sizeof tok, path, e, sizeof e), -1);
    assert_non_null(strstr(e, "No such file"));
}

/* A PEM-looking file of exactly n bytes. */
static void put_pem(const char *path, size_t n, mode_t mode)
{
    static const char head[] = "-----BEGIN PRIVATE KEY-----\n";
    char *b = malloc(n);
    assert_non_null(b);
    memset(b, 'A', n);
    memcpy(b, head, n < sizeof head - 1 ? n : sizeof head - 1);
    unlink(path);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fwrite(b, 1, n, f), n);
    fclose(f);
    free(b);
    assert_int_equal(chmod(path, mode), 0);
}

static void test_pem_file_bounds_and_mode(void **st)
{
    (void)st;
    char path[128], e[512];
    char *out = NULL;
    snprintf(path, sizeof path, "%s/gw.key", dir);
    put_pem(path, NODE_PEM_MAX, 0600); /* exactly at the bound */
    assert_int_equal(node_pem_file_read(&out, "--tls-key", path, true, e, sizeof e), 0);
    assert_int_equal(strlen(out), NODE_PEM_MAX);
    free(out);
    out = NULL;
    put_pem(path, NODE_PEM_MAX + 1, 0600); /* one past it */
    assert_int_equal(node_pem_file_read(&out, "--tls-key", path, true, e, sizeof e), -1);
    assert_non_null(strstr(e, "--tls-key"));
    assert_non_null(strstr(e, "want a PEM file"));
    assert_null(out);
    put_pem(path, 100, 0640); /* a key others may read */
    assert_int_equal(node_pem_file_read(&out, "--tls-key", path, true, e, sizeof e), -1);
    assert_non_null(strstr(e, "chmod 600"));
    /* a certificate is public: its mode is not checked */
    assert_int_equal(node_pem_file_read(&out, "--tls-cert", path, false, e, sizeof e), 0);
    free(out);
    out = NULL;
    put(path, "not a pem file\n", 0600);
    assert_int_equal(node_pem_file_read(&out, "--tls-cert", path, false, e, sizeof e), -1);
    put(path, "", 0600);
    assert_int_equal(node_pem_file_read(&out, "--tls-cert", path, false, e, sizeof e), -1);
    assert_null(out);
}

static int setup(void **st)
{
    (void)st;
    strcpy(dir, "/tmp/provena-secrets-XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **st)
{
    (void)st;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_key_group_readable_refused),
        cmocka_unit_test(test_token_file),
        cmocka_unit_test(test_pem_file_bounds_and_mode),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
