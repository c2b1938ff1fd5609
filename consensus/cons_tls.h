/*
 * cons_tls.h — the TLS identities of consensus links (consensus-private).
 *
 * Trust model: every node has a P-256 key and a self-signed CA:FALSE
 * certificate; the ledger pins each member's certificate (genesis, node.add,
 * node.rotate). A listener trusts exactly the pinned certificates of the
 * current members, a dialer exactly the pinned certificate of the one peer it
 * dials, and both sides require the other's certificate, so no stranger can
 * complete a handshake. nng 1.5.2 does not say which certificate a pipe's peer
 * presented, so the first frame a dialer sends on each connection is a HELLO
 * signed with its TLS key over (chain id, sender id, receiver id, time): the
 * receiver checks it against the sender's pinned certificate and only then
 * takes frames from that pipe, and only frames naming that sender.
 *
 * Threads: every function may be called from any thread; a cons_tls_id is
 * immutable once loaded and a cons_tls_pin once made.
 */
#ifndef CONS_TLS_H
#define CONS_TLS_H

#include <nng/nng.h>
#include <nng/supplemental/tls/tls.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "consensus/cons_codec.h"

#define CONS_TLS_CERT_MAX  CONS_PEER_CERT_MAX /* DER certificate */
#define CONS_TLS_FILE_MAX  16384              /* a key file: private key + certificate, PEM */
#define CONS_HELLO_SKEW_MS (15 * 60000)       /* HELLO clock difference accepted */

/* This node's identity: its key and certificate, from the key file. */
typedef struct cons_tls_id {
    void *key;                /* EVP_PKEY */
    char *cert_pem, *key_pem; /* for nng; key_pem wiped on free */
    uint8_t der[CONS_TLS_CERT_MAX];
    size_t der_len;
    uint8_t fp[32];                /* SHA-256 of the SubjectPublicKeyInfo */
    long long mtime_ns, size, ino; /* of the file when read (reload check) */
} cons_tls_id;

/* Read path (a PEM file holding a private key and a certificate of that key,
 * as `provena key new --tls` writes). Refuses a group- or world-readable file,
 * one over CONS_TLS_FILE_MAX, a certificate that is not of the key. On failure
 * *id is untouched and errmsg says why. */
int cons_tls_id_load(cons_tls_id *id, const char *path, char *errmsg, size_t errmsg_len)
    __attribute__((warn_unused_result));
/* true when the file at path is no longer the one id was read from. */
bool cons_tls_id_changed(const cons_tls_id *id, const char *path);
void cons_tls_id_free(cons_tls_id *id);

/* A member's pinned certificate: its key, ready to verify HELLOs. */
typedef struct cons_tls_pin {
    uint64_t id;
    uint8_t der[CONS_TLS_CERT_MAX];
    size_t der_len;
    uint8_t fp[32];
    void *key; /* EVP_PKEY; NULL when the certificate does not parse */
} cons_tls_pin;

/* Fill pin from a DER certificate; false when it does not parse. */
bool cons_tls_pin_make(cons_tls_pin *pin, uint64_t id, const uint8_t *der, size_t len);
void cons_tls_pin_free(cons_tls_pin *pin);

/* An nng TLS configuration: this identity (NULL: none, for tests of a client
 * without a certificate), trusting exactly the n certificates given, peer
 * authentication required. *out owned by the caller
 * (nng_tls_config_free). */
int cons_tls_config(nng_tls_config **out, nng_tls_mode mode, const cons_tls_id *self,
                    const cons_tls_pin *const *trust, size_t n) __attribute__((warn_unused_result));

/* HELLO signature by self over (chain, from, to, ts_ms); returns its length,
 * 0 on failure. */
size_t cons_tls_hello_sign(const cons_tls_id *self, uint8_t sig[CONS_HELLO_SIG_MAX],
                           const uint8_t *chain, uint64_t from, uint64_t to, uint64_t ts_ms);
/* true when sig is pin's HELLO signature over (chain, from, to, ts_ms). */
bool cons_tls_hello_verify(const cons_tls_pin *pin, const uint8_t *sig, size_t sig_len,
                           const uint8_t *chain, uint64_t from, uint64_t to, uint64_t ts_ms);

#endif
