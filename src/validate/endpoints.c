/*
 * endpoints: validation of core/v1 Endpoints and discovery.k8s.io/v1 EndpointSlices as
 * kube-apiserver 1.33 runs it (core ValidateEndpoints*, discovery ValidateEndpointSlice*).
 *
 * Objects are jansson trees after v1 defaulting (a port's protocol defaults to TCP and an
 * EndpointSlice port's name to ""): a protocol still missing here is reported as Required, as
 * upstream would. Upstream behaviour kept on purpose: an Endpoints address that is not an IP
 * gets two errors (the legacy IP check and the non-special-IP check say it in different words);
 * Endpoints port names are not checked for uniqueness but EndpointSlice port names are (two
 * unnamed ports collide on ""); EndpointSlice port numbers are not range-checked; ports are
 * checked before endpoints; on update, subsets or endpoints equal to the stored ones are not
 * re-checked (1.33's rule for objects stored under older, looser IP rules).
 * Depends on field_error, the other validate files, util and jansson.
 */
#include "svc/validate.h"

#include "svc/field_error.h"
#include "svc/util.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ENDPOINTS       1000
#define MAX_ADDRESSES       100
#define MAX_PORTS           20000 /* raised from 100 before 1.30; the API docs still say 100 */
#define MAX_TOPOLOGY_LABELS 16
#define MAX_ZONE_HINTS      8

static const char *item_str(const json_t *item)
{
    const char *s = json_string_value(item);
    return s ? s : "";
}

static size_t array_len(const json_t *v)
{
    return json_is_array(v) ? json_array_size(v) : 0;
}

/* JSON equality where an absent list and an empty one are the same (Semantic.DeepEqual). */
static bool lists_equal(const json_t *a, const json_t *b)
{
    if (array_len(a) == 0 && array_len(b) == 0)
        return true;
    return a && b && json_equal((json_t *)a, (json_t *)b);
}

/* An optional string field (*string upstream): NULL when absent, null or not a string. */
static const char *opt_str(const json_t *obj, const char *key)
{
    return ju_str(obj, key);
}

static void name_msgs_field(struct field_errors *errs, const char *path, const char *value,
                            validate_name_fn fn)
{
    struct validate_msgs msgs;
    if (fn(value, false, &msgs))
        validate_add_msgs(errs, path, value, &msgs);
}

/* ---- core/v1 Endpoints -------------------------------------------------------------------------
 */

static void endpoint_address(struct field_errors *errs, const char *path, const json_t *addr)
{
    const char *ip = ju_str(addr, "ip");
    char *ip_path = fe_path_child(path, "ip");
    /* IsValidIPForLegacyField with the StrictIPCIDRValidation gate off, as in 1.33. */
    validate_ip_legacy_field(errs, ip_path, ip, false, NULL, 0);
    const char *hostname = opt_str(addr, "hostname");
    if (hostname && *hostname) {
        char *p = fe_path_child(path, "hostname");
        validate_dns1123_label_field(errs, p, hostname);
        free(p);
    }
    const char *node = opt_str(addr, "nodeName");
    if (node) {
        char *p = fe_path_child(path, "nodeName");
        name_msgs_field(errs, p, node, validate_name_is_dns_subdomain);
        free(p);
    }
    validate_non_special_ip_field(errs, ip_path, ip);
    free(ip_path);
}

static void endpoint_port(struct field_errors *errs, const char *path, const json_t *port,
                          bool require_name)
{
    const char *name = ju_str(port, "name");
    char *p = fe_path_child(path, "name");
    if (require_name && ju_empty(name))
        fe_required(errs, p, "");
    else if (!ju_empty(name))
        validate_dns1123_label_field(errs, p, name);
    free(p);
    p = fe_path_child(path, "port");
    validate_port_num_field(errs, p, ju_int(port, "port", 0));
    free(p);
    p = fe_path_child(path, "protocol");
    validate_protocol_field(errs, p, ju_str(port, "protocol"));
    free(p);
    const char *app = opt_str(port, "appProtocol");
    if (app) {
        p = fe_path_child(path, "appProtocol");
        validate_qualified_name_field(errs, p, app);
        free(p);
    }
}

