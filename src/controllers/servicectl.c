/*
 * servicectl: what happens for a Service: the endpoints controller's Endpoints, the
 * EndpointSlice controller's slices (both built by the pure reconcilers and written only when
 * they differ from what is stored), the load-balancer address of a LoadBalancer Service
 * (--load-balancer-ip-range, with the EnsuringLoadBalancer/EnsuredLoadBalancer events), and the
 * mirroring of user-managed Endpoints of selectorless Services into slices.
 */
#include "ctl.h"

#include "svc/api.h"
#include "svc/registry.h"
#include "svc/store.h"
#include "svc/util.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SLICE_MANAGED_BY  "endpointslice.kubernetes.io/managed-by"
#define SLICE_CONTROLLER  "endpointslice-controller.k8s.io"
#define MIRROR_CONTROLLER "endpointslicemirroring-controller.k8s.io"
#define SERVICE_NAME      "kubernetes.io/service-name"

/* The stored form a controller-built object would take (canonical key order and omit rules). */
static json_t *canonical(struct controllers *c, const struct api_resource *res, const json_t *o)
{
    json_t *r = registry_canonicalize(c->reg, res, o, NULL);
    return r ? r : json_deep_copy(o);
}

/* a[key] and b[key] are equal, a missing member, null and an empty map or list counting as
   the same (storage drops empty ones). */
static bool same_field(const json_t *a, const json_t *b, const char *key)
{
    json_t *x = json_object_get(a, key), *y = json_object_get(b, key);
    if (json_is_null(x) || (json_is_object(x) && !json_object_size(x)) ||
        (json_is_array(x) && !json_array_size(x)))
        x = NULL;
    if (json_is_null(y) || (json_is_object(y) && !json_object_size(y)) ||
        (json_is_array(y) && !json_array_size(y)))
        y = NULL;
    if (!x || !y)
        return x == y;
    return json_equal(x, y);
}

#define TRIGGER_TIME  "endpoints.kubernetes.io/last-change-trigger-time"
#define OVER_CAPACITY "endpoints.kubernetes.io/over-capacity"

static bool same_annotation(const json_t *meta_a, const json_t *meta_b, const char *key)
{
    const char *x = ju_str(ju_obj(meta_a, "annotations"), key);
    const char *y = ju_str(ju_obj(meta_b, "annotations"), key);
    return (!x && !y) || (x && y && !strcmp(x, y));
}

/* The annotations the endpoints controller owns take the wanted values, or go when not wanted
   (upstream deletes the trigger time when there is none, and over-capacity when under it);
   the user's other annotations stay. */
static void set_controller_annotations(json_t *meta, const json_t *want)
{
    json_t *ann = json_object_get(meta, "annotations");
    if (!json_is_object(ann)) {
        ann = json_object();
        json_object_set_new(meta, "annotations", ann);
    }
    const char *keys[2] = {TRIGGER_TIME, OVER_CAPACITY};
    for (int k = 0; k < 2; k++) {
        const char *v = ju_str(want, keys[k]);
        if (v)
            json_object_set_new(ann, keys[k], json_string(v));
        else
            json_object_del(ann, keys[k]);
    }
    if (!json_object_size(ann))
        json_object_del(meta, "annotations");
}

