/*
 * endpointslice: the EndpointSlice controller's reconcile as a pure function (kubernetes
 * pkg/controller/endpointslice and staging endpointslice/reconciler.go, service-semantics.md
 * §6.2): endpoints per address family, grouped by the ports each pod resolves, at most
 * max_per_slice per slice, a placeholder slice when there are none. Slices already stored are
 * reused in order for the same address type and ports, so a steady state rewrites nothing.
 */
#include "svc/controllers.h"

#include "podutil.h"
#include "svc/util.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#define SERVICE_NAME_LABEL "kubernetes.io/service-name"
#define MANAGED_BY_LABEL "endpointslice.kubernetes.io/managed-by"
#define MANAGED_BY "endpointslice-controller.k8s.io"
#define HEADLESS_LABEL "service.kubernetes.io/headless"
#define TRIGGER_ANNOTATION "endpoints.kubernetes.io/last-change-trigger-time"

struct group {
    char *key;        /* addressType + ports as JSON */
    const char *address_type;
    json_t *ports;    /* array (owned), or NULL for the placeholder */
    json_t *endpoints; /* array (owned) */
};

static const char *address_type_of(const char *family)
{
    return family && !strcmp(family, "IPv6") ? "IPv6" : "IPv4";
}

static json_t *endpoint_for(const json_t *pod, const char *ip, const json_t *svc,
                            bool publish_not_ready)
{
    const json_t *spec = ju_obj(pod, "spec");
    bool serving = podutil_is_ready(pod);
    bool terminating = podutil_is_terminating(pod);
    bool ready = publish_not_ready || (serving && !terminating);
    json_t *e = json_pack("{s:[s],s:{s:b,s:b,s:b}}", "addresses", ip, "conditions", "ready", ready,
                          "serving", serving, "terminating", terminating);
    const char *hostname = ju_str(spec, "hostname"), *subdomain = ju_str(spec, "subdomain");
    const char *svc_name = ju_meta_str(svc, "name");
    if (!ju_empty(hostname) && subdomain && svc_name && !strcmp(subdomain, svc_name))
        json_object_set_new(e, "hostname", json_string(hostname));
    json_object_set_new(e, "targetRef",
                        json_pack("{s:s,s:s,s:s,s:s}", "kind", "Pod", "namespace",
                                  ju_meta_str(pod, "namespace") ?: "", "name",
                                  ju_meta_str(pod, "name") ?: "", "uid",
                                  ju_meta_str(pod, "uid") ?: ""));
    const char *node = ju_str(spec, "nodeName");
    if (!ju_empty(node))
        json_object_set_new(e, "nodeName", json_string(node));
    return e;
}

/* The ports a pod serves for svc, in the Service's port order. */
static json_t *ports_for(const json_t *pod, const json_t *svc_ports)
{
    json_t *ports = json_array();
    size_t i;
    json_t *sp;
    json_array_foreach(svc_ports, i, sp) {
        int port = podutil_resolve_target_port(pod, sp);
        if (!port)
            continue;
        const char *name = ju_str(sp, "name");
        json_t *p = json_pack("{s:s,s:s,s:i}", "name", name ? name : "", "protocol",
                              ju_str(sp, "protocol") ?: "TCP", "port", port);
        const char *ap = ju_str(sp, "appProtocol");
        if (ap)
            json_object_set_new(p, "appProtocol", json_string(ap));
        json_array_append_new(ports, p);
    }
    return ports;
}

static char *group_key(const char *address_type, const json_t *ports)
{
    /* An empty port list reads back as null from storage: the same key for both. */
    char *pj = json_array_size(ports) ? json_dumps(ports, JSON_COMPACT | JSON_SORT_KEYS)
                                      : xstrdup("null");
    char *key = xasprintf("%s|%s", address_type, pj);
    free(pj);
    return key;
}

static struct group *find_group(struct group **groups, size_t *n, const char *address_type,
                                json_t *ports)
{
    char *key = group_key(address_type, ports);
    for (size_t i = 0; i < *n; i++)
        if (!strcmp((*groups)[i].key, key)) {
            free(key);
            json_decref(ports);
            return &(*groups)[i];
        }
    *groups = xrealloc(*groups, (*n + 1) * sizeof(**groups));
    struct group *g = &(*groups)[(*n)++];
    g->key = key;
    g->address_type = address_type;
    g->ports = ports;
    g->endpoints = json_array();
    return g;
}

