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
#include <stdint.h>

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
    size_t bytes; /* text held by the items, for the FE_MAX_BYTES bound */
};

/*
 * Bounds on one list. Validators run on request data, and some upstream messages repeat a large
 * value once per problem (every extra controller in ownerReferences prints the whole list), so an
 * unbounded list could turn a few megabytes of request into gigabytes. Errors past either bound
 * are dropped; a list that reached a bound is still a failed validation. Upstream has no bound:
 * the output differs only for requests with thousands of errors.
 */
#define FE_MAX_ERRORS 4096
#define FE_MAX_BYTES  ((size_t)16 << 20)

/* How Go's %#v prints a nil []string (a list that is absent, as opposed to empty). */
#define FE_NIL_STRINGS "[]string(nil)"

void fe_init(struct field_errors *errs);
void fe_release(struct field_errors *errs);

/*
 * Append an error. field, value and detail are copied; value and detail may be NULL.
 * value is the rendered bad value. NULL means "no value shown" (upstream's omitValue): the body
 * is then the type text and the detail only. For a Go nil pointer pass FE_NIL_VALUE: upstream's
 * ErrorBody turns nil into the Go string "null" and then quotes it like any string.
 * Required, Forbidden, TooLong and Internal never show a value.
 */
#define FE_NIL_VALUE "\"null\""
void fe_add(struct field_errors *errs, enum fe_type type, const char *field, const char *value,
            const char *detail);
/* Same, with a printf-style detail. */
void fe_addf(struct field_errors *errs, enum fe_type type, const char *field, const char *value,
             const char *detail_fmt, ...) __attribute__((format(printf, 5, 6)));
/* Move every error of src to the end of dst; src is left empty. */
void fe_append(struct field_errors *dst, struct field_errors *src);

/* ---- constructors named after apimachinery's (field.Required, field.Invalid, ...) ------------
 * value arguments are rendered values (see fe_quote); *_str variants quote a raw string first. */
void fe_required(struct field_errors *errs, const char *field, const char *detail);
void fe_forbidden(struct field_errors *errs, const char *field, const char *detail);
void fe_internal(struct field_errors *errs, const char *field, const char *detail);
void fe_invalid(struct field_errors *errs, const char *field, const char *value,
                const char *detail);
void fe_invalid_str(struct field_errors *errs, const char *field, const char *raw,
                    const char *detail);
void fe_invalid_int(struct field_errors *errs, const char *field, long long v, const char *detail);
void fe_duplicate(struct field_errors *errs, const char *field, const char *value);
void fe_duplicate_str(struct field_errors *errs, const char *field, const char *raw);
void fe_not_found(struct field_errors *errs, const char *field, const char *value);
/* "Too long: may not be more than <max> bytes"; max < 0 gives "Too long: value is too long". */
void fe_too_long(struct field_errors *errs, const char *field, long long max);
/* "Too many: <actual>: must have at most <max> items"; actual < 0 omits the count and max < 0
 * gives "has too many items", as field.TooMany does. */
void fe_too_many(struct field_errors *errs, const char *field, long long actual, long long max);
/*
 * "Unsupported value: <value>: supported values: "a", "b"". The supported values are printed in
 * the order given (upstream callers pass sorted lists: sets.List); n == 0 prints no list.
 */
void fe_not_supported(struct field_errors *errs, const char *field, const char *value,
                      const char *const *supported, size_t n);
/* True when the list holds a FE_MAX_* bound's worth and further errors are being dropped. */
bool fe_full(const struct field_errors *errs);

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
char *fe_quote(const char *s);                    /* Go %q of a string: "abc", with Go escapes */
char *fe_quote_len(const char *s, size_t len);    /* the same for bytes that may hold NUL */
char *fe_int(long long v);                        /* 30080 */
char *fe_bool(bool v);                            /* true */
char *fe_strings(const char *const *v, size_t n); /* []string{"a", "b"}; []string{} when n == 0 */
/* The same from a JSON array of strings (a non-string item prints as ""); NULL or a non-array
 * prints FE_NIL_STRINGS, as a field left out decodes to a nil slice. */
char *fe_json_strings(const json_t *array);

/* ---- Go's view of text, for validators that must judge characters as upstream does --------- */
/* utf8.DecodeRuneInString: the rune at s[0..n) (n > 0) and its width; U+FFFD and width 1 for a
 * byte that does not start a valid, shortest-form UTF-8 sequence. */
size_t fe_decode_rune(const char *s, size_t n, uint32_t *rune);
/* unicode.IsPrint / strconv.IsPrint of Go 1.24 (Unicode 15.0): letters, marks, numbers,
 * punctuation, symbols and the ASCII space. */
bool fe_is_print(uint32_t rune);

/* ---- paths ------------------------------------------------------------------------------------
 * Build child paths; each returns a new string the caller frees. */
char *fe_path_child(const char *parent, const char *name); /* parent.name (or name) */
char *fe_path_index(const char *parent, size_t i);         /* parent[i] */
char *fe_path_key(const char *parent, const char *key);    /* parent[key] */

#endif
