/*
 * Unit tests for validate_service: every rule of kube-apiserver 1.33's Service validation,
 * each from both sides (a value that passes, one that fails with the exact upstream error), on
 * Services as they look after v1 defaulting and allocation.
 *
 * A test starts from a valid defaulted Service (base_clusterip() and friends), changes it with a
 * JSON merge patch, and compares the whole list of errors, in order, as "<field>: <body>" lines
 * (apimachinery's Error()), and the cause reason where it matters. Inputs are written with
 * single quotes for readability; the helper turns them into double quotes.
 * Expected strings come from the upstream sources (validation.go, apimachinery's validation and
 * field packages), not from this implementation.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "svc/field_error.h"
#include "svc/validate_service.h"

/* ---- upstream message texts ------------------------------------------------------------------ */
#define PORT_RANGE "must be between 1 and 65535, inclusive"
#define DNS1035                                                                                    \
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an "   \
    "alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or "           \
    "'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"
#define DNS1123_LABEL                                                                              \
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and "   \
    "must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex "     \
    "used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
#define DNS1123_SUBDOMAIN                                                                          \
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "   \
    "'.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used "  \
    "for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
#define QNAME_NAME_PART                                                                            \
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end "  \
    "with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for " \
    "validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
#define LABEL_VALUE                                                                                \
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or "    \
    "'.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or "             \
    "'my_value',  or '12345', regex used for validation is "                                       \
    "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
#define BAD_IP   "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"
#define BAD_CIDR "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)"
#define LB_ONLY  "may only be used when `type` is 'LoadBalancer'"

/* ---- building Services -------------------------------------------------------------------------
 */

/* JSON written with ' for " (none of our inputs needs a literal apostrophe). */
static json_t *sq(const char *text)
{
    char *s = strdup(text);
    for (char *p = s; *p; p++)
        if (*p == '\'')
            *p = '"';
    json_error_t err;
    json_t *v = json_loads(s, 0, &err);
    cr_assert_not_null(v, "bad test JSON: %s: %s", s, err.text);
    free(s);
    return v;
}

/* RFC 7386 merge patch of target (modified) by patch (borrowed). */
static json_t *merge(json_t *target, const json_t *patch)
{
    if (!json_is_object(patch)) {
        json_decref(target);
        return json_deep_copy(patch);
    }
    if (!json_is_object(target)) {
        json_decref(target);
        target = json_object();
    }
    const char *key;
    json_t *value;
    json_object_foreach ((json_t *)patch, key, value) {
        if (json_is_null(value)) {
            json_object_del(target, key);
        } else {
            json_t *cur = json_object_get(target, key);
            json_object_set_new(target, key, merge(cur ? json_incref(cur) : NULL, value));
        }
    }
    return target;
}

#define BASE_META "'metadata':{'name':'web','namespace':'default','resourceVersion':'7'}"

static const char base_clusterip[] =
    "{" BASE_META ",'spec':{'ports':[{'protocol':'TCP','port':80,'targetPort':80}],"
    "'selector':{'app':'web'},'clusterIP':'10.96.0.10','clusterIPs':['10.96.0.10'],"
    "'type':'ClusterIP','sessionAffinity':'None','ipFamilies':['IPv4'],"
    "'ipFamilyPolicy':'SingleStack','internalTrafficPolicy':'Cluster'},"
    "'status':{'loadBalancer':{}}}";

static const char base_nodeport[] =
    "{" BASE_META ",'spec':{'ports':[{'protocol':'TCP','port':80,'targetPort':80,"
    "'nodePort':30080}],'selector':{'app':'web'},'clusterIP':'10.96.0.10',"
    "'clusterIPs':['10.96.0.10'],'type':'NodePort','sessionAffinity':'None',"
    "'externalTrafficPolicy':'Cluster','ipFamilies':['IPv4'],'ipFamilyPolicy':'SingleStack',"
    "'internalTrafficPolicy':'Cluster'},'status':{'loadBalancer':{}}}";

static const char base_lb[] =
    "{" BASE_META ",'spec':{'ports':[{'protocol':'TCP','port':80,'targetPort':80,"
    "'nodePort':30080}],'selector':{'app':'web'},'clusterIP':'10.96.0.10',"
    "'clusterIPs':['10.96.0.10'],'type':'LoadBalancer','sessionAffinity':'None',"
    "'externalTrafficPolicy':'Cluster','ipFamilies':['IPv4'],'ipFamilyPolicy':'SingleStack',"
    "'allocateLoadBalancerNodePorts':true,'internalTrafficPolicy':'Cluster'},"
    "'status':{'loadBalancer':{}}}";

static const char base_headless[] =
    "{" BASE_META ",'spec':{'ports':[{'protocol':'TCP','port':80,'targetPort':80}],"
    "'selector':{'app':'web'},'clusterIP':'None','clusterIPs':['None'],'type':'ClusterIP',"
    "'sessionAffinity':'None','ipFamilies':['IPv4'],'ipFamilyPolicy':'SingleStack',"
    "'internalTrafficPolicy':'Cluster'},'status':{'loadBalancer':{}}}";

static const char base_external[] =
    "{" BASE_META ",'spec':{'type':'ExternalName','sessionAffinity':'None',"
    "'externalName':'db.example.com'},'status':{'loadBalancer':{}}}";

/* base with patch applied (patch may be NULL); a new reference. */
static json_t *svc_from(const char *base, const char *patch)
{
    json_t *svc = sq(base);
    if (patch) {
        json_t *p = sq(patch);
        svc = merge(svc, p);
        json_decref(p);
    }
    return svc;
}

/* ---- comparing error lists ---------------------------------------------------------------------
 */

/* The list as "<field>: <body>" lines joined by newlines (for readable failure messages). */
static char *render(const struct field_errors *errs)
{
    size_t cap = 1, len = 0;
    char *out = calloc(1, 1);
    for (size_t i = 0; i < errs->len; i++) {
        char *line = fe_error_string(&errs->items[i]);
        size_t n = strlen(line);
        out = realloc(out, cap += n + 1);
        memcpy(out + len, line, n);
        len += n;
        out[len++] = '\n';
        out[len] = '\0';
        free(line);
    }
    return out;
}

/* want: NULL-terminated list of "<field>: <body>" in order. */
static void expect_list(const struct field_errors *errs, const char *const *want)
{
    size_t n = 0;
    while (want[n])
        n++;
    char *got = render(errs);
    cr_expect_eq(errs->len, n, "expected %zu errors, got %zu:\n%s", n, errs->len, got);
    for (size_t i = 0; i < n && i < errs->len; i++) {
        char *line = fe_error_string(&errs->items[i]);
        cr_expect_str_eq(line, want[i], "error %zu differs:\n got: %s\nwant: %s\nall:\n%s", i, line,
                         want[i], got);
        free(line);
    }
    free(got);
}

#define WANT(...) ((const char *const[]){__VA_ARGS__, NULL})
#define NONE      ((const char *const[]){NULL})

static void check_create(const char *base, const char *patch, const char *const *want)
{
    json_t *svc = svc_from(base, patch);
    struct field_errors errs;
    fe_init(&errs);
    validate_service(&errs, svc);
    expect_list(&errs, want);
    fe_release(&errs);
    json_decref(svc);
}

static void check_ip_fields(const char *base, const char *patch, const char *const *want)
{
    json_t *svc = svc_from(base, patch);
    struct field_errors errs;
    fe_init(&errs);
    validate_service_cluster_ip_fields(&errs, svc, NULL);
    expect_list(&errs, want);
    fe_release(&errs);
    json_decref(svc);
}

