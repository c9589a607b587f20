/*
 * test_openapi: the OpenAPI documents compiled from api/ (tools/openapi_gen.c,
 * tools/protobuf_writer.c, data in src/api_data.c) and their HTTP answers (src/rest/openapi.c).
 *
 * Expected values come from upstream: the gnostic field numbers of openapiv2/OpenAPIv2.proto
 * (read back with a small protobuf reader written here, independent of the encoder), what
 * kubectl's query-parameter verifiers and explain look for (kubectl-contract.md §3,
 * cli-runtime query_param_verifier*.go, kubectl explain/v2 templates), kube-openapi's handlers
 * (Content-Types, 406, index URL form, SHA-512 hashes) and FIPS 180-4 test vectors.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../tools/openapi_gen.h"
#include "../../tools/protobuf_writer.h"
#include "svc/api.h"
#include "svc/openapi.h"
#include "svc/rest.h"
#include "svc/strbuf.h"

#define KUBECTL_V2_ACCEPT "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"

/* ---- a protobuf reader, only as much as the tests need ----------------------------------------
 */

struct pbmsg {
    const unsigned char *p;
    size_t len;
};

/* Read one field at *off: its number, wire type, varint value or length-delimited bytes.
   1 when a field was read, 0 at the end, -1 when the bytes are not valid protobuf. */
static int pb_next(struct pbmsg m, size_t *off, unsigned *field, unsigned *wire, uint64_t *val,
                   struct pbmsg *sub)
{
    if (*off == m.len)
        return 0;
    uint64_t key = 0;
    for (int shift = 0;; shift += 7) {
        if (*off >= m.len || shift > 63)
            return -1;
        unsigned char b = m.p[(*off)++];
        key |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            break;
    }
    *field = (unsigned)(key >> 3);
    *wire = (unsigned)(key & 7);
    if (*field == 0)
        return -1;
    switch (*wire) {
    case 0:
    case 2: {
        uint64_t v = 0;
        for (int shift = 0;; shift += 7) {
            if (*off >= m.len || shift > 63)
                return -1;
            unsigned char b = m.p[(*off)++];
            v |= (uint64_t)(b & 0x7f) << shift;
            if (!(b & 0x80))
                break;
        }
        *val = v;
        if (*wire == 2) {
            if (v > m.len - *off)
                return -1;
            sub->p = m.p + *off;
            sub->len = (size_t)v;
            *off += (size_t)v;
        }
        return 1;
    }
    case 1:
        if (m.len - *off < 8)
            return -1;
        *off += 8;
        return 1;
    case 5:
        if (m.len - *off < 4)
            return -1;
        *off += 4;
        return 1;
    default:
        return -1;
    }
}

/* Whether every field of m is well-formed at this level. */
static bool pb_valid(struct pbmsg m)
{
    size_t off = 0;
    unsigned f, w;
    uint64_t v;
    struct pbmsg s;
    int rc;
    while ((rc = pb_next(m, &off, &f, &w, &v, &s)) == 1)
        ;
    return rc == 0;
}

/* The index-th length-delimited occurrence of field in m. */
static bool pb_get(struct pbmsg m, unsigned field, size_t index, struct pbmsg *out)
{
    size_t off = 0;
    unsigned f, w;
    uint64_t v;
    struct pbmsg s;
    while (pb_next(m, &off, &f, &w, &v, &s) == 1) {
        if (f == field && w == 2 && index-- == 0) {
            *out = s;
            return true;
        }
    }
    return false;
}

static size_t pb_count(struct pbmsg m, unsigned field)
{
    size_t n = 0, off = 0;
    unsigned f, w;
    uint64_t v;
    struct pbmsg s;
    while (pb_next(m, &off, &f, &w, &v, &s) == 1)
        n += f == field;
    return n;
}

/* A string field as a NUL-terminated copy (caller frees), or NULL when absent. */
static char *pb_str(struct pbmsg m, unsigned field)
{
    struct pbmsg s;
    if (!pb_get(m, field, 0, &s))
        return NULL;
    char *out = malloc(s.len + 1);
    cr_assert_not_null(out);
    memcpy(out, s.p, s.len);
    out[s.len] = '\0';
    return out;
}

static bool pb_str_is(struct pbmsg m, unsigned field, const char *want)
{
    char *got = pb_str(m, field);
    bool same = got && !strcmp(got, want);
    free(got);
    return same;
}

/* In a repeated Named* field (name = 1, value = 2), the value of the entry called name. */
static bool pb_named(struct pbmsg m, unsigned field, const char *name, struct pbmsg *value)
{
    struct pbmsg entry;
    for (size_t i = 0; pb_get(m, field, i, &entry); i++) {
        if (pb_str_is(entry, 1, name))
            return pb_get(entry, 2, 0, value);
    }
    return false;
}

