/*
 * gw_session.c — who may open the dashboard: a key the ledger names as a
 * current brand key, proven by a signature over a challenge this node issued.
 *
 *   POST /api/v1/dashboard/challenge   → a fresh 32-byte challenge (single use,
 *                                        GW_CHALLENGE_TTL_S to answer)
 *   POST /api/v1/dashboard/session     {challenge, key, sig} → a session token
 *                                        (JSON and an HttpOnly cookie)
 *   POST /api/v1/dashboard/logout      ends the presented session
 *   GET/POST /dashboard/login          a form that turns a token into the cookie
 *
 * The signature is BIP-340 by `key` over tagged_hash(GW_TAG_DASH_LOGIN,
 * chain id ‖ challenge), so a login signed for one network or one challenge is
 * worth nothing anywhere else. The key must be a participant's current key
 * (chain_participant_by_key: a key rotated away names no one), not revoked,
 * of role brand — and that check is made again on every request a session
 * makes, so a revocation or rotation committed to the ledger ends the session
 * at once, on every node.
 *
 * The store keeps only tagged hashes of session tokens; a presented token is
 * hashed and compared with CRYPTO_memcmp against every slot, so neither its
 * length nor its bytes change the time taken. Both tables are bounded: a new
 * entry in a full table replaces the one that expires first.
 */
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "node/gw_priv.h"

typedef struct chal {
    uint8_t c[GW_CHALLENGE_LEN];
    uint64_t exp_ms; /* 0: free */
} chal;

typedef struct sess {
    uint8_t hash[CHAIN_HASH_LEN]; /* tagged hash of the token */
    uint8_t key[CHAIN_KEY_LEN];
    char id[CHAIN_ID_MAX + 1];
    uint64_t exp_ms; /* 0: free */
} sess;

struct gw_sessions {
    pthread_mutex_t mu;
    chal ch[GW_CHALLENGES_MAX];
    sess s[GW_SESSIONS_MAX];
};

gw_sessions *gw_sessions_new(void)
{
    gw_sessions *s = calloc(1, sizeof *s);
    if (s)
        pthread_mutex_init(&s->mu, NULL);
    return s;
}

void gw_sessions_free(gw_sessions *s)
{
    if (!s)
        return;
    pthread_mutex_destroy(&s->mu);
    explicit_bzero(s, sizeof *s);
    free(s);
}

bool gw_secret_equal(const void *a, size_t alen, const void *b, size_t blen)
{
    /* equal-length digests of both, so no early exit and no length branch */
    uint8_t ha[CHAIN_HASH_LEN], hb[CHAIN_HASH_LEN];
    chain_tagged_hash(ha, GW_TAG_SECRET, a, alen);
    chain_tagged_hash(hb, GW_TAG_SECRET, b, blen);
    return CRYPTO_memcmp(ha, hb, CHAIN_HASH_LEN) == 0;
}

int gw_challenge_new(gw_sessions *s, uint8_t out[GW_CHALLENGE_LEN], uint64_t now_ms)
{
    uint8_t c[GW_CHALLENGE_LEN];
    if (getrandom(c, sizeof c, 0) != (ssize_t)sizeof c)
        return -1;
    pthread_mutex_lock(&s->mu);
    size_t slot = 0;
    for (size_t i = 0; i < GW_CHALLENGES_MAX; i++) {
        if (s->ch[i].exp_ms <= now_ms) { /* free or expired */
            slot = i;
            break;
        }
        if (s->ch[i].exp_ms < s->ch[slot].exp_ms)
            slot = i;
    }
    memcpy(s->ch[slot].c, c, sizeof c);
    s->ch[slot].exp_ms = now_ms + GW_CHALLENGE_TTL_S * 1000ull;
    pthread_mutex_unlock(&s->mu);
    memcpy(out, c, sizeof c);
    return 0;
}

