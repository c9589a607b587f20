/*
 * podspec: ValidatePodSpec as kube-apiserver 1.33 runs it for Pods and pod templates, with the
 * container, volume, env, resource, probe and toleration checks it calls, in upstream's order,
 * paths and messages. Paths are built under a base ("spec" for a Pod, "spec.template.spec" for
 * a ReplicaSet's template). Not modelled: affinity, topology spread constraints, resource
 * claims, overhead, os, the Windows and AppArmor/seccomp rules, imagePullSecrets, volume
 * devices, container security contexts, resize policies, ephemeral containers (refused on create
 * anyway) and most checks inside individual volume sources. Depends on validate, field_error,
 * util and jansson.
 */
#include "workloads_private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The state of one ValidatePodSpec run. */

struct podctx {
    struct field_errors *errs;
    const char *base; /* "spec", or "spec.template.spec" */
    bool pod;         /* opts.ResourceIsPod */
    json_t *volumes;  /* names of the volumes that passed validation -> true (owned) */
};

/* Volume sources checked in validateVolumeSource's order (the order decides which of two
   sources is reported as the extra one). */
static const char *const volume_check_order[] = {
    "hostPath",
    "emptyDir",
    "gitRepo",
    "gcePersistentDisk",
    "awsElasticBlockStore",
    "secret",
    "nfs",
    "iscsi",
    "glusterfs",
    "flocker",
    "persistentVolumeClaim",
    "rbd",
    "quobyte",
    "flexVolume",
    "cinder",
    "cephfs",
    "downwardAPI",
    "fc",
    "azureFile",
    "configMap",
    "azureDisk",
    "vsphereVolume",
    "photonPersistentDisk",
    "portworxVolume",
    "scaleIO",
    "storageos",
    "projected",
    "csi",
    "ephemeral",
    "image",
};

/* A few checks inside the common sources (the rest of validateVolumeSource is not modelled). */
static void volume_source_details(struct field_errors *errs, const char *path, const char *type,
                                  const json_t *src)
{
    char *p = NULL;
    if (!strcmp(type, "hostPath") && ju_empty(ju_str(src, "path")))
        fe_required(errs, p = wl_pathf("%s.hostPath.path", path), "");
    else if (!strcmp(type, "secret") && ju_empty(ju_str(src, "secretName")))
        fe_required(errs, p = wl_pathf("%s.secret.secretName", path), "");
    else if (!strcmp(type, "persistentVolumeClaim") && ju_empty(ju_str(src, "claimName")))
        fe_required(errs, p = wl_pathf("%s.persistentVolumeClaim.claimName", path), "");
    else if (!strcmp(type, "configMap") && !ju_empty(ju_str(src, "name")))
        add_name_msgs(errs, p = wl_pathf("%s.configMap.name", path), ju_str(src, "name"),
                      validate_name_is_dns_subdomain);
    free(p);
}

static void validate_volumes(struct podctx *pc, const json_t *volumes)
{
    size_t i;
    json_t *vol;
    json_array_foreach (volumes, i, vol) {
        struct field_errors el;
        fe_init(&el);
        char *idx = wl_pathf("%s.volumes[%zu]", pc->base, i), *name_path = wl_pathf("%s.name", idx);
        size_t n = 0;
        for (size_t s = 0; s < N_OF(volume_check_order); s++) {
            const json_t *src = ju_get(vol, volume_check_order[s]);
            if (!src || json_is_null(src))
                continue;
            if (n++) {
                char *p = wl_pathf("%s.%s", idx, volume_check_order[s]);
                fe_forbidden(&el, p, "may not specify more than 1 volume type");
                free(p);
            } else {
                volume_source_details(&el, idx, volume_check_order[s], src);
            }
        }
        if (!n)
            fe_required(&el, idx, "must specify a volume type");
        const char *name = sv(vol, "name");
        if (!*name)
            fe_required(&el, name_path, "");
        else
            validate_dns1123_label_field(&el, name_path, name);
        if (json_object_get(pc->volumes, name))
            fe_duplicate_str(&el, name_path, name);
        if (!el.len)
            json_object_set_new(pc->volumes, name, json_true());
        fe_append(pc->errs, &el);
        fe_release(&el);
        free(idx);
        free(name_path);
    }
}

/* validateContainerPorts */
static void validate_container_ports(struct field_errors *errs, const char *path,
                                     const json_t *ports)
{
    json_t *names = json_object();
    size_t i;
    json_t *p;
    json_array_foreach (ports, i, p) {
        char *idx = wl_pathf("%s.ports[%zu]", path, i);
        char *sub = NULL;
        const char *name = sv(p, "name");
        if (*name) {
            struct validate_msgs msgs;
            sub = wl_pathf("%s.name", idx);
            if (validate_is_port_name(name, &msgs))
                validate_add_msgs(errs, sub, name, &msgs);
            else if (json_object_get(names, name))
                fe_duplicate_str(errs, sub, name);
            else
                json_object_set_new(names, name, json_true());
            free(sub);
        }
        long long cp = ju_int(p, "containerPort", 0);
        sub = wl_pathf("%s.containerPort", idx);
        if (!cp)
            fe_required(errs, sub, "");
        else
            validate_port_num_field(errs, sub, cp);
        free(sub);
        long long hp = ju_int(p, "hostPort", 0);
        if (hp) {
            sub = wl_pathf("%s.hostPort", idx);
            validate_port_num_field(errs, sub, hp);
            free(sub);
        }
        sub = wl_pathf("%s.protocol", idx);
        validate_protocol_field(errs, sub, ju_str(p, "protocol"));
        free(sub);
        free(idx);
    }
    json_decref(names);
}

