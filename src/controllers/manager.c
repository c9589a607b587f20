/*
 * manager: the controllers' one thread. It follows the store's event log like an informer,
 * turns each event into work items for the controllers concerned (deduplicated in a queue),
 * runs them, and sleeps on a condition variable until the next commit or timer: no polling.
 */
#include "ctl.h"

#include "svc/api.h"
#include "svc/apierr.h"
#include "svc/registry.h"
#include "svc/skiplist.h"
#include "svc/store.h"
#include "svc/util.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define EVENT_BATCH 256

/* ---- queue and timers ------------------------------------------------------------------------ */

static char *item_of(enum ctl_work kind, const char *ns, const char *name)
{
    return xasprintf("%c|%s/%s", (char)kind, ns ? ns : "", name ? name : "");
}

void ctl_enqueue(struct controllers *c, enum ctl_work kind, const char *ns, const char *name)
{
    char *item = item_of(kind, ns, name);
    skiplist_put(c->queue, item, (void *)1);
    free(item);
}

void ctl_enqueue_after(struct controllers *c, enum ctl_work kind, const char *ns, const char *name,
                       double delay)
{
    c->timers = xrealloc(c->timers, (c->n_timers + 1) * sizeof(*c->timers));
    c->timers[c->n_timers].due_us = util_monotonic_us() + (uint64_t)(delay * 1e6);
    c->timers[c->n_timers].item = item_of(kind, ns, name);
    c->n_timers++;
}

/* Move due timers into the queue; returns microseconds to the next one (or a second). */
static uint64_t run_timers(struct controllers *c)
{
    uint64_t now = util_monotonic_us(), next = 1000000;
    for (size_t i = 0; i < c->n_timers;) {
        if (c->timers[i].due_us <= now) {
            skiplist_put(c->queue, c->timers[i].item, (void *)1);
            free(c->timers[i].item);
            c->timers[i] = c->timers[--c->n_timers];
            continue;
        }
        if (c->timers[i].due_us - now < next)
            next = c->timers[i].due_us - now;
        i++;
    }
    return next;
}

/* ---- reads and writes through the registry --------------------------------------------------- */

struct store_obj *ctl_get(struct controllers *c, const struct api_resource *res, const char *ns,
                          const char *name)
{
    char *key = registry_key(res, ns, name);
    struct store_obj *o = store_get(c->store, key);
    free(key);
    return o;
}

struct store_obj **ctl_list(struct controllers *c, const struct api_resource *res, const char *ns,
                            size_t *n)
{
    char *prefix = registry_prefix(res, ns);
    struct store_list_opts lo = {.prefix = prefix};
    struct store_list_result lr;
    store_list(c->store, &lo, &lr);
    free(prefix);
    *n = lr.n;
    return lr.items;
}

void ctl_list_free(struct store_obj **items, size_t n)
{
    for (size_t i = 0; i < n; i++)
        store_obj_unref(items[i]);
    free(items);
}

static void log_failure(const char *what, const json_t *obj, const struct apierr *err)
{
    /* A controller's write can lose a race with a client; the next event retries it. */
    if (getenv("SVC_CONTROLLER_DEBUG"))
        fprintf(stderr, "controller: %s %s/%s: %s\n", what, ju_meta_str(obj, "namespace") ?: "",
                ju_meta_str(obj, "name") ?: "", err->message ? err->message : "?");
}

/*
 * The field manager upstream records for a component's writes: its binary's user agent up to
 * the '/'. Every controller runs in kube-controller-manager; the kubelet is its own; the
 * scheduler's bindings go below the field manager and are not recorded (NULL).
 */
static const char *field_manager_of(const char *component)
{
    if (!strcmp(component, "kubelet"))
        return "kubelet";
    if (!strcmp(component, "default-scheduler"))
        return NULL;
    if (!strcmp(component, "kube-scheduler"))
        return "kube-scheduler";
    return "kube-controller-manager";
}

