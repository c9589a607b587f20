/*
 * protobuf_writer: protobuf wire encoding, and the Swagger 2.0 JSON -> gnostic openapi.v2.Document
 * mapping used for /openapi/v2 (see protobuf_writer.h). Build-time code for tools/apigen: it
 * depends on jansson and strbuf, never on the server library.
 *
 * The message tables below restate the field numbers of google/gnostic openapiv2/OpenAPIv2.proto
 * for the messages our documents use. gnostic keeps the JSON's key order inside repeated fields
 * and marshals fields in number order, and so do we: the bytes depend only on the JSON.
 */
#include "protobuf_writer.h"

#include "svc/strbuf.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* Our documents nest about 12 levels; anything far deeper is a generator bug, not data. */
#define PBW_MAX_DEPTH 64

void pbw_varint(struct strbuf *out, uint64_t v)
{
    unsigned char b[10];
    size_t n = 0;
    do {
        b[n] = (unsigned char)(v & 0x7f);
        v >>= 7;
        if (v)
            b[n] |= 0x80;
        n++;
    } while (v);
    strbuf_add(out, b, n);
}

void pbw_key(struct strbuf *out, unsigned field, unsigned wire)
{
    pbw_varint(out, ((uint64_t)field << 3) | wire);
}

void pbw_bytes(struct strbuf *out, unsigned field, const void *data, size_t len)
{
    pbw_key(out, field, PBW_LEN);
    pbw_varint(out, len);
    strbuf_add(out, data, len);
}

void pbw_uint(struct strbuf *out, unsigned field, uint64_t v)
{
    pbw_key(out, field, PBW_VARINT);
    pbw_varint(out, v);
}

void pbw_double(struct strbuf *out, unsigned field, double v)
{
    uint64_t bits;
    unsigned char b[8];
    memcpy(&bits, &v, sizeof(bits));
    for (int i = 0; i < 8; i++)
        b[i] = (unsigned char)(bits >> (8 * i));
    pbw_key(out, field, PBW_FIXED64);
    strbuf_add(out, b, sizeof(b));
}

/* ---- YAML for gnostic's Any ------------------------------------------------------------------ */

/*
 * A string may stay plain when no YAML reader could take it for anything but that string. The
 * readers behind gnostic values are YAML 1.1 ones (yes/no/on/off are booleans there), so those
 * words are quoted too, like go-yaml does when it writes them.
 */
static bool yaml_plain_ok(const char *s)
{
    static const char *const words[] = {"y",   "n",    "yes",   "no",  "on",
                                        "off", "true", "false", "null"};
    if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z')))
        return false;
    for (const char *p = s; *p; p++) {
        char c = *p;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '/' || c == '-' || c == ','))
            return false;
    }
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
        if (!strcasecmp(s, words[i]))
            return false;
    return true;
}

static void yaml_string(struct strbuf *out, const char *s)
{
    if (yaml_plain_ok(s)) {
        strbuf_addstr(out, s);
        return;
    }
    strbuf_addch(out, '"');
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"':
            strbuf_addstr(out, "\\\"");
            break;
        case '\\':
            strbuf_addstr(out, "\\\\");
            break;
        case '\n':
            strbuf_addstr(out, "\\n");
            break;
        case '\t':
            strbuf_addstr(out, "\\t");
            break;
        default:
            if (*p < 0x20 || *p == 0x7f)
                strbuf_addf(out, "\\x%02x", *p);
            else
                strbuf_addch(out, (char)*p);
        }
    }
    strbuf_addch(out, '"');
}

/* A value that fits on the line of its key or dash: a scalar or an empty container. */
static bool yaml_inline(const json_t *v)
{
    return !(json_is_object(v) && json_object_size(v)) && !(json_is_array(v) && json_array_size(v));
}

static void yaml_scalar(struct strbuf *out, const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        strbuf_addstr(out, "{}");
        break;
    case JSON_ARRAY:
        strbuf_addstr(out, "[]");
        break;
    case JSON_STRING:
        yaml_string(out, json_string_value(v));
        break;
    case JSON_INTEGER:
        strbuf_addf(out, "%lld", (long long)json_integer_value(v));
        break;
    case JSON_REAL:
        strbuf_addf(out, "%.17g", json_real_value(v));
        break;
    case JSON_TRUE:
        strbuf_addstr(out, "true");
        break;
    case JSON_FALSE:
        strbuf_addstr(out, "false");
        break;
    case JSON_NULL:
    default:
        strbuf_addstr(out, "null");
        break;
    }
}

