/*
 * Unit tests for the reconcilers of the endpoints and EndpointSlice controllers
 * (endpoints_desired and endpointslices_desired, src/controllers/endpoints.c and
 * endpointslice.c), called as pure functions: a Service and pods in, the wanted Endpoints or
 * EndpointSlices out.
 *
 * The cases are data under tests/data/controllers/ (each file says what it covers in its
 * "about"). Expected values are those of kube-controller-manager 1.33 (pkg/controller/endpoint,
 * staging k8s.io/endpointslice), never this code's output. To keep the tables readable, pods,
 * stored slices and expected slices are written in a shorthand that this file expands:
 *
 *   pod:    {"name", "namespace" (default), "uid" (uid-<name>), "labels" ({"app": "web"}),
 *            "ip" | "ips", "node" (node-1; null for none), "ready" (true), "readySince",
 *            "terminating" (false), "phase" (Running), "hostname", "subdomain", "ports" (of the one
 *            container), "containers", "initContainers"}; a string names an entry of the file's
 *            "pod_set"; "generate_pods" makes "count" pods named prefix+number from "first_ip" on.
 *   endpoint of a slice: a pod name, or {"pod", "ready", "serving", "terminating"} to give other
 *            conditions; it expands to the endpoint upstream's podToEndpoint builds for that pod.
 *   slice:  {"name" | "generateName", "eps", "ports", "addressType", "labels", "annotations",
 *            "owner_uid", "placeholder"}.
 *
 * In expectations an object must have exactly the keys given unless it holds "$partial": true;
 * "$any" is any value, "$empty" is an absent, null or empty list, {"$absent": true} a missing
 * member, {"$not": X} anything but X, {"$unordered": [...]} an array in any order.
 * Every case of a file runs; each failing case is reported with what differed.
 */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "svc/controllers.h"
#include "svc/util.h"

#ifndef TEST_DATA_DIR
#define TEST_DATA_DIR "tests/data"
#endif

#define DEFAULT_NOW "2025-05-01T10:00:09Z"
#define MAX_ITEMS   4096

static json_t *load(const char *name)
{
    char path[512];
    json_error_t err;
    snprintf(path, sizeof(path), "%s/controllers/%s", TEST_DATA_DIR, name);
    json_t *root = json_load_file(path, 0, &err);
    cr_assert_not_null(root, "cannot load %s: %s (line %d)", path, err.text, err.line);
    return root;
}

/* RFC 7386 merge patch: a new value; null members delete. */
static json_t *merge_patch(const json_t *target, const json_t *patch)
{
    if (!patch)
        return json_deep_copy(target);
    if (!json_is_object(patch))
        return json_deep_copy(patch);
    json_t *out = json_is_object(target) ? json_deep_copy(target) : json_object();
    const char *k;
    json_t *v;
    json_object_foreach ((json_t *)patch, k, v) {
        if (json_is_null(v))
            json_object_del(out, k);
        else
            json_object_set_new(out, k, merge_patch(json_object_get(out, k), v));
    }
    return out;
}

/* ---- matching ----------------------------------------------------------------------------------
 */

struct why {
    char msg[1024];
};

