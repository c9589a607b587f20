/*
 * strategic: strategic merge patch as kube-apiserver 1.33 applies it
 * (apimachinery pkg/util/strategicpatch StrategicMergeMapPatch with MergeParallelList and
 * IgnoreUnmatchedNulls, errors from pkg/util/mergepatch, HTTP codes from patch.go's
 * interpretStrategicMergePatchError), with the patch metadata read from the API contract's
 * definitions instead of Go struct tags; plus Go's %v formatting that its error texts need.
 *
 * The merge is a line-by-line port: upstream mutates the patch as it goes, shares maps between
 * the patch and the result, and its list ordering leans on sort.SliceStable and on Go slices
 * sharing backing arrays. We keep all of that (jansson references stand for Go's shared maps),
 * because error texts and the "patch" cause print the patch as the merge left it.
 * It must not depend on the other two patch files except through patch_private.h.
 */
#include "patch_private.h"

#include "svc/strbuf.h"
#include "svc/util.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* =============================================================================================
 * Go formatting
 * ============================================================================================= */

/* The shortest decimal digits that read back as f (strconv's shortest mode); f finite, != 0. */
static void shortest_digits(double f, char digits[32], int *nd, int *dp)
{
    char buf[64];
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, sizeof(buf), "%.*e", prec - 1, fabs(f));
        if (strtod(buf, NULL) == fabs(f))
            break;
    }
    /* buf is d[.ddd]e±XX */
    int n = 0;
    char *p = buf;
    for (; *p && *p != 'e'; p++) {
        if (*p >= '0' && *p <= '9')
            digits[n++] = *p;
    }
    while (n > 1 && digits[n - 1] == '0')
        n--;
    digits[n] = '\0';
    *nd = n;
    *dp = atoi(p + 1) + 1;
}

static void add_exp_form(struct strbuf *sb, const char *digits, int nd, int dp, bool json)
{
    int exp = dp - 1;
    strbuf_addch(sb, digits[0]);
    if (nd > 1) {
        strbuf_addch(sb, '.');
        strbuf_add(sb, digits + 1, (size_t)nd - 1);
    }
    strbuf_addch(sb, 'e');
    strbuf_addch(sb, exp < 0 ? '-' : '+');
    if (exp < 0)
        exp = -exp;
    /* strconv writes at least two exponent digits; encoding/json trims "e-07" to "e-7". */
    if (exp < 10 && !(json && dp - 1 < 0))
        strbuf_addch(sb, '0');
    strbuf_addf(sb, "%d", exp);
}

static void add_fixed_form(struct strbuf *sb, const char *digits, int nd, int dp)
{
    if (dp <= 0) {
        strbuf_addstr(sb, "0.");
        for (int i = 0; i < -dp; i++)
            strbuf_addch(sb, '0');
        strbuf_add(sb, digits, (size_t)nd);
    } else if (dp >= nd) {
        strbuf_add(sb, digits, (size_t)nd);
        for (int i = nd; i < dp; i++)
            strbuf_addch(sb, '0');
    } else {
        strbuf_add(sb, digits, (size_t)dp);
        strbuf_addch(sb, '.');
        strbuf_add(sb, digits + dp, (size_t)(nd - dp));
    }
}

void gofmt_float(struct strbuf *sb, double f, bool json)
{
    char digits[32];
    int nd, dp;
    if (f == 0) {
        strbuf_addstr(sb, signbit(f) ? "-0" : "0");
        return;
    }
    if (f < 0)
        strbuf_addch(sb, '-');
    shortest_digits(f, digits, &nd, &dp);
    bool exp_form;
    if (json)
        exp_form = fabs(f) < 1e-6 || fabs(f) >= 1e21;
    else
        exp_form = dp - 1 < -4 || dp - 1 >= 6; /* %v: 'g' with the shortest digits */
    if (exp_form)
        add_exp_form(sb, digits, nd, dp, json);
    else
        add_fixed_form(sb, digits, nd, dp);
}

/* unicode.IsPrint, exact for ASCII and Latin-1, close elsewhere. */
static bool go_isprint(unsigned long r)
{
    if (r < 0x20 || r == 0x7f)
        return false;
    if (r < 0x7f)
        return true;
    if (r <= 0xa0 || r == 0xad)
        return false;
    if (r == 0x1680 || (r >= 0x2000 && r <= 0x200f) || (r >= 0x2028 && r <= 0x202f) ||
        (r >= 0x205f && r <= 0x206f) || r == 0x3000 || r == 0xfeff ||
        (r >= 0xfff9 && r <= 0xfffb) || (r >= 0xe000 && r <= 0xf8ff) || r == 0xfffe ||
        r == 0xffff || r > 0x10ffff)
        return false;
    return true;
}

void gofmt_quote(struct strbuf *sb, const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + len;
    strbuf_addch(sb, '"');
    while (p < end) {
        unsigned char c = *p;
        unsigned long r;
        size_t n;
        if (c < 0x80) {
            r = c;
            n = 1;
        } else {
            /* decode one rune; an invalid byte is written as \x.. */
            n = (c >= 0xc2 && c <= 0xdf)   ? 2
                : (c >= 0xe0 && c <= 0xef) ? 3
                : (c >= 0xf0 && c <= 0xf4) ? 4
                                           : 0;
            bool ok = n > 0 && (size_t)(end - p) >= n;
            for (size_t i = 1; ok && i < n; i++)
                ok = (p[i] & 0xc0) == 0x80;
            if (ok) {
                r = n == 2 ? (c & 0x1fUL) : n == 3 ? (c & 0x0fUL) : (c & 0x07UL);
                for (size_t i = 1; i < n; i++)
                    r = (r << 6) | (p[i] & 0x3fUL);
                ok = !(n == 3 && (r < 0x800 || (r >= 0xd800 && r < 0xe000))) &&
                     !(n == 4 && (r < 0x10000 || r > 0x10ffff));
            }
            if (!ok) {
                strbuf_addf(sb, "\\x%02x", c);
                p++;
                continue;
            }
        }
        if (r == '"' || r == '\\') {
            strbuf_addch(sb, '\\');
            strbuf_addch(sb, (char)r);
        } else if (go_isprint(r)) {
            strbuf_add(sb, p, n);
        } else if (r == '\a') {
            strbuf_addstr(sb, "\\a");
        } else if (r == '\b') {
            strbuf_addstr(sb, "\\b");
        } else if (r == '\f') {
            strbuf_addstr(sb, "\\f");
        } else if (r == '\n') {
            strbuf_addstr(sb, "\\n");
        } else if (r == '\r') {
            strbuf_addstr(sb, "\\r");
        } else if (r == '\t') {
            strbuf_addstr(sb, "\\t");
        } else if (r == '\v') {
            strbuf_addstr(sb, "\\v");
        } else if (r < 0x20 || r == 0x7f) {
            strbuf_addf(sb, "\\x%02lx", r);
        } else if (r < 0x10000) {
            strbuf_addf(sb, "\\u%04lx", r);
        } else {
            strbuf_addf(sb, "\\U%08lx", r);
        }
        p += n;
    }
    strbuf_addch(sb, '"');
}

const char *gofmt_type_name(const json_t *v)
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
    case JSON_OBJECT:
        return "map[string]interface {}";
    case JSON_ARRAY:
        return "[]interface {}";
    default:
        return "%!s(<nil>)";
    }
}

