/*
 * catchup.c — a lagging node fetches the blocks it misses and replays them.
 *
 * Raft tells a node that fell behind its compacted log where the cluster is
 * with a marker (chain/catchup.c). This file gets the node there: it asks the
 * marker's other nodes, one after the other, for ranges of blocks from its
 * head + 1 (GET /api/v1/blocks?from=…&format=cbor over libcurl, each answer
 * bounded by CATCHUP_RESP_MAX) and replays them, in two passes:
 *
 *   1. backwards: from the marker's head id (what the Raft log committed to)
 *      down to the local head, range by range, chain_blocks_verify_back pins
 *      every block to that id through the prev links, and the lowest block
 *      must extend the local head. Only the ids of the range tops are kept.
 *   2. forwards: the same ranges again (the lowest one is still in hand), each
 *      checked against its pinned top id, then replayed (chain_block_replay:
 *      signatures, rules, hash link).
 *
 * So a peer that serves a fork — however validly signed — is refused, and
 * named in the log, before a single block is replayed. A peer that cannot be
 * reached, answers an error or bytes that do not decode or do not link is left
 * for the next one; when a whole round over the peers fails the next round
 * waits longer (up to CATCHUP_BACKOFF_MS). The end is checked against the
 * marker's head id and state digest by chain_marker_reach.
 */
#include "replica/catchup.h"

#include <assert.h>
#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "httpbody/httpbody.h"
#include "log/log.h"

typedef httpbody body; /* the answer for one range of blocks */

/* libcurl's progress callback: nonzero aborts the transfer once stop is set. */
static int stop_check(void *ud, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
    (void)dt, (void)dn, (void)ut, (void)un;
    return atomic_load((const atomic_bool *)ud) ? 1 : 0;
}

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init_once(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* GET one range; 0 with the body, or -1 with errmsg. */
static int fetch(CURL *h, const char *peer_ca, body *b, const char *base, uint64_t from,
                 uint64_t count, const atomic_bool *stop, char *errmsg, size_t errmsg_len)
{
    char url[CHAIN_ADDR_MAX + 128];
    snprintf(url, sizeof url, "%s/api/v1/blocks?from=%llu&limit=%llu&format=cbor", base,
             (unsigned long long)from, (unsigned long long)count);
    httpbody_reset(b);
    curl_easy_reset(h);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, httpbody_write);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, b);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 3000L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, (long)CATCHUP_TIMEOUT_S);
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, stop_check);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, (void *)stop);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "provena-node/catchup");
    if (peer_ca)
        curl_easy_setopt(h, CURLOPT_CAINFO, peer_ca);
    CURLcode rc = curl_easy_perform(h);
    if (rc != CURLE_OK) {
        snprintf(errmsg, errmsg_len, "%.128s, blocks from %llu: %s", base, (unsigned long long)from,
                 b->overflow ? "answer too large" : curl_easy_strerror(rc));
        return -1;
    }
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    if (status != 200) {
        snprintf(errmsg, errmsg_len, "%.128s, blocks from %llu: HTTP %ld", base,
                 (unsigned long long)from, status);
        return -1;
    }
    return 0;
}

/* A range pinned by pass 1: blocks lo..hi, the one at hi has id top. */
typedef struct pinned {
    uint64_t lo, hi;
    uint8_t top[CHAIN_HASH_LEN];
} pinned;

/* One catch-up: the peers, the transfer handle and the last answer. */
typedef struct cu {
    chain *c;
    const chain_marker *m;
    uint64_t self_id;
    const atomic_bool *stop;
    catchup_stats *st;
    CURL *h;
    const char *peer_ca; /* CA file for https:// gateways, or NULL */
    body b;
    size_t start;   /* the peer the next request goes to first */
    unsigned pause; /* ms before the next round over all peers */
    const uint8_t *blks[CATCHUP_RANGE];
    size_t lens[CATCHUP_RANGE];
    size_t n; /* blocks of b, split */
} cu;

static void pause_ms(unsigned ms, const atomic_bool *stop)
{
    for (unsigned t = 0; t < ms && !atomic_load(stop); t += 50)
        nanosleep(&(struct timespec){0, 50 * 1000000L}, NULL);
}

/*
 * Gets blocks *lo..hi whose block hi has id top from some peer, verified
 * (chain_blocks_verify_back; *prev = the prev of block *lo). With shrink, a
 * peer that answers fewer blocks than asked (its byte bound) is asked again
 * for the top part of the range only, and *lo moves up; without, a short
 * answer is that peer's failure. Tries the peers in turn, in rounds with a
 * growing pause, until one answers or *stop: CHAIN_OK with the blocks in
 * x->blks, or CHAIN_ERR_INVALID when stopped or the transfer handle fails.
 */
