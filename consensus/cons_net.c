/*
 * cons_net.c — nng pipeline sockets between consensus nodes, over mutual TLS.
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
 *
 * TLS (model in cons_tls.h): the listener trusts the pinned certificates of
 * the current members, each dialer only its peer's. Every accepted pipe is
 * recorded (pipe_added, on nng's pipe-event thread) as unauthenticated; its
 * HELLO (hello_check) binds it to the sender's node id, after which only
 * frames naming that sender pass. cons_net_pins_set, on the consensus thread,
 * follows the ledger: when the pinned set changes it swaps the pins, closes
 * the pipes of keys no longer pinned, drops dialers whose peer's pin changed
 * and, when a key was added, rebuilds the listener (an nng TLS configuration
 * cannot change once used); it also reloads this node's own key file when
 * the file changes. Sockets and listeners it retires are closed on threads
 * of their own (close_later): nng 1.5.2 can block for good in such a close.
 * The peer table is touched only by the consensus thread; pins and pipes by
 * both, under pin_mu.
 *
 * Links are watched, not trusted (peers_watch): a request left without any
 * reply from its peer for CONS_NET_REPLY_MS gets that peer's dialer rebuilt,
 * and a peer that replaces a connection still open here gets it rebuilt too.
 * nng redials only connections it saw close, and nng 1.5.2 can stop seeing
 * that at all (peers_watch says why).
 */
#include "consensus/cons_net.h"
#include "consensus/cons_tls.h"
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

#include "mono/mono.h"

#define CONS_NET_PEERS_MAX (2 * CONS_PEERS_MAX) /* dialers kept at once */
#define CONS_NET_PIPES_MAX 64                   /* inbound connections at once */
#define CONS_NET_SENDBUF   256                  /* frames buffered per peer */
#define CONS_NET_CLOSE_MS  5000                 /* longest wait for the sockets to close */
/* the link watch (peers_watch) */
#define CONS_NET_REPLY_MS     3000  /* a request unanswered this long: the dialer is rebuilt */
#define CONS_NET_REPLY_MAX_MS 30000 /* that wait doubles up to this while the peer stays silent */
#define CONS_NET_IDLE_MS      1000  /* an inbound connection this quiet may be closed safely */
#define CONS_NET_WEDGED_MS    10000 /* no close finished for this long: nng is wedged */

typedef struct net_peer {
    uint64_t id;
    char addr[CONS_ADDR_MAX];
    nng_socket sock;
    uint8_t fp[32];        /* TLS: the pinned key this dialer trusts */
    atomic_bool hello_due; /* TLS: a new connection; send a HELLO first */
    atomic_uint_fast64_t connected_ms; /* its current connection's start (or the dialer's) */
    bool used;
    uint64_t asked_ms;    /* the first request sent since the last reply (0: none waits) */
    uint32_t patience_ms; /* how long a request may wait for a reply before the redial */
} net_peer;

/* The last reply (a vote or append result) heard from one node. */
typedef struct net_reply {
    uint64_t id, ms;
} net_reply;

/* An inbound connection: node 0 until its HELLO verifies. */
typedef struct net_pipe {
    uint32_t pipe;
    uint64_t node;
    uint8_t fp[32]; /* the pin its HELLO verified against */
    uint64_t rx_ms; /* its last frame taken (or its HELLO) */
    bool used;
} net_pipe;

struct cons_net {
    uint64_t self_id;
    uint8_t chain[CONS_CHAIN_ID_LEN];
    char addr[CONS_ADDR_MAX];
    nng_socket pull;
    nng_aio *aio; /* the one receive in flight (recv_cb) */
    cons_net_cbs cbs;
    net_peer peers[CONS_NET_PEERS_MAX];
    atomic_bool stopping;
    atomic_uint_fast64_t rx, rx_malformed, rx_other_chain, tx, tx_dropped;
    atomic_uint_fast64_t other_chain_head; /* first 8 bytes of the last foreign chain id */
    atomic_uint_fast64_t rx_unauth, rx_wrong_sender, hellos_ok, hellos_refused, pipes_closed;
    atomic_uint_fast64_t pin_changes, key_reloads, links_rebuilt;
    /* consensus thread: closes finished at the last look, and since when */
    uint64_t closes_seen, closes_seen_ms;
    bool closes_said;
    /* TLS (consensus thread, except as noted) */
    bool tls;
    char tls_file[4096];
    cons_tls_id self;
    nng_listener listener;
    bool listening;
    /* pins, inbound pipes and the replies heard (written by the receiving
     * nng thread): pin_mu */
    pthread_mutex_t pin_mu;
    cons_tls_pin pins[CONS_PEERS_MAX];
    size_t npins;
    net_pipe pipes[CONS_NET_PIPES_MAX];
    net_reply replies[CONS_NET_PEERS_MAX];
    uint64_t renewed[CONS_NET_PEERS_MAX]; /* nodes that replaced a connection still open here */
    /* cons_net_close and its closer thread */
    pthread_mutex_t close_mu;
    pthread_cond_t close_cv;
    bool close_done, close_abandoned;
};

