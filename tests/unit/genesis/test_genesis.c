/* Contract tests for chain.h genesis: genesis/example.json loads, the chain id
 * is stable under re-serialization, and every malformed variant is refused
 * with an error that names the field. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chain/chain.h"
#include "genesis/genesis.h"

static char example_path[1024];
static json_t *example;

static int setup(void **state)
{
    (void)state;
    /* __FILE__ is tests/unit/genesis/test_genesis.c under the source root. */
    const char *f = __FILE__;
    const char *tail = strstr(f, "tests/unit/genesis/test_genesis.c");
    assert_non_null(tail);
    snprintf(example_path, sizeof example_path, "%.*sgenesis/example.json", (int)(tail - f), f);
    json_error_t err;
    example = json_load_file(example_path, 0, &err);
    assert_non_null(example);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    json_decref(example);
    return 0;
}

/* Parses a JSON value; returns the code and fills msg. */
static int parse_json(json_t *j, char *msg, size_t msg_len, chain_genesis **out)
{
    char *text = json_dumps(j, JSON_COMPACT);
    assert_non_null(text);
    chain_genesis *g = NULL;
    int rc = genesis_parse(&g, text, strlen(text), msg, msg_len);
    free(text);
    if (out != NULL && rc == CHAIN_OK)
        *out = g;
    else
        chain_genesis_free(g);
    return rc;
}

static void test_genesis_example_loads(void **state)
{
    (void)state;
    chain_genesis *g = NULL;
    char msg[256];
    int rc = genesis_load(&g, example_path, msg, sizeof msg);
    if (rc)
        fail_msg("%s", msg);
    assert_string_equal(g->chain_name, "acme-eu");
    assert_int_equal(g->nbrands, 1);
    assert_string_equal(g->brands[0].prefixes[0], "9506000");
    assert_int_equal(g->nparticipants, 5);
    assert_int_equal(g->participants[0].role, CHAIN_ROLE_CARRIER);
    assert_int_equal(g->participants[4].role, CHAIN_ROLE_SERVICE);
    assert_string_equal(g->participants[4].regions[0], "DE-BY");
    assert_int_equal(g->nnodes, 3);
    const chain_node_info *n = chain_genesis_node(g, 2);
    assert_non_null(n);
    assert_string_equal(n->raft_addr, "tcp://127.0.0.1:7102");
    assert_string_equal(n->http_addr, "http://127.0.0.1:8102");
    assert_null(chain_genesis_node(g, 9));
    assert_int_equal(g->policy.warranty_months, 24);
    assert_int_equal(g->policy.unsold_scan_suspicious, 2);
    assert_int_equal(g->policy.flagged_markets_only, 1);
    uint8_t zero[32] = {0};
    assert_memory_not_equal(g->chain_id, zero, 32);
    chain_genesis_free(g);
}

static void test_genesis_chain_id_stable_across_json_forms(void **state)
{
    (void)state;
    chain_genesis *a, *b, *c;
    assert_int_equal(genesis_load(&a, example_path, NULL, 0), CHAIN_OK);
    /* to_json round trip */
    json_t *j = genesis_to_json(a);
    assert_non_null(j);
    assert_int_equal(parse_json(j, NULL, 0, &b), CHAIN_OK);
    assert_memory_equal(a->chain_id, b->chain_id, 32);
    json_decref(j);
    /* sorted keys, indentation, and policy defaults omitted: same id */
    j = json_deep_copy(example);
    json_object_del(j, "policy");
    char *text = json_dumps(j, JSON_INDENT(4) | JSON_SORT_KEYS);
    assert_int_equal(genesis_parse(&c, text, strlen(text), NULL, 0), CHAIN_OK);
    assert_memory_equal(a->chain_id, c->chain_id, 32);
    free(text);
    json_decref(j);
    chain_genesis_free(a);
    chain_genesis_free(b);
    chain_genesis_free(c);
}

