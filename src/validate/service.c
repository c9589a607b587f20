/*
 * service: validation of core/v1 Services as kube-apiserver 1.33 runs it (pkg/apis/core/
 * validation: ValidateService, ValidateServiceUpdate, ValidateServiceStatusUpdate,
 * ValidateServiceClusterIPsRelatedFields, validateServicePort and friends).
 *
 * The order of the checks is upstream's, because the order of the causes is part of the answer.
 * Upstream quirks kept on purpose (do not "fix" them):
 *  - the source-range field path is "spec.LoadBalancerSourceRanges" (capital L), and
 *    "allocateLoadBalancerNodePorts: Required value" has no "spec." (field.NewPath without it);
 *  - ipFamilies errors of the update rules sit at "spec.ipFamilies[0]" whatever the index, and
 *    some of them print the clusterIPs list as their value (copy-paste upstream);
 *  - "primary ipFamily can not be unset" tests the length of clusterIPs, not of ipFamilies;
 *  - 'None' is special only at index 0; elsewhere it is simply not an IP address;
 *  - on update, a bad loadBalancerClass is reported twice (the update rule and ValidateService
 *    both check its format);
 *  - a Go nil pointer passed as a bad value prints as "null" WITH quotes: field.Error's
 *    ErrorBody replaces it by the Go string "null" and then quotes strings with %q.
 * IP addresses and CIDRs use the legacy (sloppy) parse: 1.33 ships StrictIPCIDRValidation off.
 * Depends on validate (names, labels, IPs, ObjectMeta), field_error, util and jansson.
 */
#include "svc/validate_service.h"

#include "svc/field_error.h"
#include "svc/util.h"
#include "svc/validate.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* core.MaxClientIPServiceAffinitySeconds */
#define MAX_CLIENT_IP_AFFINITY_SECONDS 86400

/* How ErrorBody prints a nil pointer given as the bad value (see the paragraph above). */
#define GO_NIL_VALUE "\"null\""

#define ANNOTATION_TOPOLOGY_MODE  "service.kubernetes.io/topology-mode"
#define ANNOTATION_TOPOLOGY_HINTS "service.kubernetes.io/topology-aware-hints"
#define ANNOTATION_SOURCE_RANGES  "service.beta.kubernetes.io/load-balancer-source-ranges"

/* The supported-value lists, sorted as upstream's sets.List prints them. */
static const char *const service_types[] = {"ClusterIP", "ExternalName", "LoadBalancer",
                                            "NodePort"};
static const char *const affinity_types[] = {"ClientIP", "None"};
static const char *const traffic_policies[] = {"Cluster", "Local"};
static const char *const ip_families[] = {"IPv4", "IPv6"};
static const char *const ip_family_policies[] = {"PreferDualStack", "RequireDualStack",
                                                 "SingleStack"};
static const char *const traffic_distributions[] = {"PreferClose"};
static const char *const lb_ip_modes[] = {"Proxy", "VIP"};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* ---- reading the JSON as Go would have decoded it ---------------------------------------------
 */

/* A string member, or "" (Go's zero value) when absent or not a string. */
static const char *str_or_empty(const json_t *obj, const char *key)
{
    const char *s = ju_str(obj, key);
    return s ? s : "";
}

static const char *item_str(const json_t *item)
{
    const char *s = json_string_value(item);
    return s ? s : "";
}

static size_t arr_len(const json_t *a)
{
    return json_is_array(a) ? json_array_size(a) : 0;
}

/* An integer member (int32 upstream), or 0. */
static long long int_or_zero(const json_t *obj, const char *key)
{
    return ju_int(obj, key, 0);
}

/* An optional string (a *string upstream): NULL when absent, null or not a string. */
static const char *opt_str(const json_t *obj, const char *key)
{
    return ju_str(obj, key);
}

/* A map[string]string lookup: a JSON null value decodes to "" with the key present. */
static const char *map_get(const json_t *map, const char *key)
{
    const json_t *v = ju_get(map, key);
    if (json_is_string(v))
        return json_string_value(v);
    return json_is_null(v) ? "" : NULL;
}

static bool str_eq(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "") == 0;
}

static bool in_list(const char *value, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(value, list[i]))
            return true;
    return false;
}

/* The bad value of an optional string: quoted, or GO_NIL_VALUE for a nil pointer. */
static char *render_opt_str(const char *s)
{
    return s ? fe_quote(s) : xstrdup(GO_NIL_VALUE);
}

/* %#v of a []core.IPFamily: []core.IPFamily{"IPv4"}, or []core.IPFamily(nil). */
static char *render_families(const json_t *families)
{
    char *s = fe_json_strings(families);
    const char *prefix = "[]string";
    size_t n = strlen(prefix);
    char *out = strncmp(s, prefix, n) ? xstrdup(s) : xasprintf("[]core.IPFamily%s", s + n);
    free(s);
    return out;
}

/* The spec's type; "" when unset. */
static const char *svc_type(const json_t *spec)
{
    return str_or_empty(spec, "type");
}

static bool type_is(const json_t *spec, const char *type)
{
    return !strcmp(svc_type(spec), type);
}

