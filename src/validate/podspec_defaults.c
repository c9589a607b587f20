/*
 * podspec_defaults: what the server fills into a PodSpec, after kube-apiserver 1.33: the v1
 * defaulting of pkg/apis/core/v1 defaults.go and the generated SetObjectDefaults_Pod (for a Pod)
 * or the pod template part of SetObjectDefaults_ReplicaSet, and the QoS class of a pod
 * (qos.ComputePodQOS). Depends on util and jansson.
 */
#include "workloads_private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- PodSpec v1 defaulting ----------------------------------------------------------------------
 * pkg/apis/core/v1/defaults.go and the generated SetObjectDefaults_Pod: what a missing field
 * becomes when a Pod or a pod template is decoded. */

static void set_default_str(json_t *obj, const char *key, const char *value)
{
    if (json_is_object(obj) && ju_empty(ju_str(obj, key)))
        json_object_set_new(obj, key, json_string(value));
}

static void set_default_int(json_t *obj, const char *key, long long value)
{
    json_t *v = ju_get(obj, key);
    if (json_is_object(obj) && (!json_is_integer(v) || !json_integer_value(v)))
        json_object_set_new(obj, key, json_integer(value));
}

/* For *int32 / *int64 fields: only an absent (nil) value is defaulted. */
static void set_default_ptr_int(json_t *obj, const char *key, long long value)
{
    json_t *v = ju_get(obj, key);
    if (json_is_object(obj) && (!v || json_is_null(v)))
        json_object_set_new(obj, key, json_integer(value));
}

/* SetDefaults_ResourceList: every quantity rounded up to milli and written canonically. */
static void default_resource_list(json_t *list)
{
    const char *key;
    json_t *v;
    if (!json_is_object(list))
        return;
    json_object_foreach (list, key, v) {
        char buf[64], out[VALIDATE_QUANTITY_STRLEN];
        const char *s = wl_quantity_text(v, buf);
        if (s && !validate_quantity_normalize(s, out, NULL))
            json_object_set_new(list, key, json_string(out));
    }
}

static void default_resources(json_t *res)
{
    default_resource_list(ju_get(res, "limits"));
    default_resource_list(ju_get(res, "requests"));
}

static void default_field_ref(json_t *holder)
{
    json_t *ref = ju_obj(holder, "fieldRef");
    if (ref)
        set_default_str(ref, "apiVersion", "v1");
}

static void default_http_get(json_t *handler)
{
    json_t *http = ju_obj(handler, "httpGet");
    if (!http)
        return;
    set_default_str(http, "path", "/");
    set_default_str(http, "scheme", "HTTP");
}

static void default_probe(json_t *probe)
{
    if (!json_is_object(probe))
        return;
    set_default_int(probe, "timeoutSeconds", 1);
    set_default_int(probe, "periodSeconds", 10);
    set_default_int(probe, "successThreshold", 1);
    set_default_int(probe, "failureThreshold", 3);
    default_http_get(probe);
    json_t *grpc = ju_obj(probe, "grpc");
    if (grpc && !json_is_string(ju_get(grpc, "service")))
        json_object_set_new(grpc, "service", json_string(""));
}

/*
 * The tag parsers.ParseImageName finds: the part after the last ':' that follows the last '/',
 * "latest" when there is neither a tag nor a digest, "" when there is only a digest or the
 * reference does not parse (upper case in the repository, an empty name).
 */
static bool image_tag_is_latest(const char *image)
{
    if (ju_empty(image))
        return false;
    const char *at = strchr(image, '@');
    size_t n = at ? (size_t)(at - image) : strlen(image);
    const char *slash = NULL;
    for (size_t i = 0; i < n; i++)
        if (image[i] == '/')
            slash = image + i;
    const char *colon = NULL;
    for (const char *p = slash ? slash : image; p < image + n; p++)
        if (*p == ':')
            colon = p;
    const char *repo_end = colon ? colon : image + n;
    /* The domain (before the first '/', when it looks like one) may have upper case. */
    const char *first_slash = memchr(image, '/', n);
    const char *path = image;
    if (first_slash) {
        bool domain = false;
        for (const char *p = image; p < first_slash; p++)
            domain |= *p == '.' || *p == ':' || (*p >= 'A' && *p <= 'Z');
        domain |= (size_t)(first_slash - image) == 9 && !strncmp(image, "localhost", 9);
        if (domain)
            path = first_slash + 1;
    }
    for (const char *p = path; p < repo_end; p++)
        if (*p >= 'A' && *p <= 'Z')
            return false;
    if (repo_end == path)
        return false;
    if (colon)
        return !strncmp(colon + 1, "latest", 6) && (size_t)(image + n - colon - 1) == 6;
    return !at;
}

