/*
 * schema: the type schemas of the api/types files put to work on objects.
 *
 * Every object the server stores or returns passes through schema_canonicalize, which makes it
 * look as if kube-apiserver had decoded it into its Go struct and encoded it again: keys in Go
 * struct order, map keys sorted, empty fields dropped or kept as encoding/json would (the `omit`
 * rules of api/README.md), unknown fields pruned (and reported, for fieldValidation=Warn and
 * Strict), and values of the wrong JSON type refused with the decoder's message. The same
 * schemas give strategic-merge metadata (schema_lookup_field).
 *
 * schema_new compiles the definitions into typed tables once; a schema is immutable afterwards
 * and every function here may be called on it from any number of threads at once.
 * Depends on jansson and util only.
 */
#ifndef SVC_SCHEMA_H
#define SVC_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>

typedef struct json_t json_t;
struct strbuf;

struct schema;

/*
 * Build from a definitions object (name -> definition); takes a new reference to defs, which must
 * not change while the schema lives (the compiled form points into it).
 */
struct schema *schema_new(json_t *defs);
void schema_free(struct schema *s);
/* The definitions object, borrowed and read-only (for the patch module and OpenAPI). */
json_t *schema_definitions(const struct schema *s);
/* The definition named name, borrowed, or NULL. */
const json_t *schema_definition(const struct schema *s, const char *name);

/* What canonicalisation found besides the result. */
struct schema_report {
    json_t *unknown;  /* array of field paths that were pruned ("spec.bogusField"); owned */
    char *type_error; /* owned; the first wrong-typed value, in Go's decoder words, or NULL */
};
void schema_report_init(struct schema_report *rep);
void schema_report_release(struct schema_report *rep);

/*
 * Canonicalise obj as an instance of definition def_name. Returns a new reference, or NULL when
 * a value had the wrong type (rep->type_error says which, e.g. "json: cannot unmarshal string
 * into Go struct field ServicePort.spec.ports.port of type int32"). Unknown fields are dropped
 * and listed in rep->unknown (rep may be NULL when the caller does not care). obj is not changed.
 * Every object and array of the result is new; strings and numbers may be shared with obj, which
 * is safe because nothing changes a jansson scalar in place (do not start: no json_string_set,
 * json_integer_set or json_real_set on a canonical object).
 */
json_t *schema_canonicalize(const struct schema *s, const char *def_name, const json_t *obj,
                            struct schema_report *rep);

/*
 * Set obj[key] = value (stolen) where key belongs in definition def_name's property order, so
 * that later in-place updates of that key keep the canonical order. Unknown keys go last.
 */
void schema_set_ordered(const struct schema *s, const char *def_name, json_t *obj, const char *key,
                        json_t *value);

/* Patch metadata of a field, for strategic merge patch and server-side apply. */
struct schema_field {
    const json_t *prop; /* the property schema, borrowed; NULL when unknown */
    const char *ref;    /* the struct definition of the value (or of list items), or NULL */
    bool is_list, is_map;
    const char *patch_strategy;  /* "merge", "retainKeys", "merge,retainKeys", or NULL */
    const char *patch_merge_key; /* or NULL */
    const char *list_type;       /* "atomic", "set", "map", or NULL */
};
/* Describe property name of definition def_name; 0, or -1 when unknown. */
int schema_lookup_field(const struct schema *s, const char *def_name, const char *name,
                        struct schema_field *out);

#endif
