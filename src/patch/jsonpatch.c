/*
 * jsonpatch: JSON patch (RFC 6902) as kube-apiserver 1.33 applies it, that is
 * github.com/evanphx/json-patch v4.12.0 (gopkg.in/evanphx/json-patch.v4) behind patch.go's
 * decoding and limits, with the library's error texts and quirks; and the decoding of patch
 * bodies the way Go's encoding/json and sigs.k8s.io/json decode them, with their exact error
 * texts, which all three patch types use. It must not depend on the other merges.
 */
#include "patch_private.h"

#include "svc/strbuf.h"
#include "svc/util.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* =============================================================================================
 * Go's encoding/json scanner, for its syntax error texts
 * ============================================================================================= */

enum {
    PS_OBJECT_KEY,
    PS_OBJECT_VALUE,
    PS_ARRAY_VALUE,
};

enum scan_state {
    ST_BEGIN_VALUE,
    ST_BEGIN_VALUE_OR_EMPTY,
    ST_BEGIN_STRING_OR_EMPTY,
    ST_BEGIN_STRING,
    ST_END_VALUE,
    ST_END_TOP,
    ST_IN_STRING,
    ST_IN_STRING_ESC,
    ST_ESC_U,
    ST_ESC_U1,
    ST_ESC_U12,
    ST_ESC_U123,
    ST_NEG,
    ST_1,
    ST_0,
    ST_DOT,
    ST_DOT0,
    ST_E,
    ST_ESIGN,
    ST_E0,
    ST_T,
    ST_TR,
    ST_TRU,
    ST_F,
    ST_FA,
    ST_FAL,
    ST_FALS,
    ST_N,
    ST_NU,
    ST_NUL,
    ST_ERROR,
};

struct scanner {
    enum scan_state state;
    bool end_top;
    unsigned char *stack; /* parse states, one per open object or array */
    size_t depth;
    char *err; /* owned */
};

