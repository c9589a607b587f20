/*
 * schema: canonicalisation of objects by the schemas of api/types (see include/svc/schema.h and
 * api/README.md for the `omit` rules). The goal is that an object reads exactly as
 * kube-apiserver's Go structs would serialise it, whatever key order or extra fields the client
 * sent. Depends on jansson and util only.
 *
 * schema_new compiles the definitions once into typed nodes: per struct an array of fields in
 * schema order (name, omit rule, what to do when absent, the node of the value) with a small hash
 * index, per value a kind (struct, string, int32, map, ...) and its element node. Canonicalising
 * walks those nodes and the input's own keys, so a request costs one hash probe per input key
 * instead of several jansson lookups and string compares per schema property. The compiled form
 * is immutable after schema_new and shared by every thread without locks. The JSON definitions
 * are kept: they are the API (schema_definitions), and the rare error path renders Go type names
 * from them exactly as before.
 */
#include "svc/schema.h"

#include "svc/strbuf.h"
#include "svc/util.h"

#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define SCHEMA_MAX_DEPTH 128
#define QUANTITY_DEF     "io.k8s.apimachinery.pkg.api.resource.Quantity"

/* What a value is, decided once from its property schema and the definition it refers to. */
enum node_kind {
    NODE_ANY,           /* no type, or preserve-unknown-fields: anything, copied as it is */
    NODE_STRUCT,        /* a definition with properties */
    NODE_INT_OR_STRING, /* IntOrString and x-kubernetes-int-or-string */
    NODE_STRING,
    NODE_INTEGER,
    NODE_NUMBER,
    NODE_BOOLEAN,
    NODE_ARRAY,
    NODE_MAP,    /* type object with additionalProperties: a Go map */
    NODE_OBJECT, /* type object without additionalProperties: any object, copied */
};

/* The Go zero value of a node (zero_value below says why each is what it is). */
enum node_zero { ZERO_NULL, ZERO_EMPTY_STRING, ZERO_STRING_0, ZERO_INT, ZERO_REAL, ZERO_FALSE };

/* The `omit` rule of a field; OMIT_OTHER is an unrecognised word (kept when present). */
enum field_omit { OMIT_EMPTY, OMIT_NIL, OMIT_STRUCT, OMIT_NEVER, OMIT_OTHER };

/* What an absent (or null) field becomes. */
enum field_absent { ABSENT_SKIP, ABSENT_ZERO, ABSENT_EMPTY_STRUCT };

struct cstruct;

struct node {
    unsigned char kind; /* enum node_kind */
    unsigned char zero; /* enum node_zero */
    bool int64;         /* NODE_INTEGER: format int64, no int32 range check */
    bool quantity;      /* NODE_STRING: a Quantity, which also takes a bare number */
    const char *ref;    /* borrowed: the $ref as written (resolved or not), or NULL */
    /* borrowed: the property schema compiled, for error messages; NULL for the node of a
       definition (type_error then uses {"$ref": ref}, which renders the same) */
    const json_t *prop;
    const struct cstruct *st; /* NODE_STRUCT: the fields */
    const struct node *elem;  /* NODE_ARRAY: items (NULL: elements copied); NODE_MAP: values */
};

struct field {
    const char *name; /* borrowed from the definitions */
    size_t len;
    unsigned char omit;   /* enum field_omit */
    unsigned char absent; /* enum field_absent */
    const struct node *node;
    struct schema_field meta; /* what schema_lookup_field answers */
};

struct cstruct {
    struct field *fields; /* in schema order */
    size_t n;
    uint32_t *index; /* open addressing, mask + 1 slots: field index + 1, 0 when empty */
    uint32_t mask;
    bool preserve; /* x-kubernetes-preserve-unknown-fields: unknown fields kept, not reported */
};

/*
 * The keys of a schema object that compiling reads, found in one pass over its keys (a schema
 * object has a handful; json_object_get for each of a dozen names cost more than the rest of
 * compiling). A key that is absent, or an object that is not one, leaves NULL, as
 * json_object_get would return.
 */
struct schema_keys {
    const json_t *ref, *type, *format, *omit, *items, *additional, *properties, *preserve,
        *int_or_string, *patch_strategy, *patch_merge_key, *list_type;
};

/* One definition: its schema, its node (what a {"$ref": name} property compiles to). */
struct defentry {
    const char *name; /* borrowed: key of the definitions object */
    size_t len;
    const json_t *def;  /* borrowed */
    struct cstruct *st; /* when the definition has properties */
    struct node node;
    struct schema_keys keys; /* of def */
};

