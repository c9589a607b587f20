/*
 * test_api: the resource table of src/registry/api.c (include/svc/api.h) as compiled from
 * api/resources.yaml. Expected rows are kube-apiserver 1.33's discovery for the resources we
 * serve (kubectl-contract.md §2.2: short names and categories come only from here), and every
 * row must name schema definitions that exist and carry the same group/version/kind.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <string.h>

#include "svc/api.h"
#include "svc/schema.h"

#define ALL_VERBS                                                                                  \
    (API_VERB_GET | API_VERB_LIST | API_VERB_WATCH | API_VERB_CREATE | API_VERB_UPDATE |           \
     API_VERB_PATCH | API_VERB_DELETE | API_VERB_DELETECOLLECTION)

static const struct api *api(void)
{
    const struct api *a = api_builtin();
    cr_assert_not_null(a);
    return a;
}

/* The JSON array arr as "a,b,c". */
static void join(const json_t *arr, char *out, size_t n)
{
    out[0] = '\0';
    size_t i;
    json_t *v;
    json_array_foreach (arr, i, v) {
        if (i)
            strncat(out, ",", n - strlen(out) - 1);
        strncat(out, json_string_value(v) ? json_string_value(v) : "?", n - strlen(out) - 1);
    }
}

static const struct {
    const char *group, *plural, *singular, *kind, *short_names, *categories;
    bool namespaced;
    unsigned verbs;
    const char *subresources; /* "name:verbs;..." */
} expected[] = {
    {"", "endpoints", "endpoints", "Endpoints", "ep", "", true, ALL_VERBS, ""},
    {"", "events", "event", "Event", "ev", "", true, ALL_VERBS, ""},
    {"", "namespaces", "namespace", "Namespace", "ns", "", false,
     ALL_VERBS & ~API_VERB_DELETECOLLECTION, "finalize:update;status:get,patch,update"},
    {"", "nodes", "node", "Node", "no", "", false, ALL_VERBS, "status:get,patch,update"},
    {"", "pods", "pod", "Pod", "po", "all", true, ALL_VERBS, "status:get,patch,update"},
    {"", "services", "service", "Service", "svc", "all", true, ALL_VERBS,
     "status:get,patch,update"},
    {"apps", "replicasets", "replicaset", "ReplicaSet", "rs", "all", true, ALL_VERBS,
     "scale:get,patch,update;status:get,patch,update"},
    {"coordination.k8s.io", "leases", "lease", "Lease", "", "", true, ALL_VERBS, ""},
    {"discovery.k8s.io", "endpointslices", "endpointslice", "EndpointSlice", "", "", true,
     ALL_VERBS, ""},
};
#define N_EXPECTED (sizeof(expected) / sizeof(expected[0]))

Test(api, builtin_is_loaded_once)
{
    cr_expect_eq(api_builtin(), api_builtin());
    cr_expect_not_null(api()->schema);
    cr_expect_not_null(api()->raw);
}

Test(api, group_versions_in_discovery_order)
{
    const struct api *a = api();
    cr_assert_eq(a->n_gvs, 4);
    cr_expect_str_eq(a->gvs[0].group, "");
    cr_expect_str_eq(a->gvs[0].version, "v1");
    cr_expect_str_eq(a->gvs[0].group_version, "v1");
    cr_expect_str_eq(a->gvs[1].group_version, "apps/v1");
    cr_expect_str_eq(a->gvs[2].group_version, "coordination.k8s.io/v1");
    cr_expect_str_eq(a->gvs[3].group_version, "discovery.k8s.io/v1");
    cr_expect_eq(api_find_group_version(a, "apps", "v1"), &a->gvs[1]);
    cr_expect_null(api_find_group_version(a, "apps", "v1beta1"));
    cr_expect_null(api_find_group_version(a, "batch", "v1"));
}

