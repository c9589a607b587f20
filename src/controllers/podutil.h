/*
 * podutil: what several controllers ask of Pods and Services (private to src/controllers/):
 * selector matching, readiness, the IP of a family, named-port resolution.
 */
#ifndef SVC_CONTROLLERS_PODUTIL_H
#define SVC_CONTROLLERS_PODUTIL_H

#include <stdbool.h>
#include <time.h>

typedef struct json_t json_t;

/* Every key=value of selector (a map) is among labels; an empty selector matches nothing. */
bool podutil_selector_matches(const json_t *selector, const json_t *labels);
/* The pod's Ready condition is True. */
bool podutil_is_ready(const json_t *pod);
/* metadata.deletionTimestamp is set. */
bool podutil_is_terminating(const json_t *obj);
/* phase Succeeded or Failed. */
bool podutil_is_terminal(const json_t *pod);
/* The pod IP of family ("IPv4"/"IPv6"), falling back to status.podIP when podIPs lacks it and
   the family matches; NULL when none. Borrowed. */
const char *podutil_ip_of_family(const json_t *pod, const char *family);
/* Resolve a Service port's targetPort for a pod: an integer as is; a name through the first
   container port (regular, then restartable init containers) with that name and protocol.
   0 when it does not resolve. */
int podutil_resolve_target_port(const json_t *pod, const json_t *service_port);
/* "IPv4" or "IPv6" for an address text, NULL when it is not one. */
const char *podutil_family_of(const char *ip);
/* The pod is in svc's namespace and svc's selector matches its labels. */
bool podutil_selected_by(const json_t *pod, const json_t *svc);
/* Upstream's ShouldPodBeInEndpoints: not terminal, has an address, and not terminating unless
   include_terminating. */
bool podutil_should_be_in_endpoints(const json_t *pod, bool include_terminating);
/* The lastTransitionTime of the pod's Ready condition (whatever its status) in *out: true, or
   false when there is no such condition or time. */
bool podutil_ready_since(const json_t *pod, struct timespec *out);
/* IsPodAvailable: Ready, and Ready for more than min_ready_seconds at now. When the pod is
   Ready but not yet available, *available_at (if given) is the moment it will be. */
bool podutil_is_available(const json_t *pod, long long min_ready_seconds, struct timespec now,
                          struct timespec *available_at);

/*
 * The endpoints.kubernetes.io/last-change-trigger-time of a sync (upstream TriggerTimeTracker):
 * the earliest of the times noted, or none. Caller-owned storage, nothing to release.
 */
struct podutil_trigger {
    bool set;
    struct timespec earliest;
};
/* Note a time; a NULL or malformed RFC 3339 text is ignored. */
void podutil_trigger_note(struct podutil_trigger *t, const char *rfc3339);
/* Note the Ready transition of a pod that changed since the stored object was written. */
void podutil_trigger_note_pod(struct podutil_trigger *t, const json_t *pod);
/* Write the trigger time into annotations (an object, borrowed), or remove the annotation when
   there is none, as upstream's addTriggerTimeAnnotation. */
void podutil_trigger_annotate(const struct podutil_trigger *t, json_t *annotations);

#define PODUTIL_TRIGGER_ANNOTATION "endpoints.kubernetes.io/last-change-trigger-time"

#endif
