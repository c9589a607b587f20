/*
 * endpoints: the Endpoints strategy (kubernetes pkg/registry/core/endpoint): v1 defaulting of
 * port protocols and the Endpoints validation of the validate module.
 */
#include "registry_private.h"

#include "svc/util.h"
#include "svc/validate.h"

#include <jansson.h>

static void endpoints_defaults(json_t *obj)
{
    size_t i, j;
    json_t *subset, *port;
    json_array_foreach (ju_arr(obj, "subsets"), i, subset) {
        json_array_foreach (ju_arr(subset, "ports"), j, port) {
            if (json_is_object(port) && ju_empty(ju_str(port, "protocol")))
                json_object_set_new(port, "protocol", json_string("TCP"));
        }
    }
}

static void endpoints_validate_create(struct reg_write *w, struct field_errors *errs)
{
    validate_endpoints(errs, w->obj);
}

static void endpoints_validate_update(struct reg_write *w, struct field_errors *errs)
{
    validate_endpoints_update(errs, w->obj, w->old);
}

const struct reg_kind reg_kind_endpoints = {
    .group = "",
    .resource = "endpoints",
    .flags = REG_CREATE_ON_UPDATE,
    .name_rule = REG_NAME_DNS1123_SUBDOMAIN,
    .defaults = endpoints_defaults,
    .validate_create = endpoints_validate_create,
    .validate_update = endpoints_validate_update,
};
