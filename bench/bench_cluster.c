/*
 * bench_cluster.c — commit throughput and latency of a real 3-node cluster.
 *
 * Starts three provena-node processes on 127.0.0.1 (fsync on: the default),
 * with a generated genesis holding one brand and BENCH_SUBMITTERS_MAX carriers.
 * The brand mints the units beforehand; what is measured is signed
 * single-unit pickups, each carrier a submitter with its own nonce sequence,
 * POSTed as CBOR to /api/v1/tx over keep-alive HTTP/1.1 and waited for until
 * committed (200). Submitters are spread over the three nodes, so two thirds
 * of the transactions take the forwarding path to the leader.
 *
 * For 1 and 64 concurrent submitters, three runs each; then JSON Digital Link
 * resolutions (each records a scan) of random minted units at 64 connections.
 *
 * The peer: before and after our cluster, the same invocation starts a 3-member
 * etcd cluster on 127.0.0.1 (etcd from $PATH or $ETCD; its own data dirs in the
 * work directory, fsync on: its defaults) and drives it with the same client:
 * 250-byte puts through etcd's HTTP/JSON gateway (POST /v3/kv/put) at 1 and 64
 * connections, and serializable range reads (POST /v3/kv/range) at 64. etcd's
 * figure is the median of its six runs (the upper middle; three before, three
 * after ours).
 * Prints one table: both sides (ops/s, p50, p99, CPU per op of the three
 * server processes), the ratio, and the floors of issue 18 (≥ 1.5x etcd's puts/s
 * at 64 connections; p50 at 1 and p99 at 64 no higher than etcd's; resolutions
 * ≥ 5x etcd's serializable reads with p99 ≤ 5 ms).
 *
 * usage: bench_cluster [--quick] [--node PATH] [--no-etcd] [--etcd-smoke] [--etcd-reads KEYS]
 * (PATH default: ../provena-node next to this binary, or $PROVENA_NODE).
 * --etcd-smoke only starts the etcd cluster, puts and reads one key back and
 * stops it (exit 0 when all of that worked). --etcd-reads KEYS puts KEYS keys
 * into a fresh etcd cluster and prints the median of three runs of serializable
 * reads at 64 connections as "reads/s p50_ms p99_ms" (bench/gateway.sh's peer). Exit 0 when the floors hold, 3 when
 * one does not, 1 on an error.
 * BENCH_KEEP=1 keeps the work directory and runs the nodes at log level info.
 * Every child (node or etcd member) dies with the bench (PR_SET_PDEATHSIG),
 * and SIGINT/SIGTERM stop them too.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "chain/chain.h"
#include "genesis/genesis.h"

#define BENCH_NODES          3
#define BENCH_SUBMITTERS_MAX 64
#define BENCH_RUNS           3
#define BENCH_GTIN           "09506000123455"
#define BENCH_PREFIX         "9506000"
#define BENCH_STATUS_PATH    "/api/v1/status"
#define BENCH_RESP_MAX       (64u << 10)
#define BENCH_MINT_BATCH     2000 /* serials per set-up mint (each carries a label signature) */
#define ETCD_MEMBERS         3
#define ETCD_VALUE_LEN       250 /* bytes per put, as issue 18 specifies */

typedef struct bnode {
    int raft_port, http_port;
    pid_t pid;
    uint8_t sk[32], pub[32];
} bnode;

static bnode nodes[BENCH_NODES];
static char workdir[PATH_MAX];
static char genesis_path[PATH_MAX + 32];
static chain_genesis *genesis;
static uint8_t brand_sk[32], brand_pub[32];
static uint8_t carrier_sk[BENCH_SUBMITTERS_MAX][32], carrier_pub[BENCH_SUBMITTERS_MAX][32];
static uint64_t carrier_nonce[BENCH_SUBMITTERS_MAX];
static uint64_t brand_nonce;
static uint64_t unit_seq;

typedef struct emember {
    int client_port, peer_port;
    pid_t pid;
} emember;

static emember etcd[ETCD_MEMBERS];
static int etcd_gen;          /* clusters started so far: each gets fresh data dirs */
static uint64_t etcd_seq;     /* keys put so far in the current cluster */
static const char *etcd_bin;  /* $ETCD or "etcd" from $PATH */

static void kill_children(int sig)
{
    for (int i = 0; i < BENCH_NODES; i++)
        if (nodes[i].pid > 0)
            kill(nodes[i].pid, sig);
    for (int i = 0; i < ETCD_MEMBERS; i++)
        if (etcd[i].pid > 0)
            kill(etcd[i].pid, sig);
}

static void on_signal(int sig)
{
    kill_children(SIGKILL);
    signal(sig, SIG_DFL);
    raise(sig);
}

static uint64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void die(const char *fmt, const char *arg)
{
    fprintf(stderr, "bench_cluster: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n");
    kill_children(SIGKILL);
    exit(1);
}

static int free_port(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof a) != 0 ||
        getsockname(s, (struct sockaddr *)&a, &len) != 0)
        die("%s", "no free port");
    int p = ntohs(a.sin_port);
    close(s);
    return p;
}

/* ---- minimal HTTP/1.1 client (keep-alive, Content-Length or chunked) ---------------- */

typedef struct conn {
    int fd;
    int port;
    char buf[BENCH_RESP_MAX];
    size_t have;
} conn;

