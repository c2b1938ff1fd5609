/*
 * gw_compressed.c — compressed GS1 Digital Link URIs: /{compressed},
 * /01/{gtin}/{compressed} and /00/{sscc}/{compressed} answer a 307 to the
 * uncompressed link (gs1_dl_decompress in chain/gs1_dlc.c), so a label
 * printed with a short QR code lands on the same page, JSON, linkset or
 * linkType redirect as its long form: the request's own query (linkType,
 * region, …) is carried over as sent (bytes that are not printable ASCII escaped).
 *
 * A one-segment path is read as a compressed link only when it could be one:
 * at least GW_DLC_MIN base64url characters (the shortest link, a GTIN alone,
 * is 55 bits). Anything else there stays a 404 not_found, as before; a
 * segment that could be a compressed link and is not one is a 400
 * bad_compressed_link saying why. Like a linkType redirect it records no
 * scan: the page it lands on records its own.
 */
#include "node/gw_priv.h"

#include <microhttpd.h>
#include <string.h>

#define GW_DLC_MIN 10 /* base64url characters of the shortest compressed link */

static bool b64url_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
}

/* A query key or value as sent (the gateway does not unescape them): its
 * escapes are kept, and any byte that is not printable ASCII is escaped, so
 * nothing of it can break the Location header. */
static void put_raw(gw_buf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c > ' ' && c <= '~') {
            gw_buf_put(b, (const char *)&c, 1);
        } else {
            char e[3] = {'%', hex[c >> 4], hex[c & 15]};
            gw_buf_put(b, e, 3);
        }
    }
}

typedef struct qcopy {
    gw_buf *b;
    bool first;
} qcopy;

/* The request's query, key by key, as put_raw writes them. */
static enum MHD_Result copy_arg(void *cls, enum MHD_ValueKind kind, const char *k, const char *v)
{
    (void)kind;
    qcopy *q = cls;
    gw_buf_puts(q->b, q->first ? "?" : "&");
    q->first = false;
    put_raw(q->b, k);
    if (v) {
        gw_buf_puts(q->b, "=");
        put_raw(q->b, v);
    }
    return MHD_YES;
}

void gw_route_resolve_compressed(gw_req *r)
{
    const char *p = r->path;
    size_t n = strlen(p);
    if (r->nparams == 1) { /* one segment: only what could be a compressed link */
        bool could = n - 1 >= GW_DLC_MIN;
        for (size_t i = 1; i < n && could; i++)
            could = b64url_char(p[i]);
        if (!could) {
            gw_reply_error(r, 404, "not_found", "no route for GET");
            return;
        }
    }
    char out[GS1_DL_MAX + 1], err[160];
    if (gs1_dl_decompress(out, sizeof out, p, n, err, sizeof err) < 0) {
        metrics_scan_bad_code(r->g->metrics);
        gw_reply_error(r, 400, "bad_compressed_link", "compressed Digital Link: %s", err);
        return;
    }
    gw_buf loc = {.max = GS1_DL_MAX + 1};
    gw_buf_puts(&loc, out);
    qcopy q = {&loc, strchr(out, '?') == NULL};
    MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, copy_arg, &q);
    gw_buf_put(&loc, "", 1);
    if (loc.failed) {
        gw_buf_free(&loc);
        gw_reply_error(r, 400, "bad_compressed_link",
                       "compressed Digital Link: with its query longer than %d bytes", GS1_DL_MAX);
        return;
    }
    r->location = loc.p;
    gw_reply_json(r, 307, json_pack("{s:s}", "location", loc.p));
}
