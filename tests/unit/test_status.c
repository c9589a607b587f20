/*
 * test_status: the API errors of src/rest/status.c (include/svc/apierr.h). Every expected
 * message, reason, code and details shape is apimachinery's pkg/api/errors (NewNotFound,
 * NewInvalid, NewGenericServerResponse, ...) at v0.33, as service-semantics.md §2.2 and §2.8
 * restate them; the Status key order is metav1.Status's Go field order.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "svc/apierr.h"
#include "svc/field_error.h"

/* The compact JSON of err's Status, for comparing the whole document, key order included. */
static char *status_text(const struct apierr *err)
{
    json_t *st = apierr_to_status(err);
    cr_assert_not_null(st);
    char *s = json_dumps(st, JSON_COMPACT);
    json_decref(st);
    return s;
}

static void expect_status(const struct apierr *err, const char *want)
{
    char *got = status_text(err);
    cr_expect_str_eq(got, want);
    free(got);
}

Test(status, reason_table_gives_upstream_codes_and_reasons)
{
    static const struct {
        enum apierr_reason r;
        int code;
        const char *reason;
    } table[] = {
        {APIERR_BAD_REQUEST, 400, "BadRequest"},
        {APIERR_UNAUTHORIZED, 401, "Unauthorized"},
        {APIERR_FORBIDDEN, 403, "Forbidden"},
        {APIERR_NOT_FOUND, 404, "NotFound"},
        {APIERR_METHOD_NOT_ALLOWED, 405, "MethodNotAllowed"},
        {APIERR_NOT_ACCEPTABLE, 406, "NotAcceptable"},
        {APIERR_ALREADY_EXISTS, 409, "AlreadyExists"},
        {APIERR_CONFLICT, 409, "Conflict"},
        {APIERR_GONE, 410, "Gone"},
        {APIERR_EXPIRED, 410, "Expired"},
        {APIERR_TOO_LARGE, 413, "RequestEntityTooLarge"},
        {APIERR_UNSUPPORTED_MEDIA_TYPE, 415, "UnsupportedMediaType"},
        {APIERR_INVALID, 422, "Invalid"},
        {APIERR_TOO_MANY_REQUESTS, 429, "TooManyRequests"},
        {APIERR_INTERNAL, 500, "InternalError"},
        {APIERR_UNKNOWN_500, 500, NULL},
        {APIERR_SERVICE_UNAVAILABLE, 503, "ServiceUnavailable"},
        {APIERR_TIMEOUT, 504, "Timeout"},
    };
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
        struct apierr err;
        apierr_init(&err);
        err.reason = table[i].r;
        cr_expect_eq(apierr_http_code(&err), table[i].code, "reason %d", (int)table[i].r);
        const char *s = apierr_reason_string(table[i].r);
        if (table[i].reason)
            cr_expect(s && !strcmp(s, table[i].reason), "reason %d: %s", (int)table[i].r,
                      s ? s : "(null)");
        else
            cr_expect_null(s, "reason %d has no reason string", (int)table[i].r);
    }
    cr_expect_null(apierr_reason_string(APIERR_NONE));
}

Test(status, init_release_and_failed)
{
    struct apierr err;
    apierr_init(&err);
    cr_expect_not(apierr_failed(&err));
    apierr_not_found(&err, "", "services", "web");
    cr_expect(apierr_failed(&err));
    apierr_release(&err);
    cr_expect_not(apierr_failed(&err));
    cr_expect_null(err.message);
    cr_expect_null(err.name);
    cr_expect_null(err.causes);
    cr_expect_not(err.has_details);
}

Test(status, constructors_return_minus_one_and_replace_a_previous_error)
{
    struct apierr err;
    apierr_init(&err);
    cr_expect_eq(apierr_not_found(&err, "", "services", "a"), -1);
    /* A second constructor releases the first error: no leak, only the new content. */
    cr_expect_eq(apierr_conflict(&err, "", "services", "b", "x"), -1);
    cr_expect_eq(err.reason, APIERR_CONFLICT);
    cr_expect_str_eq(err.message, "Operation cannot be fulfilled on services \"b\": x");
    cr_expect_eq(apierr_simple(&err, APIERR_BAD_REQUEST, "n=%d", 5), -1);
    cr_expect_str_eq(err.message, "n=5");
    cr_expect_null(err.name);
    cr_expect_not(err.has_details);
    cr_expect_eq(apierr_internal(&err, "boom %s", "x"), -1);
    cr_expect_eq(apierr_path_not_found(&err), -1);
    apierr_release(&err);
}

