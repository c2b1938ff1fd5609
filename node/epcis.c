/*
 * epcis.c — ledger events → EPCIS 2.0 ObjectEvents, and their CBV 2.0 event
 * hash (eventID).
 *
 * The mapping is one table, `steps[]`: each unit event type gives its action,
 * bizStep and disposition. CBV has words for commissioning, shipping,
 * receiving and retail selling; what it has no word for (claim, transfer,
 * warranty, flag, unflag) is a bizStep URI in the Provena namespace EPCIS_NS.
 * Flags set the CBV dispositions recalled, stolen and destroyed (counterfeit
 * has none: non_sellable_other plus provena:reason). Every event carries
 * provena:ledger {tx, block, height, index}: the proof that the ledger holds
 * it, checkable against /api/v1/tx/{tx} and /api/v1/blocks/{height}.
 *
 * The eventID is GS1's CBV 2.0 event hash: sha-256 of a pre-hash string built
 * by fixed rules (canonical field order, CBV short names expanded to URIs,
 * lists and extension fields sorted, namespaces expanded, comments left out).
 * prehash() implements those rules for the shapes of event built here (no
 * quantities, sensors, sources or business transactions); tests compare every
 * id with the reference generator GS1's epcis2.js ships.
 */
#include "node/epcis.h"

#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CBV_BIZSTEP "https://ref.gs1.org/cbv/BizStep-"
#define CBV_DISP    "https://ref.gs1.org/cbv/Disp-"

/* ---- the mapping table --------------------------------------------------------------- */

typedef struct step {
    int type;
    const char *action;
    const char *bizstep;     /* CBV word, or a Provena URI */
    const char *disposition; /* CBV word or NULL */
} step;

static const step steps[] = {
    {CHAIN_TX_MINT, "ADD", "commissioning", "active"},
    {CHAIN_TX_PICKUP, "OBSERVE", "shipping", "in_transit"},
    {CHAIN_TX_DELIVER, "OBSERVE", "receiving", "in_progress"},
    {CHAIN_TX_SELL, "OBSERVE", "retail_selling", "retail_sold"},
    {CHAIN_TX_CLAIM, "OBSERVE", EPCIS_NS "BizStep-claim", NULL},
    {CHAIN_TX_TRANSFER, "OBSERVE", EPCIS_NS "BizStep-transfer", NULL},
    {CHAIN_TX_TRANSFER_OFFER, "OBSERVE", EPCIS_NS "BizStep-transfer_offer", NULL},
    {CHAIN_TX_TRANSFER_CANCEL, "OBSERVE", EPCIS_NS "BizStep-transfer_cancel", NULL},
    {CHAIN_TX_WARRANTY_ACTIVATE, "OBSERVE", EPCIS_NS "BizStep-warranty_activate", NULL},
    {CHAIN_TX_WARRANTY_EXTEND, "OBSERVE", EPCIS_NS "BizStep-warranty_extend", NULL},
    {CHAIN_TX_WARRANTY_CLAIM, "OBSERVE", EPCIS_NS "BizStep-warranty_claim", NULL},
    {CHAIN_TX_WARRANTY_RESOLVE, "OBSERVE", EPCIS_NS "BizStep-warranty_resolve", NULL},
    {CHAIN_TX_FLAG, "OBSERVE", EPCIS_NS "BizStep-flag", NULL}, /* disposition: reason */
    {CHAIN_TX_UNFLAG, "OBSERVE", EPCIS_NS "BizStep-unflag", NULL},
    /* AggregationEvents: parentID the SSCC, childEPCs the unit */
    {CHAIN_TX_PACK, "ADD", "packing", NULL},
    {CHAIN_TX_UNPACK, "DELETE", "unpacking", NULL},
};

/* CBV words the mapping uses: the hash rules expand exactly these to URIs. */
static const char *const cbv_bizsteps[] = {"commissioning",  "shipping",   "receiving",
                                           "retail_selling", "destroying", "packing",
                                           "unpacking"};
