/*
 * cli.h — the provena command's private contract: argument parsing, key files,
 * unit naming, progress output, the HTTP client, and one entry point per command.
 *
 * Exit codes are the command's contract with scripts: CLI_OK (0) only on
 * success, CLI_FAIL (1) for a failure (refused tx, bad signature, network),
 * CLI_USAGE (2) for a usage error. Every message names the bad argument and
 * goes to stderr; stdout carries only what a program would read.
 */
#ifndef PROVENA_CLI_H
#define PROVENA_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "chain/chain.h"

#define CLI_WUR __attribute__((warn_unused_result))

enum cli_exit { CLI_OK = 0, CLI_FAIL = 1, CLI_USAGE = 2, CLI_HELP = -1 };

#define CLI_NODE_DEFAULT   "http://127.0.0.1:8101"
#define CLI_POS_MAX        4096        /* positional arguments one command takes */
#define CLI_RESP_MAX       (64u << 20) /* largest HTTP response body we read (a block) */
#define CLI_UNITS_FILE_MAX 1000000     /* lines in a --file of units */
#define CLI_SERIAL_LEN     13          /* random serials: 13 base32 chars = 65 bits */
#define CLI_CODE_LEN       19          /* claim code XXXX-XXXX-XXXX-XXXX: 80 bits */
#define CLI_RETRY_MS       15000       /* retry a 503 (no leader, busy) this long */

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
/* Splits "DE,FR" into up to max upper-case codes of at most width-1 chars;
 * returns the count or -1 when an item is empty or too long. */
int cli_split_list(char (*out)[CHAIN_REGION_MAX + 1], size_t max, const char *s);

/* Parses a unit named as GTIN/SERIAL, a Digital Link URL, or an element string.
 * GTIN-8/12/13 are padded to GTIN-14. Returns 0, or -1 with errmsg. */
int cli_unit_parse(gs1_link *out, const char *s, char *errmsg, size_t errmsg_len) CLI_WUR;
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

/* A client of the node at base (no trailing slash needed). NULL on OOM. */
cli_http *cli_http_new(const char *base);
void cli_http_free(cli_http *h);
const char *cli_http_base(const cli_http *h);
/* One request; the body read is bounded by max (CLI_RESP_MAX when 0). Returns 0
 * when an HTTP answer arrived (any status), -1 with errmsg on a transport error
 * or an oversized answer. resp->body freed by cli_resp_free. */
int cli_http_get(cli_http *h, cli_resp *resp, const char *path, size_t max, char *errmsg,
                 size_t errmsg_len) CLI_WUR;
int cli_http_post(cli_http *h, cli_resp *resp, const char *path, const char *ctype,
                  const void *body, size_t len, char *errmsg, size_t errmsg_len) CLI_WUR;
void cli_resp_free(cli_resp *r);
/* GET path and parse a JSON object from a 2xx answer; on a non-2xx answer the
 * node's {"error":{"code","message"}} goes into errmsg. New reference or NULL. */
json_t *cli_http_get_json(cli_http *h, const char *path, char *errmsg, size_t errmsg_len);
/* "code: message" of an error body, or the status line. */
void cli_http_error_text(char *out, size_t out_len, const cli_resp *r);

/* ---- common plumbing for commands that talk to a node (cli_tx.c) -------------------- */

/* The chain id: from --genesis FILE when given, else GET /api/v1/genesis. */
int cli_chain_id(uint8_t out[CHAIN_HASH_LEN], chain_genesis **g_out, cli_http *h,
                 const char *genesis_path, char *errmsg, size_t errmsg_len) CLI_WUR;
/* Next nonce of pub from the node (GET /api/v1/nonce/{hex}). */
int cli_nonce_next(uint64_t *out, cli_http *h, const uint8_t pub[CHAIN_KEY_LEN], char *errmsg,
                   size_t errmsg_len) CLI_WUR;
/* Signs tx (chain, nonce, time set by the caller), POSTs it, waits for the
 * receipt and prints it (or its JSON). Returns CLI_OK when accepted, CLI_FAIL
 * when refused or on a transport failure. */
int cli_tx_submit(cli_http *h, chain_tx *tx, const uint8_t seckey[CHAIN_SECKEY_LEN], bool json,
                  const char *what);

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
int cli_cmd_epcis(int argc, char **argv); /* cli_epcis.c: epcis export */

/* Defaults from the environment. */
const char *cli_env_node(void);
const char *cli_env_key(void);

#endif
