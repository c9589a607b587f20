/*
 * protobuf: Kubernetes protobuf request bodies (core/v1 Service and Namespace) to jansson trees.
 * See include/svc/protobuf.h.
 *
 * Decoding runs in two passes over a static description of each message (the field tables
 * below, written from k8s.io/api core/v1 and apimachinery meta/v1 generated.proto and types.go
 * at v0.33.0). The first pass reads the wire format with gogo-protobuf's rules into a "raw" tree
 * keyed by JSON field name: later scalars replace earlier ones, repeated fields append, a
 * message field seen twice is merged, map entries overwrite by key. The second pass walks the
 * tables in Go struct order and applies encoding/json's rules (omitempty, pointers, struct
 * values never omitted, custom marshalers of Time, IntOrString and FieldsV1). Recursion follows
 * the static tables only, so its depth is bounded by them; unknown fields are skipped, never
 * descended into. Depends on jansson and libc only.
 */
#include "svc/protobuf.h"
#include "svc/util.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The four bytes before every Kubernetes protobuf message (protobuf.go protoEncodingPrefix). */
static const unsigned char pb_magic[4] = {0x6b, 0x38, 0x73, 0x00};

/* What kube-apiserver says when the request's type has no protobuf serializer: its negotiation
 * then accepts only these (apiserver handlers/negotiation errUnsupportedMediaType). */
static const char pb_unsupported_message[] =
    "the body of the request was in an unknown format - accepted media types include: "
    "application/json, application/yaml";

/* ---- message descriptions -------------------------------------------------------------------- */

enum pb_type {
    PBT_STRING,   /* length-delimited, UTF-8 */
    PBT_BYTES,    /* length-delimited, kept as a span of the body */
    PBT_INT32,    /* varint, low 32 bits as gogo keeps them */
    PBT_INT64,    /* varint */
    PBT_BOOL,     /* varint, non-zero is true */
    PBT_MESSAGE,  /* nested message, described by msg */
    PBT_MAP,      /* map<string, string> */
    PBT_TIME,     /* meta/v1 Time: seconds only, RFC 3339 or null */
    PBT_INTSTR,   /* intstr.IntOrString: a JSON number or string */
    PBT_FIELDSV1, /* meta/v1 FieldsV1: its Raw bytes are the JSON value */
};

enum pb_json {
    PBJ_OMITEMPTY, /* value field tagged omitempty: left out while it holds the zero value */
    PBJ_ALWAYS,    /* value field without omitempty, or a struct (encoding/json never omits
                      structs, so `spec` and `creationTimestamp` always appear) */
    PBJ_POINTER,   /* pointer field: present on the wire means present in JSON, zero or not */
};

struct pb_msg;

struct pb_field {
    uint32_t num;
    const char *name; /* JSON name */
    enum pb_type type;
    enum pb_json json;
    bool repeated;
    const struct pb_msg *msg; /* PBT_MESSAGE, PBT_INTSTR, PBT_FIELDSV1, PBT_TIME */
};

struct pb_msg {
    const char *name; /* Go type name, used in error messages */
    const struct pb_field *fields;
    size_t nfields;
};

#define PB_MSG(var, goname, table)                                                                 \
    static const struct pb_msg var = {goname, table, sizeof(table) / sizeof(table[0])}

/* Tables that are referenced before their definition. */
static const struct pb_msg pb_object_meta, pb_owner_reference, pb_managed_fields_entry,
    pb_fields_v1, pb_timestamp, pb_condition, pb_int_or_string, pb_service_spec, pb_service_port,
    pb_session_affinity_config, pb_client_ip_config, pb_service_status, pb_load_balancer_status,
    pb_load_balancer_ingress, pb_port_status, pb_namespace_spec, pb_namespace_status,
    pb_namespace_condition, pb_type_meta;

/* Field order in each table is the Go struct order, which is the JSON key order. */

static const struct pb_field pb_timestamp_fields[] = {
    {1, "seconds", PBT_INT64, PBJ_ALWAYS, false, NULL},
    {2, "nanos", PBT_INT32, PBJ_ALWAYS, false, NULL},
};
PB_MSG(pb_timestamp, "Timestamp", pb_timestamp_fields);

static const struct pb_field pb_int_or_string_fields[] = {
    {1, "type", PBT_INT64, PBJ_ALWAYS, false, NULL},
    {2, "intVal", PBT_INT32, PBJ_ALWAYS, false, NULL},
    {3, "strVal", PBT_STRING, PBJ_ALWAYS, false, NULL},
};
PB_MSG(pb_int_or_string, "IntOrString", pb_int_or_string_fields);

static const struct pb_field pb_fields_v1_fields[] = {
    {1, "Raw", PBT_BYTES, PBJ_POINTER, false, NULL},
};
PB_MSG(pb_fields_v1, "FieldsV1", pb_fields_v1_fields);

static const struct pb_field pb_owner_reference_fields[] = {
    {5, "apiVersion", PBT_STRING, PBJ_ALWAYS, false, NULL},
    {1, "kind", PBT_STRING, PBJ_ALWAYS, false, NULL},
    {3, "name", PBT_STRING, PBJ_ALWAYS, false, NULL},
    {4, "uid", PBT_STRING, PBJ_ALWAYS, false, NULL},
    {6, "controller", PBT_BOOL, PBJ_POINTER, false, NULL},
    {7, "blockOwnerDeletion", PBT_BOOL, PBJ_POINTER, false, NULL},
};
PB_MSG(pb_owner_reference, "OwnerReference", pb_owner_reference_fields);

static const struct pb_field pb_managed_fields_entry_fields[] = {
    {1, "manager", PBT_STRING, PBJ_OMITEMPTY, false, NULL},
    {2, "operation", PBT_STRING, PBJ_OMITEMPTY, false, NULL},
    {3, "apiVersion", PBT_STRING, PBJ_OMITEMPTY, false, NULL},
    {4, "time", PBT_TIME, PBJ_POINTER, false, &pb_timestamp},
    {6, "fieldsType", PBT_STRING, PBJ_OMITEMPTY, false, NULL},
    {7, "fieldsV1", PBT_FIELDSV1, PBJ_POINTER, false, &pb_fields_v1},
    {8, "subresource", PBT_STRING, PBJ_OMITEMPTY, false, NULL},
};
PB_MSG(pb_managed_fields_entry, "ManagedFieldsEntry", pb_managed_fields_entry_fields);

