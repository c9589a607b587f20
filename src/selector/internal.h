/*
 * selector/internal.h: helpers the label and field selector files share, mostly small
 * reproductions of the Go runtime behaviour that shows through in upstream's messages
 * (strconv.Quote, UTF-8 decoding with U+FFFD for bad bytes, string ordering).
 * Private to src/selector/; defined in label.c. Depends on libc and strbuf only.
 */
#ifndef SVC_SELECTOR_INTERNAL_H
#define SVC_SELECTOR_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

struct strbuf;

/* Go's utf8.RuneError, given for every byte that does not start a valid UTF-8 sequence. */
#define SELECTOR_RUNE_ERROR 0xFFFD

/*
 * Decode the rune at s[0..len) as Go's utf8.DecodeRuneInString does: a bad or truncated
 * sequence, an overlong form or a surrogate gives SELECTOR_RUNE_ERROR with width 1.
 * len must be > 0. *width receives the bytes consumed.
 */
int32_t selector_utf8_decode(const char *s, size_t len, size_t *width);
/* Append the UTF-8 encoding of r (a valid rune) to sb. */
void selector_utf8_add(struct strbuf *sb, int32_t r);
/* Append s[0..len) quoted as Go's strconv.Quote (and so fmt's %q and %#v of a string) does. */
void selector_quote_add(struct strbuf *sb, const char *s, size_t len);
/* Go string comparison: bytewise, a prefix first. <0, 0, >0. */
int selector_strcmp_n(const char *a, size_t alen, const char *b, size_t blen);
/* Sort NUL-terminated strings bytewise (Go's sort.Strings), stable. */
void selector_sort_strings(char **v, size_t n);

#endif
