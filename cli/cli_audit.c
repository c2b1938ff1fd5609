/*
 * cli_audit.c — `provena chain audit --node URL --genesis FILE`: re-verify the
 * whole chain from genesis without trusting the node.
 *
 * The node's head (height H, block id, state digest) is read first; blocks
 * 1..H are immutable, so they are downloaded one by one as raw CBOR
 * (GET /api/v1/blocks/{h}?format=cbor) and each is checked here:
 *   - chain_block_peek: decodes the header, recomputes the Merkle root;
 *   - height = h and prev = id of block h-1 (the chain id for block 1);
 *   - every transaction: chain_tx_precheck (canonical decoding, chain id,
 *     signature) — a committed tx with a bad signature is tampering;
 *   - chain_block_apply into a scratch ledger (a temp dir, consecutive
 *     indexes): every rule is applied again, and the block must not be skipped.
 * At the end the scratch head's block id and state digest must equal the
 * node's. Any mismatch stops the audit with exit 1 and names the height.
 */
#include "cli/cli.h"

#include <cbor.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* Checks every transaction's decoding, chain id and signature. */
static int audit_txs(const uint8_t *blk, size_t len, const uint8_t chain_id[CHAIN_HASH_LEN],
                     size_t *ntx, char *e, size_t elen)
{
    struct cbor_load_result res;
    cbor_item_t *root = cbor_load(blk, len, &res);
    if (!root || !cbor_isa_map(root)) {
        snprintf(e, elen, "block is not a CBOR map");
        if (root)
            cbor_decref(&root);
        return -1;
    }
    int rc = -1;
    cbor_item_t *txs = NULL;
    struct cbor_pair *pairs = cbor_map_handle(root);
    for (size_t i = 0; i < cbor_map_size(root); i++) {
        cbor_item_t *k = pairs[i].key;
        if (cbor_isa_string(k) && cbor_string_length(k) == 3 &&
            memcmp(cbor_string_handle(k), "txs", 3) == 0)
            txs = pairs[i].value;
    }
    if (!txs || !cbor_isa_array(txs)) {
        snprintf(e, elen, "block has no txs array");
        goto out;
    }
    for (size_t i = 0; i < cbor_array_size(txs); i++) {
        cbor_item_t *t = cbor_array_handle(txs)[i];
        uint8_t id[CHAIN_HASH_LEN];
        char m[160];
        if (!cbor_isa_bytestring(t) || !cbor_bytestring_is_definite(t)) {
            snprintf(e, elen, "tx %zu: not a byte string", i);
            goto out;
        }
        int r = chain_tx_precheck(id, chain_id, cbor_bytestring_handle(t),
                                  cbor_bytestring_length(t), m, sizeof m);
        if (r != CHAIN_OK) {
            snprintf(e, elen, "tx %zu: %s: %s", i, chain_err_code(r), m);
            goto out;
        }
    }
    *ntx = cbor_array_size(txs);
    rc = 0;
out:
    cbor_decref(&root);
    return rc;
}

