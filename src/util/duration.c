/*
 * duration: apimachinery's HumanDuration and the AGE of a timestamp. See include/svc/duration.h.
 * Pure functions of their arguments; never reads the clock. Depends on libc and util only.
 */
#include "svc/duration.h"

#include "svc/util.h"

#include <stdio.h>

#define NS_PER_SEC  1000000000LL
#define NS_PER_MIN  (60 * NS_PER_SEC)
#define NS_PER_HOUR (60 * NS_PER_MIN)

/* Go's zero time.Time, 0001-01-01T00:00:00Z, in Unix seconds. */
#define GO_ZERO_TIME_UNIX (-62135596800LL)

void duration_human(int64_t ns, char out[DURATION_LEN])
{
    /*
     * Upstream converts to whole seconds by truncating toward zero, so anything above -2s counts
     * as "now": it tolerates clocks that disagree by a second. C division truncates the same way.
     */
    int64_t seconds = ns / NS_PER_SEC;
    if (seconds < -1) {
        snprintf(out, DURATION_LEN, "<invalid>");
        return;
    }
    if (seconds < 0) {
        snprintf(out, DURATION_LEN, "0s");
        return;
    }
    if (seconds < 60 * 2) {
        snprintf(out, DURATION_LEN, "%llds", (long long)seconds);
        return;
    }
    long long minutes = ns / NS_PER_MIN;
    if (minutes < 10) {
        long long s = seconds % 60;
        if (s == 0)
            snprintf(out, DURATION_LEN, "%lldm", minutes);
        else
            snprintf(out, DURATION_LEN, "%lldm%llds", minutes, s);
        return;
    }
    if (minutes < 60 * 3) {
        snprintf(out, DURATION_LEN, "%lldm", minutes);
        return;
    }
    long long hours = ns / NS_PER_HOUR;
    if (hours < 8) {
        long long m = minutes % 60;
        if (m == 0)
            snprintf(out, DURATION_LEN, "%lldh", hours);
        else
            snprintf(out, DURATION_LEN, "%lldh%lldm", hours, m);
    } else if (hours < 48) {
        snprintf(out, DURATION_LEN, "%lldh", hours);
    } else if (hours < 24 * 8) {
        long long h = hours % 24;
        if (h == 0)
            snprintf(out, DURATION_LEN, "%lldd", hours / 24);
        else
            snprintf(out, DURATION_LEN, "%lldd%lldh", hours / 24, h);
    } else if (hours < 24 * 365 * 2) {
        snprintf(out, DURATION_LEN, "%lldd", hours / 24);
    } else if (hours < 24 * 365 * 8) {
        /* Years are 365 days here, as upstream counts them; leap days are ignored. */
        long long dy = (hours / 24) % 365;
        if (dy == 0)
            snprintf(out, DURATION_LEN, "%lldy", hours / 24 / 365);
        else
            snprintf(out, DURATION_LEN, "%lldy%lldd", hours / 24 / 365, dy);
    } else {
        snprintf(out, DURATION_LEN, "%lldy", hours / 24 / 365);
    }
}

int64_t duration_between(struct timespec then, struct timespec now)
{
    int64_t sec = (int64_t)now.tv_sec - (int64_t)then.tv_sec;
    int64_t nsec = (int64_t)now.tv_nsec - (int64_t)then.tv_nsec;
    int64_t d;
    /* Go's Time.Sub saturates at the Duration limits; so do we, instead of overflowing. */
    if (__builtin_mul_overflow(sec, NS_PER_SEC, &d) || __builtin_add_overflow(d, nsec, &d)) {
        bool before =
            now.tv_sec < then.tv_sec || (now.tv_sec == then.tv_sec && now.tv_nsec < then.tv_nsec);
        return before ? INT64_MIN : INT64_MAX;
    }
    return d;
}

int duration_parse_timestamp(const char *s, struct timespec *out)
{
    struct timespec ts;
    if (!s || util_parse_time(s, &ts) < 0)
        return -1;
    /* metav1.Time.IsZero(): the zero time prints as unknown, like a missing one. */
    if ((long long)ts.tv_sec == GO_ZERO_TIME_UNIX && ts.tv_nsec == 0)
        return -1;
    *out = ts;
    return 0;
}

void duration_age_ts(struct timespec then, struct timespec now, char out[DURATION_LEN])
{
    duration_human(duration_between(then, now), out);
}

void duration_age(const char *timestamp, struct timespec now, char out[DURATION_LEN])
{
    struct timespec then;
    if (duration_parse_timestamp(timestamp, &then) < 0) {
        snprintf(out, DURATION_LEN, "<unknown>");
        return;
    }
    duration_age_ts(then, now, out);
}