static void address_list(struct field_errors *errs, const char *subset_path, const json_t *ss,
                         const char *key)
{
    const json_t *list = ju_get(ss, key);
    char *base = fe_path_child(subset_path, key);
    for (size_t j = 0; j < array_len(list); j++) {
        char *p = fe_path_index(base, j);
        endpoint_address(errs, p, json_array_get(list, j));
        free(p);
    }
    free(base);
}

static void endpoint_subsets(struct field_errors *errs, const json_t *subsets)
{
    for (size_t i = 0; i < array_len(subsets); i++) {
        const json_t *ss = json_array_get(subsets, i);
        char *idx = fe_path_index("subsets", i);
        const json_t *ports = ju_get(ss, "ports");
        /* A subset may have no ports (headless services), but must have some address. */
        if (array_len(ju_get(ss, "addresses")) == 0 &&
            array_len(ju_get(ss, "notReadyAddresses")) == 0)
            fe_required(errs, idx, "must specify `addresses` or `notReadyAddresses`");
        address_list(errs, idx, ss, "addresses");
        address_list(errs, idx, ss, "notReadyAddresses");
        char *ports_path = fe_path_child(idx, "ports");
        for (size_t k = 0; k < array_len(ports); k++) {
            char *p = fe_path_index(ports_path, k);
            endpoint_port(errs, p, json_array_get(ports, k), array_len(ports) > 1);
            free(p);
        }
        free(ports_path);
        free(idx);
    }
}

/* ValidateEndpoints: metadata, then subsets unless (on update) they are unchanged. */
static void endpoints_common(struct field_errors *errs, const json_t *obj, const json_t *old)
{
    validate_object_meta(errs, "metadata", ju_get(obj, "metadata"), true,
                         validate_name_is_dns_subdomain);
    const json_t *subsets = ju_get(obj, "subsets");
    if (old && lists_equal(subsets, ju_get(old, "subsets")))
        return;
    endpoint_subsets(errs, subsets);
}

void validate_endpoints(struct field_errors *errs, const json_t *obj)
{
    endpoints_common(errs, obj, NULL);
}

void validate_endpoints_update(struct field_errors *errs, const json_t *obj, const json_t *old)
{
    validate_object_meta_update(errs, "metadata", ju_get(obj, "metadata"), ju_get(old, "metadata"));
    endpoints_common(errs, obj, old);
}

/* ---- discovery.k8s.io/v1 EndpointSlice ---------------------------------------------------------
 */

static const char *const address_types[] = {"FQDN", "IPv4", "IPv6"}; /* sets.List order */

static void address_type(struct field_errors *errs, const char *type)
{
    if (ju_empty(type)) {
        fe_required(errs, "addressType", "");
        return;
    }
    for (size_t i = 0; i < 3; i++)
        if (strcmp(type, address_types[i]) == 0)
            return;
    char *q = fe_quote(type);
    fe_not_supported(errs, "addressType", q, address_types, 3);
    free(q);
}

/* IsFullyQualifiedDomainName: one error at most; the messages of a check are joined by ",". */
static void fqdn_field(struct field_errors *errs, const char *path, const char *value)
{
    struct validate_msgs msgs;
    if (!*value) {
        fe_required(errs, path, "");
        return;
    }
    size_t n = strlen(value);
    char *name = xstrndup(value, value[n - 1] == '.' ? n - 1 : n);
    char *joined = NULL;
    if (validate_is_dns1123_subdomain(name, &msgs)) {
        joined = xstrdup(msgs.msg[0]);
        for (size_t i = 1; i < msgs.len; i++) {
            char *next = xasprintf("%s,%s", joined, msgs.msg[i]);
            free(joined);
            joined = next;
        }
        fe_invalid_str(errs, path, name, joined);
    } else if (!strchr(name, '.')) {
        fe_invalid_str(errs, path, name,
                       "should be a domain with at least two segments separated by dots");
    } else {
        /* Every label of a valid subdomain matches the label pattern, so only the length of
         * one label can still be wrong; upstream reports the first such label alone. */
        for (char *label = name, *dot; label; label = dot ? dot + 1 : NULL) {
            dot = strchr(label, '.');
            if (dot)
                *dot = '\0';
            if (validate_is_dns1123_label(label, &msgs)) {
                joined = xstrdup(msgs.msg[0]);
                for (size_t i = 1; i < msgs.len; i++) {
                    char *next = xasprintf("%s,%s", joined, msgs.msg[i]);
                    free(joined);
                    joined = next;
                }
                fe_invalid_str(errs, path, label, joined);
                break;
            }
        }
    }
    free(joined);
    free(name);
}