static void sync_endpoints(struct controllers *c, const json_t *svc, struct store_obj **pods,
                           size_t np)
{
    const char *ns = ju_meta_str(svc, "namespace"), *name = ju_meta_str(svc, "name");
    struct store_obj *cur = ctl_get(c, c->res_endpoints, ns, name);
    json_t **list = xcalloc(np + 1, sizeof(json_t *));
    for (size_t i = 0; i < np; i++)
        list[i] = store_obj_json(pods[i]);
    json_t *want = endpoints_desired(svc, list, np, cur ? store_obj_json(cur) : NULL, util_now());
    free(list);
    if (!want) {
        store_obj_unref(cur);
        return;
    }
    json_t *cw = canonical(c, c->res_endpoints, want);
    json_decref(want);
    if (!cur) {
        ctl_create(c, c->res_endpoints, cw, "endpoint-controller", NULL);
        return;
    }
    const json_t *cm = ju_obj(store_obj_json(cur), "metadata"), *wm = ju_obj(cw, "metadata");
    if (same_field(store_obj_json(cur), cw, "subsets") && same_field(cm, wm, "labels") &&
        same_annotation(cm, wm, OVER_CAPACITY)) {
        json_decref(cw);
        store_obj_unref(cur);
        return; /* nothing changed: no write (the trigger time alone never makes one) */
    }
    json_t *upd = json_deep_copy(store_obj_json(cur));
    json_t *um = ju_ensure_obj(upd, "metadata");
    ju_copy_member(um, wm, "labels");
    set_controller_annotations(um, ju_obj(wm, "annotations"));
    ju_copy_member(upd, cw, "subsets");
    json_decref(cw);
    store_obj_unref(cur);
    ctl_update(c, c->res_endpoints, upd, NULL, "endpoint-controller", false);
}

/* Slices of svc managed by manager (the EndpointSlice or the mirroring controller). */
static struct store_obj **owned_slices(struct controllers *c, const char *ns, const char *svc,
                                       const char *manager, size_t *n)
{
    size_t all;
    struct store_obj **items = ctl_list(c, c->res_slices, ns, &all);
    size_t k = 0;
    for (size_t i = 0; i < all; i++) {
        const json_t *labels = ju_obj(ju_obj(store_obj_json(items[i]), "metadata"), "labels");
        const char *s = ju_str(labels, SERVICE_NAME), *m = ju_str(labels, SLICE_MANAGED_BY);
        if (s && m && !strcmp(s, svc) && !strcmp(m, manager))
            items[k++] = items[i];
        else
            store_obj_unref(items[i]);
    }
    *n = k;
    return items;
}

/* Write the wanted slices (reusing stored ones by name) and delete the stored ones not wanted. */
static void apply_slices(struct controllers *c, json_t *want, struct store_obj **have,
                         size_t n_have, const char *manager)
{
    bool *kept = xcalloc(n_have + 1, sizeof(bool));
    size_t i;
    json_t *slice;
    json_array_foreach (want, i, slice) {
        json_t *cs = canonical(c, c->res_slices, slice);
        const char *name = ju_meta_str(cs, "name");
        struct store_obj *cur = NULL;
        for (size_t k = 0; k < n_have && name; k++)
            if (!strcmp(ju_meta_str(store_obj_json(have[k]), "name") ?: "", name)) {
                cur = have[k];
                kept[k] = true;
            }
        if (!cur) {
            ctl_create(c, c->res_slices, cs, manager, NULL);
            continue;
        }
        const json_t *cm = ju_obj(store_obj_json(cur), "metadata"), *wm = ju_obj(cs, "metadata");
        if (same_field(store_obj_json(cur), cs, "addressType") &&
            same_field(store_obj_json(cur), cs, "endpoints") &&
            same_field(store_obj_json(cur), cs, "ports") && same_field(cm, wm, "labels") &&
            same_field(cm, wm, "annotations") && same_field(cm, wm, "ownerReferences")) {
            json_decref(cs);
            continue;
        }
        json_t *upd = json_deep_copy(store_obj_json(cur));
        json_t *um = ju_ensure_obj(upd, "metadata");
        ju_copy_member(um, wm, "labels");
        ju_copy_member(um, wm, "annotations");
        ju_copy_member(um, wm, "ownerReferences");
        ju_copy_member(upd, cs, "endpoints");
        ju_copy_member(upd, cs, "ports");
        json_decref(cs);
        ctl_update(c, c->res_slices, upd, NULL, manager, false);
    }
    for (size_t k = 0; k < n_have; k++)
        if (!kept[k])
            ctl_delete(c, c->res_slices, ju_meta_str(store_obj_json(have[k]), "namespace"),
                       ju_meta_str(store_obj_json(have[k]), "name"), NULL, -1);
    free(kept);
}

