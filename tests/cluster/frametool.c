/*
 * frametool.c — sends hand-made Raft frames to a provena-node, for the cluster
 * tests of the consensus guard (tests/cluster/test_raft_guard.py). Frames are
 * encoded by consensus/cons_codec.c, so they are exactly what a peer running
 * this code (or someone who took it) could send.
 *
 *   frametool send TO CHAINHEX FROM_ID FROM_ADDR MSG...
 *   frametool write FILE CHAINHEX FROM_ID FROM_ADDR MSG...  (the frame into FILE)
 *   frametool conf ID=ADDR=ROLE...     prints a configuration's bytes as hex
 *                                      (raft_configuration_encode; ROLE v|s|p)
 * MSG is one of
 *   vote TERM LAST_INDEX LAST_TERM [disrupt] [prevote]
 *   append TERM PREV_INDEX PREV_TERM COMMIT [ENTRY_TERM:TYPE:HEX]...
 *          (TYPE c command, b barrier, g configuration change)
 *   aer TERM REJECTED LAST_INDEX
 *   timeout TERM LAST_INDEX LAST_TERM
 *   snapshot TERM LAST_INDEX LAST_TERM CONF_INDEX CONFHEX DATAHEX
 *   forward HEX...
 * TO is an nng URL (tcp:// or tls+tcp://127.0.0.1:PORT). The tool dials, sends
 * one frame, waits until nng has written it (or 3 s) and exits 0; 1 on any
 * error, 3 when the connection itself failed (for TLS: the handshake was
 * refused). For tls+tcp:// the environment says who the tool is:
 *   FRAMETOOL_TLS_TRUST=HEX      the server's certificate (DER hex) to trust
 *   FRAMETOOL_TLS_KEY=FILE       a key file to present (none: no certificate)
 *   FRAMETOOL_HELLO=FROM:TO      first send a HELLO signed with that key as
 *                                node FROM to node TO
 *   FRAMETOOL_HELLO_CHAIN=HEX    ...naming this chain id (default: CHAINHEX)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <nng/nng.h>
#include <nng/protocol/pipeline0/push.h>

#include "consensus/cons_codec.h"
#include "consensus/cons_tls.h"

static int die(const char *m)
{
    fprintf(stderr, "frametool: %s\n", m);
    return 1;
}

static int unhex(uint8_t *out, size_t max, const char *h, size_t *len)
{
    size_t n = strlen(h);
    if (n % 2 || n / 2 > max)
        return -1;
    for (size_t i = 0; i < n / 2; i++) {
        unsigned v;
        if (sscanf(h + 2 * i, "%2x", &v) != 1)
            return -1;
        out[i] = (uint8_t)v;
    }
    *len = n / 2;
    return 0;
}

static uint64_t u64(const char *s)
{
    return strtoull(s, NULL, 0);
}

/* Build the frame from argv (after FROM_ADDR). */
static int build(uint8_t **out, size_t *out_len, const uint8_t *chain, uint64_t from,
                 const char *from_addr, int argc, char **argv)
{
    if (argc < 1)
        return -1;
    const char *kind = argv[0];
    struct raft_message m;
    memset(&m, 0, sizeof m);
    if (strcmp(kind, "vote") == 0 && argc >= 4) {
        m.type = RAFT_REQUEST_VOTE;
        m.request_vote.term = u64(argv[1]);
        m.request_vote.candidate_id = from;
        m.request_vote.last_log_index = u64(argv[2]);
        m.request_vote.last_log_term = u64(argv[3]);
        for (int i = 4; i < argc; i++) {
            if (strcmp(argv[i], "disrupt") == 0)
                m.request_vote.disrupt_leader = true;
            else if (strcmp(argv[i], "prevote") == 0)
                m.request_vote.pre_vote = true;
            else
                return -1;
        }
    } else if (strcmp(kind, "append") == 0 && argc >= 5) {
        m.type = RAFT_APPEND_ENTRIES;
        struct raft_append_entries *a = &m.append_entries;
        a->term = u64(argv[1]);
        a->prev_log_index = u64(argv[2]);
        a->prev_log_term = u64(argv[3]);
        a->leader_commit = u64(argv[4]);
        unsigned n = (unsigned)(argc - 5);
        a->entries = n ? calloc(n, sizeof *a->entries) : NULL;
        for (unsigned i = 0; i < n; i++) {
            char *spec = argv[5 + i], *c1 = strchr(spec, ':'),
                 *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
            if (!c2)
                return -1;
            struct raft_entry *e = &a->entries[i];
            e->term = strtoull(spec, NULL, 0);
            e->type = c1[1] == 'g' ? RAFT_CHANGE : c1[1] == 'b' ? RAFT_BARRIER : RAFT_COMMAND;
            e->buf.base = malloc(strlen(c2 + 1) / 2 + 1);
            if (unhex(e->buf.base, strlen(c2 + 1) / 2, c2 + 1, &e->buf.len) != 0)
                return -1;
        }
        a->n_entries = n;
    } else if (strcmp(kind, "aer") == 0 && argc == 4) {
        m.type = RAFT_APPEND_ENTRIES_RESULT;
        m.append_entries_result.term = u64(argv[1]);
        m.append_entries_result.rejected = u64(argv[2]);
        m.append_entries_result.last_log_index = u64(argv[3]);
        m.append_entries_result.features = 1;
        m.append_entries_result.capacity = 65535;
    } else if (strcmp(kind, "timeout") == 0 && argc == 4) {
        m.type = RAFT_TIMEOUT_NOW;
        m.timeout_now.term = u64(argv[1]);
        m.timeout_now.last_log_index = u64(argv[2]);
        m.timeout_now.last_log_term = u64(argv[3]);
    } else if (strcmp(kind, "snapshot") == 0 && argc == 7) {
        m.type = RAFT_INSTALL_SNAPSHOT;
        struct raft_install_snapshot *a = &m.install_snapshot;
        a->term = u64(argv[1]);
        a->last_index = u64(argv[2]);
        a->last_term = u64(argv[3]);
        a->conf_index = u64(argv[4]);
        uint8_t *cb = malloc(strlen(argv[5]) / 2 + 1);
        size_t cl;
        int bad = unhex(cb, strlen(argv[5]) / 2, argv[5], &cl) != 0 ||
                  cons_codec_conf_decode(&a->conf, cb, cl) != 0;
        free(cb);
        if (bad)
            return -1;
        a->data.base = malloc(strlen(argv[6]) / 2 + 1);
        if (unhex(a->data.base, strlen(argv[6]) / 2, argv[6], &a->data.len) != 0)
            return -1;
    } else if (strcmp(kind, "forward") == 0 && argc >= 2) {
        size_t n = (size_t)(argc - 1);
        const uint8_t **txs = calloc(n, sizeof *txs);
        size_t *lens = calloc(n, sizeof *lens);
        for (size_t i = 0; i < n; i++) {
            uint8_t *b = malloc(strlen(argv[1 + i]) / 2 + 1);
            if (unhex(b, strlen(argv[1 + i]) / 2, argv[1 + i], &lens[i]) != 0)
                return -1;
            txs[i] = b;
        }
        int rv = cons_codec_encode_forward(out, out_len, chain, from, from_addr, txs, lens, n);
        for (size_t i = 0; i < n; i++)
            free((void *)txs[i]);
        free(txs);
        free(lens);
        return rv;
    } else {
        return -1;
    }
    int rv = cons_codec_encode_raft(out, out_len, chain, from, from_addr, &m);
    if (m.type == RAFT_APPEND_ENTRIES) {
        for (unsigned i = 0; i < m.append_entries.n_entries; i++)
            free(m.append_entries.entries[i].buf.base);
        free(m.append_entries.entries);
    } else if (m.type == RAFT_INSTALL_SNAPSHOT) {
        raft_configuration_close(&m.install_snapshot.conf);
        free(m.install_snapshot.data.base);
    }
    return rv;
}

