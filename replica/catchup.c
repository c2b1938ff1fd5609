/*
 * catchup.c — a lagging node fetches the blocks it misses and replays them.
 *
 * Raft tells a node that fell behind its compacted log where the cluster is
 * with a marker (chain/catchup.c). This file gets the node there: it asks the
 * marker's other nodes, one after the other, for ranges of blocks from its
 * head + 1 (GET /api/v1/blocks?from=…&format=cbor over libcurl, each answer
 * bounded by CATCHUP_RESP_MAX), splits each answer with chain_blocks_split
 * and replays the blocks in order. A peer that cannot be reached, answers an
 * error, or serves a block that does not extend the head or breaks a rule is
 * left for the next one; when a whole round over the peers made no progress
 * the next round waits longer (up to CATCHUP_BACKOFF_MS). Nothing is taken
 * on trust: each block passes chain_block_replay (signatures, rules, hash
 * link), and the end is checked against the marker's head id and state
 * digest by chain_marker_reach.
 */
#include "replica/catchup.h"

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
static int fetch(CURL *h, body *b, const char *base, uint64_t from, uint64_t count,
                 const atomic_bool *stop, char *errmsg, size_t errmsg_len)
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

/* Replays the blocks of one answer that lie below the marker. Returns CHAIN_OK
 * (progress in *replayed), a refusal of the peer's bytes (CHAIN_ERR_BAD_BLOCK,
 * MALFORMED …: the peer is skipped) or a local failure (storage, nomem). */
static int replay_range(chain *c, const body *b, uint64_t *height, uint64_t target,
                        uint64_t *replayed, char *errmsg, size_t errmsg_len)
{
    static const uint8_t *blks[CATCHUP_RANGE];
    static size_t lens[CATCHUP_RANGE];
    size_t n = 0;
    /* one thread applies blocks (the contract), so static scratch is safe */
    int rc = chain_blocks_split(blks, lens, &n, CATCHUP_RANGE, b->p, b->len, errmsg, errmsg_len);
    if (rc == CHAIN_OK && n == 0) {
        snprintf(errmsg, errmsg_len, "an empty range");
        rc = CHAIN_ERR_MALFORMED;
    }
    for (size_t i = 0; rc == CHAIN_OK && i < n && *height < target; i++) {
        chain_apply_result res;
        rc = chain_block_replay(c, &res, blks[i], lens[i], errmsg, errmsg_len);
        if (rc == CHAIN_OK) {
            *height = res.height;
            (*replayed)++;
            chain_apply_result_free(&res);
        }
    }
    return rc;
}

static void pause_ms(unsigned ms, const atomic_bool *stop)
{
    for (unsigned t = 0; t < ms && !atomic_load(stop); t += 50)
        nanosleep(&(struct timespec){0, 50 * 1000000L}, NULL);
}

static int head_height(chain *c, uint64_t *height)
{
    chain_rd *rd;
    chain_head h;
    int rc = chain_rd_begin(c, &rd);
    if (rc)
        return rc;
    rc = chain_head_get(rd, &h);
    chain_rd_end(rd);
    if (rc == CHAIN_OK)
        *height = h.height;
    return rc;
}

int catchup_run(chain *c, const chain_marker *m, uint64_t self_id, const atomic_bool *stop,
                catchup_stats *st, char *errmsg, size_t errmsg_len)
{
    memset(st, 0, sizeof *st);
    errmsg[0] = '\0';
    uint64_t height = 0;
    int rc = head_height(c, &height);
    if (rc) {
        snprintf(errmsg, errmsg_len, "read head: %s", chain_err_code(rc));
        return rc;
    }
    st->from_height = st->to_height = height;
    size_t npeers = 0;
    for (size_t i = 0; i < m->nnodes; i++)
        npeers += m->nodes[i].id != self_id && m->nodes[i].http_addr[0] != '\0';
    if (height < m->height && npeers == 0) {
        snprintf(errmsg, errmsg_len, "%llu blocks behind and no other node to fetch them from",
                 (unsigned long long)(m->height - height));
        return CHAIN_ERR_INVALID;
    }

    pthread_once(&curl_once, curl_init_once);
    CURL *h = height < m->height ? curl_easy_init() : NULL;
    if (height < m->height && !h) {
        snprintf(errmsg, errmsg_len, "curl: cannot initialise");
        return CHAIN_ERR_NOMEM;
    }
    body b;
    httpbody_init(&b, CATCHUP_RESP_MAX);
    unsigned pause = 100;
    size_t start = 0; /* the peer the next round begins with */
    while (height < m->height && rc == CHAIN_OK) {
        uint64_t round_start = height;
        for (size_t k = 0; k < m->nnodes && height < m->height; k++) {
            const chain_marker_node *p = &m->nodes[(start + k) % m->nnodes];
            if (p->id == self_id || p->http_addr[0] == '\0')
                continue;
            while (height < m->height && !atomic_load(stop)) {
                uint64_t want = m->height - height;
                if (want > CATCHUP_RANGE)
                    want = CATCHUP_RANGE;
                char why[384];
                int e = fetch(h, &b, p->http_addr, height + 1, want, stop, why, sizeof why)
                            ? CHAIN_ERR_INVALID
                            : replay_range(c, &b, &height, m->height, &st->blocks, why, sizeof why);
                if (e == CHAIN_ERR_STORAGE || e == CHAIN_ERR_NOMEM) {
                    snprintf(errmsg, errmsg_len, "replay: %s", why);
                    rc = e;
                    break;
                }
                if (e != CHAIN_OK) {
                    st->failures++;
                    if (!atomic_load(stop))
                        log_msg(LOG_LEVEL_WARN, "catch-up: node %llu: %s",
                                (unsigned long long)p->id, why);
                    start = (start + k + 1) % m->nnodes;
                    break; /* the next peer */
                }
                st->source = p->id;
                st->to_height = height;
                log_msg(LOG_LEVEL_DEBUG, "catch-up: height %llu of %llu (node %llu)",
                        (unsigned long long)height, (unsigned long long)m->height,
                        (unsigned long long)p->id);
            }
            if (rc != CHAIN_OK || atomic_load(stop))
                break;
        }
        if (rc != CHAIN_OK)
            break;
        if (atomic_load(stop)) {
            snprintf(errmsg, errmsg_len, "stopped at height %llu of %llu",
                     (unsigned long long)height, (unsigned long long)m->height);
            rc = CHAIN_ERR_INVALID;
            break;
        }
        if (height == round_start) {
            pause_ms(pause, stop);
            pause = pause * 2 > CATCHUP_BACKOFF_MS ? CATCHUP_BACKOFF_MS : pause * 2;
        } else {
            pause = 100;
        }
    }
    httpbody_free(&b);
    if (h)
        curl_easy_cleanup(h);
    st->to_height = height;
    if (rc != CHAIN_OK)
        return rc;
    char why[256];
    if ((rc = chain_marker_reach(c, m, why, sizeof why)) != CHAIN_OK)
        snprintf(errmsg, errmsg_len, "%s", why);
    return rc;
}