static void sync_slices(struct controllers *c, const json_t *svc, struct store_obj **pods,
                        size_t np)
{
    const char *ns = ju_meta_str(svc, "namespace"), *name = ju_meta_str(svc, "name");
    size_t n_have;
    struct store_obj **have = owned_slices(c, ns, name, SLICE_CONTROLLER, &n_have);
    json_t **pl = xcalloc(np + 1, sizeof(json_t *));
    json_t **hl = xcalloc(n_have + 1, sizeof(json_t *));
    for (size_t i = 0; i < np; i++)
        pl[i] = store_obj_json(pods[i]);
    for (size_t i = 0; i < n_have; i++)
        hl[i] = store_obj_json(have[i]);
    json_t *want =
        endpointslices_desired(svc, pl, np, hl, n_have, c->cfg.max_endpoints_per_slice, util_now());
    free(pl);
    free(hl);
    if (!want)
        want = json_array(); /* no selector (any more): the controller's slices go */
    apply_slices(c, want, have, n_have, SLICE_CONTROLLER);
    json_decref(want);
    ctl_list_free(have, n_have);
}

/* ---- load balancers -------------------------------------------------------------------------- */

static uint32_t parse_ip4(const char *s, bool *ok)
{
    struct in_addr a;
    *ok = inet_pton(AF_INET, s, &a) == 1;
    return *ok ? ntohl(a.s_addr) : 0;
}

/* Mark the pool addresses the stored Services hold; recounting from the store is simple and
   never out of step (a deleted or changed Service gives its address back this way). */
static void lb_recount(struct controllers *c)
{
    if (!c->lb_enabled)
        return;
    memset(c->lb_used, 0, (size_t)(c->lb_last - c->lb_first) + 1);
    size_t n;
    struct store_obj **svcs = ctl_list(c, c->res_service, NULL, &n);
    for (size_t i = 0; i < n; i++) {
        size_t k;
        json_t *ing;
        json_array_foreach (
            ju_arr(ju_obj(ju_obj(store_obj_json(svcs[i]), "status"), "loadBalancer"), "ingress"), k,
            ing) {
            bool ok;
            uint32_t v = parse_ip4(ju_str(ing, "ip") ?: "", &ok);
            if (ok && v >= c->lb_first && v <= c->lb_last)
                c->lb_used[v - c->lb_first] = 1;
        }
    }
    ctl_list_free(svcs, n);
}

int lb_parse_range(struct controllers *c, const char *range, char *msg, size_t msg_len)
{
    char buf[128];
    snprintf(buf, sizeof(buf), "%s", range);
    bool ok1 = false, ok2 = false;
    char *dash = strchr(buf, '-'), *slash = strchr(buf, '/');
    if (dash) {
        *dash = '\0';
        c->lb_first = parse_ip4(buf, &ok1);
        c->lb_last = parse_ip4(dash + 1, &ok2);
    } else if (slash) {
        *slash = '\0';
        int prefix = atoi(slash + 1);
        uint32_t base = parse_ip4(buf, &ok1);
        ok2 = prefix >= 8 && prefix <= 32;
        uint32_t mask = prefix ? 0xffffffffu << (32 - prefix) : 0;
        base &= mask;
        /* A /31 or /32 is used whole; larger networks skip network and broadcast. */
        c->lb_first = prefix >= 31 ? base : base + 1;
        c->lb_last = prefix >= 31 ? base | ~mask : (base | ~mask) - 1;
    }
    if (!ok1 || !ok2 || c->lb_last < c->lb_first || c->lb_last - c->lb_first > (1u << 20)) {
        snprintf(msg, msg_len,
                 "invalid --load-balancer-ip-range %s: want an IPv4 CIDR or first-last", range);
        return -1;
    }
    c->lb_enabled = true;
    c->lb_used = xcalloc((size_t)(c->lb_last - c->lb_first) + 1, 1);
    lb_recount(c);
    return 0;
}

