/*
 * bench_chain.c — chain_block_apply throughput on one core.
 *
 * Rows (median of 5 runs, each on a fresh ledger in a temporary directory):
 *   transitions: blocks of 1,000 signed single-unit pickups or deliveries
 *     (8 carriers, alternating pickup/deliver blocks), fsync on and off
 *     (MDB_NOSYNC); reported as applied txs/s. The floor is 15,000 txs/s.
 *   mint: blocks of one 10,000-serial mint; reported as units/s.
 * Transactions and blocks are signed and built before the clock starts: what
 * is timed is chain_block_apply alone (peek, decode, signature verification,
 * rules, LMDB commit) — what every node pays per committed block. Two clocks:
 * wall time (includes fsync waits and whatever else the machine runs) and
 * the applying thread's CPU time (the one-core cost, steady on a shared
 * machine). The floor is checked on the CPU-time rate with fsync off. One
 * extra row applies the same blocks with chain_options.verify_threads = the
 * number of cores (signature pre-pass on worker threads; wall rate).
 *
 * usage: bench_chain [--quick]    exit 0 when the floor holds.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "chain/chain.h"
#include "genesis/genesis.h"

#define CARRIERS        8
#define BLOCK_TXS       1000
#define SMALL_BLOCK_TXS 10 /* what a cluster's blocks hold under interactive load */
#define GROUP_MAX       8  /* blocks per commit in the grouped row */
#define RUNS            5
#define FLOOR_TPS       15000.0
#define GTIN            "09506000134352"

static uint8_t brand_sk[32], brand_pub[32];
static uint8_t carrier_sk[CARRIERS][32], carrier_pub[CARRIERS][32];
static chain_genesis *genesis;

