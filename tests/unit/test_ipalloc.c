/*
 * test_ipalloc: the ClusterIP allocator against kube-apiserver 1.33 (service-semantics.md §3 and
 * pkg/registry/core/service/ipallocator): usable addresses, bands, random start, exhaustion,
 * release and reuse, exact error texts, dry runs, counts and concurrent use.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "svc/ipalloc.h"

static struct cidr net(const char *s)
{
    struct cidr out;
    cr_assert_eq(cidr_parse(s, &out), 0, "parse %s", s);
    return out;
}

static struct cidr_ip ip(const char *s)
{
    struct cidr_ip out;
    cr_assert_eq(cidr_ip_parse(s, &out), 0, "parse %s", s);
    return out;
}

static struct ipalloc *new_alloc(const char *range, uint64_t seed)
{
    struct cidr c = net(range);
    struct ipalloc *a = ipalloc_new(&c);
    cr_assert_not_null(a, "ipalloc_new(%s)", range);
    ipalloc_seed(a, seed);
    return a;
}

/* The last octet of an IPv4 address, or the last 16 bits of an IPv6 one. */
static unsigned low16(const struct cidr_ip *a)
{
    return a->family == CIDR_IPV4 ? a->b[3] : (unsigned)a->b[14] << 8 | a->b[15];
}

static void expect_text(char *got, const char *want)
{
    cr_expect_str_eq(got, want);
    free(got);
}

Test(ipalloc, capacity_and_band_follow_upstream)
{
    static const struct {
        const char *range;
        uint32_t capacity, band;
    } cases[] = {
        {"10.0.0.0/24", 254, 16},   {"10.96.0.0/12", 1048574, 256}, {"10.0.0.0/16", 65534, 256},
        {"10.0.0.0/20", 4094, 256}, {"10.0.0.0/21", 2046, 128},     {"10.0.0.0/27", 30, 16},
        {"10.0.0.0/28", 14, 0},     {"10.0.0.0/29", 6, 0},          {"10.0.0.0/30", 2, 0},
        {"10.0.0.0/31", 0, 0},      {"10.0.0.0/32", 0, 0},          {"fd00::/108", 65535, 256},
        {"fd00::/112", 65535, 256}, {"fd00::/120", 255, 16},        {"fd00::/124", 15, 0},
        {"fd00::/127", 1, 0},       {"fd00::/128", 0, 0},           {"fd00::/64", 65535, 256},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct ipalloc *a = new_alloc(cases[i].range, 1);
        cr_expect_eq(ipalloc_capacity(a), cases[i].capacity, "%s capacity", cases[i].range);
        cr_expect_eq(ipalloc_band_offset(a), cases[i].band, "%s band", cases[i].range);
        ipalloc_free(a);
    }
}

Test(ipalloc, refuses_unusable_ranges)
{
    struct cidr none = {0};
    cr_assert_null(ipalloc_new(&none));
    struct cidr huge = net("10.0.0.0/7");
    cr_assert_null(ipalloc_new(&huge), "an IPv4 bitmap above 24 host bits is refused");
    ipalloc_free(NULL); /* NULL-safe */
}

Test(ipalloc, allocates_every_address_of_a_slash24_once)
{
    struct ipalloc *a = new_alloc("10.0.0.0/24", 42);
    bool seen[256] = {false};
    for (int i = 0; i < 254; i++) {
        struct cidr_ip got;
        cr_assert_eq(ipalloc_allocate_next(a, &got), 0, "allocation %d", i);
        cr_assert_eq(got.family, CIDR_IPV4);
        cr_assert(got.b[0] == 10 && got.b[1] == 0 && got.b[2] == 0);
        unsigned last = got.b[3];
        cr_assert(last >= 1 && last <= 254, "10.0.0.%u is not usable", last);
        cr_assert_not(seen[last], "10.0.0.%u handed out twice", last);
        seen[last] = true;
        cr_assert(ipalloc_has(a, &got));
    }
    struct cidr_ip got;
    cr_assert_eq(ipalloc_allocate_next(a, &got), IPALLOC_ERR_FULL);
    struct ipalloc_counts n;
    ipalloc_counts(a, &n);
    cr_assert_eq(n.used, 254);
    cr_assert_eq(n.free, 0);
    ipalloc_free(a);
}

