/*
 * cli_lifecycle.c — the verbs that move a unit through its life or change the
 * network: pickup, deliver, sell, claim, transfer, warranty, flag, unflag,
 * participant, node, policy.
 *
 * Each verb parses its options (plus the shared --node/--key/--genesis/--json),
 * builds one chain_tx, and hands it to lc_send, which fills chain id and nonce
 * and submits through cli_tx_submit. The nonce is fetched from the node once
 * and then incremented locally, so a verb that splits a large set of units
 * into several transactions (pickup/deliver/flag/unflag, CHAIN_UNITS_MAX each)
 * sends them back to back. Each tx after the first names the previous
 * receipt's height as min_height (the first: --min-height, the height a step
 * made earlier, perhaps by someone else, was accepted at), so whichever node
 * of the --node list admits it has applied the step before. The verb table at the bottom is the
 * dispatcher.
 */
#include "cli/cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct lc {
    const char *cmd;
    const char *node, *key, *genesis, *nonce_s, *timeout_s, *min_height_s;
    bool json;
    uint64_t timeout_ms;
    uint64_t min_height; /* --min-height, then each accepted receipt's height */
    cli_http *h;
    uint8_t sk[CHAIN_SECKEY_LEN], pub[CHAIN_KEY_LEN], chain_id[CHAIN_HASH_LEN];
    uint64_t nonce;
    bool open;
} lc;

#define LC_OPTS(c)                                                                                 \
    {"node", "URL", "node base URL (default $PROVENA_NODE or " CLI_NODE_DEFAULT ")", &(c).node,    \
     NULL},                                                                                        \
        {"key", "FILE", "signing key file (default $PROVENA_KEY)", &(c).key, NULL},                \
        {"genesis", "FILE", "chain id from this genesis instead of the node", &(c).genesis, NULL}, \
        {"nonce", "N", "sign with this nonce instead of the node's next one", &(c).nonce_s, NULL}, \
        {"timeout", "S", "resend the tx this long before saying 'outcome unknown' (60)",           \
         &(c).timeout_s, NULL},                                                                    \
        {"min-height", "H",                                                                        \
         "admit only once the node has applied block H (the receipt height of the step before)",   \
         &(c).min_height_s, NULL},                                                                 \
    {                                                                                              \
        "json", NULL, "print receipts as JSON, one a line", NULL, &(c).json                        \
    }
#define LC_NOPTS 7

static void lc_init(lc *c, const char *cmd)
{
    memset(c, 0, sizeof *c);
    c->cmd = cmd;
    c->node = cli_env_node();
    c->key = cli_env_key();
}

static void lc_close(lc *c)
{
    cli_http_free(c->h);
    explicit_bzero(c->sk, sizeof c->sk);
}

static int lc_open(lc *c)
{
    char e[512];
    if (!c->key)
        return cli_usage_err(c->cmd, "--key: required (or set PROVENA_KEY)");
    if (!cli_parse_timeout(&c->timeout_ms, c->timeout_s))
        return cli_usage_err(c->cmd, "--timeout: seconds, 1..%d", CLI_SUBMIT_MAX_S);
    if (c->min_height_s && !cli_parse_u64(&c->min_height, c->min_height_s, 0, INT64_MAX))
        return cli_usage_err(c->cmd, "--min-height '%s': expected a block height 0..%lld",
                             c->min_height_s, (long long)INT64_MAX);
    if (cli_key_read(c->sk, c->key, e, sizeof e) != 0)
        return cli_fail(c->cmd, "--key: %s", e);
    if (chain_key_pub(c->pub, c->sk) != CHAIN_OK)
        return cli_fail(c->cmd, "--key: invalid key");
    c->h = cli_http_new(c->node);
    if (!c->h)
        return cli_usage_err(c->cmd, "--node: not a URL or a list URL,URL of at most %d",
                             CLI_NODES_MAX);
    if (cli_chain_id(c->chain_id, NULL, c->h, c->genesis, e, sizeof e) != 0)
        return cli_fail(c->cmd, "%s", e);
    if (c->nonce_s) {
        if (!cli_parse_u64(&c->nonce, c->nonce_s, 1, UINT64_MAX / 2))
            return cli_usage_err(c->cmd, "--nonce: a number 1..");
    } else if (cli_nonce_next(&c->nonce, c->h, c->pub, e, sizeof e) != 0) {
        return cli_fail(c->cmd, "%s", e);
    }
    c->open = true;
    return CLI_OK;
}

static int lc_send(lc *c, chain_tx *tx, const char *what)
{
    memcpy(tx->chain, c->chain_id, CHAIN_HASH_LEN);
    tx->nonce = c->nonce++;
    /* each step is admitted by a node that has applied the step before it */
    return cli_tx_submit(c->h, tx, c->sk, c->json, what, c->timeout_ms, c->min_height,
                         &c->min_height);
}

static int lc_unit(lc *c, const char *s, gs1_sgtin *out)
{
    gs1_link l;
    char e[256];
    if (cli_unit_parse(&l, s, e, sizeof e) != 0)
        return cli_usage_err(c->cmd, "unit '%s': %s", s, e);
    *out = l.id;
    return CLI_OK;
}

/* Positional units plus --file into one array. */
static int lc_units(lc *c, const char **pos, size_t np, const char *file, gs1_sgtin **out,
                    size_t *n)
{
    gs1_sgtin *u = NULL;
    size_t cnt = 0;
    char e[512];
    if (np) {
        u = malloc(np * sizeof *u);
        if (!u)
            return cli_fail(c->cmd, "out of memory");
        for (size_t i = 0; i < np; i++) {
            int rc = lc_unit(c, pos[i], &u[cnt]);
            if (rc != CLI_OK) {
                free(u);
                return rc;
            }
            cnt++;
        }
    }
    if (file && cli_units_read_file(&u, &cnt, file, e, sizeof e) != 0) {
        free(u);
        return cli_usage_err(c->cmd, "--file: %s", e);
    }
    if (cnt == 0) {
        free(u);
        return cli_usage_err(c->cmd, "no units given (arguments or --file)");
    }
    *out = u;
    *n = cnt;
    return CLI_OK;
}

