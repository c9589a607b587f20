/*
 * jsonfast: a recursive-descent reader for the compact JSON that json_dumps writes, building the
 * same jansson tree json_loadb would (see jsonfast.h). jansson's own reader goes through a
 * character stream and a growing buffer per token; replaying 100,000 Services spent most of its
 * start-up there. This one reads strings in place and builds values with the same jansson calls
 * as json_loadb, so key order and duplicate keys behave alike. It gives up (and json_loadb
 * decides) on whatever it does not handle exactly as jansson: bytes above 0x7f (jansson checks
 * UTF-8), \u escapes, reals (jansson converts them its own locale-proof way), integers beyond
 * 64 bits and nesting deeper than jansson allows. Depends on jansson only.
 */
#include "jsonfast.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct reader {
    const char *p, *end;
    int depth;
    char *scratch; /* decoded strings with escapes; grown as needed */
    size_t scratch_cap;
};

static json_t *read_value(struct reader *r);

static void skip_ws(struct reader *r)
{
    while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r'))
        r->p++;
}

/*
 * The string whose opening quote was just passed: *out points into the input when it has no
 * escapes, else into the scratch buffer (valid until the next string). 0, or -1 to give up.
 */
static int read_string(struct reader *r, const char **out, size_t *len)
{
    const char *start = r->p, *q = start;
    while (q < r->end) {
        unsigned char c = (unsigned char)*q;
        if (c == '"') {
            *out = start;
            *len = (size_t)(q - start);
            r->p = q + 1;
            return 0;
        }
        if (c == '\\' || c < 0x20 || c >= 0x80)
            break;
        q++;
    }
    if (q >= r->end || *q != '\\')
        return -1;
    size_t need = (size_t)(r->end - start);
    if (need > r->scratch_cap) {
        char *s = realloc(r->scratch, need);
        if (!s)
            abort();
        r->scratch = s;
        r->scratch_cap = need;
    }
    size_t n = (size_t)(q - start);
    memcpy(r->scratch, start, n);
    while (q < r->end) {
        unsigned char c = (unsigned char)*q;
        if (c == '"') {
            *out = r->scratch;
            *len = n;
            r->p = q + 1;
            return 0;
        }
        if (c < 0x20 || c >= 0x80)
            return -1;
        if (c != '\\') {
            r->scratch[n++] = (char)c;
            q++;
            continue;
        }
        if (++q >= r->end)
            return -1;
        switch (*q) {
        case '"':
        case '\\':
        case '/':
            r->scratch[n++] = *q;
            break;
        case 'b':
            r->scratch[n++] = '\b';
            break;
        case 'f':
            r->scratch[n++] = '\f';
            break;
        case 'n':
            r->scratch[n++] = '\n';
            break;
        case 'r':
            r->scratch[n++] = '\r';
            break;
        case 't':
            r->scratch[n++] = '\t';
            break;
        default:
            return -1; /* \u (and anything invalid) */
        }
        q++;
    }
    return -1;
}

static json_t *read_number(struct reader *r)
{
    const char *q = r->p;
    bool neg = false;
    if (q < r->end && *q == '-') {
        neg = true;
        q++;
    }
    if (q >= r->end || *q < '0' || *q > '9')
        return NULL;
    if (*q == '0' && q + 1 < r->end && q[1] >= '0' && q[1] <= '9')
        return NULL; /* a leading zero: invalid */
    uint64_t v = 0;
    int digits = 0;
    while (q < r->end && *q >= '0' && *q <= '9') {
        if (++digits > 18)
            return NULL; /* possibly beyond 64 bits: let jansson judge */
        v = v * 10 + (uint64_t)(*q - '0');
        q++;
    }
    if (q < r->end && (*q == '.' || *q == 'e' || *q == 'E'))
        return NULL; /* a real */
    r->p = q;
    return json_integer(neg ? -(json_int_t)v : (json_int_t)v);
}