Test(api, every_served_resource_is_as_upstream_lists_it)
{
    const struct api *a = api();
    size_t total = 0;
    for (size_t g = 0; g < a->n_gvs; g++)
        total += a->gvs[g].n_resources;
    cr_expect_eq(total, N_EXPECTED, "no resource more, none less");
    for (size_t i = 0; i < N_EXPECTED; i++) {
        const struct api_resource *r =
            api_find_resource(a, expected[i].group, "v1", expected[i].plural);
        cr_assert_not_null(r, "%s", expected[i].plural);
        cr_expect_str_eq(r->singular, expected[i].singular, "%s", r->plural);
        cr_expect_str_eq(r->kind, expected[i].kind, "%s", r->plural);
        cr_expect_eq(r->namespaced, expected[i].namespaced, "%s", r->plural);
        cr_expect_eq(r->verbs, expected[i].verbs, "%s verbs %#x", r->plural, r->verbs);
        char buf[256];
        join(r->short_names, buf, sizeof(buf));
        cr_expect_str_eq(buf, expected[i].short_names, "%s short names", r->plural);
        join(r->categories, buf, sizeof(buf));
        cr_expect_str_eq(buf, expected[i].categories, "%s categories", r->plural);
        char subs[256] = "";
        for (size_t s = 0; s < r->n_subresources; s++) {
            char verbs[128];
            join(r->subresources[s].verbs_json, verbs, sizeof(verbs));
            if (s)
                strcat(subs, ";");
            strcat(subs, r->subresources[s].name);
            strcat(subs, ":");
            strcat(subs, verbs);
        }
        cr_expect_str_eq(subs, expected[i].subresources, "%s subresources", r->plural);
        cr_expect_eq(api_find_kind(a, expected[i].group, "v1", expected[i].kind), r);
    }
}

Test(api, verb_lists_are_sorted_and_match_their_bits)
{
    const struct api *a = api();
    for (size_t g = 0; g < a->n_gvs; g++) {
        for (size_t i = 0; i < a->gvs[g].n_resources; i++) {
            const struct api_resource *r = &a->gvs[g].resources[i];
            unsigned bits = 0;
            const char *prev = "";
            size_t k;
            json_t *v;
            json_array_foreach (r->verbs_json, k, v) {
                const char *name = json_string_value(v);
                cr_assert_not_null(name);
                cr_expect_gt(strcmp(name, prev), 0, "%s: %s after %s", r->plural, name, prev);
                cr_expect_neq(api_verb_bit(name), 0, "%s: unknown verb %s", r->plural, name);
                bits |= api_verb_bit(name);
                prev = name;
            }
            cr_expect_eq(bits, r->verbs, "%s", r->plural);
            for (size_t s = 0; s < r->n_subresources; s++) {
                unsigned sb = 0;
                json_array_foreach (r->subresources[s].verbs_json, k, v)
                    sb |= api_verb_bit(json_string_value(v));
                cr_expect_eq(sb, r->subresources[s].verbs, "%s/%s", r->plural,
                             r->subresources[s].name);
            }
        }
    }
}

Test(api, derived_names)
{
    const struct api *a = api();
    const struct api_resource *svc = api_find_resource(a, "", "v1", "services");
    const struct api_resource *rs = api_find_resource(a, "apps", "v1", "replicasets");
    const struct api_resource *eps =
        api_find_resource(a, "discovery.k8s.io", "v1", "endpointslices");
    cr_assert(svc && rs && eps);
    cr_expect_str_eq(svc->qualified, "services");
    cr_expect_str_eq(rs->qualified, "replicasets.apps");
    cr_expect_str_eq(eps->qualified, "endpointslices.discovery.k8s.io");
    cr_expect_str_eq(svc->group_version, "v1");
    cr_expect_str_eq(rs->group_version, "apps/v1");
    cr_expect_str_eq(svc->list_kind, "ServiceList");
    cr_expect_str_eq(rs->list_kind, "ReplicaSetList");
    cr_expect_str_eq(eps->list_kind, "EndpointSliceList");
    cr_expect_str_eq(svc->group, "");
    cr_expect_str_eq(svc->version, "v1");
}

