/*
 * router: request paths to routes, and request targets to decoded paths and parameters.
 * The path grammar is kube-apiserver's:
 *   /api/v1[/watch][/namespaces/{ns}]/{resource}[/{name}[/{subresource}]]
 *   /apis/{group}/{version}[/watch][/namespaces/{ns}]/{resource}[/{name}[/{subresource}]]
 * plus the fixed endpoints (/version, /healthz, /livez, /readyz, /metrics, /openapi/...).
 */
#include "svc/rest.h"

#include "svc/api.h"
#include "svc/util.h"

#include <stdlib.h>
#include <string.h>

#define MAX_SEGMENTS 12

/* Decode %XX (and '+' as a space when plus is set) of s[0..n) into a new string. */
static char *url_decode(const char *s, size_t n, bool plus, bool *ok)
{
    char *out = xmalloc(n + 1), *o = out;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '%') {
            int hi = i + 1 < n ? util_hex_digit(s[i + 1]) : -1;
            int lo = i + 2 < n ? util_hex_digit(s[i + 2]) : -1;
            if (hi < 0 || lo < 0) {
                *ok = false;
                break;
            }
            *o++ = (char)(hi * 16 + lo);
            i += 2;
        } else if (plus && s[i] == '+') {
            *o++ = ' ';
        } else {
            *o++ = s[i];
        }
    }
    *o = '\0';
    return out;
}

int rest_request_parse_target(struct rest_request *req, const char *target)
{
    bool ok = true;
    const char *q = strchr(target, '?');
    size_t plen = q ? (size_t)(q - target) : strlen(target);
    req->path = url_decode(target, plen, false, &ok);
    req->params = NULL;
    req->n_params = 0;
    if (q) {
        const char *p = q + 1;
        while (*p) {
            const char *amp = strchr(p, '&');
            size_t len = amp ? (size_t)(amp - p) : strlen(p);
            if (len) {
                const char *eq = memchr(p, '=', len);
                size_t klen = eq ? (size_t)(eq - p) : len;
                req->params = xrealloc(req->params, (req->n_params + 1) * sizeof(*req->params));
                struct rest_param *par = &req->params[req->n_params++];
                par->key = url_decode(p, klen, true, &ok);
                par->value = eq ? url_decode(eq + 1, len - klen - 1, true, &ok) : xstrdup("");
            }
            if (!amp)
                break;
            p = amp + 1;
        }
    }
    return ok ? 0 : -1;
}

void rest_request_release(struct rest_request *req)
{
    for (size_t i = 0; i < req->n_params; i++) {
        free(req->params[i].key);
        free(req->params[i].value);
    }
    free(req->params);
    free(req->path);
    req->params = NULL;
    req->path = NULL;
    req->n_params = 0;
}

const char *rest_param(const struct rest_request *req, const char *key)
{
    for (size_t i = 0; i < req->n_params; i++)
        if (!strcmp(req->params[i].key, key))
            return req->params[i].value;
    return NULL;
}

void route_release(struct route *route)
{
    free(route->ns);
    free(route->name);
    free(route->subresource);
    free(route->extra);
    memset(route, 0, sizeof(*route));
}

/* Split path on '/', ignoring empty segments; segments point into buf. */
static size_t split(char *buf, char **seg)
{
    size_t n = 0;
    char *save = NULL;
    for (char *s = strtok_r(buf, "/", &save); s; s = strtok_r(NULL, "/", &save)) {
        if (n == MAX_SEGMENTS)
            return MAX_SEGMENTS + 1;
        seg[n++] = s;
    }
    return n;
}

