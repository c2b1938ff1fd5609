/*
 * page.c — the HTML page a phone shows after scanning a label.
 *
 * Server-rendered, no JavaScript, inline CSS: a coloured verdict banner with
 * words (colour is never the only signal), the product facts, the timeline
 * newest first, warranty, the owner as a short fingerprint, and a form that
 * POSTs a "suspected fake" report. Every ledger string goes through
 * gw_buf_html. The page stays under GW_PAGE_MAX: events are drawn while the
 * budget lasts (notes cut to a line), the rest is counted and left to the JSON.
 */
#include "node/gw_priv.h"

#include <string.h>

#define NOTE_CUT     80
#define TAIL_RESERVE 3000 /* bytes kept for the form and footer */

static const char *const css =
    "body{margin:0;font:16px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;"
    "color:#1a1a1a;background:#f5f5f2}"
    ".b{padding:20px 16px;color:#fff}.b h1{margin:0;font-size:28px}"
    ".b ul{margin:8px 0 0;padding-left:20px}"
    ".genuine{background:#1b7a3a}.suspicious{background:#a35c00}.expired{background:#6b5a1e}"
    ".recalled,.stolen,.not_genuine{background:#b3141b}"
    "main{padding:8px 16px 24px;max-width:640px;margin:auto}"
    "h2{font-size:18px;margin:20px 0 8px}"
    "dl{display:grid;grid-template-columns:auto 1fr;gap:4px 12px;margin:0}"
    "dt{color:#555}dd{margin:0;overflow-wrap:anywhere}"
    "ol{list-style:none;padding:0;margin:0}"
    "li{background:#fff;border-left:4px solid #888;padding:8px 10px;margin:0 0 8px}"
    "li small{color:#555;display:block}"
    "textarea{width:100%;box-sizing:border-box;min-height:64px;font:inherit}"
    "button{margin-top:8px;padding:10px 14px;font:inherit;background:#b3141b;color:#fff;"
    "border:0;border-radius:4px}"
    "footer{color:#666;font-size:13px;padding:16px;text-align:center}";

/* What each event type says, in words for people. */
static const char *const event_words[CHAIN_TX__COUNT] = {
    [CHAIN_TX_MINT] = "Made",
    [CHAIN_TX_PICKUP] = "Picked up for transport",
    [CHAIN_TX_DELIVER] = "Delivered",
    [CHAIN_TX_SELL] = "Sold",
    [CHAIN_TX_CLAIM] = "Ownership claimed",
    [CHAIN_TX_TRANSFER] = "Ownership transferred",
    [CHAIN_TX_TRANSFER_OFFER] = "Offered for transfer",
    [CHAIN_TX_TRANSFER_CANCEL] = "Transfer offer withdrawn",
    [CHAIN_TX_WARRANTY_ACTIVATE] = "Warranty activated",
    [CHAIN_TX_WARRANTY_EXTEND] = "Warranty extended",
    [CHAIN_TX_WARRANTY_CLAIM] = "Warranty claim filed",
    [CHAIN_TX_WARRANTY_RESOLVE] = "Warranty claim resolved",
    [CHAIN_TX_FLAG] = "Flagged",
    [CHAIN_TX_UNFLAG] = "Flag cleared",
};

static const char *words_of(int type)
{
    if (type > 0 && type < CHAIN_TX__COUNT && event_words[type])
        return event_words[type];
    return chain_tx_type_name(type);
}

static void dl_row(gw_buf *b, const char *k, const char *v)
{
    if (!v || !v[0])
        return;
    gw_buf_puts(b, "<dt>");
    gw_buf_puts(b, k);
    gw_buf_puts(b, "</dt><dd>");
    gw_buf_html(b, v);
    gw_buf_puts(b, "</dd>");
}

static void head(gw_buf *b, const char *title)
{
    gw_buf_puts(b, "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
                   "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
                   "<meta name=\"robots\" content=\"noindex\"><title>");
    gw_buf_html(b, title);
    gw_buf_puts(b, "</title><style>");
    gw_buf_puts(b, css);
    gw_buf_puts(b, "</style></head><body>");
}

/* Text cut to at most max bytes on a UTF-8 boundary, then escaped. */
static void html_cut(gw_buf *b, const char *s, size_t max)
{
    char tmp[NOTE_CUT + 4];
    size_t n = strnlen(s, CHAIN_NOTE_MAX + 1);
    if (n <= max) {
        gw_buf_html(b, s);
        return;
    }
    while (max > 0 && ((unsigned char)s[max] & 0xc0) == 0x80)
        max--;
    memcpy(tmp, s, max);
    memcpy(tmp + max, "…", 3 + 1);
    gw_buf_html(b, tmp);
}

