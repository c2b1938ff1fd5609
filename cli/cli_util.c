/*
 * cli_util.c — what every provena command shares: the table-driven argument
 * parser, error messages that name the argument, unit naming (GTIN/SERIAL,
 * Digital Link, element string), key files, atomic file writes, random serials
 * and claim codes, and the progress bar.
 *
 * Nothing here talks to the network. Key files are 64 hex characters and a
 * newline (the node reads its --key in the same format); secret bytes are wiped
 * from every buffer that held them.
 */
#include "cli/cli.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---- messages ---------------------------------------------------------------------- */

int cli_usage_err(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s: ", cmd ? cmd : "provena");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, " (see --help)\n");
    return CLI_USAGE;
}

int cli_fail(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s: ", cmd ? cmd : "provena");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return CLI_FAIL;
}

const char *cli_env_node(void)
{
    const char *s = getenv("PROVENA_NODE");
    return s && s[0] ? s : CLI_NODE_DEFAULT;
}

const char *cli_env_key(void)
{
    const char *s = getenv("PROVENA_KEY");
    return s && s[0] ? s : NULL;
}

/* ---- argument parser ----------------------------------------------------------------- */

void cli_help(const cli_spec *s)
{
    printf("usage: %s %s\n\n%s\n", s->cmd, s->usage, s->summary);
    if (s->nopts)
        printf("\noptions:\n");
    for (size_t i = 0; i < s->nopts; i++) {
        char left[64];
        snprintf(left, sizeof left, "--%s%s%s", s->opts[i].name, s->opts[i].arg ? " " : "",
                 s->opts[i].arg ? s->opts[i].arg : "");
        printf("  %-24s %s\n", left, s->opts[i].help);
    }
    printf("  %-24s %s\n", "--help", "show this help");
}

static const cli_opt *find_opt(const cli_spec *s, const char *name, size_t n)
{
    for (size_t i = 0; i < s->nopts; i++)
        if (strlen(s->opts[i].name) == n && memcmp(s->opts[i].name, name, n) == 0)
            return &s->opts[i];
    return NULL;
}

int cli_parse(const cli_spec *spec, int argc, char **argv, const char **pos, size_t *npos,
              size_t cap)
{
    size_t np = 0;
    bool opts_done = false;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (!opts_done && (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)) {
            cli_help(spec);
            return CLI_HELP;
        }
        if (!opts_done && strcmp(a, "--") == 0) {
            opts_done = true;
            continue;
        }
        if (!opts_done && a[0] == '-' && a[1] == '-') {
            const char *name = a + 2, *eq = strchr(name, '=');
            size_t n = eq ? (size_t)(eq - name) : strlen(name);
            const cli_opt *o = find_opt(spec, name, n);
            if (!o)
                return cli_usage_err(spec->cmd, "unknown option --%.*s", (int)n, name);
            if (!o->arg) {
                if (eq)
                    return cli_usage_err(spec->cmd, "--%s takes no value", o->name);
                *o->flag = true;
                continue;
            }
            if (eq) {
                *o->val = eq + 1;
            } else {
                if (i + 1 >= argc)
                    return cli_usage_err(spec->cmd, "--%s: missing value %s", o->name, o->arg);
                *o->val = argv[++i];
            }
            continue;
        }
        if (np >= cap || np >= spec->max_pos)
            return cli_usage_err(spec->cmd, "unexpected argument '%s'", a);
        pos[np++] = a;
    }
    if (np < spec->min_pos)
        return cli_usage_err(spec->cmd, "missing argument (usage: %s %s)", spec->cmd, spec->usage);
    *npos = np;
    return CLI_OK;
}

