/*
 * event: the core/v1 Event strategy (kubernetes pkg/registry/core/event). Events are written by
 * clients as they are: no defaulting, no system fields beyond metadata, the count and the
 * first/last timestamps are the reporter's. Validation is the legacy core/v1 one (no ObjectMeta
 * checks beyond the generic ones); PUT may create.
 */
#include "registry_private.h"

#include "svc/util.h"
#include "svc/validate_workloads.h"

#include <jansson.h>
#include <string.h>

static void event_validate_create(struct reg_write *w, struct field_errors *errs)
{
    validate_event(errs, w->obj);
}

static void event_validate_update(struct reg_write *w, struct field_errors *errs)
{
    validate_event_update(errs, w->obj, w->old);
}

/*
 * ToSelectableFields: the involvedObject members, reason, reportingComponent (the v1 name of
 * reportingController), source (source.component, else reportingComponent) and type.
 */
static const char *const event_fields[] = {"involvedObject.kind",
                                           "involvedObject.namespace",
                                           "involvedObject.name",
                                           "involvedObject.uid",
                                           "involvedObject.apiVersion",
                                           "involvedObject.resourceVersion",
                                           "involvedObject.fieldPath",
                                           "reason",
                                           "reportingComponent",
                                           "source",
                                           "type",
                                           NULL};

static const char *event_field_value(const json_t *obj, const char *field, char *buf)
{
    (void)buf;
    static const char prefix[] = "involvedObject.";
    if (!strncmp(field, prefix, sizeof(prefix) - 1))
        return ju_str(ju_obj(obj, "involvedObject"), field + sizeof(prefix) - 1);
    if (!strcmp(field, "source")) {
        const char *component = ju_str(ju_obj(obj, "source"), "component");
        return !ju_empty(component) ? component : ju_str(obj, "reportingComponent");
    }
    if (!strcmp(field, "reason") || !strcmp(field, "reportingComponent") || !strcmp(field, "type"))
        return ju_str(obj, field);
    return NULL;
}

const struct reg_kind reg_kind_event = {
    .group = "",
    .resource = "events",
    .flags = REG_CREATE_ON_UPDATE,
    .name_rule = REG_NAME_PATH_SEGMENT,
    .validate_create = event_validate_create,
    .validate_update = event_validate_update,
    .selectable_fields = event_fields,
    .field_value = event_field_value,
};
