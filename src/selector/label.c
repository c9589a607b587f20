/*
 * selector/label.c: label selectors, a line-by-line reading of apimachinery v0.33's
 * pkg/labels/selector.go (lexer, parser, Requirement), of the key and value checks it borrows
 * from pkg/util/validation, and of LabelSelectorAsSelector / FormatLabelSelector from
 * pkg/apis/meta/v1/helpers.go. Every message is built the way the Go code builds it, since the
 * server returns them verbatim. Also home of the Go string helpers of selector/internal.h.
 * Depends on libc, jansson, strbuf and util's allocation; nothing here knows about HTTP or kinds.
 */
#include "svc/selector.h"

#include "go_notprint.h"
#include "internal.h"
#include "svc/strbuf.h"
#include "svc/util.h"

#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ---- Go string helpers (selector/internal.h) ------------------------------------------------- */

int32_t selector_utf8_decode(const char *s, size_t len, size_t *width)
{
    const unsigned char *p = (const unsigned char *)s;
    unsigned char b0 = p[0], lo = 0x80, hi = 0xBF;
    size_t sz;
    int32_t r;

    *width = 1;
    if (b0 < 0x80)
        return b0;
    /* The accepted ranges of the second byte are those of Go's utf8.acceptRanges: they rule out
     * overlong forms (E0, F0), surrogates (ED) and code points past U+10FFFF (F4). */
    if (b0 >= 0xC2 && b0 <= 0xDF) {
        sz = 2;
        r = b0 & 0x1F;
    } else if (b0 >= 0xE0 && b0 <= 0xEF) {
        sz = 3;
        r = b0 & 0x0F;
        if (b0 == 0xE0)
            lo = 0xA0;
        else if (b0 == 0xED)
            hi = 0x9F;
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
        sz = 4;
        r = b0 & 0x07;
        if (b0 == 0xF0)
            lo = 0x90;
        else if (b0 == 0xF4)
            hi = 0x8F;
    } else {
        return SELECTOR_RUNE_ERROR;
    }
    if (len < sz || p[1] < lo || p[1] > hi)
        return SELECTOR_RUNE_ERROR;
    r = (r << 6) | (p[1] & 0x3F);
    for (size_t i = 2; i < sz; i++) {
        if (p[i] < 0x80 || p[i] > 0xBF)
            return SELECTOR_RUNE_ERROR;
        r = (r << 6) | (p[i] & 0x3F);
    }
    *width = sz;
    return r;
}

void selector_utf8_add(struct strbuf *sb, int32_t r)
{
    char b[4];
    size_t n;

    if (r < 0x80) {
        b[0] = (char)r;
        n = 1;
    } else if (r < 0x800) {
        b[0] = (char)(0xC0 | (r >> 6));
        b[1] = (char)(0x80 | (r & 0x3F));
        n = 2;
    } else if (r < 0x10000) {
        b[0] = (char)(0xE0 | (r >> 12));
        b[1] = (char)(0x80 | ((r >> 6) & 0x3F));
        b[2] = (char)(0x80 | (r & 0x3F));
        n = 3;
    } else {
        b[0] = (char)(0xF0 | (r >> 18));
        b[1] = (char)(0x80 | ((r >> 12) & 0x3F));
        b[2] = (char)(0x80 | ((r >> 6) & 0x3F));
        b[3] = (char)(0x80 | (r & 0x3F));
        n = 4;
    }
    strbuf_add(sb, b, n);
}

/* unicode.IsPrint for a rune past ASCII: outside every range of go_notprint.h. */
static int go_is_print_nonascii(int32_t r)
{
    size_t lo = 0, hi = sizeof(go_notprint) / sizeof(go_notprint[0]);

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (r < go_notprint[mid][0])
            hi = mid;
        else if (r > go_notprint[mid][1])
            lo = mid + 1;
        else
            return 0;
    }
    return 1;
}

void selector_quote_add(struct strbuf *sb, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    static const char ctl_chars[] = "\a\b\f\n\r\t\v";
    char esc[11];

    strbuf_addch(sb, '"');
    for (size_t i = 0, w; i < len; i += w) {
        unsigned char b = (unsigned char)s[i];
        int32_t r = selector_utf8_decode(s + i, len - i, &w);

        if (w == 1 && r == SELECTOR_RUNE_ERROR) {
            /* strconv.Quote shows a byte that is not UTF-8 as \xNN. */
            esc[0] = '\\';
            esc[1] = 'x';
            esc[2] = hex[b >> 4];
            esc[3] = hex[b & 15];
            strbuf_add(sb, esc, 4);
            continue;
        }
        if (r == '"' || r == '\\') {
            strbuf_addch(sb, '\\');
            strbuf_addch(sb, (char)r);
            continue;
        }
        if ((r >= 0x20 && r < 0x7F) || (r >= 0x80 && go_is_print_nonascii(r))) {
            strbuf_add(sb, s + i, w);
            continue;
        }
        /* the C escapes Go knows by letter */
        const char *ctl = r > 0 && r < 0x20 ? memchr(ctl_chars, (int)r, 7) : NULL;
        if (ctl) {
            esc[0] = '\\';
            esc[1] = "abfnrtv"[ctl - ctl_chars];
            strbuf_add(sb, esc, 2);
            continue;
        }
        if (r < 0x20 || r == 0x7F) {
            esc[0] = '\\';
            esc[1] = 'x';
            esc[2] = hex[(r >> 4) & 15];
            esc[3] = hex[r & 15];
            strbuf_add(sb, esc, 4);
        } else if (r < 0x10000) {
            esc[0] = '\\';
            esc[1] = 'u';
            for (int k = 0; k < 4; k++)
                esc[2 + k] = hex[(r >> (12 - 4 * k)) & 15];
            strbuf_add(sb, esc, 6);
        } else {
            esc[0] = '\\';
            esc[1] = 'U';
            for (int k = 0; k < 8; k++)
                esc[2 + k] = hex[(r >> (28 - 4 * k)) & 15];
            strbuf_add(sb, esc, 10);
        }
    }
    strbuf_addch(sb, '"');
}

