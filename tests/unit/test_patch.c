/*
 * Unit tests for src/patch: table-driven cases from the JSON files of tests/data/patch/ (original
 * document, body, patch type, then the expected result or error), and a few tests of what tables
 * cannot say (key order, limits, the caller's document left alone).
 */
#include <criterion/criterion.h>

#include "svc/patch.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef TEST_DATA_DIR
#define TEST_DATA_DIR "tests/data"
#endif

static json_t *load_data(const char *name)
{
    char path[512];
    json_error_t jerr;
    snprintf(path, sizeof(path), "%s/patch/%s", TEST_DATA_DIR, name);
    json_t *v = json_load_file(path, 0, &jerr);
    cr_assert_not_null(v, "cannot load %s: %s (line %d)", path, jerr.text, jerr.line);
    return v;
}

static enum patch_validation validation_of(const json_t *c)
{
    const char *v = json_string_value(json_object_get(c, "validation"));
    if (v && strcmp(v, "Ignore") == 0)
        return PATCH_VALIDATION_IGNORE;
    if (v && strcmp(v, "Strict") == 0)
        return PATCH_VALIDATION_STRICT;
    return PATCH_VALIDATION_WARN; /* an absent fieldValidation */
}

struct report {
    int failed;
    char buf[16384];
};

__attribute__((format(printf, 3, 4))) static void fail(struct report *r, const char *name,
                                                       const char *fmt, ...)
{
    va_list ap;
    size_t used = strlen(r->buf);
    r->failed++;
    snprintf(r->buf + used, sizeof(r->buf) - used, "\n[%s] ", name);
    used = strlen(r->buf);
    va_start(ap, fmt);
    vsnprintf(r->buf + used, sizeof(r->buf) - used, fmt, ap);
    va_end(ap);
}

static void check_error(struct report *r, const char *name, const json_t *want,
                        const struct patch_error *err)
{
    char code[16], wcode[16];
    snprintf(code, sizeof(code), "%d", err->code);
    snprintf(wcode, sizeof(wcode), "%lld",
             (long long)json_integer_value(json_object_get(want, "code")));
    if (strcmp(code, wcode) != 0)
        fail(r, name, "code %s, want %s", code, wcode);
    const char *s;
    if ((s = json_string_value(json_object_get(want, "reason"))) && strcmp(s, err->reason) != 0)
        fail(r, name, "reason \"%s\", want \"%s\"", err->reason, s);
    if ((s = json_string_value(json_object_get(want, "message"))) && strcmp(s, err->message) != 0)
        fail(r, name, "message \"%s\", want \"%s\"", err->message, s);
    if ((s = json_string_value(json_object_get(want, "detail"))) && strcmp(s, err->detail) != 0)
        fail(r, name, "detail \"%s\", want \"%s\"", err->detail, s);
    if ((s = json_string_value(json_object_get(want, "detail_contains"))) &&
        !strstr(err->detail, s))
        fail(r, name, "detail \"%s\" lacks \"%s\"", err->detail, s);
    bool plain = json_is_true(json_object_get(want, "plain_text"));
    if (plain != err->plain_text)
        fail(r, name, "plain_text %s, want %s", err->plain_text ? "true" : "false",
             plain ? "true" : "false");
    if (err->code == 422 && !err->details_empty)
        fail(r, name, "a 422 must carry \"details\":{}");
}