static bool is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool is_hex(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* quoteChar: the byte as the rune U+00XX, quoted as strconv.Quote does, without the quotes. */
static void quote_char(struct strbuf *sb, unsigned char c)
{
    strbuf_addch(sb, '\'');
    if (c == '\'') {
        strbuf_addstr(sb, "\\'");
    } else if (c == '"') {
        strbuf_addch(sb, '"');
    } else if (c == '\\') {
        strbuf_addstr(sb, "\\\\");
    } else if (c >= 0x20 && c < 0x7f) {
        strbuf_addch(sb, (char)c);
    } else if (c == '\a') {
        strbuf_addstr(sb, "\\a");
    } else if (c == '\b') {
        strbuf_addstr(sb, "\\b");
    } else if (c == '\f') {
        strbuf_addstr(sb, "\\f");
    } else if (c == '\n') {
        strbuf_addstr(sb, "\\n");
    } else if (c == '\r') {
        strbuf_addstr(sb, "\\r");
    } else if (c == '\t') {
        strbuf_addstr(sb, "\\t");
    } else if (c == '\v') {
        strbuf_addstr(sb, "\\v");
    } else if (c < 0x20 || c == 0x7f) {
        strbuf_addf(sb, "\\x%02x", c);
    } else if (c < 0xa1 || c == 0xad) {
        /* U+0080..U+00A0 and the soft hyphen are not printable for unicode.IsPrint. */
        strbuf_addf(sb, "\\u%04x", c);
    } else {
        strbuf_addch(sb, (char)(0xc0 | (c >> 6)));
        strbuf_addch(sb, (char)(0x80 | (c & 0x3f)));
    }
    strbuf_addch(sb, '\'');
}

static int scan_error(struct scanner *s, unsigned char c, const char *context)
{
    struct strbuf sb;
    strbuf_init(&sb, STRBUF_NO_LIMIT);
    strbuf_addstr(&sb, "invalid character ");
    quote_char(&sb, c);
    strbuf_addch(&sb, ' ');
    strbuf_addstr(&sb, context);
    s->state = ST_ERROR;
    free(s->err);
    s->err = strbuf_detach(&sb, NULL);
    return -1;
}

static int scan_push(struct scanner *s, unsigned char c, unsigned char ps)
{
    if (s->depth >= PATCH_MAX_DEPTH)
        return scan_error(s, c, "exceeded max depth");
    s->stack[s->depth++] = ps;
    return 0;
}

static void scan_pop(struct scanner *s)
{
    s->depth--;
    if (s->depth == 0) {
        s->state = ST_END_TOP;
        s->end_top = true;
    } else {
        s->state = ST_END_VALUE;
    }
}

/* One byte through the state machine of encoding/json's scanner.go; 0, or -1 with s->err. */
static int scan_step(struct scanner *s, unsigned char c)
{
again:
    switch (s->state) {
    case ST_BEGIN_VALUE_OR_EMPTY:
        if (is_space(c))
            return 0;
        if (c == ']') {
            s->state = ST_END_VALUE;
            goto again;
        }
        s->state = ST_BEGIN_VALUE;
        goto again;
    case ST_BEGIN_VALUE:
        if (is_space(c))
            return 0;
        switch (c) {
        case '{':
            s->state = ST_BEGIN_STRING_OR_EMPTY;
            return scan_push(s, c, PS_OBJECT_KEY);
        case '[':
            s->state = ST_BEGIN_VALUE_OR_EMPTY;
            return scan_push(s, c, PS_ARRAY_VALUE);
        case '"':
            s->state = ST_IN_STRING;
            return 0;
        case '-':
            s->state = ST_NEG;
            return 0;
        case '0':
            s->state = ST_0;
            return 0;
        case 't':
            s->state = ST_T;
            return 0;
        case 'f':
            s->state = ST_F;
            return 0;
        case 'n':
            s->state = ST_N;
            return 0;
        }
        if (c >= '1' && c <= '9') {
            s->state = ST_1;
            return 0;
        }
        return scan_error(s, c, "looking for beginning of value");
    case ST_BEGIN_STRING_OR_EMPTY:
        if (is_space(c))
            return 0;
        if (c == '}') {
            s->stack[s->depth - 1] = PS_OBJECT_VALUE;
            s->state = ST_END_VALUE;
            goto again;
        }
        s->state = ST_BEGIN_STRING;
        goto again;
    case ST_BEGIN_STRING:
        if (is_space(c))
            return 0;
        if (c == '"') {
            s->state = ST_IN_STRING;
            return 0;
        }
        return scan_error(s, c, "looking for beginning of object key string");
    case ST_END_VALUE:
        if (s->depth == 0) {
            s->state = ST_END_TOP;
            s->end_top = true;
            goto again;
        }
        if (is_space(c))
            return 0;
        switch (s->stack[s->depth - 1]) {
        case PS_OBJECT_KEY:
            if (c == ':') {
                s->stack[s->depth - 1] = PS_OBJECT_VALUE;
                s->state = ST_BEGIN_VALUE;
                return 0;
            }
            return scan_error(s, c, "after object key");
        case PS_OBJECT_VALUE:
            if (c == ',') {
                s->stack[s->depth - 1] = PS_OBJECT_KEY;
                s->state = ST_BEGIN_STRING;
                return 0;
            }
            if (c == '}') {
                scan_pop(s);
                return 0;
            }
            return scan_error(s, c, "after object key:value pair");
        default:
            if (c == ',') {
                s->state = ST_BEGIN_VALUE;
                return 0;
            }
            if (c == ']') {
                scan_pop(s);
                return 0;
            }
            return scan_error(s, c, "after array element");
        }
    case ST_END_TOP:
        if (!is_space(c))
            return scan_error(s, c, "after top-level value");
        return 0;
    case ST_IN_STRING:
        if (c == '"') {
            s->state = ST_END_VALUE;
            return 0;
        }
        if (c == '\\') {
            s->state = ST_IN_STRING_ESC;
            return 0;
        }
        if (c < 0x20)
            return scan_error(s, c, "in string literal");
        return 0;
    case ST_IN_STRING_ESC:
        switch (c) {
        case 'b':
        case 'f':
        case 'n':
        case 'r':
        case 't':
        case '\\':
        case '/':
        case '"':
            s->state = ST_IN_STRING;
            return 0;
        case 'u':
            s->state = ST_ESC_U;
            return 0;
        }
        return scan_error(s, c, "in string escape code");
    case ST_ESC_U:
    case ST_ESC_U1:
    case ST_ESC_U12:
    case ST_ESC_U123:
        if (!is_hex(c))
            return scan_error(s, c, "in \\u hexadecimal character escape");
        s->state = s->state == ST_ESC_U123 ? ST_IN_STRING : s->state + 1;
        return 0;
    case ST_NEG:
        if (c == '0') {
            s->state = ST_0;
            return 0;
        }
        if (c >= '1' && c <= '9') {
            s->state = ST_1;
            return 0;
        }
        return scan_error(s, c, "in numeric literal");
    case ST_1:
        if (c >= '0' && c <= '9')
            return 0;
        s->state = ST_0;
        goto again;
    case ST_0:
        if (c == '.') {
            s->state = ST_DOT;
            return 0;
        }
        if (c == 'e' || c == 'E') {
            s->state = ST_E;
            return 0;
        }
        s->state = ST_END_VALUE;
        goto again;
    case ST_DOT:
        if (c >= '0' && c <= '9') {
            s->state = ST_DOT0;
            return 0;
        }
        return scan_error(s, c, "after decimal point in numeric literal");
    case ST_DOT0:
        if (c >= '0' && c <= '9')
            return 0;
        if (c == 'e' || c == 'E') {
            s->state = ST_E;
            return 0;
        }
        s->state = ST_END_VALUE;
        goto again;
    case ST_E:
        if (c == '+' || c == '-') {
            s->state = ST_ESIGN;
            return 0;
        }
        s->state = ST_ESIGN;
        goto again;
    case ST_ESIGN:
        if (c >= '0' && c <= '9') {
            s->state = ST_E0;
            return 0;
        }
        return scan_error(s, c, "in exponent of numeric literal");
    case ST_E0:
        if (c >= '0' && c <= '9')
            return 0;
        s->state = ST_END_VALUE;
        goto again;
    case ST_T:
        if (c == 'r') {
            s->state = ST_TR;
            return 0;
        }
        return scan_error(s, c, "in literal true (expecting 'r')");
    case ST_TR:
        if (c == 'u') {
            s->state = ST_TRU;
            return 0;
        }
        return scan_error(s, c, "in literal true (expecting 'u')");
    case ST_TRU:
        if (c == 'e') {
            s->state = ST_END_VALUE;
            return 0;
        }
        return scan_error(s, c, "in literal true (expecting 'e')");
    case ST_F:
        if (c == 'a') {
            s->state = ST_FA;
            return 0;
        }
        return scan_error(s, c, "in literal false (expecting 'a')");
    case ST_FA:
        if (c == 'l') {
            s->state = ST_FAL;
            return 0;
        }
        return scan_error(s, c, "in literal false (expecting 'l')");
    case ST_FAL:
        if (c == 's') {
            s->state = ST_FALS;
            return 0;
        }
        return scan_error(s, c, "in literal false (expecting 's')");
    case ST_FALS:
        if (c == 'e') {
            s->state = ST_END_VALUE;
            return 0;
        }
        return scan_error(s, c, "in literal false (expecting 'e')");
    case ST_N:
        if (c == 'u') {
            s->state = ST_NU;
            return 0;
        }
        return scan_error(s, c, "in literal null (expecting 'u')");
    case ST_NU:
        if (c == 'l') {
            s->state = ST_NUL;
            return 0;
        }
        return scan_error(s, c, "in literal null (expecting 'l')");
    case ST_NUL:
        if (c == 'l') {
            s->state = ST_END_VALUE;
            return 0;
        }
        return scan_error(s, c, "in literal null (expecting 'l')");
    case ST_ERROR:
        return -1;
    }
    return -1;
}

/* checkValid: NULL when body is one valid JSON value, else Go's message (caller frees). */
static char *scan_check(const char *body, size_t len)
{
    struct scanner s = {.state = ST_BEGIN_VALUE};
    char *err = NULL;
    s.stack = xmalloc(PATCH_MAX_DEPTH + 1);
    for (size_t i = 0; i < len; i++) {
        if (scan_step(&s, (unsigned char)body[i]) < 0)
            goto out;
    }
    /* scanner.eof: a space ends a pending number or literal, or reveals what is missing. */
    if (!s.end_top) {
        scan_step(&s, ' ');
        if (!s.end_top && !s.err)
            s.err = xstrdup("unexpected end of JSON input");
    }
out:
    err = s.err;
    free(s.stack);
    return err;
}

/* =============================================================================================
 * Building the tree from a body known to be valid, with Go's type errors and strict findings
 * ============================================================================================= */

/* What Go type a value is decoded into. */
enum gotype {
    GT_ANY,      /* interface{} */
    GT_RAW,      /* json.RawMessage (evanphx keeps values as raw bytes) */
    GT_MAP,      /* map[string]interface{} */
    GT_OPS,      /* []handlers.jsonPatchOp */
    GT_OP,       /* handlers.jsonPatchOp */
    GT_OP_STR,   /* a string field of handlers.jsonPatchOp */
    GT_OP_VALUE, /* the interface{} field "value" of handlers.jsonPatchOp, and all inside it */
    GT_EPATCH,   /* jsonpatch.Patch */
    GT_EOP,      /* jsonpatch.Operation */
};

struct builder {
    const unsigned char *p;
    const unsigned char *end;
    bool strict; /* collect sigs.k8s.io/json strict findings */
    struct patch_strict found;
    struct strbuf path; /* the strict field stack, joined */
    char *error;        /* the first type error (decodeState.savedError) */
    const char *field;  /* the jsonPatchOp field being decoded, for error context */
};

static void skip_ws(struct builder *b)
{
    while (b->p < b->end && is_space(*b->p))
        b->p++;
}

static void save_error(struct builder *b, const char *value_kind, const char *gotype)
{
    if (b->error)
        return;
    if (b->field)
        b->error =
            xasprintf("json: cannot unmarshal %s into Go struct field jsonPatchOp.%s of type %s",
                      value_kind, b->field, gotype);
    else
        b->error =
            xasprintf("json: cannot unmarshal %s into Go value of type %s", value_kind, gotype);
}

static void strict_found(struct builder *b, const char *kind, const char *name, size_t name_len)
{
    struct strbuf sb;
    if (!b->strict)
        return;
    strbuf_init(&sb, STRBUF_NO_LIMIT);
    strbuf_addstr(&sb, kind);
    strbuf_addch(&sb, ' ');
    /* newFieldError: the joined stack, a dot, then the field; strconv.Quote around all. */
    struct strbuf path;
    strbuf_init(&path, STRBUF_NO_LIMIT);
    if (b->path.len) {
        strbuf_add(&path, b->path.buf, b->path.len);
        strbuf_addch(&path, '.');
    }
    strbuf_add(&path, name, name_len);
    gofmt_quote(&sb, path.buf ? path.buf : "", path.len);
    strbuf_release(&path);
    pstrict_add(&b->found, strbuf_str(&sb));
    strbuf_release(&sb);
}

/* utf8.DecodeRune: length of the valid sequence at p, or 0 when Go sees RuneError width 1. */
static size_t utf8_valid_len(const unsigned char *p, const unsigned char *end)
{
    unsigned char c = p[0];
    size_t n;
    unsigned char lo = 0x80, hi = 0xbf;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        n = 2;
    else if (c >= 0xe0 && c <= 0xef)
        n = 3;
    else if (c >= 0xf0 && c <= 0xf4)
        n = 4;
    else
        return 0;
    if (c == 0xe0)
        lo = 0xa0;
    else if (c == 0xed)
        hi = 0x9f;
    else if (c == 0xf0)
        lo = 0x90;
    else if (c == 0xf4)
        hi = 0x8f;
    if ((size_t)(end - p) < n)
        return 0;
    if (p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++) {
        if (p[i] < 0x80 || p[i] > 0xbf)
            return 0;
    }
    return n;
}

static void add_rune(struct strbuf *sb, unsigned long r)
{
    if (r < 0x80) {
        strbuf_addch(sb, (char)r);
    } else if (r < 0x800) {
        strbuf_addch(sb, (char)(0xc0 | (r >> 6)));
        strbuf_addch(sb, (char)(0x80 | (r & 0x3f)));
    } else if (r < 0x10000) {
        strbuf_addch(sb, (char)(0xe0 | (r >> 12)));
        strbuf_addch(sb, (char)(0x80 | ((r >> 6) & 0x3f)));
        strbuf_addch(sb, (char)(0x80 | (r & 0x3f)));
    } else {
        strbuf_addch(sb, (char)(0xf0 | (r >> 18)));
        strbuf_addch(sb, (char)(0x80 | ((r >> 12) & 0x3f)));
        strbuf_addch(sb, (char)(0x80 | ((r >> 6) & 0x3f)));
        strbuf_addch(sb, (char)(0x80 | (r & 0x3f)));
    }
}

static long get_u4(const unsigned char *p, const unsigned char *end)
{
    long r = 0;
    if (end - p < 6 || p[0] != '\\' || p[1] != 'u')
        return -1;
    for (int i = 2; i < 6; i++) {
        unsigned char c = p[i];
        int d;
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if (c >= 'a' && c <= 'f')
            d = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            d = c - 'A' + 10;
        else
            return -1;
        r = r * 16 + d;
    }
    return r;
}

/* Decode the string literal at b->p (on its opening quote) as Go's unquote does. */
static void read_string(struct builder *b, struct strbuf *out)
{
    const unsigned char *p = b->p + 1;
    while (*p != '"') {
        if (*p == '\\') {
            switch (p[1]) {
            case 'b':
                strbuf_addch(out, '\b');
                break;
            case 'f':
                strbuf_addch(out, '\f');
                break;
            case 'n':
                strbuf_addch(out, '\n');
                break;
            case 'r':
                strbuf_addch(out, '\r');
                break;
            case 't':
                strbuf_addch(out, '\t');
                break;
            case 'u': {
                long r = get_u4(p, b->end);
                p += 6;
                if (r >= 0xd800 && r < 0xe000) {
                    long r2 = get_u4(p, b->end);
                    if (r < 0xdc00 && r2 >= 0xdc00 && r2 < 0xe000) {
                        add_rune(out, 0x10000 + (((unsigned long)r - 0xd800) << 10) +
                                          ((unsigned long)r2 - 0xdc00));
                        p += 6;
                        continue;
                    }
                    r = 0xfffd;
                }
                add_rune(out, (unsigned long)r);
                continue;
            }
            default: /* '"', '\\', '/' */
                strbuf_addch(out, (char)p[1]);
                break;
            }
            p += 2;
            continue;
        }
        size_t n = utf8_valid_len(p, b->end);
        if (n == 0) {
            add_rune(out, 0xfffd);
            p++;
        } else {
            strbuf_add(out, p, n);
            p += n;
        }
    }
    b->p = p + 1;
}

static const char *gotype_name(enum gotype t)
{
    switch (t) {
    case GT_MAP:
        return "map[string]interface {}";
    case GT_OPS:
        return "[]handlers.jsonPatchOp";
    case GT_OP:
        return "handlers.jsonPatchOp";
    case GT_OP_STR:
        return "string";
    case GT_EPATCH:
        return "jsonpatch.Patch";
    case GT_EOP:
        return "jsonpatch.Operation";
    default:
        return "interface {}";
    }
}

static json_t *build_value(struct builder *b, enum gotype t);

static json_t *build_number(struct builder *b, enum gotype t)
{
    const unsigned char *start = b->p;
    bool fractional = false;
    while (b->p < b->end && ((*b->p >= '0' && *b->p <= '9') || *b->p == '-' || *b->p == '+' ||
                             *b->p == '.' || *b->p == 'e' || *b->p == 'E')) {
        if (*b->p == '.' || *b->p == 'e' || *b->p == 'E')
            fractional = true;
        b->p++;
    }
    char *text = xstrndup((const char *)start, (size_t)(b->p - start));
    json_t *v = NULL;
    if (t == GT_MAP || t == GT_OPS || t == GT_OP || t == GT_OP_STR || t == GT_EPATCH ||
        t == GT_EOP) {
        save_error(b, "number", gotype_name(t));
        v = json_null();
        goto out;
    }
    if (!fractional) {
        errno = 0;
        long long i = strtoll(text, NULL, 10);
        if (errno == 0) {
            v = json_integer(i);
            goto out;
        }
    }
    double d = strtod(text, NULL);
    if (isinf(d)) {
        /* strconv.ParseFloat's range error. evanphx keeps such a number as raw bytes and the
         * typed decoding then fails; we refuse it here, for every target, with the text the
         * interface{} decoders give. */
        char *what = xasprintf("number %s", text);
        save_error(b, what, "float64");
        free(what);
        v = json_null();
        goto out;
    }
    v = json_real(d);
out:
    free(text);
    return v;
}

static json_t *build_object(struct builder *b, enum gotype t)
{
    json_t *obj = json_object();
    struct strbuf key;
    size_t saved_path = b->path.len;
    const char *saved_field = b->field;
    strbuf_init(&key, STRBUF_NO_LIMIT);

    b->p++; /* { */
    skip_ws(b);
    if (*b->p == '}') {
        b->p++;
        goto out;
    }
    for (;;) {
        enum gotype vt = t == GT_OP_VALUE ? GT_OP_VALUE : t == GT_EOP ? GT_RAW : GT_ANY;
        strbuf_reset(&key);
        skip_ws(b);
        read_string(b, &key);
        skip_ws(b);
        b->p++; /* : */
        skip_ws(b);
        const char *k = strbuf_str(&key);
        bool exists = json_object_getn(obj, k, key.len) != NULL;
        if (t == GT_OP) {
            static const char *const fields[] = {"op", "path", "from", "value"};
            const char *known = NULL;
            for (size_t i = 0; i < 4; i++) {
                if (strlen(fields[i]) == key.len && memcmp(fields[i], k, key.len) == 0)
                    known = fields[i];
            }
            if (!known) {
                /* Go skips an unknown field's value: nothing inside it is looked at. */
                strict_found(b, "unknown field", k, key.len);
                bool saved_strict = b->strict;
                b->strict = false;
                json_object_setn_new_nocheck(obj, k, key.len, build_value(b, GT_ANY));
                b->strict = saved_strict;
                skip_ws(b);
                if (*b->p == ',') {
                    b->p++;
                    continue;
                }
                b->p++; /* } */
                break;
            } else {
                if (exists)
                    strict_found(b, "duplicate field", k, key.len);
                vt = strcmp(known, "value") == 0 ? GT_OP_VALUE : GT_OP_STR;
                b->field = known;
            }
        } else if (exists) {
            strict_found(b, "duplicate field", k, key.len);
        }
        if (b->strict) {
            if (b->path.len)
                strbuf_addch(&b->path, '.');
            strbuf_add(&b->path, k, key.len);
        }
        json_t *v = build_value(b, vt);
        json_object_setn_new_nocheck(obj, k, key.len, v);
        b->path.len = saved_path;
        if (b->path.buf)
            b->path.buf[saved_path] = '\0';
        b->field = saved_field;
        skip_ws(b);
        if (*b->p == ',') {
            b->p++;
            continue;
        }
        b->p++; /* } */
        break;
    }
out:
    strbuf_release(&key);
    return obj;
}

static json_t *build_array(struct builder *b, enum gotype t)
{
    json_t *arr = json_array();
    size_t saved_path = b->path.len;
    enum gotype et = t == GT_OPS        ? GT_OP
                     : t == GT_EPATCH   ? GT_EOP
                     : t == GT_OP_VALUE ? GT_OP_VALUE
                     : t == GT_RAW      ? GT_RAW
                                        : GT_ANY;

    b->p++; /* [ */
    skip_ws(b);
    if (*b->p == ']') {
        b->p++;
        return arr;
    }
    for (size_t i = 0;; i++) {
        if (b->strict)
            strbuf_addf(&b->path, "[%zu]", i);
        json_array_append_new(arr, build_value(b, et));
        b->path.len = saved_path;
        if (b->path.buf)
            b->path.buf[saved_path] = '\0';
        skip_ws(b);
        if (*b->p == ',') {
            b->p++;
            skip_ws(b);
            continue;
        }
        b->p++; /* ] */
        break;
    }
    return arr;
}

static json_t *build_value(struct builder *b, enum gotype t)
{
    skip_ws(b);
    unsigned char c = *b->p;
    switch (c) {
    case '{':
        if (t == GT_OPS || t == GT_OP_STR || t == GT_EPATCH) {
            save_error(b, "object", gotype_name(t));
            /* Go skips the value; decoding it anyway only finds what is then thrown away. */
        }
        return build_object(b, t == GT_MAP ? GT_ANY : t);
    case '[':
        if (t == GT_MAP || t == GT_OP || t == GT_OP_STR || t == GT_EOP)
            save_error(b, "array", gotype_name(t));
        return build_array(b, t);
    case '"': {
        struct strbuf s;
        if (t == GT_MAP || t == GT_OPS || t == GT_OP || t == GT_EPATCH || t == GT_EOP)
            save_error(b, "string", gotype_name(t));
        strbuf_init(&s, STRBUF_NO_LIMIT);
        read_string(b, &s);
        json_t *v = json_stringn_nocheck(s.buf ? s.buf : "", s.len);
        strbuf_release(&s);
        return v;
    }
    case 't':
    case 'f':
        if (t == GT_MAP || t == GT_OPS || t == GT_OP || t == GT_OP_STR || t == GT_EPATCH ||
            t == GT_EOP)
            save_error(b, "bool", gotype_name(t));
        b->p += c == 't' ? 4 : 5;
        return c == 't' ? json_true() : json_false();
    case 'n':
        b->p += 4;
        return json_null();
    default:
        return build_number(b, t);
    }
}

int gojson_decode(const char *body, size_t len, enum gojson_target target,
                  struct patch_strict *strict, struct gojson_result *res)
{
    struct builder b = {0};
    enum gotype t;

    memset(res, 0, sizeof(*res));
    res->error = scan_check(body, len);
    if (res->error) {
        res->syntax = true;
        return -1;
    }
    switch (target) {
    case GOJSON_MAP:
        t = GT_MAP;
        b.strict = strict != NULL;
        break;
    case GOJSON_PATCH_OPS:
        t = GT_OPS;
        b.strict = strict != NULL;
        break;
    case GOJSON_EVANPHX:
        t = GT_EPATCH;
        break;
    default:
        t = GT_RAW;
        break;
    }
    b.p = (const unsigned char *)body;
    b.end = b.p + len;
    strbuf_init(&b.path, STRBUF_NO_LIMIT);
    res->value = build_value(&b, t);
    if (b.error) {
        res->error = b.error;
        json_decref(res->value);
        res->value = NULL;
    } else if (strict) {
        /* Strict findings count only when decoding succeeded otherwise (UnmarshalStrictError). */
        for (size_t i = 0; i < b.found.len; i++)
            pstrict_add(strict, b.found.items[i]);
    }
    strbuf_release(&b.path);
    patch_strict_release(&b.found);
    return res->error ? -1 : 0;
}

void gojson_result_release(struct gojson_result *res)
{
    json_decref(res->value);
    free(res->error);
    memset(res, 0, sizeof(*res));
}

/* =============================================================================================
 * RFC 6902 as evanphx/json-patch v4.12.0 applies it
 * ============================================================================================= */

/* A location in the document: an object or an array that a key or index is looked up in. */
struct jp_state {
    json_t *root; /* owned */
    struct pbudget budget;
    long long copied; /* accumulated copy size */
    char *error;      /* owned: the Go error text of the failing operation */
    bool panic;       /* upstream would panic here */
    bool too_deep;    /* the document would pass PATCH_MAX_DEPTH */
};

/* Depth of v counting at most limit + 1 levels; every node visited is charged to the budget. */
static int jp_depth(struct jp_state *st, const json_t *v, int limit)
{
    int best = 0;
    if (!pbudget_spend(&st->budget, 1) || limit < 0)
        return 0;
    if (json_is_object(v)) {
        const char *k;
        json_t *child;
        json_object_foreach ((json_t *)v, k, child) {
            int d = jp_depth(st, child, limit - 1);
            if (d > best)
                best = d;
        }
        return best + 1;
    }
    if (json_is_array(v)) {
        size_t i;
        json_t *child;
        json_array_foreach (v, i, child) {
            int d = jp_depth(st, child, limit - 1);
            if (d > best)
                best = d;
        }
        return best + 1;
    }
    return 0;
}

/*
 * Whether putting val at path keeps the document within PATCH_MAX_DEPTH. Checked as each value
 * lands, so no later step recurses through a document deeper than that.
 */
static bool jp_depth_ok(struct jp_state *st, const char *path, size_t plen, const json_t *val)
{
    int segments = 0;
    for (size_t i = 0; i < plen; i++)
        segments += path[i] == '/';
    if (!val || segments + jp_depth(st, val, PATCH_MAX_DEPTH) <= PATCH_MAX_DEPTH)
        return !st->budget.exhausted;
    st->too_deep = true;
    return false;
}

static void jp_fail(struct jp_state *st, char *msg)
{
    if (!st->error)
        st->error = msg;
    else
        free(msg);
}

/* decodePatchKey: "~1" then "~0", in one left-to-right pass (strings.NewReplacer). */
static char *decode_key(const char *s, size_t n, size_t *out_len)
{
    char *out = xmalloc(n + 1);
    size_t j = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '~' && i + 1 < n && (s[i + 1] == '1' || s[i + 1] == '0')) {
            out[j++] = s[i + 1] == '1' ? '/' : '~';
            i++;
        } else {
            out[j++] = s[i];
        }
    }
    out[j] = '\0';
    *out_len = j;
    return out;
}

