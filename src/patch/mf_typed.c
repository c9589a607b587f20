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
#include "svc/util.h"

#include <jansson.h>
#include <stdarg.h>
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
    size_t n;
};

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

#define ATOM_CACHE_SLOTS 256 /* more distinct schema nodes than one object visits */

struct atom_slot {
    const json_t *node;
    int map_rel;
    struct mf_atom atom;
    bool ok;
};

struct mf_atom_cache {
    struct atom_slot slots[ATOM_CACHE_SLOTS];
};

void mf_schema_release(struct mf_schema *sc)
{
    free(sc->cache);
    sc->cache = NULL;
}

static int resolve_uncached(const struct mf_schema *sc, const struct mf_tref *tr,
                            struct mf_atom *out);

int mf_resolve(const struct mf_schema *sc, const struct mf_tref *tr, struct mf_atom *out)
{
    if (tr->kind != MF_T_SCHEMA)
        return resolve_uncached(sc, tr, out);
    struct mf_schema *msc = (struct mf_schema *)sc; /* the cache is not part of the value */
    if (!msc->cache)
        msc->cache = xcalloc(1, sizeof(*msc->cache));
    size_t h = ((size_t)(uintptr_t)tr->node >> 4) * 31 + (size_t)(tr->map_rel + 1);
    for (size_t i = 0; i < 8; i++) {
        struct atom_slot *slot = &msc->cache->slots[(h + i) % ATOM_CACHE_SLOTS];
        if (slot->node == tr->node && slot->map_rel == tr->map_rel) {
            *out = slot->atom;
            return slot->ok ? 0 : -1;
        }
        if (!slot->node) {
            int rc = resolve_uncached(sc, tr, out);
            slot->node = tr->node;
            slot->map_rel = tr->map_rel;
            slot->atom = *out;
            slot->ok = rc == 0;
            return rc;
        }
    }
    return resolve_uncached(sc, tr, out);
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

struct mf_tref mf_atom_field(const struct mf_atom *a, const char *name, bool *declared)
{
    const json_t *prop = a->fields ? json_object_get(a->fields, name) : NULL;
    if (declared)
        *declared = prop != NULL;
    if (prop)
        return tref_of(prop);
    return a->map_elem;
}

struct mf_tref mf_root_tref(const struct mf_schema *sc)
{
    const json_t *def = json_object_get(sc->defs, sc->root ? sc->root : "");
    if (!def)
        return (struct mf_tref){.kind = MF_T_NONE, .map_rel = -1};
    return (struct mf_tref){.kind = MF_T_SCHEMA, .node = def, .map_rel = -1};
}

static const char *tref_name(const struct mf_tref *tr)
{
    const char *ref = tr->node ? json_string_value(json_object_get(tr->node, "$ref")) : NULL;
    return ref ? ref : "inlined type";
}

/* deduceAtom: narrow a multi-form atom to the form of the value. */
static struct mf_atom deduce(const struct mf_atom *a, const json_t *v)
{
    struct mf_atom out = *a;
    if (!v)
        return out;
    if ((json_is_string(v) || json_is_number(v) || json_is_boolean(v)) && a->has_scalar) {
        out.has_list = out.has_map = false;
    } else if (json_is_array(v) && a->has_list) {
        out.has_scalar = out.has_map = false;
    } else if (json_is_object(v) && a->has_map) {
        out.has_scalar = out.has_list = false;
    }
    return out;
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
                    json_object_set(found, name, (json_t *)def);
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
        return 0;
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

static const json_t *resolve_def(const struct mf_schema *sc, const json_t *prop, const char **ref)
{
    *ref = json_string_value(json_object_get(prop, "$ref"));
    if (!*ref)
        return prop;
    const json_t *def = json_object_get(sc->defs, *ref);
    return def ? def : prop;
}

static bool is_struct(const json_t *def)
{
    return json_is_object(json_object_get(def, "properties"));
}

static bool is_empty(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_NULL:
        return true;
    case JSON_STRING:
        return json_string_length(v) == 0;
    case JSON_INTEGER:
        return json_integer_value(v) == 0;
    case JSON_REAL:
        return json_real_value(v) == 0;
    case JSON_FALSE:
        return true;
    case JSON_ARRAY:
        return json_array_size(v) == 0;
    case JSON_OBJECT:
        return json_object_size(v) == 0;
    default:
        return false;
    }
}

/* The Go zero value encoding/json writes for a field that is never omitted. */
static json_t *zero_value(const char *ref, const json_t *def)
{
    const char *t = json_string_value(json_object_get(def, "type"));
    const char *format = json_string_value(json_object_get(def, "format"));
    if (!t)
        t = "";
    if (format && !strcmp(format, "int-or-string"))
        return json_integer(0);
    if (format && !strcmp(format, "date-time"))
        return json_null();
    if ((format && !strcmp(format, "quantity")) || (ref && !strcmp(ref, QUANTITY_DEF)))
        return json_string("0");
    if (!strcmp(t, "string"))
        return json_string("");
    if (!strcmp(t, "integer"))
        return json_integer(0);
    if (!strcmp(t, "number"))
        return json_real(0);
    if (!strcmp(t, "boolean"))
        return json_false();
    return json_null();
}

static json_t *norm(const struct mf_schema *sc, const json_t *prop, const json_t *v, int depth);

static json_t *norm_struct(const struct mf_schema *sc, const json_t *def, const json_t *v,
                           int depth)
{
    json_t *out = json_object();
    const json_t *props = json_object_get(def, "properties");
    const char *key;
    json_t *prop;
    json_object_foreach ((json_t *)props, key, prop) {
        const json_t *in = json_object_get(v, key);
        const char *pref;
        const json_t *pdef = resolve_def(sc, prop, &pref);
        const char *omit = json_string_value(json_object_get(prop, "omit"));
        if (!omit)
            omit = pref && is_struct(pdef) ? "struct" : "empty";
        json_t *val = NULL;
        if (in && !json_is_null(in))
            val = norm(sc, prop, in, depth + 1);
        else if (!strcmp(omit, "struct") && is_struct(pdef) && depth < MF_MAX_DEPTH)
            val = norm_struct(sc, pdef, NULL, depth + 1);
        if (!val) {
            if (!strcmp(omit, "never"))
                json_object_set_new(out, key, zero_value(pref, pdef));
            continue;
        }
        if (!strcmp(omit, "empty") && is_empty(val)) {
            json_decref(val);
            continue;
        }
        json_object_set_new(out, key, val);
    }
    json_t *in;
    json_object_foreach ((json_t *)v, key, in) {
        if (!json_object_get(props, key) && preserves_unknown(def))
            json_object_set(out, key, in);
    }
    return out;
}

static json_t *norm(const struct mf_schema *sc, const json_t *prop, const json_t *v, int depth)
{
    if (!v || json_is_null(v))
        return NULL;
    const char *ref;
    const json_t *def = resolve_def(sc, prop, &ref);
    if (depth > MF_MAX_DEPTH)
        return json_incref((json_t *)v);
    if (is_struct(def))
        return json_is_object(v) ? norm_struct(sc, def, v, depth) : json_incref((json_t *)v);
    const char *t = json_string_value(json_object_get(def, "type"));
    const json_t *items = json_object_get(def, "items");
    const json_t *ap = json_object_get(def, "additionalProperties");
    if (t && !strcmp(t, "array") && json_is_array(v) && json_is_object(items)) {
        json_t *out = json_array();
        for (size_t i = 0; i < json_array_size(v); i++) {
            json_t *e = norm(sc, items, json_array_get(v, i), depth + 1);
            json_array_append_new(out, e ? e : json_null());
        }
        return out;
    }
    if (t && !strcmp(t, "object") && json_is_object(v) && json_is_object(ap)) {
        json_t *out = json_object();
        const char *k;
        json_t *e;
        json_object_foreach ((json_t *)v, k, e) {
            json_t *n = norm(sc, ap, e, depth + 1);
            json_object_set_new(out, k, n ? n : json_null());
        }
        return out;
    }
    return json_incref((json_t *)v);
}

json_t *mf_normalize(const struct mf_schema *sc, const json_t *obj)
{
    const json_t *def = json_object_get(sc->defs, sc->root ? sc->root : "");
    if (!is_struct(def) || !json_is_object(obj))
        return json_incref((json_t *)obj);
    return norm_struct(sc, def, obj, 0);
}

json_t *mf_zero_object(const struct mf_schema *sc)
{
    const json_t *def = json_object_get(sc->defs, sc->root ? sc->root : "");
    if (!is_struct(def))
        return json_object();
    return norm_struct(sc, def, NULL, 0);
}

/* ---- validation (typed.AsTyped) ----------------------------------------------------------------
 */

struct vctx {
    const struct mf_schema *sc;
    bool allow_duplicates;
    struct mf_errs *errs;
    struct walk_path path;
};

static void validate(struct vctx *c, const struct mf_tref *tr, const json_t *v);

static void push_path(struct walk_path *p, const struct mf_pe *pe)
{
    p->items[p->n++] = pe;
}

static void validate_list(struct vctx *c, const struct mf_atom *a, const json_t *v)
{
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
        if (a->list_rel == MF_REL_ASSOCIATIVE) {
            char *msg;
            if (item_pe(c->sc, a, child, &pe, &msg)) {
                errf(c->errs, &c->path, "element %zu: %s", i, msg);
                free(msg);
                break;
            }
            bool created;
            pe_map_add(&seen, &pe, &created);
            if (!created && !c->allow_duplicates) {
                struct strbuf sb;
                strbuf_init(&sb, STRBUF_NO_LIMIT);
                mf_pe_append_string(&sb, &pe);
                errf(c->errs, &c->path, "duplicate entries for key %s", strbuf_str(&sb));
                strbuf_release(&sb);
            }
        }
        push_path(&c->path, &pe);
        validate(c, &a->list_elem, child);
        c->path.n--;
        mf_pe_release(&pe);
    }
    pe_map_release(&seen);
}

