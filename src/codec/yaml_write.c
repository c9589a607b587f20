/*
 * yaml_write: a jansson tree to YAML text, printed as sigs.k8s.io/yaml.JSONToYAML prints it
 * (go-yaml v2's Marshal of the map go-yaml reads back from the JSON), which is what
 * kube-apiserver answers to Accept: application/yaml and what kubectl -o yaml shows.
 *
 * libyaml's emitter does the layout: go-yaml's emitter is a line-by-line port of it, and with
 * go-yaml's settings (block style, two-space indent, best width 80, unicode output) the two
 * print the same. This file chooses what go-yaml's encoder chooses: key order (go-yaml's
 * natural sort), scalar styles and number spelling. It must not depend on anything but
 * libyaml, jansson, strbuf and the scalar resolution shared with yaml_read.c.
 */
#include "svc/yaml.h"

#include "svc/strbuf.h"

#include <jansson.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

struct writer {
    yaml_emitter_t emitter;
    struct strbuf *out;
    int status;      /* 0, STRBUF_TOO_BIG or YAML_EMIT_INVALID */
    bool keep_chomp; /* a literal block kept with "|+" was written */
};

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        abort();
    return p;
}

static int write_handler(void *data, unsigned char *buffer, size_t size)
{
    struct writer *w = data;

    if (strbuf_add(w->out, buffer, size) < 0) {
        w->status = STRBUF_TOO_BIG;
        return 0;
    }
    return 1;
}

/* Emit an event; libyaml fails only when our output handler refuses more bytes. */
static int emit(struct writer *w, yaml_event_t *ev)
{
    if (w->status) {
        yaml_event_delete(ev);
        return -1;
    }
    if (!yaml_emitter_emit(&w->emitter, ev)) {
        if (!w->status)
            w->status = YAML_EMIT_INVALID;
        return -1;
    }
    return 0;
}

static int emit_scalar(struct writer *w, const char *s, size_t len, yaml_scalar_style_t style)
{
    yaml_event_t ev;

    /* libyaml takes an int length and refuses invalid UTF-8 (jansson strings are valid) */
    if (len > INT_MAX ||
        !yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)s, (int)len, 1, 1, style)) {
        w->status = YAML_EMIT_INVALID;
        return -1;
    }
    return emit(w, &ev);
}

/* ---- strings ----------------------------------------------------------------------------- */

/* go-yaml's isBase60Float: ^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$ */
static bool is_base60_float(const char *s, size_t n)
{
    size_t i = 0;
    bool groups = false;

    if (i < n && (s[i] == '+' || s[i] == '-'))
        i++;
    if (i >= n || s[i] < '0' || s[i] > '9')
        return false;
    for (i++; i < n && ((s[i] >= '0' && s[i] <= '9') || s[i] == '_'); i++)
        ;
    while (i < n && s[i] == ':') {
        i++;
        if (i + 1 < n && s[i] >= '0' && s[i] <= '5' && s[i + 1] >= '0' && s[i + 1] <= '9')
            i += 2;
        else if (i < n && s[i] >= '0' && s[i] <= '9')
            i += 1;
        else
            return false;
        groups = true;
    }
    if (!groups)
        return false;
    if (i < n && s[i] == '.')
        for (i++; i < n && ((s[i] >= '0' && s[i] <= '9') || s[i] == '_'); i++)
            ;
    return i == n;
}

static bool is_break_at(const char *s, size_t n, size_t i)
{
    unsigned char c = (unsigned char)s[i];
    if (c == '\n' || c == '\r')
        return true;
    if (c == 0xC2 && i + 1 < n && (unsigned char)s[i + 1] == 0x85)
        return true;
    return c == 0xE2 && i + 2 < n && (unsigned char)s[i + 1] == 0x80 &&
           ((unsigned char)s[i + 2] == 0xA8 || (unsigned char)s[i + 2] == 0xA9);
}

/* The start of the UTF-8 character before position i (i > 0). */
static size_t prev_char(const char *s, size_t i)
{
    do
        i--;
    while (i > 0 && ((unsigned char)s[i] & 0xC0) == 0x80);
    return i;
}

/* go-yaml's block scalar hints choose "|+" when the text ends in two breaks, or is one. */
static bool literal_keeps(const char *s, size_t n)
{
    size_t i;
    if (n == 0)
        return false;
    i = prev_char(s, n);
    if (!is_break_at(s, n, i))
        return false;
    if (i == 0)
        return true;
    return is_break_at(s, n, prev_char(s, i));
}

