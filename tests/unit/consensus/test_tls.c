/*
 * test_tls.c — the TLS identities of consensus links keep cons_tls.h's
 * promises: a key file is refused when others may read it, when it is empty
 * or one byte over CONS_TLS_FILE_MAX (and read at exactly that size), when it
 * lacks a certificate or holds another key's; a replaced file is noticed; a
 * pin is made only from a certificate that parses whole; a HELLO verifies
 * only under the pin of its signer, for exactly what was signed, and a
 * signature of 0 or CONS_HELLO_SIG_MAX + 1 bytes is refused unread.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <nng/nng.h>
#include <nng/supplemental/tls/tls.h>
#include <stdio.h>
#include <stdlib.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "chain/chain.h"
#include "consensus/cons_tls.h"
#include "helper_util.h"

static char *dir;
static char *pem_a, *pem_b;
static uint8_t der_a[CHAIN_TLS_CERT_MAX], der_b[CHAIN_TLS_CERT_MAX];
static size_t der_a_len, der_b_len;

static int setup(void **st)
{
    (void)st;
    dir = helper_tmpdir("tls");
    if (chain_tls_key_new(&pem_a, der_a, &der_a_len, "provena node") != CHAIN_OK ||
        chain_tls_key_new(&pem_b, der_b, &der_b_len, "provena node") != CHAIN_OK)
        return -1;
    return 0;
}

static int teardown(void **st)
{
    (void)st;
    free(pem_a);
    free(pem_b);
    helper_rmtree(dir);
    return 0;
}

/* Writes text to dir/name with mode; returns the path (static buffer). */
static const char *put(const char *name, const char *text, size_t len, mode_t mode)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    unlink(path);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, len, f), len);
    fclose(f);
    assert_int_equal(chmod(path, mode), 0);
    return path;
}

/* The PEM block of `what` ("PRIVATE KEY" or "CERTIFICATE") in pem, malloc'd. */
static char *block(const char *pem, const char *what)
{
    char begin[64], end[64];
    snprintf(begin, sizeof begin, "-----BEGIN %s-----", what);
    snprintf(end, sizeof end, "-----END %s-----\n", what);
    const char *b = strstr(pem, begin), *e = b ? strstr(b, end) : NULL;
    assert_non_null(e);
    return strndup(b, (size_t)(e - b) + strlen(end));
}

static void expect_refused(const char *path, const char *want)
{
    cons_tls_id id;
    memset(&id, 0x5a, sizeof id);
    cons_tls_id before = id;
    char err[512] = "";
    assert_int_equal(cons_tls_id_load(&id, path, err, sizeof err), -1);
    if (!strstr(err, want))
        fail_msg("%s: \"%s\", want \"%s\"", path, err, want);
    assert_memory_equal(&id, &before, sizeof id); /* untouched */
}

static void test_key_file_refusals_named(void **st)
{
    (void)st;
    expect_refused("/nonexistent/node.tls", "/nonexistent/node.tls: No such file");
    expect_refused(put("group.tls", pem_a, strlen(pem_a), 0640), "readable by group or others");
    expect_refused(put("world.tls", pem_a, strlen(pem_a), 0604), "readable by group or others");
    expect_refused(put("empty.tls", "", 0, 0600), "not 1..16384 bytes");
    char *key_a = block(pem_a, "PRIVATE KEY"), *cert_a = block(pem_a, "CERTIFICATE");
    char *cert_b = block(pem_b, "CERTIFICATE");
    expect_refused(put("keyonly.tls", key_a, strlen(key_a), 0600),
                   "needs a PEM private key and certificate");
    expect_refused(put("certonly.tls", cert_a, strlen(cert_a), 0600),
                   "needs a PEM private key and certificate");
    char mixed[8192];
    snprintf(mixed, sizeof mixed, "%s%s", key_a, cert_b);
    expect_refused(put("mixed.tls", mixed, strlen(mixed), 0600),
                   "the certificate is not of the private key");
    free(key_a);
    free(cert_a);
    free(cert_b);
}