Test(ipalloc, dynamic_band_used_before_static)
{
    /* 10.0.0.0/24: static band 10.0.0.1-10.0.0.16, dynamic band 10.0.0.17-10.0.0.254. */
    struct ipalloc *a = new_alloc("10.0.0.0/24", 7);
    for (int i = 0; i < 238; i++) {
        struct cidr_ip got;
        cr_assert_eq(ipalloc_allocate_next(a, &got), 0);
        cr_assert(got.b[3] >= 17 && got.b[3] <= 254,
                  "pick %d: 10.0.0.%u while the upper band "
                  "has room",
                  i, got.b[3]);
    }
    for (int i = 0; i < 16; i++) {
        struct cidr_ip got;
        cr_assert_eq(ipalloc_allocate_next(a, &got), 0);
        cr_assert(got.b[3] >= 1 && got.b[3] <= 16, "10.0.0.%u after the upper band is full",
                  got.b[3]);
    }
    struct cidr_ip got;
    cr_assert_eq(ipalloc_allocate_next(a, &got), IPALLOC_ERR_FULL);
    ipalloc_free(a);
}

Test(ipalloc, static_band_stays_free_for_specific_requests)
{
    /* A specific address of either band can be taken while the dynamic side keeps to its band. */
    struct ipalloc *a = new_alloc("10.96.0.0/12", 3);
    struct cidr_ip dns = ip("10.96.0.10"), api = ip("10.96.0.1"), high = ip("10.100.1.1");
    cr_assert_eq(ipalloc_allocate(a, &api), 0);
    cr_assert_eq(ipalloc_allocate(a, &dns), 0);
    cr_assert_eq(ipalloc_allocate(a, &high), 0);
    struct cidr c = net("10.96.0.0/12");
    for (int i = 0; i < 2000; i++) {
        struct cidr_ip got;
        struct cidr_u128 off;
        cr_assert_eq(ipalloc_allocate_next(a, &got), 0);
        cr_assert_eq(cidr_ip_offset(&c, &got, &off), 0);
        cr_assert(off.lo > 256,
                  "dynamic pick at offset %llu is in the static band "
                  "(10.96.0.1-10.96.1.0)",
                  (unsigned long long)off.lo);
    }
    ipalloc_free(a);
}

Test(ipalloc, ipv6_upper_band_then_lower_band)
{
    /* fd00::/120: 255 usable (network excluded, last address usable), band 16. */
    struct ipalloc *a = new_alloc("fd00::/120", 11);
    bool seen[256] = {false};
    for (int i = 0; i < 255; i++) {
        struct cidr_ip got;
        cr_assert_eq(ipalloc_allocate_next(a, &got), 0);
        unsigned v = low16(&got);
        cr_assert(v >= 1 && v <= 255, "fd00::%x outside the usable range", v);
        if (i < 239)
            cr_assert(v >= 17, "fd00::%x picked before the upper band is full", v);
        else
            cr_assert(v <= 16, "fd00::%x picked after the upper band is full", v);
        cr_assert_not(seen[v]);
        seen[v] = true;
    }
    cr_assert(seen[255], "the last address of an IPv6 range is usable");
    struct cidr_ip got;
    cr_assert_eq(ipalloc_allocate_next(a, &got), IPALLOC_ERR_FULL);
    ipalloc_free(a);
}

Test(ipalloc, ipv6_bitmap_is_capped_at_65536_slots)
{
    /* fd00::/108 holds 2^20 addresses but only fd00::1 ... fd00::ffff are usable. */
    struct ipalloc *a = new_alloc("fd00::/108", 5);
    struct cidr_ip last_slot = ip("fd00::ffff"), beyond = ip("fd00::1:0");
    cr_assert_eq(ipalloc_allocate(a, &last_slot), 0);
    cr_assert_eq(ipalloc_allocate(a, &beyond), IPALLOC_ERR_NOT_IN_RANGE);
    for (int i = 0; i < 5000; i++) {
        struct cidr_ip got;
        cr_assert_eq(ipalloc_allocate_next(a, &got), 0);
        cr_assert(got.b[12] == 0 && got.b[13] == 0, "dynamic pick beyond the 65536-slot cap");
        cr_assert(low16(&got) >= 257, "dynamic pick in the static band");
    }
    struct ipalloc_counts n;
    ipalloc_counts(a, &n);
    cr_assert_eq(n.used, 5001);
    cr_assert_eq(n.free, 65535 - 5001);
    cr_assert_eq(n.available_gauge, 1048575 - 5001, "1.33 gauge: IPv6 host count minus used");
    ipalloc_free(a);
}

