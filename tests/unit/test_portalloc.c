/*
 * test_portalloc: the NodePort allocator and the --service-node-port-range parser against
 * kube-apiserver 1.33 (service-semantics.md §4, portallocator, apimachinery net.PortRange):
 * flag syntax and errors (table in tests/data/alloc/port_ranges.json), bands, random start,
 * exhaustion, release and reuse, exact texts, dry runs, counts and concurrent use.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "svc/portalloc.h"

#ifndef TEST_DATA_DIR
#define TEST_DATA_DIR "tests/data"
#endif

static struct portalloc *new_alloc(const char *spec, uint64_t seed)
{
    struct portalloc_range r;
    char *err = NULL;
    cr_assert_eq(portalloc_parse_range(spec, &r, &err), 0, "%s: %s", spec, err ? err : "");
    struct portalloc *pa = portalloc_new(&r);
    cr_assert_not_null(pa, "portalloc_new(%s)", spec);
    portalloc_seed(pa, seed);
    return pa;
}

static void expect_text(char *got, const char *want)
{
    cr_expect_str_eq(got, want);
    free(got);
}

Test(portalloc, parses_the_range_flag_like_port_range_set)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/alloc/port_ranges.json", TEST_DATA_DIR);
    json_error_t jerr;
    json_t *root = json_load_file(path, 0, &jerr);
    cr_assert_not_null(root, "cannot load %s: %s", path, jerr.text);
    json_t *cases = json_object_get(root, "cases");
    cr_assert(json_array_size(cases) > 0);
    size_t i;
    json_t *c;
    json_array_foreach (cases, i, c) {
        const char *in = json_string_value(json_object_get(c, "in"));
        const char *want_err = json_string_value(json_object_get(c, "error"));
        struct portalloc_range r;
        char *err = NULL;
        int rc = portalloc_parse_range(in, &r, &err);
        if (want_err) {
            cr_expect_eq(rc, PORTALLOC_ERR_SYNTAX, "'%s' should be refused", in);
            cr_expect_str_eq(err ? err : "(null)", want_err, "'%s' message", in);
            free(err);
            continue;
        }
        cr_expect_eq(rc, 0, "'%s' should parse: %s", in, err ? err : "");
        cr_expect_null(err);
        free(err);
        cr_expect_eq(r.base, json_integer_value(json_object_get(c, "base")), "'%s' base", in);
        cr_expect_eq(r.size, json_integer_value(json_object_get(c, "size")), "'%s' size", in);
        char buf[PORTALLOC_RANGE_STRLEN];
        cr_expect_str_eq(portalloc_range_format(&r, buf),
                         json_string_value(json_object_get(c, "text")), "'%s' text", in);
    }
    json_decref(root);
}

Test(portalloc, null_flag_is_the_default_and_errors_need_no_buffer)
{
    struct portalloc_range r;
    cr_assert_eq(portalloc_parse_range(NULL, &r, NULL), 0);
    cr_assert(r.base == 30000 && r.size == 2768);
    cr_assert_eq(portalloc_parse_range("abc", &r, NULL), PORTALLOC_ERR_SYNTAX);
    char buf[PORTALLOC_RANGE_STRLEN];
    cr_assert_str_eq(portalloc_range_format(&(struct portalloc_range){0, 0}, buf), "",
                     "an empty PortRange prints as nothing");
}

Test(portalloc, range_contains)
{
    struct portalloc_range r = {30000, 2768};
    cr_assert(portalloc_range_contains(&r, 30000));
    cr_assert(portalloc_range_contains(&r, 32767));
    cr_assert_not(portalloc_range_contains(&r, 29999));
    cr_assert_not(portalloc_range_contains(&r, 32768));
    cr_assert_not(portalloc_range_contains(&r, -2147483647 - 1));
    cr_assert_not(portalloc_range_contains(&r, 2147483647));
}

Test(portalloc, refuses_impossible_ranges)
{
    cr_assert_null(portalloc_new(&(struct portalloc_range){30000, 0}));
    cr_assert_null(portalloc_new(&(struct portalloc_range){-1, 10}));
    cr_assert_null(portalloc_new(&(struct portalloc_range){65530, 7}));
    struct portalloc *pa = portalloc_new(&(struct portalloc_range){0, 65536});
    cr_assert_not_null(pa, "0-65535 is a valid range");
    portalloc_free(pa);
    portalloc_free(NULL);
}

Test(portalloc, band_offset_follows_kep_3668)
{
    static const struct {
        const char *spec;
        int band;
    } cases[] = {
        {"30000-32767", 86},  {"30000-30009", 0},  {"30000-30015", 0},
        {"30000-30016", 16},  {"30000-30600", 18}, {"1-65535", 128},
        {"30000-34095", 128}, {"30000-30511", 16}, {"30000-30543", 17},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct portalloc *pa = new_alloc(cases[i].spec, 1);
        cr_expect_eq(portalloc_band_offset(pa), cases[i].band, "%s", cases[i].spec);
        portalloc_free(pa);
    }
}

Test(portalloc, dynamic_band_used_before_static)
{
    /* Default range: static 30000-30085, dynamic 30086-32767 (2682 ports). */
    struct portalloc *pa = new_alloc("30000-32767", 17);
    static bool seen[2768];
    for (int i = 0; i < 2682; i++) {
        int port;
        cr_assert_eq(portalloc_allocate_next(pa, &port), 0);
        cr_assert(port >= 30086 && port <= 32767, "pick %d: %d while the upper band has room", i,
                  port);
        cr_assert_not(seen[port - 30000], "%d handed out twice", port);
        seen[port - 30000] = true;
    }
    for (int i = 0; i < 86; i++) {
        int port;
        cr_assert_eq(portalloc_allocate_next(pa, &port), 0);
        cr_assert(port >= 30000 && port <= 30085, "%d after the upper band is full", port);
        cr_assert_not(seen[port - 30000]);
        seen[port - 30000] = true;
    }
    int port;
    cr_assert_eq(portalloc_allocate_next(pa, &port), PORTALLOC_ERR_FULL);
    portalloc_free(pa);
}

