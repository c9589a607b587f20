/*
 * generic: the verb pipelines every kind shares (after apiserver's generic registry Store).
 *
 * Create:  defaults -> system fields -> namespace admission -> generateName -> allocation
 *          (begin_create) -> PrepareForCreate -> validation (metadata, then the kind) ->
 *          canonical form -> store create -> commit or roll back the allocation.
 * Update:  read current -> the caller's function builds the new object -> resourceVersion
 *          precondition -> defaults -> carried-over metadata -> allocation (begin_update) ->
 *          PrepareForUpdate -> validation -> canonical form -> unchanged? no write : store
 *          update (retried from the top when a concurrent writer won) -> commit or roll back.
 * Delete:  read current -> preconditions -> store delete -> the kind's after_delete.
 * The order is upstream's, because it decides which error a client sees first.
 */
#include "registry_private.h"

#include "svc/api.h"
#include "svc/apierr.h"
#include "svc/managedfields.h"
#include "svc/schema.h"
#include "svc/store.h"
#include "svc/util.h"
#include "svc/validate.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

/* How often an update is recomputed when other writers keep winning the race. Upstream's
   GuaranteedUpdate retries without bound (every lost race means another write succeeded); the
   bound only keeps a bug from looping forever. */
#define UPDATE_RETRIES 1000
/* generateName collisions retried before giving up (RetryGenerateName, GA in 1.32). */
#define GENERATE_NAME_RETRIES 8

void reg_result_release(struct reg_result *res)
{
    store_obj_unref(res->obj);
    json_decref(res->answer);
    memset(res, 0, sizeof(*res));
}

json_t *registry_canonicalize(struct registry *reg, const struct api_resource *res,
                              const json_t *obj, char **type_error)
{
    struct schema_report rep;
    schema_report_init(&rep);
    json_t *out = res->definition
                      ? schema_canonicalize(reg->api->schema, res->definition, obj, &rep)
                      : json_deep_copy(obj);
    if (type_error) {
        *type_error = rep.type_error;
        rep.type_error = NULL;
    }
    schema_report_release(&rep);
    return out;
}

static const char *obj_name(const json_t *obj)
{
    const char *n = ju_meta_str(obj, "name");
    return n ? n : "";
}

static validate_name_fn name_fn(enum reg_name_rule rule)
{
    switch (rule) {
    case REG_NAME_DNS1123_LABEL:
        return validate_name_is_dns_label;
    case REG_NAME_DNS1035_LABEL:
        return validate_name_is_dns1035_label;
    case REG_NAME_PATH_SEGMENT:
        return validate_name_path_segment;
    default:
        return validate_name_is_dns_subdomain;
    }
}

static bool is_status_request(const struct reg_req *req)
{
    return req->subresource && !strcmp(req->subresource, "status");
}

/*
 * Validation in upstream's places (the validate module's header explains why it matters):
 * create: the kind's ValidateX (metadata by the kind's name rule, then spec) in one 422, and
 * only when that passed, the generic path-segment check of the name in a 422 of its own;
 * update: the generic metadata checks first, then the kind's ValidateXUpdate, all in one 422.
 */
static int validate(struct reg_write *w, const struct reg_kind *kind, bool create,
                    struct apierr *err)
{
    struct field_errors errs;
    fe_init(&errs);
    const struct api_resource *res = w->req->res;
    const json_t *meta = ju_obj(w->obj, "metadata");
    int rc = 0;
    if (w->req->system)
        return 0;
    if (create) {
        if (kind->validate_create)
            kind->validate_create(w, &errs);
        else
            validate_object_meta(&errs, "metadata", meta, res->namespaced,
                                 name_fn(kind->name_rule));
        if (!errs.len)
            validate_meta(&errs, "metadata", meta, res->namespaced, validate_name_path_segment);
    } else {
        validate_meta(&errs, "metadata", meta, res->namespaced, validate_name_path_segment);
        validate_meta_update(&errs, "metadata", meta, ju_obj(w->old, "metadata"));
        if (is_status_request(w->req) && kind->validate_status_update) {
            kind->validate_status_update(w, &errs);
        } else if (kind->validate_update) {
            kind->validate_update(w, &errs);
        } else {
            validate_object_meta_update(&errs, "metadata", meta, ju_obj(w->old, "metadata"));
            validate_object_meta(&errs, "metadata", meta, res->namespaced,
                                 name_fn(kind->name_rule));
        }
    }
    if (errs.len)
        rc = apierr_invalid(err, res->group, res->kind, obj_name(w->obj), &errs);
    fe_release(&errs);
    return rc;
}