/*
 * kube-apiserver writes the object as JSON and has go-yaml read that text back before printing
 * it, and the reading changes some strings. Go's JSON leaves U+0085 (NEL) raw, and in a YAML
 * double-quoted scalar a raw NEL is a line break, folded with the spaces around it: one break
 * becomes a space, n breaks become n-1 newlines. Returns true when s has a NEL (folded into
 * out). *bad is set when s holds a character go-yaml's reader refuses outright (U+007F, C1
 * controls other than NEL, U+FFFE, U+FFFF; Go's JSON escapes the C0 ones): upstream then
 * fails with "yaml: control characters are not allowed".
 */
static bool reread_as_upstream(const char *s, size_t n, struct strbuf *out, bool *bad)
{
    bool nel = false;

    *bad = false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i], d = i + 1 < n ? (unsigned char)s[i + 1] : 0;
        if (c == 0x7F || (c == 0xC2 && d >= 0x80 && d <= 0x9F && d != 0x85) ||
            (c == 0xEF && d == 0xBF && i + 2 < n && (unsigned char)s[i + 2] >= 0xBE)) {
            *bad = true;
            return false;
        }
        if (c == 0xC2 && d == 0x85)
            nel = true;
    }
    if (!nel)
        return false;
    for (size_t i = 0; i < n;) {
        size_t j = i, breaks = 0;
        /* a run of spaces and NELs */
        while (j < n && (s[j] == ' ' || ((unsigned char)s[j] == 0xC2 && j + 1 < n &&
                                         (unsigned char)s[j + 1] == 0x85))) {
            if (s[j] == ' ') {
                j++;
            } else {
                breaks++;
                j += 2;
            }
        }
        if (j == i) {
            strbuf_addch(out, s[i++]);
        } else if (breaks == 0) {
            strbuf_add(out, s + i, j - i);
            i = j;
        } else {
            if (breaks == 1)
                strbuf_addch(out, ' ');
            for (size_t k = 1; k < breaks; k++)
                strbuf_addch(out, '\n');
            i = j;
        }
    }
    return true;
}

/* go-yaml's encoder.stringv(): plain when it reads back as the same string, a literal block
 * when it has a newline, double quotes otherwise (the emitter may still pick another style). */
static int emit_string(struct writer *w, const char *s, size_t n)
{
    yaml_scalar_style_t style;
    struct strbuf folded;
    bool bad;
    int result;

    strbuf_init(&folded, STRBUF_NO_LIMIT);
    if (reread_as_upstream(s, n, &folded, &bad)) {
        s = strbuf_str(&folded);
        n = folded.len;
    }
    if (bad) {
        strbuf_release(&folded);
        w->status = YAML_EMIT_INVALID;
        return -1;
    }
    if (memchr(s, '\n', n)) {
        style = YAML_LITERAL_SCALAR_STYLE;
    } else if (yaml_resolve_plain(s, n, NULL) == YAML_PLAIN_STR && !is_base60_float(s, n)) {
        style = YAML_PLAIN_SCALAR_STYLE;
    } else {
        style = YAML_DOUBLE_QUOTED_SCALAR_STYLE;
    }
    if (style == YAML_LITERAL_SCALAR_STYLE && literal_keeps(s, n))
        w->keep_chomp = true;
    result = emit_scalar(w, s, n, style);
    strbuf_release(&folded);
    return result;
}

/* ---- numbers ----------------------------------------------------------------------------- */

/*
 * A real as upstream prints it: Go writes the float64 as JSON text, go-yaml reads that text
 * back (an integral value below 1e21 has no '.', so it comes back an int) and prints what it
 * got, floats with strconv's 'g' format.
 */
static int emit_real(struct writer *w, double v)
{
    char text[40], out[40];
    struct yaml_plain_value pv;

    yaml_format_go_float(v, 'j', 64, text);
    switch (yaml_resolve_plain(text, strlen(text), &pv)) {
    case YAML_PLAIN_INT:
        snprintf(out, sizeof(out), "%lld", pv.i);
        break;
    case YAML_PLAIN_UINT:
        snprintf(out, sizeof(out), "%llu", pv.u);
        break;
    case YAML_PLAIN_FLOAT:
        yaml_format_go_float(pv.f, 'g', 64, out);
        break;
    default:
        snprintf(out, sizeof(out), "%s", text); /* not reached: JSON numbers resolve */
        break;
    }
    return emit_scalar(w, out, strlen(out), YAML_PLAIN_SCALAR_STYLE);
}

