/*
 * test_cidr: address and prefix parsing (tables in tests/data/alloc/), Go-compatible text,
 * 128-bit arithmetic around 2^64, and the --service-cluster-ip-range checks. Expected values
 * follow Go's net package, k8s.io/utils/net and kube-apiserver 1.33, never this code's output.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "svc/cidr.h"

#ifndef TEST_DATA_DIR
#define TEST_DATA_DIR "tests/data"
#endif

static json_t *load_cases(const char *name)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/alloc/%s", TEST_DATA_DIR, name);
    json_error_t err;
    json_t *root = json_load_file(path, 0, &err);
    cr_assert_not_null(root, "cannot load %s: %s (line %d)", path, err.text, err.line);
    json_t *cases = json_object_get(root, "cases");
    cr_assert(json_is_array(cases) && json_array_size(cases) > 0, "%s has no cases", path);
    json_incref(cases);
    json_decref(root);
    return cases;
}

static struct cidr_ip ip(const char *s)
{
    struct cidr_ip out;
    cr_assert_eq(cidr_ip_parse(s, &out), 0, "parse %s", s);
    return out;
}

static struct cidr net(const char *s)
{
    struct cidr out;
    cr_assert_eq(cidr_parse(s, &out), 0, "parse %s", s);
    return out;
}

Test(cidr, parses_and_prints_addresses_like_go)
{
    json_t *cases = load_cases("ip_parse.json");
    size_t i;
    json_t *c;
    json_array_foreach (cases, i, c) {
        const char *in = json_string_value(json_object_get(c, "in"));
        int family = (int)json_integer_value(json_object_get(c, "family"));
        struct cidr_ip out;
        int rc = cidr_ip_parse(in, &out);
        if (family == 0) {
            cr_expect_eq(rc, CIDR_ERR_SYNTAX, "%s should be refused", in);
            cr_expect_eq(out.family, CIDR_FAMILY_NONE, "%s: refused leaves no family", in);
            continue;
        }
        cr_expect_eq(rc, 0, "%s should parse", in);
        cr_expect_eq((int)out.family, family, "%s family", in);
        char buf[CIDR_IP_STRLEN];
        cr_expect_str_eq(cidr_ip_format(&out, buf), json_string_value(json_object_get(c, "text")),
                         "%s text", in);
    }
    json_decref(cases);
}

Test(cidr, parses_and_prints_prefixes_like_go)
{
    json_t *cases = load_cases("cidr_parse.json");
    size_t i;
    json_t *c;
    json_array_foreach (cases, i, c) {
        const char *in = json_string_value(json_object_get(c, "in"));
        int family = (int)json_integer_value(json_object_get(c, "family"));
        struct cidr out;
        int rc = cidr_parse(in, &out);
        if (family == 0) {
            cr_expect_eq(rc, CIDR_ERR_SYNTAX, "%s should be refused", in);
            continue;
        }
        cr_expect_eq(rc, 0, "%s should parse", in);
        cr_expect_eq((int)out.ip.family, family, "%s family", in);
        cr_expect_eq(cidr_host_bits(&out),
                     (unsigned)json_integer_value(json_object_get(c, "host_bits")), "%s host bits",
                     in);
        char buf[CIDR_STRLEN];
        cr_expect_str_eq(cidr_format(&out, buf), json_string_value(json_object_get(c, "text")),
                         "%s text", in);
    }
    json_decref(cases);
}

Test(cidr, null_input_is_refused)
{
    struct cidr_ip a;
    struct cidr c;
    cr_assert_eq(cidr_ip_parse(NULL, &a), CIDR_ERR_SYNTAX);
    cr_assert_eq(cidr_parse(NULL, &c), CIDR_ERR_SYNTAX);
}

Test(cidr, long_hex_groups_with_leading_zeros_are_accepted)
{
    /* Go's xtoi reads any number of leading zeros; only the value must fit 16 bits. */
    char buf[CIDR_STRLEN];
    struct cidr c = net("000000000000000000000000000000fd00::/64");
    cr_assert_str_eq(cidr_format(&c, buf), "fd00::/64");
}

Test(cidr, families_and_names)
{
    struct cidr_ip v4 = ip("10.0.0.1"), v6 = ip("fd00::1");
    cr_assert_eq(v4.family, CIDR_IPV4);
    cr_assert_eq(v6.family, CIDR_IPV6);
    cr_assert_str_eq(cidr_family_name(CIDR_IPV4), "IPv4");
    cr_assert_str_eq(cidr_family_name(CIDR_IPV6), "IPv6");
    cr_assert_eq(cidr_family_bits(CIDR_IPV4), 32);
    cr_assert_eq(cidr_family_bits(CIDR_IPV6), 128);
    cr_assert(cidr_ip_cmp(&v4, &v6) < 0, "IPv4 sorts before IPv6");
    struct cidr_ip a = ip("10.0.0.2");
    cr_assert(cidr_ip_cmp(&v4, &a) < 0);
    cr_assert(cidr_ip_equal(&v4, &(struct cidr_ip){0}) == false);
    struct cidr_ip mapped = ip("::ffff:10.0.0.1");
    cr_assert(cidr_ip_equal(&v4, &mapped), "an IPv4-mapped address equals the IPv4 one");
}