static int cmp_keys(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* printValue: verb 'v' or 's'; top is true for the argument itself (printArg). */
static void gofmt_any(struct strbuf *sb, const json_t *v, char verb, bool top)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        size_t n = json_object_size(v), i = 0;
        const char **keys = xmalloc((n ? n : 1) * sizeof(*keys));
        const char *k;
        json_t *child;
        json_object_foreach ((json_t *)v, k, child) {
            keys[i++] = k;
        }
        qsort(keys, n, sizeof(*keys), cmp_keys);
        strbuf_addstr(sb, "map[");
        for (i = 0; i < n; i++) {
            if (i)
                strbuf_addch(sb, ' ');
            strbuf_addstr(sb, keys[i]);
            strbuf_addch(sb, ':');
            gofmt_any(sb, json_object_get(v, keys[i]), verb, false);
        }
        strbuf_addch(sb, ']');
        free(keys);
        return;
    }
    case JSON_ARRAY:
        strbuf_addch(sb, '[');
        for (size_t i = 0; i < json_array_size(v); i++) {
            if (i)
                strbuf_addch(sb, ' ');
            gofmt_any(sb, json_array_get(v, i), verb, false);
        }
        strbuf_addch(sb, ']');
        return;
    case JSON_STRING:
        strbuf_add(sb, json_string_value(v), json_string_length(v));
        return;
    case JSON_NULL:
        /* A nil interface{} inside a map prints <nil> for any verb; a nil argument is a bad
         * verb except for %v. */
        strbuf_addstr(sb, verb == 's' && top ? "%!s(<nil>)" : "<nil>");
        return;
    default:
        break;
    }
    if (verb == 's')
        strbuf_addf(sb, "%%!s(%s=", gofmt_type_name(v));
    if (json_is_integer(v))
        strbuf_addf(sb, "%lld", (long long)json_integer_value(v));
    else if (json_is_real(v))
        gofmt_float(sb, json_real_value(v), false);
    else
        strbuf_addstr(sb, json_is_true(v) ? "true" : "false");
    if (verb == 's')
        strbuf_addch(sb, ')');
}

void gofmt_value(struct strbuf *sb, const json_t *value)
{
    gofmt_any(sb, value, 'v', true);
}

char *patch_go_format(const json_t *value)
{
    struct strbuf sb;
    strbuf_init(&sb, STRBUF_NO_LIMIT);
    gofmt_value(&sb, value);
    return strbuf_detach(&sb, NULL);
}

static size_t marshal_size(const json_t *v, size_t cap, size_t acc)
{
    if (acc > cap)
        return acc;
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        const char *k;
        json_t *child;
        size_t n = 0;
        acc += 2;
        json_object_foreach ((json_t *)v, k, child) {
            json_t *tmp = json_string(k);
            acc = marshal_size(tmp, cap, acc) + 1 + (n++ ? 1 : 0);
            json_decref(tmp);
            acc = marshal_size(child, cap, acc);
            if (acc > cap)
                break;
        }
        return acc;
    }
    case JSON_ARRAY:
        acc += 2;
        for (size_t i = 0; i < json_array_size(v) && acc <= cap; i++)
            acc = marshal_size(json_array_get(v, i), cap, acc + (i ? 1 : 0));
        return acc;
    case JSON_STRING: {
        const unsigned char *s = (const unsigned char *)json_string_value(v);
        size_t len = json_string_length(v);
        acc += 2;
        for (size_t i = 0; i < len; i++) {
            unsigned char c = s[i];
            if (c == '"' || c == '\\' || c == '\n' || c == '\r' || c == '\t' || c == '\b' ||
                c == '\f')
                acc += 2;
            else if (c < 0x20 || c == '<' || c == '>' || c == '&')
                acc += 6;
            else if (c == 0xe2 && i + 2 < len && s[i + 1] == 0x80 &&
                     (s[i + 2] == 0xa8 || s[i + 2] == 0xa9)) {
                acc += 6; /* U+2028 and U+2029 */
                i += 2;
            } else
                acc += 1;
        }
        return acc;
    }
    case JSON_INTEGER: {
        char buf[32];
        return acc + (size_t)snprintf(buf, sizeof(buf), "%lld", (long long)json_integer_value(v));
    }
    case JSON_REAL: {
        struct strbuf sb;
        strbuf_init(&sb, STRBUF_NO_LIMIT);
        gofmt_float(&sb, json_real_value(v), true);
        acc += sb.len;
        strbuf_release(&sb);
        return acc;
    }
    case JSON_FALSE:
        return acc + 5;
    default:
        return acc + 4;
    }
}

size_t gojson_marshal_size(const json_t *value, size_t cap)
{
    return marshal_size(value, cap, 0);
}

/* =============================================================================================
 * Go values: types, ==, and the errors of pkg/util/mergepatch
 * ============================================================================================= */

/* reflect.TypeOf of the Go value decoding gives; GT_NIL for nil. */
enum gty {
    GTY_NIL,
    GTY_STRING,
    GTY_INT,
    GTY_FLOAT,
    GTY_BOOL,
    GTY_MAP,
    GTY_SLICE,
};

static enum gty gty_of(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_STRING:
        return GTY_STRING;
    case JSON_INTEGER:
        return GTY_INT;
    case JSON_REAL:
        return GTY_FLOAT;
    case JSON_TRUE:
    case JSON_FALSE:
        return GTY_BOOL;
    case JSON_OBJECT:
        return GTY_MAP;
    case JSON_ARRAY:
        return GTY_SLICE;
    default:
        return GTY_NIL;
    }
}

enum smp_errkind {
    SMPE_NONE,
    SMPE_BAD_REQUEST,   /* interpretStrategicMergePatchError: 400 */
    SMPE_UNPROCESSABLE, /* 422 */
    SMPE_INTERNAL,      /* any other error: 500 */
    SMPE_PANIC,         /* upstream panics */
    SMPE_LIMIT,         /* our work bound */
};

#define ERR_PRIMITIVE_LIST "invalid patch format of primitive list"
#define ERR_RETAIN_KEYS    "invalid patch format of retainKeys"
#define ERR_SET_ORDER      "invalid patch format of setElementOrder list"
#define ERR_LIST_OF_LISTS  "lists of lists are not supported"

struct smp {
    const json_t *defs;
    struct pbudget budget;
    enum smp_errkind kind;
    char *msg;
};

static int smp_fail(struct smp *s, enum smp_errkind kind, char *msg)
{
    if (s->kind == SMPE_NONE) {
        s->kind = kind;
        s->msg = msg;
    } else {
        free(msg);
    }
    return -1;
}

static bool spend(struct smp *s, uint64_t n)
{
    if (pbudget_spend(&s->budget, n))
        return true;
    smp_fail(s, SMPE_LIMIT, xstrdup("work bound"));
    return false;
}

/* Go's == on two interface{} values; comparing two maps or two slices panics. */
static bool go_eq(struct smp *s, const json_t *a, const json_t *b)
{
    enum gty ta = gty_of(a), tb = gty_of(b);
    if (ta != tb)
        return false;
    switch (ta) {
    case GTY_MAP:
    case GTY_SLICE:
        smp_fail(s, SMPE_PANIC, xstrdup("runtime error: comparing uncomparable type"));
        return false;
    case GTY_NIL:
        return true;
    default:
        return json_equal(a, b);
    }
}

/* A map[interface{}] key must be hashable. */
static bool go_hashable(struct smp *s, const json_t *v)
{
    if (json_is_object(v) || json_is_array(v)) {
        smp_fail(s, SMPE_PANIC, xstrdup("runtime error: hash of unhashable type"));
        return false;
    }
    return true;
}

static char *fmt_v(const json_t *v)
{
    return patch_go_format(v);
}

static int err_no_merge_key(struct smp *s, const json_t *m, const char *key)
{
    char *mv = fmt_v(m);
    char *msg = xasprintf("map: %s does not contain declared merge key: %s", mv, key);
    free(mv);
    return smp_fail(s, SMPE_INTERNAL, msg);
}

static int err_bad_arg_type(struct smp *s, const char *expected, const json_t *actual)
{
    return smp_fail(
        s, SMPE_INTERNAL,
        xasprintf("expected a %s, but received a %s", expected, gofmt_type_name(actual)));
}

