/*
 * replicaset: the ReplicaSet controller (kubernetes pkg/controller/replicaset): claims the pods
 * its selector matches (adopting orphans, releasing pods that stopped matching), creates or
 * deletes pods until spec.replicas are active, and keeps status, recording the upstream events
 * SuccessfulCreate / SuccessfulDelete.
 */
#include "ctl.h"

#include "podutil.h"
#include "svc/api.h"
#include "svc/selector.h"
#include "svc/store.h"
#include "svc/util.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define COMPONENT "replicaset-controller"

/* The controlling owner reference of obj, or NULL. */
static const json_t *controller_ref(const json_t *obj)
{
    size_t i;
    json_t *ref;
    json_array_foreach (ju_arr(ju_obj(obj, "metadata"), "ownerReferences"), i, ref)
        if (ju_bool(ref, "controller", false))
            return ref;
    return NULL;
}

static bool active(const json_t *pod)
{
    return !podutil_is_terminal(pod) && !podutil_is_terminating(pod);
}

static json_t *owner_ref(const json_t *rs)
{
    return json_pack("{s:s,s:s,s:s,s:s,s:b,s:b}", "apiVersion", "apps/v1", "kind", "ReplicaSet",
                     "name", ju_meta_str(rs, "name") ?: "", "uid", ju_meta_str(rs, "uid") ?: "",
                     "controller", 1, "blockOwnerDeletion", 1);
}

static void adopt(struct controllers *c, const json_t *rs, const json_t *pod)
{
    json_t *p = json_deep_copy(pod);
    json_t *meta = ju_ensure_obj(p, "metadata");
    json_t *refs = json_object_get(meta, "ownerReferences");
    if (!json_is_array(refs)) {
        refs = json_array();
        json_object_set_new(meta, "ownerReferences", refs);
    }
    json_array_append_new(refs, owner_ref(rs));
    ctl_update(c, c->res_pods, p, NULL, COMPONENT, false);
}

static void release(struct controllers *c, const json_t *rs, const json_t *pod)
{
    json_t *p = json_deep_copy(pod);
    json_t *refs = ju_arr(ju_obj(p, "metadata"), "ownerReferences");
    const char *uid = ju_meta_str(rs, "uid");
    for (size_t i = json_array_size(refs); i-- > 0;)
        if (!strcmp(ju_str(json_array_get(refs, i), "uid") ?: "", uid ? uid : ""))
            json_array_remove(refs, i);
    ctl_update(c, c->res_pods, p, NULL, COMPONENT, false);
}

static json_t *pod_from_template(const json_t *rs)
{
    const json_t *tmpl = ju_obj(ju_obj(rs, "spec"), "template");
    const json_t *tmeta = ju_obj(tmpl, "metadata");
    char *gen = xasprintf("%s-", ju_meta_str(rs, "name") ?: "");
    json_t *meta = json_pack("{s:s,s:s}", "generateName", gen, "namespace",
                             ju_meta_str(rs, "namespace") ?: "");
    free(gen);
    if (ju_obj(tmeta, "labels"))
        json_object_set(meta, "labels", ju_obj(tmeta, "labels"));
    if (ju_obj(tmeta, "annotations"))
        json_object_set(meta, "annotations", ju_obj(tmeta, "annotations"));
    if (ju_arr(tmeta, "finalizers"))
        json_object_set(meta, "finalizers", ju_arr(tmeta, "finalizers"));
    json_object_set_new(meta, "ownerReferences", json_pack("[o]", owner_ref(rs)));
    json_t *spec = json_deep_copy(ju_obj(tmpl, "spec"));
    return json_pack("{s:s,s:s,s:o,s:o}", "kind", "Pod", "apiVersion", "v1", "metadata", meta,
                     "spec", spec ? spec : json_object());
}

/* ---- which pods a scale-down takes (controller_utils.go ActivePodsWithRanks) ---------------- */

/* A pod to rank, with what the comparison needs worked out once. */
struct ranked {
    struct store_obj *obj; /* borrowed */
    int rank;              /* active pods of the set on the same node, this one included */
    int cost;              /* controller.kubernetes.io/pod-deletion-cost */
    bool ready;
    bool has_ready_time;
    struct timespec ready_time; /* Ready lastTransitionTime, when ready */
    long long restarts, sidecar_restarts;
    bool has_created;
    struct timespec created;
    struct timespec now; /* the ranking's ActivePodsWithRanks.Now, the same for every pod */
};

