/*
 * podutil: what several controllers ask of Pods and Services (private to src/controllers/):
 * selector matching, readiness, the IP of a family, named-port resolution.
 */
#ifndef SVC_CONTROLLERS_PODUTIL_H
#define SVC_CONTROLLERS_PODUTIL_H

#include <stdbool.h>

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

#endif
