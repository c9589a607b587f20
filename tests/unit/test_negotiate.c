/*
 * test_negotiate: the answer form chosen from an Accept header, src/codec/negotiate.c
 * (include/svc/codec.h). The headers are the ones kubectl 1.27-1.33 sends
 * (kubectl-contract.md §2.1, §4.2, §4.4, §0); the rules are apiserver's negotiation package
 * (pkg/endpoints/handlers/negotiation: clauses ordered by munnerz/goautoneg, which sorts by q and
 * puts concrete types before wildcards; as=/g=/v= conversions only where the endpoint allows
 * them).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "svc/apierr.h"
#include "svc/codec.h"

#define KUBECTL_GET_ACCEPT                                                                         \
    "application/json;as=Table;v=v1;g=meta.k8s.io,application/"                                    \
    "json;as=Table;v=v1beta1;g=meta.k8s.io,"                                                       \
    "application/json"
#define DISCOVERY_ACCEPT_130                                                                       \
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,"                        \
    "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json"
#define DISCOVERY_ACCEPT_127                                                                       \
    "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json"
#define RESOURCE_ALLOW (CODEC_ALLOW_TABLE | CODEC_ALLOW_PARTIAL | CODEC_ALLOW_YAML)

struct outcome {
    int rc;
    struct codec_choice c;
    struct apierr err;
};

static struct outcome negotiate(const char *accept, unsigned allow)
{
    struct outcome o;
    apierr_init(&o.err);
    memset(&o.c, 0x5a, sizeof(o.c)); /* garbage: every field must be set */
    o.rc = codec_negotiate(accept, allow, &o.c, &o.err);
    return o;
}

static void expect_json(const char *accept, unsigned allow)
{
    struct outcome o = negotiate(accept, allow);
    cr_expect_eq(o.rc, 0, "%s", accept ? accept : "(null)");
    cr_expect_eq(o.c.answer, CODEC_ANSWER_JSON, "%s", accept ? accept : "(null)");
    cr_expect_str_eq(o.c.content_type, "application/json", "%s", accept ? accept : "(null)");
    cr_expect_not(apierr_failed(&o.err));
    apierr_release(&o.err);
}

Test(negotiate, no_accept_header_is_json)
{
    expect_json(NULL, RESOURCE_ALLOW);
    expect_json("", RESOURCE_ALLOW);
    expect_json(NULL, 0);
}

Test(negotiate, plain_json_and_wildcards)
{
    expect_json("application/json", RESOURCE_ALLOW);
    expect_json("application/json, */*", RESOURCE_ALLOW); /* typed clients up to 1.31 */
    expect_json("*/*", RESOURCE_ALLOW);                   /* curl */
    expect_json("application/*", RESOURCE_ALLOW);
    expect_json("application/json;charset=utf-8", RESOURCE_ALLOW);
    expect_json("text/html, application/json", RESOURCE_ALLOW);
}

Test(negotiate, protobuf_first_accept_is_answered_in_json)
{
    /* kubectl 1.32+ typed clients (describe, create service ...): never 406 (contract §8.4). */
    expect_json("application/vnd.kubernetes.protobuf,application/json", RESOURCE_ALLOW);
    expect_json("application/vnd.kubernetes.protobuf, */*", RESOURCE_ALLOW);
}

Test(negotiate, kubectl_get_table_header_gives_table_v1)
{
    struct outcome o = negotiate(KUBECTL_GET_ACCEPT, RESOURCE_ALLOW);
    cr_expect_eq(o.rc, 0);
    cr_expect_eq(o.c.answer, CODEC_ANSWER_TABLE);
    cr_expect_str_eq(o.c.version, "v1");
    cr_expect_str_eq(o.c.content_type, "application/json");
    apierr_release(&o.err);
}

Test(negotiate, table_v1beta1_alone)
{
    struct outcome o = negotiate(
        "application/json;as=Table;v=v1beta1;g=meta.k8s.io, application/json", RESOURCE_ALLOW);
    cr_expect_eq(o.c.answer, CODEC_ANSWER_TABLE);
    cr_expect_str_eq(o.c.version, "v1beta1");
    apierr_release(&o.err);
}

Test(negotiate, table_parameters_in_any_order_and_with_spaces)
{
    struct outcome o = negotiate("application/json; g=meta.k8s.io; v=v1; as=Table", RESOURCE_ALLOW);
    cr_expect_eq(o.rc, 0);
    cr_expect_eq(o.c.answer, CODEC_ANSWER_TABLE);
    cr_expect_str_eq(o.c.version, "v1");
    apierr_release(&o.err);
}

Test(negotiate, table_where_the_endpoint_cannot_print_falls_back_to_json)
{
    /* Writes and discovery documents do not answer Tables: the plain json clause wins. */
    expect_json(KUBECTL_GET_ACCEPT, CODEC_ALLOW_YAML);
    expect_json(KUBECTL_GET_ACCEPT, 0);
}

