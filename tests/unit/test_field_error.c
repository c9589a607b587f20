/*
 * Unit tests for field_error: the body of every error type as apimachinery's ErrorBody writes it,
 * Error() strings, the aggregate with its de-duplication, the cause reasons, Go's %q quoting
 * (escapes, non-printable and non-ASCII runes, invalid UTF-8), %#v of string slices, paths and
 * the list bounds. Expected strings are upstream's, written out from the Go rules.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "svc/field_error.h"

/* The body of the only error of a one-error list, freed by the caller. */
static char *only_body(struct field_errors *errs)
{
    cr_assert_eq(errs->len, 1, "expected one error, got %zu", errs->len);
    return fe_body(&errs->items[0]);
}

static void expect_body(struct field_errors *errs, const char *want)
{
    char *body = only_body(errs);
    cr_expect_str_eq(body, want);
    free(body);
    fe_release(errs);
}

static void expect_quote(const char *in, const char *want)
{
    char *q = fe_quote(in);
    cr_expect_str_eq(q, want, "quoting %s", in);
    free(q);
}

Test(field_error, required_body_with_and_without_detail)
{
    struct field_errors errs;
    fe_init(&errs);
    fe_required(&errs, "spec.ports", "");
    expect_body(&errs, "Required value");
    fe_required(&errs, "metadata.name", "name or generateName is required");
    expect_body(&errs, "Required value: name or generateName is required");
    /* A value given to a Required error is never shown. */
    fe_add(&errs, FE_REQUIRED, "spec.type", "\"x\"", NULL);
    expect_body(&errs, "Required value");
}

Test(field_error, invalid_body_shows_value_then_detail)
{
    struct field_errors errs;
    fe_init(&errs);
    fe_invalid_int(&errs, "spec.ports[0].port", 0, "must be between 1 and 65535, inclusive");
    expect_body(&errs, "Invalid value: 0: must be between 1 and 65535, inclusive");
    fe_invalid_str(&errs, "metadata.name", "Bad_Name", NULL);
    expect_body(&errs, "Invalid value: \"Bad_Name\"");
    fe_invalid(&errs, "spec.clusterIPs", "[]string{\"10.96.0.6\"}",
               "first value must match `clusterIP`");
    expect_body(&errs,
                "Invalid value: []string{\"10.96.0.6\"}: first value must match `clusterIP`");
    /* A Go nil pointer prints as a quoted "null": ErrorBody turns nil into the string "null"
       and quotes strings with %q (apimachinery v0.33 field/errors.go). */
    fe_invalid(&errs, "metadata.deletionGracePeriodSeconds", FE_NIL_VALUE, "field is immutable");
    expect_body(&errs, "Invalid value: \"null\": field is immutable");
    /* No value at all (upstream's omitValue): the type text and the detail. */
    fe_add(&errs, FE_INVALID, "x", NULL, "detail");
    expect_body(&errs, "Invalid value: detail");
}

Test(field_error, duplicate_not_found_and_type_invalid_bodies)
{
    struct field_errors errs;
    fe_init(&errs);
    fe_duplicate_str(&errs, "spec.ports[1].name", "http");
    expect_body(&errs, "Duplicate value: \"http\"");
    fe_duplicate(&errs, "spec.ports[1].nodePort", "30080");
    expect_body(&errs, "Duplicate value: 30080");
    fe_not_found(&errs, "spec.x", "\"y\"");
    expect_body(&errs, "Not found: \"y\"");
    fe_add(&errs, FE_TYPE_INVALID, "spec.ports", "\"a\"", "must be of type array");
    cr_expect_str_eq(fe_reason(errs.items[0].type), "FieldValueTypeInvalid");
    expect_body(&errs, "Invalid value: \"a\": must be of type array");
}

Test(field_error, not_supported_lists_quoted_values_in_given_order)
{
    struct field_errors errs;
    static const char *const protocols[] = {"SCTP", "TCP", "UDP"};
    fe_init(&errs);
    fe_not_supported(&errs, "spec.ports[0].protocol", "\"HTTP\"", protocols, 3);
    expect_body(&errs, "Unsupported value: \"HTTP\": supported values: \"SCTP\", \"TCP\", \"UDP\"");
    fe_not_supported(&errs, "dryRun", "[]string{\"foo\"}", (const char *const[]){"All"}, 1);
    expect_body(&errs, "Unsupported value: []string{\"foo\"}: supported values: \"All\"");
    fe_not_supported(&errs, "x", "\"y\"", NULL, 0);
    expect_body(&errs, "Unsupported value: \"y\"");
    /* Supported values are Go-quoted too. */
    fe_not_supported(&errs, "x", "\"y\"", (const char *const[]){"a\"b"}, 1);
    expect_body(&errs, "Unsupported value: \"y\": supported values: \"a\\\"b\"");
}

