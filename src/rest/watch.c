/*
 * watch (REST side): turns a watch request into a watch stream: the query parameters
 * (resourceVersion, sendInitialEvents, allowWatchBookmarks, timeoutSeconds, selectors) into a
 * watch_spec, and the encoding of each event line (plain objects or one-row Tables, where only
 * the first event carries column definitions, as apiserver's watchEmbeddedEncoder does).
 */
#include "rest_private.h"

#include "svc/api.h"
#include "svc/apierr.h"
#include "svc/codec.h"
#include "svc/registry.h"
#include "svc/store.h"
#include "svc/util.h"
#include "svc/watch.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct watch_ctx {
    const struct api_resource *res;
    struct reg_filter *filter;
    bool table;
    char table_version[16];
    char *include_object;
    bool sent_columns;
    json_t *bookmark; /* an empty object of the kind, for BOOKMARK events */
};

static bool ctx_match(void *c, const struct store_obj *obj)
{
    struct watch_ctx *ctx = c;
    return !ctx->filter || reg_filter_match(ctx->filter, obj);
}

static const char *type_name(enum watch_event_type t)
{
    switch (t) {
    case WATCH_ADDED: return "ADDED";
    case WATCH_MODIFIED: return "MODIFIED";
    case WATCH_DELETED: return "DELETED";
    case WATCH_BOOKMARK: return "BOOKMARK";
    default: return "ERROR";
    }
}

static int ctx_encode(void *c, enum watch_event_type type, const struct store_obj *obj,
                      uint64_t rv, bool initial_end, struct strbuf *out)
{
    struct watch_ctx *ctx = c;
    char rvs[24];
    snprintf(rvs, sizeof(rvs), "%llu", (unsigned long long)rv);
    strbuf_addf(out, "{\"type\":\"%s\",\"object\":", type_name(type));
    if (type == WATCH_ERROR) {
        struct apierr err;
        apierr_init(&err);
        apierr_simple(&err, APIERR_EXPIRED, "too old resource version: %llu (%llu)",
                      (unsigned long long)rv, (unsigned long long)(rv + 1));
        json_t *st = apierr_to_status(&err);
        json_object_del(st, "details");
        char *s = json_dumps(st, JSON_COMPACT);
        strbuf_addstr(out, s);
        free(s);
        json_decref(st);
        apierr_release(&err);
    } else if (type == WATCH_BOOKMARK) {
        json_t *b = json_deep_copy(ctx->bookmark);
        json_t *meta = json_object_get(b, "metadata");
        json_object_set_new(meta, "resourceVersion", json_string(rvs));
        json_object_set_new(meta, "creationTimestamp", json_null());
        if (initial_end)
            json_object_set_new(meta, "annotations",
                                json_pack("{s:s}", "k8s.io/initial-events-end", "true"));
        char *s = json_dumps(b, JSON_COMPACT);
        strbuf_addstr(out, s);
        free(s);
        json_decref(b);
    } else if (ctx->table) {
        struct apierr err;
        apierr_init(&err);
        json_t *t = rest_table(ctx->res, ctx->table_version, ctx->include_object,
                               (struct store_obj *const *)&obj, 1, !ctx->sent_columns, &err);
        apierr_release(&err);
        ctx->sent_columns = true;
        if (!t)
            return -1;
        json_object_set_new(ju_ensure_obj(t, "metadata"), "resourceVersion", json_string(rvs));
        char *s = json_dumps(t, JSON_COMPACT);
        strbuf_addstr(out, s);
        free(s);
        json_decref(t);
    } else {
        strbuf_add(out, obj->bytes, obj->len);
    }
    strbuf_addstr(out, "}\n");
    return 0;
}

static void ctx_free(void *c)
{
    struct watch_ctx *ctx = c;
    reg_filter_free(ctx->filter);
    free(ctx->include_object);
    json_decref(ctx->bookmark);
    free(ctx);
}

/* "32s", "5m", "1h30m" (Go durations as the timeout parameter carries them); -1 when bad. */
static double parse_duration(const char *s)
{
    double total = 0;
    const char *p = s;
    if (!*p)
        return -1;
    while (*p) {
        char *end;
        double v = strtod(p, &end);
        if (end == p)
            return -1;
        p = end;
        if (!strncmp(p, "ms", 2)) {
            total += v / 1000;
            p += 2;
        } else if (*p == 's') {
            total += v;
            p++;
        } else if (*p == 'm') {
            total += v * 60;
            p++;
        } else if (*p == 'h') {
            total += v * 3600;
            p++;
        } else {
            return -1;
        }
    }
    return total;
}