static const char *const cbv_dispositions[] = {"active",      "in_transit",        "in_progress",
                                               "retail_sold", "recalled",          "stolen",
                                               "destroyed",   "non_sellable_other"};

static const step *step_of(int type)
{
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++)
        if (steps[i].type == type)
            return &steps[i];
    return NULL;
}

static bool in_list(const char *const *list, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(list[i], s) == 0)
            return true;
    return false;
}

static const char *flag_disposition(unsigned reason)
{
    switch (reason) {
    case CHAIN_FLAG_RECALLED:
        return "recalled";
    case CHAIN_FLAG_STOLEN:
        return "stolen";
    case CHAIN_FLAG_DESTROYED:
        return "destroyed";
    default:
        return "non_sellable_other"; /* counterfeit: no CBV word */
    }
}

const char *epcis_bizstep(int type, unsigned reason)
{
    if (type == CHAIN_TX_FLAG && reason == CHAIN_FLAG_DESTROYED)
        return "destroying";
    const step *s = step_of(type);
    return s ? s->bizstep : "";
}

bool epcis_bizstep_norm(char out[64], const char *s, size_t n)
{
    const size_t cl = sizeof CBV_BIZSTEP - 1;
    if (n > cl && memcmp(s, CBV_BIZSTEP, cl) == 0) {
        s += cl;
        n -= cl;
    }
    if (n == 0 || n >= 64)
        return false;
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        const char *b = steps[i].bizstep;
        if (strlen(b) == n && memcmp(b, s, n) == 0) {
            snprintf(out, 64, "%s", b);
            return true;
        }
    }
    if (n == strlen("destroying") && memcmp(s, "destroying", n) == 0) {
        snprintf(out, 64, "destroying");
        return true;
    }
    /* any other CBV word is valid but never carried: keep it so it matches nothing */
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || s[i] == '_'))
            return false;
    memcpy(out, s, n);
    out[n] = '\0';
    return true;
}

/* ---- building an event ------------------------------------------------------------------ */

int epcis_sscc_uri(char *out, size_t out_len, const char *sscc)
{
    int n = snprintf(out, out_len, "%s/00/%s", EPCIS_EPC_BASE, sscc);
    return n < 0 || (size_t)n >= out_len ? -1 : n;
}

int epcis_epc(char *out, size_t out_len, const gs1_sgtin *id)
{
    gs1_link l;
    memset(&l, 0, sizeof l);
    l.id = *id;
    return gs1_link_format(out, out_len, EPCIS_EPC_BASE, &l);
}

void epcis_time(char out[32], uint64_t ms)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    char s[24];
    strftime(s, sizeof s, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, 32, "%s.%03uZ", s, (unsigned)(ms % 1000));
}

/* Keys here are ASCII literals; values the module builds itself (times, URIs,
 * hex, CBV words) are ASCII too, so they skip jansson's UTF-8 scan: every
 * served event runs through here. Text from the ledger (ids, lots, notes)
 * goes through set_s, which checks. */
static void set_s(json_t *o, const char *k, const char *v)
{
    json_object_set_new_nocheck(o, k, json_string(v));
}

static void set_a(json_t *o, const char *k, const char *ascii)
{
    json_object_set_new_nocheck(o, k, json_string_nocheck(ascii));
}

/* The words every event repeats (event type, time zone, and per step its
 * action, bizStep, disposition and name), made once and shared by reference:
 * jansson counts references atomically, and nothing ever changes them. */
#define NSTEPS (sizeof steps / sizeof steps[0])
static struct {
    json_t *object_event, *aggregation_event, *utc;
    json_t *action[NSTEPS], *bizstep[NSTEPS], *disposition[NSTEPS], *name[NSTEPS];
} shared;
static pthread_once_t shared_once = PTHREAD_ONCE_INIT;

