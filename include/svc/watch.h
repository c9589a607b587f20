/*
 * watch: watch streams over the store's event log, and their fan-out.
 *
 * A watch is a pull-based stream: it remembers the last resourceVersion it delivered and reads
 * later events from the store's event log when its connection can take more bytes. So a slow
 * watcher costs no memory (it only lags; once the log has moved past it, it gets 410 Expired,
 * as an unresponsive upstream watcher is dropped), and an idle one costs no CPU: when it has
 * nothing to send it parks, and the hub wakes it on the next commit (a store listener) or when
 * its timeout or bookmark is due (one timer thread). What a stream sends is decided by the
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

struct watch_spec {
    const char *prefix;       /* key range watched (copied) */
    const char *key;          /* a single key, or NULL (copied) */
    uint64_t start_rv;        /* deliver events after this revision */
    bool initial_events;      /* first a synthetic ADDED for every current matching object */
    bool initial_end_bookmark; /* after those, a bookmark marking their end (WatchList) */
    bool bookmarks;           /* allowWatchBookmarks: periodic BOOKMARK events */
    double timeout_seconds;   /* end the stream after this long; 0 = never */
    double bookmark_interval; /* seconds between bookmarks (upstream: about a minute) */
    /* Does obj match the watch's selectors? NULL: everything matches. */
    bool (*match)(void *ctx, const struct store_obj *obj);
    /* Append one event line for obj (or for rv alone: BOOKMARK; or the 410 ERROR). 0, or -1. */
    int (*encode)(void *ctx, enum watch_event_type type, const struct store_obj *obj,
                  uint64_t rv, bool initial_end, struct strbuf *out);
    void (*free_ctx)(void *ctx);
    void *ctx; /* owned by the stream once opened: freed with free_ctx */
};

struct watch_hub;

/* A hub over st: registers itself as a store listener and starts its timer thread. */
struct watch_hub *watch_hub_new(struct store *st);
/* End every stream (they return the end of stream) and stop the timer; streams still open may
   be freed later by their connections. */
void watch_hub_shutdown(struct watch_hub *hub);
void watch_hub_free(struct watch_hub *hub);
/* Number of open streams. */
unsigned watch_hub_count(struct watch_hub *hub);

/* Open a stream; the spec's ctx is owned by the stream from now on (even on failure). */
struct rest_stream *watch_open(struct watch_hub *hub, const struct watch_spec *spec);

#endif