/* Sends tx once per CHAIN_UNITS_MAX slice of units; stops at the first slice
 * not accepted (the next one's nonce would follow a tx that may not exist). */
static int lc_send_units(lc *c, chain_tx *tx, gs1_sgtin *units, size_t n, const char *what)
{
    int worst = CLI_OK;
    for (size_t off = 0; off < n && worst == CLI_OK; off += CHAIN_UNITS_MAX) {
        tx->units = units + off;
        tx->nunits = n - off < CHAIN_UNITS_MAX ? n - off : CHAIN_UNITS_MAX;
        tx->time = 0;
        int rc = lc_send(c, tx, what);
        if (rc != CLI_OK)
            worst = rc;
    }
    return worst;
}

static int lc_region(lc *c, const char *region, chain_tx *tx)
{
    if (!region)
        return CLI_OK;
    char r[1][CHAIN_REGION_MAX + 1];
    if (cli_split_list(r, 1, region) != 1)
        return cli_usage_err(c->cmd, "--region: not a region code (DE or DE-BY)");
    memcpy(tx->region, r[0], sizeof tx->region);
    return CLI_OK;
}

/* ---- carriers ----------------------------------------------------------------------- */

/* Participant named by id or by display name → its id (best effort lookup). */
static void resolve_participant(lc *c, const char *name, char out[CHAIN_ID_MAX + 1])
{
    snprintf(out, CHAIN_ID_MAX + 1, "%s", name);
    char e[256];
    json_t *j = cli_http_get_json(c->h, "/api/v1/participants", e, sizeof e);
    json_t *arr = json_is_array(j) ? j : json_object_get(j, "participants");
    size_t i;
    json_t *p;
    json_array_foreach(arr, i, p)
    {
        const char *id = json_string_value(json_object_get(p, "id"));
        const char *nm = json_string_value(json_object_get(p, "name"));
        if (id && strcmp(id, name) == 0)
            break;
        if (id && nm && strcasecmp(nm, name) == 0) {
            snprintf(out, CHAIN_ID_MAX + 1, "%s", id);
            break;
        }
    }
    json_decref(j);
}

static int verb_units(const char *verb, int type, int argc, char **argv)
{
    lc c;
    char cmd[64];
    snprintf(cmd, sizeof cmd, "provena %s", verb);
    lc_init(&c, cmd);
    const char *file = NULL, *region = NULL, *to = NULL, *reason = NULL, *note = NULL;
    cli_opt opts[10] = {LC_OPTS(c), {"file", "F", "units, one a line ('-': stdin)", &file, NULL}};
    size_t no = LC_NOPTS + 1;
    const char *usage = "UNITS... | --file F [--region R]", *summary = "";
    if (type == CHAIN_TX_PICKUP || type == CHAIN_TX_DELIVER)
        opts[no++] = (cli_opt){"region", "R", "where (ISO region code)", &region, NULL};
    if (type == CHAIN_TX_PICKUP) {
        summary = "A carrier takes units into transit (any number; split into transactions of "
                  "10000).";
    } else if (type == CHAIN_TX_DELIVER) {
        opts[no++] =
            (cli_opt){"to", "PARTICIPANT", "receiving participant (id or name)", &to, NULL};
        usage = "--to PARTICIPANT UNITS... | --file F [--region R]";
        summary = "A carrier hands units over to a participant (a seller, another carrier).";
    } else {
        opts[no++] =
            (cli_opt){"reason", "R", "recalled, stolen, counterfeit or destroyed", &reason, NULL};
        opts[no++] = (cli_opt){"note", "TEXT", "free text", &note, NULL};
        usage = "--reason recalled|stolen|counterfeit|destroyed UNITS... | --file F";
        summary = type == CHAIN_TX_FLAG ? "Raises a flag on units (brand; stolen: also owner)."
                                        : "Clears a flag on units.";
    }
    const cli_spec spec = {cmd, usage, summary, opts, no, 0, CLI_POS_MAX};
    const char *pos[CLI_POS_MAX];
    size_t np;
    int rc = cli_parse(&spec, argc, argv, pos, &np, CLI_POS_MAX);
    if (rc != CLI_OK)
        return rc;
    chain_tx tx = {.type = type};
    if ((rc = lc_region(&c, region, &tx)) != CLI_OK)
        return rc;
    if (type == CHAIN_TX_DELIVER && !to)
        return cli_usage_err(cmd, "--to: required");
    if (type == CHAIN_TX_FLAG || type == CHAIN_TX_UNFLAG) {
        int r = reason ? chain_flag_parse(reason) : -1;
        if (r <= 0)
            return cli_usage_err(cmd, "--reason: one of recalled, stolen, counterfeit, destroyed");
        tx.reason = (unsigned)r;
        if (note && strlen(note) > CHAIN_NOTE_MAX)
            return cli_usage_err(cmd, "--note: longer than %d", CHAIN_NOTE_MAX);
        if (note)
            snprintf(tx.note, sizeof tx.note, "%s", note);
    }
    gs1_sgtin *units = NULL;
    size_t n = 0;
    if ((rc = lc_units(&c, pos, np, file, &units, &n)) != CLI_OK)
        return rc;
    if ((rc = lc_open(&c)) == CLI_OK) {
        if (to)
            resolve_participant(&c, to, tx.to);
        rc = lc_send_units(&c, &tx, units, n, verb);
    }
    free(units);
    lc_close(&c);
    return rc;
}

