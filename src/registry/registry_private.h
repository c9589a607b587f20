/*
 * registry_private: what the files of src/registry/ share and nobody else sees: the registry
 * structure, the kind strategies' tables, and the metadata helpers of meta.c.
 */
#ifndef SVC_REGISTRY_PRIVATE_H
#define SVC_REGISTRY_PRIVATE_H

#include "svc/registry.h"

#include <pthread.h>
#include <time.h>

struct service_state; /* service.c: the ClusterIP and nodePort allocators */

struct registry {
    struct store *store;            /* borrowed */
    const struct api *api;          /* borrowed */
    struct registry_config cfg;     /* strings owned (copied) */
    struct service_state *services; /* owned by service.c */
};

/* The strategies (one file each). */
extern const struct reg_kind reg_kind_service;
extern const struct reg_kind reg_kind_endpoints;
extern const struct reg_kind reg_kind_namespace;
extern const struct reg_kind reg_kind_pod;
extern const struct reg_kind reg_kind_replicaset;
extern const struct reg_kind reg_kind_lease;
extern const struct reg_kind reg_kind_node;
extern const struct reg_kind reg_kind_event;
extern const struct reg_kind reg_kind_endpointslice;

/* service.c: allocator state, built from the configuration and the stored Services. */
struct service_state *service_state_new(const struct registry_config *cfg, struct apierr *err);
void service_state_free(struct service_state *st);
/* The first address of the primary service range (the kubernetes Service's), borrowed. */
const char *service_first_ip(const struct service_state *st);
/* Mark what the stored Services hold (start-up); inconsistencies are described in report. */
struct strbuf;
void service_state_restore(struct registry *reg, struct strbuf *report);
/* The allocator gauges in Prometheus text format. */
void service_state_metrics(struct service_state *st, struct strbuf *out);

/* ---- meta.c: ObjectMeta handling shared by every kind ---------------------------------------- */

/* BeforeCreate's system fields: wipe what clients may not set, then uid and creationTimestamp. */
void meta_prepare_create(json_t *obj, const char *ns, struct timespec now);
/* BeforeUpdate: carry uid, creationTimestamp, generation and deletion fields from old. */
void meta_prepare_update(json_t *obj, const json_t *old);
/* A name from generateName: base (cut to 58 bytes) + 5 random characters. Caller frees. */
char *meta_generate_name(const char *base);
/* metadata.resourceVersion of obj parsed as a number; 0 when absent; -1 when unparsable. */
long long meta_resource_version(const json_t *obj);
/* Ensure obj has a metadata object and return it (borrowed). */
json_t *meta_of(json_t *obj);
/* Set kind and apiVersion of obj to those of res, first in key order. */
void meta_set_type(json_t *obj, const struct api_resource *res);

/* The namespace admission of create and update: 404 when missing, 403 when terminating (create
   only). */
int registry_admit_namespace(struct registry *reg, const struct reg_req *req, const char *name,
                             bool creating, struct apierr *err);

#endif
