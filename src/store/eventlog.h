/*
 * eventlog: the store's bounded history of commits (private to src/store/).
 * A ring buffer of events in increasing resourceVersion order; the oldest event is dropped when
 * the ring is full. Not thread-safe: the store's lock guards it.
 */
#ifndef SVC_STORE_EVENTLOG_H
#define SVC_STORE_EVENTLOG_H

#include "svc/store.h"

struct eventlog {
    struct store_event *ring; /* owned, cap entries */
    size_t cap;
    size_t start; /* index of the oldest event */
    size_t len;
    uint64_t dropped_rv; /* rv of the newest event dropped (0: none dropped yet) */
};

void eventlog_init(struct eventlog *log, size_t cap);
void eventlog_release(struct eventlog *log);
/* Append ev, taking over its references. */
void eventlog_push(struct eventlog *log, struct store_event ev);
/* The i-th event from the oldest (0 <= i < len), borrowed. */
const struct store_event *eventlog_at(const struct eventlog *log, size_t i);
/* Index of the first event with rv > after_rv (len when none). */
size_t eventlog_first_after(const struct eventlog *log, uint64_t after_rv);

#endif
