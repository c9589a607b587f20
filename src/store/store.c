/*
 * store: the in-memory, revisioned object map (see include/svc/store.h).
 *
 * One mutex guards the map, the revision counter and the event log; it is held only while a
 * commit is applied in memory, so a slow client never blocks a writer. Serialisation happens
 * under the lock because the resourceVersion is part of the bytes and is only known there; it
 * costs microseconds per object.
 *
 * With a backend (backend.h) a commit is applied in memory and queued to the backend under the
 * lock, then the writer waits outside the lock until it is durable. Until then nobody may see
 * it: events are handed out only up to the durable revision, and a read whose answer includes a
 * newer commit (an object written, or a key deleted, after the durable revision) waits for that
 * commit before it returns. Without a backend none of this costs anything.
 */
#include "svc/store.h"

#include "backend.h"
#include "eventlog.h"
#include "jsonfast.h"
#include "svc/codec.h"
#include "svc/fileio.h"
#include "svc/skiplist.h"
#include "svc/tree_arena.h"
#include "svc/util.h"
#include "svc/wal.h"

#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define STORE_MAX_LISTENERS 8

struct store {
    pthread_mutex_t lock;
    struct skiplist *objects; /* key -> struct store_obj* (one reference each) */
    uint64_t rv;
    uint64_t last_delete_rv; /* revision of the newest deletion (with a backend) */
    struct eventlog log;
    struct {
        store_listener_fn fn;
        void *ctx;
    } listeners[STORE_MAX_LISTENERS];
    /* Atomic: with a backend the log's thread calls the listeners while start-up adds some. */
    atomic_size_t n_listeners;
    char *trim_key;           /* where the last tree sweep of the map stopped (owned), or NULL */
    size_t trim_event;        /* where the last sweep of the event log stopped */
    struct store_backend *be; /* NULL: memory only */
    struct fileio *io;        /* the backend's directory */
    bool owns_io;
};

/* ---- objects --------------------------------------------------------------------------------- */

/* Trees kept by objects of every store (STORE_TREE_BUDGET bounds it, approximately). */
static atomic_size_t trees_kept;

struct store_obj *store_obj_ref(struct store_obj *obj)
{
    if (obj)
        atomic_fetch_add_explicit(&obj->refs, 1, memory_order_relaxed);
    return obj;
}

static void drop_tree(struct store_obj *obj)
{
    json_t *tree = atomic_exchange(&obj->tree, NULL);
    if (tree) {
        json_decref(tree);
        atomic_fetch_sub(&trees_kept, 1);
    }
}

void store_obj_unref(struct store_obj *obj)
{
    if (!obj || atomic_fetch_sub_explicit(&obj->refs, 1, memory_order_acq_rel) != 1)
        return;
    drop_tree(obj);
    free(obj->bytes);
    free(obj->key);
    free(obj);
}

/* This thread's parse log (store_parse_log_begin): objects, each with a reference. */
struct parse_log {
    bool on;
    struct store_obj **objs; /* owned, as are the references */
    size_t n, cap;
};
static _Thread_local struct parse_log parse_log;

static void note_parsed(struct store_obj *obj)
{
    struct parse_log *pl = &parse_log;
    if (!pl->on)
        return;
    if (pl->n == pl->cap) {
        pl->cap = pl->cap ? 2 * pl->cap : 64;
        pl->objs = xrealloc(pl->objs, pl->cap * sizeof(*pl->objs));
    }
    pl->objs[pl->n++] = store_obj_ref(obj);
}

json_t *store_obj_json(const struct store_obj *cobj)
{
    /* The tree is a cache of the bytes: filling it does not change the object. */
    struct store_obj *obj = (struct store_obj *)cobj;
    json_t *tree = atomic_load(&obj->tree);
    if (tree)
        return tree;
    tree_arena_pause(); /* the tree is the object's, not the request's that happens to read it */
    tree = jsonfast_parse(obj->bytes, obj->len);
    tree_arena_resume();
    if (!tree)
        abort(); /* the bytes are our own serialisation (or were checked at load): cannot be */
    json_t *expected = NULL;
    if (atomic_compare_exchange_strong(&obj->tree, &expected, tree)) {
        atomic_fetch_add(&trees_kept, 1);
        note_parsed(obj);
        return tree;
    }
    json_decref(tree); /* another reader parsed it first */
    return expected;
}

