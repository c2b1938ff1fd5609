/*
 * mkseeds.c — writes the binary seeds of tests/fuzz/corpus/catchup: peer
 * answers to GET /api/v1/blocks?format=cbor (CBOR arrays of blocks linked by
 * their ids, built with chain_block_build, one carrying a transaction) and
 * consensus markers of the chain id the target uses (5a..5a). Not part of
 * any test; run once by hand: mkseeds OUTDIR [TXHEX].
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chain/chain.h"

static void put(const char *dir, const char *name, const uint8_t *p, size_t n)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(p, 1, n, f) != n) {
        perror(path);
        exit(1);
    }
    fclose(f);
}

/* CBOR head of major type mt with argument v into o; returns the bytes. */
static size_t head(uint8_t *o, unsigned mt, uint64_t v)
{
    if (v < 24) {
        o[0] = (uint8_t)(mt << 5 | v);
        return 1;
    }
    if (v < 256) {
        o[0] = (uint8_t)(mt << 5 | 24);
        o[1] = (uint8_t)v;
        return 2;
    }
    if (v < 65536) {
        o[0] = (uint8_t)(mt << 5 | 25);
        o[1] = (uint8_t)(v >> 8);
        o[2] = (uint8_t)v;
        return 3;
    }
    o[0] = (uint8_t)(mt << 5 | 26);
    for (int i = 0; i < 4; i++)
        o[1 + i] = (uint8_t)(v >> (24 - 8 * i));
    return 5;
}

static size_t text(uint8_t *o, const char *s)
{
    size_t k = head(o, 3, strlen(s));
    memcpy(o + k, s, strlen(s));
    return k + strlen(s);
}

static size_t bytes(uint8_t *o, const uint8_t *b, size_t n)
{
    size_t k = head(o, 2, n);
    memcpy(o + k, b, n);
    return k + n;
}

static void marker(const char *dir, const char *name, size_t nnodes, uint64_t height)
{
    uint8_t o[1024], h[32], c[32];
    memset(h, 0x11, sizeof h);
    memset(c, 0x5a, sizeof c);
    size_t k = head(o, 5, 7);
    k += text(o + k, "id");
    k += bytes(o + k, h, 32);
    k += text(o + k, "chain");
    k += bytes(o + k, c, 32);
    k += text(o + k, "index");
    k += head(o + k, 0, 42);
    k += text(o + k, "nodes");
    k += head(o + k, 4, nnodes);
    for (size_t i = 0; i < nnodes; i++) {
        char addr[64];
        snprintf(addr, sizeof addr, "http://127.0.0.1:810%zu", i + 1);
        k += head(o + k, 4, 2);
        k += head(o + k, 0, i + 1);
        k += text(o + k, addr);
    }
    k += text(o + k, "digest");
    k += bytes(o + k, h, 32);
    k += text(o + k, "height");
    k += head(o + k, 0, height);
    k += text(o + k, "version");
    k += head(o + k, 0, 2);
    put(dir, name, o, k);
}

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return 2;
    const char *dir = argv[1];
    uint8_t tx[4096];
    size_t txlen = 0;
    if (argc > 2)
        for (const char *p = argv[2]; p[0] && p[1] && txlen < sizeof tx; p += 2)
            tx[txlen++] = (uint8_t)(hexval(p[0]) << 4 | hexval(p[1]));
    marker(dir, "marker_3nodes", 3, 120);
    marker(dir, "marker_0nodes", 0, 0);
    /* ranges of 1 and 3 linked blocks from height 5; the middle one has the tx */
    for (size_t n = 1; n <= 3; n += 2) {
        static uint8_t out[1 << 16];
        size_t k = head(out, 4, n);
        uint8_t prev[CHAIN_HASH_LEN];
        memset(prev, 0x33, sizeof prev);
        for (size_t i = 0; i < n; i++) {
            chain_block_header h = {.height = 5 + i, .time = 1767225600000u + i, .proposer = 1};
            memcpy(h.prev, prev, sizeof prev);
            const uint8_t *txs[1] = {tx};
            size_t lens[1] = {txlen};
            size_t ntx = (i == 1 && txlen) ? 1 : 0;
            uint8_t *blk;
            size_t blen;
            if (chain_block_build(&blk, &blen, &h, txs, lens, ntx) != CHAIN_OK) {
                fprintf(stderr, "block build failed\n");
                return 1;
            }
            chain_block_header_id(prev, &h);
            k += bytes(out + k, blk, blen);
            free(blk);
        }
        char name[32];
        snprintf(name, sizeof name, "blocks_%zu", n);
        put(dir, name, out, k);
    }
    return 0;
}