static int get_range(cu *x, uint64_t *lo, uint64_t hi, const uint8_t top[CHAIN_HASH_LEN],
                     bool shrink, uint8_t prev[CHAIN_HASH_LEN])
{
    const chain_marker *m = x->m;
    while (!atomic_load(x->stop)) {
        for (size_t k = 0; k < m->nnodes && !atomic_load(x->stop); k++) {
            size_t pi = (x->start + k) % m->nnodes;
            const chain_marker_node *p = &m->nodes[pi];
            if (p->id == x->self_id || p->http_addr[0] == '\0')
                continue;
            char why[384];
            bool lied = false;
            int e;
            for (;;) {
                uint64_t want = hi - *lo + 1;
                e = fetch(x->h, x->peer_ca, &x->b, p->http_addr, *lo, want, x->stop, why,
                          sizeof why);
                if (e == 0) {
                    e = chain_blocks_split(x->blks, x->lens, &x->n, CATCHUP_RANGE, x->b.p, x->b.len,
                                           why, sizeof why);
                    if (e == CHAIN_OK && x->n == 0) {
                        snprintf(why, sizeof why, "an empty range from %llu",
                                 (unsigned long long)*lo);
                        e = CHAIN_ERR_MALFORMED;
                    } else if (e == CHAIN_OK && x->n > want) {
                        snprintf(why, sizeof why, "%zu blocks from %llu, %llu asked", x->n,
                                 (unsigned long long)*lo, (unsigned long long)want);
                        e = CHAIN_ERR_MALFORMED;
                    } else if (e == CHAIN_OK && x->n < want && shrink) {
                        *lo = hi - x->n + 1; /* fits in one answer: ask for the top part */
                        continue;
                    } else if (e == CHAIN_OK && x->n < want) {
                        snprintf(why, sizeof why, "%zu blocks from %llu, %llu asked", x->n,
                                 (unsigned long long)*lo, (unsigned long long)want);
                        e = CHAIN_ERR_MALFORMED;
                    } else if (e != CHAIN_OK) {
                        char d[sizeof why];
                        memcpy(d, why, sizeof d);
                        snprintf(why, sizeof why, "blocks from %llu: %.300s",
                                 (unsigned long long)*lo, d);
                    }
                    if (e == CHAIN_OK) {
                        char d[256];
                        e = chain_blocks_verify_back(prev, x->blks, x->lens, x->n, *lo, top, d,
                                                     sizeof d);
                        lied = e != CHAIN_OK;
                        if (lied)
                            snprintf(why, sizeof why, "%s", d);
                    }
                }
                break;
            }
            if (e == CHAIN_OK) {
                x->st->source = p->id;
                x->start = pi;
                x->pause = 100;
                return CHAIN_OK;
            }
            x->st->failures++;
            if (atomic_load(x->stop))
                break;
            if (lied)
                log_msg(LOG_LEVEL_ERROR,
                        "catch-up: node %llu: refused, not the committed history (%s "
                        "served it): %s; nothing of it applied",
                        (unsigned long long)p->id, p->http_addr, why);
            else
                log_msg(LOG_LEVEL_WARN, "catch-up: node %llu: %s", (unsigned long long)p->id, why);
        }
        if (atomic_load(x->stop))
            break;
        x->start = (x->start + 1) % m->nnodes;
        pause_ms(x->pause, x->stop);
        x->pause = x->pause * 2 > CATCHUP_BACKOFF_MS ? CATCHUP_BACKOFF_MS : x->pause * 2;
    }
    return CHAIN_ERR_INVALID;
}

/* Replays the blocks in x->blks (verified, heights from..), errors local. */
static int replay_held(cu *x, uint64_t *height, char *errmsg, size_t errmsg_len)
{
    for (size_t i = 0; i < x->n; i++) {
        chain_apply_result res;
        char why[256];
        int rc = chain_block_replay(x->c, &res, x->blks[i], x->lens[i], why, sizeof why);
        if (rc != CHAIN_OK) {
            snprintf(errmsg, errmsg_len, "replay of verified block %llu: %s",
                     (unsigned long long)(*height + 1), why);
            return rc;
        }
        *height = res.height;
        x->st->blocks++;
        chain_apply_result_free(&res);
    }
    x->st->to_height = *height;
    return CHAIN_OK;
}

static int head_get(chain *c, chain_head *h)
{
    chain_rd *rd;
    int rc = chain_rd_begin(c, &rd);
    if (rc)
        return rc;
    rc = chain_head_get(rd, h);
    chain_rd_end(rd);
    return rc;
}

/* Pass 1: pins m's history down to the head. Appends the ranges, highest
 * first, to *out (malloc'd); x->blks holds the lowest range after. */