int ctl_create(struct controllers *c, const struct api_resource *res, json_t *obj,
               const char *manager, struct store_obj **out)
{
    const char *fm = field_manager_of(manager);
    struct reg_req req = {.res = res,
                          .ns = ju_meta_str(obj, "namespace"),
                          .field_manager = fm,
                          .user_agent = fm,
                          .untracked = !fm};
    struct reg_result result;
    struct apierr err;
    apierr_init(&err);
    char *ns = req.ns ? xstrdup(req.ns) : NULL;
    req.ns = res->namespaced ? ns : NULL;
    json_t *keep = json_incref(obj);
    int rc = registry_create(c->reg, &req, obj, &result, &err);
    if (rc)
        log_failure("create", keep, &err);
    else if (out)
        *out = store_obj_ref(result.obj);
    if (!rc)
        reg_result_release(&result);
    json_decref(keep);
    apierr_release(&err);
    free(ns);
    return rc;
}

static int replace_with(void *ctx, const json_t *cur, json_t **out, struct apierr *err)
{
    if (!cur)
        return apierr_not_found(err, "", "objects", "");
    *out = json_deep_copy(ctx);
    return 0;
}

int ctl_update(struct controllers *c, const struct api_resource *res, json_t *obj,
               const char *subresource, const char *manager, bool system)
{
    const char *fm = field_manager_of(manager);
    struct reg_req req = {.res = res,
                          .ns = res->namespaced ? ju_meta_str(obj, "namespace") : NULL,
                          .name = ju_meta_str(obj, "name"),
                          .subresource = subresource,
                          .field_manager = fm,
                          .user_agent = fm,
                          .untracked = !fm,
                          .system = system};
    struct reg_result result;
    struct apierr err;
    apierr_init(&err);
    int rc = registry_update(c->reg, &req, replace_with, obj, &result, &err);
    if (rc)
        log_failure("update", obj, &err);
    else
        reg_result_release(&result);
    apierr_release(&err);
    json_decref(obj);
    return rc;
}

bool ctl_has_finalizer(const json_t *obj, const char *finalizer)
{
    size_t i;
    json_t *f;
    json_array_foreach (ju_arr(ju_obj(obj, "metadata"), "finalizers"), i, f) {
        if (!strcmp(json_string_value(f) ?: "", finalizer))
            return true;
    }
    return false;
}

int ctl_add_finalizer(struct controllers *c, const struct api_resource *res, const json_t *obj,
                      const char *finalizer, const char *manager)
{
    if (ctl_has_finalizer(obj, finalizer))
        return 0;
    json_t *o = json_deep_copy(obj);
    json_t *meta = ju_ensure_obj(o, "metadata");
    json_t *fins = json_object_get(meta, "finalizers");
    if (!json_is_array(fins)) {
        fins = json_array();
        json_object_set_new(meta, "finalizers", fins);
    }
    json_array_append_new(fins, json_string(finalizer));
    return ctl_update(c, res, o, NULL, manager, false);
}

int ctl_remove_finalizer(struct controllers *c, const struct api_resource *res, const json_t *obj,
                         const char *finalizer, const char *manager)
{
    if (!ctl_has_finalizer(obj, finalizer))
        return 0;
    json_t *o = json_deep_copy(obj);
    json_t *fins = ju_arr(ju_obj(o, "metadata"), "finalizers");
    for (size_t i = json_array_size(fins); i-- > 0;)
        if (!strcmp(json_string_value(json_array_get(fins, i)) ?: "", finalizer))
            json_array_remove(fins, i);
    if (!json_array_size(fins))
        json_object_del(ju_obj(o, "metadata"), "finalizers");
    return ctl_update(c, res, o, NULL, manager, false);
}

int ctl_delete(struct controllers *c, const struct api_resource *res, const char *ns,
               const char *name, const char *propagation, long long grace)
{
    struct reg_req req = {.res = res,
                          .ns = res->namespaced ? ns : NULL,
                          .name = name,
                          .user_agent = "kube-controller-manager"};
    json_t *opts = json_object();
    if (propagation)
        json_object_set_new(opts, "propagationPolicy", json_string(propagation));
    if (grace >= 0)
        json_object_set_new(opts, "gracePeriodSeconds", json_integer(grace));
    struct reg_result result;
    struct apierr err;
    apierr_init(&err);
    int rc = registry_delete(c->reg, &req, opts, &result, &err);
    if (!rc)
        reg_result_release(&result);
    apierr_release(&err);
    json_decref(opts);
    return rc;
}

