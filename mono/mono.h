/*
 * mono.h — the monotonic clock and the timed waits built on it, written
 * once: every thread of provena-node that sleeps with a deadline (the
 * engine's submitters, sweeper and applier, the scan flusher, the monitor)
 * uses a condition variable on CLOCK_MONOTONIC, so stepping the wall clock
 * never ends or stretches a wait.
 *
 * A leaf module (no Provena includes); every function is thread-safe.
 */
#ifndef PROVENA_MONO_MONO_H
#define PROVENA_MONO_MONO_H

#include <pthread.h>
#include <stdint.h>
#include <time.h>

/* Now on CLOCK_MONOTONIC, in microseconds / milliseconds. */
uint64_t mono_us(void);
uint64_t mono_ms(void);

/* The absolute CLOCK_MONOTONIC instant at_us (as mono_us counts) as the
 * timespec pthread_cond_timedwait takes for a mono_cond_init variable. */
void mono_deadline(struct timespec *ts, uint64_t at_us);

/* Initializes *cv with CLOCK_MONOTONIC for its timed waits (destroy it with
 * pthread_cond_destroy). 0, or the error of pthread_cond_init. */
int mono_cond_init(pthread_cond_t *cv) __attribute__((warn_unused_result));

#endif
