/*
 * fuzz_webauthn.c — libFuzzer target for the passkey assertion parsers and
 * verifier (chain/webauthn.c): clientDataJSON, authenticatorData, the DER
 * signature and the P-256 point, all of which come from a browser and reach
 * every node inside a transaction.
 *
 * Input layout: [adata_len u16 BE][cdata_len u16 BE][sig_len u8][pub 65]
 * then adata, cdata, sig. The whole input is also given to the clientDataJSON
 * parser alone. Beyond "does not crash", an accepted clientDataJSON must have
 * NUL-terminated fields that fit, and verify must never accept: the key below
 * is fixed and no input knows its secret.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "chain/chain.h"

#define CHECK(x)                                                                                   \
    do {                                                                                           \
        if (!(x))                                                                                  \
            abort();                                                                               \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    chain_cdata cd;
    char msg[160];
    if (chain_webauthn_cdata(&cd, data, size, msg, sizeof msg) == CHAIN_OK) {
        CHECK(memchr(cd.type, '\0', sizeof cd.type) != NULL);
        CHECK(memchr(cd.challenge, '\0', sizeof cd.challenge) != NULL);
        CHECK(memchr(cd.origin, '\0', sizeof cd.origin) != NULL);
    }
    if (size < 5 + CHAIN_P256_PUB_LEN)
        return 0;
    static chain_passkey_auth a;
    memset(&a, 0, sizeof a);
    size_t al = (size_t)data[0] << 8 | data[1], cl = (size_t)data[2] << 8 | data[3], sl = data[4];
    memcpy(a.pub, data + 5, CHAIN_P256_PUB_LEN);
    const uint8_t *p = data + 5 + CHAIN_P256_PUB_LEN;
    size_t rest = size - 5 - CHAIN_P256_PUB_LEN;
    if (al > CHAIN_ADATA_MAX || cl > CHAIN_CDATA_MAX || sl > CHAIN_DER_SIG_MAX ||
        al + cl + sl > rest)
        return 0;
    memcpy(a.adata, p, al);
    memcpy(a.cdata, p + al, cl);
    memcpy(a.sig, p + al + cl, sl);
    a.adata_len = al;
    a.cdata_len = cl;
    a.sig_len = sl;
    a.cred[0] = 1;
    a.cred_len = 1;
    chain_rp rp;
    memset(&rp, 0, sizeof rp);
    strcpy(rp.id, "localhost");
    strcpy(rp.origins[0], "http://localhost:8101");
    rp.norigins = 1;
    uint8_t challenge[CHAIN_HASH_LEN] = {1};
    uint32_t count;
    int rc = chain_webauthn_verify(&rp, &a, challenge, &count, msg, sizeof msg);
    CHECK(rc >= CHAIN_ERR_WEBAUTHN_MALFORMED && rc <= CHAIN_ERR_WEBAUTHN_SIGNATURE);
    return 0;
}
