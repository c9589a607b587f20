/*
 * endpointslice: the EndpointSlice controller's reconcile as a pure function (staging
 * k8s.io/endpointslice reconciler.go and utils.go, service-semantics.md §6.2). From a Service,
 * the pods of its namespace and the slices stored for it, the slices it wants: the stored ones it
 * keeps as they are, the stored ones it rewrites (under their names) and new ones (generateName);
 * a stored slice left out is to be deleted.
 *
 * It follows upstream's reconcileByPortMapping so that one pod's change touches one slice: an
 * endpoint stays in the slice that holds it; a slice is rewritten only when one of its endpoints
 * changed or went, or its Service's labels did; new endpoints fill the slices being rewritten
 * (fullest first), then the unchanged slice they fit best, then new slices; and finalize turns a
 * creation into a rewrite of a slice being deleted, so names are reused. It depends on nothing
 * but the objects it is given (no Nodes: a pod naming no node counts as on a missing one).
 */
#include "svc/controllers.h"

#include "podutil.h"
#include "svc/util.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#define SERVICE_NAME_LABEL "kubernetes.io/service-name"
#define MANAGED_BY_LABEL   "endpointslice.kubernetes.io/managed-by"
#define MANAGED_BY         "endpointslice-controller.k8s.io"
#define HEADLESS_LABEL     "service.kubernetes.io/headless"

/* One wanted endpoint: an entry of upstream's EndpointSet. */
struct want {
    char *hash;        /* hashEndpoint: sorted addresses, hostname, pod namespace and name */
    json_t *ep;        /* the Endpoint, owned */
    const json_t *pod; /* borrowed */
    bool taken;        /* placed in a slice already */
};

/* The wanted endpoints of one port mapping of one address type. */
struct group {
    char *key;     /* the port mapping (NewPortMapKey) */
    json_t *ports; /* the EndpointPorts, owned (possibly empty) */
    struct want *wants;
    size_t n_wants, left;
};

/* One address type: its groups. */
struct family {
    const char *address_type; /* "IPv4" / "IPv6", static */
    struct group *groups;
    size_t n_groups;
};

/* SLICE_NONE: a creation that became the rewrite of a slice to delete (nothing of its own). */
enum slice_state { SLICE_UNCHANGED, SLICE_UPDATE, SLICE_DELETE, SLICE_CREATE, SLICE_NONE };

/* A slice as the reconcile decides about it. */
struct work {
    const json_t *stored; /* borrowed; NULL for a slice to create */
    json_t *obj;          /* owned: what is written (a copy of stored, or new); NULL if unchanged */
    char *key;            /* port mapping */
    enum slice_state state;
};

struct works {
    struct work *items;
    size_t n;
};

/* ---- building the wanted endpoints ----------------------------------------------------------- */

static bool is_headless(const json_t *svc)
{
    const char *cip = ju_str(ju_obj(svc, "spec"), "clusterIP");
    return ju_empty(cip) || !strcmp(cip, "None");
}

/* getAddressTypesForService: the Service's ipFamilies; without them (an older apiserver) the
   clusterIP's family, or both for a headless Service. out gets at most two, in order. */
static size_t address_types(const json_t *svc, const char *out[2])
{
    const json_t *spec = ju_obj(svc, "spec");
    size_t n = 0, i;
    json_t *f;
    json_array_foreach (ju_arr(spec, "ipFamilies"), i, f) {
        const char *at = !strcmp(json_string_value(f) ?: "", "IPv6")   ? "IPv6"
                         : !strcmp(json_string_value(f) ?: "", "IPv4") ? "IPv4"
                                                                       : NULL;
        if (at && n < 2 && (n == 0 || strcmp(out[0], at)))
            out[n++] = at;
    }
    if (n)
        return n;
    const char *cip = ju_str(spec, "clusterIP");
    if (!is_headless(svc)) {
        const char *fam = podutil_family_of(cip);
        out[0] = fam && !strcmp(fam, "IPv6") ? "IPv6" : "IPv4";
        return 1;
    }
    out[0] = "IPv4";
    out[1] = "IPv6";
    return 2;
}

