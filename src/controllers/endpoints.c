/*
 * endpoints: the endpoints controller's reconcile as a pure function (kubernetes
 * pkg/controller/endpoint, service-semantics.md §6.1): from a Service and the pods of its
 * namespace to the Endpoints object it wants, with subsets repacked into the canonical form of
 * RepackSubsets (addresses grouped by the set of ports they serve, not-ready kept apart).
 */
#include "svc/controllers.h"

#include "podutil.h"
#include "svc/util.h"

#include <math.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

/* Upstream truncates Endpoints beyond this many addresses (EndpointSlices carry the rest). */
#define MAX_ENDPOINT_ADDRESSES 1000

struct addr_entry {
    const char *ip;
    const char *uid;
    json_t *addr; /* the EndpointAddress, owned */
};

struct port_entry {
    json_t *port;   /* the EndpointPort, owned; NULL for the "no ports" sentinel */
    int *ready;     /* per address index: -1 absent, 0 not ready, 1 ready */
    size_t n_ready; /* slots of ready[] in use; addresses beyond are absent */
    char *key;      /* the address set as text, for grouping */
};

struct repack {
    struct addr_entry *addrs;
    size_t n_addrs;
    struct port_entry *ports;
    size_t n_ports;
};

static size_t addr_index(struct repack *r, json_t *addr)
{
    const char *ip = ju_str(addr, "ip");
    const char *uid = ju_str(ju_obj(addr, "targetRef"), "uid");
    for (size_t i = 0; i < r->n_addrs; i++)
        if (!strcmp(r->addrs[i].ip, ip) && !strcmp(r->addrs[i].uid, uid ? uid : "")) {
            json_decref(addr);
            return i;
        }
    r->addrs = xrealloc(r->addrs, (r->n_addrs + 1) * sizeof(*r->addrs));
    r->addrs[r->n_addrs].ip = ip;
    r->addrs[r->n_addrs].uid = uid ? uid : "";
    r->addrs[r->n_addrs].addr = addr;
    return r->n_addrs++;
}

static struct port_entry *port_slot(struct repack *r, json_t *port)
{
    for (size_t i = 0; i < r->n_ports; i++) {
        json_t *p = r->ports[i].port;
        if ((!p && !port) || (p && port && json_equal(p, port))) {
            json_decref(port);
            return &r->ports[i];
        }
    }
    r->ports = xrealloc(r->ports, (r->n_ports + 1) * sizeof(*r->ports));
    struct port_entry *e = &r->ports[r->n_ports++];
    e->port = port;
    e->ready = NULL;
    e->n_ready = 0;
    e->key = NULL;
    return e;
}

static int readiness(const struct port_entry *pe, size_t a)
{
    return a < pe->n_ready ? pe->ready[a] : -1;
}

/* Record that addr serves port; not ready wins when one pair is seen both ways. */
static void add_pair(struct repack *r, json_t *addr, json_t *port, bool ready)
{
    size_t ai = addr_index(r, addr);
    struct port_entry *pe = port_slot(r, port);
    if (ai >= pe->n_ready) {
        pe->ready = xrealloc(pe->ready, (ai + 1) * sizeof(int));
        for (size_t k = pe->n_ready; k <= ai; k++)
            pe->ready[k] = -1;
        pe->n_ready = ai + 1;
    }
    if (pe->ready[ai] == 0)
        return;
    pe->ready[ai] = ready ? 1 : 0;
}

/* LessEndpointAddress (pkg/api/v1/endpoints/util.go): the IP *text* compared bytewise, so
   "10.0.0.10" sorts before "10.0.0.2"; then the pod UID. Odd-looking but upstream, and the
   order decides which addresses survive truncation: keep it. */
static int cmp_addr(const void *pa, const void *pb)
{
    json_t *a = *(json_t *const *)pa, *b = *(json_t *const *)pb;
    int c = strcmp(ju_str(a, "ip") ?: "", ju_str(b, "ip") ?: "");
    if (c)
        return c;
    const char *ua = ju_str(ju_obj(a, "targetRef"), "uid");
    const char *ub = ju_str(ju_obj(b, "targetRef"), "uid");
    return strcmp(ua ? ua : "", ub ? ub : "");
}

static int cmp_port(const void *pa, const void *pb)
{
    json_t *a = *(json_t *const *)pa, *b = *(json_t *const *)pb;
    long long d = ju_int(a, "port", 0) - ju_int(b, "port", 0);
    if (d)
        return d < 0 ? -1 : 1;
    const char *na = ju_str(a, "name"), *nb = ju_str(b, "name");
    int c = strcmp(na ? na : "", nb ? nb : "");
    if (c)
        return c;
    const char *xa = ju_str(a, "protocol"), *xb = ju_str(b, "protocol");
    return strcmp(xa ? xa : "", xb ? xb : "");
}

