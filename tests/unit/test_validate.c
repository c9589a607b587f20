/*
 * Unit tests for validate: table-driven from the JSON files of tests/data/validate, where every
 * case gives its input and the exact causes (field, reason, message) kube-apiserver 1.33 reports,
 * in order. names.json holds message lists and field helpers, ip.json the IP/CIDR checks and
 * warnings, meta.json ObjectMeta on create and update, endpoints.json Endpoints and EndpointSlices.
 * A few behaviours that tables express badly (robustness on odd input) are tested directly.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "svc/field_error.h"
#include "svc/validate.h"

#ifndef TEST_DATA_DIR
#define TEST_DATA_DIR "tests/data"
#endif

static json_t *load(const char *name)
{
    char path[512];
    json_error_t err;
    snprintf(path, sizeof(path), "%s/validate/%s", TEST_DATA_DIR, name);
    json_t *root = json_load_file(path, 0, &err);
    cr_assert_not_null(root, "cannot load %s: %s (line %d)", path, err.text, err.line);
    return root;
}

/*
 * The input as a case writes it, with two shorthands expanded: {"$str": s, "times": n,
 * "prefix": p, "suffix": x} is p + s*n + x, and {"$repeat": v, "times": n} an array of n v's.
 * Returns a new reference.
 */
static json_t *build(const json_t *spec, int depth)
{
    cr_assert_lt(depth, 32, "test input nested too deeply");
    if (json_is_object(spec) && json_object_get(spec, "$str")) {
        const char *s = json_string_value(json_object_get(spec, "$str"));
        const char *pre = json_string_value(json_object_get(spec, "prefix"));
        const char *suf = json_string_value(json_object_get(spec, "suffix"));
        json_int_t times = json_integer_value(json_object_get(spec, "times"));
        pre = pre ? pre : "";
        suf = suf ? suf : "";
        cr_assert(s && times >= 0 && times <= 1000000);
        size_t n = strlen(s), total = strlen(pre) + n * (size_t)times + strlen(suf);
        char *buf = malloc(total + 1), *p = buf;
        p = stpcpy(p, pre);
        for (json_int_t i = 0; i < times; i++)
            p = stpcpy(p, s);
        stpcpy(p, suf);
        json_t *out = json_string(buf);
        free(buf);
        return out;
    }
    if (json_is_object(spec) && json_object_get(spec, "$repeat")) {
        json_int_t times = json_integer_value(json_object_get(spec, "times"));
        cr_assert(times >= 0 && times <= 100000);
        json_t *out = json_array();
        for (json_int_t i = 0; i < times; i++)
            json_array_append_new(out, build(json_object_get(spec, "$repeat"), depth + 1));
        return out;
    }
    if (json_is_object(spec)) {
        json_t *out = json_object();
        const char *key;
        json_t *value;
        json_object_foreach ((json_t *)spec, key, value)
            json_object_set_new(out, key, build(value, depth + 1));
        return out;
    }
    if (json_is_array(spec)) {
        json_t *out = json_array();
        for (size_t i = 0; i < json_array_size(spec); i++)
            json_array_append_new(out, build(json_array_get(spec, i), depth + 1));
        return out;
    }
    return json_deep_copy(spec);
}

static bool starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* Compare the list with the case's "causes" (and "aggregate" when given). */
static void expect_causes(const struct field_errors *errs, const json_t *c)
{
    const char *name = json_string_value(json_object_get(c, "name"));
    const json_t *want = json_object_get(c, "causes");
    size_t n = json_array_size(want);
    for (size_t i = 0; i < errs->len && i < n; i++) {
        const json_t *w = json_array_get(want, i);
        const struct field_error *e = &errs->items[i];
        char *body = fe_body(e);
        cr_expect_str_eq(e->field, json_string_value(json_object_get(w, "field")),
                         "[%s] cause %zu field", name, i);
        cr_expect_str_eq(fe_reason(e->type), json_string_value(json_object_get(w, "reason")),
                         "[%s] cause %zu reason", name, i);
        const char *msg = json_string_value(json_object_get(w, "message"));
        if (msg) {
            cr_expect_str_eq(body, msg, "[%s] cause %zu message", name, i);
        } else {
            const char *pre = json_string_value(json_object_get(w, "message_prefix"));
            const char *suf = json_string_value(json_object_get(w, "message_suffix"));
            cr_expect(pre && starts_with(body, pre), "[%s] cause %zu: %s lacks prefix %s", name, i,
                      body, pre);
            cr_expect(suf && ends_with(body, suf), "[%s] cause %zu: %s lacks suffix %s", name, i,
                      body, suf);
        }
        free(body);
    }
    if (errs->len != n) {
        char *agg = fe_aggregate(errs);
        cr_expect_eq(errs->len, n, "[%s] %zu causes, want %zu: %s", name, errs->len, n, agg);
        free(agg);
    }
    const char *want_agg = json_string_value(json_object_get(c, "aggregate"));
    if (want_agg) {
        char *agg = fe_aggregate(errs);
        cr_expect_str_eq(agg, want_agg, "[%s] aggregate", name);
        free(agg);
    }
}

