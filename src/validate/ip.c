/*
 * ip: IP and CIDR checks of kube-apiserver 1.33 (apimachinery pkg/util/validation/ip.go and core
 * ValidateNonSpecialIP), with the parsers they rest on.
 *
 * The "sloppy" parsers reproduce k8s.io/utils/net's ParseIPSloppy and ParseCIDRSloppy, which are
 * Go 1.16's net.ParseIP and net.ParseCIDR: IPv4 parts may carry leading zeros and are read as
 * decimal ("010.1.1.1" is 10.1.1.1), IPv6 groups may be longer than four digits as long as the
 * value fits, and an address is always held in 16 bytes. The "strict" mode adds what Go's
 * net/netip refuses on top of that (leading zeros, groups over four digits, "/016" prefix
 * lengths); upstream runs it only under the StrictIPCIDRValidation gate, which is off in 1.33.
 * Text forms follow net.IP.String and net.IPNet.String. This file keeps its own parser rather than
 * the alloc module's because upstream's validators need both grammars and Go's exact handling of
 * IPv4-mapped prefixes. Depends on field_error and util.
 */
#include "svc/validate.h"

#include "svc/field_error.h"
#include "svc/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char msg_bad_ip[] = "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)";
static const char msg_bad_cidr[] =
    "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)";

/* Go's "big" guard in dtoi/xtoi: numbers stop being read past 0xFFFFFF. */
#define GO_BIG 0xFFFFFF

/* ---- parsing -----------------------------------------------------------------------------------
 */

/* Decimal digits at s[0..n): value, digits consumed; false when none or too big (dtoi). */
static bool dtoi(const char *s, size_t n, unsigned long *val, size_t *used)
{
    unsigned long v = 0;
    size_t i = 0;
    for (; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
        v = v * 10 + (unsigned long)(s[i] - '0');
        if (v >= GO_BIG)
            return false;
    }
    if (i == 0)
        return false;
    *val = v;
    *used = i;
    return true;
}

/* Dotted IPv4 over all of s[0..n) into out[0..4). */
static bool parse_ipv4(const char *s, size_t n, bool strict, uint8_t out[4])
{
    size_t pos = 0;
    for (int i = 0; i < 4; i++) {
        if (pos >= n)
            return false;
        if (i > 0) {
            if (s[pos] != '.')
                return false;
            pos++;
        }
        unsigned long v;
        size_t used;
        if (!dtoi(s + pos, n - pos, &v, &used) || v > 0xff)
            return false;
        if (strict && used > 1 && s[pos] == '0')
            return false; /* netip: "IPv4 field has octet with leading zero" */
        out[i] = (uint8_t)v;
        pos += used;
    }
    return pos == n;
}

static void set_v4(struct validate_ip *ip, const uint8_t v4[4])
{
    memset(ip->b, 0, 10);
    ip->b[10] = ip->b[11] = 0xff;
    memcpy(ip->b + 12, v4, 4);
}

/* RFC 4291 text over all of s[0..n) (Go's parseIPv6; netip's limits when strict). */
static bool parse_ipv6(const char *s, size_t n, bool strict, uint8_t ip[16])
{
    int ellipsis = -1;
    size_t pos = 0;
    int i = 0;
    memset(ip, 0, 16);
    if (n >= 2 && s[0] == ':' && s[1] == ':') {
        ellipsis = 0;
        pos = 2;
        if (pos == n)
            return true;
    }
    while (i < 16) {
        unsigned long v = 0;
        size_t c = 0;
        for (; pos + c < n && util_hex_digit(s[pos + c]) >= 0; c++) {
            v = v * 16 + (unsigned long)util_hex_digit(s[pos + c]);
            if (v >= GO_BIG)
                return false;
        }
        if (c == 0 || v > 0xffff || (strict && c > 4))
            return false;
        if (pos + c < n && s[pos + c] == '.') {
            /* An embedded IPv4 tail must fill the last four bytes (or follow a "::"). */
            if ((ellipsis < 0 && i != 12) || i + 4 > 16)
                return false;
            uint8_t v4[4];
            if (!parse_ipv4(s + pos, n - pos, strict, v4))
                return false;
            memcpy(ip + i, v4, 4);
            pos = n;
            i += 4;
            break;
        }
        ip[i] = (uint8_t)(v >> 8);
        ip[i + 1] = (uint8_t)v;
        i += 2;
        pos += c;
        if (pos == n)
            break;
        if (s[pos] != ':' || pos + 1 == n)
            return false;
        pos++;
        if (s[pos] == ':') {
            if (ellipsis >= 0)
                return false;
            ellipsis = i;
            pos++;
            if (pos == n)
                break;
        }
    }
    if (pos != n)
        return false;
    if (i < 16) {
        if (ellipsis < 0)
            return false;
        int shift = 16 - i;
        for (int j = i - 1; j >= ellipsis; j--)
            ip[j + shift] = ip[j];
        memset(ip + ellipsis, 0, (size_t)shift);
    } else if (ellipsis >= 0) {
        return false; /* "::" must stand for at least one group */
    }
    return true;
}