/* ---- sale and ownership -------------------------------------------------------------- */

/* The claim code is the buyer's only way in and exists nowhere else: it is
 * kept (--code-out FILE, else stdout) before the sale is submitted, so an
 * answer lost after the commit cannot lose the code. */
static int sell_code_keep(lc *c, const char *code, const char *code_out)
{
    char e[512];
    if (code_out) {
        if (cli_secret_write(code_out, code, e, sizeof e) != 0)
            return cli_fail(c->cmd, "--code-out %s", e);
        fprintf(stderr, "%s: claim code written to %s (valid once accepted)\n", c->cmd, code_out);
        return CLI_OK;
    }
    if (c->json)
        printf("{\"claim_code\":\"%s\"}\n", code);
    else
        printf("claim code: %s\n(give it to the new owner once this is accepted; it is shown "
               "only once)\n",
               code);
    if (fflush(stdout) != 0)
        return cli_fail(c->cmd, "stdout: cannot write the claim code; nothing submitted");
    return CLI_OK;
}

static int verb_sell(int argc, char **argv)
{
    lc c;
    lc_init(&c, "provena sell");
    const char *buyer = NULL, *region = NULL;
    const char *code_out = NULL;
    bool claim_code = false;
    const cli_opt opts[] = {
        LC_OPTS(c),
        {"buyer", "PUBHEX", "the buyer's public key", &buyer, NULL},
        {"claim-code", NULL, "bind to a one-time code instead (printed once)", NULL, &claim_code},
        {"code-out", "FILE", "write the claim code to FILE (new, mode 0600) before submitting",
         &code_out, NULL},
        {"region", "R", "where (ISO region code)", &region, NULL},
    };
    const cli_spec spec = {c.cmd,
                           "UNIT --buyer PUBHEX | --claim-code",
                           "A seller activates the sale of a unit it holds.",
                           opts,
                           sizeof opts / sizeof *opts,
                           1,
                           1};
    const char *pos[1];
    size_t np;
    int rc = cli_parse(&spec, argc, argv, pos, &np, 1);
    if (rc != CLI_OK)
        return rc;
    gs1_sgtin u;
    chain_tx tx = {.type = CHAIN_TX_SELL, .units = &u, .nunits = 1};
    if ((rc = lc_unit(&c, pos[0], &u)) != CLI_OK || (rc = lc_region(&c, region, &tx)) != CLI_OK)
        return rc;
    if ((buyer != NULL) == claim_code)
        return cli_usage_err(c.cmd, "give exactly one of --buyer PUBHEX and --claim-code");
    if (code_out && !claim_code)
        return cli_usage_err(c.cmd, "--code-out: only with --claim-code");
    char code[CLI_CODE_LEN + 1] = "";
    if (buyer) {
        if (!cli_parse_key_hex(tx.key, buyer))
            return cli_usage_err(c.cmd, "--buyer: not 64 hex characters");
        tx.has_key = true;
    } else {
        uint8_t sk[CHAIN_SECKEY_LEN];
        if (cli_code_random(code) != 0)
            return cli_fail(c.cmd, "no randomness");
        rc = chain_claim_key(sk, tx.claim_key, u.gtin, u.serial, code, strlen(code));
        explicit_bzero(sk, sizeof sk); /* the seller only commits to the public half */
        if (rc != CHAIN_OK)
            return cli_fail(c.cmd, "cannot derive the claim key");
    }
    if ((rc = lc_open(&c)) == CLI_OK && code[0])
        rc = sell_code_keep(&c, code, code_out);
    if (rc == CLI_OK)
        rc = lc_send(&c, &tx, "sell");
    explicit_bzero(code, sizeof code);
    lc_close(&c);
    return rc;
}

/* Signs the claim message for the signer (c->pub, once lc_open has read the
 * key) with the key the code derives; the code goes no further than here. */
static int claim_sign(lc *c, chain_tx *tx, const char *code)
{
    uint8_t sk[CHAIN_SECKEY_LEN], pub[CHAIN_KEY_LEN], m[CHAIN_HASH_LEN];
    const gs1_sgtin *u = &tx->units[0];
    if (chain_claim_key(sk, pub, u->gtin, u->serial, code, strlen(code)) != CHAIN_OK)
        return cli_usage_err(c->cmd,
                             "--code: not a code (Crockford base32, dashes and spaces "
                             "allowed, at most %d characters)",
                             CHAIN_CODE_MAX);
    chain_claim_msg(m, c->chain_id, u->gtin, u->serial, c->pub);
    int rc = chain_sign(tx->claim_sig, sk, m);
    explicit_bzero(sk, sizeof sk);
    return rc == CHAIN_OK ? CLI_OK : cli_fail(c->cmd, "cannot sign the claim");
}

