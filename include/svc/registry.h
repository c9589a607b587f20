/*
 * registry: what happens to an object between the decoded request and the store, for every
 * kind, after apiserver's generic registry (pkg/registry/generic/registry/store.go) and the
 * per-kind strategies of kubernetes/pkg/registry.
 *
 * The generic pipeline (registry/generic.c) runs create, update (PUT and every patch),
 * delete, get and list the same way for all kinds: system fields, namespace admission,
 * optimistic concurrency, canonicalisation and the store write, with retries when a concurrent
 * writer got there first. A kind's strategy (registry/<kind>.c) plugs its behaviour into the
 * hooks of struct reg_kind: defaulting, allocation (as a transaction that is committed or rolled
 * back with the write), validation, status handling, side effects of delete, field selectors.
 * REST handlers and the in-process controllers both write through these functions, so every
 * writer gets the same semantics. The registry never sees HTTP; failures come back as apierr.
 */
#ifndef SVC_REGISTRY_H
#define SVC_REGISTRY_H

#include "svc/field_error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct json_t json_t;
struct api;
struct api_resource;
struct apierr;
struct store;
struct store_obj;
struct registry;
struct selector_label;
struct selector_field;

/* Settings the strategies need (from the command line). */
struct registry_config {
    const char *service_cluster_ip_range; /* "10.96.0.0/12" or "v4cidr,v6cidr" */
    const char *service_node_port_range;  /* "30000-32767" */
    const char *advertise_address;        /* the kubernetes Endpoints address */
    int secure_port;                      /* the kubernetes Endpoints port (our port) */
};

/* One request to the registry: what the URL and query said. */
struct reg_req {
    const struct api_resource *res;
    const char *ns;          /* namespace from the URL; NULL for cluster scope or all namespaces */
    const char *name;        /* object name from the URL, or NULL */
    const char *subresource; /* "status", or NULL */
    bool dry_run;            /* dryRun=All: do everything but keep nothing */
    const char *field_manager;
    const char *user_agent;
    json_t *warnings; /* borrowed array: strategies append warning texts; may be NULL */
    bool system;      /* the server's own bookkeeping write: skips validation (the
                         kubernetes Endpoints may hold a loopback advertise address) */
    bool untracked;   /* no managedFields accounting: a server-side apply result (already
                         computed) or a write upstream makes below the field manager
                         (the scheduler's pods/binding) */
};

/* The outcome of a successful call. */
struct reg_result {
    struct store_obj *obj; /* the object to answer with (a reference), or NULL */
    json_t *answer;        /* an answer that is not a stored object (e.g. a success Status), or
                              NULL; owned */
    int code;              /* 200 or 201 */
    bool unchanged;        /* an update that changed nothing (no write happened) */
};
void reg_result_release(struct reg_result *res);

/* A create or update in progress, handed to a strategy's hooks. */
struct reg_write {
    struct registry *reg;
    const struct reg_req *req;
    json_t *obj;       /* the new object, owned by the pipeline, mutable by hooks */
    const json_t *old; /* the stored object (updates), borrowed; NULL on create */
    void *txn;         /* the strategy's allocation transaction, or NULL */
};

enum reg_name_rule {
    REG_NAME_DNS1123_SUBDOMAIN, /* most kinds */
    REG_NAME_DNS1123_LABEL,     /* namespaces */
    REG_NAME_DNS1035_LABEL,     /* services */
    REG_NAME_PATH_SEGMENT,      /* events and others that only need a safe path segment */
};

enum reg_kind_flags {
    REG_CREATE_ON_UPDATE = 1u << 0,       /* PUT of a missing object creates it */
    REG_RETURN_DELETED = 1u << 1,         /* DELETE answers with the object, not a Status */
    REG_HAS_GENERATION = 1u << 2,         /* metadata.generation kept (1, then +1 on spec change) */
    REG_STATUS_RESET_ON_CREATE = 1u << 3, /* PrepareForCreate wipes status */
    REG_UPDATE_KEEPS_STATUS = 1u << 4,    /* a main-resource update cannot change status */
    REG_OWN_DELETE = 1u << 5,             /* begin_delete handles finalizers itself (namespaces) */
};

/* A kind's strategy: every hook may be NULL. */
struct reg_kind {
    const char *group;    /* "" for core */
    const char *resource; /* plural */
    unsigned flags;
    enum reg_name_rule name_rule;
    /* v1 defaulting, applied to every decoded object (create, update, patch result). */
    void (*defaults)(json_t *obj);
    /* PrepareForCreate / PrepareForUpdate: wipe or carry fields the client may not set. */
    void (*prepare_create)(struct reg_write *w);
    void (*prepare_update)(struct reg_write *w);
    /* Allocation, before validation; may set w->txn. 0, or -1 with err filled in. */
    int (*begin_create)(struct reg_write *w, struct apierr *err);
    int (*begin_update)(struct reg_write *w, struct apierr *err);
    /* Validation: append to errs (the pipeline turns them into one 422). */
    void (*validate_create)(struct reg_write *w, struct field_errors *errs);
    void (*validate_update)(struct reg_write *w, struct field_errors *errs);
    /* Commit (true) or roll back (false) the allocation transaction in w->txn. */
    void (*finish)(struct reg_write *w, bool committed);
    /* Status subresource: PrepareForUpdate and ValidateUpdate of .../status. */
    void (*prepare_status_update)(struct reg_write *w);
    void (*validate_status_update)(struct reg_write *w, struct field_errors *errs);
    /* Graceful deletion: a kind that does not delete at once (a namespace turns Terminating)
       handles the DELETE here and returns 0 with res filled, or -1 with err; it returns 1 to
       let the pipeline delete the object now. cur is the stored object. */
    int (*begin_delete)(struct registry *reg, const struct reg_req *req,
                        const struct store_obj *cur, const json_t *options, struct reg_result *res,
                        struct apierr *err);
    /* After a committed delete (not dry-run): release resources, delete dependents. */
    void (*after_delete)(struct registry *reg, const json_t *deleted);
    /* Field selectors: the fields the kind supports besides metadata.name and
       metadata.namespace (NULL-terminated; NULL when only those two, which then get
       apimachinery's default message), and the value of one of them for obj (NULL when absent).
       Returned strings are borrowed from obj or static; buf (64 bytes) may be used. */
    const char *const *selectable_fields;
    const char *(*field_value)(const json_t *obj, const char *field, char *buf);
};

