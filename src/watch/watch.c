/*
 * watch: pull-based watch streams and the hub that wakes them (see include/svc/watch.h).
 *
 * Semantics follow apiserver's watch cache (pkg/storage/cacher, v0.33): which version a watch
 * starts from, the synthetic ADDED events of the initial state, the DELETED/ADDED a watcher sees
 * when an object stops or starts matching its selector, when bookmarks are due, and the 410 for
 * a version the log no longer holds. What differs is the mechanics: instead of a goroutine and a
 * buffered channel per watcher, a stream reads the shared event log at its own pace.
 *
 * Locking: the hub's mutex guards its list of streams and each stream's parked / closing /
 * wake_at / waker fields. Everything else in a stream (cursor, phase, pending bytes, times) is
 * touched only by the connection that reads it, one read at a time (the HTTP glue never reads a
 * stream from two threads at once). Lock order: hub, then store (stream_read asks the store for
 * its revision while holding the hub lock; the store calls on_commit after releasing its own).
 */
#include "svc/watch.h"

#include "svc/rest.h"
#include "svc/store.h"
#include "svc/strbuf.h"
#include "svc/util.h"

#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define EVENT_BATCH 64
/* Stop filling a stream's buffer past this; the rest waits for the next read. This bounds the
   memory of a watcher whose client reads slowly: it lags behind in the log instead. */
#define PENDING_HIGH_WATER (256 * 1024)
/* A drained buffer larger than this is given back rather than kept for the next event. */
#define PENDING_KEEP (16 * 1024)
/* Upstream's cacher: a bookmark about every minute (defaultBookmarkFrequency), the last one 2 s
   before the watch's deadline (cacheWatcher.nextBookmarkTime), and up to 3 s of waiting for
   the cache to reach a version asked for (blockTimeout in watch_cache.go). */
#define DEFAULT_BOOKMARK_INTERVAL 60.0
#define DEFAULT_BOOKMARK_LEAD     2.0
#define DEFAULT_FRESH_WAIT        3.0
/* A read that keeps finding new work gives up after this many rounds and wakes itself, so one
   busy stream cannot hold a worker thread while commits keep coming. */
#define READ_ROUNDS 8

enum stream_phase {
    PHASE_FRESH_WAIT, /* initial events asked from a version the store has not reached yet */
    PHASE_INITIAL,    /* sending the synthetic ADDED events of the snapshot */
    PHASE_LIVE,       /* following the event log */
};

struct watch_stream {
    struct rest_stream base; /* first: the HTTP glue sees a rest_stream */
    struct watch_hub *hub;
    struct watch_spec spec; /* prefix and key copied */
    size_t prefix_len;
    struct watch_stream *prev, *next; /* in the hub's list, under hub->lock */
    /* The reading side. */
    enum stream_phase phase;
    uint64_t cursor; /* last revision read from the log (delivered or skipped) */
    /* Bookmarks are sent only for a version past this one: upstream's cacheWatcher forwards a
       bookmark only when its version is newer than the one the watch started from. */
    uint64_t base_rv;
    struct store_obj **initial; /* objects still to send as synthetic ADDED */
    size_t n_initial, next_initial;
    uint64_t snapshot_rv;  /* the revision of the initial snapshot */
    struct strbuf pending; /* bytes produced but not yet copied out */
    size_t pending_off;
    bool ended;                /* the end was reached: send what is pending, then END */
    uint64_t deadline_us;      /* monotonic; 0 = none */
    uint64_t next_bookmark_us; /* 0 = none due */
    uint64_t fresh_deadline_us;
    /* Under hub->lock. */
    bool parked;
    bool closing;        /* the hub shut down */
    uint64_t wake_at_us; /* while parked: when the timer must wake it; 0 = never */
    void (*wake)(void *ctx);
    void *wake_ctx;
};

struct watch_hub {
    struct store *store;
    pthread_mutex_t lock;
    pthread_cond_t timer_cond; /* on CLOCK_MONOTONIC */
    struct watch_stream *streams;
    unsigned count;
    bool stopping;
    uint64_t timer_target_us; /* when the timer thread looks next; UINT64_MAX: not before told */
    pthread_t timer;
    bool timer_started;
};

/* Wake a parked stream; hub->lock held. */
static void wake_locked(struct watch_stream *s)
{
    if (s->parked) {
        s->parked = false;
        s->wake_at_us = 0;
        if (s->wake)
            s->wake(s->wake_ctx);
    }
}

