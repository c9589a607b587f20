/*
 * yaml: YAML documents to and from jansson trees, behaving like sigs.k8s.io/yaml (the library
 * kube-apiserver and kubectl use), so that YAML request bodies decode to the same JSON as
 * upstream and YAML answers read like upstream's.
 *
 * Reading: one document, go-yaml v2 scalar resolution (YAML 1.1 booleans such as
 * yes/no/on/off, ints in decimal/octal/hex, floats, null and ~), anchors and aliases, merge
 * keys (<<), a depth limit. A stream with a second document holding anything is an error of
 * ours: upstream decodes the first document and silently drops the rest. Writing: keys sorted,
 * lists at the indentation of their parent key, strings quoted only when needed.
 * Depends on libyaml, jansson and strbuf only; never sees HTTP. The reader (yaml_read.c) is
 * also linked into the build-time generator tools/apigen, with strbuf.c alone beside it.
 *
 * How upstream's types become JSON (sigs.k8s.io/yaml converts YAML to JSON text, and
 * kube-apiserver decodes that text keeping integers as int64):
 * - integers that fit int64 become JSON integers; larger ones (go-yaml's uint64, or a decimal
 *   too long for any integer, which go-yaml reads as a float) become JSON reals;
 * - floats whose JSON text has no fraction or exponent (1.0, 1e3, 80.0: Go prints them as
 *   "1", "1000", "80") become JSON integers when they fit int64, others JSON reals;
 * - .inf and .nan cannot be JSON: an error, "json: unsupported value: +Inf", as upstream;
 * - timestamps stay the strings they were written as; !!binary is base64-decoded;
 * - mapping keys become strings: ints in decimal, floats as Go prints a float32, booleans as
 *   "true"/"false"; a null key is an error, as upstream ("unsupported map key of type: ...");
 * - duplicate keys: the last one wins (upstream's non-strict decoding); yaml_parse_strict also
 *   lists them the way go-yaml's strict decoding does.
 */
#ifndef SVC_YAML_H
#define SVC_YAML_H

#include <stddef.h>

typedef struct json_t json_t;
struct strbuf;

/* The depth go-yaml itself enforces, and the most yaml_parse accepts as max_depth. */
#define YAML_DEPTH_CAP 10000

/*
 * yaml_emit's result when upstream could not print v either: a string holding a character
 * go-yaml refuses (U+007F, C1 controls other than U+0085, U+FFFE, U+FFFF; upstream fails with
 * "yaml: control characters are not allowed"), or nesting deeper than YAML_DEPTH_CAP
 * ("yaml: exceeded max depth of 10000").
 */
#define YAML_EMIT_INVALID (-1)

struct yaml_error {
    int line;          /* 1-based line of the problem, 0 when unknown */
    int column;        /* 1-based column, 0 when unknown */
    char message[256]; /* e.g. "mapping values are not allowed in this context" */
    /*
     * The whole error as upstream's err.Error() reads, e.g.
     * "yaml: line 3: mapping values are not allowed in this context". go-yaml numbers lines
     * oddly (parser errors give the 0-based line, errors on the first line give none); text
     * keeps that, so show text to clients and line/column to people.
     */
    char text[320];
};

/*
 * Parse one YAML document of len bytes. Nesting deeper than max_depth (mappings plus
 * sequences, the top one counting 1, aliases counted where they expand) is an error;
 * max_depth <= 0 or above YAML_DEPTH_CAP means YAML_DEPTH_CAP. Alias expansion is bounded as
 * go-yaml bounds it, and also to 8 times the input plus 1 MiB of copied text (go-yaml shares
 * the strings instead): past either, "yaml: document contains excessive aliasing".
 * Returns a new reference, or NULL with err filled in (err may be NULL).
 * An empty document gives JSON null. Object keys keep the document's order.
 */
json_t *yaml_parse(const char *data, size_t len, int max_depth, struct yaml_error *err);

/*
 * yaml_parse, also reporting what go-yaml's strict decoding (YAMLToJSONStrict, which
 * kube-apiserver runs for fieldValidation=Strict/Warn) objects to: duplicate mapping keys,
 * including keys a merge (<<) already set. On success *strict_errors is NULL, or a new string
 * the caller frees, e.g. "yaml: unmarshal errors:\n  line 4: key \"a\" already set in map".
 * The tree returned is the non-strict one (the last duplicate wins).
 */
json_t *yaml_parse_strict(const char *data, size_t len, int max_depth, char **strict_errors,
                          struct yaml_error *err);

/*
 * Append v to out as YAML, as sigs.k8s.io/yaml.JSONToYAML prints Go's JSON of it (so a raw
 * U+0085 in a string is folded as go-yaml folds it when reading that JSON). v NULL prints
 * "null". Returns 0, or STRBUF_TOO_BIG when out's limit is reached, or YAML_EMIT_INVALID; on
 * failure out is left as it was.
 */
int yaml_emit(const json_t *v, struct strbuf *out);

/* ---- shared by yaml_read.c and yaml_write.c; other modules have no use for these ---------- */

/* What go-yaml v2 makes of an untagged plain scalar (its resolve()). */
enum yaml_plain_type {
    YAML_PLAIN_STR,
    YAML_PLAIN_NULL,
    YAML_PLAIN_BOOL,
    YAML_PLAIN_INT,  /* fits int64 */
    YAML_PLAIN_UINT, /* beyond int64, fits uint64 */
    YAML_PLAIN_FLOAT,
    YAML_PLAIN_TIMESTAMP,
};

struct yaml_plain_value {
    enum yaml_plain_type type;
    int b;                /* YAML_PLAIN_BOOL */
    long long i;          /* YAML_PLAIN_INT */
    unsigned long long u; /* YAML_PLAIN_UINT */
    double f;             /* YAML_PLAIN_FLOAT (may be inf or nan) */
};

/* Resolve the plain scalar s (len bytes) as go-yaml v2 does. out may be NULL. */
enum yaml_plain_type yaml_resolve_plain(const char *s, size_t len, struct yaml_plain_value *out);

/*
 * Format v as Go's strconv.FormatFloat(v, fmt, -1, bits) does (shortest form that reads back
 * as the same float64, or float32 when bits is 32), fmt being 'e', 'f' or 'g'; 'j' formats as
 * Go's encoding/json writes a float64. buf must hold 32 bytes; returns buf. Infinities and NaN
 * give "+Inf", "-Inf", "NaN".
 */
char *yaml_format_go_float(double v, char fmt, int bits, char *buf);

#endif
