/*
 * test_watch: watch streams (src/watch/watch.c, include/svc/watch.h) over the store's event log,
 * and the list paging and resourceVersion rules of src/registry/list.c. The expected behaviour
 * is apiserver v0.33's (pkg/storage/cacher, storage/continue.go, etcd3 errors.go;
 * service-semantics.md §8.8-§8.9): events after the version asked for and nothing else, the
 * 410 once the log has moved past it with the oldest version still served, DELETED/ADDED when
 * an object stops/starts matching, initial events ended by the annotated bookmark, bookmarks
 * only past the starting version and shortly before the timeout, and stable continue tokens.
 * Streams are read directly through their rest_stream operations; no sockets.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "svc/api.h"
#include "svc/apierr.h"
#include "svc/registry.h"
#include "svc/rest.h"
#include "svc/store.h"
#include "svc/strbuf.h"
#include "svc/watch.h"

#ifndef TEST_DATA_DIR
#define TEST_DATA_DIR "tests/data"
#endif

/* ---- fixtures ------------------------------------------------------------------------------- */

static struct store *new_store(size_t log)
{
    struct store_config cfg = {.event_log_size = log};
    struct store *st = store_new(&cfg);
    cr_assert_not_null(st);
    return st;
}

static json_t *svc(const char *name, const char *app)
{
    json_t *o = json_pack("{s:s,s:s,s:{s:s,s:s,s:s}}", "kind", "Service", "apiVersion", "v1",
                          "metadata", "name", name, "namespace", "default", "resourceVersion", "");
    if (app)
        json_object_set_new(json_object_get(o, "metadata"), "labels",
                            json_pack("{s:s}", "app", app));
    return o;
}

static uint64_t put(struct store *st, const char *name, const char *app)
{
    char key[128];
    snprintf(key, sizeof(key), "services/default/%s", name);
    struct store_obj *cur = store_get(st, key);
    struct store_write w = {
        .op = cur ? STORE_OP_UPDATE : STORE_OP_CREATE, .key = key, .obj = svc(name, app)};
    store_obj_unref(cur);
    struct store_obj *res = NULL;
    cr_assert_eq(store_write(st, &w, &res, NULL), STORE_OK);
    uint64_t rv = res->rv;
    store_obj_unref(res);
    return rv;
}

static uint64_t del(struct store *st, const char *name)
{
    char key[128];
    snprintf(key, sizeof(key), "services/default/%s", name);
    struct store_write w = {.op = STORE_OP_DELETE, .key = key};
    cr_assert_eq(store_write(st, &w, NULL, NULL), STORE_OK);
    return store_revision(st);
}

/* An object outside the watched range, to move the revision on. */
static void put_other(struct store *st, const char *name)
{
    char key[128];
    snprintf(key, sizeof(key), "pods/default/%s", name);
    struct store_write w = {.op = STORE_OP_CREATE, .key = key, .obj = svc(name, NULL)};
    cr_assert_eq(store_write(st, &w, NULL, NULL), STORE_OK);
}

static const char *type_word(enum watch_event_type t)
{
    static const char *const words[] = {"ADDED", "MODIFIED", "DELETED", "BOOKMARK", "ERROR"};
    return words[t];
}

/* One line per event: "ADDED web 5 app=web", "BOOKMARK 9 end", "ERROR expired 3 7". */
static int encode(void *ctx, const struct watch_event *ev, struct strbuf *out)
{
    (void)ctx;
    if (ev->type == WATCH_ERROR)
        return strbuf_addf(out, "ERROR %s %llu %llu\n",
                           ev->error == WATCH_ERR_EXPIRED ? "expired" : "too-large",
                           (unsigned long long)ev->rv, (unsigned long long)ev->other_rv);
    if (ev->type == WATCH_BOOKMARK)
        return strbuf_addf(out, "BOOKMARK %llu%s\n", (unsigned long long)ev->rv,
                           ev->initial_end ? " end" : "");
    json_t *meta = json_object_get(store_obj_json(ev->obj), "metadata");
    const char *app = json_string_value(json_object_get(json_object_get(meta, "labels"), "app"));
    return strbuf_addf(out, "%s %s %s%s%s\n", type_word(ev->type),
                       json_string_value(json_object_get(meta, "name")),
                       json_string_value(json_object_get(meta, "resourceVersion")),
                       app ? " app=" : "", app ? app : "");
}

/* Match objects labelled app=web. */
static bool match_web(void *ctx, const struct store_obj *obj)
{
    (void)ctx;
    const char *app = json_string_value(json_object_get(
        json_object_get(json_object_get(store_obj_json(obj), "metadata"), "labels"), "app"));
    return app && !strcmp(app, "web");
}

