/*
 * ipalloc: the ClusterIP allocator of one family: one CIDR, a bitmap of its usable addresses,
 * static and dynamic bands, random-start allocation, and the error texts kube-apiserver 1.33
 * puts into its answers. The registry keeps one per configured family and drives it inside a
 * Service write: allocate while preparing, release what it allocated when the write fails, and
 * release what an update gives up only after the write committed.
 *
 * Every function is thread-safe (each allocator has its own mutex; HTTP workers call in
 * parallel). Depends on svc/cidr.h and libc/pthreads only; knows nothing about Services.
 * Pointer arguments are borrowed for the duration of the call; strings returned are the
 * caller's to free.
 *
 * Which kube-apiserver behaviour this is, and why:
 * 1.33 turns on MultiCIDRServiceAllocator (IPAddress objects under a ServiceCIDR built from
 * the flag) but keeps DisableAllocatorDualWrite off, so every allocation still goes through
 * the old bitmap first and then creates the IPAddress. What a user sees is therefore:
 *  - usable addresses and the dynamic choice of the bitmap (pkg/registry/core/service/
 *    ipallocator/bitmap.go): offset k is network + 1 + k; IPv4 loses the network and broadcast
 *    addresses; IPv6 loses the network address and is capped at 65536 bitmap slots, so at most
 *    network+1 ... network+65535 are usable even in a /108 (kubernetes#129797 made 1.33 pick
 *    from the bitmap first so that this cap holds for dynamic allocation too);
 *  - band offset min(max(16, size/16), 256) on the raw size 2^hostbits, 0 when size <= 16;
 *  - a dynamic pick starts at a uniformly random slot of the upper band and scans forward,
 *    wrapping in the band; a full upper band sends it to the lower band (random start too);
 *  - a specific address outside the CIDR fails first, at the ServiceCIDR lookup, with
 *    "the provided network does not match the current range"; one inside the CIDR but not
 *    usable (network, IPv4 broadcast, IPv6 beyond the cap) fails in the bitmap with
 *    "the provided IP (<ip>) is not in the valid range. The range of valid IPs is <cidr>";
 *    a held one with "provided IP is already allocated".
 * The wording "the provided IP (%v) ... The range of valid IPs is %s" is the one of the
 * 1.30-1.33 sources, and users quote it verbatim from such clusters in 2025; the older "provided
 * IP is not in the valid range. The range of valid IPs is ..." (k/k#52693, 2017) is gone by then,
 * and the shorter forms without the range belong to upstream code written after 1.33.
 * A dry run (ipalloc_check) follows 1.33's dry-run path, which asks the IPAddress allocator:
 * only the range is checked (network+1 ... last usable address of the whole CIDR, no 65536 cap,
 * no conflict check), and any miss, even outside the CIDR, is "not in the valid range".
 * An automatic dry-run allocation reserves nothing and reports the network address.
 */
#ifndef SVC_IPALLOC_H
#define SVC_IPALLOC_H

#include <stdbool.h>
#include <stdint.h>

#include "svc/cidr.h"

/* Results: 0 on success, else one of these (each is an upstream error value). */
#define IPALLOC_ERR_FULL               (-1) /* ErrFull: "range is full" */
#define IPALLOC_ERR_ALLOCATED          (-2) /* ErrAllocated */
#define IPALLOC_ERR_NOT_IN_RANGE       (-3) /* ErrNotInRange */
#define IPALLOC_ERR_MISMATCHED_NETWORK (-4) /* ErrMismatchedNetwork: outside the CIDR */
#define IPALLOC_ERR_NOT_ALLOCATED      (-5) /* release of an address not held (upstream: no-op) */

struct ipalloc;

