/*
 * cidr: IPv4 and IPv6 addresses and prefixes as kube-apiserver sees them: parsing with the
 * rules of k8s.io/utils/net (ParseIPSloppy, ParseCIDRSloppy), text exactly as Go's net.IP and
 * net.IPNet print it, 128-bit offset arithmetic, and the startup checks of the
 * --service-cluster-ip-range flag with kube-apiserver 1.33's error texts.
 *
 * Everything here works on values in caller-provided storage; pointer arguments are borrowed
 * for the call, and nothing allocates except the error text of the flag check. Depends on libc
 * only (no other module of the project).
 *
 * What the parsers accept (and why):
 *  - IPv4: four dot-separated decimal parts, each 0..255, leading zeros allowed and read as
 *    decimal ("010.1.1.1" is 10.1.1.1). This is ParseIPSloppy, the parser kube-apiserver uses
 *    for flags and for clusterIP values; Go's own net.ParseIP rejects leading zeros since 1.17.
 *  - IPv6: RFC 4291 text, one "::" at most, hex groups of any length whose value fits 16 bits,
 *    an embedded dotted IPv4 tail ("::ffff:1.2.3.4", "64:ff9b::1.2.3.4"). No zones ("%eth0"),
 *    no brackets, no surrounding spaces (Go accepts none of them either).
 *  - An IPv4-mapped IPv6 address (::ffff:a.b.c.d) is an IPv4 address, as Go's net.IP.To4 makes
 *    it: family IPv4, printed dotted.
 *  - CIDR: "<addr>/<n>", n decimal (leading zeros allowed), 0..32 or 0..128. The address is
 *    masked to the network ("10.96.0.5/12" is 10.96.0.0/12), as ParseCIDRSloppy does.
 *    We reject one thing Go accepts: an IPv4-mapped address with an IPv6 mask
 *    ("::ffff:10.0.0.0/104"). Go turns it into a value whose family, size and text disagree
 *    with each other (it prints as an IPv4 prefix but counts 128 mask bits); no real
 *    configuration uses it.
 */
#ifndef SVC_CIDR_H
#define SVC_CIDR_H

#include <stdbool.h>
#include <stdint.h>

#define CIDR_ERR_SYNTAX (-1) /* not an address / prefix in the accepted syntax */
#define CIDR_ERR_RANGE  (-2) /* an offset or address outside the prefix */
#define CIDR_ERR_FLAG   (-3) /* the --service-cluster-ip-range value is refused */

/* Buffer sizes for the text forms with their NUL: the longest address text is 39 characters
 * (eight 4-digit groups), the longest prefix 43 ("/128" more); INET6_ADDRSTRLEN leaves room. */
#define CIDR_IP_STRLEN 46
#define CIDR_STRLEN    50

enum cidr_family {
    CIDR_FAMILY_NONE = 0,
    CIDR_IPV4 = 4,
    CIDR_IPV6 = 6,
};

/* An address. IPv4 uses b[0..3] (network order) and leaves b[4..15] zero. */
struct cidr_ip {
    enum cidr_family family;
    uint8_t b[16];
};

/* A prefix: ip is always the network address (host bits zero). */
struct cidr {
    struct cidr_ip ip;
    unsigned prefix; /* 0..32 or 0..128 */
};

/* An unsigned 128-bit number (sizes and offsets inside IPv6 prefixes). */
struct cidr_u128 {
    uint64_t hi;
    uint64_t lo;
};

/* ---- addresses ------------------------------------------------------------------------------ */

/* Parse an address (rules above). 0, or CIDR_ERR_SYNTAX with *out zeroed. s may be NULL. */
int cidr_ip_parse(const char *s, struct cidr_ip *out);
/* Go's net.IP.String(): dotted IPv4; RFC 5952 IPv6 (lowercase, longest run of two or more zero
 * groups shortened to "::", the first one on a tie). Writes into out and returns it. */
char *cidr_ip_format(const struct cidr_ip *ip, char out[CIDR_IP_STRLEN]);
/* Total order: IPv4 before IPv6, then numeric. <0, 0, >0. */
int cidr_ip_cmp(const struct cidr_ip *a, const struct cidr_ip *b);
bool cidr_ip_equal(const struct cidr_ip *a, const struct cidr_ip *b);
/* 32 or 128; 0 for CIDR_FAMILY_NONE. */
unsigned cidr_family_bits(enum cidr_family family);
/* "IPv4" / "IPv6" (the api.IPFamily strings); "" for CIDR_FAMILY_NONE. Static string. */
const char *cidr_family_name(enum cidr_family family);