static int conn_open(conn *c, int port)
{
    c->port = port;
    c->have = 0;
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    if (c->fd < 0)
        return -1;
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct timeval tv = {.tv_sec = 30};
    setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (connect(c->fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(c->fd);
        c->fd = -1;
        return -1;
    }
    return 0;
}

static void conn_close(conn *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
}

/* Head and body in one sendmsg, as HTTP clients send a small request: one segment,
 * so the server reads it with one recv. */
static int send_all(int fd, const void *head, size_t head_len, const void *body, size_t body_len)
{
    struct iovec iov[2] = {{(void *)head, head_len}, {(void *)body, body_len}};
    struct msghdr mh = {.msg_iov = iov, .msg_iovlen = body_len ? 2 : 1};
    while (mh.msg_iovlen > 0) {
        ssize_t w = sendmsg(fd, &mh, MSG_NOSIGNAL);
        if (w <= 0) {
            if (w < 0 && errno == EINTR)
                continue;
            return -1;
        }
        while (mh.msg_iovlen > 0 && (size_t)w >= mh.msg_iov[0].iov_len) {
            w -= (ssize_t)mh.msg_iov[0].iov_len;
            mh.msg_iov++;
            mh.msg_iovlen--;
        }
        if (mh.msg_iovlen > 0) {
            mh.msg_iov[0].iov_base = (char *)mh.msg_iov[0].iov_base + w;
            mh.msg_iov[0].iov_len -= (size_t)w;
        }
    }
    return 0;
}

/* Reads until buf holds at least `need` bytes. */
static int fill(conn *c, size_t need)
{
    while (c->have < need) {
        if (need > sizeof c->buf)
            return -1;
        ssize_t r = recv(c->fd, c->buf + c->have, sizeof c->buf - c->have, 0);
        if (r <= 0) {
            if (r < 0 && errno == EINTR)
                continue;
            return -1;
        }
        c->have += (size_t)r;
    }
    return 0;
}

/* What a whole response at the start of c->buf is made of. */
typedef struct resp {
    int status;
    size_t body_off, body_len; /* the body, de-chunked in place by resp_take */
    bool chunked, close_after;
} resp;

/* Length of the whole response at the start of c->buf (head and body; a chunked
 * body up to its last chunk), 0 while more bytes are needed, -1 when it is
 * malformed or cannot fit the buffer. */
static long resp_len(const conn *c, resp *r)
{
    const char *end = c->have >= 4 ? memmem(c->buf, c->have, "\r\n\r\n", 4) : NULL;
    if (!end)
        return c->have >= sizeof c->buf ? -1 : 0;
    size_t hlen = (size_t)(end - c->buf) + 4;
    size_t clen = 0;
    *r = (resp){.status = c->have > 12 ? atoi(c->buf + 9) : 0, .body_off = hlen};
    for (const char *p = c->buf; p < end; p++) {
        if (*p != '\r')
            continue; /* header names start after a CRLF */
        if (strncasecmp(p, "\r\nContent-Length:", 17) == 0)
            clen = strtoul(p + 17, NULL, 10);
        else if (strncasecmp(p, "\r\nTransfer-Encoding: chunked", 28) == 0)
            r->chunked = true;
        else if (strncasecmp(p, "\r\nConnection: close", 19) == 0)
            r->close_after = true;
    }
    if (!r->chunked) {
        if (hlen + clen > sizeof c->buf)
            return -1;
        r->body_len = clen;
        return c->have >= hlen + clen ? (long)(hlen + clen) : 0;
    }
    size_t rd = hlen;
    for (;;) {
        const char *nl = rd < c->have ? memmem(c->buf + rd, c->have - rd, "\r\n", 2) : NULL;
        if (!nl)
            return c->have >= sizeof c->buf ? -1 : 0;
        size_t n = strtoul(c->buf + rd, NULL, 16);
        rd = (size_t)(nl - c->buf) + 2 + n + 2;
        if (rd > sizeof c->buf)
            return -1;
        if (rd > c->have)
            return 0;
        if (n == 0) {
            r->body_len = rd - hlen;
            return (long)rd;
        }
    }
}

/* The body of a response resp_len found whole: a chunked one is de-chunked in
 * place (its framing was checked there). */
static void resp_body(conn *c, resp *r)
{
    if (!r->chunked)
        return;
    char *b = c->buf + r->body_off;
    size_t rd = 0, wr = 0;
    for (;;) {
        const char *nl = memmem(b + rd, r->body_len - rd, "\r\n", 2);
        size_t n = strtoul(b + rd, NULL, 16);
        rd = (size_t)(nl - b) + 2;
        memmove(b + wr, b + rd, n);
        wr += n;
        rd += n + 2;
        if (n == 0)
            break;
    }
    r->body_len = wr;
}

/* Drops the first len bytes (a response) from c->buf. */
static void resp_drop(conn *c, long len)
{
    memmove(c->buf, c->buf + len, c->have - (size_t)len);
    c->have -= (size_t)len;
}

/* One request; returns the status code (body copied to body/body_len when given), -1 on error. */
static int http_do(conn *c, const char *method, const char *path, const char *ctype,
                   const uint8_t *body, size_t len, char *out, size_t out_max)
{
    char hdr[512];
    int hl = snprintf(hdr, sizeof hdr,
                      "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nAccept: application/json\r\n"
                      "%s%s%sContent-Length: %zu\r\n\r\n",
                      method, path, c->port, ctype ? "Content-Type: " : "", ctype ? ctype : "",
                      ctype ? "\r\n" : "", len);
    if (c->fd < 0 && conn_open(c, c->port) != 0)
        return -1;
    if (send_all(c->fd, hdr, (size_t)hl, body, len) != 0)
        goto broken;
    resp r;
    long n;
    while ((n = resp_len(c, &r)) == 0)
        if (fill(c, c->have + 1) != 0)
            goto broken;
    if (n < 0)
        goto broken;
    resp_body(c, &r);
    if (out && out_max) {
        size_t k = r.body_len < out_max - 1 ? r.body_len : out_max - 1;
        memcpy(out, c->buf + r.body_off, k);
        out[k] = 0;
    }
    resp_drop(c, n);
    if (r.close_after)
        conn_close(c);
    return r.status;
broken:
    conn_close(c);
    return -1;
}

/* ---- network set-up ------------------------------------------------------------------- */

static void write_key(const char *path, const uint8_t sk[32])
{
    char hex[66];
    chain_hex(hex, sk, 32);
    hex[64] = '\n';
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0 || write(fd, hex, 65) != 65)
        die("cannot write %s", path);
    close(fd);
}

static void make_genesis(void)
{
    char hex[65], buf[PATH_MAX + 32];
    json_t *g = json_object(), *brands = json_array(), *parts = json_array(), *ns = json_array();
    json_object_set_new(g, "chain", json_string("bench"));
    json_object_set_new(g, "time", json_integer((json_int_t)time(NULL)));
    if (chain_key_generate(brand_sk, brand_pub) != CHAIN_OK)
        die("%s", "keygen");
    chain_hex(hex, brand_pub, 32);
    json_array_append_new(brands, json_pack("{s:s,s:s,s:s,s:[s]}", "id", "acme", "name",
                                            "Acme Bench", "pub", hex, "prefixes", BENCH_PREFIX));
    for (int i = 0; i < BENCH_SUBMITTERS_MAX; i++) {
        if (chain_key_generate(carrier_sk[i], carrier_pub[i]) != CHAIN_OK)
            die("%s", "keygen");
        chain_hex(hex, carrier_pub[i], 32);
        char id[32];
        snprintf(id, sizeof id, "carrier-%d", i);
        json_array_append_new(parts, json_pack("{s:s,s:s,s:s,s:s}", "id", id, "name", id, "role",
                                               "carrier", "pub", hex));
    }
    for (int i = 0; i < BENCH_NODES; i++) {
        bnode *n = &nodes[i];
        if (chain_key_generate(n->sk, n->pub) != CHAIN_OK)
            die("%s", "keygen");
        n->raft_port = free_port();
        n->http_port = free_port();
        chain_hex(hex, n->pub, 32);
        char raft[64], http[64];
        snprintf(raft, sizeof raft, "tcp://127.0.0.1:%d", n->raft_port);
        snprintf(http, sizeof http, "http://127.0.0.1:%d", n->http_port);
        json_array_append_new(ns, json_pack("{s:i,s:s,s:s,s:s,s:s}", "id", i + 1, "operator",
                                            "acme", "raft", raft, "http", http, "pub", hex));
        snprintf(buf, sizeof buf, "%s/node%d.key", workdir, i + 1);
        write_key(buf, n->sk);
    }
    json_object_set_new(g, "brands", brands);
    json_object_set_new(g, "participants", parts);
    json_object_set_new(g, "nodes", ns);
    snprintf(genesis_path, sizeof genesis_path, "%s/genesis.json", workdir);
    if (json_dump_file(g, genesis_path, JSON_INDENT(1)) != 0)
        die("cannot write %s", genesis_path);
    json_decref(g);
    char msg[256];
    if (genesis_load(&genesis, genesis_path, msg, sizeof msg) != CHAIN_OK)
        die("genesis: %s", msg);
}