/* The YAML of a vendor extension (NamedAny in field), as a copy, or NULL. */
static char *pb_extension(struct pbmsg m, unsigned field, const char *name)
{
    struct pbmsg any;
    if (!pb_named(m, field, name, &any))
        return NULL;
    return pb_str(any, 2); /* Any.yaml */
}

static struct pbmsg v2_document(void)
{
    struct pbmsg doc = {(const unsigned char *)svc_openapi_v2_pb, svc_openapi_v2_pb_len};
    return doc;
}

/* Document.definitions(9) -> Definitions.additional_properties(1) -> the Schema of name. */
static struct pbmsg v2_definition(const char *name)
{
    struct pbmsg defs, schema;
    cr_assert(pb_get(v2_document(), 9, 0, &defs));
    cr_assert(pb_named(defs, 1, name, &schema), "no definition %s", name);
    return schema;
}

/* Schema.properties(25) -> Properties.additional_properties(1) -> the Schema of name. */
static struct pbmsg v2_property(struct pbmsg schema, const char *name)
{
    struct pbmsg props, prop;
    cr_assert(pb_get(schema, 25, 0, &props));
    cr_assert(pb_named(props, 1, name, &prop), "no property %s", name);
    return prop;
}

/* ---- helpers over the JSON documents ----------------------------------------------------------
 */

static json_t *load(const char *text, size_t len)
{
    json_error_t err;
    json_t *doc = json_loadb(text, len, 0, &err);
    cr_assert_not_null(doc, "document is not JSON: %s", err.text);
    return doc;
}

static json_t *resources(void)
{
    return load(svc_api_resources_json, strlen(svc_api_resources_json));
}

static json_t *v3_doc(const char *path)
{
    const struct openapi_v3_doc *d = openapi_v3_find(path);
    cr_assert_not_null(d, "no v3 document %s", path);
    return load(d->json, d->json_len);
}

static void gv_paths(const json_t *group, char *doc, size_t doc_len, char *prefix,
                     size_t prefix_len)
{
    const char *g = json_string_value(json_object_get(group, "group"));
    const char *v = json_string_value(json_object_get(group, "version"));
    if (*g) {
        snprintf(doc, doc_len, "apis/%s/%s", g, v);
        snprintf(prefix, prefix_len, "/apis/%s/%s", g, v);
    } else {
        snprintf(doc, doc_len, "api/%s", v);
        snprintf(prefix, prefix_len, "/api/%s", v);
    }
}

/* The object path of a resource: .../namespaces/{namespace}/<plural>/{name} or .../<plural>/{name}.
 */
static void object_path(const char *prefix, const json_t *res, char *out, size_t len)
{
    snprintf(out, len, "%s%s/%s/{name}", prefix,
             json_is_true(json_object_get(res, "namespaced")) ? "/namespaces/{namespace}" : "",
             json_string_value(json_object_get(res, "plural")));
}

static bool has_param(const json_t *op, const char *name, const char *in)
{
    size_t i;
    json_t *p;
    json_array_foreach (json_object_get(op, "parameters"), i, p) {
        if (!strcmp(json_string_value(json_object_get(p, "name")), name) &&
            !strcmp(json_string_value(json_object_get(p, "in")), in))
            return true;
    }
    return false;
}

static bool is_gvk(const json_t *gvk, const char *group, const char *version, const char *kind)
{
    return json_object_size(gvk) == 3 &&
           !strcmp(json_string_value(json_object_get(gvk, "group")), group) &&
           !strcmp(json_string_value(json_object_get(gvk, "version")), version) &&
           !strcmp(json_string_value(json_object_get(gvk, "kind")), kind);
}

/* ---- the Swagger 2.0 protobuf ------------------------------------------------------------------
 */

Test(openapi, v2_protobuf_is_well_formed_gnostic_document)
{
    struct pbmsg doc = v2_document(), info;
    cr_assert(pb_valid(doc));
    cr_assert(pb_str_is(doc, 1, "2.0"), "swagger");
    cr_assert(pb_get(doc, 2, 0, &info));
    cr_assert(pb_str_is(info, 1, "Kubernetes"), "info.title");
    char *version = pb_str(info, 2);
    cr_assert_not_null(version);
    cr_expect_eq(strncmp(version, "v1.", 3), 0, "info.version %s", version);
    free(version);
}