static int verb_claim(int argc, char **argv)
{
    lc c;
    lc_init(&c, "provena claim");
    const char *code = NULL;
    const cli_opt opts[] = {LC_OPTS(c), {"code", "C", "the one-time claim code", &code, NULL}};
    const cli_spec spec = {c.cmd,
                           "UNIT --code C",
                           "Redeems a claim code (from the sale) or a transfer offer's code: "
                           "the unit becomes owned by --key.",
                           opts,
                           sizeof opts / sizeof *opts,
                           1,
                           1};
    const char *pos[1];
    size_t np;
    int rc = cli_parse(&spec, argc, argv, pos, &np, 1);
    if (rc != CLI_OK)
        return rc;
    gs1_sgtin u;
    chain_tx tx = {.type = CHAIN_TX_CLAIM, .units = &u, .nunits = 1};
    if ((rc = lc_unit(&c, pos[0], &u)) != CLI_OK)
        return rc;
    char norm[CHAIN_CODE_MAX + 1];
    if (!code || chain_code_normalize(norm, sizeof norm, code, strlen(code)) < 0)
        return cli_usage_err(c.cmd,
                             "--code: required, Crockford base32 (dashes and spaces allowed), "
                             "at most %d characters",
                             CHAIN_CODE_MAX);
    explicit_bzero(norm, sizeof norm);
    if ((rc = lc_open(&c)) == CLI_OK && (rc = claim_sign(&c, &tx, code)) == CLI_OK)
        rc = lc_send(&c, &tx, "claim");
    lc_close(&c);
    return rc;
}

/* transfer UNIT --to PUBHEX | transfer offer UNIT [--days N] | transfer cancel UNIT */
static int verb_transfer_offer(int argc, char **argv, bool cancel)
{
    lc c;
    lc_init(&c, cancel ? "provena transfer cancel" : "provena transfer offer");
    const char *days_s = NULL, *code_out = NULL;
    const cli_opt opts[] = {
        LC_OPTS(c),
        {"days", "N", "offer: valid for N days (1..30, default 7)", &days_s, NULL},
        {"code-out", "FILE", "offer: write the code to FILE (new, mode 0600) before submitting",
         &code_out, NULL},
    };
    const cli_spec spec = {c.cmd,
                           cancel ? "UNIT" : "UNIT [--days N] [--code-out FILE]",
                           cancel ? "The owner withdraws the open transfer offer."
                                  : "The owner offers the unit to whoever redeems the printed "
                                    "code with `provena claim` (or on the unit's page).",
                           opts,
                           sizeof opts / sizeof *opts,
                           1,
                           1};
    const char *pos[1];
    size_t np;
    int rc = cli_parse(&spec, argc, argv, pos, &np, 1);
    if (rc != CLI_OK)
        return rc;
    gs1_sgtin u;
    chain_tx tx = {.type = cancel ? CHAIN_TX_TRANSFER_CANCEL : CHAIN_TX_TRANSFER_OFFER,
                   .units = &u,
                   .nunits = 1};
    if ((rc = lc_unit(&c, pos[0], &u)) != CLI_OK)
        return rc;
    uint64_t days = 7;
    if (cancel && (days_s || code_out))
        return cli_usage_err(c.cmd, "--days, --code-out: only for an offer");
    if (days_s && !cli_parse_u64(&days, days_s, 1, CHAIN_OFFER_MAX_DAYS))
        return cli_usage_err(c.cmd, "--days: a number 1..%d", CHAIN_OFFER_MAX_DAYS);
    char code[CLI_CODE_LEN + 1] = "";
    if (!cancel) {
        uint8_t sk[CHAIN_SECKEY_LEN];
        if (cli_code_random(code) != 0)
            return cli_fail(c.cmd, "no randomness");
        rc = chain_claim_key(sk, tx.claim_key, u.gtin, u.serial, code, strlen(code));
        explicit_bzero(sk, sizeof sk);
        if (rc != CHAIN_OK)
            return cli_fail(c.cmd, "cannot derive the offer key");
        /* Expiry is judged against block time; the signer's clock only proposes it. */
        tx.expires = cli_wall_ms() + days * 86400000u - 60000u;
    }
    if ((rc = lc_open(&c)) == CLI_OK && code[0])
        rc = sell_code_keep(&c, code, code_out);
    if (rc == CLI_OK)
        rc = lc_send(&c, &tx, cancel ? "transfer.cancel" : "transfer.offer");
    explicit_bzero(code, sizeof code);
    lc_close(&c);
    return rc;
}

static int verb_transfer(int argc, char **argv)
{
    if (argc > 0 && (strcmp(argv[0], "offer") == 0 || strcmp(argv[0], "cancel") == 0))
        return verb_transfer_offer(argc - 1, argv + 1, argv[0][0] == 'c');
    lc c;
    lc_init(&c, "provena transfer");
    const char *to = NULL;
    const cli_opt opts[] = {LC_OPTS(c), {"to", "PUBHEX", "the new owner's public key", &to, NULL}};
    const cli_spec spec = {c.cmd, "UNIT --to PUBHEX",         "The owner transfers a unit.",
                           opts,  sizeof opts / sizeof *opts, 1,
                           1};
    const char *pos[1];
    size_t np;
    int rc = cli_parse(&spec, argc, argv, pos, &np, 1);
    if (rc != CLI_OK)
        return rc;
    gs1_sgtin u;
    chain_tx tx = {.type = CHAIN_TX_TRANSFER, .units = &u, .nunits = 1, .has_key = true};
    if ((rc = lc_unit(&c, pos[0], &u)) != CLI_OK)
        return rc;
    if (!cli_parse_key_hex(tx.key, to))
        return cli_usage_err(c.cmd, "--to: not 64 hex characters");
    if ((rc = lc_open(&c)) == CLI_OK)
        rc = lc_send(&c, &tx, "transfer");
    lc_close(&c);
    return rc;
}

/* ---- warranty ------------------------------------------------------------------------ */

