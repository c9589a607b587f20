/*
 * gc: garbage collection by ownerReferences (kubernetes pkg/controller/garbagecollector):
 * when an owner is gone, dependents that have no other owner are deleted (Background) and
 * those with others only lose the reference; an owner being deleted with the "orphan"
 * finalizer first has its dependents released, one with "foregroundDeletion" first has its
 * dependents deleted, and then the finalizer is removed so the owner goes.
 */
#include "ctl.h"

#include "svc/api.h"
#include "svc/registry.h"
#include "svc/store.h"
#include "svc/util.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static bool refers_to(const json_t *obj, const char *uid)
{
    size_t i;
    json_t *ref;
    json_array_foreach(ju_arr(ju_obj(obj, "metadata"), "ownerReferences"), i, ref) {
        const char *u = ju_str(ref, "uid");
        if (u && !strcmp(u, uid))
            return true;
    }
    return false;
}

/* Call fn for every object in ns (every namespace when ns is "") that refers to uid. */
static void for_dependents(struct controllers *c, const char *ns, const char *uid,
                           void (*fn)(struct controllers *, const struct api_resource *,
                                      const json_t *, const char *))
{
    for (size_t g = 0; g < c->api->n_gvs; g++) {
        for (size_t r = 0; r < c->api->gvs[g].n_resources; r++) {
            const struct api_resource *res = &c->api->gvs[g].resources[r];
            size_t n;
            struct store_obj **items = ctl_list(c, res, res->namespaced && *ns ? ns : NULL, &n);
            for (size_t i = 0; i < n; i++)
                if (refers_to(store_obj_json(items[i]), uid))
                    fn(c, res, store_obj_json(items[i]), uid);
            ctl_list_free(items, n);
        }
    }
}

static void drop_ref(struct controllers *c, const struct api_resource *res, const json_t *obj,
                     const char *uid)
{
    json_t *o = json_deep_copy(obj);
    json_t *refs = ju_arr(ju_obj(o, "metadata"), "ownerReferences");
    for (size_t i = json_array_size(refs); i-- > 0;)
        if (!strcmp(ju_str(json_array_get(refs, i), "uid") ?: "", uid))
            json_array_remove(refs, i);
    if (!json_array_size(refs))
        json_object_del(ju_obj(o, "metadata"), "ownerReferences");
    ctl_update(c, res, o, NULL, "generic-garbage-collector", false);
}

static void delete_or_release(struct controllers *c, const struct api_resource *res,
                              const json_t *obj, const char *uid)
{
    /* With other owners left, only the dangling reference goes. */
    if (json_array_size(ju_arr(ju_obj(obj, "metadata"), "ownerReferences")) > 1) {
        drop_ref(c, res, obj, uid);
        return;
    }
    ctl_delete(c, res, ju_meta_str(obj, "namespace"), ju_meta_str(obj, "name"), "Background",
               -1);
}

void gc_owner_gone(struct controllers *c, const char *ns, const char *uid)
{
    for_dependents(c, ns, uid, delete_or_release);
}

static bool has_dependents(struct controllers *c, const char *ns, const char *uid)
{
    for (size_t g = 0; g < c->api->n_gvs; g++) {
        for (size_t r = 0; r < c->api->gvs[g].n_resources; r++) {
            const struct api_resource *res = &c->api->gvs[g].resources[r];
            size_t n;
            struct store_obj **items = ctl_list(c, res, res->namespaced && *ns ? ns : NULL, &n);
            bool found = false;
            for (size_t i = 0; i < n && !found; i++)
                found = refers_to(store_obj_json(items[i]), uid);
            ctl_list_free(items, n);
            if (found)
                return true;
        }
    }
    return false;
}

void gc_finalize(struct controllers *c, const char *key)
{
    /* key is a store key: find the resource by its qualified name. */
    const struct api_resource *res = NULL;
    for (size_t g = 0; g < c->api->n_gvs && !res; g++)
        for (size_t r = 0; r < c->api->gvs[g].n_resources; r++) {
            const struct api_resource *x = &c->api->gvs[g].resources[r];
            size_t len = strlen(x->qualified);
            if (!strncmp(key, x->qualified, len) && key[len] == '/')
                res = x;
        }
    if (!res)
        return;
    struct store_obj *o = store_get(c->store, key);
    if (!o)
        return;
    const json_t *obj = store_obj_json(o);
    const json_t *fins = ju_arr(ju_obj(obj, "metadata"), "finalizers");
    const char *uid = ju_meta_str(obj, "uid");
    const char *ns = ju_meta_str(obj, "namespace");
    if (!ju_meta_str(obj, "deletionTimestamp") || !uid) {
        store_obj_unref(o);
        return;
    }
    bool orphan = false, foreground = false;
    size_t i;
    json_t *f;
    json_array_foreach(fins, i, f) {
        orphan |= !strcmp(json_string_value(f) ?: "", "orphan");
        foreground |= !strcmp(json_string_value(f) ?: "", "foregroundDeletion");
    }
    if (orphan) {
        for_dependents(c, ns ? ns : "", uid, drop_ref);
        ctl_remove_finalizer(c, res, obj, "orphan", "generic-garbage-collector");
    } else if (foreground) {
        if (has_dependents(c, ns ? ns : "", uid))
            for_dependents(c, ns ? ns : "", uid, delete_or_release);
        else
            ctl_remove_finalizer(c, res, obj, "foregroundDeletion", "generic-garbage-collector");
    }
    store_obj_unref(o);
}
