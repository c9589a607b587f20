/*
 * service: the Service strategy (kubernetes pkg/registry/core/service).
 * Stage one: v1 defaulting and the allocator state's configuration; allocation and validation
 * follow.
 */
#include "registry_private.h"

#include "svc/apierr.h"
#include "svc/util.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct service_state {
    char first_ip[64];
};

struct service_state *service_state_new(const struct registry_config *cfg, struct apierr *err)
{
    (void)err;
    struct service_state *st = xcalloc(1, sizeof(*st));
    unsigned a, b, c, d;
    const char *range = cfg->service_cluster_ip_range ? cfg->service_cluster_ip_range
                                                      : "10.96.0.0/12";
    if (sscanf(range, "%u.%u.%u.%u/", &a, &b, &c, &d) == 4)
        snprintf(st->first_ip, sizeof(st->first_ip), "%u.%u.%u.%u", a, b, c, d + 1);
    return st;
}

void service_state_free(struct service_state *st)
{
    free(st);
}

const char *service_first_ip(const struct service_state *st)
{
    return st->first_ip[0] ? st->first_ip : NULL;
}

static void service_defaults(json_t *obj)
{
    json_t *spec = ju_ensure_obj(obj, "spec");
    if (ju_empty(ju_str(spec, "sessionAffinity")))
        json_object_set_new(spec, "sessionAffinity", json_string("None"));
    if (ju_empty(ju_str(spec, "type")))
        json_object_set_new(spec, "type", json_string("ClusterIP"));
    size_t i;
    json_t *port;
    json_array_foreach(ju_arr(spec, "ports"), i, port) {
        if (!json_is_object(port))
            continue;
        if (ju_empty(ju_str(port, "protocol")))
            json_object_set_new(port, "protocol", json_string("TCP"));
        json_t *tp = json_object_get(port, "targetPort");
        if (!tp || (json_is_integer(tp) && json_integer_value(tp) == 0) ||
            (json_is_string(tp) && !*json_string_value(tp)))
            json_object_set(port, "targetPort", json_object_get(port, "port"));
    }
}

const struct reg_kind reg_kind_service = {
    .group = "",
    .resource = "services",
    .flags = REG_CREATE_ON_UPDATE | REG_RETURN_DELETED,
    .name_rule = REG_NAME_DNS1035_LABEL,
    .defaults = service_defaults,
};