Test(field_error, forbidden_too_long_internal_never_show_a_value)
{
    struct field_errors errs;
    fe_init(&errs);
    fe_forbidden(&errs, "spec.clusterIPs", "may not be set for ExternalName services");
    expect_body(&errs, "Forbidden: may not be set for ExternalName services");
    fe_add(&errs, FE_FORBIDDEN, "x", "\"shown?\"", "no");
    expect_body(&errs, "Forbidden: no");
    fe_forbidden(&errs, "x", "");
    expect_body(&errs, "Forbidden");
    fe_too_long(&errs, "metadata.annotations", 262144);
    expect_body(&errs, "Too long: may not be more than 262144 bytes");
    fe_too_long(&errs, "x", -1);
    expect_body(&errs, "Too long: value is too long");
    fe_internal(&errs, "x", "reserved key was not removed in conversion");
    expect_body(&errs, "Internal error: reserved key was not removed in conversion");
}

Test(field_error, too_many_shows_count_unless_omitted)
{
    struct field_errors errs;
    fe_init(&errs);
    fe_too_many(&errs, "endpoints", 1001, 1000);
    expect_body(&errs, "Too many: 1001: must have at most 1000 items");
    fe_too_many(&errs, "x", -1, 8);
    expect_body(&errs, "Too many: must have at most 8 items");
    fe_too_many(&errs, "x", 5, -1);
    expect_body(&errs, "Too many: 5: has too many items");
}

Test(field_error, reasons_match_cause_types)
{
    cr_expect_str_eq(fe_reason(FE_REQUIRED), "FieldValueRequired");
    cr_expect_str_eq(fe_reason(FE_INVALID), "FieldValueInvalid");
    cr_expect_str_eq(fe_reason(FE_DUPLICATE), "FieldValueDuplicate");
    cr_expect_str_eq(fe_reason(FE_NOT_SUPPORTED), "FieldValueNotSupported");
    cr_expect_str_eq(fe_reason(FE_FORBIDDEN), "FieldValueForbidden");
    cr_expect_str_eq(fe_reason(FE_TOO_LONG), "FieldValueTooLong");
    cr_expect_str_eq(fe_reason(FE_TOO_MANY), "FieldValueTooMany");
    cr_expect_str_eq(fe_reason(FE_NOT_FOUND), "FieldValueNotFound");
    cr_expect_str_eq(fe_reason(FE_INTERNAL), "InternalError");
    cr_expect_str_eq(fe_reason(FE_TYPE_INVALID), "FieldValueTypeInvalid");
}

Test(field_error, error_string_prefixes_the_path)
{
    struct field_errors errs;
    fe_init(&errs);
    fe_invalid_int(&errs, "spec.ports[0].port", 0, "must be between 1 and 65535, inclusive");
    fe_required(&errs, "", "");
    char *s = fe_error_string(&errs.items[0]);
    cr_expect_str_eq(s, "spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, "
                        "inclusive");
    free(s);
    /* An empty path still gets the separator, as fmt.Sprintf("%s: %s") gives. */
    s = fe_error_string(&errs.items[1]);
    cr_expect_str_eq(s, ": Required value");
    free(s);
    fe_release(&errs);
}

Test(field_error, addf_formats_the_detail)
{
    struct field_errors errs;
    fe_init(&errs);
    fe_addf(&errs, FE_FORBIDDEN, "metadata.finalizers", NULL,
            "no new finalizers can be added if the object is being deleted, found new "
            "finalizers %s",
            "[]string{\"x\"}");
    expect_body(&errs, "Forbidden: no new finalizers can be added if the object is being deleted, "
                       "found new finalizers []string{\"x\"}");
}

Test(field_error, aggregate_of_none_one_and_several)
{
    struct field_errors errs;
    fe_init(&errs);
    char *agg = fe_aggregate(&errs);
    cr_expect_str_eq(agg, "");
    free(agg);

    fe_invalid_int(&errs, "spec.ports[0].port", 0, "must be between 1 and 65535, inclusive");
    agg = fe_aggregate(&errs);
    cr_expect_str_eq(agg, "spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, "
                          "inclusive");
    free(agg);

    /* service-semantics.md 2.2: the port-0 Service. */
    fe_invalid_int(&errs, "spec.ports[0].targetPort", 0, "must be between 1 and 65535, inclusive");
    agg = fe_aggregate(&errs);
    cr_expect_str_eq(agg, "[spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, "
                          "inclusive, spec.ports[0].targetPort: Invalid value: 0: must be "
                          "between 1 and 65535, inclusive]");
    free(agg);
    fe_release(&errs);
}

