/*
 * pod: the Pod strategy (kubernetes pkg/registry/core/pod, pkg/apis/core/v1 defaults) with the
 * admission plugins a real cluster runs on every pod: ServiceAccount (the default service
 * account and its projected token volume), DefaultTolerationSeconds (the not-ready and
 * unreachable NoExecute tolerations) and Priority (priority and preemptionPolicy from the
 * priority class). Upstream runs mutating admission after decoding and before PrepareForCreate;
 * here it runs in begin_create, which the pipeline calls at that point.
 *
 * Graceful deletion follows apiserver's BeforeDelete and the pod's CheckGracefulDelete: a DELETE
 * sets deletionTimestamp (now + grace) and deletionGracePeriodSeconds, bumps the generation, and
 * keeps the pod for the kubelet, which finishes the job with a DELETE of grace 0; grace 0, an
 * unscheduled pod and a finished pod go at once (after the same marking write, which watchers
 * see as MODIFIED before DELETED, as upstream). A main-resource update from the server itself
 * (req->system) is the scheduler's binding: it may set spec.nodeName and status together, as
 * the pods/binding subresource does, without a generation bump.
 */
#include "registry_private.h"

#include "svc/apierr.h"
#include "svc/store.h"
#include "svc/util.h"
#include "svc/validate_workloads.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

/* How often a graceful delete re-reads the pod when other writers keep winning. */
#define DELETE_RETRIES 16

static const char token_mount_path[] = "/var/run/secrets/kubernetes.io/serviceaccount";

/* ---- defaulting ---------------------------------------------------------------------------------
 * v1 defaulting, then the v1 conversion's PodIP / PodIPs and HostIP / HostIPs rules: the
 * singular field wins when both are set and differ, and fills an empty list. The internal type
 * has no PodIP, so podIP is then podIPs[0]; it has a HostIP, so an empty hostIP stays empty
 * (and validation says hostIPs[0] must equal it). */

static void sync_ip_pair(json_t *status, const char *one, const char *list, bool fill_one)
{
    const char *ip = ju_str(status, one);
    json_t *ips = ju_arr(status, list);
    const char *first = ju_str(json_array_get(ips, 0), "ip");
    if (!ju_empty(ip) && (!json_array_size(ips) || !first || strcmp(first, ip)))
        json_object_set_new(status, list, json_pack("[{s:s}]", "ip", ip));
    else if (fill_one && ju_empty(ip) && !ju_empty(first))
        json_object_set_new(status, one, json_string(first));
}

static void pod_defaults(json_t *obj)
{
    validate_default_pod_spec(ju_ensure_obj(obj, "spec"), true);
    json_t *status = ju_obj(obj, "status");
    if (status) {
        sync_ip_pair(status, "podIP", "podIPs", true);
        sync_ip_pair(status, "hostIP", "hostIPs", false);
    }
}

/* ---- admission ------------------------------------------------------------------------------- */

static bool mounts_token_path(const json_t *container)
{
    size_t i;
    json_t *m;
    json_array_foreach (ju_arr(container, "volumeMounts"), i, m) {
        const char *p = ju_str(m, "mountPath");
        if (p && !strcmp(p, token_mount_path))
            return true;
    }
    return false;
}

/* The projected volume the ServiceAccount plugin adds (TokenVolumeSource). */
static json_t *token_volume(const char *name)
{
    return json_pack("{s:s,s:{s:[{s:{s:i,s:s}},{s:{s:s,s:[{s:s,s:s}]}},"
                     "{s:{s:[{s:s,s:{s:s,s:s}}]}}],s:i}}",
                     "name", name, "projected", "sources", "serviceAccountToken",
                     "expirationSeconds", 3607, "path", "token", "configMap", "name",
                     "kube-root-ca.crt", "items", "key", "ca.crt", "path", "ca.crt", "downwardAPI",
                     "items", "path", "namespace", "fieldRef", "apiVersion", "v1", "fieldPath",
                     "metadata.namespace", "defaultMode", 420);
}

/* The ServiceAccount plugin (create only). Every service account is taken to exist with
   automountServiceAccountToken unset: we serve no ServiceAccounts to look up. */
