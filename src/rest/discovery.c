/*
 * discovery: /api, /apis, /apis/{group}, /api/v1 and /apis/{group}/{version}, in the legacy
 * form (APIVersions, APIGroupList, APIGroup, APIResourceList) and, when the client asks for it,
 * the aggregated form (apidiscovery.k8s.io v2 or v2beta1 APIGroupDiscoveryList). Everything
 * comes from the resource table; the documents are built once at start.
 */
#include "rest_private.h"

#include "svc/api.h"
#include "svc/apierr.h"
#include "svc/codec.h"
#include "svc/util.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

static json_t *group_version_ref(const struct api_group_version *gv)
{
    return json_pack("{s:s,s:s}", "groupVersion", gv->group_version, "version", gv->version);
}

static json_t *api_group(const struct api *api, const char *group)
{
    json_t *versions = json_array(), *preferred = NULL;
    for (size_t g = 0; g < api->n_gvs; g++) {
        if (strcmp(api->gvs[g].group, group))
            continue;
        json_array_append_new(versions, group_version_ref(&api->gvs[g]));
        if (!preferred)
            preferred = group_version_ref(&api->gvs[g]);
    }
    return json_pack("{s:s,s:o,s:o}", "name", group, "versions", versions, "preferredVersion",
                     preferred ? preferred : json_object());
}

/* The subresource's kind: its own when resources.yaml names one (Scale), else the parent's. */
static void subresource_kind(const struct api_resource *res, const json_t *raw_sub,
                             const char **group, const char **version, const char **kind)
{
    *group = res->group;
    *version = res->version;
    *kind = res->kind;
    const char *k = json_string_value(json_object_get(raw_sub, "kind"));
    if (k) {
        *kind = k;
        const char *g = json_string_value(json_object_get(raw_sub, "group"));
        const char *v = json_string_value(json_object_get(raw_sub, "version"));
        *group = g ? g : "";
        *version = v ? v : res->version;
    }
}

static const json_t *raw_subresource(const struct api *api, const struct api_resource *res,
                                     size_t i)
{
    /* The raw entry lives in the table's JSON; find it by walking the same indexes. */
    json_t *groups = json_object_get(api->raw, "groups");
    size_t g;
    json_t *jg;
    json_array_foreach (groups, g, jg) {
        size_t r;
        json_t *jr;
        json_array_foreach (json_object_get(jg, "resources"), r, jr) {
            if (json_object_get(jr, "verbs") == res->verbs_json)
                return json_array_get(json_object_get(jr, "subresources"), i);
        }
    }
    return NULL;
}

static json_t *resource_list(const struct api *api, const struct api_group_version *gv)
{
    json_t *resources = json_array();
    for (size_t i = 0; i < gv->n_resources; i++) {
        const struct api_resource *res = &gv->resources[i];
        json_t *r =
            json_pack("{s:s,s:s,s:b,s:s,s:O}", "name", res->plural, "singularName", res->singular,
                      "namespaced", res->namespaced, "kind", res->kind, "verbs", res->verbs_json);
        if (json_array_size(res->short_names))
            json_object_set(r, "shortNames", res->short_names);
        if (json_array_size(res->categories))
            json_object_set(r, "categories", res->categories);
        if (res->storage_version_hash)
            json_object_set_new(r, "storageVersionHash", json_string(res->storage_version_hash));
        json_array_append_new(resources, r);
        for (size_t s = 0; s < res->n_subresources; s++) {
            const char *group, *version, *kind;
            subresource_kind(res, raw_subresource(api, res, s), &group, &version, &kind);
            char *name = xasprintf("%s/%s", res->plural, res->subresources[s].name);
            json_t *sr = json_pack("{s:s,s:s,s:b}", "name", name, "singularName", "", "namespaced",
                                   res->namespaced);
            if (strcmp(kind, res->kind)) {
                json_object_set_new(sr, "group", json_string(group));
                json_object_set_new(sr, "version", json_string(version));
            }
            json_object_set_new(sr, "kind", json_string(kind));
            json_object_set(sr, "verbs", res->subresources[s].verbs_json);
            json_array_append_new(resources, sr);
            free(name);
        }
    }
    json_t *doc = json_pack("{s:s}", "kind", "APIResourceList");
    /* Upstream's /api/v1 document has no apiVersion; the group documents do. */
    if (*gv->group)
        json_object_set_new(doc, "apiVersion", json_string("v1"));
    json_object_set_new(doc, "groupVersion", json_string(gv->group_version));
    json_object_set_new(doc, "resources", resources);
    return doc;
}

