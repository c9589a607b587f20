/*
 * yaml_read: YAML text to a jansson tree, decoding as sigs.k8s.io/yaml.YAMLToJSON does (go-yaml
 * v2 underneath), so that a YAML request body means what it means to kube-apiserver.
 *
 * libyaml's parser (go-yaml's parser is a port of it, so the problems it reports read the same)
 * turns the text into a node tree, as go-yaml builds one; the tree is then decoded following
 * go-yaml's decoder: scalar resolution, aliases with its bound on alias expansion, merge keys,
 * keys turned into strings as sigs.k8s.io/yaml does. Also home of the scalar resolution and Go
 * float formatting that yaml_write.c shares.
 * This file is linked into tools/apigen with strbuf.c alone: it may use libyaml, jansson, libc
 * and strbuf, nothing else of the project.
 */
#include "svc/yaml.h"

#include "svc/strbuf.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#define TAG_PREFIX    "tag:yaml.org,2002:"
#define TAG_STR       TAG_PREFIX "str"
#define TAG_BOOL      TAG_PREFIX "bool"
#define TAG_INT       TAG_PREFIX "int"
#define TAG_FLOAT     TAG_PREFIX "float"
#define TAG_NULL      TAG_PREFIX "null"
#define TAG_TIMESTAMP TAG_PREFIX "timestamp"
#define TAG_BINARY    TAG_PREFIX "binary"
#define TAG_MERGE     TAG_PREFIX "merge"

/*
 * Extra function-call depth allowed beyond max_depth while decoding: aliases and merge keys
 * recurse without adding output depth. Pathological merge chains fail here rather than
 * overflowing the stack.
 */
#define CALL_DEPTH_SLACK 1000

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        abort();
    return p;
}

static void *xrealloc(void *p, size_t n)
{
    p = realloc(p, n ? n : 1);
    if (!p)
        abort();
    return p;
}

