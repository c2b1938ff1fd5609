/*
 * cli_audit_file.c — `provena chain audit --file BACKUP --genesis G`: the
 * audit of cli_audit.c run offline against a backup of a node's ledger (the
 * one-file copy `mdb_copy -n -c DIR/chain/chain.mdb BACKUP` makes).
 *
 * The backup is never opened for writing: it is copied into a scratch
 * directory first (LMDB's reader table and the ledger's own upkeep write to
 * the file they open). Its blocks 1..H are read back in order and each goes
 * through the same checks as a downloaded one — Merkle root, height, prev
 * link, a full re-apply into a second scratch ledger from genesis, no tx
 * refused for its bytes — and the re-applied head's block id and state
 * digest must equal the backup's own.
 */
#include "cli/cli.h"
#include "cli/cli_audit.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

/* Copies file src to dst (new); 0 or -1 with errmsg. */
static int copy_file(const char *dst, const char *src, char *errmsg, size_t errmsg_len)
{
    int in = open(src, O_RDONLY | O_CLOEXEC), out = -1, rc = -1;
    struct stat sb;
    if (in < 0 || fstat(in, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        snprintf(errmsg, errmsg_len, "%s: %s", src, in < 0 ? strerror(errno) : "not a file");
        goto done;
    }
    out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (out < 0) {
        snprintf(errmsg, errmsg_len, "%s: %s", dst, strerror(errno));
        goto done;
    }
    for (off_t left = sb.st_size; left > 0;) {
        ssize_t n = sendfile(out, in, NULL, left > (1 << 30) ? (1 << 30) : (size_t)left);
        if (n <= 0) {
            snprintf(errmsg, errmsg_len, "copy %s: %s", src, n < 0 ? strerror(errno) : "short");
            goto done;
        }
        left -= n;
    }
    rc = 0;
done:
    if (in >= 0)
        close(in);
    if (out >= 0)
        close(out);
    return rc;
}

/* Block ht of the backup, checked and re-applied into scratch; NULL when it
 * holds, else what is wrong (in e or a static string). */
static const char *check_block(chain *scratch, chain_rd *rd, uint64_t ht,
                               uint8_t prev[CHAIN_HASH_LEN], uint64_t *txs, char *e, size_t elen)
{
    const uint8_t *raw;
    size_t len;
    if (chain_block_get(rd, &raw, &len, ht) != CHAIN_OK)
        return "the backup has no such block";
    const char *what;
    if (cli_audit_block(scratch, ht, raw, len, prev, txs, &what, e, elen) != CLI_AUDIT_OK)
        return what;
    return NULL;
}

int cli_audit_file(const char *cmd, const char *file, const chain_genesis *g, bool json)
{
    char e[512], dir[] = "/tmp/provena-audit-XXXXXX", sub[64], path[96];
    chain *bk = NULL, *scratch = NULL;
    chain_rd *rd = NULL;
    int rc = CLI_FAIL;
    if (!mkdtemp(dir))
        return cli_fail(cmd, "scratch dir: %s", strerror(errno));
    snprintf(sub, sizeof sub, "%s/backup", dir);
    snprintf(path, sizeof path, "%s/chain.mdb", sub);
    chain_options bopt = {.no_sync = true};
    chain_options sopt = cli_audit_scratch_options();
    if (mkdir(sub, 0700) != 0 || copy_file(path, file, e, sizeof e) != 0) {
        cli_fail(cmd, "--file: %s", e);
        goto out;
    }
    if (chain_open(&bk, sub, g, &bopt, e, sizeof e) != CHAIN_OK) {
        cli_fail(cmd, "--file %s: not a ledger of this genesis: %s", file, e);
        goto out;
    }
    chain_head want, got;
    if (cli_audit_head(bk, &want) != CHAIN_OK || chain_rd_begin(bk, &rd) != CHAIN_OK) {
        cli_fail(cmd, "--file %s: cannot read its head", file);
        goto out;
    }
    snprintf(sub, sizeof sub, "%s/scratch", dir);
    if (mkdir(sub, 0700) != 0 || chain_open(&scratch, sub, g, &sopt, e, sizeof e) != CHAIN_OK) {
        cli_fail(cmd, "scratch ledger: %s", e);
        goto out;
    }
    uint8_t prev[CHAIN_HASH_LEN];
    uint64_t txs = 0;
    memcpy(prev, g->chain_id, CHAIN_HASH_LEN);
    cli_progress prog;
    cli_progress_start(&prog, "audit", want.height);
    for (uint64_t ht = 1; ht <= want.height; ht++) {
        const char *bad = check_block(scratch, rd, ht, prev, &txs, e, sizeof e);
        if (bad) {
            cli_fail(cmd, "MISMATCH at height %llu: %s", (unsigned long long)ht, bad);
            goto out;
        }
        cli_progress_add(&prog, 1);
    }
    cli_progress_end(&prog);
    char a[65], b[65];
    if (cli_audit_head(scratch, &got) != CHAIN_OK) {
        cli_fail(cmd, "scratch ledger: cannot read head");
        goto out;
    }
    chain_hex(a, got.id, CHAIN_HASH_LEN);
    chain_hex(b, got.state_digest, CHAIN_HASH_LEN);
    if (memcmp(got.id, want.id, CHAIN_HASH_LEN) != 0 ||
        memcmp(got.state_digest, want.state_digest, CHAIN_HASH_LEN) != 0) {
        cli_fail(cmd,
                 "MISMATCH at height %llu: re-applied head %s digest %s differs from the "
                 "backup's",
                 (unsigned long long)want.height, a, b);
        goto out;
    }
    cli_audit_print_ok(json, want.height, txs, &got, file);
    rc = CLI_OK;
out:
    if (rd)
        chain_rd_end(rd);
    if (scratch)
        chain_close(scratch);
    if (bk)
        chain_close(bk);
    cli_audit_rmdir(dir);
    return rc;
}