Test(status, move_transfers_the_error_and_empties_the_source)
{
    struct apierr a, b;
    apierr_init(&a);
    apierr_init(&b);
    apierr_not_found(&a, "", "services", "web");
    apierr_already_exists(&b, "", "pods", "old"); /* released by the move */
    apierr_move(&b, &a);
    cr_expect_not(apierr_failed(&a));
    cr_expect_null(a.message);
    cr_expect_eq(b.reason, APIERR_NOT_FOUND);
    cr_expect_str_eq(b.message, "services \"web\" not found");
    apierr_release(&a);
    apierr_release(&b);
}

Test(status, not_found_core_group)
{
    struct apierr err;
    apierr_init(&err);
    apierr_not_found(&err, "", "services", "nonexist");
    cr_expect_eq(apierr_http_code(&err), 404);
    expect_status(&err, "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},"
                        "\"status\":\"Failure\",\"message\":\"services \\\"nonexist\\\" not "
                        "found\",\"reason\":\"NotFound\",\"details\":{\"name\":\"nonexist\","
                        "\"kind\":\"services\"},\"code\":404}");
    apierr_release(&err);
}

Test(status, not_found_named_group_is_qualified_and_has_group_detail)
{
    struct apierr err;
    apierr_init(&err);
    apierr_not_found(&err, "apps", "replicasets", "web");
    expect_status(&err, "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},"
                        "\"status\":\"Failure\",\"message\":\"replicasets.apps \\\"web\\\" not "
                        "found\",\"reason\":\"NotFound\",\"details\":{\"name\":\"web\","
                        "\"group\":\"apps\",\"kind\":\"replicasets\"},\"code\":404}");
    apierr_release(&err);
    apierr_not_found(&err, NULL, "namespaces", "foo");
    cr_expect_str_eq(err.message, "namespaces \"foo\" not found");
    cr_expect_null(err.group);
    apierr_release(&err);
}

Test(status, names_are_quoted_as_go_percent_q)
{
    struct apierr err;
    apierr_init(&err);
    apierr_not_found(&err, "", "services", "a\"b\\c\n");
    cr_expect_str_eq(err.message, "services \"a\\\"b\\\\c\\n\" not found");
    /* details.name is the raw name, not the quoted one. */
    cr_expect_str_eq(err.name, "a\"b\\c\n");
    apierr_not_found(&err, "", "services", "");
    cr_expect_str_eq(err.message, "services \"\" not found");
    apierr_release(&err);
}

Test(status, already_exists)
{
    struct apierr err;
    apierr_init(&err);
    apierr_already_exists(&err, "", "services", "web");
    expect_status(&err, "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},"
                        "\"status\":\"Failure\",\"message\":\"services \\\"web\\\" already "
                        "exists\",\"reason\":\"AlreadyExists\",\"details\":{\"name\":\"web\","
                        "\"kind\":\"services\"},\"code\":409}");
    apierr_release(&err);
}

Test(status, generate_name_conflict_has_retry_after)
{
    struct apierr err;
    apierr_init(&err);
    apierr_generate_name_conflict(&err, "", "services", "web-x7k2p", 1);
    expect_status(&err,
                  "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},"
                  "\"status\":\"Failure\",\"message\":\"services \\\"web-x7k2p\\\" already "
                  "exists, the server was not able to generate a unique name for the object\","
                  "\"reason\":\"AlreadyExists\",\"details\":{\"name\":\"web-x7k2p\","
                  "\"kind\":\"services\",\"retryAfterSeconds\":1},\"code\":409}");
    apierr_release(&err);
}

Test(status, conflict_on_stale_resource_version)
{
    struct apierr err;
    apierr_init(&err);
    apierr_conflict(&err, "", "services", "web",
                    "the object has been modified; please apply your changes to the latest "
                    "version and try again");
    expect_status(&err, "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},"
                        "\"status\":\"Failure\",\"message\":\"Operation cannot be fulfilled on "
                        "services \\\"web\\\": the object has been modified; please apply your "
                        "changes to the latest version and try again\",\"reason\":\"Conflict\","
                        "\"details\":{\"name\":\"web\",\"kind\":\"services\"},\"code\":409}");
    apierr_release(&err);
}

