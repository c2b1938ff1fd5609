/*
 * gw_client.c — who is asking, as far as scan intelligence may know: the
 * client's address (the peer, or the one a trusted fronting proxy names), its
 * keyed hash, and its country from the gateway's own GeoIP database.
 *
 * The hash is what replicates, never the address. It is keyed network-wide:
 * key = tagged_hash(CLIENT_KEY, chain id || network secret), so every gateway
 * of one network hashes one client alike and a client seen through three
 * gateways counts once. It rotates each UTC day (the day is hashed in), so
 * yesterday's hashes do not link to today's. Its 16 bytes are two hashes:
 * bytes 0..7 of the client's network (IPv4 /24, IPv6 /48) and bytes 8..15 of
 * the address itself, so the rules can ask for distinct networks, which an
 * attacker pays for far more dearly than distinct addresses. Without a
 * network secret the key is public (the chain id is in the genesis), and
 * anyone holding the ledger can test a guessed address against a hash; the
 * secret (--scan-secret-file, the same file on every node) closes that.
 *
 * The country comes from libGeoIP's country databases (Debian's
 * geoip-database), opened once into memory; lookups are then read-only and
 * safe from any thread.
 */
#include "node/gw_priv.h"

#include <GeoIP.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define CLIENT_KEY_TAG "provena/client-key/v1"
#define CLIENT_TAG     "provena/client/v2"

bool gw_addr_parse(gw_addr *out, const char *s, size_t n)
{
    char buf[INET6_ADDRSTRLEN + 1];
    while (n > 0 && (*s == ' ' || *s == '\t'))
        s++, n--;
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    if (n == 0 || n >= sizeof buf)
        return false;
    memcpy(buf, s, n);
    buf[n] = '\0';
    gw_addr a;
    memset(&a, 0, sizeof a);
    if (inet_pton(AF_INET, buf, a.b) == 1) {
        a.family = AF_INET;
    } else if (inet_pton(AF_INET6, buf, a.b) == 1) {
        a.family = AF_INET6;
    } else {
        return false;
    }
    *out = a;
    return true;
}

