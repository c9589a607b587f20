/*
 * strbuf: a growable byte buffer with a hard size limit (after curl's dynbuf and git's strbuf).
 *
 * Every buffer is created with a limit; an append that would pass it fails with STRBUF_TOO_BIG
 * and leaves the buffer unchanged, so "too big" is one error path (HTTP 413 for request bodies).
 * The contents are always NUL-terminated, so buf may be used as a C string when it holds text.
 * Out of memory aborts. This module depends on nothing else in the project.
 */
#ifndef SVC_STRBUF_H
#define SVC_STRBUF_H

#include <stdarg.h>
#include <stddef.h>

#define STRBUF_TOO_BIG  (-2)
#define STRBUF_NO_LIMIT ((size_t)-1)

struct strbuf {
    char *buf;    /* owned; NUL-terminated; NULL until the first append */
    size_t len;   /* bytes used, not counting the terminating NUL */
    size_t alloc; /* bytes allocated */
    size_t limit; /* the largest len allowed */
};

/* Initialise sb (caller-provided storage) as empty with the given limit. */
void strbuf_init(struct strbuf *sb, size_t limit);
/* Free the contents; sb may be initialised again. */
void strbuf_release(struct strbuf *sb);
/* Empty sb for reuse, keeping its allocation. */
void strbuf_reset(struct strbuf *sb);

/* Append; 0 on success, STRBUF_TOO_BIG when the limit would be passed (nothing appended). */
int strbuf_add(struct strbuf *sb, const void *data, size_t len);
int strbuf_addstr(struct strbuf *sb, const char *s);
int strbuf_addch(struct strbuf *sb, char c);
int strbuf_addf(struct strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int strbuf_vaddf(struct strbuf *sb, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

/* Append s as a JSON string literal, quotes included. */
int strbuf_add_json_string(struct strbuf *sb, const char *s);

/* Give the caller the contents (caller frees; never NULL) and leave sb empty. */
char *strbuf_detach(struct strbuf *sb, size_t *len_out);

/* The contents as a C string: "" when nothing was appended. Borrowed. */
const char *strbuf_str(const struct strbuf *sb);

#endif
