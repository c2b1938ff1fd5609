/*
 * cons_store.c — raft's durable state in LMDB: term, vote, log entries and the
 * latest snapshot, in one environment under data_dir/raft.
 *
 * Layout (two named databases):
 *   "log"  key = index as 8 bytes big-endian (so LMDB order = log order)
 *          val = term u64le | type u8 | entry data
 *   "meta" "term" u64le, "vote" u64le,
 *          "snap" = index u64le | term u64le | conf_index u64le | conf_len u32le |
 *                   conf (raft_configuration_encode) | snapshot data
 * The snapshot lives in LMDB, not a side file, so installing one and dropping the
 * log it replaces is a single atomic commit. cons_store_write() runs a batch of
 * appends / truncations / snapshot puts in one write transaction: the group
 * commit that lets one fsync cover everything raft asked for in a loop iteration.
 * last_index is cached in memory and only updated after a commit succeeds.
 */
#include "consensus/cons_store.h"
#include "consensus/cons_codec.h"

#include <lmdb.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define STORE_MAP_SIZE ((size_t)16 << 30)   /* sparse; bounds the log + one snapshot */
#define ENTRY_HDR      9                    /* term u64 + type u8 */
#define SNAP_HDR       28                   /* index, term, conf_index u64 + conf_len u32 */
#define STORE_AHEAD    ((uint64_t)64 << 20) /* prepare_pages: pages cached one by one */

struct cons_store {
    MDB_env *env;
    MDB_dbi log, meta;
    raft_index last_index;
    char errmsg[256];
};

static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
static uint64_t get64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}
static void key_of(uint8_t k[8], raft_index index)
{
    for (int i = 0; i < 8; i++)
        k[i] = (uint8_t)(index >> (8 * (7 - i)));
}
static raft_index index_of(const MDB_val *k)
{
    raft_index v = 0;
    const uint8_t *p = k->mv_data;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | p[i];
    return v;
}

static int fail(cons_store *s, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(cons_store *s, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->errmsg, sizeof s->errmsg, fmt, ap);
    va_end(ap);
    return code;
}

static int lmdb_fail(cons_store *s, const char *what, int rc)
{
    return fail(s, rc == ENOMEM ? RAFT_NOMEM : (rc == MDB_MAP_FULL ? RAFT_NOSPACE : RAFT_IOERR),
                "lmdb %s: %s", what, mdb_strerror(rc));
}

const char *cons_store_errmsg(const cons_store *s)
{
    return s->errmsg;
}

raft_index cons_store_last_index(const cons_store *s)
{
    return s->last_index;
}

static int meta_get64(cons_store *s, MDB_txn *txn, const char *name, uint64_t *v)
{
    MDB_val k = {strlen(name), (void *)name}, d;
    int rc = mdb_get(txn, s->meta, &k, &d);
    if (rc == MDB_NOTFOUND) {
        *v = 0;
        return 0;
    }
    if (rc != 0)
        return lmdb_fail(s, name, rc);
    if (d.mv_size != 8)
        return fail(s, RAFT_CORRUPT, "meta %s: %zu bytes", name, d.mv_size);
    *v = get64(d.mv_data);
    return 0;
}

static int meta_put64(cons_store *s, MDB_txn *txn, const char *name, uint64_t v)
{
    uint8_t b[8];
    put64(b, v);
    MDB_val k = {strlen(name), (void *)name}, d = {8, b};
    int rc = mdb_put(txn, s->meta, &k, &d, 0);
    return rc ? lmdb_fail(s, name, rc) : 0;
}

/* Snapshot header fields, validated against the value's size. */
typedef struct snap_hdr {
    raft_index index;
    raft_term term;
    raft_index conf_index;
    const uint8_t *conf;
    size_t conf_len;
    const uint8_t *data;
    size_t data_len;
} snap_hdr;