static uint64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Closing an nng socket or listener can block for good in nng 1.5.2 when a
 * pipe is mid-way through a frame (seen with TLS pipes): a close asked for by
 * the consensus thread (a dialer dropped, the listener replaced) runs on a
 * detached thread of its own, so the worst case is a leaked thread, never a
 * stuck consensus thread. The handles are plain ids: closing one twice is
 * harmless (NNG_ECLOSED). */
typedef struct async_close {
    bool is_listener;
    nng_socket sock;
    nng_listener listener;
} async_close;

/* Closes asked for and finished, process-wide (nng's reaper is one per
 * process): a close that never finishes is how a wedged nng shows (peers_watch
 * says so once). */
static atomic_uint_fast64_t closes_begun, closes_done;

static void *async_close_main(void *arg)
{
    async_close *a = arg;
    pthread_setname_np(pthread_self(), "cons-nngclose");
    if (a->is_listener)
        nng_listener_close(a->listener);
    else
        nng_close(a->sock);
    free(a);
    atomic_fetch_add(&closes_done, 1);
    return NULL;
}

static void close_later(bool is_listener, nng_socket s, nng_listener l)
{
    async_close *a = malloc(sizeof *a);
    pthread_t t;
    pthread_attr_t at;
    if (a) {
        *a = (async_close){is_listener, s, l};
        pthread_attr_init(&at);
        pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
        atomic_fetch_add(&closes_begun, 1);
        bool started = pthread_create(&t, &at, async_close_main, a) == 0;
        pthread_attr_destroy(&at);
        if (started)
            return;
        atomic_fetch_add(&closes_done, 1);
        free(a);
    }
    if (is_listener) /* no thread to spare: close here */
        nng_listener_close(l);
    else
        nng_close(s);
}

/* pin_mu held */
static const cons_tls_pin *pin_find(const cons_net *n, uint64_t id)
{
    for (size_t i = 0; i < n->npins; i++)
        if (n->pins[i].id == id)
            return &n->pins[i];
    return NULL;
}

/* pin_mu held */
static net_pipe *pipe_find(cons_net *n, uint32_t pipe)
{
    for (int i = 0; i < CONS_NET_PIPES_MAX; i++)
        if (n->pipes[i].used && n->pipes[i].pipe == pipe)
            return &n->pipes[i];
    return NULL;
}

/* Pipe events of the pull socket (nng thread): record a new inbound
 * connection as unauthenticated, forget a closed one. */
static void pull_pipe_cb(nng_pipe p, nng_pipe_ev ev, void *arg)
{
    cons_net *n = arg;
    uint32_t id = (uint32_t)nng_pipe_id(p);
    bool full = false;
    pthread_mutex_lock(&n->pin_mu);
    net_pipe *s = pipe_find(n, id);
    if (ev == NNG_PIPE_EV_ADD_PRE && !s) {
        full = true;
        for (int i = 0; i < CONS_NET_PIPES_MAX && full; i++)
            if (!n->pipes[i].used) {
                n->pipes[i] = (net_pipe){.pipe = id, .used = true};
                full = false;
            }
    } else if (ev == NNG_PIPE_EV_REM_POST && s) {
        s->used = false;
    }
    pthread_mutex_unlock(&n->pin_mu);
    if (full) /* more connections than peers can explain: refuse this one */
        nng_pipe_close(p);
}

/* Dialer pipe events (nng thread): a new connection owes a HELLO. */
static void push_pipe_cb(nng_pipe p, nng_pipe_ev ev, void *arg)
{
    (void)p;
    net_peer *peer = arg;
    if (ev == NNG_PIPE_EV_ADD_POST) {
        atomic_store(&peer->connected_ms, mono_ms());
        atomic_store(&peer->hello_due, true);
    }
}

/* A HELLO on pipe p (nng thread): binds p to its sender when the signature
 * verifies against the sender's pinned key; otherwise the pipe is closed. */
