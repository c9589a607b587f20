/*
 * mf_set: field paths and field sets for managedFields, after structured-merge-diff v4.6.0's
 * fieldpath and value packages: the order of path elements and values, the set algebra
 * (including the places where Difference and RecursiveDifference treat members and children
 * differently), and the fieldsV1 form (Set.ToJSON / FromJSON) with its exact key order and
 * element syntax. Depends on jansson, strbuf and util only.
 */
#include "mf_private.h"

#include "svc/strbuf.h"
#include "svc/util.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct mf_node {
    struct mf_pe pe;
    struct mf_set *set;
};

#define SET_INLINE_MEMBERS  4
#define SET_INLINE_CHILDREN 2

struct mf_set {
    struct mf_pe *members; /* sorted, owned elements: inl_members or the heap */
    size_t n_members, a_members;
    struct mf_node *children; /* sorted by element, owned: inl_children or the heap */
    size_t n_children, a_children;
    struct mf_pe inl_members[SET_INLINE_MEMBERS];
    struct mf_node inl_children[SET_INLINE_CHILDREN];
};

/* ---- values ------------------------------------------------------------------------------------
 */

static int num_cmp(double a, double b)
{
    return a < b ? -1 : a > b ? 1 : 0;
}

static int int_cmp(json_int_t a, json_int_t b)
{
    return a < b ? -1 : a > b ? 1 : 0;
}

static int cmp_str_ptr(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The keys of an object in byte order; caller frees the array (not the strings). */
static const char **sorted_keys(const json_t *obj, size_t *n_out)
{
    size_t n = json_object_size(obj), i = 0;
    const char **keys = xmalloc((n ? n : 1) * sizeof(*keys));
    const char *k;
    json_t *v;
    json_object_foreach ((json_t *)obj, k, v)
        keys[i++] = k;
    qsort(keys, n, sizeof(*keys), cmp_str_ptr);
    *n_out = n;
    return keys;
}

/* value.CompareUsing: a total order over values of any type (floats and ints numerically). */
int mf_value_compare(const json_t *a, const json_t *b)
{
    if (json_is_real(a)) {
        if (json_is_real(b))
            return num_cmp(json_real_value(a), json_real_value(b));
        if (json_is_integer(b))
            return num_cmp(json_real_value(a), (double)json_integer_value(b));
        return -1;
    }
    if (json_is_real(b))
        return json_is_integer(a) ? num_cmp((double)json_integer_value(a), json_real_value(b)) : 1;
    if (json_is_integer(a))
        return json_is_integer(b) ? int_cmp(json_integer_value(a), json_integer_value(b)) : -1;
    if (json_is_integer(b))
        return 1;
    if (json_is_string(a)) {
        if (!json_is_string(b))
            return -1;
        size_t la = json_string_length(a), lb = json_string_length(b);
        int c = memcmp(json_string_value(a), json_string_value(b), la < lb ? la : lb);
        return c < 0 ? -1 : c > 0 ? 1 : la < lb ? -1 : la > lb ? 1 : 0;
    }
    if (json_is_string(b))
        return 1;
    if (json_is_boolean(a)) {
        if (!json_is_boolean(b))
            return -1;
        return int_cmp(json_is_true(a), json_is_true(b));
    }
    if (json_is_boolean(b))
        return 1;
    if (json_is_array(a)) {
        if (!json_is_array(b))
            return -1;
        size_t na = json_array_size(a), nb = json_array_size(b);
        for (size_t i = 0; i < na && i < nb; i++) {
            int c = mf_value_compare(json_array_get(a, i), json_array_get(b, i));
            if (c)
                return c;
        }
        return na < nb ? -1 : na > nb ? 1 : 0;
    }
    if (json_is_array(b))
        return 1;
    if (json_is_object(a)) {
        if (!json_is_object(b))
            return -1;
        size_t na, nb;
        const char **ka = sorted_keys(a, &na), **kb = sorted_keys(b, &nb);
        int c = 0;
        for (size_t i = 0; !c && i < na && i < nb; i++) {
            c = strcmp(ka[i], kb[i]);
            c = c < 0 ? -1 : c > 0 ? 1 : 0;
            if (!c)
                c = mf_value_compare(json_object_get(a, ka[i]), json_object_get(b, kb[i]));
        }
        if (!c)
            c = na < nb ? -1 : na > nb ? 1 : 0;
        free(ka);
        free(kb);
        return c;
    }
    if (json_is_object(b))
        return 1;
    if (json_is_null(a))
        return json_is_null(b) ? 0 : -1;
    return json_is_null(b) ? 1 : 0;
}

bool mf_value_equal(const json_t *a, const json_t *b)
{
    if (!a || !b)
        return a == b;
    if (json_is_number(a) || json_is_number(b)) {
        if (!json_is_number(a) || !json_is_number(b))
            return false;
        if (json_is_integer(a) && json_is_integer(b))
            return json_integer_value(a) == json_integer_value(b);
        return json_number_value(a) == json_number_value(b);
    }
    if (json_typeof(a) != json_typeof(b)) {
        /* true and false are two jansson types but one Go kind */
        return json_is_boolean(a) && json_is_boolean(b) && json_is_true(a) == json_is_true(b);
    }
    if (json_is_array(a)) {
        if (json_array_size(a) != json_array_size(b))
            return false;
        for (size_t i = 0; i < json_array_size(a); i++)
            if (!mf_value_equal(json_array_get(a, i), json_array_get(b, i)))
                return false;
        return true;
    }
    if (json_is_object(a)) {
        if (json_object_size(a) != json_object_size(b))
            return false;
        const char *k;
        json_t *v;
        json_object_foreach ((json_t *)a, k, v) {
            if (!mf_value_equal(v, json_object_get(b, k)))
                return false;
        }
        return true;
    }
    return json_equal(a, b);
}

/* ---- Go's text forms
 * ------------------------------------------------------------------------------ */

/* The shortest decimal digits that read back as f: fills digits (no dot) and returns the
   decimal exponent of the first digit (f = 0.d1d2... * 10^(exp)). f must be finite, > 0. */
static int shortest_digits(double f, char *digits, size_t n)
{
    char buf[64];
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, sizeof(buf), "%.*e", prec - 1, f);
        if (strtod(buf, NULL) == f || prec == 17)
            break;
    }
    /* buf is d.ddde±xx */
    size_t k = 0;
    const char *p = buf;
    for (; *p && *p != 'e'; p++)
        if (*p >= '0' && *p <= '9' && k + 1 < n)
            digits[k++] = *p;
    digits[k] = '\0';
    while (k > 1 && digits[k - 1] == '0')
        digits[--k] = '\0';
    int e10 = *p == 'e' ? atoi(p + 1) : 0;
    return e10 + 1;
}

