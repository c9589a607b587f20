/*
 * test_json: request bodies into trees, src/codec/json.c (include/svc/codec.h).
 *
 * The 400 texts are kube-apiserver's (apiserver pkg/endpoints/handlers/rest.go
 * transformDecodeError and summarizeData; apimachinery's json serializer and its
 * SimpleMetaFactory.Interpret; sigs.k8s.io/yaml v1.4 YAMLToJSON, which returns go-yaml's error
 * unwrapped). Where our JSON parser's own words replace Go's (the position of a syntax error)
 * only upstream's frame is asserted, as codec.h documents.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "svc/apierr.h"
#include "svc/codec.h"
#include "svc/strbuf.h"

#define UNRECOGNIZED_SERVICE "the object provided is unrecognized (must be of type Service): "

static json_t *decode(const char *ct, const char *body, struct apierr *err)
{
    apierr_init(err);
    return codec_decode_object(ct, body, strlen(body), "Service", "v1", err);
}

static bool starts_with(const char *s, const char *prefix)
{
    return s && !strncmp(s, prefix, strlen(prefix));
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = s ? strlen(s) : 0, m = strlen(suffix);
    return s && n >= m && !strcmp(s + n - m, suffix);
}

/* A body nested depth levels deep: [[[...]]] inside {"kind":"Service","x":...}. */
static char *nested_json(int depth)
{
    size_t cap = (size_t)depth * 2 + 64;
    char *s = malloc(cap), *p = s;
    cr_assert_not_null(s);
    p += sprintf(p, "{\"kind\":\"Service\",\"x\":");
    for (int i = 1; i < depth; i++)
        *p++ = '[';
    for (int i = 1; i < depth; i++)
        *p++ = ']';
    if (depth == 1) {
        p += sprintf(p, "1");
    }
    *p++ = '}';
    *p = '\0';
    return s;
}

/* ---- content types --------------------------------------------------------------------------- */

Test(json, media_types_are_classified_ignoring_parameters_and_case)
{
    cr_expect_eq(codec_media_of(NULL), CODEC_MEDIA_JSON);
    cr_expect_eq(codec_media_of(""), CODEC_MEDIA_JSON);
    cr_expect_eq(codec_media_of("application/json"), CODEC_MEDIA_JSON);
    cr_expect_eq(codec_media_of("application/json; charset=utf-8"), CODEC_MEDIA_JSON);
    cr_expect_eq(codec_media_of("application/json;charset=UTF-8"), CODEC_MEDIA_JSON);
    cr_expect_eq(codec_media_of("Application/JSON"), CODEC_MEDIA_JSON);
    cr_expect_eq(codec_media_of(" application/json"), CODEC_MEDIA_JSON);
    cr_expect_eq(codec_media_of("application/yaml"), CODEC_MEDIA_YAML);
    cr_expect_eq(codec_media_of("application/yaml; charset=utf-8"), CODEC_MEDIA_YAML);
    cr_expect_eq(codec_media_of("application/vnd.kubernetes.protobuf"), CODEC_MEDIA_PROTOBUF);
    cr_expect_eq(codec_media_of("application/merge-patch+json"), CODEC_MEDIA_MERGE_PATCH);
    cr_expect_eq(codec_media_of("application/json-patch+json"), CODEC_MEDIA_JSON_PATCH);
    cr_expect_eq(codec_media_of("application/strategic-merge-patch+json"),
                 CODEC_MEDIA_STRATEGIC_PATCH);
    cr_expect_eq(codec_media_of("application/apply-patch+yaml"), CODEC_MEDIA_APPLY_PATCH);
    cr_expect_eq(codec_media_of("text/plain"), CODEC_MEDIA_UNKNOWN);
    cr_expect_eq(codec_media_of("application/jsonx"), CODEC_MEDIA_UNKNOWN,
                 "a prefix is not a match");
    cr_expect_eq(codec_media_of("application/xml"), CODEC_MEDIA_UNKNOWN);
    cr_expect_eq(codec_media_of("application/x-www-form-urlencoded"), CODEC_MEDIA_UNKNOWN);
}