static void test_genesis_any_change_changes_chain_id(void **state)
{
    (void)state;
    chain_genesis *a, *b;
    assert_int_equal(parse_json(example, NULL, 0, &a), CHAIN_OK);
    json_t *j = json_deep_copy(example);
    json_object_set_new(json_object_get(j, "policy"), "travel_kmh", json_integer(901));
    assert_int_equal(parse_json(j, NULL, 0, &b), CHAIN_OK);
    assert_memory_not_equal(a->chain_id, b->chain_id, 32);
    chain_genesis_free(b);
    json_decref(j);
    j = json_deep_copy(example);
    json_object_set_new(j, "chain", json_string("acme-us"));
    assert_int_equal(parse_json(j, NULL, 0, &b), CHAIN_OK);
    assert_memory_not_equal(a->chain_id, b->chain_id, 32);
    chain_genesis_free(b);
    json_decref(j);
    chain_genesis_free(a);
}

/* One malformed variant: path of the object to change, key, new value
 * (NULL deletes), expected message prefix. */
typedef struct variant {
    const char *array; /* top-level array name or NULL for the root */
    int index;
    const char *key;
    const char *value_json; /* NULL: delete key */
    const char *want;
} variant;

static const variant variants[] = {
    {"participants", 1, "pub", "\"abc\"", "participants[1].pub: not 64 hex characters"},
    {"participants", 1, "pub", "\"zz\"", "participants[1].pub: not 64 hex"},
    {"participants", 0, "role", "\"pirate\"", "participants[0].role: unknown role"},
    {"participants", 0, "role", "\"brand\"", "participants[0].role: unknown role"},
    {"participants", 1, "id", "\"carrier-dhl\"", "participants[1].id: duplicate id"},
    {"participants", 0, "id", "\"acme\"", "participants[0].id: duplicate id"},
    {"participants", 2, "id", "\"Bad Id\"", "participants[2].id: not an id"},
    {"participants", 0, "regions", "[\"de\"]", "participants[0].regions[0]: not a region"},
    {"participants", 0, "regions", "[\"DE\", \"DE\"]", "participants[0].regions[1]: duplicate"},
    {"participants", 0, "name", NULL, "participants[0].name: missing"},
    {"participants", 0, "name", "\"\"", "participants[0].name: must be 1 to 64"},
    {"participants", 0, "colour", "\"red\"", "participants[0].colour: unknown field"},
    {"brands", 0, "prefixes", "[\"95a\"]", "brands[0].prefixes[0]: not a GS1 company prefix"},
    {"brands", 0, "prefixes", "[]", "brands[0].prefixes: needs 1 to 8"},
    {"brands", 0, "pub", NULL, "brands[0].pub: missing"},
    {"nodes", 2, "operator", "\"nobody\"", "nodes[2].operator: no brand or participant"},
    {"nodes", 1, "id", "1", "nodes[1].id: duplicate node id"},
    {"nodes", 1, "id", "0", "nodes[1].id: not an integer >= 1"},
    {"nodes", 1, "id", "\"2\"", "nodes[1].id: not an integer >= 1"},
    {"nodes", 1, "raft", "\"tcp://127.0.0.1:7101\"", "nodes[1].raft: duplicate address"},
    {"nodes", 1, "http", "\"http://127.0.0.1:8101\"", "nodes[1].http: duplicate address"},
    {"nodes", 0, "raft", "\"udp://x:1\"", "nodes[0].raft: must start with tcp://"},
    {"nodes", 0, "http", "\"http://a b\"", "nodes[0].http: not an address"},
    {NULL, 0, "brands", "[]", "brands: needs 1 to 8 entries"},
    {NULL, 0, "nodes", NULL, "nodes: missing"},
    {NULL, 0, "nodes", "[]", "nodes: needs 1 to 16 entries"},
    {NULL, 0, "chain", "\"ACME EU\"", "chain: not a network name"},
    {NULL, 0, "time", "-1", "time: not a non-negative integer"},
    {NULL, 0, "time", "1.5", "time: not a non-negative integer"},
    {NULL, 0, "extra", "1", "extra: unknown field"},
    {NULL, 0, "policy", "{\"max_clients\": 0}", "policy.max_clients: not an integer"},
    {NULL, 0, "policy", "{\"unsold_scan_suspicious\": 1}", "policy.unsold_scan_suspicious"},
    {NULL, 0, "policy", "{\"speed\": 1}", "policy.speed: unknown field"},
};