/* ---- names.json -------------------------------------------------------------------------------
 */

static size_t run_check(const char *check, const json_t *value, bool prefix,
                        struct validate_msgs *out)
{
    const char *s = json_string_value(value);
    if (strcmp(check, "dns1123_label") == 0)
        return validate_is_dns1123_label(s, out);
    if (strcmp(check, "dns1123_subdomain") == 0)
        return validate_is_dns1123_subdomain(s, out);
    if (strcmp(check, "dns1035_label") == 0)
        return validate_is_dns1035_label(s, out);
    if (strcmp(check, "qualified_name") == 0)
        return validate_is_qualified_name(s, out);
    if (strcmp(check, "label_value") == 0)
        return validate_is_label_value(s, out);
    if (strcmp(check, "port_name") == 0)
        return validate_is_port_name(s, out);
    if (strcmp(check, "port_num") == 0)
        return validate_is_port_num(json_integer_value(value), out);
    if (strcmp(check, "path_segment_name") == 0)
        return validate_is_path_segment_name(s, out);
    if (strcmp(check, "name_dns1035") == 0)
        return validate_name_is_dns1035_label(s, prefix, out);
    if (strcmp(check, "name_subdomain") == 0)
        return validate_name_is_dns_subdomain(s, prefix, out);
    if (strcmp(check, "name_label") == 0)
        return validate_name_is_dns_label(s, prefix, out);
    if (strcmp(check, "name_path_segment") == 0)
        return validate_name_path_segment(s, prefix, out);
    cr_assert_fail("unknown check %s", check);
    return 0;
}

Test(validate, message_lists_match_apimachinery)
{
    json_t *root = load("names.json");
    json_t *cases = json_object_get(root, "checks");
    cr_assert_geq(json_array_size(cases), 50);
    for (size_t i = 0; i < json_array_size(cases); i++) {
        json_t *c = json_array_get(cases, i);
        const char *name = json_string_value(json_object_get(c, "name"));
        json_t *value = build(json_object_get(c, "value"), 0);
        json_t *want = json_object_get(c, "messages");
        struct validate_msgs msgs;
        size_t n = run_check(json_string_value(json_object_get(c, "check")), value,
                             json_is_true(json_object_get(c, "prefix")), &msgs);
        cr_expect_eq(n, msgs.len, "[%s] count and list disagree", name);
        cr_expect_eq(n, json_array_size(want), "[%s] %zu messages, want %zu (first: %s)", name, n,
                     json_array_size(want), n ? msgs.msg[0] : "-");
        for (size_t j = 0; j < n && j < json_array_size(want); j++)
            cr_expect_str_eq(msgs.msg[j], json_string_value(json_array_get(want, j)),
                             "[%s] message %zu", name, j);
        json_decref(value);
    }
    json_decref(root);
}

Test(validate, field_helpers_report_upstream_causes)
{
    json_t *root = load("names.json");
    json_t *cases = json_object_get(root, "fields");
    cr_assert_geq(json_array_size(cases), 10);
    for (size_t i = 0; i < json_array_size(cases); i++) {
        json_t *c = json_array_get(cases, i);
        const char *check = json_string_value(json_object_get(c, "check"));
        const char *path = json_string_value(json_object_get(c, "path"));
        json_t *value = json_object_get(c, "value");
        const char *s = json_string_value(value);
        struct field_errors errs;
        fe_init(&errs);
        if (strcmp(check, "protocol") == 0)
            validate_protocol_field(&errs, path, s);
        else if (strcmp(check, "port_num") == 0)
            validate_port_num_field(&errs, path, json_integer_value(value));
        else if (strcmp(check, "nonnegative") == 0)
            validate_nonnegative_field(&errs, path, json_integer_value(value));
        else if (strcmp(check, "immutable") == 0)
            validate_immutable_string(&errs, path, json_string_value(json_array_get(value, 0)),
                                      json_string_value(json_array_get(value, 1)));
        else if (strcmp(check, "dns1123_label") == 0)
            validate_dns1123_label_field(&errs, path, s);
        else if (strcmp(check, "dns1123_subdomain") == 0)
            validate_dns1123_subdomain_field(&errs, path, s);
        else if (strcmp(check, "dns1035_label") == 0)
            validate_dns1035_label_field(&errs, path, s);
        else if (strcmp(check, "port_name") == 0)
            validate_port_name_field(&errs, path, s);
        else if (strcmp(check, "qualified_name") == 0)
            validate_qualified_name_field(&errs, path, s);
        else if (strcmp(check, "label_value") == 0)
            validate_label_value_field(&errs, path, s);
        else
            cr_assert_fail("unknown field check %s", check);
        expect_causes(&errs, c);
        fe_release(&errs);
    }
    json_decref(root);
}

