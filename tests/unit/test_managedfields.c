/*
 * Tests of server-side apply and managedFields. The table (the JSON files of
 * tests/data/managedfields) holds one write each: the live object, the request, the manager, and
 * what upstream records. Every expectation there was computed by sigs.k8s.io/structured-merge-diff
 * v4.6.0 itself, driven the way apimachinery v0.33's FieldManager drives it, on the API contract's
 * schemas; conflict messages follow apimachinery's internal.NewConflictError. The tests below the
 * table cover what a table cannot say (the set algebra, fieldsV1 syntax, error texts, timestamps).
 */
#include "svc/api.h"
#include "svc/managedfields.h"
#include "svc/strbuf.h"

#include "../../src/patch/mf_private.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef TEST_DATA_DIR
#define TEST_DATA_DIR "tests/data"
#endif

#define NOW "2025-05-01T10:00:00Z"

static json_t *definitions(void)
{
    json_error_t jerr;
    json_t *defs = json_loads(svc_api_definitions_json, 0, &jerr);
    cr_assert_not_null(defs, "definitions: %s", jerr.text);
    return defs;
}

static json_t *parse(const char *text)
{
    json_error_t jerr;
    json_t *v = json_loads(text, JSON_DECODE_ANY, &jerr);
    cr_assert_not_null(v, "bad test JSON: %s: %s", jerr.text, text);
    return v;
}

static char *dump(const json_t *v)
{
    return v ? json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY) : strdup("(null)");
}

static struct mf_context service_ctx(const json_t *defs, const char *sub)
{
    struct mf_context ctx = {.definitions = defs,
                             .root = "io.k8s.api.core.v1.Service",
                             .api_version = "v1",
                             .kind = "Service",
                             .subresource = sub,
                             .reset_fields = mf_reset_fields("", "services", sub),
                             .now = NOW};
    return ctx;
}

/* ---- the table ----------------------------------------------------------------------------------
 */

struct report {
    int failed;
    char buf[8192];
};

static void note(struct report *r, const char *name, const char *what, const json_t *want,
                 const json_t *got)
{
    char *w = dump(want), *g = dump(got);
    size_t used = strlen(r->buf);
    snprintf(r->buf + used, sizeof(r->buf) - used, "\n%s: %s\n  want %.600s\n  got  %.600s", name,
             what, w, g);
    free(w);
    free(g);
    r->failed++;
}

/* The object without managedFields, for an order-insensitive comparison. */
static json_t *without_managed_fields(const json_t *obj)
{
    json_t *c = json_deep_copy(obj);
    json_object_del(json_object_get(c, "metadata"), "managedFields");
    return c;
}

static void run_case(struct report *r, const char *name, const json_t *c, const json_t *defs)
{
    char root[128];
    snprintf(root, sizeof(root), "io.k8s.api.core.v1.%s",
             json_string_value(json_object_get(c, "kind")));
    const char *sub = json_string_value(json_object_get(c, "subresource"));
    struct mf_context ctx = {
        .definitions = defs,
        .root = root,
        .api_version = "v1",
        .kind = json_string_value(json_object_get(c, "kind")),
        .subresource = sub,
        .reset_fields = mf_reset_fields("", json_string_value(json_object_get(c, "resource")), sub),
        .now = json_string_value(json_object_get(c, "now")),
    };
    const json_t *live = json_object_get(c, "live");
    if (json_is_null(live))
        live = NULL;
    const json_t *req = json_object_get(c, "request");
    const char *manager = json_string_value(json_object_get(c, "manager"));
    const json_t *expect = json_object_get(c, "expect");
    const json_t *want_mf = json_object_get(expect, "managedFields");

    if (!strcmp(json_string_value(json_object_get(c, "op")), "update")) {
        json_t *got = mf_update(&ctx, live, req, manager);
        char *g = dump(got), *w = dump(want_mf);
        if (strcmp(g, w))
            note(r, name, "managedFields", want_mf, got);
        free(g);
        free(w);
        json_decref(got);
        return;
    }
    json_t *out = NULL;
    bool changed = false;
    struct mf_error err;
    mf_error_init(&err);
    int rc = mf_apply(&ctx, live, req, manager, json_is_true(json_object_get(c, "force")), &out,
                      &changed, &err);
    const json_t *want_err = json_object_get(expect, "error");
    if (want_err) {
        if (rc != -1 || err.kind != MF_ERR_CONFLICT) {
            note(r, name, "expected a conflict", want_err, out);
        } else {
            json_t *msg = json_string(err.message);
            if (!json_equal(msg, json_object_get(want_err, "message")))
                note(r, name, "conflict message", json_object_get(want_err, "message"), msg);
            if (!json_equal(err.causes, json_object_get(want_err, "causes")))
                note(r, name, "conflict causes", json_object_get(want_err, "causes"), err.causes);
            json_decref(msg);
        }
    } else if (rc) {
        json_t *msg = json_string(err.message ? err.message : "");
        note(r, name, "unexpected error", expect, msg);
        json_decref(msg);
    } else {
        const json_t *got_mf = json_object_get(json_object_get(out, "metadata"), "managedFields");
        json_t *empty = json_array();
        char *g = dump(got_mf ? got_mf : empty), *w = dump(want_mf);
        if (strcmp(g, w))
            note(r, name, "managedFields", want_mf, got_mf);
        free(g);
        free(w);
        json_decref(empty);
        if (json_is_true(json_object_get(expect, "changed")) != changed)
            note(r, name, "changed", json_object_get(expect, "changed"),
                 changed ? json_true() : json_false());
        const json_t *want_obj = json_object_get(expect, "object");
        if (want_obj) {
            json_t *a = without_managed_fields(want_obj), *b = without_managed_fields(out);
            if (!json_equal(a, b))
                note(r, name, "object", a, b);
            json_decref(a);
            json_decref(b);
        }
    }
    json_decref(out);
    mf_error_release(&err);
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

Test(managedfields, cases_from_the_table)
{
    const char *dir = TEST_DATA_DIR "/managedfields";
    DIR *d = opendir(dir);
    cr_assert_not_null(d, "cannot open %s", dir);
    char *names[256];
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(d)) && n < 256) {
        size_t len = strlen(de->d_name);
        if (len > 5 && !strcmp(de->d_name + len - 5, ".json"))
            names[n++] = strdup(de->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof(*names), cmp_names);
    json_t *defs = definitions();
    struct report *r = calloc(1, sizeof(*r));
    for (size_t i = 0; i < n; i++) {
        char path[512];
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        json_error_t jerr;
        json_t *c = json_load_file(path, 0, &jerr);
        cr_assert_not_null(c, "%s: %s", path, jerr.text);
        run_case(r, names[i], c, defs);
        json_decref(c);
        free(names[i]);
    }
    cr_assert_geq(n, 25, "only %zu cases", n);
    cr_expect_eq(r->failed, 0, "%d failure(s):%s", r->failed, r->buf);
    free(r);
    json_decref(defs);
}