#define LB_FINALIZER "service.kubernetes.io/load-balancer-cleanup"

/* A copy of the Service as stored now (an earlier write of this controller made a new
   version), or NULL when it is gone. Owned by the caller. */
static json_t *current_copy(struct controllers *c, const json_t *svc)
{
    struct store_obj *now =
        ctl_get(c, c->res_service, ju_meta_str(svc, "namespace"), ju_meta_str(svc, "name"));
    json_t *copy = now ? json_deep_copy(store_obj_json(now)) : NULL;
    store_obj_unref(now);
    return copy;
}

static bool has_ingress(const json_t *svc)
{
    return json_array_size(ju_arr(ju_obj(ju_obj(svc, "status"), "loadBalancer"), "ingress")) > 0;
}

/* The load balancer goes: upstream's syncLoadBalancerIfNeeded when the Service no longer
   wants one or is being deleted with the cleanup finalizer. */
static void delete_load_balancer(struct controllers *c, const json_t *svc)
{
    bool deleting = json_object_get(ju_obj(svc, "metadata"), "deletionTimestamp") != NULL;
    /* The balancer exists when it was ensured (the finalizer says so even after a type
       change cleared the status) or an address is still shown. */
    ctl_event(c, svc, "Normal", "DeletingLoadBalancer", "service-controller",
              "Deleting load balancer");
    ctl_event(c, svc, "Normal", "DeletedLoadBalancer", "service-controller",
              "Deleted load balancer");
    /* The finalizer goes first; a Service being deleted is gone with it, and the status patch
       upstream sends after it then finds nothing. */
    if (ctl_remove_finalizer(c, c->res_service, svc, LB_FINALIZER, "service-controller") ||
        deleting || !has_ingress(svc))
        return;
    json_t *obj = current_copy(c, svc);
    if (!obj)
        return;
    json_object_set_new(ju_ensure_obj(obj, "status"), "loadBalancer", json_object());
    ctl_update(c, c->res_service, obj, "status", "service-controller", false);
}

/*
 * The cloud-provider service controller with an address pool for a cloud: a LoadBalancer
 * Service (without loadBalancerClass) gets the cleanup finalizer, then an address from
 * --load-balancer-ip-range in status.loadBalancer.ingress; the address returns to the pool
 * when the Service stops wanting it or is deleted. Without a range the controller does not run
 * (as on a cluster without a cloud provider: EXTERNAL-IP stays <pending>).
 */
static void sync_load_balancer(struct controllers *c, const json_t *svc)
{
    if (!c->lb_enabled)
        return;
    const json_t *spec = ju_obj(svc, "spec");
    const char *type = ju_str(spec, "type");
    bool wants = type && !strcmp(type, "LoadBalancer") && !ju_str(spec, "loadBalancerClass");
    bool has_finalizer = ctl_has_finalizer(svc, LB_FINALIZER);
    bool deleting = json_object_get(ju_obj(svc, "metadata"), "deletionTimestamp") != NULL;
    if (!wants || (has_finalizer && deleting)) {
        if (has_finalizer || has_ingress(svc))
            delete_load_balancer(c, svc);
        return;
    }
    if (deleting || (has_finalizer && has_ingress(svc)))
        return;
    ctl_event(c, svc, "Normal", "EnsuringLoadBalancer", "service-controller",
              "Ensuring load balancer");
    if (ctl_add_finalizer(c, c->res_service, svc, LB_FINALIZER, "service-controller"))
        return;
    if (has_ingress(svc)) {
        ctl_event(c, svc, "Normal", "EnsuredLoadBalancer", "service-controller",
                  "Ensured load balancer");
        return;
    }
    lb_recount(c);
    uint32_t pick = 0;
    bool found = false;
    for (uint32_t v = c->lb_first; v <= c->lb_last && !found; v++)
        if (!c->lb_used[v - c->lb_first]) {
            pick = v;
            found = true;
        }
    if (!found) {
        ctl_event(c, svc, "Warning", "SyncLoadBalancerFailed", "service-controller",
                  "Error syncing load balancer: failed to ensure load balancer: no addresses "
                  "left in the load-balancer IP range");
        return;
    }
    c->lb_used[pick - c->lb_first] = 1;
    char ip[16];
    snprintf(ip, sizeof(ip), "%u.%u.%u.%u", pick >> 24, (pick >> 16) & 255, (pick >> 8) & 255,
             pick & 255);
    /* The finalizer update made a new version: write the status onto that one. */
    json_t *obj = current_copy(c, svc);
    if (!obj)
        return;
    json_object_set_new(ju_ensure_obj(obj, "status"), "loadBalancer",
                        json_pack("{s:[{s:s,s:s}]}", "ingress", "ip", ip, "ipMode", "VIP"));
    if (!ctl_update(c, c->res_service, obj, "status", "service-controller", false))
        ctl_event(c, svc, "Normal", "EnsuredLoadBalancer", "service-controller",
                  "Ensured load balancer");
}