static void admit_service_account(json_t *pod)
{
    json_t *spec = ju_ensure_obj(pod, "spec");
    const json_t *ann = ju_obj(ju_obj(pod, "metadata"), "annotations");
    if (ju_str(ann, "kubernetes.io/config.mirror"))
        return; /* mirror pods are never modified */
    if (ju_empty(ju_str(spec, "serviceAccountName"))) {
        json_object_set_new(spec, "serviceAccountName", json_string("default"));
        json_object_set_new(spec, "serviceAccount", json_string("default"));
    }
    if (!ju_bool(spec, "automountServiceAccountToken", true))
        return;
    char *name = NULL;
    bool has_volume = false;
    size_t i;
    json_t *v;
    json_array_foreach (ju_arr(spec, "volumes"), i, v) {
        const char *n = ju_str(v, "name");
        if (n && !strncmp(n, "kube-api-access-", 16)) {
            name = xstrdup(n);
            has_volume = true;
            break;
        }
    }
    if (!name) {
        char suffix[6];
        util_random_name_suffix(suffix);
        name = xasprintf("kube-api-access-%s", suffix);
    }
    bool needed = false;
    static const char *const lists[] = {"initContainers", "containers"};
    for (size_t l = 0; l < 2; l++) {
        json_t *c;
        json_array_foreach (ju_arr(spec, lists[l]), i, c) {
            if (!json_is_object(c) || mounts_token_path(c))
                continue;
            json_t *mounts = ju_arr(c, "volumeMounts");
            if (!mounts) {
                mounts = json_array();
                json_object_set_new(c, "volumeMounts", mounts);
            }
            json_array_append_new(mounts, json_pack("{s:s,s:b,s:s}", "name", name, "readOnly", 1,
                                                    "mountPath", token_mount_path));
            needed = true;
        }
    }
    if (needed && !has_volume) {
        json_t *vols = ju_arr(spec, "volumes");
        if (!vols) {
            vols = json_array();
            json_object_set_new(spec, "volumes", vols);
        }
        json_array_append_new(vols, token_volume(name));
    }
    free(name);
}

/* DefaultTolerationSeconds: tolerate node.kubernetes.io/not-ready and unreachable for 300s
   unless the pod already tolerates them (create and update of the pod itself). */
static void admit_default_tolerations(json_t *pod)
{
    static const char *const keys[] = {"node.kubernetes.io/not-ready",
                                       "node.kubernetes.io/unreachable"};
    json_t *spec = ju_ensure_obj(pod, "spec");
    json_t *tols = ju_arr(spec, "tolerations");
    bool tolerated[2] = {false, false};
    size_t i;
    json_t *t;
    json_array_foreach (tols, i, t) {
        const char *key = ju_str(t, "key"), *effect = ju_str(t, "effect");
        bool effect_ok = ju_empty(effect) || !strcmp(effect, "NoExecute");
        for (int k = 0; k < 2; k++)
            tolerated[k] |= effect_ok && (ju_empty(key) || !strcmp(key, keys[k]));
    }
    for (int k = 0; k < 2; k++) {
        if (tolerated[k])
            continue;
        if (!tols) {
            tols = json_array();
            json_object_set_new(spec, "tolerations", tols);
        }
        json_array_append_new(tols,
                              json_pack("{s:s,s:s,s:s,s:i}", "key", keys[k], "operator", "Exists",
                                        "effect", "NoExecute", "tolerationSeconds", 300));
    }
}

/* The name admission errors name: the generateName while the name is still to be generated. */
static const char *admission_name(const json_t *pod)
{
    const char *name = ju_meta_str(pod, "name"), *gen = ju_meta_str(pod, "generateName");
    if (!ju_empty(gen) && name) {
        size_t g = strlen(gen) > 58 ? 58 : strlen(gen);
        if (strlen(name) == g + 5 && !strncmp(name, gen, g))
            return gen;
    }
    return name ? name : "";
}

/* The Priority plugin on create: the two system classes every cluster has, priority 0 and
   PreemptLowerPriority without a class. */
