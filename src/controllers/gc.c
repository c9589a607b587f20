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
#include "svc/skiplist.h"
#include "svc/store.h"
#include "svc/util.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

/* Whether o names uid among its ownerReferences (objects that never mention the uid are
   answered without parsing them). */
static bool refers_to(const struct store_obj *o, const char *uid)
{
    if (!memmem(o->bytes, o->len, uid, strlen(uid)))
        return false;
    size_t i;
    json_t *ref;
    json_array_foreach (ju_arr(ju_obj(store_obj_json(o), "metadata"), "ownerReferences"), i, ref) {
        const char *u = ju_str(ref, "uid");
        if (u && !strcmp(u, uid))
            return true;
    }
    return false;
}

/* ---- the owner index ------------------------------------------------------------------------
 * "<owner uid> <store key>" for every ownerReference of every object, kept up to date from the
 * event stream, so that an owner's deletion finds its dependents without reading every object
 * (which made deleting n owners cost n^2). Entries are hints: each is checked against the
 * object as it is now before anything is done to it. */

static void index_refs(struct controllers *c, const struct store_obj *o, bool add)
{
    static const char field[] = "\"ownerReferences\"";
    if (!o || !memmem(o->bytes, o->len, field, sizeof(field) - 1))
        return;
    size_t i;
    json_t *ref;
    json_array_foreach (ju_arr(ju_obj(store_obj_json(o), "metadata"), "ownerReferences"), i, ref) {
        const char *uid = ju_str(ref, "uid");
        if (!uid)
            continue;
        char *entry = xasprintf("%s %s", uid, o->key);
        if (add)
            skiplist_put(c->owner_index, entry, (void *)1);
        else
            skiplist_remove(c->owner_index, entry);
        free(entry);
    }
}

void gc_index_event(struct controllers *c, const struct store_event *ev)
{
    index_refs(c, ev->prev, false);
    index_refs(c, ev->obj, ev->type != STORE_DELETED);
}

void gc_index_rebuild(struct controllers *c)
{
    skiplist_free(c->owner_index);
    c->owner_index = skiplist_new();
    for (size_t g = 0; g < c->api->n_gvs; g++) {
        for (size_t r = 0; r < c->api->gvs[g].n_resources; r++) {
            size_t n;
            struct store_obj **items = ctl_list(c, &c->api->gvs[g].resources[r], NULL, &n);
            for (size_t i = 0; i < n; i++)
                index_refs(c, items[i], true);
            ctl_list_free(items, n);
            store_parse_log_flush(c->store); /* the trees it parsed, when the log is on */
        }
    }
}

/* The served resource a store key belongs to (its first segment is the qualified name). */
static const struct api_resource *resource_of_key(const struct controllers *c, const char *key)
{
    for (size_t g = 0; g < c->api->n_gvs; g++)
        for (size_t r = 0; r < c->api->gvs[g].n_resources; r++) {
            const struct api_resource *x = &c->api->gvs[g].resources[r];
            size_t len = strlen(x->qualified);
            if (!strncmp(key, x->qualified, len) && key[len] == '/')
                return x;
        }
    return NULL;
}

/* The store keys the index lists under uid; an array of owned strings, *n set. */
static char **indexed_dependents(const struct controllers *c, const char *uid, size_t *n)
{
    size_t ulen = strlen(uid), alloc = 0;
    char **keys = NULL;
    *n = 0;
    for (struct skiplist_node *it = skiplist_seek(c->owner_index, uid, 0); it;
         it = skiplist_next(it)) {
        const char *entry = skiplist_node_key(it);
        if (strncmp(entry, uid, ulen) || entry[ulen] != ' ')
            break;
        if (*n == alloc) {
            alloc = alloc ? alloc * 2 : 8;
            keys = xrealloc(keys, alloc * sizeof(*keys));
        }
        keys[(*n)++] = xstrdup(entry + ulen + 1);
    }
    return keys;
}

/* Whether a dependent counts for an owner in ns ("" for a cluster-scoped owner): namespaced
   dependents of a namespaced owner must share its namespace. */
static bool in_scope(const struct api_resource *res, const json_t *dependent, const char *ns)
{
    return !res->namespaced || !*ns || !strcmp(ju_meta_str(dependent, "namespace") ?: "", ns);
}

/* Call fn for every object that refers to uid: in ns for namespaced kinds when ns is not ""
   (a namespaced owner), anywhere otherwise. Stops early, answering true, when fn is NULL. */
static bool for_dependents(struct controllers *c, const char *ns, const char *uid,
                           void (*fn)(struct controllers *, const struct api_resource *,
                                      const json_t *, const char *))
{
    size_t n;
    /* copied first: fn writes, and the index follows those writes */
    char **keys = indexed_dependents(c, uid, &n);
    bool found = false;
    for (size_t i = 0; i < n; i++) {
        const struct api_resource *res = resource_of_key(c, keys[i]);
        struct store_obj *o = res && (fn || !found) ? store_get(c->store, keys[i]) : NULL;
        if (o && refers_to(o, uid) && in_scope(res, store_obj_json(o), ns)) {
            found = true;
            if (fn)
                fn(c, res, store_obj_json(o), uid);
        }
        store_obj_unref(o);
        free(keys[i]);
    }
    free(keys);
    return found;
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
    ctl_delete(c, res, ju_meta_str(obj, "namespace"), ju_meta_str(obj, "name"), "Background", -1);
}

void gc_owner_gone(struct controllers *c, const char *ns, const char *uid)
{
    for_dependents(c, ns, uid, delete_or_release);
}

static bool has_dependents(struct controllers *c, const char *ns, const char *uid)
{
    return for_dependents(c, ns, uid, NULL);
}

void gc_finalize(struct controllers *c, const char *key)
{
    const struct api_resource *res = resource_of_key(c, key);
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
    json_array_foreach (fins, i, f) {
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
