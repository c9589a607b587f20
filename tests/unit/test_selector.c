/*
 * Unit tests of src/selector/: label and field selectors against upstream's behaviour. Most cases
 * are data in tests/data/selector/ (label.json, field.json, label_selector_json.json,
 * label_map.json), written from apimachinery's own selector_test.go files and from reading the
 * parser; the tests here walk those tables and add what a table cannot hold (NUL bytes, invalid
 * UTF-8, getters, conversion callbacks, large inputs).
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "svc/selector.h"

#ifndef TEST_DATA_DIR
#define TEST_DATA_DIR "tests/data"
#endif

static json_t *load_cases(const char *name)
{
    char path[512];
    json_error_t jerr;
    json_t *cases;

    snprintf(path, sizeof(path), "%s/selector/%s", TEST_DATA_DIR, name);
    cases = json_load_file(path, 0, &jerr);
    cr_assert_not_null(cases, "cannot load %s: %s (line %d)", path, jerr.text, jerr.line);
    cr_assert(json_is_array(cases), "%s is not an array", path);
    return cases;
}

/* "case <selector>" for messages */
static const char *case_name(const json_t *c)
{
    const char *n = json_string_value(json_object_get(c, "name"));
    return n ? n : json_string_value(json_object_get(c, "selector"));
}

static void check_label_expectations(const json_t *c, const struct label_selector *sel)
{
    const char *want_str = json_string_value(json_object_get(c, "string"));
    const json_t *empty = json_object_get(c, "empty");
    const json_t *match = json_object_get(c, "match");
    const json_t *exact = json_object_get(c, "exact");
    const char *key;
    json_t *v;
    size_t i;

    if (want_str) {
        char *s = label_selector_string(sel);
        cr_expect_str_eq(s, want_str, "[%s] string", case_name(c));
        free(s);
    }
    if (empty)
        cr_expect_eq(label_selector_empty(sel), json_is_true(empty), "[%s] empty", case_name(c));
    json_array_foreach (match, i, v) {
        const json_t *labels = json_object_get(v, "labels");
        bool want = json_is_true(json_object_get(v, "want"));
        cr_expect_eq(label_selector_matches(sel, json_is_null(labels) ? NULL : labels), want,
                     "[%s] match #%zu should be %d", case_name(c), i, want);
    }
    json_object_foreach ((json_t *)exact, key, v) {
        const char *got = label_selector_requires_exact_match(sel, key);
        if (json_is_null(v))
            cr_expect_null(got, "[%s] exact %s should be none, got %s", case_name(c), key, got);
        else
            cr_expect(got && strcmp(got, json_string_value(v)) == 0, "[%s] exact %s: got %s",
                      case_name(c), key, got ? got : "(none)");
    }
}

Test(selector, label_cases_from_data)
{
    json_t *cases = load_cases("label.json");
    json_t *c;
    size_t i;

    cr_assert_geq(json_array_size(cases), 50);
    json_array_foreach (cases, i, c) {
        const char *s = json_string_value(json_object_get(c, "selector"));
        const char *want_err = json_string_value(json_object_get(c, "error"));
        char *err = NULL;
        struct label_selector *sel = label_selector_parse(s, &err);

        if (want_err) {
            cr_expect_null(sel, "[%s] should fail", s);
            cr_expect(err && strcmp(err, want_err) == 0, "[%s] error\n got: %s\nwant: %s", s,
                      err ? err : "(none)", want_err);
        } else {
            cr_expect_not_null(sel, "[%s] should parse, got: %s", s, err ? err : "");
            cr_expect_null(err, "[%s] no error expected", s);
            if (sel)
                check_label_expectations(c, sel);
        }
        free(err);
        label_selector_free(sel);
    }
    json_decref(cases);
}