/* What cli-runtime's supportsQueryParam reads (kubectl-contract.md §3.3). */
Test(openapi, v2_service_patch_carries_field_validation_and_gvk)
{
    struct pbmsg paths, item, patch, param_item, param, non_body, query;
    cr_assert(pb_get(v2_document(), 8, 0, &paths));
    cr_assert(pb_named(paths, 2, "/api/v1/namespaces/{namespace}/services/{name}", &item));
    cr_assert(pb_get(item, 8, 0, &patch), "PathItem.patch");
    char *gvk = pb_extension(patch, 13, "x-kubernetes-group-version-kind");
    cr_assert_not_null(gvk);
    cr_expect_str_eq(gvk, "group: \"\"\nkind: Service\nversion: v1\n");
    free(gvk);
    bool found = false;
    for (size_t i = 0; pb_get(patch, 8, i, &param_item); i++) {
        if (!pb_get(param_item, 1, 0, &param) || !pb_get(param, 2, 0, &non_body) ||
            !pb_get(non_body, 3, 0, &query))
            continue;
        if (pb_str_is(query, 4, "fieldValidation")) {
            cr_expect(pb_str_is(query, 2, "query"));
            cr_expect(pb_str_is(query, 6, "string"));
            found = true;
        }
    }
    cr_expect(found, "no fieldValidation query parameter");
}

Test(openapi, v2_every_served_kind_has_a_patch_operation_with_field_validation)
{
    json_t *res_doc = resources();
    json_t *swagger = load(svc_openapi_v2_json, svc_openapi_v2_json_len);
    size_t g, r;
    json_t *group, *res;
    json_array_foreach (json_object_get(res_doc, "groups"), g, group) {
        char doc[128], prefix[128], path[256];
        gv_paths(group, doc, sizeof(doc), prefix, sizeof(prefix));
        json_array_foreach (json_object_get(group, "resources"), r, res) {
            object_path(prefix, res, path, sizeof(path));
            json_t *patch =
                json_object_get(json_object_get(json_object_get(swagger, "paths"), path), "patch");
            cr_assert_not_null(patch, "no PATCH on %s", path);
            cr_expect(has_param(patch, "fieldValidation", "query"), "%s", path);
            cr_expect(is_gvk(json_object_get(patch, "x-kubernetes-group-version-kind"),
                             json_string_value(json_object_get(group, "group")),
                             json_string_value(json_object_get(group, "version")),
                             json_string_value(json_object_get(res, "kind"))),
                      "%s", path);
        }
    }
    json_decref(swagger);
    json_decref(res_doc);
}

/* kubectl 1.27/1.28 read definitions from v2 (explain, apply patches): all of api/types. */
Test(openapi, v2_protobuf_defines_every_type_of_api_types)
{
    json_t *defs = load(svc_api_definitions_json, strlen(svc_api_definitions_json));
    struct pbmsg pdefs;
    cr_assert(pb_get(v2_document(), 9, 0, &pdefs));
    cr_expect_eq(pb_count(pdefs, 1), json_object_size(defs));
    const char *name;
    json_t *def;
    json_object_foreach (defs, name, def) {
        struct pbmsg schema;
        cr_expect(pb_named(pdefs, 1, name, &schema), "%s missing", name);
    }
    json_decref(defs);
}

Test(openapi, v2_schema_fields_use_gnostic_numbers)
{
    struct pbmsg service = v2_definition("io.k8s.api.core.v1.Service");
    struct pbmsg type, spec = v2_property(service, "spec");
    cr_expect(pb_str_is(spec, 1, "#/definitions/io.k8s.api.core.v1.ServiceSpec"), "$ref");
    cr_expect(pb_get(service, 22, 0, &type) && pb_str_is(type, 1, "object"), "type object");
    char *gvk = pb_extension(service, 31, "x-kubernetes-group-version-kind");
    cr_assert_not_null(gvk);
    cr_expect_str_eq(gvk, "- group: \"\"\n  kind: Service\n  version: v1\n");
    free(gvk);

    struct pbmsg ports = v2_property(v2_definition("io.k8s.api.core.v1.ServiceSpec"), "ports");
    struct pbmsg items, item;
    cr_expect(pb_get(ports, 22, 0, &type) && pb_str_is(type, 1, "array"));
    cr_assert(pb_get(ports, 23, 0, &items) && pb_get(items, 1, 0, &item));
    cr_expect(pb_str_is(item, 1, "#/definitions/io.k8s.api.core.v1.ServicePort"));
    char *strategy = pb_extension(ports, 31, "x-kubernetes-patch-strategy");
    char *key = pb_extension(ports, 31, "x-kubernetes-patch-merge-key");
    char *list_type = pb_extension(ports, 31, "x-kubernetes-list-type");
    char *map_keys = pb_extension(ports, 31, "x-kubernetes-list-map-keys");
    cr_assert(strategy && key && list_type && map_keys);
    cr_expect_str_eq(strategy, "merge\n");
    cr_expect_str_eq(key, "port\n");
    cr_expect_str_eq(list_type, "map\n");
    cr_expect_str_eq(map_keys, "- port\n- protocol\n");
    free(strategy);
    free(key);
    free(list_type);
    free(map_keys);

    struct pbmsg port = v2_definition("io.k8s.api.core.v1.ServicePort");
    struct pbmsg required;
    cr_expect(pb_get(port, 19, 0, &required) && required.len == 4 &&
              !memcmp(required.p, "port", 4));
    cr_expect(pb_str_is(v2_property(port, "port"), 2, "int32"), "format");

    struct pbmsg selector =
        v2_property(v2_definition("io.k8s.api.core.v1.ServiceSpec"), "selector");
    struct pbmsg additional, value;
    cr_assert(pb_get(selector, 21, 0, &additional) && pb_get(additional, 1, 0, &value));
    cr_expect(pb_get(value, 22, 0, &type) && pb_str_is(type, 1, "string"));
    char *map_type = pb_extension(selector, 31, "x-kubernetes-map-type");
    cr_assert_not_null(map_type);
    cr_expect_str_eq(map_type, "atomic\n");
    free(map_type);
}

