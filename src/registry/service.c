/*
 * service: the Service strategy (kubernetes pkg/registry/core/service, pkg/apis/core/v1
 * defaults, pkg/api/service warnings), plugged into the generic pipeline: v1 defaulting,
 * allocation through service_alloc.c, status handling, the wiping of type-dependent fields on
 * update, validation through the validate module, and the side effects of delete (release the
 * addresses and ports, delete the Endpoints of the same name).
 */
#include "service_private.h"

#include "svc/api.h"
#include "svc/apierr.h"
#include "svc/ipalloc.h"
#include "svc/portalloc.h"
#include "svc/store.h"
#include "svc/strbuf.h"
#include "svc/util.h"
#include "svc/validate.h"
#include "svc/validate_service.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- allocator state ------------------------------------------------------------------------- */

struct service_state *service_state_new(const struct registry_config *cfg, struct apierr *err)
{
    struct service_state *st = xcalloc(1, sizeof(*st));
    char *msg = NULL;
    const char *range =
        cfg->service_cluster_ip_range ? cfg->service_cluster_ip_range : "10.96.0.0/12";
    if (cidr_parse_service_cluster_ip_range(range, &st->ranges, &msg)) {
        apierr_simple(err, APIERR_BAD_REQUEST, "invalid --service-cluster-ip-range: %s",
                      msg ? msg : range);
        free(msg);
        free(st);
        return NULL;
    }
    struct portalloc_range pr;
    if (portalloc_parse_range(cfg->service_node_port_range ? cfg->service_node_port_range : "", &pr,
                              &msg)) {
        apierr_simple(err, APIERR_BAD_REQUEST, "invalid --service-node-port-range: %s",
                      msg ? msg : "");
        free(msg);
        free(st);
        return NULL;
    }
    st->ip[0] = ipalloc_new(&st->ranges.primary);
    st->family[0] = st->ranges.primary.ip.family;
    if (st->ranges.has_secondary) {
        st->ip[1] = ipalloc_new(&st->ranges.secondary);
        st->family[1] = st->ranges.secondary.ip.family;
    }
    st->ports = portalloc_new(&pr);
    cidr_ip_format(&st->ranges.service_ip, st->first_ip);
    return st;
}

void service_state_free(struct service_state *st)
{
    if (!st)
        return;
    ipalloc_free(st->ip[0]);
    ipalloc_free(st->ip[1]);
    portalloc_free(st->ports);
    free(st);
}

const char *service_first_ip(const struct service_state *st)
{
    return st->first_ip;
}

/* What the allocators read of a stored Service: its namespace and name (from the store key,
   "<prefix><namespace>/<name>") and its spec, parsed alone. Replaying 100,000 Services at
   start-up spent two thirds of its time parsing metadata (managedFields above all) the
   allocators never look at, and kept every tree. The store writes objects canonically, so the
   first `,"spec":{` is the top-level spec: metadata holds no object under a "spec" key, and
   quotes inside strings are escaped. A new reference. */
static json_t *allocation_view(const struct store_obj *o, size_t prefix_len)
{
    static const char marker[] = ",\"spec\":{";
    const char *spec_at = memmem(o->bytes, o->len, marker, sizeof(marker) - 1);
    const char *ns = o->key + prefix_len, *slash = strchr(ns, '/');
    json_t *spec = NULL;
    if (spec_at) {
        const char *value = spec_at + sizeof(marker) - 2; /* at the "{" */
        json_error_t jerr;
        spec =
            json_loadb(value, (size_t)(o->bytes + o->len - value), JSON_DISABLE_EOF_CHECK, &jerr);
    }
    if (!spec || !slash)
        return json_incref(store_obj_json(o)); /* not as expected: read it all */
    return json_pack("{s:{s:s%,s:s},s:o}", "metadata", "namespace", ns, (size_t)(slash - ns),
                     "name", slash + 1, "spec", spec);
}