static const struct pb_field pb_object_meta_fields[] = {
    {1, "name", PBT_STRING, PBJ_OMITEMPTY, false, NULL},
    {2, "generateName", PBT_STRING, PBJ_OMITEMPTY, false, NULL},
    {3, "namespace", PBT_STRING, PBJ_OMITEMPTY, false, NULL},
    {4, "selfLink", PBT_STRING, PBJ_OMITEMPTY, false, NULL},
    {5, "uid", PBT_STRING, PBJ_OMITEMPTY, false, NULL},
    {6, "resourceVersion", PBT_STRING, PBJ_OMITEMPTY, false, NULL},
    {7, "generation", PBT_INT64, PBJ_OMITEMPTY, false, NULL},
    {8, "creationTimestamp", PBT_TIME, PBJ_ALWAYS, false, &pb_timestamp},
    {9, "deletionTimestamp", PBT_TIME, PBJ_POINTER, false, &pb_timestamp},
    {10, "deletionGracePeriodSeconds", PBT_INT64, PBJ_POINTER, false, NULL},
    {11, "labels", PBT_MAP, PBJ_OMITEMPTY, false, NULL},
    {12, "annotations", PBT_MAP, PBJ_OMITEMPTY, false, NULL},
    {13, "ownerReferences", PBT_MESSAGE, PBJ_OMITEMPTY, true, &pb_owner_reference},
    {14, "finalizers", PBT_STRING, PBJ_OMITEMPTY, true, NULL},
    {17, "managedFields", PBT_MESSAGE, PBJ_OMITEMPTY, true, &pb_managed_fields_entry},
};
PB_MSG(pb_object_meta, "ObjectMeta", pb_object_meta_fields);

static const struct pb_field pb_condition_fields[] = {
    {1, "type", PBT_STRING, PBJ_ALWAYS, false, NULL},
    {2, "status", PBT_STRING, PBJ_ALWAYS, false, NULL},
    {3, "observedGeneration", PBT_INT64, PBJ_OMITEMPTY, false, NULL},
    {4, "lastTransitionTime", PBT_TIME, PBJ_ALWAYS, false, &pb_timestamp},
    {5, "reason", PBT_STRING, PBJ_ALWAYS, false, NULL},
    {6, "message", PBT_STRING, PBJ_ALWAYS, false, NULL},
};
PB_MSG(pb_condition, "Condition", pb_condition_fields);

static const struct pb_field pb_client_ip_config_fields[] = {
    {1, "timeoutSeconds", PBT_INT32, PBJ_POINTER, false, NULL},
};
PB_MSG(pb_client_ip_config, "ClientIPConfig", pb_client_ip_config_fields);

static const struct pb_field pb_session_affinity_config_fields[] = {
    {1, "clientIP", PBT_MESSAGE, PBJ_POINTER, false, &pb_client_ip_config},
};
PB_MSG(pb_session_affinity_config, "SessionAffinityConfig", pb_session_affinity_config_fields);

static const struct pb_field pb_service_port_fields[] = {
    {1, "name", PBT_STRING, PBJ_OMITEMPTY, false, NULL},
    {2, "protocol", PBT_STRING, PBJ_OMITEMPTY, false, NULL},
    {6, "appProtocol", PBT_STRING, PBJ_POINTER, false, NULL},
    {3, "port", PBT_INT32, PBJ_ALWAYS, false, NULL},
    {4, "targetPort", PBT_INTSTR, PBJ_ALWAYS, false, &pb_int_or_string},
    {5, "nodePort", PBT_INT32, PBJ_OMITEMPTY, false, NULL},
};
PB_MSG(pb_service_port, "ServicePort", pb_service_port_fields);

static const struct pb_field pb_service_spec_fields[] = {
    {1, "ports", PBT_MESSAGE, PBJ_OMITEMPTY, true, &pb_service_port},
    {2, "selector", PBT_MAP, PBJ_OMITEMPTY, false, NULL},
    {3, "clusterIP", PBT_STRING, PBJ_OMITEMPTY, false, NULL},
    {18, "clusterIPs", PBT_STRING, PBJ_OMITEMPTY, true, NULL},
    {4, "type", PBT_STRING, PBJ_OMITEMPTY, false, NULL},
    {5, "externalIPs", PBT_STRING, PBJ_OMITEMPTY, true, NULL},
    {7, "sessionAffinity", PBT_STRING, PBJ_OMITEMPTY, false, NULL},
    {8, "loadBalancerIP", PBT_STRING, PBJ_OMITEMPTY, false, NULL},
    {9, "loadBalancerSourceRanges", PBT_STRING, PBJ_OMITEMPTY, true, NULL},
    {10, "externalName", PBT_STRING, PBJ_OMITEMPTY, false, NULL},
    {11, "externalTrafficPolicy", PBT_STRING, PBJ_OMITEMPTY, false, NULL},
    {12, "healthCheckNodePort", PBT_INT32, PBJ_OMITEMPTY, false, NULL},
    {13, "publishNotReadyAddresses", PBT_BOOL, PBJ_OMITEMPTY, false, NULL},
    {14, "sessionAffinityConfig", PBT_MESSAGE, PBJ_POINTER, false, &pb_session_affinity_config},
    {19, "ipFamilies", PBT_STRING, PBJ_OMITEMPTY, true, NULL},
    {17, "ipFamilyPolicy", PBT_STRING, PBJ_POINTER, false, NULL},
    {20, "allocateLoadBalancerNodePorts", PBT_BOOL, PBJ_POINTER, false, NULL},
    {21, "loadBalancerClass", PBT_STRING, PBJ_POINTER, false, NULL},
    {22, "internalTrafficPolicy", PBT_STRING, PBJ_POINTER, false, NULL},
    {23, "trafficDistribution", PBT_STRING, PBJ_POINTER, false, NULL},
};
PB_MSG(pb_service_spec, "ServiceSpec", pb_service_spec_fields);

