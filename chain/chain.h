/*
 * chain.h — the ledger as a pure library: identity, canonical encoding, keys and
 * signatures, transactions and their rules, blocks, and the LMDB state they build.
 *
 * chain/ knows nothing of Raft, HTTP or sockets. Given the state and a block it
 * verifies and applies every transaction deterministically, using the block's
 * time only, and returns one receipt per transaction. The consensus layer hands
 * it committed blocks as bytes; the gateway reads state through read-only
 * snapshots (chain_rd) that never wait for a block being applied.
 *
 * Conventions (libsecp256k1 style): context first, then outputs, then inputs;
 * outputs are written only on success; every fallible call returns an int from
 * enum chain_err and, where a message helps, fills errmsg[errmsg_len].
 */
#ifndef PROVENA_CHAIN_H
#define PROVENA_CHAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chain/gs1.h"

#define CHAIN_WUR __attribute__((warn_unused_result))

/* ---- sizes and bounds ------------------------------------------------------ */

#define CHAIN_HASH_LEN          32
#define CHAIN_KEY_LEN           32 /* BIP-340 x-only public key */
#define CHAIN_SECKEY_LEN        32
#define CHAIN_SIG_LEN           64
#define CHAIN_ID_MAX            32  /* participant / brand ids: [a-z0-9-_.], 1..32 */
#define CHAIN_NAME_MAX          64  /* display names, models, operators */
#define CHAIN_RESOLVER_MAX      128 /* bytes of a genesis resolver base URL */
#define CHAIN_NOTE_MAX          256
#define CHAIN_ADDR_MAX          127 /* nng or http URL */
#define CHAIN_REGION_MAX        6   /* ISO 3166-1 alpha-2 or a subdivision "DE-BY" */
#define CHAIN_MARKETS_MAX       32
#define CHAIN_REGIONS_MAX       16
#define CHAIN_PREFIXES_MAX      8
#define CHAIN_PREFIX_MAX        12 /* GS1 company prefix, 4..12 digits */
#define CHAIN_CODE_MAX          64 /* one-time claim code, normalized */
#define CHAIN_OFFER_MAX_DAYS    30 /* a transfer offer lapses within this */
#define CHAIN_OFFER_MAX_MS      ((uint64_t)CHAIN_OFFER_MAX_DAYS * 86400000u)
#define CHAIN_MINT_MAX          10000      /* serials per mint transaction */
#define CHAIN_UNITS_MAX         10000      /* units per pickup/deliver/flag/unflag */
#define CHAIN_SCANS_MAX         4096       /* scan records per scans transaction */
#define CHAIN_TX_MAX_BYTES      (2u << 20) /* one encoded transaction */
#define CHAIN_BLOCK_TXS_MAX     8192
#define CHAIN_BLOCK_MAX_BYTES   (32u << 20)
#define CHAIN_BRANDS_MAX        8
#define CHAIN_PARTICIPANTS_MAX  1024 /* in a genesis document */
#define CHAIN_NODES_MAX         16
#define CHAIN_TLS_CERT_MAX      1024 /* a node's pinned TLS certificate, DER */
#define CHAIN_GENESIS_MAX_BYTES (1u << 20)
#define CHAIN_CBOR_DEPTH_MAX    8

/* Average Gregorian month, so warranty arithmetic is integer and deterministic. */
#define CHAIN_MONTH_SECONDS 2629746u

/* ---- errors: stable codes shown to users (chain_err_code) -------------------- */

enum chain_err {
    CHAIN_OK = 0,
    CHAIN_ERR_MALFORMED,           /* "malformed": not a valid encoding / missing field */
    CHAIN_ERR_TOO_LARGE,           /* "too_large": over a CHAIN_*_MAX bound */
    CHAIN_ERR_NON_CANONICAL,       /* "non_canonical": valid CBOR, not the one encoding */
    CHAIN_ERR_BAD_SIGNATURE,       /* "bad_signature" */
    CHAIN_ERR_WRONG_CHAIN,         /* "wrong_chain": signed for another chain id */
    CHAIN_ERR_UNKNOWN_SIGNER,      /* "unknown_signer": role needed, key not registered */
    CHAIN_ERR_REVOKED_SIGNER,      /* "revoked_signer" */
    CHAIN_ERR_WRONG_ROLE,          /* "wrong_role" */
    CHAIN_ERR_STALE_NONCE,         /* "stale_nonce": nonce is not last used + 1 for this signer */
    CHAIN_ERR_UNKNOWN_UNIT,        /* "unknown_unit" */
    CHAIN_ERR_DUPLICATE_UNIT,      /* "duplicate_unit": minting a serial that exists */
    CHAIN_ERR_NOT_OWNER,           /* "not_owner" */
    CHAIN_ERR_NOT_HOLDER,          /* "not_holder": carrier/seller does not hold the unit */
    CHAIN_ERR_BAD_STATE,           /* "bad_state": step out of lifecycle order */
    CHAIN_ERR_FLAGGED,             /* "flagged": recalled/stolen/counterfeit/destroyed blocks it */
    CHAIN_ERR_WARRANTY_EXPIRED,    /* "warranty_expired" */
    CHAIN_ERR_WARRANTY_INACTIVE,   /* "warranty_inactive": not activated / no open claim */
    CHAIN_ERR_BAD_CLAIM_CODE,      /* "bad_claim_code" */
    CHAIN_ERR_BAD_GTIN,            /* "bad_gtin": check digit, or not the brand's prefix */
    CHAIN_ERR_BAD_SERIAL,          /* "bad_serial": not AI 82 charset, 1..20 */
    CHAIN_ERR_UNKNOWN_PARTICIPANT, /* "unknown_participant" */
    CHAIN_ERR_DUPLICATE_PARTICIPANT, /* "duplicate_participant" (id or key in use) */
    CHAIN_ERR_UNKNOWN_NODE,          /* "unknown_node" */
    CHAIN_ERR_DUPLICATE_NODE,        /* "duplicate_node" */
    CHAIN_ERR_DUPLICATE_TX,          /* "duplicate_tx": this exact transaction is already in */
    CHAIN_ERR_BAD_BLOCK,             /* "bad_block": height/prev/root do not link */
    CHAIN_ERR_BAD_GENESIS,           /* "bad_genesis" */
    CHAIN_ERR_NOT_FOUND,             /* "not_found" (reads) */
    CHAIN_ERR_STORAGE,               /* "storage": LMDB failed (message says how) */
    CHAIN_ERR_NOMEM,                 /* "nomem" */
    CHAIN_ERR_INVALID,               /* "invalid": a field value is out of its domain */
    CHAIN_ERR_NO_OFFER,              /* "no_offer": no claim or transfer offer is open */
    CHAIN_ERR_OFFER_EXPIRED,         /* "offer_expired": the transfer offer has lapsed */
    /* A passkey (WebAuthn) assertion refused, each reason its own code: */
    CHAIN_ERR_WEBAUTHN_MALFORMED, /* "webauthn_malformed": authenticatorData, clientDataJSON,
                                     signature or key do not parse */
    CHAIN_ERR_WEBAUTHN_TYPE,      /* "webauthn_type": clientData type is not webauthn.get */
    CHAIN_ERR_WEBAUTHN_CHALLENGE, /* "webauthn_challenge": not signed for this tx id */
    CHAIN_ERR_WEBAUTHN_ORIGIN,    /* "webauthn_origin": origin not allowed (or cross-origin) */
    CHAIN_ERR_WEBAUTHN_RP,        /* "webauthn_rp": rpIdHash is not the network's rp id */
    CHAIN_ERR_WEBAUTHN_PRESENCE,  /* "webauthn_presence": user presence (or verification
                                     the network asks for) not asserted */
    CHAIN_ERR_WEBAUTHN_SIGNATURE, /* "webauthn_signature": ECDSA P-256 does not verify (a
                                     signature that is not DER included) */
    CHAIN_ERR_DISK_FULL, /* "disk_full": a write found no space (ENOSPC, EDQUOT); nothing
                            was written, the same write can succeed once space returns */
    CHAIN_ERR__COUNT
};