/* ---- the contract
 * ---------------------------------------------------------------------------------- */

Test(managedfields, contract_carries_list_map_key_defaults)
{
    /* Upstream's OpenAPI has "default": "TCP" on ServicePort.protocol and ContainerPort.protocol
       (+default="TCP"): an applied port without a protocol is keyed {"port":80,"protocol":"TCP"}.
       Without the default, every such apply fails as "omits key field". */
    json_t *defs = definitions();
    const char *names[] = {"io.k8s.api.core.v1.ServicePort", "io.k8s.api.core.v1.ContainerPort"};
    for (size_t i = 0; i < 2; i++) {
        const json_t *p = json_object_get(
            json_object_get(json_object_get(json_object_get(defs, names[i]), "properties"),
                            "protocol"),
            "default");
        cr_expect_str_eq(json_string_value(p) ? json_string_value(p) : "(none)", "TCP",
                         "%s.protocol needs default: TCP in api/types/core.yaml", names[i]);
    }
    json_decref(defs);
}

/* ---- field sets ---------------------------------------------------------------------------------
 */

static struct mf_set *set_of(const char *fields_json)
{
    json_t *f = parse(fields_json);
    char *err = NULL;
    struct mf_set *s = mf_set_from_fields(f, &err);
    cr_assert_not_null(s, "%s: %s", fields_json, err ? err : "");
    json_decref(f);
    return s;
}

static void expect_fields(const struct mf_set *s, const char *want)
{
    json_t *f = mf_set_to_fields(s);
    char *got = dump(f);
    cr_expect_str_eq(got, want);
    free(got);
    json_decref(f);
}

Test(managedfields, fields_round_trip_in_upstream_key_order)
{
    /* members and children merge in element order: fields, then keys, then values; "." first */
    struct mf_set *s =
        set_of("{\"v:\\\"b\\\"\":{},\"k:{\\\"protocol\\\":\\\"TCP\\\",\\\"port\\\":80}\":"
               "{\"f:port\":{},\".\":{}},\"f:z\":{},\"f:a\":{\"f:x\":{}},\".\":{}}");
    expect_fields(s, "{\"f:a\":{\"f:x\":{}},\"f:z\":{},\"k:{\\\"port\\\":80,\\\"protocol\\\":"
                     "\\\"TCP\\\"}\":{\".\":{},\"f:port\":{}},\"v:\\\"b\\\"\":{}}");
    mf_set_free(s);
}

Test(managedfields, fields_unknown_elements_are_dropped_and_bad_ones_refused)
{
    struct mf_set *s = set_of("{\"x:whatever\":{},\"f:a\":{\"y:b\":{}}}");
    /* f:a had only an unknown child, so it is a member itself, as upstream reads it */
    expect_fields(s, "{\"f:a\":{}}");
    mf_set_free(s);
    char *err = NULL;
    json_t *bad = parse("{\"f\":{}}");
    cr_expect_null(mf_set_from_fields(bad, &err));
    cr_expect_str_eq(err, "key must be 2 characters long:");
    free(err);
    json_decref(bad);
    bad = parse("{\"fx\":{}}");
    cr_expect_null(mf_set_from_fields(bad, &err));
    cr_expect_str_eq(err, "missing colon: fx");
    free(err);
    json_decref(bad);
}

Test(managedfields, difference_keeps_a_subtree_recursive_difference_drops_it)
{
    struct mf_set *a = set_of("{\"f:spec\":{\".\":{},\"f:x\":{},\"f:y\":{}}}");
    struct mf_set *b = set_of("{\"f:spec\":{}}");
    struct mf_set *d = mf_set_difference(a, b);
    expect_fields(d, "{\"f:spec\":{\"f:x\":{},\"f:y\":{}}}");
    struct mf_set *rd = mf_set_recursive_difference(a, b);
    expect_fields(rd, "{}");
    cr_expect(mf_set_empty(rd));
    mf_set_free(d);
    mf_set_free(rd);
    mf_set_free(a);
    mf_set_free(b);
}

