/*
 * bench_gw_fill.c — fills a node's ledger with COUNT minted units for the
 * gateway read benchmark (bench/gateway.sh), writing blocks straight through
 * chain_block_apply into DATA/chain before the node starts: far faster than
 * submitting a million units through consensus, and the reads measured are
 * the same. Each block holds one mint of CHAIN_MINT_MAX serials "U0000000"…,
 * lot "L<block>", every label signed by the brand (two signing threads).
 *
 *   bench_gw_fill GENESIS BRANDKEY DATA COUNT
 *
 * The fill blocks use consensus indices 1..nblocks; this is a read benchmark,
 * so the node's later writes (scans batches) are not what is measured.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "chain/chain.h"
#include "genesis/genesis.h"

typedef struct job {
    const uint8_t *sk;
    const uint8_t *chain_id;
    chain_tx *tx;
    size_t from, to;
    int rc;
} job;

static void *sign_range(void *arg)
{
    job *j = arg;
    for (size_t i = j->from; i < j->to; i++) {
        uint8_t msg[CHAIN_HASH_LEN];
        chain_label_hash(msg, j->chain_id, j->tx->gtin, j->tx->serials[i], j->tx->lot,
                         j->tx->expiry);
        if (chain_sign(j->tx->label_sigs[i], j->sk, msg) != CHAIN_OK)
            j->rc = -1;
    }
    return NULL;
}

static int load_key(uint8_t sk[32], const char *path)
{
    char buf[128];
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    return n >= 64 && chain_unhex(sk, 32, buf, 64) == 32 ? 0 : -1;
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: bench_gw_fill GENESIS BRANDKEY DATA COUNT\n");
        return 2;
    }
    char msg[256], dir[4096];
    chain_genesis *g = NULL;
    uint8_t sk[32];
    unsigned long count = strtoul(argv[4], NULL, 10);
    if (genesis_load(&g, argv[1], msg, sizeof msg) != CHAIN_OK) {
        fprintf(stderr, "genesis: %s\n", msg);
        return 1;
    }
    if (load_key(sk, argv[2]) != 0) {
        fprintf(stderr, "brand key: cannot read %s\n", argv[2]);
        return 1;
    }
    mkdir(argv[3], 0700);
    snprintf(dir, sizeof dir, "%s/chain", argv[3]);
    mkdir(dir, 0700);
    chain *c;
    chain_options opt = {.no_sync = true};
    if (chain_open(&c, dir, g, &opt, msg, sizeof msg) != CHAIN_OK) {
        fprintf(stderr, "open %s: %s\n", dir, msg);
        return 1;
    }
    const char *gtin = "09506000123455";
    static char serial_store[CHAIN_MINT_MAX][GS1_SERIAL_MAX + 1];
    static char *serials[CHAIN_MINT_MAX];
    static uint8_t sigs[CHAIN_MINT_MAX][CHAIN_SIG_LEN];
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    uint64_t base_ms = (uint64_t)time(NULL) * 1000;
    unsigned long done = 0, block = 0;
    int rc = 0;
    while (done < count && rc == 0) {
        size_t n = count - done > CHAIN_MINT_MAX ? CHAIN_MINT_MAX : count - done;
        chain_tx tx;
        memset(&tx, 0, sizeof tx);
        tx.type = CHAIN_TX_MINT;
        memcpy(tx.chain, g->chain_id, CHAIN_HASH_LEN);
        tx.nonce = block + 1;
        tx.time = base_ms / 1000;
        snprintf(tx.gtin, sizeof tx.gtin, "%s", gtin);
        snprintf(tx.lot, sizeof tx.lot, "L%lu", block);
        snprintf(tx.model, sizeof tx.model, "bench model");
        for (size_t i = 0; i < n; i++) {
            snprintf(serial_store[i], sizeof serial_store[i], "U%07lu", done + i);
            serials[i] = serial_store[i];
        }
        tx.serials = serials;
        tx.label_sigs = sigs;
        tx.nunits = n;
        job jobs[2] = {{sk, g->chain_id, &tx, 0, n / 2, 0}, {sk, g->chain_id, &tx, n / 2, n, 0}};
        pthread_t th;
        pthread_create(&th, NULL, sign_range, &jobs[1]);
        sign_range(&jobs[0]);
        pthread_join(th, NULL);
        uint8_t *enc = NULL, *blk = NULL;
        size_t enc_len, blk_len;
        chain_head head;
        chain_rd *rd;
        if (jobs[0].rc || jobs[1].rc || chain_tx_sign(&tx, sk) != CHAIN_OK ||
            chain_tx_encode(&enc, &enc_len, &tx) != CHAIN_OK ||
            chain_rd_begin(c, &rd) != CHAIN_OK) {
            fprintf(stderr, "block %lu: cannot build the mint\n", block);
            rc = 1;
            free(enc);
            break;
        }
        rc = chain_head_get(rd, &head);
        chain_rd_end(rd);
        chain_block_header hdr = {
            .height = head.height + 1, .time = base_ms + block, .proposer = 1};
        memcpy(hdr.prev, head.id, CHAIN_HASH_LEN);
        const uint8_t *txs[1] = {enc};
        size_t lens[1] = {enc_len};
        chain_apply_result res;
        memset(&res, 0, sizeof res);
        if (rc != CHAIN_OK || chain_block_build(&blk, &blk_len, &hdr, txs, lens, 1) != CHAIN_OK ||
            chain_block_apply(c, &res, head.applied_index + 1, blk, blk_len, msg, sizeof msg) !=
                CHAIN_OK ||
            res.nreceipts != 1 || res.receipts[0].code != CHAIN_OK) {
            fprintf(stderr, "block %lu: apply failed: %s %s\n", block, msg,
                    res.nreceipts ? chain_err_code(res.receipts[0].code) : "");
            rc = 1;
        }
        chain_apply_result_free(&res);
        free(enc);
        free(blk);
        done += n;
        block++;
        if (block % 10 == 0)
            fprintf(stderr, "  %lu units\n", done);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    printf("filled %lu units in %lu blocks in %.1f s\n", done, block, s);
    chain_close(c);
    chain_genesis_free(g);
    explicit_bzero(sk, sizeof sk);
    return rc;
}