static void check_update(const char *old_base, const char *old_patch, const char *new_patch,
                         const char *const *want)
{
    json_t *old = svc_from(old_base, old_patch);
    json_t *svc = json_deep_copy(old);
    if (new_patch) {
        json_t *p = sq(new_patch);
        svc = merge(svc, p);
        json_decref(p);
    }
    struct field_errors errs;
    fe_init(&errs);
    validate_service_update(&errs, svc, old);
    expect_list(&errs, want);
    fe_release(&errs);
    json_decref(svc);
    json_decref(old);
}

static void check_status(const char *base, const char *old_status, const char *new_status,
                         const char *const *want)
{
    json_t *old = svc_from(base, old_status);
    json_t *svc = json_deep_copy(old);
    json_t *p = sq(new_status);
    svc = merge(svc, p);
    json_decref(p);
    struct field_errors errs;
    fe_init(&errs);
    validate_service_status_update(&errs, svc, old);
    expect_list(&errs, want);
    fe_release(&errs);
    json_decref(svc);
    json_decref(old);
}

/* The reason of error i (for the tests that check the Status cause reason). */
static const char *reason_of(const char *base, const char *patch, size_t i)
{
    json_t *svc = svc_from(base, patch);
    struct field_errors errs;
    fe_init(&errs);
    validate_service(&errs, svc);
    cr_assert_gt(errs.len, i);
    const char *r = fe_reason(errs.items[i].type);
    fe_release(&errs);
    json_decref(svc);
    return r;
}

/* ---- valid Services ---------------------------------------------------------------------------
 */

Test(validate_service, defaulted_services_of_every_type_pass)
{
    check_create(base_clusterip, NULL, NONE);
    check_create(base_nodeport, NULL, NONE);
    check_create(base_lb, NULL, NONE);
    check_create(base_headless, NULL, NONE);
    check_create(base_external, NULL, NONE);
    /* LoadBalancer with externalTrafficPolicy Local and its health-check port */
    check_create(base_lb, "{'spec':{'externalTrafficPolicy':'Local','healthCheckNodePort':31000}}",
                 NONE);
    /* headless without selector: RequireDualStack with both families even on one stack */
    check_create(base_headless,
                 "{'spec':{'selector':null,'ipFamilies':['IPv4','IPv6'],"
                 "'ipFamilyPolicy':'RequireDualStack'}}",
                 NONE);
    /* dual-stack */
    check_create(base_clusterip,
                 "{'spec':{'clusterIPs':['10.96.0.10','fd00::10'],'ipFamilies':['IPv4','IPv6'],"
                 "'ipFamilyPolicy':'PreferDualStack'}}",
                 NONE);
    /* ClientIP affinity at the default and the maximal timeout */
    check_create(base_clusterip,
                 "{'spec':{'sessionAffinity':'ClientIP','sessionAffinityConfig':{'clientIP':"
                 "{'timeoutSeconds':10800}}}}",
                 NONE);
    check_create(base_clusterip,
                 "{'spec':{'sessionAffinity':'ClientIP','sessionAffinityConfig':{'clientIP':"
                 "{'timeoutSeconds':86400}}}}",
                 NONE);
}

Test(validate_service, things_upstream_does_not_check_pass)
{
    /* mixed protocols on a LoadBalancer, port 10250 on a LoadBalancer, loadBalancerIP,
       publishNotReadyAddresses, the same nodePort on TCP and UDP, any targetPort when headless */
    check_create(base_lb,
                 "{'spec':{'ports':[{'name':'a','protocol':'TCP','port':53,'targetPort':53,"
                 "'nodePort':30053},{'name':'b','protocol':'UDP','port':53,'targetPort':53,"
                 "'nodePort':30053},{'name':'c','protocol':'TCP','port':10250,'targetPort':1,"
                 "'nodePort':30054}],'loadBalancerIP':'1.2.3.4','publishNotReadyAddresses':true}}",
                 NONE);
    check_create(base_headless,
                 "{'spec':{'ports':[{'protocol':'TCP','port':80,'targetPort':'x1'}]}}", NONE);
    /* nodePorts out of the allocator's range are the allocator's business */
    check_create(base_nodeport,
                 "{'spec':{'ports':[{'protocol':'TCP','port':80,'targetPort':80,'nodePort':80}]}}",
                 NONE);
}

/* ---- metadata ---------------------------------------------------------------------------------
 */

Test(validate_service, name_must_be_a_dns1035_label)
{
    check_create(base_clusterip, "{'metadata':{'name':'Bad_Name'}}",
                 WANT("metadata.name: Invalid value: \"Bad_Name\": " DNS1035));
    /* a DNS-1123 label that starts with a digit is still no DNS-1035 label */
    check_create(base_clusterip, "{'metadata':{'name':'1web'}}",
                 WANT("metadata.name: Invalid value: \"1web\": " DNS1035));
    check_create(base_clusterip, "{'metadata':{'name':'web-1'}}", NONE);
    check_create(base_clusterip, "{'metadata':{'name':null}}",
                 WANT("metadata.name: Required value: name or generateName is required"));
}

Test(validate_service, generate_name_is_a_dns1035_prefix)
{
    check_create(base_clusterip, "{'metadata':{'generateName':'web-'}}", NONE);
    check_create(base_clusterip, "{'metadata':{'generateName':'9web-'}}",
                 WANT("metadata.generateName: Invalid value: \"9web-\": " DNS1035));
}

Test(validate_service, labels_are_checked_with_metadata)
{
    check_create(base_clusterip, "{'metadata':{'labels':{'app':'bad value'}}}",
                 WANT("metadata.labels: Invalid value: \"bad value\": " LABEL_VALUE));
}

Test(validate_service, topology_annotations_must_agree)
{
    check_create(base_clusterip,
                 "{'metadata':{'annotations':{'service.kubernetes.io/topology-mode':'Auto',"
                 "'service.kubernetes.io/topology-aware-hints':'Auto'}}}",
                 NONE);
    check_create(base_clusterip,
                 "{'metadata':{'annotations':{'service.kubernetes.io/topology-mode':'Auto'}}}",
                 NONE);
    check_create(
        base_clusterip,
        "{'metadata':{'annotations':{'service.kubernetes.io/topology-mode':'Auto',"
        "'service.kubernetes.io/topology-aware-hints':'Disabled'}}}",
        WANT("metadata.annotations[service.kubernetes.io/topology-mode]: Invalid value: \"Auto\": "
             "must match annotations[service.kubernetes.io/topology-aware-hints] when both are "
             "specified"));
}

/* ---- ports ------------------------------------------------------------------------------------
 */

Test(validate_service, ports_are_required_unless_headless_or_external_name)
{
    check_create(base_clusterip, "{'spec':{'ports':null}}", WANT("spec.ports: Required value"));
    check_create(base_clusterip, "{'spec':{'ports':[]}}", WANT("spec.ports: Required value"));
    check_create(base_nodeport, "{'spec':{'ports':[]}}", WANT("spec.ports: Required value"));
    check_create(base_headless, "{'spec':{'ports':null}}", NONE);
    check_create(base_external, "{'spec':{'ports':[]}}", NONE);
    cr_expect_str_eq(reason_of(base_clusterip, "{'spec':{'ports':null}}", 0), "FieldValueRequired");
}

Test(validate_service, names_are_required_when_there_are_several_ports)
{
    check_create(base_clusterip,
                 "{'spec':{'ports':[{'protocol':'TCP','port':80,'targetPort':80},"
                 "{'protocol':'TCP','port':443,'targetPort':443}]}}",
                 WANT("spec.ports[0].name: Required value", "spec.ports[1].name: Required value"));
    check_create(base_clusterip,
                 "{'spec':{'ports':[{'name':'http','protocol':'TCP','port':80,'targetPort':80},"
                 "{'name':'https','protocol':'TCP','port':443,'targetPort':443}]}}",
                 NONE);
    /* a single port may be named or not */
    check_create(base_clusterip,
                 "{'spec':{'ports':[{'name':'http','protocol':'TCP','port':80,'targetPort':80}]}}",
                 NONE);
}