/* CONS_TLS_FILE_MAX: a good key file padded to exactly the bound (text after
 * the PEM blocks) is read; one byte more is refused before it is parsed. */
static void test_key_file_size_bound(void **st)
{
    (void)st;
    char *buf = malloc(CONS_TLS_FILE_MAX + 2);
    assert_non_null(buf);
    size_t n = strlen(pem_a);
    memcpy(buf, pem_a, n);
    memset(buf + n, '#', CONS_TLS_FILE_MAX + 1 - n);
    buf[CONS_TLS_FILE_MAX - 1] = '\n';
    cons_tls_id id;
    char err[512] = "";
    const char *p = put("atmax.tls", buf, CONS_TLS_FILE_MAX, 0600);
    if (cons_tls_id_load(&id, p, err, sizeof err) != 0)
        fail_msg("a key file of exactly %d bytes: %s", CONS_TLS_FILE_MAX, err);
    assert_int_equal(id.der_len, der_a_len);
    assert_memory_equal(id.der, der_a, der_a_len);
    cons_tls_id_free(&id);
    buf[CONS_TLS_FILE_MAX] = '\n';
    expect_refused(put("overmax.tls", buf, CONS_TLS_FILE_MAX + 1, 0600), "not 1..16384 bytes");
    free(buf);
}

/* A loaded identity notices its file replaced (a node.rotate's new key). */
static void test_key_file_change_noticed(void **st)
{
    (void)st;
    char path[512];
    snprintf(path, sizeof path, "%s", put("node.tls", pem_a, strlen(pem_a), 0600));
    cons_tls_id id;
    char err[512];
    assert_int_equal(cons_tls_id_load(&id, path, err, sizeof err), 0);
    assert_false(cons_tls_id_changed(&id, path));
    char tmp[520];
    snprintf(tmp, sizeof tmp, "%s.new", path);
    FILE *f = fopen(tmp, "wb");
    assert_non_null(f);
    fputs(pem_b, f);
    fclose(f);
    assert_int_equal(chmod(tmp, 0600), 0);
    assert_int_equal(rename(tmp, path), 0);
    assert_true(cons_tls_id_changed(&id, path));
    cons_tls_id_free(&id);
    /* a replacement with the same modification time is still noticed: by
     * its size, or, at the same size, by its inode */
    assert_int_equal(cons_tls_id_load(&id, path, err, sizeof err), 0);
    struct stat fs;
    assert_int_equal(stat(path, &fs), 0);
    struct timespec same[2] = {fs.st_atim, fs.st_mtim};
    f = fopen(tmp, "wb");
    assert_non_null(f);
    fputs(pem_b, f);
    fputs("\n", f);
    fclose(f);
    assert_int_equal(chmod(tmp, 0600), 0);
    assert_int_equal(utimensat(AT_FDCWD, tmp, same, 0), 0);
    assert_int_equal(rename(tmp, path), 0);
    assert_true(cons_tls_id_changed(&id, path));
    cons_tls_id_free(&id);
    assert_int_equal(cons_tls_id_load(&id, path, err, sizeof err), 0);
    assert_int_equal(stat(path, &fs), 0);
    struct timespec again[2] = {fs.st_atim, fs.st_mtim};
    f = fopen(tmp, "wb");
    assert_non_null(f);
    fputs(pem_b, f);
    fputs("\n", f);
    fclose(f);
    assert_int_equal(chmod(tmp, 0600), 0);
    assert_int_equal(utimensat(AT_FDCWD, tmp, again, 0), 0);
    assert_int_equal(rename(tmp, path), 0);
    assert_int_equal(stat(path, &fs), 0);
    assert_int_equal((long long)fs.st_size, (long long)strlen(pem_b) + 1);
    assert_true(cons_tls_id_changed(&id, path));
    unlink(path);
    assert_false(cons_tls_id_changed(&id, path)); /* gone for a moment (mid-replace): kept */
    cons_tls_id_free(&id);
}

