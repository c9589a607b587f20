/*
 * rest_private: what the files of src/rest/ share: the server structure and the entry points
 * of each endpoint family.
 */
#ifndef SVC_REST_PRIVATE_H
#define SVC_REST_PRIVATE_H

#include "svc/rest.h"

#include <stdatomic.h>

struct codec_choice;

struct rest_server {
    struct registry *reg;          /* borrowed */
    const struct api *api;         /* borrowed */
    struct rest_server_config cfg; /* advertise_address owned */
    atomic_bool ready;
    atomic_int port;         /* the bound port */
    struct watch_hub *watch; /* owned */
    /* Discovery documents, built once at start (the API never changes while we run). */
    json_t *doc_apis;            /* APIGroupList */
    json_t *doc_aggregated_core; /* APIGroupDiscoveryList for /api (version set per request) */
    json_t *doc_aggregated_apis; /* ... for /apis */
};

/* discovery.c */
void discovery_build(struct rest_server *srv);
void discovery_free(struct rest_server *srv);
void discovery_handle(struct rest_server *srv, const struct rest_request *req,
                      const struct route *route, struct rest_response *resp);

/* health.c: /version, /healthz, /livez, /readyz, /metrics */
void health_handle(struct rest_server *srv, const struct rest_request *req,
                   const struct route *route, struct rest_response *resp);

/* handlers.c: the verbs on resource paths */
void handlers_resource(struct rest_server *srv, const struct rest_request *req,
                       const struct route *route, struct rest_response *resp);

/* list.c: list and deletecollection answers */
void list_handle(struct rest_server *srv, const struct rest_request *req, const struct route *route,
                 const struct codec_choice *choice, struct rest_response *resp);
void list_delete_collection(struct rest_server *srv, const struct rest_request *req,
                            const struct route *route, struct rest_response *resp);

/* watch.c: a watch on a collection (or one object by name) as a chunked stream. */
void watch_handle(struct rest_server *srv, const struct rest_request *req,
                  const struct route *route, const struct codec_choice *choice,
                  struct rest_response *resp);

/* patch.c: PATCH of an object (or its status), every patch type. */
struct apierr;
void rest_do_patch(struct rest_server *srv, const struct rest_request *req,
                   const struct route *route, const struct codec_choice *choice,
                   struct rest_response *resp, struct apierr *err);
/* scale.c: the scale subresource (GET, PUT, PATCH) of a kind with spec.replicas. */
void rest_scale(struct rest_server *srv, const struct rest_request *req, const struct route *route,
                const struct codec_choice *choice, struct rest_response *resp);

/* table.c: a meta.k8s.io Table of objs (version "v1" or "v1beta1"), rows built by the printers
   module; includeObject is the query value (NULL: Metadata). NULL with a 400 in err. */
struct store_obj;
json_t *rest_table(const struct api_resource *res, const char *version, const char *include_object,
                   struct store_obj *const *objs, size_t n, bool with_columns, struct apierr *err);

/* Shared answer helpers (server.c). */
/* Go's boolean query parameter: anything but "0" and "false" (any case) is true; NULL false. */
bool rest_param_true(const char *v);
/* Whether the query asks for a watch (?watch=, upstream's boolean parsing). */
bool rest_is_watch_param(const struct rest_request *req);
void rest_add_warning(struct rest_response *resp, const char *text);
/* Write obj in the negotiated form (JSON bytes as stored, YAML, Table, partial metadata). */
struct store_obj;
void rest_respond_object(struct rest_server *srv, const struct rest_request *req,
                         const struct route *route, const struct codec_choice *choice, int status,
                         const struct store_obj *obj, struct rest_response *resp);
/* Write a JSON document (a Status, a list) in the negotiated form: JSON or YAML. */
void rest_respond_doc(const struct codec_choice *choice, int status, const json_t *doc,
                      struct rest_response *resp);

#endif
