/*
 * Unit tests for the workload strategies (registry/pod.c, replicaset.c, node.c, event.c,
 * endpointslice.c) and validate/workloads.c, driven through registry_create, registry_update,
 * registry_delete and registry_list on an in-memory store with the built-in API table.
 *
 * Most cases are data under tests/data/workloads/: each case is a list of steps (create, update
 * by merge patch or by full body, status update, delete, get, list) with the expected code and a
 * subset of the expected object or Status. In expected JSON, {"$regex": "..."} matches a string
 * by POSIX extended regex, {"$absent": true} requires the member to be missing, "$any" matches
 * anything; objects match when every expected member matches, arrays when they have the same
 * length and every item matches. Expected values are kube-apiserver 1.33's, never this code's.
 * quantities.json holds resource.Quantity texts and their canonical forms.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "svc/api.h"
#include "svc/field_error.h"
#include "svc/apierr.h"
#include "svc/registry.h"
#include "svc/store.h"
#include "svc/validate_workloads.h"

#ifndef TEST_DATA_DIR
#define TEST_DATA_DIR "tests/data"
#endif

static json_t *load(const char *name)
{
    char path[512];
    json_error_t err;
    snprintf(path, sizeof(path), "%s/workloads/%s", TEST_DATA_DIR, name);
    json_t *root = json_load_file(path, 0, &err);
    cr_assert_not_null(root, "cannot load %s: %s (line %d)", path, err.text, err.line);
    return root;
}

/* ---- matching -------------------------------------------------------------------------------- */

static bool matches(const json_t *want, const json_t *got, char *where, size_t cap);

static bool match_at(const json_t *want, const json_t *got, char *where, size_t cap,
                     const char *step)
{
    size_t len = strlen(where);
    snprintf(where + len, cap - len, "%s", step);
    bool ok = matches(want, got, where, cap);
    if (ok)
        where[len] = 0;
    return ok;
}

static bool matches(const json_t *want, const json_t *got, char *where, size_t cap)
{
    if (json_is_string(want) && !strcmp(json_string_value(want), "$any"))
        return got != NULL;
    if (json_is_object(want) && json_object_get(want, "$regex")) {
        if (!json_is_string(got))
            return false;
        regex_t re;
        const char *pattern = json_string_value(json_object_get(want, "$regex"));
        cr_assert_eq(regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB), 0, "bad regex %s", pattern);
        bool ok = !regexec(&re, json_string_value(got), 0, NULL, 0);
        regfree(&re);
        return ok;
    }
    if (json_is_object(want)) {
        if (!json_is_object(got))
            return false;
        const char *key;
        json_t *v;
        json_object_foreach ((json_t *)want, key, v) {
            json_t *g = json_object_get(got, key);
            if (json_is_object(v) && json_is_true(json_object_get(v, "$absent"))) {
                if (g) {
                    size_t len = strlen(where);
                    snprintf(where + len, cap - len, ".%s (present)", key);
                    return false;
                }
                continue;
            }
            char step[256];
            snprintf(step, sizeof(step), ".%s", key);
            if (!g || !match_at(v, g, where, cap, step)) {
                if (!g) {
                    size_t len = strlen(where);
                    snprintf(where + len, cap - len, ".%s (missing)", key);
                }
                return false;
            }
        }
        return true;
    }
    if (json_is_array(want)) {
        if (!json_is_array(got) || json_array_size(got) != json_array_size(want))
            return false;
        for (size_t i = 0; i < json_array_size(want); i++) {
            char step[32];
            snprintf(step, sizeof(step), "[%zu]", i);
            if (!match_at(json_array_get(want, i), json_array_get(got, i), where, cap, step))
                return false;
        }
        return true;
    }
    return got && json_equal((json_t *)want, (json_t *)got);
}

static void assert_matches(const json_t *want, const json_t *got, const char *what)
{
    char where[1024] = "";
    if (!matches(want, got, where, sizeof(where))) {
        char *w = json_dumps(want, JSON_INDENT(1) | JSON_ENCODE_ANY);
        char *g = got ? json_dumps(got, JSON_INDENT(1) | JSON_ENCODE_ANY) : strdup("(null)");
        cr_assert_fail("%s: mismatch at %s\nwant: %s\ngot: %s", what, where[0] ? where : "(root)",
                       w, g);
    }
}

/* ---- a registry on an in-memory store -------------------------------------------------------- */

struct fixture {
    struct store *store;
    struct registry *reg;
};