static atomic_int wakes;
static void count_wake(void *ctx)
{
    (void)ctx;
    atomic_fetch_add(&wakes, 1);
}

static struct rest_stream *open_stream(struct watch_hub *hub, struct watch_spec spec)
{
    spec.prefix = spec.prefix ? spec.prefix : "services/default/";
    spec.encode = encode;
    struct rest_stream *s = watch_open(hub, &spec);
    cr_assert_not_null(s);
    s->ops->set_waker(s, count_wake, NULL);
    return s;
}

/* Read everything the stream has now, in reads of `chunk` bytes; *end tells if it ended. */
static char *drain(struct rest_stream *s, size_t chunk, bool *end)
{
    struct strbuf sb;
    strbuf_init(&sb, STRBUF_NO_LIMIT);
    strbuf_addstr(&sb, "");
    char buf[4096];
    if (chunk > sizeof(buf))
        chunk = sizeof(buf);
    *end = false;
    for (int i = 0; i < 100000; i++) {
        ssize_t n = s->ops->read(s, buf, chunk);
        if (n > 0) {
            strbuf_add(&sb, buf, (size_t)n);
            continue;
        }
        *end = n == REST_STREAM_END;
        break;
    }
    return strbuf_detach(&sb, NULL);
}

static char *drain_all(struct rest_stream *s, bool *end)
{
    return drain(s, 4096, end);
}

/* The version of the last event line ("TYPE name rv ..."), as a client remembers it. */
static uint64_t last_rv(const char *out)
{
    const char *line = out, *p;
    while ((p = strchr(line, '\n')) && p[1])
        line = p + 1;
    unsigned long long rv = 0;
    cr_assert_eq(sscanf(line, "%*s %*s %llu", &rv), 1, "no version in %s", line);
    return rv;
}

/* ---- the event log ------------------------------------------------------------------------- */

Test(watch, event_log_wraps_and_keeps_only_the_newest_events)
{
    struct store *st = new_store(5);
    for (int i = 0; i < 12; i++)
        put(st, "web", "web");
    cr_expect_eq(store_revision(st), 12);
    /* Events 8..12 are kept; a watch can start from 7 (everything after it is there). */
    cr_expect_eq(store_oldest_revision(st), 7);
    struct store_event evs[8];
    cr_expect_eq(store_events_since(st, 6, evs, 8), STORE_ERR_EXPIRED);
    long n = store_events_since(st, 7, evs, 8);
    cr_assert_eq(n, 5);
    for (long i = 0; i < n; i++) {
        cr_expect_eq(evs[i].rv, (uint64_t)(8 + i));
        store_event_release(&evs[i]);
    }
    store_free(st);
}

Test(watch, watch_from_a_version_the_log_no_longer_holds_is_one_expired_error)
{
    struct store *st = new_store(5);
    for (int i = 0; i < 12; i++)
        put(st, "web", "web");
    struct watch_hub *hub = watch_hub_new(st);
    struct rest_stream *s = open_stream(hub, (struct watch_spec){.start_rv = 3});
    bool end;
    char *out = drain_all(s, &end);
    /* upstream: "too old resource version: 3 (7)", 7 being the oldest version served. */
    cr_expect_str_eq(out, "ERROR expired 3 7\n");
    cr_expect(end);
    free(out);
    /* The oldest version itself still works. */
    struct rest_stream *ok = open_stream(hub, (struct watch_spec){.start_rv = 7});
    out = drain_all(ok, &end);
    cr_expect_str_eq(out, "MODIFIED web 8 app=web\nMODIFIED web 9 app=web\nMODIFIED web 10 "
                          "app=web\nMODIFIED web 11 app=web\nMODIFIED web 12 app=web\n");
    cr_expect_not(end);
    free(out);
    ok->ops->free(ok);
    s->ops->free(s);
    watch_hub_free(hub);
    store_free(st);
}

Test(watch, watch_from_a_version_sends_only_later_events)
{
    struct store *st = new_store(100);
    put(st, "a", "web");
    uint64_t rv = put(st, "b", "web");
    struct watch_hub *hub = watch_hub_new(st);
    struct rest_stream *s = open_stream(hub, (struct watch_spec){.start_rv = rv});
    bool end;
    char *out = drain_all(s, &end);
    cr_expect_str_eq(out, "");
    cr_expect_not(end);
    free(out);
    put(st, "c", "web");
    put(st, "a", "db");
    del(st, "b");
    out = drain_all(s, &end);
    cr_expect_str_eq(out, "ADDED c 3 app=web\nMODIFIED a 4 app=db\nDELETED b 5 app=web\n");
    free(out);
    s->ops->free(s);
    watch_hub_free(hub);
    store_free(st);
}