static char *xstrndup(const char *s, size_t n)
{
    char *p = xmalloc(n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

static json_t *jcheck(json_t *j)
{
    if (!j)
        abort(); /* jansson returns NULL only when out of memory for the inputs we give it */
    return j;
}

/* ---- Go number parsing and formatting -------------------------------------------------- */

static int lower(int c)
{
    return (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c;
}

static bool is_digit(int c)
{
    return c >= '0' && c <= '9';
}

/* strconv.ParseUint(s, 0, 64): base prefixes 0b 0o 0x and a bare leading 0 for octal. */
static bool go_parse_uint0(const char *s, size_t n, unsigned long long *out)
{
    unsigned base = 10;
    unsigned long long v = 0;

    if (n == 0)
        return false;
    if (s[0] == '0') {
        if (n >= 3 && lower(s[1]) == 'b') {
            base = 2;
            s += 2, n -= 2;
        } else if (n >= 3 && lower(s[1]) == 'o') {
            base = 8;
            s += 2, n -= 2;
        } else if (n >= 3 && lower(s[1]) == 'x') {
            base = 16;
            s += 2, n -= 2;
        } else {
            base = 8;
            s += 1, n -= 1;
        }
    }
    for (size_t i = 0; i < n; i++) {
        int c = lower((unsigned char)s[i]);
        unsigned d;
        if (is_digit(c))
            d = (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'z')
            d = (unsigned)(c - 'a' + 10);
        else
            return false;
        if (d >= base)
            return false;
        if (v > (ULLONG_MAX - d) / base)
            return false;
        v = v * base + d;
    }
    *out = v;
    return true;
}

/* strconv.ParseInt(s, 0, 64). */
static bool go_parse_int0(const char *s, size_t n, long long *out)
{
    bool neg = false;
    unsigned long long u;

    if (n > 0 && (s[0] == '+' || s[0] == '-')) {
        neg = s[0] == '-';
        s++, n--;
    }
    if (!go_parse_uint0(s, n, &u))
        return false;
    if (neg) {
        if (u > (unsigned long long)LLONG_MAX + 1)
            return false;
        *out = u == (unsigned long long)LLONG_MAX + 1 ? LLONG_MIN : -(long long)u;
    } else {
        if (u > (unsigned long long)LLONG_MAX)
            return false;
        *out = (long long)u;
    }
    return true;
}

/* strtod on a copy, accepting what Go's ParseFloat accepts for these inputs: an overflow to
 * infinity is an error, an underflow is not. */
static bool parse_double(const char *s, size_t n, double *out)
{
    char tmp[128];
    char *heap = NULL, *buf = tmp, *end;
    double v;
    bool ok;

    if (n >= sizeof(tmp))
        buf = heap = xmalloc(n + 1);
    memcpy(buf, s, n);
    buf[n] = '\0';
    errno = 0;
    v = strtod(buf, &end);
    ok = end == buf + n && n > 0 && !(errno == ERANGE && isinf(v));
    free(heap);
    if (ok)
        *out = v;
    return ok;
}

/* go-yaml's yamlStyleFloat: ^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$ */
static bool yaml_style_float(const char *s, size_t n)
{
    size_t i = 0, start;

    if (i < n && (s[i] == '+' || s[i] == '-'))
        i++;
    if (i < n && s[i] == '.') {
        i++;
        start = i;
        while (i < n && is_digit((unsigned char)s[i]))
            i++;
        if (i == start)
            return false;
    } else {
        start = i;
        while (i < n && is_digit((unsigned char)s[i]))
            i++;
        if (i == start)
            return false;
        if (i < n && s[i] == '.') {
            i++;
            while (i < n && is_digit((unsigned char)s[i]))
                i++;
        }
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-'))
            i++;
        start = i;
        while (i < n && is_digit((unsigned char)s[i]))
            i++;
        if (i == start)
            return false;
    }
    return i == n;
}

/* Go's ParseFloat for the text after a leading '.': digits with Go's underscore rule. */
static bool go_parse_dot_float(const char *s, size_t n, double *out)
{
    char tmp[128];
    size_t i = 0, m = 0;
    char saw = '^';
    bool digits = false;

    if (n >= sizeof(tmp) || n < 2 || s[0] != '.')
        return false;
    tmp[m++] = '.';
    saw = '!';
    for (i = 1; i < n; i++) {
        char c = s[i];
        if (is_digit((unsigned char)c)) {
            digits = true;
            saw = '0';
            tmp[m++] = c;
        } else if (c == '_') {
            if (saw != '0')
                return false;
            saw = '_';
        } else if ((c == 'e' || c == 'E') && digits && saw != '_') {
            saw = '!';
            tmp[m++] = c;
            if (i + 1 < n && (s[i + 1] == '+' || s[i + 1] == '-'))
                tmp[m++] = s[++i];
            if (i + 1 >= n || !is_digit((unsigned char)s[i + 1]))
                return false;
        } else {
            return false;
        }
    }
    if (!digits || saw == '_')
        return false;
    return parse_double(tmp, m, out);
}

/* The shortest decimal digits that read back as v (positive, finite), as Go finds them. */
static void shortest_digits(double v, int bits, char *digs, int *nd, int *dp)
{
    char tmp[40];
    int maxp = bits == 32 ? 9 : 17;

    for (int p = 1; p <= maxp; p++) {
        snprintf(tmp, sizeof(tmp), "%.*e", p - 1, v);
        if (bits == 32 ? strtof(tmp, NULL) == (float)v : strtod(tmp, NULL) == v)
            break;
    }
    /* tmp is d[.ddd]e[+-]xx */
    int n = 0;
    const char *c = tmp;
    for (; *c && *c != 'e'; c++)
        if (is_digit((unsigned char)*c))
            digs[n++] = *c;
    int e = atoi(c + 1);
    while (n > 1 && digs[n - 1] == '0')
        n--;
    digs[n] = '\0';
    *nd = n;
    *dp = e + 1;
}

char *yaml_format_go_float(double v, char fmt, int bits, char *buf)
{
    char digs[24];
    int nd, dp;
    char *p = buf;

    if (isnan(v))
        return strcpy(buf, "NaN");
    if (bits == 32)
        v = (float)v;
    if (isinf(v))
        return strcpy(buf, v > 0 ? "+Inf" : "-Inf");
    if (signbit(v))
        *p++ = '-';
    v = fabs(v);
    if (v == 0) {
        strcpy(digs, "0");
        nd = 1;
        dp = 1;
    } else {
        shortest_digits(v, bits, digs, &nd, &dp);
    }
    if (fmt == 'j') {
        /* encoding/json: exponent form only for very small or very large magnitudes */
        fmt = (v != 0 && (v < 1e-6 || v >= 1e21)) ? 'E' : 'f';
    }
    if (fmt == 'g') {
        int exp = dp - 1;
        fmt = (exp < -4 || exp >= 6) ? 'e' : 'f';
        if (v == 0)
            fmt = 'f';
    }
    if (fmt == 'e' || fmt == 'E') {
        int exp = v == 0 ? 0 : dp - 1;
        *p++ = digs[0];
        if (nd > 1) {
            *p++ = '.';
            memcpy(p, digs + 1, (size_t)(nd - 1));
            p += nd - 1;
        }
        /* 'E' is encoding/json's variant, which shortens e-07 to e-7 */
        if (fmt == 'E' && exp < 0 && exp > -10)
            sprintf(p, "e-%d", -exp);
        else
            sprintf(p, "e%c%02d", exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
        return buf;
    }
    /* 'f' */
    if (dp <= 0) {
        *p++ = '0';
        *p++ = '.';
        for (int i = 0; i < -dp; i++)
            *p++ = '0';
        memcpy(p, digs, (size_t)nd);
        p += nd;
    } else if (dp >= nd) {
        memcpy(p, digs, (size_t)nd);
        p += nd;
        for (int i = nd; i < dp; i++)
            *p++ = '0';
    } else {
        memcpy(p, digs, (size_t)dp);
        p += dp;
        *p++ = '.';
        memcpy(p, digs + dp, (size_t)(nd - dp));
        p += nd - dp;
    }
    *p = '\0';
    return buf;
}

/* ---- timestamps (go-yaml's parseTimestamp over Go's time.Parse) -------------------------- */

/* Go's getnum(value, false): one or two digits. */
static bool ts_num(const char *s, size_t n, size_t *i, int *out)
{
    if (*i >= n || !is_digit((unsigned char)s[*i]))
        return false;
    int v = s[(*i)++] - '0';
    if (*i < n && is_digit((unsigned char)s[*i]))
        v = v * 10 + (s[(*i)++] - '0');
    *out = v;
    return true;
}

static int days_in(int month, int year)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (month == 2 && year % 4 == 0 && (year % 100 != 0 || year % 400 == 0))
        return 29;
    return days[month - 1];
}

/* One of go-yaml's layouts: 0 "2006-1-2T15:4:5.999999999Z07:00", 1 the same with 't',
 * 2 "2006-1-2 15:4:5.999999999", 3 "2006-1-2". */
static bool ts_layout(const char *s, size_t n, int layout)
{
    size_t i = 4;
    int year, month, day, hour, min, sec;

    year = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
    if (i >= n || s[i++] != '-' || !ts_num(s, n, &i, &month))
        return false;
    if (i >= n || s[i++] != '-' || !ts_num(s, n, &i, &day))
        return false;
    if (layout == 3)
        goto check_date;
    if (layout == 2) {
        /* Go's skip(): a space in the layout matches any run of spaces in the value. */
        if (i < n && s[i] != ' ')
            return false;
        while (i < n && s[i] == ' ')
            i++;
    } else if (i >= n || s[i++] != (layout == 0 ? 'T' : 't')) {
        return false;
    }
    if (!ts_num(s, n, &i, &hour) || hour >= 24)
        return false;
    if (i >= n || s[i++] != ':' || !ts_num(s, n, &i, &min) || min >= 60)
        return false;
    if (i >= n || s[i++] != ':' || !ts_num(s, n, &i, &sec) || sec >= 60)
        return false;
    /* Optional fraction, '.' or ',' and digits. */
    if (i + 1 < n && (s[i] == '.' || s[i] == ',') && is_digit((unsigned char)s[i + 1])) {
        i++;
        while (i < n && is_digit((unsigned char)s[i]))
            i++;
    }
    if (layout != 2) {
        if (i < n && s[i] == 'Z') {
            i++;
        } else {
            int hh, mm;
            if (n - i < 6 || (s[i] != '+' && s[i] != '-') || s[i + 3] != ':')
                return false;
            if (!is_digit((unsigned char)s[i + 1]) || !is_digit((unsigned char)s[i + 2]) ||
                !is_digit((unsigned char)s[i + 4]) || !is_digit((unsigned char)s[i + 5]))
                return false;
            hh = (s[i + 1] - '0') * 10 + (s[i + 2] - '0');
            mm = (s[i + 4] - '0') * 10 + (s[i + 5] - '0');
            if (hh > 24 || mm > 60)
                return false;
            i += 6;
        }
    }
check_date:
    if (i != n)
        return false;
    if (month < 1 || month > 12)
        return false;
    return day >= 1 && day <= days_in(month, year);
}

static bool parse_timestamp(const char *s, size_t n)
{
    for (size_t i = 0; i < 4; i++)
        if (i >= n || !is_digit((unsigned char)s[i]))
            return false;
    if (n == 4 || s[4] != '-')
        return false;
    for (int layout = 0; layout < 4; layout++)
        if (ts_layout(s, n, layout))
            return true;
    return false;
}

/* ---- scalar resolution (go-yaml v2 resolve.go) ------------------------------------------ */

static char resolve_hint(const char *s, size_t n)
{
    if (n == 0)
        return 'N';
    switch (s[0]) {
    case '+':
    case '-':
        return 'S';
    case '.':
        return '.';
    case 'y':
    case 'Y':
    case 'n':
    case 'N':
    case 't':
    case 'T':
    case 'f':
    case 'F':
    case 'o':
    case 'O':
    case '~':
        return 'M';
    default:
        return is_digit((unsigned char)s[0]) ? 'D' : 0;
    }
}

static bool equals(const char *s, size_t n, const char *lit)
{
    return strlen(lit) == n && memcmp(s, lit, n) == 0;
}

static bool in_list(const char *s, size_t n, const char *const *list)
{
    for (; *list; list++)
        if (equals(s, n, *list))
            return true;
    return false;
}

/* go-yaml's resolveMap: exact spellings only (so "tRUE" is a string). */
static bool resolve_map(const char *s, size_t n, struct yaml_plain_value *v)
{
    static const char *const yes[] = {"y",    "Y",    "yes", "Yes", "YES", "true",
                                      "True", "TRUE", "on",  "On",  "ON",  NULL};
    static const char *const no[] = {"n",     "N",     "no",  "No",  "NO",  "false",
                                     "False", "FALSE", "off", "Off", "OFF", NULL};
    static const char *const null[] = {"", "~", "null", "Null", "NULL", NULL};
    static const char *const nan[] = {".nan", ".NaN", ".NAN", NULL};
    static const char *const inf[] = {".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", NULL};
    static const char *const ninf[] = {"-.inf", "-.Inf", "-.INF", NULL};

    if (in_list(s, n, yes) || in_list(s, n, no)) {
        v->type = YAML_PLAIN_BOOL;
        v->b = in_list(s, n, yes);
    } else if (in_list(s, n, null)) {
        v->type = YAML_PLAIN_NULL;
    } else if (in_list(s, n, nan)) {
        v->type = YAML_PLAIN_FLOAT;
        v->f = NAN;
    } else if (in_list(s, n, inf) || in_list(s, n, ninf)) {
        v->type = YAML_PLAIN_FLOAT;
        v->f = in_list(s, n, inf) ? INFINITY : -INFINITY;
    } else {
        return false;
    }
    return true;
}

/*
 * go-yaml's resolve() for a plain scalar, or one tagged with tag (TAG_INT etc., "" for none).
 * allow_timestamp is false for tags other than none and !!timestamp, as upstream.
 */
static enum yaml_plain_type resolve_text(const char *s, size_t n, bool allow_timestamp,
                                         struct yaml_plain_value *v)
{
    char hint = resolve_hint(s, n);

    memset(v, 0, sizeof(*v));
    v->type = YAML_PLAIN_STR;
    if (hint == 0)
        return v->type;
    if (resolve_map(s, n, v))
        return v->type;
    if (hint == '.') {
        if (go_parse_dot_float(s, n, &v->f))
            v->type = YAML_PLAIN_FLOAT;
        return v->type;
    }
    if (hint == 'D' || hint == 'S') {
        char tmp[128];
        char *plain = tmp;
        size_t m = 0;

        if (allow_timestamp && parse_timestamp(s, n))
            return v->type = YAML_PLAIN_TIMESTAMP;
        if (n >= sizeof(tmp))
            plain = xmalloc(n + 1);
        for (size_t i = 0; i < n; i++)
            if (s[i] != '_')
                plain[m++] = s[i];
        plain[m] = '\0';
        if (go_parse_int0(plain, m, &v->i))
            v->type = YAML_PLAIN_INT;
        else if (go_parse_uint0(plain, m, &v->u))
            v->type = YAML_PLAIN_UINT;
        else if (yaml_style_float(plain, m) && parse_double(plain, m, &v->f))
            v->type = YAML_PLAIN_FLOAT;
        /* go-yaml's explicit 0b/-0b fallbacks are already covered by base-0 parsing. */
        if (plain != tmp)
            free(plain);
    }
    return v->type;
}

enum yaml_plain_type yaml_resolve_plain(const char *s, size_t len, struct yaml_plain_value *out)
{
    struct yaml_plain_value tmp;
    return resolve_text(s, len, true, out ? out : &tmp);
}

/* ---- the node tree ----------------------------------------------------------------------- */

enum ynode_kind { YN_SCALAR, YN_SEQ, YN_MAP, YN_ALIAS };

struct ynode {
    enum ynode_kind kind;
    int line, column;    /* 0-based, from libyaml's marks */
    bool plain_implicit; /* go-yaml's node.implicit */
    bool expanding;      /* an alias node being expanded (go-yaml's d.aliases) */
    char *tag;           /* owned; NULL when untagged */
    char *value;         /* owned; scalar text, or the anchor name of an alias */
    size_t len;
    struct ynode *target; /* alias: the anchored node */
    struct ynode **kids;  /* owned array; a mapping holds key, value, key, value... */
    size_t nkids, cap;
};

struct reader {
    const char *input;
    size_t input_len;
    int max_depth;
    struct yaml_error *err;

    struct ynode **pool; /* every node, for freeing */
    size_t npool, pool_cap;
    /* anchor name -> index in pool; jansson's table is seeded, so names chosen to collide
     * cannot make lookups slow */
    json_t *anchors;

    /* decoding state, after go-yaml's decoder */
    long decode_count, alias_count;
    int alias_depth, calls;
    size_t alias_bytes, alias_budget;
    bool strict;
    int in_key; /* decoding a mapping key: its JSON form is never output */
    struct strbuf dups;
    bool have_convert_error;
    struct yaml_error convert_error; /* first JSON-conversion error, reported after decoding */
};

static struct ynode *node_new(struct reader *r, enum ynode_kind kind, const yaml_mark_t *mark)
{
    struct ynode *n = xmalloc(sizeof(*n));

    memset(n, 0, sizeof(*n));
    n->kind = kind;
    n->line = (int)mark->line;
    n->column = (int)mark->column;
    if (r->npool == r->pool_cap) {
        r->pool_cap = r->pool_cap ? r->pool_cap * 2 : 64;
        r->pool = xrealloc(r->pool, r->pool_cap * sizeof(*r->pool));
    }
    r->pool[r->npool++] = n;
    return n;
}

static void node_add_kid(struct ynode *parent, struct ynode *kid)
{
    if (parent->nkids == parent->cap) {
        parent->cap = parent->cap ? parent->cap * 2 : 4;
        parent->kids = xrealloc(parent->kids, parent->cap * sizeof(*parent->kids));
    }
    parent->kids[parent->nkids++] = kid;
}

/* Name the newest node of the pool; a later anchor of the same name replaces the earlier one,
 * as in go-yaml. */
static void anchor_set(struct reader *r, const char *name)
{
    json_object_set_new_nocheck(r->anchors, name, jcheck(json_integer((json_int_t)r->npool - 1)));
}

static struct ynode *anchor_get(struct reader *r, const char *name)
{
    json_t *i = json_object_get(r->anchors, name);
    return i ? r->pool[json_integer_value(i)] : NULL;
}

static void reader_release(struct reader *r)
{
    for (size_t i = 0; i < r->npool; i++) {
        free(r->pool[i]->tag);
        free(r->pool[i]->value);
        free(r->pool[i]->kids);
        free(r->pool[i]);
    }
    free(r->pool);
    json_decref(r->anchors);
    strbuf_release(&r->dups);
}

/* ---- errors ------------------------------------------------------------------------------ */

/*
 * Fill err: line and column are the true 1-based position (0 when unknown); text is upstream's
 * whole message, "<prefix><upstream_line>: <message>" where upstream_line is what go-yaml
 * prints (0: none).
 */
static void set_error(struct yaml_error *err, const char *prefix, int upstream_line, int line,
                      int column, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

static void set_error(struct yaml_error *err, const char *prefix, int upstream_line, int line,
                      int column, const char *fmt, ...)
{
    va_list ap;

    if (!err)
        return;
    err->line = line;
    err->column = column;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof(err->message), fmt, ap);
    va_end(ap);
    if (upstream_line > 0)
        snprintf(err->text, sizeof(err->text), "%sline %d: %s", prefix, upstream_line,
                 err->message);
    else
        snprintf(err->text, sizeof(err->text), "%s%s", prefix, err->message);
}

/* The line and column of byte offset off in the input (reader errors carry only an offset). */
static void offset_position(const struct reader *r, size_t off, int *line, int *column)
{
    int l = 1, c = 1;
    if (off > r->input_len)
        off = r->input_len;
    for (size_t i = 0; i < off; i++) {
        if (r->input[i] == '\n') {
            l++;
            c = 1;
        } else if (((unsigned char)r->input[i] & 0xC0) != 0x80) {
            c++;
        }
    }
    *line = l;
    *column = c;
}

/* go-yaml's parser.fail(): which line it prints is kept exactly, quirks included. */
static void parser_error(struct reader *r, const yaml_parser_t *p)
{
    int upstream_line = 0, line = 0, column = 0;
    const char *problem = p->problem ? p->problem : "unknown problem parsing YAML content";

    if (p->problem_mark.line != 0) {
        upstream_line = (int)p->problem_mark.line;
        /* scanner errors leave the mark on the line itself, so go-yaml adds one */
        if (p->error == YAML_SCANNER_ERROR)
            upstream_line++;
    } else if (p->context_mark.line != 0) {
        upstream_line = (int)p->context_mark.line;
    }
    if (p->error == YAML_READER_ERROR) {
        offset_position(r, p->problem_offset, &line, &column);
    } else if (p->problem) {
        line = (int)p->problem_mark.line + 1;
        column = (int)p->problem_mark.column + 1;
    }
    set_error(r->err, "yaml: ", upstream_line, line, column, "%s", problem);
}

/* go-yaml's failf(): "yaml: " and the message, no line. */
static void fail_at(struct reader *r, const struct ynode *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void fail_at(struct reader *r, const struct ynode *n, const char *fmt, ...)
{
    char msg[256];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    set_error(r->err, "yaml: ", 0, n ? n->line + 1 : 0, n ? n->column + 1 : 0, "%s", msg);
}

static void depth_error(struct reader *r, const struct ynode *n)
{
    /* go-yaml reports its own depth limit as a scanner error: "yaml: line N: exceeded ...",
     * without the line when it is the first */
    set_error(r->err, "yaml: ", n->line > 0 ? n->line + 1 : 0, n->line + 1, n->column + 1,
              "exceeded max depth of %d", r->max_depth);
}

/* ---- building the tree from libyaml's events --------------------------------------------- */

static const char *event_anchor(const yaml_event_t *e)
{
    switch (e->type) {
    case YAML_SCALAR_EVENT:
        return (const char *)e->data.scalar.anchor;
    case YAML_SEQUENCE_START_EVENT:
        return (const char *)e->data.sequence_start.anchor;
    case YAML_MAPPING_START_EVENT:
        return (const char *)e->data.mapping_start.anchor;
    default:
        return NULL;
    }
}

/* A document after the first is tolerated only when it holds nothing (a trailing "---"). */
static bool is_empty_scalar(const yaml_event_t *e)
{
    return e->type == YAML_SCALAR_EVENT && e->data.scalar.length == 0 &&
           e->data.scalar.plain_implicit && !e->data.scalar.tag && !e->data.scalar.anchor;
}

/*
 * Parse the stream into r's node tree; *root is NULL for an empty stream. Returns 0, or -1
 * with r->err filled in.
 */
static int build_tree(struct reader *r, struct ynode **root)
{
    yaml_parser_t parser;
    yaml_event_t ev;
    struct ynode **stack = NULL;
    size_t depth = 0, stack_cap = 0;
    int docs = 0, result = -1;
    bool in_extra_doc = false, done = false;
    yaml_mark_t extra_mark = {0, 0, 0};

    *root = NULL;
    if (!yaml_parser_initialize(&parser))
        abort();
    yaml_parser_set_input_string(&parser, (const unsigned char *)r->input, r->input_len);
    while (!done) {
        if (!yaml_parser_parse(&parser, &ev)) {
            parser_error(r, &parser);
            goto out;
        }
        if (in_extra_doc && ev.type != YAML_DOCUMENT_END_EVENT && !is_empty_scalar(&ev)) {
            set_error(r->err, "yaml: ", (int)extra_mark.line + 1, (int)extra_mark.line + 1,
                      (int)extra_mark.column + 1,
                      "expected a single document in the stream, found another document");
            yaml_event_delete(&ev);
            goto out;
        }
        struct ynode *n = NULL;
        switch (ev.type) {
        case YAML_STREAM_END_EVENT:
            done = true;
            break;
        case YAML_DOCUMENT_START_EVENT:
            if (++docs > 1) {
                in_extra_doc = true;
                extra_mark = ev.start_mark;
            }
            break;
        case YAML_DOCUMENT_END_EVENT:
            in_extra_doc = false;
            break;
        case YAML_SCALAR_EVENT:
            if (in_extra_doc)
                break;
            n = node_new(r, YN_SCALAR, &ev.start_mark);
            n->value = xstrndup((const char *)ev.data.scalar.value, ev.data.scalar.length);
            n->len = ev.data.scalar.length;
            n->plain_implicit = ev.data.scalar.plain_implicit;
            if (ev.data.scalar.tag)
                n->tag = xstrndup((const char *)ev.data.scalar.tag,
                                  strlen((const char *)ev.data.scalar.tag));
            break;
        case YAML_ALIAS_EVENT:
            n = node_new(r, YN_ALIAS, &ev.start_mark);
            n->value = xstrndup((const char *)ev.data.alias.anchor,
                                strlen((const char *)ev.data.alias.anchor));
            n->target = anchor_get(r, n->value);
            if (!n->target) {
                fail_at(r, n, "unknown anchor '%s' referenced", n->value);
                yaml_event_delete(&ev);
                goto out;
            }
            break;
        case YAML_SEQUENCE_START_EVENT:
        case YAML_MAPPING_START_EVENT:
            n = node_new(r, ev.type == YAML_SEQUENCE_START_EVENT ? YN_SEQ : YN_MAP, &ev.start_mark);
            if (depth + 1 > (size_t)r->max_depth) {
                depth_error(r, n);
                yaml_event_delete(&ev);
                goto out;
            }
            break;
        case YAML_SEQUENCE_END_EVENT:
        case YAML_MAPPING_END_EVENT:
            depth--;
            break;
        default:
            break;
        }
        if (n) {
            const char *anchor = event_anchor(&ev);
            if (anchor)
                anchor_set(r, anchor);
            if (depth > 0)
                node_add_kid(stack[depth - 1], n);
            else
                *root = n;
            if (n->kind == YN_SEQ || n->kind == YN_MAP) {
                if (depth == stack_cap) {
                    stack_cap = stack_cap ? stack_cap * 2 : 16;
                    stack = xrealloc(stack, stack_cap * sizeof(*stack));
                }
                stack[depth++] = n;
            }
        }
        yaml_event_delete(&ev);
    }
    result = 0;
out:
    free(stack);
    yaml_parser_delete(&parser);
    return result;
}

/* ---- Go's %#v, for the few error messages that print values ------------------------------ */

static void go_quote(struct strbuf *sb, const char *s, size_t n)
{
    strbuf_addch(sb, '"');
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        switch (c) {
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
        case '"':
            strbuf_addstr(sb, "\\\"");
            break;
        case '\\':
            strbuf_addstr(sb, "\\\\");
            break;
        default:
            if (c < 0x20 || c == 0x7f)
                strbuf_addf(sb, "\\x%02x", c);
            else
                strbuf_addch(sb, (char)c);
        }
    }
    strbuf_addch(sb, '"');
}

/* %#v of a decoded value; nested nils print as interface {}(nil), a top-level one as top_nil. */
static void go_sharp_v(struct strbuf *sb, const json_t *v, const char *top_nil, int depth)
{
    char num[32];

    if (depth > 8) {
        strbuf_addstr(sb, "...");
        return;
    }
    switch (json_typeof(v)) {
    case JSON_NULL:
        strbuf_addstr(sb, top_nil);
        break;
    case JSON_TRUE:
        strbuf_addstr(sb, "true");
        break;
    case JSON_FALSE:
        strbuf_addstr(sb, "false");
        break;
    case JSON_INTEGER:
        strbuf_addf(sb, "%lld", (long long)json_integer_value(v));
        break;
    case JSON_REAL:
        strbuf_addstr(sb, yaml_format_go_float(json_real_value(v), 'g', 64, num));
        break;
    case JSON_STRING:
        go_quote(sb, json_string_value(v), json_string_length(v));
        break;
    case JSON_ARRAY: {
        size_t i;
        json_t *e;
        strbuf_addstr(sb, "[]interface {}{");
        json_array_foreach (v, i, e) {
            if (i)
                strbuf_addstr(sb, ", ");
            go_sharp_v(sb, e, "interface {}(nil)", depth + 1);
        }
        strbuf_addch(sb, '}');
        break;
    }
    case JSON_OBJECT: {
        const char *k;
        json_t *e;
        bool first = true;
        strbuf_addstr(sb, "map[interface {}]interface {}{");
        json_object_foreach ((json_t *)v, k, e) {
            if (!first)
                strbuf_addstr(sb, ", ");
            first = false;
            go_quote(sb, k, strlen(k));
            strbuf_addch(sb, ':');
            go_sharp_v(sb, e, "interface {}(nil)", depth + 1);
        }
        strbuf_addch(sb, '}');
        break;
    }
    }
}

/* ---- decoding (go-yaml's decoder, into JSON as sigs.k8s.io/yaml then converts) ----------- */

/* The Go type go-yaml decoded a value into; JSON alone cannot tell them apart. */
enum gotype { GT_NIL, GT_BOOL, GT_INT, GT_UINT, GT_FLOAT, GT_STR, GT_MAP, GT_SEQ };

struct yval {
    enum gotype type;
    json_t *json;         /* new reference */
    double f;             /* GT_FLOAT */
    unsigned long long u; /* GT_UINT */
};

static int decode(struct reader *r, struct ynode *n, int depth, struct yval *out);

/* go-yaml's allowedAliasRatio: how much of a document may come from alias expansion. */
static double allowed_alias_ratio(long decode_count)
{
    const double low = 400000, high = 4000000;
    if (decode_count <= low)
        return 0.99;
    if (decode_count >= high)
        return 0.10;
    return 0.99 - 0.89 * ((double)decode_count - low) / (high - low);
}

/* The bookkeeping go-yaml's d.unmarshal does on entry; -1 when the document is refused. */
static int count_decode(struct reader *r, const struct ynode *n)
{
    r->decode_count++;
    if (r->alias_depth > 0)
        r->alias_count++;
    if (r->alias_count > 100 && r->decode_count > 1000 &&
        (double)r->alias_count / (double)r->decode_count > allowed_alias_ratio(r->decode_count)) {
        fail_at(r, n, "document contains excessive aliasing");
        return -1;
    }
    return 0;
}

static void record_convert_error(struct reader *r, const struct ynode *n, const char *prefix,
                                 const char *msg)
{
    if (r->have_convert_error || r->in_key)
        return;
    r->have_convert_error = true;
    set_error(&r->convert_error, prefix, 0, n->line + 1, n->column + 1, "%s", msg);
}

/*
 * A float becomes what kube-apiserver reads back from the JSON Go writes for it: text without
 * '.' or exponent is an int64 when it fits (1.0 is "1"), anything else a float64.
 */
static json_t *float_json(struct reader *r, const struct ynode *n, double f)
{
    char text[40];
    long long i;

    if (isnan(f) || isinf(f)) {
        char msg[64];
        snprintf(msg, sizeof(msg), "unsupported value: %s",
                 isnan(f) ? "NaN" : (f > 0 ? "+Inf" : "-Inf"));
        record_convert_error(r, n, "json: ", msg);
        return jcheck(json_null());
    }
    yaml_format_go_float(f, 'j', 64, text);
    if (!strpbrk(text, ".e")) {
        /* sigs.k8s.io/json: strconv.ParseInt(text, 10, 64), a float64 when out of range */
        errno = 0;
        i = strtoll(text, NULL, 10);
        if (errno != ERANGE)
            return jcheck(json_integer(i));
    }
    return jcheck(json_real(f));
}

static int base64_value(int c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (is_digit(c))
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

/* Go's base64.StdEncoding.DecodeString: padding required, CR and LF ignored. */
static bool base64_decode(const char *s, size_t n, struct strbuf *out)
{
    int quad[4], q = 0, pad = 0;

    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)s[i];
        if (c == '\r' || c == '\n')
            continue;
        if (c == '=') {
            if (q < 2)
                return false;
            quad[q++] = 0;
            pad++;
        } else {
            int v = base64_value(c);
            if (v < 0 || pad)
                return false;
            quad[q++] = v;
        }
        if (q == 4) {
            unsigned triple = (unsigned)(quad[0] << 18 | quad[1] << 12 | quad[2] << 6 | quad[3]);
            strbuf_addch(out, (char)(triple >> 16));
            if (pad < 2)
                strbuf_addch(out, (char)(triple >> 8 & 0xff));
            if (pad < 1)
                strbuf_addch(out, (char)(triple & 0xff));
            q = 0;
            if (pad) {
                /* only newlines may follow the padding */
                for (i++; i < n; i++)
                    if (s[i] != '\r' && s[i] != '\n')
                        return false;
                return true;
            }
        }
    }
    return q == 0;
}

/* Length of the valid UTF-8 sequence at s (n bytes left), 0 when invalid. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    size_t len;
    unsigned min, cp;

    if (c < 0x80)
        return 1;
    if ((c & 0xE0) == 0xC0)
        len = 2, min = 0x80, cp = c & 0x1F;
    else if ((c & 0xF0) == 0xE0)
        len = 3, min = 0x800, cp = c & 0x0F;
    else if ((c & 0xF8) == 0xF0)
        len = 4, min = 0x10000, cp = c & 0x07;
    else
        return 0;
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return len;
}

/* A JSON string of raw bytes, each invalid UTF-8 byte replaced as Go's json.Marshal does. */
static json_t *string_json_lossy(const char *s, size_t n)
{
    struct strbuf sb;
    json_t *j;

    strbuf_init(&sb, STRBUF_NO_LIMIT);
    for (size_t i = 0; i < n;) {
        size_t l = utf8_len((const unsigned char *)s + i, n - i);
        if (l == 0) {
            strbuf_addstr(&sb, "\xEF\xBF\xBD");
            i++;
        } else {
            strbuf_add(&sb, s + i, l);
            i += l;
        }
    }
    j = jcheck(json_stringn(strbuf_str(&sb), sb.len));
    strbuf_release(&sb);
    return j;
}

static const char *short_tag(const char *tag, char *buf, size_t size)
{
    size_t plen = strlen(TAG_PREFIX);
    if (strncmp(tag, TAG_PREFIX, plen) == 0) {
        snprintf(buf, size, "!!%s", tag + plen);
        return buf;
    }
    return tag;
}

static bool resolvable_tag(const char *tag)
{
    return !*tag || !strcmp(tag, TAG_STR) || !strcmp(tag, TAG_BOOL) || !strcmp(tag, TAG_INT) ||
           !strcmp(tag, TAG_FLOAT) || !strcmp(tag, TAG_NULL) || !strcmp(tag, TAG_TIMESTAMP);
}

static const char *plain_type_tag(enum yaml_plain_type t)
{
    switch (t) {
    case YAML_PLAIN_NULL:
        return TAG_NULL;
    case YAML_PLAIN_BOOL:
        return TAG_BOOL;
    case YAML_PLAIN_INT:
    case YAML_PLAIN_UINT:
        return TAG_INT;
    case YAML_PLAIN_FLOAT:
        return TAG_FLOAT;
    case YAML_PLAIN_TIMESTAMP:
        return TAG_TIMESTAMP;
    case YAML_PLAIN_STR:
        break;
    }
    return TAG_STR;
}

static void count_alias_bytes(struct reader *r, size_t n)
{
    if (r->alias_depth > 0)
        r->alias_bytes += n;
}

/* go-yaml's d.scalar() into an interface{}. */
static int decode_scalar(struct reader *r, struct ynode *n, struct yval *out)
{
    struct yaml_plain_value v;
    const char *tag = n->tag ? n->tag : "";

    count_alias_bytes(r, n->len);
    if (!*tag && !n->plain_implicit) {
        /* quoted (or block) scalars are strings, whatever they look like */
        out->type = GT_STR;
        out->json = jcheck(json_stringn(n->value, n->len));
        return 0;
    }
    if (!strcmp(tag, TAG_BINARY)) {
        struct strbuf sb;
        strbuf_init(&sb, STRBUF_NO_LIMIT);
        if (!base64_decode(n->value, n->len, &sb)) {
            strbuf_release(&sb);
            fail_at(r, n, "!!binary value contains invalid base64 data");
            return -1;
        }
        out->type = GT_STR;
        out->json = string_json_lossy(strbuf_str(&sb), sb.len);
        strbuf_release(&sb);
        return 0;
    }
    if (!resolvable_tag(tag)) {
        /* custom tags (and "!") leave the text as it is */
        out->type = GT_STR;
        out->json = jcheck(json_stringn(n->value, n->len));
        return 0;
    }
    if (!strcmp(tag, TAG_STR)) {
        v.type = YAML_PLAIN_STR;
    } else {
        resolve_text(n->value, n->len, !*tag || !strcmp(tag, TAG_TIMESTAMP), &v);
    }
    if (*tag) {
        const char *rtag = plain_type_tag(v.type);
        if (!strcmp(tag, TAG_FLOAT) && v.type == YAML_PLAIN_INT) {
            v.type = YAML_PLAIN_FLOAT; /* !!float 1 is a float */
            v.f = (double)v.i;
        } else if (strcmp(tag, rtag) != 0 && strcmp(tag, TAG_STR) != 0) {
            char a[64], b[64];
            fail_at(r, n, "cannot decode %s `%s` as a %s", short_tag(rtag, a, sizeof(a)), n->value,
                    short_tag(tag, b, sizeof(b)));
            return -1;
        }
    }
    switch (v.type) {
    case YAML_PLAIN_NULL:
        out->type = GT_NIL;
        out->json = jcheck(json_null());
        break;
    case YAML_PLAIN_BOOL:
        out->type = GT_BOOL;
        out->json = jcheck(json_boolean(v.b));
        break;
    case YAML_PLAIN_INT:
        out->type = GT_INT;
        out->json = jcheck(json_integer(v.i));
        break;
    case YAML_PLAIN_UINT:
        /* Go prints the digits; kube-apiserver reads a number beyond int64 as a float64 */
        out->type = GT_UINT;
        out->u = v.u;
        out->json = jcheck(json_real((double)v.u));
        break;
    case YAML_PLAIN_FLOAT:
        out->type = GT_FLOAT;
        out->f = v.f;
        out->json = float_json(r, n, v.f);
        break;
    default:
        /* strings and timestamps, kept as written */
        out->type = GT_STR;
        out->json = jcheck(json_stringn(n->value, n->len));
        break;
    }
    return 0;
}

/*
 * sigs.k8s.io/yaml's key conversion. Returns 0 with key set (a new string), 1 when the key
 * cannot become a string (an error recorded for after decoding; the entry is dropped).
 */
static int key_string(struct reader *r, const struct ynode *kn, const struct yval *k,
                      const struct yval *v, char **key, size_t *key_len)
{
    char buf[64];
    const char *s = buf;
    size_t n;

    switch (k->type) {
    case GT_STR:
        s = json_string_value(k->json);
        n = json_string_length(k->json);
        *key = xstrndup(s, n);
        *key_len = n;
        return 0;
    case GT_INT:
        snprintf(buf, sizeof(buf), "%lld", (long long)json_integer_value(k->json));
        break;
    case GT_BOOL:
        s = json_is_true(k->json) ? "true" : "false";
        break;
    case GT_FLOAT:
        /* strconv.FormatFloat(f, 'g', -1, 32), with YAML's names for the specials */
        yaml_format_go_float(k->f, 'g', 32, buf);
        if (!strcmp(buf, "+Inf"))
            s = ".inf";
        else if (!strcmp(buf, "-Inf"))
            s = "-.inf";
        else if (!strcmp(buf, "NaN"))
            s = ".nan";
        break;
    default: {
        struct strbuf sb;
        strbuf_init(&sb, 4096);
        strbuf_addstr(&sb, "unsupported map key of type: ");
        if (k->type == GT_UINT)
            strbuf_addf(&sb, "uint64, key: 0x%llx", k->u);
        else
            strbuf_addstr(&sb, "%!s(<nil>), key: <nil>");
        strbuf_addstr(&sb, ", value: ");
        if (v->type == GT_UINT)
            strbuf_addf(&sb, "0x%llx", v->u);
        else
            go_sharp_v(&sb, v->json, "<nil>", 0);
        record_convert_error(r, kn, "", strbuf_str(&sb));
        strbuf_release(&sb);
        return 1;
    }
    }
    n = strlen(s);
    *key = xstrndup(s, n);
    *key_len = n;
    return 0;
}

static bool is_merge_key(const struct ynode *k)
{
    return k->kind == YN_SCALAR && k->len == 2 && !memcmp(k->value, "<<", 2) &&
           (k->plain_implicit || (k->tag && !strcmp(k->tag, TAG_MERGE)));
}

static int decode_mapping_into(struct reader *r, struct ynode *n, json_t *obj, int depth);

/* go-yaml's d.unmarshal of a mapping (or an alias of one) into an existing map. */
static int decode_into_map(struct reader *r, struct ynode *n, json_t *obj, int depth)
{
    int result;

    if (count_decode(r, n) < 0)
        return -1;
    if (n->kind == YN_MAP)
        return decode_mapping_into(r, n, obj, depth);
    /* an alias: its target was checked to be a mapping */
    if (n->expanding) {
        fail_at(r, n, "anchor '%s' value contains itself", n->value);
        return -1;
    }
    if (++r->calls > r->max_depth + CALL_DEPTH_SLACK) {
        depth_error(r, n);
        return -1;
    }
    n->expanding = true;
    r->alias_depth++;
    result = decode_into_map(r, n->target, obj, depth);
    r->alias_depth--;
    n->expanding = false;
    r->calls--;
    return result;
}

/* go-yaml's d.merge(): the value of a "<<" key. */
static int decode_merge(struct reader *r, struct ynode *v, json_t *obj, int depth)
{
    static const char want_map[] = "map merge requires map or sequence of maps as the value";

    switch (v->kind) {
    case YN_MAP:
        return decode_into_map(r, v, obj, depth);
    case YN_ALIAS:
        if (v->target->kind != YN_MAP) {
            fail_at(r, v, "%s", want_map);
            return -1;
        }
        return decode_into_map(r, v, obj, depth);
    case YN_SEQ:
        /* backwards, so that earlier maps win */
        for (size_t i = v->nkids; i-- > 0;) {
            struct ynode *e = v->kids[i];
            if (!(e->kind == YN_MAP || (e->kind == YN_ALIAS && e->target->kind == YN_MAP))) {
                fail_at(r, e, "%s", want_map);
                return -1;
            }
            if (decode_into_map(r, e, obj, depth) < 0)
                return -1;
        }
        return 0;
    default:
        fail_at(r, v, "%s", want_map);
        return -1;
    }
}

static void record_duplicate(struct reader *r, const struct ynode *vn, const struct yval *k)
{
    struct strbuf *sb = &r->dups;

    if (!r->strict)
        return;
    if (sb->len == 0)
        strbuf_addstr(sb, "yaml: unmarshal errors:");
    strbuf_addf(sb, "\n  line %d: key ", vn->line + 1);
    go_sharp_v(sb, k->json, "interface {}(nil)", 0);
    strbuf_addstr(sb, " already set in map");
}

static int decode_mapping_into(struct reader *r, struct ynode *n, json_t *obj, int depth)
{
    int result;

    for (size_t i = 0; i + 1 < n->nkids; i += 2) {
        struct ynode *kn = n->kids[i], *vn = n->kids[i + 1];
        struct yval k = {0}, v = {0};
        char *key = NULL;
        size_t key_len = 0;

        if (is_merge_key(kn)) {
            if (decode_merge(r, vn, obj, depth) < 0)
                return -1;
            continue;
        }
        r->in_key++;
        result = decode(r, kn, depth, &k);
        r->in_key--;
        if (result < 0)
            return -1;
        if (k.type == GT_MAP || k.type == GT_SEQ) {
            struct strbuf sb;
            strbuf_init(&sb, 200);
            go_sharp_v(&sb, k.json, "interface {}(nil)", 0);
            fail_at(r, kn, "invalid map key: %s", strbuf_str(&sb));
            strbuf_release(&sb);
            json_decref(k.json);
            return -1;
        }
        if (decode(r, vn, depth, &v) < 0) {
            json_decref(k.json);
            return -1;
        }
        if (key_string(r, kn, &k, &v, &key, &key_len) == 0) {
            if (json_object_getn(obj, key, key_len))
                record_duplicate(r, vn, &k);
            json_object_setn_new_nocheck(obj, key, key_len, v.json);
            v.json = NULL;
        }
        free(key);
        json_decref(k.json);
        json_decref(v.json);
    }
    return 0;
}

/* go-yaml's d.unmarshal() into an interface{}: out->json is a new reference on success. */
static int decode(struct reader *r, struct ynode *n, int depth, struct yval *out)
{
    int result = -1;

    out->json = NULL;
    if (count_decode(r, n) < 0)
        return -1;
    if (++r->calls > r->max_depth + CALL_DEPTH_SLACK) {
        depth_error(r, n);
        goto out;
    }
    if (r->alias_bytes > r->alias_budget) {
        fail_at(r, n, "document contains excessive aliasing");
        goto out;
    }
    switch (n->kind) {
    case YN_ALIAS:
        if (n->expanding) {
            fail_at(r, n, "anchor '%s' value contains itself", n->value);
            goto out;
        }
        n->expanding = true;
        r->alias_depth++;
        /* the alias itself was counted; go-yaml counts the target again */
        result = decode(r, n->target, depth, out);
        r->alias_depth--;
        n->expanding = false;
        break;
    case YN_SCALAR:
        result = decode_scalar(r, n, out);
        break;
    case YN_MAP:
        if (depth + 1 > r->max_depth) {
            depth_error(r, n);
            goto out;
        }
        out->type = GT_MAP;
        out->json = jcheck(json_object());
        count_alias_bytes(r, 16);
        result = decode_mapping_into(r, n, out->json, depth + 1);
        break;
    case YN_SEQ:
        if (depth + 1 > r->max_depth) {
            depth_error(r, n);
            goto out;
        }
        out->type = GT_SEQ;
        out->json = jcheck(json_array());
        count_alias_bytes(r, 16);
        result = 0;
        for (size_t i = 0; i < n->nkids; i++) {
            struct yval e;
            if (decode(r, n->kids[i], depth + 1, &e) < 0) {
                result = -1;
                break;
            }
            json_array_append_new(out->json, e.json);
        }
        break;
    }
out:
    r->calls--;
    if (result < 0) {
        json_decref(out->json);
        out->json = NULL;
    }
    return result;
}

static json_t *parse(const char *data, size_t len, int max_depth, bool strict, char **dups,
                     struct yaml_error *err)
{
    struct reader r;
    struct yaml_error scratch;
    struct ynode *root = NULL;
    struct yval v = {0};
    json_t *result = NULL;

    if (dups)
        *dups = NULL;
    if (!err)
        err = &scratch;
    memset(err, 0, sizeof(*err));
    memset(&r, 0, sizeof(r));
    r.input = data ? data : "";
    r.input_len = data ? len : 0;
    r.max_depth = (max_depth <= 0 || max_depth > YAML_DEPTH_CAP) ? YAML_DEPTH_CAP : max_depth;
    r.err = err;
    r.strict = strict;
    /* Aliases may repeat text, but not blow a small body up into gigabytes. */
    r.alias_budget = 8 * r.input_len + ((size_t)1 << 20);
    strbuf_init(&r.dups, 64 * 1024);
    r.anchors = jcheck(json_object());

    if (build_tree(&r, &root) < 0)
        goto out;
    if (!root) {
        result = jcheck(json_null());
        goto out;
    }
    if (decode(&r, root, 0, &v) < 0)
        goto out;
    if (r.have_convert_error) {
        *err = r.convert_error;
        json_decref(v.json);
        goto out;
    }
    result = v.json;
    if (dups && r.dups.len > 0)
        *dups = strbuf_detach(&r.dups, NULL);
out:
    reader_release(&r);
    return result;
}

json_t *yaml_parse(const char *data, size_t len, int max_depth, struct yaml_error *err)
{
    return parse(data, len, max_depth, false, NULL, err);
}

json_t *yaml_parse_strict(const char *data, size_t len, int max_depth, char **strict_errors,
                          struct yaml_error *err)
{
    return parse(data, len, max_depth, true, strict_errors, err);
}
