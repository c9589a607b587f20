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

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#define COMPONENT "replicaset-controller"

/* The controlling owner reference of obj, or NULL. */
static const json_t *controller_ref(const json_t *obj)
{
    size_t i;
    json_t *ref;
    json_array_foreach(ju_arr(ju_obj(obj, "metadata"), "ownerReferences"), i, ref)
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

/* The deletion order of getPodsToDelete: the cheapest pod to lose first. */
static int rank(const json_t *pod)
{
    int r = 0;
    if (!ju_empty(ju_str(ju_obj(pod, "spec"), "nodeName")))
        r += 4;
    const char *phase = ju_str(ju_obj(pod, "status"), "phase");
    if (phase && !strcmp(phase, "Running"))
        r += 2;
    if (podutil_is_ready(pod))
        r += 1;
    return r;
}

static int cmp_delete_order(const void *pa, const void *pb)
{
    const json_t *a = store_obj_json(*(struct store_obj *const *)pa);
    const json_t *b = store_obj_json(*(struct store_obj *const *)pb);
    int d = rank(a) - rank(b);
    if (d)
        return d;
    /* Newer pods go first. */
    const char *ta = ju_meta_str(a, "creationTimestamp") ?: "";
    const char *tb = ju_meta_str(b, "creationTimestamp") ?: "";
    int t = strcmp(tb, ta);
    if (t)
        return t;
    return strcmp(ju_meta_str(b, "name") ?: "", ju_meta_str(a, "name") ?: "");
}

static bool labels_include(const json_t *labels, const json_t *want)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)want, k, v) {
        const char *have = ju_str(labels, k);
        if (!have || strcmp(have, json_string_value(v) ?: ""))
            return false;
    }
    return true;
}

static void update_status(struct controllers *c, const json_t *rs, struct store_obj **pods,
                          size_t n)
{
    const json_t *tmpl_labels = ju_obj(ju_obj(ju_obj(ju_obj(rs, "spec"), "template"), "metadata"),
                                       "labels");
    long long replicas = 0, labeled = 0, ready = 0;
    for (size_t i = 0; i < n; i++) {
        replicas++;
        if (labels_include(ju_obj(ju_obj(store_obj_json(pods[i]), "metadata"), "labels"), tmpl_labels))
            labeled++;
        if (podutil_is_ready(store_obj_json(pods[i])))
            ready++;
    }
    json_t *obj = json_deep_copy(rs);
    json_t *status = json_deep_copy(ju_obj(rs, "status"));
    if (!status)
        status = json_object();
    json_object_set_new(status, "replicas", json_integer(replicas));
    json_object_set_new(status, "fullyLabeledReplicas", json_integer(labeled));
    json_object_set_new(status, "readyReplicas", json_integer(ready));
    json_object_set_new(status, "availableReplicas", json_integer(ready));
    json_object_set_new(status, "observedGeneration",
                        json_integer(ju_int(ju_obj(rs, "metadata"), "generation", 0)));
    json_object_set_new(obj, "status", status);
    ctl_update(c, c->res_rs, obj, "status", COMPONENT, false);
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
        qsort(mine, n_mine, sizeof(*mine), cmp_delete_order);
        for (long long k = 0; k < -diff && (size_t)k < n_mine; k++) {
            const char *pname = ju_meta_str(store_obj_json(mine[k]), "name");
            if (!ctl_delete(c, c->res_pods, ns, pname, NULL, -1))
                ctl_event(c, rs, "Normal", "SuccessfulDelete", COMPONENT, "Deleted pod: %s",
                          pname);
        }
    }
    /* Status as the pods were at the start of this sync; the pods' own events bring the rest. */
    update_status(c, rs, mine, n_mine);
    free(mine);
    ctl_list_free(pods, np);
    label_selector_free(sel);
    store_obj_unref(ro);
}