/* Give metadata a resourceVersion slot in Go field order, which the store fills in place. */
static void place_resource_version(struct registry *reg, json_t *obj)
{
    json_t *meta = meta_of(obj);
    if (!json_object_get(meta, "resourceVersion"))
        schema_set_ordered(reg->api->schema, "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta",
                           meta, "resourceVersion", json_string(""));
}

/* Replace w->obj by its canonical form; a wrongly typed field is a 500 at this point because
   the decoder already checked types, so it means a strategy produced it. */
static int canonicalize(struct reg_write *w, struct apierr *err)
{
    char *type_error = NULL;
    json_t *c = registry_canonicalize(w->reg, w->req->res, w->obj, &type_error);
    if (!c) {
        apierr_internal(err, "%s", type_error ? type_error : "cannot canonicalise object");
        free(type_error);
        return -1;
    }
    free(type_error);
    json_decref(w->obj);
    w->obj = c;
    return 0;
}

void registry_mf_context(const struct registry *reg, const struct reg_req *req, char *now_buf,
                         struct mf_context *mc)
{
    const struct api_resource *res = req->res;
    util_format_time(util_now().tv_sec, now_buf);
    *mc = (struct mf_context){
        .definitions = schema_definitions(reg->api->schema),
        .root = res->definition,
        .api_version = res->group_version,
        .kind = res->kind,
        .subresource = req->subresource,
        .reset_fields = mf_reset_fields(res->group, res->plural, req->subresource),
        .now = now_buf,
    };
}

/*
 * Update accounting for a write that is not an apply (managedfields.h, step 1): live is the
 * stored object (NULL on create), obj the decoded and defaulted new object.
 */
static void track_fields(struct registry *reg, const struct reg_req *req, const json_t *live,
                         json_t *obj)
{
    if (req->untracked || !req->res->definition)
        return;
    char now[UTIL_RFC3339_LEN];
    struct mf_context mc;
    registry_mf_context(reg, req, now, &mc);
    char *manager = mf_manager_name(req->field_manager, req->user_agent);
    json_t *list = mf_update(&mc, live, obj, manager);
    free(manager);
    if (json_array_size(list))
        json_object_set_new(meta_of(obj), "managedFields", list);
    else {
        json_object_del(meta_of(obj), "managedFields");
        json_decref(list);
    }
}

/* A write that only moves managedFields timestamps changes nothing (step 3). */
static void keep_unchanged_times(struct registry *reg, const struct reg_req *req, json_t *obj,
                                 const json_t *old)
{
    if (!req->res->definition)
        return;
    char now[UTIL_RFC3339_LEN];
    struct mf_context mc;
    registry_mf_context(reg, req, now, &mc);
    mf_keep_times_if_unchanged(&mc, obj, old);
}

static void finish(const struct reg_kind *kind, struct reg_write *w, bool committed)
{
    if (kind->finish)
        kind->finish(w, committed);
    w->txn = NULL;
}

int registry_admit_namespace(struct registry *reg, const struct reg_req *req, const char *name,
                             bool creating, struct apierr *err)
{
    if (!req->res->namespaced || ju_empty(req->ns))
        return 0;
    char *key = xasprintf("namespaces/%s", req->ns);
    struct store_obj *ns = store_get(reg->store, key);
    free(key);
    if (!ns)
        return apierr_not_found(err, "", "namespaces", req->ns);
    const char *phase = ju_str(ju_obj(store_obj_json(ns), "status"), "phase");
    bool terminating = phase && !strcmp(phase, "Terminating");
    store_obj_unref(ns);
    if (creating && terminating) {
        char *detail = xasprintf("unable to create new content in namespace %s because it is "
                                 "being terminated",
                                 req->ns);
        apierr_forbidden(err, req->res->group, req->res->plural, name, detail);
        free(detail);
        char *cause = xasprintf("namespace %s is being terminated", req->ns);
        err->causes = json_pack("[{s:s,s:s,s:s}]", "reason", "NamespaceTerminating", "message",
                                cause, "field", "metadata.namespace");
        free(cause);
        return -1;
    }
    return 0;
}

