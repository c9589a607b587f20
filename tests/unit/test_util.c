/*
 * test_util: src/util/rand.c, timefmt.c, json_util.c and alloc.c (include/svc/util.h).
 * UUIDs are checked against RFC 4122's version-4 layout, generateName suffixes against
 * apimachinery's alphabet (pkg/util/rand), timestamps against Go's time package (RFC3339,
 * RFC3339Nano, metav1.Time and metav1.MicroTime as Kubernetes writes them). Expected epoch
 * values were computed independently (Python's calendar.timegm).
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "svc/util.h"

static bool is_lower_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

static void expect_uuid_v4(const char *u)
{
    cr_assert_eq(strlen(u), 36, "%s", u);
    for (int i = 0; i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23)
            cr_expect_eq(u[i], '-', "%s: dash at %d", u, i);
        else
            cr_expect(is_lower_hex(u[i]), "%s: lowercase hex at %d", u, i);
    }
    cr_expect_eq(u[14], '4', "%s: version nibble", u);
    cr_expect(strchr("89ab", u[19]) != NULL, "%s: RFC 4122 variant", u);
}

Test(util, uuid_v4_has_the_rfc4122_form)
{
    for (int i = 0; i < 200; i++) {
        char u[37];
        memset(u, 'X', sizeof(u));
        util_uuid_v4(u);
        expect_uuid_v4(u);
    }
}

Test(util, uuids_are_unique_and_every_free_nibble_varies)
{
    enum { N = 2000 };
    char(*all)[37] = calloc(N, 37);
    cr_assert_not_null(all);
    /* For each of the 32 hex positions, which digits were seen. */
    unsigned seen[36] = {0};
    for (int i = 0; i < N; i++) {
        util_uuid_v4(all[i]);
        for (int k = 0; k < 36; k++) {
            char c = all[i][k];
            if (is_lower_hex(c))
                seen[k] |= 1u << (c <= '9' ? c - '0' : c - 'a' + 10);
        }
    }
    qsort(all, N, 37, (int (*)(const void *, const void *))strcmp);
    for (int i = 1; i < N; i++)
        cr_expect_str_neq(all[i - 1], all[i], "duplicate UUID");
    for (int k = 0; k < 36; k++) {
        if (k == 8 || k == 13 || k == 18 || k == 23 || k == 14)
            continue;
        unsigned want = k == 19 ? 0xf00u /* 8, 9, a, b */ : 0xffffu;
        cr_expect_eq(seen[k], want, "position %d saw digits %#x", k, seen[k]);
    }
    free(all);
}

Test(util, rand_below_stays_in_range_and_covers_it)
{
    cr_expect_eq(util_rand_below(1), 0);
    int counts[10] = {0};
    for (int i = 0; i < 20000; i++) {
        uint64_t v = util_rand_below(10);
        cr_assert_lt(v, 10);
        counts[v]++;
    }
    /* Each bucket expects 2000; 1700..2300 is over 6 standard deviations wide. */
    for (int i = 0; i < 10; i++)
        cr_expect(counts[i] > 1700 && counts[i] < 2300, "bucket %d: %d", i, counts[i]);
    /* A range that is not a power of two and is near 2^64 still stays in range. */
    uint64_t big = UINT64_MAX / 3 * 2;
    for (int i = 0; i < 1000; i++)
        cr_assert_lt(util_rand_below(big), big);
}

Test(util, rand_u64_uses_all_bits)
{
    uint64_t ones = 0, zeros = 0;
    for (int i = 0; i < 256; i++) {
        uint64_t v = util_rand_u64();
        ones |= v;
        zeros |= ~v;
    }
    cr_expect_eq(ones, UINT64_MAX, "every bit is sometimes 1");
    cr_expect_eq(zeros, UINT64_MAX, "every bit is sometimes 0");
}

static void *thread_uuid(void *arg)
{
    util_uuid_v4(arg);
    return NULL;
}

Test(util, threads_get_independent_streams)
{
    char a[37], b[37];
    pthread_t t1, t2;
    cr_assert_eq(pthread_create(&t1, NULL, thread_uuid, a), 0);
    cr_assert_eq(pthread_create(&t2, NULL, thread_uuid, b), 0);
    pthread_join(t1, NULL);
    pthread_join(t2, NULL);
    expect_uuid_v4(a);
    expect_uuid_v4(b);
    cr_expect_str_neq(a, b, "two threads must not share a seed");
}