static void event_li(gw_buf *b, const gw_event *e)
{
    const chain_event *ev = &e->ev;
    char when[32], fp[17];
    gw_time_fmt(when, ev->time);
    gw_buf_puts(b, "<li><b>");
    gw_buf_html(b, words_of(ev->type));
    if ((ev->type == CHAIN_TX_FLAG || ev->type == CHAIN_TX_UNFLAG) && ev->reason) {
        gw_buf_puts(b, ": ");
        gw_buf_html(b, chain_flag_name(ev->reason));
    }
    if (ev->type == CHAIN_TX_WARRANTY_RESOLVE && ev->outcome) {
        gw_buf_puts(b, ": ");
        gw_buf_html(b, chain_outcome_name(ev->outcome));
    }
    if (ev->type == CHAIN_TX_WARRANTY_EXTEND && ev->months)
        gw_buf_printf(b, " by %u months", ev->months);
    gw_buf_puts(b, "</b>");
    if (ev->to[0]) {
        gw_buf_puts(b, " to ");
        gw_buf_html(b, e->to_name[0] ? e->to_name : ev->to);
    }
    gw_buf_puts(b, "<small>by ");
    if (e->actor_name[0]) {
        gw_buf_html(b, e->actor_name);
    } else if (ev->actor_id[0]) {
        gw_buf_html(b, ev->actor_id);
    } else {
        gw_fingerprint(fp, ev->actor);
        gw_buf_puts(b, "customer ");
        gw_buf_puts(b, fp);
    }
    gw_buf_puts(b, "</small><small>");
    gw_buf_puts(b, when);
    if (ev->region[0]) {
        gw_buf_puts(b, " · ");
        gw_buf_html(b, ev->region);
    }
    gw_buf_printf(b, " · block %llu</small>", (unsigned long long)ev->height);
    if (ev->note[0]) {
        gw_buf_puts(b, "<small>“");
        html_cut(b, ev->note, NOTE_CUT);
        gw_buf_puts(b, "”</small>");
    }
    gw_buf_puts(b, "</li>");
}

/* The customer's part of the page: plain forms that /static/passkey.js turns
 * into passkey ceremonies. Without JavaScript it says what is possible and
 * the rest of the page reads the same.
 *   sold with a claim pending, or owned with a transfer offer open: claim;
 *   owned: the owner's actions, shown by the script only to the browser that
 *   holds the owner's passkey; everyone else sees the public verdict only. */
static void own_section(gw_buf *b, const gw_view *v)
{
    const chain_unit *u = v->unit;
    if (u == NULL || v->rp_id == NULL || v->rp_id[0] == '\0' ||
        (u->state != CHAIN_UNIT_SOLD && u->state != CHAIN_UNIT_OWNED))
        return;
    char owner[2 * CHAIN_KEY_LEN + 1] = "";
    if (u->has_owner)
        chain_hex(owner, u->owner, CHAIN_KEY_LEN);
    gw_buf_puts(b, "<section id=\"own\" data-unit=\"");
    gw_buf_html(b, v->id.gtin);
    gw_buf_puts(b, "/");
    gw_buf_html(b, v->id.serial);
    gw_buf_puts(b, "\" data-rp=\"");
    gw_buf_html(b, v->rp_id);
    gw_buf_printf(b, "\" data-owner=\"%s\">", owner);
    if (u->claim_pending) {
        gw_buf_puts(b, u->state == CHAIN_UNIT_SOLD
                           ? "<h2>Claim this product</h2><form id=\"pk-claim\"><label "
                             "for=\"pk-code\">Code from the seller</label>"
                           : "<h2>Take over this product</h2><form id=\"pk-claim\"><label "
                             "for=\"pk-code\">Transfer code from the owner</label>");
        gw_buf_puts(b, "<input id=\"pk-code\" autocomplete=\"off\" "
                       "autocapitalize=\"characters\" required maxlength=\"80\">"
                       "<button type=\"submit\">Claim with a passkey</button></form>");
    }
    if (u->state == CHAIN_UNIT_OWNED)
        gw_buf_puts(b, "<div id=\"pk-owner\" hidden><h2>For the owner</h2>"
                       "<form data-act=\"warranty.activate\"><button type=\"submit\">"
                       "Activate the warranty</button></form>"
                       "<form data-act=\"warranty.claim\"><label for=\"pk-note\">What is "
                       "wrong? (optional)</label><textarea id=\"pk-note\" name=\"note\" "
                       "maxlength=\"256\"></textarea><button type=\"submit\">File a warranty "
                       "claim</button></form>"
                       "<form data-act=\"transfer.offer\"><button type=\"submit\">Offer a "
                       "transfer</button><output id=\"pk-offer\"></output></form>"
                       "<form data-act=\"transfer.cancel\"><button type=\"submit\">Withdraw "
                       "the offer</button></form>"
                       "<form data-act=\"flag\"><button type=\"submit\">Report stolen"
                       "</button></form></div>");
    gw_buf_puts(b, "<p id=\"pk-out\" role=\"status\" aria-live=\"polite\"></p>"
                   "<noscript><p>Claiming and the owner's actions need JavaScript and a browser "
                   "with passkeys (or the provena command line).</p></noscript></section>"
                   "<script src=\"/static/passkey.js\" defer></script>");
}

