/*
 * cons_codec.c — encode/decode of node-to-node frames (format in cons_codec.h).
 *
 * Encoding runs twice over the same writer: once with no buffer to measure,
 * once to fill an exact-size allocation, so the two can never disagree.
 * Decoding goes through a bounded reader (rd_*): each read checks the bytes
 * left and latches an error, so a parser reads like the schema and a short or
 * garbage frame falls out as RAFT_MALFORMED with nothing allocated.
 * AppendEntries data lands in one raft_malloc'd batch shared by all entries,
 * which is what raft's recv path frees (entries[0].batch).
 */
#include "consensus/cons_codec.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define MAGIC   0x50
#define VERSION 2 /* 2: the chain id after the version byte */

/* ---- writer ------------------------------------------------------------------ */

typedef struct wr {
    uint8_t *p; /* NULL while measuring */
    size_t n;
} wr;

static void w_bytes(wr *w, const void *b, size_t len)
{
    if (w->p && len)
        memcpy(w->p + w->n, b, len);
    w->n += len;
}
static void w_u8(wr *w, uint8_t v)
{
    w_bytes(w, &v, 1);
}
static void w_u32(wr *w, uint32_t v)
{
    uint8_t b[4];
    for (int i = 0; i < 4; i++)
        b[i] = (uint8_t)(v >> (8 * i));
    w_bytes(w, b, 4);
}
static void w_u64(wr *w, uint64_t v)
{
    uint8_t b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)(v >> (8 * i));
    w_bytes(w, b, 8);
}

static void w_header(wr *w, const uint8_t *chain, int kind, uint64_t from_id, const char *addr)
{
    size_t al = strnlen(addr, CONS_ADDR_MAX - 1);
    w_u8(w, MAGIC);
    w_u8(w, VERSION);
    w_bytes(w, chain, CONS_CHAIN_ID_LEN);
    w_u8(w, (uint8_t)kind);
    w_u64(w, from_id);
    w_u8(w, (uint8_t)al);
    w_bytes(w, addr, al);
}

/* Body of a raft message; conf is pre-encoded by the caller (install snapshot). */
static void w_raft(wr *w, const struct raft_message *m, const struct raft_buffer *conf)
{
    switch (m->type) {
    case RAFT_REQUEST_VOTE: {
        const struct raft_request_vote *a = &m->request_vote;
        w_u64(w, a->term);
        w_u64(w, a->candidate_id);
        w_u64(w, a->last_log_index);
        w_u64(w, a->last_log_term);
        w_u8(w, (uint8_t)((a->disrupt_leader ? 1 : 0) | (a->pre_vote ? 2 : 0)));
        break;
    }
    case RAFT_REQUEST_VOTE_RESULT: {
        const struct raft_request_vote_result *a = &m->request_vote_result;
        w_u64(w, a->term);
        w_u8(w, (uint8_t)((a->vote_granted ? 1 : 0) | (a->pre_vote ? 2 : 0)));
        w_u32(w, (uint32_t)a->features << 16 | a->capacity);
        break;
    }
    case RAFT_APPEND_ENTRIES: {
        const struct raft_append_entries *a = &m->append_entries;
        w_u64(w, a->term);
        w_u64(w, a->prev_log_index);
        w_u64(w, a->prev_log_term);
        w_u64(w, a->leader_commit);
        w_u32(w, a->n_entries);
        for (unsigned i = 0; i < a->n_entries; i++) {
            w_u64(w, a->entries[i].term);
            w_u8(w, (uint8_t)a->entries[i].type);
            w_u32(w, (uint32_t)a->entries[i].buf.len);
            w_bytes(w, a->entries[i].buf.base, a->entries[i].buf.len);
        }
        break;
    }
    case RAFT_APPEND_ENTRIES_RESULT: {
        const struct raft_append_entries_result *a = &m->append_entries_result;
        w_u64(w, a->term);
        w_u64(w, a->rejected);
        w_u64(w, a->last_log_index);
        w_u32(w, (uint32_t)a->features << 16 | a->capacity);
        break;
    }
    case RAFT_INSTALL_SNAPSHOT: {
        const struct raft_install_snapshot *a = &m->install_snapshot;
        w_u64(w, a->term);
        w_u64(w, a->last_index);
        w_u64(w, a->last_term);
        w_u64(w, a->conf_index);
        w_u32(w, (uint32_t)conf->len);
        w_bytes(w, conf->base, conf->len);
        w_u64(w, a->data.len);
        w_bytes(w, a->data.base, a->data.len);
        break;
    }
    case RAFT_TIMEOUT_NOW: {
        const struct raft_timeout_now *a = &m->timeout_now;
        w_u64(w, a->term);
        w_u64(w, a->last_log_index);
        w_u64(w, a->last_log_term);
        break;
    }
    }
}

