/*
 * txtool.c — signs transactions for the cluster tests through the chain API,
 * so the tests need neither the CLI nor a CBOR library in Python.
 *
 * Every command that makes a transaction prints one line per transaction:
 * "<tx id hex> <canonical CBOR hex>", ready for POST /api/v1/tx as
 * application/cbor.
 *
 *   txtool key FILE                 new secret key → FILE (64 hex + "\n", 0600); prints pub
 *   txtool pub FILE                 prints the public key of FILE
 *   txtool id GENESIS               prints the chain id
 *   txtool mint GENESIS KEY NONCE GTIN LOT SERIAL...
 *   txtool mint-seq GENESIS KEY NONCE0 COUNT GTIN LOT PREFIX
 *                                   COUNT one-serial mints, nonces NONCE0.., serials PREFIXn
 *   txtool pickup GENESIS KEY NONCE GTIN SERIAL
 *   txtool tls-key FILE             new node TLS key + certificate → FILE (PEM, 0600);
 *                                   prints the certificate (DER hex)
 *   txtool node-add GENESIS KEY NONCE ID OPERATOR RAFT HTTP NODEPUBHEX [CERTHEX]
 *   txtool node-remove GENESIS KEY NONCE ID
 *   txtool claim GENESIS KEY NONCE GTIN SERIAL CODE
 *                                   a customer's claim of a unit sold with a code
 *   txtool claim-seq GENESIS KEY NONCE0 COUNT GTIN SERIAL CODE
 *                                   COUNT such claims, nonces NONCE0..
 *   txtool id-of CBORHEX            prints the tx id of an encoded tx
 *   txtool node-rotate GENESIS KEY NONCE ID CERTHEX
 *   txtool scans GENESIS KEY NONCE GTIN SERIAL
 *                                   a node-signed batch of one scan record
 *
 * With TXTOOL_JSON=1 in the environment the second field is the JSON form
 * (chain_tx_to_json, compact) instead of CBOR hex.
 */
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "chain/chain.h"
#include "genesis/genesis.h"

static int die(const char *msg)
{
    fprintf(stderr, "txtool: %s\n", msg);
    return 1;
}

static int load_key(uint8_t sk[32], const char *path)
{
    char buf[128];
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    if (n < 64)
        return -1;
    return chain_unhex(sk, 32, buf, 64) == 32 ? 0 : -1;
}

static int emit(const chain_tx *tx)
{
    uint8_t id[CHAIN_HASH_LEN], *enc = NULL;
    size_t len;
    if (chain_tx_id(id, tx) != CHAIN_OK || chain_tx_encode(&enc, &len, tx) != CHAIN_OK)
        return -1;
    char idh[65];
    chain_hex(idh, id, 32);
    const char *js = getenv("TXTOOL_JSON");
    if (js && strcmp(js, "1") == 0) {
        free(enc);
        json_t *j = chain_tx_to_json(tx);
        char *txt = j ? json_dumps(j, JSON_COMPACT) : NULL;
        json_decref(j);
        if (!txt)
            return -1;
        printf("%s %s\n", idh, txt);
        free(txt);
        return 0;
    }
    char *hex = malloc(2 * len + 1);
    if (!hex) {
        free(enc);
        return -1;
    }
    chain_hex(hex, enc, len);
    printf("%s %s\n", idh, hex);
    free(hex);
    free(enc);
    return 0;
}

static void tx_init(chain_tx *tx, const chain_genesis *g, int type, uint64_t nonce)
{
    memset(tx, 0, sizeof *tx);
    tx->type = type;
    memcpy(tx->chain, g->chain_id, 32);
    tx->nonce = nonce;
    tx->time = (uint64_t)time(NULL);
}

