/*
 * patch (REST side): PATCH on an object or its status, after apiserver's
 * pkg/endpoints/handlers/patch.go: the Content-Type picks the patch type, the live object is
 * read first (404 before the body is looked at), the patch is applied to it, the result is
 * decoded into the kind like a request body and goes through the kind's whole update path
 * (defaults, allocation, validation). The patch is applied again on the newest object whenever
 * a concurrent writer wins, as GuaranteedUpdate does. Apply patches (server-side apply) create
 * a missing object.
 */
#include "rest_private.h"

#include "svc/api.h"
#include "svc/apierr.h"
#include "svc/codec.h"
#include "svc/managedfields.h"
#include "svc/patch.h"
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

#define PATCH_MEDIA_TYPES                                                                          \
    "application/json-patch+json, application/merge-patch+json, "                                  \
    "application/strategic-merge-patch+json, application/apply-patch+yaml"

struct patch_ctx {
    struct rest_server *srv;
    const struct rest_request *req;
    const struct api_resource *res;
    enum codec_media media;
    enum patch_validation validation;
    struct rest_response *resp;
    const char *req_name;
    const struct reg_req *reg_req; /* the registry request (field ownership context) */
    const json_t *cur;             /* the object being patched (borrowed, during apply_patch) */
    bool force;                    /* apply: take fields other managers own */
    bool created;
};

static void patch_error_to(struct apierr *err, const struct patch_error *pe)
{
    enum apierr_reason reason = APIERR_UNKNOWN_500;
    switch (pe->code) {
    case 400:
        reason = APIERR_BAD_REQUEST;
        break;
    case 413:
        reason = APIERR_TOO_LARGE;
        break;
    case 422:
        reason = APIERR_INVALID;
        break;
    default:
        reason = pe->reason && *pe->reason ? APIERR_INTERNAL : APIERR_UNKNOWN_500;
    }
    apierr_simple(err, reason, "%s", pe->message ? pe->message : "");
    err->has_details = pe->details_empty;
}

/* The 422 of a patched document that does not decode into the kind (patch.go applyPatch). */
static int invalid_patch_result(struct apierr *err, const char *repr, const char *detail)
{
    char *q = fe_quote(repr ? repr : "");
    struct field_errors errs;
    fe_init(&errs);
    fe_add(&errs, FE_INVALID, "patch", q, detail);
    apierr_invalid(err, "", "", "", &errs);
    fe_release(&errs);
    free(q);
    return -1;
}