int cons_codec_encode_raft(uint8_t **out, size_t *out_len, const uint8_t *chain, uint64_t from_id,
                           const char *from_addr, const struct raft_message *m)
{
    struct raft_buffer conf = {NULL, 0};
    if (m->type < RAFT_APPEND_ENTRIES || m->type > RAFT_TIMEOUT_NOW)
        return RAFT_INVALID;
    if (m->type == RAFT_APPEND_ENTRIES) {
        for (unsigned i = 0; i < m->append_entries.n_entries; i++)
            if (m->append_entries.entries[i].buf.len > CONS_MSG_MAX)
                return RAFT_TOOBIG;
    }
    if (m->type == RAFT_INSTALL_SNAPSHOT) {
        int rv = raft_configuration_encode(&m->install_snapshot.conf, &conf);
        if (rv)
            return rv;
    }
    wr w = {NULL, 0};
    w_header(&w, chain, m->type, from_id, from_addr);
    w_raft(&w, m, &conf);
    if (w.n > CONS_MSG_MAX) {
        raft_free(conf.base);
        return RAFT_TOOBIG;
    }
    size_t n = w.n;
    w.p = malloc(n);
    w.n = 0;
    if (!w.p) {
        raft_free(conf.base);
        return RAFT_NOMEM;
    }
    w_header(&w, chain, m->type, from_id, from_addr);
    w_raft(&w, m, &conf);
    raft_free(conf.base);
    *out = w.p;
    *out_len = w.n;
    return 0;
}

int cons_codec_encode_forward(uint8_t **out, size_t *out_len, const uint8_t *chain,
                              uint64_t from_id, const char *from_addr, const uint8_t *const *txs,
                              const size_t *lens, size_t n)
{
    if (n == 0 || n > CONS_FORWARD_MAX_TXS)
        return RAFT_INVALID;
    for (int pass = 0; pass < 2; pass++) {
        wr w = {pass ? malloc(*out_len) : NULL, 0};
        if (pass && !w.p)
            return RAFT_NOMEM;
        w_header(&w, chain, CONS_KIND_FORWARD, from_id, from_addr);
        w_u32(&w, (uint32_t)n);
        for (size_t i = 0; i < n; i++) {
            w_u32(&w, (uint32_t)lens[i]);
            w_bytes(&w, txs[i], lens[i]);
        }
        if (!pass && w.n > CONS_MSG_MAX)
            return RAFT_TOOBIG;
        *out_len = w.n;
        if (pass)
            *out = w.p;
    }
    return 0;
}

int cons_codec_encode_hello(uint8_t **out, size_t *out_len, const uint8_t *chain, uint64_t from_id,
                            const char *from_addr, uint64_t to_id, uint64_t ts_ms,
                            const uint8_t *sig, size_t sig_len)
{
    if (sig_len == 0 || sig_len > CONS_HELLO_SIG_MAX || to_id == 0)
        return RAFT_INVALID;
    wr w = {NULL, 0};
    for (int pass = 0; pass < 2; pass++) {
        if (pass && !(w.p = malloc(w.n)))
            return RAFT_NOMEM;
        w.n = 0;
        w_header(&w, chain, CONS_KIND_HELLO, from_id, from_addr);
        w_u64(&w, to_id);
        w_u64(&w, ts_ms);
        w_u8(&w, (uint8_t)sig_len);
        w_bytes(&w, sig, sig_len);
    }
    *out = w.p;
    *out_len = w.n;
    return 0;
}

/* ---- bounded reader ---------------------------------------------------------- */

typedef struct rd {
    const uint8_t *p;
    size_t left;
    bool bad;
} rd;

static const uint8_t *r_take(rd *r, size_t n)
{
    if (r->bad || n > r->left) {
        r->bad = true;
        return NULL;
    }
    const uint8_t *q = r->p;
    r->p += n;
    r->left -= n;
    return q;
}
static uint8_t r_u8(rd *r)
{
    const uint8_t *q = r_take(r, 1);
    return q ? q[0] : 0;
}
static uint32_t r_u32(rd *r)
{
    const uint8_t *q = r_take(r, 4);
    return q ? (uint32_t)q[0] | (uint32_t)q[1] << 8 | (uint32_t)q[2] << 16 | (uint32_t)q[3] << 24
             : 0;
}
static uint64_t r_u64(rd *r)
{
    const uint8_t *q = r_take(r, 8);
    uint64_t v = 0;
    if (q)
        for (int i = 7; i >= 0; i--)
            v = (v << 8) | q[i];
    return v;
}

