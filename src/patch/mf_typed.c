/*
 * mf_typed: objects seen through their schema, as structured-merge-diff sees them. The schema
 * model is what kube-openapi's schemaconv builds from OpenAPI (lists atomic unless
 * x-kubernetes-list-type or a merge patch strategy says otherwise, maps and structs granular
 * unless x-kubernetes-map-type is atomic, int-or-string and times untyped scalars, unknown
 * content "deduced"); the walks are typed's: validation, ToFieldSet, Compare, Merge and
 * RemoveItems, each kept close to upstream's code because their corner cases (empty versus
 * null, duplicates in lists, the order of merged list items) are visible in managedFields and
 * in the objects apply produces. Depends on jansson, strbuf and util only.
 */
#include "mf_private.h"

#include "svc/strbuf.h"
#include "svc/tree_arena.h"
#include "svc/util.h"

#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define QUANTITY_DEF      "io.k8s.apimachinery.pkg.api.resource.Quantity"
#define RAW_EXTENSION_DEF "io.k8s.apimachinery.pkg.runtime.RawExtension"

/* ---- errors ------------------------------------------------------------------------------------
 */

void mf_errs_release(struct mf_errs *e)
{
    for (size_t i = 0; i < e->n; i++)
        free(e->items[i]);
    free(e->items);
    memset(e, 0, sizeof(*e));
}

static void errs_push(struct mf_errs *e, char *text)
{
    if (e->n == e->alloc) {
        e->alloc = e->alloc ? 2 * e->alloc : 4;
        e->items = xrealloc(e->items, e->alloc * sizeof(*e->items));
    }
    e->items[e->n++] = text;
}

char *mf_errs_text(const struct mf_errs *e)
{
    if (e->n == 1)
        return xstrdup(e->items[0]);
    struct strbuf sb;
    strbuf_init(&sb, STRBUF_NO_LIMIT);
    strbuf_addstr(&sb, "errors:");
    for (size_t i = 0; i < e->n; i++)
        strbuf_addf(&sb, "\n  %s", e->items[i]);
    return strbuf_detach(&sb, NULL);
}

/* ---- paths during walks
 * -------------------------------------------------------------------------- */

struct walk_path {
    const struct mf_pe *items[MF_MAX_DEPTH + 2];
    size_t gen[MF_MAX_DEPTH + 2]; /* which push put items[i] there (never the same twice) */
    size_t n, pushes;
};

/* Where a walk last inserted into a set: node[k] is the subset under the first k elements of
   the path as it was (node[0] the set itself), for k <= depth, and gen[k] the push of element
   k. The next insertion descends only from where the paths part, instead of from the top. */
struct set_cursor {
    struct mf_set *set;
    struct mf_set *node[MF_MAX_DEPTH + 2];
    size_t gen[MF_MAX_DEPTH + 2];
    size_t depth;
};

/* mf_set_insert(cur->set, p->items, p->n). */
static void cursor_insert(struct set_cursor *cur, const struct walk_path *p)
{
    size_t n = p->n, k = 0;
    if (!n)
        return; /* nobody owns the whole object */
    while (k < cur->depth && k + 1 < n && cur->gen[k] == p->gen[k])
        k++;
    struct mf_set *s = k ? cur->node[k] : cur->set;
    for (; k + 1 < n; k++) {
        s = mf_set_descend(s, p->items[k]);
        cur->node[k + 1] = s;
        cur->gen[k] = p->gen[k];
    }
    cur->depth = n - 1;
    mf_set_add(s, p->items[n - 1]);
}

static char *path_text(const struct walk_path *p)
{
    struct strbuf sb;
    strbuf_init(&sb, STRBUF_NO_LIMIT);
    for (size_t i = 0; i < p->n; i++)
        mf_pe_append_string(&sb, p->items[i]);
    return strbuf_detach(&sb, NULL);
}

/* A ValidationError at the current path: "<path>: <message>", or the message alone at the root. */
static void __attribute__((format(printf, 3, 4)))
errf(struct mf_errs *e, const struct walk_path *p, const char *fmt, ...)
{
    if (!e)
        return;
    va_list ap;
    va_start(ap, fmt);
    struct strbuf sb;
    strbuf_init(&sb, STRBUF_NO_LIMIT);
    char *where = path_text(p);
    if (*where)
        strbuf_addf(&sb, "%s: ", where);
    free(where);
    strbuf_vaddf(&sb, fmt, ap);
    va_end(ap);
    errs_push(e, strbuf_detach(&sb, NULL));
}

/* Go's %v of a value.Value (a pointer to its unstructured holder): &{...}. */
static void go_v(struct strbuf *sb, const json_t *v, int depth)
{
    switch (json_typeof(v)) {
    case JSON_STRING:
        strbuf_addstr(sb, json_string_value(v));
        break;
    case JSON_INTEGER:
        strbuf_addf(sb, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        break;
    case JSON_REAL:
        strbuf_addf(sb, "%g", json_real_value(v));
        break;
    case JSON_TRUE:
        strbuf_addstr(sb, "true");
        break;
    case JSON_FALSE:
        strbuf_addstr(sb, "false");
        break;
    case JSON_NULL:
        strbuf_addstr(sb, "<nil>");
        break;
    case JSON_ARRAY:
        strbuf_addch(sb, '[');
        for (size_t i = 0; i < json_array_size(v) && depth < 8; i++) {
            if (i)
                strbuf_addch(sb, ' ');
            go_v(sb, json_array_get(v, i), depth + 1);
        }
        strbuf_addch(sb, ']');
        break;
    case JSON_OBJECT: {
        strbuf_addstr(sb, "map[");
        const char *k;
        json_t *e;
        bool first = true;
        json_object_foreach ((json_t *)v, k, e) {
            if (depth >= 8)
                break;
            strbuf_addf(sb, "%s%s:", first ? "" : " ", k);
            go_v(sb, e, depth + 1);
            first = false;
        }
        strbuf_addch(sb, ']');
        break;
    }
    }
}

static char *holder_text(const json_t *v)
{
    struct strbuf sb;
    strbuf_init(&sb, STRBUF_NO_LIMIT);
    strbuf_addstr(&sb, "&{");
    go_v(&sb, v, 0);
    strbuf_addch(&sb, '}');
    return strbuf_detach(&sb, NULL);
}

static const char *go_type_of(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_STRING:
        return "string";
    case JSON_INTEGER:
        return "int64";
    case JSON_REAL:
        return "float64";
    case JSON_TRUE:
    case JSON_FALSE:
        return "bool";
    case JSON_ARRAY:
        return "[]interface {}";
    case JSON_OBJECT:
        return "map[string]interface {}";
    default:
        return "<nil>";
    }
}

/* ---- schema -------------------------------------------------------------------------------------
 */

static int map_rel_of(const json_t *node)
{
    const char *t = json_string_value(json_object_get(node, "x-kubernetes-map-type"));
    if (!t)
        return -1;
    if (!strcmp(t, "atomic"))
        return MF_REL_ATOMIC;
    return MF_REL_SEPARABLE;
}

/* makeOpenAPIRef: a $ref keeps the map type its property gives, an inline schema its own. */
static struct mf_tref tref_of(const json_t *node)
{
    struct mf_tref t = {.kind = MF_T_SCHEMA, .node = node, .map_rel = -1};
    if (json_object_get(node, "$ref"))
        t.map_rel = map_rel_of(node);
    return t;
}

static bool preserves_unknown(const json_t *n)
{
    return json_is_true(json_object_get(n, "x-kubernetes-preserve-unknown-fields"));
}

/* getListElementRelationship */
static void parse_list(const json_t *spec, struct mf_atom *a)
{
    a->has_list = true;
    a->list_rel = MF_REL_ATOMIC;
    a->list_keys = NULL;
    const char *lt = json_string_value(json_object_get(spec, "x-kubernetes-list-type"));
    const char *ps = json_string_value(json_object_get(spec, "x-kubernetes-patch-strategy"));
    if (lt) {
        if (!strcmp(lt, "set")) {
            a->list_rel = MF_REL_ASSOCIATIVE;
        } else if (!strcmp(lt, "map")) {
            a->list_rel = MF_REL_ASSOCIATIVE;
            a->list_keys = json_object_get(spec, "x-kubernetes-list-map-keys");
        }
    } else if (ps && (!strcmp(ps, "merge") || !strcmp(ps, "merge,retainKeys"))) {
        a->list_rel = MF_REL_ASSOCIATIVE;
        a->list_keys = json_object_get(spec, "x-kubernetes-patch-merge-key");
    }
    const json_t *items = json_object_get(spec, "items");
    if (json_is_object(items))
        a->list_elem = tref_of(items);
    else
        a->list_elem = (struct mf_tref){.kind = MF_T_UNTYPED, .map_rel = -1};
}

static void parse_object(const json_t *spec, struct mf_atom *a)
{
    a->has_map = true;
    const json_t *props = json_object_get(spec, "properties");
    a->fields = json_is_object(props) ? props : NULL;
    const json_t *ap = json_object_get(spec, "additionalProperties");
    if (json_is_object(ap))
        a->map_elem = tref_of(ap);
    else if (json_is_true(ap) ||
             (!ap && (preserves_unknown(spec) || !a->fields || !json_object_size(a->fields))))
        a->map_elem = (struct mf_tref){.kind = MF_T_DEDUCED, .map_rel = -1};
    else
        a->map_elem = (struct mf_tref){.kind = MF_T_NONE, .map_rel = -1};
    a->map_rel = map_rel_of(spec) == MF_REL_ATOMIC ? MF_REL_ATOMIC : MF_REL_SEPARABLE;
}

/* convertPrimitive and parseSchema */
static void parse_spec(const json_t *spec, struct mf_atom *a)
{
    const char *type = json_string_value(json_object_get(spec, "type"));
    const char *format = json_string_value(json_object_get(spec, "format"));
    if (!type)
        type = json_object_get(spec, "properties") ? "object" : "";
    if (json_is_true(json_object_get(spec, "x-kubernetes-int-or-string"))) {
        a->has_scalar = true;
        a->scalar = MF_SC_UNTYPED;
        return;
    }
    if (!*type) {
        a->has_scalar = true;
        a->scalar = MF_SC_UNTYPED;
        parse_list(spec, a);
        parse_object(spec, a);
    } else if (!strcmp(type, "object")) {
        parse_object(spec, a);
    } else if (!strcmp(type, "array")) {
        parse_list(spec, a);
    } else {
        a->has_scalar = true;
        if (!strcmp(type, "integer") || !strcmp(type, "number"))
            a->scalar = MF_SC_NUMERIC;
        else if (!strcmp(type, "boolean"))
            a->scalar = MF_SC_BOOLEAN;
        else if (!strcmp(type, "string") && (!format || !*format || !strcmp(format, "byte")))
            a->scalar = MF_SC_STRING;
        else
            a->scalar = MF_SC_UNTYPED;
    }
}

static void untyped_atom(struct mf_atom *a, bool deduced)
{
    a->has_scalar = a->has_list = a->has_map = true;
    a->scalar = MF_SC_UNTYPED;
    a->list_rel = MF_REL_ATOMIC;
    a->list_elem = (struct mf_tref){.kind = MF_T_UNTYPED, .map_rel = -1};
    a->map_rel = deduced ? MF_REL_SEPARABLE : MF_REL_ATOMIC;
    a->map_elem = (struct mf_tref){.kind = deduced ? MF_T_DEDUCED : MF_T_UNTYPED, .map_rel = -1};
}

static int resolve_uncached(const struct mf_schema *sc, const struct mf_tref *tr,
                            struct mf_atom *out)
{
    memset(out, 0, sizeof(*out));
    switch (tr->kind) {
    case MF_T_NONE:
        return 0; /* an empty atom: "schema error: invalid atom" where used */
    case MF_T_UNTYPED:
        untyped_atom(out, false);
        return 0;
    case MF_T_DEDUCED:
        untyped_atom(out, true);
        return 0;
    default:
        break;
    }
    const char *ref = json_string_value(json_object_get(tr->node, "$ref"));
    if (!ref) {
        parse_spec(tr->node, out);
        return 0;
    }
    if (!strcmp(ref, QUANTITY_DEF)) {
        out->has_scalar = true;
        out->scalar = MF_SC_UNTYPED;
        return 0;
    }
    if (!strcmp(ref, RAW_EXTENSION_DEF)) {
        untyped_atom(out, false);
        return 0;
    }
    const json_t *def = json_object_get(sc->defs, ref);
    if (!json_is_object(def))
        return -1;
    parse_spec(def, out);
    if (tr->map_rel >= 0 && out->has_map)
        out->map_rel = (enum mf_rel)tr->map_rel;
    return 0;
}

/* ---- compiled schema ---------------------------------------------------------------------------
 * Resolving a TypeRef reads its schema node again and again ("$ref", "type", "properties"...),
 * and normalising does the same for every property of every struct. The definitions do not
 * change for the lifetime of the process, so both are worked out once per definitions object,
 * for every node at once: a graph of resolved types (mf_type) and of normalisation rules
 * (norm_node) that the walks follow by pointer. A graph is built under a mutex, published with a
 * release store, and only read afterwards, so worker threads share it without locks; the one
 * thing filled in later, a kind's empty object, is set with a compare-and-swap. A shared graph
 * keeps a reference on its definitions: the nodes it points into stay alive, and no later
 * definitions object can take the address it is found by. Graphs are never freed. */