static void start_node(const char *bin, int i)
{
    char id[16], data[PATH_MAX + 16], key[PATH_MAX + 16], log[PATH_MAX + 16];
    snprintf(id, sizeof id, "%d", i + 1);
    if (snprintf(data, sizeof data, "%s/node%d", workdir, i + 1) >= (int)sizeof data ||
        snprintf(key, sizeof key, "%s/node%d.key", workdir, i + 1) >= (int)sizeof key ||
        snprintf(log, sizeof log, "%s/node%d.log", workdir, i + 1) >= (int)sizeof log)
        die("%s", "work directory path too long");
    pid_t pid = fork();
    if (pid < 0)
        die("%s", "fork");
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        setenv("PROVENA_GW_RATE", "off", 1); /* the resolutions all come from 127.0.0.1 */
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        execl(bin, bin, "--genesis", genesis_path, "--id", id, "--data", data, "--key", key,
              "--log-level", getenv("BENCH_KEEP") ? "info" : "warn",
              "--insecure-plaintext", /* on 127.0.0.1, as etcd's peers speak plain http */
              "--conn-per-client", "off", /* every client is on 127.0.0.1, as with wrk */
              (char *)NULL);
        _exit(127);
    }
    nodes[i].pid = pid;
}

/* Index of the node that says it is the leader, or -1. */
static int find_leader(void)
{
    for (int i = 0; i < BENCH_NODES; i++) {
        conn c = {.fd = -1, .port = nodes[i].http_port};
        char body[4096];
        int st = http_do(&c, "GET", BENCH_STATUS_PATH, NULL, NULL, 0, body, sizeof body);
        conn_close(&c);
        if (st == 200 && strstr(body, "\"leader\"") && strstr(body, "\"role\"")) {
            json_t *j = json_loads(body, 0, NULL);
            const char *role = json_string_value(json_object_get(j, "role"));
            int lead = role && strcmp(role, "leader") == 0;
            json_decref(j);
            if (lead)
                return i;
        }
    }
    return -1;
}

/* ---- transactions ---------------------------------------------------------------------- */

typedef struct enc_tx {
    uint8_t *buf;
    size_t len;
} enc_tx;

static void serial_of(char out[GS1_SERIAL_MAX + 1], uint64_t n)
{
    snprintf(out, GS1_SERIAL_MAX + 1, "B%llu", (unsigned long long)(n % 1000000000000000000ull));
}

/* Mints `count` new units (serials unit_seq..) and waits for commit. */
static void mint_units(conn *c, uint64_t count)
{
    while (count > 0) {
        size_t n = count < BENCH_MINT_BATCH ? (size_t)count : BENCH_MINT_BATCH;
        chain_tx tx;
        memset(&tx, 0, sizeof tx);
        tx.type = CHAIN_TX_MINT;
        memcpy(tx.chain, genesis->chain_id, 32);
        tx.nonce = ++brand_nonce;
        tx.time = (uint64_t)time(NULL);
        snprintf(tx.gtin, sizeof tx.gtin, "%s", BENCH_GTIN);
        snprintf(tx.lot, sizeof tx.lot, "BENCH");
        snprintf(tx.model, sizeof tx.model, "bench");
        char(*ser)[GS1_SERIAL_MAX + 1] = calloc(n, sizeof *ser);
        char **serials = calloc(n, sizeof *serials);
        uint8_t(*sigs)[CHAIN_SIG_LEN] = calloc(n, sizeof *sigs);
        if (!ser || !serials || !sigs)
            die("%s", "out of memory");
        for (size_t i = 0; i < n; i++) {
            serial_of(ser[i], unit_seq + i);
            serials[i] = ser[i];
            uint8_t h[32];
            chain_label_hash(h, genesis->chain_id, BENCH_GTIN, ser[i], "BENCH", "");
            if (chain_sign(sigs[i], brand_sk, h) != CHAIN_OK)
                die("%s", "sign");
        }
        tx.serials = serials;
        tx.label_sigs = sigs;
        tx.nunits = n;
        uint8_t *enc;
        size_t len;
        if (chain_tx_sign(&tx, brand_sk) != CHAIN_OK ||
            chain_tx_encode(&enc, &len, &tx) != CHAIN_OK)
            die("%s", "encode mint");
        char body[2048];
        int st = http_do(c, "POST", "/api/v1/tx?wait=60000", "application/cbor", enc, len, body,
                         sizeof body);
        if (st < 0) /* the gateway closes idle keep-alive connections: once more, fresh */
            st = http_do(c, "POST", "/api/v1/tx?wait=60000", "application/cbor", enc, len, body,
                         sizeof body);
        if (st != 200) {
            char what[2100];
            snprintf(what, sizeof what, "%d %.2000s", st, st > 0 ? body : "(no response)");
            die("set-up mint refused: %s", what);
        }
        free(enc);
        free(ser);
        free(serials);
        free(sigs);
        unit_seq += n;
        count -= n;
    }
}

static enc_tx pickup_tx(int carrier, uint64_t unit)
{
    chain_tx tx;
    gs1_sgtin u;
    memset(&tx, 0, sizeof tx);
    memset(&u, 0, sizeof u);
    snprintf(u.gtin, sizeof u.gtin, "%s", BENCH_GTIN);
    serial_of(u.serial, unit);
    tx.type = CHAIN_TX_PICKUP;
    memcpy(tx.chain, genesis->chain_id, 32);
    tx.nonce = ++carrier_nonce[carrier];
    tx.time = (uint64_t)time(NULL);
    tx.units = &u;
    tx.nunits = 1;
    enc_tx e = {0};
    if (chain_tx_sign(&tx, carrier_sk[carrier]) != CHAIN_OK ||
        chain_tx_encode(&e.buf, &e.len, &tx) != CHAIN_OK)
        die("%s", "encode pickup");
    return e;
}

/* A whole HTTP/1.1 request (head and body) in one buffer, sent with one write. */
static enc_tx make_req(int port, const char *method, const char *path, const char *ctype,
                       const uint8_t *body, size_t len)
{
    char hdr[512];
    int hl = snprintf(hdr, sizeof hdr,
                      "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nAccept: application/json\r\n"
                      "%s%s%sContent-Length: %zu\r\n\r\n",
                      method, path, port, ctype ? "Content-Type: " : "", ctype ? ctype : "",
                      ctype ? "\r\n" : "", len);
    if (hl < 0 || (size_t)hl >= sizeof hdr)
        die("%s", "request head too long");
    enc_tx r = {.buf = malloc((size_t)hl + len + 1), .len = (size_t)hl + len};
    if (!r.buf)
        die("%s", "out of memory");
    memcpy(r.buf, hdr, (size_t)hl);
    if (len)
        memcpy(r.buf + hl, body, len);
    return r;
}