static int cmp_endpoint(const void *pa, const void *pb)
{
    const json_t *a = *(json_t *const *)pa, *b = *(json_t *const *)pb;
    const char *x = json_string_value(json_array_get(ju_arr(a, "addresses"), 0));
    const char *y = json_string_value(json_array_get(ju_arr(b, "addresses"), 0));
    unsigned char bx[16] = {0}, by[16] = {0};
    inet_pton(strchr(x ? x : "", ':') ? AF_INET6 : AF_INET, x ? x : "", bx);
    inet_pton(strchr(y ? y : "", ':') ? AF_INET6 : AF_INET, y ? y : "", by);
    int c = memcmp(bx, by, 16);
    if (c)
        return c;
    const char *ua = ju_str(ju_obj(a, "targetRef"), "uid"), *ub = ju_str(ju_obj(b, "targetRef"), "uid");
    return strcmp(ua ? ua : "", ub ? ub : "");
}

static void sort_endpoints(json_t *list)
{
    size_t n = json_array_size(list);
    json_t **items = xcalloc(n + 1, sizeof(*items));
    for (size_t i = 0; i < n; i++)
        items[i] = json_incref(json_array_get(list, i));
    qsort(items, n, sizeof(*items), cmp_endpoint);
    json_array_clear(list);
    for (size_t i = 0; i < n; i++)
        json_array_append_new(list, items[i]);
    free(items);
}

static json_t *slice_metadata(const json_t *svc, bool headless)
{
    json_t *labels = json_object();
    const json_t *svc_labels = ju_obj(ju_obj(svc, "metadata"), "labels");
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)svc_labels, k, v) {
        if (strcmp(k, SERVICE_NAME_LABEL) && strcmp(k, MANAGED_BY_LABEL) &&
            strcmp(k, HEADLESS_LABEL))
            json_object_set(labels, k, v);
    }
    json_object_set_new(labels, SERVICE_NAME_LABEL, json_string(ju_meta_str(svc, "name") ?: ""));
    json_object_set_new(labels, MANAGED_BY_LABEL, json_string(MANAGED_BY));
    if (headless)
        json_object_set_new(labels, HEADLESS_LABEL, json_string(""));
    json_t *owner = json_pack("{s:s,s:s,s:s,s:s,s:b,s:b}", "apiVersion", "v1", "kind", "Service",
                              "name", ju_meta_str(svc, "name") ?: "", "uid",
                              ju_meta_str(svc, "uid") ?: "", "controller", 1,
                              "blockOwnerDeletion", 1);
    return json_pack("{s:s,s:o,s:{},s:[o]}", "namespace", ju_meta_str(svc, "namespace") ?: "",
                     "labels", labels, "annotations", "ownerReferences", owner);
}

/* The existing slice's (addressType, ports) key. */
static char *existing_key(const json_t *slice)
{
    const char *at = ju_str(slice, "addressType");
    json_t *ports = ju_arr(slice, "ports");
    return group_key(at ? at : "IPv4", json_array_size(ports) ? ports : NULL);
}