static void fixture_init(struct fixture *f)
{
    struct store_config sc = {.event_log_size = 4096};
    struct registry_config rc = {.service_cluster_ip_range = "10.96.0.0/12",
                                 .service_node_port_range = "30000-32767",
                                 .advertise_address = "192.168.0.10",
                                 .secure_port = 6443};
    struct apierr err;
    apierr_init(&err);
    f->store = store_new(&sc);
    f->reg = registry_new(f->store, api_builtin(), &rc, &err);
    cr_assert_not_null(f->reg, "registry_new: %s", err.message ? err.message : "");
    cr_assert_eq(registry_bootstrap(f->reg, &err), 0, "bootstrap: %s",
                 err.message ? err.message : "");
    apierr_release(&err);
}

static void fixture_release(struct fixture *f)
{
    registry_free(f->reg);
    store_free(f->store);
}

static const struct api_resource *resource(const char *group, const char *plural)
{
    const struct api_resource *res = api_find_resource(api_builtin(), group, "v1", plural);
    cr_assert_not_null(res, "no resource %s/%s", group, plural);
    return res;
}

/* RFC 7386 merge patch (bounded by the test data's depth). */
static json_t *merge(const json_t *target, const json_t *patch, int depth)
{
    cr_assert_lt(depth, 64);
    if (!json_is_object(patch))
        return json_deep_copy(patch);
    json_t *out = json_is_object(target) ? json_deep_copy(target) : json_object();
    const char *key;
    json_t *v;
    json_object_foreach ((json_t *)patch, key, v) {
        if (json_is_null(v))
            json_object_del(out, key);
        else
            json_object_set_new(out, key, merge(json_object_get(out, key), v, depth + 1));
    }
    return out;
}

/* Set (or, for null, remove) the member a JSON pointer names; an array index equal to the
   length appends. Missing objects on the way are created. */
static void set_pointer(json_t *root, const char *ptr, json_t *value)
{
    char *copy = strdup(ptr), *save = NULL;
    json_t *cur = root;
    char *seg = strtok_r(copy, "/", &save);
    while (seg) {
        char *next = strtok_r(NULL, "/", &save);
        if (json_is_array(cur)) {
            size_t i = strtoul(seg, NULL, 10);
            if (!next) {
                if (json_is_null(value))
                    json_array_remove(cur, i);
                else if (i == json_array_size(cur))
                    json_array_append(cur, value);
                else
                    json_array_set(cur, i, value);
                break;
            }
            cur = json_array_get(cur, i);
        } else {
            cr_assert(json_is_object(cur), "pointer %s crosses a scalar", ptr);
            if (!next) {
                if (json_is_null(value))
                    json_object_del(cur, seg);
                else
                    json_object_set(cur, seg, value);
                break;
            }
            json_t *child = json_object_get(cur, seg);
            if (!child) {
                child = json_object();
                json_object_set_new(cur, seg, child);
            }
            cur = child;
        }
        seg = next;
    }
    free(copy);
}

struct update_ctx {
    const json_t *body;  /* a full object (PUT), or */
    const json_t *patch; /* a merge patch on the current object, or */
    const json_t *set;   /* {"/json/pointer": value} applied to the current object */
};

static int update_fn(void *ctx, const json_t *cur, json_t **out, struct apierr *err)
{
    struct update_ctx *u = ctx;
    if (u->body) {
        *out = json_deep_copy(u->body);
        return 0;
    }
    if (!cur)
        return apierr_simple(err, APIERR_NOT_FOUND, "not found");
    if (u->set) {
        *out = json_deep_copy(cur);
        const char *ptr;
        json_t *v;
        json_object_foreach ((json_t *)u->set, ptr, v) {
            json_t *copy = json_deep_copy(v);
            set_pointer(*out, ptr, copy);
            json_decref(copy);
        }
        return 0;
    }
    *out = merge(cur, u->patch, 0);
    return 0;
}

/* The outcome of one call as a JSON document: {"code", "object" | "status", "warnings"}. */
static json_t *outcome(int rc, struct reg_result *res, struct apierr *err, json_t *warnings)
{
    json_t *o = json_object();
    if (rc) {
        json_object_set_new(o, "code", json_integer(apierr_http_code(err)));
        json_object_set_new(o, "status", apierr_to_status(err));
    } else {
        json_object_set_new(o, "code", json_integer(res->code));
        if (res->obj)
            json_object_set(o, "object", store_obj_json(res->obj));
        if (res->answer)
            json_object_set(o, "status", res->answer);
        json_object_set_new(o, "unchanged", json_boolean(res->unchanged));
    }
    json_object_set(o, "warnings", warnings);
    return o;
}

