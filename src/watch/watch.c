/*
 * watch: pull-based watch streams and the hub that wakes them (see include/svc/watch.h).
 *
 * Locking: the hub's mutex guards its list of streams and each stream's parked/waker state;
 * a stream's own data (cursor, pending bytes) is touched only by the connection thread that
 * reads it, one read at a time (the HTTP glue never reads one stream from two threads).
 */
#include "svc/watch.h"

#include "svc/rest.h"
#include "svc/store.h"
#include "svc/strbuf.h"
#include "svc/util.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define EVENT_BATCH 64
/* Stop filling a stream's buffer past this; the rest waits for the next read. */
#define PENDING_HIGH_WATER (256 * 1024)

struct watch_stream {
    struct rest_stream base; /* first: the HTTP glue sees a rest_stream */
    struct watch_hub *hub;
    struct watch_spec spec;  /* prefix and key copied */
    struct watch_stream *prev, *next; /* in the hub's list, under hub->lock */
    /* The reading side. */
    uint64_t cursor;         /* last revision delivered (or skipped) */
    struct store_obj **initial; /* objects still to send as synthetic ADDED */
    size_t n_initial, next_initial;
    bool initial_done;
    struct strbuf pending;   /* bytes produced but not yet copied out */
    size_t pending_off;
    bool ended;              /* the end was reached: send what is pending, then END */
    uint64_t deadline_us;    /* monotonic; 0 = none */
    uint64_t next_bookmark_us;
    /* Under hub->lock. */
    bool parked;
    bool closing;            /* hub shut down */
    void (*wake)(void *ctx);
    void *wake_ctx;
};

struct watch_hub {
    struct store *store;
    pthread_mutex_t lock;
    pthread_cond_t timer_cond;
    struct watch_stream *streams;
    unsigned count;
    bool stopping;
    pthread_t timer;
    bool timer_started;
};

/* Wake a parked stream; hub->lock held. */
static void wake_locked(struct watch_stream *s)
{
    if (s->parked && s->wake) {
        s->parked = false;
        s->wake(s->wake_ctx);
    }
}

static void on_commit(void *ctx, uint64_t rv)
{
    struct watch_hub *hub = ctx;
    (void)rv;
    pthread_mutex_lock(&hub->lock);
    /* Every parked stream has sent all it had, so any commit may concern it. */
    for (struct watch_stream *s = hub->streams; s; s = s->next)
        wake_locked(s);
    pthread_mutex_unlock(&hub->lock);
}

/* Wakes streams whose timeout or bookmark is due; sleeps until the next one (or a second). */
static void *timer_main(void *arg)
{
    struct watch_hub *hub = arg;
    pthread_mutex_lock(&hub->lock);
    while (!hub->stopping) {
        uint64_t now = util_monotonic_us(), next = now + 1000000;
        for (struct watch_stream *s = hub->streams; s; s = s->next) {
            uint64_t due = 0;
            if (s->deadline_us)
                due = s->deadline_us;
            if (s->spec.bookmarks && s->next_bookmark_us && (!due || s->next_bookmark_us < due))
                due = s->next_bookmark_us;
            if (!due)
                continue;
            if (due <= now)
                wake_locked(s);
            else if (due < next)
                next = due;
        }
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        uint64_t wait_us = next > now ? next - now : 1000;
        ts.tv_sec += (time_t)(wait_us / 1000000);
        ts.tv_nsec += (long)(wait_us % 1000000) * 1000;
        if (ts.tv_nsec >= 1000000000) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000;
        }
        pthread_cond_timedwait(&hub->timer_cond, &hub->lock, &ts);
    }
    pthread_mutex_unlock(&hub->lock);
    return NULL;
}

struct watch_hub *watch_hub_new(struct store *st)
{
    struct watch_hub *hub = xcalloc(1, sizeof(*hub));
    hub->store = st;
    pthread_mutex_init(&hub->lock, NULL);
    pthread_cond_init(&hub->timer_cond, NULL);
    store_add_listener(st, on_commit, hub);
    if (pthread_create(&hub->timer, NULL, timer_main, hub) == 0)
        hub->timer_started = true;
    return hub;
}

void watch_hub_shutdown(struct watch_hub *hub)
{
    pthread_mutex_lock(&hub->lock);
    hub->stopping = true;
    for (struct watch_stream *s = hub->streams; s; s = s->next) {
        s->closing = true;
        wake_locked(s);
    }
    pthread_cond_broadcast(&hub->timer_cond);
    pthread_mutex_unlock(&hub->lock);
    if (hub->timer_started) {
        pthread_join(hub->timer, NULL);
        hub->timer_started = false;
    }
}

