/*
 * watch (REST side): turns a watch request into a watch stream, as apiserver's ListResource and
 * serveWatch do (pkg/endpoints/handlers/get.go, watch.go, response.go, v0.33): the query
 * parameters, checked in upstream's order and with its errors, become a watch_spec; each event
 * becomes one line {"type":...,"object":...}, the object written as the client asked: the plain
 * object (kind and apiVersion included), a one-row Table (column definitions in the first event
 * only, as watchEmbeddedEncoder does) or PartialObjectMetadata.
 *
 * The server behaves as kube-apiserver with the WatchList feature gate on (its default in 1.32;
 * 1.33 turned it off again, but clients with WatchList need it): sendInitialEvents is accepted,
 * and a watch from "" or "0" is a watch with initial events, so with allowWatchBookmarks its
 * initial events end with the annotated bookmark.
 */
#include "rest_private.h"

#include "svc/api.h"
#include "svc/apierr.h"
#include "svc/codec.h"
#include "svc/field_error.h"
#include "svc/registry.h"
#include "svc/selector.h"
#include "svc/store.h"
#include "svc/util.h"
#include "svc/watch.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* kube-apiserver's --min-request-timeout default: a watch without timeoutSeconds ends after a
   random time between one and two times this (get.go ListResource). */
#define MIN_REQUEST_TIMEOUT 1800.0

struct watch_ctx {
    const struct api_resource *res;
    struct reg_filter *filter;
    enum codec_answer answer; /* JSON, TABLE or PARTIAL */
    char version[16];         /* meta.k8s.io version of Tables and partial metadata */
    char *include_object;
    bool sent_columns;
    json_t *empty;   /* the kind's zero value as upstream encodes it, for bookmarks */
    char *blueprint; /* WatchList: base64 of the empty list, or NULL */
};

static bool ctx_match(void *c, const struct store_obj *obj)
{
    struct watch_ctx *ctx = c;
    return !ctx->filter || reg_filter_match(ctx->filter, obj);
}

static const char *type_name(enum watch_event_type t)
{
    switch (t) {
    case WATCH_ADDED:
        return "ADDED";
    case WATCH_MODIFIED:
        return "MODIFIED";
    case WATCH_DELETED:
        return "DELETED";
    case WATCH_BOOKMARK:
        return "BOOKMARK";
    default:
        return "ERROR";
    }
}

static void add_json(struct strbuf *out, const json_t *doc)
{
    codec_json_write(out, doc);
}

/* The Status an ERROR event carries (storage errors upstream sends as watch events). */
static json_t *error_status(const struct watch_event *ev)
{
    struct apierr err;
    apierr_init(&err);
    if (ev->error == WATCH_ERR_TOO_LARGE) {
        /* storage.NewTooLargeResourceVersionError as the watch cache returns it. */
        apierr_simple(&err, APIERR_TIMEOUT,
                      "Timeout: Too large resource version: %llu, current: %llu",
                      (unsigned long long)ev->rv, (unsigned long long)ev->other_rv);
        err.retry_after_seconds = 1;
        err.causes = json_pack("[{s:s,s:s}]", "reason", "ResourceVersionTooLarge", "message",
                               "Too large resource version");
    } else {
        /* watchCache.getAllEventsSinceLocked: the second number is the oldest version the
           cache can still serve a watch from. */
        apierr_simple(&err, APIERR_EXPIRED, "too old resource version: %llu (%llu)",
                      (unsigned long long)ev->rv, (unsigned long long)ev->other_rv);
    }
    json_t *st = apierr_to_status(&err);
    if (ev->error != WATCH_ERR_TOO_LARGE)
        json_object_del(st, "details");
    apierr_release(&err);
    return st;
}

/* A bookmark: the kind's empty object carrying only the version (and, at the end of the
   initial events, the annotations WatchList clients wait for). */