Test(watch, resumed_watch_misses_nothing_and_repeats_nothing)
{
    struct store *st = new_store(100);
    uint64_t start = put(st, "a", "web");
    struct watch_hub *hub = watch_hub_new(st);
    struct rest_stream *s = open_stream(hub, (struct watch_spec){.start_rv = start});
    put(st, "b", "web");
    put(st, "a", "x");
    bool end;
    char *first = drain_all(s, &end);
    s->ops->free(s); /* disconnected */
    /* The last version the client saw, taken from its last event line. */
    uint64_t last = last_rv(first);
    cr_assert_eq(last, 3);
    put(st, "c", "web");
    del(st, "a");
    s = open_stream(hub, (struct watch_spec){.start_rv = last});
    char *second = drain_all(s, &end);
    cr_expect_str_eq(first, "ADDED b 2 app=web\nMODIFIED a 3 app=x\n");
    cr_expect_str_eq(second, "ADDED c 4 app=web\nDELETED a 5 app=x\n");
    free(first);
    free(second);
    s->ops->free(s);
    watch_hub_free(hub);
    store_free(st);
}

Test(watch, lagging_watcher_gets_expired_once_the_log_passes_it)
{
    struct store *st = new_store(4);
    struct watch_hub *hub = watch_hub_new(st);
    uint64_t start = put(st, "a", "web");
    struct rest_stream *s = open_stream(hub, (struct watch_spec){.start_rv = start});
    for (int i = 0; i < 10; i++)
        put(st, "a", "web"); /* the client reads nothing meanwhile */
    bool end;
    char *out = drain_all(s, &end);
    cr_expect_str_eq(out, "ERROR expired 1 7\n");
    cr_expect(end);
    free(out);
    s->ops->free(s);
    watch_hub_free(hub);
    store_free(st);
}

Test(watch, slow_reader_gets_every_event_in_small_reads)
{
    struct store *st = new_store(5000);
    struct watch_hub *hub = watch_hub_new(st);
    struct rest_stream *s = open_stream(hub, (struct watch_spec){.start_rv = 0});
    for (int i = 0; i < 3000; i++)
        put(st, "a", "web");
    bool end;
    char *out = drain(s, 7, &end);
    size_t lines = 0;
    for (const char *p = out; (p = strchr(p, '\n')); p++)
        lines++;
    cr_expect_eq(lines, 3000);
    cr_expect(strstr(out, "MODIFIED a 3000 app=web\n") != NULL);
    free(out);
    s->ops->free(s);
    watch_hub_free(hub);
    store_free(st);
}

/* ---- selectors ------------------------------------------------------------------------------ */

Test(watch, selector_transitions_become_deleted_and_added)
{
    struct store *st = new_store(100);
    uint64_t start = put(st, "web", "web");
    struct watch_hub *hub = watch_hub_new(st);
    struct rest_stream *s =
        open_stream(hub, (struct watch_spec){.start_rv = start, .match = match_web});
    put(st, "web", "web");   /* 2: still matches */
    put(st, "web", "db");    /* 3: stops matching */
    put(st, "web", "cache"); /* 4: still not */
    put(st, "web", "web");   /* 5: matches again */
    put(st, "other", "db");  /* 6: never matches */
    del(st, "other");        /* 7 */
    del(st, "web");          /* 8 */
    bool end;
    char *out = drain_all(s, &end);
    /* Leaving: the old content (app=web) with the new version, as convertToWatchEvent. */
    cr_expect_str_eq(out, "MODIFIED web 2 app=web\n"
                          "DELETED web 3 app=web\n"
                          "ADDED web 5 app=web\n"
                          "DELETED web 8 app=web\n");
    free(out);
    s->ops->free(s);
    watch_hub_free(hub);
    store_free(st);
}

Test(watch, single_key_watch_ignores_its_neighbours)
{
    struct store *st = new_store(100);
    struct watch_hub *hub = watch_hub_new(st);
    put(st, "web", "web");
    put(st, "web2", "web");
    struct rest_stream *s = open_stream(
        hub, (struct watch_spec){.key = "services/default/web", .initial_events = true});
    put(st, "web2", "x");
    put(st, "web", "y");
    bool end;
    char *out = drain_all(s, &end);
    cr_expect_str_eq(out, "ADDED web 1 app=web\nMODIFIED web 4 app=y\n");
    free(out);
    s->ops->free(s);
    watch_hub_free(hub);
    store_free(st);
}

/* ---- initial events ------------------------------------------------------------------------- */