/* strconv.FormatFloat(f, fmt, -1, 64) for fmt 'e' or 'f'. */
static void go_float_format(struct strbuf *sb, double f, char fmt)
{
    if (f == 0) {
        strbuf_addstr(sb,
                      fmt == 'e' ? (signbit(f) ? "-0e+00" : "0e+00") : (signbit(f) ? "-0" : "0"));
        return;
    }
    if (f < 0) {
        strbuf_addch(sb, '-');
        f = -f;
    }
    char d[32];
    int dp = shortest_digits(f, d, sizeof(d));
    int nd = (int)strlen(d);
    if (fmt == 'e') {
        strbuf_addch(sb, d[0]);
        if (nd > 1)
            strbuf_addf(sb, ".%s", d + 1);
        int e = dp - 1;
        strbuf_addf(sb, "e%c%02d", e < 0 ? '-' : '+', e < 0 ? -e : e);
        return;
    }
    if (dp <= 0) {
        strbuf_addstr(sb, "0.");
        for (int i = 0; i < -dp; i++)
            strbuf_addch(sb, '0');
        strbuf_addstr(sb, d);
    } else if (dp >= nd) {
        strbuf_addstr(sb, d);
        for (int i = nd; i < dp; i++)
            strbuf_addch(sb, '0');
    } else {
        strbuf_add(sb, d, (size_t)dp);
        strbuf_addch(sb, '.');
        strbuf_addstr(sb, d + dp);
    }
}

/* encoding/json's float64 encoder. */
static void go_json_float(struct strbuf *sb, double f)
{
    double a = fabs(f);
    if (a != 0 && (a < 1e-6 || a >= 1e21)) {
        struct strbuf t;
        strbuf_init(&t, STRBUF_NO_LIMIT);
        go_float_format(&t, f, 'e');
        /* clean up e-09 to e-9 */
        char *s = t.buf;
        size_t n = t.len;
        if (n >= 4 && s[n - 4] == 'e' && s[n - 3] == '-' && s[n - 2] == '0') {
            s[n - 2] = s[n - 1];
            s[n - 1] = '\0';
        }
        strbuf_addstr(sb, s);
        strbuf_release(&t);
        return;
    }
    go_float_format(sb, f, 'f');
}

/* fmt's %v of a float64: strconv's shortest 'g', which switches to the exponent form when the
   exponent is below -4 or at least 6 (1e+06). */
static void go_v_float(struct strbuf *sb, double f)
{
    if (f == 0 || !isfinite(f)) {
        strbuf_addstr(sb, f == 0 ? (signbit(f) ? "-0" : "0") : "NaN");
        return;
    }
    char d[32];
    int dp = shortest_digits(fabs(f), d, sizeof(d));
    int exp = dp - 1;
    if (exp < -4 || exp >= 6)
        go_float_format(sb, f, 'e');
    else
        go_float_format(sb, f, 'f');
}

/* Decode one UTF-8 sequence at s (n bytes left): the rune, or -1 when invalid (length 1). */
static long utf8_rune(const unsigned char *s, size_t n, size_t *len)
{
    *len = 1;
    if (s[0] < 0x80)
        return s[0];
    size_t need;
    long r, min;
    if ((s[0] & 0xe0) == 0xc0) {
        need = 2;
        r = s[0] & 0x1f;
        min = 0x80;
    } else if ((s[0] & 0xf0) == 0xe0) {
        need = 3;
        r = s[0] & 0x0f;
        min = 0x800;
    } else if ((s[0] & 0xf8) == 0xf0) {
        need = 4;
        r = s[0] & 0x07;
        min = 0x10000;
    } else {
        return -1;
    }
    if (n < need)
        return -1;
    for (size_t i = 1; i < need; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return -1;
        r = (r << 6) | (s[i] & 0x3f);
    }
    if (r < min || r > 0x10ffff || (r >= 0xd800 && r <= 0xdfff))
        return -1;
    *len = need;
    return r;
}

/* What "%" JSON_INTEGER_FORMAT prints. */
static void add_integer(struct strbuf *sb, json_int_t v)
{
    char buf[24], *p = buf + sizeof(buf);
    unsigned long long u = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;
    do
        *--p = (char)('0' + u % 10);
    while (u /= 10);
    if (v < 0)
        *--p = '-';
    strbuf_add(sb, p, (size_t)(buf + sizeof(buf) - p));
}

/* A JSON string as encoding/json (and json-iterator's standard-library mode) writes it:
   HTML characters, U+2028/U+2029 and invalid UTF-8 escaped. */
static void go_json_string(struct strbuf *sb, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s;
    strbuf_addch(sb, '"');
    size_t i = 0;
    while (i < n) {
        /* a run of what needs no escape, at once */
        size_t run = i;
        while (run < n && p[run] >= 0x20 && p[run] < 0x80 && p[run] != '"' && p[run] != '\\' &&
               p[run] != '<' && p[run] != '>' && p[run] != '&')
            run++;
        if (run > i) {
            strbuf_add(sb, p + i, run - i);
            i = run;
            continue;
        }
        unsigned char c = p[i];
        if (c < 0x80) {
            if (c == '"' || c == '\\') {
                strbuf_addch(sb, '\\');
                strbuf_addch(sb, (char)c);
            } else if (c == '\n') {
                strbuf_addstr(sb, "\\n");
            } else if (c == '\r') {
                strbuf_addstr(sb, "\\r");
            } else if (c == '\t') {
                strbuf_addstr(sb, "\\t");
            } else if (c < 0x20 || c == '<' || c == '>' || c == '&') {
                strbuf_addf(sb, "\\u00%c%c", hex[c >> 4], hex[c & 15]);
            } else {
                strbuf_addch(sb, (char)c);
            }
            i++;
            continue;
        }
        size_t len;
        long r = utf8_rune(p + i, n - i, &len);
        if (r < 0)
            strbuf_addstr(sb, "\\ufffd");
        else if (r == 0x2028 || r == 0x2029)
            strbuf_addf(sb, "\\u202%c", r == 0x2028 ? '8' : '9');
        else
            strbuf_add(sb, p + i, len);
        i += len;
    }
    strbuf_addch(sb, '"');
}

void mf_go_json(struct strbuf *sb, const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        size_t n;
        const char **keys = sorted_keys(v, &n);
        strbuf_addch(sb, '{');
        for (size_t i = 0; i < n; i++) {
            if (i)
                strbuf_addch(sb, ',');
            go_json_string(sb, keys[i], strlen(keys[i]));
            strbuf_addch(sb, ':');
            mf_go_json(sb, json_object_get(v, keys[i]));
        }
        strbuf_addch(sb, '}');
        free(keys);
        break;
    }
    case JSON_ARRAY:
        strbuf_addch(sb, '[');
        for (size_t i = 0; i < json_array_size(v); i++) {
            if (i)
                strbuf_addch(sb, ',');
            mf_go_json(sb, json_array_get(v, i));
        }
        strbuf_addch(sb, ']');
        break;
    case JSON_STRING:
        go_json_string(sb, json_string_value(v), json_string_length(v));
        break;
    case JSON_INTEGER:
        add_integer(sb, json_integer_value(v));
        break;
    case JSON_REAL:
        go_json_float(sb, json_real_value(v));
        break;
    case JSON_TRUE:
        strbuf_addstr(sb, "true");
        break;
    case JSON_FALSE:
        strbuf_addstr(sb, "false");
        break;
    default:
        strbuf_addstr(sb, "null");
        break;
    }
}

