/*
 * Unit tests for printers: the column definitions of every kind against upstream's, and the cells
 * and row conditions of one object per case, table-driven from tests/data/printers/<kind>.json
 * (object in, expected cells out, a fixed "now"). Plus the robustness promises of the header:
 * malformed objects and long lists.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "svc/printers.h"
#include "svc/util.h"

#ifndef TEST_DATA_DIR
#define TEST_DATA_DIR "tests/data"
#endif

static json_t *load(const char *file)
{
    char path[512];
    json_error_t err;
    snprintf(path, sizeof(path), "%s/printers/%s", TEST_DATA_DIR, file);
    json_t *root = json_load_file(path, 0, &err);
    cr_assert_not_null(root, "cannot load %s: %s (line %d)", path, err.text, err.line);
    return root;
}

static char *dump(const json_t *v)
{
    return v ? json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY) : strdup("NULL");
}

/* Run every case of one data file; returns the number of cases. */
static size_t run_cases(const char *file)
{
    json_t *root = load(file);
    const char *group = json_string_value(json_object_get(root, "group"));
    const char *kind = json_string_value(json_object_get(root, "kind"));
    const struct printers_kind *pk = printers_find(group, kind);
    cr_assert_not_null(pk, "%s: no printer for %s/%s", file, group, kind);
    size_t ncols;
    printers_columns(pk, &ncols);

    struct timespec now;
    cr_assert_eq(util_parse_time(json_string_value(json_object_get(root, "now")), &now), 0);

    json_t *cases = json_object_get(root, "cases");
    size_t i;
    json_t *c;
    json_array_foreach (cases, i, c) {
        const char *name = json_string_value(json_object_get(c, "name"));
        json_t *object = json_object_get(c, "object");
        json_t *want = json_object_get(c, "cells");
        json_t *got = printers_cells(pk, object, now);
        char *g = dump(got), *w = dump(want);
        cr_expect_eq(json_array_size(got), ncols, "%s/%s: %zu cells for %zu columns", file, name,
                     json_array_size(got), ncols);
        cr_expect(json_equal(got, want), "%s/%s:\n   got %s\n  want %s", file, name, g, w);
        free(g);
        free(w);
        json_decref(got);

        /* A case without "conditions" expects none. */
        json_t *want_cond = json_object_get(c, "conditions");
        json_t *got_cond = printers_row_conditions(pk, object);
        char *gc = dump(got_cond), *wc = dump(want_cond);
        if (!want_cond || json_is_null(want_cond))
            cr_expect_null(got_cond, "%s/%s: unexpected conditions %s", file, name, gc);
        else
            cr_expect(got_cond && json_equal(got_cond, want_cond),
                      "%s/%s: conditions\n   got %s\n  want %s", file, name, gc, wc);
        free(gc);
        free(wc);
        json_decref(got_cond);
    }
    size_t n = json_array_size(cases);
    json_decref(root);
    return n;
}

Test(printers, service_cells)
{
    cr_assert_geq(run_cases("service.json"), 20);
}

Test(printers, endpoints_cells)
{
    cr_assert_geq(run_cases("endpoints.json"), 10);
}

Test(printers, endpointslice_cells)
{
    cr_assert_geq(run_cases("endpointslice.json"), 8);
}

Test(printers, namespace_cells)
{
    cr_assert_geq(run_cases("namespace.json"), 3);
}

Test(printers, pod_cells_and_conditions)
{
    cr_assert_geq(run_cases("pod.json"), 30);
}

Test(printers, replicaset_cells)
{
    cr_assert_geq(run_cases("replicaset.json"), 10);
}

Test(printers, node_cells)
{
    cr_assert_geq(run_cases("node.json"), 8);
}

Test(printers, event_cells)
{
    cr_assert_geq(run_cases("event.json"), 10);
}

