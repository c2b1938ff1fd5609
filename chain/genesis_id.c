/*
 * genesis_id.c — what the ledger itself needs of a genesis document: its
 * chain id (the canonical CBOR of the normalized document, hashed), lookups,
 * and freeing. Parsing the JSON form is genesis/'s job.
 */
#include <stdlib.h>

#include "chain/cbor_util.h"
#include "chain/chain.h"

/* Canonical CBOR of the normalized document; keys in canonical order. */
static int encode_genesis(const chain_genesis *g, uint8_t **out, size_t *out_len)
{
    cbu_wr w;
    cbu_wr_init(&w, CHAIN_GENESIS_MAX_BYTES);
    cbu_put_map(&w, 6 + (g->resolver[0] ? 1u : 0u) + (g->rp.id[0] ? 1u : 0u));
    cbu_put_key(&w, "time");
    cbu_put_uint(&w, g->time);
    cbu_put_key(&w, "chain");
    cbu_put_cstr(&w, g->chain_name);
    cbu_put_key(&w, "nodes");
    cbu_put_array(&w, g->nnodes);
    for (size_t i = 0; i < g->nnodes; i++) {
        const chain_node_info *n = &g->nodes[i];
        cbu_put_map(&w, n->tls_len ? 6 : 5);
        cbu_put_key(&w, "id");
        cbu_put_uint(&w, n->id);
        cbu_put_key(&w, "pub");
        cbu_put_bytes(&w, n->pub, CHAIN_KEY_LEN);
        if (n->tls_len) { /* absent: the same chain id as before the field existed */
            cbu_put_key(&w, "tls");
            cbu_put_bytes(&w, n->tls, n->tls_len);
        }
        cbu_put_key(&w, "http");
        cbu_put_cstr(&w, n->http_addr);
        cbu_put_key(&w, "raft");
        cbu_put_cstr(&w, n->raft_addr);
        cbu_put_key(&w, "operator");
        cbu_put_cstr(&w, n->operator_id);
    }
    cbu_put_key(&w, "brands");
    cbu_put_array(&w, g->nbrands);
    for (size_t i = 0; i < g->nbrands; i++) {
        const chain_brand *b = &g->brands[i];
        cbu_put_map(&w, 4);
        cbu_put_key(&w, "id");
        cbu_put_cstr(&w, b->id);
        cbu_put_key(&w, "pub");
        cbu_put_bytes(&w, b->pub, CHAIN_KEY_LEN);
        cbu_put_key(&w, "name");
        cbu_put_cstr(&w, b->name);
        cbu_put_key(&w, "prefixes");
        cbu_put_array(&w, b->nprefixes);
        for (size_t j = 0; j < b->nprefixes; j++)
            cbu_put_cstr(&w, b->prefixes[j]);
    }
    const chain_policy *p = &g->policy;
    cbu_put_key(&w, "policy");
    cbu_put_map(&w, 6);
    cbu_put_key(&w, "travel_kmh");
    cbu_put_uint(&w, p->travel_kmh);
    cbu_put_key(&w, "max_clients");
    cbu_put_uint(&w, p->max_clients);
    cbu_put_key(&w, "probe_threshold");
    cbu_put_uint(&w, p->probe_threshold);
    cbu_put_key(&w, "warranty_months");
    cbu_put_uint(&w, p->warranty_months);
    cbu_put_key(&w, "unsold_scan_suspicious");
    cbu_put_bool(&w, p->unsold_scan_suspicious == 1);
    cbu_put_key(&w, "outside_markets_suspicious");
    cbu_put_bool(&w, p->flagged_markets_only == 1);
    if (g->resolver[0]) { /* optional: a genesis without one keeps its id */
        cbu_put_key(&w, "resolver");
        cbu_put_cstr(&w, g->resolver);
    }
    if (g->rp.id[0]) { /* optional, like the resolver */
        cbu_put_key(&w, "webauthn");
        cbu_put_map(&w, 3);
        cbu_put_key(&w, "rp_id");
        cbu_put_cstr(&w, g->rp.id);
        cbu_put_key(&w, "origins");
        cbu_put_array(&w, g->rp.norigins);
        for (size_t i = 0; i < g->rp.norigins; i++)
            cbu_put_cstr(&w, g->rp.origins[i]);
        cbu_put_key(&w, "require_uv");
        cbu_put_bool(&w, g->rp.require_uv);
    }
    cbu_put_key(&w, "participants");
    cbu_put_array(&w, g->nparticipants);
    for (size_t i = 0; i < g->nparticipants; i++) {
        const chain_participant *pt = &g->participants[i];
        cbu_put_map(&w, 5);
        cbu_put_key(&w, "id");
        cbu_put_cstr(&w, pt->id);
        cbu_put_key(&w, "pub");
        cbu_put_bytes(&w, pt->pub, CHAIN_KEY_LEN);
        cbu_put_key(&w, "name");
        cbu_put_cstr(&w, pt->name);
        cbu_put_key(&w, "role");
        cbu_put_cstr(&w, chain_role_name(pt->role));
        cbu_put_key(&w, "regions");
        cbu_put_array(&w, pt->nregions);
        for (size_t j = 0; j < pt->nregions; j++)
            cbu_put_cstr(&w, pt->regions[j]);
    }
    return cbu_wr_finish(&w, out, out_len);
}

int chain_genesis_id(uint8_t out[CHAIN_HASH_LEN], const chain_genesis *g)
{
    uint8_t *enc;
    size_t enc_len;
    int rc = encode_genesis(g, &enc, &enc_len);
    if (rc)
        return rc;
    chain_tagged_hash(out, CHAIN_TAG_GENESIS, enc, enc_len);
    free(enc);
    return CHAIN_OK;
}

void chain_genesis_free(chain_genesis *g)
{
    if (g == NULL)
        return;
    free(g->participants);
    free(g);
}

const chain_node_info *chain_genesis_node(const chain_genesis *g, uint64_t id)
{
    for (size_t i = 0; i < g->nnodes; i++)
        if (g->nodes[i].id == id)
            return &g->nodes[i];
    return NULL;
}