/* Run one step of a case; returns the outcome (new reference). */
static json_t *run_step(struct fixture *f, const json_t *c, const json_t *step)
{
    const char *group = json_string_value(json_object_get(step, "group"));
    const char *plural = json_string_value(json_object_get(step, "resource"));
    if (!plural) {
        group = json_string_value(json_object_get(c, "group"));
        plural = json_string_value(json_object_get(c, "resource"));
    }
    const struct api_resource *res = resource(group ? group : "", plural);
    const char *op = json_string_value(json_object_get(step, "op"));
    const char *ns = json_string_value(json_object_get(step, "namespace"));
    if (!ns && res->namespaced)
        ns = "default";
    const json_t *obj = json_object_get(step, "object");
    const char *name = json_string_value(json_object_get(step, "name"));
    if (!name && obj)
        name = json_string_value(json_object_get(json_object_get(obj, "metadata"), "name"));
    json_t *warnings = json_array();
    struct reg_req req = {.res = res,
                          .ns = ns,
                          .name = name,
                          .subresource = json_string_value(json_object_get(step, "subresource")),
                          .dry_run = json_is_true(json_object_get(step, "dryRun")),
                          .system = json_is_true(json_object_get(step, "system")),
                          .user_agent = "test",
                          .warnings = warnings};
    struct reg_result result;
    memset(&result, 0, sizeof(result));
    struct apierr err;
    apierr_init(&err);
    int rc;
    json_t *o;
    if (!strcmp(op, "create")) {
        req.name = NULL;
        rc = registry_create(f->reg, &req, json_deep_copy(obj), &result, &err);
    } else if (!strcmp(op, "update")) {
        struct update_ctx u = {.body = obj,
                               .patch = json_object_get(step, "patch"),
                               .set = json_object_get(step, "set")};
        rc = registry_update(f->reg, &req, update_fn, &u, &result, &err);
    } else if (!strcmp(op, "delete")) {
        rc = registry_delete(f->reg, &req, json_object_get(step, "options"), &result, &err);
    } else if (!strcmp(op, "get")) {
        rc = registry_get(f->reg, &req, &result, &err);
    } else if (!strcmp(op, "list")) {
        struct reg_list_opts lo = {
            .field_selector = json_string_value(json_object_get(step, "fieldSelector")),
            .label_selector = json_string_value(json_object_get(step, "labelSelector"))};
        struct reg_list list;
        memset(&list, 0, sizeof(list));
        req.name = NULL;
        rc = registry_list(f->reg, &req, &lo, &list, &err);
        if (rc) {
            o = outcome(rc, &result, &err, warnings);
        } else {
            o = json_object();
            json_t *names = json_array();
            for (size_t i = 0; i < list.n; i++)
                json_array_append_new(
                    names,
                    json_string(json_string_value(json_object_get(
                        json_object_get(store_obj_json(list.items[i]), "metadata"), "name"))));
            json_object_set_new(o, "code", json_integer(200));
            json_object_set_new(o, "names", names);
            reg_list_release(&list);
        }
        apierr_release(&err);
        json_decref(warnings);
        return o;
    } else {
        cr_assert_fail("unknown op %s", op);
        return NULL;
    }
    o = outcome(rc, &result, &err, warnings);
    if (!rc)
        reg_result_release(&result);
    apierr_release(&err);
    json_decref(warnings);
    return o;
}

static void run_file(const char *file)
{
    json_t *root = load(file);
    size_t i;
    json_t *c;
    json_array_foreach (json_object_get(root, "cases"), i, c) {
        struct fixture f;
        fixture_init(&f);
        const char *name = json_string_value(json_object_get(c, "name"));
        size_t s;
        json_t *step;
        json_array_foreach (json_object_get(c, "steps"), s, step) {
            json_t *o = run_step(&f, c, step);
            char what[512];
            snprintf(what, sizeof(what), "%s: %s, step %zu (%s)", file, name, s,
                     json_string_value(json_object_get(step, "op")));
            json_t *expect = json_object_get(step, "expect");
            if (expect)
                assert_matches(expect, o, what);
            json_decref(o);
        }
        fixture_release(&f);
    }
    json_decref(root);
}

/* ---- data-driven suites ---------------------------------------------------------------------- */

Test(workloads, pods_as_kube_apiserver_stores_and_rejects_them)
{
    run_file("pods.json");
}