static int admit_priority(json_t *pod, struct apierr *err)
{
    static const struct {
        const char *name;
        long long value;
    } classes[] = {{"system-node-critical", 2000001000}, {"system-cluster-critical", 2000000000}};
    json_t *spec = ju_ensure_obj(pod, "spec");
    const char *cls = ju_str(spec, "priorityClassName");
    long long priority = 0;
    if (!ju_empty(cls)) {
        size_t i = 0;
        while (i < 2 && strcmp(classes[i].name, cls))
            i++;
        if (i == 2) {
            char *d = xasprintf("no PriorityClass with name %s was found", cls);
            apierr_forbidden(err, "", "pods", admission_name(pod), d);
            free(d);
            return -1;
        }
        priority = classes[i].value;
    }
    json_t *given = ju_get(spec, "priority");
    if (json_is_integer(given) && json_integer_value(given) != priority) {
        char *d = xasprintf("the integer value of priority (%lld) must not be provided in pod "
                            "spec; priority admission controller computed %lld from the given "
                            "PriorityClass name",
                            (long long)json_integer_value(given), priority);
        apierr_forbidden(err, "", "pods", admission_name(pod), d);
        free(d);
        return -1;
    }
    json_object_set_new(spec, "priority", json_integer(priority));
    const char *policy = ju_str(spec, "preemptionPolicy");
    if (policy && strcmp(policy, "PreemptLowerPriority")) {
        char *d = xasprintf("the string value of PreemptionPolicy (%s) must not be provided in pod "
                            "spec; priority admission controller computed PreemptLowerPriority "
                            "from the given PriorityClass name",
                            policy);
        apierr_forbidden(err, "", "pods", admission_name(pod), d);
        free(d);
        return -1;
    }
    json_object_set_new(spec, "preemptionPolicy", json_string("PreemptLowerPriority"));
    return 0;
}

/* A quantity v1 decoding would refuse: upstream answers 400 before anything else runs. */
static int check_quantities(const json_t *spec, const char *kind, struct apierr *err)
{
    const char *msg = NULL;
    if (!validate_pod_spec_bad_quantity(spec, &msg))
        return 0;
    return apierr_simple(err, APIERR_BAD_REQUEST,
                         "%s in version \"v1\" cannot be handled as a %s: %s", kind, kind, msg);
}

static int pod_begin_create(struct reg_write *w, struct apierr *err)
{
    if (check_quantities(ju_obj(w->obj, "spec"), "Pod", err))
        return -1;
    admit_service_account(w->obj);
    admit_default_tolerations(w->obj);
    return admit_priority(w->obj, err);
}

static int pod_begin_update(struct reg_write *w, struct apierr *err)
{
    if (check_quantities(ju_obj(w->obj, "spec"), "Pod", err))
        return -1;
    admit_default_tolerations(w->obj);
    /* The Priority plugin keeps what it set on create when an update leaves it out. */
    json_t *spec = ju_ensure_obj(w->obj, "spec");
    const json_t *old_spec = ju_obj(w->old, "spec");
    static const char *const keep[] = {"priority", "preemptionPolicy"};
    for (size_t i = 0; i < 2; i++) {
        json_t *v = ju_get(spec, keep[i]);
        if ((!v || json_is_null(v)) && json_object_get(old_spec, keep[i]))
            json_object_set(spec, keep[i], json_object_get(old_spec, keep[i]));
    }
    return 0;
}

/* ---- prepare --------------------------------------------------------------------------------- */

static void pod_prepare_create(struct reg_write *w)
{
    json_t *spec = ju_ensure_obj(w->obj, "spec");
    json_t *status =
        json_pack("{s:s,s:s}", "phase", "Pending", "qosClass", validate_pod_qos_class(spec));
    /* applySchedulingGatedCondition (UpdatePodCondition stamps the transition time) */
    char now[UTIL_RFC3339_LEN];
    util_format_time(util_now().tv_sec, now);
    if (json_array_size(ju_arr(spec, "schedulingGates")))
        json_object_set_new(status, "conditions",
                            json_pack("[{s:s,s:s,s:n,s:s,s:s,s:s}]", "type", "PodScheduled",
                                      "status", "False", "lastProbeTime", "lastTransitionTime", now,
                                      "reason", "SchedulingGated", "message",
                                      "Scheduling is blocked due to non-empty scheduling gates"));
    json_object_set_new(w->obj, "status", status);
}

/* obj in the stored form (absent and empty values spelled alike); a new reference. */
static json_t *canonical(struct reg_write *w, const json_t *obj)
{
    json_t *c = registry_canonicalize(w->reg, w->req->res, obj, NULL);
    return c ? c : json_deep_copy(obj);
}

static bool spec_changed(struct reg_write *w)
{
    json_t *c = canonical(w, w->obj);
    bool changed = !json_equal(json_object_get(c, "spec"), json_object_get(w->old, "spec"));
    json_decref(c);
    return changed;
}

static void bump_generation(json_t *obj, const json_t *old)
{
    long long gen = ju_int(ju_obj(old, "metadata"), "generation", 0);
    json_object_set_new(meta_of(obj), "generation", json_integer(gen + 1));
}

