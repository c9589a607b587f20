/*
 * handlers: the verbs on resource paths (get, create, update, delete; list, watch and
 * deletecollection go to list.c), after apiserver's pkg/endpoints/handlers. Each handler reads
 * the query and body, calls the registry, and writes the answer in the negotiated form.
 */
#include "rest_private.h"

#include "svc/api.h"
#include "svc/apierr.h"
#include "svc/codec.h"
#include "svc/printers.h"
#include "svc/registry.h"
#include "svc/schema.h"
#include "svc/store.h"
#include "svc/util.h"
#include "svc/validate.h"
#include "svc/yaml.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ENDPOINTS_DEPRECATED                                                                       \
    "v1 Endpoints is deprecated in v1.33+; use discovery.k8s.io/v1 EndpointSlice"

enum field_validation { FV_IGNORE, FV_WARN, FV_STRICT };

/* Options common to writes, read from the query; -1 with a 422 when a value is not allowed. */
struct write_options {
    bool dry_run;
    enum field_validation validation;
    const char *field_manager;
};

static int parse_write_options(const struct rest_request *req, const char *options_kind,
                               bool has_validation, struct write_options *wo, struct apierr *err)
{
    struct field_errors errs;
    fe_init(&errs);
    memset(wo, 0, sizeof(*wo));
    /* The server's default when the client says nothing is Warn (apiserver fieldValidation). */
    wo->validation = FV_WARN;
    wo->field_manager = rest_param(req, "fieldManager");
    validate_field_manager(&errs, "fieldManager", wo->field_manager);
    for (size_t i = 0; i < req->n_params; i++) {
        if (strcmp(req->params[i].key, "dryRun"))
            continue;
        const char *v = req->params[i].value;
        if (!strcmp(v, "All")) {
            wo->dry_run = true;
        } else {
            const char *vals[] = {v};
            char *value = fe_strings(vals, 1);
            fe_add(&errs, FE_NOT_SUPPORTED, "dryRun", value, "supported values: \"All\"");
            free(value);
        }
    }
    const char *fv = rest_param(req, "fieldValidation");
    if (has_validation && fv) {
        if (!strcmp(fv, "Strict"))
            wo->validation = FV_STRICT;
        else if (!strcmp(fv, "Ignore"))
            wo->validation = FV_IGNORE;
        else if (!strcmp(fv, "Warn") || !*fv)
            wo->validation = FV_WARN;
        else {
            char *value = fe_quote(fv);
            fe_add(&errs, FE_NOT_SUPPORTED, "fieldValidation", value,
                   "supported values: \"\", \"Ignore\", \"Strict\", \"Warn\"");
            free(value);
        }
    }
    int rc = 0;
    if (errs.len)
        rc = apierr_invalid(err, "meta.k8s.io", options_kind, "", &errs);
    fe_release(&errs);
    return rc;
}

/*
 * Decode a body into the resource's kind and apply fieldValidation: unknown fields are pruned,
 * and reported as a 400 (Strict) or as warnings (Warn). A new reference, or NULL with err.
 */
static json_t *decode_body(struct rest_server *srv, const struct rest_request *req,
                           const struct api_resource *res, const struct write_options *wo,
                           struct rest_response *resp, struct apierr *err)
{
    json_t *obj = codec_decode_object(req->content_type, req->body, req->body_len, res->kind,
                                      res->group_version, err);
    if (!obj)
        return NULL;
    struct strbuf problems;
    strbuf_init(&problems, STRBUF_NO_LIMIT);
    if (wo->validation == FV_STRICT && codec_media_of(req->content_type) == CODEC_MEDIA_JSON) {
        /* Only a strict decode cares about repeated keys: upstream keeps the last one. */
        char *msg = NULL;
        json_t *dup = codec_parse_json(req->body, req->body_len, true, &msg);
        if (!dup && msg && strstr(msg, "duplicate object key")) {
            const char *q = strchr(msg, '\'');
            const char *e = q ? strchr(q + 1, '\'') : NULL;
            if (q && e)
                strbuf_addf(&problems, "duplicate field %.*s", (int)(e - q - 1), q + 1);
        }
        json_decref(dup);
        free(msg);
    }
    if (wo->validation != FV_IGNORE && codec_media_of(req->content_type) == CODEC_MEDIA_YAML) {
        /* go-yaml's strict decoding objects to repeated keys; Warn passes it on as a warning. */
        char *strict = NULL;
        struct yaml_error yerr;
        json_t *again =
            yaml_parse_strict(req->body, req->body_len, CODEC_MAX_DEPTH, &strict, &yerr);
        json_decref(again);
        if (strict) {
            if (wo->validation == FV_STRICT)
                strbuf_addstr(&problems, strict);
            else
                rest_add_warning(resp, strict);
            free(strict);
        }
    }
    struct schema_report rep;
    schema_report_init(&rep);
    json_t *canon = res->definition
                        ? schema_canonicalize(srv->api->schema, res->definition, obj, &rep)
                        : json_incref(obj);
    json_decref(obj);
    if (!canon) {
        apierr_simple(err, APIERR_BAD_REQUEST, "%s in version \"%s\" cannot be handled as a %s: %s",
                      res->kind, res->version, res->kind,
                      rep.type_error ? rep.type_error : "cannot decode");
        schema_report_release(&rep);
        strbuf_release(&problems);
        return NULL;
    }
    size_t i;
    json_t *path;
    json_array_foreach (rep.unknown, i, path) {
        char *text = xasprintf("unknown field \"%s\"", json_string_value(path));
        if (wo->validation == FV_WARN)
            rest_add_warning(resp, text);
        else if (wo->validation == FV_STRICT)
            strbuf_addf(&problems, "%s%s", problems.len ? ", " : "", text);
        free(text);
    }
    schema_report_release(&rep);
    if (wo->validation == FV_STRICT && problems.len) {
        apierr_simple(err, APIERR_BAD_REQUEST,
                      "%s in version \"%s\" cannot be handled as a %s: strict decoding error: %s",
                      res->kind, res->version, res->kind, strbuf_str(&problems));
        json_decref(canon);
        canon = NULL;
    }
    strbuf_release(&problems);
    return canon;
}