json_t *endpointslices_desired(const json_t *svc, json_t *const *pods, size_t n_pods,
                               json_t *const *existing, size_t n_existing, int max_per_slice,
                               struct timespec now)
{
    const json_t *spec = ju_obj(svc, "spec");
    const char *type = ju_str(spec, "type");
    const json_t *selector = ju_obj(spec, "selector");
    if ((type && !strcmp(type, "ExternalName")) || !json_object_size(selector))
        return NULL;
    if (max_per_slice <= 0)
        max_per_slice = 100;
    const char *ns = ju_meta_str(svc, "namespace");
    const char *cip = ju_str(spec, "clusterIP");
    bool headless = cip && !strcmp(cip, "None");
    bool publish = ju_bool(spec, "publishNotReadyAddresses", false);
    json_t *families = ju_arr(spec, "ipFamilies");
    size_t n_fam = json_array_size(families) ? json_array_size(families) : 1;
    struct group *groups = NULL;
    size_t n_groups = 0;
    for (size_t f = 0; f < n_fam; f++) {
        const char *family = json_string_value(json_array_get(families, f));
        const char *at = address_type_of(family);
        for (size_t i = 0; i < n_pods; i++) {
            const json_t *pod = pods[i];
            const char *pns = ju_meta_str(pod, "namespace");
            if (!pns || !ns || strcmp(pns, ns) ||
                !podutil_selector_matches(selector, ju_obj(ju_obj(pod, "metadata"), "labels")) ||
                podutil_is_terminal(pod))
                continue;
            const char *ip = podutil_ip_of_family(pod, family ? family : "IPv4");
            if (!ip)
                continue;
            json_t *ports = ports_for(pod, ju_arr(spec, "ports"));
            struct group *g = find_group(&groups, &n_groups, at, ports);
            json_array_append_new(g->endpoints, endpoint_for(pod, ip, svc, publish));
        }
    }
    if (n_groups == 0) {
        /* No endpoints at all: one placeholder slice for the primary family. */
        const char *family = json_string_value(json_array_get(families, 0));
        find_group(&groups, &n_groups, address_type_of(family), NULL);
    }
    char trigger[UTIL_RFC3339_NANO_LEN];
    util_format_time_nano(now, trigger);
    bool *used = xcalloc(n_existing + 1, sizeof(bool));
    char **keys = xcalloc(n_existing + 1, sizeof(char *));
    for (size_t e = 0; e < n_existing; e++)
        keys[e] = existing_key(existing[e]);
    json_t *out = json_array();
    for (size_t gi = 0; gi < n_groups; gi++) {
        struct group *g = &groups[gi];
        sort_endpoints(g->endpoints);
        size_t total = json_array_size(g->endpoints);
        size_t chunks = total ? (total + (size_t)max_per_slice - 1) / (size_t)max_per_slice : 1;
        for (size_t c = 0; c < chunks; c++) {
            json_t *eps = json_array();
            for (size_t i = c * (size_t)max_per_slice;
                 i < total && i < (c + 1) * (size_t)max_per_slice; i++)
                json_array_append(eps, json_array_get(g->endpoints, i));
            json_t *meta = slice_metadata(svc, headless);
            /* Reuse a stored slice with the same address type and ports, or, for the
               placeholder's successor, any unused one. */
            const char *name = NULL;
            const char *old_trigger = NULL;
            for (size_t e = 0; e < n_existing && !name; e++) {
                if (used[e] || strcmp(keys[e], g->key))
                    continue;
                used[e] = true;
                name = ju_meta_str(existing[e], "name");
                old_trigger = ju_str(ju_obj(ju_obj(existing[e], "metadata"), "annotations"),
                                     TRIGGER_ANNOTATION);
            }
            if (name) {
                json_object_set_new(meta, "name", json_string(name));
            } else {
                char *gen = xasprintf("%s-", ju_meta_str(svc, "name") ?: "");
                json_object_set_new(meta, "generateName", json_string(gen));
                free(gen);
            }
            json_object_set_new(json_object_get(meta, "annotations"), TRIGGER_ANNOTATION,
                                json_string(old_trigger ? old_trigger : trigger));
            json_t *slice = json_pack("{s:s,s:s,s:o,s:s}", "kind", "EndpointSlice",
                                      "apiVersion", "discovery.k8s.io/v1", "metadata", meta,
                                      "addressType", g->address_type);
            json_object_set_new(slice, "endpoints", json_array_size(eps) ? eps : json_null());
            if (!json_array_size(eps))
                json_decref(eps);
            json_object_set_new(slice, "ports", json_array_size(g->ports)
                                                    ? json_deep_copy(g->ports)
                                                    : json_null());
            json_array_append_new(out, slice);
        }
    }
    for (size_t e = 0; e < n_existing; e++)
        free(keys[e]);
    free(keys);
    free(used);
    for (size_t gi = 0; gi < n_groups; gi++) {
        free(groups[gi].key);
        json_decref(groups[gi].ports);
        json_decref(groups[gi].endpoints);
    }
    free(groups);
    return out;
}