bool gw_addr_of_sockaddr(gw_addr *out, const struct sockaddr *sa)
{
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (!sa)
        return false;
    memset(out, 0, sizeof *out);
    if (sa->sa_family == AF_INET) {
        out->family = AF_INET;
        memcpy(out->b, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, 4);
        return true;
    }
    if (sa->sa_family == AF_INET6) {
        const uint8_t *a6 = ((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr.s6_addr;
        if (memcmp(a6, mapped, sizeof mapped) == 0) { /* ::ffff:a.b.c.d is IPv4 */
            out->family = AF_INET;
            memcpy(out->b, a6 + 12, 4);
        } else {
            out->family = AF_INET6;
            memcpy(out->b, a6, 16);
        }
        return true;
    }
    return false;
}

bool gw_addr_equal(const gw_addr *a, const gw_addr *b)
{
    return a->family == b->family && memcmp(a->b, b->b, sizeof a->b) == 0;
}

void gw_client_key(uint8_t key[32], const uint8_t chain_id[CHAIN_HASH_LEN], const char *secret)
{
    size_t sl = secret ? strlen(secret) : 0;
    uint8_t *msg = malloc(CHAIN_HASH_LEN + sl);
    if (!msg) { /* no memory for a few bytes: the public key still works alike everywhere */
        chain_tagged_hash(key, CLIENT_KEY_TAG, chain_id, CHAIN_HASH_LEN);
        return;
    }
    memcpy(msg, chain_id, CHAIN_HASH_LEN);
    if (sl)
        memcpy(msg + CHAIN_HASH_LEN, secret, sl);
    chain_tagged_hash(key, CLIENT_KEY_TAG, msg, CHAIN_HASH_LEN + sl);
    explicit_bzero(msg, CHAIN_HASH_LEN + sl);
    free(msg);
}

/* tagged_hash(CLIENT, key || be64 day || part || bytes) truncated to 8. */
static void part_hash(uint8_t out[8], const uint8_t key[32], uint64_t day, char part,
                      const uint8_t *b, size_t n)
{
    uint8_t msg[32 + 8 + 1 + 16];
    memcpy(msg, key, 32);
    for (int i = 0; i < 8; i++)
        msg[32 + i] = (uint8_t)(day >> (56 - 8 * i));
    msg[40] = (uint8_t)part;
    memcpy(msg + 41, b, n);
    uint8_t h[CHAIN_HASH_LEN];
    chain_tagged_hash(h, CLIENT_TAG, msg, 41 + n);
    memcpy(out, h, 8);
    explicit_bzero(msg, sizeof msg);
}

void gw_client_hash(uint8_t out[GW_CLIENT_LEN], const uint8_t key[32], uint64_t day,
                    const gw_addr *a)
{
    uint8_t net[16] = {0};
    size_t alen = 0, nlen = 0;
    if (a && a->family == AF_INET) {
        alen = 4;
        nlen = 3; /* /24 */
    } else if (a && a->family == AF_INET6) {
        alen = 16;
        nlen = 6; /* /48 */
    }
    if (alen)
        memcpy(net, a->b, nlen);
    part_hash(out, key, day, alen == 4 ? 'n' : 'N', net, nlen);
    part_hash(out + 8, key, day, alen == 4 ? 'a' : 'A', a ? a->b : net, alen);
}

/* ---- GeoIP -------------------------------------------------------------------------- */

struct gw_geo {
    GeoIP *v4, *v6;
};

static GeoIP *geo_open_one(const char *path, int want_edition, char *errmsg, size_t errmsg_len)
{
    if (access(path, R_OK) != 0) {
        snprintf(errmsg, errmsg_len, "geoip %s: cannot read", path);
        return NULL;
    }
    GeoIP *gi = GeoIP_open(path, GEOIP_MEMORY_CACHE | GEOIP_SILENCE);
    if (!gi) {
        snprintf(errmsg, errmsg_len, "geoip %s: not a GeoIP database", path);
        return NULL;
    }
    if (GeoIP_database_edition(gi) != want_edition) {
        snprintf(errmsg, errmsg_len, "geoip %s: not a country database (%s)", path,
                 want_edition == GEOIP_COUNTRY_EDITION ? "IPv4" : "IPv6");
        GeoIP_delete(gi);
        return NULL;
    }
    return gi;
}

int gw_geo_open(gw_geo **out, const char *v4_path, const char *v6_path, char *errmsg,
                size_t errmsg_len)
{
    gw_geo *g = calloc(1, sizeof *g);
    if (!g) {
        snprintf(errmsg, errmsg_len, "geoip: out of memory");
        return -1;
    }
    if (v4_path && !(g->v4 = geo_open_one(v4_path, GEOIP_COUNTRY_EDITION, errmsg, errmsg_len)))
        goto fail;
    if (v6_path && !(g->v6 = geo_open_one(v6_path, GEOIP_COUNTRY_EDITION_V6, errmsg, errmsg_len)))
        goto fail;
    *out = g;
    return 0;
fail:
    gw_geo_close(g);
    return -1;
}

void gw_geo_close(gw_geo *g)
{
    if (!g)
        return;
    if (g->v4)
        GeoIP_delete(g->v4);
    if (g->v6)
        GeoIP_delete(g->v6);
    free(g);
}

bool gw_geo_country(const gw_geo *g, const gw_addr *a, char out[CHAIN_REGION_MAX + 1])
{
    if (!g || !a)
        return false;
    const char *cc = NULL;
    if (a->family == AF_INET && g->v4) {
        unsigned long ipnum = (unsigned long)a->b[0] << 24 | (unsigned long)a->b[1] << 16 |
                              (unsigned long)a->b[2] << 8 | a->b[3];
        cc = GeoIP_country_code_by_ipnum(g->v4, ipnum);
    } else if (a->family == AF_INET6 && g->v6) {
        geoipv6_t in6;
        memcpy(&in6, a->b, 16);
        cc = GeoIP_country_code_by_ipnum_v6(g->v6, in6);
    }
    /* "A1" anonymous proxy, "A2" satellite, "AP"/"EU" continents: no country.
     * gw_region_norm refuses them all but EU/AP's shape, so name them here. */
    if (!cc || strcmp(cc, "A1") == 0 || strcmp(cc, "A2") == 0 || strcmp(cc, "AP") == 0 ||
        strcmp(cc, "EU") == 0 || strcmp(cc, "O1") == 0 || strcmp(cc, "--") == 0)
        return false;
    return gw_region_norm(out, cc, strlen(cc));
}
