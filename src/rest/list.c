/*
 * list: LIST, WATCH and deletecollection answers on collection paths. A JSON list is written
 * straight from the stored bytes of each object (items without kind and apiVersion, as
 * upstream writes them); Tables, YAML and partial metadata are built from the trees.
 */
#include "rest_private.h"

#include "svc/api.h"
#include "svc/apierr.h"
#include "svc/codec.h"
#include "svc/registry.h"
#include "svc/store.h"
#include "svc/util.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ListOptions from the query; -1 with upstream's 400 when limit is not a number (the parameter
   codec's strconv error). A limit of 0 or less means none. */
static int list_opts_from(const struct rest_request *req, struct reg_list_opts *lo,
                          struct apierr *err)
{
    memset(lo, 0, sizeof(*lo));
    lo->label_selector = rest_param(req, "labelSelector");
    lo->field_selector = rest_param(req, "fieldSelector");
    const char *limit = rest_param(req, "limit");
    if (limit && *limit) {
        long long n = 0;
        int bad = util_parse_int64(limit, &n);
        if (bad)
            return apierr_simple(err, APIERR_BAD_REQUEST, "strconv.ParseInt: parsing \"%s\": %s",
                                 limit,
                                 bad == UTIL_PARSE_RANGE ? "value out of range" : "invalid syntax");
        if (n > 0)
            lo->limit = (size_t)n;
    }
    lo->continue_token = rest_param(req, "continue");
    lo->resource_version = rest_param(req, "resourceVersion");
    lo->resource_version_match = rest_param(req, "resourceVersionMatch");
    lo->send_initial_events = rest_param(req, "sendInitialEvents") != NULL;
    return 0;
}

/* Go's *bool and bool query conversions: "0" and "false" (any case) are false, all else (an
   empty value too) true. */
bool rest_param_true(const char *v)
{
    return v && strcmp(v, "0") && strcasecmp(v, "false");
}

/* Upstream's watch switch. */
bool rest_is_watch_param(const struct rest_request *req)
{
    return rest_param_true(rest_param(req, "watch"));
}

/* ListMeta, in Go field order: resourceVersion, continue, remainingItemCount. */
static json_t *list_meta(const struct reg_list *l)
{
    char rv[24];
    snprintf(rv, sizeof(rv), "%llu", (unsigned long long)l->rv);
    json_t *m = json_pack("{s:s}", "resourceVersion", rv);
    if (l->continue_token)
        json_object_set_new(m, "continue", json_string(l->continue_token));
    if (l->remaining >= 0)
        json_object_set_new(m, "remainingItemCount", json_integer(l->remaining));
    return m;
}

static void write_json_list(const struct api_resource *res, const struct reg_list *l,
                            struct rest_response *resp)
{
    json_t *meta = list_meta(l);
    char *m = codec_json_dumps(meta, NULL);
    json_decref(meta);
    struct strbuf *b = &resp->body;
    strbuf_reset(b);
    resp->status = 200;
    snprintf(resp->content_type, sizeof(resp->content_type), "application/json");
    strbuf_addf(b, "{\"kind\":\"%s\",\"apiVersion\":\"%s\",\"metadata\":%s,\"items\":[",
                res->list_kind, res->group_version, m);
    free(m);
    for (size_t i = 0; i < l->n; i++) {
        const struct store_obj *o = l->items[i];
        if (i)
            strbuf_addch(b, ',');
        strbuf_addch(b, '{');
        strbuf_add(b, o->bytes + o->body_off, o->len - o->body_off);
    }
    strbuf_addstr(b, "]}\n");
}

static json_t *list_doc(const struct api_resource *res, const struct reg_list *l, bool partial,
                        const char *version)
{
    json_t *items = json_array();
    for (size_t i = 0; i < l->n; i++) {
        const json_t *obj = store_obj_json(l->items[i]);
        json_t *item;
        if (partial) {
            item = json_pack("{s:O}", "metadata", ju_obj(obj, "metadata"));
        } else {
            item = json_copy((json_t *)obj);
            json_object_del(item, "kind");
            json_object_del(item, "apiVersion");
        }
        json_array_append_new(items, item);
    }
    json_t *doc;
    if (partial) {
        char *av = xasprintf("meta.k8s.io/%s", version[0] ? version : "v1");
        doc = json_pack("{s:s,s:s}", "kind", "PartialObjectMetadataList", "apiVersion", av);
        free(av);
    } else {
        doc = json_pack("{s:s,s:s}", "kind", res->list_kind, "apiVersion", res->group_version);
    }
    json_object_set_new(doc, "metadata", list_meta(l));
    json_object_set_new(doc, "items", items);
    return doc;
}

