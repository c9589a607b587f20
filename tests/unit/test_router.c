/*
 * test_router: paths to routes and request targets to decoded paths and parameters,
 * src/rest/router.c (include/svc/rest.h). The path grammar is kube-apiserver's (issue 2 and
 * apiserver's RequestInfoFactory): /api/v1 and /apis/{group}/{version}, an optional legacy
 * /watch/ segment, /namespaces/{ns}/{resource}[/{name}[/{subresource}]], cluster-wide
 * collections, namespaces' own subresources; query values are form-decoded (%XX and '+', as
 * kubectl sends them, kubectl-contract.md §1).
 */
#include <criterion/criterion.h>
#include <string.h>

#include "svc/api.h"
#include "svc/rest.h"

static struct route route(const char *path)
{
    struct route r;
    route_parse(api_builtin(), path, &r);
    return r;
}

static void expect_kind(const char *path, enum route_kind kind)
{
    struct route r = route(path);
    cr_expect_eq(r.kind, kind, "%s: kind %d, want %d", path, (int)r.kind, (int)kind);
    route_release(&r);
}

static bool str_eq(const char *a, const char *b)
{
    return (!a && !b) || (a && b && !strcmp(a, b));
}

/* A resource route with its parts (NULL for absent). */
static void expect_resource(const char *path, const char *group, const char *plural, const char *ns,
                            const char *name, const char *sub, bool watch)
{
    struct route r = route(path);
    cr_assert_eq(r.kind, ROUTE_RESOURCE, "%s is not a resource route (%d)", path, (int)r.kind);
    cr_assert_not_null(r.res, "%s", path);
    cr_expect_str_eq(r.res->group, group, "%s", path);
    cr_expect_str_eq(r.res->plural, plural, "%s", path);
    cr_expect_not_null(r.gv, "%s", path);
    cr_expect(str_eq(r.ns, ns), "%s: ns %s, want %s", path, r.ns ? r.ns : "(null)",
              ns ? ns : "(null)");
    cr_expect(str_eq(r.name, name), "%s: name %s, want %s", path, r.name ? r.name : "(null)",
              name ? name : "(null)");
    cr_expect(str_eq(r.subresource, sub), "%s: subresource %s, want %s", path,
              r.subresource ? r.subresource : "(null)", sub ? sub : "(null)");
    cr_expect_eq(r.watch_prefix, watch, "%s: watch", path);
    route_release(&r);
}

Test(router, fixed_endpoints)
{
    expect_kind("/version", ROUTE_VERSION);
    expect_kind("/metrics", ROUTE_METRICS);
    expect_kind("/openapi/v2", ROUTE_OPENAPI_V2);
    expect_kind("/swagger-2.0.0.pb-v1", ROUTE_OPENAPI_V2);
    expect_kind("/openapi/v3", ROUTE_OPENAPI_V3);
    struct route r = route("/healthz");
    cr_expect_eq(r.kind, ROUTE_HEALTH);
    cr_expect_str_eq(r.extra, "healthz");
    route_release(&r);
    r = route("/readyz");
    cr_expect_eq(r.kind, ROUTE_HEALTH);
    cr_expect_str_eq(r.extra, "readyz");
    route_release(&r);
    expect_kind("/livez", ROUTE_HEALTH);
    r = route("/openapi/v3/apis/apps/v1");
    cr_expect_eq(r.kind, ROUTE_OPENAPI_V3_GV);
    cr_expect_str_eq(r.extra, "apis/apps/v1");
    route_release(&r);
    r = route("/openapi/v3/api/v1");
    cr_expect_eq(r.kind, ROUTE_OPENAPI_V3_GV);
    cr_expect_str_eq(r.extra, "api/v1");
    route_release(&r);
}

Test(router, discovery_paths)
{
    expect_kind("/api", ROUTE_API);
    expect_kind("/apis", ROUTE_APIS);
    struct route r = route("/api/v1");
    cr_expect_eq(r.kind, ROUTE_GROUP_VERSION);
    cr_assert_not_null(r.gv);
    cr_expect_str_eq(r.gv->group_version, "v1");
    route_release(&r);
    r = route("/apis/apps");
    cr_expect_eq(r.kind, ROUTE_GROUP);
    cr_assert_not_null(r.gv);
    cr_expect_str_eq(r.gv->group, "apps");
    route_release(&r);
    r = route("/apis/discovery.k8s.io/v1");
    cr_expect_eq(r.kind, ROUTE_GROUP_VERSION);
    cr_assert_not_null(r.gv);
    cr_expect_str_eq(r.gv->group_version, "discovery.k8s.io/v1");
    route_release(&r);
}