static int cmp_text(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Field paths ("spec.ports[10].nope") component by component: names as strings, indexes as
   numbers, as a walk of sorted maps meets them. */
static int cmp_field_path(const void *a, const void *b)
{
    const char *x = *(const char *const *)a, *y = *(const char *const *)b;
    while (*x && *y) {
        if (*x == '[' && *y == '[') {
            char *ex, *ey;
            long long ix = strtoll(x + 1, &ex, 10), iy = strtoll(y + 1, &ey, 10);
            if (ix != iy)
                return ix < iy ? -1 : 1;
            x = ex + (*ex == ']');
            y = ey + (*ey == ']');
        } else {
            size_t nx = strcspn(x, ".["), ny = strcspn(y, ".[");
            size_t n = nx < ny ? nx : ny;
            int c = strncmp(x, y, n);
            if (c || nx != ny)
                return c ? c : (nx < ny ? -1 : 1);
            x += nx;
            y += ny;
        }
        if (*x == '.')
            x++;
        if (*y == '.')
            y++;
    }
    return *x ? 1 : *y ? -1 : 0;
}

/* The patched document as upstream quotes it in a 422 (caller frees). */
static char *quote_patched(const struct patch_ctx *pc, const json_t *patched)
{
    if (pc->media == CODEC_MEDIA_MERGE_PATCH)
        return patch_render_merge(pc->cur, pc->req->body, pc->req->body_len, patched);
    if (pc->media == CODEC_MEDIA_JSON_PATCH)
        return patch_render_json(pc->req->body, pc->req->body_len, patched);
    return codec_json_dumps(patched, NULL);
}

/* Decode the patched document into the kind: types checked, unknown fields pruned and
   reported as fieldValidation says. A new reference, or NULL with err. */
static json_t *decode_result(struct patch_ctx *pc, json_t *patched, const char *repr,
                             struct patch_strict *strict, struct apierr *err)
{
    struct schema_report rep;
    schema_report_init(&rep);
    json_t *canon = pc->res->definition ? schema_canonicalize(pc->srv->api->schema,
                                                              pc->res->definition, patched, &rep)
                                        : json_incref(patched);
    if (!canon) {
        char *doc = repr ? NULL : quote_patched(pc, patched);
        invalid_patch_result(err, repr ? repr : doc, rep.type_error ? rep.type_error : "");
        free(doc);
        schema_report_release(&rep);
        return NULL;
    }
    struct strbuf problems;
    strbuf_init(&problems, STRBUF_NO_LIMIT);
    for (size_t i = 0; strict && i < strict->len; i++)
        strbuf_addf(&problems, "%s%s", problems.len ? ", " : "", strict->items[i]);
    /* Upstream reports unknown fields in the order its decoder meets them: merge and JSON
       patches re-serialise every object they entered from Go maps (sorted keys), so that is
       path order; strategic merge sorts the errors by their text. */
    size_t n_unknown = json_array_size(rep.unknown);
    const char **paths = xcalloc(n_unknown ? n_unknown : 1, sizeof(*paths));
    for (size_t k = 0; k < n_unknown; k++)
        paths[k] = json_string_value(json_array_get(rep.unknown, k));
    qsort(paths, n_unknown, sizeof(*paths),
          pc->media == CODEC_MEDIA_STRATEGIC_PATCH ? cmp_text : cmp_field_path);
    for (size_t k = 0; k < n_unknown; k++) {
        char *text = xasprintf("unknown field \"%s\"", paths[k]);
        strbuf_addf(&problems, "%s%s", problems.len ? ", " : "", text);
        if (pc->validation == PATCH_VALIDATION_WARN)
            rest_add_warning(pc->resp, text);
        free(text);
    }
    free(paths);
    schema_report_release(&rep);
    if (problems.len && pc->validation == PATCH_VALIDATION_STRICT) {
        char *doc = repr ? NULL : quote_patched(pc, patched);
        char *detail = xasprintf("strict decoding error: %s", strbuf_str(&problems));
        invalid_patch_result(err, repr ? repr : doc, detail);
        free(detail);
        free(doc);
        strbuf_release(&problems);
        json_decref(canon);
        return NULL;
    }
    if (problems.len && pc->validation == PATCH_VALIDATION_WARN) {
        for (size_t k = 0; strict && k < strict->len; k++)
            rest_add_warning(pc->resp, strict->items[k]);
    }
    strbuf_release(&problems);
    return canon;
}

/*
 * The body of an apply patch (YAML or JSON) as a plain document: upstream keeps it
 * unstructured (yaml.Unmarshal into a map), so nothing is defaulted or pruned here. A new
 * reference, or NULL with a 400. *strict_errors receives what a strict decode objects to.
 */
static json_t *apply_body(struct patch_ctx *pc, char **strict_errors, struct apierr *err)
{
    struct yaml_error yerr;
    json_t *doc =
        yaml_parse_strict(pc->req->body, pc->req->body_len, CODEC_MAX_DEPTH, strict_errors, &yerr);
    if (!doc) {
        apierr_simple(err, APIERR_BAD_REQUEST, "error converting YAML to JSON: %s", yerr.text);
        return NULL;
    }
    if (!json_is_object(doc) && !json_is_null(doc)) {
        apierr_simple(err, APIERR_BAD_REQUEST,
                      "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal %s "
                      "into Go value of type map[string]interface {}",
                      json_is_array(doc)     ? "array"
                      : json_is_string(doc)  ? "string"
                      : json_is_boolean(doc) ? "bool"
                                             : "number");
        json_decref(doc);
        free(*strict_errors);
        *strict_errors = NULL;
        return NULL;
    }
    if (json_is_null(doc)) {
        json_decref(doc);
        doc = json_object();
    }
    return doc;
}

static void mf_error_to(struct apierr *err, struct mf_error *me)
{
    switch (me->kind) {
    case MF_ERR_BAD_REQUEST:
        apierr_simple(err, APIERR_BAD_REQUEST, "%s", me->message ? me->message : "");
        break;
    case MF_ERR_CONFLICT:
        apierr_simple(err, APIERR_CONFLICT, "%s", me->message ? me->message : "");
        err->has_details = true;
        err->causes = me->causes;
        me->causes = NULL;
        break;
    default:
        apierr_simple(err, APIERR_UNKNOWN_500, "%s", me->message ? me->message : "");
    }
}

/* Server-side apply onto cur (NULL: the apply creates the object); a new reference or NULL. */
static json_t *server_side_apply(struct patch_ctx *pc, const json_t *cur, struct apierr *err)
{
    char *strict_errors = NULL;
    json_t *config = apply_body(pc, &strict_errors, err);
    if (!config)
        return NULL;
    char now[UTIL_RFC3339_LEN];
    struct mf_context mc;
    registry_mf_context(pc->srv->reg, pc->reg_req, now, &mc);
    struct mf_error me;
    mf_error_init(&me);
    json_t *merged = NULL;
    if (mf_apply(&mc, cur, config, pc->reg_req->field_manager, pc->force, &merged, NULL, &me)) {
        mf_error_to(err, &me);
        merged = NULL;
    } else if (!cur && !ju_empty(ju_meta_str(merged, "uid"))) {
        char *detail = xasprintf("uid mismatch: the provided object specified uid %s, and no "
                                 "existing object was found",
                                 ju_meta_str(merged, "uid"));
        apierr_conflict(err, pc->res->group, pc->res->plural, pc->req_name, detail);
        free(detail);
        json_decref(merged);
        merged = NULL;
    } else if (strict_errors && pc->validation == PATCH_VALIDATION_STRICT) {
        apierr_simple(err, APIERR_BAD_REQUEST,
                      "error strict decoding YAML: error converting YAML to JSON: %s",
                      strict_errors);
        json_decref(merged);
        merged = NULL;
    } else if (strict_errors && pc->validation == PATCH_VALIDATION_WARN) {
        char *text = xasprintf("error converting YAML to JSON: %s", strict_errors);
        rest_add_warning(pc->resp, text);
        free(text);
    }
    mf_error_release(&me);
    free(strict_errors);
    json_decref(config);
    if (merged && !cur)
        pc->created = true;
    return merged;
}

static int apply_patch(void *ctx, const json_t *cur, json_t **out, struct apierr *err)
{
    struct patch_ctx *pc = ctx;
    struct patch_error pe;
    struct patch_strict strict;
    patch_error_init(&pe);
    patch_strict_init(&strict);
    json_t *patched = NULL;
    char *repr = NULL;
    int rc = -1;
    pc->created = false;
    pc->cur = cur;
    if (pc->media == CODEC_MEDIA_APPLY_PATCH) {
        patched = server_side_apply(pc, cur, err);
        if (!patched)
            goto out;
    } else {
        if (!cur) {
            apierr_not_found(err, pc->res->group, pc->res->plural, pc->req_name);
            goto out;
        }
        if (pc->media == CODEC_MEDIA_JSON_PATCH)
            patched = patch_json_apply(cur, pc->req->body, pc->req->body_len, pc->validation,
                                       &strict, &pe);
        else if (pc->media == CODEC_MEDIA_MERGE_PATCH)
            patched = patch_merge_apply(cur, pc->req->body, pc->req->body_len, pc->validation,
                                        &strict, &pe);
        else
            patched = patch_strategic_apply(
                cur, pc->req->body, pc->req->body_len, schema_definitions(pc->srv->api->schema),
                pc->res->definition, pc->validation, &strict, &repr, &pe);
        if (!patched) {
            patch_error_to(err, &pe);
            goto out;
        }
    }
    *out = decode_result(pc, patched, repr, &strict, err);
    rc = *out ? 0 : -1;
out:
    json_decref(patched);
    free(repr);
    patch_strict_release(&strict);
    patch_error_release(&pe);
    return rc;
}

void rest_do_patch(struct rest_server *srv, const struct rest_request *req,
                   const struct route *route, const struct codec_choice *choice,
                   struct rest_response *resp, struct apierr *err)
{
    struct patch_ctx pc = {
        .srv = srv, .req = req, .res = route->res, .resp = resp, .req_name = route->name};
    pc.media = codec_media_of(req->content_type);
    if (pc.media != CODEC_MEDIA_JSON_PATCH && pc.media != CODEC_MEDIA_MERGE_PATCH &&
        pc.media != CODEC_MEDIA_STRATEGIC_PATCH && pc.media != CODEC_MEDIA_APPLY_PATCH) {
        apierr_simple(err, APIERR_UNSUPPORTED_MEDIA_TYPE,
                      "the body of the request was in an unknown format - accepted media types "
                      "include: " PATCH_MEDIA_TYPES);
        rest_respond_error(resp, err);
        return;
    }
    struct field_errors errs;
    fe_init(&errs);
    const char *manager = rest_param(req, "fieldManager");
    const char *force = rest_param(req, "force");
    if (pc.media == CODEC_MEDIA_APPLY_PATCH) {
        if (ju_empty(manager))
            fe_add(&errs, FE_REQUIRED, "fieldManager", NULL, "is required for apply patch");
    } else if (force) {
        fe_add(&errs, FE_FORBIDDEN, "force", NULL, "may not be specified for non-apply patch");
    }
    /* strconv.ParseBool's spellings of true. */
    pc.force = force && (!strcmp(force, "true") || !strcmp(force, "1") || !strcmp(force, "t") ||
                         !strcmp(force, "T") || !strcmp(force, "TRUE") || !strcmp(force, "True"));
    validate_field_manager(&errs, "fieldManager", manager);
    bool dry_run = false;
    for (size_t i = 0; i < req->n_params; i++) {
        if (strcmp(req->params[i].key, "dryRun"))
            continue;
        if (!strcmp(req->params[i].value, "All")) {
            dry_run = true;
        } else {
            const char *vals[] = {req->params[i].value};
            char *v = fe_strings(vals, 1);
            fe_add(&errs, FE_NOT_SUPPORTED, "dryRun", v, "supported values: \"All\"");
            free(v);
        }
    }
    const char *fv = rest_param(req, "fieldValidation");
    pc.validation = PATCH_VALIDATION_WARN;
    if (fv && !strcmp(fv, "Strict"))
        pc.validation = PATCH_VALIDATION_STRICT;
    else if (fv && !strcmp(fv, "Ignore"))
        pc.validation = PATCH_VALIDATION_IGNORE;
    else if (fv && *fv && strcmp(fv, "Warn")) {
        char *q = fe_quote(fv);
        fe_add(&errs, FE_NOT_SUPPORTED, "fieldValidation", q,
               "supported values: \"\", \"Ignore\", \"Strict\", \"Warn\"");
        free(q);
    }
    if (errs.len) {
        apierr_invalid(err, "meta.k8s.io", "PatchOptions", "", &errs);
        fe_release(&errs);
        rest_respond_error(resp, err);
        return;
    }
    fe_release(&errs);
    json_t *warnings = json_array();
    struct reg_req rr = {.res = route->res,
                         .ns = route->ns,
                         .name = route->name,
                         .subresource = route->subresource,
                         .dry_run = dry_run,
                         .field_manager = manager,
                         .user_agent = req->user_agent,
                         .warnings = warnings,
                         .untracked = pc.media == CODEC_MEDIA_APPLY_PATCH};
    pc.reg_req = &rr;
    struct reg_result res;
    if (registry_update(srv->reg, &rr, apply_patch, &pc, &res, err)) {
        size_t i;
        json_t *w;
        json_array_foreach (warnings, i, w)
            rest_add_warning(resp, json_string_value(w));
        json_decref(warnings);
        rest_respond_error(resp, err);
        return;
    }
    size_t i;
    json_t *w;
    json_array_foreach (warnings, i, w)
        rest_add_warning(resp, json_string_value(w));
    json_decref(warnings);
    rest_respond_object(srv, req, route, choice, pc.created ? 201 : 200, res.obj, resp);
    reg_result_release(&res);
}