Test(negotiate, table_only_where_the_endpoint_cannot_print_is_406)
{
    struct outcome o = negotiate("application/json;as=Table;v=v1;g=meta.k8s.io", CODEC_ALLOW_YAML);
    cr_expect_eq(o.rc, -1);
    cr_expect_eq(o.err.reason, APIERR_NOT_ACCEPTABLE);
    cr_expect_eq(apierr_http_code(&o.err), 406);
    apierr_release(&o.err);
}

Test(negotiate, tables_of_other_groups_or_versions_are_not_tables)
{
    struct outcome o =
        negotiate("application/json;as=Table;v=v2;g=meta.k8s.io,application/json", RESOURCE_ALLOW);
    cr_expect_eq(o.c.answer, CODEC_ANSWER_JSON);
    apierr_release(&o.err);
    o = negotiate("application/json;as=Table;v=v1;g=example.com,application/json", RESOURCE_ALLOW);
    cr_expect_eq(o.c.answer, CODEC_ANSWER_JSON);
    apierr_release(&o.err);
}

Test(negotiate, partial_object_metadata)
{
    struct outcome o = negotiate(
        "application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io,application/json",
        RESOURCE_ALLOW);
    cr_expect_eq(o.c.answer, CODEC_ANSWER_PARTIAL);
    cr_expect_str_eq(o.c.version, "v1");
    apierr_release(&o.err);
    o = negotiate("application/json;as=PartialObjectMetadata;v=v1beta1;g=meta.k8s.io",
                  RESOURCE_ALLOW);
    cr_expect_eq(o.c.answer, CODEC_ANSWER_PARTIAL);
    cr_expect_str_eq(o.c.version, "v1beta1");
    apierr_release(&o.err);
    /* Not allowed on this endpoint: skipped. */
    o = negotiate("application/json;as=PartialObjectMetadata;v=v1;g=meta.k8s.io,application/json",
                  CODEC_ALLOW_TABLE);
    cr_expect_eq(o.c.answer, CODEC_ANSWER_JSON);
    apierr_release(&o.err);
}

Test(negotiate, aggregated_discovery_v2_for_kubectl_130_and_later)
{
    struct outcome o = negotiate(DISCOVERY_ACCEPT_130, CODEC_ALLOW_DISCOVERY | CODEC_ALLOW_YAML);
    cr_expect_eq(o.rc, 0);
    cr_expect_eq(o.c.answer, CODEC_ANSWER_DISCOVERY);
    cr_expect_str_eq(o.c.version, "v2");
    /* client-go recognises the aggregated form by this Content-Type alone (contract §2.3). */
    cr_expect_str_eq(o.c.content_type,
                     "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList");
    apierr_release(&o.err);
}

Test(negotiate, aggregated_discovery_v2beta1_for_kubectl_127_to_129)
{
    struct outcome o = negotiate(DISCOVERY_ACCEPT_127, CODEC_ALLOW_DISCOVERY);
    cr_expect_eq(o.c.answer, CODEC_ANSWER_DISCOVERY);
    cr_expect_str_eq(o.c.version, "v2beta1");
    cr_expect_str_eq(o.c.content_type,
                     "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList");
    apierr_release(&o.err);
}

Test(negotiate, aggregated_discovery_only_where_allowed)
{
    /* /api/v1 and /apis/g/v have no aggregated form: plain JSON, never v2 to an old client. */
    expect_json(DISCOVERY_ACCEPT_130, CODEC_ALLOW_YAML);
    expect_json(DISCOVERY_ACCEPT_127, RESOURCE_ALLOW);
    /* An unknown discovery version is not answered as discovery. */
    struct outcome o = negotiate(
        "application/json;g=apidiscovery.k8s.io;v=v3;as=APIGroupDiscoveryList,application/json",
        CODEC_ALLOW_DISCOVERY);
    cr_expect_eq(o.c.answer, CODEC_ANSWER_JSON);
    apierr_release(&o.err);
}

Test(negotiate, yaml_when_allowed)
{
    struct outcome o = negotiate("application/yaml", RESOURCE_ALLOW);
    cr_expect_eq(o.rc, 0);
    cr_expect_eq(o.c.answer, CODEC_ANSWER_YAML);
    cr_expect_str_eq(o.c.content_type, "application/yaml");
    apierr_release(&o.err);
    o = negotiate("application/yaml", CODEC_ALLOW_TABLE);
    cr_expect_eq(o.rc, -1, "yaml not allowed and nothing else offered");
    cr_expect_eq(o.err.reason, APIERR_NOT_ACCEPTABLE);
    apierr_release(&o.err);
}