bool cli_parse_u64(uint64_t *out, const char *s, uint64_t min, uint64_t max)
{
    if (!s || !*s || strlen(s) > 20)
        return false;
    uint64_t v = 0;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9')
            return false;
        uint64_t d = (uint64_t)(*p - '0');
        if (v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    if (v < min || v > max)
        return false;
    *out = v;
    return true;
}

bool cli_parse_key_hex(uint8_t out[32], const char *s)
{
    if (!s || strlen(s) != 64)
        return false;
    uint8_t tmp[32];
    if (chain_unhex(tmp, sizeof tmp, s, 64) != 32)
        return false;
    memcpy(out, tmp, 32);
    return true;
}

int cli_split_list(char (*out)[CHAIN_REGION_MAX + 1], size_t max, const char *s)
{
    size_t n = 0;
    const char *p = s;
    if (!s || !*s)
        return 0;
    for (;;) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len == 0 || len > CHAIN_REGION_MAX || n >= max)
            return -1;
        for (size_t i = 0; i < len; i++)
            out[n][i] = (char)toupper((unsigned char)p[i]);
        out[n][len] = '\0';
        if (!chain_region_valid(out[n], len))
            return -1; /* the ledger would refuse it: say so here, naming the option */
        n++;
        if (!e)
            break;
        p = e + 1;
    }
    return (int)n;
}

/* ---- units ---------------------------------------------------------------------------- */

int cli_sscc_parse(char out[GS1_SSCC_LEN + 1], const char *s, char *errmsg, size_t errmsg_len)
{
    size_t n = strnlen(s, GS1_DL_MAX + 1);
    const char *d = s;
    if (n > GS1_DL_MAX) {
        snprintf(errmsg, errmsg_len, "longer than %d characters", GS1_DL_MAX);
        return -1;
    }
    if (n > 4 && memcmp(s, "(00)", 4) == 0) {
        d = s + 4;
    } else if (n > GS1_SSCC_LEN) {
        const char *q = memchr(s, '?', n);
        size_t end = q ? (size_t)(q - s) : n;
        if (end >= GS1_SSCC_LEN + 4 && memcmp(s + end - GS1_SSCC_LEN - 4, "/00/", 4) == 0) {
            d = s + end - GS1_SSCC_LEN;
            n = GS1_SSCC_LEN + (size_t)(d - s);
        }
    }
    size_t dn = n - (size_t)(d - s);
    if (!gs1_sscc_valid(d, dn)) {
        snprintf(errmsg, errmsg_len,
                 "not an SSCC (18 digits with a valid check digit, (00)…, or a /00/ Digital Link)");
        return -1;
    }
    memcpy(out, d, GS1_SSCC_LEN);
    out[GS1_SSCC_LEN] = '\0';
    return 0;
}

int cli_unit_parse(gs1_link *out, const char *s, char *errmsg, size_t errmsg_len)
{
    gs1_link l;
    size_t n = strlen(s);
    const char *slash = strchr(s, '/');
    /* GTIN-8/12/13 in the short form: pad before handing it to the GS1 parser. */
    if (slash && s[0] != '/' && s[0] != '(' && !strstr(s, "://") &&
        (size_t)(slash - s) < GS1_GTIN_LEN) {
        char g[GS1_GTIN_LEN + 1], buf[GS1_DL_MAX + 1];
        if (gs1_gtin_normalize(g, s, (size_t)(slash - s)) != 0) {
            snprintf(errmsg, errmsg_len, "'%s': GTIN has a bad check digit or length", s);
            return -1;
        }
        snprintf(buf, sizeof buf, "%s%s", g, slash);
        s = buf;
        n = strlen(buf);
        if (gs1_parse_unit(&l, s, n, errmsg, errmsg_len) != 0)
            return -1;
        *out = l;
        return 0;
    }
    if (gs1_parse_unit(&l, s, n, errmsg, errmsg_len) != 0)
        return -1;
    *out = l;
    return 0;
}