static void test_genesis_malformed_variants_name_the_field(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof variants / sizeof variants[0]; i++) {
        const variant *v = &variants[i];
        json_t *j = json_deep_copy(example);
        json_t *obj = v->array ? json_array_get(json_object_get(j, v->array), (size_t)v->index) : j;
        assert_non_null(obj);
        if (v->value_json == NULL) {
            json_object_del(obj, v->key);
        } else {
            json_error_t err;
            json_t *val = json_loads(v->value_json, JSON_DECODE_ANY, &err);
            assert_non_null(val);
            json_object_set_new(obj, v->key, val);
        }
        char msg[256] = "";
        int rc = parse_json(j, msg, sizeof msg, NULL);
        if (rc != CHAIN_ERR_BAD_GENESIS || strncmp(msg, v->want, strlen(v->want)) != 0)
            fail_msg("variant %zu: got %s \"%s\", want \"%s\"", i, chain_err_code(rc), msg,
                     v->want);
        json_decref(j);
    }
}

/* nodes[].tls: a pinnable certificate in hex, kept through genesis_to_json,
 * covered by the chain id; a CA certificate, bad hex and one key pinned for
 * two nodes are refused naming the field. */
static void test_genesis_node_tls_pinned(void **state)
{
    (void)state;
    char *pem;
    uint8_t der[CHAIN_TLS_CERT_MAX];
    size_t dl;
    char hex[2 * CHAIN_TLS_CERT_MAX + 1], msg[256];
    assert_int_equal(chain_tls_key_new(&pem, der, &dl, "n1"), CHAIN_OK);
    free(pem);
    chain_hex(hex, der, dl);
    json_t *j = json_deep_copy(example);
    json_t *nodes = json_object_get(j, "nodes");
    chain_genesis *plain = NULL, *g = NULL, *back = NULL;
    assert_int_equal(parse_json(j, msg, sizeof msg, &plain), CHAIN_OK);
    json_object_set_new(json_array_get(nodes, 0), "tls", json_string(hex));
    assert_int_equal(parse_json(j, msg, sizeof msg, &g), CHAIN_OK);
    assert_int_equal(g->nodes[0].tls_len, dl);
    assert_memory_equal(g->nodes[0].tls, der, dl);
    assert_memory_not_equal(g->chain_id, plain->chain_id, CHAIN_HASH_LEN);
    json_t *out = genesis_to_json(g);
    assert_non_null(out);
    assert_int_equal(parse_json(out, msg, sizeof msg, &back), CHAIN_OK);
    assert_memory_equal(back->chain_id, g->chain_id, CHAIN_HASH_LEN);
    json_decref(out);
    /* the same key for a second node */
    json_object_set_new(json_array_get(nodes, 1), "tls", json_string(hex));
    assert_int_equal(parse_json(j, msg, sizeof msg, NULL), CHAIN_ERR_BAD_GENESIS);
    assert_non_null(strstr(msg, "nodes[1].tls"));
    json_object_del(json_array_get(nodes, 1), "tls");
    json_object_set_new(json_array_get(nodes, 0), "tls", json_string("abc"));
    assert_int_equal(parse_json(j, msg, sizeof msg, NULL), CHAIN_ERR_BAD_GENESIS);
    assert_non_null(strstr(msg, "nodes[0].tls"));
    chain_genesis_free(plain);
    chain_genesis_free(g);
    chain_genesis_free(back);
    json_decref(j);
}

static void test_genesis_shared_key_refused(void **state)
{
    (void)state;
    json_t *j = json_deep_copy(example);
    json_t *brand = json_array_get(json_object_get(j, "brands"), 0);
    json_t *node = json_array_get(json_object_get(j, "nodes"), 0);
    json_object_set(node, "pub", json_object_get(brand, "pub"));
    char msg[256];
    assert_int_equal(parse_json(j, msg, sizeof msg, NULL), CHAIN_ERR_BAD_GENESIS);
    assert_non_null(strstr(msg, "public key already used"));
    json_decref(j);
}