Test(status, forbidden_messages_with_and_without_name)
{
    struct apierr err;
    apierr_init(&err);
    apierr_forbidden(&err, "", "namespaces", "default", "this namespace may not be deleted");
    expect_status(&err, "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},"
                        "\"status\":\"Failure\",\"message\":\"namespaces \\\"default\\\" is "
                        "forbidden: this namespace may not be deleted\",\"reason\":\"Forbidden\","
                        "\"details\":{\"name\":\"default\",\"kind\":\"namespaces\"},"
                        "\"code\":403}");
    apierr_forbidden(&err, "apps", "replicasets", "", "nope");
    cr_expect_str_eq(err.message, "replicasets.apps is forbidden: nope");
    cr_expect_eq(apierr_http_code(&err), 403);
    /* An empty GroupResource: NewForbidden's "forbidden: %v". */
    apierr_forbidden(&err, "", "", "", "nope");
    cr_expect_str_eq(err.message, "forbidden: nope");
    apierr_release(&err);
}

Test(status, invalid_with_one_error_matches_service_semantics_2_2)
{
    struct apierr err;
    struct field_errors errs;
    apierr_init(&err);
    fe_init(&errs);
    fe_invalid_int(&errs, "spec.ports[0].port", 0, "must be between 1 and 65535, inclusive");
    apierr_invalid(&err, "", "Service", "web", &errs);
    cr_expect_eq(apierr_http_code(&err), 422);
    expect_status(&err, "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},"
                        "\"status\":\"Failure\",\"message\":\"Service \\\"web\\\" is invalid: "
                        "spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, "
                        "inclusive\",\"reason\":\"Invalid\",\"details\":{\"name\":\"web\",\"kind\":"
                        "\"Service\",\"causes\":[{\"reason\":\"FieldValueInvalid\",\"message\":"
                        "\"Invalid value: 0: must be between 1 and 65535, inclusive\",\"field\":"
                        "\"spec.ports[0].port\"}]},\"code\":422}");
    fe_release(&errs);
    apierr_release(&err);
}

Test(status, invalid_with_several_errors_aggregates_in_brackets_and_keeps_all_causes)
{
    struct apierr err;
    struct field_errors errs;
    apierr_init(&err);
    fe_init(&errs);
    fe_invalid_int(&errs, "spec.ports[0].port", 0, "must be between 1 and 65535, inclusive");
    fe_invalid_int(&errs, "spec.ports[0].targetPort", 0, "must be between 1 and 65535, inclusive");
    fe_required(&errs, "spec.ports[1].name", "");
    /* A duplicate of the first: dropped from the message, kept in the causes. */
    fe_invalid_int(&errs, "spec.ports[0].port", 0, "must be between 1 and 65535, inclusive");
    apierr_invalid(&err, "discovery.k8s.io", "EndpointSlice", "s", &errs);
    cr_expect_str_eq(err.message,
                     "EndpointSlice.discovery.k8s.io \"s\" is invalid: [spec.ports[0].port: "
                     "Invalid value: 0: must be between 1 and 65535, inclusive, "
                     "spec.ports[0].targetPort: Invalid value: 0: must be between 1 and 65535, "
                     "inclusive, spec.ports[1].name: Required value]");
    json_t *st = apierr_to_status(&err);
    json_t *d = json_object_get(st, "details");
    cr_expect_str_eq(json_string_value(json_object_get(d, "group")), "discovery.k8s.io");
    cr_expect_str_eq(json_string_value(json_object_get(d, "kind")), "EndpointSlice");
    json_t *causes = json_object_get(d, "causes");
    cr_assert_eq(json_array_size(causes), 4);
    json_t *req = json_array_get(causes, 2);
    cr_expect_str_eq(json_string_value(json_object_get(req, "reason")), "FieldValueRequired");
    cr_expect_str_eq(json_string_value(json_object_get(req, "message")), "Required value");
    cr_expect_str_eq(json_string_value(json_object_get(req, "field")), "spec.ports[1].name");
    json_decref(st);
    fe_release(&errs);
    apierr_release(&err);
}