/* ---- ip.json ------------------------------------------------------------------------------- */

static void check_warnings(const json_t *c, size_t n, char *got[2])
{
    const char *name = json_string_value(json_object_get(c, "name"));
    const json_t *want = json_object_get(c, "warnings");
    cr_expect_eq(n, json_array_size(want), "[%s] %zu warnings, want %zu", name, n,
                 json_array_size(want));
    for (size_t i = 0; i < n; i++) {
        if (i < json_array_size(want))
            cr_expect_str_eq(got[i], json_string_value(json_array_get(want, i)), "[%s] warning %zu",
                             name, i);
        free(got[i]);
    }
}

Test(validate, ip_and_cidr_checks_match_1_33)
{
    json_t *root = load("ip.json");
    json_t *cases = json_object_get(root, "cases");
    cr_assert_geq(json_array_size(cases), 60);
    for (size_t i = 0; i < json_array_size(cases); i++) {
        json_t *c = json_array_get(cases, i);
        const char *check = json_string_value(json_object_get(c, "check"));
        const char *path = json_string_value(json_object_get(c, "path"));
        const char *value = json_string_value(json_object_get(c, "value"));
        bool strict = json_is_true(json_object_get(c, "strict"));
        json_t *old = json_object_get(c, "old");
        const char *old_items[8];
        size_t n_old = 0;
        for (; n_old < json_array_size(old) && n_old < 8; n_old++)
            old_items[n_old] = json_string_value(json_array_get(old, n_old));
        struct field_errors errs;
        fe_init(&errs);
        if (strcmp(check, "family") == 0) {
            cr_expect_eq((int)validate_ip_family(value),
                         (int)json_integer_value(json_object_get(c, "family")), "[%s]",
                         json_string_value(json_object_get(c, "name")));
            continue;
        }
        if (strcmp(check, "ip_warnings") == 0 || strcmp(check, "cidr_warnings") == 0) {
            char *got[2];
            size_t n = check[0] == 'i' ? validate_ip_warnings(path, value, got)
                                       : validate_cidr_warnings(path, value, got);
            check_warnings(c, n, got);
            continue;
        }
        if (strcmp(check, "ip_legacy") == 0)
            validate_ip_legacy_field(&errs, path, value, strict, old_items, n_old);
        else if (strcmp(check, "ip_strict") == 0)
            validate_ip_strict_field(&errs, path, value);
        else if (strcmp(check, "cidr_legacy") == 0)
            validate_cidr_legacy_field(&errs, path, value, strict, old_items, n_old);
        else if (strcmp(check, "cidr_strict") == 0)
            validate_cidr_strict_field(&errs, path, value);
        else if (strcmp(check, "non_special_ip") == 0)
            validate_non_special_ip_field(&errs, path, value);
        else
            cr_assert_fail("unknown ip check %s", check);
        expect_causes(&errs, c);
        fe_release(&errs);
    }
    json_decref(root);
}