int selector_strcmp_n(const char *a, size_t alen, const char *b, size_t blen)
{
    int c = memcmp(a, b, alen < blen ? alen : blen);
    if (c)
        return c;
    return alen < blen ? -1 : alen > blen ? 1 : 0;
}

static int cmp_cstr(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

void selector_sort_strings(char **v, size_t n)
{
    /* Equal strings are indistinguishable, so qsort's instability cannot show. strcmp compares
     * as unsigned char, which is Go's byte order. */
    if (n > 1)
        qsort(v, n, sizeof(*v), cmp_cstr);
}

/* ---- validation messages (pkg/util/validation) ----------------------------------------------- */

#define QNAME_FMT "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
/* RegexError(qualifiedNameErrMsg, qualifiedNameFmt, "MyName", "my.name", "123-abc"); the double
 * spaces before "or" are upstream's. */
#define QNAME_REGEX_ERR                                                                            \
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "    \
    "alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for "         \
    "validation is '" QNAME_FMT "')"
#define LABEL_VALUE_REGEX_ERR                                                                      \
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or "    \
    "'.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or "             \
    "'my_value',  or '12345', regex used for validation is '(" QNAME_FMT ")?')"
#define DNS1123_SUBDOMAIN_REGEX_ERR                                                                \
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "   \
    "'.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used "  \
    "for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"

static int is_alnum(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static int is_lower_alnum(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* ^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$ */
static int match_qualified_name_part(const char *s, size_t len)
{
    if (len == 0 || !is_alnum((unsigned char)s[0]) || !is_alnum((unsigned char)s[len - 1]))
        return 0;
    for (size_t i = 1; i + 1 < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!is_alnum(c) && c != '-' && c != '_' && c != '.')
            return 0;
    }
    return 1;
}

/* ^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$ */
static int match_dns1123_subdomain(const char *s, size_t len)
{
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && s[i] != '.')
            continue;
        /* s[start..i) is one label */
        if (i == start || !is_lower_alnum((unsigned char)s[start]) ||
            !is_lower_alnum((unsigned char)s[i - 1]))
            return 0;
        for (size_t j = start + 1; j + 1 < i; j++) {
            if (!is_lower_alnum((unsigned char)s[j]) && s[j] != '-')
                return 0;
        }
        start = i + 1;
    }
    return 1;
}

/* Append msg to a "; "-joined detail, as validateLabelKey joins the messages of a check. */
static void detail_add(struct strbuf *d, const char *prefix, const char *msg)
{
    if (d->len)
        strbuf_addstr(d, "; ");
    strbuf_addstr(d, prefix);
    strbuf_addstr(d, msg);
}

/* validation.IsQualifiedName: the messages for key, "; "-joined into d (empty when valid). */
static void check_qualified_name(const char *s, size_t len, struct strbuf *d)
{
    const char *slash = memchr(s, '/', len);
    const char *name = s;
    size_t name_len = len;

    if (slash) {
        size_t plen = (size_t)(slash - s);
        if (memchr(slash + 1, '/', len - plen - 1)) {
            /* strings.Split gives more than two parts: one message, and nothing else checked */
            detail_add(d, "a qualified name ", QNAME_REGEX_ERR);
            strbuf_addstr(d, " with an optional DNS subdomain prefix and '/' (e.g. "
                             "'example.com/MyName')");
            return;
        }
        if (plen == 0) {
            detail_add(d, "prefix part ", "must be non-empty");
        } else {
            if (plen > 253)
                detail_add(d, "prefix part ", "must be no more than 253 characters");
            if (!match_dns1123_subdomain(s, plen))
                detail_add(d, "prefix part ", DNS1123_SUBDOMAIN_REGEX_ERR);
        }
        name = slash + 1;
        name_len = len - plen - 1;
    }
    if (name_len == 0)
        detail_add(d, "name part ", "must be non-empty");
    else if (name_len > 63)
        detail_add(d, "name part ", "must be no more than 63 characters");
    if (!match_qualified_name_part(name, name_len))
        detail_add(d, "name part ", QNAME_REGEX_ERR);
}

/* validation.IsValidLabelValue, "; "-joined into d. */
static void check_label_value(const char *s, size_t len, struct strbuf *d)
{
    if (len > 63)
        detail_add(d, "", "must be no more than 63 characters");
    if (len != 0 && !match_qualified_name_part(s, len))
        detail_add(d, "", LABEL_VALUE_REGEX_ERR);
}

/* ---- field.Error rendering and aggregation --------------------------------------------------- */

/* An ordered list of error strings, folded as field.ErrorList.ToAggregate().Error() folds it. */
struct errlist {
    char **msgs;
    size_t len;
};

static void errlist_add(struct errlist *l, char *msg)
{
    for (size_t i = 0; i < l->len; i++) {
        if (strcmp(l->msgs[i], msg) == 0) {
            free(msg); /* ToAggregate drops repeats of the same message */
            return;
        }
    }
    l->msgs = xrealloc(l->msgs, (l->len + 1) * sizeof(*l->msgs));
    l->msgs[l->len++] = msg;
}

