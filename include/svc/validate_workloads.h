/*
 * validate_workloads: the rules the workload kinds share, as kube-apiserver 1.33 applies them to
 * Pods, the pod template of a ReplicaSet, ReplicaSets, Nodes and core/v1 Events: resource
 * quantities (apimachinery's resource.Quantity), the v1 defaulting of a PodSpec (used by the Pod
 * and ReplicaSet strategies alike), the QoS class of a pod, and validation with upstream's order,
 * field paths, messages and Go value renderings (pkg/apis/core/validation, pkg/apis/apps/
 * validation).
 *
 * Objects are decoded v1 JSON after v1 defaulting. Members of the wrong JSON type count as absent
 * (Go's zero value), so a decoder slip never crashes us; nothing recurses on request data, and
 * every list is checked in linear or O(n log n) time (duplicates through hashed sets), however
 * long a request makes it. Every validator appends to errs (never clears it) and takes only
 * borrowed references. Implemented in src/validate/: quantity.c, podspec_defaults.c (defaulting
 * and QoS), podspec.c (the PodSpec checks) and workloads.c (the kinds). Depends on validate
 * (names, labels, IPs, ObjectMeta), selector (a ReplicaSet's selector against its template),
 * field_error, util and jansson; knows nothing about the registry, the store or HTTP.
 */
#ifndef SVC_VALIDATE_WORKLOADS_H
#define SVC_VALIDATE_WORKLOADS_H

#include <stdbool.h>

typedef struct json_t json_t;
struct field_errors;

/* ---- resource quantities ------------------------------------------------------------------------
 * resource.ParseQuantity and Quantity.String(). Values are held to the nano unit, as upstream
 * rounds them; magnitudes past 2^63-1 units are capped (upstream caps binary ones only and keeps
 * arbitrary decimal ones: nobody asks for 10^19 CPUs). */
#define VALIDATE_QUANTITY_STRLEN 64

/* The three parse errors, word for word (ErrFormatWrong, ErrNumeric, ErrSuffix). */
extern const char validate_quantity_err_format[];

/*
 * Parse s and write its canonical text to out after rounding up to the milli unit, as
 * SetDefaults_ResourceList does before a pod is stored ("0.5" -> "500m", "1000" -> "1k",
 * "1.5Gi" -> "1536Mi", "1Mi" stays). 0 on success; -1 with *err (a static upstream message,
 * may be NULL) when s is not a quantity. out is left unchanged on failure.
 */
int validate_quantity_normalize(const char *s, char out[VALIDATE_QUANTITY_STRLEN],
                                const char **err);
/* Compare two quantities by value: <0, 0, >0. A string that does not parse counts as 0. */
int validate_quantity_cmp(const char *a, const char *b);
/* The sign of a quantity (-1, 0, 1); 0 for one that does not parse. */
int validate_quantity_sign(const char *s);

/*
 * The quantity strings of a pod that v1 decoding parses (container, init container and
 * ephemeral container requests and limits, overhead, pod-level resources): the first one that
 * does not parse, with *err set to the upstream message; NULL when all parse. spec is a PodSpec.
 * A member holding a JSON number is taken as its decimal text, as upstream accepts `cpu: 1`.
 */
const char *validate_pod_spec_bad_quantity(const json_t *spec, const char **err);
/* The same for a Node's status.capacity and status.allocatable. */
const char *validate_node_bad_quantity(const json_t *node, const char **err);

/* ---- v1 defaulting ------------------------------------------------------------------------------
 * SetObjectDefaults_Pod / the pod template part of SetObjectDefaults_ReplicaSet: restartPolicy,
 * dnsPolicy, securityContext, terminationGracePeriodSeconds, schedulerName; per container
 * imagePullPolicy, terminationMessagePath/Policy, port protocols, probe and lifecycle handler
 * defaults, env fieldRef apiVersion, quantities normalised; volume sources (emptyDir when none,
 * default modes, hostPath type, token expiration). pod is true for a Pod's own spec, which also
 * gets SetDefaults_Pod: requests copied from limits, enableServiceLinks, hostPorts under
 * hostNetwork. The v1 conversion rule serviceAccount = serviceAccountName is applied both ways.
 * spec is modified in place; a non-object is left alone.
 */