Test(managedfields, union_and_intersection)
{
    struct mf_set *a = set_of("{\"f:m\":{\"f:a\":{},\"f:b\":{}},\"f:x\":{}}");
    struct mf_set *b = set_of("{\"f:m\":{\"f:b\":{},\"f:c\":{}},\"f:y\":{}}");
    struct mf_set *u = mf_set_union(a, b), *i = mf_set_intersection(a, b);
    expect_fields(u, "{\"f:m\":{\"f:a\":{},\"f:b\":{},\"f:c\":{}},\"f:x\":{},\"f:y\":{}}");
    expect_fields(i, "{\"f:m\":{\"f:b\":{}}}");
    cr_expect(!mf_set_equal(u, i));
    mf_set_free(u);
    mf_set_free(i);
    mf_set_free(a);
    mf_set_free(b);
}

Test(managedfields, path_strings_as_conflicts_print_them)
{
    json_t *key = parse("{\"port\":80,\"protocol\":\"TCP\"}");
    json_t *val = parse("\"a\\\"b\"");
    struct mf_pe pes[] = {{.kind = MF_PE_FIELD, .field = "spec"},
                          {.kind = MF_PE_FIELD, .field = "ports"},
                          {.kind = MF_PE_KEY, .key = key},
                          {.kind = MF_PE_VALUE, .value = val},
                          {.kind = MF_PE_INDEX, .index = 3}};
    struct strbuf sb;
    strbuf_init(&sb, STRBUF_NO_LIMIT);
    for (size_t i = 0; i < 5; i++)
        mf_pe_append_string(&sb, &pes[i]);
    cr_expect_str_eq(strbuf_str(&sb), ".spec.ports[port=80,protocol=\"TCP\"][=\"a\\\"b\"][3]");
    strbuf_release(&sb);
    json_decref(key);
    json_decref(val);
}

Test(managedfields, values_order_and_go_json)
{
    json_t *one = parse("1"), *onef = parse("1.0"), *s = parse("\"a\""), *t = parse("true");
    cr_expect_eq(mf_value_compare(one, onef), 0);
    cr_expect(mf_value_equal(one, onef));
    cr_expect_lt(mf_value_compare(one, s), 0); /* numbers before strings before booleans */
    cr_expect_lt(mf_value_compare(s, t), 0);
    json_t *v = parse("{\"b\":1.5,\"a\":\"<&>\",\"c\":1e21,\"d\":0.000001}");
    struct strbuf sb;
    strbuf_init(&sb, STRBUF_NO_LIMIT);
    mf_go_json(&sb, v);
    cr_expect_str_eq(strbuf_str(&sb), "{\"a\":\"\\u003c\\u0026\\u003e\",\"b\":1.5,\"c\":1e+21,"
                                      "\"d\":0.000001}");
    strbuf_release(&sb);
    json_decref(v);
    json_decref(one);
    json_decref(onef);
    json_decref(s);
    json_decref(t);
}

/* ---- public helpers ----------------------------------------------------------------------------
 */

Test(managedfields, manager_name_from_field_manager_or_user_agent)
{
    char *m = mf_manager_name("kubectl-edit", "kubectl/v1.33.0 (linux/amd64)");
    cr_expect_str_eq(m, "kubectl-edit");
    free(m);
    m = mf_manager_name(NULL, "kubectl/v1.33.0 (linux/amd64) kubernetes/abc");
    cr_expect_str_eq(m, "kubectl");
    free(m);
    m = mf_manager_name("", "OpenAPI-Generator/31.0.0/python");
    cr_expect_str_eq(m, "OpenAPI-Generator");
    free(m);
    m = mf_manager_name(NULL, "a\tb\x01"
                              "c");
    cr_expect_str_eq(m, "abc");
    free(m);
    char ua[400];
    memset(ua, 'x', sizeof(ua) - 1);
    ua[sizeof(ua) - 1] = '\0';
    m = mf_manager_name(NULL, ua);
    cr_expect_eq(strlen(m), MF_MANAGER_MAX_LEN);
    free(m);
    m = mf_manager_name(NULL, NULL);
    cr_expect_str_eq(m, "");
    free(m);
}

Test(managedfields, reset_fields_per_strategy)
{
    const char *const *r = mf_reset_fields("", "services", NULL);
    cr_assert_not_null(r);
    cr_expect_str_eq(r[0], "status");
    cr_expect_null(r[1]);
    r = mf_reset_fields("", "services", "status");
    cr_expect_str_eq(r[0], "spec");
    r = mf_reset_fields("", "pods", "status");
    cr_expect_str_eq(r[1], "metadata.deletionTimestamp");
    cr_expect_str_eq(r[2], "metadata.ownerReferences");
    cr_expect_str_eq(mf_reset_fields("apps", "replicasets", "")[0], "status");
    cr_expect_null(mf_reset_fields("", "endpoints", NULL));
    cr_expect_null(mf_reset_fields("apps", "replicasets", "scale"));
}

