/*
 * field_error: lists of field-level validation errors, rendered exactly as apimachinery's
 * field.Error and field.ErrorList (pkg/util/validation/field) render them.
 *
 * A validator appends errors to a caller-owned list; the list is later turned into the
 * `causes` of a 422 Invalid Status (by apierr) and into the aggregated message
 * `Kind "name" is invalid: [e1, e2]`. Values are rendered when an error is added, with the
 * Go fmt rules upstream uses (fe_quote, fe_int, fe_strings, ...), so the list owns only strings.
 * Depends on nothing but libc and jansson.
 */
#ifndef SVC_FIELD_ERROR_H
#define SVC_FIELD_ERROR_H

#include <stdbool.h>
#include <stddef.h>

typedef struct json_t json_t;

enum fe_type {
    FE_REQUIRED,      /* "Required value"                           FieldValueRequired */
    FE_INVALID,       /* "Invalid value: V[: detail]"               FieldValueInvalid */
    FE_DUPLICATE,     /* "Duplicate value: V"                       FieldValueDuplicate */
    FE_NOT_SUPPORTED, /* "Unsupported value: V[: supported values: ...]" FieldValueNotSupported */
    FE_FORBIDDEN,     /* "Forbidden: detail"                        FieldValueForbidden */
    FE_TOO_LONG,      /* "Too long: may not be more than N bytes"   FieldValueTooLong */
    FE_TOO_MANY,      /* "Too many: A: must have at most N items"   FieldValueTooMany */
    FE_NOT_FOUND,     /* "Not found: V"                             FieldValueNotFound */
    FE_INTERNAL,      /* "Internal error: detail"                   InternalError */
    FE_TYPE_INVALID,  /* "Invalid value: V: detail"                 FieldValueTypeInvalid */
};

struct field_error {
    enum fe_type type;
    char *field;  /* owned; the path, e.g. "spec.ports[0].port" */
    char *value;  /* owned; the rendered bad value (e.g. "\"abc\"", "0", "[]string{\"a\"}"),
                     NULL when the error type shows none */
    char *detail; /* owned; may be NULL or "" */
};

struct field_errors {
    struct field_error *items; /* owned array */
    size_t len;
    size_t alloc;
};

void fe_init(struct field_errors *errs);
void fe_release(struct field_errors *errs);

/* Append an error. field, value and detail are copied; value and detail may be NULL. */
void fe_add(struct field_errors *errs, enum fe_type type, const char *field, const char *value,
            const char *detail);
/* Same, with a printf-style detail. */
void fe_addf(struct field_errors *errs, enum fe_type type, const char *field, const char *value,
             const char *detail_fmt, ...) __attribute__((format(printf, 5, 6)));
/* Move every error of src to the end of dst; src is left empty. */
void fe_append(struct field_errors *dst, struct field_errors *src);

/* The message of one error without its path ("Invalid value: 0: must be ..."); caller frees. */
char *fe_body(const struct field_error *e);
/* "<field>: <body>" (apimachinery's Error()); caller frees. */
char *fe_error_string(const struct field_error *e);
/* The cause reason ("FieldValueInvalid", ...). Static string. */
const char *fe_reason(enum fe_type type);
/*
 * The aggregate of the list as apimachinery prints it: one error -> "<e>"; several ->
 * "[<e1>, <e2>]", de-duplicated by their full string, in order. Caller frees. "" when empty.
 */
char *fe_aggregate(const struct field_errors *errs);

/* ---- value rendering (Go fmt rules, as upstream passes values to field.Invalid) ---------------
 * Each returns a newly allocated string the caller frees. */
char *fe_quote(const char *s);            /* Go %q of a string: "abc", with Go escapes */
char *fe_int(long long v);                /* 30080 */
char *fe_bool(bool v);                    /* true */
char *fe_strings(const char *const *v, size_t n); /* []string{"a", "b"}; []string{} when n == 0 */
char *fe_json_strings(const json_t *array); /* the same from a JSON array of strings */

/* ---- paths ------------------------------------------------------------------------------------
 * Build child paths; each returns a new string the caller frees. */
char *fe_path_child(const char *parent, const char *name); /* parent.name (or name) */
char *fe_path_index(const char *parent, size_t i);         /* parent[i] */
char *fe_path_key(const char *parent, const char *key);    /* parent[key] */

#endif