Test(status, invalid_options_kind_in_meta_group_with_empty_name)
{
    /* The dryRun row of service-semantics.md §2.8. */
    struct apierr err;
    struct field_errors errs;
    apierr_init(&err);
    fe_init(&errs);
    fe_add(&errs, FE_NOT_SUPPORTED, "dryRun", "[]string{\"foo\"}", "supported values: \"All\"");
    apierr_invalid(&err, "meta.k8s.io", "CreateOptions", "", &errs);
    cr_expect_str_eq(err.message, "CreateOptions.meta.k8s.io \"\" is invalid: dryRun: Unsupported "
                                  "value: []string{\"foo\"}: supported values: \"All\"");
    json_t *st = apierr_to_status(&err);
    json_t *d = json_object_get(st, "details");
    cr_expect_null(json_object_get(d, "name"), "an empty name is omitted");
    cr_expect_str_eq(json_string_value(json_object_get(d, "kind")), "CreateOptions");
    cr_expect_str_eq(json_string_value(json_object_get(d, "group")), "meta.k8s.io");
    json_decref(st);
    fe_release(&errs);
    apierr_release(&err);
}

Test(status, invalid_without_errors_has_no_colon)
{
    struct apierr err;
    struct field_errors errs;
    apierr_init(&err);
    fe_init(&errs);
    apierr_invalid(&err, "", "Service", "web", &errs);
    cr_expect_str_eq(err.message, "Service \"web\" is invalid");
    json_t *st = apierr_to_status(&err);
    /* No causes key when the list is empty (omitempty). */
    cr_expect_null(json_object_get(json_object_get(st, "details"), "causes"));
    json_decref(st);
    fe_release(&errs);
    apierr_release(&err);
}

Test(status, method_not_supported)
{
    struct apierr err;
    apierr_init(&err);
    apierr_method_not_supported(&err, "", "namespaces", "deletecollection");
    expect_status(&err, "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},"
                        "\"status\":\"Failure\",\"message\":\"deletecollection is not supported "
                        "on resources of kind \\\"namespaces\\\"\",\"reason\":"
                        "\"MethodNotAllowed\",\"details\":{\"kind\":\"namespaces\"},"
                        "\"code\":405}");
    apierr_method_not_supported(&err, "apps", "replicasets", "create");
    cr_expect_str_eq(err.message,
                     "create is not supported on resources of kind \"replicasets.apps\"");
    apierr_release(&err);
}

Test(status, internal_error_carries_one_cause)
{
    struct apierr err;
    apierr_init(&err);
    apierr_internal(&err, "failed to allocate a %s: range is full", "serviceIP");
    expect_status(&err, "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},"
                        "\"status\":\"Failure\",\"message\":\"Internal error occurred: failed to "
                        "allocate a serviceIP: range is full\",\"reason\":\"InternalError\","
                        "\"details\":{\"causes\":[{\"message\":\"failed to allocate a serviceIP: "
                        "range is full\"}]},\"code\":500}");
    apierr_release(&err);
}

Test(status, plain_go_error_has_no_reason_and_no_details)
{
    struct apierr err;
    apierr_init(&err);
    apierr_simple(&err, APIERR_UNKNOWN_500,
                  "resourceVersion should not be set on objects to be created");
    expect_status(&err, "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},"
                        "\"status\":\"Failure\",\"message\":\"resourceVersion should not be set "
                        "on objects to be created\",\"code\":500}");
    apierr_release(&err);
}

Test(status, simple_errors_have_no_details)
{
    struct apierr err;
    apierr_init(&err);
    apierr_simple(&err, APIERR_EXPIRED, "The resourceVersion for the provided list is too old.");
    expect_status(&err, "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},"
                        "\"status\":\"Failure\",\"message\":\"The resourceVersion for the "
                        "provided list is too old.\",\"reason\":\"Expired\",\"code\":410}");
    apierr_simple(&err, APIERR_BAD_REQUEST,
                  "the name of the object (%s) does not match the name "
                  "on the URL (%s)",
                  "a", "b");
    expect_status(&err, "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},"
                        "\"status\":\"Failure\",\"message\":\"the name of the object (a) does not "
                        "match the name on the URL (b)\",\"reason\":\"BadRequest\",\"code\":400}");
    apierr_release(&err);
}

Test(status, path_not_found_has_empty_details)
{
    struct apierr err;
    apierr_init(&err);
    apierr_path_not_found(&err);
    expect_status(&err, "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},"
                        "\"status\":\"Failure\",\"message\":\"the server could not find the "
                        "requested resource\",\"reason\":\"NotFound\",\"details\":{},"
                        "\"code\":404}");
    apierr_release(&err);
}

Test(status, generic_response_422_for_a_failed_json_patch)
{
    struct apierr err;
    apierr_init(&err);
    apierr_generic_response(&err, 422, "", "", "", "doc is missing path");
    expect_status(&err, "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},"
                        "\"status\":\"Failure\",\"message\":\"the server rejected our request due "
                        "to an error in our request\",\"reason\":\"Invalid\",\"details\":{},"
                        "\"code\":422}");
    apierr_release(&err);
}