void service_sync(struct controllers *c, const char *ns, const char *name)
{
    struct store_obj *so = ctl_get(c, c->res_service, ns, name);
    if (!so) {
        lb_recount(c);
        /* The slices go with their owner (garbage collection); the Endpoints with the
           Service's delete. Stray controller slices are cleaned here too. */
        size_t n_have;
        struct store_obj **have = owned_slices(c, ns, name, SLICE_CONTROLLER, &n_have);
        json_t *none = json_array();
        apply_slices(c, none, have, n_have, SLICE_CONTROLLER);
        json_decref(none);
        ctl_list_free(have, n_have);
        return;
    }
    size_t np;
    struct store_obj **pods = ctl_list(c, c->res_pods, ns, &np);
    sync_endpoints(c, store_obj_json(so), pods, np);
    sync_slices(c, store_obj_json(so), pods, np);
    ctl_list_free(pods, np);
    sync_load_balancer(c, store_obj_json(so));
    store_obj_unref(so);
}

/* ---- mirroring (pkg/controller/endpointslicemirroring, §6.3) --------------------------------- */

static json_t *mirror_desired(const json_t *svc, const json_t *ep, struct store_obj **have,
                              size_t n_have)
{
    json_t *out = json_array();
    const json_t *em = ju_obj(ep, "metadata");
    size_t used = 0;
    size_t i;
    json_t *subset;
    json_array_foreach (ju_arr(ep, "subsets"), i, subset) {
        json_t *eps[2] = {json_array(), json_array()}; /* IPv4, IPv6 */
        const char *keys[2] = {"addresses", "notReadyAddresses"};
        for (int k = 0; k < 2; k++) {
            size_t j;
            json_t *a;
            json_array_foreach (ju_arr(subset, keys[k]), j, a) {
                const char *ip = ju_str(a, "ip");
                if (!ip)
                    continue;
                int fam = strchr(ip, ':') ? 1 : 0;
                if (json_array_size(eps[fam]) >= 1000)
                    continue; /* at most 1000 addresses mirrored per subset */
                bool ready = k == 0;
                /* addressToEndpoint (endpointslicemirroring utils.go): only the ready
                   condition; serving and terminating stay unset. */
                json_t *e =
                    json_pack("{s:[s],s:{s:b}}", "addresses", ip, "conditions", "ready", ready);
                if (ju_str(a, "hostname"))
                    json_object_set_new(e, "hostname", json_string(ju_str(a, "hostname")));
                if (ju_obj(a, "targetRef"))
                    json_object_set(e, "targetRef", ju_obj(a, "targetRef"));
                if (ju_str(a, "nodeName"))
                    json_object_set_new(e, "nodeName", json_string(ju_str(a, "nodeName")));
                json_array_append_new(eps[fam], e);
            }
        }
        json_t *ports = json_array();
        size_t j;
        json_t *p;
        json_array_foreach (ju_arr(subset, "ports"), j, p) {
            json_t *sp =
                json_pack("{s:s,s:s,s:I}", "name", ju_str(p, "name") ?: "", "protocol",
                          ju_str(p, "protocol") ?: "TCP", "port", (json_int_t)ju_int(p, "port", 0));
            if (ju_str(p, "appProtocol"))
                json_object_set_new(sp, "appProtocol", json_string(ju_str(p, "appProtocol")));
            json_array_append_new(ports, sp);
        }
        for (int fam = 0; fam < 2; fam++) {
            if (!json_array_size(eps[fam])) {
                json_decref(eps[fam]);
                continue;
            }
            json_t *labels = json_object();
            const char *k;
            json_t *v;
            json_object_foreach (ju_obj(em, "labels"), k, v)
                json_object_set(labels, k, v);
            json_object_set_new(labels, SERVICE_NAME, json_string(ju_meta_str(svc, "name")));
            json_object_set_new(labels, SLICE_MANAGED_BY, json_string(MIRROR_CONTROLLER));
            json_t *ann = json_object();
            json_object_foreach (ju_obj(em, "annotations"), k, v) {
                if (strcmp(k, "kubectl.kubernetes.io/last-applied-configuration") &&
                    strcmp(k, "endpoints.kubernetes.io/last-change-trigger-time"))
                    json_object_set(ann, k, v);
            }
            json_t *meta =
                json_pack("{s:s,s:o,s:o,s:[{s:s,s:s,s:s,s:s,s:b,s:b}]}", "namespace",
                          ju_meta_str(ep, "namespace") ?: "", "labels", labels, "annotations", ann,
                          "ownerReferences", "apiVersion", "v1", "kind", "Endpoints", "name",
                          ju_meta_str(ep, "name") ?: "", "uid", ju_meta_str(ep, "uid") ?: "",
                          "controller", 1, "blockOwnerDeletion", 1);
            if (used < n_have) {
                json_object_set_new(meta, "name",
                                    json_string(ju_meta_str(store_obj_json(have[used++]), "name")));
            } else {
                char *gen = xasprintf("%s-", ju_meta_str(ep, "name") ?: "");
                json_object_set_new(meta, "generateName", json_string(gen));
                free(gen);
            }
            json_array_append_new(
                out, json_pack("{s:s,s:s,s:o,s:s,s:o,s:O}", "kind", "EndpointSlice", "apiVersion",
                               "discovery.k8s.io/v1", "metadata", meta, "addressType",
                               fam ? "IPv6" : "IPv4", "endpoints", eps[fam], "ports", ports));
        }
        json_decref(ports);
    }
    return out;
}

