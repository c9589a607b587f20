/*
 * store: the in-memory, revisioned object map (see include/svc/store.h).
 *
 * One mutex guards the map, the revision counter and the event log; it is held only while a
 * commit is applied in memory, so a slow client never blocks a writer. Serialisation happens
 * under the lock because the resourceVersion is part of the bytes and is only known there; it
 * costs microseconds per object.
 */
#include "svc/store.h"

#include "eventlog.h"
#include "svc/skiplist.h"
#include "svc/util.h"

#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STORE_MAX_LISTENERS 8

struct store {
    pthread_mutex_t lock;
    struct skiplist *objects; /* key -> struct store_obj* (one reference each) */
    uint64_t rv;
    struct eventlog log;
    struct {
        store_listener_fn fn;
        void *ctx;
    } listeners[STORE_MAX_LISTENERS];
    size_t n_listeners;
};

/* ---- objects --------------------------------------------------------------------------------- */

struct store_obj *store_obj_ref(struct store_obj *obj)
{
    if (obj)
        atomic_fetch_add_explicit(&obj->refs, 1, memory_order_relaxed);
    return obj;
}

void store_obj_unref(struct store_obj *obj)
{
    if (!obj || atomic_fetch_sub_explicit(&obj->refs, 1, memory_order_acq_rel) != 1)
        return;
    json_decref(obj->json);
    free(obj->bytes);
    free(obj->key);
    free(obj);
}

/* Where the fields after kind and apiVersion start in the serialised bytes. */
static size_t body_offset(const json_t *json, const char *bytes)
{
    const char *kind = json_string_value(json_object_get(json, "kind"));
    const char *api_version = json_string_value(json_object_get(json, "apiVersion"));
    if (!kind || !api_version)
        return 1;
    json_t *head = json_pack("{s:s,s:s}", "kind", kind, "apiVersion", api_version);
    char *h = json_dumps(head, JSON_COMPACT);
    json_decref(head);
    size_t n = strlen(h);
    size_t off = 1;
    /* h is {"kind":..,"apiVersion":..}; the object starts with the same text followed by ','. */
    if (!strncmp(bytes, h, n - 1) && bytes[n - 1] == ',')
        off = n;
    free(h);
    return off;
}

struct store_obj *store_obj_new(const char *key, json_t *json, uint64_t rv)
{
    struct store_obj *obj = xcalloc(1, sizeof(*obj));
    atomic_init(&obj->refs, 1);
    obj->rv = rv;
    obj->json = json;
    obj->key = xstrdup(key ? key : "");
    obj->bytes = json_dumps(json, JSON_COMPACT);
    if (!obj->bytes)
        abort();
    obj->len = strlen(obj->bytes);
    obj->body_off = body_offset(json, obj->bytes);
    return obj;
}

/* Stamp metadata.resourceVersion (the object is not shared yet) and wrap it. */
static struct store_obj *commit_obj(const char *key, json_t *json, uint64_t rv)
{
    char buf[24];
    snprintf(buf, sizeof(buf), "%llu", (unsigned long long)rv);
    json_t *meta = json_object_get(json, "metadata");
    if (json_is_object(meta))
        json_object_set_new(meta, "resourceVersion", json_string(buf));
    return store_obj_new(key, json, rv);
}

void store_event_release(struct store_event *ev)
{
    store_obj_unref(ev->obj);
    store_obj_unref(ev->prev);
    ev->obj = ev->prev = NULL;
}

/* ---- lifecycle ------------------------------------------------------------------------------- */

struct store *store_new(const struct store_config *cfg)
{
    struct store *st = xcalloc(1, sizeof(*st));
    pthread_mutex_init(&st->lock, NULL);
    st->objects = skiplist_new();
    eventlog_init(&st->log, cfg && cfg->event_log_size ? cfg->event_log_size : 10000);
    return st;
}

void store_free(struct store *st)
{
    if (!st)
        return;
    for (struct skiplist_node *n = skiplist_seek(st->objects, "", 0); n; n = skiplist_next(n))
        store_obj_unref(skiplist_node_value(n));
    skiplist_free(st->objects);
    eventlog_release(&st->log);
    pthread_mutex_destroy(&st->lock);
    free(st);
}

