/*
 * alloc: checked allocation helpers, and the small text helpers that go with them.
 * Out of memory aborts, as STYLE.md says; callers never test for NULL.
 */
#include "svc/util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        abort();
    return p;
}

void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p)
        abort();
    return p;
}

void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        abort();
    return q;
}

char *xstrdup(const char *s)
{
    char *p = strdup(s);
    if (!p)
        abort();
    return p;
}

char *xstrndup(const char *s, size_t n)
{
    char *p = strndup(s, n);
    if (!p)
        abort();
    return p;
}

char *xasprintf(const char *fmt, ...)
{
    va_list ap;
    char *p = NULL;
    va_start(ap, fmt);
    int n = vasprintf(&p, fmt, ap);
    va_end(ap);
    if (n < 0)
        abort();
    return p;
}

int util_hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int util_parse_uint64(const char *s, uint64_t *out)
{
    uint64_t v = 0;
    if (!*s)
        return UTIL_PARSE_SYNTAX;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9')
            return UTIL_PARSE_SYNTAX;
        unsigned d = (unsigned)(*p - '0');
        if (v > (UINT64_MAX - d) / 10)
            return UTIL_PARSE_RANGE;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

int util_parse_int64(const char *s, long long *out)
{
    bool neg = false;
    if (*s == '+' || *s == '-') {
        neg = *s == '-';
        s++;
    }
    uint64_t u;
    int rc = util_parse_uint64(s, &u);
    if (rc)
        return rc;
    if (u > (uint64_t)INT64_MAX + (neg ? 1 : 0))
        return UTIL_PARSE_RANGE;
    *out = neg ? (long long)(0 - u) : (long long)u;
    return 0;
}
