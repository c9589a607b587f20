/*
 * json_write: jansson trees to compact JSON text exactly as Go's encoding/json writes it, which
 * is what kube-apiserver's JSON serializer (json.Encoder, HTML escaping on) sends:
 *  - strings: `"` and `\` escaped; \b \f \n \r \t as such (Go 1.22+); other bytes below 0x20 as
 *    \u00XX; `<`, `>` and `&` as \u003c \u003e \u0026; U+2028 and U+2029 as \u2028 \u2029;
 *    everything else, DEL and non-ASCII included, as is (jansson only holds valid UTF-8);
 *  - integers in decimal; reals as strconv.AppendFloat(f, 'f' or 'e', -1, 64) with Go's
 *    exponent clean-up (1e-07 becomes 1e-7);
 *  - object members in the tree's order (jansson keeps insertion order).
 * jansson's own json_dumps differs in the escapes and the reals, and costs several times more
 * per byte: every stored object and every answer goes through here.
 */
#include "svc/codec.h"

#include "svc/strbuf.h"
#include "svc/util.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A buffer we append to without per-call limit checks; moved into a strbuf at the end. */
struct out {
    char *buf;
    size_t len, alloc;
};

static void reserve(struct out *o, size_t more)
{
    if (o->len + more <= o->alloc)
        return;
    /* A stored Service is 1-2 KiB: starting there spares most growth steps. */
    size_t want = o->alloc ? o->alloc : 2048;
    while (want < o->len + more)
        want *= 2;
    o->buf = xrealloc(o->buf, want);
    o->alloc = want;
}

static void put(struct out *o, const char *s, size_t n)
{
    reserve(o, n);
    memcpy(o->buf + o->len, s, n);
    o->len += n;
}

static void put_ch(struct out *o, char c)
{
    reserve(o, 1);
    o->buf[o->len++] = c;
}

/* Bytes below 0x80 that Go writes as they are (htmlSafeSet). */
static const unsigned char plain_ascii[128] = {
    [' '] = 1, ['!'] = 1, ['#'] = 1,  ['$'] = 1, ['%'] = 1, ['\''] = 1, ['('] = 1, [')'] = 1,
    ['*'] = 1, ['+'] = 1, [','] = 1,  ['-'] = 1, ['.'] = 1, ['/'] = 1,  ['0'] = 1, ['1'] = 1,
    ['2'] = 1, ['3'] = 1, ['4'] = 1,  ['5'] = 1, ['6'] = 1, ['7'] = 1,  ['8'] = 1, ['9'] = 1,
    [':'] = 1, [';'] = 1, ['='] = 1,  ['?'] = 1, ['@'] = 1, ['A'] = 1,  ['B'] = 1, ['C'] = 1,
    ['D'] = 1, ['E'] = 1, ['F'] = 1,  ['G'] = 1, ['H'] = 1, ['I'] = 1,  ['J'] = 1, ['K'] = 1,
    ['L'] = 1, ['M'] = 1, ['N'] = 1,  ['O'] = 1, ['P'] = 1, ['Q'] = 1,  ['R'] = 1, ['S'] = 1,
    ['T'] = 1, ['U'] = 1, ['V'] = 1,  ['W'] = 1, ['X'] = 1, ['Y'] = 1,  ['Z'] = 1, ['['] = 1,
    [']'] = 1, ['^'] = 1, ['_'] = 1,  ['`'] = 1, ['a'] = 1, ['b'] = 1,  ['c'] = 1, ['d'] = 1,
    ['e'] = 1, ['f'] = 1, ['g'] = 1,  ['h'] = 1, ['i'] = 1, ['j'] = 1,  ['k'] = 1, ['l'] = 1,
    ['m'] = 1, ['n'] = 1, ['o'] = 1,  ['p'] = 1, ['q'] = 1, ['r'] = 1,  ['s'] = 1, ['t'] = 1,
    ['u'] = 1, ['v'] = 1, ['w'] = 1,  ['x'] = 1, ['y'] = 1, ['z'] = 1,  ['{'] = 1, ['|'] = 1,
    ['}'] = 1, ['~'] = 1, [0x7f] = 1,
};