/* ---- dispatch -------------------------------------------------------------------------------- */

static bool split_key(const char *key, char *res, size_t rn, char *ns, size_t nn, char *name,
                      size_t namen, bool namespaced)
{
    const char *a = strchr(key, '/');
    if (!a)
        return false;
    snprintf(res, rn, "%.*s", (int)(a - key), key);
    if (namespaced) {
        const char *b = strchr(a + 1, '/');
        if (!b)
            return false;
        snprintf(ns, nn, "%.*s", (int)(b - a - 1), a + 1);
        snprintf(name, namen, "%s", b + 1);
    } else {
        ns[0] = '\0';
        snprintf(name, namen, "%s", a + 1);
    }
    return true;
}

static void enqueue_services_selecting(struct controllers *c, const char *ns, const json_t *a,
                                       const json_t *b)
{
    size_t n;
    struct store_obj **svcs = ctl_list(c, c->res_service, ns, &n);
    const json_t *la = ju_obj(ju_obj(a, "metadata"), "labels");
    const json_t *lb = ju_obj(ju_obj(b, "metadata"), "labels");
    for (size_t i = 0; i < n; i++) {
        const json_t *sel = ju_obj(ju_obj(store_obj_json(svcs[i]), "spec"), "selector");
        if (!json_object_size(sel))
            continue;
        bool hit = false;
        const char *k;
        json_t *v;
        for (int side = 0; side < 2 && !hit; side++) {
            const json_t *labels = side ? lb : la;
            if (!labels)
                continue;
            bool all = true;
            json_object_foreach ((json_t *)sel, k, v) {
                const char *have = ju_str(labels, k);
                if (!have || strcmp(have, json_string_value(v) ?: "")) {
                    all = false;
                    break;
                }
            }
            hit = all;
        }
        if (hit)
            ctl_enqueue(c, WORK_SERVICE, ns, ju_meta_str(store_obj_json(svcs[i]), "name"));
    }
    ctl_list_free(svcs, n);
}

/* Owners of obj: queue the ReplicaSet controller for a controlling ReplicaSet, and the
   finalization of owners being deleted (foreground deletion waits for dependents). */
static void enqueue_owners(struct controllers *c, const char *ns, const json_t *obj, bool gone)
{
    size_t i;
    json_t *ref;
    json_array_foreach (ju_arr(ju_obj(obj, "metadata"), "ownerReferences"), i, ref) {
        const char *kind = ju_str(ref, "kind"), *name = ju_str(ref, "name");
        if (!kind || !name)
            continue;
        if (!strcmp(kind, "ReplicaSet"))
            ctl_enqueue(c, WORK_RS, ns, name);
        if (gone) {
            const char *api_version = ju_str(ref, "apiVersion") ?: "v1";
            const char *slash = strchr(api_version, '/');
            char group[64] = "";
            if (slash)
                snprintf(group, sizeof(group), "%.*s", (int)(slash - api_version), api_version);
            const struct api_resource *res =
                api_find_kind(c->api, group, slash ? slash + 1 : api_version, kind);
            if (res) {
                char *key = registry_key(res, ns, name);
                char *item = xasprintf("%c|%s", (char)WORK_FINALIZE, key);
                skiplist_put(c->queue, item, (void *)1);
                free(item);
                free(key);
            }
        }
    }
}