Test(managedfields, zero_service_is_go_zero_struct)
{
    json_t *defs = definitions();
    struct mf_schema sc = {.defs = defs, .root = "io.k8s.api.core.v1.Service"};
    json_t *z = mf_zero_object(&sc);
    json_t *want = parse("{\"metadata\":{\"creationTimestamp\":null},\"spec\":{},"
                         "\"status\":{\"loadBalancer\":{}}}");
    cr_expect(json_equal(z, want), "zero Service: %s", json_dumps(z, JSON_COMPACT));
    json_decref(z);
    json_decref(want);
    mf_schema_release(&sc);
    json_decref(defs);
}

/* ---- apply errors
 * -------------------------------------------------------------------------------- */

static int apply_text(const char *config, const char *live, const char *manager,
                      struct mf_error *err, json_t **out)
{
    json_t *defs = definitions();
    struct mf_context ctx = service_ctx(defs, "");
    json_t *c = parse(config), *l = live ? parse(live) : NULL;
    bool changed;
    mf_error_init(err);
    int rc = mf_apply(&ctx, l, c, manager, false, out, &changed, err);
    json_decref(c);
    json_decref(l);
    json_decref(defs);
    return rc;
}

Test(managedfields, apply_of_another_kind_is_a_bad_request)
{
    struct mf_error err;
    json_t *out = NULL;
    int rc = apply_text(
        "{\"apiVersion\":\"apps/v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"a\"}}", NULL,
        "m", &err, &out);
    cr_expect_eq(rc, -1);
    cr_expect_eq(err.kind, MF_ERR_BAD_REQUEST);
    cr_expect_str_eq(err.message, "invalid object type: apps/v1, Kind=Service");
    mf_error_release(&err);
    rc = apply_text("{\"kind\":\"Service\",\"metadata\":{\"name\":\"a\"}}", NULL, "m", &err, &out);
    cr_expect_str_eq(err.message, "invalid object type: /, Kind=Service");
    mf_error_release(&err);
}

Test(managedfields, apply_with_managed_fields_is_a_bad_request)
{
    struct mf_error err;
    json_t *out = NULL;
    int rc = apply_text("{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"a\","
                        "\"managedFields\":[]}}",
                        NULL, "m", &err, &out);
    cr_expect_eq(rc, -1);
    cr_expect_eq(err.kind, MF_ERR_BAD_REQUEST);
    cr_expect_str_eq(err.message, "metadata.managedFields must be nil");
    mf_error_release(&err);
}

Test(managedfields, apply_of_unknown_field_fails_as_upstream)
{
    struct mf_error err;
    json_t *out = NULL;
    int rc =
        apply_text("{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"web\","
                   "\"namespace\":\"default\"},\"spec\":{\"bogus\":1}}",
                   NULL, "m", &err, &out);
    cr_expect_eq(rc, -1);
    cr_expect_eq(err.kind, MF_ERR_INTERNAL);
    cr_expect_str_eq(err.message, "failed to create typed patch object (default/web; /v1, "
                                  "Kind=Service): .spec.bogus: field not declared in schema");
    mf_error_release(&err);
}

Test(managedfields, apply_of_duplicate_keys_fails_as_upstream)
{
    struct mf_error err;
    json_t *out = NULL;
    int rc =
        apply_text("{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"web\","
                   "\"namespace\":\"default\"},\"spec\":{\"ports\":[{\"port\":80,\"protocol\":"
                   "\"TCP\"},{\"port\":80,\"protocol\":\"TCP\"}]}}",
                   NULL, "m", &err, &out);
    cr_expect_eq(rc, -1);
    cr_expect_str_eq(err.message,
                     "failed to create typed patch object (default/web; /v1, Kind=Service): "
                     ".spec.ports: duplicate entries for key [port=80,protocol=\"TCP\"]");
    mf_error_release(&err);
}

Test(managedfields, apply_with_corrupt_live_managed_fields_fails)
{
    struct mf_error err;
    json_t *out = NULL;
    int rc =
        apply_text("{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"web\"}}",
                   "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"web\","
                   "\"managedFields\":[{\"manager\":\"m\",\"operation\":\"Patch\","
                   "\"apiVersion\":\"v1\",\"fieldsType\":\"FieldsV1\"}]}}",
                   "m", &err, &out);
    cr_expect_eq(rc, -1);
    cr_expect_eq(err.kind, MF_ERR_INTERNAL);
    cr_expect_str_eq(err.message,
                     "failed to decode managed fields: operation must be `Apply` or `Update`");
    mf_error_release(&err);
}

Test(managedfields, apply_only_metadata_name_records_no_entry)
{
    /* stripMeta: apiVersion, kind and metadata.name are nobody's, so the entry is empty and goes */
    struct mf_error err;
    json_t *out = NULL;
    int rc =
        apply_text("{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"web\"}}",
                   NULL, "m", &err, &out);
    cr_assert_eq(rc, 0, "%s", err.message ? err.message : "");
    cr_expect_null(json_object_get(json_object_get(out, "metadata"), "managedFields"));
    json_decref(out);
    mf_error_release(&err);
}

/* ---- timestamps
 * ----------------------------------------------------------------------------------- */

static const char *managed_entry(const char *time, const char *fields)
{
    static char buf[512];
    snprintf(
        buf, sizeof(buf),
        "{\"manager\":\"kubectl\",\"operation\":\"Apply\",\"apiVersion\":\"v1\",\"time\":\"%s\","
        "\"fieldsType\":\"FieldsV1\",\"fieldsV1\":%s}",
        time, fields);
    return buf;
}

