/*
 * strbuf: growable, size-limited byte buffers. See include/svc/strbuf.h.
 * Depends on libc only, so that build-time tools can link it alone.
 */
#include "svc/strbuf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char strbuf_empty[1];

void strbuf_init(struct strbuf *sb, size_t limit)
{
    sb->buf = NULL;
    sb->len = 0;
    sb->alloc = 0;
    sb->limit = limit;
}

void strbuf_release(struct strbuf *sb)
{
    free(sb->buf);
    strbuf_init(sb, sb->limit);
}

void strbuf_reset(struct strbuf *sb)
{
    sb->len = 0;
    if (sb->buf)
        sb->buf[0] = '\0';
}

/* Make room for extra more bytes plus the NUL; 0 or STRBUF_TOO_BIG. */
static int strbuf_grow(struct strbuf *sb, size_t extra)
{
    if (extra > sb->limit || sb->len > sb->limit - extra)
        return STRBUF_TOO_BIG;
    size_t need = sb->len + extra + 1;
    if (need <= sb->alloc)
        return 0;
    size_t alloc = sb->alloc ? sb->alloc : 64;
    while (alloc < need)
        alloc = alloc < ((size_t)-1) / 2 ? alloc * 2 : need;
    char *p = realloc(sb->buf, alloc);
    if (!p)
        abort();
    sb->buf = p;
    sb->alloc = alloc;
    return 0;
}

int strbuf_add(struct strbuf *sb, const void *data, size_t len)
{
    if (strbuf_grow(sb, len))
        return STRBUF_TOO_BIG;
    if (len)
        memcpy(sb->buf + sb->len, data, len);
    sb->len += len;
    sb->buf[sb->len] = '\0';
    return 0;
}

int strbuf_addstr(struct strbuf *sb, const char *s)
{
    return strbuf_add(sb, s, strlen(s));
}

int strbuf_addch(struct strbuf *sb, char c)
{
    return strbuf_add(sb, &c, 1);
}

int strbuf_vaddf(struct strbuf *sb, const char *fmt, va_list ap)
{
    char small[256];
    va_list cp;
    va_copy(cp, ap);
    int n = vsnprintf(small, sizeof(small), fmt, cp);
    va_end(cp);
    if (n < 0)
        return -1;
    if ((size_t)n < sizeof(small))
        return strbuf_add(sb, small, (size_t)n);
    if (strbuf_grow(sb, (size_t)n))
        return STRBUF_TOO_BIG;
    vsnprintf(sb->buf + sb->len, (size_t)n + 1, fmt, ap);
    sb->len += (size_t)n;
    return 0;
}

int strbuf_addf(struct strbuf *sb, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = strbuf_vaddf(sb, fmt, ap);
    va_end(ap);
    return r;
}

/* The literal of s appended whole, or nothing: a partial literal is never left behind. */
static int add_json_string(struct strbuf *sb, const char *s);

int strbuf_add_json_string(struct strbuf *sb, const char *s)
{
    size_t len = sb->len;
    if (add_json_string(sb, s)) {
        sb->len = len;
        if (sb->buf)
            sb->buf[len] = '\0';
        return STRBUF_TOO_BIG;
    }
    return 0;
}

static int add_json_string(struct strbuf *sb, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    if (strbuf_addch(sb, '"'))
        return STRBUF_TOO_BIG;
    const char *run = s;
    for (const unsigned char *p = (const unsigned char *)s;; p++) {
        unsigned char c = *p;
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        if (p > (const unsigned char *)run && strbuf_add(sb, run, (size_t)((const char *)p - run)))
            return STRBUF_TOO_BIG;
        if (c == '\0')
            break;
        char esc[7] = {'\\', 0};
        size_t n = 2;
        switch (c) {
        case '"':
            esc[1] = '"';
            break;
        case '\\':
            esc[1] = '\\';
            break;
        case '\n':
            esc[1] = 'n';
            break;
        case '\t':
            esc[1] = 't';
            break;
        case '\r':
            esc[1] = 'r';
            break;
        default:
            memcpy(esc, "\\u00", 4);
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
            n = 6;
        }
        if (strbuf_add(sb, esc, n))
            return STRBUF_TOO_BIG;
        run = (const char *)p + 1;
    }
    return strbuf_addch(sb, '"');
}

char *strbuf_detach(struct strbuf *sb, size_t *len_out)
{
    char *p = sb->buf;
    if (len_out)
        *len_out = sb->len;
    if (!p) {
        p = malloc(1);
        if (!p)
            abort();
        p[0] = '\0';
    }
    strbuf_init(sb, sb->limit);
    return p;
}

const char *strbuf_str(const struct strbuf *sb)
{
    return sb->buf ? sb->buf : strbuf_empty;
}
