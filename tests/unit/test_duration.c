/*
 * Unit tests for duration: HumanDuration at every boundary of service-semantics.md 7.4 (both
 * sides), negative and saturated inputs, and the AGE of RFC 3339 timestamps against a fixed "now".
 * Cases live in tests/data/printers/human_duration.json.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdint.h>
#include <string.h>

#include "svc/duration.h"
#include "svc/util.h"

#ifndef TEST_DATA_DIR
#define TEST_DATA_DIR "tests/data"
#endif

static json_t *load_cases(void)
{
    json_error_t err;
    json_t *root = json_load_file(TEST_DATA_DIR "/printers/human_duration.json", 0, &err);
    cr_assert_not_null(root, "cannot load human_duration.json: %s (line %d)", err.text, err.line);
    return root;
}

static int64_t case_nanoseconds(const json_t *c)
{
    json_t *raw = json_object_get(c, "raw");
    if (json_is_integer(raw))
        return (int64_t)json_integer_value(raw);
    json_int_t sec = json_integer_value(json_object_get(c, "sec"));
    json_int_t nsec = json_integer_value(json_object_get(c, "nsec"));
    return (int64_t)sec * 1000000000LL + (int64_t)nsec;
}

Test(duration, human_duration_matches_upstream_at_every_boundary)
{
    json_t *root = load_cases();
    json_t *cases = json_object_get(root, "human");
    cr_assert(json_array_size(cases) >= 40);
    size_t i;
    json_t *c;
    json_array_foreach (cases, i, c) {
        char got[DURATION_LEN];
        int64_t ns = case_nanoseconds(c);
        duration_human(ns, got);
        const char *want = json_string_value(json_object_get(c, "want"));
        cr_expect_str_eq(got, want, "case %zu (%lld ns): got \"%s\", want \"%s\"", i, (long long)ns,
                         got, want);
    }
    json_decref(root);
}

Test(duration, age_of_timestamp_against_fixed_now)
{
    json_t *root = load_cases();
    json_t *cases = json_object_get(root, "age");
    cr_assert(json_array_size(cases) > 0);
    size_t i;
    json_t *c;
    json_array_foreach (cases, i, c) {
        struct timespec now;
        cr_assert_eq(util_parse_time(json_string_value(json_object_get(c, "now")), &now), 0);
        const char *ts = json_string_value(json_object_get(c, "timestamp"));
        char got[DURATION_LEN];
        duration_age(ts, now, got);
        const char *want = json_string_value(json_object_get(c, "want"));
        cr_expect_str_eq(got, want, "case %zu (%s): got \"%s\", want \"%s\"", i, ts ? ts : "null",
                         got, want);
    }
    json_decref(root);
}

Test(duration, between_saturates_instead_of_wrapping)
{
    struct timespec early = {.tv_sec = -62135596799LL, .tv_nsec = 0};
    struct timespec late = {.tv_sec = 253402300799LL, .tv_nsec = 999999999};
    cr_assert_eq(duration_between(early, late), INT64_MAX);
    cr_assert_eq(duration_between(late, early), INT64_MIN);
    struct timespec a = {.tv_sec = 100, .tv_nsec = 900000000};
    struct timespec b = {.tv_sec = 102, .tv_nsec = 100000000};
    cr_assert_eq(duration_between(a, b), 1200000000LL);
    cr_assert_eq(duration_between(b, a), -1200000000LL);
}

Test(duration, zero_time_and_garbage_do_not_parse)
{
    struct timespec ts = {.tv_sec = 7, .tv_nsec = 7};
    cr_assert_eq(duration_parse_timestamp("0001-01-01T00:00:00Z", &ts), -1);
    cr_assert_eq(duration_parse_timestamp(NULL, &ts), -1);
    cr_assert_eq(duration_parse_timestamp("2025-13-01T00:00:00Z", &ts), -1);
    cr_assert_eq(ts.tv_sec, 7, "a failed parse must leave the output alone");
    cr_assert_eq(duration_parse_timestamp("2025-05-01T10:00:00.123456Z", &ts), 0);
    cr_assert_eq(ts.tv_sec, 1746093600);
    cr_assert_eq(ts.tv_nsec, 123456000);
}
