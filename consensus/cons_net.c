/*
 * cons_net.c — nng pipeline sockets between consensus nodes.
 *
 * Pattern: every node listens with one pull0 socket; to talk to a peer it keeps
 * one push0 socket dialing that peer's address. Raft messages are one-way
 * (replies travel back on the replier's own push socket), so pipeline fits and
 * keeps each direction's queueing independent. nng's dialer reconnects by
 * itself; a push socket buffers CONS_NET_SENDBUF frames while a peer is away and
 * a non-blocking send drops the frame when that buffer is full.
 * Receiving is one nng aio kept in flight: its completion (recv_cb, on an nng
 * thread) decodes with cons_codec (bounded by NNG_OPT_RECVMAXSZ = CONS_MSG_MAX
 * before any decoding) and passes frames on through the callbacks, so a frame
 * reaches the consensus thread's queue with no thread of ours in between; a
 * garbage frame is counted and dropped, and so is a frame whose header names
 * another network's chain id (counted apart: the loop logs it).
 * The peer table is touched only by the consensus thread.
 */
#include "consensus/cons_net.h"
#include "log/log.h"

#include <nng/nng.h>
#include <nng/protocol/pipeline0/pull.h>
#include <nng/protocol/pipeline0/push.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CONS_NET_PEERS_MAX (2 * CONS_PEERS_MAX) /* dialers kept at once */
#define CONS_NET_SENDBUF   256                  /* frames buffered per peer */
#define CONS_NET_CLOSE_MS  5000                 /* longest wait for the sockets to close */

typedef struct net_peer {
    uint64_t id;
    char addr[CONS_ADDR_MAX];
    nng_socket sock;
    bool used;
} net_peer;

struct cons_net {
    uint64_t self_id;
    uint8_t chain[CONS_CHAIN_ID_LEN];
    nng_socket pull;
    nng_aio *aio; /* the one receive in flight (recv_cb) */
    cons_net_cbs cbs;
    net_peer peers[CONS_NET_PEERS_MAX];
    atomic_bool stopping;
    atomic_uint_fast64_t rx, rx_malformed, rx_other_chain, tx, tx_dropped;
    atomic_uint_fast64_t other_chain_head; /* first 8 bytes of the last foreign chain id */
    /* cons_net_close and its closer thread */
    pthread_mutex_t close_mu;
    pthread_cond_t close_cv;
    bool close_done, close_abandoned;
};

/* One received frame: decoded and handed on (a garbage frame is counted and dropped). */
static void deliver(cons_net *n, nng_msg *msg)
{
    atomic_fetch_add(&n->rx, 1);
    cons_wire *w = malloc(sizeof *w);
    if (!w) {
        nng_msg_free(msg);
        return;
    }
    int rv = cons_codec_decode(w, n->chain, nng_msg_body(msg), nng_msg_len(msg));
    if (rv != 0) {
        if (rv == CONS_CODEC_OTHER_CHAIN) {
            uint64_t head = 0;
            for (int i = 0; i < 8; i++)
                head = head << 8 | w->chain_id[i];
            atomic_store(&n->other_chain_head, head);
            atomic_fetch_add(&n->rx_other_chain, 1);
        } else {
            atomic_fetch_add(&n->rx_malformed, 1);
        }
        free(w);
        nng_msg_free(msg);
        return;
    }
    if (w->kind == CONS_KIND_FORWARD) {
        size_t pos = 0, len;
        const uint8_t *tx;
        while (cons_codec_forward_next(w, &pos, &tx, &len))
            n->cbs.tx(n->cbs.ctx, tx, len);
        free(w);
    } else {
        n->cbs.raft(n->cbs.ctx, w);
    }
    nng_msg_free(msg);
}

/* The receive aio's completion, on an nng thread: deliver and ask for the next
 * frame, until the socket closes or cons_net_close stops the aio. */