static void hello_check(cons_net *n, nng_pipe p, const cons_wire *w)
{
    uint64_t now = wall_ms();
    uint64_t skew = now > w->hello_ts_ms ? now - w->hello_ts_ms : w->hello_ts_ms - now;
    bool ok = false;
    uint32_t stale[CONS_NET_PIPES_MAX];
    size_t nstale = 0;
    pthread_mutex_lock(&n->pin_mu);
    net_pipe *s = pipe_find(n, (uint32_t)nng_pipe_id(p));
    const cons_tls_pin *pin = pin_find(n, w->from_id);
    /* a second HELLO on a bound pipe is taken only from the same node */
    if (s && pin && (s->node == 0 || s->node == w->from_id) && w->hello_to == n->self_id &&
        skew <= CONS_HELLO_SKEW_MS &&
        cons_tls_hello_verify(pin, w->hello_sig, w->hello_sig_len, n->chain, w->from_id,
                              w->hello_to, w->hello_ts_ms)) {
        s->node = w->from_id;
        memcpy(s->fp, pin->fp, sizeof s->fp);
        s->rx_ms = mono_ms();
        ok = true;
        /* A peer keeps one connection to this node: an older one still open
         * here and quiet is one the peer gave up on (it stopped hearing this
         * node, or its side went without a word): closed, and this node's own
         * dialer to the peer is suspect too (peers_watch). One still busy is
         * left alone: closing a connection while a frame arrives on it can
         * wedge nng 1.5.2 (peers_watch), and the peer evidently still uses it. */
        for (int i = 0; i < CONS_NET_PIPES_MAX; i++)
            if (&n->pipes[i] != s && n->pipes[i].used && n->pipes[i].node == w->from_id &&
                s->rx_ms - n->pipes[i].rx_ms >= CONS_NET_IDLE_MS) {
                stale[nstale++] = n->pipes[i].pipe;
                n->pipes[i].used = false;
            }
        for (int i = 0; nstale && i < CONS_NET_PEERS_MAX; i++)
            if (n->renewed[i] == 0 || n->renewed[i] == w->from_id) {
                n->renewed[i] = w->from_id;
                break;
            }
    }
    pthread_mutex_unlock(&n->pin_mu);
    for (size_t i = 0; i < nstale; i++) {
        nng_pipe old = NNG_PIPE_INITIALIZER;
        old.id = stale[i];
        nng_pipe_close(old);
        atomic_fetch_add(&n->pipes_closed, 1);
    }
    if (ok) {
        atomic_fetch_add(&n->hellos_ok, 1);
    } else {
        atomic_fetch_add(&n->hellos_refused, 1);
        atomic_fetch_add(&n->pipes_closed, 1);
        nng_pipe_close(p);
    }
}

/* TLS: whether a decoded non-HELLO frame may pass: its pipe's HELLO verified
 * and named the frame's sender. A lying pipe is closed. */
static bool pipe_admits(cons_net *n, nng_pipe p, const cons_wire *w)
{
    pthread_mutex_lock(&n->pin_mu);
    net_pipe *s = pipe_find(n, (uint32_t)nng_pipe_id(p));
    uint64_t who = s ? s->node : 0;
    if (s && who == w->from_id && who != 0)
        s->rx_ms = mono_ms();
    pthread_mutex_unlock(&n->pin_mu);
    if (who == 0) {
        atomic_fetch_add(&n->rx_unauth, 1);
        return false;
    }
    if (who != w->from_id) {
        atomic_fetch_add(&n->rx_wrong_sender, 1);
        atomic_fetch_add(&n->pipes_closed, 1);
        nng_pipe_close(p);
        return false;
    }
    return true;
}

/* A reply from node id arrived now (nng thread): its link works both ways. */
static void reply_note(cons_net *n, uint64_t id)
{
    uint64_t now = mono_ms();
    pthread_mutex_lock(&n->pin_mu);
    net_reply *slot = NULL, *oldest = &n->replies[0];
    for (int i = 0; i < CONS_NET_PEERS_MAX && !slot; i++) {
        if (n->replies[i].id == id || n->replies[i].id == 0)
            slot = &n->replies[i];
        else if (n->replies[i].ms < oldest->ms)
            oldest = &n->replies[i];
    }
    if (!slot) /* more repliers than peers kept: the longest silent gives way */
        slot = oldest;
    *slot = (net_reply){id, now};
    pthread_mutex_unlock(&n->pin_mu);
}

/* When node id last replied (0: never). Consensus thread. */
static uint64_t reply_last(cons_net *n, uint64_t id)
{
    uint64_t ms = 0;
    pthread_mutex_lock(&n->pin_mu);
    for (int i = 0; i < CONS_NET_PEERS_MAX; i++)
        if (n->replies[i].id == id)
            ms = n->replies[i].ms;
    pthread_mutex_unlock(&n->pin_mu);
    return ms;
}