static void validate_map(struct vctx *c, const struct mf_atom *a, const json_t *v)
{
    if (json_is_null(v))
        return;
    if (!json_is_object(v)) {
        char *h = holder_text(v);
        errf(c->errs, &c->path, "expected map, got %s", h);
        free(h);
        return;
    }
    const char *k;
    json_t *e;
    json_object_foreach ((json_t *)v, k, e) {
        bool declared;
        struct mf_tref tr = mf_atom_field(a, k, &declared);
        struct mf_pe pe = {.kind = MF_PE_FIELD, .field = k};
        push_path(&c->path, &pe);
        if (!declared && tr.kind == MF_T_NONE) {
            errf(c->errs, &c->path, "field not declared in schema");
            c->path.n--;
            break; /* upstream stops at the first unknown field of a map */
        }
        validate(c, &tr, e);
        c->path.n--;
    }
}

static void validate(struct vctx *c, const struct mf_tref *tr, const json_t *v)
{
    struct mf_atom atom;
    if (c->path.n >= MF_MAX_DEPTH) {
        errf(c->errs, &c->path, "value nests too deeply");
        return;
    }
    if (mf_resolve(c->sc, tr, &atom)) {
        errf(c->errs, &c->path, "schema error: no type found matching: %s", tref_name(tr));
        return;
    }
    struct mf_atom a = deduce(&atom, v);
    if (a.has_map) {
        validate_map(c, &a, v);
    } else if (a.has_scalar) {
        char *msg;
        if (check_scalar(a.scalar, v, "", &msg)) {
            errf(c->errs, &c->path, "%s", msg);
            free(msg);
        }
    } else if (a.has_list) {
        validate_list(c, &a, v);
    } else {
        errf(c->errs, &c->path, "schema error: invalid atom: inlined");
    }
}