static const struct pb_field pb_port_status_fields[] = {
    {1, "port", PBT_INT32, PBJ_ALWAYS, false, NULL},
    {2, "protocol", PBT_STRING, PBJ_ALWAYS, false, NULL},
    {3, "error", PBT_STRING, PBJ_POINTER, false, NULL},
};
PB_MSG(pb_port_status, "PortStatus", pb_port_status_fields);

static const struct pb_field pb_load_balancer_ingress_fields[] = {
    {1, "ip", PBT_STRING, PBJ_OMITEMPTY, false, NULL},
    {2, "hostname", PBT_STRING, PBJ_OMITEMPTY, false, NULL},
    {3, "ipMode", PBT_STRING, PBJ_POINTER, false, NULL},
    {4, "ports", PBT_MESSAGE, PBJ_OMITEMPTY, true, &pb_port_status},
};
PB_MSG(pb_load_balancer_ingress, "LoadBalancerIngress", pb_load_balancer_ingress_fields);

static const struct pb_field pb_load_balancer_status_fields[] = {
    {1, "ingress", PBT_MESSAGE, PBJ_OMITEMPTY, true, &pb_load_balancer_ingress},
};
PB_MSG(pb_load_balancer_status, "LoadBalancerStatus", pb_load_balancer_status_fields);

static const struct pb_field pb_service_status_fields[] = {
    {1, "loadBalancer", PBT_MESSAGE, PBJ_ALWAYS, false, &pb_load_balancer_status},
    {2, "conditions", PBT_MESSAGE, PBJ_OMITEMPTY, true, &pb_condition},
};
PB_MSG(pb_service_status, "ServiceStatus", pb_service_status_fields);

static const struct pb_field pb_service_fields[] = {
    {1, "metadata", PBT_MESSAGE, PBJ_ALWAYS, false, &pb_object_meta},
    {2, "spec", PBT_MESSAGE, PBJ_ALWAYS, false, &pb_service_spec},
    {3, "status", PBT_MESSAGE, PBJ_ALWAYS, false, &pb_service_status},
};
PB_MSG(pb_service, "Service", pb_service_fields);

static const struct pb_field pb_namespace_spec_fields[] = {
    {1, "finalizers", PBT_STRING, PBJ_OMITEMPTY, true, NULL},
};
PB_MSG(pb_namespace_spec, "NamespaceSpec", pb_namespace_spec_fields);

static const struct pb_field pb_namespace_condition_fields[] = {
    {1, "type", PBT_STRING, PBJ_ALWAYS, false, NULL},
    {2, "status", PBT_STRING, PBJ_ALWAYS, false, NULL},
    {4, "lastTransitionTime", PBT_TIME, PBJ_ALWAYS, false, &pb_timestamp},
    {5, "reason", PBT_STRING, PBJ_OMITEMPTY, false, NULL},
    {6, "message", PBT_STRING, PBJ_OMITEMPTY, false, NULL},
};
PB_MSG(pb_namespace_condition, "NamespaceCondition", pb_namespace_condition_fields);

static const struct pb_field pb_namespace_status_fields[] = {
    {1, "phase", PBT_STRING, PBJ_OMITEMPTY, false, NULL},
    {2, "conditions", PBT_MESSAGE, PBJ_OMITEMPTY, true, &pb_namespace_condition},
};
PB_MSG(pb_namespace_status, "NamespaceStatus", pb_namespace_status_fields);

static const struct pb_field pb_namespace_fields[] = {
    {1, "metadata", PBT_MESSAGE, PBJ_ALWAYS, false, &pb_object_meta},
    {2, "spec", PBT_MESSAGE, PBJ_ALWAYS, false, &pb_namespace_spec},
    {3, "status", PBT_MESSAGE, PBJ_ALWAYS, false, &pb_namespace_status},
};
PB_MSG(pb_namespace, "Namespace", pb_namespace_fields);

/* The envelope (apimachinery pkg/runtime/generated.proto). */
static const struct pb_field pb_type_meta_fields[] = {
    {1, "apiVersion", PBT_STRING, PBJ_OMITEMPTY, false, NULL},
    {2, "kind", PBT_STRING, PBJ_OMITEMPTY, false, NULL},
};
PB_MSG(pb_type_meta, "TypeMeta", pb_type_meta_fields);

static const struct pb_field pb_unknown_fields[] = {
    {1, "typeMeta", PBT_MESSAGE, PBJ_ALWAYS, false, &pb_type_meta},
    {2, "raw", PBT_BYTES, PBJ_POINTER, false, NULL},
    {3, "contentEncoding", PBT_STRING, PBJ_OMITEMPTY, false, NULL},
    {4, "contentType", PBT_STRING, PBJ_OMITEMPTY, false, NULL},
};
PB_MSG(pb_unknown, "Unknown", pb_unknown_fields);

/* The kinds we decode, all in core v1. */
static const struct {
    const char *kind;
    const struct pb_msg *msg;
} pb_kinds[] = {
    {"Service", &pb_service},
    {"Namespace", &pb_namespace},
};

/* ---- decoding state and errors --------------------------------------------------------------- */

/* Keys of raw message objects are JSON field names; this one, which no field has, records where
 * the last occurrence of an IntOrString or FieldsV1 began, for errors found in the second pass. */
#define PB_AT_KEY "@at"

struct pb_ctx {
    const unsigned char *body;
    size_t len;
    struct protobuf_error *err;
    size_t items; /* list elements and map entries so far */
};

static void *pb_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        abort();
    return p;
}

/* jansson constructors return NULL only when out of memory. */
static json_t *pb_check(json_t *v)
{
    if (!v)
        abort();
    return v;
}

static void pb_set(json_t *obj, const char *key, json_t *value)
{
    if (json_object_set_new_nocheck(obj, key, pb_check(value)) != 0)
        abort();
}

static void pb_append(json_t *arr, json_t *value)
{
    if (json_array_append_new(arr, pb_check(value)) != 0)
        abort();
}

static void pb_error_init(struct protobuf_error *err, int code)
{
    err->code = code;
    switch (code) {
    case PROTOBUF_EUNSUPPORTED:
        err->http_status = 415;
        err->reason = "UnsupportedMediaType";
        break;
    case PROTOBUF_ETOOBIG:
        err->http_status = 413;
        err->reason = "RequestEntityTooLarge";
        break;
    default:
        err->http_status = 400;
        err->reason = "BadRequest";
        break;
    }
    err->offset = 0;
    err->detail[0] = '\0';
    err->message[0] = '\0';
}