void store_add_listener(struct store *st, store_listener_fn fn, void *ctx)
{
    if (st->n_listeners == STORE_MAX_LISTENERS)
        abort(); /* a wiring mistake at start-up */
    st->listeners[st->n_listeners].fn = fn;
    st->listeners[st->n_listeners].ctx = ctx;
    st->n_listeners++;
}

uint64_t store_revision(struct store *st)
{
    pthread_mutex_lock(&st->lock);
    uint64_t rv = st->rv;
    pthread_mutex_unlock(&st->lock);
    return rv;
}

uint64_t store_oldest_revision(struct store *st)
{
    pthread_mutex_lock(&st->lock);
    uint64_t rv = st->log.dropped_rv;
    pthread_mutex_unlock(&st->lock);
    return rv;
}

static bool has_prefix(const char *s, const char *prefix)
{
    return !strncmp(s, prefix, strlen(prefix));
}

size_t store_count(struct store *st, const char *prefix)
{
    size_t n = 0;
    pthread_mutex_lock(&st->lock);
    for (struct skiplist_node *it = skiplist_seek(st->objects, prefix, 0);
         it && has_prefix(skiplist_node_key(it), prefix); it = skiplist_next(it))
        n++;
    pthread_mutex_unlock(&st->lock);
    return n;
}

/* ---- reads ----------------------------------------------------------------------------------- */

struct store_obj *store_get(struct store *st, const char *key)
{
    pthread_mutex_lock(&st->lock);
    struct store_obj *obj = store_obj_ref(skiplist_get(st->objects, key));
    pthread_mutex_unlock(&st->lock);
    return obj;
}

static void result_push(struct store_list_result *out, size_t *alloc, struct store_obj *obj)
{
    if (out->n == *alloc) {
        *alloc = *alloc ? *alloc * 2 : 64;
        out->items = xrealloc(out->items, *alloc * sizeof(*out->items));
    }
    out->items[out->n++] = store_obj_ref(obj);
}

/* Walk a sorted map (the live one, or a rebuilt past one) and fill out. Lock held if live. */
static void list_walk(const struct skiplist *map, const struct store_list_opts *opts,
                      struct store_list_result *out)
{
    size_t alloc = 0;
    struct skiplist_node *it = opts->start_after ? skiplist_seek(map, opts->start_after, 1)
                                                 : skiplist_seek(map, opts->prefix, 0);
    out->remaining = -1;
    for (; it && has_prefix(skiplist_node_key(it), opts->prefix); it = skiplist_next(it)) {
        struct store_obj *obj = skiplist_node_value(it);
        if (opts->filter && !opts->filter(opts->filter_ctx, obj))
            continue;
        if (opts->limit && out->n == opts->limit) {
            out->more = true;
            /* Upstream counts what follows only when no selector filters the list. */
            if (!opts->filter) {
                long long rest = 0;
                for (; it && has_prefix(skiplist_node_key(it), opts->prefix);
                     it = skiplist_next(it))
                    rest++;
                out->remaining = rest;
            }
            break;
        }
        result_push(out, &alloc, obj);
    }
}

/*
 * Rebuild the key range as it was at revision at_rv: start from the live objects in the range
 * and undo, newest first, every event after at_rv. Lock held.
 */
static struct skiplist *rebuild_past(struct store *st, const struct store_list_opts *opts)
{
    struct skiplist *past = skiplist_new();
    struct skiplist_node *it = opts->start_after ? skiplist_seek(st->objects, opts->start_after, 1)
                                                 : skiplist_seek(st->objects, opts->prefix, 0);
    for (; it && has_prefix(skiplist_node_key(it), opts->prefix); it = skiplist_next(it))
        skiplist_put(past, skiplist_node_key(it), skiplist_node_value(it));
    size_t first = eventlog_first_after(&st->log, opts->at_rv);
    for (size_t i = st->log.len; i-- > first;) {
        const struct store_event *ev = eventlog_at(&st->log, i);
        const char *key = ev->obj->key;
        if (!has_prefix(key, opts->prefix) ||
            (opts->start_after && strcmp(key, opts->start_after) <= 0))
            continue;
        if (ev->type == STORE_ADDED)
            skiplist_remove(past, key);
        else
            skiplist_put(past, key, ev->prev);
    }
    return past;
}