/* One message as is, several as "[a, b]"; NULL when empty. Empties l. */
static char *errlist_aggregate(struct errlist *l)
{
    struct strbuf sb;
    char *out = NULL;

    if (l->len == 1) {
        out = l->msgs[0];
    } else if (l->len > 1) {
        strbuf_init(&sb, STRBUF_NO_LIMIT);
        strbuf_addch(&sb, '[');
        for (size_t i = 0; i < l->len; i++) {
            if (i)
                strbuf_addstr(&sb, ", ");
            strbuf_addstr(&sb, l->msgs[i]);
            free(l->msgs[i]);
        }
        strbuf_addch(&sb, ']');
        out = strbuf_detach(&sb, NULL);
    }
    free(l->msgs);
    l->msgs = NULL;
    l->len = 0;
    return out;
}

/* field.Invalid(path, <string>, detail).Error(): `path: Invalid value: "v": detail`. */
static char *invalid_string(const char *path, const char *v, size_t vlen, const char *detail)
{
    struct strbuf sb;
    strbuf_init(&sb, STRBUF_NO_LIMIT);
    strbuf_addstr(&sb, path);
    strbuf_addstr(&sb, ": Invalid value: ");
    selector_quote_add(&sb, v, vlen);
    strbuf_addstr(&sb, ": ");
    strbuf_addstr(&sb, detail);
    return strbuf_detach(&sb, NULL);
}

/* The same with a []string bad value, printed with %#v: []string{"a", "b"} or []string(nil). */
static char *invalid_strings(const char *path, char *const *v, size_t n, int is_nil,
                             const char *detail)
{
    struct strbuf sb;
    strbuf_init(&sb, STRBUF_NO_LIMIT);
    strbuf_addstr(&sb, path);
    strbuf_addstr(&sb, ": Invalid value: ");
    if (n == 0 && is_nil) {
        strbuf_addstr(&sb, "[]string(nil)");
    } else {
        strbuf_addstr(&sb, "[]string{");
        for (size_t i = 0; i < n; i++) {
            if (i)
                strbuf_addstr(&sb, ", ");
            selector_quote_add(&sb, v[i], strlen(v[i]));
        }
        strbuf_addch(&sb, '}');
    }
    strbuf_addstr(&sb, ": ");
    strbuf_addstr(&sb, detail);
    return strbuf_detach(&sb, NULL);
}

/* validateLabelKey: the field.Error string for a bad key at path, or NULL. */
static char *key_error(const char *key, size_t len, const char *path)
{
    struct strbuf d;
    char *msg = NULL;

    strbuf_init(&d, STRBUF_NO_LIMIT);
    check_qualified_name(key, len, &d);
    if (d.len)
        msg = invalid_string(path, key, len, strbuf_str(&d));
    strbuf_release(&d);
    return msg;
}

/* ---- requirements ---------------------------------------------------------------------------- */

enum lop {
    LOP_IN,
    LOP_NOT_IN,
    LOP_EQUALS,
    LOP_DOUBLE_EQUALS,
    LOP_NOT_EQUALS,
    LOP_EXISTS,
    LOP_DOES_NOT_EXIST,
    LOP_GT,
    LOP_LT,
};

struct lreq {
    char *key; /* owned */
    enum lop op;
    char **values; /* owned, in the order given (the parser gives them sorted and unique) */
    size_t nvalues;
    long long num; /* the operand of > and <, when num_ok */
    int num_ok;
};

struct label_selector {
    int nothing; /* labels.Nothing(): matches no object */
    struct lreq *reqs;
    size_t len;
    size_t alloc;
};

/* strconv.ParseInt(s, 10, 64): optional sign, then decimal digits only; 0 or -1. */
static int go_parse_int64(const char *s, size_t len, long long *out)
{
    int neg = 0;
    unsigned long long u = 0;
    size_t i = 0;

    if (len == 0)
        return -1;
    if (s[0] == '+' || s[0] == '-') {
        neg = s[0] == '-';
        i = 1;
    }
    if (i == len)
        return -1;
    for (; i < len; i++) {
        unsigned d = (unsigned char)s[i] - '0';
        if (d > 9)
            return -1;
        if (u > (UINT64_MAX - d) / 10)
            return -1;
        u = u * 10 + d;
    }
    if (!neg && u > (unsigned long long)INT64_MAX)
        return -1;
    if (neg && u > (unsigned long long)INT64_MAX + 1)
        return -1;
    /* -(u - 1) - 1 reaches INT64_MIN without converting an out-of-range unsigned value */
    *out = neg ? (u ? -(long long)(u - 1) - 1 : 0) : (long long)u;
    return 0;
}

static void lreq_release(struct lreq *r)
{
    free(r->key);
    for (size_t i = 0; i < r->nvalues; i++)
        free(r->values[i]);
    free(r->values);
}

/*
 * labels.NewRequirement with no path option: check key, operator arity and values in upstream's
 * order and, when all is well, fill *r (taking copies). Returns NULL on success, else the
 * aggregated message. vals_nil tells a nil slice from an empty one, which %#v prints differently.
 */
