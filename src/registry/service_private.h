/*
 * service_private: the parts of the Service strategy that service.c (hooks, defaulting,
 * warnings) and service_alloc.c (IP families, ClusterIPs, nodePorts) share.
 */
#ifndef SVC_SERVICE_PRIVATE_H
#define SVC_SERVICE_PRIVATE_H

#include "registry_private.h"

#include "svc/cidr.h"

#include <stdbool.h>

struct ipalloc;
struct portalloc;
struct strbuf;

struct service_state {
    struct cidr_service_ranges ranges;
    struct ipalloc *ip[2];      /* [0]: the primary family's, [1]: the secondary's or NULL */
    enum cidr_family family[2]; /* their families */
    struct portalloc *ports;
    char first_ip[CIDR_IP_STRLEN];
};

/* An allocation transaction: what a write reserved (given back on failure) and what it frees
   once the write is stored. */
struct svc_txn;

/* BeginCreate: normalise clusterIPs, IP families, allocate ClusterIPs, nodePorts and the
   health-check port. 0 with *txn (possibly NULL), or -1 with err. */
int svc_alloc_create(struct service_state *st, json_t *svc, bool dry_run, struct svc_txn **txn,
                     struct apierr *err);
/* BeginUpdate: patchAllocatedValues, normalise, families, allocate and plan releases. */
int svc_alloc_update(struct service_state *st, json_t *svc, const json_t *old, bool dry_run,
                     struct svc_txn **txn, struct apierr *err);
/* Commit (release what the update gave up) or revert (release what it reserved); frees txn. */
void svc_txn_finish(struct svc_txn *txn, bool committed);
/* Release everything a deleted Service held. */
void svc_alloc_release_all(struct service_state *st, const json_t *svc);
/* Mark what a stored Service holds (start-up rebuild); problems are appended to report. */
void svc_alloc_restore(struct service_state *st, const json_t *svc, struct strbuf *report);

/* Small readers of a Service's spec. */
const char *svc_type(const json_t *svc);
bool svc_is_headless(const json_t *svc);
bool svc_needs_health_check(const json_t *svc);

#endif
