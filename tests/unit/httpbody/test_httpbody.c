/*
 * test_httpbody.c — an answer of exactly max bytes is kept, one byte more
 * aborts the transfer with overflow set; chunks append in order with a NUL
 * after them; reset empties without freeing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "httpbody/httpbody.h"

static void test_httpbody_chunks_append_with_nul(void **state)
{
    (void)state;
    httpbody b;
    httpbody_init(&b, 64);
    char a[] = "{\"x\":", c[] = "1}";
    assert_int_equal(httpbody_write(a, 1, strlen(a), &b), strlen(a));
    assert_int_equal(httpbody_write(c, 2, 1, &b), 2);
    assert_int_equal(b.len, 7);
    assert_string_equal((char *)b.p, "{\"x\":1}");
    assert_false(b.overflow);
    httpbody_free(&b);
    assert_null(b.p);
    assert_int_equal(b.len, 0);
}

static void test_httpbody_exactly_max_kept(void **state)
{
    (void)state;
    char data[100];
    memset(data, 'a', sizeof data);
    httpbody b;
    httpbody_init(&b, sizeof data);
    assert_int_equal(httpbody_write(data, 1, 60, &b), 60);
    assert_int_equal(httpbody_write(data, 1, 40, &b), 40);
    assert_int_equal(b.len, 100);
    assert_false(b.overflow);
    assert_int_equal(b.p[100], '\0');
    httpbody_free(&b);
}

static void test_httpbody_one_past_max_aborts(void **state)
{
    (void)state;
    char data[101];
    memset(data, 'a', sizeof data);
    httpbody b;
    httpbody_init(&b, 100);
    assert_int_equal(httpbody_write(data, 1, 100, &b), 100);
    assert_int_equal(httpbody_write(data, 1, 1, &b), 0);
    assert_true(b.overflow);
    assert_int_equal(b.len, 100); /* nothing of the refused chunk kept */
    httpbody_reset(&b);
    assert_false(b.overflow);
    assert_int_equal(b.len, 0);
    assert_int_equal(httpbody_write(data, 1, 101, &b), 0); /* one chunk past max */
    assert_true(b.overflow);
    httpbody_free(&b);
}

static void test_httpbody_reset_keeps_buffer(void **state)
{
    (void)state;
    httpbody b;
    httpbody_init(&b, 1u << 20);
    char data[5000];
    memset(data, 'z', sizeof data);
    assert_int_equal(httpbody_write(data, 1, sizeof data, &b), sizeof data);
    uint8_t *p = b.p;
    size_t cap = b.cap;
    assert_true(cap > sizeof data);
    httpbody_reset(&b);
    assert_ptr_equal(b.p, p);
    assert_int_equal(b.cap, cap);
    assert_int_equal(httpbody_write(data, 1, 3, &b), 3);
    assert_string_equal((char *)b.p, "zzz");
    httpbody_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_httpbody_chunks_append_with_nul),
        cmocka_unit_test(test_httpbody_exactly_max_kept),
        cmocka_unit_test(test_httpbody_one_past_max_aborts),
        cmocka_unit_test(test_httpbody_reset_keeps_buffer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