Test(selector, label_selector_json_cases_from_data)
{
    json_t *cases = load_cases("label_selector_json.json");
    json_t *c;
    size_t i;

    json_array_foreach (cases, i, c) {
        const json_t *ls = json_object_get(c, "labelSelector");
        const char *want_err = json_string_value(json_object_get(c, "error"));
        const char *want_fmt = json_string_value(json_object_get(c, "format"));
        char *err = NULL;
        struct label_selector *sel = label_selector_from_json(ls, &err);

        if (want_err) {
            cr_expect_null(sel, "[%s] should fail", case_name(c));
            cr_expect(err && strcmp(err, want_err) == 0, "[%s] error\n got: %s\nwant: %s",
                      case_name(c), err ? err : "(none)", want_err);
        } else {
            cr_expect_not_null(sel, "[%s] should convert, got: %s", case_name(c), err ? err : "");
            if (sel)
                check_label_expectations(c, sel);
        }
        if (want_fmt) {
            char *f = label_selector_format_json(ls);
            cr_expect_str_eq(f, want_fmt, "[%s] format", case_name(c));
            free(f);
        }
        free(err);
        label_selector_free(sel);
    }
    json_decref(cases);
}

Test(selector, label_map_cases_from_data)
{
    json_t *cases = load_cases("label_map.json");
    json_t *c;
    size_t i;

    json_array_foreach (cases, i, c) {
        const json_t *map = json_object_get(c, "map");
        struct label_selector *sel = label_selector_from_map(json_is_null(map) ? NULL : map);
        char *f = label_selector_format_map(json_is_null(map) ? NULL : map);
        char *s = label_selector_string(sel);

        cr_expect_str_eq(f, json_string_value(json_object_get(c, "format")), "map #%zu format", i);
        cr_expect_str_eq(s, json_string_value(json_object_get(c, "string")), "map #%zu string", i);
        check_label_expectations(c, sel);
        free(f);
        free(s);
        label_selector_free(sel);
    }
    json_decref(cases);
}

Test(selector, nil_label_selector_is_nothing_whether_pointer_or_json_null)
{
    char *err = NULL;
    struct label_selector *sel = label_selector_from_json(NULL, &err);
    json_t *labels = json_pack("{s:s}", "a", "b");
    char *f = label_selector_format_json(NULL);

    cr_assert_not_null(sel);
    cr_expect_null(err);
    cr_expect_not(label_selector_matches(sel, labels));
    cr_expect_not(label_selector_empty(sel));
    cr_expect_str_eq(f, "<none>");
    free(f);
    label_selector_free(sel);
    json_decref(labels);
}

/* A getter over a JSON object that also counts its calls, to check matching reads through it. */
struct getter_ctx {
    const json_t *obj;
    int calls;
};

static const char *json_getter(void *ctx, const char *field)
{
    struct getter_ctx *g = ctx;
    g->calls++;
    return json_string_value(json_object_get(g->obj, field));
}

Test(selector, field_cases_from_data)
{
    json_t *cases = load_cases("field.json");
    json_t *c;
    size_t i;

    cr_assert_geq(json_array_size(cases), 25);
    json_array_foreach (cases, i, c) {
        const char *s = json_string_value(json_object_get(c, "selector"));
        const char *want_err = json_string_value(json_object_get(c, "error"));
        const char *want_str = json_string_value(json_object_get(c, "string"));
        const json_t *empty = json_object_get(c, "empty");
        const json_t *fields = json_object_get(c, "fields");
        const json_t *values = json_object_get(c, "values");
        const json_t *match = json_object_get(c, "match");
        const json_t *exact = json_object_get(c, "exact");
        char *err = NULL;
        struct field_selector *sel = field_selector_parse(s, &err);
        const char *key;
        json_t *v;
        size_t k;

        if (want_err) {
            cr_expect_null(sel, "[%s] should fail", s);
            cr_expect(err && strcmp(err, want_err) == 0, "[%s] error\n got: %s\nwant: %s", s,
                      err ? err : "(none)", want_err);
            free(err);
            continue;
        }
        cr_expect_not_null(sel, "[%s] should parse, got: %s", s, err ? err : "");
        free(err);
        if (!sel)
            continue;
        if (want_str) {
            char *got = field_selector_string(sel);
            cr_expect_str_eq(got, want_str, "[%s] string", s);
            free(got);
        }
        if (empty)
            cr_expect_eq(field_selector_empty(sel), json_is_true(empty), "[%s] empty", s);
        if (fields) {
            cr_expect_eq(field_selector_len(sel), json_array_size(fields), "[%s] field count", s);
            json_array_foreach (fields, k, v) {
                if (k < field_selector_len(sel))
                    cr_expect_str_eq(field_selector_field(sel, k), json_string_value(v),
                                     "[%s] field #%zu", s, k);
            }
        }
        json_array_foreach (values, k, v) {
            if (k < field_selector_len(sel))
                cr_expect_str_eq(field_selector_value(sel, k), json_string_value(v),
                                 "[%s] value #%zu", s, k);
        }
        json_array_foreach (match, k, v) {
            const json_t *set = json_object_get(v, "fields");
            bool want = json_is_true(json_object_get(v, "want"));
            struct getter_ctx g = {set, 0};
            cr_expect_eq(field_selector_matches_set(sel, json_is_null(set) ? NULL : set), want,
                         "[%s] match #%zu should be %d", s, k, want);
            cr_expect_eq(field_selector_matches(sel, json_getter, &g), want,
                         "[%s] getter match #%zu should be %d", s, k, want);
        }
        json_object_foreach ((json_t *)exact, key, v) {
            const char *got = field_selector_requires_exact_match(sel, key);
            if (json_is_null(v))
                cr_expect_null(got, "[%s] exact %s should be none", s, key);
            else
                cr_expect(got && strcmp(got, json_string_value(v)) == 0, "[%s] exact %s: %s", s,
                          key, got ? got : "(none)");
        }
        field_selector_free(sel);
    }
    json_decref(cases);
}