Test(api, every_resource_has_its_schema_definitions)
{
    const struct api *a = api();
    for (size_t g = 0; g < a->n_gvs; g++) {
        for (size_t i = 0; i < a->gvs[g].n_resources; i++) {
            const struct api_resource *r = &a->gvs[g].resources[i];
            cr_assert_not_null(r->definition, "%s has no definition", r->plural);
            cr_assert_not_null(r->list_definition, "%s has no list definition", r->plural);
            const json_t *def = schema_definition(a->schema, r->definition);
            cr_assert_not_null(def, "%s: %s missing", r->plural, r->definition);
            json_t *gvk = json_object_get(def, "gvk");
            cr_expect_str_eq(json_string_value(json_object_get(gvk, "kind")), r->kind);
            cr_expect_str_eq(json_string_value(json_object_get(gvk, "group")), r->group);
            cr_expect_str_eq(json_string_value(json_object_get(gvk, "version")), r->version);
            /* The kind's own properties start with kind and apiVersion, then metadata. */
            json_t *props = json_object_get(def, "properties");
            cr_assert(json_is_object(props), "%s", r->definition);
            void *it = json_object_iter(props);
            cr_expect_str_eq(json_object_iter_key(it), "kind", "%s", r->definition);
            it = json_object_iter_next(props, it);
            cr_expect_str_eq(json_object_iter_key(it), "apiVersion", "%s", r->definition);
            it = json_object_iter_next(props, it);
            cr_expect_str_eq(json_object_iter_key(it), "metadata", "%s", r->definition);
            const json_t *ldef = schema_definition(a->schema, r->list_definition);
            cr_assert_not_null(ldef, "%s: %s missing", r->plural, r->list_definition);
            json_t *lprops = json_object_get(ldef, "properties");
            cr_expect_not_null(json_object_get(lprops, "items"), "%s", r->list_definition);
            cr_expect_not_null(json_object_get(lprops, "metadata"), "%s", r->list_definition);
        }
    }
    const struct api_resource *svc = api_find_resource(a, "", "v1", "services");
    cr_expect_str_eq(svc->definition, "io.k8s.api.core.v1.Service");
    cr_expect_str_eq(svc->list_definition, "io.k8s.api.core.v1.ServiceList");
}

Test(api, every_schema_reference_resolves)
{
    const struct api *a = api();
    json_t *defs = schema_definitions(a->schema);
    const char *name;
    json_t *def;
    json_object_foreach (defs, name, def) {
        const char *pname;
        json_t *prop;
        json_object_foreach (json_object_get(def, "properties"), pname, prop) {
            json_t *targets[] = {prop, json_object_get(prop, "items"),
                                 json_object_get(prop, "additionalProperties")};
            for (size_t t = 0; t < 3; t++) {
                const char *ref = json_string_value(json_object_get(targets[t], "$ref"));
                if (ref)
                    cr_expect_not_null(schema_definition(a->schema, ref), "%s.%s -> %s", name,
                                       pname, ref);
            }
        }
    }
}

Test(api, lookups_of_unknown_things_are_null)
{
    const struct api *a = api();
    cr_expect_null(api_find_resource(a, "", "v1", "deployments"));
    cr_expect_null(api_find_resource(a, "apps", "v1", "services"), "services are core only");
    cr_expect_null(api_find_resource(a, "", "v2", "services"));
    cr_expect_null(api_find_kind(a, "", "v1", "Deployment"));
    const struct api_resource *svc = api_find_resource(a, "", "v1", "services");
    cr_expect_not_null(api_find_subresource(svc, "status"));
    cr_expect_null(api_find_subresource(svc, "proxy"), "services/proxy is not served");
    cr_expect_null(api_find_subresource(svc, "scale"));
}

Test(api, verb_names)
{
    cr_expect_eq(api_verb_bit("get"), API_VERB_GET);
    cr_expect_eq(api_verb_bit("list"), API_VERB_LIST);
    cr_expect_eq(api_verb_bit("watch"), API_VERB_WATCH);
    cr_expect_eq(api_verb_bit("create"), API_VERB_CREATE);
    cr_expect_eq(api_verb_bit("update"), API_VERB_UPDATE);
    cr_expect_eq(api_verb_bit("patch"), API_VERB_PATCH);
    cr_expect_eq(api_verb_bit("delete"), API_VERB_DELETE);
    cr_expect_eq(api_verb_bit("deletecollection"), API_VERB_DELETECOLLECTION);
    cr_expect_eq(api_verb_bit("proxy"), 0);
    cr_expect_eq(api_verb_bit("GET"), 0);
    cr_expect_eq(api_verb_bit(""), 0);
}