static char *lreq_init(struct lreq *r, const char *key, enum lop op, char *const *vals, size_t n,
                       int vals_nil)
{
    struct errlist errs = {NULL, 0};
    char *msg;

    msg = key_error(key, strlen(key), "key");
    if (msg)
        errlist_add(&errs, msg);
    switch (op) {
    case LOP_IN:
    case LOP_NOT_IN:
        if (n == 0)
            errlist_add(&errs, invalid_strings("values", vals, n, vals_nil,
                                               "for 'in', 'notin' operators, values set can't be "
                                               "empty"));
        break;
    case LOP_EQUALS:
    case LOP_DOUBLE_EQUALS:
    case LOP_NOT_EQUALS:
        if (n != 1)
            errlist_add(&errs, invalid_strings("values", vals, n, vals_nil,
                                               "exact-match compatibility requires one single "
                                               "value"));
        break;
    case LOP_EXISTS:
    case LOP_DOES_NOT_EXIST:
        if (n != 0)
            errlist_add(&errs, invalid_strings("values", vals, n, vals_nil,
                                               "values set must be empty for exists and does not "
                                               "exist"));
        break;
    case LOP_GT:
    case LOP_LT:
        if (n != 1)
            errlist_add(&errs, invalid_strings("values", vals, n, vals_nil,
                                               "for 'Gt', 'Lt' operators, exactly one value is "
                                               "required"));
        for (size_t i = 0; i < n; i++) {
            long long ignored;
            if (go_parse_int64(vals[i], strlen(vals[i]), &ignored) == 0)
                continue;
            char *path = xasprintf("values[%zu]", i);
            errlist_add(&errs, invalid_string(path, vals[i], strlen(vals[i]),
                                              "for 'Gt', 'Lt' operators, the value must be an "
                                              "integer"));
            free(path);
        }
        break;
    }
    for (size_t i = 0; i < n; i++) {
        struct strbuf d;
        strbuf_init(&d, STRBUF_NO_LIMIT);
        check_label_value(vals[i], strlen(vals[i]), &d);
        if (d.len) {
            /* valuePath.Index(i).Key(key): the key goes in brackets unquoted */
            char *path = xasprintf("values[%zu][%s]", i, key);
            errlist_add(&errs, invalid_string(path, vals[i], strlen(vals[i]), strbuf_str(&d)));
            free(path);
        }
        strbuf_release(&d);
    }
    msg = errlist_aggregate(&errs);
    if (msg)
        return msg;

    r->key = xstrdup(key);
    r->op = op;
    r->nvalues = n;
    r->values = xcalloc(n ? n : 1, sizeof(*r->values));
    for (size_t i = 0; i < n; i++)
        r->values[i] = xstrdup(vals[i]);
    r->num_ok = (op == LOP_GT || op == LOP_LT) && n == 1 &&
                go_parse_int64(vals[0], strlen(vals[0]), &r->num) == 0;
    return NULL;
}

static int lreq_has_value(const struct lreq *r, const char *v, size_t vlen)
{
    for (size_t i = 0; i < r->nvalues; i++) {
        if (selector_strcmp_n(r->values[i], strlen(r->values[i]), v, vlen) == 0)
            return 1;
    }
    return 0;
}

/* Requirement.Matches against a JSON object of labels (NULL: none). */
static int lreq_matches(const struct lreq *r, const json_t *labels)
{
    const json_t *lv = json_is_object(labels) ? json_object_get(labels, r->key) : NULL;
    int has = json_is_string(lv);
    const char *v = has ? json_string_value(lv) : "";
    size_t vlen = has ? json_string_length(lv) : 0;
    long long n;

    switch (r->op) {
    case LOP_IN:
    case LOP_EQUALS:
    case LOP_DOUBLE_EQUALS:
        return has && lreq_has_value(r, v, vlen);
    case LOP_NOT_IN:
    case LOP_NOT_EQUALS:
        return !has || !lreq_has_value(r, v, vlen);
    case LOP_EXISTS:
        return has;
    case LOP_DOES_NOT_EXIST:
        return !has;
    case LOP_GT:
    case LOP_LT:
        if (!has || go_parse_int64(v, vlen, &n) != 0 || !r->num_ok)
            return 0;
        return r->op == LOP_GT ? n > r->num : n < r->num;
    }
    return 0;
}

/* Requirement.String(), appended to sb. */
static void lreq_add_string(const struct lreq *r, struct strbuf *sb)
{
    static const char *const ops[] = {
        [LOP_IN] = " in ",       [LOP_NOT_IN] = " notin ",
        [LOP_EQUALS] = "=",      [LOP_DOUBLE_EQUALS] = "==",
        [LOP_NOT_EQUALS] = "!=", [LOP_GT] = ">",
        [LOP_LT] = "<",
    };
    int set = r->op == LOP_IN || r->op == LOP_NOT_IN;

    if (r->op == LOP_DOES_NOT_EXIST)
        strbuf_addch(sb, '!');
    strbuf_addstr(sb, r->key);
    if (r->op == LOP_EXISTS || r->op == LOP_DOES_NOT_EXIST)
        return;
    strbuf_addstr(sb, ops[r->op]);
    if (set)
        strbuf_addch(sb, '(');
    if (r->nvalues == 1) {
        strbuf_addstr(sb, r->values[0]);
    } else {
        /* safeSort: the values are shown sorted, repeats kept, without touching the selector */
        char **sorted = xcalloc(r->nvalues ? r->nvalues : 1, sizeof(*sorted));
        memcpy(sorted, r->values, r->nvalues * sizeof(*sorted));
        selector_sort_strings(sorted, r->nvalues);
        for (size_t i = 0; i < r->nvalues; i++) {
            if (i)
                strbuf_addch(sb, ',');
            strbuf_addstr(sb, sorted[i]);
        }
        free(sorted);
    }
    if (set)
        strbuf_addch(sb, ')');
}

/*
 * Order the requirements by key. Upstream calls sort.Sort, which is stable for up to 12 items
 * (insertion sort) but not beyond; a stable merge sort gives the same order whenever keys are
 * unique, and for duplicate keys up to 12 requirements. Only String() can show the difference.
 */
