/*
 * ctl: what the controllers' files share (private to src/controllers/): the controller
 * manager's state, its work queue, its timers, and shortcuts to read and write through the
 * registry as a controller.
 */
#ifndef SVC_CONTROLLERS_CTL_H
#define SVC_CONTROLLERS_CTL_H

#include "svc/controllers.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

struct registry;
struct store;
struct store_obj;
struct store_event;
struct api_resource;
struct skiplist;
struct apierr;

/* Kinds of work; a queued item is "<kind letter>|<namespace>/<name>" (or a uid for GC). */
enum ctl_work {
    WORK_SERVICE = 's',  /* endpoints, slices and load balancer of a Service */
    WORK_RS = 'r',       /* a ReplicaSet */
    WORK_POD = 'p',      /* the scheduler and kubelet for a Pod */
    WORK_MIRROR = 'm',   /* EndpointSlices mirroring a selectorless Service's Endpoints */
    WORK_GC = 'g',       /* dependents of a deleted owner: "<ns>|<uid>" */
    WORK_FINALIZE = 'f', /* an owner being deleted with orphan/foreground finalizers: key */
};

struct ctl_timer {
    uint64_t due_us;
    char *item; /* the work item to queue when due */
};

struct node_sim {
    char *name;
    char *internal_ip;
    uint32_t pod_net;  /* the node's /24 pod network (host order) */
    bool used_ip[256]; /* host part of pod IPs in use (.0, .1, .255 never handed out) */
};

struct controllers {
    struct registry *reg;
    struct store *store;
    const struct api *api;
    struct controllers_config cfg; /* strings owned */
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool stop;
    uint64_t latest_rv;           /* newest revision the store announced (under lock) */
    uint64_t cursor;              /* newest revision the thread has handled */
    struct skiplist *queue;       /* item -> (void*)1 */
    struct skiplist *owner_index; /* "<owner uid> <store key>" -> (void*)1 (gc.c), owned */
    struct ctl_timer *timers;
    size_t n_timers;
    /* The resources the controllers touch. */
    const struct api_resource *res_service, *res_endpoints, *res_slices, *res_pods, *res_rs,
        *res_nodes, *res_events, *res_namespaces, *res_leases;
    /* The simulated nodes and their pod networks. */
    struct node_sim *nodes;
    int n_nodes;
    struct skiplist *pod_clocks; /* pod uid -> struct pod_clock (kubelet.c), owned */
    unsigned next_node;
    /* Load-balancer addresses: [lb_first, lb_last] as IPv4 numbers; used ones marked. */
    bool lb_enabled;
    uint32_t lb_first, lb_last;
    unsigned char *lb_used;
    /* Events recorded so far, for aggregation (events.c); owned. */
    struct event_seen *events_seen;
    size_t n_events_seen, next_event_slot;
};

/* Queue a work item (deduplicated). Controller thread only. */
void ctl_enqueue(struct controllers *c, enum ctl_work kind, const char *ns, const char *name);
/* Queue item after delay seconds. */
void ctl_enqueue_after(struct controllers *c, enum ctl_work kind, const char *ns, const char *name,
                       double delay);

/* Reads (references the caller releases). */
struct store_obj *ctl_get(struct controllers *c, const struct api_resource *res, const char *ns,
                          const char *name);
/* Every object of res in ns (all namespaces when ns is NULL): a reference array, *n set. */
struct store_obj **ctl_list(struct controllers *c, const struct api_resource *res, const char *ns,
                            size_t *n);
void ctl_list_free(struct store_obj **items, size_t n);

/* Writes through the registry, as the component named by manager ("endpoint-controller",
   "kubelet", "default-scheduler"; managedFields name the binary it runs in, as upstream).
   obj is stolen. 0, or -1 (the error is logged at -v). */
int ctl_create(struct controllers *c, const struct api_resource *res, json_t *obj,
               const char *manager, struct store_obj **out);
int ctl_update(struct controllers *c, const struct api_resource *res, json_t *obj,
               const char *subresource, const char *manager, bool system);
/* Finalizers: whether obj has one; add or remove one by an update of the main resource (no
   write when there is nothing to do). 0, or -1 as ctl_update. */
bool ctl_has_finalizer(const json_t *obj, const char *finalizer);
int ctl_add_finalizer(struct controllers *c, const struct api_resource *res, const json_t *obj,
                      const char *finalizer, const char *manager);
int ctl_remove_finalizer(struct controllers *c, const struct api_resource *res, const json_t *obj,
                         const char *finalizer, const char *manager);
int ctl_delete(struct controllers *c, const struct api_resource *res, const char *ns,
               const char *name, const char *propagation, long long grace);
/* Forget the event cache (at shutdown). */
void ctl_events_free(struct controllers *c);
/* Record a core/v1 Event about obj (Normal or Warning), as the component would. */
void ctl_event(struct controllers *c, const json_t *obj, const char *type, const char *reason,
               const char *component, const char *fmt, ...) __attribute__((format(printf, 6, 7)));
/* The same from a component on a host (the kubelet on a node), about a part of obj
   (involvedObject.fieldPath such as "spec.containers{web}"; NULL for the whole object). */
void ctl_event_on(struct controllers *c, const json_t *obj, const char *field_path,
                  const char *type, const char *reason, const char *component, const char *host,
                  const char *fmt, ...) __attribute__((format(printf, 8, 9)));

/* The controllers (one file each). */
void kubelet_start(struct controllers *c); /* nodes at start-up */
/* --pod-cidr: an IPv4 network of /8 to /24 (each node gets a /24). 0, or -1. */
int kubelet_parse_pod_cidr(const char *cidr, uint32_t *base, int *prefix);
void kubelet_sync_pod(struct controllers *c, const char *ns, const char *name);
void kubelet_forget_pod(struct controllers *c, const json_t *pod);
void kubelet_free_clocks(struct controllers *c);
void rs_sync(struct controllers *c, const char *ns, const char *name);
void service_sync(struct controllers *c, const char *ns, const char *name);
void mirror_sync(struct controllers *c, const char *ns, const char *name);
void gc_owner_gone(struct controllers *c, const char *ns, const char *uid);
/* The owner index (gc.c): follow one store event; rebuild from the whole store. */
void gc_index_event(struct controllers *c, const struct store_event *ev);
void gc_index_rebuild(struct controllers *c);
void gc_finalize(struct controllers *c, const char *key);
int lb_parse_range(struct controllers *c, const char *range, char *msg, size_t msg_len);

#endif
