/*
 * mf_private: what the three files of server-side apply share (managedfields.c, mf_typed.c,
 * apply.c). It is a port, in C and on jansson trees, of the parts of
 * sigs.k8s.io/structured-merge-diff v4.6.0 that kube-apiserver 1.33 uses: field paths and sets
 * (fieldpath), the schema model that k8s.io/kube-openapi's schemaconv derives from OpenAPI
 * (schema), and the walks over typed values (typed: validate, ToFieldSet, Compare, Merge,
 * RemoveItems). Plus the manager bookkeeping of apimachinery's pkg/util/managedfields/internal.
 * Nothing here knows HTTP, the store or a Kubernetes kind. Depends on jansson, strbuf and util.
 */
#ifndef SVC_PATCH_MF_PRIVATE_H
#define SVC_PATCH_MF_PRIVATE_H

#include "svc/managedfields.h"

#include <stdbool.h>
#include <stddef.h>

typedef struct json_t json_t;
struct strbuf;

/* Values and sets nest at most this deep; deeper input is refused (our bound, not upstream's). */
#define MF_MAX_DEPTH 200

/* jansson's json_object_foreach without its two json_object_key_to_iter calls a step (the walks
   spend much of their time stepping through objects); it is the iterator's name. */
#define MF_OBJECT_FOREACH(obj, it, key, value)                                                     \
    for (void *it = json_object_iter((json_t *)(obj));                                             \
         it && ((key) = json_object_iter_key(it), (value) = json_object_iter_value(it), 1);        \
         it = json_object_iter_next((json_t *)(obj), it))

/* ---- path elements (fieldpath.PathElement) ----------------------------------------------------
 */

enum mf_pe_kind {
    MF_PE_FIELD = 0, /* f:name, a struct field or a map key */
    MF_PE_KEY = 1,   /* k:{...}, an item of an associative list with keys */
    MF_PE_VALUE = 2, /* v:value, an item of a set */
    MF_PE_INDEX = 3, /* i:n, an item of an atomic list (only ever seen in errors) */
};

/* A path element. Owned strings and references when it sits in a set; borrowed in walks. */
struct mf_pe {
    enum mf_pe_kind kind;
    const char *field; /* MF_PE_FIELD */
    json_t *key;       /* MF_PE_KEY: an object whose keys are in sorted order */
    json_t *value;     /* MF_PE_VALUE */
    long index;        /* MF_PE_INDEX */
    bool shared_field; /* field lives as long as the process (a property name of a shared
                          compiled schema, mf_intern): copies point at it, nobody frees it */
};

/* fieldpath's total order on path elements (fields < keys < values < indexes). */
int mf_pe_compare(const struct mf_pe *a, const struct mf_pe *b);
/* value.Compare: numbers numerically, then strings, booleans, lists, maps, null. */
int mf_value_compare(const json_t *a, const json_t *b);
/* value.Equals: numbers compare numerically; {"a":null} differs from {}. */
bool mf_value_equal(const json_t *a, const json_t *b);
/* Append the element as Path.String() prints it: ".name", "[port=80,protocol=\"TCP\"]",
   "[=value]", "[3]". */
void mf_pe_append_string(struct strbuf *sb, const struct mf_pe *pe);
/* Append the element as fieldsV1 keys it: f:name, k:{"port":80}, v:"x", i:3. */
void mf_pe_append_key(struct strbuf *sb, const struct mf_pe *pe);
/* Append v as Go's encoding/json writes it (sorted keys, HTML escaping, Go float format). */
void mf_go_json(struct strbuf *sb, const json_t *v);
/* Append s as Go's %q writes it. */
void mf_go_quote(struct strbuf *sb, const char *s);

/* ---- field sets (fieldpath.Set) ---------------------------------------------------------------
 */

struct mf_set;

struct mf_set *mf_set_new(void);
void mf_set_free(struct mf_set *s);
struct mf_set *mf_set_copy(const struct mf_set *s);
/* Add the path (its parents are not added, as upstream); elements are copied. */
void mf_set_insert(struct mf_set *s, const struct mf_pe *const *path, size_t n);
/* The two steps of mf_set_insert, for walks that keep the nodes of their path: the subset under
   pe, created empty when missing (borrowed, as long as s), and pe (copied) as a member of s. */