static void sort_reqs(struct lreq *v, size_t n)
{
    struct lreq *tmp;

    if (n < 2)
        return;
    tmp = xcalloc(n, sizeof(*tmp));
    for (size_t width = 1; width < n; width *= 2) {
        for (size_t lo = 0; lo < n; lo += 2 * width) {
            size_t mid = lo + width < n ? lo + width : n;
            size_t hi = lo + 2 * width < n ? lo + 2 * width : n;
            size_t i = lo, j = mid, k = lo;
            while (i < mid && j < hi)
                tmp[k++] = strcmp(v[j].key, v[i].key) < 0 ? v[j++] : v[i++];
            while (i < mid)
                tmp[k++] = v[i++];
            while (j < hi)
                tmp[k++] = v[j++];
        }
        memcpy(v, tmp, n * sizeof(*v));
    }
    free(tmp);
}

static struct label_selector *selector_new(void)
{
    return xcalloc(1, sizeof(struct label_selector));
}

/* Append a requirement, taking over what r owns. */
static void selector_push(struct label_selector *sel, struct lreq *r)
{
    if (sel->len == sel->alloc) {
        sel->alloc = sel->alloc ? sel->alloc * 2 : 4;
        sel->reqs = xrealloc(sel->reqs, sel->alloc * sizeof(*sel->reqs));
    }
    sel->reqs[sel->len++] = *r;
}

void label_selector_free(struct label_selector *sel)
{
    if (!sel)
        return;
    for (size_t i = 0; i < sel->len; i++)
        lreq_release(&sel->reqs[i]);
    free(sel->reqs);
    free(sel);
}

bool label_selector_matches(const struct label_selector *sel, const json_t *labels)
{
    if (sel->nothing)
        return false;
    for (size_t i = 0; i < sel->len; i++) {
        if (!lreq_matches(&sel->reqs[i], labels))
            return false;
    }
    return true;
}

bool label_selector_empty(const struct label_selector *sel)
{
    return !sel->nothing && sel->len == 0;
}

const char *label_selector_requires_exact_match(const struct label_selector *sel, const char *key)
{
    for (size_t i = 0; i < sel->len; i++) {
        const struct lreq *r = &sel->reqs[i];
        if (strcmp(r->key, key) != 0)
            continue;
        /* only the first requirement on the key is looked at, as upstream does */
        if ((r->op == LOP_EQUALS || r->op == LOP_DOUBLE_EQUALS || r->op == LOP_IN) &&
            r->nvalues == 1)
            return r->values[0];
        return NULL;
    }
    return NULL;
}

char *label_selector_string(const struct label_selector *sel)
{
    struct strbuf sb;
    strbuf_init(&sb, STRBUF_NO_LIMIT);
    for (size_t i = 0; i < sel->len; i++) {
        if (i)
            strbuf_addch(&sb, ',');
        lreq_add_string(&sel->reqs[i], &sb);
    }
    return strbuf_detach(&sb, NULL);
}

/* ---- lexer (Lexer in selector.go) ------------------------------------------------------------ */

enum tok {
    TOK_ERROR = 0, /* zero, as upstream's "nothing scanned yet" test relies on */
    TOK_EOS,
    TOK_CLOSED_PAR,
    TOK_COMMA,
    TOK_DOES_NOT_EXIST,
    TOK_DOUBLE_EQUALS,
    TOK_EQUALS,
    TOK_GT,
    TOK_IDENT,
    TOK_IN,
    TOK_LT,
    TOK_NOT_EQUALS,
    TOK_NOT_IN,
    TOK_OPEN_PAR,
};

struct item {
    enum tok tok;
    char *lit; /* owned; never contains NUL */
};

struct lexer {
    const char *s;
    size_t len;
    size_t pos;
};

/* read(): the next byte, or 0 at the end. A NUL byte inside the input also reads as 0, but
 * moves on, exactly as upstream's lexer does. */
static unsigned char lex_read(struct lexer *l)
{
    if (l->pos < l->len)
        return (unsigned char)l->s[l->pos++];
    return 0;
}

static int lex_is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static int lex_is_special(unsigned char c)
{
    return c == '=' || c == '!' || c == '(' || c == ')' || c == ',' || c == '>' || c == '<';
}

/* string2token: TOK_ERROR when s is no literal token. */
static enum tok lex_keyword(const char *s, size_t n)
{
    static const struct {
        const char *text;
        enum tok tok;
    } words[] = {
        {")", TOK_CLOSED_PAR},
        {",", TOK_COMMA},
        {"!", TOK_DOES_NOT_EXIST},
        {"==", TOK_DOUBLE_EQUALS},
        {"=", TOK_EQUALS},
        {">", TOK_GT},
        {"in", TOK_IN},
        {"<", TOK_LT},
        {"!=", TOK_NOT_EQUALS},
        {"notin", TOK_NOT_IN},
        {"(", TOK_OPEN_PAR},
    };
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
        if (strlen(words[i].text) == n && memcmp(words[i].text, s, n) == 0)
            return words[i].tok;
    }
    return TOK_ERROR;
}

static struct item lex_scan_ident(struct lexer *l)
{
    size_t start = l->pos, end = l->pos;
    struct item it;

    for (;;) {
        unsigned char c = lex_read(l);
        if (c == 0)
            break;
        if (lex_is_special(c) || lex_is_space(c)) {
            l->pos--;
            break;
        }
        end = l->pos;
    }
    it.tok = lex_keyword(l->s + start, end - start);
    if (it.tok == TOK_ERROR)
        it.tok = TOK_IDENT;
    it.lit = xstrndup(l->s + start, end - start);
    return it;
}

/* The longest run of special characters that is a token: "!=" and "==" win over "!" and "=". */
static struct item lex_scan_special(struct lexer *l)
{
    size_t start = l->pos, blen = 0, last_len = 0;
    enum tok last = TOK_ERROR;
    struct item it;