/* ---- plain JSON parsing -----------------------------------------------------------------------
 */

Test(json, parse_json_accepts_any_value)
{
    char *msg = NULL;
    const char *text = "{\"a\":[1,2,{\"b\":null}]}";
    json_t *v = codec_parse_json(text, strlen(text), false, &msg);
    cr_assert_not_null(v, "%s", msg ? msg : "");
    cr_expect_null(msg);
    cr_expect_eq(json_array_size(json_object_get(v, "a")), 3);
    json_decref(v);
    v = codec_parse_json("42", 2, false, &msg);
    cr_assert_not_null(v);
    cr_expect_eq(json_integer_value(v), 42);
    json_decref(v);
    /* len bounds the input: no NUL terminator needed. */
    v = codec_parse_json("[1]garbage", 3, false, &msg);
    cr_expect_not_null(v);
    json_decref(v);
}

Test(json, parse_json_errors_say_what_and_where)
{
    char *msg = NULL;
    cr_expect_null(codec_parse_json("", 0, false, &msg));
    cr_assert_not_null(msg);
    cr_expect_str_eq(msg, "unexpected end of JSON input", "Go's text for an empty body");
    free(msg);
    msg = NULL;
    cr_expect_null(codec_parse_json("{\"a\":\n x}", 9, false, &msg));
    cr_assert_not_null(msg);
    cr_expect(strstr(msg, "line 2") != NULL, "the position is named: %s", msg);
    free(msg);
}

Test(json, parse_json_rejects_duplicates_only_when_asked)
{
    const char *body = "{\"a\":1,\"a\":2}";
    char *msg = NULL;
    json_t *v = codec_parse_json(body, strlen(body), false, &msg);
    cr_assert_not_null(v);
    cr_expect_eq(json_integer_value(json_object_get(v, "a")), 2, "the last one wins, as Go's");
    json_decref(v);
    v = codec_parse_json(body, strlen(body), true, &msg);
    cr_expect_null(v);
    cr_assert_not_null(msg);
    cr_expect(strstr(msg, "duplicate") != NULL, "%s", msg);
    free(msg);
}

Test(json, depth_limit_is_100_levels)
{
    char *msg = NULL;
    char *ok = nested_json(CODEC_MAX_DEPTH);
    json_t *v = codec_parse_json(ok, strlen(ok), false, &msg);
    cr_expect_not_null(v, "100 levels are allowed: %s", msg ? msg : "");
    cr_expect_eq(codec_depth(v, CODEC_MAX_DEPTH), CODEC_MAX_DEPTH);
    json_decref(v);
    free(msg);
    msg = NULL;
    char *deep = nested_json(CODEC_MAX_DEPTH + 1);
    v = codec_parse_json(deep, strlen(deep), false, &msg);
    cr_expect_null(v, "101 levels are refused");
    cr_expect_not_null(msg);
    free(msg);
    free(ok);
    free(deep);
}

/*
 * BUG (reported, minor): codec.h says codec_depth "stops at limit+1", but for a tree deeper
 * than limit it returns limit+2 (the recursion adds one level after the child already passed
 * the limit). Callers only test "> limit", so nothing breaks today.
 */
Test(json, depth_counts_objects_and_arrays)
{
    json_t *scalar = json_integer(1);
    cr_expect_eq(codec_depth(scalar, 100), 0);
    json_decref(scalar);
    json_t *v = json_loads("{}", 0, NULL);
    cr_expect_eq(codec_depth(v, 100), 1);
    json_decref(v);
    v = json_loads("{\"a\":[{\"b\":[]}],\"c\":1}", 0, NULL);
    cr_expect_eq(codec_depth(v, 100), 4);
    json_decref(v);
    /* The walk stops early: a limit of 2 reports 3 (= limit + 1), not the true depth. */
    v = json_loads("[[[[[[[[1]]]]]]]]", 0, NULL);
    cr_expect_eq(codec_depth(v, 100), 8);
    cr_expect_eq(codec_depth(v, 2), 3);
    json_decref(v);
}

