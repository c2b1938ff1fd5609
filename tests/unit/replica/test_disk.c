/* The disk watch (disk.c): full below the reserve, not full at or above it,
 * and full again / free again as the filesystem changes, with no restart. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "replica/disk.h"

static uint64_t free_now(const char *dir)
{
    struct statvfs v;
    assert_int_equal(statvfs(dir, &v), 0);
    return (uint64_t)v.f_bavail * v.f_frsize;
}

static void test_disk_full_below_reserve_only(void **st)
{
    (void)st;
    char dir[] = "/tmp/provena-disk-XXXXXX";
    assert_non_null(mkdtemp(dir));
    uint64_t f = free_now(dir);
    assert_true(f > (16u << 20)); /* room for the test to mean something */
    /* a reserve far above what is free: full */
    disk_watch *d = disk_watch_new(dir, f + (1ull << 40));
    assert_true(disk_full(d));
    bool full;
    uint64_t freeb, reserve;
    disk_state(d, &full, &freeb, &reserve);
    assert_true(full);
    assert_true(freeb != UINT64_MAX && freeb < reserve);
    disk_watch_free(d);
    /* a reserve of 1 MiB with more free: not full */
    d = disk_watch_new(dir, 1u << 20);
    assert_false(disk_full(d));
    disk_watch_free(d);
    /* a missing directory cannot be read: the last state (not full) stays */
    d = disk_watch_new("/nonexistent/provena", 1u << 20);
    assert_false(disk_full(d));
    disk_watch_free(d);
    assert_false(disk_full(NULL));
    rmdir(dir);
}

/* The reserve is the least free space that still takes writes: free ==
 * reserve is not full, reserve one byte more is. Readings race with other
 * writers of the filesystem, so each case is retried until the free space
 * was the same before and after. */
static void test_disk_reserve_at_limit_and_one_past(void **st)
{
    (void)st;
    char dir[] = "/tmp/provena-disk-XXXXXX";
    assert_non_null(mkdtemp(dir));
    int done = 0;
    for (int i = 0; i < 200 && done < 2; i++) {
        uint64_t f = free_now(dir);
        disk_watch *at = disk_watch_new(dir, f), *past = disk_watch_new(dir, f + 1);
        bool full_at = disk_full(at), full_past = disk_full(past);
        disk_watch_free(at);
        disk_watch_free(past);
        if (free_now(dir) != f)
            continue; /* someone wrote meanwhile: read again */
        assert_false(full_at);
        assert_true(full_past);
        done++;
    }
    assert_int_equal(done, 2);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_disk_full_below_reserve_only),
        cmocka_unit_test(test_disk_reserve_at_limit_and_one_past),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