/* ---- key order (go-yaml v2's keyList.Less for string keys) ------------------------------- */

struct sort_key {
    const char *key;
    size_t len;
    uint32_t *runes; /* owned */
    size_t nrunes;
    json_t *value; /* borrowed */
};

/* Decode UTF-8 into runes; an invalid byte becomes U+FFFD, as Go's []rune conversion does. */
static size_t to_runes(const char *s, size_t n, uint32_t *out)
{
    size_t count = 0;

    for (size_t i = 0; i < n;) {
        unsigned c = (unsigned char)s[i];
        size_t len = c < 0x80             ? 1
                     : (c & 0xE0) == 0xC0 ? 2
                     : (c & 0xF0) == 0xE0 ? 3
                     : (c & 0xF8) == 0xF0 ? 4
                                          : 0;
        uint32_t cp = len == 1 ? c : len == 2 ? (c & 0x1F) : len == 3 ? (c & 0x0F) : (c & 0x07);
        bool ok = len > 0 && i + len <= n;
        for (size_t k = 1; ok && k < len; k++) {
            if (((unsigned char)s[i + k] & 0xC0) != 0x80)
                ok = false;
            else
                cp = cp << 6 | ((unsigned char)s[i + k] & 0x3F);
        }
        if (!ok) {
            cp = 0xFFFD;
            len = 1;
        }
        out[count++] = cp;
        i += len;
    }
    return count;
}

/*
 * Go's unicode.IsLetter, for the scripts keys are written in: ASCII, Latin, Greek, Cyrillic,
 * Hebrew, Arabic, kana, CJK and Hangul. Other non-ASCII runes sort as non-letters.
 */