Test(validate, ip_text_forms_follow_go)
{
    static const char *const pairs[][2] = {
        {"10.0.0.1", "10.0.0.1"},
        {"010.001.000.001", "10.1.0.1"},
        {"::ffff:10.0.0.1", "10.0.0.1"},
        {"::ffff:a00:1", "10.0.0.1"},
        {"2001:DB8:0:0:0:0:0:1", "2001:db8::1"},
        {"0:0:0:0:0:0:0:0", "::"},
        {"::1", "::1"},
        {"1::", "1::"},
        {"1:0:0:2:0:0:0:3", "1:0:0:2::3"},
        {"::1.2.3.4", "::102:304"},
        {"fe80:0000::00001", "fe80::1"},
    };
    for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
        struct validate_ip ip;
        char text[VALIDATE_IP_STRLEN];
        cr_assert_eq(validate_ip_parse(pairs[i][0], false, &ip), 0, "parse %s", pairs[i][0]);
        cr_expect_str_eq(validate_ip_format(&ip, text), pairs[i][1], "format of %s", pairs[i][0]);
    }
    static const char *const cidrs[][2] = {
        {"10.96.0.5/12", "10.96.0.0/12"},    {"192.168.0.0/016", "192.168.0.0/16"},
        {"2001:db8::1/64", "2001:db8::/64"}, {"::ffff:1.2.3.0/120", "1.2.3.0/24"},
        {"::ffff:1.2.3.0/24", "::/24"},      {"::ffff:1.2.3.0/100", "0.0.0.0/4"},
        {"0.0.0.0/0", "0.0.0.0/0"},
    };
    for (size_t i = 0; i < sizeof(cidrs) / sizeof(cidrs[0]); i++) {
        struct validate_cidr cidr;
        char text[VALIDATE_CIDR_STRLEN];
        cr_assert_eq(validate_cidr_parse(cidrs[i][0], false, &cidr), 0, "parse %s", cidrs[i][0]);
        cr_expect_str_eq(validate_cidr_format(&cidr, text), cidrs[i][1], "format of %s",
                         cidrs[i][0]);
    }
    cr_expect_str_eq(validate_ip_family_name(VALIDATE_IPV4), "IPv4");
    cr_expect_str_eq(validate_ip_family_name(VALIDATE_IPV6), "IPv6");
    cr_expect_str_eq(validate_ip_family_name(VALIDATE_IP_INVALID), "");
    struct validate_ip ip;
    cr_expect_eq(validate_ip_parse(NULL, false, &ip), -1);
    cr_expect_eq(validate_ip_parse("1.2.3.04", true, &ip), -1);
    cr_expect_eq(validate_ip_parse("1.2.3.04", false, &ip), 0);
}

/* ---- meta.json ------------------------------------------------------------------------------ */

static validate_name_fn name_rule(const char *rule)
{
    if (!rule || strcmp(rule, "dns1035") == 0)
        return validate_name_is_dns1035_label;
    if (strcmp(rule, "subdomain") == 0)
        return validate_name_is_dns_subdomain;
    if (strcmp(rule, "label") == 0)
        return validate_name_is_dns_label;
    if (strcmp(rule, "path_segment") == 0)
        return validate_name_path_segment;
    cr_assert_fail("unknown name rule %s", rule);
    return NULL;
}

Test(validate, object_meta_matches_upstream)
{
    json_t *root = load("meta.json");
    json_t *cases = json_object_get(root, "cases");
    cr_assert_geq(json_array_size(cases), 40);
    for (size_t i = 0; i < json_array_size(cases); i++) {
        json_t *c = json_array_get(cases, i);
        const char *fn = json_string_value(json_object_get(c, "fn"));
        json_t *meta = build(json_object_get(c, "meta"), 0);
        json_t *old = build(json_object_get(c, "old"), 0);
        bool namespaced = json_is_true(json_object_get(c, "namespaced"));
        validate_name_fn rule = name_rule(json_string_value(json_object_get(c, "rule")));
        struct field_errors errs;
        fe_init(&errs);
        if (strcmp(fn, "meta") == 0)
            validate_meta(&errs, "metadata", meta, namespaced, rule);
        else if (strcmp(fn, "object_meta") == 0)
            validate_object_meta(&errs, "metadata", meta, namespaced, rule);
        else if (strcmp(fn, "meta_update") == 0)
            validate_meta_update(&errs, "metadata", meta, old);
        else if (strcmp(fn, "object_meta_update") == 0)
            validate_object_meta_update(&errs, "metadata", meta, old);
        else
            cr_assert_fail("unknown fn %s", fn);
        expect_causes(&errs, c);
        fe_release(&errs);
        json_decref(meta);
        json_decref(old);
    }
    json_decref(root);
}

/* ---- endpoints.json ------------------------------------------------------------------------- */

Test(validate, endpoints_and_slices_match_upstream)
{
    json_t *root = load("endpoints.json");
    json_t *cases = json_object_get(root, "cases");
    cr_assert_geq(json_array_size(cases), 40);
    for (size_t i = 0; i < json_array_size(cases); i++) {
        json_t *c = json_array_get(cases, i);
        const char *fn = json_string_value(json_object_get(c, "fn"));
        json_t *obj = build(json_object_get(c, "object"), 0);
        json_t *old = build(json_object_get(c, "old"), 0);
        struct field_errors errs;
        fe_init(&errs);
        if (strcmp(fn, "endpoints") == 0)
            validate_endpoints(&errs, obj);
        else if (strcmp(fn, "endpoints_update") == 0)
            validate_endpoints_update(&errs, obj, old);
        else if (strcmp(fn, "endpointslice") == 0)
            validate_endpointslice(&errs, obj);
        else if (strcmp(fn, "endpointslice_update") == 0)
            validate_endpointslice_update(&errs, obj, old);
        else
            cr_assert_fail("unknown fn %s", fn);
        expect_causes(&errs, c);
        fe_release(&errs);
        json_decref(obj);
        json_decref(old);
    }
    json_decref(root);
}