Test(openapi, v2_protobuf_lists_the_json_paths_in_order)
{
    json_t *swagger = load(svc_openapi_v2_json, svc_openapi_v2_json_len);
    struct pbmsg paths, entry;
    cr_assert(pb_get(v2_document(), 8, 0, &paths));
    size_t i = 0;
    const char *path;
    json_t *item;
    json_object_foreach (json_object_get(swagger, "paths"), path, item) {
        cr_assert(pb_get(paths, 2, i, &entry), "path %zu missing", i);
        cr_expect(pb_str_is(entry, 1, path), "path %zu is not %s", i, path);
        i++;
    }
    cr_expect_eq(pb_count(paths, 2), i);
    json_decref(swagger);
}

/* ---- OpenAPI v3 ---------------------------------------------------------------------------------
 */

Test(openapi, v3_index_names_each_document_with_its_hash)
{
    json_t *index = load(svc_openapi_v3_index_json, svc_openapi_v3_index_json_len);
    json_t *paths = json_object_get(index, "paths");
    cr_expect_eq(json_object_size(index), 1);
    cr_expect_eq(json_object_size(paths), svc_openapi_v3_n_docs);
    for (size_t i = 0; i < svc_openapi_v3_n_docs; i++) {
        const struct openapi_v3_doc *d = &svc_openapi_v3_docs[i];
        char hex[129], url[512];
        openapi_sha512_hex(d->json, d->json_len, hex);
        cr_expect_str_eq(d->hash, hex, "%s", d->path);
        snprintf(url, sizeof(url), "/openapi/v3/%s?hash=%s", d->path, d->hash);
        json_t *entry = json_object_get(paths, d->path);
        cr_expect_eq(json_object_size(entry), 1);
        cr_expect_str_eq(json_string_value(json_object_get(entry, "serverRelativeURL")), url);
    }
    char hex[129];
    openapi_sha512_hex(svc_openapi_v2_json, svc_openapi_v2_json_len, hex);
    cr_expect_str_eq(svc_openapi_v2_hash, hex);
    /* every served group version and the discovery documents */
    const char *want[] = {"api/v1", "apis/apps/v1", "apis/discovery.k8s.io/v1", "api", "apis"};
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        cr_expect_not_null(json_object_get(paths, want[i]), "%s", want[i]);
    json_decref(index);
}

static void check_refs(const json_t *v, const json_t *schemas, const char *doc, int depth)
{
    cr_assert_lt(depth, 64);
    if (json_is_object(v)) {
        const char *key;
        json_t *child;
        const char *ref = json_string_value(json_object_get(v, "$ref"));
        if (ref) {
            /* OpenAPI 3.0 ignores siblings of $ref: upstream wraps them in allOf */
            cr_expect_eq(json_object_size(v), 1, "%s: $ref %s has siblings", doc, ref);
            cr_assert_eq(strncmp(ref, "#/components/schemas/", 21), 0, "%s: %s", doc, ref);
            cr_expect_not_null(json_object_get(schemas, ref + 21), "%s: %s unresolved", doc, ref);
        }
        json_object_foreach ((json_t *)v, key, child)
            check_refs(child, schemas, doc, depth + 1);
    } else if (json_is_array(v)) {
        size_t i;
        json_t *child;
        json_array_foreach (v, i, child)
            check_refs(child, schemas, doc, depth + 1);
    }
}

