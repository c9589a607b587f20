/*
 * workloads: validation of the workload kinds as kube-apiserver 1.33 runs it
 * (pkg/apis/core/validation ValidatePodCreate / Update / StatusUpdate, ValidateNode*,
 * legacyValidateEvent; pkg/apis/apps/validation ValidateReplicaSet*), on top of the PodSpec
 * checks of podspec.c. Upstream behaviour kept on purpose, so nobody "fixes" it: pod condition
 * types are reported under metadata.conditions and node taints under metadata.taints (upstream
 * builds those paths from the metadata path); a pod template's labels are reported under
 * spec.template.labels, not spec.template.metadata.labels; node resource paths use dots
 * (status.capacity.cpu) where container ones use brackets (resources.limits[cpu]); a
 * ReplicaSet's empty selector is "invalid for deployment". Depends on validate, selector,
 * field_error, util and jansson.
 */
#include "workloads_private.h"

#include "svc/selector.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- helpers shared with quantity.c and podspec.c -------------------------------------------- */

char *wl_pathf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    if (vasprintf(&s, fmt, ap) < 0)
        abort();
    va_end(ap);
    return s;
}

void wl_enum_field(struct field_errors *errs, const char *path, const char *value,
                   const char *const *supported, size_t n)
{
    if (!value || !*value) {
        fe_required(errs, path, "");
        return;
    }
    if (in_list(value, supported, n))
        return;
    char *q = fe_quote(value);
    fe_not_supported(errs, path, q, supported, n);
    free(q);
}