/* ---- get ------------------------------------------------------------------------------------ */

int registry_get(struct registry *reg, const struct reg_req *req, struct reg_result *res,
                 struct apierr *err)
{
    memset(res, 0, sizeof(*res));
    char *key = registry_key(req->res, req->ns, req->name);
    res->obj = store_get(reg->store, key);
    free(key);
    if (!res->obj)
        return apierr_not_found(err, req->res->group, req->res->plural, req->name);
    res->code = 200;
    return 0;
}

/* ---- create ---------------------------------------------------------------------------------- */

/* The namespace in the body must be empty or match the URL's (then it is filled in), for create
   and update alike (rest.EnsureObjectNamespaceMatchesRequestNamespace). */
static int check_body_namespace(const struct reg_req *req, json_t *obj, struct apierr *err)
{
    json_t *meta = meta_of(obj);
    const char *ns = ju_str(meta, "namespace");
    if (!req->res->namespaced) {
        /* Cluster-scoped objects have no namespace; a stray one is dropped as upstream does. */
        json_object_del(meta, "namespace");
        return 0;
    }
    if (!ju_empty(ns) && req->ns && strcmp(ns, req->ns))
        return apierr_simple(err, APIERR_BAD_REQUEST,
                             "the namespace of the provided object does not match the namespace "
                             "sent on the request");
    if (req->ns)
        json_object_set_new(meta, "namespace", json_string(req->ns));
    return 0;
}

/* One attempt at the create pipeline with w->obj fully prepared up to the name. */
static int create_once(struct reg_write *w, const struct reg_kind *kind, struct reg_result *res,
                       struct apierr *err)
{
    struct registry *reg = w->reg;
    const struct reg_req *req = w->req;
    if (kind->begin_create && kind->begin_create(w, err))
        return -1;
    if (kind->flags & REG_HAS_GENERATION)
        json_object_set_new(meta_of(w->obj), "generation", json_integer(1));
    if (kind->prepare_create)
        kind->prepare_create(w);
    if (validate(w, kind, true, err) || canonicalize(w, err)) {
        finish(kind, w, false);
        return -1;
    }
    if (meta_resource_version(w->obj) != 0) {
        finish(kind, w, false);
        return apierr_simple(err, APIERR_UNKNOWN_500,
                             "resourceVersion should not be set on objects to be created");
    }
    char *key = registry_key(req->res, req->ns, obj_name(w->obj));
    if (req->dry_run) {
        /* Nothing is stored; the answer looks like the real one, without a resourceVersion. */
        struct store_obj *existing = store_get(reg->store, key);
        if (existing) {
            store_obj_unref(existing);
            free(key);
            finish(kind, w, false);
            return apierr_already_exists(err, req->res->group, req->res->plural, obj_name(w->obj));
        }
        res->obj = store_obj_new(key, json_incref(w->obj), 0);
        free(key);
        finish(kind, w, false);
        res->code = 201;
        return 0;
    }
    place_resource_version(reg, w->obj);
    struct store_write sw = {.op = STORE_OP_CREATE, .key = key, .obj = json_incref(w->obj)};
    int rc = store_write(reg->store, &sw, &res->obj, NULL);
    free(key);
    if (rc == STORE_ERR_EXISTS) {
        finish(kind, w, false);
        return apierr_already_exists(err, req->res->group, req->res->plural, obj_name(w->obj));
    }
    if (rc != STORE_OK) {
        finish(kind, w, false);
        return apierr_internal(err, "storage error %d", rc);
    }
    finish(kind, w, true);
    res->code = 201;
    return 0;
}