Test(openapi, v3_refs_resolve_inside_each_document)
{
    for (size_t i = 0; i < svc_openapi_v3_n_docs; i++) {
        json_t *doc = v3_doc(svc_openapi_v3_docs[i].path);
        cr_expect_str_eq(json_string_value(json_object_get(doc, "openapi")), "3.0.0");
        json_t *schemas = json_object_get(json_object_get(doc, "components"), "schemas");
        cr_assert(json_object_size(schemas) > 0, "%s", svc_openapi_v3_docs[i].path);
        check_refs(doc, schemas, svc_openapi_v3_docs[i].path, 0);
        json_decref(doc);
    }
}

/* kubectl explain (plaintext template) and the v3 verifiers (kubectl-contract.md §3.4). */
Test(openapi, v3_every_kind_has_its_schema_and_gvk_operations)
{
    json_t *res_doc = resources();
    size_t g, r;
    json_t *group, *res;
    json_array_foreach (json_object_get(res_doc, "groups"), g, group) {
        char docname[128], prefix[128], path[256];
        const char *gname = json_string_value(json_object_get(group, "group"));
        const char *version = json_string_value(json_object_get(group, "version"));
        gv_paths(group, docname, sizeof(docname), prefix, sizeof(prefix));
        json_t *doc = v3_doc(docname);
        json_t *schemas = json_object_get(json_object_get(doc, "components"), "schemas");
        json_array_foreach (json_object_get(group, "resources"), r, res) {
            const char *kind = json_string_value(json_object_get(res, "kind"));
            object_path(prefix, res, path, sizeof(path));
            json_t *item = json_object_get(json_object_get(doc, "paths"), path);
            cr_assert_not_null(item, "%s: no %s", docname, path);
            const char *methods[] = {"get", "put", "patch", "delete"};
            for (size_t m = 0; m < 4; m++) {
                json_t *op = json_object_get(item, methods[m]);
                if (op)
                    cr_expect(is_gvk(json_object_get(op, "x-kubernetes-group-version-kind"), gname,
                                     version, kind),
                              "%s %s", methods[m], path);
            }
            cr_expect(has_param(json_object_get(item, "patch"), "fieldValidation", "query"), "%s",
                      path);
            /* the schema of the kind and of its list carry the gvk as a one-entry list */
            for (int list = 0; list < 2; list++) {
                char want[128];
                snprintf(want, sizeof(want), "%s%s", kind, list ? "List" : "");
                bool found = false;
                const char *name;
                json_t *schema;
                json_object_foreach (schemas, name, schema) {
                    size_t k;
                    json_t *e;
                    json_array_foreach (json_object_get(schema, "x-kubernetes-group-version-kind"),
                                        k, e) {
                        if (is_gvk(e, gname, version, want)) {
                            found = true;
                            cr_expect(json_object_get(schema, "properties") != NULL, "%s", name);
                        }
                    }
                }
                cr_expect(found, "%s: no schema for %s", docname, want);
            }
        }
        json_decref(doc);
    }
    json_decref(res_doc);
}

Test(openapi, v3_ref_properties_are_wrapped_in_all_of_with_defaults)
{
    json_t *doc = v3_doc("api/v1");
    json_t *schemas = json_object_get(json_object_get(doc, "components"), "schemas");
    json_t *service = json_object_get(schemas, "io.k8s.api.core.v1.Service");
    json_t *metadata = json_object_get(json_object_get(service, "properties"), "metadata");
    json_t *expect_all_of = json_pack(
        "[{s:s}]", "$ref", "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta");
    json_t *empty = json_object(), *zero = json_integer(0);
    cr_expect(json_equal(json_object_get(metadata, "allOf"), expect_all_of));
    cr_expect(json_equal(json_object_get(metadata, "default"), empty));
    cr_expect(json_is_string(json_object_get(metadata, "description")));
    json_decref(expect_all_of);
    /* a pointer struct gets no default; a non-omitempty scalar gets its zero value */
    json_t *spec =
        json_object_get(json_object_get(schemas, "io.k8s.api.core.v1.ServiceSpec"), "properties");
    cr_expect_null(json_object_get(json_object_get(spec, "sessionAffinityConfig"), "default"));
    json_t *port = json_object_get(
        json_object_get(json_object_get(schemas, "io.k8s.api.core.v1.ServicePort"), "properties"),
        "port");
    cr_expect(json_equal(json_object_get(port, "default"), zero));
    json_decref(zero);
    json_decref(empty);
    /* IntOrString is a oneOf in v3 (apimachinery OpenAPIV3OneOfTypes), a string in v2 */
    json_t *ios = json_object_get(schemas, "io.k8s.apimachinery.pkg.util.intstr.IntOrString");
    cr_expect_null(json_object_get(ios, "type"));
    cr_expect_eq(json_array_size(json_object_get(ios, "oneOf")), 2);
    json_decref(doc);
}