int mf_validate(const struct mf_schema *sc, const json_t *v, bool allow_duplicates,
                struct mf_errs *errs)
{
    struct vctx c = {.sc = sc, .allow_duplicates = allow_duplicates, .errs = errs};
    size_t before = errs->n;
    struct mf_tref root = mf_root_tref(sc);
    if (root.kind == MF_T_NONE) {
        errs_push(errs,
                  xasprintf("schema error: no type found matching: %s", sc->root ? sc->root : ""));
        return -1;
    }
    validate(&c, &root, v);
    return errs->n > before ? -1 : 0;
}

/* ---- ToFieldSet -------------------------------------------------------------------------------
 */

struct fsctx {
    const struct mf_schema *sc;
    struct mf_set *set;
    struct walk_path path;
    bool failed;
};

static void to_fs(struct fsctx *c, const struct mf_tref *tr, const json_t *v);

static void to_fs_list(struct fsctx *c, const struct mf_atom *a, const json_t *v)
{
    if (a->list_rel == MF_REL_ATOMIC) {
        mf_set_insert(c->set, c->path.items, c->path.n);
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
                mf_set_insert(c->set, c->path.items, c->path.n);
                c->path.n--;
            }
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (!ok[i] || pe_map_get(&dups, &pes[i]))
            continue;
        push_path(&c->path, &pes[i]);
        to_fs(c, &a->list_elem, json_array_get(v, i));
        mf_set_insert(c->set, c->path.items, c->path.n);
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
        mf_set_insert(c->set, c->path.items, c->path.n);
        return;
    }
    if (!json_is_object(v))
        return;
    const char *k;
    json_t *e;
    json_object_foreach ((json_t *)v, k, e) {
        bool declared;
        struct mf_tref tr = mf_atom_field(a, k, &declared);
        struct mf_pe pe = {.kind = MF_PE_FIELD, .field = k};
        push_path(&c->path, &pe);
        to_fs(c, &tr, e);
        if (json_is_null(e) || (json_is_object(e) && !json_object_size(e)) || !declared)
            mf_set_insert(c->set, c->path.items, c->path.n);
        c->path.n--;
    }
}