static int err_bad_patch_type(struct smp *s, const json_t *t, const json_t *m)
{
    struct strbuf sb;
    strbuf_init(&sb, STRBUF_NO_LIMIT);
    strbuf_addstr(&sb, "unknown patch type: ");
    gofmt_any(&sb, t, 's', true);
    strbuf_addstr(&sb, " in map: ");
    gofmt_value(&sb, m);
    return smp_fail(s, SMPE_INTERNAL, strbuf_detach(&sb, NULL));
}

static bool is_str(const json_t *v, const char *s)
{
    return json_is_string(v) && strlen(s) == json_string_length(v) &&
           strcmp(json_string_value(v), s) == 0;
}

static bool has_prefix(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

#define DIRECTIVE_MARKER             "$patch"
#define RETAIN_KEYS_DIRECTIVE        "$retainKeys"
#define DELETE_FROM_PRIMITIVE_PREFIX "$deleteFromPrimitiveList"
#define SET_ELEMENT_ORDER_PREFIX     "$setElementOrder"

/* =============================================================================================
 * Lists of owned references (Go's []interface{})
 * ============================================================================================= */

struct jvec {
    json_t **v;
    size_t n;
    size_t cap;
};

static void vec_push(struct jvec *a, json_t *x)
{
    if (a->n == a->cap) {
        a->cap = a->cap ? a->cap * 2 : 8;
        a->v = xrealloc(a->v, a->cap * sizeof(*a->v));
    }
    a->v[a->n++] = json_incref(x);
}

static void vec_free(struct jvec *a)
{
    for (size_t i = 0; i < a->n; i++)
        json_decref(a->v[i]);
    free(a->v);
    memset(a, 0, sizeof(*a));
}

static void vec_from_array(struct jvec *a, const json_t *arr)
{
    memset(a, 0, sizeof(*a));
    for (size_t i = 0; i < json_array_size(arr); i++)
        vec_push(a, json_array_get(arr, i));
}

static void vec_copy(struct jvec *dst, const struct jvec *src)
{
    memset(dst, 0, sizeof(*dst));
    for (size_t i = 0; i < src->n; i++)
        vec_push(dst, src->v[i]);
}

static void vec_set(struct jvec *a, size_t i, json_t *x)
{
    json_incref(x);
    json_decref(a->v[i]);
    a->v[i] = x;
}

static json_t *vec_to_array(const struct jvec *a)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < a->n; i++)
        json_array_append(arr, a->v[i]);
    return arr;
}

static void fmt_vec(struct strbuf *sb, const struct jvec *a)
{
    strbuf_addch(sb, '[');
    for (size_t i = 0; i < a->n; i++) {
        if (i)
            strbuf_addch(sb, ' ');
        gofmt_any(sb, a->v[i], 'v', false);
    }
    strbuf_addch(sb, ']');
}

/* =============================================================================================
 * Patch metadata from the API contract (LookupPatchMeta)
 * ============================================================================================= */

static bool preserves_unknown(const json_t *node)
{
    return json_is_true(json_object_get(node, "x-kubernetes-preserve-unknown-fields"));
}

/* Follow $ref to the definition; NULL where nothing is known below. */
static const json_t *sch_resolve(const struct smp *s, const json_t *node)
{
    for (int hops = 0; json_is_object(node) && hops < 64; hops++) {
        if (preserves_unknown(node))
            return NULL;
        const char *ref = json_string_value(json_object_get(node, "$ref"));
        if (!ref)
            return node;
        node = json_object_get(s->defs, ref);
    }
    return NULL;
}

struct pmeta {
    const char *strategy;  /* x-kubernetes-patch-strategy or "" */
    const char *merge_key; /* x-kubernetes-patch-merge-key or "" */
};

/*
 * LookupPatchMetadataForStruct (slice false) or ForSlice (slice true): *sub is the schema of key's
 * value (of its elements for a slice) and meta the field's patch metadata. Unknown fields and
 * maps give no metadata and no schema. Like upstream, a pointer to a struct (omit: nil) may stand
 * for a list of that struct, while any other known field that is no list cannot.
 */
static int sch_lookup(struct smp *s, const json_t *schema, const char *key, bool slice,
                      struct pmeta *meta, const json_t **sub)
{
    const json_t *prop = NULL;
    meta->strategy = "";
    meta->merge_key = "";
    *sub = NULL;
    if (!schema)
        return 0;
    const json_t *props = json_object_get(schema, "properties");
    if (json_is_object(props)) {
        prop = json_object_get(props, key);
        if (!prop)
            return 0;
        const char *st = json_string_value(json_object_get(prop, "x-kubernetes-patch-strategy"));
        const char *mk = json_string_value(json_object_get(prop, "x-kubernetes-patch-merge-key"));
        meta->strategy = st ? st : "";
        meta->merge_key = mk ? mk : "";
    } else {
        prop = json_object_get(schema, "additionalProperties");
        if (!json_is_object(prop))
            return 0;
        props = NULL;
    }
    if (preserves_unknown(prop))
        return 0;
    const json_t *r = sch_resolve(s, prop);
    if (!slice) {
        *sub = r;
        return 0;
    }
    const json_t *items = r ? json_object_get(r, "items") : NULL;
    if (items) {
        *sub = sch_resolve(s, items);
        return 0;
    }
    const char *omit = json_string_value(json_object_get(prop, "omit"));
    if (r && props && json_object_get(r, "properties") && omit && strcmp(omit, "nil") == 0) {
        *sub = r;
        return 0;
    }
    if (r && props && !json_object_get(r, "x-kubernetes-preserve-unknown-fields"))
        return smp_fail(s, SMPE_INTERNAL, xstrdup("expected slice or array type, but got: struct"));
    return 0;
}

/* PatchMetaFromStruct.Name(): the Go kind of the element type. */
static const char *sch_name(const json_t *schema)
{
    const char *type;
    if (!schema)
        return "interface";
    if (json_object_get(schema, "properties"))
        return "struct";
    type = json_string_value(json_object_get(schema, "type"));
    if (!type)
        return "struct";
    if (strcmp(type, "object") == 0)
        return "map";
    if (strcmp(type, "array") == 0)
        return "slice";
    if (strcmp(type, "boolean") == 0)
        return "bool";
    if (strcmp(type, "number") == 0)
        return "float64";
    if (strcmp(type, "integer") == 0) {
        const char *format = json_string_value(json_object_get(schema, "format"));
        return format && strcmp(format, "int32") == 0 ? "int32" : "int64";
    }
    return "string";
}

enum strategy {
    STRAT_OTHER,
    STRAT_MERGE,
    STRAT_REPLACE,
};

/* extractRetainKeysPatchStrategy: the strategy other than retainKeys. */
static int sch_strategy(struct smp *s, const char *strategies, enum strategy *out)
{
    char parts[3][64];
    int n = 0;
    const char *p = strategies;
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (n < 3) {
            snprintf(parts[n], sizeof(parts[n]), "%.*s", (int)len, p);
        }
        n++;
        if (!comma)
            break;
        p = comma + 1;
    }
    const char *other = "";
    if (n == 1) {
        other = strcmp(parts[0], "retainKeys") == 0 ? "" : parts[0];
    } else if (n == 2 && strcmp(parts[0], "retainKeys") == 0) {
        other = parts[1];
    } else if (n == 2 && strcmp(parts[1], "retainKeys") == 0) {
        other = parts[0];
    } else {
        char *list = xstrdup(strategies);
        for (char *c = list; *c; c++) {
            if (*c == ',')
                *c = ' ';
        }
        smp_fail(s, SMPE_INTERNAL, xasprintf("unexpected patch strategy: [%s]", list));
        free(list);
        return -1;
    }
    *out = strcmp(other, "merge") == 0     ? STRAT_MERGE
           : strcmp(other, "replace") == 0 ? STRAT_REPLACE
                                           : STRAT_OTHER;
    return 0;
}

