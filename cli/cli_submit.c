/*
 * cli_submit.c — exactly-once submission from the client's side.
 *
 * A transaction is signed once; its bytes, and so its id, never change. Those
 * same bytes are POSTed again — to the same node or the next one of the
 * --node list — until an answer says what happened to them: a receipt (the
 * ledger accepted or refused the tx) or a refusal of the bytes themselves
 * (unreadable, too large). Resending is safe because the ledger answers a tx
 * id it already holds with its first receipt, and a tx id commits once.
 *
 * Anything else (no connection, a reset, 503 no leader / busy / stopping, 504
 * timeout, 429, 500) says nothing about the outcome: the loop keeps trying
 * until the caller's deadline, and then reports CLI_SUBMIT_UNKNOWN with the
 * last thing it saw — never a failure, since the tx may have committed.
 * One exception: 410 "removed" is a node that left the network and says it
 * did not hand the tx over. The loop moves on to the next node; when every
 * node of the list answered so and no other answer came (so no node can hold
 * the tx), it stops at once with REFUSED and the node's message, instead of
 * retrying until the deadline. The other: 507 disk_full before any answer
 * that could mean a node holds the tx: that node wrote nothing, so it is
 * reported at once as refused (disk_full).
 *
 *   classify(answer) --accepted--> ACCEPTED
 *                    --receipt rejected / 400 / 413 / 415--> REFUSED
 *                    --anything else--> try again (next node on a transport
 *                                       error or 503) --deadline--> UNKNOWN
 */
#include "cli/cli.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SUBMIT_PAUSE_MS 200 /* between two tries */

/* The receipt of a one-tx answer: the object itself, or the only element of
 * an array, or the "receipt" member of a GET /api/v1/tx answer. Borrowed. */
static json_t *receipt_of(json_t *j)
{
    if (json_is_array(j) && json_array_size(j) == 1)
        j = json_array_get(j, 0);
    if (json_is_object(j) && json_is_object(json_object_get(j, "receipt")))
        j = json_object_get(j, "receipt");
    return json_is_object(j) && json_is_string(json_object_get(j, "status")) ? j : NULL;
}

int cli_submit_classify(long status, const char *body, size_t len, json_t **receipt)
{
    json_t *j = body && len ? json_loadb(body, len, 0, NULL) : NULL;
    json_t *rc = receipt_of(j);
    const char *st = rc ? json_string_value(json_object_get(rc, "status")) : NULL;
    int out = CLI_SUBMIT_RETRY;
    if ((status == 200 || status == 409 || status == 422) && st &&
        (strcmp(st, "accepted") == 0 || strcmp(st, "rejected") == 0))
        out = strcmp(st, "accepted") == 0 ? CLI_SUBMIT_ACCEPTED : CLI_SUBMIT_REFUSED;
    else if (status == 400 || status == 413 || status == 415 || status == 422)
        out = CLI_SUBMIT_REFUSED; /* the bytes themselves: no node will take them */
    if (out != CLI_SUBMIT_RETRY && receipt && rc)
        *receipt = json_incref(rc);
    json_decref(j);
    return out;
}

int cli_submit_bytes(cli_http *h, json_t **receipt, char *errmsg, size_t errmsg_len,
                     const uint8_t *tx, size_t len, uint64_t timeout_ms, uint64_t min_height)
{
    char path[64] = "/api/v1/tx";
    if (min_height > 0)
        snprintf(path, sizeof path, "/api/v1/tx?min_height=%llu", (unsigned long long)min_height);
    uint64_t deadline = cli_now_ms() + timeout_ms;
    char e[512] = "";
    size_t removed = 0;      /* 410 answers: nodes that left the network */
    bool maybe_sent = false; /* some other answer (or none): a node may hold the tx */
    *receipt = NULL;
    for (;;) {
        cli_resp r = {0};
        bool next_node = true;
        if (cli_http_post(h, &r, path, "application/cbor", tx, len, e, sizeof e) == 0) {
            if (r.status == 410) {
                cli_http_error_text(e, sizeof e, &r);
                cli_resp_free(&r);
                if (++removed >= cli_http_nodes(h) && !maybe_sent) {
                    snprintf(errmsg, errmsg_len, "%s", e);
                    return CLI_SUBMIT_REFUSED;
                }
            } else if (r.status == 507 && !maybe_sent) {
                /* disk full: the node wrote nothing, and no earlier try can
                 * have handed the tx over — a definite "not now", said at once */
                cli_http_error_text(errmsg, errmsg_len, &r);
                cli_resp_free(&r);
                return CLI_SUBMIT_REFUSED;
            } else {
                maybe_sent = true;
                int c = cli_submit_classify(r.status, r.body, r.len, receipt);
                if (c != CLI_SUBMIT_RETRY) {
                    if (c == CLI_SUBMIT_REFUSED && !*receipt)
                        cli_http_error_text(errmsg, errmsg_len, &r);
                    cli_resp_free(&r);
                    return c;
                }
                cli_http_error_text(e, sizeof e, &r);
                /* a 504 means the node has our tx and waits for it: ask it again */
                next_node = r.status != 504;
                cli_resp_free(&r);
            }
        } else {
            maybe_sent = true;
        }
        if (cli_now_ms() >= deadline)
            break;
        if (next_node)
            cli_http_next(h);
        usleep(SUBMIT_PAUSE_MS * 1000);
    }
    snprintf(errmsg, errmsg_len, "%s", e);
    return CLI_SUBMIT_UNKNOWN;
}

void cli_submit_unknown(const char *what, const uint8_t id[CHAIN_HASH_LEN], const char *last,
                        bool json)
{
    char hex[2 * CHAIN_HASH_LEN + 1];
    chain_hex(hex, id, CHAIN_HASH_LEN);
    if (json)
        printf("{\"tx\":\"%s\",\"status\":\"unknown\"}\n", hex);
    else
        printf("%s: outcome unknown (tx %s)\n", what, hex);
    fflush(stdout);
    fprintf(stderr,
            "provena %s: outcome unknown: no node confirmed or refused tx %s (last: %s); "
            "it may still commit. Ask with: provena tx status %s\n",
            what, hex, last && last[0] ? last : "no answer", hex);
}

int cli_secret_write(const char *path, const char *text, char *errmsg, size_t errmsg_len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(errmsg, errmsg_len, "%s: %s", path,
                 errno == EEXIST ? "exists; refusing to overwrite a secret" : strerror(errno));
        return -1;
    }
    size_t n = strlen(text);
    bool ok = write(fd, text, n) == (ssize_t)n && write(fd, "\n", 1) == 1 && fsync(fd) == 0;
    int err = errno;
    if (close(fd) != 0 && ok) {
        ok = false;
        err = errno;
    }
    if (!ok) {
        snprintf(errmsg, errmsg_len, "%s: write failed: %s", path, strerror(err));
        unlink(path);
        return -1;
    }
    return 0;
}

bool cli_parse_timeout(uint64_t *ms, const char *s)
{
    uint64_t v;
    if (!s) {
        *ms = CLI_SUBMIT_MS;
        return true;
    }
    if (!cli_parse_u64(&v, s, 1, CLI_SUBMIT_MAX_S))
        return false;
    *ms = v * 1000;
    return true;
}
