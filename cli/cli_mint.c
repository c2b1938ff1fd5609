/*
 * cli_mint.c — `provena mint`: random serials, brand-signed labels, batched
 * mint transactions submitted as a pipeline, and the minted units printed.
 *
 * Pipeline (the 1,000,000-unit case must commit in well under two minutes):
 *   workers (one per core)  build batch i: CHAIN_MINT_MAX random serials, one
 *                           label signature each (the costly part), and with
 *                           --labels an SVG + PNG per unit and a sheet;
 *   main thread             signs batch i's tx with the next nonce, POSTs it
 *                           with ?wait=0 (order of submission = nonce order),
 *                           keeps up to MINT_INFLIGHT txs in flight, and polls
 *                           the oldest: the unit of its first serial appearing
 *                           means accepted; otherwise GET /api/v1/tx/{id}
 *                           gives the refusal.
 * A tx refused for a stale nonce (the node reordered two submissions) is
 * signed again with a fresh nonce and sent again; any other refusal stops the
 * mint. Units are printed only once their tx is accepted, so stdout and --csv
 * list exactly what the ledger holds. Memory is bounded: workers run at most
 * MINT_AHEAD batches ahead of the submitter.
 */
#include "cli/cli.h"

#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "label/label.h"

#define MINT_COUNT_MAX    100000000ull /* units in one mint run */
#define MINT_INFLIGHT     18           /* txs submitted and not yet receipted */
#define MINT_AHEAD        32           /* batches built ahead of the submitter */
#define MINT_WORKERS_MAX  64
#define MINT_POST_TXS     6 /* mint txs in one POST (≤ 8 MiB body) */
#define MINT_POLL_MS      15
#define MINT_NO_LEADER_MS 60000  /* keep retrying a 503 (election, busy) this long */
#define MINT_RESEND_MS    8000   /* no receipt yet: send the same bytes again */
#define MINT_TIMEOUT_MS   120000 /* one tx without a receipt this long: give up */
#define MINT_RESYNC_MAX   50     /* resubmissions after lost or stale txs in one run */
#define MINT_ERR_UNKNOWN  (-1)   /* poll_batch's *code: no node could tell in time */

enum batch_state { B_EMPTY = 0, B_BUILDING, B_READY, B_SENT, B_DONE };

typedef struct mbatch {
    int state;
    size_t n;
    char (*serials)[CLI_SERIAL_LEN + 1];
    char **ptrs;
    uint8_t (*sigs)[CHAIN_SIG_LEN];
    uint8_t *enc;
    size_t enc_len;
    uint8_t id[CHAIN_HASH_LEN];
    uint64_t sent_ms, first_sent_ms;
    int err; /* build failure */
    char errmsg[256];
} mbatch;

typedef struct mint {
    /* parameters */
    const char *gtin, *lot, *expiry, *model, *labels_dir, *resolver;
    uint32_t warranty_months;
    char markets[CHAIN_MARKETS_MAX][CHAIN_REGION_MAX + 1];
    size_t nmarkets;
    uint64_t count;
    size_t batch_size, nbatches;
    uint8_t sk[CHAIN_SECKEY_LEN], chain_id[CHAIN_HASH_LEN];
    /* worker coordination */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    size_t next_build; /* next batch index a worker takes */
    size_t next_submit;
    bool stop;
    mbatch *batches;
} mint;

/* ---- building a batch (worker threads) ------------------------------------------------ */

static int write_file(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    size_t w = fwrite(p, 1, n, f);
    return (fclose(f) == 0 && w == n) ? 0 : -1;
}

/* Digital Link of unit i of b. */
static int unit_url(const mint *m, const mbatch *b, size_t i, char *out, size_t out_len)
{
    gs1_link l;
    memset(&l, 0, sizeof l);
    snprintf(l.id.gtin, sizeof l.id.gtin, "%s", m->gtin);
    snprintf(l.id.serial, sizeof l.id.serial, "%s", b->serials[i]);
    snprintf(l.lot, sizeof l.lot, "%s", m->lot);
    snprintf(l.expiry, sizeof l.expiry, "%s", m->expiry ? m->expiry : "");
    chain_b64url(l.sig, b->sigs[i], CHAIN_SIG_LEN);
    return gs1_link_format(out, out_len, m->resolver, &l);
}