/* IsRelaxedEnvVarName (RelaxedEnvironmentVariableValidation is on in 1.33). */
static void env_var_name(struct field_errors *errs, const char *path, const char *name)
{
    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        if (*p < 0x20 || *p > 0x7e || *p == '=') {
            fe_invalid_str(errs, path, name,
                           "a valid environment variable name must consist only "
                           "of printable ASCII characters other than '='");
            return;
        }
}

static void key_selector(struct field_errors *errs, const char *path, const json_t *sel)
{
    char *p = wl_pathf("%s.name", path);
    const char *name = sv(sel, "name");
    add_name_msgs(errs, p, name, validate_name_is_dns_subdomain);
    free(p);
    p = wl_pathf("%s.key", path);
    if (ju_empty(ju_str(sel, "key")))
        fe_required(errs, p, "");
    free(p);
}

static void validate_env(struct field_errors *errs, const char *path, const json_t *env)
{
    size_t i;
    json_t *ev;
    json_array_foreach (env, i, ev) {
        char *idx = wl_pathf("%s.env[%zu]", path, i), *np = wl_pathf("%s.name", idx);
        const char *name = sv(ev, "name");
        if (!*name)
            fe_required(errs, np, "");
        else
            env_var_name(errs, np, name);
        free(np);
        const json_t *from = ju_get(ev, "valueFrom");
        if (json_is_object(from)) {
            char *fp = wl_pathf("%s.valueFrom", idx);
            int n = 0;
            const json_t *fr = ju_get(from, "fieldRef");
            if (json_is_object(fr)) {
                n++;
                char *p = NULL;
                if (ju_empty(ju_str(fr, "apiVersion")))
                    fe_required(errs, p = wl_pathf("%s.fieldRef.apiVersion", fp), "");
                else if (ju_empty(ju_str(fr, "fieldPath")))
                    fe_required(errs, p = wl_pathf("%s.fieldRef.fieldPath", fp), "");
                free(p);
            }
            const json_t *rfr = ju_get(from, "resourceFieldRef");
            if (json_is_object(rfr)) {
                n++;
                if (ju_empty(ju_str(rfr, "resource"))) {
                    char *p = wl_pathf("%s.resourceFieldRef.resource", fp);
                    fe_required(errs, p, "");
                    free(p);
                }
            }
            static const char *const keyed[] = {"configMapKeyRef", "secretKeyRef"};
            for (size_t k = 0; k < N_OF(keyed); k++) {
                const json_t *sel = ju_get(from, keyed[k]);
                if (json_is_object(sel)) {
                    n++;
                    char *p = wl_pathf("%s.%s", fp, keyed[k]);
                    key_selector(errs, p, sel);
                    free(p);
                }
            }
            if (!n)
                fe_invalid_str(errs, fp, "",
                               "must specify one of: `fieldRef`, `resourceFieldRef`, "
                               "`configMapKeyRef` or `secretKeyRef`");
            else if (!ju_empty(ju_str(ev, "value")))
                fe_invalid_str(errs, fp, "", "may not be specified when `value` is not empty");
            else if (n > 1)
                fe_invalid_str(errs, fp, "",
                               "may not have more than one field specified at a time");
            free(fp);
        }
        free(idx);
    }
}

static void validate_env_from(struct field_errors *errs, const char *path, const json_t *list)
{
    size_t i;
    json_t *ev;
    char *lp = wl_pathf("%s.envFrom", path);
    json_array_foreach (list, i, ev) {
        const char *prefix = sv(ev, "prefix");
        if (*prefix) {
            char *p = wl_pathf("%s[%zu].prefix", lp, i);
            env_var_name(errs, p, prefix);
            free(p);
        }
        int n = 0;
        static const char *const refs[] = {"configMapRef", "secretRef"};
        for (size_t k = 0; k < N_OF(refs); k++) {
            const json_t *ref = ju_get(ev, refs[k]);
            if (!json_is_object(ref))
                continue;
            n++;
            char *p = wl_pathf("%s[%zu].%s.name", lp, i, refs[k]);
            if (ju_empty(ju_str(ref, "name")))
                fe_required(errs, p, "");
            else
                add_name_msgs(errs, p, ju_str(ref, "name"), validate_name_is_dns_subdomain);
            free(p);
        }
        if (!n)
            fe_invalid_str(errs, lp, "", "must specify one of: `configMapRef` or `secretRef`");
        else if (n > 1)
            fe_invalid_str(errs, lp, "", "may not have more than one field specified at a time");
    }
    free(lp);
}