static double clock_s(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

typedef struct rate {
    double wall, cpu; /* items per second */
} rate;

static void die(const char *what, int rc)
{
    fprintf(stderr, "bench_chain: %s: %s\n", what, chain_err_code(rc));
    exit(2);
}

static void make_genesis(void)
{
    char hex[65];
    char *json = NULL;
    size_t cap = 0;
    FILE *f = open_memstream(&json, &cap);
    if (chain_key_generate(brand_sk, brand_pub))
        die("keygen", 1);
    chain_hex(hex, brand_pub, 32);
    fprintf(f,
            "{\"chain\":\"bench\",\"time\":1767225600,\"brands\":[{\"id\":\"acme\",\"name\":\"A\","
            "\"pub\":\"%s\",\"prefixes\":[\"9506000\"]}],\"participants\":[",
            hex);
    for (int i = 0; i < CARRIERS; i++) {
        if (chain_key_generate(carrier_sk[i], carrier_pub[i]))
            die("keygen", 1);
        chain_hex(hex, carrier_pub[i], 32);
        fprintf(f, "{\"id\":\"carrier-%d\",\"name\":\"C\",\"role\":\"carrier\",\"pub\":\"%s\"},", i,
                hex);
    }
    uint8_t sk[32], pub[32];
    if (chain_key_generate(sk, pub))
        die("keygen", 1);
    chain_hex(hex, pub, 32);
    fprintf(f, "{\"id\":\"seller\",\"name\":\"S\",\"role\":\"seller\",\"pub\":\"%s\"}],", hex);
    if (chain_key_generate(sk, pub))
        die("keygen", 1);
    chain_hex(hex, pub, 32);
    fprintf(f,
            "\"nodes\":[{\"id\":1,\"operator\":\"acme\",\"raft\":\"tcp://127.0.0.1:7101\","
            "\"http\":\"http://127.0.0.1:8101\",\"pub\":\"%s\"}]}",
            hex);
    fclose(f);
    char err[256];
    int rc = genesis_parse(&genesis, json, strlen(json), err, sizeof err);
    if (rc) {
        fprintf(stderr, "genesis: %s\n", err);
        exit(2);
    }
    free(json);
}

typedef struct blocks {
    uint8_t **blk;
    size_t *len;
    size_t n;
    size_t txs; /* per measured block */
} blocks;

static void blocks_free(blocks *b)
{
    for (size_t i = 0; i < b->n; i++)
        free(b->blk[i]);
    free(b->blk);
    free(b->len);
}

/* Encodes a block on (height, prev, time) and advances them as the ledger would. */
static void add_block(blocks *b, uint64_t *height, uint8_t prev[32], uint64_t *time, uint8_t **txs,
                      size_t *lens, size_t n)
{
    chain_block_header hdr = {.height = *height + 1, .time = *time + 1000, .proposer = 1};
    memcpy(hdr.prev, prev, 32);
    b->blk = realloc(b->blk, (b->n + 1) * sizeof *b->blk);
    b->len = realloc(b->len, (b->n + 1) * sizeof *b->len);
    int rc =
        chain_block_build(&b->blk[b->n], &b->len[b->n], &hdr, (const uint8_t *const *)txs, lens, n);
    if (rc)
        die("block build", rc);
    uint8_t id[32];
    size_t ntx;
    if ((rc = chain_block_peek(&hdr, id, &ntx, b->blk[b->n], b->len[b->n])))
        die("peek", rc);
    memcpy(prev, id, 32);
    *height = hdr.height;
    *time = hdr.time;
    b->n++;
    for (size_t i = 0; i < n; i++)
        free(txs[i]);
}

static void encode(uint8_t **out, size_t *len, chain_tx *tx, const uint8_t sk[32])
{
    memcpy(tx->chain, genesis->chain_id, 32);
    int rc = chain_tx_sign(tx, sk);
    if (rc == CHAIN_OK)
        rc = chain_tx_encode(out, len, tx);
    if (rc)
        die("sign/encode", rc);
}

/* Setup blocks (mints) then `rounds` rounds of BLOCK_TXS measured txs,
 * alternating pickup/deliver, in blocks of per_block txs. */
static void make_transitions(blocks *setup, blocks *run, int rounds, int per_block)
{
    uint64_t height = 0, time = genesis->time * 1000;
    uint8_t prev[32];
    memcpy(prev, genesis->chain_id, 32);
    memset(setup, 0, sizeof *setup);
    memset(run, 0, sizeof *run);
    /* one mint of BLOCK_TXS units */
    chain_tx tx;
    memset(&tx, 0, sizeof tx);
    tx.type = CHAIN_TX_MINT;
    tx.nonce = 1;
    tx.time = 1;
    snprintf(tx.gtin, sizeof tx.gtin, GTIN);
    char **serials = calloc(BLOCK_TXS, sizeof *serials);
    uint8_t(*sigs)[64] = calloc(BLOCK_TXS, 64);
    for (int i = 0; i < BLOCK_TXS; i++) {
        serials[i] = malloc(16);
        snprintf(serials[i], 16, "U%05d", i);
    }
    tx.serials = serials;
    tx.label_sigs = sigs;
    tx.nunits = BLOCK_TXS;
    uint8_t *txs[BLOCK_TXS];
    size_t lens[BLOCK_TXS];
    encode(&txs[0], &lens[0], &tx, brand_sk);
    add_block(setup, &height, prev, &time, txs, lens, 1);
    uint64_t nonce[CARRIERS] = {0};
    for (int r = 0; r < rounds; r++) {
        for (int i = 0; i < BLOCK_TXS; i++) {
            int c = i % CARRIERS;
            gs1_sgtin u;
            snprintf(u.gtin, sizeof u.gtin, GTIN);
            snprintf(u.serial, sizeof u.serial, "%s", serials[i]);
            memset(&tx, 0, sizeof tx);
            tx.type = r % 2 == 0 ? CHAIN_TX_PICKUP : CHAIN_TX_DELIVER;
            tx.nonce = ++nonce[c];
            tx.time = 1;
            tx.units = &u;
            tx.nunits = 1;
            if (tx.type == CHAIN_TX_DELIVER)
                snprintf(tx.to, sizeof tx.to, "seller");
            encode(&txs[i], &lens[i], &tx, carrier_sk[c]);
        }
        for (int i = 0; i < BLOCK_TXS; i += per_block)
            add_block(run, &height, prev, &time, txs + i, lens + i, (size_t)per_block);
    }
    run->txs = (size_t)per_block;
    for (int i = 0; i < BLOCK_TXS; i++)
        free(serials[i]);
    free(serials);
    free(sigs);
}

static void make_mints(blocks *run, int rounds)
{
    uint64_t height = 0, time = genesis->time * 1000;
    uint8_t prev[32];
    memcpy(prev, genesis->chain_id, 32);
    memset(run, 0, sizeof *run);
    char **serials = calloc(CHAIN_MINT_MAX, sizeof *serials);
    uint8_t(*sigs)[64] = calloc(CHAIN_MINT_MAX, 64);
    for (int i = 0; i < CHAIN_MINT_MAX; i++)
        serials[i] = malloc(24);
    for (int r = 0; r < rounds; r++) {
        for (int i = 0; i < CHAIN_MINT_MAX; i++)
            snprintf(serials[i], 24, "%08x%08x", (unsigned)rand(),
                     (unsigned)(r * CHAIN_MINT_MAX + i));
        chain_tx tx;
        memset(&tx, 0, sizeof tx);
        tx.type = CHAIN_TX_MINT;
        tx.nonce = (uint64_t)r + 1;
        tx.time = 1;
        snprintf(tx.gtin, sizeof tx.gtin, GTIN);
        snprintf(tx.lot, sizeof tx.lot, "LOT%d", r);
        tx.serials = serials;
        tx.label_sigs = sigs;
        tx.nunits = CHAIN_MINT_MAX;
        uint8_t *txs[1];
        size_t lens[1];
        encode(&txs[0], &lens[0], &tx, brand_sk);
        add_block(run, &height, prev, &time, txs, lens, 1);
    }
    run->txs = CHAIN_MINT_MAX;
    for (int i = 0; i < CHAIN_MINT_MAX; i++)
        free(serials[i]);
    free(serials);
    free(sigs);
}

/* Applies setup then run blocks to a fresh ledger; returns run items/s. */
static rate measure(const blocks *setup, const blocks *run, bool no_sync, unsigned threads,
                    size_t group)
{
    char dir[] = "/tmp/provena-bench-XXXXXX";
    if (mkdtemp(dir) == NULL)
        die("mkdtemp", CHAIN_ERR_STORAGE);
    /* as provena-node opens its ledger: one fsync per commit */
    chain_options opt = {.map_size = (size_t)8 << 30,
                         .no_sync = no_sync,
                         .defer_meta_sync = true,
                         .verify_threads = threads};
    chain *c;
    char err[256];
    int rc = chain_open(&c, dir, genesis, &opt, err, sizeof err);
    if (rc) {
        fprintf(stderr, "open: %s\n", err);
        exit(2);
    }
    uint64_t index = 0;
    for (size_t i = 0; setup != NULL && i < setup->n; i++) {
        chain_apply_result res;
        if ((rc = chain_block_apply(c, &res, ++index, setup->blk[i], setup->len[i], err,
                                    sizeof err)))
            die("apply setup", rc);
        chain_apply_result_free(&res);
    }
    size_t refused = 0;
    double t0 = clock_s(CLOCK_MONOTONIC), c0 = clock_s(CLOCK_THREAD_CPUTIME_ID);
    for (size_t i = 0; i < run->n; i += group) {
        chain_apply_result res[GROUP_MAX];
        uint64_t idx[GROUP_MAX];
        size_t k = run->n - i < group ? run->n - i : group;
        for (size_t j = 0; j < k; j++)
            idx[j] = ++index;
        if ((rc = chain_blocks_apply(c, res, idx, (const uint8_t *const *)run->blk + i,
                                     run->len + i, k, err, sizeof err)))
            die("apply", rc);
        for (size_t j = 0; j < k; j++) {
            for (size_t t = 0; t < res[j].nreceipts; t++)
                refused += res[j].receipts[t].code != CHAIN_OK;
            chain_apply_result_free(&res[j]);
        }
    }
    double dt = clock_s(CLOCK_MONOTONIC) - t0, dc = clock_s(CLOCK_THREAD_CPUTIME_ID) - c0;
    if (refused) {
        fprintf(stderr, "bench_chain: %zu transactions refused\n", refused);
        exit(2);
    }
    chain_close(c);
    char cmd[64];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "bench_chain: cannot remove %s\n", dir);
    rate r = {(double)(run->n * run->txs) / dt, (double)(run->n * run->txs) / dc};
    return r;
}

