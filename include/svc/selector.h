/*
 * selector: Kubernetes label selectors and field selectors, parsed and matched as apimachinery
 * v0.33 does it (pkg/labels, pkg/fields, and LabelSelectorAsSelector / FormatLabelSelector of
 * pkg/apis/meta/v1).
 *
 * Parse failures come back as a message string, word for word what kube-apiserver puts in the
 * 400 BadRequest Status for a bad `labelSelector` or `fieldSelector` query parameter; the
 * caller owns the string and builds the Status. Parsing is linear in the input (plus a sort),
 * never recursive, and a parsed selector is immutable, so one selector may be matched from
 * several threads at once. Depends on libc and jansson (labels are jansson objects); knows
 * nothing about HTTP or about any kind.
 */
#ifndef SVC_SELECTOR_H
#define SVC_SELECTOR_H

#include <stdbool.h>
#include <stddef.h>

typedef struct json_t json_t;

/* ---- label selectors ------------------------------------------------------------------------ */

/* A parsed label selector: an AND of requirements, kept sorted by key. Opaque. */
struct label_selector;

/*
 * Parse the `labelSelector` grammar (labels.Parse): `k=v`, `k==v`, `k!=v`, `k in (a,b)`,
 * `k notin (a,b)`, `k`, `!k`, `k>5`, `k<5`, joined by commas, with blanks around tokens.
 * Keys must be qualified names and values label values. "" (or only blanks) gives the empty
 * selector, which matches everything.
 * Returns a new selector (free with label_selector_free), or NULL with *err set to a newly
 * allocated message the caller frees ("unable to parse requirement: ...", "found 'b', expected:
 * ',' or 'end of string'", ...). s is borrowed; err must not be NULL.
 * The _n form takes an explicit length, for input that may hold NUL bytes: upstream's lexer
 * takes a NUL byte inside a token as the token's end and one where a token would start as the
 * end of the string ("a,\0b" is "a,b" but "a \0b" is "a"), which the C-string form cannot see.
 */
struct label_selector *label_selector_parse(const char *s, char **err);
struct label_selector *label_selector_parse_n(const char *s, size_t len, char **err);

/*
 * Convert a metav1.LabelSelector ({"matchLabels":{...},"matchExpressions":[{"key","operator",
 * "values"}]}, as in a ReplicaSet's spec.selector) like LabelSelectorAsSelector:
 *   - ls NULL or JSON null: the "nothing" selector, which matches no object;
 *   - no matchLabels and no matchExpressions: the empty selector, which matches everything;
 *   - otherwise the AND of key=value for each matchLabels entry and of each expression
 *     (operators In, NotIn, Exists, DoesNotExist), validated as upstream validates them.
 * Returns a new selector, or NULL with *err set to a newly allocated message, e.g.
 * `"Foo" is not a valid label selector operator` or
 * `values: Invalid value: []string(nil): for 'in', 'notin' operators, values set can't be empty`.
 * Upstream walks matchLabels in Go map order (random), so when several entries are bad the one
 * reported is random there; here entries are checked in key order. Members of the wrong JSON type
 * (which Go would have refused to decode) read as empty. ls is borrowed.
 */
struct label_selector *label_selector_from_json(const json_t *ls, char **err);

/*
 * The selector of a plain label map such as a Service's spec.selector (labels.SelectorFromSet):
 * key=value for each entry, not validated. NULL or an empty object gives the empty selector,
 * which matches everything. Never fails; map is borrowed; non-string values read as "".
 */
struct label_selector *label_selector_from_map(const json_t *map);

/* Free a selector; NULL is allowed. */
void label_selector_free(struct label_selector *sel);

/*
 * Whether the labels (a JSON object of strings, borrowed; NULL means no labels) satisfy every
 * requirement. `k!=v` and `k notin (...)` also hold when k is absent; `k>n` and `k<n` hold only
 * when the label parses as a base-10 int64. A member whose value is not a JSON string is treated
 * as absent (a stored object never has one).
 */
bool label_selector_matches(const struct label_selector *sel, const json_t *labels);

/* True for a selector that selects everything (no requirements); false for "nothing". */
bool label_selector_empty(const struct label_selector *sel);

/*
 * The value the selector requires for label key when the first requirement on that key is
 * `key=v`, `key==v` or `key in (v)` with a single value (RequiresExactMatch): borrowed from sel,
 * NULL otherwise.
 */
const char *label_selector_requires_exact_match(const struct label_selector *sel, const char *key);

/*
 * The canonical string of the selector (Selector.String()): requirements in key order, joined
 * with ",", as `k=v`, `k==v`, `k!=v`, `k in (a,b)`, `k notin (a,b)`, `k`, `!k`, `k>1`, `k<1`,
 * with the values of a set sorted. "" for the empty and the nothing selector.
 * Newly allocated; the caller frees.
 */
char *label_selector_string(const struct label_selector *sel);

/*
 * metav1.FormatLabelSelector: the string of label_selector_from_json(ls), "<none>" when that
 * is empty (also for NULL or JSON null), "<error>" when the conversion fails. The Selector column
 * of the ReplicaSet table. Newly allocated; the caller frees.
 */