/* The create pipeline from a decoded object (stolen). */
static int create_object(struct registry *reg, const struct reg_req *req, json_t *obj,
                         struct reg_result *res, struct apierr *err)
{
    const struct reg_kind *kind = registry_kind(req->res);
    struct reg_write w = {.reg = reg, .req = req, .obj = obj};
    memset(res, 0, sizeof(*res));
    if (kind->defaults)
        kind->defaults(obj);
    meta_set_type(obj, req->res);
    if (check_body_namespace(req, obj, err))
        goto fail;
    const char *name = ju_meta_str(obj, "name");
    const char *generate = ju_meta_str(obj, "generateName");
    if (registry_admit_namespace(reg, req, name ? name : "", true, err))
        goto fail;
    track_fields(reg, req, NULL, obj);
    meta_prepare_create(obj, req->res->namespaced ? req->ns : NULL, util_now());
    bool generated = ju_empty(name) && !ju_empty(generate);
    for (int attempt = 0;; attempt++) {
        json_t *try_obj = json_deep_copy(obj);
        if (generated) {
            char *n = meta_generate_name(generate);
            json_object_set_new(meta_of(try_obj), "name", json_string(n));
            free(n);
        }
        w.obj = try_obj;
        int rc = create_once(&w, kind, res, err);
        json_decref(w.obj);
        if (!rc)
            break;
        if (generated && err->reason == APIERR_ALREADY_EXISTS) {
            if (attempt + 1 < GENERATE_NAME_RETRIES)
                continue;
            char *failed = xstrdup(err->name ? err->name : "");
            apierr_generate_name_conflict(err, req->res->group, req->res->plural, failed, 1);
            free(failed);
        }
        goto fail;
    }
    json_decref(obj);
    return 0;
fail:
    json_decref(obj);
    return -1;
}

int registry_create(struct registry *reg, const struct reg_req *req, json_t *obj,
                    struct reg_result *res, struct apierr *err)
{
    return create_object(reg, req, obj, res, err);
}

/* ---- update ---------------------------------------------------------------------------------- */

/* update.go: EnsureObjectNamespaceMatchesRequestNamespace, then checkName. */
static int check_update_identity(const struct reg_req *req, json_t *obj, struct apierr *err)
{
    if (check_body_namespace(req, obj, err))
        return -1;
    const char *name = ju_meta_str(obj, "name");
    if (ju_empty(name))
        return apierr_simple(err, APIERR_BAD_REQUEST,
                             "the name of the object (%s based on URL) was undeterminable: name "
                             "must be provided",
                             req->name ? req->name : "");
    if (req->name && strcmp(name, req->name))
        return apierr_simple(err, APIERR_BAD_REQUEST,
                             "the name of the object (%s) does not match the name on the URL (%s)",
                             name, req->name);
    return 0;
}