/* Stable snake_case code ("bad_signature"); "unknown" for an out-of-range value. */
const char *chain_err_code(int err);
/* Short human sentence for the code. */
const char *chain_strerror(int err);

/* ---- hashing, keys, signatures (libsecp256k1) ------------------------------- */

/* Domain tags: one per purpose, so no hash can be replayed as another. */
#define CHAIN_TAG_TX       "provena/tx/v1"       /* sighash = tx id: unsigned tx CBOR */
#define CHAIN_TAG_BLOCK    "provena/block/v1"    /* block id: header CBOR */
#define CHAIN_TAG_MERKLE   "provena/merkle/v1"   /* interior Merkle nodes */
#define CHAIN_TAG_LABEL    "provena/label/v1"    /* label signature message */
#define CHAIN_TAG_GENESIS  "provena/genesis/v1"  /* chain id */
#define CHAIN_TAG_CLAIM    "provena/claim/v2"    /* what a claim key signs: the new owner */
#define CHAIN_TAG_CLAIMKEY "provena/claimkey/v1" /* code -> one-time claim key (KDF) */
#define CHAIN_TAG_STATE    "provena/state/v1"    /* running state digest */
#define CHAIN_TAG_AUTH     "provena/auth/v1"     /* dashboard login challenges */

/* out = BIP-340 tagged SHA-256 of msg. Thread-safe, never fails. */
void chain_tagged_hash(uint8_t out[CHAIN_HASH_LEN], const char *tag, const uint8_t *msg,
                       size_t len);

/* Fresh secret key from getrandom(2) and its x-only public key. */
int chain_key_generate(uint8_t seckey[CHAIN_SECKEY_LEN], uint8_t pub[CHAIN_KEY_LEN]) CHAIN_WUR;
/* x-only public key of seckey; CHAIN_ERR_INVALID for an invalid key. */
int chain_key_pub(uint8_t pub[CHAIN_KEY_LEN], const uint8_t seckey[CHAIN_SECKEY_LEN]) CHAIN_WUR;
/* BIP-340 signature of a 32-byte message hash (aux randomness from getrandom). */
int chain_sign(uint8_t sig[CHAIN_SIG_LEN], const uint8_t seckey[CHAIN_SECKEY_LEN],
               const uint8_t msg32[CHAIN_HASH_LEN]) CHAIN_WUR;

/* A signer for many messages under one key (a mint signs a label per unit):
 * chain_sign derives the keypair, an EC multiplication as costly as the
 * signature, and reads getrandom on every call; a chain_signer derives the
 * keypair once and draws BIP-340 aux randomness from a hash chain seeded by
 * one getrandom. Its signatures are the ones chain_sign makes and
 * chain_verify checks. One thread uses a signer at a time; signers on
 * different threads are independent. chain_signer_new: CHAIN_ERR_INVALID for
 * an invalid key or no randomness, CHAIN_ERR_NOMEM. chain_signer_free wipes
 * the key material (NULL-safe). */
typedef struct chain_signer chain_signer;
int chain_signer_new(chain_signer **out, const uint8_t seckey[CHAIN_SECKEY_LEN]) CHAIN_WUR;
int chain_signer_sign(chain_signer *s, uint8_t sig[CHAIN_SIG_LEN],
                      const uint8_t msg32[CHAIN_HASH_LEN]) CHAIN_WUR;
void chain_signer_free(chain_signer *s);
/* true when sig is a valid BIP-340 signature of msg32 by pub. Thread-safe. */
bool chain_verify(const uint8_t sig[CHAIN_SIG_LEN], const uint8_t pub[CHAIN_KEY_LEN],
                  const uint8_t msg32[CHAIN_HASH_LEN]);

/* Hex and base64url (no padding). Encoders write a NUL; decoders return the
 * decoded length or -1 on a bad character, wrong length or overflow. */
void chain_hex(char *out, const uint8_t *in, size_t n); /* out: 2n+1 bytes */
int chain_unhex(uint8_t *out, size_t out_len, const char *in, size_t n);

/*
 * Node TLS certificates (tls_cert.c, OpenSSL libcrypto). The ledger pins each
 * node's certificate (genesis, node.add, node.rotate); node-to-node links are
 * mutual TLS trusting exactly the pinned certificates, which never expire.
 * A pinnable certificate is: DER exactly as OpenSSL re-encodes it, X.509 v3,
 * self-signed (its signature verifies with its own key: the operator holds
 * the key), basicConstraints present with CA:FALSE (so a pinned certificate
 * can never vouch for another key), a P-256 EC key, at most
 * CHAIN_TLS_CERT_MAX bytes.
 */
/* CHAIN_OK and fp = SHA-256 of the certificate's SubjectPublicKeyInfo (the key
 * identity: two certificates of one key have the same fp), or
 * CHAIN_ERR_INVALID / _TOO_LARGE with errmsg saying which rule failed. fp may
 * be NULL. Thread-safe. */
int chain_tls_cert_check(uint8_t fp[CHAIN_HASH_LEN], const uint8_t *der, size_t len, char *errmsg,
                         size_t errmsg_len) CHAIN_WUR;
/* A fresh P-256 key and its self-signed certificate (CN = cn, valid from
 * 2000-01-01 to 9999-12-31, i.e. no expiry): *pem is malloc'd and holds the
 * private key then the certificate, PEM (caller wipes and frees); der/der_len
 * the certificate. */
int chain_tls_key_new(char **pem, uint8_t der[CHAIN_TLS_CERT_MAX], size_t *der_len,
                      const char *cn) CHAIN_WUR;
/* The first CERTIFICATE block of a PEM text (other blocks, such as a private
 * key, are skipped) as DER; not checked (use chain_tls_cert_check). */
int chain_tls_cert_from_pem(uint8_t der[CHAIN_TLS_CERT_MAX], size_t *der_len, const char *pem,
                            size_t pem_len) CHAIN_WUR;
/* The ledger's field rules, for documents checked outside chain/ (genesis,
 * scans): s[0..n) need not be NUL-terminated.
 *   text:   valid UTF-8, no control characters (C0, DEL) — names, notes
 *   id:     [a-z0-9._-]{1,CHAIN_ID_MAX}        — participant, brand ids
 *   region: [A-Z]{2}(-[A-Z0-9]{1,3})?          — ISO 3166 country / subdivision
 *   addr:   1..CHAIN_ADDR_MAX printable, no space — node URLs
 *   resolver: http:// or https:// and a host, at most CHAIN_RESOLVER_MAX
 *           printable bytes, no space, '?', '#' nor trailing '/' — the
 *           network's resolver base URL (genesis "resolver", resolver.set)
 *   rp id:  1..CHAIN_RP_ID_MAX of [a-z0-9.-], no leading or trailing '.', not
 *           only digits and dots (WebAuthn refuses an IP address) — a host name
 *   origin: http:// or https:// then 1.. bytes of printable ASCII without
 *           space, '/', '?' or '#', at most CHAIN_ORIGIN_MAX in all —
 *           scheme://host[:port], what a browser writes into clientDataJSON
 *   pub:    a BIP-340 x-only key that parses */
bool chain_text_valid(const char *s, size_t n);
bool chain_id_valid(const char *s, size_t n);
bool chain_region_valid(const char *s, size_t n);
bool chain_addr_valid(const char *s, size_t n);
bool chain_resolver_valid(const char *s, size_t n);
bool chain_rp_id_valid(const char *s, size_t n);
bool chain_origin_valid(const char *s, size_t n);
bool chain_pub_valid(const uint8_t pub[CHAIN_KEY_LEN]);
void chain_b64url(char *out, const uint8_t *in, size_t n); /* out: 4*ceil(n/3)+1 bytes */
int chain_unb64url(uint8_t *out, size_t out_len, const char *in, size_t n);
/* Percent-decoding (RFC 3986 §2.1) of s[0..n) into out, cap bytes with the
 * NUL: the decoded length, or -1 on a truncated or non-hex escape, on a NUL
 * byte (escaped as %00 or raw: refused, so no decoded text is cut short as a
 * C string) and when it does not fit. '+' stays '+'. The one decoder of URL
 * paths and query values (Digital Links, gateway routes). */
int chain_pct_decode(char *out, size_t cap, const char *s, size_t n);

