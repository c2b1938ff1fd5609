/*
 * cli_resolver.c — where a label sends the phone that scans it. The resolver
 * base URL is printed on every label, for years: one that only this machine
 * or this LAN can reach (localhost, 127.0.0.1, 10.x, 192.168.x, fc00::/7 ...)
 * makes every printed label useless to a customer, so mint warns about it.
 *
 * Only literal addresses and local-only names are judged; a DNS name is not
 * resolved (the tool works offline).
 */
#include "cli/cli.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* The host part of url ("http://h:1/x", "http://[::1]:8/") into out. */
static bool url_host(char *out, size_t out_len, const char *url)
{
    const char *p = strstr(url, "://");
    p = p ? p + 3 : url;
    const char *end;
    if (*p == '[') {
        p++;
        end = strchr(p, ']');
        if (!end)
            return false;
    } else {
        end = p + strcspn(p, ":/?#");
    }
    size_t n = (size_t)(end - p);
    if (n == 0 || n >= out_len)
        return false;
    memcpy(out, p, n);
    out[n] = '\0';
    return true;
}

static bool suffix(const char *s, const char *suf)
{
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && strcasecmp(s + a - b, suf) == 0;
}

const char *cli_resolver_local(const char *url)
{
    char host[256];
    if (!url_host(host, sizeof host, url))
        return NULL;
    if (strcasecmp(host, "localhost") == 0 || suffix(host, ".localhost"))
        return "a loopback name";
    if (suffix(host, ".local") || suffix(host, ".internal") || suffix(host, ".lan") ||
        suffix(host, ".home.arpa"))
        return "a local-network name";
    uint8_t a[16];
    if (inet_pton(AF_INET, host, a) == 1) {
        if (a[0] == 127)
            return "a loopback address";
        if (a[0] == 0 || a[0] == 10 || (a[0] == 172 && (a[1] & 0xf0) == 16) ||
            (a[0] == 192 && a[1] == 168) || (a[0] == 100 && (a[1] & 0xc0) == 64))
            return "a private address";
        if (a[0] == 169 && a[1] == 254)
            return "a link-local address";
        return NULL;
    }
    if (inet_pton(AF_INET6, host, a) == 1) {
        static const uint8_t loop[16] = {[15] = 1}, any[16] = {0};
        if (memcmp(a, loop, 16) == 0 || memcmp(a, any, 16) == 0)
            return "a loopback address";
        if ((a[0] & 0xfe) == 0xfc)
            return "a private address";
        if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80)
            return "a link-local address";
    }
    return NULL;
}

const char *cli_resolver_pick(char *buf, size_t buf_len, const char *given,
                              const char *network_resolver, const char *node, const char *cmd)
{
    const char *r = given;
    if (!r && network_resolver && network_resolver[0])
        r = network_resolver;
    if (!r) {
        /* the first node of a --node list */
        size_t n = strcspn(node, ",");
        snprintf(buf, buf_len, "%.*s", (int)n, node);
        r = buf;
    }
    const char *why = cli_resolver_local(r);
    if (why)
        fprintf(stderr,
                "%s: warning: labels will point at %s, %s that customers' phones cannot reach; "
                "give the network's public resolver with --resolver https://...\n",
                cmd, r, why);
    return r;
}