Test(workloads, pod_updates_status_and_immutability)
{
    run_file("pod_updates.json");
}

Test(workloads, graceful_pod_deletion)
{
    run_file("pod_delete.json");
}

Test(workloads, replicasets)
{
    run_file("replicasets.json");
}

Test(workloads, nodes)
{
    run_file("nodes.json");
}

Test(workloads, events)
{
    run_file("events.json");
}

Test(workloads, endpointslices)
{
    run_file("endpointslices.json");
}

Test(workloads, field_selectors)
{
    run_file("selectors.json");
}

Test(workloads, quantities_parse_and_print_as_resource_quantity)
{
    json_t *root = load("quantities.json");
    size_t i;
    json_t *c;
    json_array_foreach (json_object_get(root, "cases"), i, c) {
        const char *in = json_string_value(json_object_get(c, "in"));
        const char *want = json_string_value(json_object_get(c, "out"));
        const char *want_err = json_string_value(json_object_get(c, "error"));
        char out[VALIDATE_QUANTITY_STRLEN];
        const char *err = NULL;
        int rc = validate_quantity_normalize(in, out, &err);
        if (want_err) {
            cr_expect_eq(rc, -1, "%s: expected an error", in);
            cr_expect_str_eq(err ? err : "", want_err, "%s", in);
        } else {
            cr_expect_eq(rc, 0, "%s: %s", in, err ? err : "");
            if (!rc)
                cr_expect_str_eq(out, want, "%s", in);
        }
    }
    json_decref(root);
}

/* ---- behaviour that tables express badly ----------------------------------------------------- */

/* The stored pod spec lists its members in PodSpec's Go order, as kubectl get -o json shows. */
Test(workloads, stored_pod_spec_keeps_go_field_order)
{
    struct fixture f;
    fixture_init(&f);
    json_t *pod = json_pack("{s:{s:s},s:{s:[{s:s,s:s}]}}", "metadata", "name", "order", "spec",
                            "containers", "name", "c", "image", "busybox");
    struct reg_req req = {.res = resource("", "pods"), .ns = "default"};
    struct reg_result res;
    struct apierr err;
    apierr_init(&err);
    cr_assert_eq(registry_create(f.reg, &req, pod, &res, &err), 0, "%s",
                 err.message ? err.message : "");
    static const char *const order[] = {
        "volumes",         "containers",         "restartPolicy",  "terminationGracePeriodSeconds",
        "dnsPolicy",       "serviceAccountName", "serviceAccount", "securityContext",
        "schedulerName",   "tolerations",        "priority",       "enableServiceLinks",
        "preemptionPolicy"};
    json_t *spec = json_object_get(store_obj_json(res.obj), "spec");
    size_t i = 0;
    const char *key;
    json_t *v;
    json_object_foreach (spec, key, v) {
        cr_assert_lt(i, sizeof(order) / sizeof(order[0]), "unexpected member %s", key);
        cr_expect_str_eq(key, order[i], "member %zu", i);
        i++;
    }
    cr_expect_eq(i, sizeof(order) / sizeof(order[0]));
    reg_result_release(&res);
    apierr_release(&err);
    fixture_release(&f);
}

/* Every container mounts the same generated token volume, named kube-api-access-<5 chars>. */
Test(workloads, service_account_token_volume_is_shared_by_all_containers)
{
    struct fixture f;
    fixture_init(&f);
    json_t *pod =
        json_pack("{s:{s:s},s:{s:[{s:s,s:s}],s:[{s:s,s:s},{s:s,s:s}]}}", "metadata", "name", "two",
                  "spec", "initContainers", "name", "init", "image", "busybox", "containers",
                  "name", "a", "image", "nginx", "name", "b", "image", "redis");
    struct reg_req req = {.res = resource("", "pods"), .ns = "default"};
    struct reg_result res;
    struct apierr err;
    apierr_init(&err);
    cr_assert_eq(registry_create(f.reg, &req, pod, &res, &err), 0);
    json_t *spec = json_object_get(store_obj_json(res.obj), "spec");
    json_t *vols = json_object_get(spec, "volumes");
    cr_assert_eq(json_array_size(vols), 1);
    const char *vol = json_string_value(json_object_get(json_array_get(vols, 0), "name"));
    cr_assert_eq(strlen(vol), strlen("kube-api-access-") + 5);
    cr_assert_eq(strncmp(vol, "kube-api-access-", 16), 0);
    static const char *const lists[] = {"initContainers", "containers"};
    for (size_t l = 0; l < 2; l++) {
        json_t *c;
        size_t i;
        json_array_foreach (json_object_get(spec, lists[l]), i, c) {
            json_t *m = json_array_get(json_object_get(c, "volumeMounts"), 0);
            cr_expect_str_eq(json_string_value(json_object_get(m, "name")), vol);
        }
    }
    reg_result_release(&res);
    apierr_release(&err);
    fixture_release(&f);
}