static void recv_cb(void *arg)
{
    cons_net *n = arg;
    int rv = nng_aio_result(n->aio);
    if (rv == 0)
        deliver(n, nng_aio_get_msg(n->aio));
    if (rv == NNG_ECLOSED || rv == NNG_ECANCELED || atomic_load(&n->stopping))
        return;
    nng_recv_aio(n->pull, n->aio);
}

int cons_net_open(cons_net **out, uint64_t self_id, const uint8_t *chain, const char *addr,
                  const cons_net_cbs *cbs, char *errmsg, size_t errmsg_len)
{
    cons_net *n = calloc(1, sizeof *n);
    int rv;
    if (!n) {
        snprintf(errmsg, errmsg_len, "out of memory");
        return CONS_ERR_NOMEM;
    }
    n->self_id = self_id;
    memcpy(n->chain, chain, CONS_CHAIN_ID_LEN);
    n->cbs = *cbs;
    if ((rv = nng_pull0_open(&n->pull)) != 0) {
        snprintf(errmsg, errmsg_len, "nng pull socket: %s", nng_strerror(rv));
        free(n);
        return CONS_ERR_NET;
    }
    if ((rv = nng_socket_set_size(n->pull, NNG_OPT_RECVMAXSZ, CONS_MSG_MAX)) != 0 ||
        (rv = nng_socket_set_int(n->pull, NNG_OPT_RECVBUF, 64)) != 0 ||
        (rv = nng_listen(n->pull, addr, NULL, 0)) != 0) {
        snprintf(errmsg, errmsg_len, "nng listen %s: %s", addr, nng_strerror(rv));
        nng_close(n->pull);
        free(n);
        return CONS_ERR_NET;
    }
    if ((rv = nng_aio_alloc(&n->aio, recv_cb, n)) != 0) {
        snprintf(errmsg, errmsg_len, "nng receive: %s", nng_strerror(rv));
        nng_close(n->pull);
        free(n);
        return CONS_ERR_NOMEM;
    }
    nng_aio_set_timeout(n->aio, NNG_DURATION_INFINITE);
    nng_recv_aio(n->pull, n->aio);
    *out = n;
    return CONS_OK;
}

/* The closing itself, on a thread of its own (see cons_net_close). */
static void *closer_main(void *arg)
{
    cons_net *n = arg;
    pthread_setname_np(pthread_self(), "cons-close");
    nng_aio_stop(n->aio); /* cancels the receive and waits out a running recv_cb */
    nng_close(n->pull);
    nng_aio_free(n->aio);
    for (int i = 0; i < CONS_NET_PEERS_MAX; i++)
        if (n->peers[i].used)
            nng_close(n->peers[i].sock);
    pthread_mutex_lock(&n->close_mu);
    bool waited = !n->close_abandoned;
    n->close_done = true;
    pthread_cond_signal(&n->close_cv);
    pthread_mutex_unlock(&n->close_mu);
    if (!waited) { /* cons_net_close gave up waiting: the closer frees */
        pthread_mutex_destroy(&n->close_mu);
        pthread_cond_destroy(&n->close_cv);
        free(n);
    }
    return NULL;
}

