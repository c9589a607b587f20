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
/* Call fn on every member, in upstream's order (members, then children, depth first). */
typedef void (*mf_path_fn)(void *ctx, const struct mf_pe *const *path, size_t n);
void mf_set_iterate(const struct mf_set *s, mf_path_fn fn, void *ctx);
/* fieldsV1 (Set.ToJSON) as a jansson object with upstream's key order; a new reference. */
json_t *mf_set_to_fields(const struct mf_set *s);
/* Set.FromJSON of a fieldsV1 object; NULL with *err (static text) when it is malformed. */
struct mf_set *mf_set_from_fields(const json_t *fields, char **err);

/* ---- types (schema.TypeRef and schema.Atom, derived from the definitions) -------------------- */

enum mf_scalar { MF_SC_NONE, MF_SC_STRING, MF_SC_NUMERIC, MF_SC_BOOLEAN, MF_SC_UNTYPED };
enum mf_rel { MF_REL_SEPARABLE, MF_REL_ATOMIC, MF_REL_ASSOCIATIVE };
enum mf_tref_kind { MF_T_NONE, MF_T_SCHEMA, MF_T_UNTYPED, MF_T_DEDUCED };

struct mf_tref {
    enum mf_tref_kind kind; /* MF_T_NONE: an empty TypeRef (a field the schema does not have) */
    const json_t *node;     /* MF_T_SCHEMA: a property, items or definition schema */
    int map_rel;            /* -1, or the enum mf_rel a referencing property imposes on a map */
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
};

struct mf_atom_cache;

/* The schema of one call: the definitions and the root type, plus a cache of resolved types
   (the walks resolve the same schema nodes over and over). mf_schema_release frees the cache. */
struct mf_schema {
    const json_t *defs;
    const char *root;
    struct mf_atom_cache *cache; /* owned, NULL until first use */
};
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
/* The Update chain below skipNonApplied (capManagers, buildManagerInfo, managedFieldsUpdater,
   stripMeta, structuredMerge) on normalised objects; m is updated in place. 0, or -1 with
   *err (caller frees) when upstream's Update would fail. */
int mf_track_update(const struct mf_context *ctx, const struct mf_schema *sc, const json_t *live,
                    const json_t *obj, const char *manager, struct mf_managed *m, char **err);
/* The subresource of the request, "" for the object itself. */
const char *mf_subresource(const struct mf_context *ctx);
/* objectGVKNN: "<namespace>/<name>; <group>/<version>, Kind=<kind>" of obj. Caller frees. */
char *mf_object_gvknn(const json_t *obj);
/* Path elements: copy (owning) and release. */
void mf_pe_copy(struct mf_pe *dst, const struct mf_pe *src);
void mf_pe_release(struct mf_pe *pe);

#endif