struct ipalloc_counts {
    uint64_t used; /* addresses held: kube_apiserver_clusterip_allocator_allocated_ips */
    uint64_t free; /* usable addresses not held (capacity - used) */
    /* kube_apiserver_clusterip_allocator_available_ips as 1.33 reports it: the IPAddress
     * allocator's host count (2^h - 2 for IPv4, 2^h - 1 for IPv6, no 65536 cap) minus used.
     * Equal to free except for IPv6 ranges larger than a /112. */
    uint64_t available_gauge;
};

/*
 * A new allocator over range (copied), seeded from getrandom(2). NULL when range has no family
 * or an IPv4 range has more than 24 host bits (the flag check allows 20). The caller owns the
 * result and frees it with ipalloc_free. A range too small to hold any usable address (a /31,
 * /32, /128) is accepted and is simply always full.
 */
struct ipalloc *ipalloc_new(const struct cidr *range);
/* Free a; NULL is fine. No other thread may still use it. */
void ipalloc_free(struct ipalloc *a);
/* Restart the random source from seed: tests make dynamic choices reproducible with it. */
void ipalloc_seed(struct ipalloc *a, uint64_t seed);

/* The range (borrowed, lives as long as a). */
const struct cidr *ipalloc_cidr(const struct ipalloc *a);
/* Usable addresses: 2^h - 2 (IPv4), min(2^h, 65536) - 1 (IPv6), never below 0. */
uint32_t ipalloc_capacity(const struct ipalloc *a);
/* Size of the static (lower) band: offsets 0 .. band-1, i.e. network+1 .. network+band. */
uint32_t ipalloc_band_offset(const struct ipalloc *a);

/* Reserve ip (a user's clusterIP, or a stored one when rebuilding at start). 0,
 * IPALLOC_ERR_MISMATCHED_NETWORK, IPALLOC_ERR_NOT_IN_RANGE or IPALLOC_ERR_ALLOCATED. Rebuilding
 * from stored Services uses this too: ALLOCATED then means two Services claim the address and
 * the others mean it lies outside the current range; both are for the caller to report. */
int ipalloc_allocate(struct ipalloc *a, const struct cidr_ip *ip);
/* Reserve an address chosen as described above and write it to *out. 0 or IPALLOC_ERR_FULL. */
int ipalloc_allocate_next(struct ipalloc *a, struct cidr_ip *out);
/* Give ip back. 0, or IPALLOC_ERR_NOT_ALLOCATED when it was not held or is not a usable address
 * of the range (nothing changes; upstream treats this as success, callers may ignore it). */
int ipalloc_release(struct ipalloc *a, const struct cidr_ip *ip);
/* True when ip is held. */
bool ipalloc_has(struct ipalloc *a, const struct cidr_ip *ip);
/* Dry run of ipalloc_allocate, reserving nothing: 0 or IPALLOC_ERR_NOT_IN_RANGE (see above). */
int ipalloc_check(struct ipalloc *a, const struct cidr_ip *ip);
/* Consistent snapshot of the counts. */
void ipalloc_counts(struct ipalloc *a, struct ipalloc_counts *out);

/* ---- error texts (each returns a new string the caller frees) --------------------------------
 * ip_text is the address as the user wrote it in spec.clusterIPs (NULL when there is none);
 * the allocator's own messages print it parsed and canonical, as Go's net.IP does ("<nil>" when
 * it does not parse), while the registry's wrapper repeats it verbatim. */

/* The allocator error alone (Go's err.Error()): "provided IP is already allocated", ... */
char *ipalloc_strerror(const struct ipalloc *a, int code, const char *ip_text);
/* The detail of the 422 cause on spec.clusterIPs (value: the whole clusterIPs list):
 * "failed to allocate IP 10.96.0.10: provided IP is already allocated". */
char *ipalloc_static_error_detail(const struct ipalloc *a, int code, const char *ip_text);
/* The message inside the 500 InternalError of a failed automatic allocation:
 * "failed to allocate a serviceIP: range is full" (apierr adds "Internal error occurred: "). */
char *ipalloc_dynamic_error_message(int code);

#endif
