/*
 * duration: durations and ages written the way kubectl users read them ("5m2s", "47h", "2y"),
 * with apimachinery's HumanDuration rules (pkg/util/duration), and the AGE of a timestamp as the
 * server-side Table printers compute it.
 *
 * The clock is never read here: every function takes "now" from the caller, so results are
 * reproducible and tests do not depend on the time of day. Depends on libc and util (RFC 3339
 * parsing) only.
 */
#ifndef SVC_DURATION_H
#define SVC_DURATION_H

#include <stdint.h>
#include <time.h>

/* Room for any result of this module, NUL included (the longest is "<invalid>" or "<unknown>"). */
#define DURATION_LEN 16

/*
 * Write HumanDuration(d) for d nanoseconds into out (caller storage):
 *   d <= -2s "<invalid>"; -2s < d < 0 "0s"; then "119s", "9m59s", "179m", "7h59m", "47h",
 *   "7d23h", "729d", "7y364d", "8y" (365-day years), every division truncating.
 */
void duration_human(int64_t ns, char out[DURATION_LEN]);

/*
 * Nanoseconds from `then` to `now` (now - then), saturated at INT64_MIN / INT64_MAX as Go's
 * time.Sub saturates instead of wrapping.
 */
int64_t duration_between(struct timespec then, struct timespec now);

/*
 * Parse a metav1.Time / metav1.MicroTime string (RFC 3339). 0 and *out set on success; -1 when
 * s is NULL, malformed, or Go's zero time (0001-01-01T00:00:00Z), which upstream treats as unset.
 */
int duration_parse_timestamp(const char *s, struct timespec *out);

/*
 * The AGE cell of a timestamp: HumanDuration(now - timestamp), or "<unknown>" when timestamp is
 * NULL, unparsable or the zero time (upstream's translateTimestampSince). Written into out.
 */
void duration_age(const char *timestamp, struct timespec now, char out[DURATION_LEN]);

/* The same for an already parsed time. */
void duration_age_ts(struct timespec then, struct timespec now, char out[DURATION_LEN]);

#endif