static int render_labels(const mint *m, mbatch *b, size_t index)
{
    char url[GS1_DL_MAX + 1], path[4096];
    char **urls = calloc(b->n, sizeof *urls), **caps = calloc(b->n, sizeof *caps);
    int rc = -1;
    if (!urls || !caps)
        goto out;
    for (size_t i = 0; i < b->n; i++) {
        if (unit_url(m, b, i, url, sizeof url) < 0)
            goto out;
        char *svg = NULL;
        uint8_t *png = NULL;
        size_t slen, plen;
        if (label_svg(&svg, &slen, url, 30) != LABEL_OK)
            goto out;
        snprintf(path, sizeof path, "%s/%s-%s.svg", m->labels_dir, m->gtin, b->serials[i]);
        int w = write_file(path, svg, slen);
        free(svg);
        if (w != 0 || label_png(&png, &plen, url, 0) != LABEL_OK)
            goto out;
        snprintf(path, sizeof path, "%s/%s-%s.png", m->labels_dir, m->gtin, b->serials[i]);
        w = write_file(path, png, plen);
        free(png);
        if (w != 0)
            goto out;
        urls[i] = strdup(url);
        caps[i] = malloc(GS1_GTIN_LEN + GS1_SERIAL_MAX + 2);
        if (!urls[i] || !caps[i])
            goto out;
        sprintf(caps[i], "%s/%s", m->gtin, b->serials[i]);
    }
    char *sheet = NULL;
    size_t sl;
    if (label_sheet_svg(&sheet, &sl, (const char *const *)urls, (const char *const *)caps, b->n) !=
        LABEL_OK)
        goto out;
    snprintf(path, sizeof path, "%s/sheet-%s-%03zu.svg", m->labels_dir, m->lot, index + 1);
    rc = write_file(path, sheet, sl);
    free(sheet);
out:
    for (size_t i = 0; urls && caps && i < b->n; i++) {
        free(urls[i]);
        free(caps[i]);
    }
    free(urls);
    free(caps);
    if (rc != 0)
        snprintf(b->errmsg, sizeof b->errmsg, "--labels %s: cannot render or write labels",
                 m->labels_dir);
    return rc;
}

static int build_batch(const mint *m, mbatch *b, size_t index)
{
    size_t n = index + 1 < m->nbatches ? m->batch_size
                                       : (size_t)(m->count - (uint64_t)index * m->batch_size);
    b->n = n;
    b->serials = malloc(n * sizeof *b->serials);
    b->ptrs = malloc(n * sizeof *b->ptrs);
    b->sigs = malloc(n * sizeof *b->sigs);
    if (!b->serials || !b->ptrs || !b->sigs) {
        snprintf(b->errmsg, sizeof b->errmsg, "out of memory");
        return -1;
    }
    /* one keypair per batch, not per label (chain_signer) */
    chain_signer *sg = NULL;
    if (chain_signer_new(&sg, m->sk) != CHAIN_OK) {
        snprintf(b->errmsg, sizeof b->errmsg, "cannot set up the label signer");
        return -1;
    }
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        uint8_t msg[CHAIN_HASH_LEN];
        if (cli_serial_random(b->serials[i]) != 0) {
            snprintf(b->errmsg, sizeof b->errmsg, "getrandom failed");
            rc = -1;
            break;
        }
        b->ptrs[i] = b->serials[i];
        chain_label_hash(msg, m->chain_id, m->gtin, b->serials[i], m->lot,
                         m->expiry ? m->expiry : "");
        if (chain_signer_sign(sg, b->sigs[i], msg) != CHAIN_OK) {
            snprintf(b->errmsg, sizeof b->errmsg, "signing a label failed");
            rc = -1;
        }
    }
    chain_signer_free(sg);
    if (rc == 0 && m->labels_dir && render_labels(m, b, index) != 0)
        rc = -1;
    return rc;
}

static void batch_release(mbatch *b)
{
    free(b->serials);
    free(b->ptrs);
    free(b->sigs);
    free(b->enc);
    b->serials = NULL;
    b->ptrs = NULL;
    b->sigs = NULL;
    b->enc = NULL;
}

static void *worker(void *arg)
{
    mint *m = arg;
    pthread_mutex_lock(&m->mu);
    for (;;) {
        while (!m->stop && m->next_build < m->nbatches &&
               m->next_build >= m->next_submit + MINT_AHEAD)
            pthread_cond_wait(&m->cv, &m->mu);
        if (m->stop || m->next_build >= m->nbatches)
            break;
        size_t i = m->next_build++;
        m->batches[i].state = B_BUILDING;
        pthread_mutex_unlock(&m->mu);
        int rc = build_batch(m, &m->batches[i], i);
        pthread_mutex_lock(&m->mu);
        m->batches[i].err = rc;
        m->batches[i].state = B_READY;
        pthread_cond_broadcast(&m->cv);
    }
    pthread_mutex_unlock(&m->mu);
    return NULL;
}

/* ---- submitting (main thread) ------------------------------------------------------------ */

