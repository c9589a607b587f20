/*
 * portalloc: the NodePort allocator over --service-node-port-range, as kube-apiserver 1.33
 * runs it (pkg/registry/core/service/portallocator over the shared random-scan bitmap): parsing
 * of the flag, static/dynamic bands, random-start allocation, and the error texts users see.
 * The registry drives it inside a Service write, like ipalloc: allocate while preparing,
 * release its own allocations when the write fails, release given-up ports after the commit.
 *
 * Every function is thread-safe (one mutex per allocator). Depends on libc and pthreads only;
 * knows nothing about Services.
 * Pointer arguments are borrowed for the duration of the call; strings returned are the
 * caller's to free.
 *
 * Behaviour:
 *  - every port of [base, base+size) is usable; one bitmap bit per port number (the protocol
 *    plays no part: a port held for TCP is held for UDP too);
 *  - band offset (KEP-3668) min(max(16, size/32), 128), 0 when size <= 16: ports base ..
 *    base+offset-1 are the static band, which dynamic allocation touches only when the upper
 *    band is full. The default 30000-32767 gives 86: static 30000-30085;
 *  - a dynamic pick starts at a random port of the upper band and scans forward with wrap,
 *    then likewise in the lower band, then fails with "range is full";
 *  - a dry run (portalloc_check) only asks whether the port is held, exactly as upstream's
 *    PortAllocationOperation does: a port outside the range passes it. (Upstream's dry-run
 *    automatic ports are fake numbers 32769, 32770, ... chosen by the operation, not by the
 *    allocator; the registry makes them up.)
 */
#ifndef SVC_PORTALLOC_H
#define SVC_PORTALLOC_H

#include <stdbool.h>
#include <stdint.h>

/* Results: 0 on success, else one of these. */
#define PORTALLOC_ERR_FULL          (-1) /* ErrFull: "range is full" */
#define PORTALLOC_ERR_ALLOCATED     (-2) /* ErrAllocated */
#define PORTALLOC_ERR_NOT_IN_RANGE  (-3) /* ErrNotInRange */
#define PORTALLOC_ERR_NOT_ALLOCATED (-4) /* release of a port not held (upstream: no-op) */
#define PORTALLOC_ERR_SYNTAX        (-5) /* the range flag is refused */

/* Room for any two ints ("65535-65535" in practice) and the NUL. */
#define PORTALLOC_RANGE_STRLEN 44

/* Ports base .. base+size-1 (apimachinery's net.PortRange). */
struct portalloc_range {
    int base;
    int size;
};

/*
 * Parse --service-node-port-range as net.PortRange.Set does: surrounding white space trimmed;
 * "min-max", "min+offset" (max = min + offset) or a single port, each number read by Go's
 * strconv.Atoi; no port above 65535; max >= min. "" (or NULL, or only spaces) gives the default
 * 30000-32767, as kube-apiserver's completion substitutes it for an empty range.
 * 0, or PORTALLOC_ERR_SYNTAX and, when err_out is not NULL, *err_out set to Set's error text
 * (caller frees), e.g. "end port cannot be less than start port: 32767-30000" or
 * "strconv.Atoi: parsing \"abc\": invalid syntax". The command line shows it inside pflag's
 * wrapper: invalid argument "<value>" for "--service-node-port-range" flag: <text>.
 */
int portalloc_parse_range(const char *s, struct portalloc_range *out, char **err_out);
/* PortRange.String(): "30000-32767" ("" for size 0). Writes into out and returns it. */
char *portalloc_range_format(const struct portalloc_range *r, char out[PORTALLOC_RANGE_STRLEN]);
bool portalloc_range_contains(const struct portalloc_range *r, int port);

struct portalloc;

struct portalloc_counts {
    uint64_t used; /* kube_apiserver_nodeport_allocator_allocated_ports */
    uint64_t free; /* kube_apiserver_nodeport_allocator_available_ports */
};

/* A new allocator over r (copied), seeded from getrandom(2); the caller frees it with
 * portalloc_free. NULL unless 1 <= size and 0 <= base and base + size - 1 <= 65535. */
struct portalloc *portalloc_new(const struct portalloc_range *r);
/* Free pa; NULL is fine. No other thread may still use it. */
void portalloc_free(struct portalloc *pa);
/* Restart the random source from seed (tests). */
void portalloc_seed(struct portalloc *pa, uint64_t seed);

/* The range (borrowed, lives as long as pa). */
const struct portalloc_range *portalloc_get_range(const struct portalloc *pa);
/* Number of ports in the static (lower) band. */
int portalloc_band_offset(const struct portalloc *pa);

/* Reserve port (a user's nodePort, or a stored one when rebuilding at start). 0,
 * PORTALLOC_ERR_NOT_IN_RANGE or PORTALLOC_ERR_ALLOCATED (when rebuilding: two Services claim
 * the port; the caller reports it). */
int portalloc_allocate(struct portalloc *pa, int port);
/* Reserve a port chosen as described above into *port. 0 or PORTALLOC_ERR_FULL. */
int portalloc_allocate_next(struct portalloc *pa, int *port);
/* Give port back. 0, or PORTALLOC_ERR_NOT_ALLOCATED when it was not held (nothing changes). */
int portalloc_release(struct portalloc *pa, int port);
/* True when port is held. */
bool portalloc_has(struct portalloc *pa, int port);
/* Dry run of portalloc_allocate, reserving nothing: PORTALLOC_ERR_ALLOCATED when held, else 0
 * (the range is deliberately not checked, see above). */
int portalloc_check(struct portalloc *pa, int port);
/* Consistent snapshot of the counts. */
void portalloc_counts(struct portalloc *pa, struct portalloc_counts *out);

/* ---- error texts (each returns a new string the caller frees) -------------------------------- */

/* The allocator error alone, which is also the whole detail of the 422 cause on
 * spec.ports[i].nodePort (value: the number): "provided port is already allocated",
 * "provided port is not in the valid range. The range of valid ports is 30000-32767". */
char *portalloc_strerror(const struct portalloc *pa, int code);
/* The message inside the 500 InternalError of a failed automatic nodePort:
 * "failed to allocate a nodePort: range is full". */
char *portalloc_dynamic_error_message(int code);
/* The message inside the 500 InternalError of a failed healthCheckNodePort: for a requested
 * port, "failed to allocate requested HealthCheck NodePort 30080: provided port is already
 * allocated"; for an automatic one (requested == 0), upstream prints the zero it got back:
 * "failed to allocate a HealthCheck NodePort 0: range is full". */
char *portalloc_health_check_error_message(const struct portalloc *pa, int code, int requested);

#endif
