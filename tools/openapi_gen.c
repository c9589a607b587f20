/*
 * openapi_gen: the OpenAPI documents of svc-apiserver, derived from api/ at build time (part of
 * tools/apigen; see openapi_gen.h).
 *
 * From api/resources.yaml and the merged api/types definitions it builds what kube-apiserver
 * publishes: the Swagger 2.0 document (/openapi/v2, served as JSON and as the gnostic protobuf
 * that protobuf_writer encodes) and one OpenAPI 3.0 document per group version plus their
 * index (/openapi/v3). Paths and operations follow kube-apiserver's layout (operation ids,
 * x-kubernetes-action, x-kubernetes-group-version-kind, parameters); schemas are the api/types
 * definitions rewritten for each flavour. Every document is written into src/api_data.c with
 * its SHA-512 digest, which is what upstream uses as ETag and as the ?hash= of the v3 index.
 * Nothing here is hand-written schema: a type or resource added to api/ appears by itself.
 * Build-time code: depends on jansson, strbuf and protobuf_writer, never on the server library.
 */
#include "openapi_gen.h"

#include "protobuf_writer.h"
#include "svc/strbuf.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* info of every document. The version is the release whose API we serve; keep it equal to the
   gitVersion /version reports (src/rest/health.c). */
#define OPENAPI_TITLE   "Kubernetes"
#define OPENAPI_VERSION "v1.33.0"

#define V2_REF_PREFIX "#/definitions/"
#define V3_REF_PREFIX "#/components/schemas/"

#define DEF_PATCH          "io.k8s.apimachinery.pkg.apis.meta.v1.Patch"
#define DEF_STATUS         "io.k8s.apimachinery.pkg.apis.meta.v1.Status"
#define DEF_DELETE_OPTIONS "io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions"
#define DEF_WATCH_EVENT    "io.k8s.apimachinery.pkg.apis.meta.v1.WatchEvent"
#define DEF_RESOURCE_LIST  "io.k8s.apimachinery.pkg.apis.meta.v1.APIResourceList"
#define DEF_GROUP          "io.k8s.apimachinery.pkg.apis.meta.v1.APIGroup"
#define DEF_GROUP_LIST     "io.k8s.apimachinery.pkg.apis.meta.v1.APIGroupList"
#define DEF_VERSIONS       "io.k8s.apimachinery.pkg.apis.meta.v1.APIVersions"

enum flavor { V2, V3 };

struct gen {
    json_t *resources; /* borrowed: resources.yaml */
    json_t *defs;      /* borrowed: the merged definitions of api/types */
    json_t *v2_paths;  /* owned: the Swagger paths object */
    json_t *v3_paths;  /* owned: v3 document key ("api/v1") -> its paths object */
    json_t *v3_order;  /* owned: the v3 document keys in discovery order */
    char err[512];
};

static int gen_fail(struct gen *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int gen_fail(struct gen *g, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g->err, sizeof(g->err), fmt, ap);
    va_end(ap);
    return -1;
}

/* ---- SHA-512 (FIPS 180-4), for the digests kube-openapi uses as ETag and ?hash= ------------- */

static const uint64_t sha512_k[80] = {
    0x428a2f98d728ae22ULL, 0x7137449123ef65cdULL, 0xb5c0fbcfec4d3b2fULL, 0xe9b5dba58189dbbcULL,
    0x3956c25bf348b538ULL, 0x59f111f1b605d019ULL, 0x923f82a4af194f9bULL, 0xab1c5ed5da6d8118ULL,
    0xd807aa98a3030242ULL, 0x12835b0145706fbeULL, 0x243185be4ee4b28cULL, 0x550c7dc3d5ffb4e2ULL,
    0x72be5d74f27b896fULL, 0x80deb1fe3b1696b1ULL, 0x9bdc06a725c71235ULL, 0xc19bf174cf692694ULL,
    0xe49b69c19ef14ad2ULL, 0xefbe4786384f25e3ULL, 0x0fc19dc68b8cd5b5ULL, 0x240ca1cc77ac9c65ULL,
    0x2de92c6f592b0275ULL, 0x4a7484aa6ea6e483ULL, 0x5cb0a9dcbd41fbd4ULL, 0x76f988da831153b5ULL,
    0x983e5152ee66dfabULL, 0xa831c66d2db43210ULL, 0xb00327c898fb213fULL, 0xbf597fc7beef0ee4ULL,
    0xc6e00bf33da88fc2ULL, 0xd5a79147930aa725ULL, 0x06ca6351e003826fULL, 0x142929670a0e6e70ULL,
    0x27b70a8546d22ffcULL, 0x2e1b21385c26c926ULL, 0x4d2c6dfc5ac42aedULL, 0x53380d139d95b3dfULL,
    0x650a73548baf63deULL, 0x766a0abb3c77b2a8ULL, 0x81c2c92e47edaee6ULL, 0x92722c851482353bULL,
    0xa2bfe8a14cf10364ULL, 0xa81a664bbc423001ULL, 0xc24b8b70d0f89791ULL, 0xc76c51a30654be30ULL,
    0xd192e819d6ef5218ULL, 0xd69906245565a910ULL, 0xf40e35855771202aULL, 0x106aa07032bbd1b8ULL,
    0x19a4c116b8d2d0c8ULL, 0x1e376c085141ab53ULL, 0x2748774cdf8eeb99ULL, 0x34b0bcb5e19b48a8ULL,
    0x391c0cb3c5c95a63ULL, 0x4ed8aa4ae3418acbULL, 0x5b9cca4f7763e373ULL, 0x682e6ff3d6b2b8a3ULL,
    0x748f82ee5defb2fcULL, 0x78a5636f43172f60ULL, 0x84c87814a1f0ab72ULL, 0x8cc702081a6439ecULL,
    0x90befffa23631e28ULL, 0xa4506cebde82bde9ULL, 0xbef9a3f7b2c67915ULL, 0xc67178f2e372532bULL,
    0xca273eceea26619cULL, 0xd186b8c721c0c207ULL, 0xeada7dd6cde0eb1eULL, 0xf57d4f7fee6ed178ULL,
    0x06f067aa72176fbaULL, 0x0a637dc5a2c898a6ULL, 0x113f9804bef90daeULL, 0x1b710b35131c471bULL,
    0x28db77f523047d84ULL, 0x32caab7b40c72493ULL, 0x3c9ebe0a15c9bebcULL, 0x431d67c49c100d4cULL,
    0x4cc5d4becb3e42b6ULL, 0x597f299cfc657e2aULL, 0x5fcb6fab3ad6faecULL, 0x6c44198c4a475817ULL,
};

static uint64_t ror64(uint64_t x, unsigned n)
{
    return (x >> n) | (x << (64 - n));
}