Test(validate_service, port_names_are_dns1123_labels)
{
    check_create(base_clusterip,
                 "{'spec':{'ports':[{'name':'HTTP','protocol':'TCP','port':80,'targetPort':80}]}}",
                 WANT("spec.ports[0].name: Invalid value: \"HTTP\": " DNS1123_LABEL));
    check_create(base_clusterip,
                 "{'spec':{'ports':[{'name':'a.b','protocol':'TCP','port':80,'targetPort':80}]}}",
                 WANT("spec.ports[0].name: Invalid value: \"a.b\": must not contain dots"));
}

Test(validate_service, port_names_are_unique_across_protocols)
{
    check_create(base_clusterip,
                 "{'spec':{'ports':[{'name':'dns','protocol':'TCP','port':53,'targetPort':53},"
                 "{'name':'dns','protocol':'UDP','port':53,'targetPort':53},"
                 "{'name':'dns','protocol':'SCTP','port':54,'targetPort':54}]}}",
                 WANT("spec.ports[1].name: Duplicate value: \"dns\"",
                      "spec.ports[2].name: Duplicate value: \"dns\""));
    cr_expect_str_eq(
        reason_of(base_clusterip,
                  "{'spec':{'ports':[{'name':'a','protocol':'TCP','port':1,'targetPort':1},"
                  "{'name':'a','protocol':'UDP','port':1,'targetPort':1}]}}",
                  0),
        "FieldValueDuplicate");
}

Test(validate_service, port_numbers_must_be_in_range)
{
    check_create(base_clusterip, "{'spec':{'ports':[{'protocol':'TCP','port':0,'targetPort':0}]}}",
                 WANT("spec.ports[0].port: Invalid value: 0: " PORT_RANGE,
                      "spec.ports[0].targetPort: Invalid value: 0: " PORT_RANGE));
    check_create(base_clusterip,
                 "{'spec':{'ports':[{'protocol':'TCP','port':65536,'targetPort':70000}]}}",
                 WANT("spec.ports[0].port: Invalid value: 65536: " PORT_RANGE,
                      "spec.ports[0].targetPort: Invalid value: 70000: " PORT_RANGE));
    check_create(base_clusterip,
                 "{'spec':{'ports':[{'protocol':'TCP','port':65535,'targetPort':1}]}}", NONE);
    /* a missing targetPort is the integer 0 (defaulting normally fills it) */
    check_create(base_clusterip, "{'spec':{'ports':[{'protocol':'TCP','port':1}]}}",
                 WANT("spec.ports[0].targetPort: Invalid value: 0: " PORT_RANGE));
}

Test(validate_service, protocols_are_tcp_udp_or_sctp)
{
    check_create(base_clusterip,
                 "{'spec':{'ports':[{'protocol':'HTTP','port':80,'targetPort':80}]}}",
                 WANT("spec.ports[0].protocol: Unsupported value: \"HTTP\": supported values: "
                      "\"SCTP\", \"TCP\", \"UDP\""));
    check_create(base_clusterip, "{'spec':{'ports':[{'port':80,'targetPort':80}]}}",
                 WANT("spec.ports[0].protocol: Required value"));
    check_create(base_clusterip,
                 "{'spec':{'ports':[{'protocol':'SCTP','port':80,'targetPort':80}]}}", NONE);
    cr_expect_str_eq(reason_of(base_clusterip,
                               "{'spec':{'ports':[{'protocol':'tcp','port':80,'targetPort':80}]}}",
                               0),
                     "FieldValueNotSupported");
}

Test(validate_service, string_target_ports_are_iana_service_names)
{
    check_create(base_clusterip,
                 "{'spec':{'ports':[{'protocol':'TCP','port':80,'targetPort':'http-alt'}]}}", NONE);
    check_create(base_clusterip,
                 "{'spec':{'ports':[{'protocol':'TCP','port':80,'targetPort':'HTTP'}]}}",
                 WANT("spec.ports[0].targetPort: Invalid value: \"HTTP\": must contain only "
                      "alpha-numeric characters (a-z, 0-9), and hyphens (-)",
                      "spec.ports[0].targetPort: Invalid value: \"HTTP\": must contain at least "
                      "one letter (a-z)"));
    check_create(base_clusterip,
                 "{'spec':{'ports':[{'protocol':'TCP','port':80,'targetPort':'8080'}]}}",
                 WANT("spec.ports[0].targetPort: Invalid value: \"8080\": must contain at least "
                      "one letter (a-z)"));
    check_create(base_clusterip,
                 "{'spec':{'ports':[{'protocol':'TCP','port':80,'targetPort':'-a--b'}]}}",
                 WANT("spec.ports[0].targetPort: Invalid value: \"-a--b\": must not contain "
                      "consecutive hyphens",
                      "spec.ports[0].targetPort: Invalid value: \"-a--b\": must not begin or end "
                      "with a hyphen"));
    check_create(
        base_clusterip,
        "{'spec':{'ports':[{'protocol':'TCP','port':80,'targetPort':'abcdefghijklmnop'}]}}",
        WANT("spec.ports[0].targetPort: Invalid value: \"abcdefghijklmnop\": must be no "
             "more than 15 characters"));
}

Test(validate_service, app_protocol_is_a_qualified_name)
{
    check_create(base_clusterip,
                 "{'spec':{'ports':[{'protocol':'TCP','appProtocol':'kubernetes.io/h2c',"
                 "'port':80,'targetPort':80}]}}",
                 NONE);
    check_create(base_clusterip,
                 "{'spec':{'ports':[{'protocol':'TCP','appProtocol':'h t t p','port':80,"
                 "'targetPort':80}]}}",
                 WANT("spec.ports[0].appProtocol: Invalid value: \"h t t p\": " QNAME_NAME_PART));
    check_create(base_clusterip,
                 "{'spec':{'ports':[{'protocol':'TCP','appProtocol':'','port':80,"
                 "'targetPort':80}]}}",
                 WANT("spec.ports[0].appProtocol: Invalid value: \"\": name part must be non-empty",
                      "spec.ports[0].appProtocol: Invalid value: \"\": " QNAME_NAME_PART));
}

Test(validate_service, duplicate_ports_print_the_go_struct)
{
    check_create(
        base_clusterip,
        "{'spec':{'ports':[{'name':'a','protocol':'TCP','port':443,'targetPort':8443},"
        "{'name':'b','protocol':'TCP','port':443,'targetPort':9443},"
        "{'name':'c','protocol':'UDP','port':443,'targetPort':443}]}}",
        WANT("spec.ports[1]: Duplicate value: core.ServicePort{Name:\"\", Protocol:\"TCP\", "
             "AppProtocol:(*string)(nil), Port:443, TargetPort:intstr.IntOrString{Type:0, "
             "IntVal:0, StrVal:\"\"}, NodePort:0}"));
}

Test(validate_service, duplicate_node_ports_are_keyed_by_protocol)
{
    check_create(base_nodeport,
                 "{'spec':{'ports':[{'name':'a','protocol':'TCP','port':80,'targetPort':80,"
                 "'nodePort':30080},{'name':'b','protocol':'TCP','port':81,'targetPort':81,"
                 "'nodePort':30080},{'name':'c','protocol':'UDP','port':81,'targetPort':81,"
                 "'nodePort':30080}]}}",
                 WANT("spec.ports[1].nodePort: Duplicate value: 30080"));
}