/* Only the nodeName differs between the specs (the scheduler's binding). */
static bool binding_only(struct reg_write *w)
{
    json_t *c = canonical(w, w->obj);
    json_t *spec = json_deep_copy(json_object_get(c, "spec"));
    json_t *old_spec = json_object_get(w->old, "spec");
    if (json_is_object(spec)) {
        json_t *node = json_object_get(old_spec, "nodeName");
        if (node)
            json_object_set(spec, "nodeName", node);
        else
            json_object_del(spec, "nodeName");
    }
    bool only = json_equal(spec, old_spec);
    json_decref(spec);
    json_decref(c);
    return only;
}

static void pod_prepare_update(struct reg_write *w)
{
    if (w->req->system) {
        if (!binding_only(w) && spec_changed(w))
            bump_generation(w->obj, w->old);
        return;
    }
    json_t *status = json_object_get(w->old, "status");
    json_object_set_new(w->obj, "status", status ? json_deep_copy(status) : json_object());
    if (spec_changed(w))
        bump_generation(w->obj, w->old);
}

static void pod_prepare_status_update(struct reg_write *w)
{
    json_t *spec = json_object_get(w->old, "spec");
    json_object_set_new(w->obj, "spec", spec ? json_deep_copy(spec) : json_object());
    /* Old kubelets corrupt ownerReferences: the status endpoint may not touch them. */
    json_t *meta = meta_of(w->obj);
    json_t *refs = json_object_get(ju_obj(w->old, "metadata"), "ownerReferences");
    if (refs)
        json_object_set_new(meta, "ownerReferences", json_deep_copy(refs));
    else
        json_object_del(meta, "ownerReferences");
    /* The QoS class is set once, at creation; a status without one keeps it. */
    json_t *status = ju_ensure_obj(w->obj, "status");
    const char *qos = ju_str(ju_obj(w->old, "status"), "qosClass");
    if (ju_empty(ju_str(status, "qosClass")) && qos)
        json_object_set_new(status, "qosClass", json_string(qos));
}

/* ---- validation ------------------------------------------------------------------------------ */

/* Append a warning once (validation may run again when a generated name collides). */
static void add_warning(struct reg_write *w, const char *text)
{
    if (!w->req->warnings)
        return;
    size_t i;
    json_t *v;
    json_array_foreach (w->req->warnings, i, v) {
        if (json_is_string(v) && !strcmp(json_string_value(v), text))
            return;
    }
    json_array_append_new(w->req->warnings, json_string(text));
}

static void pod_validate_create(struct reg_write *w, struct field_errors *errs)
{
    char *warning =
        validate_name_dns_label_warning(ju_meta_str(w->obj, "name"), "the Pod's hostname");
    if (warning)
        add_warning(w, warning);
    free(warning);
    validate_pod(errs, w->obj);
}

static void pod_validate_update(struct reg_write *w, struct field_errors *errs)
{
    json_t *c = canonical(w, w->obj);
    validate_pod_update(errs, c, w->old);
    json_decref(c);
}

static void pod_validate_status_update(struct reg_write *w, struct field_errors *errs)
{
    validate_pod_status_update(errs, w->obj, w->old);
}

/* ---- graceful deletion ----------------------------------------------------------------------- */

enum grace_plan { GRACE_DELETE_NOW, GRACE_PENDING, GRACE_MARK };

/* rest.BeforeDelete with the pod's CheckGracefulDelete. On GRACE_MARK, *marked is the pod with
   its deletion fields set (a new reference) and *period the grace it got. */
