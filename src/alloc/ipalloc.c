/*
 * ipalloc: the ClusterIP allocator (contract, and the reasoning for its 1.33 behaviour, in
 * svc/ipalloc.h). A bitmap slot k stands for network + 1 + k. Depends on svc/cidr.h, the private
 * alloc/bitmap.h, libc and pthreads.
 */
#include "svc/ipalloc.h"
#include "svc/util.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bitmap.h"

/* Upstream keeps at most this many bitmap slots for an IPv6 range (ipallocator.New). */
#define IPALLOC_V6_MAX_SLOTS 65536u
/* Refuse IPv4 ranges whose bitmap would pass 2 MiB; the flag check stops at 20 host bits. */
#define IPALLOC_V4_MAX_HOST_BITS 24u

struct ipalloc {
    pthread_mutex_t lock; /* guards bm */
    struct cidr range;
    struct alloc_bitmap bm;
    uint64_t hosts; /* the 1.33 IPAddress allocator's host count, for the available gauge */
};

/* calculateRangeOffset of ipallocator: min(max(16, size/16), 256), 0 when size <= 16, on the
 * raw CIDR size (so a /27 has a 16-address static band out of its 30 usable addresses). */
static uint32_t range_offset(const struct cidr *c)
{
    int64_t size = cidr_range_size(c);
    if (size <= 16)
        return 0;
    int64_t off = size / 16;
    if (off < 16)
        return 16;
    if (off > 256)
        return 256;
    return (uint32_t)off;
}

/* hostsPerNetwork of the IPAddress allocator. */
static uint64_t hosts_per_network(const struct cidr *c)
{
    unsigned h = cidr_host_bits(c);
    if (h >= 64)
        return UINT64_MAX;
    uint64_t n = ((uint64_t)1 << h) - 1; /* without the network address */
    if (c->ip.family == CIDR_IPV4 && n > 0)
        n--; /* nor the broadcast address */
    return n;
}

struct ipalloc *ipalloc_new(const struct cidr *range)
{
    if (range->ip.family != CIDR_IPV4 && range->ip.family != CIDR_IPV6)
        return NULL;
    unsigned h = cidr_host_bits(range);
    if (range->ip.family == CIDR_IPV4 && h > IPALLOC_V4_MAX_HOST_BITS)
        return NULL;

    /* ipallocator.New: the raw size, capped for IPv6, minus the broadcast address for IPv4,
     * minus the network address; never negative. */
    uint64_t slots =
        h >= 16 && range->ip.family == CIDR_IPV6 ? IPALLOC_V6_MAX_SLOTS : (uint64_t)1 << h;
    if (range->ip.family == CIDR_IPV4 && slots > 0)
        slots--;
    if (slots > 0)
        slots--;

    struct ipalloc *a = calloc(1, sizeof(*a));
    if (!a)
        abort();
    if (pthread_mutex_init(&a->lock, NULL) != 0)
        abort();
    a->range = *range;
    a->hosts = hosts_per_network(range);
    alloc_bitmap_init(&a->bm, (uint32_t)slots, range_offset(range));
    return a;
}

void ipalloc_free(struct ipalloc *a)
{
    if (!a)
        return;
    alloc_bitmap_release(&a->bm);
    pthread_mutex_destroy(&a->lock);
    free(a);
}

void ipalloc_seed(struct ipalloc *a, uint64_t seed)
{
    pthread_mutex_lock(&a->lock);
    alloc_rng_seed(&a->bm.rng, seed);
    pthread_mutex_unlock(&a->lock);
}

const struct cidr *ipalloc_cidr(const struct ipalloc *a)
{
    return &a->range;
}

uint32_t ipalloc_capacity(const struct ipalloc *a)
{
    return a->bm.max; /* fixed at creation: no lock needed */
}

uint32_t ipalloc_band_offset(const struct ipalloc *a)
{
    return a->bm.offset;
}

/*
 * Where ip falls: 0 with its slot, IPALLOC_ERR_MISMATCHED_NETWORK outside the CIDR (or another
 * family), IPALLOC_ERR_NOT_IN_RANGE inside the CIDR but on no slot.
 */
static int slot_of(const struct ipalloc *a, const struct cidr_ip *ip, uint32_t *slot)
{
    struct cidr_u128 off;
    if (cidr_ip_offset(&a->range, ip, &off) != 0)
        return IPALLOC_ERR_MISMATCHED_NETWORK;
    if (off.hi != 0 || off.lo == 0 || off.lo - 1 >= a->bm.max)
        return IPALLOC_ERR_NOT_IN_RANGE;
    *slot = (uint32_t)(off.lo - 1);
    return 0;
}

int ipalloc_allocate(struct ipalloc *a, const struct cidr_ip *ip)
{
    uint32_t slot;
    int rc = slot_of(a, ip, &slot);
    if (rc != 0)
        return rc;
    pthread_mutex_lock(&a->lock);
    rc = alloc_bitmap_set(&a->bm, slot) ? 0 : IPALLOC_ERR_ALLOCATED;
    pthread_mutex_unlock(&a->lock);
    return rc;
}