static int verb_warranty(int argc, char **argv)
{
    static const char *const subs[] = {"activate", "extend", "claim", "resolve"};
    static const int types[] = {CHAIN_TX_WARRANTY_ACTIVATE, CHAIN_TX_WARRANTY_EXTEND,
                                CHAIN_TX_WARRANTY_CLAIM, CHAIN_TX_WARRANTY_RESOLVE};
    int k = -1;
    for (int i = 0; argc > 0 && i < 4; i++)
        if (strcmp(argv[0], subs[i]) == 0)
            k = i;
    if (k < 0) {
        bool help = argc > 0 && (!strcmp(argv[0], "--help") || !strcmp(argv[0], "-h"));
        fprintf(help ? stdout : stderr,
                "usage: provena warranty activate UNIT | extend --months N UNIT |\n"
                "       claim [--note T] UNIT | resolve --outcome repaired|replaced|rejected "
                "UNIT\n");
        return help ? CLI_OK : CLI_USAGE;
    }
    lc c;
    char cmd[64];
    snprintf(cmd, sizeof cmd, "provena warranty %s", subs[k]);
    lc_init(&c, cmd);
    const char *months = NULL, *note = NULL, *outcome = NULL;
    const cli_opt opts[] = {
        LC_OPTS(c),
        {"months", "N", "extend: months to add", &months, NULL},
        {"note", "TEXT", "claim/resolve: free text", &note, NULL},
        {"outcome", "O", "resolve: repaired, replaced or rejected", &outcome, NULL},
    };
    const cli_spec spec = {cmd,
                           "UNIT [options]",
                           "Warranty steps: the owner activates and claims; a service centre "
                           "(or the brand) extends and resolves.",
                           opts,
                           sizeof opts / sizeof *opts,
                           1,
                           1};
    const char *pos[1];
    size_t np;
    int rc = cli_parse(&spec, argc - 1, argv + 1, pos, &np, 1);
    if (rc != CLI_OK)
        return rc;
    gs1_sgtin u;
    chain_tx tx = {.type = types[k], .units = &u, .nunits = 1};
    if ((rc = lc_unit(&c, pos[0], &u)) != CLI_OK)
        return rc;
    if (types[k] == CHAIN_TX_WARRANTY_EXTEND) {
        uint64_t m;
        if (!months || !cli_parse_u64(&m, months, 1, 1200))
            return cli_usage_err(cmd, "--months: a number 1..1200");
        tx.warranty_months = (uint32_t)m;
    } else if (months) {
        return cli_usage_err(cmd, "--months: only for extend");
    }
    if (types[k] == CHAIN_TX_WARRANTY_RESOLVE) {
        int o = outcome ? chain_outcome_parse(outcome) : -1;
        if (o <= 0)
            return cli_usage_err(cmd, "--outcome: one of repaired, replaced, rejected");
        tx.outcome = o;
    } else if (outcome) {
        return cli_usage_err(cmd, "--outcome: only for resolve");
    }
    if (note) {
        if (strlen(note) > CHAIN_NOTE_MAX)
            return cli_usage_err(cmd, "--note: longer than %d", CHAIN_NOTE_MAX);
        snprintf(tx.note, sizeof tx.note, "%s", note);
    }
    if ((rc = lc_open(&c)) == CLI_OK)
        rc = lc_send(&c, &tx, cmd + 8);
    lc_close(&c);
    return rc;
}

/* ---- governance ------------------------------------------------------------------------ */

static int verb_participant(int argc, char **argv)
{
    const char *sub = argc > 0 ? argv[0] : "";
    int type = !strcmp(sub, "add")      ? CHAIN_TX_PARTICIPANT_ADD
               : !strcmp(sub, "revoke") ? CHAIN_TX_PARTICIPANT_REVOKE
               : !strcmp(sub, "rotate") ? CHAIN_TX_PARTICIPANT_ROTATE
                                        : 0;
    if (!type) {
        bool help = !strcmp(sub, "--help") || !strcmp(sub, "-h");
        fprintf(help ? stdout : stderr,
                "usage: provena participant add --id ID --name N --role R --pub HEX "
                "[--regions DE,FR]\n"
                "       provena participant revoke ID | rotate ID --pub HEX\n");
        return help ? CLI_OK : CLI_USAGE;
    }
    lc c;
    char cmd[64];
    snprintf(cmd, sizeof cmd, "provena participant %s", sub);
    lc_init(&c, cmd);
    const char *id = NULL, *name = NULL, *role = NULL, *pub = NULL, *regions = NULL;
    const cli_opt opts[] = {
        LC_OPTS(c),
        {"id", "ID", "add: participant id", &id, NULL},
        {"name", "NAME", "add: display name", &name, NULL},
        {"role", "ROLE", "add: carrier, seller or service", &role, NULL},
        {"pub", "HEX", "add/rotate: public key", &pub, NULL},
        {"regions", "DE,FR", "add: regions", &regions, NULL},
    };
    const cli_spec spec = {cmd,
                           type == CHAIN_TX_PARTICIPANT_ADD ? "--id ID --name N --role R --pub HEX"
                                                            : "ID [--pub HEX]",
                           "Brand governance of the participant registry.",
                           opts,
                           sizeof opts / sizeof *opts,
                           type == CHAIN_TX_PARTICIPANT_ADD ? 0 : 1,
                           type == CHAIN_TX_PARTICIPANT_ADD ? 0 : 1};
    const char *pos[1];
    size_t np;
    int rc = cli_parse(&spec, argc - 1, argv + 1, pos, &np, 1);
    if (rc != CLI_OK)
        return rc;
    chain_tx tx = {.type = type};
    if (np)
        id = pos[0];
    if (!id || !id[0] || strlen(id) > CHAIN_ID_MAX)
        return cli_usage_err(cmd, "participant id: required, 1..%d characters", CHAIN_ID_MAX);
    snprintf(tx.id, sizeof tx.id, "%s", id);
    if (type != CHAIN_TX_PARTICIPANT_REVOKE) {
        if (!cli_parse_key_hex(tx.key, pub))
            return cli_usage_err(cmd, "--pub: not 64 hex characters");
        tx.has_key = true;
    }
    if (type == CHAIN_TX_PARTICIPANT_ADD) {
        if (!name || strlen(name) > CHAIN_NAME_MAX)
            return cli_usage_err(cmd, "--name: required, at most %d characters", CHAIN_NAME_MAX);
        snprintf(tx.name, sizeof tx.name, "%s", name);
        tx.role = role ? chain_role_parse(role) : -1;
        if (tx.role != CHAIN_ROLE_CARRIER && tx.role != CHAIN_ROLE_SELLER &&
            tx.role != CHAIN_ROLE_SERVICE)
            return cli_usage_err(cmd, "--role: one of carrier, seller, service");
        int n = regions ? cli_split_list(tx.regions, CHAIN_REGIONS_MAX, regions) : 0;
        if (n < 0)
            return cli_usage_err(cmd, "--regions: not a list of region codes");
        tx.nregions = (size_t)n;
    }
    if ((rc = lc_open(&c)) == CLI_OK)
        rc = lc_send(&c, &tx, cmd + 8);
    lc_close(&c);
    return rc;
}