static int mint(const chain_genesis *g, const uint8_t sk[32], uint64_t nonce, const char *gtin,
                const char *lot, char **serials, size_t n)
{
    chain_tx tx;
    tx_init(&tx, g, CHAIN_TX_MINT, nonce);
    snprintf(tx.gtin, sizeof tx.gtin, "%s", gtin);
    snprintf(tx.lot, sizeof tx.lot, "%s", lot);
    snprintf(tx.model, sizeof tx.model, "test model");
    uint8_t(*sigs)[CHAIN_SIG_LEN] = calloc(n, sizeof *sigs);
    if (!sigs)
        return -1;
    for (size_t i = 0; i < n; i++) {
        uint8_t h[32];
        chain_label_hash(h, g->chain_id, gtin, serials[i], lot, "");
        if (chain_sign(sigs[i], sk, h) != CHAIN_OK) {
            free(sigs);
            return -1;
        }
    }
    tx.serials = serials;
    tx.label_sigs = sigs;
    tx.nunits = n;
    int rc = chain_tx_sign(&tx, sk) == CHAIN_OK ? emit(&tx) : -1;
    free(sigs);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 3)
        return die("usage: see the comment at the top of txtool.c");
    const char *cmd = argv[1];
    uint8_t sk[32], pub[32];
    char hex[65];

    if (strcmp(cmd, "key") == 0) {
        if (chain_key_generate(sk, pub) != CHAIN_OK)
            return die("key generation failed");
        chain_hex(hex, sk, 32);
        int fd = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd < 0 || write(fd, hex, 64) != 64 || write(fd, "\n", 1) != 1)
            return die("cannot write key file");
        close(fd);
        chain_hex(hex, pub, 32);
        printf("%s\n", hex);
        return 0;
    }
    if (strcmp(cmd, "tls-key") == 0) {
        char *pem;
        uint8_t der[CHAIN_TLS_CERT_MAX];
        size_t dl;
        if (chain_tls_key_new(&pem, der, &dl, "provena test node") != CHAIN_OK)
            return die("cannot make a TLS key");
        int fd = open(argv[2], O_WRONLY | O_CREAT | O_EXCL, 0600);
        size_t pl = strlen(pem);
        bool ok = fd >= 0 && write(fd, pem, pl) == (ssize_t)pl;
        if (fd >= 0)
            close(fd);
        explicit_bzero(pem, pl);
        free(pem);
        if (!ok)
            return die("cannot write the TLS key file");
        char chex[2 * CHAIN_TLS_CERT_MAX + 1];
        chain_hex(chex, der, dl);
        printf("%s\n", chex);
        return 0;
    }
    if (strcmp(cmd, "pub") == 0) {
        if (load_key(sk, argv[2]) != 0 || chain_key_pub(pub, sk) != CHAIN_OK)
            return die("bad key file");
        chain_hex(hex, pub, 32);
        printf("%s\n", hex);
        return 0;
    }
    if (strcmp(cmd, "id-of") == 0) {
        size_t n = strlen(argv[2]) / 2;
        uint8_t *raw = malloc(n ? n : 1), id[32];
        chain_tx tx;
        char m[128];
        if (!raw || chain_unhex(raw, n, argv[2], strlen(argv[2])) != (int)n ||
            chain_tx_decode(&tx, raw, n, m, sizeof m) != CHAIN_OK) {
            free(raw);
            return die("id-of: not the hex of an encoded tx");
        }
        int e = chain_tx_id(id, &tx);
        chain_tx_free(&tx);
        free(raw);
        if (e != CHAIN_OK)
            return die("id-of: no id");
        chain_hex(hex, id, 32);
        printf("%s\n", hex);
        return 0;
    }

    chain_genesis *g;
    char msg[256];
    if (genesis_load(&g, argv[2], msg, sizeof msg) != CHAIN_OK) {
        fprintf(stderr, "txtool: genesis: %s\n", msg);
        return 1;
    }
    int rc = 1;
    if (strcmp(cmd, "id") == 0) {
        chain_hex(hex, g->chain_id, 32);
        printf("%s\n", hex);
        rc = 0;
        goto out;
    }
    if (argc < 5 || load_key(sk, argv[3]) != 0) {
        rc = die("bad arguments or key file");
        goto out;
    }
    uint64_t nonce = strtoull(argv[4], NULL, 10);
    if (strcmp(cmd, "mint") == 0 && argc >= 8) {
        rc = mint(g, sk, nonce, argv[5], argv[6], argv + 7, (size_t)(argc - 7)) ? 1 : 0;
    } else if (strcmp(cmd, "mint-seq") == 0 && argc == 9) {
        unsigned long count = strtoul(argv[5], NULL, 10);
        rc = 0;
        for (unsigned long i = 0; i < count && rc == 0; i++) {
            char serial[GS1_SERIAL_MAX + 1], *s = serial;
            snprintf(serial, sizeof serial, "%s%lu", argv[8], i);
            rc = mint(g, sk, nonce + i, argv[6], argv[7], &s, 1) ? 1 : 0;
        }
    } else if (strcmp(cmd, "pickup") == 0 && argc == 7) {
        chain_tx tx;
        gs1_sgtin u;
        memset(&u, 0, sizeof u);
        snprintf(u.gtin, sizeof u.gtin, "%s", argv[5]);
        snprintf(u.serial, sizeof u.serial, "%s", argv[6]);
        tx_init(&tx, g, CHAIN_TX_PICKUP, nonce);
        tx.units = &u;
        tx.nunits = 1;
        rc = chain_tx_sign(&tx, sk) == CHAIN_OK && emit(&tx) == 0 ? 0 : 1;
    } else if ((strcmp(cmd, "claim") == 0 && argc == 8) ||
               (strcmp(cmd, "claim-seq") == 0 && argc == 9)) {
        bool seq = strcmp(cmd, "claim-seq") == 0;
        unsigned long count = seq ? strtoul(argv[5], NULL, 10) : 1;
        char **a = argv + (seq ? 6 : 5); /* GTIN SERIAL CODE */
        rc = 0;
        for (unsigned long i = 0; i < count && rc == 0; i++) {
            chain_tx tx;
            gs1_sgtin u;
            memset(&u, 0, sizeof u);
            snprintf(u.gtin, sizeof u.gtin, "%s", a[0]);
            snprintf(u.serial, sizeof u.serial, "%s", a[1]);
            tx_init(&tx, g, CHAIN_TX_CLAIM, nonce + i);
            tx.units = &u;
            tx.nunits = 1;
            /* the claim signature of the key the code derives, over this
             * signer (a code that derives no key: a signature of no key) */
            uint8_t csk[CHAIN_SECKEY_LEN], cpub[CHAIN_KEY_LEN], me[CHAIN_KEY_LEN], m[CHAIN_HASH_LEN];
            memset(tx.claim_sig, 0x5a, sizeof tx.claim_sig);
            if (chain_claim_key(csk, cpub, a[0], a[1], a[2], strlen(a[2])) == CHAIN_OK &&
                chain_key_pub(me, sk) == CHAIN_OK) {
                chain_claim_msg(m, g->chain_id, a[0], a[1], me);
                if (chain_sign(tx.claim_sig, csk, m) != CHAIN_OK) {
                    rc = die("claim: cannot sign");
                    goto out;
                }
            }
            rc = chain_tx_sign(&tx, sk) == CHAIN_OK && emit(&tx) == 0 ? 0 : 1;
        }
    } else if (strcmp(cmd, "node-rotate") == 0 && argc == 7) {
        chain_tx tx;
        tx_init(&tx, g, CHAIN_TX_NODE_ROTATE, nonce);
        tx.node_id = strtoull(argv[5], NULL, 10);
        int n = chain_unhex(tx.tls, sizeof tx.tls, argv[6], strlen(argv[6]));
        if (n <= 0) {
            rc = die("cert: not hex");
            goto out;
        }
        tx.tls_len = (size_t)n;
        rc = chain_tx_sign(&tx, sk) == CHAIN_OK && emit(&tx) == 0 ? 0 : 1;
    } else if (strcmp(cmd, "node-add") == 0 && (argc == 10 || argc == 11)) {
        chain_tx tx;
        tx_init(&tx, g, CHAIN_TX_NODE_ADD, nonce);
        tx.node_id = strtoull(argv[5], NULL, 10);
        snprintf(tx.name, sizeof tx.name, "%s", argv[6]);
        snprintf(tx.raft_addr, sizeof tx.raft_addr, "%s", argv[7]);
        snprintf(tx.http_addr, sizeof tx.http_addr, "%s", argv[8]);
        if (chain_unhex(tx.key, 32, argv[9], strlen(argv[9])) != 32) {
            rc = die("node pub: not 64 hex");
            goto out;
        }
        tx.has_key = true;
        if (argc == 11) {
            int n = chain_unhex(tx.tls, sizeof tx.tls, argv[10], strlen(argv[10]));
            if (n <= 0) {
                rc = die("cert: not hex");
                goto out;
            }
            tx.tls_len = (size_t)n;
        }
        rc = chain_tx_sign(&tx, sk) == CHAIN_OK && emit(&tx) == 0 ? 0 : 1;
    } else if (strcmp(cmd, "node-remove") == 0 && argc == 6) {
        chain_tx tx;
        tx_init(&tx, g, CHAIN_TX_NODE_REMOVE, nonce);
        tx.node_id = strtoull(argv[5], NULL, 10);
        rc = chain_tx_sign(&tx, sk) == CHAIN_OK && emit(&tx) == 0 ? 0 : 1;
    } else if (strcmp(cmd, "scans") == 0 && argc == 7) {
        chain_tx tx;
        chain_scan sc;
        memset(&sc, 0, sizeof sc);
        sc.kind = CHAIN_SCAN_SCAN;
        snprintf(sc.id.gtin, sizeof sc.id.gtin, "%s", argv[5]);
        snprintf(sc.id.serial, sizeof sc.id.serial, "%s", argv[6]);
        sc.time = (uint64_t)time(NULL);
        memset(sc.client, 0x42, sizeof sc.client);
        sc.verdict = 1;
        tx_init(&tx, g, CHAIN_TX_SCANS, nonce);
        tx.scans = &sc;
        tx.nscans = 1;
        rc = chain_tx_sign(&tx, sk) == CHAIN_OK && emit(&tx) == 0 ? 0 : 1;
    } else {
        rc = die("unknown command or wrong number of arguments");
    }
out:
    explicit_bzero(sk, sizeof sk);
    chain_genesis_free(g);
    return rc;
}