static enc_tx pickup_req(int port, int carrier, uint64_t unit)
{
    enc_tx tx = pickup_tx(carrier, unit);
    enc_tx r = make_req(port, "POST", "/api/v1/tx", "application/cbor", tx.buf, tx.len);
    free(tx.buf);
    return r;
}

/* GET of a minted unit's Digital Link as JSON: a resolution, which records a scan. */
static enc_tx resolve_req(int port, uint64_t unit)
{
    char path[128], ser[GS1_SERIAL_MAX + 1];
    serial_of(ser, unit);
    snprintf(path, sizeof path, "/01/%s/21/%s", BENCH_GTIN, ser);
    return make_req(port, "GET", path, NULL, NULL, 0);
}

/* ---- one run --------------------------------------------------------------------------- */

/*
 * The submitters. Each is one keep-alive connection with one request
 * outstanding at a time; BENCH_LOOPS threads multiplex them with epoll, as load
 * generators such as wrk do. The harness shares the machine's two cores with the
 * three nodes: one wake-up per burst of responses leaves them more of it than a
 * thread switch per response did (64 blocking threads took ~5% of the cores).
 * A worker's requests are prebuilt whole (head and body), for our nodes and for
 * etcd alike, so the client does the same work per request for both.
 */
#define BENCH_LOOPS 1

typedef struct worker {
    int port;
    enc_tx *txs;
    size_t n, next; /* txs[next] is the one outstanding (or the next to send) */
    uint64_t *lat;  /* microseconds per tx */
    size_t ok, failed;
    char first_error[600];
    conn *c;
    uint64_t t0;
} worker;

typedef struct loop {
    pthread_t th;
    worker *ws;
    size_t n;
} loop;

static void note_failure(worker *w, int status, const char *body, size_t len)
{
    if (w->failed++ == 0)
        snprintf(w->first_error, sizeof w->first_error, "%d %.*s", status,
                 (int)(len < 500 ? len : 500), body ? body : "");
}

/* Sends w's next request on its connection (opening one if need be), or retires w. */
static void send_next(int ep, worker *w)
{
    while (w->next < w->n) {
        conn *c = w->c;
        if (c->fd < 0) {
            if (conn_open(c, w->port) != 0) {
                note_failure(w, -1, "connect", 7);
                w->next++;
                continue;
            }
            struct epoll_event ev = {.events = EPOLLIN, .data.ptr = w};
            if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev) != 0)
                die("%s", "epoll_ctl");
        }
        w->t0 = now_us();
        if (send_all(c->fd, w->txs[w->next].buf, w->txs[w->next].len, NULL, 0) == 0)
            return;
        note_failure(w, -1, "send", 4);
        conn_close(c); /* closing drops it from the epoll set */
        w->next++;
    }
}

/* Reads what arrived for w; on a whole response, records it and sends the next. */
static void on_readable(int ep, worker *w)
{
    conn *c = w->c;
    for (;;) {
        if (c->have == sizeof c->buf)
            break;
        ssize_t r = recv(c->fd, c->buf + c->have, sizeof c->buf - c->have, MSG_DONTWAIT);
        if (r > 0) {
            c->have += (size_t)r;
            continue;
        }
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (r < 0 && errno == EINTR)
            continue;
        note_failure(w, -1, "connection closed", 17); /* EOF or error mid-request */
        conn_close(c);
        w->next++;
        send_next(ep, w);
        return;
    }
    resp rs;
    long len = resp_len(c, &rs);
    if (len == 0)
        return;
    if (len < 0) {
        note_failure(w, -1, "malformed response", 18);
        conn_close(c);
    } else {
        w->lat[w->next] = now_us() - w->t0;
        if (rs.status == 200) {
            w->ok++;
        } else {
            resp_body(c, &rs);
            note_failure(w, rs.status, c->buf + rs.body_off, rs.body_len);
        }
        resp_drop(c, len);
        if (rs.close_after)
            conn_close(c);
    }
    w->next++;
    send_next(ep, w);
}

static void *loop_main(void *arg)
{
    loop *l = arg;
    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0)
        die("%s", "epoll_create1");
    size_t live = 0;
    for (size_t i = 0; i < l->n; i++) {
        worker *w = &l->ws[i];
        if ((w->c = malloc(sizeof *w->c)) == NULL)
            die("%s", "out of memory");
        w->c->fd = -1;
        w->c->have = 0;
        send_next(ep, w);
        live += w->next < w->n;
    }
    struct epoll_event evs[BENCH_SUBMITTERS_MAX];
    while (live > 0) {
        int k = epoll_wait(ep, evs, BENCH_SUBMITTERS_MAX, 30000);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            die("%s", "no response in 30 s");
        for (int i = 0; i < k; i++) {
            worker *w = evs[i].data.ptr;
            on_readable(ep, w);
            if (w->next >= w->n) {
                conn_close(w->c);
                live--;
            }
        }
    }
    for (size_t i = 0; i < l->n; i++) {
        conn_close(l->ws[i].c);
        free(l->ws[i].c);
    }
    close(ep);
    return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

typedef struct result {
    double tps, p50_ms, p99_ms;
    size_t ok, failed;
    double txs_per_block; /* measured txs over the blocks the run added (our cluster) */
    double busy, iowait;  /* share of all cores' time during the run */
    double client;        /* of which this process (the submitters' event loop) */
    double node_us;       /* CPU time of the three servers per successful request, µs */
} result;

/* utime + stime of process pid in seconds (/proc/pid/stat fields 14 and 15), 0 if gone. */
static double proc_cpu_s(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    const char *p = strrchr(buf, ')'); /* the command name may hold spaces */
    unsigned long long ut = 0, st = 0;
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
        return 0;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* CPU seconds of the servers under test: our nodes or the etcd members. */
static double servers_cpu_s(bool of_etcd)
{
    double s = 0;
    for (int i = 0; i < (of_etcd ? ETCD_MEMBERS : BENCH_NODES); i++)
        s += proc_cpu_s(of_etcd ? etcd[i].pid : nodes[i].pid);
    return s;
}

static double self_cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* Sums of /proc/stat's first line: busy (user..steal but idle, iowait), iowait, all. */
typedef struct cpu_times {
    unsigned long long busy, iowait, total;
} cpu_times;

static cpu_times cpu_now(void)
{
    cpu_times t = {0};
    unsigned long long v[8] = {0};
    FILE *f = fopen("/proc/stat", "r");
    if (f && fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
                    &v[4], &v[5], &v[6], &v[7]) == 8) {
        t.iowait = v[4];
        t.total = v[0] + v[1] + v[2] + v[3] + v[4] + v[5] + v[6] + v[7];
        t.busy = t.total - v[3] - v[4];
    }
    if (f)
        fclose(f);
    return t;
}