/* podPhaseToOrdinal: Pending < Unknown < Running; any other phase counts as Pending. */
static int phase_ordinal(const json_t *pod)
{
    const char *phase = ju_str(ju_obj(pod, "status"), "phase");
    if (phase && !strcmp(phase, "Running"))
        return 2;
    if (phase && !strcmp(phase, "Unknown"))
        return 1;
    return 0;
}

/* GetDeletionCostFromPodAnnotations: a plain int32 (no '+', no leading zeros); anything else
   counts as 0. */
static int deletion_cost(const json_t *pod)
{
    const char *v = ju_str(ju_obj(ju_obj(pod, "metadata"), "annotations"),
                           "controller.kubernetes.io/pod-deletion-cost");
    if (!v || !*v || !(v[0] == '-' || !strcmp(v, "0") || (v[0] >= '1' && v[0] <= '9')))
        return 0;
    char *end;
    errno = 0;
    long long n = strtoll(v, &end, 10);
    if (errno || *end || end == v || n < INT32_MIN || n > INT32_MAX)
        return 0;
    return (int)n;
}

static bool is_sidecar(const json_t *pod, const char *name)
{
    size_t i;
    json_t *c;
    json_array_foreach (ju_arr(ju_obj(pod, "spec"), "initContainers"), i, c) {
        if (!strcmp(ju_str(c, "name") ?: "", name ?: ""))
            return !strcmp(ju_str(c, "restartPolicy") ?: "", "Always");
    }
    return false;
}

/* maxContainerRestarts: the highest restart count of the regular containers and of the
   restartable init (sidecar) containers. */
static void max_restarts(const json_t *pod, long long *regular, long long *sidecar)
{
    const json_t *status = ju_obj(pod, "status");
    size_t i;
    json_t *cs;
    *regular = *sidecar = 0;
    json_array_foreach (ju_arr(status, "containerStatuses"), i, cs) {
        long long n = ju_int(cs, "restartCount", 0);
        if (n > *regular)
            *regular = n;
    }
    json_array_foreach (ju_arr(status, "initContainerStatuses"), i, cs) {
        long long n = ju_int(cs, "restartCount", 0);
        if (is_sidecar(pod, ju_str(cs, "name")) && n > *sidecar)
            *sidecar = n;
    }
}

static int cmp_time(struct timespec a, struct timespec b)
{
    if (a.tv_sec != b.tv_sec)
        return a.tv_sec < b.tv_sec ? -1 : 1;
    return a.tv_nsec < b.tv_nsec ? -1 : a.tv_nsec > b.tv_nsec;
}

/* logarithmicRankDiff: compare how long ago t1 and t2 were on a log2 scale of nanoseconds,
   so that pods of about the same age count as equal (LogarithmicScaleDown, on by default). */
static long long log_rank_diff(struct timespec t1, struct timespec t2, struct timespec now)
{
    double d1 = (double)(now.tv_sec - t1.tv_sec) * 1e9 + (double)(now.tv_nsec - t1.tv_nsec);
    double d2 = (double)(now.tv_sec - t2.tv_sec) * 1e9 + (double)(now.tv_nsec - t2.tv_nsec);
    long long r1 = d1 > 0 ? (long long)log2(d1) : -1;
    long long r2 = d2 > 0 ? (long long)log2(d2) : -1;
    return r1 - r2;
}

/* Newer first, on the logarithmic scale; then by UID (rule 6 and 8 with LogarithmicScaleDown). */
static int cmp_age(struct timespec a, struct timespec b, const json_t *pa, const json_t *pb,
                   struct timespec now)
{
    long long d = log_rank_diff(a, b, now);
    if (d)
        return d < 0 ? -1 : 1;
    return strcmp(ju_meta_str(pa, "uid") ?: "", ju_meta_str(pb, "uid") ?: "");
}

/*
 * ActivePodsWithRanks.Less: the pod to delete first sorts first.
 *  1. unassigned before assigned; 2. Pending < Unknown < Running; 3. not ready before ready;
 *  4. lower pod-deletion-cost first; 5. more pods of the set on its node first;
 *  6. ready for less time first; 7. more container restarts first; 8. newer first.
 */
