/*
 * validate: the generic validators of kube-apiserver 1.33 with their exact messages, for the
 * registry strategies to build kind validation on (Service, Endpoints, EndpointSlice, ...).
 *
 * Three layers, each reusable on its own:
 *  - message lists (validate_is_*): apimachinery's pkg/util/validation functions. They return
 *    the upstream list of problem descriptions for one value, as static strings;
 *  - field checks (validate_*_field and friends): the pkg/apis/core/validation helpers that turn
 *    those lists into field errors at a path ("Invalid value: \"x\": <msg>" per message);
 *  - object checks on jansson trees: ObjectMeta on create and update (meta.c), Endpoints and
 *    EndpointSlices (endpoints.c). They take the object as decoded JSON, tolerate wrong types
 *    without crashing (a value of the wrong type counts as absent), and append to a caller-owned
 *    struct field_errors in upstream's order.
 *
 * Every function appends to errs and never clears it, so callers compose them as upstream
 * composes ErrorLists. Paths are strings like "metadata", "spec.ports[0]" (see fe_path_*).
 * Depends on field_error, util (allocation, jansson shortcuts) and jansson.
 */
#ifndef SVC_VALIDATE_H
#define SVC_VALIDATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct json_t json_t;
struct field_errors;

/* ---- message lists ---------------------------------------------------------------------------
 * The messages of one failed check, in upstream order. Each message is a static string: callers
 * never free them. Every upstream check yields at most five. */
#define VALIDATE_MAX_MSGS 8

struct validate_msgs {
    const char *msg[VALIDATE_MAX_MSGS];
    size_t len;
};

/* Each returns the number of messages written to out (0: valid); out is overwritten. */
size_t validate_is_dns1123_label(const char *value, struct validate_msgs *out);
size_t validate_is_dns1123_subdomain(const char *value, struct validate_msgs *out);
size_t validate_is_dns1035_label(const char *value, struct validate_msgs *out);
/* "[prefix/]name": label keys, annotation keys (lowercased first), finalizers, appProtocol. */
size_t validate_is_qualified_name(const char *value, struct validate_msgs *out);
size_t validate_is_label_value(const char *value, struct validate_msgs *out);
/* IANA service names (a string targetPort): every failed rule is its own message. */
size_t validate_is_port_name(const char *value, struct validate_msgs *out);
/* 1..65535: "must be between 1 and 65535, inclusive". */
size_t validate_is_port_num(long long port, struct validate_msgs *out);
/* Names safe as one URL path segment ("." / ".." / '/' / '%'): path.IsValidPathSegmentName. */
size_t validate_is_path_segment_name(const char *value, struct validate_msgs *out);

/*
 * A kind's rule for metadata.name (apimachinery's ValidateNameFunc). prefix is true for
 * metadata.generateName: a trailing '-' is then tolerated, through upstream's maskTrailingDash,
 * which replaces the last TWO characters by "a" ("ab_-" passes as "aba"). That quirk is kept.
 */
typedef size_t (*validate_name_fn)(const char *name, bool prefix, struct validate_msgs *out);
size_t validate_name_is_dns_subdomain(const char *name, bool prefix, struct validate_msgs *out);
size_t validate_name_is_dns_label(const char *name, bool prefix, struct validate_msgs *out);
size_t validate_name_is_dns1035_label(const char *name, bool prefix, struct validate_msgs *out);
/* path.ValidatePathSegmentName: the name check the generic REST layer adds for every kind. */
size_t validate_name_path_segment(const char *name, bool prefix, struct validate_msgs *out);

/* One "Invalid value: <quoted value>: <msg>" error at path per message of msgs. */
void validate_add_msgs(struct field_errors *errs, const char *path, const char *value,
                       const struct validate_msgs *msgs);

/* ---- field checks ------------------------------------------------------------------------------
 * Invalid errors at path, quoting value, for each message of the named check (the core helpers
 * ValidateDNS1123Label, ValidateDNS1123Subdomain, ValidateQualifiedName, ...). value may be NULL
 * (checked as ""). */
void validate_dns1123_label_field(struct field_errors *errs, const char *path, const char *value);
void validate_dns1123_subdomain_field(struct field_errors *errs, const char *path,
                                      const char *value);
void validate_dns1035_label_field(struct field_errors *errs, const char *path, const char *value);
void validate_qualified_name_field(struct field_errors *errs, const char *path, const char *value);
void validate_label_value_field(struct field_errors *errs, const char *path, const char *value);
void validate_port_name_field(struct field_errors *errs, const char *path, const char *value);
/* "Invalid value: 0: must be between 1 and 65535, inclusive" (the number unquoted). */
void validate_port_num_field(struct field_errors *errs, const char *path, long long port);
/* value < 0: "Invalid value: -1: must be greater than or equal to 0". */
void validate_nonnegative_field(struct field_errors *errs, const char *path, long long value);
/* ValidateImmutableField for strings (NULL counts as ""): "Invalid value: \"new\": field is
 * immutable" when they differ. */