/* Label signature: brand's Schnorr signature over
 * tagged_hash(LABEL, CBOR [chain_id, gtin, serial, lot, expiry]) — what a QR label carries. */
void chain_label_hash(uint8_t out[CHAIN_HASH_LEN], const uint8_t chain_id[CHAIN_HASH_LEN],
                      const char *gtin, const char *serial, const char *lot, const char *expiry);

/* Claim and transfer codes (Crockford base32). The code itself never reaches
 * the ledger: it derives a unit-bound one-time key whose public half the sale
 * (or the owner's transfer offer) commits to, and whose signature over the new
 * owner proves the code was known.
 *
 * chain_code_normalize: out = s[0..n) as Crockford promises to read it — case
 * folded to upper, '-' and ' ' dropped, I and L read as 1, O as 0. Returns the
 * normalized length (1..CHAIN_CODE_MAX), or -1 for any other character
 * (including U), an empty result or one longer than cap-1 / CHAIN_CODE_MAX. */
int chain_code_normalize(char *out, size_t cap, const char *s, size_t n) CHAIN_WUR;

/* The one-time claim key of a code for one unit: seckey = tagged_hash(CLAIMKEY,
 * CBOR [gtin, serial, normalized code, counter]) for the first counter (0, 1,
 * ...) that gives a valid secp256k1 secret key; pub its x-only public key.
 * CHAIN_ERR_INVALID when the code does not normalize. The caller wipes seckey. */
int chain_claim_key(uint8_t seckey[CHAIN_SECKEY_LEN], uint8_t pub[CHAIN_KEY_LEN], const char *gtin,
                    const char *serial, const char *code, size_t code_len) CHAIN_WUR;

/* What a claim key signs: tagged_hash(CLAIM, CBOR [chain_id, gtin, serial,
 * new owner identity]). Binding the owner means a claim seen in flight cannot
 * be redirected to anyone else. */
void chain_claim_msg(uint8_t out[CHAIN_HASH_LEN], const uint8_t chain_id[CHAIN_HASH_LEN],
                     const char *gtin, const char *serial, const uint8_t owner[CHAIN_KEY_LEN]);

/* ---- passkeys (WebAuthn, ES256 over P-256, OpenSSL libcrypto) ---------------- */

#define CHAIN_RP_ID_MAX    253 /* a domain name */
#define CHAIN_ORIGIN_MAX   127 /* "https://shop.example:8443" */
#define CHAIN_ORIGINS_MAX  8
#define CHAIN_CRED_ID_MAX  1023                 /* WebAuthn's own bound on a credential id */
#define CHAIN_P256_PUB_LEN 65                   /* SEC1 uncompressed point 04 || x || y */
#define CHAIN_ADATA_MIN    37                   /* rpIdHash[32] flags[1] signCount[4] */
#define CHAIN_ADATA_MAX    1024                 /* authenticatorData with extensions */
#define CHAIN_CDATA_MAX    1024                 /* clientDataJSON */
#define CHAIN_DER_SIG_MAX  72                   /* DER ECDSA P-256 signature */
#define CHAIN_TAG_PASSKEY  "provena/passkey/v1" /* passkey identity */

/* The network's WebAuthn relying party (genesis "webauthn"). An empty id means
 * passkeys are not accepted on this network. */
typedef struct chain_rp {
    char id[CHAIN_RP_ID_MAX + 1];
    char origins[CHAIN_ORIGINS_MAX][CHAIN_ORIGIN_MAX + 1]; /* exact matches */
    size_t norigins;
    bool require_uv; /* user verification (PIN, biometrics), not just presence */
} chain_rp;

/* What a passkey-signed transaction carries beside its body (the "auth" map):
 * the credential (id and public key: the owner's identity) and one assertion
 * whose challenge is the tx id. Lengths are bounded by the CHAIN_*_MAX above. */
typedef struct chain_passkey_auth {
    uint8_t cred[CHAIN_CRED_ID_MAX];
    size_t cred_len;                 /* 1..CHAIN_CRED_ID_MAX */
    uint8_t pub[CHAIN_P256_PUB_LEN]; /* the COSE ES256 key's x and y, as a SEC1 point */
    uint8_t adata[CHAIN_ADATA_MAX];
    size_t adata_len; /* CHAIN_ADATA_MIN..CHAIN_ADATA_MAX */
    uint8_t cdata[CHAIN_CDATA_MAX];
    size_t cdata_len; /* 1..CHAIN_CDATA_MAX */
    uint8_t sig[CHAIN_DER_SIG_MAX];
    size_t sig_len; /* 8..CHAIN_DER_SIG_MAX */
} chain_passkey_auth;

/* A passkey's identity on the ledger (owner, signer, nonce account): the
 * 32-byte tagged_hash(PASSKEY, CBOR [credential id bstr, public key bstr65]). */
void chain_passkey_id(uint8_t out[CHAIN_HASH_LEN], const uint8_t *cred, size_t cred_len,
                      const uint8_t pub[CHAIN_P256_PUB_LEN]);

/* Parsed clientDataJSON (pointers into a private copy; see chain_webauthn_cdata). */
typedef struct chain_cdata {
    char type[16];
    char challenge[64];
    char origin[CHAIN_ORIGIN_MAX + 1];
    bool cross_origin;
} chain_cdata;

/* Parses clientDataJSON (jansson, duplicate keys refused): an object with
 * string "type", "challenge", "origin", optional boolean "crossOrigin"; other
 * members (topOrigin, tokenBinding, ...) ignored. Over-long values are
 * malformed. CHAIN_OK or CHAIN_ERR_WEBAUTHN_MALFORMED; *out written on success. */
int chain_webauthn_cdata(chain_cdata *out, const uint8_t *json, size_t len, char *errmsg,
                         size_t errmsg_len) CHAIN_WUR;

/* Reads authenticatorData: rpIdHash, flags and the big-endian signature
 * counter. CHAIN_ERR_WEBAUTHN_MALFORMED outside CHAIN_ADATA_MIN..MAX. */
int chain_webauthn_adata(uint8_t rp_hash[CHAIN_HASH_LEN], uint8_t *flags, uint32_t *count,
                         const uint8_t *adata, size_t len) CHAIN_WUR;

/*
 * A passkey assertion is checked in two halves, each refusal with its own code.
 *
 * chain_webauthn_verify_sig: what needs no ledger state, so a node may do it
 * once at admission and the block pre-pass on any thread: both parts parse
 * (_MALFORMED), clientData type "webauthn.get" (_TYPE), challenge =
 * base64url(challenge) (_CHALLENGE), user present (_PRESENCE), and the DER
 * ECDSA P-256 signature over authenticatorData || SHA-256(clientDataJSON) by
 * a->pub (_SIGNATURE; a key off the curve is _MALFORMED). The signature
 * counter is written to *count on success (NULL: not wanted).
 *
 * chain_webauthn_check_rp: what depends on the network's relying party, which
 * governance may change (rp.set), so the rules judge it against the rp in
 * force where the tx is applied: origin one of rp->origins and not
 * crossOrigin (_ORIGIN; also when rp is NULL), rpIdHash = SHA-256(rp->id)
 * (_RP; also when rp has no id: no passkeys), and, when rp->require_uv, user
 * verified (_PRESENCE). Cheap: one SHA-256 and string compares.
 *
 * chain_webauthn_verify: both (the signature half first). All thread-safe.
 */
int chain_webauthn_verify_sig(const chain_passkey_auth *a, const uint8_t challenge[CHAIN_HASH_LEN],
                              uint32_t *count, char *errmsg, size_t errmsg_len) CHAIN_WUR;
int chain_webauthn_check_rp(const chain_rp *rp, const chain_passkey_auth *a, char *errmsg,
                            size_t errmsg_len) CHAIN_WUR;
int chain_webauthn_verify(const chain_rp *rp, const chain_passkey_auth *a,
                          const uint8_t challenge[CHAIN_HASH_LEN], uint32_t *count, char *errmsg,
                          size_t errmsg_len) CHAIN_WUR;

/* ---- roles, lifecycle, flags ---------------------------------------------- */