Test(negotiate, q_values_order_the_clauses)
{
    struct outcome o = negotiate("application/json;q=0.5, application/yaml", RESOURCE_ALLOW);
    cr_expect_eq(o.c.answer, CODEC_ANSWER_YAML);
    apierr_release(&o.err);
    o = negotiate("application/yaml;q=0.9, application/json;q=0.95", RESOURCE_ALLOW);
    cr_expect_eq(o.c.answer, CODEC_ANSWER_JSON);
    apierr_release(&o.err);
    o = negotiate("application/json;q=0.1," KUBECTL_GET_ACCEPT, RESOURCE_ALLOW);
    cr_expect_eq(o.c.answer, CODEC_ANSWER_TABLE);
    apierr_release(&o.err);
    /* Equal q: the order of the header decides. */
    o = negotiate("application/yaml, application/json", RESOURCE_ALLOW);
    cr_expect_eq(o.c.answer, CODEC_ANSWER_YAML);
    apierr_release(&o.err);
    o = negotiate("application/json, application/yaml", RESOURCE_ALLOW);
    cr_expect_eq(o.c.answer, CODEC_ANSWER_JSON);
    apierr_release(&o.err);
}

/*
 * BUG (reported): goautoneg sorts clauses of equal q with concrete types before wildcards
 * (its accept_slice.Less), so upstream answers YAML to "*\/\*, application/yaml"; ours takes
 * the header order and answers JSON.
 */
Test(negotiate, concrete_types_beat_wildcards_of_equal_q)
{
    struct outcome o = negotiate("*/*, application/yaml", RESOURCE_ALLOW);
    cr_expect_eq(o.c.answer, CODEC_ANSWER_YAML);
    apierr_release(&o.err);
    o = negotiate("application/*, application/yaml", RESOURCE_ALLOW);
    cr_expect_eq(o.c.answer, CODEC_ANSWER_YAML);
    apierr_release(&o.err);
}

Test(negotiate, nothing_acceptable_is_406)
{
    /* No range names a type any route produces: go-restful's bare 406. */
    struct outcome o = negotiate("text/html", RESOURCE_ALLOW);
    cr_expect_eq(o.rc, -1);
    cr_expect_eq(o.err.reason, APIERR_NOT_ACCEPTABLE);
    cr_expect_eq(apierr_http_code(&o.err), 406);
    cr_assert_not_null(o.err.message);
    cr_expect_str_eq(o.err.message, "406: Not Acceptable");
    apierr_release(&o.err);
    /* A routable type whose conversion does not exist: the handler's list of what it offers. */
    o = negotiate("application/json;as=Foo", RESOURCE_ALLOW);
    cr_expect_eq(o.rc, -1);
    cr_expect_eq(o.err.reason, APIERR_NOT_ACCEPTABLE);
    cr_assert_not_null(o.err.message);
    cr_expect_str_eq(o.err.message, "only the following media types are accepted: "
                                    "application/json, application/yaml, "
                                    "application/vnd.kubernetes.protobuf");
    apierr_release(&o.err);
    o = negotiate("application/vnd.kubernetes.protobuf", RESOURCE_ALLOW);
    cr_expect_eq(o.rc, -1, "we never answer protobuf");
    apierr_release(&o.err);
    o = negotiate("image/png, text/plain;q=0.5", RESOURCE_ALLOW);
    cr_expect_eq(o.rc, -1);
    apierr_release(&o.err);
}

Test(negotiate, malformed_and_oversized_headers_do_not_crash)
{
    static const char *const odd[] = {
        ",,,",
        ";;;",
        "application/json;;;q",
        "application/json;q=",
        "application/json;=x",
        "  ,  application/json  ,  ",
        "application/json;as=",
        "a/b;as=Table;v=v1;g=meta.k8s.io",
    };
    for (size_t i = 0; i < sizeof(odd) / sizeof(odd[0]); i++) {
        struct outcome o = negotiate(odd[i], RESOURCE_ALLOW);
        cr_expect(o.rc == 0 || o.rc == -1);
        apierr_release(&o.err);
    }
    /* Far more clauses than any client sends, and very long parameter values. */
    char big[8192];
    size_t n = 0;
    for (int i = 0; i < 100; i++)
        n += (size_t)snprintf(big + n, sizeof(big) - n, "text/x%d,", i);
    snprintf(big + n, sizeof(big) - n, "application/json");
    struct outcome o = negotiate(big, RESOURCE_ALLOW);
    cr_expect(o.rc == 0 || o.rc == -1);
    apierr_release(&o.err);
    char longv[2048] = "application/json;as=";
    memset(longv + strlen(longv), 'T', 1500);
    longv[1520] = '\0';
    o = negotiate(longv, RESOURCE_ALLOW);
    cr_expect(o.rc == -1 || o.c.answer != CODEC_ANSWER_TABLE);
    apierr_release(&o.err);
    o = negotiate(", application/json", RESOURCE_ALLOW);
    cr_expect_eq(o.rc, 0);
    cr_expect_eq(o.c.answer, CODEC_ANSWER_JSON);
    apierr_release(&o.err);
}