/* ---- object bodies --------------------------------------------------------------------------- */

Test(json, decodes_a_json_object)
{
    struct apierr err;
    json_t *obj =
        decode("application/json",
               "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"w\"}}", &err);
    cr_assert_not_null(obj, "%s", err.message ? err.message : "");
    cr_expect_not(apierr_failed(&err));
    cr_expect_str_eq(json_string_value(json_object_get(json_object_get(obj, "metadata"), "name")),
                     "w");
    json_decref(obj);
    /* kind and apiVersion may be left out: the endpoint's are the defaults. */
    obj = decode(NULL, "{\"metadata\":{\"name\":\"w\"}}", &err);
    cr_expect_not_null(obj);
    json_decref(obj);
    apierr_release(&err);
}

Test(json, decodes_a_yaml_object)
{
    struct apierr err;
    json_t *obj = decode("application/yaml",
                         "apiVersion: v1\nkind: Service\nmetadata:\n  name: w\nspec:\n  ports:\n"
                         "  - port: 80\n",
                         &err);
    cr_assert_not_null(obj, "%s", err.message ? err.message : "");
    json_t *port = json_array_get(json_object_get(json_object_get(obj, "spec"), "ports"), 0);
    cr_expect(json_is_integer(json_object_get(port, "port")));
    cr_expect_eq(json_integer_value(json_object_get(port, "port")), 80);
    json_decref(obj);
    apierr_release(&err);
}

Test(json, empty_body_is_the_upstream_400)
{
    struct apierr err;
    cr_expect_null(decode("application/json", "", &err));
    cr_expect_eq(err.reason, APIERR_BAD_REQUEST);
    cr_expect_eq(apierr_http_code(&err), 400);
    cr_expect_str_eq(err.message, UNRECOGNIZED_SERVICE "couldn't get version/kind; json parse "
                                                       "error: unexpected end of JSON input "
                                                       "(<empty>)");
    apierr_release(&err);
}

Test(json, malformed_json_is_400_with_upstream_frame_and_summary)
{
    struct apierr err;
    const char *body = "{\"kind\":\"Service\",\"metadata\":{\"name\": x}}";
    cr_expect_null(decode("application/json", body, &err));
    cr_expect_eq(err.reason, APIERR_BAD_REQUEST);
    cr_expect(starts_with(err.message,
                          UNRECOGNIZED_SERVICE "couldn't get version/kind; json parse error: "),
              "%s", err.message);
    /* summarizeData: a body starting with '{' is shown as text, cut at 30 bytes + " ...". */
    cr_expect(ends_with(err.message, " ({\"kind\":\"Service\",\"metadata\":{ ...)"), "%s",
              err.message);
    cr_expect(strstr(err.message, "line 1") != NULL, "the position is added: %s", err.message);
    apierr_release(&err);
}

Test(json, short_malformed_body_is_summarised_whole_and_non_json_in_hex)
{
    struct apierr err;
    cr_expect_null(decode("application/json", "{\"a\":", &err));
    cr_expect(ends_with(err.message, " ({\"a\":)"), "%s", err.message);
    apierr_release(&err);
    cr_expect_null(decode("application/json", "not json", &err));
    cr_expect(ends_with(err.message, " (6e6f74206a736f6e)"), "hex of a non-JSON body: %s",
              err.message);
    apierr_release(&err);
}

/*
 * BUG (reported): Go's UnmarshalTypeError names the JSON type it met ("array", "string",
 * "number", "bool"); ours always says "non-object".
 */