/* How many definitions objects get a shared graph; past that (only tests load that many), a call
   compiles its own and frees it in mf_schema_release. */
#define MF_SHARED_TYPES 16
/* Normalisation that nests deeper than this is not checked (mf_is_normal says false). */
#define NORM_CHECK_DEPTH 64

struct norm_node;
struct norm_prop;

struct mf_tfield {
    const char *name;
    struct mf_tref tref; /* tref_of(property), compiled */
    /* the normalisation rule of the same property, in the rules of the struct it belongs to */
    const struct norm_prop *nprop;
    const struct norm_node *nnode;
};

/* Names found by hash: slots hold 1 + an index into the named things, 0 when free. */
struct name_index {
    uint32_t *slots;
    uint32_t mask;
};

/* Property names are short and differ early, late or in length: four bytes and the length do,
   and the index tables only need a spread, not a strong hash. */
static uint32_t name_hash(const char *s)
{
    size_t n = strlen(s);
    if (!n)
        return 0;
    uint32_t h = (uint32_t)(unsigned char)s[0] | (uint32_t)(unsigned char)s[n - 1] << 8 |
                 (uint32_t)(unsigned char)s[n >> 1] << 16 |
                 (uint32_t)(unsigned char)s[n >> 2] << 24;
    h = (h ^ (uint32_t)n * 0x9e3779b1u) * 0x85ebca6bu;
    return h ^ (h >> 15);
}

struct mf_type {
    bool ok;     /* false: a $ref that names no definition */
    bool shared; /* part of a shared graph: its names outlive every set */
    /* the atom as resolve_uncached gives it (trefs compiled, .type = this), then as deduce
       narrows it to a scalar, a list and a map */
    struct mf_atom forms[4];
    const struct mf_tfield *fields; /* atom.fields by name (strcmp order) */
    size_t n_fields;
    const struct name_index *field_index; /* of fields */
    /* atom.list_keys as item_pe reads them ("" for a non-string), unique and in the order
       FieldList.Sort gives them */
    const char **key_sorted;
    size_t n_sorted;
    struct mf_type *next_stray; /* in mf_schema.strays */
};

enum omit_kind { OMIT_EMPTY, OMIT_STRUCT, OMIT_NEVER, OMIT_OTHER };
enum zero_kind { ZERO_NULL, ZERO_INT, ZERO_STRING, ZERO_QUANTITY, ZERO_REAL, ZERO_FALSE };
enum norm_kind { NORM_OTHER, NORM_ARRAY, NORM_MAP };

/* One property of a struct, for normalisation (norm_struct's loop, worked out in advance). */
struct norm_prop {
    const char *key;
    const struct norm_node *node; /* of the property's definition (resolve_def) */
    enum omit_kind omit;
    bool pdef_struct;    /* the property's definition is a struct */
    bool required;       /* normalisation writes it even when absent */
    enum zero_kind zero; /* the zero value written for an absent never-omitted field */
};

/* A schema node as normalisation sees it (the node a property resolves to). */
struct norm_node {
    const json_t *props_json; /* "properties" of a struct */
    bool is_struct, preserves_unknown;
    struct norm_prop *props; /* in the order of "properties" */
    size_t n_props;
    struct name_index index; /* of props */
    size_t n_required;
    enum norm_kind kind; /* not a struct: an array of items, a map of additionalProperties */
    const struct norm_node *elem;
    _Atomic(json_t *) zero; /* norm_struct of nothing: the kind's empty object, on first use */
    atomic_int zero_valid;  /* 1 when zero passed mf_validate, 0 not known */
};

struct ptr_slot {
    const void *key;
    int tag;
    void *val;
};

/* Open addressing from (node, tag) to a compiled thing; tags 0-3 are types (map_rel + 1). */
struct ptr_map {
    struct ptr_slot *slots;
    size_t cap, n;
};

#define TAG_NORM        10
#define TAG_FIELDS      11
#define TAG_FIELD_INDEX 12

struct mf_types {
    const json_t *defs;
    json_t *pin; /* a reference on defs (shared graphs only) */
    struct ptr_map map;
    void **allocs; /* everything allocated for the graph */
    size_t n_allocs, a_allocs;
    struct mf_types *next; /* in the shared list; set before publication, never changed */
};

static size_t ptr_hash(const void *key, int tag)
{
    uint64_t h = ((uint64_t)(uintptr_t)key ^ ((uint64_t)tag << 3)) * 0x9e3779b97f4a7c15ull;
    return (size_t)(h ^ (h >> 31));
}

static void *ptr_map_get(const struct ptr_map *m, const void *key, int tag)
{
    if (!m->cap || !key)
        return NULL;
    for (size_t i = ptr_hash(key, tag) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        const struct ptr_slot *s = &m->slots[i];
        if (!s->key)
            return NULL;
        if (s->key == key && s->tag == tag)
            return s->val;
    }
}

static void ptr_map_put(struct ptr_map *m, const void *key, int tag, void *val)
{
    if (2 * (m->n + 1) > m->cap) {
        struct ptr_map bigger = {.cap = m->cap ? 2 * m->cap : 512};
        bigger.slots = xcalloc(bigger.cap, sizeof(*bigger.slots));
        for (size_t i = 0; i < m->cap; i++)
            if (m->slots[i].key)
                ptr_map_put(&bigger, m->slots[i].key, m->slots[i].tag, m->slots[i].val);
        free(m->slots);
        *m = bigger;
    }
    size_t i = ptr_hash(key, tag) & (m->cap - 1);
    while (m->slots[i].key)
        i = (i + 1) & (m->cap - 1);
    m->slots[i] = (struct ptr_slot){key, tag, val};
    m->n++;
}

static void *types_alloc(struct mf_types *ts, size_t n, size_t size)
{
    if (ts->n_allocs == ts->a_allocs) {
        ts->a_allocs = ts->a_allocs ? 2 * ts->a_allocs : 256;
        ts->allocs = xrealloc(ts->allocs, ts->a_allocs * sizeof(*ts->allocs));
    }
    void *p = xcalloc(n ? n : 1, size);
    ts->allocs[ts->n_allocs++] = p;
    return p;
}

/* An index of n names (name(i, ctx) gives the i-th). */
static void name_index_build(struct mf_types *ts, struct name_index *ix, size_t n,
                             const char *(*name)(size_t, const void *), const void *ctx)
{
    size_t cap = 4;
    while (cap < 2 * n)
        cap *= 2;
    ix->slots = types_alloc(ts, cap, sizeof(*ix->slots));
    ix->mask = (uint32_t)(cap - 1);
    for (size_t i = 0; i < n; i++) {
        uint32_t h = name_hash(name(i, ctx)) & ix->mask;
        while (ix->slots[h])
            h = (h + 1) & ix->mask;
        ix->slots[h] = (uint32_t)i + 1;
    }
}

static void types_free(struct mf_types *ts)
{
    if (!ts)
        return;
    for (size_t i = 0; i < ts->map.cap; i++) { /* the norm nodes own their empty object */
        const struct ptr_slot *s = &ts->map.slots[i];
        if (s->key && s->tag == TAG_NORM)
            json_decref(atomic_load(&((struct norm_node *)s->val)->zero));
    }
    for (size_t i = 0; i < ts->n_allocs; i++)
        free(ts->allocs[i]);
    free(ts->allocs);
    free(ts->map.slots);
    json_decref(ts->pin);
    free(ts);
}

/* The work list of a build: nodes created but not filled in yet. */
struct build {
    struct mf_types *ts;
    struct {
        void *what;
        const json_t *node;
        int tag;
    } * todo;
    size_t n_todo, a_todo;
};

static void build_push(struct build *b, void *what, const json_t *node, int tag)
{
    if (b->n_todo == b->a_todo) {
        b->a_todo = b->a_todo ? 2 * b->a_todo : 64;
        b->todo = xrealloc(b->todo, b->a_todo * sizeof(*b->todo));
    }
    b->todo[b->n_todo].what = what;
    b->todo[b->n_todo].node = node;
    b->todo[b->n_todo].tag = tag;
    b->n_todo++;
}

static struct mf_type *type_get(struct build *b, const json_t *node, int map_rel)
{
    struct mf_type *t = ptr_map_get(&b->ts->map, node, map_rel + 1);
    if (t)
        return t;
    t = types_alloc(b->ts, 1, sizeof(*t));
    ptr_map_put(&b->ts->map, node, map_rel + 1, t);
    build_push(b, t, node, map_rel + 1);
    return t;
}

static void tref_link(struct build *b, struct mf_tref *tr)
{
    if (tr->kind == MF_T_SCHEMA && tr->node)
        tr->type = type_get(b, tr->node, tr->map_rel);
}

static int cmp_tfield(const void *a, const void *b)
{
    return strcmp(((const struct mf_tfield *)a)->name, ((const struct mf_tfield *)b)->name);
}

static const char *tfield_name(size_t i, const void *fields)
{
    return ((const struct mf_tfield *)fields)[i].name;
}