static json_t *bookmark_object(const struct watch_ctx *ctx, uint64_t rv, bool initial_end)
{
    char rvs[24];
    snprintf(rvs, sizeof(rvs), "%llu", (unsigned long long)rv);
    json_t *b =
        json_pack("{s:s,s:s}", "kind", ctx->res->kind, "apiVersion", ctx->res->group_version);
    json_t *meta = json_pack("{s:s,s:n}", "resourceVersion", rvs, "creationTimestamp");
    if (initial_end) {
        json_t *ann = json_pack("{s:s}", "k8s.io/initial-events-end", "true");
        if (ctx->blueprint)
            json_object_set_new(ann, "kubernetes.io/initial-events-list-blueprint",
                                json_string(ctx->blueprint));
        json_object_set_new(meta, "annotations", ann);
    }
    json_object_set_new(b, "metadata", meta);
    const char *k;
    json_t *v;
    json_object_foreach (ctx->empty, k, v) {
        if (strcmp(k, "kind") && strcmp(k, "apiVersion") && strcmp(k, "metadata"))
            json_object_set(b, k, v);
    }
    return b;
}

static json_t *partial_object(const struct watch_ctx *ctx, const json_t *obj)
{
    char *av = xasprintf("meta.k8s.io/%s", ctx->version[0] ? ctx->version : "v1");
    json_t *meta = json_object_get(obj, "metadata");
    json_t *p = json_pack("{s:s,s:s,s:O}", "kind", "PartialObjectMetadata", "apiVersion", av,
                          "metadata", json_is_object(meta) ? meta : json_object());
    free(av);
    return p;
}

/* One object as a Table row or partial metadata; 0, or -1 when the Table cannot be built. */
static int add_transformed(struct watch_ctx *ctx, const struct store_obj *obj, struct strbuf *out)
{
    if (ctx->answer == CODEC_ANSWER_PARTIAL) {
        json_t *p = partial_object(ctx, store_obj_json(obj));
        add_json(out, p);
        json_decref(p);
        return 0;
    }
    struct apierr err;
    apierr_init(&err);
    json_t *t = rest_table(ctx->res, ctx->version, ctx->include_object,
                           (struct store_obj *const *)&obj, 1, !ctx->sent_columns, &err);
    apierr_release(&err);
    if (!t)
        return -1;
    /* Only the first event carries the column definitions (watchEmbeddedEncoder). */
    ctx->sent_columns = true;
    char rvs[24];
    snprintf(rvs, sizeof(rvs), "%llu", (unsigned long long)obj->rv);
    json_object_set_new(ju_ensure_obj(t, "metadata"), "resourceVersion", json_string(rvs));
    add_json(out, t);
    json_decref(t);
    return 0;
}

static int ctx_encode(void *c, const struct watch_event *ev, struct strbuf *out)
{
    struct watch_ctx *ctx = c;
    int rc = 0;
    size_t mark = out->len;
    strbuf_addf(out, "{\"type\":\"%s\",\"object\":", type_name(ev->type));
    if (ev->type == WATCH_ERROR) {
        /* A Status is never turned into a Table or partial metadata. */
        json_t *st = error_status(ev);
        add_json(out, st);
        json_decref(st);
    } else if (ev->type == WATCH_BOOKMARK) {
        json_t *b = bookmark_object(ctx, ev->rv, ev->initial_end);
        if (ctx->answer == CODEC_ANSWER_JSON) {
            add_json(out, b);
        } else {
            /* Upstream transforms a bookmark like any object. */
            struct store_obj *o = store_obj_new("", json_incref(b), ev->rv);
            rc = add_transformed(ctx, o, out);
            store_obj_unref(o);
        }
        json_decref(b);
    } else if (ctx->answer == CODEC_ANSWER_JSON) {
        strbuf_add(out, ev->obj->bytes, ev->obj->len);
    } else {
        rc = add_transformed(ctx, ev->obj, out);
    }
    if (rc) {
        out->len = mark;
        out->buf[mark] = '\0';
        return -1;
    }
    strbuf_addstr(out, "}\n");
    return 0;
}