/* isHeadlessService: clusterIPs is exactly ["None"]. */
static bool is_headless(const json_t *spec)
{
    const json_t *ips = ju_arr(spec, "clusterIPs");
    return arr_len(ips) == 1 && !strcmp(item_str(json_array_get(ips, 0)), "None");
}

/* apiservice.ExternallyAccessible */
static bool externally_accessible(const json_t *spec)
{
    return type_is(spec, "LoadBalancer") || type_is(spec, "NodePort") ||
           (type_is(spec, "ClusterIP") && arr_len(ju_arr(spec, "externalIPs")) > 0);
}

/* apiservice.NeedsHealthCheck: a LoadBalancer with externalTrafficPolicy Local. */
static bool needs_health_check(const json_t *spec)
{
    return type_is(spec, "LoadBalancer") &&
           !strcmp(str_or_empty(spec, "externalTrafficPolicy"), "Local");
}

/* ---- duplicate detection in O(n log n) --------------------------------------------------------
 * Upstream walks the list with a set and reports every entry whose key an earlier entry had.
 * Sorting the keys (stable by index) marks the same entries without quadratic time. */

struct dup_key {
    const char *s;
    size_t len;
    long long n;
    size_t idx;
};

static int dup_key_cmp(const void *pa, const void *pb)
{
    const struct dup_key *a = pa, *b = pb;
    size_t m = a->len < b->len ? a->len : b->len;
    int c = memcmp(a->s, b->s, m);
    if (c)
        return c;
    if (a->len != b->len)
        return a->len < b->len ? -1 : 1;
    if (a->n != b->n)
        return a->n < b->n ? -1 : 1;
    return a->idx < b->idx ? -1 : a->idx > b->idx;
}

/* keys[0..n) index into a list of total entries; the result (caller frees) has, for each entry,
   true when an earlier entry has the same key. */
static bool *mark_later_duplicates(struct dup_key *keys, size_t n, size_t total)
{
    bool *dup = xcalloc(total ? total : 1, sizeof(*dup));
    qsort(keys, n, sizeof(*keys), dup_key_cmp);
    for (size_t i = 1; i < n; i++)
        if (keys[i].len == keys[i - 1].len && keys[i].n == keys[i - 1].n &&
            !memcmp(keys[i].s, keys[i - 1].s, keys[i].len))
            dup[keys[i].idx] = true;
    return dup;
}

/* The key of a string item: its bytes (NULs included) and a number. */
static struct dup_key key_of(const json_t *str, long long n, size_t idx)
{
    struct dup_key k = {"", 0, n, idx};
    if (json_is_string(str)) {
        k.s = json_string_value(str);
        k.len = json_string_length(str);
    }
    return k;
}

/* ---- Go's strings.TrimSpace -------------------------------------------------------------------
 */

static bool go_is_space(uint32_t r)
{
    switch (r) {
    case '\t':
    case '\n':
    case '\v':
    case '\f':
    case '\r':
    case ' ':
    case 0x85:
    case 0xA0:
    case 0x1680:
    case 0x2028:
    case 0x2029:
    case 0x202F:
    case 0x205F:
    case 0x3000:
        return true;
    default:
        return r >= 0x2000 && r <= 0x200A;
    }
}

/* s[0..n) without leading and trailing Unicode white space, as a new string. */
static char *trim_space(const char *s, size_t n)
{
    size_t start = 0, end = 0, i = 0;
    bool seen = false;
    while (i < n) {
        uint32_t r;
        size_t w = fe_decode_rune(s + i, n - i, &r);
        if (!go_is_space(r)) {
            if (!seen)
                start = i;
            seen = true;
            end = i + w;
        }
        i += w;
    }
    return seen ? xstrndup(s + start, end - start) : xstrdup("");
}

/* ---- ports ------------------------------------------------------------------------------------
 */

/* %#v of the core.ServicePort key upstream builds to find duplicate (protocol, port) pairs. */
static char *render_port_key(const json_t *protocol, long long port)
{
    char *q = json_is_string(protocol)
                  ? fe_quote_len(json_string_value(protocol), json_string_length(protocol))
                  : fe_quote("");
    char *out = xasprintf("core.ServicePort{Name:\"\", Protocol:%s, AppProtocol:(*string)(nil), "
                          "Port:%lld, TargetPort:intstr.IntOrString{Type:0, IntVal:0, "
                          "StrVal:\"\"}, NodePort:0}",
                          q, port);
    free(q);
    return out;
}

/* ValidatePortNumOrName: an integer is a port number, a string an IANA service name. A missing
   targetPort is the IntOrString zero value, the integer 0. */
static void validate_port_num_or_name(struct field_errors *errs, const char *path,
                                      const json_t *value)
{
    if (json_is_string(value))
        validate_port_name_field(errs, path, json_string_value(value));
    else
        validate_port_num_field(errs, path, json_is_integer(value) ? json_integer_value(value) : 0);
}

