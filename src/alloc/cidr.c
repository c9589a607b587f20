/*
 * cidr: address and prefix parsing, Go-compatible text, 128-bit offset arithmetic and the
 * --service-cluster-ip-range startup checks (contract and accepted syntax in svc/cidr.h).
 *
 * The parsers are a C rendering of the pre-1.17 Go parser that k8s.io/utils/net keeps as
 * ParseIPSloppy / ParseCIDRSloppy, because that is what kube-apiserver feeds flags and
 * clusterIPs through. Depends on libc only.
 */
#include "svc/cidr.h"
#include "svc/util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Internally a 128-bit number is a GCC/Clang unsigned __int128; the header keeps to C11. */
typedef unsigned __int128 u128;

/* Go's dtoi/xtoi give up at this value, so a part is never allowed to grow without bound. */
#define PARSE_BIG 0xFFFFFF

static u128 u128_from(struct cidr_u128 v)
{
    return ((u128)v.hi << 64) | v.lo;
}

static struct cidr_u128 u128_to(u128 v)
{
    struct cidr_u128 r = {(uint64_t)(v >> 64), (uint64_t)v};
    return r;
}

static u128 ip_value(const struct cidr_ip *ip)
{
    unsigned n = ip->family == CIDR_IPV4 ? 4 : 16;
    u128 v = 0;
    for (unsigned i = 0; i < n; i++)
        v = (v << 8) | ip->b[i];
    return v;
}

static void ip_from_value(enum cidr_family family, u128 v, struct cidr_ip *out)
{
    unsigned n = family == CIDR_IPV4 ? 4 : 16;
    memset(out, 0, sizeof(*out));
    out->family = family;
    for (unsigned i = n; i-- > 0;) {
        out->b[i] = (uint8_t)v;
        v >>= 8;
    }
}

/* ---- parsing -------------------------------------------------------------------------------- */

/* Decimal digits at s: value, count. False when there are none or the value reaches PARSE_BIG. */
static bool parse_dec(const char *s, unsigned *value, size_t *len)
{
    unsigned n = 0;
    size_t i = 0;
    for (; s[i] >= '0' && s[i] <= '9'; i++) {
        n = n * 10 + (unsigned)(s[i] - '0');
        if (n >= PARSE_BIG)
            return false;
    }
    if (i == 0)
        return false;
    *value = n;
    *len = i;
    return true;
}

static bool parse_hex(const char *s, unsigned *value, size_t *len)
{
    unsigned n = 0;
    size_t i = 0;
    for (int d; (d = util_hex_digit(s[i])) >= 0; i++) {
        n = n * 16 + (unsigned)d;
        if (n >= PARSE_BIG)
            return false;
    }
    if (i == 0)
        return false;
    *value = n;
    *len = i;
    return true;
}

/* Exactly a dotted quad, nothing after it. */
static bool parse_v4(const char *s, uint8_t out[4])
{
    for (int i = 0; i < 4; i++) {
        if (i > 0) {
            if (*s != '.')
                return false;
            s++;
        }
        unsigned n;
        size_t len;
        if (!parse_dec(s, &n, &len) || n > 0xFF)
            return false;
        out[i] = (uint8_t)n;
        s += len;
    }
    return *s == '\0';
}

/* IPv6 text into 16 bytes; a transcription of Go 1.16's parseIPv6 (see the file comment). */
static bool parse_v6(const char *s, uint8_t ip[16])
{
    int ellipsis = -1; /* byte position of "::" */
    int i = 0;

    memset(ip, 0, 16);
    if (s[0] == ':' && s[1] == ':') {
        ellipsis = 0;
        s += 2;
        if (*s == '\0')
            return true;
    }
    while (i < 16) {
        unsigned n;
        size_t len;
        if (!parse_hex(s, &n, &len) || n > 0xFFFF)
            return false;
        if (s[len] == '.') {
            /* A dotted IPv4 tail: only as the last 32 bits (or anywhere after "::"). */
            if (ellipsis < 0 && i != 12)
                return false;
            if (i + 4 > 16)
                return false;
            uint8_t v4[4];
            if (!parse_v4(s, v4))
                return false;
            memcpy(ip + i, v4, 4);
            s += strlen(s);
            i += 4;
            break;
        }
        ip[i] = (uint8_t)(n >> 8);
        ip[i + 1] = (uint8_t)n;
        i += 2;
        s += len;
        if (*s == '\0')
            break;
        if (*s != ':' || s[1] == '\0')
            return false;
        s++;
        if (*s == ':') {
            if (ellipsis >= 0)
                return false;
            ellipsis = i;
            s++;
            if (*s == '\0')
                break;
        }
    }
    if (*s != '\0')
        return false;
    if (i < 16) {
        if (ellipsis < 0)
            return false;
        int n = 16 - i;
        for (int j = i - 1; j >= ellipsis; j--)
            ip[j + n] = ip[j];
        for (int j = ellipsis + n - 1; j >= ellipsis; j--)
            ip[j] = 0;
    } else if (ellipsis >= 0) {
        return false; /* "::" must stand for at least one group */
    }
    return true;
}