bool gw_challenge_take(gw_sessions *s, const uint8_t c[GW_CHALLENGE_LEN], uint64_t now_ms)
{
    bool ok = false;
    pthread_mutex_lock(&s->mu);
    for (size_t i = 0; i < GW_CHALLENGES_MAX; i++) {
        if (s->ch[i].exp_ms != 0 && CRYPTO_memcmp(s->ch[i].c, c, GW_CHALLENGE_LEN) == 0) {
            ok = s->ch[i].exp_ms > now_ms;
            s->ch[i].exp_ms = 0; /* single use, answered or not */
        }
    }
    pthread_mutex_unlock(&s->mu);
    return ok;
}

int gw_session_new(gw_sessions *s, char token[GW_TOKEN_HEX + 1], const uint8_t key[CHAIN_KEY_LEN],
                   const char *id, uint64_t now_ms, uint64_t ttl_ms)
{
    uint8_t raw[GW_TOKEN_LEN];
    if (getrandom(raw, sizeof raw, 0) != (ssize_t)sizeof raw)
        return -1;
    char hex[GW_TOKEN_HEX + 1];
    chain_hex(hex, raw, sizeof raw);
    explicit_bzero(raw, sizeof raw);
    pthread_mutex_lock(&s->mu);
    size_t slot = 0;
    for (size_t i = 0; i < GW_SESSIONS_MAX; i++) {
        if (s->s[i].exp_ms <= now_ms) {
            slot = i;
            break;
        }
        if (s->s[i].exp_ms < s->s[slot].exp_ms)
            slot = i;
    }
    sess *e = &s->s[slot];
    chain_tagged_hash(e->hash, GW_TAG_SESSION, (const uint8_t *)hex, GW_TOKEN_HEX);
    memcpy(e->key, key, CHAIN_KEY_LEN);
    snprintf(e->id, sizeof e->id, "%s", id);
    e->exp_ms = now_ms + ttl_ms;
    pthread_mutex_unlock(&s->mu);
    memcpy(token, hex, sizeof hex);
    explicit_bzero(hex, sizeof hex);
    return 0;
}

/* The slot whose hash is h, compared against every slot; -1 when none. */
static long find(gw_sessions *s, const uint8_t h[CHAIN_HASH_LEN])
{
    long at = -1;
    for (size_t i = 0; i < GW_SESSIONS_MAX; i++) {
        int eq = CRYPTO_memcmp(s->s[i].hash, h, CHAIN_HASH_LEN) == 0;
        if (eq && s->s[i].exp_ms != 0)
            at = (long)i;
    }
    return at;
}