static bool rune_is_letter(uint32_t r)
{
    if ((r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z'))
        return true;
    if (r < 0x80)
        return false;
    return r == 0xAA || r == 0xB5 || r == 0xBA ||
           (r >= 0xC0 && r <= 0x24F && r != 0xD7 && r != 0xF7) ||
           (r >= 0x370 && r <= 0x3FF && r != 0x37E && r != 0x387) || (r >= 0x400 && r <= 0x481) ||
           (r >= 0x48A && r <= 0x52F) || (r >= 0x5D0 && r <= 0x5EA) || (r >= 0x620 && r <= 0x64A) ||
           (r >= 0x3041 && r <= 0x3096) || (r >= 0x30A1 && r <= 0x30FA) ||
           (r >= 0x4E00 && r <= 0x9FFF) || (r >= 0xAC00 && r <= 0xD7A3);
}

static bool rune_is_digit(uint32_t r)
{
    return r >= '0' && r <= '9';
}

/* go-yaml's natural order: letters by code point, digit runs by value, others before letters. */
static bool key_less(const struct sort_key *a, const struct sort_key *b)
{
    const uint32_t *ar = a->runes, *br = b->runes;
    size_t na = a->nrunes, nb = b->nrunes;

    for (size_t i = 0; i < na && i < nb; i++) {
        if (ar[i] == br[i])
            continue;
        bool al = rune_is_letter(ar[i]), bl = rune_is_letter(br[i]);
        if (al && bl)
            return ar[i] < br[i];
        if (al || bl)
            return bl;
        /* int64 arithmetic that wraps as Go's does */
        uint64_t an = 0, bn = 0;
        size_t ai, bi;
        if (ar[i] == '0' || br[i] == '0') {
            for (size_t j = i; j-- > 0 && rune_is_digit(ar[j]);) {
                if (ar[j] != '0') {
                    an = 1;
                    bn = 1;
                    break;
                }
            }
        }
        for (ai = i; ai < na && rune_is_digit(ar[ai]); ai++)
            an = an * 10 + (ar[ai] - '0');
        for (bi = i; bi < nb && rune_is_digit(br[bi]); bi++)
            bn = bn * 10 + (br[bi] - '0');
        if (an != bn)
            return (int64_t)an < (int64_t)bn;
        if (ai != bi)
            return ai < bi;
        return ar[i] < br[i];
    }
    return na < nb;
}

/*
 * go-yaml sorts with Go's sort.Sort. Its order is not transitive for some keys (v1, v10 and
 * v1alpha1: each pair compares one way, the three go round in a circle), so upstream prints
 * such maps in an order that depends on Go's random map iteration. We run Go's sort itself
 * (pattern-defeating quicksort, Go 1.19 on) over the keys in document order: the same
 * comparisons upstream makes, one order every time, and upstream's order for any key set the
 * comparison sorts consistently.
 */
struct key_list {
    struct sort_key *k;
};

static bool kl_less(const struct key_list *l, size_t i, size_t j)
{
    return key_less(&l->k[i], &l->k[j]);
}

static void kl_swap(struct key_list *l, size_t i, size_t j)
{
    struct sort_key t = l->k[i];
    l->k[i] = l->k[j];
    l->k[j] = t;
}

static void insertion_sort(struct key_list *l, size_t a, size_t b)
{
    for (size_t i = a + 1; i < b; i++)
        for (size_t j = i; j > a && kl_less(l, j, j - 1); j--)
            kl_swap(l, j, j - 1);
}

static void sift_down(struct key_list *l, size_t lo, size_t hi, size_t first)
{
    size_t root = lo;
    for (;;) {
        size_t child = 2 * root + 1;
        if (child >= hi)
            return;
        if (child + 1 < hi && kl_less(l, first + child, first + child + 1))
            child++;
        if (!kl_less(l, first + root, first + child))
            return;
        kl_swap(l, first + root, first + child);
        root = child;
    }
}

static void heap_sort(struct key_list *l, size_t a, size_t b)
{
    size_t first = a, hi = b - a;
    for (size_t i = (hi - 1) / 2 + 1; i-- > 0;)
        sift_down(l, i, hi, first);
    for (size_t i = hi; i-- > 0;) {
        kl_swap(l, first, first + i);
        sift_down(l, 0, i, first);
    }
}

static unsigned bits_len(size_t x)
{
    unsigned n = 0;
    while (x) {
        n++;
        x >>= 1;
    }
    return n;
}

static void break_patterns(struct key_list *l, size_t a, size_t b)
{
    size_t length = b - a;
    if (length >= 8) {
        uint64_t random = length;
        size_t modulus = (size_t)1 << bits_len(length);
        for (size_t idx = a + (length / 4) * 2 - 1; idx <= a + (length / 4) * 2 + 1; idx++) {
            random ^= random << 13;
            random ^= random >> 7;
            random ^= random << 17;
            size_t other = (size_t)random & (modulus - 1);
            if (other >= length)
                other -= length;
            kl_swap(l, idx, a + other);
        }
    }
}

static void order2(struct key_list *l, size_t *a, size_t *b, int *swaps)
{
    if (kl_less(l, *b, *a)) {
        size_t t = *a;
        *a = *b;
        *b = t;
        (*swaps)++;
    }
}

static size_t median3(struct key_list *l, size_t a, size_t b, size_t c, int *swaps)
{
    order2(l, &a, &b, swaps);
    order2(l, &b, &c, swaps);
    order2(l, &a, &b, swaps);
    return b;
}

enum sorted_hint { HINT_UNKNOWN, HINT_INCREASING, HINT_DECREASING };

static size_t choose_pivot(struct key_list *l, size_t a, size_t b, enum sorted_hint *hint)
{
    size_t n = b - a;
    int swaps = 0;
    size_t i = a + n / 4 * 1, j = a + n / 4 * 2, k = a + n / 4 * 3;

    if (n >= 8) {
        if (n >= 50) {
            i = median3(l, i - 1, i, i + 1, &swaps);
            j = median3(l, j - 1, j, j + 1, &swaps);
            k = median3(l, k - 1, k, k + 1, &swaps);
        }
        j = median3(l, i, j, k, &swaps);
    }
    *hint = swaps == 0 ? HINT_INCREASING : swaps == 12 ? HINT_DECREASING : HINT_UNKNOWN;
    return j;
}

static void reverse_range(struct key_list *l, size_t a, size_t b)
{
    for (size_t i = a, j = b - 1; i < j; i++, j--)
        kl_swap(l, i, j);
}

static bool partial_insertion_sort(struct key_list *l, size_t a, size_t b)
{
    size_t i = a + 1;
    for (int step = 0; step < 5; step++) {
        while (i < b && !kl_less(l, i, i - 1))
            i++;
        if (i == b)
            return true;
        if (b - a < 50)
            return false;
        kl_swap(l, i, i - 1);
        if (i - a >= 2) {
            for (size_t j = i - 1; j >= 1; j--) {
                if (!kl_less(l, j, j - 1))
                    break;
                kl_swap(l, j, j - 1);
            }
        }
        if (b - i >= 2) {
            for (size_t j = i + 1; j < b; j++) {
                if (!kl_less(l, j, j - 1))
                    break;
                kl_swap(l, j, j - 1);
            }
        }
    }
    return false;
}

/* Indices are signed here because Go's loop runs j below a. */
static size_t partition_equal(struct key_list *l, size_t a, size_t b, size_t pivot)
{
    long i = (long)a + 1, j = (long)b - 1;
    kl_swap(l, a, pivot);
    for (;;) {
        while (i <= j && !kl_less(l, a, (size_t)i))
            i++;
        while (i <= j && kl_less(l, a, (size_t)j))
            j--;
        if (i > j)
            break;
        kl_swap(l, (size_t)i, (size_t)j);
        i++;
        j--;
    }
    return (size_t)i;
}

static size_t partition(struct key_list *l, size_t a, size_t b, size_t pivot, bool *already)
{
    long i = (long)a + 1, j = (long)b - 1;
    kl_swap(l, a, pivot);
    while (i <= j && kl_less(l, (size_t)i, a))
        i++;
    while (i <= j && !kl_less(l, (size_t)j, a))
        j--;
    if (i > j) {
        kl_swap(l, (size_t)j, a);
        *already = true;
        return (size_t)j;
    }
    kl_swap(l, (size_t)i, (size_t)j);
    i++;
    j--;
    for (;;) {
        while (i <= j && kl_less(l, (size_t)i, a))
            i++;
        while (i <= j && !kl_less(l, (size_t)j, a))
            j--;
        if (i > j)
            break;
        kl_swap(l, (size_t)i, (size_t)j);
        i++;
        j--;
    }
    kl_swap(l, (size_t)j, a);
    *already = false;
    return (size_t)j;
}

static void pdqsort(struct key_list *l, size_t a, size_t b, unsigned limit)
{
    bool was_balanced = true, was_partitioned = true;

    for (;;) {
        size_t length = b - a;
        enum sorted_hint hint;
        size_t pivot, mid;

        if (length <= 12) {
            insertion_sort(l, a, b);
            return;
        }
        if (limit == 0) {
            heap_sort(l, a, b);
            return;
        }
        if (!was_balanced) {
            break_patterns(l, a, b);
            limit--;
        }
        pivot = choose_pivot(l, a, b, &hint);
        if (hint == HINT_DECREASING) {
            reverse_range(l, a, b);
            pivot = (b - 1) - (pivot - a);
            hint = HINT_INCREASING;
        }
        if (was_balanced && was_partitioned && hint == HINT_INCREASING &&
            partial_insertion_sort(l, a, b))
            return;
        if (a > 0 && !kl_less(l, a - 1, pivot)) {
            a = partition_equal(l, a, b, pivot);
            continue;
        }
        mid = partition(l, a, b, pivot, &was_partitioned);
        size_t left = mid - a, right = b - mid, threshold = length / 8;
        if (left < right) {
            was_balanced = left >= threshold;
            pdqsort(l, a, mid, limit);
            a = mid + 1;
        } else {
            was_balanced = right >= threshold;
            pdqsort(l, mid + 1, b, limit);
            b = mid;
        }
    }
}

static void sort_keys(struct sort_key *keys, size_t n)
{
    struct key_list l = {keys};
    if (n > 1)
        pdqsort(&l, 0, n, bits_len(n));
}

/* ---- the tree ---------------------------------------------------------------------------- */

static int emit_value(struct writer *w, const json_t *v, int depth);

static int emit_object(struct writer *w, const json_t *v, int depth)
{
    yaml_event_t ev;
    size_t n = json_object_size(v), i = 0;
    struct sort_key *keys = xmalloc(n * sizeof(*keys));
    int result = 0;

    for (void *it = json_object_iter((json_t *)v); it;
         it = json_object_iter_next((json_t *)v, it)) {
        struct sort_key *k = &keys[i++];
        k->key = json_object_iter_key(it);
        k->len = json_object_iter_key_len(it);
        k->value = json_object_iter_value(it);
        k->runes = xmalloc((k->len + 1) * sizeof(*k->runes));
        k->nrunes = to_runes(k->key, k->len, k->runes);
    }
    sort_keys(keys, n);

    if (!yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_MAPPING_STYLE))
        abort();
    result = emit(w, &ev);
    for (i = 0; i < n && result == 0; i++) {
        result = emit_string(w, keys[i].key, keys[i].len);
        if (result == 0)
            result = emit_value(w, keys[i].value, depth + 1);
    }
    if (result == 0) {
        if (!yaml_mapping_end_event_initialize(&ev))
            abort();
        result = emit(w, &ev);
    }
    for (i = 0; i < n; i++)
        free(keys[i].runes);
    free(keys);
    return result;
}

static int emit_array(struct writer *w, const json_t *v, int depth)
{
    yaml_event_t ev;
    size_t i;
    json_t *e;

    if (!yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_SEQUENCE_STYLE))
        abort();
    if (emit(w, &ev) < 0)
        return -1;
    json_array_foreach (v, i, e) {
        if (emit_value(w, e, depth + 1) < 0)
            return -1;
    }
    if (!yaml_sequence_end_event_initialize(&ev))
        abort();
    return emit(w, &ev);
}