static void to_fs(struct fsctx *c, const struct mf_tref *tr, const json_t *v)
{
    struct mf_atom atom;
    if (c->path.n >= MF_MAX_DEPTH || mf_resolve(c->sc, tr, &atom)) {
        c->failed = true;
        return;
    }
    struct mf_atom a = deduce(&atom, v);
    if (a.has_map)
        to_fs_map(c, &a, v);
    else if (a.has_scalar)
        mf_set_insert(c->set, c->path.items, c->path.n);
    else if (a.has_list)
        to_fs_list(c, &a, v);
    else
        c->failed = true;
}

struct mf_set *mf_to_field_set(const struct mf_schema *sc, const json_t *v)
{
    struct fsctx c = {.sc = sc, .set = mf_set_new()};
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
};

struct cframe {
    const json_t *lhs, *rhs;
    bool in_leaf;
};

static void compare(struct cctx *c, const struct mf_tref *tr, const json_t *lhs, const json_t *rhs);

static void cmp_leaf(struct cctx *c, struct cframe *f)
{
    if (f->in_leaf)
        return;
    f->in_leaf = true;
    if (!f->lhs)
        mf_set_insert(c->cmp->added, c->path.items, c->path.n);
    else if (!f->rhs)
        mf_set_insert(c->cmp->removed, c->path.items, c->path.n);
    else if (!mf_value_equal(f->rhs, f->lhs))
        mf_set_insert(c->cmp->modified, c->path.items, c->path.n);
}

static void cmp_item(struct cctx *c, const struct mf_atom *a, const struct mf_pe *pe,
                     const json_t *l, const json_t *r)
{
    push_path(&c->path, pe);
    compare(c, &a->list_elem, l, r);
    c->path.n--;
}

/* The unique elements of both lists in first-seen order, as (map, entry) pairs: the maps
   may grow while indexing, so entries are named by index. */
struct pe_ref {
    const struct pe_map *map;
    size_t idx;
};

struct pe_refs {
    struct pe_ref *items;
    size_t n, alloc;
};

/* Index a list by element into map (values in list order) and append the elements seen for
   the first time (and not in other) to all. */
static void index_items(struct cctx *c, const struct mf_atom *a, const json_t *list,
                        struct pe_map *map, struct pe_refs *all, const struct pe_map *other)
{
    for (size_t i = 0; i < json_array_size(list); i++) {
        json_t *child = json_array_get(list, i);
        struct mf_pe pe;
        char *msg;
        if (item_pe(c->sc, a, child, &pe, &msg)) {
            errf(c->errs, &c->path, "element %zu: %s", i, msg);
            free(msg);
            continue;
        }
        bool created;
        struct pe_map_ent *e = pe_map_add(map, &pe, &created);
        pe_ent_push(e, child);
        if (created && !(other && pe_map_get(other, &pe))) {
            if (all->n == all->alloc) {
                all->alloc = all->alloc ? 2 * all->alloc : 8;
                all->items = xrealloc(all->items, all->alloc * sizeof(*all->items));
            }
            all->items[all->n++] = (struct pe_ref){map, (size_t)(e - map->ents)};
        }
        mf_pe_release(&pe);
    }
}

