/*
 * cons_io.c — our struct raft_io: libraft's disk and network needs, served by
 * cons_store (LMDB) and cons_net (nng), all on the consensus thread.
 *
 * raft calls append/truncate/snapshot_put; each becomes a cons_disk_req in
 * arrival order. cons_io_flush(), run by the loop after every batch of raft
 * calls, writes ALL pending requests in one LMDB transaction (group commit,
 * one fsync), then fires their callbacks. Callbacks are never fired from
 * inside the raft call that queued them (raft's contract), and order is kept:
 * a truncate queued after an append is applied after it.
 * send() encodes the message at once (so raft may reuse its memory as soon as
 * the callback fires) and hands the frame to nng without blocking; its callback
 * also waits for the next flush. set_term / set_vote commit synchronously:
 * raft sends the vote only after they return.
 * close() marks the object CLOSING; the next flush fails whatever is still
 * queued with RAFT_CANCELED and then fires raft's close callback.
 */
#include "consensus/cons_int.h"
#include "log/log.h"

#include <assert.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <time.h>

#include "mono/mono.h"

uint64_t cons_now_us(void)
{
    return mono_us();
}

uint64_t cons_now_ms(void)
{
    return mono_ms();
}

static cons *io_cons(struct raft_io *io)
{
    return io->impl;
}

static void io_err(struct raft_io *io, const char *what, const char *detail)
{
    snprintf(io->errmsg, sizeof io->errmsg, "%s: %s", what, detail);
}

int cons_io_reserve(cons *c, size_t n)
{
    if (c->capdisk - c->ndisk >= n)
        return 0;
    size_t cap = c->capdisk ? 2 * c->capdisk : 16;
    while (cap - c->ndisk < n)
        cap *= 2;
    cons_disk_req *d = realloc(c->disk, cap * sizeof *d);
    if (!d)
        return RAFT_NOMEM;
    c->disk = d;
    c->capdisk = cap;
    return 0;
}

static int disk_push(cons *c, const cons_disk_req *r)
{
    int rv = cons_io_reserve(c, 1);
    if (rv)
        return rv;
    c->disk[c->ndisk++] = *r;
    return 0;
}

static int compl_push(cons *c, const cons_compl *x)
{
    if (c->ncompl == c->capcompl) {
        size_t cap = c->capcompl ? 2 * c->capcompl : 32;
        cons_compl *d = realloc(c->compl, cap * sizeof *d);
        if (!d)
            return RAFT_NOMEM;
        c->compl = d;
        c->capcompl = cap;
    }
    c->compl [c->ncompl++] = *x;
    return 0;
}

/* ---- raft_io methods ---------------------------------------------------------- */

static int io_init(struct raft_io *io, raft_id id, const char *address)
{
    (void)io;
    (void)id;
    (void)address;
    return 0;
}

static void io_close(struct raft_io *io, raft_io_close_cb cb)
{
    cons *c = io_cons(io);
    c->close_cb = cb;
    if (c->state != CONS_HALTED)
        c->state = CONS_CLOSING;
    c->tick_cb = NULL;
    c->recv_cb = NULL;
}

static int io_load(struct raft_io *io, raft_term *term, raft_id *voted_for,
                   struct raft_snapshot **snapshot, raft_index *start_index,
                   struct raft_entry *entries[], size_t *n_entries)
{
    cons *c = io_cons(io);
    int rv = cons_store_load(c->store, term, voted_for, snapshot, start_index, entries, n_entries);
    if (rv) {
        io_err(io, "load", cons_store_errmsg(c->store));
        return rv;
    }
    c->restore_index = *snapshot ? (*snapshot)->index : 0;
    return 0;
}

static int io_start(struct raft_io *io, unsigned msecs, raft_io_tick_cb tick, raft_io_recv_cb recv)
{
    cons *c = io_cons(io);
    c->tick_ms = msecs;
    c->tick_cb = tick;
    c->recv_cb = recv;
    c->next_tick_ms = cons_now_ms() + msecs;
    return 0;
}

static int io_bootstrap(struct raft_io *io, const struct raft_configuration *conf)
{
    cons *c = io_cons(io);
    int rv = cons_store_bootstrap(c->store, conf);
    if (rv)
        io_err(io, "bootstrap", cons_store_errmsg(c->store));
    return rv;
}

static int io_recover(struct raft_io *io, const struct raft_configuration *conf)
{
    (void)conf;
    io_err(io, "recover", "not supported by consensus/");
    return RAFT_INVALID;
}

static int io_set_term(struct raft_io *io, raft_term term)
{
    cons *c = io_cons(io);
    int rv = cons_store_set_term(c->store, term);
    if (rv) {
        io_err(io, "set term", cons_store_errmsg(c->store));
        cons_halt(c, "persist term", rv);
    }
    return rv;
}

static int io_set_vote(struct raft_io *io, raft_id id)
{
    cons *c = io_cons(io);
    int rv = cons_store_set_vote(c->store, id);
    if (rv) {
        io_err(io, "set vote", cons_store_errmsg(c->store));
        cons_halt(c, "persist vote", rv);
    }
    return rv;
}

