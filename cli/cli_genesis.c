/*
 * cli_genesis.c — building a genesis document: init, add-participant, add-node,
 * show.
 *
 * Edits go through jansson on the JSON document itself (so a hand-added field
 * survives), and every result is validated with genesis_parse before it
 * is written (tmp + rename): a file written by this command always loads in a
 * node. A document still without nodes is a draft: it is validated with a
 * placeholder node so every other field is checked, and `show` says it is not
 * yet startable.
 */
#include "cli/cli.h"
#include "genesis/genesis.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char GEN_DUMMY_PUB[] =
    "79be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798"; /* secp256k1 G */

/* Validates doc; *g_out (optional) gets the parsed genesis. A draft (no nodes)
 * is checked with a placeholder node and *draft set. */
static int gen_validate(json_t *doc, chain_genesis **g_out, bool *draft, char *e, size_t elen)
{
    json_t *nodes = json_object_get(doc, "nodes");
    bool is_draft = !json_is_array(nodes) || json_array_size(nodes) == 0;
    json_t *check = doc;
    if (is_draft) {
        check = json_deep_copy(doc);
        if (!check) {
            snprintf(e, elen, "out of memory");
            return -1;
        }
        const char *brand = json_string_value(
            json_object_get(json_array_get(json_object_get(doc, "brands"), 0), "id"));
        json_object_set_new(check, "nodes",
                            json_pack("[{s:i,s:s,s:s,s:s,s:s}]", "id", 1, "operator",
                                      brand ? brand : "", "raft", "tcp://127.0.0.1:1", "http",
                                      "http://127.0.0.1:1", "pub", GEN_DUMMY_PUB));
    }
    char *text = json_dumps(check, JSON_COMPACT);
    if (check != doc)
        json_decref(check);
    if (!text) {
        snprintf(e, elen, "out of memory");
        return -1;
    }
    chain_genesis *g = NULL;
    int rc = genesis_parse(&g, text, strlen(text), e, elen);
    free(text);
    if (rc != CHAIN_OK)
        return -1;
    if (draft)
        *draft = is_draft;
    if (g_out && !is_draft)
        *g_out = g;
    else
        chain_genesis_free(g);
    return 0;
}

static int gen_write(const char *cmd, const char *path, json_t *doc)
{
    char e[512];
    bool draft = false;
    if (gen_validate(doc, NULL, &draft, e, sizeof e) != 0)
        return cli_fail(cmd, "the result would not be a valid genesis: %s", e);
    char *text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (!text)
        return cli_fail(cmd, "out of memory");
    size_t n = strlen(text);
    char *withnl = realloc(text, n + 2);
    if (!withnl) {
        free(text);
        return cli_fail(cmd, "out of memory");
    }
    withnl[n] = '\n';
    withnl[n + 1] = '\0';
    int rc = cli_file_write_atomic(path, withnl, n + 1, e, sizeof e);
    free(withnl);
    if (rc != 0)
        return cli_fail(cmd, "%s", e);
    return CLI_OK;
}

static json_t *gen_load(const char *cmd, const char *path)
{
    char *text = NULL, e[512];
    size_t len;
    if (cli_file_read(&text, &len, path, CHAIN_GENESIS_MAX_BYTES, e, sizeof e) != 0) {
        cli_fail(cmd, "%s", e);
        return NULL;
    }
    json_error_t je;
    json_t *doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    free(text);
    if (!doc || !json_is_object(doc)) {
        cli_fail(cmd, "%s: line %d: %s", path, je.line, doc ? "not a JSON object" : je.text);
        json_decref(doc);
        return NULL;
    }
    return doc;
}

static json_t *str_array(const char *list, const char *cmd, const char *opt, bool *bad)
{
    char items[CHAIN_REGIONS_MAX][CHAIN_REGION_MAX + 1];
    json_t *a = json_array();
    if (!list)
        return a;
    int n = cli_split_list(items, CHAIN_REGIONS_MAX, list);
    if (n < 0) {
        cli_usage_err(cmd, "--%s: not a comma-separated list of region codes", opt);
        *bad = true;
        return a;
    }
    for (int i = 0; i < n; i++)
        json_array_append_new(a, json_string(items[i]));
    return a;
}

