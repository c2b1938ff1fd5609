/*
 * cli_audit_block.c — what both audits (online and from a backup) do with
 * each block and around the walk: the block checks and re-apply, the scratch
 * ledger's options and clean-up, the head read-back and the success report.
 */
#include "cli/cli_audit.h"

#include <ftw.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Refusals of a transaction's bytes, which no gateway lets into a block. */
static bool tampered(int code)
{
    return code == CHAIN_ERR_MALFORMED || code == CHAIN_ERR_NON_CANONICAL ||
           code == CHAIN_ERR_TOO_LARGE || code == CHAIN_ERR_WRONG_CHAIN ||
           code == CHAIN_ERR_BAD_SIGNATURE;
}

int cli_audit_block(chain *scratch, uint64_t ht, const uint8_t *raw, size_t len,
                    uint8_t prev[CHAIN_HASH_LEN], uint64_t *txs, const char **what, char *e,
                    size_t elen)
{
    chain_block_header hdr;
    uint8_t bid[CHAIN_HASH_LEN];
    size_t ntx = 0;
    *what = NULL;
    if (chain_block_peek(&hdr, bid, &ntx, raw, len) != CHAIN_OK)
        *what = "header or Merkle root does not verify";
    else if (hdr.height != ht)
        *what = "header height differs from its position";
    else if (memcmp(hdr.prev, prev, CHAIN_HASH_LEN) != 0)
        *what = "prev does not link to the block before";
    if (*what)
        return CLI_AUDIT_MISMATCH;
    chain_apply_result res;
    memset(&res, 0, sizeof res);
    if (chain_block_apply(scratch, &res, ht, raw, len, e, elen) != CHAIN_OK) {
        *what = e;
        return CLI_AUDIT_APPLY;
    }
    if (res.block_code != CHAIN_OK || res.height != ht ||
        memcmp(res.block_id, bid, CHAIN_HASH_LEN) != 0)
        *what = "the block does not apply on its parent";
    for (size_t t = 0; !*what && t < res.nreceipts; t++)
        if (tampered(res.receipts[t].code)) {
            snprintf(e, elen, "tx %zu: %s: %s", t, chain_err_code(res.receipts[t].code),
                     res.receipts[t].detail);
            *what = e;
        }
    chain_apply_result_free(&res);
    if (*what)
        return CLI_AUDIT_MISMATCH;
    memcpy(prev, bid, CHAIN_HASH_LEN);
    *txs += ntx;
    return CLI_AUDIT_OK;
}

chain_options cli_audit_scratch_options(void)
{
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    chain_options o = {.map_size = 0,
                       .no_sync = true,
                       .verify_threads = ncpu > 1 ? (unsigned)(ncpu > 16 ? 16 : ncpu) : 0};
    return o;
}

int cli_audit_head(chain *c, chain_head *h)
{
    chain_rd *rd = NULL;
    int rc = chain_rd_begin(c, &rd);
    if (rc == CHAIN_OK)
        rc = chain_head_get(rd, h);
    if (rd)
        chain_rd_end(rd);
    return rc;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

void cli_audit_rmdir(const char *dir)
{
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

void cli_audit_print_ok(bool json, uint64_t height, uint64_t txs, const chain_head *head,
                        const char *against)
{
    char a[65], b[65];
    chain_hex(a, head->id, CHAIN_HASH_LEN);
    chain_hex(b, head->state_digest, CHAIN_HASH_LEN);
    if (json)
        printf("{\"ok\":true,\"height\":%llu,\"txs\":%llu,\"units\":%llu,\"head\":\"%s\","
               "\"state_digest\":\"%s\"}\n",
               (unsigned long long)height, (unsigned long long)txs, (unsigned long long)head->units,
               a, b);
    else
        printf("audit OK: %llu blocks, %llu txs, %llu units re-verified from genesis\n"
               "head %s\nstate digest %s (matches %s)\n",
               (unsigned long long)height, (unsigned long long)txs, (unsigned long long)head->units,
               a, b, against);
}
