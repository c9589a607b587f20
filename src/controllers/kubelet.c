/*
 * kubelet: simulated Nodes, a scheduler and a kubelet (issue 7: workloads are simulated,
 * never run). At start the Nodes exist (Ready, with addresses, capacity and the usual labels);
 * a new Pod is bound to a Node (round robin, or its own spec.nodeName), gets an address from
 * its node's /24 of --pod-cidr (never one in use), and turns Running and Ready, after
 * --pod-ready-delay when set. A deleted Pod (deletionTimestamp set) is removed once its
 * simulated containers have stopped: about two seconds later (a grace period shorter than that
 * sooner), or at once with grace 0.
 */
#include "ctl.h"

#include "podutil.h"
#include "svc/api.h"
#include "svc/skiplist.h"
#include "svc/store.h"
#include "svc/util.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

/* How long simulated containers take to stop after a graceful delete. */
#define STOP_SECONDS    2.0
#define KUBELET_VERSION "v1.33.0"

static uint32_t ip4(const char *s)
{
    struct in_addr a;
    return inet_pton(AF_INET, s, &a) == 1 ? ntohl(a.s_addr) : 0;
}

static void ip4_text(uint32_t v, char out[16])
{
    snprintf(out, 16, "%u.%u.%u.%u", v >> 24, (v >> 16) & 255, (v >> 8) & 255, v & 255);
}

static struct node_sim *node_named(struct controllers *c, const char *name)
{
    for (int i = 0; i < c->n_nodes; i++)
        if (name && !strcmp(c->nodes[i].name, name))
            return &c->nodes[i];
    return NULL;
}

/* Mark an address in use on the node that owns its network. */
static void mark_ip(struct controllers *c, const char *ip, bool used)
{
    uint32_t v = ip4(ip ? ip : "");
    for (int i = 0; i < c->n_nodes && v; i++)
        if ((v & 0xffffff00u) == c->nodes[i].pod_net)
            c->nodes[i].used_ip[v & 255] = used;
}

static json_t *node_object(const struct node_sim *n, const char *cidr, struct timespec now)
{
    char ts[UTIL_RFC3339_LEN];
    util_format_time(now.tv_sec, ts);
    struct utsname un;
    const char *kernel = uname(&un) == 0 ? un.release : "6.1.0";
    char machine_id[33];
    char uid[37], system_uuid[37];
    util_uuid_v4(uid);
    util_uuid_v4(system_uuid); /* dashed, as the DMI product_uuid cadvisor reports */
    for (int i = 0, k = 0; uid[i] && k < 32; i++)
        if (uid[i] != '-')
            machine_id[k++] = uid[i], machine_id[k] = '\0';
    json_t *conditions = json_array();
    const char *types[4][4] = {
        {"MemoryPressure", "False", "KubeletHasSufficientMemory",
         "kubelet has sufficient memory available"},
        {"DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"},
        {"PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"},
        {"Ready", "True", "KubeletReady", "kubelet is posting ready status"},
    };
    for (int i = 0; i < 4; i++)
        json_array_append_new(conditions,
                              json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "type", types[i][0], "status",
                                        types[i][1], "lastHeartbeatTime", ts, "lastTransitionTime",
                                        ts, "reason", types[i][2], "message", types[i][3]));
    /* Stolen by the object below, after allocatable copies it. */
    json_t *capacity =
        json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "cpu", "2", "ephemeral-storage", "102400Mi",
                  "hugepages-1Gi", "0", "hugepages-2Mi", "0", "memory", "8148036Ki", "pods", "110");
    return json_pack(
        "{s:s,s:s,s:{s:s,s:{s:s,s:s,s:s,s:s,s:s},s:{s:s,s:s}},s:{s:s,s:[s]},"
        "s:{s:o,s:o,s:o,s:[{s:s,s:s},{s:s,s:s}],s:{s:{s:i}},s:{s:s,s:s,s:s,s:s,s:s,s:s,s:s,"
        "s:s,s:s,s:s}}}",
        "kind", "Node", "apiVersion", "v1", "metadata", "name", n->name, "labels",
        "beta.kubernetes.io/arch", "amd64", "beta.kubernetes.io/os", "linux", "kubernetes.io/arch",
        "amd64", "kubernetes.io/hostname", n->name, "kubernetes.io/os", "linux", "annotations",
        "node.alpha.kubernetes.io/ttl", "0",
        "volumes.kubernetes.io/controller-managed-attach-detach", "true", "spec", "podCIDR", cidr,
        "podCIDRs", cidr, "status", "capacity", capacity, "allocatable", json_deep_copy(capacity),
        "conditions", conditions, "addresses", "type", "InternalIP", "address", n->internal_ip,
        "type", "Hostname", "address", n->name, "daemonEndpoints", "kubeletEndpoint", "Port", 10250,
        "nodeInfo", "machineID", machine_id, "systemUUID", system_uuid, "bootID", uid,
        "kernelVersion", kernel, "osImage", "Debian GNU/Linux 12 (bookworm)",
        "containerRuntimeVersion", "containerd://1.7.24", "kubeletVersion", KUBELET_VERSION,
        "kubeProxyVersion", "", "operatingSystem", "linux", "architecture", "amd64");
}