/* validateServicePort; dup_name says an earlier port has the same (non-empty) name. */
static void validate_service_port(struct field_errors *errs, const json_t *port, bool require_name,
                                  bool dup_name, const char *path)
{
    const char *name = str_or_empty(port, "name");
    char *p = fe_path_child(path, "name");
    if (require_name && !*name) {
        fe_required(errs, p, "");
    } else if (*name) {
        validate_dns1123_label_field(errs, p, name);
        if (dup_name)
            fe_duplicate_str(errs, p, name);
    }
    free(p);

    p = fe_path_child(path, "port");
    validate_port_num_field(errs, p, int_or_zero(port, "port"));
    free(p);

    p = fe_path_child(path, "protocol");
    validate_protocol_field(errs, p, str_or_empty(port, "protocol"));
    free(p);

    p = fe_path_child(path, "targetPort");
    validate_port_num_or_name(errs, p, ju_get(port, "targetPort"));
    free(p);

    const char *app = opt_str(port, "appProtocol");
    if (app) {
        p = fe_path_child(path, "appProtocol");
        validate_qualified_name_field(errs, p, app);
        free(p);
    }
    /* Headless services may have any targetPort: v1 always tolerated it (upstream keeps the
       stricter check commented out for compatibility). */
}

static void validate_ports(struct field_errors *errs, const json_t *spec)
{
    const json_t *ports = ju_arr(spec, "ports");
    size_t n = arr_len(ports);
    if (!n)
        return;
    /* Port names must be unique across all ports, whatever their protocol. */
    struct dup_key *keys = xcalloc(n, sizeof(*keys));
    size_t nk = 0;
    for (size_t i = 0; i < n; i++) {
        const json_t *name = ju_get(json_array_get(ports, i), "name");
        if (json_is_string(name) && json_string_length(name))
            keys[nk++] = key_of(name, 0, i);
    }
    bool *dup = mark_later_duplicates(keys, nk, n);
    for (size_t i = 0; i < n && !fe_full(errs); i++) {
        char *path = fe_path_index("spec.ports", i);
        validate_service_port(errs, json_array_get(ports, i), n > 1, dup[i], path);
        free(path);
    }
    free(dup);
    free(keys);
}

/* Type ClusterIP may not carry nodePorts, and no two ports may share (protocol, nodePort) or
   (protocol, port). There is no range check on nodePort here: the allocator owns the range. */
static void validate_port_uniqueness(struct field_errors *errs, const json_t *spec)
{
    const json_t *ports = ju_arr(spec, "ports");
    size_t n = arr_len(ports);
    if (!n)
        return;
    if (type_is(spec, "ClusterIP")) {
        for (size_t i = 0; i < n && !fe_full(errs); i++) {
            if (int_or_zero(json_array_get(ports, i), "nodePort") != 0) {
                char *p = xasprintf("spec.ports[%zu].nodePort", i);
                fe_forbidden(errs, p, "may not be used when `type` is 'ClusterIP'");
                free(p);
            }
        }
    }

    struct dup_key *keys = xcalloc(n, sizeof(*keys));
    size_t nk = 0;
    for (size_t i = 0; i < n; i++) {
        const json_t *port = json_array_get(ports, i);
        long long np = int_or_zero(port, "nodePort");
        if (np != 0)
            keys[nk++] = key_of(ju_get(port, "protocol"), np, i);
    }
    bool *dup = mark_later_duplicates(keys, nk, n);
    for (size_t i = 0; i < n && !fe_full(errs); i++) {
        if (!dup[i])
            continue;
        char *p = xasprintf("spec.ports[%zu].nodePort", i);
        char *v = fe_int(int_or_zero(json_array_get(ports, i), "nodePort"));
        fe_duplicate(errs, p, v);
        free(v);
        free(p);
    }
    free(dup);

    for (size_t i = 0; i < n; i++) {
        const json_t *port = json_array_get(ports, i);
        keys[i] = key_of(ju_get(port, "protocol"), int_or_zero(port, "port"), i);
    }
    dup = mark_later_duplicates(keys, n, n);
    for (size_t i = 0; i < n && !fe_full(errs); i++) {
        if (!dup[i])
            continue;
        const json_t *port = json_array_get(ports, i);
        char *p = xasprintf("spec.ports[%zu]", i);
        char *v = render_port_key(ju_get(port, "protocol"), int_or_zero(port, "port"));
        fe_duplicate(errs, p, v);
        free(v);
        free(p);
    }
    free(dup);
    free(keys);
}

/* ---- the type-specific block ------------------------------------------------------------------
 */

static void validate_type_specific(struct field_errors *errs, const json_t *spec)
{
    const char *type = svc_type(spec);
    if (!strcmp(type, "LoadBalancer") || !strcmp(type, "NodePort")) {
        if (is_headless(spec)) {
            char *detail = xasprintf("may not be set to 'None' for %s services", type);
            fe_invalid_str(errs, "spec.clusterIPs[0]", "None", detail);
            free(detail);
        }
    } else if (!strcmp(type, "ExternalName")) {
        if (arr_len(ju_arr(spec, "clusterIPs")) > 0)
            fe_forbidden(errs, "spec.clusterIPs", "may not be set for ExternalName services");
        if (arr_len(ju_arr(spec, "ipFamilies")) > 0)
            fe_forbidden(errs, "spec.ipFamilies", "may not be set for ExternalName services");
        if (opt_str(spec, "ipFamilyPolicy"))
            fe_forbidden(errs, "spec.ipFamilyPolicy", "may not be set for ExternalName services");
        /* A CNAME may end in one dot to say it is fully qualified. */
        const char *name = str_or_empty(spec, "externalName");
        size_t len = strlen(name);
        if (len && name[len - 1] == '.')
            len--;
        if (len) {
            char *cname = xstrndup(name, len);
            validate_dns1123_subdomain_field(errs, "spec.externalName", cname);
            free(cname);
        } else {
            fe_required(errs, "spec.externalName", "");
        }
    }
}

