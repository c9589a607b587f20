/*
 * schema: canonicalisation of objects by the schemas of api/types (see include/svc/schema.h and
 * api/README.md for the `omit` rules). The goal is that an object reads exactly as
 * kube-apiserver's Go structs would serialise it, whatever key order or extra fields the client
 * sent. Depends on jansson and util only.
 */
#include "svc/schema.h"

#include "svc/strbuf.h"
#include "svc/util.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#define SCHEMA_MAX_DEPTH 128

struct schema {
    json_t *defs; /* owned reference: name -> definition */
};

struct canon_ctx {
    const struct schema *s;
    struct schema_report *rep;
    bool failed;
};

/*
 * Where canonicalisation stands, as a chain of segments living on the C stack of the recursion.
 * Paths are only needed for error reports, so they are rendered on demand instead of being
 * formatted for every property visited (that formatting used to dominate the cost of a create).
 */
enum path_kind { PATH_FIELD, PATH_INDEX, PATH_MAP_KEY };

struct path {
    const struct path *up; /* borrowed: the enclosing segment, NULL at the root */
    enum path_kind kind;
    const char *key; /* borrowed: field name or map key */
    size_t index;
};

/* The Go path: field names only, joined by dots ("spec.ports.port"). */
static void render_go_path(const struct path *p, struct strbuf *out)
{
    if (!p)
        return;
    render_go_path(p->up, out);
    if (p->kind != PATH_FIELD)
        return;
    if (out->len)
        strbuf_addch(out, '.');
    strbuf_addstr(out, p->key);
}

/* The field path as reported for unknown fields ("spec.ports[0].foo", "metadata.labels[a]"). */
static void render_field_path(const struct path *p, struct strbuf *out)
{
    if (!p)
        return;
    render_field_path(p->up, out);
    switch (p->kind) {
    case PATH_FIELD:
        if (out->len)
            strbuf_addch(out, '.');
        strbuf_addstr(out, p->key);
        break;
    case PATH_INDEX: strbuf_addf(out, "[%zu]", p->index); break;
    case PATH_MAP_KEY: strbuf_addf(out, "[%s]", p->key); break;
    }
}

struct schema *schema_new(json_t *defs)
{
    struct schema *s = xcalloc(1, sizeof(*s));
    s->defs = json_incref(defs);
    return s;
}

void schema_free(struct schema *s)
{
    if (!s)
        return;
    json_decref(s->defs);
    free(s);
}

json_t *schema_definitions(const struct schema *s)
{
    return s->defs;
}

const json_t *schema_definition(const struct schema *s, const char *name)
{
    return name ? json_object_get(s->defs, name) : NULL;
}

void schema_report_init(struct schema_report *rep)
{
    rep->unknown = json_array();
    rep->type_error = NULL;
}

void schema_report_release(struct schema_report *rep)
{
    json_decref(rep->unknown);
    free(rep->type_error);
    rep->unknown = NULL;
    rep->type_error = NULL;
}

/* A struct definition is one with properties; anything else is a scalar-like definition. */
static const json_t *resolve(const struct schema *s, const json_t *prop, const char **ref_out)
{
    const char *ref = json_string_value(json_object_get(prop, "$ref"));
    if (ref_out)
        *ref_out = ref;
    if (!ref)
        return prop;
    const json_t *def = json_object_get(s->defs, ref);
    return def ? def : prop;
}

static bool is_struct(const json_t *def)
{
    return json_is_object(json_object_get(def, "properties"));
}

static const char *type_of(const json_t *def)
{
    const char *t = json_string_value(json_object_get(def, "type"));
    return t ? t : "";
}

static bool preserves_unknown(const json_t *def)
{
    return json_is_true(json_object_get(def, "x-kubernetes-preserve-unknown-fields"));
}

