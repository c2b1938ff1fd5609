/*
 * cli_audit.c — `provena chain audit --node URL --genesis FILE`: re-verify the
 * whole chain from genesis without trusting the node.
 *
 * The node's head (height H, block id, state digest) is read first; blocks
 * 1..H are immutable, so they are downloaded in ranges as raw CBOR
 * (GET /api/v1/blocks?from=h&format=cbor: up to 1,000 blocks or 16 MiB an
 * answer, split with chain_blocks_split) and each is checked here:
 *   - chain_block_peek: decodes the header, recomputes the Merkle root;
 *   - height = h and prev = id of block h-1 (the chain id for block 1);
 *   - chain_block_apply into a scratch ledger (a temp dir, consecutive
 *     indexes, signatures checked on every core): every signature and rule is
 *     applied again, and the block must not be skipped;
 *   - no transaction may be refused for its bytes (malformed, non-canonical,
 *     signed for another chain, a bad signature): the gateways refuse those
 *     before ordering, so one in a committed block is tampering.
 * At the end the scratch head's block id and state digest must equal the
 * node's. Any mismatch stops the audit with exit 1 and names the height.
 */
#include "cli/cli.h"
#include "cli/cli_audit.h"
#include "genesis/genesis.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define AUDIT_RANGE 1000 /* blocks asked for per request (the gateway's GW_BLOCKS_MAX) */
/* a range answer: 16 MiB of blocks, or one block of up to CHAIN_BLOCK_MAX_BYTES */
#define AUDIT_RESP_MAX ((size_t)CHAIN_BLOCK_MAX_BYTES + (24u << 20))

int cli_cmd_chain(int argc, char **argv)
{
    if (argc < 1 || strcmp(argv[0], "audit") != 0) {
        bool help = argc > 0 && (!strcmp(argv[0], "--help") || !strcmp(argv[0], "-h"));
        fprintf(help ? stdout : stderr,
                "usage: provena chain audit --node URL | --file BACKUP --genesis FILE\n");
        return help ? CLI_OK : CLI_USAGE;
    }
    static const char cmd[] = "provena chain audit";
    const char *node = cli_env_node(), *genesis = NULL, *file = NULL;
    bool json = false;
    const cli_opt opts[] = {
        {"node", "URL", "node to audit (default $PROVENA_NODE)", &node, NULL},
        {"genesis", "FILE", "the genesis the chain must start from", &genesis, NULL},
        {"file", "BACKUP", "audit a ledger backup (mdb_copy -n) offline instead", &file, NULL},
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
    if (genesis_load(&g, genesis, e, sizeof e) != CHAIN_OK)
        return cli_fail(cmd, "--genesis %s: %s", genesis, e);
    if (file) {
        rc = cli_audit_file(cmd, file, g, json);
        chain_genesis_free(g);
        return rc;
    }
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
    chain_options copt = cli_audit_scratch_options();
    if (chain_open(&c, dir, g, &copt, e, sizeof e) != CHAIN_OK) {
        cli_fail(cmd, "scratch ledger: %s", e);
        goto out;
    }
    memcpy(prev, g->chain_id, CHAIN_HASH_LEN);
    cli_progress prog;
    cli_progress_start(&prog, "audit", height);
    static const uint8_t *blks[AUDIT_RANGE];
    static size_t lens[AUDIT_RANGE];
    for (uint64_t ht = 1; ht <= height;) {
        char path[128];
        cli_resp r = {0};
        uint64_t want = height - ht + 1 < AUDIT_RANGE ? height - ht + 1 : AUDIT_RANGE;
        snprintf(path, sizeof path, "/api/v1/blocks?from=%llu&limit=%llu&format=cbor",
                 (unsigned long long)ht, (unsigned long long)want);
        if (cli_http_get(h, &r, path, AUDIT_RESP_MAX, e, sizeof e) != 0) {
            cli_fail(cmd, "height %llu: download: %s", (unsigned long long)ht, e);
            goto out;
        }
        if (r.status != 200) {
            cli_http_error_text(e, sizeof e, &r);
            cli_resp_free(&r);
            cli_fail(cmd, "height %llu: download: %s", (unsigned long long)ht, e);
            goto out;
        }
        size_t k = 0;
        if (chain_blocks_split(blks, lens, &k, AUDIT_RANGE, (const uint8_t *)r.body, r.len, e,
                               sizeof e) != CHAIN_OK ||
            k == 0) {
            cli_resp_free(&r);
            cli_fail(cmd, "MISMATCH at height %llu: the range does not decode: %s",
                     (unsigned long long)ht, k == 0 && !e[0] ? "empty" : e);
            goto out;
        }
        for (size_t i = 0; i < k && ht <= height; i++, ht++) {
            const char *what;
            int v = cli_audit_block(c, ht, blks[i], lens[i], prev, &txs, &what, e, sizeof e);
            if (v != CLI_AUDIT_OK) {
                cli_resp_free(&r);
                if (v == CLI_AUDIT_APPLY)
                    cli_fail(cmd, "height %llu: scratch apply failed: %s", (unsigned long long)ht,
                             what);
                else
                    cli_fail(cmd, "MISMATCH at height %llu: %s", (unsigned long long)ht, what);
                goto out;
            }
            cli_progress_add(&prog, 1);
        }
        cli_resp_free(&r);
    }
    cli_progress_end(&prog);
    chain_head mine;
    if (cli_audit_head(c, &mine) != CHAIN_OK) {
        cli_fail(cmd, "scratch ledger: cannot read head");
        goto out;
    }
    char a[65];
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
    cli_audit_print_ok(json, height, txs, &mine, node);
    rc = CLI_OK;
out:
    if (c)
        chain_close(c);
    if (have_dir)
        cli_audit_rmdir(dir);
    json_decref(head);
    cli_http_free(h);
    chain_genesis_free(g);
    return rc;
}
