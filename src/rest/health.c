/*
 * health: the endpoints that are not resources: /version, /healthz, /livez, /readyz and
 * /metrics (Prometheus text format).
 */
#include "rest_private.h"

#include "svc/apierr.h"
#include "svc/registry.h"
#include "svc/util.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

/* The Kubernetes release whose API we serve. */
#define SVC_KUBE_MAJOR "1"
#define SVC_KUBE_MINOR "33"
#define SVC_KUBE_GIT_VERSION "v1.33.0"

static void respond_text(struct rest_response *resp, int status, const char *text)
{
    strbuf_reset(&resp->body);
    resp->status = status;
    snprintf(resp->content_type, sizeof(resp->content_type), "text/plain; charset=utf-8");
    strbuf_addstr(&resp->body, text);
}

static void version(struct rest_response *resp)
{
    /* version.Info as 1.33 returns it; kubectl prints gitVersion. The build fields say what
       really built this server rather than pretending to be Go. */
    json_t *doc = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "major",
                            SVC_KUBE_MAJOR, "minor", SVC_KUBE_MINOR, "emulationMajor",
                            SVC_KUBE_MAJOR, "emulationMinor", SVC_KUBE_MINOR,
                            "minCompatibilityMajor", "1", "minCompatibilityMinor", "32",
                            "gitVersion", SVC_KUBE_GIT_VERSION, "gitCommit",
                            "svc-apiserver-" SVC_VERSION, "gitTreeState", "clean",
                            "buildDate", __DATE__ " " __TIME__, "goVersion", "",
                            "compiler", "gcc", "platform", "linux/amd64");
    rest_respond_json(resp, 200, doc);
    json_decref(doc);
}

void health_handle(struct rest_server *srv, const struct rest_request *req,
                   const struct route *route, struct rest_response *resp)
{
    (void)req;
    switch (route->kind) {
    case ROUTE_VERSION:
        version(resp);
        return;
    case ROUTE_HEALTH:
        if (!strcmp(route->extra, "readyz") && !atomic_load(&srv->ready)) {
            respond_text(resp, 500, "[-]svc-apiserver-ready failed: not ready yet\nreadyz check failed\n");
            return;
        }
        respond_text(resp, 200, "ok");
        return;
    case ROUTE_METRICS:
    default:
        strbuf_reset(&resp->body);
        resp->status = 200;
        snprintf(resp->content_type, sizeof(resp->content_type),
                 "text/plain; version=0.0.4; charset=utf-8");
        registry_metrics(srv->reg, &resp->body);
        return;
    }
}
