/*
 * patch: the three PATCH body formats kube-apiserver 1.33 accepts for built-in kinds, applied
 * the way it applies them: JSON merge patch (RFC 7386, as github.com/evanphx/json-patch v4.12.0
 * merges), JSON patch (RFC 6902, evanphx/json-patch v4.12.0 with apiserver's limits) and
 * strategic merge patch (apimachinery pkg/util/strategicpatch, errors from pkg/util/mergepatch),
 * including how apiserver's pkg/endpoints/handlers/patch.go decodes the body first and turns
 * every failure into an HTTP error.
 *
 * The module works on jansson trees and raw body bytes. It knows nothing about HTTP, the store
 * or Kubernetes kinds: strategic-merge metadata comes from the API contract's definitions (see
 * api/README.md), handed in by the caller. It never changes the caller's objects. Depends on
 * jansson, strbuf and util only.
 *
 * What the REST layer does around it (all as upstream's patch.go does):
 *  - It picks the function from the Content-Type with its parameters cut off (patch_type_parse).
 *  - It fetches the live object first. A missing object is 404 NotFound before the body is even
 *    decoded (patch.go: createNewObject of the json and strategic patchers).
 *  - It passes the live object as the versioned JSON (what a GET returns).
 *  - It decodes the result into the kind like a request body and answers with it. When that
 *    decoding fails, upstream answers errors.NewInvalid(GroupKind{}, "", [field.Invalid("patch",
 *    V, D)]): 422 Invalid, message ` "" is invalid: patch: Invalid value: <V as %q>: <D>` (note
 *    the leading space), details {"causes":[{"reason":"FieldValueInvalid","message":"Invalid
 *    value: <V as %q>: <D>","field":"patch"}]}. V is the patched document for json and merge
 *    patches, patch_strategic_apply's patch_repr for strategic ones.
 *  - fieldValidation: an absent parameter means Warn (handlers/rest.go fieldValidation). The
 *    strict errors this module collects (struct patch_strict) come before the ones found when
 *    decoding the result: under Warn each becomes a `Warning: 299 - "<text>"` header; under
 *    Strict, if there are any, they make that 422 with D = "strict decoding error: <e1>, <e2>".
 *
 * How a struct patch_error becomes the answer (rest/status.c builds it; every field is exact):
 *  - plain_text false: a Status {"kind":"Status","apiVersion":"v1","metadata":{},
 *    "status":"Failure","message":<message>,"reason":<reason>,"code":<code>}, where "reason" is
 *    left out when it is "" (a 500: StatusReasonUnknown), and "details":{} (empty: no causes,
 *    name or kind) is added only when details_empty is set (the 422 of
 *    errors.NewGenericServerResponse; kubectl then prints "The request is invalid: ..."). No
 *    error of this module carries causes.
 *  - plain_text true: upstream panics on this input and its panic filter answers instead:
 *    status 500, Content-Type "text/plain; charset=utf-8", body <message> followed by "\n".
 *  - detail is the upstream error text (the same as message except for the generic 422 and our
 *    own bounds): for logs and tests, never for the client.
 */
#ifndef SVC_PATCH_H
#define SVC_PATCH_H

#include <stdbool.h>
#include <stddef.h>

typedef struct json_t json_t;

/* Upstream limits. */
#define PATCH_MAX_JSON_PATCH_OPS 10000              /* patch.go maxJSONPatchOperations: 413 above */
#define PATCH_MAX_COPY_BYTES     (3L * 1024 * 1024) /* apiserver JSONPatchMaxCopyBytes default */
#define PATCH_MAX_STRICT_ERRORS  100                /* sigs.k8s.io/json keeps at most 100 */

/*
 * Our own bounds against hostile input (upstream has none this tight; it relies on its request
 * timeout). A body nested deeper than PATCH_MAX_DEPTH fails to decode like a Go body nested past
 * encoding/json's limit ("invalid character '[' exceeded max depth", 400). A result nested
 * deeper, or a patch needing more than PATCH_MAX_WORK elementary steps (lookups, comparisons,
 * copied nodes), fails with 413 RequestEntityTooLarge, "Request entity too large: the patch needs
 * too much work or nests too deeply to be applied". Recursion never goes deeper than about twice
 * PATCH_MAX_DEPTH, which a 2 MiB thread stack holds even under AddressSanitizer.
 */
#define PATCH_MAX_DEPTH 512
#define PATCH_MAX_WORK  20000000ULL

enum patch_type {
    PATCH_TYPE_JSON,      /* application/json-patch+json */
    PATCH_TYPE_MERGE,     /* application/merge-patch+json */
    PATCH_TYPE_STRATEGIC, /* application/strategic-merge-patch+json */
};

/* The fieldValidation query parameter; absent means PATCH_VALIDATION_WARN. */
enum patch_validation {
    PATCH_VALIDATION_IGNORE,
    PATCH_VALIDATION_WARN,
    PATCH_VALIDATION_STRICT,
};

/*
 * The media type (parameters already cut off) to a patch type: 0 and *out set, or -1 when it is
 * none of the three (application/apply-patch+yaml is server-side apply, not handled here).
 */
int patch_type_parse(const char *media_type, enum patch_type *out);

/* ---- errors -------------------------------------------------------------------------------- */

