/*
 * log.c — the stderr logger behind log.h: a threshold in an atomic and one
 * formatted write per line; in the JSON format jansson encodes the object, so
 * any byte in a message comes out escaped.
 */
#include "log/log.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static atomic_int log_level = LOG_LEVEL_INFO;
static const char *const level_names[] = {"error", "warn", "info", "debug"};
static atomic_bool log_json;

int log_set_format(const char *name)
{
    if (strcmp(name, "text") != 0 && strcmp(name, "json") != 0)
        return -1;
    atomic_store(&log_json, strcmp(name, "json") == 0);
    return 0;
}

/* The message as one JSON object a line into line (cap bytes); its length, or
 * 0 when it cannot be encoded (then the text line is written). */
static size_t json_line(char *line, size_t cap, const char *stamp, int level, const char *msg)
{
    json_t *o = json_pack("{s:s,s:s,s:s}", "time", stamp, "level", level_names[level], "msg", msg);
    char *s = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(o);
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n + 1 > cap) {
        free(s);
        return 0;
    }
    memcpy(line, s, n);
    line[n++] = '\n';
    free(s);
    return n;
}

void log_set_level(int level)
{
    atomic_store(&log_level, level);
}

int log_parse_level(const char *s)
{
    for (int i = 0; i <= LOG_LEVEL_DEBUG; i++)
        if (strcmp(s, level_names[i]) == 0)
            return i;
    return -1;
}

void log_msg(int level, const char *fmt, ...)
{
    if (level > atomic_load(&log_level) || level < 0)
        return;
    char msg[1024], stamp[64], line[sizeof msg + 96]; /* a message is cut at 1 KiB */
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    snprintf(stamp, sizeof stamp, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000L);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    size_t len = 0;
    if (atomic_load(&log_json))
        len = json_line(line, sizeof line, stamp, level, msg);
    if (len == 0) {
        snprintf(line, sizeof line - 1, "%s %-5s %s", stamp, level_names[level], msg);
        len = strlen(line);
        line[len++] = '\n';
    }
    /* one write per line, so lines of concurrent threads never interleave */
    ssize_t w = write(STDERR_FILENO, line, len);
    (void)w;
}