/* The end of the JSON string starting at s[0] == '"' (just after its closing quote), or NULL. */
static const char *skip_json_string(const char *s, const char *end)
{
    for (s++; s < end; s++) {
        if (*s == '\\')
            s++;
        else if (*s == '"')
            return s + 1;
    }
    return NULL;
}

/*
 * Where the fields after kind and apiVersion start in the serialised bytes: the store writes
 * every object with {"kind":..,"apiVersion":.. first (TypeMeta), so the offset is found by
 * stepping over those two members. 1 (everything after "{") when they are not there.
 */
static size_t body_offset(const char *bytes, size_t len)
{
    static const char kind[] = "{\"kind\":", api[] = ",\"apiVersion\":";
    const char *end = bytes + len;
    if (len < sizeof(kind) || memcmp(bytes, kind, sizeof(kind) - 1) ||
        bytes[sizeof(kind) - 1] != '"')
        return 1;
    const char *p = skip_json_string(bytes + sizeof(kind) - 1, end);
    if (!p || (size_t)(end - p) < sizeof(api) || memcmp(p, api, sizeof(api) - 1) ||
        p[sizeof(api) - 1] != '"')
        return 1;
    p = skip_json_string(p + sizeof(api) - 1, end);
    if (!p || p >= end)
        return 1;
    if (*p == ',')
        return (size_t)(p + 1 - bytes);
    return *p == '}' ? (size_t)(p - bytes) : 1; /* nothing else: the body is "}" */
}

/* Wrap the serialised bytes and, when at hand, the tree (both stolen) as an object. */
static struct store_obj *obj_wrap(const char *key, json_t *json, char *bytes, size_t len,
                                  uint64_t rv)
{
    struct store_obj *obj = xcalloc(1, sizeof(*obj));
    atomic_init(&obj->refs, 1);
    atomic_init(&obj->log_refs, 0);
    atomic_init(&obj->tree, json);
    if (json)
        atomic_fetch_add(&trees_kept, 1);
    obj->rv = rv;
    obj->key = xstrdup(key ? key : "");
    obj->bytes = bytes;
    obj->len = len;
    obj->body_off = body_offset(bytes, len);
    return obj;
}

