/*
 * page.c — the HTML page a phone shows after scanning a label.
 *
 * Server-rendered, no JavaScript, inline CSS: a coloured verdict banner with
 * words (colour is never the only signal), the product facts, the timeline
 * newest first, warranty, the owner as a short fingerprint, and a form that
 * POSTs a "suspected fake" report. Every word a person reads comes from the
 * message table (gw_i18n.c) in the request's language, never an enum name;
 * the footer says which block the page is as of and links the other
 * languages. Every ledger string goes through gw_buf_html. The page stays
 * under GW_PAGE_MAX: events are drawn while the budget lasts (notes cut to a
 * line), the rest is counted and left to the JSON.
 */
#include "node/gw_i18n.h"
#include "node/gw_priv.h"

#include <string.h>

#define NOTE_CUT     80
#define TAIL_RESERVE 3000 /* bytes kept for the form and footer */

/* Colours meet WCAG AA (4.5:1) for their text: white on every banner colour,
 * #555 or darker on the page and card backgrounds. The history's cards are
 * `ol.h > li` only, so the banner's reason list keeps the banner's colours. */
static const char *const css =
    "body{margin:0;font:16px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;"
    "color:#1a1a1a;background:#f5f5f2}"
    ".b{padding:20px 16px;color:#fff}.b h1{margin:0;font-size:28px}"
    ".b ul{margin:8px 0 0;padding-left:20px}.b li{color:#fff;background:none;margin:2px 0}"
    ".genuine{background:#1b7a3a}.suspicious{background:#a35c00}.expired{background:#6b5a1e}"
    ".recalled,.stolen,.not_genuine{background:#b3141b}"
    "main{padding:8px 16px 24px;max-width:640px;margin:auto}"
    "h2{font-size:18px;margin:20px 0 8px}"
    "dl{display:grid;grid-template-columns:auto 1fr;gap:4px 12px;margin:0}"
    "dt{color:#555}dd{margin:0;overflow-wrap:anywhere}"
    "ol.h{list-style:none;padding:0;margin:0}"
    "ol.h>li{background:#fff;border-left:4px solid #888;padding:8px 10px;margin:0 0 8px;"
    "overflow-wrap:anywhere}"
    "ol.h small{color:#555;display:block}"
    "label{display:block}"
    "textarea,input{display:block;width:100%;box-sizing:border-box;font:inherit;"
    "padding:8px 10px;border:1px solid #767676;border-radius:4px;background:#fff}"
    "textarea{min-height:64px}"
    "#pk-code{font-family:ui-monospace,monospace;letter-spacing:.08em}"
    "button{margin-top:8px;padding:10px 14px;font:inherit;background:#1a4f8a;color:#fff;"
    "border:0;border-radius:4px;min-height:44px}"
    "button.warn{background:#b3141b}"
    "#own form,#own p{margin:0 0 16px}"
    "#pk-offer{display:block;font:600 22px/1.3 ui-monospace,monospace;letter-spacing:.06em;"
    "margin:12px 0 8px;overflow-wrap:anywhere}#pk-offer:empty{display:none}"
    "#pk-qr svg{display:block;max-width:100%;height:auto}"
    "footer{color:#555;font-size:13px;padding:16px;text-align:center}"
    "footer a{color:#1a4f8a}nav{margin-top:8px}nav a{margin:0 6px;display:inline-block;"
    "padding:4px 0}";

static const char *T(const gw_view *v, int msg)
{
    return gw_msg(v->lang, msg);
}

static const char *event_words(int lang, int type)
{
    if (type >= CHAIN_TX_MINT && type <= CHAIN_TX_UNFLAG)
        return gw_msg(lang, GW_M_EV_MINT + (type - CHAIN_TX_MINT));
    if (type == CHAIN_TX_TRANSFER_OFFER)
        return gw_msg(lang, GW_M_EV_TRANSFER_OFFER);
    if (type == CHAIN_TX_TRANSFER_CANCEL)
        return gw_msg(lang, GW_M_EV_TRANSFER_CANCEL);
    if (type == CHAIN_TX_PACK)
        return gw_msg(lang, GW_M_EV_PACK);
    if (type == CHAIN_TX_UNPACK)
        return gw_msg(lang, GW_M_EV_UNPACK);
    return chain_tx_type_name(type);
}