static int snap_parse(cons_store *s, const MDB_val *v, snap_hdr *h)
{
    const uint8_t *p = v->mv_data;
    if (v->mv_size < SNAP_HDR)
        return fail(s, RAFT_CORRUPT, "snapshot: %zu bytes", v->mv_size);
    h->index = get64(p);
    h->term = get64(p + 8);
    h->conf_index = get64(p + 16);
    h->conf_len = (size_t)p[24] | (size_t)p[25] << 8 | (size_t)p[26] << 16 | (size_t)p[27] << 24;
    if (h->conf_len == 0 || h->conf_len > v->mv_size - SNAP_HDR || h->index == 0)
        return fail(s, RAFT_CORRUPT, "snapshot: bad header");
    h->conf = p + SNAP_HDR;
    h->data = h->conf + h->conf_len;
    h->data_len = v->mv_size - SNAP_HDR - h->conf_len;
    return 0;
}

/* Last index in the log, else the snapshot's, else 0. */
static int scan_last(cons_store *s, MDB_txn *txn, raft_index *out)
{
    MDB_cursor *cur;
    MDB_val k, v;
    int rc = mdb_cursor_open(txn, s->log, &cur);
    if (rc)
        return lmdb_fail(s, "cursor", rc);
    rc = mdb_cursor_get(cur, &k, &v, MDB_LAST);
    mdb_cursor_close(cur);
    if (rc == 0) {
        if (k.mv_size != 8)
            return fail(s, RAFT_CORRUPT, "log key of %zu bytes", k.mv_size);
        *out = index_of(&k);
        return 0;
    }
    if (rc != MDB_NOTFOUND)
        return lmdb_fail(s, "log last", rc);
    MDB_val sk = {4, "snap"};
    rc = mdb_get(txn, s->meta, &sk, &v);
    if (rc == MDB_NOTFOUND) {
        *out = 0;
        return 0;
    }
    if (rc)
        return lmdb_fail(s, "snap", rc);
    snap_hdr h;
    int rv = snap_parse(s, &v, &h);
    if (rv)
        return rv;
    *out = h.index;
    return 0;
}

/*
 * Before anything writes (no other writer can be extending the file): grows
 * the file, sparse, to STORE_AHEAD past LMDB's last page and reads each of
 * those pages once, 4 KiB at a time without readahead, so the page cache
 * holds them as single pages. LMDB writes runs of new pages with one writev,
 * which the kernel (6.16 on, ext4) would otherwise cache as one large folio,
 * and every later rewrite of one page in it costs the fsync the whole folio.
 * The log is compacted at each snapshot, so it mostly reuses these pages.
 * The node does the same, continuously, for the ledger (chain_storage_prepare).
 * Best effort: a failure only costs speed.
 */
static void prepare_pages(cons_store *s, const char *dir)
{
    char path[4096];
    MDB_envinfo info;
    MDB_stat st;
    struct stat fs;
    if ((size_t)snprintf(path, sizeof path, "%s/data.mdb", dir) >= sizeof path ||
        mdb_env_info(s->env, &info) != 0 || mdb_env_stat(s->env, &st) != 0)
        return;
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return;
    uint64_t used = ((uint64_t)info.me_last_pgno + 1) * st.ms_psize, end = used + STORE_AHEAD;
    uint8_t page[4096];
    if (posix_fadvise(fd, 0, 0, POSIX_FADV_RANDOM) == 0 && fstat(fd, &fs) == 0 &&
        ((uint64_t)fs.st_size >= end || ftruncate(fd, (off_t)end) == 0))
        for (uint64_t off = used; off < end; off += sizeof page)
            if (pread(fd, page, sizeof page, (off_t)off) < 0)
                break;
    close(fd);
}

