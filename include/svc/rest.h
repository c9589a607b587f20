/*
 * rest: the Kubernetes REST API on top of the registry, with no knowledge of the HTTP library.
 *
 * The HTTP glue (src/http) turns each request into a struct rest_request and hands it to
 * rest_handle, which routes it (router.c), negotiates the answer form, calls the generic verb
 * handler (handlers.c, list.c) or a fixed endpoint (discovery.c, health.c), and fills a struct
 * rest_response: a status, headers and a body, or a stream for watches. Every error answer is a
 * Status built by apierr. Handlers can be driven without sockets in unit tests.
 */
#ifndef SVC_REST_H
#define SVC_REST_H

#include "svc/strbuf.h"

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

typedef struct json_t json_t;
struct apierr;
struct registry;
struct api;
struct api_resource;
struct api_group_version;

/* Query parameters, decoded (%XX and '+'). */
struct rest_param {
    char *key;
    char *value;
};

struct rest_request {
    const char *method;        /* "GET", "POST", ... */
    char *path;                /* decoded path, owned */
    struct rest_param *params; /* owned, decoded */
    size_t n_params;
    const char *accept; /* header values, borrowed; may be NULL */
    const char *content_type;
    const char *user_agent;
    const char *body; /* borrowed; may be NULL */
    size_t body_len;
};

/* Parse a raw request target ("/api/v1/services?limit=5&labelSelector=a%3Db") into req->path
   and req->params. 0, or -1 when the target is malformed. */
int rest_request_parse_target(struct rest_request *req, const char *target);
void rest_request_release(struct rest_request *req);
/* The value of query parameter key (first occurrence), borrowed, or NULL. */
const char *rest_param(const struct rest_request *req, const char *key);

/*
 * A streamed answer (watch). The HTTP glue pulls bytes with read until it ends; when read has
 * nothing yet it returns REST_STREAM_WAIT after arranging for wake(wake_ctx) to be called (from
 * any thread) once there is more; the glue then parks the connection until woken.
 */
#define REST_STREAM_WAIT 0
#define REST_STREAM_END  (-1)
struct rest_stream;
struct rest_stream_ops {
    /* Copy up to max bytes into buf: >0 bytes, REST_STREAM_WAIT, or REST_STREAM_END. */
    ssize_t (*read)(struct rest_stream *s, char *buf, size_t max);
    /* Arrange for wake(ctx) to be called once read would return data or the end. */
    void (*set_waker)(struct rest_stream *s, void (*wake)(void *ctx), void *ctx);
    /* The connection is gone or the server stops: end the stream and free it. */
    void (*free)(struct rest_stream *s);
};
struct rest_stream {
    const struct rest_stream_ops *ops;
};

struct rest_response {
    int status;
    char content_type[128];
    struct strbuf body;         /* the answer, unless stream is set */
    json_t *warnings;           /* array of warning texts for Warning: 299 headers; owned */
    struct rest_stream *stream; /* owned: a streaming answer */
    json_t *headers;            /* extra headers, name -> string value; owned; may be NULL */
};

/* struct rest_response carries extra headers (rest_response_set_header). */
#define REST_RESPONSE_HEADERS 1
/* Set (or replace) an extra response header; a Cache-Control set here replaces the default. */
void rest_response_set_header(struct rest_response *resp, const char *name, const char *value);

void rest_response_init(struct rest_response *resp);
void rest_response_release(struct rest_response *resp);
/* Fill resp with the Status of err (and its HTTP code). */
void rest_respond_error(struct rest_response *resp, const struct apierr *err);
/* Fill resp with a JSON document (compact, newline-terminated). */
void rest_respond_json(struct rest_response *resp, int status, const json_t *doc);

struct rest_server_config {
    const char *advertise_address; /* serverAddressByClientCIDRs */
    int port;
};

struct rest_server;

/* The REST server over a registry; the registry and api stay the caller's. */
struct rest_server *rest_server_new(struct registry *reg, const struct rest_server_config *cfg);
void rest_server_free(struct rest_server *srv);
/* The port actually bound (for discovery's serverAddressByClientCIDRs). */
void rest_server_set_port(struct rest_server *srv, int port);
/* Mark the server ready (/readyz answers ok) once start-up work is done. */
void rest_server_set_ready(struct rest_server *srv, bool ready);
/* Stop every open stream (before the HTTP daemon stops). */
void rest_server_shutdown(struct rest_server *srv);

/* Handle one request; resp must have been initialised. Never fails: errors are answers. */
void rest_handle(struct rest_server *srv, const struct rest_request *req,
                 struct rest_response *resp);

/* ---- routing (router.c) ---------------------------------------------------------------------- */

enum route_kind {
    ROUTE_NOT_FOUND,
    ROUTE_VERSION,       /* /version */
    ROUTE_HEALTH,        /* /healthz, /livez, /readyz (name in route.name) */
    ROUTE_METRICS,       /* /metrics */
    ROUTE_API,           /* /api */
    ROUTE_APIS,          /* /apis */
    ROUTE_GROUP,         /* /apis/{group} */
    ROUTE_GROUP_VERSION, /* /api/v1, /apis/{group}/{version} */
    ROUTE_RESOURCE,      /* a resource path */
    ROUTE_OPENAPI_V2,    /* /openapi/v2 (and /swagger-2.0.0.pb-v1) */
    ROUTE_OPENAPI_V3,    /* /openapi/v3 */
    ROUTE_OPENAPI_V3_GV, /* /openapi/v3/api/v1, /openapi/v3/apis/{g}/{v} */
};

struct route {
    enum route_kind kind;
    const struct api_group_version *gv;
    const struct api_resource *res;
    char *ns;          /* owned; the namespace segment, or NULL */
    char *name;        /* owned; the object name, or NULL */
    char *subresource; /* owned, or NULL */
    char *extra;       /* owned; the health check name or the OpenAPI group-version path */
    bool watch_prefix; /* the legacy /watch/ path form */
};

/* Route a decoded path; route fields are owned by route (release with route_release). */
void route_parse(const struct api *api, const char *path, struct route *route);
void route_release(struct route *route);

#endif