struct store_obj *store_obj_new(const char *key, json_t *json, uint64_t rv)
{
    /* Serialised once, as kube-apiserver's encoder writes it; every GET and LIST copies it. */
    size_t len;
    char *bytes = codec_json_dumps(json, &len);
    if (tree_arena_in_scope()) {
        /* A request's tree goes with the request: the object keeps the bytes, and its first
           reader parses them. */
        json_decref(json);
        json = NULL;
    }
    return obj_wrap(key, json, bytes, len, rv);
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

/* ---- loading from a backend ------------------------------------------------------------------ */

/* A key's latest state while a backend replays: bytes only, parsed once at the end. */
struct load_ent {
    uint64_t rv;
    char *bytes;
    size_t len;
};

struct store_loader {
    struct skiplist *map; /* key -> struct load_ent* */
};

static void load_ent_free(struct load_ent *e)
{
    if (!e)
        return;
    free(e->bytes);
    free(e);
}

/* key_len bytes of key as a C string: in small when it fits, else allocated. */
static char *key_dup(const char *key, size_t key_len, char *small, size_t small_len)
{
    char *k = key_len < small_len ? small : xmalloc(key_len + 1);
    memcpy(k, key, key_len);
    k[key_len] = '\0';
    return k;
}

void store_loader_put(struct store_loader *ld, const char *key, size_t key_len, uint64_t rv,
                      const char *bytes, size_t len)
{
    char small[256];
    char *k = key_dup(key, key_len, small, sizeof(small));
    struct load_ent *e = xcalloc(1, sizeof(*e));
    e->rv = rv;
    e->bytes = xmalloc(len + 1);
    memcpy(e->bytes, bytes, len);
    e->bytes[len] = '\0';
    e->len = len;
    load_ent_free(skiplist_put(ld->map, k, e));
    if (k != small)
        free(k);
}

void store_loader_delete(struct store_loader *ld, const char *key, size_t key_len)
{
    char small[256];
    char *k = key_dup(key, key_len, small, sizeof(small));
    load_ent_free(skiplist_remove(ld->map, k));
    if (k != small)
        free(k);
}

/*
 * Move every loaded object into st->objects. Nothing is parsed: trees are made on first use, so
 * a start-up over a large store costs little more than reading it. The records were checksummed
 * when read; an object that is not even shaped like a JSON object still stops the start.
 */
static int loader_finish(struct store *st, struct store_loader *ld, char *msg, size_t msg_len)
{
    int rc = 0;
    for (struct skiplist_node *it = skiplist_seek(ld->map, "", 0); it; it = skiplist_next(it)) {
        struct load_ent *e = skiplist_node_value(it);
        const char *key = skiplist_node_key(it);
        if (!rc && (e->len < 2 || e->bytes[0] != '{' || e->bytes[e->len - 1] != '}')) {
            snprintf(msg, msg_len,
                     "the stored object %s (resourceVersion %llu) is not a JSON object; "
                     "refusing to start",
                     key, (unsigned long long)e->rv);
            rc = -1;
        }
        if (!rc) {
            struct store_obj *obj = obj_wrap(key, NULL, e->bytes, e->len, e->rv);
            e->bytes = NULL;
            obj->in_map = true;
            skiplist_put(st->objects, key, obj);
        }
        load_ent_free(e);
    }
    skiplist_free(ld->map);
    ld->map = NULL;
    return rc;
}

static void loader_discard(struct store_loader *ld)
{
    for (struct skiplist_node *it = skiplist_seek(ld->map, "", 0); it; it = skiplist_next(it))
        load_ent_free(skiplist_node_value(it));
    skiplist_free(ld->map);
    ld->map = NULL;
}

/* ---- lifecycle ------------------------------------------------------------------------------- */

static void notify(struct store *st, uint64_t rv)
{
    size_t n = atomic_load(&st->n_listeners);
    for (size_t i = 0; i < n; i++)
        st->listeners[i].fn(st->listeners[i].ctx, rv);
}

static void on_durable(void *ctx, uint64_t rv)
{
    notify(ctx, rv);
}

struct store *store_open(const struct store_config *cfg, char *msg, size_t msg_len)
{
    struct store *st = xcalloc(1, sizeof(*st));
    pthread_mutex_init(&st->lock, NULL);
    st->objects = skiplist_new();
    atomic_init(&st->n_listeners, 0);
    eventlog_init(&st->log, cfg && cfg->event_log_size ? cfg->event_log_size : 10000);
    if (!cfg || (!cfg->data_dir && !cfg->io))
        return st;
    st->io = cfg->io;
    if (!st->io) {
        st->io = fileio_posix_new(cfg->data_dir, msg, msg_len);
        if (!st->io)
            goto fail;
        st->owns_io = true;
    }
    struct wal_config wcfg = {.snapshot_threshold = cfg->snapshot_threshold,
                              .log = cfg->log,
                              .log_ctx = cfg->log_ctx,
                              .on_failure = cfg->on_io_error,
                              .failure_ctx = cfg->io_error_ctx};
    st->be = wal_backend_new(st->io, &wcfg);
    st->be->on_durable = on_durable;
    st->be->durable_ctx = st;
    struct store_loader ld = {.map = skiplist_new()};
    uint64_t rv = 0;
    if (st->be->ops->load(st->be, &ld, &rv, msg, msg_len)) {
        loader_discard(&ld);
        goto fail;
    }
    if (loader_finish(st, &ld, msg, msg_len))
        goto fail;
    /* The history before the start is gone: a watch from an older revision must relist. */
    st->rv = rv;
    st->log.dropped_rv = rv;
    return st;
fail:
    store_free(st);
    return NULL;
}

struct store *store_new(const struct store_config *cfg)
{
    char msg[512];
    struct store *st = store_open(cfg, msg, sizeof(msg));
    if (!st) {
        fprintf(stderr, "svc-apiserver: %s\n", msg);
        abort(); /* a misuse: store_new is for stores in memory, which cannot fail */
    }
    return st;
}

void store_free(struct store *st)
{
    if (!st)
        return;
    /* First, so that everything appended is durable and no thread of the backend runs on. */
    if (st->be)
        st->be->ops->free(st->be);
    for (struct skiplist_node *n = skiplist_seek(st->objects, "", 0); n; n = skiplist_next(n))
        store_obj_unref(skiplist_node_value(n));
    skiplist_free(st->objects);
    free(st->trim_key);
    eventlog_release(&st->log);
    if (st->owns_io)
        fileio_free(st->io);
    pthread_mutex_destroy(&st->lock);
    free(st);
}

void store_add_listener(struct store *st, store_listener_fn fn, void *ctx)
{
    size_t n = atomic_load(&st->n_listeners);
    if (n == STORE_MAX_LISTENERS)
        abort(); /* a wiring mistake at start-up */
    st->listeners[n].fn = fn;
    st->listeners[n].ctx = ctx;
    atomic_store(&st->n_listeners, n + 1); /* publishes the entry filled above */
}

/* With a backend, block until every commit up to rv is durable; 0 or STORE_ERR_IO. */
static int await_durable(struct store *st, uint64_t rv)
{
    if (!st->be || rv <= st->be->ops->durable(st->be))
        return 0;
    return st->be->ops->wait(st->be, rv);
}

uint64_t store_revision(struct store *st)
{
    if (st->be)
        return st->be->ops->durable(st->be);
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
    uint64_t seen = st->rv;
    pthread_mutex_unlock(&st->lock);
    await_durable(st, seen);
    return n;
}

/* ---- reads ----------------------------------------------------------------------------------- */

struct store_obj *store_get(struct store *st, const char *key)
{
    pthread_mutex_lock(&st->lock);
    struct store_obj *obj = store_obj_ref(skiplist_get(st->objects, key));
    /* A miss shows a deletion, if there was one: wait for the newest deletion to be safe. */
    uint64_t shows = obj ? obj->rv : st->last_delete_rv;
    pthread_mutex_unlock(&st->lock);
    if (await_durable(st, shows)) {
        store_obj_unref(obj);
        return NULL;
    }
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

int store_list(struct store *st, const struct store_list_opts *opts, struct store_list_result *out)
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
    /* The answer reflects every commit up to out->rv, deletions included. */
    if (await_durable(st, out->rv)) {
        store_list_result_release(out);
        return STORE_ERR_IO;
    }
    return STORE_OK;
}

void store_list_result_release(struct store_list_result *res)
{
    for (size_t i = 0; i < res->n; i++)
        store_obj_unref(res->items[i]);
    free(res->items);
    memset(res, 0, sizeof(*res));
}

/* ---- trees ----------------------------------------------------------------------------------- */

/* Nodes looked at per sweep: bounds the time a writer spends on it. */
#define TRIM_STEPS 256

/* Whether only the store (and `mine` references of the caller) hold obj, so that its tree may
   go. Store lock held: nobody can take a new reference to an object without it unless they
   already hold one. */
static bool held_only_by_store(struct store_obj *obj, int mine)
{
    int structural = (obj->in_map ? 1 : 0) + atomic_load(&obj->log_refs);
    return atomic_load(&obj->refs) == structural + mine;
}

/*
 * Over budget, free the trees of objects only the store holds, a bounded number of steps at a
 * time: a clock hand over the map, then one over the event log (past states live only there).
 * Store lock held.
 */
/* Trees trim_trees took from their objects under the store lock, to be freed once it is
   released (freeing a tree is most of the cost, and every writer waits on that lock). */
struct dead_trees {
    json_t *tree[3 * TRIM_STEPS]; /* one per map step and two per event-log step, at most */
    size_t n;
};

static void detach_tree(struct store_obj *obj, struct dead_trees *dead)
{
    json_t *tree = atomic_exchange(&obj->tree, NULL);
    if (tree) {
        atomic_fetch_sub(&trees_kept, 1);
        dead->tree[dead->n++] = tree;
    }
}

/* Lock released: free them. */
static void bury(struct dead_trees *dead)
{
    for (size_t i = 0; i < dead->n; i++)
        json_decref(dead->tree[i]);
    dead->n = 0;
}

static void trim_trees(struct store *st, struct dead_trees *dead)
{
    if (atomic_load(&trees_kept) <= STORE_TREE_BUDGET)
        return;
    struct skiplist_node *it = skiplist_seek(st->objects, st->trim_key ? st->trim_key : "", 1);
    size_t steps = 0;
    for (; steps < TRIM_STEPS && atomic_load(&trees_kept) > STORE_TREE_BUDGET; steps++) {
        if (!it && !(it = skiplist_seek(st->objects, "", 0)))
            break;
        struct store_obj *obj = skiplist_node_value(it);
        if (atomic_load(&obj->tree) && held_only_by_store(obj, 0))
            detach_tree(obj, dead);
        free(st->trim_key);
        st->trim_key = xstrdup(skiplist_node_key(it));
        it = skiplist_next(it);
    }
    for (steps = 0;
         steps < TRIM_STEPS && st->log.len && atomic_load(&trees_kept) > STORE_TREE_BUDGET;
         steps++) {
        st->trim_event = (st->trim_event + 1) % st->log.len;
        const struct store_event *ev = eventlog_at(&st->log, st->trim_event);
        struct store_obj *objs[2] = {ev->obj, ev->prev};
        for (int k = 0; k < 2; k++)
            if (objs[k] && atomic_load(&objs[k]->tree) && held_only_by_store(objs[k], 0))
                detach_tree(objs[k], dead);
    }
}

void store_trim(struct store *st)
{
    /* Rounds of the bounded trim, the lock released between them, until under budget or after
       a pass over every object and event. */
    struct dead_trees dead;
    dead.n = 0; /* (the array is filled as used: no need to clear 6 KiB per write) */
    for (size_t round = 0; atomic_load(&trees_kept) > STORE_TREE_BUDGET; round++) {
        pthread_mutex_lock(&st->lock);
        size_t rounds = (skiplist_size(st->objects) + st->log.len) / TRIM_STEPS + 1;
        if (round < rounds)
            trim_trees(st, &dead);
        pthread_mutex_unlock(&st->lock);
        bury(&dead);
        if (round >= rounds)
            break;
    }
}

void store_parse_log_begin(void)
{
    parse_log.on = true;
}

void store_parse_log_flush(struct store *st)
{
    struct parse_log *pl = &parse_log;
    struct dead_trees dead;
    for (size_t done = 0; done < pl->n;) {
        dead.n = 0;
        size_t stop = done + TRIM_STEPS < pl->n ? done + TRIM_STEPS : pl->n;
        pthread_mutex_lock(&st->lock);
        for (size_t i = done; i < stop; i++)
            if (atomic_load(&pl->objs[i]->tree) && held_only_by_store(pl->objs[i], 1))
                detach_tree(pl->objs[i], &dead);
        pthread_mutex_unlock(&st->lock);
        bury(&dead);
        for (size_t i = done; i < stop; i++)
            store_obj_unref(pl->objs[i]);
        done = stop;
    }
    pl->n = 0;
}

void store_parse_log_end(struct store *st)
{
    store_parse_log_flush(st);
    free(parse_log.objs);
    parse_log = (struct parse_log){0};
}

/* ---- writes ---------------------------------------------------------------------------------- */

/* Hand the backend the whole state as of now: references, copied in a few milliseconds. */
static void offer_snapshot(struct store *st)
{
    size_t n = skiplist_size(st->objects), i = 0;
    struct store_obj **objs = xmalloc((n ? n : 1) * sizeof(*objs));
    for (struct skiplist_node *it = skiplist_seek(st->objects, "", 0); it && i < n;
         it = skiplist_next(it))
        objs[i++] = store_obj_ref(skiplist_node_value(it));
    st->be->ops->snapshot(st->be, st->rv, objs, i);
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
    if (st->be && (st->be->ops->failed(st->be) || strlen(w->key) > WAL_MAX_KEY))
        rc = STORE_ERR_IO; /* (no valid key is that long: names are short) */
    else if (w->op == STORE_OP_CREATE && cur)
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
        ev.obj = commit_obj(w->key, json_deep_copy(store_obj_json(cur)), rv);
        ev.prev = cur; /* the map's reference moves to the event */
        cur->in_map = false;
        skiplist_remove(st->objects, w->key);
        if (result)
            *result = store_obj_ref(cur);
    } else {
        ev.type = cur ? STORE_MODIFIED : STORE_ADDED;
        ev.obj = commit_obj(w->key, w->obj, rv);
        w->obj = NULL;
        ev.prev = cur; /* the map's reference to it moves to the event */
        if (cur)
            cur->in_map = false;
        ev.obj->in_map = true;
        skiplist_put(st->objects, w->key, store_obj_ref(ev.obj));
        if (result)
            *result = store_obj_ref(ev.obj);
    }
    if (prev)
        *prev = store_obj_ref(ev.prev);
    if (st->be) {
        struct store_commit c = {.rv = rv,
                                 .deleted = ev.type == STORE_DELETED,
                                 .key = ev.obj->key,
                                 .bytes = ev.obj->bytes,
                                 .len = ev.obj->len};
        st->be->ops->append(st->be, &c);
        if (c.deleted)
            st->last_delete_rv = rv;
        if (st->be->ops->wants_snapshot(st->be))
            offer_snapshot(st);
    }
    eventlog_push(&st->log, ev);
    struct dead_trees dead;
    dead.n = 0; /* (the array is filled as used: no need to clear 6 KiB per write) */
    trim_trees(st, &dead);
    pthread_mutex_unlock(&st->lock);
    bury(&dead);
    if (!st->be) {
        notify(st, rv);
        return STORE_OK;
    }
    /* Listeners hear of it from the backend's thread once it is durable. */
    if (st->be->ops->wait(st->be, rv)) {
        if (result) {
            store_obj_unref(*result);
            *result = NULL;
        }
        if (prev) {
            store_obj_unref(*prev);
            *prev = NULL;
        }
        return STORE_ERR_IO;
    }
    return STORE_OK;
}

long store_events_since(struct store *st, uint64_t after_rv, struct store_event *out, size_t max)
{
    pthread_mutex_lock(&st->lock);
    if (after_rv < st->log.dropped_rv) {
        pthread_mutex_unlock(&st->lock);
        return STORE_ERR_EXPIRED;
    }
    /* Commits not yet durable are not shown: they could still be lost. */
    uint64_t limit = st->be ? st->be->ops->durable(st->be) : UINT64_MAX;
    size_t i = eventlog_first_after(&st->log, after_rv), n = 0;
    for (; i < st->log.len && n < max; i++, n++) {
        const struct store_event *ev = eventlog_at(&st->log, i);
        if (ev->rv > limit)
            break;
        out[n] = *ev;
        store_obj_ref(out[n].obj);
        store_obj_ref(out[n].prev);
    }
    pthread_mutex_unlock(&st->lock);
    return (long)n;
}