static json_t *read_object(struct reader *r)
{
    json_t *obj = json_object();
    r->p++; /* '{' */
    skip_ws(r);
    if (r->p < r->end && *r->p == '}') {
        r->p++;
        return obj;
    }
    for (;;) {
        const char *key;
        size_t key_len;
        char *key_copy = NULL; /* an escaped key (managedFields' "k:{\"port\":80}"), owned */
        if (r->p >= r->end || *r->p != '"')
            goto fail;
        r->p++;
        if (read_string(r, &key, &key_len))
            goto fail;
        if (key == r->scratch) {
            /* the value's strings reuse the scratch buffer */
            if (!(key_copy = malloc(key_len ? key_len : 1)))
                abort();
            memcpy(key_copy, key, key_len);
            key = key_copy;
        }
        skip_ws(r);
        if (r->p >= r->end || *r->p != ':') {
            free(key_copy);
            goto fail;
        }
        r->p++;
        json_t *v = read_value(r);
        /* The key points into the input (which the value cannot have changed) or is a copy. */
        int failed = !v || json_object_setn_new_nocheck(obj, key, key_len, v);
        free(key_copy);
        if (failed)
            goto fail;
        skip_ws(r);
        if (r->p < r->end && *r->p == ',') {
            r->p++;
            skip_ws(r);
            continue;
        }
        if (r->p < r->end && *r->p == '}') {
            r->p++;
            return obj;
        }
        goto fail;
    }
fail:
    json_decref(obj);
    return NULL;
}

static json_t *read_array(struct reader *r)
{
    json_t *arr = json_array();
    r->p++; /* '[' */
    skip_ws(r);
    if (r->p < r->end && *r->p == ']') {
        r->p++;
        return arr;
    }
    for (;;) {
        json_t *v = read_value(r);
        if (!v || json_array_append_new(arr, v))
            goto fail;
        skip_ws(r);
        if (r->p < r->end && *r->p == ',') {
            r->p++;
            continue;
        }
        if (r->p < r->end && *r->p == ']') {
            r->p++;
            return arr;
        }
        goto fail;
    }
fail:
    json_decref(arr);
    return NULL;
}

static json_t *read_literal(struct reader *r, const char *word, json_t *value)
{
    size_t n = strlen(word);
    if ((size_t)(r->end - r->p) < n || memcmp(r->p, word, n))
        return NULL;
    r->p += n;
    return value;
}

static json_t *read_value(struct reader *r)
{
    skip_ws(r);
    if (r->p >= r->end)
        return NULL;
    switch (*r->p) {
    case '{':
    case '[': {
        /* jansson refuses deeper nesting; give up here and let it say so. */
        if (++r->depth > JSON_PARSER_MAX_DEPTH)
            return NULL;
        json_t *v = *r->p == '{' ? read_object(r) : read_array(r);
        r->depth--;
        return v;
    }
    case '"': {
        const char *s;
        size_t len;
        r->p++;
        if (read_string(r, &s, &len))
            return NULL;
        return json_stringn_nocheck(s, len);
    }
    case 't':
        return read_literal(r, "true", json_true());
    case 'f':
        return read_literal(r, "false", json_false());
    case 'n':
        return read_literal(r, "null", json_null());
    default:
        return read_number(r);
    }
}

json_t *jsonfast_read(const char *buf, size_t len)
{
    struct reader r = {.p = buf, .end = buf + len};
    skip_ws(&r);
    json_t *v = NULL;
    /* Like json_loadb without JSON_DECODE_ANY: only an object or an array at the top. */
    if (r.p < r.end && (*r.p == '{' || *r.p == '['))
        v = read_value(&r);
    skip_ws(&r);
    if (v && r.p != r.end) {
        json_decref(v);
        v = NULL;
    }
    free(r.scratch);
    return v;
}

json_t *jsonfast_parse(const char *buf, size_t len)
{
    json_t *v = jsonfast_read(buf, len);
    if (v)
        return v;
    json_error_t err;
    return json_loadb(buf, len, JSON_ALLOW_NUL, &err);
}