Test(selector, label_lexer_handles_nul_bytes_as_upstream_does)
{
    char *err = NULL;
    struct label_selector *sel = label_selector_parse_n("a\0b", 3, &err);

    cr_expect_null(sel); /* "a" and "b" are two tokens, and "b" is no operator */
    cr_expect_str_eq(err, "unable to parse requirement: found 'b', expected: in, notin, =, ==, "
                          "!=, gt, lt");
    free(err);
    err = NULL;
    /* after a special symbol the NUL is consumed like any terminator, so "b" is still read */
    sel = label_selector_parse_n("a,\0b", 4, &err);
    cr_assert_not_null(sel, "%s", err);
    char *s = label_selector_string(sel);
    cr_expect_str_eq(s, "a,b");
    free(s);
    label_selector_free(sel);
    /* but a NUL met where a token starts is the end of the string: "b" is never seen */
    sel = label_selector_parse_n("a \0b", 4, &err);
    cr_assert_not_null(sel, "%s", err);
    s = label_selector_string(sel);
    cr_expect_str_eq(s, "a");
    free(s);
    label_selector_free(sel);
    sel = label_selector_parse_n("a\0", 2, &err);
    cr_assert_not_null(sel);
    cr_expect_null(err);
    label_selector_free(sel);
}

Test(selector, label_bad_bytes_in_key_are_quoted_as_go_does)
{
    char *err = NULL;
    struct label_selector *sel = label_selector_parse("k\xff\xfe=v", &err);

    cr_expect_null(sel);
    cr_assert_not_null(err);
    cr_expect(strncmp(err,
                      "unable to parse requirement: <nil>: Invalid value: \"k\\xff\\xfe\": "
                      "name part must consist of",
                      strlen("unable to parse requirement: <nil>: Invalid value: \"k\\xff\\xfe\": "
                             "name part must consist of")) == 0,
              "got %s", err);
    free(err);
    /* a zero-width space is not printable for Go, a CJK letter is */
    err = NULL;
    sel = label_selector_parse("a\xe2\x80\x8b\xe6\x96\x87", &err);
    cr_expect_null(sel);
    cr_assert_not_null(err);
    cr_expect(strstr(err, "Invalid value: \"a\\u200b\xe6\x96\x87\": ") != NULL, "got %s", err);
    free(err);
}

Test(selector, label_gt_lt_need_the_label_to_parse_as_int64)
{
    char *err = NULL;
    struct label_selector *sel = label_selector_parse("n>-5", &err);
    cr_expect_null(sel); /* "-5" is an integer but not a label value */
    free(err);

    sel = label_selector_parse("n>5", &err);
    cr_assert_not_null(sel);
    json_t *l = json_pack("{s:s}", "n", "-9223372036854775809");
    cr_expect_not(label_selector_matches(sel, l)); /* out of range: no match, no wrap */
    json_object_set_new(l, "n", json_string("0x10"));
    cr_expect_not(label_selector_matches(sel, l));
    json_object_set_new(l, "n", json_string("1_000"));
    cr_expect_not(label_selector_matches(sel, l));
    json_object_set_new(l, "n", json_string("6"));
    cr_expect(label_selector_matches(sel, l));
    json_object_set_new(l, "n", json_integer(6)); /* not a string: as if absent */
    cr_expect_not(label_selector_matches(sel, l));
    json_decref(l);
    label_selector_free(sel);
}