/* Go's ParseIP: the first '.' or ':' decides the family. Zones are never accepted: the sloppy
 * parser, which upstream always runs first, refuses them. */
static bool parse_ip_n(const char *s, size_t n, bool strict, struct validate_ip *out)
{
    memset(out, 0, sizeof(*out));
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '.') {
            uint8_t v4[4];
            if (!parse_ipv4(s, n, strict, v4))
                return false;
            set_v4(out, v4);
            return true;
        }
        if (s[i] == ':') {
            if (parse_ipv6(s, n, strict, out->b))
                return true;
            memset(out, 0, sizeof(*out));
            return false;
        }
    }
    return false;
}

int validate_ip_parse(const char *s, bool strict, struct validate_ip *out)
{
    if (!s) {
        memset(out, 0, sizeof(*out));
        return -1;
    }
    return parse_ip_n(s, strlen(s), strict, out) ? 0 : -1;
}

static bool is_v4(const struct validate_ip *ip)
{
    static const uint8_t prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    return memcmp(ip->b, prefix, 12) == 0;
}

/* The mask of bits ones in a len-byte mask (Go's CIDRMask). */
static void make_mask(unsigned bits, unsigned len, uint8_t mask[16])
{
    memset(mask, 0, 16);
    for (unsigned i = 0; i < len; i++) {
        if (bits >= 8) {
            mask[i] = 0xff;
            bits -= 8;
        } else {
            mask[i] = (uint8_t)(0xff << (8 - bits));
            bits = 0;
        }
    }
}

int validate_cidr_parse(const char *s, bool strict, struct validate_cidr *out)
{
    memset(out, 0, sizeof(*out));
    if (!s)
        return -1;
    const char *slash = strchr(s, '/');
    if (!slash)
        return -1;
    size_t alen = (size_t)(slash - s);
    const char *m = slash + 1;
    size_t mlen = strlen(m);
    uint8_t v4[4];
    /* ParseCIDR tries IPv4 first, then IPv6, and sizes the mask by which one worked. */
    if (parse_ipv4(s, alen, strict, v4)) {
        set_v4(&out->ip, v4);
        out->len = 4;
    } else if (parse_ipv6(s, alen, strict, out->ip.b)) {
        out->len = 16;
    } else {
        memset(out, 0, sizeof(*out));
        return -1;
    }
    unsigned long bits;
    size_t used;
    if (!dtoi(m, mlen, &bits, &used) || used != mlen || bits > 8 * out->len ||
        (strict && mlen > 1 && m[0] == '0')) {
        memset(out, 0, sizeof(*out));
        return -1;
    }
    out->bits = (unsigned)bits;
    uint8_t mask[16];
    make_mask(out->bits, out->len, mask);
    out->net = out->ip;
    size_t off = out->len == 4 ? 12 : 0;
    for (size_t i = 0; i < out->len; i++)
        out->net.b[off + i] &= mask[i];
    return 0;
}

enum validate_ip_family validate_ip_family_of(const struct validate_ip *ip)
{
    return is_v4(ip) ? VALIDATE_IPV4 : VALIDATE_IPV6;
}

enum validate_ip_family validate_ip_family(const char *s)
{
    struct validate_ip ip;
    if (validate_ip_parse(s, false, &ip) != 0)
        return VALIDATE_IP_INVALID;
    return validate_ip_family_of(&ip);
}