static int emit_value(struct writer *w, const json_t *v, int depth)
{
    char num[32];

    /* depth counts the collections around v; go-yaml refuses the 10001st when it reads the
     * JSON back */
    if ((json_is_object(v) || json_is_array(v)) && depth >= YAML_DEPTH_CAP) {
        w->status = YAML_EMIT_INVALID;
        return -1;
    }
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return emit_object(w, v, depth);
    case JSON_ARRAY:
        return emit_array(w, v, depth);
    case JSON_STRING:
        return emit_string(w, json_string_value(v), json_string_length(v));
    case JSON_INTEGER:
        snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(v));
        return emit_scalar(w, num, strlen(num), YAML_PLAIN_SCALAR_STYLE);
    case JSON_REAL:
        return emit_real(w, json_real_value(v));
    case JSON_TRUE:
    case JSON_FALSE:
    case JSON_NULL:
        return emit_scalar(w,
                           json_is_true(v)    ? "true"
                           : json_is_false(v) ? "false"
                                              : "null",
                           json_is_null(v)   ? 4
                           : json_is_true(v) ? 4
                                             : 5,
                           YAML_PLAIN_SCALAR_STYLE);
    }
    return -1;
}

int yaml_emit(const json_t *v, struct strbuf *out)
{
    struct writer w;
    yaml_event_t ev;
    size_t start = out->len;

    memset(&w, 0, sizeof(w));
    w.out = out;
    if (!yaml_emitter_initialize(&w.emitter))
        abort();
    yaml_emitter_set_output(&w.emitter, write_handler, &w);
    yaml_emitter_set_unicode(&w.emitter, 1);
    yaml_emitter_set_indent(&w.emitter, 2);
    yaml_emitter_set_width(&w.emitter, 80);

    if (!yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING))
        abort();
    if (emit(&w, &ev) < 0)
        goto out;
    if (!yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1))
        abort();
    if (emit(&w, &ev) < 0)
        goto out;
    if (v ? emit_value(&w, v, 0) < 0 : emit_scalar(&w, "null", 4, YAML_PLAIN_SCALAR_STYLE) < 0)
        goto out;
    if (!yaml_document_end_event_initialize(&ev, 1))
        abort();
    if (emit(&w, &ev) < 0)
        goto out;
    if (!yaml_stream_end_event_initialize(&ev))
        abort();
    if (emit(&w, &ev) < 0)
        goto out;
    if (!yaml_emitter_flush(&w.emitter) && !w.status)
        w.status = YAML_EMIT_INVALID;
    /*
     * libyaml 0.2.5 ends a stream that holds a "|+" block with "...", which go-yaml never
     * prints (its encoder clears open_ended before the stream end). Content cannot end in a
     * "..." line at column 0: such a scalar is quoted, block lines are indented.
     */
    if (!w.status && w.keep_chomp && out->len - start >= 4 &&
        memcmp(out->buf + out->len - 4, "...\n", 4) == 0) {
        out->len -= 4;
        out->buf[out->len] = '\0';
    }
out:
    yaml_emitter_delete(&w.emitter);
    if (w.status) {
        /* leave out as it was */
        out->len = start;
        if (out->buf)
            out->buf[start] = '\0';
    }
    return w.status;
}
