/*
 * node.h — provena-node's start-up: one ledger (chain/), the replicated-ledger
 * engine over it (replica/), the scan queue (scan/) and the HTTP gateway
 * (gateway.h), wired together.
 *
 * node_start loads the genesis, opens DIR/chain, opens the engine (consensus
 * on DIR/raft with the ledger as its state machine), then the scan queue and
 * the gateway, which calls the engine and the scan queue directly.
 * node_stop undoes it in reverse: submitters released first (no request
 * waits on them), the gateway, the scan queue, the engine (a leader hands
 * leadership over), then the ledger.
 *
 * Threads: the caller's thread runs start/stop; the engine has its consensus,
 * applier and sweeper threads; the gateway has its worker threads, which
 * block in replica_submit; the scan queue has one flusher thread; node.c
 * adds one monitor thread. Nothing here is a global (the log level is log/'s).
 */
#ifndef PROVENA_NODE_NODE_H
#define PROVENA_NODE_NODE_H

#include <stdbool.h>
#include <stdio.h>
#include <stddef.h>
#include <stdint.h>

#define NODE_WUR __attribute__((warn_unused_result))

/* ---- configuration ------------------------------------------------------------ */

typedef struct node_config {
    const char *genesis_path;    /* genesis JSON file (required) */
    uint64_t id;                 /* this node's Raft id, ≥ 1 (required) */
    const char *data_dir;        /* DIR: DIR/chain and DIR/raft are created (required) */
    const char *key_path;        /* node key file (64 hex chars or 32 raw bytes), or NULL:
                                    scans are then counted but not replicated */
    const char *admin_token;     /* dashboard break-glass token, or NULL */
    const char *tls_cert_pem;    /* gateway certificate chain (PEM text), or NULL: HTTP */
    const char *tls_key_pem;     /* its private key (PEM text); with tls_cert_pem */
    unsigned session_ttl_s;      /* dashboard session lifetime; 0: GW_SESSION_TTL_S */
    const char *peer_ca;         /* CA file for other gateways' https:// in catch-up, or NULL */
    bool join;                   /* not a genesis member: wait to be added by node.add */
    const char *raft_addr;       /* override / required with join: tls+tcp://host:port */
    const char *raft_tls_path;   /* this node's TLS key file (Raft links), or NULL */
    bool insecure_plaintext;     /* allow tcp:// Raft links, no TLS (tests only) */
    const char *http_addr;       /* override / required with join: http://host:port */
    const char *trusted_proxy;   /* fronting proxy's address, or NULL (see gw_config) */
    const char *region_header;   /* header that proxy sets with the region, or NULL */
    const char *geoip4, *geoip6; /* country databases; NULL: Debian's, when installed;
                                    "off": none */
    const char *scan_secret;     /* network secret of client hashes, or NULL */
    unsigned conn_per_client;    /* 0: default; UINT_MAX: no cap */
    double tx_rate;              /* transactions/s per client and per signer; 0: default,
                                    < 0: off */
    unsigned tx_burst;           /* 0: default */
    uint64_t disk_reserve;       /* bytes kept free on the data disk; 0: default */
    uint64_t snapshot_threshold; /* Raft entries between snapshots; 0: consensus default */
    unsigned http_threads;       /* 0: number of cores */
    bool no_sync;                /* benchmarks of the non-durable path only */
} node_config;

typedef struct node node;

/* Starts a node. cfg's strings are copied. Returns 0, or -1 with errmsg naming
 * the step that failed ("open chain /d/chain: bad_genesis: ..."). Blocks only
 * while opening files and binding sockets. */
int node_start(node **out, const node_config *cfg, char *errmsg, size_t errmsg_len) NODE_WUR;

/* Stops and frees a node (NULL-safe): gateway, scan queue, consensus (with a
 * leadership transfer when leader), ledger. Call from the thread that started it. */
void node_stop(node *n);

/* Reads a node key file: 64 hex characters (optionally followed by whitespace)
 * as `provena key new` writes, or exactly 32 raw bytes. 0 or -1 with errmsg. */
int node_key_load(uint8_t seckey[32], const char *path, char *errmsg, size_t errmsg_len) NODE_WUR;

/* ---- secret files (secrets.c) ------------------------------------------------------ */

#define NODE_TOKEN_MAX 256 /* bytes of an admin token */
/* 0 when fd (opened from path) is a regular file no group or other user may
 * read or write; else -1 with errmsg naming what, path, its mode and the chmod
 * that fixes it. Does not close fd. */
int node_secret_fd_check(int fd, const char *what, const char *path, char *errmsg,
                         size_t errmsg_len);
/* Reads the admin token: one line of 1..NODE_TOKEN_MAX printable characters
 * (a trailing newline dropped) from a file that passes node_secret_fd_check.
 * 0 with out NUL-terminated, or -1 with errmsg (out untouched). */
int node_token_file_read(char *out, size_t out_len, const char *path, char *errmsg,
                         size_t errmsg_len);

#define NODE_PEM_MAX (64u << 10) /* bytes of a --tls-cert or --tls-key file */
/* Reads a PEM file of 1..NODE_PEM_MAX bytes (what = the option, for messages)
 * into *out (malloc'd, NUL-terminated; the caller frees, and wipes a key with
 * explicit_bzero first). secret: the file must pass node_secret_fd_check.
 * 0, or -1 with errmsg naming the option and the file (*out untouched). */
int node_pem_file_read(char **out, const char *what, const char *path, bool secret, char *errmsg,
                       size_t errmsg_len) NODE_WUR;

#endif