int cons_store_open(cons_store **out, const char *dir, char *errmsg, size_t errmsg_len)
{
    cons_store *s = calloc(1, sizeof *s);
    MDB_txn *txn = NULL;
    int rc;
    if (!s) {
        snprintf(errmsg, errmsg_len, "out of memory");
        return RAFT_NOMEM;
    }
    if ((rc = mdb_env_create(&s->env)) != 0 || (rc = mdb_env_set_maxdbs(s->env, 4)) != 0 ||
        (rc = mdb_env_set_mapsize(s->env, STORE_MAP_SIZE)) != 0 ||
        (rc = mdb_env_open(s->env, dir, MDB_NOTLS, 0600)) != 0)
        goto lmdb_err;
    prepare_pages(s, dir);
    if ((rc = mdb_txn_begin(s->env, NULL, 0, &txn)) != 0 ||
        (rc = mdb_dbi_open(txn, "log", MDB_CREATE, &s->log)) != 0 ||
        (rc = mdb_dbi_open(txn, "meta", MDB_CREATE, &s->meta)) != 0)
        goto lmdb_err;
    int rv = scan_last(s, txn, &s->last_index);
    if (rv) {
        snprintf(errmsg, errmsg_len, "%s: %s", dir, s->errmsg);
        mdb_txn_abort(txn);
        mdb_env_close(s->env);
        free(s);
        return rv;
    }
    if ((rc = mdb_txn_commit(txn)) != 0) {
        txn = NULL;
        goto lmdb_err;
    }
    *out = s;
    return 0;
lmdb_err:
    snprintf(errmsg, errmsg_len, "lmdb open %s: %s", dir, mdb_strerror(rc));
    if (txn)
        mdb_txn_abort(txn);
    if (s->env)
        mdb_env_close(s->env);
    free(s);
    return RAFT_IOERR;
}

void cons_store_close(cons_store *s)
{
    if (!s)
        return;
    mdb_env_close(s->env);
    free(s);
}

void cons_store_snapshot_free(struct raft_snapshot *snap)
{
    if (!snap)
        return;
    raft_configuration_close(&snap->configuration);
    for (unsigned i = 0; i < snap->n_bufs; i++)
        raft_free(snap->bufs[i].base);
    raft_free(snap->bufs);
    raft_free(snap);
}

/* Build a raft_snapshot from the stored value (copies everything out of LMDB). */
static int snap_load(cons_store *s, MDB_txn *txn, struct raft_snapshot **out)
{
    MDB_val k = {4, "snap"}, v;
    *out = NULL;
    int rc = mdb_get(txn, s->meta, &k, &v);
    if (rc == MDB_NOTFOUND)
        return 0;
    if (rc)
        return lmdb_fail(s, "snap", rc);
    snap_hdr h;
    int rv = snap_parse(s, &v, &h);
    if (rv)
        return rv;
    struct raft_snapshot *snap = raft_calloc(1, sizeof *snap);
    if (!snap)
        return fail(s, RAFT_NOMEM, "snapshot: out of memory");
    raft_configuration_init(&snap->configuration);
    snap->index = h.index;
    snap->term = h.term;
    snap->configuration_index = h.conf_index;
    snap->bufs = raft_calloc(1, sizeof *snap->bufs);
    if (!snap->bufs)
        goto nomem;
    snap->n_bufs = 1;
    snap->bufs[0].base = raft_malloc(h.data_len ? h.data_len : 1);
    if (!snap->bufs[0].base)
        goto nomem;
    snap->bufs[0].len = h.data_len;
    memcpy(snap->bufs[0].base, h.data, h.data_len);
    /* Checked like a configuration from the network: libraft's decoder trusts
     * its buffer, and what is on disk is checked, not trusted. The decoder
     * leaves the configuration initialised on failure, so the free below
     * does not close it twice. */
    rv = cons_codec_conf_decode(&snap->configuration, h.conf, h.conf_len);
    if (rv) {
        cons_store_snapshot_free(snap);
        if (rv == RAFT_NOMEM)
            return fail(s, RAFT_NOMEM, "snapshot configuration: out of memory");
        return fail(s, RAFT_CORRUPT, "snapshot configuration: %s", raft_strerror(rv));
    }
    *out = snap;
    return 0;
nomem:
    cons_store_snapshot_free(snap);
    return fail(s, RAFT_NOMEM, "snapshot: out of memory");
}