static void respond_list(const struct rest_request *req, const struct route *route,
                         const struct codec_choice *choice, const struct reg_list *l,
                         struct rest_response *resp)
{
    const struct api_resource *res = route->res;
    struct apierr err;
    apierr_init(&err);
    switch (choice->answer) {
    case CODEC_ANSWER_TABLE: {
        json_t *t = rest_table(res, choice->version, rest_param(req, "includeObject"), l->items,
                               l->n, true, &err);
        if (!t) {
            rest_respond_error(resp, &err);
            break;
        }
        json_object_set_new(t, "metadata", list_meta(l));
        rest_respond_json(resp, 200, t);
        json_decref(t);
        break;
    }
    case CODEC_ANSWER_PARTIAL:
    case CODEC_ANSWER_YAML: {
        json_t *doc = list_doc(res, l, choice->answer == CODEC_ANSWER_PARTIAL, choice->version);
        rest_respond_doc(choice, 200, doc, resp);
        json_decref(doc);
        break;
    }
    default:
        write_json_list(res, l, resp);
    }
    apierr_release(&err);
}

static void fill_req(const struct rest_request *req, const struct route *route, struct reg_req *rr)
{
    memset(rr, 0, sizeof(*rr));
    rr->res = route->res;
    rr->ns = route->ns;
    rr->user_agent = req->user_agent;
}

void list_handle(struct rest_server *srv, const struct rest_request *req, const struct route *route,
                 const struct codec_choice *choice, struct rest_response *resp)
{
    struct reg_list_opts lo;
    struct reg_req rr;
    struct reg_list l;
    struct apierr err;
    apierr_init(&err);
    fill_req(req, route, &rr);
    if (route->watch_prefix || (!route->name && rest_is_watch_param(req))) {
        watch_handle(srv, req, route, choice, resp);
        return;
    }
    if (list_opts_from(req, &lo, &err)) {
        rest_respond_error(resp, &err);
        apierr_release(&err);
        return;
    }
    if (route->name) {
        /* GET of one object through the list path cannot happen; routes make it a get. */
        apierr_path_not_found(&err);
        rest_respond_error(resp, &err);
        apierr_release(&err);
        return;
    }
    if (registry_list(srv->reg, &rr, &lo, &l, &err)) {
        rest_respond_error(resp, &err);
        apierr_release(&err);
        return;
    }
    respond_list(req, route, choice, &l, resp);
    reg_list_release(&l);
}

void list_delete_collection(struct rest_server *srv, const struct rest_request *req,
                            const struct route *route, struct rest_response *resp)
{
    struct reg_list_opts lo;
    struct reg_req rr;
    struct reg_list l;
    struct apierr err;
    struct codec_choice json = {.answer = CODEC_ANSWER_JSON};
    apierr_init(&err);
    if (list_opts_from(req, &lo, &err)) {
        rest_respond_error(resp, &err);
        apierr_release(&err);
        return;
    }
    fill_req(req, route, &rr);
    for (size_t i = 0; i < req->n_params; i++)
        if (!strcmp(req->params[i].key, "dryRun") && !strcmp(req->params[i].value, "All"))
            rr.dry_run = true;
    json_t *opts = NULL;
    if (req->body_len) {
        char *msg = NULL;
        opts = codec_parse_json(req->body, req->body_len, false, &msg);
        free(msg);
    }
    if (registry_delete_collection(srv->reg, &rr, &lo, opts, &l, &err)) {
        rest_respond_error(resp, &err);
    } else {
        respond_list(req, route, &json, &l, resp);
        reg_list_release(&l);
    }
    json_decref(opts);
    apierr_release(&err);
}
