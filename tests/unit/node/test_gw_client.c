/* Who the gateway says a client is (gw_client.c): the address parser, the
 * network-wide keyed client hash (network bytes, address bytes, key, day),
 * and the country from Debian's GeoIP databases. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "node/gw_priv.h"

#define GEOIP4 "/usr/share/GeoIP/GeoIP.dat"
#define GEOIP6 "/usr/share/GeoIP/GeoIPv6.dat"

static gw_addr addr(const char *s)
{
    gw_addr a;
    assert_true(gw_addr_parse(&a, s, strlen(s)));
    return a;
}

static void test_addr_parse_accepts_v4_v6_and_blanks(void **st)
{
    (void)st;
    gw_addr a = addr(" 203.0.113.5 ");
    assert_int_equal(a.family, AF_INET);
    assert_memory_equal(a.b, ((uint8_t[]){203, 0, 113, 5}), 4);
    a = addr("2001:db8::1");
    assert_int_equal(a.family, AF_INET6);
    assert_int_equal(a.b[0], 0x20);
    assert_int_equal(a.b[15], 1);
}

static void test_addr_parse_refuses_garbage(void **st)
{
    (void)st;
    gw_addr a = {.family = 77};
    const char *bad[] = {"",
                         " ",
                         "203.0.113",
                         "203.0.113.256",
                         "example.org",
                         "1.2.3.4, 5.6.7.8",
                         "::g",
                         "203.0.113.5:80"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_false(gw_addr_parse(&a, bad[i], strlen(bad[i])));
    char longer[200];
    memset(longer, '1', sizeof longer);
    assert_false(gw_addr_parse(&a, longer, sizeof longer));
    assert_int_equal(a.family, 77); /* untouched on failure */
}

static void test_addr_of_mapped_v6_is_v4(void **st)
{
    (void)st;
    struct sockaddr_in6 s6;
    memset(&s6, 0, sizeof s6);
    s6.sin6_family = AF_INET6;
    assert_int_equal(inet_pton(AF_INET6, "::ffff:192.0.2.7", &s6.sin6_addr), 1);
    gw_addr a, b = addr("192.0.2.7");
    assert_true(gw_addr_of_sockaddr(&a, (struct sockaddr *)&s6));
    assert_true(gw_addr_equal(&a, &b));
}

static void test_client_hash_network_then_address(void **st)
{
    (void)st;
    uint8_t chain_id[CHAIN_HASH_LEN] = {1, 2, 3}, key[32], key2[32];
    gw_client_key(key, chain_id, "network-secret");
    gw_client_key(key2, chain_id, NULL);
    assert_memory_not_equal(key, key2, 32);
    gw_addr a = addr("203.0.113.5"), b = addr("203.0.113.6"), c = addr("198.51.100.5");
    uint8_t ha[16], ha2[16], hb[16], hc[16], hk[16], hd[16];
    gw_client_hash(ha, key, 20000, &a);
    gw_client_hash(ha2, key, 20000, &a); /* another gateway of the network: same */
    gw_client_hash(hb, key, 20000, &b);
    gw_client_hash(hc, key, 20000, &c);
    gw_client_hash(hk, key2, 20000, &a);
    gw_client_hash(hd, key, 20001, &a);
    assert_memory_equal(ha, ha2, 16);
    assert_memory_equal(ha, hb, 8);             /* one /24: one network */
    assert_memory_not_equal(ha + 8, hb + 8, 8); /* two addresses */
    assert_memory_not_equal(ha, hc, 8);         /* another /24 */
    assert_memory_not_equal(ha, hk, 8);         /* another key */
    assert_memory_not_equal(ha + 8, hk + 8, 8);
    assert_memory_not_equal(ha, hd, 8); /* another day */
    /* IPv6: one /48, two hosts */
    gw_addr x = addr("2001:db8:1:2::1"), y = addr("2001:db8:1:ffff::2"), z = addr("2001:db8:2::1");
    uint8_t hx[16], hy[16], hz[16];
    gw_client_hash(hx, key, 20000, &x);
    gw_client_hash(hy, key, 20000, &y);
    gw_client_hash(hz, key, 20000, &z);
    assert_memory_equal(hx, hy, 8);
    assert_memory_not_equal(hx + 8, hy + 8, 8);
    assert_memory_not_equal(hx, hz, 8);
}

static void test_geo_country_from_debian_databases(void **st)
{
    (void)st;
    if (access(GEOIP4, R_OK) != 0 || access(GEOIP6, R_OK) != 0)
        fail_msg("geoip-database not installed (scripts/install-deps.sh installs it)");
    gw_geo *g;
    char err[160], cc[CHAIN_REGION_MAX + 1];
    assert_int_equal(gw_geo_open(&g, GEOIP4, GEOIP6, err, sizeof err), 0);
    gw_addr a = addr("8.8.8.8");
    assert_true(gw_geo_country(g, &a, cc));
    assert_string_equal(cc, "US");
    a = addr("193.99.144.80");
    assert_true(gw_geo_country(g, &a, cc));
    assert_string_equal(cc, "DE");
    a = addr("2a00:1450:4001:80b::200e");
    assert_true(gw_geo_country(g, &a, cc));
    assert_string_equal(cc, "DE");
    a = addr("127.0.0.1"); /* no country */
    assert_false(gw_geo_country(g, &a, cc));
    a = addr("10.1.2.3");
    assert_false(gw_geo_country(g, &a, cc));
    gw_geo_close(g);
    /* a v6 database where v4 is expected, and a missing file: refused by name */
    assert_int_equal(gw_geo_open(&g, GEOIP6, NULL, err, sizeof err), -1);
    assert_non_null(strstr(err, "not a country database"));
    assert_int_equal(gw_geo_open(&g, "/nonexistent/GeoIP.dat", NULL, err, sizeof err), -1);
    assert_non_null(strstr(err, "cannot read"));
    assert_false(gw_geo_country(NULL, &a, cc));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_addr_parse_accepts_v4_v6_and_blanks),
        cmocka_unit_test(test_addr_parse_refuses_garbage),
        cmocka_unit_test(test_addr_of_mapped_v6_is_v4),
        cmocka_unit_test(test_client_hash_network_then_address),
        cmocka_unit_test(test_geo_country_from_debian_databases),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