Test(selector, label_values_compare_whole_strings)
{
    char *err = NULL;
    struct label_selector *sel = label_selector_parse("a=b", &err);
    json_t *l = json_object();

    cr_assert_not_null(sel);
    json_object_set_new(l, "a", json_stringn("b\0c", 3));
    cr_expect_not(label_selector_matches(sel, l));
    json_object_set_new(l, "a", json_string("b"));
    cr_expect(label_selector_matches(sel, l));
    json_decref(l);
    label_selector_free(sel);
}

Test(selector, field_value_with_bad_utf8_is_rewritten_only_when_unescaped)
{
    char *err = NULL;
    struct field_selector *sel = field_selector_parse("x=\xff\\,", &err);

    cr_assert_not_null(sel, "%s", err);
    cr_expect_str_eq(field_selector_value(sel, 0), "\xef\xbf\xbd,");
    field_selector_free(sel);
    sel = field_selector_parse("x=\xff", &err);
    cr_assert_not_null(sel);
    cr_expect_str_eq(field_selector_value(sel, 0), "\xff");
    field_selector_free(sel);
    /* an escape of a bad byte names U+FFFD */
    sel = field_selector_parse("x=\\\xff", &err);
    cr_expect_null(sel);
    cr_expect_str_eq(err, "invalid field selector: invalid escape sequence: \\\xef\xbf\xbd");
    free(err);
}

Test(selector, field_getter_sees_each_term_and_missing_reads_as_empty)
{
    char *err = NULL;
    struct field_selector *sel = field_selector_parse("a=1,b!=2,c=", &err);
    json_t *obj = json_pack("{s:s}", "a", "1");
    struct getter_ctx g = {obj, 0};

    cr_assert_not_null(sel);
    cr_expect(field_selector_matches(sel, json_getter, &g));
    cr_expect_eq(g.calls, 3);
    cr_expect_eq(field_selector_op(sel, 0), FIELD_SELECTOR_EQUALS);
    cr_expect_eq(field_selector_op(sel, 1), FIELD_SELECTOR_NOT_EQUALS);
    json_decref(obj);
    field_selector_free(sel);
}

Test(selector, field_check_supported_names_first_unsupported_in_sorted_order)
{
    static const char *const service_fields[] = {"metadata.name", "metadata.namespace",
                                                 "spec.clusterIP", "spec.type", NULL};
    char *err = NULL;
    struct field_selector *sel = field_selector_parse("spec.type=NodePort,metadata.name=a", &err);

    cr_assert_not_null(sel);
    cr_expect_eq(field_selector_check_supported(sel, service_fields, &err), 0);
    cr_expect_null(err);
    field_selector_free(sel);

    sel = field_selector_parse("spec.foo=b,metadata.name=a,status.x=1", &err);
    cr_assert_not_null(sel);
    cr_expect_eq(field_selector_check_supported(sel, service_fields, &err), -1);
    cr_expect_str_eq(err, "field label not supported: spec.foo");
    free(err);
    cr_expect_eq(field_selector_check_default(sel, &err), -1);
    cr_expect_str_eq(err, "\"spec.foo\" is not a known field selector: only \"metadata.name\", "
                          "\"metadata.namespace\"");
    free(err);
    field_selector_free(sel);

    sel = field_selector_parse("metadata.namespace=x,metadata.name=y", &err);
    cr_assert_not_null(sel);
    cr_expect_eq(field_selector_check_default(sel, &err), 0);
    field_selector_free(sel);
}

/* Pod's conversion upstream: spec.host is an old name of spec.nodeName; "bad" is refused. */
static int pod_convert(void *ctx, const char *field, const char *value, const char **new_field,
                       char **err)
{
    (void)value;
    ++*(int *)ctx;
    if (strcmp(field, "spec.host") == 0)
        *new_field = "spec.nodeName";
    if (strcmp(field, "bad") == 0) {
        *err = strdup("field label not supported: bad");
        return -1;
    }
    if (strcmp(field, "drop") == 0)
        *new_field = "";
    return 0;
}