    for (;;) {
        unsigned char c = lex_read(l);
        if (c == 0)
            break;
        if (!lex_is_special(c)) {
            l->pos--;
            break;
        }
        blen++;
        enum tok t = lex_keyword(l->s + start, blen);
        if (t != TOK_ERROR) {
            last = t;
            last_len = blen;
        } else if (last != TOK_ERROR) {
            l->pos--;
            break;
        }
    }
    if (last == TOK_ERROR) {
        /* unreachable with upstream's table, where every special character is a token alone */
        char *buf = xstrndup(l->s + start, blen);
        it.tok = TOK_ERROR;
        it.lit = xasprintf("error expected: keyword found '%s'", buf);
        free(buf);
        return it;
    }
    it.tok = last;
    it.lit = xstrndup(l->s + start, last_len);
    return it;
}

static struct item lex_next(struct lexer *l)
{
    unsigned char c = lex_read(l);
    struct item it;

    while (lex_is_space(c))
        c = lex_read(l);
    if (c == 0) {
        it.tok = TOK_EOS;
        it.lit = xstrdup("");
        return it;
    }
    l->pos--;
    return lex_is_special(c) ? lex_scan_special(l) : lex_scan_ident(l);
}

/* ---- parser (Parser in selector.go) ---------------------------------------------------------- */

enum pctx { CTX_KEY_AND_OPERATOR, CTX_VALUES };

struct parser {
    struct item *items;
    size_t len;
    size_t pos;
};

/* Scan the whole input up front, as Parser.scan does; the list always ends with TOK_EOS. */
static void parser_scan(struct parser *p, const char *s, size_t len)
{
    struct lexer l = {s, len, 0};
    size_t alloc = 0;

    for (;;) {
        struct item it = lex_next(&l);
        if (p->len == alloc) {
            alloc = alloc ? alloc * 2 : 8;
            p->items = xrealloc(p->items, alloc * sizeof(*p->items));
        }
        p->items[p->len++] = it;
        if (it.tok == TOK_EOS)
            break;
    }
}

static void parser_release(struct parser *p)
{
    for (size_t i = 0; i < p->len; i++)
        free(p->items[i].lit);
    free(p->items);
}

/* In the values context the words "in" and "notin" are plain identifiers ("x in (in)"). */
static enum tok parser_peek(const struct parser *p, enum pctx ctx, const char **lit)
{
    /* Upstream never reads past the end token; the clamp only guards against a mistake here. */
    const struct item *it = &p->items[p->pos < p->len ? p->pos : p->len - 1];
    *lit = it->lit;
    if (ctx == CTX_VALUES && (it->tok == TOK_IN || it->tok == TOK_NOT_IN))
        return TOK_IDENT;
    return it->tok;
}

static enum tok parser_next(struct parser *p, enum pctx ctx, const char **lit)
{
    enum tok t = parser_peek(p, ctx, lit);
    if (p->pos < p->len)
        p->pos++;
    return t;
}

/* A growable list of strings, turned into sets.String().List() (sorted, unique) at the end. */
struct strset {
    char **v;
    size_t len;
    size_t alloc;
};

static void strset_add(struct strset *s, const char *v)
{
    if (s->len == s->alloc) {
        s->alloc = s->alloc ? s->alloc * 2 : 4;
        s->v = xrealloc(s->v, s->alloc * sizeof(*s->v));
    }
    s->v[s->len++] = xstrdup(v);
}

static void strset_release(struct strset *s)
{
    for (size_t i = 0; i < s->len; i++)
        free(s->v[i]);
    free(s->v);
    s->v = NULL;
    s->len = 0;
    s->alloc = 0;
}

static void strset_sort_unique(struct strset *s)
{
    size_t out = 0;
    selector_sort_strings(s->v, s->len);
    for (size_t i = 0; i < s->len; i++) {
        if (out && strcmp(s->v[out - 1], s->v[i]) == 0)
            free(s->v[i]);
        else
            s->v[out++] = s->v[i];
    }
    s->len = out;
}

/* parseIdentifiersList: a possibly empty list of possibly empty values, up to (not past) ')'. */
static char *parse_identifiers_list(struct parser *p, struct strset *set)
{
    const char *lit, *lit2;

    for (;;) {
        enum tok t = parser_next(p, CTX_VALUES, &lit);
        if (t == TOK_IDENT) {
            strset_add(set, lit);
            enum tok t2 = parser_peek(p, CTX_VALUES, &lit2);
            if (t2 == TOK_COMMA)
                continue;
            if (t2 == TOK_CLOSED_PAR)
                return NULL;
            return xasprintf("found '%s', expected: ',' or ')'", lit2);
        }
        if (t == TOK_COMMA) {
            /* "(,", ",)" and ",," each stand for an empty value */
            if (set->len == 0)
                strset_add(set, "");
            enum tok t2 = parser_peek(p, CTX_VALUES, &lit2);
            if (t2 == TOK_CLOSED_PAR) {
                strset_add(set, "");
                return NULL;
            }
            if (t2 == TOK_COMMA) {
                parser_next(p, CTX_VALUES, &lit2);
                strset_add(set, "");
            }
            continue;
        }
        return xasprintf("found '%s', expected: ',', or identifier", lit);
    }
}