/* The TLS client configuration the environment describes (see the top). */
static int tls_client(nng_tls_config **out, cons_tls_id *id, bool *have_id)
{
    const char *trust = getenv("FRAMETOOL_TLS_TRUST"), *key = getenv("FRAMETOOL_TLS_KEY");
    nng_tls_config *cfg;
    char e[256];
    *have_id = false;
    if (nng_tls_config_alloc(&cfg, NNG_TLS_MODE_CLIENT) != 0)
        return die("tls config");
    if (key) {
        if (cons_tls_id_load(id, key, e, sizeof e) != 0) {
            fprintf(stderr, "frametool: %s\n", e);
            return 1;
        }
        *have_id = true;
        if (nng_tls_config_own_cert(cfg, id->cert_pem, id->key_pem, NULL) != 0)
            return die("tls own cert");
    }
    if (trust) {
        uint8_t der[CONS_TLS_CERT_MAX];
        size_t dl;
        cons_tls_pin pin;
        if (unhex(der, sizeof der, trust, &dl) != 0 || !cons_tls_pin_make(&pin, 1, der, dl))
            return die("FRAMETOOL_TLS_TRUST: not a DER certificate in hex");
        const cons_tls_pin *t[1] = {&pin};
        nng_tls_config *tmp;
        nng_tls_config_free(cfg);
        if (cons_tls_config(&tmp, NNG_TLS_MODE_CLIENT, *have_id ? id : NULL, t, 1) != 0)
            return die("tls config");
        cfg = tmp;
        cons_tls_pin_free(&pin);
    }
    nng_tls_config_auth_mode(cfg, NNG_TLS_AUTH_MODE_REQUIRED);
    *out = cfg;
    return 0;
}