static void validate_volume_mounts(struct podctx *pc, const char *path, const json_t *mounts)
{
    json_t *paths = json_object();
    size_t i;
    json_t *m;
    json_array_foreach (mounts, i, m) {
        char *idx = wl_pathf("%s.volumeMounts[%zu]", path, i);
        char *np = wl_pathf("%s.name", idx), *mp = wl_pathf("%s.mountPath", idx);
        const char *name = sv(m, "name"), *mount = sv(m, "mountPath");
        if (!*name)
            fe_required(pc->errs, np, "");
        if (!json_object_get(pc->volumes, name)) {
            char *q = fe_quote(name);
            fe_not_found(pc->errs, np, q);
            free(q);
        }
        if (!*mount)
            fe_required(pc->errs, mp, "");
        if (json_object_get(paths, mount))
            fe_invalid_str(pc->errs, mp, mount, "must be unique");
        json_object_set_new(paths, mount, json_true());
        free(idx);
        free(np);
        free(mp);
    }
    json_decref(paths);
}

static bool is_hugepages(const char *name)
{
    return !strncmp(name, "hugepages-", 10);
}

/* helper.IsNativeResource: no domain, or a kubernetes.io one. */
static bool is_native_resource(const char *name)
{
    return !strchr(name, '/') || strstr(name, "kubernetes.io/");
}

static bool overcommit_allowed(const char *name)
{
    return is_native_resource(name) && !is_hugepages(name);
}

/* validateContainerResourceName */
static void container_resource_name(struct field_errors *errs, const char *path, const char *name)
{
    struct validate_msgs msgs;
    if (validate_is_qualified_name(name, &msgs)) {
        validate_add_msgs(errs, path, name, &msgs);
    } else if (!strchr(name, '/')) {
        static const char *const standard[] = {"cpu",
                                               "memory",
                                               "ephemeral-storage",
                                               "requests.cpu",
                                               "requests.memory",
                                               "requests.ephemeral-storage",
                                               "limits.cpu",
                                               "limits.memory",
                                               "limits.ephemeral-storage",
                                               "pods",
                                               "services",
                                               "replicationcontrollers",
                                               "resourcequotas",
                                               "secrets",
                                               "persistentvolumeclaims",
                                               "configmaps",
                                               "storage",
                                               "requests.storage",
                                               "services.nodeports",
                                               "services.loadbalancers"};
        bool huge = is_hugepages(name) || !strncmp(name, "requests.hugepages-", 19);
        if (!in_list(name, standard, N_OF(standard)) && !huge)
            fe_invalid_str(errs, path, name, "must be a standard resource type or fully qualified");
    }
    if (!strchr(name, '/')) {
        static const char *const container[] = {"cpu", "memory", "ephemeral-storage"};
        if (!in_list(name, container, N_OF(container)) && !is_hugepages(name))
            fe_invalid_str(errs, path, name, "must be a standard resource for containers");
    } else if (!is_native_resource(name)) {
        char *req = wl_pathf("requests.%s", name);
        bool extended = strncmp(name, "requests.", 9) && !validate_is_qualified_name(req, &msgs);
        free(req);
        if (!extended)
            fe_invalid_str(errs, path, name, "doesn't follow extended resource name standard");
    }
}

void wl_quantity_nonnegative(struct field_errors *errs, const char *path, const json_t *v)
{
    char buf[64], canon[VALIDATE_QUANTITY_STRLEN];
    const char *s = wl_quantity_text(v, buf);
    if (s && validate_quantity_sign(s) < 0) {
        wl_quantity_string(v, canon);
        fe_invalid_str(errs, path, canon, "must be greater than or equal to 0");
    }
}

/* ValidateContainerResourceRequirements (lists walked in key order; upstream's map order is
   random, so with several bad entries the order of the causes may differ there). */
static void validate_resources(struct field_errors *errs, const char *path, const json_t *res)
{
    const json_t *limits = ju_get(res, "limits"), *requests = ju_get(res, "requests");
    char *lim_path = wl_pathf("%s.resources.limits", path);
    char *req_path = wl_pathf("%s.resources.requests", path);
    size_t n;
    const char **keys = wl_sorted_keys(limits, &n);
    for (size_t i = 0; i < n; i++) {
        char *p = fe_path_key(lim_path, keys[i]);
        container_resource_name(errs, p, keys[i]);
        wl_quantity_nonnegative(errs, p, json_object_get(limits, keys[i]));
        free(p);
    }
    free(keys);
    keys = wl_sorted_keys(requests, &n);
    for (size_t i = 0; i < n; i++) {
        char *p = fe_path_key(req_path, keys[i]);
        const json_t *q = json_object_get(requests, keys[i]);
        container_resource_name(errs, p, keys[i]);
        wl_quantity_nonnegative(errs, p, q);
        free(p);
        const json_t *lim = ju_get(limits, keys[i]);
        char qbuf[64], lbuf[64], qs[VALIDATE_QUANTITY_STRLEN], ls[VALIDATE_QUANTITY_STRLEN];
        if (lim) {
            int c = validate_quantity_cmp(wl_quantity_text(q, qbuf), wl_quantity_text(lim, lbuf));
            wl_quantity_string(q, qs);
            wl_quantity_string(lim, ls);
            char *d = NULL;
            if (c && !overcommit_allowed(keys[i]))
                d = wl_pathf("must be equal to %s limit of %s", keys[i], ls);
            else if (c > 0)
                d = wl_pathf("must be less than or equal to %s limit of %s", keys[i], ls);
            if (d)
                fe_invalid_str(errs, req_path, qs, d);
            free(d);
        } else if (!overcommit_allowed(keys[i])) {
            fe_required(errs, lim_path, "Limit must be set for non overcommitable resources");
        }
    }
    free(keys);
    /* Hugepages only come with cpu or memory. */
    static const char *const lists[] = {"limits", "requests"};
    bool compute = false, huge = false;
    for (size_t l = 0; l < 2; l++) {
        const char *key;
        json_t *v;
        const json_t *list = ju_get(res, lists[l]);
        if (!json_is_object(list))
            continue;
        json_object_foreach ((json_t *)list, key, v) {
            compute |= !strcmp(key, "cpu") || !strcmp(key, "memory");
            huge |= is_hugepages(key);
        }
    }
    if (huge && !compute) {
        char *p = wl_pathf("%s.resources", path);
        fe_forbidden(errs, p, "HugePages require cpu or memory");
        free(p);
    }
    free(lim_path);
    free(req_path);
}