enum chain_role {
    CHAIN_ROLE_NONE = 0, /* an unregistered key: customers */
    CHAIN_ROLE_BRAND,
    CHAIN_ROLE_CARRIER,
    CHAIN_ROLE_SELLER,
    CHAIN_ROLE_SERVICE,
    CHAIN_ROLE_NODE,
    CHAIN_ROLE__COUNT
};
const char *chain_role_name(int role); /* "brand", "carrier", ... */
int chain_role_parse(const char *s);   /* -1 when unknown */

/*
 * Unit lifecycle:
 *   MINTED --pickup--> IN_TRANSIT --deliver--> DELIVERED --pickup--> IN_TRANSIT ...
 *   DELIVERED (holder is a seller) --sell--> SOLD (claim code) --claim--> OWNED
 *                                  --sell (buyer key)---------------> OWNED
 *   OWNED --transfer--> OWNED
 *   OWNED --transfer.offer--> OWNED (offer open) --claim--> OWNED (new owner)
 *                                                --transfer.cancel / expiry--> OWNED
 * flag destroyed ends every lifecycle step; other flags block sell/transfer.
 */
enum chain_unit_state {
    CHAIN_UNIT_MINTED = 1,
    CHAIN_UNIT_IN_TRANSIT,
    CHAIN_UNIT_DELIVERED,
    CHAIN_UNIT_SOLD,
    CHAIN_UNIT_OWNED,
    CHAIN_UNIT__COUNT
};
const char *chain_unit_state_name(int state); /* "minted", "in_transit", ... */

enum chain_flag {
    CHAIN_FLAG_RECALLED = 1u << 0,
    CHAIN_FLAG_STOLEN = 1u << 1,
    CHAIN_FLAG_COUNTERFEIT = 1u << 2,
    CHAIN_FLAG_DESTROYED = 1u << 3,
};
const char *chain_flag_name(unsigned flag); /* one bit: "recalled", ... */
int chain_flag_parse(const char *s);        /* the bit, or -1 */

enum chain_warranty_outcome {
    CHAIN_OUTCOME_REPAIRED = 1,
    CHAIN_OUTCOME_REPLACED,
    CHAIN_OUTCOME_REJECTED,
};
const char *chain_outcome_name(int outcome);
int chain_outcome_parse(const char *s);

/* ---- transactions ------------------------------------------------------------ */

enum chain_tx_type {
    CHAIN_TX_MINT = 1,
    CHAIN_TX_PICKUP,
    CHAIN_TX_DELIVER,
    CHAIN_TX_SELL,
    CHAIN_TX_CLAIM,
    CHAIN_TX_TRANSFER,
    CHAIN_TX_WARRANTY_ACTIVATE,
    CHAIN_TX_WARRANTY_EXTEND,
    CHAIN_TX_WARRANTY_CLAIM,
    CHAIN_TX_WARRANTY_RESOLVE,
    CHAIN_TX_FLAG,
    CHAIN_TX_UNFLAG,
    CHAIN_TX_PARTICIPANT_ADD,
    CHAIN_TX_PARTICIPANT_REVOKE,
    CHAIN_TX_PARTICIPANT_ROTATE,
    CHAIN_TX_NODE_ADD,
    CHAIN_TX_NODE_REMOVE,
    CHAIN_TX_POLICY_SET,
    CHAIN_TX_SCANS,
    CHAIN_TX_NODE_ROTATE, /* pins a new TLS certificate for a node */
    CHAIN_TX_TRANSFER_OFFER,  /* owner: a one-time offer anyone with its code may claim */
    CHAIN_TX_TRANSFER_CANCEL, /* owner: withdraws the open offer */
    CHAIN_TX_RESOLVER_SET,    /* the network's public resolver base URL (overrides genesis's) */
    CHAIN_TX_RP_SET,          /* the network's WebAuthn relying party (overrides genesis's) */
    CHAIN_TX__COUNT
};
/* "mint", "pickup", ..., "warranty.activate", "participant.add", "policy.set", "scans" */
const char *chain_tx_type_name(int type);
int chain_tx_type_parse(const char *s); /* -1 when unknown */

/* Scan-rule policy. A zero field means "inherit" (lot → gtin → brand → genesis). */
typedef struct chain_policy {
    uint32_t max_clients;           /* distinct scanning clients per unit before suspicious */
    uint32_t travel_kmh;            /* plausible travel speed between two scans */
    uint32_t probe_threshold;       /* unknown-serial probes per GTIN per day → alert */
    uint32_t warranty_months;       /* default when a mint gives none */
    uint8_t unsold_scan_suspicious; /* 1: public scans before sale are suspicious, 2: not */
    uint8_t flagged_markets_only;   /* 1: scans outside a lot's markets are suspicious, 2: not */
} chain_policy;

/* One scan record in a node-signed scans batch. */
enum chain_scan_kind { CHAIN_SCAN_SCAN = 1, CHAIN_SCAN_PROBE, CHAIN_SCAN_REPORT };
typedef struct chain_scan {
    uint8_t kind;                      /* enum chain_scan_kind */
    gs1_sgtin id;                      /* for a probe: the unknown code as scanned */
    uint64_t time;                     /* gateway clock, unix seconds */
    char region[CHAIN_REGION_MAX + 1]; /* "" when unknown */
    uint8_t client[16];                /* keyed, daily-rotated hash: bytes 0..7 the client's network
                                          (/24, /48), 8..15 its address (node/gw_client.c) */
    uint8_t verdict;                   /* verdict the gateway gave (node-defined enum) */
    char note[CHAIN_NOTE_MAX + 1];     /* reports only */
} chain_scan;

/*
 * A decoded transaction. Arrays are heap-owned by the struct and released by
 * chain_tx_free(); a chain_tx built by hand may point arrays at caller memory
 * as long as it is not passed to chain_tx_free().
 * Wire form (canonical CBOR map, keys sorted per RFC 8949 §4.2.1):
 *   {"type": text, "chain": bstr32, "signer": bstr32, "nonce": uint, "time": uint,
 *    "body": map, "sig": bstr64, ["auth": {"pub": bstr65, "sig": bstr (DER),
 *    "cred": bstr, "adata": bstr, "cdata": bstr}]}
 * The tx id / sighash is tagged_hash(TX, encoding of the same map without "sig"
 * and "auth"). A passkey-signed tx has "auth" and a "sig" of 64 zero bytes.
 */
