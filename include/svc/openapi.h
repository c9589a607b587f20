/*
 * openapi: the OpenAPI documents kubectl and other clients download, and their HTTP answers.
 *
 * The documents are computed at build time from api/ by tools/apigen (tools/openapi_gen.c) and
 * compiled into src/api_data.c, so serving them is copying bytes: /openapi/v2 (Swagger 2.0,
 * as gnostic protobuf or JSON, negotiated as kube-openapi does), /openapi/v3 (the index of the
 * group-version documents, each URL carrying the document's hash) and /openapi/v3/<gv>.
 * src/rest/openapi.c depends on the REST types only; it never parses the documents.
 */
#ifndef SVC_OPENAPI_H
#define SVC_OPENAPI_H

#include <stddef.h>

struct rest_request;
struct rest_response;
struct route;

/* The Content-Type of the protobuf form of /openapi/v2: the dotted spelling kube-apiserver
   sends (kubectl rejects the "@" one it puts in its own Accept header). */
#define OPENAPI_V2_PROTOBUF_TYPE "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"

/* One OpenAPI 3.0 document of the /openapi/v3 index. */
struct openapi_v3_doc {
    const char *path; /* the index key and URL tail: "api/v1", "apis/apps/v1", "apis" */
    const char *hash; /* SHA-512 of json, 128 upper-case hex digits: ?hash= and ETag */
    const char *json; /* the document, compact JSON */
    size_t json_len;
};

/* Generated data (src/api_data.c), immutable. The protobuf is binary: use its length. */
extern const char svc_openapi_v2_json[];
extern const size_t svc_openapi_v2_json_len;
extern const char svc_openapi_v2_hash[]; /* of the JSON; upstream's ETag for both forms */
extern const char svc_openapi_v2_pb[];
extern const size_t svc_openapi_v2_pb_len;
extern const char svc_openapi_v3_index_json[];
extern const size_t svc_openapi_v3_index_json_len;
extern const char svc_openapi_v3_index_hash[];
extern const struct openapi_v3_doc svc_openapi_v3_docs[];
extern const size_t svc_openapi_v3_n_docs;

/* The v3 document whose index key is path ("api/v1"), or NULL. Borrowed, static. */
const struct openapi_v3_doc *openapi_v3_find(const char *path);

/*
 * Answer ROUTE_OPENAPI_V2, ROUTE_OPENAPI_V3 and ROUTE_OPENAPI_V3_GV (route->extra holds the
 * group-version path). resp must have been initialised; every outcome is an answer: the
 * document, 406 for an Accept header naming no form we serve, 404 for an unknown group version.
 * req, route and resp are borrowed.
 */
void openapi_handle(const struct rest_request *req, const struct route *route,
                    struct rest_response *resp);

#endif