/* ---- answers --------------------------------------------------------------------------------- */

static json_t *partial_metadata(const json_t *obj, const char *version)
{
    char *av = xasprintf("meta.k8s.io/%s", version[0] ? version : "v1");
    json_t *p = json_pack("{s:s,s:s,s:O}", "kind", "PartialObjectMetadata", "apiVersion", av,
                          "metadata", ju_obj(obj, "metadata"));
    free(av);
    return p;
}

void rest_respond_object(struct rest_server *srv, const struct rest_request *req,
                         const struct route *route, const struct codec_choice *choice, int status,
                         const struct store_obj *obj, struct rest_response *resp)
{
    (void)srv;
    switch (choice->answer) {
    case CODEC_ANSWER_TABLE: {
        struct apierr err;
        apierr_init(&err);
        json_t *table = rest_table(route->res, choice->version, rest_param(req, "includeObject"),
                                   (struct store_obj *const *)&obj, 1, true, &err);
        if (!table) {
            rest_respond_error(resp, &err);
            apierr_release(&err);
            return;
        }
        char rv[24];
        snprintf(rv, sizeof(rv), "%llu", (unsigned long long)obj->rv);
        json_object_set_new(ju_ensure_obj(table, "metadata"), "resourceVersion",
                            json_string(obj->rv ? rv : ""));
        rest_respond_json(resp, status, table);
        json_decref(table);
        return;
    }
    case CODEC_ANSWER_PARTIAL: {
        json_t *p = partial_metadata(store_obj_json(obj), choice->version);
        rest_respond_json(resp, status, p);
        json_decref(p);
        return;
    }
    case CODEC_ANSWER_YAML:
        rest_respond_doc(choice, status, store_obj_json(obj), resp);
        return;
    default:
        strbuf_reset(&resp->body);
        resp->status = status;
        snprintf(resp->content_type, sizeof(resp->content_type), "application/json");
        strbuf_add(&resp->body, obj->bytes, obj->len);
        strbuf_addch(&resp->body, '\n');
        return;
    }
}

static void respond_result(struct rest_server *srv, const struct rest_request *req,
                           const struct route *route, const struct codec_choice *choice,
                           struct reg_result *res, struct rest_response *resp)
{
    if (res->obj)
        rest_respond_object(srv, req, route, choice, res->code, res->obj, resp);
    else
        rest_respond_doc(choice, res->code, res->answer, resp);
}

/* ---- the verbs ------------------------------------------------------------------------------- */

static void fill_reg_req(const struct rest_request *req, const struct route *route,
                         struct reg_req *rr, json_t *warnings)
{
    memset(rr, 0, sizeof(*rr));
    rr->res = route->res;
    rr->ns = route->ns;
    rr->name = route->name;
    rr->subresource = route->subresource;
    rr->user_agent = req->user_agent;
    rr->warnings = warnings;
}

static void move_warnings(json_t *warnings, struct rest_response *resp)
{
    size_t i;
    json_t *w;
    json_array_foreach (warnings, i, w)
        rest_add_warning(resp, json_string_value(w));
}

static void do_get(struct rest_server *srv, const struct rest_request *req,
                   const struct route *route, const struct codec_choice *choice,
                   struct rest_response *resp, struct apierr *err)
{
    struct reg_req rr;
    struct reg_result res;
    fill_reg_req(req, route, &rr, NULL);
    if (registry_get(srv->reg, &rr, &res, err)) {
        rest_respond_error(resp, err);
        return;
    }
    respond_result(srv, req, route, choice, &res, resp);
    reg_result_release(&res);
}