Test(json, non_object_body_is_the_go_unmarshal_error)
{
    struct apierr err;
    cr_expect_null(decode("application/json", "[1]", &err));
    cr_expect_str_eq(err.message, UNRECOGNIZED_SERVICE
                     "couldn't get version/kind; json parse error: json: "
                     "cannot unmarshal array into Go value of type struct { "
                     "APIVersion string \"json:\\\"apiVersion,omitempty\\\"\"; "
                     "Kind string \"json:\\\"kind,omitempty\\\"\" } (5b315d)");
    apierr_release(&err);
    cr_expect_null(decode("application/json", "\"x\"", &err));
    cr_expect(err.message && strstr(err.message, "cannot unmarshal string into Go value of type "
                                                 "struct {"),
              "%s", err.message);
    apierr_release(&err);
}

Test(json, kind_of_another_type_cannot_be_handled)
{
    struct apierr err;
    cr_expect_null(decode("application/json",
                          "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"x\"}}",
                          &err));
    cr_expect_eq(err.reason, APIERR_BAD_REQUEST);
    cr_expect(starts_with(err.message, "Pod in version \"v1\" cannot be handled as a Service: "),
              "%s", err.message);
    apierr_release(&err);
    /* The version shown is the version part of a group/version. */
    cr_expect_null(
        decode("application/json", "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\"}", &err));
    cr_expect(
        starts_with(err.message, "Deployment in version \"v1\" cannot be handled as a Service: "),
        "%s", err.message);
    apierr_release(&err);
    /* Without apiVersion, the endpoint's version is the default. */
    cr_expect_null(decode("application/json", "{\"kind\":\"Pod\"}", &err));
    cr_expect(starts_with(err.message, "Pod in version \"v1\" cannot be handled as a Service: "),
              "%s", err.message);
    apierr_release(&err);
}

/*
 * BUG (reported): for a kind the scheme knows, upstream's decoder builds that kind and then
 * fails to convert it (apimachinery pkg/conversion/converter.go), so the detail is
 * "converting (v1.Pod) to (core.Service): unknown conversion"; ours invents "the kind in the
 * data (Pod) does not match the expected kind (Service)".
 */
Test(json, kind_mismatch_detail_is_upstreams_conversion_error)
{
    struct apierr err;
    cr_expect_null(decode("application/json",
                          "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"x\"}}",
                          &err));
    cr_expect_str_eq(err.message, "Pod in version \"v1\" cannot be handled as a Service: "
                                  "converting (v1.Pod) to (core.Service): unknown conversion");
    apierr_release(&err);
}

/*
 * BUG (reported): the body's apiVersion is not checked. Upstream decodes the body as the
 * group/version/kind it names; a Service of an unknown version fails with
 * `Service in version "v2" cannot be handled as a Service: no kind "Service" is registered for
 * version "v2" in scheme "pkg/api/legacyscheme/scheme.go:30"`, while ours accepts it.
 */
Test(json, unknown_api_version_is_refused)
{
    struct apierr err;
    json_t *obj = decode("application/json", "{\"apiVersion\":\"v2\",\"kind\":\"Service\"}", &err);
    cr_expect_null(obj, "a v2 Service must not decode as a v1 Service");
    json_decref(obj);
    cr_expect_eq(err.reason, APIERR_BAD_REQUEST);
    cr_expect(
        starts_with(err.message, "Service in version \"v2\" cannot be handled as a Service: "),
        "%s", err.message ? err.message : "(no error)");
    apierr_release(&err);
}

/*
 * BUG (reported): a wrongly typed kind or apiVersion is Go's UnmarshalTypeError from
 * SimpleMetaFactory.Interpret, which names the JSON value's type ("number", "bool", "object",
 * "array"), not "value"; and a non-string apiVersion is not checked at all.
 */