static void pb_unsupported(struct protobuf_error *err)
{
    pb_error_init(err, PROTOBUF_EUNSUPPORTED);
    snprintf(err->detail, sizeof(err->detail), "%s", pb_unsupported_message);
    snprintf(err->message, sizeof(err->message), "%s", pb_unsupported_message);
}

/*
 * Record a malformed-body error found at byte `at` while reading field f (NULL when the problem is
 * not in one field) of message m. The detail reads "proto: <problem> in <Msg>[.<field>] at byte N";
 * the Status message is composed later, when it is known which message was being decoded.
 */
static int pb_fail(struct pb_ctx *c, size_t at, const struct pb_msg *m, const struct pb_field *f,
                   const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static int pb_fail(struct pb_ctx *c, size_t at, const struct pb_msg *m, const struct pb_field *f,
                   const char *fmt, ...)
{
    char problem[160];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(problem, sizeof(problem), fmt, ap);
    va_end(ap);
    pb_error_init(c->err, PROTOBUF_EBADREQUEST);
    c->err->offset = at;
    snprintf(c->err->detail, sizeof(c->err->detail), "proto: %s in %s%s%s at byte %zu", problem,
             m->name, f ? "." : "", f ? f->name : "", at);
    return -1;
}

/* ---- wire format ----------------------------------------------------------------------------- */

/*
 * Read a varint at *pos, before end. As gogo's generated code does, at most ten bytes are read and
 * bits past the 64th are dropped; an eleventh byte is an overflow.
 */
static int pb_varint(struct pb_ctx *c, size_t *pos, size_t end, uint64_t *out,
                     const struct pb_msg *m, const struct pb_field *f)
{
    size_t start = *pos;
    uint64_t v = 0;

    for (unsigned shift = 0;; shift += 7) {
        unsigned char b;

        if (shift >= 64)
            return pb_fail(c, start, m, f, "varint longer than 10 bytes");
        if (*pos >= end)
            return pb_fail(c, start, m, f, "truncated varint");
        b = c->body[(*pos)++];
        v |= (uint64_t)(b & 0x7f) << shift;
        if (b < 0x80)
            break;
    }
    *out = v;
    return 0;
}

/* Read a length prefix at *pos and the span it announces; the span must end by end. */
static int pb_span(struct pb_ctx *c, size_t *pos, size_t end, size_t *span_start, size_t *span_len,
                   const struct pb_msg *m, const struct pb_field *f)
{
    size_t at = *pos;
    uint64_t n;

    if (pb_varint(c, pos, end, &n, m, f) < 0)
        return -1;
    if (n > end - *pos)
        return pb_fail(c, at, m, f,
                       "length %" PRIu64 " runs past the end of the data (%zu bytes left)", n,
                       end - *pos);
    *span_start = *pos;
    *span_len = (size_t)n;
    *pos += (size_t)n;
    return 0;
}

/*
 * Skip the value of a field we do not know. Groups (wire types 3 and 4) are refused: gogo's
 * skipGenerated would step over them, but no Kubernetes type has used groups, and refusing them
 * keeps skipping flat (a group may nest without end).
 */
static int pb_skip(struct pb_ctx *c, size_t *pos, size_t end, unsigned wire, size_t tag_at,
                   const struct pb_msg *m)
{
    uint64_t ignored;
    size_t s, n;

    switch (wire) {
    case 0:
        return pb_varint(c, pos, end, &ignored, m, NULL);
    case 1:
    case 5:
        n = wire == 1 ? 8 : 4;
        if (end - *pos < n)
            return pb_fail(c, *pos, m, NULL, "truncated %zu-byte fixed value", n);
        *pos += n;
        return 0;
    case 2:
        return pb_span(c, pos, end, &s, &n, m, NULL);
    case 3:
        return pb_fail(c, tag_at, m, NULL, "groups are not supported (wire type 3)");
    default:
        return pb_fail(c, tag_at, m, NULL, "illegal wire type %u", wire);
    }
}

/* The length of the valid UTF-8 sequence at s (n bytes left), or 0 when it is not valid: no
 * overlong forms, no surrogates, nothing past U+10FFFF (as Go's utf8.Valid). */
static size_t pb_utf8_seq(const unsigned char *s, size_t n)
{
    unsigned char b = s[0];
    size_t len;
    uint32_t cp;

    if (b < 0x80)
        return 1;
    if (b >= 0xc2 && b <= 0xdf) {
        len = 2;
        cp = b & 0x1f;
    } else if (b >= 0xe0 && b <= 0xef) {
        len = 3;
        cp = b & 0x0f;
    } else if (b >= 0xf0 && b <= 0xf4) {
        len = 4;
        cp = b & 0x07;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

/*
 * Check a string field's bytes. gogo does not check UTF-8, but a JSON tree cannot hold invalid
 * text; NUL is refused as well because our JSON reader refuses "\u0000" (jansson without
 * JSON_ALLOW_NUL) and the rest of the server treats strings as C strings.
 */
static int pb_check_text(struct pb_ctx *c, size_t start, size_t len, const struct pb_msg *m,
                         const struct pb_field *f)
{
    size_t i = 0;

    while (i < len) {
        size_t n;

        if (c->body[start + i] == 0)
            return pb_fail(c, start + i, m, f, "NUL byte in string");
        n = pb_utf8_seq(c->body + start + i, len - i);
        if (n == 0)
            return pb_fail(c, start + i, m, f, "invalid UTF-8");
        i += n;
    }
    return 0;
}

static json_t *pb_text(struct pb_ctx *c, size_t start, size_t len)
{
    return pb_check(json_stringn_nocheck((const char *)c->body + start, len));
}

/* Replace each byte that does not start a valid UTF-8 sequence with '?', in place, so that a
 * message can go into a JSON string: jansson quotes the bad input in its parse errors, and
 * snprintf may cut a sequence in two. */
static void pb_sanitize(char *s)
{
    size_t n = strlen(s);

    for (size_t i = 0; i < n;) {
        size_t k = pb_utf8_seq((const unsigned char *)s + i, n - i);

        if (k == 0) {
            s[i++] = '?';
            continue;
        }
        i += k;
    }
}

/* ---- first pass: the wire into a raw tree ---------------------------------------------------- */

static int pb_decode_message(struct pb_ctx *c, const struct pb_msg *m, size_t pos, size_t end,
                             json_t *into, int depth);

/* One map<string, string> entry: key = 1, value = 2, both optional (a missing one is ""). */
static int pb_decode_map_entry(struct pb_ctx *c, const struct pb_msg *m, const struct pb_field *f,
                               size_t pos, size_t end, json_t *map)
{
    size_t key_start = 0, key_len = 0, val_start = 0, val_len = 0;
    char *key;

    while (pos < end) {
        size_t tag_at = pos, s, n;
        uint64_t tag;
        unsigned wire;
        int32_t num;

        if (pb_varint(c, &pos, end, &tag, m, f) < 0)
            return -1;
        wire = (unsigned)(tag & 7);
        num = (int32_t)(uint32_t)(tag >> 3);
        if (wire == 4)
            return pb_fail(c, tag_at, m, f, "unexpected end of group (wire type 4)");
        if (num <= 0)
            return pb_fail(c, tag_at, m, f, "illegal field number %" PRId32, num);
        if (num != 1 && num != 2) {
            if (pb_skip(c, &pos, end, wire, tag_at, m) < 0)
                return -1;
            continue;
        }
        if (wire != 2)
            return pb_fail(c, tag_at, m, f, "wrong wire type %u for map %s", wire,
                           num == 1 ? "key" : "value");
        if (pb_span(c, &pos, end, &s, &n, m, f) < 0 || pb_check_text(c, s, n, m, f) < 0)
            return -1;
        if (num == 1) {
            key_start = s;
            key_len = n;
        } else {
            val_start = s;
            val_len = n;
        }
    }
    /* The key holds no NUL (checked above), so a C string copy is the whole key. */
    key = pb_xmalloc(key_len + 1);
    memcpy(key, c->body + key_start, key_len);
    key[key_len] = '\0';
    pb_set(map, key, pb_text(c, val_start, val_len));
    free(key);
    return 0;
}

/* A Time: an empty message is Go's zero time (null); otherwise its seconds (nanos are dropped by
 * metav1.Time.Unmarshal, so only seconds are kept). Each occurrence replaces the last. */
static int pb_decode_time(struct pb_ctx *c, size_t s, size_t n, int depth, json_t **out)
{
    json_t *ts;
    json_t *secs;

    if (n == 0) {
        *out = json_null();
        return 0;
    }
    ts = pb_check(json_object());
    if (pb_decode_message(c, &pb_timestamp, s, s + n, ts, depth + 1) < 0) {
        json_decref(ts);
        return -1;
    }
    secs = json_object_get(ts, "seconds");
    *out = pb_check(json_integer(secs ? json_integer_value(secs) : 0));
    json_decref(ts);
    return 0;
}

static unsigned pb_wire_type(enum pb_type t)
{
    switch (t) {
    case PBT_INT32:
    case PBT_INT64:
    case PBT_BOOL:
        return 0;
    default:
        return 2;
    }
}

/* Count one more list element or map entry against PROTOBUF_MAX_ITEMS. */
static int pb_count_item(struct pb_ctx *c, size_t at, const struct pb_msg *m,
                         const struct pb_field *f)
{
    if (++c->items <= PROTOBUF_MAX_ITEMS)
        return 0;
    pb_error_init(c->err, PROTOBUF_ETOOBIG);
    c->err->offset = at;
    snprintf(c->err->detail, sizeof(c->err->detail),
             "proto: more than %d list items and map entries in %s.%s at byte %zu",
             PROTOBUF_MAX_ITEMS, m->name, f->name, at);
    return -1;
}

/* Store a decoded value for field f in the raw message object: replace, or append if repeated. */
static void pb_store(json_t *into, const struct pb_field *f, json_t *value)
{
    if (f->repeated) {
        json_t *arr = json_object_get(into, f->name);

        if (!arr) {
            arr = pb_check(json_array());
            pb_set(into, f->name, arr);
        }
        pb_append(arr, value);
    } else {
        pb_set(into, f->name, value);
    }
}

static int pb_decode_field(struct pb_ctx *c, const struct pb_msg *m, const struct pb_field *f,
                           size_t *pos, size_t end, json_t *into, int depth)
{
    size_t s, n;
    uint64_t v;
    json_t *sub;

    if ((f->repeated || f->type == PBT_MAP) && pb_count_item(c, *pos, m, f) < 0)
        return -1;
    if (pb_wire_type(f->type) == 0) {
        if (pb_varint(c, pos, end, &v, m, f) < 0)
            return -1;
        if (f->type == PBT_BOOL)
            pb_store(into, f, json_boolean(v != 0));
        else if (f->type == PBT_INT32)
            /* gogo builds an int32 from the varint with shifts that drop high bits: the low 32
             * bits, so -1 (sent as ten bytes) reads as -1 and 2^32 + 80 reads as 80. */
            pb_store(into, f, json_integer((int32_t)(uint32_t)v));
        else
            pb_store(into, f, json_integer((json_int_t)(int64_t)v));
        return 0;
    }

    if (pb_span(c, pos, end, &s, &n, m, f) < 0)
        return -1;
    switch (f->type) {
    case PBT_STRING:
        if (pb_check_text(c, s, n, m, f) < 0)
            return -1;
        pb_store(into, f, pb_text(c, s, n));
        return 0;
    case PBT_BYTES:
        /* Kept as [offset, length] of the body; only the envelope and FieldsV1 have bytes. */
        sub = pb_check(json_pack("[II]", (json_int_t)s, (json_int_t)n));
        pb_store(into, f, sub);
        return 0;
    case PBT_TIME:
        if (pb_decode_time(c, s, n, depth, &sub) < 0)
            return -1;
        pb_store(into, f, sub);
        return 0;
    case PBT_MAP:
        sub = json_object_get(into, f->name);
        if (!sub) {
            sub = pb_check(json_object());
            pb_set(into, f->name, sub);
        }
        return pb_decode_map_entry(c, m, f, s, s + n, sub);
    default:
        break;
    }

    /* PBT_MESSAGE, PBT_INTSTR, PBT_FIELDSV1: a repeated field gets a new element; a single one
     * is merged into what earlier occurrences left, as gogo's Unmarshal into an existing struct. */
    if (f->repeated) {
        sub = pb_check(json_object());
        pb_store(into, f, sub);
    } else {
        sub = json_object_get(into, f->name);
        if (!sub) {
            sub = pb_check(json_object());
            pb_set(into, f->name, sub);
        }
    }
    if (f->type != PBT_MESSAGE)
        pb_set(sub, PB_AT_KEY, json_integer((json_int_t)s));
    return pb_decode_message(c, f->msg, s, s + n, sub, depth + 1);
}

static const struct pb_field *pb_find(const struct pb_msg *m, int32_t num)
{
    for (size_t i = 0; i < m->nfields; i++)
        if ((int32_t)m->fields[i].num == num)
            return &m->fields[i];
    return NULL;
}

/* Decode the message m occupying [pos, end) of the body into the raw object `into`. */
static int pb_decode_message(struct pb_ctx *c, const struct pb_msg *m, size_t pos, size_t end,
                             json_t *into, int depth)
{
    if (depth > PROTOBUF_MAX_DEPTH)
        return pb_fail(c, pos, m, NULL, "nesting deeper than %d", PROTOBUF_MAX_DEPTH);
    while (pos < end) {
        size_t tag_at = pos;
        uint64_t tag;
        unsigned wire;
        int32_t num;
        const struct pb_field *f;

        if (pb_varint(c, &pos, end, &tag, m, NULL) < 0)
            return -1;
        wire = (unsigned)(tag & 7);
        /* gogo converts the field number with int32(wire >> 3): a number past 2^31 wraps, and
         * zero or negative is an illegal tag. */
        num = (int32_t)(uint32_t)(tag >> 3);
        if (wire == 4)
            return pb_fail(c, tag_at, m, NULL, "unexpected end of group (wire type 4)");
        if (num <= 0)
            return pb_fail(c, tag_at, m, NULL, "illegal field number %" PRId32, num);
        f = pb_find(m, num);
        if (!f) {
            if (pb_skip(c, &pos, end, wire, tag_at, m) < 0)
                return -1;
            continue;
        }
        if (wire != pb_wire_type(f->type))
            return pb_fail(c, tag_at, m, f, "wrong wire type %u", wire);
        if (pb_decode_field(c, m, f, &pos, end, into, depth) < 0)
            return -1;
    }
    return 0;
}

/* ---- second pass: the raw tree into the JSON encoding/json would print ----------------------- */

static int pb_finish_message(struct pb_ctx *c, const struct pb_msg *m, const json_t *raw,
                             json_t *out, int depth);

/* Go's appendInt(year, 4): at least four digits, a '-' before negative years. */
static void pb_format_time(int64_t secs, char *buf, size_t size)
{
    int64_t days = secs / 86400, rem = secs % 86400;
    int64_t z, era, doe, yoe, y, doy, mp, d, mo;

    if (rem < 0) {
        rem += 86400;
        days--;
    }
    /* Days to a proleptic Gregorian date (H. Hinnant's civil_from_days). */
    z = days + 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = z - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    y = yoe + era * 400;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    d = doy - (153 * mp + 2) / 5 + 1;
    mo = mp < 10 ? mp + 3 : mp - 9;
    if (mo <= 2)
        y++;
    /* Every field but the year is small: int keeps the compiler's size estimate honest. */
    snprintf(buf, size, "%s%04" PRIu64 "-%02d-%02dT%02d:%02d:%02dZ", y < 0 ? "-" : "",
             y < 0 ? (uint64_t)0 - (uint64_t)y : (uint64_t)y, (int)mo, (int)d, (int)(rem / 3600),
             (int)(rem / 60 % 60), (int)(rem % 60));
}

/* metav1.Time.MarshalJSON: null for Go's zero time (0001-01-01T00:00:00Z, which an empty Time
 * message decodes to), else RFC 3339 in UTC. */
static json_t *pb_time_json(const json_t *raw)
{
    char buf[96];
    int64_t secs;

    if (!raw || json_is_null(raw))
        return json_null();
    secs = json_integer_value(raw);
    if (secs == -62135596800LL)
        return json_null();
    pb_format_time(secs, buf, sizeof(buf));
    return pb_check(json_string(buf));
}

static size_t pb_at(const json_t *raw)
{
    return (size_t)json_integer_value(json_object_get(raw, PB_AT_KEY));
}

/* intstr.IntOrString.MarshalJSON: Type 0 is the int, 1 the string, anything else an error. */
static int pb_intstr_json(struct pb_ctx *c, const struct pb_field *f, const struct pb_msg *m,
                          const json_t *raw, json_t **out)
{
    json_int_t type = raw ? json_integer_value(json_object_get(raw, "type")) : 0;
    const json_t *v;

    if (type == 0) {
        v = raw ? json_object_get(raw, "intVal") : NULL;
        *out = pb_check(json_integer(v ? json_integer_value(v) : 0));
        return 0;
    }
    if (type == 1) {
        v = json_object_get(raw, "strVal");
        *out = v ? json_incref((json_t *)v) : pb_check(json_string(""));
        return 0;
    }
    return pb_fail(c, pb_at(raw), m, f, "impossible IntOrString type %" JSON_INTEGER_FORMAT, type);
}

/* Whether raw JSON text nests deeper than max, counting brackets outside strings. */
static bool pb_json_too_deep(const unsigned char *s, size_t n, int max)
{
    int depth = 0;
    bool in_string = false, escaped = false;

    for (size_t i = 0; i < n; i++) {
        unsigned char ch = s[i];

        if (in_string) {
            if (escaped)
                escaped = false;
            else if (ch == '\\')
                escaped = true;
            else if (ch == '"')
                in_string = false;
        } else if (ch == '"') {
            in_string = true;
        } else if (ch == '{' || ch == '[') {
            if (++depth > max)
                return true;
        } else if (ch == '}' || ch == ']') {
            depth--;
        }
    }
    return false;
}

/*
 * metav1.FieldsV1.MarshalJSON: no Raw is null; Raw starting like JSON is copied as it is (so it
 * must be valid JSON); Raw starting like CBOR would be converted, which we do not do.
 */
static int pb_fields_v1_json(struct pb_ctx *c, const struct pb_field *f, const struct pb_msg *m,
                             const json_t *raw, int depth, json_t **out)
{
    const json_t *span = json_object_get(raw, "Raw");
    size_t at = pb_at(raw), s, n;
    json_error_t jerr;
    unsigned char first;

    if (!span) {
        *out = json_null();
        return 0;
    }
    s = (size_t)json_integer_value(json_array_get(span, 0));
    n = (size_t)json_integer_value(json_array_get(span, 1));
    if (n == 0)
        return pb_fail(c, at, m, f, "empty raw value");
    first = c->body[s];
    if (first == 0xf6 || (first >= 0xa0 && first <= 0xbf) || (first >= 0xc6 && first <= 0xdb))
        return pb_fail(c, s, m, f, "CBOR managed fields are not supported");
    if (pb_json_too_deep(c->body + s, n, PROTOBUF_MAX_DEPTH - depth))
        return pb_fail(c, s, m, f, "nesting deeper than %d", PROTOBUF_MAX_DEPTH);
    *out = json_loadb((const char *)c->body + s, n, JSON_DECODE_ANY, &jerr);
    if (!*out)
        return pb_fail(c, s, m, f, "invalid JSON (%s at position %d)", jerr.text, jerr.position);
    return 0;
}

static int pb_cmp_keys(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* A copy of a raw map object with its keys in byte order, as encoding/json sorts map keys. */
static json_t *pb_sorted_map(const json_t *map)
{
    size_t n = json_object_size(map), i = 0;
    const char **keys = pb_xmalloc(n * sizeof(*keys));
    const char *key;
    json_t *value;
    json_t *out = pb_check(json_object());

    json_object_foreach ((json_t *)map, key, value) {
        keys[i++] = key;
    }
    qsort(keys, n, sizeof(*keys), pb_cmp_keys);
    for (i = 0; i < n; i++)
        pb_set(out, keys[i], json_incref(json_object_get(map, keys[i])));
    free(keys);
    return out;
}

/* The JSON of one non-repeated value of field f; raw may be NULL when the field was absent. */
static int pb_finish_value(struct pb_ctx *c, const struct pb_msg *m, const struct pb_field *f,
                           const json_t *raw, int depth, json_t **out)
{
    switch (f->type) {
    case PBT_STRING:
        *out = raw ? json_incref((json_t *)raw) : pb_check(json_string(""));
        return 0;
    case PBT_INT32:
    case PBT_INT64:
        *out = raw ? json_incref((json_t *)raw) : pb_check(json_integer(0));
        return 0;
    case PBT_BOOL:
        *out = raw ? json_incref((json_t *)raw) : json_false();
        return 0;
    case PBT_TIME:
        *out = pb_time_json(raw);
        return 0;
    case PBT_INTSTR:
        return pb_intstr_json(c, f, m, raw, out);
    case PBT_FIELDSV1:
        return pb_fields_v1_json(c, f, m, raw, depth, out);
    case PBT_MAP:
        *out = pb_sorted_map(raw);
        return 0;
    case PBT_MESSAGE:
        *out = pb_check(json_object());
        if (pb_finish_message(c, f->msg, raw, *out, depth + 1) < 0) {
            json_decref(*out);
            *out = NULL;
            return -1;
        }
        return 0;
    case PBT_BYTES:
        break;
    }
    *out = json_null();
    return 0;
}

static int pb_finish_message(struct pb_ctx *c, const struct pb_msg *m, const json_t *raw,
                             json_t *out, int depth)
{
    for (size_t i = 0; i < m->nfields; i++) {
        const struct pb_field *f = &m->fields[i];
        const json_t *v = raw ? json_object_get(raw, f->name) : NULL;
        json_t *value = NULL;

        if (f->repeated) {
            /* Every repeated field in these types is omitempty. */
            if (!v || json_array_size(v) == 0)
                continue;
            value = pb_check(json_array());
            for (size_t k = 0; k < json_array_size(v); k++) {
                json_t *elem;

                if (pb_finish_value(c, m, f, json_array_get(v, k), depth + 1, &elem) < 0) {
                    json_decref(value);
                    return -1;
                }
                pb_append(value, elem);
            }
            pb_set(out, f->name, value);
            continue;
        }
        if (f->json == PBJ_POINTER && !v)
            continue;
        /* Time, IntOrString and message values are structs: never omitted. */
        if (f->json == PBJ_OMITEMPTY && f->type != PBT_MESSAGE && f->type != PBT_TIME &&
            f->type != PBT_INTSTR && (!v || ju_go_empty(v))) /* (raw values: never null or real) */
            continue;
        if (pb_finish_value(c, m, f, v, depth, &value) < 0)
            return -1;
        pb_set(out, f->name, value);
    }
    return 0;
}

/* ---- the envelope and the Status messages ---------------------------------------------------- */

/* runtime.Unknown's raw span, or false when the envelope carried none. */
static bool pb_raw_span(const json_t *env, size_t *s, size_t *n)
{
    const json_t *span = json_object_get(env, "raw");

    if (!span)
        return false;
    *s = (size_t)json_integer_value(json_array_get(span, 0));
    *n = (size_t)json_integer_value(json_array_get(span, 1));
    return true;
}

/*
 * Append handlers/rest.go summarizeData(body, 30): "<empty>", the text of a body that starts with
 * '{', else hex; " ..." when cut. Text is made valid UTF-8 (each bad byte becomes U+FFFD, as Go's
 * JSON encoder writes it) so that the message can go into a JSON string.
 */
static void pb_summary(const unsigned char *body, size_t len, char *out, size_t size)
{
    size_t n = len > 30 ? 30 : len, o = 0;

    if (len == 0) {
        snprintf(out, size, "<empty>");
        return;
    }
    if (body[0] == '{') {
        for (size_t i = 0; i < n && o + 4 < size;) {
            size_t k = body[i] ? pb_utf8_seq(body + i, n - i) : 0;

            if (k == 0) {
                memcpy(out + o, "\xef\xbf\xbd", 3);
                o += 3;
                i++;
            } else if (o + k < size) {
                memcpy(out + o, body + i, k);
                o += k;
                i += k;
            } else {
                break;
            }
        }
    } else {
        for (size_t i = 0; i < n && o + 3 < size; i++)
            o += (size_t)snprintf(out + o, size - o, "%02x", body[i]);
    }
    out[o] = '\0';
    if (len > 30)
        snprintf(out + o, size - o, " ...");
}

/* A failure before the envelope was read: upstream has no kind yet, so create.go's
 * transformDecodeError says "the object provided is unrecognized (...)" with a summary. */
static void pb_message_unrecognized(struct protobuf_error *err, const char *kind,
                                    const unsigned char *body, size_t len)
{
    char summary[128];

    pb_summary(body, len, summary, sizeof(summary));
    snprintf(err->message, sizeof(err->message),
             "the object provided is unrecognized (must be of type %s): %s (%s)", kind, err->detail,
             summary);
}

/* A failure once the envelope named a kind: "<Kind> in version "v1" cannot be handled as a ...".
 * Too many items is worded as kube-apiserver words a body over its size limit. */
static void pb_message_kind(struct protobuf_error *err, const char *actual, const char *kind)
{
    if (err->code == PROTOBUF_ETOOBIG)
        snprintf(err->message, sizeof(err->message),
                 "Request entity too large: limit is %d list items and map entries",
                 PROTOBUF_MAX_ITEMS);
    else
        snprintf(err->message, sizeof(err->message),
                 "%s in version \"v1\" cannot be handled as a %s: %s", actual, kind, err->detail);
}

static const struct pb_msg *pb_kind_msg(const char *api_version, const char *kind)
{
    if (!api_version || !kind || strcmp(api_version, "v1") != 0)
        return NULL;
    for (size_t i = 0; i < sizeof(pb_kinds) / sizeof(pb_kinds[0]); i++)
        if (strcmp(kind, pb_kinds[i].kind) == 0)
            return pb_kinds[i].msg;
    return NULL;
}

bool protobuf_kind_supported(const char *api_version, const char *kind)
{
    return pb_kind_msg(api_version, kind) != NULL;
}

/*
 * The group and version of an envelope's apiVersion as schema.ParseGroupVersion splits it: ""
 * is empty, "v" is the core group, "g/v" a named group, and more slashes a parse error, which
 * upstream ignores (the envelope then counts as giving neither).
 */
static void pb_split_api_version(const char *s, const char **group, size_t *group_len,
                                 const char **version)
{
    const char *slash = strchr(s, '/');

    *group = "";
    *group_len = 0;
    *version = s;
    if (!slash)
        return;
    if (strchr(slash + 1, '/')) {
        *version = "";
        return;
    }
    *group = s;
    *group_len = (size_t)(slash - s);
    *version = slash + 1;
}

json_t *protobuf_decode(const void *body, size_t len, const char *api_version, const char *kind,
                        struct protobuf_error *err)
{
    struct pb_ctx c = {body, len, err, 0};
    const unsigned char *b = body;
    json_t *env = NULL, *raw = NULL, *out = NULL;
    const json_t *tm, *v;
    const char *env_version = "", *env_kind = "", *group, *version;
    const struct pb_msg *msg;
    size_t group_len, s = 0, n = 0;

    pb_error_init(err, PROTOBUF_EBADREQUEST);
    /* Negotiation refuses a type without a protobuf serializer before reading the body. */
    if (!pb_kind_msg(api_version, kind)) {
        pb_unsupported(err);
        return NULL;
    }

    /* protobuf.go Serializer.Decode: the prefix checks, with upstream's words. */
    if (len == 0) {
        snprintf(err->detail, sizeof(err->detail), "empty data");
        pb_message_unrecognized(err, kind, b, len);
        return NULL;
    }
    if (len < sizeof(pb_magic) || memcmp(b, pb_magic, sizeof(pb_magic)) != 0) {
        snprintf(err->detail, sizeof(err->detail),
                 "provided data does not appear to be a protobuf message, expected prefix "
                 "[107 56 115 0]");
        pb_message_unrecognized(err, kind, b, len);
        return NULL;
    }
    if (len == sizeof(pb_magic)) {
        snprintf(err->detail, sizeof(err->detail), "empty body");
        pb_message_unrecognized(err, kind, b, len);
        return NULL;
    }

    env = pb_check(json_object());
    if (pb_decode_message(&c, &pb_unknown, sizeof(pb_magic), len, env, 0) < 0) {
        pb_message_unrecognized(err, kind, b, len);
        goto out;
    }

    /* copyKindDefaults: an empty kind or version in the envelope comes from the resource. */
    tm = json_object_get(env, "typeMeta");
    if (tm && (v = json_object_get(tm, "apiVersion")))
        env_version = json_string_value(v);
    if (tm && (v = json_object_get(tm, "kind")))
        env_kind = json_string_value(v);
    pb_split_api_version(env_version, &group, &group_len, &version);
    if (*env_kind == '\0')
        env_kind = kind;
    if (*version == '\0') {
        group_len = 0;
        version = api_version;
    }
    msg = group_len == 0 ? pb_kind_msg(version, env_kind) : NULL;
    if (!msg) {
        pb_unsupported(err);
        goto out;
    }

    raw = pb_check(json_object());
    if (pb_raw_span(env, &s, &n) && pb_decode_message(&c, msg, s, s + n, raw, 1) < 0) {
        pb_message_kind(err, env_kind, kind);
        goto out;
    }
    out = pb_check(json_object());
    pb_set(out, "kind", json_string(env_kind));
    pb_set(out, "apiVersion", json_string("v1"));
    if (pb_finish_message(&c, msg, raw, out, 1) < 0) {
        pb_message_kind(err, env_kind, kind);
        json_decref(out);
        out = NULL;
        goto out;
    }

    /* Decoding succeeded, but the versioning decoder cannot convert one kind into another. */
    if (strcmp(env_kind, kind) != 0) {
        snprintf(err->detail, sizeof(err->detail),
                 "converting (v1.%s) to (core.%s): unknown conversion", env_kind, kind);
        pb_message_kind(err, env_kind, kind);
        json_decref(out);
        out = NULL;
    }
out:
    if (!out) {
        pb_sanitize(err->detail);
        pb_sanitize(err->message);
    }
    json_decref(raw);
    json_decref(env);
    return out;
}