static void test_pin_only_from_a_whole_certificate(void **st)
{
    (void)st;
    cons_tls_pin pin;
    assert_false(cons_tls_pin_make(&pin, 2, der_a, 0));
    cons_tls_pin_free(&pin);
    assert_false(cons_tls_pin_make(&pin, 2, der_a, CONS_TLS_CERT_MAX + 1));
    cons_tls_pin_free(&pin);
    assert_false(cons_tls_pin_make(&pin, 2, der_a, der_a_len - 1)); /* truncated */
    cons_tls_pin_free(&pin);
    uint8_t junk[64];
    memset(junk, 0x30, sizeof junk);
    assert_false(cons_tls_pin_make(&pin, 2, junk, sizeof junk));
    cons_tls_pin_free(&pin);
    uint8_t longer[CHAIN_TLS_CERT_MAX + 1];
    memcpy(longer, der_a, der_a_len);
    longer[der_a_len] = 0;
    assert_false(cons_tls_pin_make(&pin, 2, longer, der_a_len + 1)); /* bytes after it */
    cons_tls_pin_free(&pin);
    assert_true(cons_tls_pin_make(&pin, 2, der_a, der_a_len));
    assert_int_equal(pin.id, 2);
    cons_tls_pin_free(&pin);
}

static void test_hello_verifies_only_for_its_signer_and_fields(void **st)
{
    (void)st;
    cons_tls_id a;
    char err[512];
    assert_int_equal(
        cons_tls_id_load(&a, put("a.tls", pem_a, strlen(pem_a), 0600), err, sizeof err), 0);
    cons_tls_pin pa, pb;
    assert_true(cons_tls_pin_make(&pa, 1, der_a, der_a_len));
    assert_true(cons_tls_pin_make(&pb, 2, der_b, der_b_len));
    uint8_t chain[32] = {1, 2, 3}, other[32] = {9};
    uint8_t sig[CONS_HELLO_SIG_MAX + 1];
    size_t n = cons_tls_hello_sign(&a, sig, chain, 1, 2, 1000);
    assert_true(n > 0 && n <= CONS_HELLO_SIG_MAX);
    assert_true(cons_tls_hello_verify(&pa, sig, n, chain, 1, 2, 1000));
    assert_false(cons_tls_hello_verify(&pb, sig, n, chain, 1, 2, 1000)); /* another's pin */
    assert_false(cons_tls_hello_verify(&pa, sig, n, other, 1, 2, 1000));
    assert_false(cons_tls_hello_verify(&pa, sig, n, chain, 3, 2, 1000));
    assert_false(cons_tls_hello_verify(&pa, sig, n, chain, 1, 3, 1000));
    assert_false(cons_tls_hello_verify(&pa, sig, n, chain, 1, 2, 1001));
    assert_false(cons_tls_hello_verify(&pa, sig, 0, chain, 1, 2, 1000));
    assert_false(cons_tls_hello_verify(&pa, sig, n - 1, chain, 1, 2, 1000));
    memset(sig + n, 0, sizeof sig - n);
    assert_false(cons_tls_hello_verify(&pa, sig, CONS_HELLO_SIG_MAX + 1, chain, 1, 2, 1000));
    cons_tls_pin none = {0};
    assert_false(cons_tls_hello_verify(&none, sig, n, chain, 1, 2, 1000));
    /* an nng configuration with this identity trusting both pins, and one with none */
    const cons_tls_pin *trust[] = {&pa, &pb};
    nng_tls_config *cfg = NULL;
    assert_int_equal(cons_tls_config(&cfg, NNG_TLS_MODE_SERVER, &a, trust, 2), 0);
    nng_tls_config_free(cfg);
    assert_int_equal(cons_tls_config(&cfg, NNG_TLS_MODE_CLIENT, NULL, trust, 0), 0);
    nng_tls_config_free(cfg);
    cons_tls_pin_free(&pa);
    cons_tls_pin_free(&pb);
    cons_tls_id_free(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_key_file_refusals_named),
        cmocka_unit_test(test_key_file_size_bound),
        cmocka_unit_test(test_key_file_change_noticed),
        cmocka_unit_test(test_pin_only_from_a_whole_certificate),
        cmocka_unit_test(test_hello_verifies_only_for_its_signer_and_fields),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