static int cmp_delete_order(const void *pa, const void *pb)
{
    const struct ranked *a = pa, *b = pb;
    const json_t *x = store_obj_json(a->obj), *y = store_obj_json(b->obj);
    const char *nx = ju_str(ju_obj(x, "spec"), "nodeName") ?: "";
    const char *ny = ju_str(ju_obj(y, "spec"), "nodeName") ?: "";
    if (strcmp(nx, ny) && (!*nx || !*ny))
        return !*nx ? -1 : 1;
    int d = phase_ordinal(x) - phase_ordinal(y);
    if (d)
        return d < 0 ? -1 : 1;
    if (a->ready != b->ready)
        return !a->ready ? -1 : 1;
    if (a->cost != b->cost)
        return a->cost < b->cost ? -1 : 1;
    if (a->rank != b->rank)
        return a->rank > b->rank ? -1 : 1;
    if (a->ready && b->ready &&
        (a->has_ready_time != b->has_ready_time || cmp_time(a->ready_time, b->ready_time))) {
        /* afterOrZero: a missing time counts as newest. */
        if (!a->has_ready_time || !b->has_ready_time)
            return !a->has_ready_time ? -1 : 1;
        return cmp_age(a->ready_time, b->ready_time, x, y, a->now);
    }
    if (a->restarts != b->restarts)
        return a->restarts > b->restarts ? -1 : 1;
    if (a->sidecar_restarts != b->sidecar_restarts)
        return a->sidecar_restarts > b->sidecar_restarts ? -1 : 1;
    if (a->has_created != b->has_created)
        return !a->has_created ? -1 : 1;
    if (a->has_created && cmp_time(a->created, b->created))
        return cmp_age(a->created, b->created, x, y, a->now);
    return 0;
}

/* getPodsRankedByRelatedPodsOnSameNode: each pod ranked by the active pods of the set (here
   the ReplicaSet's own, as for one without a Deployment) on its node. */
static struct ranked *rank_pods(struct store_obj **pods, size_t n, struct timespec now)
{
    struct ranked *r = xcalloc(n + 1, sizeof(*r));
    for (size_t i = 0; i < n; i++) {
        const json_t *pod = store_obj_json(pods[i]);
        const char *node = ju_str(ju_obj(pod, "spec"), "nodeName") ?: "";
        r[i].obj = pods[i];
        for (size_t k = 0; k < n; k++)
            r[i].rank +=
                !strcmp(ju_str(ju_obj(store_obj_json(pods[k]), "spec"), "nodeName") ?: "", node);
        r[i].cost = deletion_cost(pod);
        r[i].ready = podutil_is_ready(pod);
        r[i].has_ready_time = r[i].ready && podutil_ready_since(pod, &r[i].ready_time);
        max_restarts(pod, &r[i].restarts, &r[i].sidecar_restarts);
        r[i].has_created =
            util_parse_time(ju_meta_str(pod, "creationTimestamp"), &r[i].created) == 0;
        r[i].now = now;
    }
    return r;
}

static bool labels_include(const json_t *labels, const json_t *want)
{
    const char *k;
    json_t *v;
    json_object_foreach ((json_t *)want, k, v) {
        const char *have = ju_str(labels, k);
        if (!have || strcmp(have, json_string_value(v) ?: ""))
            return false;
    }
    return true;
}

/*
 * calculateStatus and updateReplicaSetStatus: counts over the active pods the set controls;
 * availableReplicas by IsPodAvailable with minReadySeconds, not by readiness alone. Nothing
 * changes in the store when a ready pod turns available, so while some are ready but not yet
 * available the set is looked at again when the first of them is (upstream requeues after
 * minReadySeconds "as a last line of defense"; the pods' updates do the rest there).
 */
