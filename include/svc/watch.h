/*
 * watch: watch streams over the store's event log, and the hub that wakes them.
 *
 * A watch is a pull-based stream: it remembers the last resourceVersion it has read and takes
 * later events from the store's event log only when its connection can take more bytes. So a
 * slow watcher costs no memory (at most one bounded buffer: it only lags, and once the log has
 * moved past it, it gets the 410 ERROR event upstream gives a watch from a version the cache no
 * longer holds), and an idle one costs no CPU: when it has nothing to send it parks, and the hub
 * wakes it on the next commit (a store listener) or when its timeout, bookmark or wait is due
 * (one timer thread, asleep while nothing is due). What a stream sends is decided by the
 * caller's callbacks (which objects match, how an event is written), so this module knows
 * nothing of selectors, Tables or kinds. Depends on store, strbuf, util and rest.h's stream
 * interface.
 */
#ifndef SVC_WATCH_H
#define SVC_WATCH_H

#include <stdbool.h>
#include <stdint.h>

struct store;
struct store_obj;
struct strbuf;
struct rest_stream;

enum watch_event_type { WATCH_ADDED, WATCH_MODIFIED, WATCH_DELETED, WATCH_BOOKMARK, WATCH_ERROR };

enum watch_error {
    /* The version asked for is older than the event log keeps (410 Expired). */
    WATCH_ERR_EXPIRED,
    /* Initial events were asked for from a version the store did not reach in time (504). */
    WATCH_ERR_TOO_LARGE,
};

/* One event as a stream hands it to its encoder. */
struct watch_event {
    enum watch_event_type type;
    /* ADDED, MODIFIED, DELETED: the object as this watcher sees it (for an object that stopped
       matching, its previous content stamped with the event's version), borrowed. */
    const struct store_obj *obj;
    /* BOOKMARK: the version it marks. ERROR: the version the watch asked for or had reached. */
    uint64_t rv;
    bool initial_end; /* BOOKMARK: it ends the initial events (k8s.io/initial-events-end) */
    enum watch_error error;
    /* ERROR: for EXPIRED the oldest version a watch can still start from, for TOO_LARGE the
       store's current version. */
    uint64_t other_rv;
};

struct watch_spec {
    const char *prefix; /* key range watched (copied) */
    const char *key;    /* a single key, or NULL (copied) */
    uint64_t start_rv;  /* deliver events after this revision (see the flags below) */
    bool start_now;     /* ignore start_rv: deliver events after the current revision */
    /* First a synthetic ADDED for every current matching object, then events after the
       revision of that snapshot. With start_rv above the store's revision the snapshot waits
       (up to fresh_wait seconds) for the store to reach start_rv, as the watch cache does. */
    bool initial_events;
    bool initial_end_bookmark; /* after the initial events, a bookmark marking their end */
    bool bookmarks;            /* allowWatchBookmarks: periodic BOOKMARK events */
    /* End the stream after this long; 0: never; negative: at once (upstream's expired
       context). */
    double timeout_seconds;
    double bookmark_interval; /* seconds between bookmarks; 0: upstream's minute */
    double bookmark_lead;     /* the last bookmark this long before the timeout; 0: 2 s */
    double fresh_wait;        /* see initial_events; 0: upstream's 3 s */
    /* Does obj match the watch's selectors? NULL: everything matches. */
    bool (*match)(void *ctx, const struct store_obj *obj);
    /* Append one event line to out. 0, or -1 to end the stream after what was appended. */
    int (*encode)(void *ctx, const struct watch_event *ev, struct strbuf *out);
    void (*free_ctx)(void *ctx);
    void *ctx; /* owned by the stream once opened: freed with free_ctx */
};

struct watch_hub;

/* A hub over st: registers itself as a store listener and starts its timer thread. */
struct watch_hub *watch_hub_new(struct store *st);
/* End every stream (they return the end of stream) and stop the timer; streams still open may
   be freed later by their connections. */
void watch_hub_shutdown(struct watch_hub *hub);
/* Free the hub; every stream must have been freed before. NULL is allowed. */
void watch_hub_free(struct watch_hub *hub);
/* Number of open streams. */
unsigned watch_hub_count(struct watch_hub *hub);

/* Open a stream (never NULL); the spec's ctx is owned by the stream from now on. */
struct rest_stream *watch_open(struct watch_hub *hub, const struct watch_spec *spec);

#endif