void service_state_restore(struct registry *reg, struct strbuf *report)
{
    const struct api_resource *res = api_find_resource(reg->api, "", "v1", "services");
    char *prefix = registry_prefix(res, NULL);
    struct store_list_opts lo = {.prefix = prefix};
    struct store_list_result lr;
    store_list(reg->store, &lo, &lr);
    for (size_t i = 0; i < lr.n; i++) {
        json_t *view = allocation_view(lr.items[i], strlen(prefix));
        svc_alloc_restore(reg->services, view, report);
        json_decref(view);
    }
    store_list_result_release(&lr);
    free(prefix);
}

static void metric_family(struct strbuf *out, const char *name, const char *help)
{
    strbuf_addf(out, "# HELP %s %s\n# TYPE %s gauge\n", name, help, name);
}

void service_state_metrics(struct service_state *st, struct strbuf *out)
{
    struct ipalloc_counts ic[2];
    char cidr[2][CIDR_STRLEN];
    for (int i = 0; i < 2; i++)
        if (st->ip[i]) {
            ipalloc_counts(st->ip[i], &ic[i]);
            cidr_format(ipalloc_cidr(st->ip[i]), cidr[i]);
        }
    metric_family(out, "kube_apiserver_clusterip_allocator_allocated_ips",
                  "[ALPHA] Gauge measuring the number of allocated IPs for Services");
    for (int i = 0; i < 2; i++)
        if (st->ip[i])
            strbuf_addf(out, "kube_apiserver_clusterip_allocator_allocated_ips{cidr=\"%s\"} %llu\n",
                        cidr[i], (unsigned long long)ic[i].used);
    metric_family(out, "kube_apiserver_clusterip_allocator_available_ips",
                  "[ALPHA] Gauge measuring the number of available IPs for Services");
    for (int i = 0; i < 2; i++)
        if (st->ip[i])
            strbuf_addf(out, "kube_apiserver_clusterip_allocator_available_ips{cidr=\"%s\"} %llu\n",
                        cidr[i], (unsigned long long)ic[i].available_gauge);
    struct portalloc_counts pc;
    portalloc_counts(st->ports, &pc);
    metric_family(out, "kube_apiserver_nodeport_allocator_allocated_ports",
                  "[ALPHA] Gauge measuring the number of allocated NodePorts for Services");
    strbuf_addf(out, "kube_apiserver_nodeport_allocator_allocated_ports %llu\n",
                (unsigned long long)pc.used);
    metric_family(out, "kube_apiserver_nodeport_allocator_available_ports",
                  "[ALPHA] Gauge measuring the number of available NodePorts for Services");
    strbuf_addf(out, "kube_apiserver_nodeport_allocator_available_ports %llu\n",
                (unsigned long long)pc.free);
}

/* ---- v1 defaulting (SetDefaults_Service, service-semantics.md §1.1) ------------------------- */

static bool externally_accessible(const json_t *spec)
{
    const char *t = ju_str(spec, "type");
    t = t ? t : "";
    return !strcmp(t, "LoadBalancer") || !strcmp(t, "NodePort") ||
           (!strcmp(t, "ClusterIP") && json_array_size(ju_arr(spec, "externalIPs")) > 0);
}