Test(status, generic_response_keeps_server_message_only_for_403_406_415_and_5xx)
{
    struct apierr err;
    apierr_init(&err);
    apierr_generic_response(&err, 403, NULL, NULL, NULL, "who are you");
    cr_expect_eq(err.reason, APIERR_FORBIDDEN);
    cr_expect_str_eq(err.message, "who are you");
    apierr_generic_response(&err, 406, NULL, NULL, NULL, "");
    cr_expect_eq(err.reason, APIERR_NOT_ACCEPTABLE);
    cr_expect_str_eq(err.message,
                     "the server was unable to respond with a content type that the client "
                     "supports");
    apierr_generic_response(&err, 406, NULL, NULL, NULL, "unknown");
    cr_expect_str_eq(err.message,
                     "the server was unable to respond with a content type that the client "
                     "supports");
    apierr_generic_response(&err, 406, NULL, NULL, NULL, "only json");
    cr_expect_str_eq(err.message, "only json");
    apierr_generic_response(&err, 415, NULL, NULL, NULL, "bad type");
    cr_expect_eq(err.reason, APIERR_UNSUPPORTED_MEDIA_TYPE);
    cr_expect_str_eq(err.message, "bad type");
    apierr_generic_response(&err, 500, NULL, NULL, NULL, "boom \"x\"");
    cr_expect_eq(err.reason, APIERR_INTERNAL);
    cr_expect_str_eq(err.message, "an error on the server (\"boom \\\"x\\\"\") has prevented the "
                                  "request from succeeding");
    apierr_generic_response(&err, 400, NULL, NULL, NULL, "ignored");
    cr_expect_eq(err.reason, APIERR_BAD_REQUEST);
    cr_expect_str_eq(err.message, "the server rejected our request for an unknown reason");
    apierr_generic_response(&err, 404, NULL, NULL, NULL, "ignored");
    cr_expect_str_eq(err.message, "the server could not find the requested resource");
    apierr_generic_response(&err, 409, NULL, NULL, NULL, "ignored");
    cr_expect_eq(err.reason, APIERR_CONFLICT);
    cr_expect_str_eq(err.message, "the server reported a conflict");
    apierr_generic_response(&err, 503, NULL, NULL, NULL, "ignored");
    cr_expect_eq(err.reason, APIERR_SERVICE_UNAVAILABLE);
    cr_expect_str_eq(err.message, "the server is currently unable to handle the request");
    apierr_generic_response(&err, 504, NULL, NULL, NULL, "ignored");
    cr_expect_eq(err.reason, APIERR_TIMEOUT);
    cr_expect_str_eq(err.message, "the server was unable to return a response in the time "
                                  "allotted, but may still be processing the request");
    apierr_generic_response(&err, 429, NULL, NULL, NULL, "ignored");
    cr_expect_eq(apierr_http_code(&err), 429);
    cr_expect_str_eq(err.message, "the server has received too many requests and has asked us to "
                                  "try again later");
    apierr_release(&err);
}

Test(status, success_status_for_delete)
{
    json_t *st = apierr_success_status("", "endpoints", "web", "3f1c");
    char *s = json_dumps(st, JSON_COMPACT);
    cr_expect_str_eq(s, "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":"
                        "\"Success\",\"details\":{\"name\":\"web\",\"kind\":\"endpoints\","
                        "\"uid\":\"3f1c\"}}");
    free(s);
    json_decref(st);
    st = apierr_success_status("discovery.k8s.io", "endpointslices", "s", NULL);
    s = json_dumps(st, JSON_COMPACT);
    cr_expect_str_eq(s, "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":"
                        "\"Success\",\"details\":{\"name\":\"s\",\"group\":\"discovery.k8s.io\","
                        "\"kind\":\"endpointslices\"}}");
    free(s);
    json_decref(st);
}

Test(status, status_of_an_error_does_not_alias_the_error)
{
    /* The Status must stay valid after the error is released (causes shared by reference are
       fine as long as the reference is counted). */
    struct apierr err;
    apierr_init(&err);
    apierr_internal(&err, "x");
    json_t *st = apierr_to_status(&err);
    apierr_release(&err);
    json_t *c = json_array_get(json_object_get(json_object_get(st, "details"), "causes"), 0);
    cr_expect_str_eq(json_string_value(json_object_get(c, "message")), "x");
    json_decref(st);
}