Test(watch, initial_events_then_the_annotated_bookmark_then_changes)
{
    struct store *st = new_store(100);
    put(st, "b", "web");
    put(st, "a", "web");
    put(st, "c", "db");
    put_other(st, "p");
    struct watch_hub *hub = watch_hub_new(st);
    struct rest_stream *s = open_stream(hub, (struct watch_spec){.initial_events = true,
                                                                 .initial_end_bookmark = true,
                                                                 .bookmarks = true,
                                                                 .match = match_web});
    put(st, "c", "web");
    bool end;
    char *out = drain_all(s, &end);
    /* Current objects in key order with their own versions; the bookmark carries the
       snapshot's version (4, the store's); then what came after. */
    cr_expect_str_eq(out, "ADDED a 2 app=web\nADDED b 1 app=web\nBOOKMARK 4 end\n"
                          "ADDED c 5 app=web\n");
    free(out);
    s->ops->free(s);
    watch_hub_free(hub);
    store_free(st);
}

Test(watch, start_now_sends_no_initial_state)
{
    struct store *st = new_store(100);
    put(st, "a", "web");
    struct watch_hub *hub = watch_hub_new(st);
    struct rest_stream *s = open_stream(hub, (struct watch_spec){.start_now = true});
    put(st, "b", "web");
    bool end;
    char *out = drain_all(s, &end);
    cr_expect_str_eq(out, "ADDED b 2 app=web\n");
    free(out);
    s->ops->free(s);
    watch_hub_free(hub);
    store_free(st);
}

Test(watch, initial_events_from_a_future_version_wait_for_it)
{
    struct store *st = new_store(100);
    put(st, "a", "web");
    struct watch_hub *hub = watch_hub_new(st);
    struct rest_stream *s = open_stream(hub, (struct watch_spec){.initial_events = true,
                                                                 .initial_end_bookmark = true,
                                                                 .start_rv = 3,
                                                                 .fresh_wait = 5});
    bool end;
    char *out = drain_all(s, &end);
    cr_expect_str_eq(out, "");
    cr_expect_not(end);
    free(out);
    put(st, "b", "web");
    put(st, "c", "web");
    out = drain_all(s, &end);
    cr_expect_str_eq(out, "ADDED a 1 app=web\nADDED b 2 app=web\nADDED c 3 app=web\n"
                          "BOOKMARK 3 end\n");
    free(out);
    s->ops->free(s);
    watch_hub_free(hub);
    store_free(st);
}

Test(watch, initial_events_from_a_version_never_reached_end_with_too_large)
{
    struct store *st = new_store(100);
    put(st, "a", "web");
    struct watch_hub *hub = watch_hub_new(st);
    atomic_store(&wakes, 0);
    struct rest_stream *s = open_stream(
        hub, (struct watch_spec){.initial_events = true, .start_rv = 9, .fresh_wait = 0.2});
    bool end;
    char *out = drain_all(s, &end);
    cr_expect_str_eq(out, "");
    free(out);
    /* The timer wakes the parked stream when the wait is over; no commit is needed. */
    for (int i = 0; i < 100 && !atomic_load(&wakes); i++)
        usleep(10000);
    cr_expect_geq(atomic_load(&wakes), 1);
    out = drain_all(s, &end);
    cr_expect_str_eq(out, "ERROR too-large 9 1\n");
    cr_expect(end);
    free(out);
    s->ops->free(s);
    watch_hub_free(hub);
    store_free(st);
}

Test(watch, timeout_while_waiting_for_a_future_version_ends_the_stream)
{
    struct store *st = new_store(100);
    put(st, "a", "web");
    struct watch_hub *hub = watch_hub_new(st);
    atomic_store(&wakes, 0);
    struct rest_stream *s = open_stream(
        hub, (struct watch_spec){
                 .initial_events = true, .start_rv = 9, .fresh_wait = 5, .timeout_seconds = 0.2});
    bool end;
    char *out = drain_all(s, &end);
    cr_expect_str_eq(out, "");
    free(out);
    for (int i = 0; i < 100 && !atomic_load(&wakes); i++)
        usleep(10000);
    out = drain_all(s, &end);
    cr_expect_str_eq(out, "");
    cr_expect(end);
    cr_expect_leq(atomic_load(&wakes), 2, "woken once for the timeout, not spinning");
    free(out);
    s->ops->free(s);
    watch_hub_free(hub);
    store_free(st);
}

/* ---- waking, bookmarks and timeouts --------------------------------------------------------- */