static void test_genesis_off_curve_key_refused(void **state)
{
    (void)state;
    json_t *j = json_deep_copy(example);
    json_t *p = json_array_get(json_object_get(j, "participants"), 0);
    json_object_set_new(
        p, "pub", json_string("0000000000000000000000000000000000000000000000000000000000000005"));
    char msg[256];
    assert_int_equal(parse_json(j, msg, sizeof msg, NULL), CHAIN_ERR_BAD_GENESIS);
    assert_string_equal(msg, "participants[0].pub: not a valid BIP-340 public key");
    json_decref(j);
}

static void test_genesis_duplicate_json_key_refused(void **state)
{
    (void)state;
    const char *doc = "{\"chain\": \"a\", \"chain\": \"b\"}";
    chain_genesis *g = NULL;
    char msg[256];
    assert_int_equal(genesis_parse(&g, doc, strlen(doc), msg, sizeof msg), CHAIN_ERR_BAD_GENESIS);
    assert_non_null(strstr(msg, "duplicate"));
    assert_null(g);
}

static void test_genesis_garbage_truncated_and_oversized_refused(void **state)
{
    (void)state;
    chain_genesis *g = NULL;
    char msg[256];
    assert_int_equal(genesis_parse(&g, "\x01\x02garbage", 9, msg, sizeof msg),
                     CHAIN_ERR_BAD_GENESIS);
    assert_int_equal(genesis_parse(&g, "[1,2]", 5, msg, sizeof msg), CHAIN_ERR_BAD_GENESIS);
    assert_string_equal(msg, "genesis: not a JSON object");
    char *text = json_dumps(example, JSON_COMPACT);
    size_t len = strlen(text);
    for (size_t cut = 0; cut < len; cut += 7)
        assert_int_equal(genesis_parse(&g, text, cut, NULL, 0), CHAIN_ERR_BAD_GENESIS);
    free(text);
    size_t big = CHAIN_GENESIS_MAX_BYTES + 1;
    char *huge = malloc(big);
    memset(huge, ' ', big);
    assert_int_equal(genesis_parse(&g, huge, big, msg, sizeof msg), CHAIN_ERR_BAD_GENESIS);
    assert_non_null(strstr(msg, "at most"));
    free(huge);
    assert_null(g);
}

static void test_genesis_load_missing_file_names_path(void **state)
{
    (void)state;
    chain_genesis *g = NULL;
    char msg[256];
    assert_int_equal(genesis_load(&g, "/nonexistent/genesis.json", msg, sizeof msg),
                     CHAIN_ERR_BAD_GENESIS);
    assert_non_null(strstr(msg, "/nonexistent/genesis.json"));
}

/* The optional resolver: covered by the chain id when present, absent keeps
 * the id of a genesis that never had one; bad URLs refused; the limit holds. */
static void test_genesis_resolver_optional_and_bounded(void **state)
{
    (void)state;
    chain_genesis *a, *b, *c;
    char msg[256];
    json_t *j = json_deep_copy(example);
    json_object_del(j, "resolver");
    assert_int_equal(parse_json(j, msg, sizeof msg, &a), CHAIN_OK);
    assert_string_equal(a->resolver, "");
    json_object_set_new(j, "resolver", json_string("https://id.acme.example"));
    assert_int_equal(parse_json(j, msg, sizeof msg, &b), CHAIN_OK);
    assert_string_equal(b->resolver, "https://id.acme.example");
    assert_memory_not_equal(a->chain_id, b->chain_id, 32);
    json_t *rt = genesis_to_json(b); /* round trip keeps it and the id */
    assert_int_equal(parse_json(rt, msg, sizeof msg, &c), CHAIN_OK);
    assert_memory_equal(b->chain_id, c->chain_id, 32);
    json_decref(rt);
    static const char *const bad[] = {"ftp://x",       "https://",    "https://x/",
                                      "https://x?a=1", "https://a b", ""};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        json_object_set_new(j, "resolver", json_string(bad[i]));
        assert_int_equal(parse_json(j, msg, sizeof msg, NULL), CHAIN_ERR_BAD_GENESIS);
        assert_non_null(strstr(msg, "resolver"));
    }
    json_object_set_new(j, "resolver", json_integer(1));
    assert_int_equal(parse_json(j, msg, sizeof msg, NULL), CHAIN_ERR_BAD_GENESIS);
    char url[CHAIN_RESOLVER_MAX + 2];
    memset(url, 'a', sizeof url);
    memcpy(url, "https://", 8);
    url[CHAIN_RESOLVER_MAX] = '\0';
    json_object_set_new(j, "resolver", json_string(url));
    assert_int_equal(parse_json(j, msg, sizeof msg, NULL), CHAIN_OK);
    url[CHAIN_RESOLVER_MAX] = 'a';
    url[CHAIN_RESOLVER_MAX + 1] = '\0';
    json_object_set_new(j, "resolver", json_string(url));
    assert_int_equal(parse_json(j, msg, sizeof msg, NULL), CHAIN_ERR_BAD_GENESIS);
    json_decref(j);
    chain_genesis_free(a);
    chain_genesis_free(b);
    chain_genesis_free(c);
}

