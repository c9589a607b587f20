/*
 * timefmt: RFC 3339 timestamps as Kubernetes writes them (metav1.Time with seconds,
 * metav1.MicroTime with microseconds, RFC3339Nano for annotations), and parsing them back.
 */
#include "svc/util.h"

#include <stdio.h>
#include <string.h>

struct timespec util_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return ts;
}

uint64_t util_monotonic_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

void util_format_time(time_t t, char out[UTIL_RFC3339_LEN])
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, UTIL_RFC3339_LEN, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void util_format_time_micro(struct timespec ts, char out[UTIL_RFC3339_MICRO_LEN])
{
    struct tm tm;
    char base[UTIL_RFC3339_LEN];
    gmtime_r(&ts.tv_sec, &tm);
    strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
    unsigned micros = (unsigned)(ts.tv_nsec / 1000) % 1000000u;
    snprintf(out, UTIL_RFC3339_MICRO_LEN, "%.19s.%06uZ", base, micros);
}

void util_format_time_nano(struct timespec ts, char out[UTIL_RFC3339_NANO_LEN])
{
    struct tm tm;
    char base[UTIL_RFC3339_LEN], frac[11];
    gmtime_r(&ts.tv_sec, &tm);
    strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
    if (ts.tv_nsec == 0) {
        snprintf(out, UTIL_RFC3339_NANO_LEN, "%.19sZ", base);
        return;
    }
    snprintf(frac, sizeof(frac), ".%09u", (unsigned)(ts.tv_nsec % 1000000000L));
    size_t n = strlen(frac);
    while (n > 1 && frac[n - 1] == '0')
        frac[--n] = '\0';
    snprintf(out, UTIL_RFC3339_NANO_LEN, "%.19s%sZ", base, frac);
}

static int digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

int util_parse_time(const char *s, struct timespec *out)
{
    int y, mo, d, h, mi, se;
    if (!s || strlen(s) < 20 || digits(s, 4, &y) || s[4] != '-' || digits(s + 5, 2, &mo) ||
        s[7] != '-' || digits(s + 8, 2, &d) || s[10] != 'T' || digits(s + 11, 2, &h) ||
        s[13] != ':' || digits(s + 14, 2, &mi) || s[16] != ':' || digits(s + 17, 2, &se))
        return -1;
    /* What Go's time.Parse accepts: real calendar days, seconds up to 59. */
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || se > 59)
        return -1;
    if (d > days[mo - 1] + (mo == 2 && leap))
        return -1;
    const char *p = s + 19;
    long nsec = 0;
    if (*p == '.') {
        int n = 0;
        p++;
        while (*p >= '0' && *p <= '9') {
            if (n < 9) {
                nsec = nsec * 10 + (*p - '0');
                n++;
            }
            p++;
        }
        if (n == 0)
            return -1;
        for (; n < 9; n++)
            nsec *= 10;
    }
    long offset = 0;
    if (*p == 'Z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int oh, om;
        if (digits(p + 1, 2, &oh) || p[3] != ':' || digits(p + 4, 2, &om))
            return -1;
        offset = (oh * 3600L + om * 60L) * (*p == '+' ? 1 : -1);
        p += 6;
    } else {
        return -1;
    }
    if (*p)
        return -1;
    struct tm tm = {.tm_year = y - 1900,
                    .tm_mon = mo - 1,
                    .tm_mday = d,
                    .tm_hour = h,
                    .tm_min = mi,
                    .tm_sec = se};
    out->tv_sec = timegm(&tm) - offset;
    out->tv_nsec = nsec;
    return 0;
}