static void sha512_block(uint64_t h[8], const unsigned char *p)
{
    uint64_t w[80];
    for (int i = 0; i < 16; i++) {
        w[i] = 0;
        for (int j = 0; j < 8; j++)
            w[i] = (w[i] << 8) | p[i * 8 + j];
    }
    for (int i = 16; i < 80; i++) {
        uint64_t s0 = ror64(w[i - 15], 1) ^ ror64(w[i - 15], 8) ^ (w[i - 15] >> 7);
        uint64_t s1 = ror64(w[i - 2], 19) ^ ror64(w[i - 2], 61) ^ (w[i - 2] >> 6);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    uint64_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
    for (int i = 0; i < 80; i++) {
        uint64_t t1 = hh + (ror64(e, 14) ^ ror64(e, 18) ^ ror64(e, 41)) + ((e & f) ^ (~e & g)) +
                      sha512_k[i] + w[i];
        uint64_t t2 = (ror64(a, 28) ^ ror64(a, 34) ^ ror64(a, 39)) + ((a & b) ^ (a & c) ^ (b & c));
        hh = g;
        g = f;
        f = e;
        e = d + t1;
        d = c;
        c = b;
        b = a;
        a = t1 + t2;
    }
    h[0] += a;
    h[1] += b;
    h[2] += c;
    h[3] += d;
    h[4] += e;
    h[5] += f;
    h[6] += g;
    h[7] += hh;
}

void openapi_sha512_hex(const void *data, size_t len, char hex[129])
{
    uint64_t h[8] = {0x6a09e667f3bcc908ULL, 0xbb67ae8584caa73bULL, 0x3c6ef372fe94f82bULL,
                     0xa54ff53a5f1d36f1ULL, 0x510e527fade682d1ULL, 0x9b05688c2b3e6c1fULL,
                     0x1f83d9abfb41bd6bULL, 0x5be0cd19137e2179ULL};
    const unsigned char *p = data;
    size_t left = len;
    for (; left >= 128; left -= 128, p += 128)
        sha512_block(h, p);
    unsigned char tail[256] = {0};
    memcpy(tail, p, left);
    tail[left] = 0x80;
    size_t tail_len = left + 1 + 16 <= 128 ? 128 : 256;
    uint64_t bits = (uint64_t)len * 8; /* lengths beyond 2^61 bytes do not occur here */
    for (int i = 0; i < 8; i++)
        tail[tail_len - 1 - i] = (unsigned char)(bits >> (8 * i));
    sha512_block(h, tail);
    if (tail_len == 256)
        sha512_block(h, tail + 128);
    for (int i = 0; i < 8; i++)
        snprintf(hex + 16 * i, 17, "%016llX", (unsigned long long)h[i]);
}

/* ---- schemas ----------------------------------------------------------------------------------
 */

/*
 * Free-form types: api/types marks them preserve-unknown for the server's own pruning, but
 * upstream OpenAPI publishes them as plain objects, so the marker is not copied (api/README.md).
 */
static bool is_free_form_def(const char *name)
{
    return !strcmp(name, "io.k8s.apimachinery.pkg.apis.meta.v1.FieldsV1") ||
           !strcmp(name, "io.k8s.apimachinery.pkg.runtime.RawExtension");
}

/*
 * Types whose Go code gives kube-openapi OpenAPIV3OneOfTypes (apimachinery intstr and resource):
 * their v3 schema is a oneOf of those types where v2 has a single "type" (what api/types holds,
 * the v2 form). kubectl explain then names them (<IntOrString>) instead of printing "string".
 */
static const struct {
    const char *name;
    const char *types[2];
} v3_one_of[] = {
    {"io.k8s.apimachinery.pkg.util.intstr.IntOrString", {"integer", "string"}},
    {"io.k8s.apimachinery.pkg.api.resource.Quantity", {"string", "number"}},
};

static json_t *ref_value(enum flavor fl, const char *name)
{
    char ref[512];
    snprintf(ref, sizeof(ref), "%s%s", fl == V2 ? V2_REF_PREFIX : V3_REF_PREFIX, name);
    return json_string(ref);
}

static json_t *ref_object(enum flavor fl, const char *name)
{
    json_t *o = json_object();
    json_object_set_new(o, "$ref", ref_value(fl, name));
    return o;
}

/* A struct definition (as opposed to Time, IntOrString, Quantity and the free-form types). */
static bool is_struct_def(const json_t *def)
{
    return json_object_get(def, "properties") != NULL;
}

/*
 * The default upstream OpenAPI shows for a field (kube-openapi's openapi-gen): a non-pointer
 * struct is {}, a scalar that Go never omits is its zero value, and everything else (pointers,
 * slices, maps, the custom-marshalled Time/IntOrString/Quantity) has none. Array elements and
 * map values are never pointers here, so element is treated as "never omitted".
 */
static json_t *field_default(struct gen *g, const json_t *in, bool element)
{
    const char *omit = json_string_value(json_object_get(in, "omit"));
    const char *ref = json_string_value(json_object_get(in, "$ref"));
    if (ref) {
        if (is_struct_def(json_object_get(g->defs, ref)) && (!omit || !strcmp(omit, "struct")))
            return json_object();
        return NULL;
    }
    if (!element && !(omit && !strcmp(omit, "never")))
        return NULL;
    const char *type = json_string_value(json_object_get(in, "type"));
    if (!type)
        return NULL;
    if (!strcmp(type, "string"))
        return json_string("");
    if (!strcmp(type, "integer") || !strcmp(type, "number"))
        return json_integer(0);
    if (!strcmp(type, "boolean"))
        return json_false();
    return NULL;
}

/* A property, array element or map value of api/types, rewritten for flavour fl. */
static int conv_schema(struct gen *g, enum flavor fl, const json_t *in, bool element,
                       const char *where, json_t **out)
{
    *out = NULL;
    if (!json_is_object(in))
        return gen_fail(g, "%s: a schema must be a map", where);
    json_t *o = json_object();
    const char *ref = NULL;
    const char *key;
    json_t *v;
    json_object_foreach ((json_t *)in, key, v) {
        if (!strcmp(key, "$ref")) {
            ref = json_string_value(v);
        } else if (!strcmp(key, "items") || !strcmp(key, "additionalProperties")) {
            json_t *sub;
            if (json_is_boolean(v)) {
                sub = json_incref(v);
            } else if (conv_schema(g, fl, v, true, where, &sub)) {
                json_decref(o);
                return -1;
            }
            json_object_set_new(o, key, sub);
        } else if (!strcmp(key, "omit") || !strcmp(key, "default")) {
            continue; /* omit: serialisation detail of the server; default: placed below */
        } else if (!strcmp(key, "description") || !strcmp(key, "type") || !strcmp(key, "format") ||
                   !strcmp(key, "enum") || !strncmp(key, "x-kubernetes-", 13)) {
            json_object_set(o, key, v);
        } else {
            json_decref(o);
            return gen_fail(g, "%s: unknown schema key \"%s\"", where, key);
        }
    }
    /* A declared default (upstream's +default marker) wins over the computed zero value. */
    json_t *declared = json_object_get(in, "default");
    json_t *def = declared ? json_incref(declared) : field_default(g, in, element);
    if (def)
        json_object_set_new(o, "default", def);
    if (ref) {
        if (!json_object_get(g->defs, ref)) {
            json_decref(o);
            return gen_fail(g, "%s: undefined $ref %s", where, ref);
        }
        /* OpenAPI 3.0 ignores the siblings of a $ref, so upstream moves the reference into a
           one-element allOf whenever a description, default or extension sits beside it
           (kubectl explain reads the type through that allOf). Swagger 2.0 keeps siblings. */
        if (fl == V3 && json_object_size(o)) {
            json_t *all = json_array();
            json_array_append_new(all, ref_object(fl, ref));
            json_object_set_new(o, "allOf", all);
        } else {
            json_object_set_new(o, "$ref", ref_value(fl, ref));
        }
    }
    *out = o;
    return 0;
}

/* x-kubernetes-group-version-kind of a definition: always a list, as upstream publishes it. */
static json_t *gvk_list(const json_t *gvk)
{
    json_t *list = json_array();
    const json_t *items = gvk;
    json_t *one = NULL;
    if (json_is_object(gvk)) {
        one = json_array();
        json_array_append(one, (json_t *)gvk);
        items = one;
    }
    size_t i;
    json_t *e;
    json_array_foreach (items, i, e) {
        json_array_append_new(list, json_pack("{s:O,s:O,s:O}", "group", json_object_get(e, "group"),
                                              "kind", json_object_get(e, "kind"), "version",
                                              json_object_get(e, "version")));
    }
    json_decref(one);
    return list;
}

static int conv_definition(struct gen *g, enum flavor fl, const char *name, const json_t *in,
                           json_t **out)
{
    *out = NULL;
    if (!json_is_object(in))
        return gen_fail(g, "%s: a definition must be a map", name);
    json_t *o = json_object();
    const char *key;
    json_t *v;
    json_object_foreach ((json_t *)in, key, v) {
        if (!strcmp(key, "properties")) {
            json_t *props = json_object();
            const char *pname;
            json_t *p;
            json_object_foreach (v, pname, p) {
                char where[512];
                json_t *conv;
                snprintf(where, sizeof(where), "%s.%s", name, pname);
                if (conv_schema(g, fl, p, false, where, &conv)) {
                    json_decref(props);
                    json_decref(o);
                    return -1;
                }
                json_object_set_new(props, pname, conv);
            }
            json_object_set_new(o, "properties", props);
            if (!json_object_get(in, "type"))
                json_object_set_new(o, "type", json_string("object"));
        } else if (!strcmp(key, "gvk")) {
            json_object_set_new(o, "x-kubernetes-group-version-kind", gvk_list(v));
        } else if (!strcmp(key, "x-kubernetes-preserve-unknown-fields")) {
            if (!is_free_form_def(name))
                json_object_set(o, key, v);
        } else if (!strcmp(key, "description") || !strcmp(key, "type") || !strcmp(key, "format") ||
                   !strcmp(key, "required") || !strcmp(key, "enum") ||
                   !strncmp(key, "x-kubernetes-", 13)) {
            json_object_set(o, key, v);
        } else {
            json_decref(o);
            return gen_fail(g, "%s: unknown definition key \"%s\"", name, key);
        }
    }
    for (size_t i = 0; fl == V3 && i < sizeof(v3_one_of) / sizeof(v3_one_of[0]); i++) {
        if (strcmp(name, v3_one_of[i].name))
            continue;
        json_object_del(o, "type");
        json_object_set_new(o, "oneOf",
                            json_pack("[{s:s},{s:s}]", "type", v3_one_of[i].types[0], "type",
                                      v3_one_of[i].types[1]));
    }
    *out = o;
    return 0;
}

static int conv_definitions(struct gen *g, enum flavor fl, json_t **out)
{
    json_t *all = json_object();
    const char *name;
    json_t *def;
    json_object_foreach (g->defs, name, def) {
        json_t *conv;
        if (conv_definition(g, fl, name, def, &conv)) {
            json_decref(all);
            return -1;
        }
        json_object_set_new(all, name, conv);
    }
    *out = all;
    return 0;
}

/* The definition whose gvk names group/version/kind, or NULL. */
static const char *def_for_kind(struct gen *g, const char *group, const char *version,
                                const char *kind)
{
    const char *name;
    json_t *def;
    json_object_foreach (g->defs, name, def) {
        json_t *gvk = json_object_get(def, "gvk");
        if (!gvk)
            continue;
        json_t *list = gvk_list(gvk);
        size_t i;
        json_t *e;
        bool hit = false;
        json_array_foreach (list, i, e) {
            const char *eg = json_string_value(json_object_get(e, "group"));
            const char *ev = json_string_value(json_object_get(e, "version"));
            const char *ek = json_string_value(json_object_get(e, "kind"));
            if (eg && ev && ek && !strcmp(eg, group) && !strcmp(ev, version) && !strcmp(ek, kind))
                hit = true;
        }
        json_decref(list);
        if (hit)
            return name;
    }
    return NULL;
}

/*
 * Whether a kind's schema carries all the strategic-merge metadata upstream's does. Deep
 * subtrees that api/types does not model field by field (pod security contexts, affinity,
 * volume sources, node config) are preserve-unknown objects: a client computing a strategic
 * merge patch from such a schema stops at the first field inside them ("unable to find api
 * field"). For those kinds the PATCH operation does not advertise the patch content types, so
 * kubectl computes apply patches from its compiled-in types instead, as it would against upstream.
 */
static bool patch_meta_complete(struct gen *g, const json_t *schema, json_t *seen, int depth)
{
    if (!json_is_object(schema) || depth > 64)
        return depth <= 64;
    if (json_is_true(json_object_get(schema, "x-kubernetes-preserve-unknown-fields")))
        return false;
    const char *ref = json_string_value(json_object_get(schema, "$ref"));
    if (ref) {
        if (json_object_get(seen, ref))
            return true;
        json_object_set_new(seen, ref, json_true());
        json_t *def = json_object_get(g->defs, ref);
        if (!def || is_free_form_def(ref))
            return true; /* free-form upstream too: nothing is lost */
        return patch_meta_complete(g, def, seen, depth + 1);
    }
    const char *key;
    json_t *p;
    json_object_foreach (json_object_get(schema, "properties"), key, p) {
        if (!patch_meta_complete(g, p, seen, depth + 1))
            return false;
    }
    return patch_meta_complete(g, json_object_get(schema, "items"), seen, depth + 1) &&
           patch_meta_complete(g, json_object_get(schema, "additionalProperties"), seen, depth + 1);
}

/* ---- parameters -------------------------------------------------------------------------------
 */

enum query_param {
    QP_ALLOW_WATCH_BOOKMARKS,
    QP_CONTINUE,
    QP_DRY_RUN,
    QP_FIELD_MANAGER,
    QP_FIELD_SELECTOR,
    QP_FIELD_VALIDATION,
    QP_FORCE,
    QP_GRACE_PERIOD_SECONDS,
    QP_IGNORE_STORE_READ_ERROR,
    QP_LABEL_SELECTOR,
    QP_LIMIT,
    QP_ORPHAN_DEPENDENTS,
    QP_PRETTY,
    QP_PROPAGATION_POLICY,
    QP_RESOURCE_VERSION,
    QP_RESOURCE_VERSION_MATCH,
    QP_SEND_INITIAL_EVENTS,
    QP_TIMEOUT_SECONDS,
    QP_WATCH,
    QP_COUNT
};
#define QP(x) (1u << (x))

/* The query parameters kube-apiserver documents, in name order (upstream sorts them). */
static const struct {
    const char *name;
    const char *type;
    const char *description;
} query_params[QP_COUNT] = {
    [QP_ALLOW_WATCH_BOOKMARKS] = {"allowWatchBookmarks", "boolean",
                                  "Ask for BOOKMARK events in a watch, which carry only a "
                                  "resourceVersion to resume from. The server may send them at "
                                  "any time or not at all; ignored for plain lists."},
    [QP_CONTINUE] = {"continue", "string",
                     "The token a previous limited list returned in metadata.continue, to fetch "
                     "the next page of the same query. Expired tokens are refused with 410 Gone. "
                     "Not used with watch."},
    [QP_DRY_RUN] = {"dryRun", "string",
                    "When set to All, the request goes through every step (defaulting, "
                    "validation, admission) but nothing is stored."},
    [QP_FIELD_MANAGER] = {"fieldManager", "string",
                          "Name of the client or tool making the change, recorded in "
                          "managedFields: at most 128 printable characters. Required for "
                          "server-side apply patches."},
    [QP_FIELD_SELECTOR] = {"fieldSelector", "string",
                           "Only objects whose fields match, such as metadata.name=web; all of "
                           "them when absent."},
    [QP_FIELD_VALIDATION] = {"fieldValidation", "string",
                             "What the server does with unknown or duplicated fields in the "
                             "body: Ignore drops them silently, Warn drops them and reports each "
                             "in a Warning header (the default), Strict rejects the request with "
                             "400 Bad Request naming all of them."},
    [QP_FORCE] = {"force", "boolean",
                  "For server-side apply only: take over fields that other managers own instead "
                  "of failing with a conflict. Must be unset for other patch types."},
    [QP_GRACE_PERIOD_SECONDS] = {"gracePeriodSeconds", "integer",
                                 "Seconds the object may take to shut down before it is removed; "
                                 "0 removes it at once. Unset uses the kind's default."},
    [QP_IGNORE_STORE_READ_ERROR] = {"ignoreStoreReadErrorWithClusterBreakingPotential", "boolean",
                                    "Delete an object that can no longer be read back from "
                                    "storage, skipping finalizers and preconditions. Dangerous "
                                    "and off by default."},
    [QP_LABEL_SELECTOR] = {"labelSelector", "string",
                           "Only objects whose labels match, such as app=web,tier!=db; all of "
                           "them when absent."},
    [QP_LIMIT] = {"limit", "integer",
                  "Largest number of items to return. When more remain, metadata.continue holds "
                  "a token for the next page; pages of one query form a consistent snapshot. "
                  "Not used with watch."},
    [QP_ORPHAN_DEPENDENTS] = {"orphanDependents", "boolean",
                              "Deprecated in favour of propagationPolicy: when true, dependents "
                              "are left in place without their owner."},
    [QP_PRETTY] = {"pretty", "string",
                   "When true, the JSON answer is indented for people to read."},
    [QP_PROPAGATION_POLICY] = {"propagationPolicy", "string",
                               "What happens to dependents of the deleted object: Orphan leaves "
                               "them, Background lets the garbage collector remove them "
                               "afterwards, Foreground removes them first. Set this or "
                               "orphanDependents, not both."},
    [QP_RESOURCE_VERSION] = {"resourceVersion", "string",
                             "Limits which versions of the data may answer the request; see the "
                             "Kubernetes API concepts on resource versions. Unset by default."},
    [QP_RESOURCE_VERSION_MATCH] = {"resourceVersionMatch", "string",
                                   "How resourceVersion is interpreted for a list (Exact or "
                                   "NotOlderThan); recommended whenever resourceVersion is set."},
    [QP_SEND_INITIAL_EVENTS] = {"sendInitialEvents", "boolean",
                                "With watch=true: start the stream with an ADDED event for every "
                                "existing object, then a BOOKMARK annotated "
                                "k8s.io/initial-events-end, then the changes. Needs "
                                "resourceVersionMatch=NotOlderThan."},
    [QP_TIMEOUT_SECONDS] = {"timeoutSeconds", "integer",
                            "Ends a list or watch call after this many seconds, whatever its "
                            "activity."},
    [QP_WATCH] = {"watch", "boolean",
                  "Turn the list into a watch: a stream of ADDED, MODIFIED and DELETED events "
                  "starting from resourceVersion."},
};

#define QP_LIST                                                                                    \
    (QP(QP_ALLOW_WATCH_BOOKMARKS) | QP(QP_CONTINUE) | QP(QP_FIELD_SELECTOR) |                      \
     QP(QP_LABEL_SELECTOR) | QP(QP_LIMIT) | QP(QP_RESOURCE_VERSION) |                              \
     QP(QP_RESOURCE_VERSION_MATCH) | QP(QP_SEND_INITIAL_EVENTS) | QP(QP_TIMEOUT_SECONDS) |         \
     QP(QP_WATCH))
#define QP_WRITE (QP(QP_DRY_RUN) | QP(QP_FIELD_MANAGER) | QP(QP_FIELD_VALIDATION))
#define QP_PATCH (QP_WRITE | QP(QP_FORCE))
#define QP_DELETE                                                                                  \
    (QP(QP_DRY_RUN) | QP(QP_GRACE_PERIOD_SECONDS) | QP(QP_IGNORE_STORE_READ_ERROR) |               \
     QP(QP_ORPHAN_DEPENDENTS) | QP(QP_PROPAGATION_POLICY))
#define QP_DELETECOLLECTION ((QP_DELETE | QP_LIST) & ~(QP(QP_ALLOW_WATCH_BOOKMARKS) | QP(QP_WATCH)))

/* Path parameters, as bits beside the query ones. */
#define PP_NAME      (1u << 30)
#define PP_NAMESPACE (1u << 29)

static json_t *query_param(enum flavor fl, enum query_param q)
{
    json_t *p = json_pack("{s:s,s:s,s:s}", "description", query_params[q].description, "in",
                          "query", "name", query_params[q].name);
    /* uniqueItems on scalar parameters is an upstream quirk kept for fidelity. */
    if (fl == V2) {
        json_object_set_new(p, "type", json_string(query_params[q].type));
        json_object_set_new(p, "uniqueItems", json_true());
    } else {
        json_object_set_new(p, "schema",
                            json_pack("{s:s,s:b}", "type", query_params[q].type, "uniqueItems", 1));
    }
    return p;
}

static json_t *path_param(enum flavor fl, const char *name, const char *description)
{
    json_t *p = json_pack("{s:s,s:s,s:s,s:b}", "description", description, "in", "path", "name",
                          name, "required", 1);
    if (fl == V2) {
        json_object_set_new(p, "type", json_string("string"));
        json_object_set_new(p, "uniqueItems", json_true());
    } else {
        json_object_set_new(p, "schema",
                            json_pack("{s:s,s:b}", "type", "string", "uniqueItems", 1));
    }
    return p;
}

/* The parameters in bits, sorted by name as upstream lists them. */
static json_t *params_list(enum flavor fl, unsigned bits, const char *kind)
{
    json_t *list = json_array();
    bool path_done = !(bits & (PP_NAME | PP_NAMESPACE));
    for (int q = 0; q <= QP_COUNT; q++) {
        /* "name" and "namespace" sort between "limit" and "orphanDependents". */
        if (!path_done && (q == QP_COUNT || strcmp(query_params[q].name, "name") > 0)) {
            if (bits & PP_NAME) {
                char desc[256];
                snprintf(desc, sizeof(desc), "name of the %s", kind);
                json_array_append_new(list, path_param(fl, "name", desc));
            }
            if (bits & PP_NAMESPACE)
                json_array_append_new(list, path_param(fl, "namespace",
                                                       "the namespace the object lives in, "
                                                       "which is also its scope for "
                                                       "authorization"));
            path_done = true;
        }
        if (q < QP_COUNT && (bits & QP(q)))
            json_array_append_new(list, query_param(fl, (enum query_param)q));
    }
    return list;
}

/* ---- operations and paths ---------------------------------------------------------------------
 */

#define RESP_200 1u
#define RESP_201 2u
#define RESP_202 4u

struct op {
    const char *method;    /* "get", "put", "post", "patch", "delete" */
    const char *action;    /* x-kubernetes-action, NULL for the discovery documents */
    char id[256];          /* operationId */
    char description[256]; /* our words */
    const char *tag;
    const char *group; /* x-kubernetes-group-version-kind; kind NULL: none */
    const char *version;
    const char *kind;
    unsigned query;   /* operation-level query parameters (QP bits) */
    const char *body; /* request body definition, or NULL */
    bool body_required;
    bool patch;           /* the body is a patch document */
    bool smp;             /* ... and the kind's schema may be used to compute patches */
    const char *response; /* definition of the answer */
    unsigned codes;       /* RESP_* answers besides 401 */
    bool stream;          /* lists and watches: also application/json;stream=watch */
};

/* Patch media types kube-apiserver accepts, in the order its Swagger document lists them. */
static const char *const patch_types[] = {
    "application/json-patch+json", "application/merge-patch+json",
    "application/strategic-merge-patch+json", "application/apply-patch+yaml"};

/* What svc-apiserver can answer in (no protobuf or CBOR: DESIGN.md). */
static json_t *answer_types(bool stream)
{
    json_t *a = json_pack("[s,s]", "application/json", "application/yaml");
    if (stream)
        json_array_append_new(a, json_string("application/json;stream=watch"));
    return a;
}

static json_t *op_gvk(const struct op *op)
{
    return json_pack("{s:s,s:s,s:s}", "group", op->group, "kind", op->kind, "version", op->version);
}

static const char *code_text(unsigned bit, const char **code)
{
    *code = bit == RESP_200 ? "200" : bit == RESP_201 ? "201" : "202";
    return bit == RESP_200 ? "OK" : bit == RESP_201 ? "Created" : "Accepted";
}

static json_t *op_v2(const struct op *op)
{
    json_t *o = json_object();
    json_object_set_new(o, "description", json_string(op->description));
    json_object_set_new(o, "operationId", json_string(op->id));
    json_object_set_new(o, "tags", json_pack("[s]", op->tag));
    json_object_set_new(o, "produces", answer_types(op->stream));
    if (op->patch) {
        /* Without consumes, kubectl's apply finds no strategic-merge support in this document
           and falls back to its compiled-in types (patch_meta_complete). */
        if (op->smp) {
            json_t *c = json_array();
            for (size_t i = 0; i < sizeof(patch_types) / sizeof(patch_types[0]); i++)
                json_array_append_new(c, json_string(patch_types[i]));
            json_object_set_new(o, "consumes", c);
        }
    } else {
        json_object_set_new(o, "consumes", json_pack("[s]", "*/*"));
    }
    json_t *params = params_list(V2, op->query, op->kind ? op->kind : "");
    if (op->body) {
        json_t *b = json_pack("{s:s,s:s,s:o}", "in", "body", "name", "body", "schema",
                              ref_object(V2, op->body));
        if (op->body_required)
            json_object_set_new(b, "required", json_true());
        json_array_insert_new(params, 0, b);
    }
    if (json_array_size(params))
        json_object_set_new(o, "parameters", params);
    else
        json_decref(params);
    json_t *resp = json_object();
    for (unsigned bit = RESP_200; bit <= RESP_202; bit <<= 1) {
        if (!(op->codes & bit))
            continue;
        const char *code;
        const char *text = code_text(bit, &code);
        json_object_set_new(
            resp, code,
            json_pack("{s:s,s:o}", "description", text, "schema", ref_object(V2, op->response)));
    }
    json_object_set_new(resp, "401", json_pack("{s:s}", "description", "Unauthorized"));
    json_object_set_new(o, "responses", resp);
    if (op->action)
        json_object_set_new(o, "x-kubernetes-action", json_string(op->action));
    if (op->kind)
        json_object_set_new(o, "x-kubernetes-group-version-kind", op_gvk(op));
    return o;
}

static json_t *content_v3(json_t *types, const char *def)
{
    json_t *c = json_object();
    size_t i;
    json_t *t;
    json_array_foreach (types, i, t) {
        json_object_set_new(c, json_string_value(t),
                            json_pack("{s:o}", "schema", ref_object(V3, def)));
    }
    json_decref(types);
    return c;
}

static json_t *op_v3(const struct op *op)
{
    json_t *o = json_object();
    json_object_set_new(o, "description", json_string(op->description));
    json_object_set_new(o, "operationId", json_string(op->id));
    json_object_set_new(o, "tags", json_pack("[s]", op->tag));
    json_t *params = params_list(V3, op->query, op->kind ? op->kind : "");
    if (json_array_size(params))
        json_object_set_new(o, "parameters", params);
    else
        json_decref(params);
    /*
     * kubectl 1.29+ computes client-side apply patches from this document when the PATCH
     * operation lists application/strategic-merge-patch+json (kubectl-contract.md §3.4), so the
     * patch types appear only for kinds whose schema has complete patch metadata.
     */
    json_t *body = NULL;
    if (op->patch && op->smp) {
        json_t *types = json_array();
        for (size_t i = 0; i < sizeof(patch_types) / sizeof(patch_types[0]); i++)
            json_array_append_new(types, json_string(patch_types[i]));
        body = json_pack("{s:o}", "content", content_v3(types, op->body));
    } else if (op->body && !op->patch) {
        body = json_pack("{s:o}", "content", content_v3(json_pack("[s]", "*/*"), op->body));
    }
    if (body) {
        if (op->body_required)
            json_object_set_new(body, "required", json_true());
        json_object_set_new(o, "requestBody", body);
    }
    json_t *resp = json_object();
    for (unsigned bit = RESP_200; bit <= RESP_202; bit <<= 1) {
        if (!(op->codes & bit))
            continue;
        const char *code;
        const char *text = code_text(bit, &code);
        json_object_set_new(resp, code,
                            json_pack("{s:o,s:s}", "content",
                                      content_v3(answer_types(op->stream), op->response),
                                      "description", text));
    }
    json_object_set_new(resp, "401", json_pack("{s:s}", "description", "Unauthorized"));
    json_object_set_new(o, "responses", resp);
    if (op->action)
        json_object_set_new(o, "x-kubernetes-action", json_string(op->action));
    if (op->kind)
        json_object_set_new(o, "x-kubernetes-group-version-kind", op_gvk(op));
    return o;
}

/* The path item of path in paths, created with its path-level parameters. */
static json_t *path_item(json_t *paths, enum flavor fl, const char *path, unsigned params,
                         const char *kind)
{
    json_t *item = json_object_get(paths, path);
    if (item)
        return item;
    item = json_object();
    if (params)
        json_object_set_new(item, "parameters", params_list(fl, params, kind));
    json_object_set_new(paths, path, item);
    return item;
}

/* Add op at path to the Swagger document and to the v3 document doc. */
static void add_op(struct gen *g, const char *doc, const char *path, unsigned path_params,
                   const char *kind, const struct op *op)
{
    json_t *v3 = json_object_get(g->v3_paths, doc);
    if (!v3) {
        v3 = json_object();
        json_object_set_new(g->v3_paths, doc, v3);
        json_array_append_new(g->v3_order, json_string(doc));
    }
    json_object_set_new(path_item(g->v2_paths, V2, path, path_params, kind), op->method, op_v2(op));
    json_object_set_new(path_item(v3, V3, path, path_params, kind), op->method, op_v3(op));
}

/* A group version as operation ids and tags name it: "" -> Core/core, discovery.k8s.io ->
   Discovery/discovery, flowcontrol.apiserver.k8s.io -> FlowcontrolApiserver/flowcontrolApiserver.
 */
static void group_words(const char *group, char *camel, size_t camel_len, char *tag, size_t tag_len)
{
    char g[128];
    snprintf(g, sizeof(g), "%s", *group ? group : "core");
    size_t n = strlen(g);
    if (n > 7 && !strcmp(g + n - 7, ".k8s.io"))
        g[n - 7] = '\0';
    size_t c = 0, t = 0;
    bool upper = true;
    for (const char *p = g; *p && c + 2 < camel_len && t + 2 < tag_len; p++) {
        if (*p == '.' || *p == '-') {
            upper = true;
            continue;
        }
        char ch = *p;
        char up = (ch >= 'a' && ch <= 'z') ? (char)(ch - 'a' + 'A') : ch;
        camel[c++] = upper ? up : ch;
        tag[t] = (upper && t > 0) ? up : ch;
        t++;
        upper = false;
    }
    camel[c] = '\0';
    tag[t] = '\0';
}

static void cap_copy(char *dst, size_t len, const char *src)
{
    snprintf(dst, len, "%s", src);
    if (dst[0] >= 'a' && dst[0] <= 'z')
        dst[0] = (char)(dst[0] - 'a' + 'A');
}

struct gvinfo {
    const char *group;
    const char *version;
    char prefix[160]; /* "/api/v1", "/apis/apps/v1" */
    char doc[160];    /* "api/v1", "apis/apps/v1" */
    char id[160];     /* "CoreV1", "AppsV1" */
    char tag[160];    /* "core_v1", "apps_v1" */
};

static unsigned verb_bits(const json_t *verbs)
{
    static const char *const names[] = {"get",    "list",  "watch",  "create",
                                        "update", "patch", "delete", "deletecollection"};
    unsigned bits = 0;
    size_t i;
    json_t *v;
    json_array_foreach (verbs, i, v) {
        for (unsigned b = 0; b < sizeof(names) / sizeof(names[0]); b++)
            if (json_is_string(v) && !strcmp(json_string_value(v), names[b]))
                bits |= 1u << b;
    }
    return bits;
}
#define VB_GET              (1u << 0)
#define VB_LIST             (1u << 1)
#define VB_WATCH            (1u << 2)
#define VB_CREATE           (1u << 3)
#define VB_UPDATE           (1u << 4)
#define VB_PATCH            (1u << 5)
#define VB_DELETE           (1u << 6)
#define VB_DELETECOLLECTION (1u << 7)

static struct op op_base(const struct gvinfo *gv, const char *method, const char *action,
                         const char *group, const char *version, const char *kind)
{
    struct op op;
    memset(&op, 0, sizeof(op));
    op.method = method;
    op.action = action;
    op.tag = gv->tag;
    op.group = group;
    op.version = version;
    op.kind = kind;
    op.codes = RESP_200;
    return op;
}

/* The get/put/patch operations of one subresource ({name}/status, {name}/scale, ...). */
static int add_subresource(struct gen *g, const struct gvinfo *gv, const char *item_path,
                           unsigned item_params, const char *kind, const char *scope,
                           const json_t *sub)
{
    const char *name = json_string_value(json_object_get(sub, "name"));
    if (!name)
        return gen_fail(g, "%s: a subresource without a name", kind);
    const char *sg = json_string_value(json_object_get(sub, "group"));
    const char *sv = json_string_value(json_object_get(sub, "version"));
    const char *sk = json_string_value(json_object_get(sub, "kind"));
    if (!sk) {
        sg = gv->group;
        sv = gv->version;
        sk = kind;
    }
    const char *def = def_for_kind(g, sg ? sg : "", sv ? sv : "", sk);
    if (!def)
        return gen_fail(g, "no schema with gvk %s/%s %s for subresource %s", sg ? sg : "",
                        sv ? sv : "", sk, name);
    json_t *seen = json_object();
    bool smp = patch_meta_complete(g, json_object_get(g->defs, def), seen, 0);
    json_decref(seen);
    char path[1024], subcap[64];
    snprintf(path, sizeof(path), "%s/%s", item_path, name);
    cap_copy(subcap, sizeof(subcap), name);
    unsigned verbs = verb_bits(json_object_get(sub, "verbs"));
    struct op op;
    if (verbs & VB_GET) {
        op = op_base(gv, "get", "get", sg ? sg : "", sv, sk);
        op.response = def;
        snprintf(op.id, sizeof(op.id), "read%s%s%s%s", gv->id, scope, kind, subcap);
        snprintf(op.description, sizeof(op.description), "Read the %s of one %s", name, kind);
        add_op(g, gv->doc, path, item_params, kind, &op);
    }
    if (verbs & VB_UPDATE) {
        op = op_base(gv, "put", "put", sg ? sg : "", sv, sk);
        op.query = QP_WRITE;
        op.body = def;
        op.body_required = true;
        op.response = def;
        op.codes = RESP_200 | RESP_201;
        snprintf(op.id, sizeof(op.id), "replace%s%s%s%s", gv->id, scope, kind, subcap);
        snprintf(op.description, sizeof(op.description), "Replace the %s of one %s", name, kind);
        add_op(g, gv->doc, path, item_params, kind, &op);
    }
    if (verbs & VB_PATCH) {
        op = op_base(gv, "patch", "patch", sg ? sg : "", sv, sk);
        op.query = QP_PATCH;
        op.body = DEF_PATCH;
        op.body_required = true;
        op.patch = true;
        op.smp = smp;
        op.response = def;
        op.codes = RESP_200 | RESP_201;
        snprintf(op.id, sizeof(op.id), "patch%s%s%s%s", gv->id, scope, kind, subcap);
        snprintf(op.description, sizeof(op.description),
                 "Change part of the %s of one %s with a patch", name, kind);
        add_op(g, gv->doc, path, item_params, kind, &op);
    }
    return 0;
}

/* Every path and operation of one resource, as kube-apiserver lays them out. */
static int add_resource(struct gen *g, const struct gvinfo *gv, const json_t *res)
{
    const char *plural = json_string_value(json_object_get(res, "plural"));
    const char *kind = json_string_value(json_object_get(res, "kind"));
    bool namespaced = json_is_true(json_object_get(res, "namespaced"));
    if (!plural || !kind)
        return gen_fail(g, "%s: a resource without plural or kind", gv->doc);
    char list_kind[160];
    snprintf(list_kind, sizeof(list_kind), "%sList", kind);
    const char *def = def_for_kind(g, gv->group, gv->version, kind);
    const char *list_def = def_for_kind(g, gv->group, gv->version, list_kind);
    if (!def || !list_def)
        return gen_fail(g, "no schema for %s %s or its list", gv->doc, kind);
    json_t *seen = json_object();
    bool smp = patch_meta_complete(g, json_object_get(g->defs, def), seen, 0);
    json_decref(seen);
    unsigned verbs = verb_bits(json_object_get(res, "verbs"));
    const char *scope = namespaced ? "Namespaced" : "";
    const char *ns = namespaced ? "/namespaces/{namespace}" : "";
    unsigned ns_param = namespaced ? PP_NAMESPACE : 0;
    char coll[512], item[600], path[640];
    snprintf(coll, sizeof(coll), "%s%s/%s", gv->prefix, ns, plural);
    snprintf(item, sizeof(item), "%s/{name}", coll);
    unsigned coll_params = ns_param | QP(QP_PRETTY);
    unsigned item_params = ns_param | PP_NAME | QP(QP_PRETTY);
    struct op op;

    if (verbs & VB_LIST) {
        op = op_base(gv, "get", "list", gv->group, gv->version, kind);
        op.query = QP_LIST;
        op.response = list_def;
        op.stream = true;
        snprintf(op.id, sizeof(op.id), "list%s%s%s", gv->id, scope, kind);
        snprintf(op.description, sizeof(op.description),
                 "List the %s objects, or watch them with watch=true", kind);
        add_op(g, gv->doc, coll, coll_params, kind, &op);
    }
    if (verbs & VB_CREATE) {
        op = op_base(gv, "post", "post", gv->group, gv->version, kind);
        op.query = QP_WRITE;
        op.body = def;
        op.body_required = true;
        op.response = def;
        op.codes = RESP_200 | RESP_201 | RESP_202;
        snprintf(op.id, sizeof(op.id), "create%s%s%s", gv->id, scope, kind);
        snprintf(op.description, sizeof(op.description), "Create a %s", kind);
        add_op(g, gv->doc, coll, coll_params, kind, &op);
    }
    if (verbs & VB_DELETECOLLECTION) {
        op = op_base(gv, "delete", "deletecollection", gv->group, gv->version, kind);
        op.query = QP_DELETECOLLECTION;
        op.body = DEF_DELETE_OPTIONS;
        op.response = DEF_STATUS;
        snprintf(op.id, sizeof(op.id), "delete%sCollection%s%s", gv->id, scope, kind);
        snprintf(op.description, sizeof(op.description), "Delete every %s the selectors match",
                 kind);
        add_op(g, gv->doc, coll, coll_params, kind, &op);
    }
    if (verbs & VB_GET) {
        op = op_base(gv, "get", "get", gv->group, gv->version, kind);
        op.response = def;
        snprintf(op.id, sizeof(op.id), "read%s%s%s", gv->id, scope, kind);
        snprintf(op.description, sizeof(op.description), "Read one %s", kind);
        add_op(g, gv->doc, item, item_params, kind, &op);
    }
    if (verbs & VB_UPDATE) {
        op = op_base(gv, "put", "put", gv->group, gv->version, kind);
        op.query = QP_WRITE;
        op.body = def;
        op.body_required = true;
        op.response = def;
        op.codes = RESP_200 | RESP_201;
        snprintf(op.id, sizeof(op.id), "replace%s%s%s", gv->id, scope, kind);
        snprintf(op.description, sizeof(op.description), "Replace one %s as a whole", kind);
        add_op(g, gv->doc, item, item_params, kind, &op);
    }
    if (verbs & VB_PATCH) {
        op = op_base(gv, "patch", "patch", gv->group, gv->version, kind);
        op.query = QP_PATCH;
        op.body = DEF_PATCH;
        op.body_required = true;
        op.patch = true;
        op.smp = smp;
        op.response = def;
        op.codes = RESP_200 | RESP_201;
        snprintf(op.id, sizeof(op.id), "patch%s%s%s", gv->id, scope, kind);
        snprintf(op.description, sizeof(op.description), "Change part of one %s with a patch",
                 kind);
        add_op(g, gv->doc, item, item_params, kind, &op);
    }
    if (verbs & VB_DELETE) {
        op = op_base(gv, "delete", "delete", gv->group, gv->version, kind);
        op.query = QP_DELETE;
        op.body = DEF_DELETE_OPTIONS;
        op.response = DEF_STATUS;
        op.codes = RESP_200 | RESP_202;
        snprintf(op.id, sizeof(op.id), "delete%s%s%s", gv->id, scope, kind);
        snprintf(op.description, sizeof(op.description), "Delete one %s", kind);
        add_op(g, gv->doc, item, item_params, kind, &op);
    }
    size_t i;
    json_t *sub;
    json_array_foreach (json_object_get(res, "subresources"), i, sub) {
        if (add_subresource(g, gv, item, item_params, kind, scope, sub))
            return -1;
    }
    if (namespaced && (verbs & VB_LIST)) {
        snprintf(path, sizeof(path), "%s/%s", gv->prefix, plural);
        op = op_base(gv, "get", "list", gv->group, gv->version, kind);
        op.response = list_def;
        op.stream = true;
        snprintf(op.id, sizeof(op.id), "list%s%sForAllNamespaces", gv->id, kind);
        snprintf(op.description, sizeof(op.description),
                 "List the %s objects of every namespace, or watch them with watch=true", kind);
        add_op(g, gv->doc, path, QP_LIST | QP(QP_PRETTY), kind, &op);
    }
    if (verbs & VB_WATCH) {
        snprintf(path, sizeof(path), "%s/watch%s/%s", gv->prefix, ns, plural);
        op = op_base(gv, "get", "watchlist", gv->group, gv->version, kind);
        op.response = DEF_WATCH_EVENT;
        op.stream = true;
        snprintf(op.id, sizeof(op.id), "watch%s%s%sList", gv->id, scope, kind);
        snprintf(op.description, sizeof(op.description),
                 "Watch the %s objects for changes. Deprecated: list with watch=true instead",
                 kind);
        add_op(g, gv->doc, path, QP_LIST | QP(QP_PRETTY) | ns_param, kind, &op);

        snprintf(path, sizeof(path), "%s/watch%s/%s/{name}", gv->prefix, ns, plural);
        op.action = "watch";
        snprintf(op.id, sizeof(op.id), "watch%s%s%s", gv->id, scope, kind);
        snprintf(op.description, sizeof(op.description),
                 "Watch one %s for changes. Deprecated: list with watch=true and a "
                 "metadata.name field selector instead",
                 kind);
        add_op(g, gv->doc, path, QP_LIST | QP(QP_PRETTY) | ns_param | PP_NAME, kind, &op);

        if (namespaced) {
            snprintf(path, sizeof(path), "%s/watch/%s", gv->prefix, plural);
            op.action = "watchlist";
            snprintf(op.id, sizeof(op.id), "watch%s%sListForAllNamespaces", gv->id, kind);
            snprintf(op.description, sizeof(op.description),
                     "Watch the %s objects of every namespace for changes. Deprecated: list "
                     "with watch=true instead",
                     kind);
            add_op(g, gv->doc, path, QP_LIST | QP(QP_PRETTY), kind, &op);
        }
    }
    return 0;
}

/* A discovery document's GET (/api/, /apis/, /apis/{group}/, /api/v1/). */
static void add_discovery(struct gen *g, const char *doc, const char *path, const char *tag,
                          const char *id, const char *description, const char *response)
{
    struct op op;
    memset(&op, 0, sizeof(op));
    op.method = "get";
    op.tag = tag;
    op.response = response;
    op.codes = RESP_200;
    snprintf(op.id, sizeof(op.id), "%s", id);
    snprintf(op.description, sizeof(op.description), "%s", description);
    add_op(g, doc, path, 0, "", &op);
}

static int build_paths(struct gen *g)
{
    size_t i, r;
    json_t *group, *res;
    json_array_foreach (json_object_get(g->resources, "groups"), i, group) {
        struct gvinfo gv;
        char gcamel[64], gtag[64], vcap[32], id[256];
        gv.group = json_string_value(json_object_get(group, "group"));
        gv.version = json_string_value(json_object_get(group, "version"));
        if (!gv.group || !gv.version)
            return gen_fail(g, "resources.yaml: a group without group or version");
        group_words(gv.group, gcamel, sizeof(gcamel), gtag, sizeof(gtag));
        cap_copy(vcap, sizeof(vcap), gv.version);
        snprintf(gv.id, sizeof(gv.id), "%s%s", gcamel, vcap);
        snprintf(gv.tag, sizeof(gv.tag), "%s_%s", gtag, gv.version);
        if (*gv.group) {
            snprintf(gv.prefix, sizeof(gv.prefix), "/apis/%s/%s", gv.group, gv.version);
            snprintf(gv.doc, sizeof(gv.doc), "apis/%s/%s", gv.group, gv.version);
        } else {
            snprintf(gv.prefix, sizeof(gv.prefix), "/api/%s", gv.version);
            snprintf(gv.doc, sizeof(gv.doc), "api/%s", gv.version);
        }
        char path[512];
        snprintf(path, sizeof(path), "%s/", gv.prefix);
        snprintf(id, sizeof(id), "get%sAPIResources", gv.id);
        add_discovery(g, gv.doc, path, gv.tag, id, "List the resources this group version serves",
                      DEF_RESOURCE_LIST);
        json_array_foreach (json_object_get(group, "resources"), r, res) {
            if (add_resource(g, &gv, res))
                return -1;
        }
        if (*gv.group) {
            char doc[256];
            snprintf(doc, sizeof(doc), "apis/%s", gv.group);
            snprintf(path, sizeof(path), "/apis/%s/", gv.group);
            snprintf(id, sizeof(id), "get%sAPIGroup", gcamel);
            if (!json_object_get(g->v3_paths, doc))
                add_discovery(g, doc, path, gtag, id,
                              "Describe this API group and the versions it serves", DEF_GROUP);
        } else {
            add_discovery(g, "api", "/api/", "core", "getCoreAPIVersions",
                          "List the versions of the core API", DEF_VERSIONS);
        }
    }
    /* /apis answers even when no named group is served (kubectl-contract.md §2.2). */
    add_discovery(g, "apis", "/apis/", "apis", "getAPIVersions",
                  "List the API groups and the versions of each", DEF_GROUP_LIST);
    return 0;
}

/* ---- documents --------------------------------------------------------------------------------
 */

static json_t *security_scheme(void)
{
    return json_pack("{s:{s:s,s:s,s:s,s:s}}", "BearerToken", "description",
                     "A bearer token in the Authorization header", "in", "header", "name",
                     "authorization", "type", "apiKey");
}

static json_t *info(void)
{
    return json_pack("{s:s,s:s}", "title", OPENAPI_TITLE, "version", OPENAPI_VERSION);
}

/* Every definition name that a "#/components/schemas/" reference below v names, into names. */
static void collect_refs(const json_t *v, json_t *names, int depth)
{
    if (depth > 64)
        return;
    if (json_is_object(v)) {
        const char *key;
        json_t *child;
        json_object_foreach ((json_t *)v, key, child) {
            const char *s = json_string_value(child);
            if (!strcmp(key, "$ref") && s && !strncmp(s, V3_REF_PREFIX, strlen(V3_REF_PREFIX)))
                json_object_set_new(names, s + strlen(V3_REF_PREFIX), json_true());
            else
                collect_refs(child, names, depth + 1);
        }
    } else if (json_is_array(v)) {
        size_t i;
        json_t *child;
        json_array_foreach (v, i, child)
            collect_refs(child, names, depth + 1);
    }
}

/* The schemas a v3 document needs: those its paths reference, and theirs, transitively. */
static json_t *v3_schemas(const json_t *paths, json_t *all)
{
    json_t *schemas = json_object();
    json_t *todo = json_object();
    collect_refs(paths, todo, 0);
    while (json_object_size(todo)) {
        json_t *next = json_object();
        const char *name;
        json_t *unused;
        json_object_foreach (todo, name, unused) {
            if (json_object_get(schemas, name))
                continue;
            json_t *s = json_object_get(all, name);
            json_object_set(schemas, name, s);
            collect_refs(s, next, 0);
        }
        json_decref(todo);
        todo = next;
    }
    json_decref(todo);
    return schemas;
}

/* Write data as a C string literal. '?' is escaped so that no "??x" becomes a trigraph. */
static void emit_literal(FILE *out, const char *decl, const char *data, size_t len)
{
    fprintf(out, "%s =\n    \"", decl);
    size_t col = 5;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)data[i];
        char tmp[8];
        if (c == '"' || c == '\\' || c == '?')
            snprintf(tmp, sizeof(tmp), "\\%c", c);
        else if (c < 0x20 || c >= 0x7f)
            snprintf(tmp, sizeof(tmp), "\\%03o", c);
        else
            snprintf(tmp, sizeof(tmp), "%c", c);
        if (col + strlen(tmp) > 98) {
            fputs("\"\n    \"", out);
            col = 5;
        }
        fputs(tmp, out);
        col += strlen(tmp);
    }
    fputs("\";\n", out);
}