/* A pod deleted gracefully is seen as MODIFIED (deletion fields), then gone after grace 0. */
Test(workloads, kubelet_finishes_graceful_deletion_with_grace_zero)
{
    struct fixture f;
    fixture_init(&f);
    json_t *pod = json_pack("{s:{s:s},s:{s:s,s:[{s:s,s:s}]}}", "metadata", "name", "g", "spec",
                            "nodeName", "node-1", "containers", "name", "c", "image", "busybox");
    struct reg_req req = {.res = resource("", "pods"), .ns = "default", .name = "g"};
    struct reg_result res;
    struct apierr err;
    apierr_init(&err);
    cr_assert_eq(registry_create(f.reg, &req, pod, &res, &err), 0);
    reg_result_release(&res);
    uint64_t before = store_revision(f.store);
    json_t *opts = json_object();
    cr_assert_eq(registry_delete(f.reg, &req, opts, &res, &err), 0);
    cr_assert_not_null(
        json_object_get(json_object_get(store_obj_json(res.obj), "metadata"), "deletionTimestamp"));
    reg_result_release(&res);
    cr_assert_eq(store_revision(f.store), before + 1, "one write marks the pod");
    json_object_set_new(opts, "gracePeriodSeconds", json_integer(0));
    json_object_set_new(opts, "preconditions", json_pack("{s:s}", "uid", "not-the-uid"));
    cr_assert_eq(registry_delete(f.reg, &req, opts, &res, &err), -1, "uid precondition");
    cr_expect_eq(apierr_http_code(&err), 409);
    json_object_del(opts, "preconditions");
    cr_assert_eq(registry_delete(f.reg, &req, opts, &res, &err), 0);
    reg_result_release(&res);
    cr_expect_eq(store_revision(f.store), before + 3, "marking write, then the delete");
    struct store_event ev[4];
    long n = store_events_since(f.store, before + 1, ev, 4);
    cr_assert_eq(n, 2);
    cr_expect_eq(ev[0].type, STORE_MODIFIED);
    cr_expect_eq(
        json_integer_value(json_object_get(json_object_get(store_obj_json(ev[0].obj), "metadata"),
                                           "deletionGracePeriodSeconds")),
        0);
    cr_expect_eq(ev[1].type, STORE_DELETED);
    for (long i = 0; i < n; i++)
        store_event_release(&ev[i]);
    cr_expect_eq(registry_get(f.reg, &req, &res, &err), -1);
    json_decref(opts);
    apierr_release(&err);
    fixture_release(&f);
}

/* QoS classes straight from a PodSpec, including init containers. */
Test(workloads, qos_class_of_pod_specs)
{
    json_t *cases = load("qos.json");
    size_t i;
    json_t *c;
    json_array_foreach (json_object_get(cases, "cases"), i, c) {
        json_t *spec = json_deep_copy(json_object_get(c, "spec"));
        validate_default_pod_spec(spec, true);
        cr_expect_str_eq(validate_pod_qos_class(spec), json_string_value(json_object_get(c, "qos")),
                         "%s", json_string_value(json_object_get(c, "name")));
        json_decref(spec);
    }
    json_decref(cases);
}

/* Values of the wrong JSON type (which the decoder refuses before a strategy runs) still never
   crash the defaulting or the validators: they count as absent. */