/* ValidatePortNumOrName for an IntOrString member. */
static void port_num_or_name(struct field_errors *errs, const char *path, const json_t *port)
{
    if (json_is_string(port))
        validate_port_name_field(errs, path, json_string_value(port));
    else
        validate_port_num_field(errs, path, json_is_integer(port) ? json_integer_value(port) : 0);
}

/* validateHandler: exactly one action; probe handlers know grpc, lifecycle ones sleep. */
static void validate_handler(struct field_errors *errs, const char *path, const json_t *h,
                             bool lifecycle, long long grace)
{
    static const char *const probe_kinds[] = {"exec", "httpGet", "tcpSocket", "grpc"};
    static const char *const lc_kinds[] = {"exec", "httpGet", "tcpSocket", "sleep"};
    const char *const *kinds = lifecycle ? lc_kinds : probe_kinds;
    int n = 0;
    for (size_t k = 0; k < 4; k++) {
        const json_t *a = ju_get(h, kinds[k]);
        if (!json_is_object(a))
            continue;
        char *p = wl_pathf("%s.%s", path, kinds[k]);
        if (n++) {
            fe_forbidden(errs, p, "may not specify more than 1 handler type");
            free(p);
            continue;
        }
        char *sub = NULL;
        if (!strcmp(kinds[k], "exec")) {
            if (!alen(ju_get(a, "command")))
                fe_required(errs, sub = wl_pathf("%s.command", p), "");
        } else if (!strcmp(kinds[k], "httpGet")) {
            if (ju_empty(ju_str(a, "path"))) {
                fe_required(errs, sub = wl_pathf("%s.path", p), "");
                free(sub);
            }
            sub = wl_pathf("%s.port", p);
            port_num_or_name(errs, sub, ju_get(a, "port"));
            free(sub);
            static const char *const schemes[] = {"HTTP", "HTTPS"};
            sub = wl_pathf("%s.scheme", p);
            if (!in_list(sv(a, "scheme"), schemes, 2)) {
                char *q = fe_quote(sv(a, "scheme"));
                fe_not_supported(errs, sub, q, schemes, 2);
                free(q);
            }
        } else if (!strcmp(kinds[k], "tcpSocket")) {
            port_num_or_name(errs, sub = wl_pathf("%s.port", p), ju_get(a, "port"));
        } else if (!strcmp(kinds[k], "grpc")) {
            validate_port_num_field(errs, sub = wl_pathf("%s.port", p), ju_int(a, "port", 0));
        } else {
            /* PodLifecycleSleepActionAllowZero is on in 1.33. */
            long long secs = ju_int(a, "seconds", 0);
            if (grace >= 0 && (secs < 0 || secs > grace)) {
                char *d =
                    wl_pathf("must be non-negative and less than terminationGracePeriodSeconds "
                             "(%lld)",
                             grace);
                fe_invalid_int(errs, p, secs, d);
                free(d);
            }
        }
        free(sub);
        free(p);
    }
    if (!n)
        fe_required(errs, path, "must specify a handler type");
}

enum probe_kind { PROBE_LIVENESS, PROBE_READINESS, PROBE_STARTUP };

static void validate_probe(struct field_errors *errs, const char *cpath, const char *name,
                           const json_t *probe, enum probe_kind kind, long long grace)
{
    if (!json_is_object(probe))
        return;
    char *path = wl_pathf("%s.%s", cpath, name);
    validate_handler(errs, path, probe, false, grace);
    static const char *const nonneg[] = {"initialDelaySeconds", "timeoutSeconds", "periodSeconds",
                                         "successThreshold", "failureThreshold"};
    for (size_t i = 0; i < N_OF(nonneg); i++) {
        char *p = wl_pathf("%s.%s", path, nonneg[i]);
        validate_nonnegative_field(errs, p, ju_int(probe, nonneg[i], 0));
        free(p);
    }
    const json_t *tgp = ju_get(probe, "terminationGracePeriodSeconds");
    char *tp = wl_pathf("%s.terminationGracePeriodSeconds", path);
    if (json_is_integer(tgp) && json_integer_value(tgp) <= 0)
        fe_invalid_int(errs, tp, json_integer_value(tgp), "must be greater than 0");
    if (kind != PROBE_READINESS && ju_int(probe, "successThreshold", 0) != 1) {
        char *p = wl_pathf("%s.successThreshold", path);
        fe_invalid_int(errs, p, ju_int(probe, "successThreshold", 0), "must be 1");
        free(p);
    }
    if (kind == PROBE_READINESS && json_is_integer(tgp))
        fe_invalid_int(errs, tp, json_integer_value(tgp), "must not be set for readinessProbes");
    free(tp);
    free(path);
}