static int cmp_cstr(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

const char **wl_sorted_keys(const json_t *obj, size_t *n)
{
    *n = olen(obj);
    const char **keys = xcalloc(*n + 1, sizeof(*keys));
    size_t i = 0;
    const char *k;
    json_t *v;
    if (json_is_object(obj))
        json_object_foreach ((json_t *)obj, k, v)
            keys[i++] = k;
    qsort(keys, *n, sizeof(*keys), cmp_cstr);
    return keys;
}

/* ---- Go value renderings --------------------------------------------------------------------- */

/* Go's %#v of a map[string]string: map[string]string{"a":"b", "c":"d"}, or (nil). */
static char *go_string_map(const json_t *map)
{
    if (!json_is_object(map))
        return xstrdup("map[string]string(nil)");
    size_t n;
    const char **keys = wl_sorted_keys(map, &n);
    size_t cap = 64, len = 0;
    char *out = xmalloc(cap);
    len = (size_t)snprintf(out, cap, "map[string]string{");
    for (size_t i = 0; i < n; i++) {
        char *k = fe_quote(keys[i]);
        char *v = fe_quote(item_str(json_object_get(map, keys[i])));
        size_t need = len + strlen(k) + strlen(v) + 4;
        if (need >= cap) {
            cap = need * 2;
            out = xrealloc(out, cap);
        }
        len += (size_t)snprintf(out + len, cap - len, "%s%s:%s", i ? ", " : "", k, v);
        free(k);
        free(v);
    }
    free(keys);
    if (len + 2 > cap)
        out = xrealloc(out, len + 2);
    out[len++] = '}';
    out[len] = 0;
    return out;
}

/* Go's %#v of a metav1.LabelSelector (the struct, as field.Invalid dereferences pointers). */
static char *go_label_selector(const json_t *sel)
{
    char *labels = go_string_map(ju_get(sel, "matchLabels"));
    const json_t *exprs = ju_get(sel, "matchExpressions");
    char *list;
    if (!json_is_array(exprs)) {
        list = xstrdup("[]v1.LabelSelectorRequirement(nil)");
    } else {
        list = xstrdup("[]v1.LabelSelectorRequirement{");
        size_t i;
        json_t *e;
        json_array_foreach (exprs, i, e) {
            char *k = fe_quote(sv(e, "key"));
            char *op = fe_quote(sv(e, "operator"));
            char *vals = fe_json_strings(ju_get(e, "values"));
            char *next = wl_pathf("%s%sv1.LabelSelectorRequirement{Key:%s, Operator:%s, Values:%s}",
                                  list, i ? ", " : "", k, op, vals);
            free(k);
            free(op);
            free(vals);
            free(list);
            list = next;
        }
        char *next = wl_pathf("%s}", list);
        free(list);
        list = next;
    }
    char *out = wl_pathf("v1.LabelSelector{MatchLabels:%s, MatchExpressions:%s}", labels, list);
    free(labels);
    free(list);
    return out;
}

/* ---- DNS-label warnings ------------------------------------------------------------------- */

char *validate_name_dns_label_warning(const char *name, const char *what)
{
    struct validate_msgs msgs;
    if (!validate_is_dns1123_label(name ? name : "", &msgs))
        return NULL;
    /* Go's %v of a []string: the messages in brackets, separated by spaces. */
    char *list = xstrdup("");
    for (size_t i = 0; i < msgs.len; i++) {
        char *next = wl_pathf("%s%s%s", list, i ? " " : "", msgs.msg[i]);
        free(list);
        list = next;
    }
    char *text = wl_pathf("metadata.name: this is used in %s, which can result in surprising "
                          "behavior; a DNS label is recommended: [%s]",
                          what, list);
    free(list);
    return text;
}

/* ---- Pods ------------------------------------------------------------------------------------ */

static const char mirror_key[] = "kubernetes.io/config.mirror";
static const char apparmor_prefix[] = "container.apparmor.security.beta.kubernetes.io/";
static const char deletion_cost_key[] = "controller.kubernetes.io/pod-deletion-cost";

/* helper.GetDeletionCostFromPodAnnotations accepts a plain int32: no '+', no leading zeros. */
static bool deletion_cost_ok(const char *v)
{
    if (!*v || !(v[0] == '-' || !strcmp(v, "0") || (v[0] >= '1' && v[0] <= '9')))
        return false;
    char *end;
    long long n = strtoll(v, &end, 10);
    return !*end && end != v && n >= INT32_MIN && n <= INT32_MAX && strcmp(v, "-");
}

/* ValidatePodSpecificAnnotations (the seccomp and AppArmor annotation formats are not
   modelled; the tolerations annotation is long gone from clients). */
static void pod_annotations(struct field_errors *errs, const char *path, const json_t *ann,
                            const json_t *spec, bool allow_bad_cost)
{
    const char *mirror = ju_str(ann, mirror_key);
    if (mirror && ju_empty(ju_str(spec, "nodeName"))) {
        char *p = fe_path_key(path, mirror_key);
        fe_invalid_str(errs, p, mirror, "must set spec.nodeName if mirror pod annotation is set");
        free(p);
    }
    const char *cost = ju_str(ann, deletion_cost_key);
    if (!allow_bad_cost && cost && !deletion_cost_ok(cost)) {
        char *p = fe_path_key(path, deletion_cost_key);
        fe_invalid_str(errs, p, cost, "must be a 32bit integer");
        free(p);
    }
}

/* ValidatePodSpecificAnnotationUpdates: the mirror and AppArmor annotations are fixed. */
static void pod_annotation_updates(struct field_errors *errs, const json_t *pod, const json_t *old)
{
    const json_t *ann = ju_get(ju_get(pod, "metadata"), "annotations");
    const json_t *old_ann = ju_get(ju_get(old, "metadata"), "annotations");
    size_t n;
    const char **keys = wl_sorted_keys(old_ann, &n);
    for (size_t i = 0; i < n; i++) {
        const char *nv = ju_str(ann, keys[i]);
        if (nv && str_eq(nv, ju_str(old_ann, keys[i])))
            continue;
        char *p = fe_path_key("metadata.annotations", keys[i]);
        if (!strncmp(keys[i], apparmor_prefix, sizeof(apparmor_prefix) - 1))
            fe_forbidden(errs, p, "may not remove or update AppArmor annotations");
        if (!strcmp(keys[i], mirror_key))
            fe_forbidden(errs, p, "may not remove or update mirror pod annotation");
        free(p);
    }
    free(keys);
    keys = wl_sorted_keys(ann, &n);
    for (size_t i = 0; i < n; i++) {
        if (json_object_get(old_ann, keys[i]))
            continue;
        char *p = fe_path_key("metadata.annotations", keys[i]);
        if (!strncmp(keys[i], apparmor_prefix, sizeof(apparmor_prefix) - 1))
            fe_forbidden(errs, p, "may not add AppArmor annotations");
        if (!strcmp(keys[i], mirror_key))
            fe_forbidden(errs, p, "may not add mirror pod annotation");
        free(p);
    }
    free(keys);
    const char *old_cost = ju_str(old_ann, deletion_cost_key);
    pod_annotations(errs, "metadata.annotations", ann, ju_get(pod, "spec"),
                    old_cost && !deletion_cost_ok(old_cost));
}

static bool has_edge_space(const char *s)
{
    size_t n = strlen(s);
    return n && (go_is_space(s[0]) || go_is_space(s[n - 1]));
}

/* validatePodMetadataAndSpec */
static void pod_metadata_and_spec(struct field_errors *errs, const json_t *pod, bool allow_bad_cost)
{
    const json_t *meta = ju_get(pod, "metadata"), *spec = ju_get(pod, "spec");
    validate_object_meta(errs, "metadata", meta, true, validate_name_is_dns_subdomain);
    pod_annotations(errs, "metadata.annotations", ju_get(meta, "annotations"), spec,
                    allow_bad_cost);
    wl_pod_spec_checks(errs, "spec", spec, true);
    size_t i, j;
    json_t *v, *src;
    if (ju_empty(ju_str(spec, "serviceAccountName"))) {
        json_array_foreach (ju_arr(spec, "volumes"), i, v) {
            json_array_foreach (ju_arr(ju_get(v, "projected"), "sources"), j, src) {
                if (!json_is_object(ju_get(src, "serviceAccountToken")))
                    continue;
                char *p =
                    wl_pathf("spec.volumes[%zu].projected.sources[%zu].serviceAccountToken", i, j);
                fe_forbidden(errs, p, "must not be specified when serviceAccountName is not set");
                free(p);
            }
        }
    }
    static const char *const lists[] = {"containers", "initContainers"};
    for (size_t l = 0; l < N_OF(lists); l++) {
        json_array_foreach (ju_arr(spec, lists[l]), i, v) {
            const char *image = sv(v, "image");
            if (!has_edge_space(image))
                continue;
            char *p = wl_pathf("spec.%s[%zu].image", lists[l], i);
            fe_invalid_str(errs, p, image, "must not have leading or trailing whitespace");
            free(p);
        }
    }
}

void validate_pod(struct field_errors *errs, const json_t *pod)
{
    const json_t *spec = ju_get(pod, "spec");
    pod_metadata_and_spec(errs, pod, false);
    if (alen(ju_get(spec, "ephemeralContainers")))
        fe_forbidden(errs, "spec.ephemeralContainers", "cannot be set on create");
    if (!ju_empty(ju_str(spec, "nodeName")) && alen(ju_get(spec, "schedulingGates")))
        fe_forbidden(errs, "spec.nodeName",
                     "cannot be set until all schedulingGates have been cleared");
}

/* ValidateContainerUpdates: true when the lists differ in length (validation stops there). */
static bool container_updates(struct field_errors *errs, const char *list, const json_t *spec,
                              const json_t *old_spec)
{
    const json_t *now = ju_get(spec, list), *before = ju_get(old_spec, list);
    char *path = wl_pathf("spec.%s", list);
    if (alen(now) != alen(before)) {
        fe_forbidden(errs, path, "pod updates may not add or remove containers");
        free(path);
        return true;
    }
    size_t i;
    json_t *c;
    json_array_foreach (now, i, c) {
        const char *image = sv(c, "image");
        char *p = wl_pathf("%s[%zu].image", path, i);
        if (!*image)
            fe_required(errs, p, "");
        if (has_edge_space(image))
            fe_invalid_str(errs, p, image, "must not have leading or trailing whitespace");
        free(p);
    }
    free(path);
    return false;
}

/* A toleration without its tolerationSeconds, as text (members sorted): what must survive. */
static char *toleration_key(const json_t *t)
{
    json_t *c = json_deep_copy(t);
    if (json_is_object(c))
        json_object_del(c, "tolerationSeconds");
    char *k = ju_dumps(c, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    json_decref(c);
    return k ? k : xstrdup("");
}

/* validateOnlyAddedTolerations */
static void only_added_tolerations(struct field_errors *errs, const json_t *now,
                                   const json_t *before)
{
    size_t i;
    json_t *t;
    json_t *present = json_object();
    json_array_foreach (now, i, t) {
        char *k = toleration_key(t);
        set_seen(present, k);
        free(k);
    }
    json_array_foreach (before, i, t) {
        char *k = toleration_key(t);
        bool found = json_object_get(present, k) != NULL;
        free(k);
        if (!found) {
            json_decref(present);
            fe_forbidden(errs, "spec.tolerations",
                         "existing toleration can not be modified except its tolerationSeconds");
            return;
        }
    }
    json_decref(present);
    wl_tolerations(errs, "spec.tolerations", now);
}

/* Go field names of PodSpec members whose JSON name does not just capitalise. */
static char *go_field_name(const char *json_name)
{
    static const char *const special[][2] = {{"serviceAccount", "DeprecatedServiceAccount"},
                                             {"dnsPolicy", "DNSPolicy"},
                                             {"dnsConfig", "DNSConfig"},
                                             {"hostPID", "HostPID"},
                                             {"hostIPC", "HostIPC"},
                                             {"os", "OS"},
                                             {"setHostnameAsFQDN", "SetHostnameAsFQDN"}};
    for (size_t i = 0; i < N_OF(special); i++)
        if (!strcmp(json_name, special[i][0]))
            return xstrdup(special[i][1]);
    char *s = xstrdup(json_name);
    if (*s >= 'a' && *s <= 'z')
        *s = (char)(*s - 'a' + 'A');
    return s;
}

/*
 * The part of the Forbidden message after the list of updatable fields. Upstream prints
 * cmp.Diff of its internal Go structs; we print the changed members in the same frame, with
 * their JSON values: "  core.PodSpec{\n- \tNodeName: \"a\",\n+ \tNodeName: \"b\",\n  }\n".
 */
static char *spec_diff(const json_t *before, const json_t *after)
{
    char *out = xstrdup("  core.PodSpec{\n");
    size_t identical = 0;
    const char *key;
    json_t *v;
    json_t *keys = json_object();
    if (json_is_object(before))
        json_object_foreach ((json_t *)before, key, v)
            json_object_set_new(keys, key, json_true());
    if (json_is_object(after))
        json_object_foreach ((json_t *)after, key, v)
            json_object_set_new(keys, key, json_true());
    json_object_foreach (keys, key, v) {
        const json_t *a = ju_get(before, key), *b = ju_get(after, key);
        if (sem_equal(a, b)) {
            identical++;
            continue;
        }
        char *name = go_field_name(key);
        char *line = xstrdup("");
        if (identical) {
            char *t = wl_pathf("  \t... // %zu identical fields\n", identical);
            free(line);
            line = t;
            identical = 0;
        }
        if (a && !json_is_null(a)) {
            char *dump = ju_dumps(a, JSON_COMPACT | JSON_ENCODE_ANY);
            char *t = wl_pathf("%s- \t%s: %s,\n", line, name, dump ? dump : "");
            free(dump);
            free(line);
            line = t;
        }
        if (b && !json_is_null(b)) {
            char *dump = ju_dumps(b, JSON_COMPACT | JSON_ENCODE_ANY);
            char *t = wl_pathf("%s+ \t%s: %s,\n", line, name, dump ? dump : "");
            free(dump);
            free(line);
            line = t;
        }
        char *t = wl_pathf("%s%s", out, line);
        free(out);
        free(line);
        free(name);
        out = t;
    }
    json_decref(keys);
    char *t = identical ? wl_pathf("%s  \t... // %zu identical fields\n  }\n", out, identical)
                        : wl_pathf("%s  }\n", out);
    free(out);
    return t;
}

static const char updatable_fields[] =
    "`spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,"
    "`spec.tolerations` (only additions to existing tolerations),"
    "`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)";

static void copy_member(json_t *to, const json_t *from, const char *key)
{
    json_t *v = ju_get(from, key);
    if (v)
        json_object_set_new(to, key, json_deep_copy(v));
    else
        json_object_del(to, key);
}

void validate_pod_update(struct field_errors *errs, const json_t *pod, const json_t *old)
{
    const json_t *meta = ju_get(pod, "metadata"), *old_meta = ju_get(old, "metadata");
    const json_t *spec = ju_get(pod, "spec"), *old_spec = ju_get(old, "spec");
    const char *old_cost = ju_str(ju_get(old_meta, "annotations"), deletion_cost_key);
    validate_object_meta_update(errs, "metadata", meta, old_meta);
    pod_metadata_and_spec(errs, pod, old_cost && !deletion_cost_ok(old_cost));
    pod_annotation_updates(errs, pod, old);
    if (container_updates(errs, "containers", spec, old_spec) ||
        container_updates(errs, "initContainers", spec, old_spec))
        return;
    const json_t *ads = ju_get(spec, "activeDeadlineSeconds");
    const json_t *old_ads = ju_get(old_spec, "activeDeadlineSeconds");
    if (json_is_integer(ads)) {
        long long n = json_integer_value(ads);
        if (n < 0 || n > 2147483647) {
            fe_invalid_int(errs, "spec.activeDeadlineSeconds", n,
                           "must be between 0 and 2147483647, inclusive");
            return;
        }
        if (json_is_integer(old_ads) && json_integer_value(old_ads) < n) {
            fe_invalid_int(errs, "spec.activeDeadlineSeconds", n,
                           "must be less than or equal to previous value");
            return;
        }
    } else if (json_is_integer(old_ads)) {
        fe_invalid(errs, "spec.activeDeadlineSeconds", FE_NIL_VALUE,
                   "must not update from a positive integer to nil value");
    }
    only_added_tolerations(errs, ju_get(spec, "tolerations"), ju_get(old_spec, "tolerations"));
    /* validateOnlyDeletedSchedulingGates */
    size_t i;
    json_t *g;
    json_t *old_gates = json_object();
    json_array_foreach (ju_arr(old_spec, "schedulingGates"), i, g)
        set_seen(old_gates, sv(g, "name"));
    json_array_foreach (ju_arr(spec, "schedulingGates"), i, g) {
        if (json_object_get(old_gates, sv(g, "name")))
            continue;
        char *p = wl_pathf("spec.schedulingGates[%zu].name", i);
        char *d =
            wl_pathf("only deletion is allowed, but found new scheduling gate '%s'", sv(g, "name"));
        fe_forbidden(errs, p, d);
        free(p);
        free(d);
    }
    json_decref(old_gates);
    if (sem_equal(spec, old_spec))
        return;
    json_t *munged = json_is_object(spec) ? json_deep_copy(spec) : json_object();
    static const char *const lists[] = {"containers", "initContainers"};
    for (size_t l = 0; l < N_OF(lists); l++) {
        json_t *c;
        json_array_foreach (ju_arr(munged, lists[l]), i, c) {
            const json_t *oc = json_array_get(ju_get(old_spec, lists[l]), i);
            if (json_is_object(c))
                copy_member(c, oc, "image");
        }
    }
    copy_member(munged, old_spec, "activeDeadlineSeconds");
    copy_member(munged, old_spec, "schedulingGates");
    copy_member(munged, old_spec, "tolerations");
    const json_t *old_tgp = ju_get(old_spec, "terminationGracePeriodSeconds");
    if (json_is_integer(old_tgp) && json_integer_value(old_tgp) < 0 &&
        ju_int(munged, "terminationGracePeriodSeconds", 0) == 1)
        copy_member(munged, old_spec, "terminationGracePeriodSeconds");
    /* A gated pod may gain nodeSelector entries (validateNodeSelectorMutation). */
    if (alen(ju_get(old_spec, "schedulingGates"))) {
        const json_t *ns = ju_get(munged, "nodeSelector"),
                     *old_ns = ju_get(old_spec, "nodeSelector");
        bool additions = true;
        const char *k;
        json_t *v;
        if (json_is_object(old_ns))
            json_object_foreach ((json_t *)old_ns, k, v)
                additions &= str_eq(ju_str(ns, k), json_string_value(v));
        if (additions)
            copy_member(munged, old_spec, "nodeSelector");
    }
    if (!sem_equal(munged, old_spec)) {
        char *diff = spec_diff(old_spec, munged);
        char *d =
            wl_pathf("pod updates may not change fields other than %s\n%s", updatable_fields, diff);
        fe_forbidden(errs, "spec", d);
        free(d);
        free(diff);
    }
    json_decref(munged);
}

/* ValidateContainerStateTransition / ValidateInitContainerStateTransition */
static void state_transitions(struct field_errors *errs, const char *path, const json_t *now,
                              const json_t *before, const char *restart_policy,
                              const json_t *init_containers)
{
    if (!strcmp(restart_policy, "Always"))
        return;
    /* Names of new statuses that are not terminated, with how many; restartable init
       containers (the first of a name decides, as upstream's loop breaks there). */
    json_t *running = json_object(), *restartable = json_object();
    size_t i;
    json_t *o;
    json_array_foreach (now, i, o) {
        if (json_is_object(ju_get(ju_get(o, "state"), "terminated")))
            continue;
        json_t *cnt = json_object_get(running, sv(o, "name"));
        json_object_set_new(running, sv(o, "name"),
                            json_integer((cnt ? json_integer_value(cnt) : 0) + 1));
    }
    json_array_foreach (init_containers, i, o) {
        if (!json_object_get(restartable, sv(o, "name")))
            json_object_set_new(restartable, sv(o, "name"),
                                json_boolean(str_eq(ju_str(o, "restartPolicy"), "Always")));
    }
    json_array_foreach (before, i, o) {
        const json_t *term = ju_get(ju_get(o, "state"), "terminated");
        if (!json_is_object(term))
            continue;
        if (ju_int(term, "exitCode", 0) != 0 && !strcmp(restart_policy, "OnFailure"))
            continue;
        if (json_is_true(json_object_get(restartable, sv(o, "name"))))
            continue;
        /* One error per new status of that name that left the terminated state. */
        long long n = json_integer_value(json_object_get(running, sv(o, "name")));
        for (long long k = 0; k < n; k++) {
            char *p = wl_pathf("%s[%zu].state", path, i);
            fe_forbidden(errs, p, "may not be transitioned to non-terminated state");
            free(p);
        }
    }
    json_decref(running);
    json_decref(restartable);
}

/* []core.PodIP{core.PodIP{IP:"a"}, ...} and friends. */
static char *go_ip_list(const json_t *list, const char *type)
{
    char *out = wl_pathf("[]core.%s{", type);
    size_t i;
    json_t *v;
    json_array_foreach (list, i, v) {
        char *q = fe_quote(sv(v, "ip"));
        char *t = wl_pathf("%s%score.%s{IP:%s}", out, i ? ", " : "", type, q);
        free(q);
        free(out);
        out = t;
    }
    char *t = wl_pathf("%s}", out);
    free(out);
    return t;
}

/* validatePodIPs / validateHostIPs */
static void status_ips(struct field_errors *errs, const json_t *status, const char *key,
                       const char *type, bool host)
{
    const json_t *list = ju_get(status, key);
    size_t n = alen(list);
    if (!n)
        return;
    char *path = wl_pathf("status.%s", key);
    if (host && !str_eq(sv(status, "hostIP"), sv(json_array_get(list, 0), "ip")))
        fe_invalid_str(errs, "status.hostIPs[0].ip", sv(json_array_get(list, 0), "ip"),
                       "must be equal to `hostIP`");
    size_t i;
    json_t *v;
    json_array_foreach (list, i, v) {
        char *p = wl_pathf("%s[%zu]", path, i);
        validate_ip_strict_field(errs, p, sv(v, "ip"));
        free(p);
    }
    if (n > 1) {
        bool v4 = false, v6 = false;
        json_array_foreach (list, i, v) {
            enum validate_ip_family f = validate_ip_family(sv(v, "ip"));
            v4 |= f == VALIDATE_IPV4;
            v6 |= f == VALIDATE_IPV6;
        }
        bool dual = v4 && v6;
        char *render = go_ip_list(list, type);
        if (!host && (!dual || n > 2))
            fe_invalid(errs, path, render, "may specify no more than one IP for each IP family");
        json_t *seen = json_object();
        json_array_foreach (list, i, v) {
            if (set_seen(seen, sv(v, "ip"))) {
                char *p = wl_pathf("%s[%zu]", path, i), *q = fe_quote(sv(v, "ip"));
                char *val = wl_pathf("core.%s{IP:%s}", type, q);
                fe_duplicate(errs, p, val);
                free(p);
                free(q);
                free(val);
            }
        }
        json_decref(seen);
        if (host && (!dual || n > 2))
            fe_invalid(errs, path, render, "may specify no more than one IP for each IP family");
        free(render);
    }
    free(path);
}

void validate_pod_status_update(struct field_errors *errs, const json_t *pod, const json_t *old)
{
    const json_t *status = ju_get(pod, "status"), *old_status = ju_get(old, "status");
    const json_t *spec = ju_get(pod, "spec"), *old_spec = ju_get(old, "spec");
    validate_object_meta_update(errs, "metadata", ju_get(pod, "metadata"), ju_get(old, "metadata"));
    pod_annotation_updates(errs, pod, old);
    size_t i;
    json_t *c;
    json_array_foreach (ju_arr(status, "conditions"), i, c) {
        static const char *const system[] = {"PodScheduled", "Ready", "Initialized"};
        if (in_list(sv(c, "type"), system, N_OF(system)))
            continue;
        /* Upstream builds this path from the metadata path. */
        char *p = wl_pathf("metadata.conditions[%zu].Type", i);
        validate_qualified_name_field(errs, p, sv(c, "type"));
        free(p);
    }
    if (!str_eq(sv(spec, "nodeName"), sv(old_spec, "nodeName")))
        fe_forbidden(errs, "status.nodeName", "may not be changed directly");
    const char *nominated = sv(status, "nominatedNodeName");
    if (*nominated && !str_eq(nominated, sv(old_status, "nominatedNodeName")))
        add_name_msgs(errs, "status.nominatedNodeName", nominated, validate_name_is_dns_subdomain);
    validate_immutable_string(errs, "status.qosClass", sv(status, "qosClass"),
                              sv(old_status, "qosClass"));
    const char *policy = sv(old_spec, "restartPolicy");
    state_transitions(errs, "status.containerStatuses", ju_get(status, "containerStatuses"),
                      ju_get(old_status, "containerStatuses"), policy, NULL);
    state_transitions(errs, "status.initContainerStatuses", ju_get(status, "initContainerStatuses"),
                      ju_get(old_status, "initContainerStatuses"), policy,
                      ju_get(old_spec, "initContainers"));
    state_transitions(errs, "status.ephemeralContainerStatuses",
                      ju_get(status, "ephemeralContainerStatuses"),
                      ju_get(old_status, "ephemeralContainerStatuses"), "Never", NULL);
    status_ips(errs, status, "podIPs", "PodIP", false);
    status_ips(errs, status, "hostIPs", "HostIP", true);
}

/* ---- pod templates and ReplicaSets ----------------------------------------------------------- */

/* ValidatePodTemplateSpec at spec.template (labels are reported under spec.template.labels). */
static void validate_pod_template(struct field_errors *errs, const json_t *tmpl)
{
    const json_t *meta = ju_get(tmpl, "metadata"), *spec = ju_get(tmpl, "spec");
    validate_labels(errs, "spec.template.labels", ju_get(meta, "labels"));
    validate_annotations(errs, "spec.template.annotations", ju_get(meta, "annotations"));
    pod_annotations(errs, "spec.template.annotations", ju_get(meta, "annotations"), spec, false);
    wl_pod_spec_checks(errs, "spec.template.spec", spec, false);
    if (alen(ju_get(spec, "ephemeralContainers")))
        fe_forbidden(errs, "spec.template.spec.ephemeralContainers",
                     "ephemeral containers not allowed in pod template");
}

/* ValidateLabelSelector */
static void validate_label_selector(struct field_errors *errs, const char *path, const json_t *sel)
{
    char *p = wl_pathf("%s.matchLabels", path);
    validate_labels(errs, p, ju_get(sel, "matchLabels"));
    free(p);
    size_t i;
    json_t *e;
    json_array_foreach (ju_arr(sel, "matchExpressions"), i, e) {
        char *idx = wl_pathf("%s.matchExpressions[%zu]", path, i);
        const char *op = sv(e, "operator");
        size_t nvals = alen(ju_get(e, "values"));
        char *vp = wl_pathf("%s.values", idx);
        if (!strcmp(op, "In") || !strcmp(op, "NotIn")) {
            if (!nvals)
                fe_required(errs, vp, "must be specified when `operator` is 'In' or 'NotIn'");
        } else if (!strcmp(op, "Exists") || !strcmp(op, "DoesNotExist")) {
            if (nvals)
                fe_forbidden(errs, vp,
                             "may not be specified when `operator` is 'Exists' or 'DoesNotExist'");
        } else {
            p = wl_pathf("%s.operator", idx);
            fe_invalid_str(errs, p, op, "not a valid selector operator");
            free(p);
        }
        p = wl_pathf("%s.key", idx);
        validate_qualified_name_field(errs, p, sv(e, "key"));
        free(p);
        size_t j;
        json_t *v;
        json_array_foreach (ju_arr(e, "values"), j, v) {
            p = wl_pathf("%s[%zu]", vp, j);
            validate_label_value_field(errs, p, item_str(v));
            free(p);
        }
        free(vp);
        free(idx);
    }
}

/* ValidateReplicaSetSpec */
static void replicaset_spec(struct field_errors *errs, const json_t *spec)
{
    validate_nonnegative_field(errs, "spec.replicas", ju_int(spec, "replicas", 0));
    validate_nonnegative_field(errs, "spec.minReadySeconds", ju_int(spec, "minReadySeconds", 0));
    const json_t *sel = ju_get(spec, "selector");
    if (!json_is_object(sel)) {
        fe_required(errs, "spec.selector", "");
        sel = NULL;
    } else {
        validate_label_selector(errs, "spec.selector", sel);
        if (!olen(ju_get(sel, "matchLabels")) && !alen(ju_get(sel, "matchExpressions"))) {
            char *v = go_label_selector(sel);
            fe_invalid(errs, "spec.selector", v, "empty selector is invalid for deployment");
            free(v);
        }
    }
    char *msg = NULL;
    struct label_selector *ls = label_selector_from_json(sel, &msg);
    if (!ls) {
        char *v = go_label_selector(sel);
        fe_invalid(errs, "spec.selector", v, "invalid label selector");
        free(v);
        free(msg);
        return;
    }
    const json_t *tmpl = ju_get(spec, "template");
    const json_t *labels = ju_get(ju_get(tmpl, "metadata"), "labels");
    if (!label_selector_empty(ls) &&
        !label_selector_matches(ls, json_is_object(labels) ? labels : NULL)) {
        char *v = go_string_map(labels);
        fe_invalid(errs, "spec.template.metadata.labels", v,
                   "`selector` does not match template `labels`");
        free(v);
    }
    label_selector_free(ls);
    validate_pod_template(errs, tmpl);
    const json_t *tspec = ju_get(tmpl, "spec");
    const char *restart = sv(tspec, "restartPolicy");
    if (strcmp(restart, "Always")) {
        static const char *const ok[] = {"Always"};
        char *q = fe_quote(restart);
        fe_not_supported(errs, "spec.template.spec.restartPolicy", q, ok, 1);
        free(q);
    }
    if (json_is_integer(ju_get(tspec, "activeDeadlineSeconds")))
        fe_forbidden(errs, "spec.template.spec.activeDeadlineSeconds",
                     "activeDeadlineSeconds in ReplicaSet is not Supported");
}

void validate_replicaset(struct field_errors *errs, const json_t *rs)
{
    validate_object_meta(errs, "metadata", ju_get(rs, "metadata"), true,
                         validate_name_is_dns_subdomain);
    replicaset_spec(errs, ju_get(rs, "spec"));
}

static bool selectors_equal(const json_t *a, const json_t *b)
{
    if (!json_is_object(a) || !json_is_object(b))
        return json_is_object(a) == json_is_object(b);
    if (!sem_equal(ju_get(a, "matchLabels"), ju_get(b, "matchLabels")))
        return false;
    const json_t *ea = ju_get(a, "matchExpressions"), *eb = ju_get(b, "matchExpressions");
    if (alen(ea) != alen(eb))
        return false;
    for (size_t i = 0; i < alen(ea); i++) {
        const json_t *x = json_array_get(ea, i), *y = json_array_get(eb, i);
        if (!str_eq(sv(x, "key"), sv(y, "key")) || !str_eq(sv(x, "operator"), sv(y, "operator")) ||
            !sem_equal(ju_get(x, "values"), ju_get(y, "values")))
            return false;
    }
    return true;
}

void validate_replicaset_update(struct field_errors *errs, const json_t *rs, const json_t *old)
{
    validate_object_meta_update(errs, "metadata", ju_get(rs, "metadata"), ju_get(old, "metadata"));
    replicaset_spec(errs, ju_get(rs, "spec"));
    /* The strategy makes the selector immutable for every group version but
       extensions/v1beta1. */
    const json_t *sel = ju_get(ju_get(rs, "spec"), "selector");
    if (!selectors_equal(sel, ju_get(ju_get(old, "spec"), "selector"))) {
        char *v = json_is_object(sel) ? go_label_selector(sel) : xstrdup(FE_NIL_VALUE);
        fe_invalid(errs, "spec.selector", v, "field is immutable");
        free(v);
    }
}

void validate_replicaset_status_update(struct field_errors *errs, const json_t *rs,
                                       const json_t *old)
{
    validate_object_meta_update(errs, "metadata", ju_get(rs, "metadata"), ju_get(old, "metadata"));
    const json_t *st = ju_get(rs, "status");
    long long replicas = ju_int(st, "replicas", 0), labeled = ju_int(st, "fullyLabeledReplicas", 0);
    long long ready = ju_int(st, "readyReplicas", 0),
              available = ju_int(st, "availableReplicas", 0);
    validate_nonnegative_field(errs, "status.replicas", replicas);
    validate_nonnegative_field(errs, "status.fullyLabeledReplicas", labeled);
    validate_nonnegative_field(errs, "status.readyReplicas", ready);
    validate_nonnegative_field(errs, "status.availableReplicas", available);
    validate_nonnegative_field(errs, "status.observedGeneration",
                               ju_int(st, "observedGeneration", 0));
    static const char msg[] = "cannot be greater than status.replicas";
    if (labeled > replicas)
        fe_invalid_int(errs, "status.fullyLabeledReplicas", labeled, msg);
    if (ready > replicas)
        fe_invalid_int(errs, "status.readyReplicas", ready, msg);
    if (available > replicas)
        fe_invalid_int(errs, "status.availableReplicas", available, msg);
    if (available > ready)
        fe_invalid_int(errs, "status.availableReplicas", available,
                       "cannot be greater than readyReplicas");
}

/* ---- Nodes ----------------------------------------------------------------------------------- */

/* validateNodeTaints, at metadata.taints as upstream reports them. */
static void node_taints(struct field_errors *errs, const json_t *taints)
{
    json_t *seen = json_object(); /* "<effect>\n<key>" */
    size_t i;
    json_t *t;
    json_array_foreach (taints, i, t) {
        char *idx = wl_pathf("metadata.taints[%zu]", i);
        char *p = wl_pathf("%s.key", idx);
        const char *key = sv(t, "key"), *value = sv(t, "value"), *effect = sv(t, "effect");
        validate_qualified_name_field(errs, p, key);
        free(p);
        struct validate_msgs msgs;
        if (validate_is_label_value(value, &msgs)) {
            size_t len = 1;
            for (size_t m = 0; m < msgs.len; m++)
                len += strlen(msgs.msg[m]) + 1;
            char *joined = xcalloc(1, len);
            for (size_t m = 0; m < msgs.len; m++) {
                if (m)
                    strcat(joined, ";");
                strcat(joined, msgs.msg[m]);
            }
            p = wl_pathf("%s.value", idx);
            fe_invalid_str(errs, p, value, joined);
            free(p);
            free(joined);
        }
        p = wl_pathf("%s.effect", idx);
        static const char *const effects[] = {"NoSchedule", "PreferNoSchedule", "NoExecute"};
        wl_enum_field(errs, p, effect, effects, 3);
        free(p);
        char *k = wl_pathf("%s\n%s", effect, key);
        if (json_object_get(seen, k)) {
            char *qk = fe_quote(key), *qv = fe_quote(value), *qe = fe_quote(effect);
            const char *added = ju_str(t, "timeAdded");
            char *val = wl_pathf("core.Taint{Key:%s, Value:%s, Effect:%s, TimeAdded:%s}", qk, qv,
                                 qe, added ? "(*v1.Time)(0x0)" : "(*v1.Time)(nil)");
            fe_add(errs, FE_DUPLICATE, idx, val, "taints must be unique by key and effect pair");
            free(qk);
            free(qv);
            free(qe);
            free(val);
        } else {
            json_object_set_new(seen, k, json_true());
        }
        free(k);
        free(idx);
    }
    json_decref(seen);
}

/* ValidateNodeResources: status.capacity.<name> and status.allocatable.<name>. */
static void node_resources(struct field_errors *errs, const json_t *node)
{
    static const char *const lists[] = {"capacity", "allocatable"};
    for (size_t l = 0; l < N_OF(lists); l++) {
        const json_t *list = ju_get(ju_get(node, "status"), lists[l]);
        size_t n;
        const char **keys = wl_sorted_keys(list, &n);
        for (size_t i = 0; i < n; i++) {
            char *p = wl_pathf("status.%s.%s", lists[l], keys[i]);
            wl_quantity_nonnegative(errs, p, json_object_get(list, keys[i]));
            free(p);
        }
        free(keys);
    }
}

void validate_node(struct field_errors *errs, const json_t *node)
{
    const json_t *spec = ju_get(node, "spec");
    validate_object_meta(errs, "metadata", ju_get(node, "metadata"), false,
                         validate_name_is_dns_subdomain);
    node_taints(errs, ju_get(spec, "taints"));
    node_resources(errs, node);
    const json_t *cidrs = ju_get(spec, "podCIDRs");
    size_t n = alen(cidrs), i;
    json_t *c;
    json_array_foreach (cidrs, i, c) {
        char *p = wl_pathf("spec.podCIDRs[%zu]", i);
        validate_cidr_strict_field(errs, p, item_str(c));
        free(p);
    }
    if (n > 1) {
        bool v4 = false, v6 = false;
        json_array_foreach (cidrs, i, c) {
            struct validate_cidr parsed;
            if (validate_cidr_parse(item_str(c), false, &parsed))
                continue;
            enum validate_ip_family f = validate_ip_family_of(&parsed.ip);
            v4 |= f == VALIDATE_IPV4;
            v6 |= f == VALIDATE_IPV6;
        }
        if (!(v4 && v6) || n > 2) {
            char *v = fe_json_strings(cidrs);
            fe_invalid(errs, "spec.podCIDRs", v,
                       "may specify no more than one CIDR for each IP "
                       "family");
            free(v);
        }
        json_t *seen = json_object();
        json_array_foreach (cidrs, i, c) {
            if (set_seen(seen, item_str(c))) {
                char *p = wl_pathf("spec.podCIDRs[%zu]", i);
                fe_duplicate_str(errs, p, item_str(c));
                free(p);
            }
        }
        json_decref(seen);
    }
}

void validate_node_update(struct field_errors *errs, const json_t *node, const json_t *old)
{
    const json_t *spec = ju_get(node, "spec"), *old_spec = ju_get(old, "spec");
    validate_object_meta_update(errs, "metadata", ju_get(node, "metadata"),
                                ju_get(old, "metadata"));
    node_resources(errs, node);
    const json_t *addrs = ju_get(ju_get(node, "status"), "addresses");
    size_t i;
    json_t *a;
    json_t *seen = json_object();
    json_array_foreach (addrs, i, a) {
        char *key = wl_pathf("%s\n%s", sv(a, "type"), sv(a, "address"));
        if (set_seen(seen, key)) {
            char *p = wl_pathf("status.addresses[%zu]", i);
            char *qt = fe_quote(sv(a, "type")), *qa = fe_quote(sv(a, "address"));
            char *v = wl_pathf("core.NodeAddress{Type:%s, Address:%s}", qt, qa);
            fe_duplicate(errs, p, v);
            free(p);
            free(qt);
            free(qa);
            free(v);
        }
        free(key);
    }
    json_decref(seen);
    const json_t *cidrs = ju_get(spec, "podCIDRs"), *old_cidrs = ju_get(old_spec, "podCIDRs");
    static const char cidr_msg[] = "node updates may not change podCIDR except from \"\" to valid";
    if (alen(old_cidrs)) {
        if (alen(old_cidrs) != alen(cidrs)) {
            fe_forbidden(errs, "spec.podCIDRs", cidr_msg);
        } else {
            for (i = 0; i < alen(old_cidrs); i++)
                if (!str_eq(item_str(json_array_get(old_cidrs, i)),
                            item_str(json_array_get(cidrs, i))))
                    fe_forbidden(errs, "spec.podCIDRs", cidr_msg);
        }
    }
    const char *old_provider = sv(old_spec, "providerID");
    if (*old_provider && !str_eq(old_provider, sv(spec, "providerID")))
        fe_forbidden(errs, "spec.providerID",
                     "node updates may not change providerID except from \"\" to valid");
    node_taints(errs, ju_get(spec, "taints"));
    if (!str_eq(sv(spec, "externalID"), sv(old_spec, "externalID")))
        fe_forbidden(errs, "spec.externalID", "may not be updated");
}

/* ---- Events (core/v1) ---------------------------------------------------------------------------
 * legacyValidateEvent for a core/v1 request: "new" events (eventTime set) need the reporting
 * fields; old ones only a namespace that agrees with involvedObject's. */

static void length_limit(struct field_errors *errs, const char *path, const char *v, size_t max)
{
    if (strlen(v) > max) {
        char *d = wl_pathf("can have at most %zu characters", max);
        fe_invalid_str(errs, path, "", d);
        free(d);
    }
}

void validate_event(struct field_errors *errs, const json_t *ev)
{
    const char *ns = sv(ju_get(ev, "metadata"), "namespace");
    const char *involved_ns = sv(ju_get(ev, "involvedObject"), "namespace");
    if (ju_empty(ju_str(ev, "eventTime"))) {
        bool bad = *involved_ns ? strcmp(ns, involved_ns) != 0 : (*ns && strcmp(ns, "default"));
        if (bad)
            fe_invalid_str(errs, "involvedObject.namespace", involved_ns,
                           "does not match event.namespace");
    } else {
        if (!*involved_ns && strcmp(ns, "default") && strcmp(ns, "kube-system"))
            fe_invalid_str(errs, "involvedObject.namespace", involved_ns,
                           "does not match event.namespace");
        const char *rc = sv(ev, "reportingComponent");
        if (!*rc)
            fe_required(errs, "reportingComponent", "");
        validate_qualified_name_field(errs, "reportingComponent", rc);
        const char *ri = sv(ev, "reportingInstance");
        if (!*ri)
            fe_required(errs, "reportingInstance", "");
        length_limit(errs, "reportingInstance", ri, 128);
        const char *action = sv(ev, "action");
        if (!*action)
            fe_required(errs, "action", "");
        length_limit(errs, "action", action, 128);
        const char *reason = sv(ev, "reason");
        if (!*reason)
            fe_required(errs, "reason", "");
        length_limit(errs, "reason", reason, 128);
        length_limit(errs, "message", sv(ev, "message"), 1024);
    }
    validate_dns1123_subdomain_field(errs, "namespace", ns);
}

void validate_event_update(struct field_errors *errs, const json_t *ev, const json_t *old)
{
    (void)old; /* core/v1 updates get the legacy rules only */
    validate_event(errs, ev);
}