/* =============================================================================================
 * The merge (strategicpatch/patch.go, in its order)
 * ============================================================================================= */

static json_t *merge_map(struct smp *s, json_t *original, json_t *patch, const json_t *schema);

/* extractKey: the list name after "<prefix>/". */
static int extract_key(struct smp *s, const char *k, const char *prefix, const char **out)
{
    const char *slash = strchr(k, '/');
    if (!slash || (size_t)(slash - k) != strlen(prefix) ||
        strncmp(k, prefix, strlen(prefix)) != 0) {
        if (strcmp(prefix, DELETE_FROM_PRIMITIVE_PREFIX) == 0)
            return smp_fail(s, SMPE_BAD_REQUEST, xstrdup(ERR_PRIMITIVE_LIST));
        return smp_fail(s, SMPE_BAD_REQUEST, xstrdup(ERR_SET_ORDER));
    }
    *out = slash + 1;
    return 0;
}

/* discardNullValuesFromPatch */
static void discard_nulls(json_t *v)
{
    if (json_is_object(v)) {
        const char *k;
        json_t *child;
        void *tmp;
        json_object_foreach_safe (v, tmp, k, child) {
            if (json_is_null(child))
                json_object_del(v, k);
            else
                discard_nulls(child);
        }
    } else if (json_is_array(v)) {
        size_t i;
        json_t *child;
        json_array_foreach (v, i, child) {
            discard_nulls(child);
        }
    }
}

/* removeDirectives: a new reference to use instead of obj, or NULL when obj itself is a
 * directive map and must go. Maps are changed in place, lists rebuilt, as upstream does. */
static json_t *remove_directives(json_t *obj)
{
    if (json_is_object(obj)) {
        if (json_object_get(obj, DIRECTIVE_MARKER))
            return NULL;
        const char *k;
        json_t *child;
        void *tmp;
        json_object_foreach_safe (obj, tmp, k, child) {
            json_t *nv = remove_directives(child);
            if (!nv)
                json_object_del(obj, k);
            else
                json_object_set_new(obj, k, nv);
        }
        return json_incref(obj);
    }
    if (json_is_array(obj)) {
        json_t *res = json_array();
        size_t i;
        json_t *child;
        json_array_foreach (obj, i, child) {
            json_t *nv = remove_directives(child);
            if (nv)
                json_array_append_new(res, nv);
        }
        return res;
    }
    return json_incref(obj);
}

/* handleDirectiveInMergeMap */
static json_t *handle_directive(struct smp *s, json_t *directive, json_t *patch)
{
    if (is_str(directive, "replace")) {
        json_object_del(patch, DIRECTIVE_MARKER);
        return json_incref(patch);
    }
    if (is_str(directive, "delete"))
        return json_object();
    err_bad_patch_type(s, directive, patch);
    return NULL;
}

/* applyRetainKeysDirective with MergeParallelList */
static int apply_retain_keys(struct smp *s, json_t *original, json_t *patch)
{
    json_t *list = json_object_get(patch, RETAIN_KEYS_DIRECTIVE);
    int rc = 0;
    if (!list)
        return 0;
    json_incref(list);
    json_object_del(patch, RETAIN_KEYS_DIRECTIVE);
    if (!json_is_array(list)) {
        rc = smp_fail(s, SMPE_BAD_REQUEST, xstrdup(ERR_RETAIN_KEYS));
        goto out;
    }
    size_t i;
    json_t *item;
    json_array_foreach (list, i, item) {
        if (!go_hashable(s, item)) {
            rc = -1;
            goto out;
        }
    }
    const char *k;
    json_t *v;
    void *tmp;
    json_object_foreach (patch, k, v) {
        if (json_is_null(v) || has_prefix(k, DELETE_FROM_PRIMITIVE_PREFIX) ||
            has_prefix(k, SET_ELEMENT_ORDER_PREFIX))
            continue;
        bool found = false;
        json_array_foreach (list, i, item) {
            found = found || is_str(item, k);
        }
        if (!spend(s, json_array_size(list) + 1)) {
            rc = -1;
            goto out;
        }
        if (!found) {
            rc = smp_fail(s, SMPE_BAD_REQUEST, xstrdup(ERR_RETAIN_KEYS));
            goto out;
        }
    }
    json_object_foreach_safe (original, tmp, k, v) {
        bool found = false;
        json_array_foreach (list, i, item) {
            found = found || is_str(item, k);
        }
        if (!spend(s, json_array_size(list) + 1)) {
            rc = -1;
            goto out;
        }
        if (!found)
            json_object_del(original, k);
    }
out:
    json_decref(list);
    return rc;
}

/* The merge key's value of item, or Go's nil (json null) when item is no map or lacks it. */
static json_t *merge_key_value(const json_t *item, const char *merge_key)
{
    json_t *v = json_is_object(item) ? json_object_get(item, merge_key) : NULL;
    return v ? v : json_null();
}

/* index(): position of val in l, comparing merge key values for maps, values otherwise. */
static long vec_index(struct smp *s, const struct jvec *l, const json_t *val, const char *merge_key,
                      bool maps)
{
    if (!spend(s, l->n + 1))
        return -1;
    const json_t *want = maps ? merge_key_value(val, merge_key) : val;
    for (size_t i = 0; i < l->n; i++) {
        const json_t *have = maps ? merge_key_value(l->v[i], merge_key) : l->v[i];
        if (go_eq(s, want, have))
            return (long)i;
        if (s->kind != SMPE_NONE)
            return -1;
    }
    return -1;
}

/* findMapInSliceBasedOnKeyValue: 1 found (index in *idx), 0 not found, -1 error. */
static int find_map(struct smp *s, const struct jvec *m, const char *key, const json_t *value,
                    size_t *idx)
{
    if (!spend(s, m->n + 1))
        return -1;
    for (size_t i = 0; i < m->n; i++) {
        if (!json_is_object(m->v[i]))
            return smp_fail(s, SMPE_INTERNAL, xasprintf("value for key %zu is not a map", i));
        json_t *vm = json_object_get(m->v[i], key);
        if (vm && go_eq(s, vm, value)) {
            *idx = i;
            return 1;
        }
        if (s->kind != SMPE_NONE)
            return -1;
    }
    return 0;
}

/* sliceElementType over one or two lists; b may be NULL (a nil slice). */
static int slice_element_type(struct smp *s, const struct jvec *a, const struct jvec *b,
                              enum gty *out)
{
    const struct jvec *lists[2] = {a, b};
    bool have = false;
    enum gty prev = GTY_NIL;
    for (int l = 0; l < 2; l++) {
        for (size_t i = 0; lists[l] && i < lists[l]->n; i++) {
            enum gty cur = gty_of(lists[l]->v[i]);
            if (!have) {
                if (cur == GTY_NIL) /* prevType.Kind() on a nil reflect.Type */
                    return smp_fail(s, SMPE_PANIC,
                                    xstrdup("runtime error: invalid memory address or nil "
                                            "pointer dereference"));
                if (cur == GTY_SLICE)
                    return smp_fail(s, SMPE_UNPROCESSABLE, xstrdup(ERR_LIST_OF_LISTS));
                have = true;
                prev = cur;
            } else if (cur != prev) {
                struct strbuf sb;
                strbuf_init(&sb, STRBUF_NO_LIMIT);
                strbuf_addstr(&sb, "list element types are not identical: [");
                fmt_vec(&sb, a);
                strbuf_addch(&sb, ' ');
                if (b)
                    fmt_vec(&sb, b);
                else
                    strbuf_addstr(&sb, "[]");
                strbuf_addch(&sb, ']');
                return smp_fail(s, SMPE_INTERNAL, strbuf_detach(&sb, NULL));
            }
        }
    }
    if (!have)
        return smp_fail(s, SMPE_INTERNAL, xstrdup("no elements in any of the given slices"));
    *out = prev;
    return 0;
}