void validate_immutable_string(struct field_errors *errs, const char *path, const char *new_value,
                               const char *old_value);
/*
 * A port protocol, as core validation checks Service, Endpoints and EndpointSlice ports:
 * NULL or "" -> "Required value"; else one of TCP, UDP, SCTP, or
 * `Unsupported value: "HTTP": supported values: "SCTP", "TCP", "UDP"`.
 */
void validate_protocol_field(struct field_errors *errs, const char *path, const char *protocol);

/* ---- IP addresses and CIDRs --------------------------------------------------------------------
 * Parsing follows k8s.io/utils/net: ParseIPSloppy (Go 1.16's net.ParseIP: IPv4 parts may have
 * leading zeros, read as decimal; IPv6 hex groups of any length whose value fits 16 bits; no
 * zones) and ParseCIDRSloppy. "Strict" means Go's net/netip grammar on top (no leading zeros,
 * at most four hex digits a group), which is what the StrictIPCIDRValidation gate checks. */
#define VALIDATE_IP_STRLEN   46 /* text of any address, NUL included */
#define VALIDATE_CIDR_STRLEN 50 /* text of any prefix, NUL included */

/* An address as Go's net.IP holds a parsed one: 16 bytes, IPv4 as ::ffff:a.b.c.d. */
struct validate_ip {
    uint8_t b[16];
};

/* A prefix as ParseCIDRSloppy returns it: the address as written, the network (address masked),
 * the prefix length, and the address length the mask was made for (4 or 16 bytes). */
struct validate_cidr {
    struct validate_ip ip;
    struct validate_ip net;
    unsigned bits;
    unsigned len;
};

enum validate_ip_family {
    VALIDATE_IP_INVALID = 0,
    VALIDATE_IPV4 = 4,
    VALIDATE_IPV6 = 6,
};

/* 0 on success; -1 when s is not an address (out is then zeroed). strict adds netip's rules. */
int validate_ip_parse(const char *s, bool strict, struct validate_ip *out);
int validate_cidr_parse(const char *s, bool strict, struct validate_cidr *out);
/*
 * The family of an address string as netutils.IsIPv4String / IsIPv6String see it: an
 * IPv4-mapped IPv6 address ("::ffff:1.2.3.4") is IPv4, as net.IP.To4 makes it.
 */
enum validate_ip_family validate_ip_family(const char *s);
enum validate_ip_family validate_ip_family_of(const struct validate_ip *ip);
/* "IPv4" / "IPv6" (core.IPFamily values); "" for VALIDATE_IP_INVALID. Static string. */
const char *validate_ip_family_name(enum validate_ip_family family);
/* Go's net.IP.String() and net.IPNet.String(); write into out and return it. */
char *validate_ip_format(const struct validate_ip *ip, char out[VALIDATE_IP_STRLEN]);
char *validate_cidr_format(const struct validate_cidr *cidr, char out[VALIDATE_CIDR_STRLEN]);

/*
 * IsValidIPForLegacyField as 1.33 runs it (StrictIPCIDRValidation is alpha and off), for the
 * fields that predate strict validation (clusterIPs, externalIPs, Endpoints addresses, ...):
 * `must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)` when ParseIPSloppy fails.
 * strict turns the gate on (adds "must not have leading 0s", "must not be an IPv4-mapped IPv6
 * address"). A value equal to one of old_ips[0..n_old) is accepted unchecked, as upstream does
 * on update for values already stored.
 */
void validate_ip_legacy_field(struct field_errors *errs, const char *path, const char *value,
                              bool strict, const char *const *old_ips, size_t n_old);
/* IsValidIP: strict parsing and canonical form (`must be in canonical form ("1:2::")`). */
void validate_ip_strict_field(struct field_errors *errs, const char *path, const char *value);
/* IsValidCIDRForLegacyField / IsValidCIDR, the same way for prefixes. */
void validate_cidr_legacy_field(struct field_errors *errs, const char *path, const char *value,
                                bool strict, const char *const *old_cidrs, size_t n_old);
void validate_cidr_strict_field(struct field_errors *errs, const char *path, const char *value);
/*
 * ValidateNonSpecialIP (externalIPs, Endpoints and EndpointSlice addresses): "must be a valid IP
 * address" when unparseable, else one error for each of: unspecified, loopback, link-local
 * unicast, link-local multicast.
 */