/* ---- session affinity -------------------------------------------------------------------------
 */

static void validate_session_affinity(struct field_errors *errs, const json_t *spec)
{
    const char *affinity = str_or_empty(spec, "sessionAffinity");
    if (!*affinity)
        fe_required(errs, "spec.sessionAffinity", "");
    else if (!in_list(affinity, affinity_types, NELEM(affinity_types))) {
        char *v = fe_quote(affinity);
        fe_not_supported(errs, "spec.sessionAffinity", v, affinity_types, NELEM(affinity_types));
        free(v);
    }

    const json_t *config = ju_obj(spec, "sessionAffinityConfig");
    if (!strcmp(affinity, "ClientIP")) {
        static const char detail[] = "when session affinity type is ClientIP";
        const json_t *client_ip = ju_obj(config, "clientIP");
        const json_t *timeout = ju_get(client_ip, "timeoutSeconds");
        if (!config) {
            fe_required(errs, "spec.sessionAffinityConfig", detail);
        } else if (!client_ip) {
            fe_required(errs, "spec.sessionAffinityConfig.clientIP", detail);
        } else if (!json_is_integer(timeout)) {
            fe_required(errs, "spec.sessionAffinityConfig.clientIP.timeoutSeconds", detail);
        } else {
            long long t = json_integer_value(timeout);
            if (t <= 0 || t > MAX_CLIENT_IP_AFFINITY_SECONDS)
                fe_invalid_int(errs, "spec.sessionAffinityConfig.clientIP.timeoutSeconds", t,
                               "must be greater than 0 and less than 86400");
        }
    } else if (!strcmp(affinity, "None") && config) {
        fe_forbidden(errs, "spec.sessionAffinityConfig",
                     "must not be set when session affinity is None");
    }
}

/* ---- clusterIPs, ipFamilies, ipFamilyPolicy ---------------------------------------------------
 */

/* The stored clusterIPs of old as a borrowed string vector (caller frees the vector only). */
static const char **old_cluster_ips(const json_t *old, size_t *n)
{
    const json_t *ips = ju_arr(ju_obj(old, "spec"), "clusterIPs");
    *n = arr_len(ips);
    const char **out = xcalloc(*n ? *n : 1, sizeof(*out));
    for (size_t i = 0; i < *n; i++)
        out[i] = item_str(json_array_get(ips, i));
    return out;
}