/* "io.k8s.api.core.v1.ServicePort" -> "v1.ServicePort", as Go names the type. */
static const char *go_short_name(const char *ref, char *buf, size_t n)
{
    if (!ref)
        return "";
    const char *last = strrchr(ref, '.');
    if (!last)
        return ref;
    const char *prev = last;
    while (prev > ref && prev[-1] != '.')
        prev--;
    snprintf(buf, n, "%s", prev);
    return buf;
}

static void go_type_name(const struct schema *s, const json_t *prop, struct strbuf *out)
{
    const char *ref;
    const json_t *def = resolve(s, prop, &ref);
    char buf[128];
    const char *format = json_string_value(json_object_get(def, "format"));
    /* Wrappers with their own decoder report what they decode into: IntOrString a non-string
       as int32, Time (and the other string wrappers) as string. */
    if (format && !strcmp(format, "int-or-string")) {
        strbuf_addstr(out, "int32");
        return;
    }
    if (ref && !is_struct(def) && !strcmp(type_of(def), "string")) {
        strbuf_addstr(out, "string");
        return;
    }
    if (ref && is_struct(def)) {
        strbuf_addstr(out, go_short_name(ref, buf, sizeof(buf)));
        return;
    }
    const char *t = type_of(def);
    if (!strcmp(t, "integer")) {
        strbuf_addstr(out, format && !strcmp(format, "int64") ? "int64" : "int32");
    } else if (!strcmp(t, "boolean")) {
        strbuf_addstr(out, "bool");
    } else if (!strcmp(t, "number")) {
        strbuf_addstr(out, "float64");
    } else if (!strcmp(t, "array")) {
        strbuf_addstr(out, "[]");
        go_type_name(s, json_object_get(def, "items"), out);
    } else if (!strcmp(t, "object") && json_object_get(def, "additionalProperties")) {
        strbuf_addstr(out, "map[string]");
        go_type_name(s, json_object_get(def, "additionalProperties"), out);
    } else if (ref) {
        strbuf_addstr(out, go_short_name(ref, buf, sizeof(buf)));
    } else {
        strbuf_addstr(out, "string");
    }
}

static const char *json_kind_word(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "object";
    case JSON_ARRAY: return "array";
    case JSON_STRING: return "string";
    case JSON_INTEGER:
    case JSON_REAL: return "number";
    case JSON_TRUE:
    case JSON_FALSE: return "bool";
    default: return "null";
    }
}

/*
 * Record the first type error as Go's json.UnmarshalTypeError prints it:
 * "json: cannot unmarshal <value> into Go struct field <Struct>.<json path> of type <type>".
 */
static void type_error(struct canon_ctx *c, const json_t *v, const char *value_word,
                       const char *owner, const struct path *at, const json_t *prop)
{
    c->failed = true;
    if (!c->rep || c->rep->type_error)
        return;
    struct strbuf sb, ty, go_path;
    char buf[128];
    strbuf_init(&sb, STRBUF_NO_LIMIT);
    strbuf_init(&ty, STRBUF_NO_LIMIT);
    strbuf_init(&go_path, STRBUF_NO_LIMIT);
    render_go_path(at, &go_path);
    const char *path = strbuf_str(&go_path);
    go_type_name(c->s, prop, &ty);
    strbuf_addf(&sb, "json: cannot unmarshal %s into ", value_word ? value_word : json_kind_word(v));
    if (owner && *path) {
        /* Go names the struct without its package: "ServicePort.spec.ports.port". */
        const char *short_name = go_short_name(owner, buf, sizeof(buf));
        const char *dot = strchr(short_name, '.');
        strbuf_addf(&sb, "Go struct field %s.%s of type %s", dot ? dot + 1 : short_name, path,
                    strbuf_str(&ty));
    }
    else
        strbuf_addf(&sb, "Go value of type %s", strbuf_str(&ty));
    c->rep->type_error = strbuf_detach(&sb, NULL);
    strbuf_release(&ty);
    strbuf_release(&go_path);
}