/* %q of a Go string (strconv.Quote): printable ASCII and valid UTF-8 kept, the rest escaped. */
static void go_quote(struct strbuf *sb, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s;
    strbuf_addch(sb, '"');
    size_t i = 0;
    while (i < n) {
        unsigned char c = p[i];
        if (c < 0x80) {
            switch (c) {
            case '"':
                strbuf_addstr(sb, "\\\"");
                break;
            case '\\':
                strbuf_addstr(sb, "\\\\");
                break;
            case '\a':
                strbuf_addstr(sb, "\\a");
                break;
            case '\b':
                strbuf_addstr(sb, "\\b");
                break;
            case '\f':
                strbuf_addstr(sb, "\\f");
                break;
            case '\n':
                strbuf_addstr(sb, "\\n");
                break;
            case '\r':
                strbuf_addstr(sb, "\\r");
                break;
            case '\t':
                strbuf_addstr(sb, "\\t");
                break;
            case '\v':
                strbuf_addstr(sb, "\\v");
                break;
            default:
                if (c < 0x20 || c == 0x7f)
                    strbuf_addf(sb, "\\x%c%c", hex[c >> 4], hex[c & 15]);
                else
                    strbuf_addch(sb, (char)c);
            }
            i++;
            continue;
        }
        size_t len;
        long r = utf8_rune(p + i, n - i, &len);
        if (r < 0)
            strbuf_addf(sb, "\\x%c%c", hex[c >> 4], hex[c & 15]);
        else if (r < 0xa0)
            strbuf_addf(sb, "\\u%04lx", r);
        else
            strbuf_add(sb, p + i, len);
        i += len;
    }
    strbuf_addch(sb, '"');
}

void mf_go_quote(struct strbuf *sb, const char *s)
{
    go_quote(sb, s, strlen(s));
}

/* value.ToString */
static void value_to_string(struct strbuf *sb, const json_t *v, int depth)
{
    if (depth > MF_MAX_DEPTH) {
        strbuf_addstr(sb, "...");
        return;
    }
    switch (json_typeof(v)) {
    case JSON_NULL:
        strbuf_addstr(sb, "null");
        break;
    case JSON_REAL:
        go_v_float(sb, json_real_value(v));
        break;
    case JSON_INTEGER:
        add_integer(sb, json_integer_value(v));
        break;
    case JSON_STRING:
        go_quote(sb, json_string_value(v), json_string_length(v));
        break;
    case JSON_TRUE:
        strbuf_addstr(sb, "true");
        break;
    case JSON_FALSE:
        strbuf_addstr(sb, "false");
        break;
    case JSON_ARRAY:
        strbuf_addch(sb, '[');
        for (size_t i = 0; i < json_array_size(v); i++) {
            if (i)
                strbuf_addch(sb, ',');
            value_to_string(sb, json_array_get(v, i), depth + 1);
        }
        strbuf_addch(sb, ']');
        break;
    case JSON_OBJECT: {
        const char *k;
        json_t *e;
        json_object_foreach ((json_t *)v, k, e) {
            strbuf_addf(sb, "%s=", k);
            value_to_string(sb, e, depth + 1);
        }
        break;
    }
    }
}

/* ---- path elements
 * ------------------------------------------------------------------------------- */

/* FieldList.Compare: names, then values, then length. Keys are objects in sorted key order. */
static int key_compare(const json_t *a, const json_t *b)
{
    void *ia = json_object_iter((json_t *)a), *ib = json_object_iter((json_t *)b);
    for (;;) {
        if (!ia && !ib)
            return 0;
        if (!ia)
            return -1;
        if (!ib)
            return 1;
        int c = strcmp(json_object_iter_key(ia), json_object_iter_key(ib));
        if (c)
            return c < 0 ? -1 : 1;
        c = mf_value_compare(json_object_iter_value(ia), json_object_iter_value(ib));
        if (c)
            return c;
        ia = json_object_iter_next((json_t *)a, ia);
        ib = json_object_iter_next((json_t *)b, ib);
    }
}

int mf_pe_compare(const struct mf_pe *a, const struct mf_pe *b)
{
    if (a->kind != b->kind)
        return a->kind < b->kind ? -1 : 1;
    switch (a->kind) {
    case MF_PE_FIELD: {
        int c = strcmp(a->field, b->field);
        return c < 0 ? -1 : c > 0 ? 1 : 0;
    }
    case MF_PE_KEY:
        return key_compare(a->key, b->key);
    case MF_PE_VALUE:
        return mf_value_compare(a->value, b->value);
    default:
        return a->index < b->index ? -1 : a->index > b->index ? 1 : 0;
    }
}

void mf_pe_copy(struct mf_pe *dst, const struct mf_pe *src)
{
    *dst = *src;
    if (src->kind == MF_PE_FIELD) {
        if (!src->shared_field) {
            const char *in = mf_intern(src->field);
            dst->field = in ? in : xstrdup(src->field);
            dst->shared_field = in != NULL;
        }
    } else if (src->kind == MF_PE_KEY)
        dst->key = json_incref(src->key);
    else if (src->kind == MF_PE_VALUE)
        dst->value = json_incref(src->value);
}

void mf_pe_release(struct mf_pe *pe)
{
    if (pe->kind == MF_PE_FIELD && !pe->shared_field)
        free((char *)pe->field);
    else if (pe->kind == MF_PE_KEY)
        json_decref(pe->key);
    else if (pe->kind == MF_PE_VALUE)
        json_decref(pe->value);
    memset(pe, 0, sizeof(*pe));
}

void mf_pe_append_string(struct strbuf *sb, const struct mf_pe *pe)
{
    switch (pe->kind) {
    case MF_PE_FIELD:
        strbuf_addch(sb, '.');
        strbuf_addstr(sb, pe->field);
        break;
    case MF_PE_KEY: {
        strbuf_addch(sb, '[');
        const char *k;
        json_t *v;
        bool first = true;
        json_object_foreach (pe->key, k, v) {
            strbuf_addf(sb, "%s%s=", first ? "" : ",", k);
            value_to_string(sb, v, 0);
            first = false;
        }
        strbuf_addch(sb, ']');
        break;
    }
    case MF_PE_VALUE:
        strbuf_addstr(sb, "[=");
        value_to_string(sb, pe->value, 0);
        strbuf_addch(sb, ']');
        break;
    default:
        strbuf_addf(sb, "[%ld]", pe->index);
        break;
    }
}