const char *validate_ip_family_name(enum validate_ip_family family)
{
    switch (family) {
    case VALIDATE_IPV4:
        return "IPv4";
    case VALIDATE_IPV6:
        return "IPv6";
    default:
        return "";
    }
}

/* ---- text forms --------------------------------------------------------------------------------
 */

static char *format_v4(const uint8_t *b, char out[VALIDATE_IP_STRLEN])
{
    snprintf(out, VALIDATE_IP_STRLEN, "%u.%u.%u.%u", b[0], b[1], b[2], b[3]);
    return out;
}

/* RFC 5952 as Go writes it: the first longest run of two or more zero groups becomes "::". */
static char *format_v6(const uint8_t *b, char out[VALIDATE_IP_STRLEN])
{
    int e0 = -1, e1 = -1;
    for (int i = 0; i < 16; i += 2) {
        int j = i;
        while (j < 16 && b[j] == 0 && b[j + 1] == 0)
            j += 2;
        if (j > i && j - i > e1 - e0) {
            e0 = i;
            e1 = j;
            i = j;
        }
    }
    if (e1 - e0 <= 2)
        e0 = e1 = -1;
    size_t pos = 0;
    for (int i = 0; i < 16; i += 2) {
        if (i == e0) {
            out[pos++] = ':';
            out[pos++] = ':';
            i = e1;
            if (i >= 16)
                break;
        } else if (i > 0) {
            out[pos++] = ':';
        }
        pos += (size_t)snprintf(out + pos, VALIDATE_IP_STRLEN - pos, "%x",
                                (unsigned)(b[i] << 8 | b[i + 1]));
    }
    out[pos] = '\0';
    return out;
}

char *validate_ip_format(const struct validate_ip *ip, char out[VALIDATE_IP_STRLEN])
{
    return is_v4(ip) ? format_v4(ip->b + 12, out) : format_v6(ip->b, out);
}

/* Leading one bits of m[0..len), or -1 when the ones are not contiguous (simpleMaskLength). */
static int simple_mask_length(const uint8_t *m, size_t len)
{
    int n = 0;
    for (size_t i = 0; i < len; i++) {
        uint8_t v = m[i];
        if (v == 0xff) {
            n += 8;
            continue;
        }
        while (v & 0x80) {
            n++;
            v = (uint8_t)(v << 1);
        }
        if (v != 0)
            return -1;
        for (i++; i < len; i++)
            if (m[i] != 0)
                return -1;
        break;
    }
    return n;
}

/*
 * net.IPNet.String. An IPv4-mapped network with a 16-byte mask prints as IPv4 with the low 32
 * bits of the mask: "::ffff:1.2.3.0/120" prints "1.2.3.0/24", "::ffff:1.2.3.0/100" "0.0.0.0/4".
 */
char *validate_cidr_format(const struct validate_cidr *cidr, char out[VALIDATE_CIDR_STRLEN])
{
    uint8_t mask[16];
    char ip[VALIDATE_IP_STRLEN];
    make_mask(cidr->bits, cidr->len, mask);
    int ones;
    if (is_v4(&cidr->net)) {
        format_v4(cidr->net.b + 12, ip);
        ones = simple_mask_length(cidr->len == 16 ? mask + 12 : mask, 4);
    } else {
        format_v6(cidr->net.b, ip);
        ones = simple_mask_length(mask, 16);
    }
    /* A mask made by make_mask is always contiguous, so ones is 0..128. */
    snprintf(out, VALIDATE_CIDR_STRLEN, "%s/%u", ip, (unsigned char)(ones < 0 ? 0 : ones));
    return out;
}

/* ---- field checks ------------------------------------------------------------------------------
 */

static bool in_list(const char *value, const char *const *list, size_t n)
{
    for (size_t i = 0; list && i < n; i++)
        if (list[i] && strcmp(list[i], value) == 0)
            return true;
    return false;
}