Test(ipalloc, exhaustion_on_a_slash28)
{
    struct ipalloc *a = new_alloc("10.0.0.0/28", 99);
    cr_assert_eq(ipalloc_band_offset(a), 0);
    unsigned mask = 0;
    for (int i = 0; i < 14; i++) {
        struct cidr_ip got;
        cr_assert_eq(ipalloc_allocate_next(a, &got), 0);
        cr_assert(got.b[3] >= 1 && got.b[3] <= 14);
        mask |= 1u << got.b[3];
    }
    cr_assert_eq(mask, 0x7FFEu, "10.0.0.1-10.0.0.14, each once");
    struct cidr_ip got;
    int rc = ipalloc_allocate_next(a, &got);
    cr_assert_eq(rc, IPALLOC_ERR_FULL);
    expect_text(ipalloc_dynamic_error_message(rc), "failed to allocate a serviceIP: range is full");
    expect_text(ipalloc_strerror(a, rc, NULL), "range is full");
    ipalloc_free(a);
}

Test(ipalloc, release_and_reuse)
{
    struct ipalloc *a = new_alloc("10.0.0.0/28", 1);
    struct cidr_ip got;
    for (int i = 0; i < 14; i++)
        cr_assert_eq(ipalloc_allocate_next(a, &got), 0);
    struct cidr_ip five = ip("10.0.0.5");
    cr_assert(ipalloc_has(a, &five));
    cr_assert_eq(ipalloc_release(a, &five), 0);
    cr_assert_not(ipalloc_has(a, &five));
    cr_assert_eq(ipalloc_release(a, &five), IPALLOC_ERR_NOT_ALLOCATED, "second release is a no-op");
    cr_assert_eq(ipalloc_allocate_next(a, &got), 0);
    cr_assert(cidr_ip_equal(&got, &five), "the only free address is handed out again");
    cr_assert_eq(ipalloc_allocate_next(a, &got), IPALLOC_ERR_FULL);

    /* A released address can be taken explicitly too. */
    cr_assert_eq(ipalloc_release(a, &five), 0);
    cr_assert_eq(ipalloc_allocate(a, &five), 0);

    /* Releasing what the range does not hold changes nothing. */
    struct cidr_ip network = ip("10.0.0.0"), outside = ip("192.168.0.1"), v6 = ip("fd00::1");
    cr_assert_eq(ipalloc_release(a, &network), IPALLOC_ERR_NOT_ALLOCATED);
    cr_assert_eq(ipalloc_release(a, &outside), IPALLOC_ERR_NOT_ALLOCATED);
    cr_assert_eq(ipalloc_release(a, &v6), IPALLOC_ERR_NOT_ALLOCATED);
    struct ipalloc_counts n;
    ipalloc_counts(a, &n);
    cr_assert_eq(n.used, 14);
    ipalloc_free(a);
}

Test(ipalloc, random_start_depends_on_the_seed)
{
    struct ipalloc *a = new_alloc("10.96.0.0/12", 1), *b = new_alloc("10.96.0.0/12", 2);
    struct ipalloc *c = new_alloc("10.96.0.0/12", 1);
    struct cidr_ip x, y, z;
    cr_assert_eq(ipalloc_allocate_next(a, &x), 0);
    cr_assert_eq(ipalloc_allocate_next(b, &y), 0);
    cr_assert_eq(ipalloc_allocate_next(c, &z), 0);
    cr_assert_not(cidr_ip_equal(&x, &y), "two seeds gave the same first pick");
    cr_assert(cidr_ip_equal(&x, &z), "one seed gives one sequence");
    /* Not sequential: the second pick is not simply the next address. */
    struct cidr_ip x2;
    cr_assert_eq(ipalloc_allocate_next(a, &x2), 0);
    struct cidr r = net("10.96.0.0/12");
    struct cidr_u128 o1, o2;
    cidr_ip_offset(&r, &x, &o1);
    cidr_ip_offset(&r, &x2, &o2);
    cr_assert(o2.lo != o1.lo + 1, "allocation looks sequential");
    ipalloc_free(a);
    ipalloc_free(b);
    ipalloc_free(c);
}