/* Height of the ledger as node i sees it (0 when it does not answer). */
static uint64_t head_height(int i)
{
    conn c = {.fd = -1, .port = nodes[i].http_port};
    char body[4096];
    int st = http_do(&c, "GET", "/api/v1/head", NULL, NULL, 0, body, sizeof body);
    conn_close(&c);
    if (st != 200)
        return 0;
    json_t *j = json_loads(body, 0, NULL);
    json_t *h = json_object_get(j, "head");
    uint64_t height = (uint64_t)json_integer_value(json_object_get(h ? h : j, "height"));
    json_decref(j);
    return height;
}

static worker *workers_new(int n, size_t per)
{
    worker *ws = calloc((size_t)n, sizeof *ws);
    if (!ws)
        die("%s", "out of memory");
    for (int s = 0; s < n; s++) {
        ws[s].n = per;
        ws[s].txs = calloc(per, sizeof *ws[s].txs);
        ws[s].lat = calloc(per, sizeof *ws[s].lat);
        if (!ws[s].txs || !ws[s].lat)
            die("%s", "out of memory");
    }
    return ws;
}

/* Runs the prebuilt requests of n workers to the end; frees them. CPU per request
 * is counted on the etcd members or on our nodes. */
static result drive(worker *ws, int n, bool of_etcd)
{
    size_t per = ws[0].n;
    cpu_times c0 = cpu_now();
    double s0 = self_cpu_s(), n0 = servers_cpu_s(of_etcd);
    uint64_t t0 = now_us();
    loop loops[BENCH_LOOPS];
    int nloops = n < BENCH_LOOPS ? n : BENCH_LOOPS;
    for (int l = 0, at = 0; l < nloops; l++) {
        int share = n / nloops + (l < n % nloops);
        loops[l] = (loop){.ws = ws + at, .n = (size_t)share};
        at += share;
        if (pthread_create(&loops[l].th, NULL, loop_main, &loops[l]) != 0)
            die("%s", "pthread_create");
    }
    for (int l = 0; l < nloops; l++)
        pthread_join(loops[l].th, NULL);
    uint64_t elapsed = now_us() - t0;
    if (getenv("BENCH_WINDOWS")) /* CLOCK_MONOTONIC window, for perf record -k CLOCK_MONOTONIC */
        fprintf(stderr, "  window %.6f %.6f\n", (double)t0 / 1e6, (double)(t0 + elapsed) / 1e6);
    cpu_times c1 = cpu_now();
    double s1 = self_cpu_s(), n1 = servers_cpu_s(of_etcd);

    size_t total = (size_t)n * per, k = 0;
    uint64_t *all = calloc(total, sizeof *all);
    if (!all)
        die("%s", "out of memory");
    result r = {0};
    for (int s = 0; s < n; s++) {
        worker *w = &ws[s];
        r.ok += w->ok;
        r.failed += w->failed;
        if (w->failed && r.failed == w->failed)
            fprintf(stderr, "  (worker %d: %zu failed, first: %s)\n", s, w->failed,
                    w->first_error);
        memcpy(all + k, w->lat, per * sizeof *all);
        k += per;
        for (size_t i = 0; i < per; i++)
            free(w->txs[i].buf);
        free(w->txs);
        free(w->lat);
    }
    qsort(all, total, sizeof *all, cmp_u64);
    r.tps = (double)r.ok / ((double)elapsed / 1e6);
    if (c1.total > c0.total) {
        r.busy = (double)(c1.busy - c0.busy) / (double)(c1.total - c0.total);
        r.iowait = (double)(c1.iowait - c0.iowait) / (double)(c1.total - c0.total);
    }
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    r.client = (s1 - s0) / ((double)elapsed / 1e6) / (double)(ncpu > 0 ? ncpu : 1);
    r.node_us = r.ok ? (n1 - n0) * 1e6 / (double)r.ok : 0;
    r.p50_ms = (double)all[total / 2] / 1000.0;
    r.p99_ms = (double)all[(total * 99) / 100] / 1000.0;
    free(all);
    free(ws);
    return r;
}

/* spread: submitters spread over the nodes (2/3 take the forwarding path);
 * otherwise every submitter talks to the leader. */
static result run_once(int submitters, size_t per, bool spread, int leader, conn *admin)
{
    uint64_t first = unit_seq;
    mint_units(admin, (uint64_t)submitters * per);
    worker *ws = workers_new(submitters, per);
    for (int s = 0; s < submitters; s++) {
        ws[s].port = nodes[spread ? s % BENCH_NODES : leader].http_port;
        for (size_t i = 0; i < per; i++)
            ws[s].txs[i] = pickup_req(ws[s].port, s, first + (uint64_t)s * per + i);
    }
    uint64_t h0 = head_height(leader);
    result r = drive(ws, submitters, false);
    uint64_t h1 = head_height(leader);
    /* scans batches share the blocks; a few, so the figure is a close upper bound */
    r.txs_per_block = h1 > h0 ? (double)(submitters * per) / (double)(h1 - h0) : 0;
    return r;
}

/* Resolutions of random minted units (JSON), spread over the nodes. */
static result run_resolve(int conns, size_t per)
{
    worker *ws = workers_new(conns, per);
    for (int s = 0; s < conns; s++) {
        ws[s].port = nodes[s % BENCH_NODES].http_port;
        for (size_t i = 0; i < per; i++)
            ws[s].txs[i] = resolve_req(ws[s].port, (uint64_t)random() % unit_seq);
    }
    return drive(ws, conns, false);
}

static void stop_nodes(void)
{
    for (int i = 0; i < BENCH_NODES; i++)
        if (nodes[i].pid > 0)
            kill(nodes[i].pid, SIGTERM);
    for (int i = 0; i < BENCH_NODES; i++)
        if (nodes[i].pid > 0) {
            int st;
            waitpid(nodes[i].pid, &st, 0);
            nodes[i].pid = 0;
        }
}

/* ---- etcd, the peer ---------------------------------------------------------------------- */

static void b64(char *out, const void *in, size_t len)
{
    EVP_EncodeBlock((unsigned char *)out, in, (int)len);
}

static void etcd_key(char out[64], uint64_t n)
{
    char k[32];
    int kl = snprintf(k, sizeof k, "bench/%012llu", (unsigned long long)n);
    b64(out, k, (size_t)kl);
}

static enc_tx etcd_put_req(int port, uint64_t n)
{
    static char value[ETCD_VALUE_LEN * 4 / 3 + 8];
    if (!value[0]) {
        uint8_t raw[ETCD_VALUE_LEN];
        for (size_t i = 0; i < sizeof raw; i++)
            raw[i] = (uint8_t)random();
        b64(value, raw, sizeof raw);
    }
    char key[64], body[sizeof value + 128];
    etcd_key(key, n);
    int bl = snprintf(body, sizeof body, "{\"key\":\"%s\",\"value\":\"%s\"}", key, value);
    return make_req(port, "POST", "/v3/kv/put", "application/json", (const uint8_t *)body,
                    (size_t)bl);
}

static enc_tx etcd_range_req(int port, uint64_t n)
{
    char key[64], body[160];
    etcd_key(key, n);
    int bl = snprintf(body, sizeof body, "{\"key\":\"%s\",\"serializable\":true}", key);
    return make_req(port, "POST", "/v3/kv/range", "application/json", (const uint8_t *)body,
                    (size_t)bl);
}