static int gen_init(int argc, char **argv)
{
    const char *chain = NULL, *brand_key = NULL, *brand_id = "brand", *brand_name = NULL,
               *prefix = NULL, *out = NULL, *time_s = NULL;
    const cli_opt opts[] = {
        {"chain", "NAME", "network name (a-z 0-9 . _ -)", &chain, NULL},
        {"brand-key", "FILE", "the brand's key file (its public key goes in)", &brand_key, NULL},
        {"brand-id", "ID", "brand id (default \"brand\")", &brand_id, NULL},
        {"brand-name", "NAME", "brand display name (default: the id)", &brand_name, NULL},
        {"prefix", "DIGITS", "GS1 company prefix(es), comma-separated", &prefix, NULL},
        {"time", "UNIX", "genesis time (default now)", &time_s, NULL},
        {"out", "FILE", "genesis file to write", &out, NULL},
    };
    const cli_spec spec = {"provena genesis init",
                           "--chain NAME --brand-key FILE --prefix GS1PREFIX --out FILE",
                           "Starts a genesis document with one brand. Add nodes with add-node "
                           "and participants with add-participant.",
                           opts,
                           sizeof opts / sizeof *opts,
                           0,
                           0};
    const char *pos[1];
    size_t np;
    int rc = cli_parse(&spec, argc, argv, pos, &np, 1);
    if (rc != CLI_OK)
        return rc;
    if (!chain)
        return cli_usage_err(spec.cmd, "--chain: required");
    if (!brand_key)
        return cli_usage_err(spec.cmd, "--brand-key: required");
    if (!prefix)
        return cli_usage_err(spec.cmd, "--prefix: required");
    if (!out)
        return cli_usage_err(spec.cmd, "--out: required");
    uint64_t t = (uint64_t)time(NULL);
    if (time_s && !cli_parse_u64(&t, time_s, 0, UINT32_MAX * 4ull))
        return cli_usage_err(spec.cmd, "--time: not unix seconds");
    uint8_t sk[CHAIN_SECKEY_LEN], pub[CHAIN_KEY_LEN];
    char e[256], hex[2 * CHAIN_KEY_LEN + 1];
    if (cli_key_read(sk, brand_key, e, sizeof e) != 0)
        return cli_fail(spec.cmd, "--brand-key: %s", e);
    rc = chain_key_pub(pub, sk);
    explicit_bzero(sk, sizeof sk);
    if (rc != CHAIN_OK)
        return cli_fail(spec.cmd, "--brand-key: invalid key");
    chain_hex(hex, pub, CHAIN_KEY_LEN);
    json_t *prefixes = json_array();
    char buf[256];
    snprintf(buf, sizeof buf, "%s", prefix);
    for (char *save = NULL, *p = strtok_r(buf, ",", &save); p; p = strtok_r(NULL, ",", &save))
        json_array_append_new(prefixes, json_string(p));
    json_t *doc = json_pack("{s:s,s:I,s:[{s:s,s:s,s:s,s:o}],s:[],s:[]}", "chain", chain, "time",
                            (json_int_t)t, "brands", "id", brand_id, "name",
                            brand_name ? brand_name : brand_id, "pub", hex, "prefixes", prefixes,
                            "participants", "nodes");
    if (!doc)
        return cli_fail(spec.cmd, "out of memory");
    rc = gen_write(spec.cmd, out, doc);
    json_decref(doc);
    if (rc == CLI_OK)
        fprintf(stderr, "wrote %s (draft: add nodes with `provena genesis add-node`)\n", out);
    return rc;
}