static int sign_encode(const mint *m, mbatch *b, uint64_t nonce, char *e, size_t elen)
{
    chain_tx tx = {.type = CHAIN_TX_MINT, .nonce = nonce};
    memcpy(tx.chain, m->chain_id, CHAIN_HASH_LEN);
    tx.time = cli_wall_ms();
    snprintf(tx.gtin, sizeof tx.gtin, "%s", m->gtin);
    snprintf(tx.lot, sizeof tx.lot, "%s", m->lot);
    snprintf(tx.expiry, sizeof tx.expiry, "%s", m->expiry ? m->expiry : "");
    snprintf(tx.model, sizeof tx.model, "%s", m->model ? m->model : "");
    tx.warranty_months = m->warranty_months;
    for (size_t i = 0; i < m->nmarkets; i++)
        memcpy(tx.markets[i], m->markets[i], 3);
    tx.nmarkets = m->nmarkets;
    tx.serials = b->ptrs;
    tx.label_sigs = b->sigs;
    tx.nunits = b->n;
    free(b->enc);
    b->enc = NULL;
    int rc = chain_tx_sign(&tx, m->sk);
    if (rc == CHAIN_OK)
        rc = chain_tx_id(b->id, &tx);
    if (rc == CHAIN_OK)
        rc = chain_tx_encode(&b->enc, &b->enc_len, &tx);
    if (rc != CHAIN_OK) {
        snprintf(e, elen, "cannot encode the mint tx: %s", chain_strerror(rc));
        return -1;
    }
    return 0;
}

/* A POST that got no answer may still have handed the txs over: they count
 * as sent, and the poll (by first serial, then tx id) and the resync of lost
 * ones settle them — the same serials can never be minted twice. The next
 * request goes to the next node of the --node list. */
static int post_unsure(cli_http *h, mbatch **bs, size_t k)
{
    for (size_t i = 0; i < k; i++)
        bs[i]->sent_ms = cli_now_ms();
    cli_http_next(h);
    return 0;
}

/* POSTs b with ?wait=0, retrying while the node is busy or has no leader,
 * and on the next node of the list while nodes answer 410 (removed from the
 * network: they did not take it). */
static int post_batch(cli_http *h, mbatch *b, char *e, size_t elen)
{
    uint64_t deadline = cli_now_ms() + MINT_NO_LEADER_MS;
    size_t removed = 0;
    for (;;) {
        cli_resp r = {0};
        if (cli_http_post(h, &r, "/api/v1/tx?wait=0", "application/cbor", b->enc, b->enc_len, e,
                          elen) != 0)
            return post_unsure(h, &b, 1);
        long st = r.status;
        json_t *j = json_loadb(r.body, r.len, 0, NULL);
        const char *status = json_string_value(json_object_get(j, "status"));
        bool retry = st == 503 && cli_now_ms() < deadline;
        if (st == 410 && ++removed < cli_http_nodes(h)) {
            json_decref(j);
            cli_resp_free(&r);
            cli_http_next(h);
            continue;
        }
        if (st == 200 || st == 202) {
            json_decref(j);
            cli_resp_free(&r);
            b->sent_ms = cli_now_ms();
            return 0;
        }
        if (!retry) {
            const char *code = json_string_value(json_object_get(j, "code"));
            const char *detail = json_string_value(json_object_get(j, "detail"));
            if (code && status && !json_is_object(json_object_get(j, "error")))
                snprintf(e, elen, "%s: %s%s%s", status, code, detail ? ": " : "",
                         detail ? detail : "");
            else
                cli_http_error_text(e, elen, &r);
        }
        json_decref(j);
        cli_resp_free(&r);
        if (!retry)
            return -1;
        usleep(200 * 1000);
    }
}

/* POSTs k signed batches as one CBOR array of byte strings (?wait=0): the
 * gateway hands them over together, so they can share one block and one Raft
 * entry instead of one each. An item the node could not hand over (no leader,
 * busy) is left to the resend path; a refused item is an error. */