/* parseIP of ip.go: the sloppy parse, then (strict) the netip checks. False when unparseable. */
static bool check_ip(struct field_errors *errs, const char *path, const char *value, bool strict,
                     struct validate_ip *ip)
{
    if (validate_ip_parse(value, false, ip) != 0) {
        fe_invalid_str(errs, path, value, msg_bad_ip);
        return false;
    }
    if (strict) {
        struct validate_ip strict_ip;
        if (validate_ip_parse(value, true, &strict_ip) != 0)
            fe_invalid_str(errs, path, value, "must not have leading 0s");
        else if (is_v4(&strict_ip) && strchr(value, ':'))
            fe_invalid_str(errs, path, value, "must not be an IPv4-mapped IPv6 address");
    }
    return true;
}

void validate_ip_legacy_field(struct field_errors *errs, const char *path, const char *value,
                              bool strict, const char *const *old_ips, size_t n_old)
{
    const char *v = value ? value : "";
    struct validate_ip ip;
    if (in_list(v, old_ips, n_old))
        return;
    check_ip(errs, path, v, strict, &ip);
}

void validate_ip_strict_field(struct field_errors *errs, const char *path, const char *value)
{
    const char *v = value ? value : "";
    struct validate_ip ip;
    size_t before = errs->len;
    if (!check_ip(errs, path, v, true, &ip) || errs->len != before)
        return;
    char text[VALIDATE_IP_STRLEN];
    validate_ip_format(&ip, text);
    if (strcmp(v, text) != 0) {
        char *q = fe_quote(text);
        char *detail = xasprintf("must be in canonical form (%s)", q);
        fe_invalid_str(errs, path, v, detail);
        free(detail);
        free(q);
    }
}

/* parseCIDR of ip.go. False when unparseable. */
static bool check_cidr(struct field_errors *errs, const char *path, const char *value, bool strict,
                       struct validate_cidr *cidr)
{
    if (validate_cidr_parse(value, false, cidr) != 0) {
        fe_invalid_str(errs, path, value, msg_bad_cidr);
        return false;
    }
    if (strict) {
        struct validate_cidr s;
        if (validate_cidr_parse(value, true, &s) != 0)
            fe_invalid_str(errs, path, value, "must not have leading 0s in IP or prefix length");
        else if (s.len == 16 && is_v4(&s.ip))
            fe_invalid_str(errs, path, value, "must not have an IPv4-mapped IPv6 address");
        else if (memcmp(s.ip.b, s.net.b, 16) != 0)
            fe_invalid_str(errs, path, value, "must not have bits set beyond the prefix length");
    }
    return true;
}

void validate_cidr_legacy_field(struct field_errors *errs, const char *path, const char *value,
                                bool strict, const char *const *old_cidrs, size_t n_old)
{
    const char *v = value ? value : "";
    struct validate_cidr cidr;
    if (in_list(v, old_cidrs, n_old))
        return;
    check_cidr(errs, path, v, strict, &cidr);
}

void validate_cidr_strict_field(struct field_errors *errs, const char *path, const char *value)
{
    const char *v = value ? value : "";
    struct validate_cidr cidr;
    size_t before = errs->len;
    if (!check_cidr(errs, path, v, true, &cidr) || errs->len != before)
        return;
    char text[VALIDATE_CIDR_STRLEN];
    validate_cidr_format(&cidr, text);
    if (strcmp(v, text) != 0) {
        char *q = fe_quote(text);
        char *detail = xasprintf("must be in canonical form (%s)", q);
        fe_invalid_str(errs, path, v, detail);
        free(detail);
        free(q);
    }
}

