/*
 * log.h — one line per event on stderr, for every part of provena-node:
 * "2024-05-01T12:00:00.123Z info  role leader, term 3, leader 1".
 *
 * A leaf module: it includes nothing of Provena, so the engine (replica/),
 * scan intelligence (scan/) and the gateway (node/) may all log without
 * including each other. The only state is the process-wide threshold.
 */
#ifndef PROVENA_LOG_LOG_H
#define PROVENA_LOG_LOG_H

/* Severity, most severe first: a line is written when its level is at or
 * below the threshold. */
enum log_level { LOG_LEVEL_ERROR = 0, LOG_LEVEL_WARN, LOG_LEVEL_INFO, LOG_LEVEL_DEBUG };

/* Sets the process-wide threshold (default LOG_LEVEL_INFO). Thread-safe. */
void log_set_level(int level);

/* "text" (the default: the line above) or "json": one object a line,
 * {"time":"2024-05-01T12:00:00.123Z","level":"info","msg":"..."}, for a log
 * collector. 0, or -1 when the name is unknown. Call before threads log. */
int log_set_format(const char *name);

/* "error", "warn", "info" or "debug" → its level; -1 when unknown. */
int log_parse_level(const char *s);

/* Writes one line (timestamp, level, the formatted message; cut at 1 KiB)
 * with a single write(2), so lines of concurrent threads never interleave.
 * Any thread; never blocks beyond the write; never fails visibly. Callers
 * never pass secrets. */
void log_msg(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