/* ---- ordering ------------------------------------------------------------------------------- */

struct sort_ctx {
    struct smp *s;
    struct jvec *items;
    const struct jvec *order;
    const char *merge_key;
    bool maps;
};

/* The less function normalizeSliceOrder hands to sort.SliceStable. */
static bool order_less(struct sort_ctx *c, size_t i, size_t j)
{
    long ii = vec_index(c->s, c->order, c->items->v[i], c->merge_key, c->maps);
    if (ii >= 0) {
        long ij = vec_index(c->s, c->order, c->items->v[j], c->merge_key, c->maps);
        if (ij >= 0)
            return ii < ij;
    }
    return true;
}

static void order_swap(struct sort_ctx *c, size_t i, size_t j)
{
    json_t *t = c->items->v[i];
    c->items->v[i] = c->items->v[j];
    c->items->v[j] = t;
}

/* sort.SliceStable (insertion sort in blocks of 20, then SymMerge), ported as it is: the less
 * function above is not a strict order, so another stable sort could order things differently. */
static void insertion_sort(struct sort_ctx *c, size_t a, size_t b)
{
    for (size_t i = a + 1; i < b; i++) {
        for (size_t j = i; j > a && order_less(c, j, j - 1); j--)
            order_swap(c, j, j - 1);
    }
}

static void swap_range(struct sort_ctx *c, size_t a, size_t b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        order_swap(c, a + i, b + i);
}

static void rotate(struct sort_ctx *c, size_t a, size_t m, size_t b)
{
    size_t i = m - a, j = b - m;
    while (i != j) {
        if (i > j) {
            swap_range(c, m - i, m, j);
            i -= j;
        } else {
            swap_range(c, m - i, m + j - i, i);
            j -= i;
        }
    }
    swap_range(c, m - i, m, i);
}

static void sym_merge(struct sort_ctx *c, size_t a, size_t m, size_t b)
{
    if (m - a == 1) {
        size_t i = m, j = b;
        while (i < j) {
            size_t h = (i + j) >> 1;
            if (order_less(c, h, a))
                i = h + 1;
            else
                j = h;
        }
        for (size_t k = a; k + 1 < i; k++)
            order_swap(c, k, k + 1);
        return;
    }
    if (b - m == 1) {
        size_t i = a, j = m;
        while (i < j) {
            size_t h = (i + j) >> 1;
            if (!order_less(c, m, h))
                i = h + 1;
            else
                j = h;
        }
        for (size_t k = m; k > i; k--)
            order_swap(c, k, k - 1);
        return;
    }
    size_t mid = (a + b) >> 1;
    size_t n = mid + m;
    size_t start, r;
    if (m > mid) {
        start = n - b;
        r = mid;
    } else {
        start = a;
        r = m;
    }
    size_t p = n - 1;
    while (start < r) {
        size_t cc = (start + r) >> 1;
        if (!order_less(c, p - cc, cc))
            start = cc + 1;
        else
            r = cc;
    }
    size_t end = n - start;
    if (start < m && m < end)
        rotate(c, start, m, end);
    if (a < start && start < mid)
        sym_merge(c, a, start, mid);
    if (mid < end && end < b)
        sym_merge(c, mid, end, b);
}

static void stable_sort(struct sort_ctx *c)
{
    size_t n = c->items->n, block = 20, a = 0, b = block;
    while (b <= n) {
        insertion_sort(c, a, b);
        a = b;
        b += block;
    }
    insertion_sort(c, a, n);
    while (block < n) {
        a = 0;
        b = 2 * block;
        while (b <= n) {
            sym_merge(c, a, a + block, b);
            a = b;
            b += 2 * block;
        }
        if (a + block < n)
            sym_merge(c, a, a + block, n);
        block *= 2;
    }
}

/* validateMergeKeyInLists */
static int validate_merge_keys(struct smp *s, const char *merge_key, const struct jvec *a,
                               const struct jvec *b)
{
    const struct jvec *lists[2] = {a, b};
    for (int l = 0; l < 2; l++) {
        for (size_t i = 0; i < lists[l]->n; i++) {
            const json_t *m = lists[l]->v[i];
            if (!json_is_object(m))
                return err_bad_arg_type(s, "map[string]interface {}", m);
            if (!json_object_get(m, merge_key))
                return err_no_merge_key(s, m, merge_key);
        }
    }
    return 0;
}

/* extractToDeleteItems: keep (in place) the items without "$patch": "delete", return the rest. */
static int extract_to_delete(struct smp *s, struct jvec *items, struct jvec *to_delete)
{
    struct jvec keep = {0};
    memset(to_delete, 0, sizeof(*to_delete));
    for (size_t i = 0; i < items->n; i++) {
        json_t *m = items->v[i];
        if (!json_is_object(m)) {
            vec_free(&keep);
            return err_bad_arg_type(s, "map[string]interface {}", m);
        }
        if (is_str(json_object_get(m, DIRECTIVE_MARKER), "delete"))
            vec_push(to_delete, m);
        else
            vec_push(&keep, m);
    }
    vec_free(items);
    *items = keep;
    return 0;
}

/* normalizeSliceOrder: sort items in place by order. */
static int normalize_slice_order(struct smp *s, struct jvec *items, const struct jvec *order,
                                 const char *merge_key, bool maps)
{
    struct jvec to_delete = {0};
    if (maps) {
        if (validate_merge_keys(s, merge_key, items, order) < 0)
            return -1;
        if (extract_to_delete(s, items, &to_delete) < 0)
            return -1;
    }
    struct sort_ctx c = {s, items, order, merge_key, maps};
    stable_sort(&c);
    for (size_t i = 0; i < to_delete.n; i++)
        vec_push(items, to_delete.v[i]);
    vec_free(&to_delete);
    return s->kind == SMPE_NONE ? 0 : -1;
}

/* mergeSortedSlice: interleave left (server-only) into right (patch) by server order. */
static void merge_sorted(struct smp *s, const struct jvec *left, const struct jvec *right,
                         const struct jvec *server_order, const char *merge_key, bool maps,
                         struct jvec *out)
{
    size_t i = 0, j = 0, size = left->n + right->n;
    memset(out, 0, sizeof(*out));
    for (size_t k = 0; k < size; k++) {
        if (i >= left->n && j < right->n) {
            vec_push(out, right->v[j++]);
        } else if (j >= right->n && i < left->n) {
            vec_push(out, left->v[i++]);
        } else {
            long li = vec_index(s, server_order, left->v[i], merge_key, maps);
            long ri = vec_index(s, server_order, right->v[j], merge_key, maps);
            if (li >= 0 && ri >= 0 && li < ri)
                vec_push(out, left->v[i++]);
            else
                vec_push(out, right->v[j++]);
        }
    }
}

/* normalizeElementOrder: patch items by patch order, server-only items by server order, then
 * interleaved. Consumes patch_items and server_only. */
static int normalize_element_order(struct smp *s, struct jvec *patch_items,
                                   struct jvec *server_only, const struct jvec *patch_order,
                                   const struct jvec *server_order, const char *merge_key,
                                   bool maps, struct jvec *out)
{
    int rc = -1;
    memset(out, 0, sizeof(*out));
    if (normalize_slice_order(s, patch_items, patch_order, merge_key, maps) < 0)
        goto out;
    if (normalize_slice_order(s, server_only, server_order, merge_key, maps) < 0)
        goto out;
    merge_sorted(s, server_only, patch_items, server_order, merge_key, maps, out);
    rc = s->kind == SMPE_NONE ? 0 : -1;
out:
    vec_free(patch_items);
    vec_free(server_only);
    return rc;
}