Test(util, name_suffix_uses_exactly_the_upstream_alphabet)
{
    static const char alphabet[] = "bcdfghjklmnpqrstvwxz2456789";
    int counts[256] = {0};
    for (int i = 0; i < 3000; i++) {
        char s[6];
        memset(s, '!', sizeof(s));
        util_random_name_suffix(s);
        cr_assert_eq(strlen(s), 5, "%s", s);
        for (int k = 0; k < 5; k++) {
            cr_assert(strchr(alphabet, s[k]) != NULL, "'%c' is not in the alphabet", s[k]);
            counts[(unsigned char)s[k]]++;
        }
    }
    /* 15000 draws over 27 characters: every one appears (expected ~555 each). */
    for (const char *p = alphabet; *p; p++)
        cr_expect(counts[(unsigned char)*p] > 400, "'%c' drawn %d times", *p,
                  counts[(unsigned char)*p]);
    /* No vowels, no 0, 1 or 3, as upstream avoids words and look-alikes. */
    cr_expect_eq(counts['a'] + counts['e'] + counts['i'] + counts['o'] + counts['u'], 0);
    cr_expect_eq(counts['0'] + counts['1'] + counts['3'], 0);
}

/* ---- time ------------------------------------------------------------------------------------ */

Test(util, format_time_is_rfc3339_seconds_utc)
{
    char out[UTIL_RFC3339_LEN];
    util_format_time(0, out);
    cr_expect_str_eq(out, "1970-01-01T00:00:00Z");
    util_format_time(1746093600, out);
    cr_expect_str_eq(out, "2025-05-01T10:00:00Z");
    util_format_time(1709251199, out);
    cr_expect_str_eq(out, "2024-02-29T23:59:59Z");
    util_format_time(2147483648, out);
    cr_expect_str_eq(out, "2038-01-19T03:14:08Z", "past the 32-bit time_t limit");
    cr_expect_eq(strlen(out) + 1, UTIL_RFC3339_LEN);
}

Test(util, format_time_micro_has_six_digits)
{
    char out[UTIL_RFC3339_MICRO_LEN];
    util_format_time_micro((struct timespec){1746093600, 123456789}, out);
    cr_expect_str_eq(out, "2025-05-01T10:00:00.123456Z", "truncated, not rounded");
    util_format_time_micro((struct timespec){1746093600, 0}, out);
    cr_expect_str_eq(out, "2025-05-01T10:00:00.000000Z");
    util_format_time_micro((struct timespec){946684799, 999999999}, out);
    cr_expect_str_eq(out, "1999-12-31T23:59:59.999999Z");
    util_format_time_micro((struct timespec){0, 1000}, out);
    cr_expect_str_eq(out, "1970-01-01T00:00:00.000001Z");
    cr_expect_eq(strlen(out) + 1, UTIL_RFC3339_MICRO_LEN);
}

Test(util, format_time_nano_cuts_trailing_zeros_like_go)
{
    char out[UTIL_RFC3339_NANO_LEN];
    util_format_time_nano((struct timespec){1746093600, 123456789}, out);
    cr_expect_str_eq(out, "2025-05-01T10:00:00.123456789Z");
    cr_expect_eq(strlen(out) + 1, UTIL_RFC3339_NANO_LEN);
    util_format_time_nano((struct timespec){1746093600, 120000000}, out);
    cr_expect_str_eq(out, "2025-05-01T10:00:00.12Z");
    util_format_time_nano((struct timespec){1746093600, 1}, out);
    cr_expect_str_eq(out, "2025-05-01T10:00:00.000000001Z");
    util_format_time_nano((struct timespec){1746093600, 0}, out);
    cr_expect_str_eq(out, "2025-05-01T10:00:00Z", "no fraction at all when it is zero");
}

static struct timespec parse_ok(const char *s)
{
    struct timespec ts = {-1, -1};
    cr_assert_eq(util_parse_time(s, &ts), 0, "%s should parse", s);
    return ts;
}