Test(validate_service, node_ports_are_forbidden_on_cluster_ip)
{
    check_create(
        base_clusterip,
        "{'spec':{'ports':[{'protocol':'TCP','port':80,'targetPort':80,'nodePort':30080}]}}",
        WANT("spec.ports[0].nodePort: Forbidden: may not be used when `type` is 'ClusterIP'"));
    /* ExternalName has no such check */
    check_create(base_external,
                 "{'spec':{'ports':[{'protocol':'TCP','port':80,'targetPort':80,"
                 "'nodePort':30080}]}}",
                 NONE);
}

/* ---- type-specific rules ----------------------------------------------------------------------
 */

Test(validate_service, node_port_and_load_balancer_may_not_be_headless)
{
    check_create(
        base_nodeport, "{'spec':{'clusterIP':'None','clusterIPs':['None']}}",
        WANT("spec.clusterIPs[0]: Invalid value: \"None\": may not be set to 'None' for NodePort "
             "services"));
    check_create(base_lb, "{'spec':{'clusterIP':'None','clusterIPs':['None']}}",
                 WANT("spec.clusterIPs[0]: Invalid value: \"None\": may not be set to 'None' for "
                      "LoadBalancer services"));
}

Test(validate_service, external_name_rules)
{
    check_create(base_external, "{'spec':{'externalName':'db.example.com.'}}", NONE);
    check_create(base_external, "{'spec':{'externalName':null}}",
                 WANT("spec.externalName: Required value"));
    check_create(base_external, "{'spec':{'externalName':'.'}}",
                 WANT("spec.externalName: Required value"));
    /* only one trailing dot is stripped; the error shows the stripped value */
    check_create(base_external, "{'spec':{'externalName':'db..'}}",
                 WANT("spec.externalName: Invalid value: \"db.\": " DNS1123_SUBDOMAIN));
    check_create(base_external, "{'spec':{'externalName':'DB.example.com'}}",
                 WANT("spec.externalName: Invalid value: \"DB.example.com\": " DNS1123_SUBDOMAIN));
    check_create(base_external,
                 "{'spec':{'clusterIP':'10.96.0.10','clusterIPs':['10.96.0.10'],"
                 "'ipFamilies':['IPv4'],'ipFamilyPolicy':'SingleStack'}}",
                 WANT("spec.clusterIPs: Forbidden: may not be set for ExternalName services",
                      "spec.ipFamilies: Forbidden: may not be set for ExternalName services",
                      "spec.ipFamilyPolicy: Forbidden: may not be set for ExternalName services"));
}

/* ---- selector and session affinity ------------------------------------------------------------
 */

Test(validate_service, selector_is_a_label_map)
{
    check_create(base_clusterip, "{'spec':{'selector':{}}}", NONE);
    check_create(base_clusterip, "{'spec':{'selector':{'app':'-web'}}}",
                 WANT("spec.selector: Invalid value: \"-web\": " LABEL_VALUE));
    check_create(base_clusterip, "{'spec':{'selector':{'a b':'web'}}}",
                 WANT("spec.selector: Invalid value: \"a b\": " QNAME_NAME_PART));
}

Test(validate_service, session_affinity_values)
{
    check_create(base_clusterip, "{'spec':{'sessionAffinity':null}}",
                 WANT("spec.sessionAffinity: Required value"));
    check_create(base_clusterip, "{'spec':{'sessionAffinity':'Foo'}}",
                 WANT("spec.sessionAffinity: Unsupported value: \"Foo\": supported values: "
                      "\"ClientIP\", \"None\""));
    check_create(base_clusterip,
                 "{'spec':{'sessionAffinityConfig':{'clientIP':{'timeoutSeconds':10}}}}",
                 WANT("spec.sessionAffinityConfig: Forbidden: must not be set when session "
                      "affinity is None"));
}

Test(validate_service, client_ip_affinity_needs_its_config)
{
    check_create(base_clusterip, "{'spec':{'sessionAffinity':'ClientIP'}}",
                 WANT("spec.sessionAffinityConfig: Required value: when session affinity type is "
                      "ClientIP"));
    check_create(base_clusterip,
                 "{'spec':{'sessionAffinity':'ClientIP','sessionAffinityConfig':{}}}",
                 WANT("spec.sessionAffinityConfig.clientIP: Required value: when session "
                      "affinity type is ClientIP"));
    check_create(base_clusterip,
                 "{'spec':{'sessionAffinity':'ClientIP','sessionAffinityConfig':{'clientIP':{}}}}",
                 WANT("spec.sessionAffinityConfig.clientIP.timeoutSeconds: Required value: when "
                      "session affinity type is ClientIP"));
    check_create(base_clusterip,
                 "{'spec':{'sessionAffinity':'ClientIP','sessionAffinityConfig':{'clientIP':"
                 "{'timeoutSeconds':0}}}}",
                 WANT("spec.sessionAffinityConfig.clientIP.timeoutSeconds: Invalid value: 0: "
                      "must be greater than 0 and less than 86400"));
    check_create(base_clusterip,
                 "{'spec':{'sessionAffinity':'ClientIP','sessionAffinityConfig':{'clientIP':"
                 "{'timeoutSeconds':86401}}}}",
                 WANT("spec.sessionAffinityConfig.clientIP.timeoutSeconds: Invalid value: 86401: "
                      "must be greater than 0 and less than 86400"));
}

/* ---- clusterIPs, ipFamilies, ipFamilyPolicy (C1-C9) --------------------------------------------
 */

Test(validate_service, cluster_ip_and_cluster_ips_must_agree)
{
    check_ip_fields(base_clusterip, "{'spec':{'clusterIPs':null}}",
                    WANT("spec.clusterIPs: Required value"));
    check_ip_fields(base_clusterip, "{'spec':{'clusterIPs':['10.96.0.6']}}",
                    WANT("spec.clusterIPs: Invalid value: []string{\"10.96.0.6\"}: first value "
                         "must match `clusterIP`"));
    check_ip_fields(base_clusterip, "{'spec':{'clusterIP':null}}",
                    WANT("spec.clusterIPs: Invalid value: []string{\"10.96.0.10\"}: must be empty "
                         "when `clusterIP` is not specified"));
    check_ip_fields(base_clusterip, "{'spec':{'clusterIP':'','clusterIPs':[]}}", NONE);
}

Test(validate_service, ip_families_are_ipv4_or_ipv6_once_each)
{
    check_ip_fields(base_clusterip, "{'spec':{'ipFamilies':['IPv5']}}",
                    WANT("spec.ipFamilies[0]: Unsupported value: \"IPv5\": supported values: "
                         "\"IPv4\", \"IPv6\""));
    check_ip_fields(base_clusterip,
                    "{'spec':{'ipFamilies':['IPv4','IPv4'],'ipFamilyPolicy':'PreferDualStack'}}",
                    WANT("spec.ipFamilies[1]: Duplicate value: \"IPv4\""));
    check_ip_fields(base_headless, "{'spec':{'ipFamilies':['x','x']}}",
                    WANT("spec.ipFamilies[0]: Unsupported value: \"x\": supported values: "
                         "\"IPv4\", \"IPv6\"",
                         "spec.ipFamilies[1]: Unsupported value: \"x\": supported values: "
                         "\"IPv4\", \"IPv6\"",
                         "spec.ipFamilies[1]: Duplicate value: \"x\""));
}

Test(validate_service, ip_family_policy_values)
{
    check_ip_fields(base_clusterip, "{'spec':{'ipFamilyPolicy':'Foo'}}",
                    WANT("spec.ipFamilyPolicy: Unsupported value: \"Foo\": supported values: "
                         "\"PreferDualStack\", \"RequireDualStack\", \"SingleStack\""));
    /* nil is fine: allocation infers it */
    check_ip_fields(base_clusterip, "{'spec':{'ipFamilyPolicy':null}}", NONE);
}