static void ctx_free(void *c)
{
    struct watch_ctx *ctx = c;
    if (!ctx)
        return;
    reg_filter_free(ctx->filter);
    free(ctx->include_object);
    json_decref(ctx->empty);
    free(ctx->blueprint);
    free(ctx);
}

/* ---- query parameters, as DecodeParameters reads them ---------------------------------------- */

/* The error text of a failed strconv call: `strconv.ParseInt: parsing "x": invalid syntax`. */
static char *numerror(const char *fn, const char *s, int rc)
{
    char *q = fe_quote(s);
    char *msg = xasprintf("strconv.%s: parsing %s: %s", fn, q,
                          rc == 2 ? "value out of range" : "invalid syntax");
    free(q);
    return msg;
}

/* 0, or -1 with a 400 for an integer parameter that does not parse (timeoutSeconds, limit). */
static int int_param(const struct rest_request *req, const char *key, bool *present, long long *out,
                     struct apierr *err)
{
    const char *v = rest_param(req, key);
    *present = v != NULL;
    *out = 0;
    if (!v)
        return 0;
    int rc = util_parse_int64(v, out);
    if (!rc)
        return 0;
    char *msg = numerror("ParseInt", v, rc);
    apierr_simple(err, APIERR_BAD_REQUEST, "%s", msg);
    free(msg);
    return -1;
}

/* Selector syntax errors come from DecodeParameters, before any other check. */
static int check_selector_syntax(const char *labels, const char *fields, struct apierr *err)
{
    char *msg = NULL;
    if (labels) {
        struct label_selector *ls = label_selector_parse(labels, &msg);
        if (!ls)
            goto bad;
        label_selector_free(ls);
    }
    if (fields) {
        struct field_selector *fs = field_selector_parse(fields, &msg);
        if (!fs)
            goto bad;
        field_selector_free(fs);
    }
    return 0;
bad:
    apierr_simple(err, APIERR_BAD_REQUEST, "%s", msg ? msg : "invalid selector");
    free(msg);
    return -1;
}

/* ValidateListOptions for a watch (apimachinery's validateWatchOptions): 0, or -1 with a 422. */
static int validate_watch_options(bool has_sie, const char *match, const char *cont,
                                  struct apierr *err)
{
    struct field_errors errs;
    fe_init(&errs);
    if (has_sie && (!match || strcmp(match, "NotOlderThan")))
        fe_forbidden(&errs, "resourceVersionMatch",
                     "sendInitialEvents requires setting resourceVersionMatch to NotOlderThan");
    if (!ju_empty(match)) {
        if (!has_sie)
            fe_forbidden(&errs, "resourceVersionMatch",
                         "resourceVersionMatch is forbidden for watch unless sendInitialEvents is "
                         "provided");
        if (strcmp(match, "NotOlderThan")) {
            static const char *const supported[] = {"NotOlderThan"};
            char *q = fe_quote(match);
            fe_not_supported(&errs, "resourceVersionMatch", q, supported, 1);
            free(q);
        }
        if (!ju_empty(cont))
            fe_forbidden(&errs, "resourceVersionMatch",
                         "resourceVersionMatch is forbidden when continue is provided");
    }
    int rc = 0;
    if (errs.len)
        rc = apierr_invalid(err, "meta.k8s.io", "ListOptions", "", &errs);
    fe_release(&errs);
    return rc;
}

/* A storage error that is not an API status: upstream answers it as a 500 without a reason. */
static int invalid_rv(const char *rv, int rc, struct apierr *err)
{
    struct field_errors errs;
    fe_init(&errs);
    char *detail = numerror("ParseUint", rv, rc);
    fe_invalid_str(&errs, "resourceVersion", rv, detail);
    char *msg = fe_aggregate(&errs);
    apierr_simple(err, APIERR_UNKNOWN_500, "%s", msg);
    free(msg);
    free(detail);
    fe_release(&errs);
    return -1;
}