int store_list(struct store *st, const struct store_list_opts *opts,
               struct store_list_result *out)
{
    memset(out, 0, sizeof(*out));
    pthread_mutex_lock(&st->lock);
    out->rv = st->rv;
    if (opts->at_rv && opts->at_rv != st->rv) {
        if (opts->at_rv > st->rv) {
            pthread_mutex_unlock(&st->lock);
            return STORE_ERR_TOO_NEW;
        }
        if (opts->at_rv < st->log.dropped_rv) {
            pthread_mutex_unlock(&st->lock);
            return STORE_ERR_EXPIRED;
        }
        struct skiplist *past = rebuild_past(st, opts);
        list_walk(past, opts, out);
        skiplist_free(past);
        out->rv = opts->at_rv;
    } else {
        list_walk(st->objects, opts, out);
    }
    pthread_mutex_unlock(&st->lock);
    return STORE_OK;
}

void store_list_result_release(struct store_list_result *res)
{
    for (size_t i = 0; i < res->n; i++)
        store_obj_unref(res->items[i]);
    free(res->items);
    memset(res, 0, sizeof(*res));
}

/* ---- writes ---------------------------------------------------------------------------------- */

static void notify(struct store *st, uint64_t rv)
{
    for (size_t i = 0; i < st->n_listeners; i++)
        st->listeners[i].fn(st->listeners[i].ctx, rv);
}

int store_write(struct store *st, struct store_write *w, struct store_obj **result,
                struct store_obj **prev)
{
    if (result)
        *result = NULL;
    if (prev)
        *prev = NULL;
    pthread_mutex_lock(&st->lock);
    struct store_obj *cur = skiplist_get(st->objects, w->key);
    int rc = STORE_OK;
    if (w->op == STORE_OP_CREATE && cur)
        rc = STORE_ERR_EXISTS;
    else if (w->op != STORE_OP_CREATE && !cur)
        rc = STORE_ERR_NOT_FOUND;
    else if (w->op != STORE_OP_CREATE && w->expect_rv && cur->rv != w->expect_rv)
        rc = STORE_ERR_CONFLICT;
    if (rc != STORE_OK) {
        pthread_mutex_unlock(&st->lock);
        json_decref(w->obj);
        w->obj = NULL;
        return rc;
    }
    uint64_t rv = ++st->rv;
    struct store_event ev = {.rv = rv};
    if (w->op == STORE_OP_DELETE) {
        /* Watchers see the last state stamped with the deletion's revision. */
        ev.type = STORE_DELETED;
        ev.obj = commit_obj(w->key, json_deep_copy(cur->json), rv);
        ev.prev = cur; /* the map's reference moves to the event */
        skiplist_remove(st->objects, w->key);
        if (result)
            *result = store_obj_ref(cur);
    } else {
        ev.type = cur ? STORE_MODIFIED : STORE_ADDED;
        ev.obj = commit_obj(w->key, w->obj, rv);
        w->obj = NULL;
        ev.prev = cur;
        skiplist_put(st->objects, w->key, store_obj_ref(ev.obj));
        if (result)
            *result = store_obj_ref(ev.obj);
    }
    if (prev)
        *prev = store_obj_ref(ev.prev);
    eventlog_push(&st->log, ev);
    pthread_mutex_unlock(&st->lock);
    notify(st, rv);
    return STORE_OK;
}

long store_events_since(struct store *st, uint64_t after_rv, struct store_event *out,
                        size_t max)
{
    pthread_mutex_lock(&st->lock);
    if (after_rv < st->log.dropped_rv) {
        pthread_mutex_unlock(&st->lock);
        return STORE_ERR_EXPIRED;
    }
    size_t i = eventlog_first_after(&st->log, after_rv), n = 0;
    for (; i < st->log.len && n < max; i++, n++) {
        const struct store_event *ev = eventlog_at(&st->log, i);
        out[n] = *ev;
        store_obj_ref(out[n].obj);
        store_obj_ref(out[n].prev);
    }
    pthread_mutex_unlock(&st->lock);
    return (long)n;
}
