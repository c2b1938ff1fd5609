/*
 * test_log.c — every line carries an ISO-8601 UTC time and the level; the
 * JSON format is one parseable object a line with the message escaped; the
 * threshold drops what is below it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log/log.h"

/* Runs fn with stderr sent to a file; returns what it wrote (malloc'd). */
static char *capture(void (*fn)(void))
{
    char path[] = "/tmp/provena-log-XXXXXX";
    int fd = mkstemp(path), saved = dup(STDERR_FILENO);
    assert_true(fd >= 0 && saved >= 0);
    dup2(fd, STDERR_FILENO);
    fn();
    dup2(saved, STDERR_FILENO);
    close(saved);
    off_t n = lseek(fd, 0, SEEK_END);
    char *buf = calloc(1, (size_t)n + 1);
    assert_int_equal(pread(fd, buf, (size_t)n, 0), n);
    close(fd);
    unlink(path);
    return buf;
}

static void text_lines(void)
{
    log_set_format("text");
    log_set_level(LOG_LEVEL_INFO);
    log_msg(LOG_LEVEL_WARN, "member %d silent", 4);
    log_msg(LOG_LEVEL_DEBUG, "not shown");
}

static void json_lines(void)
{
    assert_int_equal(log_set_format("json"), 0);
    log_msg(LOG_LEVEL_ERROR, "quote \" and newline\n in it");
    log_set_format("text");
}

static void test_text_has_time_and_level(void **st)
{
    (void)st;
    char *out = capture(text_lines);
    /* 2026-01-01T12:00:00.123Z warn  member 4 silent\n */
    assert_int_equal(strlen(out), 24 + 1 + 5 + 1 + strlen("member 4 silent") + 1);
    assert_true(out[4] == '-' && out[10] == 'T' && out[19] == '.' && out[23] == 'Z');
    assert_memory_equal(out + 25, "warn  member 4 silent\n", 22);
    free(out);
}

static void test_json_one_object_a_line(void **st)
{
    (void)st;
    char *out = capture(json_lines);
    size_t n = strlen(out);
    assert_true(n > 0 && out[n - 1] == '\n');
    assert_null(memchr(out, '\n', n - 1)); /* the message's newline is escaped */
    json_error_t je;
    json_t *o = json_loads(out, 0, &je);
    assert_non_null(o);
    assert_string_equal(json_string_value(json_object_get(o, "level")), "error");
    assert_string_equal(json_string_value(json_object_get(o, "msg")),
                        "quote \" and newline\n in it");
    assert_int_equal(strlen(json_string_value(json_object_get(o, "time"))), 24);
    json_decref(o);
    free(out);
    assert_int_equal(log_set_format("xml"), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_text_has_time_and_level),
        cmocka_unit_test(test_json_one_object_a_line),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
