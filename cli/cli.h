/*
 * cli.h — the provena command's private contract: argument parsing, key files,
 * unit naming, progress output, the HTTP client, and one entry point per command.
 *
 * Exit codes are the command's contract with scripts: CLI_OK (0) only on
 * success (a transaction accepted), CLI_FAIL (1) for a failure (a transaction
 * refused, a bad signature, a read that found no node), CLI_USAGE (2) for a
 * usage error, CLI_UNKNOWN (3) when a signed transaction's outcome is unknown
 * (no node confirmed or refused it in time: it may still commit; the tx id is
 * printed and `provena tx status ID` tells). Every message names the bad
 * argument and goes to stderr; stdout carries only what a program would read.
 */
#ifndef PROVENA_CLI_H
#define PROVENA_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "chain/chain.h"

#define CLI_WUR __attribute__((warn_unused_result))

enum cli_exit { CLI_OK = 0, CLI_FAIL = 1, CLI_USAGE = 2, CLI_UNKNOWN = 3, CLI_HELP = -1 };

#define CLI_NODE_DEFAULT   "http://127.0.0.1:8101"
#define CLI_POS_MAX        4096        /* positional arguments one command takes */
#define CLI_RESP_MAX       (64u << 20) /* largest HTTP response body we read (a block) */
#define CLI_UNITS_FILE_MAX 1000000     /* lines in a --file of units */
#define CLI_SERIAL_LEN     13          /* random serials: 13 base32 chars = 65 bits */
#define CLI_CODE_LEN       19          /* claim code XXXX-XXXX-XXXX-XXXX: 80 bits */
#define CLI_RETRY_MS       15000       /* retry a 503 (no leader, busy) this long */
#define CLI_NODES_MAX      16          /* nodes in one --node list */
#define CLI_SUBMIT_MS      60000       /* default: resend one tx this long before "unknown" */
#define CLI_SUBMIT_MAX_S   86400       /* --timeout at most a day */

/* ---- arguments (cli_util.c) ------------------------------------------------------ */

/* One option of a command: "--name ARG" (val set) or a flag "--name" (flag set). */
typedef struct cli_opt {
    const char *name; /* without the dashes */
    const char *arg;  /* metavariable for the help ("N"), NULL for a flag */
    const char *help;
    const char **val; /* value options: where the value goes (last one wins) */
    bool *flag;       /* flags */
} cli_opt;

typedef struct cli_spec {
    const char *cmd;     /* "provena mint" */
    const char *usage;   /* "--gtin G --lot L --count N [options]" */
    const char *summary; /* one paragraph */
    const cli_opt *opts;
    size_t nopts;
    size_t min_pos, max_pos;
} cli_spec;

/* Parses argv[0..argc) (the words after the command name) against spec:
 * options in any order, "--name value" or "--name=value", "--" ends options.
 * Positional words go to pos[] (cap entries). Returns CLI_OK, CLI_HELP after
 * printing the help to stdout (--help / -h), or CLI_USAGE after printing which
 * argument was wrong to stderr. */
int cli_parse(const cli_spec *spec, int argc, char **argv, const char **pos, size_t *npos,
              size_t cap) CLI_WUR;
void cli_help(const cli_spec *spec);

