/*
 * namespace: the Namespace strategy (kubernetes pkg/registry/core/namespace and the
 * NamespaceLifecycle admission plugin).
 *
 * Deleting a namespace marks it Terminating and then removes everything in it and finally the
 * namespace itself. Upstream the namespace controller does the removal asynchronously; here the
 * DELETE does it before answering, so the end state is the same and a client that waits (as
 * kubectl does) sees the namespace gone at once. The answer is the Terminating namespace, as
 * upstream answers.
 */
#include "registry_private.h"

#include "svc/api.h"
#include "svc/apierr.h"
#include "svc/schema.h"
#include "svc/store.h"
#include "svc/util.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static void namespace_defaults(json_t *obj)
{
    /* SetDefaults_Namespace: every named namespace carries its name as a label. */
    const char *name = ju_meta_str(obj, "name");
    if (!ju_empty(name)) {
        json_t *labels = ju_ensure_obj(meta_of(obj), "labels");
        json_object_set_new(labels, "kubernetes.io/metadata.name", json_string(name));
    }
    json_t *status = ju_ensure_obj(obj, "status");
    if (ju_empty(ju_str(status, "phase")))
        json_object_set_new(status, "phase", json_string("Active"));
}

static void namespace_prepare_create(struct reg_write *w)
{
    json_t *spec = ju_ensure_obj(w->obj, "spec");
    json_object_set_new(spec, "finalizers", json_pack("[s]", "kubernetes"));
    json_object_set_new(w->obj, "status", json_pack("{s:s}", "phase", "Active"));
    /* generateName: the label is set once the name is known (Canonicalize upstream). */
    const char *name = ju_meta_str(w->obj, "name");
    if (!ju_empty(name))
        json_object_set_new(ju_ensure_obj(meta_of(w->obj), "labels"), "kubernetes.io/metadata.name",
                            json_string(name));
}

static void namespace_prepare_update(struct reg_write *w)
{
    /* Spec and status of a namespace only change through finalize and status. */
    json_object_set(w->obj, "spec", json_object_get(w->old, "spec"));
    json_object_set(w->obj, "status", json_object_get(w->old, "status"));
}

static void namespace_prepare_status_update(struct reg_write *w)
{
    json_object_set(w->obj, "spec", json_object_get(w->old, "spec"));
}

/* Delete every namespaced object in ns through the registry, so side effects run. */
static void delete_contents(struct registry *reg, const char *ns)
{
    const struct api *api = registry_api(reg);
    for (size_t g = 0; g < api->n_gvs; g++) {
        for (size_t r = 0; r < api->gvs[g].n_resources; r++) {
            const struct api_resource *res = &api->gvs[g].resources[r];
            if (!res->namespaced)
                continue;
            char *prefix = registry_prefix(res, ns);
            struct store_list_opts lo = {.prefix = prefix};
            struct store_list_result lr;
            store_list(registry_store(reg), &lo, &lr);
            for (size_t i = 0; i < lr.n; i++) {
                struct reg_req req = {
                    .res = res, .ns = ns, .name = ju_meta_str(store_obj_json(lr.items[i]), "name")};
                struct reg_result out;
                struct apierr err;
                apierr_init(&err);
                if (!registry_delete(reg, &req, NULL, &out, &err))
                    reg_result_release(&out);
                apierr_release(&err);
            }
            store_list_result_release(&lr);
            free(prefix);
        }
    }
}

static int namespace_begin_delete(struct registry *reg, const struct reg_req *req,
                                  const struct store_obj *cur, const json_t *options,
                                  struct reg_result *res, struct apierr *err)
{
    (void)options;
    static const char *const immortal[] = {"default", "kube-system", "kube-public"};
    for (size_t i = 0; i < sizeof(immortal) / sizeof(immortal[0]); i++)
        if (!strcmp(req->name, immortal[i]))
            return apierr_forbidden(err, "", "namespaces", req->name,
                                    "this namespace may not be deleted");
    if (req->dry_run) {
        res->obj = store_obj_ref((struct store_obj *)cur);
        res->code = 200;
        return 0;
    }
    /* Mark it Terminating (the state a client sees in the answer), as the namespace registry
       does: deletionTimestamp and the phase, nothing else. */
    json_t *term = json_deep_copy(store_obj_json(cur));
    json_t *meta = meta_of(term);
    if (!json_object_get(meta, "deletionTimestamp")) {
        char ts[UTIL_RFC3339_LEN];
        util_format_time(util_now().tv_sec, ts);
        schema_set_ordered(registry_api(reg)->schema,
                           "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta", meta,
                           "deletionTimestamp", json_string(ts));
    }
    json_object_set_new(ju_ensure_obj(term, "status"), "phase", json_string("Terminating"));
    char *key = registry_key(req->res, NULL, req->name);
    struct store_obj *marked = NULL;
    if (json_equal(term, store_obj_json(cur))) {
        json_decref(term);
        marked = store_obj_ref((struct store_obj *)cur);
    } else {
        struct store_write sw = {
            .op = STORE_OP_UPDATE, .key = key, .obj = term, .expect_rv = cur->rv};
        int rc = store_write(registry_store(reg), &sw, &marked, NULL);
        if (rc != STORE_OK) {
            free(key);
            if (rc == STORE_ERR_CONFLICT || rc == STORE_ERR_NOT_FOUND)
                return apierr_conflict(err, "", "namespaces", req->name,
                                       "the object has been modified; please apply your changes "
                                       "to the latest version and try again");
            return apierr_internal(err, "storage error %d", rc);
        }
    }
    delete_contents(reg, req->name);
    /* The namespace controller's last step: with the content gone it removes the namespace,
       unless finalizers of others still hold it (it stays Terminating until they go). */
    if (!json_array_size(ju_arr(ju_obj(store_obj_json(marked), "metadata"), "finalizers"))) {
        struct store_write del = {.op = STORE_OP_DELETE, .key = key};
        store_write(registry_store(reg), &del, NULL, NULL);
    }
    free(key);
    res->obj = marked;
    res->code = 200;
    return 0;
}

static const char *const namespace_fields[] = {"status.phase", NULL};

static const char *namespace_field_value(const json_t *obj, const char *field, char *buf)
{
    (void)buf;
    if (!strcmp(field, "status.phase"))
        return ju_str(ju_obj(obj, "status"), "phase");
    return NULL;
}

const struct reg_kind reg_kind_namespace = {
    .group = "",
    .resource = "namespaces",
    .flags = REG_RETURN_DELETED | REG_OWN_DELETE,
    .name_rule = REG_NAME_DNS1123_LABEL,
    .defaults = namespace_defaults,
    .prepare_create = namespace_prepare_create,
    .prepare_update = namespace_prepare_update,
    .prepare_status_update = namespace_prepare_status_update,
    .begin_delete = namespace_begin_delete,
    .selectable_fields = namespace_fields,
    .field_value = namespace_field_value,
};