static bool is_v4_mapped(const uint8_t b[16])
{
    static const uint8_t prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    return memcmp(b, prefix, sizeof(prefix)) == 0;
}

int cidr_ip_parse(const char *s, struct cidr_ip *out)
{
    memset(out, 0, sizeof(*out));
    if (!s)
        return CIDR_ERR_SYNTAX;
    /* Like Go's ParseIP, the first '.' or ':' decides which grammar applies. */
    for (const char *p = s; *p; p++) {
        if (*p == '.') {
            if (!parse_v4(s, out->b))
                break;
            out->family = CIDR_IPV4;
            return 0;
        }
        if (*p == ':') {
            uint8_t b[16];
            if (!parse_v6(s, b))
                break;
            if (is_v4_mapped(b)) {
                out->family = CIDR_IPV4;
                memcpy(out->b, b + 12, 4);
            } else {
                out->family = CIDR_IPV6;
                memcpy(out->b, b, 16);
            }
            return 0;
        }
    }
    memset(out, 0, sizeof(*out));
    return CIDR_ERR_SYNTAX;
}

int cidr_parse(const char *s, struct cidr *out)
{
    memset(out, 0, sizeof(*out));
    if (!s)
        return CIDR_ERR_SYNTAX;
    const char *slash = strchr(s, '/');
    if (!slash)
        return CIDR_ERR_SYNTAX;

    /* The address grammars need a terminated string; Go puts no bound on its length (hex
     * groups may carry any number of leading zeros), so neither do we. */
    size_t alen = (size_t)(slash - s);
    char *addr = malloc(alen + 1);
    if (!addr)
        abort();
    memcpy(addr, s, alen);
    addr[alen] = '\0';

    /* ParseCIDRSloppy tries IPv4 first, then IPv6, whatever the text looks like. */
    struct cidr_ip ip = {0};
    uint8_t b6[16];
    bool ok = true;
    if (parse_v4(addr, ip.b)) {
        ip.family = CIDR_IPV4;
    } else if (parse_v6(addr, b6) && !is_v4_mapped(b6)) {
        /* (an IPv4-mapped address with a mask is refused on purpose: see svc/cidr.h) */
        ip.family = CIDR_IPV6;
        memcpy(ip.b, b6, 16);
    } else {
        ok = false;
    }
    free(addr);
    if (!ok)
        return CIDR_ERR_SYNTAX;

    unsigned n;
    size_t len;
    const char *mask = slash + 1;
    if (!parse_dec(mask, &n, &len) || mask[len] != '\0' || n > cidr_family_bits(ip.family))
        return CIDR_ERR_SYNTAX;

    out->prefix = n;
    unsigned host = cidr_family_bits(ip.family) - n;
    u128 v = ip_value(&ip);
    if (host >= 128)
        v = 0;
    else
        v &= ~(((u128)1 << host) - 1);
    ip_from_value(ip.family, v, &out->ip);
    return 0;
}

/* ---- formatting ----------------------------------------------------------------------------- */