static void service_defaults(json_t *obj)
{
    json_t *spec = ju_ensure_obj(obj, "spec");
    if (ju_empty(ju_str(spec, "sessionAffinity")))
        json_object_set_new(spec, "sessionAffinity", json_string("None"));
    const char *affinity = ju_str(spec, "sessionAffinity");
    if (!strcmp(affinity, "None")) {
        json_object_del(spec, "sessionAffinityConfig");
    } else if (!strcmp(affinity, "ClientIP")) {
        json_t *timeout =
            ju_get(ju_obj(ju_obj(spec, "sessionAffinityConfig"), "clientIP"), "timeoutSeconds");
        if (!json_is_integer(timeout))
            json_object_set_new(spec, "sessionAffinityConfig",
                                json_pack("{s:{s:i}}", "clientIP", "timeoutSeconds", 10800));
    }
    if (ju_empty(ju_str(spec, "type")))
        json_object_set_new(spec, "type", json_string("ClusterIP"));
    size_t i;
    json_t *port;
    json_array_foreach (ju_arr(spec, "ports"), i, port) {
        if (!json_is_object(port))
            continue;
        if (ju_empty(ju_str(port, "protocol")))
            json_object_set_new(port, "protocol", json_string("TCP"));
        json_t *tp = json_object_get(port, "targetPort");
        if (!tp || (json_is_integer(tp) && json_integer_value(tp) == 0) ||
            (json_is_string(tp) && !*json_string_value(tp))) {
            json_t *p = json_object_get(port, "port");
            json_object_set_new(port, "targetPort",
                                json_is_integer(p) ? json_copy(p) : json_integer(0));
        }
    }
    const char *type = ju_str(spec, "type");
    if (externally_accessible(spec) && ju_empty(ju_str(spec, "externalTrafficPolicy")))
        json_object_set_new(spec, "externalTrafficPolicy", json_string("Cluster"));
    if (!json_object_get(spec, "internalTrafficPolicy") &&
        (!strcmp(type, "NodePort") || !strcmp(type, "LoadBalancer") || !strcmp(type, "ClusterIP")))
        json_object_set_new(spec, "internalTrafficPolicy", json_string("Cluster"));
    if (!strcmp(type, "LoadBalancer")) {
        if (!json_is_boolean(json_object_get(spec, "allocateLoadBalancerNodePorts")))
            json_object_set_new(spec, "allocateLoadBalancerNodePorts", json_true());
        json_t *ing;
        json_array_foreach (ju_arr(ju_obj(ju_obj(obj, "status"), "loadBalancer"), "ingress"), i,
                            ing) {
            if (!ju_empty(ju_str(ing, "ip")) && !ju_str(ing, "ipMode"))
                json_object_set_new(ing, "ipMode", json_string("VIP"));
        }
    }
}

/* ---- hooks ----------------------------------------------------------------------------------- */

static struct service_state *state(struct reg_write *w)
{
    return w->reg->services;
}

static int service_begin_create(struct reg_write *w, struct apierr *err)
{
    return svc_alloc_create(state(w), w->obj, w->req->dry_run, (struct svc_txn **)&w->txn, err);
}

static int service_begin_update(struct reg_write *w, struct apierr *err)
{
    return svc_alloc_update(state(w), w->obj, w->old, w->req->dry_run, (struct svc_txn **)&w->txn,
                            err);
}

static void service_finish(struct reg_write *w, bool committed)
{
    svc_txn_finish(w->txn, committed);
}

/* ExternalName Services carry no internalTrafficPolicy (upstream drops it on read). */
static void drop_external_name_itp(json_t *obj)
{
    json_t *spec = ju_ensure_obj(obj, "spec");
    const char *t = ju_str(spec, "type");
    if (t && !strcmp(t, "ExternalName"))
        json_object_del(spec, "internalTrafficPolicy");
}

static void service_prepare_create(struct reg_write *w)
{
    json_object_set_new(w->obj, "status", json_object());
    drop_external_name_itp(w->obj);
}

static bool same_value(const json_t *a, const json_t *b, const char *key)
{
    json_t *x = json_object_get(ju_obj(a, "spec"), key),
           *y = json_object_get(ju_obj(b, "spec"), key);
    if (!x || !y)
        return x == y;
    return json_equal(x, y);
}

static bool type_of_is(const json_t *svc, const char *t)
{
    return !strcmp(svc_type(svc), t);
}

static bool needs_node_port_type(const json_t *svc)
{
    return type_of_is(svc, "NodePort") || type_of_is(svc, "LoadBalancer");
}

/* The new object's nodePorts are all among the old ones (users may not add net-new ones). */
static bool node_ports_subset(const json_t *svc, const json_t *old)
{
    json_t *ports = ju_arr(ju_obj(svc, "spec"), "ports");
    json_t *old_ports = ju_arr(ju_obj(old, "spec"), "ports");
    for (size_t i = 0; i < json_array_size(ports); i++) {
        long long np = ju_int(json_array_get(ports, i), "nodePort", 0);
        bool found = np == 0;
        for (size_t k = 0; k < json_array_size(old_ports) && !found; k++)
            found = ju_int(json_array_get(old_ports, k), "nodePort", 0) == np;
        if (!found)
            return false;
    }
    return true;
}