static void update_status(struct controllers *c, const json_t *rs, struct store_obj **pods,
                          size_t n)
{
    const json_t *spec = ju_obj(rs, "spec");
    const json_t *tmpl_labels = ju_obj(ju_obj(ju_obj(spec, "template"), "metadata"), "labels");
    long long min_ready = ju_int(spec, "minReadySeconds", 0);
    struct timespec now = util_now(), next = {0};
    bool pending = false;
    long long replicas = 0, labeled = 0, ready = 0, available = 0;
    for (size_t i = 0; i < n; i++) {
        const json_t *pod = store_obj_json(pods[i]);
        struct timespec at;
        replicas++;
        if (labels_include(ju_obj(ju_obj(pod, "metadata"), "labels"), tmpl_labels))
            labeled++;
        if (!podutil_is_ready(pod))
            continue;
        ready++;
        if (podutil_is_available(pod, min_ready, now, &at))
            available++;
        else if (!pending || cmp_time(at, next) < 0)
            next = at, pending = true;
    }
    json_t *obj = json_deep_copy(rs);
    json_t *status = json_deep_copy(ju_obj(rs, "status"));
    if (!status)
        status = json_object();
    json_object_set_new(status, "replicas", json_integer(replicas));
    json_object_set_new(status, "fullyLabeledReplicas", json_integer(labeled));
    json_object_set_new(status, "readyReplicas", json_integer(ready));
    json_object_set_new(status, "availableReplicas", json_integer(available));
    json_object_set_new(status, "observedGeneration",
                        json_integer(ju_int(ju_obj(rs, "metadata"), "generation", 0)));
    json_object_set_new(obj, "status", status);
    ctl_update(c, c->res_rs, obj, "status", COMPONENT, false);
    if (pending) {
        double delay =
            (double)(next.tv_sec - now.tv_sec) + (double)(next.tv_nsec - now.tv_nsec) / 1e9 + 0.01;
        ctl_enqueue_after(c, WORK_RS, ju_meta_str(rs, "namespace"), ju_meta_str(rs, "name"),
                          delay > 0.01 ? delay : 0.01);
    }
}

/* getPodsToDelete: the first n of the active pods in ActivePodsWithRanks order. */
static void delete_pods(struct controllers *c, const json_t *rs, struct store_obj **mine,
                        size_t n_mine, size_t n)
{
    struct ranked *r = rank_pods(mine, n_mine, util_now());
    qsort(r, n_mine, sizeof(*r), cmp_delete_order);
    const char *ns = ju_meta_str(rs, "namespace");
    for (size_t k = 0; k < n && k < n_mine; k++) {
        const char *pname = ju_meta_str(store_obj_json(r[k].obj), "name");
        if (!ctl_delete(c, c->res_pods, ns, pname, NULL, -1))
            ctl_event(c, rs, "Normal", "SuccessfulDelete", COMPONENT, "Deleted pod: %s", pname);
    }
    free(r);
}

void rs_sync(struct controllers *c, const char *ns, const char *name)
{
    struct store_obj *ro = ctl_get(c, c->res_rs, ns, name);
    if (!ro)
        return;
    const json_t *rs = store_obj_json(ro);
    char *msg = NULL;
    struct label_selector *sel =
        label_selector_from_json(ju_obj(ju_obj(rs, "spec"), "selector"), &msg);
    free(msg);
    if (!sel) {
        store_obj_unref(ro);
        return;
    }
    const char *uid = ju_meta_str(rs, "uid");
    bool deleting = podutil_is_terminating(rs);
    size_t np;
    struct store_obj **pods = ctl_list(c, c->res_pods, ns, &np);
    struct store_obj **mine = xcalloc(np + 1, sizeof(*mine));
    size_t n_mine = 0;
    for (size_t i = 0; i < np; i++) {
        const json_t *pod = store_obj_json(pods[i]);
        const json_t *labels = ju_obj(ju_obj(pod, "metadata"), "labels");
        const json_t *ref = controller_ref(pod);
        bool match = label_selector_matches(sel, labels);
        if (ref) {
            if (strcmp(ju_str(ref, "uid") ?: "", uid ? uid : ""))
                continue; /* someone else's */
            if (!match) {
                if (!deleting)
                    release(c, rs, pod);
                continue;
            }
        } else {
            if (!match || !active(pod) || deleting)
                continue;
            adopt(c, rs, pod);
        }
        if (active(pod))
            mine[n_mine++] = pods[i];
    }
    long long want = ju_int(ju_obj(rs, "spec"), "replicas", 1);
    long long diff = want - (long long)n_mine;
    if (!deleting && diff > 0) {
        for (long long k = 0; k < diff; k++) {
            struct store_obj *created = NULL;
            if (ctl_create(c, c->res_pods, pod_from_template(rs), COMPONENT, &created))
                break;
            ctl_event(c, rs, "Normal", "SuccessfulCreate", COMPONENT, "Created pod: %s",
                      ju_meta_str(store_obj_json(created), "name"));
            store_obj_unref(created);
        }
    } else if (!deleting && diff < 0) {
        delete_pods(c, rs, mine, n_mine, (size_t)-diff);
    }
    /* Status as the pods were at the start of this sync; the pods' own events bring the rest. */
    update_status(c, rs, mine, n_mine);
    free(mine);
    ctl_list_free(pods, np);
    label_selector_free(sel);
    store_obj_unref(ro);
}