static void on_commit(void *ctx, uint64_t rv)
{
    struct watch_hub *hub = ctx;
    (void)rv;
    pthread_mutex_lock(&hub->lock);
    /* A parked stream has read the log up to its end, and the log is shared by every kind, so
       any commit concerns it: it must read on, if only to move its cursor past the event (a
       cursor left behind would expire when the log wraps). */
    for (struct watch_stream *s = hub->streams; s; s = s->next)
        wake_locked(s);
    pthread_mutex_unlock(&hub->lock);
}

static void deadline_to_timespec(uint64_t at_us, struct timespec *ts)
{
    ts->tv_sec = (time_t)(at_us / 1000000u);
    ts->tv_nsec = (long)(at_us % 1000000u) * 1000;
}

/* Wakes parked streams whose timeout, bookmark or wait is due, then sleeps until the next one.
   With nothing due it sleeps until a stream parks with a time: an idle server does no work. */
static void *timer_main(void *arg)
{
    struct watch_hub *hub = arg;
    pthread_mutex_lock(&hub->lock);
    while (!hub->stopping) {
        uint64_t now = util_monotonic_us(), next = UINT64_MAX;
        for (struct watch_stream *s = hub->streams; s; s = s->next) {
            if (!s->parked || !s->wake_at_us)
                continue;
            if (s->wake_at_us <= now)
                wake_locked(s);
            else if (s->wake_at_us < next)
                next = s->wake_at_us;
        }
        hub->timer_target_us = next;
        if (next == UINT64_MAX) {
            pthread_cond_wait(&hub->timer_cond, &hub->lock);
        } else {
            struct timespec ts;
            deadline_to_timespec(next, &ts);
            pthread_cond_timedwait(&hub->timer_cond, &hub->lock, &ts);
        }
    }
    pthread_mutex_unlock(&hub->lock);
    return NULL;
}