void watch_handle(struct rest_server *srv, const struct rest_request *req,
                  const struct route *route, const struct codec_choice *choice,
                  struct rest_response *resp)
{
    struct apierr err;
    apierr_init(&err);
    struct watch_spec spec = {0};
    struct watch_ctx *ctx = xcalloc(1, sizeof(*ctx));
    ctx->res = route->res;
    ctx->table = choice->answer == CODEC_ANSWER_TABLE;
    snprintf(ctx->table_version, sizeof(ctx->table_version), "%s", choice->version);
    const char *inc = rest_param(req, "includeObject");
    ctx->include_object = inc ? xstrdup(inc) : NULL;
    ctx->filter = reg_filter_new(route->res, rest_param(req, "labelSelector"),
                                 rest_param(req, "fieldSelector"), &err);
    char *prefix = registry_prefix(route->res, route->ns);
    char *key = route->name ? registry_key(route->res, route->ns, route->name) : NULL;
    if (!ctx->filter)
        goto fail;
    json_t *empty = json_object();
    ctx->bookmark = registry_canonicalize(srv->reg, route->res, empty, NULL);
    json_decref(empty);
    json_object_set_new(ctx->bookmark, "kind", json_string(route->res->kind));
    json_object_set_new(ctx->bookmark, "apiVersion", json_string(route->res->group_version));
    if (!json_object_get(ctx->bookmark, "metadata"))
        json_object_set_new(ctx->bookmark, "metadata", json_object());

    const char *rv = rest_param(req, "resourceVersion");
    const char *match = rest_param(req, "resourceVersionMatch");
    const char *sie = rest_param(req, "sendInitialEvents");
    const char *bookmarks = rest_param(req, "allowWatchBookmarks");
    bool send_initial = sie && !strcmp(sie, "true");
    spec.bookmarks = bookmarks && !strcmp(bookmarks, "true");
    if (sie && (!match || strcmp(match, "NotOlderThan"))) {
        apierr_simple(&err, APIERR_INVALID,
                      "ListOptions.meta.k8s.io \"\" is invalid: resourceVersionMatch: Forbidden: "
                      "sendInitialEvents requires setting resourceVersionMatch to NotOlderThan");
        goto fail;
    }
    if (match && !sie) {
        apierr_simple(&err, APIERR_INVALID,
                      "ListOptions.meta.k8s.io \"\" is invalid: resourceVersionMatch: Forbidden: "
                      "resourceVersionMatch is forbidden for watch unless sendInitialEvents is "
                      "provided");
        goto fail;
    }
    if (ju_empty(rv) || !strcmp(rv, "0")) {
        /* No version, or "any": start with the current state as synthetic ADDED events. */
        spec.initial_events = sie ? send_initial : true;
    } else {
        char *end;
        unsigned long long v = strtoull(rv, &end, 10);
        if (*end || rv[0] == '-') {
            apierr_simple(&err, APIERR_BAD_REQUEST, "invalid resource version: %s", rv);
            goto fail;
        }
        spec.start_rv = v;
        if (send_initial)
            spec.initial_events = true;
    }
    spec.initial_end_bookmark = send_initial && spec.bookmarks;
    const char *ts = rest_param(req, "timeoutSeconds");
    const char *timeout = rest_param(req, "timeout");
    if (ts)
        spec.timeout_seconds = atof(ts);
    else if (timeout && parse_duration(timeout) > 0)
        spec.timeout_seconds = parse_duration(timeout);
    spec.prefix = prefix;
    spec.key = key;
    spec.match = ctx_match;
    spec.encode = ctx_encode;
    spec.free_ctx = ctx_free;
    spec.ctx = ctx;
    resp->stream = watch_open(srv->watch, &spec);
    resp->status = 200;
    snprintf(resp->content_type, sizeof(resp->content_type), "application/json");
    free(prefix);
    free(key);
    return;
fail:
    ctx_free(ctx);
    free(prefix);
    free(key);
    rest_respond_error(resp, &err);
    apierr_release(&err);
}