Test(field_error, aggregate_drops_repeats_but_the_list_keeps_them)
{
    struct field_errors errs;
    fe_init(&errs);
    fe_invalid_str(&errs, "metadata.labels", "a b", "bad");
    fe_required(&errs, "spec.type", "");
    fe_invalid_str(&errs, "metadata.labels", "a b", "bad");
    fe_required(&errs, "spec.type", "");
    fe_forbidden(&errs, "spec.x", "no");
    char *agg = fe_aggregate(&errs);
    cr_expect_str_eq(agg, "[metadata.labels: Invalid value: \"a b\": bad, spec.type: Required "
                          "value, spec.x: Forbidden: no]");
    free(agg);
    cr_expect_eq(errs.len, 5);
    fe_release(&errs);

    /* All the same: one error after de-duplication, so no brackets. */
    fe_required(&errs, "a", "");
    fe_required(&errs, "a", "");
    agg = fe_aggregate(&errs);
    cr_expect_str_eq(agg, "a: Required value");
    free(agg);
    fe_release(&errs);

    /* Same body, different path: not duplicates. */
    fe_required(&errs, "a", "");
    fe_required(&errs, "b", "");
    agg = fe_aggregate(&errs);
    cr_expect_str_eq(agg, "[a: Required value, b: Required value]");
    free(agg);
    fe_release(&errs);
}

Test(field_error, quote_plain_and_backslash_escapes)
{
    expect_quote("abc", "\"abc\"");
    expect_quote("", "\"\"");
    expect_quote("a\"b\\c", "\"a\\\"b\\\\c\"");
    expect_quote("it's", "\"it's\"");
    expect_quote("\a\b\f\n\r\t\v", "\"\\a\\b\\f\\n\\r\\t\\v\"");
    expect_quote("\x01\x1f\x7f", "\"\\x01\\x1f\\x7f\"");
    expect_quote("a b~", "\"a b~\"");
}

Test(field_error, quote_keeps_printable_unicode_and_escapes_the_rest)
{
    expect_quote("h\xc3\xa9llo", "\"h\xc3\xa9llo\"");                         /* é */
    expect_quote("\xe6\x97\xa5\xe6\x9c\xac", "\"\xe6\x97\xa5\xe6\x9c\xac\""); /* 日本 */
    expect_quote("\xf0\x9f\x98\x80", "\"\xf0\x9f\x98\x80\"");                 /* U+1F600 */
    expect_quote("\xc2\xa0", "\"\\u00a0\"");             /* no-break space (Zs) */
    expect_quote("\xc2\xad", "\"\\u00ad\"");             /* soft hyphen (Cf) */
    expect_quote("\xc2\x85", "\"\\u0085\"");             /* NEL (Cc) */
    expect_quote("\xe2\x80\x8b", "\"\\u200b\"");         /* zero width space */
    expect_quote("\xe2\x80\xa8", "\"\\u2028\"");         /* line separator */
    expect_quote("\xe3\x80\x80", "\"\\u3000\"");         /* ideographic space */
    expect_quote("\xef\xbb\xbf", "\"\\ufeff\"");         /* BOM */
    expect_quote("\xee\x80\x80", "\"\\ue000\"");         /* private use */
    expect_quote("\xf3\xa0\x80\x81", "\"\\U000e0001\""); /* language tag */
    expect_quote("\xf4\x8f\xbf\xbf", "\"\\U0010ffff\""); /* noncharacter */
    expect_quote("\xef\xbf\xbd", "\"\xef\xbf\xbd\"");    /* U+FFFD itself */
}

Test(field_error, quote_follows_unicode_15_like_go_1_24)
{
    /* Added in Unicode 15.0, so printable for Go 1.24. */
    expect_quote("\xf0\x91\xbc\x80", "\"\xf0\x91\xbc\x80\""); /* U+11F00 Kawi */
    expect_quote("\xf0\x9f\x9b\x9c", "\"\xf0\x9f\x9b\x9c\""); /* U+1F6DC wireless */
    expect_quote("\xf0\xb1\x8d\x90", "\"\xf0\xb1\x8d\x90\""); /* U+31350 CJK Ext. H */
    /* Added in Unicode 15.1 and 16.0: unassigned for Go 1.24, so escaped. */
    expect_quote("\xe2\xbf\xbc", "\"\\u2ffc\"");
    expect_quote("\xf0\x9f\xaa\x89", "\"\\U0001fa89\"");
}