Test(watch, idle_stream_parks_and_a_commit_wakes_it_once)
{
    struct store *st = new_store(100);
    struct watch_hub *hub = watch_hub_new(st);
    struct rest_stream *s = open_stream(hub, (struct watch_spec){.start_now = true});
    atomic_store(&wakes, 0);
    bool end;
    char *out = drain_all(s, &end);
    cr_expect_str_eq(out, "");
    free(out);
    usleep(100000);
    cr_expect_eq(atomic_load(&wakes), 0, "an idle stream is never woken without a reason");
    put(st, "a", "web");
    cr_expect_eq(atomic_load(&wakes), 1);
    put(st, "b", "web"); /* not parked any more until it reads again */
    cr_expect_eq(atomic_load(&wakes), 1);
    out = drain_all(s, &end);
    cr_expect_str_eq(out, "ADDED a 1 app=web\nADDED b 2 app=web\n");
    free(out);
    cr_expect_eq(watch_hub_count(hub), 1);
    s->ops->free(s);
    cr_expect_eq(watch_hub_count(hub), 0);
    watch_hub_free(hub);
    store_free(st);
}

Test(watch, bookmarks_only_once_the_version_moved_past_the_start)
{
    struct store *st = new_store(100);
    uint64_t start = put(st, "a", "web");
    struct watch_hub *hub = watch_hub_new(st);
    struct rest_stream *s = open_stream(
        hub, (struct watch_spec){.start_rv = start, .bookmarks = true, .bookmark_interval = 0.1});
    bool end;
    usleep(150000);
    char *out = drain_all(s, &end);
    cr_expect_str_eq(out, "", "nothing newer than the start: no bookmark (cacheWatcher.process)");
    free(out);
    put_other(st, "p"); /* moves the version without an event for this watch */
    usleep(150000);
    out = drain_all(s, &end);
    cr_expect_str_eq(out, "BOOKMARK 2\n");
    free(out);
    s->ops->free(s);
    watch_hub_free(hub);
    store_free(st);
}

Test(watch, last_bookmark_comes_before_the_timeout_and_the_timer_ends_the_stream)
{
    struct store *st = new_store(100);
    uint64_t start = put(st, "a", "web");
    struct watch_hub *hub = watch_hub_new(st);
    atomic_store(&wakes, 0);
    /* Interval 60 s, timeout 1 s, lead 0.6 s: one bookmark at about 0.4 s, end at 1 s. */
    struct rest_stream *s = open_stream(
        hub, (struct watch_spec){
                 .start_rv = start, .bookmarks = true, .timeout_seconds = 1, .bookmark_lead = 0.6});
    put_other(st, "p");
    bool end;
    char *out = drain_all(s, &end);
    cr_expect_str_eq(out, "");
    free(out);
    int before = atomic_load(&wakes);
    usleep(600000);
    cr_expect_gt(atomic_load(&wakes), before, "the timer wakes the stream for its bookmark");
    out = drain_all(s, &end);
    cr_expect_str_eq(out, "BOOKMARK 2\n");
    cr_expect_not(end);
    free(out);
    usleep(600000);
    out = drain_all(s, &end);
    cr_expect_str_eq(out, "");
    cr_expect(end);
    free(out);
    s->ops->free(s);
    watch_hub_free(hub);
    store_free(st);
}

Test(watch, timeout_shorter_than_the_lead_gets_no_bookmark)
{
    struct store *st = new_store(100);
    uint64_t start = put(st, "a", "web");
    struct watch_hub *hub = watch_hub_new(st);
    struct rest_stream *s = open_stream(
        hub, (struct watch_spec){.start_rv = start, .bookmarks = true, .timeout_seconds = 0.2});
    put_other(st, "p");
    usleep(300000);
    bool end;
    char *out = drain_all(s, &end);
    cr_expect_str_eq(out, "");
    cr_expect(end);
    free(out);
    s->ops->free(s);
    watch_hub_free(hub);
    store_free(st);
}

Test(watch, negative_timeout_ends_at_once)
{
    struct store *st = new_store(100);
    put(st, "a", "web");
    struct watch_hub *hub = watch_hub_new(st);
    struct rest_stream *s =
        open_stream(hub, (struct watch_spec){.initial_events = true, .timeout_seconds = -1});
    bool end;
    char *out = drain_all(s, &end);
    cr_expect_str_eq(out, "");
    cr_expect(end);
    free(out);
    s->ops->free(s);
    watch_hub_free(hub);
    store_free(st);
}

Test(watch, shutdown_ends_open_streams)
{
    struct store *st = new_store(100);
    struct watch_hub *hub = watch_hub_new(st);
    struct rest_stream *s = open_stream(hub, (struct watch_spec){.start_now = true});
    bool end;
    char *out = drain_all(s, &end);
    free(out);
    atomic_store(&wakes, 0);
    watch_hub_shutdown(hub);
    cr_expect_eq(atomic_load(&wakes), 1);
    out = drain_all(s, &end);
    cr_expect(end);
    free(out);
    s->ops->free(s);
    watch_hub_free(hub);
    store_free(st);
}

/* ---- lists: continue tokens and resourceVersion --------------------------------------------- */

struct lister {
    struct store *st;
    struct registry *reg;
    struct reg_req req;
};