Test(validate_service, none_must_be_the_first_and_only_cluster_ip)
{
    check_ip_fields(base_headless, "{'spec':{'clusterIPs':['None','10.96.0.5']}}",
                    WANT("spec.clusterIPs: Invalid value: []string{\"None\", \"10.96.0.5\"}: "
                         "'None' must be the first and only value"));
    /* elsewhere "None" is merely not an address; the family checks are then skipped */
    check_ip_fields(base_clusterip,
                    "{'spec':{'clusterIPs':['10.96.0.10','None'],'ipFamilies':['IPv6']}}",
                    WANT("spec.clusterIPs[1]: Invalid value: \"None\": " BAD_IP));
}

Test(validate_service, cluster_ips_must_be_addresses)
{
    check_ip_fields(base_clusterip, "{'spec':{'clusterIP':'abc','clusterIPs':['abc']}}",
                    WANT("spec.clusterIPs[0]: Invalid value: \"abc\": " BAD_IP));
    /* 1.33 parses leniently (StrictIPCIDRValidation is off): leading zeros pass */
    check_ip_fields(base_clusterip,
                    "{'spec':{'clusterIP':'010.96.0.10','clusterIPs':['010.96.0.10']}}", NONE);
}

Test(validate_service, at_most_two_cluster_ips_one_per_family)
{
    check_ip_fields(base_clusterip,
                    "{'spec':{'clusterIPs':['10.96.0.10','fd00::1','10.96.0.11'],"
                    "'ipFamilyPolicy':'PreferDualStack'}}",
                    WANT("spec.clusterIPs: Invalid value: []string{\"10.96.0.10\", \"fd00::1\", "
                         "\"10.96.0.11\"}: may only hold up to 2 values"));
    check_ip_fields(base_clusterip,
                    "{'spec':{'clusterIPs':['10.96.0.10','10.96.0.11'],"
                    "'ipFamilyPolicy':'PreferDualStack'}}",
                    WANT("spec.clusterIPs: Invalid value: []string{\"10.96.0.10\", "
                         "\"10.96.0.11\"}: may specify no more than one IP for each IP family"));
    /* an IPv4-mapped IPv6 address is IPv4 */
    check_ip_fields(base_clusterip,
                    "{'spec':{'clusterIPs':['10.96.0.10','::ffff:10.96.0.11'],"
                    "'ipFamilies':['IPv4'],'ipFamilyPolicy':'PreferDualStack'}}",
                    WANT("spec.clusterIPs: Invalid value: []string{\"10.96.0.10\", "
                         "\"::ffff:10.96.0.11\"}: may specify no more than one IP for each IP "
                         "family"));
}

Test(validate_service, cluster_ips_match_their_families)
{
    check_ip_fields(base_clusterip, "{'spec':{'clusterIP':'fd00::5','clusterIPs':['fd00::5']}}",
                    WANT("spec.clusterIPs[0]: Invalid value: \"fd00::5\": expected an IPv4 value "
                         "as indicated by `ipFamilies[0]`"));
    check_ip_fields(
        base_clusterip,
        "{'spec':{'clusterIPs':['10.96.0.10','fd00::5'],'ipFamilies':['IPv4','IPv4'],"
        "'ipFamilyPolicy':'RequireDualStack'}}",
        WANT("spec.ipFamilies[1]: Duplicate value: \"IPv4\"",
             "spec.clusterIPs[1]: Invalid value: \"fd00::5\": expected an IPv4 value as "
             "indicated by `ipFamilies[1]`"));
    check_ip_fields(base_clusterip, "{'spec':{'ipFamilies':['IPv6']}}",
                    WANT("spec.clusterIPs[0]: Invalid value: \"10.96.0.10\": expected an IPv6 "
                         "value as indicated by `ipFamilies[0]`"));
    /* fewer families than addresses: only the listed ones are matched */
    check_ip_fields(base_clusterip,
                    "{'spec':{'clusterIPs':['10.96.0.10','fd00::5'],"
                    "'ipFamilyPolicy':'PreferDualStack'}}",
                    NONE);
}

Test(validate_service, cluster_ip_rules_skip_external_name)
{
    check_ip_fields(base_external, "{'spec':{'clusterIPs':['x','y','z'],'ipFamilies':['IPv5']}}",
                    NONE);
}

Test(validate_service, old_cluster_ips_are_accepted_as_stored)
{
    json_t *svc = svc_from(base_clusterip, "{'spec':{'clusterIP':'bogus','clusterIPs':['bogus']}}");
    json_t *old = json_deep_copy(svc);
    struct field_errors errs;
    fe_init(&errs);
    validate_service_cluster_ip_fields(&errs, svc, old);
    expect_list(&errs, NONE);
    validate_service_cluster_ip_fields(&errs, svc, NULL);
    expect_list(&errs, WANT("spec.clusterIPs[0]: Invalid value: \"bogus\": " BAD_IP));
    fe_release(&errs);
    json_decref(svc);
    json_decref(old);
}

Test(validate_service, cluster_ip_rules_run_inside_validate_service)
{
    check_create(base_clusterip, "{'spec':{'clusterIPs':['10.96.0.6']}}",
                 WANT("spec.clusterIPs: Invalid value: []string{\"10.96.0.6\"}: first value must "
                      "match `clusterIP`"));
}

/* ---- externalIPs and type ---------------------------------------------------------------------
 */

Test(validate_service, external_ips_must_be_ordinary_addresses)
{
    check_create(base_clusterip,
                 "{'spec':{'externalIPs':['1.2.3.4','2001:db8::1'],'externalTrafficPolicy':"
                 "'Cluster'}}",
                 NONE);
    check_create(base_clusterip,
                 "{'spec':{'externalIPs':['abc','0.0.0.0','127.0.0.1','169.254.1.1','224.0.0.1',"
                 "'::1','fe80::1','ff02::1'],'externalTrafficPolicy':'Cluster'}}",
                 WANT("spec.externalIPs[0]: Invalid value: \"abc\": " BAD_IP,
                      "spec.externalIPs[1]: Invalid value: \"0.0.0.0\": may not be unspecified "
                      "(0.0.0.0)",
                      "spec.externalIPs[2]: Invalid value: \"127.0.0.1\": may not be in the "
                      "loopback range (127.0.0.0/8, ::1/128)",
                      "spec.externalIPs[3]: Invalid value: \"169.254.1.1\": may not be in the "
                      "link-local range (169.254.0.0/16, fe80::/10)",
                      "spec.externalIPs[4]: Invalid value: \"224.0.0.1\": may not be in the "
                      "link-local multicast range (224.0.0.0/24, ff02::/10)",
                      "spec.externalIPs[5]: Invalid value: \"::1\": may not be in the loopback "
                      "range (127.0.0.0/8, ::1/128)",
                      "spec.externalIPs[6]: Invalid value: \"fe80::1\": may not be in the "
                      "link-local range (169.254.0.0/16, fe80::/10)",
                      "spec.externalIPs[7]: Invalid value: \"ff02::1\": may not be in the "
                      "link-local multicast range (224.0.0.0/24, ff02::/10)"));
}

Test(validate_service, type_values)
{
    check_create(base_clusterip, "{'spec':{'type':'Foo'}}",
                 WANT("spec.type: Unsupported value: \"Foo\": supported values: \"ClusterIP\", "
                      "\"ExternalName\", \"LoadBalancer\", \"NodePort\""));
    /* an empty type is not ClusterIP: internalTrafficPolicy is then not required either */
    check_create(base_clusterip, "{'spec':{'type':null,'internalTrafficPolicy':null}}",
                 WANT("spec.type: Required value"));
}