static void shared_init(void)
{
    shared.object_event = json_string_nocheck("ObjectEvent");
    shared.aggregation_event = json_string_nocheck("AggregationEvent");
    shared.utc = json_string_nocheck("+00:00");
    for (size_t i = 0; i < NSTEPS; i++) {
        shared.action[i] = json_string_nocheck(steps[i].action);
        shared.bizstep[i] = json_string_nocheck(steps[i].bizstep);
        if (steps[i].disposition)
            shared.disposition[i] = json_string_nocheck(steps[i].disposition);
        shared.name[i] = json_string_nocheck(chain_tx_type_name(steps[i].type));
    }
}

/* Sets k to the shared word w, or to a fresh string s when w could not be made. */
static void set_w(json_t *o, const char *k, json_t *w, const char *s)
{
    if (w)
        json_object_set_nocheck(o, k, w);
    else
        set_a(o, k, s);
}

static json_t *id_object(const char *text) /* {"id": text}, text from the ledger */
{
    json_t *o = json_object();
    set_s(o, "id", text);
    return o;
}

static void set_hex(json_t *o, const char *k, const uint8_t *b, size_t n)
{
    char h[2 * CHAIN_HASH_LEN + 1];
    chain_hex(h, b, n);
    set_a(o, k, h);
}

/* YYMMDD → YYYY-MM-DD (GS1 AI 17: DD 00 means the month's last day). */
static bool expiry_date(char out[11], const char *e)
{
    if (strlen(e) != 6)
        return false;
    int yy = (e[0] - '0') * 10 + (e[1] - '0'), mm = (e[2] - '0') * 10 + (e[3] - '0'),
        dd = (e[4] - '0') * 10 + (e[5] - '0');
    if (mm < 1 || mm > 12)
        return false;
    /* GS1 General Specifications 7.12: a two-digit year within -49..+50 of now;
     * expiry dates are near the present, so 20YY */
    int year = 2000 + yy;
    if (dd == 0) {
        static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
        dd = mdays[mm - 1];
        if (mm == 2 && ((year % 4 == 0 && year % 100 != 0) || year % 400 == 0))
            dd = 29;
    }
    snprintf(out, 11, "%04d-%02d-%02d", year, mm, dd);
    return true;
}