Test(util, parse_time_utc_fractions_and_offsets)
{
    struct timespec ts = parse_ok("2025-05-01T10:00:00Z");
    cr_expect_eq(ts.tv_sec, 1746093600);
    cr_expect_eq(ts.tv_nsec, 0);
    ts = parse_ok("2025-05-01T10:00:00.5Z");
    cr_expect_eq(ts.tv_sec, 1746093600);
    cr_expect_eq(ts.tv_nsec, 500000000);
    ts = parse_ok("2025-05-01T10:00:00.123456Z");
    cr_expect_eq(ts.tv_nsec, 123456000);
    ts = parse_ok("2025-05-01T10:00:00.123456789Z");
    cr_expect_eq(ts.tv_nsec, 123456789);
    /* Go accepts more than nine digits and keeps the first nine. */
    ts = parse_ok("2025-05-01T10:00:00.1234567891Z");
    cr_expect_eq(ts.tv_nsec, 123456789);
    ts = parse_ok("2025-05-01T12:00:00+02:00");
    cr_expect_eq(ts.tv_sec, 1746093600, "+02:00 is two hours ahead of UTC");
    ts = parse_ok("2025-05-01T04:30:00-05:30");
    cr_expect_eq(ts.tv_sec, 1746093600);
    ts = parse_ok("2025-05-01T10:00:00.25+00:00");
    cr_expect_eq(ts.tv_sec, 1746093600);
    cr_expect_eq(ts.tv_nsec, 250000000);
    ts = parse_ok("1970-01-01T00:00:00Z");
    cr_expect_eq(ts.tv_sec, 0);
    ts = parse_ok("2024-02-29T23:59:59Z");
    cr_expect_eq(ts.tv_sec, 1709251199);
}

Test(util, parse_time_round_trips_every_format)
{
    const struct timespec samples[] = {
        {0, 0},
        {1746093600, 0},
        {1746093600, 123456789},
        {946684799, 999999000},
        {2147483648, 500},
        {1709251199, 100000000},
    };
    for (size_t i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
        struct timespec in = samples[i], out;
        char s[UTIL_RFC3339_LEN], m[UTIL_RFC3339_MICRO_LEN], n[UTIL_RFC3339_NANO_LEN];
        util_format_time(in.tv_sec, s);
        cr_assert_eq(util_parse_time(s, &out), 0, "%s", s);
        cr_expect_eq(out.tv_sec, in.tv_sec, "%s", s);
        cr_expect_eq(out.tv_nsec, 0, "%s", s);
        util_format_time_micro(in, m);
        cr_assert_eq(util_parse_time(m, &out), 0, "%s", m);
        cr_expect_eq(out.tv_sec, in.tv_sec, "%s", m);
        cr_expect_eq(out.tv_nsec, in.tv_nsec / 1000 * 1000, "%s", m);
        util_format_time_nano(in, n);
        cr_assert_eq(util_parse_time(n, &out), 0, "%s", n);
        cr_expect_eq(out.tv_sec, in.tv_sec, "%s", n);
        cr_expect_eq(out.tv_nsec, in.tv_nsec, "%s", n);
    }
}

Test(util, parse_time_rejects_malformed_text)
{
    static const char *const bad[] = {
        "",
        "2025",
        "2025-05-01",
        "2025-05-01T10:00:00",  /* no zone */
        "2025-05-01 10:00:00Z", /* space instead of T */
        "2025/05/01T10:00:00Z",
        "2025-5-01T10:00:00Z",
        "2025-13-01T10:00:00Z", /* month 13 */
        "2025-00-01T10:00:00Z",
        "2025-05-00T10:00:00Z",
        "2025-05-32T10:00:00Z",
        "2025-05-01T24:00:00Z",
        "2025-05-01T10:60:00Z",
        "2025-05-01T10:00:00.Z", /* a dot without digits */
        "2025-05-01T10:00:00Zjunk",
        "2025-05-01T10:00:00+0200", /* offset without colon */
        "2025-05-01T10:00:00+02",
        "2025-05-01T10:00:00+02:00x",
        "2025-05-01T1a:00:00Z",
        "x025-05-01T10:00:00Z",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct timespec ts;
        cr_expect_eq(util_parse_time(bad[i], &ts), -1, "\"%s\" should be refused", bad[i]);
    }
    struct timespec ts;
    cr_expect_eq(util_parse_time(NULL, &ts), -1);
}

/*
 * BUG (reported): Go's time.Parse(time.RFC3339, ...) - what metav1.Time's decoder runs - checks
 * the day against the month's length and refuses second 60 ("day out of range", "second out of
 * range"), and the layout's 'T' and 'Z' are literal upper case. util_parse_time accepts all of
 * these (timegm normalises Feb 30 into March), so such a timestamp is taken as valid.
 */
Test(util, parse_time_rejects_what_go_time_parse_rejects)
{
    static const char *const bad[] = {
        "2025-02-29T00:00:00Z", /* 2025 is not a leap year */
        "2025-02-30T00:00:00Z", "2025-04-31T00:00:00Z", "2025-05-01T10:00:60Z",
        "2025-05-01t10:00:00Z", "2025-05-01T10:00:00z",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct timespec ts;
        cr_expect_eq(util_parse_time(bad[i], &ts), -1, "\"%s\" should be refused", bad[i]);
    }
}