static int post_group(cli_http *h, mbatch **bs, size_t k, char *e, size_t elen)
{
    if (k == 1)
        return post_batch(h, bs[0], e, elen);
    size_t total = 1;
    for (size_t i = 0; i < k; i++)
        total += 5 + bs[i]->enc_len;
    uint8_t *body = malloc(total), *q = body;
    if (!body) {
        snprintf(e, elen, "out of memory");
        return -1;
    }
    assert(k < 24);
    *q++ = (uint8_t)(0x80 | k);
    for (size_t i = 0; i < k; i++) {
        uint32_t n = (uint32_t)bs[i]->enc_len;
        /* bstr head in its shortest (canonical) form: a batch of a few serials
         * is small, a full one is over 64 KiB */
        if (n < 24) {
            *q++ = (uint8_t)(0x40 | n);
        } else if (n <= 0xff) {
            *q++ = 0x58;
            *q++ = (uint8_t)n;
        } else if (n <= 0xffff) {
            *q++ = 0x59;
            *q++ = (uint8_t)(n >> 8);
            *q++ = (uint8_t)n;
        } else {
            *q++ = 0x5a;
            *q++ = (uint8_t)(n >> 24);
            *q++ = (uint8_t)(n >> 16);
            *q++ = (uint8_t)(n >> 8);
            *q++ = (uint8_t)n;
        }
        memcpy(q, bs[i]->enc, n);
        q += n;
    }
    uint64_t deadline = cli_now_ms() + MINT_NO_LEADER_MS;
    int rc = -1;
    size_t removed = 0;
    for (;;) {
        cli_resp r = {0};
        if (cli_http_post(h, &r, "/api/v1/tx?wait=0", "application/cbor", body, (size_t)(q - body),
                          e, elen) != 0) {
            rc = post_unsure(h, bs, k);
            break;
        }
        if (r.status == 410 && ++removed < cli_http_nodes(h)) { /* left the network */
            cli_resp_free(&r);
            cli_http_next(h);
            continue;
        }
        if (r.status == 503 && cli_now_ms() < deadline) {
            cli_resp_free(&r);
            usleep(200 * 1000);
            continue;
        }
        json_t *j = json_loadb(r.body, r.len, 0, NULL);
        json_t *rcs = json_object_get(j, "receipts");
        if ((r.status == 200 || r.status == 202) && json_array_size(rcs) == k) {
            rc = 0;
            for (size_t i = 0; i < k; i++) {
                json_t *it = json_array_get(rcs, i);
                const char *st = json_string_value(json_object_get(it, "status"));
                bs[i]->sent_ms = cli_now_ms();
                if (st && strcmp(st, "rejected") == 0) {
                    const char *c = json_string_value(json_object_get(it, "code"));
                    const char *d = json_string_value(json_object_get(it, "detail"));
                    snprintf(e, elen, "rejected: %s%s%s", c ? c : "?", d ? ": " : "", d ? d : "");
                    rc = -1;
                }
            }
        } else {
            cli_http_error_text(e, elen, &r);
        }
        json_decref(j);
        cli_resp_free(&r);
        break;
    }
    free(body);
    return rc;
}

/* No answer (or no usable one) about b: ask the next node next time; after
 * MINT_TIMEOUT_MS without a receipt the outcome is unknown. */
static int poll_unsure(cli_http *h, const mbatch *b, int *code, char *e, size_t elen)
{
    cli_http_next(h);
    if (cli_now_ms() - b->first_sent_ms <= MINT_TIMEOUT_MS)
        return 0;
    size_t n = strlen(e);
    snprintf(e + n, elen - n, "%sno receipt after %d s", n ? "; " : "", MINT_TIMEOUT_MS / 1000);
    *code = MINT_ERR_UNKNOWN;
    return -1;
}

/* Receipt of b: 1 accepted, 0 not yet, -1 refused or unknown (code in *code:
 * MINT_ERR_UNKNOWN when no node told in time; text in e). */
static int poll_batch(cli_http *h, const mint *m, mbatch *b, int *code, char *e, size_t elen)
{
    char path[192], hex[2 * CHAIN_HASH_LEN + 1];
    cli_resp r = {0};
    snprintf(path, sizeof path, "/api/v1/units/%s/%s", m->gtin, b->serials[0]);
    if (cli_http_get(h, &r, path, 1u << 20, e, elen) != 0)
        return poll_unsure(h, b, code, e, elen);
    long st = r.status;
    cli_resp_free(&r);
    if (st == 200)
        return 1;
    chain_hex(hex, b->id, CHAIN_HASH_LEN);
    snprintf(path, sizeof path, "/api/v1/tx/%s", hex);
    if (cli_http_get(h, &r, path, CLI_RESP_MAX, e, elen) != 0)
        return poll_unsure(h, b, code, e, elen);
    int out = 0;
    if (r.status == 200) {
        json_t *j = json_loadb(r.body, r.len, 0, NULL);
        json_t *rc = json_object_get(j, "receipt");
        const char *s = json_string_value(json_object_get(rc, "status"));
        const char *c = json_string_value(json_object_get(rc, "code"));
        const char *d = json_string_value(json_object_get(rc, "detail"));
        if (s && strcmp(s, "accepted") == 0) {
            out = 1;
        } else {
            *code = c && strcmp(c, "stale_nonce") == 0 ? CHAIN_ERR_STALE_NONCE : CHAIN_ERR_INVALID;
            snprintf(e, elen, "refused: %s%s%s", c ? c : "?", d && d[0] ? ": " : "", d ? d : "");
            out = -1;
        }
        json_decref(j);
    } else if (r.status != 404) {
        cli_http_error_text(e, elen, &r);
        out = poll_unsure(h, b, code, e, elen);
    } else if (cli_now_ms() - b->first_sent_ms > MINT_TIMEOUT_MS) {
        snprintf(e, elen, "no receipt after %d s", MINT_TIMEOUT_MS / 1000);
        *code = MINT_ERR_UNKNOWN;
        out = -1;
    }
    cli_resp_free(&r);
    return out;
}