static void yaml_indent(struct strbuf *out, int n)
{
    for (int i = 0; i < n; i++)
        strbuf_addch(out, ' ');
}

/*
 * Write a non-empty container at indentation indent. When first_inline is set the first line
 * continues a "- " already written, so it gets no indentation of its own.
 */
static int yaml_block(struct strbuf *out, const json_t *v, int indent, bool first_inline, int depth)
{
    if (depth > PBW_MAX_DEPTH)
        return -1;
    bool first = true;
    if (json_is_object(v)) {
        const char *key;
        json_t *child;
        json_object_foreach ((json_t *)v, key, child) {
            if (!(first && first_inline))
                yaml_indent(out, indent);
            first = false;
            yaml_string(out, key);
            strbuf_addch(out, ':');
            if (yaml_inline(child)) {
                strbuf_addch(out, ' ');
                yaml_scalar(out, child);
                strbuf_addch(out, '\n');
            } else {
                strbuf_addch(out, '\n');
                if (yaml_block(out, child, indent + 2, false, depth + 1))
                    return -1;
            }
        }
        return 0;
    }
    size_t i;
    json_t *child;
    json_array_foreach (v, i, child) {
        if (!(first && first_inline))
            yaml_indent(out, indent);
        first = false;
        strbuf_addstr(out, "- ");
        if (yaml_inline(child)) {
            yaml_scalar(out, child);
            strbuf_addch(out, '\n');
        } else if (yaml_block(out, child, indent + 2, true, depth + 1)) {
            return -1;
        }
    }
    return 0;
}

int pbw_yaml(struct strbuf *out, const json_t *v)
{
    if (yaml_inline(v)) {
        yaml_scalar(out, v);
        strbuf_addch(out, '\n');
        return 0;
    }
    return yaml_block(out, v, 0, false, 0);
}

/* ---- the gnostic message tables ---------------------------------------------------------------
 */

enum pb_type {
    PB_STRING,  /* JSON string -> string (omitted when empty, as proto3 does) */
    PB_BOOL,    /* JSON boolean -> bool (omitted when false) */
    PB_INT64,   /* JSON integer -> int64 (omitted when 0) */
    PB_DOUBLE,  /* JSON number -> double (omitted when 0) */
    PB_STRINGS, /* JSON array of strings -> repeated string */
    PB_ANY,     /* any JSON value -> Any{yaml} */
    PB_ANYS,    /* JSON array -> repeated Any */
    PB_MSG,     /* JSON value -> one submessage */
    PB_MSGS,    /* JSON array -> repeated submessage */
    PB_VENDOR,  /* every "x-" key of the object -> repeated NamedAny */
};

struct pb_ctx {
    char *err;
    size_t err_len;
    char path[1024]; /* JSON path of the value being encoded, for messages */
    int depth;
};

struct pb_msg;
typedef int (*pb_encode_fn)(const struct pb_msg *m, const json_t *v, struct strbuf *out,
                            struct pb_ctx *ctx);

struct pb_field {
    const char *key;
    unsigned num;
    enum pb_type type;
    const struct pb_msg *msg; /* PB_MSG, PB_MSGS */
};

struct pb_msg {
    const char *name;
    pb_encode_fn encode;
    const struct pb_field *fields; /* table messages: in field-number order, NULL-key terminated */
    const struct pb_msg *value;    /* maps: the message of every value */
    unsigned map_field;            /* maps: the field of each Named{name, value} entry */
    unsigned vendor_field;         /* maps: the field of "x-" keys (NamedAny), 0 when none */
};