Test(portalloc, exhaustion_on_a_ten_port_range)
{
    struct portalloc *pa = new_alloc("30000-30009", 5);
    unsigned mask = 0;
    for (int i = 0; i < 10; i++) {
        int port;
        cr_assert_eq(portalloc_allocate_next(pa, &port), 0);
        cr_assert(port >= 30000 && port <= 30009);
        cr_assert_not(mask & 1u << (port - 30000), "%d twice", port);
        mask |= 1u << (port - 30000);
    }
    int port;
    int rc = portalloc_allocate_next(pa, &port);
    cr_assert_eq(rc, PORTALLOC_ERR_FULL);
    cr_assert_eq(port, 0);
    expect_text(portalloc_dynamic_error_message(rc),
                "failed to allocate a nodePort: range is full");
    expect_text(portalloc_strerror(pa, rc), "range is full");
    expect_text(portalloc_health_check_error_message(pa, rc, 0),
                "failed to allocate a HealthCheck NodePort 0: range is full");
    struct portalloc_counts n;
    portalloc_counts(pa, &n);
    cr_assert(n.used == 10 && n.free == 0);
    portalloc_free(pa);
}

Test(portalloc, upper_band_of_one_port)
{
    /* 17 ports: band 16, so the upper band is the single port 30016. */
    struct portalloc *pa = new_alloc("30000-30016", 123);
    int port;
    cr_assert_eq(portalloc_allocate_next(pa, &port), 0);
    cr_assert_eq(port, 30016);
    cr_assert_eq(portalloc_allocate_next(pa, &port), 0);
    cr_assert(port >= 30000 && port <= 30015);
    portalloc_free(pa);
}

Test(portalloc, release_and_reuse)
{
    struct portalloc *pa = new_alloc("30000-30009", 1);
    int port;
    for (int i = 0; i < 10; i++)
        cr_assert_eq(portalloc_allocate_next(pa, &port), 0);
    cr_assert(portalloc_has(pa, 30004));
    cr_assert_eq(portalloc_release(pa, 30004), 0);
    cr_assert_not(portalloc_has(pa, 30004));
    cr_assert_eq(portalloc_release(pa, 30004), PORTALLOC_ERR_NOT_ALLOCATED);
    cr_assert_eq(portalloc_release(pa, 80), PORTALLOC_ERR_NOT_ALLOCATED);
    cr_assert_eq(portalloc_allocate_next(pa, &port), 0);
    cr_assert_eq(port, 30004, "the only free port is handed out again");
    cr_assert_eq(portalloc_release(pa, 30004), 0);
    cr_assert_eq(portalloc_allocate(pa, 30004), 0);
    struct portalloc_counts n;
    portalloc_counts(pa, &n);
    cr_assert(n.used == 10 && n.free == 0);
    portalloc_free(pa);
}

Test(portalloc, random_start_depends_on_the_seed)
{
    struct portalloc *a = new_alloc("30000-32767", 1), *b = new_alloc("30000-32767", 2);
    struct portalloc *c = new_alloc("30000-32767", 1);
    int x, y, z;
    cr_assert_eq(portalloc_allocate_next(a, &x), 0);
    cr_assert_eq(portalloc_allocate_next(b, &y), 0);
    cr_assert_eq(portalloc_allocate_next(c, &z), 0);
    cr_assert_neq(x, y, "two seeds gave the same first pick");
    cr_assert_eq(x, z, "one seed gives one sequence");
    portalloc_free(a);
    portalloc_free(b);
    portalloc_free(c);
}

Test(portalloc, random_start_covers_the_dynamic_band)
{
    struct portalloc *pa = new_alloc("30000-32767", 77);
    static unsigned hits[2768];
    for (int i = 0; i < 100000; i++) {
        int port;
        cr_assert_eq(portalloc_allocate_next(pa, &port), 0);
        hits[port - 30000]++;
        cr_assert_eq(portalloc_release(pa, port), 0);
    }
    for (int p = 0; p < 86; p++)
        cr_assert_eq(hits[p], 0, "%d (static band) picked with the upper band empty", 30000 + p);
    for (int p = 86; p < 2768; p++) {
        /* 100000/2682 = 37 expected. */
        cr_assert(hits[p] > 5 && hits[p] < 120, "%d picked %u times", 30000 + p, hits[p]);
    }
    portalloc_free(pa);
}