static json_t *sorted_array(json_t **items, size_t n, int (*cmp)(const void *, const void *))
{
    qsort(items, n, sizeof(*items), cmp);
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append(a, items[i]);
    return a;
}

struct subset_out {
    const char *key;
    json_t *subset;
};

static int cmp_subset(const void *a, const void *b)
{
    return strcmp(((const struct subset_out *)a)->key, ((const struct subset_out *)b)->key);
}

/* Turn the (address, port, readiness) facts into canonical subsets. */
static json_t *repack(struct repack *r)
{
    for (size_t p = 0; p < r->n_ports; p++) {
        struct port_entry *pe = &r->ports[p];
        size_t cap = r->n_addrs * 24 + 1, len = 0;
        pe->key = xmalloc(cap);
        pe->key[0] = '\0';
        for (size_t a = 0; a < r->n_addrs; a++) {
            if (readiness(pe, a) < 0)
                continue;
            len += (size_t)snprintf(pe->key + len, cap - len, "%zu:%d,", a, readiness(pe, a));
        }
    }
    struct subset_out *out = xcalloc(r->n_ports + 1, sizeof(*out));
    size_t n_out = 0;
    for (size_t p = 0; p < r->n_ports; p++) {
        struct port_entry *pe = &r->ports[p];
        bool seen = false;
        for (size_t q = 0; q < p; q++)
            seen |= !strcmp(r->ports[q].key, pe->key);
        if (seen)
            continue;
        json_t **ready = xcalloc(r->n_addrs + 1, sizeof(json_t *));
        json_t **notready = xcalloc(r->n_addrs + 1, sizeof(json_t *));
        json_t **ports = xcalloc(r->n_ports + 1, sizeof(json_t *));
        size_t nr = 0, nn = 0, np = 0;
        for (size_t a = 0; a < r->n_addrs; a++) {
            if (readiness(pe, a) == 1)
                ready[nr++] = r->addrs[a].addr;
            else if (readiness(pe, a) == 0)
                notready[nn++] = r->addrs[a].addr;
        }
        for (size_t q = p; q < r->n_ports; q++)
            if (!strcmp(r->ports[q].key, pe->key) && r->ports[q].port)
                ports[np++] = r->ports[q].port;
        json_t *subset = json_object();
        if (nr)
            json_object_set_new(subset, "addresses", sorted_array(ready, nr, cmp_addr));
        if (nn)
            json_object_set_new(subset, "notReadyAddresses", sorted_array(notready, nn, cmp_addr));
        if (np)
            json_object_set_new(subset, "ports", sorted_array(ports, np, cmp_port));
        free(ready);
        free(notready);
        free(ports);
        out[n_out].key = pe->key;
        out[n_out++].subset = subset;
    }
    qsort(out, n_out, sizeof(*out), cmp_subset);
    json_t *subsets = json_array();
    for (size_t i = 0; i < n_out; i++)
        json_array_append_new(subsets, out[i].subset);
    free(out);
    return subsets;
}

static void repack_free(struct repack *r)
{
    for (size_t i = 0; i < r->n_addrs; i++)
        json_decref(r->addrs[i].addr);
    for (size_t i = 0; i < r->n_ports; i++) {
        json_decref(r->ports[i].port);
        free(r->ports[i].ready);
        free(r->ports[i].key);
    }
    free(r->addrs);
    free(r->ports);
}

static json_t *address_for(const json_t *pod, const char *ip, const json_t *svc)
{
    const json_t *spec = ju_obj(pod, "spec");
    json_t *a = json_pack("{s:s}", "ip", ip);
    const char *hostname = ju_str(spec, "hostname");
    const char *subdomain = ju_str(spec, "subdomain");
    const char *svc_name = ju_meta_str(svc, "name");
    if (!ju_empty(hostname) && subdomain && svc_name && !strcmp(subdomain, svc_name))
        json_object_set_new(a, "hostname", json_string(hostname));
    const char *node = ju_str(spec, "nodeName");
    json_object_set_new(a, "nodeName", json_string(node ? node : ""));
    json_object_set_new(a, "targetRef",
                        json_pack("{s:s,s:s,s:s,s:s}", "kind", "Pod", "namespace",
                                  ju_meta_str(pod, "namespace") ?: "", "name",
                                  ju_meta_str(pod, "name") ?: "", "uid",
                                  ju_meta_str(pod, "uid") ?: ""));
    return a;
}