static void cluster_ip_fields(struct field_errors *errs, const json_t *spec, const json_t *old)
{
    if (type_is(spec, "ExternalName"))
        return;
    const char *cluster_ip = str_or_empty(spec, "clusterIP");
    const json_t *ips = ju_arr(spec, "clusterIPs");
    const json_t *families = ju_arr(spec, "ipFamilies");
    size_t n_ips = arr_len(ips), n_fam = arr_len(families);
    bool invalid_ips = false;

    /* clusterIP and clusterIPs[0] must agree; the strategy keeps them in sync. */
    if (*cluster_ip) {
        if (!n_ips) {
            fe_required(errs, "spec.clusterIPs", "");
        } else if (!str_eq(item_str(json_array_get(ips, 0)), cluster_ip)) {
            char *v = fe_json_strings(ips);
            fe_invalid(errs, "spec.clusterIPs", v, "first value must match `clusterIP`");
            free(v);
        }
    } else if (n_ips) {
        char *v = fe_json_strings(ips);
        fe_invalid(errs, "spec.clusterIPs", v, "must be empty when `clusterIP` is not specified");
        free(v);
    }

    struct dup_key *keys = xcalloc(n_fam ? n_fam : 1, sizeof(*keys));
    for (size_t i = 0; i < n_fam; i++)
        keys[i] = key_of(json_array_get(families, i), 0, i);
    bool *dup = mark_later_duplicates(keys, n_fam, n_fam);
    for (size_t i = 0; i < n_fam && !fe_full(errs); i++) {
        const json_t *fam = json_array_get(families, i);
        char *p = xasprintf("spec.ipFamilies[%zu]", i);
        char *v = json_is_string(fam)
                      ? fe_quote_len(json_string_value(fam), json_string_length(fam))
                      : fe_quote("");
        if (!in_list(item_str(fam), ip_families, NELEM(ip_families)) ||
            json_string_length(fam) != strlen(item_str(fam)))
            fe_not_supported(errs, p, v, ip_families, NELEM(ip_families));
        if (dup[i])
            fe_duplicate(errs, p, v);
        free(v);
        free(p);
    }
    free(dup);
    free(keys);

    const char *policy = opt_str(spec, "ipFamilyPolicy");
    if (policy && !in_list(policy, ip_family_policies, NELEM(ip_family_policies))) {
        char *v = fe_quote(policy);
        fe_not_supported(errs, "spec.ipFamilyPolicy", v, ip_family_policies,
                         NELEM(ip_family_policies));
        free(v);
    }

    size_t n_old = 0;
    const char **old_ips = old_cluster_ips(old, &n_old);
    for (size_t i = 0; i < n_ips && !fe_full(errs); i++) {
        const char *ip = item_str(json_array_get(ips, i));
        if (i == 0 && !strcmp(ip, "None")) {
            /* "None" is meaningful only alone; at any other index it is just not an IP. */
            if (n_ips > 1) {
                invalid_ips = true;
                char *v = fe_json_strings(ips);
                fe_invalid(errs, "spec.clusterIPs", v, "'None' must be the first and only value");
                free(v);
            }
            continue;
        }
        struct validate_ip parsed;
        bool was_valid = false;
        for (size_t k = 0; k < n_old; k++)
            was_valid = was_valid || !strcmp(old_ips[k], ip);
        if (!was_valid && validate_ip_parse(ip, false, &parsed) != 0) {
            invalid_ips = true;
            char *p = xasprintf("spec.clusterIPs[%zu]", i);
            validate_ip_legacy_field(errs, p, ip, false, old_ips, n_old);
            free(p);
        }
    }
    free(old_ips);

    if (n_ips > 2) {
        char *v = fe_json_strings(ips);
        fe_invalid(errs, "spec.clusterIPs", v, "may only hold up to 2 values");
        free(v);
    }
    /* Past a bad address, family checks would only add confusing errors: upstream stops. */
    if (invalid_ips)
        return;

    if (n_ips > 1) {
        /* netutils.IsDualStackIPStrings: at least one address of each family. */
        bool v4 = false, v6 = false;
        for (size_t i = 0; i < n_ips; i++) {
            enum validate_ip_family f = validate_ip_family(item_str(json_array_get(ips, i)));
            v4 = v4 || f == VALIDATE_IPV4;
            v6 = v6 || f == VALIDATE_IPV6;
        }
        if (!(v4 && v6)) {
            char *v = fe_json_strings(ips);
            fe_invalid(errs, "spec.clusterIPs", v,
                       "may specify no more than one IP for each IP family");
            free(v);
        }
    }

    if (!is_headless(spec) && n_ips > 0 && n_fam > 0) {
        for (size_t i = 0; i < n_ips && i < n_fam; i++) {
            const char *ip = item_str(json_array_get(ips, i));
            const char *fam = item_str(json_array_get(families, i));
            bool is_v6 = validate_ip_family(ip) == VALIDATE_IPV6;
            const char *want = NULL;
            if (!strcmp(fam, "IPv4") && is_v6)
                want = "IPv4";
            else if (!strcmp(fam, "IPv6") && !is_v6)
                want = "IPv6";
            if (want) {
                char *p = xasprintf("spec.clusterIPs[%zu]", i);
                char *detail =
                    xasprintf("expected an %s value as indicated by `ipFamilies[%zu]`", want, i);
                fe_invalid_str(errs, p, ip, detail);
                free(detail);
                free(p);
            }
        }
    }
}

void validate_service_cluster_ip_fields(struct field_errors *errs, const json_t *svc,
                                        const json_t *old)
{
    cluster_ip_fields(errs, ju_obj(svc, "spec"), old);
}

/* ---- externalIPs, source ranges ---------------------------------------------------------------
 */

static void validate_external_ips(struct field_errors *errs, const json_t *spec)
{
    const json_t *ips = ju_arr(spec, "externalIPs");
    for (size_t i = 0; i < arr_len(ips) && !fe_full(errs); i++) {
        const char *ip = item_str(json_array_get(ips, i));
        char *p = xasprintf("spec.externalIPs[%zu]", i);
        struct validate_ip parsed;
        /* An unparsable address gets the IP message alone; the special-range checks need an
           address. */
        if (validate_ip_parse(ip, false, &parsed) != 0)
            validate_ip_legacy_field(errs, p, ip, false, NULL, 0);
        else
            validate_non_special_ip_field(errs, p, ip);
        free(p);
    }
}

static void check_cidr_trimmed(struct field_errors *errs, const char *path, const char *s, size_t n)
{
    char *value = trim_space(s, n);
    validate_cidr_legacy_field(errs, path, value, false, NULL, 0);
    free(value);
}

/* The field, or when it is empty the older annotation, in the same way. */
static void validate_source_ranges(struct field_errors *errs, const json_t *svc, const json_t *spec)
{
    static const char forbidden[] = "may only be used when `type` is 'LoadBalancer'";
    const json_t *ranges = ju_arr(spec, "loadBalancerSourceRanges");
    bool is_lb = type_is(spec, "LoadBalancer");
    if (arr_len(ranges) > 0) {
        /* Upstream's path has a capital L here. */
        const char *path = "spec.LoadBalancerSourceRanges";
        if (!is_lb)
            fe_forbidden(errs, path, forbidden);
        for (size_t i = 0; i < json_array_size(ranges) && !fe_full(errs); i++) {
            const json_t *item = json_array_get(ranges, i);
            char *p = xasprintf("%s[%zu]", path, i);
            /* Entries may carry spaces around them, a leftover of the annotation days. */
            check_cidr_trimmed(errs, p, item_str(item),
                               json_is_string(item) ? json_string_length(item) : 0);
            free(p);
        }
        return;
    }
    const char *annotation =
        map_get(ju_obj(ju_obj(svc, "metadata"), "annotations"), ANNOTATION_SOURCE_RANGES);
    if (!annotation)
        return;
    const char *path = "metadata.annotations[" ANNOTATION_SOURCE_RANGES "]";
    if (!is_lb)
        fe_forbidden(errs, path, forbidden);
    char *value = trim_space(annotation, strlen(annotation));
    if (*value) {
        const char *part = value;
        for (;;) {
            const char *comma = strchr(part, ',');
            size_t len = comma ? (size_t)(comma - part) : strlen(part);
            check_cidr_trimmed(errs, path, part, len);
            if (!comma || fe_full(errs))
                break;
            part = comma + 1;
        }
    }
    free(value);
}