/* The optional WebAuthn relying party: covered by the chain id when present,
 * round-trips, refuses IP addresses and bad origins; origins count and length
 * exactly at their bounds and one past. */
static void test_genesis_webauthn_optional_and_bounded(void **state)
{
    (void)state;
    chain_genesis *a, *b, *c;
    char msg[256];
    json_t *j = json_deep_copy(example);
    json_object_del(j, "webauthn");
    assert_int_equal(parse_json(j, msg, sizeof msg, &a), CHAIN_OK);
    assert_string_equal(a->rp.id, "");
    json_t *w =
        json_pack("{s:s,s:[s,s],s:s}", "rp_id", "localhost", "origins", "http://localhost:8101",
                  "https://shop.example", "user_verification", "required");
    json_object_set_new(j, "webauthn", w);
    assert_int_equal(parse_json(j, msg, sizeof msg, &b), CHAIN_OK);
    assert_string_equal(b->rp.id, "localhost");
    assert_int_equal(b->rp.norigins, 2);
    assert_string_equal(b->rp.origins[1], "https://shop.example");
    assert_true(b->rp.require_uv);
    assert_memory_not_equal(a->chain_id, b->chain_id, 32);
    json_t *rt = genesis_to_json(b);
    assert_int_equal(parse_json(rt, msg, sizeof msg, &c), CHAIN_OK);
    assert_memory_equal(b->chain_id, c->chain_id, 32);
    json_decref(rt);
    static const char *const bad_ids[] = {"127.0.0.1", "", "Localhost", ".x", "x.", "a b"};
    for (size_t i = 0; i < sizeof bad_ids / sizeof *bad_ids; i++) {
        json_object_set_new(w, "rp_id", json_string(bad_ids[i]));
        assert_int_equal(parse_json(j, msg, sizeof msg, NULL), CHAIN_ERR_BAD_GENESIS);
        assert_non_null(strstr(msg, "webauthn.rp_id"));
    }
    json_object_set_new(w, "rp_id", json_string("localhost"));
    static const char *const bad_origins[] = {"localhost:8101", "http://", "http://x/",
                                              "http://x/path", "ftp://x"};
    for (size_t i = 0; i < sizeof bad_origins / sizeof *bad_origins; i++) {
        json_object_set_new(w, "origins", json_pack("[s]", bad_origins[i]));
        assert_int_equal(parse_json(j, msg, sizeof msg, NULL), CHAIN_ERR_BAD_GENESIS);
        assert_non_null(strstr(msg, "webauthn.origins[0]"));
    }
    json_t *many = json_array();
    for (int i = 0; i < CHAIN_ORIGINS_MAX; i++) {
        char o[40];
        snprintf(o, sizeof o, "http://localhost:%d", 8100 + i);
        json_array_append_new(many, json_string(o));
    }
    json_object_set(w, "origins", many);
    assert_int_equal(parse_json(j, msg, sizeof msg, NULL), CHAIN_OK);
    json_array_append_new(many, json_string("http://localhost:9999"));
    assert_int_equal(parse_json(j, msg, sizeof msg, NULL), CHAIN_ERR_BAD_GENESIS);
    json_decref(many);
    char o[CHAIN_ORIGIN_MAX + 2];
    memset(o, 'a', sizeof o);
    memcpy(o, "https://", 8);
    o[CHAIN_ORIGIN_MAX] = '\0';
    json_object_set_new(w, "origins", json_pack("[s]", o));
    assert_int_equal(parse_json(j, msg, sizeof msg, NULL), CHAIN_OK);
    o[CHAIN_ORIGIN_MAX] = 'a';
    o[CHAIN_ORIGIN_MAX + 1] = '\0';
    json_object_set_new(w, "origins", json_pack("[s]", o));
    assert_int_equal(parse_json(j, msg, sizeof msg, NULL), CHAIN_ERR_BAD_GENESIS);
    json_object_set_new(w, "origins", json_pack("[s]", "http://localhost"));
    json_object_set_new(w, "user_verification", json_string("always"));
    assert_int_equal(parse_json(j, msg, sizeof msg, NULL), CHAIN_ERR_BAD_GENESIS);
    json_decref(j);
    chain_genesis_free(a);
    chain_genesis_free(b);
    chain_genesis_free(c);
}