static const char *flag_words(int lang, unsigned flag)
{
    for (int i = 0; i < 4; i++)
        if (flag == (1u << i))
            return gw_msg(lang, GW_M_FLAG_RECALLED + i);
    return chain_flag_name(flag);
}

static const char *outcome_words(int lang, int outcome)
{
    if (outcome >= CHAIN_OUTCOME_REPAIRED && outcome <= CHAIN_OUTCOME_REJECTED)
        return gw_msg(lang, GW_M_OUT_REPAIRED + (outcome - CHAIN_OUTCOME_REPAIRED));
    return chain_outcome_name(outcome);
}

static const char *state_words(int lang, int state)
{
    if (state >= CHAIN_UNIT_MINTED && state <= CHAIN_UNIT_OWNED)
        return gw_msg(lang, GW_M_STATE_MINTED + (state - CHAIN_UNIT_MINTED));
    return chain_unit_state_name(state);
}

static const char *warranty_words(int lang, const char *status)
{
    static const char *const names[] = {"not_started", "expired", "claim_open", "active",
                                        "inactive"};
    for (int i = 0; i < 5; i++)
        if (strcmp(status, names[i]) == 0)
            return gw_msg(lang, GW_M_W_NOT_STARTED + i);
    return status;
}

static const char *status_words(int lang, int status)
{
    if (status >= VERDICT_GENUINE && status < VERDICT__COUNT)
        return gw_msg(lang, GW_M_ST_GENUINE + (status - VERDICT_GENUINE));
    return verdict_status_title(status);
}

static void dl_row(gw_buf *b, const char *k, const char *v)
{
    if (!v || !v[0])
        return;
    gw_buf_puts(b, "<dt>");
    gw_buf_html(b, k);
    gw_buf_puts(b, "</dt><dd>");
    gw_buf_html(b, v);
    gw_buf_puts(b, "</dd>");
}