void mirror_sync(struct controllers *c, const char *ns, const char *name)
{
    struct store_obj *so = ctl_get(c, c->res_service, ns, name);
    struct store_obj *eo = ctl_get(c, c->res_endpoints, ns, name);
    size_t n_have;
    struct store_obj **have = owned_slices(c, ns, name, MIRROR_CONTROLLER, &n_have);
    json_t *want = json_array();
    bool mirror = so && eo;
    if (mirror) {
        const json_t *spec = ju_obj(store_obj_json(so), "spec");
        const char *type = ju_str(spec, "type");
        const char *skip = ju_str(ju_obj(ju_obj(store_obj_json(eo), "metadata"), "labels"),
                                  "endpointslice.kubernetes.io/skip-mirror");
        /* Only selectorless Services' Endpoints belong to their users. */
        mirror = !json_object_size(ju_obj(spec, "selector")) &&
                 !(type && !strcmp(type, "ExternalName")) && !(skip && !strcmp(skip, "true"));
    }
    if (mirror) {
        json_decref(want);
        want = mirror_desired(store_obj_json(so), store_obj_json(eo), have, n_have);
    }
    apply_slices(c, want, have, n_have, MIRROR_CONTROLLER);
    json_decref(want);
    ctl_list_free(have, n_have);
    store_obj_unref(so);
    store_obj_unref(eo);
}
