/*
 * scale: the scale subresource of ReplicaSets (autoscaling/v1 Scale), after kubernetes
 * pkg/registry/apps/replicaset/storage.go ScaleREST: a Scale view of the object for GET, and
 * PUT or PATCH of that view changing only spec.replicas through the ReplicaSet's update path.
 */
#include "rest_private.h"

#include "svc/api.h"
#include "svc/apierr.h"
#include "svc/codec.h"
#include "svc/patch.h"
#include "svc/registry.h"
#include "svc/selector.h"
#include "svc/store.h"
#include "svc/util.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static json_t *scale_of(const json_t *obj)
{
    const json_t *meta = ju_obj(obj, "metadata");
    json_t *m = json_object();
    const char *keys[] = {"name", "namespace", "uid", "resourceVersion", "creationTimestamp"};
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        if (json_object_get(meta, keys[i]))
            json_object_set(m, keys[i], json_object_get(meta, keys[i]));
    char *msg = NULL;
    struct label_selector *sel =
        label_selector_from_json(ju_obj(ju_obj(obj, "spec"), "selector"), &msg);
    char *selector = sel ? label_selector_string(sel) : xstrdup("");
    label_selector_free(sel);
    free(msg);
    json_t *status =
        json_pack("{s:I}", "replicas", (json_int_t)ju_int(ju_obj(obj, "status"), "replicas", 0));
    if (*selector)
        json_object_set_new(status, "selector", json_string(selector));
    free(selector);
    return json_pack("{s:s,s:s,s:o,s:{s:I},s:o}", "kind", "Scale", "apiVersion", "autoscaling/v1",
                     "metadata", m, "spec", "replicas",
                     (json_int_t)ju_int(ju_obj(obj, "spec"), "replicas", 1), "status", status);
}

struct scale_ctx {
    const struct rest_request *req;
    const struct route *route;
    json_t *put_body; /* PUT: the decoded Scale */
};

/* Build the new object from the Scale the client wants: only spec.replicas moves. */
static int scale_update(void *vctx, const json_t *cur, json_t **out, struct apierr *err)
{
    struct scale_ctx *ctx = vctx;
    if (!cur)
        return apierr_not_found(err, ctx->route->res->group, ctx->route->res->plural,
                                ctx->route->name);
    json_t *want;
    if (ctx->put_body) {
        want = json_incref(ctx->put_body);
    } else {
        json_t *view = scale_of(cur);
        struct patch_error pe;
        struct patch_strict strict;
        patch_error_init(&pe);
        patch_strict_init(&strict);
        enum codec_media media = codec_media_of(ctx->req->content_type);
        if (media == CODEC_MEDIA_JSON_PATCH)
            want = patch_json_apply(view, ctx->req->body, ctx->req->body_len,
                                    PATCH_VALIDATION_IGNORE, &strict, &pe);
        else
            want = patch_merge_apply(view, ctx->req->body, ctx->req->body_len,
                                     PATCH_VALIDATION_IGNORE, &strict, &pe);
        json_decref(view);
        patch_strict_release(&strict);
        if (!want) {
            apierr_simple(err, pe.code == 422 ? APIERR_INVALID : APIERR_BAD_REQUEST, "%s",
                          pe.message ? pe.message : "bad patch");
            err->has_details = pe.details_empty;
            patch_error_release(&pe);
            return -1;
        }
        patch_error_release(&pe);
    }
    json_t *replicas = ju_get(ju_obj(want, "spec"), "replicas");
    long long n = json_is_integer(replicas) ? json_integer_value(replicas) : 0;
    if (n < 0) {
        struct field_errors errs;
        fe_init(&errs);
        char *v = fe_int(n);
        fe_add(&errs, FE_INVALID, "spec.replicas", v, "must be greater than or equal to 0");
        free(v);
        apierr_invalid(err, "autoscaling", "Scale", ctx->route->name, &errs);
        fe_release(&errs);
        json_decref(want);
        return -1;
    }
    json_t *obj = json_deep_copy(cur);
    json_object_set_new(ju_ensure_obj(obj, "spec"), "replicas", json_integer(n));
    /* A resourceVersion in the Scale is a precondition on the object. */
    const char *rv = ju_meta_str(want, "resourceVersion");
    if (!ju_empty(rv))
        json_object_set_new(ju_ensure_obj(obj, "metadata"), "resourceVersion", json_string(rv));
    json_decref(want);
    *out = obj;
    return 0;
}

void rest_scale(struct rest_server *srv, const struct rest_request *req, const struct route *route,
                const struct codec_choice *choice, struct rest_response *resp)
{
    struct apierr err;
    apierr_init(&err);
    struct reg_req rr = {.res = route->res,
                         .ns = route->ns,
                         .name = route->name,
                         .user_agent = req->user_agent,
                         .field_manager = rest_param(req, "fieldManager")};
    for (size_t i = 0; i < req->n_params; i++)
        if (!strcmp(req->params[i].key, "dryRun") && !strcmp(req->params[i].value, "All"))
            rr.dry_run = true;
    struct reg_result res;
    struct scale_ctx ctx = {.req = req, .route = route};
    int rc;
    if (!strcmp(req->method, "GET")) {
        rc = registry_get(srv->reg, &rr, &res, &err);
    } else {
        if (!strcmp(req->method, "PUT")) {
            ctx.put_body = codec_decode_object(req->content_type, req->body, req->body_len, "Scale",
                                               "autoscaling/v1", &err);
            if (!ctx.put_body) {
                rest_respond_error(resp, &err);
                apierr_release(&err);
                return;
            }
        }
        rc = registry_update(srv->reg, &rr, scale_update, &ctx, &res, &err);
        json_decref(ctx.put_body);
    }
    if (rc) {
        rest_respond_error(resp, &err);
        apierr_release(&err);
        return;
    }
    json_t *scale = scale_of(store_obj_json(res.obj));
    rest_respond_doc(choice, 200, scale, resp);
    json_decref(scale);
    reg_result_release(&res);
}