/* True when the unit of b's first serial is on the ledger (b was accepted). */
static bool batch_landed(cli_http *h, const mint *m, const mbatch *b)
{
    char path[192], e[256];
    cli_resp r = {0};
    snprintf(path, sizeof path, "/api/v1/units/%s/%s", m->gtin, b->serials[0]);
    if (cli_http_get(h, &r, path, 1u << 20, e, sizeof e) != 0)
        return false;
    bool ok = r.status == 200;
    cli_resp_free(&r);
    return ok;
}

/*
 * The ledger wants nonce == last + 1, so one tx lost on the way (a leader
 * change drops a wait=0 submission) or refused as stale makes every later one
 * stale too. Resync: ask the node for the next nonce and sign again, in order,
 * every batch from the oldest unreceipted one to the last sent that has not
 * landed. A batch that landed under its first signature keeps it: landing is
 * checked by its first serial, never by tx id.
 */
static int resync(cli_http *h, mint *m, size_t from, size_t to, uint64_t *nonce,
                  const uint8_t pub[CHAIN_KEY_LEN], char *e, size_t elen)
{
    uint64_t next;
    if (cli_nonce_next(&next, h, pub, e, elen) != 0) {
        cli_http_next(h);
        return -1;
    }
    for (size_t i = from; i < to; i++) {
        mbatch *b = &m->batches[i];
        if (b->state != B_SENT || batch_landed(h, m, b))
            continue;
        if (sign_encode(m, b, next++, e, elen) != 0 || post_batch(h, b, e, elen) != 0)
            return -1;
        b->first_sent_ms = b->sent_ms;
    }
    if (next > *nonce)
        *nonce = next;
    return 0;
}

/* Batches sent but not receipted when the mint gives up: their outcome is
 * unknown (a later `provena tx status ID` or a look at the first serial
 * tells). Their units are not printed; the ids and first serials go to stderr. */
static int mint_unknown(const mint *m, size_t from, size_t to, const char *why)
{
    char hex[2 * CHAIN_HASH_LEN + 1];
    fprintf(stderr,
            "provena mint: outcome unknown (%s) for these txs; ask with provena tx "
            "status ID before minting again:\n",
            why);
    for (size_t i = from; i < to; i++) {
        const mbatch *b = &m->batches[i];
        if (b->state != B_SENT)
            continue;
        chain_hex(hex, b->id, CHAIN_HASH_LEN);
        fprintf(stderr, "  tx %s (batch %zu, %zu units, first %s/%s)\n", hex, i + 1, b->n, m->gtin,
                b->serials[0]);
    }
    return CLI_UNKNOWN;
}

static void emit(const mint *m, mbatch *b, FILE *csv)
{
    char url[GS1_DL_MAX + 1];
    for (size_t i = 0; i < b->n; i++) {
        printf("%s/%s\n", m->gtin, b->serials[i]);
        if (csv) {
            if (unit_url(m, b, i, url, sizeof url) < 0)
                url[0] = '\0';
            fprintf(csv, "%s,%s,%s,%s,%s\n", m->gtin, b->serials[i], m->lot,
                    m->expiry ? m->expiry : "", url);
        }
    }
}

/* ---- the command ----------------------------------------------------------------------- */

static int mint_args(mint *m, const char *cmd, const char *count_s, const char *wm_s,
                     const char *markets_s, const char *batch_s, const char **gtin_io)
{
    static char gtin[GS1_GTIN_LEN + 1];
    if (!*gtin_io || gs1_gtin_normalize(gtin, *gtin_io, strlen(*gtin_io)) != 0)
        return cli_usage_err(cmd, "--gtin: not a GTIN with a valid check digit");
    *gtin_io = gtin;
    m->gtin = gtin;
    if (!m->lot || !gs1_serial_valid(m->lot, strlen(m->lot)))
        return cli_usage_err(cmd, "--lot: required, 1-20 GS1 AI 82 characters");
    if (m->expiry) {
        size_t n = strlen(m->expiry);
        bool ok = n == 6;
        for (size_t i = 0; ok && i < 6; i++)
            ok = m->expiry[i] >= '0' && m->expiry[i] <= '9';
        int mm = ok ? (m->expiry[2] - '0') * 10 + (m->expiry[3] - '0') : 0;
        int dd = ok ? (m->expiry[4] - '0') * 10 + (m->expiry[5] - '0') : 0;
        if (!ok || mm < 1 || mm > 12 || dd > 31)
            return cli_usage_err(cmd, "--expiry: YYMMDD");
    }
    if (m->model && strlen(m->model) > CHAIN_NAME_MAX)
        return cli_usage_err(cmd, "--model: longer than %d", CHAIN_NAME_MAX);
    uint64_t v;
    if (!count_s || !cli_parse_u64(&m->count, count_s, 1, MINT_COUNT_MAX))
        return cli_usage_err(cmd, "--count: a number 1..%llu", MINT_COUNT_MAX);
    if (wm_s) {
        if (!cli_parse_u64(&v, wm_s, 0, 1200))
            return cli_usage_err(cmd, "--warranty-months: a number 0..1200");
        m->warranty_months = (uint32_t)v;
    }
    if (markets_s) {
        int n = cli_split_list(m->markets, CHAIN_MARKETS_MAX, markets_s);
        for (int i = 0; n > 0 && i < n; i++)
            if (strlen(m->markets[i]) != 2)
                n = -1;
        if (n < 0)
            return cli_usage_err(cmd, "--markets: comma-separated ISO country codes (DE,FR)");
        m->nmarkets = (size_t)n;
    }
    m->batch_size = CHAIN_MINT_MAX;
    if (batch_s) {
        if (!cli_parse_u64(&v, batch_s, 1, CHAIN_MINT_MAX))
            return cli_usage_err(cmd, "--batch: a number 1..%d", CHAIN_MINT_MAX);
        m->batch_size = (size_t)v;
    }
    m->nbatches = (size_t)((m->count + m->batch_size - 1) / m->batch_size);
    return CLI_OK;
}