static void slice_address(struct field_errors *errs, const char *path, const char *type,
                          const char *address)
{
    if (strcmp(type, "FQDN") == 0) {
        fqdn_field(errs, path, address);
        return;
    }
    bool v4 = strcmp(type, "IPv4") == 0;
    if (!v4 && strcmp(type, "IPv6") != 0)
        return; /* unknown types are reported on addressType; their addresses go unchecked */
    size_t before = errs->len;
    validate_ip_legacy_field(errs, path, address, false, NULL, 0);
    if (errs->len != before)
        return; /* an unparseable address is reported once, not again as a special IP */
    enum validate_ip_family fam = validate_ip_family(address);
    if (v4 && fam != VALIDATE_IPV4)
        fe_invalid_str(errs, path, address, "must be an IPv4 address");
    else if (!v4 && fam != VALIDATE_IPV6)
        fe_invalid_str(errs, path, address, "must be an IPv6 address");
    validate_non_special_ip_field(errs, path, address);
}

static void zone_hints(struct field_errors *errs, const char *path, const json_t *hints)
{
    const json_t *zones = ju_get(hints, "forZones");
    char *fz = fe_path_child(path, "forZones");
    size_t n = array_len(zones);
    if (n > MAX_ZONE_HINTS) {
        fe_too_many(errs, fz, (long long)n, MAX_ZONE_HINTS);
        free(fz);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        const char *name = ju_str(json_array_get(zones, i), "name");
        name = name ? name : "";
        char *idx = fe_path_index(fz, i);
        char *zp = fe_path_child(idx, "name");
        bool dup = false;
        for (size_t j = 0; j < i && !dup; j++) {
            const char *other = ju_str(json_array_get(zones, j), "name");
            dup = strcmp(name, other ? other : "") == 0;
        }
        if (dup)
            fe_duplicate_str(errs, zp, name);
        validate_label_value_field(errs, zp, name);
        free(zp);
        free(idx);
    }
    free(fz);
}

static void slice_endpoint(struct field_errors *errs, const char *idx, const json_t *ep,
                           const char *type)
{
    const json_t *addresses = ju_get(ep, "addresses");
    size_t n = array_len(addresses);
    char *ap = fe_path_child(idx, "addresses");
    if (n == 0)
        fe_required(errs, ap, "must contain at least 1 address");
    else if (n > MAX_ADDRESSES)
        fe_too_many(errs, ap, (long long)n, MAX_ADDRESSES);
    for (size_t j = 0; j < n; j++) {
        char *p = fe_path_index(ap, j);
        slice_address(errs, p, type, item_str(json_array_get(addresses, j)));
        free(p);
    }
    free(ap);

    char *p;
    const char *node = opt_str(ep, "nodeName");
    if (node) {
        p = fe_path_child(idx, "nodeName");
        name_msgs_field(errs, p, node, validate_name_is_dns_subdomain);
        free(p);
    }
    const json_t *topology = ju_get(ep, "deprecatedTopology");
    p = fe_path_child(idx, "deprecatedTopology");
    if (json_is_object(topology) && json_object_size(topology) > MAX_TOPOLOGY_LABELS)
        fe_too_many(errs, p, (long long)json_object_size(topology), MAX_TOPOLOGY_LABELS);
    validate_labels(errs, p, topology);
    if (json_is_object(topology) && json_object_get(topology, "topology.kubernetes.io/zone")) {
        /* v1 carries the zone in its own field; upstream flags the key as a conversion bug. */
        char *kp = fe_path_key(p, "topology.kubernetes.io/zone");
        fe_internal(errs, kp, "reserved key was not removed in conversion");
        free(kp);
    }
    free(p);
    const char *hostname = opt_str(ep, "hostname");
    if (hostname) {
        p = fe_path_child(idx, "hostname");
        validate_dns1123_label_field(errs, p, hostname);
        free(p);
    }
    const json_t *hints = ju_get(ep, "hints");
    if (json_is_object(hints)) {
        p = fe_path_child(idx, "hints");
        zone_hints(errs, p, hints);
        free(p);
    }
}