static json_t *svc_with(const char *entry, const char *type)
{
    char buf[1024];
    snprintf(buf, sizeof(buf),
             "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"web\","
             "\"resourceVersion\":\"7\",\"managedFields\":[%s]},\"spec\":{\"type\":\"%s\"}}",
             entry, type);
    return parse(buf);
}

Test(managedfields, time_only_change_is_reverted)
{
    json_t *defs = definitions();
    struct mf_context ctx = service_ctx(defs, "");
    json_t *old = svc_with(managed_entry("2025-05-01T09:00:00Z", "{\"f:spec\":{\"f:type\":{}}}"),
                           "ClusterIP");
    json_t *obj = svc_with(managed_entry(NOW, "{\"f:spec\":{\"f:type\":{}}}"), "ClusterIP");
    /* a resourceVersion the pipeline has not settled yet does not count */
    json_object_set_new(json_object_get(obj, "metadata"), "resourceVersion", json_string("8"));
    mf_keep_times_if_unchanged(&ctx, obj, old);
    const json_t *e =
        json_array_get(json_object_get(json_object_get(obj, "metadata"), "managedFields"), 0);
    cr_expect_str_eq(json_string_value(json_object_get(e, "time")), "2025-05-01T09:00:00Z");
    json_decref(old);
    json_decref(obj);
    json_decref(defs);
}

Test(managedfields, time_kept_when_object_or_fields_change)
{
    json_t *defs = definitions();
    struct mf_context ctx = service_ctx(defs, "");
    json_t *old = svc_with(managed_entry("2025-05-01T09:00:00Z", "{\"f:spec\":{\"f:type\":{}}}"),
                           "ClusterIP");
    json_t *obj = svc_with(managed_entry(NOW, "{\"f:spec\":{\"f:type\":{}}}"), "NodePort");
    mf_keep_times_if_unchanged(&ctx, obj, old);
    const json_t *e =
        json_array_get(json_object_get(json_object_get(obj, "metadata"), "managedFields"), 0);
    cr_expect_str_eq(json_string_value(json_object_get(e, "time")), NOW);
    json_decref(obj);
    obj = svc_with(managed_entry(NOW, "{\"f:spec\":{}}"), "ClusterIP");
    mf_keep_times_if_unchanged(&ctx, obj, old);
    e = json_array_get(json_object_get(json_object_get(obj, "metadata"), "managedFields"), 0);
    cr_expect_str_eq(json_string_value(json_object_get(e, "time")), NOW);
    json_decref(old);
    json_decref(obj);
    json_decref(defs);
}

/* ---- hostile input
 * -------------------------------------------------------------------------------- */

Test(managedfields, deep_input_is_refused_not_recursed)
{
    /* fieldsV1 nested far deeper than any object: refused (our bound), never a crash */
    size_t depth = 1500;
    char *fields = malloc(depth * 8 + 16), *buf = malloc(depth * 8 + 512);
    fields[0] = '\0';
    for (size_t i = 0; i < depth; i++)
        strcat(fields, "{\"f:a\":");
    strcat(fields, "{}");
    for (size_t i = 0; i < depth; i++)
        strcat(fields, "}");
    sprintf(buf,
            "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"w\","
            "\"uid\":\"u\",\"managedFields\":[{\"manager\":\"a\",\"operation\":\"Update\","
            "\"apiVersion\":\"v1\",\"fieldsType\":\"FieldsV1\",\"fieldsV1\":%s}]}}",
            fields);
    json_t *live = parse(buf);
    free(fields);
    free(buf);
    json_t *defs = definitions();
    struct mf_context ctx = service_ctx(defs, "");
    json_t *got = mf_update(&ctx, live, live, "m");
    cr_expect_eq(json_array_size(got), 0);
    json_decref(got);
    json_t *cfg =
        parse("{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"w\"}}");
    json_t *out = NULL;
    bool changed;
    struct mf_error err;
    mf_error_init(&err);
    cr_expect_eq(mf_apply(&ctx, live, cfg, "m", false, &out, &changed, &err), -1);
    cr_expect_eq(err.kind, MF_ERR_INTERNAL);
    cr_expect(strstr(err.message, "failed to decode managed fields: ") == err.message);
    mf_error_release(&err);
    json_decref(cfg);
    json_decref(live);
    json_decref(defs);
}

/* ---- objects as Go holds them ------------------------------------------------------------------
 */

Test(managedfields, update_ignores_what_go_would_omit)
{
    /* Upstream tracks the decoded struct: empty omitempty fields do not exist there, so a
       request that spells them out records the same fields as one that leaves them out. */
    json_t *defs = definitions();
    struct mf_context ctx = service_ctx(defs, "");
    json_t *plain =
        parse("{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"w\"},"
              "\"spec\":{\"ports\":[{\"port\":80,\"protocol\":\"TCP\",\"targetPort\":80}],"
              "\"type\":\"ClusterIP\"}}");
    json_t *spelled = parse(
        "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"w\",\"labels\":{},"
        "\"annotations\":null,\"generation\":0},\"spec\":{\"ports\":[{\"name\":\"\",\"port\":80,"
        "\"protocol\":\"TCP\",\"targetPort\":80,\"nodePort\":0}],\"type\":\"ClusterIP\","
        "\"clusterIP\":\"\",\"externalIPs\":[],\"selector\":{}},\"status\":{}}");
    json_t *a = mf_update(&ctx, NULL, plain, "m"), *b = mf_update(&ctx, NULL, spelled, "m");
    char *da = dump(a), *db = dump(b);
    cr_expect_str_eq(db, da);
    cr_expect(strstr(da, "f:targetPort") != NULL);
    free(da);
    free(db);
    json_decref(a);
    json_decref(b);
    json_decref(plain);
    json_decref(spelled);
    json_decref(defs);
}

