/*
 * api: loads the resource table (resources.yaml, compiled to JSON by tools/apigen) and the
 * schemas into fixed structures. See include/svc/api.h.
 */
#include "svc/api.h"

#include "svc/schema.h"
#include "svc/util.h"

#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const verb_names[] = {"get", "list", "watch", "create",
                                         "update", "patch", "delete", "deletecollection"};

unsigned api_verb_bit(const char *name)
{
    for (size_t i = 0; i < sizeof(verb_names) / sizeof(verb_names[0]); i++)
        if (!strcmp(name, verb_names[i]))
            return 1u << i;
    return 0;
}

static unsigned verbs_of(json_t *list)
{
    unsigned bits = 0;
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v) bits |= api_verb_bit(json_string_value(v) ? json_string_value(v) : "");
    return bits;
}

/* Find the definition whose gvk matches; the schema files mark top-level kinds with gvk. */
static const char *definition_for(json_t *defs, const char *group, const char *version,
                                  const char *kind)
{
    const char *name;
    json_t *def;
    json_object_foreach(defs, name, def) {
        json_t *gvk = json_object_get(def, "gvk");
        const char *g = json_string_value(json_object_get(gvk, "group"));
        const char *v = json_string_value(json_object_get(gvk, "version"));
        const char *k = json_string_value(json_object_get(gvk, "kind"));
        if (g && v && k && !strcmp(g, group) && !strcmp(v, version) && !strcmp(k, kind))
            return name;
    }
    return NULL;
}

static int fail(char *msg, size_t n, const char *what)
{
    snprintf(msg, n, "%s", what);
    return -1;
}

static int load_resource(struct api_resource *r, json_t *j, const struct api_group_version *gv,
                         json_t *defs, json_t *keep, char *msg, size_t n)
{
    r->group = gv->group;
    r->version = gv->version;
    r->group_version = gv->group_version;
    r->plural = json_string_value(json_object_get(j, "plural"));
    r->singular = json_string_value(json_object_get(j, "singular"));
    r->kind = json_string_value(json_object_get(j, "kind"));
    if (!r->plural || !r->kind)
        return fail(msg, n, "a resource lacks plural or kind");
    if (!r->singular)
        r->singular = "";
    r->namespaced = json_is_true(json_object_get(j, "namespaced"));
    r->storage_version_hash = json_string_value(json_object_get(j, "storageVersionHash"));
    r->verbs_json = json_object_get(j, "verbs");
    if (!json_is_array(r->verbs_json))
        return fail(msg, n, "a resource lacks verbs");
    r->verbs = verbs_of(r->verbs_json);
    r->short_names = json_object_get(j, "shortNames");
    if (!r->short_names) {
        r->short_names = json_array();
        json_object_set_new(j, "shortNames", r->short_names);
    }
    r->categories = json_object_get(j, "categories");
    if (!r->categories) {
        r->categories = json_array();
        json_object_set_new(j, "categories", r->categories);
    }
    /* Derived strings live in `keep`, an array owned by the table, so they share its lifetime. */
    char *list_kind = xasprintf("%sList", r->kind);
    json_array_append_new(keep, json_string(list_kind));
    r->list_kind = json_string_value(json_array_get(keep, json_array_size(keep) - 1));
    free(list_kind);
    char *q = *r->group ? xasprintf("%s.%s", r->plural, r->group) : xstrdup(r->plural);
    json_array_append_new(keep, json_string(q));
    r->qualified = json_string_value(json_array_get(keep, json_array_size(keep) - 1));
    free(q);
    r->definition = definition_for(defs, r->group, r->version, r->kind);
    r->list_definition = definition_for(defs, r->group, r->version, r->list_kind);
    json_t *subs = json_object_get(j, "subresources");
    r->n_subresources = json_array_size(subs);
    r->subresources = xcalloc(r->n_subresources, sizeof(*r->subresources));
    for (size_t i = 0; i < r->n_subresources; i++) {
        json_t *s = json_array_get(subs, i);
        r->subresources[i].name = json_string_value(json_object_get(s, "name"));
        r->subresources[i].verbs_json = json_object_get(s, "verbs");
        r->subresources[i].verbs = verbs_of(r->subresources[i].verbs_json);
        if (!r->subresources[i].name)
            return fail(msg, n, "a subresource lacks a name");
    }
    return 0;
}

