/*
 * eventlog: ring buffer of store events (see eventlog.h).
 */
#include "eventlog.h"

#include "svc/util.h"

#include <stdlib.h>

void eventlog_init(struct eventlog *log, size_t cap)
{
    log->cap = cap ? cap : 1;
    log->ring = xcalloc(log->cap, sizeof(*log->ring));
    log->start = 0;
    log->len = 0;
    log->dropped_rv = 0;
}

/* The log's references are counted apart (store_obj.log_refs), so that the store can tell
   objects only it holds. */
static void hold(struct store_obj *obj, int delta)
{
    if (obj)
        atomic_fetch_add(&obj->log_refs, delta);
}

static void drop(struct store_event *ev)
{
    hold(ev->obj, -1);
    hold(ev->prev, -1);
    store_event_release(ev);
}

void eventlog_release(struct eventlog *log)
{
    for (size_t i = 0; i < log->len; i++)
        drop(&log->ring[(log->start + i) % log->cap]);
    free(log->ring);
    log->ring = NULL;
    log->len = 0;
}

void eventlog_push(struct eventlog *log, struct store_event ev)
{
    if (log->len == log->cap) {
        struct store_event *old = &log->ring[log->start];
        log->dropped_rv = old->rv;
        drop(old);
        log->start = (log->start + 1) % log->cap;
        log->len--;
    }
    hold(ev.obj, 1);
    hold(ev.prev, 1);
    log->ring[(log->start + log->len) % log->cap] = ev;
    log->len++;
}

const struct store_event *eventlog_at(const struct eventlog *log, size_t i)
{
    return &log->ring[(log->start + i) % log->cap];
}

size_t eventlog_first_after(const struct eventlog *log, uint64_t after_rv)
{
    size_t lo = 0, hi = log->len;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (eventlog_at(log, mid)->rv <= after_rv)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}