static void etcd_stop(void)
{
    for (int i = 0; i < ETCD_MEMBERS; i++)
        if (etcd[i].pid > 0)
            kill(etcd[i].pid, SIGTERM);
    for (int i = 0; i < ETCD_MEMBERS; i++)
        if (etcd[i].pid > 0) {
            int st;
            waitpid(etcd[i].pid, &st, 0);
            etcd[i].pid = 0;
        }
}

/* Index of the member that is the leader (maintenance status), or -1. */
static int etcd_leader(void)
{
    for (int i = 0; i < ETCD_MEMBERS; i++) {
        conn c = {.fd = -1, .port = etcd[i].client_port};
        char body[4096];
        int st = http_do(&c, "POST", "/v3/maintenance/status", "application/json",
                         (const uint8_t *)"{}", 2, body, sizeof body);
        conn_close(&c);
        if (st != 200)
            continue;
        json_t *j = json_loads(body, 0, NULL);
        const char *lead = json_string_value(json_object_get(j, "leader"));
        const char *self =
            json_string_value(json_object_get(json_object_get(j, "header"), "member_id"));
        int is = lead && self && strcmp(lead, self) == 0;
        json_decref(j);
        if (is)
            return i;
    }
    return -1;
}

/* Starts a fresh 3-member cluster (new data dirs, new ports); returns its leader. */
static int etcd_start(void)
{
    char cluster[512] = "";
    size_t off = 0;
    etcd_gen++;
    etcd_seq = 0;
    for (int i = 0; i < ETCD_MEMBERS; i++) {
        etcd[i].client_port = free_port();
        etcd[i].peer_port = free_port();
        off += (size_t)snprintf(cluster + off, sizeof cluster - off,
                                "%se%d=http://127.0.0.1:%d", i ? "," : "", i + 1,
                                etcd[i].peer_port);
    }
    for (int i = 0; i < ETCD_MEMBERS; i++) {
        char name[16], data[PATH_MAX + 32], log[PATH_MAX + 32], client[64], peer[64],
            token[32];
        snprintf(name, sizeof name, "e%d", i + 1);
        snprintf(data, sizeof data, "%s/etcd%d-m%d", workdir, etcd_gen, i + 1);
        snprintf(log, sizeof log, "%s/etcd%d-m%d.log", workdir, etcd_gen, i + 1);
        snprintf(client, sizeof client, "http://127.0.0.1:%d", etcd[i].client_port);
        snprintf(peer, sizeof peer, "http://127.0.0.1:%d", etcd[i].peer_port);
        snprintf(token, sizeof token, "bench-%d-%d", (int)getpid(), etcd_gen);
        pid_t pid = fork();
        if (pid < 0)
            die("%s", "fork");
        if (pid == 0) {
            prctl(PR_SET_PDEATHSIG, SIGKILL);
            int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
            if (fd >= 0) {
                dup2(fd, 1);
                dup2(fd, 2);
            }
            execlp(etcd_bin, etcd_bin, "--name", name, "--data-dir", data,
                   "--listen-client-urls", client, "--advertise-client-urls", client,
                   "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
                   "--initial-cluster", cluster, "--initial-cluster-state", "new",
                   "--initial-cluster-token", token, "--logger", "zap", "--log-level",
                   "warn", (char *)NULL);
            _exit(127);
        }
        etcd[i].pid = pid;
    }
    int leader = -1;
    for (int tries = 0; tries < 300 && leader < 0; tries++) {
        usleep(100000);
        for (int i = 0; i < ETCD_MEMBERS; i++) {
            int st;
            if (waitpid(etcd[i].pid, &st, WNOHANG) == etcd[i].pid) {
                etcd[i].pid = 0;
                die("etcd member exited at start (is etcd installed? logs in %s)", workdir);
            }
        }
        leader = etcd_leader();
    }
    if (leader < 0)
        die("etcd: no leader after 30 s (logs in %s)", workdir);
    return leader;
}

/* `conns` connections, `per` puts each, to the leader or spread over the members. */
static result etcd_puts(int conns, size_t per, bool spread, int leader)
{
    worker *ws = workers_new(conns, per);
    for (int s = 0; s < conns; s++) {
        ws[s].port = etcd[spread ? s % ETCD_MEMBERS : leader].client_port;
        for (size_t i = 0; i < per; i++)
            ws[s].txs[i] = etcd_put_req(ws[s].port, etcd_seq++);
    }
    return drive(ws, conns, true);
}

/* Serializable range reads of random keys put before, spread over the members. */
static result etcd_reads(int conns, size_t per)
{
    worker *ws = workers_new(conns, per);
    for (int s = 0; s < conns; s++) {
        ws[s].port = etcd[s % ETCD_MEMBERS].client_port;
        for (size_t i = 0; i < per; i++)
            ws[s].txs[i] = etcd_range_req(ws[s].port, (uint64_t)random() % etcd_seq);
    }
    return drive(ws, conns, true);
}

/* Puts one key, reads it back serializably from another member: the harness works. */
static bool etcd_check(int leader)
{
    int other = (leader + 1) % ETCD_MEMBERS;
    conn c = {.fd = -1, .port = etcd[leader].client_port};
    enc_tx put = etcd_put_req(c.port, etcd_seq++);
    char body[4096], want[64];
    /* the put's body follows its head; reuse http_do for the status */
    const char *b = memmem(put.buf, put.len, "\r\n\r\n", 4) + 4;
    int st = http_do(&c, "POST", "/v3/kv/put", "application/json", (const uint8_t *)b,
                     put.len - (size_t)(b - (const char *)put.buf), body, sizeof body);
    conn_close(&c);
    free(put.buf);
    if (st != 200)
        return false;
    etcd_key(want, etcd_seq - 1);
    char req[160];
    int rl = snprintf(req, sizeof req, "{\"key\":\"%s\",\"serializable\":true}", want);
    c = (conn){.fd = -1, .port = etcd[other].client_port};
    for (int tries = 0; tries < 50; tries++) { /* a follower applies a moment later */
        st = http_do(&c, "POST", "/v3/kv/range", "application/json", (const uint8_t *)req,
                     (size_t)rl, body, sizeof body);
        if (st == 200 && strstr(body, "\"kvs\"") && strstr(body, want))
            break;
        st = -1;
        usleep(100000);
    }
    conn_close(&c);
    return st == 200;
}

/* ---- main -------------------------------------------------------------------------------- */

enum { ROW_ONE, ROW_LEADER, ROW_SPREAD, ROW_READ, ROWS };

static int cmp_tps(const void *a, const void *b)
{
    double x = ((const result *)a)->tps, y = ((const result *)b)->tps;
    return x < y ? -1 : x > y;
}

static int cmp_p50(const void *a, const void *b)
{
    double x = ((const result *)a)->p50_ms, y = ((const result *)b)->p50_ms;
    return x < y ? -1 : x > y;
}

static int cmp_p99(const void *a, const void *b)
{
    double x = ((const result *)a)->p99_ms, y = ((const result *)b)->p99_ms;
    return x < y ? -1 : x > y;
}