struct api *api_new(const char *resources_json, const char *definitions_json, char *msg,
                    size_t msg_len)
{
    json_error_t jerr;
    struct api *api = xcalloc(1, sizeof(*api));
    api->raw = json_loads(resources_json, 0, &jerr);
    json_t *defs = json_loads(definitions_json, 0, &jerr);
    if (!api->raw || !defs) {
        snprintf(msg, msg_len, "api data does not parse: %s", jerr.text);
        json_decref(defs);
        api_free(api);
        return NULL;
    }
    api->schema = schema_new(defs);
    json_decref(defs);
    json_t *keep = json_array();
    json_object_set_new(api->raw, "_derived", keep);
    json_t *groups = json_object_get(api->raw, "groups");
    api->n_gvs = json_array_size(groups);
    api->gvs = xcalloc(api->n_gvs, sizeof(*api->gvs));
    for (size_t g = 0; g < api->n_gvs; g++) {
        json_t *jg = json_array_get(groups, g);
        struct api_group_version *gv = &api->gvs[g];
        gv->group = json_string_value(json_object_get(jg, "group"));
        gv->version = json_string_value(json_object_get(jg, "version"));
        if (!gv->group || !gv->version) {
            snprintf(msg, msg_len, "group %zu lacks group or version", g);
            api_free(api);
            return NULL;
        }
        char *gvs = *gv->group ? xasprintf("%s/%s", gv->group, gv->version) : xstrdup(gv->version);
        json_array_append_new(keep, json_string(gvs));
        gv->group_version = json_string_value(json_array_get(keep, json_array_size(keep) - 1));
        free(gvs);
        json_t *res = json_object_get(jg, "resources");
        gv->n_resources = json_array_size(res);
        gv->resources = xcalloc(gv->n_resources, sizeof(*gv->resources));
        for (size_t i = 0; i < gv->n_resources; i++) {
            if (load_resource(&gv->resources[i], json_array_get(res, i), gv,
                              schema_definitions(api->schema), keep, msg, msg_len)) {
                api_free(api);
                return NULL;
            }
        }
    }
    return api;
}

void api_free(struct api *api)
{
    if (!api)
        return;
    for (size_t g = 0; g < api->n_gvs; g++) {
        for (size_t i = 0; i < api->gvs[g].n_resources; i++)
            free(api->gvs[g].resources[i].subresources);
        free(api->gvs[g].resources);
    }
    free(api->gvs);
    schema_free(api->schema);
    json_decref(api->raw);
    free(api);
}

static struct api *builtin;
static pthread_once_t builtin_once = PTHREAD_ONCE_INIT;

static void builtin_load(void)
{
    char msg[256];
    builtin = api_new(svc_api_resources_json, svc_api_definitions_json, msg, sizeof(msg));
    if (!builtin) {
        /* The data is compiled in: failing here is a build defect, not a user error. */
        fprintf(stderr, "svc-apiserver: built-in API data is broken: %s\n", msg);
        abort();
    }
}

const struct api *api_builtin(void)
{
    pthread_once(&builtin_once, builtin_load);
    return builtin;
}

const struct api_group_version *api_find_group_version(const struct api *api, const char *group,
                                                       const char *version)
{
    for (size_t g = 0; g < api->n_gvs; g++)
        if (!strcmp(api->gvs[g].group, group) && !strcmp(api->gvs[g].version, version))
            return &api->gvs[g];
    return NULL;
}

const struct api_resource *api_find_resource(const struct api *api, const char *group,
                                             const char *version, const char *plural)
{
    const struct api_group_version *gv = api_find_group_version(api, group, version);
    for (size_t i = 0; gv && i < gv->n_resources; i++)
        if (!strcmp(gv->resources[i].plural, plural))
            return &gv->resources[i];
    return NULL;
}

const struct api_resource *api_find_kind(const struct api *api, const char *group,
                                         const char *version, const char *kind)
{
    const struct api_group_version *gv = api_find_group_version(api, group, version);
    for (size_t i = 0; gv && i < gv->n_resources; i++)
        if (!strcmp(gv->resources[i].kind, kind))
            return &gv->resources[i];
    return NULL;
}

const struct api_subresource *api_find_subresource(const struct api_resource *res,
                                                   const char *name)
{
    for (size_t i = 0; i < res->n_subresources; i++)
        if (!strcmp(res->subresources[i].name, name))
            return &res->subresources[i];
    return NULL;
}