/* ---- load balancer fields, traffic policies ---------------------------------------------------
 */

/* validateLoadBalancerClassField; old is NULL on create. */
static void validate_lb_class(struct field_errors *errs, const json_t *spec, const json_t *old)
{
    const char *cls = opt_str(spec, "loadBalancerClass");
    bool is_lb = type_is(spec, "LoadBalancer");
    if (old) {
        const json_t *old_spec = ju_obj(old, "spec");
        const char *old_cls = opt_str(old_spec, "loadBalancerClass");
        bool same = (!cls && !old_cls) || (cls && old_cls && !strcmp(cls, old_cls));
        if (type_is(old_spec, "LoadBalancer") && is_lb && !same) {
            char *v = render_opt_str(cls);
            fe_invalid(errs, "spec.loadBalancerClass", v, "may not change once set");
            free(v);
        }
    }
    if (is_lb) {
        if (cls)
            validate_qualified_name_field(errs, "spec.loadBalancerClass", cls);
    } else if (cls) {
        fe_forbidden(errs, "spec.loadBalancerClass",
                     "may only be used when `type` is 'LoadBalancer'");
    }
}

static void validate_external_traffic_policy(struct field_errors *errs, const json_t *spec)
{
    const char *etp = str_or_empty(spec, "externalTrafficPolicy");
    if (!externally_accessible(spec)) {
        if (*etp)
            fe_invalid_str(errs, "spec.externalTrafficPolicy", etp,
                           "may only be set for externally-accessible services");
    } else if (!*etp) {
        fe_required(errs, "spec.externalTrafficPolicy", "");
    } else if (!in_list(etp, traffic_policies, NELEM(traffic_policies))) {
        char *v = fe_quote(etp);
        fe_not_supported(errs, "spec.externalTrafficPolicy", v, traffic_policies,
                         NELEM(traffic_policies));
        free(v);
    }

    long long hc = int_or_zero(spec, "healthCheckNodePort");
    if (!needs_health_check(spec)) {
        if (hc != 0)
            fe_invalid_int(errs, "spec.healthCheckNodePort", hc,
                           "may only be set when `type` is 'LoadBalancer' and "
                           "`externalTrafficPolicy` is 'Local'");
    } else if (hc == 0) {
        fe_required(errs, "spec.healthCheckNodePort", "");
    } else {
        validate_port_num_field(errs, "spec.healthCheckNodePort", hc);
    }
}

static void validate_internal_traffic_policy(struct field_errors *errs, const json_t *spec)
{
    const char *itp = opt_str(spec, "internalTrafficPolicy");
    /* Other types are not held to it: older servers stored ExternalName services with it. */
    if (!itp &&
        (type_is(spec, "NodePort") || type_is(spec, "LoadBalancer") || type_is(spec, "ClusterIP")))
        fe_required(errs, "spec.internalTrafficPolicy", "");
    if (itp && !in_list(itp, traffic_policies, NELEM(traffic_policies))) {
        char *v = fe_quote(itp);
        fe_not_supported(errs, "spec.internalTrafficPolicy", v, traffic_policies,
                         NELEM(traffic_policies));
        free(v);
    }
}

static void validate_traffic_distribution(struct field_errors *errs, const json_t *spec)
{
    /* PreferSameZone and PreferSameNode need the alpha PreferSameTrafficDistribution gate,
       off in 1.33. */
    const char *td = opt_str(spec, "trafficDistribution");
    if (td && strcmp(td, "PreferClose")) {
        char *v = fe_quote(td);
        fe_not_supported(errs, "spec.trafficDistribution", v, traffic_distributions,
                         NELEM(traffic_distributions));
        free(v);
    }
}

/* ---- ValidateService --------------------------------------------------------------------------
 */

static void validate_topology_annotations(struct field_errors *errs, const json_t *meta)
{
    const json_t *annotations = ju_obj(meta, "annotations");
    const char *hints = map_get(annotations, ANNOTATION_TOPOLOGY_HINTS);
    const char *mode = map_get(annotations, ANNOTATION_TOPOLOGY_MODE);
    if (hints && mode && strcmp(hints, mode))
        fe_invalid_str(errs, "metadata.annotations[" ANNOTATION_TOPOLOGY_MODE "]", mode,
                       "must match annotations[" ANNOTATION_TOPOLOGY_HINTS
                       "] when both are specified");
}

