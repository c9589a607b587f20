/*
 * patch_private: what the three files of src/patch share and nobody else may use: error
 * constructors and the work budget (mergepatch.c), decoding a body the way Go's encoding/json and
 * sigs.k8s.io/json decode it, with their exact error texts (jsonpatch.c), and Go's %v and JSON
 * number formatting (strategic.c). Depends on jansson and the public patch.h only.
 */
#ifndef SVC_PATCH_PRIVATE_H
#define SVC_PATCH_PRIVATE_H

#include "svc/patch.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct strbuf;

/* ---- error constructors (mergepatch.c); each replaces whatever err held ---------------------- */

/* 400 BadRequest with message msg (errors.NewBadRequest). */
void perr_bad_request(struct patch_error *err, const char *msg);
/* 422 Invalid with the generic message and "details":{} (errors.NewGenericServerResponse with
 * isUnexpectedResponse=false); detail is the hidden upstream text. */
void perr_invalid(struct patch_error *err, const char *detail);
/* 500 with no reason and message msg (a plain Go error reaching responsewriters). */
void perr_internal(struct patch_error *err, const char *msg);
/* Upstream panics on this input; detail names the panic for logs. */
void perr_panic(struct patch_error *err, const char *detail);
/* 413 RequestEntityTooLarge, "Request entity too large: <msg>". */
void perr_too_large(struct patch_error *err, const char *msg);
/* 413 for our own work and depth bounds. */
void perr_too_complex(struct patch_error *err);

/* Append msg (copied) unless already present or the list is full. */
void pstrict_add(struct patch_strict *s, const char *msg);

/* ---- the work budget ----------------------------------------------------------------------- */

struct pbudget {
    uint64_t left;
    bool exhausted;
};

void pbudget_init(struct pbudget *b);
/* Spend n steps; false (and exhausted set) once the budget is gone. */
bool pbudget_spend(struct pbudget *b, uint64_t n);

/* Deepest nesting of value (a scalar is 0, {} is 1), counting at most up to limit + 1. */
int pjson_depth(const json_t *value, int limit);

/* ---- decoding bodies like Go (jsonpatch.c) ----------------------------------------------------
 */

/* The Go type a body is decoded into; it decides the type errors and strict findings. */
enum gojson_target {
    GOJSON_MAP,       /* map[string]interface{} (sigs.k8s.io/json): SMP and merge patch */
    GOJSON_PATCH_OPS, /* []handlers.jsonPatchOp (sigs.k8s.io/json): JSON patch under Warn */
    GOJSON_EVANPHX,   /* jsonpatch.Patch (encoding/json): JSON patch under Ignore */
    GOJSON_MERGE_DOC, /* jsonpatch partialDoc (encoding/json): merge patch, any JSON accepted */
};

struct gojson_result {
    json_t *value; /* new reference on success (json null for a null body) */
    char *error;   /* owned Go error text on failure */
    bool syntax;   /* the failure is a *json.SyntaxError */
};

/*
 * Decode body into target. On success value is set and 0 returned; strict findings go to strict
 * when it is not NULL (sigs.k8s.io/json targets only). On failure -1 with error set. Numbers
 * become integers when they have no '.', 'e' or 'E' and fit int64 (PreserveInts), reals
 * otherwise. Invalid UTF-8 and lone surrogates become U+FFFD as Go does.
 */
int gojson_decode(const char *body, size_t len, enum gojson_target target,
                  struct patch_strict *strict, struct gojson_result *res);
void gojson_result_release(struct gojson_result *res);

/* ---- Go formatting (strategic.c) ---------------------------------------------------------------
 */

/* Append value as %v prints it. */
void gofmt_value(struct strbuf *sb, const json_t *value);
/* Append a float64 as strconv.FormatFloat(f, fmt, -1, 64) with fmt 'g' (%v) or as
 * encoding/json writes it (json true). */
void gofmt_float(struct strbuf *sb, double f, bool json);
/* Append s as Go's %q (strconv.Quote) writes it. */
void gofmt_quote(struct strbuf *sb, const char *s, size_t len);
/* The reflect type name of the Go value decoding gives for value ("string", "int64", "float64",
 * "bool", "map[string]interface {}", "[]interface {}", or "%!s(<nil>)" for null, as %s prints
 * a nil reflect.Type). */
const char *gofmt_type_name(const json_t *value);
/* Length of value as encoding/json marshals it (compact, HTML-escaped); stops counting past cap. */
size_t gojson_marshal_size(const json_t *value, size_t cap);

#endif