Test(ipalloc, random_start_covers_the_dynamic_band)
{
    /* One allocate/release cycle per trial: every pick is a fresh random start in 17..254. */
    struct ipalloc *a = new_alloc("10.0.0.0/24", 2024);
    unsigned hits[256] = {0};
    for (int i = 0; i < 20000; i++) {
        struct cidr_ip got;
        cr_assert_eq(ipalloc_allocate_next(a, &got), 0);
        hits[got.b[3]]++;
        cr_assert_eq(ipalloc_release(a, &got), 0);
    }
    for (unsigned v = 1; v <= 16; v++)
        cr_assert_eq(hits[v], 0, "10.0.0.%u (static band) picked with the upper band empty", v);
    for (unsigned v = 17; v <= 254; v++) {
        /* 20000/238 = 84 expected; a uniform start lands far from 0 and from 3x that. */
        cr_assert(hits[v] > 20 && hits[v] < 250, "10.0.0.%u picked %u times", v, hits[v]);
    }
    ipalloc_free(a);
}

Test(ipalloc, specific_allocation_errors_have_exact_texts)
{
    struct ipalloc *a = new_alloc("10.96.0.0/12", 1);
    struct cidr_ip dns = ip("10.96.0.10");
    cr_assert_eq(ipalloc_allocate(a, &dns), 0);
    int rc = ipalloc_allocate(a, &dns);
    cr_assert_eq(rc, IPALLOC_ERR_ALLOCATED);
    expect_text(ipalloc_static_error_detail(a, rc, "10.96.0.10"),
                "failed to allocate IP 10.96.0.10: provided IP is already allocated");
    expect_text(ipalloc_strerror(a, rc, "10.96.0.10"), "provided IP is already allocated");

    struct cidr_ip network = ip("10.96.0.0"), bcast = ip("10.111.255.255");
    rc = ipalloc_allocate(a, &network);
    cr_assert_eq(rc, IPALLOC_ERR_NOT_IN_RANGE);
    expect_text(ipalloc_static_error_detail(a, rc, "10.96.0.0"),
                "failed to allocate IP 10.96.0.0: the provided IP (10.96.0.0) is not in the valid "
                "range. The range of valid IPs is 10.96.0.0/12");
    rc = ipalloc_allocate(a, &bcast);
    cr_assert_eq(rc, IPALLOC_ERR_NOT_IN_RANGE);
    expect_text(ipalloc_static_error_detail(a, rc, "10.111.255.255"),
                "failed to allocate IP 10.111.255.255: the provided IP (10.111.255.255) is not in "
                "the valid range. The range of valid IPs is 10.96.0.0/12");

    struct cidr_ip outside = ip("10.233.46.63");
    rc = ipalloc_allocate(a, &outside);
    cr_assert_eq(rc, IPALLOC_ERR_MISMATCHED_NETWORK);
    expect_text(ipalloc_static_error_detail(a, rc, "10.233.46.63"),
                "failed to allocate IP 10.233.46.63: the provided network does not match the "
                "current range");
    struct cidr_ip other_family = ip("fd00::10");
    cr_assert_eq(ipalloc_allocate(a, &other_family), IPALLOC_ERR_MISMATCHED_NETWORK);

    struct cidr_ip ok = ip("10.111.255.254");
    cr_assert_eq(ipalloc_allocate(a, &ok), 0, "the address before broadcast is usable");
    ipalloc_free(a);
}