/* strconv.Atoi, with its error text; 0 on success. */
static int go_atoi(const char *s, size_t n, long long *out, char **err)
{
    struct strbuf sb;
    const char *why = NULL;
    size_t i = 0;
    bool neg = false;
    unsigned long long v = 0;
    const unsigned long long cutoff = 9223372036854775808ULL; /* 1 << 63 */

    if (n > 0 && (s[0] == '+' || s[0] == '-')) {
        neg = s[0] == '-';
        i = 1;
    }
    if (i == n) {
        why = "invalid syntax";
        goto fail;
    }
    for (; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            why = "invalid syntax";
            goto fail;
        }
        if (v >= (cutoff * 2 - 1) / 10 + 1) { /* ParseUint: n*10 overflows uint64 */
            why = "value out of range";
            goto fail;
        }
        v = v * 10 + (unsigned long long)(s[i] - '0');
        if (v < (unsigned long long)(s[i] - '0')) {
            why = "value out of range";
            goto fail;
        }
    }
    if ((!neg && v >= cutoff) || (neg && v > cutoff)) {
        why = "value out of range";
        goto fail;
    }
    *out = neg ? (long long)(0 - v) : (long long)v;
    return 0;
fail:
    strbuf_init(&sb, STRBUF_NO_LIMIT);
    strbuf_addstr(&sb, "strconv.Atoi: parsing ");
    gofmt_quote(&sb, s, n);
    strbuf_addf(&sb, ": %s", why);
    *err = strbuf_detach(&sb, NULL);
    return -1;
}