/* ---- load balancer fields ---------------------------------------------------------------------
 */

Test(validate_service, source_ranges_field_has_a_capital_l)
{
    check_create(base_lb, "{'spec':{'loadBalancerSourceRanges':['10.0.0.0/8',' 192.168.0.0/16 ']}}",
                 NONE);
    check_create(base_clusterip, "{'spec':{'loadBalancerSourceRanges':['10.0.0.0/8','foo']}}",
                 WANT("spec.LoadBalancerSourceRanges: Forbidden: " LB_ONLY,
                      "spec.LoadBalancerSourceRanges[1]: Invalid value: \"foo\": " BAD_CIDR));
    /* the value shown is the trimmed one */
    check_create(base_lb, "{'spec':{'loadBalancerSourceRanges':['  1.2.3.4  ']}}",
                 WANT("spec.LoadBalancerSourceRanges[0]: Invalid value: \"1.2.3.4\": " BAD_CIDR));
}

Test(validate_service, source_ranges_annotation_when_the_field_is_empty)
{
    const char *path =
        "metadata.annotations[service.beta.kubernetes.io/load-balancer-source-ranges]";
    char want1[512], want2[512], want3[512];
    snprintf(want1, sizeof(want1), "%s: Forbidden: " LB_ONLY, path);
    snprintf(want2, sizeof(want2), "%s: Invalid value: \"foo\": " BAD_CIDR, path);
    snprintf(want3, sizeof(want3), "%s: Invalid value: \"\": " BAD_CIDR, path);
    check_create(base_lb,
                 "{'metadata':{'annotations':{'service.beta.kubernetes.io/"
                 "load-balancer-source-ranges':' 10.0.0.0/8 , 1.2.3.0/24 '}}}",
                 NONE);
    check_create(base_lb,
                 "{'metadata':{'annotations':{'service.beta.kubernetes.io/"
                 "load-balancer-source-ranges':'   '}}}",
                 NONE);
    check_create(base_clusterip,
                 "{'metadata':{'annotations':{'service.beta.kubernetes.io/"
                 "load-balancer-source-ranges':'10.0.0.0/8,foo,'}}}",
                 WANT(want1, want2, want3));
    /* the field wins: the annotation is then not looked at */
    check_create(base_lb,
                 "{'metadata':{'annotations':{'service.beta.kubernetes.io/"
                 "load-balancer-source-ranges':'foo'}},'spec':{'loadBalancerSourceRanges':"
                 "['10.0.0.0/8']}}",
                 NONE);
}

Test(validate_service, allocate_load_balancer_node_ports_only_on_load_balancers)
{
    check_create(base_nodeport, "{'spec':{'allocateLoadBalancerNodePorts':false}}",
                 WANT("spec.allocateLoadBalancerNodePorts: Forbidden: " LB_ONLY));
    /* upstream's path has no "spec." here */
    check_create(base_lb, "{'spec':{'allocateLoadBalancerNodePorts':null}}",
                 WANT("allocateLoadBalancerNodePorts: Required value"));
    check_create(base_lb, "{'spec':{'allocateLoadBalancerNodePorts':false}}", NONE);
}

Test(validate_service, load_balancer_class)
{
    check_create(base_lb, "{'spec':{'loadBalancerClass':'example.com/internal'}}", NONE);
    check_create(base_lb, "{'spec':{'loadBalancerClass':'a/b/c'}}",
                 WANT("spec.loadBalancerClass: Invalid value: \"a/b/c\": a qualified name must "
                      "consist of alphanumeric characters, '-', '_' or '.', and must start and "
                      "end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or "
                      "'123-abc', regex used for validation is "
                      "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain "
                      "prefix and '/' (e.g. 'example.com/MyName')"));
    check_create(base_nodeport, "{'spec':{'loadBalancerClass':'example.com/internal'}}",
                 WANT("spec.loadBalancerClass: Forbidden: " LB_ONLY));
}

/* ---- traffic policies -------------------------------------------------------------------------
 */

Test(validate_service, external_traffic_policy)
{
    check_create(base_clusterip, "{'spec':{'externalTrafficPolicy':'Local'}}",
                 WANT("spec.externalTrafficPolicy: Invalid value: \"Local\": may only be set for "
                      "externally-accessible services"));
    check_create(base_external, "{'spec':{'externalTrafficPolicy':'Cluster'}}",
                 WANT("spec.externalTrafficPolicy: Invalid value: \"Cluster\": may only be set "
                      "for externally-accessible services"));
    check_create(base_nodeport, "{'spec':{'externalTrafficPolicy':null}}",
                 WANT("spec.externalTrafficPolicy: Required value"));
    /* a ClusterIP service with externalIPs is externally accessible */
    check_create(base_clusterip, "{'spec':{'externalIPs':['1.2.3.4']}}",
                 WANT("spec.externalTrafficPolicy: Required value"));
    check_create(base_nodeport, "{'spec':{'externalTrafficPolicy':'Foo'}}",
                 WANT("spec.externalTrafficPolicy: Unsupported value: \"Foo\": supported values: "
                      "\"Cluster\", \"Local\""));
    check_create(base_nodeport, "{'spec':{'externalTrafficPolicy':'Local'}}", NONE);
}

Test(validate_service, health_check_node_port)
{
    /* NodePort with Local gets none */
    check_create(base_nodeport,
                 "{'spec':{'externalTrafficPolicy':'Local','healthCheckNodePort':30000}}",
                 WANT("spec.healthCheckNodePort: Invalid value: 30000: may only be set when "
                      "`type` is 'LoadBalancer' and `externalTrafficPolicy` is 'Local'"));
    check_create(base_lb, "{'spec':{'healthCheckNodePort':31000}}",
                 WANT("spec.healthCheckNodePort: Invalid value: 31000: may only be set when "
                      "`type` is 'LoadBalancer' and `externalTrafficPolicy` is 'Local'"));
    check_create(base_lb, "{'spec':{'externalTrafficPolicy':'Local'}}",
                 WANT("spec.healthCheckNodePort: Required value"));
    check_create(base_lb, "{'spec':{'externalTrafficPolicy':'Local','healthCheckNodePort':70000}}",
                 WANT("spec.healthCheckNodePort: Invalid value: 70000: " PORT_RANGE));
}

Test(validate_service, internal_traffic_policy)
{
    check_create(base_clusterip, "{'spec':{'internalTrafficPolicy':null}}",
                 WANT("spec.internalTrafficPolicy: Required value"));
    check_create(base_lb, "{'spec':{'internalTrafficPolicy':'Local'}}", NONE);
    check_create(base_clusterip, "{'spec':{'internalTrafficPolicy':'Foo'}}",
                 WANT("spec.internalTrafficPolicy: Unsupported value: \"Foo\": supported values: "
                      "\"Cluster\", \"Local\""));
    /* not required on ExternalName, but still checked when present */
    check_create(base_external, "{'spec':{'internalTrafficPolicy':'Cluster'}}", NONE);
    check_create(base_external, "{'spec':{'internalTrafficPolicy':'x'}}",
                 WANT("spec.internalTrafficPolicy: Unsupported value: \"x\": supported values: "
                      "\"Cluster\", \"Local\""));
}

Test(validate_service, traffic_distribution)
{
    check_create(base_clusterip, "{'spec':{'trafficDistribution':'PreferClose'}}", NONE);
    check_create(base_clusterip, "{'spec':{'trafficDistribution':'PreferSameZone'}}",
                 WANT("spec.trafficDistribution: Unsupported value: \"PreferSameZone\": supported "
                      "values: \"PreferClose\""));
}

/* ---- order of several errors ------------------------------------------------------------------
 */