json_t *epcis_event(const chain_event *ev, const epcis_src *src)
{
    const step *st = step_of(ev->type);
    if (!st)
        return NULL;
    pthread_once(&shared_once, shared_init);
    const size_t si = (size_t)(st - steps);
    json_t *e = json_object();
    if (!e)
        return NULL;
    char buf[EPCIS_EPC_MAX + 64], t[32];
    const bool agg = ev->type == CHAIN_TX_PACK || ev->type == CHAIN_TX_UNPACK;
    set_w(e, "type", agg ? shared.aggregation_event : shared.object_event,
          agg ? "AggregationEvent" : "ObjectEvent");
    epcis_time(t, ev->time);
    set_a(e, "eventTime", t);
    set_w(e, "eventTimeZoneOffset", shared.utc, "+00:00");
    if (agg && epcis_sscc_uri(buf, sizeof buf, ev->sscc) > 0)
        set_a(e, "parentID", buf);
    json_t *epcs = json_array();
    if (epcis_epc(buf, sizeof buf, src->id) > 0)
        json_array_append_new(epcs, json_string_nocheck(buf));
    json_object_set_new_nocheck(e, agg ? "childEPCs" : "epcList", epcs);
    set_w(e, "action", shared.action[si], st->action);
    if (ev->type == CHAIN_TX_FLAG) { /* bizStep and disposition by the flag's reason */
        set_a(e, "bizStep", epcis_bizstep(ev->type, ev->reason));
        set_a(e, "disposition", flag_disposition(ev->reason));
    } else {
        set_w(e, "bizStep", shared.bizstep[si], st->bizstep);
        if (st->disposition)
            set_w(e, "disposition", shared.disposition[si], st->disposition);
    }
    if (src->region && src->region[0]) {
        snprintf(buf, sizeof buf, "urn:provena:region:%s", src->region);
        json_object_set_new_nocheck(e, "readPoint", id_object(buf));
    }
    if (src->location && src->location[0]) {
        snprintf(buf, sizeof buf, "urn:provena:participant:%s", src->location);
        json_object_set_new_nocheck(e, "bizLocation", id_object(buf));
    }
    if (ev->type == CHAIN_TX_MINT) {
        json_t *ilmd = json_object();
        char d[11];
        if (src->lot && src->lot[0])
            set_s(ilmd, "cbvmda:lotNumber", src->lot);
        if (src->expiry && expiry_date(d, src->expiry))
            set_a(ilmd, "cbvmda:itemExpirationDate", d);
        if (json_object_size(ilmd))
            json_object_set_new_nocheck(e, "ilmd", ilmd);
        else
            json_decref(ilmd);
    }
    json_t *proof = json_object();
    set_hex(proof, "provena:tx", ev->tx, CHAIN_HASH_LEN);
    set_hex(proof, "provena:block", src->block_id, CHAIN_HASH_LEN);
    json_object_set_new_nocheck(proof, "provena:height", json_integer((json_int_t)ev->height));
    json_object_set_new_nocheck(proof, "provena:index", json_integer(ev->index));
    json_object_set_new_nocheck(e, "provena:ledger", proof);
    set_w(e, "provena:step", shared.name[si], chain_tx_type_name(ev->type));
    if (ev->actor_id[0])
        set_s(e, "provena:actor", ev->actor_id);
    else
        set_hex(e, "provena:actorKey", ev->actor, CHAIN_KEY_LEN);
    if (ev->has_key)
        set_hex(e, "provena:owner", ev->key, CHAIN_KEY_LEN);
    if (ev->type == CHAIN_TX_FLAG || ev->type == CHAIN_TX_UNFLAG)
        set_a(e, "provena:reason", chain_flag_name(ev->reason));
    if (ev->type == CHAIN_TX_WARRANTY_RESOLVE)
        set_a(e, "provena:outcome", chain_outcome_name(ev->outcome));
    if (ev->type == CHAIN_TX_WARRANTY_EXTEND)
        json_object_set_new_nocheck(e, "provena:months", json_integer(ev->months));
    if (ev->note[0])
        set_s(e, "rdfs:comment", ev->note);
    if (!agg && ev->sscc[0] && epcis_sscc_uri(buf, sizeof buf, ev->sscc) > 0)
        set_a(e, "provena:inside", buf); /* moved inside this parent */
    char id[EPCIS_ID_MAX];
    if (epcis_event_hash(id, e) != 0) {
        json_decref(e);
        return NULL;
    }
    set_a(e, "eventID", id);
    return e;
}

/* ---- the CBV 2.0 event hash ---------------------------------------------------------------- */

/* The pre-hash is written without allocating: every event a page serves is
 * hashed, so the strings go into bounded buffers on the stack (at most
 * EPCIS_PREHASH_MAX bytes each, as the whole pre-hash) and the lists that the
 * rules sort are spans into them. */
#define HASH_FIELDS_MAX 64 /* members of one object, or EPCs of one list, hashed */
#define HASH_DEPTH_MAX  4  /* levels of extension fields inside extension fields */

typedef struct pw {
    char *p;
    size_t len, cap;
    bool failed;
} pw;

static void pw_put(pw *w, const char *s, size_t n)
{
    if (w->failed || n > w->cap - w->len) {
        w->failed = true;
        return;
    }
    memcpy(w->p + w->len, s, n);
    w->len += n;
}

static void pw_puts(pw *w, const char *s)
{
    pw_put(w, s, strlen(s));
}

