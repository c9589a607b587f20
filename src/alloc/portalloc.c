/*
 * portalloc: the NodePort allocator and the --service-node-port-range parser (contract in
 * svc/portalloc.h). Bit k of the bitmap stands for port base + k. The flag parser reproduces
 * apimachinery's net.PortRange.Set, including the error texts of Go's strconv.Atoi, because
 * those are what an operator sees. Depends on the private alloc/bitmap.h, libc and pthreads.
 */
#include "svc/portalloc.h"
#include "svc/util.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bitmap.h"

#define PORT_MAX           65535
#define DEFAULT_RANGE_BASE 30000 /* kubeoptions.DefaultServiceNodePortRange: 30000-32767 */
#define DEFAULT_RANGE_SIZE 2768

struct portalloc {
    pthread_mutex_t lock; /* guards bm */
    struct portalloc_range range;
    struct alloc_bitmap bm;
};

/* ---- Go strconv emulation (for the flag's error texts) --------------------------------------- */

/* Bytes of one UTF-8 sequence at s (n bytes available) and its code point; 0 when invalid. */
static size_t utf8_decode(const unsigned char *s, size_t n, unsigned *cp)
{
    static const unsigned min_cp[5] = {0, 0, 0x80, 0x800, 0x10000};
    size_t len = s[0] >= 0xF0 && s[0] <= 0xF4 ? 4 : s[0] >= 0xE0 ? 3 : s[0] >= 0xC2 ? 2 : 0;
    if (len == 0 || len > n)
        return 0;
    unsigned v = s[0] & (0x7F >> len);
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        v = v << 6 | (s[i] & 0x3F);
    }
    if (v < min_cp[len] || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
        return 0;
    *cp = v;
    return len;
}

/*
 * strconv.Quote of s[0..n). Exact for ASCII and invalid bytes; for other characters Go consults
 * its Unicode tables, which we approximate: C1 controls are escaped, the rest kept as is.
 */
static char *go_quote(const char *s, size_t n)
{
    char *out = malloc(n * 10 + 3); /* "\U0010ffff" is the longest escape of one input byte */
    if (!out)
        abort();
    size_t o = 0;
    out[o++] = '"';
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x80) {
            unsigned cp;
            size_t len = utf8_decode((const unsigned char *)s + i, n - i, &cp);
            if (len == 0) {
                o += (size_t)sprintf(out + o, "\\x%02x", c);
                i++;
            } else if (cp < 0xA0 || cp == 0xAD) {
                o += (size_t)sprintf(out + o, "\\u%04x", cp);
                i += len;
            } else {
                memcpy(out + o, s + i, len);
                o += len;
                i += len;
            }
            continue;
        }
        i++;
        switch (c) {
        case '"':
        case '\\':
            out[o++] = '\\';
            out[o++] = (char)c;
            continue;
        case '\a':
            o += (size_t)sprintf(out + o, "\\a");
            continue;
        case '\b':
            o += (size_t)sprintf(out + o, "\\b");
            continue;
        case '\f':
            o += (size_t)sprintf(out + o, "\\f");
            continue;
        case '\n':
            o += (size_t)sprintf(out + o, "\\n");
            continue;
        case '\r':
            o += (size_t)sprintf(out + o, "\\r");
            continue;
        case '\t':
            o += (size_t)sprintf(out + o, "\\t");
            continue;
        case '\v':
            o += (size_t)sprintf(out + o, "\\v");
            continue;
        default:
            if (c < 0x20 || c == 0x7F)
                o += (size_t)sprintf(out + o, "\\x%02x", c);
            else
                out[o++] = (char)c;
        }
    }
    out[o++] = '"';
    out[o] = '\0';
    return out;
}

static char *atoi_error(const char *s, size_t n, const char *why)
{
    char *q = go_quote(s, n);
    char *msg = xasprintf("strconv.Atoi: parsing %s: %s", q, why);
    free(q);
    return msg;
}

/*
 * strconv.Atoi on a 64-bit platform, for s[0..n): an optional sign and decimal digits only.
 * 0 with *out, or -1 with *err (caller frees) holding Go's NumError text. The first overflow
 * wins over later junk, as in Go's ParseUint.
 */