Test(managedfields, update_with_client_managed_fields_starts_from_them)
{
    /* A PUT carrying a valid managedFields list is tracked from that list, not the live one. */
    json_t *defs = definitions();
    struct mf_context ctx = service_ctx(defs, "");
    json_t *live =
        parse("{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"w\","
              "\"uid\":\"u\",\"managedFields\":[{\"manager\":\"a\",\"operation\":\"Update\","
              "\"apiVersion\":\"v1\",\"time\":\"2025-05-01T09:00:00Z\",\"fieldsType\":"
              "\"FieldsV1\",\"fieldsV1\":{\"f:spec\":{\"f:type\":{}}}}]},"
              "\"spec\":{\"type\":\"ClusterIP\"}}");
    json_t *obj =
        parse("{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"w\","
              "\"uid\":\"u\",\"managedFields\":[{\"manager\":\"b\",\"operation\":\"Update\","
              "\"apiVersion\":\"v1\",\"time\":\"2025-05-01T09:30:00+02:00\",\"fieldsType\":"
              "\"FieldsV1\",\"fieldsV1\":{\"f:spec\":{\"f:type\":{}}}}]},"
              "\"spec\":{\"type\":\"ClusterIP\"}}");
    json_t *got = mf_update(&ctx, live, obj, "m");
    char *d = dump(got);
    /* nothing changed, so only b's entry, its time now in UTC seconds */
    cr_expect_str_eq(d, "[{\"manager\":\"b\",\"operation\":\"Update\",\"apiVersion\":\"v1\","
                        "\"time\":\"2025-05-01T07:30:00Z\",\"fieldsType\":\"FieldsV1\","
                        "\"fieldsV1\":{\"f:spec\":{\"f:type\":{}}}}]");
    free(d);
    json_decref(got);
    json_decref(live);
    json_decref(obj);
    json_decref(defs);
}

/* ---- cost-saving paths give what the long way gives ------------------------------------------
 */

static const char *const stored_service =
    "{\"kind\":\"Service\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"web\","
    "\"namespace\":\"default\",\"uid\":\"u1\",\"resourceVersion\":\"7\","
    "\"creationTimestamp\":\"2025-05-01T09:00:00Z\",\"labels\":{\"app\":\"web\"},"
    "\"managedFields\":[{\"manager\":\"a\",\"operation\":\"Update\",\"apiVersion\":\"v1\","
    "\"time\":\"2025-05-01T09:00:00Z\",\"fieldsType\":\"FieldsV1\",\"fieldsV1\":{"
    "\"f:metadata\":{\"f:labels\":{\".\":{},\"f:app\":{}}},\"f:spec\":{\"f:ports\":{\".\":{},"
    "\"k:{\\\"port\\\":80,\\\"protocol\\\":\\\"TCP\\\"}\":{\".\":{},\"f:port\":{},"
    "\"f:protocol\":{},\"f:targetPort\":{}}},\"f:type\":{}}}},"
    "{\"manager\":\"b\",\"operation\":\"Update\",\"apiVersion\":\"v1\","
    "\"time\":\"2025-05-01T09:30:00Z\",\"fieldsType\":\"FieldsV1\",\"fieldsV1\":{"
    "\"f:spec\":{\"f:sessionAffinity\":{}},\"f:metadata\":{\"f:annotations\":{\"f:n\":{},"
    "\".\":{}}}}}]},\"spec\":{\"ports\":[{\"protocol\":\"TCP\",\"port\":80,\"targetPort\":8080}],"
    "\"clusterIP\":\"10.96.0.10\",\"clusterIPs\":[\"10.96.0.10\"],\"type\":\"ClusterIP\","
    "\"sessionAffinity\":\"None\",\"ipFamilies\":[\"IPv4\"],\"ipFamilyPolicy\":\"SingleStack\","
    "\"internalTrafficPolicy\":\"Cluster\"},\"status\":{\"loadBalancer\":{}}}";

/* The stored Service with a label added by a write, as the PUT body gives it back. */
static json_t *service_put(bool spelled_out)
{
    json_t *obj = parse(stored_service);
    json_t *meta = json_object_get(obj, "metadata");
    json_object_set_new(json_object_get(meta, "labels"), "tier", json_string("fe"));
    if (spelled_out) {
        /* what Go's struct would not hold: empty fields, nulls, keys in another order */
        json_object_set_new(meta, "generateName", json_string(""));
        json_object_set_new(meta, "finalizers", json_array());
        json_object_set_new(json_object_get(obj, "spec"), "externalIPs", json_null());
        json_t *spec = json_deep_copy(json_object_get(obj, "spec"));
        json_object_del(obj, "spec");
        json_object_set_new(obj, "spec", spec);
    }
    return obj;
}