static void run_case(struct report *r, const json_t *c, const json_t *defs)
{
    const char *name = json_string_value(json_object_get(c, "name"));
    const char *type = json_string_value(json_object_get(c, "type"));
    const json_t *original = json_object_get(c, "original");
    const json_t *want = json_object_get(c, "result");
    const json_t *want_err = json_object_get(c, "error");
    const char *text = json_string_value(json_object_get(c, "patch_text"));
    char *body = text ? strdup(text)
                      : json_dumps(json_object_get(c, "patch"), JSON_COMPACT | JSON_ENCODE_ANY);
    char *before = json_dumps(original, JSON_COMPACT | JSON_ENCODE_ANY);
    char *repr = NULL;
    struct patch_error err;
    struct patch_strict strict;
    json_t *got = NULL;

    patch_error_init(&err);
    patch_strict_init(&strict);
    if (strcmp(type, "merge") == 0)
        got = patch_merge_apply(original, body, strlen(body), validation_of(c), &strict, &err);
    else if (strcmp(type, "json") == 0)
        got = patch_json_apply(original, body, strlen(body), validation_of(c), &strict, &err);
    else
        got = patch_strategic_apply(original, body, strlen(body), defs,
                                    json_string_value(json_object_get(c, "root")), validation_of(c),
                                    &strict, &repr, &err);

    if (want_err) {
        if (got) {
            char *g = json_dumps(got, JSON_COMPACT | JSON_ENCODE_ANY);
            fail(r, name, "succeeded with %s, want an error", g);
            free(g);
        } else {
            check_error(r, name, want_err, &err);
        }
    } else if (!got) {
        fail(r, name, "failed: %s (%s)", err.message, err.detail);
    } else if (!json_equal(got, want)) {
        char *g = json_dumps(got, JSON_COMPACT | JSON_ENCODE_ANY);
        char *w = json_dumps(want, JSON_COMPACT | JSON_ENCODE_ANY);
        fail(r, name, "result %s\n      want %s", g, w);
        free(g);
        free(w);
    }

    const json_t *want_strict = json_object_get(c, "strict");
    size_t nwant = json_array_size(want_strict);
    bool strict_ok = nwant == strict.len;
    for (size_t i = 0; strict_ok && i < nwant; i++)
        strict_ok = strcmp(json_string_value(json_array_get(want_strict, i)), strict.items[i]) == 0;
    if (!strict_ok)
        fail(r, name, "strict findings differ (%s first, want %s first)",
             strict.len ? strict.items[0] : "none",
             nwant ? json_string_value(json_array_get(want_strict, 0)) : "none");

    const char *want_repr = json_string_value(json_object_get(c, "patch_repr"));
    if (want_repr && (!repr || strcmp(repr, want_repr) != 0))
        fail(r, name, "patch_repr %s, want %s", repr, want_repr);

    char *after = json_dumps(original, JSON_COMPACT | JSON_ENCODE_ANY);
    if (strcmp(before, after) != 0)
        fail(r, name, "the original document was changed: %s", after);

    free(after);
    free(before);
    free(body);
    free(repr);
    json_decref(got);
    patch_error_release(&err);
    patch_strict_release(&strict);
}

/* Run every case of a data file; returns how many cases it had. */
static size_t run_file(const char *file, const char *only_type)
{
    json_t *data = load_data(file);
    json_t *schemas = NULL;
    const json_t *defs = NULL;
    const char *sfile = json_string_value(json_object_get(data, "schemas"));
    struct report *r = calloc(1, sizeof(*r));
    size_t n = 0, i;
    json_t *c;

    if (sfile) {
        schemas = load_data(sfile);
        defs = json_object_get(schemas, "definitions");
    }
    json_array_foreach (json_object_get(data, "cases"), i, c) {
        if (only_type && strcmp(json_string_value(json_object_get(c, "type")), only_type) != 0)
            continue;
        run_case(r, c, defs);
        n++;
    }
    cr_expect_eq(r->failed, 0, "%d failure(s) in %s:%s", r->failed, file, r->buf);
    free(r);
    json_decref(schemas);
    json_decref(data);
    return n;
}

Test(patch, merge_patch_cases_from_the_table)
{
    cr_assert_geq(run_file("merge.json", "merge"), 15);
}

Test(patch, json_patch_cases_from_the_table)
{
    cr_assert_geq(run_file("jsonpatch.json", "json"), 20);
}

Test(patch, strategic_cases_from_the_table)
{
    cr_assert_geq(run_file("strategic.json", "strategic"), 30);
}

Test(patch, strategic_cases_from_upstream_patch_test_go)
{
    cr_assert_geq(run_file("strategic_upstream.json", "strategic"), 100);
}

