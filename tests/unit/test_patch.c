/*
 * Unit tests for src/patch: table-driven cases from the JSON files of tests/data/patch/ (original document,
 * body, patch type, then the expected result or error), and a few tests of what tables cannot say
 * (key order, limits, the caller's document left alone).
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
    snprintf(wcode, sizeof(wcode), "%lld", (long long)json_integer_value(json_object_get(want, "code")));
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
                                    json_string_value(json_object_get(c, "root")),
                                    validation_of(c), &strict, &repr, &err);

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