/* "provena: --count: not a number between 1 and 1000000" to stderr; returns CLI_USAGE. */
int cli_usage_err(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A failure message to stderr; returns CLI_FAIL. */
int cli_fail(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Decimal in [min, max]; false on anything else. */
bool cli_parse_u64(uint64_t *out, const char *s, uint64_t min, uint64_t max);
/* 64 hex characters → 32 bytes; false otherwise. */
bool cli_parse_key_hex(uint8_t out[32], const char *s);
/* Splits "DE,FR" into up to max upper-case region codes (DE or DE-BY);
 * returns the count or -1 when an item is empty, too long or not a code. */
int cli_split_list(char (*out)[CHAIN_REGION_MAX + 1], size_t max, const char *s);

/* Parses a unit named as GTIN/SERIAL, a Digital Link URL, or an element string.
 * GTIN-8/12/13 are padded to GTIN-14. Returns 0, or -1 with errmsg. */
int cli_unit_parse(gs1_link *out, const char *s, char *errmsg, size_t errmsg_len) CLI_WUR;
/* Parses an SSCC named as 18 digits, an element string "(00)" + 18 digits,
 * or a Digital Link URL ending in /00/{18 digits} (a query may follow), and
 * checks its check digit. Returns 0 with out set, or -1 with errmsg. */
int cli_sscc_parse(char out[GS1_SSCC_LEN + 1], const char *s, char *errmsg,
                   size_t errmsg_len) CLI_WUR;
/* Reads a file of units, one a line (blank lines and '#' comments skipped),
 * appending to *units (realloc'd). Returns 0 or -1 naming file:line. */
int cli_units_read_file(gs1_sgtin **units, size_t *n, const char *path, char *errmsg,
                        size_t errmsg_len) CLI_WUR;

/* ---- keys and files (cli_util.c) ---------------------------------------------------- */

/* Secret key file: 64 lowercase hex characters and a newline, mode 0600. */
int cli_key_read(uint8_t seckey[CHAIN_SECKEY_LEN], const char *path, char *errmsg,
                 size_t errmsg_len) CLI_WUR;
/* Creates path exclusively (O_EXCL, 0600): refuses to overwrite. */
int cli_key_write(const char *path, const uint8_t seckey[CHAIN_SECKEY_LEN], char *errmsg,
                  size_t errmsg_len) CLI_WUR;
/* The TLS certificate in a PEM file (a certificate alone, or a key file of
 * `provena key new --tls`: only its certificate is read), as DER, checked to
 * be pinnable (chain_tls_cert_check). 0 or -1 with errmsg naming the file. */
int cli_tls_cert_read(uint8_t der[CHAIN_TLS_CERT_MAX], size_t *der_len, const char *path,
                      char *errmsg, size_t errmsg_len) CLI_WUR;
/* Whole file into a NUL-terminated malloc'd buffer of at most max bytes. */
int cli_file_read(char **out, size_t *len, const char *path, size_t max, char *errmsg,
                  size_t errmsg_len) CLI_WUR;
/* Writes via path.tmp + rename so readers never see half a file. */
int cli_file_write_atomic(const char *path, const void *data, size_t len, char *errmsg,
                          size_t errmsg_len) CLI_WUR;

/* Random serial of CLI_SERIAL_LEN Crockford base32 characters (GS1 AI 82 safe). */
int cli_serial_random(char out[CLI_SERIAL_LEN + 1]) CLI_WUR;
/* Random claim code XXXX-XXXX-XXXX-XXXX (base32). */
int cli_code_random(char out[CLI_CODE_LEN + 1]) CLI_WUR;
/* "2026-11-22 21:34:05" (UTC) of unix milliseconds. */
void cli_time_fmt(char out[32], uint64_t ms);

/* ---- progress bar on stderr when it is a terminal ---------------------------------- */
typedef struct cli_progress {
    const char *label;
    uint64_t total, done;
    bool tty;
    uint64_t started_ms, drawn_ms;
} cli_progress;
void cli_progress_start(cli_progress *p, const char *label, uint64_t total);
void cli_progress_add(cli_progress *p, uint64_t n);
void cli_progress_end(cli_progress *p);
uint64_t cli_now_ms(void); /* monotonic */
/* Unix milliseconds: a tx's informational time. Millisecond resolution matters:
 * the tx id excludes the signature, so a retry of a refused tx within the same
 * time unit would have the same id and get the first refusal back. */
uint64_t cli_wall_ms(void);

/* ---- HTTP (cli_http.c) -------------------------------------------------------------- */

typedef struct cli_http cli_http;
typedef struct cli_resp {
    long status; /* HTTP status; 0 when no answer */
    char *body;  /* malloc'd, NUL-terminated */
    size_t len;
} cli_resp;

/* A client of the node at base (no trailing slash needed), or of the first of
 * a comma-separated list of up to CLI_NODES_MAX nodes ("URL,URL"). NULL on OOM
 * or when a URL of the list is empty or longer than 511 bytes. */
cli_http *cli_http_new(const char *base);
void cli_http_free(cli_http *h);
/* The node requests go to now. */
const char *cli_http_base(const cli_http *h);
/* How many nodes the list named; cli_http_next moves to the next one (round
 * robin; no-op with one). Used when a node cannot answer for a while. */
size_t cli_http_nodes(const cli_http *h);
void cli_http_next(cli_http *h);
/* One request; the body read is bounded by max (CLI_RESP_MAX when 0). Returns 0
 * when an HTTP answer arrived (any status), -1 with errmsg on a transport error
 * or an oversized answer. resp->body freed by cli_resp_free. A GET that gets
 * no answer is tried on each other node of the list in turn (and h stays on
 * the one that answered); a POST goes to the current node only. */
int cli_http_get(cli_http *h, cli_resp *resp, const char *path, size_t max, char *errmsg,
                 size_t errmsg_len) CLI_WUR;
int cli_http_post(cli_http *h, cli_resp *resp, const char *path, const char *ctype,
                  const void *body, size_t len, char *errmsg, size_t errmsg_len) CLI_WUR;
void cli_resp_free(cli_resp *r);
/* A GET whose 2xx body is handed to sink piece by piece as it arrives (sink
 * returns false to abort: a write failed); any other answer's body (at most
 * 1 MiB) goes into resp for cli_http_error_text. 0 once an answer arrived
 * whole (resp->status says which; free resp), -1 on a transport failure, a
 * cut transfer or a sink abort, with errmsg. The one node at base; no total
 * time bound, but a transfer stalled for a minute fails. */
typedef bool (*cli_sink_fn)(void *ctx, const char *data, size_t n);
int cli_http_get_stream(cli_http *h, cli_resp *resp, const char *path, cli_sink_fn sink, void *ctx,
                        char *errmsg, size_t errmsg_len) CLI_WUR;
/* GET path and parse a JSON object from a 2xx answer; on a non-2xx answer the
 * node's {"error":{"code","message"}} goes into errmsg. New reference or NULL. */
json_t *cli_http_get_json(cli_http *h, const char *path, char *errmsg, size_t errmsg_len);
/* "code: message" of an error body, or the status line. */
void cli_http_error_text(char *out, size_t out_len, const cli_resp *r);

/* ---- common plumbing for commands that talk to a node (cli_tx.c) -------------------- */

/* The chain id: from --genesis FILE when given, else GET /api/v1/genesis. */
int cli_chain_id(uint8_t out[CHAIN_HASH_LEN], chain_genesis **g_out, cli_http *h,
                 const char *genesis_path, char *errmsg, size_t errmsg_len) CLI_WUR;
/* Next nonce of pub (GET /api/v1/nonce/{hex}): the highest any node of h's
 * list answers (a lagging node's would be stale). 0, or -1 when none answered. */
int cli_nonce_next(uint64_t *out, cli_http *h, const uint8_t pub[CHAIN_KEY_LEN], char *errmsg,
                   size_t errmsg_len) CLI_WUR;
/* Signs tx (chain, nonce, time set by the caller) once, submits its bytes
 * through cli_submit_bytes for up to timeout_ms, and prints the receipt (or
 * its JSON). Returns CLI_OK when accepted, CLI_FAIL when refused (or the tx
 * cannot be encoded), CLI_UNKNOWN after printing "outcome unknown" and the tx
 * id when no node told the outcome in time. min_height (0: none) is sent as
 * ?min_height= (cli_submit_bytes); *height (when not NULL) gets the receipt's
 * height when accepted and is left alone otherwise. */
int cli_tx_submit(cli_http *h, chain_tx *tx, const uint8_t seckey[CHAIN_SECKEY_LEN], bool json,
                  const char *what, uint64_t timeout_ms, uint64_t min_height, uint64_t *height);

/* ---- exactly-once submission (cli_submit.c) ------------------------------------------- */

enum cli_submit_result {
    CLI_SUBMIT_ACCEPTED = 0,
    CLI_SUBMIT_REFUSED,
    CLI_SUBMIT_UNKNOWN,
    CLI_SUBMIT_RETRY
};
/* What one answer to POST /api/v1/tx (or GET /api/v1/tx/ID) says of a single
 * tx: ACCEPTED or REFUSED with a receipt ("accepted" / "rejected" in a 200,
 * 409 or 422), REFUSED for bytes no node will take (400, 413, 415, 422), else
 * RETRY (503, 504, 429, 5xx, anything unreadable: the outcome is not known).
 * On ACCEPTED / REFUSED with a receipt, *receipt (when not NULL) gets a new
 * reference to it. Pure; never blocks. */
int cli_submit_classify(long status, const char *body, size_t len, json_t **receipt) CLI_WUR;
/* POSTs the same signed bytes to h's node, moving to the next node of its
 * list after a transport error or a 503, until classify says ACCEPTED or
 * REFUSED or timeout_ms has passed (then CLI_SUBMIT_UNKNOWN, with the last
 * error in errmsg). A 410 ("removed": a node that left the network and did
 * not take the tx) moves on too; when every node of the list answered 410 and
 * nothing else, REFUSED at once with that node's message in errmsg. *receipt: new reference on
 * ACCEPTED / REFUSED-with-receipt, else NULL; on REFUSED without one errmsg says why. min_height >
 * 0 asks each node to admit the tx only once it has applied that block
 * (?min_height=, the height of the receipt of the step this one follows); a
 * node still behind answers 503 "behind", which is retried like any 503.
 * Blocks. */
int cli_submit_bytes(cli_http *h, json_t **receipt, char *errmsg, size_t errmsg_len,
                     const uint8_t *tx, size_t len, uint64_t timeout_ms,
                     uint64_t min_height) CLI_WUR;
/* Prints "WHAT: outcome unknown (tx ID)" (or its JSON) to stdout and how to
 * learn the outcome to stderr. */
void cli_submit_unknown(const char *what, const uint8_t id[CHAIN_HASH_LEN], const char *last,
                        bool json);
/* Creates path exclusively with mode 0600 (refusing to overwrite) and writes
 * text and a newline, synced, before anything is submitted. 0 or -1 with
 * errmsg (and no file left behind). */
int cli_secret_write(const char *path, const char *text, char *errmsg, size_t errmsg_len) CLI_WUR;
/* Parses a --timeout in seconds (1..CLI_SUBMIT_MAX_S; NULL: CLI_SUBMIT_MS) into ms. */
bool cli_parse_timeout(uint64_t *ms, const char *s);

/* ---- commands: argc/argv are the words after the command name ------------------------ */
int cli_cmd_key(int argc, char **argv);
int cli_cmd_genesis(int argc, char **argv);
int cli_cmd_mint(int argc, char **argv);
int cli_cmd_lifecycle(const char *verb, int argc, char **argv);
bool cli_is_lifecycle(const char *verb);
int cli_cmd_history(int argc, char **argv);
int cli_cmd_status(int argc, char **argv);
int cli_cmd_verify(int argc, char **argv);
int cli_cmd_chain(int argc, char **argv);
int cli_cmd_tx(int argc, char **argv);
/* `chain audit --file BACKUP`: re-verifies a ledger backup offline against g
 * (cli_audit_file.c); the file is copied, never opened for writing. */
int cli_audit_file(const char *cmd, const char *file, const chain_genesis *g, bool json);

/* ---- label resolver (cli_resolver.c) ------------------------------------------------ */

/* Why url's host only reaches this machine or its LAN ("a loopback address",
 * "a private address", "a link-local address", "a loopback name", "a
 * local-network name"), or NULL (a public address, or a DNS name: not looked
 * up). Pure. */
const char *cli_resolver_local(const char *url);
/* The resolver labels carry: given (--resolver), else the network's (the
 * node's current one, else the genesis's; when not ""), else the first URL of
 * the node list (in buf). Warns on stderr, naming cmd, when it is local
 * (cli_resolver_local). */
const char *cli_resolver_pick(char *buf, size_t buf_len, const char *given,
                              const char *network_resolver, const char *node, const char *cmd);
/* provena label --sscc S: an SSCC's Digital Link label (cli_label.c). */
int cli_cmd_label(int argc, char **argv);
int cli_cmd_epcis(int argc, char **argv);     /* cli_epcis.c: epcis export */
int cli_cmd_dashboard(int argc, char **argv); /* cli_dashboard.c: dashboard login */

/* Defaults from the environment. */
const char *cli_env_node(void);
const char *cli_env_key(void);

#endif