/*
 * kubectl 1.29+ computes client-side apply patches from the v3 schema when PATCH lists the
 * strategic-merge type, and 1.27/1.28 from v2 when consumes lists it: only for kinds whose
 * schema carries all the patch metadata (not for Pod, which has preserve-unknown subtrees).
 */
Test(openapi, strategic_merge_is_advertised_only_with_complete_patch_metadata)
{
    json_t *doc = v3_doc("api/v1");
    json_t *swagger = load(svc_openapi_v2_json, svc_openapi_v2_json_len);
    const char *svc = "/api/v1/namespaces/{namespace}/services/{name}";
    const char *pod = "/api/v1/namespaces/{namespace}/pods/{name}";
    json_t *p3 = json_object_get(doc, "paths"), *p2 = json_object_get(swagger, "paths");
    json_t *content = json_object_get(
        json_object_get(
            json_object_get(json_object_get(json_object_get(p3, svc), "patch"), "requestBody"),
            "content"),
        "application/strategic-merge-patch+json");
    cr_expect_not_null(content);
    cr_expect_null(
        json_object_get(json_object_get(json_object_get(p3, pod), "patch"), "requestBody"));
    json_t *consumes =
        json_object_get(json_object_get(json_object_get(p2, svc), "patch"), "consumes");
    bool smp = false;
    size_t i;
    json_t *c;
    json_array_foreach (consumes, i, c)
        smp |= !strcmp(json_string_value(c), "application/strategic-merge-patch+json");
    cr_expect(smp);
    cr_expect_null(json_object_get(json_object_get(json_object_get(p2, pod), "patch"), "consumes"));
    json_decref(swagger);
    json_decref(doc);
}

/* ---- the generator's pieces
 * ---------------------------------------------------------------------- */

Test(openapi, sha512_matches_fips_vectors)
{
    char hex[129];
    openapi_sha512_hex("abc", 3, hex);
    cr_expect_str_eq(hex, "DDAF35A193617ABACC417349AE20413112E6FA4E89A97EA20A9EEEE64B55D39A"
                          "2192992A274FC1A836BA3C23A3FEEBBD454D4423643CE80E2A9AC94FA54CA49F");
    openapi_sha512_hex("", 0, hex);
    cr_expect_str_eq(hex, "CF83E1357EEFB8BDF1542850D66D8007D620E4050B5715DC83F4A921D36CE9CE"
                          "47D0D13C5D85F2B0FF8318D2877EEC2F63B931BD47417A81A538327AF927DA3E");
    const char *two = "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklm"
                      "nopqklmnopqrlmnopqrsmnopqrstnopqrstu";
    openapi_sha512_hex(two, strlen(two), hex);
    cr_expect_str_eq(hex, "8E959B75DAE313DA8CF4F72814FC143F8F7779C6EB9F7FA17299AEADB6889018"
                          "501D289E4900F7E4331B99DEC4B5433AC7D329EEB6DD26545E96E55B874BE909");
}

static char *yaml_of(const char *json)
{
    json_t *v = json_loads(json, JSON_DECODE_ANY, NULL);
    cr_assert_not_null(v);
    struct strbuf sb;
    strbuf_init(&sb, STRBUF_NO_LIMIT);
    cr_assert_eq(pbw_yaml(&sb, v), 0);
    json_decref(v);
    return strbuf_detach(&sb, NULL);
}