/* One mint run's submitting side (main thread): where the pipeline stands. */
typedef struct mrun {
    mint *m;
    cli_http *h;
    FILE *csv;
    const char *cmd;
    const uint8_t *pub;
    bool dry_run;
    uint64_t nonce;  /* of the next mint tx signed */
    size_t head;     /* oldest batch not yet receipted */
    size_t inflight; /* batches sent and not yet receipted */
    unsigned resyncs;
    cli_progress prog;
    char e[512];
} mrun;

/* A batch is done: its units are printed (and written to the CSV). */
static void run_done(mrun *r, mbatch *b)
{
    emit(r->m, b, r->csv);
    cli_progress_add(&r->prog, b->n);
    b->state = B_DONE;
    batch_release(b);
    r->head++;
}

/* Signs and POSTs the k ready batches from ns (a dry run only emits them).
 * CLI_OK, or the failure already reported. */
static int run_send(mrun *r, size_t ns, size_t k)
{
    mint *m = r->m;
    mbatch *group[MINT_POST_TXS];
    for (size_t i = 0; i < k; i++) {
        mbatch *b = &m->batches[ns + i];
        if (b->err)
            return cli_fail(r->cmd, "batch %zu: %s", ns + i + 1, b->errmsg);
        if (r->dry_run)
            run_done(r, b);
        else if (sign_encode(m, b, r->nonce++, r->e, sizeof r->e) != 0)
            return cli_fail(r->cmd, "batch %zu: %s", ns + i + 1, r->e);
        group[i] = b;
    }
    if (!r->dry_run) {
        if (post_group(r->h, group, k, r->e, sizeof r->e) != 0)
            return cli_fail(r->cmd, "batch %zu: %s", ns + 1, r->e);
        for (size_t i = 0; i < k; i++) {
            group[i]->state = B_SENT;
            group[i]->first_sent_ms = group[i]->sent_ms;
        }
        r->inflight += k;
    }
    pthread_mutex_lock(&m->mu);
    m->next_submit += k;
    pthread_cond_broadcast(&m->cv);
    pthread_mutex_unlock(&m->mu);
    return CLI_OK;
}

/* Polls the oldest batch in flight: done, still waiting, lost or stale (its
 * batches signed again), or a failure. CLI_OK to go on, else the result. */
static int run_poll(mrun *r)
{
    mint *m = r->m;
    mbatch *b = &m->batches[r->head];
    int code = 0;
    int p = poll_batch(r->h, m, b, &code, r->e, sizeof r->e);
    bool lost = p == 0 && cli_now_ms() - b->sent_ms > MINT_RESEND_MS;
    if (p == 0 && !lost) {
        usleep(MINT_POLL_MS * 1000);
        return CLI_OK;
    }
    if (lost || (p < 0 && code == CHAIN_ERR_STALE_NONCE)) {
        /* Lost (no waiter on the node forwards a wait=0 tx again after a
         * leader change) or stale: sign the unlanded ones again in order. */
        if (++r->resyncs > MINT_RESYNC_MAX)
            return mint_unknown(m, r->head, m->next_submit, "too many resubmissions");
        if (resync(r->h, m, r->head, m->next_submit, &r->nonce, r->pub, r->e, sizeof r->e) != 0) {
            /* The network is unsettled (an election): try again shortly. */
            fprintf(stderr, "%s: batch %zu: resubmit: %s (retrying)\n", r->cmd, r->head + 1, r->e);
            m->batches[r->head].sent_ms = cli_now_ms();
            usleep(500 * 1000);
        }
        return CLI_OK;
    }
    if (p < 0) {
        if (code == MINT_ERR_UNKNOWN)
            return mint_unknown(m, r->head, m->next_submit, r->e);
        return cli_fail(r->cmd, "batch %zu: %s", r->head + 1, r->e);
    }
    run_done(r, b);
    r->inflight--;
    return CLI_OK;
}

/* The submitting loop: sends ready batches while the window allows, else
 * polls the oldest one in flight, until every batch is receipted. */
