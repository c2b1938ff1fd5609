/*
 * gw_epcis_export.c — a lot's EPCIS events as one EPCISDocument, streamed:
 * GET /api/v1/lots/{gtin}/{lot}/epcis[?GE_eventTime&LT_eventTime&EQ_bizStep].
 *
 * The body is produced a page at a time while the client reads it
 * (gw_reply_stream): each page is gw_epcis_run_page_emit's (at most
 * EPCIS_PAGE_MAX events from one read snapshot, the cursor carried to the
 * next), each event serialized into one reused buffer as soon as it is built
 * (gw_json_text: the bytes json_dumps would write, without its per-container
 * cycle check) and freed, and the connection drains the buffer before the
 * next page is read. So the node holds one page
 * whatever the lot's size, no read snapshot stays open between pages, and
 * the client writes bytes instead of parsing pages (`provena epcis export`).
 *
 * The document is one event per line: the head (context, creation date) up
 * to "eventList":[ on the first line, then each event on its own line, then
 * ]}} on the last. A read failure after the head is sent ends the connection
 * without the last line (GW_STREAM_ERROR): a client never mistakes a cut
 * document for a whole one. Errors found before the first byte (a bad lot, an
 * unknown one, a bad filter) are ordinary JSON errors.
 *
 * State: HEAD → EVENTS (one page per refill, until the cursor is exhausted)
 * → TAIL → DONE; each refill happens only once the buffer is drained.
 */
#include "node/epcis.h"
#include "node/gw_parse.h"
#include "node/gw_priv.h"

#include <stdlib.h>
#include <string.h>

#define EXPORT_BUF_MAX (EPCIS_PAGE_MAX * (size_t)(16u << 10)) /* one page's bytes, bounded */

typedef enum export_state { X_HEAD, X_EVENTS, X_TAIL, X_DONE } export_state;

typedef struct export
{
    gw *g;
    epcis_query q;
    export_state state;
    uint64_t now_ms;
    uint64_t events; /* written so far */
    gw_json_text *text;
    gw_buf out;      /* the current piece; out.len - off bytes not yet handed out */
    size_t off;
}
export;

static int append_cb(const char *buf, size_t n, void *ctx)
{
    gw_buf *b = ctx;
    gw_buf_put(b, buf, n);
    return b->failed ? -1 : 0;
}

static void put_head(export *x)
{
    char t[32];
    epcis_time(t, x->now_ms);
    json_t *ctx = epcis_context();
    gw_buf_puts(&x->out, "{\"@context\":");
    if (!ctx || json_dump_callback(ctx, append_cb, &x->out, JSON_COMPACT) != 0)
        x->out.failed = true;
    json_decref(ctx);
    gw_buf_printf(&x->out,
                  ",\"type\":\"EPCISDocument\",\"schemaVersion\":\"2.0\",\"creationDate\":\"%s\","
                  "\"epcisBody\":{\"eventList\":[\n",
                  t);
}

/* One event, serialized and let go at once: a page's events never coexist. */
static int emit_event(void *ctx, json_t *ev)
{
    export *x = ctx;
    if (x->events++)
        gw_buf_puts(&x->out, ",\n");
    if (!gw_json_text_write(x->text, &x->out, ev))
        x->out.failed = true;
    json_decref(ev);
    return x->out.failed ? -1 : 0;
}

/* One page of events into out; false on a ledger or memory failure. */
static bool put_page(export *x)
{
    int rc = gw_epcis_run_page_emit(x->g, &x->q, emit_event, x);
    if (rc == GW_EPCIS_PAGE_DONE)
        x->state = X_TAIL;
    return rc != GW_EPCIS_PAGE_ERR && !x->out.failed;
}

static ssize_t export_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    export *x = cls;
    while (x->off == x->out.len) {
        x->out.len = 0; /* keep the buffer for the next page */
        x->off = 0;
        switch (x->state) {
        case X_HEAD:
            put_head(x);
            x->state = X_EVENTS;
            break;
        case X_EVENTS:
            if (!put_page(x))
                return GW_STREAM_ERROR;
            break;
        case X_TAIL:
            gw_buf_puts(&x->out, x->events ? "\n]}}\n" : "]}}\n");
            x->state = X_DONE;
            break;
        case X_DONE:
            return GW_STREAM_END;
        }
        if (x->out.failed)
            return GW_STREAM_ERROR;
    }
    size_t n = x->out.len - x->off;
    if (n > max)
        n = max;
    memcpy(buf, x->out.p + x->off, n);
    x->off += n;
    return (ssize_t)n;
}

static void export_free(void *cls)
{
    export *x = cls;
    gw_buf_free(&x->out);
    gw_json_text_free(x->text);
    free(x);
}

static const char *req_arg(void *ctx, const char *key)
{
    return gw_arg(ctx, key);
}

static const char *const export_params[] = {"GE_eventTime", "LT_eventTime", "EQ_bizStep"};

void gw_route_lot_epcis(gw_req *r)
{
    char gtin[GW_PARAM_MAX], lot[GW_PARAM_MAX];
    if (!gw_param(r, 0, gtin, sizeof gtin) || !gw_param(r, 1, lot, sizeof lot)) {
        gw_reply_error(r, 400, "bad_unit", "expected a GTIN-14 and a GS1 lot");
        return;
    }
    if (gw_epcis_refuse_unknown(r, export_params, sizeof export_params / sizeof export_params[0]))
        return;
    export *x = calloc(1, sizeof *x);
    if (!x) {
        gw_reply_error(r, 503, "nomem", "out of memory");
        return;
    }
    gw_perr e;
    if (!gw_epcis_export_parse(&x->q, gtin, lot, req_arg, r, &e)) {
        free(x);
        gw_epcis_reply_perr(r, &e);
        return;
    }
    chain_rd *rd;
    chain_lot L;
    int c = chain_rd_begin(r->g->deps.chain, &rd);
    if (c == CHAIN_OK) {
        c = chain_lot_get(rd, &L, gtin, lot);
        chain_rd_end(rd);
    }
    if (c != CHAIN_OK) {
        free(x);
        if (c == CHAIN_ERR_NOT_FOUND)
            gw_reply_error(r, 404, "unknown_lot", "no lot %s of %s", lot, gtin);
        else
            gw_reply_chain_err(r, c, "reading the ledger");
        return;
    }
    x->text = gw_json_text_new();
    if (!x->text) {
        free(x);
        gw_reply_error(r, 503, "nomem", "out of memory");
        return;
    }
    x->g = r->g;
    x->now_ms = r->now_ms;
    x->out.max = EXPORT_BUF_MAX;
    gw_reply_stream(r, 200, "application/json", export_read, x, export_free);
}
