/*
 * mono.c — CLOCK_MONOTONIC readings and condition variables that wait on it.
 */
#include "mono/mono.h"

uint64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

uint64_t mono_ms(void)
{
    return mono_us() / 1000u;
}

void mono_deadline(struct timespec *ts, uint64_t at_us)
{
    ts->tv_sec = (time_t)(at_us / 1000000u);
    ts->tv_nsec = (long)(at_us % 1000000u) * 1000L;
}

int mono_cond_init(pthread_cond_t *cv)
{
    pthread_condattr_t ca;
    int rc = pthread_condattr_init(&ca);
    if (rc != 0)
        return rc;
    rc = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    if (rc == 0)
        rc = pthread_cond_init(cv, &ca);
    pthread_condattr_destroy(&ca);
    return rc;
}