int cli_cmd_chain(int argc, char **argv)
{
    if (argc < 1 || strcmp(argv[0], "audit") != 0) {
        bool help = argc > 0 && (!strcmp(argv[0], "--help") || !strcmp(argv[0], "-h"));
        fprintf(help ? stdout : stderr, "usage: provena chain audit --node URL --genesis FILE\n");
        return help ? CLI_OK : CLI_USAGE;
    }
    static const char cmd[] = "provena chain audit";
    const char *node = cli_env_node(), *genesis = NULL;
    bool json = false;
    const cli_opt opts[] = {
        {"node", "URL", "node to audit (default $PROVENA_NODE)", &node, NULL},
        {"genesis", "FILE", "the genesis the chain must start from", &genesis, NULL},
        {"json", NULL, "print {\"ok\",\"height\",\"head\",\"state_digest\",...}", NULL, &json},
    };
    const cli_spec spec = {cmd,
                           "--node URL --genesis FILE",
                           "Downloads every block and re-verifies hash links, Merkle roots, "
                           "signatures and every rule by re-applying them into a scratch "
                           "ledger; compares the result with the node's head.",
                           opts,
                           sizeof opts / sizeof *opts,
                           0,
                           0};
    const char *pos[1];
    size_t np;
    int rc = cli_parse(&spec, argc - 1, argv + 1, pos, &np, 1);
    if (rc != CLI_OK)
        return rc;
    if (!genesis)
        return cli_usage_err(cmd, "--genesis: required");
    char e[512], dir[] = "/tmp/provena-audit-XXXXXX";
    chain_genesis *g = NULL;
    if (chain_genesis_load(&g, genesis, e, sizeof e) != CHAIN_OK)
        return cli_fail(cmd, "--genesis %s: %s", genesis, e);
    cli_http *h = cli_http_new(node);
    json_t *head = NULL;
    chain *c = NULL;
    bool have_dir = false;
    uint64_t height = 0, txs = 0;
    uint8_t node_id[CHAIN_HASH_LEN], node_digest[CHAIN_HASH_LEN], prev[CHAIN_HASH_LEN];
    rc = CLI_FAIL;
    if (!h || !(head = cli_http_get_json(h, "/api/v1/head", e, sizeof e))) {
        cli_fail(cmd, "%s: head: %s", node, h ? e : "out of memory");
        goto out;
    }
    json_t *hd = json_object_get(head, "head") ? json_object_get(head, "head") : head;
    const char *id_s = json_string_value(json_object_get(hd, "id"));
    const char *dg_s = json_string_value(json_object_get(hd, "state_digest"));
    const char *cid_s = json_string_value(json_object_get(hd, "chain_id"));
    json_t *hv = json_object_get(hd, "height");
    if (!json_is_integer(hv) || !cli_parse_key_hex(node_id, id_s) ||
        !cli_parse_key_hex(node_digest, dg_s)) {
        cli_fail(cmd, "%s: head answer lacks height/id/state_digest", node);
        goto out;
    }
    height = (uint64_t)json_integer_value(hv);
    if (cid_s) {
        uint8_t cid[CHAIN_HASH_LEN];
        if (!cli_parse_key_hex(cid, cid_s) || memcmp(cid, g->chain_id, CHAIN_HASH_LEN) != 0) {
            cli_fail(cmd, "MISMATCH: the node serves chain %s, not the chain of %s", cid_s,
                     genesis);
            goto out;
        }
    }
    if (!mkdtemp(dir)) {
        cli_fail(cmd, "scratch dir: cannot create");
        goto out;
    }
    have_dir = true;
    chain_options copt = {.map_size = 0, .no_sync = true};
    if (chain_open(&c, dir, g, &copt, e, sizeof e) != CHAIN_OK) {
        cli_fail(cmd, "scratch ledger: %s", e);
        goto out;
    }
    memcpy(prev, g->chain_id, CHAIN_HASH_LEN);
    cli_progress prog;
    cli_progress_start(&prog, "audit", height);
    for (uint64_t ht = 1; ht <= height; ht++) {
        char path[96];
        cli_resp r = {0};
        snprintf(path, sizeof path, "/api/v1/blocks/%llu?format=cbor", (unsigned long long)ht);
        if (cli_http_get(h, &r, path, CHAIN_BLOCK_MAX_BYTES + 1024, e, sizeof e) != 0) {
            cli_fail(cmd, "height %llu: download: %s", (unsigned long long)ht, e);
            goto out;
        }
        if (r.status != 200) {
            cli_http_error_text(e, sizeof e, &r);
            cli_resp_free(&r);
            cli_fail(cmd, "height %llu: download: %s", (unsigned long long)ht, e);
            goto out;
        }
        chain_block_header hdr;
        uint8_t bid[CHAIN_HASH_LEN];
        size_t ntx = 0, ntx2 = 0;
        const uint8_t *blk = (const uint8_t *)r.body;
        int pr = chain_block_peek(&hdr, bid, &ntx, blk, r.len);
        const char *what = NULL;
        if (pr != CHAIN_OK)
            what = "header or Merkle root does not verify";
        else if (hdr.height != ht)
            what = "header height differs from its position";
        else if (memcmp(hdr.prev, prev, CHAIN_HASH_LEN) != 0)
            what = "prev does not link to the block before";
        if (what) {
            cli_resp_free(&r);
            cli_fail(cmd, "MISMATCH at height %llu: %s", (unsigned long long)ht, what);
            goto out;
        }
        if (audit_txs(blk, r.len, g->chain_id, &ntx2, e, sizeof e) != 0) {
            cli_resp_free(&r);
            cli_fail(cmd, "MISMATCH at height %llu: %s", (unsigned long long)ht, e);
            goto out;
        }
        chain_apply_result res;
        memset(&res, 0, sizeof res);
        int ar = chain_block_apply(c, &res, ht, blk, r.len, e, sizeof e);
        cli_resp_free(&r);
        if (ar != CHAIN_OK) {
            cli_fail(cmd, "height %llu: scratch apply failed: %s", (unsigned long long)ht, e);
            goto out;
        }
        bool bad = res.block_code != CHAIN_OK || res.height != ht ||
                   memcmp(res.block_id, bid, CHAIN_HASH_LEN) != 0;
        chain_apply_result_free(&res);
        if (bad) {
            cli_fail(cmd, "MISMATCH at height %llu: the block does not apply on its parent",
                     (unsigned long long)ht);
            goto out;
        }
        memcpy(prev, bid, CHAIN_HASH_LEN);
        txs += ntx;
        cli_progress_add(&prog, 1);
    }
    cli_progress_end(&prog);
    chain_rd *rd = NULL;
    chain_head mine;
    if (chain_rd_begin(c, &rd) != CHAIN_OK || chain_head_get(rd, &mine) != CHAIN_OK) {
        if (rd)
            chain_rd_end(rd);
        cli_fail(cmd, "scratch ledger: cannot read head");
        goto out;
    }
    chain_rd_end(rd);
    char a[65], b[65];
    if (memcmp(mine.id, node_id, CHAIN_HASH_LEN) != 0) {
        chain_hex(a, mine.id, CHAIN_HASH_LEN);
        cli_fail(cmd, "MISMATCH at height %llu: head id %s, node says %s",
                 (unsigned long long)height, a, id_s);
        goto out;
    }
    if (memcmp(mine.state_digest, node_digest, CHAIN_HASH_LEN) != 0) {
        chain_hex(a, mine.state_digest, CHAIN_HASH_LEN);
        cli_fail(cmd, "MISMATCH at height %llu: state digest %s, node says %s",
                 (unsigned long long)height, a, dg_s);
        goto out;
    }
    chain_hex(a, mine.id, CHAIN_HASH_LEN);
    chain_hex(b, mine.state_digest, CHAIN_HASH_LEN);
    if (json)
        printf("{\"ok\":true,\"height\":%llu,\"txs\":%llu,\"units\":%llu,\"head\":\"%s\","
               "\"state_digest\":\"%s\"}\n",
               (unsigned long long)height, (unsigned long long)txs, (unsigned long long)mine.units,
               a, b);
    else
        printf("audit OK: %llu blocks, %llu txs, %llu units re-verified from genesis\n"
               "head %s\nstate digest %s (matches %s)\n",
               (unsigned long long)height, (unsigned long long)txs, (unsigned long long)mine.units,
               a, b, node);
    rc = CLI_OK;
out:
    if (c)
        chain_close(c);
    if (have_dir)
        nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    json_decref(head);
    cli_http_free(h);
    chain_genesis_free(g);
    return rc;
}
