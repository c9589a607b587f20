/*
 * registry: the registry object, the table from resource to strategy, store keys, and the
 * objects a cluster has from its first moment (the bootstrap controller's namespaces and the
 * kubernetes Service with its Endpoints).
 */
#include "registry_private.h"

#include "svc/api.h"
#include "svc/apierr.h"
#include "svc/store.h"
#include "svc/strbuf.h"
#include "svc/util.h"

#include <stdio.h>

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

/* Kinds without special behaviour still need a name rule and flags. */
static const struct reg_kind reg_kind_default = {
    .flags = REG_CREATE_ON_UPDATE,
    .name_rule = REG_NAME_DNS1123_SUBDOMAIN,
};

static const struct reg_kind *const strategies[] = {
    &reg_kind_service, &reg_kind_endpoints,     &reg_kind_namespace,
    &reg_kind_pod,     &reg_kind_replicaset,    &reg_kind_node,
    &reg_kind_event,   &reg_kind_endpointslice, &reg_kind_lease,
};

const struct reg_kind *registry_kind(const struct api_resource *res)
{
    for (size_t i = 0; i < sizeof(strategies) / sizeof(strategies[0]); i++)
        if (!strcmp(strategies[i]->group, res->group) &&
            !strcmp(strategies[i]->resource, res->plural))
            return strategies[i];
    return &reg_kind_default;
}

char *registry_key(const struct api_resource *res, const char *ns, const char *name)
{
    if (res->namespaced)
        return xasprintf("%s/%s/%s", res->qualified, ns ? ns : "", name ? name : "");
    return xasprintf("%s/%s", res->qualified, name ? name : "");
}

char *registry_prefix(const struct api_resource *res, const char *ns)
{
    if (res->namespaced && !ju_empty(ns))
        return xasprintf("%s/%s/", res->qualified, ns);
    return xasprintf("%s/", res->qualified);
}

static char *dup_opt(const char *s)
{
    return s ? xstrdup(s) : NULL;
}

struct registry *registry_new(struct store *store, const struct api *api,
                              const struct registry_config *cfg, struct apierr *err)
{
    struct registry *reg = xcalloc(1, sizeof(*reg));
    reg->store = store;
    reg->api = api;
    reg->cfg.service_cluster_ip_range = dup_opt(cfg->service_cluster_ip_range);
    reg->cfg.service_node_port_range = dup_opt(cfg->service_node_port_range);
    reg->cfg.advertise_address = dup_opt(cfg->advertise_address);
    reg->cfg.secure_port = cfg->secure_port;
    reg->services = service_state_new(&reg->cfg, err);
    if (!reg->services) {
        registry_free(reg);
        return NULL;
    }
    /* The allocators always agree with the stored Services: rebuild them from the store, and
       report (never merge silently) anything inconsistent. */
    struct strbuf report;
    strbuf_init(&report, STRBUF_NO_LIMIT);
    service_state_restore(reg, &report);
    if (report.len)
        fprintf(stderr, "svc-apiserver: allocator repair found:\n%s", strbuf_str(&report));
    strbuf_release(&report);
    return reg;
}

void registry_free(struct registry *reg)
{
    if (!reg)
        return;
    service_state_free(reg->services);
    free((char *)reg->cfg.service_cluster_ip_range);
    free((char *)reg->cfg.service_node_port_range);
    free((char *)reg->cfg.advertise_address);
    free(reg);
}

void registry_metrics(struct registry *reg, struct strbuf *out)
{
    service_state_metrics(reg->services, out);
}

void registry_set_port(struct registry *reg, int port)
{
    reg->cfg.secure_port = port;
}

struct store *registry_store(struct registry *reg)
{
    return reg->store;
}

const struct api *registry_api(struct registry *reg)
{
    return reg->api;
}

const struct registry_config *registry_config(struct registry *reg)
{
    return &reg->cfg;
}

void reg_list_release(struct reg_list *list)
{
    for (size_t i = 0; i < list->n; i++)
        store_obj_unref(list->items[i]);
    free(list->items);
    free(list->continue_token);
    memset(list, 0, sizeof(*list));
}

static int replace_with(void *ctx, const json_t *cur, json_t **out, struct apierr *err)
{
    (void)cur;
    (void)err;
    *out = json_deep_copy(ctx);
    return 0;
}

/*
 * Create obj through the normal pipeline unless it already exists. An existing object (a
 * restart over a kept store) is left alone, except for the top-level fields named in
 * reconciled and its labels, which are set to obj's when they differ (upstream's
 * EndpointsAdapter does so for the kubernetes Endpoints and EndpointSlice: the address or the
 * port may have changed since).
 */