static char *base64_std(const char *data, size_t len)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    struct strbuf sb;
    strbuf_init(&sb, STRBUF_NO_LIMIT);
    const unsigned char *p = (const unsigned char *)data;
    for (size_t i = 0; i < len; i += 3) {
        unsigned v = (unsigned)p[i] << 16;
        if (i + 1 < len)
            v |= (unsigned)p[i + 1] << 8;
        if (i + 2 < len)
            v |= p[i + 2];
        strbuf_addch(&sb, tab[(v >> 18) & 63]);
        strbuf_addch(&sb, tab[(v >> 12) & 63]);
        strbuf_addch(&sb, i + 1 < len ? tab[(v >> 6) & 63] : '=');
        strbuf_addch(&sb, i + 2 < len ? tab[v & 63] : '=');
    }
    return strbuf_detach(&sb, NULL);
}

/* The empty list WatchList's end bookmark describes (watchListTransformer): the list of the
   kind, or of partial metadata, JSON-encoded with the encoder's newline, then base64. */
static char *list_blueprint(const struct api_resource *res, const struct watch_ctx *ctx)
{
    char *text;
    if (ctx->answer == CODEC_ANSWER_PARTIAL)
        text =
            xasprintf("{\"kind\":\"PartialObjectMetadataList\",\"apiVersion\":\"meta.k8s.io/%s\","
                      "\"metadata\":{},\"items\":null}\n",
                      ctx->version[0] ? ctx->version : "v1");
    else
        text = xasprintf("{\"kind\":\"%s\",\"apiVersion\":\"%s\",\"metadata\":{},\"items\":null}\n",
                         res->list_kind, res->group_version);
    char *b = base64_std(text, strlen(text));
    free(text);
    return b;
}

/* The watch's timeout in seconds: timeoutSeconds, else the timeout parameter (which upstream
   ignores for watches, but kubectl-contract.md §6 lets end the stream), else upstream's random
   share of the minimum request timeout. */
static double watch_timeout(const struct rest_request *req, bool has_ts, long long ts)
{
    if (has_ts && ts != 0)
        return (double)ts;
    const char *t = rest_param(req, "timeout");
    if (t && *t) {
        char *end;
        double v = strtod(t, &end);
        double unit = !strcmp(end, "s")    ? 1
                      : !strcmp(end, "m")  ? 60
                      : !strcmp(end, "h")  ? 3600
                      : !strcmp(end, "ms") ? 0.001
                                           : 0;
        if (end != t && unit > 0 && v * unit > 0 && v * unit < 1e9)
            return v * unit;
    }
    return MIN_REQUEST_TIMEOUT * (1.0 + (double)util_rand_below(1000000) / 1e6);
}

/* ---- the handler ----------------------------------------------------------------------------- */

void watch_handle(struct rest_server *srv, const struct rest_request *req,
                  const struct route *route, const struct codec_choice *choice,
                  struct rest_response *resp)
{
    struct apierr err;
    apierr_init(&err);
    struct watch_spec spec = {0};
    struct watch_ctx *ctx = xcalloc(1, sizeof(*ctx));
    struct codec_choice ch = *choice;
    char *prefix = registry_prefix(route->res, route->ns);
    char *key = route->name ? registry_key(route->res, route->ns, route->name) : NULL;
    const char *labels = rest_param(req, "labelSelector");
    const char *fields = rest_param(req, "fieldSelector");
    const char *rv = rest_param(req, "resourceVersion");
    const char *match = rest_param(req, "resourceVersionMatch");
    const char *sie = rest_param(req, "sendInitialEvents");
    const char *cont = rest_param(req, "continue");
    bool has_ts, has_limit;
    long long ts, limit;
    ctx->res = route->res;