struct patch_error {
    int code;           /* HTTP status: 400, 413, 422 or 500; 0 while no error is set */
    const char *reason; /* static: "BadRequest", "RequestEntityTooLarge", "Invalid" or "" */
    char *message;      /* owned: Status.message (or the text/plain body without its "\n") */
    char *cause;        /* owned or NULL: message of details.causes[0]; NULL for every error
                           this module gives today (kept so the REST layer needs no change when
                           one appears) */
    bool details_empty; /* the Status carries "details":{} */
    bool plain_text;    /* not a Status: upstream's panic answer (see the top of this file) */
    char *detail;       /* owned: the upstream error text, for logs; equals message unless 422 */
};

/* Initialise err as "no error". */
void patch_error_init(struct patch_error *err);
/* Free what err owns; err may be initialised again. */
void patch_error_release(struct patch_error *err);

/* ---- strict decoding errors ------------------------------------------------------------------
 * sigs.k8s.io/json's strict findings while decoding the body: `duplicate field "spec.type"`,
 * and for JSON patches `json patch unknown field "[0].foo"`. Collected only under Warn and
 * Strict, deduplicated, at most PATCH_MAX_STRICT_ERRORS, in body order. */
struct patch_strict {
    char **items; /* owned strings */
    size_t len;
    size_t alloc;
};

void patch_strict_init(struct patch_strict *s);
void patch_strict_release(struct patch_strict *s);

/* ---- applying a body -------------------------------------------------------------------------
 * Each returns a new reference the caller owns (the patched document), or NULL with err set.
 * current is borrowed and never changed; it is normally an object. The result shares no
 * node with current, so the caller may change it. It is not always an object (an array merge
 * patch under Ignore, a JSON patch replacing the root): decoding it then fails as upstream's
 * does. strict may be NULL (the findings are then dropped); it is only appended to. */

/*
 * The patched document as apiserver quotes it in a "patch: Invalid value" error for a merge or
 * JSON patch (evanphx/json-patch's output): the objects the patch entered with sorted keys,
 * everything else as it was. current and patched are borrowed; body is the patch as sent.
 * Returns malloc'd text (caller frees).
 */
char *patch_render_merge(const json_t *current, const char *body, size_t len,
                         const json_t *patched);
char *patch_render_json(const char *body, size_t len, const json_t *patched);

/*
 * JSON merge patch. Under Warn and Strict the body must decode as a JSON object (or null), else
 * 400 "error decoding patch: <Go error>"; a syntax error, or a body that is null (or, under
 * Ignore, neither an object nor an array), is 400 "Invalid JSON Patch". Null members delete;
 * an array body (Ignore only) replaces the whole document.
 */
json_t *patch_merge_apply(const json_t *current, const char *body, size_t len,
                          enum patch_validation validation, struct patch_strict *strict,
                          struct patch_error *err);

/*
 * JSON patch. Decode errors are 400 (with "error decoding patch: " in front under Warn and
 * Strict); more than PATCH_MAX_JSON_PATCH_OPS operations is 413; any failing operation (a failed
 * test, a missing path, a bad index, an unknown op, the copy limit) is the generic 422.
 */
json_t *patch_json_apply(const json_t *current, const char *body, size_t len,
                         enum patch_validation validation, struct patch_strict *strict,
                         struct patch_error *err);

/*
 * Strategic merge patch against the definition named root (e.g. "io.k8s.api.core.v1.Service")
 * in definitions (borrowed; the compiled API contract: name -> definition). The body must decode
 * as a JSON object or null (400 with Go's decoding error otherwise). Merge errors get the codes
 * patch.go's interpretStrategicMergePatchError gives: 400 for the bad-format errors, 422 generic
 * for lists of lists, 500 (no reason) for the rest, e.g. "map: map[targetPort:80] does not
 * contain declared merge key: port".
 * Where a field has no schema (unknown to the definitions, or below
 * x-kubernetes-preserve-unknown-fields) lists are replaced and maps merged.
 * Existing keys keep their place in the result; new keys follow them.
 * patch_repr, if not NULL, receives (caller frees) the body as upstream prints it with %+v after
 * the merge has consumed its directives: the value of the "patch" cause when the result then
 * fails to decode. It is set only on success.
 */
json_t *patch_strategic_apply(const json_t *current, const char *body, size_t len,
                              const json_t *definitions, const char *root,
                              enum patch_validation validation, struct patch_strict *strict,
                              char **patch_repr, struct patch_error *err);

/* ---- applying trees ----------------------------------------------------------------------------
 * The same merges on already decoded patches (borrowed, never changed), for callers that hold a
 * tree (server-side apply treated as a strategic merge). */

/* RFC 7386 as evanphx merges: a JSON object patch merges; an array patch replaces (its members'
 * null fields pruned); NULL for any other patch (upstream's "Invalid JSON Patch"). */
json_t *patch_merge_tree(const json_t *current, const json_t *patch);

/* Strategic merge of an object patch; errors as patch_strategic_apply. */
json_t *patch_strategic_tree(const json_t *current, const json_t *patch, const json_t *definitions,
                             const char *root, struct patch_error *err);

/* ---- Go formatting -------------------------------------------------------------------------- */

/*
 * value as Go's fmt prints the equivalent interface{} with %v (and %+v): map[a:1 b:[x y]] with
 * keys sorted, <nil> for null, floats in %g's shortest form. Caller frees.
 */
char *patch_go_format(const json_t *value);

#endif