static void default_container(json_t *c, bool host_network)
{
    if (!json_is_object(c))
        return;
    if (ju_empty(ju_str(c, "imagePullPolicy")))
        json_object_set_new(
            c, "imagePullPolicy",
            json_string(image_tag_is_latest(ju_str(c, "image")) ? "Always" : "IfNotPresent"));
    set_default_str(c, "terminationMessagePath", "/dev/termination-log");
    set_default_str(c, "terminationMessagePolicy", "File");
    size_t i;
    json_t *v;
    json_array_foreach (ju_arr(c, "ports"), i, v) {
        set_default_str(v, "protocol", "TCP");
        /* SetDefaults_Pod: with host networking every container port is a host port. */
        if (host_network && json_is_object(v) && !ju_int(v, "hostPort", 0) &&
            json_is_integer(ju_get(v, "containerPort")))
            json_object_set(v, "hostPort", ju_get(v, "containerPort"));
    }
    json_array_foreach (ju_arr(c, "env"), i, v)
        default_field_ref(ju_obj(v, "valueFrom"));
    default_resources(ju_obj(c, "resources"));
    default_probe(ju_obj(c, "livenessProbe"));
    default_probe(ju_obj(c, "readinessProbe"));
    default_probe(ju_obj(c, "startupProbe"));
    json_t *lc = ju_obj(c, "lifecycle");
    default_http_get(ju_obj(lc, "postStart"));
    default_http_get(ju_obj(lc, "preStop"));
}

/* SetDefaults_Pod: limits without requests become the requests. */
static void default_requests_from_limits(json_t *c)
{
    json_t *res = ju_obj(c, "resources");
    json_t *limits = ju_obj(res, "limits");
    if (!limits)
        return;
    json_t *req = ju_ensure_obj(res, "requests");
    const char *key;
    json_t *v;
    json_object_foreach (limits, key, v) {
        if (!json_object_get(req, key))
            json_object_set(req, key, v);
    }
}

/* Every VolumeSource member (v1 names): a volume with none of them is an emptyDir. */
static const char *const volume_sources[] = {
    "hostPath",
    "emptyDir",
    "gcePersistentDisk",
    "awsElasticBlockStore",
    "gitRepo",
    "secret",
    "nfs",
    "iscsi",
    "glusterfs",
    "persistentVolumeClaim",
    "rbd",
    "flexVolume",
    "cinder",
    "cephfs",
    "flocker",
    "downwardAPI",
    "fc",
    "azureFile",
    "configMap",
    "vsphereVolume",
    "quobyte",
    "azureDisk",
    "photonPersistentDisk",
    "projected",
    "portworxVolume",
    "scaleIO",
    "storageos",
    "csi",
    "ephemeral",
    "image",
};

static bool has_member(const json_t *obj, const char *key)
{
    json_t *v = ju_get(obj, key);
    return v && !json_is_null(v);
}

static void default_items_field_refs(json_t *holder)
{
    size_t i;
    json_t *it;
    json_array_foreach (ju_arr(holder, "items"), i, it)
        default_field_ref(it);
}

static void default_volume(json_t *vol)
{
    if (!json_is_object(vol))
        return;
    bool any = false;
    for (size_t i = 0; i < N_OF(volume_sources) && !any; i++)
        any = has_member(vol, volume_sources[i]);
    if (!any)
        json_object_set_new(vol, "emptyDir", json_object());
    json_t *hp = ju_obj(vol, "hostPath");
    if (hp && !json_is_string(ju_get(hp, "type")))
        json_object_set_new(hp, "type", json_string(""));
    set_default_ptr_int(ju_obj(vol, "secret"), "defaultMode", 420);
    set_default_ptr_int(ju_obj(vol, "configMap"), "defaultMode", 420);
    json_t *dapi = ju_obj(vol, "downwardAPI");
    if (dapi) {
        set_default_ptr_int(dapi, "defaultMode", 420);
        default_items_field_refs(dapi);
    }
    json_t *proj = ju_obj(vol, "projected");
    if (proj) {
        set_default_ptr_int(proj, "defaultMode", 420);
        size_t i;
        json_t *src;
        json_array_foreach (ju_arr(proj, "sources"), i, src) {
            default_items_field_refs(ju_obj(src, "downwardAPI"));
            set_default_ptr_int(ju_obj(src, "serviceAccountToken"), "expirationSeconds", 3600);
        }
    }
    json_t *iscsi = ju_obj(vol, "iscsi");
    if (iscsi)
        set_default_str(iscsi, "iscsiInterface", "default");
    json_t *rbd = ju_obj(vol, "rbd");
    if (rbd) {
        set_default_str(rbd, "pool", "rbd");
        set_default_str(rbd, "user", "admin");
        set_default_str(rbd, "keyring", "/etc/ceph/keyring");
    }
    json_t *claim = ju_obj(ju_obj(ju_obj(vol, "ephemeral"), "volumeClaimTemplate"), "spec");
    if (claim)
        set_default_str(claim, "volumeMode", "Filesystem");
}