static void cmp_list_items(struct cctx *c, const struct mf_atom *a, const json_t *lhs,
                           const json_t *rhs)
{
    struct pe_map lv = {0}, rv = {0};
    struct pe_refs all = {0};
    if (lhs)
        index_items(c, a, lhs, &lv, &all, NULL);
    if (rhs)
        index_items(c, a, rhs, &rv, &all, &lv);
    for (size_t i = 0; i < all.n; i++) {
        const struct mf_pe *pe = &all.items[i].map->ents[all.items[i].idx].pe;
        struct pe_map_ent *le = pe_map_get(&lv, pe), *re = pe_map_get(&rv, pe);
        size_t nl = le ? le->n : 0, nr = re ? re->n : 0;
        if (!nl && !nr)
            break;
        if (nl <= 1 && nr <= 1) {
            cmp_item(c, a, pe, nl ? le->vals[0] : NULL, nr ? re->vals[0] : NULL);
        } else if (nl >= 2 && nr >= 2) {
            bool same = nl == nr;
            for (size_t k = 0; same && k < nl; k++)
                same = mf_value_equal(le->vals[k], re->vals[k]);
            if (!same) {
                push_path(&c->path, pe);
                mf_set_insert(c->cmp->modified, c->path.items, c->path.n);
                c->path.n--;
            }
        } else if (nl >= 2) {
            if (nr)
                cmp_item(c, a, pe, NULL, re->vals[0]);
            push_path(&c->path, pe);
            mf_set_insert(c->cmp->removed, c->path.items, c->path.n);
            c->path.n--;
        } else {
            if (nl)
                cmp_item(c, a, pe, le->vals[0], NULL);
            push_path(&c->path, pe);
            mf_set_insert(c->cmp->added, c->path.items, c->path.n);
            c->path.n--;
        }
    }
    free(all.items);
    pe_map_release(&lv);
    pe_map_release(&rv);
}

static void cmp_map_items(struct cctx *c, const struct mf_atom *a, const json_t *lhs,
                          const json_t *rhs)
{
    const char *k;
    json_t *e;
    json_object_foreach ((json_t *)lhs, k, e) {
        struct mf_tref tr = mf_atom_field(a, k, NULL);
        struct mf_pe pe = {.kind = MF_PE_FIELD, .field = k};
        push_path(&c->path, &pe);
        compare(c, &tr, e, rhs ? json_object_get(rhs, k) : NULL);
        c->path.n--;
    }
    json_object_foreach ((json_t *)rhs, k, e) {
        if (lhs && json_object_get(lhs, k))
            continue;
        struct mf_tref tr = mf_atom_field(a, k, NULL);
        struct mf_pe pe = {.kind = MF_PE_FIELD, .field = k};
        push_path(&c->path, &pe);
        compare(c, &tr, NULL, e);
        c->path.n--;
    }
}

static void cmp_handle(struct cctx *c, const struct mf_atom *a, struct cframe *f)
{
    if (a->has_map) {
        const json_t *l = json_is_object(f->lhs) ? f->lhs : NULL;
        const json_t *r = json_is_object(f->rhs) ? f->rhs : NULL;
        bool empty = (!l || !json_object_size(l)) && (!r || !json_object_size(r));
        if (a->map_rel == MF_REL_ATOMIC || empty) {
            cmp_leaf(c, f);
            return;
        }
        cmp_map_items(c, a, l, r);
    } else if (a->has_scalar) {
        char *lm, *rm;
        int le = check_scalar(a->scalar, f->lhs, "lhs: ", &lm);
        int re = check_scalar(a->scalar, f->rhs, "rhs: ", &rm);
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
        bool empty = (!l || !json_array_size(l)) && (!r || !json_array_size(r));
        if (a->list_rel == MF_REL_ATOMIC || empty) {
            cmp_leaf(c, f);
            return;
        }
        cmp_list_items(c, a, l, r);
    } else {
        errf(c->errs, &c->path, "schema error: invalid atom: inlined");
    }
}