static bool mismatch(struct why *w, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static bool mismatch(struct why *w, const char *path, const char *fmt, ...)
{
    char text[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    snprintf(w->msg, sizeof(w->msg), "at %s: %s", *path ? path : "(top)", text);
    return false;
}

static char *dump(const json_t *v)
{
    if (!v)
        return xstrdup("(absent)");
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_SORT_KEYS);
    if (s && strlen(s) > 600)
        strcpy(s + 590, " ...");
    return s ? s : xstrdup("?");
}

static bool is_directive(const json_t *v, const char *name)
{
    return json_is_object(v) && json_object_get(v, name);
}

static bool is_word(const json_t *v, const char *word)
{
    return json_is_string(v) && !strcmp(json_string_value(v), word);
}

static bool match(const json_t *want, const json_t *got, const char *path, struct why *w);

static bool assign(const json_t *want, const json_t *got, size_t i, bool *used)
{
    if (i == json_array_size(want))
        return true;
    for (size_t j = 0; j < json_array_size(got); j++) {
        struct why tmp;
        if (used[j] || !match(json_array_get(want, i), json_array_get(got, j), "", &tmp))
            continue;
        used[j] = true;
        if (assign(want, got, i + 1, used))
            return true;
        used[j] = false;
    }
    return false;
}

static bool match_unordered(const json_t *want, const json_t *got, const char *path, struct why *w)
{
    if (!json_is_array(got)) {
        if (json_array_size(want) == 0 && (!got || json_is_null(got)))
            return true;
        return mismatch(w, path, "want a list, got %s", json_is_null(got) ? "null" : "no list");
    }
    if (json_array_size(want) != json_array_size(got))
        return mismatch(w, path, "want %zu items (any order), got %zu", json_array_size(want),
                        json_array_size(got));
    bool *used = calloc(json_array_size(got) + 1, sizeof(bool));
    bool ok = assign(want, got, 0, used);
    free(used);
    if (ok)
        return true;
    /* Say which wanted item has no counterpart, and why the first candidate differs. */
    for (size_t i = 0; i < json_array_size(want); i++) {
        bool any = false;
        struct why first = {{0}};
        for (size_t j = 0; j < json_array_size(got) && !any; j++) {
            struct why tmp;
            any = match(json_array_get(want, i), json_array_get(got, j), "", &tmp);
            if (!any && !first.msg[0])
                first = tmp;
        }
        if (!any) {
            char *d = dump(json_array_get(want, i));
            mismatch(w, path, "nothing matches wanted item %zu %s (vs item 0: %s)", i, d,
                     first.msg);
            free(d);
            return false;
        }
    }
    return mismatch(w, path, "items match only with reuse (duplicates differ)");
}

static bool match(const json_t *want, const json_t *got, const char *path, struct why *w)
{
    char sub[512];
    if (is_word(want, "$any"))
        return got ? true : mismatch(w, path, "missing");
    if (is_word(want, "$empty")) {
        if (!got || json_is_null(got) || (json_is_array(got) && json_array_size(got) == 0))
            return true;
        char *d = dump(got);
        mismatch(w, path, "want nothing, got %s", d);
        free(d);
        return false;
    }
    if (is_directive(want, "$unordered"))
        return match_unordered(json_object_get(want, "$unordered"), got, path, w);
    if (is_directive(want, "$not")) {
        struct why tmp;
        if (got && match(json_object_get(want, "$not"), got, path, &tmp)) {
            char *d = dump(got);
            mismatch(w, path, "must not be %s", d);
            free(d);
            return false;
        }
        return true;
    }
    if (json_is_object(want)) {
        if (!json_is_object(got))
            return mismatch(w, path, "want an object, got %s", got ? "another type" : "nothing");
        const char *k;
        json_t *v;
        json_object_foreach ((json_t *)want, k, v) {
            if (k[0] == '$')
                continue;
            snprintf(sub, sizeof(sub), "%s.%s", path, k);
            json_t *g = json_object_get(got, k);
            if (is_directive(v, "$absent")) {
                if (g) {
                    char *d = dump(g);
                    mismatch(w, sub, "want no such key, got %s", d);
                    free(d);
                    return false;
                }
                continue;
            }
            if (!g && (is_directive(v, "$not") || is_word(v, "$empty")))
                continue;
            if (!g)
                return mismatch(w, sub, "missing");
            if (!match(v, g, sub, w))
                return false;
        }
        if (json_is_true(json_object_get(want, "$partial")))
            return true;
        json_object_foreach ((json_t *)got, k, v) {
            if (!json_object_get(want, k)) {
                char *d = dump(v);
                snprintf(sub, sizeof(sub), "%s.%s", path, k);
                mismatch(w, sub, "unexpected key, value %s", d);
                free(d);
                return false;
            }
        }
        return true;
    }
    if (json_is_array(want)) {
        if (!json_is_array(got))
            return mismatch(w, path, "want a list, got %s", got ? "another type" : "nothing");
        if (json_array_size(want) != json_array_size(got))
            return mismatch(w, path, "want %zu items, got %zu", json_array_size(want),
                            json_array_size(got));
        for (size_t i = 0; i < json_array_size(want); i++) {
            snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
            if (!match(json_array_get(want, i), json_array_get(got, i), sub, w))
                return false;
        }
        return true;
    }
    if (!got || !json_equal((json_t *)want, (json_t *)got)) {
        char *a = dump(want), *b = dump(got);
        mismatch(w, path, "want %s, got %s", a, b);
        free(a);
        free(b);
        return false;
    }
    return true;
}

/* ---- fixtures: Services, pods, slices ----------------------------------------------------------
 */

struct fixture {
    const char *file;
    const char *name;
    json_t *svc;
    json_t *pods[MAX_ITEMS];
    size_t n_pods;
    json_t *gone[64]; /* pods that existed once: stored endpoints may still name them */
    size_t n_gone;
    json_t *existing[64];
    size_t n_existing;
    json_t *existing_ep;
    json_t *slice_ports;
    struct timespec now;
    int max_per_slice;
    bool failed;
};

static void report(struct fixture *f, const char *what, const struct why *w, const json_t *got)
{
    char *d = dump(got);
    cr_expect_fail("%s: \"%s\": %s: %s\n    got: %s", f->file, f->name, what, w->msg, d);
    free(d);
    f->failed = true;
}

static json_t *condition(const char *type, bool status, const char *since)
{
    return json_pack("{s:s,s:s,s:n,s:s}", "type", type, "status", status ? "True" : "False",
                     "lastProbeTime", "lastTransitionTime", since);
}

static json_t *default_ports(const json_t *ports)
{
    json_t *out = json_array();
    size_t i;
    json_t *p;
    json_array_foreach (ports, i, p) {
        json_t *c = json_deep_copy(p);
        if (!json_object_get(c, "protocol"))
            json_object_set_new(c, "protocol", json_string("TCP"));
        json_array_append_new(out, c);
    }
    return out;
}

static json_t *default_containers(const json_t *containers)
{
    json_t *out = json_array();
    size_t i;
    json_t *c;
    json_array_foreach (containers, i, c) {
        json_t *x = json_deep_copy(c);
        if (json_object_get(x, "ports"))
            json_object_set_new(x, "ports", default_ports(json_object_get(x, "ports")));
        json_array_append_new(out, x);
    }
    return out;
}

/* A stored Pod from the shorthand (see the top of the file). */
static json_t *pod_expand(const json_t *s)
{
    const char *name = json_string_value(json_object_get(s, "name"));
    cr_assert_not_null(name, "a pod without a name");
    const char *ns = json_string_value(json_object_get(s, "namespace"));
    char uid[128];
    snprintf(uid, sizeof(uid), "uid-%s", name);
    if (json_is_string(json_object_get(s, "uid")))
        snprintf(uid, sizeof(uid), "%s", json_string_value(json_object_get(s, "uid")));
    json_t *meta =
        json_pack("{s:s,s:s,s:s,s:s,s:s}", "name", name, "namespace", ns ? ns : "default", "uid",
                  uid, "resourceVersion", "20", "creationTimestamp", "2025-05-01T10:00:01Z");
    json_t *labels = json_object_get(s, "labels");
    if (!labels)
        json_object_set_new(meta, "labels", json_pack("{s:s}", "app", "web"));
    else if (!json_is_null(labels))
        json_object_set(meta, "labels", labels);
    bool terminating = json_is_true(json_object_get(s, "terminating"));
    if (terminating) {
        json_object_set_new(meta, "deletionTimestamp", json_string("2025-05-01T10:00:35Z"));
        json_object_set_new(meta, "deletionGracePeriodSeconds", json_integer(30));
    }

    json_t *spec = json_object();
    if (json_object_get(s, "containers")) {
        json_object_set_new(spec, "containers",
                            default_containers(json_object_get(s, "containers")));
    } else {
        json_t *c = json_pack("{s:s,s:s}", "name", "c", "image", "nginx");
        if (json_object_get(s, "ports"))
            json_object_set_new(c, "ports", default_ports(json_object_get(s, "ports")));
        json_object_set_new(spec, "containers", json_pack("[o]", c));
    }
    if (json_object_get(s, "initContainers"))
        json_object_set_new(spec, "initContainers",
                            default_containers(json_object_get(s, "initContainers")));
    json_object_set_new(spec, "restartPolicy", json_string("Always"));
    json_t *node = json_object_get(s, "node");
    if (!node)
        json_object_set_new(spec, "nodeName", json_string("node-1"));
    else if (json_is_string(node))
        json_object_set(spec, "nodeName", node);
    if (json_object_get(s, "hostname"))
        json_object_set(spec, "hostname", json_object_get(s, "hostname"));
    if (json_object_get(s, "subdomain"))
        json_object_set(spec, "subdomain", json_object_get(s, "subdomain"));

    const char *phase = json_string_value(json_object_get(s, "phase"));
    bool ready = !json_is_false(json_object_get(s, "ready"));
    const char *since = json_string_value(json_object_get(s, "readySince"));
    if (!since)
        since = "2025-05-01T10:00:02Z";
    json_t *status = json_pack("{s:s}", "phase", phase ? phase : "Running");
    json_t *conds = json_array();
    json_array_append_new(conds, condition("Initialized", true, "2025-05-01T10:00:01Z"));
    json_array_append_new(conds, condition("Ready", ready, since));
    json_array_append_new(conds, condition("ContainersReady", ready, since));
    json_array_append_new(conds, condition("PodScheduled", true, "2025-05-01T10:00:01Z"));
    json_object_set_new(status, "conditions", conds);
    json_t *ips = json_object_get(s, "ips");
    json_t *one = json_object_get(s, "ip");
    json_t *list = json_array();
    if (json_is_string(one))
        json_array_append(list, one);
    size_t i;
    json_t *ip;
    json_array_foreach (ips, i, ip)
        json_array_append(list, ip);
    if (json_array_size(list)) {
        json_object_set(status, "podIP", json_array_get(list, 0));
        json_t *pips = json_array();
        json_array_foreach (list, i, ip)
            json_array_append_new(pips, json_pack("{s:O}", "ip", ip));
        json_object_set_new(status, "podIPs", pips);
        json_object_set_new(status, "hostIP", json_string("172.18.0.2"));
    }
    json_decref(list);
    return json_pack("{s:s,s:s,s:o,s:o,s:o}", "kind", "Pod", "apiVersion", "v1", "metadata", meta,
                     "spec", spec, "status", status);
}

static const json_t *pod_set_entry(const json_t *root, const char *name)
{
    size_t i;
    json_t *p;
    json_array_foreach (json_object_get(root, "pod_set"), i, p) {
        if (!strcmp(json_string_value(json_object_get(p, "name")) ?: "", name))
            return p;
    }
    cr_assert_fail("no pod %s in pod_set", name);
    return NULL;
}

static json_t *pod_from(const json_t *root, const json_t *entry)
{
    if (json_is_string(entry))
        return pod_expand(pod_set_entry(root, json_string_value(entry)));
    return pod_expand(entry);
}

static void generate_pods(struct fixture *f, const json_t *gens)
{
    size_t i;
    json_t *g;
    json_array_foreach (gens, i, g) {
        long long count = json_integer_value(json_object_get(g, "count"));
        const char *prefix = json_string_value(json_object_get(g, "prefix"));
        struct in_addr a;
        cr_assert_eq(inet_pton(AF_INET, json_string_value(json_object_get(g, "first_ip")), &a), 1);
        uint32_t ip = ntohl(a.s_addr);
        for (long long k = 0; k < count; k++) {
            cr_assert_lt(f->n_pods, MAX_ITEMS, "too many pods");
            json_t *s = json_deep_copy(g);
            json_object_del(s, "count");
            json_object_del(s, "prefix");
            json_object_del(s, "first_ip");
            char name[64], text[INET_ADDRSTRLEN];
            snprintf(name, sizeof(name), "%s%04lld", prefix, k);
            struct in_addr cur = {.s_addr = htonl(ip + (uint32_t)k)};
            inet_ntop(AF_INET, &cur, text, sizeof(text));
            json_object_set_new(s, "name", json_string(name));
            json_object_set_new(s, "ip", json_string(text));
            f->pods[f->n_pods++] = pod_expand(s);
            json_decref(s);
        }
    }
}

static const char *family_of(const char *ip)
{
    return strchr(ip, ':') ? "IPv6" : "IPv4";
}

static const json_t *find_pod(const struct fixture *f, const char *name)
{
    for (size_t i = 0; i < f->n_pods; i++)
        if (!strcmp(
                json_string_value(json_object_get(json_object_get(f->pods[i], "metadata"), "name")),
                name))
            return f->pods[i];
    for (size_t i = 0; i < f->n_gone; i++)
        if (!strcmp(
                json_string_value(json_object_get(json_object_get(f->gone[i], "metadata"), "name")),
                name))
            return f->gone[i];
    cr_assert_fail("%s: no pod %s for an endpoint", f->name, name);
    return NULL;
}

static bool pod_ready(const json_t *pod)
{
    size_t i;
    json_t *c;
    json_array_foreach (json_object_get(json_object_get(pod, "status"), "conditions"), i, c) {
        if (!strcmp(json_string_value(json_object_get(c, "type")), "Ready"))
            return !strcmp(json_string_value(json_object_get(c, "status")), "True");
    }
    return false;
}

/* The endpoint upstream's podToEndpoint builds for a pod (staging k8s.io/endpointslice utils.go),
   for the given address type; spec may override the conditions. */
static json_t *endpoint_expand(const struct fixture *f, const json_t *spec,
                               const char *address_type)
{
    const char *name = json_is_string(spec) ? json_string_value(spec)
                                            : json_string_value(json_object_get(spec, "pod"));
    const json_t *pod = find_pod(f, name);
    const json_t *meta = json_object_get(pod, "metadata");
    const json_t *pspec = json_object_get(pod, "spec");
    const json_t *sspec = json_object_get(f->svc, "spec");
    bool serving = pod_ready(pod);
    bool terminating = json_object_get(meta, "deletionTimestamp") != NULL;
    bool publish = json_is_true(json_object_get(sspec, "publishNotReadyAddresses"));
    bool ready = publish || (serving && !terminating);
    if (json_is_object(spec)) {
        if (json_is_boolean(json_object_get(spec, "ready")))
            ready = json_is_true(json_object_get(spec, "ready"));
        if (json_is_boolean(json_object_get(spec, "serving")))
            serving = json_is_true(json_object_get(spec, "serving"));
        if (json_is_boolean(json_object_get(spec, "terminating")))
            terminating = json_is_true(json_object_get(spec, "terminating"));
    }
    json_t *addresses = json_array();
    size_t i;
    json_t *ip;
    json_array_foreach (json_object_get(json_object_get(pod, "status"), "podIPs"), i, ip) {
        const char *text = json_string_value(json_object_get(ip, "ip"));
        if (!strcmp(family_of(text), address_type))
            json_array_append_new(addresses, json_string(text));
    }
    json_t *e =
        json_pack("{s:o,s:{s:b,s:b,s:b},s:{s:s,s:O,s:O,s:O}}", "addresses", addresses, "conditions",
                  "ready", ready, "serving", serving, "terminating", terminating, "targetRef",
                  "kind", "Pod", "namespace", json_object_get(meta, "namespace"), "name",
                  json_object_get(meta, "name"), "uid", json_object_get(meta, "uid"));
    const char *node = json_string_value(json_object_get(pspec, "nodeName"));
    if (node && *node)
        json_object_set_new(e, "nodeName", json_string(node));
    const char *hostname = json_string_value(json_object_get(pspec, "hostname"));
    const char *subdomain = json_string_value(json_object_get(pspec, "subdomain"));
    const char *svc_name =
        json_string_value(json_object_get(json_object_get(f->svc, "metadata"), "name"));
    if (hostname && *hostname && subdomain && !strcmp(subdomain, svc_name))
        json_object_set_new(e, "hostname", json_string(hostname));
    return e;
}

static json_t *endpoints_expand(const struct fixture *f, const json_t *eps,
                                const char *address_type)
{
    json_t *out = json_array();
    size_t i;
    json_t *e;
    json_array_foreach (eps, i, e)
        json_array_append_new(out, endpoint_expand(f, e, address_type));
    return out;
}

/* The labels the EndpointSlice controller gives the slices of svc (setEndpointSliceLabels). */
static json_t *controller_labels(const json_t *svc)
{
    json_t *labels = json_object();
    const char *k;
    json_t *v;
    json_object_foreach (json_object_get(json_object_get(svc, "metadata"), "labels"), k, v) {
        if (strcmp(k, "kubernetes.io/service-name") &&
            strcmp(k, "endpointslice.kubernetes.io/managed-by") &&
            strcmp(k, "service.kubernetes.io/headless"))
            json_object_set(labels, k, v);
    }
    const char *cip = json_string_value(json_object_get(json_object_get(svc, "spec"), "clusterIP"));
    if (!cip || !*cip || !strcmp(cip, "None"))
        json_object_set_new(labels, "service.kubernetes.io/headless", json_string(""));
    json_object_set(labels, "kubernetes.io/service-name",
                    json_object_get(json_object_get(svc, "metadata"), "name"));
    json_object_set_new(labels, "endpointslice.kubernetes.io/managed-by",
                        json_string("endpointslice-controller.k8s.io"));
    return labels;
}

/* A stored slice from the shorthand (a full object is taken as it is). */
static json_t *slice_expand(const struct fixture *f, const json_t *s)
{
    if (json_object_get(s, "kind"))
        return json_deep_copy(s);
    const json_t *smeta = json_object_get(f->svc, "metadata");
    const char *name = json_string_value(json_object_get(s, "name"));
    const char *at = json_string_value(json_object_get(s, "addressType"));
    at = at ? at : "IPv4";
    const char *owner = json_string_value(json_object_get(s, "owner_uid"));
    char uid[160];
    snprintf(uid, sizeof(uid), "uid-slice-%s", name);
    json_t *labels = json_object_get(s, "labels") ? json_deep_copy(json_object_get(s, "labels"))
                                                  : controller_labels(f->svc);
    json_t *ann = json_object_get(s, "annotations")
                      ? json_deep_copy(json_object_get(s, "annotations"))
                      : json_pack("{s:s}", "endpoints.kubernetes.io/last-change-trigger-time",
                                  "2025-05-01T10:00:00Z");
    json_error_t perr;
    json_t *meta = json_pack_ex(
        &perr, 0, "{s:s,s:O,s:s,s:s,s:i,s:s,s:o,s:o,s:[{s:s,s:s,s:O,s:s,s:b,s:b}]}", "name", name,
        "namespace", json_object_get(smeta, "namespace"), "uid", uid, "resourceVersion", "30",
        "generation", 1, "creationTimestamp", "2025-05-01T10:00:00Z", "labels", labels,
        "annotations", ann, "ownerReferences", "apiVersion", "v1", "kind", "Service", "name",
        json_object_get(smeta, "name"), "uid",
        owner ? owner : json_string_value(json_object_get(smeta, "uid")), "controller", 1,
        "blockOwnerDeletion", 1);
    cr_assert_not_null(meta, "slice metadata: %s", perr.text);
    bool placeholder = json_is_true(json_object_get(s, "placeholder"));
    json_t *eps = placeholder ? json_array() : endpoints_expand(f, json_object_get(s, "eps"), at);
    json_t *ports = placeholder                   ? json_null()
                    : json_object_get(s, "ports") ? json_deep_copy(json_object_get(s, "ports"))
                                                  : json_deep_copy(f->slice_ports);
    json_t *slice = json_pack("{s:s,s:s,s:o,s:s}", "kind", "EndpointSlice", "apiVersion",
                              "discovery.k8s.io/v1", "metadata", meta, "addressType", at);
    /* What storage hands back: empty lists read as null. */
    json_object_set_new(slice, "endpoints", json_array_size(eps) ? eps : json_null());
    if (!json_array_size(eps))
        json_decref(eps);
    if (!ports || (json_is_array(ports) && !json_array_size(ports))) {
        json_decref(ports);
        ports = json_null();
    }
    json_object_set_new(slice, "ports", ports);
    return slice;
}

static void fixture_init(struct fixture *f, const json_t *root, const json_t *c, const char *file)
{
    memset(f, 0, sizeof(*f));
    f->file = file;
    f->name = json_string_value(json_object_get(c, "name"));
    f->svc = merge_patch(json_object_get(root, "service"), json_object_get(c, "service"));
    size_t i;
    json_t *p;
    json_array_foreach (json_object_get(c, "pods"), i, p) {
        cr_assert_lt(f->n_pods, MAX_ITEMS);
        f->pods[f->n_pods++] = pod_from(root, p);
    }
    generate_pods(f, json_object_get(c, "generate_pods"));
    json_array_foreach (json_object_get(c, "gone_pods"), i, p) {
        cr_assert_lt(f->n_gone, 64);
        f->gone[f->n_gone++] = pod_from(root, p);
    }
    f->slice_ports = json_deep_copy(json_object_get(root, "slice_ports"));
    json_array_foreach (json_object_get(c, "existing_slices"), i, p) {
        cr_assert_lt(f->n_existing, 64);
        f->existing[f->n_existing++] = slice_expand(f, p);
    }
    f->existing_ep = json_deep_copy(json_object_get(c, "existing"));
    const char *now = json_string_value(json_object_get(c, "now"));
    cr_assert_eq(util_parse_time(now ? now : DEFAULT_NOW, &f->now), 0);
    f->max_per_slice = (int)json_integer_value(json_object_get(c, "max_per_slice"));
    if (f->max_per_slice <= 0)
        f->max_per_slice = 100;
}

static void fixture_release(struct fixture *f)
{
    json_decref(f->svc);
    for (size_t i = 0; i < f->n_pods; i++)
        json_decref(f->pods[i]);
    for (size_t i = 0; i < f->n_gone; i++)
        json_decref(f->gone[i]);
    for (size_t i = 0; i < f->n_existing; i++)
        json_decref(f->existing[i]);
    json_decref(f->existing_ep);
    json_decref(f->slice_ports);
}

/* ---- Endpoints ---------------------------------------------------------------------------------
 */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int cmp_size_desc(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return x < y ? 1 : x > y ? -1 : 0;
}

static void check_endpoints_summary(struct fixture *f, const json_t *want, const json_t *got)
{
    struct why w = {{0}};
    const json_t *subsets = json_object_get(got, "subsets");
    size_t ready = 0, not_ready = 0, n = json_array_size(subsets);
    size_t counts[64] = {0};
    size_t i;
    json_t *s;
    json_array_foreach (subsets, i, s) {
        ready += json_array_size(json_object_get(s, "addresses"));
        not_ready += json_array_size(json_object_get(s, "notReadyAddresses"));
        if (i < 64)
            counts[i] = json_array_size(json_object_get(s, "addresses"));
    }
    json_t *v;
    if ((v = json_object_get(want, "addresses")) && (size_t)json_integer_value(v) != ready) {
        snprintf(w.msg, sizeof(w.msg), "%zu addresses, want %lld", ready, json_integer_value(v));
        report(f, "summary", &w, json_object_get(got, "metadata"));
    }
    if ((v = json_object_get(want, "notReadyAddresses")) &&
        (size_t)json_integer_value(v) != not_ready) {
        snprintf(w.msg, sizeof(w.msg), "%zu notReadyAddresses, want %lld", not_ready,
                 json_integer_value(v));
        report(f, "summary", &w, json_object_get(got, "metadata"));
    }
    if ((v = json_object_get(want, "subsets")) && (size_t)json_integer_value(v) != n) {
        snprintf(w.msg, sizeof(w.msg), "%zu subsets, want %lld", n, json_integer_value(v));
        report(f, "summary", &w, json_object_get(got, "metadata"));
    }
    if ((v = json_object_get(want, "annotations")) &&
        !match(v, json_object_get(json_object_get(got, "metadata"), "annotations"),
               ".metadata.annotations", &w))
        report(f, "summary", &w, json_object_get(got, "metadata"));
    if ((v = json_object_get(want, "subset_address_counts"))) {
        qsort(counts, n < 64 ? n : 64, sizeof(size_t), cmp_size_desc);
        bool ok = json_array_size(v) == n;
        for (size_t k = 0; ok && k < n && k < 64; k++)
            ok = (size_t)json_integer_value(json_array_get(v, k)) == counts[k];
        if (!ok) {
            char have[256] = "";
            for (size_t k = 0; k < n && k < 16; k++)
                snprintf(have + strlen(have), sizeof(have) - strlen(have), "%zu ", counts[k]);
            snprintf(w.msg, sizeof(w.msg), "addresses per subset (largest first) are %s", have);
            report(f, "summary", &w, v);
        }
    }
    if (json_is_true(json_object_get(want, "text_order"))) {
        const char *keys[2] = {"addresses", "notReadyAddresses"};
        json_array_foreach (subsets, i, s) {
            for (int k = 0; k < 2; k++) {
                const json_t *list = json_object_get(s, keys[k]);
                for (size_t a = 1; a < json_array_size(list); a++) {
                    const char *x =
                        json_string_value(json_object_get(json_array_get(list, a - 1), "ip"));
                    const char *y =
                        json_string_value(json_object_get(json_array_get(list, a), "ip"));
                    if (strcmp(x, y) > 0) {
                        snprintf(w.msg, sizeof(w.msg),
                                 "subsets[%zu].%s not ordered by IP text: %s before %s", i, keys[k],
                                 x, y);
                        report(f, "summary", &w, NULL);
                        a = json_array_size(list);
                        k = 2;
                    }
                }
            }
        }
    }
    if (json_is_true(json_object_get(want, "kept_textually_first"))) {
        /* One subset of ready pods: the kept ones are the first by IP text. */
        const char **all = calloc(f->n_pods + 1, sizeof(char *));
        size_t n_all = 0;
        for (size_t k = 0; k < f->n_pods; k++)
            if (pod_ready(f->pods[k]))
                all[n_all++] = json_string_value(
                    json_object_get(json_object_get(f->pods[k], "status"), "podIP"));
        qsort(all, n_all, sizeof(char *), cmp_str);
        const json_t *kept = json_object_get(json_array_get(subsets, 0), "addresses");
        const char **have = calloc(json_array_size(kept) + 1, sizeof(char *));
        for (size_t k = 0; k < json_array_size(kept); k++)
            have[k] = json_string_value(json_object_get(json_array_get(kept, k), "ip"));
        qsort(have, json_array_size(kept), sizeof(char *), cmp_str);
        for (size_t k = 0; k < json_array_size(kept) && k < n_all; k++) {
            if (strcmp(have[k], all[k])) {
                snprintf(w.msg, sizeof(w.msg),
                         "kept address %zu (by IP text) is %s, want %s: not the first ones", k,
                         have[k], all[k]);
                report(f, "summary", &w, NULL);
                break;
            }
        }
        free(all);
        free(have);
    }
}

static void run_endpoints_file(const char *file)
{
    json_t *root = load(file);
    size_t i;
    json_t *c;
    json_array_foreach (json_object_get(root, "cases"), i, c) {
        struct fixture *f = calloc(1, sizeof(*f));
        fixture_init(f, root, c, file);
        json_t *got = endpoints_desired(f->svc, f->pods, f->n_pods, f->existing_ep, f->now);
        struct why w = {{0}};
        json_t *expect = json_object_get(c, "expect");
        if (expect && json_is_null(expect)) {
            if (got) {
                snprintf(w.msg, sizeof(w.msg), "want no Endpoints from the controller");
                report(f, "result", &w, got);
            }
        } else if (!got) {
            snprintf(w.msg, sizeof(w.msg), "want Endpoints, got NULL");
            report(f, "result", &w, NULL);
        } else {
            if (expect && !match(expect, got, "", &w))
                report(f, "Endpoints", &w, got);
            json_t *subsets = json_object_get(c, "expect_subsets");
            if (subsets && !match(subsets, json_object_get(got, "subsets"), ".subsets", &w))
                report(f, "subsets", &w, json_object_get(got, "subsets"));
            if (json_object_get(c, "expect_summary"))
                check_endpoints_summary(f, json_object_get(c, "expect_summary"), got);
        }
        json_decref(got);
        fixture_release(f);
        free(f);
    }
    json_decref(root);
}

/* ---- EndpointSlices
 * ------------------------------------------------------------------------------ */

static bool owner_is_service(const struct fixture *f, const json_t *slice, struct why *w)
{
    const json_t *smeta = json_object_get(f->svc, "metadata");
    json_t *want =
        json_pack("[{s:s,s:s,s:O,s:O,s:b,s:b}]", "apiVersion", "v1", "kind", "Service", "name",
                  json_object_get(smeta, "name"), "uid", json_object_get(smeta, "uid"),
                  "controller", 1, "blockOwnerDeletion", 1);
    bool ok = match(want, json_object_get(json_object_get(slice, "metadata"), "ownerReferences"),
                    ".metadata.ownerReferences", w);
    json_decref(want);
    return ok;
}

/* One wanted slice in shorthand against one produced slice. */
static bool slice_matches(const struct fixture *f, const json_t *want, const json_t *got,
                          struct why *w)
{
    const json_t *meta = json_object_get(got, "metadata");
    const char *kind = json_string_value(json_object_get(got, "kind"));
    const char *av = json_string_value(json_object_get(got, "apiVersion"));
    if (!kind || strcmp(kind, "EndpointSlice") || !av || strcmp(av, "discovery.k8s.io/v1"))
        return mismatch(w, "", "not an EndpointSlice of discovery.k8s.io/v1");
    if (!match(json_object_get(json_object_get(f->svc, "metadata"), "namespace"),
               json_object_get(meta, "namespace"), ".metadata.namespace", w))
        return false;
    const char *name = json_string_value(json_object_get(want, "name"));
    const char *got_name = json_string_value(json_object_get(meta, "name"));
    if (name) {
        if (!got_name || strcmp(got_name, name))
            return mismatch(w, ".metadata.name", "want %s, got %s", name,
                            got_name ? got_name : "(none)");
    } else {
        if (got_name && *got_name)
            return mismatch(w, ".metadata.name", "want a new slice, got the name %s", got_name);
        if (!match(json_object_get(want, "generateName"), json_object_get(meta, "generateName"),
                   ".metadata.generateName", w))
            return false;
    }
    const char *at = json_string_value(json_object_get(want, "addressType"));
    json_t *want_at = json_string(at ? at : "IPv4");
    bool ok = match(want_at, json_object_get(got, "addressType"), ".addressType", w);
    json_decref(want_at);
    if (!ok || !owner_is_service(f, got, w))
        return false;
    if (json_object_get(want, "endpoints") &&
        !match(json_object_get(want, "endpoints"), json_object_get(got, "endpoints"), ".endpoints",
               w))
        return false;
    if (json_object_get(want, "eps")) {
        json_t *eps = endpoints_expand(f, json_object_get(want, "eps"), at ? at : "IPv4");
        json_t *u = json_pack("{s:o}", "$unordered", eps);
        ok = match(u, json_object_get(got, "endpoints"), ".endpoints", w);
        json_decref(u);
        if (!ok)
            return false;
    }
    if (json_object_get(want, "ports") &&
        !match(json_object_get(want, "ports"), json_object_get(got, "ports"), ".ports", w))
        return false;
    if (json_object_get(want, "labels") &&
        !match(json_object_get(want, "labels"), json_object_get(meta, "labels"), ".metadata.labels",
               w))
        return false;
    if (json_object_get(want, "annotations")) {
        json_t *a = json_deep_copy(json_object_get(want, "annotations"));
        json_object_set_new(a, "$partial", json_true());
        const json_t *ga = json_object_get(meta, "annotations");
        json_t *empty = json_object();
        ok = match(a, ga ? ga : empty, ".metadata.annotations", w);
        json_decref(empty);
        json_decref(a);
        if (!ok)
            return false;
    }
    return true;
}

static bool assign_slices(const struct fixture *f, const json_t *want, const json_t *got, size_t i,
                          bool *used)
{
    if (i == json_array_size(want))
        return true;
    for (size_t j = 0; j < json_array_size(got); j++) {
        struct why tmp;
        if (used[j] || !slice_matches(f, json_array_get(want, i), json_array_get(got, j), &tmp))
            continue;
        used[j] = true;
        if (assign_slices(f, want, got, i + 1, used))
            return true;
        used[j] = false;
    }
    return false;
}

static void check_slices_shorthand(struct fixture *f, const json_t *want, const json_t *got)
{
    struct why w = {{0}};
    if (json_array_size(want) != json_array_size(got)) {
        snprintf(w.msg, sizeof(w.msg), "want %zu slices, got %zu", json_array_size(want),
                 json_array_size(got));
        report(f, "slices", &w, got);
        return;
    }
    bool *used = calloc(json_array_size(got) + 1, sizeof(bool));
    bool ok = assign_slices(f, want, got, 0, used);
    free(used);
    if (ok)
        return;
    for (size_t i = 0; i < json_array_size(want); i++) {
        bool any = false;
        struct why first = {{0}};
        for (size_t j = 0; j < json_array_size(got) && !any; j++) {
            struct why tmp = {{0}};
            any = slice_matches(f, json_array_get(want, i), json_array_get(got, j), &tmp);
            if (!any && !first.msg[0])
                first = tmp;
        }
        if (!any) {
            char *d = dump(json_array_get(want, i));
            snprintf(w.msg, sizeof(w.msg), "no slice matches wanted %.500s (first slice: %.400s)",
                     d, first.msg);
            free(d);
            report(f, "slices", &w, got);
            return;
        }
    }
    snprintf(w.msg, sizeof(w.msg), "the slices match the wanted ones only with reuse");
    report(f, "slices", &w, got);
}

static const json_t *or_empty_list(const json_t *v, json_t *empty)
{
    return json_is_array(v) ? v : empty;
}

/* The slice named name comes back exactly as stored: upstream would not write it. */
static void check_unchanged(struct fixture *f, const char *name, const json_t *got)
{
    struct why w = {{0}};
    const json_t *old = NULL, *now = NULL;
    for (size_t i = 0; i < f->n_existing; i++)
        if (!strcmp(json_string_value(
                        json_object_get(json_object_get(f->existing[i], "metadata"), "name")),
                    name))
            old = f->existing[i];
    size_t i;
    json_t *s;
    json_array_foreach (got, i, s) {
        const char *n = json_string_value(json_object_get(json_object_get(s, "metadata"), "name"));
        if (n && !strcmp(n, name))
            now = s;
    }
    cr_assert_not_null(old, "%s: %s is not a stored slice", f->name, name);
    if (!now) {
        snprintf(w.msg, sizeof(w.msg), "slice %s should stay as stored, but is gone", name);
        report(f, "unchanged", &w, got);
        return;
    }
    json_t *empty_list = json_array(), *empty_obj = json_object();
    const json_t *om = json_object_get(old, "metadata"), *nm = json_object_get(now, "metadata");
    /* endpoints as a set, the rest as stored */
    json_t *u = json_pack("{s:O}", "$unordered",
                          (json_t *)or_empty_list(json_object_get(old, "endpoints"), empty_list));
    bool ok =
        match(u, or_empty_list(json_object_get(now, "endpoints"), empty_list), ".endpoints", &w) &&
        match(or_empty_list(json_object_get(old, "ports"), empty_list),
              or_empty_list(json_object_get(now, "ports"), empty_list), ".ports", &w) &&
        match(json_object_get(old, "addressType"), json_object_get(now, "addressType"),
              ".addressType", &w) &&
        match(json_object_get(om, "labels") ?: empty_obj,
              json_object_get(nm, "labels") ?: empty_obj, ".metadata.labels", &w) &&
        match(json_object_get(om, "annotations") ?: empty_obj,
              json_object_get(nm, "annotations") ?: empty_obj, ".metadata.annotations", &w) &&
        match(json_object_get(om, "ownerReferences"), json_object_get(nm, "ownerReferences"),
              ".metadata.ownerReferences", &w);
    json_decref(u);
    json_decref(empty_list);
    json_decref(empty_obj);
    if (!ok) {
        char what[160];
        snprintf(what, sizeof(what), "slice %s should come back unchanged", name);
        report(f, what, &w, now);
    }
}

static void check_slices_summary(struct fixture *f, const json_t *want, const json_t *got)
{
    struct why w = {{0}};
    json_t *v;
    size_t n = json_array_size(got);
    if ((v = json_object_get(want, "count")) && (size_t)json_integer_value(v) != n) {
        snprintf(w.msg, sizeof(w.msg), "%zu slices, want %lld", n, json_integer_value(v));
        report(f, "summary", &w, NULL);
    }
    if ((v = json_object_get(want, "sizes"))) {
        size_t *sizes = calloc(n + 1, sizeof(size_t));
        for (size_t i = 0; i < n; i++)
            sizes[i] = json_array_size(json_object_get(json_array_get(got, i), "endpoints"));
        qsort(sizes, n, sizeof(size_t), cmp_size_desc);
        bool ok = json_array_size(v) == n;
        for (size_t i = 0; ok && i < n; i++)
            ok = (size_t)json_integer_value(json_array_get(v, i)) == sizes[i];
        if (!ok) {
            char have[512] = "";
            for (size_t i = 0; i < n && i < 40; i++)
                snprintf(have + strlen(have), sizeof(have) - strlen(have), "%zu ", sizes[i]);
            snprintf(w.msg, sizeof(w.msg), "slice sizes (largest first) are %s", have);
            report(f, "summary", &w, v);
        }
        free(sizes);
    }
    if (json_is_true(json_object_get(want, "every_pod_once"))) {
        size_t *seen = calloc(f->n_pods + 1, sizeof(size_t));
        size_t stray = 0;
        size_t i;
        json_t *s;
        json_array_foreach (got, i, s) {
            size_t k;
            json_t *e;
            json_array_foreach (json_object_get(s, "endpoints"), k, e) {
                const char *pn =
                    json_string_value(json_object_get(json_object_get(e, "targetRef"), "name"));
                bool found = false;
                for (size_t p = 0; p < f->n_pods && pn && !found; p++)
                    if (!strcmp(pn, json_string_value(json_object_get(
                                        json_object_get(f->pods[p], "metadata"), "name")))) {
                        seen[p]++;
                        found = true;
                    }
                stray += !found;
            }
        }
        for (size_t p = 0; p < f->n_pods; p++)
            if (seen[p] != 1) {
                snprintf(w.msg, sizeof(w.msg), "pod %s has %zu endpoints, want 1",
                         json_string_value(
                             json_object_get(json_object_get(f->pods[p], "metadata"), "name")),
                         seen[p]);
                report(f, "summary", &w, NULL);
                break;
            }
        if (stray) {
            snprintf(w.msg, sizeof(w.msg), "%zu endpoints name no pod", stray);
            report(f, "summary", &w, NULL);
        }
        free(seen);
    }
    if ((v = json_object_get(want, "each"))) {
        size_t i;
        json_t *s;
        json_array_foreach (got, i, s) {
            if (!match(v, s, "", &w)) {
                report(f, "every slice", &w, json_object_get(s, "metadata"));
                break;
            }
        }
    }
}

static void run_slices_file(const char *file)
{
    json_t *root = load(file);
    size_t i;
    json_t *c;
    json_array_foreach (json_object_get(root, "cases"), i, c) {
        struct fixture *f = calloc(1, sizeof(*f));
        fixture_init(f, root, c, file);
        json_t *got = endpointslices_desired(f->svc, f->pods, f->n_pods, f->existing, f->n_existing,
                                             f->max_per_slice, f->now);
        struct why w = {{0}};
        json_t *expect = json_object_get(c, "expect");
        if (expect && json_is_null(expect)) {
            if (got) {
                snprintf(w.msg, sizeof(w.msg), "want no slices from the controller (NULL)");
                report(f, "result", &w, got);
            }
        } else if (!json_is_array(got)) {
            snprintf(w.msg, sizeof(w.msg), "want a list of slices, got %s",
                     got ? "another value" : "NULL");
            report(f, "result", &w, got);
        } else {
            if (expect && !match(expect, got, "", &w))
                report(f, "slices", &w, got);
            if (json_object_get(c, "expect_slices"))
                check_slices_shorthand(f, json_object_get(c, "expect_slices"), got);
            size_t k;
            json_t *name;
            json_array_foreach (json_object_get(c, "expect_unchanged"), k, name)
                check_unchanged(f, json_string_value(name), got);
            if (json_object_get(c, "expect_summary"))
                check_slices_summary(f, json_object_get(c, "expect_summary"), got);
            /* Whatever else: never more endpoints in a slice than allowed. */
            json_t *s;
            json_array_foreach (got, k, s) {
                size_t n = json_array_size(json_object_get(s, "endpoints"));
                if (n > (size_t)f->max_per_slice) {
                    snprintf(w.msg, sizeof(w.msg), "a slice holds %zu endpoints, limit %d", n,
                             f->max_per_slice);
                    report(f, "limit", &w, NULL);
                }
            }
        }
        json_decref(got);
        fixture_release(f);
        free(f);
    }
    json_decref(root);
}

/* ---- the tests
 * ----------------------------------------------------------------------------------- */

Test(controllers, endpoints_from_service_and_pods)
{
    run_endpoints_file("endpoints.json");
}

Test(controllers, endpoints_truncated_above_1000_addresses)
{
    run_endpoints_file("endpoints_capacity.json");
}

Test(controllers, endpointslices_from_service_and_pods)
{
    run_slices_file("slices.json");
}

Test(controllers, endpointslices_reuse_stored_slices)
{
    run_slices_file("slices_reuse.json");
}

Test(controllers, endpointslices_split_at_max_endpoints_per_slice)
{
    run_slices_file("slices_large.json");
}

/* The reconcilers read and never change what they are given. */
Test(controllers, reconcilers_leave_their_inputs_alone)
{
    json_t *root = load("slices_reuse.json");
    json_t *c = json_array_get(json_object_get(root, "cases"), 0);
    struct fixture *f = calloc(1, sizeof(*f));
    fixture_init(f, root, c, "slices_reuse.json");
    json_t *svc = json_deep_copy(f->svc);
    json_t *pods = json_array(), *existing = json_array();
    for (size_t i = 0; i < f->n_pods; i++)
        json_array_append_new(pods, json_deep_copy(f->pods[i]));
    for (size_t i = 0; i < f->n_existing; i++)
        json_array_append_new(existing, json_deep_copy(f->existing[i]));
    json_decref(endpoints_desired(f->svc, f->pods, f->n_pods, NULL, f->now));
    json_decref(
        endpointslices_desired(f->svc, f->pods, f->n_pods, f->existing, f->n_existing, 3, f->now));
    cr_expect(json_equal(svc, f->svc), "the Service changed");
    for (size_t i = 0; i < f->n_pods; i++)
        cr_expect(json_equal(json_array_get(pods, i), f->pods[i]), "pod %zu changed", i);
    for (size_t i = 0; i < f->n_existing; i++)
        cr_expect(json_equal(json_array_get(existing, i), f->existing[i]), "slice %zu changed", i);
    json_decref(svc);
    json_decref(pods);
    json_decref(existing);
    fixture_release(f);
    free(f);
    json_decref(root);
}