int cli_units_read_file(gs1_sgtin **units, size_t *n, const char *path, char *errmsg,
                        size_t errmsg_len)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
    if (!f) {
        snprintf(errmsg, errmsg_len, "%s: %s", path, strerror(errno));
        return -1;
    }
    char line[GS1_DL_MAX + 64];
    size_t lineno = 0, cap = *n;
    int rc = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        size_t len = strlen(line);
        while (len && (line[len - 1] == '\n' || line[len - 1] == '\r' || line[len - 1] == ' '))
            line[--len] = '\0';
        const char *p = line;
        while (*p == ' ' || *p == '\t')
            p++;
        if (!*p || *p == '#')
            continue;
        if (*n >= CLI_UNITS_FILE_MAX) {
            snprintf(errmsg, errmsg_len, "%s: more than %d units", path, CLI_UNITS_FILE_MAX);
            rc = -1;
            break;
        }
        gs1_link l;
        char e[160];
        if (cli_unit_parse(&l, p, e, sizeof e) != 0) {
            snprintf(errmsg, errmsg_len, "%s:%zu: %s", path, lineno, e);
            rc = -1;
            break;
        }
        if (*n == cap) {
            size_t nc = cap ? cap * 2 : 256;
            gs1_sgtin *nu = realloc(*units, nc * sizeof *nu);
            if (!nu) {
                snprintf(errmsg, errmsg_len, "%s: out of memory", path);
                rc = -1;
                break;
            }
            *units = nu;
            cap = nc;
        }
        (*units)[(*n)++] = l.id;
    }
    if (f != stdin)
        fclose(f);
    return rc;
}

/* ---- files and keys -------------------------------------------------------------------- */

int cli_file_read(char **out, size_t *len, const char *path, size_t max, char *errmsg,
                  size_t errmsg_len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(errmsg, errmsg_len, "%s: %s", path, strerror(errno));
        return -1;
    }
    char *buf = malloc(max + 1);
    if (!buf) {
        fclose(f);
        snprintf(errmsg, errmsg_len, "%s: out of memory", path);
        return -1;
    }
    size_t n = fread(buf, 1, max + 1, f);
    bool err = ferror(f);
    fclose(f);
    if (err || n > max) {
        free(buf);
        snprintf(errmsg, errmsg_len, "%s: %s", path, err ? "read error" : "file too large");
        return -1;
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return 0;
}

int cli_file_write_atomic(const char *path, const void *data, size_t len, char *errmsg,
                          size_t errmsg_len)
{
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof tmp) {
        snprintf(errmsg, errmsg_len, "%s: path too long", path);
        return -1;
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        snprintf(errmsg, errmsg_len, "%s: %s", tmp, strerror(errno));
        return -1;
    }
    const char *p = data;
    size_t left = len;
    while (left) {
        ssize_t w = write(fd, p, left);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            snprintf(errmsg, errmsg_len, "%s: %s", tmp, strerror(errno));
            close(fd);
            unlink(tmp);
            return -1;
        }
        p += w;
        left -= (size_t)w;
    }
    if (fsync(fd) != 0 || close(fd) != 0) {
        snprintf(errmsg, errmsg_len, "%s: %s", tmp, strerror(errno));
        unlink(tmp);
        return -1;
    }
    if (rename(tmp, path) != 0) {
        snprintf(errmsg, errmsg_len, "%s: %s", path, strerror(errno));
        unlink(tmp);
        return -1;
    }
    return 0;
}

int cli_key_read(uint8_t seckey[CHAIN_SECKEY_LEN], const char *path, char *errmsg,
                 size_t errmsg_len)
{
    char buf[160];
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(errmsg, errmsg_len, "key file %s: %s", path, strerror(errno));
        return -1;
    }
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
        buf[--n] = '\0';
    uint8_t k[CHAIN_SECKEY_LEN], pub[CHAIN_KEY_LEN];
    int rc = -1;
    if (n != 64 || chain_unhex(k, sizeof k, buf, 64) != 32) {
        snprintf(errmsg, errmsg_len, "key file %s: not 64 hex characters", path);
    } else if (chain_key_pub(pub, k) != CHAIN_OK) {
        snprintf(errmsg, errmsg_len, "key file %s: not a valid secret key", path);
    } else {
        memcpy(seckey, k, CHAIN_SECKEY_LEN);
        rc = 0;
    }
    explicit_bzero(buf, sizeof buf);
    explicit_bzero(k, sizeof k);
    return rc;
}