Test(managedfields, update_gives_the_same_for_any_spelling_of_the_objects)
{
    /* A stored object and a decoded body usually are what Go's struct would hold already, and
       are then compared as they are; anything else is normalised first. Both ways agree. */
    json_t *defs = definitions();
    struct mf_context ctx = service_ctx(defs, "");
    json_t *live = parse(stored_service);
    json_t *plain = service_put(false), *spelled = service_put(true);
    json_t *spelled_live = json_deep_copy(live);
    json_object_set_new(json_object_get(spelled_live, "metadata"), "ownerReferences", json_array());
    json_t *a = mf_update(&ctx, live, plain, "c");
    json_t *b = mf_update(&ctx, spelled_live, spelled, "c");
    char *da = dump(a), *db = dump(b);
    cr_expect_str_eq(db, da);
    cr_expect(strstr(da, "\"manager\":\"c\"") && strstr(da, "f:tier"), "%s", da);
    free(da);
    free(db);
    json_decref(a);
    json_decref(b);
    json_decref(live);
    json_decref(spelled_live);
    json_decref(plain);
    json_decref(spelled);
    json_decref(defs);
}

Test(managedfields, unchanged_fields_written_as_read_others_as_upstream_writes_them)
{
    /* A write that leaves a manager's fields alone keeps its fieldsV1 as they were read, when
       writing the fields again would give exactly that text; b's keys are out of order, and
       come out in upstream's order. */
    json_t *defs = definitions();
    struct mf_context ctx = service_ctx(defs, "");
    json_t *live = parse(stored_service), *obj = service_put(false);
    json_t *got = mf_update(&ctx, live, obj, "c");
    const json_t *a = NULL, *b = NULL;
    size_t i;
    json_t *e;
    json_array_foreach (got, i, e) {
        const char *m = json_string_value(json_object_get(e, "manager"));
        if (!strcmp(m, "a"))
            a = json_object_get(e, "fieldsV1");
        else if (!strcmp(m, "b"))
            b = json_object_get(e, "fieldsV1");
    }
    const json_t *read_a = json_object_get(
        json_array_get(json_object_get(json_object_get(live, "metadata"), "managedFields"), 0),
        "fieldsV1");
    char *da = dump(a), *dr = dump(read_a), *dbb = dump(b);
    cr_expect_str_eq(da, dr);
    cr_expect_str_eq(dbb, "{\"f:metadata\":{\"f:annotations\":{\".\":{},\"f:n\":{}}},"
                          "\"f:spec\":{\"f:sessionAffinity\":{}}}");
    free(da);
    free(dr);
    free(dbb);
    json_decref(got);
    json_decref(live);
    json_decref(obj);
    json_decref(defs);
}

Test(managedfields, fields_keys_read_as_upstream_reads_them_whatever_the_spelling)
{
    /* keys out of order, spaces, a real that is an integer, escapes and HTML characters */
    struct mf_set *s = set_of(
        "{\"f:spec\":{\"f:ports\":{\".\":{},"
        "\"k:{\\\"protocol\\\":\\\"TCP\\\",\\\"port\\\":80}\":{\".\":{},\"f:port\":{}},"
        "\"k:{\\\"port\\\": 443, \\\"protocol\\\":\\\"TCP\\\"}\":{},"
        "\"k:{\\\"port\\\":53.0,\\\"protocol\\\":\\\"UDP\\\"}\":{}}},"
        "\"f:metadata\":{\"f:finalizers\":{\"v:\\\"a<b\\\"\":{},\"v:-0\":{},\"v:1.50\":{}}}}");
    expect_fields(s, "{\"f:metadata\":{\"f:finalizers\":{\"v:0\":{},\"v:1.5\":{},"
                     "\"v:\\\"a\\\\u003cb\\\"\":{}}},\"f:spec\":{\"f:ports\":{\".\":{},"
                     "\"k:{\\\"port\\\":53,\\\"protocol\\\":\\\"UDP\\\"}\":{},"
                     "\"k:{\\\"port\\\":80,\\\"protocol\\\":\\\"TCP\\\"}\":{\".\":{},"
                     "\"f:port\":{}},\"k:{\\\"port\\\":443,\\\"protocol\\\":\\\"TCP\\\"}\":{}}}}");
    mf_set_free(s);
    /* text after a key, and a repeated name: as jansson reads them */
    s = set_of("{\"k:{\\\"port\\\":80}x\":{},\"k:{\\\"port\\\":80,\\\"port\\\":81}\":{}}");
    expect_fields(s, "{\"k:{\\\"port\\\":80}\":{},\"k:{\\\"port\\\":81}\":{}}");
    mf_set_free(s);
}

static char *fields_text(const struct mf_set *s)
{
    json_t *f = mf_set_to_fields(s);
    char *d = dump(f);
    json_decref(f);
    return d;
}