static int run_pipeline(mrun *r)
{
    mint *m = r->m;
    cli_progress_start(&r->prog, "mint", m->count);
    uint64_t t0 = cli_now_ms();
    while (r->head < m->nbatches) {
        pthread_mutex_lock(&m->mu);
        size_t ns = m->next_submit;
        bool can_send = ns < m->nbatches && r->inflight < MINT_INFLIGHT;
        if (can_send && r->inflight == 0)
            while (m->batches[ns].state != B_READY)
                pthread_cond_wait(&m->cv, &m->mu);
        /* Consecutive ready batches, up to one POST's worth and the window. */
        size_t k = 0;
        while (can_send && k < MINT_POST_TXS && ns + k < m->nbatches &&
               r->inflight + k < MINT_INFLIGHT && m->batches[ns + k].state == B_READY)
            k++;
        pthread_mutex_unlock(&m->mu);
        int rc = CLI_OK;
        if (k > 0)
            rc = run_send(r, ns, k);
        else if (r->inflight > 0)
            rc = run_poll(r);
        if (rc != CLI_OK)
            return rc;
    }
    cli_progress_end(&r->prog);
    uint64_t el = cli_now_ms() - t0;
    fprintf(stderr, "%s %llu units of %s lot %s in %zu txs, %.1f s (%.0f units/s)\n",
            r->dry_run ? "signed (dry run, nothing submitted)" : "minted",
            (unsigned long long)m->count, m->gtin, m->lot, m->nbatches, (double)el / 1000.0,
            el ? (double)m->count * 1000.0 / (double)el : 0.0);
    return CLI_OK;
}

/* Starts up to one builder a core; the number started (0: none could be). */
static size_t workers_start(mint *m, pthread_t th[MINT_WORKERS_MAX])
{
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    size_t nworkers = ncpu < 1 ? 1 : ncpu > MINT_WORKERS_MAX ? MINT_WORKERS_MAX : (size_t)ncpu;
    size_t nth = 0;
    for (; nth < nworkers; nth++)
        if (pthread_create(&th[nth], NULL, worker, m) != 0)
            break;
    return nth;
}

/* Stops and joins the builders and drops every batch's buffers. */
static void workers_stop(mint *m, pthread_t th[MINT_WORKERS_MAX], size_t nth)
{
    pthread_mutex_lock(&m->mu);
    m->stop = true;
    pthread_cond_broadcast(&m->cv);
    pthread_mutex_unlock(&m->mu);
    for (size_t i = 0; i < nth; i++)
        pthread_join(th[i], NULL);
    for (size_t i = 0; i < m->nbatches; i++)
        batch_release(&m->batches[i]);
}

/* Warns when the key is none of the genesis's brand keys (the chain will
 * refuse the mint; a dry run still shows what would be signed). */
static void warn_not_brand(const char *cmd, const chain_genesis *g,
                           const uint8_t pub[CHAIN_KEY_LEN])
{
    bool is_brand = false;
    for (size_t i = 0; i < g->nbrands; i++)
        is_brand |= memcmp(g->brands[i].pub, pub, CHAIN_KEY_LEN) == 0;
    if (!is_brand)
        fprintf(stderr, "%s: warning: --key is not a brand key in the genesis\n", cmd);
}

/* The network's current resolver as the node reports it (/api/v1/status
 * "resolver": the last resolver.set, else the genesis's). False when the node
 * names none or does not know the field (a node before resolver.set). */
static bool network_resolver(char out[CHAIN_RESOLVER_MAX + 1], cli_http *h)
{
    char e[256];
    json_t *st = cli_http_get_json(h, "/api/v1/status", e, sizeof e);
    json_t *v = st ? json_object_get(st, "resolver") : NULL;
    const char *s = json_string_value(v);
    bool ok = s && chain_resolver_valid(s, json_string_length(v));
    if (ok)
        snprintf(out, CHAIN_RESOLVER_MAX + 1, "%s", s);
    json_decref(st);
    return ok;
}