static int gen_add_participant(int argc, char **argv)
{
    const char *role = NULL, *id = NULL, *name = NULL, *pub = NULL, *regions = NULL;
    const cli_opt opts[] = {
        {"role", "ROLE", "carrier, seller or service", &role, NULL},
        {"id", "ID", "participant id ([a-z0-9-_.], up to 32)", &id, NULL},
        {"name", "NAME", "display name", &name, NULL},
        {"pub", "HEX", "the participant's public key (provena key pub)", &pub, NULL},
        {"regions", "DE,FR", "regions it operates in", &regions, NULL},
    };
    const cli_spec spec = {"provena genesis add-participant",
                           "FILE --role carrier|seller|service --id ID --name NAME --pub HEX "
                           "[--regions DE,FR]",
                           "Adds a participant to a genesis document.",
                           opts,
                           sizeof opts / sizeof *opts,
                           1,
                           1};
    const char *pos[1];
    size_t np;
    int rc = cli_parse(&spec, argc, argv, pos, &np, 1);
    if (rc != CLI_OK)
        return rc;
    int r = role ? chain_role_parse(role) : -1;
    if (r != CHAIN_ROLE_CARRIER && r != CHAIN_ROLE_SELLER && r != CHAIN_ROLE_SERVICE)
        return cli_usage_err(spec.cmd, "--role: one of carrier, seller, service");
    if (!name)
        return cli_usage_err(spec.cmd, "--name: required");
    if (!id)
        return cli_usage_err(spec.cmd, "--id: required");
    uint8_t k[32];
    if (!cli_parse_key_hex(k, pub))
        return cli_usage_err(spec.cmd, "--pub: not 64 hex characters");
    bool bad = false;
    json_t *rg = str_array(regions, spec.cmd, "regions", &bad);
    if (bad) {
        json_decref(rg);
        return CLI_USAGE;
    }
    json_t *doc = gen_load(spec.cmd, pos[0]);
    if (!doc) {
        json_decref(rg);
        return CLI_FAIL;
    }
    json_t *arr = json_object_get(doc, "participants");
    if (!json_is_array(arr)) {
        arr = json_array();
        json_object_set_new(doc, "participants", arr);
    }
    json_array_append_new(arr, json_pack("{s:s,s:s,s:s,s:s,s:o}", "id", id, "name", name, "role",
                                         role, "pub", pub, "regions", rg));
    rc = gen_write(spec.cmd, pos[0], doc);
    json_decref(doc);
    return rc;
}

static int gen_add_node(int argc, char **argv)
{
    const char *id_s = NULL, *raft = NULL, *http = NULL, *pub = NULL, *op = NULL, *tls = NULL;
    const cli_opt opts[] = {
        {"id", "N", "Raft node id (1..)", &id_s, NULL},
        {"raft", "URL", "node-to-node address, tls+tcp://host:port", &raft, NULL},
        {"tls", "FILE",
         "the node's TLS certificate to pin (PEM: `provena key cert`, or the "
         "key file of `provena key new --tls`)",
         &tls, NULL},
        {"http", "URL", "gateway address, http://host:port", &http, NULL},
        {"pub", "HEX", "the node's public key (it signs scans)", &pub, NULL},
        {"operator", "ID", "operating brand or participant (default: first brand)", &op, NULL},
    };
    const cli_spec spec = {"provena genesis add-node",
                           "FILE --id N --raft URL --http URL --pub HEX --tls CERT [--operator ID]",
                           "Adds a node to a genesis document.",
                           opts,
                           sizeof opts / sizeof *opts,
                           1,
                           1};
    const char *pos[1];
    size_t np;
    int rc = cli_parse(&spec, argc, argv, pos, &np, 1);
    if (rc != CLI_OK)
        return rc;
    uint64_t nid;
    if (!id_s || !cli_parse_u64(&nid, id_s, 1, INT32_MAX))
        return cli_usage_err(spec.cmd, "--id: a node number 1..");
    if (!raft)
        return cli_usage_err(spec.cmd, "--raft: required (tls+tcp://host:port)");
    bool tls_addr = strncmp(raft, "tls+tcp://", 10) == 0;
    if (tls_addr && !tls)
        return cli_usage_err(spec.cmd, "--tls: required with a tls+tcp:// address (the "
                                       "node's certificate, `provena key new --tls`)");
    if (!tls_addr && tls)
        return cli_usage_err(spec.cmd, "--tls: the --raft address is not tls+tcp://");
    uint8_t der[CHAIN_TLS_CERT_MAX];
    size_t dl = 0;
    char terr[320];
    if (tls && cli_tls_cert_read(der, &dl, tls, terr, sizeof terr) != 0)
        return cli_usage_err(spec.cmd, "--tls: %s", terr);
    if (!http)
        return cli_usage_err(spec.cmd, "--http: required (http://host:port)");
    uint8_t k[32];
    if (!cli_parse_key_hex(k, pub))
        return cli_usage_err(spec.cmd, "--pub: not 64 hex characters");
    json_t *doc = gen_load(spec.cmd, pos[0]);
    if (!doc)
        return CLI_FAIL;
    if (!op)
        op = json_string_value(
            json_object_get(json_array_get(json_object_get(doc, "brands"), 0), "id"));
    json_t *arr = json_object_get(doc, "nodes");
    if (!json_is_array(arr)) {
        arr = json_array();
        json_object_set_new(doc, "nodes", arr);
    }
    json_t *node = json_pack("{s:I,s:s,s:s,s:s,s:s}", "id", (json_int_t)nid, "operator",
                             op ? op : "", "raft", raft, "http", http, "pub", pub);
    if (dl) {
        char hex[2 * CHAIN_TLS_CERT_MAX + 1];
        chain_hex(hex, der, dl);
        json_object_set_new(node, "tls", json_string(hex));
    }
    json_array_append_new(arr, node);
    rc = gen_write(spec.cmd, pos[0], doc);
    json_decref(doc);
    return rc;
}

