/*
 * selector/field.c: field selectors, following apimachinery v0.33's pkg/fields/selector.go
 * (splitTerms, splitTerm, UnescapeValue, parseSelector, hasTerm / notHasTerm / andTerm) and the
 * field-label checks the apiserver runs through Selector.Transform before a list or watch.
 * A parsed selector is a flat AND of `field=value` / `field!=value` terms: upstream's tree never
 * nests deeper than one andTerm, so a list holds it exactly. What a field means for a kind is the
 * caller's business (a getter). Depends on libc, jansson, strbuf and util's allocation.
 */
#include "svc/selector.h"

#include "internal.h"
#include "svc/strbuf.h"
#include "svc/util.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

struct fterm {
    char *field; /* owned, NUL-terminated (may hold NUL bytes before field_len with _parse_n) */
    size_t field_len;
    char *value; /* owned, unescaped, NUL-terminated */
    size_t value_len;
    enum field_selector_op op;
};

struct field_selector {
    struct fterm *terms;
    size_t len;
};

struct part {
    const char *s;
    size_t len;
};

static char *dup_n(const char *s, size_t n)
{
    char *p = xmalloc(n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

static int field_is(const struct fterm *t, const char *name)
{
    size_t n = strlen(name);
    return t->field_len == n && memcmp(t->field, name, n) == 0;
}

static void fterm_release(struct fterm *t)
{
    free(t->field);
    free(t->value);
}

void field_selector_free(struct field_selector *sel)
{
    if (!sel)
        return;
    for (size_t i = 0; i < sel->len; i++)
        fterm_release(&sel->terms[i]);
    free(sel->terms);
    free(sel);
}

/*
 * splitTerms: cut at commas that no backslash escapes; the backslashes stay in the terms.
 * Upstream walks runes, but the bytes that matter ('\\', ',') never occur inside a multi-byte
 * rune, and a bad byte is a rune of its own, so walking bytes cuts at the same places.
 */
static struct part *split_terms(const char *s, size_t len, size_t *n)
{
    struct part *parts;
    size_t start = 0, count = 1;
    int in_slash = 0;

    *n = 0;
    if (len == 0)
        return NULL;
    for (size_t i = 0; i < len; i++) {
        if (in_slash)
            in_slash = 0;
        else if (s[i] == '\\')
            in_slash = 1;
        else if (s[i] == ',')
            count++;
    }
    parts = xcalloc(count, sizeof(*parts));
    in_slash = 0;
    for (size_t i = 0; i < len; i++) {
        if (in_slash) {
            in_slash = 0;
        } else if (s[i] == '\\') {
            in_slash = 1;
        } else if (s[i] == ',') {
            parts[*n].s = s + start;
            parts[(*n)++].len = i - start;
            start = i + 1;
        }
    }
    parts[*n].s = s + start;
    parts[(*n)++].len = len - start;
    return parts;
}

static int cmp_part(const void *a, const void *b)
{
    const struct part *x = a, *y = b;
    return selector_strcmp_n(x->s, x->len, y->s, y->len);
}

/*
 * splitTerm: the first position where "!=", "==" or "=" starts (tried in that order, so "=="
 * leaves no '=' on the value) splits field from value; no escapes on the field side.
 */
static int split_term(const struct part *p, size_t *op_at, size_t *op_len,
                      enum field_selector_op *op)
{
    for (size_t i = 0; i < p->len; i++) {
        const char *r = p->s + i;
        size_t left = p->len - i;
        if (left >= 2 && r[0] == '!' && r[1] == '=') {
            *op = FIELD_SELECTOR_NOT_EQUALS;
            *op_len = 2;
        } else if (left >= 2 && r[0] == '=' && r[1] == '=') {
            *op = FIELD_SELECTOR_EQUALS;
            *op_len = 2;
        } else if (r[0] == '=') {
            *op = FIELD_SELECTOR_EQUALS;
            *op_len = 1;
        } else {
            continue;
        }
        *op_at = i;
        return 0;
    }
    return -1;
}

/*
 * UnescapeValue. A value with no '\\', ',' or '=' is taken as is; any other value is rebuilt
 * rune by rune, and Go's rune loop turns each byte that is not UTF-8 into U+FFFD on the way.
 * Returns the value, or NULL with *err set.
 */
static char *unescape_value(const char *s, size_t len, size_t *out_len, char **err)
{
    struct strbuf sb, e;
    int in_slash = 0;

    if (!memchr(s, '\\', len) && !memchr(s, ',', len) && !memchr(s, '=', len)) {
        *out_len = len;
        return dup_n(s, len);
    }
    strbuf_init(&sb, STRBUF_NO_LIMIT);
    for (size_t i = 0, w; i < len; i += w) {
        int32_t c = selector_utf8_decode(s + i, len - i, &w);
        if (in_slash) {
            if (c != '\\' && c != ',' && c != '=') {
                strbuf_init(&e, STRBUF_NO_LIMIT);
                strbuf_addstr(&e, "invalid field selector: invalid escape sequence: \\");
                selector_utf8_add(&e, c);
                *err = strbuf_detach(&e, NULL);
                strbuf_release(&sb);
                return NULL;
            }
            selector_utf8_add(&sb, c);
            in_slash = 0;
            continue;
        }
        if (c == '\\') {
            in_slash = 1;
        } else if (c == ',' || c == '=') {
            /* UnescapedRune prints the rune with %v, that is as a number: 44 or 61 */
            *err = xasprintf("invalid field selector: unescaped character in value: %d", (int)c);
            strbuf_release(&sb);
            return NULL;
        } else {
            selector_utf8_add(&sb, c);
        }
    }
    if (in_slash) {
        *err = xstrdup("invalid field selector: invalid escape sequence: \\");
        strbuf_release(&sb);
        return NULL;
    }
    *out_len = sb.len;
    return strbuf_detach(&sb, NULL);
}

static char *cant_understand(const char *s, size_t len, const struct part *p)
{
    struct strbuf sb;
    strbuf_init(&sb, STRBUF_NO_LIMIT);
    strbuf_addstr(&sb, "invalid selector: '");
    strbuf_add(&sb, s, len);
    strbuf_addstr(&sb, "'; can't understand '");
    strbuf_add(&sb, p->s, p->len);
    strbuf_addch(&sb, '\'');
    return strbuf_detach(&sb, NULL);
}

struct field_selector *field_selector_parse_n(const char *s, size_t len, char **err)
{
    struct field_selector *sel = xcalloc(1, sizeof(*sel));
    size_t nparts;
    struct part *parts = split_terms(s, len, &nparts);

    *err = NULL;
    /* Terms are sorted by their raw text, so errors, String() and RequiresExactMatch all follow
     * that order rather than the order in the query. */
    if (nparts > 1)
        qsort(parts, nparts, sizeof(*parts), cmp_part);
    sel->terms = xcalloc(nparts ? nparts : 1, sizeof(*sel->terms));
    for (size_t i = 0; i < nparts; i++) {
        const struct part *p = &parts[i];
        struct fterm t;
        size_t op_at, op_len;

        if (p->len == 0)
            continue;
        if (split_term(p, &op_at, &op_len, &t.op)) {
            *err = cant_understand(s, len, p);
            break;
        }
        t.value = unescape_value(p->s + op_at + op_len, p->len - op_at - op_len, &t.value_len, err);
        if (!t.value)
            break;
        /* ParseSelector transforms with the identity, and Transform drops a term whose field
         * and value are both empty: "=" and "!=" select everything. */
        if (op_at == 0 && t.value_len == 0) {
            free(t.value);
            continue;
        }
        t.field = dup_n(p->s, op_at);
        t.field_len = op_at;
        sel->terms[sel->len++] = t;
    }
    free(parts);
    if (*err) {
        field_selector_free(sel);
        return NULL;
    }
    return sel;
}

struct field_selector *field_selector_parse(const char *s, char **err)
{
    return field_selector_parse_n(s, strlen(s), err);
}

static int value_is(const struct fterm *t, const char *v, size_t vlen)
{
    return t->value_len == vlen && memcmp(t->value, v, vlen) == 0;
}

/* hasTerm / notHasTerm against one value ("" when the field is missing: fields.Set.Get). */
static int fterm_matches(const struct fterm *t, const char *v, size_t vlen)
{
    int eq = value_is(t, v, vlen);
    return t->op == FIELD_SELECTOR_EQUALS ? eq : !eq;
}

bool field_selector_matches(const struct field_selector *sel, field_selector_get_fn get, void *ctx)
{
    for (size_t i = 0; i < sel->len; i++) {
        const char *v = get(ctx, sel->terms[i].field);
        if (!v)
            v = "";
        if (!fterm_matches(&sel->terms[i], v, strlen(v)))
            return false;
    }
    return true;
}

bool field_selector_matches_set(const struct field_selector *sel, const json_t *set)
{
    for (size_t i = 0; i < sel->len; i++) {
        const json_t *jv = json_is_object(set) ? json_object_get(set, sel->terms[i].field) : NULL;
        const char *v = json_is_string(jv) ? json_string_value(jv) : "";
        size_t vlen = json_is_string(jv) ? json_string_length(jv) : 0;
        if (!fterm_matches(&sel->terms[i], v, vlen))
            return false;
    }
    return true;
}

bool field_selector_empty(const struct field_selector *sel)
{
    return sel->len == 0;
}

size_t field_selector_len(const struct field_selector *sel)
{
    return sel->len;
}

const char *field_selector_field(const struct field_selector *sel, size_t i)
{
    return sel->terms[i].field;
}

const char *field_selector_value(const struct field_selector *sel, size_t i)
{
    return sel->terms[i].value;
}

enum field_selector_op field_selector_op(const struct field_selector *sel, size_t i)
{
    return sel->terms[i].op;
}

const char *field_selector_requires_exact_match(const struct field_selector *sel, const char *field)
{
    /* andTerm asks its terms in order; a notHasTerm never answers, so the walk goes on past it */
    for (size_t i = 0; i < sel->len; i++) {
        const struct fterm *t = &sel->terms[i];
        if (t->op == FIELD_SELECTOR_EQUALS && field_is(t, field))
            return t->value;
    }
    return NULL;
}

int field_selector_convert(struct field_selector *sel, field_selector_convert_fn fn, void *ctx,
                           char **err)
{
    const char **renames = xcalloc(sel->len ? sel->len : 1, sizeof(*renames));
    size_t out = 0;

    *err = NULL;
    /* Ask about every term before changing any, so a failure leaves sel as it was. */
    for (size_t i = 0; i < sel->len; i++) {
        renames[i] = NULL;
        if (fn(ctx, sel->terms[i].field, sel->terms[i].value, &renames[i], err) < 0) {
            if (!*err)
                *err = xstrdup("invalid field selector");
            free(renames);
            return -1;
        }
    }
    for (size_t i = 0; i < sel->len; i++) {
        struct fterm *t = &sel->terms[i];
        if (renames[i]) {
            free(t->field);
            t->field = xstrdup(renames[i]);
            t->field_len = strlen(t->field);
        }
        if (t->field_len == 0 && t->value_len == 0) {
            fterm_release(t);
            continue;
        }
        sel->terms[out++] = *t;
    }
    sel->len = out;
    free(renames);
    return 0;
}

int field_selector_check_supported(const struct field_selector *sel, const char *const *supported,
                                   char **err)
{
    *err = NULL;
    for (size_t i = 0; i < sel->len; i++) {
        size_t k = 0;
        while (supported[k] && !field_is(&sel->terms[i], supported[k]))
            k++;
        if (!supported[k]) {
            *err = xasprintf("field label not supported: %s", sel->terms[i].field);
            return -1;
        }
    }
    return 0;
}

int field_selector_check_default(const struct field_selector *sel, char **err)
{
    *err = NULL;
    for (size_t i = 0; i < sel->len; i++) {
        const struct fterm *t = &sel->terms[i];
        if (field_is(t, "metadata.name") || field_is(t, "metadata.namespace"))
            continue;
        struct strbuf sb;
        strbuf_init(&sb, STRBUF_NO_LIMIT);
        selector_quote_add(&sb, t->field, t->field_len);
        strbuf_addstr(&sb, " is not a known field selector: only \"metadata.name\", "
                           "\"metadata.namespace\"");
        *err = strbuf_detach(&sb, NULL);
        return -1;
    }
    return 0;
}

/* EscapeValue: strings.NewReplacer(`\`, `\\`, `,`, `\,`, `=`, `\=`), byte by byte. */
static void add_escaped(struct strbuf *sb, const char *v, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (v[i] == '\\' || v[i] == ',' || v[i] == '=')
            strbuf_addch(sb, '\\');
        strbuf_addch(sb, v[i]);
    }
}

char *field_selector_escape_value(const char *v)
{
    struct strbuf sb;
    strbuf_init(&sb, STRBUF_NO_LIMIT);
    add_escaped(&sb, v, strlen(v));
    return strbuf_detach(&sb, NULL);
}

char *field_selector_string(const struct field_selector *sel)
{
    struct strbuf sb;
    strbuf_init(&sb, STRBUF_NO_LIMIT);
    for (size_t i = 0; i < sel->len; i++) {
        const struct fterm *t = &sel->terms[i];
        if (i)
            strbuf_addch(&sb, ',');
        strbuf_add(&sb, t->field, t->field_len);
        strbuf_addstr(&sb, t->op == FIELD_SELECTOR_EQUALS ? "=" : "!=");
        add_escaped(&sb, t->value, t->value_len);
    }
    return strbuf_detach(&sb, NULL);
}