/* ---- api_new on hand-written tables ---------------------------------------------------------- */

static const char small_defs[] =
    "{\"io.example.v1.Widget\":{\"gvk\":{\"group\":\"example.com\",\"version\":\"v1\",\"kind\":"
    "\"Widget\"},\"properties\":{\"kind\":{\"type\":\"string\"},\"apiVersion\":{\"type\":"
    "\"string\"}}},\"io.example.v1.WidgetList\":{\"gvk\":{\"group\":\"example.com\",\"version\":"
    "\"v1\",\"kind\":\"WidgetList\"},\"properties\":{\"items\":{\"type\":\"array\"}}}}";

Test(api, new_from_a_small_table)
{
    char msg[256] = "";
    struct api *a = api_new("{\"groups\":[{\"group\":\"example.com\",\"version\":\"v1\","
                            "\"resources\":[{\"plural\":\"widgets\",\"kind\":\"Widget\","
                            "\"namespaced\":true,\"verbs\":[\"get\",\"list\"],"
                            "\"subresources\":[{\"name\":\"status\",\"verbs\":[\"get\"]}]}]}]}",
                            small_defs, msg, sizeof(msg));
    cr_assert_not_null(a, "%s", msg);
    const struct api_resource *r = api_find_resource(a, "example.com", "v1", "widgets");
    cr_assert_not_null(r);
    cr_expect_str_eq(r->singular, "", "an absent singular is empty");
    cr_expect_eq(json_array_size(r->short_names), 0, "absent short names are an empty list");
    cr_expect_eq(json_array_size(r->categories), 0);
    cr_expect_eq(r->verbs, API_VERB_GET | API_VERB_LIST);
    cr_expect_str_eq(r->qualified, "widgets.example.com");
    cr_expect_str_eq(r->group_version, "example.com/v1");
    cr_expect_str_eq(r->definition, "io.example.v1.Widget");
    cr_expect_str_eq(r->list_definition, "io.example.v1.WidgetList");
    cr_expect_eq(r->n_subresources, 1);
    cr_expect_eq(r->subresources[0].verbs, API_VERB_GET);
    api_free(a);
    api_free(NULL);
}

Test(api, new_reports_broken_tables)
{
    char msg[256];
    msg[0] = '\0';
    cr_expect_null(api_new("{not json", small_defs, msg, sizeof(msg)));
    cr_expect_neq(msg[0], '\0', "a message says why");
    msg[0] = '\0';
    cr_expect_null(api_new("{\"groups\":[]}", "[oops", msg, sizeof(msg)));
    cr_expect_neq(msg[0], '\0');
    msg[0] = '\0';
    cr_expect_null(api_new("{\"groups\":[{\"version\":\"v1\",\"resources\":[]}]}", small_defs, msg,
                           sizeof(msg)),
                   "a group without a group name");
    cr_expect_neq(msg[0], '\0');
    msg[0] = '\0';
    cr_expect_null(api_new("{\"groups\":[{\"group\":\"\",\"version\":\"v1\",\"resources\":["
                           "{\"plural\":\"x\",\"verbs\":[]}]}]}",
                           small_defs, msg, sizeof(msg)),
                   "a resource without kind");
    cr_expect_neq(msg[0], '\0');
    msg[0] = '\0';
    cr_expect_null(api_new("{\"groups\":[{\"group\":\"\",\"version\":\"v1\",\"resources\":["
                           "{\"plural\":\"x\",\"kind\":\"X\"}]}]}",
                           small_defs, msg, sizeof(msg)),
                   "a resource without verbs");
    cr_expect_neq(msg[0], '\0');
    msg[0] = '\0';
    cr_expect_null(
        api_new("{\"groups\":[{\"group\":\"\",\"version\":\"v1\",\"resources\":["
                "{\"plural\":\"x\",\"kind\":\"X\",\"verbs\":[],\"subresources\":[{}]}]}]}",
                small_defs, msg, sizeof(msg)),
        "a subresource without a name");
    cr_expect_neq(msg[0], '\0');
}