static int ensure(struct registry *reg, const char *group, const char *version, const char *plural,
                  const char *ns, json_t *obj, bool system, const char *const *reconciled,
                  struct apierr *err)
{
    const struct api_resource *res = api_find_resource(reg->api, group, version, plural);
    if (!res) {
        json_decref(obj);
        return apierr_internal(err, "bootstrap: no resource %s", plural);
    }
    char *key = registry_key(res, ns, ju_meta_str(obj, "name"));
    struct store_obj *existing = store_get(reg->store, key);
    free(key);
    struct reg_req req = {.res = res,
                          .ns = ns,
                          .name = ju_meta_str(obj, "name"),
                          .user_agent = "kube-apiserver",
                          .system = system};
    if (existing) {
        json_t *want = json_deep_copy(store_obj_json(existing));
        for (size_t i = 0; reconciled && reconciled[i]; i++)
            json_object_set(want, reconciled[i], json_object_get(obj, reconciled[i]));
        if (reconciled)
            json_object_set(ju_ensure_obj(want, "metadata"), "labels",
                            ju_obj(ju_obj(obj, "metadata"), "labels"));
        int rc = 0;
        if (!json_equal(want, store_obj_json(existing))) {
            struct reg_result out;
            rc = registry_update(reg, &req, replace_with, want, &out, err);
            if (!rc)
                reg_result_release(&out);
        }
        json_decref(want);
        store_obj_unref(existing);
        json_decref(obj);
        return rc;
    }
    struct reg_result out;
    if (registry_create(reg, &req, obj, &out, err)) {
        if (err->reason != APIERR_ALREADY_EXISTS)
            return -1;
        apierr_release(err);
        return 0;
    }
    reg_result_release(&out);
    return 0;
}

int registry_bootstrap(struct registry *reg, struct apierr *err)
{
    static const char *const namespaces[] = {"default", "kube-system", "kube-public",
                                             "kube-node-lease"};
    for (size_t i = 0; i < sizeof(namespaces) / sizeof(namespaces[0]); i++) {
        json_t *ns = json_pack("{s:{s:s}}", "metadata", "name", namespaces[i]);
        if (ensure(reg, "", "v1", "namespaces", NULL, ns, false, NULL, err))
            return -1;
    }
    /* The kubernetes Service as upstream's kubernetesservice controller writes it (which
       decides what its managedFields say): the first address of the range, SingleStack, port
       443 to our own port. */
    json_t *svc = json_pack(
        "{s:{s:s,s:{s:s,s:s}},s:{s:[{s:s,s:s,s:i,s:i}],s:s,s:s,s:s}}", "metadata", "name",
        "kubernetes", "labels", "component", "apiserver", "provider", "kubernetes", "spec", "ports",
        "name", "https", "protocol", "TCP", "port", 443, "targetPort", reg->cfg.secure_port,
        "ipFamilyPolicy", "SingleStack", "sessionAffinity", "None", "type", "ClusterIP");
    const char *first_ip = service_first_ip(reg->services);
    if (first_ip)
        json_object_set_new(json_object_get(svc, "spec"), "clusterIP", json_string(first_ip));
    if (ensure(reg, "", "v1", "services", "default", svc, false, NULL, err))
        return -1;
    /* The kubernetes Endpoints and EndpointSlice, as upstream's EndpointsAdapter writes them:
       this server's address (which may be a loopback address here, so the Endpoints skip the
       rules for user-written ones) and port. */
    const char *ip = reg->cfg.advertise_address ? reg->cfg.advertise_address : "127.0.0.1";
    bool v6 = strchr(ip, ':') != NULL;
    json_t *ep = json_pack(
        "{s:{s:s,s:{s:s}},s:[{s:[{s:s}],s:[{s:s,s:i,s:s}]}]}", "metadata", "name", "kubernetes",
        "labels", "endpointslice.kubernetes.io/skip-mirror", "true", "subsets", "addresses", "ip",
        ip, "ports", "name", "https", "port", reg->cfg.secure_port, "protocol", "TCP");
    static const char *const ep_fields[] = {"subsets", NULL};
    if (ensure(reg, "", "v1", "endpoints", "default", ep, true, ep_fields, err))
        return -1;
    json_t *slice =
        json_pack("{s:{s:s,s:{s:s}},s:s,s:[{s:[s],s:{s:b}}],s:[{s:s,s:s,s:i}]}", "metadata", "name",
                  "kubernetes", "labels", "kubernetes.io/service-name", "kubernetes", "addressType",
                  v6 ? "IPv6" : "IPv4", "endpoints", "addresses", ip, "conditions", "ready", 1,
                  "ports", "name", "https", "protocol", "TCP", "port", reg->cfg.secure_port);
    static const char *const slice_fields[] = {"addressType", "endpoints", "ports", NULL};
    return ensure(reg, "discovery.k8s.io", "v1", "endpointslices", "default", slice, true,
                  slice_fields, err);
}