Test(router, unknown_paths_are_not_found)
{
    static const char *const paths[] = {
        "/",
        "",
        "/foo",
        "/api/v2",
        "/api/v1beta1/services",
        "/apis/batch",
        "/apis/batch/v1",
        "/apis/apps/v2",
        "/apis/apps/v1/services", /* services are core */
        "/api/v1/deployments",
        "/api/v1/namespaces/default/deployments",
        "/api/v1/services/web", /* a namespaced object needs its ns */
        "/api/v1/services/web/status",
        "/api/v1/namespaces/default/nodes", /* cluster-scoped inside a ns */
        "/api/v1/namespaces/default/namespaces",
        "/api/v1/namespaces/default/services/web/proxy",   /* not served */
        "/api/v1/namespaces/default/endpoints/web/status", /* endpoints have no status */
        "/api/v1/namespaces/default/services/web/status/x",
        "/api/v1/namespaces/foo/bar",
        "/api/v1/namespaces/foo/status/x",
        "/api/v1/nodes/n1/proxy",
        "/api/v1/nodes/n1/status/x",
        "/api/v1/watch",
        "/healthz/etcd",
        "/version/x",
        "/openapi",
        "/apis//v1",
        "/a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p",
    };
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
        expect_kind(paths[i], ROUTE_NOT_FOUND);
}

Test(router, namespaced_resource_paths)
{
    expect_resource("/api/v1/namespaces/default/services", "", "services", "default", NULL, NULL,
                    false);
    expect_resource("/api/v1/namespaces/default/services/web", "", "services", "default", "web",
                    NULL, false);
    expect_resource("/api/v1/namespaces/default/services/web/status", "", "services", "default",
                    "web", "status", false);
    expect_resource("/api/v1/namespaces/kube-system/endpoints/kubernetes", "", "endpoints",
                    "kube-system", "kubernetes", NULL, false);
    expect_resource("/apis/apps/v1/namespaces/default/replicasets/web/scale", "apps", "replicasets",
                    "default", "web", "scale", false);
    expect_resource("/apis/discovery.k8s.io/v1/namespaces/default/endpointslices/web-abc",
                    "discovery.k8s.io", "endpointslices", "default", "web-abc", NULL, false);
    /* A resource named like a namespace subresource is still the resource in the namespace. */
    expect_resource("/api/v1/namespaces/status/services", "", "services", "status", NULL, NULL,
                    false);
}

Test(router, collections_across_namespaces_and_cluster_scoped_objects)
{
    expect_resource("/api/v1/services", "", "services", NULL, NULL, NULL, false);
    expect_resource("/apis/apps/v1/replicasets", "apps", "replicasets", NULL, NULL, NULL, false);
    expect_resource("/api/v1/nodes", "", "nodes", NULL, NULL, NULL, false);
    expect_resource("/api/v1/nodes/n1", "", "nodes", NULL, "n1", NULL, false);
    expect_resource("/api/v1/nodes/n1/status", "", "nodes", NULL, "n1", "status", false);
}

Test(router, namespaces_versus_namespace_subresources)
{
    expect_resource("/api/v1/namespaces", "", "namespaces", NULL, NULL, NULL, false);
    expect_resource("/api/v1/namespaces/foo", "", "namespaces", NULL, "foo", NULL, false);
    expect_resource("/api/v1/namespaces/foo/status", "", "namespaces", NULL, "foo", "status",
                    false);
    expect_resource("/api/v1/namespaces/foo/finalize", "", "namespaces", NULL, "foo", "finalize",
                    false);
    /* The namespace's resources, not its subresources. */
    expect_resource("/api/v1/namespaces/foo/pods", "", "pods", "foo", NULL, NULL, false);
}

Test(router, legacy_watch_paths)
{
    expect_resource("/api/v1/watch/services", "", "services", NULL, NULL, NULL, true);
    expect_resource("/api/v1/watch/namespaces/default/services", "", "services", "default", NULL,
                    NULL, true);
    expect_resource("/api/v1/watch/namespaces/default/services/web", "", "services", "default",
                    "web", NULL, true);
    expect_resource("/apis/apps/v1/watch/namespaces/default/replicasets", "apps", "replicasets",
                    "default", NULL, NULL, true);
    expect_resource("/api/v1/watch/namespaces", "", "namespaces", NULL, NULL, NULL, true);
    expect_resource("/api/v1/watch/namespaces/foo", "", "namespaces", NULL, "foo", NULL, true);
    expect_resource("/api/v1/watch/nodes/n1", "", "nodes", NULL, "n1", NULL, true);
}

Test(router, empty_segments_are_ignored)
{
    expect_resource("//api//v1//namespaces/default/services/", "", "services", "default", NULL,
                    NULL, false);
}

Test(router, route_release_resets)
{
    struct route r = route("/api/v1/namespaces/default/services/web/status");
    route_release(&r);
    cr_expect_null(r.ns);
    cr_expect_null(r.name);
    cr_expect_null(r.subresource);
    cr_expect_null(r.res);
    route_release(&r); /* twice is harmless */
}