Test(openapi, yaml_of_any_quotes_what_yaml_would_misread)
{
    static const struct {
        const char *json, *yaml;
    } cases[] = {
        {"\"\"", "\"\"\n"},
        {"\"merge,retainKeys\"", "merge,retainKeys\n"},
        {"\"yes\"", "\"yes\"\n"},
        {"\"True\"", "\"True\"\n"},
        {"\"80\"", "\"80\"\n"},
        {"\"a: b\"", "\"a: b\"\n"},
        {"\"line\\nbreak\"", "\"line\\nbreak\"\n"},
        {"true", "true\n"},
        {"0", "0\n"},
        {"{}", "{}\n"},
        {"[]", "[]\n"},
        {"[\"port\",\"protocol\"]", "- port\n- protocol\n"},
        {"{\"group\":\"apps\",\"kind\":\"ReplicaSet\",\"version\":\"v1\"}",
         "group: apps\nkind: ReplicaSet\nversion: v1\n"},
        {"[{\"a\":{\"b\":[1,{\"c\":null}]}}]", "- a:\n    b:\n      - 1\n      - c: null\n"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *got = yaml_of(cases[i].json);
        cr_expect_str_eq(got, cases[i].yaml, "for %s", cases[i].json);
        free(got);
    }
}

Test(openapi, protobuf_encoder_refuses_what_it_does_not_know)
{
    char err[256];
    struct strbuf sb;
    strbuf_init(&sb, STRBUF_NO_LIMIT);
    json_t *doc = json_pack("{s:s,s:{s:{s:{s:s}}}}", "swagger", "2.0", "definitions", "X",
                            "properties", "a", "bogus");
    cr_expect_eq(pbw_openapi_v2(doc, &sb, err, sizeof(err)), -1);
    cr_expect(strstr(err, "/definitions/X/properties/a") != NULL, "%s", err);
    json_decref(doc);
    doc = json_pack("{s:s,s:i}", "swagger", "2.0", "webhooks", 1);
    cr_expect_eq(pbw_openapi_v2(doc, &sb, err, sizeof(err)), -1);
    cr_expect(strstr(err, "webhooks") != NULL, "%s", err);
    json_decref(doc);
    strbuf_release(&sb);
}

Test(openapi, protobuf_varints_and_fields)
{
    struct strbuf sb;
    strbuf_init(&sb, STRBUF_NO_LIMIT);
    pbw_varint(&sb, 300);
    pbw_bytes(&sb, 2, "hi", 2);
    pbw_uint(&sb, 16, 1);
    const unsigned char want[] = {0xac, 0x02, 0x12, 0x02, 'h', 'i', 0x80, 0x01, 0x01};
    cr_assert_eq(sb.len, sizeof(want));
    cr_expect_eq(memcmp(sb.buf, want, sizeof(want)), 0);
    strbuf_release(&sb);
}

/* ---- the HTTP answers ---------------------------------------------------------------------------
 */

struct exchange {
    struct rest_request req;
    struct route route;
    struct rest_response resp;
};

static void serve(struct exchange *x, const char *target, const char *accept)
{
    memset(&x->req, 0, sizeof(x->req));
    cr_assert_eq(rest_request_parse_target(&x->req, target), 0);
    x->req.method = "GET";
    x->req.accept = accept;
    route_parse(api_builtin(), x->req.path, &x->route);
    rest_response_init(&x->resp);
    openapi_handle(&x->req, &x->route, &x->resp);
}

static void done(struct exchange *x)
{
    rest_response_release(&x->resp);
    route_release(&x->route);
    rest_request_release(&x->req);
}

static bool body_is(const struct exchange *x, const char *data, size_t len)
{
    return x->resp.body.len == len && !memcmp(x->resp.body.buf, data, len);
}

Test(openapi, v2_answers_kubectl_with_dotted_protobuf_type)
{
    const char *targets[] = {"/openapi/v2?timeout=32s", "/swagger-2.0.0.pb-v1"};
    for (size_t i = 0; i < 2; i++) {
        struct exchange x;
        serve(&x, targets[i], KUBECTL_V2_ACCEPT);
        cr_expect_eq(x.resp.status, 200);
        cr_expect_str_eq(x.resp.content_type,
                         "application/com.github.proto-openapi.spec.v2.v1.0+protobuf");
        cr_expect(body_is(&x, svc_openapi_v2_pb, svc_openapi_v2_pb_len));
        done(&x);
    }
}

Test(openapi, v2_negotiates_like_kube_openapi)
{
    static const struct {
        const char *accept;
        int status;
        const char *type;
    } cases[] = {
        {NULL, 200, "application/json"},
        {"", 200, "application/json"},
        {"*/*", 200, "application/json"},
        {"application/json", 200, "application/json"},
        {"application/*", 200, "application/json"},
        {"application/com.github.proto-openapi.spec.v2.v1.0+protobuf", 200,
         OPENAPI_V2_PROTOBUF_TYPE},
        {"application/json;q=0.5, " KUBECTL_V2_ACCEPT, 200, OPENAPI_V2_PROTOBUF_TYPE},
        {"*/*;q=0.8, " KUBECTL_V2_ACCEPT ";q=0.9", 200, OPENAPI_V2_PROTOBUF_TYPE},
        {"text/html, application/json", 200, "application/json"},
        /* goautoneg puts a concrete type before a wildcard whatever their q */
        {"*/*;q=0.9, " KUBECTL_V2_ACCEPT ";q=0.1", 200, OPENAPI_V2_PROTOBUF_TYPE},
        {"application / json", 200, "application/json"},
        {"application/yaml", 406, NULL},
        {"application/vnd.kubernetes.protobuf", 406, NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct exchange x;
        serve(&x, "/openapi/v2", cases[i].accept);
        cr_expect_eq(x.resp.status, cases[i].status, "Accept: %s", cases[i].accept);
        if (cases[i].type) {
            cr_expect_str_eq(x.resp.content_type, cases[i].type, "Accept: %s", cases[i].accept);
            if (!strcmp(cases[i].type, "application/json"))
                cr_expect(body_is(&x, svc_openapi_v2_json, svc_openapi_v2_json_len));
        } else {
            cr_expect_eq(x.resp.body.len, 0);
        }
        done(&x);
    }
}

Test(openapi, v3_index_and_documents_are_served_as_json)
{
    struct exchange x;
    serve(&x, "/openapi/v3?timeout=32s", "application/json, */*");
    cr_expect_eq(x.resp.status, 200);
    cr_expect_str_eq(x.resp.content_type, "application/json");
    cr_expect(body_is(&x, svc_openapi_v3_index_json, svc_openapi_v3_index_json_len));
    done(&x);

    const struct openapi_v3_doc *d = openapi_v3_find("apis/apps/v1");
    cr_assert_not_null(d);
    char target[512];
    snprintf(target, sizeof(target), "/openapi/v3/apis/apps/v1?hash=%s&timeout=32s", d->hash);
    serve(&x, target, "application/json");
    cr_expect_eq(x.resp.status, 200);
    cr_expect_str_eq(x.resp.content_type, "application/json");
    cr_expect(body_is(&x, d->json, d->json_len));
#ifdef REST_RESPONSE_HEADERS
    cr_expect_str_eq(json_string_value(json_object_get(x.resp.headers, "Cache-Control")),
                     "public, immutable");
#endif
    done(&x);
}

Test(openapi, v3_unknown_group_version_and_unservable_accept)
{
    struct exchange x;
    serve(&x, "/openapi/v3/apis/batch/v1", "application/json");
    cr_expect_eq(x.resp.status, 404);
    cr_expect_eq(x.resp.body.len, 0);
    done(&x);
    serve(&x, "/openapi/v3/api/v1/", "application/json");
    cr_expect_eq(x.resp.status, 404);
    done(&x);
    /* the v3 protobuf is not produced here: a client that takes nothing else gets 406 */
    serve(&x, "/openapi/v3/api/v1", "application/com.github.proto-openapi.spec.v3.v1.0+protobuf");
    cr_expect_eq(x.resp.status, 406);
    done(&x);
}

Test(openapi, v3_stale_hash_gets_the_current_document)
{
    struct exchange x;
    const struct openapi_v3_doc *d = openapi_v3_find("api/v1");
    cr_assert_not_null(d);
    serve(&x, "/openapi/v3/api/v1?hash=0001", "application/json");
#ifdef REST_RESPONSE_HEADERS
    char location[512];
    snprintf(location, sizeof(location), "/openapi/v3/api/v1?hash=%s", d->hash);
    cr_expect_eq(x.resp.status, 301);
    cr_expect_str_eq(json_string_value(json_object_get(x.resp.headers, "Location")), location);
    cr_expect_null(json_object_get(x.resp.headers, "Cache-Control"));
#else
    cr_expect_eq(x.resp.status, 200);
    cr_expect(body_is(&x, d->json, d->json_len));
#endif
    done(&x);
}

Test(openapi, accept_headers_of_any_shape_are_answered)
{
    static const char *const odd[] = {",,,,",
                                      ";;;",
                                      "/",
                                      "*",
                                      "application/",
                                      "/json",
                                      "application/json;q=",
                                      "application/json;q=abc;;x",
                                      " \t application/json \t ; q=1 "};
    for (size_t i = 0; i < sizeof(odd) / sizeof(odd[0]); i++) {
        struct exchange x;
        serve(&x, "/openapi/v2", odd[i]);
        cr_expect(x.resp.status == 200 || x.resp.status == 406, "Accept: %s", odd[i]);
        done(&x);
    }
    /* a long header: only the first clauses are read, and nothing overflows */
    struct strbuf sb;
    strbuf_init(&sb, STRBUF_NO_LIMIT);
    for (int i = 0; i < 5000; i++)
        strbuf_addstr(&sb,
                      "text/x-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                      "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                      "aaaa;q=0.5;a=b,");
    strbuf_addstr(&sb, "application/json");
    struct exchange x;
    serve(&x, "/openapi/v2", sb.buf);
    cr_expect_eq(x.resp.status, 406);
    done(&x);
    strbuf_release(&sb);
}
