/*
 * gw_json_text.c — a jansson value written as compact JSON text through
 * yajl's generator, for the answers that serialize many values in a row (a
 * lot's streamed EPCIS document).
 *
 * jansson's dumper guards every object and array against cycles with a
 * formatted pointer key inserted into a hash table and removed again, and
 * calls back once per token: it was 40% of a streamed export's CPU. The
 * values here are trees jansson built and checked (valid UTF-8 keys and
 * strings, no cycles), so the walk below only writes them: objects in
 * jansson's (insertion) order, strings escaped by yajl as jansson escapes
 * them, integers in decimal. tests/unit/node/test_gw_json_text.c holds the
 * output to json_dumps(JSON_COMPACT) byte for byte.
 */
#include "node/gw_priv.h"

#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_gen.h>

#define JSON_TEXT_DEPTH_MAX 32 /* nesting written; deeper is refused */

struct gw_json_text {
    yajl_gen g;
    gw_buf *out;
};

static void print_cb(void *ctx, const char *s, size_t n)
{
    gw_json_text *t = ctx;
    gw_buf_put(t->out, s, n);
}

gw_json_text *gw_json_text_new(void)
{
    gw_json_text *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->g = yajl_gen_alloc(NULL);
    if (!t->g || !yajl_gen_config(t->g, yajl_gen_print_callback, print_cb, t)) {
        gw_json_text_free(t);
        return NULL;
    }
    return t;
}

void gw_json_text_free(gw_json_text *t)
{
    if (!t)
        return;
    if (t->g)
        yajl_gen_free(t->g);
    free(t);
}

static bool walk(yajl_gen g, const json_t *j, int depth)
{
    if (depth > JSON_TEXT_DEPTH_MAX)
        return false;
    switch (json_typeof(j)) {
    case JSON_OBJECT: {
        if (yajl_gen_map_open(g) != yajl_gen_status_ok)
            return false;
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)j, k, v)
        {
            if (yajl_gen_string(g, (const unsigned char *)k, strlen(k)) != yajl_gen_status_ok ||
                !walk(g, v, depth + 1))
                return false;
        }
        return yajl_gen_map_close(g) == yajl_gen_status_ok;
    }
    case JSON_ARRAY: {
        if (yajl_gen_array_open(g) != yajl_gen_status_ok)
            return false;
        size_t i;
        json_t *v;
        json_array_foreach((json_t *)j, i, v)
        {
            if (!walk(g, v, depth + 1))
                return false;
        }
        return yajl_gen_array_close(g) == yajl_gen_status_ok;
    }
    case JSON_STRING:
        return yajl_gen_string(g, (const unsigned char *)json_string_value(j),
                               json_string_length(j)) == yajl_gen_status_ok;
    case JSON_INTEGER:
        return yajl_gen_integer(g, (long long)json_integer_value(j)) == yajl_gen_status_ok;
    case JSON_TRUE:
        return yajl_gen_bool(g, 1) == yajl_gen_status_ok;
    case JSON_FALSE:
        return yajl_gen_bool(g, 0) == yajl_gen_status_ok;
    case JSON_NULL:
        return yajl_gen_null(g) == yajl_gen_status_ok;
    case JSON_REAL: /* jansson and yajl format reals differently: none are written here */
    default:
        return false;
    }
}

bool gw_json_text_write(gw_json_text *t, gw_buf *out, const json_t *j)
{
    yajl_gen_reset(t->g, NULL);
    t->out = out;
    bool ok = j != NULL && walk(t->g, j, 0);
    t->out = NULL;
    return ok && !out->failed;
}