struct watch_hub *watch_hub_new(struct store *st)
{
    struct watch_hub *hub = xcalloc(1, sizeof(*hub));
    hub->store = st;
    hub->timer_target_us = UINT64_MAX;
    pthread_mutex_init(&hub->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&hub->timer_cond, &ca);
    pthread_condattr_destroy(&ca);
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

static uint64_t seconds_us(double s)
{
    return s > 0 ? (uint64_t)(s * 1e6) : 0;
}

static bool in_scope(const struct watch_stream *s, const struct store_obj *obj)
{
    if (s->spec.key)
        return !strcmp(obj->key, s->spec.key);
    return !strncmp(obj->key, s->spec.prefix, s->prefix_len);
}

static bool matches(const struct watch_stream *s, const struct store_obj *obj)
{
    return obj && in_scope(s, obj) && (!s->spec.match || s->spec.match(s->spec.ctx, obj));
}

static void emit(struct watch_stream *s, const struct watch_event *ev)
{
    if (s->spec.encode(s->spec.ctx, ev, &s->pending))
        s->ended = true;
}

static void emit_object(struct watch_stream *s, enum watch_event_type type,
                        const struct store_obj *obj)
{
    struct watch_event ev = {.type = type, .obj = obj, .rv = obj->rv};
    emit(s, &ev);
}

static void emit_bookmark(struct watch_stream *s, uint64_t rv, bool initial_end)
{
    struct watch_event ev = {.type = WATCH_BOOKMARK, .rv = rv, .initial_end = initial_end};
    emit(s, &ev);
}

static void emit_error(struct watch_stream *s, enum watch_error error, uint64_t rv,
                       uint64_t other_rv)
{
    struct watch_event ev = {.type = WATCH_ERROR, .rv = rv, .error = error, .other_rv = other_rv};
    emit(s, &ev);
    s->ended = true;
}

/* prev's content with metadata.resourceVersion set to rv: what a watcher sees of an object
   that stopped matching (upstream's convertToWatchEvent keeps the old object, new version). */
static struct store_obj *restamp(const struct store_obj *prev, uint64_t rv)
{
    json_t *copy = json_deep_copy(store_obj_json(prev));
    if (!copy)
        abort();
    json_t *meta = json_object_get(copy, "metadata");
    if (json_is_object(meta)) {
        char buf[24];
        snprintf(buf, sizeof(buf), "%llu", (unsigned long long)rv);
        json_object_set_new(meta, "resourceVersion", json_string(buf));
    }
    return store_obj_new(prev->key, copy, rv);
}

/* Translate one store event for this watcher, selector transitions included. */
static void deliver(struct watch_stream *s, const struct store_event *ev)
{
    bool now = ev->type != STORE_DELETED && matches(s, ev->obj);
    bool before = ev->prev && matches(s, ev->prev);
    if (ev->type == STORE_DELETED) {
        /* The store stamps the last state with the deletion's version already. */
        if (before || (!ev->prev && matches(s, ev->obj)))
            emit_object(s, WATCH_DELETED, ev->obj);
    } else if (now && before) {
        emit_object(s, WATCH_MODIFIED, ev->obj);
    } else if (now) {
        emit_object(s, WATCH_ADDED, ev->obj);
    } else if (before) {
        /* It stopped matching: the watcher sees it leave, with its old content. */
        struct store_obj *gone = restamp(ev->prev, ev->rv);
        emit_object(s, WATCH_DELETED, gone);
        store_obj_unref(gone);
    }
}

/* Next bookmark time after now, as cacheWatcher.nextBookmarkTime: a bookmark interval away, but
   no later than shortly before the deadline; none once that moment has passed. */
static void schedule_bookmark(struct watch_stream *s, uint64_t now)
{
    uint64_t next = now + seconds_us(s->spec.bookmark_interval);
    if (s->deadline_us) {
        uint64_t lead = seconds_us(s->spec.bookmark_lead);
        uint64_t pre = s->deadline_us > lead ? s->deadline_us - lead : 0;
        if (pre < next)
            next = pre;
        if (next <= now)
            next = 0;
    }
    s->next_bookmark_us = next;
}

static bool initial_filter(void *ctx, const struct store_obj *obj)
{
    return matches(ctx, obj);
}

/* Take the snapshot whose objects are sent as synthetic ADDED events. */
static void take_snapshot(struct watch_stream *s)
{
    struct store_list_opts lo = {
        .prefix = s->spec.prefix, .filter = initial_filter, .filter_ctx = s};
    struct store_list_result lr;
    store_list(s->hub->store, &lo, &lr);
    s->initial = lr.items;
    s->n_initial = lr.n;
    s->next_initial = 0;
    s->snapshot_rv = lr.rv;
    s->cursor = lr.rv;
    s->base_rv = lr.rv;
    s->phase = PHASE_INITIAL;
}

/* Produce more bytes into s->pending if there are any to produce now. */
static void produce(struct watch_stream *s)
{
    uint64_t now = util_monotonic_us();
    if (s->phase == PHASE_FRESH_WAIT && s->deadline_us && now >= s->deadline_us) {
        s->ended = true; /* timed out while still waiting for the version */
        return;
    }
    if (s->phase == PHASE_FRESH_WAIT) {
        uint64_t cur = store_revision(s->hub->store);
        if (cur >= s->spec.start_rv) {
            take_snapshot(s);
        } else if (now >= s->fresh_deadline_us) {
            emit_error(s, WATCH_ERR_TOO_LARGE, s->spec.start_rv, cur);
            return;
        } else {
            return;
        }
    }
    while (!s->ended && s->pending.len - s->pending_off < PENDING_HIGH_WATER) {
        if (s->phase == PHASE_INITIAL) {
            if (s->next_initial < s->n_initial) {
                struct store_obj *o = s->initial[s->next_initial];
                s->initial[s->next_initial++] = NULL;
                emit_object(s, WATCH_ADDED, o);
                store_obj_unref(o);
                continue;
            }
            free(s->initial);
            s->initial = NULL;
            s->n_initial = s->next_initial = 0;
            s->phase = PHASE_LIVE;
            if (s->spec.initial_end_bookmark)
                emit_bookmark(s, s->snapshot_rv, true);
            continue;
        }
        struct store_event evs[EVENT_BATCH];
        long n = store_events_since(s->hub->store, s->cursor, evs, EVENT_BATCH);
        if (n == STORE_ERR_EXPIRED) {
            /* Fallen out of the log: the client relists, as after upstream's 410. */
            emit_error(s, WATCH_ERR_EXPIRED, s->cursor, store_oldest_revision(s->hub->store));
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
    if (!s->ended && s->phase == PHASE_LIVE && s->next_bookmark_us && now >= s->next_bookmark_us) {
        if (s->cursor > s->base_rv)
            emit_bookmark(s, s->cursor, false);
        schedule_bookmark(s, now);
    }
    if (!s->ended && s->deadline_us && now >= s->deadline_us)
        s->ended = true;
}

/* The earliest moment the stream must be looked at again without a commit; 0 = none. */
static uint64_t next_due(const struct watch_stream *s)
{
    uint64_t due = 0;
    const uint64_t times[] = {
        s->deadline_us,
        s->phase == PHASE_LIVE ? s->next_bookmark_us : 0,
        s->phase == PHASE_FRESH_WAIT ? s->fresh_deadline_us : 0,
    };
    for (size_t i = 0; i < sizeof(times) / sizeof(times[0]); i++)
        if (times[i] && (!due || times[i] < due))
            due = times[i];
    return due;
}

/* Is there work for the stream right now? hub->lock held (the store lock comes after it). */
static bool work_now_locked(const struct watch_stream *s, uint64_t due)
{
    if (s->closing || (due && due <= util_monotonic_us()))
        return true;
    if (s->phase == PHASE_INITIAL)
        return true;
    uint64_t rv = store_revision(s->hub->store);
    if (s->phase == PHASE_FRESH_WAIT)
        return rv >= s->spec.start_rv;
    return rv > s->cursor;
}

static ssize_t stream_read(struct rest_stream *base, char *buf, size_t max)
{
    struct watch_stream *s = (struct watch_stream *)base;
    struct watch_hub *hub = s->hub;
    for (int round = 1;; round++) {
        pthread_mutex_lock(&hub->lock);
        bool closing = s->closing;
        s->parked = false;
        s->wake_at_us = 0;
        pthread_mutex_unlock(&hub->lock);
        if (closing)
            s->ended = true;
        if (s->pending_off == s->pending.len) {
            /* A burst may have grown the buffer; an idle watcher should not keep it. */
            if (s->pending.alloc > PENDING_KEEP) {
                strbuf_release(&s->pending);
                strbuf_init(&s->pending, STRBUF_NO_LIMIT);
            } else {
                strbuf_reset(&s->pending);
            }
            s->pending_off = 0;
            if (!s->ended)
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
        uint64_t due = next_due(s);
        pthread_mutex_lock(&hub->lock);
        /* Park first, then look: a commit from here on finds the stream parked and wakes it;
           one that came before shows in the store's revision. */
        s->parked = true;
        s->wake_at_us = due;
        bool again = work_now_locked(s, due);
        if (!again) {
            if (due && due < hub->timer_target_us) {
                hub->timer_target_us = due;
                pthread_cond_signal(&hub->timer_cond);
            }
            pthread_mutex_unlock(&hub->lock);
            return REST_STREAM_WAIT;
        }
        if (round >= READ_ROUNDS) {
            /* Let the connection come back for more through its waker. */
            wake_locked(s);
            pthread_mutex_unlock(&hub->lock);
            return REST_STREAM_WAIT;
        }
        s->parked = false;
        s->wake_at_us = 0;
        pthread_mutex_unlock(&hub->lock);
    }
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

struct rest_stream *watch_open(struct watch_hub *hub, const struct watch_spec *spec)
{
    struct watch_stream *s = xcalloc(1, sizeof(*s));
    s->base.ops = &watch_stream_ops;
    s->hub = hub;
    s->spec = *spec;
    s->spec.prefix = xstrdup(spec->prefix ? spec->prefix : "");
    s->spec.key = spec->key ? xstrdup(spec->key) : NULL;
    s->prefix_len = strlen(s->spec.prefix);
    if (s->spec.bookmark_interval <= 0)
        s->spec.bookmark_interval = DEFAULT_BOOKMARK_INTERVAL;
    if (s->spec.bookmark_lead <= 0)
        s->spec.bookmark_lead = DEFAULT_BOOKMARK_LEAD;
    if (s->spec.fresh_wait <= 0)
        s->spec.fresh_wait = DEFAULT_FRESH_WAIT;
    strbuf_init(&s->pending, STRBUF_NO_LIMIT);
    uint64_t now = util_monotonic_us();
    if (spec->timeout_seconds > 0)
        s->deadline_us = now + seconds_us(spec->timeout_seconds);
    if (spec->timeout_seconds < 0) {
        /* Upstream's watch context has expired already: the stream ends before any event. */
        s->ended = true;
        s->phase = PHASE_LIVE;
    } else if (spec->initial_events) {
        if (!spec->start_now && spec->start_rv > store_revision(hub->store)) {
            s->phase = PHASE_FRESH_WAIT;
            s->fresh_deadline_us = now + seconds_us(s->spec.fresh_wait);
        } else {
            take_snapshot(s);
        }
    } else {
        s->phase = PHASE_LIVE;
        s->cursor = spec->start_now ? store_revision(hub->store) : spec->start_rv;
        s->base_rv = s->cursor;
        uint64_t oldest = store_oldest_revision(hub->store);
        if (!spec->start_now && spec->start_rv < oldest) {
            /* Too old to resume: the stream is one ERROR event. */
            emit_error(s, WATCH_ERR_EXPIRED, spec->start_rv, oldest);
        }
    }
    if (spec->bookmarks && !s->ended)
        schedule_bookmark(s, now);
    pthread_mutex_lock(&hub->lock);
    s->next = hub->streams;
    if (hub->streams)
        hub->streams->prev = s;
    hub->streams = s;
    hub->count++;
    if (hub->stopping)
        s->closing = true;
    pthread_mutex_unlock(&hub->lock);
    return &s->base;
}