char *cidr_ip_format(const struct cidr_ip *ip, char out[CIDR_IP_STRLEN])
{
    if (ip->family == CIDR_IPV4) {
        snprintf(out, CIDR_IP_STRLEN, "%u.%u.%u.%u", ip->b[0], ip->b[1], ip->b[2], ip->b[3]);
        return out;
    }
    if (ip->family != CIDR_IPV6) {
        snprintf(out, CIDR_IP_STRLEN, "<nil>"); /* what Go prints for a nil net.IP */
        return out;
    }
    unsigned g[8];
    for (int i = 0; i < 8; i++)
        g[i] = (unsigned)ip->b[2 * i] << 8 | ip->b[2 * i + 1];

    /* RFC 5952: the longest run of at least two zero groups; the first one wins a tie. */
    int zs = -1, ze = -1;
    for (int i = 0; i < 8; i++) {
        int j = i;
        while (j < 8 && g[j] == 0)
            j++;
        if (j - i >= 2 && j - i > ze - zs) {
            zs = i;
            ze = j;
        }
    }
    size_t n = 0;
    for (int i = 0; i < 8; i++) {
        if (i == zs) {
            n += (size_t)snprintf(out + n, CIDR_IP_STRLEN - n, "::");
            i = ze - 1;
            continue;
        }
        if (i > 0 && i != ze)
            out[n++] = ':';
        n += (size_t)snprintf(out + n, CIDR_IP_STRLEN - n, "%x", g[i]);
    }
    out[n] = '\0';
    return out;
}

char *cidr_format(const struct cidr *c, char out[CIDR_STRLEN])
{
    char ip[CIDR_IP_STRLEN];
    snprintf(out, CIDR_STRLEN, "%s/%u", cidr_ip_format(&c->ip, ip), c->prefix);
    return out;
}

/* ---- comparisons and arithmetic ------------------------------------------------------------- */

int cidr_ip_cmp(const struct cidr_ip *a, const struct cidr_ip *b)
{
    if (a->family != b->family)
        return a->family < b->family ? -1 : 1;
    return memcmp(a->b, b->b, sizeof(a->b));
}

bool cidr_ip_equal(const struct cidr_ip *a, const struct cidr_ip *b)
{
    return cidr_ip_cmp(a, b) == 0;
}

unsigned cidr_family_bits(enum cidr_family family)
{
    switch (family) {
    case CIDR_IPV4:
        return 32;
    case CIDR_IPV6:
        return 128;
    default:
        return 0;
    }
}

const char *cidr_family_name(enum cidr_family family)
{
    switch (family) {
    case CIDR_IPV4:
        return "IPv4";
    case CIDR_IPV6:
        return "IPv6";
    default:
        return "";
    }
}

unsigned cidr_host_bits(const struct cidr *c)
{
    unsigned bits = cidr_family_bits(c->ip.family);
    return c->prefix <= bits ? bits - c->prefix : 0;
}

/* 2^host - 1, the largest offset; valid for every host count 0..128. */
static u128 last_offset(const struct cidr *c)
{
    unsigned host = cidr_host_bits(c);
    return host >= 128 ? ~(u128)0 : ((u128)1 << host) - 1;
}

bool cidr_contains(const struct cidr *c, const struct cidr_ip *ip)
{
    if (ip->family != c->ip.family)
        return false;
    return (ip_value(ip) & ~last_offset(c)) == ip_value(&c->ip);
}

struct cidr_u128 cidr_size(const struct cidr *c)
{
    unsigned host = cidr_host_bits(c);
    return u128_to(host >= 128 ? ~(u128)0 : (u128)1 << host);
}

int64_t cidr_range_size(const struct cidr *c)
{
    unsigned host = cidr_host_bits(c);
    return host >= 63 ? INT64_MAX : (int64_t)1 << host;
}

int cidr_ip_at(const struct cidr *c, struct cidr_u128 offset, struct cidr_ip *out)
{
    u128 off = u128_from(offset);
    if (off > last_offset(c)) {
        memset(out, 0, sizeof(*out));
        return CIDR_ERR_RANGE;
    }
    /* The network address has the offset bits clear, so OR is the addition. */
    ip_from_value(c->ip.family, ip_value(&c->ip) | off, out);
    return 0;
}

int cidr_ip_offset(const struct cidr *c, const struct cidr_ip *ip, struct cidr_u128 *out)
{
    if (!cidr_contains(c, ip)) {
        out->hi = out->lo = 0;
        return CIDR_ERR_RANGE;
    }
    *out = u128_to(ip_value(ip) - ip_value(&c->ip));
    return 0;
}

void cidr_network(const struct cidr *c, struct cidr_ip *out)
{
    *out = c->ip;
}

void cidr_broadcast(const struct cidr *c, struct cidr_ip *out)
{
    ip_from_value(c->ip.family, ip_value(&c->ip) | last_offset(c), out);
}

/* ---- --service-cluster-ip-range ---------------------------------------------------------------
 */

#define FLAG_MAX_ENTRIES   3  /* entries looked at; only "more than two" matters */
#define FLAG_MAX_HOST_BITS 20 /* maxCIDRBits of validateClusterIPFlags */
#define FLAG_MAX_ERRORS    4