/* A raft configuration as raft_configuration_encode writes it: format 1 |
 * count u64 | (id u64 | address NUL-terminated | role u8){count} | zero
 * padding to a multiple of 8. libraft's own decoder trusts the buffer (it
 * reads the count and ids without bounds checks), so every byte is checked
 * here first: 1..CONS_PEERS_MAX servers, ids > 0 and distinct, addresses
 * 1..CONS_ADDR_MAX-1 bytes, a known role, at least one voter. Only then is
 * raft's decoder run, into *conf (initialised either way; closed on failure). */
static int d_configuration(const uint8_t *p, size_t len, struct raft_configuration *conf)
{
    rd r = {p, len, false};
    raft_configuration_init(conf);
    if (r_u8(&r) != 1)
        return RAFT_MALFORMED;
    uint64_t n = r_u64(&r);
    if (r.bad || n == 0 || n > CONS_PEERS_MAX)
        return RAFT_MALFORMED;
    uint64_t ids[CONS_PEERS_MAX];
    unsigned voters = 0;
    for (uint64_t i = 0; i < n; i++) {
        ids[i] = r_u64(&r);
        const uint8_t *nul = r.bad ? NULL : memchr(r.p, 0, r.left);
        size_t al = nul ? (size_t)(nul - r.p) : 0;
        if (!nul || al == 0 || al >= CONS_ADDR_MAX || ids[i] == 0)
            return RAFT_MALFORMED;
        r_take(&r, al + 1);
        uint8_t role = r_u8(&r);
        if (r.bad || (role != RAFT_STANDBY && role != RAFT_VOTER && role != RAFT_SPARE))
            return RAFT_MALFORMED;
        voters += role == RAFT_VOTER;
        for (uint64_t j = 0; j < i; j++)
            if (ids[j] == ids[i])
                return RAFT_MALFORMED;
    }
    if (voters == 0 || r.left >= 8 || (len % 8) != 0)
        return RAFT_MALFORMED;
    while (r.left)
        if (r_u8(&r) != 0)
            return RAFT_MALFORMED;
    struct raft_buffer b = {(void *)p, len};
    int rv = raft_configuration_decode(&b, conf);
    if (rv != 0) { /* e.g. two servers at one address; raft closed conf itself */
        raft_configuration_init(conf);
        return rv == RAFT_NOMEM ? RAFT_NOMEM : RAFT_MALFORMED;
    }
    return 0;
}

int cons_codec_conf_decode(struct raft_configuration *conf, const void *buf, size_t len)
{
    return d_configuration(buf, len, conf);
}

/* Terms and indexes beyond these are refused: raft adds 1 to terms and
 * indexes, and nothing real comes near (a term a millisecond for 8,900 years). */
static bool term_ok(uint64_t t)
{
    return t <= CONS_TERM_MAX;
}
static bool index_ok(uint64_t i)
{
    return i <= CONS_INDEX_MAX;
}

static int d_append_entries(rd *r, struct raft_append_entries *a)
{
    a->version = 0;
    a->term = r_u64(r);
    a->prev_log_index = r_u64(r);
    a->prev_log_term = r_u64(r);
    a->leader_commit = r_u64(r);
    uint32_t n = r_u32(r);
    a->entries = NULL;
    a->n_entries = 0;
    if (r->bad || n > CONS_AE_MAX_ENTRIES || (size_t)n * 13 > r->left)
        return RAFT_MALFORMED;
    /* raft asserts prev_log_term == 0 exactly when prev_log_index == 0 */
    if (a->term == 0 || !term_ok(a->term) || a->prev_log_term > a->term ||
        (a->prev_log_index == 0) != (a->prev_log_term == 0) || !index_ok(a->prev_log_index) ||
        !index_ok(a->leader_commit))
        return RAFT_MALFORMED;
    if (n == 0)
        return r->left ? RAFT_MALFORMED : 0;
    /* pass 1 over a copy of the reader: validate and size. Entry terms never
     * decrease along a log, start at prev_log_term and end at most at the
     * sender's term; a configuration entry must be one raft can decode. */
    rd s = *r;
    size_t total = 0;
    uint64_t last_term = a->prev_log_term;
    for (uint32_t i = 0; i < n; i++) {
        uint64_t term = r_u64(&s);
        uint8_t type = r_u8(&s);
        uint32_t len = r_u32(&s);
        const uint8_t *data = r_take(&s, len);
        if (s.bad || term == 0 || term < last_term || term > a->term || type < RAFT_COMMAND ||
            type > RAFT_CHANGE || len > CONS_MSG_MAX)
            return RAFT_MALFORMED;
        if (type == RAFT_CHANGE) {
            struct raft_configuration conf;
            int rv = d_configuration(data, len, &conf);
            raft_configuration_close(&conf);
            if (rv != 0)
                return rv;
        }
        last_term = term;
        total += len;
    }
    if (s.left)
        return RAFT_MALFORMED;
    struct raft_entry *e = raft_calloc(n, sizeof *e);
    uint8_t *batch = raft_malloc(total ? total : 1);
    if (!e || !batch) {
        raft_free(e);
        raft_free(batch);
        return RAFT_NOMEM;
    }
    size_t off = 0;
    for (uint32_t i = 0; i < n; i++) {
        e[i].term = r_u64(r);
        e[i].type = (enum raft_entry_type)r_u8(r);
        uint32_t len = r_u32(r);
        const uint8_t *q = r_take(r, len);
        if (len)
            memcpy(batch + off, q, len);
        e[i].buf.base = batch + off;
        e[i].buf.len = len;
        e[i].batch = batch;
        off += len;
    }
    a->entries = e;
    a->n_entries = n;
    return 0;
}