struct mf_set *mf_set_descend(struct mf_set *s, const struct mf_pe *pe);
void mf_set_add(struct mf_set *s, const struct mf_pe *pe);
bool mf_set_has(const struct mf_set *s, const struct mf_pe *const *path, size_t n);
bool mf_set_empty(const struct mf_set *s);
bool mf_set_equal(const struct mf_set *a, const struct mf_set *b);
/* The subset under pe (borrowed), or NULL when there is none. */
const struct mf_set *mf_set_child(const struct mf_set *s, const struct mf_pe *pe);
/* The set operations, each a new set; the semantics of fieldpath's, quirks included. */
struct mf_set *mf_set_union(const struct mf_set *a, const struct mf_set *b);
struct mf_set *mf_set_intersection(const struct mf_set *a, const struct mf_set *b);
struct mf_set *mf_set_difference(const struct mf_set *a, const struct mf_set *b);
struct mf_set *mf_set_recursive_difference(const struct mf_set *a, const struct mf_set *b);
/* Replace *s by op(*s, b), freeing the old set. */
void mf_set_assign(struct mf_set **s, struct mf_set *replacement);
/* The same operations done in place, s becoming exactly what the copying form would give
   (where both have an element, s keeps its own, as the copying union keeps a's): union with b
   left as it was, union taking b's elements over (b is freed), difference, recursive
   difference. */
void mf_set_union_into(struct mf_set *s, const struct mf_set *b);
void mf_set_union_take(struct mf_set *s, struct mf_set *b);
void mf_set_subtract(struct mf_set *s, const struct mf_set *b);
void mf_set_subtract_recursive(struct mf_set *s, const struct mf_set *b);
/* In place: what mf_set_difference(s, mf_set_intersection(s, b)) gives; false (s left as it
   is) when that intersection is empty. */
bool mf_set_subtract_common(struct mf_set *s, const struct mf_set *b);
/* Call fn on every member, in upstream's order (members, then children, depth first). */
typedef void (*mf_path_fn)(void *ctx, const struct mf_pe *const *path, size_t n);
void mf_set_iterate(const struct mf_set *s, mf_path_fn fn, void *ctx);
/* fieldsV1 (Set.ToJSON) as a jansson object with upstream's key order; a new reference. */
json_t *mf_set_to_fields(const struct mf_set *s);
/* Set.FromJSON of a fieldsV1 object; NULL with *err (static text) when it is malformed. */
struct mf_set *mf_set_from_fields(const json_t *fields, char **err);
/* Whether mf_set_to_fields(s) would give exactly fields: the same keys in the same order, with
   the same spelling, and {} for every leaf and ".". */
bool mf_set_matches_fields(const struct mf_set *s, const json_t *fields);

/* ---- types (schema.TypeRef and schema.Atom, derived from the definitions) -------------------- */

enum mf_scalar { MF_SC_NONE, MF_SC_STRING, MF_SC_NUMERIC, MF_SC_BOOLEAN, MF_SC_UNTYPED };
enum mf_rel { MF_REL_SEPARABLE, MF_REL_ATOMIC, MF_REL_ASSOCIATIVE };
enum mf_tref_kind { MF_T_NONE, MF_T_SCHEMA, MF_T_UNTYPED, MF_T_DEDUCED };

struct mf_type; /* a TypeRef compiled once per definitions object (mf_typed.c) */

struct mf_tref {
    enum mf_tref_kind kind;     /* MF_T_NONE: an empty TypeRef (a field the schema does not have) */
    const json_t *node;         /* MF_T_SCHEMA: a property, items or definition schema */
    int map_rel;                /* -1, or the enum mf_rel a referencing property imposes on a map */
    const struct mf_type *type; /* its compiled form, or NULL (then resolved from node) */
};

struct mf_atom {
    bool has_scalar, has_list, has_map;
    enum mf_scalar scalar;
    enum mf_rel list_rel;
    const json_t *list_keys; /* array of key names, or NULL */
    struct mf_tref list_elem;
    enum mf_rel map_rel;
    const json_t *fields; /* struct properties, or NULL */
    struct mf_tref map_elem;
    const struct mf_type *type; /* the compiled type it was resolved from, or NULL */
};

struct mf_types;

/* The schema of one call: the definitions and the root type. Set defs and root only; the
   compiled form of the definitions (every type resolved, every struct's normalisation rules) is
   looked up on first use. It is built once per definitions object and shared by every call and
   thread for the rest of the process, so the definitions must not change once used here (the
   API contract's never do); it keeps a reference on them. mf_schema_release frees what a call
   compiled for itself (only when more definitions objects were seen than are kept). */
struct mf_schema {
    const json_t *defs;
    const char *root;
    struct mf_types *types; /* NULL until first use; shared, or owned when owns_types */
    bool owns_types;
    const char *looked_up; /* the root whose definition root_def is, once looked up */
    const json_t *root_def;
    struct mf_type *strays; /* owned: types of nodes no compiled graph has (none expected) */
    /* The metadata of the right-hand object whose "managedFields" mf_compare treats as absent
       (mf_update's new object is compared without them), or NULL. Only ever set when the root
       and metadata are maps the walks go into (mf_can_hide_managed_fields). */
    const json_t *hidden_meta;
};
/* Whether a metadata.managedFields may be hidden from the walks for the root type. */
bool mf_can_hide_managed_fields(const struct mf_schema *sc);
void mf_schema_release(struct mf_schema *sc);