static enum grace_plan plan_delete(const json_t *pod, const json_t *options, json_t **marked,
                                   long long *period)
{
    /* A delete without options is an immediate one (Store.Delete's nil options). */
    const json_t *opt_grace = ju_get(options, "gracePeriodSeconds");
    bool has_grace = !options || json_is_integer(opt_grace);
    long long grace = json_is_integer(opt_grace) ? json_integer_value(opt_grace) : 0;
    if (has_grace && grace < 0)
        grace = 1; /* negative values are 1s on the delete path */
    const json_t *meta = ju_obj(pod, "metadata");
    const char *deleting = ju_str(meta, "deletionTimestamp");
    struct timespec now = util_now();
    char ts[UTIL_RFC3339_LEN];
    if (deleting) {
        const json_t *cur = ju_get(meta, "deletionGracePeriodSeconds");
        long long cur_grace = json_is_integer(cur) ? json_integer_value(cur) : 0;
        if (cur_grace < 0)
            cur_grace = 1;
        if (!json_is_integer(cur) || cur_grace == 0)
            return GRACE_DELETE_NOW;
        if (!has_grace || grace >= cur_grace)
            return GRACE_PENDING;
        /* Only a shorter grace period: move the deadline back, never into the past. */
        struct timespec at;
        time_t when = now.tv_sec;
        if (!util_parse_time(deleting, &at))
            when = at.tv_sec - cur_grace + grace;
        if (when < now.tv_sec) {
            when = now.tv_sec;
            if (grace)
                grace = 1;
        }
        util_format_time(when, ts);
    } else {
        const json_t *spec = ju_obj(pod, "spec");
        if (!has_grace)
            grace = ju_int(spec, "terminationGracePeriodSeconds", 0);
        if (ju_empty(ju_str(spec, "nodeName")))
            grace = 0; /* never scheduled: nothing to stop */
        const char *phase = ju_str(ju_obj(pod, "status"), "phase");
        if (phase && (!strcmp(phase, "Failed") || !strcmp(phase, "Succeeded")))
            grace = 0; /* already finished */
        if (grace < 0)
            grace = 1;
        util_format_time(now.tv_sec + grace, ts);
    }
    json_t *obj = json_deep_copy(pod);
    json_t *m = meta_of(obj);
    if (!deleting && json_is_integer(json_object_get(m, "generation")))
        json_object_set_new(m, "generation", json_integer(ju_int(m, "generation", 0) + 1));
    json_object_set_new(m, "deletionTimestamp", json_string(ts));
    json_object_set_new(m, "deletionGracePeriodSeconds", json_integer(grace));
    *marked = obj;
    *period = grace;
    return GRACE_MARK;
}

/* The UID precondition, re-checked when the pod changed under us. */
static int precondition_uid(const struct reg_req *req, const json_t *pod, const json_t *options,
                            struct apierr *err)
{
    const char *uid = ju_str(ju_obj(options, "preconditions"), "uid");
    const char *cur = ju_meta_str(pod, "uid");
    if (!uid || !strcmp(uid, cur ? cur : ""))
        return 0;
    char *key = registry_key(req->res, req->ns, req->name);
    char *d = xasprintf("StorageError: invalid object, Code: 4, Key: /registry/%s, "
                        "ResourceVersion: 0, AdditionalErrorMsg: Precondition failed: UID in "
                        "precondition: %s, UID in object meta: %s",
                        key, uid, cur ? cur : "");
    apierr_conflict(err, "", "pods", req->name, d);
    free(d);
    free(key);
    return -1;
}

static int pod_begin_delete(struct registry *reg, const struct reg_req *req,
                            const struct store_obj *first, const json_t *options,
                            struct reg_result *res, struct apierr *err)
{
    struct store *store = registry_store(reg);
    char *key = registry_key(req->res, req->ns, req->name);
    struct store_obj *cur = store_obj_ref((struct store_obj *)first);
    int rc = -1;
    for (int attempt = 0; attempt < DELETE_RETRIES; attempt++) {
        json_t *marked = NULL;
        long long period = 0;
        enum grace_plan plan = plan_delete(store_obj_json(cur), options, &marked, &period);
        struct store_obj *target = NULL;
        if (plan == GRACE_PENDING) {
            res->obj = cur;
            cur = NULL;
            res->code = 200;
            rc = 0;
            goto out;
        }
        if (plan == GRACE_DELETE_NOW && attempt == 0) {
            rc = 1; /* the pipeline deletes it, as any other object */
            goto out;
        }
        if (plan == GRACE_MARK) {
            json_t *c = registry_canonicalize(reg, req->res, marked, NULL);
            if (c) {
                json_decref(marked);
                marked = c;
            }
            if (req->dry_run) {
                res->obj = store_obj_new(key, marked, cur->rv);
                res->code = 200;
                rc = 0;
                goto out;
            }
            struct store_write sw = {
                .op = STORE_OP_UPDATE, .key = key, .obj = marked, .expect_rv = cur->rv};
            int src = store_write(store, &sw, &target, NULL);
            if (src != STORE_OK && src != STORE_ERR_CONFLICT && src != STORE_ERR_NOT_FOUND) {
                rc = apierr_internal(err, "storage error %d", src);
                goto out;
            }
            if (src != STORE_OK)
                goto reread;
            if (period > 0) {
                res->obj = target;
                res->code = 200;
                rc = 0;
                goto out;
            }
        } else {
            target = store_obj_ref(cur);
        }
        /* Grace 0: the marked pod goes at once. */
        struct store_obj *deleted = NULL;
        struct store_write del = {.op = STORE_OP_DELETE, .key = key, .expect_rv = target->rv};
        int src = store_write(store, &del, &deleted, NULL);
        if (src == STORE_ERR_NOT_FOUND) {
            /* Someone (the kubelet) removed it between our two writes: upstream's
               store.Delete answers with the last state it saw (ignoreNotFound). */
            src = STORE_OK;
            deleted = store_obj_ref(target);
        }
        store_obj_unref(target);
        if (src == STORE_OK) {
            res->obj = deleted;
            res->code = 200;
            rc = 0;
            goto out;
        }
        if (src != STORE_ERR_CONFLICT && src != STORE_ERR_NOT_FOUND) {
            rc = apierr_internal(err, "storage error %d", src);
            goto out;
        }
    reread:
        store_obj_unref(cur);
        cur = store_get(store, key);
        if (!cur) {
            rc = apierr_not_found(err, "", "pods", req->name);
            goto out;
        }
        if (precondition_uid(req, store_obj_json(cur), options, err))
            goto out;
    }
    rc = apierr_conflict(err, "", "pods", req->name,
                         "the object has been modified; please apply your changes to the latest "
                         "version and try again");
out:
    store_obj_unref(cur);
    free(key);
    return rc;
}

