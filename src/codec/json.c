/*
 * json: request bodies (JSON, YAML) to jansson trees, with apiserver's error wording.
 * See include/svc/codec.h.
 */
#include "svc/codec.h"

#include "svc/api.h"
#include "svc/apierr.h"
#include "svc/protobuf.h"
#include "svc/strbuf.h"
#include "svc/util.h"
#include "svc/yaml.h"

#include <ctype.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static bool media_is(const char *ct, const char *want)
{
    size_t n = strlen(want);
    if (strncasecmp(ct, want, n))
        return false;
    return ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ';
}

enum codec_media codec_media_of(const char *ct)
{
    if (!ct)
        return CODEC_MEDIA_JSON;
    while (*ct == ' ')
        ct++;
    if (!*ct || media_is(ct, "application/json"))
        return CODEC_MEDIA_JSON;
    if (media_is(ct, "application/yaml") || media_is(ct, "application/x-yaml") ||
        media_is(ct, "text/yaml"))
        return CODEC_MEDIA_YAML;
    if (media_is(ct, "application/vnd.kubernetes.protobuf"))
        return CODEC_MEDIA_PROTOBUF;
    if (media_is(ct, "application/merge-patch+json"))
        return CODEC_MEDIA_MERGE_PATCH;
    if (media_is(ct, "application/json-patch+json"))
        return CODEC_MEDIA_JSON_PATCH;
    if (media_is(ct, "application/strategic-merge-patch+json"))
        return CODEC_MEDIA_STRATEGIC_PATCH;
    if (media_is(ct, "application/apply-patch+yaml"))
        return CODEC_MEDIA_APPLY_PATCH;
    return CODEC_MEDIA_UNKNOWN;
}

int codec_depth(const json_t *v, int limit)
{
    /* The nesting of v (objects and arrays; the outermost counts 1), but never more than
       limit + 1: the walk stops as soon as the limit is passed. */
    if (!json_is_object(v) && !json_is_array(v))
        return 0;
    if (limit <= 0)
        return 1;
    int deepest = 0;
    if (json_is_object(v)) {
        const char *key;
        json_t *child;
        json_object_foreach ((json_t *)v, key, child) {
            int d = codec_depth(child, limit - 1);
            if (d > deepest)
                deepest = d;
            if (deepest >= limit)
                break;
        }
    } else {
        size_t i;
        json_t *child;
        json_array_foreach (v, i, child) {
            int d = codec_depth(child, limit - 1);
            if (d > deepest)
                deepest = d;
            if (deepest >= limit)
                break;
        }
    }
    return deepest + 1;
}

json_t *codec_parse_json(const char *body, size_t len, bool reject_duplicates, char **msg)
{
    json_error_t jerr;
    size_t flags = JSON_DECODE_ANY | (reject_duplicates ? JSON_REJECT_DUPLICATES : 0);
    *msg = NULL;
    if (len == 0) {
        *msg = xstrdup("unexpected end of JSON input");
        return NULL;
    }
    json_t *v = json_loadb(body, len, flags, &jerr);
    if (!v) {
        *msg = xasprintf("%s (line %d, column %d)", jerr.text, jerr.line, jerr.column);
        return NULL;
    }
    if (codec_depth(v, CODEC_MAX_DEPTH) > CODEC_MAX_DEPTH) {
        json_decref(v);
        *msg = xasprintf("exceeded max depth of %d", CODEC_MAX_DEPTH);
        return NULL;
    }
    return v;
}

/* apiserver's summarizeData: the first 30 bytes of the body, as text if it looks like JSON. */
static char *summarize(const char *body, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    if (len == 0)
        return xstrdup("<empty>");
    size_t n = len > 30 ? 30 : len;
    struct strbuf sb;
    strbuf_init(&sb, STRBUF_NO_LIMIT);
    if (body[0] == '{') {
        strbuf_add(&sb, body, n);
    } else {
        for (size_t i = 0; i < n; i++) {
            strbuf_addch(&sb, hex[(unsigned char)body[i] >> 4]);
            strbuf_addch(&sb, hex[(unsigned char)body[i] & 15]);
        }
    }
    if (len > 30)
        strbuf_addstr(&sb, " ...");
    return strbuf_detach(&sb, NULL);
}

/* The served kind of apiVersion (group/version or "v1") and kind, or NULL. */
static const struct api_resource *codec_known_kind(const char *api_version, const char *kind)
{
    const char *slash = strchr(api_version, '/');
    char group[128] = "";
    if (slash)
        snprintf(group, sizeof(group), "%.*s", (int)(slash - api_version), api_version);
    return api_find_kind(api_builtin(), group, slash ? slash + 1 : api_version, kind);
}

/* Go's name of a kind's type: the versioned "v1.Pod", or the internal "core.Service". */
static void go_type_name(const struct api_resource *res, bool internal, char *out, size_t n)
{
    if (!internal)
        snprintf(out, n, "%s.%s", res->version, res->kind);
    else if (!*res->group)
        snprintf(out, n, "core.%s", res->kind);
    else {
        const char *dot = strchr(res->group, '.');
        snprintf(out, n, "%.*s.%s", dot ? (int)(dot - res->group) : (int)strlen(res->group),
                 res->group, res->kind);
    }
}