static int verb_node(int argc, char **argv)
{
    const char *sub = argc > 0 ? argv[0] : "";
    int type = !strcmp(sub, "add")      ? CHAIN_TX_NODE_ADD
               : !strcmp(sub, "remove") ? CHAIN_TX_NODE_REMOVE
               : !strcmp(sub, "rotate") ? CHAIN_TX_NODE_ROTATE
                                        : 0;
    if (!type) {
        bool help = !strcmp(sub, "--help") || !strcmp(sub, "-h");
        fprintf(help ? stdout : stderr,
                "usage: provena node add --id N --raft URL --http URL --pub HEX --tls CERT "
                "[--operator ID]\n       provena node remove --id N\n"
                "       provena node rotate --id N --tls CERT\n");
        return help ? CLI_OK : CLI_USAGE;
    }
    lc c;
    char cmd[64];
    snprintf(cmd, sizeof cmd, "provena node %s", sub);
    lc_init(&c, cmd);
    const char *id = NULL, *raft = NULL, *http = NULL, *pub = NULL, *op = NULL, *tls = NULL;
    const cli_opt opts[] = {
        LC_OPTS(c),
        {"id", "N", "node id", &id, NULL},
        {"raft", "URL", "add: tls+tcp://host:port", &raft, NULL},
        {"tls", "CERT", "add, rotate: the node's TLS certificate to pin (PEM file)", &tls, NULL},
        {"http", "URL", "add: http://host:port", &http, NULL},
        {"pub", "HEX", "add: the node's public key", &pub, NULL},
        {"operator", "ID", "add: operating participant (default: the brand's id)", &op, NULL},
    };
    const cli_spec spec = {cmd,
                           "--id N [...]",
                           "Brand governance of the node set.",
                           opts,
                           sizeof opts / sizeof *opts,
                           0,
                           0};
    const char *pos[1];
    size_t np;
    int rc = cli_parse(&spec, argc - 1, argv + 1, pos, &np, 1);
    if (rc != CLI_OK)
        return rc;
    chain_tx tx = {.type = type};
    if (!id || !cli_parse_u64(&tx.node_id, id, 1, INT32_MAX))
        return cli_usage_err(cmd, "--id: a node number 1..");
    bool tls_addr = raft && strncmp(raft, "tls+tcp://", 10) == 0;
    if (type == CHAIN_TX_NODE_ROTATE && !tls)
        return cli_usage_err(cmd, "--tls: required (the node's new certificate)");
    if (type == CHAIN_TX_NODE_ADD && tls_addr && !tls)
        return cli_usage_err(cmd, "--tls: required with a tls+tcp:// address");
    if (type == CHAIN_TX_NODE_ADD && !tls_addr && tls)
        return cli_usage_err(cmd, "--tls: the --raft address is not tls+tcp://");
    if (type == CHAIN_TX_NODE_REMOVE && tls)
        return cli_usage_err(cmd, "--tls: only for add and rotate");
    if (tls) {
        char terr[320];
        if (cli_tls_cert_read(tx.tls, &tx.tls_len, tls, terr, sizeof terr) != 0)
            return cli_usage_err(cmd, "--tls: %s", terr);
    }
    if (type == CHAIN_TX_NODE_ADD) {
        if (!raft || strlen(raft) > CHAIN_ADDR_MAX)
            return cli_usage_err(cmd, "--raft: required (tls+tcp://host:port)");
        if (!http || strlen(http) > CHAIN_ADDR_MAX)
            return cli_usage_err(cmd, "--http: required (http://host:port)");
        if (!cli_parse_key_hex(tx.key, pub))
            return cli_usage_err(cmd, "--pub: not 64 hex characters");
        tx.has_key = true;
        snprintf(tx.raft_addr, sizeof tx.raft_addr, "%s", raft);
        snprintf(tx.http_addr, sizeof tx.http_addr, "%s", http);
    }
    if ((rc = lc_open(&c)) == CLI_OK) {
        if (type == CHAIN_TX_NODE_ADD) {
            if (!op) {
                chain_genesis *g = NULL;
                char e[256];
                uint8_t cid[CHAIN_HASH_LEN];
                if (cli_chain_id(cid, &g, c.h, c.genesis, e, sizeof e) == 0) {
                    snprintf(tx.name, sizeof tx.name, "%s", g->brands[0].id);
                    chain_genesis_free(g);
                }
            } else {
                snprintf(tx.name, sizeof tx.name, "%s", op);
            }
        }
        rc = lc_send(&c, &tx, cmd + 8);
    }
    lc_close(&c);
    return rc;
}