/* ---- what tables cannot say ------------------------------------------------------------------ */

static json_t *parse(const char *text)
{
    json_error_t jerr;
    json_t *v = json_loads(text, JSON_DECODE_ANY, &jerr);
    cr_assert_not_null(v, "bad test JSON: %s", jerr.text);
    return v;
}

static json_t *load_definitions(json_t **holder)
{
    *holder = load_data("schemas.json");
    return json_object_get(*holder, "definitions");
}

/* The keys of an object, in order, joined by commas. */
static void keys_of(const json_t *obj, char *out, size_t size)
{
    const char *k;
    json_t *v;
    out[0] = '\0';
    json_object_foreach ((json_t *)obj, k, v) {
        if (out[0])
            strncat(out, ",", size - strlen(out) - 1);
        strncat(out, k, size - strlen(out) - 1);
    }
}

Test(patch, existing_keys_keep_their_place_and_new_keys_follow)
{
    json_t *holder;
    const json_t *defs = load_definitions(&holder);
    json_t *cur =
        parse("{\"kind\":\"Service\",\"spec\":{\"type\":\"ClusterIP\",\"selector\":{\"b\":\"1\","
              "\"a\":\"2\"},\"clusterIP\":\"10.0.0.1\"},\"metadata\":{\"name\":\"x\"}}");
    const char *body =
        "{\"spec\":{\"selector\":{\"c\":\"3\",\"a\":\"9\"},\"zeta\":1,\"type\":\"NodePort\"},"
        "\"apiVersion\":\"v1\"}";
    struct patch_error err;
    char keys[256];
    patch_error_init(&err);
    json_t *out = patch_strategic_apply(cur, body, strlen(body), defs, "io.k8s.api.core.v1.Service",
                                        PATCH_VALIDATION_WARN, NULL, NULL, &err);
    cr_assert_not_null(out, "%s", err.message);
    keys_of(out, keys, sizeof(keys));
    cr_expect_str_eq(keys, "kind,spec,metadata,apiVersion");
    keys_of(json_object_get(out, "spec"), keys, sizeof(keys));
    cr_expect_str_eq(keys, "type,selector,clusterIP,zeta");
    keys_of(json_object_get(json_object_get(out, "spec"), "selector"), keys, sizeof(keys));
    cr_expect_str_eq(keys, "b,a,c");
    json_decref(out);

    out = patch_merge_apply(cur, body, strlen(body), PATCH_VALIDATION_WARN, NULL, &err);
    cr_assert_not_null(out, "%s", err.message);
    keys_of(json_object_get(out, "spec"), keys, sizeof(keys));
    cr_expect_str_eq(keys, "type,selector,clusterIP,zeta");
    json_decref(out);
    json_decref(cur);
    json_decref(holder);
    patch_error_release(&err);
}

Test(patch, json_patch_with_more_than_10000_operations_is_413)
{
    size_t n = PATCH_MAX_JSON_PATCH_OPS + 1, len = 0;
    const char *op = "{\"op\":\"test\",\"path\":\"/a\",\"value\":1},";
    char *body = malloc(n * strlen(op) + 3);
    json_t *cur = parse("{\"a\":1}");
    struct patch_error err;
    body[len++] = '[';
    for (size_t i = 0; i < n; i++) {
        memcpy(body + len, op, strlen(op));
        len += strlen(op);
    }
    body[len - 1] = ']';
    patch_error_init(&err);
    cr_assert_null(patch_json_apply(cur, body, len, PATCH_VALIDATION_WARN, NULL, &err));
    cr_expect_eq(err.code, 413);
    cr_expect_str_eq(err.reason, "RequestEntityTooLarge");
    cr_expect_str_eq(err.message, "Request entity too large: The allowed maximum operations in a "
                                  "JSON patch is 10000, got 10001");
    /* 10000 passing tests are fine. */
    body[len - 1 - strlen(op)] = ']';
    json_t *out = patch_json_apply(cur, body, len - strlen(op), PATCH_VALIDATION_WARN, NULL, &err);
    cr_expect(json_equal(out, cur));
    json_decref(out);
    json_decref(cur);
    free(body);
    patch_error_release(&err);
}