static void lister_init(struct lister *l, size_t log)
{
    struct apierr err;
    apierr_init(&err);
    l->st = new_store(log);
    struct registry_config rc = {0};
    l->reg = registry_new(l->st, api_builtin(), &rc, &err);
    cr_assert_not_null(l->reg, "%s", err.message ? err.message : "");
    memset(&l->req, 0, sizeof(l->req));
    l->req.res = api_find_resource(api_builtin(), "", "v1", "services");
    l->req.ns = "default";
    cr_assert_not_null(l->req.res);
}

static void lister_release(struct lister *l)
{
    registry_free(l->reg);
    store_free(l->st);
}

/* List; 0 or the HTTP code of the error, whose message goes to *msg (caller frees). */
static int list(struct lister *l, struct reg_list_opts opts, struct reg_list *out, char **msg)
{
    struct apierr err;
    apierr_init(&err);
    int rc = registry_list(l->reg, &l->req, &opts, out, &err);
    int code = rc ? apierr_http_code(&err) : 0;
    if (msg)
        *msg = rc && err.message ? strdup(err.message) : NULL;
    apierr_release(&err);
    return code;
}

static char *names(const struct reg_list *l)
{
    struct strbuf sb;
    strbuf_init(&sb, STRBUF_NO_LIMIT);
    strbuf_addstr(&sb, "");
    for (size_t i = 0; i < l->n; i++)
        strbuf_addf(&sb, "%s%s", i ? "," : "",
                    json_string_value(json_object_get(
                        json_object_get(store_obj_json(l->items[i]), "metadata"), "name")));
    return strbuf_detach(&sb, NULL);
}

static char *b64url(const char *s)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t n = strlen(s);
    char *out = calloc(n * 2 + 4, 1), *o = out;
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned char)s[i] << 16;
        if (i + 1 < n)
            v |= (unsigned char)s[i + 1] << 8;
        if (i + 2 < n)
            v |= (unsigned char)s[i + 2];
        *o++ = tab[(v >> 18) & 63];
        *o++ = tab[(v >> 12) & 63];
        if (i + 1 < n)
            *o++ = tab[(v >> 6) & 63];
        if (i + 2 < n)
            *o++ = tab[v & 63];
    }
    return out;
}

Test(watch, continue_token_is_etcds_encoding_and_pages_are_one_snapshot)
{
    struct lister l;
    lister_init(&l, 100);
    const char *all[] = {"a", "b", "c", "d", "e"};
    for (size_t i = 0; i < 5; i++)
        put(l.st, all[i], "web");
    struct reg_list p1, p2, p3;
    cr_assert_eq(list(&l, (struct reg_list_opts){.limit = 2}, &p1, NULL), 0);
    char *n1 = names(&p1);
    cr_expect_str_eq(n1, "a,b");
    cr_expect_eq(p1.rv, 5);
    cr_expect_eq(p1.remaining, 3);
    /* base64url, no padding, of {"v":"meta.k8s.io/v1","rv":5,"start":"b\u0000"} */
    char *want = b64url("{\"v\":\"meta.k8s.io/v1\",\"rv\":5,\"start\":\"b\\u0000\"}");
    cr_expect_str_eq(p1.continue_token, want);
    free(want);
    /* The set changes between pages; the next pages still read revision 5. */
    del(l.st, "c");
    put(l.st, "bb", "web");
    put(l.st, "d", "db");
    cr_assert_eq(list(&l, (struct reg_list_opts){.limit = 2, .continue_token = p1.continue_token},
                      &p2, NULL),
                 0);
    char *n2 = names(&p2);
    cr_expect_str_eq(n2, "c,d");
    cr_expect_eq(p2.rv, 5);
    cr_expect_eq(p2.remaining, 1);
    /* d as it was at revision 5, before it was relabelled. */
    cr_expect_str_eq(
        json_string_value(json_object_get(
            json_object_get(json_object_get(store_obj_json(p2.items[1]), "metadata"), "labels"),
            "app")),
        "web");
    cr_assert_eq(list(&l, (struct reg_list_opts){.limit = 2, .continue_token = p2.continue_token},
                      &p3, NULL),
                 0);
    char *n3 = names(&p3);
    cr_expect_str_eq(n3, "e");
    cr_expect_null(p3.continue_token);
    cr_expect_eq(p3.remaining, -1);
    free(n1);
    free(n2);
    free(n3);
    reg_list_release(&p1);
    reg_list_release(&p2);
    reg_list_release(&p3);
    lister_release(&l);
}