/* ---- counts at their bound and one past it ----------------------------------------- */

/* A distinct valid x-only key per n (secret key n + 0x100, never one of the
 * example's), as 64 hex characters. */
static json_t *key_hex(unsigned n)
{
    uint8_t sk[CHAIN_SECKEY_LEN] = {0}, pub[CHAIN_KEY_LEN];
    n += 0x100;
    sk[29] = (uint8_t)(n >> 16);
    sk[30] = (uint8_t)(n >> 8);
    sk[31] = (uint8_t)n;
    assert_int_equal(chain_key_pub(pub, sk), CHAIN_OK);
    char hex[2 * CHAIN_KEY_LEN + 1];
    chain_hex(hex, pub, CHAIN_KEY_LEN);
    return json_string(hex);
}

/* The example with `array` grown (copies of its first entry with a fresh id,
 * key and addresses) to exactly `count` entries. */
static json_t *grown(const char *array, size_t count)
{
    json_t *j = json_deep_copy(example);
    json_t *arr = json_object_get(j, array);
    json_t *first = json_array_get(arr, 0);
    for (size_t i = json_array_size(arr); i < count; i++) {
        json_t *e = json_deep_copy(first);
        char buf[64];
        if (strcmp(array, "nodes") == 0) {
            json_object_set_new(e, "id", json_integer((json_int_t)i + 100));
            snprintf(buf, sizeof buf, "tcp://127.0.0.1:%zu", 20000 + i);
            json_object_set_new(e, "raft", json_string(buf));
            snprintf(buf, sizeof buf, "http://127.0.0.1:%zu", 30000 + i);
            json_object_set_new(e, "http", json_string(buf));
        } else {
            snprintf(buf, sizeof buf, "%s-%zu", strcmp(array, "brands") == 0 ? "brand" : "part", i);
            json_object_set_new(e, "id", json_string(buf));
            if (strcmp(array, "brands") == 0) { /* a company prefix of its own */
                snprintf(buf, sizeof buf, "95061%02zu", i);
                json_t *pre = json_array();
                json_array_append_new(pre, json_string(buf));
                json_object_set_new(e, "prefixes", pre);
            }
        }
        json_object_set_new(e, "pub",
                            key_hex((unsigned)(i + (strcmp(array, "nodes") == 0    ? 3000
                                                    : strcmp(array, "brands") == 0 ? 2000
                                                                                   : 0))));
        json_array_append_new(arr, e);
    }
    assert_int_equal(json_array_size(arr), count);
    return j;
}

/* brands (CHAIN_BRANDS_MAX), participants (CHAIN_PARTICIPANTS_MAX) and nodes
 * (CHAIN_NODES_MAX): exactly the bound loads with every entry kept, one more
 * is refused naming the array and the bound. */
