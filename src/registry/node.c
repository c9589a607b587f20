/*
 * node: the Node strategy (kubernetes pkg/registry/core/node, pkg/apis/core/v1 defaults and
 * conversion). Nodes are cluster-scoped; the kubelet registers one with its status, so create
 * keeps the status; spec updates keep the stored status and status updates the stored spec;
 * podCIDR and providerID are set once. v1 has both spec.podCIDR and spec.podCIDRs: conversion
 * keeps podCIDR equal to podCIDRs[0] and fills podCIDRs from podCIDR when only that is given.
 */
#include "registry_private.h"

#include "svc/apierr.h"
#include "svc/util.h"
#include "svc/validate_workloads.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

/* Quantities of a Node's status, written canonically (SetDefaults_ResourceList). */
static void normalize_list(json_t *list)
{
    const char *key;
    json_t *v;
    if (!json_is_object(list))
        return;
    json_object_foreach (list, key, v) {
        char buf[64], out[VALIDATE_QUANTITY_STRLEN];
        const char *s = json_string_value(v);
        if (!s && json_is_integer(v)) {
            snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
            s = buf;
        }
        if (s && !validate_quantity_normalize(s, out, NULL))
            json_object_set_new(list, key, json_string(out));
    }
}

static void node_defaults(json_t *obj)
{
    json_t *spec = ju_ensure_obj(obj, "spec");
    json_t *cidrs = ju_arr(spec, "podCIDRs");
    const char *cidr = ju_str(spec, "podCIDR");
    if (!json_array_size(cidrs) && !ju_empty(cidr))
        json_object_set_new(spec, "podCIDRs", json_pack("[s]", cidr));
    cidrs = ju_arr(spec, "podCIDRs");
    if (json_array_size(cidrs) && json_is_string(json_array_get(cidrs, 0)))
        json_object_set(spec, "podCIDR", json_array_get(cidrs, 0));
    json_t *status = ju_obj(obj, "status");
    if (!status)
        return;
    /* SetDefaults_NodeStatus: allocatable defaults to capacity. */
    json_t *capacity = json_object_get(status, "capacity");
    json_t *allocatable = json_object_get(status, "allocatable");
    if ((!allocatable || json_is_null(allocatable)) && json_is_object(capacity))
        json_object_set_new(status, "allocatable", json_deep_copy(capacity));
    normalize_list(ju_obj(status, "capacity"));
    normalize_list(ju_obj(status, "allocatable"));
}

static int check_quantities(struct reg_write *w, struct apierr *err)
{
    const char *msg = NULL;
    if (!validate_node_bad_quantity(w->obj, &msg))
        return 0;
    return apierr_simple(err, APIERR_BAD_REQUEST,
                         "Node in version \"v1\" cannot be handled as a Node: %s", msg);
}

static int node_begin_create(struct reg_write *w, struct apierr *err)
{
    return check_quantities(w, err);
}

static int node_begin_update(struct reg_write *w, struct apierr *err)
{
    return check_quantities(w, err);
}

static void node_prepare_update(struct reg_write *w)
{
    json_t *status = json_object_get(w->old, "status");
    json_object_set_new(w->obj, "status", status ? json_deep_copy(status) : json_object());
}

static void node_prepare_status_update(struct reg_write *w)
{
    json_t *spec = json_object_get(w->old, "spec");
    json_object_set_new(w->obj, "spec", spec ? json_deep_copy(spec) : json_object());
}

static void node_validate_create(struct reg_write *w, struct field_errors *errs)
{
    validate_node(errs, w->obj);
}

static void node_validate_update(struct reg_write *w, struct field_errors *errs)
{
    validate_node_update(errs, w->obj, w->old);
}

/* NodeToSelectableFields: spec.unschedulable as strconv.FormatBool writes it. */
static const char *const node_fields[] = {"spec.unschedulable", NULL};

static const char *node_field_value(const json_t *obj, const char *field, char *buf)
{
    (void)buf;
    if (!strcmp(field, "spec.unschedulable"))
        return ju_bool(ju_obj(obj, "spec"), "unschedulable", false) ? "true" : "false";
    return NULL;
}

const struct reg_kind reg_kind_node = {
    .group = "",
    .resource = "nodes",
    .flags = REG_UPDATE_KEEPS_STATUS,
    .name_rule = REG_NAME_DNS1123_SUBDOMAIN,
    .defaults = node_defaults,
    .prepare_update = node_prepare_update,
    .begin_create = node_begin_create,
    .begin_update = node_begin_update,
    .validate_create = node_validate_create,
    .validate_update = node_validate_update,
    .prepare_status_update = node_prepare_status_update,
    .validate_status_update = node_validate_update,
    .selectable_fields = node_fields,
    .field_value = node_field_value,
};