Test(patch, json_patch_copies_stop_at_three_mebibytes)
{
    /* A 200000-byte string copied over and over: the sixteenth copy passes 3 MiB. */
    size_t big = 200000;
    char *doc = malloc(big + 16);
    snprintf(doc, 16, "{\"s\":\"");
    memset(doc + 6, 'x', big);
    strcpy(doc + 6 + big, "\"}");
    json_t *cur = parse(doc);
    char body[4096];
    size_t len = 0;
    len += (size_t)snprintf(body + len, sizeof(body) - len, "[");
    for (int i = 0; i < 20; i++)
        len += (size_t)snprintf(body + len, sizeof(body) - len,
                                "%s{\"op\":\"copy\",\"from\":\"/s\",\"path\":\"/c%d\"}",
                                i ? "," : "", i);
    len += (size_t)snprintf(body + len, sizeof(body) - len, "]");
    struct patch_error err;
    patch_error_init(&err);
    cr_assert_null(patch_json_apply(cur, body, len, PATCH_VALIDATION_WARN, NULL, &err));
    cr_expect_eq(err.code, 422);
    cr_expect_str_eq(err.detail,
                     "Unable to complete the copy, the accumulated size increase of copy "
                     "is 3200032, exceeding the limit 3145728");
    json_decref(cur);
    free(doc);
    patch_error_release(&err);
}

Test(patch, bodies_nested_too_deeply_fail_like_go)
{
    size_t depth = PATCH_MAX_DEPTH + 1;
    char *body = malloc(2 * depth + 8);
    size_t len = 0;
    json_t *cur = parse("{}");
    struct patch_error err;
    body[len++] = '{';
    memcpy(body + len, "\"a\":", 4);
    len += 4;
    for (size_t i = 1; i < depth; i++)
        body[len++] = '[';
    for (size_t i = 1; i < depth; i++)
        body[len++] = ']';
    body[len++] = '}';
    patch_error_init(&err);
    cr_assert_null(
        patch_strategic_apply(cur, body, len, NULL, NULL, PATCH_VALIDATION_WARN, NULL, NULL, &err));
    cr_expect_eq(err.code, 400);
    cr_expect_str_eq(err.message, "invalid character '[' exceeded max depth");
    cr_assert_null(patch_merge_apply(cur, body, len, PATCH_VALIDATION_IGNORE, NULL, &err));
    cr_expect_str_eq(err.message, "Invalid JSON Patch");
    json_decref(cur);
    free(body);
    patch_error_release(&err);
}

Test(patch, json_patch_results_nested_too_deeply_are_413)
{
    /* Each operation adds one level below the last: every body is shallow, the result is not. */
    size_t levels = PATCH_MAX_DEPTH + 1, cap = levels * levels * 2 + levels * 64, len = 0;
    char *body = malloc(cap);
    json_t *cur = parse("{}");
    struct patch_error err;
    body[len++] = '[';
    for (size_t i = 0; i < levels; i++) {
        len +=
            (size_t)snprintf(body + len, cap - len, "%s{\"op\":\"add\",\"path\":\"", i ? "," : "");
        for (size_t j = 0; j <= i; j++)
            len += (size_t)snprintf(body + len, cap - len, "/a");
        len += (size_t)snprintf(body + len, cap - len, "\",\"value\":{}}");
    }
    body[len++] = ']';
    patch_error_init(&err);
    cr_assert_null(patch_json_apply(cur, body, len, PATCH_VALIDATION_IGNORE, NULL, &err));
    cr_expect_eq(err.code, 413);
    json_decref(cur);
    free(body);
    patch_error_release(&err);
}