static void dispatch(struct controllers *c, const struct store_event *ev)
{
    gc_index_event(c, ev);
    char res[96], ns[256], name[256];
    const struct api_resource *r = NULL;
    const char *key = ev->obj->key;
    /* Which resource: the key's first segment is the qualified resource name. */
    const char *slash = strchr(key, '/');
    if (!slash)
        return;
    const struct api_resource *known[] = {c->res_service,   c->res_endpoints, c->res_slices,
                                          c->res_pods,      c->res_rs,        c->res_nodes,
                                          c->res_namespaces};
    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
        if (known[i] && strlen(known[i]->qualified) == (size_t)(slash - key) &&
            !strncmp(known[i]->qualified, key, (size_t)(slash - key)))
            r = known[i];
    bool namespaced = r ? r->namespaced : strchr(slash + 1, '/') != NULL;
    if (!split_key(key, res, sizeof(res), ns, sizeof(ns), name, sizeof(name), namespaced))
        return;
    const json_t *now = ev->type == STORE_DELETED ? NULL : store_obj_json(ev->obj);
    const json_t *before = ev->prev ? store_obj_json(ev->prev) : NULL;
    if (r == c->res_service) {
        ctl_enqueue(c, WORK_SERVICE, ns, name);
        ctl_enqueue(c, WORK_MIRROR, ns, name);
    } else if (r == c->res_pods) {
        ctl_enqueue(c, WORK_POD, ns, name);
        enqueue_services_selecting(c, ns, now, before);
        if (now)
            enqueue_owners(c, ns, now, false);
        if (before)
            enqueue_owners(c, ns, before, false);
        /* A pod without a controller may be adopted by a ReplicaSet that selects it. */
        size_t n;
        struct store_obj **rss = ctl_list(c, c->res_rs, ns, &n);
        for (size_t i = 0; i < n; i++)
            ctl_enqueue(c, WORK_RS, ns, ju_meta_str(store_obj_json(rss[i]), "name"));
        ctl_list_free(rss, n);
        if (ev->type == STORE_DELETED)
            kubelet_forget_pod(c, store_obj_json(ev->obj));
    } else if (r == c->res_rs) {
        ctl_enqueue(c, WORK_RS, ns, name);
    } else if (r == c->res_endpoints) {
        ctl_enqueue(c, WORK_SERVICE, ns, name);
        ctl_enqueue(c, WORK_MIRROR, ns, name);
    } else if (r == c->res_slices) {
        const char *svc = ju_str(ju_obj(ju_obj(store_obj_json(ev->obj), "metadata"), "labels"),
                                 "kubernetes.io/service-name");
        if (svc) {
            ctl_enqueue(c, WORK_SERVICE, ns, svc);
            ctl_enqueue(c, WORK_MIRROR, ns, svc);
        }
    }
    if (ev->type == STORE_DELETED) {
        const char *uid = ju_meta_str(store_obj_json(ev->obj), "uid");
        if (uid) {
            char *item = xasprintf("%c|%s|%s", (char)WORK_GC, namespaced ? ns : "", uid);
            skiplist_put(c->queue, item, (void *)1);
            free(item);
        }
        enqueue_owners(c, ns, store_obj_json(ev->obj), true);
    } else if (now && ju_meta_str(now, "deletionTimestamp") &&
               json_array_size(ju_arr(ju_obj(now, "metadata"), "finalizers"))) {
        char *item = xasprintf("%c|%s", (char)WORK_FINALIZE, key);
        skiplist_put(c->queue, item, (void *)1);
        free(item);
    }
}

/* Everything, as after a restart or when the event log moved past us. */
static void resync(struct controllers *c)
{
    gc_index_rebuild(c);
    const struct api_resource *all[] = {c->res_service, c->res_rs, c->res_pods};
    const enum ctl_work work[] = {WORK_SERVICE, WORK_RS, WORK_POD};
    for (size_t k = 0; k < 3; k++) {
        size_t n;
        struct store_obj **items = ctl_list(c, all[k], NULL, &n);
        for (size_t i = 0; i < n; i++) {
            /* names from the keys: parsing every object here kept every tree after start-up */
            char res[96], ns[256], name[256];
            if (!split_key(items[i]->key, res, sizeof(res), ns, sizeof(ns), name, sizeof(name),
                           true))
                continue;
            ctl_enqueue(c, work[k], ns, name);
            if (work[k] == WORK_SERVICE)
                ctl_enqueue(c, WORK_MIRROR, ns, name);
        }
        ctl_list_free(items, n);
    }
}