static int cmp_cstr(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The field table of a properties object, shared by every type with those properties. */
static struct mf_tfield *fields_get(struct build *b, const json_t *props, size_t *n_out)
{
    struct mf_tfield *f = ptr_map_get(&b->ts->map, props, TAG_FIELDS);
    *n_out = json_object_size(props);
    if (f)
        return f;
    f = types_alloc(b->ts, *n_out, sizeof(*f));
    ptr_map_put(&b->ts->map, props, TAG_FIELDS, f);
    size_t i = 0;
    const char *k;
    json_t *prop;
    json_object_foreach ((json_t *)props, k, prop) {
        f[i].name = k;
        f[i].tref = tref_of(prop);
        tref_link(b, &f[i].tref);
        i++;
    }
    qsort(f, *n_out, sizeof(*f), cmp_tfield);
    struct name_index *ix = types_alloc(b->ts, 1, sizeof(*ix));
    name_index_build(b->ts, ix, *n_out, tfield_name, f);
    ptr_map_put(&b->ts->map, props, TAG_FIELD_INDEX, ix);
    return f;
}

/* deduceAtom's three narrowings of forms[0]. */
static void type_forms(struct mf_type *t)
{
    t->forms[0].type = t;
    for (int i = 1; i < 4; i++)
        t->forms[i] = t->forms[0];
    t->forms[1].has_list = t->forms[1].has_map = false;
    t->forms[2].has_scalar = t->forms[2].has_map = false;
    t->forms[3].has_scalar = t->forms[3].has_list = false;
}

static void type_fill(struct build *b, struct mf_type *t, const json_t *node, int map_rel)
{
    struct mf_schema tmp = {.defs = b->ts->defs};
    struct mf_tref tr = {.kind = MF_T_SCHEMA, .node = node, .map_rel = map_rel};
    struct mf_atom *a = &t->forms[0];
    t->ok = resolve_uncached(&tmp, &tr, a) == 0;
    if (!t->ok)
        return; /* mf_resolve gives the empty atom and -1, as before */
    tref_link(b, &a->list_elem);
    tref_link(b, &a->map_elem);
    if (a->fields) {
        t->fields = fields_get(b, a->fields, &t->n_fields);
        t->field_index = ptr_map_get(&b->ts->map, a->fields, TAG_FIELD_INDEX);
    }
    const json_t *keys = a->list_keys;
    if (keys && (json_is_string(keys) || json_array_size(keys))) {
        size_t nk = json_is_string(keys) ? 1 : json_array_size(keys);
        t->key_sorted = types_alloc(b->ts, nk, sizeof(*t->key_sorted));
        for (size_t i = 0; i < nk; i++) {
            const char *name = json_is_string(keys) ? json_string_value(keys)
                                                    : json_string_value(json_array_get(keys, i));
            t->key_sorted[i] = name ? name : "";
        }
        qsort(t->key_sorted, nk, sizeof(*t->key_sorted), cmp_cstr);
        size_t u = 0;
        for (size_t i = 0; i < nk; i++)
            if (!u || strcmp(t->key_sorted[u - 1], t->key_sorted[i]))
                t->key_sorted[u++] = t->key_sorted[i];
        t->n_sorted = u;
    }
    type_forms(t);
}

static const json_t *resolve_def(const json_t *defs, const json_t *prop, const char **ref)
{
    *ref = json_string_value(json_object_get(prop, "$ref"));
    if (!*ref)
        return prop;
    const json_t *def = json_object_get(defs, *ref);
    return def ? def : prop;
}

static bool is_struct(const json_t *def)
{
    return json_is_object(json_object_get(def, "properties"));
}

/* The Go zero value encoding/json writes for a field that is never omitted. */
static enum zero_kind zero_kind_of(const char *ref, const json_t *def)
{
    const char *t = json_string_value(json_object_get(def, "type"));
    const char *format = json_string_value(json_object_get(def, "format"));
    if (!t)
        t = "";
    if (format && !strcmp(format, "int-or-string"))
        return ZERO_INT;
    if (format && !strcmp(format, "date-time"))
        return ZERO_NULL;
    if ((format && !strcmp(format, "quantity")) || (ref && !strcmp(ref, QUANTITY_DEF)))
        return ZERO_QUANTITY;
    if (!strcmp(t, "string"))
        return ZERO_STRING;
    if (!strcmp(t, "integer"))
        return ZERO_INT;
    if (!strcmp(t, "number"))
        return ZERO_REAL;
    if (!strcmp(t, "boolean"))
        return ZERO_FALSE;
    return ZERO_NULL;
}

static json_t *zero_value(enum zero_kind z)
{
    switch (z) {
    case ZERO_INT:
        return json_integer(0);
    case ZERO_STRING:
        return json_string("");
    case ZERO_QUANTITY:
        return json_string("0");
    case ZERO_REAL:
        return json_real(0);
    case ZERO_FALSE:
        return json_false();
    default:
        return json_null();
    }
}

static struct norm_node *norm_get(struct build *b, const json_t *def)
{
    struct norm_node *d = ptr_map_get(&b->ts->map, def, TAG_NORM);
    if (d)
        return d;
    d = types_alloc(b->ts, 1, sizeof(*d));
    atomic_init(&d->zero, NULL);
    atomic_init(&d->zero_valid, 0);
    ptr_map_put(&b->ts->map, def, TAG_NORM, d);
    build_push(b, d, def, TAG_NORM);
    return d;
}

static const char *norm_prop_name(size_t i, const void *props)
{
    return ((const struct norm_prop *)props)[i].key;
}

static void norm_fill(struct build *b, struct norm_node *d, const json_t *def)
{
    const json_t *defs = b->ts->defs;
    d->is_struct = is_struct(def);
    if (d->is_struct) {
        d->preserves_unknown = preserves_unknown(def);
        const json_t *props = json_object_get(def, "properties");
        d->props_json = props;
        d->n_props = json_object_size(props);
        d->props = types_alloc(b->ts, d->n_props, sizeof(*d->props));
        size_t i = 0;
        const char *key;
        json_t *prop;
        json_object_foreach ((json_t *)props, key, prop) {
            struct norm_prop *p = &d->props[i];
            const char *pref;
            const json_t *pdef = resolve_def(defs, prop, &pref);
            const char *omit = json_string_value(json_object_get(prop, "omit"));
            if (!omit)
                omit = pref && is_struct(pdef) ? "struct" : "empty";
            p->key = key;
            p->node = norm_get(b, pdef);
            p->omit = !strcmp(omit, "empty")    ? OMIT_EMPTY
                      : !strcmp(omit, "struct") ? OMIT_STRUCT
                      : !strcmp(omit, "never")  ? OMIT_NEVER
                                                : OMIT_OTHER;
            p->pdef_struct = is_struct(pdef);
            p->required = (p->omit == OMIT_STRUCT && p->pdef_struct) || p->omit == OMIT_NEVER;
            p->zero = zero_kind_of(pref, pdef);
            d->n_required += p->required;
            i++;
        }
        name_index_build(b->ts, &d->index, d->n_props, norm_prop_name, d->props);
        return;
    }
    const char *t = json_string_value(json_object_get(def, "type"));
    const json_t *items = json_object_get(def, "items");
    const json_t *ap = json_object_get(def, "additionalProperties");
    const char *ref;
    if (t && !strcmp(t, "array") && json_is_object(items)) {
        d->kind = NORM_ARRAY;
        d->elem = norm_get(b, resolve_def(defs, items, &ref));
    } else if (t && !strcmp(t, "object") && json_is_object(ap)) {
        d->kind = NORM_MAP;
        d->elem = norm_get(b, resolve_def(defs, ap, &ref));
    }
}

/* Compile every definition (as a root type and as normalisation rules) and all they reach. */
static struct mf_types *types_build(const json_t *defs)
{
    struct mf_types *ts = xcalloc(1, sizeof(*ts));
    ts->defs = defs;
    struct build b = {.ts = ts};
    const char *name;
    json_t *def;
    json_object_foreach ((json_t *)defs, name, def) {
        type_get(&b, def, -1);
        norm_get(&b, def);
    }
    while (b.n_todo) {
        b.n_todo--;
        void *what = b.todo[b.n_todo].what;
        const json_t *node = b.todo[b.n_todo].node;
        int tag = b.todo[b.n_todo].tag;
        if (tag == TAG_NORM)
            norm_fill(&b, what, node);
        else
            type_fill(&b, what, node, tag - 1);
    }
    free(b.todo);
    /* each field of a compiled struct type knows the normalisation rule of its property */
    for (size_t i = 0; i < ts->map.cap; i++) {
        const struct ptr_slot *slot = &ts->map.slots[i];
        if (!slot->key || slot->tag != TAG_NORM)
            continue;
        const struct norm_node *d = slot->val;
        struct mf_tfield *f =
            d->is_struct ? ptr_map_get(&ts->map, d->props_json, TAG_FIELDS) : NULL;
        const struct name_index *ix =
            f ? ptr_map_get(&ts->map, d->props_json, TAG_FIELD_INDEX) : NULL;
        for (size_t k = 0; ix && k < d->n_props; k++) {
            const char *key = d->props[k].key;
            for (uint32_t h = name_hash(key) & ix->mask; ix->slots[h]; h = (h + 1) & ix->mask) {
                struct mf_tfield *tf = &f[ix->slots[h] - 1];
                if (!strcmp(tf->name, key)) {
                    tf->nprop = &d->props[k];
                    tf->nnode = d;
                    break;
                }
            }
        }
    }
    return ts;
}

static pthread_mutex_t shared_lock = PTHREAD_MUTEX_INITIALIZER;
static _Atomic(struct mf_types *) shared_head;
static size_t shared_count; /* under shared_lock */

/* Every property name of the first shared graph, for mf_intern: built once under shared_lock,
   read without it. The names live in the pinned definitions. */
struct intern {
    const char **names;
    struct name_index index;
};
static _Atomic(struct intern *) interned;

static const char *intern_name(size_t i, const void *names)
{
    return ((const char *const *)names)[i];
}

static void intern_build(struct mf_types *ts)
{
    struct intern *in = types_alloc(ts, 1, sizeof(*in));
    size_t n = 0, cap = 0;
    for (size_t i = 0; i < ts->map.cap; i++) {
        const struct ptr_slot *slot = &ts->map.slots[i];
        if (slot->key && slot->tag == TAG_NORM)
            cap += ((const struct norm_node *)slot->val)->n_props;
    }
    in->names = types_alloc(ts, cap, sizeof(*in->names));
    for (size_t i = 0; i < ts->map.cap; i++) {
        const struct ptr_slot *slot = &ts->map.slots[i];
        if (!slot->key || slot->tag != TAG_NORM)
            continue;
        const struct norm_node *d = slot->val;
        for (size_t k = 0; k < d->n_props; k++)
            in->names[n++] = d->props[k].key;
    }
    qsort(in->names, n, sizeof(*in->names), cmp_cstr);
    size_t u = 0;
    for (size_t i = 0; i < n; i++)
        if (!u || strcmp(in->names[u - 1], in->names[i]))
            in->names[u++] = in->names[i];
    name_index_build(ts, &in->index, u, intern_name, in->names);
    atomic_store_explicit(&interned, in, memory_order_release);
}

const char *mf_intern(const char *s)
{
    const struct intern *in = atomic_load_explicit(&interned, memory_order_acquire);
    if (!in)
        return NULL;
    for (uint32_t h = name_hash(s) & in->index.mask;; h = (h + 1) & in->index.mask) {
        uint32_t i = in->index.slots[h];
        if (!i)
            return NULL;
        if (!strcmp(in->names[i - 1], s))
            return in->names[i - 1];
    }
}

static struct mf_types *types_of(const struct mf_schema *sc)
{
    if (sc->types)
        return sc->types;
    /* the compiled form is not part of the schema's value: filling it in keeps sc const */
    struct mf_schema *msc = (struct mf_schema *)sc;
    struct mf_types *ts;
    for (ts = atomic_load_explicit(&shared_head, memory_order_acquire); ts; ts = ts->next)
        if (ts->defs == sc->defs)
            return msc->types = ts;
    tree_arena_pause(); /* what is built here outlives the request that asks first */
    pthread_mutex_lock(&shared_lock);
    for (ts = atomic_load_explicit(&shared_head, memory_order_relaxed); ts; ts = ts->next)
        if (ts->defs == sc->defs)
            break;
    if (!ts && shared_count < MF_SHARED_TYPES) {
        ts = types_build(sc->defs);
        ts->pin = json_incref((json_t *)sc->defs);
        for (size_t i = 0; i < ts->map.cap; i++) {
            const struct ptr_slot *slot = &ts->map.slots[i];
            if (slot->key && slot->tag < TAG_NORM)
                ((struct mf_type *)slot->val)->shared = true;
        }
        if (!atomic_load_explicit(&interned, memory_order_relaxed))
            intern_build(ts);
        ts->next = atomic_load_explicit(&shared_head, memory_order_relaxed);
        atomic_store_explicit(&shared_head, ts, memory_order_release);
        shared_count++;
    }
    pthread_mutex_unlock(&shared_lock);
    if (!ts) {
        ts = types_build(sc->defs);
        msc->owns_types = true;
    }
    tree_arena_resume();
    return msc->types = ts;
}

void mf_schema_release(struct mf_schema *sc)
{
    if (sc->owns_types)
        types_free(sc->types);
    sc->types = NULL;
    sc->owns_types = false;
    while (sc->strays) {
        struct mf_type *t = sc->strays;
        sc->strays = t->next_stray;
        free(t);
    }
}

/* The types of the TypeRefs that name no schema node, the same for every graph. */
static pthread_once_t builtin_once = PTHREAD_ONCE_INIT;
static struct mf_type builtin_types[3]; /* MF_T_NONE, MF_T_UNTYPED, MF_T_DEDUCED */

static void builtin_build(void)
{
    static const enum mf_tref_kind kinds[] = {MF_T_NONE, MF_T_UNTYPED, MF_T_DEDUCED};
    for (size_t i = 0; i < 3; i++) {
        struct mf_tref tr = {.kind = kinds[i], .map_rel = -1};
        builtin_types[i].ok = resolve_uncached(NULL, &tr, &builtin_types[i].forms[0]) == 0;
        type_forms(&builtin_types[i]);
    }
}

/* schema.Resolve, compiled: the type of tr, never NULL (!ok when a $ref names nothing). */
static const struct mf_type *type_of(const struct mf_schema *sc, const struct mf_tref *tr)
{
    if (tr->type)
        return tr->type;
    if (tr->kind != MF_T_SCHEMA || !tr->node) {
        tree_arena_once(&builtin_once, builtin_build);
        return &builtin_types[tr->kind == MF_T_UNTYPED ? 1 : tr->kind == MF_T_DEDUCED ? 2 : 0];
    }
    const struct mf_type *t = ptr_map_get(&types_of(sc)->map, tr->node, tr->map_rel + 1);
    if (t)
        return t;
    /* a node outside the definitions: resolved the slow way, for this call (kept with the
       schema, which may outlive the request) */
    struct mf_type *st = xcalloc(1, sizeof(*st));
    tree_arena_pause();
    st->ok = resolve_uncached(sc, tr, &st->forms[0]) == 0;
    type_forms(st);
    tree_arena_resume();
    for (int i = 0; i < 4; i++)
        st->forms[i].type = NULL;
    struct mf_schema *msc = (struct mf_schema *)sc;
    st->next_stray = msc->strays;
    msc->strays = st;
    return st;
}

int mf_resolve(const struct mf_schema *sc, const struct mf_tref *tr, struct mf_atom *out)
{
    const struct mf_type *t = type_of(sc, tr);
    if (!t->ok) {
        memset(out, 0, sizeof(*out));
        return -1;
    }
    *out = t->forms[0];
    return 0;
}

/* The declared field name of a compiled struct type, or NULL. */
static const struct mf_tfield *field_find(const struct mf_type *t, const char *name)
{
    const struct name_index *ix = t->field_index;
    if (!ix)
        return NULL;
    for (uint32_t h = name_hash(name) & ix->mask;; h = (h + 1) & ix->mask) {
        uint32_t i = ix->slots[h];
        if (!i)
            return NULL;
        if (!strcmp(t->fields[i - 1].name, name))
            return &t->fields[i - 1];
    }
}

/* mf_atom_field, and in *shared the schema's own copy of name when a path element may point
   at it rather than copy it (mf_pe.shared_field), else NULL. */
static struct mf_tref atom_field(const struct mf_atom *a, const char *name, bool *declared,
                                 const char **shared)
{
    *shared = NULL;
    const struct mf_tfield *f = a->fields && a->type ? field_find(a->type, name) : NULL;
    if (!f)
        return mf_atom_field(a, name, declared);
    if (declared)
        *declared = true;
    if (a->type->shared)
        *shared = f->name;
    return f->tref;
}

struct mf_tref mf_atom_field(const struct mf_atom *a, const char *name, bool *declared)
{
    if (a->fields && a->type && a->type->field_index) {
        const struct mf_tfield *f = field_find(a->type, name);
        if (declared)
            *declared = f != NULL;
        return f ? f->tref : a->map_elem;
    }
    const json_t *prop = a->fields ? json_object_get(a->fields, name) : NULL;
    if (declared)
        *declared = prop != NULL;
    if (prop)
        return tref_of(prop);
    return a->map_elem;
}

/* The root's definition, or NULL; looked up once per schema (the walks all start there). */
static const json_t *root_def(const struct mf_schema *sc)
{
    const char *root = sc->root ? sc->root : "";
    if (sc->looked_up != root) {
        struct mf_schema *msc = (struct mf_schema *)sc; /* a cache, as types_of's */
        msc->root_def = json_object_get(sc->defs, root);
        msc->looked_up = root;
    }
    return sc->root_def;
}

struct mf_tref mf_root_tref(const struct mf_schema *sc)
{
    const json_t *def = root_def(sc);
    if (!def)
        return (struct mf_tref){.kind = MF_T_NONE, .map_rel = -1};
    return (struct mf_tref){.kind = MF_T_SCHEMA,
                            .node = def,
                            .map_rel = -1,
                            .type = ptr_map_get(&types_of(sc)->map, def, 0)};
}

/* ---- a hidden metadata.managedFields (mf_schema.hidden_meta) ---- */

#define HIDDEN_KEY "managedFields"

/* Whether key k of o, met at depth (the walk's path length), is the hidden one: hide is the
   root's metadata object, whose keys are met at depth 1. */
static bool hidden(const json_t *hide, const json_t *o, size_t depth, const char *k)
{
    return hide && o == hide && depth == 1 && !strcmp(k, HIDDEN_KEY);
}

/* json_object_get and json_object_size of o as the walk sees it. */
static const json_t *field_get(const json_t *hide, const json_t *o, size_t depth, const char *k)
{
    return hidden(hide, o, depth, k) ? NULL : json_object_get(o, k);
}

static size_t object_size(const json_t *hide, const json_t *o, size_t depth)
{
    size_t n = json_object_size(o);
    return hide && o == hide && depth == 1 && json_object_get(o, HIDDEN_KEY) ? n - 1 : n;
}

bool mf_can_hide_managed_fields(const struct mf_schema *sc)
{
    struct mf_tref root = mf_root_tref(sc);
    const struct mf_type *t = root.type;
    if (!t || !t->ok || !t->forms[3].has_map || t->forms[3].map_rel == MF_REL_ATOMIC)
        return false;
    bool declared;
    struct mf_tref meta = mf_atom_field(&t->forms[3], "metadata", &declared);
    const struct mf_type *m = meta.type;
    return declared && m && m->ok && m->forms[3].has_map && m->forms[3].map_rel != MF_REL_ATOMIC;
}

/* The normalisation rules of the root definition, or NULL when it is not a struct. */
static const struct norm_node *root_norm(const struct mf_schema *sc)
{
    const json_t *def = root_def(sc);
    if (!def)
        return NULL;
    const struct norm_node *d = ptr_map_get(&types_of(sc)->map, def, TAG_NORM);
    return d && d->is_struct ? d : NULL;
}

static const char *tref_name(const struct mf_tref *tr)
{
    const char *ref = tr->node ? json_string_value(json_object_get(tr->node, "$ref")) : NULL;
    return ref ? ref : "inlined type";
}

/* deduceAtom: narrow a multi-form atom to the form of the value (t->ok). */
static const struct mf_atom *deduce(const struct mf_type *t, const json_t *v)
{
    const struct mf_atom *a = &t->forms[0];
    if (!v)
        return a;
    if ((json_is_string(v) || json_is_number(v) || json_is_boolean(v)) && a->has_scalar)
        return &t->forms[1];
    if (json_is_array(v) && a->has_list)
        return &t->forms[2];
    if (json_is_object(v) && a->has_map)
        return &t->forms[3];
    return a;
}

static bool atoms_equal(const struct mf_atom *a, const struct mf_atom *b)
{
    return a->has_scalar == b->has_scalar && a->has_list == b->has_list && a->has_map == b->has_map;
}

/* validateScalar: 0, or -1 with the error text in *msg (caller frees). */
static int check_scalar(enum mf_scalar t, const json_t *v, const char *prefix, char **msg)
{
    *msg = NULL;
    if (!v || json_is_null(v))
        return 0;
    switch (t) {
    case MF_SC_NUMERIC:
        if (!json_is_number(v)) {
            *msg = xasprintf("%sexpected numeric (int or float), got %s", prefix, go_type_of(v));
            return -1;
        }
        return 0;
    case MF_SC_STRING:
        if (!json_is_string(v)) {
            struct strbuf sb;
            strbuf_init(&sb, STRBUF_NO_LIMIT);
            go_v(&sb, v, 0);
            *msg = xasprintf("%sexpected string, got &value.valueUnstructured{Value:%s}", prefix,
                             strbuf_str(&sb));
            strbuf_release(&sb);
            return -1;
        }
        return 0;
    case MF_SC_BOOLEAN:
        if (!json_is_boolean(v)) {
            char *h = holder_text(v);
            *msg = xasprintf("%sexpected boolean, got %s", prefix, h);
            free(h);
            return -1;
        }
        return 0;
    default:
        if (!json_is_string(v) && !json_is_number(v) && !json_is_boolean(v)) {
            char *h = holder_text(v);
            *msg = xasprintf("%sexpected any scalar, got %s", prefix, h);
            free(h);
            return -1;
        }
        return 0;
    }
}

/* listItemToPathElement: 0 with *pe (key owned by the caller via pe_free_key), or -1 with *msg. */
static int item_pe(const struct mf_schema *sc, const struct mf_atom *list, const json_t *child,
                   struct mf_pe *pe, char **msg)
{
    struct mf_pe unused; /* pe NULL: only whether child has an element, and the error */
    bool keep = pe != NULL;
    if (!pe)
        pe = &unused;
    memset(pe, 0, sizeof(*pe));
    *msg = NULL;
    if (list->list_rel != MF_REL_ASSOCIATIVE) {
        *msg = xstrdup("invalid indexing of non-associative list");
        return -1;
    }
    const json_t *keys = list->list_keys;
    if (keys && (json_is_string(keys) || json_array_size(keys))) {
        if (json_is_null(child)) {
            *msg = xstrdup("associative list with keys may not have a null element");
            return -1;
        }
        if (!json_is_object(child)) {
            *msg = xstrdup("associative list with keys may not have non-map elements");
            return -1;
        }
        const struct mf_type *t = list->type;
        if (!keep && t && t->key_sorted && t->forms[0].list_keys == keys) {
            size_t i = 0; /* only asked whether it has one: when every key is there, it has */
            while (i < t->n_sorted && json_object_get(child, t->key_sorted[i]))
                i++;
            if (i == t->n_sorted)
                return 0;
        }
        if (t && t->key_sorted && t->forms[0].list_keys == keys) {
            /* every key present (the usual case): the element in sorted key order at once */
            json_t *sorted = json_object();
            size_t i = 0;
            for (; i < t->n_sorted; i++) {
                json_t *v = json_object_get(child, t->key_sorted[i]);
                if (!v)
                    break;
                json_object_set_nocheck(sorted, t->key_sorted[i], v);
            }
            if (i == t->n_sorted) {
                pe->kind = MF_PE_KEY;
                pe->key = sorted;
                goto done;
            }
            json_decref(sorted); /* a key is missing: defaults and errors as below */
        }
        size_t nk = json_is_string(keys) ? 1 : json_array_size(keys);
        const char **names = xmalloc(nk * sizeof(*names));
        for (size_t i = 0; i < nk; i++)
            names[i] = json_is_string(keys) ? json_string_value(keys)
                                            : json_string_value(json_array_get(keys, i));
        json_t *found = json_object();
        for (size_t i = 0; i < nk; i++) {
            const char *name = names[i] ? names[i] : "";
            json_t *v = json_object_get(child, name);
            if (v) {
                json_object_set(found, name, v);
                continue;
            }
            struct mf_atom elem;
            if (mf_resolve(sc, &list->list_elem, &elem)) {
                *msg = xasprintf("couldn't find default value for %s: invalid elementType for list",
                                 name);
            } else if (!elem.has_map) {
                *msg = xasprintf("couldn't find default value for %s: associative list may not "
                                 "have non-map types",
                                 name);
            } else {
                const json_t *prop = elem.fields ? json_object_get(elem.fields, name) : NULL;
                const json_t *def = json_object_get(prop, "default");
                if (def && !json_is_null(def)) {
                    /* a copy: the definitions are shared by every thread, and even a reference
                       count is a write */
                    json_object_set_new(found, name, json_deep_copy(def));
                    continue;
                }
                struct strbuf q;
                strbuf_init(&q, STRBUF_NO_LIMIT);
                mf_go_quote(&q, name);
                *msg = xasprintf("associative list with keys has an element that omits key field "
                                 "%s (and doesn't have default value)",
                                 strbuf_str(&q));
                strbuf_release(&q);
            }
            free(names);
            json_decref(found);
            return -1;
        }
        free(names);
        /* FieldList.Sort */
        json_t *sorted = json_object();
        while (json_object_size(found)) {
            const char *min = NULL, *k;
            json_t *v;
            json_object_foreach (found, k, v) {
                if (!min || strcmp(k, min) < 0)
                    min = k;
            }
            json_object_set(sorted, min, json_object_get(found, min));
            json_object_del(found, min);
        }
        json_decref(found);
        pe->kind = MF_PE_KEY;
        pe->key = sorted;
        goto done;
    }
    if (json_is_object(child)) {
        *msg = xstrdup("associative list without keys has an element that's a map type");
        return -1;
    }
    if (json_is_array(child)) {
        *msg = xstrdup("not supported: associative list with lists as elements");
        return -1;
    }
    if (json_is_null(child)) {
        *msg = xstrdup("associative list without keys has an element that's an explicit null");
        return -1;
    }
    pe->kind = MF_PE_VALUE;
    pe->value = json_incref((json_t *)child);
done:
    if (!keep)
        mf_pe_release(pe);
    return 0;
}

/* ---- a small map from path elements to values (fieldpath.PathElementValueMap) -------------- */

struct pe_map_ent {
    struct mf_pe pe; /* owned */
    json_t **vals;   /* borrowed values */
    size_t n, alloc;
};

struct pe_map {
    struct pe_map_ent *ents; /* in insertion order */
    size_t n, alloc;
    size_t *sorted; /* indexes of ents in element order */
};

static void pe_map_release(struct pe_map *m)
{
    for (size_t i = 0; i < m->n; i++) {
        mf_pe_release(&m->ents[i].pe);
        free(m->ents[i].vals);
    }
    free(m->ents);
    free(m->sorted);
    memset(m, 0, sizeof(*m));
}

static size_t pe_map_search(const struct pe_map *m, const struct mf_pe *pe, bool *found)
{
    size_t lo = 0, hi = m->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (mf_pe_compare(&m->ents[m->sorted[mid]].pe, pe) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = lo < m->n && !mf_pe_compare(&m->ents[m->sorted[lo]].pe, pe);
    return lo;
}

static struct pe_map_ent *pe_map_get(const struct pe_map *m, const struct mf_pe *pe)
{
    bool found;
    size_t at = pe_map_search(m, pe, &found);
    return found ? &m->ents[m->sorted[at]] : NULL;
}

/* The entry of pe, created (with a copy of pe) when missing. */
static struct pe_map_ent *pe_map_add(struct pe_map *m, const struct mf_pe *pe, bool *created)
{
    bool found;
    size_t at = pe_map_search(m, pe, &found);
    *created = !found;
    if (found)
        return &m->ents[m->sorted[at]];
    if (m->n == m->alloc) {
        m->alloc = m->alloc ? 2 * m->alloc : 8;
        m->ents = xrealloc(m->ents, m->alloc * sizeof(*m->ents));
        m->sorted = xrealloc(m->sorted, m->alloc * sizeof(*m->sorted));
    }
    struct pe_map_ent *e = &m->ents[m->n];
    memset(e, 0, sizeof(*e));
    mf_pe_copy(&e->pe, pe);
    memmove(&m->sorted[at + 1], &m->sorted[at], (m->n - at) * sizeof(*m->sorted));
    m->sorted[at] = m->n;
    m->n++;
    return e;
}

static void pe_ent_push(struct pe_map_ent *e, json_t *v)
{
    if (e->n == e->alloc) {
        e->alloc = e->alloc ? 2 * e->alloc : 2;
        e->vals = xrealloc(e->vals, e->alloc * sizeof(*e->vals));
    }
    e->vals[e->n++] = v;
}

/* ---- normalisation (what a Go struct holds) ------------------------------------------------ */

static const struct norm_prop *norm_prop_find(const struct norm_node *d, const char *key)
{
    if (!d->n_props)
        return NULL;
    for (uint32_t h = name_hash(key) & d->index.mask;; h = (h + 1) & d->index.mask) {
        uint32_t i = d->index.slots[h];
        if (!i)
            return NULL;
        if (!strcmp(d->props[i - 1].key, key))
            return &d->props[i - 1];
    }
}

static json_t *norm(const struct norm_node *d, const json_t *v, int depth);

/* d is a struct; v an object, or NULL for the zero struct. */
static json_t *norm_struct(const struct norm_node *d, const json_t *v, int depth)
{
    json_t *out = json_object();
    for (size_t i = 0; i < d->n_props; i++) {
        const struct norm_prop *p = &d->props[i];
        const json_t *in = v ? json_object_get(v, p->key) : NULL;
        json_t *val = NULL;
        if (in && !json_is_null(in))
            val = norm(p->node, in, depth + 1);
        else if (p->omit == OMIT_STRUCT && p->pdef_struct && depth < MF_MAX_DEPTH)
            val = norm_struct(p->node, NULL, depth + 1);
        if (!val) {
            if (p->omit == OMIT_NEVER)
                json_object_set_new_nocheck(out, p->key, zero_value(p->zero));
            continue;
        }
        if (p->omit == OMIT_EMPTY && ju_go_empty(val)) {
            json_decref(val);
            continue;
        }
        json_object_set_new_nocheck(out, p->key, val);
    }
    if (d->preserves_unknown) {
        const char *key;
        json_t *in;
        MF_OBJECT_FOREACH(v, it_, key, in)
        {
            if (!norm_prop_find(d, key))
                json_object_set(out, key, in);
        }
    }
    return out;
}

/* d: the rules of the node a property resolves to. */
static json_t *norm(const struct norm_node *d, const json_t *v, int depth)
{
    if (!v || json_is_null(v))
        return NULL;
    if (depth > MF_MAX_DEPTH)
        return json_incref((json_t *)v);
    if (d->is_struct)
        return json_is_object(v) ? norm_struct(d, v, depth) : json_incref((json_t *)v);
    if (d->kind == NORM_ARRAY && json_is_array(v)) {
        json_t *out = json_array();
        for (size_t i = 0; i < json_array_size(v); i++) {
            json_t *e = norm(d->elem, json_array_get(v, i), depth + 1);
            json_array_append_new(out, e ? e : json_null());
        }
        return out;
    }
    if (d->kind == NORM_MAP && json_is_object(v)) {
        json_t *out = json_object();
        const char *k;
        json_t *e;
        json_object_foreach ((json_t *)v, k, e) {
            json_t *n = norm(d->elem, e, depth + 1);
            json_object_set_new(out, k, n ? n : json_null());
        }
        return out;
    }
    return json_incref((json_t *)v);
}

json_t *mf_normalize(const struct mf_schema *sc, const json_t *obj)
{
    const struct norm_node *d = root_norm(sc);
    if (!d || !json_is_object(obj))
        return json_incref((json_t *)obj);
    return norm_struct(d, obj, 0);
}

/* Whether norm(d, v) would equal v but for key order (v not null). */
static bool normal(const struct norm_node *d, const json_t *v, int depth);

static bool normal_struct(const struct norm_node *d, const json_t *v, int depth)
{
    if (depth >= NORM_CHECK_DEPTH)
        return false;
    size_t required = 0;
    const char *key;
    json_t *in;
    MF_OBJECT_FOREACH(v, it_, key, in)
    {
        const struct norm_prop *p = norm_prop_find(d, key);
        if (!p) {
            if (!d->preserves_unknown)
                return false; /* dropped */
            continue;
        }
        if (json_is_null(in)) {
            /* written back only as a null zero value; dropped or made a struct otherwise */
            if (p->omit != OMIT_NEVER || p->zero != ZERO_NULL)
                return false;
        } else if ((p->omit == OMIT_EMPTY && ju_go_empty(in)) || !normal(p->node, in, depth + 1)) {
            return false;
        }
        required += p->required;
    }
    return required == d->n_required; /* else an absent field would be written */
}

static bool normal(const struct norm_node *d, const json_t *v, int depth)
{
    if (depth >= NORM_CHECK_DEPTH)
        return false;
    if (d->is_struct)
        return !json_is_object(v) || normal_struct(d, v, depth);
    if (d->kind == NORM_ARRAY && json_is_array(v)) {
        for (size_t i = 0; i < json_array_size(v); i++) {
            const json_t *e = json_array_get(v, i);
            if (!json_is_null(e) && !normal(d->elem, e, depth + 1))
                return false;
        }
    } else if (d->kind == NORM_MAP && json_is_object(v)) {
        for (void *it = json_object_iter((json_t *)v); it;
             it = json_object_iter_next((json_t *)v, it)) {
            const json_t *e = json_object_iter_value(it);
            if (!json_is_null(e) && !normal(d->elem, e, depth + 1))
                return false;
        }
    }
    return true;
}

bool mf_normalizes(const struct mf_schema *sc, const json_t *obj)
{
    return root_norm(sc) && json_is_object(obj);
}

bool mf_is_normal(const struct mf_schema *sc, const json_t *obj)
{
    const struct norm_node *d = root_norm(sc);
    if (!d || !json_is_object(obj))
        return true;
    return normal_struct(d, obj, 0);
}

const json_t *mf_zero_shared(const struct mf_schema *sc)
{
    struct norm_node *d = (struct norm_node *)root_norm(sc);
    if (!d)
        return NULL;
    json_t *z = atomic_load_explicit(&d->zero, memory_order_acquire);
    if (z)
        return z;
    tree_arena_pause(); /* shared by every request from now on */
    json_t *mine = norm_struct(d, NULL, 0), *none = NULL;
    tree_arena_resume();
    if (atomic_compare_exchange_strong(&d->zero, &none, mine))
        return mine;
    json_decref(mine); /* another thread was first */
    return none;
}

json_t *mf_zero_object(const struct mf_schema *sc)
{
    const json_t *z = mf_zero_shared(sc);
    return z ? json_deep_copy(z) : json_object();
}

/* ---- validation (typed.AsTyped) ----------------------------------------------------------------
 */

struct vctx {
    const struct mf_schema *sc;
    const json_t *hide; /* metadata whose managedFields are left out (mf_compare_checked) */
    bool allow_duplicates;
    bool normal; /* nothing seen yet that mf_normalize would change (see validate) */
    struct mf_errs *errs;
    struct walk_path path;
};

static void validate(struct vctx *c, const struct mf_tref *tr, const json_t *v,
                     const struct norm_node *nd);

static void push_path(struct walk_path *p, const struct mf_pe *pe)
{
    p->gen[p->n] = ++p->pushes;
    p->items[p->n++] = pe;
}

static void validate_list(struct vctx *c, const struct mf_atom *a, const json_t *v,
                          const struct norm_node *nd)
{
    /* normalisation goes into the items of an array it has rules for */
    const struct norm_node *ed = nd && !nd->is_struct && nd->kind == NORM_ARRAY ? nd->elem : NULL;
    if (json_is_null(v))
        return;
    if (!json_is_array(v)) {
        char *h = holder_text(v);
        errf(c->errs, &c->path, "expected list, got %s", h);
        free(h);
        return;
    }
    struct pe_map seen = {0};
    for (size_t i = 0; i < json_array_size(v); i++) {
        json_t *child = json_array_get(v, i);
        struct mf_pe pe = {.kind = MF_PE_INDEX, .index = (long)i};
        /* With duplicates allowed, the element itself is only needed to name the item in the
           errors below it: it is built only when there are some, and the item walked again. */
        size_t before = c->errs->n;
        if (a->list_rel == MF_REL_ASSOCIATIVE && c->allow_duplicates) {
            char *msg;
            if (item_pe(c->sc, a, child, NULL, &msg)) {
                errf(c->errs, &c->path, "element %zu: %s", i, msg);
                free(msg);
                break;
            }
            push_path(&c->path, &pe);
            validate(c, &a->list_elem, child, ed && !json_is_null(child) ? ed : NULL);
            c->path.n--;
            if (c->errs->n == before)
                continue;
            while (c->errs->n > before)
                free(c->errs->items[--c->errs->n]);
        }
        if (a->list_rel == MF_REL_ASSOCIATIVE) {
            char *msg;
            if (item_pe(c->sc, a, child, &pe, &msg)) {
                errf(c->errs, &c->path, "element %zu: %s", i, msg);
                free(msg);
                break;
            }
            bool created = true;
            if (!c->allow_duplicates) /* nothing to find out otherwise */
                pe_map_add(&seen, &pe, &created);
            if (!created) {
                struct strbuf sb;
                strbuf_init(&sb, STRBUF_NO_LIMIT);
                mf_pe_append_string(&sb, &pe);
                errf(c->errs, &c->path, "duplicate entries for key %s", strbuf_str(&sb));
                strbuf_release(&sb);
            }
        }
        push_path(&c->path, &pe);
        validate(c, &a->list_elem, child, ed && !json_is_null(child) ? ed : NULL);
        c->path.n--;
        mf_pe_release(&pe);
    }
    pe_map_release(&seen);
}

/* normal_struct's rule for one key of a struct, as validate_map meets it: the rules for its
   value (NULL when normalisation does not look into it); c->normal goes false when the key
   would be dropped or changed, *required counts the fields normalisation always writes. */
static const struct norm_node *normal_key(bool *normal, const struct norm_node *sd,
                                          const struct mf_tfield *f, const char *k, const json_t *e,
                                          size_t *required)
{
    const struct norm_prop *p = f && f->nnode == sd ? f->nprop : norm_prop_find(sd, k);
    if (!p) {
        if (!sd->preserves_unknown)
            *normal = false; /* dropped */
        return NULL;
    }
    *required += p->required;
    if (json_is_null(e)) {
        if (p->omit != OMIT_NEVER || p->zero != ZERO_NULL)
            *normal = false; /* dropped, or made a struct */
        return NULL;
    }
    if (p->omit == OMIT_EMPTY && ju_go_empty(e))
        *normal = false; /* dropped */
    return p->node;
}

/* The schema's view of key k of a struct or map atom: its field (NULL when the atom has none of
   that name), whether the key is declared, and the type of its value. */
struct key_type {
    const struct mf_tfield *f;
    bool declared;
    struct mf_tref tr;
};

static struct key_type key_type(const struct mf_atom *a, const char *k)
{
    struct key_type kt = {.f = a->fields && a->type ? field_find(a->type, k) : NULL};
    if (kt.f) {
        kt.declared = true;
        kt.tr = kt.f->tref;
    } else {
        kt.tr = mf_atom_field(a, k, &kt.declared);
    }
    return kt;
}

/* The path element of key k: the schema's own copy of the name when the type shares it. */
static struct mf_pe key_pe(const struct mf_atom *a, const struct key_type *kt, const char *k)
{
    const char *name = kt->f && a->type->shared ? kt->f->name : NULL;
    return (struct mf_pe){
        .kind = MF_PE_FIELD, .field = name ? name : k, .shared_field = name != NULL};
}

static void validate_map(struct vctx *c, const struct mf_atom *a, const json_t *v,
                         const struct norm_node *nd)
{
    if (json_is_null(v))
        return;
    if (!json_is_object(v)) {
        char *h = holder_text(v);
        errf(c->errs, &c->path, "expected map, got %s", h);
        free(h);
        return;
    }
    /* normalisation's rules for the keys: those of a struct, or one for every value of a map */
    const struct norm_node *sd = nd && nd->is_struct ? nd : NULL;
    const struct norm_node *md = nd && !nd->is_struct && nd->kind == NORM_MAP ? nd->elem : NULL;
    size_t required = 0;
    const char *k;
    json_t *e;
    MF_OBJECT_FOREACH(v, it_, k, e)
    {
        if (hidden(c->hide, v, c->path.n, k))
            continue;
        struct key_type kt = key_type(a, k);
        const struct mf_tfield *f = kt.f;
        struct mf_pe pe = {.kind = MF_PE_FIELD, .field = k};
        push_path(&c->path, &pe);
        if (!kt.declared && kt.tr.kind == MF_T_NONE) {
            errf(c->errs, &c->path, "field not declared in schema");
            c->path.n--;
            break; /* upstream stops at the first unknown field of a map */
        }
        const struct norm_node *cd = NULL;
        if (sd)
            cd = normal_key(&c->normal, sd, f, k, e, &required);
        else if (md && !json_is_null(e))
            cd = md;
        validate(c, &kt.tr, e, c->normal ? cd : NULL);
        c->path.n--;
    }
    if (sd && required != sd->n_required)
        c->normal = false; /* an absent field would be written */
}

/* How deep v nests below itself (0 for a scalar or an empty container), counted up to limit. */
static size_t nesting(const json_t *v, size_t limit)
{
    size_t deepest = 0;
    if (!limit)
        return 0;
    if (json_is_array(v)) {
        for (size_t i = 0; i < json_array_size(v) && deepest < limit; i++) {
            size_t d = 1 + nesting(json_array_get(v, i), limit - 1);
            deepest = d > deepest ? d : deepest;
        }
    } else if (json_is_object(v)) {
        for (void *it = json_object_iter((json_t *)v); it;
             it = json_object_iter_next((json_t *)v, it)) {
            size_t d = 1 + nesting(json_object_iter_value(it), limit - 1);
            deepest = d > deepest ? d : deepest;
            if (deepest >= limit)
                break;
        }
    }
    return deepest;
}

/* typed.AsTyped's walk. With nd (the normalisation rules of v, which is not null), it also
   finds out, as normal() would, whether mf_normalize leaves v as it is: c->normal goes false
   when not. Where the walk is cut short by an error, what it says about c->normal is moot. */
static void validate(struct vctx *c, const struct mf_tref *tr, const json_t *v,
                     const struct norm_node *nd)
{
    if (nd && c->path.n >= NORM_CHECK_DEPTH) {
        c->normal = false;
        nd = NULL;
    }
    if (c->path.n >= MF_MAX_DEPTH) {
        errf(c->errs, &c->path, "value nests too deeply");
        return;
    }
    const struct mf_type *t = type_of(c->sc, tr);
    if (!t->ok) {
        errf(c->errs, &c->path, "schema error: no type found matching: %s", tref_name(tr));
        return;
    }
    /* An untyped or deduced value takes any scalar, list or map, all the way down: the only
       error it can give is nesting too deeply, so when it cannot, there is nothing to walk. */
    if ((t == &builtin_types[1] || t == &builtin_types[2]) &&
        c->path.n + nesting(v, MF_MAX_DEPTH) < MF_MAX_DEPTH) {
        if (nd && !normal(nd, v, (int)c->path.n))
            c->normal = false;
        return;
    }
    const struct mf_atom *a = deduce(t, v);
    if (a->has_map) {
        validate_map(c, a, v, nd);
    } else if (a->has_scalar) {
        char *msg;
        if (check_scalar(a->scalar, v, "", &msg)) {
            errf(c->errs, &c->path, "%s", msg);
            free(msg);
        }
    } else if (a->has_list) {
        validate_list(c, a, v, nd);
    } else {
        errf(c->errs, &c->path, "schema error: invalid atom: inlined");
    }
}

int mf_validate(const struct mf_schema *sc, const json_t *v, bool allow_duplicates,
                struct mf_errs *errs)
{
    struct vctx c; /* large: only what is read is set */
    c.sc = sc;
    c.hide = NULL;
    c.allow_duplicates = allow_duplicates;
    c.normal = true;
    c.errs = errs;
    c.path.n = c.path.pushes = 0;
    size_t before = errs->n;
    struct mf_tref root = mf_root_tref(sc);
    if (root.kind == MF_T_NONE) {
        errs_push(errs,
                  xasprintf("schema error: no type found matching: %s", sc->root ? sc->root : ""));
        return -1;
    }
    /* the kind's shared empty object is the same every time: validated once */
    struct norm_node *zd = v && allow_duplicates ? (struct norm_node *)root_norm(sc) : NULL;
    bool zero = zd && v == atomic_load_explicit(&zd->zero, memory_order_acquire);
    if (zero && atomic_load_explicit(&zd->zero_valid, memory_order_acquire))
        return 0;
    validate(&c, &root, v, NULL);
    if (zero && errs->n == before)
        atomic_store_explicit(&zd->zero_valid, 1, memory_order_release);
    return errs->n > before ? -1 : 0;
}

/* ---- ToFieldSet -------------------------------------------------------------------------------
 */

struct fsctx {
    const struct mf_schema *sc;
    struct mf_set *set;
    struct walk_path path;
    struct set_cursor cur; /* into set */
    bool failed;
};

static void to_fs(struct fsctx *c, const struct mf_tref *tr, const json_t *v);

static void to_fs_list(struct fsctx *c, const struct mf_atom *a, const json_t *v)
{
    if (a->list_rel == MF_REL_ATOMIC) {
        cursor_insert(&c->cur, &c->path);
        return;
    }
    if (!json_is_array(v))
        return;
    size_t n = json_array_size(v);
    struct mf_pe *pes = xcalloc(n ? n : 1, sizeof(*pes));
    bool *ok = xcalloc(n ? n : 1, sizeof(*ok));
    struct pe_map seen = {0}, dups = {0};
    for (size_t i = 0; i < n; i++) {
        char *msg;
        if (item_pe(c->sc, a, json_array_get(v, i), &pes[i], &msg)) {
            free(msg);
            continue; /* upstream carries on with an empty element; valid input never gets here */
        }
        ok[i] = true;
        bool created;
        pe_map_add(&seen, &pes[i], &created);
        if (!created) {
            pe_map_add(&dups, &pes[i], &created);
            if (created) {
                push_path(&c->path, &pes[i]);
                cursor_insert(&c->cur, &c->path);
                c->path.n--;
            }
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (!ok[i] || pe_map_get(&dups, &pes[i]))
            continue;
        push_path(&c->path, &pes[i]);
        to_fs(c, &a->list_elem, json_array_get(v, i));
        cursor_insert(&c->cur, &c->path);
        c->path.n--;
    }
    for (size_t i = 0; i < n; i++)
        if (ok[i])
            mf_pe_release(&pes[i]);
    free(pes);
    free(ok);
    pe_map_release(&seen);
    pe_map_release(&dups);
}

static void to_fs_map(struct fsctx *c, const struct mf_atom *a, const json_t *v)
{
    if (a->map_rel == MF_REL_ATOMIC) {
        cursor_insert(&c->cur, &c->path);
        return;
    }
    if (!json_is_object(v))
        return;
    const char *k;
    json_t *e;
    json_object_foreach ((json_t *)v, k, e) {
        bool declared;
        const char *name;
        struct mf_tref tr = atom_field(a, k, &declared, &name);
        struct mf_pe pe = {
            .kind = MF_PE_FIELD, .field = name ? name : k, .shared_field = name != NULL};
        push_path(&c->path, &pe);
        to_fs(c, &tr, e);
        if (json_is_null(e) || (json_is_object(e) && !json_object_size(e)) || !declared)
            cursor_insert(&c->cur, &c->path);
        c->path.n--;
    }
}

static void to_fs(struct fsctx *c, const struct mf_tref *tr, const json_t *v)
{
    const struct mf_type *t = c->path.n >= MF_MAX_DEPTH ? NULL : type_of(c->sc, tr);
    if (!t || !t->ok) {
        c->failed = true;
        return;
    }
    const struct mf_atom *a = deduce(t, v);
    if (a->has_map)
        to_fs_map(c, a, v);
    else if (a->has_scalar)
        cursor_insert(&c->cur, &c->path);
    else if (a->has_list)
        to_fs_list(c, a, v);
    else
        c->failed = true;
}

struct mf_set *mf_to_field_set(const struct mf_schema *sc, const json_t *v)
{
    struct fsctx c; /* large: only what is read is set */
    c.sc = sc;
    c.set = c.cur.set = mf_set_new();
    c.path.n = c.path.pushes = c.cur.depth = 0;
    c.failed = false;
    struct mf_tref root = mf_root_tref(sc);
    to_fs(&c, &root, v);
    if (c.failed) {
        mf_set_free(c.set);
        return NULL;
    }
    return c.set;
}

/* ---- Compare
 * ------------------------------------------------------------------------------------- */

struct cctx {
    const struct mf_schema *sc;
    struct mf_comparison *cmp;
    struct mf_errs *errs;
    struct walk_path path;
    struct set_cursor added, removed, modified; /* into cmp's sets */
    bool unfit; /* mf_compare_checked: a side would not pass mf_validate, or is not normal */
};

/* mf_compare_checked's duty towards one side of a walk: to find out whether it passes
   mf_validate (duplicates allowed) and whether mf_normalize leaves it alone (nd: its rules),
   as validate() would, while the comparison walks it. Off (check false) in mf_compare. */
struct side {
    bool check;
    const struct norm_node *nd;
};

static const struct side no_side = {false, NULL};

struct cframe {
    const json_t *lhs, *rhs;
    bool in_leaf;
};

static void compare(struct cctx *c, const struct mf_tref *tr, const json_t *lhs, const json_t *rhs,
                    struct side sl, struct side sr);

/* validate() where the comparison does not go: v (not NULL) at the current path, plus pe when
   given, as a value of type tr, or, with tr NULL, already narrowed to a (a map or a list). */
static void check_apart(struct cctx *c, const struct mf_tref *tr, const struct mf_atom *a,
                        const struct mf_pe *pe, const json_t *v, const struct norm_node *nd,
                        const json_t *hide)
{
    struct vctx vc;
    struct mf_errs errs = {0};
    vc.sc = c->sc;
    vc.hide = hide;
    vc.allow_duplicates = true;
    vc.normal = true;
    vc.errs = &errs;
    vc.path.n = c->path.n;
    vc.path.pushes = c->path.pushes;
    memcpy(vc.path.items, c->path.items, c->path.n * sizeof(*vc.path.items));
    memcpy(vc.path.gen, c->path.gen, c->path.n * sizeof(*vc.path.gen));
    if (pe)
        push_path(&vc.path, pe);
    if (tr)
        validate(&vc, tr, v, nd);
    else if (a->has_map)
        validate_map(&vc, a, v, nd);
    else
        validate_list(&vc, a, v, nd);
    if (errs.n || !vc.normal)
        c->unfit = true;
    mf_errs_release(&errs);
}

static void cmp_leaf(struct cctx *c, struct cframe *f)
{
    if (f->in_leaf)
        return;
    f->in_leaf = true;
    if (!f->lhs)
        cursor_insert(&c->added, &c->path);
    else if (!f->rhs)
        cursor_insert(&c->removed, &c->path);
    else if (!mf_value_equal(f->rhs, f->lhs))
        cursor_insert(&c->modified, &c->path);
}

/* A side's duty for an item of its list (edt: the rules of the list's items, or NULL). */
static struct side item_side(struct side s, const struct norm_node *edt, const json_t *item)
{
    struct side out = {s.check && item, NULL};
    if (out.check && edt && !json_is_null(item))
        out.nd = edt;
    return out;
}

static void cmp_item(struct cctx *c, const struct mf_atom *a, const struct mf_pe *pe,
                     const json_t *l, const json_t *r, struct side sl, struct side sr)
{
    push_path(&c->path, pe);
    compare(c, &a->list_elem, l, r, sl, sr);
    c->path.n--;
}

/* A fingerprint of a value that values mf_value_compare finds equal share: numbers by their
   double value (as the comparison meets an integer and a real), strings by their bytes, lists
   and maps not at all. */
static uint64_t mix(uint64_t h, uint64_t x)
{
    return h ^ (x + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2));
}

static uint64_t value_hash(const json_t *v)
{
    double d;
    switch (json_typeof(v)) {
    case JSON_INTEGER:
    case JSON_REAL: {
        d = json_number_value(v);
        if (d == 0)
            d = 0; /* -0 == 0 */
        uint64_t bits;
        memcpy(&bits, &d, sizeof(bits));
        return mix(1, bits);
    }
    case JSON_STRING: {
        const unsigned char *p = (const unsigned char *)json_string_value(v);
        uint64_t h = 1469598103934665603ull;
        for (size_t i = 0, n = json_string_length(v); i < n; i++)
            h = (h ^ p[i]) * 1099511628211ull;
        return mix(2, h);
    }
    case JSON_TRUE:
        return 3;
    case JSON_FALSE:
        return 4;
    case JSON_NULL:
        return 5;
    default:
        return 6;
    }
}

/* The same for the key or value element of a list item (item_pe's). */
static uint64_t item_hash(const struct mf_pe *pe)
{
    if (pe->kind == MF_PE_VALUE)
        return mix(7, value_hash(pe->value));
    uint64_t h = 8;
    const char *k;
    json_t *v;
    MF_OBJECT_FOREACH(pe->key, it_, k, v)
    {
        h = mix(h, name_hash(k));
        h = mix(h, value_hash(v));
    }
    return h;
}

/* One item of a list being compared, and the items of both lists grouped by element. */
struct litem {
    struct mf_pe pe; /* owned */
    const json_t *v;
    size_t next; /* the next item of the same side and group, or SIZE_MAX */
};

struct lgroup {
    const struct mf_pe *pe; /* of its first item: the left list's when it has one */
    uint64_t hash;
    size_t n[2], first[2], last[2]; /* per side: how many items, the first and last */
};

/* Index list (side 0 left, 1 right) into items and groups, groups in the order their first
   item is met (the left list's, then the right list's new ones). */
static void index_items(struct cctx *c, const struct mf_atom *a, const json_t *list, int side,
                        struct litem *items, size_t *n_items, struct lgroup *groups,
                        size_t *n_groups, uint32_t *table, size_t mask)
{
    for (size_t i = 0; i < json_array_size(list); i++) {
        json_t *child = json_array_get(list, i);
        struct litem *it = &items[*n_items];
        char *msg;
        if (item_pe(c->sc, a, child, &it->pe, &msg)) {
            errf(c->errs, &c->path, "element %zu: %s", i, msg);
            free(msg);
            continue;
        }
        it->v = child;
        it->next = SIZE_MAX;
        uint64_t h = item_hash(&it->pe);
        size_t slot = (size_t)h & mask;
        struct lgroup *g = NULL;
        for (; table[slot]; slot = (slot + 1) & mask) {
            struct lgroup *cand = &groups[table[slot] - 1];
            if (cand->hash == h && !mf_pe_compare(cand->pe, &it->pe)) {
                g = cand;
                break;
            }
        }
        if (!g) {
            g = &groups[(*n_groups)++];
            memset(g, 0, sizeof(*g));
            g->pe = &it->pe;
            g->hash = h;
            table[slot] = (uint32_t)*n_groups;
        }
        size_t idx = (size_t)(it - items);
        if (g->n[side]++)
            items[g->last[side]].next = idx;
        else
            g->first[side] = idx;
        g->last[side] = idx;
        (*n_items)++;
    }
}

/* The rules of the items of a side's list (normalisation goes into arrays it has rules for). */
static const struct norm_node *items_rules(struct side s)
{
    return s.nd && !s.nd->is_struct && s.nd->kind == NORM_ARRAY ? s.nd->elem : NULL;
}

static void cmp_list_items(struct cctx *c, const struct mf_atom *a, const json_t *lhs,
                           const json_t *rhs, struct side sl, struct side sr)
{
    size_t total = (lhs ? json_array_size(lhs) : 0) + (rhs ? json_array_size(rhs) : 0);
    size_t cap = 4;
    while (cap < 2 * total)
        cap *= 2;
    /* one block: the items, the groups, the hash table */
    char *block =
        xcalloc(1, total * (sizeof(struct litem) + sizeof(struct lgroup)) + cap * sizeof(uint32_t));
    struct litem *items = (struct litem *)block;
    struct lgroup *groups = (struct lgroup *)(items + total);
    uint32_t *table = (uint32_t *)(groups + total);
    size_t n_items = 0, n_groups = 0;
    const struct norm_node *edl = items_rules(sl), *edr = items_rules(sr);
    const json_t *hide = c->sc->hidden_meta;
    if (lhs)
        index_items(c, a, lhs, 0, items, &n_items, groups, &n_groups, table, cap - 1);
    if (rhs)
        index_items(c, a, rhs, 1, items, &n_items, groups, &n_groups, table, cap - 1);
    for (size_t i = 0; i < n_groups; i++) {
        const struct lgroup *g = &groups[i];
        const struct mf_pe *pe = g->pe;
        size_t nl = g->n[0], nr = g->n[1];
        const json_t *l0 = nl ? items[g->first[0]].v : NULL;
        const json_t *r0 = nr ? items[g->first[1]].v : NULL;
        /* the items the comparison does not go into are checked apart */
        bool apart_l = sl.check && nl >= 2, apart_r = sr.check && nr >= 2;
        if (nl <= 1 && nr <= 1) {
            cmp_item(c, a, pe, l0, r0, item_side(sl, edl, l0), item_side(sr, edr, r0));
        } else if (nl >= 2 && nr >= 2) {
            bool same = nl == nr;
            for (size_t li = g->first[0], ri = g->first[1]; same && li != SIZE_MAX;
                 li = items[li].next, ri = items[ri].next)
                same = mf_value_equal(items[li].v, items[ri].v);
            if (!same) {
                push_path(&c->path, pe);
                cursor_insert(&c->modified, &c->path);
                c->path.n--;
            }
        } else if (nl >= 2) {
            if (nr)
                cmp_item(c, a, pe, NULL, r0, no_side, item_side(sr, edr, r0));
            push_path(&c->path, pe);
            cursor_insert(&c->removed, &c->path);
            c->path.n--;
        } else {
            if (nl)
                cmp_item(c, a, pe, l0, NULL, item_side(sl, edl, l0), no_side);
            push_path(&c->path, pe);
            cursor_insert(&c->added, &c->path);
            c->path.n--;
        }
        for (size_t k = apart_l ? g->first[0] : SIZE_MAX; k != SIZE_MAX; k = items[k].next)
            check_apart(c, &a->list_elem, NULL, &items[k].pe, items[k].v,
                        item_side(sl, edl, items[k].v).nd, NULL);
        for (size_t k = apart_r ? g->first[1] : SIZE_MAX; k != SIZE_MAX; k = items[k].next)
            check_apart(c, &a->list_elem, NULL, &items[k].pe, items[k].v,
                        item_side(sr, edr, items[k].v).nd, hide);
    }
    for (size_t i = 0; i < n_items; i++)
        mf_pe_release(&items[i].pe);
    free(block);
}

/* A side's duty for the value e of key k (f: its field, NULL when not declared), as
   validate_map and normal_key see it; *required counts the struct's always-written fields. */
static struct side key_side(struct cctx *c, struct side s, const struct mf_tfield *f, bool declared,
                            const struct mf_tref *tr, const char *k, const json_t *e,
                            size_t *required)
{
    struct side out = {s.check, NULL};
    if (!s.check)
        return out;
    if (!declared && tr->kind == MF_T_NONE) {
        c->unfit = true; /* field not declared in schema */
        return out;
    }
    bool normal = true;
    if (s.nd && s.nd->is_struct)
        out.nd = normal_key(&normal, s.nd, f, k, e, required);
    else if (s.nd && s.nd->kind == NORM_MAP && !json_is_null(e))
        out.nd = s.nd->elem;
    if (!normal)
        c->unfit = true;
    return out;
}

static void cmp_map_items(struct cctx *c, const struct mf_atom *a, const json_t *lhs,
                          const json_t *rhs, struct side sl, struct side sr)
{
    const char *k;
    json_t *e;
    size_t matched = 0, req_l = 0, req_r = 0; /* right-hand keys met on the left */
    const json_t *hide = c->sc->hidden_meta;  /* on the right only */
    MF_OBJECT_FOREACH(lhs, it_, k, e)
    {
        struct key_type kt = key_type(a, k);
        struct mf_pe pe = key_pe(a, &kt, k);
        const json_t *r = rhs ? field_get(hide, rhs, c->path.n, k) : NULL;
        matched += r != NULL;
        struct side cl = key_side(c, sl, kt.f, kt.declared, &kt.tr, k, e, &req_l);
        struct side cr = r ? key_side(c, sr, kt.f, kt.declared, &kt.tr, k, r, &req_r) : no_side;
        push_path(&c->path, &pe);
        compare(c, &kt.tr, e, r, cl, cr);
        c->path.n--;
    }
    if (matched != object_size(hide, rhs, c->path.n)) { /* else the right has no key of its own */
        MF_OBJECT_FOREACH(rhs, it_, k, e)
        {
            if (hidden(hide, rhs, c->path.n, k) || (lhs && json_object_get(lhs, k)))
                continue;
            struct key_type kt = key_type(a, k);
            struct mf_pe pe = key_pe(a, &kt, k);
            struct side cr = key_side(c, sr, kt.f, kt.declared, &kt.tr, k, e, &req_r);
            push_path(&c->path, &pe);
            compare(c, &kt.tr, NULL, e, no_side, cr);
            c->path.n--;
        }
    }
    if ((sl.check && lhs && sl.nd && sl.nd->is_struct && req_l != sl.nd->n_required) ||
        (sr.check && rhs && sr.nd && sr.nd->is_struct && req_r != sr.nd->n_required))
        c->unfit = true; /* an absent field would be written */
}

/* A side's value that validate() would refuse as the wrong container for a (given as NULL
   by cmp_handle when it is not one, so v is what the side holds). */
static void check_container(struct cctx *c, struct side s, const json_t *v, bool is_it)
{
    if (s.check && v && !json_is_null(v) && !is_it)
        c->unfit = true; /* expected map, or list */
}

static void cmp_handle(struct cctx *c, const struct mf_atom *a, struct cframe *f, struct side sl,
                       struct side sr)
{
    const json_t *hide = c->sc->hidden_meta;
    if (a->has_map) {
        const json_t *l = json_is_object(f->lhs) ? f->lhs : NULL;
        const json_t *r = json_is_object(f->rhs) ? f->rhs : NULL;
        check_container(c, sl, f->lhs, l);
        check_container(c, sr, f->rhs, r);
        bool empty = (!l || !json_object_size(l)) && (!r || !object_size(hide, r, c->path.n));
        if (a->map_rel == MF_REL_ATOMIC || empty) {
            cmp_leaf(c, f);
            if (sl.check && l)
                check_apart(c, NULL, a, NULL, l, sl.nd, NULL);
            if (sr.check && r)
                check_apart(c, NULL, a, NULL, r, sr.nd, hide);
            return;
        }
        cmp_map_items(c, a, l, r, sl, sr);
    } else if (a->has_scalar) {
        char *lm, *rm;
        int le = check_scalar(a->scalar, f->lhs, "lhs: ", &lm);
        int re = check_scalar(a->scalar, f->rhs, "rhs: ", &rm);
        if ((sl.check && le) || (sr.check && re))
            c->unfit = true;
        if (le && re) {
            errf(c->errs, &c->path, "%s", lm);
            errf(c->errs, &c->path, "%s", rm);
        }
        free(lm);
        free(rm);
        if (!(le && re))
            cmp_leaf(c, f);
    } else if (a->has_list) {
        const json_t *l = json_is_array(f->lhs) ? f->lhs : NULL;
        const json_t *r = json_is_array(f->rhs) ? f->rhs : NULL;
        check_container(c, sl, f->lhs, l);
        check_container(c, sr, f->rhs, r);
        bool empty = (!l || !json_array_size(l)) && (!r || !json_array_size(r));
        if (a->list_rel == MF_REL_ATOMIC || empty) {
            cmp_leaf(c, f);
            if (sl.check && l)
                check_apart(c, NULL, a, NULL, l, sl.nd, NULL);
            if (sr.check && r)
                check_apart(c, NULL, a, NULL, r, sr.nd, hide);
            return;
        }
        cmp_list_items(c, a, l, r, sl, sr);
    } else {
        errf(c->errs, &c->path, "schema error: invalid atom: inlined");
    }
}

/* A side's duty where validate() takes a value of an untyped or deduced type: only that it
   does not nest too deeply, and what normalisation says of it. Nothing below. */
static struct side untyped_side(struct cctx *c, struct side s, const json_t *v)
{
    if (s.check && v) {
        if (c->path.n + nesting(v, MF_MAX_DEPTH) >= MF_MAX_DEPTH ||
            (s.nd && !normal(s.nd, v, (int)c->path.n)))
            c->unfit = true;
    }
    return no_side;
}

static void compare(struct cctx *c, const struct mf_tref *tr, const json_t *lhs, const json_t *rhs,
                    struct side sl, struct side sr)
{
    if (!lhs && !rhs) {
        errf(c->errs, &c->path, "at least one of lhs and rhs must be provided");
        return;
    }
    if ((sl.nd || sr.nd) && c->path.n >= NORM_CHECK_DEPTH) {
        c->unfit = true; /* as validate() says */
        sl.nd = sr.nd = NULL;
    }
    if (c->path.n >= MF_MAX_DEPTH) {
        errf(c->errs, &c->path, "value nests too deeply");
        return;
    }
    const struct mf_type *t = type_of(c->sc, tr);
    if (!t->ok) {
        errf(c->errs, &c->path, "schema error: no type found matching: %s", tref_name(tr));
        return;
    }
    if ((sl.check || sr.check) && (t == &builtin_types[1] || t == &builtin_types[2])) {
        sl = untyped_side(c, sl, lhs);
        sr = untyped_side(c, sr, rhs);
    }
    const struct mf_atom *al = deduce(t, lhs), *ar = deduce(t, rhs);
    struct cframe f = {.lhs = lhs, .rhs = rhs};
    if (!rhs) {
        cmp_handle(c, al, &f, sl, no_side);
    } else if (!lhs || atoms_equal(al, ar)) {
        cmp_handle(c, ar, &f, lhs ? sl : no_side, sr);
    } else {
        struct cframe f2 = f;
        cmp_handle(c, al, &f2, sl, no_side);
        cmp_handle(c, ar, &f, no_side, sr);
    }
    if (!f.in_leaf) {
        if (!lhs)
            cursor_insert(&c->added, &c->path);
        else if (!rhs)
            cursor_insert(&c->removed, &c->path);
    }
}

static int compare_root(const struct mf_schema *sc, const json_t *lhs, const json_t *rhs,
                        struct side sl, struct side sr, struct mf_comparison *out,
                        struct mf_errs *errs, bool *unfit)
{
    out->removed = mf_set_new();
    out->modified = mf_set_new();
    out->added = mf_set_new();
    struct cctx c; /* large: only what is read is set */
    c.sc = sc;
    c.cmp = out;
    c.errs = errs;
    c.unfit = false;
    c.path.n = c.path.pushes = 0;
    c.added.set = out->added;
    c.removed.set = out->removed;
    c.modified.set = out->modified;
    c.added.depth = c.removed.depth = c.modified.depth = 0;
    size_t before = errs->n;
    struct mf_tref root = mf_root_tref(sc);
    compare(&c, &root, lhs, rhs, sl, sr);
    if (unfit)
        *unfit = c.unfit;
    return errs->n > before ? -1 : 0;
}

int mf_compare(const struct mf_schema *sc, const json_t *lhs, const json_t *rhs,
               struct mf_comparison *out, struct mf_errs *errs)
{
    return compare_root(sc, lhs, rhs, no_side, no_side, out, errs, NULL);
}

int mf_compare_checked(const struct mf_schema *sc, const json_t *lhs, const json_t *rhs,
                       bool check_lhs, struct mf_comparison *out, struct mf_errs *errs, bool *fit)
{
    const struct norm_node *nd = root_norm(sc);
    struct side sl = {check_lhs, check_lhs && json_is_object(lhs) ? nd : NULL};
    struct side sr = {true, json_is_object(rhs) ? nd : NULL};
    bool unfit;
    int rc = compare_root(sc, lhs, rhs, sl, sr, out, errs, &unfit);
    /* and mf_validate's refusal of a root the definitions do not have */
    *fit = !unfit && mf_root_tref(sc).kind != MF_T_NONE;
    return rc;
}

void mf_comparison_release(struct mf_comparison *c)
{
    mf_set_free(c->removed);
    mf_set_free(c->modified);
    mf_set_free(c->added);
    memset(c, 0, sizeof(*c));
}

void mf_comparison_exclude(struct mf_comparison *c, const struct mf_set *exclude)
{
    if (!exclude)
        return;
    mf_set_subtract_recursive(c->removed, exclude);
    mf_set_subtract_recursive(c->modified, exclude);
    mf_set_subtract_recursive(c->added, exclude);
}

/* ---- Merge
 * --------------------------------------------------------------------------------------- */

struct mctx {
    const struct mf_schema *sc;
    struct mf_errs *errs;
    struct walk_path path;
};

struct mframe {
    const json_t *lhs, *rhs;
    bool in_leaf;
    json_t *out; /* NULL: no output; json null: null */
};

static json_t *merge(struct mctx *c, const struct mf_tref *tr, const json_t *lhs,
                     const json_t *rhs);

static void merge_leaf(struct mframe *f)
{
    if (f->in_leaf)
        return;
    f->in_leaf = true;
    json_decref(f->out);
    f->out = json_incref((json_t *)(f->rhs ? f->rhs : f->lhs));
}

/* Index for merging: elements in list order (duplicates repeated) and element -> value, where
   a duplicated element maps to null (upstream does not merge duplicates). */
static int merge_index(struct mctx *c, const struct mf_atom *a, const json_t *list,
                       bool allow_duplicates, struct mf_pe **pes_out, size_t *n_out,
                       struct pe_map *observed)
{
    size_t n = list ? json_array_size(list) : 0, k = 0;
    struct mf_pe *pes = xcalloc(n ? n : 1, sizeof(*pes));
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        json_t *child = json_array_get(list, i);
        char *msg;
        if (item_pe(c->sc, a, child, &pes[k], &msg)) {
            errf(c->errs, &c->path, "element %zu: %s", i, msg);
            free(msg);
            rc = -1;
            continue;
        }
        bool created;
        struct pe_map_ent *e = pe_map_add(observed, &pes[k], &created);
        if (!created && !allow_duplicates) {
            struct strbuf sb;
            strbuf_init(&sb, STRBUF_NO_LIMIT);
            mf_pe_append_string(&sb, &pes[k]);
            errf(c->errs, &c->path, "duplicate entries for key %s", strbuf_str(&sb));
            strbuf_release(&sb);
            mf_pe_release(&pes[k]);
            rc = -1;
            continue;
        }
        if (created)
            pe_ent_push(e, child);
        else
            e->vals[0] = json_null(); /* json_null() is a static singleton in jansson */
        k++;
    }
    *pes_out = pes;
    *n_out = k;
    return rc;
}

static void merge_item(struct mctx *c, const struct mf_atom *a, const struct mf_pe *pe,
                       const json_t *l, const json_t *r, json_t *out)
{
    push_path(&c->path, pe);
    json_t *m = merge(c, &a->list_elem, l, r);
    c->path.n--;
    if (m)
        json_array_append_new(out, m);
}

static bool pe_eq(const struct mf_pe *a, const struct mf_pe *b)
{
    return !mf_pe_compare(a, b);
}

/* mergingWalker.visitListItems: keeps the live order, places new items after the shared item
   they follow in the applied list. Ported step by step. */
static void merge_list_items(struct mctx *c, const struct mf_atom *a, const json_t *lhs,
                             const json_t *rhs, struct mframe *f)
{
    struct pe_map obs_r = {0}, obs_l = {0}, merged_r = {0};
    struct mf_pe *rpes = NULL, *lpes = NULL;
    size_t rn = 0, ln = 0;
    int e1 = merge_index(c, a, rhs, false, &rpes, &rn, &obs_r);
    int e2 = merge_index(c, a, lhs, true, &lpes, &ln, &obs_l);
    json_t *out = json_array();
    if (e1 || e2)
        goto done;
    size_t *shared = xmalloc((rn ? rn : 1) * sizeof(*shared));
    size_t n_shared = 0, next_i = 0;
    for (size_t i = 0; i < rn; i++)
        if (pe_map_get(&obs_l, &rpes[i]))
            shared[n_shared++] = i;
    const struct mf_pe *next = n_shared ? &rpes[shared[next_i++]] : NULL;
    size_t li = 0, ri = 0, guard = 0;
    bool created;
    while ((li < ln || ri < rn) && guard++ < 4 * (ln + rn) + 4) {
        if (li < ln && ri < rn) {
            const struct mf_pe *pe = &lpes[li];
            if (pe_eq(pe, &rpes[ri])) {
                pe_map_add(&merged_r, pe, &created);
                struct pe_map_ent *le = pe_map_get(&obs_l, pe), *re = pe_map_get(&obs_r, pe);
                merge_item(c, a, pe, le ? le->vals[0] : NULL, re ? re->vals[0] : NULL, out);
                li++;
                ri++;
                next = next_i < n_shared ? &rpes[shared[next_i++]] : NULL;
                continue;
            }
            if (pe_map_get(&obs_r, pe) && next && !pe_eq(next, pe)) {
                li++;
                continue;
            }
        }
        if (li < ln) {
            const struct mf_pe *pe = &lpes[li];
            if (!pe_map_get(&obs_r, pe)) {
                merge_item(c, a, pe, json_array_get(lhs, li), NULL, out);
                li++;
                continue;
            } else if (pe_map_get(&merged_r, pe)) {
                li++;
            }
        }
        if (ri < rn) {
            const struct mf_pe *pe = &rpes[ri];
            pe_map_add(&merged_r, pe, &created);
            struct pe_map_ent *le = pe_map_get(&obs_l, pe), *re = pe_map_get(&obs_r, pe);
            merge_item(c, a, pe, le ? le->vals[0] : NULL, re ? re->vals[0] : NULL, out);
            ri++;
            if (next && pe_eq(next, pe))
                next = next_i < n_shared ? &rpes[shared[next_i++]] : NULL;
        }
    }
    free(shared);
    if (json_array_size(out)) {
        json_decref(f->out);
        f->out = out;
        out = NULL;
    }
done:
    json_decref(out);
    for (size_t i = 0; i < rn; i++)
        mf_pe_release(&rpes[i]);
    for (size_t i = 0; i < ln; i++)
        mf_pe_release(&lpes[i]);
    free(rpes);
    free(lpes);
    pe_map_release(&obs_r);
    pe_map_release(&obs_l);
    pe_map_release(&merged_r);
}

static void merge_map_items(struct mctx *c, const struct mf_atom *a, const json_t *lhs,
                            const json_t *rhs, struct mframe *f)
{
    json_t *out = json_object();
    const char *k;
    json_t *e;
    json_object_foreach ((json_t *)lhs, k, e) {
        struct mf_tref tr = mf_atom_field(a, k, NULL);
        struct mf_pe pe = {.kind = MF_PE_FIELD, .field = k};
        push_path(&c->path, &pe);
        json_t *m = merge(c, &tr, e, rhs ? json_object_get(rhs, k) : NULL);
        c->path.n--;
        if (m)
            json_object_set_new(out, k, m);
    }
    json_object_foreach ((json_t *)rhs, k, e) {
        if (lhs && json_object_get(lhs, k))
            continue;
        struct mf_tref tr = mf_atom_field(a, k, NULL);
        struct mf_pe pe = {.kind = MF_PE_FIELD, .field = k};
        push_path(&c->path, &pe);
        json_t *m = merge(c, &tr, NULL, e);
        c->path.n--;
        if (m)
            json_object_set_new(out, k, m);
    }
    if (json_object_size(out)) {
        json_decref(f->out);
        f->out = out;
    } else {
        json_decref(out);
    }
}

static void merge_handle(struct mctx *c, const struct mf_atom *a, struct mframe *f)
{
    if (a->has_map) {
        const json_t *l = json_is_object(f->lhs) ? f->lhs : NULL;
        const json_t *r = json_is_object(f->rhs) ? f->rhs : NULL;
        bool empty = (!l || !json_object_size(l)) && (!r || !json_object_size(r));
        if (a->map_rel == MF_REL_ATOMIC || empty) {
            merge_leaf(f);
            return;
        }
        merge_map_items(c, a, l, r, f);
    } else if (a->has_scalar) {
        char *lm, *rm;
        int le = check_scalar(a->scalar, f->lhs, "lhs: ", &lm);
        int re = check_scalar(a->scalar, f->rhs, "rhs: ", &rm);
        if (le && re) {
            errf(c->errs, &c->path, "%s", lm);
            errf(c->errs, &c->path, "%s", rm);
        } else {
            merge_leaf(f);
        }
        free(lm);
        free(rm);
    } else if (a->has_list) {
        const json_t *l = json_is_array(f->lhs) ? f->lhs : NULL;
        const json_t *r = json_is_array(f->rhs) ? f->rhs : NULL;
        bool empty = (!l || !json_array_size(l)) && (!r || !json_array_size(r));
        if (a->list_rel == MF_REL_ATOMIC || empty) {
            merge_leaf(f);
            return;
        }
        if (!l && !r)
            return;
        merge_list_items(c, a, l, r, f);
    } else {
        errf(c->errs, &c->path, "schema error: invalid atom: inlined");
    }
}

static json_t *merge(struct mctx *c, const struct mf_tref *tr, const json_t *lhs, const json_t *rhs)
{
    if (!lhs && !rhs) {
        errf(c->errs, &c->path, "at least one of lhs and rhs must be provided");
        return NULL;
    }
    if (c->path.n >= MF_MAX_DEPTH) {
        errf(c->errs, &c->path, "value nests too deeply");
        return NULL;
    }
    const struct mf_type *t = type_of(c->sc, tr);
    if (!t->ok) {
        errf(c->errs, &c->path, "schema error: no type found matching: %s", tref_name(tr));
        return NULL;
    }
    const struct mf_atom *al = deduce(t, lhs), *ar = deduce(t, rhs);
    struct mframe f = {.lhs = lhs, .rhs = rhs};
    if (!rhs) {
        merge_handle(c, al, &f);
    } else if (!lhs || atoms_equal(al, ar)) {
        merge_handle(c, ar, &f);
    } else {
        struct mframe f2 = f;
        merge_handle(c, al, &f2); /* upstream walks it too, and drops what it produced */
        json_decref(f2.out);
        merge_handle(c, ar, &f);
    }
    return f.out;
}

json_t *mf_merge(const struct mf_schema *sc, const json_t *lhs, const json_t *rhs,
                 struct mf_errs *errs)
{
    struct mctx c; /* large: only what is read is set */
    c.sc = sc;
    c.errs = errs;
    c.path.n = c.path.pushes = 0;
    size_t before = errs->n;
    struct mf_tref root = mf_root_tref(sc);
    json_t *out = merge(&c, &root, lhs, rhs);
    if (errs->n > before) {
        json_decref(out);
        return NULL;
    }
    return out ? out : json_null();
}

/* ---- RemoveItems ----------------------------------------------------------------------------- */

static json_t *remove_items(const struct mf_schema *sc, const struct mf_tref *tr, const json_t *v,
                            const struct mf_set *rm, int depth)
{
    const struct mf_type *t = depth > MF_MAX_DEPTH ? NULL : type_of(sc, tr);
    if (!t || !t->ok)
        return NULL;
    const struct mf_atom *a = deduce(t, v);
    if (a->has_map) {
        if (!json_is_object(v) || !json_object_size(v) || a->map_rel == MF_REL_ATOMIC)
            return NULL;
        json_t *out = json_object();
        const char *k;
        json_t *e;
        json_object_foreach ((json_t *)v, k, e) {
            struct mf_pe pe = {.kind = MF_PE_FIELD, .field = k};
            const struct mf_pe *p1 = &pe;
            if (mf_set_has(rm, &p1, 1))
                continue;
            const struct mf_set *sub = mf_set_child(rm, &pe);
            if (sub && !mf_set_empty(sub)) {
                struct mf_tref ft = mf_atom_field(a, k, NULL);
                json_t *r = remove_items(sc, &ft, e, sub, depth + 1);
                json_object_set_new(out, k, r ? r : json_null());
            } else {
                json_object_set(out, k, e);
            }
        }
        if (json_object_size(out))
            return out;
        json_decref(out);
        return NULL;
    }
    if (a->has_scalar)
        return json_incref((json_t *)v);
    if (a->has_list) {
        if (!json_is_array(v) || !json_array_size(v) || a->list_rel == MF_REL_ATOMIC)
            return NULL;
        json_t *out = json_array();
        for (size_t i = 0; i < json_array_size(v); i++) {
            json_t *item = json_array_get(v, i);
            struct mf_pe pe;
            char *msg;
            if (item_pe(sc, a, item, &pe, &msg)) {
                free(msg);
                json_array_append(out, item);
                continue;
            }
            const struct mf_pe *p1 = &pe;
            if (mf_set_has(rm, &p1, 1)) {
                mf_pe_release(&pe);
                continue;
            }
            const struct mf_set *sub = mf_set_child(rm, &pe);
            if (sub && !mf_set_empty(sub)) {
                json_t *r = remove_items(sc, &a->list_elem, item, sub, depth + 1);
                json_array_append_new(out, r ? r : json_null());
            } else {
                json_array_append(out, item);
            }
            mf_pe_release(&pe);
        }
        if (json_array_size(out))
            return out;
        json_decref(out);
        return NULL;
    }
    return NULL;
}

json_t *mf_remove_items(const struct mf_schema *sc, const json_t *v, const struct mf_set *rm)
{
    struct mf_tref root = mf_root_tref(sc);
    json_t *out = remove_items(sc, &root, v, rm, 0);
    return out ? out : json_null();
}