typedef struct chain_tx {
    int type; /* enum chain_tx_type */
    uint8_t chain[CHAIN_HASH_LEN];
    uint8_t signer[CHAIN_KEY_LEN];
    uint64_t nonce;             /* exactly last accepted + 1 per signer, from 1 */
    uint64_t time;              /* signer's clock; informational, never used by rules */
    uint8_t sig[CHAIN_SIG_LEN]; /* all zero when auth is set */
    /* A passkey-signed tx: signer = chain_passkey_id(auth->cred, auth->pub) and
     * auth carries the assertion over the tx id; NULL for a BIP-340 signer.
     * Heap-owned like the arrays below. */
    chain_passkey_auth *auth;

    /* body fields, by type (unused ones zero) */
    char gtin[GS1_GTIN_LEN + 1];        /* mint; policy.set scope ("" = network) */
    char lot[GS1_LOT_MAX + 1];          /* mint; policy.set scope (needs gtin) */
    char expiry[7];                     /* mint: YYMMDD or "" */
    char model[CHAIN_NAME_MAX + 1];     /* mint */
    uint32_t warranty_months;           /* mint (0: policy default), warranty.extend */
    char markets[CHAIN_MARKETS_MAX][3]; /* mint: ISO 3166-1 alpha-2 */
    size_t nmarkets;
    char **serials;                       /* mint: nunits serials */
    uint8_t (*label_sigs)[CHAIN_SIG_LEN]; /* mint: one label signature per serial */
    gs1_sgtin *units;                     /* pickup, deliver, flag, unflag: nunits; others: 1 */
    size_t nunits;
    char to[CHAIN_ID_MAX + 1];  /* deliver: participant id receiving the units */
    uint8_t key[CHAIN_KEY_LEN]; /* sell: buyer key; transfer: new owner;
                                   participant.add/rotate, node.add: public key */
    bool has_key;
    uint8_t claim_key[CHAIN_KEY_LEN];  /* sell with a claim code, transfer.offer: the
                                          code's one-time public key (zero: absent) */
    uint8_t claim_sig[CHAIN_SIG_LEN];  /* claim: that key's signature of chain_claim_msg */
    uint64_t expires;                  /* transfer.offer: block time (ms) it lapses at */
    char region[CHAIN_REGION_MAX + 1]; /* pickup, deliver, sell: where (optional) */
    unsigned reason;                   /* flag, unflag: one enum chain_flag bit */
    int outcome;                       /* warranty.resolve: enum chain_warranty_outcome */
    char note[CHAIN_NOTE_MAX + 1];     /* flag, warranty.claim/resolve: free text */
    char id[CHAIN_ID_MAX + 1];         /* participant.*: participant id
                                          (policy.set scope is gtin + lot: a
                                          "gtin/lot" string does not fit here) */
    char name[CHAIN_NAME_MAX + 1];     /* participant.add: display name; node.add: operator */
    int role;                          /* participant.add */
    char regions[CHAIN_REGIONS_MAX][CHAIN_REGION_MAX + 1]; /* participant.add */
    size_t nregions;
    uint64_t node_id;                   /* node.add, node.remove, node.rotate */
    uint8_t tls[CHAIN_TLS_CERT_MAX];    /* node.add (optional), node.rotate: the node's TLS
                                           certificate, DER (chain_tls_cert_check) */
    size_t tls_len;
    char raft_addr[CHAIN_ADDR_MAX + 1]; /* node.add */
    char http_addr[CHAIN_ADDR_MAX + 1]; /* node.add */
    chain_policy policy;                /* policy.set */
    char resolver[CHAIN_RESOLVER_MAX + 1]; /* resolver.set (chain_resolver_valid) */
    chain_rp rp;       /* rp.set: id and origins (require_uv unused: see rp_uv) */
    uint8_t rp_uv;     /* rp.set "uv_required": 1 true, 2 false, 0 absent (= false) */
    chain_scan *scans; /* scans: nscans records */
    size_t nscans;
    uint64_t dropped; /* scans: records counted but not listed (overload) */
} chain_tx;

/* Releases the arrays a decoder allocated, and zeroes the struct. NULL-safe. */
void chain_tx_free(chain_tx *tx);

/* Canonical CBOR of a signed transaction. *out is malloc'd (caller frees).
 * Fails with CHAIN_ERR_TOO_LARGE / _INVALID when a field is out of bounds. */
int chain_tx_encode(uint8_t **out, size_t *out_len, const chain_tx *tx) CHAIN_WUR;

/* Decodes bytes (≤ CHAIN_TX_MAX_BYTES) into *tx (caller then owns it; release
 * with chain_tx_free). Refuses non-canonical encodings (CHAIN_ERR_NON_CANONICAL),
 * unknown types and fields, out-of-bound arrays, nesting deeper than
 * CHAIN_CBOR_DEPTH_MAX. Checks formats (GTIN check digit, serial charset, …) but
 * no signature or state. *tx is written only on success. */
int chain_tx_decode(chain_tx *tx, const uint8_t *buf, size_t len, char *errmsg,
                    size_t errmsg_len) CHAIN_WUR;

/* The transaction id: tagged_hash(TX, unsigned canonical encoding). */
int chain_tx_id(uint8_t out[CHAIN_HASH_LEN], const chain_tx *tx) CHAIN_WUR;

/* Sets tx->signer from seckey and tx->sig over the tx id. */
int chain_tx_sign(chain_tx *tx, const uint8_t seckey[CHAIN_SECKEY_LEN]) CHAIN_WUR;

/* Stateless admission check of an encoded tx, as the leader does before a tx
 * can reach the log: decodes, checks the chain id and the signature (BIP-340,
 * or a passkey assertion's signature half). With rp not NULL a passkey
 * assertion is also held to that relying party (chain_tx_check_rp); NULL
 * leaves that half to the caller, who judges it against ledger state (a node
 * does so in chain_tx_standing, and the rules at apply). Fills id (the tx id)
 * on success. Thread-safe. */
int chain_tx_precheck(uint8_t id[CHAIN_HASH_LEN], const uint8_t chain_id[CHAIN_HASH_LEN],
                      const chain_rp *rp, const uint8_t *buf, size_t len, char *errmsg,
                      size_t errmsg_len) CHAIN_WUR;

/* The signature check alone, of a decoded tx whose id is id: a BIP-340
 * signature by tx->signer (CHAIN_ERR_BAD_SIGNATURE), or, with tx->auth, the
 * signer being that passkey (CHAIN_ERR_BAD_SIGNATURE) and its assertion
 * (chain_webauthn_verify_sig's codes; with rp not NULL also
 * chain_webauthn_check_rp's against rp). Thread-safe. */
int chain_tx_verify(const chain_rp *rp, const chain_tx *tx, const uint8_t id[CHAIN_HASH_LEN],
                    char *errmsg, size_t errmsg_len) CHAIN_WUR;

/* The relying-party half of a passkey-signed tx (chain_webauthn_check_rp):
 * CHAIN_OK for a tx without auth. Thread-safe. */
int chain_tx_check_rp(const chain_rp *rp, const chain_tx *tx, char *errmsg,
                      size_t errmsg_len) CHAIN_WUR;

/* JSON at the HTTP edge (jansson). to_json returns a new reference (NULL on
 * OOM): {"type","chain","signer","nonce","time","body":{...},"sig"}, binary as
 * lowercase hex. from_json parses the same shape into *tx (caller frees with
 * chain_tx_free); the message names the offending field. */
struct json_t;
struct json_t *chain_tx_to_json(const chain_tx *tx);
int chain_tx_from_json(chain_tx *tx, const struct json_t *j, char *errmsg,
                       size_t errmsg_len) CHAIN_WUR;

/* ---- genesis ---------------------------------------------------------------- */

typedef struct chain_brand {
    char id[CHAIN_ID_MAX + 1];
    char name[CHAIN_NAME_MAX + 1];
    uint8_t pub[CHAIN_KEY_LEN];                              /* admin key */
    char prefixes[CHAIN_PREFIXES_MAX][CHAIN_PREFIX_MAX + 1]; /* GS1 company prefixes */
    size_t nprefixes;
} chain_brand;

typedef struct chain_participant {
    char id[CHAIN_ID_MAX + 1];
    char name[CHAIN_NAME_MAX + 1];
    int role; /* enum chain_role */
    uint8_t pub[CHAIN_KEY_LEN];
    char regions[CHAIN_REGIONS_MAX][CHAIN_REGION_MAX + 1];
    size_t nregions;
    bool revoked;
    char brand[CHAIN_ID_MAX + 1]; /* brand role: which brand */
} chain_participant;

typedef struct chain_node_info {
    uint64_t id;                        /* Raft id, ≥ 1 */
    char operator_id[CHAIN_ID_MAX + 1]; /* participant id of the operator */
    char raft_addr[CHAIN_ADDR_MAX + 1]; /* nng URL, tcp://host:port */
    char http_addr[CHAIN_ADDR_MAX + 1]; /* http://host:port */
    uint8_t pub[CHAIN_KEY_LEN];         /* signs scans batches */
    bool removed;
    uint8_t tls[CHAIN_TLS_CERT_MAX]; /* pinned TLS certificate (DER), tls_len bytes */
    size_t tls_len;                  /* 0: none pinned (plaintext test networks only) */
} chain_node_info;

typedef struct chain_genesis {
    char chain_name[CHAIN_NAME_MAX + 1];
    uint64_t time; /* genesis time, unix seconds */
    chain_brand brands[CHAIN_BRANDS_MAX];
    size_t nbrands;
    chain_participant *participants; /* heap, nparticipants */
    size_t nparticipants;
    chain_node_info nodes[CHAIN_NODES_MAX];
    size_t nnodes;
    chain_policy policy; /* network defaults, all fields set */
    /* The network's public Digital Link resolver base URL ("https://id.acme.com"),
     * what labels carry by default; "" when the genesis names none (the chain id
     * then covers the same fields as before the field existed). */
    char resolver[CHAIN_RESOLVER_MAX + 1];
    /* The WebAuthn relying party customers' passkeys are bound to; rp.id ""
     * (no "webauthn" in the document: the chain id covers it only when present)
     * means the network accepts no passkeys. */
    chain_rp rp;
    uint8_t chain_id[CHAIN_HASH_LEN]; /* tagged_hash(GENESIS, canonical CBOR) */
} chain_genesis;