static int pb_fail(struct pb_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int pb_fail(struct pb_ctx *ctx, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    snprintf(ctx->err, ctx->err_len, "%s: %s", ctx->path[0] ? ctx->path : "/", msg);
    return -1;
}

/* Append "/name" to the path; returns the old length to restore. */
static size_t pb_push(struct pb_ctx *ctx, const char *name)
{
    size_t old = strlen(ctx->path);
    snprintf(ctx->path + old, sizeof(ctx->path) - old, "/%s", name);
    return old;
}

static int pb_message(const struct pb_msg *m, const json_t *v, struct strbuf *out,
                      struct pb_ctx *ctx);

/* Encode v as message m and append it as field num. */
static int pb_submessage(struct strbuf *out, unsigned num, const struct pb_msg *m, const json_t *v,
                         struct pb_ctx *ctx)
{
    struct strbuf sub;
    strbuf_init(&sub, STRBUF_NO_LIMIT);
    int rc = pb_message(m, v, &sub, ctx);
    if (!rc)
        pbw_bytes(out, num, sub.buf ? sub.buf : "", sub.len);
    strbuf_release(&sub);
    return rc;
}

static int pb_any(struct strbuf *out, unsigned num, const json_t *v, struct pb_ctx *ctx)
{
    struct strbuf any, yaml;
    strbuf_init(&any, STRBUF_NO_LIMIT);
    strbuf_init(&yaml, STRBUF_NO_LIMIT);
    int rc = pbw_yaml(&yaml, v);
    if (rc) {
        pb_fail(ctx, "value nested too deeply");
    } else {
        pbw_bytes(&any, 2, yaml.buf, yaml.len); /* Any.yaml */
        pbw_bytes(out, num, any.buf, any.len);
    }
    strbuf_release(&yaml);
    strbuf_release(&any);
    return rc;
}

/* NamedAny{name(1), value(2)} for one vendor extension. */
static int pb_named_any(struct strbuf *out, unsigned num, const char *name, const json_t *v,
                        struct pb_ctx *ctx)
{
    struct strbuf named;
    strbuf_init(&named, STRBUF_NO_LIMIT);
    pbw_bytes(&named, 1, name, strlen(name));
    int rc = pb_any(&named, 2, v, ctx);
    if (!rc)
        pbw_bytes(out, num, named.buf, named.len);
    strbuf_release(&named);
    return rc;
}

static bool is_vendor_key(const char *key)
{
    return key[0] == 'x' && key[1] == '-';
}

static int pb_field(const struct pb_field *f, const json_t *v, struct strbuf *out,
                    struct pb_ctx *ctx)
{
    size_t i;
    json_t *item;
    switch (f->type) {
    case PB_STRING:
        if (!json_is_string(v))
            return pb_fail(ctx, "expected a string");
        if (json_string_length(v))
            pbw_bytes(out, f->num, json_string_value(v), json_string_length(v));
        return 0;
    case PB_BOOL:
        if (!json_is_boolean(v))
            return pb_fail(ctx, "expected a boolean");
        if (json_is_true(v))
            pbw_uint(out, f->num, 1);
        return 0;
    case PB_INT64:
        if (!json_is_integer(v))
            return pb_fail(ctx, "expected an integer");
        if (json_integer_value(v))
            pbw_uint(out, f->num, (uint64_t)json_integer_value(v));
        return 0;
    case PB_DOUBLE:
        if (!json_is_number(v))
            return pb_fail(ctx, "expected a number");
        if (json_number_value(v) != 0)
            pbw_double(out, f->num, json_number_value(v));
        return 0;
    case PB_STRINGS:
        if (!json_is_array(v))
            return pb_fail(ctx, "expected an array of strings");
        json_array_foreach (v, i, item) {
            if (!json_is_string(item))
                return pb_fail(ctx, "expected an array of strings");
            pbw_bytes(out, f->num, json_string_value(item), json_string_length(item));
        }
        return 0;
    case PB_ANY:
        return pb_any(out, f->num, v, ctx);
    case PB_ANYS:
        if (!json_is_array(v))
            return pb_fail(ctx, "expected an array");
        json_array_foreach (v, i, item) {
            if (pb_any(out, f->num, item, ctx))
                return -1;
        }
        return 0;
    case PB_MSG:
        return pb_submessage(out, f->num, f->msg, v, ctx);
    case PB_MSGS:
        if (!json_is_array(v))
            return pb_fail(ctx, "expected an array");
        json_array_foreach (v, i, item) {
            char idx[24];
            snprintf(idx, sizeof(idx), "%zu", i);
            size_t old = pb_push(ctx, idx);
            int rc = pb_submessage(out, f->num, f->msg, item, ctx);
            ctx->path[old] = '\0';
            if (rc)
                return -1;
        }
        return 0;
    case PB_VENDOR:
    default:
        return pb_fail(ctx, "internal: bad field type");
    }
}

/* A message described by a field table; every key of the object must be known. */
static int pb_table(const struct pb_msg *m, const json_t *v, struct strbuf *out, struct pb_ctx *ctx)
{
    if (!json_is_object(v))
        return pb_fail(ctx, "expected an object for %s", m->name);
    bool vendor = false;
    for (const struct pb_field *f = m->fields; f->key; f++) {
        if (f->type == PB_VENDOR) {
            vendor = true;
            const char *key;
            json_t *child;
            json_object_foreach ((json_t *)v, key, child) {
                if (is_vendor_key(key) && pb_named_any(out, f->num, key, child, ctx))
                    return -1;
            }
            continue;
        }
        const json_t *child = json_object_get(v, f->key);
        if (!child)
            continue;
        size_t old = pb_push(ctx, f->key);
        int rc = pb_field(f, child, out, ctx);
        ctx->path[old] = '\0';
        if (rc)
            return -1;
    }
    const char *key;
    json_t *child;
    json_object_foreach ((json_t *)v, key, child) {
        if (vendor && is_vendor_key(key))
            continue;
        const struct pb_field *f = m->fields;
        while (f->key && (f->type == PB_VENDOR || strcmp(f->key, key)))
            f++;
        if (!f->key)
            return pb_fail(ctx, "%s has no field for key \"%s\"", m->name, key);
    }
    return 0;
}

/* A JSON object whose keys are names: repeated Named{name(1), value(2)}, plus "x-" keys. */
static int pb_map(const struct pb_msg *m, const json_t *v, struct strbuf *out, struct pb_ctx *ctx)
{
    if (!json_is_object(v))
        return pb_fail(ctx, "expected an object for %s", m->name);
    /* Fields go out in number order, so the lower-numbered kind of entry comes first. */
    for (int pass = 0; pass < 2; pass++) {
        bool vendor_pass = (pass == 0) == (m->vendor_field && m->vendor_field < m->map_field);
        const char *key;
        json_t *child;
        json_object_foreach ((json_t *)v, key, child) {
            bool vendor = m->vendor_field && is_vendor_key(key);
            if (vendor != vendor_pass)
                continue;
            if (vendor) {
                if (pb_named_any(out, m->vendor_field, key, child, ctx))
                    return -1;
                continue;
            }
            struct strbuf named;
            strbuf_init(&named, STRBUF_NO_LIMIT);
            pbw_bytes(&named, 1, key, strlen(key));
            size_t old = pb_push(ctx, key);
            int rc = pb_submessage(&named, 2, m->value, child, ctx);
            ctx->path[old] = '\0';
            if (!rc)
                pbw_bytes(out, m->map_field, named.buf, named.len);
            strbuf_release(&named);
            if (rc)
                return -1;
        }
    }
    return 0;
}

static int pb_message(const struct pb_msg *m, const json_t *v, struct strbuf *out,
                      struct pb_ctx *ctx)
{
    if (++ctx->depth > PBW_MAX_DEPTH) {
        ctx->depth--;
        return pb_fail(ctx, "document nested too deeply");
    }
    int rc = m->encode(m, v, out, ctx);
    ctx->depth--;
    return rc;
}

/* Message tables, declared first because Schema and PrimitivesItems refer to themselves. */
static const struct pb_msg msg_schema, msg_json_reference, msg_parameter, msg_body_parameter,
    msg_non_body_parameter, msg_query_parameter, msg_path_parameter, msg_header_parameter,
    msg_primitives_items, msg_response, msg_response_value, msg_schema_item, msg_string_array;

/* ---- oneof wrappers: the same JSON value, routed to one of the alternatives ---- */

static int enc_parameters_item(const struct pb_msg *m, const json_t *v, struct strbuf *out,
                               struct pb_ctx *ctx)
{
    (void)m;
    if (json_object_get(v, "$ref")) /* ParametersItem.json_reference */
        return pb_submessage(out, 2, &msg_json_reference, v, ctx);
    return pb_submessage(out, 1, &msg_parameter, v, ctx);
}

static int enc_parameter(const struct pb_msg *m, const json_t *v, struct strbuf *out,
                         struct pb_ctx *ctx)
{
    (void)m;
    const char *in = json_string_value(json_object_get(v, "in"));
    if (in && !strcmp(in, "body")) /* Parameter.body_parameter */
        return pb_submessage(out, 1, &msg_body_parameter, v, ctx);
    return pb_submessage(out, 2, &msg_non_body_parameter, v, ctx);
}

static int enc_non_body_parameter(const struct pb_msg *m, const json_t *v, struct strbuf *out,
                                  struct pb_ctx *ctx)
{
    (void)m;
    const char *in = json_string_value(json_object_get(v, "in"));
    if (!in)
        return pb_fail(ctx, "parameter without \"in\"");
    if (!strcmp(in, "header"))
        return pb_submessage(out, 1, &msg_header_parameter, v, ctx);
    if (!strcmp(in, "query"))
        return pb_submessage(out, 3, &msg_query_parameter, v, ctx);
    if (!strcmp(in, "path"))
        return pb_submessage(out, 4, &msg_path_parameter, v, ctx);
    return pb_fail(ctx, "parameter location \"%s\" is not supported", in);
}

static int enc_response_value(const struct pb_msg *m, const json_t *v, struct strbuf *out,
                              struct pb_ctx *ctx)
{
    (void)m;
    if (json_object_get(v, "$ref"))
        return pb_submessage(out, 2, &msg_json_reference, v, ctx);
    return pb_submessage(out, 1, &msg_response, v, ctx);
}

static int enc_schema_item(const struct pb_msg *m, const json_t *v, struct strbuf *out,
                           struct pb_ctx *ctx)
{
    (void)m;
    const char *type = json_string_value(json_object_get(v, "type"));
    if (type && !strcmp(type, "file"))
        return pb_fail(ctx, "file schemas are not supported");
    return pb_submessage(out, 1, &msg_schema, v, ctx);
}

static int enc_additional_properties(const struct pb_msg *m, const json_t *v, struct strbuf *out,
                                     struct pb_ctx *ctx)
{
    (void)m;
    if (json_is_boolean(v)) { /* AdditionalPropertiesItem.boolean, written even when false */
        pbw_uint(out, 2, json_is_true(v));
        return 0;
    }
    return pb_submessage(out, 1, &msg_schema, v, ctx);
}

static int enc_type_item(const struct pb_msg *m, const json_t *v, struct strbuf *out,
                         struct pb_ctx *ctx)
{
    (void)m;
    static const struct pb_field values = {"type", 1, PB_STRINGS, NULL};
    if (json_is_string(v)) {
        pbw_bytes(out, 1, json_string_value(v), json_string_length(v));
        return 0;
    }
    return pb_field(&values, v, out, ctx);
}

static int enc_items_item(const struct pb_msg *m, const json_t *v, struct strbuf *out,
                          struct pb_ctx *ctx)
{
    (void)m;
    static const struct pb_field schemas = {"items", 1, PB_MSGS, &msg_schema};
    if (json_is_object(v))
        return pb_submessage(out, 1, &msg_schema, v, ctx);
    return pb_field(&schemas, v, out, ctx);
}

static const struct pb_field f_api_key[] = {
    {"type", 1, PB_STRING, NULL},        {"name", 2, PB_STRING, NULL}, {"in", 3, PB_STRING, NULL},
    {"description", 4, PB_STRING, NULL}, {"x-", 5, PB_VENDOR, NULL},   {NULL, 0, 0, NULL},
};
static const struct pb_msg msg_api_key = {"ApiKeySecurity", pb_table, f_api_key, NULL, 0, 0};
static const struct pb_field f_basic_auth[] = {
    {"type", 1, PB_STRING, NULL},
    {"description", 2, PB_STRING, NULL},
    {"x-", 3, PB_VENDOR, NULL},
    {NULL, 0, 0, NULL},
};
static const struct pb_msg msg_basic_auth = {
    "BasicAuthenticationSecurity", pb_table, f_basic_auth, NULL, 0, 0};

static int enc_security_definitions_item(const struct pb_msg *m, const json_t *v,
                                         struct strbuf *out, struct pb_ctx *ctx)
{
    (void)m;
    const char *type = json_string_value(json_object_get(v, "type"));
    if (type && !strcmp(type, "apiKey"))
        return pb_submessage(out, 2, &msg_api_key, v, ctx);
    if (type && !strcmp(type, "basic"))
        return pb_submessage(out, 1, &msg_basic_auth, v, ctx);
    return pb_fail(ctx, "security scheme type \"%s\" is not supported", type ? type : "?");
}

static int enc_string_array(const struct pb_msg *m, const json_t *v, struct strbuf *out,
                            struct pb_ctx *ctx)
{
    (void)m;
    static const struct pb_field values = {"value", 1, PB_STRINGS, NULL};
    return pb_field(&values, v, out, ctx);
}

/* ---- the tables (field numbers from OpenAPIv2.proto) ---- */

static const struct pb_field f_json_reference[] = {
    {"$ref", 1, PB_STRING, NULL},
    {"description", 2, PB_STRING, NULL},
    {NULL, 0, 0, NULL},
};
static const struct pb_msg msg_json_reference = {
    "JsonReference", pb_table, f_json_reference, NULL, 0, 0};

static const struct pb_msg msg_additional_properties = {
    "AdditionalPropertiesItem", enc_additional_properties, NULL, NULL, 0, 0};
static const struct pb_msg msg_type_item = {"TypeItem", enc_type_item, NULL, NULL, 0, 0};
static const struct pb_msg msg_items_item = {"ItemsItem", enc_items_item, NULL, NULL, 0, 0};
static const struct pb_msg msg_properties = {"Properties", pb_map, NULL, &msg_schema, 1, 0};

static const struct pb_field f_schema[] = {
    {"$ref", 1, PB_STRING, NULL},
    {"format", 2, PB_STRING, NULL},
    {"title", 3, PB_STRING, NULL},
    {"description", 4, PB_STRING, NULL},
    {"default", 5, PB_ANY, NULL},
    {"multipleOf", 6, PB_DOUBLE, NULL},
    {"maximum", 7, PB_DOUBLE, NULL},
    {"exclusiveMaximum", 8, PB_BOOL, NULL},
    {"minimum", 9, PB_DOUBLE, NULL},
    {"exclusiveMinimum", 10, PB_BOOL, NULL},
    {"maxLength", 11, PB_INT64, NULL},
    {"minLength", 12, PB_INT64, NULL},
    {"pattern", 13, PB_STRING, NULL},
    {"maxItems", 14, PB_INT64, NULL},
    {"minItems", 15, PB_INT64, NULL},
    {"uniqueItems", 16, PB_BOOL, NULL},
    {"maxProperties", 17, PB_INT64, NULL},
    {"minProperties", 18, PB_INT64, NULL},
    {"required", 19, PB_STRINGS, NULL},
    {"enum", 20, PB_ANYS, NULL},
    {"additionalProperties", 21, PB_MSG, &msg_additional_properties},
    {"type", 22, PB_MSG, &msg_type_item},
    {"items", 23, PB_MSG, &msg_items_item},
    {"allOf", 24, PB_MSGS, &msg_schema},
    {"properties", 25, PB_MSG, &msg_properties},
    {"discriminator", 26, PB_STRING, NULL},
    {"readOnly", 27, PB_BOOL, NULL},
    {"example", 30, PB_ANY, NULL},
    {"x-", 31, PB_VENDOR, NULL},
    {NULL, 0, 0, NULL},
};
static const struct pb_msg msg_schema = {"Schema", pb_table, f_schema, NULL, 0, 0};

static const struct pb_field f_primitives_items[] = {
    {"type", 1, PB_STRING, NULL},
    {"format", 2, PB_STRING, NULL},
    {"items", 3, PB_MSG, &msg_primitives_items},
    {"collectionFormat", 4, PB_STRING, NULL},
    {"default", 5, PB_ANY, NULL},
    {"uniqueItems", 15, PB_BOOL, NULL},
    {"enum", 16, PB_ANYS, NULL},
    {"x-", 18, PB_VENDOR, NULL},
    {NULL, 0, 0, NULL},
};
static const struct pb_msg msg_primitives_items = {
    "PrimitivesItems", pb_table, f_primitives_items, NULL, 0, 0};

static const struct pb_field f_query_parameter[] = {
    {"required", 1, PB_BOOL, NULL},
    {"in", 2, PB_STRING, NULL},
    {"description", 3, PB_STRING, NULL},
    {"name", 4, PB_STRING, NULL},
    {"allowEmptyValue", 5, PB_BOOL, NULL},
    {"type", 6, PB_STRING, NULL},
    {"format", 7, PB_STRING, NULL},
    {"items", 8, PB_MSG, &msg_primitives_items},
    {"collectionFormat", 9, PB_STRING, NULL},
    {"default", 10, PB_ANY, NULL},
    {"uniqueItems", 20, PB_BOOL, NULL},
    {"enum", 21, PB_ANYS, NULL},
    {"x-", 23, PB_VENDOR, NULL},
    {NULL, 0, 0, NULL},
};
static const struct pb_msg msg_query_parameter = {
    "QueryParameterSubSchema", pb_table, f_query_parameter, NULL, 0, 0};

/* PathParameterSubSchema and HeaderParameterSubSchema share one layout. */
static const struct pb_field f_path_parameter[] = {
    {"required", 1, PB_BOOL, NULL},
    {"in", 2, PB_STRING, NULL},
    {"description", 3, PB_STRING, NULL},
    {"name", 4, PB_STRING, NULL},
    {"type", 5, PB_STRING, NULL},
    {"format", 6, PB_STRING, NULL},
    {"items", 7, PB_MSG, &msg_primitives_items},
    {"collectionFormat", 8, PB_STRING, NULL},
    {"default", 9, PB_ANY, NULL},
    {"uniqueItems", 19, PB_BOOL, NULL},
    {"enum", 20, PB_ANYS, NULL},
    {"x-", 22, PB_VENDOR, NULL},
    {NULL, 0, 0, NULL},
};
static const struct pb_msg msg_path_parameter = {
    "PathParameterSubSchema", pb_table, f_path_parameter, NULL, 0, 0};
static const struct pb_msg msg_header_parameter = {
    "HeaderParameterSubSchema", pb_table, f_path_parameter, NULL, 0, 0};

static const struct pb_field f_body_parameter[] = {
    {"description", 1, PB_STRING, NULL},
    {"name", 2, PB_STRING, NULL},
    {"in", 3, PB_STRING, NULL},
    {"required", 4, PB_BOOL, NULL},
    {"schema", 5, PB_MSG, &msg_schema},
    {"x-", 6, PB_VENDOR, NULL},
    {NULL, 0, 0, NULL},
};
static const struct pb_msg msg_body_parameter = {
    "BodyParameter", pb_table, f_body_parameter, NULL, 0, 0};
static const struct pb_msg msg_non_body_parameter = {
    "NonBodyParameter", enc_non_body_parameter, NULL, NULL, 0, 0};
static const struct pb_msg msg_parameter = {"Parameter", enc_parameter, NULL, NULL, 0, 0};
static const struct pb_msg msg_parameters_item = {
    "ParametersItem", enc_parameters_item, NULL, NULL, 0, 0};

static const struct pb_msg msg_schema_item = {"SchemaItem", enc_schema_item, NULL, NULL, 0, 0};
static const struct pb_field f_response[] = {
    {"description", 1, PB_STRING, NULL},
    {"schema", 2, PB_MSG, &msg_schema_item},
    {"x-", 5, PB_VENDOR, NULL},
    {NULL, 0, 0, NULL},
};
static const struct pb_msg msg_response = {"Response", pb_table, f_response, NULL, 0, 0};
static const struct pb_msg msg_response_value = {
    "ResponseValue", enc_response_value, NULL, NULL, 0, 0};
/* Responses{response_code(1): NamedResponseValue, vendor_extension(2)} */
static const struct pb_msg msg_responses = {"Responses", pb_map, NULL, &msg_response_value, 1, 2};

static const struct pb_msg msg_string_array = {"StringArray", enc_string_array, NULL, NULL, 0, 0};
/* SecurityRequirement{additional_properties(1): NamedStringArray} */
static const struct pb_msg msg_security_requirement = {"SecurityRequirement", pb_map, NULL,
                                                       &msg_string_array,     1,      0};

static const struct pb_field f_operation[] = {
    {"tags", 1, PB_STRINGS, NULL},
    {"summary", 2, PB_STRING, NULL},
    {"description", 3, PB_STRING, NULL},
    {"operationId", 5, PB_STRING, NULL},
    {"produces", 6, PB_STRINGS, NULL},
    {"consumes", 7, PB_STRINGS, NULL},
    {"parameters", 8, PB_MSGS, &msg_parameters_item},
    {"responses", 9, PB_MSG, &msg_responses},
    {"schemes", 10, PB_STRINGS, NULL},
    {"deprecated", 11, PB_BOOL, NULL},
    {"security", 12, PB_MSGS, &msg_security_requirement},
    {"x-", 13, PB_VENDOR, NULL},
    {NULL, 0, 0, NULL},
};
static const struct pb_msg msg_operation = {"Operation", pb_table, f_operation, NULL, 0, 0};

static const struct pb_field f_path_item[] = {
    {"$ref", 1, PB_STRING, NULL},
    {"get", 2, PB_MSG, &msg_operation},
    {"put", 3, PB_MSG, &msg_operation},
    {"post", 4, PB_MSG, &msg_operation},
    {"delete", 5, PB_MSG, &msg_operation},
    {"options", 6, PB_MSG, &msg_operation},
    {"head", 7, PB_MSG, &msg_operation},
    {"patch", 8, PB_MSG, &msg_operation},
    {"parameters", 9, PB_MSGS, &msg_parameters_item},
    {"x-", 10, PB_VENDOR, NULL},
    {NULL, 0, 0, NULL},
};
static const struct pb_msg msg_path_item = {"PathItem", pb_table, f_path_item, NULL, 0, 0};
/* Paths{vendor_extension(1), path(2): NamedPathItem} */
static const struct pb_msg msg_paths = {"Paths", pb_map, NULL, &msg_path_item, 2, 1};
/* Definitions{additional_properties(1): NamedSchema} */
static const struct pb_msg msg_definitions = {"Definitions", pb_map, NULL, &msg_schema, 1, 0};
/* ParameterDefinitions{additional_properties(1): NamedParameter} */
static const struct pb_msg msg_parameter_definitions = {"ParameterDefinitions", pb_map, NULL,
                                                        &msg_parameter,         1,      0};
static const struct pb_msg msg_security_definitions_item = {
    "SecurityDefinitionsItem", enc_security_definitions_item, NULL, NULL, 0, 0};
/* SecurityDefinitions{additional_properties(1): NamedSecurityDefinitionsItem} */
static const struct pb_msg msg_security_definitions = {"SecurityDefinitions",          pb_map, NULL,
                                                       &msg_security_definitions_item, 1,      0};

static const struct pb_field f_info[] = {
    {"title", 1, PB_STRING, NULL},       {"version", 2, PB_STRING, NULL},
    {"description", 3, PB_STRING, NULL}, {"termsOfService", 4, PB_STRING, NULL},
    {"x-", 7, PB_VENDOR, NULL},          {NULL, 0, 0, NULL},
};
static const struct pb_msg msg_info = {"Info", pb_table, f_info, NULL, 0, 0};

static const struct pb_field f_document[] = {
    {"swagger", 1, PB_STRING, NULL},
    {"info", 2, PB_MSG, &msg_info},
    {"host", 3, PB_STRING, NULL},
    {"basePath", 4, PB_STRING, NULL},
    {"schemes", 5, PB_STRINGS, NULL},
    {"consumes", 6, PB_STRINGS, NULL},
    {"produces", 7, PB_STRINGS, NULL},
    {"paths", 8, PB_MSG, &msg_paths},
    {"definitions", 9, PB_MSG, &msg_definitions},
    {"parameters", 10, PB_MSG, &msg_parameter_definitions},
    {"security", 12, PB_MSGS, &msg_security_requirement},
    {"securityDefinitions", 13, PB_MSG, &msg_security_definitions},
    {"x-", 16, PB_VENDOR, NULL},
    {NULL, 0, 0, NULL},
};
static const struct pb_msg msg_document = {"Document", pb_table, f_document, NULL, 0, 0};

int pbw_openapi_v2(const json_t *swagger, struct strbuf *out, char *err, size_t err_len)
{
    struct pb_ctx ctx = {.err = err, .err_len = err_len, .path = "", .depth = 0};
    if (err_len)
        err[0] = '\0';
    return pb_message(&msg_document, swagger, out, &ctx);
}