static int gen_show(int argc, char **argv)
{
    bool json = false;
    const cli_opt opts[] = {{"json", NULL, "print {\"chain_id\",\"chain\",...}", NULL, &json}};
    const cli_spec spec = {"provena genesis show",
                           "FILE",
                           "Validates a genesis document and prints its chain id.",
                           opts,
                           1,
                           1,
                           1};
    const char *pos[1];
    size_t np;
    int rc = cli_parse(&spec, argc, argv, pos, &np, 1);
    if (rc != CLI_OK)
        return rc;
    json_t *doc = gen_load(spec.cmd, pos[0]);
    if (!doc)
        return CLI_FAIL;
    chain_genesis *g = NULL;
    bool draft = false;
    char e[512];
    rc = gen_validate(doc, &g, &draft, e, sizeof e);
    json_decref(doc);
    if (rc != 0)
        return cli_fail(spec.cmd, "%s: invalid: %s", pos[0], e);
    if (draft)
        return cli_fail(spec.cmd, "%s: a valid draft with no nodes yet (add-node)", pos[0]);
    char id[2 * CHAIN_HASH_LEN + 1];
    chain_hex(id, g->chain_id, CHAIN_HASH_LEN);
    if (json) {
        printf("{\"chain_id\":\"%s\",\"chain\":\"%s\",\"brands\":%zu,\"participants\":%zu,"
               "\"nodes\":%zu}\n",
               id, g->chain_name, g->nbrands, g->nparticipants, g->nnodes);
    } else {
        printf("%s\n", id);
        fprintf(stderr, "chain %s: %zu brand(s), %zu participant(s), %zu node(s)\n", g->chain_name,
                g->nbrands, g->nparticipants, g->nnodes);
    }
    chain_genesis_free(g);
    return CLI_OK;
}

int cli_cmd_genesis(int argc, char **argv)
{
    static const char usage[] =
        "usage: provena genesis init|add-participant|add-node|show ... (each takes --help)\n";
    if (argc < 1 || strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0) {
        fputs(usage, argc < 1 ? stderr : stdout);
        return argc < 1 ? CLI_USAGE : CLI_OK;
    }
    if (strcmp(argv[0], "init") == 0)
        return gen_init(argc - 1, argv + 1);
    if (strcmp(argv[0], "add-participant") == 0)
        return gen_add_participant(argc - 1, argv + 1);
    if (strcmp(argv[0], "add-node") == 0)
        return gen_add_node(argc - 1, argv + 1);
    if (strcmp(argv[0], "show") == 0)
        return gen_show(argc - 1, argv + 1);
    return cli_usage_err("provena genesis", "unknown subcommand '%s'", argv[0]);
}