/* getEndpointAddresses: the pod's addresses of the address type. */
static json_t *addresses_of(const json_t *pod, const char *address_type)
{
    json_t *list = json_array();
    size_t i;
    json_t *e;
    json_array_foreach (ju_arr(ju_obj(pod, "status"), "podIPs"), i, e) {
        const char *fam = podutil_family_of(ju_str(e, "ip"));
        if (fam && !strcmp(fam, address_type))
            json_array_append_new(list, json_string(ju_str(e, "ip")));
    }
    const char *ip = ju_str(ju_obj(pod, "status"), "podIP");
    const char *fam = podutil_family_of(ip);
    if (!json_array_size(ju_arr(ju_obj(pod, "status"), "podIPs")) && fam &&
        !strcmp(fam, address_type))
        json_array_append_new(list, json_string(ip));
    return list;
}

/* podToEndpoint: ready only when serving and not terminating, unless publishNotReadyAddresses. */
static json_t *endpoint_for(const json_t *pod, const json_t *svc, const char *address_type)
{
    const json_t *spec = ju_obj(pod, "spec");
    bool serving = podutil_is_ready(pod);
    bool terminating = podutil_is_terminating(pod);
    bool ready = ju_bool(ju_obj(svc, "spec"), "publishNotReadyAddresses", false) ||
                 (serving && !terminating);
    json_t *e =
        json_pack("{s:o,s:{s:b,s:b,s:b}}", "addresses", addresses_of(pod, address_type),
                  "conditions", "ready", ready, "serving", serving, "terminating", terminating);
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

/* getEndpointPorts: the ports the pod serves, in the Service's port order (name always set). */
static json_t *ports_for(const json_t *pod, const json_t *svc)
{
    json_t *ports = json_array();
    size_t i;
    json_t *sp;
    json_array_foreach (ju_arr(ju_obj(svc, "spec"), "ports"), i, sp) {
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

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Join n texts (sorted first) with sep into a new string; the texts are freed. */
static char *join_sorted(char **texts, size_t n, char sep)
{
    qsort(texts, n, sizeof(*texts), cmp_str);
    size_t len = 1;
    for (size_t i = 0; i < n; i++)
        len += strlen(texts[i]) + 1;
    char *out = xmalloc(len), *p = out;
    for (size_t i = 0; i < n; i++) {
        size_t l = strlen(texts[i]);
        memcpy(p, texts[i], l);
        p += l;
        if (i + 1 < n)
            *p++ = sep;
        free(texts[i]);
    }
    *p = '\0';
    return out;
}

/* NewPortMapKey: the set of ports, whatever their order; a stored port without a name or
   protocol counts as named "" and TCP, an empty list (null from storage) as no ports. */
static char *port_key(const json_t *ports)
{
    size_t n = json_array_size(ports), i;
    char **texts = xcalloc(n + 1, sizeof(char *));
    json_t *p;
    json_array_foreach (ports, i, p) {
        json_t *norm =
            json_pack("{s:s,s:s,s:I}", "name", ju_str(p, "name") ?: "", "protocol",
                      ju_str(p, "protocol") ?: "TCP", "port", (json_int_t)ju_int(p, "port", 0));
        if (ju_str(p, "appProtocol"))
            json_object_set_new(norm, "appProtocol", json_string(ju_str(p, "appProtocol")));
        texts[i] = ju_dumps(norm, JSON_COMPACT | JSON_SORT_KEYS);
        json_decref(norm);
    }
    char *key = join_sorted(texts, n, '\n');
    free(texts);
    return key;
}

/* hashEndpoint: what identifies an endpoint, so that a change of its conditions is an update
   in place rather than a removal and an addition. */
static char *endpoint_hash(const json_t *ep)
{
    const json_t *addrs = ju_arr(ep, "addresses");
    size_t n = json_array_size(addrs);
    char **texts = xcalloc(n + 1, sizeof(char *));
    for (size_t i = 0; i < n; i++)
        texts[i] = xstrdup(json_string_value(json_array_get(addrs, i)) ?: "");
    char *a = join_sorted(texts, n, ',');
    free(texts);
    const json_t *ref = ju_obj(ep, "targetRef");
    char *hash = xasprintf("%s|%s|%s/%s", a, ju_str(ep, "hostname") ?: "",
                           ju_str(ref, "namespace") ?: "", ju_str(ref, "name") ?: "");
    free(a);
    return hash;
}

static bool same_str(const json_t *a, const json_t *b, const char *key)
{
    const char *x = ju_str(a, key), *y = ju_str(b, key);
    return (!x && !y) || (x && y && !strcmp(x, y));
}

static bool same_bool(const json_t *a, const json_t *b, const char *key)
{
    json_t *x = json_object_get(a, key), *y = json_object_get(b, key);
    if (!json_is_boolean(x) || !json_is_boolean(y))
        return json_is_boolean(x) == json_is_boolean(y);
    return json_is_true(x) == json_is_true(y);
}

/* EndpointsEqualBeyondHash: nodeName, zone, the three conditions and the targetRef (but its
   resourceVersion) are the same. */
static bool same_beyond_hash(const json_t *a, const json_t *b)
{
    const json_t *ca = ju_obj(a, "conditions"), *cb = ju_obj(b, "conditions");
    const json_t *ra = ju_obj(a, "targetRef"), *rb = ju_obj(b, "targetRef");
    static const char *const ref_keys[] = {"kind", "namespace",  "name",
                                           "uid",  "apiVersion", "fieldPath"};
    if (!same_str(a, b, "nodeName") || !same_str(a, b, "zone") || !same_bool(ca, cb, "ready") ||
        !same_bool(ca, cb, "serving") || !same_bool(ca, cb, "terminating") || (!ra) != (!rb))
        return false;
    for (size_t i = 0; i < sizeof(ref_keys) / sizeof(ref_keys[0]); i++)
        if (!same_str(ra, rb, ref_keys[i]))
            return false;
    return true;
}

static struct group *group_for(struct family *f, json_t *ports)
{
    char *key = port_key(ports);
    for (size_t i = 0; i < f->n_groups; i++)
        if (!strcmp(f->groups[i].key, key)) {
            free(key);
            json_decref(ports);
            return &f->groups[i];
        }
    f->groups = xrealloc(f->groups, (f->n_groups + 1) * sizeof(*f->groups));
    struct group *g = &f->groups[f->n_groups++];
    *g = (struct group){.key = key, .ports = ports};
    return g;
}

static void group_add(struct group *g, json_t *ep, const json_t *pod)
{
    g->wants = xrealloc(g->wants, (g->n_wants + 1) * sizeof(*g->wants));
    g->wants[g->n_wants++] = (struct want){.hash = endpoint_hash(ep), .ep = ep, .pod = pod};
    g->left++;
}

static int cmp_want(const void *a, const void *b)
{
    return strcmp(((const struct want *)a)->hash, ((const struct want *)b)->hash);
}

static int cmp_group(const void *a, const void *b)
{
    return strcmp(((const struct group *)a)->key, ((const struct group *)b)->key);
}

/*
 * The wanted endpoints of one address type, grouped by port mapping (reconcileByAddressType's
 * first loop). Terminating pods are in (with their conditions). A pod whose Node is not found is
 * left out unless publishNotReadyAddresses; without Nodes here, that is a pod naming none. As
 * upstream, its port mapping counts as wanted even so, and so does that of a pod without an
 * address of this type.
 */
static void family_build(struct family *f, const json_t *svc, json_t *const *pods, size_t n)
{
    bool publish = ju_bool(ju_obj(svc, "spec"), "publishNotReadyAddresses", false);
    for (size_t i = 0; i < n; i++) {
        const json_t *pod = pods[i];
        if (!podutil_selected_by(pod, svc) || !podutil_should_be_in_endpoints(pod, true))
            continue;
        struct group *g = group_for(f, ports_for(pod, svc));
        if (ju_empty(ju_str(ju_obj(pod, "spec"), "nodeName")) && !publish)
            continue;
        json_t *ep = endpoint_for(pod, svc, f->address_type);
        if (json_array_size(ju_arr(ep, "addresses")))
            group_add(g, ep, pod);
        else
            json_decref(ep);
    }
    /* Deterministic where upstream iterates maps and pops from a set. */
    if (f->n_groups)
        qsort(f->groups, f->n_groups, sizeof(*f->groups), cmp_group);
    for (size_t i = 0; i < f->n_groups; i++)
        if (f->groups[i].n_wants)
            qsort(f->groups[i].wants, f->groups[i].n_wants, sizeof(struct want), cmp_want);
}

static void family_release(struct family *f)
{
    for (size_t i = 0; i < f->n_groups; i++) {
        struct group *g = &f->groups[i];
        for (size_t k = 0; k < g->n_wants; k++) {
            free(g->wants[k].hash);
            json_decref(g->wants[k].ep);
        }
        free(g->wants);
        free(g->key);
        json_decref(g->ports);
    }
    free(f->groups);
}

/* The wanted endpoint with this hash not yet placed, or NULL (the hash names a pod, so there
   is at most one). */
static struct want *group_find(struct group *g, const char *hash)
{
    struct want key = {.hash = (char *)hash};
    struct want *w =
        g->n_wants ? bsearch(&key, g->wants, g->n_wants, sizeof(*g->wants), cmp_want) : NULL;
    return w && !w->taken ? w : NULL;
}

/* PopAny, in hash order. */
static struct want *group_pop(struct group *g)
{
    for (size_t i = 0; i < g->n_wants; i++)
        if (!g->wants[i].taken) {
            g->wants[i].taken = true;
            g->left--;
            return &g->wants[i];
        }
    return NULL;
}

/* ---- slices ---------------------------------------------------------------------------------- */

/* ownedBy: an ownerReference to this Service (Service/v1, same uid). */
static bool owned_by(const json_t *slice, const json_t *svc)
{
    const char *uid = ju_meta_str(svc, "uid");
    size_t i;
    json_t *o;
    json_array_foreach (ju_arr(ju_obj(slice, "metadata"), "ownerReferences"), i, o) {
        if (uid && !strcmp(ju_str(o, "uid") ?: "", uid) &&
            !strcmp(ju_str(o, "kind") ?: "", "Service") &&
            !strcmp(ju_str(o, "apiVersion") ?: "", "v1"))
            return true;
    }
    return false;
}

static bool reserved_label(const char *k)
{
    return !strcmp(k, SERVICE_NAME_LABEL) || !strcmp(k, MANAGED_BY_LABEL) ||
           !strcmp(k, HEADLESS_LABEL);
}

static json_t *unreserved(const json_t *labels)
{
    json_t *out = json_object();
    const char *k;
    json_t *v;
    json_object_foreach ((json_t *)labels, k, v) {
        if (!reserved_label(k))
            json_object_set(out, k, v);
    }
    return out;
}

/*
 * setEndpointSliceLabels: the labels a slice of svc carries (a new object) and, in *changed,
 * whether the slice's own labels other than the reserved ones differ from the Service's. A
 * change of the headless label alone does not count, as upstream.
 */
static json_t *slice_labels(const json_t *slice_labels_now, const json_t *svc, bool *changed)
{
    json_t *labels = unreserved(ju_obj(ju_obj(svc, "metadata"), "labels"));
    if (changed) {
        json_t *mine = unreserved(slice_labels_now);
        *changed = !json_equal(mine, labels);
        json_decref(mine);
    }
    if (is_headless(svc))
        json_object_set_new(labels, HEADLESS_LABEL, json_string(""));
    json_object_set_new(labels, SERVICE_NAME_LABEL, json_string(ju_meta_str(svc, "name") ?: ""));
    json_object_set_new(labels, MANAGED_BY_LABEL, json_string(MANAGED_BY));
    return labels;
}

/* newEndpointSlice: generateName "<service>-", the Service as controlling owner, no endpoints.
   Empty lists are written as null, the form they take in storage. */
static json_t *new_slice(const json_t *svc, const char *address_type, const json_t *ports)
{
    char *gen = xasprintf("%s-", ju_meta_str(svc, "name") ?: "");
    json_t *owner =
        json_pack("{s:s,s:s,s:s,s:s,s:b,s:b}", "apiVersion", "v1", "kind", "Service", "name",
                  ju_meta_str(svc, "name") ?: "", "uid", ju_meta_str(svc, "uid") ?: "",
                  "controller", 1, "blockOwnerDeletion", 1);
    json_t *meta =
        json_pack("{s:s,s:s,s:o,s:{},s:[o]}", "generateName", gen, "namespace",
                  ju_meta_str(svc, "namespace") ?: "", "labels", slice_labels(NULL, svc, NULL),
                  "annotations", "ownerReferences", owner);
    free(gen);
    return json_pack("{s:s,s:s,s:o,s:s,s:n,s:o}", "kind", "EndpointSlice", "apiVersion",
                     "discovery.k8s.io/v1", "metadata", meta, "addressType", address_type,
                     "endpoints", "ports",
                     json_array_size(ports) ? json_deep_copy(ports) : json_null());
}

static size_t n_endpoints(const json_t *slice)
{
    return json_array_size(ju_arr(slice, "endpoints"));
}

static json_t *endpoints_list(json_t *slice)
{
    json_t *list = ju_arr(slice, "endpoints");
    if (!list) {
        list = json_array();
        json_object_set_new(slice, "endpoints", list);
    }
    return list;
}

/* Move wanted endpoints of g into slice until it holds max. */
static void fill(json_t *slice, struct group *g, size_t max)
{
    json_t *list = endpoints_list(slice);
    struct want *w;
    while (json_array_size(list) < max && (w = group_pop(g)))
        json_array_append(list, w->ep);
}

static struct work *works_add(struct works *ws, const json_t *stored, json_t *obj, const char *key,
                              enum slice_state state)
{
    ws->items = xrealloc(ws->items, (ws->n + 1) * sizeof(*ws->items));
    struct work *w = &ws->items[ws->n++];
    *w = (struct work){.stored = stored, .obj = obj, .key = xstrdup(key), .state = state};
    return w;
}

static void works_release(struct works *ws)
{
    for (size_t i = 0; i < ws->n; i++) {
        json_decref(ws->items[i].obj);
        free(ws->items[i].key);
    }
    free(ws->items);
}

/*
 * Step 1 of reconcileByPortMapping for one stored slice: keep the endpoints still wanted (in
 * their wanted form), and decide whether the slice stays, is rewritten or goes.
 */
static void settle_stored(struct work *w, struct group *g, const json_t *svc)
{
    json_t *kept = json_array();
    bool updated = false;
    size_t i;
    json_t *e;
    json_array_foreach (ju_arr(w->stored, "endpoints"), i, e) {
        char *hash = endpoint_hash(e);
        struct want *want = group_find(g, hash);
        free(hash);
        if (!want)
            continue;
        json_array_append(kept, want->ep);
        updated |= !same_beyond_hash(want->ep, e);
        want->taken = true;
        g->left--;
    }
    bool labels_changed;
    json_t *labels =
        slice_labels(ju_obj(ju_obj(w->stored, "metadata"), "labels"), svc, &labels_changed);
    bool lost = json_array_size(kept) != n_endpoints(w->stored);
    if ((updated || lost) && !json_array_size(kept)) {
        w->state = SLICE_DELETE;
    } else if (updated || lost || labels_changed) {
        w->obj = json_deep_copy(w->stored);
        if (updated || lost)
            json_object_set(w->obj, "endpoints", kept);
        json_object_set(ju_ensure_obj(w->obj, "metadata"), "labels", labels);
        w->state = SLICE_UPDATE;
    }
    json_decref(labels);
    json_decref(kept);
}

static int cmp_fullest(const void *a, const void *b)
{
    const struct work *x = *(struct work *const *)a, *y = *(struct work *const *)b;
    size_t nx = n_endpoints(x->obj), ny = n_endpoints(y->obj);
    return nx > ny ? -1 : nx < ny ? 1 : 0;
}

/* Step 2: what is left fills the slices being rewritten anyway, fullest first. */
static void fill_updates(struct works *ws, size_t from, struct group *g, size_t max)
{
    struct work **ups = xcalloc(ws->n - from + 1, sizeof(*ups));
    size_t n = 0;
    for (size_t i = from; i < ws->n; i++)
        if (ws->items[i].state == SLICE_UPDATE && !strcmp(ws->items[i].key, g->key))
            ups[n++] = &ws->items[i];
    /* Ties keep the name order the slices came in. */
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && cmp_fullest(&ups[j - 1], &ups[j]) > 0; j--) {
            struct work *t = ups[j];
            ups[j] = ups[j - 1];
            ups[j - 1] = t;
        }
    for (size_t i = 0; i < n && g->left; i++)
        fill(ups[i]->obj, g, max);
    free(ups);
}

/* getSliceToFill: the unchanged slice of g's mapping that n more endpoints bring closest to
   full, or NULL. */
static struct work *slice_to_fill(struct works *ws, size_t from, const struct group *g, size_t n,
                                  size_t max)
{
    struct work *best = NULL;
    size_t closest = max;
    for (size_t i = from; i < ws->n; i++) {
        struct work *w = &ws->items[i];
        if (w->state != SLICE_UNCHANGED || strcmp(w->key, g->key))
            continue;
        size_t have = n_endpoints(w->stored);
        if (n + have > max || max - (n + have) >= closest)
            continue;
        closest = max - (n + have);
        best = w;
        if (closest == 0)
            break;
    }
    return best;
}

/* Step 3: the rest goes into the unchanged slice it fits best, else into new slices. */
static void place_rest(struct works *ws, size_t from, struct group *g, const json_t *svc,
                       const char *address_type, size_t max)
{
    while (g->left) {
        struct work *w = g->left < max ? slice_to_fill(ws, from, g, g->left, max) : NULL;
        if (w) {
            w->obj = json_deep_copy(w->stored);
            w->state = SLICE_UPDATE;
        } else {
            w = works_add(ws, NULL, new_slice(svc, address_type, g->ports), g->key, SLICE_CREATE);
        }
        fill(w->obj, g, max);
    }
}

static struct group *family_group(struct family *f, const char *key)
{
    for (size_t i = 0; i < f->n_groups; i++)
        if (!strcmp(f->groups[i].key, key))
            return &f->groups[i];
    return NULL;
}

static int cmp_slice_name(const void *a, const void *b)
{
    return strcmp(ju_meta_str(*(json_t *const *)a, "name") ?: "",
                  ju_meta_str(*(json_t *const *)b, "name") ?: "");
}

/* The stored slices of one address type, by name (upstream's order is the informer's). */
static void add_stored(struct works *ws, const json_t *svc, json_t *const *existing, size_t n,
                       const char *address_type)
{
    json_t **mine = xcalloc(n + 1, sizeof(*mine));
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (!strcmp(ju_str(existing[i], "addressType") ?: "", address_type))
            mine[k++] = existing[i];
    qsort(mine, k, sizeof(*mine), cmp_slice_name);
    for (size_t i = 0; i < k; i++) {
        char *key = port_key(ju_arr(mine[i], "ports"));
        /* Slices of another owner (an old Service of the same name) go. */
        works_add(ws, mine[i], NULL, key, owned_by(mine[i], svc) ? SLICE_UNCHANGED : SLICE_DELETE);
        free(key);
    }
    free(mine);
}

/* placeholderSliceCompare: a stored slice equal to the placeholder in what counts (namespace,
   labels, address type, no endpoints, no ports). */
static bool is_placeholder_like(const json_t *stored, const json_t *placeholder)
{
    const json_t *sm = ju_obj(stored, "metadata"), *pm = ju_obj(placeholder, "metadata");
    json_t *empty = json_object();
    const json_t *sl = ju_obj(sm, "labels"), *pl = ju_obj(pm, "labels");
    bool same = same_str(sm, pm, "namespace") && json_equal(sl ? sl : empty, pl ? pl : empty) &&
                same_str(stored, placeholder, "addressType") && !n_endpoints(stored) &&
                !json_array_size(ju_arr(stored, "ports"));
    json_decref(empty);
    return same;
}

static size_t count_state(const struct works *ws, size_t from, enum slice_state state)
{
    size_t n = 0;
    for (size_t i = from; i < ws->n; i++)
        n += ws->items[i].state == state;
    return n;
}

/* When no slice would be left for the address type, a placeholder: the one stored if it is
   one, else a new one. */
static void ensure_placeholder(struct works *ws, size_t from, const json_t *svc,
                               const char *address_type)
{
    size_t n_stored = 0;
    for (size_t i = from; i < ws->n; i++)
        n_stored += ws->items[i].stored != NULL;
    size_t n_delete = count_state(ws, from, SLICE_DELETE);
    if (n_stored != n_delete || count_state(ws, from, SLICE_CREATE))
        return;
    json_t *placeholder = new_slice(svc, address_type, NULL);
    if (n_delete == 1) {
        for (size_t i = from; i < ws->n; i++)
            if (ws->items[i].state == SLICE_DELETE &&
                is_placeholder_like(ws->items[i].stored, placeholder)) {
                ws->items[i].state = SLICE_UNCHANGED; /* not deleted and created again */
                json_decref(placeholder);
                return;
            }
    }
    char *key = port_key(NULL);
    works_add(ws, NULL, placeholder, key, SLICE_CREATE);
    free(key);
}

/*
 * finalize: a slice to create takes the name of a slice to delete (the last creation first),
 * when that one is the Service's own: the placeholder getting its first endpoints, a port
 * change, the last endpoint gone all rewrite one slice instead of deleting one and creating
 * another. Slices of another owner are never taken over.
 */
static void reuse_names(struct works *ws, size_t from, const json_t *svc)
{
    for (size_t d = from; d < ws->n; d++) {
        struct work *del = &ws->items[d];
        if (del->state != SLICE_DELETE || !owned_by(del->stored, svc))
            continue;
        struct work *create = NULL;
        for (size_t c = ws->n; c-- > from && !create;)
            if (ws->items[c].state == SLICE_CREATE)
                create = &ws->items[c];
        if (!create)
            return;
        json_object_set_new(ju_ensure_obj(create->obj, "metadata"), "name",
                            json_string(ju_meta_str(del->stored, "name") ?: ""));
        del->obj = create->obj;
        del->state = SLICE_UPDATE;
        create->obj = NULL;
        create->state = SLICE_NONE;
    }
}

/* reconcileByAddressType: decide about every stored slice of the address type and add the
   slices to create, all to ws. */
static void reconcile_family(struct works *ws, struct family *f, const json_t *svc,
                             json_t *const *existing, size_t n_existing, size_t max)
{
    size_t from = ws->n;
    add_stored(ws, svc, existing, n_existing, f->address_type);
    size_t n_stored = ws->n;
    for (size_t i = from; i < n_stored; i++) {
        struct work *w = &ws->items[i];
        if (w->state != SLICE_UNCHANGED)
            continue;
        struct group *g = family_group(f, w->key);
        if (g)
            settle_stored(w, g, svc);
        else
            w->state = SLICE_DELETE; /* a port mapping no longer wanted */
    }
    for (size_t gi = 0; gi < f->n_groups; gi++) {
        struct group *g = &f->groups[gi];
        if (g->left)
            fill_updates(ws, from, g, max);
        place_rest(ws, from, g, svc, f->address_type, max);
    }
    ensure_placeholder(ws, from, svc, f->address_type);
    reuse_names(ws, from, svc);
}

/* ---- trigger time ---------------------------------------------------------------------------- */

/* The endpoints stored in the Service's own slices, by address type and hash. */
struct stored_ep {
    const char *address_type; /* borrowed */
    char *hash;
    const json_t *ep; /* borrowed */
};

static int cmp_stored_ep(const void *a, const void *b)
{
    const struct stored_ep *x = a, *y = b;
    int c = strcmp(x->address_type, y->address_type);
    return c ? c : strcmp(x->hash, y->hash);
}

static struct stored_ep *stored_index(json_t *const *existing, size_t n, const json_t *svc,
                                      size_t *count)
{
    struct stored_ep *idx = NULL;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (!owned_by(existing[i], svc))
            continue;
        size_t j;
        json_t *e;
        json_array_foreach (ju_arr(existing[i], "endpoints"), j, e) {
            idx = xrealloc(idx, (k + 1) * sizeof(*idx));
            idx[k++] = (struct stored_ep){.address_type = ju_str(existing[i], "addressType") ?: "",
                                          .hash = endpoint_hash(e),
                                          .ep = e};
        }
    }
    if (k)
        qsort(idx, k, sizeof(*idx), cmp_stored_ep);
    *count = k;
    return idx;
}

static void stored_index_free(struct stored_ep *idx, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(idx[i].hash);
    free(idx);
}

/*
 * The trigger time (upstream TriggerTimeTracker, one per controller): the Service's creation
 * when the controller meets the Service first, else the earliest Ready transition among the
 * pods whose Ready transition moved since the last sync. With no memory between calls, "first"
 * is "no slice of the Service is stored", and a pod's Ready transition moved when its endpoint
 * is new or its serving condition (the Ready condition) differs from the stored one.
 */
static struct podutil_trigger trigger_time(const json_t *svc, struct family *fams, size_t n_fams,
                                           json_t *const *existing, size_t n_existing)
{
    struct podutil_trigger t = {0};
    bool known = false;
    for (size_t i = 0; i < n_existing && !known; i++)
        known = owned_by(existing[i], svc);
    if (!known) {
        podutil_trigger_note(&t, ju_meta_str(svc, "creationTimestamp"));
        return t;
    }
    size_t n_idx;
    struct stored_ep *idx = stored_index(existing, n_existing, svc, &n_idx);
    for (size_t f = 0; f < n_fams; f++)
        for (size_t gi = 0; gi < fams[f].n_groups; gi++) {
            const struct group *g = &fams[f].groups[gi];
            for (size_t k = 0; k < g->n_wants; k++) {
                struct stored_ep key = {.address_type = fams[f].address_type,
                                        .hash = g->wants[k].hash};
                const struct stored_ep *e =
                    n_idx ? bsearch(&key, idx, n_idx, sizeof(*idx), cmp_stored_ep) : NULL;
                if (!e || !same_bool(ju_obj(e->ep, "conditions"),
                                     ju_obj(g->wants[k].ep, "conditions"), "serving"))
                    podutil_trigger_note_pod(&t, g->wants[k].pod);
            }
        }
    stored_index_free(idx, n_idx);
    return t;
}

/* ---- the result ------------------------------------------------------------------------------ */

/* The slices wanted: stored ones as they are, rewritten ones and new ones with the trigger
   time (addTriggerTimeAnnotation); those to delete are left out. A Service being deleted gets
   no new slices (upstream avoids racing the garbage collector). */
static json_t *collect(struct works *ws, const json_t *svc, const struct podutil_trigger *t)
{
    bool deleting = podutil_is_terminating(svc);
    json_t *out = json_array();
    for (size_t i = 0; i < ws->n; i++) {
        struct work *w = &ws->items[i];
        if (w->state == SLICE_UNCHANGED) {
            json_array_append_new(out, json_deep_copy(w->stored));
            continue;
        }
        if (w->state == SLICE_DELETE || w->state == SLICE_NONE ||
            (w->state == SLICE_CREATE && deleting))
            continue;
        json_t *slice = w->obj;
        w->obj = NULL;
        json_t *meta = ju_ensure_obj(slice, "metadata");
        json_t *ann = json_object_get(meta, "annotations");
        if (!json_is_object(ann)) {
            ann = json_object();
            json_object_set_new(meta, "annotations", ann);
        }
        podutil_trigger_annotate(t, ann);
        if (!n_endpoints(slice))
            json_object_set_new(slice, "endpoints", json_null());
        json_array_append_new(out, slice);
    }
    return out;
}

json_t *endpointslices_desired(const json_t *svc, json_t *const *pods, size_t n_pods,
                               json_t *const *existing, size_t n_existing, int max_per_slice,
                               struct timespec now)
{
    (void)now; /* the trigger time comes from the objects, never from the clock */
    const json_t *spec = ju_obj(svc, "spec");
    const char *type = ju_str(spec, "type");
    if ((type && !strcmp(type, "ExternalName")) || !json_object_size(ju_obj(spec, "selector")))
        return NULL;
    size_t max = max_per_slice > 0 ? (size_t)max_per_slice : 100;
    const char *types[2];
    size_t n_fams = address_types(svc, types);
    struct family fams[2] = {{0}};
    for (size_t f = 0; f < n_fams; f++) {
        fams[f].address_type = types[f];
        family_build(&fams[f], svc, pods, n_pods);
    }
    struct podutil_trigger t = trigger_time(svc, fams, n_fams, existing, n_existing);
    /* Slices of an address type the Service no longer has are simply not carried over. */
    struct works ws = {0};
    for (size_t f = 0; f < n_fams; f++)
        reconcile_family(&ws, &fams[f], svc, existing, n_existing, max);
    json_t *out = collect(&ws, svc, &t);
    works_release(&ws);
    for (size_t f = 0; f < n_fams; f++)
        family_release(&fams[f]);
    return out;
}