static void validate_lifecycle(struct field_errors *errs, const char *cpath, const json_t *lc,
                               long long grace)
{
    static const char *const hooks[] = {"postStart", "preStop"};
    for (size_t i = 0; i < N_OF(hooks); i++) {
        const json_t *h = ju_get(lc, hooks[i]);
        if (!json_is_object(h))
            continue;
        char *p = wl_pathf("%s.lifecycle.%s", cpath, hooks[i]);
        validate_handler(errs, p, h, true, grace);
        free(p);
    }
}

/* validateContainerCommon */
static void validate_container_common(struct podctx *pc, const char *path, const json_t *c)
{
    struct field_errors *errs = pc->errs;
    char *p = wl_pathf("%s.name", path);
    const char *name = sv(c, "name");
    if (!*name)
        fe_required(errs, p, "");
    else
        validate_dns1123_label_field(errs, p, name);
    free(p);
    if (ju_empty(ju_str(c, "image"))) {
        p = wl_pathf("%s.image", path);
        fe_required(errs, p, "");
        free(p);
    }
    static const char *const tmp[] = {"File", "FallbackToLogsOnError"};
    p = wl_pathf("%s.terminationMessagePolicy", path);
    wl_enum_field(errs, p, sv(c, "terminationMessagePolicy"), tmp, N_OF(tmp));
    free(p);
    validate_container_ports(errs, path, ju_get(c, "ports"));
    validate_env(errs, path, ju_get(c, "env"));
    validate_env_from(errs, path, ju_get(c, "envFrom"));
    validate_volume_mounts(pc, path, ju_get(c, "volumeMounts"));
    static const char *const pull[] = {"Always", "IfNotPresent", "Never"};
    p = wl_pathf("%s.imagePullPolicy", path);
    wl_enum_field(errs, p, sv(c, "imagePullPolicy"), pull, N_OF(pull));
    free(p);
    validate_resources(errs, path, ju_get(c, "resources"));
}

/* AccumulateUniqueHostPorts over some containers of one list. */
static void host_port_conflicts(struct field_errors *errs, const char *list_path,
                                const json_t *containers, size_t from, size_t to)
{
    json_t *seen = json_object();
    for (size_t ci = from; ci < to; ci++) {
        const json_t *c = json_array_get(containers, ci);
        size_t pi;
        json_t *port;
        json_array_foreach (ju_arr(c, "ports"), pi, port) {
            long long hp = ju_int(port, "hostPort", 0);
            if (!hp)
                continue;
            char *key = wl_pathf("%s/%s/%lld", sv(port, "protocol"), sv(port, "hostIP"), hp);
            if (json_object_get(seen, key)) {
                char *p = wl_pathf("%s[%zu].ports[%zu].hostPort", list_path, ci, pi);
                fe_duplicate_str(errs, p, key);
                free(p);
            } else {
                json_object_set_new(seen, key, json_true());
            }
            free(key);
        }
    }
    json_decref(seen);
}

static void validate_containers(struct podctx *pc, const json_t *spec, long long grace)
{
    const json_t *list = ju_get(spec, "containers");
    char *list_path = wl_pathf("%s.containers", pc->base);
    if (!alen(list)) {
        fe_required(pc->errs, list_path, "");
        free(list_path);
        return;
    }
    json_t *names = json_object();
    size_t i;
    json_t *c;
    json_array_foreach (list, i, c) {
        char *path = wl_pathf("%s[%zu]", list_path, i);
        validate_container_common(pc, path, c);
        const char *name = sv(c, "name");
        if (json_object_get(names, name)) {
            char *p = wl_pathf("%s.name", path);
            fe_duplicate_str(pc->errs, p, name);
            free(p);
        } else {
            json_object_set_new(names, name, json_true());
        }
        if (json_is_object(ju_get(c, "lifecycle")))
            validate_lifecycle(pc->errs, path, ju_get(c, "lifecycle"), grace);
        validate_probe(pc->errs, path, "livenessProbe", ju_get(c, "livenessProbe"), PROBE_LIVENESS,
                       grace);
        validate_probe(pc->errs, path, "readinessProbe", ju_get(c, "readinessProbe"),
                       PROBE_READINESS, grace);
        validate_probe(pc->errs, path, "startupProbe", ju_get(c, "startupProbe"), PROBE_STARTUP,
                       grace);
        if (ju_str(c, "restartPolicy")) {
            char *p = wl_pathf("%s.restartPolicy", path);
            fe_forbidden(pc->errs, p, "may not be set for non-init containers");
            free(p);
        }
        free(path);
    }
    json_decref(names);
    host_port_conflicts(pc->errs, list_path, list, 0, alen(list));
    free(list_path);
}