Test(patch, quadratic_strategic_merges_are_cut_short)
{
    /* 20000 distinct finalizers against 20000 more: deduplicating them is 8e8 comparisons. */
    size_t n = 20000, cap = n * 16 + 64, len = 0, dlen = 0;
    char *body = malloc(cap), *doc = malloc(cap);
    struct patch_error err;
    json_t *holder;
    const json_t *defs = load_definitions(&holder);
    dlen += (size_t)snprintf(doc, cap, "{\"metadata\":{\"finalizers\":[");
    len += (size_t)snprintf(body, cap, "{\"metadata\":{\"finalizers\":[");
    for (size_t i = 0; i < n; i++) {
        dlen += (size_t)snprintf(doc + dlen, cap - dlen, "%s\"o%zu\"", i ? "," : "", i);
        len += (size_t)snprintf(body + len, cap - len, "%s\"p%zu\"", i ? "," : "", i);
    }
    snprintf(doc + dlen, cap - dlen, "]}}");
    len += (size_t)snprintf(body + len, cap - len, "]}}");
    json_t *cur = parse(doc);
    patch_error_init(&err);
    cr_assert_null(patch_strategic_apply(cur, body, len, defs, "io.k8s.api.core.v1.Service",
                                         PATCH_VALIDATION_WARN, NULL, NULL, &err));
    cr_expect_eq(err.code, 413);
    cr_expect_str_eq(err.reason, "RequestEntityTooLarge");
    json_decref(cur);
    json_decref(holder);
    free(body);
    free(doc);
    patch_error_release(&err);
}

Test(patch, invalid_utf8_and_lone_surrogates_become_replacement_characters)
{
    const char body[] = "{\"a\":\"x\xffy\",\"b\":\"\\ud800z\",\"c\":\"\\ud83d\\ude00\"}";
    json_t *cur = parse("{}");
    struct patch_error err;
    patch_error_init(&err);
    json_t *out = patch_merge_apply(cur, body, sizeof(body) - 1, PATCH_VALIDATION_WARN, NULL, &err);
    cr_assert_not_null(out);
    cr_expect_str_eq(json_string_value(json_object_get(out, "a")), "x\xef\xbf\xbdy");
    cr_expect_str_eq(json_string_value(json_object_get(out, "b")), "\xef\xbf\xbdz");
    cr_expect_str_eq(json_string_value(json_object_get(out, "c")), "\xf0\x9f\x98\x80");
    json_decref(out);
    json_decref(cur);
    patch_error_release(&err);
}

Test(patch, go_formatting_matches_fmt)
{
    /* Expected strings printed by Go's fmt (go1.19) for the same values. */
    json_t *v = parse("{\"b\":[1.5,1e21,null,true,7,1000000.0,123456.0,0.0001,0.00001],\"a\":\"x\","
                      "\"c\":{}}");
    char *s = patch_go_format(v);
    cr_expect_str_eq(s, "map[a:x b:[1.5 1e+21 <nil> true 7 1e+06 123456 0.0001 1e-05] c:map[]]");
    free(s);
    json_decref(v);
    v = parse("null");
    s = patch_go_format(v);
    cr_expect_str_eq(s, "<nil>");
    free(s);
    json_decref(v);
}

Test(patch, media_types_name_the_three_patch_types)
{
    enum patch_type t;
    cr_expect_eq(patch_type_parse("application/json-patch+json", &t), 0);
    cr_expect_eq(t, PATCH_TYPE_JSON);
    cr_expect_eq(patch_type_parse("application/merge-patch+json", &t), 0);
    cr_expect_eq(t, PATCH_TYPE_MERGE);
    cr_expect_eq(patch_type_parse("application/strategic-merge-patch+json", &t), 0);
    cr_expect_eq(t, PATCH_TYPE_STRATEGIC);
    cr_expect_eq(patch_type_parse("application/apply-patch+yaml", &t), -1);
    cr_expect_eq(patch_type_parse("application/json", &t), -1);
}