/* addressSubset: the first n of a sorted list (so the first by IP text); an emptied list goes. */
static void keep_first(json_t *subset, const char *key, size_t n)
{
    json_t *list = ju_arr(subset, key);
    while (json_array_size(list) > n)
        json_array_remove(list, json_array_size(list) - 1);
    if (list && !json_array_size(list))
        json_object_del(subset, key);
}

static void count_addresses(const json_t *subsets, size_t *ready, size_t *not_ready)
{
    size_t i;
    json_t *s;
    *ready = *not_ready = 0;
    json_array_foreach (subsets, i, s) {
        *ready += json_array_size(ju_arr(s, "addresses"));
        *not_ready += json_array_size(ju_arr(s, "notReadyAddresses"));
    }
}

/*
 * truncateEndpoints (pkg/controller/endpoint): at most MAX_ENDPOINT_ADDRESSES, ready ones
 * first. When the ready addresses alone are too many, every not-ready one goes and each subset
 * keeps ceil(its share of the ready ones x 1000); otherwise the not-ready ones are cut, each
 * subset keeping ceil(its share x what the ready ones leave). The rounding up is upstream's; a
 * running budget keeps the total at the cap, so later subsets may get less than their share.
 * Upstream keeps a subset emptied this way, which the apiserver then rejects ("must specify
 * `addresses` or `notReadyAddresses`"); such a subset is dropped here so the write succeeds.
 */
static bool truncate_subsets(json_t *subsets)
{
    size_t total_ready, total_not_ready;
    count_addresses(subsets, &total_ready, &total_not_ready);
    if (total_ready + total_not_ready <= MAX_ENDPOINT_ADDRESSES)
        return false;
    bool truncate_ready = total_ready > MAX_ENDPOINT_ADDRESSES;
    size_t max = truncate_ready ? MAX_ENDPOINT_ADDRESSES : MAX_ENDPOINT_ADDRESSES - total_ready;
    size_t num_total = truncate_ready ? total_ready : total_not_ready;
    const char *key = truncate_ready ? "addresses" : "notReadyAddresses";
    size_t can_be_added = max;
    size_t i;
    json_t *s;
    json_array_foreach (subsets, i, s) {
        size_t in_subset = json_array_size(ju_arr(s, key));
        size_t share = (size_t)ceil((double)in_subset / (double)num_total * (double)max);
        if (share > can_be_added)
            share = can_be_added;
        keep_first(s, key, share);
        if (truncate_ready)
            keep_first(s, "notReadyAddresses", 0);
        can_be_added -= json_array_size(ju_arr(s, key));
    }
    for (i = json_array_size(subsets); i-- > 0;) {
        s = json_array_get(subsets, i);
        if (!ju_arr(s, "addresses") && !ju_arr(s, "notReadyAddresses"))
            json_array_remove(subsets, i);
    }
    return true;
}

/* podToEndpointAddressForService: the family of the Service's first ipFamily; a Service from
   an older apiserver without ipFamilies uses its clusterIP's family, or, headless, the pod's. */
static const char *family_for(const json_t *spec)
{
    const char *family = json_string_value(json_array_get(ju_arr(spec, "ipFamilies"), 0));
    if (family)
        return family;
    const char *cip = ju_str(spec, "clusterIP");
    if (!ju_empty(cip) && strcmp(cip, "None"))
        return podutil_family_of(cip) ?: "IPv4";
    return NULL; /* podutil_ip_of_family then takes status.podIP */
}

/* The EndpointPort of a Service port resolved to port: name omitted when empty. */
static json_t *endpoint_port(const json_t *sp, int port)
{
    json_t *epp = json_object();
    const char *name = ju_str(sp, "name");
    if (!ju_empty(name))
        json_object_set_new(epp, "name", json_string(name));
    json_object_set_new(epp, "port", json_integer(port));
    json_object_set_new(epp, "protocol", json_string(ju_str(sp, "protocol") ?: "TCP"));
    const char *ap = ju_str(sp, "appProtocol");
    if (ap)
        json_object_set_new(epp, "appProtocol", json_string(ap));
    return epp;
}

/* Record every (address, port) pair the pod serves; false when it serves none. */
static bool add_pod(struct repack *r, const json_t *svc, const json_t *pod, const char *ip,
                    bool ready)
{
    const json_t *spec = ju_obj(svc, "spec");
    const json_t *svc_ports = ju_arr(spec, "ports");
    if (!json_array_size(svc_ports)) {
        /* Only a headless Service may have no ports; its addresses come without. */
        const char *cip = ju_str(spec, "clusterIP");
        if (!cip || strcmp(cip, "None"))
            return false;
        add_pair(r, address_for(pod, ip, svc), NULL, ready);
        return true;
    }
    bool any = false;
    size_t k;
    json_t *sp;
    json_array_foreach (svc_ports, k, sp) {
        int port = podutil_resolve_target_port(pod, sp);
        if (!port)
            continue;
        add_pair(r, address_for(pod, ip, svc), endpoint_port(sp, port), ready);
        any = true;
    }
    return any;
}