/*
 * The node's Lease in kube-node-lease, which `kubectl describe node` shows and the node
 * lifecycle controller reads, as the kubelet's lease controller creates it (owned by the Node,
 * 40 seconds). It is not renewed every 10 seconds as a kubelet does: that would move the
 * store's resourceVersion all the time on a server whose clients count on it standing still.
 */
static void ensure_node_lease(struct controllers *c, const json_t *node, struct timespec now)
{
    const char *name = ju_meta_str(node, "name");
    struct store_obj *lease = ctl_get(c, c->res_leases, "kube-node-lease", name);
    if (lease) {
        store_obj_unref(lease);
        return;
    }
    char renew[UTIL_RFC3339_MICRO_LEN];
    util_format_time_micro(now, renew);
    json_t *obj =
        json_pack("{s:{s:s,s:s,s:[{s:s,s:s,s:s,s:s}]},s:{s:s,s:i,s:s}}", "metadata", "name", name,
                  "namespace", "kube-node-lease", "ownerReferences", "apiVersion", "v1", "kind",
                  "Node", "name", name, "uid", ju_meta_str(node, "uid") ?: "", "spec",
                  "holderIdentity", name, "leaseDurationSeconds", 40, "renewTime", renew);
    ctl_create(c, c->res_leases, obj, "kubelet", NULL);
}

int kubelet_parse_pod_cidr(const char *cidr, uint32_t *base, int *prefix)
{
    char buf[64];
    snprintf(buf, sizeof(buf), "%s", cidr);
    char *slash = strchr(buf, '/');
    if (!slash)
        return -1;
    *slash = '\0';
    char *end;
    long p = strtol(slash + 1, &end, 10);
    *base = ip4(buf);
    if (*end || !*base || p < 8 || p > 24)
        return -1;
    *prefix = (int)p;
    return 0;
}

void kubelet_start(struct controllers *c)
{
    uint32_t base = 0;
    int prefix = 16;
    kubelet_parse_pod_cidr(c->cfg.pod_cidr, &base, &prefix);
    uint32_t mask = prefix ? 0xffffffffu << (32 - prefix) : 0;
    base &= mask;
    c->n_nodes = c->cfg.nodes;
    c->nodes = xcalloc((size_t)c->n_nodes, sizeof(*c->nodes));
    struct timespec now = util_now();
    for (int i = 0; i < c->n_nodes; i++) {
        struct node_sim *n = &c->nodes[i];
        n->name = xasprintf("node-%d", i + 1);
        /* Addresses as kind's docker network hands them out. */
        n->internal_ip = xasprintf("172.18.0.%d", i + 2);
        n->pod_net = base + ((uint32_t)i << 8);
        char net[16];
        ip4_text(n->pod_net, net);
        char *cidr = xasprintf("%s/24", net);
        struct store_obj *node = ctl_get(c, c->res_nodes, NULL, n->name);
        if (!node)
            ctl_create(c, c->res_nodes, node_object(n, cidr, now), "kubelet", &node);
        if (node)
            ensure_node_lease(c, store_obj_json(node), now);
        store_obj_unref(node);
        free(cidr);
    }
    /* Addresses held by stored pods stay theirs. */
    size_t np;
    struct store_obj **pods = ctl_list(c, c->res_pods, NULL, &np);
    for (size_t i = 0; i < np; i++) {
        size_t k;
        json_t *e;
        json_array_foreach (ju_arr(ju_obj(store_obj_json(pods[i]), "status"), "podIPs"), k, e)
            mark_ip(c, ju_str(e, "ip"), true);
    }
    ctl_list_free(pods, np);
}