int cons_store_snapshot_get(cons_store *s, struct raft_snapshot **snap)
{
    MDB_txn *txn;
    int rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn);
    if (rc)
        return lmdb_fail(s, "read txn", rc);
    int rv = snap_load(s, txn, snap);
    mdb_txn_abort(txn);
    return rv;
}

/* All entries, in one raft_malloc'd batch shared by every entry. */
static int entries_load(cons_store *s, MDB_txn *txn, raft_index *first, struct raft_entry **out,
                        size_t *n)
{
    MDB_cursor *cur;
    MDB_val k, v;
    size_t count = 0, total = 0;
    raft_index expect = 0;
    int rc = mdb_cursor_open(txn, s->log, &cur), op;
    if (rc)
        return lmdb_fail(s, "cursor", rc);
    *out = NULL;
    *n = 0;
    *first = 0;
    /* pass 1: count, size, contiguity */
    for (op = MDB_FIRST; (rc = mdb_cursor_get(cur, &k, &v, op)) == 0; op = MDB_NEXT) {
        if (k.mv_size != 8 || v.mv_size < ENTRY_HDR) {
            mdb_cursor_close(cur);
            return fail(s, RAFT_CORRUPT, "log record of %zu/%zu bytes", k.mv_size, v.mv_size);
        }
        raft_index idx = index_of(&k);
        if (count == 0)
            *first = idx;
        else if (idx != expect) {
            mdb_cursor_close(cur);
            return fail(s, RAFT_CORRUPT, "log gap: %llu after %llu", idx, expect - 1);
        }
        expect = idx + 1;
        count++;
        total += v.mv_size - ENTRY_HDR;
    }
    if (rc != MDB_NOTFOUND) {
        mdb_cursor_close(cur);
        return lmdb_fail(s, "log scan", rc);
    }
    if (count == 0) {
        mdb_cursor_close(cur);
        return 0;
    }
    struct raft_entry *e = raft_calloc(count, sizeof *e);
    uint8_t *batch = raft_malloc(total ? total : 1);
    if (!e || !batch) {
        raft_free(e);
        raft_free(batch);
        mdb_cursor_close(cur);
        return fail(s, RAFT_NOMEM, "load %zu entries: out of memory", count);
    }
    size_t i = 0, off = 0;
    for (op = MDB_FIRST; i < count && mdb_cursor_get(cur, &k, &v, op) == 0; op = MDB_NEXT, i++) {
        const uint8_t *p = v.mv_data;
        size_t len = v.mv_size - ENTRY_HDR;
        e[i].term = get64(p);
        e[i].type = (enum raft_entry_type)p[8];
        e[i].buf.base = batch + off;
        e[i].buf.len = len;
        e[i].batch = batch;
        memcpy(batch + off, p + ENTRY_HDR, len);
        off += len;
        if (e[i].term == 0 || e[i].type < RAFT_COMMAND || e[i].type > RAFT_CHANGE) {
            mdb_cursor_close(cur);
            raft_free(e);
            raft_free(batch);
            return fail(s, RAFT_CORRUPT, "entry %llu: bad term/type", *first + i);
        }
    }
    mdb_cursor_close(cur);
    *out = e;
    *n = count;
    return 0;
}