static json_t *unrecognized(struct apierr *err, const char *kind, const char *what,
                            const char *body, size_t len)
{
    char *summary = summarize(body, len);
    apierr_simple(err, APIERR_BAD_REQUEST,
                  "the object provided is unrecognized (must be of type %s): %s (%s)", kind, what,
                  summary);
    free(summary);
    return NULL;
}

json_t *codec_decode_object(const char *content_type, const char *body, size_t len,
                            const char *kind, const char *version, struct apierr *err)
{
    json_t *obj = NULL;
    char *msg = NULL;
    switch (codec_media_of(content_type)) {
    case CODEC_MEDIA_JSON:
    case CODEC_MEDIA_STRATEGIC_PATCH:
    case CODEC_MEDIA_MERGE_PATCH:
        obj = codec_parse_json(body, len, false, &msg);
        if (!obj) {
            char *what = xasprintf("couldn't get version/kind; json parse error: %s", msg);
            unrecognized(err, kind, what, body, len);
            free(what);
            free(msg);
            return NULL;
        }
        break;
    case CODEC_MEDIA_YAML:
    case CODEC_MEDIA_APPLY_PATCH: {
        struct yaml_error yerr;
        obj = yaml_parse(body, len, CODEC_MAX_DEPTH, &yerr);
        if (!obj) {
            /* The YAML decoder's own text, wrapped as transformDecodeError does. */
            return unrecognized(err, kind, yerr.text, body, len);
        }
        break;
    }
    case CODEC_MEDIA_PROTOBUF: {
        struct protobuf_error perr;
        obj = protobuf_decode(body, len, version, kind, &perr);
        if (!obj) {
            enum apierr_reason reason = APIERR_BAD_REQUEST;
            if (perr.code == PROTOBUF_EUNSUPPORTED)
                reason = APIERR_UNSUPPORTED_MEDIA_TYPE;
            else if (perr.code == PROTOBUF_ETOOBIG)
                reason = APIERR_TOO_LARGE;
            apierr_simple(err, reason, "%s", perr.message);
            return NULL;
        }
        break;
    }
    default:
        apierr_simple(err, APIERR_UNSUPPORTED_MEDIA_TYPE,
                      "the body of the request was in an unknown format - accepted media types "
                      "include: application/json, application/yaml, "
                      "application/vnd.kubernetes.protobuf");
        return NULL;
    }
    if (json_is_null(obj)) {
        /* Go decodes a literal null into an empty object. */
        json_decref(obj);
        obj = json_object();
    }
    if (!json_is_object(obj)) {
        char *what = xasprintf("couldn't get version/kind; json parse error: json: cannot "
                               "unmarshal %s into Go value of type struct { APIVersion string "
                               "\"json:\\\"apiVersion,omitempty\\\"\"; Kind string "
                               "\"json:\\\"kind,omitempty\\\"\" }",
                               ju_go_type_word(obj));
        json_decref(obj);
        unrecognized(err, kind, what, body, len);
        free(what);
        return NULL;
    }
    /* kind and apiVersion say which Go type the body is (apimachinery's meta.Interpret). */
    const char *fields[2] = {"kind", "apiVersion"};
    for (int i = 0; i < 2; i++) {
        json_t *f = json_object_get(obj, fields[i]);
        if (f && !json_is_string(f) && !json_is_null(f)) {
            char *what = xasprintf("couldn't get version/kind; json parse error: json: cannot "
                                   "unmarshal %s into Go struct field .%s of type string",
                                   ju_go_type_word(f), fields[i]);
            json_decref(obj);
            unrecognized(err, kind, what, body, len);
            free(what);
            return NULL;
        }
    }
    const char *body_kind = ju_str(obj, "kind");
    const char *body_api = ju_str(obj, "apiVersion");
    if (ju_empty(body_kind))
        body_kind = kind;
    if (ju_empty(body_api))
        body_api = version;
    const char *slash = strrchr(body_api, '/');
    const char *body_version = slash ? slash + 1 : body_api;
    /* The defaults are the endpoint's; a body naming a kind or version the scheme does not know,
       or another kind, cannot be handled as this one. */
    const struct api_resource *known = codec_known_kind(body_api, body_kind);
    char *problem = NULL;
    if (!known) {
        problem = xasprintf("no kind \"%s\" is registered for version \"%s\" in scheme "
                            "\"pkg/api/legacyscheme/scheme.go:30\"",
                            body_kind, body_api);
    } else if (strcmp(body_kind, kind) || strcmp(body_api, version)) {
        char from[160], to[160];
        go_type_name(known, false, from, sizeof(from));
        const struct api_resource *target = codec_known_kind(version, kind);
        if (target)
            go_type_name(target, true, to, sizeof(to));
        else
            snprintf(to, sizeof(to), "%s", kind);
        problem = xasprintf("converting (%s) to (%s): unknown conversion", from, to);
    }
    if (problem) {
        apierr_simple(err, APIERR_BAD_REQUEST, "%s in version \"%s\" cannot be handled as a %s: %s",
                      body_kind, body_version, kind, problem);
        free(problem);
        json_decref(obj);
        return NULL;
    }
    return obj;
}