/* Admission cost per tx (replica/submit.c admit): chain_tx_precheck alone,
 * and with the standing check that follows it (decode + one read
 * transaction), on a ledger holding the setup: a carrier's pickup
 * (participant path) and an unregistered key's claim (customer path, refused). */
static void measure_admission(const blocks *setup, double out_us[3])
{
    char dir[] = "/tmp/provena-bench-XXXXXX";
    if (mkdtemp(dir) == NULL)
        die("mkdtemp", CHAIN_ERR_STORAGE);
    chain_options opt = {.map_size = (size_t)8 << 30, .no_sync = true};
    chain *c;
    char err[256];
    int rc = chain_open(&c, dir, genesis, &opt, err, sizeof err);
    if (rc)
        die("open", rc);
    for (size_t i = 0; i < setup->n; i++) {
        chain_apply_result res;
        if ((rc = chain_block_apply(c, &res, i + 1, setup->blk[i], setup->len[i], err,
                                    sizeof err)))
            die("apply setup", rc);
        chain_apply_result_free(&res);
    }
    gs1_sgtin u;
    snprintf(u.gtin, sizeof u.gtin, GTIN);
    snprintf(u.serial, sizeof u.serial, "U00001");
    chain_tx tx;
    memset(&tx, 0, sizeof tx);
    tx.type = CHAIN_TX_PICKUP;
    tx.nonce = 1;
    tx.units = &u;
    tx.nunits = 1;
    uint8_t *pick, *claim, stranger_sk[32], stranger_pub[32];
    size_t pick_len, claim_len;
    encode(&pick, &pick_len, &tx, carrier_sk[0]);
    if (chain_key_generate(stranger_sk, stranger_pub) != CHAIN_OK)
        die("key", CHAIN_ERR_INVALID);
    memset(&tx, 0, sizeof tx);
    tx.type = CHAIN_TX_CLAIM;
    tx.nonce = 1;
    tx.units = &u;
    tx.nunits = 1;
    memset(tx.claim_sig, 0x5a, sizeof tx.claim_sig); /* a guess: signed by no claim key */
    encode(&claim, &claim_len, &tx, stranger_sk);
    const int n = 20000;
    const uint8_t *bufs[3] = {pick, pick, claim};
    size_t lens[3] = {pick_len, pick_len, claim_len};
    for (int k = 0; k < 3; k++) {
        double t0 = clock_s(CLOCK_THREAD_CPUTIME_ID);
        for (int i = 0; i < n; i++) {
            uint8_t id[32];
            if ((rc = chain_tx_precheck(id, genesis->chain_id, &genesis->rp, bufs[k], lens[k], err,
                                         sizeof err)))
                die("precheck", rc);
            if (k == 0)
                continue;
            chain_tx t;
            if ((rc = chain_tx_decode(&t, bufs[k], lens[k], err, sizeof err)))
                die("decode", rc);
            rc = chain_tx_standing(c, &t, err, sizeof err);
            chain_tx_free(&t);
            if ((k == 1) != (rc == CHAIN_OK))
                die("standing", rc);
        }
        out_us[k] = (clock_s(CLOCK_THREAD_CPUTIME_ID) - t0) * 1e6 / n;
    }
    free(pick);
    free(claim);
    chain_close(c);
    char cmd[64];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "bench_chain: cannot remove %s\n", dir);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static rate median(const blocks *setup, const blocks *run, bool no_sync, unsigned threads,
                   size_t group)
{
    double w[RUNS], c[RUNS];
    for (int i = 0; i < RUNS; i++) {
        rate r = measure(setup, run, no_sync, threads, group);
        w[i] = r.wall;
        c[i] = r.cpu;
    }
    qsort(w, RUNS, sizeof w[0], cmp_double);
    qsort(c, RUNS, sizeof c[0], cmp_double);
    rate m = {w[RUNS / 2], c[RUNS / 2]};
    return m;
}