/* The JSON document is parsed by genesis/genesis.h (genesis_parse); the
 * ledger needs only the struct above and these. */

/* Computes the chain id of a normalized genesis: tagged_hash(GENESIS,
 * canonical CBOR of its fields). CHAIN_OK, CHAIN_ERR_TOO_LARGE (encoding past
 * CHAIN_GENESIS_MAX_BYTES) or CHAIN_ERR_NOMEM; out written only on success. */
int chain_genesis_id(uint8_t out[CHAIN_HASH_LEN], const chain_genesis *g) CHAIN_WUR;
/* Frees a genesis allocated with malloc (participants included). NULL-safe. */
void chain_genesis_free(chain_genesis *g);
/* Lookups in a genesis; NULL when absent. */
const chain_node_info *chain_genesis_node(const chain_genesis *g, uint64_t id);

/* ---- blocks ------------------------------------------------------------------- */

/*
 * Block wire form: canonical CBOR map
 *   {"header": {"height": uint, "prev": bstr32, "time": uint, "txs_root": bstr32,
 *               "proposer": uint},
 *    "txs": [bstr, ...]}     (each element one encoded signed transaction)
 * block id = tagged_hash(BLOCK, encoding of the header map). Height 0 is the
 * genesis pseudo-block whose id is the chain id; block 1 has prev = chain id.
 */
typedef struct chain_block_header {
    uint64_t height;
    uint8_t prev[CHAIN_HASH_LEN];
    uint64_t time; /* proposer's clock, unix milliseconds; never decreases */
    uint8_t txs_root[CHAIN_HASH_LEN];
    uint64_t proposer; /* node id */
} chain_block_header;

/* Merkle root of tx ids (leaves are the ids; an odd node is paired with itself;
 * the root of zero txs is 32 zero bytes). */
void chain_merkle_root(uint8_t out[CHAIN_HASH_LEN], const uint8_t (*ids)[CHAIN_HASH_LEN], size_t n);

/* Builds an encoded block from a header (txs_root is computed here and written
 * back into *hdr) and n encoded transactions. *out malloc'd, caller frees.
 * Transactions that fail to decode are an error (the caller prechecked them). */
int chain_block_build(uint8_t **out, size_t *out_len, chain_block_header *hdr,
                      const uint8_t *const *txs, const size_t *lens, size_t n) CHAIN_WUR;

/* The id of the block with this header: the tagged hash of its canonical
 * encoding (what chain_block_peek computes, without touching the txs). Pure. */
void chain_block_header_id(uint8_t id[CHAIN_HASH_LEN], const chain_block_header *hdr);

/* Decodes the header of an encoded block and computes its id; txs are not
 * decoded. Checks the Merkle root against the carried transactions. */
int chain_block_peek(chain_block_header *hdr, uint8_t id[CHAIN_HASH_LEN], size_t *ntxs,
                     const uint8_t *buf, size_t len) CHAIN_WUR;

/* ---- state ---------------------------------------------------------------------- */

typedef struct chain chain;       /* an open ledger state (LMDB environment) */
typedef struct chain_rd chain_rd; /* a read-only snapshot of it */

typedef struct chain_options {
    size_t map_size; /* LMDB map size in bytes; 0: 64 GiB */
    bool no_sync;    /* tests/benchmarks only: MDB_NOSYNC */
    /* One fsync per commit instead of two (LMDB's MDB_NOMETASYNC): the state
     * stays intact after an OS crash but its last commits may be undone. For
     * a node, whose Raft log keeps every entry after the last marker (and
     * chain_marker_take syncs first), that loses nothing. */
    bool defer_meta_sync;
    unsigned verify_threads; /* threads that decode and verify a block's signatures in a
                                pre-pass (≤ 16); 0 or 1: on the applying thread only */
} chain_options;

/* Opens (creating if needed) the ledger in dir (its own LMDB environment,
 * dir/chain.mdb). A new ledger is initialised from g; an existing one must
 * have been created from a genesis with the same chain id, else
 * CHAIN_ERR_BAD_GENESIS. g is copied; the caller keeps ownership. */
int chain_open(chain **out, const char *dir, const chain_genesis *g, const chain_options *opt,
               char *errmsg, size_t errmsg_len) CHAIN_WUR;
void chain_close(chain *c);

/* Admission: does tx's signer have standing to put tx on the log (see
 * standing.c)? Reads c's applied state in one read transaction. CHAIN_OK, or
 * the code the rules would refuse it with (a passkey assertion that does not
 * fit the relying party in force: chain_webauthn_check_rp's codes;
 * unknown_signer, revoked_signer, unknown_unit, bad_state, bad_claim_code,
 * not_owner) and errmsg filled, or a storage error. tx is borrowed. Thread-safe; never waits for the writer. */
int chain_tx_standing(chain *c, const chain_tx *tx, char *errmsg, size_t errmsg_len) CHAIN_WUR;

/* Transactions this process already verified (a node's admission precheck).
 * When set, chain_block_apply asks known(ctx, id, raw, len) before checking a
 * tx's signature; true must mean these exact bytes (id, signer and signature
 * included) passed chain_tx_precheck in this process, and the signature is then
 * not verified again. Every other tx is verified as usual. The callback may be
 * called from several threads at once (verify_threads). NULL turns it off.
 * Set it before blocks are applied. */
typedef bool (*chain_verified_fn)(void *ctx, const uint8_t id[CHAIN_HASH_LEN], const uint8_t *raw,
                                  size_t len);
void chain_set_verified(chain *c, chain_verified_fn known, void *ctx);
const chain_genesis *chain_genesis_of(const chain *c);

/* The outcome of one transaction in an applied block. */
typedef struct chain_receipt {
    uint8_t tx[CHAIN_HASH_LEN]; /* tx id */
    uint64_t height;            /* block it was first included in */
    uint32_t index;             /* position in that block */
    int code;                   /* CHAIN_OK (accepted) or the refusal */
    char detail[96];            /* e.g. which unit, which nonce was expected */
} chain_receipt;

typedef struct chain_apply_result {
    uint64_t height; /* 0 when the block was skipped */
    uint8_t block_id[CHAIN_HASH_LEN];
    uint8_t state_digest[CHAIN_HASH_LEN];
    int block_code;          /* CHAIN_OK, or CHAIN_ERR_BAD_BLOCK when skipped */
    chain_receipt *receipts; /* ntx, malloc'd; one per transaction in the block,
                                a duplicate of an earlier tx gets the earlier receipt */
    size_t nreceipts;
    /* membership or policy changed in this block: the node reconciles */
    bool members_changed;
} chain_apply_result;
void chain_apply_result_free(chain_apply_result *r);

/*
 * Applies one committed block, identified by the consensus log index that
 * carried it. Deterministic: uses hdr.time only. Idempotent per index: an
 * index ≤ the last applied one changes nothing and returns CHAIN_OK with
 * res->height 0. A block whose height/prev do not extend the head is skipped
 * (block_code CHAIN_ERR_BAD_BLOCK, receipts of code CHAIN_ERR_BAD_BLOCK, no
 * state change except the applied index). One LMDB write transaction per block:
 * the block, every state change, its receipts and the index commit together.
 * Returns nonzero only for local failures (storage, nomem) — then nothing was
 * written. Must be called from one thread at a time.
 */
int chain_block_apply(chain *c, chain_apply_result *res, uint64_t index, const uint8_t *blk,
                      size_t len, char *errmsg, size_t errmsg_len) CHAIN_WUR;

/* chain_block_apply for n blocks in ONE write transaction (one commit, one
 * fsync): index[] must be > 0 and strictly increasing; res[0..n) as for
 * chain_block_apply each. All or nothing: on a local failure nothing of any
 * of them was written and res[] is zeroed. */