void cons_net_close(cons_net *n)
{
    if (!n)
        return;
    /* Stop the receive aio before closing its socket (nng 1.5.2 could leave
     * nng_close() waiting forever on a blocking nng_recvmsg() that raced with
     * it, seen under load; nng_aio_stop cancels and waits for the callback). The
     * closing runs on its own thread and is waited for CONS_NET_CLOSE_MS at
     * most: nng 1.5.2 can also hang in nng_close() on a TCP pipe that is
     * mid-way through receiving a frame (fixed upstream after 1.5.2), and a
     * stuck close must not keep a node from stopping. Nothing is lost by
     * leaving it: Raft and its disk state are closed before this. */
    atomic_store(&n->stopping, true);
    pthread_mutex_init(&n->close_mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&n->close_cv, &ca);
    pthread_condattr_destroy(&ca);
    pthread_t closer;
    if (pthread_create(&closer, NULL, closer_main, n) != 0) {
        n->close_abandoned = false;
        closer_main(n); /* no thread to spare: close here, unbounded */
    } else {
        pthread_detach(closer);
    }
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += CONS_NET_CLOSE_MS / 1000;
    pthread_mutex_lock(&n->close_mu);
    while (!n->close_done)
        if (pthread_cond_timedwait(&n->close_cv, &n->close_mu, &until) != 0)
            break;
    bool done = n->close_done;
    if (!done)
        n->close_abandoned = true;
    pthread_mutex_unlock(&n->close_mu);
    if (!done) {
        log_msg(LOG_LEVEL_WARN,
                "consensus: closing the network did not finish in %d ms (nng); "
                "leaving it to the process exit",
                CONS_NET_CLOSE_MS);
        return;
    }
    pthread_mutex_destroy(&n->close_mu);
    pthread_cond_destroy(&n->close_cv);
    free(n);
}

static net_peer *peer_get(cons_net *n, uint64_t id, const char *addr)
{
    net_peer *free_slot = NULL;
    for (int i = 0; i < CONS_NET_PEERS_MAX; i++) {
        net_peer *p = &n->peers[i];
        if (!p->used) {
            if (!free_slot)
                free_slot = p;
            continue;
        }
        if (p->id != id)
            continue;
        if (strcmp(p->addr, addr) == 0)
            return p;
        nng_close(p->sock); /* the peer moved: redial */
        p->used = false;
        free_slot = p;
        break;
    }
    if (!free_slot || strlen(addr) >= CONS_ADDR_MAX)
        return NULL;
    net_peer *p = free_slot;
    if (nng_push0_open(&p->sock) != 0)
        return NULL;
    nng_socket_set_int(p->sock, NNG_OPT_SENDBUF, CONS_NET_SENDBUF);
    nng_socket_set_ms(p->sock, NNG_OPT_RECONNMINT, 20);
    nng_socket_set_ms(p->sock, NNG_OPT_RECONNMAXT, 500);
    if (nng_dial(p->sock, addr, NULL, NNG_FLAG_NONBLOCK) != 0) {
        nng_close(p->sock);
        return NULL;
    }
    p->id = id;
    snprintf(p->addr, sizeof p->addr, "%s", addr);
    p->used = true;
    return p;
}

int cons_net_send(cons_net *n, uint64_t id, const char *addr, uint8_t *buf, size_t len)
{
    nng_msg *msg = NULL;
    net_peer *p = addr ? peer_get(n, id, addr) : NULL;
    if (!p || nng_msg_alloc(&msg, 0) != 0 || nng_msg_append(msg, buf, len) != 0) {
        if (msg)
            nng_msg_free(msg);
        free(buf);
        atomic_fetch_add(&n->tx_dropped, 1);
        return -1;
    }
    free(buf);
    if (nng_sendmsg(p->sock, msg, NNG_FLAG_NONBLOCK) != 0) {
        nng_msg_free(msg);
        atomic_fetch_add(&n->tx_dropped, 1);
        return -1;
    }
    atomic_fetch_add(&n->tx, 1);
    return 0;
}

void cons_net_forget(cons_net *n, uint64_t id)
{
    for (int i = 0; i < CONS_NET_PEERS_MAX; i++)
        if (n->peers[i].used && n->peers[i].id == id) {
            nng_close(n->peers[i].sock);
            n->peers[i].used = false;
        }
}

void cons_net_stats_get(cons_net *n, cons_net_stats *out)
{
    out->rx = atomic_load(&n->rx);
    out->rx_malformed = atomic_load(&n->rx_malformed);
    out->rx_other_chain = atomic_load(&n->rx_other_chain);
    out->other_chain_head = atomic_load(&n->other_chain_head);
    out->tx = atomic_load(&n->tx);
    out->tx_dropped = atomic_load(&n->tx_dropped);
}