/* Strings to be concatenated in lexical order (rule 12 of the algorithm:
 * code-unit order; the strings here are ASCII or UTF-8, for which byte order
 * and UTF-16 order agree except past the BMP): each is written into buf, then
 * the spans are sorted. */
typedef struct sorter {
    pw w;
    struct span {
        size_t off, n;
    } sp[HASH_FIELDS_MAX];
    size_t n;
    char buf[EPCIS_PREHASH_MAX];
} sorter;

static void sorter_init(sorter *s)
{
    s->w = (pw){s->buf, 0, sizeof s->buf, false};
    s->n = 0;
}

/* Ends the string that began at offset start. */
static void sorter_end(sorter *s, size_t start)
{
    if (s->n == HASH_FIELDS_MAX) {
        s->w.failed = true;
        return;
    }
    s->sp[s->n].off = start;
    s->sp[s->n].n = s->w.len - start;
    s->n++;
}

static int span_cmp(const sorter *s, const struct span *a, const struct span *b)
{
    size_t n = a->n < b->n ? a->n : b->n;
    int c = memcmp(s->buf + a->off, s->buf + b->off, n);
    return c ? c : (a->n > b->n) - (a->n < b->n);
}

/* Appends the sorted concatenation to w. */
static void sorter_flush(sorter *s, pw *w)
{
    if (s->w.failed)
        w->failed = true;
    for (size_t i = 1; i < s->n; i++) { /* insertion sort: a few fields */
        struct span x = s->sp[i];
        size_t j = i;
        for (; j > 0 && span_cmp(s, &s->sp[j - 1], &x) > 0; j--)
            s->sp[j] = s->sp[j - 1];
        s->sp[j] = x;
    }
    for (size_t i = 0; i < s->n; i++)
        pw_put(w, s->buf + s->sp[i].off, s->sp[i].n);
}

/* The rules' value normalization for the values built here: surrounding
 * white space trimmed, and a string of only digits and dots loses leading
 * zeros (down to two characters) and trailing fractional zeros — as the
 * reference generator does. Dates are emitted already in the canonical
 * millisecond UTC form, EPCs already as canonical id.gs1.org URIs. */
static void put_value(pw *b, const json_t *v)
{
    if (json_is_integer(v)) {
        char n[24];
        int len = snprintf(n, sizeof n, "%lld", (long long)json_integer_value(v));
        pw_put(b, n, (size_t)len);
        return;
    }
    if (json_is_true(v) || json_is_false(v)) {
        pw_puts(b, json_is_true(v) ? "true" : "false");
        return;
    }
    const char *s = json_string_value(v);
    if (!s) {
        b->failed = true;
        return;
    }
    size_t n = json_string_length(v);
    while (n && (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')) {
        s++;
        n--;
    }
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n' || s[n - 1] == '\r'))
        n--;
    bool numeric = n > 0;
    bool dot = false;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '.')
            dot = true;
        else if (s[i] < '0' || s[i] > '9')
            numeric = false;
    }
    if (numeric) {
        while (n > 2 && s[0] == '0') {
            s++;
            n--;
        }
        while (n > 3 && dot && s[n - 1] == '0' && memchr(s, '.', n))
            n--;
        if (n && s[n - 1] == '.')
            n--;
    }
    pw_put(b, s, n);
}

static const struct {
    const char *prefix, *iri;
} namespaces[] = {
    {"epcis", "https://ref.gs1.org/epcis/"},
    {"cbv", "https://ref.gs1.org/cbv/"},
    {"cbvmda", "urn:epcglobal:cbv:mda:"},
    {"gs1", "https://gs1.org/voc/"},
    {"rdfs", "http://www.w3.org/2000/01/rdf-schema#"},
    {"provena", EPCIS_NS},
};

static void put_custom(pw *w, const char *key, const json_t *v, int depth);

