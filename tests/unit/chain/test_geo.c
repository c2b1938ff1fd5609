/* geo: the country centroid table and the integer great-circle distance. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "chain/geo.h"

static void test_lookup(void **state)
{
    (void)state;
    int32_t lat, lon;
    const char *must[] = {"DE", "FR", "AT", "JP", "US", "CN", "GB", "IT", "ES", "NL", "PL",
                          "IN", "BR", "AU", "CA", "MX", "KR", "ZA", "NG", "EG", "TR", "RU",
                          "ID", "AR", "SE", "CH", "BE", "SG", "AE", "SA", "VN", "TH"};
    for (size_t i = 0; i < sizeof must / sizeof must[0]; i++)
        assert_true(geo_lookup(must[i], &lat, &lon));
    assert_true(geo_count() >= 240);
    assert_true(geo_lookup("DE", &lat, &lon));
    assert_int_equal(lat, 51166);
    assert_int_equal(lon, 10452);
    int32_t lat2, lon2;
    assert_true(geo_lookup("DE-BY", &lat2, &lon2)); /* subdivision: its country */
    assert_int_equal(lat2, lat);
    assert_int_equal(lon2, lon);
    assert_false(geo_lookup("", &lat, &lon));
    assert_false(geo_lookup("D", &lat, &lon));
    assert_false(geo_lookup("de", &lat, &lon));
    assert_false(geo_lookup("DEU", &lat, &lon));
    assert_false(geo_lookup("QQ", &lat, &lon));
    assert_false(geo_lookup(NULL, &lat, &lon));
}

static void test_sorted_unique(void **state)
{
    (void)state;
    /* bsearch needs a sorted table: first, last and middle codes must be found. */
    const char *codes[] = {"AD", "AE", "AF", "MX", "US", "UY", "XK", "YE", "ZA", "ZM", "ZW"};
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        int32_t lat, lon;
        assert_true(geo_lookup(codes[i], &lat, &lon));
    }
}

static void test_distance(void **state)
{
    (void)state;
    uint32_t km;
    assert_int_equal(geo_region_km("DE", "DE", &km), 0);
    assert_int_equal(km, 0);
    assert_int_equal(geo_region_km("DE", "JP", &km), 0);
    assert_in_range(km, 8800, 9400);
    assert_int_equal(geo_region_km("DE", "AT", &km), 0);
    assert_in_range(km, 350, 550);
    assert_int_equal(geo_region_km("US", "AU", &km), 0);
    assert_in_range(km, 14500, 16000);
    assert_int_equal(geo_region_km("DE", "QQ", &km), -1);
    /* symmetric, antipodes bounded by half the circumference */
    uint32_t a = geo_distance_km(51166, 10452, 36205, 138253);
    uint32_t b = geo_distance_km(36205, 138253, 51166, 10452);
    assert_int_equal(a, b);
    assert_int_equal(geo_distance_km(0, 0, 0, 180000), 20015);
    assert_int_equal(geo_distance_km(90000, 0, -90000, 0), 20015);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lookup),
        cmocka_unit_test(test_sorted_unique),
        cmocka_unit_test(test_distance),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