Test(selector, field_convert_renames_drops_and_rejects)
{
    char *err = NULL, *s;
    int calls = 0;
    struct field_selector *sel = field_selector_parse("spec.host=n1,metadata.name=a,drop=", &err);

    cr_assert_not_null(sel);
    cr_expect_eq(field_selector_convert(sel, pod_convert, &calls, &err), 0);
    cr_expect_eq(calls, 3);
    s = field_selector_string(sel);
    cr_expect_str_eq(s, "metadata.name=a,spec.nodeName=n1");
    free(s);
    cr_expect_str_eq(field_selector_requires_exact_match(sel, "spec.nodeName"), "n1");
    field_selector_free(sel);

    sel = field_selector_parse("spec.host=n1,bad=1", &err);
    cr_assert_not_null(sel);
    cr_expect_eq(field_selector_convert(sel, pod_convert, &calls, &err), -1);
    cr_expect_str_eq(err, "field label not supported: bad");
    free(err);
    s = field_selector_string(sel);
    cr_expect_str_eq(s, "bad=1,spec.host=n1"); /* unchanged by the failed conversion */
    free(s);
    field_selector_free(sel);
}

Test(selector, field_escape_value_round_trips)
{
    static const char *const cases[][2] = {
        {"", ""},     {"a", "a"},     {"=", "\\="},
        {",", "\\,"}, {"\\", "\\\\"}, {"\\=\\,\\", "\\\\\\=\\\\\\,\\\\"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *e = field_selector_escape_value(cases[i][0]);
        char *sel_text = NULL, *err = NULL;
        cr_expect_str_eq(e, cases[i][1]);
        sel_text = malloc(strlen(e) + 3);
        strcpy(sel_text, "x=");
        strcat(sel_text, e);
        struct field_selector *sel = field_selector_parse(sel_text, &err);
        cr_assert_not_null(sel, "%s: %s", sel_text, err);
        if (cases[i][0][0])
            cr_expect_str_eq(field_selector_value(sel, 0), cases[i][0]);
        field_selector_free(sel);
        free(sel_text);
        free(e);
    }
}

Test(selector, large_inputs_stay_linear_and_bounded)
{
    size_t n = 200000;
    char *s = malloc(n + 1), *err = NULL;
    struct label_selector *ls;
    struct field_selector *fs;

    /* nothing but open parentheses: one error, no recursion */
    memset(s, '(', n);
    s[n] = '\0';
    ls = label_selector_parse(s, &err);
    cr_expect_null(ls);
    cr_expect_str_eq(err, "found '(', expected: !, identifier, or 'end of string'");
    free(err);
    err = NULL;
    /* a long list of empty values */
    memcpy(s, "x in (", 6);
    memset(s + 6, ',', n - 7);
    s[n - 1] = ')';
    ls = label_selector_parse(s, &err);
    cr_assert_not_null(ls, "%s", err);
    char *str = label_selector_string(ls);
    cr_expect_str_eq(str, "x in ()");
    free(str);
    label_selector_free(ls);
    /* many commas for the field parser */
    memset(s, ',', n);
    fs = field_selector_parse(s, &err);
    cr_assert_not_null(fs);
    cr_expect(field_selector_empty(fs));
    field_selector_free(fs);
    free(s);
}

Test(selector, many_requirements_sort_by_key)
{
    char buf[64 * 40] = "";
    char *err = NULL;
    /* 40 requirements in reverse order, over the 12 where Go's sort stops being insertion */
    for (int i = 39; i >= 0; i--) {
        char one[32];
        snprintf(one, sizeof(one), "%sk%02d=v", i == 39 ? "" : ",", i);
        strcat(buf, one);
    }
    struct label_selector *sel = label_selector_parse(buf, &err);
    cr_assert_not_null(sel, "%s", err);
    char *s = label_selector_string(sel);
    cr_expect(strncmp(s, "k00=v,k01=v,k02=v", 17) == 0, "%s", s);
    cr_expect(strcmp(s + strlen(s) - 5, "k39=v") == 0, "%s", s);
    free(s);
    label_selector_free(sel);
}