static char *invalid_index(long long idx)
{
    return xasprintf("Unable to access invalid index: %lld: invalid index referenced", idx);
}

/* partialDoc.get / partialArray.get. *out is NULL for a missing key or a JSON null (Go's nil). */
static int con_get(json_t *con, const char *key, size_t klen, json_t **out, char **err)
{
    *out = NULL;
    if (json_is_object(con)) {
        json_t *v = json_object_getn(con, key, klen);
        *out = json_is_null(v) ? NULL : v;
        return 0;
    }
    long long idx;
    if (go_atoi(key, klen, &idx, err) < 0)
        return -1;
    long long n = (long long)json_array_size(con);
    if (idx < 0) {
        if (idx < -n) {
            *err = invalid_index(idx);
            return -1;
        }
        idx += n;
    }
    if (idx >= n) {
        *err = invalid_index(idx);
        return -1;
    }
    json_t *v = json_array_get(con, (size_t)idx);
    *out = json_is_null(v) ? NULL : v;
    return 0;
}

/* add (and partialDoc.set); val is borrowed, NULL meaning Go's nil (written as null). */
static int con_add(json_t *con, const char *key, size_t klen, json_t *val, char **err)
{
    json_t *v = val ? val : json_null();
    if (json_is_object(con)) {
        json_object_setn(con, key, klen, v);
        return 0;
    }
    if (klen == 1 && key[0] == '-') {
        json_array_append(con, v);
        return 0;
    }
    long long idx;
    char *aerr = NULL;
    if (go_atoi(key, klen, &idx, &aerr) < 0) {
        *err = xasprintf("value was not a proper array index: '%.*s': %s", (int)klen, key, aerr);
        free(aerr);
        return -1;
    }
    long long sz = (long long)json_array_size(con) + 1;
    if (idx >= sz) {
        *err = invalid_index(idx);
        return -1;
    }
    if (idx < 0) {
        if (idx < -sz) {
            *err = invalid_index(idx);
            return -1;
        }
        idx += sz;
    }
    json_array_insert(con, (size_t)idx, v);
    return 0;
}