static int yesno(const char *s, uint8_t *out)
{
    if (!s)
        return 0;
    if (!strcmp(s, "yes") || !strcmp(s, "true") || !strcmp(s, "1"))
        *out = 1;
    else if (!strcmp(s, "no") || !strcmp(s, "false") || !strcmp(s, "0"))
        *out = 2;
    else
        return -1;
    return 0;
}

/* provena policy rp --id HOST --origins URL[,URL...] [--uv required|preferred]:
 * the network's WebAuthn relying party (brand; rp.set). */
static int policy_rp(int argc, char **argv)
{
    lc c;
    lc_init(&c, "provena policy rp");
    const char *id = NULL, *origins = NULL, *uv = NULL;
    const cli_opt opts[] = {
        LC_OPTS(c),
        {"id", "HOST", "rp id: the host name passkeys are bound to (not an IP address)", &id, NULL},
        {"origins", "URL[,URL...]",
         "1..8 exact origins (scheme://host[:port]) the customer pages are served from", &origins,
         NULL},
        {"uv", "required|preferred",
         "user verification (PIN, biometrics) on every signature, or presence only (default)", &uv,
         NULL},
    };
    const cli_spec spec = {c.cmd,
                           "--id HOST --origins URL[,URL...] [--uv required|preferred]",
                           "Sets the network's WebAuthn relying party (brand). Passkey-signed "
                           "transactions applied after it are held to it; an assertion made for "
                           "the previous one is refused (webauthn_rp / webauthn_origin). Every "
                           "node must run a version that knows rp.set.",
                           opts,
                           sizeof opts / sizeof *opts,
                           0,
                           0};
    const char *pos[1];
    size_t np;
    int rc = cli_parse(&spec, argc, argv, pos, &np, 1);
    if (rc != CLI_OK)
        return rc;
    chain_tx tx = {.type = CHAIN_TX_RP_SET};
    if (!id || !chain_rp_id_valid(id, strlen(id)))
        return cli_usage_err(c.cmd,
                             "--id: %s%s%s a lower-case host name of at most %d bytes (an IP "
                             "address is not a valid WebAuthn rp id)",
                             id ? "'" : "required,", id ? id : "", id ? "' is not" : "",
                             CHAIN_RP_ID_MAX);
    snprintf(tx.rp.id, sizeof tx.rp.id, "%s", id);
    if (!origins)
        return cli_usage_err(c.cmd, "--origins: required (1..%d origins, comma-separated)",
                             CHAIN_ORIGINS_MAX);
    for (const char *p = origins;;) {
        size_t n = strcspn(p, ",");
        if (tx.rp.norigins == CHAIN_ORIGINS_MAX)
            return cli_usage_err(c.cmd, "--origins: more than %d origins", CHAIN_ORIGINS_MAX);
        if (!chain_origin_valid(p, n))
            return cli_usage_err(
                c.cmd,
                "--origins: '%.*s' is not an http(s) origin (scheme://host[:port], "
                "at most %d bytes)",
                (int)n, p, CHAIN_ORIGIN_MAX);
        for (size_t i = 0; i < tx.rp.norigins; i++)
            if (strlen(tx.rp.origins[i]) == n && memcmp(tx.rp.origins[i], p, n) == 0)
                return cli_usage_err(c.cmd, "--origins: '%.*s' given twice", (int)n, p);
        memcpy(tx.rp.origins[tx.rp.norigins], p, n);
        tx.rp.origins[tx.rp.norigins++][n] = '\0';
        if (p[n] == '\0')
            break;
        p += n + 1;
    }
    if (uv && strcmp(uv, "required") != 0 && strcmp(uv, "preferred") != 0)
        return cli_usage_err(c.cmd, "--uv: 'required' or 'preferred', not '%s'", uv);
    tx.rp_uv = uv && strcmp(uv, "required") == 0 ? 1 : 2;
    if ((rc = lc_open(&c)) == CLI_OK)
        rc = lc_send(&c, &tx, "policy rp");
    lc_close(&c);
    return rc;
}