void mf_pe_append_key(struct strbuf *sb, const struct mf_pe *pe)
{
    switch (pe->kind) {
    case MF_PE_FIELD:
        strbuf_addstr(sb, "f:");
        strbuf_addstr(sb, pe->field);
        break;
    case MF_PE_KEY: {
        strbuf_addstr(sb, "k:{");
        const char *k;
        json_t *v;
        bool first = true;
        json_object_foreach (pe->key, k, v) {
            if (!first)
                strbuf_addch(sb, ',');
            go_json_string(sb, k, strlen(k));
            strbuf_addch(sb, ':');
            mf_go_json(sb, v);
            first = false;
        }
        strbuf_addch(sb, '}');
        break;
    }
    case MF_PE_VALUE:
        strbuf_addstr(sb, "v:");
        mf_go_json(sb, pe->value);
        break;
    default:
        strbuf_addf(sb, "i:%ld", pe->index);
        break;
    }
}

/* ---- sets
 * ---------------------------------------------------------------------------------------- */

/* A set comes in one allocation with room for a few members and children, which is all most
   nodes of an object's field set ever hold; bigger nodes move their arrays to the heap. */
struct mf_set *mf_set_new(void)
{
    struct mf_set *s = xmalloc(sizeof(*s));
    s->members = s->inl_members;
    s->n_members = 0;
    s->a_members = SET_INLINE_MEMBERS;
    s->children = s->inl_children;
    s->n_children = 0;
    s->a_children = SET_INLINE_CHILDREN;
    return s;
}

void mf_set_free(struct mf_set *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n_members; i++)
        mf_pe_release(&s->members[i]);
    for (size_t i = 0; i < s->n_children; i++) {
        mf_pe_release(&s->children[i].pe);
        mf_set_free(s->children[i].set);
    }
    if (s->members != s->inl_members)
        free(s->members);
    if (s->children != s->inl_children)
        free(s->children);
    free(s);
}

void mf_set_assign(struct mf_set **s, struct mf_set *replacement)
{
    mf_set_free(*s);
    *s = replacement;
}

/* Double an array that starts in the set's inline storage (inl): the first growth moves it to
   the heap. */
static void *grow_array(void *arr, const void *inl, size_t n, size_t *cap, size_t elem)
{
    size_t want = 2 * *cap;
    *cap = want;
    if (arr != inl)
        return xrealloc(arr, want * elem);
    void *heap = xmalloc(want * elem);
    memcpy(heap, inl, n * elem);
    return heap;
}

static void grow_members(struct mf_set *s)
{
    s->members =
        grow_array(s->members, s->inl_members, s->n_members, &s->a_members, sizeof(*s->members));
}

static void grow_children(struct mf_set *s)
{
    s->children = grow_array(s->children, s->inl_children, s->n_children, &s->a_children,
                             sizeof(*s->children));
}

/* Append a copy of pe to the members; the caller keeps order. */
static void push_member(struct mf_set *s, const struct mf_pe *pe)
{
    if (s->n_members == s->a_members)
        grow_members(s);
    mf_pe_copy(&s->members[s->n_members++], pe);
}

/* Append a child node (set stolen); the caller keeps order. */
static void push_child(struct mf_set *s, const struct mf_pe *pe, struct mf_set *child)
{
    if (s->n_children == s->a_children)
        grow_children(s);
    mf_pe_copy(&s->children[s->n_children].pe, pe);
    s->children[s->n_children++].set = child;
}

/* Insert a copy of pe at member index at. */
static void insert_member_at(struct mf_set *s, size_t at, const struct mf_pe *pe)
{
    if (s->n_members == s->a_members)
        grow_members(s);
    memmove(&s->members[at + 1], &s->members[at], (s->n_members - at) * sizeof(*s->members));
    s->n_members++;
    mf_pe_copy(&s->members[at], pe);
}

/* Insert a child node (set stolen) at child index at. */
static void insert_child_at(struct mf_set *s, size_t at, const struct mf_pe *pe,
                            struct mf_set *child)
{
    if (s->n_children == s->a_children)
        grow_children(s);
    memmove(&s->children[at + 1], &s->children[at], (s->n_children - at) * sizeof(*s->children));
    s->n_children++;
    mf_pe_copy(&s->children[at].pe, pe);
    s->children[at].set = child;
}

static void remove_member_at(struct mf_set *s, size_t at)
{
    mf_pe_release(&s->members[at]);
    memmove(&s->members[at], &s->members[at + 1], (s->n_members - at - 1) * sizeof(*s->members));
    s->n_members--;
}

static void remove_child_at(struct mf_set *s, size_t at)
{
    mf_pe_release(&s->children[at].pe);
    mf_set_free(s->children[at].set);
    memmove(&s->children[at], &s->children[at + 1],
            (s->n_children - at - 1) * sizeof(*s->children));
    s->n_children--;
}