Test(field_error, quote_escapes_each_byte_of_invalid_utf8)
{
    expect_quote("\xff", "\"\\xff\"");
    expect_quote("a\xc3", "\"a\\xc3\"");                          /* truncated sequence */
    expect_quote("\xc3(", "\"\\xc3(\"");                          /* bad continuation */
    expect_quote("\xc0\xaf", "\"\\xc0\\xaf\"");                   /* overlong '/' */
    expect_quote("\xed\xa0\x80", "\"\\xed\\xa0\\x80\"");          /* a surrogate */
    expect_quote("\xf4\x90\x80\x80", "\"\\xf4\\x90\\x80\\x80\""); /* past U+10FFFF */
    expect_quote("\x80z", "\"\\x80z\"");                          /* lone continuation byte */
    char *q = fe_quote_len("a\0b", 3);
    cr_expect_str_eq(q, "\"a\\x00b\"");
    free(q);
}

Test(field_error, numbers_and_booleans_print_plain)
{
    char *s = fe_int(30080);
    cr_expect_str_eq(s, "30080");
    free(s);
    s = fe_int(-1);
    cr_expect_str_eq(s, "-1");
    free(s);
    s = fe_bool(true);
    cr_expect_str_eq(s, "true");
    free(s);
    s = fe_bool(false);
    cr_expect_str_eq(s, "false");
    free(s);
}

Test(field_error, string_slices_print_as_go_syntax)
{
    static const char *const two[] = {"10.96.0.10", "fd00::a"};
    char *s = fe_strings(two, 2);
    cr_expect_str_eq(s, "[]string{\"10.96.0.10\", \"fd00::a\"}");
    free(s);
    s = fe_strings(NULL, 0);
    cr_expect_str_eq(s, "[]string{}");
    free(s);
    static const char *const odd[] = {"a\"b", "\n"};
    s = fe_strings(odd, 2);
    cr_expect_str_eq(s, "[]string{\"a\\\"b\", \"\\n\"}");
    free(s);

    json_t *arr = json_pack("[ss]", "None", "10.96.0.5");
    s = fe_json_strings(arr);
    cr_expect_str_eq(s, "[]string{\"None\", \"10.96.0.5\"}");
    free(s);
    json_decref(arr);
    arr = json_array();
    s = fe_json_strings(arr);
    cr_expect_str_eq(s, "[]string{}");
    free(s);
    json_decref(arr);
    s = fe_json_strings(NULL);
    cr_expect_str_eq(s, "[]string(nil)");
    free(s);
}

Test(field_error, paths_join_children_indexes_and_keys)
{
    char *p = fe_path_child("spec", "ports");
    cr_expect_str_eq(p, "spec.ports");
    char *q = fe_path_index(p, 0);
    cr_expect_str_eq(q, "spec.ports[0]");
    char *r = fe_path_child(q, "port");
    cr_expect_str_eq(r, "spec.ports[0].port");
    free(p);
    free(q);
    free(r);
    p = fe_path_child(NULL, "metadata");
    cr_expect_str_eq(p, "metadata");
    free(p);
    p = fe_path_child("", "subsets");
    cr_expect_str_eq(p, "subsets");
    free(p);
    p = fe_path_key("metadata.annotations",
                    "service.beta.kubernetes.io/load-balancer-source-ranges");
    cr_expect_str_eq(
        p, "metadata.annotations[service.beta.kubernetes.io/load-balancer-source-ranges]");
    free(p);
}

Test(field_error, append_moves_everything_in_order)
{
    struct field_errors a, b;
    fe_init(&a);
    fe_init(&b);
    fe_required(&a, "a", "");
    fe_required(&b, "b", "");
    fe_forbidden(&b, "c", "x");
    fe_append(&a, &b);
    cr_expect_eq(a.len, 3);
    cr_expect_eq(b.len, 0);
    cr_expect_null(b.items);
    cr_expect_str_eq(a.items[1].field, "b");
    cr_expect_str_eq(a.items[2].field, "c");
    fe_release(&a);
    fe_release(&b);
    cr_expect_eq(a.len, 0);
    fe_release(NULL);
}

Test(field_error, list_is_bounded_by_count_and_bytes)
{
    struct field_errors errs;
    fe_init(&errs);
    for (int i = 0; i < FE_MAX_ERRORS + 100; i++)
        fe_required(&errs, "spec.x", "");
    cr_expect_eq(errs.len, FE_MAX_ERRORS);
    cr_expect(fe_full(&errs));
    fe_release(&errs);

    size_t big = (size_t)1 << 20;
    char *value = malloc(big + 1);
    memset(value, 'v', big);
    value[big] = '\0';
    for (int i = 0; i < 40; i++)
        fe_invalid(&errs, "metadata.labels", value, "too long");
    cr_expect_lt(errs.len, 40);
    cr_expect_leq(errs.bytes, FE_MAX_BYTES);
    cr_expect(fe_full(&errs) || errs.bytes + big > FE_MAX_BYTES);
    free(value);
    fe_release(&errs);
}