/* partialArray.set, only reached for an index con_get accepted. */
static void con_set(json_t *con, const char *key, size_t klen, json_t *val)
{
    json_t *v = val ? val : json_null();
    if (json_is_object(con)) {
        json_object_setn(con, key, klen, v);
        return;
    }
    long long idx = 0;
    char *err = NULL;
    if (go_atoi(key, klen, &idx, &err) < 0) {
        free(err);
        return;
    }
    if (idx < 0)
        idx += (long long)json_array_size(con);
    json_array_set(con, (size_t)idx, v);
}

static int con_remove(json_t *con, const char *key, size_t klen, char **err)
{
    if (json_is_object(con)) {
        if (!json_object_getn(con, key, klen)) {
            *err =
                xasprintf("Unable to remove nonexistent key: %.*s: missing value", (int)klen, key);
            return -1;
        }
        json_object_deln(con, key, klen);
        return 0;
    }
    long long idx;
    if (go_atoi(key, klen, &idx, err) < 0)
        return -1;
    long long n = (long long)json_array_size(con);
    if (idx >= n) {
        *err = invalid_index(idx);
        return -1;
    }
    if (idx < 0) {
        if (idx < -n) {
            *err = invalid_index(idx);
            return -1;
        }
        idx += n;
    }
    json_array_remove(con, (size_t)idx);
    return 0;
}