/* schema.Resolve: 0 and *out, or -1 when a $ref names no definition. sc is const for the
   walks, but its cache fills up. */
int mf_resolve(const struct mf_schema *sc, const struct mf_tref *tr, struct mf_atom *out);
/* The type of a struct field or map value (FindField, else the element type). */
struct mf_tref mf_atom_field(const struct mf_atom *a, const char *name, bool *declared);
struct mf_tref mf_root_tref(const struct mf_schema *sc);

/* ---- typed values ------------------------------------------------------------------------------
 * Values are jansson trees: NULL is "absent", json null is null. Errors are collected as
 * upstream's ValidationErrors text into a strbuf-backed list. */

struct mf_errs {
    char **items; /* "path: message" */
    size_t n, alloc;
};
void mf_errs_release(struct mf_errs *e);
/* ValidationErrors.Error(): one error alone, else "errors:\n  e1\n  e2". Caller frees. */
char *mf_errs_text(const struct mf_errs *e);

/* What Go would hold after decoding obj into its struct (api/README.md's omit rules): empty
   fields dropped, structs and never-omitted fields filled, unknown fields dropped. A new
   reference whose struct objects and arrays are new; scalars and preserved subtrees are shared
   with obj, so only the containers may be changed in place. */
json_t *mf_normalize(const struct mf_schema *sc, const json_t *obj);
/* Whether obj already is what mf_normalize gives, but for the order of struct keys (a stored,
   canonical object usually is). Where key order does not matter, obj can then stand for its
   normalised form. False also when unsure (very deep values). */
bool mf_is_normal(const struct mf_schema *sc, const json_t *obj);
/* Whether mf_normalize gives a new object for obj, rather than obj itself (an object of a root
   that is a struct). */
bool mf_normalizes(const struct mf_schema *sc, const json_t *obj);

/* typed.AsTyped: 0, or -1 with errors appended. */
int mf_validate(const struct mf_schema *sc, const json_t *v, bool allow_duplicates,
                struct mf_errs *errs);
/* TypedValue.ToFieldSet (the value must be valid); NULL on schema errors. */
struct mf_set *mf_to_field_set(const struct mf_schema *sc, const json_t *v);
/* Set.EnsureNamedFieldsAreMembers against the root type. */
struct mf_set *mf_ensure_named(const struct mf_schema *sc, const struct mf_set *s);

struct mf_comparison {
    struct mf_set *removed, *modified, *added;
};
int mf_compare(const struct mf_schema *sc, const json_t *lhs, const json_t *rhs,
               struct mf_comparison *out, struct mf_errs *errs);
/* mf_compare, on objects not known to be normalised nor valid, finding out on the way: *fit
   tells whether rhs (without sc->hidden_meta's managedFields), and lhs when check_lhs, would
   pass mf_validate (duplicates allowed) and are what mf_normalize gives but for key order.
   Only then is the comparison that of their normalised forms. */
int mf_compare_checked(const struct mf_schema *sc, const json_t *lhs, const json_t *rhs,
                       bool check_lhs, struct mf_comparison *out, struct mf_errs *errs, bool *fit);
void mf_comparison_release(struct mf_comparison *c);
/* Comparison.FilterFields with an exclude filter (RecursiveDifference); NULL keeps all. */
void mf_comparison_exclude(struct mf_comparison *c, const struct mf_set *exclude);

/* TypedValue.Merge (rule: keep the right-hand side). New ref, or NULL with errs. The result
   shares subtrees with lhs and rhs: treat it as read-only (deep-copy it to change it). */
json_t *mf_merge(const struct mf_schema *sc, const json_t *lhs, const json_t *rhs,
                 struct mf_errs *errs);
/* TypedValue.RemoveItems. New ref (json null when nothing is left), sharing subtrees with v:
   read-only, like mf_merge's result. */
json_t *mf_remove_items(const struct mf_schema *sc, const json_t *v, const struct mf_set *rm);

/* ---- managers (fieldpath.ManagedFields plus the times, internal.Managed) --------------------- */