static int d_install_snapshot(rd *r, struct raft_install_snapshot *a)
{
    a->version = 0;
    a->term = r_u64(r);
    a->last_index = r_u64(r);
    a->last_term = r_u64(r);
    a->conf_index = r_u64(r);
    uint32_t clen = r_u32(r);
    const uint8_t *conf = r_take(r, clen);
    uint64_t dlen = r_u64(r);
    raft_configuration_init(&a->conf);
    if (r->bad || clen == 0 || dlen != r->left)
        return RAFT_MALFORMED;
    /* raft asserts a snapshot's last index and term are not 0 */
    if (a->term == 0 || !term_ok(a->term) || a->last_term == 0 || a->last_term > a->term ||
        a->last_index == 0 || !index_ok(a->last_index) || a->conf_index == 0 ||
        a->conf_index > a->last_index)
        return RAFT_MALFORMED;
    const uint8_t *data = r_take(r, (size_t)dlen);
    int rv = d_configuration(conf, clen, &a->conf);
    if (rv != 0) {
        raft_configuration_close(&a->conf);
        return rv;
    }
    a->data.len = (size_t)dlen;
    a->data.base = raft_malloc(dlen ? (size_t)dlen : 1);
    if (!a->data.base) {
        raft_configuration_close(&a->conf);
        return RAFT_NOMEM;
    }
    if (dlen)
        memcpy(a->data.base, data, (size_t)dlen);
    return 0;
}