static void run_item(struct controllers *c, const char *item)
{
    char kind = item[0];
    const char *rest = item + 2;
    if (kind == WORK_GC) {
        const char *bar = strchr(rest, '|');
        if (!bar)
            return;
        char ns[256];
        snprintf(ns, sizeof(ns), "%.*s", (int)(bar - rest), rest);
        gc_owner_gone(c, ns, bar + 1);
        return;
    }
    if (kind == WORK_FINALIZE) {
        gc_finalize(c, rest);
        return;
    }
    const char *slash = strchr(rest, '/');
    if (!slash)
        return;
    char ns[256];
    snprintf(ns, sizeof(ns), "%.*s", (int)(slash - rest), rest);
    const char *name = slash + 1;
    switch (kind) {
    case WORK_SERVICE:
        service_sync(c, ns, name);
        break;
    case WORK_RS:
        rs_sync(c, ns, name);
        break;
    case WORK_POD:
        kubelet_sync_pod(c, ns, name);
        break;
    case WORK_MIRROR:
        mirror_sync(c, ns, name);
        break;
    default:
        break;
    }
}

/* How long the thread waits, once woken, for more events before handling them. */
#define COALESCE_NS 1000000L

static void drain_events(struct controllers *c)
{
    struct store_event evs[EVENT_BATCH];
    for (;;) {
        long n = store_events_since(c->store, c->cursor, evs, EVENT_BATCH);
        if (n == STORE_ERR_EXPIRED) {
            c->cursor = store_revision(c->store);
            resync(c);
            return;
        }
        if (n <= 0)
            return;
        for (long i = 0; i < n; i++) {
            dispatch(c, &evs[i]);
            c->cursor = evs[i].rv;
            store_event_release(&evs[i]);
            store_parse_log_flush(c->store);
        }
    }
}

static void *manager_main(void *arg)
{
    struct controllers *c = arg;
    kubelet_start(c);
    resync(c);
    store_parse_log_begin(); /* from here on: resync's parses are left to store_trim */
    for (;;) {
        drain_events(c);
        uint64_t wait_us = run_timers(c);
        /* Work until the queue is empty; new events are picked up between items. */
        struct skiplist_node *first;
        int budget = 10000;
        while ((first = skiplist_seek(c->queue, "", 0)) && budget-- > 0) {
            char *item = xstrdup(skiplist_node_key(first));
            skiplist_remove(c->queue, item);
            run_item(c, item);
            free(item);
            /* The trees the item parsed go now, warm, from this thread: kept for the sweep, they
               were freed cold, and glibc's free lists fared badly with them (a third of this
               thread's time at 10,000 creates/s). The next item parses what it needs again. */
            store_parse_log_flush(c->store);
            store_trim(c->store); /* over the budget (trees others parsed, or still held) */
            drain_events(c);
        }
        wait_us = run_timers(c);
        if (skiplist_size(c->queue))
            continue;
        pthread_mutex_lock(&c->lock);
        if (!c->stop && c->latest_rv <= c->cursor) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_sec += (time_t)(wait_us / 1000000);
            ts.tv_nsec += (long)(wait_us % 1000000) * 1000;
            if (ts.tv_nsec >= 1000000000) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000;
            }
            pthread_cond_timedwait(&c->cond, &c->lock, &ts);
        }
        bool stop = c->stop;
        pthread_mutex_unlock(&c->lock);
        if (stop)
            break;
        /* Let a burst of writes gather before handling it: woken for every commit, this thread
           took the CPU from the request threads twice per write (a third of a create's cost on
           two cores). Upstream controllers see events later than this anyway. */
        nanosleep(&(struct timespec){.tv_nsec = COALESCE_NS}, NULL);
    }
    store_parse_log_end(c->store);
    return NULL;
}