/*
 * When this kubelet started a pod's containers and first saw its deletion, on the monotonic
 * clock: the timestamps in the object have whole seconds only, which would make readiness and
 * graceful removal come up to a second early. Keyed by pod uid; lost on restart, when the
 * object's timestamps are the fallback.
 */
struct pod_clock {
    uint64_t started_us;  /* 0: not started by us */
    uint64_t deleting_us; /* 0: no deletion seen */
};

static struct pod_clock *pod_clock(struct controllers *c, const json_t *pod, bool create)
{
    const char *uid = ju_meta_str(pod, "uid");
    if (ju_empty(uid))
        return NULL;
    if (!c->pod_clocks)
        c->pod_clocks = skiplist_new();
    struct pod_clock *pc = skiplist_get(c->pod_clocks, uid);
    if (!pc && create) {
        pc = xcalloc(1, sizeof(*pc));
        skiplist_put(c->pod_clocks, uid, pc);
    }
    return pc;
}

void kubelet_free_clocks(struct controllers *c)
{
    if (!c->pod_clocks)
        return;
    for (struct skiplist_node *n = skiplist_seek(c->pod_clocks, "", 0); n; n = skiplist_next(n))
        free(skiplist_node_value(n));
    skiplist_free(c->pod_clocks);
    c->pod_clocks = NULL;
}

void kubelet_forget_pod(struct controllers *c, const json_t *pod)
{
    size_t k;
    json_t *e;
    json_array_foreach (ju_arr(ju_obj(pod, "status"), "podIPs"), k, e)
        mark_ip(c, ju_str(e, "ip"), false);
    const char *uid = ju_meta_str(pod, "uid");
    if (c->pod_clocks && !ju_empty(uid))
        free(skiplist_remove(c->pod_clocks, uid));
}

/* Seconds since a monotonic mark. */
static double since_us(uint64_t mark)
{
    return (double)(util_monotonic_us() - mark) / 1e6;
}

static bool alloc_ip(struct node_sim *n, char out[16])
{
    /* .0 is the network, .1 the node's bridge, .255 the broadcast. */
    for (int h = 2; h < 255; h++) {
        if (!n->used_ip[h]) {
            n->used_ip[h] = true;
            ip4_text(n->pod_net + (uint32_t)h, out);
            return true;
        }
    }
    return false;
}

static json_t *condition(const char *type, bool status, const char *ts, const char *reason,
                         const char *message)
{
    json_t *c = json_pack("{s:s,s:s,s:n,s:s}", "type", type, "status", status ? "True" : "False",
                          "lastProbeTime", "lastTransitionTime", ts);
    if (reason)
        json_object_set_new(c, "reason", json_string(reason));
    if (message)
        json_object_set_new(c, "message", json_string(message));
    return c;
}

/* "nginx" -> "docker.io/library/nginx:latest", as containerd reports image names. */
static char *full_image(const char *image)
{
    if (!image)
        return xstrdup("");
    const char *slash = strchr(image, '/');
    bool has_registry =
        slash && (memchr(image, '.', (size_t)(slash - image)) ||
                  memchr(image, ':', (size_t)(slash - image)) || !strncmp(image, "localhost/", 10));
    const char *last = strrchr(image, '/');
    bool has_tag = strchr(last ? last : image, ':') || strchr(image, '@');
    return xasprintf("%s%s%s%s", has_registry ? "" : "docker.io/",
                     has_registry || slash ? "" : "library/", image, has_tag ? "" : ":latest");
}