Test(cidr, contains_network_and_broadcast)
{
    struct cidr c = net("10.96.0.0/12");
    struct cidr_ip first = ip("10.96.0.0"), last = ip("10.111.255.255"), out = ip("10.112.0.0");
    struct cidr_ip below = ip("10.95.255.255"), v6 = ip("fd00::1");
    cr_assert(cidr_contains(&c, &first));
    cr_assert(cidr_contains(&c, &last));
    cr_assert_not(cidr_contains(&c, &out));
    cr_assert_not(cidr_contains(&c, &below));
    cr_assert_not(cidr_contains(&c, &v6), "another family is never contained");

    char buf[CIDR_IP_STRLEN];
    struct cidr_ip n, b;
    cidr_network(&c, &n);
    cidr_broadcast(&c, &b);
    cr_assert_str_eq(cidr_ip_format(&n, buf), "10.96.0.0");
    cr_assert_str_eq(cidr_ip_format(&b, buf), "10.111.255.255");

    struct cidr c6 = net("fd00:10:96::/108");
    cidr_broadcast(&c6, &b);
    cr_assert_str_eq(cidr_ip_format(&b, buf), "fd00:10:96::f:ffff");
    struct cidr all = net("::/0");
    cidr_broadcast(&all, &b);
    cr_assert_str_eq(cidr_ip_format(&b, buf), "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
    struct cidr any4 = net("0.0.0.0/0");
    struct cidr_ip x = ip("203.0.113.9");
    cr_assert(cidr_contains(&any4, &x));
}

Test(cidr, sizes_use_128_bits)
{
    struct cidr_u128 s;
    s = cidr_size(&(struct cidr){ip("10.0.0.0"), 24});
    cr_assert(s.hi == 0 && s.lo == 256);
    s = cidr_size(&(struct cidr){ip("::"), 64});
    cr_assert(s.hi == 1 && s.lo == 0, "2^64");
    s = cidr_size(&(struct cidr){ip("::"), 63});
    cr_assert(s.hi == 2 && s.lo == 0, "2^65");
    s = cidr_size(&(struct cidr){ip("::"), 1});
    cr_assert(s.hi == (uint64_t)1 << 63 && s.lo == 0, "2^127");
    s = cidr_size(&(struct cidr){ip("::"), 0});
    cr_assert(s.hi == UINT64_MAX && s.lo == UINT64_MAX, "2^128 saturates");
    s = cidr_size(&(struct cidr){ip("::1"), 128});
    cr_assert(s.hi == 0 && s.lo == 1);
}

Test(cidr, range_size_follows_utils_net)
{
    struct cidr c = net("10.96.0.0/12");
    cr_assert_eq(cidr_range_size(&c), 1048576);
    c = net("fd00::/66"); /* 62 host bits */
    cr_assert_eq(cidr_range_size(&c), (int64_t)1 << 62);
    c = net("fd00::/65"); /* 63 host bits: RangeSize gives up */
    cr_assert_eq(cidr_range_size(&c), INT64_MAX);
    c = net("fd00::/64");
    cr_assert_eq(cidr_range_size(&c), INT64_MAX);
    c = net("10.0.0.1/32");
    cr_assert_eq(cidr_range_size(&c), 1);
}

Test(cidr, offsets_near_2_to_the_64)
{
    char buf[CIDR_IP_STRLEN];
    struct cidr_ip out;
    struct cidr c64 = net("2001:db8::/64");

    cr_assert_eq(cidr_ip_at(&c64, (struct cidr_u128){0, UINT64_MAX}, &out), 0);
    cr_assert_str_eq(cidr_ip_format(&out, buf), "2001:db8::ffff:ffff:ffff:ffff");
    cr_assert_eq(cidr_ip_at(&c64, (struct cidr_u128){1, 0}, &out), CIDR_ERR_RANGE,
                 "2^64 is outside a /64");

    struct cidr c63 = net("2001:db8::/63");
    cr_assert_eq(cidr_ip_at(&c63, (struct cidr_u128){1, 0}, &out), 0);
    cr_assert_str_eq(cidr_ip_format(&out, buf), "2001:db8:0:1::");
    cr_assert_eq(cidr_ip_at(&c63, (struct cidr_u128){1, 5}, &out), 0);
    cr_assert_str_eq(cidr_ip_format(&out, buf), "2001:db8:0:1::5");
    cr_assert_eq(cidr_ip_at(&c63, (struct cidr_u128){2, 0}, &out), CIDR_ERR_RANGE);

    struct cidr_u128 off;
    struct cidr_ip a = ip("2001:db8:0:1:ffff:ffff:ffff:ffff");
    cr_assert_eq(cidr_ip_offset(&c63, &a, &off), 0);
    cr_assert(off.hi == 1 && off.lo == UINT64_MAX);
    a = ip("2001:db8:0:1::");
    cr_assert_eq(cidr_ip_offset(&c63, &a, &off), 0);
    cr_assert(off.hi == 1 && off.lo == 0);
    a = ip("2001:db8:0:2::");
    cr_assert_eq(cidr_ip_offset(&c63, &a, &off), CIDR_ERR_RANGE);

    struct cidr all = net("::/0");
    cr_assert_eq(cidr_ip_at(&all, (struct cidr_u128){UINT64_MAX, UINT64_MAX}, &out), 0);
    cr_assert_str_eq(cidr_ip_format(&out, buf), "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
}

Test(cidr, ipv4_offsets)
{
    char buf[CIDR_IP_STRLEN];
    struct cidr c = net("10.96.0.0/12");
    struct cidr_ip out;
    cr_assert_eq(cidr_ip_at(&c, (struct cidr_u128){0, 10}, &out), 0);
    cr_assert_str_eq(cidr_ip_format(&out, buf), "10.96.0.10");
    cr_assert_eq(cidr_ip_at(&c, (struct cidr_u128){0, 1048575}, &out), 0);
    cr_assert_str_eq(cidr_ip_format(&out, buf), "10.111.255.255");
    cr_assert_eq(cidr_ip_at(&c, (struct cidr_u128){0, 1048576}, &out), CIDR_ERR_RANGE);
    cr_assert_eq(cidr_ip_at(&c, (struct cidr_u128){1, 0}, &out), CIDR_ERR_RANGE);

    struct cidr_u128 off;
    struct cidr_ip a = ip("10.97.1.2");
    cr_assert_eq(cidr_ip_offset(&c, &a, &off), 0);
    cr_assert(off.hi == 0 && off.lo == 65536 + 256 + 2);
    struct cidr_ip v6 = ip("::a61:102");
    cr_assert_eq(cidr_ip_offset(&c, &v6, &off), CIDR_ERR_RANGE, "family must match");
}

Test(cidr, service_cluster_ip_range_flag)
{
    json_t *cases = load_cases("service_ranges.json");
    size_t i;
    json_t *c;
    json_array_foreach (cases, i, c) {
        const char *flag = json_string_value(json_object_get(c, "flag"));
        const char *want_err = json_string_value(json_object_get(c, "error"));
        struct cidr_service_ranges r;
        char *err = NULL;
        int rc = cidr_parse_service_cluster_ip_range(flag, &r, &err);
        if (want_err) {
            cr_expect_eq(rc, CIDR_ERR_FLAG, "'%s' should be refused", flag);
            cr_expect_str_eq(err ? err : "(null)", want_err, "'%s' message", flag);
            free(err);
            continue;
        }
        cr_expect_eq(rc, 0, "'%s' should pass: %s", flag, err ? err : "");
        cr_expect_null(err);
        free(err);
        char buf[CIDR_STRLEN], ipbuf[CIDR_IP_STRLEN];
        cr_expect_str_eq(cidr_format(&r.primary, buf),
                         json_string_value(json_object_get(c, "primary")), "'%s' primary", flag);
        const char *sec = json_string_value(json_object_get(c, "secondary"));
        cr_expect_eq(r.has_secondary, sec != NULL, "'%s' secondary presence", flag);
        if (sec)
            cr_expect_str_eq(cidr_format(&r.secondary, buf), sec, "'%s' secondary", flag);
        cr_expect_str_eq(cidr_ip_format(&r.service_ip, ipbuf),
                         json_string_value(json_object_get(c, "service_ip")), "'%s' IP", flag);
    }
    json_decref(cases);
}

Test(cidr, service_range_null_flag_and_null_err_out)
{
    struct cidr_service_ranges r;
    char buf[CIDR_STRLEN];
    cr_assert_eq(cidr_parse_service_cluster_ip_range(NULL, &r, NULL), 0);
    cr_assert_str_eq(cidr_format(&r.primary, buf), "10.0.0.0/24");
    cr_assert_eq(cidr_parse_service_cluster_ip_range("10.0.0.0/8", &r, NULL), CIDR_ERR_FLAG,
                 "refusal without a message buffer must not leak or crash");
}
