/*
 * endpointslice: the discovery.k8s.io/v1 EndpointSlice strategy (kubernetes
 * pkg/registry/discovery/endpointslice, pkg/apis/discovery/v1 defaults). Every port gets a name
 * ("" when unnamed: kubectl 1.31+ describe needs it) and a protocol; the generation starts at 1
 * and moves on any change outside metadata, or of the labels; v1 writes drop the deprecated
 * topology of changed endpoints and hints.forNodes, whose feature gate
 * (PreferSameTrafficDistribution) is off in 1.33 unless the stored slice already uses it.
 */
#include "registry_private.h"

#include "svc/util.h"
#include "svc/validate.h"

#include <jansson.h>
#include <stdbool.h>

static void endpointslice_defaults(json_t *obj)
{
    size_t i;
    json_t *port;
    json_array_foreach (ju_arr(obj, "ports"), i, port) {
        if (!json_is_object(port))
            continue;
        json_t *name = json_object_get(port, "name");
        if (!name || json_is_null(name))
            json_object_set_new(port, "name", json_string(""));
        json_t *proto = json_object_get(port, "protocol");
        if (!proto || json_is_null(proto))
            json_object_set_new(port, "protocol", json_string("TCP"));
    }
}

static bool uses_for_nodes(const json_t *slice)
{
    size_t i;
    json_t *ep;
    json_array_foreach (ju_arr(slice, "endpoints"), i, ep) {
        if (json_object_get(ju_obj(ep, "hints"), "forNodes"))
            return true;
    }
    return false;
}

static void drop_for_nodes(json_t *slice)
{
    size_t i;
    json_t *ep;
    json_array_foreach (ju_arr(slice, "endpoints"), i, ep) {
        json_t *hints = ju_obj(ep, "hints");
        if (hints)
            json_object_del(hints, "forNodes");
    }
}

/* dropTopologyOnV1: writes through v1 clear deprecatedTopology. */
static void drop_topology(json_t *slice)
{
    size_t i;
    json_t *ep;
    json_array_foreach (ju_arr(slice, "endpoints"), i, ep) {
        if (json_is_object(ep))
            json_object_del(ep, "deprecatedTopology");
    }
}

static void endpointslice_prepare_create(struct reg_write *w)
{
    drop_for_nodes(w->obj);
    drop_topology(w->obj);
}

/* obj without metadata, kind and apiVersion, in stored form: what the generation follows. */
static json_t *content(struct reg_write *w, const json_t *obj)
{
    json_t *c = registry_canonicalize(w->reg, w->req->res, obj, NULL);
    if (!c)
        c = json_deep_copy(obj);
    json_object_del(c, "metadata");
    json_object_del(c, "kind");
    json_object_del(c, "apiVersion");
    return c;
}

static void endpointslice_prepare_update(struct reg_write *w)
{
    if (!uses_for_nodes(w->old))
        drop_for_nodes(w->obj);
    json_t *now = content(w, w->obj), *before = content(w, w->old);
    if (!json_equal(json_object_get(now, "endpoints"), json_object_get(before, "endpoints")))
        drop_topology(w->obj);
    json_decref(now);
    now = content(w, w->obj);
    const json_t *labels = ju_obj(ju_obj(w->obj, "metadata"), "labels");
    const json_t *old_labels = ju_obj(ju_obj(w->old, "metadata"), "labels");
    bool labels_same = (!labels || !json_object_size(labels))
                           ? (!old_labels || !json_object_size(old_labels))
                           : old_labels && json_equal((json_t *)labels, (json_t *)old_labels);
    if (!json_equal(now, before) || !labels_same) {
        long long gen = ju_int(ju_obj(w->old, "metadata"), "generation", 0);
        json_object_set_new(meta_of(w->obj), "generation", json_integer(gen + 1));
    }
    json_decref(now);
    json_decref(before);
}

static void endpointslice_validate_create(struct reg_write *w, struct field_errors *errs)
{
    validate_endpointslice(errs, w->obj);
}

static void endpointslice_validate_update(struct reg_write *w, struct field_errors *errs)
{
    validate_endpointslice_update(errs, w->obj, w->old);
}

const struct reg_kind reg_kind_endpointslice = {
    .group = "discovery.k8s.io",
    .resource = "endpointslices",
    .flags = REG_HAS_GENERATION,
    .name_rule = REG_NAME_DNS1123_SUBDOMAIN,
    .defaults = endpointslice_defaults,
    .prepare_create = endpointslice_prepare_create,
    .prepare_update = endpointslice_prepare_update,
    .validate_create = endpointslice_validate_create,
    .validate_update = endpointslice_validate_update,
};