static int put_body(void *ctx, const json_t *cur, json_t **out, struct apierr *err)
{
    (void)cur;
    (void)err;
    *out = json_deep_copy(ctx);
    return 0;
}

/* POST (create) and PUT (update): decode the body with fieldValidation, then the registry. */
static void do_write(struct rest_server *srv, const struct rest_request *req,
                     const struct route *route, const struct codec_choice *choice, bool create,
                     struct rest_response *resp, struct apierr *err)
{
    struct write_options wo;
    struct reg_req rr;
    struct reg_result res;
    json_t *warnings = json_array();
    json_t *obj = NULL;
    int rc = -1;
    if (parse_write_options(req, create ? "CreateOptions" : "UpdateOptions", true, &wo, err))
        goto done;
    obj = decode_body(srv, req, route->res, &wo, resp, err);
    if (!obj)
        goto done;
    fill_reg_req(req, route, &rr, warnings);
    rr.dry_run = wo.dry_run;
    rr.field_manager = wo.field_manager;
    if (create) {
        rc = registry_create(srv->reg, &rr, obj, &res, err); /* obj is stolen */
        obj = NULL;
    } else {
        rc = registry_update(srv->reg, &rr, put_body, obj, &res, err);
    }
done:
    move_warnings(warnings, resp);
    if (rc) {
        rest_respond_error(resp, err);
    } else {
        respond_result(srv, req, route, choice, &res, resp);
        reg_result_release(&res);
    }
    json_decref(obj);
    json_decref(warnings);
}

/* DeleteOptions from the body (optional) and the query, as the delete handler merges them. */
static json_t *delete_options(const struct rest_request *req, struct apierr *err)
{
    json_t *opts = NULL;
    if (req->body_len) {
        char *msg = NULL;
        opts = codec_parse_json(req->body, req->body_len, false, &msg);
        if (!opts || !json_is_object(opts)) {
            apierr_simple(err, APIERR_BAD_REQUEST,
                          "the object provided is unrecognized (must be of type DeleteOptions): "
                          "couldn't get version/kind; json parse error: %s",
                          msg ? msg : "not an object");
            free(msg);
            json_decref(opts);
            return NULL;
        }
    } else {
        opts = json_object();
    }
    const char *grace = rest_param(req, "gracePeriodSeconds");
    if (grace)
        json_object_set_new(opts, "gracePeriodSeconds", json_integer(atoll(grace)));
    const char *policy = rest_param(req, "propagationPolicy");
    if (policy)
        json_object_set_new(opts, "propagationPolicy", json_string(policy));
    return opts;
}

static void do_delete(struct rest_server *srv, const struct rest_request *req,
                      const struct route *route, const struct codec_choice *choice,
                      struct rest_response *resp, struct apierr *err)
{
    struct write_options wo;
    struct reg_req rr;
    struct reg_result res;
    json_t *opts = NULL;
    if (parse_write_options(req, "DeleteOptions", false, &wo, err) ||
        !(opts = delete_options(req, err))) {
        rest_respond_error(resp, err);
        return;
    }
    fill_reg_req(req, route, &rr, NULL);
    json_t *dry = ju_arr(opts, "dryRun");
    rr.dry_run = wo.dry_run || (dry && json_array_size(dry) &&
                                !strcmp(json_string_value(json_array_get(dry, 0)) ?: "", "All"));
    if (registry_delete(srv->reg, &rr, opts, &res, err)) {
        json_decref(opts);
        rest_respond_error(resp, err);
        return;
    }
    json_decref(opts);
    respond_result(srv, req, route, choice, &res, resp);
    reg_result_release(&res);
}

/* The verb the request asks for, or NULL (405). */
static const char *verb_of(const struct rest_request *req, const struct route *route, unsigned *bit)
{
    bool item = route->name != NULL;
    /* A named GET stays a get whatever ?watch says (requestinfo.go only turns lists into
       watches). */
    bool watch = route->watch_prefix || (!item && rest_is_watch_param(req));
    const char *m = req->method;
    struct {
        const char *method;
        bool item;
        const char *verb;
        unsigned bit;
    } table[] = {
        {"GET", true, "get", API_VERB_GET},
        {"GET", false, "list", API_VERB_LIST},
        {"POST", false, "create", API_VERB_CREATE},
        {"PUT", true, "update", API_VERB_UPDATE},
        {"PATCH", true, "patch", API_VERB_PATCH},
        {"DELETE", true, "delete", API_VERB_DELETE},
        {"DELETE", false, "deletecollection", API_VERB_DELETECOLLECTION},
    };
    if (watch && !strcmp(m, "GET")) {
        *bit = API_VERB_WATCH;
        return "watch";
    }
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
        if (!strcmp(table[i].method, m) && table[i].item == item) {
            *bit = table[i].bit;
            return table[i].verb;
        }
    }
    *bit = 0;
    return NULL;
}