static int cmp_cpu(const void *a, const void *b)
{
    double x = ((const result *)a)->node_us, y = ((const result *)b)->node_us;
    return x < y ? -1 : x > y;
}

/* Median of n runs, figure by figure (of an even n, the upper middle: the 4th of 6). */
static result median_of(const result *rs, int n)
{
    result tmp[2 * BENCH_RUNS], m;
    memcpy(tmp, rs, (size_t)n * sizeof *rs);
    qsort(tmp, (size_t)n, sizeof *tmp, cmp_tps);
    m = tmp[n / 2];
    qsort(tmp, (size_t)n, sizeof *tmp, cmp_p50);
    m.p50_ms = tmp[n / 2].p50_ms;
    qsort(tmp, (size_t)n, sizeof *tmp, cmp_p99);
    m.p99_ms = tmp[n / 2].p99_ms;
    qsort(tmp, (size_t)n, sizeof *tmp, cmp_cpu);
    m.node_us = tmp[n / 2].node_us;
    return m;
}

static const char *row_name[ROWS] = {"1 conn, leader", "64 conns, leader", "64 conns, spread",
                                     "64 conns, reads"};

static void print_run(const char *who, int run, int row, const result *r)
{
    fprintf(stderr,
            "  %s run %d, %-17s: %8.0f /s  p50 %6.2f ms  p99 %6.2f ms  %5.1f txs/block"
            "  cpu %3.0f%% busy (clients %2.0f%%) %3.0f%% iowait  servers %4.0f us/op"
            "  (%zu ok, %zu failed)\n",
            who, run, row_name[row], r->tps, r->p50_ms, r->p99_ms, r->txs_per_block,
            100 * r->busy, 100 * r->client, 100 * r->iowait, r->node_us, r->ok, r->failed);
}

/* One phase of etcd: a fresh cluster, BENCH_RUNS runs of each row, stopped. */
static void etcd_phase(result out[ROWS][2 * BENCH_RUNS], int at, const size_t per[ROWS])
{
    int leader = etcd_start();
    if (!etcd_check(leader))
        die("etcd: a put was not read back (logs in %s)", workdir);
    etcd_puts(BENCH_SUBMITTERS_MAX, 20, true, leader); /* warm-up, unmeasured */
    for (int row = 0; row < ROWS; row++)
        for (int r = 0; r < BENCH_RUNS; r++) {
            result *x = &out[row][at + r];
            if (row == ROW_ONE)
                *x = etcd_puts(1, per[row], false, leader);
            else if (row == ROW_READ)
                *x = etcd_reads(BENCH_SUBMITTERS_MAX, per[row]);
            else
                *x = etcd_puts(BENCH_SUBMITTERS_MAX, per[row], row == ROW_SPREAD, leader);
            print_run("etcd    ", at + r + 1, row, x);
            if (x->failed)
                die("etcd: requests failed (logs in %s)", workdir);
        }
    etcd_stop();
}

static void cleanup_workdir(void)
{
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof cmd, "rm -rf %s", workdir);
    if (getenv("BENCH_KEEP"))
        fprintf(stderr, "kept %s (node logs at log level info)\n", workdir);
    else if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", workdir);
}

/* Each etcd member's process is gone (reaped) and its client port closed. */
static bool etcd_gone(const emember saved[ETCD_MEMBERS])
{
    for (int i = 0; i < ETCD_MEMBERS; i++) {
        if (etcd[i].pid != 0 || kill(saved[i].pid, 0) == 0)
            return false;
        conn c = {.fd = -1};
        if (conn_open(&c, saved[i].client_port) == 0) {
            conn_close(&c);
            return false;
        }
    }
    return true;
}

static int smoke(void)
{
    int leader = etcd_start();
    bool ok = etcd_check(leader);
    emember saved[ETCD_MEMBERS];
    memcpy(saved, etcd, sizeof saved);
    etcd_stop();
    bool gone = etcd_gone(saved);
    printf("etcd smoke: 3 members up, leader e%d; put and serializable read back: %s; "
           "stopped: %s\n",
           leader + 1, ok ? "ok" : "FAILED", gone ? "ok" : "FAILED");
    cleanup_workdir();
    return ok && gone ? 0 : 1;
}

/* etcd's serializable reads alone (for bench/gateway.sh): a fresh cluster, `keys`
 * puts, then three runs of 64 connections reading random keys; prints
 * "reads/s p50_ms p99_ms" of the median run. */
static int reads_only(size_t keys)
{
    int leader = etcd_start();
    if (!etcd_check(leader))
        die("etcd: a put was not read back (logs in %s)", workdir);
    while (etcd_seq < keys) {
        size_t per = (keys - etcd_seq) / BENCH_SUBMITTERS_MAX;
        per = per == 0 ? 1 : per > 500 ? 500 : per;
        result r = etcd_puts(BENCH_SUBMITTERS_MAX, per, true, leader);
        if (r.failed)
            die("etcd: puts failed (logs in %s)", workdir);
    }
    result rs[BENCH_RUNS];
    for (int r = 0; r < BENCH_RUNS; r++) {
        rs[r] = etcd_reads(BENCH_SUBMITTERS_MAX, 500);
        print_run("etcd    ", r + 1, ROW_READ, &rs[r]);
        if (rs[r].failed)
            die("etcd: reads failed (logs in %s)", workdir);
    }
    etcd_stop();
    result m = median_of(rs, BENCH_RUNS);
    printf("%.0f %.2f %.2f\n", m.tps, m.p50_ms, m.p99_ms);
    cleanup_workdir();
    return 0;
}

static const char *verdict(bool ok)
{
    return ok ? "met" : "NOT MET";
}