void gw_page_render(gw_buf *b, const gw_view *v)
{
    const chain_unit *u = v->unit;
    const char *status = verdict_status_name(v->v.status);
    char title[160];
    snprintf(title, sizeof title, "%s — %s", verdict_status_title(v->v.status),
             u && u->model[0] ? u->model : "Product check");
    head(b, title);
    gw_buf_printf(b, "<header class=\"b %s\" role=\"status\"><h1>%s %s</h1>", status,
                  v->v.status == VERDICT_GENUINE ? "✓" : "⚠", verdict_status_title(v->v.status));
    if (v->v.reasons) {
        gw_buf_puts(b, "<ul>");
        for (int r = 0; r < VERDICT_R__COUNT; r++)
            if (v->v.reasons & (1u << r)) {
                gw_buf_printf(b, "<li data-reason=\"%s\">", verdict_reason_name(r));
                gw_buf_html(b, verdict_reason_text(r));
                gw_buf_puts(b, "</li>");
            }
        gw_buf_puts(b, "</ul>");
    } else if (u) {
        gw_buf_puts(b, "<div>Made by ");
        gw_buf_html(b, v->brand_name && v->brand_name[0] ? v->brand_name : u->brand);
        gw_buf_puts(b, " and recorded on the shared ledger.</div>");
    }
    gw_buf_puts(b, "</header><main>");

    gw_buf_puts(b, "<h2>Product</h2><dl>");
    if (u) {
        dl_row(b, "Model", u->model);
        dl_row(b, "Brand", v->brand_name && v->brand_name[0] ? v->brand_name : u->brand);
    }
    dl_row(b, "GTIN", v->id.gtin);
    dl_row(b, "Serial", v->id.serial);
    if (u) {
        dl_row(b, "Lot", u->lot);
        if (u->expiry[0]) {
            char exp[32];
            snprintf(exp, sizeof exp, "20%.2s-%.2s-%.2s%s", u->expiry, u->expiry + 2, u->expiry + 4,
                     verdict_expired(u->expiry, v->now) ? " (expired)" : "");
            dl_row(b, "Expiry", exp);
        }
        dl_row(b, "Status", chain_unit_state_name(u->state));
        if (u->has_owner) {
            char fp[17];
            gw_fingerprint(fp, u->owner);
            dl_row(b, "Owner", fp);
        } else if (u->claim_pending) {
            dl_row(b, "Owner", "sold, not yet claimed");
        }
        const char *ws = gw_warranty_status(u, v->now);
        char wtxt[96];
        if (u->warranty_end) {
            char end[32];
            gw_time_fmt(end, u->warranty_end);
            snprintf(wtxt, sizeof wtxt, "%s, until %.10s", ws, end);
        } else {
            snprintf(wtxt, sizeof wtxt, "%s (%u months from sale)", ws, u->warranty_months);
        }
        dl_row(b, "Warranty", wtxt);
    }
    gw_buf_puts(b, "</dl>");

    if (u) {
        gw_buf_printf(b, "<h2>History (%u events)</h2><ol>", u->nevents);
        size_t shown = 0;
        for (size_t i = v->nevents; i-- > 0;) {
            if (b->len + TAIL_RESERVE > GW_PAGE_MAX)
                break;
            event_li(b, &v->events[i]);
            shown++;
        }
        gw_buf_puts(b, "</ol>");
        if (shown < u->nevents)
            gw_buf_printf(b, "<p>%llu earlier events are in the JSON history.</p>",
                          (unsigned long long)(u->nevents - shown));
    } else {
        gw_buf_puts(b, "<p>This code does not match any product the brand has made. "
                       "It may be a copy.</p>");
    }

    own_section(b, v);
    gw_buf_puts(b, "<h2>Something wrong?</h2><form method=\"post\" action=\"");
    gw_buf_html(b, v->report_url ? v->report_url : "/api/v1/reports");
    gw_buf_puts(b, "\"><input type=\"hidden\" name=\"unit\" value=\"");
    gw_buf_html(b, v->id.gtin);
    gw_buf_puts(b, "/");
    gw_buf_html(b, v->id.serial);
    gw_buf_puts(b, "\"><label for=\"n\">What looks wrong? (optional)</label>"
                   "<textarea id=\"n\" name=\"note\" maxlength=\"256\"></textarea>"
                   "<button type=\"submit\">Report suspected fake</button></form>");
    gw_buf_puts(b, "</main><footer>Checked against the Provena ledger. "
                   "No location or address of yours is stored.</footer></body></html>\n");
}

void gw_page_error(gw_buf *b, unsigned status, const char *title, const char *detail)
{
    head(b, title);
    gw_buf_printf(b, "<header class=\"b %s\" role=\"status\"><h1>",
                  status < 300    ? "genuine"
                  : status == 404 ? "not_genuine"
                                  : "suspicious");
    gw_buf_html(b, title);
    gw_buf_puts(b, "</h1></header><main><p>");
    gw_buf_html(b, detail ? detail : "");
    gw_buf_puts(b, "</p></main></body></html>\n");
}