struct mf_entry {
    char *id;          /* BuildManagerIdentifier: {"manager":..,"operation":..,...} */
    char *manager;     /* parsed back from id */
    char *operation;   /* "Apply" or "Update", from id */
    char *subresource; /* from id; "" for the main resource */
    char *api_version; /* of the set */
    bool applied;
    struct mf_set *set;
    /* The fieldsV1 the set was read from (borrowed from the decoded list, NULL for a new set):
       when the set still encodes to exactly that, mf_managed_encode reuses it (a write leaves
       most sets as they were). */
    const json_t *fields_json;
};

/* The times live apart from the sets, as upstream's Times() map does: a manager that loses its
   set keeps its time there, and gets it back if its set returns in the same request. */
struct mf_time {
    char *id;
    char *time; /* RFC 3339, or NULL (a nil *Time) */
};

struct mf_managed {
    struct mf_entry *items;
    size_t n, alloc;
    struct mf_time *times;
    size_t n_times, a_times;
};

void mf_managed_init(struct mf_managed *m);
void mf_managed_release(struct mf_managed *m);
struct mf_entry *mf_managed_get(struct mf_managed *m, const char *id);
/* Add or replace the set of id (set is stolen). */
struct mf_entry *mf_managed_put(struct mf_managed *m, const char *id, struct mf_set *set,
                                const char *api_version, bool applied);
void mf_managed_remove(struct mf_managed *m, const char *id);
/* A deep copy into dst (initialised here). */
void mf_managed_copy(struct mf_managed *dst, const struct mf_managed *src);
/* times[id] = time (NULL for a nil time). */
void mf_managed_set_time(struct mf_managed *m, const char *id, const char *time);
/* DecodeManagedFields of a managedFields array (NULL: none). 0, or -1 with *err (caller frees). */
int mf_managed_decode(const json_t *list, struct mf_managed *out, char **err);
/* encodeManagedFields: the sorted managedFields array, a new reference (empty when none). */
json_t *mf_managed_encode(const struct mf_managed *m);
/* BuildManagerIdentifier for (manager, operation, apiVersion, subresource). Caller frees. */
char *mf_manager_id(const char *manager, bool applied, const char *api_version,
                    const char *subresource);
/* printManager: `"m" using v1`, `"m" with subresource "status" using v1`, `"m"` for Apply. */
void mf_print_manager(struct strbuf *sb, const char *id);
/* Drop the entries of other API versions: their conversion fails as a missing version. */
void mf_managed_drop_other_versions(struct mf_managed *m, const char *api_version);

/* merge.Updater.update: the other managers lose what changed; conflicts (an array of
   {manager id, path}) are returned when !force and there are any. 0, 1 on conflicts, -1. */
struct mf_conflict {
    char *manager_id;
    struct mf_pe *path; /* owned elements */
    size_t n;
};
struct mf_conflicts {
    struct mf_conflict *items;
    size_t n, alloc;
};
void mf_conflicts_release(struct mf_conflicts *c);
int mf_updater_update(const struct mf_schema *sc, const struct mf_set *exclude, const json_t *lhs,
                      const json_t *rhs, const char *api_version, struct mf_managed *m,
                      const char *workflow, bool force, struct mf_comparison *cmp_out,
                      struct mf_conflicts *conflicts, struct mf_errs *errs);

/* The reset fields of the request as a set (NULL when none). */
struct mf_set *mf_reset_set(const char *const *paths);
/* stripMetaManager: the fields no manager is said to own. */
void mf_strip_meta(struct mf_managed *m, const char *id);
/* The live object as the empty object of the kind (Go's zero struct, marshalled). New ref. */
json_t *mf_zero_object(const struct mf_schema *sc);
/* The same object built once per kind and shared by every call and thread: borrowed, never to
   be changed, valid as long as the definitions. */
const json_t *mf_zero_shared(const struct mf_schema *sc);
/* The Update chain below skipNonApplied (capManagers, buildManagerInfo, managedFieldsUpdater,
   stripMeta, structuredMerge) on normalised objects; m is updated in place. 0, or -1 with
   *err (caller frees) when upstream's Update would fail. */
int mf_track_update(const struct mf_context *ctx, const struct mf_schema *sc, const json_t *live,
                    const json_t *obj, const char *manager, struct mf_managed *m, char **err);
/* The subresource of the request, "" for the object itself. */
const char *mf_subresource(const struct mf_context *ctx);
/* objectGVKNN: "<namespace>/<name>; <group>/<version>, Kind=<kind>" of obj. Caller frees. */
char *mf_object_gvknn(const json_t *obj);
/* The process-lifetime copy of s when it is a property name of the first definitions compiled
   for sharing, else NULL: path elements point at it rather than copy it. */
const char *mf_intern(const char *s);
/* Path elements: copy (owning) and release. */
void mf_pe_copy(struct mf_pe *dst, const struct mf_pe *src);
void mf_pe_release(struct mf_pe *pe);

#endif