static void head(gw_buf *b, int lang, const char *title)
{
    gw_buf_printf(b,
                  "<!doctype html><html lang=\"%s\"><head><meta charset=\"utf-8\">"
                  "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
                  "<meta name=\"robots\" content=\"noindex\"><title>",
                  gw_lang_code(lang));
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

static void event_li(gw_buf *b, const gw_view *v, const gw_event *e)
{
    const chain_event *ev = &e->ev;
    char when[32], fp[17];
    gw_time_fmt(when, ev->time);
    gw_buf_puts(b, "<li><b>");
    gw_buf_html(b, event_words(v->lang, ev->type));
    if ((ev->type == CHAIN_TX_FLAG || ev->type == CHAIN_TX_UNFLAG) && ev->reason) {
        gw_buf_puts(b, ": ");
        gw_buf_html(b, flag_words(v->lang, ev->reason));
    }
    if (ev->type == CHAIN_TX_WARRANTY_RESOLVE && ev->outcome) {
        gw_buf_puts(b, ": ");
        gw_buf_html(b, outcome_words(v->lang, ev->outcome));
    }
    if (ev->type == CHAIN_TX_WARRANTY_EXTEND && ev->months)
        gw_buf_printf(b, " +%u %s", ev->months, T(v, GW_M_EXTENDED_BY_MONTHS));
    if ((ev->type == CHAIN_TX_PACK || ev->type == CHAIN_TX_UNPACK) && ev->sscc[0])
        gw_buf_printf(b, " <a href=\"/00/%s\">%s</a>", ev->sscc, ev->sscc); /* 18 digits */
    gw_buf_puts(b, "</b>");
    if (ev->sscc[0] && ev->type != CHAIN_TX_PACK && ev->type != CHAIN_TX_UNPACK)
        gw_buf_printf(b, " %s <a href=\"/00/%s\">%s</a>", T(v, GW_M_IN_PARENT), ev->sscc, ev->sscc);
    if (ev->to[0]) {
        gw_buf_printf(b, " %s ", T(v, GW_M_TO));
        gw_buf_html(b, e->to_name[0] ? e->to_name : ev->to);
    }
    gw_buf_printf(b, "<small>%s ", T(v, GW_M_BY));
    if (e->actor_name[0]) {
        gw_buf_html(b, e->actor_name);
    } else if (ev->actor_id[0]) {
        gw_buf_html(b, ev->actor_id);
    } else {
        gw_fingerprint(fp, ev->actor);
        gw_buf_printf(b, "%s %s", T(v, GW_M_CUSTOMER), fp);
    }
    gw_buf_puts(b, "</small><small>");
    gw_buf_puts(b, when);
    if (ev->region[0]) {
        gw_buf_puts(b, " · ");
        gw_buf_html(b, ev->region);
    }
    gw_buf_printf(b, " · %s %llu</small>", T(v, GW_M_BLOCK), (unsigned long long)ev->height);
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
    gw_buf_printf(b, "\" data-uv=\"%s\" data-owner=\"%s\"", v->rp_uv ? "required" : "preferred",
                  owner);
    /* the script's status lines in the page's language (data-m-<name>) */
    static const struct {
        const char *name;
        int msg;
    } lines[] = {{"creating", GW_M_PK_CREATING}, {"claiming", GW_M_PK_CLAIMING},
                 {"claimed", GW_M_PK_CLAIMED},   {"not-claimed", GW_M_PK_NOT_CLAIMED},
                 {"signing", GW_M_PK_SIGNING},   {"offered", GW_M_PK_OFFERED},
                 {"done", GW_M_PK_DONE},         {"refused", GW_M_PK_REFUSED},
                 {"qr", GW_M_PK_QR}};
    for (size_t i = 0; i < sizeof lines / sizeof *lines; i++) {
        gw_buf_printf(b, " data-m-%s=\"", lines[i].name);
        gw_buf_html(b, T(v, lines[i].msg));
        gw_buf_puts(b, "\"");
    }
    gw_buf_puts(b, ">");
    if (u->claim_pending) {
        bool sold = u->state == CHAIN_UNIT_SOLD;
        gw_buf_printf(b, "<h2>%s</h2><form id=\"pk-claim\"><label for=\"pk-code\">%s</label>",
                      T(v, sold ? GW_M_OWN_CLAIM_H : GW_M_OWN_TAKEOVER_H),
                      T(v, sold ? GW_M_OWN_CODE_SELLER : GW_M_OWN_CODE_OWNER));
        gw_buf_printf(b,
                      "<input id=\"pk-code\" autocomplete=\"off\" "
                      "autocapitalize=\"characters\" required maxlength=\"80\">"
                      "<button type=\"submit\">%s</button></form>",
                      T(v, GW_M_OWN_CLAIM_BUTTON));
    }
    if (u->state == CHAIN_UNIT_OWNED && !(u->flags & CHAIN_FLAG_DESTROYED)) {
        /* Only the actions the ledger would accept now: the warranty is
         * activated once and claimed while active; an offer is withdrawn
         * only while open (the script shows "withdraw" after making one);
         * a unit reported stolen is neither offered nor reported again. */
        uint64_t now_ms = v->now * 1000u;
        bool in_term = u->warranty_end == 0 || now_ms <= u->warranty_end;
        bool offer_open = u->claim_pending;
        bool stolen = (u->flags & CHAIN_FLAG_STOLEN) != 0;
        gw_buf_printf(b, "<div id=\"pk-owner\" hidden><h2>%s</h2>", T(v, GW_M_OWN_OWNER_H));
        if (!u->warranty_active && in_term)
            gw_buf_printf(b,
                          "<form data-act=\"warranty.activate\"><button type=\"submit\">%s"
                          "</button></form>",
                          T(v, GW_M_OWN_WARRANTY_BUTTON));
        if (u->warranty_active && in_term)
            gw_buf_printf(b,
                          "<form data-act=\"warranty.claim\"><label for=\"pk-note\">%s</label>"
                          "<textarea id=\"pk-note\" name=\"note\" maxlength=\"256\"></textarea>"
                          "<button type=\"submit\">%s</button></form>",
                          T(v, GW_M_OWN_NOTE), T(v, GW_M_OWN_WCLAIM_BUTTON));
        if (!stolen)
            gw_buf_printf(b,
                          "<form data-act=\"transfer.offer\"%s><button type=\"submit\">%s"
                          "</button><output id=\"pk-offer\"></output>"
                          "<div id=\"pk-qr\" hidden></div></form>",
                          offer_open ? " hidden" : "", T(v, GW_M_OWN_OFFER_BUTTON));
        gw_buf_printf(b,
                      "<form data-act=\"transfer.cancel\"%s><button type=\"submit\">%s"
                      "</button></form>",
                      offer_open ? "" : " hidden", T(v, GW_M_OWN_WITHDRAW_BUTTON));
        if (!stolen)
            gw_buf_printf(b,
                          "<form data-act=\"flag\"><button class=\"warn\" type=\"submit\">%s"
                          "</button></form>",
                          T(v, GW_M_OWN_STOLEN_BUTTON));
        gw_buf_puts(b, "</div>");
    }
    gw_buf_printf(b,
                  "<p id=\"pk-out\" role=\"status\" aria-live=\"polite\"></p>"
                  "<noscript><p>%s</p></noscript></section>",
                  T(v, GW_M_OWN_NOSCRIPT));
    gw_buf_puts(b, "<script src=\"/static/passkey.js\" defer></script>");
}

static void banner(gw_buf *b, const gw_view *v)
{
    const chain_unit *u = v->unit;
    gw_buf_printf(b, "<header class=\"b %s\"><h1>%s %s</h1>", verdict_status_name(v->v.status),
                  v->v.status == VERDICT_GENUINE ? "✓" : "⚠", status_words(v->lang, v->v.status));
    if (v->v.reasons) {
        gw_buf_puts(b, "<ul>");
        for (int r = 0; r < VERDICT_R__COUNT; r++)
            if (v->v.reasons & (1u << r)) {
                gw_buf_printf(b, "<li data-reason=\"%s\">", verdict_reason_name(r));
                gw_buf_html(b, T(v, GW_M_R_UNKNOWN_SERIAL + r));
                gw_buf_puts(b, "</li>");
            }
        gw_buf_puts(b, "</ul>");
    } else if (u) {
        gw_buf_puts(b, "<p>");
        gw_buf_html(b, T(v, GW_M_MADE_BY_PRE));
        gw_buf_html(b, v->brand_name && v->brand_name[0] ? v->brand_name : u->brand);
        gw_buf_html(b, T(v, GW_M_MADE_BY_POST));
        gw_buf_puts(b, "</p>");
    }
    gw_buf_puts(b, "</header>");
}

static void facts(gw_buf *b, const gw_view *v)
{
    const chain_unit *u = v->unit;
    gw_buf_printf(b, "<h2>%s</h2><dl>", T(v, GW_M_PRODUCT));
    if (u) {
        dl_row(b, T(v, GW_M_MODEL), u->model);
        dl_row(b, T(v, GW_M_BRAND), v->brand_name && v->brand_name[0] ? v->brand_name : u->brand);
    }
    dl_row(b, T(v, GW_M_GTIN), v->id.gtin);
    dl_row(b, T(v, GW_M_SERIAL), v->id.serial);
    if (u) {
        dl_row(b, T(v, GW_M_LOT), u->lot);
        if (u->expiry[0]) {
            char exp[96];
            bool gone = verdict_expired(u->expiry, v->now);
            snprintf(exp, sizeof exp, "20%.2s-%.2s-%.2s%s%s%s", u->expiry, u->expiry + 2,
                     u->expiry + 4, gone ? " (" : "", gone ? T(v, GW_M_EXPIRED_NOTE) : "",
                     gone ? ")" : "");
            dl_row(b, T(v, GW_M_EXPIRY), exp);
        }
        dl_row(b, T(v, GW_M_STATUS), state_words(v->lang, u->state));
        if (u->has_owner) {
            char fp[17];
            gw_fingerprint(fp, u->owner);
            dl_row(b, T(v, GW_M_OWNER), fp);
        } else if (u->claim_pending) {
            dl_row(b, T(v, GW_M_OWNER), T(v, GW_M_OWNER_UNCLAIMED));
        }
        const char *ws = warranty_words(v->lang, gw_warranty_status(u, v->now));
        char wtxt[256];
        if (u->warranty_end) {
            char end[32];
            gw_time_fmt(end, u->warranty_end);
            snprintf(wtxt, sizeof wtxt, "%s, %s %.10s", ws, T(v, GW_M_UNTIL), end);
        } else {
            if (strcmp(gw_warranty_status(u, v->now), "not_started") == 0)
                snprintf(wtxt, sizeof wtxt, "%u %s", u->warranty_months,
                         T(v, GW_M_MONTHS_FROM_SALE));
            else
                snprintf(wtxt, sizeof wtxt, "%s (%u %s)", ws, u->warranty_months,
                         T(v, GW_M_MONTHS_FROM_SALE));
        }
        dl_row(b, T(v, GW_M_WARRANTY), wtxt);
    }
    gw_buf_puts(b, "</dl>");
}

static void history(gw_buf *b, const gw_view *v)
{
    const chain_unit *u = v->unit;
    if (!u) {
        gw_buf_printf(b, "<p>%s</p>", T(v, GW_M_NO_SUCH_PRODUCT));
        return;
    }
    gw_buf_printf(b, "<h2>%s (%u %s)</h2><ol class=\"h\">", T(v, GW_M_HISTORY), u->nevents,
                  T(v, GW_M_EVENTS));
    size_t shown = 0;
    for (size_t i = v->nevents; i-- > 0;) {
        if (b->len + TAIL_RESERVE > GW_PAGE_MAX)
            break;
        event_li(b, v, &v->events[i]);
        shown++;
    }
    gw_buf_puts(b, "</ol>");
    if (shown < u->nevents)
        gw_buf_printf(b, "<p>%llu %s</p>", (unsigned long long)(u->nevents - shown),
                      T(v, GW_M_EARLIER_EVENTS));
}

static void report_form(gw_buf *b, const gw_view *v)
{
    gw_buf_printf(b, "<h2>%s</h2><form method=\"post\" action=\"", T(v, GW_M_SOMETHING_WRONG));
    gw_buf_html(b, v->report_url ? v->report_url : "/api/v1/reports");
    gw_buf_printf(b, "?lang=%s\"><input type=\"hidden\" name=\"unit\" value=\"",
                  gw_lang_code(v->lang));
    gw_buf_html(b, v->id.gtin);
    gw_buf_puts(b, "/");
    gw_buf_html(b, v->id.serial);
    gw_buf_printf(b,
                  "\"><label for=\"n\">%s</label>"
                  "<textarea id=\"n\" name=\"note\" maxlength=\"256\"></textarea>"
                  "<button class=\"warn\" type=\"submit\">%s</button></form>",
                  T(v, GW_M_WHAT_LOOKS_WRONG), T(v, GW_M_REPORT_BUTTON));
}

void gw_page_lang_nav(gw_buf *b, int lang, const char *self_url)
{
    if (!self_url)
        return;
    bool has_query = strchr(self_url, '?') != NULL;
    gw_buf_printf(b, "<nav aria-label=\"%s\">", gw_msg(lang, GW_M_LANGUAGE));
    for (int l = 0; l < GW_LANG__COUNT; l++) {
        gw_buf_puts(b, "<a href=\"");
        gw_buf_html(b, self_url);
        gw_buf_printf(b, "%slang=%s\" lang=\"%s\" hreflang=\"%s\"%s>%s</a>",
                      has_query ? "&amp;" : "?", gw_lang_code(l), gw_lang_code(l), gw_lang_code(l),
                      l == lang ? " aria-current=\"page\"" : "", gw_lang_name(l));
    }
    gw_buf_puts(b, "</nav>");
}

void gw_page_render(gw_buf *b, const gw_view *v)
{
    const chain_unit *u = v->unit;
    char title[200];
    snprintf(title, sizeof title, "%s — %s", status_words(v->lang, v->v.status),
             u && u->model[0] ? u->model : T(v, GW_M_PRODUCT_CHECK));
    head(b, v->lang, title);
    banner(b, v);
    gw_buf_puts(b, "<main>");
    facts(b, v);
    history(b, v);
    own_section(b, v);
    report_form(b, v);
    gw_buf_printf(b, "</main><footer><p>%s</p><p id=\"as-of\">%s %llu</p>", T(v, GW_M_FOOTER),
                  T(v, GW_M_AS_OF_BLOCK), (unsigned long long)v->height);
    gw_page_lang_nav(b, v->lang, v->self_url);
    gw_buf_puts(b, "</footer></body></html>\n");
}

void gw_page_error(gw_buf *b, int lang, unsigned status, const char *title, const char *detail)
{
    head(b, lang, title);
    gw_buf_printf(b, "<header class=\"b %s\"><h1>",
                  status < 300    ? "genuine"
                  : status == 404 ? "not_genuine"
                                  : "suspicious");
    gw_buf_html(b, title);
    gw_buf_puts(b, "</h1></header><main><p>");
    gw_buf_html(b, detail ? detail : "");
    gw_buf_puts(b, "</p></main></body></html>\n");
}

int gw_req_lang(gw_req *r)
{
    int lang = gw_lang_pick(gw_arg(r, "lang"), gw_header(r, "Accept-Language"));
    r->content_language = gw_lang_code(lang);
    r->vary_lang = true;
    return lang;
}
