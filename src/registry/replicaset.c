/*
 * replicaset: the apps/v1 ReplicaSet strategy (kubernetes pkg/registry/apps/replicaset,
 * pkg/apis/apps/v1 defaults): one replica by default, the pod template defaulted as a PodSpec,
 * status wiped on create and kept on spec updates, the generation bumped on spec changes, and
 * the selector immutable. The scale subresource is not here (the REST layer serves it).
 */
#include "registry_private.h"

#include "svc/apierr.h"
#include "svc/util.h"
#include "svc/validate_workloads.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void replicaset_defaults(json_t *obj)
{
    json_t *spec = ju_ensure_obj(obj, "spec");
    json_t *replicas = json_object_get(spec, "replicas");
    if (!replicas || json_is_null(replicas))
        json_object_set_new(spec, "replicas", json_integer(1));
    json_t *tmpl = json_object_get(spec, "template");
    if (json_is_object(tmpl))
        validate_default_pod_spec(ju_ensure_obj(tmpl, "spec"), false);
}

static int check_quantities(struct reg_write *w, struct apierr *err)
{
    const char *msg = NULL;
    const json_t *tspec = ju_obj(ju_obj(ju_obj(w->obj, "spec"), "template"), "spec");
    if (!validate_pod_spec_bad_quantity(tspec, &msg))
        return 0;
    return apierr_simple(err, APIERR_BAD_REQUEST,
                         "ReplicaSet in version \"v1\" cannot be handled as a ReplicaSet: %s", msg);
}

static int replicaset_begin_create(struct reg_write *w, struct apierr *err)
{
    return check_quantities(w, err);
}

static int replicaset_begin_update(struct reg_write *w, struct apierr *err)
{
    return check_quantities(w, err);
}

static void replicaset_prepare_create(struct reg_write *w)
{
    json_object_set_new(w->obj, "status", json_object());
}

static void replicaset_prepare_update(struct reg_write *w)
{
    json_t *status = json_object_get(w->old, "status");
    json_object_set_new(w->obj, "status", status ? json_deep_copy(status) : json_object());
    /* Any change of the spec is a new generation; compare in the stored form, where absent and
       empty values are spelled alike. */
    json_t *c = registry_canonicalize(w->reg, w->req->res, w->obj, NULL);
    const json_t *spec = c ? json_object_get(c, "spec") : json_object_get(w->obj, "spec");
    if (!json_equal((json_t *)spec, json_object_get(w->old, "spec"))) {
        long long gen = ju_int(ju_obj(w->old, "metadata"), "generation", 0);
        json_object_set_new(meta_of(w->obj), "generation", json_integer(gen + 1));
    }
    json_decref(c);
}

static void replicaset_prepare_status_update(struct reg_write *w)
{
    json_t *spec = json_object_get(w->old, "spec");
    json_object_set_new(w->obj, "spec", spec ? json_deep_copy(spec) : json_object());
}

/* Append a warning once (validation may run again when a generated name collides). */
static void add_warning(struct reg_write *w, const char *text)
{
    if (!w->req->warnings)
        return;
    size_t i;
    json_t *v;
    json_array_foreach (w->req->warnings, i, v) {
        if (json_is_string(v) && !strcmp(json_string_value(v), text))
            return;
    }
    json_array_append_new(w->req->warnings, json_string(text));
}

static void replicaset_validate_create(struct reg_write *w, struct field_errors *errs)
{
    char *warning =
        validate_name_dns_label_warning(ju_meta_str(w->obj, "name"), "Pod names and hostnames");
    if (warning)
        add_warning(w, warning);
    free(warning);
    validate_replicaset(errs, w->obj);
}

static void replicaset_validate_update(struct reg_write *w, struct field_errors *errs)
{
    json_t *c = registry_canonicalize(w->reg, w->req->res, w->obj, NULL);
    validate_replicaset_update(errs, c ? c : w->obj, w->old);
    json_decref(c);
}

static void replicaset_validate_status_update(struct reg_write *w, struct field_errors *errs)
{
    validate_replicaset_status_update(errs, w->obj, w->old);
}

static const char *const replicaset_fields[] = {"status.replicas", NULL};

static const char *replicaset_field_value(const json_t *obj, const char *field, char *buf)
{
    if (!strcmp(field, "status.replicas")) {
        snprintf(buf, 64, "%lld", ju_int(ju_obj(obj, "status"), "replicas", 0));
        return buf;
    }
    return NULL;
}

const struct reg_kind reg_kind_replicaset = {
    .group = "apps",
    .resource = "replicasets",
    .flags = REG_HAS_GENERATION | REG_STATUS_RESET_ON_CREATE | REG_UPDATE_KEEPS_STATUS,
    .name_rule = REG_NAME_DNS1123_SUBDOMAIN,
    .defaults = replicaset_defaults,
    .prepare_create = replicaset_prepare_create,
    .prepare_update = replicaset_prepare_update,
    .begin_create = replicaset_begin_create,
    .begin_update = replicaset_begin_update,
    .validate_create = replicaset_validate_create,
    .validate_update = replicaset_validate_update,
    .prepare_status_update = replicaset_prepare_status_update,
    .validate_status_update = replicaset_validate_status_update,
    .selectable_fields = replicaset_fields,
    .field_value = replicaset_field_value,
};