/* Bump allocation for the compiled form: freed as a whole by schema_free. */
struct arena_block {
    struct arena_block *next;
    size_t used, cap;
    _Alignas(16) unsigned char data[];
};

struct schema {
    json_t *defs; /* owned reference: name -> definition */
    struct defentry *entries;
    size_t n_entries;
    uint32_t *index; /* entries by name, as cstruct.index */
    uint32_t mask;
    struct arena_block *arena;
};

struct canon_ctx {
    const struct schema *s;
    struct schema_report *rep;
    bool failed;
};

/* ---- error paths ---------------------------------------------------------------------------- */

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
    case PATH_INDEX:
        strbuf_addf(out, "[%zu]", p->index);
        break;
    case PATH_MAP_KEY:
        strbuf_addf(out, "[%s]", p->key);
        break;
    }
}

/* ---- the JSON definitions, read at compile time and on the error path ------------------------ */

static const json_t *json_def(const struct schema *s, const char *name);

/* A struct definition is one with properties; anything else is a scalar-like definition. */
static const json_t *resolve(const struct schema *s, const json_t *prop, const char **ref_out)
{
    const char *ref = json_string_value(json_object_get(prop, "$ref"));
    if (ref_out)
        *ref_out = ref;
    if (!ref)
        return prop;
    const json_t *def = json_def(s, ref);
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

static bool str_is(const char *s, const char *word)
{
    return s && !strcmp(s, word);
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
    if (str_is(format, "int-or-string")) {
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
        strbuf_addstr(out, str_is(format, "int64") ? "int64" : "int32");
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

/*
 * Record the first type error as Go's json.UnmarshalTypeError prints it:
 * "json: cannot unmarshal <value> into Go struct field <Struct>.<json path> of type <type>".
 */
static void type_error(struct canon_ctx *c, const json_t *v, const char *value_word,
                       const char *owner, const struct path *at, const struct node *n)
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
    /* A definition's node stands for {"$ref": name}: the type names what the name resolves to. */
    json_t *synthetic = n->prop || !n->ref ? NULL : json_pack("{s:s}", "$ref", n->ref);
    go_type_name(c->s, n->prop ? n->prop : synthetic, &ty);
    json_decref(synthetic);
    strbuf_addf(&sb, "json: cannot unmarshal %s into ",
                value_word ? value_word : ju_go_type_word(v));
    if (owner && *path) {
        /* Go names the struct without its package: "ServicePort.spec.ports.port". */
        const char *short_name = go_short_name(owner, buf, sizeof(buf));
        const char *dot = strchr(short_name, '.');
        strbuf_addf(&sb, "Go struct field %s.%s of type %s", dot ? dot + 1 : short_name, path,
                    strbuf_str(&ty));
    } else
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

/* ---- compiling the definitions --------------------------------------------------------------- */

static void *arena_alloc(struct schema *s, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    struct arena_block *b = s->arena;
    if (!b || b->cap - b->used < n) {
        size_t cap = n > 16384 ? n : 16384;
        b = xmalloc(sizeof(*b) + cap);
        b->next = s->arena;
        b->used = 0;
        b->cap = cap;
        s->arena = b;
    }
    void *p = b->data + b->used;
    b->used += n;
    memset(p, 0, n);
    return p;
}

/* The hash of a name for the field and definition indexes: names are short and mostly differ in
   length or at their ends, so a few bytes do. */
static uint32_t name_hash(const char *k, size_t len)
{
    uint32_t h = (uint32_t)len * 0x9e3779b1u;
    if (len) {
        h ^= (uint32_t)(unsigned char)k[0] * 0x85ebca6bu;
        h ^= (uint32_t)(unsigned char)k[len / 2] * 0xc2b2ae35u;
        h ^= (uint32_t)(unsigned char)k[len - 1] * 0x27d4eb2fu;
        if (len > 3)
            h ^= (uint32_t)(unsigned char)k[len - 3] * 0x165667b1u;
    }
    return h ^ (h >> 15);
}

/* An index of n names with room for a load of at most one half. */
static uint32_t *index_new(struct schema *s, size_t n, uint32_t *mask)
{
    size_t slots = 4;
    while (slots < 2 * n)
        slots *= 2;
    *mask = (uint32_t)slots - 1;
    return arena_alloc(s, slots * sizeof(uint32_t));
}

static void index_put(uint32_t *index, uint32_t mask, const char *name, size_t len, size_t pos)
{
    uint32_t i = name_hash(name, len) & mask;
    while (index[i])
        i = (i + 1) & mask;
    index[i] = (uint32_t)pos + 1;
}

/* The field of st named by the len bytes at key, or NULL. */
static const struct field *field_find(const struct cstruct *st, const char *key, size_t len)
{
    uint32_t i = name_hash(key, len) & st->mask;
    for (uint32_t slot; (slot = st->index[i]); i = (i + 1) & st->mask) {
        const struct field *f = &st->fields[slot - 1];
        if (f->len == len && !memcmp(f->name, key, len))
            return f;
    }
    return NULL;
}

static const struct defentry *entry_find(const struct schema *s, const char *name)
{
    if (!name || !s->n_entries)
        return NULL;
    size_t len = strlen(name);
    uint32_t i = name_hash(name, len) & s->mask;
    for (uint32_t slot; (slot = s->index[i]); i = (i + 1) & s->mask) {
        const struct defentry *e = &s->entries[slot - 1];
        if (e->len == len && !memcmp(e->name, name, len))
            return e;
    }
    return NULL;
}

static const json_t *json_def(const struct schema *s, const char *name)
{
    const struct defentry *e = entry_find(s, name);
    return e ? e->def : NULL;
}

static void schema_keys_read(const json_t *obj, struct schema_keys *k)
{
    memset(k, 0, sizeof(*k));
    if (!json_is_object(obj))
        return;
    for (void *it = json_object_iter((json_t *)obj); it;
         it = json_object_iter_next((json_t *)obj, it)) {
        const char *key = json_object_iter_key(it);
        const json_t *v = json_object_iter_value(it);
        const json_t **slot = NULL;
        switch (key[0]) {
        case '$':
            slot = !strcmp(key, "$ref") ? &k->ref : NULL;
            break;
        case 't':
            slot = !strcmp(key, "type") ? &k->type : NULL;
            break;
        case 'f':
            slot = !strcmp(key, "format") ? &k->format : NULL;
            break;
        case 'o':
            slot = !strcmp(key, "omit") ? &k->omit : NULL;
            break;
        case 'i':
            slot = !strcmp(key, "items") ? &k->items : NULL;
            break;
        case 'a':
            slot = !strcmp(key, "additionalProperties") ? &k->additional : NULL;
            break;
        case 'p':
            slot = !strcmp(key, "properties") ? &k->properties : NULL;
            break;
        case 'x':
            if (!strcmp(key, "x-kubernetes-preserve-unknown-fields"))
                slot = &k->preserve;
            else if (!strcmp(key, "x-kubernetes-int-or-string"))
                slot = &k->int_or_string;
            else if (!strcmp(key, "x-kubernetes-patch-strategy"))
                slot = &k->patch_strategy;
            else if (!strcmp(key, "x-kubernetes-patch-merge-key"))
                slot = &k->patch_merge_key;
            else if (!strcmp(key, "x-kubernetes-list-type"))
                slot = &k->list_type;
            break;
        default:
            break;
        }
        if (slot)
            *slot = v;
    }
}

static const struct node *compile_node(struct schema *s, const json_t *prop,
                                       const struct schema_keys *pk);
static void compile_struct(struct schema *s, const struct schema_keys *dk, struct cstruct *st);

/*
 * Classify n, the node of prop, whose $ref is ref and which resolves to the schema object with
 * keys dk (prop itself without a $ref or when the $ref is undefined). The order of the tests is
 * the order canonicalisation used to make them on the JSON, so every odd schema keeps its
 * meaning. Nothing is followed here: compile_links does that, once every definition's node is
 * classified.
 */
static void compile_kind(struct node *n, const json_t *prop, const char *ref,
                         const struct schema_keys *dk)
{
    const char *format = json_string_value(dk->format);
    const char *t = json_string_value(dk->type);
    if (!t)
        t = "";
    n->ref = ref;
    n->prop = prop;
    n->quantity = str_is(format, "quantity") || str_is(ref, QUANTITY_DEF);
    /* What encoding/json writes for an absent field that is never omitted: the Go zero value.
       metav1.Time's zero marshals as null, IntOrString's as 0, Quantity's as "0"; nil slices,
       maps and pointers as null. */
    if (str_is(format, "int-or-string"))
        n->zero = ZERO_INT;
    else if (str_is(format, "date-time"))
        n->zero = ZERO_NULL;
    else if (n->quantity)
        n->zero = ZERO_STRING_0;
    else if (!strcmp(t, "string"))
        n->zero = ZERO_EMPTY_STRING;
    else if (!strcmp(t, "integer"))
        n->zero = ZERO_INT;
    else if (!strcmp(t, "number"))
        n->zero = ZERO_REAL;
    else if (!strcmp(t, "boolean"))
        n->zero = ZERO_FALSE;
    else
        n->zero = ZERO_NULL;

    if (json_is_object(dk->properties))
        n->kind = NODE_STRUCT;
    else if (json_is_true(dk->preserve) && !dk->additional && !dk->items)
        n->kind = NODE_ANY;
    else if (json_is_true(dk->int_or_string) || str_is(format, "int-or-string"))
        n->kind = NODE_INT_OR_STRING;
    else if (!strcmp(t, "string"))
        n->kind = NODE_STRING;
    else if (!strcmp(t, "integer"))
        n->kind = NODE_INTEGER;
    else if (!strcmp(t, "number"))
        n->kind = NODE_NUMBER;
    else if (!strcmp(t, "boolean"))
        n->kind = NODE_BOOLEAN;
    else if (!strcmp(t, "array"))
        n->kind = NODE_ARRAY;
    else if (!strcmp(t, "object"))
        n->kind = dk->additional ? NODE_MAP : NODE_OBJECT;
    else
        n->kind = NODE_ANY; /* no type: anything goes (e.g. RawExtension) */
    n->int64 = n->kind == NODE_INTEGER && str_is(format, "int64");
}

/* The node of a schema object reached from a node (items, additionalProperties). */
static const struct node *compile_child(struct schema *s, const json_t *prop)
{
    struct schema_keys pk;
    schema_keys_read(prop, &pk);
    return compile_node(s, prop, &pk);
}

/* Compile what n refers to: its fields (def_struct, or inline ones), its items or map values. */
static void compile_links(struct schema *s, struct node *n, const struct schema_keys *dk,
                          struct cstruct *def_struct)
{
    if (n->kind == NODE_STRUCT) {
        if (!def_struct) {
            def_struct = arena_alloc(s, sizeof(*def_struct));
            compile_struct(s, dk, def_struct);
        }
        n->st = def_struct;
    } else if (n->kind == NODE_ARRAY) {
        n->elem = dk->items ? compile_child(s, dk->items) : NULL;
    } else if (n->kind == NODE_MAP) {
        n->elem = compile_child(s, dk->additional);
    }
}

/* The node of a property schema with keys pk: a defined $ref shares its definition's node. */
static const struct node *compile_node(struct schema *s, const json_t *prop,
                                       const struct schema_keys *pk)
{
    const char *ref = json_string_value(pk->ref);
    const struct defentry *e = entry_find(s, ref);
    if (e)
        return &e->node;
    struct node *n = arena_alloc(s, sizeof(*n));
    compile_kind(n, prop, ref, pk);
    compile_links(s, n, pk, NULL);
    return n;
}

/* Patch metadata of a property, as schema_lookup_field has always read it from the JSON: the
   struct of the value, or of the items of a list or the values of a map. */
static void compile_meta(const struct schema *s, const json_t *prop, const struct schema_keys *pk,
                         struct schema_field *out)
{
    out->prop = prop;
    const char *ref = json_string_value(pk->ref);
    const struct defentry *e = entry_find(s, ref);
    const struct schema_keys *dk = e ? &e->keys : pk;
    const char *t = json_string_value(dk->type);
    if (str_is(t, "array")) {
        out->is_list = true;
        ref = json_string_value(json_object_get(dk->items, "$ref"));
    } else if (str_is(t, "object") && dk->additional) {
        out->is_map = true;
        ref = json_string_value(json_object_get(dk->additional, "$ref"));
    }
    out->ref = ref;
    out->patch_strategy = json_string_value(pk->patch_strategy);
    out->patch_merge_key = json_string_value(pk->patch_merge_key);
    out->list_type = json_string_value(pk->list_type);
}

/* Compile the properties of the definition with keys dk into st. */
static void compile_struct(struct schema *s, const struct schema_keys *dk, struct cstruct *st)
{
    const json_t *props = dk->properties;
    st->preserve = json_is_true(dk->preserve);
    st->n = json_object_size(props);
    st->fields = arena_alloc(s, (st->n ? st->n : 1) * sizeof(*st->fields));
    st->index = index_new(s, st->n, &st->mask);
    size_t i = 0;
    for (void *it = json_object_iter((json_t *)props); it;
         it = json_object_iter_next((json_t *)props, it), i++) {
        struct field *f = &st->fields[i];
        const json_t *prop = json_object_iter_value(it);
        struct schema_keys pk;
        schema_keys_read(prop, &pk);
        f->name = json_object_iter_key(it);
        f->len = strlen(f->name);
        f->node = compile_node(s, prop, &pk);
        const char *omit = json_string_value(pk.omit);
        if (!omit)
            f->omit = json_string_value(pk.ref) && f->node->kind == NODE_STRUCT ? OMIT_STRUCT
                                                                                : OMIT_EMPTY;
        else if (!strcmp(omit, "empty"))
            f->omit = OMIT_EMPTY;
        else if (!strcmp(omit, "nil"))
            f->omit = OMIT_NIL;
        else if (!strcmp(omit, "struct"))
            f->omit = OMIT_STRUCT;
        else if (!strcmp(omit, "never"))
            f->omit = OMIT_NEVER;
        else
            f->omit = OMIT_OTHER;
        if (f->omit == OMIT_STRUCT && f->node->kind == NODE_STRUCT)
            f->absent = ABSENT_EMPTY_STRUCT;
        else if (f->omit == OMIT_NEVER)
            f->absent = ABSENT_ZERO;
        else
            f->absent = ABSENT_SKIP;
        compile_meta(s, prop, &pk, &f->meta);
        /* Names are unique keys of the properties object, so there is nothing to replace. */
        index_put(st->index, st->mask, f->name, f->len, i);
    }
}

struct schema *schema_new(json_t *defs)
{
    struct schema *s = xcalloc(1, sizeof(*s));
    s->defs = json_incref(defs);
    s->n_entries = json_object_size(defs);
    s->entries = xcalloc(s->n_entries ? s->n_entries : 1, sizeof(*s->entries));
    s->index = index_new(s, s->n_entries, &s->mask);
    /* First every name, struct shell and node kind, so that $refs (recursive ones too) resolve
       to nodes whose kind is known (a field's omit rule depends on it); then what they refer
       to. */
    size_t i = 0;
    const char *name;
    json_t *def;
    json_object_foreach (defs, name, def) {
        struct defentry *e = &s->entries[i];
        e->name = name;
        e->len = strlen(name);
        e->def = def;
        schema_keys_read(def, &e->keys);
        compile_kind(&e->node, NULL, e->name, &e->keys);
        if (e->node.kind == NODE_STRUCT)
            e->st = arena_alloc(s, sizeof(*e->st));
        index_put(s->index, s->mask, e->name, e->len, i);
        i++;
    }
    for (i = 0; i < s->n_entries; i++) {
        struct defentry *e = &s->entries[i];
        compile_links(s, &e->node, &e->keys, e->st);
        if (e->st)
            compile_struct(s, &e->keys, e->st);
    }
    return s;
}

void schema_free(struct schema *s)
{
    if (!s)
        return;
    while (s->arena) {
        struct arena_block *next = s->arena->next;
        free(s->arena);
        s->arena = next;
    }
    free(s->entries);
    json_decref(s->defs);
    free(s);
}

json_t *schema_definitions(const struct schema *s)
{
    return s->defs;
}

const json_t *schema_definition(const struct schema *s, const char *name)
{
    return json_def(s, name);
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

/* ---- canonicalisation ------------------------------------------------------------------------ */

/* Keys of jansson objects carry their length since 2.14; before, they are C strings. */
#if JANSSON_VERSION_HEX >= 0x020e00
#define ITER_KEY_LEN(it, key)        json_object_iter_key_len(it)
#define OBJECT_PUT(obj, key, len, v) json_object_setn_new_nocheck(obj, key, len, v)
#else
#define ITER_KEY_LEN(it, key)        strlen(key)
#define OBJECT_PUT(obj, key, len, v) json_object_set_new_nocheck(obj, key, v)
#endif

/* Scalars of the input are shared with the result when jansson counts references atomically
   (it does wherever the compiler has atomic builtins); otherwise they are copied. */
#if JSON_HAVE_ATOMIC_BUILTINS || JSON_HAVE_SYNC_BUILTINS
#define SHARE_SCALARS 1
#else
#define SHARE_SCALARS 0
#endif

/*
 * A copy of v for the result: containers are new (callers change results in place), scalars are
 * shared. jansson scalars are only changed by json_*_set, which nothing in the server calls, and
 * their reference counts are atomic, so sharing them with the input, even with a committed
 * object that other threads read, is safe, and saves two allocations per string. No cycle check
 * as json_deep_copy makes: the input is a tree.
 */
static json_t *copy_value(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        json_t *out = json_object();
        for (void *it = json_object_iter((json_t *)v); it;
             it = json_object_iter_next((json_t *)v, it)) {
            const char *key = json_object_iter_key(it);
            OBJECT_PUT(out, key, ITER_KEY_LEN(it, key), copy_value(json_object_iter_value(it)));
        }
        return out;
    }
    case JSON_ARRAY: {
        size_t n = json_array_size(v);
        json_t *out = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append_new(out, copy_value(json_array_get(v, i)));
        return out;
    }
#if !SHARE_SCALARS
    case JSON_STRING:
        return json_stringn_nocheck(json_string_value(v), json_string_length(v));
    case JSON_INTEGER:
        return json_integer(json_integer_value(v));
    case JSON_REAL:
        return json_real(json_real_value(v));
#endif
    default:
        return json_incref((json_t *)v); /* true, false and null are static in jansson */
    }
}

/*
 * Set out[key] = v (stolen) for a key of the input, as json_object_set_new(out, key, v) would:
 * jansson's check refuses a key that is not UTF-8, and the key is its C string. Keys that are
 * plain ASCII skip the check.
 */
static void put_input_key(json_t *out, const char *key, json_t *v)
{
    size_t len = 0;
    while (key[len] && !((unsigned char)key[len] & 0x80))
        len++;
    if (key[len])
        json_object_set_new(out, key, v);
    else
        OBJECT_PUT(out, key, len, v);
}

static json_t *zero_value(const struct node *n)
{
    switch (n->zero) {
    case ZERO_EMPTY_STRING:
        return json_string("");
    case ZERO_STRING_0:
        return json_string("0");
    case ZERO_INT:
        return json_integer(0);
    case ZERO_REAL:
        return json_real(0);
    case ZERO_FALSE:
        return json_false();
    default:
        return json_null();
    }
}

/* v NULL stands for an empty object, which is what an absent struct field decodes from. */
static json_t *canon(struct canon_ctx *c, const struct node *n, const json_t *v, const char *owner,
                     const struct path *at, int depth);

/* The zero value of a list element or map value node (a null in the input decodes to it). */
static json_t *element_zero(struct canon_ctx *c, const struct node *n, const char *owner, int depth)
{
    if (!n)
        return json_null();
    if (n->kind == NODE_STRUCT) {
        json_t *z = canon(c, n, NULL, owner, NULL, depth + 1);
        return z ? z : json_object();
    }
    return zero_value(n);
}

/* The input's fields of a struct, found by one pass over its keys. */
#define SLOTS_ON_STACK 48

static json_t *canon_struct(struct canon_ctx *c, const struct cstruct *st, const char *owner,
                            const json_t *v, const struct path *at, int depth)
{
    const json_t *stack_slots[SLOTS_ON_STACK];
    const json_t **slot = st->n <= SLOTS_ON_STACK ? stack_slots : xmalloc(st->n * sizeof(*slot));
    size_t unknown = 0;
    memset(slot, 0, st->n * sizeof(*slot));
    if (v) {
        for (void *it = json_object_iter((json_t *)v); it;
             it = json_object_iter_next((json_t *)v, it)) {
            const char *key = json_object_iter_key(it);
            const struct field *f = field_find(st, key, ITER_KEY_LEN(it, key));
            if (f)
                slot[f - st->fields] = json_object_iter_value(it);
            else
                unknown++;
        }
    }
    json_t *out = json_object();
    for (size_t i = 0; i < st->n; i++) {
        const struct field *f = &st->fields[i];
        const json_t *in = slot[i];
        struct path here = {.up = at, .kind = PATH_FIELD, .key = f->name};
        json_t *val = NULL;
        if (in && !json_is_null(in)) {
            val = canon(c, f->node, in, owner, &here, depth + 1);
        } else if (f->absent == ABSENT_SKIP) {
            continue;
        } else if (f->absent == ABSENT_EMPTY_STRUCT) {
            val = canon(c, f->node, NULL, owner, &here, depth + 1);
        }
        if (c->failed) {
            json_decref(val);
            json_decref(out);
            out = NULL;
            goto out;
        }
        if (!val) {
            if (f->absent == ABSENT_ZERO)
                OBJECT_PUT(out, f->name, f->len, zero_value(f->node));
            continue;
        }
        if (f->omit == OMIT_EMPTY && ju_go_empty(val)) {
            json_decref(val);
            continue;
        }
        OBJECT_PUT(out, f->name, f->len, val);
    }
    /* Fields the schema does not know, in input order: kept where the schema says so, otherwise
       pruned. A key is known by its C string, as jansson's json_object_get sees it. */
    for (void *it = unknown ? json_object_iter((json_t *)v) : NULL; it;
         it = json_object_iter_next((json_t *)v, it)) {
        const char *key = json_object_iter_key(it);
        size_t len = strlen(key);
        if (field_find(st, key, len))
            continue;
        if (st->preserve)
            put_input_key(out, key, copy_value(json_object_iter_value(it)));
        else
            report_unknown(c, at, key);
    }
out:
    if (slot != stack_slots)
        free(slot);
    return out;
}

struct map_entry {
    const char *key;
    const json_t *value;
};

static int cmp_entry(const void *a, const void *b)
{
    return strcmp(((const struct map_entry *)a)->key, ((const struct map_entry *)b)->key);
}

/* A Go map: encoding/json writes its keys sorted. */
#define MAP_ON_STACK 16

static json_t *canon_map(struct canon_ctx *c, const struct node *n, const json_t *v,
                         const char *owner, const struct path *at, int depth)
{
    size_t count = json_object_size(v), i = 0;
    struct map_entry stack_entries[MAP_ON_STACK];
    struct map_entry *e = count <= MAP_ON_STACK ? stack_entries : xmalloc(count * sizeof(*e));
    for (void *it = json_object_iter((json_t *)v); it && i < count;
         it = json_object_iter_next((json_t *)v, it), i++) {
        e[i].key = json_object_iter_key(it);
        e[i].value = json_object_iter_value(it);
    }
    if (count <= MAP_ON_STACK) {
        /* Insertion sort: maps are small (labels, selectors) and often sorted already. */
        for (i = 1; i < count; i++) {
            struct map_entry x = e[i];
            size_t j = i;
            while (j > 0 && strcmp(e[j - 1].key, x.key) > 0) {
                e[j] = e[j - 1];
                j--;
            }
            e[j] = x;
        }
    } else {
        qsort(e, count, sizeof(*e), cmp_entry);
    }
    json_t *out = json_object();
    for (i = 0; i < count; i++) {
        struct path here = {.up = at, .kind = PATH_MAP_KEY, .key = e[i].key};
        json_t *cv = canon(c, n->elem, e[i].value, owner, &here, depth + 1);
        if (c->failed)
            break;
        put_input_key(out, e[i].key, cv ? cv : element_zero(c, n->elem, owner, depth));
    }
    if (e != stack_entries)
        free(e);
    if (c->failed) {
        json_decref(out);
        return NULL;
    }
    return out;
}

static json_t *canon_array(struct canon_ctx *c, const struct node *n, const json_t *v,
                           const char *owner, const struct path *at, int depth)
{
    size_t count = json_array_size(v);
    json_t *out = json_array();
    for (size_t i = 0; i < count; i++) {
        const json_t *el = json_array_get(v, i);
        struct path here = {.up = at, .kind = PATH_INDEX, .index = i};
        json_t *cv = n->elem ? canon(c, n->elem, el, owner, &here, depth + 1) : copy_value(el);
        if (c->failed) {
            json_decref(out);
            return NULL;
        }
        /* Go decodes a null element into the zero value of the element type. */
        json_array_append_new(out, cv ? cv : element_zero(c, n->elem, owner, depth));
    }
    return out;
}

static json_t *canon(struct canon_ctx *c, const struct node *n, const json_t *v, const char *owner,
                     const struct path *at, int depth)
{
    if (depth > SCHEMA_MAX_DEPTH) {
        type_error(c, v, "value nested too deeply", owner, at, n);
        return NULL;
    }
    if (v && json_is_null(v))
        return NULL;
    char word[64];
    switch (n->kind) {
    case NODE_STRUCT:
        if (v && !json_is_object(v))
            break;
        return canon_struct(c, n->st, n->ref ? n->ref : owner, v, at, depth);
    case NODE_ANY:
        return copy_value(v);
    case NODE_INT_OR_STRING:
        if (json_is_integer(v) || json_is_string(v))
            return copy_value(v);
        break;
    case NODE_STRING:
        if (json_is_string(v))
            return copy_value(v);
        /* A Quantity also accepts a bare number ("cpu: 1"). */
        if (n->quantity && json_is_number(v)) {
            if (json_is_integer(v))
                snprintf(word, sizeof(word), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
            else
                snprintf(word, sizeof(word), "%g", json_real_value(v));
            return json_string(word);
        }
        break;
    case NODE_INTEGER:
        if (json_is_integer(v)) {
            json_int_t i = json_integer_value(v);
            if (n->int64 || (i >= INT32_MIN && i <= INT32_MAX))
                return copy_value(v);
            snprintf(word, sizeof(word), "number %" JSON_INTEGER_FORMAT, i);
            type_error(c, v, word, owner, at, n);
            return NULL;
        }
        if (json_is_real(v)) {
            snprintf(word, sizeof(word), "number %g", json_real_value(v));
            type_error(c, v, word, owner, at, n);
            return NULL;
        }
        break;
    case NODE_NUMBER:
        if (json_is_number(v))
            return copy_value(v);
        break;
    case NODE_BOOLEAN:
        if (json_is_boolean(v))
            return copy_value(v);
        break;
    case NODE_ARRAY:
        if (json_is_array(v))
            return canon_array(c, n, v, owner, at, depth);
        break;
    case NODE_MAP:
        if (json_is_object(v))
            return canon_map(c, n, v, owner, at, depth);
        break;
    case NODE_OBJECT:
        if (json_is_object(v))
            return copy_value(v);
        break;
    }
    type_error(c, v, NULL, owner, at, n);
    return NULL;
}

json_t *schema_canonicalize(const struct schema *s, const char *def_name, const json_t *obj,
                            struct schema_report *rep)
{
    struct canon_ctx c = {.s = s, .rep = rep, .failed = false};
    const struct defentry *e = entry_find(s, def_name);
    /* An undefined name is a property schema {"$ref": name} that resolves to nothing: no type,
       so the object is copied as it is. */
    struct node undefined = {.kind = NODE_ANY, .ref = def_name};
    json_t *out = canon(&c, e ? &e->node : &undefined, obj, def_name, NULL, 0);
    if (c.failed) {
        json_decref(out);
        return NULL;
    }
    return out ? out : json_object();
}

static const struct cstruct *struct_named(const struct schema *s, const char *def_name)
{
    const struct defentry *e = entry_find(s, def_name);
    return e ? e->st : NULL;
}

/* A key of an object being reordered: where it goes, and its value (a reference). */
struct reorder {
    const char *key; /* borrowed from the object, then from the copy of the keys */
    size_t len;
    json_t *value;
    size_t rank;
};

#define REORDER_ON_STACK 24

void schema_set_ordered(const struct schema *s, const char *def_name, json_t *obj, const char *key,
                        json_t *value)
{
    const struct cstruct *st = struct_named(s, def_name);
    const struct field *at = st ? field_find(st, key, strlen(key)) : NULL;
    if (!at || json_object_get(obj, key)) {
        json_object_set_new(obj, key, value);
        return;
    }
    /* Rebuild: keys before `key` in schema order stay first, then key, then the rest in their
       order. jansson cannot move a key, so the object is emptied and filled again. */
    size_t n = json_object_size(obj), i = 0, total = 0;
    size_t key_rank = (size_t)(at - st->fields);
    struct reorder stack_entries[REORDER_ON_STACK];
    struct reorder *e = n <= REORDER_ON_STACK ? stack_entries : xmalloc(n * sizeof(*e));
    for (void *it = json_object_iter(obj); it && i < n; it = json_object_iter_next(obj, it), i++) {
        const char *k = json_object_iter_key(it);
        size_t len = strlen(k);
        const struct field *f = field_find(st, k, len);
        e[i] = (struct reorder){.key = k,
                                .len = len,
                                .value = json_incref(json_object_iter_value(it)),
                                .rank = f && f < at ? (size_t)(f - st->fields) : key_rank + 1 + i};
        total += len + 1;
    }
    n = i;
    for (i = 1; i < n; i++) {
        struct reorder x = e[i];
        size_t j = i;
        while (j > 0 && e[j - 1].rank > x.rank) {
            e[j] = e[j - 1];
            j--;
        }
        e[j] = x;
    }
    /* The keys die with the object's pairs: keep a copy. */
    char stack_keys[512];
    char *keys = total <= sizeof(stack_keys) ? stack_keys : xmalloc(total);
    char *p = keys;
    for (i = 0; i < n; i++) {
        memcpy(p, e[i].key, e[i].len + 1);
        e[i].key = p;
        p += e[i].len + 1;
    }
    json_object_clear(obj);
    bool placed = false;
    for (i = 0; i < n; i++) {
        if (!placed && e[i].rank > key_rank) {
            json_object_set_new(obj, key, value);
            placed = true;
        }
        put_input_key(obj, e[i].key, e[i].value);
    }
    if (!placed)
        json_object_set_new(obj, key, value);
    if (keys != stack_keys)
        free(keys);
    if (e != stack_entries)
        free(e);
}

int schema_lookup_field(const struct schema *s, const char *def_name, const char *name,
                        struct schema_field *out)
{
    memset(out, 0, sizeof(*out));
    const struct cstruct *st = struct_named(s, def_name);
    const struct field *f = st && name ? field_find(st, name, strlen(name)) : NULL;
    if (!f)
        return -1;
    *out = f->meta;
    return 0;
}