static void hex_of(const char *seed, char out[65])
{
    /* A stable 256-bit looking digest of seed (FNV-1a spread), good enough for IDs. */
    uint64_t h = 1469598103934665603ull;
    for (int part = 0; part < 4; part++) {
        for (const char *p = seed; *p; p++)
            h = (h ^ (unsigned char)*p) * 1099511628211ull;
        h = (h ^ (uint64_t)part) * 1099511628211ull;
        snprintf(out + part * 16, 17, "%016llx", (unsigned long long)h);
    }
}

static json_t *container_statuses(const json_t *containers, bool ready, const char *ts,
                                  const char *pod_uid)
{
    json_t *out = json_array();
    size_t i;
    json_t *ct;
    json_array_foreach (containers, i, ct) {
        const char *name = ju_str(ct, "name") ?: "";
        char *image = full_image(ju_str(ct, "image"));
        char digest[65], cid[65];
        hex_of(image, digest);
        char *seed = xasprintf("%s/%s", pod_uid, name);
        hex_of(seed, cid);
        free(seed);
        char *repo = xstrdup(image);
        char *colon = strrchr(repo, ':');
        if (colon && !strchr(colon, '/'))
            *colon = '\0';
        char *image_id = xasprintf("%s@sha256:%s", repo, digest);
        char *container_id = xasprintf("containerd://%s", cid);
        json_array_append_new(out, json_pack("{s:s,s:{s:{s:s}},s:{},s:b,s:i,s:s,s:s,s:s,s:b}",
                                             "name", name, "state", "running", "startedAt", ts,
                                             "lastState", "ready", ready, "restartCount", 0,
                                             "image", image, "imageID", image_id, "containerID",
                                             container_id, "started", 1));
        free(image);
        free(repo);
        free(image_id);
        free(container_id);
    }
    return out;
}

static double since(const char *timestamp)
{
    struct timespec t, now = util_now();
    if (util_parse_time(timestamp, &t))
        return 0;
    return (double)(now.tv_sec - t.tv_sec) + (double)(now.tv_nsec - t.tv_nsec) / 1e9;
}

/* The status of a running pod, ready or not yet. */
static json_t *running_status(const json_t *pod, const struct node_sim *n, const char *ip,
                              bool ready, const char *start, const char *now_ts)
{
    const json_t *spec = ju_obj(pod, "spec");
    json_t *st = json_deep_copy(ju_obj(pod, "status"));
    if (!st)
        st = json_object();
    json_t *names = json_array();
    size_t i;
    json_t *ct;
    json_array_foreach (ju_arr(spec, "containers"), i, ct)
        json_array_append_new(names, json_string(ju_str(ct, "name") ?: ""));
    char *not_ready = NULL;
    if (!ready) {
        char *list = ju_dumps(names, JSON_COMPACT);
        /* "[a b]" as Go prints a string slice. */
        for (char *p = list; *p; p++)
            if (*p == '"')
                memmove(p, p + 1, strlen(p)), p--;
            else if (*p == ',')
                *p = ' ';
        not_ready = xasprintf("containers with unready status: %s", list);
        free(list);
    }
    json_decref(names);
    json_object_set_new(st, "phase", json_string("Running"));
    json_t *conds = json_array();
    json_array_append_new(conds, condition("PodReadyToStartContainers", true, start, NULL, NULL));
    json_array_append_new(conds, condition("Initialized", true, start, NULL, NULL));
    json_array_append_new(conds, condition("Ready", ready, ready ? now_ts : start,
                                           ready ? NULL : "ContainersNotReady", not_ready));
    json_array_append_new(conds, condition("ContainersReady", ready, ready ? now_ts : start,
                                           ready ? NULL : "ContainersNotReady", not_ready));
    json_array_append_new(conds, condition("PodScheduled", true, start, NULL, NULL));
    free(not_ready);
    json_object_set_new(st, "conditions", conds);
    json_object_set_new(st, "hostIP", json_string(n->internal_ip));
    json_object_set_new(st, "hostIPs", json_pack("[{s:s}]", "ip", n->internal_ip));
    json_object_set_new(st, "podIP", json_string(ip));
    json_object_set_new(st, "podIPs", json_pack("[{s:s}]", "ip", ip));
    json_object_set_new(st, "startTime", json_string(start));
    json_object_set_new(st, "containerStatuses",
                        container_statuses(ju_arr(spec, "containers"), ready, start,
                                           ju_meta_str(pod, "uid") ?: ""));
    return st;
}