static void test_genesis_counts_at_limit_and_one_past(void **state)
{
    (void)state;
    static const struct {
        const char *array;
        size_t max;
        const char *want;
    } cases[] = {
        {"brands", CHAIN_BRANDS_MAX, "brands: needs 1 to 8 entries"},
        {"participants", CHAIN_PARTICIPANTS_MAX, "participants: needs 0 to 1024 entries"},
        {"nodes", CHAIN_NODES_MAX, "nodes: needs 1 to 16 entries"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char msg[256] = "";
        chain_genesis *g = NULL;
        json_t *j = grown(cases[i].array, cases[i].max);
        int rc = parse_json(j, msg, sizeof msg, &g);
        if (rc != CHAIN_OK)
            fail_msg("%s at %zu: %s", cases[i].array, cases[i].max, msg);
        size_t got = i == 0 ? g->nbrands : i == 1 ? g->nparticipants : g->nnodes;
        assert_int_equal(got, cases[i].max);
        chain_genesis_free(g);
        json_decref(j);
        j = grown(cases[i].array, cases[i].max + 1);
        assert_int_equal(parse_json(j, msg, sizeof msg, NULL), CHAIN_ERR_BAD_GENESIS);
        assert_string_equal(msg, cases[i].want);
        json_decref(j);
    }
}

/* A brand's company prefixes (CHAIN_PREFIXES_MAX) and a participant's regions
 * (CHAIN_REGIONS_MAX): the bound loads, one more is refused naming the field. */
static void test_genesis_prefixes_and_regions_at_limit(void **state)
{
    (void)state;
    char msg[256] = "";
    chain_genesis *g = NULL;
    for (size_t extra = 0; extra < 2; extra++) {
        json_t *j = json_deep_copy(example);
        json_t *pre = json_array();
        for (size_t i = 0; i < CHAIN_PREFIXES_MAX + extra; i++) {
            char buf[16];
            snprintf(buf, sizeof buf, "95060%02zu", i);
            json_array_append_new(pre, json_string(buf));
        }
        json_object_set_new(json_array_get(json_object_get(j, "brands"), 0), "prefixes", pre);
        int rc = parse_json(j, msg, sizeof msg, extra ? NULL : &g);
        if (extra == 0) {
            if (rc != CHAIN_OK)
                fail_msg("%d prefixes: %s", CHAIN_PREFIXES_MAX, msg);
            assert_int_equal(g->brands[0].nprefixes, CHAIN_PREFIXES_MAX);
            chain_genesis_free(g);
        } else {
            assert_int_equal(rc, CHAIN_ERR_BAD_GENESIS);
            assert_string_equal(msg, "brands[0].prefixes: needs 1 to 8 entries");
        }
        json_decref(j);
    }
    for (size_t extra = 0; extra < 2; extra++) {
        json_t *j = json_deep_copy(example);
        json_t *reg = json_array();
        for (size_t i = 0; i < CHAIN_REGIONS_MAX + extra; i++) {
            char buf[8];
            snprintf(buf, sizeof buf, "DE-%c%c", 'A' + (int)(i / 26), 'A' + (int)(i % 26));
            json_array_append_new(reg, json_string(buf));
        }
        json_object_set_new(json_array_get(json_object_get(j, "participants"), 0), "regions", reg);
        int rc = parse_json(j, msg, sizeof msg, extra ? NULL : &g);
        if (extra == 0) {
            if (rc != CHAIN_OK)
                fail_msg("%d regions: %s", CHAIN_REGIONS_MAX, msg);
            assert_int_equal(g->participants[0].nregions, CHAIN_REGIONS_MAX);
            chain_genesis_free(g);
        } else {
            assert_int_equal(rc, CHAIN_ERR_BAD_GENESIS);
            assert_string_equal(msg, "participants[0].regions: needs 0 to 16 entries");
        }
        json_decref(j);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_genesis_example_loads),
        cmocka_unit_test(test_genesis_webauthn_optional_and_bounded),
        cmocka_unit_test(test_genesis_chain_id_stable_across_json_forms),
        cmocka_unit_test(test_genesis_any_change_changes_chain_id),
        cmocka_unit_test(test_genesis_malformed_variants_name_the_field),
        cmocka_unit_test(test_genesis_shared_key_refused),
        cmocka_unit_test(test_genesis_off_curve_key_refused),
        cmocka_unit_test(test_genesis_duplicate_json_key_refused),
        cmocka_unit_test(test_genesis_garbage_truncated_and_oversized_refused),
        cmocka_unit_test(test_genesis_load_missing_file_names_path),
        cmocka_unit_test(test_genesis_resolver_optional_and_bounded),
        cmocka_unit_test(test_genesis_counts_at_limit_and_one_past),
        cmocka_unit_test(test_genesis_prefixes_and_regions_at_limit),
        cmocka_unit_test(test_genesis_node_tls_pinned),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