/*
 * findObject: the container of the last token of path, and that token decoded (caller frees).
 * NULL when the path has no "/" or a step is missing or not a container. The text before the
 * first "/" is ignored, as upstream ignores split[0].
 */
static json_t *find_object(struct jp_state *st, const char *path, size_t plen, char **key,
                           size_t *klen)
{
    const char *slash = memchr(path, '/', plen);
    json_t *doc = st->root;
    if (!slash)
        return NULL;
    const char *seg = slash + 1;
    const char *end = path + plen;
    for (;;) {
        const char *next = memchr(seg, '/', (size_t)(end - seg));
        if (!pbudget_spend(&st->budget, 1))
            return NULL;
        if (!next) {
            *key = decode_key(seg, (size_t)(end - seg), klen);
            return doc;
        }
        size_t dlen;
        char *part = decode_key(seg, (size_t)(next - seg), &dlen);
        json_t *child = NULL;
        char *err = NULL;
        int rc = con_get(doc, part, dlen, &child, &err);
        free(part);
        free(err);
        /* Null values added by an earlier operation make upstream panic here; we treat them as
         * missing, like the nulls already in the document. */
        if (rc < 0 || !child || (!json_is_object(child) && !json_is_array(child)))
            return NULL;
        doc = child;
        seg = next + 1;
    }
}

enum opfield {
    OPF_ABSENT,     /* no key, or a JSON null: Go's nil *json.RawMessage */
    OPF_NOT_STRING, /* json.Unmarshal into a string fails */
    OPF_OK,
};

static enum opfield op_string(const json_t *op, const char *name, const char **s, size_t *n,
                              char **err)
{
    json_t *v = json_object_get(op, name);
    if (!v || json_is_null(v))
        return OPF_ABSENT;
    if (!json_is_string(v)) {
        const char *kind = json_is_object(v)    ? "object"
                           : json_is_array(v)   ? "array"
                           : json_is_boolean(v) ? "bool"
                                                : "number";
        if (err)
            *err = xasprintf("json: cannot unmarshal %s into Go value of type string", kind);
        return OPF_NOT_STRING;
    }
    *s = json_string_value(v);
    *n = json_string_length(v);
    return OPF_OK;
}

/* Operation.Path / Operation.From: 0 with the string, or -1 with Go's error text. */
static int op_path(const json_t *op, const char *name, const char **s, size_t *n, char **err)
{
    char *uerr = NULL;
    switch (op_string(op, name, s, n, &uerr)) {
    case OPF_OK:
        return 0;
    case OPF_NOT_STRING:
        *err = uerr;
        return -1;
    default:
        *err = xstrdup(strcmp(name, "path") == 0 ? "operation missing path field: missing value"
                                                 : "operation, missing from field: missing value");
        return -1;
    }
}

/* The "value" member: present (maybe null) or absent. */
static bool op_value(const json_t *op, json_t **v)
{
    *v = json_object_get(op, "value");
    return *v != NULL;
}

/* lazyNode.equal between a document value a and an operation value b (neither Go's nil). */
static bool jp_equal(struct jp_state *st, const json_t *a, const json_t *b)
{
    if (!pbudget_spend(&st->budget, 1))
        return false;
    if (json_is_object(a)) {
        if (!json_is_object(b) || json_object_size(a) != json_object_size(b))
            return false;
        const char *k;
        json_t *va;
        json_object_foreach ((json_t *)a, k, va) {
            json_t *vb = json_object_get(b, k);
            if (!vb)
                return false;
            if (json_is_null(va) != json_is_null(vb))
                return false;
            if (json_is_null(va))
                continue;
            if (!jp_equal(st, va, vb))
                return false;
        }
        return true;
    }
    if (json_is_array(a)) {
        if (!json_is_array(b) || json_array_size(a) != json_array_size(b))
            return false;
        for (size_t i = 0; i < json_array_size(a); i++) {
            json_t *ea = json_array_get(a, i), *eb = json_array_get(b, i);
            if (json_is_null(ea) || json_is_null(eb)) {
                /* a nil *lazyNode inside partialArray: calling equal on it panics upstream. */
                st->panic = true;
                return false;
            }
            if (!jp_equal(st, ea, eb))
                return false;
        }
        return true;
    }
    /* Scalars: upstream compares the compacted raw bytes; we compare values (an integer never
     * equals a real, as "1" never equals "1.0"). */
    if (json_is_object(b) || json_is_array(b))
        return false;
    return json_equal(a, b);
}

