/*
 * endpoints: the endpoints controller's reconcile as a pure function (kubernetes
 * pkg/controller/endpoint, service-semantics.md §6.1): from a Service and the pods of its
 * namespace to the Endpoints object it wants, with subsets repacked into the canonical form of
 * RepackSubsets (addresses grouped by the set of ports they serve, not-ready kept apart).
 */
#include "svc/controllers.h"

#include "podutil.h"
#include "svc/util.h"

#include <arpa/inet.h>
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
    json_t *port;    /* the EndpointPort, owned; NULL for the "no ports" sentinel */
    int *ready;      /* per address index: -1 absent, 0 not ready, 1 ready */
    size_t n_ready;  /* slots of ready[] in use; addresses beyond are absent */
    char *key;       /* the address set as text, for grouping */
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

static int cmp_ip(const char *a, const char *b)
{
    unsigned char x[16] = {0}, y[16] = {0};
    int fa = strchr(a, ':') ? AF_INET6 : AF_INET, fb = strchr(b, ':') ? AF_INET6 : AF_INET;
    if (fa != fb)
        return fa == AF_INET ? -1 : 1;
    inet_pton(fa, a, x);
    inet_pton(fb, b, y);
    return memcmp(x, y, 16);
}

static int cmp_addr(const void *pa, const void *pb)
{
    json_t *a = *(json_t *const *)pa, *b = *(json_t *const *)pb;
    int c = cmp_ip(ju_str(a, "ip"), ju_str(b, "ip"));
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

/* Keep at most MAX_ENDPOINT_ADDRESSES, ready ones first, each subset its share. */
static bool truncate_subsets(json_t *subsets)
{
    size_t total = 0, ready_total = 0;
    size_t i;
    json_t *s;
    json_array_foreach(subsets, i, s) {
        ready_total += json_array_size(ju_arr(s, "addresses"));
        total += json_array_size(ju_arr(s, "addresses")) +
                 json_array_size(ju_arr(s, "notReadyAddresses"));
    }
    if (total <= MAX_ENDPOINT_ADDRESSES)
        return false;
    size_t budget = MAX_ENDPOINT_ADDRESSES;
    json_array_foreach(subsets, i, s) {
        const char *keys[2] = {"addresses", "notReadyAddresses"};
        for (int k = 0; k < 2; k++) {
            json_t *list = ju_arr(s, keys[k]);
            size_t n = json_array_size(list);
            size_t pool = k == 0 ? ready_total : total - ready_total;
            size_t share = k == 0 ? (ready_total <= MAX_ENDPOINT_ADDRESSES
                                         ? n
                                         : n * MAX_ENDPOINT_ADDRESSES / (pool ? pool : 1))
                                  : n * budget / (pool ? pool : 1);
            if (share > n)
                share = n;
            if (share > budget)
                share = budget;
            while (json_array_size(list) > share)
                json_array_remove(list, json_array_size(list) - 1);
            if (!json_array_size(list))
                json_object_del(s, keys[k]);
            budget -= share;
        }
    }
    return true;
}

json_t *endpoints_desired(const json_t *svc, json_t *const *pods, size_t n_pods,
                          const json_t *existing, struct timespec now)
{
    const json_t *spec = ju_obj(svc, "spec");
    const char *type = ju_str(spec, "type");
    const json_t *selector = ju_obj(spec, "selector");
    if ((type && !strcmp(type, "ExternalName")) || !json_object_size(selector))
        return NULL;
    const char *ns = ju_meta_str(svc, "namespace");
    bool publish_not_ready = ju_bool(spec, "publishNotReadyAddresses", false);
    const char *family = json_string_value(json_array_get(ju_arr(spec, "ipFamilies"), 0));
    const json_t *svc_ports = ju_arr(spec, "ports");
    const char *cip = ju_str(spec, "clusterIP");
    bool headless = cip && !strcmp(cip, "None");
    struct repack r = {0};
    for (size_t i = 0; i < n_pods; i++) {
        const json_t *pod = pods[i];
        const char *pns = ju_meta_str(pod, "namespace");
        if (!pns || !ns || strcmp(pns, ns) ||
            !podutil_selector_matches(selector, ju_obj(ju_obj(pod, "metadata"), "labels")))
            continue;
        if (podutil_is_terminal(pod))
            continue;
        if (podutil_is_terminating(pod) && !publish_not_ready)
            continue;
        const char *ip = podutil_ip_of_family(pod, family);
        if (!ip)
            continue;
        bool ready = publish_not_ready || podutil_is_ready(pod);
        if (!json_array_size(svc_ports)) {
            if (headless)
                add_pair(&r, address_for(pod, ip, svc), NULL, ready);
            continue;
        }
        size_t k;
        json_t *sp;
        json_array_foreach(svc_ports, k, sp) {
            int port = podutil_resolve_target_port(pod, sp);
            if (!port)
                continue;
            json_t *epp = json_object();
            const char *name = ju_str(sp, "name");
            if (!ju_empty(name))
                json_object_set_new(epp, "name", json_string(name));
            json_object_set_new(epp, "port", json_integer(port));
            json_object_set_new(epp, "protocol", json_string(ju_str(sp, "protocol") ?: "TCP"));
            const char *ap = ju_str(sp, "appProtocol");
            if (ap)
                json_object_set_new(epp, "appProtocol", json_string(ap));
            add_pair(&r, address_for(pod, ip, svc), epp, ready);
        }
    }
    json_t *subsets = repack(&r);
    repack_free(&r);

    json_t *labels = json_object();
    json_t *svc_labels = ju_obj(ju_obj(svc, "metadata"), "labels");
    if (svc_labels)
        json_object_update(labels, svc_labels);
    json_object_set_new(labels, "endpoints.kubernetes.io/managed-by",
                        json_string("endpoint-controller"));
    if (headless || ju_empty(cip))
        json_object_set_new(labels, "service.kubernetes.io/headless", json_string(""));
    json_t *annotations = json_object();
    /* The trigger time: the Service's creation on the first sync, now on later changes (the
       caller writes only when subsets or labels changed, so an unchanged object keeps its
       annotation). */
    char trigger[UTIL_RFC3339_NANO_LEN];
    if (!existing) {
        const char *created = ju_meta_str(svc, "creationTimestamp");
        snprintf(trigger, sizeof(trigger), "%s", created ? created : "");
    } else {
        util_format_time_nano(now, trigger);
    }
    if (trigger[0])
        json_object_set_new(annotations, "endpoints.kubernetes.io/last-change-trigger-time",
                            json_string(trigger));
    if (truncate_subsets(subsets))
        json_object_set_new(annotations, "endpoints.kubernetes.io/over-capacity",
                            json_string("truncated"));
    json_t *ep = json_pack("{s:s,s:s,s:{s:s,s:s,s:o,s:o}}", "kind", "Endpoints", "apiVersion",
                           "v1", "metadata", "name", ju_meta_str(svc, "name") ?: "", "namespace",
                           ns ? ns : "", "labels", labels, "annotations", annotations);
    if (json_array_size(subsets))
        json_object_set_new(ep, "subsets", subsets);
    else
        json_decref(subsets);
    return ep;
}