/* ValidateService, with the stored object on update for the legacy-IP leniency. */
static void service_checks(struct field_errors *errs, const json_t *svc, const json_t *old)
{
    const json_t *meta = ju_obj(svc, "metadata");
    const json_t *spec = ju_obj(svc, "spec");

    validate_object_meta(errs, "metadata", meta, true, validate_name_is_dns1035_label);
    validate_topology_annotations(errs, meta);

    if (arr_len(ju_arr(spec, "ports")) == 0 && !is_headless(spec) && !type_is(spec, "ExternalName"))
        fe_required(errs, "spec.ports", "");
    validate_type_specific(errs, spec);
    validate_ports(errs, spec);

    const json_t *selector = ju_get(spec, "selector");
    if (json_is_object(selector))
        validate_labels(errs, "spec.selector", selector);

    validate_session_affinity(errs, spec);
    cluster_ip_fields(errs, spec, old);
    validate_external_ips(errs, spec);

    const char *type = svc_type(spec);
    if (!*type) {
        fe_required(errs, "spec.type", "");
    } else if (!in_list(type, service_types, NELEM(service_types))) {
        char *v = fe_quote(type);
        fe_not_supported(errs, "spec.type", v, service_types, NELEM(service_types));
        free(v);
    }

    validate_port_uniqueness(errs, spec);
    validate_source_ranges(errs, svc, spec);

    bool has_alloc = json_is_boolean(ju_get(spec, "allocateLoadBalancerNodePorts"));
    if (has_alloc && !type_is(spec, "LoadBalancer"))
        fe_forbidden(errs, "spec.allocateLoadBalancerNodePorts",
                     "may only be used when `type` is 'LoadBalancer'");
    if (type_is(spec, "LoadBalancer") && !has_alloc)
        fe_required(errs, "allocateLoadBalancerNodePorts", ""); /* sic: no "spec." upstream */

    validate_lb_class(errs, spec, NULL);
    validate_external_traffic_policy(errs, spec);
    validate_internal_traffic_policy(errs, spec);
    validate_traffic_distribution(errs, spec);
}

void validate_service(struct field_errors *errs, const json_t *svc)
{
    service_checks(errs, svc, NULL);
}

/* ---- ValidateServiceUpdate --------------------------------------------------------------------
 */

/* validateUpgradeDowngradeClusterIPs: the primary address never changes; the secondary may be
   added, or removed together with ipFamilyPolicy SingleStack. */
static void upgrade_downgrade_cluster_ips(struct field_errors *errs, const json_t *spec,
                                          const json_t *old_spec)
{
    if (type_is(spec, "ExternalName") || type_is(old_spec, "ExternalName"))
        return;
    if (is_headless(spec) && is_headless(old_spec))
        return;
    const json_t *ips = ju_arr(spec, "clusterIPs");
    const json_t *old_ips = ju_arr(old_spec, "clusterIPs");
    size_t n = arr_len(ips), n_old = arr_len(old_ips);
    char *v = fe_json_strings(ips);
    if (n_old == n) {
        for (size_t i = 0; i < n && !fe_full(errs); i++) {
            if (!str_eq(item_str(json_array_get(old_ips, i)), item_str(json_array_get(ips, i)))) {
                char *p = xasprintf("spec.clusterIPs[%zu]", i);
                fe_invalid(errs, p, v, "may not change once set");
                free(p);
            }
        }
    } else if (n_old > n) {
        if (n == 0)
            fe_invalid(errs, "spec.clusterIPs[0]", v, "primary clusterIP can not be unset");
        if (n_old > 0 && n > 0 &&
            !str_eq(item_str(json_array_get(ips, 0)), item_str(json_array_get(old_ips, 0))))
            fe_invalid(errs, "spec.clusterIPs[0]", v, "may not change once set");
        const char *policy = opt_str(spec, "ipFamilyPolicy");
        if (n == 1 && (!policy || strcmp(policy, "SingleStack"))) {
            char *pv = render_opt_str(policy);
            fe_invalid(errs, "spec.ipFamilyPolicy", pv,
                       "must be set to 'SingleStack' when releasing the secondary clusterIP");
            free(pv);
        }
    } else {
        if (n_old > 0 &&
            !str_eq(item_str(json_array_get(ips, 0)), item_str(json_array_get(old_ips, 0))))
            fe_invalid(errs, "spec.clusterIPs[0]", v, "may not change once set");
    }
    free(v);
}

/* validateUpgradeDowngradeIPFamilies: the same for ipFamilies; headless services (and services
   turning headless or back) may change families freely. */