static int go_atoi(const char *s, size_t n, int64_t *out, char **err)
{
    size_t i = 0;
    bool neg = false;
    if (n > 0 && (s[0] == '+' || s[0] == '-')) {
        neg = s[0] == '-';
        i = 1;
    }
    if (i == n) {
        *err = atoi_error(s, n, "invalid syntax");
        return -1;
    }
    uint64_t v = 0;
    bool overflow = false;
    for (; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            *err = atoi_error(s, n, "invalid syntax");
            return -1;
        }
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10) {
            overflow = true;
            break;
        }
        v = v * 10 + d;
    }
    /* ParseInt: beyond int64 (one more for the negative side) is out of range. */
    if (overflow || (!neg && v > (uint64_t)INT64_MAX) || (neg && v > (uint64_t)INT64_MAX + 1)) {
        *err = atoi_error(s, n, "value out of range");
        return -1;
    }
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return 0;
}

/* ---- the range flag ---------------------------------------------------------------------------
 */

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

static int range_fail(char **err_out, char *msg)
{
    if (err_out)
        *err_out = msg;
    else
        free(msg);
    return PORTALLOC_ERR_SYNTAX;
}

int portalloc_parse_range(const char *s, struct portalloc_range *out, char **err_out)
{
    out->base = DEFAULT_RANGE_BASE;
    out->size = DEFAULT_RANGE_SIZE;
    if (err_out)
        *err_out = NULL;
    if (!s)
        return 0;

    /* strings.TrimSpace (ASCII white space; Go also trims the Unicode spaces). */
    while (is_space(*s))
        s++;
    size_t n = strlen(s);
    while (n > 0 && is_space(s[n - 1]))
        n--;
    if (n == 0)
        return 0;

    const char *hyphen = memchr(s, '-', n);
    const char *plus = memchr(s, '+', n);
    int64_t low, high;
    char *err = NULL;

    if (hyphen && plus)
        return range_fail(err_out, xasprintf("unable to parse port range: %.*s", (int)n, s));
    if (hyphen) {
        size_t h = (size_t)(hyphen - s);
        if (go_atoi(s, h, &low, &err) != 0 || go_atoi(hyphen + 1, n - h - 1, &high, &err) != 0)
            return range_fail(err_out, err);
    } else if (plus) {
        size_t p = (size_t)(plus - s);
        int64_t offset;
        if (go_atoi(s, p, &low, &err) != 0 || go_atoi(plus + 1, n - p - 1, &offset, &err) != 0)
            return range_fail(err_out, err);
        /* Go's int addition wraps; the wrapped value then fails the order check below. */
        high = (int64_t)((uint64_t)low + (uint64_t)offset);
    } else {
        if (go_atoi(s, n, &low, &err) != 0)
            return range_fail(err_out, err);
        high = low;
    }

    if (low > PORT_MAX || high > PORT_MAX)
        return range_fail(
            err_out, xasprintf("the port range cannot be greater than 65535: %.*s", (int)n, s));
    if (high < low)
        return range_fail(err_out,
                          xasprintf("end port cannot be less than start port: %.*s", (int)n, s));
    /* low never carries a sign, so now 0 <= low <= high <= 65535. */
    out->base = (int)low;
    out->size = (int)(high - low + 1);
    return 0;
}

char *portalloc_range_format(const struct portalloc_range *r, char out[PORTALLOC_RANGE_STRLEN])
{
    if (r->size == 0)
        out[0] = '\0';
    else
        snprintf(out, PORTALLOC_RANGE_STRLEN, "%lld-%lld", (long long)r->base,
                 (long long)r->base + r->size - 1);
    return out;
}

bool portalloc_range_contains(const struct portalloc_range *r, int port)
{
    /* net.PortRange.Contains, written so that no subtraction can overflow. */
    return port >= r->base && (int64_t)port - r->base < r->size;
}

/* ---- the allocator -------------------------------------------------------------------------- */

/* calculateRangeOffset of portallocator: min(max(16, size/32), 128), 0 when size <= 16. */
static uint32_t range_offset(int size)
{
    if (size <= 16)
        return 0;
    int off = size / 32;
    if (off < 16)
        return 16;
    if (off > 128)
        return 128;
    return (uint32_t)off;
}

struct portalloc *portalloc_new(const struct portalloc_range *r)
{
    if (r->size < 1 || r->base < 0 || r->base > PORT_MAX || r->size > PORT_MAX + 1 - r->base)
        return NULL;
    struct portalloc *pa = calloc(1, sizeof(*pa));
    if (!pa)
        abort();
    if (pthread_mutex_init(&pa->lock, NULL) != 0)
        abort();
    pa->range = *r;
    alloc_bitmap_init(&pa->bm, (uint32_t)r->size, range_offset(r->size));
    return pa;
}

void portalloc_free(struct portalloc *pa)
{
    if (!pa)
        return;
    alloc_bitmap_release(&pa->bm);
    pthread_mutex_destroy(&pa->lock);
    free(pa);
}