Test(validate_service, errors_come_in_upstream_order)
{
    check_create(
        base_nodeport,
        "{'metadata':{'name':'Web'},'spec':{'ports':[{'protocol':'TCP','port':0,'targetPort':80,"
        "'nodePort':30080},{'protocol':'TCP','port':0,'targetPort':80,'nodePort':30080}],"
        "'selector':{'app':'a b'},'sessionAffinity':'Sticky','clusterIPs':['10.96.0.11'],"
        "'externalIPs':['127.0.0.1'],'externalTrafficPolicy':'Foo','internalTrafficPolicy':'Bar',"
        "'loadBalancerSourceRanges':['x'],'allocateLoadBalancerNodePorts':true,"
        "'loadBalancerClass':'c','trafficDistribution':'Z'}}",
        WANT("metadata.name: Invalid value: \"Web\": " DNS1035,
             "spec.ports[0].name: Required value",
             "spec.ports[0].port: Invalid value: 0: " PORT_RANGE,
             "spec.ports[1].name: Required value",
             "spec.ports[1].port: Invalid value: 0: " PORT_RANGE,
             "spec.selector: Invalid value: \"a b\": " LABEL_VALUE,
             "spec.sessionAffinity: Unsupported value: \"Sticky\": supported values: "
             "\"ClientIP\", \"None\"",
             "spec.clusterIPs: Invalid value: []string{\"10.96.0.11\"}: first value must match "
             "`clusterIP`",
             "spec.externalIPs[0]: Invalid value: \"127.0.0.1\": may not be in the loopback range "
             "(127.0.0.0/8, ::1/128)",
             "spec.ports[1].nodePort: Duplicate value: 30080",
             "spec.ports[1]: Duplicate value: core.ServicePort{Name:\"\", Protocol:\"TCP\", "
             "AppProtocol:(*string)(nil), Port:0, TargetPort:intstr.IntOrString{Type:0, IntVal:0, "
             "StrVal:\"\"}, NodePort:0}",
             "spec.LoadBalancerSourceRanges: Forbidden: " LB_ONLY,
             "spec.LoadBalancerSourceRanges[0]: Invalid value: \"x\": " BAD_CIDR,
             "spec.allocateLoadBalancerNodePorts: Forbidden: " LB_ONLY,
             "spec.loadBalancerClass: Forbidden: " LB_ONLY,
             "spec.externalTrafficPolicy: Unsupported value: \"Foo\": supported values: "
             "\"Cluster\", \"Local\"",
             "spec.internalTrafficPolicy: Unsupported value: \"Bar\": supported values: "
             "\"Cluster\", \"Local\"",
             "spec.trafficDistribution: Unsupported value: \"Z\": supported values: "
             "\"PreferClose\""));
}

/* ---- update -----------------------------------------------------------------------------------
 */

Test(validate_service_update, unchanged_services_pass)
{
    check_update(base_clusterip, NULL, NULL, NONE);
    check_update(base_lb, "{'spec':{'externalTrafficPolicy':'Local','healthCheckNodePort':31000}}",
                 NULL, NONE);
    check_update(base_headless, NULL, NULL, NONE);
    check_update(base_external, NULL, NULL, NONE);
}

Test(validate_service_update, metadata_update_rules_come_first)
{
    check_update(base_clusterip, NULL, "{'metadata':{'name':'other'},'spec':{'type':'Foo'}}",
                 WANT("metadata.name: Invalid value: \"other\": field is immutable",
                      "spec.type: Unsupported value: \"Foo\": supported values: \"ClusterIP\", "
                      "\"ExternalName\", \"LoadBalancer\", \"NodePort\""));
}

Test(validate_service_update, cluster_ips_may_not_change)
{
    check_update(base_clusterip, NULL,
                 "{'spec':{'clusterIP':'10.96.0.99','clusterIPs':['10.96.0.99']}}",
                 WANT("spec.clusterIPs[0]: Invalid value: []string{\"10.96.0.99\"}: may not "
                      "change once set"));
    /* headful to headless */
    check_update(base_clusterip, NULL, "{'spec':{'clusterIP':'None','clusterIPs':['None']}}",
                 WANT("spec.clusterIPs[0]: Invalid value: []string{\"None\"}: may not change "
                      "once set"));
    /* headless to headless with other families is fine */
    check_update(base_headless, NULL, "{'spec':{'ipFamilies':['IPv6']}}", NONE);
    /* to and from ExternalName is not this rule's business */
    check_update(base_clusterip, NULL,
                 "{'spec':{'type':'ExternalName','externalName':'a.b','clusterIP':null,"
                 "'clusterIPs':null,'ipFamilies':null,'ipFamilyPolicy':null,"
                 "'internalTrafficPolicy':null}}",
                 NONE);
}

Test(validate_service_update, primary_cluster_ip_can_not_be_unset)
{
    check_update(base_clusterip, NULL, "{'spec':{'clusterIP':'','clusterIPs':[]}}",
                 WANT("spec.clusterIPs[0]: Invalid value: []string{}: primary clusterIP can not "
                      "be unset"));
}

Test(validate_service_update, releasing_the_secondary_needs_single_stack)
{
    const char *dual = "{'spec':{'clusterIPs':['10.96.0.10','fd00::10'],'ipFamilies':['IPv4',"
                       "'IPv6'],'ipFamilyPolicy':'PreferDualStack'}}";
    check_update(base_clusterip, dual,
                 "{'spec':{'clusterIPs':['10.96.0.10'],'ipFamilies':['IPv4']}}",
                 WANT("spec.ipFamilyPolicy: Invalid value: \"PreferDualStack\": must be set to "
                      "'SingleStack' when releasing the secondary clusterIP",
                      "spec.ipFamilyPolicy: Invalid value: \"PreferDualStack\": must be set to "
                      "'SingleStack' when releasing the secondary ipFamily"));
    check_update(base_clusterip, dual,
                 "{'spec':{'clusterIPs':['10.96.0.10'],'ipFamilies':['IPv4'],"
                 "'ipFamilyPolicy':'SingleStack'}}",
                 NONE);
    /* a nil policy prints as a quoted "null" (field.Error quotes the string it substitutes) */
    check_update(base_clusterip, dual,
                 "{'spec':{'clusterIPs':['10.96.0.10'],'ipFamilyPolicy':null}}",
                 WANT("spec.ipFamilyPolicy: Invalid value: \"null\": must be set to "
                      "'SingleStack' when releasing the secondary clusterIP"));
    /* changing the primary while dropping the secondary */
    check_update(base_clusterip, dual,
                 "{'spec':{'clusterIP':'10.96.0.11','clusterIPs':['10.96.0.11'],"
                 "'ipFamilies':['IPv4'],'ipFamilyPolicy':'SingleStack'}}",
                 WANT("spec.clusterIPs[0]: Invalid value: []string{\"10.96.0.11\"}: may not "
                      "change once set"));
}

Test(validate_service_update, upgrading_keeps_the_primary)
{
    check_update(base_clusterip, NULL,
                 "{'spec':{'clusterIPs':['10.96.0.10','fd00::10'],'ipFamilies':['IPv4','IPv6'],"
                 "'ipFamilyPolicy':'RequireDualStack'}}",
                 NONE);
    check_update(base_clusterip, NULL,
                 "{'spec':{'clusterIP':'fd00::10','clusterIPs':['fd00::10','10.96.0.10'],"
                 "'ipFamilies':['IPv6','IPv4'],'ipFamilyPolicy':'RequireDualStack'}}",
                 WANT("spec.clusterIPs[0]: Invalid value: []string{\"fd00::10\", \"10.96.0.10\"}: "
                      "may not change once set",
                      "spec.ipFamilies[0]: Invalid value: []string{\"fd00::10\", \"10.96.0.10\"}: "
                      "may not change once set"));
}