int gw_session_find(gw_sessions *s, uint8_t key[CHAIN_KEY_LEN], char id[CHAIN_ID_MAX + 1],
                    uint64_t *exp_ms, const char *tok, size_t len, uint64_t now_ms)
{
    uint8_t h[CHAIN_HASH_LEN];
    chain_tagged_hash(h, GW_TAG_SESSION, (const uint8_t *)tok, len);
    pthread_mutex_lock(&s->mu);
    long at = find(s, h);
    int rc = GW_SESSION_UNKNOWN;
    if (at >= 0 && s->s[at].exp_ms <= now_ms) {
        s->s[at].exp_ms = 0;
        rc = GW_SESSION_EXPIRED;
    } else if (at >= 0) {
        memcpy(key, s->s[at].key, CHAIN_KEY_LEN);
        memcpy(id, s->s[at].id, CHAIN_ID_MAX + 1);
        if (exp_ms)
            *exp_ms = s->s[at].exp_ms;
        rc = GW_SESSION_OK;
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

void gw_session_end(gw_sessions *s, const char *tok, size_t len)
{
    uint8_t h[CHAIN_HASH_LEN];
    chain_tagged_hash(h, GW_TAG_SESSION, (const uint8_t *)tok, len);
    pthread_mutex_lock(&s->mu);
    long at = find(s, h);
    if (at >= 0)
        memset(&s->s[at], 0, sizeof s->s[at]);
    pthread_mutex_unlock(&s->mu);
}

void gw_dash_login_digest(uint8_t out[CHAIN_HASH_LEN], const uint8_t chain_id[CHAIN_HASH_LEN],
                          const uint8_t challenge[GW_CHALLENGE_LEN])
{
    uint8_t msg[CHAIN_HASH_LEN + GW_CHALLENGE_LEN];
    memcpy(msg, chain_id, CHAIN_HASH_LEN);
    memcpy(msg + CHAIN_HASH_LEN, challenge, GW_CHALLENGE_LEN);
    chain_tagged_hash(out, GW_TAG_DASH_LOGIN, msg, sizeof msg);
}

/* ---- the ledger's word on a key ---------------------------------------------------- */

/* 0 when key is a current, unrevoked brand key (p filled); else the HTTP
 * status to answer with, and why in msg. */
static unsigned key_standing(gw *g, chain_participant *p, const uint8_t key[CHAIN_KEY_LEN],
                             const char **msg)
{
    chain_rd *rd;
    if (chain_rd_begin(g->deps.chain, &rd) != CHAIN_OK) {
        *msg = "could not read the participant registry";
        return 503;
    }
    int rc = chain_participant_by_key(rd, p, key);
    chain_rd_end(rd);
    if (rc == CHAIN_ERR_NOT_FOUND) {
        *msg = "the key is not a current participant key (unknown, or rotated away)";
        return 403;
    }
    if (rc != CHAIN_OK) {
        *msg = "could not read the participant registry";
        return 503;
    }
    if (p->revoked) {
        *msg = "the participant of this key is revoked";
        return 403;
    }
    if (p->role != CHAIN_ROLE_BRAND) {
        *msg = "the dashboard is for brand keys";
        return 403;
    }
    return 0;
}

/* ---- the presented credential ------------------------------------------------------- */

/* The session token of the Authorization header or the session cookie:
 * pointer into the request, length in *len; NULL when neither is there. */
static const char *presented(gw_req *r, size_t *len)
{
    const char *h = gw_header(r, "Authorization");
    if (h && strncmp(h, "Bearer ", 7) == 0) {
        *len = strlen(h + 7);
        return h + 7;
    }
    const char *c = gw_header(r, "Cookie");
    static const char name[] = GW_SESSION_COOKIE "=";
    for (const char *p = c; p && *p;) {
        while (*p == ' ' || *p == ';')
            p++;
        size_t n = strcspn(p, ";");
        if (n >= sizeof name - 1 && memcmp(p, name, sizeof name - 1) == 0) {
            *len = n - (sizeof name - 1);
            return p + sizeof name - 1;
        }
        p += n;
    }
    return NULL;
}

bool gw_dash_authorized(gw_req *r)
{
    if (gw_arg(r, "token") != NULL) {
        gw_reply_error(r, 400, "bad_request",
                       "a token is never taken from the URL (URLs end up in logs and "
                       "histories): send Authorization: Bearer, or sign in at /dashboard/login");
        return false;
    }
    size_t len = 0;
    const char *tok = presented(r, &len);
    if (tok == NULL) {
        gw_reply_error(r, 401, "unauthorized",
                       "no session: sign in with `provena dashboard login --node URL --key "
                       "FILE` (a current brand key)");
        return false;
    }
    const char *want = r->g->admin_token;
    if (want && gw_secret_equal(tok, len, want, strlen(want)))
        return true; /* the operator's break-glass token (--admin-token-file) */
    uint8_t key[CHAIN_KEY_LEN];
    char id[CHAIN_ID_MAX + 1];
    int st = gw_session_find(r->g->sessions, key, id, NULL, tok, len, r->now_ms);
    if (st == GW_SESSION_EXPIRED) {
        gw_reply_error(r, 401, "session_expired", "the session has expired: sign in again");
        return false;
    }
    if (st != GW_SESSION_OK) {
        gw_reply_error(r, 401, "unauthorized", "unknown session");
        return false;
    }
    chain_participant p;
    const char *why = "";
    unsigned status = key_standing(r->g, &p, key, &why);
    if (status == 0 && strcmp(p.id, id) != 0) {
        status = 403;
        why = "the key now names another participant";
    }
    if (status != 0) {
        if (status == 403)
            gw_session_end(r->g->sessions, tok, len);
        gw_reply_error(r, status, status == 403 ? "forbidden" : "storage", "%s%s", why,
                       status == 403 ? ": the session is ended" : "");
        return false;
    }
    return true;
}

/* ---- routes ---------------------------------------------------------------------------- */

static void set_cookie(gw_req *r, const char *token, unsigned max_age)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s=%s; Path=/; Max-Age=%u; HttpOnly; SameSite=Strict%s",
             GW_SESSION_COOKIE, token, max_age, r->g->tls ? "; Secure" : "");
    free(r->cookie);
    r->cookie = strdup(buf);
    explicit_bzero(buf, sizeof buf);
}