Test(json, wrongly_typed_kind_or_api_version_is_the_go_type_error)
{
    struct apierr err;
    cr_expect_null(decode("application/json", "{\"kind\":5}", &err));
    cr_expect_str_eq(err.message, UNRECOGNIZED_SERVICE "couldn't get version/kind; json parse "
                                                       "error: json: cannot unmarshal number into "
                                                       "Go struct field .kind of type string "
                                                       "({\"kind\":5})");
    apierr_release(&err);
    json_t *obj = decode("application/json", "{\"apiVersion\":true,\"kind\":\"Service\"}", &err);
    cr_expect_null(obj);
    json_decref(obj);
    cr_expect_str_eq(err.message ? err.message : "(no error)",
                     UNRECOGNIZED_SERVICE "couldn't get version/kind; json parse error: json: "
                                          "cannot unmarshal bool into Go struct field .apiVersion "
                                          "of type string ({\"apiVersion\":true,\"kind\":"
                                          "\"Ser ...)"); /* summarizeData: 30 bytes, then " ..." */
    apierr_release(&err);
}

Test(json, too_deep_json_body_is_400)
{
    struct apierr err;
    char *deep = nested_json(CODEC_MAX_DEPTH + 5);
    apierr_init(&err);
    cr_expect_null(
        codec_decode_object("application/json", deep, strlen(deep), "Service", "v1", &err));
    cr_expect_eq(apierr_http_code(&err), 400);
    cr_expect(starts_with(err.message, UNRECOGNIZED_SERVICE), "%s", err.message);
    apierr_release(&err);
    free(deep);
    char *ok = nested_json(CODEC_MAX_DEPTH);
    json_t *obj = codec_decode_object("application/json", ok, strlen(ok), "Service", "v1", &err);
    cr_expect_not_null(obj, "exactly 100 levels decode");
    json_decref(obj);
    apierr_release(&err);
    free(ok);
}

Test(json, too_deep_yaml_body_is_400)
{
    struct apierr err;
    /* 120 nested flow sequences. */
    char body[400];
    char *p = body;
    p += sprintf(p, "kind: Service\nx: ");
    for (int i = 0; i < 120; i++)
        *p++ = '[';
    for (int i = 0; i < 120; i++)
        *p++ = ']';
    *p++ = '\n';
    *p = '\0';
    cr_expect_null(decode("application/yaml", body, &err));
    cr_expect_eq(apierr_http_code(&err), 400);
    apierr_release(&err);
}

/*
 * Upstream's YAML serializer returns YAMLToJSON's error unwrapped (go-yaml's "yaml: line 2:
 * ..."), and the create/update handlers put it in the same transformDecodeError frame as a
 * JSON error, with the hex summary of the body (not "error converting YAML to JSON", which is
 * what the client-side sigs.k8s.io/yaml.Unmarshal adds).
 */
Test(json, malformed_yaml_is_the_upstream_400)
{
    struct apierr err;
    cr_expect_null(decode("application/yaml", "kind: Service\nmetadata: name: x\n", &err));
    cr_expect_eq(err.reason, APIERR_BAD_REQUEST);
    cr_expect_str_eq(err.message,
                     UNRECOGNIZED_SERVICE "yaml: line 2: mapping values are not allowed in this "
                                          "context (6b696e643a20536572766963650a6d657461646174613a"
                                          "206e616d653a20 ...)");
    apierr_release(&err);
}

Test(json, yaml_body_with_another_kind_cannot_be_handled)
{
    struct apierr err;
    cr_expect_null(decode("application/yaml", "apiVersion: v1\nkind: Pod\n", &err));
    cr_expect(starts_with(err.message, "Pod in version \"v1\" cannot be handled as a Service: "),
              "%s", err.message);
    apierr_release(&err);
}

Test(json, unknown_content_type_is_415)
{
    struct apierr err;
    cr_expect_null(decode("text/plain", "{}", &err));
    cr_expect_eq(err.reason, APIERR_UNSUPPORTED_MEDIA_TYPE);
    cr_expect_eq(apierr_http_code(&err), 415);
    cr_expect_str_eq(err.message, "the body of the request was in an unknown format - accepted "
                                  "media types include: application/json, application/yaml, "
                                  "application/vnd.kubernetes.protobuf");
    apierr_release(&err);
}