Test(printers, column_definitions_match_upstream)
{
    json_t *root = load("columns.json");
    size_t i;
    json_t *k;
    json_array_foreach (json_object_get(root, "kinds"), i, k) {
        const char *group = json_string_value(json_object_get(k, "group"));
        const char *kind = json_string_value(json_object_get(k, "kind"));
        const struct printers_kind *pk = printers_find(group, kind);
        cr_assert_not_null(pk, "no printer for %s/%s", group, kind);
        size_t n;
        const struct printers_column *cols = printers_columns(pk, &n);
        json_t *want = json_object_get(k, "columns");
        cr_assert_eq(n, json_array_size(want), "%s: %zu columns, want %zu", kind, n,
                     json_array_size(want));
        json_t *defs = printers_columns_json(pk);
        cr_assert_eq(json_array_size(defs), n);
        for (size_t j = 0; j < n; j++) {
            json_t *w = json_array_get(want, j);
            const char *wname = json_string_value(json_array_get(w, 0));
            const char *wtype = json_string_value(json_array_get(w, 1));
            const char *wformat = json_string_value(json_array_get(w, 2));
            json_int_t wprio = json_integer_value(json_array_get(w, 3));
            cr_expect_str_eq(cols[j].name, wname, "%s column %zu", kind, j);
            cr_expect_str_eq(cols[j].type, wtype, "%s %s type", kind, wname);
            cr_expect_str_eq(cols[j].format, wformat, "%s %s format", kind, wname);
            cr_expect_eq(cols[j].priority, wprio, "%s %s priority", kind, wname);
            cr_expect(strlen(cols[j].description) > 0, "%s %s has no description", kind, wname);

            json_t *d = json_array_get(defs, j);
            cr_expect_eq(json_object_size(d), 5);
            cr_expect_str_eq(json_string_value(json_object_get(d, "name")), wname);
            cr_expect_str_eq(json_string_value(json_object_get(d, "type")), wtype);
            cr_expect_str_eq(json_string_value(json_object_get(d, "format")), wformat);
            cr_expect_str_eq(json_string_value(json_object_get(d, "description")),
                             cols[j].description);
            cr_expect(json_is_integer(json_object_get(d, "priority")));
            cr_expect_eq(json_integer_value(json_object_get(d, "priority")), wprio);
        }
        json_decref(defs);
    }
    json_array_foreach (json_object_get(root, "not_printed"), i, k) {
        const char *group = json_string_value(json_object_get(k, "group"));
        const char *kind = json_string_value(json_object_get(k, "kind"));
        cr_expect_null(printers_find(group, kind), "%s/%s must have no printer", group, kind);
    }
    json_decref(root);
}

Test(printers, column_definition_keys_in_upstream_order)
{
    const struct printers_kind *pk = printers_find("", "Endpoints");
    cr_assert_not_null(pk);
    json_t *defs = printers_columns_json(pk);
    char *s = json_dumps(json_array_get(defs, 0), JSON_COMPACT);
    cr_assert_not_null(s);
    static const char prefix[] =
        "{\"name\":\"Name\",\"type\":\"string\",\"format\":\"name\",\"description\":";
    cr_expect(strncmp(s, prefix, strlen(prefix)) == 0, "got %s", s);
    cr_expect(strstr(s, ",\"priority\":0}") != NULL, "got %s", s);
    free(s);
    json_decref(defs);
}

Test(printers, null_group_means_core_and_null_kind_finds_nothing)
{
    cr_expect_eq(printers_find(NULL, "Pod"), printers_find("", "Pod"));
    cr_expect_not_null(printers_find(NULL, "Pod"));
    cr_expect_null(printers_find("", NULL));
}