/*
 * go-restful's Consumes check for the PATCH route: the media type (parameters dropped, spaces
 * trimmed, compared case-sensitively) of each comma-separated entry against the four patch
 * types; no Content-Type counts as application/octet-stream.
 */
static bool patch_type_routable(const char *content_type)
{
    static const char *const consumes[] = {
        "application/json-patch+json", "application/merge-patch+json",
        "application/strategic-merge-patch+json", "application/apply-patch+yaml"};
    if (!content_type || !*content_type)
        return false;
    const char *p = content_type;
    while (*p) {
        size_t n = strcspn(p, ",");
        size_t type_len = strcspn(p, ";,");
        const char *start = p;
        while (type_len && *start == ' ') {
            start++;
            type_len--;
        }
        while (type_len && start[type_len - 1] == ' ')
            type_len--;
        for (size_t i = 0; i < sizeof(consumes) / sizeof(consumes[0]); i++)
            if (strlen(consumes[i]) == type_len && !strncmp(consumes[i], start, type_len))
                return true;
        p += n;
        if (*p == ',')
            p++;
    }
    return false;
}

void handlers_resource(struct rest_server *srv, const struct rest_request *req,
                       const struct route *route, struct rest_response *resp)
{
    struct apierr err;
    struct codec_choice choice;
    apierr_init(&err);
    const struct api_resource *res = route->res;
    unsigned bit;
    const char *verb = verb_of(req, route, &bit);
    unsigned allowed = res->verbs;
    if (route->subresource) {
        const struct api_subresource *sub = api_find_subresource(res, route->subresource);
        allowed = sub ? sub->verbs : 0;
    }
    /* Across all namespaces only list and watch exist (upstream's installer registers
       nothing else on /api/v1/<namespaced resource>). */
    if (verb && res->namespaced && !route->ns && !(bit & (API_VERB_LIST | API_VERB_WATCH)))
        verb = NULL;
    if (!verb || !(allowed & bit)) {
        /* No route for this method: go-restful's 405, which apiserver turns into a generic
           Status (serviceErrorHandler); only an unwatchable watch gets NewMethodNotSupported. */
        if (verb && bit == API_VERB_WATCH)
            apierr_method_not_supported(&err, res->group, res->plural, "watch");
        else
            apierr_generic_response(&err, 405, "", "", "", NULL);
        rest_respond_error(resp, &err);
        goto out;
    }
    if (bit == API_VERB_PATCH && !patch_type_routable(req->content_type)) {
        /* The PATCH route consumes only the patch types: go-restful refuses anything else
           before any handler runs (apiserver's serviceErrorHandler wraps its bare 415). */
        apierr_generic_response(&err, 415, "", "", "", "415: Unsupported Media Type");
        rest_respond_error(resp, &err);
        goto out;
    }
    bool reads = bit & (API_VERB_GET | API_VERB_LIST | API_VERB_WATCH);
    int neg = codec_negotiate(
        req->accept, CODEC_ALLOW_YAML | (reads ? CODEC_ALLOW_TABLE | CODEC_ALLOW_PARTIAL : 0),
        &choice, &err);
    /* The route's own wrapper adds the deprecation warning, so the router's refusals above
       (405, 415, and its bare 406) go without it. */
    bool router_406 = neg && err.message && !strcmp(err.message, "406: Not Acceptable");
    if (!router_406 && !*res->group && !strcmp(res->plural, "endpoints"))
        rest_add_warning(resp, ENDPOINTS_DEPRECATED);
    if (neg) {
        rest_respond_error(resp, &err);
        goto out;
    }
    if (route->subresource && !strcmp(route->subresource, "scale")) {
        rest_scale(srv, req, route, &choice, resp);
        goto out;
    }
    switch (bit) {
    case API_VERB_GET:
        do_get(srv, req, route, &choice, resp, &err);
        break;
    case API_VERB_PATCH:
        rest_do_patch(srv, req, route, &choice, resp, &err);
        break;
    case API_VERB_LIST:
    case API_VERB_WATCH:
        list_handle(srv, req, route, &choice, resp);
        break;
    case API_VERB_CREATE:
    case API_VERB_UPDATE:
        do_write(srv, req, route, &choice, bit == API_VERB_CREATE, resp, &err);
        break;
    case API_VERB_DELETE:
        do_delete(srv, req, route, &choice, resp, &err);
        break;
    case API_VERB_DELETECOLLECTION:
        list_delete_collection(srv, req, route, resp);
        break;
    default:
        apierr_method_not_supported(&err, res->group, res->plural, verb);
        rest_respond_error(resp, &err);
        break;
    }
out:
    apierr_release(&err);
}
