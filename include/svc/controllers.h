/*
 * controllers: the controllers a cluster runs for these kinds, inside the server: a simulated
 * scheduler and kubelet for Pods on simulated Nodes, the ReplicaSet controller, the endpoints
 * and EndpointSlice controllers (and the mirroring of user Endpoints), load-balancer addresses
 * and garbage collection by ownerReferences.
 *
 * One thread consumes the store's event log like an informer, turns each event into work for
 * the controllers it concerns, and writes back through the registry, so controller writes get
 * the same defaulting, validation and watch events as a client's. Every reconcile compares the
 * wanted object with the stored one and writes only when they differ (no resourceVersion
 * churn). The reconcile functions that build objects are pure, so they are unit-tested apart.
 */
#ifndef SVC_CONTROLLERS_H
#define SVC_CONTROLLERS_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

typedef struct json_t json_t;
struct registry;

struct controllers_config {
    int nodes;                   /* --nodes: simulated Nodes (default 1) */
    const char *pod_cidr;        /* --pod-cidr (10.244.0.0/16): a /24 per node */
    double pod_ready_delay;      /* --pod-ready-delay seconds before pods turn Ready */
    const char *lb_ip_range;     /* --load-balancer-ip-range (CIDR or first-last), or NULL */
    int max_endpoints_per_slice; /* 100 */
};

struct controllers;

/* Start the controllers' thread over reg; NULL with msg on a bad setting. */
struct controllers *controllers_start(struct registry *reg, const struct controllers_config *cfg,
                                      char *msg, size_t msg_len);
/* Stop the thread and free everything. */
void controllers_stop(struct controllers *c);

/* ---- pure reconcilers (controllers/endpoints.c, endpointslice.c) ----------------------------- */

/*
 * The Endpoints the endpoints controller wants for svc given the pods of its namespace (any
 * order; non-matching ones are skipped) and the Endpoints stored now (or NULL). Trigger times
 * come from the objects (the Service's creation, pods' Ready transitions), never the clock, so
 * now is unused (kept for callers that pass it). A new object (without uid or resourceVersion),
 * or NULL when the controller leaves this Service alone (no selector, ExternalName).
 */
json_t *endpoints_desired(const json_t *svc, json_t *const *pods, size_t n_pods,
                          const json_t *existing, struct timespec now);

/*
 * The EndpointSlices wanted for svc: a new array of slice objects, placed as upstream's
 * reconcileByPortMapping places them: endpoints stay in the slice they are in, unchanged slices
 * come back exactly as stored, new endpoints fill the slices being rewritten (fullest first),
 * then the unchanged slice they fit best, then new slices (generateName "<svc>-"), which take
 * the name of an owned slice being deleted where there is one. Only slices owned by svc (same
 * uid) are reused. NULL when svc gets no slices. now is unused, as for endpoints_desired.
 */
json_t *endpointslices_desired(const json_t *svc, json_t *const *pods, size_t n_pods,
                               json_t *const *existing, size_t n_existing, int max_per_slice,
                               struct timespec now);

#endif