static void upgrade_downgrade_ip_families(struct field_errors *errs, const json_t *spec,
                                          const json_t *old_spec)
{
    if (type_is(spec, "ExternalName") || type_is(old_spec, "ExternalName"))
        return;
    if (is_headless(spec) || is_headless(old_spec))
        return;
    const json_t *fams = ju_arr(spec, "ipFamilies");
    const json_t *old_fams = ju_arr(old_spec, "ipFamilies");
    size_t n = arr_len(fams), n_old = arr_len(old_fams);
    /* Upstream reports all of these at index 0, and some with clusterIPs as the value. */
    const char *path = "spec.ipFamilies[0]";
    if (n_old == n) {
        char *v = render_families(ju_get(spec, "ipFamilies"));
        for (size_t i = 0; i < n && !fe_full(errs); i++)
            if (!str_eq(item_str(json_array_get(old_fams, i)), item_str(json_array_get(fams, i))))
                fe_invalid(errs, path, v, "may not change once set");
        free(v);
    } else if (n_old > n) {
        if (arr_len(ju_arr(spec, "clusterIPs")) == 0) {
            char *v = render_families(ju_get(spec, "ipFamilies"));
            fe_invalid(errs, path, v, "primary ipFamily can not be unset");
            free(v);
        }
        if (n > 0 &&
            !str_eq(item_str(json_array_get(fams, 0)), item_str(json_array_get(old_fams, 0)))) {
            char *v = fe_json_strings(ju_get(spec, "clusterIPs"));
            fe_invalid(errs, path, v, "may not change once set");
            free(v);
        }
        const char *policy = opt_str(spec, "ipFamilyPolicy");
        if (n == 1 && (!policy || strcmp(policy, "SingleStack"))) {
            char *pv = render_opt_str(policy);
            fe_invalid(errs, "spec.ipFamilyPolicy", pv,
                       "must be set to 'SingleStack' when releasing the secondary ipFamily");
            free(pv);
        }
    } else {
        if (n_old > 0 && n > 0 &&
            !str_eq(item_str(json_array_get(fams, 0)), item_str(json_array_get(old_fams, 0)))) {
            char *v = fe_json_strings(ju_get(spec, "clusterIPs"));
            fe_invalid(errs, path, v, "may not change once set");
            free(v);
        }
    }
}

void validate_service_update(struct field_errors *errs, const json_t *svc, const json_t *old)
{
    const json_t *spec = ju_obj(svc, "spec");
    const json_t *old_spec = ju_obj(old, "spec");
    validate_object_meta_update(errs, "metadata", ju_obj(svc, "metadata"), ju_obj(old, "metadata"));
    upgrade_downgrade_cluster_ips(errs, spec, old_spec);
    upgrade_downgrade_ip_families(errs, spec, old_spec);
    validate_lb_class(errs, spec, old);
    if (needs_health_check(old_spec) && needs_health_check(spec) &&
        int_or_zero(spec, "healthCheckNodePort") != int_or_zero(old_spec, "healthCheckNodePort"))
        fe_forbidden(errs, "spec.healthCheckNodePort", "field is immutable");
    service_checks(errs, svc, old);
}

/* ---- ValidateServiceStatusUpdate --------------------------------------------------------------
 */

static void validate_lb_ingress(struct field_errors *errs, const char *path, const json_t *ingress,
                                const char *const *old_ips, size_t n_old)
{
    const char *ip = str_or_empty(ingress, "ip");
    const char *mode = opt_str(ingress, "ipMode");
    char *p;
    if (*ip) {
        p = fe_path_child(path, "ip");
        validate_ip_legacy_field(errs, p, ip, false, old_ips, n_old);
        free(p);
    }
    /* LoadBalancerIPMode is GA (on) in 1.33; v1 defaulting fills VIP for LoadBalancers. */
    p = fe_path_child(path, "ipMode");
    if (!mode) {
        if (*ip)
            fe_required(errs, p, "must be specified when `ip` is set");
    } else if (!*ip) {
        fe_forbidden(errs, p, "may not be specified when `ip` is not set");
    } else if (!in_list(mode, lb_ip_modes, NELEM(lb_ip_modes))) {
        char *v = fe_quote(mode);
        fe_not_supported(errs, p, v, lb_ip_modes, NELEM(lb_ip_modes));
        free(v);
    }
    free(p);

    const char *hostname = str_or_empty(ingress, "hostname");
    if (*hostname) {
        p = fe_path_child(path, "hostname");
        validate_dns1123_subdomain_field(errs, p, hostname);
        struct validate_ip parsed;
        if (validate_ip_parse(hostname, false, &parsed) == 0)
            fe_invalid_str(errs, p, hostname, "must be a DNS name, not an IP address");
        free(p);
    }
}

void validate_service_status_update(struct field_errors *errs, const json_t *svc, const json_t *old)
{
    validate_object_meta_update(errs, "metadata", ju_obj(svc, "metadata"), ju_obj(old, "metadata"));
    const json_t *ingress = ju_arr(ju_obj(ju_obj(svc, "status"), "loadBalancer"), "ingress");
    size_t n = arr_len(ingress);
    /* AllowServiceLBStatusOnNonLB is off by default in 1.33. */
    if (n && !type_is(ju_obj(svc, "spec"), "LoadBalancer")) {
        fe_forbidden(errs, "status.loadBalancer.ingress",
                     "may only be used when `spec.type` is 'LoadBalancer'");
        return;
    }
    /* Addresses already stored are accepted as they are (legacy IP validation on update). */
    const json_t *old_ingress = ju_arr(ju_obj(ju_obj(old, "status"), "loadBalancer"), "ingress");
    size_t n_old = arr_len(old_ingress);
    const char **old_ips = xcalloc(n_old ? n_old : 1, sizeof(*old_ips));
    for (size_t i = 0; i < n_old; i++)
        old_ips[i] = str_or_empty(json_array_get(old_ingress, i), "ip");
    for (size_t i = 0; i < n && !fe_full(errs); i++) {
        char *p = xasprintf("status.loadBalancer.ingress[%zu]", i);
        validate_lb_ingress(errs, p, json_array_get(ingress, i), old_ips, n_old);
        free(p);
    }
    free(old_ips);
}