/* partitionPrimitivesByPresentInList */
static int partition_primitives(struct smp *s, const struct jvec *list, const struct jvec *by,
                                struct jvec *in, struct jvec *out)
{
    memset(in, 0, sizeof(*in));
    memset(out, 0, sizeof(*out));
    for (size_t i = 0; i < by->n; i++) {
        if (!go_hashable(s, by->v[i]))
            return -1;
    }
    for (size_t i = 0; i < list->n; i++) {
        bool found = false;
        if (!go_hashable(s, list->v[i]) || !spend(s, by->n + 1))
            return -1;
        for (size_t j = 0; j < by->n && !found; j++)
            found = go_eq(s, list->v[i], by->v[j]);
        vec_push(found ? in : out, list->v[i]);
    }
    return 0;
}

/* partitionMapsByPresentInList */
static int partition_maps(struct smp *s, const struct jvec *list, const struct jvec *by,
                          const char *merge_key, struct jvec *in, struct jvec *out)
{
    memset(in, 0, sizeof(*in));
    memset(out, 0, sizeof(*out));
    for (size_t i = 0; i < list->n; i++) {
        json_t *m = list->v[i];
        size_t idx;
        if (!json_is_object(m))
            return err_bad_arg_type(s, "map[string]interface {}", m);
        json_t *kv = json_object_get(m, merge_key);
        if (!kv)
            return err_no_merge_key(s, m, merge_key);
        int found = find_map(s, by, merge_key, kv, &idx);
        if (found < 0)
            return -1;
        vec_push(found ? in : out, m);
    }
    return 0;
}

/* deduplicateScalars, in place, with its swap-with-last order. */
static int dedup_scalars(struct smp *s, struct jvec *v)
{
    if (v->n == 0)
        return 0;
    size_t length = v->n - 1;
    for (size_t i = 0; i < length; i++) {
        for (size_t j = i + 1; j <= length; j++) {
            if (!spend(s, 1))
                return -1;
            if (go_eq(s, v->v[i], v->v[j])) {
                vec_set(v, j, v->v[length]);
                json_decref(v->v[length]);
                v->n = length;
                length--;
                j--;
            }
        }
    }
    return 0;
}

/* deleteFromSlice */
static int delete_from_slice(struct smp *s, const struct jvec *current, const struct jvec *del,
                             struct jvec *out)
{
    memset(out, 0, sizeof(*out));
    for (size_t i = 0; i < del->n; i++) {
        if (!go_hashable(s, del->v[i]))
            return -1;
    }
    for (size_t i = 0; i < current->n; i++) {
        bool found = false;
        if (!spend(s, del->n + 1))
            return -1;
        for (size_t j = 0; j < del->n && !found; j++)
            found = go_eq(s, current->v[i], del->v[j]);
        if (!found)
            vec_push(out, current->v[i]);
    }
    return 0;
}

/*
 * What the caller's view of the original list sees while mergeSlice works on it: Go's
 * deleteMatchingEntries shifts the shared backing array and later appends write into the freed
 * tail, so the caller's longer slice header (mergePatchIntoOriginal's originalFieldValue) sees
 * those changes. Positions past the view's length are invisible to it.
 */
struct alias_view {
    struct jvec *view; /* NULL when nobody watches */
    bool aliased;      /* the working list still lives in the view's backing array */
};

/* deleteMatchingEntries */
static int delete_matching(struct smp *s, struct jvec *original, const char *merge_key,
                           const json_t *value, struct alias_view *av)
{
    for (;;) {
        size_t idx;
        int found = find_map(s, original, merge_key, value, &idx);
        if (found < 0)
            return -1;
        if (!found)
            return 0;
        if (av->view && av->aliased) {
            /* append(original[:idx], original[idx+1:]...) moves the tail left in place. */
            for (size_t k = idx; k + 1 < original->n; k++)
                vec_set(av->view, k, av->view->v[k + 1]);
        }
        json_decref(original->v[idx]);
        memmove(original->v + idx, original->v + idx + 1,
                (original->n - idx - 1) * sizeof(*original->v));
        original->n--;
    }
}

/* mergeSliceWithSpecialElements: handles "$patch" elements; may replace original. */
static int merge_special(struct smp *s, struct jvec *original, struct jvec *patch,
                         const char *merge_key, struct alias_view *av)
{
    struct jvec without = {0};
    bool replace = false;
    for (size_t i = 0; i < patch->n; i++) {
        json_t *m = patch->v[i];
        json_t *directive = json_object_get(m, DIRECTIVE_MARKER);
        if (!directive) {
            vec_push(&without, m);
            continue;
        }
        if (is_str(directive, "delete")) {
            json_t *mv = json_object_get(m, merge_key);
            if (!mv) {
                vec_free(&without);
                return err_no_merge_key(s, m, merge_key);
            }
            if (delete_matching(s, original, merge_key, mv, av) < 0) {
                vec_free(&without);
                return -1;
            }
        } else if (is_str(directive, "replace")) {
            replace = true;
        } else if (is_str(directive, "merge")) {
            vec_free(&without);
            return smp_fail(s, SMPE_INTERNAL,
                            xstrdup("merging lists cannot yet be specified in the patch"));
        } else {
            vec_free(&without);
            return err_bad_patch_type(s, directive, m);
        }
    }
    vec_free(patch);
    if (replace) {
        vec_free(original);
        *original = without;
        av->aliased = false;
    } else {
        *patch = without;
    }
    return 0;
}

/* mergeSliceWithoutSpecialElements */
static int merge_without_special(struct smp *s, struct jvec *original, const struct jvec *patch,
                                 const char *merge_key, const json_t *schema, struct alias_view *av)
{
    for (size_t i = 0; i < patch->n; i++) {
        json_t *m = patch->v[i];
        json_t *mv = json_object_get(m, merge_key);
        size_t idx;
        if (!mv)
            return err_no_merge_key(s, m, merge_key);
        int found = find_map(s, original, merge_key, mv, &idx);
        if (found < 0)
            return -1;
        if (found) {
            json_t *merged = merge_map(s, original->v[idx], m, schema);
            if (!merged)
                return -1;
            if (av->view && av->aliased && idx < av->view->n)
                vec_set(av->view, idx, merged);
            vec_set(original, idx, merged);
            json_decref(merged);
        } else {
            if (av->view && av->aliased) {
                if (original->n < av->view->n)
                    vec_set(av->view, original->n, m);
                else
                    av->aliased = false;
            }
            vec_push(original, m);
        }
    }
    return 0;
}

/* mergeSlice: returns a new list, or NULL on error. */
static json_t *merge_slice(struct smp *s, json_t *orig_arr, json_t *patch_arr, const json_t *schema,
                           const char *merge_key, bool is_delete_list, struct jvec *view)
{
    struct jvec original, patch, merged = {0}, in = {0}, out = {0}, result = {0};
    struct alias_view av = {view, true};
    json_t *res = NULL;
    enum gty t;

    if (json_array_size(orig_arr) == 0 && json_array_size(patch_arr) == 0)
        return json_incref(orig_arr);
    vec_from_array(&original, orig_arr);
    vec_from_array(&patch, patch_arr);
    if (slice_element_type(s, &original, &patch, &t) < 0)
        goto out;
    bool maps = t == GTY_MAP;
    if (!maps) {
        if (is_delete_list) {
            if (delete_from_slice(s, &original, &patch, &merged) < 0)
                goto out;
            res = vec_to_array(&merged);
            goto out;
        }
        /* both := append(original, patch...) then deduplicateScalars(both) */
        vec_copy(&merged, &original);
        for (size_t i = 0; i < patch.n; i++)
            vec_push(&merged, patch.v[i]);
        if (dedup_scalars(s, &merged) < 0)
            goto out;
    } else {
        if (merge_key[0] == '\0') {
            smp_fail(s, SMPE_INTERNAL,
                     xasprintf("cannot merge lists without merge key for %s", sch_name(schema)));
            goto out;
        }
        if (merge_special(s, &original, &patch, merge_key, &av) < 0)
            goto out;
        vec_copy(&merged, &original);
        if (merge_without_special(s, &merged, &patch, merge_key, schema, &av) < 0)
            goto out;
    }
    if (merge_key[0] == '\0') {
        if (partition_primitives(s, &merged, &patch, &in, &out) < 0)
            goto out;
    } else if (partition_maps(s, &merged, &patch, merge_key, &in, &out) < 0) {
        goto out;
    }
    if (normalize_element_order(s, &in, &out, &patch, &original, merge_key, maps, &result) < 0)
        goto out;
    res = vec_to_array(&result);
out:
    vec_free(&original);
    vec_free(&patch);
    vec_free(&merged);
    vec_free(&in);
    vec_free(&out);
    vec_free(&result);
    return res;
}