/* The resource part of a path, after /api/v1 or /apis/g/v: seg[0..n). */
static void route_resource(const struct api_group_version *gv, char **seg, size_t n,
                           struct route *r)
{
    size_t i = 0;
    if (i < n && !strcmp(seg[i], "watch")) {
        r->watch_prefix = true;
        i++;
    }
    const struct api_resource *ns_res = NULL;
    for (size_t k = 0; k < gv->n_resources; k++)
        if (!strcmp(gv->resources[k].plural, "namespaces"))
            ns_res = &gv->resources[k];
    /* /namespaces/{ns}/{resource}...: a namespaced resource inside a namespace. When the
       fourth segment is a subresource of namespaces ("status", "finalize") it is the namespace
       object's own subresource instead, as upstream's routes decide. */
    if (n - i >= 3 && !strcmp(seg[i], "namespaces") &&
        !(ns_res && api_find_subresource(ns_res, seg[i + 2]) && n - i == 3)) {
        for (size_t k = 0; k < gv->n_resources; k++) {
            const struct api_resource *res = &gv->resources[k];
            if (res->namespaced && !strcmp(res->plural, seg[i + 2])) {
                r->res = res;
                break;
            }
        }
        if (!r->res || n - i > 5)
            return;
        r->ns = xstrdup(seg[i + 1]);
        if (n - i >= 4)
            r->name = xstrdup(seg[i + 3]);
        if (n - i == 5) {
            if (!api_find_subresource(r->res, seg[i + 4])) {
                r->res = NULL;
                return;
            }
            r->subresource = xstrdup(seg[i + 4]);
        }
        r->kind = ROUTE_RESOURCE;
        return;
    }
    if (n - i < 1 || n - i > 3)
        return;
    for (size_t k = 0; k < gv->n_resources; k++)
        if (!strcmp(gv->resources[k].plural, seg[i]))
            r->res = &gv->resources[k];
    if (!r->res)
        return;
    /* /{resource}: a cluster-scoped collection, or a namespaced one across namespaces; a
       namespaced object itself always needs its namespace. */
    if (n - i >= 2) {
        if (r->res->namespaced) {
            r->res = NULL;
            return;
        }
        r->name = xstrdup(seg[i + 1]);
    }
    if (n - i == 3) {
        if (!api_find_subresource(r->res, seg[i + 2])) {
            r->res = NULL;
            return;
        }
        r->subresource = xstrdup(seg[i + 2]);
    }
    r->kind = ROUTE_RESOURCE;
}

void route_parse(const struct api *api, const char *path, struct route *r)
{
    memset(r, 0, sizeof(*r));
    r->kind = ROUTE_NOT_FOUND;
    char *buf = xstrdup(path);
    char *seg[MAX_SEGMENTS + 1];
    size_t n = split(buf, seg);
    if (n > MAX_SEGMENTS)
        goto out;
    if (n == 1 && !strcmp(seg[0], "version")) {
        r->kind = ROUTE_VERSION;
    } else if (n >= 1 && (!strcmp(seg[0], "healthz") || !strcmp(seg[0], "livez") ||
                          !strcmp(seg[0], "readyz"))) {
        r->kind = n == 1 ? ROUTE_HEALTH : ROUTE_NOT_FOUND;
        r->extra = xstrdup(seg[0]);
    } else if (n == 1 && !strcmp(seg[0], "metrics")) {
        r->kind = ROUTE_METRICS;
    } else if ((n == 2 && !strcmp(seg[0], "openapi") && !strcmp(seg[1], "v2")) ||
               (n == 1 && !strcmp(seg[0], "swagger-2.0.0.pb-v1"))) {
        r->kind = ROUTE_OPENAPI_V2;
    } else if (n == 2 && !strcmp(seg[0], "openapi") && !strcmp(seg[1], "v3")) {
        r->kind = ROUTE_OPENAPI_V3;
    } else if (n >= 3 && !strcmp(seg[0], "openapi") && !strcmp(seg[1], "v3")) {
        /* The group-version path as the index names it: "api/v1" or "apis/apps/v1". */
        const char *p = strstr(path, "/v3/");
        r->kind = ROUTE_OPENAPI_V3_GV;
        r->extra = xstrdup(p + 4);
    } else if (n >= 1 && !strcmp(seg[0], "api")) {
        if (n == 1) {
            r->kind = ROUTE_API;
        } else if ((r->gv = api_find_group_version(api, "", seg[1]))) {
            if (n == 2)
                r->kind = ROUTE_GROUP_VERSION;
            else
                route_resource(r->gv, seg + 2, n - 2, r);
        }
    } else if (n >= 1 && !strcmp(seg[0], "apis")) {
        if (n == 1) {
            r->kind = ROUTE_APIS;
        } else if (n == 2) {
            for (size_t g = 0; g < api->n_gvs; g++)
                if (*api->gvs[g].group && !strcmp(api->gvs[g].group, seg[1])) {
                    r->kind = ROUTE_GROUP;
                    r->gv = &api->gvs[g];
                    break;
                }
        } else if (*seg[1] && (r->gv = api_find_group_version(api, seg[1], seg[2]))) {
            if (n == 3)
                r->kind = ROUTE_GROUP_VERSION;
            else
                route_resource(r->gv, seg + 3, n - 3, r);
        }
    }
out:
    free(buf);
}