int registry_update(struct registry *reg, const struct reg_req *req, reg_update_fn fn, void *ctx,
                    struct reg_result *res, struct apierr *err)
{
    const struct reg_kind *kind = registry_kind(req->res);
    char *key = registry_key(req->res, req->ns, req->name);
    int rc = -1;
    memset(res, 0, sizeof(*res));
    for (int attempt = 0; attempt < UPDATE_RETRIES; attempt++) {
        struct store_obj *cur = store_get(reg->store, key);
        json_t *obj = NULL;
        if (fn(ctx, cur ? store_obj_json(cur) : NULL, &obj, err)) {
            store_obj_unref(cur);
            goto out;
        }
        if (check_update_identity(req, obj, err) ||
            registry_admit_namespace(reg, req, req->name, !cur, err)) {
            json_decref(obj);
            store_obj_unref(cur);
            goto out;
        }
        if (!cur) {
            if (!(kind->flags & REG_CREATE_ON_UPDATE) || is_status_request(req)) {
                json_decref(obj);
                rc = apierr_not_found(err, req->res->group, req->res->plural, req->name);
                goto out;
            }
            /* Create on update follows the create path; a resourceVersion in the body makes the
               object "not found" at that version, as upstream answers. */
            if (meta_resource_version(obj) != 0) {
                json_decref(obj);
                rc = apierr_not_found(err, req->res->group, req->res->plural, req->name);
                goto out;
            }
            rc = create_object(reg, req, obj, res, err);
            goto out;
        }
        long long want_rv = meta_resource_version(obj);
        if (want_rv < 0 || (want_rv > 0 && (uint64_t)want_rv != cur->rv)) {
            json_decref(obj);
            store_obj_unref(cur);
            rc = apierr_conflict(err, req->res->group, req->res->plural, req->name,
                                 "the object has been modified; please apply your changes to the "
                                 "latest version and try again");
            goto out;
        }
        struct reg_write w = {.reg = reg, .req = req, .obj = obj, .old = store_obj_json(cur)};
        if (kind->defaults)
            kind->defaults(obj);
        meta_set_type(obj, req->res);
        track_fields(reg, req, store_obj_json(cur), obj);
        meta_prepare_update(obj, store_obj_json(cur));
        json_object_set_new(meta_of(obj), "resourceVersion",
                            json_string(ju_meta_str(store_obj_json(cur), "resourceVersion")));
        int step = 0;
        if (is_status_request(req)) {
            if (kind->prepare_status_update)
                kind->prepare_status_update(&w);
        } else {
            step = kind->begin_update ? kind->begin_update(&w, err) : 0;
            if (!step && kind->prepare_update)
                kind->prepare_update(&w);
        }
        if (!step)
            keep_unchanged_times(reg, req, w.obj, store_obj_json(cur));
        if (step || validate(&w, kind, false, err) || canonicalize(&w, err)) {
            if (!step)
                finish(kind, &w, false);
            json_decref(w.obj);
            store_obj_unref(cur);
            goto out;
        }
        if (json_equal(w.obj, store_obj_json(cur))) {
            /* Nothing changed: no write, no new resourceVersion, no watch event. */
            finish(kind, &w, false);
            json_decref(w.obj);
            res->obj = cur;
            res->code = 200;
            res->unchanged = true;
            rc = 0;
            goto out;
        }
        if (req->dry_run) {
            finish(kind, &w, false);
            res->obj = store_obj_new(key, w.obj, cur->rv);
            store_obj_unref(cur);
            res->code = 200;
            rc = 0;
            goto out;
        }
        const json_t *new_meta = ju_obj(w.obj, "metadata");
        bool finished = json_object_get(new_meta, "deletionTimestamp") &&
                        !json_array_size(ju_arr(new_meta, "finalizers")) &&
                        ju_int(new_meta, "deletionGracePeriodSeconds", 0) == 0;
        struct store_write sw = {
            .op = STORE_OP_UPDATE, .key = key, .obj = w.obj, .expect_rv = cur->rv};
        if (finished) {
            /* The last finalizer is gone from an object being deleted: it goes now. */
            json_decref(w.obj);
            sw.op = STORE_OP_DELETE;
            sw.obj = NULL;
        }
        int src = store_write(reg->store, &sw, &res->obj, NULL);
        if (finished && src == STORE_OK && kind->after_delete)
            kind->after_delete(reg, store_obj_json(res->obj));
        store_obj_unref(cur);
        if (src == STORE_OK) {
            finish(kind, &w, true);
            res->code = 200;
            rc = 0;
            goto out;
        }
        finish(kind, &w, false);
        if (src != STORE_ERR_CONFLICT && src != STORE_ERR_NOT_FOUND) {
            rc = apierr_internal(err, "storage error %d", src);
            goto out;
        }
        /* Someone else wrote first: recompute from the new state, as GuaranteedUpdate does. A
           resourceVersion the client asked for (in a PUT body or in a patch) no longer matches
           then, and the check above answers 409; one taken from the current object follows it. */
    }
    rc = apierr_conflict(err, req->res->group, req->res->plural, req->name,
                         "the object has been modified; please apply your changes to the latest "
                         "version and try again");
out:
    free(key);
    return rc;
}

/* ---- delete ---------------------------------------------------------------------------------- */