static json_t *aggregated_group(const struct api *api, const char *group)
{
    json_t *versions = json_array();
    for (size_t g = 0; g < api->n_gvs; g++) {
        const struct api_group_version *gv = &api->gvs[g];
        if (strcmp(gv->group, group))
            continue;
        json_t *resources = json_array();
        for (size_t i = 0; i < gv->n_resources; i++) {
            const struct api_resource *res = &gv->resources[i];
            json_t *r =
                json_pack("{s:s,s:{s:s,s:s,s:s},s:s,s:s,s:O}", "resource", res->plural,
                          "responseKind", "group", res->group, "version", res->version, "kind",
                          res->kind, "scope", res->namespaced ? "Namespaced" : "Cluster",
                          "singularResource", res->singular, "verbs", res->verbs_json);
            if (json_array_size(res->short_names))
                json_object_set(r, "shortNames", res->short_names);
            if (json_array_size(res->categories))
                json_object_set(r, "categories", res->categories);
            if (res->n_subresources) {
                json_t *subs = json_array();
                for (size_t s = 0; s < res->n_subresources; s++) {
                    const char *sg, *sv, *sk;
                    subresource_kind(res, raw_subresource(api, res, s), &sg, &sv, &sk);
                    json_array_append_new(subs,
                                          json_pack("{s:s,s:{s:s,s:s,s:s},s:O}", "subresource",
                                                    res->subresources[s].name, "responseKind",
                                                    "group", sg, "version", sv, "kind", sk, "verbs",
                                                    res->subresources[s].verbs_json));
                }
                json_object_set_new(r, "subresources", subs);
            }
            json_array_append_new(resources, r);
        }
        json_array_append_new(versions, json_pack("{s:s,s:o,s:s}", "version", gv->version,
                                                  "resources", resources, "freshness", "Current"));
    }
    /* ObjectMeta.name is omitempty: the core group's item has only creationTimestamp. */
    json_t *meta = *group ? json_pack("{s:s,s:n}", "name", group, "creationTimestamp")
                          : json_pack("{s:n}", "creationTimestamp");
    return json_pack("{s:o,s:o}", "metadata", meta, "versions", versions);
}

void discovery_build(struct rest_server *srv)
{
    const struct api *api = srv->api;
    json_t *groups = json_array();
    json_t *agg_apis = json_array();
    for (size_t g = 0; g < api->n_gvs; g++) {
        const char *name = api->gvs[g].group;
        bool seen = false;
        for (size_t k = 0; k < g; k++)
            seen |= !strcmp(api->gvs[k].group, name);
        if (!*name || seen)
            continue;
        json_array_append_new(groups, api_group(api, name));
        json_array_append_new(agg_apis, aggregated_group(api, name));
    }
    srv->doc_apis =
        json_pack("{s:s,s:s,s:o}", "kind", "APIGroupList", "apiVersion", "v1", "groups", groups);
    srv->doc_aggregated_core =
        json_pack("{s:s,s:s,s:{},s:[o]}", "kind", "APIGroupDiscoveryList", "apiVersion", "",
                  "metadata", "items", aggregated_group(api, ""));
    srv->doc_aggregated_apis = json_pack("{s:s,s:s,s:{},s:o}", "kind", "APIGroupDiscoveryList",
                                         "apiVersion", "", "metadata", "items", agg_apis);
}

void discovery_free(struct rest_server *srv)
{
    json_decref(srv->doc_apis);
    json_decref(srv->doc_aggregated_core);
    json_decref(srv->doc_aggregated_apis);
}

void discovery_handle(struct rest_server *srv, const struct rest_request *req,
                      const struct route *route, struct rest_response *resp)
{
    struct apierr err;
    struct codec_choice choice;
    apierr_init(&err);
    bool aggregated_ok = route->kind == ROUTE_API || route->kind == ROUTE_APIS;
    if (codec_negotiate(req->accept, CODEC_ALLOW_YAML | (aggregated_ok ? CODEC_ALLOW_DISCOVERY : 0),
                        &choice, &err)) {
        rest_respond_error(resp, &err);
        apierr_release(&err);
        return;
    }
    if (choice.answer == CODEC_ANSWER_DISCOVERY) {
        /* The same body for v2 and v2beta1, but for the version the client asked for. */
        json_t *doc = json_copy(route->kind == ROUTE_API ? srv->doc_aggregated_core
                                                         : srv->doc_aggregated_apis);
        char *av = xasprintf("apidiscovery.k8s.io/%s", choice.version);
        json_object_set_new(doc, "apiVersion", json_string(av));
        free(av);
        rest_respond_json(resp, 200, doc);
        snprintf(resp->content_type, sizeof(resp->content_type), "%s", choice.content_type);
        json_decref(doc);
        return;
    }
    json_t *doc = NULL;
    switch (route->kind) {
    case ROUTE_API: {
        /* Built per request: the port is known only once the daemon listens. */
        char *addr = xasprintf("%s:%d", srv->cfg.advertise_address, atomic_load(&srv->port));
        doc = json_pack("{s:s,s:[s],s:[{s:s,s:s}]}", "kind", "APIVersions", "versions", "v1",
                        "serverAddressByClientCIDRs", "clientCIDR", "0.0.0.0/0", "serverAddress",
                        addr);
        free(addr);
        break;
    }
    case ROUTE_APIS:
        doc = json_incref(srv->doc_apis);
        break;
    case ROUTE_GROUP: {
        json_t *group = api_group(srv->api, route->gv->group);
        doc = json_pack("{s:s,s:s}", "kind", "APIGroup", "apiVersion", "v1");
        json_object_update(doc, group);
        json_decref(group);
        break;
    }
    default:
        doc = resource_list(srv->api, route->gv);
        break;
    }
    rest_respond_doc(&choice, 200, doc, resp);
    json_decref(doc);
}