/* An element's children: each custom field, in lexical order. */
static void put_children(pw *w, const json_t *obj, int depth)
{
    if (depth > HASH_DEPTH_MAX) {
        w->failed = true;
        return;
    }
    sorter s;
    sorter_init(&s);
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)obj, k, v)
    {
        size_t start = s.w.len;
        put_custom(&s.w, k, v, depth + 1);
        sorter_end(&s, start);
    }
    sorter_flush(&s, w);
}

/* One extension field: "{namespace IRI}name=value", or with children
 * "{IRI}name" + their strings; comments are left out (an empty string). */
static void put_custom(pw *w, const char *key, const json_t *v, int depth)
{
    if (strcmp(key, "rdfs:comment") == 0)
        return;
    const char *colon = strchr(key, ':');
    const char *iri = NULL;
    for (size_t i = 0; colon && i < sizeof namespaces / sizeof namespaces[0]; i++)
        if (strlen(namespaces[i].prefix) == (size_t)(colon - key) &&
            memcmp(namespaces[i].prefix, key, (size_t)(colon - key)) == 0)
            iri = namespaces[i].iri;
    if (!iri || json_is_array(v)) { /* every extension field here is a prefixed name; no
                                       extension lists are built here */
        w->failed = true;
        return;
    }
    pw_puts(w, "{");
    pw_puts(w, iri);
    pw_puts(w, "}");
    pw_puts(w, colon + 1);
    if (json_is_object(v)) {
        put_children(w, v, depth);
    } else {
        pw_puts(w, "=");
        put_value(w, v);
    }
}

static const char *const order[] = {
    "type",   "eventTime", "eventTimeZoneOffset", "epcList",   "parentID",    "childEPCs",
    "action", "bizStep",   "disposition",         "readPoint", "bizLocation", "ilmd",
};
/* Fields the rules know and this module never builds: refuse rather than hash wrong. */
static const char *const unsupported[] = {
    "certificationInfo",     "inputEPCList",       "quantityList",       "childQuantityList",
    "inputQuantityList",     "outputEPCList",      "outputQuantityList", "transformationID",
    "persistentDisposition", "bizTransactionList", "sourceList",         "destinationList",
    "sensorElementList",
};
static const char *const ignored[] = {"recordTime", "eventID", "errorDeclaration", "@context"};

static void put_vocab(pw *b, const char *field, const json_t *v, const char *cbv,
                      const char *const *words, size_t nwords)
{
    const char *s = json_string_value(v);
    pw_puts(b, field);
    pw_puts(b, "=");
    if (s && in_list(words, nwords, s))
        pw_puts(b, cbv);
    put_value(b, v);
}

/* The pre-hash into w (no NUL); w->failed on a shape the rules here do not
 * cover or past w's capacity. */
