/*
 * lease: the coordination.k8s.io/v1 Lease strategy (kubernetes pkg/registry/coordination/lease
 * and pkg/apis/coordination/validation). Namespaced, PUT may create, no status. The coordinated
 * leader election fields (strategy, preferredHolder) sit behind a feature gate that 1.33 leaves
 * off, so they are dropped on create and kept as they were on update.
 */
#include "registry_private.h"

#include "svc/field_error.h"
#include "svc/util.h"
#include "svc/validate.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static void lease_prepare_create(struct reg_write *w)
{
    json_t *spec = json_object_get(w->obj, "spec");
    json_object_del(spec, "strategy");
    json_object_del(spec, "preferredHolder");
}

static void lease_prepare_update(struct reg_write *w)
{
    /* dropDisabledFields: a gated field may stay only when the old object already used it. */
    json_t *spec = ju_ensure_obj(w->obj, "spec");
    const json_t *old_spec = ju_obj(w->old, "spec");
    static const char *const gated[] = {"strategy", "preferredHolder"};
    for (size_t i = 0; i < 2; i++) {
        if (!json_object_get(old_spec, gated[i]))
            json_object_del(spec, gated[i]);
    }
}

/* ValidateLeaseSpec. */
static void validate_lease_spec(struct field_errors *errs, const json_t *spec)
{
    const json_t *d = json_object_get(spec, "leaseDurationSeconds");
    if (json_is_integer(d) && json_integer_value(d) <= 0)
        fe_invalid_int(errs, "spec.leaseDurationSeconds", json_integer_value(d),
                       "must be greater than 0");
    const json_t *t = json_object_get(spec, "leaseTransitions");
    if (json_is_integer(t) && json_integer_value(t) < 0)
        fe_invalid_int(errs, "spec.leaseTransitions", json_integer_value(t),
                       "must be greater than or equal to 0");
    /* ValidateCoordinatedLeaseStrategy: a built-in name, or a qualified "domain/name". */
    const char *strategy = ju_str(spec, "strategy");
    if (strategy && !strchr(strategy, '/') && strcmp(strategy, "OldestEmulationVersion")) {
        static const char *const known[] = {"OldestEmulationVersion"};
        char *q = fe_quote(strategy);
        fe_not_supported(errs, "spec.strategy", q, known, 1);
        free(q);
    } else if (strategy && strchr(strategy, '/')) {
        validate_qualified_name_field(errs, "spec.strategy", strategy);
    }
    if (!ju_empty(ju_str(spec, "preferredHolder")) && ju_empty(strategy))
        fe_forbidden(errs, "spec.preferredHolder",
                     "may only be specified if `strategy` is defined");
}

static void lease_validate_create(struct reg_write *w, struct field_errors *errs)
{
    validate_object_meta(errs, "metadata", ju_obj(w->obj, "metadata"), true,
                         validate_name_is_dns_subdomain);
    validate_lease_spec(errs, ju_obj(w->obj, "spec"));
}

static void lease_validate_update(struct reg_write *w, struct field_errors *errs)
{
    validate_object_meta_update(errs, "metadata", ju_obj(w->obj, "metadata"),
                                ju_obj(w->old, "metadata"));
    validate_lease_spec(errs, ju_obj(w->obj, "spec"));
}

const struct reg_kind reg_kind_lease = {
    .group = "coordination.k8s.io",
    .resource = "leases",
    .flags = REG_CREATE_ON_UPDATE,
    .name_rule = REG_NAME_DNS1123_SUBDOMAIN,
    .prepare_create = lease_prepare_create,
    .prepare_update = lease_prepare_update,
    .validate_create = lease_validate_create,
    .validate_update = lease_validate_update,
};