int cons_store_load(cons_store *s, raft_term *term, raft_id *vote, struct raft_snapshot **snap,
                    raft_index *start_index, struct raft_entry **entries, size_t *n)
{
    MDB_txn *txn;
    raft_index first = 0;
    uint64_t t, v;
    int rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn);
    if (rc)
        return lmdb_fail(s, "read txn", rc);
    int rv = meta_get64(s, txn, "term", &t);
    if (!rv)
        rv = meta_get64(s, txn, "vote", &v);
    if (!rv)
        rv = snap_load(s, txn, snap);
    if (rv) {
        mdb_txn_abort(txn);
        return rv;
    }
    rv = entries_load(s, txn, &first, entries, n);
    mdb_txn_abort(txn);
    if (rv) {
        cons_store_snapshot_free(*snap);
        *snap = NULL;
        return rv;
    }
    *term = t;
    *vote = v;
    if (*n > 0)
        *start_index = first;
    else
        *start_index = *snap ? (*snap)->index + 1 : 1;
    /* The log must reach at least to the snapshot and start no later than
     * right after it, or raft would see a hole. */
    if (*snap && *n > 0 && (first > (*snap)->index + 1 || first + *n - 1 < (*snap)->index)) {
        raft_index si = (*snap)->index;
        raft_free((*entries)[0].batch);
        raft_free(*entries);
        cons_store_snapshot_free(*snap);
        *snap = NULL;
        *entries = NULL;
        *n = 0;
        return fail(s, RAFT_CORRUPT, "log [%llu..] does not meet snapshot %llu", first, si);
    }
    return 0;
}

static int write_meta(cons_store *s, const char *name, uint64_t v, bool clear_vote)
{
    MDB_txn *txn;
    int rc = mdb_txn_begin(s->env, NULL, 0, &txn);
    if (rc)
        return lmdb_fail(s, "write txn", rc);
    int rv = meta_put64(s, txn, name, v);
    if (!rv && clear_vote)
        rv = meta_put64(s, txn, "vote", 0);
    if (rv) {
        mdb_txn_abort(txn);
        return rv;
    }
    rc = mdb_txn_commit(txn);
    return rc ? lmdb_fail(s, "commit", rc) : 0;
}

int cons_store_set_term(cons_store *s, raft_term term)
{
    return write_meta(s, "term", term, true);
}

int cons_store_set_vote(cons_store *s, raft_id id)
{
    return write_meta(s, "vote", id, false);
}

static int put_entry(cons_store *s, MDB_txn *txn, raft_index index, const struct raft_entry *e)
{
    uint8_t k[8];
    key_of(k, index);
    MDB_val kv = {8, k}, dv = {ENTRY_HDR + e->buf.len, NULL};
    /* Indexes only grow past the last one kept (a truncation deletes the tail
     * first), so MDB_APPEND holds: no search, and full pages instead of halves. */
    int rc = mdb_put(txn, s->log, &kv, &dv, MDB_RESERVE | MDB_APPEND);
    if (rc)
        return lmdb_fail(s, "append", rc);
    uint8_t *p = dv.mv_data;
    put64(p, e->term);
    p[8] = (uint8_t)e->type;
    if (e->buf.len)
        memcpy(p + ENTRY_HDR, e->buf.base, e->buf.len);
    return 0;
}

/* Delete log entries with from <= index <= to. */
static int del_range(cons_store *s, MDB_txn *txn, raft_index from, raft_index to)
{
    MDB_cursor *cur;
    uint8_t k[8];
    key_of(k, from);
    MDB_val kv = {8, k}, v;
    int rc = mdb_cursor_open(txn, s->log, &cur);
    if (rc)
        return lmdb_fail(s, "cursor", rc);
    rc = mdb_cursor_get(cur, &kv, &v, MDB_SET_RANGE);
    while (rc == 0 && index_of(&kv) <= to) {
        if ((rc = mdb_cursor_del(cur, 0)) != 0)
            break;
        /* after a delete, MDB_NEXT yields the record that followed it */
        rc = mdb_cursor_get(cur, &kv, &v, MDB_NEXT);
    }
    mdb_cursor_close(cur);
    return (rc == 0 || rc == MDB_NOTFOUND) ? 0 : lmdb_fail(s, "delete", rc);
}

