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
#include <time.h>

/* The Kubernetes release whose API we serve. */
#define SVC_KUBE_MAJOR       "1"
#define SVC_KUBE_MINOR       "33"
#define SVC_KUBE_GIT_VERSION "v1.33.0"
#define SVC_KUBE_GIT_COMMIT  "60a317eadfcb839692a68eab88b2096f4d708f4f" /* v1.33.0's */
#define SVC_KUBE_GO_VERSION  "go1.24.2"                                 /* what built it */

static void respond_text(struct rest_response *resp, int status, const char *text)
{
    strbuf_reset(&resp->body);
    resp->status = status;
    snprintf(resp->content_type, sizeof(resp->content_type), "text/plain; charset=utf-8");
    strbuf_addstr(&resp->body, text);
}

/* When this binary was built, in RFC 3339 (UTC is assumed: builds run on UTC machines). */
static void build_date(char out[UTIL_RFC3339_LEN])
{
    struct tm tm = {0};
    if (!strptime(__DATE__ " " __TIME__, "%b %d %Y %H:%M:%S", &tm)) {
        snprintf(out, UTIL_RFC3339_LEN, "1970-01-01T00:00:00Z");
        return;
    }
    util_format_time(timegm(&tm), out);
}

static void version(struct rest_response *resp)
{
    /* version.Info of the release we emulate, field for field: clients compare gitVersion,
       and tools that parse the rest expect a 40-hex commit, an RFC 3339 build date and Go's
       runtime names (the build date is this binary's own). */
    char built[UTIL_RFC3339_LEN];
    build_date(built);
    json_t *doc =
        json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "major", SVC_KUBE_MAJOR,
                  "minor", SVC_KUBE_MINOR, "emulationMajor", SVC_KUBE_MAJOR, "emulationMinor",
                  SVC_KUBE_MINOR, "minCompatibilityMajor", "1", "minCompatibilityMinor", "32",
                  "gitVersion", SVC_KUBE_GIT_VERSION, "gitCommit", SVC_KUBE_GIT_COMMIT,
                  "gitTreeState", "clean", "buildDate", built, "goVersion", SVC_KUBE_GO_VERSION,
                  "compiler", "gc", "platform", "linux/amd64");
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
            respond_text(resp, 500,
                         "[-]svc-apiserver-ready failed: not ready yet\nreadyz check failed\n");
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