Test(patch, trees_merge_like_bodies)
{
    json_t *holder;
    const json_t *defs = load_definitions(&holder);
    json_t *cur =
        parse("{\"spec\":{\"ports\":[{\"port\":80,\"name\":\"a\"}],\"selector\":{\"x\":\"1\"}}}");
    json_t *patch = parse("{\"spec\":{\"ports\":[{\"port\":80,\"name\":null,\"targetPort\":81}],"
                          "\"selector\":{\"x\":null}}}");
    json_t *want_smp =
        parse("{\"spec\":{\"ports\":[{\"port\":80,\"targetPort\":81}],\"selector\":{}}}");
    json_t *want_merge =
        parse("{\"spec\":{\"ports\":[{\"port\":80,\"targetPort\":81}],\"selector\":{}}}");
    char *before = json_dumps(patch, JSON_COMPACT);
    struct patch_error err;
    patch_error_init(&err);
    json_t *out = patch_strategic_tree(cur, patch, defs, "io.k8s.api.core.v1.Service", &err);
    cr_expect(json_equal(out, want_smp));
    json_decref(out);
    out = patch_merge_tree(cur, patch);
    cr_expect(json_equal(out, want_merge));
    json_decref(out);
    char *after = json_dumps(patch, JSON_COMPACT);
    cr_expect_str_eq(after, before, "the patch tree must not change");
    json_t *scalar = parse("5");
    cr_expect_null(patch_merge_tree(cur, scalar));
    cr_expect_null(patch_strategic_tree(cur, scalar, defs, "io.k8s.api.core.v1.Service", &err));
    cr_expect_eq(err.code, 400);
    json_decref(scalar);
    free(before);
    free(after);
    json_decref(cur);
    json_decref(patch);
    json_decref(want_smp);
    json_decref(want_merge);
    json_decref(holder);
    patch_error_release(&err);
}

/* The patched document as json-patch v4 writes it: entered objects sorted, the rest as read. */
Test(patch, patched_documents_are_quoted_as_json_patch_writes_them)
{
    json_t *cur = json_loads("{\"kind\":\"Service\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":"
                             "\"a\",\"labels\":{\"z\":\"1\",\"b\":\"2\"}},\"spec\":{\"type\":\"X\","
                             "\"ports\":[{\"port\":80,\"name\":\"p\"}]}}",
                             0, NULL);
    /* merge: root and spec entered; a new object value is decoded (sorted) all the way down;
       labels and ports are left as they were */
    const char *mp = "{\"spec\":{\"bogus\":1,\"new\":{\"y\":1,\"a\":{\"d\":1,\"c\":2}}}}";
    struct patch_error pe;
    patch_error_init(&pe);
    json_t *patched = patch_merge_apply(cur, mp, strlen(mp), PATCH_VALIDATION_IGNORE, NULL, &pe);
    cr_assert_not_null(patched);
    char *text = patch_render_merge(cur, mp, strlen(mp), patched);
    cr_expect_str_eq(text,
                     "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"a\","
                     "\"labels\":{\"z\":\"1\",\"b\":\"2\"}},\"spec\":{\"bogus\":1,\"new\":{"
                     "\"a\":{\"c\":2,\"d\":1},\"y\":1},\"ports\":[{\"port\":80,\"name\":"
                     "\"p\"}],\"type\":\"X\"}}");
    free(text);
    json_decref(patched);
    /* JSON patch: only the containers on the way to each target are entered */
    const char *jp = "[{\"op\":\"add\",\"path\":\"/spec/ports/0/zz\",\"value\":{\"b\":1,\"a\":2}}]";
    patched = patch_json_apply(cur, jp, strlen(jp), PATCH_VALIDATION_IGNORE, NULL, &pe);
    cr_assert_not_null(patched);
    text = patch_render_json(jp, strlen(jp), patched);
    cr_expect_str_eq(text,
                     "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"a\","
                     "\"labels\":{\"z\":\"1\",\"b\":\"2\"}},\"spec\":{\"ports\":[{\"name\":"
                     "\"p\",\"port\":80,\"zz\":{\"b\":1,\"a\":2}}],\"type\":\"X\"}}");
    free(text);
    json_decref(patched);
    patch_error_release(&pe);
    json_decref(cur);
}