int cli_cmd_mint(int argc, char **argv)
{
    static const char cmd[] = "provena mint";
    mint m;
    memset(&m, 0, sizeof m);
    const char *node = cli_env_node(), *key = cli_env_key(), *genesis = NULL, *csv_path = NULL;
    const char *count_s = NULL, *wm_s = NULL, *markets_s = NULL, *batch_s = NULL, *gtin = NULL;
    bool dry_run = false;
    const cli_opt opts[] = {
        {"gtin", "G", "GTIN-8/12/13/14 of the product (the brand's prefix)", &gtin, NULL},
        {"lot", "L", "lot / batch number (AI 10)", &m.lot, NULL},
        {"expiry", "YYMMDD", "expiry date (AI 17)", &m.expiry, NULL},
        {"model", "M", "model name", &m.model, NULL},
        {"warranty-months", "N", "warranty from sale (default: policy)", &wm_s, NULL},
        {"markets", "DE,FR", "intended markets", &markets_s, NULL},
        {"count", "N", "units to mint", &count_s, NULL},
        {"labels", "DIR", "write an SVG + PNG label per unit and printable sheets", &m.labels_dir,
         NULL},
        {"resolver", "URL",
         "label resolver (default: the network's current one, set by resolver.set or the "
         "genesis, else the node URL)",
         &m.resolver, NULL},
        {"csv", "FILE", "also write gtin,serial,lot,expiry,url per unit", &csv_path, NULL},
        {"batch", "N", "units per mint tx (default 10000)", &batch_s, NULL},
        {"node", "URL", "node base URL (default $PROVENA_NODE)", &node, NULL},
        {"key", "FILE", "brand key file (default $PROVENA_KEY)", &key, NULL},
        {"genesis", "FILE", "chain id from this genesis instead of the node", &genesis, NULL},
        {"dry-run", NULL, "sign and render only; submit nothing (needs --genesis)", NULL, &dry_run},
    };
    const cli_spec spec = {cmd,
                           "--gtin G --lot L --count N [options]",
                           "Mints units with random serials and brand-signed labels; prints "
                           "GTIN/SERIAL of every committed unit, one a line.",
                           opts,
                           sizeof opts / sizeof *opts,
                           0,
                           0};
    const char *pos[1];
    size_t np;
    int rc = cli_parse(&spec, argc, argv, pos, &np, 1);
    if (rc != CLI_OK)
        return rc;
    if ((rc = mint_args(&m, cmd, count_s, wm_s, markets_s, batch_s, &gtin)) != CLI_OK)
        return rc;
    if (!key)
        return cli_usage_err(cmd, "--key: required (or set PROVENA_KEY)");
    char resolver[512];
    char e[512];
    if (m.labels_dir && mkdir(m.labels_dir, 0755) != 0 && errno != EEXIST)
        return cli_fail(cmd, "--labels %s: %s", m.labels_dir, strerror(errno));
    if (cli_key_read(m.sk, key, e, sizeof e) != 0)
        return cli_fail(cmd, "--key: %s", e);
    uint8_t pub[CHAIN_KEY_LEN];
    if (chain_key_pub(pub, m.sk) != CHAIN_OK)
        return cli_fail(cmd, "--key: invalid");
    FILE *csv = NULL;
    cli_http *h = cli_http_new(node);
    chain_genesis *g = NULL;
    uint64_t nonce = 0;
    pthread_t th[MINT_WORKERS_MAX];
    size_t nth = 0;
    rc = CLI_FAIL;
    if (dry_run && !genesis) {
        cli_http_free(h);
        return cli_usage_err(cmd, "--dry-run: needs --genesis FILE");
    }
    if (!h || cli_chain_id(m.chain_id, &g, h, genesis, e, sizeof e) != 0 ||
        (!dry_run && cli_nonce_next(&nonce, h, pub, e, sizeof e) != 0)) {
        cli_fail(cmd, "%s", h ? e : "out of memory");
        goto out;
    }
    char current[CHAIN_RESOLVER_MAX + 1];
    const char *network = g->resolver;
    if (!m.resolver && !dry_run && network_resolver(current, h))
        network = current;
    m.resolver = cli_resolver_pick(resolver, sizeof resolver, m.resolver, network, node, cmd);
    warn_not_brand(cmd, g, pub);
    if (csv_path) {
        csv = fopen(csv_path, "w");
        if (!csv) {
            cli_fail(cmd, "--csv %s: %s", csv_path, strerror(errno));
            goto out;
        }
        fprintf(csv, "gtin,serial,lot,expiry,url\n");
    }
    m.batches = calloc(m.nbatches, sizeof *m.batches);
    if (!m.batches) {
        cli_fail(cmd, "out of memory");
        goto out;
    }
    pthread_mutex_init(&m.mu, NULL);
    pthread_cond_init(&m.cv, NULL);
    if ((nth = workers_start(&m, th)) == 0) {
        cli_fail(cmd, "cannot start worker threads");
        goto out_threads;
    }
    mrun run = {
        .m = &m, .h = h, .csv = csv, .cmd = cmd, .pub = pub, .dry_run = dry_run, .nonce = nonce};
    rc = run_pipeline(&run);
out_threads:
    workers_stop(&m, th, nth);
    pthread_cond_destroy(&m.cv);
    pthread_mutex_destroy(&m.mu);
out:
    free(m.batches);
    if (csv && fclose(csv) != 0 && rc == CLI_OK)
        rc = cli_fail(cmd, "--csv %s: write failed", csv_path);
    if (fflush(stdout) != 0 && rc == CLI_OK)
        rc = cli_fail(cmd, "stdout: write failed");
    chain_genesis_free(g);
    cli_http_free(h);
    explicit_bzero(m.sk, sizeof m.sk);
    return rc;
}