static void on_commit(void *ctx, uint64_t rv)
{
    struct controllers *c = ctx;
    pthread_mutex_lock(&c->lock);
    if (rv > c->latest_rv)
        c->latest_rv = rv;
    pthread_cond_signal(&c->cond);
    pthread_mutex_unlock(&c->lock);
}

struct controllers *controllers_start(struct registry *reg, const struct controllers_config *cfg,
                                      char *msg, size_t msg_len)
{
    struct controllers *c = xcalloc(1, sizeof(*c));
    c->reg = reg;
    c->store = registry_store(reg);
    c->api = registry_api(reg);
    c->cfg = *cfg;
    c->cfg.pod_cidr = xstrdup(cfg->pod_cidr ? cfg->pod_cidr : "10.244.0.0/16");
    c->cfg.lb_ip_range = cfg->lb_ip_range ? xstrdup(cfg->lb_ip_range) : NULL;
    if (c->cfg.nodes <= 0)
        c->cfg.nodes = 1;
    if (c->cfg.max_endpoints_per_slice <= 0)
        c->cfg.max_endpoints_per_slice = 100;
    c->res_service = api_find_resource(c->api, "", "v1", "services");
    c->res_endpoints = api_find_resource(c->api, "", "v1", "endpoints");
    c->res_slices = api_find_resource(c->api, "discovery.k8s.io", "v1", "endpointslices");
    c->res_pods = api_find_resource(c->api, "", "v1", "pods");
    c->res_rs = api_find_resource(c->api, "apps", "v1", "replicasets");
    c->res_nodes = api_find_resource(c->api, "", "v1", "nodes");
    c->res_events = api_find_resource(c->api, "", "v1", "events");
    c->res_namespaces = api_find_resource(c->api, "", "v1", "namespaces");
    c->res_leases = api_find_resource(c->api, "coordination.k8s.io", "v1", "leases");
    c->queue = skiplist_new();
    c->owner_index = skiplist_new();
    pthread_mutex_init(&c->lock, NULL);
    pthread_cond_init(&c->cond, NULL);
    uint32_t pod_base;
    int pod_prefix;
    if (kubelet_parse_pod_cidr(c->cfg.pod_cidr, &pod_base, &pod_prefix) ||
        (1l << (24 - pod_prefix)) < c->cfg.nodes) {
        snprintf(msg, msg_len,
                 "invalid --pod-cidr %s: want an IPv4 CIDR from /8 to /24 with a "
                 "/24 for each of the %d nodes",
                 c->cfg.pod_cidr, c->cfg.nodes);
        controllers_stop(c);
        return NULL;
    }
    if (c->cfg.lb_ip_range && lb_parse_range(c, c->cfg.lb_ip_range, msg, msg_len)) {
        controllers_stop(c);
        return NULL;
    }
    /* Start from the current revision: the first resync looks at everything stored. */
    c->cursor = store_revision(c->store);
    c->latest_rv = c->cursor;
    store_add_listener(c->store, on_commit, c);
    if (pthread_create(&c->thread, NULL, manager_main, c)) {
        snprintf(msg, msg_len, "cannot start the controllers' thread");
        controllers_stop(c);
        return NULL;
    }
    return c;
}

void controllers_stop(struct controllers *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&c->lock);
    bool running = !c->stop && c->thread;
    c->stop = true;
    pthread_cond_signal(&c->cond);
    pthread_mutex_unlock(&c->lock);
    if (running)
        pthread_join(c->thread, NULL);
    for (size_t i = 0; i < c->n_timers; i++)
        free(c->timers[i].item);
    free(c->timers);
    skiplist_free(c->queue);
    skiplist_free(c->owner_index);
    for (int i = 0; i < c->n_nodes; i++) {
        free(c->nodes[i].name);
        free(c->nodes[i].internal_ip);
    }
    free(c->nodes);
    kubelet_free_clocks(c);
    free(c->lb_used);
    ctl_events_free(c);
    free((char *)c->cfg.pod_cidr);
    free((char *)c->cfg.lb_ip_range);
    pthread_cond_destroy(&c->cond);
    pthread_mutex_destroy(&c->lock);
    free(c);
}