void gw_route_dash_challenge(gw_req *r)
{
    if (!gw_rate_take(r->g->rate, r->client, 1, r->now_ms)) {
        gw_reply_error(r, 429, "rate_limited", "too many requests from this client");
        return;
    }
    uint8_t c[GW_CHALLENGE_LEN];
    if (gw_challenge_new(r->g->sessions, c, r->now_ms) != 0) {
        gw_reply_error(r, 503, "unavailable", "no randomness");
        return;
    }
    char hex[2 * GW_CHALLENGE_LEN + 1], chain[2 * CHAIN_HASH_LEN + 1];
    chain_hex(hex, c, sizeof c);
    chain_hex(chain, r->g->chain_id, CHAIN_HASH_LEN);
    gw_reply_json(r, 200,
                  json_pack("{s:s,s:s,s:s,s:I}", "challenge", hex, "chain", chain, "tag",
                            GW_TAG_DASH_LOGIN, "expires",
                            (json_int_t)(r->now_ms / 1000 + GW_CHALLENGE_TTL_S)));
}

/* A field of exactly n bytes of hex into out; false otherwise. */
static bool hex_field(uint8_t *out, size_t n, json_t *o, const char *name)
{
    json_t *v = json_object_get(o, name);
    const char *s = json_is_string(v) ? json_string_value(v) : NULL;
    return s && strlen(s) == 2 * n && chain_unhex(out, n, s, 2 * n) == (int)n;
}

void gw_route_dash_session(gw_req *r)
{
    if (!gw_rate_take(r->g->rate, r->client, 1, r->now_ms)) {
        gw_reply_error(r, 429, "rate_limited", "too many requests from this client");
        return;
    }
    json_error_t je;
    json_t *o = r->body_len
                    ? json_loadb((const char *)r->body, r->body_len, JSON_REJECT_DUPLICATES, &je)
                    : NULL;
    uint8_t c[GW_CHALLENGE_LEN], key[CHAIN_KEY_LEN], sig[CHAIN_SIG_LEN];
    const char *bad = !json_is_object(o)                        ? "body: a JSON object"
                      : !hex_field(c, sizeof c, o, "challenge") ? "challenge: 64 hex"
                      : !hex_field(key, sizeof key, o, "key")   ? "key: 64 hex"
                      : !hex_field(sig, sizeof sig, o, "sig")   ? "sig: 128 hex"
                      : json_object_size(o) != 3                ? "body: exactly challenge, "
                                                                  "key and sig"
                                                                : NULL;
    json_decref(o);
    if (bad) {
        gw_reply_error(r, 400, "bad_request", "%s", bad);
        return;
    }
    if (!gw_challenge_take(r->g->sessions, c, r->now_ms)) {
        gw_reply_error(r, 401, "unknown_challenge",
                       "the challenge is unknown, used or expired: ask for a new one");
        return;
    }
    uint8_t digest[CHAIN_HASH_LEN];
    gw_dash_login_digest(digest, r->g->chain_id, c);
    if (!chain_verify(sig, key, digest)) {
        gw_reply_error(r, 401, "bad_signature", "the signature does not verify with this key");
        return;
    }
    chain_participant p;
    const char *why = "";
    unsigned status = key_standing(r->g, &p, key, &why);
    if (status != 0) {
        gw_reply_error(r, status, status == 403 ? "forbidden" : "storage", "%s", why);
        return;
    }
    char token[GW_TOKEN_HEX + 1];
    uint64_t ttl_ms = (uint64_t)r->g->session_ttl_s * 1000;
    if (gw_session_new(r->g->sessions, token, key, p.id, r->now_ms, ttl_ms) != 0) {
        gw_reply_error(r, 503, "unavailable", "no randomness");
        return;
    }
    set_cookie(r, token, r->g->session_ttl_s);
    gw_reply_json(r, 201,
                  json_pack("{s:s,s:s,s:s,s:I}", "session", token, "participant", p.id, "role",
                            chain_role_name(p.role), "expires",
                            (json_int_t)((r->now_ms + ttl_ms) / 1000)));
    explicit_bzero(token, sizeof token);
}