void watch_hub_free(struct watch_hub *hub)
{
    if (!hub)
        return;
    watch_hub_shutdown(hub);
    pthread_cond_destroy(&hub->timer_cond);
    pthread_mutex_destroy(&hub->lock);
    free(hub);
}

unsigned watch_hub_count(struct watch_hub *hub)
{
    pthread_mutex_lock(&hub->lock);
    unsigned n = hub->count;
    pthread_mutex_unlock(&hub->lock);
    return n;
}

/* ---- one stream ------------------------------------------------------------------------------ */

static bool in_scope(const struct watch_stream *s, const struct store_obj *obj)
{
    if (s->spec.key)
        return !strcmp(obj->key, s->spec.key);
    return !strncmp(obj->key, s->spec.prefix, strlen(s->spec.prefix));
}

static bool matches(const struct watch_stream *s, const struct store_obj *obj)
{
    return obj && in_scope(s, obj) && (!s->spec.match || s->spec.match(s->spec.ctx, obj));
}

static void emit(struct watch_stream *s, enum watch_event_type type, const struct store_obj *obj,
                 uint64_t rv, bool initial_end)
{
    if (s->spec.encode(s->spec.ctx, type, obj, rv, initial_end, &s->pending))
        s->ended = true;
}

/* Translate one store event for this watcher, selector transitions included (§8.9). */
static void deliver(struct watch_stream *s, const struct store_event *ev)
{
    bool now = ev->type != STORE_DELETED && matches(s, ev->obj);
    bool before = ev->prev && matches(s, ev->prev);
    if (ev->type == STORE_DELETED) {
        if (matches(s, ev->obj))
            emit(s, WATCH_DELETED, ev->obj, ev->rv, false);
    } else if (now && before) {
        emit(s, WATCH_MODIFIED, ev->obj, ev->rv, false);
    } else if (now) {
        emit(s, WATCH_ADDED, ev->obj, ev->rv, false);
    } else if (before) {
        /* It stopped matching: the watcher sees it leave, with the new revision. */
        emit(s, WATCH_DELETED, ev->obj, ev->rv, false);
    }
}

/* Produce more bytes into s->pending if there are any to produce now. */
static void produce(struct watch_stream *s)
{
    while (!s->ended && s->pending.len - s->pending_off < PENDING_HIGH_WATER) {
        if (!s->initial_done) {
            if (s->next_initial < s->n_initial) {
                struct store_obj *o = s->initial[s->next_initial];
                s->initial[s->next_initial++] = NULL;
                emit(s, WATCH_ADDED, o, o->rv, false);
                store_obj_unref(o);
                continue;
            }
            s->initial_done = true;
            if (s->spec.initial_end_bookmark)
                emit(s, WATCH_BOOKMARK, NULL, s->cursor, true);
            continue;
        }
        struct store_event evs[EVENT_BATCH];
        long n = store_events_since(s->hub->store, s->cursor, evs, EVENT_BATCH);
        if (n == STORE_ERR_EXPIRED) {
            emit(s, WATCH_ERROR, NULL, s->cursor, false);
            s->ended = true;
            break;
        }
        if (n <= 0)
            break;
        for (long i = 0; i < n; i++) {
            if (!s->ended)
                deliver(s, &evs[i]);
            s->cursor = evs[i].rv;
            store_event_release(&evs[i]);
        }
    }
    uint64_t now = util_monotonic_us();
    if (!s->ended && s->spec.bookmarks && s->next_bookmark_us && now >= s->next_bookmark_us) {
        emit(s, WATCH_BOOKMARK, NULL, s->cursor, false);
        s->next_bookmark_us = now + (uint64_t)(s->spec.bookmark_interval * 1e6);
    }
    if (!s->ended && s->deadline_us && now >= s->deadline_us) {
        /* Upstream sends a last bookmark before a timeout so the client can resume cheaply. */
        if (s->spec.bookmarks)
            emit(s, WATCH_BOOKMARK, NULL, s->cursor, false);
        s->ended = true;
    }
}