int ipalloc_allocate_next(struct ipalloc *a, struct cidr_ip *out)
{
    pthread_mutex_lock(&a->lock);
    uint32_t slot = alloc_bitmap_set_next(&a->bm);
    pthread_mutex_unlock(&a->lock);
    if (slot == ALLOC_BITMAP_NONE) {
        memset(out, 0, sizeof(*out));
        return IPALLOC_ERR_FULL;
    }
    struct cidr_u128 off = {0, (uint64_t)slot + 1};
    cidr_ip_at(&a->range, off, out);
    return 0;
}

int ipalloc_release(struct ipalloc *a, const struct cidr_ip *ip)
{
    uint32_t slot;
    if (slot_of(a, ip, &slot) != 0)
        return IPALLOC_ERR_NOT_ALLOCATED;
    pthread_mutex_lock(&a->lock);
    bool released = alloc_bitmap_clear(&a->bm, slot);
    pthread_mutex_unlock(&a->lock);
    return released ? 0 : IPALLOC_ERR_NOT_ALLOCATED;
}

bool ipalloc_has(struct ipalloc *a, const struct cidr_ip *ip)
{
    uint32_t slot;
    if (slot_of(a, ip, &slot) != 0)
        return false;
    pthread_mutex_lock(&a->lock);
    bool held = alloc_bitmap_has(&a->bm, slot);
    pthread_mutex_unlock(&a->lock);
    return held;
}

int ipalloc_check(struct ipalloc *a, const struct cidr_ip *ip)
{
    /* 1.33's dry run asks the IPAddress allocator, which only compares ip with the first and
     * last usable address of the whole CIDR: no slot cap, no conflict check, and an address
     * outside the CIDR is "not in the valid range" there, not a network mismatch. */
    struct cidr_u128 off;
    if (cidr_ip_offset(&a->range, ip, &off) != 0)
        return IPALLOC_ERR_NOT_IN_RANGE;
    if (off.hi == 0 && off.lo == 0)
        return IPALLOC_ERR_NOT_IN_RANGE; /* the network address */
    /* For IPv4 the last address (offset size - 1) is the broadcast address. */
    if (a->range.ip.family == CIDR_IPV4 && off.lo >= cidr_size(&a->range).lo - 1)
        return IPALLOC_ERR_NOT_IN_RANGE;
    return 0;
}

void ipalloc_counts(struct ipalloc *a, struct ipalloc_counts *out)
{
    pthread_mutex_lock(&a->lock);
    out->used = a->bm.count;
    out->free = (uint64_t)a->bm.max - a->bm.count;
    pthread_mutex_unlock(&a->lock);
    out->available_gauge = a->hosts > out->used ? a->hosts - out->used : 0;
}

/* ---- error texts ---------------------------------------------------------------------------- */

char *ipalloc_strerror(const struct ipalloc *a, int code, const char *ip_text)
{
    switch (code) {
    case 0:
        return xasprintf("%s", "");
    case IPALLOC_ERR_FULL:
        return xasprintf("range is full");
    case IPALLOC_ERR_ALLOCATED:
        return xasprintf("provided IP is already allocated");
    case IPALLOC_ERR_MISMATCHED_NETWORK:
        return xasprintf("the provided network does not match the current range");
    case IPALLOC_ERR_NOT_IN_RANGE: {
        /* ErrNotInRange prints the parsed net.IP (canonical, "<nil>" when unparsable) and the
         * range's net.IPNet. */
        struct cidr_ip ip;
        char ipbuf[CIDR_IP_STRLEN], cidrbuf[CIDR_STRLEN];
        cidr_ip_parse(ip_text, &ip);
        return xasprintf("the provided IP (%s) is not in the valid range. "
                         "The range of valid IPs is %s",
                         cidr_ip_format(&ip, ipbuf), cidr_format(&a->range, cidrbuf));
    }
    case IPALLOC_ERR_NOT_ALLOCATED:
        return xasprintf("provided IP is not allocated"); /* ours: upstream has no such error */
    default:
        return xasprintf("unknown ipalloc error %d", code);
    }
}

char *ipalloc_static_error_detail(const struct ipalloc *a, int code, const char *ip_text)
{
    /* alloc.go allocIPs: fmt.Sprintf("failed to allocate IP %v: %v", ip, err), ip being the
     * string from spec.clusterIPs. */
    char *err = ipalloc_strerror(a, code, ip_text);
    char *detail = xasprintf("failed to allocate IP %s: %s", ip_text ? ip_text : "", err);
    free(err);
    return detail;
}

char *ipalloc_dynamic_error_message(int code)
{
    /* alloc.go allocIPs: errors.NewInternalError(fmt.Errorf("failed to allocate a serviceIP:
     * %v", err)). Only FULL can reach it; the strerror cases without a range need no range. */
    const char *err = code == IPALLOC_ERR_FULL ? "range is full" : "unknown error";
    return xasprintf("failed to allocate a serviceIP: %s", err);
}