/* ---- request targets ------------------------------------------------------------------------ */

Test(router, target_path_and_params)
{
    struct rest_request req = {0};
    cr_assert_eq(
        rest_request_parse_target(&req, "/api/v1/namespaces/default/services?limit=500&watch=true"),
        0);
    cr_expect_str_eq(req.path, "/api/v1/namespaces/default/services");
    cr_assert_eq(req.n_params, 2);
    cr_expect_str_eq(req.params[0].key, "limit");
    cr_expect_str_eq(req.params[0].value, "500");
    cr_expect_str_eq(rest_param(&req, "watch"), "true");
    cr_expect_null(rest_param(&req, "labelSelector"));
    rest_request_release(&req);
    cr_expect_null(req.path);
    cr_expect_null(req.params);
    cr_expect_eq(req.n_params, 0);
}

Test(router, query_values_decode_percent_and_plus)
{
    struct rest_request req = {0};
    /* kubectl-contract.md §1, verbatim. */
    cr_assert_eq(rest_request_parse_target(
                     &req, "/api/v1/services?labelSelector=app%3Dweb%2Ctier+in+%28a%2Cb%29"),
                 0);
    cr_expect_str_eq(rest_param(&req, "labelSelector"), "app=web,tier in (a,b)");
    rest_request_release(&req);
    cr_assert_eq(rest_request_parse_target(
                     &req, "/api/v1/namespaces/default/events?fieldSelector=involvedObject.name%3D"
                           "web%2CinvolvedObject.namespace%3Ddefault&limit=500"),
                 0);
    cr_expect_str_eq(rest_param(&req, "fieldSelector"),
                     "involvedObject.name=web,involvedObject.namespace=default");
    cr_expect_str_eq(rest_param(&req, "limit"), "500");
    rest_request_release(&req);
    /* Keys are decoded too; lower-case hex; a literal '%2B' is a plus, '+' a space. */
    cr_assert_eq(rest_request_parse_target(&req, "/x?field%53elector=a%2bb+c&k=%7e"), 0);
    cr_expect_str_eq(rest_param(&req, "fieldSelector"), "a+b c");
    cr_expect_str_eq(rest_param(&req, "k"), "~");
    rest_request_release(&req);
}

Test(router, path_decodes_percent_but_not_plus)
{
    struct rest_request req = {0};
    cr_assert_eq(rest_request_parse_target(&req, "/api/v1/namespaces/a%2Db+c/services"), 0);
    cr_expect_str_eq(req.path, "/api/v1/namespaces/a-b+c/services");
    cr_expect_eq(req.n_params, 0);
    rest_request_release(&req);
}

Test(router, odd_query_strings)
{
    struct rest_request req = {0};
    cr_assert_eq(rest_request_parse_target(&req, "/x?"), 0);
    cr_expect_str_eq(req.path, "/x");
    cr_expect_eq(req.n_params, 0);
    rest_request_release(&req);
    cr_assert_eq(rest_request_parse_target(&req, "/x?&&a&b=&c=1=2&&"), 0);
    cr_assert_eq(req.n_params, 3, "empty pairs are skipped");
    cr_expect_str_eq(rest_param(&req, "a"), "", "a key without '=' has an empty value");
    cr_expect_str_eq(rest_param(&req, "b"), "");
    cr_expect_str_eq(rest_param(&req, "c"), "1=2", "only the first '=' splits");
    rest_request_release(&req);
    /* Repeated keys: the first one is the value (Go's Query().Get); all are kept. */
    cr_assert_eq(rest_request_parse_target(&req, "/x?dryRun=All&dryRun=foo"), 0);
    cr_expect_str_eq(rest_param(&req, "dryRun"), "All");
    cr_expect_eq(req.n_params, 2);
    cr_expect_str_eq(req.params[1].value, "foo");
    rest_request_release(&req);
}

Test(router, malformed_escapes_are_errors)
{
    static const char *const bad[] = {
        "/x?a=%zz", "/x?a=%2", "/x?a=%", "/x?%g1=1", "/x%4", "/x%GG/y",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct rest_request req = {0};
        cr_expect_eq(rest_request_parse_target(&req, bad[i]), -1, "%s", bad[i]);
        rest_request_release(&req);
    }
}

Test(router, decoded_target_routes_like_the_raw_path)
{
    struct rest_request req = {0};
    cr_assert_eq(rest_request_parse_target(&req, "/api/v1/namespaces/default/services/w%65b"), 0);
    struct route r = route(req.path);
    cr_expect_eq(r.kind, ROUTE_RESOURCE);
    cr_expect_str_eq(r.name, "web");
    route_release(&r);
    rest_request_release(&req);
}