Test(validate_service_update, ip_families_may_not_change)
{
    /* upstream reports at index 0 whatever the index, with the families as the value */
    check_update(base_clusterip,
                 "{'spec':{'clusterIPs':['10.96.0.10','fd00::10'],'ipFamilies':['IPv4','IPv6'],"
                 "'ipFamilyPolicy':'PreferDualStack'}}",
                 "{'spec':{'ipFamilies':['IPv4','IPv5']}}",
                 WANT("spec.ipFamilies[0]: Invalid value: []core.IPFamily{\"IPv4\", \"IPv5\"}: "
                      "may not change once set",
                      "spec.ipFamilies[1]: Unsupported value: \"IPv5\": supported values: "
                      "\"IPv4\", \"IPv6\""));
}

Test(validate_service_update, load_balancer_class_may_not_change)
{
    check_update(
        base_lb, "{'spec':{'loadBalancerClass':'a.io/x'}}",
        "{'spec':{'loadBalancerClass':'a.io/y'}}",
        WANT("spec.loadBalancerClass: Invalid value: \"a.io/y\": may not change once set"));
    check_update(base_lb, "{'spec':{'loadBalancerClass':'a.io/x'}}",
                 "{'spec':{'loadBalancerClass':null}}",
                 WANT("spec.loadBalancerClass: Invalid value: \"null\": may not change once set"));
    /* leaving LoadBalancer is allowed (the strategy drops the class) */
    check_update(base_lb, "{'spec':{'loadBalancerClass':'a.io/x'}}",
                 "{'spec':{'type':'NodePort','loadBalancerClass':null,"
                 "'allocateLoadBalancerNodePorts':null}}",
                 NONE);
    /* a bad class is reported by the update rule and again by ValidateService */
    check_update(base_lb, "{'spec':{'loadBalancerClass':'a/b/c'}}", NULL,
                 WANT("spec.loadBalancerClass: Invalid value: \"a/b/c\": a qualified name must "
                      "consist of alphanumeric characters, '-', '_' or '.', and must start and "
                      "end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or "
                      "'123-abc', regex used for validation is "
                      "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain "
                      "prefix and '/' (e.g. 'example.com/MyName')",
                      "spec.loadBalancerClass: Invalid value: \"a/b/c\": a qualified name must "
                      "consist of alphanumeric characters, '-', '_' or '.', and must start and "
                      "end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or "
                      "'123-abc', regex used for validation is "
                      "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain "
                      "prefix and '/' (e.g. 'example.com/MyName')"));
}

Test(validate_service_update, health_check_node_port_is_immutable)
{
    const char *local = "{'spec':{'externalTrafficPolicy':'Local','healthCheckNodePort':31000}}";
    check_update(base_lb, local, "{'spec':{'healthCheckNodePort':31001}}",
                 WANT("spec.healthCheckNodePort: Forbidden: field is immutable"));
    /* Local to Cluster drops the need, so no immutability */
    check_update(base_lb, local,
                 "{'spec':{'externalTrafficPolicy':'Cluster','healthCheckNodePort':null}}", NONE);
}

/* ---- status -----------------------------------------------------------------------------------
 */

Test(validate_service_status, ingress_only_on_load_balancers)
{
    check_status(base_lb, NULL,
                 "{'status':{'loadBalancer':{'ingress':[{'ip':'1.2.3.4','ipMode':'VIP'},"
                 "{'hostname':'lb.example.com'}]}}}",
                 NONE);
    check_status(base_clusterip, NULL,
                 "{'status':{'loadBalancer':{'ingress':[{'ip':'bad','ipMode':'VIP'}]}}}",
                 WANT("status.loadBalancer.ingress: Forbidden: may only be used when `spec.type` "
                      "is 'LoadBalancer'"));
}

Test(validate_service_status, ingress_entries)
{
    check_status(
        base_lb, NULL,
        "{'status':{'loadBalancer':{'ingress':[{'ip':'bad','ipMode':'VIP'},"
        "{'ip':'1.2.3.4'},{'ipMode':'VIP'},{'ip':'1.2.3.5','ipMode':'Direct'},"
        "{'hostname':'1.2.3.4'},{'hostname':'LB'}]}}}",
        WANT("status.loadBalancer.ingress[0].ip: Invalid value: \"bad\": " BAD_IP,
             "status.loadBalancer.ingress[1].ipMode: Required value: must be specified "
             "when `ip` is set",
             "status.loadBalancer.ingress[2].ipMode: Forbidden: may not be specified "
             "when `ip` is not set",
             "status.loadBalancer.ingress[3].ipMode: Unsupported value: \"Direct\": "
             "supported values: \"Proxy\", \"VIP\"",
             "status.loadBalancer.ingress[4].hostname: Invalid value: \"1.2.3.4\": must "
             "be a DNS name, not an IP address",
             "status.loadBalancer.ingress[5].hostname: Invalid value: \"LB\": " DNS1123_SUBDOMAIN));
}

Test(validate_service_status, metadata_update_rules_apply)
{
    check_status(base_lb, NULL, "{'metadata':{'namespace':'other'}}",
                 WANT("metadata.namespace: Invalid value: \"other\": field is immutable"));
}

/* ---- robustness -------------------------------------------------------------------------------
 */

Test(validate_service, odd_input_does_not_crash)
{
    struct field_errors errs;
    fe_init(&errs);
    validate_service(&errs, NULL);
    cr_expect_gt(errs.len, 0);
    fe_release(&errs);

    const char *odd[] = {
        "[]",
        "{'metadata':5,'spec':'x','status':[]}",
        "{'spec':{'ports':[1,'a',null,{'port':'80','targetPort':true,'name':7}],"
        "'clusterIPs':[1,null],'ipFamilies':[{}],'externalIPs':[3],'selector':[],"
        "'sessionAffinity':'ClientIP','sessionAffinityConfig':{'clientIP':{'timeoutSeconds':"
        "'x'}},'loadBalancerSourceRanges':[5],'type':'LoadBalancer'}}",
        "{'spec':{'type':'ExternalName','externalName':''}}",
    };
    for (size_t i = 0; i < sizeof(odd) / sizeof(odd[0]); i++) {
        json_t *svc = sq(odd[i]);
        fe_init(&errs);
        validate_service(&errs, svc);
        validate_service_cluster_ip_fields(&errs, svc, svc);
        validate_service_update(&errs, svc, svc);
        validate_service_update(&errs, svc, NULL);
        validate_service_status_update(&errs, svc, svc);
        cr_expect_gt(errs.len, 0, "case %zu", i);
        fe_release(&errs);
        json_decref(svc);
    }
}

Test(validate_service, many_ports_are_checked_quickly)
{
    /* 200000 identical named ports: duplicates must not take quadratic time */
    json_t *svc = sq(base_clusterip);
    json_t *ports = json_array();
    for (int i = 0; i < 200000; i++)
        json_array_append_new(ports, json_pack("{s:s,s:s,s:i,s:i}", "name", "p", "protocol", "TCP",
                                               "port", 80, "targetPort", 80));
    json_object_set_new(json_object_get(svc, "spec"), "ports", ports);
    struct field_errors errs;
    fe_init(&errs);
    clock_t start = clock();
    validate_service(&errs, svc);
    double secs = (double)(clock() - start) / CLOCKS_PER_SEC;
    cr_expect_lt(secs, 20.0, "took %.1f s", secs);
    cr_expect_gt(errs.len, 1000);
    char *first = fe_error_string(&errs.items[0]);
    cr_expect_str_eq(first, "spec.ports[1].name: Duplicate value: \"p\"");
    free(first);
    fe_release(&errs);
    json_decref(svc);
}