static int verb_policy(int argc, char **argv)
{
    if (argc >= 1 && strcmp(argv[0], "rp") == 0)
        return policy_rp(argc - 1, argv + 1);
    if (argc < 1 || strcmp(argv[0], "set") != 0) {
        bool help = argc > 0 && (!strcmp(argv[0], "--help") || !strcmp(argv[0], "-h"));
        fprintf(help ? stdout : stderr,
                "usage: provena policy set [--scope GTIN[/LOT]] ...\n"
                "       provena policy rp --id HOST --origins URL[,URL...] [--uv "
                "required|preferred]\n");
        return help ? CLI_OK : CLI_USAGE;
    }
    lc c;
    lc_init(&c, "provena policy set");
    const char *scope = NULL, *mc = NULL, *tk = NULL, *pt = NULL, *wm = NULL, *us = NULL,
               *om = NULL;
    const cli_opt opts[] = {
        LC_OPTS(c),
        {"scope", "GTIN[/LOT]", "product line or lot (default: the whole network)", &scope, NULL},
        {"max-clients", "N", "distinct scanning clients before suspicious", &mc, NULL},
        {"travel-kmh", "N", "plausible travel speed between scans", &tk, NULL},
        {"probe-threshold", "N", "unknown-serial probes per GTIN per day", &pt, NULL},
        {"warranty-months", "N", "default warranty", &wm, NULL},
        {"unsold-scan-suspicious", "yes|no", "public scans before sale are suspicious", &us, NULL},
        {"outside-markets", "yes|no", "scans outside a lot's markets are suspicious", &om, NULL},
    };
    const cli_spec spec = {c.cmd,
                           "[--scope GTIN[/LOT]] [--max-clients N] [--travel-kmh N] ...",
                           "Sets scan-rule policy (brand).",
                           opts,
                           sizeof opts / sizeof *opts,
                           0,
                           0};
    const char *pos[1];
    size_t np;
    int rc = cli_parse(&spec, argc - 1, argv + 1, pos, &np, 1);
    if (rc != CLI_OK)
        return rc;
    chain_tx tx = {.type = CHAIN_TX_POLICY_SET};
    if (scope) {
        const char *sl = strchr(scope, '/');
        size_t gl = sl ? (size_t)(sl - scope) : strlen(scope);
        if (gs1_gtin_normalize(tx.gtin, scope, gl) != 0)
            return cli_usage_err(c.cmd, "--scope: '%.*s' is not a GTIN", (int)gl, scope);
        if (sl) {
            if (!gs1_serial_valid(sl + 1, strlen(sl + 1)))
                return cli_usage_err(c.cmd, "--scope: lot '%s' is not 1-20 GS1 characters", sl + 1);
            snprintf(tx.lot, sizeof tx.lot, "%s", sl + 1);
        }
    }
    struct {
        const char *v, *name;
        uint32_t *out;
    } nums[] = {{mc, "max-clients", &tx.policy.max_clients},
                {tk, "travel-kmh", &tx.policy.travel_kmh},
                {pt, "probe-threshold", &tx.policy.probe_threshold},
                {wm, "warranty-months", &tx.policy.warranty_months}};
    for (size_t i = 0; i < 4; i++) {
        uint64_t v;
        if (!nums[i].v)
            continue;
        if (!cli_parse_u64(&v, nums[i].v, 1, UINT32_MAX))
            return cli_usage_err(c.cmd, "--%s: a number 1..%u", nums[i].name, UINT32_MAX);
        *nums[i].out = (uint32_t)v;
    }
    if (yesno(us, &tx.policy.unsold_scan_suspicious) != 0)
        return cli_usage_err(c.cmd, "--unsold-scan-suspicious: yes or no");
    if (yesno(om, &tx.policy.flagged_markets_only) != 0)
        return cli_usage_err(c.cmd, "--outside-markets: yes or no");
    if ((rc = lc_open(&c)) == CLI_OK)
        rc = lc_send(&c, &tx, "policy set");
    lc_close(&c);
    return rc;
}

/* provena resolver set URL: the network's public resolver base URL (brand). */
static int verb_resolver(int argc, char **argv)
{
    if (argc < 1 || strcmp(argv[0], "set") != 0) {
        bool help = argc > 0 && (!strcmp(argv[0], "--help") || !strcmp(argv[0], "-h"));
        fprintf(help ? stdout : stderr, "usage: provena resolver set URL --key FILE\n");
        return help ? CLI_OK : CLI_USAGE;
    }
    lc c;
    lc_init(&c, "provena resolver set");
    const cli_opt opts[] = {LC_OPTS(c)};
    const cli_spec spec = {c.cmd,
                           "URL",
                           "Sets the network's public resolver base URL, the one labels carry "
                           "from then on (brand; every node must run a version that knows "
                           "resolver.set).",
                           opts,
                           sizeof opts / sizeof *opts,
                           1,
                           1};
    const char *pos[1];
    size_t np;
    int rc = cli_parse(&spec, argc - 1, argv + 1, pos, &np, 1);
    if (rc != CLI_OK)
        return rc;
    chain_tx tx = {.type = CHAIN_TX_RESOLVER_SET};
    if (!chain_resolver_valid(pos[0], strlen(pos[0])))
        return cli_usage_err(c.cmd,
                             "URL: '%s' is not an http(s):// base URL of at most %d bytes "
                             "without a trailing '/', query or fragment",
                             pos[0], CHAIN_RESOLVER_MAX);
    snprintf(tx.resolver, sizeof tx.resolver, "%s", pos[0]);
    if ((rc = lc_open(&c)) == CLI_OK)
        rc = lc_send(&c, &tx, "resolver set");
    lc_close(&c);
    return rc;
}

/* ---- dispatcher ----------------------------------------------------------------------- */

static int v_pickup(int argc, char **argv)
{
    return verb_units("pickup", CHAIN_TX_PICKUP, argc, argv);
}
static int v_deliver(int argc, char **argv)
{
    return verb_units("deliver", CHAIN_TX_DELIVER, argc, argv);
}
static int v_flag(int argc, char **argv)
{
    return verb_units("flag", CHAIN_TX_FLAG, argc, argv);
}
static int v_unflag(int argc, char **argv)
{
    return verb_units("unflag", CHAIN_TX_UNFLAG, argc, argv);
}

static const struct {
    const char *verb;
    int (*fn)(int, char **);
} verbs[] = {
    {"pickup", v_pickup},  {"deliver", v_deliver},      {"sell", verb_sell},
    {"claim", verb_claim}, {"transfer", verb_transfer}, {"warranty", verb_warranty},
    {"flag", v_flag},      {"unflag", v_unflag},        {"participant", verb_participant},
    {"node", verb_node},   {"policy", verb_policy},     {"resolver", verb_resolver},
};

bool cli_is_lifecycle(const char *verb)
{
    for (size_t i = 0; i < sizeof verbs / sizeof *verbs; i++)
        if (strcmp(verbs[i].verb, verb) == 0)
            return true;
    return false;
}

int cli_cmd_lifecycle(const char *verb, int argc, char **argv)
{
    for (size_t i = 0; i < sizeof verbs / sizeof *verbs; i++)
        if (strcmp(verbs[i].verb, verb) == 0)
            return verbs[i].fn(argc, argv);
    return cli_usage_err("provena", "unknown command '%s'", verb);
}