/* Emit NAME[] and NAME_len for data; with hash_name also its digest. */
static void emit_blob(FILE *out, const char *name, bool is_static, const char *data, size_t len,
                      char hex[129])
{
    char decl[256];
    snprintf(decl, sizeof(decl), "%sconst char %s[]", is_static ? "static " : "", name);
    emit_literal(out, decl, data, len);
    if (!is_static)
        fprintf(out, "const size_t %s_len = %zu;\n", name, len);
    if (hex)
        openapi_sha512_hex(data, len, hex);
}

static char *dump(const json_t *doc)
{
    char *s = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
    if (!s)
        abort();
    return s;
}

static int emit_v2(struct gen *g, FILE *out, json_t *definitions)
{
    json_t *doc = json_object();
    json_object_set_new(doc, "swagger", json_string("2.0"));
    json_object_set_new(doc, "info", info());
    json_object_set(doc, "paths", g->v2_paths);
    json_object_set(doc, "definitions", definitions);
    json_object_set_new(doc, "securityDefinitions", security_scheme());
    json_object_set_new(doc, "security", json_pack("[{s:[]}]", "BearerToken"));
    char *text = dump(doc);
    json_decref(doc);

    /* The protobuf is made from the JSON as served, so both forms list keys in one order. */
    json_error_t jerr;
    json_t *sorted = json_loads(text, 0, &jerr);
    struct strbuf pb;
    strbuf_init(&pb, STRBUF_NO_LIMIT);
    char err[1200];
    if (!sorted || pbw_openapi_v2(sorted, &pb, err, sizeof(err))) {
        gen_fail(g, "openapi v2 protobuf: %s", sorted ? err : jerr.text);
        json_decref(sorted);
        strbuf_release(&pb);
        free(text);
        return -1;
    }
    json_decref(sorted);
    char hex[129];
    emit_blob(out, "svc_openapi_v2_json", false, text, strlen(text), hex);
    fprintf(out, "const char svc_openapi_v2_hash[] = \"%s\";\n", hex);
    emit_blob(out, "svc_openapi_v2_pb", false, pb.buf, pb.len, NULL);
    strbuf_release(&pb);
    free(text);
    return 0;
}