Test(watch, selector_lists_page_without_remaining_count)
{
    struct lister l;
    lister_init(&l, 100);
    put(l.st, "a", "web");
    put(l.st, "b", "db");
    put(l.st, "c", "web");
    put(l.st, "d", "web");
    struct reg_list p;
    cr_assert_eq(
        list(&l, (struct reg_list_opts){.limit = 2, .label_selector = "app=web"}, &p, NULL), 0);
    char *n = names(&p);
    cr_expect_str_eq(n, "a,c");
    cr_expect_not_null(p.continue_token);
    cr_expect_eq(p.remaining, -1, "upstream counts the rest only without a selector");
    free(n);
    reg_list_release(&p);
    lister_release(&l);
}

Test(watch, continue_token_expires_once_the_log_passes_its_revision)
{
    struct lister l;
    lister_init(&l, 4);
    put(l.st, "a", "web");
    put(l.st, "b", "web");
    put(l.st, "c", "web");
    struct reg_list p1, p2;
    cr_assert_eq(list(&l, (struct reg_list_opts){.limit = 1}, &p1, NULL), 0);
    for (int i = 0; i < 6; i++)
        put(l.st, "z", "web");
    char *msg = NULL;
    cr_expect_eq(list(&l, (struct reg_list_opts){.limit = 1, .continue_token = p1.continue_token},
                      &p2, &msg),
                 410);
    cr_expect_str_eq(msg, "The provided continue parameter is too old to display a consistent "
                          "list result. You can start a new list without the continue "
                          "parameter, or use the continue token in this response to retrieve "
                          "the remainder of the results. Continuing with the provided token "
                          "results in an inconsistent list - objects that were created, "
                          "modified, or deleted between the time the first chunk was returned "
                          "and now may show up in the list.");
    free(msg);
    /* The token upstream hands back (revision -1) continues at the latest state. */
    char *latest = b64url("{\"v\":\"meta.k8s.io/v1\",\"rv\":-1,\"start\":\"a\\u0000\"}");
    cr_assert_eq(list(&l, (struct reg_list_opts){.limit = 10, .continue_token = latest}, &p2, NULL),
                 0);
    char *n = names(&p2);
    cr_expect_str_eq(n, "b,c,z");
    cr_expect_eq(p2.rv, store_revision(l.st));
    free(n);
    free(latest);
    reg_list_release(&p1);
    reg_list_release(&p2);
    lister_release(&l);
}

Test(watch, invalid_continue_tokens_get_upstreams_messages)
{
    json_error_t jerr;
    json_t *doc = json_load_file(TEST_DATA_DIR "/watch/continue_tokens.json", 0, &jerr);
    cr_assert_not_null(doc, "%s", jerr.text);
    struct lister l;
    lister_init(&l, 100);
    put(l.st, "a", "web");
    size_t i;
    json_t *c;
    json_array_foreach (json_object_get(doc, "cases"), i, c) {
        const char *tok = json_string_value(json_object_get(c, "token"));
        char *enc = tok ? strdup(tok) : b64url(json_string_value(json_object_get(c, "json")));
        struct reg_list out;
        char *msg = NULL;
        int code = list(&l, (struct reg_list_opts){.continue_token = enc}, &out, &msg);
        cr_expect_eq(code, 400, "%s", json_string_value(json_object_get(c, "name")));
        cr_expect_str_eq(msg ? msg : "", json_string_value(json_object_get(c, "message")), "%s",
                         json_string_value(json_object_get(c, "name")));
        free(msg);
        free(enc);
    }
    json_decref(doc);
    lister_release(&l);
}

Test(watch, continue_with_a_resource_version_is_refused)
{
    struct lister l;
    lister_init(&l, 100);
    put(l.st, "a", "web");
    put(l.st, "b", "web");
    struct reg_list p1, p2;
    cr_assert_eq(list(&l, (struct reg_list_opts){.limit = 1}, &p1, NULL), 0);
    char *msg = NULL;
    cr_expect_eq(
        list(&l,
             (struct reg_list_opts){.continue_token = p1.continue_token, .resource_version = "1"},
             &p2, &msg),
        400);
    cr_expect_str_eq(msg, "specifying resource version is not allowed when using continue");
    free(msg);
    /* "0" is allowed with a token. */
    cr_expect_eq(
        list(&l,
             (struct reg_list_opts){.continue_token = p1.continue_token, .resource_version = "0"},
             &p2, NULL),
        0);
    reg_list_release(&p2);
    reg_list_release(&p1);
    lister_release(&l);
}