static void put_string(struct out *o, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s, *end = p + n, *run = p;
    reserve(o, n + 2);
    o->buf[o->len++] = '"';
    while (p < end) {
        unsigned char c = *p;
        if (c < 0x80) {
            if (plain_ascii[c]) {
                p++;
                continue;
            }
        } else if (c == 0xe2 && end - p >= 3 && p[1] == 0x80 && (p[2] == 0xa8 || p[2] == 0xa9)) {
            /* U+2028 LINE SEPARATOR, U+2029 PARAGRAPH SEPARATOR */
            put(o, (const char *)run, (size_t)(p - run));
            put(o, p[2] == 0xa8 ? "\\u2028" : "\\u2029", 6);
            p += 3;
            run = p;
            continue;
        } else {
            p++;
            continue;
        }
        put(o, (const char *)run, (size_t)(p - run));
        char esc[6] = {'\\', 0};
        size_t len = 2;
        switch (c) {
        case '"':
            esc[1] = '"';
            break;
        case '\\':
            esc[1] = '\\';
            break;
        case '\b':
            esc[1] = 'b';
            break;
        case '\f':
            esc[1] = 'f';
            break;
        case '\n':
            esc[1] = 'n';
            break;
        case '\r':
            esc[1] = 'r';
            break;
        case '\t':
            esc[1] = 't';
            break;
        default: /* other control bytes, and < > & */
            memcpy(esc, "\\u00", 4);
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
            len = 6;
        }
        put(o, esc, len);
        p++;
        run = p;
    }
    put(o, (const char *)run, (size_t)(p - run));
    put_ch(o, '"');
}

/*
 * strconv.FormatFloat(f, 'f' or 'e', -1, 64): the shortest digits that read back as f. C has no
 * shortest mode, so try precisions upwards until the text round-trips.
 */
static void put_real(struct out *o, double f)
{
    char digits[40];
    if (!isfinite(f)) {
        /* Go refuses to encode these (UnsupportedValueError); a tree never should hold one. */
        put(o, "null", 4);
        return;
    }
    int prec;
    for (prec = 1; prec <= 17; prec++) {
        snprintf(digits, sizeof(digits), "%.*e", prec - 1, f);
        if (strtod(digits, NULL) == f)
            break;
    }
    double a = fabs(f);
    if (a != 0 && (a < 1e-6 || a >= 1e21)) {
        /* 'e' format; Go writes at least two exponent digits only when needed: e-07 -> e-7. */
        char *e = strchr(digits, 'e');
        char mant[32];
        snprintf(mant, sizeof(mant), "%.*s", (int)(e - digits), digits);
        int exp = atoi(e + 1);
        char text[48];
        int n = snprintf(text, sizeof(text), "%se%c%02d", mant, exp < 0 ? '-' : '+',
                         exp < 0 ? -exp : exp);
        /* Go: "clean up e-09 to e-9" for a two-digit negative exponent starting with 0. */
        if (n >= 4 && text[n - 4] == 'e' && text[n - 3] == '-' && text[n - 2] == '0') {
            text[n - 2] = text[n - 1];
            text[--n] = '\0';
        }
        put(o, text, (size_t)n);
        return;
    }
    /* 'f' format with exactly the significant digits found above. */
    int exp = atoi(strchr(digits, 'e') + 1);
    int decimals = prec - 1 - exp;
    char text[400];
    int n = snprintf(text, sizeof(text), "%.*f", decimals > 0 ? decimals : 0, f);
    put(o, text, (size_t)n);
}

static void put_value(struct out *o, const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        put_ch(o, '{');
        const char *key;
        json_t *member;
        bool first = true;
        json_object_foreach ((json_t *)v, key, member) {
            if (!first)
                put_ch(o, ',');
            first = false;
            put_string(o, key, strlen(key));
            put_ch(o, ':');
            put_value(o, member);
        }
        put_ch(o, '}');
        break;
    }
    case JSON_ARRAY: {
        put_ch(o, '[');
        size_t n = json_array_size(v);
        for (size_t i = 0; i < n; i++) {
            if (i)
                put_ch(o, ',');
            put_value(o, json_array_get(v, i));
        }
        put_ch(o, ']');
        break;
    }
    case JSON_STRING:
        put_string(o, json_string_value(v), json_string_length(v));
        break;
    case JSON_INTEGER: {
        char text[24];
        int n = snprintf(text, sizeof(text), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        put(o, text, (size_t)n);
        break;
    }
    case JSON_REAL:
        put_real(o, json_real_value(v));
        break;
    case JSON_TRUE:
        put(o, "true", 4);
        break;
    case JSON_FALSE:
        put(o, "false", 5);
        break;
    case JSON_NULL:
        put(o, "null", 4);
        break;
    }
}

char *codec_json_dumps(const json_t *v, size_t *len_out)
{
    struct out o = {0};
    put_value(&o, v);
    put_ch(&o, '\0');
    if (len_out)
        *len_out = o.len - 1;
    /* The store keeps these bytes for the object's life: give back the unused tail (shrinking
       is done in place). */
    return xrealloc(o.buf, o.len);
}

int codec_json_write(struct strbuf *sb, const json_t *v)
{
    size_t len;
    char *text = codec_json_dumps(v, &len);
    int rc = strbuf_add(sb, text, len);
    free(text);
    return rc;
}