static void jp_add(struct jp_state *st, const json_t *op)
{
    const char *path;
    size_t plen, klen;
    char *key = NULL, *err = NULL;
    json_t *val;
    if (op_path(op, "path", &path, &plen, &err) < 0) {
        free(err);
        jp_fail(st, xstrdup("add operation failed to decode path: missing value"));
        return;
    }
    json_t *con = find_object(st, path, plen, &key, &klen);
    if (!con) {
        jp_fail(st, xasprintf("add operation does not apply: doc is missing path: \"%s\": missing "
                              "value",
                              path));
        return;
    }
    op_value(op, &val);
    if (!jp_depth_ok(st, path, plen, val)) {
        free(key);
        return;
    }
    if (con_add(con, key, klen, val, &err) < 0) {
        jp_fail(st, xasprintf("error in add for path: '%s': %s", path, err));
        free(err);
    }
    free(key);
}

static void jp_remove(struct jp_state *st, const json_t *op)
{
    const char *path;
    size_t plen, klen;
    char *key = NULL, *err = NULL;
    if (op_path(op, "path", &path, &plen, &err) < 0) {
        free(err);
        jp_fail(st, xstrdup("remove operation failed to decode path: missing value"));
        return;
    }
    json_t *con = find_object(st, path, plen, &key, &klen);
    if (!con) {
        jp_fail(st, xasprintf("remove operation does not apply: doc is missing path: \"%s\": "
                              "missing value",
                              path));
        return;
    }
    if (con_remove(con, key, klen, &err) < 0) {
        jp_fail(st, xasprintf("error in remove for path: '%s': %s", path, err));
        free(err);
    }
    free(key);
}

static void jp_replace(struct jp_state *st, const json_t *op)
{
    const char *path;
    size_t plen, klen;
    char *key = NULL, *err = NULL;
    json_t *val, *cur;
    bool has_value = op_value(op, &val);
    if (op_path(op, "path", &path, &plen, &err) < 0) {
        jp_fail(st, xasprintf("replace operation failed to decode path: %s", err));
        free(err);
        return;
    }
    if (plen == 0) {
        if (!has_value) {
            st->panic = true; /* val.which on a nil *lazyNode */
            jp_fail(st, xstrdup("replace of the whole document without a value"));
            return;
        }
        /* A scalar or null value: upstream wraps a nil error, which is no error: nothing
         * happens. */
        if ((json_is_object(val) || json_is_array(val)) && jp_depth_ok(st, "", 0, val)) {
            json_decref(st->root);
            st->root = json_incref(val);
        }
        return;
    }
    json_t *con = find_object(st, path, plen, &key, &klen);
    if (!con) {
        jp_fail(st, xasprintf("replace operation does not apply: doc is missing path: %s: missing "
                              "value",
                              path));
        return;
    }
    /* On an object a missing key is no error: replace then adds, as upstream does. */
    if (con_get(con, key, klen, &cur, &err) < 0) {
        free(err);
        jp_fail(st, xasprintf("replace operation does not apply: doc is missing key: %s: missing "
                              "value",
                              path));
        free(key);
        return;
    }
    if (jp_depth_ok(st, path, plen, has_value ? val : NULL))
        con_set(con, key, klen, has_value ? val : NULL);
    free(key);
}

static void jp_move(struct jp_state *st, const json_t *op)
{
    const char *from, *path;
    size_t flen, plen, klen;
    char *key = NULL, *err = NULL;
    json_t *val = NULL;
    if (op_path(op, "from", &from, &flen, &err) < 0) {
        jp_fail(st, xasprintf("move operation failed to decode from: %s", err));
        free(err);
        return;
    }
    json_t *con = find_object(st, from, flen, &key, &klen);
    if (!con) {
        jp_fail(st, xasprintf("move operation does not apply: doc is missing from path: %s: "
                              "missing value",
                              from));
        return;
    }
    if (con_get(con, key, klen, &val, &err) < 0) {
        jp_fail(st, xasprintf("error in move for path: '%s': %s", key, err));
        free(err);
        goto out;
    }
    json_incref(val);
    if (con_remove(con, key, klen, &err) < 0) {
        jp_fail(st, xasprintf("error in move for path: '%s': %s", key, err));
        free(err);
        goto out;
    }
    free(key);
    key = NULL;
    if (op_path(op, "path", &path, &plen, &err) < 0) {
        jp_fail(st, xasprintf("move operation failed to decode path: %s", err));
        free(err);
        goto out;
    }
    con = find_object(st, path, plen, &key, &klen);
    if (!con) {
        jp_fail(st, xasprintf("move operation does not apply: doc is missing destination path: "
                              "%s: missing value",
                              path));
        goto out;
    }
    if (!jp_depth_ok(st, path, plen, val))
        goto out;
    if (con_add(con, key, klen, val, &err) < 0) {
        jp_fail(st, xasprintf("error in move for path: '%s': %s", path, err));
        free(err);
    }
out:
    json_decref(val);
    free(key);
}

static void jp_test(struct jp_state *st, const json_t *op)
{
    const char *path;
    size_t plen, klen;
    char *key = NULL, *err = NULL;
    json_t *want, *val;
    bool has_value = op_value(op, &want);
    if (op_path(op, "path", &path, &plen, &err) < 0) {
        jp_fail(st, xasprintf("test operation failed to decode path: %s", err));
        free(err);
        return;
    }
    if (plen == 0) {
        if (!has_value) {
            st->panic = true;
            jp_fail(st, xstrdup("test of the whole document without a value"));
            return;
        }
        if (!json_is_null(want) && jp_equal(st, st->root, want) && !st->panic)
            return;
        jp_fail(st, xstrdup("testing value  failed: test failed"));
        return;
    }
    json_t *con = find_object(st, path, plen, &key, &klen);
    if (!con) {
        jp_fail(st, xasprintf("test operation does not apply: is missing path: %s: missing value",
                              path));
        return;
    }
    if (con_get(con, key, klen, &val, &err) < 0) {
        jp_fail(st, xasprintf("error in test for path: '%s': %s", path, err));
        free(err);
        free(key);
        return;
    }
    free(key);
    if (!val) {
        if (!has_value) {
            st->panic = true; /* op.value().raw on a nil *lazyNode */
            jp_fail(st, xstrdup("test of a missing value without a value"));
            return;
        }
        if (json_is_null(want))
            return;
    } else if (has_value && !json_is_null(want) && jp_equal(st, val, want) && !st->panic) {
        return;
    }
    jp_fail(st, xasprintf("testing value %s failed: test failed", path));
}