static void report_unknown(struct canon_ctx *c, const struct path *at, const char *key)
{
    if (!c->rep)
        return;
    struct path here = {.up = at, .kind = PATH_FIELD, .key = key};
    struct strbuf sb;
    strbuf_init(&sb, STRBUF_NO_LIMIT);
    render_field_path(&here, &sb);
    json_array_append_new(c->rep->unknown, json_string(strbuf_str(&sb)));
    strbuf_release(&sb);
}

static bool is_empty_value(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_NULL: return true;
    case JSON_STRING: return json_string_length(v) == 0;
    case JSON_INTEGER: return json_integer_value(v) == 0;
    case JSON_REAL: return json_real_value(v) == 0;
    case JSON_FALSE: return true;
    case JSON_ARRAY: return json_array_size(v) == 0;
    case JSON_OBJECT: return json_object_size(v) == 0;
    default: return false;
    }
}

static int cmp_key(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static json_t *canon(struct canon_ctx *c, const json_t *prop, const json_t *v, const char *owner,
                     const struct path *at, int depth);

/* What encoding/json writes for an absent field that is never omitted: the Go zero value. */
static json_t *zero_value(const char *ref, const json_t *def)
{
    const char *t = type_of(def);
    const char *format = json_string_value(json_object_get(def, "format"));
    if (format && !strcmp(format, "int-or-string"))
        return json_integer(0);
    if (format && !strcmp(format, "date-time"))
        return json_null(); /* metav1.Time's zero marshals as null */
    if ((format && !strcmp(format, "quantity")) ||
        (ref && !strcmp(ref, "io.k8s.apimachinery.pkg.api.resource.Quantity")))
        return json_string("0");
    if (!strcmp(t, "string"))
        return json_string("");
    if (!strcmp(t, "integer"))
        return json_integer(0);
    if (!strcmp(t, "number"))
        return json_real(0);
    if (!strcmp(t, "boolean"))
        return json_false();
    return json_null(); /* nil slices, maps and pointers */
}

/* The zero value of a list element or map value schema (a null in the input decodes to it). */
static json_t *element_zero(struct canon_ctx *c, const json_t *prop, const char *owner, int depth)
{
    const char *ref;
    const json_t *def = resolve(c->s, prop, &ref);
    if (!prop)
        return json_null();
    if (is_struct(def)) {
        json_t *empty = json_object();
        json_t *z = canon(c, prop, empty, owner, NULL, depth + 1);
        json_decref(empty);
        return z ? z : json_object();
    }
    return zero_value(ref, def);
}

static json_t *canon_struct(struct canon_ctx *c, const char *ref, const json_t *def,
                            const json_t *v, const struct path *at, int depth)
{
    json_t *props = json_object_get(def, "properties");
    json_t *out = json_object();
    const char *key;
    json_t *prop;
    json_object_foreach(props, key, prop) {
        json_t *in = json_object_get(v, key);
        struct path here = {.up = at, .kind = PATH_FIELD, .key = key};
        const char *pref;
        const json_t *pdef = resolve(c->s, prop, &pref);
        const char *omit = json_string_value(json_object_get(prop, "omit"));
        if (!omit)
            omit = pref && is_struct(pdef) ? "struct" : "empty";
        json_t *val = NULL;
        if (in && !json_is_null(in)) {
            val = canon(c, prop, in, ref, &here, depth + 1);
        } else if (!strcmp(omit, "struct") && is_struct(pdef)) {
            json_t *empty = json_object();
            val = canon(c, prop, empty, ref, &here, depth + 1);
            json_decref(empty);
        }
        if (c->failed) {
            json_decref(val);
            json_decref(out);
            return NULL;
        }
        if (!val) {
            if (!strcmp(omit, "never"))
                json_object_set_new(out, key, zero_value(pref, pdef));
            continue;
        }
        if (!strcmp(omit, "empty") && is_empty_value(val)) {
            json_decref(val);
            continue;
        }
        json_object_set_new(out, key, val);
    }
    /* Fields the schema does not know: kept where the schema says so, otherwise pruned. */
    json_t *in;
    json_object_foreach((json_t *)v, key, in) {
        if (json_object_get(props, key))
            continue;
        if (preserves_unknown(def))
            json_object_set_new(out, key, json_deep_copy(in));
        else
            report_unknown(c, at, key);
    }
    return out;
}

static json_t *canon(struct canon_ctx *c, const json_t *prop, const json_t *v, const char *owner,
                     const struct path *at, int depth)
{
    const char *ref;
    const json_t *def = resolve(c->s, prop, &ref);
    if (depth > SCHEMA_MAX_DEPTH) {
        type_error(c, v, "value nested too deeply", owner, at, prop);
        return NULL;
    }
    if (json_is_null(v))
        return NULL;
    if (is_struct(def)) {
        if (!json_is_object(v)) {
            type_error(c, v, NULL, owner, at, prop);
            return NULL;
        }
        return canon_struct(c, ref ? ref : owner, def, v, at, depth);
    }
    if (preserves_unknown(def) && !json_object_get(def, "additionalProperties") &&
        !json_object_get(def, "items"))
        return json_deep_copy(v);
    const char *fmt = json_string_value(json_object_get(def, "format"));
    if (json_is_true(json_object_get(def, "x-kubernetes-int-or-string")) ||
        (fmt && !strcmp(fmt, "int-or-string"))) {
        if (json_is_integer(v) || json_is_string(v))
            return json_deep_copy(v);
        type_error(c, v, NULL, owner, at, prop);
        return NULL;
    }
    const char *t = type_of(def);
    const char *format = json_string_value(json_object_get(def, "format"));
    if (!strcmp(t, "string")) {
        if (json_is_string(v))
            return json_deep_copy(v);
        /* A Quantity also accepts a bare number ("cpu: 1"). */
        if (((format && !strcmp(format, "quantity")) ||
             (ref && !strcmp(ref, "io.k8s.apimachinery.pkg.api.resource.Quantity"))) &&
            json_is_number(v)) {
            char buf[64];
            if (json_is_integer(v))
                snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
            else
                snprintf(buf, sizeof(buf), "%g", json_real_value(v));
            return json_string(buf);
        }
    } else if (!strcmp(t, "integer")) {
        if (json_is_integer(v)) {
            json_int_t n = json_integer_value(v);
            bool is64 = format && !strcmp(format, "int64");
            if (is64 || (n >= INT32_MIN && n <= INT32_MAX))
                return json_deep_copy(v);
            char word[64];
            snprintf(word, sizeof(word), "number %" JSON_INTEGER_FORMAT, n);
            type_error(c, v, word, owner, at, prop);
            return NULL;
        }
        if (json_is_real(v)) {
            char word[64];
            snprintf(word, sizeof(word), "number %g", json_real_value(v));
            type_error(c, v, word, owner, at, prop);
            return NULL;
        }
    } else if (!strcmp(t, "number")) {
        if (json_is_number(v))
            return json_deep_copy(v);
    } else if (!strcmp(t, "boolean")) {
        if (json_is_boolean(v))
            return json_deep_copy(v);
    } else if (!strcmp(t, "array")) {
        if (json_is_array(v)) {
            json_t *items = json_object_get(def, "items");
            json_t *out = json_array();
            size_t i;
            json_t *el;
            json_array_foreach(v, i, el) {
                struct path here = {.up = at, .kind = PATH_INDEX, .index = i};
                json_t *cv = items ? canon(c, items, el, owner, &here, depth + 1)
                                   : json_deep_copy(el);
                if (c->failed) {
                    json_decref(out);
                    return NULL;
                }
                /* Go decodes a null element into the zero value of the element type. */
                json_array_append_new(out, cv ? cv : element_zero(c, items, owner, depth));
            }
            return out;
        }
    } else if (!strcmp(t, "object")) {
        if (json_is_object(v)) {
            json_t *ap = json_object_get(def, "additionalProperties");
            if (!ap)
                return json_deep_copy(v);
            /* A Go map: encoding/json writes its keys sorted. */
            size_t n = json_object_size(v), i = 0;
            const char **keys = xmalloc(n * sizeof(*keys));
            const char *key;
            json_t *el;
            json_object_foreach((json_t *)v, key, el) keys[i++] = key;
            qsort(keys, n, sizeof(*keys), cmp_key);
            json_t *out = json_object();
            for (i = 0; i < n; i++) {
                struct path here = {.up = at, .kind = PATH_MAP_KEY, .key = keys[i]};
                json_t *cv = canon(c, ap, json_object_get(v, keys[i]), owner, &here, depth + 1);
                if (c->failed)
                    break;
                json_object_set_new(out, keys[i], cv ? cv : element_zero(c, ap, owner, depth));
            }
            free(keys);
            if (c->failed) {
                json_decref(out);
                return NULL;
            }
            return out;
        }
    } else {
        /* No type: anything goes (e.g. RawExtension). */
        return json_deep_copy(v);
    }
    type_error(c, v, NULL, owner, at, prop);
    return NULL;
}

json_t *schema_canonicalize(const struct schema *s, const char *def_name, const json_t *obj,
                            struct schema_report *rep)
{
    struct canon_ctx c = {.s = s, .rep = rep, .failed = false};
    json_t *prop = json_pack("{s:s}", "$ref", def_name);
    json_t *out = canon(&c, prop, obj, def_name, NULL, 0);
    json_decref(prop);
    if (c.failed) {
        json_decref(out);
        return NULL;
    }
    return out ? out : json_object();
}

void schema_set_ordered(const struct schema *s, const char *def_name, json_t *obj,
                        const char *key, json_t *value)
{
    json_t *props = json_object_get(schema_definition(s, def_name), "properties");
    if (json_object_get(obj, key) || !json_object_get(props, key)) {
        json_object_set_new(obj, key, value);
        return;
    }
    /* Rebuild: keys before `key` in schema order stay first, then key, then the rest. */
    json_t *copy = json_copy(obj);
    json_object_clear(obj);
    const char *pk;
    json_t *pv;
    json_object_foreach(props, pk, pv) {
        if (!strcmp(pk, key))
            break;
        json_t *v = json_object_get(copy, pk);
        if (v)
            json_object_set(obj, pk, v);
    }
    json_object_set_new(obj, key, value);
    const char *k;
    json_t *v;
    json_object_foreach(copy, k, v) {
        if (!json_object_get(obj, k))
            json_object_set(obj, k, v);
    }
    json_decref(copy);
}

int schema_lookup_field(const struct schema *s, const char *def_name, const char *name,
                        struct schema_field *out)
{
    memset(out, 0, sizeof(*out));
    const json_t *def = schema_definition(s, def_name);
    const json_t *prop = json_object_get(json_object_get(def, "properties"), name);
    if (!prop)
        return -1;
    out->prop = prop;
    const char *ref;
    const json_t *pdef = resolve(s, prop, &ref);
    const char *t = type_of(pdef);
    if (!strcmp(t, "array")) {
        out->is_list = true;
        resolve(s, json_object_get(pdef, "items"), &ref);
    } else if (!strcmp(t, "object") && json_object_get(pdef, "additionalProperties")) {
        out->is_map = true;
        resolve(s, json_object_get(pdef, "additionalProperties"), &ref);
    }
    out->ref = ref;
    out->patch_strategy = json_string_value(json_object_get(prop, "x-kubernetes-patch-strategy"));
    out->patch_merge_key = json_string_value(json_object_get(prop, "x-kubernetes-patch-merge-key"));
    out->list_type = json_string_value(json_object_get(prop, "x-kubernetes-list-type"));
    return 0;
}