static void validate_init_containers(struct podctx *pc, const json_t *spec, long long grace)
{
    json_t *names = json_object();
    size_t i;
    json_t *c;
    json_array_foreach (ju_arr(spec, "containers"), i, c)
        json_object_set_new(names, sv(c, "name"), json_true());
    const json_t *list = ju_get(spec, "initContainers");
    char *list_path = wl_pathf("%s.initContainers", pc->base);
    json_array_foreach (list, i, c) {
        char *path = wl_pathf("%s[%zu]", list_path, i);
        validate_container_common(pc, path, c);
        const char *rp = ju_str(c, "restartPolicy");
        bool always = rp && !strcmp(rp, "Always");
        if (rp && !always) {
            static const char *const ok[] = {"Always"};
            char *p = wl_pathf("%s.restartPolicy", path), *q = fe_quote(rp);
            fe_not_supported(pc->errs, p, q, ok, 1);
            free(p);
            free(q);
        }
        const char *name = sv(c, "name");
        if (json_object_get(names, name)) {
            char *p = wl_pathf("%s.name", path);
            fe_duplicate_str(pc->errs, p, name);
            free(p);
        } else if (*name) {
            json_object_set_new(names, name, json_true());
        }
        host_port_conflicts(pc->errs, list_path, list, i, i + 1);
        if (always) {
            if (json_is_object(ju_get(c, "lifecycle")))
                validate_lifecycle(pc->errs, path, ju_get(c, "lifecycle"), grace);
            validate_probe(pc->errs, path, "livenessProbe", ju_get(c, "livenessProbe"),
                           PROBE_LIVENESS, grace);
            validate_probe(pc->errs, path, "readinessProbe", ju_get(c, "readinessProbe"),
                           PROBE_READINESS, grace);
            validate_probe(pc->errs, path, "startupProbe", ju_get(c, "startupProbe"), PROBE_STARTUP,
                           grace);
        } else {
            static const char *const forbidden[] = {"lifecycle", "livenessProbe", "readinessProbe",
                                                    "startupProbe"};
            for (size_t k = 0; k < N_OF(forbidden); k++) {
                if (!json_is_object(ju_get(c, forbidden[k])))
                    continue;
                char *p = wl_pathf("%s.%s", path, forbidden[k]);
                fe_forbidden(pc->errs, p,
                             "may not be set for init containers without restartPolicy=Always");
                free(p);
            }
        }
        free(path);
    }
    json_decref(names);
    free(list_path);
}

/* ValidateTolerations */
void wl_tolerations(struct field_errors *errs, const char *path, const json_t *tols)
{
    size_t i;
    json_t *t;
    json_array_foreach (tols, i, t) {
        char *idx = wl_pathf("%s[%zu]", path, i);
        char *kp = wl_pathf("%s.key", idx), *op = wl_pathf("%s.operator", idx);
        char *ep = wl_pathf("%s.effect", idx);
        const char *key = sv(t, "key"), *oper = sv(t, "operator"), *value = sv(t, "value");
        const char *effect = sv(t, "effect");
        if (*key)
            validate_qualified_name_field(errs, kp, key);
        if (!*key && strcmp(oper, "Exists"))
            fe_invalid_str(errs, op, oper,
                           "operator must be Exists when `key` is empty, which "
                           "means \"match all values and all keys\"");
        if (json_is_integer(ju_get(t, "tolerationSeconds")) && strcmp(effect, "NoExecute"))
            fe_invalid_str(errs, ep, effect,
                           "effect must be 'NoExecute' when `tolerationSeconds` is set");
        if (!*oper || !strcmp(oper, "Equal")) {
            struct validate_msgs msgs;
            if (validate_is_label_value(value, &msgs)) {
                size_t len = 0;
                for (size_t m = 0; m < msgs.len; m++)
                    len += strlen(msgs.msg[m]) + 1;
                char *joined = xcalloc(1, len + 1);
                for (size_t m = 0; m < msgs.len; m++) {
                    if (m)
                        strcat(joined, ";");
                    strcat(joined, msgs.msg[m]);
                }
                fe_invalid_str(errs, op, value, joined);
                free(joined);
            }
        } else if (!strcmp(oper, "Exists")) {
            if (*value)
                fe_invalid_str(errs, op, value, "value must be empty when `operator` is 'Exists'");
        } else {
            static const char *const ops[] = {"Equal", "Exists"};
            char *q = fe_quote(oper);
            fe_not_supported(errs, op, q, ops, 2);
            free(q);
        }
        if (*effect) {
            static const char *const effects[] = {"NoSchedule", "PreferNoSchedule", "NoExecute"};
            if (!in_list(effect, effects, 3)) {
                char *q = fe_quote(effect);
                fe_not_supported(errs, ep, q, effects, 3);
                free(q);
            }
        }
        free(idx);
        free(kp);
        free(op);
        free(ep);
    }
}

static void id_range(struct field_errors *errs, const char *path, const json_t *v)
{
    if (json_is_integer(v) && (json_integer_value(v) < 0 || json_integer_value(v) > 2147483647))
        fe_invalid_int(errs, path, json_integer_value(v),
                       "must be between 0 and 2147483647, inclusive");
}

/* at(pc, "x.y") is "<base>.x.y"; the caller frees. */
static char *at(const struct podctx *pc, const char *rel)
{
    return wl_pathf("%s.%s", pc->base, rel);
}

/* Invalid, Required, ... at a path relative to the spec. */
static void sc_range(const struct podctx *pc, const char *rel, const json_t *v)
{
    char *p = at(pc, rel);
    id_range(pc->errs, p, v);
    free(p);
}

/* validatePodSpecSecurityContext, the ID ranges and the process-namespace rule (upstream keeps
   hostPID and shareProcessNamespace in the security context, hence the path). */