void validate_default_pod_spec(json_t *spec, bool pod)
{
    if (!json_is_object(spec))
        return;
    static const char *const lists[] = {"initContainers", "containers", "ephemeralContainers"};
    size_t i;
    json_t *v;
    if (pod) {
        json_array_foreach (ju_arr(spec, "containers"), i, v)
            default_requests_from_limits(v);
        json_array_foreach (ju_arr(spec, "initContainers"), i, v)
            default_requests_from_limits(v);
        json_t *esl = ju_get(spec, "enableServiceLinks");
        if (!json_is_boolean(esl))
            json_object_set_new(spec, "enableServiceLinks", json_true());
    }
    set_default_str(spec, "dnsPolicy", "ClusterFirst");
    set_default_str(spec, "restartPolicy", "Always");
    if (!json_is_object(ju_get(spec, "securityContext")))
        json_object_set_new(spec, "securityContext", json_object());
    set_default_ptr_int(spec, "terminationGracePeriodSeconds", 30);
    set_default_str(spec, "schedulerName", "default-scheduler");
    json_array_foreach (ju_arr(spec, "volumes"), i, v)
        default_volume(v);
    bool host_network = pod && ju_bool(spec, "hostNetwork", false);
    for (size_t l = 0; l < N_OF(lists); l++)
        json_array_foreach (ju_arr(spec, lists[l]), i, v)
            default_container(v, host_network && l < 2);
    default_resource_list(ju_obj(spec, "overhead"));
    default_resources(ju_obj(spec, "resources"));
    /* The v1 conversion keeps serviceAccount (deprecated) and serviceAccountName one value. */
    const char *san = ju_str(spec, "serviceAccountName");
    const char *sa = ju_str(spec, "serviceAccount");
    if (ju_empty(san) && !ju_empty(sa))
        json_object_set_new(spec, "serviceAccountName", json_string(sa));
    san = ju_str(spec, "serviceAccountName");
    if (!ju_empty(san))
        json_object_set_new(spec, "serviceAccount", json_string(san));
    else
        json_object_del(spec, "serviceAccount");
}

/* ---- QoS ----------------------------------------------------------------------------------------
 * qos.ComputePodQOS: sums of positive cpu and memory requests and limits over containers and
 * init containers; Guaranteed when every container limits both and requests equal limits. */

struct qos_sum {
    i128 req[2], lim[2];
    bool has_req[2], has_lim[2];
};

static int qos_resource(const char *name)
{
    return !strcmp(name, "cpu") ? 0 : !strcmp(name, "memory") ? 1 : -1;
}

static void qos_add(const json_t *list, i128 *sum, bool *has, bool *found)
{
    const char *key;
    json_t *v;
    if (!json_is_object(list))
        return;
    json_object_foreach ((json_t *)list, key, v) {
        int r = qos_resource(key);
        char buf[64];
        const char *s = wl_quantity_text(v, buf);
        if (r < 0 || !s)
            continue;
        i128 q = wl_quantity_nano(s);
        if (q > 0) {
            sum[r] += q;
            has[r] = true;
            if (found)
                found[r] = true;
        }
    }
}

const char *validate_pod_qos_class(const json_t *spec)
{
    struct qos_sum s;
    memset(&s, 0, sizeof(s));
    bool guaranteed = true;
    static const char *const lists[] = {"containers", "initContainers"};
    for (size_t l = 0; l < N_OF(lists); l++) {
        size_t i;
        json_t *c;
        json_array_foreach (ju_arr(spec, lists[l]), i, c) {
            const json_t *res = ju_get(c, "resources");
            bool found[2] = {false, false};
            qos_add(ju_get(res, "requests"), s.req, s.has_req, NULL);
            qos_add(ju_get(res, "limits"), s.lim, s.has_lim, found);
            if (!found[0] || !found[1])
                guaranteed = false;
        }
    }
    bool any_req = s.has_req[0] || s.has_req[1], any_lim = s.has_lim[0] || s.has_lim[1];
    if (!any_req && !any_lim)
        return "BestEffort";
    if (guaranteed) {
        for (int r = 0; r < 2; r++)
            if (s.has_req[r] && (!s.has_lim[r] || s.lim[r] != s.req[r]))
                guaranteed = false;
        int nreq = s.has_req[0] + s.has_req[1], nlim = s.has_lim[0] + s.has_lim[1];
        if (guaranteed && nreq == nlim)
            return "Guaranteed";
    }
    return "Burstable";
}
