/*
 * validate_service: validation of core/v1 Services as kube-apiserver 1.33 runs it
 * (pkg/apis/core/validation: ValidateService, ValidateServiceUpdate, ValidateServiceStatusUpdate,
 * ValidateServiceClusterIPsRelatedFields and their helpers), with upstream's order, field paths,
 * messages and Go value renderings.
 *
 * The Service is the decoded v1 JSON after v1 defaulting and the registry's initialisation
 * (normalised clusterIPs, IP families, allocated addresses and ports): validation judges what is
 * about to be stored, exactly as upstream's strategy does after allocation. Members of the wrong
 * JSON type count as absent (Go's zero value, or a nil pointer for optional fields), so a decoder
 * slip never crashes us; lists of any length are checked in O(n log n).
 *
 * Every function appends to errs (never clears it) and takes only borrowed references.
 * Depends on validate (names, labels, IPs, CIDRs, ObjectMeta), field_error, util and jansson;
 * knows nothing about allocation, the registry or HTTP.
 */
#ifndef SVC_VALIDATE_SERVICE_H
#define SVC_VALIDATE_SERVICE_H

typedef struct json_t json_t;
struct field_errors;

/*
 * ValidateService (what create runs): metadata with the DNS-1035 name rule, the topology
 * annotations, ports, the type-specific rules, selector, session affinity, the clusterIP and
 * IP-family rules, externalIPs, type, nodePorts, duplicate ports, load-balancer source ranges,
 * allocateLoadBalancerNodePorts, loadBalancerClass, traffic policies and trafficDistribution.
 * svc is the whole object (metadata, spec, status); NULL or a non-object counts as empty.
 */
void validate_service(struct field_errors *errs, const json_t *svc);

/*
 * ValidateServiceUpdate: core ObjectMeta update rules, clusterIPs and ipFamilies immutability
 * (upgrade and downgrade rules), loadBalancerClass immutability, healthCheckNodePort
 * immutability, then validate_service of svc. Like upstream, a bad loadBalancerClass is reported
 * twice in the list (once by the update rule's format check, once by ValidateService).
 * The caller runs the generic metadata checks (validate_meta, validate_meta_update) before.
 */
void validate_service_update(struct field_errors *errs, const json_t *svc, const json_t *old);

/* ValidateServiceStatusUpdate: core ObjectMeta update rules and status.loadBalancer. */
void validate_service_status_update(struct field_errors *errs, const json_t *svc,
                                    const json_t *old);

/*
 * ValidateServiceClusterIPsRelatedFields: the consistency of clusterIP, clusterIPs, ipFamilies
 * and ipFamilyPolicy (nothing for ExternalName). Allocation runs it on its own, before anything
 * is allocated and after ipFamilyPolicy was inferred, and answers a 422 with exactly these
 * errors when there are any; validate_service runs it again in its place. old is the stored
 * Service on update (its clusterIPs are accepted as valid addresses unchecked, as 1.33's legacy
 * IP validation does for stored values), NULL on create.
 */
void validate_service_cluster_ip_fields(struct field_errors *errs, const json_t *svc,
                                        const json_t *old);

#endif