static int send_frame(const char *to, const uint8_t *chain, uint8_t *buf, size_t len)
{
    nng_socket s;
    if (nng_push0_open(&s) != 0)
        return die("nng push socket");
    nng_socket_set_ms(s, NNG_OPT_SENDTIMEO, 3000);
    nng_dialer d;
    cons_tls_id id = {0};
    bool have_id = false;
    int rv = nng_dialer_create(&d, s, to);
    if (rv == 0 && strncmp(to, "tls+tcp://", 10) == 0) {
        nng_tls_config *cfg;
        if (tls_client(&cfg, &id, &have_id) != 0) {
            nng_close(s);
            return 1;
        }
        rv = nng_dialer_set_ptr(d, NNG_OPT_TLS_CONFIG, cfg);
        nng_tls_config_free(cfg);
    }
    if (rv == 0)
        rv = nng_dialer_start(d, 0);
    if (rv != 0) {
        fprintf(stderr, "frametool: dial %s: %s\n", to, nng_strerror(rv));
        nng_close(s);
        cons_tls_id_free(&id);
        return 3;
    }
    const char *hello = getenv("FRAMETOOL_HELLO");
    if (hello) {
        uint64_t from = 0, hto = 0;
        uint8_t hchain[CONS_CHAIN_ID_LEN], sig[CONS_HELLO_SIG_MAX], *hb;
        size_t hcl = sizeof hchain, hl;
        const char *hc = getenv("FRAMETOOL_HELLO_CHAIN");
        if (hc ? unhex(hchain, sizeof hchain, hc, &hcl) != 0 || hcl != sizeof hchain
               : (memcpy(hchain, chain, sizeof hchain), 0))
            return die("FRAMETOOL_HELLO_CHAIN: 64 hex digits");
        if (!have_id || sscanf(hello, "%lu:%lu", &from, &hto) != 2)
            return die("FRAMETOOL_HELLO=FROM:TO needs FRAMETOOL_TLS_KEY");
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        uint64_t ts = (uint64_t)now.tv_sec * 1000 + (uint64_t)now.tv_nsec / 1000000;
        size_t sl = cons_tls_hello_sign(&id, sig, hchain, from, hto, ts);
        if (sl == 0 || cons_codec_encode_hello(&hb, &hl, hchain, from, "tls+tcp://127.0.0.1:1", hto,
                                               ts, sig, sl) != 0)
            return die("hello");
        rv = nng_send(s, hb, hl, 0);
        free(hb);
        if (rv != 0)
            return die("send hello");
    }
    cons_tls_id_free(&id);
    rv = nng_send(s, buf, len, 0);
    if (rv != 0) {
        fprintf(stderr, "frametool: send: %s\n", nng_strerror(rv));
        nng_close(s);
        return 1;
    }
    /* nng has no linger: give the pipe time to write, then leave the socket
     * to the process's exit. nng 1.5.2's nng_close can wait without end on a
     * pipe the node is tearing down at that instant (a refused HELLO): seen as
     * a frametool that never returned under ASan. The tool exits right after
     * this; the kernel closes the connection. */
    struct timespec ts = {0, 300 * 1000 * 1000};
    nanosleep(&ts, NULL);
    return 0;
}

static int cmd_conf(int argc, char **argv)
{
    struct raft_configuration conf;
    raft_configuration_init(&conf);
    for (int i = 0; i < argc; i++) {
        char *spec = strdup(argv[i]), *a = strchr(spec, '='), *r = a ? strrchr(a + 1, '=') : NULL;
        if (!r)
            return die("conf: ID=ADDR=ROLE");
        *a = *r = 0;
        int role = r[1] == 'v' ? RAFT_VOTER : r[1] == 's' ? RAFT_STANDBY : RAFT_SPARE;
        if (raft_configuration_add(&conf, u64(spec), a + 1, role) != 0)
            return die("conf: bad server");
        free(spec);
    }
    struct raft_buffer b;
    if (raft_configuration_encode(&conf, &b) != 0)
        return die("conf: encode");
    for (size_t i = 0; i < b.len; i++)
        printf("%02x", ((uint8_t *)b.base)[i]);
    printf("\n");
    raft_free(b.base);
    raft_configuration_close(&conf);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "conf") == 0)
        return cmd_conf(argc - 2, argv + 2);
    if (argc < 7 || (strcmp(argv[1], "send") != 0 && strcmp(argv[1], "write") != 0))
        return die("usage: frametool send|write TO|FILE CHAINHEX FROM_ID FROM_ADDR MSG...");
    uint8_t chain[CONS_CHAIN_ID_LEN];
    size_t cl;
    if (unhex(chain, sizeof chain, argv[3], &cl) != 0 || cl != sizeof chain)
        return die("CHAINHEX: 64 hex digits");
    uint8_t *buf;
    size_t len;
    if (build(&buf, &len, chain, u64(argv[4]), argv[5], argc - 6, argv + 6) != 0)
        return die("cannot build that message (see the usage at the top of frametool.c)");
    int rv;
    if (strcmp(argv[1], "write") == 0) {
        FILE *f = fopen(argv[2], "wb");
        rv = !f || fwrite(buf, 1, len, f) != len;
        if (f)
            fclose(f);
    } else {
        rv = send_frame(argv[2], chain, buf, len);
    }
    free(buf);
    return rv;
}