/* dropTypeDependentFields: what an update to another type no longer needs goes away (and its
   allocation is released when the write commits), unless the client changed it. */
static void drop_type_dependent_fields(json_t *svc, const json_t *old)
{
    json_t *spec = ju_ensure_obj(svc, "spec");
    if (!type_of_is(old, "ExternalName") && type_of_is(svc, "ExternalName")) {
        if (same_value(old, svc, "clusterIPs")) {
            json_object_del(spec, "clusterIP");
            json_object_del(spec, "clusterIPs");
        }
        if (same_value(old, svc, "ipFamilies"))
            json_object_del(spec, "ipFamilies");
        if (same_value(old, svc, "ipFamilyPolicy"))
            json_object_del(spec, "ipFamilyPolicy");
    }
    if (needs_node_port_type(old) && !needs_node_port_type(svc) && node_ports_subset(svc, old)) {
        size_t i;
        json_t *p;
        json_array_foreach (ju_arr(spec, "ports"), i, p)
            json_object_del(p, "nodePort");
    }
    if (svc_needs_health_check(old) && !svc_needs_health_check(svc) &&
        same_value(old, svc, "healthCheckNodePort"))
        json_object_del(spec, "healthCheckNodePort");
    if (type_of_is(old, "LoadBalancer") && !type_of_is(svc, "LoadBalancer")) {
        if (json_object_get(spec, "allocateLoadBalancerNodePorts") &&
            same_value(old, svc, "allocateLoadBalancerNodePorts"))
            json_object_del(spec, "allocateLoadBalancerNodePorts");
        if (same_value(old, svc, "loadBalancerClass"))
            json_object_del(spec, "loadBalancerClass");
    }
    if (externally_accessible(ju_obj(old, "spec")) && !externally_accessible(spec) &&
        same_value(old, svc, "externalTrafficPolicy"))
        json_object_del(spec, "externalTrafficPolicy");
    if (!type_of_is(svc, "LoadBalancer"))
        json_object_set_new(ju_ensure_obj(svc, "status"), "loadBalancer", json_object());
}

static void service_prepare_update(struct reg_write *w)
{
    /* A spec update cannot change status. */
    json_t *status = json_object_get(w->old, "status");
    json_object_set_new(w->obj, "status", status ? json_deep_copy(status) : json_object());
    drop_type_dependent_fields(w->obj, w->old);
    drop_external_name_itp(w->obj);
}

static void service_prepare_status_update(struct reg_write *w)
{
    /* The status subresource changes only status. */
    json_t *spec = json_object_get(w->old, "spec");
    json_object_set_new(w->obj, "spec", spec ? json_deep_copy(spec) : json_object());
}

static void add_warning(struct reg_write *w, const char *text)
{
    if (!w->req->warnings)
        return;
    size_t i;
    json_t *v;
    json_array_foreach (w->req->warnings, i, v)
        if (!strcmp(json_string_value(v), text))
            return;
    json_array_append_new(w->req->warnings, json_string(text));
}

static void add_ip_warnings(struct reg_write *w, const char *path, const char *value, bool cidr)
{
    char *out[2] = {NULL, NULL};
    size_t n =
        cidr ? validate_cidr_warnings(path, value, out) : validate_ip_warnings(path, value, out);
    for (size_t i = 0; i < n; i++) {
        add_warning(w, out[i]);
        free(out[i]);
    }
}