Test(ipalloc, error_text_repeats_the_user_text_and_prints_the_canonical_ip)
{
    /* The registry wraps with the clusterIPs string as written; the allocator prints net.IP. */
    struct ipalloc *a = new_alloc("fd00:10:96::/108", 1);
    struct cidr_ip network = ip("FD00:10:96::0");
    int rc = ipalloc_allocate(a, &network);
    cr_assert_eq(rc, IPALLOC_ERR_NOT_IN_RANGE);
    expect_text(ipalloc_static_error_detail(a, rc, "FD00:10:96::0"),
                "failed to allocate IP FD00:10:96::0: the provided IP (fd00:10:96::) is not in the "
                "valid range. The range of valid IPs is fd00:10:96::/108");
    struct cidr_ip beyond = ip("fd00:10:96::1:0");
    rc = ipalloc_allocate(a, &beyond);
    cr_assert_eq(rc, IPALLOC_ERR_NOT_IN_RANGE, "past the 65536-slot cap");
    expect_text(ipalloc_strerror(a, rc, "fd00:10:96:0:0:0:1:0"),
                "the provided IP (fd00:10:96::1:0) is not in the valid range. The range of valid "
                "IPs is fd00:10:96::/108");
    expect_text(ipalloc_strerror(a, IPALLOC_ERR_NOT_IN_RANGE, "bogus"),
                "the provided IP (<nil>) is not in the valid range. The range of valid IPs is "
                "fd00:10:96::/108");
    ipalloc_free(a);
}

Test(ipalloc, dry_run_checks_range_only)
{
    struct ipalloc *a = new_alloc("10.96.0.0/12", 1);
    struct cidr_ip held = ip("10.96.0.10");
    cr_assert_eq(ipalloc_allocate(a, &held), 0);
    cr_assert_eq(ipalloc_check(a, &held), 0, "1.33's dry run does not look for conflicts");
    struct cidr_ip network = ip("10.96.0.0"), bcast = ip("10.111.255.255");
    struct cidr_ip outside = ip("1.1.1.1"), v6 = ip("fd00::1"), fine = ip("10.100.0.1");
    cr_assert_eq(ipalloc_check(a, &network), IPALLOC_ERR_NOT_IN_RANGE);
    cr_assert_eq(ipalloc_check(a, &bcast), IPALLOC_ERR_NOT_IN_RANGE);
    cr_assert_eq(ipalloc_check(a, &outside), IPALLOC_ERR_NOT_IN_RANGE,
                 "outside the CIDR is 'not in the valid range' in a dry run");
    cr_assert_eq(ipalloc_check(a, &v6), IPALLOC_ERR_NOT_IN_RANGE);
    cr_assert_eq(ipalloc_check(a, &fine), 0);
    cr_assert_not(ipalloc_has(a, &fine), "a dry run reserves nothing");
    expect_text(ipalloc_static_error_detail(a, IPALLOC_ERR_NOT_IN_RANGE, "1.1.1.1"),
                "failed to allocate IP 1.1.1.1: the provided IP (1.1.1.1) is not in the valid "
                "range. The range of valid IPs is 10.96.0.0/12");
    ipalloc_free(a);

    /* IPv6: the dry run knows no 65536-slot cap and accepts the last address. */
    a = new_alloc("fd00::/108", 1);
    struct cidr_ip last = ip("fd00::f:ffff"), net6 = ip("fd00::"), past = ip("fd00::10:0");
    cr_assert_eq(ipalloc_check(a, &last), 0);
    cr_assert_eq(ipalloc_allocate(a, &last), IPALLOC_ERR_NOT_IN_RANGE, "but the real write does");
    cr_assert_eq(ipalloc_check(a, &net6), IPALLOC_ERR_NOT_IN_RANGE);
    cr_assert_eq(ipalloc_check(a, &past), IPALLOC_ERR_NOT_IN_RANGE);
    ipalloc_free(a);
}

Test(ipalloc, counts_follow_allocations)
{
    struct ipalloc *a = new_alloc("10.0.0.0/24", 1);
    struct ipalloc_counts n;
    ipalloc_counts(a, &n);
    cr_assert(n.used == 0 && n.free == 254 && n.available_gauge == 254);
    struct cidr_ip got, one = ip("10.0.0.1");
    cr_assert_eq(ipalloc_allocate(a, &one), 0);
    cr_assert_eq(ipalloc_allocate_next(a, &got), 0);
    cr_assert_eq(ipalloc_allocate_next(a, &got), 0);
    ipalloc_counts(a, &n);
    cr_assert(n.used == 3 && n.free == 251 && n.available_gauge == 251);
    cr_assert_eq(ipalloc_release(a, &one), 0);
    ipalloc_counts(a, &n);
    cr_assert(n.used == 2 && n.free == 252);
    ipalloc_free(a);
}