int cons_codec_decode(cons_wire *w, const uint8_t *chain, const uint8_t *buf, size_t len)
{
    rd r = {buf, len, false};
    memset(w, 0, sizeof *w);
    if (r_u8(&r) != MAGIC || r_u8(&r) != VERSION)
        return RAFT_MALFORMED;
    const uint8_t *their_chain = r_take(&r, CONS_CHAIN_ID_LEN);
    if (!their_chain)
        return RAFT_MALFORMED;
    if (memcmp(their_chain, chain, CONS_CHAIN_ID_LEN) != 0) {
        memcpy(w->chain_id, their_chain, CONS_CHAIN_ID_LEN);
        return CONS_CODEC_OTHER_CHAIN;
    }
    w->kind = r_u8(&r);
    w->from_id = r_u64(&r);
    uint8_t al = r_u8(&r);
    const uint8_t *addr = r_take(&r, al);
    if (r.bad || w->from_id == 0 || al == 0 || al >= CONS_ADDR_MAX || memchr(addr, 0, al))
        return RAFT_MALFORMED;
    memcpy(w->from_addr, addr, al);
    w->from_addr[al] = 0;

    struct raft_message *m = &w->msg;
    m->type = (enum raft_message_type)w->kind;
    m->server_id = w->from_id;
    m->server_address = w->from_addr;
    switch (w->kind) {
    case RAFT_REQUEST_VOTE: {
        struct raft_request_vote *a = &m->request_vote;
        a->version = 2;
        a->term = r_u64(&r);
        a->candidate_id = r_u64(&r);
        a->last_log_index = r_u64(&r);
        a->last_log_term = r_u64(&r);
        uint8_t f = r_u8(&r);
        a->disrupt_leader = f & 1;
        a->pre_vote = (f & 2) != 0;
        /* a candidate asks for itself; its last log term is at most its term */
        if (r.bad || r.left || f > 3 || a->term == 0 || !term_ok(a->term) ||
            a->candidate_id != w->from_id || a->last_log_term > a->term ||
            (a->last_log_index == 0) != (a->last_log_term == 0) || !index_ok(a->last_log_index))
            return RAFT_MALFORMED;
        return 0;
    }
    case RAFT_REQUEST_VOTE_RESULT: {
        struct raft_request_vote_result *a = &m->request_vote_result;
        a->version = 2;
        a->term = r_u64(&r);
        uint8_t f = r_u8(&r);
        uint32_t fc = r_u32(&r);
        a->vote_granted = f & 1;
        a->pre_vote = (f & 2) != 0;
        a->features = (unsigned short)(fc >> 16);
        a->capacity = (unsigned short)(fc & 0xffff);
        return (r.bad || r.left || f > 3 || a->term == 0 || !term_ok(a->term)) ? RAFT_MALFORMED : 0;
    }
    case RAFT_APPEND_ENTRIES:
        return d_append_entries(&r, &m->append_entries);
    case RAFT_APPEND_ENTRIES_RESULT: {
        struct raft_append_entries_result *a = &m->append_entries_result;
        a->version = 2;
        a->term = r_u64(&r);
        a->rejected = r_u64(&r);
        a->last_log_index = r_u64(&r);
        uint32_t fc = r_u32(&r);
        a->features = (unsigned short)(fc >> 16);
        a->capacity = (unsigned short)(fc & 0xffff);
        return (r.bad || r.left || a->term == 0 || !term_ok(a->term) || !index_ok(a->rejected) ||
                !index_ok(a->last_log_index))
                   ? RAFT_MALFORMED
                   : 0;
    }
    case RAFT_INSTALL_SNAPSHOT:
        return d_install_snapshot(&r, &m->install_snapshot);
    case RAFT_TIMEOUT_NOW: {
        struct raft_timeout_now *a = &m->timeout_now;
        a->version = 0;
        a->term = r_u64(&r);
        a->last_log_index = r_u64(&r);
        a->last_log_term = r_u64(&r);
        return (r.bad || r.left || a->term == 0 || !term_ok(a->term) ||
                a->last_log_term > a->term || !index_ok(a->last_log_index))
                   ? RAFT_MALFORMED
                   : 0;
    }
    case CONS_KIND_HELLO: {
        w->hello_to = r_u64(&r);
        w->hello_ts_ms = r_u64(&r);
        uint8_t sl = r_u8(&r);
        const uint8_t *sig = r_take(&r, sl);
        if (r.bad || r.left || w->hello_to == 0 || sl == 0 || sl > CONS_HELLO_SIG_MAX)
            return RAFT_MALFORMED;
        memcpy(w->hello_sig, sig, sl);
        w->hello_sig_len = sl;
        return 0;
    }
    case CONS_KIND_FORWARD: {
        uint32_t n = r_u32(&r);
        if (r.bad || n == 0 || n > CONS_FORWARD_MAX_TXS)
            return RAFT_MALFORMED;
        w->fwd = r.p;
        w->fwd_len = r.left;
        w->fwd_count = n;
        for (uint32_t i = 0; i < n; i++) {
            uint32_t l = r_u32(&r);
            if (l == 0 || l > CONS_TX_MAX || !r_take(&r, l))
                return RAFT_MALFORMED;
        }
        return r.left ? RAFT_MALFORMED : 0;
    }
    default:
        return RAFT_MALFORMED;
    }
}

int cons_codec_forward_next(const cons_wire *w, size_t *pos, const uint8_t **tx, size_t *len)
{
    if (*pos + 4 > w->fwd_len)
        return 0;
    const uint8_t *p = w->fwd + *pos;
    uint32_t l = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
    if (l > w->fwd_len - *pos - 4)
        return 0;
    *tx = p + 4;
    *len = l;
    *pos += 4 + l;
    return 1;
}

void cons_wire_release(cons_wire *w)
{
    if (w->kind == RAFT_APPEND_ENTRIES && w->msg.append_entries.n_entries) {
        raft_free(w->msg.append_entries.entries[0].batch);
        raft_free(w->msg.append_entries.entries);
        w->msg.append_entries.entries = NULL;
        w->msg.append_entries.n_entries = 0;
    } else if (w->kind == RAFT_INSTALL_SNAPSHOT && w->msg.install_snapshot.data.base) {
        /* conf and data are set together: only a fully decoded frame holds them */
        raft_configuration_close(&w->msg.install_snapshot.conf);
        raft_free(w->msg.install_snapshot.data.base);
        w->msg.install_snapshot.data.base = NULL;
    }
}