Test(util, now_and_monotonic_clock)
{
    struct timespec now = util_now();
    cr_expect_gt(now.tv_sec, 1700000000, "the wall clock is after 2023");
    cr_expect(now.tv_nsec >= 0 && now.tv_nsec < 1000000000);
    uint64_t a = util_monotonic_us(), b = util_monotonic_us();
    cr_expect_geq(b, a);
}

/* ---- jansson shortcuts ----------------------------------------------------------------------- */

Test(util, json_accessors_check_types_and_tolerate_null)
{
    json_t *o = json_pack("{s:s,s:i,s:b,s:{s:s},s:[i],s:f,s:n}", "s", "text", "i", 42, "b", 1, "o",
                          "k", "v", "a", 1, "r", 1.5, "z");
    cr_expect_str_eq(ju_str(o, "s"), "text");
    cr_expect_null(ju_str(o, "i"));
    cr_expect_null(ju_str(o, "missing"));
    cr_expect_eq(ju_int(o, "i", -1), 42);
    cr_expect_eq(ju_int(o, "s", -1), -1);
    cr_expect_eq(ju_int(o, "r", -1), -1, "a real is not an integer");
    cr_expect_eq(ju_bool(o, "b", false), true);
    cr_expect_eq(ju_bool(o, "i", false), false);
    cr_expect_eq(ju_bool(o, "missing", true), true);
    cr_expect_not_null(ju_obj(o, "o"));
    cr_expect_null(ju_obj(o, "a"));
    cr_expect_not_null(ju_arr(o, "a"));
    cr_expect_null(ju_arr(o, "o"));
    cr_expect(json_is_null(ju_get(o, "z")));
    cr_expect_null(ju_get(NULL, "s"));
    cr_expect_null(ju_get(json_object_get(o, "a"), "s"), "an array has no keys");
    cr_expect_null(ju_str(NULL, "s"));
    cr_expect_eq(ju_int(NULL, "i", 7), 7);
    json_decref(o);
}

Test(util, ensure_obj_creates_or_replaces)
{
    json_t *o = json_pack("{s:i,s:{s:i}}", "n", 1, "m", "x", 2);
    json_t *m = ju_ensure_obj(o, "m");
    cr_expect_eq(json_integer_value(json_object_get(m, "x")), 2, "an existing object is kept");
    json_t *n = ju_ensure_obj(o, "n");
    cr_assert(json_is_object(n));
    cr_expect_eq(json_object_size(n), 0, "a non-object is replaced by {}");
    cr_expect_eq(json_object_get(o, "n"), n);
    json_t *p = ju_ensure_obj(o, "p");
    cr_expect(json_is_object(p));
    cr_expect_eq(json_object_get(o, "p"), p);
    json_decref(o);
}

Test(util, empty_and_meta_str)
{
    cr_expect(ju_empty(NULL));
    cr_expect(ju_empty(""));
    cr_expect_not(ju_empty(" "));
    json_t *o = json_pack("{s:{s:s,s:i}}", "metadata", "name", "web", "generation", 2);
    cr_expect_str_eq(ju_meta_str(o, "name"), "web");
    cr_expect_null(ju_meta_str(o, "generation"));
    cr_expect_null(ju_meta_str(o, "namespace"));
    json_t *bad = json_pack("{s:s}", "metadata", "x");
    cr_expect_null(ju_meta_str(bad, "name"));
    json_decref(bad);
    json_decref(o);
}

/* ---- allocation ------------------------------------------------------------------------------ */

Test(util, checked_allocation_helpers)
{
    char *p = xmalloc(0);
    cr_expect_not_null(p, "a zero-byte request still gives a pointer to free");
    free(p);
    int *z = xcalloc(4, sizeof(int));
    cr_expect_eq(z[0] | z[1] | z[2] | z[3], 0);
    z = xrealloc(z, 100 * sizeof(int));
    cr_expect_eq(z[3], 0, "realloc keeps the contents");
    free(z);
    char *d = xstrdup("abc");
    cr_expect_str_eq(d, "abc");
    free(d);
    d = xstrndup("abcdef", 3);
    cr_expect_str_eq(d, "abc");
    free(d);
    d = xstrndup("ab", 10);
    cr_expect_str_eq(d, "ab");
    free(d);
    d = xasprintf("%s-%d-%05.1f", "x", 7, 2.5);
    cr_expect_str_eq(d, "x-7-002.5");
    free(d);
}