void validate_non_special_ip_field(struct field_errors *errs, const char *path, const char *value);
/*
 * GetWarningsForIP / GetWarningsForCIDR: the warning texts for values that pass the legacy check
 * but are not in standard form ("<path>: non-standard IP address ..."). Returns the number of
 * warnings; each of out[0..n) is a new string the caller frees. At most 2 warnings.
 */
size_t validate_ip_warnings(const char *path, const char *value, char *out[2]);
size_t validate_cidr_warnings(const char *path, const char *value, char *out[2]);

/* ---- ObjectMeta (meta.c) -----------------------------------------------------------------------
 * meta is the object's "metadata" object (NULL or a non-object counts as empty); path is where it
 * sits ("metadata"). Upstream runs metadata checks in three places, and the registry must call
 * them in the same places for the same causes and order:
 *  - create: the kind's strategy calls validate_object_meta(kind's name rule) first, then its
 *    spec checks; only when all of that passed, the REST layer runs validate_meta(...,
 *    validate_name_path_segment) and reports its errors alone;
 *  - update: the REST layer's validate_meta(..., validate_name_path_segment) and
 *    validate_meta_update come first, then the strategy's validate_object_meta_update and
 *    validate_object_meta and its spec checks, all in one list. So one bad label is listed more
 *    than once in the causes (the message de-duplicates), exactly as upstream does.
 * Before update validation the caller must apply BeforeUpdate's copies (generation, uid when
 * empty, creationTimestamp, deletionTimestamp, deletionGracePeriodSeconds when absent) and, for
 * an unconditional update, set resourceVersion to the stored one, as the generic store does.
 */
/* apimachinery ValidateObjectMetaAccessor. */
void validate_meta(struct field_errors *errs, const char *path, const json_t *meta, bool namespaced,
                   validate_name_fn name_fn);
/* apimachinery ValidateObjectMetaAccessorUpdate. */
void validate_meta_update(struct field_errors *errs, const char *path, const json_t *new_meta,
                          const json_t *old_meta);
/* core ValidateObjectMeta: validate_meta plus the standard-finalizer-name rule. */
void validate_object_meta(struct field_errors *errs, const char *path, const json_t *meta,
                          bool namespaced, validate_name_fn name_fn);
/* core ValidateObjectMetaUpdate: validate_meta_update plus the standard-finalizer-name rule. */
void validate_object_meta_update(struct field_errors *errs, const char *path,
                                 const json_t *new_meta, const json_t *old_meta);

/* apimachinery ValidateFieldManager: at most 128 bytes, printable characters only. m may be
   NULL (no manager given). */
void validate_field_manager(struct field_errors *errs, const char *path, const char *m);

/* The parts, for kinds that use them elsewhere (a Service's spec.selector is a label map). */
void validate_labels(struct field_errors *errs, const char *path, const json_t *labels);
void validate_annotations(struct field_errors *errs, const char *path, const json_t *annotations);
void validate_owner_references(struct field_errors *errs, const char *path, const json_t *refs);
/* apimachinery ValidateFinalizers (qualified names at path, orphan + foregroundDeletion). */
void validate_finalizers(struct field_errors *errs, const char *path, const json_t *finalizers);
/* core validateKubeFinalizerName: a name without '/' must be kubernetes, orphan or
 * foregroundDeletion. */
void validate_kube_finalizer_name(struct field_errors *errs, const char *path, const char *name);
/* "Forbidden: no new finalizers can be added if the object is being deleted, found new
 * finalizers []string{...}" when new_finalizers has names old_finalizers lacks. */
void validate_no_new_finalizers(struct field_errors *errs, const char *path,
                                const json_t *new_finalizers, const json_t *old_finalizers);
void validate_managed_fields(struct field_errors *errs, const char *path, const json_t *fields);

/* ---- Endpoints and EndpointSlices (endpoints.c) ------------------------------------------------
 * obj is the whole object as decoded JSON (metadata, subsets / addressType, endpoints, ports).
 * Paths are upstream's: "subsets[0].addresses[1].ip", "endpoints[0].addresses[0]", "ports[2]". */
/* core ValidateEndpointsCreate. */
void validate_endpoints(struct field_errors *errs, const json_t *obj);
/* core ValidateEndpointsUpdate. Problems in subsets identical to the stored ones are not
 * reported (1.33 lets objects stored under older rules be updated elsewhere). */
void validate_endpoints_update(struct field_errors *errs, const json_t *obj, const json_t *old);
/* discovery ValidateEndpointSliceCreate (discovery.k8s.io/v1). */
void validate_endpointslice(struct field_errors *errs, const json_t *obj);
/* discovery ValidateEndpointSliceUpdate: endpoints identical to the stored ones are not
 * re-validated, and addressType is immutable. */
void validate_endpointslice_update(struct field_errors *errs, const json_t *obj, const json_t *old);

#endif