struct registry *registry_new(struct store *store, const struct api *api,
                              const struct registry_config *cfg, struct apierr *err);
void registry_free(struct registry *reg);
/* Append the registry's Prometheus metrics (the allocator gauges) to out. */
struct strbuf;
void registry_metrics(struct registry *reg, struct strbuf *out);

/* The server's port, once bound (the kubernetes Service's targetPort and Endpoints port). */
void registry_set_port(struct registry *reg, int port);
struct store *registry_store(struct registry *reg);
const struct api *registry_api(struct registry *reg);
const struct registry_config *registry_config(struct registry *reg);
/* The strategy of a resource (a generic one when the kind has none). */
const struct reg_kind *registry_kind(const struct api_resource *res);

/* Store key of an object ("services/default/web"), caller frees; and the list prefix of a
   resource in a namespace (or all namespaces when ns is NULL). */
char *registry_key(const struct api_resource *res, const char *ns, const char *name);
char *registry_prefix(const struct api_resource *res, const char *ns);

/* Create the objects every cluster has at start (namespaces, the kubernetes Service, ...). */
int registry_bootstrap(struct registry *reg, struct apierr *err);

/* ---- the verbs --------------------------------------------------------------------------------
 * Each returns 0 with *res filled, or -1 with *err filled. */

int registry_get(struct registry *reg, const struct reg_req *req, struct reg_result *res,
                 struct apierr *err);

/* obj is stolen. */
int registry_create(struct registry *reg, const struct reg_req *req, json_t *obj,
                    struct reg_result *res, struct apierr *err);

/*
 * An update computes the new object from the current one: PUT returns its body, a PATCH applies
 * the patch. cur is NULL when the object does not exist (the callback may then return a new
 * object to create it, as PUT and server-side apply do, or fail with NotFound). The callback
 * returns 0 with *out set (a new reference), or -1 with err filled. It may run more than once
 * when another writer changes the object meanwhile.
 */
typedef int (*reg_update_fn)(void *ctx, const json_t *cur, json_t **out, struct apierr *err);
int registry_update(struct registry *reg, const struct reg_req *req, reg_update_fn fn, void *ctx,
                    struct reg_result *res, struct apierr *err);

/* options: the DeleteOptions body (borrowed; may be NULL). */
int registry_delete(struct registry *reg, const struct reg_req *req, const json_t *options,
                    struct reg_result *res, struct apierr *err);

struct reg_list_opts {
    const char *label_selector; /* the raw query values, or NULL */
    const char *field_selector;
    size_t limit;
    const char *continue_token;
    const char *resource_version;
    const char *resource_version_match;
    bool send_initial_events; /* sendInitialEvents was given: forbidden on a plain list */
};

struct reg_list {
    struct store_obj **items; /* references */
    size_t n;
    uint64_t rv;
    char *continue_token; /* owned, or NULL */
    long long remaining;  /* metadata.remainingItemCount, or -1 */
};
void reg_list_release(struct reg_list *list);

int registry_list(struct registry *reg, const struct reg_req *req, const struct reg_list_opts *opts,
                  struct reg_list *out, struct apierr *err);

/* A compiled label + field selector for a resource, as LIST and WATCH apply them. */
struct reg_filter;
/* NULL with a 400 in err for a bad selector (NULL values: no selector). */
struct reg_filter *reg_filter_new(const struct api_resource *res, const char *label_selector,
                                  const char *field_selector, struct apierr *err);
void reg_filter_free(struct reg_filter *f);
/* True when the filter has no selector at all. */
bool reg_filter_empty(const struct reg_filter *f);
bool reg_filter_match(const struct reg_filter *f, const struct store_obj *obj);

/* deletecollection: deletes each listed object through registry_delete; the answer is the
   list of deleted objects. */
int registry_delete_collection(struct registry *reg, const struct reg_req *req,
                               const struct reg_list_opts *opts, const json_t *options,
                               struct reg_list *out, struct apierr *err);

/* Canonicalise obj for its kind (key order, omit rules); a new reference, or NULL. */
/*
 * The field-ownership context of a request (managedfields.h). now_buf receives the request
 * time (at least UTIL_RFC3339_LEN bytes) and must outlive *mc, like req.
 */
struct mf_context;
void registry_mf_context(const struct registry *reg, const struct reg_req *req, char *now_buf,
                         struct mf_context *mc);

json_t *registry_canonicalize(struct registry *reg, const struct api_resource *res,
                              const json_t *obj, char **type_error);

#endif