static int pin_history(cu *x, const chain_head *head, pinned **out, size_t *nout, char *errmsg,
                       size_t errmsg_len)
{
    uint64_t hi = x->m->height;
    uint8_t top[CHAIN_HASH_LEN];
    memcpy(top, x->m->id, CHAIN_HASH_LEN);
    size_t cap = 0;
    while (hi > head->height) {
        uint64_t lo = hi - head->height > CATCHUP_RANGE ? hi - CATCHUP_RANGE + 1 : head->height + 1;
        uint8_t prev[CHAIN_HASH_LEN];
        if (get_range(x, &lo, hi, top, true, prev) != CHAIN_OK) {
            snprintf(errmsg, errmsg_len, "stopped while verifying the history at height %llu",
                     (unsigned long long)hi);
            return CHAIN_ERR_INVALID;
        }
        if (*nout == cap) {
            cap = cap ? cap * 2 : 16;
            pinned *np = realloc(*out, cap * sizeof *np);
            if (np == NULL) {
                snprintf(errmsg, errmsg_len, "out of memory");
                return CHAIN_ERR_NOMEM;
            }
            *out = np;
        }
        pinned *r = &(*out)[(*nout)++];
        r->lo = lo;
        r->hi = hi;
        memcpy(r->top, top, CHAIN_HASH_LEN);
        memcpy(top, prev, CHAIN_HASH_LEN);
        hi = lo - 1;
    }
    if (memcmp(top, head->id, CHAIN_HASH_LEN) != 0) {
        /* every block above is pinned by hash to the marker: it is this
         * node's own history that is not the committed one */
        snprintf(errmsg, errmsg_len,
                 "the local head at height %llu is not on the committed history (the "
                 "marker's block %llu does not extend it)",
                 (unsigned long long)head->height, (unsigned long long)(head->height + 1));
        return CHAIN_ERR_BAD_BLOCK;
    }
    return CHAIN_OK;
}

int catchup_run(chain *c, const chain_marker *m, uint64_t self_id, const char *peer_ca,
                const atomic_bool *stop, catchup_stats *st, char *errmsg, size_t errmsg_len)
{
    memset(st, 0, sizeof *st);
    errmsg[0] = '\0';
    chain_head head;
    int rc = head_get(c, &head);
    if (rc) {
        snprintf(errmsg, errmsg_len, "read head: %s", chain_err_code(rc));
        return rc;
    }
    uint64_t height = head.height;
    st->from_height = st->to_height = height;
    size_t npeers = 0;
    for (size_t i = 0; i < m->nnodes; i++)
        npeers += m->nodes[i].id != self_id && m->nodes[i].http_addr[0] != '\0';
    if (height < m->height && npeers == 0) {
        snprintf(errmsg, errmsg_len, "%llu blocks behind and no other node to fetch them from",
                 (unsigned long long)(m->height - height));
        return CHAIN_ERR_INVALID;
    }
    pinned *ranges = NULL;
    size_t nranges = 0;
    cu *x = NULL;
    if (height < m->height) {
        pthread_once(&curl_once, curl_init_once);
        x = calloc(1, sizeof *x);
        if (x == NULL || (x->h = curl_easy_init()) == NULL) {
            snprintf(errmsg, errmsg_len, "curl: cannot initialise");
            rc = CHAIN_ERR_NOMEM;
            goto done;
        }
        x->c = c;
        x->m = m;
        x->self_id = self_id;
        x->stop = stop;
        x->st = st;
        x->pause = 100;
        x->peer_ca = peer_ca;
        httpbody_init(&x->b, CATCHUP_RESP_MAX);
        if ((rc = pin_history(x, &head, &ranges, &nranges, errmsg, errmsg_len)) != CHAIN_OK)
            goto done;
        log_msg(LOG_LEVEL_INFO,
                "catch-up: blocks %llu..%llu verified back to the committed head id in %zu "
                "range(s); replaying",
                (unsigned long long)(height + 1), (unsigned long long)m->height, nranges);
        /* pass 2: the lowest range is still in hand; the others again, pinned */
        for (size_t k = nranges; k-- > 0 && rc == CHAIN_OK;) {
            if (k != nranges - 1) {
                uint64_t lo = ranges[k].lo;
                uint8_t prev[CHAIN_HASH_LEN];
                if (get_range(x, &lo, ranges[k].hi, ranges[k].top, false, prev) != CHAIN_OK) {
                    snprintf(errmsg, errmsg_len, "stopped at height %llu of %llu",
                             (unsigned long long)height, (unsigned long long)m->height);
                    rc = CHAIN_ERR_INVALID;
                    break;
                }
            }
            assert(ranges[k].lo == height + 1);
            rc = replay_held(x, &height, errmsg, errmsg_len);
            log_msg(LOG_LEVEL_DEBUG, "catch-up: height %llu of %llu (node %llu)",
                    (unsigned long long)height, (unsigned long long)m->height,
                    (unsigned long long)st->source);
        }
    }
done:
    if (x) {
        httpbody_free(&x->b);
        if (x->h)
            curl_easy_cleanup(x->h);
        free(x);
    }
    free(ranges);
    st->to_height = height;
    if (rc != CHAIN_OK)
        return rc;
    char why[256];
    if ((rc = chain_marker_reach(c, m, why, sizeof why)) != CHAIN_OK)
        snprintf(errmsg, errmsg_len, "%s", why);
    return rc;
}