static int emit_v3(struct gen *g, FILE *out, json_t *all)
{
    size_t n = json_array_size(g->v3_order);
    char(*hashes)[129] = calloc(n ? n : 1, sizeof(*hashes));
    size_t *lens = calloc(n ? n : 1, sizeof(*lens));
    if (!hashes || !lens)
        abort();
    json_t *index = json_object();
    for (size_t i = 0; i < n; i++) {
        const char *key = json_string_value(json_array_get(g->v3_order, i));
        json_t *paths = json_object_get(g->v3_paths, key);
        json_t *components = json_object();
        json_object_set_new(components, "schemas", v3_schemas(paths, all));
        json_object_set_new(components, "securitySchemes", security_scheme());
        json_t *doc = json_object();
        json_object_set_new(doc, "openapi", json_string("3.0.0"));
        json_object_set_new(doc, "info", info());
        json_object_set(doc, "paths", paths);
        json_object_set_new(doc, "components", components);
        char *text = dump(doc);
        json_decref(doc);
        char name[64];
        snprintf(name, sizeof(name), "openapi_v3_doc_%zu", i);
        lens[i] = strlen(text);
        emit_blob(out, name, true, text, lens[i], hashes[i]);
        free(text);
        /* kube-openapi's index entry: /openapi/v3/<key>?hash=<digest of the document> */
        char url[512];
        snprintf(url, sizeof(url), "/openapi/v3/%s?hash=%s", key, hashes[i]);
        json_object_set_new(index, key, json_pack("{s:s}", "serverRelativeURL", url));
    }
    json_t *index_doc = json_pack("{s:o}", "paths", index);
    char *text = dump(index_doc);
    json_decref(index_doc);
    char hex[129];
    emit_blob(out, "svc_openapi_v3_index_json", false, text, strlen(text), hex);
    fprintf(out, "const char svc_openapi_v3_index_hash[] = \"%s\";\n", hex);
    free(text);
    fprintf(out, "const struct openapi_v3_doc svc_openapi_v3_docs[] = {\n");
    for (size_t i = 0; i < n; i++)
        fprintf(out, "    {\"%s\", \"%s\", openapi_v3_doc_%zu, %zu},\n",
                json_string_value(json_array_get(g->v3_order, i)), hashes[i], i, lens[i]);
    fprintf(out, "};\nconst size_t svc_openapi_v3_n_docs = %zu;\n", n);
    free(hashes);
    free(lens);
    return 0;
}

int openapi_generate(FILE *out, json_t *resources, json_t *defs)
{
    struct gen g = {.resources = resources,
                    .defs = defs,
                    .v2_paths = json_object(),
                    .v3_paths = json_object(),
                    .v3_order = json_array(),
                    .err = ""};
    json_t *v2_defs = NULL, *v3_defs = NULL;
    int rc = -1;
    if (build_paths(&g) || conv_definitions(&g, V2, &v2_defs) || conv_definitions(&g, V3, &v3_defs))
        goto out;
    fputs("\n/* OpenAPI documents (tools/openapi_gen.c) */\n#include \"svc/openapi.h\"\n", out);
    if (emit_v2(&g, out, v2_defs) || emit_v3(&g, out, v3_defs))
        goto out;
    rc = 0;
out:
    if (rc)
        fprintf(stderr, "apigen: %s\n", g.err);
    json_decref(v3_defs);
    json_decref(v2_defs);
    json_decref(g.v3_order);
    json_decref(g.v3_paths);
    json_decref(g.v2_paths);
    return rc;
}