int cli_key_write(const char *path, const uint8_t seckey[CHAIN_SECKEY_LEN], char *errmsg,
                  size_t errmsg_len)
{
    char hex[2 * CHAIN_SECKEY_LEN + 2];
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd < 0) {
        snprintf(errmsg, errmsg_len, "%s: %s", path,
                 errno == EEXIST ? "exists; refusing to overwrite a key file" : strerror(errno));
        return -1;
    }
    chain_hex(hex, seckey, CHAIN_SECKEY_LEN);
    hex[2 * CHAIN_SECKEY_LEN] = '\n';
    ssize_t w = write(fd, hex, sizeof hex - 1);
    explicit_bzero(hex, sizeof hex);
    if (w != (ssize_t)(sizeof hex - 1) || fsync(fd) != 0) {
        snprintf(errmsg, errmsg_len, "%s: write failed: %s", path, strerror(errno));
        close(fd);
        unlink(path);
        return -1;
    }
    if (close(fd) != 0) {
        snprintf(errmsg, errmsg_len, "%s: %s", path, strerror(errno));
        unlink(path);
        return -1;
    }
    return 0;
}

/* ---- randomness ------------------------------------------------------------------------ */

static const char B32[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"; /* Crockford: no I L O U */

static int random_bytes(uint8_t *out, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = getrandom(out + got, n - got, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        got += (size_t)r;
    }
    return 0;
}

/* n base32 characters from 5n random bits. */
static int random_b32(char *out, size_t n)
{
    uint8_t r[32];
    if (n > sizeof r || random_bytes(r, n) != 0)
        return -1;
    for (size_t i = 0; i < n; i++)
        out[i] = B32[r[i] & 31];
    explicit_bzero(r, sizeof r);
    return 0;
}

int cli_serial_random(char out[CLI_SERIAL_LEN + 1])
{
    if (random_b32(out, CLI_SERIAL_LEN) != 0)
        return -1;
    out[CLI_SERIAL_LEN] = '\0';
    return 0;
}

int cli_code_random(char out[CLI_CODE_LEN + 1])
{
    char raw[16];
    if (random_b32(raw, sizeof raw) != 0)
        return -1;
    for (size_t i = 0, j = 0; i < 16; i++) {
        if (i && i % 4 == 0)
            out[j++] = '-';
        out[j++] = raw[i];
    }
    out[CLI_CODE_LEN] = '\0';
    return 0;
}

void cli_time_fmt(char out[32], uint64_t ms)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 32, "%Y-%m-%d %H:%M:%S", &tm);
}

/* ---- progress ---------------------------------------------------------------------------- */

uint64_t cli_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

uint64_t cli_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void progress_draw(cli_progress *p)
{
    unsigned width = 30, fill = p->total ? (unsigned)(p->done * width / p->total) : width;
    uint64_t el = cli_now_ms() - p->started_ms;
    double rate = el ? (double)p->done * 1000.0 / (double)el : 0;
    char bar[64];
    for (unsigned i = 0; i < width; i++)
        bar[i] = i < fill ? '#' : '.';
    bar[width] = '\0';
    fprintf(stderr, "\r%s [%s] %llu/%llu %.0f/s ", p->label, bar, (unsigned long long)p->done,
            (unsigned long long)p->total, rate);
    fflush(stderr);
}

void cli_progress_start(cli_progress *p, const char *label, uint64_t total)
{
    memset(p, 0, sizeof *p);
    p->label = label;
    p->total = total;
    p->tty = isatty(STDERR_FILENO) == 1;
    p->started_ms = cli_now_ms();
}

void cli_progress_add(cli_progress *p, uint64_t n)
{
    p->done += n;
    if (!p->tty)
        return;
    uint64_t now = cli_now_ms();
    if (now - p->drawn_ms >= 100 || p->done >= p->total) {
        p->drawn_ms = now;
        progress_draw(p);
    }
}

void cli_progress_end(cli_progress *p)
{
    if (p->tty) {
        progress_draw(p);
        fputc('\n', stderr);
    }
}