int main(int argc, char **argv)
{
    char bin[PATH_MAX];
    bool quick = false, with_etcd = true, only_smoke = false;
    long read_keys = 0;
    const char *env = getenv("PROVENA_NODE");
    if (env)
        snprintf(bin, sizeof bin, "%s", env);
    else {
        char self[PATH_MAX];
        ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
        self[n > 0 ? n : 0] = 0;
        char *slash = strrchr(self, '/');
        if (slash)
            *slash = 0;
        snprintf(bin, sizeof bin, "%.*s/../provena-node", PATH_MAX - 20, self);
    }
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0)
            quick = true;
        else if (strcmp(argv[i], "--no-etcd") == 0)
            with_etcd = false;
        else if (strcmp(argv[i], "--etcd-smoke") == 0)
            only_smoke = true;
        else if (strcmp(argv[i], "--etcd-reads") == 0 && i + 1 < argc) {
            char *end;
            read_keys = strtol(argv[++i], &end, 10);
            if (*end || read_keys < 1 || read_keys > 10000000) {
                fprintf(stderr, "bench_cluster: --etcd-reads: not an integer in 1..10000000\n");
                return 2;
            }
        }
        else if (strcmp(argv[i], "--node") == 0 && i + 1 < argc)
            snprintf(bin, sizeof bin, "%s", argv[++i]);
        else {
            fprintf(stderr,
                    "usage: bench_cluster [--quick] [--node PATH] [--no-etcd] [--etcd-smoke] "
                    "[--etcd-reads KEYS]\n");
            return 2;
        }
    }
    etcd_bin = getenv("ETCD") ? getenv("ETCD") : "etcd";
    signal(SIGPIPE, SIG_IGN);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGHUP, on_signal);
    srandom((unsigned)time(NULL));

    snprintf(workdir, sizeof workdir, "/tmp/provena-bench-XXXXXX");
    if (!mkdtemp(workdir))
        die("%s", "mkdtemp");
    if (only_smoke)
        return smoke();
    if (read_keys)
        return reads_only((size_t)read_keys);
    if (access(bin, X_OK) != 0)
        die("no provena-node at %s (build it, or pass --node)", bin);

    const size_t per[ROWS] = {quick ? 200 : 1000, quick ? 50 : 250, quick ? 50 : 250,
                              quick ? 100 : 500};
    result ours[ROWS][BENCH_RUNS], peer[ROWS][2 * BENCH_RUNS];

    if (with_etcd) /* before */
        etcd_phase(peer, 0, per);

    make_genesis();
    for (int i = 0; i < BENCH_NODES; i++)
        start_node(bin, i);
    int leader = -1;
    for (int tries = 0; tries < 300 && leader < 0; tries++) {
        usleep(100000);
        for (int i = 0; i < BENCH_NODES; i++) {
            int st;
            if (waitpid(nodes[i].pid, &st, WNOHANG) == nodes[i].pid) {
                nodes[i].pid = 0;
                die("a node exited at start (logs in %s)", workdir);
            }
        }
        leader = find_leader();
    }
    if (leader < 0)
        die("no leader after 30 s (logs in %s)", workdir);

    conn admin = {.fd = -1, .port = nodes[leader].http_port};
    /* warm-up: a first mint creates LMDB pages, connections between nodes */
    mint_units(&admin, 100);
    for (int row = 0; row < ROWS; row++)
        for (int r = 0; r < BENCH_RUNS; r++) {
            if (row == ROW_READ)
                ours[row][r] = run_resolve(BENCH_SUBMITTERS_MAX, per[row]);
            else
                ours[row][r] = run_once(row == ROW_ONE ? 1 : BENCH_SUBMITTERS_MAX, per[row],
                                        row == ROW_SPREAD, leader, &admin);
            print_run("provena ", r + 1, row, &ours[row][r]);
        }
    conn_close(&admin);
    stop_nodes();

    if (with_etcd) /* after */
        etcd_phase(peer, BENCH_RUNS, per);

    result med[ROWS], pm[ROWS];
    for (int row = 0; row < ROWS; row++) {
        med[row] = median_of(ours[row], BENCH_RUNS);
        if (with_etcd)
            pm[row] = median_of(peer[row], 2 * BENCH_RUNS);
    }

    double load[3] = {0};
    if (getloadavg(load, 3) < 0)
        load[0] = load[1] = load[2] = -1;
    printf("\nbench_cluster: 3 servers on 127.0.0.1, fsync on, one keep-alive connection per "
           "client with one request outstanding; provena: signed single-unit pickups (CBOR POST "
           "/api/v1/tx, waiting for commit) and JSON resolutions of random units (each records "
           "a scan), %zu units minted; etcd %s: 250-byte puts (POST /v3/kv/put), serializable "
           "range reads of random keys (POST /v3/kv/range). Median of %d runs (etcd: %d, "
           "before and after ours). CPU/op: the three servers' CPU time per request. Load "
           "average after the runs: %.2f %.2f %.2f.\n\n",
           (size_t)unit_seq, with_etcd ? "(3 members)" : "(not run)", BENCH_RUNS,
           2 * BENCH_RUNS, load[0], load[1], load[2]);
    printf("| workload | etcd ops/s | p50 ms | p99 ms | CPU/op µs | provena ops/s | p50 ms | "
           "p99 ms | CPU/op µs | ratio | floor |\n");
    printf("|:--|--:|--:|--:|--:|--:|--:|--:|--:|--:|:--|\n");
    static const char *floor_txt[ROWS] = {"p50 <= etcd's", ">= 1.50x, p99 <= etcd's",
                                          ">= 1.50x, p99 <= etcd's", ">= 5.00x, p99 <= 5 ms"};
    static const char *work[ROWS] = {"puts / pickups, 1 conn at the leader",
                                     "puts / pickups, 64 conns at the leader",
                                     "puts / pickups, 64 conns over 3 nodes",
                                     "serializable reads / resolutions, 64 conns over 3 nodes"};
    bool all_ok = true;
    for (int row = 0; row < ROWS; row++) {
        double ratio = with_etcd && pm[row].tps > 0 ? med[row].tps / pm[row].tps : 0;
        bool ok;
        if (row == ROW_ONE)
            ok = med[row].p50_ms <= pm[row].p50_ms;
        else if (row == ROW_READ)
            ok = ratio >= 5.0 && med[row].p99_ms <= 5.0;
        else
            ok = ratio >= 1.5 && med[row].p99_ms <= pm[row].p99_ms;
        if (!with_etcd)
            ok = row == ROW_READ ? med[row].p99_ms <= 5.0 : true;
        all_ok = all_ok && ok;
        if (with_etcd)
            printf("| %s | %.0f | %.2f | %.2f | %.0f | %.0f | %.2f | %.2f | %.0f | %.2fx | %s: %s "
                   "|\n",
                   work[row], pm[row].tps, pm[row].p50_ms, pm[row].p99_ms, pm[row].node_us,
                   med[row].tps, med[row].p50_ms, med[row].p99_ms, med[row].node_us, ratio,
                   floor_txt[row], verdict(ok));
        else
            printf("| %s | - | - | - | - | %.0f | %.2f | %.2f | %.0f | - | %s |\n", work[row],
                   med[row].tps, med[row].p50_ms, med[row].p99_ms, med[row].node_us,
                   floor_txt[row]);
    }
    if (with_etcd) {
        result b[ROWS], a[ROWS];
        for (int row = 0; row < ROWS; row++) {
            b[row] = median_of(peer[row], BENCH_RUNS);
            a[row] = median_of(peer[row] + BENCH_RUNS, BENCH_RUNS);
        }
        printf("\netcd before / after ours (ops/s, the drift within this invocation): "
               "%.0f / %.0f, %.0f / %.0f, %.0f / %.0f, %.0f / %.0f\n",
               b[0].tps, a[0].tps, b[1].tps, a[1].tps, b[2].tps, a[2].tps, b[3].tps, a[3].tps);
    }
    printf("provena txs per block (64 at the leader / spread): %.1f / %.1f\n",
           med[ROW_LEADER].txs_per_block, med[ROW_SPREAD].txs_per_block);
    printf("\nfloors of issue 18: %s\n", with_etcd ? (all_ok ? "all met" : "NOT all met")
                                                  : "not judged (--no-etcd)");
    chain_genesis_free(genesis);
    explicit_bzero(brand_sk, sizeof brand_sk);
    explicit_bzero(carrier_sk, sizeof carrier_sk);
    cleanup_workdir();
    return all_ok ? 0 : 3;
}