/* mergeSliceHandler */
static json_t *merge_slice_handler(struct smp *s, json_t *original, json_t *patch,
                                   const json_t *schema, enum strategy strategy,
                                   const char *merge_key, bool is_delete_list, struct jvec *view)
{
    if (strategy == STRAT_MERGE || is_delete_list)
        return merge_slice(s, original, patch, schema, merge_key, is_delete_list, view);
    return json_incref(patch);
}

/* validatePatchWithSetOrderList */
static int validate_set_order(struct smp *s, json_t *patch_list, const struct jvec *set_order,
                              const char *merge_key)
{
    struct jvec patch = {0}, non_delete = {0}, to_delete = {0};
    int rc = -1;
    if (set_order->n == 0 || json_array_size(patch_list) == 0)
        return 0;
    vec_from_array(&patch, patch_list);
    if (merge_key[0]) {
        vec_copy(&non_delete, &patch);
        if (extract_to_delete(s, &non_delete, &to_delete) < 0)
            goto out;
    } else {
        vec_copy(&non_delete, &patch);
    }
    size_t pi = 0, si = 0;
    while (pi < non_delete.n && si < set_order->n) {
        json_t *item = non_delete.v[pi];
        if (!spend(s, 1))
            goto out;
        if (json_is_object(item) && json_object_get(item, DIRECTIVE_MARKER)) {
            pi++;
            continue;
        }
        bool equal;
        json_t *other = set_order->v[si];
        if (!merge_key[0]) {
            equal = go_eq(s, item, other);
            if (s->kind != SMPE_NONE)
                goto out;
        } else {
            /* mergeKeyValueEqual */
            if (!json_is_object(item)) {
                err_bad_arg_type(s, "map[string]interface {}", item);
                goto out;
            }
            if (!json_is_object(other)) {
                err_bad_arg_type(s, "map[string]interface {}", other);
                goto out;
            }
            json_t *l = json_object_get(item, merge_key), *r = json_object_get(other, merge_key);
            if (!l) {
                err_no_merge_key(s, item, merge_key);
                goto out;
            }
            if (!r) {
                err_no_merge_key(s, other, merge_key);
                goto out;
            }
            equal = go_eq(s, l, r);
            if (s->kind != SMPE_NONE)
                goto out;
        }
        if (equal)
            pi++;
        si++;
    }
    if (pi < non_delete.n && si >= set_order->n) {
        struct strbuf sb;
        strbuf_init(&sb, STRBUF_NO_LIMIT);
        strbuf_addstr(&sb, "The order in patch list:\n");
        fmt_vec(&sb, &patch);
        strbuf_addstr(&sb, "\n doesn't match $setElementOrder list:\n");
        fmt_vec(&sb, set_order);
        strbuf_addch(&sb, '\n');
        smp_fail(s, SMPE_INTERNAL, strbuf_detach(&sb, NULL));
        goto out;
    }
    rc = 0;
out:
    vec_free(&patch);
    vec_free(&non_delete);
    vec_free(&to_delete);
    return rc;
}

/* One "$setElementOrder/<list>" key of mergePatchIntoOriginal. */
static int merge_one_set_order(struct smp *s, json_t *original, json_t *patch, const char *key,
                               json_t *order_value, const json_t *schema)
{
    struct jvec set_order = {0}, view = {0}, patch_view = {0}, in = {0}, out = {0}, both = {0};
    json_t *merged = NULL;
    const char *original_key;
    struct pmeta meta;
    enum strategy strategy;
    enum gty t;
    int rc = -1;

    if (!json_is_array(order_value))
        return err_bad_arg_type(s, "[]interface {}", order_value);
    if (extract_key(s, key, SET_ELEMENT_ORDER_PREFIX, &original_key) < 0)
        return -1;
    vec_from_array(&set_order, order_value);
    json_t *original_list = json_object_get(original, original_key);
    json_t *patch_list = json_object_get(patch, original_key);
    if (original_list && !json_is_array(original_list)) {
        err_bad_arg_type(s, "[]interface {}", original_list);
        goto out;
    }
    if (patch_list && !json_is_array(patch_list)) {
        err_bad_arg_type(s, "[]interface {}", patch_list);
        goto out;
    }
    const json_t *sub;
    if (sch_lookup(s, schema, original_key, true, &meta, &sub) < 0 ||
        sch_strategy(s, meta.strategy, &strategy) < 0)
        goto out;
    if (patch_list && validate_set_order(s, patch_list, &set_order, meta.merge_key) < 0)
        goto out;
    if (original_list)
        vec_from_array(&view, original_list);
    if (patch_list)
        vec_from_array(&patch_view, patch_list);

    if (original_list && !patch_list) {
        merged = json_incref(original_list);
    } else if (!original_list && patch_list) {
        merged = remove_directives(patch_list);
    } else if (original_list && patch_list) {
        merged = merge_slice_handler(s, original_list, patch_list, sub, strategy, meta.merge_key,
                                     false, &view);
        if (!merged)
            goto out;
    } else {
        rc = 0;
        goto out;
    }

    struct jvec merged_vec;
    vec_from_array(&merged_vec, merged);
    int prc = meta.merge_key[0] == '\0'
                  ? partition_primitives(s, &merged_vec, &set_order, &in, &out)
                  : partition_maps(s, &merged_vec, &set_order, meta.merge_key, &in, &out);
    vec_free(&merged_vec);
    if (prc < 0)
        goto out;
    /* sliceElementType(originalFieldValue, patchFieldValue): the lists as they were, except
     * where mergeSlice wrote through the shared backing array. */
    if (slice_element_type(s, &view, patch_list ? &patch_view : NULL, &t) < 0)
        goto out;
    if (normalize_element_order(s, &in, &out, &set_order, &view, meta.merge_key, t == GTY_MAP,
                                &both) < 0)
        goto out;
    json_object_set_new(original, original_key, vec_to_array(&both));
    json_object_del(patch, original_key);
    rc = 0;
out:
    json_decref(merged);
    vec_free(&set_order);
    vec_free(&view);
    vec_free(&patch_view);
    vec_free(&in);
    vec_free(&out);
    vec_free(&both);
    return rc;
}

/* mergePatchIntoOriginal with MergeParallelList */
static int merge_set_orders(struct smp *s, json_t *original, json_t *patch, const json_t *schema)
{
    const char *k;
    json_t *v;
    struct jvec keys = {0};
    int rc = 0;
    /* Collect first: the loop deletes from patch. */
    json_object_foreach (patch, k, v) {
        if (has_prefix(k, SET_ELEMENT_ORDER_PREFIX)) {
            json_t *name = json_string(k);
            vec_push(&keys, name);
            json_decref(name);
        }
    }
    for (size_t i = 0; i < keys.n; i++) {
        const char *key = json_string_value(keys.v[i]);
        json_t *order = json_object_get(patch, key);
        if (!order)
            continue;
        json_incref(order);
        json_object_del(patch, key);
        rc = merge_one_set_order(s, original, patch, key, order, schema);
        json_decref(order);
        if (rc < 0)
            break;
    }
    vec_free(&keys);
    return rc;
}