/* Whether the stored Endpoints shows the pod at ip with this readiness, and only so. */
static bool stored_as(const json_t *existing, const json_t *pod, const char *ip, bool ready)
{
    const char *uid = ju_meta_str(pod, "uid") ?: "";
    const char *keys[2] = {"addresses", "notReadyAddresses"};
    bool seen = false;
    size_t i, j;
    json_t *s, *a;
    json_array_foreach (ju_arr(existing, "subsets"), i, s) {
        for (int k = 0; k < 2; k++) {
            json_array_foreach (ju_arr(s, keys[k]), j, a) {
                if (strcmp(ju_str(ju_obj(a, "targetRef"), "uid") ?: "", uid))
                    continue;
                if (strcmp(ju_str(a, "ip") ?: "", ip) || (k == 0) != ready)
                    return false;
                seen = true;
            }
        }
    }
    return seen;
}

/*
 * The trigger time of this sync (upstream TriggerTimeTracker): the Service's creation when the
 * controller meets it first, else the earliest Ready transition among the pods that changed.
 * Upstream remembers each pod's last transition time between syncs; a pure function reads the
 * change off the stored Endpoints instead: a pod changed when it is not stored with the same
 * address and readiness. Pods that went contribute nothing, as upstream (they are not listed).
 */
static void note_pod_change(struct podutil_trigger *trigger, const json_t *existing,
                            const json_t *pod, const char *ip, bool ready)
{
    if (existing && !stored_as(existing, pod, ip, ready))
        podutil_trigger_note_pod(trigger, pod);
}

static json_t *endpoints_labels(const json_t *svc)
{
    const json_t *spec = ju_obj(svc, "spec");
    const char *cip = ju_str(spec, "clusterIP");
    json_t *labels = json_object();
    json_t *svc_labels = ju_obj(ju_obj(svc, "metadata"), "labels");
    if (svc_labels)
        json_object_update(labels, svc_labels);
    json_object_set_new(labels, "endpoints.kubernetes.io/managed-by",
                        json_string("endpoint-controller"));
    if (ju_empty(cip) || !strcmp(cip, "None"))
        json_object_set_new(labels, "service.kubernetes.io/headless", json_string(""));
    return labels;
}

json_t *endpoints_desired(const json_t *svc, json_t *const *pods, size_t n_pods,
                          const json_t *existing, struct timespec now)
{
    (void)now; /* the trigger time comes from the objects, never from the clock */
    const json_t *spec = ju_obj(svc, "spec");
    const char *type = ju_str(spec, "type");
    if ((type && !strcmp(type, "ExternalName")) || !json_object_size(ju_obj(spec, "selector")))
        return NULL;
    bool publish_not_ready = ju_bool(spec, "publishNotReadyAddresses", false);
    const char *family = family_for(spec);
    struct podutil_trigger trigger = {0};
    if (!existing)
        podutil_trigger_note(&trigger, ju_meta_str(svc, "creationTimestamp"));
    struct repack r = {0};
    for (size_t i = 0; i < n_pods; i++) {
        const json_t *pod = pods[i];
        if (!podutil_selected_by(pod, svc) ||
            !podutil_should_be_in_endpoints(pod, publish_not_ready))
            continue;
        const char *ip = podutil_ip_of_family(pod, family);
        if (!ip)
            continue;
        bool ready = publish_not_ready || podutil_is_ready(pod);
        if (add_pod(&r, svc, pod, ip, ready))
            note_pod_change(&trigger, existing, pod, ip, ready);
    }
    json_t *subsets = repack(&r);
    repack_free(&r);

    json_t *annotations = json_object();
    podutil_trigger_annotate(&trigger, annotations);
    if (truncate_subsets(subsets))
        json_object_set_new(annotations, "endpoints.kubernetes.io/over-capacity",
                            json_string("truncated"));
    const char *ns = ju_meta_str(svc, "namespace");
    json_t *ep =
        json_pack("{s:s,s:s,s:{s:s,s:s,s:o,s:o}}", "kind", "Endpoints", "apiVersion", "v1",
                  "metadata", "name", ju_meta_str(svc, "name") ?: "", "namespace", ns ? ns : "",
                  "labels", endpoints_labels(svc), "annotations", annotations);
    if (json_array_size(subsets))
        json_object_set_new(ep, "subsets", subsets);
    else
        json_decref(subsets);
    return ep;
}