int chain_blocks_apply(chain *c, chain_apply_result *res, const uint64_t *index,
                       const uint8_t *const *blks, const size_t *lens, size_t n, char *errmsg,
                       size_t errmsg_len) CHAIN_WUR;

/* What chain_block_peek learns of a block, kept with the tx ids it hashed, so
 * that applying the same bytes later need not hash every tx again. */
typedef struct chain_block_ids {
    chain_block_header hdr;
    uint8_t id[CHAIN_HASH_LEN];
    size_t ntxs;
    uint8_t (*tx_ids)[CHAIN_HASH_LEN]; /* malloc'd, ntxs entries (NULL when none) */
} chain_block_ids;

/* chain_block_peek that also keeps the tx ids: CHAIN_OK with *out filled (free
 * it with chain_block_ids_free), else the peek's error and *out empty. */
int chain_block_peek_ids(chain_block_ids *out, const uint8_t *blk, size_t len) CHAIN_WUR;
void chain_block_ids_free(chain_block_ids *b);

/* chain_blocks_apply, where peeked[i], when not NULL, is chain_block_peek_ids
 * of exactly blks[i] (apply then takes the header, id and tx ids from it
 * instead of hashing the block again). peeked itself may be NULL. */
int chain_blocks_apply_peeked(chain *c, chain_apply_result *res, const uint64_t *index,
                              const uint8_t *const *blks, const size_t *lens,
                              const chain_block_ids *const *peeked, size_t n, char *errmsg,
                              size_t errmsg_len) CHAIN_WUR;

/* The rule by which chain_block_apply decides whether a peeked block links:
 * its header hdr extends a head of (height, id, time) — height + 1, prev = id,
 * time not earlier. Pure; lets a caller follow the committed head ahead of
 * apply. */
bool chain_block_extends(const chain_block_header *hdr, uint64_t height,
                         const uint8_t head_id[CHAIN_HASH_LEN], uint64_t head_time);

/* Bytes of the ledger's database in use (its pages up to the last one
 * written; the file itself may be larger and sparse). Any thread. */
uint64_t chain_storage_bytes(chain *c);

/* Keeps the next `ahead` bytes past the ledger's last page cached as single
 * 4 KiB pages before the database grows into them (see chain/pagecache.c:
 * large page-cache folios make every later page rewrite cost several times
 * more). Grows the file, sparse, to a 2 MiB boundary at least `ahead` past
 * the last page and reads those pages once; does nothing while half a window
 * is still ready. Takes LMDB's write lock for a moment. Call it from one
 * thread, now and then (the node: every 200 ms). CHAIN_OK or STORAGE. */
int chain_storage_prepare(chain *c, uint64_t ahead);

/* Last consensus index applied (0 for a new ledger). */
uint64_t chain_applied_index(chain *c);

/*
 * Catching up by blocks. A lagging node does not take another node's state:
 * it fetches the blocks it misses and re-applies them, so every signature and
 * rule is checked here again.
 *
 * chain_block_replay applies one such block exactly as chain_block_apply
 * would, except that it must extend the head (else CHAIN_ERR_BAD_BLOCK and
 * nothing is written) and the applied consensus index does not move. res as
 * for chain_block_apply. One thread at a time, like chain_block_apply.
 */
int chain_block_replay(chain *c, chain_apply_result *res, const uint8_t *blk, size_t len,
                       char *errmsg, size_t errmsg_len) CHAIN_WUR;

/* Stored blocks from..from+k-1 as one CBOR array of byte strings (*out
 * malloc'd): k ≤ max_blocks and their bytes ≤ max_bytes, but at least one
 * block. *count = k. CHAIN_ERR_NOT_FOUND when there is no block at from. */
int chain_blocks_encode(chain_rd *rd, uint64_t from, size_t max_blocks, size_t max_bytes,
                        uint8_t **out, size_t *out_len, size_t *count) CHAIN_WUR;
/* Reads such an array (untrusted bytes, at most max_blocks blocks of at most
 * CHAIN_BLOCK_MAX_BYTES): blks[i]/lens[i] point into buf. *count written on
 * success only. */
int chain_blocks_split(const uint8_t **blks, size_t *lens, size_t *count, size_t max_blocks,
                       const uint8_t *buf, size_t len, char *errmsg, size_t errmsg_len) CHAIN_WUR;

/* Checks, before anything is applied, that blks[0..n-1] (untrusted, from a
 * peer) are the blocks from..from+n-1 of the one history whose block at
 * from+n-1 has the id top_id: each block peeks (its Merkle root holds), its
 * height is from+i, its prev is the id of the block before it, and the last
 * one's id is top_id. Walks backwards from top_id, so a validly signed fork
 * fails at its first block, before a single one is replayed. On CHAIN_OK
 * writes prev_id = the prev of blks[0] (the id block from-1 must have, to go
 * on backwards); on failure CHAIN_ERR_BAD_BLOCK (does not link, or is not the
 * history top_id commits to) or the peek's error, with errmsg naming the
 * height, and prev_id unchanged. n ≥ 1. Pure, any thread. */
int chain_blocks_verify_back(uint8_t prev_id[CHAIN_HASH_LEN], const uint8_t *const *blks,
                             const size_t *lens, size_t n, uint64_t from,
                             const uint8_t top_id[CHAIN_HASH_LEN], char *errmsg,
                             size_t errmsg_len) CHAIN_WUR;

/* A consensus snapshot of the ledger: where the state is, not the state. */
typedef struct chain_marker_node {
    uint64_t id;
    char http_addr[CHAIN_ADDR_MAX + 1]; /* a gateway that serves the blocks */
} chain_marker_node;
typedef struct chain_marker {
    uint64_t index;  /* consensus index the state was at */
    uint64_t height; /* its head: height, block id, state digest */
    uint8_t id[CHAIN_HASH_LEN];
    uint8_t digest[CHAIN_HASH_LEN];
    size_t nnodes; /* the ledger's nodes at that point (removed ones left out) */
    chain_marker_node nodes[CHAIN_NODES_MAX];
} chain_marker;

/* The marker of the current state as canonical CBOR (*out malloc'd, caller
 * frees; a few hundred bytes whatever the ledger's size). Flushes the ledger
 * to disk first (mdb_env_sync), so a marker never names a state that an OS
 * crash could undo. Any thread. */
int chain_marker_take(chain *c, uint8_t **out, size_t *out_len) CHAIN_WUR;
/* Decodes a marker (bounded; refuses another chain's with CHAIN_ERR_BAD_GENESIS,
 * anything malformed or non-canonical with its code and a message). *out is
 * written only on success. */
int chain_marker_decode(chain_marker *out, const uint8_t *buf, size_t len,
                        const uint8_t chain_id[CHAIN_HASH_LEN], char *errmsg,
                        size_t errmsg_len) CHAIN_WUR;
/* After replaying up to m->height: checks that the head is the marker's
 * (height, block id and state digest; else CHAIN_ERR_BAD_BLOCK, nothing
 * written) and moves the applied index up to m->index. */
int chain_marker_reach(chain *c, const chain_marker *m, char *errmsg, size_t errmsg_len) CHAIN_WUR;

/* ---- reads (any thread; each chain_rd is used by one thread) --------------------- */

int chain_rd_begin(chain *c, chain_rd **out) CHAIN_WUR;
void chain_rd_end(chain_rd *rd);

typedef struct chain_head {
    uint64_t height;            /* 0 before the first block */
    uint8_t id[CHAIN_HASH_LEN]; /* the chain id at height 0 */
    uint64_t time;              /* ms, of the head block */
    uint8_t state_digest[CHAIN_HASH_LEN];
    uint64_t applied_index;
    uint64_t units, txs; /* totals */
} chain_head;
int chain_head_get(chain_rd *rd, chain_head *out) CHAIN_WUR;