/* GetWarningsForService (pkg/api/service/warnings.go). */
static void service_warnings(struct reg_write *w)
{
    const json_t *svc = w->obj;
    const json_t *spec = ju_obj(svc, "spec");
    const json_t *ann = ju_obj(ju_obj(svc, "metadata"), "annotations");
    if (ju_str(ann, "service.kubernetes.io/topology-aware-hints"))
        add_warning(w, "annotation service.kubernetes.io/topology-aware-hints is deprecated, "
                       "please use service.kubernetes.io/topology-mode instead");
    size_t i;
    json_t *v;
    char path[64];
    if (svc_is_headless(svc)) {
        if (!ju_empty(ju_str(spec, "loadBalancerIP")))
            add_warning(w, "spec.loadBalancerIP is ignored for headless services");
        if (json_array_size(ju_arr(spec, "externalIPs")))
            add_warning(w, "spec.externalIPs is ignored for headless services");
        const char *aff = ju_str(spec, "sessionAffinity");
        if (aff && strcmp(aff, "None"))
            add_warning(w, "spec.SessionAffinity is ignored for headless services");
    } else {
        json_array_foreach (ju_arr(spec, "clusterIPs"), i, v) {
            snprintf(path, sizeof(path), "spec.clusterIPs[%zu]", i);
            add_ip_warnings(w, path, json_string_value(v) ?: "", false);
        }
    }
    json_array_foreach (ju_arr(spec, "externalIPs"), i, v) {
        snprintf(path, sizeof(path), "spec.externalIPs[%zu]", i);
        add_ip_warnings(w, path, json_string_value(v) ?: "", false);
    }
    if (!ju_empty(ju_str(spec, "loadBalancerIP")))
        add_ip_warnings(w, "spec.loadBalancerIP", ju_str(spec, "loadBalancerIP"), false);
    json_array_foreach (ju_arr(spec, "loadBalancerSourceRanges"), i, v) {
        snprintf(path, sizeof(path), "spec.loadBalancerSourceRanges[%zu]", i);
        add_ip_warnings(w, path, json_string_value(v) ?: "", true);
    }
    if (type_of_is(svc, "ExternalName") && json_array_size(ju_arr(spec, "externalIPs")))
        add_warning(w, "spec.externalIPs is ignored when spec.type is \"ExternalName\"");
    if (!type_of_is(svc, "ExternalName") && !ju_empty(ju_str(spec, "externalName")))
        add_warning(w, "spec.externalName is ignored when spec.type is not \"ExternalName\"");
}

static void service_validate_create(struct reg_write *w, struct field_errors *errs)
{
    service_warnings(w);
    validate_service(errs, w->obj);
}

static void service_validate_update(struct reg_write *w, struct field_errors *errs)
{
    service_warnings(w);
    validate_service_update(errs, w->obj, w->old);
}

static void service_validate_status_update(struct reg_write *w, struct field_errors *errs)
{
    validate_service_status_update(errs, w->obj, w->old);
}

static void service_after_delete(struct registry *reg, const json_t *deleted)
{
    svc_alloc_release_all(reg->services, deleted);
    /* Upstream deletes the Endpoints of the same name at once, not waiting for the controller. */
    const struct api_resource *ep = api_find_resource(reg->api, "", "v1", "endpoints");
    struct reg_req req = {
        .res = ep, .ns = ju_meta_str(deleted, "namespace"), .name = ju_meta_str(deleted, "name")};
    struct reg_result res;
    struct apierr err;
    apierr_init(&err);
    if (!registry_delete(reg, &req, NULL, &res, &err))
        reg_result_release(&res);
    apierr_release(&err);
}

static const char *const service_fields[] = {"spec.clusterIP", "spec.type", NULL};

static const char *service_field_value(const json_t *obj, const char *field, char *buf)
{
    (void)buf;
    const json_t *spec = ju_obj(obj, "spec");
    if (!strcmp(field, "spec.clusterIP"))
        return ju_str(spec, "clusterIP") ? ju_str(spec, "clusterIP") : "";
    if (!strcmp(field, "spec.type"))
        return ju_str(spec, "type") ? ju_str(spec, "type") : "";
    return NULL;
}

const struct reg_kind reg_kind_service = {
    .group = "",
    .resource = "services",
    .flags = REG_CREATE_ON_UPDATE | REG_RETURN_DELETED,
    .name_rule = REG_NAME_DNS1035_LABEL,
    .defaults = service_defaults,
    .prepare_create = service_prepare_create,
    .prepare_update = service_prepare_update,
    .begin_create = service_begin_create,
    .begin_update = service_begin_update,
    .validate_create = service_validate_create,
    .validate_update = service_validate_update,
    .finish = service_finish,
    .prepare_status_update = service_prepare_status_update,
    .validate_status_update = service_validate_status_update,
    .after_delete = service_after_delete,
    .selectable_fields = service_fields,
    .field_value = service_field_value,
};