static void validate_security_context(const struct podctx *pc, const json_t *spec)
{
    const json_t *sc = ju_get(spec, "securityContext");
    if (!json_is_object(sc))
        return;
    sc_range(pc, "securityContext.fsGroup", ju_get(sc, "fsGroup"));
    sc_range(pc, "securityContext.runAsUser", ju_get(sc, "runAsUser"));
    sc_range(pc, "securityContext.runAsGroup", ju_get(sc, "runAsGroup"));
    size_t i;
    json_t *g;
    json_array_foreach (ju_arr(sc, "supplementalGroups"), i, g) {
        char *p = wl_pathf("%s.securityContext.supplementalGroups[%zu]", pc->base, i);
        id_range(pc->errs, p, g);
        free(p);
    }
    if (ju_bool(spec, "shareProcessNamespace", false) && ju_bool(spec, "hostPID", false)) {
        char *p = at(pc, "securityContext.shareProcessNamespace");
        fe_invalid(pc->errs, p, "true", "ShareProcessNamespace and HostPID cannot both be enabled");
        free(p);
    }
}

static void validate_dns_config(const struct podctx *pc, const json_t *spec)
{
    struct field_errors *errs = pc->errs;
    const json_t *cfg = ju_get(spec, "dnsConfig");
    bool has = json_is_object(cfg);
    char *base = at(pc, "dnsConfig");
    if (!strcmp(sv(spec, "dnsPolicy"), "None")) {
        if (!has) {
            fe_required(errs, base, "must provide `dnsConfig` when `dnsPolicy` is None");
            free(base);
            return;
        }
        if (!alen(ju_get(cfg, "nameservers"))) {
            char *p = wl_pathf("%s.nameservers", base);
            fe_required(errs, p,
                        "must provide at least one DNS nameserver when `dnsPolicy` is None");
            free(p);
            free(base);
            return;
        }
    }
    if (!has) {
        free(base);
        return;
    }
    const json_t *ns = ju_get(cfg, "nameservers");
    char *p = wl_pathf("%s.nameservers", base);
    if (alen(ns) > 3) {
        char *v = fe_json_strings(ns);
        fe_invalid(errs, p, v, "must not have more than 3 nameservers");
        free(v);
    }
    free(p);
    size_t i;
    json_t *s;
    json_array_foreach (ns, i, s) {
        p = wl_pathf("%s.nameservers[%zu]", base, i);
        validate_ip_strict_field(errs, p, item_str(s));
        free(p);
    }
    const json_t *searches = ju_get(cfg, "searches");
    size_t total = 0;
    json_array_foreach (searches, i, s)
        total += strlen(item_str(s)) + (i ? 1 : 0);
    p = wl_pathf("%s.searches", base);
    if (alen(searches) > 32 || total > 2048) {
        char *v = fe_json_strings(searches);
        if (alen(searches) > 32)
            fe_invalid(errs, p, v, "must not have more than 32 search paths");
        if (total > 2048)
            fe_invalid(errs, p, v,
                       "must not have more than 2048 characters (including spaces) in the search "
                       "list");
        free(v);
    }
    free(p);
    json_array_foreach (searches, i, s) {
        /* RelaxedDNSSearchValidation (beta, on in 1.33): "." alone and underscores pass. */
        const char *v = item_str(s);
        if (!strcmp(v, "."))
            continue;
        size_t n = strlen(v);
        char *trimmed = xstrndup(v, n && v[n - 1] == '.' ? n - 1 : n);
        char *under = xstrdup(trimmed);
        for (char *c = under; *c; c++)
            if (*c == '_')
                *c = 'a';
        struct validate_msgs msgs;
        if (validate_is_dns1123_subdomain(under, &msgs)) {
            p = wl_pathf("%s.searches[%zu]", base, i);
            fe_invalid_str(
                errs, p, trimmed,
                "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric "
                "characters, '-', '_' or '.', and must start and end with an "
                "alphanumeric character (e.g. 'example.com', regex used for validation "
                "is '[a-z0-9_]([-a-z0-9_]*[a-z0-9_])?(\\.[a-z0-9_]([-a-z0-9_]*[a-z0-9_])?)*')");
            free(p);
        }
        free(trimmed);
        free(under);
    }
    json_t *o;
    json_array_foreach (ju_arr(cfg, "options"), i, o) {
        if (ju_empty(ju_str(o, "name"))) {
            p = wl_pathf("%s.options[%zu]", base, i);
            fe_required(errs, p, "must not be empty");
            free(p);
        }
    }
    free(base);
}

static void name_field(const struct podctx *pc, const json_t *spec, const char *key)
{
    const char *v = ju_str(spec, key);
    if (ju_empty(v))
        return;
    char *p = at(pc, key);
    add_name_msgs(pc->errs, p, v, validate_name_is_dns_subdomain);
    free(p);
}

/* ValidatePodSpec (affinity, topology spread, resource claims, overhead, os, imagePullSecrets
   and the Windows rules are not modelled). */