static void prehash(pw *b, const json_t *event)
{
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) {
        const char *k = order[i];
        const json_t *v = json_object_get(event, k);
        if (!v)
            continue;
        if (strcmp(k, "type") == 0) {
            pw_puts(b, "eventType=");
            put_value(b, v);
        } else if (strcmp(k, "epcList") == 0 || strcmp(k, "childEPCs") == 0) {
            if (!json_is_array(v) || json_array_size(v) == 0)
                continue; /* rule 4: an empty list is left out */
            sorter s;
            sorter_init(&s);
            size_t j;
            json_t *x;
            json_array_foreach((json_t *)v, j, x)
            {
                size_t start = s.w.len;
                pw_puts(&s.w, "epc=");
                put_value(&s.w, x);
                sorter_end(&s, start);
            }
            pw_puts(b, k);
            sorter_flush(&s, b);
        } else if (strcmp(k, "bizStep") == 0) {
            put_vocab(b, k, v, CBV_BIZSTEP, cbv_bizsteps,
                      sizeof cbv_bizsteps / sizeof cbv_bizsteps[0]);
        } else if (strcmp(k, "disposition") == 0) {
            put_vocab(b, k, v, CBV_DISP, cbv_dispositions,
                      sizeof cbv_dispositions / sizeof cbv_dispositions[0]);
        } else if (strcmp(k, "readPoint") == 0 || strcmp(k, "bizLocation") == 0) {
            const json_t *id = json_object_get(v, "id");
            if (!id || json_object_size(v) != 1)
                b->failed = true;
            pw_puts(b, k);
            pw_puts(b, "id=");
            if (id)
                put_value(b, id);
        } else if (strcmp(k, "ilmd") == 0) {
            pw_puts(b, "ilmd");
            put_children(b, v, 1);
        } else {
            pw_puts(b, k);
            pw_puts(b, "=");
            put_value(b, v);
        }
    }
    sorter custom;
    sorter_init(&custom);
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)event, k, v)
    {
        /* a prefixed name is an extension field; only unprefixed names are the
         * standard's own */
        bool known = false;
        if (!strchr(k, ':')) {
            for (size_t i = 0; i < sizeof order / sizeof order[0] && !known; i++)
                known = strcmp(order[i], k) == 0;
            for (size_t i = 0; i < sizeof ignored / sizeof ignored[0] && !known; i++)
                known = strcmp(ignored[i], k) == 0;
            if (in_list(unsupported, sizeof unsupported / sizeof unsupported[0], k))
                b->failed = true;
        }
        if (!known) {
            size_t start = custom.w.len;
            put_custom(&custom.w, k, v, 1);
            sorter_end(&custom, start);
        }
    }
    sorter_flush(&custom, b);
}

char *epcis_prehash(const json_t *event)
{
    char buf[EPCIS_PREHASH_MAX];
    pw b = {buf, 0, sizeof buf - 1, false}; /* the bound counts the NUL */
    prehash(&b, event);
    if (b.failed)
        return NULL;
    return strndup(buf, b.len);
}

int epcis_event_hash(char out[EPCIS_ID_MAX], const json_t *event)
{
    char buf[EPCIS_PREHASH_MAX];
    pw b = {buf, 0, sizeof buf - 1, false};
    prehash(&b, event);
    if (b.failed)
        return -1;
    uint8_t md[32];
    unsigned int mdlen = 0;
    int ok = EVP_Digest(buf, b.len, md, &mdlen, EVP_sha256(), NULL);
    if (!ok || mdlen != sizeof md)
        return -1;
    char hex[65];
    chain_hex(hex, md, sizeof md);
    snprintf(out, EPCIS_ID_MAX, "ni:///sha-256;%s?ver=CBV2.0", hex);
    return 0;
}

/* ---- documents ------------------------------------------------------------------------------- */

json_t *epcis_context(void)
{
    return json_pack("[s,{s:s}]", EPCIS_CONTEXT_URL, "provena", EPCIS_NS);
}

static json_t *doc_head(const char *type, uint64_t now_ms)
{
    char t[32];
    epcis_time(t, now_ms);
    return json_pack("{s:o,s:s,s:s,s:s}", "@context", epcis_context(), "type", type,
                     "schemaVersion", "2.0", "creationDate", t);
}

json_t *epcis_document(json_t *events, uint64_t now_ms)
{
    json_t *d = doc_head("EPCISDocument", now_ms);
    if (!d || !events) {
        json_decref(d);
        json_decref(events);
        return NULL;
    }
    json_object_set_new(d, "epcisBody", json_pack("{s:o}", "eventList", events));
    return d;
}

json_t *epcis_query_document(json_t *events, uint64_t now_ms)
{
    json_t *d = doc_head("EPCISQueryDocument", now_ms);
    if (!d || !events) {
        json_decref(d);
        json_decref(events);
        return NULL;
    }
    json_object_set_new(d, "epcisBody",
                        json_pack("{s:{s:s,s:{s:o}}}", "queryResults", "queryName",
                                  "SimpleEventQuery", "resultsBody", "eventList", events));
    return d;
}