void portalloc_seed(struct portalloc *pa, uint64_t seed)
{
    pthread_mutex_lock(&pa->lock);
    alloc_rng_seed(&pa->bm.rng, seed);
    pthread_mutex_unlock(&pa->lock);
}

const struct portalloc_range *portalloc_get_range(const struct portalloc *pa)
{
    return &pa->range;
}

int portalloc_band_offset(const struct portalloc *pa)
{
    return (int)pa->bm.offset;
}

int portalloc_allocate(struct portalloc *pa, int port)
{
    if (!portalloc_range_contains(&pa->range, port))
        return PORTALLOC_ERR_NOT_IN_RANGE;
    pthread_mutex_lock(&pa->lock);
    bool ok = alloc_bitmap_set(&pa->bm, (uint32_t)(port - pa->range.base));
    pthread_mutex_unlock(&pa->lock);
    return ok ? 0 : PORTALLOC_ERR_ALLOCATED;
}

int portalloc_allocate_next(struct portalloc *pa, int *port)
{
    pthread_mutex_lock(&pa->lock);
    uint32_t at = alloc_bitmap_set_next(&pa->bm);
    pthread_mutex_unlock(&pa->lock);
    if (at == ALLOC_BITMAP_NONE) {
        *port = 0;
        return PORTALLOC_ERR_FULL;
    }
    *port = pa->range.base + (int)at;
    return 0;
}

int portalloc_release(struct portalloc *pa, int port)
{
    if (!portalloc_range_contains(&pa->range, port))
        return PORTALLOC_ERR_NOT_ALLOCATED;
    pthread_mutex_lock(&pa->lock);
    bool released = alloc_bitmap_clear(&pa->bm, (uint32_t)(port - pa->range.base));
    pthread_mutex_unlock(&pa->lock);
    return released ? 0 : PORTALLOC_ERR_NOT_ALLOCATED;
}

bool portalloc_has(struct portalloc *pa, int port)
{
    if (!portalloc_range_contains(&pa->range, port))
        return false;
    pthread_mutex_lock(&pa->lock);
    bool held = alloc_bitmap_has(&pa->bm, (uint32_t)(port - pa->range.base));
    pthread_mutex_unlock(&pa->lock);
    return held;
}

int portalloc_check(struct portalloc *pa, int port)
{
    /* PortAllocationOperation.Allocate in dry-run mode asks Has() only; upstream lets a port
     * outside the range through here. */
    return portalloc_has(pa, port) ? PORTALLOC_ERR_ALLOCATED : 0;
}

void portalloc_counts(struct portalloc *pa, struct portalloc_counts *out)
{
    pthread_mutex_lock(&pa->lock);
    out->used = pa->bm.count;
    out->free = (uint64_t)pa->bm.max - pa->bm.count;
    pthread_mutex_unlock(&pa->lock);
}

/* ---- error texts ---------------------------------------------------------------------------- */

char *portalloc_strerror(const struct portalloc *pa, int code)
{
    char buf[PORTALLOC_RANGE_STRLEN];
    switch (code) {
    case 0:
        return xasprintf("%s", "");
    case PORTALLOC_ERR_FULL:
        return xasprintf("range is full");
    case PORTALLOC_ERR_ALLOCATED:
        return xasprintf("provided port is already allocated");
    case PORTALLOC_ERR_NOT_IN_RANGE:
        return xasprintf("provided port is not in the valid range. The range of valid ports is %s",
                         portalloc_range_format(&pa->range, buf));
    case PORTALLOC_ERR_NOT_ALLOCATED:
        return xasprintf("provided port is not allocated"); /* ours: upstream has none */
    default:
        return xasprintf("unknown portalloc error %d", code);
    }
}

char *portalloc_dynamic_error_message(int code)
{
    /* alloc.go initNodePorts/updateNodePorts: fmt.Errorf("failed to allocate a nodePort: %v"). */
    return xasprintf("failed to allocate a nodePort: %s",
                     code == PORTALLOC_ERR_FULL ? "range is full" : "unknown error");
}

char *portalloc_health_check_error_message(const struct portalloc *pa, int code, int requested)
{
    /* alloc.go allocHealthCheckNodePort. In the automatic case upstream formats the port that
     * AllocateNext returned with its error, which is always 0. */
    char *err = portalloc_strerror(pa, code);
    char *msg =
        requested != 0
            ? xasprintf("failed to allocate requested HealthCheck NodePort %d: %s", requested, err)
            : xasprintf("failed to allocate a HealthCheck NodePort 0: %s", err);
    free(err);
    return msg;
}