Test(util, hex_digits_in_either_case)
{
    cr_expect_eq(util_hex_digit('0'), 0);
    cr_expect_eq(util_hex_digit('9'), 9);
    cr_expect_eq(util_hex_digit('a'), 10);
    cr_expect_eq(util_hex_digit('F'), 15);
    cr_expect_eq(util_hex_digit('g'), -1);
    cr_expect_eq(util_hex_digit('%'), -1);
}

/* strconv.ParseUint / ParseInt base 10: the cases whose error text reaches clients. */
Test(util, parse_integers_as_go_strconv)
{
    uint64_t u = 7;
    cr_expect_eq(util_parse_uint64("0", &u), 0);
    cr_expect_eq(u, 0);
    cr_expect_eq(util_parse_uint64("18446744073709551615", &u), 0);
    cr_expect_eq(u, UINT64_MAX);
    cr_expect_eq(util_parse_uint64("18446744073709551616", &u), UTIL_PARSE_RANGE);
    /* Go reports the overflow before it sees the stray letter */
    cr_expect_eq(util_parse_uint64("99999999999999999999x", &u), UTIL_PARSE_RANGE);
    cr_expect_eq(util_parse_uint64("", &u), UTIL_PARSE_SYNTAX);
    cr_expect_eq(util_parse_uint64("+1", &u), UTIL_PARSE_SYNTAX);
    cr_expect_eq(util_parse_uint64(" 1", &u), UTIL_PARSE_SYNTAX);
    cr_expect_eq(util_parse_uint64("1a", &u), UTIL_PARSE_SYNTAX);

    long long v = 7;
    cr_expect_eq(util_parse_int64("-9223372036854775808", &v), 0);
    cr_expect_eq(v, INT64_MIN);
    cr_expect_eq(util_parse_int64("+9223372036854775807", &v), 0);
    cr_expect_eq(v, INT64_MAX);
    cr_expect_eq(util_parse_int64("9223372036854775808", &v), UTIL_PARSE_RANGE);
    cr_expect_eq(util_parse_int64("-9223372036854775809", &v), UTIL_PARSE_RANGE);
    cr_expect_eq(util_parse_int64("-", &v), UTIL_PARSE_SYNTAX);
    cr_expect_eq(util_parse_int64("--1", &v), UTIL_PARSE_SYNTAX);
    cr_expect_eq(util_parse_int64("1.5", &v), UTIL_PARSE_SYNTAX);
}

Test(util, go_empty_is_omitempty_zero)
{
    const char *empty[] = {"null", "\"\"", "0", "0.0", "false", "[]", "{}"};
    const char *full[] = {"\" \"", "1", "-0.5", "true", "[0]", "{\"a\":null}"};
    for (size_t i = 0; i < sizeof(empty) / sizeof(*empty); i++) {
        json_t *v = json_loads(empty[i], JSON_DECODE_ANY, NULL);
        cr_expect(ju_go_empty(v), "%s should be empty", empty[i]);
        json_decref(v);
    }
    for (size_t i = 0; i < sizeof(full) / sizeof(*full); i++) {
        json_t *v = json_loads(full[i], JSON_DECODE_ANY, NULL);
        cr_expect(!ju_go_empty(v), "%s should not be empty", full[i]);
        json_decref(v);
    }
}

Test(util, go_type_words_as_encoding_json_prints_them)
{
    const char *cases[][2] = {{"{}", "object"},  {"[1]", "array"},  {"\"x\"", "string"},
                              {"3", "number"},   {"2.5", "number"}, {"true", "bool"},
                              {"false", "bool"}, {"null", "null"}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
        json_t *v = json_loads(cases[i][0], JSON_DECODE_ANY, NULL);
        cr_expect_str_eq(ju_go_type_word(v), cases[i][1], "%s", cases[i][0]);
        json_decref(v);
    }
}

Test(util, copy_member_copies_or_removes)
{
    json_t *dst = json_pack("{s:s, s:s}", "labels", "old", "keep", "x");
    json_t *src = json_pack("{s:{s:s}}", "annotations", "a", "b");
    ju_copy_member(dst, src, "annotations"); /* present in src: set (shared) */
    ju_copy_member(dst, src, "labels");      /* absent in src: removed */
    cr_expect_eq(json_object_get(dst, "annotations"), json_object_get(src, "annotations"));
    cr_expect_null(json_object_get(dst, "labels"));
    cr_expect_str_eq(json_string_value(json_object_get(dst, "keep")), "x");
    cr_expect_eq(json_object_size(dst), 2);
    json_decref(dst);
    json_decref(src);
}
