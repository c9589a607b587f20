/*
 * server: the REST entry point. Routes a request, dispatches it to the endpoint family, and
 * owns the response helpers every handler uses.
 */
#include "rest_private.h"

#include "svc/apierr.h"
#include "svc/codec.h"
#include "svc/openapi.h"
#include "svc/registry.h"
#include "svc/store.h"
#include "svc/util.h"
#include "svc/watch.h"
#include "svc/yaml.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The largest answer we build in memory (a LIST of many objects is the big one). */
#define RESPONSE_LIMIT ((size_t)1 << 31)

void rest_response_init(struct rest_response *resp)
{
    memset(resp, 0, sizeof(*resp));
    resp->status = 200;
    strbuf_init(&resp->body, RESPONSE_LIMIT);
    snprintf(resp->content_type, sizeof(resp->content_type), "application/json");
}

void rest_response_release(struct rest_response *resp)
{
    strbuf_release(&resp->body);
    json_decref(resp->warnings);
    json_decref(resp->headers);
    resp->headers = NULL;
    if (resp->stream)
        resp->stream->ops->free(resp->stream);
    resp->warnings = NULL;
    resp->stream = NULL;
}

void rest_response_set_header(struct rest_response *resp, const char *name, const char *value)
{
    if (!resp->headers)
        resp->headers = json_object();
    json_object_set_new(resp->headers, name, json_string(value));
}

void rest_add_warning(struct rest_response *resp, const char *text)
{
    if (!resp->warnings)
        resp->warnings = json_array();
    /* kubectl de-duplicates too, but a server should not repeat itself. */
    size_t i;
    json_t *w;
    json_array_foreach (resp->warnings, i, w)
        if (!strcmp(json_string_value(w), text))
            return;
    json_array_append_new(resp->warnings, json_string(text));
}

void rest_respond_json(struct rest_response *resp, int status, const json_t *doc)
{
    strbuf_reset(&resp->body);
    resp->status = status;
    snprintf(resp->content_type, sizeof(resp->content_type), "application/json");
    codec_json_write(&resp->body, doc);
    strbuf_addch(&resp->body, '\n');
}

void rest_respond_error(struct rest_response *resp, const struct apierr *err)
{
    json_t *st = apierr_to_status(err);
    rest_respond_json(resp, apierr_http_code(err), st);
    json_decref(st);
}

void rest_respond_doc(const struct codec_choice *choice, int status, const json_t *doc,
                      struct rest_response *resp)
{
    if (choice && choice->answer == CODEC_ANSWER_YAML) {
        strbuf_reset(&resp->body);
        resp->status = status;
        snprintf(resp->content_type, sizeof(resp->content_type), "application/yaml");
        if (yaml_emit(doc, &resp->body)) {
            /* Upstream refuses to encode what YAML cannot carry (control characters). */
            struct apierr err;
            apierr_init(&err);
            apierr_internal(&err, "yaml: control characters are not allowed");
            rest_respond_error(resp, &err);
            apierr_release(&err);
        }
        return;
    }
    rest_respond_json(resp, status, doc);
}

struct rest_server *rest_server_new(struct registry *reg, const struct rest_server_config *cfg)
{
    struct rest_server *srv = xcalloc(1, sizeof(*srv));
    srv->reg = reg;
    srv->api = registry_api(reg);
    srv->cfg.advertise_address =
        xstrdup(cfg->advertise_address ? cfg->advertise_address : "127.0.0.1");
    srv->cfg.port = cfg->port;
    atomic_init(&srv->ready, false);
    atomic_init(&srv->port, cfg->port);
    discovery_build(srv);
    srv->watch = watch_hub_new(registry_store(reg));
    return srv;
}

void rest_server_free(struct rest_server *srv)
{
    if (!srv)
        return;
    discovery_free(srv);
    watch_hub_free(srv->watch);
    free((char *)srv->cfg.advertise_address);
    free(srv);
}

void rest_server_set_port(struct rest_server *srv, int port)
{
    atomic_store(&srv->port, port);
}

void rest_server_set_ready(struct rest_server *srv, bool ready)
{
    atomic_store(&srv->ready, ready);
}

void rest_server_shutdown(struct rest_server *srv)
{
    watch_hub_shutdown(srv->watch);
}

/* Errors are answered in the form the client accepts, as ErrorNegotiated does: a Status the
   handlers wrote as JSON is re-encoded when the Accept header prefers YAML. */
static void negotiate_error(const struct rest_request *req, struct rest_response *resp)
{
    struct codec_choice choice;
    struct apierr err;
    apierr_init(&err);
    if (resp->stream || resp->status < 400 || !req->accept ||
        strcmp(resp->content_type, "application/json") ||
        codec_negotiate(req->accept, CODEC_ALLOW_YAML, &choice, &err) ||
        choice.answer != CODEC_ANSWER_YAML) {
        apierr_release(&err);
        return;
    }
    char *msg = NULL;
    json_t *status = codec_parse_json(resp->body.buf, resp->body.len, false, &msg);
    free(msg);
    if (json_is_object(status) && !strcmp(ju_str(status, "kind") ?: "", "Status"))
        rest_respond_doc(&choice, resp->status, status, resp);
    json_decref(status);
}

void rest_handle(struct rest_server *srv, const struct rest_request *req,
                 struct rest_response *resp)
{
    struct route route;
    struct apierr err;
    apierr_init(&err);
    route_parse(srv->api, req->path, &route);
    switch (route.kind) {
    case ROUTE_VERSION:
    case ROUTE_HEALTH:
    case ROUTE_METRICS:
        health_handle(srv, req, &route, resp);
        break;
    case ROUTE_API:
    case ROUTE_APIS:
    case ROUTE_GROUP:
    case ROUTE_GROUP_VERSION:
        discovery_handle(srv, req, &route, resp);
        break;
    case ROUTE_RESOURCE:
        handlers_resource(srv, req, &route, resp);
        break;
    case ROUTE_OPENAPI_V2:
    case ROUTE_OPENAPI_V3:
    case ROUTE_OPENAPI_V3_GV:
        openapi_handle(req, &route, resp);
        break;
    case ROUTE_NOT_FOUND:
    default:
        apierr_path_not_found(&err);
        rest_respond_error(resp, &err);
        break;
    }
    apierr_release(&err);
    route_release(&route);
    negotiate_error(req, resp);
}