/* The etcd key upstream's storage errors name (kube-apiserver's storage prefixes). */
static char *etcd_key(const struct api_resource *res, const char *ns, const char *name)
{
    static const struct {
        const char *group, *plural, *prefix;
    } prefixes[] = {
        {"", "services", "services/specs"},
        {"", "endpoints", "services/endpoints"},
        {"", "nodes", "minions"},
    };
    const char *prefix = res->plural;
    for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
        if (!strcmp(prefixes[i].group, res->group) && !strcmp(prefixes[i].plural, res->plural))
            prefix = prefixes[i].prefix;
    if (res->namespaced)
        return xasprintf("/registry/%s/%s/%s", prefix, ns ? ns : "", name ? name : "");
    return xasprintf("/registry/%s/%s", prefix, name ? name : "");
}

static int check_preconditions(const struct reg_req *req, const struct store_obj *cur,
                               const json_t *options, struct apierr *err)
{
    const json_t *pre = ju_obj(options, "preconditions");
    const char *uid = ju_str(pre, "uid");
    const char *rv = ju_str(pre, "resourceVersion");
    const char *cur_uid = ju_meta_str(store_obj_json(cur), "uid");
    const char *cur_rv = ju_meta_str(store_obj_json(cur), "resourceVersion");
    char *key = etcd_key(req->res, req->ns, req->name);
    char *detail = NULL;
    if (uid && strcmp(uid, cur_uid ? cur_uid : ""))
        detail = xasprintf("StorageError: invalid object, Code: 4, Key: %s, "
                           "ResourceVersion: 0, AdditionalErrorMsg: Precondition failed: UID in "
                           "precondition: %s, UID in object meta: %s",
                           key, uid, cur_uid ? cur_uid : "");
    else if (rv && strcmp(rv, cur_rv ? cur_rv : ""))
        detail = xasprintf("StorageError: invalid object, Code: 4, Key: %s, "
                           "ResourceVersion: 0, AdditionalErrorMsg: Precondition failed: "
                           "ResourceVersion in precondition: %s, ResourceVersion in object meta: "
                           "%s",
                           key, rv, cur_rv ? cur_rv : "");
    free(key);
    if (!detail)
        return 0;
    apierr_conflict(err, req->res->group, req->res->plural, req->name, detail);
    free(detail);
    return -1;
}

static bool has_string(const json_t *list, const char *s)
{
    size_t i;
    json_t *v;
    json_array_foreach (list, i, v)
        if (json_is_string(v) && !strcmp(json_string_value(v), s))
            return true;
    return false;
}

static void remove_string(json_t *list, const char *s)
{
    for (size_t i = json_array_size(list); i-- > 0;)
        if (!strcmp(json_string_value(json_array_get(list, i)) ?: "", s))
            json_array_remove(list, i);
}

/*
 * The finalizers an object should carry once deleted: its own, plus "orphan" for
 * propagationPolicy Orphan (or the legacy orphanDependents: true), "foregroundDeletion" for
 * Foreground; Background removes both (apiserver's deletionFinalizersForGarbageCollection).
 * A new array.
 */
static json_t *deletion_finalizers(const json_t *obj, const json_t *options)
{
    json_t *fins = json_deep_copy(ju_arr(ju_obj(obj, "metadata"), "finalizers"));
    if (!fins)
        fins = json_array();
    const char *policy = ju_str(options, "propagationPolicy");
    json_t *orphan = ju_get(options, "orphanDependents");
    if (!policy && json_is_boolean(orphan))
        policy = json_is_true(orphan) ? "Orphan" : "Background";
    if (policy && !strcmp(policy, "Orphan")) {
        remove_string(fins, "foregroundDeletion");
        if (!has_string(fins, "orphan"))
            json_array_append_new(fins, json_string("orphan"));
    } else if (policy && !strcmp(policy, "Foreground")) {
        remove_string(fins, "orphan");
        if (!has_string(fins, "foregroundDeletion"))
            json_array_append_new(fins, json_string("foregroundDeletion"));
    } else if (policy && !strcmp(policy, "Background")) {
        remove_string(fins, "orphan");
        remove_string(fins, "foregroundDeletion");
    }
    return fins;
}