/* mergeMap: a new reference to the merged map, or NULL with s->kind set. */
static json_t *merge_map(struct smp *s, json_t *original, json_t *patch, const json_t *schema)
{
    json_t *directive = json_object_get(patch, DIRECTIVE_MARKER);
    if (directive)
        return handle_directive(s, directive, patch);
    if (!spend(s, json_object_size(patch) + 1))
        return NULL;
    json_t *orig = original ? json_incref(original) : json_object();
    if (apply_retain_keys(s, orig, patch) < 0)
        goto fail;
    if (merge_set_orders(s, orig, patch, schema) < 0)
        goto fail;

    const char *pk;
    json_t *pv;
    json_object_foreach (patch, pk, pv) {
        const char *k = pk;
        bool is_delete_list = false;
        if (has_prefix(pk, DELETE_FROM_PRIMITIVE_PREFIX)) {
            const char *list_key;
            if (extract_key(s, pk, DELETE_FROM_PRIMITIVE_PREFIX, &list_key) < 0)
                goto fail;
            is_delete_list = true;
            if (list_key[0]) /* an empty name leaves k as the whole directive key */
                k = list_key;
        }
        if (json_is_null(pv)) {
            json_object_del(orig, k);
            continue;
        }
        json_t *ov = json_object_get(orig, k);
        if (!ov || gty_of(ov) != gty_of(pv)) {
            if (!is_delete_list) {
                discard_nulls(pv);
                json_t *nv = remove_directives(pv);
                if (nv)
                    json_object_set_new(orig, k, nv);
                else
                    json_object_del(orig, k);
            }
            continue;
        }
        struct pmeta meta;
        enum strategy strategy;
        json_t *nv;
        if (json_is_object(ov)) {
            const json_t *sub;
            if (sch_lookup(s, schema, k, false, &meta, &sub) < 0 ||
                sch_strategy(s, meta.strategy, &strategy) < 0)
                goto fail;
            nv = strategy != STRAT_REPLACE ? merge_map(s, ov, pv, sub) : json_incref(pv);
        } else if (json_is_array(ov)) {
            const json_t *sub;
            if (sch_lookup(s, schema, k, true, &meta, &sub) < 0 ||
                sch_strategy(s, meta.strategy, &strategy) < 0)
                goto fail;
            nv =
                merge_slice_handler(s, ov, pv, sub, strategy, meta.merge_key, is_delete_list, NULL);
        } else {
            nv = json_incref(pv);
        }
        if (!nv)
            goto fail;
        json_object_set_new(orig, k, nv);
    }
    return orig;
fail:
    json_decref(orig);
    return NULL;
}

/* =============================================================================================
 * Entry points
 * ============================================================================================= */

/* Directives left in values taken from the patch as they are (an atomic list, a "replace"
 * map, a new list element) are dropped where upstream's typed decoding would drop them as
 * unknown fields: everywhere but inside Go maps (additionalProperties). */
static void strip_directives(struct smp *s, json_t *v, const json_t *schema)
{
    if (json_is_object(v)) {
        const json_t *addl = schema ? json_object_get(schema, "additionalProperties") : NULL;
        bool go_map = json_is_object(addl) && !json_object_get(schema, "properties");
        const char *k;
        json_t *child;
        void *tmp;
        json_object_foreach_safe (v, tmp, k, child) {
            if (!go_map &&
                (strcmp(k, DIRECTIVE_MARKER) == 0 || strcmp(k, RETAIN_KEYS_DIRECTIVE) == 0 ||
                 has_prefix(k, SET_ELEMENT_ORDER_PREFIX "/") ||
                 has_prefix(k, DELETE_FROM_PRIMITIVE_PREFIX "/"))) {
                json_object_del(v, k);
                continue;
            }
            struct pmeta meta;
            const json_t *sub;
            sch_lookup(s, schema, k, false, &meta, &sub);
            strip_directives(s, child, sub);
        }
    } else if (json_is_array(v)) {
        const json_t *items = schema ? sch_resolve(s, json_object_get(schema, "items")) : NULL;
        size_t i;
        json_t *child;
        json_array_foreach (v, i, child) {
            strip_directives(s, child, items);
        }
    }
}

static void smp_to_error(struct smp *s, struct patch_error *err)
{
    switch (s->kind) {
    case SMPE_BAD_REQUEST:
        perr_bad_request(err, s->msg);
        break;
    case SMPE_UNPROCESSABLE:
        perr_invalid(err, s->msg);
        break;
    case SMPE_PANIC:
        perr_panic(err, s->msg);
        break;
    case SMPE_LIMIT:
        perr_too_complex(err);
        break;
    default:
        perr_internal(err, s->msg ? s->msg : "strategic merge patch failed");
        break;
    }
}

/* Merge an owned patch (changed in place) into a copy of current. */
static json_t *smp_run(const json_t *current, json_t *patch, const json_t *definitions,
                       const char *root, char **patch_repr, struct patch_error *err)
{
    struct smp s = {.defs = definitions};
    json_t *doc = NULL, *out = NULL;
    pbudget_init(&s.budget);

    if (pjson_depth(current, PATCH_MAX_DEPTH) > PATCH_MAX_DEPTH ||
        pjson_depth(patch, PATCH_MAX_DEPTH) > PATCH_MAX_DEPTH) {
        perr_too_complex(err);
        return NULL;
    }
    const json_t *schema = root ? sch_resolve(&s, json_object_get(definitions, root)) : NULL;
    doc = json_deep_copy(current);
    if (!doc)
        abort();
    if (!json_is_object(doc)) {
        json_decref(doc);
        doc = json_object();
    }
    if (json_is_object(patch)) {
        out = merge_map(&s, doc, patch, schema);
        if (!out) {
            smp_to_error(&s, err);
            goto done;
        }
    } else {
        /* A null body decodes to a nil map: nothing to merge. */
        out = json_incref(doc);
    }
    if (patch_repr)
        *patch_repr = json_is_object(patch) ? patch_go_format(patch) : xstrdup("map[]");
    strip_directives(&s, out, schema);
done:
    json_decref(doc);
    free(s.msg);
    return out;
}

json_t *patch_strategic_tree(const json_t *current, const json_t *patch, const json_t *definitions,
                             const char *root, struct patch_error *err)
{
    if (!json_is_object(patch) && !json_is_null(patch)) {
        char *m =
            xasprintf("json: cannot unmarshal %s into Go value of type map[string]interface {}",
                      json_is_array(patch)     ? "array"
                      : json_is_string(patch)  ? "string"
                      : json_is_boolean(patch) ? "bool"
                                               : "number");
        perr_bad_request(err, m);
        free(m);
        return NULL;
    }
    if (pjson_depth(patch, PATCH_MAX_DEPTH) > PATCH_MAX_DEPTH) {
        perr_too_complex(err);
        return NULL;
    }
    json_t *copy = json_deep_copy(patch);
    if (!copy)
        abort();
    json_t *out = smp_run(current, copy, definitions, root, NULL, err);
    json_decref(copy);
    return out;
}

json_t *patch_strategic_apply(const json_t *current, const char *body, size_t len,
                              const json_t *definitions, const char *root,
                              enum patch_validation validation, struct patch_strict *strict,
                              char **patch_repr, struct patch_error *err)
{
    struct gojson_result res = {0};
    json_t *out = NULL;
    if (patch_repr)
        *patch_repr = NULL;
    /* kjson.UnmarshalStrict (Warn, Strict) or UnmarshalCaseSensitivePreserveInts (Ignore) into
     * map[string]interface{}; the Go error text, unprefixed, is the 400 message. */
    if (gojson_decode(body, len, GOJSON_MAP, validation == PATCH_VALIDATION_IGNORE ? NULL : strict,
                      &res) < 0) {
        perr_bad_request(err, res.error);
        goto out;
    }
    out = smp_run(current, res.value, definitions, root, patch_repr, err);
out:
    gojson_result_release(&res);
    return out;
}