Test(watch, list_resource_version_semantics)
{
    struct lister l;
    lister_init(&l, 5);
    put(l.st, "a", "web");
    put(l.st, "b", "web");
    put(l.st, "c", "web");
    struct reg_list out;
    char *msg = NULL;
    /* Exact: the state at that revision. */
    cr_assert_eq(
        list(&l, (struct reg_list_opts){.resource_version = "2", .resource_version_match = "Exact"},
             &out, NULL),
        0);
    char *n = names(&out);
    cr_expect_str_eq(n, "a,b");
    cr_expect_eq(out.rv, 2);
    free(n);
    reg_list_release(&out);
    /* Legacy: a limit with a version reads that revision too. */
    cr_assert_eq(list(&l, (struct reg_list_opts){.resource_version = "1", .limit = 5}, &out, NULL),
                 0);
    n = names(&out);
    cr_expect_str_eq(n, "a");
    free(n);
    reg_list_release(&out);
    /* NotOlderThan (or no match): the current state. */
    cr_assert_eq(list(&l,
                      (struct reg_list_opts){.resource_version = "1",
                                             .resource_version_match = "NotOlderThan"},
                      &out, NULL),
                 0);
    cr_expect_eq(out.n, 3);
    cr_expect_eq(out.rv, 3);
    reg_list_release(&out);
    /* "0": the cache, where upstream ignores the limit. */
    cr_assert_eq(list(&l, (struct reg_list_opts){.resource_version = "0", .limit = 1}, &out, NULL),
                 0);
    cr_expect_eq(out.n, 3);
    cr_expect_null(out.continue_token);
    reg_list_release(&out);
    /* Too new. */
    cr_expect_eq(list(&l, (struct reg_list_opts){.resource_version = "9"}, &out, &msg), 504);
    cr_expect_str_eq(msg, "Timeout: Too large resource version: 9, current: 3");
    free(msg);
    /* Too old for Exact once the log has moved on. */
    for (int i = 0; i < 6; i++)
        put(l.st, "z", "web");
    cr_expect_eq(
        list(&l, (struct reg_list_opts){.resource_version = "2", .resource_version_match = "Exact"},
             &out, &msg),
        410);
    cr_expect_str_eq(msg, "The resourceVersion for the provided list is too old.");
    free(msg);
    lister_release(&l);
}

Test(watch, list_option_errors_are_upstreams)
{
    struct lister l;
    lister_init(&l, 100);
    struct reg_list out;
    char *msg = NULL;
    cr_expect_eq(list(&l, (struct reg_list_opts){.resource_version = "abc"}, &out, &msg), 400);
    cr_expect_str_eq(msg, "invalid resource version: resourceVersion: Invalid value: \"abc\": "
                          "strconv.ParseUint: parsing \"abc\": invalid syntax");
    free(msg);
    cr_expect_eq(
        list(&l, (struct reg_list_opts){.resource_version = "99999999999999999999"}, &out, &msg),
        400);
    cr_expect_str_eq(msg, "invalid resource version: resourceVersion: Invalid value: "
                          "\"99999999999999999999\": strconv.ParseUint: parsing "
                          "\"99999999999999999999\": value out of range");
    free(msg);
    cr_expect_eq(list(&l, (struct reg_list_opts){.resource_version_match = "Exact"}, &out, &msg),
                 422);
    cr_expect_str_eq(msg, "ListOptions.meta.k8s.io \"\" is invalid: resourceVersionMatch: "
                          "Forbidden: resourceVersionMatch is forbidden unless resourceVersion "
                          "is provided");
    free(msg);
    cr_expect_eq(
        list(&l, (struct reg_list_opts){.resource_version = "0", .resource_version_match = "Exact"},
             &out, &msg),
        422);
    cr_expect_str_eq(msg, "ListOptions.meta.k8s.io \"\" is invalid: resourceVersionMatch: "
                          "Forbidden: resourceVersionMatch \"exact\" is forbidden for "
                          "resourceVersion \"0\"");
    free(msg);
    cr_expect_eq(
        list(&l,
             (struct reg_list_opts){.resource_version = "1", .resource_version_match = "Newest"},
             &out, &msg),
        422);
    cr_expect_str_eq(msg, "ListOptions.meta.k8s.io \"\" is invalid: resourceVersionMatch: "
                          "Unsupported value: \"Newest\": supported values: \"Exact\", "
                          "\"NotOlderThan\", \"\"");
    free(msg);
    /* Selector syntax (400) comes before the options (422), unsupported fields after. */
    cr_expect_eq(
        list(&l,
             (struct reg_list_opts){.label_selector = "a in (b", .resource_version_match = "Exact"},
             &out, &msg),
        400);
    free(msg);
    cr_expect_eq(list(&l,
                      (struct reg_list_opts){.field_selector = "spec.nope=1",
                                             .resource_version_match = "Exact"},
                      &out, &msg),
                 422);
    free(msg);
    cr_expect_eq(list(&l, (struct reg_list_opts){.field_selector = "spec.nope=1"}, &out, &msg),
                 400);
    cr_expect_str_eq(msg, "field label not supported: spec.nope");
    free(msg);
    lister_release(&l);
}
