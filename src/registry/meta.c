/*
 * meta: ObjectMeta bookkeeping common to every kind (apiserver pkg/registry/rest/create.go and
 * update.go): system fields on create, carried-over fields on update, generateName.
 */
#include "registry_private.h"

#include "svc/api.h"
#include "svc/util.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

json_t *meta_of(json_t *obj)
{
    return ju_ensure_obj(obj, "metadata");
}

void meta_set_type(json_t *obj, const struct api_resource *res)
{
    /* Re-insert so that kind and apiVersion come first, as Go's TypeMeta does. */
    json_t *copy = json_copy(obj);
    json_object_clear(obj);
    json_object_set_new(obj, "kind", json_string(res->kind));
    json_object_set_new(obj, "apiVersion", json_string(res->group_version));
    const char *key;
    json_t *v;
    json_object_foreach (copy, key, v) {
        if (strcmp(key, "kind") && strcmp(key, "apiVersion"))
            json_object_set(obj, key, v);
    }
    json_decref(copy);
}

void meta_prepare_create(json_t *obj, const char *ns, struct timespec now)
{
    json_t *meta = meta_of(obj);
    char uid[37], ts[UTIL_RFC3339_LEN];
    json_object_del(meta, "deletionTimestamp");
    json_object_del(meta, "deletionGracePeriodSeconds");
    json_object_del(meta, "selfLink");
    if (ns)
        json_object_set_new(meta, "namespace", json_string(ns));
    util_uuid_v4(uid);
    util_format_time(now.tv_sec, ts);
    json_object_set_new(meta, "uid", json_string(uid));
    json_object_set_new(meta, "creationTimestamp", json_string(ts));
}

void meta_prepare_update(json_t *obj, const json_t *old)
{
    json_t *meta = meta_of(obj);
    const json_t *old_meta = ju_obj(old, "metadata");
    /* An empty uid is filled from the stored object; a different one fails validation. */
    if (ju_empty(ju_str(meta, "uid")))
        ju_copy_member(meta, old_meta, "uid");
    /* creationTimestamp and generation are the server's; the deletion fields only ever move
       through delete. */
    ju_copy_member(meta, old_meta, "creationTimestamp");
    ju_copy_member(meta, old_meta, "generation");
    ju_copy_member(meta, old_meta, "deletionTimestamp");
    ju_copy_member(meta, old_meta, "deletionGracePeriodSeconds");
    json_object_del(meta, "selfLink");
}

char *meta_generate_name(const char *base)
{
    char suffix[6];
    util_random_name_suffix(suffix);
    size_t n = strlen(base);
    if (n > 58) /* maxNameLength 63 minus the 5 random characters */
        n = 58;
    return xasprintf("%.*s%s", (int)n, base, suffix);
}

long long meta_resource_version(const json_t *obj)
{
    const char *rv = ju_meta_str(obj, "resourceVersion");
    if (ju_empty(rv))
        return 0;
    char *end;
    long long v = strtoll(rv, &end, 10);
    return *end || v < 0 ? -1 : v;
}