Test(managedfields, in_place_set_operations_give_what_the_copying_ones_give)
{
    const char *texts[] = {
        "{\"f:m\":{\".\":{},\"f:a\":{},\"f:b\":{\"f:x\":{}}},\"f:x\":{},\"f:z\":{\"f:q\":{}}}",
        "{\"f:m\":{\"f:b\":{\".\":{},\"f:x\":{}},\"f:c\":{}},\"f:y\":{},\"f:z\":{}}",
        "{\"f:m\":{},\"f:x\":{\".\":{},\"f:deep\":{}}}",
        "{}",
    };
    for (size_t i = 0; i < 4; i++) {
        for (size_t j = 0; j < 4; j++) {
            struct mf_set *a = set_of(texts[i]), *b = set_of(texts[j]);
            struct mf_set *want[5] = {
                mf_set_union(a, b),
                mf_set_difference(a, b),
                mf_set_recursive_difference(a, b),
                NULL,
                mf_set_union(a, b),
            };
            struct mf_set *common = mf_set_intersection(a, b);
            want[3] = mf_set_difference(a, common);
            struct mf_set *got[5];
            for (size_t k = 0; k < 5; k++)
                got[k] = mf_set_copy(a);
            mf_set_union_into(got[0], b);
            mf_set_subtract(got[1], b);
            mf_set_subtract_recursive(got[2], b);
            mf_set_subtract_common(got[3], b);
            mf_set_union_take(got[4], mf_set_copy(b));
            for (size_t k = 0; k < 5; k++) {
                char *w = fields_text(want[k]), *g = fields_text(got[k]);
                cr_expect_str_eq(g, w, "operation %zu of %s and %s", k, texts[i], texts[j]);
                cr_expect(mf_set_equal(got[k], want[k]));
                free(w);
                free(g);
                mf_set_free(want[k]);
                mf_set_free(got[k]);
            }
            mf_set_free(common);
            mf_set_free(a);
            mf_set_free(b);
        }
    }
}

Test(managedfields, zero_object_is_a_fresh_copy_each_time)
{
    /* a create compares with the kind's empty object, built once and shared: the copies handed
       out must not be it */
    json_t *defs = definitions();
    struct mf_schema sc = {.defs = defs, .root = "io.k8s.api.core.v1.Service"};
    json_t *z1 = mf_zero_object(&sc);
    json_object_set_new(z1, "spec", json_string("changed"));
    json_t *z2 = mf_zero_object(&sc);
    cr_expect(json_equal(z2, mf_zero_shared(&sc)));
    cr_expect(json_is_object(json_object_get(z2, "spec")));
    json_decref(z1);
    json_decref(z2);
    mf_schema_release(&sc);
    json_decref(defs);
}

Test(managedfields, time_only_change_is_reverted_for_any_spelling)
{
    json_t *defs = definitions();
    struct mf_context ctx = service_ctx(defs, "");
    for (int spelled = 0; spelled < 2; spelled++) {
        json_t *old = svc_with(
            managed_entry("2025-05-01T09:00:00Z", "{\"f:spec\":{\"f:type\":{}}}"), "ClusterIP");
        json_t *obj = svc_with(managed_entry(NOW, "{\"f:spec\":{\"f:type\":{}}}"), "ClusterIP");
        if (spelled) /* an empty field Go would not hold: compared normalised */
            json_object_set_new(json_object_get(obj, "spec"), "clusterIP", json_string(""));
        mf_keep_times_if_unchanged(&ctx, obj, old);
        const json_t *e =
            json_array_get(json_object_get(json_object_get(obj, "metadata"), "managedFields"), 0);
        cr_expect_str_eq(json_string_value(json_object_get(e, "time")), "2025-05-01T09:00:00Z",
                         "spelled out: %d", spelled);
        json_decref(old);
        json_decref(obj);
    }
    json_decref(defs);
}

/* ---- the compiled definitions
 * ------------------------------------------------------------------------ */

Test(managedfields, each_definitions_object_gets_its_own_types)
{
    /* more definitions objects than are kept compiled for the process: each still works */
    json_t *obj = service_put(false);
    char *first = NULL;
    for (int i = 0; i < 24; i++) {
        json_t *defs = definitions();
        struct mf_context ctx = service_ctx(defs, "");
        json_t *got = mf_update(&ctx, NULL, obj, "m");
        char *d = dump(got);
        if (!first)
            first = d;
        else {
            cr_expect_str_eq(d, first, "definitions object %d", i);
            free(d);
        }
        json_decref(got);
        json_decref(defs);
    }
    cr_expect(strstr(first, "\"manager\":\"m\"") != NULL, "%s", first);
    free(first);
    json_decref(obj);
}

struct tracker {
    const json_t *defs, *live, *obj;
    char *got[40];
};

static void *track_many(void *arg)
{
    struct tracker *t = arg;
    struct mf_context ctx = service_ctx(t->defs, "");
    for (size_t i = 0; i < 40; i++) {
        json_t *got = mf_update(&ctx, i % 2 ? t->live : NULL, t->obj, "m");
        t->got[i] = dump(got);
        json_decref(got);
    }
    return NULL;
}

Test(managedfields, threads_tracking_at_once_agree)
{
    /* the first calls of several threads race to compile the definitions and build the kind's
       empty object: every result is the one a single thread gets */
    json_t *defs = definitions();
    json_t *live = parse(stored_service), *obj = service_put(false);
    struct tracker t[4];
    pthread_t th[4];
    for (size_t i = 0; i < 4; i++) {
        t[i] = (struct tracker){.defs = defs, .live = live, .obj = obj};
        cr_assert_eq(pthread_create(&th[i], NULL, track_many, &t[i]), 0);
    }
    for (size_t i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    struct tracker alone = {.defs = defs, .live = live, .obj = obj};
    track_many(&alone);
    for (size_t i = 0; i < 4; i++) {
        for (size_t k = 0; k < 40; k++) {
            cr_expect_str_eq(t[i].got[k], alone.got[k], "thread %zu, call %zu", i, k);
            free(t[i].got[k]);
        }
    }
    for (size_t k = 0; k < 40; k++)
        free(alone.got[k]);
    json_decref(live);
    json_decref(obj);
    json_decref(defs);
}