/* One received frame: decoded and handed on (a garbage frame is counted and dropped). */
static void deliver(cons_net *n, nng_msg *msg)
{
    atomic_fetch_add(&n->rx, 1);
    cons_wire *w = malloc(sizeof *w);
    if (!w) {
        nng_msg_free(msg);
        return;
    }
    nng_pipe pipe = nng_msg_get_pipe(msg);
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
        if (n->tls) { /* a pinned peer speaking garbage or another network: hang up */
            atomic_fetch_add(&n->pipes_closed, 1);
            nng_pipe_close(pipe);
        }
        free(w);
        nng_msg_free(msg);
        return;
    }
    if (w->kind == CONS_KIND_HELLO) {
        if (n->tls)
            hello_check(n, pipe, w);
        free(w);
    } else if (n->tls && !pipe_admits(n, pipe, w)) {
        cons_wire_release(w);
        free(w);
    } else if (w->kind == CONS_KIND_FORWARD) {
        size_t pos = 0, len;
        const uint8_t *tx;
        while (cons_codec_forward_next(w, &pos, &tx, &len))
            n->cbs.tx(n->cbs.ctx, tx, len);
        free(w);
    } else {
        if (w->kind == RAFT_APPEND_ENTRIES_RESULT || w->kind == RAFT_REQUEST_VOTE_RESULT)
            reply_note(n, w->from_id);
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

/* (Re)start the listener with a configuration trusting the current pins.
 * Closing the old listener closes the connections it accepted; peers redial
 * within CONS_NET reconnect times and say HELLO again. */
static int listen_start(cons_net *n, char *errmsg, size_t errmsg_len)
{
    if (n->listening) { /* the port is free once the old one closed: retried until then */
        close_later(true, (nng_socket)NNG_SOCKET_INITIALIZER, n->listener);
        n->listening = false;
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    nng_listener l = NNG_LISTENER_INITIALIZER;
    nng_tls_config *cfg = NULL;
    int rv = nng_listener_create(&l, n->pull, n->addr);
    if (rv == 0 && n->tls) {
        const cons_tls_pin *trust[CONS_PEERS_MAX];
        pthread_mutex_lock(&n->pin_mu);
        size_t k = 0;
        for (size_t i = 0; i < n->npins; i++)
            trust[k++] = &n->pins[i];
        rv = cons_tls_config(&cfg, NNG_TLS_MODE_SERVER, &n->self, trust, k);
        pthread_mutex_unlock(&n->pin_mu);
        if (rv == 0)
            rv = nng_listener_set_ptr(l, NNG_OPT_TLS_CONFIG, cfg);
        if (cfg)
            nng_tls_config_free(cfg); /* the listener holds its own reference */
    }
    if (rv == 0)
        rv = nng_listener_start(l, 0);
    if (rv != 0) {
        if (nng_listener_id(l) > 0)
            nng_listener_close(l); /* never started: nothing to wait for */
        snprintf(errmsg, errmsg_len, "nng listen %s: %s", n->addr, nng_strerror(rv));
        return CONS_ERR_NET;
    }
    n->listener = l;
    n->listening = true;
    return CONS_OK;
}

/* Replace the pins by peers' certificates (this node's own included: its key
 * is trusted on its own listener, as any member's);
 * returns true when the set of (id, key) changed, and sets *added when a key
 * not pinned before appeared (the listener must then learn to trust it).
 * Closes inbound pipes bound to a key no longer pinned for their node.
 * Consensus thread (or open). */
static bool pins_replace(cons_net *n, const cons_peer *peers, size_t np, bool *added)
{
    cons_tls_pin next[CONS_PEERS_MAX];
    size_t k = 0;
    for (size_t i = 0; i < np && k < CONS_PEERS_MAX; i++)
        if (peers[i].tls_len &&
            cons_tls_pin_make(&next[k], peers[i].id, peers[i].tls, peers[i].tls_len))
            k++;
    uint32_t doomed[CONS_NET_PIPES_MAX];
    size_t nd = 0;
    pthread_mutex_lock(&n->pin_mu);
    bool changed = k != n->npins;
    *added = false;
    for (size_t i = 0; i < k; i++) {
        bool known = false;
        for (size_t j = 0; j < n->npins && !known; j++)
            known = memcmp(n->pins[j].fp, next[i].fp, sizeof next[i].fp) == 0;
        const cons_tls_pin *o = pin_find(n, next[i].id);
        changed |= !o || memcmp(o->fp, next[i].fp, sizeof o->fp) != 0;
        *added |= !known;
    }
    if (changed) {
        for (size_t i = 0; i < n->npins; i++)
            cons_tls_pin_free(&n->pins[i]);
        memcpy(n->pins, next, k * sizeof next[0]);
        n->npins = k;
        for (int i = 0; i < CONS_NET_PIPES_MAX; i++) {
            net_pipe *s = &n->pipes[i];
            if (!s->used || s->node == 0)
                continue;
            const cons_tls_pin *pin = pin_find(n, s->node);
            if (!pin || memcmp(pin->fp, s->fp, sizeof s->fp) != 0) {
                doomed[nd++] = s->pipe;
                s->node = 0;
            }
        }
    }
    pthread_mutex_unlock(&n->pin_mu);
    if (!changed)
        for (size_t i = 0; i < k; i++)
            cons_tls_pin_free(&next[i]);
    for (size_t i = 0; i < nd; i++) {
        nng_pipe p = NNG_PIPE_INITIALIZER;
        p.id = doomed[i];
        nng_pipe_close(p);
        atomic_fetch_add(&n->pipes_closed, 1);
    }
    return changed;
}

int cons_net_open(cons_net **out, uint64_t self_id, const uint8_t *chain, const char *addr,
                  const char *tls_file, const cons_peer *pins, size_t npins,
                  const cons_net_cbs *cbs, char *errmsg, size_t errmsg_len)
{
    if (strlen(addr) >= CONS_ADDR_MAX || (tls_file && strlen(tls_file) >= 4096)) {
        snprintf(errmsg, errmsg_len, "address or key file name too long");
        return CONS_ERR_INVALID;
    }
    bool tls_addr = strncmp(addr, "tls+tcp://", 10) == 0;
    if (tls_file && !tls_addr) {
        snprintf(errmsg, errmsg_len, "%s: a TLS key is given, so the address must be tls+tcp://",
                 addr);
        return CONS_ERR_INVALID;
    }
    if (!tls_file && tls_addr) {
        snprintf(errmsg, errmsg_len, "%s: tls+tcp:// needs this node's TLS key file", addr);
        return CONS_ERR_INVALID;
    }
    cons_net *n = calloc(1, sizeof *n);
    int rv;
    if (!n) {
        snprintf(errmsg, errmsg_len, "out of memory");
        return CONS_ERR_NOMEM;
    }
    n->self_id = self_id;
    memcpy(n->chain, chain, CONS_CHAIN_ID_LEN);
    snprintf(n->addr, sizeof n->addr, "%s", addr);
    n->cbs = *cbs;
    pthread_mutex_init(&n->pin_mu, NULL);
    if (tls_file) {
        n->tls = true;
        snprintf(n->tls_file, sizeof n->tls_file, "%s", tls_file);
        if (cons_tls_id_load(&n->self, tls_file, errmsg, errmsg_len) != 0) {
            pthread_mutex_destroy(&n->pin_mu);
            free(n);
            return CONS_ERR_INVALID;
        }
        bool added;
        (void)pins_replace(n, pins, npins, &added);
    }
    if ((rv = nng_pull0_open(&n->pull)) != 0) {
        snprintf(errmsg, errmsg_len, "nng pull socket: %s", nng_strerror(rv));
        goto fail;
    }
    if (n->tls && ((rv = nng_pipe_notify(n->pull, NNG_PIPE_EV_ADD_PRE, pull_pipe_cb, n)) != 0 ||
                   (rv = nng_pipe_notify(n->pull, NNG_PIPE_EV_REM_POST, pull_pipe_cb, n)) != 0)) {
        snprintf(errmsg, errmsg_len, "nng pipe events: %s", nng_strerror(rv));
        nng_close(n->pull);
        goto fail;
    }
    if ((rv = nng_socket_set_size(n->pull, NNG_OPT_RECVMAXSZ, CONS_MSG_MAX)) != 0 ||
        (rv = nng_socket_set_int(n->pull, NNG_OPT_RECVBUF, 64)) != 0) {
        snprintf(errmsg, errmsg_len, "nng listen %s: %s", addr, nng_strerror(rv));
        nng_close(n->pull);
        goto fail;
    }
    if ((rv = listen_start(n, errmsg, errmsg_len)) != 0) {
        nng_close(n->pull);
        goto fail;
    }
    if ((rv = nng_aio_alloc(&n->aio, recv_cb, n)) != 0) {
        snprintf(errmsg, errmsg_len, "nng receive: %s", nng_strerror(rv));
        nng_close(n->pull);
        goto fail;
    }
    nng_aio_set_timeout(n->aio, NNG_DURATION_INFINITE);
    nng_recv_aio(n->pull, n->aio);
    *out = n;
    return CONS_OK;
fail:
    for (size_t i = 0; i < n->npins; i++)
        cons_tls_pin_free(&n->pins[i]);
    cons_tls_id_free(&n->self);
    pthread_mutex_destroy(&n->pin_mu);
    free(n);
    return CONS_ERR_NET;
}

/* The closing itself, on a thread of its own (see cons_net_close). */
static void *closer_main(void *arg)
{
    cons_net *n = arg;
    pthread_setname_np(pthread_self(), "cons-close");
    nng_close(n->pull);
    nng_aio_free(n->aio);
    for (int i = 0; i < CONS_NET_PEERS_MAX; i++)
        if (n->peers[i].used)
            nng_close(n->peers[i].sock);
    for (size_t i = 0; i < n->npins; i++)
        cons_tls_pin_free(&n->pins[i]);
    cons_tls_id_free(&n->self);
    /* A listener or dialer retired earlier may still be closing on its own
     * thread (close_later): the process usually ends right after this, and
     * an nng object caught mid-close then is memory never given back (seen as
     * a leak of the first listener by LeakSanitizer). Waited for here, within
     * cons_net_close's bound; a wedged nng never lets it finish. */
    while (atomic_load(&closes_done) != atomic_load(&closes_begun)) {
        struct timespec ts = {0, 5 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    pthread_mutex_lock(&n->close_mu);
    bool waited = !n->close_abandoned;
    n->close_done = true;
    pthread_cond_signal(&n->close_cv);
    pthread_mutex_unlock(&n->close_mu);
    if (!waited) { /* cons_net_close gave up waiting: the closer frees */
        pthread_mutex_destroy(&n->close_mu);
        pthread_cond_destroy(&n->close_cv);
        pthread_mutex_destroy(&n->pin_mu);
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
    /* Here, not on the closer: once this returns, recv_cb can no longer call
     * into consensus, whose state the caller frees next even when the closer
     * below is abandoned (a recv_cb running past that free was a use after
     * free, seen by ThreadSanitizer). nng_aio_stop cancels the receive and
     * waits out a running recv_cb, which only queues a frame. */
    nng_aio_stop(n->aio);
    if (mono_cond_init(&n->close_cv) != 0) {
        fprintf(stderr, "consensus: closing the network: no condition variable; "
                        "leaving it to the process exit\n");
        return;
    }
    pthread_mutex_init(&n->close_mu, NULL);
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
    pthread_mutex_destroy(&n->pin_mu);
    free(n);
}

static void peer_drop(net_peer *p)
{
    close_later(false, p->sock, (nng_listener)NNG_LISTENER_INITIALIZER);
    p->used = false;
}

/* The dialer to (id, addr), made when missing. Consensus thread: the pins
 * are written only by this thread, so reading them here needs no lock. */
static net_peer *peer_get(cons_net *n, uint64_t id, const char *addr)
{
    net_peer *free_slot = NULL;
    const cons_tls_pin *pin = NULL;
    if (n->tls) {
        pin = pin_find(n, id);
        if (!pin || !pin->key || strncmp(addr, "tls+tcp://", 10) != 0)
            return NULL; /* no pinned key: no link */
    }
    for (int i = 0; i < CONS_NET_PEERS_MAX; i++) {
        net_peer *p = &n->peers[i];
        if (!p->used) {
            if (!free_slot)
                free_slot = p;
            continue;
        }
        if (p->id != id)
            continue;
        if (strcmp(p->addr, addr) == 0 && (!pin || memcmp(p->fp, pin->fp, sizeof p->fp) == 0))
            return p;
        peer_drop(p); /* the peer moved or its key changed: redial */
        free_slot = p;
        break;
    }
    net_peer *p = free_slot;
    nng_dialer d;
    nng_tls_config *cfg = NULL;
    if (!p || strlen(addr) >= CONS_ADDR_MAX || nng_push0_open(&p->sock) != 0)
        return NULL;
    const cons_tls_pin *trust[1] = {pin};
    atomic_store(&p->hello_due, false);
    nng_socket_set_int(p->sock, NNG_OPT_SENDBUF, CONS_NET_SENDBUF);
    nng_socket_set_ms(p->sock, NNG_OPT_RECONNMINT, 20);
    nng_socket_set_ms(p->sock, NNG_OPT_RECONNMAXT, 500);
    int rv = nng_dialer_create(&d, p->sock, addr);
    if (rv == 0 && n->tls) {
        rv = nng_pipe_notify(p->sock, NNG_PIPE_EV_ADD_POST, push_pipe_cb, p);
        if (rv == 0)
            rv = cons_tls_config(&cfg, NNG_TLS_MODE_CLIENT, &n->self, trust, 1);
        if (rv == 0)
            rv = nng_dialer_set_ptr(d, NNG_OPT_TLS_CONFIG, cfg);
        if (cfg)
            nng_tls_config_free(cfg);
    }
    if (rv == 0)
        rv = nng_dialer_start(d, NNG_FLAG_NONBLOCK);
    if (rv != 0) {
        nng_close(p->sock);
        return NULL;
    }
    p->id = id;
    snprintf(p->addr, sizeof p->addr, "%s", addr);
    if (pin)
        memcpy(p->fp, pin->fp, sizeof p->fp);
    p->asked_ms = 0;
    p->patience_ms = CONS_NET_REPLY_MS;
    atomic_store(&p->connected_ms, mono_ms());
    p->used = true;
    return p;
}

/* Queue one frame on p; buf is taken. */
static int peer_put(cons_net *n, net_peer *p, uint8_t *buf, size_t len)
{
    nng_msg *msg = NULL;
    if (nng_msg_alloc(&msg, 0) != 0 || nng_msg_append(msg, buf, len) != 0) {
        if (msg)
            nng_msg_free(msg);
        free(buf);
        return -1;
    }
    free(buf);
    if (nng_sendmsg(p->sock, msg, NNG_FLAG_NONBLOCK) != 0) {
        nng_msg_free(msg);
        return -1;
    }
    (void)n;
    return 0;
}

/* A HELLO to p on its new connection, ahead of the frame that is being sent.
 * Frames queued while the peer was away may reach it before the HELLO: the
 * peer drops them (raft resends). */
static void hello_send(cons_net *n, net_peer *p)
{
    uint8_t sig[CONS_HELLO_SIG_MAX], *buf;
    size_t len;
    uint64_t ts = wall_ms();
    size_t sl = cons_tls_hello_sign(&n->self, sig, n->chain, n->self_id, p->id, ts);
    if (sl == 0 ||
        cons_codec_encode_hello(&buf, &len, n->chain, n->self_id, n->addr, p->id, ts, sig, sl) !=
            0 ||
        peer_put(n, p, buf, len) != 0)
        atomic_store(&p->hello_due, true); /* try again with the next frame */
}

int cons_net_send(cons_net *n, uint64_t id, const char *addr, int kind, uint8_t *buf, size_t len)
{
    net_peer *p = addr ? peer_get(n, id, addr) : NULL;
    if (!p) {
        free(buf);
        atomic_fetch_add(&n->tx_dropped, 1);
        return -1;
    }
    if (n->tls && atomic_exchange(&p->hello_due, false))
        hello_send(n, p);
    bool asks =
        kind == RAFT_APPEND_ENTRIES || kind == RAFT_REQUEST_VOTE || kind == RAFT_INSTALL_SNAPSHOT;
    if (asks && p->asked_ms == 0)
        p->asked_ms = mono_ms();
    if (peer_put(n, p, buf, len) != 0) {
        atomic_fetch_add(&n->tx_dropped, 1);
        return -1;
    }
    atomic_fetch_add(&n->tx, 1);
    return 0;
}

/* Rebuild the dialer of a peer that stopped replying. nng redials a
 * connection the far end closed, but only once the closed connection has been
 * reaped, and nng 1.5.2 can wedge its one reaper thread for good when a
 * connection is closed here while a frame is arriving on it (a listener
 * restart closes every inbound one): from then on no closed connection of
 * the process is redialled, so a peer whose listener restarted never hears
 * this node again. Nor does nng notice a connection the far end lost without
 * closing it. A request (append, vote, snapshot) that gets no reply from the
 * peer within patience_ms is the sign either way; a new socket needs no reaper
 * to connect. The wait doubles while the peer stays silent (a peer that is
 * down costs one socket per CONS_NET_REPLY_MAX_MS) and is reset by a reply. */
static void peer_rebuild(cons_net *n, net_peer *p, uint32_t patience)
{
    uint64_t id = p->id;
    char addr[CONS_ADDR_MAX];
    snprintf(addr, sizeof addr, "%s", p->addr);
    peer_drop(p);
    net_peer *q = peer_get(n, id, addr);
    if (q)
        q->patience_ms = patience;
    atomic_fetch_add(&n->links_rebuilt, 1);
}

/* Says once when closes are pending and none has finished for CONS_NET_WEDGED_MS: nng is
 * wedged (see peers_watch), links are rebuilt by hand from then on and every
 * retired socket stays open until the process ends. */
static void closes_watch(cons_net *n, uint64_t now)
{
    uint64_t done = atomic_load(&closes_done), pending = atomic_load(&closes_begun) - done;
    if (pending == 0 || done != n->closes_seen) { /* none pending, or closes still finish */
        n->closes_seen = done;
        n->closes_seen_ms = now;
        return;
    }
    if (!n->closes_said && now - n->closes_seen_ms >= CONS_NET_WEDGED_MS) {
        n->closes_said = true;
        log_msg(LOG_LEVEL_WARN,
                "consensus: %llu connection close(s) have not finished in %d s: nng is wedged "
                "(a known fault of nng 1.5.2); links are still rebuilt when a peer goes "
                "silent, but retired sockets stay open until the node restarts",
                (unsigned long long)pending, CONS_NET_WEDGED_MS / 1000);
    }
}

static void peers_watch(cons_net *n)
{
    uint64_t now = mono_ms();
    closes_watch(n, now);
    uint64_t renewed[CONS_NET_PEERS_MAX];
    pthread_mutex_lock(&n->pin_mu);
    memcpy(renewed, n->renewed, sizeof renewed);
    memset(n->renewed, 0, sizeof n->renewed);
    pthread_mutex_unlock(&n->pin_mu);
    /* A peer that replaced its connection to this node may no longer hear
     * this node either: its dialer is rebuilt unless it connected lately (the
     * peer then sees this node's new connection arrive while its own is new,
     * so the two do not keep renewing each other). */
    for (int k = 0; k < CONS_NET_PEERS_MAX && renewed[k]; k++)
        for (int i = 0; i < CONS_NET_PEERS_MAX; i++) {
            net_peer *p = &n->peers[i];
            if (!p->used || p->id != renewed[k] ||
                now - atomic_load(&p->connected_ms) < CONS_NET_REPLY_MS)
                continue;
            log_msg(LOG_LEVEL_INFO,
                    "consensus: node %llu opened a new connection while its last one was "
                    "still open here: this node's connection to it is rebuilt too",
                    (unsigned long long)p->id);
            peer_rebuild(n, p, p->patience_ms);
        }
    for (int i = 0; i < CONS_NET_PEERS_MAX; i++) {
        net_peer *p = &n->peers[i];
        if (!p->used || p->asked_ms == 0)
            continue;
        if (reply_last(n, p->id) >= p->asked_ms) {
            p->asked_ms = 0;
            p->patience_ms = CONS_NET_REPLY_MS;
            continue;
        }
        if (now - p->asked_ms < p->patience_ms)
            continue;
        uint64_t id = p->id;
        uint32_t waited = (uint32_t)(now - p->asked_ms), patience = p->patience_ms;
        /* the redial asks afresh, with twice the patience */
        peer_rebuild(n, p,
                     patience * 2 < CONS_NET_REPLY_MAX_MS ? patience * 2 : CONS_NET_REPLY_MAX_MS);
        log_msg(patience == CONS_NET_REPLY_MS ? LOG_LEVEL_WARN : LOG_LEVEL_INFO,
                "consensus: node %llu sent no reply for %u ms to what this node sent it: "
                "its connection is rebuilt",
                (unsigned long long)id, waited);
    }
}

void cons_net_tick(cons_net *n, const cons_peer *members, size_t np)
{
    peers_watch(n);
    if (!n->tls)
        return;
    for (size_t i = 0; i < np; i++) {
        if (members[i].id == n->self_id)
            continue;
        net_peer *p = peer_get(n, members[i].id, members[i].addr);
        if (p && atomic_exchange(&p->hello_due, false))
            hello_send(n, p);
    }
}

void cons_net_forget(cons_net *n, uint64_t id)
{
    for (int i = 0; i < CONS_NET_PEERS_MAX; i++)
        if (n->peers[i].used && n->peers[i].id == id)
            peer_drop(&n->peers[i]);
}

int cons_net_pins_set(cons_net *n, const cons_peer *peers, size_t np, char *errmsg,
                      size_t errmsg_len)
{
    if (!n->tls)
        return 0;
    int what = 0;
    if (cons_tls_id_changed(&n->self, n->tls_file)) {
        cons_tls_id next;
        if (cons_tls_id_load(&next, n->tls_file, errmsg, errmsg_len) != 0) {
            what |= CONS_NET_KEY_BAD;
        } else if (memcmp(next.fp, n->self.fp, sizeof next.fp) == 0) {
            cons_tls_id_free(&n->self); /* the same key, file rewritten */
            n->self = next;
        } else {
            cons_tls_id_free(&n->self);
            n->self = next;
            what |= CONS_NET_KEY_RELOADED;
            atomic_fetch_add(&n->key_reloads, 1);
        }
    }
    bool added = false;
    bool changed = np > 0 && pins_replace(n, peers, np, &added);
    if (changed) {
        what |= CONS_NET_PINS_CHANGED;
        atomic_fetch_add(&n->pin_changes, 1);
    }
    /* The listener is restarted only when it must trust a new key (node.add,
     * node.rotate) or present a new one of its own: a restart drops every
     * inbound connection (peers redial at once, but a leader may miss a
     * heartbeat round). A key that is only retired (node.remove) loses its
     * connections and HELLOs above and keeps no more than the ability to
     * finish a handshake, until the next restart. */
    if (changed || (what & CONS_NET_KEY_RELOADED) || !n->listening) {
        for (int i = 0; i < CONS_NET_PEERS_MAX; i++)
            if (n->peers[i].used) {
                bool keep = !(what & CONS_NET_KEY_RELOADED);
                if (keep) {
                    pthread_mutex_lock(&n->pin_mu);
                    const cons_tls_pin *pin = pin_find(n, n->peers[i].id);
                    keep = pin && memcmp(pin->fp, n->peers[i].fp, 32) == 0;
                    pthread_mutex_unlock(&n->pin_mu);
                }
                if (!keep)
                    peer_drop(&n->peers[i]);
            }
        char e[256];
        if ((added || (what & CONS_NET_KEY_RELOADED) || !n->listening)) {
            if (listen_start(n, e, sizeof e) != 0) {
                snprintf(errmsg, errmsg_len, "%s (retrying)", e);
                what |= CONS_NET_LISTEN_FAILED;
            } else {
                what |= CONS_NET_LISTENER_RESTARTED;
            }
        }
    }
    return what;
}

bool cons_net_self_pinned(cons_net *n, const cons_peer *peers, size_t np)
{
    if (!n->tls)
        return true;
    cons_tls_pin pin;
    for (size_t i = 0; i < np; i++)
        if (peers[i].id == n->self_id) {
            bool ok = cons_tls_pin_make(&pin, peers[i].id, peers[i].tls, peers[i].tls_len) &&
                      memcmp(pin.fp, n->self.fp, sizeof pin.fp) == 0;
            cons_tls_pin_free(&pin);
            return ok;
        }
    return true; /* not a member (yet): nothing to compare */
}

void cons_net_stats_get(cons_net *n, cons_net_stats *out)
{
    out->rx = atomic_load(&n->rx);
    out->rx_malformed = atomic_load(&n->rx_malformed);
    out->rx_other_chain = atomic_load(&n->rx_other_chain);
    out->other_chain_head = atomic_load(&n->other_chain_head);
    out->tx = atomic_load(&n->tx);
    out->tx_dropped = atomic_load(&n->tx_dropped);
    out->tls = n->tls;
    out->rx_unauth = atomic_load(&n->rx_unauth);
    out->rx_wrong_sender = atomic_load(&n->rx_wrong_sender);
    out->hellos_ok = atomic_load(&n->hellos_ok);
    out->hellos_refused = atomic_load(&n->hellos_refused);
    out->pipes_closed = atomic_load(&n->pipes_closed);
    out->pin_changes = atomic_load(&n->pin_changes);
    out->key_reloads = atomic_load(&n->key_reloads);
    out->links_rebuilt = atomic_load(&n->links_rebuilt);
}
