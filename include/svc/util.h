/*
 * util: small helpers every module uses: checked allocation, random numbers and UUIDs,
 * RFC 3339 timestamps, and shortcuts for reading jansson trees.
 * Depends on libc and jansson only.
 */
#ifndef SVC_UTIL_H
#define SVC_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

typedef struct json_t json_t;

/* ---- allocation: out of memory aborts (STYLE.md) --------------------------------------------- */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The value of a hexadecimal digit (either case), or -1. */
int util_hex_digit(char c);

/* Go's strconv.ParseUint(s, 10, 64) and ParseInt(s, 10, 64), whose error texts clients see:
   0 with *out set, 1 for a syntax error, 2 for a value out of range (Go stops at the first
   digit that overflows, before looking at what follows). */
#define UTIL_PARSE_SYNTAX 1
#define UTIL_PARSE_RANGE  2
int util_parse_uint64(const char *s, uint64_t *out);
int util_parse_int64(const char *s, long long *out);

/* ---- randomness ---------------------------------------------------------------------------------
 * A per-thread xoshiro256** generator seeded from getrandom(2). Not for secrets. */
uint64_t util_rand_u64(void);
/* A uniform value in [0, n); n > 0. */
uint64_t util_rand_below(uint64_t n);
/* A random version-4 UUID in its 36-character text form; out must hold 37 bytes. */
void util_uuid_v4(char out[37]);
/* The 5-character suffix of generateName, from upstream's alphabet
   "bcdfghjklmnpqrstvwxz2456789". */
void util_random_name_suffix(char out[6]);

/* ---- time ------------------------------------------------------------------------------------ */
#define UTIL_RFC3339_LEN       21 /* "2025-05-01T10:00:00Z" + NUL */
#define UTIL_RFC3339_MICRO_LEN 28 /* "2025-05-01T10:00:00.123456Z" + NUL */
#define UTIL_RFC3339_NANO_LEN  31 /* "2025-05-01T10:00:00.123456789Z" + NUL (trailing zeros cut) */
/* Now, from CLOCK_REALTIME. */
struct timespec util_now(void);
/* metav1.Time: seconds precision, UTC. */
void util_format_time(time_t t, char out[UTIL_RFC3339_LEN]);
/* metav1.MicroTime: six fractional digits. */
void util_format_time_micro(struct timespec ts, char out[UTIL_RFC3339_MICRO_LEN]);
/* Go's time.RFC3339Nano: fractional digits with trailing zeros removed. */
void util_format_time_nano(struct timespec ts, char out[UTIL_RFC3339_NANO_LEN]);
/* Parse RFC 3339 (with or without fraction, Z or +hh:mm). 0 on success, -1 when malformed. */
int util_parse_time(const char *s, struct timespec *out);
/* Monotonic microseconds, for measuring durations. */
uint64_t util_monotonic_us(void);

/* ---- jansson shortcuts: all results are borrowed references or NULL -------------------------- */
/* obj[key] if obj is an object, else NULL. */
json_t *ju_get(const json_t *obj, const char *key);
/* obj[key] if it is a string, else NULL. */
const char *ju_str(const json_t *obj, const char *key);
/* obj[key] as an integer if it is one, else def. */
long long ju_int(const json_t *obj, const char *key, long long def);
/* obj[key] as a boolean if it is one, else def. */
bool ju_bool(const json_t *obj, const char *key, bool def);
/* obj[key] if it is an object, else NULL; ju_arr likewise for arrays. */
json_t *ju_obj(const json_t *obj, const char *key);
json_t *ju_arr(const json_t *obj, const char *key);
/* dst[key] = src[key] (a reference), or no dst[key] when src has none. */
void ju_copy_member(json_t *dst, const json_t *src, const char *key);
/* Get obj[key] as an object, creating an empty one (replacing a non-object) when needed. */
json_t *ju_ensure_obj(json_t *obj, const char *key);
/* True when s is NULL or "". */
bool ju_empty(const char *s);
/* The word encoding/json's errors use for v's JSON type: "object", "array", "string",
   "number", "bool" ("null" for null, which Go never reports). */
const char *ju_go_type_word(const json_t *v);
/* Whether v is a zero value as Go's omitempty sees it: null, "", 0, false, [] or {}. */
bool ju_go_empty(const json_t *v);
/* json_dumps(v, flags) in memory of malloc's (caller frees with free()), or NULL. jansson's own
   result must go back to jansson's allocator, which in a request is the tree arena's. */
char *ju_dumps(const json_t *v, size_t flags);
/* metadata.name / metadata.namespace / ... of an object, or NULL. */
const char *ju_meta_str(const json_t *obj, const char *key);

#endif