/* ---- field selectors ----------------------------------------------------------------------------
 * ToSelectableFields. status.podIPs is accepted by the field label conversion but absent from
 * the set, so it always reads "" (upstream's quirk, kept). spec.host is the deprecated name the
 * conversion still maps to spec.nodeName. */

static const char *const pod_fields[] = {"spec.nodeName",
                                         "spec.host",
                                         "spec.restartPolicy",
                                         "spec.schedulerName",
                                         "spec.serviceAccountName",
                                         "spec.hostNetwork",
                                         "status.phase",
                                         "status.podIP",
                                         "status.podIPs",
                                         "status.nominatedNodeName",
                                         NULL};

static const char *pod_field_value(const json_t *obj, const char *field, char *buf)
{
    (void)buf;
    const json_t *spec = ju_obj(obj, "spec"), *status = ju_obj(obj, "status");
    if (!strcmp(field, "spec.nodeName") || !strcmp(field, "spec.host"))
        return ju_str(spec, "nodeName");
    if (!strcmp(field, "spec.restartPolicy"))
        return ju_str(spec, "restartPolicy");
    if (!strcmp(field, "spec.schedulerName"))
        return ju_str(spec, "schedulerName");
    if (!strcmp(field, "spec.serviceAccountName"))
        return ju_str(spec, "serviceAccountName");
    if (!strcmp(field, "spec.hostNetwork"))
        return ju_bool(spec, "hostNetwork", false) ? "true" : "false";
    if (!strcmp(field, "status.phase"))
        return ju_str(status, "phase");
    if (!strcmp(field, "status.podIP"))
        return ju_str(json_array_get(ju_arr(status, "podIPs"), 0), "ip");
    if (!strcmp(field, "status.nominatedNodeName"))
        return ju_str(status, "nominatedNodeName");
    return NULL;
}

const struct reg_kind reg_kind_pod = {
    .group = "",
    .resource = "pods",
    /* Not REG_UPDATE_KEEPS_STATUS: prepare_update keeps the status itself, except for the
       server's binding writes. */
    .flags = REG_RETURN_DELETED | REG_HAS_GENERATION | REG_STATUS_RESET_ON_CREATE,
    .name_rule = REG_NAME_DNS1123_SUBDOMAIN,
    .defaults = pod_defaults,
    .prepare_create = pod_prepare_create,
    .prepare_update = pod_prepare_update,
    .begin_create = pod_begin_create,
    .begin_update = pod_begin_update,
    .validate_create = pod_validate_create,
    .validate_update = pod_validate_update,
    .prepare_status_update = pod_prepare_status_update,
    .validate_status_update = pod_validate_status_update,
    .begin_delete = pod_begin_delete,
    .selectable_fields = pod_fields,
    .field_value = pod_field_value,
};