/* parseValues: "(" list ")" for in and notin. */
static char *parse_values(struct parser *p, struct strset *set)
{
    const char *lit, *lit2;
    enum tok t = parser_next(p, CTX_VALUES, &lit);
    char *err;

    if (t != TOK_OPEN_PAR)
        return xasprintf("found '%s' expected: '('", lit);
    t = parser_peek(p, CTX_VALUES, &lit);
    switch (t) {
    case TOK_IDENT:
    case TOK_COMMA:
        err = parse_identifiers_list(p, set);
        if (err)
            return err;
        /* The message names the token that followed '(' (lit), not the one found: upstream's. */
        if (parser_next(p, CTX_VALUES, &lit2) != TOK_CLOSED_PAR)
            return xasprintf("found '%s', expected: ')'", lit);
        return NULL;
    case TOK_CLOSED_PAR:
        parser_next(p, CTX_VALUES, &lit);
        strset_add(set, ""); /* "()" is the set holding only the empty value */
        return NULL;
    default:
        return xasprintf("found '%s', expected: ',', ')' or identifier", lit);
    }
}

/* parseExactValue: the single value after =, ==, !=, > or <; nothing there means "". */
static char *parse_exact_value(struct parser *p, struct strset *set)
{
    const char *lit;
    enum tok t = parser_peek(p, CTX_VALUES, &lit);

    if (t == TOK_EOS || t == TOK_COMMA) {
        strset_add(set, "");
        return NULL;
    }
    t = parser_next(p, CTX_VALUES, &lit);
    if (t == TOK_IDENT) {
        strset_add(set, lit);
        return NULL;
    }
    return xasprintf("found '%s', expected: identifier", lit);
}

/* parseOperator */
static char *parse_operator(struct parser *p, enum lop *op)
{
    const char *lit;

    switch (parser_next(p, CTX_KEY_AND_OPERATOR, &lit)) {
    case TOK_IN:
        *op = LOP_IN;
        return NULL;
    case TOK_EQUALS:
        *op = LOP_EQUALS;
        return NULL;
    case TOK_DOUBLE_EQUALS:
        *op = LOP_DOUBLE_EQUALS;
        return NULL;
    case TOK_GT:
        *op = LOP_GT;
        return NULL;
    case TOK_LT:
        *op = LOP_LT;
        return NULL;
    case TOK_NOT_IN:
        *op = LOP_NOT_IN;
        return NULL;
    case TOK_NOT_EQUALS:
        *op = LOP_NOT_EQUALS;
        return NULL;
    default:
        break;
    }
    /* strings.Join(binaryOperators, ", ") spells the operators by their selection.Operator
     * values, hence "gt" and "lt" */
    return xasprintf("found '%s', expected: in, notin, =, ==, !=, gt, lt", lit);
}

/* parseRequirement (with parseKeyAndInferOperator folded in). */
static char *parse_requirement(struct parser *p, struct lreq *r)
{
    const char *lit, *key;
    enum tok t = parser_next(p, CTX_VALUES, &lit);
    int not_exist = 0, exist = 0;
    enum lop op = LOP_EXISTS;
    struct strset set = {NULL, 0, 0};
    char *err;

    if (t == TOK_DOES_NOT_EXIST) {
        not_exist = 1;
        t = parser_next(p, CTX_VALUES, &lit);
    }
    if (t != TOK_IDENT)
        return xasprintf("found '%s', expected: identifier", lit);
    key = lit;
    /* The parser checks the key with a nil field path, which Go prints as "<nil>". */
    err = key_error(key, strlen(key), "<nil>");
    if (err)
        return err;
    t = parser_peek(p, CTX_VALUES, &lit);
    if (t == TOK_EOS || t == TOK_COMMA)
        exist = 1;
    if (not_exist || exist) {
        /* "!k" stays a does-not-exist requirement even when more follows ("!x=a"): the caller
         * then fails on the token after it */
        return lreq_init(r, key, not_exist ? LOP_DOES_NOT_EXIST : LOP_EXISTS, NULL, 0, 0);
    }
    err = parse_operator(p, &op);
    if (err)
        return err;
    if (op == LOP_IN || op == LOP_NOT_IN)
        err = parse_values(p, &set);
    else
        err = parse_exact_value(p, &set);
    if (!err) {
        strset_sort_unique(&set);
        err = lreq_init(r, key, op, set.v, set.len, 0);
    }
    strset_release(&set);
    return err;
}

static char *parse_all(struct parser *p, struct label_selector *sel)
{
    const char *lit;

    for (;;) {
        enum tok t = parser_peek(p, CTX_VALUES, &lit);
        if (t == TOK_EOS)
            return NULL;
        if (t != TOK_IDENT && t != TOK_DOES_NOT_EXIST)
            return xasprintf("found '%s', expected: !, identifier, or 'end of string'", lit);

        struct lreq r;
        char *err = parse_requirement(p, &r);
        if (err) {
            char *wrapped = xasprintf("unable to parse requirement: %s", err);
            free(err);
            return wrapped;
        }
        selector_push(sel, &r);

        t = parser_next(p, CTX_VALUES, &lit);
        if (t == TOK_EOS)
            return NULL;
        if (t != TOK_COMMA)
            return xasprintf("found '%s', expected: ',' or 'end of string'", lit);
        t = parser_peek(p, CTX_VALUES, &lit);
        if (t != TOK_IDENT && t != TOK_DOES_NOT_EXIST)
            return xasprintf("found '%s', expected: identifier after ','", lit);
    }
}

struct label_selector *label_selector_parse_n(const char *s, size_t len, char **err)
{
    struct parser p = {NULL, 0, 0};
    struct label_selector *sel = selector_new();

    *err = NULL;
    parser_scan(&p, s, len);
    *err = parse_all(&p, sel);
    parser_release(&p);
    if (*err) {
        label_selector_free(sel);
        return NULL;
    }
    sort_reqs(sel->reqs, sel->len);
    return sel;
}

struct label_selector *label_selector_parse(const char *s, char **err)
{
    return label_selector_parse_n(s, strlen(s), err);
}

/* ---- metav1.LabelSelector -------------------------------------------------------------------- */