static void slice_endpoints(struct field_errors *errs, const json_t *endpoints, const char *type)
{
    size_t n = array_len(endpoints);
    if (n > MAX_ENDPOINTS) {
        fe_too_many(errs, "endpoints", (long long)n, MAX_ENDPOINTS);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        char *idx = fe_path_index("endpoints", i);
        slice_endpoint(errs, idx, json_array_get(endpoints, i), type);
        free(idx);
    }
}

struct named {
    const char *name;
    size_t index;
};

static int named_cmp(const void *a, const void *b)
{
    const struct named *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    if (c)
        return c;
    return x->index < y->index ? -1 : x->index > y->index;
}

/* dup[i] is set for every port whose name an earlier port already has (n log n for the 20000
 * ports a slice may hold). */
static bool *duplicate_names(const json_t *ports, size_t n)
{
    bool *dup = xcalloc(n ? n : 1, sizeof(*dup));
    struct named *sorted = xmalloc((n ? n : 1) * sizeof(*sorted));
    for (size_t i = 0; i < n; i++) {
        const char *name = ju_str(json_array_get(ports, i), "name");
        sorted[i].name = name ? name : "";
        sorted[i].index = i;
    }
    qsort(sorted, n, sizeof(*sorted), named_cmp);
    for (size_t i = 1; i < n; i++)
        if (strcmp(sorted[i].name, sorted[i - 1].name) == 0)
            dup[sorted[i].index] = true;
    free(sorted);
    return dup;
}

static void slice_ports(struct field_errors *errs, const json_t *ports)
{
    size_t n = array_len(ports);
    if (n > MAX_PORTS) {
        fe_too_many(errs, "ports", (long long)n, MAX_PORTS);
        return;
    }
    bool *dup = duplicate_names(ports, n);
    for (size_t i = 0; i < n; i++) {
        const json_t *port = json_array_get(ports, i);
        const char *name = ju_str(port, "name");
        name = name ? name : "";
        char *idx = fe_path_index("ports", i);
        char *p = fe_path_child(idx, "name");
        if (*name)
            validate_dns1123_label_field(errs, p, name);
        if (dup[i])
            fe_duplicate_str(errs, p, name);
        free(p);
        p = fe_path_child(idx, "protocol");
        validate_protocol_field(errs, p, ju_str(port, "protocol"));
        free(p);
        const char *app = opt_str(port, "appProtocol");
        if (app) {
            p = fe_path_child(idx, "appProtocol");
            validate_qualified_name_field(errs, p, app);
            free(p);
        }
        free(idx);
    }
    free(dup);
}

static void slice_common(struct field_errors *errs, const json_t *obj, const json_t *old)
{
    const char *type = ju_str(obj, "addressType");
    validate_object_meta(errs, "metadata", ju_get(obj, "metadata"), true,
                         validate_name_is_dns_subdomain);
    address_type(errs, type);
    slice_ports(errs, ju_get(obj, "ports"));
    const json_t *endpoints = ju_get(obj, "endpoints");
    if (old && lists_equal(endpoints, ju_get(old, "endpoints")))
        return;
    slice_endpoints(errs, endpoints, type ? type : "");
}

void validate_endpointslice(struct field_errors *errs, const json_t *obj)
{
    slice_common(errs, obj, NULL);
}

void validate_endpointslice_update(struct field_errors *errs, const json_t *obj, const json_t *old)
{
    slice_common(errs, obj, old);
    validate_immutable_string(errs, "addressType", ju_str(obj, "addressType"),
                              ju_str(old, "addressType"));
}