/* Mark cur as being deleted with finalizers fins: 0 with res, 1 on a write race, -1 on err. */
static int mark_deleting(struct registry *reg, const struct reg_req *req,
                         const struct reg_kind *kind, const char *key, const struct store_obj *cur,
                         json_t *fins, struct reg_result *res, struct apierr *err)
{
    json_t *obj = json_deep_copy(store_obj_json(cur));
    json_t *meta = meta_of(obj);
    if (!json_object_get(meta, "deletionTimestamp")) {
        char ts[UTIL_RFC3339_LEN];
        util_format_time(util_now().tv_sec, ts);
        schema_set_ordered(reg->api->schema, "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta",
                           meta, "deletionTimestamp", json_string(ts));
        schema_set_ordered(reg->api->schema, "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta",
                           meta, "deletionGracePeriodSeconds", json_integer(0));
    }
    schema_set_ordered(reg->api->schema, "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta", meta,
                       "finalizers", json_incref(fins));
    (void)kind;
    if (json_equal(obj, store_obj_json(cur)) || req->dry_run) {
        res->obj = req->dry_run ? store_obj_new(key, obj, cur->rv)
                                : store_obj_ref((struct store_obj *)cur);
        if (!req->dry_run)
            json_decref(obj);
        res->code = 200;
        return 0;
    }
    struct store_write sw = {.op = STORE_OP_UPDATE, .key = key, .obj = obj, .expect_rv = cur->rv};
    int src = store_write(reg->store, &sw, &res->obj, NULL);
    if (src == STORE_ERR_CONFLICT || src == STORE_ERR_NOT_FOUND)
        return 1;
    if (src != STORE_OK)
        return apierr_internal(err, "storage error %d", src);
    res->code = 200;
    return 0;
}

int registry_delete(struct registry *reg, const struct reg_req *req, const json_t *options,
                    struct reg_result *res, struct apierr *err)
{
    const struct reg_kind *kind = registry_kind(req->res);
    char *key = registry_key(req->res, req->ns, req->name);
    int rc = -1;
    memset(res, 0, sizeof(*res));
    for (int attempt = 0; attempt < UPDATE_RETRIES; attempt++) {
        struct store_obj *cur = store_get(reg->store, key);
        if (!cur) {
            rc = apierr_not_found(err, req->res->group, req->res->plural, req->name);
            goto out;
        }
        if (check_preconditions(req, cur, options, err)) {
            store_obj_unref(cur);
            goto out;
        }
        /* Finalizers (the client's, or those the propagation policy asks for) keep the object:
           it is marked as being deleted and goes when the last finalizer is removed. */
        json_t *fins = kind->flags & REG_OWN_DELETE
                           ? json_array()
                           : deletion_finalizers(store_obj_json(cur), options);
        if (json_array_size(fins)) {
            int marked = mark_deleting(reg, req, kind, key, cur, fins, res, err);
            json_decref(fins);
            store_obj_unref(cur);
            if (marked == 1)
                continue; /* a concurrent writer: start again */
            rc = marked;
            goto out;
        }
        json_decref(fins);
        if (kind->begin_delete) {
            int handled = kind->begin_delete(reg, req, cur, options, res, err);
            if (handled <= 0) {
                store_obj_unref(cur);
                rc = handled;
                goto out;
            }
        }
        struct store_obj *deleted = NULL;
        if (req->dry_run) {
            deleted = cur;
        } else {
            struct store_write sw = {.op = STORE_OP_DELETE, .key = key, .expect_rv = cur->rv};
            int src = store_write(reg->store, &sw, &deleted, NULL);
            store_obj_unref(cur);
            if (src == STORE_ERR_CONFLICT || src == STORE_ERR_NOT_FOUND)
                continue;
            if (src != STORE_OK) {
                rc = apierr_internal(err, "storage error %d", src);
                goto out;
            }
            if (kind->after_delete)
                kind->after_delete(reg, store_obj_json(deleted));
        }
        res->code = 200;
        if (kind->flags & REG_RETURN_DELETED) {
            res->obj = deleted;
        } else {
            res->answer = apierr_success_status(req->res->group, req->res->plural, req->name,
                                                ju_meta_str(store_obj_json(deleted), "uid"));
            store_obj_unref(deleted);
        }
        rc = 0;
        goto out;
    }
    rc = apierr_conflict(err, req->res->group, req->res->plural, req->name,
                         "the object has been modified; please apply your changes to the latest "
                         "version and try again");
out:
    free(key);
    return rc;
}