/* A stable, plausible size for an image we pretend to pull (50 to 150 MB). */
static unsigned long long image_size(const char *image)
{
    unsigned long long h = 1469598103934665603ull;
    for (const unsigned char *p = (const unsigned char *)image; *p; p++)
        h = (h ^ *p) * 1099511628211ull;
    return 50000000ull + h % 100000000ull;
}

/* Go's Duration.String for a whole number of milliseconds below a minute: "812ms", "1.2s". */
static void go_duration_ms(unsigned ms, char out[16])
{
    if (ms < 1000) {
        snprintf(out, 16, "%ums", ms);
        return;
    }
    char frac[4];
    snprintf(frac, sizeof(frac), "%03u", ms % 1000);
    for (int i = 2; i >= 0 && frac[i] == '0'; i--)
        frac[i] = '\0';
    snprintf(out, 16, "%u%s%ss", ms / 1000, frac[0] ? "." : "", frac);
}

/*
 * What a kubelet records when it starts a pod's containers. With imagePullPolicy Always (the
 * default for an untagged or :latest image) the kubelet pulls every time (image_manager.go
 * shouldPullImage): "Pulling", then "Successfully pulled ... in <d> (<d> including waiting).
 * Image size: <n> bytes."; otherwise the image is already there. Nothing is really pulled.
 */
static void container_events(struct controllers *c, const json_t *pod, const struct node_sim *n)
{
    size_t i;
    json_t *ct;
    json_array_foreach (ju_arr(ju_obj(pod, "spec"), "containers"), i, ct) {
        const char *cname = ju_str(ct, "name") ?: "";
        char *path = xasprintf("spec.containers{%s}", cname);
        const char *image = ju_str(ct, "image") ?: "";
        const char *policy = ju_str(ct, "imagePullPolicy");
        if (policy && !strcmp(policy, "Always")) {
            ctl_event_on(c, pod, path, "Normal", "Pulling", "kubelet", n->name,
                         "Pulling image \"%s\"", image);
            /* Go's Duration.String of a pull truncated to milliseconds. */
            unsigned long long size = image_size(image);
            char took[16];
            go_duration_ms(400 + (unsigned)(size % 1600), took);
            ctl_event_on(c, pod, path, "Normal", "Pulled", "kubelet", n->name,
                         "Successfully pulled image \"%s\" in %s (%s including waiting). "
                         "Image size: %llu bytes.",
                         image, took, took, size);
        } else {
            ctl_event_on(c, pod, path, "Normal", "Pulled", "kubelet", n->name,
                         "Container image \"%s\" already present on machine", image);
        }
        ctl_event_on(c, pod, path, "Normal", "Created", "kubelet", n->name, "Created container: %s",
                     cname);
        ctl_event_on(c, pod, path, "Normal", "Started", "kubelet", n->name, "Started container %s",
                     cname);
        free(path);
    }
}

static void write_status(struct controllers *c, const json_t *pod, json_t *status)
{
    json_t *obj = json_deep_copy(pod);
    json_object_set_new(obj, "status", status);
    if (!json_equal(obj, pod))
        ctl_update(c, c->res_pods, obj, "status", "kubelet", true);
    else
        json_decref(obj);
}