/* A string member as Go would decode it into a string field: anything else reads as "". */
static const char *json_str_or_empty(const json_t *v)
{
    return json_is_string(v) ? json_string_value(v) : "";
}

/* The keys of obj, sorted (Go ranges over a map in random order; we pick key order). */
static const char **sorted_keys(const json_t *obj, size_t *n)
{
    const char **keys = xcalloc(json_object_size(obj) + 1, sizeof(*keys));
    const char *k;
    json_t *v;

    *n = 0;
    json_object_foreach ((json_t *)obj, k, v)
        keys[(*n)++] = k;
    selector_sort_strings((char **)keys, *n);
    return keys;
}

/* An expression of matchExpressions to a requirement; NULL or a message. */
static char *expression_to_req(const json_t *expr, struct lreq *r)
{
    const char *opname = json_str_or_empty(json_object_get(expr, "operator"));
    const json_t *jvals = json_object_get(expr, "values");
    size_t n = json_is_array(jvals) ? json_array_size(jvals) : 0;
    const char **vals;
    enum lop op;
    char *err;

    if (strcmp(opname, "In") == 0) {
        op = LOP_IN;
    } else if (strcmp(opname, "NotIn") == 0) {
        op = LOP_NOT_IN;
    } else if (strcmp(opname, "Exists") == 0) {
        op = LOP_EXISTS;
    } else if (strcmp(opname, "DoesNotExist") == 0) {
        op = LOP_DOES_NOT_EXIST;
    } else {
        struct strbuf sb;
        strbuf_init(&sb, STRBUF_NO_LIMIT);
        selector_quote_add(&sb, opname, strlen(opname));
        strbuf_addstr(&sb, " is not a valid label selector operator");
        return strbuf_detach(&sb, NULL);
    }
    vals = xcalloc(n + 1, sizeof(*vals));
    for (size_t i = 0; i < n; i++)
        vals[i] = json_str_or_empty(json_array_get(jvals, i));
    /* append([]string(nil), expr.Values...) is nil when there are no values, so an empty list
     * prints as []string(nil) */
    err = lreq_init(r, json_str_or_empty(json_object_get(expr, "key")), op, (char *const *)vals, n,
                    1);
    free(vals);
    return err;
}

struct label_selector *label_selector_from_json(const json_t *ls, char **err)
{
    const json_t *ml, *me;
    struct label_selector *sel = selector_new();
    size_t nml, nme;

    *err = NULL;
    if (!ls || json_is_null(ls)) {
        sel->nothing = 1;
        return sel;
    }
    ml = json_object_get(ls, "matchLabels");
    me = json_object_get(ls, "matchExpressions");
    nml = json_is_object(ml) ? json_object_size(ml) : 0;
    nme = json_is_array(me) ? json_array_size(me) : 0;
    if (nml + nme == 0)
        return sel;

    if (nml) {
        size_t n;
        const char **keys = sorted_keys(ml, &n);
        for (size_t i = 0; i < n && !*err; i++) {
            struct lreq r;
            const char *v = json_str_or_empty(json_object_get(ml, keys[i]));
            *err = lreq_init(&r, keys[i], LOP_EQUALS, (char *const *)&v, 1, 0);
            if (!*err)
                selector_push(sel, &r);
        }
        free(keys);
    }
    for (size_t i = 0; i < nme && !*err; i++) {
        struct lreq r;
        *err = expression_to_req(json_array_get(me, i), &r);
        if (!*err)
            selector_push(sel, &r);
    }
    if (*err) {
        label_selector_free(sel);
        return NULL;
    }
    sort_reqs(sel->reqs, sel->len);
    return sel;
}

struct label_selector *label_selector_from_map(const json_t *map)
{
    struct label_selector *sel = selector_new();
    size_t n = 0;
    const char **keys;

    if (!json_is_object(map))
        return sel;
    keys = sorted_keys(map, &n);
    for (size_t i = 0; i < n; i++) {
        /* SelectorFromValidatedSet: no checks, one equality per entry */
        struct lreq r = {0};
        r.key = xstrdup(keys[i]);
        r.op = LOP_EQUALS;
        r.nvalues = 1;
        r.values = xcalloc(1, sizeof(*r.values));
        r.values[0] = xstrdup(json_str_or_empty(json_object_get(map, keys[i])));
        selector_push(sel, &r);
    }
    free(keys);
    return sel;
}

char *label_selector_format_json(const json_t *ls)
{
    char *err = NULL, *s;
    struct label_selector *sel = label_selector_from_json(ls, &err);

    if (!sel) {
        free(err);
        return xstrdup("<error>");
    }
    s = label_selector_string(sel);
    label_selector_free(sel);
    if (s[0] == '\0') {
        free(s);
        return xstrdup("<none>");
    }
    return s;
}

char *label_selector_format_map(const json_t *map)
{
    struct strbuf sb;
    const char *k;
    json_t *v;
    char **pairs;
    size_t n = 0;

    if (!json_is_object(map) || json_object_size(map) == 0)
        return xstrdup("<none>");
    /* Set.String sorts the whole "key=value" strings, not the keys: "a-b=1" comes before "a=1" */
    pairs = xcalloc(json_object_size(map), sizeof(*pairs));
    json_object_foreach ((json_t *)map, k, v)
        pairs[n++] = xasprintf("%s=%s", k, json_str_or_empty(v));
    selector_sort_strings(pairs, n);
    strbuf_init(&sb, STRBUF_NO_LIMIT);
    for (size_t i = 0; i < n; i++) {
        if (i)
            strbuf_addch(&sb, ',');
        strbuf_addstr(&sb, pairs[i]);
        free(pairs[i]);
    }
    free(pairs);
    return strbuf_detach(&sb, NULL);
}