/* Parse the n-th comma-separated entry of flag (n = 0 or 1) as a CIDR. */
static int parse_entry(const char *flag, int n, struct cidr *out)
{
    const char *start = flag;
    for (int i = 0; i < n; i++) {
        start = strchr(start, ',');
        if (!start)
            return CIDR_ERR_SYNTAX;
        start++;
    }
    const char *end = strchr(start, ',');
    size_t len = end ? (size_t)(end - start) : strlen(start);
    char *buf = malloc(len + 1);
    if (!buf)
        abort();
    memcpy(buf, start, len);
    buf[len] = '\0';
    int rc = cidr_parse(buf, out);
    free(buf);
    return rc;
}

/* validateMaxCIDRRange: NULL when c is small enough, else the message (caller frees). */
static char *check_max_range(const struct cidr *c, const char *flag_name)
{
    unsigned bits = cidr_family_bits(c->ip.family);
    if (cidr_host_bits(c) <= FLAG_MAX_HOST_BITS)
        return NULL;
    return xasprintf("specified %s is too large; for %u-bit addresses, the mask must be >= %u",
                     flag_name, bits, bits - FLAG_MAX_HOST_BITS);
}

static int flag_fail(char **err_out, char *msg)
{
    if (err_out)
        *err_out = msg;
    else
        free(msg);
    return CIDR_ERR_FLAG;
}

int cidr_parse_service_cluster_ip_range(const char *flag, struct cidr_service_ranges *out,
                                        char **err_out)
{
    memset(out, 0, sizeof(*out));
    if (err_out)
        *err_out = NULL;
    if (!flag || !*flag)
        flag = "10.0.0.0/24"; /* kubeoptions.DefaultServiceIPCIDR */

    size_t entries = 1;
    for (const char *p = flag; *p; p++)
        entries += *p == ',';

    /* Step 1: completion; the first failure ends it. */
    if (parse_entry(flag, 0, &out->primary) != 0)
        return flag_fail(err_out, xasprintf("service-cluster-ip-range[0] is not a valid cidr"));
    /* ServiceIPRange: min(RangeSize, 1<<16) must be at least 8. */
    if (cidr_host_bits(&out->primary) < 3)
        return flag_fail(err_out, xasprintf("error determining service IP ranges for primary "
                                            "service cidr: the service cluster IP range must be "
                                            "at least 8 IP addresses"));
    struct cidr_u128 one = {0, 1};
    cidr_ip_at(&out->primary, one, &out->service_ip);
    if (entries > 1) {
        if (parse_entry(flag, 1, &out->secondary) != 0)
            return flag_fail(err_out, xasprintf("service-cluster-ip-range[1] is not an ip net"));
        out->has_secondary = true;
    }

    /* Step 2: validation; every failure is reported. */
    char *errs[FLAG_MAX_ERRORS];
    size_t n = 0;
    if (entries > 2)
        errs[n++] = xasprintf("--service-cluster-ip-range must not contain more than two entries");
    if ((errs[n] = check_max_range(&out->primary, "--service-cluster-ip-range")))
        n++;
    if (out->has_secondary) {
        if (out->primary.ip.family == out->secondary.ip.family)
            errs[n++] = xasprintf("--service-cluster-ip-range[0] and --service-cluster-ip-range[1] "
                                  "must be of different IP family");
        if ((errs[n] = check_max_range(&out->secondary, "--service-cluster-ip-range[1]")))
            n++;
    }
    if (n == 0)
        return 0;
    if (n == 1)
        return flag_fail(err_out, errs[0]);

    /* utilerrors.NewAggregate: "[e1, e2, ...]" (the messages here are always distinct). */
    size_t total = 2;
    for (size_t i = 0; i < n; i++)
        total += strlen(errs[i]) + 2;
    char *msg = malloc(total + 1);
    if (!msg)
        abort();
    size_t len = 0;
    msg[len++] = '[';
    for (size_t i = 0; i < n; i++) {
        size_t l = strlen(errs[i]);
        if (i > 0) {
            memcpy(msg + len, ", ", 2);
            len += 2;
        }
        memcpy(msg + len, errs[i], l);
        len += l;
        free(errs[i]);
    }
    msg[len++] = ']';
    msg[len] = '\0';
    return flag_fail(err_out, msg);
}