void kubelet_sync_pod(struct controllers *c, const char *ns, const char *name)
{
    struct store_obj *o = ctl_get(c, c->res_pods, ns, name);
    if (!o)
        return;
    const json_t *pod = store_obj_json(o);
    const json_t *spec = ju_obj(pod, "spec");
    const char *node_name = ju_str(spec, "nodeName");
    char now_ts[UTIL_RFC3339_LEN];
    util_format_time(util_now().tv_sec, now_ts);
    if (podutil_is_terminating(pod)) {
        /* The containers stop, then the kubelet removes the pod for good (grace 0). */
        long long grace = ju_int(ju_obj(pod, "metadata"), "deletionGracePeriodSeconds", 0);
        double stop = grace < STOP_SECONDS ? (double)grace : STOP_SECONDS;
        const char *deletion = ju_meta_str(pod, "deletionTimestamp");
        struct pod_clock *pc = pod_clock(c, pod, true);
        double waited;
        if (pc && !pc->deleting_us) {
            /* First sight of the deletion: it was requested moments ago. */
            pc->deleting_us = util_monotonic_us();
            waited = 0;
        } else if (pc) {
            waited = since_us(pc->deleting_us);
        } else {
            waited = since(deletion) + (double)grace; /* deletionTimestamp = request + grace */
        }
        if (grace == 0 || waited >= stop || !node_name)
            ctl_delete(c, c->res_pods, ns, name, NULL, 0);
        else
            ctl_enqueue_after(c, WORK_POD, ns, name, stop - waited + 0.01);
        store_obj_unref(o);
        return;
    }
    if (podutil_is_terminal(pod)) {
        store_obj_unref(o);
        return;
    }
    if (ju_empty(node_name)) {
        if (!c->n_nodes) {
            store_obj_unref(o);
            return;
        }
        /* The scheduler: bind round robin; PodScheduled turns True. */
        struct node_sim *n = &c->nodes[c->next_node++ % (unsigned)c->n_nodes];
        json_t *bound = json_deep_copy(pod);
        json_object_set_new(ju_ensure_obj(bound, "spec"), "nodeName", json_string(n->name));
        json_t *st = ju_ensure_obj(bound, "status");
        json_object_set_new(st, "conditions",
                            json_pack("[o]", condition("PodScheduled", true, now_ts, NULL, NULL)));
        if (!ctl_update(c, c->res_pods, bound, NULL, "default-scheduler", true))
            ctl_event(c, pod, "Normal", "Scheduled", "default-scheduler",
                      "Successfully assigned %s/%s to %s", ns, name, n->name);
        store_obj_unref(o);
        return;
    }
    struct node_sim *n = node_named(c, node_name);
    if (!n) {
        store_obj_unref(o);
        return; /* bound to a node we do not simulate: it stays Pending, as on a real cluster */
    }
    const json_t *status = ju_obj(pod, "status");
    const char *ip = ju_str(status, "podIP");
    const char *start = ju_str(status, "startTime");
    if (ju_empty(ip) || !start) {
        char fresh[16];
        if (!alloc_ip(n, fresh)) {
            store_obj_unref(o);
            return; /* the node's /24 is full: the pod waits, as on a full node */
        }
        bool ready = c->cfg.pod_ready_delay <= 0;
        struct pod_clock *pc = pod_clock(c, pod, true);
        if (pc)
            pc->started_us = util_monotonic_us();
        container_events(c, pod, n);
        write_status(c, pod, running_status(pod, n, fresh, ready, now_ts, now_ts));
        if (!ready)
            ctl_enqueue_after(c, WORK_POD, ns, name, c->cfg.pod_ready_delay);
        store_obj_unref(o);
        return;
    }
    if (!podutil_is_ready(pod)) {
        struct pod_clock *pc = pod_clock(c, pod, false);
        double age = pc && pc->started_us ? since_us(pc->started_us) : since(start);
        if (age + 1e-3 >= c->cfg.pod_ready_delay)
            write_status(c, pod, running_status(pod, n, ip, true, start, now_ts));
        else
            ctl_enqueue_after(c, WORK_POD, ns, name, c->cfg.pod_ready_delay - age);
    }
    store_obj_unref(o);
}