char *label_selector_format_json(const json_t *ls);

/*
 * labels.FormatLabels: "k=v" for each entry of a label map, sorted as whole strings, joined with
 * ","; "<none>" when map is NULL or empty. The Selector column of the Service table.
 * Newly allocated; the caller frees.
 */
char *label_selector_format_map(const json_t *map);

/* ---- field selectors ------------------------------------------------------------------------ */

/* A parsed field selector: an AND of terms, in sorted order. Opaque. */
struct field_selector;

enum field_selector_op {
    FIELD_SELECTOR_EQUALS,     /* `f=v` and `f==v` */
    FIELD_SELECTOR_NOT_EQUALS, /* `f!=v` */
};

/*
 * Parse the `fieldSelector` grammar (fields.ParseSelector): terms `f=v`, `f==v`, `f!=v` joined
 * by commas; in values `\,` `\=` `\\` stand for the character itself. Terms are kept in sorted
 * order of their text and empty ones skipped; a term with both field and value empty ("=") is
 * dropped, as upstream's parse drops it. Nothing is trimmed: "a = b" has field "a " and value
 * " b". Returns a new selector (free with field_selector_free), or NULL with *err set to a newly
 * allocated message: "invalid selector: 'a'; can't understand 'a'", "invalid field selector:
 * invalid escape sequence: \x", "invalid field selector: unescaped character in value: 61".
 * s is borrowed; err must not be NULL. The _n form accepts NUL bytes in the input.
 */
struct field_selector *field_selector_parse(const char *s, char **err);
struct field_selector *field_selector_parse_n(const char *s, size_t len, char **err);

/* Free a selector; NULL is allowed. */
void field_selector_free(struct field_selector *sel);

/*
 * Gives the value of one field of the object being matched, or NULL when the object has no such
 * field; a missing field matches as "" (fields.Set.Get). The result is borrowed and must stay
 * valid until the next call of the getter or the end of the match.
 */
typedef const char *(*field_selector_get_fn)(void *ctx, const char *field);

/* Whether every term holds, reading fields through get(ctx, field). */
bool field_selector_matches(const struct field_selector *sel, field_selector_get_fn get, void *ctx);
/* The same against a fields.Set given as a JSON object of strings (borrowed; NULL: no fields). */
bool field_selector_matches_set(const struct field_selector *sel, const json_t *set);

/* True when the selector has no terms (it matches everything). */
bool field_selector_empty(const struct field_selector *sel);

/* The terms, in the selector's order. i < field_selector_len(sel); results borrowed from sel. */
size_t field_selector_len(const struct field_selector *sel);
const char *field_selector_field(const struct field_selector *sel, size_t i);
const char *field_selector_value(const struct field_selector *sel, size_t i);
enum field_selector_op field_selector_op(const struct field_selector *sel, size_t i);

/*
 * RequiresExactMatch: the value of the first `field=value` term on field (borrowed), or NULL
 * when there is none. `f!=v` terms never count. For the metadata.name / metadata.namespace fast
 * paths and for "fieldSelector metadata.name doesn't match requested name".
 */
const char *field_selector_requires_exact_match(const struct field_selector *sel,
                                                const char *field);

/*
 * A kind's field-label conversion, run over every term in order as the apiserver does before a
 * list or watch (Selector.Transform with Scheme.ConvertFieldLabel). For each term fn returns 0 to
 * keep it, optionally setting *new_field to a replacement name (borrowed; copied), or a negative
 * value with *err set to a newly allocated message to reject the selector. A term renamed to ""
 * whose value is "" is dropped, as upstream drops it.
 */
typedef int (*field_selector_convert_fn)(void *ctx, const char *field, const char *value,
                                         const char **new_field, char **err);
/* 0, or -1 with *err (newly allocated) from fn. sel is left unchanged on failure. */
int field_selector_convert(struct field_selector *sel, field_selector_convert_fn fn, void *ctx,
                           char **err);

/*
 * Reject the first field not in supported (a NULL-terminated list of names) with the message
 * core/v1's conversion functions use: "field label not supported: <field>".
 * 0, or -1 with *err newly allocated.
 */
int field_selector_check_supported(const struct field_selector *sel, const char *const *supported,
                                   char **err);
/*
 * The check the apiserver applies to kinds that register no conversion function
 * (runtime.DefaultMetaV1FieldSelectorConversion): only metadata.name and metadata.namespace,
 * with the message `"spec.foo" is not a known field selector: only "metadata.name",
 * "metadata.namespace"`. 0, or -1 with *err newly allocated.
 */
int field_selector_check_default(const struct field_selector *sel, char **err);

/*
 * The canonical string (Selector.String()): terms joined with ",", each `f=v` or `f!=v` with
 * `\`, `,` and `=` in values escaped again; "" for the empty selector. Newly allocated.
 */
char *field_selector_string(const struct field_selector *sel);

/* fields.EscapeValue: v with `\`, `,` and `=` escaped by a backslash. Newly allocated. */
char *field_selector_escape_value(const char *v);

#endif