void validate_non_special_ip_field(struct field_errors *errs, const char *path, const char *value)
{
    const char *v = value ? value : "";
    struct validate_ip ip;
    if (validate_ip_parse(v, false, &ip) != 0) {
        fe_invalid_str(errs, path, v, "must be a valid IP address");
        return;
    }
    const uint8_t *b = ip.b;
    bool v4 = is_v4(&ip);
    static const uint8_t zero[16], loopback6[16] = {[15] = 1};
    /* net.IP's predicates; an IPv4-mapped address is judged as IPv4, as To4 makes it. */
    bool unspecified = memcmp(b, zero, 16) == 0 || (v4 && memcmp(b + 12, zero, 4) == 0);
    bool loopback = v4 ? b[12] == 127 : memcmp(b, loopback6, 16) == 0;
    bool link_local = v4 ? b[12] == 169 && b[13] == 254 : b[0] == 0xfe && (b[1] & 0xc0) == 0x80;
    bool ll_multicast =
        v4 ? b[12] == 224 && b[13] == 0 && b[14] == 0 : b[0] == 0xff && (b[1] & 0x0f) == 0x02;
    if (unspecified) {
        /* Upstream prints the value as written: "may not be unspecified (::)". */
        char *detail = xasprintf("may not be unspecified (%s)", v);
        fe_invalid_str(errs, path, v, detail);
        free(detail);
    }
    if (loopback)
        fe_invalid_str(errs, path, v, "may not be in the loopback range (127.0.0.0/8, ::1/128)");
    if (link_local)
        fe_invalid_str(errs, path, v,
                       "may not be in the link-local range (169.254.0.0/16, fe80::/10)");
    if (ll_multicast)
        fe_invalid_str(errs, path, v,
                       "may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)");
}

/* ---- warnings ----------------------------------------------------------------------------------
 */

size_t validate_ip_warnings(const char *path, const char *value, char *out[2])
{
    const char *v = value ? value : "";
    const char *p = path ? path : "";
    struct validate_ip ip, strict_ip;
    char text[VALIDATE_IP_STRLEN];
    size_t n = 0;
    if (validate_ip_parse(v, false, &ip) != 0)
        return 0;
    bool strict_ok = validate_ip_parse(v, true, &strict_ip) == 0;
    char *qv = fe_quote(v);
    if (!strict_ok || (is_v4(&strict_ip) && strchr(v, ':'))) {
        char *qt = fe_quote(validate_ip_format(&ip, text));
        out[n++] = xasprintf("%s: non-standard IP address %s will be considered invalid in a "
                             "future Kubernetes release: use %s",
                             p, qv, qt);
        free(qt);
    } else if (!is_v4(&strict_ip) && strcmp(format_v6(strict_ip.b, text), v) != 0) {
        char *qt = fe_quote(text);
        out[n++] =
            xasprintf("%s: IPv6 address %s should be in RFC 5952 canonical format (%s)", p, qv, qt);
        free(qt);
    }
    free(qv);
    return n;
}

size_t validate_cidr_warnings(const char *path, const char *value, char *out[2])
{
    const char *v = value ? value : "";
    const char *p = path ? path : "";
    struct validate_cidr cidr, strict_cidr;
    char net_text[VALIDATE_CIDR_STRLEN], ip_text[VALIDATE_IP_STRLEN];
    size_t n = 0;
    if (validate_cidr_parse(v, false, &cidr) != 0)
        return 0;
    char *qv = fe_quote(v);
    char *qnet = fe_quote(validate_cidr_format(&cidr, net_text));
    if (memcmp(cidr.ip.b, cidr.net.b, 16) != 0) {
        /* The single-address reading uses the mask's full size: 128 for a mapped address. */
        char *single = xasprintf("%s/%u", validate_ip_format(&cidr.ip, ip_text), 8 * cidr.len);
        char *qs = fe_quote(single);
        out[n++] = xasprintf("%s: CIDR value %s is ambiguous in this context (should be %s or %s?)",
                             p, qv, qnet, qs);
        free(qs);
        free(single);
    }
    bool strict_ok = validate_cidr_parse(v, true, &strict_cidr) == 0;
    bool mapped = strict_ok && strict_cidr.len == 16 && is_v4(&strict_cidr.ip);
    if (!strict_ok || mapped) {
        out[n++] = xasprintf("%s: non-standard CIDR value %s will be considered invalid in a "
                             "future Kubernetes release: use %s",
                             p, qv, qnet);
    } else if (n == 0 && strict_cidr.len == 16) {
        /* netip's Prefix.String: the address as written (not masked), then the length. */
        char *text = xasprintf("%s/%u", format_v6(strict_cidr.ip.b, ip_text), strict_cidr.bits);
        if (strcmp(text, v) != 0) {
            char *qt = fe_quote(text);
            out[n++] = xasprintf("%s: IPv6 CIDR value %s should be in RFC 5952 canonical format "
                                 "(%s)",
                                 p, qv, qt);
            free(qt);
        }
        free(text);
    }
    free(qnet);
    free(qv);
    return n;
}