static void compare(struct cctx *c, const struct mf_tref *tr, const json_t *lhs, const json_t *rhs)
{
    if (!lhs && !rhs) {
        errf(c->errs, &c->path, "at least one of lhs and rhs must be provided");
        return;
    }
    if (c->path.n >= MF_MAX_DEPTH) {
        errf(c->errs, &c->path, "value nests too deeply");
        return;
    }
    struct mf_atom atom;
    if (mf_resolve(c->sc, tr, &atom)) {
        errf(c->errs, &c->path, "schema error: no type found matching: %s", tref_name(tr));
        return;
    }
    struct mf_atom al = deduce(&atom, lhs), ar = deduce(&atom, rhs);
    struct cframe f = {.lhs = lhs, .rhs = rhs};
    if (!rhs) {
        cmp_handle(c, &al, &f);
    } else if (!lhs || atoms_equal(&al, &ar)) {
        cmp_handle(c, &ar, &f);
    } else {
        struct cframe f2 = f;
        cmp_handle(c, &al, &f2);
        cmp_handle(c, &ar, &f);
    }
    if (!f.in_leaf) {
        if (!lhs)
            mf_set_insert(c->cmp->added, c->path.items, c->path.n);
        else if (!rhs)
            mf_set_insert(c->cmp->removed, c->path.items, c->path.n);
    }
}

int mf_compare(const struct mf_schema *sc, const json_t *lhs, const json_t *rhs,
               struct mf_comparison *out, struct mf_errs *errs)
{
    out->removed = mf_set_new();
    out->modified = mf_set_new();
    out->added = mf_set_new();
    struct cctx c = {.sc = sc, .cmp = out, .errs = errs};
    size_t before = errs->n;
    struct mf_tref root = mf_root_tref(sc);
    compare(&c, &root, lhs, rhs);
    return errs->n > before ? -1 : 0;
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
    mf_set_assign(&c->removed, mf_set_recursive_difference(c->removed, exclude));
    mf_set_assign(&c->modified, mf_set_recursive_difference(c->modified, exclude));
    mf_set_assign(&c->added, mf_set_recursive_difference(c->added, exclude));
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
    struct mf_atom atom;
    if (mf_resolve(c->sc, tr, &atom)) {
        errf(c->errs, &c->path, "schema error: no type found matching: %s", tref_name(tr));
        return NULL;
    }
    struct mf_atom al = deduce(&atom, lhs), ar = deduce(&atom, rhs);
    struct mframe f = {.lhs = lhs, .rhs = rhs};
    if (!rhs) {
        merge_handle(c, &al, &f);
    } else if (!lhs || atoms_equal(&al, &ar)) {
        merge_handle(c, &ar, &f);
    } else {
        struct mframe f2 = f;
        merge_handle(c, &al, &f2); /* upstream walks it too, and drops what it produced */
        json_decref(f2.out);
        merge_handle(c, &ar, &f);
    }
    return f.out;
}

json_t *mf_merge(const struct mf_schema *sc, const json_t *lhs, const json_t *rhs,
                 struct mf_errs *errs)
{
    struct mctx c = {.sc = sc, .errs = errs};
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
    struct mf_atom atom;
    if (depth > MF_MAX_DEPTH || mf_resolve(sc, tr, &atom))
        return NULL;
    struct mf_atom a = deduce(&atom, v);
    if (a.has_map) {
        if (!json_is_object(v) || !json_object_size(v) || a.map_rel == MF_REL_ATOMIC)
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
                struct mf_tref ft = mf_atom_field(&a, k, NULL);
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
    if (a.has_scalar)
        return json_incref((json_t *)v);
    if (a.has_list) {
        if (!json_is_array(v) || !json_array_size(v) || a.list_rel == MF_REL_ATOMIC)
            return NULL;
        json_t *out = json_array();
        for (size_t i = 0; i < json_array_size(v); i++) {
            json_t *item = json_array_get(v, i);
            struct mf_pe pe;
            char *msg;
            if (item_pe(sc, &a, item, &pe, &msg)) {
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
                json_t *r = remove_items(sc, &a.list_elem, item, sub, depth + 1);
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