static int io_send(struct raft_io *io, struct raft_io_send *req, const struct raft_message *m,
                   raft_io_send_cb cb)
{
    cons *c = io_cons(io);
    if (c->close_cb || c->state == CONS_CLOSING || c->state == CONS_CLOSED)
        return RAFT_CANCELED;
    uint8_t *buf;
    size_t len;
    int status = 0;
    struct raft_message fixed;
    m = cons_guard_install_term(&c->snap_seen, m, &fixed);
    if (cons_codec_encode_raft(&buf, &len, c->cfg.chain_id, c->cfg.id, c->addr, m) != 0)
        status = RAFT_NOCONNECTION; /* unencodable (too big): dropped like a lost frame */
    else if (cons_net_send(c->net, m->server_id, m->server_address, m->type, buf, len) != 0)
        status = RAFT_NOCONNECTION;
    cons_compl x = {.send = req, .send_cb = cb, .status = status};
    /* raft treats a failed send as fatal, so even an OOM here is reported late */
    if (compl_push(c, &x) != 0)
        cons_halt(c, "send queue", RAFT_NOMEM);
    return 0;
}

static int io_append(struct raft_io *io, struct raft_io_append *req,
                     const struct raft_entry entries[], unsigned n, raft_io_append_cb cb)
{
    cons *c = io_cons(io);
    cons_disk_req r = {
        .op = {.type = CONS_OP_APPEND, .append = {entries, n}}, .append = req, .append_cb = cb};
    return disk_push(c, &r);
}

static int io_truncate(struct raft_io *io, raft_index index)
{
    cons *c = io_cons(io);
    cons_disk_req r = {.op = {.type = CONS_OP_TRUNCATE, .truncate = {index}}};
    return disk_push(c, &r);
}

static int io_snapshot_put(struct raft_io *io, unsigned trailing, struct raft_io_snapshot_put *req,
                           const struct raft_snapshot *snapshot, raft_io_snapshot_put_cb cb)
{
    cons *c = io_cons(io);
    cons_disk_req r = {.op = {.type = CONS_OP_SNAPSHOT, .snapshot = {snapshot, trailing}},
                       .put = req,
                       .put_cb = cb};
    if (trailing == 0)
        c->restore_index = snapshot->index; /* installed from the leader: restored next */
    int rv = disk_push(c, &r);
    if (rv == 0)
        c->snapshot_puts++;
    return rv;
}

static int io_snapshot_get(struct raft_io *io, struct raft_io_snapshot_get *req,
                           raft_io_snapshot_get_cb cb)
{
    cons *c = io_cons(io);
    struct raft_snapshot *snap = NULL;
    int rv = cons_store_snapshot_get(c->store, &snap);
    if (rv == 0 && snap == NULL)
        rv = RAFT_NOTFOUND;
    if (rv) {
        io_err(io, "snapshot get", rv == RAFT_NOTFOUND ? "none" : cons_store_errmsg(c->store));
        return rv;
    }
    cons_guard_snapshot_loaded(&c->snap_seen, snap);
    cons_compl x = {.get = req, .get_cb = cb, .snap = snap};
    if (compl_push(c, &x) != 0) {
        cons_store_snapshot_free(snap);
        return RAFT_NOMEM;
    }
    return 0;
}

static raft_time io_time(struct raft_io *io)
{
    (void)io;
    return cons_now_ms();
}

static int io_random(struct raft_io *io, int min, int max)
{
    cons *c = io_cons(io);
    if (max <= min)
        return min;
    /* xorshift32: raft only needs spread for election timeouts */
    unsigned x = c->rand_state;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    c->rand_state = x ? x : 0x9e3779b9u;
    return min + (int)(x % (unsigned)(max - min));
}

/* raft_io.capacity: free disk space in KiB, saturated at 65535 (64 MiB). The
 * legacy layer refuses new entries (RAFT_NOSPACE) when a majority of voters
 * report less than 4 MiB, so a full disk stops proposals cluster-wide instead
 * of failing a write half-way. */
void cons_io_refresh_capacity(cons *c)
{
    struct statvfs vs;
    unsigned long long kib = 65535;
    if (statvfs(c->data_dir, &vs) == 0)
        kib = (unsigned long long)vs.f_bavail * vs.f_frsize / 1024u;
    c->io.capacity = (unsigned short)(kib > 65535 ? 65535 : kib);
}

void cons_io_setup(cons *c)
{
    struct raft_io *io = &c->io;
    memset(io, 0, sizeof *io);
    io->version = 1;
    io->impl = c;
    io->init = io_init;
    io->close = io_close;
    io->load = io_load;
    io->start = io_start;
    io->bootstrap = io_bootstrap;
    io->recover = io_recover;
    io->set_term = io_set_term;
    io->set_vote = io_set_vote;
    io->send = io_send;
    io->append = io_append;
    io->truncate = io_truncate;
    io->snapshot_put = io_snapshot_put;
    io->snapshot_get = io_snapshot_get;
    io->time = io_time;
    io->random = io_random;
    c->rand_state = (unsigned)(c->cfg.id * 2654435761u) ^ (unsigned)cons_now_us() ^ 1u;
    cons_io_refresh_capacity(c);
}