static void validate_pod_spec(struct podctx *pc, const json_t *spec)
{
    struct field_errors *errs = pc->errs;
    const json_t *tgp = ju_get(spec, "terminationGracePeriodSeconds");
    char *p;
    if (!json_is_integer(tgp)) {
        fe_required(errs, p = at(pc, "terminationGracePeriodSeconds"), "");
        free(p);
    }
    long long grace = json_is_integer(tgp) ? json_integer_value(tgp) : -1;
    validate_volumes(pc, ju_get(spec, "volumes"));
    validate_containers(pc, spec, grace);
    validate_init_containers(pc, spec, grace);
    size_t i, j;
    json_t *v, *port;
    if (ju_bool(spec, "hostNetwork", false)) {
        json_array_foreach (ju_arr(spec, "containers"), i, v) {
            json_array_foreach (ju_arr(v, "ports"), j, port) {
                long long hp = ju_int(port, "hostPort", 0), cp = ju_int(port, "containerPort", 0);
                if ((pc->pod || hp) && hp != cp) {
                    p = wl_pathf("%s.containers[%zu].ports[%zu].hostPort", pc->base, i, j);
                    fe_invalid_int(errs, p, hp,
                                   "must match `containerPort` when `hostNetwork` is true");
                    free(p);
                }
            }
        }
    }
    static const char *const restart[] = {"Always", "OnFailure", "Never"};
    wl_enum_field(errs, p = at(pc, "restartPolicy"), sv(spec, "restartPolicy"), restart,
                  N_OF(restart));
    free(p);
    static const char *const dns[] = {"ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"};
    wl_enum_field(errs, p = at(pc, "dnsPolicy"), sv(spec, "dnsPolicy"), dns, N_OF(dns));
    free(p);
    validate_labels(errs, p = at(pc, "nodeSelector"), ju_get(spec, "nodeSelector"));
    free(p);
    validate_security_context(pc, spec);
    validate_dns_config(pc, spec);
    json_array_foreach (ju_arr(spec, "readinessGates"), i, v) {
        p = wl_pathf("%s.readinessGates[%zu].conditionType", pc->base, i);
        validate_qualified_name_field(errs, p, sv(v, "conditionType"));
        free(p);
    }
    json_t *gates = json_object();
    json_array_foreach (ju_arr(spec, "schedulingGates"), i, v) {
        p = wl_pathf("%s.schedulingGates[%zu]", pc->base, i);
        validate_qualified_name_field(errs, p, sv(v, "name"));
        if (json_object_get(gates, sv(v, "name")))
            fe_duplicate_str(errs, p, sv(v, "name"));
        json_object_set_new(gates, sv(v, "name"), json_true());
        free(p);
    }
    json_decref(gates);
    if (json_is_false(ju_get(spec, "hostUsers"))) {
        /* validateHostUsers, with upstream's capitalised HostPID / HostIPC paths. */
        static const char *const ns[][2] = {
            {"hostNetwork", "hostNetwork"}, {"hostPID", "HostPID"}, {"hostIPC", "HostIPC"}};
        for (size_t k = 0; k < N_OF(ns); k++) {
            if (!ju_bool(spec, ns[k][0], false))
                continue;
            fe_forbidden(errs, p = at(pc, ns[k][1]), "when `pod.Spec.HostUsers` is false");
            free(p);
        }
    }
    name_field(pc, spec, "serviceAccountName");
    name_field(pc, spec, "nodeName");
    const json_t *ads = ju_get(spec, "activeDeadlineSeconds");
    if (json_is_integer(ads) &&
        (json_integer_value(ads) < 1 || json_integer_value(ads) > 2147483647)) {
        fe_invalid_int(errs, p = at(pc, "activeDeadlineSeconds"), json_integer_value(ads),
                       "must be between 1 and 2147483647, inclusive");
        free(p);
    }
    static const char *const labels[] = {"hostname", "subdomain"};
    for (size_t k = 0; k < N_OF(labels); k++) {
        if (ju_empty(ju_str(spec, labels[k])))
            continue;
        validate_dns1123_label_field(errs, p = at(pc, labels[k]), ju_str(spec, labels[k]));
        free(p);
    }
    wl_tolerations(errs, p = at(pc, "tolerations"), ju_get(spec, "tolerations"));
    free(p);
    json_array_foreach (ju_arr(spec, "hostAliases"), i, v) {
        p = wl_pathf("%s.hostAliases[%zu].ip", pc->base, i);
        validate_ip_strict_field(errs, p, sv(v, "ip"));
        free(p);
        json_t *h;
        json_array_foreach (ju_arr(v, "hostnames"), j, h) {
            p = wl_pathf("%s.hostAliases[%zu].hostnames[%zu]", pc->base, i, j);
            validate_dns1123_subdomain_field(errs, p, item_str(h));
            free(p);
        }
    }
    name_field(pc, spec, "priorityClassName");
    if (json_is_string(ju_get(spec, "runtimeClassName"))) {
        p = at(pc, "runtimeClassName");
        add_name_msgs(errs, p, ju_str(spec, "runtimeClassName"), validate_name_is_dns_subdomain);
        free(p);
    }
    if (json_is_string(ju_get(spec, "preemptionPolicy"))) {
        static const char *const pp[] = {"PreemptLowerPriority", "Never"};
        wl_enum_field(errs, p = at(pc, "preemptionPolicy"), ju_str(spec, "preemptionPolicy"), pp,
                      2);
        free(p);
    }
}

/* The PodSpec checks with a fresh context. */
void wl_pod_spec_checks(struct field_errors *errs, const char *base, const json_t *spec, bool pod)
{
    struct podctx pc = {.errs = errs, .base = base, .pod = pod, .volumes = json_object()};
    validate_pod_spec(&pc, spec);
    json_decref(pc.volumes);
}