static ssize_t stream_read(struct rest_stream *base, char *buf, size_t max)
{
    struct watch_stream *s = (struct watch_stream *)base;
    pthread_mutex_lock(&s->hub->lock);
    bool closing = s->closing;
    /* Unpark before looking, so a commit from now on wakes us again. */
    s->parked = false;
    pthread_mutex_unlock(&s->hub->lock);
    if (closing)
        s->ended = true;
    if (s->pending_off == s->pending.len) {
        strbuf_reset(&s->pending);
        s->pending_off = 0;
        produce(s);
    }
    size_t avail = s->pending.len - s->pending_off;
    if (avail) {
        size_t n = avail < max ? avail : max;
        memcpy(buf, s->pending.buf + s->pending_off, n);
        s->pending_off += n;
        return (ssize_t)n;
    }
    if (s->ended)
        return REST_STREAM_END;
    pthread_mutex_lock(&s->hub->lock);
    s->parked = true;
    /* A commit between produce() and here would have found us unparked: look once more. */
    uint64_t rv = store_revision(s->hub->store);
    bool again = (rv > s->cursor) || s->closing;
    if (again)
        s->parked = false;
    pthread_mutex_unlock(&s->hub->lock);
    if (again) {
        produce(s);
        if (s->pending.len - s->pending_off || s->ended) {
            return stream_read(base, buf, max);
        }
        pthread_mutex_lock(&s->hub->lock);
        s->parked = true;
        pthread_mutex_unlock(&s->hub->lock);
    }
    return REST_STREAM_WAIT;
}

static void stream_set_waker(struct rest_stream *base, void (*wake)(void *ctx), void *ctx)
{
    struct watch_stream *s = (struct watch_stream *)base;
    pthread_mutex_lock(&s->hub->lock);
    s->wake = wake;
    s->wake_ctx = ctx;
    pthread_mutex_unlock(&s->hub->lock);
}

static void stream_free(struct rest_stream *base)
{
    struct watch_stream *s = (struct watch_stream *)base;
    struct watch_hub *hub = s->hub;
    pthread_mutex_lock(&hub->lock);
    if (s->prev)
        s->prev->next = s->next;
    else
        hub->streams = s->next;
    if (s->next)
        s->next->prev = s->prev;
    hub->count--;
    pthread_mutex_unlock(&hub->lock);
    for (size_t i = s->next_initial; i < s->n_initial; i++)
        store_obj_unref(s->initial[i]);
    free(s->initial);
    strbuf_release(&s->pending);
    if (s->spec.free_ctx)
        s->spec.free_ctx(s->spec.ctx);
    free((char *)s->spec.prefix);
    free((char *)s->spec.key);
    free(s);
}

static const struct rest_stream_ops watch_stream_ops = {
    .read = stream_read,
    .set_waker = stream_set_waker,
    .free = stream_free,
};

static bool initial_filter(void *ctx, const struct store_obj *obj)
{
    return matches(ctx, obj);
}

struct rest_stream *watch_open(struct watch_hub *hub, const struct watch_spec *spec)
{
    struct watch_stream *s = xcalloc(1, sizeof(*s));
    s->base.ops = &watch_stream_ops;
    s->hub = hub;
    s->spec = *spec;
    s->spec.prefix = xstrdup(spec->prefix ? spec->prefix : "");
    s->spec.key = spec->key ? xstrdup(spec->key) : NULL;
    if (s->spec.bookmark_interval <= 0)
        s->spec.bookmark_interval = 60;
    strbuf_init(&s->pending, STRBUF_NO_LIMIT);
    s->cursor = spec->start_rv;
    s->initial_done = true;
    uint64_t now = util_monotonic_us();
    if (spec->timeout_seconds > 0)
        s->deadline_us = now + (uint64_t)(spec->timeout_seconds * 1e6);
    if (spec->bookmarks)
        s->next_bookmark_us = now + (uint64_t)(s->spec.bookmark_interval * 1e6);
    if (spec->initial_events) {
        struct store_list_opts lo = {.prefix = s->spec.prefix, .filter = initial_filter,
                                     .filter_ctx = s};
        struct store_list_result lr;
        store_list(hub->store, &lo, &lr);
        s->initial = lr.items;
        s->n_initial = lr.n;
        s->cursor = lr.rv;
        s->initial_done = false;
    } else if (spec->start_rv < store_oldest_revision(hub->store)) {
        /* Too old to resume: the stream is one ERROR event. */
        emit(s, WATCH_ERROR, NULL, spec->start_rv, false);
        s->ended = true;
    }
    pthread_mutex_lock(&hub->lock);
    s->next = hub->streams;
    if (hub->streams)
        hub->streams->prev = s;
    hub->streams = s;
    hub->count++;
    if (hub->stopping)
        s->closing = true;
    pthread_cond_broadcast(&hub->timer_cond);
    pthread_mutex_unlock(&hub->lock);
    return &s->base;
}