Test(portalloc, specific_allocation_errors_have_exact_texts)
{
    struct portalloc *pa = new_alloc("30000-32767", 1);
    cr_assert_eq(portalloc_allocate(pa, 30080), 0);
    int rc = portalloc_allocate(pa, 30080);
    cr_assert_eq(rc, PORTALLOC_ERR_ALLOCATED);
    expect_text(portalloc_strerror(pa, rc), "provided port is already allocated");
    expect_text(portalloc_health_check_error_message(pa, rc, 30080),
                "failed to allocate requested HealthCheck NodePort 30080: provided port is already "
                "allocated");
    rc = portalloc_allocate(pa, 80);
    cr_assert_eq(rc, PORTALLOC_ERR_NOT_IN_RANGE);
    expect_text(portalloc_strerror(pa, rc),
                "provided port is not in the valid range. The range of valid ports is 30000-32767");
    cr_assert_eq(portalloc_allocate(pa, 32768), PORTALLOC_ERR_NOT_IN_RANGE);
    cr_assert_eq(portalloc_allocate(pa, 29999), PORTALLOC_ERR_NOT_IN_RANGE);
    cr_assert_eq(portalloc_allocate(pa, -1), PORTALLOC_ERR_NOT_IN_RANGE);
    cr_assert_eq(portalloc_allocate(pa, 30000), 0, "the static band takes specific requests");
    cr_assert_eq(portalloc_allocate(pa, 32767), 0);
    portalloc_free(pa);

    pa = new_alloc("30000+9", 1);
    expect_text(portalloc_strerror(pa, PORTALLOC_ERR_NOT_IN_RANGE),
                "provided port is not in the valid range. The range of valid ports is 30000-30009");
    portalloc_free(pa);
}

Test(portalloc, dry_run_checks_conflicts_only)
{
    struct portalloc *pa = new_alloc("30000-32767", 1);
    cr_assert_eq(portalloc_allocate(pa, 30080), 0);
    cr_assert_eq(portalloc_check(pa, 30080), PORTALLOC_ERR_ALLOCATED);
    cr_assert_eq(portalloc_check(pa, 30081), 0);
    cr_assert_not(portalloc_has(pa, 30081), "a dry run reserves nothing");
    cr_assert_eq(portalloc_check(pa, 80), 0, "upstream's dry run does not check the range");
    portalloc_free(pa);
}

Test(portalloc, rebuild_reports_duplicates_and_strays)
{
    struct portalloc *pa = new_alloc("30000-32767", 1);
    int stored[] = {30080, 31000, 30080, 80, 32767};
    int want[] = {0, 0, PORTALLOC_ERR_ALLOCATED, PORTALLOC_ERR_NOT_IN_RANGE, 0};
    for (size_t i = 0; i < sizeof(stored) / sizeof(stored[0]); i++)
        cr_expect_eq(portalloc_allocate(pa, stored[i]), want[i], "%d", stored[i]);
    struct portalloc_counts n;
    portalloc_counts(pa, &n);
    cr_assert(n.used == 3 && n.free == 2765);
    portalloc_free(pa);
}

#define THREADS    8
#define PER_THREAD 300

struct worker {
    struct portalloc *pa;
    int got[PER_THREAD];
    int failures;
    int won;
};

static void *allocate_many(void *arg)
{
    struct worker *w = arg;
    for (int i = 0; i < PER_THREAD; i++)
        if (portalloc_allocate_next(w->pa, &w->got[i]) != 0)
            w->failures++;
    w->won = portalloc_allocate(w->pa, 30080) == 0;
    return NULL;
}

Test(portalloc, threads_allocate_without_duplicates)
{
    struct portalloc *pa = new_alloc("30000-32767", 1);
    struct worker w[THREADS];
    memset(w, 0, sizeof(w));
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++) {
        w[i].pa = pa;
        cr_assert_eq(pthread_create(&t[i], NULL, allocate_many, &w[i]), 0);
    }
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    static bool seen[2768];
    int winners = 0;
    for (int i = 0; i < THREADS; i++) {
        cr_assert_eq(w[i].failures, 0);
        winners += w[i].won;
        for (int j = 0; j < PER_THREAD; j++) {
            int p = w[i].got[j] - 30000;
            cr_assert(p >= 0 && p < 2768);
            cr_assert_not(seen[p], "%d handed out twice", w[i].got[j]);
            seen[p] = true;
        }
    }
    /* 30080 is in the static band, so no dynamic pick took it before the race. */
    cr_assert_eq(winners, 1, "exactly one thread gets a contested specific port");
    struct portalloc_counts n;
    portalloc_counts(pa, &n);
    cr_assert_eq(n.used, THREADS * PER_THREAD + 1);
    portalloc_free(pa);
}