int main(int argc, char **argv)
{
    bool quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
    int rounds = quick ? 4 : 20;
    make_genesis();
    blocks setup, run, mints, small_setup, small;
    make_transitions(&setup, &run, rounds, BLOCK_TXS);
    make_transitions(&small_setup, &small, quick ? 2 : 4, SMALL_BLOCK_TXS);
    make_mints(&mints, quick ? 2 : 5);
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned cores = ncpu > 1 ? (unsigned)(ncpu > 16 ? 16 : ncpu) : 1;
    rate sync_tps = median(&setup, &run, false, 1, 1);
    rate nosync_tps = median(&setup, &run, true, 1, 1);
    rate par_tps = median(&setup, &run, true, cores, 1);
    rate small_one = median(&small_setup, &small, false, 1, 1);
    rate small_group = median(&small_setup, &small, false, 1, GROUP_MAX);
    rate mint_sync = median(NULL, &mints, false, 1, 1);
    rate mint_nosync = median(NULL, &mints, true, 1, 1);
    printf("chain_block_apply, one core, median of %d runs\n", RUNS);
    printf("| workload | fsync | blocks × size | wall rate | CPU-time rate |\n");
    printf("|---|---|---|---|---|\n");
    printf("| single-unit pickup/deliver, signed | on | %zu × %d txs | %.0f txs/s | %.0f txs/s |\n",
           run.n, BLOCK_TXS, sync_tps.wall, sync_tps.cpu);
    printf(
        "| single-unit pickup/deliver, signed | off | %zu × %d txs | %.0f txs/s | %.0f txs/s |\n",
        run.n, BLOCK_TXS, nosync_tps.wall, nosync_tps.cpu);
    printf("| same, signatures checked on %u threads (pre-pass) | off | %zu × %d txs | %.0f txs/s "
           "| (%.0f on the applying thread) |\n",
           cores, run.n, BLOCK_TXS, par_tps.wall, par_tps.cpu);
    printf(
        "| same, small blocks, one commit each | on | %zu × %d txs | %.0f txs/s | %.0f txs/s |\n",
        small.n, SMALL_BLOCK_TXS, small_one.wall, small_one.cpu);
    printf("| same, small blocks, %d per commit (chain_blocks_apply) | on | %zu × %d txs | %.0f "
           "txs/s | %.0f txs/s |\n",
           GROUP_MAX, small.n, SMALL_BLOCK_TXS, small_group.wall, small_group.cpu);
    printf("| mint of 10,000 serials | on | %zu × 1 tx | %.0f units/s | %.0f units/s |\n", mints.n,
           mint_sync.wall, mint_sync.cpu);
    printf("| mint of 10,000 serials | off | %zu × 1 tx | %.0f units/s | %.0f units/s |\n", mints.n,
           mint_nosync.wall, mint_nosync.cpu);
    double adm[3];
    measure_admission(&setup, adm);
    printf("\nadmission per tx (CPU time): precheck %.1f us; precheck + standing: "
           "participant %.1f us, unregistered key refused %.1f us\n",
           adm[0], adm[1], adm[2]);
    bool ok = nosync_tps.cpu >= FLOOR_TPS;
    printf("floor %.0f single-unit txs/s on one core (CPU time, fsync off): %s\n", FLOOR_TPS,
           ok ? "met" : "NOT MET");
    blocks_free(&setup);
    blocks_free(&run);
    blocks_free(&small_setup);
    blocks_free(&small);
    blocks_free(&mints);
    chain_genesis_free(genesis);
    return ok ? 0 : 1;
}