static int put_snapshot(cons_store *s, MDB_txn *txn, const struct raft_snapshot *snap)
{
    struct raft_buffer conf;
    size_t data_len = 0;
    int rv = raft_configuration_encode(&snap->configuration, &conf);
    if (rv)
        return fail(s, rv, "encode configuration: %s", raft_strerror(rv));
    for (unsigned i = 0; i < snap->n_bufs; i++)
        data_len += snap->bufs[i].len;
    MDB_val k = {4, "snap"}, v = {SNAP_HDR + conf.len + data_len, NULL};
    int rc = mdb_put(txn, s->meta, &k, &v, MDB_RESERVE);
    if (rc) {
        raft_free(conf.base);
        return lmdb_fail(s, "snapshot put", rc);
    }
    uint8_t *p = v.mv_data;
    put64(p, snap->index);
    put64(p + 8, snap->term);
    put64(p + 16, snap->configuration_index);
    for (int i = 0; i < 4; i++)
        p[24 + i] = (uint8_t)(conf.len >> (8 * i));
    memcpy(p + SNAP_HDR, conf.base, conf.len);
    p += SNAP_HDR + conf.len;
    for (unsigned i = 0; i < snap->n_bufs; i++) {
        if (snap->bufs[i].len)
            memcpy(p, snap->bufs[i].base, snap->bufs[i].len);
        p += snap->bufs[i].len;
    }
    raft_free(conf.base);
    return 0;
}

int cons_store_write(cons_store *s, const cons_store_op *ops, size_t n)
{
    MDB_txn *txn;
    raft_index last = s->last_index;
    int rc = mdb_txn_begin(s->env, NULL, 0, &txn), rv = 0;
    if (rc)
        return lmdb_fail(s, "write txn", rc);
    for (size_t i = 0; i < n && !rv; i++) {
        const cons_store_op *op = &ops[i];
        switch (op->type) {
        case CONS_OP_APPEND:
            for (unsigned j = 0; j < op->append.n && !rv; j++)
                rv = put_entry(s, txn, ++last, &op->append.entries[j]);
            break;
        case CONS_OP_TRUNCATE:
            if (op->truncate.index == 0) {
                rv = fail(s, RAFT_INVALID, "truncate at 0");
                break;
            }
            rv = del_range(s, txn, op->truncate.index, UINT64_MAX);
            if (!rv && op->truncate.index <= last)
                last = op->truncate.index - 1;
            break;
        case CONS_OP_SNAPSHOT: {
            const struct raft_snapshot *snap = op->snapshot.snap;
            rv = put_snapshot(s, txn, snap);
            if (rv)
                break;
            if (op->snapshot.trailing == 0) {
                /* Installed from the leader: it replaces the whole log. */
                rv = del_range(s, txn, 1, UINT64_MAX);
                last = snap->index;
            } else if (snap->index > op->snapshot.trailing) {
                rv = del_range(s, txn, 1, snap->index - op->snapshot.trailing);
            }
            break;
        }
        default:
            rv = fail(s, RAFT_INVALID, "unknown op %d", (int)op->type);
        }
    }
    if (rv) {
        mdb_txn_abort(txn);
        return rv;
    }
    rc = mdb_txn_commit(txn);
    if (rc)
        return lmdb_fail(s, "commit", rc);
    s->last_index = last;
    return 0;
}

int cons_store_bootstrap(cons_store *s, const struct raft_configuration *conf)
{
    MDB_txn *txn;
    uint64_t term;
    int rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn);
    if (rc)
        return lmdb_fail(s, "read txn", rc);
    int rv = meta_get64(s, txn, "term", &term);
    mdb_txn_abort(txn);
    if (rv)
        return rv;
    if (term != 0 || s->last_index != 0)
        return fail(s, RAFT_CANTBOOTSTRAP, "raft state already present");
    struct raft_entry e = {.term = 1, .type = RAFT_CHANGE};
    rv = raft_configuration_encode(conf, &e.buf);
    if (rv)
        return fail(s, rv, "encode configuration: %s", raft_strerror(rv));
    cons_store_op op = {.type = CONS_OP_APPEND, .append = {&e, 1}};
    rv = cons_store_write(s, &op, 1);
    raft_free(e.buf.base);
    if (!rv)
        rv = cons_store_set_term(s, 1);
    return rv;
}