/* ---- completed client requests ------------------------------------------------ */

/* libraft 0.22 queues finished raft_apply/raft_barrier/raft_change/raft_transfer
 * requests on raft.legacy.requests and relies on its raft_io backend to fire
 * them between loop phases (its own backends call a function that the shared
 * library does not export). We drain that queue here, using only layouts that
 * raft.h declares public and ABI-frozen: the RAFT__REQUEST prefix (type, queue)
 * common to the four request structs and the void *[2] intrusive list. */
_Static_assert(RAFT_VERSION_MAJOR == 0 && RAFT_VERSION_MINOR == 22,
               "cons_raft_fire_completed depends on libraft 0.22's legacy request queue");
typedef void *cons_rq[2];
#define RQ_NEXT(q)        (*(cons_rq **)&((*(q))[0]))
#define RQ_PREV(q)        (*(cons_rq **)&((*(q))[1]))
#define RAFT_TRANSFER_REQ (RAFT_CHANGE + 1) /* libraft's internal type tag */

void cons_raft_fire_completed(struct raft *r)
{
    cons_rq *head = (cons_rq *)&r->legacy.requests;
    while (RQ_NEXT(head) != head) {
        cons_rq *q = RQ_NEXT(head);
        RQ_NEXT(RQ_PREV(q)) = RQ_NEXT(q);
        RQ_PREV(RQ_NEXT(q)) = RQ_PREV(q);
        struct raft_apply *req =
            (struct raft_apply *)(void *)((char *)q - offsetof(struct raft_apply, queue));
        switch (req->type) {
        case RAFT_COMMAND:
            req->cb(req, req->status, req->result);
            break;
        case RAFT_BARRIER: {
            struct raft_barrier *b = (struct raft_barrier *)(void *)req;
            b->cb(b, b->status);
            break;
        }
        case RAFT_CHANGE: {
            struct raft_change *ch = (struct raft_change *)(void *)req;
            ch->cb(ch, ch->status);
            break;
        }
        case RAFT_TRANSFER_REQ: {
            struct raft_transfer *t = (struct raft_transfer *)(void *)req;
            t->cb(t);
            break;
        }
        default:
            assert(!"unknown raft request type");
        }
    }
}

/* ---- flush -------------------------------------------------------------------- */

static void fire_disk(cons *c, cons_disk_req *d, size_t n, int status)
{
    for (size_t i = 0; i < n; i++) {
        if (d[i].append) {
            d[i].append_cb(d[i].append, status);
        } else if (d[i].put) {
            assert(c->snapshot_puts > 0);
            c->snapshot_puts--;
            d[i].put_cb(d[i].put, status);
        }
    }
}

void cons_io_flush(cons *c)
{
    bool cancel = c->state == CONS_CLOSING || c->state == CONS_CLOSED;
    for (int rounds = 0; c->ndisk || c->ncompl; rounds++) {
        if (c->state == CONS_HALTED && !c->close_cb)
            return; /* halted: raft is frozen until cons_stop closes it */
        cancel = cancel || c->state == CONS_CLOSING || c->state == CONS_HALTED;
        if (c->ndisk) {
            cons_disk_req *d = c->disk;
            size_t n = c->ndisk;
            c->disk = NULL;
            c->ndisk = c->capdisk = 0;
            int rv = 0;
            if (!cancel) {
                cons_store_op ops[256];
                for (size_t i = 0; i < n && !rv; i += 256) {
                    size_t k = n - i < 256 ? n - i : 256;
                    for (size_t j = 0; j < k; j++)
                        ops[j] = d[i + j].op;
                    rv = cons_store_write(c->store, ops, k);
                }
            }
            if (rv) {
                /* raft has no way to hear about a failed write: stop here. */
                cons_log_at(c, LOG_LEVEL_ERROR, "disk write: %s", cons_store_errmsg(c->store));
                cons_halt(c, "disk write", rv);
                c->disk = d; /* kept so that closing cancels them */
                c->ndisk = c->capdisk = n;
                return;
            }
            fire_disk(c, d, n, cancel ? RAFT_CANCELED : 0);
            free(d);
        }
        if (c->ncompl) {
            cons_compl *x = c->compl ;
            size_t n = c->ncompl;
            c->compl = NULL;
            c->ncompl = c->capcompl = 0;
            for (size_t i = 0; i < n; i++) {
                if (x[i].send)
                    x[i].send_cb(x[i].send, cancel ? RAFT_CANCELED : x[i].status);
                else
                    x[i].get_cb(x[i].get, x[i].snap, 0);
            }
            free(x);
        }
        if (c->state != CONS_CLOSED && c->raft_started)
            cons_raft_fire_completed(&c->raft);
    }
    if (c->state != CONS_CLOSED && c->raft_started)
        cons_raft_fire_completed(&c->raft);
    if ((c->state == CONS_CLOSING || (c->state == CONS_HALTED)) && c->close_cb) {
        raft_io_close_cb cb = c->close_cb;
        c->close_cb = NULL;
        c->state = CONS_CLOSED;
        cb(&c->io);
    }
}