void validate_default_pod_spec(json_t *spec, bool pod);

/* ---- pods ------------------------------------------------------------------------------------ */

/*
 * The warning upstream gives for a pod, or a controller of pods, whose name is not a DNS label
 * although it becomes a hostname: "metadata.name: this is used in <what>, which can result in
 * surprising behavior; a DNS label is recommended: [<messages>]". what is "the Pod's hostname"
 * (Pods) or "Pod names and hostnames" (ReplicaSets). NULL when the name is a DNS label; the
 * caller frees the text.
 */
char *validate_name_dns_label_warning(const char *name, const char *what);

/* qos.GetPodQOS of a pod's spec: "Guaranteed", "Burstable" or "BestEffort" (static). */
const char *validate_pod_qos_class(const json_t *spec);

/* ValidatePodCreate: metadata (DNS-1123 subdomain names), pod annotations, the PodSpec,
   the pod-only container checks, then the create-only rules. */
void validate_pod(struct field_errors *errs, const json_t *pod);
/*
 * ValidatePodUpdate: core ObjectMeta update rules, validate_pod's metadata and spec checks, then
 * the update rules: containers may not be added or removed, activeDeadlineSeconds may only
 * shrink, tolerations may only be added, scheduling gates only removed, and nothing else in the
 * spec may change (`spec: Forbidden: pod updates may not change fields other than ...`). The
 * text after that sentence is a diff of the changed fields; upstream prints a cmp.Diff of its Go
 * structs, which we describe in JSON instead. pod and old should be in canonical form (absent
 * and empty values spelled alike), as the registry stores them.
 */
void validate_pod_update(struct field_errors *errs, const json_t *pod, const json_t *old);
/* ValidatePodStatusUpdate: ObjectMeta update rules, conditions, nodeName, nominatedNodeName,
   qosClass, container state transitions, podIPs and hostIPs. */
void validate_pod_status_update(struct field_errors *errs, const json_t *pod, const json_t *old);

/* ---- replicasets ----------------------------------------------------------------------------- */

/* ValidateReplicaSet: metadata, replicas, minReadySeconds, the selector (required, non-empty,
   valid), the template against the selector, the template as a PodTemplateSpec, and a
   template restartPolicy of Always without activeDeadlineSeconds. */
void validate_replicaset(struct field_errors *errs, const json_t *rs);
/* ValidateReplicaSetUpdate plus the strategy's immutable selector (apps/v1). */
void validate_replicaset_update(struct field_errors *errs, const json_t *rs, const json_t *old);
/* ValidateReplicaSetStatusUpdate: ObjectMeta update rules and the status counters. */
void validate_replicaset_status_update(struct field_errors *errs, const json_t *rs,
                                       const json_t *old);

/* ---- nodes ----------------------------------------------------------------------------------- */

/* ValidateNode: metadata (cluster-scoped, DNS-1123 subdomain), taints (reported under
   metadata.taints, as upstream does), capacity and allocatable, podCIDRs. */
void validate_node(struct field_errors *errs, const json_t *node);
/* ValidateNodeUpdate: ObjectMeta update rules, resources, duplicate addresses, podCIDRs and
   providerID immutable once set, taints, externalID. Used for spec and status updates alike. */
void validate_node_update(struct field_errors *errs, const json_t *node, const json_t *old);

/* ---- events (core/v1) ------------------------------------------------------------------------ */

/* ValidateEventCreate / ValidateEventUpdate for a core/v1 request: the legacy rules only
   (involvedObject.namespace against the event's namespace, the eventTime-dependent required
   fields, the namespace name). No ObjectMeta validation, as upstream. */
void validate_event(struct field_errors *errs, const json_t *ev);
void validate_event_update(struct field_errors *errs, const json_t *ev, const json_t *old);

#endif