typedef struct chain_unit {
    gs1_sgtin id;
    char brand[CHAIN_ID_MAX + 1];
    char lot[GS1_LOT_MAX + 1];
    char expiry[7];
    char model[CHAIN_NAME_MAX + 1];
    uint8_t label_sig[CHAIN_SIG_LEN];
    int state;                     /* enum chain_unit_state */
    unsigned flags;                /* enum chain_flag bits */
    char holder[CHAIN_ID_MAX + 1]; /* participant holding it, "" once sold */
    uint8_t owner[CHAIN_KEY_LEN];
    bool has_owner;
    bool claim_pending;          /* sold with a claim code not yet redeemed, or
                                    (owned) a transfer offer open until offer_expires */
    uint64_t offer_expires;      /* ms; 0 unless a transfer offer is open */
    uint64_t minted_at, sold_at; /* ms */
    uint32_t warranty_months;
    bool warranty_active;
    uint64_t warranty_end; /* ms; 0 until sold */
    uint32_t open_claims;
    uint32_t nevents;
} chain_unit;

int chain_unit_get(chain_rd *rd, chain_unit *out, const char *gtin, const char *serial) CHAIN_WUR;

/* One step of a unit's history. */
typedef struct chain_event {
    uint32_t seq;  /* 0.. in order */
    int type;      /* enum chain_tx_type (mint, pickup, ..., scans never) */
    uint64_t time; /* block time, ms */
    uint64_t height;
    uint32_t index; /* tx position in the block */
    uint8_t tx[CHAIN_HASH_LEN];
    uint8_t actor[CHAIN_KEY_LEN]; /* signer */
    int actor_role;
    char actor_id[CHAIN_ID_MAX + 1]; /* participant id, "" for a customer key */
    char to[CHAIN_ID_MAX + 1];       /* deliver */
    uint8_t key[CHAIN_KEY_LEN];      /* sell/transfer/claim: new owner, when known */
    bool has_key;
    char region[CHAIN_REGION_MAX + 1];
    unsigned reason; /* flag/unflag */
    int outcome;     /* warranty.resolve */
    uint32_t months; /* warranty.extend */
    char note[CHAIN_NOTE_MAX + 1];
} chain_event;

/* Calls fn for each event of the unit in order, from seq `from`, at most `max`
 * (0: all). Cost O(events visited), independent of ledger size. fn returns
 * nonzero to stop early. CHAIN_ERR_NOT_FOUND for an unknown unit. */
typedef int (*chain_event_fn)(void *ctx, const chain_event *ev);
int chain_unit_history(chain_rd *rd, const char *gtin, const char *serial, uint32_t from,
                       uint32_t max, chain_event_fn fn, void *ctx) CHAIN_WUR;

/* A lot: its mint parameters and unit count; units paged in serial order after
 * `after` ("" for the first page). */
typedef struct chain_lot {
    char gtin[GS1_GTIN_LEN + 1];
    char lot[GS1_LOT_MAX + 1];
    char expiry[7];
    char model[CHAIN_NAME_MAX + 1];
    char markets[CHAIN_MARKETS_MAX][3];
    size_t nmarkets;
    uint32_t warranty_months;
    uint64_t units;
    uint64_t minted_at;
} chain_lot;
int chain_lot_get(chain_rd *rd, chain_lot *out, const char *gtin, const char *lot) CHAIN_WUR;
typedef int (*chain_unit_fn)(void *ctx, const gs1_sgtin *id);
int chain_lot_units(chain_rd *rd, const char *gtin, const char *lot, const char *after,
                    uint32_t max, chain_unit_fn fn, void *ctx) CHAIN_WUR;
/* Units whose current owner is key, in id order after `after`. */
int chain_owner_units(chain_rd *rd, const uint8_t key[CHAIN_KEY_LEN], const gs1_sgtin *after,
                      uint32_t max, chain_unit_fn fn, void *ctx) CHAIN_WUR;

/* Receipt of a tx by id, and the encoded tx itself (*raw points into the read
 * snapshot: valid until chain_rd_end). */
int chain_tx_get(chain_rd *rd, chain_receipt *rc, const uint8_t **raw, size_t *raw_len,
                 const uint8_t id[CHAIN_HASH_LEN]) CHAIN_WUR;

/* Encoded block at a height (1..head); *raw valid until chain_rd_end. */
int chain_block_get(chain_rd *rd, const uint8_t **raw, size_t *raw_len, uint64_t height) CHAIN_WUR;

/* Participants (including brand admins as role brand), current registry. */
int chain_participant_get(chain_rd *rd, chain_participant *out, const char *id) CHAIN_WUR;
int chain_participant_by_key(chain_rd *rd, chain_participant *out,
                             const uint8_t key[CHAIN_KEY_LEN]) CHAIN_WUR;
typedef int (*chain_participant_fn)(void *ctx, const chain_participant *p);
int chain_participants(chain_rd *rd, chain_participant_fn fn, void *ctx) CHAIN_WUR;

/* Nodes currently in the network (removed ones excluded). Fills at most max. */
size_t chain_nodes(chain_rd *rd, chain_node_info *out, size_t max);

/* One node's record, removed ones included (out->removed says so). CHAIN_OK,
 * CHAIN_ERR_NOT_FOUND, or CHAIN_ERR_STORAGE; out written only on CHAIN_OK. */
int chain_node_get(chain_rd *rd, uint64_t id, chain_node_info *out) CHAIN_WUR;

/* The nonce the next transaction of key must carry (last used + 1; 1 for a new key). */
uint64_t chain_nonce_next(chain_rd *rd, const uint8_t key[CHAIN_KEY_LEN]);

/* Effective policy for a unit's gtin and lot (lot → gtin → brand → genesis). */
void chain_policy_effective(chain_rd *rd, chain_policy *out, const char *gtin, const char *lot);

/* The network's current public resolver base URL: the last resolver.set
 * accepted, else the genesis's, else "" (none named). CHAIN_OK or a storage
 * error; out is always a terminated string. */
int chain_resolver_current(chain_rd *rd, char out[CHAIN_RESOLVER_MAX + 1]) CHAIN_WUR;

/* The network's WebAuthn relying party in force: the last rp.set accepted,
 * else the genesis's (rp id "" when neither: no passkeys). CHAIN_OK or a
 * storage error; *out is always written (all zero on error). */
int chain_rp_current(chain_rd *rd, chain_rp *out) CHAIN_WUR;

/* ---- scan aggregates (filled by applying scans transactions) ------------------- */

typedef struct chain_scan_stats {
    uint64_t scans;                 /* all recorded scans of the unit */
    uint32_t distinct_clients;      /* distinct client networks (/24, /48) that scanned it */
    uint32_t reports;               /* networks that reported it as a suspected fake */
    uint64_t first_time, last_time; /* seconds */
    char last_region[CHAIN_REGION_MAX + 1];
    uint32_t outside_markets;   /* networks that scanned it outside the lot's markets */
    uint32_t unsold_public;     /* networks that scanned it before its sale */
    uint32_t impossible_travel; /* networks whose scan came faster than policy allows
                                   after the previous one (tx_scans.c) */
    uint32_t nregions;
    char regions[8][CHAIN_REGION_MAX + 1]; /* most recent distinct regions */
} chain_scan_stats;
int chain_scan_stats_get(chain_rd *rd, chain_scan_stats *out, const char *gtin,
                         const char *serial) CHAIN_WUR;

/* Calls fn for every unit with scan aggregates, in key order; fn returns
 * nonzero to stop early. O(units scanned); the caller bounds what it keeps. */
typedef int (*chain_scan_unit_fn)(void *ctx, const gs1_sgtin *id, const chain_scan_stats *st);
int chain_scan_units(chain_rd *rd, chain_scan_unit_fn fn, void *ctx) CHAIN_WUR;

/* Calls fn for every (gtin, day) probe counter: probes and scans of unknown
 * serials of a GTIN on UTC day `day` (unix seconds / 86400). */
typedef int (*chain_probe_fn)(void *ctx, const char *gtin, uint32_t day, uint64_t count);
int chain_probes(chain_rd *rd, chain_probe_fn fn, void *ctx) CHAIN_WUR;

/* Calls fn for every (region, day) count of public scans of known units
 * (kind scan; not probes, not reports) where they happened: region "" when
 * the gateway knew none;
 * day is unix seconds / 86400. In region then day order; fn returns nonzero
 * to stop early. O(regions × days recorded). */
typedef int (*chain_region_fn)(void *ctx, const char *region, uint32_t day, uint64_t count);
int chain_scan_regions(chain_rd *rd, chain_region_fn fn, void *ctx) CHAIN_WUR;

#endif