/* ---- robustness --------------------------------------------------------------------------------
 */

Test(validate, odd_input_never_crashes)
{
    static const char *const docs[] = {
        "null",
        "[]",
        "{\"metadata\": 5, \"subsets\": {\"a\": 1}}",
        "{\"subsets\": [null, 1, {\"addresses\": [null, {\"ip\": 5}], \"ports\": [\"x\"]}]}",
        "{\"subsets\": [{\"addresses\": \"x\", \"notReadyAddresses\": [[]]}]}",
        "{\"addressType\": 4, \"endpoints\": [null, {\"addresses\": [1, null]}], \"ports\": [1]}",
        "{\"addressType\": \"FQDN\", \"endpoints\": [{\"addresses\": [\"\", \".\", \"..\"]}]}",
        "{\"addressType\": \"IPv4\", \"endpoints\": [{\"addresses\": [\"1.2.3.4\"], "
        "\"hints\": {\"forZones\": [null, {\"name\": 3}]}, \"deprecatedTopology\": [1]}]}",
    };
    for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
        json_t *doc = json_loads(docs[i], JSON_DECODE_ANY, NULL);
        cr_assert_not_null(doc, "bad test document %zu", i);
        struct field_errors errs;
        fe_init(&errs);
        validate_endpoints(&errs, doc);
        validate_endpoints_update(&errs, doc, doc);
        validate_endpoints_update(&errs, doc, NULL);
        validate_endpointslice(&errs, doc);
        validate_endpointslice_update(&errs, doc, NULL);
        validate_object_meta(&errs, "metadata", doc, true, validate_name_is_dns1035_label);
        validate_object_meta_update(&errs, "metadata", doc, NULL);
        validate_object_meta_update(&errs, "metadata", NULL, doc);
        cr_expect_gt(errs.len, 0, "document %zu should have failed somewhere", i);
        fe_release(&errs);
        json_decref(doc);
    }
}

Test(validate, null_strings_are_checked_as_empty)
{
    struct validate_msgs msgs;
    struct field_errors errs;
    cr_expect_eq(validate_is_dns1123_label(NULL, &msgs), 1);
    cr_expect_eq(validate_is_label_value(NULL, &msgs), 0);
    cr_expect_eq(validate_name_is_dns1035_label(NULL, true, &msgs), 1);
    fe_init(&errs);
    validate_non_special_ip_field(&errs, "x", NULL);
    validate_ip_legacy_field(&errs, "x", NULL, true, NULL, 3);
    validate_cidr_legacy_field(&errs, "x", NULL, false, NULL, 0);
    validate_kube_finalizer_name(&errs, "x", NULL);
    validate_immutable_string(&errs, "x", NULL, "");
    cr_expect_eq(errs.len, 4);
    char *w[2];
    cr_expect_eq(validate_ip_warnings(NULL, NULL, w), 0);
    cr_expect_eq(validate_cidr_warnings(NULL, NULL, w), 0);
    fe_release(&errs);
}

Test(validate, huge_finalizer_lists_stay_fast)
{
    /* 20000 new finalizers against 20000 old ones: quadratic code would take minutes. */
    json_t *old = json_array(), *new = json_array();
    char name[32];
    for (int i = 0; i < 20000; i++) {
        snprintf(name, sizeof(name), "example.com/f%d", i);
        json_array_append_new(old, json_string(name));
        snprintf(name, sizeof(name), "example.com/g%d", i % 3);
        json_array_append_new(new, json_string(name));
    }
    struct field_errors errs;
    fe_init(&errs);
    validate_no_new_finalizers(&errs, "metadata.finalizers", new, old);
    cr_assert_eq(errs.len, 1);
    char *body = fe_body(&errs.items[0]);
    cr_expect_str_eq(body, "Forbidden: no new finalizers can be added if the object is being "
                           "deleted, found new finalizers []string{\"example.com/g0\", "
                           "\"example.com/g1\", \"example.com/g2\"}");
    free(body);
    fe_release(&errs);
    json_decref(old);
    json_decref(new);
}