Test(ipalloc, tiny_ranges_are_always_full)
{
    struct ipalloc *a = new_alloc("10.0.0.0/31", 1);
    struct cidr_ip got, x = ip("10.0.0.1");
    cr_assert_eq(ipalloc_allocate_next(a, &got), IPALLOC_ERR_FULL);
    cr_assert_eq(ipalloc_allocate(a, &x), IPALLOC_ERR_NOT_IN_RANGE);
    ipalloc_free(a);
    a = new_alloc("fd00::/127", 1);
    cr_assert_eq(ipalloc_allocate_next(a, &got), 0);
    cr_assert(cidr_ip_equal(&got, &(struct cidr_ip){0}) == false);
    cr_assert_eq(low16(&got), 1);
    cr_assert_eq(ipalloc_allocate_next(a, &got), IPALLOC_ERR_FULL);
    ipalloc_free(a);
}

Test(ipalloc, rebuild_reports_duplicates_and_strays)
{
    /* At start the registry marks every stored clusterIP; conflicts must surface. */
    struct ipalloc *a = new_alloc("10.96.0.0/12", 1);
    const char *stored[] = {"10.96.0.1",  "10.96.0.10", "10.100.3.4",
                            "10.96.0.10", "10.0.0.5",   "10.96.0.0"};
    int want[] = {
        0, 0, 0, IPALLOC_ERR_ALLOCATED, IPALLOC_ERR_MISMATCHED_NETWORK, IPALLOC_ERR_NOT_IN_RANGE};
    for (size_t i = 0; i < sizeof(stored) / sizeof(stored[0]); i++) {
        struct cidr_ip x = ip(stored[i]);
        cr_expect_eq(ipalloc_allocate(a, &x), want[i], "%s", stored[i]);
    }
    struct ipalloc_counts n;
    ipalloc_counts(a, &n);
    cr_assert_eq(n.used, 3);
    ipalloc_free(a);
}

#define THREADS    8
#define PER_THREAD 2000

struct worker {
    struct ipalloc *a;
    struct cidr_ip got[PER_THREAD];
    int failures;
    int won; /* for the race on one specific address */
};

static void *allocate_many(void *arg)
{
    struct worker *w = arg;
    for (int i = 0; i < PER_THREAD; i++)
        if (ipalloc_allocate_next(w->a, &w->got[i]) != 0)
            w->failures++;
    struct cidr_ip contested;
    cidr_ip_parse("10.96.0.10", &contested);
    w->won = ipalloc_allocate(w->a, &contested) == 0;
    return NULL;
}

static int cmp_ip(const void *x, const void *y)
{
    return cidr_ip_cmp(x, y);
}

Test(ipalloc, threads_allocate_without_duplicates)
{
    struct ipalloc *a = new_alloc("10.96.0.0/16", 1);
    struct worker *w = calloc(THREADS, sizeof(*w));
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++) {
        w[i].a = a;
        cr_assert_eq(pthread_create(&t[i], NULL, allocate_many, &w[i]), 0);
    }
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);

    struct cidr_ip *all = calloc(THREADS * PER_THREAD, sizeof(*all));
    int winners = 0;
    for (int i = 0; i < THREADS; i++) {
        cr_assert_eq(w[i].failures, 0);
        memcpy(all + i * PER_THREAD, w[i].got, sizeof(w[i].got));
        winners += w[i].won;
    }
    qsort(all, THREADS * PER_THREAD, sizeof(*all), cmp_ip);
    for (int i = 1; i < THREADS * PER_THREAD; i++)
        cr_assert_not(cidr_ip_equal(&all[i - 1], &all[i]), "an address was handed out twice");
    cr_assert_eq(winners, 1, "exactly one thread gets a contested specific address");
    struct ipalloc_counts n;
    ipalloc_counts(a, &n);
    cr_assert_eq(n.used, THREADS * PER_THREAD + 1);
    free(all);
    free(w);
    ipalloc_free(a);
}