Test(json, protobuf_bodies_go_to_the_protobuf_decoder)
{
    struct apierr err;
    /* Not a protobuf envelope at all: 400, never a crash. */
    apierr_init(&err);
    cr_expect_null(codec_decode_object("application/vnd.kubernetes.protobuf", "garbage", 7,
                                       "Service", "v1", &err));
    cr_expect_eq(apierr_http_code(&err), 400);
    cr_expect_not_null(err.message);
    apierr_release(&err);
    /* A kind the protobuf module does not know: 415, as for a type without a protobuf codec. */
    static const char envelope[] = {'k', '8', 's', 0};
    cr_expect_null(codec_decode_object("application/vnd.kubernetes.protobuf", envelope, 4,
                                       "Endpoints", "v1", &err));
    cr_expect_eq(apierr_http_code(&err), 415);
    apierr_release(&err);
}

/* ---- codec_json_dumps: Go's encoding/json output (json.Encoder with HTML escaping) ---------- */

static void expect_dump(json_t *v, const char *want)
{
    size_t len;
    char *got = codec_json_dumps(v, &len);
    cr_expect_str_eq(got, want);
    cr_expect_eq(len, strlen(want));
    free(got);
    json_decref(v);
}

Test(json_write, strings_escaped_as_go_with_html_safety)
{
    expect_dump(json_string("a\"b\\c"), "\"a\\\"b\\\\c\"");
    expect_dump(json_string("<script>&"), "\"\\u003cscript\\u003e\\u0026\"");
    expect_dump(json_string("\b\f\n\r\t"), "\"\\b\\f\\n\\r\\t\"");
    expect_dump(json_string("\x01\x1f"), "\"\\u0001\\u001f\"");
    expect_dump(json_stringn("a\0b", 3), "\"a\\u0000b\"");
    /* '/' and DEL are written as they are; non-ASCII too, except the two JS line breaks. */
    expect_dump(json_string("a/b\x7f"), "\"a/b\x7f\"");
    expect_dump(json_string("caf\xc3\xa9 \xe2\x82\xac"), "\"caf\xc3\xa9 \xe2\x82\xac\"");
    expect_dump(json_string("x\xe2\x80\xa8y\xe2\x80\xa9"), "\"x\\u2028y\\u2029\"");
}

Test(json_write, numbers_as_go_formats_them)
{
    expect_dump(json_integer(0), "0");
    expect_dump(json_integer(-9223372036854775807LL - 1), "-9223372036854775808");
    expect_dump(json_real(2.0), "2");
    expect_dump(json_real(0.1), "0.1");
    expect_dump(json_real(123.456), "123.456");
    expect_dump(json_real(-1.5), "-1.5");
    expect_dump(json_real(1e20), "100000000000000000000");
    expect_dump(json_real(1e21), "1e+21");
    expect_dump(json_real(0.000001), "0.000001");
    expect_dump(json_real(1e-7), "1e-7");
    expect_dump(json_real(1.25e-10), "1.25e-10");
    expect_dump(json_real(0.30000000000000004), "0.30000000000000004");
}

Test(json_write, documents_keep_member_order_and_are_compact)
{
    json_t *doc = json_pack("{s:s,s:[i,b,n],s:{},s:[]}", "z", "1", "a", 2, 1, "m", "e");
    expect_dump(doc, "{\"z\":\"1\",\"a\":[2,true,null],\"m\":{},\"e\":[]}");
    json_t *keys = json_object();
    json_object_set_new(keys, "a<b", json_false());
    expect_dump(keys, "{\"a\\u003cb\":false}");
}

Test(json_write, appends_to_a_limited_buffer)
{
    struct strbuf sb;
    strbuf_init(&sb, 8);
    json_t *v = json_string("0123456789");
    cr_expect_eq(codec_json_write(&sb, v), STRBUF_TOO_BIG);
    cr_expect_eq(sb.len, 0);
    json_decref(v);
    v = json_integer(42);
    cr_expect_eq(codec_json_write(&sb, v), 0);
    cr_expect_str_eq(strbuf_str(&sb), "42");
    json_decref(v);
    strbuf_release(&sb);
}