/* ---- prefixes ------------------------------------------------------------------------------- */

/* Parse "<addr>/<n>" (rules above); out holds the masked network. 0 or CIDR_ERR_SYNTAX. */
int cidr_parse(const char *s, struct cidr *out);
/* Go's net.IPNet.String(): "10.96.0.0/12", "fd00::/108". Writes into out and returns it. */
char *cidr_format(const struct cidr *c, char out[CIDR_STRLEN]);
/* Host bits: 32 - prefix or 128 - prefix. */
unsigned cidr_host_bits(const struct cidr *c);
/* True when ip has the family of c and lies inside it (network and last address included). */
bool cidr_contains(const struct cidr *c, const struct cidr_ip *ip);
/* 2^hostbits. The one value that does not fit, ::/0 (2^128), saturates to 2^128 - 1. */
struct cidr_u128 cidr_size(const struct cidr *c);
/* k8s.io/utils/net RangeSize: 2^hostbits, or INT64_MAX when hostbits >= 63. Upstream computes
 * the static/dynamic band of the ClusterIP allocator from this value. */
int64_t cidr_range_size(const struct cidr *c);
/* The address at network + offset. 0, or CIDR_ERR_RANGE when offset >= size. */
int cidr_ip_at(const struct cidr *c, struct cidr_u128 offset, struct cidr_ip *out);
/* The offset of ip from the network address. 0, or CIDR_ERR_RANGE when c does not contain ip. */
int cidr_ip_offset(const struct cidr *c, const struct cidr_ip *ip, struct cidr_u128 *out);
/* The network address (offset 0). */
void cidr_network(const struct cidr *c, struct cidr_ip *out);
/* The last address (all host bits set): the IPv4 broadcast address. */
void cidr_broadcast(const struct cidr *c, struct cidr_ip *out);

/* ---- --service-cluster-ip-range ---------------------------------------------------------------
 * kube-apiserver 1.33 checks the flag in two steps, and so do we:
 *  1. completion (getServiceIPAndRanges): "" means the default 10.0.0.0/24; the value is split on
 *     ",", entry [0] and [1] must parse (no spaces are trimmed), and [0] must hold at least 8
 *     addresses. The first failure stops here, with one of
 *       "service-cluster-ip-range[0] is not a valid cidr"
 *       "error determining service IP ranges for primary service cidr: the service cluster IP
 *        range must be at least 8 IP addresses"
 *       "service-cluster-ip-range[1] is not an ip net"
 *  2. validation (validateClusterIPFlags), every failure collected:
 *       "--service-cluster-ip-range must not contain more than two entries"
 *       "specified --service-cluster-ip-range is too large; for 32-bit addresses, the mask must
 *        be >= 12"  (or "for 128-bit addresses, the mask must be >= 108")
 *       "--service-cluster-ip-range[0] and --service-cluster-ip-range[1] must be of different IP
 *        family"
 *       "specified --service-cluster-ip-range[1] is too large; for ..."
 *     Several are joined as apimachinery's errors.NewAggregate prints them: "[e1, e2]".
 *     The size limit (20 host bits) applies in 1.33 because DisableAllocatorDualWrite is off by
 *     default there, so the old bitmap allocator is still written and bounds the range.
 */
struct cidr_service_ranges {
    struct cidr primary;   /* the first entry: the default family */
    struct cidr secondary; /* valid when has_secondary */
    bool has_secondary;
    struct cidr_ip service_ip; /* primary network + 1: the `kubernetes` Service's ClusterIP */
};

/*
 * Parse and check the flag value (NULL or "" for the default). 0 on success. On refusal returns
 * CIDR_ERR_FLAG and, when err_out is not NULL, sets *err_out to the message kube-apiserver
 * prints (caller frees); out is then unspecified.
 */
int cidr_parse_service_cluster_ip_range(const char *flag, struct cidr_service_ranges *out,
                                        char **err_out);

#endif