static void jp_copy(struct jp_state *st, const json_t *op)
{
    const char *from, *path;
    size_t flen, plen, klen;
    char *key = NULL, *err = NULL;
    json_t *val = NULL, *dup = NULL;
    if (op_path(op, "from", &from, &flen, &err) < 0) {
        jp_fail(st, xasprintf("copy operation failed to decode from: %s", err));
        free(err);
        return;
    }
    json_t *con = find_object(st, from, flen, &key, &klen);
    if (!con) {
        jp_fail(st, xasprintf("copy operation does not apply: doc is missing from path: %s: "
                              "missing value",
                              from));
        return;
    }
    if (con_get(con, key, klen, &val, &err) < 0) {
        jp_fail(st, xasprintf("error in copy for from: '%s': %s", from, err));
        free(err);
        goto out;
    }
    free(key);
    key = NULL;
    if (op_path(op, "path", &path, &plen, &err) < 0) {
        free(err);
        jp_fail(st, xstrdup("copy operation failed to decode path: missing value"));
        goto out;
    }
    con = find_object(st, path, plen, &key, &klen);
    if (!con) {
        jp_fail(st, xasprintf("copy operation does not apply: doc is missing destination path: "
                              "%s: missing value",
                              path));
        goto out;
    }
    if (val) {
        /* The size upstream adds up is that of the copied value marshalled by encoding/json. */
        size_t limit = (size_t)(PATCH_MAX_COPY_BYTES - st->copied) + 1;
        size_t sz = gojson_marshal_size(val, limit);
        if (!pbudget_spend(&st->budget, sz / 8 + 1))
            goto out;
        st->copied += (long long)sz;
        if (st->copied > PATCH_MAX_COPY_BYTES) {
            jp_fail(st, xasprintf("Unable to complete the copy, the accumulated size increase of "
                                  "copy is %lld, exceeding the limit %ld",
                                  st->copied, PATCH_MAX_COPY_BYTES));
            goto out;
        }
        if (!jp_depth_ok(st, path, plen, val))
            goto out;
        dup = json_deep_copy(val);
        if (!dup)
            abort();
    }
    if (con_add(con, key, klen, dup, &err) < 0) {
        jp_fail(st, xasprintf("error while adding value during copy: %s", err));
        free(err);
    }
out:
    json_decref(dup);
    free(key);
}

/* Patch.Apply. 0 on success with st->root the result; -1 with st->error (or st->panic). */
static int jp_apply_ops(struct jp_state *st, const json_t *ops)
{
    size_t i;
    json_t *op;
    json_array_foreach (ops, i, op) {
        const char *kind = "unknown";
        const char *s;
        size_t n;
        if (!pbudget_spend(&st->budget, 1))
            return -1;
        if (json_is_object(op) && op_string(op, "op", &s, &n, NULL) == OPF_OK)
            kind = s;
        if (strcmp(kind, "add") == 0)
            jp_add(st, op);
        else if (strcmp(kind, "remove") == 0)
            jp_remove(st, op);
        else if (strcmp(kind, "replace") == 0)
            jp_replace(st, op);
        else if (strcmp(kind, "move") == 0)
            jp_move(st, op);
        else if (strcmp(kind, "test") == 0)
            jp_test(st, op);
        else if (strcmp(kind, "copy") == 0)
            jp_copy(st, op);
        else
            jp_fail(st, xasprintf("Unexpected kind: %s", kind));
        if (st->error || st->panic || st->budget.exhausted || st->too_deep)
            return -1;
    }
    return 0;
}

json_t *patch_json_apply(const json_t *current, const char *body, size_t len,
                         enum patch_validation validation, struct patch_strict *strict,
                         struct patch_error *err)
{
    struct gojson_result res = {0};
    struct jp_state st = {0};
    json_t *out = NULL;

    if (validation != PATCH_VALIDATION_IGNORE) {
        /* kjson.UnmarshalStrict into []jsonPatchOp; its findings get a "json patch " prefix. */
        struct patch_strict found;
        patch_strict_init(&found);
        int rc = gojson_decode(body, len, GOJSON_PATCH_OPS, &found, &res);
        if (rc == 0 && strict) {
            for (size_t i = 0; i < found.len; i++) {
                char *m = xasprintf("json patch %s", found.items[i]);
                pstrict_add(strict, m);
                free(m);
            }
        }
        patch_strict_release(&found);
        if (rc < 0) {
            char *m = xasprintf("error decoding patch: %s", res.error);
            perr_bad_request(err, m);
            free(m);
            goto out;
        }
        /* What decoded as []jsonPatchOp also decodes as jsonpatch.Patch: reuse the tree. */
    } else if (gojson_decode(body, len, GOJSON_EVANPHX, NULL, &res) < 0) {
        perr_bad_request(err, res.error);
        goto out;
    }
    size_t nops = json_is_array(res.value) ? json_array_size(res.value) : 0;
    if (nops > PATCH_MAX_JSON_PATCH_OPS) {
        char *m = xasprintf("The allowed maximum operations in a JSON patch is %d, got %zu",
                            PATCH_MAX_JSON_PATCH_OPS, nops);
        perr_too_large(err, m);
        free(m);
        goto out;
    }
    st.root = json_deep_copy(current);
    if (!st.root)
        abort();
    pbudget_init(&st.budget);
    if (nops && jp_apply_ops(&st, res.value) < 0) {
        if (st.panic)
            perr_panic(err, st.error ? st.error : "json patch");
        else if (st.budget.exhausted || st.too_deep)
            perr_too_complex(err);
        else
            perr_invalid(err, st.error);
        goto out;
    }
    if (pjson_depth(st.root, PATCH_MAX_DEPTH) > PATCH_MAX_DEPTH) {
        perr_too_complex(err);
        goto out;
    }
    out = st.root;
    st.root = NULL;
out:
    json_decref(st.root);
    free(st.error);
    gojson_result_release(&res);
    return out;
}