Test(printers, malformed_objects_still_give_one_cell_per_column)
{
    static const char *const groups[] = {"", "", "discovery.k8s.io", "", "apps", "", "", ""};
    static const char *const kinds[] = {"Service",    "Endpoints", "EndpointSlice", "Pod",
                                        "ReplicaSet", "Namespace", "Node",          "Event"};
    /* Every field of the wrong type; none of it may crash or be taken for data. */
    json_t *weird = json_loads(
        "{\"metadata\":[],\"spec\":{\"type\":7,\"ports\":{\"a\":1},\"clusterIPs\":[5],"
        "\"containers\":\"x\",\"initContainers\":[1,null],\"selector\":{\"matchLabels\":[1],"
        "\"matchExpressions\":[null,{\"operator\":\"In\"}]},\"readinessGates\":[{}]},"
        "\"status\":{\"conditions\":[null,3],\"containerStatuses\":[1,{\"state\":[],"
        "\"restartCount\":9223372036854775807},{\"restartCount\":9223372036854775807}],"
        "\"initContainerStatuses\":[{\"state\":{\"terminated\":{\"exitCode\":\"1\"}}}],"
        "\"loadBalancer\":{\"ingress\":[null,{\"ip\":3}]}},\"subsets\":[{\"addresses\":[1],"
        "\"ports\":[1]}],\"endpoints\":[{\"addresses\":[1,null]}],\"series\":[],"
        "\"involvedObject\":{\"kind\":1},\"message\":false,\"count\":\"9\"}",
        0, NULL);
    cr_assert_not_null(weird);
    json_t *inputs[] = {weird, json_null(), json_object(), json_array()};
    struct timespec now = {.tv_sec = 1746093600, .tv_nsec = 0};
    for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
        const struct printers_kind *pk = printers_find(groups[k], kinds[k]);
        cr_assert_not_null(pk);
        size_t ncols;
        printers_columns(pk, &ncols);
        for (size_t i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
            json_t *cells = printers_cells(pk, inputs[i], now);
            cr_assert_not_null(cells);
            cr_expect_eq(json_array_size(cells), ncols, "%s input %zu", kinds[k], i);
            json_t *conds = printers_row_conditions(pk, inputs[i]);
            cr_expect_null(conds, "%s input %zu: no phase, no conditions", kinds[k], i);
            json_decref(cells);
        }
    }
    for (size_t i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++)
        json_decref(inputs[i]);
}

Test(printers, long_lists_are_handled_in_reasonable_time, .timeout = 60)
{
    /* 100k selector labels, ingress points and init containers: sorting and lookups must stay
     * n log n. Quadratic code would need ~10^10 comparisons here and hit the timeout. */
    enum { N = 100000 };
    json_t *svc = json_object(), *spec = json_object(), *sel = json_object();
    json_t *ingress = json_array();
    char key[32];
    for (int i = 0; i < N; i++) {
        snprintf(key, sizeof(key), "k%06d", N - i);
        json_object_set_new(sel, key, json_string("v"));
        snprintf(key, sizeof(key), "10.%d.%d.%d", (N - i) / 65536, ((N - i) / 256) % 256,
                 (N - i) % 256);
        json_array_append_new(ingress, json_pack("{s:s}", "ip", key));
    }
    json_object_set_new(spec, "type", json_string("LoadBalancer"));
    json_object_set_new(spec, "selector", sel);
    json_object_set_new(svc, "spec", spec);
    json_object_set_new(svc, "status", json_pack("{s:{s:o}}", "loadBalancer", "ingress", ingress));
    struct timespec now = {.tv_sec = 1746093600, .tv_nsec = 0};
    json_t *cells = printers_cells(printers_find("", "Service"), svc, now);
    const char *sel_cell = json_string_value(json_array_get(cells, 6));
    cr_assert_not_null(sel_cell);
    cr_expect(strncmp(sel_cell, "k000001=v,k000002=v,", 20) == 0);
    const char *ext = json_string_value(json_array_get(cells, 3));
    cr_assert_not_null(ext);
    cr_expect(strncmp(ext, "10.0.0.1,10.0.0.10,10.0.0.100,", 30) == 0, "got %.40s", ext);
    json_decref(cells);
    json_decref(svc);

    json_t *pod = json_object(), *pspec = json_object(), *inits = json_array();
    json_t *statuses = json_array();
    for (int i = 0; i < N; i++) {
        snprintf(key, sizeof(key), "i%06d", N - i);
        json_array_append_new(inits, json_pack("{s:s}", "name", key));
        json_array_append_new(statuses, json_pack("{s:s, s:{s:{s:i}}}", "name", key, "state",
                                                  "terminated", "exitCode", 0));
    }
    json_object_set_new(pspec, "initContainers", inits);
    json_object_set_new(pod, "spec", pspec);
    json_object_set_new(
        pod, "status",
        json_pack("{s:s, s:o}", "phase", "Pending", "initContainerStatuses", statuses));
    cells = printers_cells(printers_find("", "Pod"), pod, now);
    cr_expect_str_eq(json_string_value(json_array_get(cells, 2)), "Pending");
    json_decref(cells);
    json_decref(pod);
}