    /* DecodeParameters: the numbers, then the selectors. */
    if (int_param(req, "timeoutSeconds", &has_ts, &ts, &err) ||
        int_param(req, "limit", &has_limit, &limit, &err) ||
        check_selector_syntax(labels, fields, &err))
        goto fail;
    bool has_sie = sie != NULL;
    bool send_initial = has_sie && rest_param_true(sie);
    bool bookmarks = rest_param_true(rest_param(req, "allowWatchBookmarks"));
    /* SetListOptionsDefaults with WatchList on: a watch from "" or "0" sends initial events. */
    if (!has_sie && ju_empty(match) && (ju_empty(rv) || !strcmp(rv, "0"))) {
        has_sie = send_initial = true;
        match = "NotOlderThan";
    }
    if (validate_watch_options(has_sie, match, cont, &err))
        goto fail;

    /* The stream's media type: YAML has no stream form, and a WatchList may not be a Table. */
    bool watch_list = send_initial && bookmarks;
    if (ch.answer == CODEC_ANSWER_TABLE && watch_list &&
        codec_negotiate(req->accept, CODEC_ALLOW_YAML | CODEC_ALLOW_PARTIAL, &ch, &err))
        goto fail;
    if (ch.answer != CODEC_ANSWER_JSON && ch.answer != CODEC_ANSWER_TABLE &&
        ch.answer != CODEC_ANSWER_PARTIAL) {
        apierr_simple(&err, APIERR_NOT_ACCEPTABLE,
                      "only the following media types are accepted: "
                      "application/json;stream=watch, "
                      "application/vnd.kubernetes.protobuf;stream=watch");
        goto fail;
    }
    ctx->answer = ch.answer;
    snprintf(ctx->version, sizeof(ctx->version), "%s", ch.version);
    const char *inc = rest_param(req, "includeObject");
    ctx->include_object = inc ? xstrdup(inc) : NULL;
    if (ctx->answer == CODEC_ANSWER_TABLE) {
        /* A bad includeObject fails the request before the stream starts. */
        json_t *probe = rest_table(route->res, ctx->version, inc, NULL, 0, false, &err);
        if (!probe)
            goto fail;
        json_decref(probe);
    }

    /* The field labels the kind supports, then a name that must agree with the selector. */
    ctx->filter = reg_filter_new(route->res, labels, fields, &err);
    if (!ctx->filter)
        goto fail;
    if (route->name && !ju_empty(fields)) {
        char *msg = NULL;
        struct field_selector *fs = field_selector_parse(fields, &msg);
        free(msg);
        const char *want = fs && !field_selector_empty(fs)
                               ? field_selector_requires_exact_match(fs, "metadata.name")
                               : route->name;
        bool ok = want && !strcmp(want, route->name);
        field_selector_free(fs);
        if (!ok) {
            apierr_simple(&err, APIERR_BAD_REQUEST,
                          "fieldSelector metadata.name doesn't match requested name");
            goto fail;
        }
    }

    /* The storage layer parses the version; its error is not an API status upstream. */
    uint64_t start = 0;
    if (!ju_empty(rv) && strcmp(rv, "0")) {
        int rc = util_parse_uint64(rv, &start);
        if (rc) {
            invalid_rv(rv, rc, &err);
            goto fail;
        }
    }
    if (send_initial) {
        spec.initial_events = true;
        /* "" is a consistent read and "0" any state: both are the current one here. */
        spec.start_rv = start;
        spec.initial_end_bookmark = bookmarks;
    } else if (start == 0 && has_sie) {
        /* sendInitialEvents=false from "" or "0": changes from now on. */
        spec.start_now = true;
    } else if (start == 0) {
        /* A version that parses as 0 ("00") is the legacy "current state first". */
        spec.initial_events = true;
    } else {
        spec.start_rv = start;
    }
    spec.bookmarks = bookmarks;
    spec.timeout_seconds = watch_timeout(req, has_ts, ts);

    json_t *empty = json_object();
    ctx->empty = registry_canonicalize(srv->reg, route->res, empty, NULL);
    json_decref(empty);
    if (!ctx->empty)
        ctx->empty = json_object();
    if (watch_list)
        ctx->blueprint = list_blueprint(route->res, ctx);

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