void gw_route_dash_logout(gw_req *r)
{
    size_t len = 0;
    const char *tok = presented(r, &len);
    if (tok)
        gw_session_end(r->g->sessions, tok, len);
    set_cookie(r, "", 0);
    gw_reply_json(r, 200, json_pack("{s:b}", "ended", tok != NULL));
}

/* Readable on a phone and for a screen reader: lang, viewport, one main
 * landmark, a labelled field that fits the width (tests/cluster/
 * test_browser_pages.py checks it with axe-core). */
static const char login_page[] =
    "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
    "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
    "<title>Provena dashboard: sign in</title><style>body{font:16px/1.45 system-ui,sans-serif;"
    "margin:0;color:#1a1a1a;background:#f5f5f2}main{max-width:40em;margin:auto;padding:16px}"
    "code{overflow-wrap:anywhere}input{width:100%;box-sizing:border-box;font:inherit;"
    "padding:8px}button{margin-top:8px;padding:10px 14px;font:inherit}</style>"
    "</head><body><main><h1>Sign in to the dashboard</h1><p>Run <code>provena dashboard login "
    "--node URL --key BRAND.key</code> and paste the session it prints. The session "
    "stays in an HttpOnly cookie of this site; it is never put in a URL.</p>"
    "<form method=\"post\" action=\"/dashboard/login\"><label for=\"s\">Session</label>"
    "<input id=\"s\" name=\"session\" autocomplete=\"off\" required "
    "pattern=\"[0-9a-f]{64}\"><button>Sign in</button></form></main></body></html>";

void gw_route_dash_login(gw_req *r)
{
    if (r->method != GW_POST) {
        char *p = strdup(login_page);
        if (!p) {
            gw_reply_error(r, 503, "nomem", "out of memory");
            return;
        }
        gw_reply(r, 200, "text/html; charset=utf-8", p, strlen(p));
        return;
    }
    /* application/x-www-form-urlencoded: exactly session=<64 hex> */
    static const char name[] = "session=";
    size_t n = r->body_len;
    while (n > 0 && (r->body[n - 1] == '\n' || r->body[n - 1] == '\r'))
        n--;
    const char *tok = (const char *)r->body + sizeof name - 1;
    size_t len = n >= sizeof name - 1 ? n - (sizeof name - 1) : 0;
    if (n < sizeof name - 1 || memcmp(r->body, name, sizeof name - 1) != 0 || len != GW_TOKEN_HEX) {
        gw_reply_error(r, 400, "bad_request", "body: session=<the 64 hex characters of a session>");
        return;
    }
    uint8_t key[CHAIN_KEY_LEN];
    char id[CHAIN_ID_MAX + 1], hex[GW_TOKEN_HEX + 1];
    uint64_t exp_ms = 0;
    int st = gw_session_find(r->g->sessions, key, id, &exp_ms, tok, len, r->now_ms);
    if (st != GW_SESSION_OK) {
        gw_reply_error(r, 401, st == GW_SESSION_EXPIRED ? "session_expired" : "unauthorized",
                       st == GW_SESSION_EXPIRED ? "the session has expired: sign in again"
                                                : "unknown session");
        return;
    }
    memcpy(hex, tok, GW_TOKEN_HEX);
    hex[GW_TOKEN_HEX] = '\0';
    set_cookie(r, hex, (unsigned)((exp_ms - r->now_ms + 999) / 1000));
    explicit_bzero(hex, sizeof hex);
    free(r->location);
    r->location = strdup("/dashboard");
    char *p = strdup("<!doctype html><p><a href=\"/dashboard\">dashboard</a></p>");
    if (!p) {
        gw_reply_error(r, 503, "nomem", "out of memory");
        return;
    }
    gw_reply(r, 303, "text/html; charset=utf-8", p, strlen(p));
}