Test(workloads, odd_types_never_crash)
{
    static const char *const docs[] = {
        "{}",
        "{\"metadata\":[],\"spec\":[],\"status\":\"x\"}",
        "{\"spec\":{\"containers\":\"x\",\"volumes\":{},\"initContainers\":[1,null,\"a\"]}}",
        "{\"spec\":{\"containers\":[null,1,[],{\"name\":1,\"image\":[],\"ports\":[1,{"
        "\"containerPort\":"
        "\"80\",\"protocol\":7}],\"env\":[{\"valueFrom\":[]},{\"name\":\"A\",\"valueFrom\":{"
        "\"fieldRef\":"
        "{}}}],\"resources\":{\"limits\":[],\"requests\":{\"cpu\":true,\"memory\":1.5}},"
        "\"livenessProbe\":{\"httpGet\":{\"port\":[]},\"exec\":{}},\"volumeMounts\":[{}]}]}}",
        "{\"spec\":{\"tolerations\":[1,{\"key\":[],\"operator\":{}}],\"schedulingGates\":[{"
        "\"name\":2}],"
        "\"dnsPolicy\":\"None\",\"dnsConfig\":{\"nameservers\":[1,\"::1\"],\"searches\":[{}],"
        "\"options\":[1]},"
        "\"hostAliases\":[{\"hostnames\":[1]}],\"securityContext\":{\"supplementalGroups\":[\"x\",-"
        "1]}}}",
        "{\"spec\":{\"selector\":[],\"template\":{\"metadata\":{\"labels\":[]},\"spec\":7}}}",
        "{\"spec\":{\"selector\":{\"matchLabels\":{\"a\":1},\"matchExpressions\":[1,{\"values\":{}}"
        "]},"
        "\"template\":{\"metadata\":{\"labels\":{\"a\":\"b\"}}}}}",
        "{\"spec\":{\"taints\":[1,{\"key\":1}],\"podCIDRs\":[1,\"x\",\"10.0.0.0/8\"]},\"status\":"
        "{\"capacity\":{\"cpu\":[]},\"addresses\":[1,{}]}}",
        "{\"involvedObject\":[],\"eventTime\":5,\"reportingComponent\":{}}",
        "{\"status\":{\"conditions\":[1,{\"type\":[]}],\"podIPs\":[1,{\"ip\":3},{}],\"hostIPs\":{},"
        "\"containerStatuses\":[{\"state\":[]},1]}}",
    };
    for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
        json_t *obj = json_loads(docs[i], 0, NULL);
        cr_assert_not_null(obj, "doc %zu", i);
        json_t *spec = json_object_get(obj, "spec");
        validate_default_pod_spec(spec, true);
        validate_default_pod_spec(spec, false);
        (void)validate_pod_qos_class(spec);
        const char *msg = NULL;
        (void)validate_pod_spec_bad_quantity(spec, &msg);
        (void)validate_node_bad_quantity(obj, &msg);
        struct field_errors errs;
        fe_init(&errs);
        validate_pod(&errs, obj);
        validate_pod_update(&errs, obj, obj);
        validate_pod_status_update(&errs, obj, obj);
        validate_replicaset(&errs, obj);
        validate_replicaset_update(&errs, obj, obj);
        validate_replicaset_status_update(&errs, obj, obj);
        validate_node(&errs, obj);
        validate_node_update(&errs, obj, obj);
        validate_event(&errs, obj);
        validate_event_update(&errs, obj, obj);
        cr_expect_gt(errs.len, 0, "doc %zu: the junk is reported", i);
        fe_release(&errs);
        json_decref(obj);
    }
}

/* A long list costs linear time: 20,000 duplicate tolerations and addresses are checked at
   once, not in quadratic time (the test would time out). */
Test(workloads, long_lists_are_checked_in_linear_time, .timeout = 20)
{
    json_t *tols = json_array(), *addrs = json_array();
    for (int i = 0; i < 20000; i++) {
        json_array_append_new(tols, json_pack("{s:s,s:s,s:s}", "key", "k", "operator", "Exists",
                                              "effect", "NoSchedule"));
        json_array_append_new(addrs,
                              json_pack("{s:s,s:s}", "type", "InternalIP", "address", "10.0.0.1"));
    }
    json_t *pod = json_pack("{s:{s:s,s:s,s:s},s:{s:[{s:s,s:s}],s:o}}", "metadata", "name", "p",
                            "namespace", "default", "resourceVersion", "1", "spec", "containers",
                            "name", "c", "image", "x", "tolerations", tols);
    validate_default_pod_spec(json_object_get(pod, "spec"), true);
    struct field_errors errs;
    fe_init(&errs);
    validate_pod_update(&errs, pod, pod);
    cr_expect_eq(errs.len, 0);
    json_t *node = json_pack("{s:{s:s,s:s},s:{s:o}}", "metadata", "name", "n", "resourceVersion",
                             "1", "status", "addresses", addrs);
    validate_node_update(&errs, node, node);
    /* One duplicate per repeated address, up to the bound a list keeps. */
    cr_expect_eq(errs.len, FE_MAX_ERRORS);
    cr_expect_str_eq(errs.items[0].field, "status.addresses[1]");
    fe_release(&errs);
    json_decref(pod);
    json_decref(node);
}