static size_t member_search(const struct mf_set *s, const struct mf_pe *pe, bool *found)
{
    size_t lo = 0, hi = s->n_members;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (mf_pe_compare(&s->members[mid], pe) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = lo < s->n_members && !mf_pe_compare(&s->members[lo], pe);
    return lo;
}

static size_t child_search(const struct mf_set *s, const struct mf_pe *pe, bool *found)
{
    size_t lo = 0, hi = s->n_children;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (mf_pe_compare(&s->children[mid].pe, pe) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = lo < s->n_children && !mf_pe_compare(&s->children[lo].pe, pe);
    return lo;
}

static void insert_member(struct mf_set *s, const struct mf_pe *pe)
{
    bool found;
    size_t at;
    /* walks insert in element order more often than not: try the end first */
    if (!s->n_members || mf_pe_compare(&s->members[s->n_members - 1], pe) < 0) {
        push_member(s, pe);
        return;
    }
    at = member_search(s, pe, &found);
    if (!found)
        insert_member_at(s, at, pe);
}

/* SetNodeMap.Descend: the node of pe, created empty when missing. */
static struct mf_node *descend_node(struct mf_set *s, const struct mf_pe *pe)
{
    bool found;
    size_t at = child_search(s, pe, &found);
    if (!found)
        insert_child_at(s, at, pe, mf_set_new());
    return &s->children[at];
}

static struct mf_set *descend(struct mf_set *s, const struct mf_pe *pe)
{
    return descend_node(s, pe)->set;
}

struct mf_set *mf_set_descend(struct mf_set *s, const struct mf_pe *pe)
{
    return descend(s, pe);
}

void mf_set_add(struct mf_set *s, const struct mf_pe *pe)
{
    insert_member(s, pe);
}

void mf_set_insert(struct mf_set *s, const struct mf_pe *const *path, size_t n)
{
    if (!n)
        return; /* nobody owns the whole object */
    for (size_t i = 0; i + 1 < n; i++)
        s = descend(s, path[i]);
    insert_member(s, path[n - 1]);
}

const struct mf_set *mf_set_child(const struct mf_set *s, const struct mf_pe *pe)
{
    bool found;
    size_t at = child_search(s, pe, &found);
    return found ? s->children[at].set : NULL;
}

bool mf_set_has(const struct mf_set *s, const struct mf_pe *const *path, size_t n)
{
    if (!n)
        return false;
    for (size_t i = 0; i + 1 < n; i++) {
        s = mf_set_child(s, path[i]);
        if (!s)
            return false;
    }
    bool found;
    member_search(s, path[n - 1], &found);
    return found;
}

bool mf_set_empty(const struct mf_set *s)
{
    if (s->n_members)
        return false;
    for (size_t i = 0; i < s->n_children; i++)
        if (!mf_set_empty(s->children[i].set))
            return false;
    return true;
}

bool mf_set_equal(const struct mf_set *a, const struct mf_set *b)
{
    if (a->n_members != b->n_members || a->n_children != b->n_children)
        return false;
    for (size_t i = 0; i < a->n_members; i++)
        if (mf_pe_compare(&a->members[i], &b->members[i]))
            return false;
    for (size_t i = 0; i < a->n_children; i++)
        if (mf_pe_compare(&a->children[i].pe, &b->children[i].pe) ||
            !mf_set_equal(a->children[i].set, b->children[i].set))
            return false;
    return true;
}

struct mf_set *mf_set_copy(const struct mf_set *s)
{
    struct mf_set *out = mf_set_new();
    for (size_t i = 0; i < s->n_members; i++)
        push_member(out, &s->members[i]);
    for (size_t i = 0; i < s->n_children; i++)
        push_child(out, &s->children[i].pe, mf_set_copy(s->children[i].set));
    return out;
}

/* The members of a and b merged: op 'u' union, 'i' intersection, 'd' a minus b. */
static void merge_members(struct mf_set *out, const struct mf_set *a, const struct mf_set *b,
                          char op)
{
    size_t i = 0, j = 0;
    while (i < a->n_members && j < b->n_members) {
        int c = mf_pe_compare(&a->members[i], &b->members[j]);
        if (c < 0) {
            if (op != 'i')
                push_member(out, &a->members[i]);
            i++;
        } else if (c > 0) {
            if (op == 'u')
                push_member(out, &b->members[j]);
            j++;
        } else {
            if (op != 'd')
                push_member(out, &a->members[i]);
            i++;
            j++;
        }
    }
    for (; op != 'i' && i < a->n_members; i++)
        push_member(out, &a->members[i]);
    for (; op == 'u' && j < b->n_members; j++)
        push_member(out, &b->members[j]);
}

struct mf_set *mf_set_union(const struct mf_set *a, const struct mf_set *b)
{
    struct mf_set *out = mf_set_new();
    merge_members(out, a, b, 'u');
    size_t i = 0, j = 0;
    while (i < a->n_children && j < b->n_children) {
        int c = mf_pe_compare(&a->children[i].pe, &b->children[j].pe);
        if (c < 0) {
            push_child(out, &a->children[i].pe, mf_set_copy(a->children[i].set));
            i++;
        } else if (c > 0) {
            push_child(out, &b->children[j].pe, mf_set_copy(b->children[j].set));
            j++;
        } else {
            push_child(out, &a->children[i].pe,
                       mf_set_union(a->children[i].set, b->children[j].set));
            i++;
            j++;
        }
    }
    for (; i < a->n_children; i++)
        push_child(out, &a->children[i].pe, mf_set_copy(a->children[i].set));
    for (; j < b->n_children; j++)
        push_child(out, &b->children[j].pe, mf_set_copy(b->children[j].set));
    return out;
}

struct mf_set *mf_set_intersection(const struct mf_set *a, const struct mf_set *b)
{
    struct mf_set *out = mf_set_new();
    merge_members(out, a, b, 'i');
    size_t i = 0, j = 0;
    while (i < a->n_children && j < b->n_children) {
        int c = mf_pe_compare(&a->children[i].pe, &b->children[j].pe);
        if (c < 0) {
            i++;
        } else if (c > 0) {
            j++;
        } else {
            struct mf_set *r = mf_set_intersection(a->children[i].set, b->children[j].set);
            if (mf_set_empty(r))
                mf_set_free(r);
            else
                push_child(out, &a->children[i].pe, r);
            i++;
            j++;
        }
    }
    return out;
}

/* Set.Difference: members of b leave a's members; b's children leave a's children. A member of
   b does not remove a's subtree under the same element (upstream: "parent - child = parent"). */
struct mf_set *mf_set_difference(const struct mf_set *a, const struct mf_set *b)
{
    struct mf_set *out = mf_set_new();
    merge_members(out, a, b, 'd');
    size_t i = 0, j = 0;
    while (i < a->n_children && j < b->n_children) {
        int c = mf_pe_compare(&a->children[i].pe, &b->children[j].pe);
        if (c < 0) {
            push_child(out, &a->children[i].pe, mf_set_copy(a->children[i].set));
            i++;
        } else if (c > 0) {
            j++;
        } else {
            struct mf_set *r = mf_set_difference(a->children[i].set, b->children[j].set);
            if (mf_set_empty(r))
                mf_set_free(r);
            else
                push_child(out, &a->children[i].pe, r);
            i++;
            j++;
        }
    }
    for (; i < a->n_children; i++)
        push_child(out, &a->children[i].pe, mf_set_copy(a->children[i].set));
    return out;
}

/* Set.RecursiveDifference: a member of b also removes a's whole subtree under it. */
struct mf_set *mf_set_recursive_difference(const struct mf_set *a, const struct mf_set *b)
{
    struct mf_set *out = mf_set_new();
    merge_members(out, a, b, 'd');
    for (size_t i = 0; i < a->n_children; i++) {
        const struct mf_node *nd = &a->children[i];
        bool is_member;
        member_search(b, &nd->pe, &is_member);
        if (is_member)
            continue;
        const struct mf_set *bc = mf_set_child(b, &nd->pe);
        if (!bc) {
            push_child(out, &nd->pe, mf_set_copy(nd->set));
            continue;
        }
        struct mf_set *r = mf_set_recursive_difference(nd->set, bc);
        if (mf_set_empty(r))
            mf_set_free(r);
        else
            push_child(out, &nd->pe, r);
    }
    return out;
}

/* In place: what mf_set_union(s, b) gives. Where an element is in both, s keeps its own, as the
   copying union keeps a's. */
void mf_set_union_into(struct mf_set *s, const struct mf_set *b)
{
    size_t i = 0;
    for (size_t j = 0; j < b->n_members; j++) {
        int c = 1;
        while (i < s->n_members && (c = mf_pe_compare(&s->members[i], &b->members[j])) < 0)
            i++;
        if (i == s->n_members || c > 0)
            insert_member_at(s, i, &b->members[j]);
        i++;
    }
    i = 0;
    for (size_t j = 0; j < b->n_children; j++) {
        int c = 1;
        while (i < s->n_children && (c = mf_pe_compare(&s->children[i].pe, &b->children[j].pe)) < 0)
            i++;
        if (i == s->n_children || c > 0)
            insert_child_at(s, i, &b->children[j].pe, mf_set_copy(b->children[j].set));
        else
            mf_set_union_into(s->children[i].set, b->children[j].set);
        i++;
    }
}

/* mf_set_union_into(s, b), moving b's elements rather than copying them; b is freed. */
void mf_set_union_take(struct mf_set *s, struct mf_set *b)
{
    size_t i = 0;
    for (size_t j = 0; j < b->n_members; j++) {
        int c = 1;
        while (i < s->n_members && (c = mf_pe_compare(&s->members[i], &b->members[j])) < 0)
            i++;
        if (i == s->n_members || c > 0) {
            if (s->n_members == s->a_members)
                grow_members(s);
            memmove(&s->members[i + 1], &s->members[i], (s->n_members - i) * sizeof(*s->members));
            s->members[i] = b->members[j]; /* moved */
            s->n_members++;
        } else {
            mf_pe_release(&b->members[j]);
        }
        i++;
    }
    b->n_members = 0;
    i = 0;
    for (size_t j = 0; j < b->n_children; j++) {
        int c = 1;
        while (i < s->n_children && (c = mf_pe_compare(&s->children[i].pe, &b->children[j].pe)) < 0)
            i++;
        if (i == s->n_children || c > 0) {
            if (s->n_children == s->a_children)
                grow_children(s);
            memmove(&s->children[i + 1], &s->children[i],
                    (s->n_children - i) * sizeof(*s->children));
            s->children[i] = b->children[j]; /* moved */
            s->n_children++;
        } else {
            mf_set_union_take(s->children[i].set, b->children[j].set);
            mf_pe_release(&b->children[j].pe);
        }
        i++;
    }
    b->n_children = 0;
    mf_set_free(b);
}

/* Removes from s's own members those b has too (both are sorted). */
static void subtract_members(struct mf_set *s, const struct mf_set *b)
{
    size_t i = 0, j = 0;
    while (i < s->n_members && j < b->n_members) {
        int c = mf_pe_compare(&s->members[i], &b->members[j]);
        if (c < 0) {
            i++;
        } else if (c > 0) {
            j++;
        } else {
            remove_member_at(s, i);
            j++;
        }
    }
}

/* In place: what mf_set_difference(s, b) gives. */
void mf_set_subtract(struct mf_set *s, const struct mf_set *b)
{
    subtract_members(s, b);
    size_t i = 0, j = 0;
    while (i < s->n_children && j < b->n_children) {
        int c = mf_pe_compare(&s->children[i].pe, &b->children[j].pe);
        if (c < 0) {
            i++;
        } else if (c > 0) {
            j++;
        } else {
            mf_set_subtract(s->children[i].set, b->children[j].set);
            if (mf_set_empty(s->children[i].set))
                remove_child_at(s, i);
            else
                i++;
            j++;
        }
    }
}

/* Whether mf_set_intersection(a, b) is not empty. */
static bool intersects(const struct mf_set *a, const struct mf_set *b)
{
    size_t i = 0, j = 0;
    while (i < a->n_members && j < b->n_members) {
        int c = mf_pe_compare(&a->members[i], &b->members[j]);
        if (!c)
            return true;
        if (c < 0)
            i++;
        else
            j++;
    }
    for (i = 0, j = 0; i < a->n_children && j < b->n_children;) {
        int c = mf_pe_compare(&a->children[i].pe, &b->children[j].pe);
        if (!c && intersects(a->children[i].set, b->children[j].set))
            return true;
        i += c <= 0;
        j += c >= 0;
    }
    return false;
}

/* In place: what mf_set_difference(s, mf_set_intersection(s, b)) gives, without building the
   intersection; false when it is empty (s is left alone). */
bool mf_set_subtract_common(struct mf_set *s, const struct mf_set *b)
{
    if (!intersects(s, b))
        return false;
    subtract_members(s, b);
    size_t i, j;
    for (i = 0, j = 0; i < s->n_children && j < b->n_children;) {
        int c = mf_pe_compare(&s->children[i].pe, &b->children[j].pe);
        if (c < 0) {
            i++;
        } else if (c > 0) {
            j++;
        } else {
            /* the intersection has this child only when it is not empty there */
            if (mf_set_subtract_common(s->children[i].set, b->children[j].set) &&
                mf_set_empty(s->children[i].set))
                remove_child_at(s, i);
            else
                i++;
            j++;
        }
    }
    return true;
}

/* In place: what mf_set_recursive_difference(s, b) gives. */
void mf_set_subtract_recursive(struct mf_set *s, const struct mf_set *b)
{
    subtract_members(s, b);
    for (size_t i = 0; i < s->n_children;) {
        const struct mf_node *nd = &s->children[i];
        bool is_member;
        member_search(b, &nd->pe, &is_member);
        if (is_member) {
            remove_child_at(s, i);
            continue;
        }
        const struct mf_set *bc = mf_set_child(b, &nd->pe);
        if (bc) {
            mf_set_subtract_recursive(nd->set, bc);
            if (mf_set_empty(nd->set)) {
                remove_child_at(s, i);
                continue;
            }
        }
        i++;
    }
}

struct iter_state {
    const struct mf_pe **path;
    size_t n, alloc;
    mf_path_fn fn;
    void *ctx;
};

static void iterate(const struct mf_set *s, struct iter_state *st)
{
    if (st->n + 1 >= st->alloc) {
        st->alloc = st->alloc ? 2 * st->alloc : 16;
        st->path = xrealloc(st->path, st->alloc * sizeof(*st->path));
    }
    for (size_t i = 0; i < s->n_members; i++) {
        st->path[st->n] = &s->members[i];
        st->fn(st->ctx, st->path, st->n + 1);
    }
    for (size_t i = 0; i < s->n_children; i++) {
        st->path[st->n++] = &s->children[i].pe;
        iterate(s->children[i].set, st);
        st->n--;
    }
}

void mf_set_iterate(const struct mf_set *s, mf_path_fn fn, void *ctx)
{
    struct iter_state st = {.fn = fn, .ctx = ctx};
    iterate(s, &st);
    free(st.path);
}

/* ---- fieldsV1
 * -------------------------------------------------------------------------------------- */

/* Set.emitContentsV1: "." first when the node is itself a member, then members and children
   merged in element order. sb is scratch space for the keys. */
static json_t *emit(const struct mf_set *s, bool include_self, struct strbuf *sb)
{
    json_t *obj = json_object();
    if (include_self && (s->n_members || s->n_children))
        json_object_set_new_nocheck(obj, ".", json_object());
    size_t mi = 0, ci = 0;
    while (mi < s->n_members || ci < s->n_children) {
        int c;
        if (mi == s->n_members)
            c = 1;
        else if (ci == s->n_children)
            c = -1;
        else
            c = mf_pe_compare(&s->members[mi], &s->children[ci].pe);
        const struct mf_pe *pe = c < 0 ? &s->members[mi] : &s->children[ci].pe;
        json_t *v = c < 0 ? json_object() : emit(s->children[ci].set, c == 0, sb);
        strbuf_reset(sb);
        mf_pe_append_key(sb, pe);
        /* keys, values and shared names come out valid UTF-8; other names are checked */
        if (pe->kind != MF_PE_FIELD || pe->shared_field)
            json_object_set_new_nocheck(obj, strbuf_str(sb), v);
        else
            json_object_set_new(obj, strbuf_str(sb), v);
        if (c <= 0)
            mi++;
        if (c >= 0)
            ci++;
    }
    return obj;
}

json_t *mf_set_to_fields(const struct mf_set *s)
{
    struct strbuf sb;
    strbuf_init(&sb, STRBUF_NO_LIMIT);
    json_t *out = emit(s, false, &sb);
    strbuf_release(&sb);
    return out;
}

/* A JSON string with nothing to unescape or check at *p: printable ASCII between quotes. Its
   length, with *p moved past it, or -1 (then *p is left alone). */
static long plain_string(const char **p)
{
    const char *q = *p;
    if (*q++ != '"')
        return -1;
    const char *start = q;
    for (; *q != '"'; q++)
        if (*q < 0x20 || *q >= 0x7f || *q == '\\')
            return -1; /* the end, a control, an escape or not ASCII: jansson decides */
    *p = q + 1;
    return q - start;
}

/* A JSON scalar at *p that is a plain string or an integer of at most 18 digits (no leading
   zero, as JSON wants): the value jansson would give, with *p moved past it, or NULL. */
static json_t *plain_scalar(const char **p)
{
    const char *q = *p;
    if (*q == '"') {
        long n = plain_string(&q);
        if (n < 0)
            return NULL;
        *p = q;
        return json_stringn_nocheck(q - n - 1, (size_t)n);
    }
    const char *digits = q + (*q == '-');
    size_t nd = 0;
    while (digits[nd] >= '0' && digits[nd] <= '9')
        nd++;
    if (!nd || nd > 18 || (digits[0] == '0' && nd > 1))
        return NULL;
    char c = digits[nd];
    if (c == '.' || c == 'e' || c == 'E')
        return NULL; /* a real */
    *p = digits + nd;
    return json_integer(strtoll(q, NULL, 10));
}

static int cmp_key_ref(const void *a, const void *b)
{
    const struct {
        const char *s;
        size_t n;
        json_t *v;
    } *x = a, *y = b;
    size_t n = x->n < y->n ? x->n : y->n;
    int c = memcmp(x->s, y->s, n);
    return c ? c : x->n < y->n ? -1 : x->n > y->n;
}

/* The text of a k: element when it is one flat object of plain names and plain scalars, and
   nothing else: the object with its fields sorted by name (FieldList.Sort), as json_loads and
   the sort below would give it. NULL for anything else (then they run). */
static json_t *plain_key(const char *p)
{
    struct {
        const char *s;
        size_t n;
        json_t *v;
    } f[8];
    size_t n = 0;
    json_t *out = NULL;
    if (*p++ != '{')
        return NULL;
    while (*p != '}') {
        if (n == 8 || (n && *p++ != ','))
            goto out;
        f[n].s = p + 1;
        long len = plain_string(&p);
        if (len < 0 || *p++ != ':')
            goto out;
        f[n].n = (size_t)len;
        if (!(f[n].v = plain_scalar(&p)))
            goto out;
        n++;
    }
    if (p[1] || !n)
        goto out; /* text after the object, or no fields: leave it to jansson */
    qsort(f, n, sizeof(f[0]), cmp_key_ref);
    for (size_t i = 1; i < n; i++)
        if (!cmp_key_ref(&f[i - 1], &f[i]))
            goto out; /* a repeated name */
    out = json_object();
    for (size_t i = 0; i < n; i++) {
        char name[64];
        if (f[i].n >= sizeof(name) || memchr(f[i].s, '\0', f[i].n)) {
            json_decref(out);
            out = NULL;
            goto out;
        }
        memcpy(name, f[i].s, f[i].n);
        name[f[i].n] = '\0';
        json_object_set_nocheck(out, name, f[i].v);
    }
out:
    for (size_t i = 0; i < n; i++)
        json_decref(f[i].v);
    return out;
}

/* DeserializePathElement. 0 with *pe filled, 1 for an unknown element type (skipped upstream),
   -1 with *err on a malformed one. A field's name is borrowed from s (pe_release_parsed); keys
   and values are owned. */
static int parse_pe(const char *s, struct mf_pe *pe, char **err)
{
    memset(pe, 0, sizeof(*pe));
    size_t n = strlen(s);
    if (n < 2) {
        *err = xstrdup("key must be 2 characters long:");
        return -1;
    }
    if (s[1] != ':') {
        *err = xasprintf("missing colon: %s", s);
        return -1;
    }
    json_error_t jerr;
    switch (s[0]) {
    case 'f':
        pe->kind = MF_PE_FIELD;
        pe->field = s + 2;
        return 0;
    case 'v': {
        const char *p = s + 2;
        json_t *v = plain_scalar(&p);
        if (v && *p) {
            json_decref(v);
            v = NULL;
        }
        if (!v)
            v = json_loads(s + 2, JSON_DECODE_ANY | JSON_DISABLE_EOF_CHECK, &jerr);
        if (!v) {
            *err = xasprintf("parsing JSON: %s", jerr.text);
            return -1;
        }
        pe->kind = MF_PE_VALUE;
        pe->value = v;
        return 0;
    }
    case 'k': {
        json_t *plain = plain_key(s + 2);
        if (plain) {
            pe->kind = MF_PE_KEY;
            pe->key = plain;
            return 0;
        }
        json_t *v = json_loads(s + 2, JSON_DISABLE_EOF_CHECK, &jerr);
        if (!json_is_object(v)) {
            json_decref(v);
            *err = xasprintf("ReadObjectCB: expect { or n in %s", s);
            return -1;
        }
        /* FieldList.Sort: the key fields by name */
        size_t nk;
        const char **keys = sorted_keys(v, &nk);
        json_t *sorted = json_object();
        for (size_t i = 0; i < nk; i++)
            json_object_set(sorted, keys[i], json_object_get(v, keys[i]));
        free(keys);
        json_decref(v);
        pe->kind = MF_PE_KEY;
        pe->key = sorted;
        return 0;
    }
    case 'i': {
        const char *p = s + 2;
        char *end;
        if (*p == '+' || *p == '-')
            p++;
        long v = strtol(s + 2, &end, 10);
        if (*p < '0' || *p > '9' || *end) {
            *err = xasprintf("strconv.Atoi: parsing \"%s\": invalid syntax", s + 2);
            return -1;
        }
        pe->kind = MF_PE_INDEX;
        pe->index = v;
        return 0;
    }
    default:
        return 1;
    }
}

static void pe_release_parsed(struct mf_pe *pe)
{
    if (pe->kind != MF_PE_FIELD)
        mf_pe_release(pe);
}

/* readIterV1: the subtree of one fieldsV1 node, or NULL when it has no children; *is_member
   says whether the node itself belongs to the set. */
static struct mf_set *read_node(const json_t *obj, int depth, bool *is_member, char **err)
{
    struct mf_set *children = NULL;
    *is_member = false;
    if (depth > MF_MAX_DEPTH) {
        *err = xstrdup("fieldsV1 nests too deeply");
        return NULL;
    }
    if (json_is_null(obj)) {
        *is_member = true;
        return NULL;
    }
    if (!json_is_object(obj)) {
        *err = xstrdup("ReadMapCB: expect { or n");
        return NULL;
    }
    const char *k;
    json_t *v;
    MF_OBJECT_FOREACH(obj, it_, k, v)
    {
        if (k[0] == '.' && !k[1]) {
            *is_member = true;
            continue;
        }
        struct mf_pe pe;
        int rc = parse_pe(k, &pe, err);
        if (rc > 0)
            continue;
        if (rc < 0)
            goto fail;
        bool child_member = true;
        struct mf_set *grand = NULL;
        /* {} is a leaf (as read_node would say, unless too deep) */
        if (depth >= MF_MAX_DEPTH || !json_is_object(v) || json_object_size(v))
            grand = read_node(v, depth + 1, &child_member, err);
        if (*err) {
            pe_release_parsed(&pe);
            goto fail;
        }
        if (child_member || grand) {
            if (!children)
                children = mf_set_new();
        }
        if (child_member)
            insert_member(children, &pe);
        if (grand) {
            /* a repeated element replaces the earlier subtree, as upstream's Descend does */
            bool found;
            size_t at = child_search(children, &pe, &found);
            if (found) {
                mf_set_free(children->children[at].set);
                children->children[at].set = grand;
            } else {
                insert_child_at(children, at, &pe, grand);
            }
        }
        pe_release_parsed(&pe);
    }
    if (!children)
        *is_member = true;
    return children;
fail:
    mf_set_free(children);
    return NULL;
}

struct mf_set *mf_set_from_fields(const json_t *fields, char **err)
{
    *err = NULL;
    bool member;
    struct mf_set *s = read_node(fields, 0, &member, err);
    if (*err) {
        mf_set_free(s);
        return NULL;
    }
    return s ? s : mf_set_new();
}

/* Whether s is valid UTF-8, as jansson's setters want keys. */
static bool utf8_valid(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strlen(s), len;
    for (size_t i = 0; i < n; i += len)
        if (utf8_rune(p + i, n - i, &len) < 0)
            return false;
    return true;
}

static bool is_empty_object(const json_t *v)
{
    return json_is_object(v) && !json_object_size(v);
}

/* Whether emit(s, include_self) would give exactly obj (keys, their order, {} leaves). */
static bool matches(const struct mf_set *s, bool include_self, const json_t *obj, struct strbuf *sb)
{
    if (!json_is_object(obj))
        return false;
    void *it = json_object_iter((json_t *)obj);
    if (include_self && (s->n_members || s->n_children)) {
        if (!it || strcmp(json_object_iter_key(it), ".") ||
            !is_empty_object(json_object_iter_value(it)))
            return false;
        it = json_object_iter_next((json_t *)obj, it);
    }
    size_t mi = 0, ci = 0;
    while (mi < s->n_members || ci < s->n_children) {
        if (!it)
            return false;
        int c;
        if (mi == s->n_members)
            c = 1;
        else if (ci == s->n_children)
            c = -1;
        else
            c = mf_pe_compare(&s->members[mi], &s->children[ci].pe);
        const struct mf_pe *pe = c < 0 ? &s->members[mi] : &s->children[ci].pe;
        const char *k = json_object_iter_key(it);
        if (pe->kind == MF_PE_FIELD) {
            if (k[0] != 'f' || k[1] != ':' || strcmp(k + 2, pe->field))
                return false;
            if (!pe->shared_field && !utf8_valid(k)) /* emit would drop it */
                return false;
        } else {
            strbuf_reset(sb);
            mf_pe_append_key(sb, pe);
            if (strcmp(k, strbuf_str(sb)))
                return false;
        }
        const json_t *v = json_object_iter_value(it);
        if (c < 0 ? !is_empty_object(v) : !matches(s->children[ci].set, c == 0, v, sb))
            return false;
        if (c <= 0)
            mi++;
        if (c >= 0)
            ci++;
        it = json_object_iter_next((json_t *)obj, it);
    }
    return !it;
}

bool mf_set_matches_fields(const struct mf_set *s, const json_t *fields)
{
    struct strbuf sb;
    strbuf_init(&sb, STRBUF_NO_LIMIT);
    bool same = matches(s, false, fields, &sb);
    strbuf_release(&sb);
    return same;
}

/* ---- schema-aware set operations
 * ----------------------------------------------------------------- */

static struct mf_set *ensure_named(const struct mf_schema *sc, const struct mf_tref *tr,
                                   const struct mf_set *s, int depth)
{
    struct mf_atom atom;
    if (depth > MF_MAX_DEPTH || mf_resolve(sc, tr, &atom))
        memset(&atom, 0, sizeof(atom));
    struct mf_set *out = mf_set_new();
    for (size_t i = 0; i < s->n_members; i++)
        push_member(out, &s->members[i]);
    for (size_t i = 0; i < s->n_children; i++) {
        const struct mf_pe *pe = &s->children[i].pe;
        bool declared = false;
        if (pe->kind == MF_PE_FIELD && atom.has_map) {
            mf_atom_field(&atom, pe->field, &declared);
            if (declared)
                insert_member(out, pe);
        }
    }
    for (size_t i = 0; i < s->n_children; i++) {
        const struct mf_pe *pe = &s->children[i].pe;
        struct mf_tref ctr = {.kind = MF_T_NONE, .map_rel = -1};
        if (pe->kind == MF_PE_FIELD && atom.has_map)
            ctr = mf_atom_field(&atom, pe->field, NULL);
        else if (pe->kind == MF_PE_KEY && atom.has_list)
            ctr = atom.list_elem;
        push_child(out, pe, ensure_named(sc, &ctr, s->children[i].set, depth + 1));
    }
    return out;
}

struct mf_set *mf_ensure_named(const struct mf_schema *sc, const struct mf_set *s)
{
    struct mf_tref root = mf_root_tref(sc);
    return ensure_named(sc, &root, s, 0);
}
